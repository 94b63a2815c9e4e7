//! Review: a person's verdict on a proposal — approve, reject, or correct
//! (edit the values to send) — one at a time or on every proposal matching
//! a filter. Each decision records who, when, from where, and the exact
//! values approved with their SHA-256 hash. A decision stays valid while the
//! proposal's inputs are unchanged; a reconcile marks it stale otherwise.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::ReconciliationConfig;
use crate::error::{Error, Result};
use crate::progress::Actor;
use crate::reconcile::validation::{FieldRules, RuleFailure};
use crate::reconcile::{Filter, Kind, Proposal};
use crate::records::Value;
use crate::workspace::Workspace;

/// A person's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Send the proposed values.
    Approve,
    /// Send nothing.
    Reject,
    /// Send the corrected values.
    Correct,
    /// Delete an orphan from the target: a separate, explicit approval.
    Delete,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::Reject => "reject",
            Verdict::Correct => "correct",
            Verdict::Delete => "delete",
        }
    }
}

/// A recorded decision.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// Decision id.
    pub id: i64,
    /// The reconciliation.
    pub recon: String,
    /// The proposal's match key.
    pub match_key: String,
    /// approve, reject, correct, delete.
    pub verdict: String,
    /// The values to send (field, value), exactly as approved.
    pub values: Vec<(String, Value)>,
    /// SHA-256 of the values, hex.
    pub values_hash: String,
    /// Who decided.
    pub who: String,
    /// When.
    pub at: String,
    /// From where (cli, desktop, ...).
    pub origin: String,
    /// current, stale or undone.
    pub state: String,
}

/// The outcome of a bulk decision.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BulkOutcome {
    /// Proposals decided.
    pub decided: u64,
    /// Proposals that could not take this verdict, with the reason.
    pub refused: Vec<(String, String)>,
}

/// The SHA-256 (hex) of values to send, in a canonical form.
pub fn values_hash(values: &[(String, Value)]) -> String {
    let mut sorted: Vec<&(String, Value)> = values.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let canonical = serde_json::to_string(&sorted).unwrap_or_default();
    let digest = Sha256::digest(canonical.as_bytes());
    crate::records::hex(&digest)
}

fn check_rules(config: &ReconciliationConfig, values: &[(String, Value)]) -> Vec<RuleFailure> {
    let mut failures = Vec::new();
    for (field, v) in values {
        if let Some(f) = config.fields.iter().find(|f| &f.target == field) {
            FieldRules::new(field, &f.validate).check(v, &mut failures);
        }
    }
    failures
}

/// Works out the values a verdict would send, or why it cannot be given.
fn values_for(
    config: &ReconciliationConfig,
    p: &Proposal,
    verdict: Verdict,
    corrections: &[(String, Value)],
) -> std::result::Result<Vec<(String, Value)>, String> {
    match verdict {
        Verdict::Reject => Ok(vec![]),
        Verdict::Delete => {
            if p.kind != Kind::Orphan {
                return Err(format!(
                    "only orphans can be deleted; this proposal is {}",
                    p.kind.as_str()
                ));
            }
            Ok(vec![])
        }
        Verdict::Approve => match p.kind {
            Kind::Create | Kind::Update => Ok(p.values_to_send()),
            Kind::Orphan => Err(
                "an orphan is never deleted by approval; use the separate delete verdict".into(),
            ),
            Kind::Conflict => Err(format!(
                "a conflict cannot be approved as is ({}); correct it with the values to send",
                p.reasons
                    .iter()
                    .map(|r| r.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
            Kind::InSync => Err("nothing to send".into()),
        },
        Verdict::Correct => {
            if p.kind == Kind::Orphan {
                return Err("an orphan has nothing to send to correct".into());
            }
            let mut values = p.values_to_send();
            for (field, v) in corrections {
                if !config.fields.iter().any(|f| &f.target == field) {
                    return Err(format!(
                        "{field:?} is not a target field of this reconciliation"
                    ));
                }
                match values.iter_mut().find(|(f, _)| f == field) {
                    Some(slot) => slot.1 = v.clone(),
                    None => values.push((field.clone(), v.clone())),
                }
            }
            if values.is_empty() {
                return Err("give at least one field=value to send".into());
            }
            Ok(values)
        }
    }
}

impl Workspace {
    /// The validation rules of `recon` that `values` (field, value) break, as
    /// a correction would be checked (all rules but `unique`). For checking
    /// while a person types; [`Workspace::decide`] checks again.
    pub fn check_values(
        &self,
        recon: &str,
        values: &[(String, Value)],
    ) -> Result<Vec<crate::reconcile::validation::RuleFailure>> {
        Ok(check_rules(self.reconciliation(recon)?, values))
    }

    /// Decides on the proposal with `key` in `recon`.
    pub fn decide(
        &mut self,
        recon: &str,
        key: &str,
        verdict: Verdict,
        corrections: &[(String, Value)],
        now: &str,
        actor: &Actor,
    ) -> Result<Decision> {
        let config = self.reconciliation(recon)?.clone();
        let row = self.proposal(recon, key)?;
        let shown = if row.proposal.label.is_empty() {
            crate::records::display_key(&row.proposal.match_key)
        } else {
            row.proposal.label.clone()
        };
        let values = values_for(&config, &row.proposal, verdict, corrections)
            .map_err(|reason| Error::Invalid(format!("{shown}: {reason}")))?;
        let failures = check_rules(&config, &values);
        if !failures.is_empty() {
            return Err(Error::Invalid(format!(
                "{shown}: cannot {}: {}",
                verdict.as_str(),
                failures
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            )));
        }
        self.insert_decision(recon, &row.proposal, verdict, values, now, actor)
    }

    fn insert_decision(
        &self,
        recon: &str,
        p: &Proposal,
        verdict: Verdict,
        values: Vec<(String, Value)>,
        now: &str,
        actor: &Actor,
    ) -> Result<Decision> {
        let hash = values_hash(&values);
        self.cache
            .conn
            .execute(
                "INSERT INTO decisions (recon, match_key, verdict, vals, values_hash, input_hash, who, at, origin) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                (
                    recon,
                    &p.match_key,
                    verdict.as_str(),
                    serde_json::to_string(&values).unwrap_or_default(),
                    &hash,
                    &p.input_hash,
                    &actor.who,
                    now,
                    &actor.origin,
                ),
            )
            .map_err(|e| self.cache.err(e))?;
        Ok(Decision {
            id: self.cache.conn.last_insert_rowid(),
            recon: recon.into(),
            match_key: p.match_key.clone(),
            verdict: verdict.as_str().into(),
            values,
            values_hash: hash,
            who: actor.who.clone(),
            at: now.into(),
            origin: actor.origin.clone(),
            state: "current".into(),
        })
    }

    /// Gives `verdict` to every proposal matching `filter` (approve skips
    /// those that cannot be approved and says why). One transaction.
    pub fn decide_all(
        &mut self,
        recon: &str,
        filter: &Filter,
        verdict: Verdict,
        now: &str,
        actor: &Actor,
    ) -> Result<BulkOutcome> {
        let config = self.reconciliation(recon)?.clone();
        if verdict == Verdict::Correct {
            return Err(Error::Invalid(
                "corrections are made one proposal at a time".into(),
            ));
        }
        let mut todo = Vec::new();
        self.for_each_proposal(recon, filter, |row| {
            todo.push(row.proposal.clone());
            Ok(())
        })?;
        let mut outcome = BulkOutcome::default();
        self.cache
            .conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.cache.err(e))?;
        let result = (|| -> Result<()> {
            for p in &todo {
                match values_for(&config, p, verdict, &[]) {
                    Ok(values) => {
                        let failures = check_rules(&config, &values);
                        if failures.is_empty() {
                            self.insert_decision(recon, p, verdict, values, now, actor)?;
                            outcome.decided += 1;
                        } else {
                            outcome.refused.push((
                                crate::records::display_key(&p.match_key),
                                failures
                                    .iter()
                                    .map(|f| f.message.clone())
                                    .collect::<Vec<_>>()
                                    .join("; "),
                            ));
                        }
                    }
                    Err(reason) => outcome
                        .refused
                        .push((crate::records::display_key(&p.match_key), reason)),
                }
            }
            Ok(())
        })();
        match result {
            Ok(()) => self
                .cache
                .conn
                .execute_batch("COMMIT")
                .map_err(|e| self.cache.err(e))?,
            Err(e) => {
                let _ = self.cache.conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
        Ok(outcome)
    }

    /// Undoes the latest current decision in `recon` (by `actor`); returns it.
    pub fn undo_last_decision(&mut self, recon: &str, actor: &Actor) -> Result<Option<Decision>> {
        let last = self
            .decisions(recon, None)?
            .into_iter()
            .rev()
            .find(|d| d.state == "current" && d.who == actor.who);
        if let Some(d) = &last {
            self.cache
                .conn
                .execute(
                    "UPDATE decisions SET state = 'undone' WHERE id = ?1",
                    [d.id],
                )
                .map_err(|e| self.cache.err(e))?;
        }
        Ok(last)
    }

    /// All decisions of `recon` (optionally only in `state`), oldest first.
    pub fn decisions(&self, recon: &str, state: Option<&str>) -> Result<Vec<Decision>> {
        let mut stmt = self
            .cache
            .conn
            .prepare(
                "SELECT id, recon, match_key, verdict, vals, values_hash, who, at, origin, state FROM decisions \
                 WHERE recon = ?1 AND (?2 IS NULL OR state = ?2) ORDER BY id",
            )
            .map_err(|e| self.cache.err(e))?;
        let rows = stmt
            .query_map((recon, state), |r| {
                let vals: String = r.get(4)?;
                Ok(Decision {
                    id: r.get(0)?,
                    recon: r.get(1)?,
                    match_key: r.get(2)?,
                    verdict: r.get(3)?,
                    values: serde_json::from_str(&vals).unwrap_or_default(),
                    values_hash: r.get(5)?,
                    who: r.get(6)?,
                    at: r.get(7)?,
                    origin: r.get(8)?,
                    state: r.get(9)?,
                })
            })
            .map_err(|e| self.cache.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.cache.err(e))
    }
}

#[cfg(test)]
mod check_values_tests {
    use crate::Workspace;

    #[test]
    fn values_are_checked_against_the_rules_as_typed() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::init_demo(dir.path()).unwrap();
        let failures = ws
            .check_values(
                "customers",
                &[
                    ("Customer Number".into(), Some("not-a-number".into())),
                    ("E-mail".into(), Some("anna@example.de".into())),
                    ("Status".into(), Some("gone".into())),
                    ("Company Name".into(), None),
                ],
            )
            .unwrap();
        let rules: Vec<(&str, &str)> = failures
            .iter()
            .map(|f| (f.field.as_str(), f.rule.as_str()))
            .collect();
        assert_eq!(
            rules,
            [
                ("Customer Number", "regex"),
                ("Status", "enum"),
                ("Company Name", "required")
            ]
        );
        assert!(ws.check_values("nope", &[]).is_err());
    }
}
