//! The PostgreSQL system: reads a table or a query, and writes single
//! records with conditional (no lost update) semantics.
//!
//! - Values travel as text both ways (see [`sql`]): every column is read with
//!   `::text`, every parameter is sent as text and cast to its column's type.
//! - Each session uses `DateStyle = ISO, YMD`, `TimeZone = UTC` and
//!   `extra_float_digits = 3` (shortest exact floats), so the same data always
//!   reads as the same text.
//! - An entity's query runs in a read-only transaction.
//! - An update or delete with expected values is one statement:
//!   `UPDATE ... WHERE id = ... AND col::text = expected ...`; when it
//!   changes nothing, the record is re-read to tell a conflict (with the
//!   current values) from a missing record. When the id fields are not the
//!   primary key, the write runs in a transaction and is rolled back if it
//!   would touch more than one record.
//! - A batch of updates by the primary key is one statement per shape (the
//!   fields set and checked), the rows sent as text arrays
//!   (`UPDATE … FROM unnest($1::text[], …) WITH ORDINALITY … RETURNING`),
//!   each row under the same condition as alone; the records it did not
//!   write are re-read one by one, as above. Inserts given their id
//!   fields go the same way (`INSERT … SELECT … FROM unnest(…)`, each row
//!   found again by its id for its answer); inserts whose id the table
//!   assigns, and deletes, go one by one.
//! - Errors are classified: connection refused or lost → `Network`, bad
//!   password (SQLSTATE 28P01) → `Auth`, missing table or column →
//!   `NotFound`, rejected values or constraints → `Validation`; the message is
//!   the server's own, and never contains the password.
//! - Connections are made without TLS.

mod error;
pub mod sql;

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, GenericClient, NoTls, Statement};

use crate::connectors::{
    Capabilities, ConnectionInfo, Connector, EntitySource, Field, RecordSink, WriteChange,
    WriteKind, WriteOutcome,
};
use crate::error::{Error, ErrorCode, Result};
use crate::records::{Schema, Value, value_from};
use error::{Place, classify, connection_lost};
use sql::{BatchShape, Params, TableInfo, quote_ident, quote_table};

/// How long to wait for a server to accept a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a PostgreSQL database is and who connects to it.
#[derive(Clone, PartialEq, Eq)]
pub struct PgConfig {
    /// Host name or address, or the directory of a Unix socket (starting with `/`).
    pub host: String,
    /// TCP port (also names the Unix socket file).
    pub port: u16,
    /// The role to connect as.
    pub user: String,
    /// The database name.
    pub database: String,
    /// The password, when the server asks for one. Never printed.
    pub password: Option<String>,
}

impl fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("database", &self.database)
            .field("password", &self.password.as_ref().map(|_| "********"))
            .finish()
    }
}

/// A PostgreSQL database.
pub struct PostgresSystem {
    name: String,
    config: PgConfig,
    client: Option<Client>,
    tables: HashMap<String, TableInfo>,
    /// Prepared write and lookup statements of the current connection, by SQL text.
    statements: HashMap<String, Statement>,
}

impl fmt::Debug for PostgresSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSystem")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("connected", &self.client.is_some())
            .finish()
    }
}

/// Reads every row of a statement as text values.
fn collect_rows(
    client: &mut impl GenericClient,
    sql: &Statement,
    params: &Params,
) -> std::result::Result<Vec<Vec<Value>>, postgres::Error> {
    let rows = client.query(sql, &params.as_sql())?;
    Ok(rows
        .iter()
        .map(|row| {
            (0..row.len())
                .map(|i| {
                    row.get::<_, Option<String>>(i)
                        .as_deref()
                        .and_then(value_from)
                })
                .collect()
        })
        .collect())
}

impl PostgresSystem {
    /// The database described by `config`, known in the workspace as `name`.
    /// Nothing is opened until the first call.
    pub fn new(name: String, config: PgConfig) -> Self {
        PostgresSystem {
            name,
            config,
            client: None,
            tables: HashMap::new(),
            statements: HashMap::new(),
        }
    }

    fn place(&self) -> Place<'_> {
        Place {
            system: &self.name,
            address: format!(
                "{}:{}/{}",
                self.config.host, self.config.port, self.config.database
            ),
            password: self.config.password.as_deref(),
        }
    }

    fn error(&self, code: ErrorCode, message: String) -> Error {
        Error::System {
            system: self.name.clone(),
            code,
            message,
        }
    }

    /// Converts a driver error, forgetting a connection that is lost.
    fn fail(&mut self, err: postgres::Error) -> Error {
        let out = classify(&self.place(), &err);
        if connection_lost(&err) {
            self.client = None;
        }
        // The table may have changed: re-read its columns and re-prepare next time.
        self.tables.clear();
        self.statements.clear();
        out
    }

    fn connect(&self) -> std::result::Result<Client, postgres::Error> {
        let mut config = postgres::Config::new();
        config
            .host(&self.config.host)
            .port(self.config.port)
            .user(&self.config.user)
            .dbname(&self.config.database)
            .application_name("trueup")
            .connect_timeout(CONNECT_TIMEOUT);
        if let Some(password) = &self.config.password {
            config.password(password);
        }
        let mut client = config.connect(NoTls)?;
        client.batch_execute(
            "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET extra_float_digits = 3",
        )?;
        Ok(client)
    }

    fn client(&mut self) -> Result<&mut Client> {
        if self.client.is_none() {
            match self.connect() {
                Ok(client) => {
                    self.statements.clear();
                    self.client = Some(client);
                }
                Err(e) => return Err(self.fail(e)),
            }
        }
        Ok(self.client.as_mut().expect("connected above"))
    }

    /// Runs `f` with the client, converting its error.
    fn with_client<T>(
        &mut self,
        f: impl FnOnce(&mut Client) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        let client = self.client()?;
        match f(client) {
            Ok(v) => Ok(v),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// A prepared statement for `sql`, prepared once per connection.
    fn prepared(&mut self, sql: &str) -> Result<Statement> {
        if let Some(stmt) = self.statements.get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = self.with_client(|c| c.prepare(sql))?;
        if self.statements.len() >= 256 {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }

    fn table_info(&mut self, table: &str) -> Result<TableInfo> {
        if let Some(info) = self.tables.get(table) {
            return Ok(info.clone());
        }
        let quoted = quote_table(table);
        let q = quoted.clone();
        let rows = self.with_client(|c| c.query(sql::TABLE_INFO, &[&q]))?;
        let mut info = TableInfo {
            quoted,
            columns: Vec::with_capacity(rows.len()),
            key: Vec::new(),
        };
        for row in rows {
            let name: String = row.get(0);
            if row.get::<_, bool>(2) {
                info.key.push(name.clone());
            }
            info.columns.push((name, row.get(1)));
        }
        self.tables.insert(table.to_string(), info.clone());
        Ok(info)
    }

    /// The table's info, checked to have every named column.
    fn table_with<'a>(
        &mut self,
        table: &str,
        names: impl Iterator<Item = &'a str> + Clone,
    ) -> Result<TableInfo> {
        let mut info = self.table_info(table)?;
        if info.missing(names.clone()).is_some() {
            // Columns may have been added since we looked: look again once.
            self.tables.remove(table);
            info = self.table_info(table)?;
        }
        if let Some(column) = info.missing(names) {
            return Err(self.error(
                ErrorCode::NotFound,
                format!(
                    "PostgreSQL table {table:?} has no column {column:?} (its columns are {})",
                    info.columns
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        Ok(info)
    }

    /// The columns of a query, checked to be unique.
    fn query_columns(&mut self, query: &str) -> Result<Vec<String>> {
        let stmt = self.with_client(|c| c.prepare(query))?;
        let names: Vec<String> = stmt
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(self.error(
                    ErrorCode::Validation,
                    format!("the query returns column {n:?} twice; give one an alias (AS ...)"),
                ));
            }
        }
        Ok(names)
    }

    fn table_of<'s>(&self, source: &'s EntitySource) -> Result<&'s str> {
        source.table.as_deref().ok_or_else(|| {
            self.error(
                ErrorCode::Validation,
                "writing needs a table; this entity is read with a query".into(),
            )
        })
    }

    fn not_unique(&self, id: &[Field]) -> Error {
        let id = id
            .iter()
            .map(|(n, v)| format!("{n}={}", v.as_deref().unwrap_or("NULL")))
            .collect::<Vec<_>>()
            .join(", ");
        self.error(
            ErrorCode::Validation,
            format!("more than one record has the id {id}; the id fields must be unique"),
        )
    }
}

fn trim_query(query: &str) -> &str {
    query.trim().trim_end_matches(';').trim_end()
}

impl Connector for PostgresSystem {
    fn check(&mut self) -> Result<ConnectionInfo> {
        let (version, tables) = self.with_client(|c| {
            let version: String = c.query_one("SHOW server_version", &[])?.get(0);
            let rows = c.query(
                "SELECT CASE WHEN table_schema = 'public' THEN table_name::text \
                 ELSE table_schema || '.' || table_name END \
                 FROM information_schema.tables \
                 WHERE table_schema NOT IN ('pg_catalog', 'information_schema') \
                 ORDER BY table_schema <> 'public', table_schema, table_name",
                &[],
            )?;
            Ok((
                version,
                rows.iter().map(|r| r.get(0)).collect::<Vec<String>>(),
            ))
        })?;
        Ok(ConnectionInfo {
            description: format!(
                "PostgreSQL {version} at {}:{}, database {}, {} tables and views",
                self.config.host,
                self.config.port,
                self.config.database,
                tables.len()
            ),
            entities: tables,
        })
    }

    fn read(&mut self, source: &EntitySource, sink: &mut dyn RecordSink) -> Result<()> {
        let (names, sql) = match (&source.table, &source.query) {
            (_, Some(query)) => {
                let query = trim_query(query);
                let names = self.query_columns(query)?;
                let list = names
                    .iter()
                    .map(|n| format!("q.{q}::text AS {q}", q = quote_ident(n)))
                    .collect::<Vec<_>>()
                    .join(", ");
                (names, format!("SELECT {list} FROM ({query}) AS q"))
            }
            (Some(table), None) => {
                // A read is long next to one lookup: always see the current columns.
                self.tables.remove(table.as_str());
                let info = self.table_info(table)?;
                if info.columns.is_empty() {
                    return Err(self.error(
                        ErrorCode::NotFound,
                        format!("PostgreSQL table {table:?} has no columns"),
                    ));
                }
                let names: Vec<String> = info.columns.iter().map(|(n, _)| n.clone()).collect();
                let sql = format!("SELECT {} FROM {}", info.select_list(&names), info.quoted);
                (names, sql)
            }
            (None, None) => {
                return Err(self.error(
                    ErrorCode::Config,
                    "the entity names neither a table nor a query".into(),
                ));
            }
        };
        let width = names.len();
        sink.schema(&Schema::new(names))?;
        let client = self.client()?;
        let mut sink_error = None;
        let result = (|| {
            let mut tx = client.build_transaction().read_only(true).start()?;
            {
                let mut rows = tx.query_raw(sql.as_str(), std::iter::empty::<String>())?;
                let mut origin = 0u64;
                while let Some(row) = rows.next()? {
                    origin += 1;
                    let values: Vec<Value> = (0..width)
                        .map(|i| {
                            row.get::<_, Option<String>>(i)
                                .as_deref()
                                .and_then(value_from)
                        })
                        .collect();
                    match sink.record(origin, values) {
                        Ok(true) => {}
                        Ok(false) => break,
                        Err(e) => {
                            sink_error = Some(e);
                            break;
                        }
                    }
                }
            }
            tx.commit()
        })();
        if let Some(e) = sink_error {
            return Err(e);
        }
        result.map_err(|e| self.fail(e))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            read: true,
            write: true,
            conditional_writes: true,
        }
    }

    /// Updates by key go in one round trip per batch; inserts, deletes
    /// and conflicts still take one per row, and a commit one more and an
    /// fsync.
    fn push_batch_size(&self) -> usize {
        1_000
    }

    fn read_one(&mut self, source: &EntitySource, id: &[Field]) -> Result<Option<Vec<Field>>> {
        if id.is_empty() {
            return Err(self.error(
                ErrorCode::Validation,
                "reading one record needs its id fields".into(),
            ));
        }
        let mut params = Params::default();
        let (names, sql) = match (&source.table, &source.query) {
            (Some(table), None) => {
                let info = self.table_with(table, id.iter().map(|(n, _)| n.as_str()))?;
                let names: Vec<String> = info.columns.iter().map(|(n, _)| n.clone()).collect();
                let cond = sql::id_condition(&info, id, &mut params);
                let sql = format!(
                    "SELECT {} FROM {} WHERE {cond} LIMIT 2",
                    info.select_list(&names),
                    info.quoted
                );
                (names, sql)
            }
            (_, Some(query)) => {
                let query = trim_query(query);
                let names = self.query_columns(query)?;
                let list = names
                    .iter()
                    .map(|n| format!("q.{q}::text AS {q}", q = quote_ident(n)))
                    .collect::<Vec<_>>()
                    .join(", ");
                let cond = id
                    .iter()
                    .map(|(n, v)| {
                        let col = format!("q.{}", quote_ident(n));
                        match v {
                            None => format!("({col} IS NULL OR {col}::text = '')"),
                            Some(_) => format!("{col}::text = {}::text", params.push(v)),
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" AND ");
                (
                    names,
                    format!("SELECT {list} FROM ({query}) AS q WHERE {cond} LIMIT 2"),
                )
            }
            (None, None) => {
                return Err(self.error(
                    ErrorCode::Config,
                    "the entity names neither a table nor a query".into(),
                ));
            }
        };
        let stmt = self.prepared(&sql)?;
        let mut rows = self.with_client(|c| collect_rows(c, &stmt, &params))?;
        match rows.len() {
            0 => Ok(None),
            1 => Ok(Some(names.into_iter().zip(rows.remove(0)).collect())),
            _ => Err(self.not_unique(id)),
        }
    }

    fn write(&mut self, source: &EntitySource, change: &WriteChange) -> Result<WriteOutcome> {
        let table = self.table_of(source)?.to_string();
        let all_names = change
            .id
            .iter()
            .chain(&change.values)
            .chain(&change.expected)
            .map(|(n, _)| n.as_str());
        let info = self.table_with(&table, all_names)?;
        match change.kind {
            WriteKind::Insert => self.insert(&info, change),
            WriteKind::Update | WriteKind::Delete => self.change(&info, change),
        }
    }

    /// All changes in one transaction: on an error none is applied.
    /// Updates by the primary key and inserts given their ids go
    /// together, one statement per shape (see `write_in_transaction`); writes by ids that are not the
    /// table's key check their uniqueness in a transaction of their own,
    /// so such a batch goes one by one.
    fn write_batch(
        &mut self,
        source: &EntitySource,
        changes: &[WriteChange],
    ) -> Result<Vec<WriteOutcome>> {
        let table = self.table_of(source)?.to_string();
        let info = self.table_info(&table)?;
        let by_key = changes
            .iter()
            .all(|c| c.kind == WriteKind::Insert || info.is_key(&c.id));
        if changes.len() <= 1 || !by_key {
            return changes.iter().map(|c| self.write(source, c)).collect();
        }
        self.with_client(|c| c.batch_execute("BEGIN"))?;
        let outcomes = match self.write_in_transaction(source, &info, changes) {
            Ok(o) => o,
            Err(e) => {
                self.rollback_quietly();
                return Err(e);
            }
        };
        if let Err(e) = self.with_client(|c| c.batch_execute("COMMIT")) {
            self.rollback_quietly();
            return Err(e);
        }
        Ok(outcomes)
    }
}

/// Changes of a batch that can be written together, grouped by shape
/// (indexes into `changes`, groups of two or more): updates by the primary
/// key with something to set, and inserts given their id fields; every id
/// value given, every column in the table. None when two changes of the
/// batch name the same record (their order would matter).
fn batch_groups(info: &TableInfo, changes: &[WriteChange]) -> Vec<(BatchShape, Vec<usize>)> {
    let mut seen = std::collections::HashSet::with_capacity(changes.len());
    if !changes
        .iter()
        .filter(|c| !c.id.is_empty())
        .all(|c| seen.insert(&c.id))
    {
        return Vec::new();
    }
    let mut groups: HashMap<BatchShape, Vec<usize>> = HashMap::new();
    for (i, c) in changes.iter().enumerate() {
        let kind = match c.kind {
            WriteKind::Update => !c.values.is_empty() && info.is_key(&c.id),
            WriteKind::Insert => !c.id.is_empty(),
            WriteKind::Delete => false,
        };
        let together = kind
            && c.id.iter().all(|(_, v)| v.is_some())
            && info
                .missing(
                    c.id.iter()
                        .chain(&c.values)
                        .chain(&c.expected)
                        .map(|(n, _)| n.as_str()),
                )
                .is_none();
        if together {
            groups.entry(BatchShape::of(c)).or_default().push(i);
        }
    }
    groups.into_iter().filter(|(_, g)| g.len() > 1).collect()
}

impl PostgresSystem {
    /// The changes of a batch inside the open transaction: updates and
    /// inserts of the same shape by one statement each
    /// ([`BatchShape::sql`]), the records an update did not write re-read
    /// to tell a conflict from a missing record, and every other change
    /// one by one.
    fn write_in_transaction(
        &mut self,
        source: &EntitySource,
        info: &TableInfo,
        changes: &[WriteChange],
    ) -> Result<Vec<WriteOutcome>> {
        let mut outcomes: Vec<Option<WriteOutcome>> = vec![None; changes.len()];
        for (shape, group) in batch_groups(info, changes) {
            let written = self.write_together(info, &shape, changes, &group)?;
            for (&i, id) in group.iter().zip(written) {
                outcomes[i] = Some(match id {
                    Some(id) => WriteOutcome::Applied { id },
                    None if shape.kind == WriteKind::Insert => {
                        // Inserted but not found by its id again (a trigger
                        // changed it?): the batch is undone, each change
                        // is then sent alone.
                        return Err(self.error(
                            ErrorCode::Protocol,
                            format!(
                                "a record inserted with {:?} could not be found by that id in the same statement",
                                changes[i].id
                            ),
                        ));
                    }
                    None => self.conflict_or_missing(info, &changes[i], false)?,
                });
            }
        }
        changes
            .iter()
            .zip(outcomes)
            .map(|(c, o)| match o {
                Some(o) => Ok(o),
                None => self.write(source, c),
            })
            .collect()
    }

    /// Writes `changes[group]` (all of `shape`) by one statement; gives,
    /// for each, the id fields written back, or `None` where nothing was
    /// written (an update whose record did not hold its expected values,
    /// or is missing).
    fn write_together(
        &mut self,
        info: &TableInfo,
        shape: &BatchShape,
        changes: &[WriteChange],
        group: &[usize],
    ) -> Result<Vec<Option<Vec<Field>>>> {
        let mut arrays: Vec<Vec<Option<String>>> =
            vec![Vec::with_capacity(group.len()); shape.arrays()];
        for &i in group {
            for (a, v) in arrays.iter_mut().zip(BatchShape::row(&changes[i])) {
                a.push(v.clone());
            }
        }
        let stmt = self.prepared(&shape.sql(info))?;
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> = arrays
            .iter()
            .map(|a| a as &(dyn postgres::types::ToSql + Sync))
            .collect();
        let rows = self.with_client(|c| c.query(&stmt, &params))?;
        let mut written: Vec<Option<Vec<Field>>> = vec![None; group.len()];
        for row in rows {
            let ordinal: i64 = row.get(0);
            let Some(slot) = usize::try_from(ordinal - 1)
                .ok()
                .and_then(|k| written.get_mut(k))
                .filter(|slot| slot.is_none())
            else {
                // Two rows for one change: ids equal once cast ("7", "07").
                return Err(self.error(
                    ErrorCode::Protocol,
                    format!(
                        "the batch statement returned row {ordinal} of {} twice or out of range",
                        group.len()
                    ),
                ));
            };
            *slot = Some(
                shape
                    .id
                    .iter()
                    .enumerate()
                    .map(|(j, n)| {
                        let v: Option<String> = row.get(j + 1);
                        (n.clone(), v.as_deref().and_then(value_from))
                    })
                    .collect(),
            );
        }
        Ok(written)
    }

    /// Ends a failed batch's transaction, if the connection still stands.
    fn rollback_quietly(&mut self) {
        if let Some(client) = self.client.as_mut() {
            let _ = client.batch_execute("ROLLBACK");
        }
    }

    fn insert(&mut self, info: &TableInfo, change: &WriteChange) -> Result<WriteOutcome> {
        let mut params = Params::default();
        let mut columns = Vec::new();
        let mut values = Vec::new();
        for (name, value) in change.id.iter().chain(
            change
                .values
                .iter()
                .filter(|(n, _)| !change.id.iter().any(|(i, _)| i == n)),
        ) {
            columns.push(quote_ident(name));
            values.push(sql::cast_param(info, name, value, &mut params));
        }
        let id_names: Vec<String> = if change.id.is_empty() {
            info.key.clone()
        } else {
            change.id.iter().map(|(n, _)| n.clone()).collect()
        };
        let returning = if id_names.is_empty() {
            String::new()
        } else {
            format!(" RETURNING {}", info.select_list(&id_names))
        };
        let sql = if columns.is_empty() {
            format!("INSERT INTO {} DEFAULT VALUES{returning}", info.quoted)
        } else {
            format!(
                "INSERT INTO {} ({}) VALUES ({}){returning}",
                info.quoted,
                columns.join(", "),
                values.join(", ")
            )
        };
        let stmt = self.prepared(&sql)?;
        let rows = self.with_client(|c| collect_rows(c, &stmt, &params))?;
        let id = match rows.into_iter().next() {
            Some(row) => id_names.into_iter().zip(row).collect(),
            None => Vec::new(),
        };
        Ok(WriteOutcome::Applied { id })
    }

    fn change(&mut self, info: &TableInfo, change: &WriteChange) -> Result<WriteOutcome> {
        if change.id.is_empty() {
            return Err(self.error(
                ErrorCode::Validation,
                "an update or delete needs the record's id fields".into(),
            ));
        }
        if change.kind == WriteKind::Update && change.values.is_empty() {
            // Nothing to set: report whether the record is there as expected.
            return self.conflict_or_missing(info, change, true);
        }
        let mut params = Params::default();
        let head = match change.kind {
            WriteKind::Update => {
                let sets = change
                    .values
                    .iter()
                    .map(|(n, v)| {
                        format!(
                            "{} = {}",
                            quote_ident(n),
                            sql::cast_param(info, n, v, &mut params)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("UPDATE {} SET {sets}", info.quoted)
            }
            _ => format!("DELETE FROM {}", info.quoted),
        };
        let mut cond = sql::id_condition(info, &change.id, &mut params);
        if !change.expected.is_empty() {
            cond.push_str(" AND ");
            cond.push_str(&sql::expected_condition(&change.expected, &mut params));
        }
        let id_names: Vec<String> = change.id.iter().map(|(n, _)| n.clone()).collect();
        let sql = format!(
            "{head} WHERE {cond} RETURNING {}",
            info.select_list(&id_names)
        );
        let single = info.is_key(&change.id);
        let stmt = self.prepared(&sql)?;
        let rows = self.with_client(|c| {
            if single {
                return collect_rows(c, &stmt, &params).map(Some);
            }
            let mut tx = c.transaction()?;
            let rows = collect_rows(&mut tx, &stmt, &params)?;
            if rows.len() > 1 {
                tx.rollback()?;
                return Ok(None);
            }
            tx.commit()?;
            Ok(Some(rows))
        })?;
        let Some(mut rows) = rows else {
            return Err(self.not_unique(&change.id));
        };
        if rows.is_empty() {
            return self.conflict_or_missing(info, change, false);
        }
        Ok(WriteOutcome::Applied {
            id: id_names.into_iter().zip(rows.remove(0)).collect(),
        })
    }

    /// After a conditional write changed nothing: re-reads the record to
    /// tell a conflict from a missing record. With `applied_if_same`, a
    /// record whose values are as expected counts as applied.
    fn conflict_or_missing(
        &mut self,
        info: &TableInfo,
        change: &WriteChange,
        applied_if_same: bool,
    ) -> Result<WriteOutcome> {
        let mut params = Params::default();
        let cond = sql::id_condition(info, &change.id, &mut params);
        let names: Vec<String> = change.expected.iter().map(|(n, _)| n.clone()).collect();
        let list = if names.is_empty() {
            "1::text".to_string()
        } else {
            info.select_list(&names)
        };
        let sql = format!("SELECT {list} FROM {} WHERE {cond} LIMIT 2", info.quoted);
        let stmt = self.prepared(&sql)?;
        let mut rows = self.with_client(|c| collect_rows(c, &stmt, &params))?;
        match rows.len() {
            0 => Ok(WriteOutcome::NotFound),
            1 => {
                let current: Vec<Field> = names.into_iter().zip(rows.remove(0)).collect();
                if applied_if_same && current == change.expected {
                    Ok(WriteOutcome::Applied {
                        id: change.id.clone(),
                    })
                } else {
                    Ok(WriteOutcome::Conflict { current })
                }
            }
            _ => Err(self.not_unique(&change.id)),
        }
    }
}
