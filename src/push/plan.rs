//! The push plan (dry run): what the current decisions would send, worked
//! out without touching the target. The real push journals exactly this
//! plan, so what the dry run lists is what is sent.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::journal::{self, Category, NewEntry, State};
use crate::connectors::{EntitySource, Field, WriteKind};
use crate::error::Result;
use crate::reconcile::Kind;
use crate::reconcile::validation::FieldRules;
use crate::records::Value;
use crate::review::values_hash;
use crate::workspace::Workspace;

/// The system and entity a reconciliation pushes to.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// The system's name.
    pub system: String,
    /// The right entity.
    pub entity: String,
    /// Its id fields.
    pub id_fields: Vec<String>,
    #[serde(skip)]
    pub(crate) source: EntitySource,
}

impl Target {
    /// The target of `recon`: its right entity.
    pub fn of(ws: &Workspace, recon: &str) -> Result<Target> {
        let config = ws.reconciliation(recon)?;
        let entity = ws.entity(&config.right)?;
        Ok(Target {
            system: entity.system.clone(),
            entity: config.right.clone(),
            id_fields: entity.id.clone(),
            source: Workspace::entity_source(entity),
        })
    }

    /// `system/entity`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.system, self.entity)
    }

    /// The id fields of a right record, from its cache key.
    pub fn id_of(&self, key: &str) -> Vec<Field> {
        self.id_fields
            .iter()
            .zip(key.split('\u{1f}'))
            .map(|(f, v)| (f.clone(), crate::records::value_from(v)))
            .collect()
    }
}

/// One field of a change: old → new.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// The target field.
    pub field: String,
    /// The target's value as pulled.
    pub old: Value,
    /// The value to send.
    pub new: Value,
}

/// One change the push would send.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedChange {
    /// The proposal's match key.
    pub match_key: String,
    /// The decision carried out.
    pub decision_id: i64,
    /// approve, correct or delete.
    pub verdict: String,
    /// insert, update or delete.
    pub op: WriteKind,
    /// The target record's id fields (empty: the target assigns the id).
    pub record: Vec<Field>,
    /// Field by field, old → new (for a delete: the values removed).
    pub fields: Vec<FieldChange>,
    /// The values sent, exactly as approved.
    pub values: Vec<Field>,
    /// The values the target must still hold (the before-image).
    pub before: Vec<Field>,
    /// SHA-256 of the values (the decision's hash).
    pub values_hash: String,
    /// Stable key of this change across retries and resumes.
    pub idempotency_key: String,
}

/// An approved change that cannot be sent as it is.
#[derive(Debug, Clone, Serialize)]
pub struct InvalidChange {
    /// The proposal's match key.
    pub match_key: String,
    /// The decision.
    pub decision_id: i64,
    /// Why, one sentence per failing rule.
    pub reasons: Vec<String>,
    /// The values approved.
    pub values: Vec<Field>,
    /// The SHA-256 recorded with the decision (values that do not match it
    /// are never sent, not even by `--retry-failed`).
    pub values_hash: String,
}

/// What a push would do.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The reconciliation.
    pub recon: String,
    /// Where it writes.
    pub target: Target,
    /// Inserts and updates, in decision order.
    pub writes: Vec<PlannedChange>,
    /// Deletes (from separate `delete` approvals only), in decision order.
    pub deletes: Vec<PlannedChange>,
    /// Approved changes that fail validation now; not sent.
    pub invalid: Vec<InvalidChange>,
    /// Count per kind: insert, update, delete, invalid.
    pub counts: BTreeMap<String, u64>,
    /// Decisions already journaled by an earlier push (not planned again).
    pub already_journaled: u64,
}

/// The stable idempotency key of the change carrying out `decision_id`:
/// the decision's id (zero-padded, so keys journaled in decision order
/// land at the end of the journal's unique index instead of at random
/// places in it) and a digest of the reconciliation and the approved
/// values' hash.
pub fn idempotency_key(recon: &str, decision_id: i64, values_hash: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"trueup-push\0");
    h.update(recon.as_bytes());
    h.update(b"\0");
    h.update(decision_id.to_string().as_bytes());
    h.update(b"\0");
    h.update(values_hash.as_bytes());
    let hex = crate::records::hex(&h.finalize()[..10]);
    format!("tu-{decision_id:012}-{hex}")
}

pub(crate) fn rules_of(ws: &Workspace, recon: &str) -> Result<HashMap<String, FieldRules>> {
    Ok(ws
        .reconciliation(recon)?
        .fields
        .iter()
        .map(|f| (f.target.clone(), FieldRules::new(&f.target, &f.validate)))
        .collect())
}

/// Checks values against the reconciliation's rules (all but `unique`).
pub(crate) fn check_values(rules: &HashMap<String, FieldRules>, values: &[Field]) -> Vec<String> {
    let mut failures = Vec::new();
    for (f, v) in values {
        if let Some(r) = rules.get(f) {
            r.check(v, &mut failures);
        }
    }
    failures.into_iter().map(|f| f.message).collect()
}

/// What the plan needs of a proposal: its kind, its target records, and
/// the target's values as pulled, field by field.
struct PlanProposal {
    kind: Kind,
    right_keys: Vec<String>,
    rights: Vec<Field>,
}

/// One field of a stored proposal, as far as the plan reads it.
#[derive(serde::Deserialize)]
struct RightValue {
    field: String,
    right: Value,
}

/// The latest current decision of a proposal, with what the plan needs of
/// the proposal (none for a rejection, a decision already journaled, or a
/// proposal gone).
struct Approved {
    id: i64,
    match_key: String,
    verdict: String,
    values: Vec<Field>,
    values_hash: String,
    proposal: Option<PlanProposal>,
}

/// The latest current decision of each proposal of `recon`, in decision
/// order, each with its proposal: one statement (decisions joined to their
/// proposals by key), only the columns the plan reads.
fn approved(ws: &Workspace, recon: &str) -> Result<Vec<Approved>> {
    let e = |x: rusqlite::Error| ws.cache.err(x);
    let json = |x: serde_json::Error| ws.cache.err(x);
    let mut stmt = ws
        .cache
        .conn
        .prepare(
            "SELECT d.id, d.match_key, d.verdict, d.vals, d.values_hash, p.kind, p.right_keys, p.fields \
             FROM decisions d \
             LEFT JOIN proposals p ON d.verdict <> 'reject' AND p.recon = d.recon AND p.match_key = d.match_key \
                 AND NOT EXISTS (SELECT 1 FROM journal j WHERE j.recon = d.recon AND j.decision_id = d.id) \
             WHERE d.recon = ?1 AND d.state = 'current' \
                 AND NOT EXISTS (SELECT 1 FROM decisions n WHERE n.recon = d.recon \
                     AND n.match_key = d.match_key AND n.state = 'current' AND n.id > d.id)",
        )
        .map_err(e)?;
    let mut rows = stmt.query([recon]).map_err(e)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(e)? {
        let text = |i: usize| -> Result<Option<&str>> {
            match r.get_ref(i).map_err(e)? {
                rusqlite::types::ValueRef::Null => Ok(None),
                v => v.as_str().map(Some).map_err(|x| ws.cache.err(x)),
            }
        };
        let proposal = match (text(5)?, text(6)?, text(7)?) {
            (Some(kind), Some(right_keys), Some(fields)) => {
                let fields: Vec<RightValue> = serde_json::from_str(fields).map_err(json)?;
                Some(PlanProposal {
                    kind: Kind::parse(kind).unwrap_or(Kind::Conflict),
                    right_keys: serde_json::from_str(right_keys).map_err(json)?,
                    rights: fields.into_iter().map(|f| (f.field, f.right)).collect(),
                })
            }
            _ => None,
        };
        out.push(Approved {
            id: r.get(0).map_err(e)?,
            match_key: r.get(1).map_err(e)?,
            verdict: r.get(2).map_err(e)?,
            values: serde_json::from_str(text(3)?.unwrap_or("[]")).unwrap_or_default(),
            values_hash: r.get(4).map_err(e)?,
            proposal,
        });
    }
    // In decision order: sorted here, not by SQLite, which walks the
    // decisions by key and would copy every row, proposal and all, into a
    // temporary tree to sort it.
    out.sort_unstable_by_key(|a| a.id);
    Ok(out)
}

/// Works out the plan of `recon` from its current decisions.
pub fn plan(ws: &Workspace, recon: &str) -> Result<Plan> {
    let target = Target::of(ws, recon)?;
    let rules = rules_of(ws, recon)?;
    let journaled = journal::journaled_decisions(&ws.cache, recon)?;
    let mut plan = Plan {
        recon: recon.to_string(),
        target: target.clone(),
        writes: vec![],
        deletes: vec![],
        invalid: vec![],
        counts: BTreeMap::new(),
        already_journaled: 0,
    };
    // Taken by value: what a change carries is moved into it, not copied
    // (for 100 000 changes: 275 -> 242 MiB resident after the plan).
    for d in approved(ws, recon)? {
        if d.verdict == "reject" {
            continue;
        }
        if journaled.contains(&d.id) {
            plan.already_journaled += 1;
            continue;
        }
        let invalid = |reasons: Vec<String>| InvalidChange {
            match_key: d.match_key.clone(),
            decision_id: d.id,
            reasons,
            values: d.values.clone(),
            values_hash: d.values_hash.clone(),
        };
        if values_hash(&d.values) != d.values_hash {
            plan.invalid.push(invalid(vec![
                "the approved values do not match their recorded SHA-256: the decision was altered after approval; review it again".into(),
            ]));
            continue;
        }
        let Some(p) = d.proposal.as_ref() else {
            plan.invalid.push(invalid(vec![
                "the proposal no longer exists (reconciled since); review it again".into(),
            ]));
            continue;
        };
        let right = |field: &str| -> Value {
            p.rights
                .iter()
                .find(|(f, _)| f == field)
                .and_then(|(_, v)| v.clone())
        };
        let (op, record, before) = if d.verdict == "delete" {
            if p.kind != Kind::Orphan || p.right_keys.len() != 1 {
                plan.invalid.push(invalid(vec![format!(
                    "a delete needs one orphan record; this proposal is {} with {} target records",
                    p.kind.as_str(),
                    p.right_keys.len()
                )]));
                continue;
            }
            let before: Vec<Field> = p.rights.clone();
            (WriteKind::Delete, target.id_of(&p.right_keys[0]), before)
        } else {
            match p.right_keys.len() {
                0 => {
                    // A create: its id is known when the values carry every id field.
                    let id: Option<Vec<Field>> = target
                        .id_fields
                        .iter()
                        .map(|f| d.values.iter().find(|(n, _)| n == f).cloned())
                        .collect();
                    (WriteKind::Insert, id.unwrap_or_default(), vec![])
                }
                1 => {
                    let before = d
                        .values
                        .iter()
                        .map(|(f, _)| (f.clone(), right(f)))
                        .collect();
                    (WriteKind::Update, target.id_of(&p.right_keys[0]), before)
                }
                n => {
                    plan.invalid.push(invalid(vec![format!(
                        "{n} target records share this key; which one to write is ambiguous"
                    )]));
                    continue;
                }
            }
        };
        let failures = check_values(&rules, &d.values);
        if !failures.is_empty() {
            plan.invalid.push(invalid(failures));
            continue;
        }
        let fields = if op == WriteKind::Delete {
            before
                .iter()
                .map(|(f, v)| FieldChange {
                    field: f.clone(),
                    old: v.clone(),
                    new: None,
                })
                .collect()
        } else {
            d.values
                .iter()
                .map(|(f, v)| FieldChange {
                    field: f.clone(),
                    old: if op == WriteKind::Insert {
                        None
                    } else {
                        right(f)
                    },
                    new: v.clone(),
                })
                .collect()
        };
        let idempotency_key = idempotency_key(recon, d.id, &d.values_hash);
        let change = PlannedChange {
            match_key: d.match_key,
            decision_id: d.id,
            verdict: d.verdict,
            op,
            record,
            fields,
            values: d.values,
            before,
            values_hash: d.values_hash,
            idempotency_key,
        };
        if op == WriteKind::Delete {
            plan.deletes.push(change);
        } else {
            plan.writes.push(change);
        }
    }
    recheck_unique(ws, &target, &rules, &mut plan)?;
    for c in plan.writes.iter().chain(&plan.deletes) {
        *plan
            .counts
            .entry(journal::op_str(c.op).to_string())
            .or_default() += 1;
    }
    if !plan.invalid.is_empty() {
        plan.counts
            .insert("invalid".into(), plan.invalid.len() as u64);
    }
    Ok(plan)
}

/// Checks `unique` rules again over what the target would hold after the
/// push: the cached target records, less the values the plan replaces or
/// deletes, plus every value it sends. Decisions made one by one (a
/// correction, two approvals that now collide) can break a rule that held
/// when each proposal was reconciled; such a write moves to `invalid`,
/// and the first sender of a value keeps it (decision order).
fn recheck_unique(
    ws: &Workspace,
    target: &Target,
    rules: &HashMap<String, FieldRules>,
    plan: &mut Plan,
) -> Result<()> {
    let unique: Vec<&str> = rules
        .iter()
        .filter(|(_, r)| r.unique())
        .map(|(f, _)| f.as_str())
        .collect();
    if unique.is_empty() || plan.writes.is_empty() {
        return Ok(());
    }
    let fields = ws.cache.entity_fields(&target.entity)?.unwrap_or_default();
    let columns: Vec<(&str, usize)> = unique
        .iter()
        .filter_map(|f| fields.iter().position(|n| n == f).map(|i| (*f, i)))
        .collect();
    let norm = |v: &str| v.trim().to_lowercase();
    // Per unique field (its position in `unique`) and normalised value: how many records hold it.
    let slot = |f: &str| unique.iter().position(|u| *u == f);
    let mut held: HashMap<(usize, String), u64> = HashMap::new();
    if !columns.is_empty() {
        let mut stmt = ws
            .cache
            .conn
            .prepare_cached("SELECT vals FROM records WHERE entity = ?1")
            .map_err(|e| ws.cache.err(e))?;
        let mut rows = stmt.query([&target.entity]).map_err(|e| ws.cache.err(e))?;
        while let Some(r) = rows.next().map_err(|e| ws.cache.err(e))? {
            let vals: String = r.get(0).map_err(|e| ws.cache.err(e))?;
            let vals: Vec<Option<&str>> = crate::records::unpack(&vals).collect();
            for (f, i) in &columns {
                if let Some(Some(v)) = vals.get(*i)
                    && !v.is_empty()
                    && let Some(k) = slot(f)
                {
                    *held.entry((k, norm(v))).or_default() += 1;
                }
            }
        }
    }
    // Values the plan takes away from records it changes or deletes, and
    // the values it sends, in decision order. A refused write keeps its old
    // values, which may refuse a later one: repeat until nothing changes.
    let releases = |c: &PlannedChange| -> Vec<(usize, String)> {
        c.before
            .iter()
            .filter(|(f, _)| c.op == WriteKind::Delete || c.values.iter().any(|(n, _)| n == f))
            .filter_map(|(f, old)| Some((slot(f)?, norm(old.as_deref()?))))
            .collect()
    };
    let mut refused: HashMap<usize, Vec<String>> = HashMap::new();
    loop {
        let mut after = held.clone();
        let kept = plan
            .writes
            .iter()
            .enumerate()
            .filter(|(i, _)| !refused.contains_key(i))
            .map(|(_, c)| c)
            .chain(&plan.deletes);
        for key in kept.flat_map(releases) {
            if let Some(n) = after.get_mut(&key) {
                *n = n.saturating_sub(1);
            }
        }
        let mut more = false;
        for (i, c) in plan.writes.iter().enumerate() {
            if refused.contains_key(&i) {
                continue;
            }
            let mut reasons = Vec::new();
            for (f, v) in &c.values {
                let (Some(k), Some(v)) = (slot(f), v.as_deref().filter(|v| !v.is_empty())) else {
                    continue;
                };
                let n = after.entry((k, norm(v))).or_default();
                *n += 1;
                if *n > 1 {
                    reasons.push(format!(
                        "{f} (unique): {v:?} is already used by another record of the target, or by an earlier change of this push"
                    ));
                }
            }
            if !reasons.is_empty() {
                refused.insert(i, reasons);
                more = true;
            }
        }
        if !more {
            break;
        }
    }
    let mut kept = Vec::with_capacity(plan.writes.len());
    for (i, c) in std::mem::take(&mut plan.writes).into_iter().enumerate() {
        match refused.remove(&i) {
            None => kept.push(c),
            Some(reasons) => plan.invalid.push(InvalidChange {
                match_key: c.match_key,
                decision_id: c.decision_id,
                reasons,
                values: c.values,
                values_hash: c.values_hash,
            }),
        }
    }
    plan.writes = kept;
    Ok(())
}

impl Plan {
    /// The journal entries of this plan: every write and delete `pending`,
    /// every invalid change `rejected` (validation), so it shows in the results.
    pub(crate) fn into_entries(
        self,
        mut baselines: HashMap<String, Box<serde_json::value::RawValue>>,
    ) -> Vec<NewEntry> {
        let recon = self.recon;
        let mut out: Vec<NewEntry> =
            Vec::with_capacity(self.writes.len() + self.deletes.len() + self.invalid.len());
        for c in self.writes.into_iter().chain(self.deletes) {
            out.push(NewEntry {
                // Moved, not copied: a plan holds one change per match key.
                baseline_before: baselines.remove(&c.match_key),
                match_key: c.match_key,
                decision_id: Some(c.decision_id),
                rollback_of: None,
                idempotency_key: c.idempotency_key,
                op: c.op,
                record: c.record,
                values: c.values,
                values_hash: c.values_hash,
                before: c.before,
                state: State::Pending,
                category: None,
                message: None,
            });
        }
        for i in self.invalid {
            out.push(NewEntry {
                idempotency_key: idempotency_key(&recon, i.decision_id, &i.values_hash),
                match_key: i.match_key,
                decision_id: Some(i.decision_id),
                rollback_of: None,
                op: WriteKind::Update,
                record: vec![],
                values: i.values,
                values_hash: i.values_hash,
                before: vec![],
                baseline_before: None,
                state: State::Rejected,
                category: Some(Category::Validation),
                message: Some(i.reasons.join("; ")),
            });
        }
        out
    }
}
