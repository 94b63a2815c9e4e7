//! Reconciling: map, match, compare against the baseline, and store the
//! proposals.
//!
//! Reconcile reads both entities from the cache (never from the systems),
//! so it can run again at any time. Only proposals that need attention
//! (create, update, orphan, conflict) are stored; in-sync pairs are counted
//! and refresh the baseline of the fields that agree. Decisions on
//! proposals whose inputs changed are marked stale.

mod compare;
mod incremental;
mod index;
mod load;
mod proposal;
mod store;
pub mod tolerance;
mod unmapped;
pub mod validation;

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use xxhash_rust::xxh3::Xxh3;

pub use compare::{Baseline, FieldSpec, Times, compare_pair};
pub use proposal::{FieldDiff, FieldStatus, Kind, Proposal, Reason};
pub use store::{Filter, ProposalPage, ProposalRow};
pub use tolerance::values_equal;
pub use unmapped::{UnmappedValue, map_value, unmapped_values};

use crate::cache::RunKind;
use crate::error::{Error, Result};
use crate::mapping::CompiledMapping;
use crate::matching::{KeyMatcher, Matcher, match_key_str};
use crate::progress::{Actor, Progress, check};
use crate::records::Value;
use crate::workspace::Workspace;
use index::MatchIndex;
use load::Side;
use validation::FieldRules;

/// Counts by category after a reconcile.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReconcileSummary {
    /// The reconciliation.
    pub reconciliation: String,
    /// The run id in the history.
    pub run: i64,
    /// Left records considered.
    pub left_records: u64,
    /// Right records considered.
    pub right_records: u64,
    /// Count per kind (`in_sync`, `create`, `update`, `orphan`, `conflict`).
    pub counts: BTreeMap<String, u64>,
    /// Conflicts by reason code.
    pub conflict_reasons: BTreeMap<String, u64>,
    /// Decisions that became stale because their records changed.
    pub stale_decisions: u64,
    /// True when only the groups touched by changes were judged again.
    pub incremental: bool,
}

/// Forgets what lets reconciliations involving `entity` run incrementally,
/// because its cached records are about to change outside a pull (a push or
/// a rollback refreshes them). Called before the first such write, so that a
/// crash at any point leaves the next reconcile a full one.
pub fn forget_incremental_state(ws: &Workspace, entity: &str) -> Result<()> {
    for (name, r) in &ws.config.reconciliations {
        if r.left == entity || r.right == entity {
            let path = MatchIndex::path(ws.dir(), name);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
    }
    Ok(())
}

/// Indexes of the left and right records under one match key.
type Group = (Vec<usize>, Vec<usize>);

fn hash_hex(h: &Xxh3) -> String {
    format!("{:032x}", h.digest128())
}

/// Reconciles `name`: reads both entities from the cache and replaces its proposals.
pub fn reconcile(
    ws: &mut Workspace,
    name: &str,
    now: &str,
    actor: &Actor,
    progress: &dyn Progress,
) -> Result<ReconcileSummary> {
    let config = ws.reconciliation(name)?.clone();
    let run = ws
        .cache
        .start_run(RunKind::Reconcile, name, now, &actor.origin)?;
    let result = run_reconcile(ws, name, &config, now, actor, progress, run);
    ws.cache.end_run(run, &progress.now(), &result, |s| {
        (
            serde_json::to_value(&s.counts).unwrap_or_default(),
            *s.counts.get("conflict").unwrap_or(&0) as i64,
        )
    })?;
    result
}

/// What the previous reconcile of this reconciliation saw.
#[derive(Debug, Clone)]
pub(crate) struct State {
    pub left_seq: i64,
    pub right_seq: i64,
    pub config_hash: String,
    pub counts: BTreeMap<String, u64>,
    pub run_id: i64,
}

/// Everything the per-group judgement reads (shared by the worker threads).
struct Ctx<'a> {
    config: &'a crate::config::ReconciliationConfig,
    mapping: &'a CompiledMapping,
    specs: &'a [FieldSpec],
    rules: &'a [FieldRules],
    left: &'a Side,
    right: &'a Side,
    left_time_idx: Option<usize>,
    right_time_idx: Option<usize>,
    config_hash: &'a [u8; 16],
    /// Baselines stored for keys that had proposals.
    explicit: &'a HashMap<String, Baseline>,
    /// The previous state, when the configuration is unchanged.
    prev: Option<&'a State>,
    /// Keys that had proposals at the previous reconcile.
    prev_keys: &'a HashSet<String>,
    /// Right records' values as of the previous reconcile, for those changed since.
    right_before: &'a HashMap<Box<str>, Box<str>>,
}

/// The result of judging a share of the groups.
#[derive(Default)]
struct Partial {
    proposals: Vec<Proposal>,
    upserts: Vec<(String, Baseline)>,
    deletes: Vec<String>,
    counts: BTreeMap<String, u64>,
}

impl Ctx<'_> {
    fn right_target<'b>(&self, vals: &[Option<&'b str>]) -> Vec<Option<&'b str>> {
        self.mapping
            .right_idx
            .iter()
            .map(|&i| vals.get(i).copied().flatten())
            .collect()
    }

    /// The baseline of a matched pair: stored fields over the implicit
    /// baseline (the right's values when the pair was last in sync).
    fn baseline(&self, key: &str, j: usize) -> Option<Baseline> {
        let mut base: Option<Baseline> = None;
        if let Some(prev) = self.prev
            && !self.prev_keys.contains(key)
        {
            let packed: Option<&str> = if self.right.seqs[j] <= prev.right_seq {
                Some(&self.right.rows[j])
            } else {
                self.right_before.get(&self.right.keys[j]).map(|b| &b[..])
            };
            if let Some(packed) = packed {
                let vals: Vec<Option<&str>> = crate::records::unpack(packed).collect();
                let target = self.right_target(&vals);
                let parts: Vec<Option<&str>> =
                    self.mapping.key_idx.iter().map(|&k| target[k]).collect();
                if match_key_str(&parts).as_deref() == Some(key) {
                    base = Some(
                        self.specs
                            .iter()
                            .zip(target)
                            .map(|(s, v)| (s.name.clone(), v.map(str::to_string)))
                            .collect(),
                    );
                }
            }
        }
        if let Some(explicit) = self.explicit.get(key) {
            let b = base.get_or_insert_with(Baseline::new);
            for (k, v) in explicit {
                b.insert(k.clone(), v.clone());
            }
        }
        base
    }

    /// True when every mapped left value equals the right's, byte for byte,
    /// and no mapping issue arises: the common case, decided without allocating.
    fn in_sync_fast(&self, i: usize, j: usize) -> bool {
        let lvals = self.left.values(i);
        let rvals = self.right.values(j);
        for (f, &ri) in self.mapping.right_idx.iter().enumerate() {
            let r = rvals.get(ri).copied().flatten();
            let (v, issue) = self.mapping.map_field(f, &lvals);
            if issue.is_some() || v.as_deref() != r {
                return false;
            }
        }
        true
    }

    /// The key as written in the first record (left preferred), for people.
    fn label(&self, key: &str, ls: &[usize], rs: &[usize]) -> String {
        let parts: Vec<String> = if let Some(&i) = ls.first() {
            let vals = self.left.values(i);
            self.mapping
                .key_idx
                .iter()
                .map(|&k| {
                    self.mapping
                        .map_field(k, &vals)
                        .0
                        .unwrap_or_default()
                        .into_owned()
                })
                .collect()
        } else if let Some(&j) = rs.first() {
            let vals = self.right.values(j);
            self.mapping
                .key_idx
                .iter()
                .map(|&k| {
                    vals.get(self.mapping.right_idx[k])
                        .copied()
                        .flatten()
                        .unwrap_or("")
                        .to_string()
                })
                .collect()
        } else {
            return crate::records::display_key(key);
        };
        if parts.iter().all(|p| p.trim().is_empty()) {
            // An empty key: name the record instead.
            return crate::records::display_key(key.trim_start_matches('\u{1e}'));
        }
        parts.join(" / ")
    }

    fn judge(&self, key: &str, group: &Group, out: &mut Partial) {
        let (ls, rs) = group;
        // Duplicates are listed in cache order, whichever way they were gathered.
        let sorted;
        let (ls, rs) = if ls.len() > 1 || rs.len() > 1 {
            let mut l = ls.clone();
            let mut r = rs.clone();
            l.sort_by_key(|&i| self.left.ids[i]);
            r.sort_by_key(|&j| self.right.ids[j]);
            sorted = (l, r);
            (&sorted.0, &sorted.1)
        } else {
            (ls, rs)
        };
        if ls.len() == 1
            && rs.len() == 1
            && !key.starts_with('\u{1e}')
            && self.in_sync_fast(ls[0], rs[0])
        {
            if self.explicit.contains_key(key) {
                out.deletes.push(key.to_string());
            }
            *out.counts.entry(Kind::InSync.as_str().into()).or_default() += 1;
            return;
        }
        let left_ids: Vec<String> = ls.iter().map(|&i| self.left.keys[i].to_string()).collect();
        let right_ids: Vec<String> = rs.iter().map(|&j| self.right.keys[j].to_string()).collect();
        let mut h = Xxh3::new();
        h.update(self.config_hash);
        for &i in ls {
            h.update(&self.left.hashes[i].to_le_bytes());
        }
        h.update(b"|");
        for &j in rs {
            h.update(&self.right.hashes[j].to_le_bytes());
        }
        let input_hash = hash_hex(&h);
        let mut reasons = Vec::new();
        let map_left = |i: usize| self.mapping.map_left(&self.left.values(i));
        let right_owned = |j: usize| -> Vec<Value> {
            let vals = self.right.values(j);
            self.right_target(&vals)
                .into_iter()
                .map(|v| v.map(str::to_string))
                .collect()
        };
        let (mut kind, fields) = if key.starts_with('\u{1e}') && !ls.is_empty() {
            reasons.push(Reason {
                code: "empty_key".into(),
                field: None,
                message: format!(
                    "the key ({}) is empty on the left record; it cannot be matched",
                    self.config.key.join(", ")
                ),
                value: None,
            });
            (
                Kind::Conflict,
                side_only(self.specs, &map_left(ls[0]).0, None),
            )
        } else if ls.len() > 1 || rs.len() > 1 {
            let side = if ls.len() > 1 { "left" } else { "right" };
            let count = ls.len().max(rs.len());
            let ids = if ls.len() > 1 { &left_ids } else { &right_ids };
            reasons.push(Reason {
                code: "duplicate_key".into(),
                field: None,
                message: format!(
                    "key {} is used by {count} records on the {side} ({}): which one is meant?",
                    crate::records::display_key(key),
                    ids.iter()
                        .map(|k| crate::records::display_key(k))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                value: None,
            });
            let l = ls.first().map(|&i| map_left(i).0);
            let r = rs.first().map(|&j| right_owned(j));
            let fields = match (&l, &r) {
                (Some(l), Some(r)) => compare_pair(self.specs, l, r, None, Times::default()).1,
                (Some(l), None) => side_only(self.specs, l, None),
                (None, Some(r)) => side_only(self.specs, r, Some(())),
                _ => vec![],
            };
            (Kind::Conflict, fields)
        } else if ls.len() == 1 && rs.len() == 1 {
            let (i, j) = (ls[0], rs[0]);
            let (lv, issues) = map_left(i);
            let rv = right_owned(j);
            let times = Times {
                left: self
                    .left_time_idx
                    .and_then(|t| compare::parse_time(&self.left.values(i)[t].map(str::to_string))),
                right: self.right_time_idx.and_then(|t| {
                    compare::parse_time(&self.right.values(j)[t].map(str::to_string))
                }),
            };
            let baseline = self.baseline(key, j);
            let (mut kind, mut fields, more) =
                compare_pair(self.specs, &lv, &rv, baseline.as_ref(), times);
            reasons.extend(more);
            for issue in &issues {
                reasons.push(Reason::from(issue));
                if let Some(f) = fields.iter_mut().find(|f| f.field == issue.field) {
                    f.status = FieldStatus::Conflict;
                    f.proposed = f.right.clone();
                }
                kind = Kind::Conflict;
            }
            // Fields that agree now are the new baseline for them.
            // Fields that agree now are their own baseline from here on.
            let mut agreed: Baseline = baseline.clone().unwrap_or_default();
            for f in fields.iter_mut() {
                if f.status == FieldStatus::Same {
                    agreed.insert(f.field.clone(), f.right.clone());
                    f.baseline = f.right.clone();
                }
            }
            if kind == Kind::InSync {
                if self.explicit.contains_key(key) {
                    out.deletes.push(key.to_string());
                }
            } else if !agreed.is_empty() && self.explicit.get(key) != Some(&agreed) {
                out.upserts.push((key.to_string(), agreed));
            }
            (kind, fields)
        } else if ls.len() == 1 {
            let (lv, issues) = map_left(ls[0]);
            let mut kind = Kind::Create;
            for issue in &issues {
                reasons.push(Reason::from(issue));
                kind = Kind::Conflict;
            }
            (kind, side_only(self.specs, &lv, None))
        } else {
            (
                Kind::Orphan,
                side_only(self.specs, &right_owned(rs[0]), Some(())),
            )
        };
        if matches!(kind, Kind::Create | Kind::Update) {
            let mut failures = Vec::new();
            for (f, field) in fields.iter().enumerate() {
                if kind == Kind::Create || field.status == FieldStatus::Update {
                    self.rules[f].check(&field.proposed, &mut failures);
                }
            }
            if !failures.is_empty() {
                reasons.extend(failures.iter().map(Reason::from));
                kind = Kind::Conflict;
            }
        }
        *out.counts.entry(kind.as_str().into()).or_default() += 1;
        if kind != Kind::InSync {
            out.proposals.push(Proposal {
                match_key: key.to_string(),
                label: self.label(key, ls, rs),
                left_keys: left_ids,
                right_keys: right_ids,
                kind,
                reasons,
                fields,
                input_hash,
            });
        }
    }
}

/// Computes match keys for `n` records in two halves on two threads.
fn keys_in_parallel(
    n: usize,
    key_of: &(dyn Fn(usize) -> Option<String> + Sync),
) -> Vec<Option<String>> {
    let mid = n / 2;
    std::thread::scope(|s| {
        let first = s.spawn(|| (0..mid).map(key_of).collect::<Vec<_>>());
        let second: Vec<_> = (mid..n).map(key_of).collect();
        let mut all = first.join().unwrap_or_default();
        all.extend(second);
        all
    })
}

/// What reconciling needs besides the records: compiled once per run.
pub(crate) struct Prepared {
    pub mapping: CompiledMapping,
    pub specs: Vec<FieldSpec>,
    pub rules: Vec<FieldRules>,
    pub config_hash: [u8; 16],
    pub config_hex: String,
    pub left_time_idx: Option<usize>,
    pub right_time_idx: Option<usize>,
}

fn prepare(
    ws: &Workspace,
    name: &str,
    config: &crate::config::ReconciliationConfig,
    left: &crate::records::Schema,
    right: &crate::records::Schema,
) -> Result<Prepared> {
    let mapping = CompiledMapping::compile(name, config, left, right, ws.dir())?;
    let left_cfg = ws.entity(&config.left)?;
    let right_cfg = ws.entity(&config.right)?;
    let mut ch = Xxh3::new();
    ch.update(serde_json::to_string(config).unwrap_or_default().as_bytes());
    ch.update(
        serde_json::to_string(&(left_cfg, right_cfg))
            .unwrap_or_default()
            .as_bytes(),
    );
    for map in config.value_maps.values() {
        if let Some(file) = &map.file {
            ch.update(&std::fs::read(ws.resolve(file)).unwrap_or_default());
        }
    }
    Ok(Prepared {
        specs: config
            .fields
            .iter()
            .map(|f| FieldSpec {
                name: f.target.clone(),
                ownership: f.ownership,
                tolerance: f.compare.clone(),
            })
            .collect(),
        rules: config
            .fields
            .iter()
            .map(|f| FieldRules::new(&f.target, &f.validate))
            .collect(),
        config_hash: ch.digest128().to_le_bytes(),
        config_hex: hash_hex(&ch),
        left_time_idx: left_cfg.updated_at.as_ref().and_then(|f| left.index(f)),
        right_time_idx: right_cfg.updated_at.as_ref().and_then(|f| right.index(f)),
        mapping,
    })
}

/// Judges groups on two threads.
fn judge_groups(
    ctx: &Ctx<'_>,
    groups: &[(String, Group)],
    progress: &dyn Progress,
) -> Result<Partial> {
    let judge_all = |share: &[(String, Group)]| -> Result<Partial> {
        let mut out = Partial::default();
        for (n, (key, group)) in share.iter().enumerate() {
            if n.is_multiple_of(16_384) {
                check(progress)?;
                progress.advance(if n == 0 { 0 } else { 16_384 });
            }
            ctx.judge(key, group, &mut out);
        }
        Ok(out)
    };
    let mid = groups.len() / 2;
    let (a, b) = std::thread::scope(|s| {
        let first = s.spawn(|| judge_all(&groups[..mid]));
        let second = judge_all(&groups[mid..]);
        (
            first
                .join()
                .unwrap_or_else(|_| Err(Error::Invalid("comparing stopped unexpectedly".into()))),
            second,
        )
    });
    let (mut a, b) = (a?, b?);
    a.proposals.extend(b.proposals);
    a.upserts.extend(b.upserts);
    a.deletes.extend(b.deletes);
    for (k, c) in b.counts {
        *a.counts.entry(k).or_default() += c;
    }
    a.proposals
        .sort_unstable_by(|x, y| x.match_key.cmp(&y.match_key));
    Ok(a)
}

/// Group keys of records with no match key: one group each.
fn unkeyed(side: &str, id: &str) -> String {
    format!("\u{1e}{side}:{id}")
}

fn run_reconcile(
    ws: &mut Workspace,
    name: &str,
    config: &crate::config::ReconciliationConfig,
    now: &str,
    actor: &Actor,
    progress: &dyn Progress,
    run: i64,
) -> Result<ReconcileSummary> {
    if let Some(summary) =
        incremental::try_incremental(ws, name, config, now, actor, progress, run)?
    {
        return Ok(summary);
    }
    progress.stage("load", None);
    let path = ws.cache.path().to_path_buf();
    let (left, right) = std::thread::scope(|s| {
        let l = s.spawn(|| load::load_side(&path, &config.left));
        let r = load::load_side(&path, &config.right);
        let l = l
            .join()
            .unwrap_or_else(|_| Err(Error::cache(&path, "loading stopped unexpectedly")));
        (l, r)
    });
    let (left, right) = (left?, right?);
    check(progress)?;
    let prep = prepare(ws, name, config, &left.schema, &right.schema)?;
    let mapping = &prep.mapping;

    let prev = store::load_state(ws, name)?.filter(|s| s.config_hash == prep.config_hex);
    let prev_keys = store::proposal_keys(ws, name)?;
    let explicit = store::load_baselines(ws, name, None)?;
    let right_before = match &prev {
        Some(p) => store::versions_at(ws, &config.right, p.right_seq)?,
        None => HashMap::new(),
    };

    progress.stage("match", Some((left.keys.len() + right.keys.len()) as u64));
    let left_keys = keys_in_parallel(left.keys.len(), &|i| mapping.left_key(&left.values(i)));
    let right_keys = keys_in_parallel(right.keys.len(), &|j| mapping.right_key(&right.values(j)));
    check(progress)?;
    let links = store::load_links(ws, name)?;
    let link_idx: Vec<(usize, usize)> = if links.is_empty() {
        vec![]
    } else {
        let left_pos: HashMap<&str, usize> =
            left.keys.iter().enumerate().map(|(i, k)| (k, i)).collect();
        let right_pos: HashMap<&str, usize> =
            right.keys.iter().enumerate().map(|(i, k)| (k, i)).collect();
        links
            .iter()
            .filter_map(|(l, r)| Some((*left_pos.get(l.as_str())?, *right_pos.get(r.as_str())?)))
            .collect()
    };
    let matches = KeyMatcher.group(left_keys, right_keys, &link_idx);
    let mut groups: Vec<(String, Group)> = matches
        .groups
        .into_iter()
        .map(|(k, l, r)| (k, (l, r)))
        .collect();
    groups.extend(
        matches
            .left_unkeyed
            .iter()
            .map(|&i| (unkeyed("left", &left.keys[i]), (vec![i], vec![]))),
    );
    groups.extend(
        matches
            .right_unkeyed
            .iter()
            .map(|&j| (unkeyed("right", &right.keys[j]), (vec![], vec![j]))),
    );

    // The match index for the next, incremental, reconcile.
    let mut index = MatchIndex {
        run_id: run,
        left: Vec::with_capacity(left.ids.len()),
        right: Vec::with_capacity(right.ids.len()),
    };
    for (key, (ls, rs)) in &groups {
        let h = index::key_hash(key);
        index.left.extend(ls.iter().map(|&i| (left.ids[i], h)));
        index.right.extend(rs.iter().map(|&j| (right.ids[j], h)));
    }
    index.left.sort_unstable();
    index.right.sort_unstable();

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
        prev: prev.as_ref(),
        prev_keys: &prev_keys,
        right_before: &right_before,
    };
    let mut a = judge_groups(&ctx, &groups, progress)?;
    let mut summary = ReconcileSummary {
        reconciliation: name.into(),
        run,
        left_records: left.keys.len() as u64,
        right_records: right.keys.len() as u64,
        counts: std::mem::take(&mut a.counts),
        ..Default::default()
    };
    validate_unique(&prep.rules, &mut a.proposals, &right, mapping, &mut summary);
    check(progress)?;
    progress.stage("save", Some(a.proposals.len() as u64));
    let state = State {
        left_seq: left.max_seq,
        right_seq: right.max_seq,
        config_hash: prep.config_hex.clone(),
        counts: BTreeMap::new(),
        run_id: run,
    };
    summary.stale_decisions = store::save(
        ws,
        name,
        run,
        store::Outcome {
            proposals: &a.proposals,
            replace: None,
            baselines: &a.upserts,
            dropped_baselines: &a.deletes,
            state: &state,
            counts: &summary.counts,
        },
        now,
        actor,
    )?;
    progress.stage("index", None);
    summary.conflict_reasons = store::conflict_reasons(ws, name)?;
    // Without links or unique rules, the next reconcile can be incremental.
    let path = MatchIndex::path(ws.dir(), name);
    if links.is_empty() && !prep.rules.iter().any(|r| r.unique()) {
        index.save(&path)?;
    } else {
        let _ = std::fs::remove_file(&path);
    }
    progress.stage("release memory", None);
    Ok(summary)
}

/// Fields of a record present on one side only. `right_side` marks an orphan.
fn side_only(specs: &[FieldSpec], vals: &[Value], right_side: Option<()>) -> Vec<FieldDiff> {
    specs
        .iter()
        .zip(vals)
        .map(|(s, v)| FieldDiff {
            field: s.name.clone(),
            left: if right_side.is_some() {
                None
            } else {
                v.clone()
            },
            right: if right_side.is_some() {
                v.clone()
            } else {
                None
            },
            baseline: None,
            proposed: v.clone(),
            status: if right_side.is_some() {
                FieldStatus::Kept
            } else {
                FieldStatus::Update
            },
            note: None,
        })
        .collect()
}

/// Applies `unique` rules across every record's final value.
fn validate_unique(
    rules: &[FieldRules],
    proposals: &mut [Proposal],
    right: &Side,
    mapping: &CompiledMapping,
    summary: &mut ReconcileSummary,
) {
    for (i, rule) in rules.iter().enumerate() {
        if !rule.unique() {
            continue;
        }
        // Values the right side holds now, excluding those a proposal replaces.
        let mut seen: HashMap<String, usize> = HashMap::new();
        for j in 0..right.keys.len() {
            if let Some(s) = right.values(j).get(mapping.right_idx[i]).copied().flatten() {
                *seen.entry(s.to_lowercase()).or_default() += 1;
            }
        }
        for p in proposals.iter() {
            if let Some(f) = p.fields.get(i)
                && matches!(p.kind, Kind::Update)
                && f.status == FieldStatus::Update
                && let Some(old) = &f.right
                && let Some(c) = seen.get_mut(&old.to_lowercase())
            {
                *c = c.saturating_sub(1);
            }
        }
        for p in proposals.iter_mut() {
            let Some(f) = p.fields.get(i) else { continue };
            let sends = p.kind == Kind::Create
                || (p.kind == Kind::Update && f.status == FieldStatus::Update);
            if !sends {
                continue;
            }
            let Some(v) = f.proposed.clone() else {
                continue;
            };
            let c = seen.entry(v.to_lowercase()).or_default();
            *c += 1;
            if *c > 1 {
                let was = p.kind;
                p.kind = Kind::Conflict;
                p.reasons.push(Reason {
                    code: "validation".into(),
                    field: Some(f.field.clone()),
                    message: format!(
                        "{} (unique): {v:?} is already used by another record",
                        f.field
                    ),
                    value: Some(v.to_string()),
                });
                *summary.counts.entry(was.as_str().into()).or_default() -= 1;
                *summary.counts.entry("conflict".into()).or_default() += 1;
            }
        }
    }
}
