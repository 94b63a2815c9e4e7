//! Connected systems. Each kind of system lives in its own folder behind the
//! one [`Connector`] trait; the engine only ever talks to the trait, so adding
//! a system never touches the engine.

pub mod csv;
pub mod http;
pub mod postgres;
pub mod presets;
pub mod rest;
pub mod sqlite;
pub mod tryton;
pub mod xlsx;

use crate::error::Result;
use crate::records::{Schema, Value};

/// Which records of a system an entity reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntitySource {
    /// A table (databases) or sheet (spreadsheets).
    pub table: Option<String>,
    /// A read-only query (databases), instead of a table.
    pub query: Option<String>,
    /// A file (CSV/XLSX systems whose path is a folder), relative to the system's path.
    pub file: Option<String>,
    /// Where an entity's records are in a REST API.
    pub rest: Option<Box<rest::RestEntityConfig>>,
    /// Read only what changed since this cursor (an incremental pull),
    /// when the entity can: see [`RecordSink::incremental`]. Only the pull
    /// sets it, from the cursor its last snapshot was given.
    pub since: Option<String>,
}

/// Receives records while a connector reads an entity.
pub trait RecordSink {
    /// Called once, before any record, with the entity's field names.
    fn schema(&mut self, schema: &Schema) -> Result<()>;
    /// Called for each record with its position in the source (line or row
    /// number). Return `false` to stop reading early.
    fn record(&mut self, origin: u64, values: Vec<Value>) -> Result<bool>;

    /// Like [`RecordSink::record`], with borrowed values (no allocation per
    /// field). Connectors that parse text (CSV) call this; sinks that store
    /// records (the pull) implement it without copying.
    fn record_borrowed(&mut self, origin: u64, values: &[Option<&str>]) -> Result<bool> {
        self.record(
            origin,
            values.iter().map(|v| v.map(str::to_string)).collect(),
        )
    }

    /// Called before any record by a read that honours
    /// [`EntitySource::since`]: only records changed since then follow
    /// (through [`RecordSink::record`]), then every record that exists is
    /// named through [`RecordSink::present`]; records neither read nor
    /// present are gone. Sinks that cannot take this refuse it (the default).
    fn incremental(&mut self) -> Result<()> {
        Err(crate::Error::Invalid(
            "this reader needs every record; an incremental read was offered".into(),
        ))
    }

    /// After an incremental read's changed records: the record with these
    /// id values (in the entity's id order) still exists. Return `false`
    /// to stop.
    fn present(&mut self, id: &[Option<&str>]) -> Result<bool> {
        let _ = id;
        Ok(true)
    }

    /// Called at the end of a read by a connector that can read
    /// incrementally: where the next read may start (the latest change time seen).
    fn cursor(&mut self, cursor: &str) -> Result<()> {
        let _ = cursor;
        Ok(())
    }
}

/// What a connection check found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConnectionInfo {
    /// A one-line description of what was reached (file format, server version).
    pub description: String,
    /// The entities (tables, sheets) the system offers, when it can list them.
    pub entities: Vec<String>,
}

/// Capabilities of a system as a push target.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Capabilities {
    /// Can read records.
    pub read: bool,
    /// Can write records.
    pub write: bool,
    /// Writes can be made conditional on the current values (no lost update).
    pub conditional_writes: bool,
}

/// One kind of connected system (CSV, XLSX, SQLite, PostgreSQL, ...).
pub trait Connector {
    /// Checks that the system can be reached and describes it.
    fn check(&mut self) -> Result<ConnectionInfo>;

    /// Reads every record of an entity into `sink`, schema first.
    fn read(&mut self, source: &EntitySource, sink: &mut dyn RecordSink) -> Result<()>;

    /// What this system can do.
    fn capabilities(&self) -> Capabilities;

    /// Reads the current values of one record, by its id fields, or `None`
    /// when it does not exist. Used to re-read before a write or a retry.
    fn read_one(&mut self, source: &EntitySource, id: &[Field]) -> Result<Option<Vec<Field>>> {
        let _ = (source, id);
        Err(crate::Error::Invalid(
            "this system cannot read single records".into(),
        ))
    }

    /// Applies one change. Updates and deletes are conditional: when
    /// `expected` is not empty, the change applies only if the record's
    /// current values equal `expected`; otherwise nothing is written and the
    /// outcome is [`WriteOutcome::Conflict`] with the current values.
    fn write(&mut self, source: &EntitySource, change: &WriteChange) -> Result<WriteOutcome> {
        let _ = (source, change);
        Err(crate::Error::Invalid("this system is read-only".into()))
    }

    /// How many changes a push sends together unless told otherwise: one
    /// journal transaction each way and, for a database, one target
    /// transaction. Larger for a database, whose commits are the cost and
    /// whose records are re-read cheaply after a crash; smaller for a
    /// remote API, where an interrupted batch means re-reading each of its
    /// records over the network.
    fn push_batch_size(&self) -> usize {
        200
    }

    /// Applies several changes in order, each with the conditional semantics
    /// of [`Connector::write`], as one unit where the system can (one
    /// transaction for databases): one outcome per change. On `Err`, a
    /// system with transactions applied none of them, but a system without
    /// may have applied some (and a lost connection leaves it unknown), so
    /// the caller re-reads before sending any of them again.
    fn write_batch(
        &mut self,
        source: &EntitySource,
        changes: &[WriteChange],
    ) -> Result<Vec<WriteOutcome>> {
        changes.iter().map(|c| self.write(source, c)).collect()
    }
}

/// A named value: one field of a record.
pub type Field = (String, Value);

/// What a write does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteKind {
    /// Create a new record with `values` (and `id` when the caller chooses it).
    Insert,
    /// Change `values` of the record identified by `id`.
    Update,
    /// Delete the record identified by `id`.
    Delete,
}

/// One change to send to a system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteChange {
    /// Insert, update or delete.
    pub kind: WriteKind,
    /// The record's id fields (empty for an insert whose id the system assigns).
    pub id: Vec<Field>,
    /// The fields to set.
    pub values: Vec<Field>,
    /// The values the record must still have for the change to apply.
    pub expected: Vec<Field>,
}

/// What happened to one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Written; the id fields of the record (assigned by the system for inserts).
    Applied {
        /// The record's id fields after the write.
        id: Vec<Field>,
    },
    /// Not written: the record moved since it was pulled.
    Conflict {
        /// The record's current values of the expected fields.
        current: Vec<Field>,
    },
    /// Not written: no record has this id.
    NotFound,
}

/// A sink that collects the schema and the first `limit` records.
#[derive(Debug, Default)]
pub struct Sample {
    /// The entity's schema, once read.
    pub schema: Option<Schema>,
    /// The records read, with their origin.
    pub rows: Vec<(u64, Vec<Value>)>,
    /// How many records to keep.
    pub limit: usize,
}

impl RecordSink for Sample {
    fn schema(&mut self, schema: &Schema) -> Result<()> {
        self.schema = Some(schema.clone());
        Ok(())
    }

    fn record(&mut self, origin: u64, values: Vec<Value>) -> Result<bool> {
        if self.rows.len() < self.limit {
            self.rows.push((origin, values));
        }
        Ok(self.rows.len() < self.limit)
    }
}
