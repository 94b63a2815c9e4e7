//! A workspace: a folder holding `trueup.toml` (the configuration) and
//! `trueup.db` (the cache). Every operation of the flow starts here.

pub mod demo;
mod setup;
mod systems;

pub use setup::{FieldPreview, MappingSample, PreviewValue, SampleRows};
pub use systems::{SampleRecord, SystemCheck};

use std::path::{Path, PathBuf};

use crate::cache::Cache;
use crate::config::{Config, EntityConfig, ReconciliationConfig, SystemConfig};
use crate::connectors::csv::{CsvOptions, CsvSystem, EncodingChoice, parse_delimiter};
use crate::connectors::postgres::{PgConfig, PostgresSystem};
use crate::connectors::rest::{RestEntity, RestSystem};
use crate::connectors::sqlite::SqliteSystem;
use crate::connectors::tryton::{RpcConfig, TrytonSystem};
use crate::connectors::xlsx::XlsxSystem;
use crate::connectors::{ConnectionInfo, Connector, EntitySource};
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
        let text = "# Trueup workspace. Every field is documented in docs/config.md.\n\n[workspace]\nname = \"New workspace\"\n";
        std::fs::write(&config_path, text).map_err(|e| Error::io(&config_path, e))?;
        let config = Config::parse(&config_path, text)?;
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

    /// Adds system `name` to `trueup.toml`, or replaces it. The whole
    /// configuration is validated first; nothing is written when it is invalid.
    /// Secrets stay references ([`crate::config::SecretRef`]), never values.
    pub fn set_system(&mut self, name: &str, system: SystemConfig) -> Result<()> {
        self.set_system_with_secret(name, system, None)
    }

    /// Adds reconciliation `name` to `trueup.toml`, or replaces it; validated
    /// first (entities, key fields, value maps), nothing written when invalid.
    pub fn set_reconciliation(&mut self, name: &str, recon: ReconciliationConfig) -> Result<()> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(Error::Invalid(format!(
                "reconciliation name {name:?}: use letters, digits, `_` and `-` only"
            )));
        }
        let mut config = self.config.clone();
        config.reconciliations.insert(name.to_string(), recon);
        self.commit(config, None)
    }

    /// A suggested mapping from entity `left` to entity `right`, from their
    /// field names and the values of their first 200 records (read from the
    /// systems), with the left fields to choose from.
    pub fn suggest_mapping(
        &self,
        left: &str,
        right: &str,
    ) -> Result<(Vec<crate::mapping::FieldSuggestion>, Vec<String>)> {
        let s = self.suggest_mapping_sample(left, right)?;
        Ok((s.suggestions, s.left.fields))
    }

    /// Tests system `name`'s connection: what was reached and the entities it offers.
    pub fn test_system(&self, name: &str) -> Result<ConnectionInfo> {
        self.connector(name)?.check()
    }

    /// Tests a system's configuration before it is saved (as system `name`);
    /// `password`, when given, is used instead of the configured secret (a
    /// password typed but not stored yet). It is not kept.
    pub fn test_system_config(
        &self,
        name: &str,
        system: &SystemConfig,
        password: Option<String>,
    ) -> Result<ConnectionInfo> {
        let mut system = system.clone();
        if let Some(p) = password.filter(|p| !p.is_empty()) {
            system.set_secret(crate::config::SecretRef::Typed(
                crate::config::TypedSecret::new(p),
            ));
        }
        self.connector_for(name, &system)?.check()
    }

    /// Opens a connector for a system. Secrets are resolved here, never stored.
    pub fn connector(&self, name: &str) -> Result<Box<dyn Connector>> {
        self.connector_for(name, self.system(name)?)
    }

    /// The entities of an HTTP system, each with its REST configuration
    /// (written out, or expanded from a preset such as HubSpot's).
    fn rest_entities(&self, system: &str) -> Vec<RestEntity> {
        self.config
            .entities
            .iter()
            .filter(|(_, e)| e.system == system)
            .filter_map(|(n, e)| {
                e.rest_config().map(|rest| RestEntity {
                    name: n.clone(),
                    id: e.id.clone(),
                    rest,
                })
            })
            .collect()
    }

    fn connector_for(&self, name: &str, system: &SystemConfig) -> Result<Box<dyn Connector>> {
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
                let entities = self.rest_entities(name);
                Box::new(RestSystem::new(name, config.clone(), entities)?)
            }
            SystemConfig::Hubspot(config) => {
                let entities = self.rest_entities(name);
                Box::new(RestSystem::new(name, config.to_rest(), entities)?)
            }
            SystemConfig::Vendure(config) => {
                let entities = self.rest_entities(name);
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

#[cfg(test)]
mod system_tests {
    use super::*;
    use crate::config::SecretRef;

    #[test]
    fn systems_are_added_tested_and_saved_with_secret_references_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut ws = Workspace::init_demo(dir.path()).unwrap();
        let info = ws.test_system("erp").unwrap();
        assert!(info.entities.contains(&"customers".to_string()), "{info:?}");

        let copy = SystemConfig::Sqlite {
            path: "data/erp.sqlite".into(),
        };
        assert!(ws.test_system_config("erp_copy", &copy, None).is_ok());
        ws.set_system("erp_copy", copy.clone()).unwrap();
        ws.set_system(
            "warehouse",
            SystemConfig::Postgres {
                host: "db.example".into(),
                port: 5432,
                user: "u".into(),
                database: "d".into(),
                password: Some(SecretRef::Env("WAREHOUSE_PASSWORD".into())),
            },
        )
        .unwrap();
        let reopened = Workspace::open(dir.path()).unwrap();
        assert_eq!(reopened.system("erp_copy").unwrap(), &copy);
        let text = std::fs::read_to_string(dir.path().join(CONFIG_FILE)).unwrap();
        assert!(text.contains("env = \"WAREHOUSE_PASSWORD\""), "{text}");

        let missing = SystemConfig::Sqlite {
            path: "data/nope.sqlite".into(),
        };
        assert!(ws.test_system_config("x", &missing, None).is_err());
        let err = ws.set_system("bad name", copy).unwrap_err();
        assert!(err.to_string().contains("bad name"), "{err}");
        let before = std::fs::read_to_string(dir.path().join(CONFIG_FILE)).unwrap();
        assert_eq!(before, text, "nothing written when refused");
    }

    #[test]
    fn a_suggested_mapping_is_saved_as_a_reconciliation() {
        let dir = tempfile::tempdir().unwrap();
        let mut ws = Workspace::init_demo(dir.path()).unwrap();
        let (suggestions, left_fields) = ws
            .suggest_mapping("erp_customers", "crm_db_contacts")
            .unwrap();
        assert!(
            left_fields.contains(&"email".to_string()),
            "{left_fields:?}"
        );
        let email = suggestions.iter().find(|s| s.target == "E-mail").unwrap();
        assert_eq!(email.source.as_deref(), Some("email"));
        assert!(!email.left_samples.is_empty() && !email.right_samples.is_empty());
        let recon = ReconciliationConfig {
            left: "erp_customers".into(),
            right: "crm_db_contacts".into(),
            key: vec!["Customer Number".into()],
            fields: suggestions
                .iter()
                .filter(|s| s.source.is_some())
                .map(|s| s.to_mapping())
                .collect(),
            value_maps: Default::default(),
            default_country_code: None,
        };
        ws.set_reconciliation("suggested", recon.clone()).unwrap();
        let reopened = Workspace::open(dir.path()).unwrap();
        assert_eq!(reopened.reconciliation("suggested").unwrap(), &recon);
        let bad = ReconciliationConfig {
            right: "nope".into(),
            ..recon
        };
        assert!(ws.set_reconciliation("bad", bad).is_err());
        assert!(
            Workspace::open(dir.path())
                .unwrap()
                .reconciliation("bad")
                .is_err()
        );
        assert!(ws.suggest_mapping("erp_customers", "nope").is_err());
    }
}
