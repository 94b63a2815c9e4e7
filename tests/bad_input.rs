//! Bad input gets a clear error naming what and where, exits non-zero, and
//! leaves the cache's data and the workspace files as they were.

mod support;

use std::path::Path;

use support::{TWO_CSV, TempWorkspace, fails, ok};

/// A digest of the cache's data tables (not the run history, which records the failure).
fn cache_state(dir: &Path) -> String {
    let conn = rusqlite::Connection::open(dir.join("trueup.db")).unwrap();
    let mut out = String::new();
    for (table, cols) in [
        ("records", "entity, key, hash, vals"),
        ("proposals", "recon, match_key, kind, fields"),
        ("baselines", "recon, match_key, vals"),
        ("decisions", "recon, match_key, verdict, state"),
    ] {
        let mut stmt = conn
            .prepare(&format!("SELECT {cols} FROM {table} ORDER BY 1, 2"))
            .unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let mut s = String::new();
                for i in 0..n {
                    s.push_str(&format!("{:?}|", r.get_ref(i)?));
                }
                Ok(s)
            })
            .unwrap();
        for r in rows {
            out.push_str(&r.unwrap());
            out.push('\n');
        }
    }
    let ic: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ic, "ok", "the cache stays sound");
    out
}

fn workspace_files(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    support::snapshot_files(dir)
        .into_iter()
        .filter(|(p, _)| !p.to_string_lossy().contains("trueup.db"))
        .collect()
}

/// A reconciled workspace, then `right.csv` replaced by `bad`; pulling must
/// fail with every `expect`ed fragment in the message and change nothing.
fn pull_fails_cleanly(bad: &[u8], expect: &[&str]) {
    let ws = TempWorkspace::new(
        TWO_CSV,
        &[
            ("left.csv", "id,no,name,status\n1,N1,Ann,A\n2,N2,Bob,I\n"),
            ("right.csv", "rid,no,name,status\n10,N1,Anne,active\n"),
            ("status.csv", "source,target\nA,active\nI,inactive\n"),
        ],
    );
    ok(ws.run(&["reconcile", "--pull", "c"]));
    ok(ws.run(&["approve", "c", "N1"]));
    std::fs::write(ws.path().join("right.csv"), bad).unwrap();
    let before = cache_state(ws.path());
    let files = workspace_files(ws.path());
    let err = fails(ws.run(&["reconcile", "--pull", "c"]));
    for e in expect {
        assert!(err.contains(e), "error should mention {e:?}: {err}");
    }
    assert!(!err.contains("panicked"), "no crash: {err}");
    assert_eq!(cache_state(ws.path()), before, "the cache is as it was");
    assert_eq!(
        workspace_files(ws.path()),
        files,
        "the workspace files are as they were"
    );
    let history = ok(ws.run(&["--json", "history", "--limit", "1"]));
    assert!(
        history.contains("\"failed\""),
        "the failure is in the run history: {history}"
    );
}

#[test]
fn ragged_row_names_file_and_line() {
    pull_fails_cleanly(
        b"rid,no,name,status\n10,N1,Anne,active\n20,N2,Bob\n",
        &[
            "right.csv",
            "line 3",
            "ragged row: 3 fields where the header has 4",
        ],
    );
}

#[test]
fn unterminated_quote_names_the_line_it_opened_on() {
    pull_fails_cleanly(
        b"rid,no,name,status\n10,N1,Anne,active\n20,N2,\"Bob,active\n30,N3,Cy,active\n",
        &["right.csv", "line 3", "unterminated quoted field"],
    );
}

#[test]
fn missing_id_column_is_named() {
    pull_fails_cleanly(
        b"id,no,name,status\n10,N1,Anne,active\n",
        &["id field \"rid\" is not among its fields"],
    );
}

#[test]
fn invalid_text_in_a_forced_encoding_names_the_line() {
    let config = TWO_CSV.replace(
        "path = \"right.csv\"",
        "path = \"right.csv\"\nencoding = \"utf-8\"",
    );
    let ws = TempWorkspace::new(
        &config,
        &[
            ("left.csv", "id,no,name,status\n1,N1,Ann,A\n"),
            ("status.csv", "source,target\nA,active\n"),
        ],
    );
    std::fs::write(
        ws.path().join("right.csv"),
        b"rid,no,name,status\n10,N1,Ren\xe9,active\n",
    )
    .unwrap();
    let err = fails(ws.run(&["pull", "r"]));
    assert!(
        err.contains("right.csv, line 2") && err.contains("invalid UTF-8"),
        "{err}"
    );
    assert!(err.contains("encoding"), "says what to do: {err}");
}

#[test]
fn windows_1252_and_utf16_are_detected() {
    let ws = TempWorkspace::new(TWO_CSV, &[("status.csv", "source,target\nA,active\n")]);
    // Left: Windows-1252 with semicolons. Right: UTF-16LE with BOM and tabs.
    std::fs::write(
        ws.path().join("left.csv"),
        b"id;no;name;status\n1;N1;Ren\xe9;A\n",
    )
    .unwrap();
    let text = "rid\tno\tname\tstatus\r\n10\tN1\tRené\tactive\r\n";
    let mut utf16 = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    std::fs::write(ws.path().join("right.csv"), utf16).unwrap();
    let out = ok(ws.run(&["--json", "reconcile", "--pull", "c"]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v[0]["counts"]["in_sync"], 1,
        "René reads the same from both: {out}"
    );
}

#[test]
fn unknown_encoding_in_config_is_named() {
    let config = TWO_CSV.replace(
        "path = \"right.csv\"",
        "path = \"right.csv\"\nencoding = \"klingon\"",
    );
    let ws = TempWorkspace::new(&config, &[("right.csv", "rid\n1\n")]);
    let err = fails(ws.run(&["pull", "r"]));
    assert!(
        err.contains("systems.right.encoding") && err.contains("klingon"),
        "{err}"
    );
}

#[test]
fn unknown_column_in_a_mapping_is_named_and_changes_nothing() {
    let ws = TempWorkspace::new(
        TWO_CSV,
        &[
            ("left.csv", "id,no,name,status\n1,N1,Ann,A\n"),
            ("right.csv", "rid,no,name,status\n10,N1,Anne,active\n"),
            ("status.csv", "source,target\nA,active\n"),
        ],
    );
    ok(ws.run(&["reconcile", "--pull", "c"]));
    let before = cache_state(ws.path());
    let config = TWO_CSV.replace("source = \"name\"", "source = \"nmae\"");
    ws.write("trueup.toml", &config);
    let err = fails(ws.run(&["reconcile", "c"]));
    assert!(
        err.contains("source column \"nmae\" is not a column of l"),
        "{err}"
    );
    assert_eq!(cache_state(ws.path()), before);
}

#[test]
fn unknown_config_field_names_file_line_and_field() {
    let config = TWO_CSV.replace(
        "kind = \"csv\"\npath = \"left.csv\"",
        "kind = \"csv\"\npath = \"left.csv\"\ndelimeter = \";\"",
    );
    let ws = TempWorkspace::new(&config, &[]);
    let err = fails(ws.run(&["pull"]));
    assert!(err.contains("trueup.toml, line 2"), "{err}");
    assert!(err.contains("delimeter"), "{err}");
}

#[test]
fn missing_database_file_is_named() {
    let ws = TempWorkspace::new(
        "[systems.erp]\nkind = \"sqlite\"\npath = \"nope.sqlite\"\n[entities.c]\nsystem = \"erp\"\ntable = \"customers\"\nid = [\"id\"]\n",
        &[],
    );
    let err = fails(ws.run(&["pull", "c"]));
    assert!(err.contains("nope.sqlite"), "{err}");
    assert!(
        !ws.path().join("nope.sqlite").exists(),
        "a missing database is not created"
    );
}

#[test]
fn locked_cache_is_a_clear_error() {
    let ws = TempWorkspace::new(
        TWO_CSV,
        &[
            ("left.csv", "id,no,name,status\n1,N1,Ann,A\n"),
            ("right.csv", "rid,no,name,status\n10,N1,Anne,active\n"),
            ("status.csv", "source,target\nA,active\n"),
        ],
    );
    ok(ws.run(&["pull"]));
    let before = cache_state(ws.path());
    let lock = rusqlite::Connection::open(ws.path().join("trueup.db")).unwrap();
    lock.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let err = fails(ws.run(&["pull", "l"]));
    assert!(err.contains("trueup.db") && err.contains("locked"), "{err}");
    assert!(
        err.contains("another Trueup process"),
        "says what to do: {err}"
    );
    lock.execute_batch("ROLLBACK").unwrap();
    drop(lock);
    assert_eq!(cache_state(ws.path()), before);
}

#[test]
fn line_numbers_count_crlf_and_blank_lines_as_an_editor_does() {
    pull_fails_cleanly(
        b"rid,no,name,status\r\n10,N1,Anne,active\r\n\r\n20,N2,Bob\r\n",
        &["right.csv", "line 4", "ragged row"],
    );
}
