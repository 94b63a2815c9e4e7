//! Failures while pushing, against a real SQLite target: a connector wrapper
//! injects them around the real writes. Passing failures are retried (with
//! a re-read first, so a write that was applied before the failure is not
//! applied twice); permanent ones are not; a real lock is ridden out.

mod support;

#[path = "support/target.rs"]
mod target;

use std::collections::VecDeque;
use std::time::Duration;

use support::ok;
use target::{audit, rows};
use trueup::connectors::sqlite::SqliteSystem;
use trueup::connectors::{
    Capabilities, ConnectionInfo, Connector, EntitySource, Field, RecordSink, WriteChange,
    WriteOutcome,
};
use trueup::progress::{Actor, Silent};
use trueup::push::{PushMode, PushOptions, RetryPolicy, State, push_with};
use trueup::{Error, ErrorCode, Workspace};

/// A failure to inject into the next write.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Fail without writing.
    Before(ErrorCode),
    /// Write, then fail as if the answer was lost.
    After(ErrorCode),
}

/// A real connector with failures injected into its writes.
struct Faulty {
    inner: SqliteSystem,
    faults: VecDeque<Fault>,
    writes: usize,
}

fn injected(code: ErrorCode) -> Error {
    Error::System {
        system: "crm".into(),
        code,
        message: format!("injected {code:?}"),
    }
}

impl Connector for Faulty {
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
        self.writes += 1;
        match self.faults.pop_front() {
            Some(Fault::Before(code)) => Err(injected(code)),
            Some(Fault::After(code)) => {
                self.inner.write(source, change)?;
                Err(injected(code))
            }
            None => self.inner.write(source, change),
        }
    }
}

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
    Faulty {
        inner: SqliteSystem::new("crm".into(), ws.path().join("crm.db")),
        faults: faults.iter().copied().collect(),
        writes: 0,
    }
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
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
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
