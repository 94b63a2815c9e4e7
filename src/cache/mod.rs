//! The local cache: one SQLite file per workspace (`trueup.db`) holding
//! snapshots, records, baselines, proposals, decisions, links and run
//! history. WAL mode, `synchronous=NORMAL`, a busy timeout; the schema comes
//! from additive migrations.

mod migrations;
mod runs;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

pub use migrations::{migration_count, migrations};
pub use runs::{Run, RunKind};

use crate::error::{Error, Result};

/// An open cache database.
pub struct Cache {
    path: PathBuf,
    pub(crate) conn: Connection,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").field("path", &self.path).finish()
    }
}

impl Cache {
    /// Opens (creating if needed) and migrates the cache at `path`.
    pub fn open(path: &Path) -> Result<Cache> {
        let mut conn = Connection::open(path).map_err(|e| Error::cache(path, e))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(|e| Error::cache(path, e))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| Error::cache(path, e))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| Error::cache(path, e))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| Error::cache(path, e))?;
        // Reads of a large cache come from memory, not from one small page
        // cache refilled by system calls: 64 MiB of pages, and the file mapped.
        conn.pragma_update(None, "cache_size", -65536)
            .map_err(|e| Error::cache(path, e))?;
        conn.pragma_update(None, "mmap_size", 1i64 << 30)
            .map_err(|e| Error::cache(path, e))?;
        let migrations = migrations();
        // A cache from a newer Trueup: said plainly, and left untouched.
        if let Ok(rusqlite_migration::SchemaVersion::Outside(version)) =
            migrations.current_version(&conn)
        {
            return Err(Error::cache(
                path,
                format!(
                    "it was written by a newer version of Trueup (cache schema {version}; this \
                     version knows up to {}); open the workspace with that newer version. \
                     Nothing was changed",
                    migration_count()
                ),
            ));
        }
        migrations
            .to_latest(&mut conn)
            .map_err(|e| Error::cache(path, e))?;
        Ok(Cache {
            path: path.to_path_buf(),
            conn,
        })
    }

    /// The cache file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Maps a SQLite error to ours, naming this cache.
    pub(crate) fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::cache(&self.path, e)
    }

    /// Runs SQLite's integrity check; returns its first line (`ok` when sound).
    pub fn integrity_check(&self) -> Result<String> {
        self.conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// The field names of an entity as of its last successful pull.
    pub fn entity_fields(&self, entity: &str) -> Result<Option<Vec<String>>> {
        let fields: Option<String> = self
            .conn
            .query_row(
                "SELECT fields FROM snapshots WHERE entity = ?1 AND status = 'ok' ORDER BY id DESC LIMIT 1",
                [entity],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })
            .map_err(|e| self.err(e))?;
        fields
            .map(|f| serde_json::from_str(&f).map_err(|e| self.err(e)))
            .transpose()
    }
}
