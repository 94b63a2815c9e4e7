//! The SQLite system against real database files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use trueup::ErrorCode;
use trueup::connectors::sqlite::SqliteSystem;
use trueup::connectors::{
    Connector, EntitySource, Field, Sample, WriteChange, WriteKind, WriteOutcome,
};

fn f(name: &str, value: Option<&str>) -> Field {
    (name.to_string(), value.map(str::to_string))
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

fn table(name: &str) -> EntitySource {
    EntitySource {
        table: Some(name.into()),
        ..Default::default()
    }
}

/// A database with a `customers` table of three records.
fn database() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("erp.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE customers (
             id INTEGER PRIMARY KEY,
             name TEXT NOT NULL,
             email TEXT,
             balance REAL,
             photo BLOB,
             code TEXT UNIQUE
         );
         INSERT INTO customers VALUES (1, 'Ada Lovelace', 'ada@example.com', 12.5, x'00ff', 'C1');
         INSERT INTO customers VALUES (2, 'Émile Zola', NULL, 100.0, NULL, 'C2');
         INSERT INTO customers VALUES (3, 'Grace Hopper', '', 0.30000000000000004, NULL, 'C3');
         CREATE TABLE orders (customer INTEGER, total NUMERIC);
         INSERT INTO orders VALUES (1, 10), (1, 5.5), (3, 7);",
    )
    .unwrap();
    (dir, path)
}

fn system(path: &Path) -> SqliteSystem {
    SqliteSystem::new("erp".into(), path.to_path_buf())
}

fn read_all(sys: &mut SqliteSystem, source: &EntitySource) -> Sample {
    let mut sample = Sample {
        limit: usize::MAX,
        ..Default::default()
    };
    sys.read(source, &mut sample).unwrap();
    sample
}

fn value_of(conn: &Connection, sql: &str) -> Option<String> {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn check_lists_the_tables() {
    let (_dir, path) = database();
    let info = system(&path).check().unwrap();
    assert_eq!(
        info.entities,
        vec!["customers", "orders"],
        "check must list every table"
    );
    assert!(info.description.contains("SQLite"), "{}", info.description);
}

#[test]
fn reads_a_table_with_every_type_as_text() {
    let (_dir, path) = database();
    let sample = read_all(&mut system(&path), &table("customers"));
    let schema = sample.schema.unwrap();
    assert_eq!(
        schema.fields,
        vec!["id", "name", "email", "balance", "photo", "code"]
    );
    assert_eq!(sample.rows.len(), 3);
    let (origin, first) = &sample.rows[0];
    assert_eq!(*origin, 1, "origins are 1-based row numbers");
    assert_eq!(
        first,
        &vec![
            s("1"),
            s("Ada Lovelace"),
            s("ada@example.com"),
            s("12.5"),
            s("00ff"),
            s("C1")
        ],
        "integers in decimal, reals short, blobs in hex"
    );
    assert_eq!(
        sample.rows[1].1[1],
        s("Émile Zola"),
        "non-ASCII text survives"
    );
    assert_eq!(sample.rows[1].1[2], None, "NULL is no value");
    assert_eq!(
        sample.rows[1].1[3],
        s("100"),
        "an integral real prints without a fraction"
    );
    assert_eq!(
        sample.rows[2].1[2], None,
        "empty text is no value, like NULL"
    );
    assert_eq!(
        sample.rows[2].1[3],
        s("0.30000000000000004"),
        "reals print in shortest round-trip form"
    );
}

#[test]
fn reads_a_query() {
    let (_dir, path) = database();
    let source = EntitySource {
        query: Some(
            "SELECT c.id, c.name, sum(o.total) AS total FROM customers c \
             JOIN orders o ON o.customer = c.id GROUP BY c.id ORDER BY c.id;"
                .into(),
        ),
        ..Default::default()
    };
    let sample = read_all(&mut system(&path), &source);
    assert_eq!(sample.schema.unwrap().fields, vec!["id", "name", "total"]);
    let rows: Vec<_> = sample.rows.into_iter().map(|(_, r)| r).collect();
    assert_eq!(
        rows,
        vec![
            vec![s("1"), s("Ada Lovelace"), s("15.5")],
            vec![s("3"), s("Grace Hopper"), s("7")],
        ]
    );
}

#[test]
fn a_query_that_writes_is_refused() {
    let (_dir, path) = database();
    let source = EntitySource {
        query: Some("DELETE FROM customers".into()),
        ..Default::default()
    };
    let mut sample = Sample::default();
    let err = system(&path).read(&source, &mut sample).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Validation, "{err}");
    let conn = Connection::open(&path).unwrap();
    assert_eq!(
        value_of(&conn, "SELECT count(*) || '' FROM customers"),
        s("3"),
        "nothing deleted"
    );
}

#[test]
fn missing_table_and_column_are_not_found_and_named() {
    let (_dir, path) = database();
    let mut sys = system(&path);
    let mut sample = Sample::default();
    let err = sys.read(&table("suppliers"), &mut sample).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound, "{err}");
    assert!(
        err.to_string().contains("suppliers"),
        "the message names the table: {err}"
    );
    assert!(
        err.to_string().contains("erp.db"),
        "the message names the file: {err}"
    );

    let change = WriteChange {
        kind: WriteKind::Update,
        id: vec![f("id", Some("1"))],
        values: vec![f("phone", Some("123"))],
        expected: vec![],
    };
    let err = sys.write(&table("customers"), &change).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound, "{err}");
    assert!(
        err.to_string().contains("phone"),
        "the message names the column: {err}"
    );
}

#[test]
fn missing_file_is_an_error_and_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.db");
    let err = system(&path).check().unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound, "{err}");
    assert!(err.to_string().contains("nope.db"), "{err}");
    assert!(!path.exists(), "opening must never create a database file");
}

#[test]
fn not_a_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    std::fs::write(
        &path,
        "this is not a database, just some text that is long enough",
    )
    .unwrap();
    let err = system(&path).check().unwrap_err();
    assert!(err.to_string().contains("not a SQLite database"), "{err}");
}

#[test]
fn read_one_finds_a_record_by_id() {
    let (_dir, path) = database();
    let mut sys = system(&path);
    let found = sys
        .read_one(&table("customers"), &[f("id", Some("2"))])
        .unwrap()
        .unwrap();
    assert_eq!(found[1], f("name", Some("Émile Zola")));
    assert_eq!(found[2], f("email", None));
    let missing = sys
        .read_one(&table("customers"), &[f("id", Some("99"))])
        .unwrap();
    assert_eq!(missing, None, "an unknown id is no record, not an error");
    let by_code = sys
        .read_one(&table("customers"), &[f("code", Some("C3"))])
        .unwrap()
        .unwrap();
    assert_eq!(by_code[0], f("id", Some("3")), "any column can be the id");
    let query = EntitySource {
        query: Some("SELECT id, upper(name) AS name FROM customers".into()),
        ..Default::default()
    };
    let found = sys
        .read_one(&query, &[f("id", Some("1"))])
        .unwrap()
        .unwrap();
    assert_eq!(
        found,
        vec![f("id", Some("1")), f("name", Some("ADA LOVELACE"))]
    );
}

#[test]
fn conditional_update_applies_when_the_record_did_not_move() {
    let (_dir, path) = database();
    let mut sys = system(&path);
    let change = WriteChange {
        kind: WriteKind::Update,
        id: vec![f("id", Some("2"))],
        values: vec![
            f("email", Some("emile@example.com")),
            f("balance", Some("101.25")),
        ],
        expected: vec![f("email", None), f("balance", Some("100"))],
    };
    let outcome = sys.write(&table("customers"), &change).unwrap();
    assert_eq!(
        outcome,
        WriteOutcome::Applied {
            id: vec![f("id", Some("2"))]
        }
    );
    let conn = Connection::open(&path).unwrap();
    assert_eq!(
        value_of(&conn, "SELECT email FROM customers WHERE id = 2"),
        s("emile@example.com")
    );
    let balance: f64 = conn
        .query_row("SELECT balance FROM customers WHERE id = 2", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(
        balance, 101.25,
        "text written into a REAL column is stored as a number"
    );
}

#[test]
fn conditional_update_of_a_moved_record_is_a_conflict_and_writes_nothing() {
    let (_dir, path) = database();
    let mut sys = system(&path);
    // Someone else changes the record after we pulled it.
    let other = Connection::open(&path).unwrap();
    other
        .execute(
            "UPDATE customers SET email = 'ada@new.example' WHERE id = 1",
            [],
        )
        .unwrap();
    let change = WriteChange {
        kind: WriteKind::Update,
        id: vec![f("id", Some("1"))],
        values: vec![
            f("email", Some("ada@ours.example")),
            f("name", Some("Ada King")),
        ],
        expected: vec![
            f("email", Some("ada@example.com")),
            f("name", Some("Ada Lovelace")),
        ],
    };
    let outcome = sys.write(&table("customers"), &change).unwrap();
    assert_eq!(
        outcome,
        WriteOutcome::Conflict {
            current: vec![
                f("email", Some("ada@new.example")),
                f("name", Some("Ada Lovelace"))
            ]
        },
        "a moved record is a conflict carrying the current values"
    );
    assert_eq!(
        value_of(
            &other,
            "SELECT email || '/' || name FROM customers WHERE id = 1"
        ),
        s("ada@new.example/Ada Lovelace"),
        "a conflict writes nothing"
    );
}

#[test]
fn update_of_a_missing_record_is_not_found() {
    let (_dir, path) = database();
    let change = WriteChange {
        kind: WriteKind::Update,
        id: vec![f("id", Some("42"))],
        values: vec![f("name", Some("Nobody"))],
        expected: vec![f("name", Some("Somebody"))],
    };
    assert_eq!(
        system(&path).write(&table("customers"), &change).unwrap(),
        WriteOutcome::NotFound
    );
}

#[test]
fn conditional_delete_checks_then_deletes() {
    let (_dir, path) = database();
    let mut sys = system(&path);
    let mut change = WriteChange {
        kind: WriteKind::Delete,
        id: vec![f("id", Some("3"))],
        values: vec![],
        expected: vec![f("email", Some("grace@example.com"))],
    };
    let outcome = sys.write(&table("customers"), &change).unwrap();
    assert_eq!(
        outcome,
        WriteOutcome::Conflict {
            current: vec![f("email", None)]
        }
    );
    change.expected = vec![f("email", None), f("balance", Some("0.30000000000000004"))];
    let outcome = sys.write(&table("customers"), &change).unwrap();
    assert_eq!(
        outcome,
        WriteOutcome::Applied {
            id: vec![f("id", Some("3"))]
        }
    );
    assert_eq!(
        sys.read_one(&table("customers"), &change.id).unwrap(),
        None,
        "deleted"
    );
    assert_eq!(
        sys.write(&table("customers"), &change).unwrap(),
        WriteOutcome::NotFound
    );
}

#[test]
fn insert_returns_the_assigned_or_given_id() {
    let (_dir, path) = database();
    let mut sys = system(&path);
    let change = WriteChange {
        kind: WriteKind::Insert,
        id: vec![],
        values: vec![f("name", Some("Alan Turing")), f("code", Some("C4"))],
        expected: vec![],
    };
    let outcome = sys.write(&table("customers"), &change).unwrap();
    assert_eq!(
        outcome,
        WriteOutcome::Applied {
            id: vec![f("id", Some("4"))]
        },
        "rowid assigned"
    );
    let given = WriteChange {
        kind: WriteKind::Insert,
        id: vec![f("id", Some("0100"))],
        values: vec![f("name", Some("Linus")), f("code", Some("C5"))],
        expected: vec![],
    };
    let outcome = sys.write(&table("customers"), &given).unwrap();
    assert_eq!(
        outcome,
        WriteOutcome::Applied {
            id: vec![f("id", Some("100"))]
        },
        "the id is returned as stored"
    );
    // A table without a declared key: the rowid identifies the record.
    let outcome = sys
        .write(
            &table("orders"),
            &WriteChange {
                kind: WriteKind::Insert,
                id: vec![],
                values: vec![f("customer", Some("4")), f("total", Some("9.99"))],
                expected: vec![],
            },
        )
        .unwrap();
    assert_eq!(
        outcome,
        WriteOutcome::Applied {
            id: vec![f("rowid", Some("4"))]
        }
    );
}

#[test]
fn constraint_violation_is_a_validation_error() {
    let (_dir, path) = database();
    let change = WriteChange {
        kind: WriteKind::Insert,
        id: vec![],
        values: vec![f("name", Some("Copy")), f("code", Some("C1"))],
        expected: vec![],
    };
    let err = system(&path)
        .write(&table("customers"), &change)
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Validation, "{err}");
    assert!(
        err.to_string().contains("UNIQUE"),
        "the database's own message: {err}"
    );
}

#[test]
fn a_locked_database_is_a_clear_error_naming_the_file() {
    let (_dir, path) = database();
    let locker = Connection::open(&path).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let mut sys = system(&path).with_busy_timeout(Duration::from_millis(200));
    let mut sample = Sample::default();
    let err = sys.read(&table("customers"), &mut sample).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("locked") && text.contains("erp.db"), "{text}");
    locker.execute_batch("ROLLBACK").unwrap();
    sys.read(&table("customers"), &mut sample)
        .expect("reads once the lock is gone");
}

#[test]
fn an_id_field_with_no_value_matches_null_and_empty_text() {
    let (_dir, path) = database();
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("INSERT INTO orders VALUES (NULL, 1), ('', 2)")
        .unwrap();
    let mut sys = system(&path);
    let change = WriteChange {
        kind: WriteKind::Update,
        id: vec![f("customer", None)],
        values: vec![f("total", Some("3"))],
        expected: vec![],
    };
    let err = sys.write(&table("orders"), &change).unwrap_err();
    assert_eq!(
        err.code(),
        ErrorCode::Validation,
        "NULL and '' both read as no value, so this id names two records: {err}"
    );
    conn.execute_batch("DELETE FROM orders WHERE customer = ''")
        .unwrap();
    let outcome = sys.write(&table("orders"), &change).unwrap();
    assert_eq!(
        outcome,
        WriteOutcome::Applied {
            id: vec![f("customer", None)]
        }
    );
    assert_eq!(
        value_of(
            &conn,
            "SELECT group_concat(total, ',') FROM orders WHERE customer IS NULL"
        ),
        s("3")
    );
}

#[test]
fn an_update_that_changes_the_id_returns_the_new_id_as_stored() {
    let (_dir, path) = database();
    let change = WriteChange {
        kind: WriteKind::Update,
        id: vec![f("id", Some("2"))],
        values: vec![f("id", Some("0200"))],
        expected: vec![f("name", Some("Émile Zola"))],
    };
    let outcome = system(&path).write(&table("customers"), &change).unwrap();
    assert_eq!(
        outcome,
        WriteOutcome::Applied {
            id: vec![f("id", Some("200"))]
        }
    );
}
