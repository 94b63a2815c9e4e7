//! Push throughput: `TRUEUP_BENCH_ROWS` (default 100 000) approved updates
//! pushed to SQLite and to PostgreSQL, with every guarantee on (journal,
//! conditional writes, baseline), against two ceilings: a plain
//! single-transaction `UPDATE` of the same rows (for PostgreSQL also as one
//! statement: row by row, the push's own batches beat it), and the bulk
//! load the issue names (a single-transaction `INSERT` of the same rows for SQLite,
//! `COPY … FROM STDIN` — what `psql \copy` sends — for PostgreSQL);
//! batches of the target's own size unless `TRUEUP_BENCH_BATCH` is set.
//! Ignored by default:
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

/// Prints the push against each ceiling: (what it is, seconds).
fn report(target: &str, n: usize, push_secs: f64, ceilings: &[(&str, f64)]) {
    let push = n as f64 / push_secs;
    eprintln!("{target}: push {n} changes in {push_secs:.2} s = {push:.0} rows/s");
    for (what, secs) in ceilings {
        let ceiling = n as f64 / secs;
        eprintln!(
            "  ceiling {what}: {secs:.3} s = {ceiling:.0} rows/s; push = {:.1}% of it \
             (25% allows {:.3} s)",
            100.0 * push / ceiling,
            secs * 4.0
        );
    }
}

/// Pulls, reconciles, approves every proposal of `kind` (update or
/// create), and times the push.
fn push_all(run: &dyn Fn(&[&str]) -> std::process::Output, n: usize, kind: &str) -> f64 {
    ok(run(&["reconcile", "--pull", "c"]));
    ok(run(&["approve", "c", "--all", "--kind", kind]));
    // The target's own batch size unless `TRUEUP_BENCH_BATCH` says otherwise.
    let batch = std::env::var("TRUEUP_BENCH_BATCH").ok();
    let mut args = vec!["--json", "push", "c"];
    if let Some(b) = &batch {
        args.extend(["--batch-size", b.as_str()]);
    }
    eprintln!(
        "batch size: {}",
        batch.as_deref().unwrap_or("the target's default")
    );
    let started = Instant::now();
    let out = ok(run(&args));
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
    seed_contacts(&ws.path().join("crm.db"), n);
    let push_secs = push_all(&|a| ws.run(a), n, "update");
    report(
        "SQLite",
        n,
        push_secs,
        &[
            (
                "plain single-transaction UPDATE",
                sqlite_ceiling(&ws.path().join("ceiling.db"), n),
            ),
            (
                "plain single-transaction INSERT",
                sqlite_insert_ceiling(&ws.path().join("inserted.db"), n),
            ),
        ],
    );
}

/// A SQLite target of `n` contacts, each with its old e-mail.
fn seed_contacts(path: &std::path::Path, n: usize) {
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
}

/// The ceiling, in seconds: the same `n` updates to a fresh SQLite target
/// at `path` in one transaction, no checks, no journal.
fn sqlite_ceiling(path: &std::path::Path, n: usize) -> f64 {
    seed_contacts(path, n);
    let mut conn = rusqlite::Connection::open(path).unwrap();
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
    started.elapsed().as_secs_f64()
}

/// The bulk-load ceiling, in seconds: the same `n` rows (values of the
/// same length) inserted into a fresh table at `path` in one transaction,
/// prepared statement, key order; opening the file and creating the table
/// included (a few milliseconds).
fn sqlite_insert_ceiling(path: &std::path::Path, n: usize) -> f64 {
    let started = Instant::now();
    seed_contacts(path, n);
    started.elapsed().as_secs_f64()
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture, preferably --release"]
fn bench_push_to_postgres() {
    let Some((n, cfg, mut client)) = pg_bench("bench") else {
        return;
    };
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
    let ws = pg_workspace(&cfg, n);
    let push_secs = push_all(&|a| pg_run(&ws, a), n, "update");
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
    let update_secs = started.elapsed().as_secs_f64();
    // The same updates as one statement, the rows sent as two text arrays.
    seed(&mut client, "ceiling_set");
    let started = Instant::now();
    {
        let nos: Vec<String> = (0..n).map(|i| format!("C{i:07}")).collect();
        let emails: Vec<String> = (0..n).map(|i| format!("p{i}@new.org")).collect();
        let mut tx = client.transaction().unwrap();
        tx.execute(
            "UPDATE ceiling_set SET email = v.email FROM unnest($1::text[], $2::text[]) AS v(no, email) \
             WHERE ceiling_set.no = v.no",
            &[&nos, &emails],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let set_secs = started.elapsed().as_secs_f64();
    let copy_secs = pg_copy_ceiling(&mut client, n);
    report(
        "PostgreSQL",
        n,
        push_secs,
        &[
            (
                "single-transaction UPDATE, row by row (earlier stops' reference)",
                update_secs,
            ),
            ("single-transaction UPDATE, one statement", set_secs),
            ("COPY FROM STDIN (psql \\copy)", copy_secs),
        ],
    );
}

/// The row count, a fresh database `hint` on the test server and a client;
/// `None` when PostgreSQL is not installed.
fn pg_bench(
    hint: &str,
) -> Option<(
    usize,
    trueup::connectors::postgres::PgConfig,
    postgres::Client,
)> {
    let server = pg::server()?;
    let cfg = server.database(hint);
    let client = server.client(&cfg);
    Some((rows(), cfg, client))
}

/// A workspace pushing the left CSV of `n` rows to the PostgreSQL
/// database `cfg` (table `contacts`).
fn pg_workspace(cfg: &trueup::connectors::postgres::PgConfig, n: usize) -> TempWorkspace {
    let config = format!(
        "[systems.erp]\nkind = \"csv\"\npath = \"left.csv\"\n\n[systems.crm]\nkind = \"postgres\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\ndatabase = \"{}\"\npassword = {{ env = \"TRUEUP_BENCH_PG_PASSWORD\" }}\n{FIELDS}",
        cfg.host, cfg.port, cfg.user, cfg.database
    );
    TempWorkspace::new(&config, &[("left.csv", &left_csv(n))])
}

/// Runs `trueup` in a [`pg_workspace`].
fn pg_run(ws: &TempWorkspace, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_trueup"))
        .arg("-w")
        .arg(ws.path())
        .args(args)
        .env("USER", "tester")
        .env("TRUEUP_BENCH_PG_PASSWORD", pg::PASSWORD)
        .output()
        .unwrap()
}

/// The bulk-load ceiling, in seconds: what `psql \copy` does, the same
/// `n` rows sent as CSV to `COPY … FROM STDIN` into a fresh table.
fn pg_copy_ceiling(client: &mut postgres::Client, n: usize) -> f64 {
    client
        .batch_execute("CREATE TABLE copied (no text PRIMARY KEY, name text, email text)")
        .unwrap();
    let started = Instant::now();
    {
        use std::io::Write as _;
        let mut copy = client
            .copy_in("COPY copied FROM STDIN (FORMAT csv)")
            .unwrap();
        let mut csv = Vec::with_capacity(n * 32);
        for i in 0..n {
            writeln!(csv, "C{i:07},Name {i},p{i}@new.org").unwrap();
        }
        copy.write_all(&csv).unwrap();
        copy.finish().unwrap();
    }
    started.elapsed().as_secs_f64()
}

/// `n` approved creates pushed to an empty PostgreSQL table (its key
/// mapped, so each insert carries it), against `COPY` of the same rows.
#[test]
#[ignore = "benchmark: run with --ignored --nocapture, preferably --release"]
fn bench_push_creates_to_postgres() {
    let Some((n, cfg, mut client)) = pg_bench("bench_creates") else {
        return;
    };
    client
        .batch_execute("CREATE TABLE contacts (no text PRIMARY KEY, name text, email text)")
        .unwrap();
    let ws = pg_workspace(&cfg, n);
    let push_secs = push_all(&|a| pg_run(&ws, a), n, "create");
    report(
        "PostgreSQL, creates",
        n,
        push_secs,
        &[(
            "COPY FROM STDIN (psql \\copy)",
            pg_copy_ceiling(&mut client, n),
        )],
    );
}

/// The least the guarantees cost on SQLite, written as bare set-based SQL
/// with no Trueup code at all, against the same 25 % target: the approved
/// values and before-image read from one table (no join), journaled in one
/// transaction (an entry per change: idempotency key, values, their hash,
/// before-image, state), each batch of 10 000 moved to `sending` and
/// committed before the target's conditional writes, then to `applied`
/// with the baseline (one statement per batch) and the cached target
/// record (row by row) moved, committed. Values are plain columns (no JSON), the
/// journal's state lives in its own narrow table, the idempotency key is
/// sequential; nothing is validated or reported. Prints each
/// phase, their sum, and the sum if the journal's bookkeeping ran entirely
/// beside the target's writes (two threads, perfect overlap).
#[test]
#[ignore = "benchmark: run with --ignored --nocapture, preferably --release"]
fn bench_sqlite_guarantee_floor() {
    let n = rows() as i64;
    let batch = 10_000i64;
    let dir = tempfile::tempdir().unwrap();
    let cache = floor_cache(dir.path(), n);
    cache
        .execute_batch(
            "CREATE TABLE journal (id INTEGER PRIMARY KEY, push_id INTEGER NOT NULL, decision_id INTEGER NOT NULL,
                 idempotency_key TEXT NOT NULL UNIQUE, match_key TEXT NOT NULL, no TEXT NOT NULL,
                 email_new TEXT NOT NULL, values_hash TEXT NOT NULL, email_old TEXT NOT NULL);
             CREATE TABLE journal_state (id INTEGER PRIMARY KEY, state TEXT NOT NULL,
                 attempts INTEGER NOT NULL, updated_at TEXT NOT NULL);",
        )
        .unwrap();
    seed_contacts(&dir.path().join("crm.db"), n as usize);
    let target = rusqlite::Connection::open(dir.path().join("crm.db")).unwrap();
    let now = "2026-11-25T17:38:04.444Z";
    let started = Instant::now();
    // 1. Plan read and journal, one transaction.
    {
        let tx = cache.unchecked_transaction().unwrap();
        tx.execute(
            "INSERT INTO journal SELECT id, 1, id, printf('tu-%012d', id), match_key, no, email_new, values_hash, email_old \
             FROM decisions ORDER BY id",
            [],
        )
        .unwrap();
        tx.execute(
            "INSERT INTO journal_state SELECT id, 'pending', 0, ?1 FROM journal",
            [now],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let journaled = started.elapsed().as_secs_f64();
    let (mut sending, mut writes, mut recording) = (0.0, 0.0, 0.0);
    let mut first = 1i64;
    while first <= n {
        let last = (first + batch - 1).min(n);
        // 2. The batch is `sending`, durably, before anything is sent.
        let t = Instant::now();
        let tx = cache.unchecked_transaction().unwrap();
        tx.execute(
            "UPDATE journal_state SET state = 'sending', attempts = attempts + 1, updated_at = ?3 WHERE id BETWEEN ?1 AND ?2",
            (first, last, now),
        )
        .unwrap();
        tx.commit().unwrap();
        sending += t.elapsed().as_secs_f64();
        // 3. The target's conditional writes, from the journaled values.
        let t = Instant::now();
        let ttx = target.unchecked_transaction().unwrap();
        {
            let mut read = cache
                .prepare_cached(
                    "SELECT no, email_new, email_old FROM journal WHERE id BETWEEN ?1 AND ?2",
                )
                .unwrap();
            let mut up = ttx
                .prepare_cached("UPDATE contacts SET email = ?2 WHERE no = ?1 AND email = ?3")
                .unwrap();
            let mut rows = read.query((first, last)).unwrap();
            while let Some(r) = rows.next().unwrap() {
                let changed = up
                    .execute((
                        r.get_ref(0).unwrap().as_str().unwrap(),
                        r.get_ref(1).unwrap().as_str().unwrap(),
                        r.get_ref(2).unwrap().as_str().unwrap(),
                    ))
                    .unwrap();
                assert_eq!(changed, 1);
            }
        }
        ttx.commit().unwrap();
        writes += t.elapsed().as_secs_f64();
        // 4. Outcomes and baselines, one transaction.
        let t = Instant::now();
        let tx = cache.unchecked_transaction().unwrap();
        tx.execute(
            "UPDATE journal_state SET state = 'applied', updated_at = ?3 WHERE id BETWEEN ?1 AND ?2",
            (first, last, now),
        )
        .unwrap();
        tx.execute(
            "INSERT INTO baselines SELECT match_key, json_object('no', no, 'email', email_new) FROM journal \
             WHERE id BETWEEN ?1 AND ?2 \
             ON CONFLICT (match_key) DO UPDATE SET vals = json_patch(vals, excluded.vals)",
            (first, last),
        )
        .unwrap();
        {
            // Row by row: SQLite runs `UPDATE … FROM` by materialising the join (twice as slow).
            let mut read = tx
                .prepare_cached(
                    "SELECT no, email_old, email_new FROM journal WHERE id BETWEEN ?1 AND ?2",
                )
                .unwrap();
            let mut record = tx
                .prepare_cached("UPDATE records SET vals = replace(vals, ?2, ?3) WHERE key = ?1")
                .unwrap();
            let mut rows = read.query((first, last)).unwrap();
            while let Some(r) = rows.next().unwrap() {
                let text = |i| r.get_ref(i).unwrap().as_str().unwrap();
                assert_eq!(record.execute((text(0), text(1), text(2))).unwrap(), 1);
            }
        }
        tx.commit().unwrap();
        recording += t.elapsed().as_secs_f64();
        first = last + 1;
    }
    let total = started.elapsed().as_secs_f64();
    let ceiling = sqlite_ceiling(&dir.path().join("ceiling.db"), n as usize);
    floor_report(
        "one journal row per change",
        n,
        batch,
        [journaled, sending, writes, recording, total],
        ceiling,
    );
}

/// Prints a floor's phases, `[journal, sending, writes, recording,
/// total]` in seconds, against the `ceiling` and the 25 % target.
fn floor_report(design: &str, n: i64, batch: i64, phases: [f64; 5], ceiling: f64) {
    let [journaled, sending, writes, recording, total] = phases;
    let overlapped = journaled + writes.max(sending + recording);
    let budget = ceiling * 4.0;
    eprintln!(
        "SQLite floor of the guarantees ({design}), {n} changes, batch {batch} (bare SQL, no Trueup code):\n  \
         journal the plan {journaled:.3} s\n  `sending` commits {sending:.3} s\n  target writes {writes:.3} s\n  \
         `applied` + baselines + cached records {recording:.3} s\n  one thread: {total:.3} s = {:.0}% of the ceiling\n  \
         bookkeeping fully beside the writes: {overlapped:.3} s = {:.0}% of the ceiling\n  \
         ceiling (plain single-transaction UPDATE) {ceiling:.3} s; the 25% target allows {budget:.3} s",
        100.0 * ceiling / total,
        100.0 * ceiling / overlapped,
    );
}

/// A cache for the floors: `n` approved decisions with plain columns
/// (match key, id, new and old e-mail, values hash), a baseline each, and
/// the cached target record each (which an applied change updates, so the
/// next reconcile shows it in sync: the issue's point 9).
fn floor_cache(dir: &std::path::Path, n: i64) -> rusqlite::Connection {
    let cache = rusqlite::Connection::open(dir.join("cache.db")).unwrap();
    cache
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -65536;
             PRAGMA mmap_size = 1073741824; PRAGMA wal_autocheckpoint = 16384;
             CREATE TABLE decisions (id INTEGER PRIMARY KEY, match_key TEXT NOT NULL, no TEXT NOT NULL,
                 email_new TEXT NOT NULL, email_old TEXT NOT NULL, values_hash TEXT NOT NULL);
             CREATE TABLE baselines (match_key TEXT PRIMARY KEY, vals TEXT NOT NULL) WITHOUT ROWID;
             CREATE TABLE records (key TEXT PRIMARY KEY, vals TEXT NOT NULL) WITHOUT ROWID;",
        )
        .unwrap();
    {
        let tx = cache.unchecked_transaction().unwrap();
        let mut ins = tx
            .prepare("INSERT INTO decisions VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .unwrap();
        let mut base = tx.prepare("INSERT INTO baselines VALUES (?1, ?2)").unwrap();
        let mut record = tx.prepare("INSERT INTO records VALUES (?1, ?2)").unwrap();
        for i in 0..n {
            let key = format!("c{i:07}");
            ins.execute((
                i + 1,
                &key,
                format!("C{i:07}"),
                format!("p{i}@new.org"),
                format!("p{i}@old.org"),
                format!("{:064x}", i * 7919),
            ))
            .unwrap();
            base.execute((
                &key,
                format!("{{\"no\":\"C{i:07}\",\"name\":\"Name {i}\"}}"),
            ))
            .unwrap();
            // The cached target record, packed (fields joined by the unit separator).
            record
                .execute((
                    format!("C{i:07}"),
                    format!("C{i:07}\u{1f}Name {i}\u{1f}p{i}@old.org"),
                ))
                .unwrap();
        }
        drop((ins, base, record));
        tx.commit().unwrap();
    }
    cache
}

/// The floor again with the most favourable journal there could be: one
/// journal row per batch, holding the batch's entries (idempotency key,
/// match key, record, values, their hash, before-image) as text, so a
/// batch's state changes are one row each. Everything else as in
/// [`bench_sqlite_guarantee_floor`]; the target's writes come from the
/// plan in memory (as journaled).
#[test]
#[ignore = "benchmark: run with --ignored --nocapture, preferably --release"]
fn bench_sqlite_batch_journal_floor() {
    use std::fmt::Write as _;
    let n = rows() as i64;
    let batch = 10_000i64;
    let dir = tempfile::tempdir().unwrap();
    let cache = floor_cache(dir.path(), n);
    cache
        .execute_batch(
            "CREATE TABLE journal_batches (id INTEGER PRIMARY KEY, push_id INTEGER NOT NULL,
                 entries TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL, updated_at TEXT NOT NULL);",
        )
        .unwrap();
    seed_contacts(&dir.path().join("crm.db"), n as usize);
    let target = rusqlite::Connection::open(dir.path().join("crm.db")).unwrap();
    let now = "2026-11-25T17:38:04.444Z";
    let started = Instant::now();
    // 1. The plan read into memory, journaled one row per batch, one transaction.
    type Planned = (i64, String, String, String, String, String);
    let plan: Vec<Planned> = cache
        .prepare("SELECT id, match_key, no, email_new, email_old, values_hash FROM decisions ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    {
        let tx = cache.unchecked_transaction().unwrap();
        let mut ins = tx
            .prepare("INSERT INTO journal_batches VALUES (?1, 1, ?2, 'pending', 0, ?3)")
            .unwrap();
        for (k, chunk) in plan.chunks(batch as usize).enumerate() {
            let mut entries = String::with_capacity(chunk.len() * 128);
            for (id, key, no, new, old, hash) in chunk {
                let _ = writeln!(entries, "tu-{id:012}\t{key}\t{no}\t{new}\t{hash}\t{old}");
            }
            ins.execute((k as i64 + 1, entries, now)).unwrap();
        }
        drop(ins);
        tx.commit().unwrap();
    }
    let journaled = started.elapsed().as_secs_f64();
    let (mut sending, mut writes, mut recording) = (0.0, 0.0, 0.0);
    for (k, chunk) in plan.chunks(batch as usize).enumerate() {
        let k = k as i64 + 1;
        // 2. The batch is `sending`, durably, before anything is sent.
        let t = Instant::now();
        cache
            .execute(
                "UPDATE journal_batches SET state = 'sending', attempts = attempts + 1, updated_at = ?2 WHERE id = ?1",
                (k, now),
            )
            .unwrap();
        sending += t.elapsed().as_secs_f64();
        // 3. The target's conditional writes.
        let t = Instant::now();
        let ttx = target.unchecked_transaction().unwrap();
        {
            let mut up = ttx
                .prepare_cached("UPDATE contacts SET email = ?2 WHERE no = ?1 AND email = ?3")
                .unwrap();
            for (_, _, no, new, old, _) in chunk {
                assert_eq!(up.execute((no, new, old)).unwrap(), 1);
            }
        }
        ttx.commit().unwrap();
        writes += t.elapsed().as_secs_f64();
        // 4. `applied` and the baselines, one transaction.
        let t = Instant::now();
        let tx = cache.unchecked_transaction().unwrap();
        tx.execute(
            "UPDATE journal_batches SET state = 'applied', updated_at = ?2 WHERE id = ?1",
            (k, now),
        )
        .unwrap();
        {
            let mut base = tx
                .prepare_cached(
                    "INSERT INTO baselines VALUES (?1, json_object('no', ?2, 'email', ?3)) \
                     ON CONFLICT (match_key) DO UPDATE SET vals = json_patch(vals, excluded.vals)",
                )
                .unwrap();
            let mut record = tx
                .prepare_cached("UPDATE records SET vals = replace(vals, ?2, ?3) WHERE key = ?1")
                .unwrap();
            for (_, key, no, new, old, _) in chunk {
                base.execute((key, no, new)).unwrap();
                assert_eq!(record.execute((no, old, new)).unwrap(), 1);
            }
        }
        tx.commit().unwrap();
        recording += t.elapsed().as_secs_f64();
    }
    let total = started.elapsed().as_secs_f64();
    let ceiling = sqlite_ceiling(&dir.path().join("ceiling.db"), n as usize);
    floor_report(
        "one journal row per batch",
        n,
        batch,
        [journaled, sending, writes, recording, total],
        ceiling,
    );
}
