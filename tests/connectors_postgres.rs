//! The PostgreSQL system against a real server started for this test binary
//! (see `support/pg.rs`; skipped when PostgreSQL is not installed, except in CI).

#[path = "support/pg.rs"]
mod pg;

use trueup::ErrorCode;
use trueup::connectors::postgres::{PgConfig, PostgresSystem};
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

/// A fresh database with a `customers` table of three records and an
/// `orders` table without a primary key; `None` when PostgreSQL is missing.
fn database(hint: &str) -> Option<(PgConfig, postgres::Client)> {
    let server = pg::server()?;
    let config = server.database(hint);
    let mut client = server.client(&config);
    client
        .batch_execute(
            "CREATE TABLE customers (
                 id serial PRIMARY KEY,
                 name text NOT NULL,
                 email varchar(80),
                 balance numeric(10,2),
                 rating double precision,
                 since date,
                 active boolean,
                 code text UNIQUE
             );
             INSERT INTO customers (name, email, balance, rating, since, active, code) VALUES
               ('Ada Lovelace', 'ada@example.com', 12.5, 0.1, '2024-03-01', true, 'C1'),
               ('Émile Zola', NULL, 100, 1e300, NULL, false, 'C2'),
               ('Grace Hopper', '', -3.25, NULL, '1906-12-09', NULL, 'C3');
             CREATE TABLE orders (customer integer, total numeric, note text);
             INSERT INTO orders VALUES (1, 10, 'a'), (1, 5.5, 'b'), (3, 7, 'c');",
        )
        .unwrap();
    Some((config, client))
}

fn system(config: &PgConfig) -> PostgresSystem {
    PostgresSystem::new("crm".into(), config.clone())
}

fn read_all(sys: &mut PostgresSystem, source: &EntitySource) -> Sample {
    let mut sample = Sample {
        limit: usize::MAX,
        ..Default::default()
    };
    sys.read(source, &mut sample).unwrap();
    sample
}

fn text_of(client: &mut postgres::Client, sql: &str) -> Option<String> {
    client.query_one(sql, &[]).unwrap().get(0)
}

#[test]
fn check_lists_the_tables() {
    let Some((config, _client)) = database("check") else {
        return;
    };
    let info = system(&config).check().unwrap();
    assert_eq!(
        info.entities,
        vec!["customers", "orders"],
        "check lists the tables"
    );
    assert!(
        info.description.contains("PostgreSQL 1"),
        "{}",
        info.description
    );
}

#[test]
fn reads_a_table_with_every_type_as_text() {
    let Some((config, _client)) = database("read_table") else {
        return;
    };
    let sample = read_all(&mut system(&config), &table("customers"));
    assert_eq!(
        sample.schema.unwrap().fields,
        vec![
            "id", "name", "email", "balance", "rating", "since", "active", "code"
        ]
    );
    let mut rows: Vec<_> = sample.rows.into_iter().map(|(_, r)| r).collect();
    rows.sort();
    assert_eq!(
        rows[0],
        vec![
            s("1"),
            s("Ada Lovelace"),
            s("ada@example.com"),
            s("12.50"),
            s("0.1"),
            s("2024-03-01"),
            s("true"),
            s("C1")
        ],
        "numbers keep their scale, floats are shortest, dates ISO, booleans as PostgreSQL writes them"
    );
    assert_eq!(rows[1][1], s("Émile Zola"), "non-ASCII text survives");
    assert_eq!(rows[1][2], None, "NULL is no value");
    assert_eq!(rows[1][4], s("1e+300"));
    assert_eq!(rows[2][2], None, "empty text is no value, like NULL");
}

#[test]
fn reads_a_query() {
    let Some((config, _client)) = database("read_query") else {
        return;
    };
    let source = EntitySource {
        query: Some(
            "SELECT c.id, c.name, sum(o.total) AS total FROM customers c \
             JOIN orders o ON o.customer = c.id GROUP BY c.id ORDER BY c.id;"
                .into(),
        ),
        ..Default::default()
    };
    let sample = read_all(&mut system(&config), &source);
    assert_eq!(sample.schema.unwrap().fields, vec!["id", "name", "total"]);
    assert_eq!(
        sample.rows,
        vec![
            (1, vec![s("1"), s("Ada Lovelace"), s("15.5")]),
            (2, vec![s("3"), s("Grace Hopper"), s("7")]),
        ]
    );
}

#[test]
fn a_query_cannot_change_data() {
    let Some((config, mut client)) = database("query_ro") else {
        return;
    };
    let source = EntitySource {
        query: Some("DELETE FROM orders RETURNING *".into()),
        ..Default::default()
    };
    let mut sample = Sample::default();
    let err = system(&config).read(&source, &mut sample);
    assert!(err.is_err(), "a query that writes must fail");
    assert_eq!(
        text_of(&mut client, "SELECT count(*)::text FROM orders"),
        s("3")
    );
}

#[test]
fn missing_table_is_not_found_with_the_servers_message() {
    let Some((config, _client)) = database("missing") else {
        return;
    };
    let mut sys = system(&config);
    let mut sample = Sample::default();
    let err = sys.read(&table("suppliers"), &mut sample).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound, "{err}");
    assert!(
        err.to_string()
            .contains("relation \"suppliers\" does not exist"),
        "the server's own message: {err}"
    );
    let change = WriteChange {
        kind: WriteKind::Update,
        id: vec![f("id", Some("1"))],
        values: vec![f("phone", Some("1"))],
        expected: vec![],
    };
    let err = sys.write(&table("customers"), &change).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound, "{err}");
    assert!(
        err.to_string().contains("phone"),
        "the message names the column: {err}"
    );
    // The connection survives errors.
    read_all(&mut sys, &table("orders"));
}

#[test]
fn read_one_finds_a_record_by_id() {
    let Some((config, _client)) = database("read_one") else {
        return;
    };
    let mut sys = system(&config);
    let found = sys
        .read_one(&table("customers"), &[f("id", Some("2"))])
        .unwrap()
        .unwrap();
    assert_eq!(found[1], f("name", Some("Émile Zola")));
    assert_eq!(found[5], f("since", None));
    assert_eq!(
        sys.read_one(&table("customers"), &[f("id", Some("99"))])
            .unwrap(),
        None
    );
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
    let Some((config, mut client)) = database("update_ok") else {
        return;
    };
    let change = WriteChange {
        kind: WriteKind::Update,
        id: vec![f("id", Some("2"))],
        values: vec![
            f("email", Some("emile@example.com")),
            f("balance", Some("101.255")),
            f("since", Some("2025-01-31")),
            f("active", Some("true")),
        ],
        expected: vec![
            f("email", None),
            f("balance", Some("100.00")),
            f("rating", Some("1e+300")),
        ],
    };
    let outcome = system(&config).write(&table("customers"), &change).unwrap();
    assert_eq!(
        outcome,
        WriteOutcome::Applied {
            id: vec![f("id", Some("2"))]
        }
    );
    assert_eq!(
        text_of(
            &mut client,
            "SELECT concat_ws('|', email, balance, since, active) FROM customers WHERE id = 2"
        ),
        s("emile@example.com|101.26|2025-01-31|t"),
        "text values are cast to each column's type"
    );
}

#[test]
fn conditional_update_of_a_moved_record_is_a_conflict_and_writes_nothing() {
    let Some((config, mut client)) = database("update_conflict") else {
        return;
    };
    // Someone changes the record after we pulled it.
    client
        .batch_execute("UPDATE customers SET email = 'ada@new.example' WHERE id = 1")
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
    let outcome = system(&config).write(&table("customers"), &change).unwrap();
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
        text_of(
            &mut client,
            "SELECT email || '/' || name FROM customers WHERE id = 1"
        ),
        s("ada@new.example/Ada Lovelace"),
        "a conflict writes nothing"
    );
}

#[test]
fn update_of_a_missing_record_is_not_found() {
    let Some((config, _client)) = database("update_missing") else {
        return;
    };
    let change = WriteChange {
        kind: WriteKind::Update,
        id: vec![f("id", Some("42"))],
        values: vec![f("name", Some("Nobody"))],
        expected: vec![f("name", Some("Somebody"))],
    };
    let outcome = system(&config).write(&table("customers"), &change).unwrap();
    assert_eq!(outcome, WriteOutcome::NotFound);
}

#[test]
fn update_by_a_non_unique_id_changes_nothing() {
    let Some((config, mut client)) = database("update_many") else {
        return;
    };
    let change = WriteChange {
        kind: WriteKind::Update,
        id: vec![f("customer", Some("1"))],
        values: vec![f("note", Some("x"))],
        expected: vec![],
    };
    let err = system(&config)
        .write(&table("orders"), &change)
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Validation, "{err}");
    assert_eq!(
        text_of(
            &mut client,
            "SELECT string_agg(note, ',' ORDER BY note) FROM orders"
        ),
        s("a,b,c"),
        "an id matching two records must not change either"
    );
}

#[test]
fn conditional_delete_checks_then_deletes() {
    let Some((config, mut client)) = database("delete") else {
        return;
    };
    let mut sys = system(&config);
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
    change.expected = vec![f("email", None), f("balance", Some("-3.25"))];
    let outcome = sys.write(&table("customers"), &change).unwrap();
    assert_eq!(
        outcome,
        WriteOutcome::Applied {
            id: vec![f("id", Some("3"))]
        }
    );
    assert_eq!(
        text_of(&mut client, "SELECT count(*)::text FROM customers"),
        s("2")
    );
    assert_eq!(
        sys.write(&table("customers"), &change).unwrap(),
        WriteOutcome::NotFound
    );
}

#[test]
fn insert_returns_the_assigned_or_given_id() {
    let Some((config, mut client)) = database("insert") else {
        return;
    };
    let mut sys = system(&config);
    let change = WriteChange {
        kind: WriteKind::Insert,
        id: vec![],
        values: vec![
            f("name", Some("Alan Turing")),
            f("balance", Some("7")),
            f("since", Some("1936-05-28")),
            f("code", Some("C4")),
        ],
        expected: vec![],
    };
    let outcome = sys.write(&table("customers"), &change).unwrap();
    assert_eq!(
        outcome,
        WriteOutcome::Applied {
            id: vec![f("id", Some("4"))]
        },
        "the serial id is returned"
    );
    let given = WriteChange {
        kind: WriteKind::Insert,
        id: vec![f("code", Some("C9"))],
        values: vec![f("name", Some("Linus"))],
        expected: vec![],
    };
    let outcome = sys.write(&table("customers"), &given).unwrap();
    assert_eq!(
        outcome,
        WriteOutcome::Applied {
            id: vec![f("code", Some("C9"))]
        }
    );
    assert_eq!(
        text_of(
            &mut client,
            "SELECT balance::text || ' ' || since FROM customers WHERE id = 4"
        ),
        s("7.00 1936-05-28")
    );
    let dup = WriteChange {
        kind: WriteKind::Insert,
        id: vec![],
        values: vec![f("name", Some("Copy")), f("code", Some("C1"))],
        expected: vec![],
    };
    let err = sys.write(&table("customers"), &dup).unwrap_err();
    assert_eq!(
        err.code(),
        ErrorCode::Validation,
        "a unique violation is a validation error: {err}"
    );
    let bad = WriteChange {
        kind: WriteKind::Insert,
        id: vec![],
        values: vec![f("name", Some("Bad")), f("since", Some("not a date"))],
        expected: vec![],
    };
    let err = sys.write(&table("customers"), &bad).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Validation, "{err}");
    assert!(
        err.to_string().contains("not a date"),
        "the server names the value: {err}"
    );
}

#[test]
fn wrong_password_is_an_auth_error_without_the_password() {
    let Some(server) = pg::server() else { return };
    let config = server.database("auth");
    let wrong = "Wrong-Secret-4d21";
    let mut bad = config.clone();
    bad.password = Some(wrong.into());
    let err = system(&bad).check().unwrap_err();
    assert_eq!(err.code(), ErrorCode::Auth, "{err}");
    let text = format!("{err} {err:?}");
    assert!(
        text.contains("password authentication failed"),
        "the server's message: {text}"
    );
    assert!(
        !text.contains(wrong),
        "the message must not show the password: {text}"
    );
    assert!(!text.contains(pg::PASSWORD), "nor the real one: {text}");
    let shown = format!("{:?}", system(&config));
    assert!(
        !shown.contains(pg::PASSWORD),
        "Debug hides the password: {shown}"
    );
}

#[test]
fn unreachable_server_is_a_network_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = PgConfig {
        host: "127.0.0.1".into(),
        port,
        user: "nobody".into(),
        database: "none".into(),
        password: Some("Secret-Unreachable-1".into()),
    };
    let err = system(&config).check().unwrap_err();
    assert_eq!(err.code(), ErrorCode::Network, "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("127.0.0.1:{port}")),
        "names the address: {text}"
    );
    assert!(!text.contains("Secret-Unreachable-1"), "{text}");
}

#[test]
fn missing_database_is_not_found() {
    let Some(server) = pg::server() else { return };
    let mut config = server.database("dbmissing");
    config.database = "no_such_db".into();
    let err = system(&config).check().unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound, "{err}");
    assert!(err.to_string().contains("no_such_db"), "{err}");
}

#[test]
fn stopping_a_read_early_keeps_the_connection_usable() {
    let Some((config, mut client)) = database("early_stop") else {
        return;
    };
    client
        .batch_execute("INSERT INTO orders SELECT g, g, 'n' FROM generate_series(1, 5000) g")
        .unwrap();
    let mut sys = system(&config);
    let mut first = Sample {
        limit: 2,
        ..Default::default()
    };
    sys.read(&table("orders"), &mut first).unwrap();
    assert_eq!(
        first.rows.len(),
        2,
        "the sink stopped the read after two records"
    );
    let all = read_all(&mut sys, &table("orders"));
    assert_eq!(
        all.rows.len(),
        5003,
        "the next read on the same connection sees everything"
    );
    let sales = EntitySource {
        table: Some("sales.leads".into()),
        ..Default::default()
    };
    client
        .batch_execute("CREATE SCHEMA sales; CREATE TABLE sales.leads (id int PRIMARY KEY, who text); INSERT INTO sales.leads VALUES (1, 'x')")
        .unwrap();
    let leads = read_all(&mut sys, &sales);
    assert_eq!(
        leads.rows,
        vec![(1, vec![s("1"), s("x")])],
        "schema-qualified tables read"
    );
    let outcome = sys
        .write(
            &sales,
            &WriteChange {
                kind: WriteKind::Update,
                id: vec![f("id", Some("1"))],
                values: vec![f("who", Some("y"))],
                expected: vec![f("who", Some("x"))],
            },
        )
        .unwrap();
    assert_eq!(
        outcome,
        WriteOutcome::Applied {
            id: vec![f("id", Some("1"))]
        }
    );
}

/// Rows of `customers` as text, in id order: what a batch left behind.
fn customers(client: &mut postgres::Client) -> Vec<String> {
    client
        .query(
            "SELECT concat_ws('|', id, name, coalesce(email, '<null>'), balance, rating, since, active, code) \
             FROM customers ORDER BY id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Counts the `UPDATE` and `INSERT` statements run on `customers` (not
/// rows), after three more records, one of them edited after the pull.
const COUNT_STATEMENTS: &str = "
    CREATE TABLE statements (op text PRIMARY KEY, n integer NOT NULL);
    INSERT INTO statements VALUES ('update', 0), ('insert', 0);
    CREATE FUNCTION count_statement() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN UPDATE statements SET n = n + 1 WHERE op = lower(TG_OP); RETURN NULL; END $$;
    CREATE TRIGGER count_update AFTER UPDATE ON customers
        FOR EACH STATEMENT EXECUTE FUNCTION count_statement();
    CREATE TRIGGER count_insert AFTER INSERT ON customers
        FOR EACH STATEMENT EXECUTE FUNCTION count_statement();
    INSERT INTO customers (name, email, balance, code) VALUES
        ('Dee', 'dee@example.com', 1, 'C4'), ('Eve', 'eve@example.com', 2, 'C5'),
        ('Fay', 'fay@example.com', 3, 'C6');
    -- Someone edits Eve after the pull.
    UPDATE customers SET email = 'eve@theirs.example' WHERE id = 5;
    UPDATE statements SET n = 0;";

/// A batch of updates by the primary key and of inserts given their ids
/// goes as one statement per shape and gives exactly what the same changes
/// give one by one: the same outcome for each (applied with the id,
/// conflict with the current values, not found), the same rows, nothing
/// written where the record moved; an insert whose id the table assigns
/// goes alone.
#[test]
fn a_batch_of_updates_and_inserts_is_one_statement_per_shape_and_gives_what_one_by_one_gives() {
    let (Some((together_config, mut together)), Some((alone_config, mut alone))) =
        (database("batch_together"), database("batch_alone"))
    else {
        return;
    };
    for client in [&mut together, &mut alone] {
        client.batch_execute(COUNT_STATEMENTS).unwrap();
    }
    let update = |id: &str, values: Vec<Field>, expected: Vec<Field>| WriteChange {
        kind: WriteKind::Update,
        id: vec![f("id", Some(id))],
        values,
        expected,
    };
    let insert = |id: Vec<Field>, values: Vec<Field>| WriteChange {
        kind: WriteKind::Insert,
        id,
        values,
        expected: vec![],
    };
    let changes = vec![
        // Shape 1: email and balance set, email checked.
        update(
            "1",
            vec![
                f("email", Some("ada@new.example")),
                f("balance", Some("13")),
            ],
            vec![f("email", Some("ada@example.com"))],
        ),
        // Pulled as no value: the record holds NULL.
        update(
            "2",
            vec![
                f("email", Some("emile@example.com")),
                f("balance", Some("100.5")),
            ],
            vec![f("email", None)],
        ),
        // Pulled as no value: the record holds empty text.
        update(
            "3",
            vec![f("email", Some("grace@example.com")), f("balance", None)],
            vec![f("email", None)],
        ),
        // Moved since the pull: a conflict, untouched.
        update(
            "5",
            vec![
                f("email", Some("eve@ours.example")),
                f("balance", Some("9")),
            ],
            vec![f("email", Some("eve@example.com"))],
        ),
        // Gone.
        update(
            "77",
            vec![f("email", Some("x@example.com")), f("balance", Some("1"))],
            vec![f("email", Some("x@old.example"))],
        ),
        // Shape 2: name set, name and since checked.
        update(
            "4",
            vec![f("name", Some("Dee Dee"))],
            vec![f("name", Some("Dee")), f("since", None)],
        ),
        update(
            "6",
            vec![f("name", Some("Fay Wray"))],
            vec![f("name", Some("Fay")), f("since", None)],
        ),
        // Inserts given their primary key: together.
        insert(
            vec![f("id", Some("50"))],
            vec![f("name", Some("Hal")), f("code", Some("C50"))],
        ),
        insert(
            vec![f("id", Some("51"))],
            vec![
                f("name", Some("Ida")),
                f("code", Some("C51")),
                // The id among the values too: written once.
                f("id", Some("51")),
            ],
        ),
        // Inserts given another unique id: together (the serial id assigned in order).
        insert(vec![f("code", Some("C8"))], vec![f("name", Some("Jo"))]),
        insert(vec![f("code", Some("C9"))], vec![f("name", Some("Kit"))]),
        // An insert whose id the table assigns: alone.
        insert(vec![], vec![f("name", Some("Gus")), f("code", Some("C7"))]),
    ];
    let source = table("customers");
    let got_together = system(&together_config)
        .write_batch(&source, &changes)
        .unwrap();
    let mut one_by_one = system(&alone_config);
    let got_alone: Vec<WriteOutcome> = changes
        .iter()
        .map(|c| one_by_one.write(&source, c).unwrap())
        .collect();
    let applied = |id: &str| WriteOutcome::Applied {
        id: vec![f("id", Some(id))],
    };
    assert_eq!(
        got_together,
        vec![
            applied("1"),
            applied("2"),
            applied("3"),
            WriteOutcome::Conflict {
                current: vec![f("email", Some("eve@theirs.example"))]
            },
            WriteOutcome::NotFound,
            applied("4"),
            applied("6"),
            applied("50"),
            applied("51"),
            WriteOutcome::Applied {
                id: vec![f("code", Some("C8"))]
            },
            WriteOutcome::Applied {
                id: vec![f("code", Some("C9"))]
            },
            applied("9"),
        ],
        "each change's outcome, in the order given"
    );
    assert_eq!(got_together, got_alone, "the same outcomes as one by one");
    assert_eq!(
        customers(&mut together),
        customers(&mut alone),
        "the same rows as one by one"
    );
    assert!(
        customers(&mut together).contains(&"5|Eve|eve@theirs.example|2.00|C5".to_string()),
        "the moved record is untouched: {:?}",
        customers(&mut together)
    );
    let statements = |c: &mut postgres::Client| -> Vec<(String, i32)> {
        c.query("SELECT op, n FROM statements ORDER BY op", &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    };
    assert_eq!(
        statements(&mut together),
        vec![("insert".into(), 3), ("update".into(), 2)],
        "one statement per shape, and the insert whose id is assigned alone"
    );
    assert_eq!(
        statements(&mut alone),
        vec![("insert".into(), 5), ("update".into(), 7)],
        "one per change alone"
    );
}

/// A value the column refuses, or an id already taken, fails the whole
/// batch with the server's message, and nothing of the batch is written.
#[test]
fn a_refused_value_in_a_batch_writes_nothing() {
    let Some((config, mut client)) = database("batch_refused") else {
        return;
    };
    let before = customers(&mut client);
    // Two changes of `kind` to ids 1 and 2 (or 60 and 1), setting `field`.
    let mut refused = |kind: WriteKind, rows: [(&str, &str); 2], field: &str, message: &str| {
        let changes: Vec<WriteChange> = rows
            .iter()
            .map(|(id, value)| WriteChange {
                kind,
                id: vec![f("id", Some(id))],
                values: vec![f(field, Some(value))],
                expected: vec![],
            })
            .collect();
        let err = system(&config)
            .write_batch(&table("customers"), &changes)
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Validation, "{err}");
        assert!(err.to_string().contains(message), "{err}");
        assert_eq!(
            customers(&mut client),
            before,
            "nothing of the batch written"
        );
    };
    refused(
        WriteKind::Update,
        [("1", "7"), ("2", "not a number")],
        "balance",
        "not a number",
    );
    // An insert whose id is taken: the same.
    refused(
        WriteKind::Insert,
        [("60", "Lee"), ("1", "Ada again")],
        "name",
        "customers_pkey",
    );
}
