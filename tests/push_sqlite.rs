//! Push to a real SQLite target: the dry run is what is sent, the journal
//! proves the approved hash, lost updates become conflicts, deletes need a
//! separate approval, rollback round trip, retry-failed, results files.

mod support;

#[path = "support/target.rs"]
mod target;

use support::{TempWorkspace, fails, ok};
use target::{audit, cache, journal, rows};

const LEFT: &str = "id,no,name,email\n1,C1,Ada,ada@x.org\n2,C2,Bob,bob@new.org\n3,C3,Cy,cy@x.org\n5,C5,Eve,eve@new.org\n";

fn setup() -> TempWorkspace {
    let ws = target::workspace(
        LEFT,
        &[
            ("C1", "Ada", "ada@x.org"),
            ("C2", "Bob", "bob@old.org"),
            ("C5", "Eve", "eve@old.org"),
            ("C9", "Orphan", "o@x.org"),
        ],
    );
    ok(ws.run(&["reconcile", "--pull", "c"]));
    ws
}

fn json(out: String) -> serde_json::Value {
    serde_json::from_str(&out).expect("JSON output")
}

/// (op, record no, sorted field=value list) of a plan or report item.
fn change_of(op: &str, no: &str, values: &serde_json::Value) -> (String, String, Vec<String>) {
    let mut fields: Vec<String> = values
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{}={}", p[0].as_str().unwrap(), p[1].as_str().unwrap_or("")))
        .collect();
    fields.sort();
    (op.to_string(), no.to_string(), fields)
}

fn record_no(record: &serde_json::Value, values: &serde_json::Value) -> String {
    let find = |list: &serde_json::Value| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p[0] == "no")
            .and_then(|p| p[1].as_str().map(str::to_string))
    };
    find(record).or_else(|| find(values)).unwrap_or_default()
}

#[test]
fn the_dry_run_lists_exactly_what_the_push_sends() {
    let ws = setup();
    ok(ws.run(&["approve", "c", "--all", "--kind", "create,update"]));
    ok(ws.run(&["approve-delete", "c", "C9"]));
    let before = rows(ws.path());
    let plan = json(ok(ws.run(&["--json", "push", "c", "--dry-run"])));
    assert_eq!(rows(ws.path()), before, "a dry run sends nothing");
    assert!(audit(ws.path()).is_empty(), "a dry run sends nothing");
    assert_eq!(plan["counts"]["update"], 2, "{plan}");
    assert_eq!(plan["counts"]["insert"], 1, "{plan}");
    assert_eq!(plan["counts"]["delete"], 1, "{plan}");
    assert_eq!(
        plan["deletes"].as_array().unwrap().len(),
        1,
        "deletes are listed apart from the writes"
    );
    let mut planned: Vec<_> = plan["writes"]
        .as_array()
        .unwrap()
        .iter()
        .chain(plan["deletes"].as_array().unwrap())
        .map(|c| {
            change_of(
                c["op"].as_str().unwrap(),
                &record_no(&c["record"], &c["values"]),
                &c["values"],
            )
        })
        .collect();
    planned.sort();

    let report = json(ok(ws.run(&["--json", "push", "c"])));
    assert_eq!(report["outcomes"]["applied"], 4, "{report}");
    // What reached the target, as its own triggers recorded it.
    let mut sent: Vec<_> = audit(ws.path())
        .into_iter()
        .map(|(op, no, name, email)| {
            let fields: Vec<(String, Option<String>)> = match op.as_str() {
                "delete" => vec![],
                _ => {
                    // Only the fields the plan says it sends, as the target now holds them.
                    let c = planned.iter().find(|p| p.0 == op && p.1 == no).unwrap();
                    let all = [
                        ("no", Some(no.clone())),
                        ("name", name.clone()),
                        ("email", email.clone()),
                    ];
                    all.into_iter()
                        .filter(|(f, _)| c.2.iter().any(|x| x.starts_with(&format!("{f}="))))
                        .map(|(f, v)| (f.to_string(), v))
                        .collect()
                }
            };
            let mut list: Vec<String> = fields
                .iter()
                .map(|(f, v)| format!("{f}={}", v.as_deref().unwrap_or("")))
                .collect();
            list.sort();
            (op, no, list)
        })
        .collect();
    sent.sort();
    assert_eq!(
        sent, planned,
        "every planned change reached the target once, with exactly the planned values, and nothing else"
    );
    // Invariant 1: the journal holds the decision's hash of what was sent.
    let conn = cache(&ws);
    let (journaled, mismatched): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(*) FILTER (WHERE j.values_hash != d.values_hash) FROM journal j \
             JOIN decisions d ON d.id = j.decision_id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(journaled > 0, "the push journaled its changes");
    assert_eq!(mismatched, 0, "journal hashes equal the approved hashes");
    // Baseline moved: the next reconcile shows the records in sync.
    let summary = json(ok(ws.run(&["--json", "reconcile", "--pull", "c"])));
    assert_eq!(summary[0]["counts"]["in_sync"], 4, "{summary}");
    assert!(summary[0]["counts"]["update"].is_null(), "{summary}");
    // A second push sends nothing again.
    let again = json(ok(ws.run(&["--json", "push", "c"])));
    assert_eq!(again["entries"].as_array().unwrap().len(), 0, "{again}");
    assert_eq!(audit(ws.path()).len(), 4, "nothing is applied twice");
}

#[test]
fn a_record_changed_since_the_pull_is_a_conflict_and_stays_untouched() {
    let ws = setup();
    ok(ws.run(&["approve", "c", "C2"]));
    // Someone edits the record in the CRM after our pull.
    target::target(&ws)
        .execute(
            "UPDATE contacts SET email = 'bob@theirs.org' WHERE no = 'C2'",
            [],
        )
        .unwrap();
    let out = ws.run(&["--json", "push", "c"]);
    assert_eq!(out.status.code(), Some(1), "a conflict is a failure");
    let report = json(support::stdout(&out));
    let e = &report["entries"][0];
    assert_eq!(e["state"], "conflict", "{report}");
    assert_eq!(e["category"], "conflict");
    assert_eq!(
        e["current"][0][1], "bob@theirs.org",
        "the target's current value is shown"
    );
    assert_eq!(e["before"][0][1], "bob@old.org", "and the pulled one");
    assert_eq!(e["values"][0][1], "bob@new.org", "and ours");
    let c2 = rows(ws.path()).into_iter().find(|r| r.0 == "C2").unwrap();
    assert_eq!(
        c2.2.as_deref(),
        Some("bob@theirs.org"),
        "their change is not overwritten"
    );
    assert!(
        audit(ws.path()).len() == 1,
        "only their own edit touched the row"
    );
    let res = ws.path().join("res");
    let text = ok(ws.run(&["push-results", "c", "--out-dir", res.to_str().unwrap()]));
    assert!(text.contains("1 errors"), "{text}");
    let errors = std::fs::read_to_string(res.join("errors.csv")).unwrap();
    assert!(
        errors.contains("conflict") && errors.contains("bob@theirs.org"),
        "the error file shows the conflict with both values: {errors}"
    );
}

#[test]
fn an_orphan_is_deleted_only_with_a_separate_delete_approval() {
    let ws = setup();
    let out = ws.run(&["approve", "c", "--all"]);
    assert!(
        support::stdout(&out).contains("never deleted by approval"),
        "approving everything refuses the orphan"
    );
    let plan = json(ok(ws.run(&["--json", "push", "c", "--dry-run"])));
    assert!(
        plan["deletes"].as_array().unwrap().is_empty(),
        "approving everything deletes nothing: {plan}"
    );
    ok(ws.run(&["push", "c"]));
    assert!(
        rows(ws.path()).iter().any(|r| r.0 == "C9"),
        "the orphan is still there"
    );
    ok(ws.run(&["approve-delete", "c", "C9"]));
    let plan = json(ok(ws.run(&["--json", "push", "c", "--dry-run"])));
    assert_eq!(plan["deletes"].as_array().unwrap().len(), 1, "{plan}");
    assert!(plan["writes"].as_array().unwrap().is_empty(), "{plan}");
    ok(ws.run(&["push", "c"]));
    assert!(!rows(ws.path()).iter().any(|r| r.0 == "C9"), "deleted now");
}

#[test]
fn altered_approved_values_are_never_sent() {
    let ws = setup();
    ok(ws.run(&["approve", "c", "C2"]));
    // Someone edits the cache behind Trueup's back.
    cache(&ws)
        .execute(
            "UPDATE decisions SET vals = '[[\"email\",\"evil@x.org\"]]'",
            [],
        )
        .unwrap();
    let plan = json(ok(ws.run(&["--json", "push", "c", "--dry-run"])));
    assert_eq!(plan["invalid"].as_array().unwrap().len(), 1, "{plan}");
    assert!(plan["writes"].as_array().unwrap().is_empty(), "{plan}");
    let out = ws.run(&["--json", "push", "c"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(support::stdout(&out));
    assert_eq!(report["entries"][0]["state"], "rejected", "{report}");
    assert_eq!(report["entries"][0]["category"], "validation");
    assert!(audit(ws.path()).is_empty(), "nothing was sent");
    // Not even when asked to retry the failures.
    let out = ws.run(&["--json", "push", "c", "--retry-failed"]);
    let report = json(support::stdout(&out));
    assert_eq!(report["entries"][0]["state"], "rejected", "{report}");
    assert!(audit(ws.path()).is_empty(), "still nothing sent");
}

#[test]
fn rollback_restores_the_before_images_and_refuses_to_overwrite_later_changes() {
    let ws = setup();
    ok(ws.run(&["approve", "c", "--all", "--kind", "create,update"]));
    ok(ws.run(&["approve-delete", "c", "C9"]));
    let original = rows(ws.path());
    let report = json(ok(ws.run(&["--json", "push", "c"])));
    let push_id = report["push_id"].as_i64().unwrap().to_string();
    assert_ne!(rows(ws.path()), original);
    // Someone changes C5's email after our push: its rollback must be a conflict.
    target::target(&ws)
        .execute(
            "UPDATE contacts SET email = 'eve@theirs.org' WHERE no = 'C5'",
            [],
        )
        .unwrap();
    let out = ws.run(&["--json", "rollback", &push_id]);
    assert_eq!(out.status.code(), Some(1), "one rollback is a conflict");
    let rb = json(support::stdout(&out));
    let states: Vec<(String, String)> = rb["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                record_no(&e["record"], &e["values"]),
                e["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        states.contains(&("C5".into(), "conflict".into())),
        "C5 changed since our push: a conflict, not an overwrite ({states:?})"
    );
    assert_eq!(
        states.iter().filter(|s| s.1 == "applied").count(),
        3,
        "the other three are undone ({states:?})"
    );
    let now = rows(ws.path());
    let mut expected = original.clone();
    for r in &mut expected {
        if r.0 == "C5" {
            r.2 = Some("eve@theirs.org".into());
        }
    }
    assert_eq!(
        now, expected,
        "every change is undone (C3 removed, C9 back, C2 email back), their later edit kept"
    );
    fails(ws.run(&["rollback", &push_id]));
    // Pushing again after a reconcile proposes the same changes again.
    let s = json(ok(ws.run(&["--json", "reconcile", "--pull", "c"])));
    assert_eq!(s[0]["counts"]["create"], 1, "{s}");
}

#[test]
fn rollback_of_one_record_leaves_the_others() {
    let ws = setup();
    ok(ws.run(&["approve", "c", "--all", "--kind", "update"]));
    let report = json(ok(ws.run(&["--json", "push", "c"])));
    let push_id = report["push_id"].as_i64().unwrap().to_string();
    ok(ws.run(&["rollback", &push_id, "--record", "C2"]));
    let now = rows(ws.path());
    let email = |no: &str| now.iter().find(|r| r.0 == no).unwrap().2.clone();
    assert_eq!(email("C2").as_deref(), Some("bob@old.org"), "rolled back");
    assert_eq!(email("C5").as_deref(), Some("eve@new.org"), "kept");
}

#[test]
fn retry_failed_sends_only_the_failed_changes() {
    let ws = setup();
    ok(ws.run(&["approve", "c", "--all", "--kind", "create,update"]));
    let t = target::target(&ws);
    t.execute("UPDATE contacts SET email = 'x@x.org' WHERE no = 'C2'", [])
        .unwrap();
    let out = ws.run(&["--json", "push", "c"]);
    assert_eq!(out.status.code(), Some(1));
    let applied_before = audit(ws.path()).len();
    // Their edit is reverted: the conflict can now go through.
    t.execute(
        "UPDATE contacts SET email = 'bob@old.org' WHERE no = 'C2'",
        [],
    )
    .unwrap();
    let after_revert = audit(ws.path()).len();
    let report = json(ok(ws.run(&["--json", "push", "c", "--retry-failed"])));
    let entries = report["entries"].as_array().unwrap();
    assert_eq!(
        entries.len(),
        1,
        "only the failed change is retried: {report}"
    );
    assert_eq!(entries[0]["state"], "applied");
    let trail = audit(ws.path());
    assert_eq!(
        trail.len(),
        after_revert + 1,
        "exactly one more write, for C2 (before: {applied_before})"
    );
    assert_eq!(trail.last().unwrap().1, "C2");
    let j = journal(ws.path());
    assert!(j.iter().all(|e| e.1 == "applied"), "{j:?}");
}

#[test]
fn failing_validation_is_listed_and_never_sent() {
    let ws = target::workspace(
        "id,no,name,email\n1,C1,Ada,ada@x.org\n",
        &[("C1", "Ada", "old@x.org")],
    );
    ok(ws.run(&["reconcile", "--pull", "c"]));
    ok(ws.run(&["approve", "c", "C1"]));
    // The rule tightens after approval: the approved value fails it now.
    let config = std::fs::read_to_string(ws.path().join("trueup.toml"))
        .unwrap()
        .replace("[^@ ]+@[^@ ]+", "[^@ ]+@example[.]com");
    std::fs::write(ws.path().join("trueup.toml"), config).unwrap();
    let plan = json(ok(ws.run(&["--json", "push", "c", "--dry-run"])));
    assert_eq!(plan["counts"]["invalid"], 1, "{plan}");
    let out = ws.run(&["push", "c"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        support::stdout(&out).contains("does not match the pattern"),
        "the rule is named: {}",
        support::stdout(&out)
    );
    assert!(audit(ws.path()).is_empty(), "nothing sent");
}

#[test]
fn a_csv_target_is_read_only() {
    let ws = TempWorkspace::new(
        support::TWO_CSV,
        &[
            ("left.csv", "id,no,name,status\n1,N1,Ann,A\n"),
            ("right.csv", "rid,no,name,status\n9,N1,Anne,active\n"),
            ("status.csv", "source,target\nA,active\nI,inactive\n"),
        ],
    );
    ok(ws.run(&["reconcile", "--pull", "c"]));
    ok(ws.run(&["approve", "c", "--all"]));
    let plan = ok(ws.run(&["push", "c", "--dry-run"]));
    assert!(plan.contains("Anne") && plan.contains("Ann"), "{plan}");
    let err = fails(ws.run(&["push", "c"]));
    assert!(err.contains("read-only"), "{err}");
}

#[test]
fn unique_values_are_checked_again_when_pushing() {
    let ws = target::workspace(
        "id,no,name,email\n1,C1,Ada,ada@x.org\n2,C2,Bob,bob@new.org\n5,C5,Eve,eve@new.org\n",
        &[
            ("C1", "Ada", "ada@x.org"),
            ("C2", "Bob", "bob@old.org"),
            ("C5", "Eve", "eve@old.org"),
        ],
    );
    let config = std::fs::read_to_string(ws.path().join("trueup.toml"))
        .unwrap()
        .replace(
            "validate = { regex = \"[^@ ]+@[^@ ]+\" }",
            "validate = { regex = \"[^@ ]+@[^@ ]+\", unique = true }",
        );
    std::fs::write(ws.path().join("trueup.toml"), config).unwrap();
    ok(ws.run(&["reconcile", "--pull", "c"]));
    // Each correction is valid alone; with the target they are not: C2
    // takes the address C1 holds (refused), so C2 keeps its address, and
    // C5, which would take the one C2 gave up, is refused too.
    ok(ws.run(&["correct", "c", "C2", "email=ADA@x.org"]));
    ok(ws.run(&["correct", "c", "C5", "email=bob@old.org"]));
    let plan = json(ok(ws.run(&["--json", "push", "c", "--dry-run"])));
    assert_eq!(plan["counts"]["invalid"], 2, "{plan}");
    let reasons: Vec<String> = plan["invalid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["reasons"][0].as_str().unwrap().to_string())
        .collect();
    assert!(
        reasons[0].contains("email (unique): \"ADA@x.org\" is already used")
            && reasons[1].contains("email (unique): \"bob@old.org\" is already used"),
        "{reasons:?}"
    );
    let out = ws.run(&["push", "c"]);
    assert_eq!(out.status.code(), Some(1), "refused changes fail the push");
    assert!(audit(ws.path()).is_empty(), "nothing sent");

    // Released for real: C2 gets a fresh address, then C5 may take C2's old one.
    ok(ws.run(&["correct", "c", "C2", "email=bob2@new.org"]));
    ok(ws.run(&["correct", "c", "C5", "email=bob@old.org"]));
    let plan = json(ok(ws.run(&["--json", "push", "c", "--dry-run"])));
    assert_eq!(plan["counts"]["update"], 2, "{plan}");
    assert!(plan["counts"]["invalid"].is_null(), "{plan}");
}
