//! PostgreSQL system (interim; replaced by the full connector).

use crate::connectors::{Capabilities, ConnectionInfo, Connector, EntitySource, RecordSink};
use crate::error::{Error, Result};

/// How to reach a PostgreSQL server.
#[derive(Debug, Clone)]
pub struct PgConfig {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// User.
    pub user: String,
    /// Database.
    pub database: String,
    /// Password, resolved from its secret reference.
    pub password: Option<String>,
}

/// A PostgreSQL database.
#[derive(Debug)]
pub struct PostgresSystem {
    #[allow(dead_code)]
    name: String,
}

impl PostgresSystem {
    /// A system named `name`.
    pub fn new(name: String, _config: PgConfig) -> Self {
        PostgresSystem { name }
    }
}

impl Connector for PostgresSystem {
    fn check(&mut self) -> Result<ConnectionInfo> {
        Err(Error::Invalid("postgres: not yet".into()))
    }
    fn read(&mut self, _source: &EntitySource, _sink: &mut dyn RecordSink) -> Result<()> {
        Err(Error::Invalid("postgres: not yet".into()))
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }
}
