//! A SQLite push target with an audit trail: every insert, update and
//! delete on `contacts` is recorded by triggers in `audit`, so a test can
//! count the effects a push had.
#![allow(dead_code)]

use std::path::Path;

use crate::support::TempWorkspace;

/// A workspace pushing `left.csv` (the source) to `crm.db` (SQLite, table
/// `contacts` keyed by `no`) through reconciliation `c`.
pub const CONFIG: &str = r#"
[systems.erp]
kind = "csv"
path = "left.csv"

[systems.crm]
kind = "sqlite"
path = "crm.db"

[entities.l]
system = "erp"
id = ["id"]

[entities.r]
system = "crm"
table = "contacts"
id = ["no"]

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

[[reconciliations.c.fields]]
target = "email"
source = "email"
validate = { regex = "[^@ ]+@[^@ ]+" }
"#;

pub const SCHEMA: &str = "
CREATE TABLE contacts (no TEXT PRIMARY KEY, name TEXT, email TEXT);
CREATE TABLE audit (seq INTEGER PRIMARY KEY, op TEXT, no TEXT, name TEXT, email TEXT);
CREATE TRIGGER audit_insert AFTER INSERT ON contacts BEGIN
  INSERT INTO audit (op, no, name, email) VALUES ('insert', NEW.no, NEW.name, NEW.email); END;
CREATE TRIGGER audit_update AFTER UPDATE ON contacts BEGIN
  INSERT INTO audit (op, no, name, email) VALUES ('update', NEW.no, NEW.name, NEW.email); END;
CREATE TRIGGER audit_delete AFTER DELETE ON contacts BEGIN
  INSERT INTO audit (op, no, name, email) VALUES ('delete', OLD.no, OLD.name, OLD.email); END;
";

/// One row of the target or of the audit trail.
pub type Row = (String, Option<String>, Option<String>);

/// Makes the workspace: `left` is the CSV text, `right` the target rows.
pub fn workspace(left: &str, right: &[(&str, &str, &str)]) -> TempWorkspace {
    let ws = TempWorkspace::new(CONFIG, &[("left.csv", left)]);
    let conn = rusqlite::Connection::open(ws.path().join("crm.db")).unwrap();
    conn.execute_batch(SCHEMA).unwrap();
    for (no, name, email) in right {
        conn.execute(
            "INSERT INTO contacts VALUES (?1, ?2, ?3)",
            (no, name, email),
        )
        .unwrap();
    }
    conn.execute("DELETE FROM audit", []).unwrap();
    ws
}

pub fn target(ws: &TempWorkspace) -> rusqlite::Connection {
    rusqlite::Connection::open(ws.path().join("crm.db")).unwrap()
}

pub fn cache(ws: &TempWorkspace) -> rusqlite::Connection {
    rusqlite::Connection::open(ws.path().join("trueup.db")).unwrap()
}

/// The target's rows, by `no`.
pub fn rows(dir: &Path) -> Vec<Row> {
    let conn = rusqlite::Connection::open(dir.join("crm.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT no, name, email FROM contacts ORDER BY no")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The audit trail: (op, no, name, email), in order.
pub fn audit(dir: &Path) -> Vec<(String, String, Option<String>, Option<String>)> {
    let conn = rusqlite::Connection::open(dir.join("crm.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT op, no, name, email FROM audit ORDER BY seq")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Journal rows: (id, state, op, match_key, attempts, category).
pub fn journal(dir: &Path) -> Vec<(i64, String, String, String, i64, Option<String>)> {
    let conn = rusqlite::Connection::open(dir.join("trueup.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT id, state, op, match_key, attempts, category FROM journal ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}
