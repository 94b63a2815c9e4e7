//! The SQLite system: reads a table or a query from a SQLite database file,
//! and writes single records with conditional (no lost update) semantics.
//!
//! - Values of every SQLite type are read as text (see [`value::render`]).
//! - The file must exist: opening never creates a database.
//! - A busy timeout (5 s by default) rides out short locks; a database that
//!   stays locked gives an error naming the file.
//! - Writes run in an immediate transaction: the record is read by its id
//!   fields, its current values are compared with the expected ones exactly
//!   as they were read (same text rendering, `NULL`-safe), and only then is
//!   it changed. The write lock is held from the comparison to the commit,
//!   so nothing can slip in between.

pub mod value;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior, params_from_iter};

use crate::connectors::{
    Capabilities, ConnectionInfo, Connector, EntitySource, Field, RecordSink, WriteChange,
    WriteKind, WriteOutcome,
};
use crate::error::{Error, ErrorCode, Result};
use crate::records::{Schema, Value};
use value::{quote_ident, render};

/// The busy timeout used unless [`SqliteSystem::with_busy_timeout`] says otherwise.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A SQLite database file.
#[derive(Debug)]
pub struct SqliteSystem {
    name: String,
    path: PathBuf,
    busy_timeout: Duration,
    conn: Option<Connection>,
}

impl SqliteSystem {
    /// The SQLite database at `path`, known in the workspace as `name`.
    /// Nothing is opened until the first call.
    pub fn new(name: String, path: PathBuf) -> Self {
        SqliteSystem {
            name,
            path,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            conn: None,
        }
    }

    /// Sets how long to wait for another process's lock before failing.
    pub fn with_busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn connection(&mut self) -> Result<&mut Connection> {
        if self.conn.is_none() {
            let conn = self.open()?;
            self.conn = Some(conn);
        }
        Ok(self.conn.as_mut().expect("opened above"))
    }

    fn open(&self) -> Result<Connection> {
        if !self.path.is_file() {
            let reason = if self.path.exists() {
                "is not a file"
            } else {
                "does not exist"
            };
            return Err(self.error(
                ErrorCode::NotFound,
                format!("database file {} {reason}", self.path.display()),
            ));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)
            .map_err(|e| sqlite_error(&self.name, &self.path, self.busy_timeout, e))?;
        conn.busy_timeout(self.busy_timeout)
            .map_err(|e| sqlite_error(&self.name, &self.path, self.busy_timeout, e))?;
        Ok(conn)
    }

    fn error(&self, code: ErrorCode, message: String) -> Error {
        Error::System {
            system: self.name.clone(),
            code,
            message,
        }
    }

    fn table_of<'s>(&self, source: &'s EntitySource, what: &str) -> Result<&'s str> {
        source.table.as_deref().ok_or_else(|| {
            self.error(
                ErrorCode::Validation,
                format!("{what} needs a table; this entity is read with a query"),
            )
        })
    }
}

/// Builds `"a" = ? AND ("b" IS NULL OR "b" = '')`: a field with no value
/// matches `NULL` and empty text, as [`value::render`] reads both as no
/// value. The parameters are [`id_params`].
fn id_condition(id: &[Field]) -> String {
    id.iter()
        .map(|(name, value)| {
            let col = quote_ident(name);
            match value {
                Some(_) => format!("{col} = ?"),
                None => format!("({col} IS NULL OR {col} = '')"),
            }
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The parameters of [`id_condition`], in order.
fn id_params(id: &[Field]) -> impl Iterator<Item = &String> {
    id.iter().filter_map(|(_, v)| v.as_ref())
}

/// Sets the values of the one record with the change's id and returns its
/// id fields as stored afterwards (an update may change them).
fn update(conn: &Connection, table: &str, change: &WriteChange) -> rusqlite::Result<WriteOutcome> {
    let sets = change
        .values
        .iter()
        .map(|(n, _)| format!("{} = ?", quote_ident(n)))
        .collect::<Vec<_>>()
        .join(", ");
    let returning = change
        .id
        .iter()
        .map(|(n, _)| quote_ident(n))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "UPDATE {} SET {sets} WHERE {} RETURNING {returning}",
        quote_ident(table),
        id_condition(&change.id)
    );
    let params = change
        .values
        .iter()
        .map(|(_, v)| v.as_ref())
        .chain(id_params(&change.id).map(Some));
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(params))?;
    let row = rows.next()?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    let mut id = Vec::with_capacity(change.id.len());
    for (i, (n, _)) in change.id.iter().enumerate() {
        id.push((n.clone(), render(row.get_ref(i)?)));
    }
    Ok(WriteOutcome::Applied { id })
}

/// Reads the rows of `table` whose id fields match (at most two: enough to
/// tell "one" from "more than one").
fn rows_by_id(conn: &Connection, table: &str, id: &[Field]) -> rusqlite::Result<Vec<Vec<Field>>> {
    let sql = format!(
        "SELECT * FROM {} WHERE {} LIMIT 2",
        quote_ident(table),
        id_condition(id)
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let names: Vec<String> = stmt
        .column_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let mut rows = stmt.query(params_from_iter(id_params(id)))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut fields = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            fields.push((name.clone(), render(row.get_ref(i)?)));
        }
        out.push(fields);
    }
    Ok(out)
}

impl Connector for SqliteSystem {
    fn check(&mut self) -> Result<ConnectionInfo> {
        let (name, path, timeout) = (self.name.clone(), self.path.clone(), self.busy_timeout);
        let conn = self.connection()?;
        let tables: rusqlite::Result<Vec<String>> = (|| {
            let mut stmt = conn.prepare(
                "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') \
                 AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )?;
            let names = stmt.query_map([], |r| r.get(0))?;
            names.collect()
        })();
        let entities = tables.map_err(|e| sqlite_error(&name, &path, timeout, e))?;
        Ok(ConnectionInfo {
            description: format!(
                "SQLite {} database {}, {} tables and views",
                rusqlite::version(),
                path.display(),
                entities.len()
            ),
            entities,
        })
    }

    fn read(&mut self, source: &EntitySource, sink: &mut dyn RecordSink) -> Result<()> {
        let sql = match (&source.table, &source.query) {
            (_, Some(query)) => query.trim().trim_end_matches(';').to_string(),
            (Some(table), None) => format!("SELECT * FROM {}", quote_ident(table)),
            (None, None) => {
                return Err(self.error(
                    ErrorCode::Config,
                    "the entity names neither a table nor a query".into(),
                ));
            }
        };
        let name = self.name.clone();
        let path = self.path.clone();
        let timeout = self.busy_timeout;
        let fail = |e| sqlite_error(&name, &path, timeout, e);
        let conn = self.connection()?;
        let mut stmt = conn.prepare(&sql).map_err(fail)?;
        if !stmt.readonly() {
            return Err(Error::System {
                system: name.clone(),
                code: ErrorCode::Validation,
                message: format!(
                    "database {}: the entity's query must only read (a SELECT), not change data",
                    path.display()
                ),
            });
        }
        let names: Vec<String> = stmt
            .column_names()
            .into_iter()
            .map(str::to_string)
            .collect();
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(Error::System {
                    system: name.clone(),
                    code: ErrorCode::Validation,
                    message: format!(
                        "database {}: the query returns column {n:?} twice; give one an alias (AS ...)",
                        path.display()
                    ),
                });
            }
        }
        let width = names.len();
        sink.schema(&Schema::new(names))?;
        let mut rows = stmt.query([]).map_err(fail)?;
        let mut origin = 0u64;
        while let Some(row) = rows.next().map_err(fail)? {
            origin += 1;
            let mut values: Vec<Value> = Vec::with_capacity(width);
            for i in 0..width {
                values.push(render(row.get_ref(i).map_err(fail)?));
            }
            if !sink.record(origin, values)? {
                break;
            }
        }
        Ok(())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            read: true,
            write: true,
            conditional_writes: true,
        }
    }

    /// A local file: a commit costs a few fsyncs, a row a few microseconds.
    fn push_batch_size(&self) -> usize {
        10_000
    }

    fn read_one(&mut self, source: &EntitySource, id: &[Field]) -> Result<Option<Vec<Field>>> {
        if id.is_empty() {
            return Err(self.error(
                ErrorCode::Validation,
                "reading one record needs its id fields".into(),
            ));
        }
        let (name, path, timeout) = (self.name.clone(), self.path.clone(), self.busy_timeout);
        let fail = |e| sqlite_error(&name, &path, timeout, e);
        let table = match (&source.table, &source.query) {
            (Some(table), None) => table.clone(),
            _ => {
                // A query entity: wrap it as a subquery and filter by id.
                let query = source.query.as_deref().unwrap_or_default();
                let query = query.trim().trim_end_matches(';');
                let sql = format!("SELECT * FROM ({query}) AS q WHERE {}", id_condition(id));
                let conn = self.connection()?;
                let mut stmt = conn.prepare(&sql).map_err(fail)?;
                if !stmt.readonly() {
                    return Err(Error::System {
                        system: name.clone(),
                        code: ErrorCode::Validation,
                        message: "the entity's query must only read".into(),
                    });
                }
                let names: Vec<String> = stmt
                    .column_names()
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                let mut rows = stmt.query(params_from_iter(id_params(id))).map_err(fail)?;
                let mut found = Vec::new();
                while let Some(row) = rows.next().map_err(fail)? {
                    let mut fields = Vec::with_capacity(names.len());
                    for (i, n) in names.iter().enumerate() {
                        fields.push((n.clone(), render(row.get_ref(i).map_err(fail)?)));
                    }
                    found.push(fields);
                }
                return one_of(&name, found, id);
            }
        };
        let conn = self.connection()?;
        let found = rows_by_id(conn, &table, id).map_err(fail)?;
        one_of(&name, found, id)
    }

    fn write(&mut self, source: &EntitySource, change: &WriteChange) -> Result<WriteOutcome> {
        let mut outcomes = self.write_batch(source, std::slice::from_ref(change))?;
        Ok(outcomes.pop().expect("one outcome per change"))
    }

    /// All changes in one immediate transaction: on an error none is applied.
    fn write_batch(
        &mut self,
        source: &EntitySource,
        changes: &[WriteChange],
    ) -> Result<Vec<WriteOutcome>> {
        let table = self.table_of(source, "writing")?.to_string();
        let (name, path, timeout) = (self.name.clone(), self.path.clone(), self.busy_timeout);
        let fail = |e| sqlite_error(&name, &path, timeout, e);
        let conn = self.connection()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let mut outcomes = Vec::with_capacity(changes.len());
        let mut sql = UpdateSql::default();
        for change in changes {
            // An error drops the transaction: nothing of the batch is written.
            outcomes.push(apply(&tx, &table, change, &name, &fail, &mut sql)?);
        }
        tx.commit().map_err(fail)?;
        Ok(outcomes)
    }
}

/// Applies one change inside the caller's transaction. A conflict or a
/// missing record writes nothing.
fn apply(
    tx: &Connection,
    table: &str,
    change: &WriteChange,
    name: &str,
    fail: &dyn Fn(rusqlite::Error) -> Error,
    sql: &mut UpdateSql,
) -> Result<WriteOutcome> {
    Ok(match change.kind {
        WriteKind::Insert => insert(tx, table, change).map_err(fail)?,
        WriteKind::Update | WriteKind::Delete => {
            if change.id.is_empty() {
                return Err(Error::System {
                    system: name.to_string(),
                    code: ErrorCode::Validation,
                    message: "an update or delete needs the record's id fields".into(),
                });
            }
            if change.kind == WriteKind::Update
                && let Some(outcome) =
                    update_if_unchanged(tx, table, change, name, sql).map_err(fail)?
            {
                return outcome;
            }
            let mut found = rows_by_id(tx, table, &change.id).map_err(fail)?;
            if found.is_empty() {
                return Ok(WriteOutcome::NotFound);
            }
            if found.len() > 1 {
                return Err(not_unique(name, &change.id));
            }
            let current_row = found.remove(0);
            let mut current = Vec::with_capacity(change.expected.len());
            for (field, _) in &change.expected {
                let Some((_, value)) = current_row.iter().find(|(n, _)| n == field) else {
                    return Err(Error::System {
                        system: name.to_string(),
                        code: ErrorCode::NotFound,
                        message: format!("table {table:?} has no column {field:?}"),
                    });
                };
                current.push((field.clone(), value.clone()));
            }
            if current != change.expected {
                return Ok(WriteOutcome::Conflict { current });
            }
            if change.kind == WriteKind::Update {
                if change.values.is_empty() {
                    WriteOutcome::Applied {
                        id: change.id.clone(),
                    }
                } else {
                    update(tx, table, change).map_err(fail)?
                }
            } else {
                let sql = format!(
                    "DELETE FROM {} WHERE {}",
                    quote_ident(table),
                    id_condition(&change.id)
                );
                tx.prepare_cached(&sql)
                    .and_then(|mut stmt| stmt.execute(params_from_iter(id_params(&change.id))))
                    .map_err(fail)?;
                WriteOutcome::Applied {
                    id: change.id.clone(),
                }
            }
        }
    })
}

/// The SQL of [`update_if_unchanged`] for one shape of change (the fields
/// set, the id fields, the expected fields and which of them are empty),
/// kept while the changes of a batch have that shape: built once per batch,
/// not once per change.
#[derive(Default)]
struct UpdateSql {
    values: Vec<String>,
    id: Vec<String>,
    expected: Vec<(String, bool)>,
    sql: String,
}

impl UpdateSql {
    fn fits(&self, change: &WriteChange) -> bool {
        !self.sql.is_empty()
            && self.values.len() == change.values.len()
            && self.id.len() == change.id.len()
            && self.expected.len() == change.expected.len()
            && self
                .values
                .iter()
                .zip(&change.values)
                .all(|(a, (b, _))| a == b)
            && self.id.iter().zip(&change.id).all(|(a, (b, _))| a == b)
            && self
                .expected
                .iter()
                .zip(&change.expected)
                .all(|((a, some), (b, v))| a == b && *some == v.is_some())
    }

    fn of(table: &str, change: &WriteChange) -> UpdateSql {
        let mut sql = String::with_capacity(256);
        sql.push_str("UPDATE ");
        sql.push_str(&quote_ident(table));
        sql.push_str(" SET ");
        for (i, (n, _)) in change.values.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&quote_ident(n));
            sql.push_str(" = ?");
        }
        sql.push_str(" WHERE ");
        sql.push_str(&id_condition(&change.id));
        for (n, v) in &change.expected {
            let col = quote_ident(n);
            match v {
                Some(_) => sql.push_str(&format!(
                    " AND typeof({col}) IN ('text', 'integer') AND CAST({col} AS TEXT) = ?"
                )),
                None => sql.push_str(&format!(
                    " AND ({col} IS NULL OR (typeof({col}) = 'text' AND {col} = ''))"
                )),
            }
        }
        sql.push_str(" RETURNING ");
        for (i, (n, _)) in change.id.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&quote_ident(n));
        }
        UpdateSql {
            values: change.values.iter().map(|(n, _)| n.clone()).collect(),
            id: change.id.iter().map(|(n, _)| n.clone()).collect(),
            expected: change
                .expected
                .iter()
                .map(|(n, v)| (n.clone(), v.is_some()))
                .collect(),
            sql,
        }
    }
}

/// The common update in one statement: `UPDATE … WHERE id … AND every
/// expected field still holds its value … RETURNING id`. The condition is
/// never looser than the read-and-compare of [`apply`] (it compares text
/// and integer values by their text, as [`render`] shows them; a real, a
/// blob or anything else never matches): when it matches nothing, `None`
/// says so, nothing was written, and the caller reads and compares to tell
/// a conflict from a missing record (or a real that still holds). More than
/// one matching record is an error (the caller's transaction then writes
/// nothing), as it is for the read.
fn update_if_unchanged(
    conn: &Connection,
    table: &str,
    change: &WriteChange,
    system: &str,
    sql: &mut UpdateSql,
) -> rusqlite::Result<Option<Result<WriteOutcome>>> {
    if change.values.is_empty()
        || change.id.iter().any(|(_, v)| v.is_none())
        || change
            .expected
            .iter()
            .any(|(_, v)| v.as_deref() == Some(""))
    {
        return Ok(None);
    }
    if !sql.fits(change) {
        *sql = UpdateSql::of(table, change);
    }
    // A column that does not exist: the read names it.
    let Ok(mut stmt) = conn.prepare_cached(&sql.sql) else {
        return Ok(None);
    };
    let params = change
        .values
        .iter()
        .map(|(_, v)| v.as_ref())
        .chain(id_params(&change.id).map(Some))
        .chain(
            change
                .expected
                .iter()
                .filter_map(|(_, v)| v.as_ref())
                .map(Some),
        );
    let mut rows = stmt.query(params_from_iter(params))?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let mut id = Vec::with_capacity(change.id.len());
    for (i, (n, _)) in change.id.iter().enumerate() {
        id.push((n.clone(), render(row.get_ref(i)?)));
    }
    if rows.next()?.is_some() {
        return Ok(Some(Err(not_unique(system, &change.id))));
    }
    Ok(Some(Ok(WriteOutcome::Applied { id })))
}

/// Inserts a record and returns its id fields as stored: the given id
/// fields, else the table's primary key, else its rowid.
fn insert(conn: &Connection, table: &str, change: &WriteChange) -> rusqlite::Result<WriteOutcome> {
    let mut fields: Vec<&Field> = change.id.iter().collect();
    for field in &change.values {
        if !change.id.iter().any(|(n, _)| n == &field.0) {
            fields.push(field);
        }
    }
    let id_names: Vec<String> = if !change.id.is_empty() {
        change.id.iter().map(|(n, _)| n.clone()).collect()
    } else {
        let mut stmt = conn.prepare(&format!("PRAGMA table_info({})", quote_ident(table)))?;
        let mut pk: Vec<(i64, String)> = stmt
            .query_map([], |r| {
                Ok((r.get::<_, i64>("pk")?, r.get::<_, String>("name")?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        pk.retain(|(k, _)| *k > 0);
        pk.sort();
        if pk.is_empty() {
            vec!["rowid".to_string()]
        } else {
            pk.into_iter().map(|(_, n)| n).collect()
        }
    };
    let returning = id_names
        .iter()
        .map(|n| quote_ident(n))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = if fields.is_empty() {
        format!(
            "INSERT INTO {} DEFAULT VALUES RETURNING {returning}",
            quote_ident(table)
        )
    } else {
        let columns = fields
            .iter()
            .map(|(n, _)| quote_ident(n))
            .collect::<Vec<_>>()
            .join(", ");
        let marks = (1..=fields.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "INSERT INTO {} ({columns}) VALUES ({marks}) RETURNING {returning}",
            quote_ident(table)
        )
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(fields.iter().map(|(_, v)| v)))?;
    let row = rows.next()?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    let mut id = Vec::with_capacity(id_names.len());
    for (i, n) in id_names.iter().enumerate() {
        id.push((n.clone(), render(row.get_ref(i)?)));
    }
    Ok(WriteOutcome::Applied { id })
}

fn one_of(system: &str, mut found: Vec<Vec<Field>>, id: &[Field]) -> Result<Option<Vec<Field>>> {
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(not_unique(system, id)),
    }
}

fn not_unique(system: &str, id: &[Field]) -> Error {
    let id = id
        .iter()
        .map(|(n, v)| format!("{n}={}", v.as_deref().unwrap_or("NULL")))
        .collect::<Vec<_>>()
        .join(", ");
    Error::System {
        system: system.to_string(),
        code: ErrorCode::Validation,
        message: format!("more than one record has the id {id}; the id fields must be unique"),
    }
}

/// Classifies a driver error and says it with the database file named.
fn sqlite_error(system: &str, path: &Path, busy_timeout: Duration, err: rusqlite::Error) -> Error {
    use rusqlite::ffi::ErrorCode as C;
    let text = err.to_string();
    let file = path.display();
    let (code, message) = match err.sqlite_error_code() {
        Some(C::DatabaseBusy | C::DatabaseLocked) => (
            ErrorCode::Transient,
            format!(
                "database {file} is locked by another program (still busy after {:.1} s): {text}; \
                 close the other program or try again",
                busy_timeout.as_secs_f64()
            ),
        ),
        Some(C::NotADatabase) => (
            ErrorCode::System,
            format!("{file} is not a SQLite database: {text}"),
        ),
        Some(C::CannotOpen) => (
            ErrorCode::System,
            format!("cannot open database {file}: {text}"),
        ),
        Some(C::ReadOnly | C::PermissionDenied) => (
            ErrorCode::System,
            format!("database {file} cannot be written: {text}"),
        ),
        Some(C::ConstraintViolation | C::TypeMismatch) => {
            (ErrorCode::Validation, format!("database {file}: {text}"))
        }
        _ if text.contains("no such table")
            || text.contains("no such column")
            || text.contains("has no column named") =>
        {
            (ErrorCode::NotFound, format!("database {file}: {text}"))
        }
        _ => (ErrorCode::System, format!("database {file}: {text}")),
    };
    Error::System {
        system: system.to_string(),
        code,
        message,
    }
}
