//! Reconciling again after a change judges only the groups that changed,
//! and gives exactly what a full reconcile gives. Two workspaces live through
//! the same random history: one reconciles incrementally, the other always
//! in full (its match index removed first); their proposals must agree.

use std::path::Path;

use trueup::Workspace;
use trueup::progress::{Actor, Silent};
use trueup::reconcile::{Filter, Kind, reconcile};

const CONFIG: &str = r#"
[systems.left]
kind = "csv"
path = "left.csv"

[systems.right]
kind = "csv"
path = "right.csv"

[entities.l]
system = "left"
id = ["id"]

[entities.r]
system = "right"
id = ["rid"]

[reconciliations.c]
left = "l"
right = "r"
key = ["no"]

[[reconciliations.c.fields]]
target = "no"
source = "no"

[[reconciliations.c.fields]]
target = "name"
source = "name"
transforms = ["trim"]

[[reconciliations.c.fields]]
target = "city"
source = "city"
ownership = "manual"
"#;

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[derive(Clone)]
struct Row {
    id: u64,
    no: String,
    name: String,
    city: String,
}

fn write(path: &Path, header: &str, rows: &[Row]) {
    let mut s = format!("{header},no,name,city\n");
    for r in rows {
        s.push_str(&format!("{},{},{},{}\n", r.id, r.no, r.name, r.city));
    }
    std::fs::write(path, s).unwrap();
}

fn mutate(rows: &mut Vec<Row>, rng: &mut Rng, next_id: &mut u64, n: usize) {
    for _ in 0..n {
        match rng.below(6) {
            0 if !rows.is_empty() => {
                let i = rng.below(rows.len() as u64) as usize;
                rows.remove(i);
            }
            1 => {
                *next_id += 1;
                rows.push(Row {
                    id: *next_id,
                    no: format!("N{}", rng.below(400)),
                    name: format!("new{}", rng.below(5)),
                    city: "X".into(),
                });
            }
            2 if !rows.is_empty() => {
                let i = rng.below(rows.len() as u64) as usize;
                rows[i].no = format!("N{}", rng.below(400)); // moves to another group
            }
            3 if !rows.is_empty() => {
                let i = rng.below(rows.len() as u64) as usize;
                rows[i].city = format!("C{}", rng.below(3));
            }
            _ if !rows.is_empty() => {
                let i = rng.below(rows.len() as u64) as usize;
                rows[i].name = format!("n{}", rng.below(4));
            }
            _ => {}
        }
    }
}

fn baselines(dir: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(dir.join("trueup.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT match_key, vals FROM baselines ORDER BY 1")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn snapshot(ws: &Workspace) -> Vec<String> {
    let page = ws.proposals("c", &Filter::default(), 0, 100_000).unwrap();
    let mut out: Vec<String> = page
        .items
        .iter()
        .map(|r| {
            let mut p = r.proposal.clone();
            p.input_hash.clear();
            serde_json::to_string(&p).unwrap()
        })
        .collect();
    out.sort();
    out
}

#[test]
fn incremental_reconcile_equals_full_reconcile_through_random_changes() {
    for seed in [0x9E37_79B9_7F4A_7C15, 42, 7_777_777] {
        history(seed);
    }
}

fn history(seed: u64) {
    let inc = tempfile::tempdir().unwrap();
    let full = tempfile::tempdir().unwrap();
    let mut rng = Rng(seed);
    let mut next_id = 0;
    let mut left: Vec<Row> = Vec::new();
    let mut right: Vec<Row> = Vec::new();
    for i in 0..300 {
        next_id += 1;
        let row = Row {
            id: next_id,
            no: format!("N{i}"),
            name: format!("n{}", rng.below(4)),
            city: format!("C{}", rng.below(3)),
        };
        left.push(row.clone());
        if rng.below(10) > 0 {
            right.push(Row {
                id: row.id + 10_000,
                ..row
            });
        }
    }
    for dir in [inc.path(), full.path()] {
        std::fs::write(dir.join("trueup.toml"), CONFIG).unwrap();
    }
    let actor = Actor {
        who: "t".into(),
        origin: "test".into(),
    };
    let quiet = Silent::default();
    for round in 0..10 {
        if round > 0 {
            // Small changes on one side or both.
            mutate(&mut left, &mut rng, &mut next_id, 6);
            if round % 2 == 0 {
                mutate(&mut right, &mut rng, &mut next_id, 6);
            }
        }
        let mut results = Vec::new();
        for (dir, incremental) in [(inc.path(), true), (full.path(), false)] {
            write(&dir.join("left.csv"), "id", &left);
            write(&dir.join("right.csv"), "rid", &right);
            let mut ws = Workspace::open(dir).unwrap();
            trueup::pull::pull(&mut ws, "l", "2026-01-01T00:00:00Z", &actor, &quiet).unwrap();
            trueup::pull::pull(&mut ws, "r", "2026-01-01T00:00:00Z", &actor, &quiet).unwrap();
            let index = dir.join(".trueup").join("c.match-index");
            if !incremental {
                let _ = std::fs::remove_file(&index);
            } else if round > 0 {
                assert!(
                    index.exists(),
                    "round {round}: the previous reconcile left an index"
                );
            }
            let summary = reconcile(&mut ws, "c", "2026-01-01T00:00:00Z", &actor, &quiet).unwrap();
            assert_eq!(
                summary.incremental,
                incremental && round > 0,
                "round {round}: the {} workspace took the expected path",
                if incremental { "incremental" } else { "full" }
            );
            // The counts a review shows come from what the reconcile kept:
            // they must be what the proposals hold, kind by kind (rows
            // counted one by one), and the total of a page must agree.
            let shown = ws.proposal_counts("c", &Filter::default()).unwrap();
            for kind in [Kind::Create, Kind::Update, Kind::Orphan, Kind::Conflict] {
                let only = Filter {
                    kinds: vec![kind],
                    ..Filter::default()
                };
                let held = ws
                    .proposals("c", &only, 0, i64::MAX as u64)
                    .unwrap()
                    .items
                    .len() as u64;
                assert_eq!(
                    shown[kind.as_str()],
                    held,
                    "round {round}: the {} count shown is what the cache holds",
                    kind.as_str()
                );
                assert_eq!(ws.proposals("c", &only, 0, 1).unwrap().total, held);
            }
            let every = ws
                .proposals("c", &Filter::default(), 0, i64::MAX as u64)
                .unwrap();
            assert_eq!(
                every.total,
                every.items.len() as u64,
                "round {round}: total"
            );
            assert_eq!(shown["all"], every.total, "round {round}: all");
            results.push((
                (
                    summary.counts.clone(),
                    summary.left_records,
                    summary.right_records,
                ),
                summary.conflict_reasons.clone(),
                snapshot(&ws),
                baselines(dir),
            ));
        }
        assert_eq!(
            results[0].0, results[1].0,
            "round {round}: same counts and record totals"
        );
        assert_eq!(
            results[0].1, results[1].1,
            "round {round}: same conflict reasons"
        );
        let only_inc: Vec<&String> = results[0]
            .2
            .iter()
            .filter(|p| !results[1].2.contains(p))
            .collect();
        let only_full: Vec<&String> = results[1]
            .2
            .iter()
            .filter(|p| !results[0].2.contains(p))
            .collect();
        assert!(
            only_inc.is_empty() && only_full.is_empty(),
            "round {round}: proposals differ\nincremental only: {only_inc:#?}\nfull only: {only_full:#?}"
        );
        let bi: Vec<_> = results[0]
            .3
            .iter()
            .filter(|b| !results[1].3.contains(b))
            .collect();
        let bf: Vec<_> = results[1]
            .3
            .iter()
            .filter(|b| !results[0].3.contains(b))
            .collect();
        assert!(
            bi.is_empty() && bf.is_empty(),
            "round {round}: baselines differ: incremental {bi:?}, full {bf:?}"
        );
        for dir in [inc.path(), full.path()] {
            let conn = rusqlite::Connection::open(dir.join("trueup.db")).unwrap();
            let versions: i64 = conn
                .query_row("SELECT count(*) FROM versions", [], |r| r.get(0))
                .unwrap();
            assert!(
                versions <= 24,
                "round {round}: old versions are pruned once no reconcile needs them ({versions})"
            );
        }
        let total: u64 = results[0].0.0.values().sum();
        assert!(
            total > 250,
            "round {round}: every group counted once: {:?}",
            results[0].0
        );
    }
}
