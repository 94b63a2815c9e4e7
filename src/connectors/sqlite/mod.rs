//! SQLite database system (interim reader; replaced by the full connector).

use std::path::PathBuf;

use crate::connectors::{Capabilities, ConnectionInfo, Connector, EntitySource, RecordSink};
use crate::error::{Error, ErrorCode, Result};
use crate::records::Schema;

/// A SQLite database file.
#[derive(Debug)]
pub struct SqliteSystem {
    name: String,
    path: PathBuf,
}

impl SqliteSystem {
    /// A system named `name` reading the database at `path`.
    pub fn new(name: String, path: PathBuf) -> Self {
        SqliteSystem { name, path }
    }
    fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::System {
            system: self.name.clone(),
            code: ErrorCode::System,
            message: format!("{}: {e}", self.path.display()),
        }
    }
}

impl Connector for SqliteSystem {
    fn check(&mut self) -> Result<ConnectionInfo> {
        Ok(ConnectionInfo {
            description: "SQLite".into(),
            entities: vec![],
        })
    }
    fn read(&mut self, source: &EntitySource, sink: &mut dyn RecordSink) -> Result<()> {
        let conn = rusqlite::Connection::open_with_flags(
            &self.path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .map_err(|e| self.err(e))?;
        let sql = match (&source.table, &source.query) {
            (_, Some(q)) => q.clone(),
            (Some(t), None) => format!("SELECT * FROM \"{}\"", t.replace('"', "\"\"")),
            _ => return Err(self.err("give a table or a query")),
        };
        let mut stmt = conn.prepare(&sql).map_err(|e| self.err(e))?;
        let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
        sink.schema(&Schema::new(names.clone()))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        let mut n = 0u64;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            n += 1;
            let mut vals = Vec::with_capacity(names.len());
            for i in 0..names.len() {
                use rusqlite::types::ValueRef;
                let v = match row.get_ref(i).map_err(|e| self.err(e))? {
                    ValueRef::Null => None,
                    ValueRef::Integer(i) => Some(i.to_string()),
                    ValueRef::Real(f) => Some(f.to_string()),
                    ValueRef::Text(t) => crate::records::value_from(&String::from_utf8_lossy(t)),
                    ValueRef::Blob(b) => Some(b.iter().map(|x| format!("{x:02x}")).collect()),
                };
                vals.push(v);
            }
            if !sink.record(n, vals)? {
                break;
            }
        }
        Ok(())
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            read: true,
            write: false,
            conditional_writes: false,
        }
    }
}
