//! Benchmark (not a timed test) of what the desktop review list asks the
//! core for, with one million proposals in the cache: opening the list (the
//! counts per category and the first page) and the next page when scrolling
//! (keyset: the rows after the last one shown), near the start and deep in
//! the list, against the offset page it replaces. Targets: 200 ms to the
//! first rows, 50 ms to the next page.
//!
//! `cargo test --release --test review_bench -- --ignored --nocapture`
//! (`REVIEW_BENCH_ROWS` changes the size; the pull and reconcile that fill
//! the cache are not measured.)

use std::io::Write;
use std::time::{Duration, Instant};

use trueup::Workspace;
use trueup::progress::{Actor, Silent};
use trueup::reconcile::{Filter, Kind};

const CONFIG: &str = r#"
[systems.left]
kind = "csv"
path = "data/left.csv"

[systems.right]
kind = "csv"
path = "data/right.csv"

[entities.left_rows]
system = "left"
id = ["id"]

[entities.right_rows]
system = "right"
id = ["id"]

[reconciliations.rows]
left = "left_rows"
right = "right_rows"
key = ["id"]

[[reconciliations.rows.fields]]
target = "id"
source = "id"

[[reconciliations.rows.fields]]
target = "name"
source = "name"

[[reconciliations.rows.fields]]
target = "city"
source = "city"
"#;

fn write_csv(path: &std::path::Path, rows: u64, city: &str) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "id,name,city").unwrap();
    for i in 0..rows {
        writeln!(out, "R{i:07},Name {i},{city} {}", i % 97).unwrap();
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration) {
    let mut all = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(f());
        all.push(t.elapsed());
    }
    let max = *all.iter().max().unwrap();
    (median(all), max)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture, preferably --release"]
fn review_list_pages_with_a_million_proposals() {
    let rows: u64 = std::env::var("REVIEW_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("trueup.toml"), CONFIG).unwrap();
    write_csv(&dir.path().join("data/left.csv"), rows, "Berlin");
    write_csv(&dir.path().join("data/right.csv"), rows, "Bonn");
    let mut ws = Workspace::open(dir.path()).unwrap();
    let (now, actor, silent) = (
        "2026-11-25T10:00:00Z",
        Actor::os_user("bench"),
        Silent::default(),
    );
    let t = Instant::now();
    trueup::pull::pull_sides(&mut ws, "rows", now, &actor, &silent).unwrap();
    let s = trueup::reconcile::reconcile(&mut ws, "rows", now, &actor, &silent).unwrap();
    assert_eq!(s.counts.get("update").copied(), Some(rows));
    println!(
        "filled the cache: pull + reconcile of {rows} x {rows} rows in {:.1} s (not measured below)",
        t.elapsed().as_secs_f64()
    );

    const PAGE: u64 = 100;
    let all = Filter::default();
    let updates = Filter {
        kinds: vec![Kind::Update],
        ..Filter::default()
    };
    // What `proposal_counts` runs: one count per category.
    let counts = |f: &Filter| {
        for kind in [Kind::Create, Kind::Update, Kind::Orphan, Kind::Conflict] {
            let f = Filter {
                kinds: vec![kind],
                ..f.clone()
            };
            ws.proposals("rows", &f, 0, 0).unwrap();
        }
    };
    let runs = 7;
    println!("\n{rows} proposals, pages of {PAGE}, median (max) of {runs} runs:");
    for (name, filter) in [("no filter", &all), ("one category", &updates)] {
        let (c, cmax) = time(runs, || counts(filter));
        let (first, fmax) = time(runs, || ws.proposals("rows", filter, 0, PAGE).unwrap());
        let (open, omax) = time(runs, || {
            counts(filter);
            ws.proposals("rows", filter, 0, PAGE).unwrap()
        });
        let page0 = ws.proposals_after("rows", filter, None, PAGE).unwrap();
        let after = page0.last().map(|p| p.id);
        let (next, nmax) = time(runs, || {
            ws.proposals_after("rows", filter, after, PAGE).unwrap()
        });
        let deep_at = rows * 9 / 10;
        let deep_id = ws.proposals("rows", filter, deep_at - 1, 1).unwrap().items[0].id;
        let (deep, dmax) = time(runs, || {
            ws.proposals_after("rows", filter, Some(deep_id), PAGE)
                .unwrap()
        });
        let (offset, xmax) = time(3, || ws.proposals("rows", filter, deep_at, PAGE).unwrap());
        println!("  {name}:");
        println!(
            "    open the list (counts + first page)      {} ({})   target 200 ms",
            ms(open),
            ms(omax)
        );
        println!(
            "      of which counts per category           {} ({})",
            ms(c),
            ms(cmax)
        );
        println!(
            "      of which first page with its total     {} ({})",
            ms(first),
            ms(fmax)
        );
        println!(
            "    next page, keyset, at row {PAGE:>9}      {} ({})   target 50 ms",
            ms(next),
            ms(nmax)
        );
        println!(
            "    next page, keyset, at row {deep_at:>9}      {} ({})   target 50 ms",
            ms(deep),
            ms(dmax)
        );
        println!(
            "    same page by OFFSET (what keyset replaces) {} ({})",
            ms(offset),
            ms(xmax)
        );
    }
}
