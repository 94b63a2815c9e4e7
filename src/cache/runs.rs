//! Run history: when each pull, reconcile and export ran, its counts,
//! failures and duration.

use serde::Serialize;

use super::Cache;
use crate::error::Result;

/// What kind of run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// A pull of one entity.
    Pull,
    /// A reconcile of one reconciliation.
    Reconcile,
    /// A push (later issue).
    Push,
    /// An export.
    Export,
}

impl RunKind {
    fn as_str(self) -> &'static str {
        match self {
            RunKind::Pull => "pull",
            RunKind::Reconcile => "reconcile",
            RunKind::Push => "push",
            RunKind::Export => "export",
        }
    }
}

/// One row of run history.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// Run id.
    pub id: i64,
    /// pull, reconcile, push, export.
    pub kind: String,
    /// The entity or reconciliation it ran on.
    pub subject: String,
    /// Start time (RFC 3339).
    pub started_at: String,
    /// End time, when finished.
    pub finished_at: Option<String>,
    /// running, ok, failed, cancelled.
    pub status: String,
    /// Counts by category (JSON object).
    pub counts: serde_json::Value,
    /// How many records failed.
    pub failures: i64,
    /// The error, when it failed.
    pub message: Option<String>,
    /// Who/where started it.
    pub origin: String,
}

impl Cache {
    /// Records the start of a run; returns its id.
    pub fn start_run(&self, kind: RunKind, subject: &str, at: &str, origin: &str) -> Result<i64> {
        self.conn
            .execute(
                "INSERT INTO runs (kind, subject, started_at, status, origin) VALUES (?1, ?2, ?3, 'running', ?4)",
                (kind.as_str(), subject, at, origin),
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records the end of a run.
    pub fn finish_run(
        &self,
        id: i64,
        at: &str,
        status: &str,
        counts: &serde_json::Value,
        failures: i64,
        message: Option<&str>,
    ) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET finished_at = ?2, status = ?3, counts = ?4, failures = ?5, message = ?6 WHERE id = ?1",
                (id, at, status, counts.to_string(), failures, message),
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Records how a run ended: `ok` with its counts and failures, or
    /// `cancelled` / `failed` with the error. A failure to record a failed
    /// run is ignored: the run's own error is what the caller must see.
    pub fn end_run<T>(
        &self,
        id: i64,
        at: &str,
        result: &crate::Result<T>,
        outcome: impl Fn(&T) -> (serde_json::Value, i64),
    ) -> crate::Result<()> {
        match result {
            Ok(v) => {
                let (counts, failures) = outcome(v);
                self.finish_run(id, at, "ok", &counts, failures, None)
            }
            Err(e) => {
                let status = if matches!(e, crate::Error::Cancelled) {
                    "cancelled"
                } else {
                    "failed"
                };
                let _ = self.finish_run(
                    id,
                    at,
                    status,
                    &serde_json::json!({}),
                    0,
                    Some(&e.to_string()),
                );
                Ok(())
            }
        }
    }

    /// The most recent runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<Run>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, kind, subject, started_at, finished_at, status, counts, failures, message, origin \
                 FROM runs ORDER BY id DESC LIMIT ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                let counts: String = r.get(6)?;
                Ok(Run {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    subject: r.get(2)?,
                    started_at: r.get(3)?,
                    finished_at: r.get(4)?,
                    status: r.get(5)?,
                    counts: serde_json::from_str(&counts).unwrap_or_default(),
                    failures: r.get(7)?,
                    message: r.get(8)?,
                    origin: r.get(9)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }
}
