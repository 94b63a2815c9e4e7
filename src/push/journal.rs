//! The journal (outbox): one row per change to send, written before anything
//! is sent, moved through its states with `synchronous=FULL` so that a
//! power cut cannot lose a state change that was reported done.
//!
//! States: `pending` → `sending` (attempt n) → `applied` | `rejected` |
//! `conflict` | `unknown`. An entry left `pending` or `sending` by a crash is
//! finished by the next push (see `run`): `sending` ones are re-read from
//! the target first, never blindly resent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::cache::Cache;
use crate::connectors::{Field, WriteKind};
use crate::error::{Error, Result};
use crate::progress::Actor;
use crate::reconcile::Baseline;
use crate::records::{Value, join_key};

/// Where a journal entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Journaled, not sent yet.
    Pending,
    /// Being sent (or the process died while sending): re-read before any resend.
    Sending,
    /// The target confirmed it (or a re-read showed it there).
    Applied,
    /// The target refused it (validation, not found, permission) or it
    /// failed for good; nothing was written.
    Rejected,
    /// The target's record moved since it was pulled; nothing was written.
    Conflict,
    /// Whether it was applied cannot be told; shown, never silently resent.
    Unknown,
}

impl State {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Sending => "sending",
            State::Applied => "applied",
            State::Rejected => "rejected",
            State::Conflict => "conflict",
            State::Unknown => "unknown",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "pending" => State::Pending,
            "sending" => State::Sending,
            "applied" => State::Applied,
            "rejected" => State::Rejected,
            "conflict" => State::Conflict,
            "unknown" => State::Unknown,
            _ => return None,
        })
    }

    /// True for the states `--retry-failed` picks up.
    pub fn is_failure(self) -> bool {
        matches!(self, State::Rejected | State::Conflict | State::Unknown)
    }
}

/// The category of a failure (invariant 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A value was refused (rule, type, constraint) or the payload does not match its approval.
    Validation,
    /// Credentials refused.
    Auth,
    /// Known, but not allowed to do this.
    Permission,
    /// The record (or table, column) does not exist.
    NotFound,
    /// The record moved since it was pulled.
    Conflict,
    /// The target asked us to slow down.
    RateLimit,
    /// A passing failure (busy, locked, timeout).
    Transient,
    /// The target could not be reached, or the connection broke.
    Network,
    /// The target's answer could not be read (malformed, unexpected shape).
    Protocol,
    /// Any other error of the target, taken as permanent.
    System,
}

impl Category {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Validation => "validation",
            Category::Auth => "auth",
            Category::Permission => "permission",
            Category::NotFound => "not_found",
            Category::Conflict => "conflict",
            Category::RateLimit => "rate_limit",
            Category::Transient => "transient",
            Category::Network => "network",
            Category::Protocol => "protocol",
            Category::System => "system",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Category> {
        Some(match s {
            "validation" => Category::Validation,
            "auth" => Category::Auth,
            "permission" => Category::Permission,
            "not_found" => Category::NotFound,
            "conflict" => Category::Conflict,
            "rate_limit" => Category::RateLimit,
            "transient" => Category::Transient,
            "network" => Category::Network,
            "protocol" => Category::Protocol,
            "system" => Category::System,
            _ => return None,
        })
    }
}

/// The name of a write kind as stored.
pub fn op_str(op: WriteKind) -> &'static str {
    match op {
        WriteKind::Insert => "insert",
        WriteKind::Update => "update",
        WriteKind::Delete => "delete",
    }
}

fn parse_op(s: &str) -> WriteKind {
    match s {
        "insert" => WriteKind::Insert,
        "delete" => WriteKind::Delete,
        _ => WriteKind::Update,
    }
}

/// One journal entry.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Entry id.
    pub id: i64,
    /// The push it belongs to.
    pub push_id: i64,
    /// The reconciliation.
    pub recon: String,
    /// The proposal's match key.
    pub match_key: String,
    /// The decision it carries out (none for a rollback).
    pub decision_id: Option<i64>,
    /// The entry this one rolls back.
    pub rollback_of: Option<i64>,
    /// Stable across retries and resumes; unique in the journal.
    pub idempotency_key: String,
    /// insert, update or delete.
    pub op: WriteKind,
    /// The target record's id fields (empty: an insert whose id the target assigns).
    pub record: Vec<Field>,
    /// The values to send, exactly as approved.
    pub values: Vec<Field>,
    /// SHA-256 of `values` (equals the decision's hash).
    pub values_hash: String,
    /// The before-image: the target's values as pulled, which it must still hold.
    pub before: Vec<Field>,
    /// For a push: the baseline before it (restored by a rollback). For a
    /// rollback: the baseline it restores. Kept as the JSON stored (a
    /// [`Baseline`] object), never parsed on the way through a push.
    pub baseline_before: Option<Box<RawValue>>,
    /// Where it stands.
    pub state: State,
    /// How many times it was sent (or re-read before a resend).
    pub attempts: i64,
    /// The failure's category.
    pub category: Option<Category>,
    /// The target's own message (or ours).
    pub message: Option<String>,
    /// On a conflict: the target's current values.
    pub current: Option<Vec<Field>>,
    /// The record's id fields as the target reported them after the write.
    pub target_id: Option<Vec<Field>>,
    /// When journaled.
    pub created_at: String,
    /// Last state change.
    pub updated_at: String,
}

impl Entry {
    /// The record's id for people: id values joined by " / " (or the match key).
    pub fn display_record(&self) -> String {
        let id = self
            .target_id
            .as_ref()
            .filter(|id| !id.is_empty())
            .unwrap_or(&self.record);
        if id.is_empty() {
            return crate::records::display_key(&self.match_key);
        }
        id.iter()
            .map(|(_, v)| v.as_deref().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(" / ")
    }
}

/// An entry to journal.
#[derive(Debug, Clone)]
pub(crate) struct NewEntry {
    pub match_key: String,
    pub decision_id: Option<i64>,
    pub rollback_of: Option<i64>,
    pub idempotency_key: String,
    pub op: WriteKind,
    pub record: Vec<Field>,
    pub values: Vec<Field>,
    pub values_hash: String,
    pub before: Vec<Field>,
    pub baseline_before: Option<Box<RawValue>>,
    /// `Pending`, or `Rejected` for a change refused before sending.
    pub state: State,
    pub category: Option<Category>,
    pub message: Option<String>,
}

impl NewEntry {
    /// The entry as journaled under `id`: what reading it back would give.
    fn journaled(self, id: i64, push_id: i64, recon: &str, now: &str) -> Entry {
        Entry {
            id,
            push_id,
            recon: recon.to_string(),
            match_key: self.match_key,
            decision_id: self.decision_id,
            rollback_of: self.rollback_of,
            idempotency_key: self.idempotency_key,
            op: self.op,
            record: self.record,
            values: self.values,
            values_hash: self.values_hash,
            before: self.before,
            baseline_before: self.baseline_before,
            state: self.state,
            attempts: 0,
            category: self.category,
            message: self.message,
            current: None,
            target_id: None,
            created_at: now.to_string(),
            updated_at: now.to_string(),
        }
    }
}

/// The outcome of one attempt, to record.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub state: State,
    pub category: Option<Category>,
    pub message: Option<String>,
    pub current: Option<Vec<Field>>,
    pub target_id: Option<Vec<Field>>,
    /// A passing failure outlasted its retries: stop the push.
    pub gave_up: bool,
    /// For an applied change: its baseline after it, worked out beside the
    /// journal's thread ([`baseline_after`]) and written if the stored
    /// baseline is still the one journaled.
    pub baseline_after: Option<String>,
    /// For an applied update: its cached target record after it, worked
    /// out the same way ([`record_after`]).
    pub record_after: Option<RecordAfter>,
}

impl Outcome {
    pub fn applied(target_id: Vec<Field>, message: Option<String>) -> Outcome {
        Outcome {
            state: State::Applied,
            category: None,
            message,
            current: None,
            target_id: Some(target_id),
            gave_up: false,
            baseline_after: None,
            record_after: None,
        }
    }

    pub fn failed(state: State, category: Category, message: String) -> Outcome {
        Outcome {
            state,
            category: Some(category),
            message: Some(message),
            current: None,
            target_id: None,
            gave_up: false,
            baseline_after: None,
            record_after: None,
        }
    }

    pub fn conflict(current: Vec<Field>, message: String) -> Outcome {
        Outcome {
            state: State::Conflict,
            category: Some(Category::Conflict),
            message: Some(message),
            current: Some(current),
            target_id: None,
            gave_up: false,
            baseline_after: None,
            record_after: None,
        }
    }
}

/// Pages the write-ahead log may hold during a push before SQLite copies
/// it back into the cache file (SQLite's default is 1 000). A batch of a
/// push writes a few hundred pages; with the default, nearly every batch's
/// commit was followed by a checkpoint (two more fsyncs, and the pages
/// written twice). Durability does not depend on it: with
/// `synchronous=FULL` a commit is durable once the log is synced.
const PUSH_WAL_PAGES: i64 = 16_384;

/// Sets `synchronous=FULL` on the cache connection while it lives (and a
/// larger automatic checkpoint, see [`PUSH_WAL_PAGES`]); back to `NORMAL`
/// (and the default) when dropped.
pub(crate) struct FullSync<'c> {
    conn: &'c Connection,
}

impl<'c> FullSync<'c> {
    pub fn new(cache: &'c Cache) -> Result<FullSync<'c>> {
        cache
            .conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(|e| cache.err(e))?;
        let _ = cache
            .conn
            .pragma_update(None, "wal_autocheckpoint", PUSH_WAL_PAGES);
        Ok(FullSync { conn: &cache.conn })
    }
}

impl Drop for FullSync<'_> {
    fn drop(&mut self) {
        let _ = self.conn.pragma_update(None, "synchronous", "NORMAL");
        let _ = self.conn.pragma_update(None, "wal_autocheckpoint", 1000);
    }
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn immediate<'c>(cache: &'c Cache) -> Result<Transaction<'c>> {
    // `Connection::transaction` needs `&mut`; the unchecked form takes the
    // shared connection, which no other transaction is using meanwhile.
    let tx = Transaction::new_unchecked(&cache.conn, TransactionBehavior::Immediate)
        .map_err(|e| cache.err(e))?;
    Ok(tx)
}

/// A push's header.
#[derive(Debug, Clone, Serialize)]
pub struct PushRow {
    /// Push id.
    pub id: i64,
    /// The reconciliation.
    pub recon: String,
    /// `push` or `rollback`.
    pub kind: String,
    /// For a rollback: the push it rolls back.
    pub rollback_of: Option<i64>,
    /// `system/entity` written to.
    pub target: String,
    /// Start time.
    pub started_at: String,
    /// End time, once finished.
    pub finished_at: Option<String>,
    /// Who pushed.
    pub who: String,
    /// From where.
    pub origin: String,
}

/// Creates a push and journals its entries, in one transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) fn create_push(
    cache: &Cache,
    recon: &str,
    kind: &str,
    rollback_of: Option<i64>,
    target: &str,
    entries: Vec<NewEntry>,
    now: &str,
    actor: &Actor,
) -> Result<(i64, Vec<Entry>)> {
    let tx = immediate(cache)?;
    let e = |x: rusqlite::Error| cache.err(x);
    tx.execute(
        "INSERT INTO pushes (recon, kind, rollback_of, target, started_at, who, origin) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        (recon, kind, rollback_of, target, now, &actor.who, &actor.origin),
    )
    .map_err(e)?;
    let push_id = tx.last_insert_rowid();
    let mut journaled = Vec::with_capacity(entries.len());
    {
        let mut ins = tx
            .prepare(
                "INSERT INTO journal (push_id, recon, match_key, decision_id, rollback_of, idempotency_key, op, record, vals, \
                 values_hash, before, baseline_before, state, category, message, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16)",
            )
            .map_err(e)?;
        for n in entries {
            ins.execute(rusqlite::params![
                push_id,
                recon,
                n.match_key,
                n.decision_id,
                n.rollback_of,
                n.idempotency_key,
                op_str(n.op),
                to_json(&n.record),
                to_json(&n.values),
                n.values_hash,
                to_json(&n.before),
                n.baseline_before.as_deref().map(RawValue::get),
                n.state.as_str(),
                n.category.map(Category::as_str),
                n.message,
                now,
            ])
            .map_err(e)?;
            let id = tx.last_insert_rowid();
            journaled.push(n.journaled(id, push_id, recon, now));
        }
    }
    tx.commit().map_err(e)?;
    Ok((push_id, journaled))
}

/// Marks a push finished.
pub(crate) fn finish_push(cache: &Cache, push_id: i64, now: &str) -> Result<()> {
    cache
        .conn
        .execute(
            "UPDATE pushes SET finished_at = ?2 WHERE id = ?1",
            (push_id, now),
        )
        .map_err(|e| cache.err(e))?;
    Ok(())
}

const PUSH_SELECT: &str =
    "SELECT id, recon, kind, rollback_of, target, started_at, finished_at, who, origin FROM pushes";

fn row_to_push(r: &rusqlite::Row) -> rusqlite::Result<PushRow> {
    Ok(PushRow {
        id: r.get(0)?,
        recon: r.get(1)?,
        kind: r.get(2)?,
        rollback_of: r.get(3)?,
        target: r.get(4)?,
        started_at: r.get(5)?,
        finished_at: r.get(6)?,
        who: r.get(7)?,
        origin: r.get(8)?,
    })
}

/// A push's header, by id.
pub fn push_row(cache: &Cache, push_id: i64) -> Result<Option<PushRow>> {
    cache
        .conn
        .query_row(
            &format!("{PUSH_SELECT} WHERE id = ?1"),
            [push_id],
            row_to_push,
        )
        .optional()
        .map_err(|e| cache.err(e))
}

/// The pushes and rollbacks of `recon`, newest first (at most `limit`).
pub fn pushes(cache: &Cache, recon: &str, limit: usize) -> Result<Vec<PushRow>> {
    let mut stmt = cache
        .conn
        .prepare(&format!(
            "{PUSH_SELECT} WHERE recon = ?1 ORDER BY id DESC LIMIT ?2"
        ))
        .map_err(|e| cache.err(e))?;
    let rows = stmt
        .query_map(rusqlite::params![recon, limit as i64], row_to_push)
        .map_err(|e| cache.err(e))?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(|e| cache.err(e))
}

const SELECT: &str = "SELECT id, push_id, recon, match_key, decision_id, rollback_of, idempotency_key, op, record, vals, \
    values_hash, before, baseline_before, state, attempts, category, message, current, target_id, created_at, updated_at FROM journal";

fn parse<T: serde::de::DeserializeOwned>(s: &str) -> rusqlite::Result<T> {
    serde_json::from_str(s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn raw(s: String) -> rusqlite::Result<Box<RawValue>> {
    RawValue::from_string(s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn row_to_entry(r: &rusqlite::Row) -> rusqlite::Result<Entry> {
    let opt = |i: usize| -> rusqlite::Result<Option<String>> { r.get(i) };
    Ok(Entry {
        id: r.get(0)?,
        push_id: r.get(1)?,
        recon: r.get(2)?,
        match_key: r.get(3)?,
        decision_id: r.get(4)?,
        rollback_of: r.get(5)?,
        idempotency_key: r.get(6)?,
        op: parse_op(&r.get::<_, String>(7)?),
        record: parse(&r.get::<_, String>(8)?)?,
        values: parse(&r.get::<_, String>(9)?)?,
        values_hash: r.get(10)?,
        before: parse(&r.get::<_, String>(11)?)?,
        baseline_before: opt(12)?.map(raw).transpose()?,
        state: State::parse(&r.get::<_, String>(13)?).unwrap_or(State::Unknown),
        attempts: r.get(14)?,
        category: opt(15)?.as_deref().and_then(Category::parse),
        message: r.get(16)?,
        current: opt(17)?.map(|s| parse(&s)).transpose()?,
        target_id: opt(18)?.map(|s| parse(&s)).transpose()?,
        created_at: r.get(19)?,
        updated_at: r.get(20)?,
    })
}

fn query(cache: &Cache, where_: &str, params: impl rusqlite::Params) -> Result<Vec<Entry>> {
    let mut stmt = cache
        .conn
        .prepare(&format!("{SELECT} WHERE {where_} ORDER BY id"))
        .map_err(|e| cache.err(e))?;
    let rows = stmt
        .query_map(params, row_to_entry)
        .map_err(|e| cache.err(e))?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(|e| cache.err(e))
}

fn state_list(states: &[State]) -> String {
    states
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Entries of `recon` in one of `states`, oldest first.
pub fn entries_in_states(cache: &Cache, recon: &str, states: &[State]) -> Result<Vec<Entry>> {
    // `state <> 'applied'` lets SQLite use the partial index `journal_open`.
    let open = if states.contains(&State::Applied) {
        ""
    } else {
        "state <> 'applied' AND "
    };
    query(
        cache,
        &format!("recon = ?1 AND {open}state IN ({})", state_list(states)),
        [recon],
    )
}

/// Every entry of a push, in order.
pub fn push_entries(cache: &Cache, push_id: i64) -> Result<Vec<Entry>> {
    query(cache, "push_id = ?1", [push_id])
}

/// Every entry of `recon`, in order.
pub fn recon_entries(cache: &Cache, recon: &str) -> Result<Vec<Entry>> {
    query(cache, "recon = ?1", [recon])
}

/// Entries by id, in id order.
pub(crate) fn entries_by_id(cache: &Cache, ids: &[i64]) -> Result<Vec<Entry>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let list = chunk
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        out.extend(query(cache, &format!("id IN ({list})"), [])?);
    }
    out.sort_by_key(|e| e.id);
    Ok(out)
}

/// Decisions of `recon` that already have a journal entry.
pub(crate) fn journaled_decisions(
    cache: &Cache,
    recon: &str,
) -> Result<std::collections::HashSet<i64>> {
    let mut stmt = cache
        .conn
        .prepare("SELECT decision_id FROM journal WHERE recon = ?1 AND decision_id IS NOT NULL")
        .map_err(|e| cache.err(e))?;
    let rows = stmt
        .query_map([recon], |r| r.get(0))
        .map_err(|e| cache.err(e))?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(|e| cache.err(e))
}

/// Entries that already roll back one of `ids`.
pub(crate) fn rolled_back(cache: &Cache, push_id: i64) -> Result<std::collections::HashSet<i64>> {
    let mut stmt = cache
        .conn
        .prepare(
            "SELECT rollback_of FROM journal WHERE rollback_of IN (SELECT id FROM journal WHERE push_id = ?1)",
        )
        .map_err(|e| cache.err(e))?;
    let rows = stmt
        .query_map([push_id], |r| r.get(0))
        .map_err(|e| cache.err(e))?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(|e| cache.err(e))
}

/// Runs of consecutive ids, as `(first, last)`, in the order given.
fn id_runs(ids: impl IntoIterator<Item = i64>) -> Vec<(i64, i64)> {
    let mut runs: Vec<(i64, i64)> = Vec::new();
    for id in ids {
        match runs.last_mut() {
            Some((_, last)) if *last + 1 == id => *last = id,
            _ => runs.push((id, id)),
        }
    }
    runs
}

/// Moves entries to `sending`, one more attempt each, inside `tx`: one
/// statement per run of consecutive ids (a fresh batch is one run).
fn mark_sending_in(tx: &Connection, ids: &[i64], now: &str) -> rusqlite::Result<()> {
    let mut up = tx.prepare_cached(
        "UPDATE journal SET state = 'sending', attempts = attempts + 1, updated_at = ?3 \
         WHERE id BETWEEN ?1 AND ?2",
    )?;
    for (first, last) in id_runs(ids.iter().copied()) {
        up.execute((first, last, now))?;
    }
    Ok(())
}

/// Moves entries to `sending`, one more attempt each, in one transaction.
pub(crate) fn mark_sending(cache: &Cache, ids: &[i64], now: &str) -> Result<()> {
    let tx = immediate(cache)?;
    mark_sending_in(&tx, ids, now).map_err(|e| cache.err(e))?;
    tx.commit().map_err(|e| cache.err(e))
}

/// Counts one more attempt (a retry) of an entry already `sending`.
pub(crate) fn bump_attempt(cache: &Cache, id: i64, now: &str) -> Result<()> {
    mark_sending(cache, &[id], now)
}

/// Puts failed entries back in line: `unknown` ones as `sending` (so they
/// are re-read before anything is resent), the others as `pending`.
pub(crate) fn requeue(cache: &Cache, entries: &[Entry], now: &str) -> Result<()> {
    let tx = immediate(cache)?;
    for e in entries {
        let state = if e.state == State::Unknown {
            State::Sending
        } else {
            State::Pending
        };
        tx.execute(
            "UPDATE journal SET state = ?2, updated_at = ?3 WHERE id = ?1",
            (e.id, state.as_str(), now),
        )
        .map_err(|x| cache.err(x))?;
    }
    tx.commit().map_err(|e| cache.err(e))
}

/// Where applied changes update the cache: the right entity and its fields.
pub(crate) struct CacheTarget<'a> {
    pub right_entity: &'a str,
    pub right_fields: Option<&'a [String]>,
}

/// Records the outcomes of one batch (indexes into `entries`) and moves the
/// next batch (`next`) to `sending`, in one transaction: the batch's
/// outcomes are recorded after its target commit, and the next batch is
/// `sending` before any of it is sent. Applied entries also move the
/// baseline and the cached right record.
#[allow(clippy::too_many_arguments)]
fn record_and_send_on(
    conn: &Connection,
    path: &Path,
    entries: &[Entry],
    outcomes: &[(usize, Outcome)],
    target: &CacheTarget<'_>,
    next: &[i64],
    unsend: &[(i64, State)],
    now: &str,
) -> Result<()> {
    if outcomes.is_empty() && next.is_empty() && unsend.is_empty() {
        return Ok(());
    }
    let e = |x: rusqlite::Error| Error::cache(path, x);
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(e)?;
    record_in(&tx, entries, outcomes, target, now).map_err(e)?;
    mark_sending_in(&tx, next, now).map_err(e)?;
    if !unsend.is_empty() {
        let mut back = tx
            .prepare_cached(
                "UPDATE journal SET state = ?2, attempts = attempts - 1, updated_at = ?3 WHERE id = ?1",
            )
            .map_err(e)?;
        for (id, state) in unsend {
            back.execute((id, state.as_str(), now)).map_err(e)?;
        }
    }
    tx.commit().map_err(e)
}

/// A batch sent: its entries, and the outcome of each (by index).
pub(crate) type SentBatch = (Vec<Entry>, Vec<(usize, Outcome)>);

/// One step of the journal, for the [`Recorder`]: the outcomes of a batch
/// sent (its entries and their outcomes, by index), the ids of the next
/// batch to move to `sending`, and the entries of a batch moved to
/// `sending` but not sent after all (back to the state they were found in,
/// the attempt not counted).
pub(crate) struct Step {
    pub done: Option<SentBatch>,
    pub next: Vec<i64>,
    pub unsend: Vec<(i64, State)>,
    pub now: String,
}

/// Records journal steps on its own connection to the cache, so that a
/// push can record one batch (on another thread) while the target writes
/// the next. Same transactions, same `synchronous=FULL`.
pub(crate) struct Recorder {
    conn: Connection,
    path: PathBuf,
    right_entity: String,
    right_fields: Option<Vec<String>>,
}

impl Recorder {
    pub fn open(
        cache: &Cache,
        right_entity: &str,
        right_fields: Option<Vec<String>>,
    ) -> Result<Recorder> {
        let path = cache.path().to_path_buf();
        let e = |x: rusqlite::Error| Error::cache(&path, x);
        let conn = Connection::open(&path).map_err(e)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(e)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(e)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(e)?;
        let _ = conn.pragma_update(None, "wal_autocheckpoint", PUSH_WAL_PAGES);
        // As the cache's own connection: pages from memory, the file mapped.
        conn.pragma_update(None, "cache_size", -65536).map_err(e)?;
        conn.pragma_update(None, "mmap_size", 1i64 << 30)
            .map_err(e)?;
        Ok(Recorder {
            conn,
            path,
            right_entity: right_entity.to_string(),
            right_fields,
        })
    }

    /// Runs one step, in one transaction; gives back the batch sent with
    /// its outcomes applied (as now journaled).
    pub fn step(&self, step: Step) -> Result<Option<Vec<Entry>>> {
        let target = CacheTarget {
            right_entity: &self.right_entity,
            right_fields: self.right_fields.as_deref(),
        };
        let (entries, outcomes) = match &step.done {
            Some((entries, outcomes)) => (entries.as_slice(), outcomes.as_slice()),
            None => (&[][..], &[][..]),
        };
        record_and_send_on(
            &self.conn,
            &self.path,
            entries,
            outcomes,
            &target,
            &step.next,
            &step.unsend,
            &step.now,
        )?;
        Ok(step.done.map(|(mut entries, outcomes)| {
            for (i, o) in outcomes {
                o.apply_to(&mut entries[i], &step.now);
            }
            entries
        }))
    }
}

impl Outcome {
    /// Brings an entry in memory in line with this outcome as recorded.
    pub(crate) fn apply_to(self, e: &mut Entry, now: &str) {
        e.state = self.state;
        e.category = self.category;
        e.message = self.message;
        e.current = self.current;
        e.target_id = self.target_id;
        e.updated_at = now.to_string();
    }
}

/// True for the common outcome: applied under the journaled id, nothing to
/// say. Such entries are recorded by one statement per run of ids.
fn is_plain(entry: &Entry, o: &Outcome) -> bool {
    o.state == State::Applied
        && o.category.is_none()
        && o.message.is_none()
        && o.current.is_none()
        && o.target_id.as_ref() == Some(&entry.record)
}

fn record_in(
    tx: &Connection,
    entries: &[Entry],
    outcomes: &[(usize, Outcome)],
    target: &CacheTarget<'_>,
    now: &str,
) -> rusqlite::Result<()> {
    if outcomes.is_empty() {
        return Ok(());
    }
    // Plain applied entries: `target_id` is the journaled `record` (the same
    // JSON), set by one statement per run of consecutive ids.
    let plain = id_runs(
        outcomes
            .iter()
            .filter(|(i, o)| is_plain(&entries[*i], o))
            .map(|(i, _)| entries[*i].id),
    );
    {
        let mut up = tx.prepare_cached(
            "UPDATE journal SET state = 'applied', category = NULL, message = NULL, current = NULL, \
             target_id = record, updated_at = ?3 WHERE id BETWEEN ?1 AND ?2",
        )?;
        for (first, last) in plain {
            up.execute((first, last, now))?;
        }
    }
    let mut up = tx.prepare_cached(
        "UPDATE journal SET state = ?2, category = ?3, message = ?4, current = ?5, target_id = ?6, updated_at = ?7 WHERE id = ?1",
    )?;
    let mut records = RecordWriter::new(tx, target)?;
    let mut baselines = BaselineWriter::new(tx)?;
    for (i, o) in outcomes {
        let entry = &entries[*i];
        if !is_plain(entry, o) {
            up.execute(rusqlite::params![
                entry.id,
                o.state.as_str(),
                o.category.map(Category::as_str),
                o.message,
                o.current.as_ref().map(to_json),
                o.target_id.as_ref().map(to_json),
                now,
            ])?;
        }
        if o.state == State::Applied {
            baselines.move_to(entry, o.baseline_after.as_deref(), now)?;
            let id = o
                .target_id
                .as_ref()
                .filter(|id| !id.is_empty())
                .unwrap_or(&entry.record);
            records.refresh(entry, id, o.record_after.as_ref())?;
        }
    }
    Ok(())
}

/// Moves baselines after confirmed writes (statements prepared once per batch).
struct BaselineWriter<'t> {
    select: rusqlite::CachedStatement<'t>,
    upsert: rusqlite::CachedStatement<'t>,
    delete: rusqlite::CachedStatement<'t>,
    /// The worked-out baseline, if the stored one is still the journaled one.
    swap: rusqlite::CachedStatement<'t>,
    /// The worked-out baseline, if there was none and still is none.
    create: rusqlite::CachedStatement<'t>,
}

impl<'t> BaselineWriter<'t> {
    fn new(tx: &'t Connection) -> rusqlite::Result<Self> {
        Ok(BaselineWriter {
            select: tx
                .prepare_cached("SELECT vals FROM baselines WHERE recon = ?1 AND match_key = ?2")?,
            upsert: tx.prepare_cached(
                "INSERT INTO baselines (recon, match_key, vals, updated_at, origin) VALUES (?1, ?2, ?3, ?4, 'push') \
                 ON CONFLICT (recon, match_key) DO UPDATE SET vals = excluded.vals, updated_at = excluded.updated_at, origin = excluded.origin",
            )?,
            delete: tx
                .prepare_cached("DELETE FROM baselines WHERE recon = ?1 AND match_key = ?2")?,
            swap: tx.prepare_cached(
                "UPDATE baselines SET vals = ?3, updated_at = ?4, origin = 'push' \
                 WHERE recon = ?1 AND match_key = ?2 AND vals = ?5",
            )?,
            create: tx.prepare_cached(
                "INSERT INTO baselines (recon, match_key, vals, updated_at, origin) VALUES (?1, ?2, ?3, ?4, 'push') \
                 ON CONFLICT (recon, match_key) DO NOTHING",
            )?,
        })
    }

    fn move_to(&mut self, entry: &Entry, after: Option<&str>, now: &str) -> rusqlite::Result<()> {
        // Worked out from the baseline journaled: written if it is still the stored one.
        if let Some(after) = after {
            let written = match entry.baseline_before.as_deref() {
                Some(before) => {
                    self.swap
                        .execute((&entry.recon, &entry.match_key, after, now, before.get()))?
                }
                None => self
                    .create
                    .execute((&entry.recon, &entry.match_key, after, now))?,
            };
            if written == 1 {
                return Ok(());
            }
        }
        let new: Option<String> = if entry.rollback_of.is_some() {
            entry
                .baseline_before
                .as_deref()
                .map(|b| b.get().to_string())
        } else if entry.op == WriteKind::Delete {
            None
        } else {
            let old: Option<String> = self
                .select
                .query_row((&entry.recon, &entry.match_key), |r| r.get(0))
                .optional()?;
            Some(merged(old.as_deref(), &entry.values))
        };
        match new {
            Some(b) => self
                .upsert
                .execute((&entry.recon, &entry.match_key, b, now))?,
            None => self.delete.execute((&entry.recon, &entry.match_key))?,
        };
        Ok(())
    }
}

/// A baseline (as stored, or none) with `values` set.
fn merged(old: Option<&str>, values: &[Field]) -> String {
    let mut b: Baseline = old
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    for (f, v) in values {
        b.insert(f.clone(), v.clone());
    }
    to_json(&b)
}

/// The baseline an applied entry leaves if nobody changed it since it was
/// journaled: its `baseline_before` with its values set. `None` for a
/// rollback or a delete (they restore or remove it). Worked out on the
/// push's own thread while the journal's thread records the batch before.
pub(crate) fn baseline_after(entry: &Entry) -> Option<String> {
    if entry.rollback_of.is_some() || entry.op == WriteKind::Delete {
        return None;
    }
    Some(merged(
        entry.baseline_before.as_deref().map(RawValue::get),
        &entry.values,
    ))
}

/// Brings cached target records in line with what was written (statements
/// prepared once per batch).
struct RecordWriter<'t, 'a> {
    tx: &'t Connection,
    target: &'a CacheTarget<'a>,
    select: rusqlite::CachedStatement<'t>,
    update: rusqlite::CachedStatement<'t>,
    /// The worked-out record, if the cached one is still the one it came from.
    swap: rusqlite::CachedStatement<'t>,
}

impl<'t, 'a> RecordWriter<'t, 'a> {
    fn new(tx: &'t Connection, target: &'a CacheTarget<'a>) -> rusqlite::Result<Self> {
        Ok(RecordWriter {
            tx,
            target,
            select: tx.prepare_cached(
                "SELECT id, vals FROM records WHERE entity = ?1 AND key_hash = ?3 AND key = ?2",
            )?,
            update: tx.prepare_cached("UPDATE records SET hash = ?2, vals = ?3 WHERE id = ?1")?,
            swap: tx.prepare_cached(
                "UPDATE records SET hash = ?2, vals = ?3 WHERE id = ?1 AND vals = ?4",
            )?,
        })
    }

    fn refresh(
        &mut self,
        entry: &Entry,
        id: &[Field],
        after: Option<&RecordAfter>,
    ) -> rusqlite::Result<()> {
        if let Some(a) = after
            && self.swap.execute((a.rid, a.hash, &a.vals, &a.old))? == 1
        {
            return Ok(());
        }
        let target = self.target;
        let Some(fields) = target.right_fields else {
            return Ok(());
        };
        if id.is_empty() {
            return Ok(());
        }
        let key = join_key(id.iter().map(|(_, v)| v.as_deref().unwrap_or("")));
        let key_hash = crate::records::key_hash(&key);
        if entry.op == WriteKind::Delete {
            self.tx.execute(
                "DELETE FROM records WHERE entity = ?1 AND key_hash = ?3 AND key = ?2",
                (target.right_entity, &key, key_hash),
            )?;
            return Ok(());
        }
        let existing: Option<(i64, String)> = self
            .select
            .query_row((target.right_entity, &key, key_hash), |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let vals: Vec<Value> = match &existing {
            Some((_, v)) => crate::records::unpack_owned(v),
            // A created record; an updated one not in the cache is left to the next pull.
            None if entry.op == WriteKind::Insert => vec![None; fields.len()],
            None => return Ok(()),
        };
        let Some((packed, hash)) = patched(fields, vals, id, &entry.values) else {
            return Ok(());
        };
        match existing {
            Some((rid, _)) => self.update.execute((rid, hash, &packed))?,
            None => self.tx.execute(
                "INSERT INTO records (entity, key, hash, vals, origin, seq, key_hash) VALUES (?1, ?2, ?3, ?4, 0, \
                 (SELECT coalesce(max(seq), 0) FROM records WHERE entity = ?1), ?5)",
                (target.right_entity, &key, hash, &packed, key_hash),
            )?,
        };
        Ok(())
    }
}

/// A cached record's values with the id fields and `values` set, packed,
/// with their hash: the same packed form and hash a pull writes, so the
/// next pull of these values sees no change. `None` when the record does
/// not have the entity's fields (left to the next pull).
fn patched(
    fields: &[String],
    mut vals: Vec<Value>,
    id: &[Field],
    values: &[Field],
) -> Option<(String, i64)> {
    if vals.len() != fields.len() {
        return None;
    }
    for (f, v) in id.iter().chain(values) {
        if let Some(i) = fields.iter().position(|n| n == f) {
            vals[i] = v.clone();
        }
    }
    let packed = crate::records::pack(vals.iter().map(|v| v.as_deref()));
    let hash = crate::records::packed_hash(&packed) as i64;
    Some((packed, hash))
}

/// A cached target record as an applied update leaves it, worked out on
/// the push's thread: written if the record still holds `old`.
#[derive(Debug, Clone)]
pub(crate) struct RecordAfter {
    rid: i64,
    old: String,
    vals: String,
    hash: i64,
}

/// Works out [`RecordAfter`] for an applied update under `id`, reading the
/// cached record on `conn` (the push's own connection, while the journal's
/// thread records the batch before). `None` for anything else, or a record
/// not cached: the journal's thread then does it one by one.
pub(crate) fn record_after(
    conn: &Connection,
    target: &CacheTarget<'_>,
    entry: &Entry,
    id: &[Field],
) -> rusqlite::Result<Option<RecordAfter>> {
    let Some(fields) = target.right_fields else {
        return Ok(None);
    };
    if entry.op != WriteKind::Update || id.is_empty() {
        return Ok(None);
    }
    let key = join_key(id.iter().map(|(_, v)| v.as_deref().unwrap_or("")));
    let key_hash = crate::records::key_hash(&key);
    let existing: Option<(i64, String)> = conn
        .prepare_cached(
            "SELECT id, vals FROM records WHERE entity = ?1 AND key_hash = ?3 AND key = ?2",
        )?
        .query_row((target.right_entity, &key, key_hash), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let Some((rid, old)) = existing else {
        return Ok(None);
    };
    let Some((vals, hash)) = patched(
        fields,
        crate::records::unpack_owned(&old),
        id,
        &entry.values,
    ) else {
        return Ok(None);
    };
    Ok(Some(RecordAfter {
        rid,
        old,
        vals,
        hash,
    }))
}

/// Counts of entries by state.
pub fn count_states(entries: &[Entry]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for e in entries {
        *out.entry(e.state.as_str().to_string()).or_default() += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synchronous(cache: &Cache) -> i64 {
        cache
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn journal_writes_run_with_synchronous_full() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(&dir.path().join("trueup.db")).unwrap();
        assert_eq!(synchronous(&cache), 1, "the cache runs with NORMAL");
        {
            let _sync = FullSync::new(&cache).unwrap();
            assert_eq!(synchronous(&cache), 2, "FULL while the push journals");
        }
        assert_eq!(synchronous(&cache), 1, "back to NORMAL after the push");
    }

    fn entry(baseline_before: Option<&str>) -> Entry {
        let f = |n: &str, v: &str| (n.to_string(), Some(v.to_string()));
        Entry {
            id: 1,
            push_id: 1,
            recon: "c".into(),
            match_key: "k1".into(),
            decision_id: Some(1),
            rollback_of: None,
            idempotency_key: "tu-1".into(),
            op: WriteKind::Update,
            record: vec![f("no", "K1")],
            values: vec![f("email", "new@x.org")],
            values_hash: String::new(),
            before: vec![f("email", "old@x.org")],
            baseline_before: baseline_before.map(|b| RawValue::from_string(b.into()).unwrap()),
            state: State::Applied,
            attempts: 1,
            category: None,
            message: None,
            current: None,
            target_id: None,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn stored_baseline(cache: &Cache) -> Option<String> {
        cache
            .conn
            .query_row(
                "SELECT vals FROM baselines WHERE recon = 'c' AND match_key = 'k1'",
                [],
                |r| r.get(0),
            )
            .optional()
            .unwrap()
    }

    /// The baseline worked out on the push's thread is written only over
    /// the baseline it was worked out from; a baseline changed since (a
    /// reconcile between journaling and sending) is merged with the values
    /// instead, as the one-by-one path always did.
    #[test]
    fn a_worked_out_baseline_is_written_only_over_the_one_it_came_from() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(&dir.path().join("trueup.db")).unwrap();
        let set = |vals: Option<&str>| {
            cache.conn.execute("DELETE FROM baselines", []).unwrap();
            if let Some(v) = vals {
                cache
                    .conn
                    .execute(
                        "INSERT INTO baselines (recon, match_key, vals, updated_at, origin) \
                         VALUES ('c', 'k1', ?1, 't0', 'reconcile')",
                        [v],
                    )
                    .unwrap();
            }
        };
        let journaled = r#"{"name":"Ann"}"#;
        let move_to = |e: &Entry| {
            let tx = cache.conn.unchecked_transaction().unwrap();
            BaselineWriter::new(&tx)
                .unwrap()
                .move_to(e, baseline_after(e).as_deref(), "t1")
                .unwrap();
            tx.commit().unwrap();
        };
        // Unchanged since journaled: the worked-out baseline.
        set(Some(journaled));
        move_to(&entry(Some(journaled)));
        assert_eq!(
            stored_baseline(&cache).as_deref(),
            Some(r#"{"email":"new@x.org","name":"Ann"}"#)
        );
        // Changed since: the stored one, with the values set.
        set(Some(r#"{"name":"Anne","no":"K1"}"#));
        move_to(&entry(Some(journaled)));
        assert_eq!(
            stored_baseline(&cache).as_deref(),
            Some(r#"{"email":"new@x.org","name":"Anne","no":"K1"}"#)
        );
        // None when journaled, none now: created.
        set(None);
        move_to(&entry(None));
        assert_eq!(
            stored_baseline(&cache).as_deref(),
            Some(r#"{"email":"new@x.org"}"#)
        );
        // None when journaled, one since: merged into it.
        set(Some(r#"{"name":"Bo"}"#));
        move_to(&entry(None));
        assert_eq!(
            stored_baseline(&cache).as_deref(),
            Some(r#"{"email":"new@x.org","name":"Bo"}"#)
        );
    }

    /// The same for a cached target record: the record worked out on the
    /// push's thread is written only over the record it was worked out
    /// from; one changed since (a pull in between) gets the values set
    /// one by one, keeping what the pull brought.
    #[test]
    fn a_worked_out_record_is_written_only_over_the_one_it_came_from() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(&dir.path().join("trueup.db")).unwrap();
        let fields: Vec<String> = ["no", "name", "email"].map(String::from).to_vec();
        let target = CacheTarget {
            right_entity: "r",
            right_fields: Some(&fields),
        };
        let key_hash = crate::records::key_hash("K1");
        let set = |name: &str| {
            let vals = crate::records::pack([Some("K1"), Some(name), Some("old@x.org")]);
            cache.conn.execute("DELETE FROM records", []).unwrap();
            cache
                .conn
                .execute(
                    "INSERT INTO records (entity, key, key_hash, hash, vals, seq) VALUES ('r', 'K1', ?1, ?2, ?3, 1)",
                    (key_hash, crate::records::packed_hash(&vals) as i64, vals),
                )
                .unwrap();
        };
        let stored = || -> (Vec<Value>, i64) {
            cache
                .conn
                .query_row("SELECT vals, hash FROM records", [], |r| {
                    let vals: String = r.get(0)?;
                    Ok((crate::records::unpack_owned(&vals), r.get(1)?))
                })
                .unwrap()
        };
        let e = entry(None);
        let refresh = |after: Option<&RecordAfter>| {
            let tx = cache.conn.unchecked_transaction().unwrap();
            RecordWriter::new(&tx, &target)
                .unwrap()
                .refresh(&e, &e.record, after)
                .unwrap();
            tx.commit().unwrap();
        };
        let some = |v: &str| Some(v.to_string());
        // Unchanged since worked out: written as worked out.
        set("Ann");
        let after = record_after(&cache.conn, &target, &e, &e.record)
            .unwrap()
            .expect("an update of a cached record");
        refresh(Some(&after));
        let (vals, hash) = stored();
        assert_eq!(vals, vec![some("K1"), some("Ann"), some("new@x.org")]);
        let packed = crate::records::pack(vals.iter().map(|v| v.as_deref()));
        assert_eq!(
            hash,
            crate::records::packed_hash(&packed) as i64,
            "the pull's hash"
        );
        // Changed since (a pull brought another name): the values set on it.
        set("Ann");
        let after = record_after(&cache.conn, &target, &e, &e.record)
            .unwrap()
            .unwrap();
        set("Anne");
        refresh(Some(&after));
        assert_eq!(
            stored().0,
            vec![some("K1"), some("Anne"), some("new@x.org")],
            "the pulled name is kept"
        );
    }

    #[test]
    fn states_and_categories_round_trip_by_name() {
        for s in [
            State::Pending,
            State::Sending,
            State::Applied,
            State::Rejected,
            State::Conflict,
            State::Unknown,
        ] {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        for c in [
            Category::Validation,
            Category::Auth,
            Category::Permission,
            Category::NotFound,
            Category::Conflict,
            Category::RateLimit,
            Category::Transient,
            Category::Network,
            Category::Protocol,
            Category::System,
        ] {
            assert_eq!(Category::parse(c.as_str()), Some(c));
            assert_eq!(
                serde_json::to_value(c).unwrap(),
                c.as_str(),
                "JSON and stored names agree"
            );
        }
    }
}
