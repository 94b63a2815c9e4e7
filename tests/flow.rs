//! The whole flow on real files and a real SQLite cache: pull, reconcile,
//! review, export; three-way cases, value maps, duplicate keys, stale decisions.

mod support;

use support::{TWO_CSV, TempWorkspace, fails, ok, trueup};

fn two_csv(left: &str, right: &str) -> TempWorkspace {
    TempWorkspace::new(
        TWO_CSV,
        &[
            ("left.csv", left),
            ("right.csv", right),
            ("status.csv", "source,target\nA,active\nI,inactive\n"),
        ],
    )
}

fn proposals_json(ws: &TempWorkspace, args: &[&str]) -> serde_json::Value {
    let mut a = vec!["--json", "proposals", "c", "--limit", "1000"];
    a.extend_from_slice(args);
    serde_json::from_str(&ok(ws.run(&a))).expect("proposals JSON")
}

fn kind_of(page: &serde_json::Value, key: &str) -> Option<String> {
    page["items"]
        .as_array()?
        .iter()
        .find(|p| p["match_key"] == key)
        .map(|p| p["kind"].as_str().unwrap().to_string())
}

#[test]
fn demo_workspace_reconciles_with_every_kind_of_proposal() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("demo");
    ok(trueup(
        dir.path(),
        &["init", "--demo", ws.to_str().unwrap()],
    ));
    let out = ok(trueup(&ws, &["--json", "reconcile", "--pull", "customers"]));
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    let counts = &summary[0]["counts"];
    for kind in ["in_sync", "create", "update", "orphan", "conflict"] {
        assert!(
            counts[kind].as_u64().unwrap_or(0) > 0,
            "the demo should show {kind} proposals: {counts}"
        );
    }
    let total: u64 = ["in_sync", "create", "update", "orphan", "conflict"]
        .iter()
        .map(|k| counts[k].as_u64().unwrap_or(0))
        .sum();
    assert!(
        total >= 3000,
        "every ERP customer and CRM contact is accounted for: {total}"
    );
    let reasons = &summary[0]["conflict_reasons"];
    for r in ["duplicate_key", "unmapped_value", "manual", "validation"] {
        assert!(
            reasons[r].as_u64().unwrap_or(0) > 0,
            "the demo has real {r} conflicts: {reasons}"
        );
    }
    // Reconciling again without changes gives the same counts and keeps decisions.
    ok(trueup(
        &ws,
        &["approve", "customers", "--all", "--kind", "update"],
    ));
    let again: serde_json::Value =
        serde_json::from_str(&ok(trueup(&ws, &["--json", "reconcile", "customers"]))).unwrap();
    assert_eq!(
        again[0]["counts"], *counts,
        "nothing changed, same proposals"
    );
    assert_eq!(
        again[0]["stale_decisions"], 0,
        "unchanged records keep their decisions"
    );
    // The export reads back through a CSV reader with the same rows.
    let path = ws.join("diff.csv");
    ok(trueup(
        &ws,
        &[
            "export",
            "customers",
            "--what",
            "diff",
            "--bom",
            "-o",
            path.to_str().unwrap(),
        ],
    ));
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF"),
        "--bom writes a UTF-8 BOM"
    );
    let (headers, rows) = trueup::connectors::csv::read_all(&path, &Default::default()).unwrap();
    assert_eq!(headers[0], "key");
    assert!(
        rows.len() > 500,
        "the diff lists changed fields: {}",
        rows.len()
    );
}

#[test]
fn three_way_comparison_against_the_baseline() {
    let ws = two_csv(
        "id,no,name,status\n1,N1,Ann,A\n2,N2,Bob,A\n3,N3,Cy,A\n",
        "rid,no,name,status\n10,N1,Ann,active\n20,N2,Bob,active\n30,N3,Cy,active\n",
    );
    ok(ws.run(&["reconcile", "--pull", "c"]));
    let page = proposals_json(&ws, &[]);
    assert_eq!(page["total"], 0, "all in sync on first reconcile: {page}");
    // Left changes N1; right changes N2; both change N3.
    ws.write(
        "left.csv",
        "id,no,name,status\n1,N1,Anna,A\n2,N2,Bob,A\n3,N3,Cyrus,A\n",
    );
    ws.write(
        "right.csv",
        "rid,no,name,status\n10,N1,Ann,active\n20,N2,Bobby,active\n30,N3,Cyril,active\n",
    );
    ok(ws.run(&["reconcile", "--pull", "c"]));
    let page = proposals_json(&ws, &[]);
    assert_eq!(
        kind_of(&page, "n1").as_deref(),
        Some("update"),
        "changed on the source only"
    );
    assert_eq!(
        kind_of(&page, "n3").as_deref(),
        Some("conflict"),
        "changed on both sides"
    );
    let n3 = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["match_key"] == "n3")
        .unwrap();
    assert_eq!(n3["reasons"][0]["code"], "both_changed");
    let name = n3["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "name")
        .unwrap();
    assert_eq!(
        name["baseline"], "Cy",
        "the baseline is the last agreed value"
    );
    assert_eq!(
        name["proposed"], "Cyril",
        "a conflict proposes to keep the target"
    );
    // Changed on the target only, left owns: the owner's value is proposed again.
    assert_eq!(kind_of(&page, "n2").as_deref(), Some("update"));
}

#[test]
fn creates_orphans_and_duplicate_keys() {
    let ws = two_csv(
        "id,no,name,status\n1,N1,Ann,A\n2,N2,Bob,A\n3,N2,Bobby,A\n4,N4,Dee,I\n",
        "rid,no,name,status\n10,N1,Ann,active\n20,N2,Bob,active\n50,N5,Eve,active\n",
    );
    ok(ws.run(&["reconcile", "--pull", "c"]));
    let page = proposals_json(&ws, &[]);
    assert_eq!(
        kind_of(&page, "n4").as_deref(),
        Some("create"),
        "only in the source"
    );
    assert_eq!(
        kind_of(&page, "n5").as_deref(),
        Some("orphan"),
        "only in the target"
    );
    let dup = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["match_key"] == "n2")
        .unwrap();
    assert_eq!(
        dup["kind"], "conflict",
        "a duplicate key is never an arbitrary pick"
    );
    assert_eq!(
        dup["left_keys"],
        serde_json::json!(["2", "3"]),
        "names which records"
    );
    let msg = dup["reasons"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("2 records") && msg.contains("left"),
        "says how many and where: {msg}"
    );
    // An orphan is never deleted by approval.
    let err = fails(ws.run(&["approve", "c", "N5"]));
    assert!(err.contains("never deleted by approval"), "{err}");
    ok(ws.run(&["approve-delete", "c", "N5"]));
    let err = fails(ws.run(&["approve-delete", "c", "N4"]));
    assert!(err.contains("only orphans can be deleted"), "{err}");
}

#[test]
fn unmapped_values_are_conflicts_until_mapped() {
    let ws = two_csv(
        "id,no,name,status\n1,N1,Ann,X\n2,N2,Bob,X\n3,N3,Cy,A\n",
        "rid,no,name,status\n10,N1,Ann,active\n20,N2,Bob,inactive\n30,N3,Cy,active\n",
    );
    ok(ws.run(&["reconcile", "--pull", "c"]));
    let page = proposals_json(&ws, &["--reason", "unmapped_value"]);
    assert_eq!(page["total"], 2, "both records with code X: {page}");
    let f = page["items"][0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "status")
        .unwrap()
        .clone();
    assert_eq!(
        f["proposed"], f["right"],
        "an unmapped value is never passed through"
    );
    // Map it once; every record with it updates.
    ok(ws.run(&["map-value", "c", "status", "X", "inactive"]));
    ok(ws.run(&["reconcile", "c"]));
    let page = proposals_json(&ws, &[]);
    assert_eq!(page["total"], 1, "N1 now updates, N2 is in sync: {page}");
    assert_eq!(kind_of(&page, "n1").as_deref(), Some("update"));
}

#[test]
fn decisions_go_stale_when_records_change() {
    let ws = two_csv(
        "id,no,name,status\n1,N1,Ann,A\n2,N2,Bob,A\n",
        "rid,no,name,status\n10,N1,Anne,active\n20,N2,Bobby,active\n",
    );
    ok(ws.run(&["reconcile", "--pull", "c"]));
    ok(ws.run(&["approve", "c", "N1"]));
    ok(ws.run(&["approve", "c", "N2"]));
    // Only N2's target record changes.
    ws.write(
        "right.csv",
        "rid,no,name,status\n10,N1,Anne,active\n20,N2,Robert,active\n",
    );
    let out: serde_json::Value =
        serde_json::from_str(&ok(ws.run(&["--json", "reconcile", "--pull", "c"]))).unwrap();
    assert_eq!(
        out[0]["stale_decisions"], 1,
        "exactly the changed record's decision: {out}"
    );
    let page = proposals_json(&ws, &["--decision", "stale"]);
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["match_key"], "n2");
    let page = proposals_json(&ws, &["--decision", "approved"]);
    assert_eq!(
        page["items"][0]["match_key"], "n1",
        "the unchanged decision survives"
    );
}

#[test]
fn decisions_record_who_when_and_the_exact_values() {
    let ws = two_csv(
        "id,no,name,status\n1,N1,Ann,A\n",
        "rid,no,name,status\n10,N1,Anne,active\n",
    );
    ok(ws.run(&["reconcile", "--pull", "c"]));
    let d: serde_json::Value = serde_json::from_str(&ok(ws.run(&[
        "--json",
        "--as",
        "maria",
        "correct",
        "c",
        "N1",
        "name=Ann-Marie",
    ])))
    .unwrap();
    assert_eq!(d["who"], "maria");
    assert_eq!(d["values"], serde_json::json!([["name", "Ann-Marie"]]));
    let expected = trueup::review::values_hash(&[("name".into(), Some("Ann-Marie".into()))]);
    assert_eq!(
        d["values_hash"], expected,
        "the hash is of the approved values"
    );
    let csv = ok(ws.run(&["export", "c", "--what", "decisions"]));
    assert!(
        csv.contains("maria") && csv.contains("name=Ann-Marie") && csv.contains(&expected),
        "{csv}"
    );
    // Undo takes it back.
    ok(ws.run(&["--as", "maria", "undo", "c"]));
    let page = proposals_json(&ws, &["--decision", "undecided"]);
    assert_eq!(page["total"], 1);
}

#[test]
fn validation_rules_block_approval_until_corrected() {
    let config = TWO_CSV.replace(
        "target = \"name\"\nsource = \"name\"",
        "target = \"name\"\nsource = \"name\"\nvalidate = { required = true, max_length = 5 }",
    );
    let ws = TempWorkspace::new(
        &config,
        &[
            ("left.csv", "id,no,name,status\n1,N1,Alexandra,A\n"),
            ("right.csv", "rid,no,name,status\n10,N1,Alex,active\n"),
            ("status.csv", "source,target\nA,active\n"),
        ],
    );
    ok(ws.run(&["reconcile", "--pull", "c"]));
    let page = proposals_json(&ws, &[]);
    assert_eq!(page["items"][0]["kind"], "conflict");
    assert_eq!(page["items"][0]["reasons"][0]["code"], "validation");
    let err = fails(ws.run(&["approve", "c", "N1"]));
    assert!(err.contains("cannot be approved"), "{err}");
    let err = fails(ws.run(&["correct", "c", "N1", "name=Alexandra"]));
    assert!(
        err.contains("at most 5"),
        "corrections are validated too: {err}"
    );
    ok(ws.run(&["correct", "c", "N1", "name=Alexa"]));
}

#[test]
fn exports_neutralise_formulas_and_round_trip() {
    let ws = two_csv(
        "id,no,name,status\n1,N1,=HYPERLINK(\"x\"),A\n2,N2,\"multi\nline, \"\"quoted\"\"\",A\n",
        "rid,no,name,status\n10,N1,Ann,active\n20,N2,Bob,active\n",
    );
    ok(ws.run(&["reconcile", "--pull", "c"]));
    let path = ws.path().join("out.csv");
    ok(ws.run(&["export", "c", "-o", path.to_str().unwrap()]));
    let (_, rows) = trueup::connectors::csv::read_all(&path, &Default::default()).unwrap();
    let left: Vec<&str> = rows.iter().map(|(_, r)| r[5].as_str()).collect();
    assert!(
        left.contains(&"'=HYPERLINK(\"x\")"),
        "formula neutralised: {left:?}"
    );
    assert!(
        left.contains(&"multi\nline, \"quoted\""),
        "quotes and newlines survive: {left:?}"
    );
    assert!(
        !std::fs::read(&path).unwrap().starts_with(b"\xEF\xBB\xBF"),
        "no BOM unless asked"
    );
}

#[test]
fn history_lists_runs_with_counts() {
    let ws = two_csv(
        "id,no,name,status\n1,N1,Ann,A\n",
        "rid,no,name,status\n10,N1,Ann,active\n",
    );
    ok(ws.run(&["reconcile", "--pull", "c"]));
    let runs: serde_json::Value =
        serde_json::from_str(&ok(ws.run(&["--json", "history"]))).unwrap();
    let kinds: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["reconcile", "pull", "pull"], "newest first");
    assert_eq!(runs[0]["counts"]["in_sync"], 1);
    assert!(
        runs.as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "ok" && r["finished_at"].is_string())
    );
}

#[test]
fn a_confirmed_link_matches_records_whose_keys_differ() {
    let ws = two_csv(
        "id,no,name,status\n1,N1,Ann,A\n2,N2-OLD,Bob,A\n",
        "rid,no,name,status\n10,N1,Ann,active\n20,N2,Bob,active\n",
    );
    ok(ws.run(&["reconcile", "--pull", "c"]));
    let page = proposals_json(&ws, &[]);
    assert_eq!(kind_of(&page, "n2-old").as_deref(), Some("create"));
    assert_eq!(kind_of(&page, "n2").as_deref(), Some("orphan"));
    // A person confirms left 2 is right 20.
    ok(ws.run(&["link", "c", "2", "20"]));
    ok(ws.run(&["reconcile", "c"]));
    let page = proposals_json(&ws, &[]);
    assert_eq!(
        page["total"], 1,
        "one linked pair, no create and no orphan: {page}"
    );
    let p = &page["items"][0];
    assert_eq!(
        p["kind"], "update",
        "the linked pair differs in its key field only"
    );
    assert_eq!(p["left_keys"], serde_json::json!(["2"]));
    assert_eq!(p["right_keys"], serde_json::json!(["20"]));
}

#[test]
fn suggest_maps_columns_by_name_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("demo");
    ok(trueup(
        dir.path(),
        &["init", "--demo", ws.to_str().unwrap()],
    ));
    let out = ok(trueup(
        &ws,
        &["--json", "suggest", "erp_customers", "crm_contacts"],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let source_of = |target: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|s| s["target"] == target)
            .and_then(|s| s["source"].as_str().map(str::to_string))
    };
    assert_eq!(source_of("E-mail").as_deref(), Some("email"));
    assert_eq!(source_of("Phone").as_deref(), Some("phone"));
    assert_eq!(source_of("City").as_deref(), Some("city"));
    assert_eq!(source_of("Customer Number").as_deref(), Some("customer_no"));
    let phone = v
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["target"] == "Phone")
        .unwrap();
    assert_eq!(
        phone["transforms"],
        serde_json::json!(["phone"]),
        "recognises phone numbers"
    );
}

#[test]
fn composite_keys_match_on_every_part_after_normalisation() {
    let config = TWO_CSV.replace("key = [\"no\"]", "key = [\"no\", \"name\"]");
    let ws = TempWorkspace::new(
        &config,
        &[
            // Same "no" on two rows, told apart by name; case and spaces differ on the right.
            (
                "left.csv",
                "id,no,name,status\n1,N1,Ann,A\n2,N1,Bob,A\n3,N3,Cy,A\n",
            ),
            (
                "right.csv",
                "rid,no,name,status\n10,n1 , ann ,active\n20,N1,BOB,inactive\n30,N3,Dee,active\n",
            ),
            ("status.csv", "source,target\nA,active\n"),
        ],
    );
    ok(ws.run(&["reconcile", "--pull", "c"]));
    let page = proposals_json(&ws, &[]);
    assert_eq!(
        kind_of(&page, "n1\u{1f}bob").as_deref(),
        Some("update"),
        "N1/Bob matched; its status differs: {page}"
    );
    // Matching normalises the key; comparing does not (no tolerance set), so
    // the messy target values are proposed for tidying.
    let ann = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["match_key"] == "n1\u{1f}ann")
        .unwrap();
    assert_eq!(
        ann["left_keys"],
        serde_json::json!(["1"]),
        "N1/Ann paired despite case and spaces"
    );
    assert_eq!(ann["right_keys"], serde_json::json!(["10"]));
    assert_eq!(ann["label"], "N1 / Ann", "shown as written");
    assert_eq!(
        kind_of(&page, "n3\u{1f}cy").as_deref(),
        Some("create"),
        "N3/Cy differs in one part: no match"
    );
    assert_eq!(kind_of(&page, "n3\u{1f}dee").as_deref(), Some("orphan"));
}

#[test]
fn counts_per_kind_match_the_filtered_lists() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo");
    ok(trueup(
        dir.path(),
        &["init", "--demo", path.to_str().unwrap()],
    ));
    ok(trueup(&path, &["reconcile", "--pull", "customers"]));
    let ws = trueup::Workspace::open(&path).unwrap();
    for text in [None, Some("gmbh")] {
        let filter = trueup::reconcile::Filter {
            text: text.map(String::from),
            // Ignored: the counts are per kind.
            kinds: vec![trueup::reconcile::Kind::Update],
            ..Default::default()
        };
        let counts = ws.proposal_counts("customers", &filter).unwrap();
        let mut sum = 0;
        for kind in [
            trueup::reconcile::Kind::Create,
            trueup::reconcile::Kind::Update,
            trueup::reconcile::Kind::Orphan,
            trueup::reconcile::Kind::Conflict,
        ] {
            let listed = ws
                .proposals(
                    "customers",
                    &trueup::reconcile::Filter {
                        kinds: vec![kind],
                        ..filter.clone()
                    },
                    0,
                    0,
                )
                .unwrap()
                .total;
            assert_eq!(
                counts[kind.as_str()],
                listed,
                "{kind:?} with {text:?}: {counts:?}"
            );
            sum += listed;
        }
        assert_eq!(counts["all"], sum, "{counts:?}");
        assert!(text.is_some() || counts["update"] > 0, "{counts:?}");
    }
}

#[test]
fn timings_name_each_stage_with_its_time_and_memory() {
    let ws = two_csv(
        "id,no,name,status\n1,N1,Ann,A\n2,N2,Bob,I\n",
        "rid,no,name,status\n10,N1,Anne,active\n",
    );
    let out = ws.run(&["--timings", "reconcile", "--pull", "c"]);
    let err = support::stderr(&out);
    ok(out);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("timing ")).collect();
    assert!(!lines.is_empty(), "timing lines on stderr:\n{err}");
    for line in &lines {
        // "timing <stage> <seconds> s   memory <n> MiB, peak <n> MiB, allocated <n> MiB"
        let words: Vec<&str> = line.split_whitespace().collect();
        let unit = words.iter().position(|w| *w == "s").expect("seconds");
        words[unit - 1]
            .parse::<f64>()
            .unwrap_or_else(|e| panic!("seconds: {e} in {line}"));
        if cfg!(target_os = "linux") {
            let mib = |after: &str| -> u64 {
                // The last one: a stage may be called "release memory".
                let rest = line
                    .rsplit(after)
                    .next()
                    .unwrap_or_else(|| panic!("{after} in {line}"));
                rest.split_whitespace()
                    .next()
                    .unwrap()
                    .trim_end_matches(',')
                    .parse()
                    .unwrap_or_else(|e| panic!("{after}: {e} in {line}"))
            };
            let (now, peak, allocated) = (mib("memory "), mib("peak "), mib("allocated "));
            assert!(
                allocated <= now,
                "allocated {allocated} ≤ resident {now}: {line}"
            );
            assert!(
                now > 0 && now <= peak,
                "memory now {now} ≤ peak {peak}: {line}"
            );
        }
    }
}
