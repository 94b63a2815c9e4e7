//! Pulling an entity from its system into the cache as a snapshot.
//!
//! A pull streams records from the connector, hashes each row, and compares
//! the hash with the cached one: only added, changed and removed records are
//! written. The whole pull is one transaction, so a failure or a Ctrl-C
//! leaves the cache exactly as it was (the snapshot is then recorded as
//! failed or cancelled, in its own transaction).

use std::collections::HashMap;

use serde::Serialize;

use crate::cache::{Cache, RunKind};
use crate::connectors::RecordSink;
use crate::error::{Error, Result};
use crate::progress::{Actor, Progress};
use crate::records::{Schema, Value, join_key, row_hash};
use crate::workspace::Workspace;

/// What a pull did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PullSummary {
    /// The entity pulled.
    pub entity: String,
    /// The snapshot id.
    pub snapshot: i64,
    /// Records read.
    pub records: u64,
    /// Records new since the last pull.
    pub added: u64,
    /// Records whose values changed.
    pub changed: u64,
    /// Records gone from the system.
    pub removed: u64,
    /// Problems with single records (duplicate ids, missing id), each naming the record.
    pub errors: Vec<String>,
}

struct Cached {
    id: i64,
    hash: u64,
    seen: bool,
}

struct PullSink<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    cache_path: &'a std::path::Path,
    entity: &'a str,
    id_fields: &'a [String],
    id_idx: Vec<usize>,
    existing: HashMap<String, Cached>,
    snapshot: i64,
    summary: PullSummary,
    first_origin: HashMap<String, u64>,
    progress: &'a dyn Progress,
    fields: Vec<String>,
}

impl PullSink<'_> {
    fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::cache(self.cache_path, e)
    }
}

impl RecordSink for PullSink<'_> {
    fn schema(&mut self, schema: &Schema) -> Result<()> {
        self.fields = schema.fields.clone();
        self.id_idx = self
            .id_fields
            .iter()
            .map(|f| {
                schema.index(f).ok_or_else(|| {
                    Error::NotFound(format!(
                        "entity {}: id field {f:?} is not among its fields ({})",
                        self.entity,
                        schema.fields.join(", ")
                    ))
                })
            })
            .collect::<Result<_>>()?;
        Ok(())
    }

    fn record(&mut self, origin: u64, values: Vec<Value>) -> Result<bool> {
        if self.summary.records.is_multiple_of(10_000) {
            if self.progress.cancelled() {
                return Err(Error::Cancelled);
            }
            self.progress.advance(10_000);
        }
        self.summary.records += 1;
        let parts: Vec<&str> = self
            .id_idx
            .iter()
            .map(|&i| values[i].as_deref().unwrap_or(""))
            .collect();
        if parts.iter().all(|p| p.is_empty()) {
            self.summary.errors.push(format!(
                "record at {origin}: the id ({}) is empty; record skipped",
                self.id_fields.join(", ")
            ));
            return Ok(true);
        }
        let key = join_key(parts.iter().copied());
        if let Some(first) = self.first_origin.get(&key) {
            self.summary.errors.push(format!(
                "record at {origin}: id {:?} already used by the record at {first}; record skipped",
                crate::records::display_key(&key)
            ));
            return Ok(true);
        }
        self.first_origin.insert(key.clone(), origin);
        let hash = row_hash(&values);
        let vals = serde_json::to_string(&values).map_err(|e| self.err(e))?;
        match self.existing.get_mut(&key) {
            Some(c) => {
                c.seen = true;
                if c.hash != hash {
                    self.tx
                        .prepare_cached(
                            "UPDATE records SET hash = ?2, vals = ?3, origin = ?4, seq = ?5 WHERE id = ?1",
                        )
                        .and_then(|mut s| {
                            s.execute((c.id, hash as i64, &vals, origin as i64, self.snapshot))
                        })
                        .map_err(|e| Error::cache(self.cache_path, e))?;
                    self.summary.changed += 1;
                }
            }
            None => {
                self.tx
                    .prepare_cached(
                        "INSERT INTO records (entity, key, hash, vals, origin, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )
                    .and_then(|mut s| {
                        s.execute((
                            self.entity,
                            &key,
                            hash as i64,
                            &vals,
                            origin as i64,
                            self.snapshot,
                        ))
                    })
                    .map_err(|e| Error::cache(self.cache_path, e))?;
                self.summary.added += 1;
            }
        }
        Ok(true)
    }
}

/// Pulls one entity into the cache.
pub fn pull(
    ws: &mut Workspace,
    entity_name: &str,
    now: &str,
    actor: &Actor,
    progress: &dyn Progress,
) -> Result<PullSummary> {
    let entity = ws.entity(entity_name)?.clone();
    let mut connector = ws.connector(&entity.system)?;
    let source = Workspace::entity_source(&entity);
    let run = ws
        .cache
        .start_run(RunKind::Pull, entity_name, now, &actor.origin)?;
    progress.stage(&format!("pull {entity_name}"), None);

    let result = (|| -> Result<PullSummary> {
        let cache: &mut Cache = &mut ws.cache;
        let path = cache.path().to_path_buf();
        let tx = cache
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| Error::cache(&path, e))?;
        tx.execute(
            "INSERT INTO snapshots (entity, system, started_at, status, origin) VALUES (?1, ?2, ?3, 'running', ?4)",
            (entity_name, &entity.system, now, &actor.origin),
        )
        .map_err(|e| Error::cache(&path, e))?;
        let snapshot = tx.last_insert_rowid();
        let mut existing = HashMap::new();
        {
            let mut stmt = tx
                .prepare("SELECT id, key, hash FROM records WHERE entity = ?1")
                .map_err(|e| Error::cache(&path, e))?;
            let rows = stmt
                .query_map([entity_name], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })
                .map_err(|e| Error::cache(&path, e))?;
            for row in rows {
                let (id, key, hash) = row.map_err(|e| Error::cache(&path, e))?;
                existing.insert(
                    key,
                    Cached {
                        id,
                        hash: hash as u64,
                        seen: false,
                    },
                );
            }
        }
        let mut sink = PullSink {
            tx: &tx,
            cache_path: &path,
            entity: entity_name,
            id_fields: &entity.id,
            id_idx: vec![],
            existing,
            snapshot,
            summary: PullSummary {
                entity: entity_name.to_string(),
                snapshot,
                ..Default::default()
            },
            first_origin: HashMap::new(),
            progress,
            fields: vec![],
        };
        connector.read(&source, &mut sink)?;
        let removed: Vec<i64> = sink
            .existing
            .values()
            .filter(|c| !c.seen)
            .map(|c| c.id)
            .collect();
        let mut summary = sink.summary;
        let fields = sink.fields;
        for id in &removed {
            tx.execute("DELETE FROM records WHERE id = ?1", [id])
                .map_err(|e| Error::cache(&path, e))?;
        }
        summary.removed = removed.len() as u64;
        tx.execute(
            "UPDATE snapshots SET status = 'ok', finished_at = ?2, record_count = ?3, added = ?4, changed = ?5, removed = ?6, errors = ?7, fields = ?8 WHERE id = ?1",
            (
                snapshot,
                now,
                summary.records as i64 - summary.errors.len() as i64,
                summary.added as i64,
                summary.changed as i64,
                summary.removed as i64,
                serde_json::to_string(&summary.errors).unwrap_or_default(),
                serde_json::to_string(&fields).unwrap_or_default(),
            ),
        )
        .map_err(|e| Error::cache(&path, e))?;
        tx.commit().map_err(|e| Error::cache(&path, e))?;
        Ok(summary)
    })();

    match &result {
        Ok(s) => ws.cache.finish_run(
            run,
            &progress.now(),
            "ok",
            &serde_json::json!({"records": s.records, "added": s.added, "changed": s.changed, "removed": s.removed}),
            s.errors.len() as i64,
            None,
        )?,
        Err(e) => {
            let status = if matches!(e, Error::Cancelled) {
                "cancelled"
            } else {
                "failed"
            };
            // Best effort: the failure itself is what the caller must see.
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
