//! The push engine: finishes what an earlier push left open, journals the
//! plan in one transaction, then sends each entry with a conditional write,
//! retrying passing failures, and records every outcome.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::os::fd::AsRawFd;

use serde::Serialize;

use super::journal::{
    self, CacheTarget, Category, Entry, FullSync, Outcome, Recorder, SentBatch, State, Step,
};
use super::plan::{self, Plan, Target};
use super::retry::{RetryPolicy, category_of, retryable};
use crate::cache::RunKind;
use crate::connectors::{Connector, Field, WriteChange, WriteKind, WriteOutcome};
use crate::error::{Error, Result};
use crate::progress::{Actor, Progress, check};
use crate::reconcile::validation::FieldRules;
use crate::review::values_hash;
use crate::workspace::Workspace;

/// What a push does besides finishing open entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PushMode {
    /// Journal and send the plan of the current decisions.
    #[default]
    New,
    /// Only finish entries left `pending` or `sending`.
    Resume,
    /// Send again the entries that failed (`rejected`, `conflict`, `unknown`).
    RetryFailed,
}

/// How to push.
#[derive(Debug, Clone, Copy)]
pub struct PushOptions {
    /// What to send.
    pub mode: PushMode,
    /// Entries moved to `sending` together (one journal transaction each
    /// way); `None`: the target's own ([`Connector::push_batch_size`]).
    pub batch_size: Option<usize>,
    /// Retries of passing failures.
    pub retry: RetryPolicy,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            mode: PushMode::New,
            batch_size: None,
            retry: RetryPolicy::default(),
        }
    }
}

/// What a push did.
#[derive(Debug, Clone, Serialize)]
pub struct PushReport {
    /// The reconciliation.
    pub recon: String,
    /// `system/entity` written to.
    pub target: String,
    /// The new push, when one was journaled.
    pub push_id: Option<i64>,
    /// Entries an earlier push had left open, finished now.
    pub resumed: u64,
    /// Planned changes per kind (insert, update, delete, invalid).
    pub planned: BTreeMap<String, u64>,
    /// Outcomes per state.
    pub outcomes: BTreeMap<String, u64>,
    /// Outcomes per kind and state (`update/applied`).
    pub by_kind: BTreeMap<String, u64>,
    /// Every entry handled, with its outcome (entries left open by an
    /// early stop show as `pending` or `sending`).
    pub entries: Vec<Entry>,
    /// Why the push stopped before the end (the target down or overloaded).
    pub stopped: Option<String>,
}

/// An exclusive lock on the workspace's push, released when dropped or when
/// the process dies: two pushes never send the same entries.
pub(crate) struct PushLock {
    _file: std::fs::File,
}

impl PushLock {
    pub(crate) fn take(ws: &Workspace) -> Result<PushLock> {
        let path = ws.dir().join("trueup.push.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        // SAFETY: flock on a file descriptor we own; the lock dies with it.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Err(Error::Invalid(format!(
                "another push is running in this workspace ({} is locked); wait for it to finish",
                path.display()
            )));
        }
        Ok(PushLock { _file: file })
    }
}

/// Pushes `recon` to its target: see [`push_with`].
pub fn push(
    ws: &mut Workspace,
    recon: &str,
    options: &PushOptions,
    now: &str,
    actor: &Actor,
    progress: &dyn Progress,
) -> Result<PushReport> {
    let target = Target::of(ws, recon)?;
    let mut connector = ws.connector(&target.system)?;
    push_with(ws, recon, connector.as_mut(), options, now, actor, progress)
}

/// Fails unless `connector` can be written to with conditional writes.
pub(crate) fn check_writable(target: &Target, connector: &dyn Connector) -> Result<()> {
    let caps = connector.capabilities();
    if !caps.write {
        return Err(Error::Invalid(format!(
            "system {:?} is read-only: Trueup cannot push to it (CSV and XLSX targets are read-only today)",
            target.system
        )));
    }
    if !caps.conditional_writes {
        return Err(Error::Invalid(format!(
            "system {:?} cannot make writes conditional on the pulled values; pushing to it could overwrite changes made since the pull",
            target.system
        )));
    }
    Ok(())
}

/// Pushes `recon` through `connector`: first finishes entries an earlier
/// push left `pending` or `sending`, then (by `options.mode`) journals and
/// sends the plan, or sends again the failed entries.
pub fn push_with(
    ws: &mut Workspace,
    recon: &str,
    connector: &mut dyn Connector,
    options: &PushOptions,
    now: &str,
    actor: &Actor,
    progress: &dyn Progress,
) -> Result<PushReport> {
    let target = Target::of(ws, recon)?;
    check_writable(&target, connector)?;
    let _lock = PushLock::take(ws)?;
    crate::reconcile::forget_incremental_state(ws, &target.entity)?;
    let run = ws
        .cache
        .start_run(RunKind::Push, recon, now, &actor.origin)?;
    let result = push_locked(ws, recon, &target, connector, options, now, actor, progress);
    match &result {
        Ok(r) => {
            let failures = r
                .entries
                .iter()
                .filter(|e| e.state != State::Applied)
                .count() as i64;
            ws.cache.finish_run(
                run,
                &progress.now(),
                "ok",
                &serde_json::to_value(&r.by_kind).unwrap_or_default(),
                failures,
                None,
            )?
        }
        Err(e) => {
            let status = if matches!(e, Error::Cancelled) {
                "cancelled"
            } else {
                "failed"
            };
            let _ = ws.cache.finish_run(
                run,
                &progress.now(),
                status,
                &serde_json::json!({}),
                0,
                Some(&e.to_string()),
            );
        }
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn push_locked(
    ws: &Workspace,
    recon: &str,
    target: &Target,
    connector: &mut dyn Connector,
    options: &PushOptions,
    now: &str,
    actor: &Actor,
    progress: &dyn Progress,
) -> Result<PushReport> {
    let _sync = FullSync::new(&ws.cache)?;
    let engine = Engine::new(ws, recon, target, options)?;
    let mut report = PushReport {
        recon: recon.to_string(),
        target: target.label(),
        push_id: None,
        resumed: 0,
        planned: BTreeMap::new(),
        outcomes: BTreeMap::new(),
        by_kind: BTreeMap::new(),
        entries: vec![],
        stopped: None,
    };
    // Every entry handled, as journaled now.
    let mut handled: Vec<Entry> = Vec::new();
    // 1. Whatever an earlier push left open.
    let open = journal::entries_in_states(&ws.cache, recon, &[State::Pending, State::Sending])?;
    report.resumed = open.len() as u64;
    let (open, stopped) = engine.process(connector, open, progress)?;
    handled.extend(open);
    report.stopped = stopped;
    // 2. What this push is for.
    let mode = if report.stopped.is_some() {
        PushMode::Resume
    } else {
        options.mode
    };
    match mode {
        PushMode::Resume => {}
        PushMode::RetryFailed => {
            let failed: Vec<Entry> = journal::entries_in_states(
                &ws.cache,
                recon,
                &[State::Rejected, State::Conflict, State::Unknown],
            )?
            .into_iter()
            .filter(|e| !handled.iter().any(|h| h.id == e.id))
            .collect();
            journal::requeue(&ws.cache, &failed, &progress.now())?;
            let ids: Vec<i64> = failed.iter().map(|e| e.id).collect();
            let again = journal::entries_by_id(&ws.cache, &ids)?;
            let (again, stopped) = engine.process(connector, again, progress)?;
            handled.extend(again);
            report.stopped = stopped;
        }
        PushMode::New => {
            progress.stage("plan", None);
            let plan = plan::plan(ws, recon)?;
            progress.stage("journal", Some(plan.writes.len() as u64));
            report.planned = plan.counts.clone();
            if !(plan.writes.is_empty() && plan.deletes.is_empty() && plan.invalid.is_empty()) {
                let (push_id, entries) = journal_plan(ws, plan, now, actor)?;
                report.push_id = Some(push_id);
                // Entries refused before sending are journaled `rejected` already.
                let (pending, refused): (Vec<Entry>, Vec<Entry>) =
                    entries.into_iter().partition(|e| e.state == State::Pending);
                handled.extend(refused);
                let (sent, stopped) = engine.process(connector, pending, progress)?;
                handled.extend(sent);
                report.stopped = stopped;
                journal::finish_push(&ws.cache, push_id, &progress.now())?;
            }
            // else: nothing new to send, no empty push in the history.
        }
    }
    handled.sort_by_key(|e| e.id);
    report.outcomes = journal::count_states(&handled);
    report.by_kind = by_kind(&handled);
    report.entries = handled;
    Ok(report)
}

/// Counts per kind and state (`update/applied`).
pub(crate) fn by_kind(entries: &[Entry]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for e in entries {
        *out.entry(format!("{}/{}", journal::op_str(e.op), e.state.as_str()))
            .or_default() += 1;
    }
    out
}

/// Journals a plan: one transaction, before anything is sent.
fn journal_plan(ws: &Workspace, plan: Plan, now: &str, actor: &Actor) -> Result<(i64, Vec<Entry>)> {
    let baselines = load_baselines(ws, &plan.recon)?;
    let label = plan.target.label();
    let recon = plan.recon.clone();
    let entries = plan.into_entries(baselines);
    journal::create_push(&ws.cache, &recon, "push", None, &label, entries, now, actor)
}

/// The baselines of `recon` by match key, as stored (JSON objects, not
/// parsed: the journal keeps them as they are).
fn load_baselines(
    ws: &Workspace,
    recon: &str,
) -> Result<HashMap<String, Box<serde_json::value::RawValue>>> {
    let mut stmt = ws
        .cache
        .conn
        .prepare("SELECT match_key, vals FROM baselines WHERE recon = ?1")
        .map_err(|e| ws.cache.err(e))?;
    let mut rows = stmt.query([recon]).map_err(|e| ws.cache.err(e))?;
    let mut out = HashMap::new();
    while let Some(r) = rows.next().map_err(|e| ws.cache.err(e))? {
        let k: String = r.get(0).map_err(|e| ws.cache.err(e))?;
        let v: String = r.get(1).map_err(|e| ws.cache.err(e))?;
        let v = serde_json::value::RawValue::from_string(v).map_err(|e| ws.cache.err(e))?;
        out.insert(k, v);
    }
    Ok(out)
}

/// Sends journal entries to one target.
pub(crate) struct Engine<'w> {
    ws: &'w Workspace,
    target: Target,
    right_fields: Option<Vec<String>>,
    rules: HashMap<String, FieldRules>,
    options: PushOptions,
}

/// Why a batch stopped the push (if it did), and its outcomes by index.
type BatchResult = (Option<String>, Vec<(usize, Outcome)>);

/// What to do with an entry after reading the target.
enum Verdict {
    Send,
    Done(Outcome),
}

impl<'w> Engine<'w> {
    pub fn new(
        ws: &'w Workspace,
        recon: &str,
        target: &Target,
        options: &PushOptions,
    ) -> Result<Engine<'w>> {
        Ok(Engine {
            ws,
            target: target.clone(),
            right_fields: ws.cache.entity_fields(&target.entity)?,
            rules: plan::rules_of(ws, recon)?,
            options: *options,
        })
    }

    /// Sends `entries` (pending or sending), batch by batch, and gives them
    /// back as journaled now. Stops early, with the reason, when a passing
    /// failure outlasts its retries (the target is down or overloaded): the
    /// entries not sent stay open for the next push or `--resume`.
    ///
    /// The journal is written by a [`Recorder`] on a second thread (its own
    /// cache connection), one transaction per batch: the outcomes of batch
    /// k−1 and batch k+1 moved to `sending`, while the target writes batch
    /// k. The order that makes a crash safe holds: a batch is `sending`
    /// durably before any of it is sent (the step that marks it is waited
    /// for), and its outcomes are recorded only after its target commit.
    pub fn process(
        &self,
        connector: &mut dyn Connector,
        entries: Vec<Entry>,
        progress: &dyn Progress,
    ) -> Result<(Vec<Entry>, Option<String>)> {
        if entries.is_empty() {
            return Ok((entries, None));
        }
        progress.stage("push", Some(entries.len() as u64));
        let total = entries.len();
        let size = self
            .options
            .batch_size
            .unwrap_or_else(|| connector.push_batch_size())
            .max(1);
        let mut batches: Vec<Vec<Entry>> = Vec::with_capacity(total.div_ceil(size));
        let mut rest = entries.into_iter().peekable();
        while rest.peek().is_some() {
            batches.push(rest.by_ref().take(size).collect());
        }
        let recorder = Recorder::open(
            &self.ws.cache,
            &self.target.entity,
            self.right_fields.clone(),
        )?;
        std::thread::scope(|scope| {
            let (steps, step_rx) = std::sync::mpsc::channel::<Step>();
            let (done_tx, done) = std::sync::mpsc::channel::<Result<Option<Vec<Entry>>>>();
            scope.spawn(move || {
                for step in step_rx {
                    if done_tx.send(recorder.step(step)).is_err() {
                        break;
                    }
                }
            });
            // One step at a time: sent, then waited for.
            let run = |step: Step| -> Result<Option<Vec<Entry>>> {
                steps
                    .send(step)
                    .map_err(|_| Error::Invalid("the journal recorder stopped".into()))?;
                done.recv()
                    .map_err(|_| Error::Invalid("the journal recorder stopped".into()))?
            };
            let ids = |b: &[Entry]| b.iter().map(|e| e.id).collect::<Vec<i64>>();
            let mut out: Vec<Entry> = Vec::with_capacity(total);
            let mut batches = batches.into_iter();
            let mut current = batches.next().expect("at least one entry");
            check(progress)?;
            run(Step {
                done: None,
                next: ids(&current),
                unsend: vec![],
                now: progress.now(),
            })?;
            // The outcomes of the batch sent last, not recorded yet.
            let mut sent: Option<SentBatch> = None;
            loop {
                // `current` is journaled `sending`.
                let cancelled = check(progress).err();
                let next = if cancelled.is_none() {
                    batches.next()
                } else {
                    None
                };
                let now = progress.now();
                steps
                    .send(Step {
                        done: sent.take(),
                        next: next.as_deref().map(ids).unwrap_or_default(),
                        unsend: vec![],
                        now: now.clone(),
                    })
                    .map_err(|_| Error::Invalid("the journal recorder stopped".into()))?;
                // Meanwhile, the target writes `current`.
                let was: Vec<State> = current.iter().map(|e| e.state).collect();
                for e in current.iter_mut() {
                    e.state = State::Sending;
                    e.attempts += 1;
                    e.updated_at.clone_from(&now);
                }
                let len = current.len();
                let mut sending = self.send_batch(connector, &mut current, 0..len, &was, progress);
                // While the journal's thread records the batch before: the
                // baselines this batch leaves, for it to write.
                // And the cached records: read here, written there if unchanged.
                if let Ok((_, outcomes)) = &mut sending {
                    let cached = CacheTarget {
                        right_entity: &self.target.entity,
                        right_fields: self.right_fields.as_deref(),
                    };
                    for (i, o) in outcomes.iter_mut() {
                        if o.state == State::Applied {
                            let e = &current[*i];
                            o.baseline_after = journal::baseline_after(e);
                            let id = o
                                .target_id
                                .as_ref()
                                .filter(|id| !id.is_empty())
                                .unwrap_or(&e.record);
                            // A failed read only loses the shortcut.
                            o.record_after =
                                journal::record_after(&self.ws.cache.conn, &cached, e, id)
                                    .ok()
                                    .flatten();
                        }
                    }
                }
                let recorded = done
                    .recv()
                    .map_err(|_| Error::Invalid("the journal recorder stopped".into()))?;
                out.extend(recorded?.unwrap_or_default());
                let (stop, outcomes) = sending?;
                progress.advance(len as u64);
                let sent_now = (current, outcomes);
                match (next, stop) {
                    (Some(mut next), Some(stop)) => {
                        // `next` was moved to `sending` but is not sent: back to `pending`.
                        let recorded = run(Step {
                            done: Some(sent_now),
                            next: vec![],
                            unsend: next.iter().map(|e| (e.id, e.state)).collect(),
                            now: progress.now(),
                        })?;
                        out.extend(recorded.unwrap_or_default());
                        out.append(&mut next);
                        out.extend(batches.flatten());
                        return Ok((out, Some(stop)));
                    }
                    (None, stop) => {
                        out.extend(
                            run(Step {
                                done: Some(sent_now),
                                next: vec![],
                                unsend: vec![],
                                now: progress.now(),
                            })?
                            .unwrap_or_default(),
                        );
                        if let Some(cancelled) = cancelled {
                            return Err(cancelled);
                        }
                        out.extend(batches.flatten());
                        return Ok((out, stop));
                    }
                    (Some(next), None) => {
                        sent = Some(sent_now);
                        current = next;
                    }
                }
            }
        })
    }

    /// Sends the batch `entries[range]`, journaled `sending` (`was`: the
    /// states its entries were found in), and returns the outcomes
    /// (indexes into `entries`) and why the push stops, if it does.
    fn send_batch(
        &self,
        connector: &mut dyn Connector,
        entries: &mut [Entry],
        range: Range<usize>,
        was: &[State],
        progress: &dyn Progress,
    ) -> Result<BatchResult> {
        let batch = &entries[range.clone()];
        let mut outcomes: Vec<Option<Outcome>> = vec![None; batch.len()];
        // Fresh entries go to the target together, as one unit where it can.
        let mut direct: Vec<usize> = Vec::with_capacity(batch.len());
        for (i, e) in batch.iter().enumerate() {
            if let Some(refused) = self.refuse(e) {
                outcomes[i] = Some(refused);
            } else if was[i] == State::Pending {
                direct.push(i);
            }
        }
        let mut batch_failed = false;
        if direct.len() > 1 {
            let changes: Vec<WriteChange> = direct.iter().map(|&i| change_of(&batch[i])).collect();
            match connector.write_batch(&self.target.source, &changes) {
                Ok(written) if written.len() == changes.len() => {
                    for (&i, w) in direct.iter().zip(written) {
                        outcomes[i] = Some(outcome_of(&batch[i], w));
                    }
                }
                // Whatever the batch did, each entry is re-read and sent alone.
                _ => batch_failed = true,
            }
        }
        let mut results = Vec::with_capacity(outcomes.len());
        let mut stop = None;
        for (i, found) in outcomes.into_iter().enumerate() {
            if stop.is_some() {
                // Left `sending`: re-read before any resend.
                break;
            }
            let e = &mut entries[range.start + i];
            let outcome = match found {
                Some(o) => o,
                None => {
                    // An entry found `sending`, or in a failed batch, may have
                    // reached the target: re-read first.
                    let in_failed_batch = batch_failed && direct.contains(&i);
                    if in_failed_batch {
                        self.bump_attempt(e, progress)?;
                    }
                    let reread = was[i] == State::Sending || in_failed_batch;
                    self.send(connector, e, reread, progress)?
                }
            };
            if outcome.gave_up {
                stop = Some(format!(
                    "stopped after a failure that outlasted its retries ({}): the changes not \
                     sent stay in the journal; run `trueup push {} --resume` when the target is back",
                    outcome.message.as_deref().unwrap_or(""),
                    e.recon
                ));
            }
            results.push((range.start + i, outcome));
        }
        Ok((stop, results))
    }

    /// Counts one more attempt of an entry already `sending`, in the journal and in memory.
    fn bump_attempt(&self, e: &mut Entry, progress: &dyn Progress) -> Result<()> {
        let now = progress.now();
        journal::bump_attempt(&self.ws.cache, e.id, &now)?;
        e.attempts += 1;
        e.updated_at = now;
        Ok(())
    }

    /// One entry, with retries; `reread` first when it may already be applied.
    fn send(
        &self,
        connector: &mut dyn Connector,
        e: &mut Entry,
        mut reread: bool,
        progress: &dyn Progress,
    ) -> Result<Outcome> {
        if let Some(refused) = self.refuse(e) {
            return Ok(refused);
        }
        let mut delays = self.options.retry.delays();
        loop {
            let attempt = (|| -> Result<Outcome> {
                if reread {
                    match self.verify(connector, e)? {
                        Verdict::Done(o) => return Ok(o),
                        Verdict::Send => {}
                    }
                }
                self.write(connector, e)
            })();
            match attempt {
                Ok(o) => return Ok(o),
                Err(err) => {
                    let category = category_of(err.code());
                    if !retryable(category) {
                        return Ok(Outcome::failed(State::Rejected, category, err.to_string()));
                    }
                    match delays.next() {
                        Some(delay) => {
                            log_retry(e, &err, delay);
                            std::thread::sleep(delay);
                            check(progress)?;
                            self.bump_attempt(e, progress)?;
                            // The failed try may have reached the target.
                            reread = true;
                        }
                        None => {
                            // A broken connection may have lost the answer to a write
                            // that was applied: say so, never resend blindly.
                            let state = if category == Category::Network {
                                State::Unknown
                            } else {
                                State::Rejected
                            };
                            let mut o = Outcome::failed(
                                state,
                                category,
                                format!(
                                    "{err} (gave up after {} retries)",
                                    self.options.retry.max_retries
                                ),
                            );
                            o.gave_up = true;
                            return Ok(o);
                        }
                    }
                }
            }
        }
    }

    /// Refuses an entry whose payload is not the approved one, or that
    /// breaks a validation rule now.
    fn refuse(&self, e: &Entry) -> Option<Outcome> {
        if values_hash(&e.values) != e.values_hash {
            return Some(Outcome::failed(
                State::Rejected,
                Category::Validation,
                "the journaled values do not match the approved SHA-256; nothing sent".into(),
            ));
        }
        if e.rollback_of.is_none() {
            let failures = plan::check_values(&self.rules, &e.values);
            if !failures.is_empty() {
                return Some(Outcome::failed(
                    State::Rejected,
                    Category::Validation,
                    failures.join("; "),
                ));
            }
            if e.op != WriteKind::Insert && e.record.is_empty() {
                return Some(Outcome::failed(
                    State::Rejected,
                    Category::Validation,
                    "no target record to write; review the proposal again".into(),
                ));
            }
        }
        None
    }

    /// Reads the target record and tells whether the change is already
    /// there, still to send, or blocked by someone else's change.
    fn verify(&self, connector: &mut dyn Connector, e: &Entry) -> Result<Verdict> {
        let id = e
            .target_id
            .as_ref()
            .filter(|id| !id.is_empty())
            .unwrap_or(&e.record);
        if id.is_empty() {
            return Ok(Verdict::Done(Outcome::failed(
                State::Unknown,
                Category::Network,
                "the push stopped while creating this record, and the target assigns its id: \
                 Trueup cannot tell whether it was created. Check the target; pull and reconcile \
                 to see it"
                    .into(),
            )));
        }
        let current = connector.read_one(&self.target.source, id)?;
        let pick = |cur: &[Field], names: &[Field]| -> Vec<Field> {
            names
                .iter()
                .map(|(n, _)| {
                    let v = cur
                        .iter()
                        .find(|(c, _)| c == n)
                        .and_then(|(_, v)| v.clone());
                    (n.clone(), v)
                })
                .collect()
        };
        Ok(match (e.op, current) {
            (WriteKind::Delete, None) => Verdict::Done(Outcome::applied(
                id.clone(),
                Some("confirmed by re-reading: the record is gone".into()),
            )),
            (WriteKind::Delete, Some(cur)) => {
                let now = pick(&cur, &e.before);
                if holds(&now, &e.before) {
                    Verdict::Send
                } else {
                    Verdict::Done(Outcome::conflict(
                        now,
                        "the record changed since it was pulled; not deleted".into(),
                    ))
                }
            }
            (WriteKind::Insert, None) => Verdict::Send,
            (WriteKind::Update, None) => {
                // An update that changes the id fields is found under the new id.
                let moved: Vec<Field> = id
                    .iter()
                    .map(|(n, v)| {
                        let new = e.values.iter().find(|(f, _)| f == n).map(|(_, v)| v);
                        (n.clone(), new.unwrap_or(v).clone())
                    })
                    .collect();
                let found = if &moved != id {
                    connector.read_one(&self.target.source, &moved)?
                } else {
                    None
                };
                match found {
                    Some(cur) if holds(&pick(&cur, &e.values), &e.values) => {
                        Verdict::Done(Outcome::applied(
                            moved,
                            Some("confirmed by re-reading under its new id".into()),
                        ))
                    }
                    _ => Verdict::Done(Outcome::failed(
                        State::Rejected,
                        Category::NotFound,
                        "the target record no longer exists".into(),
                    )),
                }
            }
            (_, Some(cur)) => {
                let now = pick(&cur, &e.values);
                if holds(&now, &e.values) {
                    Verdict::Done(Outcome::applied(
                        id.clone(),
                        Some("confirmed by re-reading: the target holds the values".into()),
                    ))
                } else if e.op == WriteKind::Update && holds(&pick(&cur, &e.before), &e.before) {
                    Verdict::Send
                } else {
                    Verdict::Done(Outcome::conflict(
                        now,
                        "the target holds other values than the ones pulled or sent; not overwritten"
                            .into(),
                    ))
                }
            }
        })
    }

    /// The conditional write itself.
    fn write(&self, connector: &mut dyn Connector, e: &Entry) -> Result<Outcome> {
        let written = connector.write(&self.target.source, &change_of(e))?;
        Ok(outcome_of(e, written))
    }
}

/// True when a record's `current` values are `wanted`, field by field, as
/// the target stores them: a target that normalises what it is sent
/// (`12.5` read back as `12.50` from a `numeric(10,2)` column) still holds
/// the values sent. Nothing looser: text compares exactly.
fn holds(current: &[Field], wanted: &[Field]) -> bool {
    let same = crate::config::Tolerance::default();
    current.len() == wanted.len()
        && current.iter().zip(wanted).all(|((f, a), (g, b))| {
            f == g && crate::reconcile::tolerance::values_equal(a, b, &same)
        })
}

/// The write an entry sends: exactly its journaled values, conditional on
/// its before-image.
fn change_of(e: &Entry) -> WriteChange {
    WriteChange {
        kind: e.op,
        id: e.record.clone(),
        values: e.values.clone(),
        expected: e.before.clone(),
    }
}

/// The journal outcome of what the target answered.
fn outcome_of(e: &Entry, written: WriteOutcome) -> Outcome {
    match written {
        WriteOutcome::Applied { id } => Outcome::applied(id, None),
        WriteOutcome::Conflict { current } => {
            if e.op == WriteKind::Update && holds(&current, &e.values) {
                // The target already holds exactly what we send.
                Outcome::applied(
                    e.record.clone(),
                    Some("the target already held the values".into()),
                )
            } else {
                Outcome::conflict(
                    current,
                    "the record changed in the target since it was pulled; nothing written".into(),
                )
            }
        }
        WriteOutcome::NotFound => Outcome::failed(
            State::Rejected,
            Category::NotFound,
            "the target record no longer exists".into(),
        ),
    }
}

fn log_retry(e: &Entry, err: &Error, delay: std::time::Duration) {
    if std::env::var_os("TRUEUP_LOG_RETRIES").is_some() {
        eprintln!(
            "retrying entry={} key={} after={}ms: {err}",
            e.id,
            e.idempotency_key,
            delay.as_millis()
        );
    }
}
