//! A workspace: a folder holding `trueup.toml` (the configuration) and
//! `trueup.db` (the cache). Every operation of the flow starts here.

pub mod demo;

use std::path::{Path, PathBuf};

use crate::cache::Cache;
use crate::config::{Config, EntityConfig, ReconciliationConfig, SystemConfig};
use crate::connectors::csv::{CsvOptions, CsvSystem, EncodingChoice, parse_delimiter};
use crate::connectors::postgres::{PgConfig, PostgresSystem};
use crate::connectors::rest::{RestEntity, RestSystem};
use crate::connectors::sqlite::SqliteSystem;
use crate::connectors::tryton::{RpcConfig, TrytonSystem};
use crate::connectors::xlsx::XlsxSystem;
use crate::connectors::{Connector, EntitySource};
use crate::error::{Error, Result};

/// The configuration file's name inside a workspace.
pub const CONFIG_FILE: &str = "trueup.toml";
/// The cache file's name inside a workspace.
pub const CACHE_FILE: &str = "trueup.db";

/// An open workspace.
#[derive(Debug)]
pub struct Workspace {
    dir: PathBuf,
    /// The parsed configuration.
    pub config: Config,
    /// The cache.
    pub cache: Cache,
}

impl Workspace {
    /// Creates an empty workspace in `dir` (created if missing). Fails if one exists.
    pub fn init(dir: &Path) -> Result<Workspace> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let config_path = dir.join(CONFIG_FILE);
        if config_path.exists() {
            return Err(Error::Invalid(format!(
                "{} already holds a workspace ({} exists)",
                dir.display(),
                CONFIG_FILE
            )));
        }
        let config = Config::default();
        std::fs::write(
            &config_path,
            "# Trueup workspace. Every field is documented in docs/config.md.\n\n[workspace]\nname = \"New workspace\"\n",
        )
        .map_err(|e| Error::io(&config_path, e))?;
        let cache = Cache::open(&dir.join(CACHE_FILE))?;
        Ok(Workspace {
            dir: dir.to_path_buf(),
            config,
            cache,
        })
    }

    /// Creates the demo workspace in `dir`: sample ERP and CRM data and a
    /// ready reconciliation. Fails if a workspace exists there.
    pub fn init_demo(dir: &Path) -> Result<Workspace> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        if dir.join(CONFIG_FILE).exists() {
            return Err(Error::Invalid(format!(
                "{} already holds a workspace ({} exists)",
                dir.display(),
                CONFIG_FILE
            )));
        }
        demo::write_demo(dir)?;
        Workspace::open(dir)
    }

    /// Opens the workspace in `dir`.
    pub fn open(dir: &Path) -> Result<Workspace> {
        let config_path = dir.join(CONFIG_FILE);
        if !config_path.exists() {
            return Err(Error::NotFound(format!(
                "{} is not a Trueup workspace (no {}); create one with `trueup init`",
                dir.display(),
                CONFIG_FILE
            )));
        }
        let config = Config::load(&config_path)?;
        let cache = Cache::open(&dir.join(CACHE_FILE))?;
        Ok(Workspace {
            dir: dir.to_path_buf(),
            config,
            cache,
        })
    }

    /// The workspace folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Resolves a path from the configuration against the workspace folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.dir.join(path)
        }
    }

    /// Writes the configuration back to `trueup.toml`.
    pub fn save_config(&self) -> Result<()> {
        self.config.save(&self.dir.join(CONFIG_FILE))
    }

    /// The configuration of a system, by name.
    pub fn system(&self, name: &str) -> Result<&SystemConfig> {
        self.config.systems.get(name).ok_or_else(|| {
            Error::NotFound(format!(
                "no system named {name:?} (known: {})",
                names(self.config.systems.keys())
            ))
        })
    }

    /// The configuration of an entity, by name.
    pub fn entity(&self, name: &str) -> Result<&EntityConfig> {
        self.config.entities.get(name).ok_or_else(|| {
            Error::NotFound(format!(
                "no entity named {name:?} (known: {})",
                names(self.config.entities.keys())
            ))
        })
    }

    /// The configuration of a reconciliation, by name.
    pub fn reconciliation(&self, name: &str) -> Result<&ReconciliationConfig> {
        self.config.reconciliations.get(name).ok_or_else(|| {
            Error::NotFound(format!(
                "no reconciliation named {name:?} (known: {})",
                names(self.config.reconciliations.keys())
            ))
        })
    }

    /// Opens a connector for a system. Secrets are resolved here, never stored.
    pub fn connector(&self, name: &str) -> Result<Box<dyn Connector>> {
        let system = self.system(name)?;
        Ok(match system {
            SystemConfig::Csv {
                path,
                encoding,
                delimiter,
            } => {
                let encoding = match encoding {
                    None => EncodingChoice::Auto,
                    Some(label) => EncodingChoice::parse(label).ok_or_else(|| {
                        Error::Invalid(format!(
                            "systems.{name}.encoding: unknown encoding {label:?}"
                        ))
                    })?,
                };
                let delimiter = match delimiter {
                    None => None,
                    Some(label) => parse_delimiter(label).ok_or_else(|| {
                        Error::Invalid(format!(
                            "systems.{name}.delimiter: {label:?} is not one character, `tab` or `auto`"
                        ))
                    })?,
                };
                Box::new(CsvSystem::new(
                    self.resolve(path),
                    CsvOptions {
                        encoding,
                        delimiter,
                    },
                ))
            }
            SystemConfig::Xlsx { path } => {
                Box::new(XlsxSystem::new(name.to_string(), self.resolve(path)))
            }
            SystemConfig::Sqlite { path } => {
                Box::new(SqliteSystem::new(name.to_string(), self.resolve(path)))
            }
            SystemConfig::Postgres {
                host,
                port,
                user,
                database,
                password,
            } => {
                let password = password.as_ref().map(|p| p.resolve()).transpose()?;
                Box::new(PostgresSystem::new(
                    name.to_string(),
                    PgConfig {
                        host: host.clone(),
                        port: *port,
                        user: user.clone(),
                        database: database.clone(),
                        password,
                    },
                ))
            }
            SystemConfig::Tryton {
                url,
                database,
                user,
                password,
                page_size,
                http,
            } => Box::new(TrytonSystem::new(
                name.to_string(),
                RpcConfig {
                    url: url.clone(),
                    database: database.clone(),
                    user: user.clone(),
                    password: password.resolve()?,
                    options: http.clone(),
                },
                page_size.unwrap_or(1000),
            )?),
            SystemConfig::Rest(config) => {
                let entities = self
                    .config
                    .entities
                    .iter()
                    .filter(|(_, e)| e.system == name)
                    .filter_map(|(n, e)| {
                        e.rest.clone().map(|rest| RestEntity {
                            name: n.clone(),
                            id: e.id.clone(),
                            rest,
                        })
                    })
                    .collect();
                Box::new(RestSystem::new(name, config.clone(), entities)?)
            }
            SystemConfig::Hubspot(config) => {
                let entities = self
                    .config
                    .entities
                    .iter()
                    .filter(|(_, e)| e.system == name)
                    .filter_map(|(n, e)| {
                        e.rest_config().map(|rest| RestEntity {
                            name: n.clone(),
                            id: e.id.clone(),
                            rest,
                        })
                    })
                    .collect();
                Box::new(RestSystem::new(name, config.to_rest(), entities)?)
            }
            SystemConfig::Vendure(config) => {
                let entities = self
                    .config
                    .entities
                    .iter()
                    .filter(|(_, e)| e.system == name)
                    .filter_map(|(n, e)| {
                        e.rest_config().map(|rest| RestEntity {
                            name: n.clone(),
                            id: e.id.clone(),
                            rest,
                        })
                    })
                    .collect();
                Box::new(RestSystem::new(name, config.to_rest(), entities)?)
            }
        })
    }

    /// What a connector reads for an entity.
    pub fn entity_source(entity: &EntityConfig) -> EntitySource {
        EntitySource {
            table: entity.table.clone(),
            query: entity.query.clone(),
            file: entity.file.clone(),
            rest: entity.rest_config().map(Box::new),
            since: None,
        }
    }
}

fn names<'a>(it: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<&str> = it.map(String::as_str).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}
