//! Reconciling again after a small change, at a cost in proportion to the
//! change: only the groups that changed records belonged to (before) or
//! belong to (now) are judged again.
//!
//! It applies when the previous reconcile left a match index for this run,
//! the configuration is unchanged, and no stored links or `unique` rules
//! need a view of every record. Otherwise, or when more than a fifth of the
//! records changed, the full reconcile runs instead (and gives the same
//! result; `tests/incremental.rs` checks that they agree).

use std::collections::{BTreeMap, HashMap, HashSet};

use super::index::{MatchIndex, key_hash};
use super::load::{Side, latest_snapshot};
use super::{Ctx, Group, ReconcileSummary, judge_groups, prepare, store, unkeyed};
use crate::config::ReconciliationConfig;
use crate::error::Result;
use crate::progress::{Actor, Progress, check};
use crate::records::{Schema, unpack};
use crate::workspace::Workspace;

/// An earlier value of a record that changed or went since the last reconcile.
struct Before {
    rid: i64,
    id: Box<str>,
    vals: Box<str>,
}

fn changed_since(ws: &Workspace, entity: &str, seq: i64, side: &mut Side) -> Result<()> {
    let mut stmt = ws
        .cache
        .conn
        .prepare("SELECT key, hash, vals, seq, id FROM records WHERE entity = ?1 AND seq > ?2")
        .map_err(|e| ws.cache.err(e))?;
    let mut rows = stmt.query((entity, seq)).map_err(|e| ws.cache.err(e))?;
    while let Some(r) = rows.next().map_err(|e| ws.cache.err(e))? {
        side.push_row(r).map_err(|e| ws.cache.err(e))?;
    }
    Ok(())
}

fn before(ws: &Workspace, entity: &str, seq: i64) -> Result<Vec<Before>> {
    let mut stmt = ws
        .cache
        .conn
        .prepare("SELECT rid, key, vals FROM versions WHERE entity = ?1 AND valid_from <= ?2 AND valid_to > ?2")
        .map_err(|e| ws.cache.err(e))?;
    let rows = stmt
        .query_map((entity, seq), |r| {
            Ok(Before {
                rid: r.get(0)?,
                id: r.get::<_, String>(1)?.into_boxed_str(),
                vals: r.get::<_, String>(2)?.into_boxed_str(),
            })
        })
        .map_err(|e| ws.cache.err(e))?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(|e| ws.cache.err(e))
}

fn load_rids(ws: &Workspace, rids: &[i64], side: &mut Side) -> Result<()> {
    let mut stmt = ws
        .cache
        .conn
        .prepare("SELECT key, hash, vals, seq, id FROM records WHERE id = ?1")
        .map_err(|e| ws.cache.err(e))?;
    for rid in rids {
        let mut rows = stmt.query([rid]).map_err(|e| ws.cache.err(e))?;
        if let Some(r) = rows.next().map_err(|e| ws.cache.err(e))? {
            side.push_row(r).map_err(|e| ws.cache.err(e))?;
        }
    }
    Ok(())
}

/// Reconciles incrementally when it can; `None` means "do a full reconcile".
pub(crate) fn try_incremental(
    ws: &mut Workspace,
    name: &str,
    config: &ReconciliationConfig,
    now: &str,
    actor: &Actor,
    progress: &dyn Progress,
    run: i64,
) -> Result<Option<ReconcileSummary>> {
    let Some(prev) = store::load_state(ws, name)? else {
        return Ok(None);
    };
    let index_path = MatchIndex::path(ws.dir(), name);
    let Some(mut index) = MatchIndex::load(&index_path) else {
        return Ok(None);
    };
    if index.run_id != prev.run_id || !store::load_links(ws, name)?.is_empty() {
        return Ok(None);
    }
    let snaps = (
        latest_snapshot(&ws.cache.conn, &config.left).map_err(|e| ws.cache.err(e))?,
        latest_snapshot(&ws.cache.conn, &config.right).map_err(|e| ws.cache.err(e))?,
    );
    let (Some((left_seq, left_fields)), Some((right_seq, right_fields))) = snaps else {
        return Ok(None);
    };
    let prep = prepare(
        ws,
        name,
        config,
        &Schema::new(left_fields.clone()),
        &Schema::new(right_fields.clone()),
    )?;
    if prep.config_hex != prev.config_hash || prep.rules.iter().any(|r| r.unique()) {
        return Ok(None);
    }
    progress.stage("changes", None);
    let mapping = &prep.mapping;
    let mut left = Side::partial(Schema::new(left_fields), left_seq);
    let mut right = Side::partial(Schema::new(right_fields), right_seq);
    changed_since(ws, &config.left, prev.left_seq, &mut left)?;
    changed_since(ws, &config.right, prev.right_seq, &mut right)?;
    let left_before = before(ws, &config.left, prev.left_seq)?;
    let right_before = before(ws, &config.right, prev.right_seq)?;
    let total = index.left.len() + index.right.len();
    let changes = left.ids.len() + right.ids.len() + left_before.len() + right_before.len();
    if changes * 5 > total.max(1) {
        return Ok(None);
    }
    check(progress)?;

    // Group keys touched: where changed records were, and where they are now.
    let left_key = |vals: &str, id: &str| {
        let v: Vec<Option<&str>> = unpack(vals).collect();
        mapping.left_key(&v).unwrap_or_else(|| unkeyed("left", id))
    };
    let right_key = |vals: &str, id: &str| {
        let v: Vec<Option<&str>> = unpack(vals).collect();
        mapping
            .right_key(&v)
            .unwrap_or_else(|| unkeyed("right", id))
    };
    let mut affected: HashSet<String> = HashSet::new();
    let mut existed: HashSet<String> = HashSet::new();
    for b in &left_before {
        let k = left_key(&b.vals, &b.id);
        existed.insert(k.clone());
        affected.insert(k);
    }
    for b in &right_before {
        let k = right_key(&b.vals, &b.id);
        existed.insert(k.clone());
        affected.insert(k);
    }
    for i in 0..left.ids.len() {
        affected.insert(left_key(&left.rows[i], &left.keys[i]));
    }
    for j in 0..right.ids.len() {
        affected.insert(right_key(&right.rows[j], &right.keys[j]));
    }
    let hashes: HashSet<u64> = affected.iter().map(|k| key_hash(k)).collect();

    // Unchanged records in those groups.
    let touched_left: HashSet<i64> = left
        .ids
        .iter()
        .copied()
        .chain(left_before.iter().map(|b| b.rid))
        .collect();
    let touched_right: HashSet<i64> = right
        .ids
        .iter()
        .copied()
        .chain(right_before.iter().map(|b| b.rid))
        .collect();
    let members = |side: &[(i64, u64)], touched: &HashSet<i64>| -> Vec<i64> {
        side.iter()
            .filter(|(rid, h)| hashes.contains(h) && !touched.contains(rid))
            .map(|(rid, _)| *rid)
            .collect()
    };
    let first_left_member = left.ids.len();
    let first_right_member = right.ids.len();
    load_rids(ws, &members(&index.left, &touched_left), &mut left)?;
    load_rids(ws, &members(&index.right, &touched_right), &mut right)?;

    // Regroup what was loaded.
    let mut groups: HashMap<String, Group> = HashMap::new();
    for i in 0..left.ids.len() {
        let k = left_key(&left.rows[i], &left.keys[i]);
        if i >= first_left_member {
            existed.insert(k.clone());
        }
        if affected.contains(&k) {
            groups.entry(k).or_default().0.push(i);
        }
    }
    for j in 0..right.ids.len() {
        let k = right_key(&right.rows[j], &right.keys[j]);
        if j >= first_right_member {
            existed.insert(k.clone());
        }
        if affected.contains(&k) {
            groups.entry(k).or_default().1.push(j);
        }
    }
    let mut groups: Vec<(String, Group)> = groups.into_iter().collect();
    groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));

    // What the affected groups were before.
    let mut old_kinds: HashMap<String, String> = HashMap::new();
    {
        let mut stmt = ws
            .cache
            .conn
            .prepare("SELECT kind FROM proposals WHERE recon = ?1 AND match_key = ?2")
            .map_err(|e| ws.cache.err(e))?;
        for k in &affected {
            let mut rows = stmt.query((name, k)).map_err(|e| ws.cache.err(e))?;
            if let Some(r) = rows.next().map_err(|e| ws.cache.err(e))? {
                old_kinds.insert(k.clone(), r.get(0).map_err(|e| ws.cache.err(e))?);
            }
        }
    }
    let prev_keys: HashSet<String> = old_kinds.keys().cloned().collect();
    let explicit = store::load_baselines(ws, name, Some(&affected))?;
    let right_versions: HashMap<Box<str>, Box<str>> = right_before
        .iter()
        .map(|b| (b.id.clone(), b.vals.clone()))
        .collect();

    progress.stage("compare", Some(groups.len() as u64));
    let ctx = Ctx {
        config,
        mapping,
        specs: &prep.specs,
        rules: &prep.rules,
        left: &left,
        right: &right,
        left_time_idx: prep.left_time_idx,
        right_time_idx: prep.right_time_idx,
        config_hash: &prep.config_hash,
        explicit: &explicit,
        prev: Some(&prev),
        prev_keys: &prev_keys,
        right_before: &right_versions,
    };
    let partial = judge_groups(&ctx, &groups, progress)?;

    let mut counts: BTreeMap<String, u64> = prev.counts.clone();
    for k in &affected {
        let old = match old_kinds.get(k) {
            Some(kind) => Some(kind.clone()),
            None if existed.contains(k) => Some("in_sync".to_string()),
            None => None,
        };
        if let Some(old) = old
            && let Some(c) = counts.get_mut(&old)
        {
            *c = c.saturating_sub(1);
        }
    }
    for (k, c) in &partial.counts {
        *counts.entry(k.clone()).or_default() += c;
    }
    counts.retain(|_, c| *c > 0);

    check(progress)?;
    progress.stage("save", Some(partial.proposals.len() as u64));
    let replace: Vec<String> = affected.iter().cloned().collect();
    let state = super::State {
        left_seq,
        right_seq,
        config_hash: prep.config_hex.clone(),
        counts: BTreeMap::new(),
        run_id: run,
    };
    let stale = store::save(
        ws,
        name,
        run,
        store::Outcome {
            proposals: &partial.proposals,
            replace: Some(&replace),
            baselines: &partial.upserts,
            dropped_baselines: &partial.deletes,
            state: &state,
            counts: &counts,
        },
        now,
        actor,
    )?;

    // The index now: changed records in their new groups.
    index.run_id = run;
    index.left.retain(|(rid, _)| !touched_left.contains(rid));
    index.right.retain(|(rid, _)| !touched_right.contains(rid));
    for i in 0..first_left_member {
        index.left.push((
            left.ids[i],
            key_hash(&left_key(&left.rows[i], &left.keys[i])),
        ));
    }
    for j in 0..first_right_member {
        index.right.push((
            right.ids[j],
            key_hash(&right_key(&right.rows[j], &right.keys[j])),
        ));
    }
    index.left.sort_unstable();
    index.right.sort_unstable();
    index.save(&index_path)?;

    Ok(Some(ReconcileSummary {
        reconciliation: name.into(),
        run,
        // The index lists every cached record of both sides.
        left_records: index.left.len() as u64,
        right_records: index.right.len() as u64,
        counts,
        conflict_reasons: store::conflict_reasons(ws, name)?,
        stale_decisions: stale,
        incremental: true,
    }))
}
