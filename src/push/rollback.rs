//! Rollback: restores the before-images of a push's applied changes,
//! through the same journal and the same conditional writes. A record that
//! changed in the target since our push is a conflict, not an overwrite.

use sha2::{Digest, Sha256};

use super::journal::{self, Entry, FullSync, NewEntry, State};
use super::plan::Target;
use super::run::{Engine, PushLock, PushOptions, PushReport, check_writable};
use crate::cache::RunKind;
use crate::connectors::{Connector, WriteKind};
use crate::error::{Error, Result};
use crate::progress::{Actor, Progress};
use crate::review::values_hash;
use crate::workspace::Workspace;

fn rollback_key(entry_id: i64) -> String {
    let digest = Sha256::digest(format!("trueup-rollback\0{entry_id}").as_bytes());
    let hex = crate::records::hex(&digest);
    format!("tu-rb-{}", &hex[..32])
}

/// The change that undoes an applied entry.
fn inverse(e: &Entry) -> Option<NewEntry> {
    let id = e
        .target_id
        .clone()
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| e.record.clone());
    let (op, record, values, before) = match e.op {
        // Put the old values back, if the target still holds ours.
        WriteKind::Update => (WriteKind::Update, id, e.before.clone(), e.values.clone()),
        // Delete what we created, if it still holds what we wrote.
        WriteKind::Insert => {
            if id.is_empty() {
                return None;
            }
            (WriteKind::Delete, id, vec![], e.values.clone())
        }
        // Create again what we deleted, with its id.
        WriteKind::Delete => (WriteKind::Insert, id, e.before.clone(), vec![]),
    };
    Some(NewEntry {
        match_key: e.match_key.clone(),
        decision_id: None,
        rollback_of: Some(e.id),
        idempotency_key: rollback_key(e.id),
        op,
        record,
        values_hash: values_hash(&values),
        values,
        before,
        baseline_before: e.baseline_before.clone(),
        state: State::Pending,
        category: None,
        message: None,
    })
}

/// Rolls back push `push_id` (only the record shown as `record`, when given).
pub fn rollback(
    ws: &mut Workspace,
    push_id: i64,
    record: Option<&str>,
    options: &PushOptions,
    now: &str,
    actor: &Actor,
    progress: &dyn Progress,
) -> Result<PushReport> {
    let row = journal::push_row(&ws.cache, push_id)?
        .ok_or_else(|| Error::NotFound(format!("no push with id {push_id}")))?;
    let target = Target::of(ws, &row.recon)?;
    let mut connector = ws.connector(&target.system)?;
    rollback_with(
        ws,
        push_id,
        record,
        connector.as_mut(),
        options,
        now,
        actor,
        progress,
    )
}

/// [`rollback`] through a given connector.
#[allow(clippy::too_many_arguments)]
pub fn rollback_with(
    ws: &mut Workspace,
    push_id: i64,
    record: Option<&str>,
    connector: &mut dyn Connector,
    options: &PushOptions,
    now: &str,
    actor: &Actor,
    progress: &dyn Progress,
) -> Result<PushReport> {
    let row = journal::push_row(&ws.cache, push_id)?
        .ok_or_else(|| Error::NotFound(format!("no push with id {push_id}")))?;
    if let Ok(cfg) = ws.reconciliation(&row.recon) {
        let entity = cfg.right.clone();
        crate::reconcile::forget_incremental_state(ws, &entity)?;
    }
    if row.kind != "push" {
        return Err(Error::Invalid(format!(
            "push {push_id} is itself a rollback (of push {}); push again to redo it",
            row.rollback_of.unwrap_or_default()
        )));
    }
    let recon = row.recon.clone();
    let target = Target::of(ws, &recon)?;
    check_writable(&target, connector)?;
    let _lock = PushLock::take(ws)?;
    let done = journal::rolled_back(&ws.cache, push_id)?;
    let applied: Vec<Entry> = journal::push_entries(&ws.cache, push_id)?
        .into_iter()
        .filter(|e| e.state == State::Applied && !done.contains(&e.id))
        .filter(|e| match record {
            None => true,
            Some(r) => {
                e.display_record() == r
                    || crate::records::display_key(&e.match_key) == r
                    || e.match_key == r
            }
        })
        .collect();
    if applied.is_empty() {
        return Err(Error::NotFound(match record {
            Some(r) => {
                format!("push {push_id} has no applied change of record {r:?} left to roll back")
            }
            None => format!("push {push_id} has no applied change left to roll back"),
        }));
    }
    let entries: Vec<NewEntry> = applied.iter().filter_map(inverse).collect();
    let run = ws
        .cache
        .start_run(RunKind::Push, &recon, now, &actor.origin)?;
    let result = (|| -> Result<PushReport> {
        let _sync = FullSync::new(&ws.cache)?;
        let (new_push, pending) = journal::create_push(
            &ws.cache,
            &recon,
            "rollback",
            Some(push_id),
            &target.label(),
            entries,
            now,
            actor,
        )?;
        let engine = Engine::new(ws, &recon, &target, options)?;
        let (_, stopped) = engine.process(connector, pending, progress)?;
        journal::finish_push(&ws.cache, new_push, &progress.now())?;
        let entries = journal::push_entries(&ws.cache, new_push)?;
        let by_kind = super::run::by_kind(&entries);
        Ok(PushReport {
            recon: recon.clone(),
            target: target.label(),
            push_id: Some(new_push),
            resumed: 0,
            planned: Default::default(),
            outcomes: journal::count_states(&entries),
            by_kind,
            entries,
            stopped,
        })
    })();
    let (status, failures, message) = match &result {
        Ok(r) => (
            "ok",
            r.entries
                .iter()
                .filter(|e| e.state != State::Applied)
                .count() as i64,
            None,
        ),
        Err(e) => ("failed", 0, Some(e.to_string())),
    };
    let counts = result
        .as_ref()
        .map(|r| serde_json::to_value(&r.by_kind).unwrap_or_default())
        .unwrap_or_default();
    let _ = ws.cache.finish_run(
        run,
        &progress.now(),
        status,
        &counts,
        failures,
        message.as_deref(),
    );
    result
}
