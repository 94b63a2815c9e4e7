//! Push throughput: `TRUEUP_BENCH_ROWS` (default 100 000) approved updates
//! pushed to SQLite and to PostgreSQL, with every guarantee on (journal,
//! conditional writes, baseline), against a plain single-transaction
//! `UPDATE` of the same rows as the ceiling. Ignored by default:
//!
//! `cargo test --release --test push_bench -- --ignored --nocapture`

mod support;

#[path = "support/pg.rs"]
mod pg;

use std::fmt::Write as _;
use std::time::Instant;

use support::{TempWorkspace, ok};

fn rows() -> usize {
    std::env::var("TRUEUP_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn left_csv(n: usize) -> String {
    let mut s = String::with_capacity(n * 40);
    s.push_str("id,no,name,email\n");
    for i in 0..n {
        let _ = writeln!(s, "{i},C{i:07},Name {i},p{i}@new.org");
    }
    s
}

const FIELDS: &str = r#"
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
"#;

fn report(target: &str, n: usize, push_secs: f64, ceiling_secs: f64) {
    let push = n as f64 / push_secs;
    let ceiling = n as f64 / ceiling_secs;
    eprintln!(
        "{target}: push {n} updates in {push_secs:.2} s = {push:.0} rows/s; \
         plain single-transaction UPDATE {ceiling_secs:.2} s = {ceiling:.0} rows/s; \
         push = {:.0}% of the ceiling",
        100.0 * push / ceiling
    );
}

/// Pulls, reconciles, approves every update, and times the push.
fn push_all(run: &dyn Fn(&[&str]) -> std::process::Output, n: usize) -> f64 {
    ok(run(&["reconcile", "--pull", "c"]));
    ok(run(&["approve", "c", "--all", "--kind", "update"]));
    let started = Instant::now();
    let out = ok(run(&["--json", "push", "c", "--batch-size", "1000"]));
    let secs = started.elapsed().as_secs_f64();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["outcomes"]["applied"].as_u64(),
        Some(n as u64),
        "all applied"
    );
    secs
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture, preferably --release"]
fn bench_push_to_sqlite() {
    let n = rows();
    let config = format!(
        "[systems.erp]\nkind = \"csv\"\npath = \"left.csv\"\n\n[systems.crm]\nkind = \"sqlite\"\npath = \"crm.db\"\n{FIELDS}"
    );
    let ws = TempWorkspace::new(&config, &[("left.csv", &left_csv(n))]);
    let seed = |path: &std::path::Path| {
        let mut conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch("CREATE TABLE contacts (no TEXT PRIMARY KEY, name TEXT, email TEXT)")
            .unwrap();
        let tx = conn.transaction().unwrap();
        {
            let mut ins = tx
                .prepare("INSERT INTO contacts VALUES (?1, ?2, ?3)")
                .unwrap();
            for i in 0..n {
                ins.execute((
                    format!("C{i:07}"),
                    format!("Name {i}"),
                    format!("p{i}@old.org"),
                ))
                .unwrap();
            }
        }
        tx.commit().unwrap();
    };
    seed(&ws.path().join("crm.db"));
    let push_secs = push_all(&|a| ws.run(a), n);
    // The ceiling: the same updates in one transaction, no checks, no journal.
    let ceiling = ws.path().join("ceiling.db");
    seed(&ceiling);
    let mut conn = rusqlite::Connection::open(&ceiling).unwrap();
    let started = Instant::now();
    let tx = conn.transaction().unwrap();
    {
        let mut up = tx
            .prepare("UPDATE contacts SET email = ?2 WHERE no = ?1")
            .unwrap();
        for i in 0..n {
            up.execute((format!("C{i:07}"), format!("p{i}@new.org")))
                .unwrap();
        }
    }
    tx.commit().unwrap();
    report("SQLite", n, push_secs, started.elapsed().as_secs_f64());
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture, preferably --release"]
fn bench_push_to_postgres() {
    let Some(server) = pg::server() else { return };
    let n = rows();
    let cfg = server.database("bench");
    let mut client = server.client(&cfg);
    let seed = |client: &mut postgres::Client, table: &str| {
        client
            .batch_execute(&format!(
                "CREATE TABLE {table} (no text PRIMARY KEY, name text, email text);
                 INSERT INTO {table} SELECT 'C' || lpad(i::text, 7, '0'), 'Name ' || i, 'p' || i || '@old.org'
                 FROM generate_series(0, {}) AS i;",
                n - 1
            ))
            .unwrap();
    };
    seed(&mut client, "contacts");
    let config = format!(
        "[systems.erp]\nkind = \"csv\"\npath = \"left.csv\"\n\n[systems.crm]\nkind = \"postgres\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\ndatabase = \"{}\"\npassword = {{ env = \"TRUEUP_BENCH_PG_PASSWORD\" }}\n{FIELDS}",
        cfg.host, cfg.port, cfg.user, cfg.database
    );
    let ws = TempWorkspace::new(&config, &[("left.csv", &left_csv(n))]);
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_trueup"))
            .arg("-w")
            .arg(ws.path())
            .args(args)
            .env("USER", "tester")
            .env("TRUEUP_BENCH_PG_PASSWORD", pg::PASSWORD)
            .output()
            .unwrap()
    };
    let push_secs = push_all(&run, n);
    seed(&mut client, "ceiling");
    let started = Instant::now();
    let mut tx = client.transaction().unwrap();
    let up = tx
        .prepare("UPDATE ceiling SET email = $2 WHERE no = $1")
        .unwrap();
    for i in 0..n {
        tx.execute(&up, &[&format!("C{i:07}"), &format!("p{i}@new.org")])
            .unwrap();
    }
    tx.commit().unwrap();
    report("PostgreSQL", n, push_secs, started.elapsed().as_secs_f64());
}
