//! Failures while pushing, against a real SQLite target: a connector wrapper
//! injects them around the real writes. Passing failures are retried (with
//! a re-read first, so a write that was applied before the failure is not
//! applied twice); permanent ones are not; a real lock is ridden out.

mod support;

#[path = "support/target.rs"]
mod target;

#[path = "support/faulty.rs"]
mod faulty;

use std::collections::BTreeMap;
use std::time::Duration;

use faulty::{Fault, Faulty};
use support::ok;
use target::{audit, rows};
use trueup::connectors::sqlite::SqliteSystem;
use trueup::connectors::{
    Capabilities, ConnectionInfo, Connector, EntitySource, Field, RecordSink, WriteChange,
    WriteOutcome,
};
use trueup::progress::{Actor, Silent};
use trueup::push::{PushMode, PushOptions, RetryPolicy, State, push_with};
use trueup::{ErrorCode, Workspace};

fn fast(max_retries: usize) -> PushOptions {
    PushOptions {
        retry: RetryPolicy {
            max_retries,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(40),
        },
        ..Default::default()
    }
}

fn actor() -> Actor {
    Actor {
        who: "tester".into(),
        origin: "test".into(),
    }
}

/// One approved update of C2's email, ready to push.
fn one_update() -> support::TempWorkspace {
    let ws = target::workspace(
        "id,no,name,email\n2,C2,Bob,bob@new.org\n",
        &[("C2", "Bob", "bob@old.org")],
    );
    ok(ws.run(&["reconcile", "--pull", "c"]));
    ok(ws.run(&["approve", "c", "C2"]));
    ws
}

fn faulty(ws: &support::TempWorkspace, faults: &[Fault]) -> Faulty {
    Faulty::new(
        SqliteSystem::new("crm".into(), ws.path().join("crm.db")),
        faults,
    )
}

fn push(
    ws: &support::TempWorkspace,
    connector: &mut dyn Connector,
    options: PushOptions,
) -> trueup::push::PushReport {
    let mut w = Workspace::open(ws.path()).unwrap();
    push_with(
        &mut w,
        "c",
        connector,
        &options,
        "2026-01-01T00:00:00Z",
        &actor(),
        &Silent::default(),
    )
    .unwrap()
}

#[test]
fn passing_failures_are_retried_until_applied() {
    let ws = one_update();
    let mut c = faulty(
        &ws,
        &[
            Fault::Before(ErrorCode::Transient),
            Fault::Before(ErrorCode::Network),
        ],
    );
    let r = push(&ws, &mut c, fast(5));
    let e = &r.entries[0];
    assert_eq!(e.state, State::Applied, "{e:?}");
    assert_eq!(e.attempts, 3, "two failed tries, then the one that worked");
    assert_eq!(audit(ws.path()).len(), 1, "applied once");
}

#[test]
fn permanent_failures_are_not_retried_and_say_why() {
    let ws = one_update();
    let mut c = faulty(&ws, &[Fault::Before(ErrorCode::Auth)]);
    let r = push(&ws, &mut c, fast(5));
    let e = &r.entries[0];
    assert_eq!(e.state, State::Rejected);
    assert_eq!(e.category.map(|c| c.as_str()), Some("auth"));
    assert!(e.message.as_deref().unwrap().contains("injected Auth"));
    assert_eq!(c.writes, 1, "an auth failure is not retried");
    assert!(audit(ws.path()).is_empty());
}

#[test]
fn a_target_that_applies_then_fails_gets_exactly_one_effect() {
    let ws = one_update();
    // The write commits, then the connection "breaks" before the answer.
    let mut c = faulty(&ws, &[Fault::After(ErrorCode::Network)]);
    let r = push(&ws, &mut c, fast(5));
    let e = &r.entries[0];
    assert_eq!(
        e.state,
        State::Applied,
        "the re-read finds it applied: {e:?}"
    );
    assert_eq!(c.writes, 1, "not written a second time");
    assert_eq!(audit(ws.path()).len(), 1, "exactly one effect");
}

#[test]
fn an_undetermined_outcome_is_unknown_and_retry_failed_rereads_before_sending() {
    let ws = one_update();
    // No retries allowed: the lost answer leaves the outcome undetermined.
    let mut c = faulty(&ws, &[Fault::After(ErrorCode::Network)]);
    let r = push(&ws, &mut c, fast(0));
    assert_eq!(r.entries[0].state, State::Unknown, "{:?}", r.entries[0]);
    assert_eq!(audit(ws.path()).len(), 1);
    // A plain push does not resend it.
    let mut c = faulty(&ws, &[]);
    let r = push(&ws, &mut c, fast(0));
    assert!(
        r.entries.is_empty(),
        "unknown entries are never silently resent"
    );
    assert_eq!(c.writes, 0);
    // --retry-failed re-reads, finds our values, and does not write again.
    let mut c = faulty(&ws, &[]);
    let r = push(
        &ws,
        &mut c,
        PushOptions {
            mode: PushMode::RetryFailed,
            ..fast(0)
        },
    );
    assert_eq!(r.entries[0].state, State::Applied, "{:?}", r.entries[0]);
    assert_eq!(c.writes, 0, "confirmed by re-reading, not by writing");
    assert_eq!(audit(ws.path()).len(), 1, "still exactly one effect");
}

#[test]
fn a_locked_sqlite_target_is_retried_with_backoff() {
    let ws = one_update();
    let path = ws.path().join("crm.db");
    // Another program holds the write lock for a while.
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let cache = ws.path().join("trueup.db");
    let release = std::thread::spawn(move || {
        // Held until the push is sending (whatever the machine's load), and
        // then for longer than one busy timeout.
        let journal = rusqlite::Connection::open(&cache).unwrap();
        let started = std::time::Instant::now();
        while journal
            .query_row(
                "SELECT count(*) FROM journal WHERE state = 'sending'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap_or(0)
            == 0
            && started.elapsed() < Duration::from_secs(30)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(300));
        holder.execute_batch("COMMIT").unwrap();
    });
    let mut sys =
        SqliteSystem::new("crm".into(), path).with_busy_timeout(Duration::from_millis(20));
    let r = push(
        &ws,
        &mut sys,
        PushOptions {
            retry: RetryPolicy {
                max_retries: 30,
                min_delay: Duration::from_millis(20),
                max_delay: Duration::from_millis(100),
            },
            ..Default::default()
        },
    );
    release.join().unwrap();
    let e = &r.entries[0];
    assert_eq!(e.state, State::Applied, "{e:?}");
    assert!(e.attempts > 1, "the lock was ridden out by retries: {e:?}");
    assert_eq!(rows(ws.path())[0].2.as_deref(), Some("bob@new.org"));
    assert_eq!(audit(ws.path()).len(), 1);
}

#[test]
fn a_lock_that_never_goes_is_a_transient_failure_to_retry_later() {
    let ws = one_update();
    let path = ws.path().join("crm.db");
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut sys =
        SqliteSystem::new("crm".into(), path).with_busy_timeout(Duration::from_millis(10));
    let r = push(&ws, &mut sys, fast(2));
    let e = &r.entries[0];
    assert_eq!(e.state, State::Rejected, "{e:?}");
    assert_eq!(e.category.map(|c| c.as_str()), Some("transient"));
    assert!(e.message.as_deref().unwrap().contains("locked"), "{e:?}");
    holder.execute_batch("ROLLBACK").unwrap();
    let report = support::stdout(&ws.run(&["--json", "push", "c", "--retry-failed"]));
    let v: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(v["entries"][0]["state"], "applied", "{v}");
    assert_eq!(audit(ws.path()).len(), 1);
}

/// A target whose ids the database assigns (`id INTEGER PRIMARY KEY`, not
/// mapped from the source), with two new records to create.
fn assigned_ids() -> support::TempWorkspace {
    let config = target::CONFIG.replace(
        "table = \"contacts\"\nid = [\"no\"]",
        "table = \"accounts\"\nid = [\"id\"]",
    );
    let ws = support::TempWorkspace::new(
        &config,
        &[(
            "left.csv",
            "id,no,name,email\n1,C1,Ada,ada@x.org\n2,C2,Bob,bob@x.org\n",
        )],
    );
    let conn = rusqlite::Connection::open(ws.path().join("crm.db")).unwrap();
    conn.execute_batch(
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, no TEXT, name TEXT, email TEXT);",
    )
    .unwrap();
    drop(conn);
    ok(ws.run(&["reconcile", "--pull", "c"]));
    ok(ws.run(&["approve", "c", "--all"]));
    ws
}

fn account_count(ws: &support::TempWorkspace) -> i64 {
    rusqlite::Connection::open(ws.path().join("crm.db"))
        .unwrap()
        .query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn ids_assigned_by_the_target_are_written_back() {
    let ws = assigned_ids();
    let out = ok(ws.run(&["--json", "push", "c"]));
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<&str> = r["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["target_id"][0][1].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1", "2"], "the target's ids come back: {r}");
    let res = ws.path().join("res");
    ok(ws.run(&["push-results", "c", "--out-dir", res.to_str().unwrap()]));
    let success = std::fs::read_to_string(res.join("success.csv")).unwrap();
    assert!(
        success.contains(",id=1,") && success.contains(",id=2,"),
        "{success}"
    );
}

#[test]
fn an_interrupted_create_without_a_stable_id_is_unknown_never_resent() {
    let ws = assigned_ids();
    // The first create commits, then the answer is lost: its id is unknown.
    let mut c = faulty(&ws, &[Fault::After(ErrorCode::Network)]);
    // One change per batch: a failed batch leaves every create in it without
    // a stable id undetermined, as the target may have applied any of them.
    let r = push(
        &ws,
        &mut c,
        PushOptions {
            batch_size: Some(1),
            ..fast(3)
        },
    );
    let states: Vec<State> = r.entries.iter().map(|e| e.state).collect();
    assert_eq!(
        states,
        [State::Unknown, State::Applied],
        "the lost create cannot be found again; the next one goes through"
    );
    assert!(
        states.contains(&State::Unknown),
        "the lost create cannot be found again: {states:?}"
    );
    let unknown = r
        .entries
        .iter()
        .find(|e| e.state == State::Unknown)
        .unwrap();
    assert!(
        unknown.message.as_deref().unwrap().contains("cannot tell"),
        "{unknown:?}"
    );
    assert_eq!(account_count(&ws), 2, "both created once, none twice");
    // Later pushes do not resend it.
    let mut c = faulty_on(&ws, "crm.db");
    let r = push(&ws, &mut c, fast(3));
    assert!(r.entries.is_empty(), "{:?}", r.entries);
    assert_eq!(c.writes, 0);
    assert_eq!(account_count(&ws), 2);
}

fn faulty_on(ws: &support::TempWorkspace, db: &str) -> Faulty {
    Faulty::new(SqliteSystem::new("crm".into(), ws.path().join(db)), &[])
}

/// A real connector that looks at the journal whenever it is asked to write:
/// the counts per state, and the states of the entries being sent.
struct Spy {
    inner: SqliteSystem,
    cache: std::path::PathBuf,
    seen: Vec<BTreeMap<String, i64>>,
    sent_states: Vec<Vec<String>>,
}

impl Spy {
    fn look(&mut self, changes: &[WriteChange]) {
        let conn = rusqlite::Connection::open(&self.cache).unwrap();
        let states = changes
            .iter()
            .map(|c| {
                conn.query_row(
                    "SELECT state FROM journal WHERE record = ?1",
                    [serde_json::to_string(&c.id).unwrap()],
                    |r| r.get(0),
                )
                .unwrap()
            })
            .collect();
        self.sent_states.push(states);
        let mut stmt = conn
            .prepare("SELECT state, count(*) FROM journal GROUP BY state")
            .unwrap();
        let counts = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<BTreeMap<String, i64>, _>>()
            .unwrap();
        self.seen.push(counts);
    }
}

impl Connector for Spy {
    fn check(&mut self) -> trueup::Result<ConnectionInfo> {
        self.inner.check()
    }
    fn read(&mut self, source: &EntitySource, sink: &mut dyn RecordSink) -> trueup::Result<()> {
        self.inner.read(source, sink)
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn read_one(
        &mut self,
        source: &EntitySource,
        id: &[Field],
    ) -> trueup::Result<Option<Vec<Field>>> {
        self.inner.read_one(source, id)
    }
    fn write(
        &mut self,
        source: &EntitySource,
        change: &WriteChange,
    ) -> trueup::Result<WriteOutcome> {
        self.look(std::slice::from_ref(change));
        self.inner.write(source, change)
    }
    fn write_batch(
        &mut self,
        source: &EntitySource,
        changes: &[WriteChange],
    ) -> trueup::Result<Vec<WriteOutcome>> {
        self.look(changes);
        self.inner.write_batch(source, changes)
    }
}

#[test]
fn every_change_is_journaled_before_anything_is_sent() {
    let left: String = std::iter::once("id,no,name,email\n".to_string())
        .chain((0..7).map(|i| format!("{i},C{i},N{i},p{i}@new.org\n")))
        .collect();
    let right: Vec<(String, String, String)> = (0..7)
        .map(|i| (format!("C{i}"), format!("N{i}"), format!("p{i}@old.org")))
        .collect();
    let refs: Vec<(&str, &str, &str)> = right
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    let ws = target::workspace(&left, &refs);
    ok(ws.run(&["reconcile", "--pull", "c"]));
    ok(ws.run(&["approve", "c", "--all"]));
    let mut spy = Spy {
        inner: SqliteSystem::new("crm".into(), ws.path().join("crm.db")),
        cache: ws.path().join("trueup.db"),
        seen: vec![],
        sent_states: vec![],
    };
    let r = push(
        &ws,
        &mut spy,
        PushOptions {
            batch_size: Some(3),
            ..fast(0)
        },
    );
    assert!(r.entries.iter().all(|e| e.state == State::Applied));
    assert_eq!(spy.seen.len(), 3, "three batches of at most three");
    for (n, counts) in spy.seen.iter().enumerate() {
        let total: i64 = counts.values().sum();
        assert_eq!(
            total, 7,
            "all seven changes journaled before batch {n} was sent: {counts:?}"
        );
        assert!(
            spy.sent_states[n].iter().all(|s| s == "sending"),
            "every change of batch {n} is journaled sending before it is sent: {:?}",
            spy.sent_states[n]
        );
        // The journal records batch n−1 while the target writes batch n, and
        // moves batch n+1 to `sending` meanwhile: so batches up to n−2 are
        // recorded applied for sure, and none after n−1 can be.
        let applied = counts.get("applied").copied().unwrap_or(0);
        let recorded = 3 * n.saturating_sub(1) as i64;
        assert!(
            (recorded..=3 * n as i64).contains(&applied),
            "batches before n−1 are recorded applied, none sent later: {counts:?}"
        );
        let sending = counts.get("sending").copied().unwrap_or(0);
        assert!(
            sending <= [6, 7, 4][n],
            "only the batch being sent and the ones before and after it are sending: {counts:?}"
        );
    }
}

#[test]
fn a_target_that_stays_down_stops_the_push_and_resume_finishes_it() {
    let ws = target::workspace(
        "id,no,name,email\n1,C1,A,a@new.org\n2,C2,B,b@new.org\n3,C3,C,c@new.org\n",
        &[
            ("C1", "A", "a@old.org"),
            ("C2", "B", "b@old.org"),
            ("C3", "C", "c@old.org"),
        ],
    );
    ok(ws.run(&["reconcile", "--pull", "c"]));
    ok(ws.run(&["approve", "c", "--all"]));
    let mut down = faulty(&ws, &[Fault::Before(ErrorCode::Network); 10]);
    let r = push(
        &ws,
        &mut down,
        PushOptions {
            batch_size: Some(1),
            ..fast(2)
        },
    );
    assert!(r.stopped.is_some(), "the push stops instead of hammering");
    assert_eq!(
        down.writes, 3,
        "one change tried three times, the others not at all"
    );
    let states: Vec<State> = r.entries.iter().map(|e| e.state).collect();
    assert_eq!(states, [State::Unknown, State::Pending, State::Pending]);
    // The journal says the same as the report: the batch moved to `sending`
    // while the first one was tried, but never sent, is back to `pending`
    // with no attempt counted.
    let cache = trueup::cache::Cache::open(&ws.path().join("trueup.db")).unwrap();
    let journaled: Vec<(State, i64)> = trueup::push::recon_entries(&cache, "c")
        .unwrap()
        .iter()
        .map(|e| (e.state, e.attempts))
        .collect();
    assert_eq!(
        journaled,
        r.entries
            .iter()
            .map(|e| (e.state, e.attempts))
            .collect::<Vec<_>>(),
        "the report is what the journal holds"
    );
    assert_eq!(journaled[1..], [(State::Pending, 0), (State::Pending, 0)]);
    drop(cache);
    assert!(audit(ws.path()).is_empty());
    // The target is back: --resume sends what was left, --retry-failed the rest.
    let mut up = faulty(&ws, &[]);
    let r = push(
        &ws,
        &mut up,
        PushOptions {
            mode: PushMode::Resume,
            ..fast(2)
        },
    );
    assert_eq!(r.entries.len(), 2, "{:?}", r.entries);
    let r = push(
        &ws,
        &mut up,
        PushOptions {
            mode: PushMode::RetryFailed,
            ..fast(2)
        },
    );
    assert_eq!(r.entries[0].state, State::Applied, "re-read, then sent");
    assert_eq!(audit(ws.path()).len(), 3, "each change once");
}

#[test]
fn an_update_that_changes_the_id_is_confirmed_under_the_new_id() {
    let ws = one_update();
    ok(ws.run(&["correct", "c", "C2", "no=C2-NEW"]));
    let mut c = faulty(&ws, &[Fault::After(ErrorCode::Network)]);
    let r = push(&ws, &mut c, fast(3));
    let e = &r.entries[0];
    assert_eq!(e.state, State::Applied, "{e:?}");
    assert_eq!(
        e.target_id.as_ref().unwrap()[0].1.as_deref(),
        Some("C2-NEW"),
        "the id as it is now"
    );
    assert_eq!(c.writes, 1, "found by re-reading, not written again");
    assert_eq!(audit(ws.path()).len(), 1);
}
