//! Reconciling: map, match, compare against the baseline, and store the
//! proposals.
//!
//! Reconcile reads both entities from the cache (never from the systems),
//! so it can run again at any time. Only proposals that need attention
//! (create, update, orphan, conflict) are stored; in-sync pairs are counted
//! and refresh the baseline of the fields that agree. Decisions on
//! proposals whose inputs changed are marked stale.

mod compare;
mod proposal;
mod store;
pub mod tolerance;
pub mod validation;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use xxhash_rust::xxh3::Xxh3;

pub use compare::{Baseline, FieldSpec, Times, compare_pair};
pub use proposal::{FieldDiff, FieldStatus, Kind, Proposal, Reason};
pub use store::{Filter, ProposalPage, ProposalRow};
pub use tolerance::values_equal;

use crate::cache::RunKind;
use crate::error::{Error, Result};
use crate::mapping::CompiledMapping;
use crate::matching::{KeyMatcher, Matcher, match_key};
use crate::progress::{Actor, Progress, check};
use crate::records::{Schema, Value};
use crate::workspace::Workspace;
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
}

pub(crate) struct Loaded {
    pub schema: Schema,
    pub keys: Vec<String>,
    pub hashes: Vec<u64>,
    pub values: Vec<Vec<Value>>,
}

pub(crate) fn load_entity(ws: &Workspace, entity: &str) -> Result<Loaded> {
    let fields = ws.cache.entity_fields(entity)?.ok_or_else(|| {
        Error::NotFound(format!(
            "entity {entity:?} has not been pulled yet; run `trueup pull {entity}` first"
        ))
    })?;
    let mut stmt = ws
        .cache
        .conn
        .prepare("SELECT key, hash, vals FROM records WHERE entity = ?1 ORDER BY id")
        .map_err(|e| ws.cache.err(e))?;
    let mut rows = stmt.query([entity]).map_err(|e| ws.cache.err(e))?;
    let mut out = Loaded {
        schema: Schema::new(fields),
        keys: vec![],
        hashes: vec![],
        values: vec![],
    };
    while let Some(r) = rows.next().map_err(|e| ws.cache.err(e))? {
        let vals: String = r.get(2).map_err(|e| ws.cache.err(e))?;
        let vals: Vec<Value> = serde_json::from_str(&vals).map_err(|e| ws.cache.err(e))?;
        out.keys.push(r.get(0).map_err(|e| ws.cache.err(e))?);
        out.hashes
            .push(r.get::<_, i64>(1).map_err(|e| ws.cache.err(e))? as u64);
        out.values.push(vals);
    }
    Ok(out)
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
    match &result {
        Ok(s) => ws.cache.finish_run(
            run,
            &progress.now(),
            "ok",
            &serde_json::to_value(&s.counts).unwrap_or_default(),
            *s.counts.get("conflict").unwrap_or(&0) as i64,
            None,
        )?,
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

fn run_reconcile(
    ws: &mut Workspace,
    name: &str,
    config: &crate::config::ReconciliationConfig,
    now: &str,
    actor: &Actor,
    progress: &dyn Progress,
    run: i64,
) -> Result<ReconcileSummary> {
    progress.stage("load", None);
    let left = load_entity(ws, &config.left)?;
    let right = load_entity(ws, &config.right)?;
    check(progress)?;
    let mapping = CompiledMapping::compile(name, config, &left.schema, &right.schema, ws.dir())?;
    let left_cfg = ws.entity(&config.left)?.clone();
    let right_cfg = ws.entity(&config.right)?.clone();
    let left_time_idx = left_cfg
        .updated_at
        .as_ref()
        .and_then(|f| left.schema.index(f));
    let right_time_idx = right_cfg
        .updated_at
        .as_ref()
        .and_then(|f| right.schema.index(f));

    let specs: Vec<FieldSpec> = config
        .fields
        .iter()
        .map(|f| FieldSpec {
            name: f.target.clone(),
            ownership: f.ownership,
            tolerance: f.compare.clone(),
        })
        .collect();
    let rules: Vec<FieldRules> = config
        .fields
        .iter()
        .map(|f| FieldRules::new(&f.target, &f.validate))
        .collect();
    let mut config_hash = Xxh3::new();
    config_hash.update(serde_json::to_string(config).unwrap_or_default().as_bytes());
    let config_hash = config_hash.digest128();

    progress.stage("map", Some(left.values.len() as u64));
    let mut mapped = Vec::with_capacity(left.values.len());
    for (i, vals) in left.values.iter().enumerate() {
        if i.is_multiple_of(10_000) {
            check(progress)?;
            progress.advance(10_000);
        }
        mapped.push(mapping.map_left(vals));
    }
    let right_vals: Vec<Vec<Value>> = right.values.iter().map(|v| mapping.pick_right(v)).collect();
    let key_of = |vals: &[Value]| {
        let parts: Vec<&Value> = mapping.key_idx.iter().map(|&i| &vals[i]).collect();
        match_key(&parts)
    };
    let left_keys: Vec<Option<String>> = mapped.iter().map(|(v, _)| key_of(v)).collect();
    let right_keys: Vec<Option<String>> = right_vals.iter().map(|v| key_of(v)).collect();

    // Stored links.
    let links = store::load_links(ws, name)?;
    let left_pos: HashMap<&str, usize> = left
        .keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let right_pos: HashMap<&str, usize> = right
        .keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let link_idx: Vec<(usize, usize)> = links
        .iter()
        .filter_map(|(l, r)| Some((*left_pos.get(l.as_str())?, *right_pos.get(r.as_str())?)))
        .collect();
    let matches = KeyMatcher.group(&left_keys, &right_keys, &link_idx);
    let baselines = store::load_baselines(ws, name)?;

    progress.stage("compare", Some(matches.groups.len() as u64));
    let mut proposals: Vec<Proposal> = Vec::new();
    let mut new_baselines: Vec<(String, Baseline)> = Vec::new();
    let mut summary = ReconcileSummary {
        reconciliation: name.into(),
        run,
        left_records: left.values.len() as u64,
        right_records: right.values.len() as u64,
        ..Default::default()
    };
    let mut groups: Vec<(&String, &Group)> = matches.groups.iter().collect();
    groups.sort_by(|a, b| a.0.cmp(b.0));
    let unkeyed_left: Vec<(String, Group)> = matches
        .left_unkeyed
        .iter()
        .map(|&i| (format!("\u{1e}left:{}", left.keys[i]), (vec![i], vec![])))
        .collect();
    let unkeyed_right: Vec<(String, Group)> = matches
        .right_unkeyed
        .iter()
        .map(|&j| (format!("\u{1e}right:{}", right.keys[j]), (vec![], vec![j])))
        .collect();
    let all: Vec<(&String, &Group)> = groups
        .into_iter()
        .chain(unkeyed_left.iter().map(|(k, v)| (k, v)))
        .chain(unkeyed_right.iter().map(|(k, v)| (k, v)))
        .collect();

    for (n, (key, (ls, rs))) in all.into_iter().enumerate() {
        if n.is_multiple_of(10_000) {
            check(progress)?;
            progress.advance(10_000);
        }
        let baseline = baselines.get(key.as_str());
        let mut h = Xxh3::new();
        h.update(&config_hash.to_le_bytes());
        for &i in ls {
            h.update(&left.hashes[i].to_le_bytes());
        }
        h.update(b"|");
        for &j in rs {
            h.update(&right.hashes[j].to_le_bytes());
        }
        let input_hash = hash_hex(&h);
        let left_keys_v: Vec<String> = ls.iter().map(|&i| left.keys[i].clone()).collect();
        let right_keys_v: Vec<String> = rs.iter().map(|&j| right.keys[j].clone()).collect();
        let mut reasons = Vec::new();
        let (kind, fields) = if key.starts_with('\u{1e}') && !ls.is_empty() {
            reasons.push(Reason {
                code: "empty_key".into(),
                field: None,
                message: format!(
                    "the key ({}) is empty on the left record; it cannot be matched",
                    config.key.join(", ")
                ),
            });
            let (vals, _) = &mapped[ls[0]];
            (Kind::Conflict, side_only(&specs, vals, None))
        } else if ls.len() > 1 || rs.len() > 1 {
            let side = if ls.len() > 1 { "left" } else { "right" };
            let count = ls.len().max(rs.len());
            let ids = if ls.len() > 1 {
                &left_keys_v
            } else {
                &right_keys_v
            };
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
            });
            let l = ls.first().map(|&i| mapped[i].0.clone());
            let r = rs.first().map(|&j| right_vals[j].clone());
            let fields = match (&l, &r) {
                (Some(l), Some(r)) => compare_pair(&specs, l, r, None, Times::default()).1,
                (Some(l), None) => side_only(&specs, l, None),
                (None, Some(r)) => side_only(&specs, r, Some(())),
                _ => vec![],
            };
            (Kind::Conflict, fields)
        } else if ls.len() == 1 && rs.len() == 1 {
            let (lv, issues) = &mapped[ls[0]];
            let rv = &right_vals[rs[0]];
            let times = Times {
                left: left_time_idx.and_then(|i| compare::parse_time(&left.values[ls[0]][i])),
                right: right_time_idx.and_then(|i| compare::parse_time(&right.values[rs[0]][i])),
            };
            let (mut kind, mut fields, rs_) = compare_pair(&specs, lv, rv, baseline, times);
            reasons.extend(rs_);
            for issue in issues {
                reasons.push(Reason::from(issue));
                if let Some(f) = fields.iter_mut().find(|f| f.field == issue.field) {
                    f.status = FieldStatus::Conflict;
                    f.proposed = f.right.clone();
                }
                kind = Kind::Conflict;
            }
            // Agreeing fields refresh the baseline.
            let mut agreed: Baseline = baseline.cloned().unwrap_or_default();
            for f in &fields {
                if f.status == FieldStatus::Same {
                    agreed.insert(f.field.clone(), f.right.clone());
                }
            }
            if baseline != Some(&agreed) && !agreed.is_empty() {
                new_baselines.push((key.clone(), agreed));
            }
            (kind, fields)
        } else if ls.len() == 1 {
            let (lv, issues) = &mapped[ls[0]];
            let mut kind = Kind::Create;
            for issue in issues {
                reasons.push(Reason::from(issue));
                kind = Kind::Conflict;
            }
            (kind, side_only(&specs, lv, None))
        } else {
            (
                Kind::Orphan,
                side_only(&specs, &right_vals[rs[0]], Some(())),
            )
        };
        let mut kind = kind;
        // Validation of what would be sent.
        if matches!(kind, Kind::Create | Kind::Update) {
            let mut failures = Vec::new();
            for (i, f) in fields.iter().enumerate() {
                if kind == Kind::Create || f.status == FieldStatus::Update {
                    rules[i].check(&f.proposed, &mut failures);
                }
            }
            if !failures.is_empty() {
                reasons.extend(failures.iter().map(Reason::from));
                kind = Kind::Conflict;
            }
        }
        *summary.counts.entry(kind.as_str().into()).or_default() += 1;
        if kind != Kind::InSync {
            proposals.push(Proposal {
                match_key: key.clone(),
                left_keys: left_keys_v,
                right_keys: right_keys_v,
                kind,
                reasons,
                fields,
                input_hash,
            });
        }
    }
    validate_unique(&rules, &mut proposals, &right_vals, &mut summary);
    for p in &proposals {
        if p.kind == Kind::Conflict {
            for r in &p.reasons {
                *summary.conflict_reasons.entry(r.code.clone()).or_default() += 1;
            }
        }
    }
    check(progress)?;
    progress.stage("save", Some(proposals.len() as u64));
    summary.stale_decisions = store::save(ws, name, run, &proposals, &new_baselines, now, actor)?;
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
    right_vals: &[Vec<Value>],
    summary: &mut ReconcileSummary,
) {
    for (i, rule) in rules.iter().enumerate() {
        if !rule.unique() {
            continue;
        }
        // Values the right side holds now, excluding those a proposal replaces.
        let mut seen: HashMap<String, usize> = HashMap::new();
        for v in right_vals {
            if let Some(s) = &v[i] {
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
                });
                *summary.counts.entry(was.as_str().into()).or_default() -= 1;
                *summary.counts.entry("conflict".into()).or_default() += 1;
            }
        }
    }
}
