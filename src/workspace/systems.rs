//! Managing a workspace's systems: add or replace one with its secret (the
//! secret goes to the OS keychain, the configuration references it), rename
//! and delete them, edit the entities of a REST system as TOML, and test a
//! connection with one sample record. Every change is validated in full
//! first; nothing is written when it is refused.

use serde::Serialize;

use super::{CONFIG_FILE, Workspace};
use crate::config::{Config, EntityConfig, SecretRef, SystemConfig, TypedSecret};
use crate::connectors::{ConnectionInfo, Connector, Sample};
use crate::error::{Error, Result};

/// What a connection test found: the system and one sample record.
#[derive(Debug, Clone, Serialize)]
pub struct SystemCheck {
    /// What was reached and what it offers.
    pub info: ConnectionInfo,
    /// The first record of the system's first entity with records, when it
    /// has entities; values of secret-looking fields are replaced.
    pub sample: Option<SampleRecord>,
}

/// One record, as a connection test shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SampleRecord {
    /// The entity it was read from.
    pub entity: String,
    /// Its fields and values (text, or null), in the entity's field order.
    pub fields: Vec<(String, Option<String>)>,
}

/// Letters, digits, `_` and `-`: a name that is a TOML bare key.
pub(super) fn check_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(Error::Invalid(format!(
            "{what} name {name:?}: use letters, digits, `_` and `-` only"
        )));
    }
    Ok(())
}

impl Workspace {
    fn config_path(&self) -> std::path::PathBuf {
        self.dir.join(CONFIG_FILE)
    }

    /// Validates `config`, writes it (keeping the file's comments) and makes
    /// it the workspace's. Nothing is written when it is invalid.
    pub(super) fn commit(
        &mut self,
        config: Config,
        rename: Option<(&str, &str, &str)>,
    ) -> Result<()> {
        let path = self.config_path();
        config.validate(&path)?;
        config.save_with(&path, rename, None)?;
        self.config = config;
        Ok(())
    }

    /// Adds system `name` or replaces it. A typed `secret` is stored in the
    /// OS keychain (account [`crate::secrets::account`]) and the
    /// configuration references it as `{ keychain = "..." }`; without one,
    /// the system's own reference (an environment variable, or the keychain
    /// entry stored earlier) is kept. The whole configuration is validated
    /// before the secret is stored; when the keychain is unavailable, nothing
    /// is written and the error says to use an environment variable.
    pub fn set_system_with_secret(
        &mut self,
        name: &str,
        mut system: SystemConfig,
        secret: Option<&str>,
    ) -> Result<()> {
        check_name("system", name)?;
        let secret = secret.filter(|s| !s.is_empty());
        let account = crate::secrets::account(&self.dir, name);
        if secret.is_some() && !system.set_secret(SecretRef::Keychain(account.clone())) {
            return Err(Error::Invalid(format!(
                "systems.{name}: a {} system {} takes no secret",
                system.kind(),
                match &system {
                    SystemConfig::Rest(_) => "without authentication",
                    _ => "",
                }
            )));
        }
        if matches!(system.secret(), Some(SecretRef::Typed(_))) {
            return Err(Error::Invalid(format!(
                "systems.{name}: a typed secret is stored through the keychain, not in the configuration"
            )));
        }
        let mut config = self.config.clone();
        config.systems.insert(name.to_string(), system);
        config.validate(&self.config_path())?;
        if let Some(secret) = secret {
            crate::secrets::store(&account, secret)?;
        }
        self.commit(config, None)
    }

    /// The problems of `system`'s settings, field by field (no I/O), as
    /// system `name`; `secret_typed`: a secret was typed for the keychain.
    pub fn system_problems(
        &self,
        name: &str,
        system: &SystemConfig,
        secret_typed: bool,
    ) -> Vec<crate::config::FieldProblem> {
        let mut problems = Vec::new();
        if let Err(e) = check_name("system", name) {
            problems.push(crate::config::FieldProblem {
                field: "name".into(),
                message: e.to_string(),
            });
        }
        problems.extend(system.problems(secret_typed));
        problems
    }

    /// Renames system `from` to `to`; the entities on it follow. The
    /// keychain entry keeps its account name (the configuration still
    /// references it), so the secret needs no re-entry.
    pub fn rename_system(&mut self, from: &str, to: &str) -> Result<()> {
        check_name("system", to)?;
        self.system(from)?;
        if from == to {
            return Ok(());
        }
        if self.config.systems.contains_key(to) {
            return Err(Error::Invalid(format!(
                "a system named {to:?} exists already"
            )));
        }
        let mut config = self.config.clone();
        let system = config.systems.remove(from).expect("checked above");
        config.systems.insert(to.to_string(), system);
        for e in config.entities.values_mut() {
            if e.system == from {
                e.system = to.to_string();
            }
        }
        self.commit(config, Some(("systems", from, to)))
    }

    /// Deletes system `name`. Refused while entities use it (they are
    /// named). Its keychain entry, when the app made it for this workspace
    /// and no other system uses it, is removed too.
    pub fn delete_system(&mut self, name: &str) -> Result<()> {
        let system = self.system(name)?.clone();
        let users: Vec<&str> = self
            .config
            .entities
            .iter()
            .filter(|(_, e)| e.system == name)
            .map(|(n, _)| n.as_str())
            .collect();
        if !users.is_empty() {
            return Err(Error::Invalid(format!(
                "system {name:?} is used by entit{} {}; delete or move {} first",
                if users.len() == 1 { "y" } else { "ies" },
                users.join(", "),
                if users.len() == 1 { "it" } else { "them" },
            )));
        }
        let mut config = self.config.clone();
        config.systems.remove(name);
        self.commit(config, None)?;
        // An entry the app made for this workspace (`SYSTEM@DIR`, the
        // system perhaps renamed since) that no other system uses.
        let ours = format!("@{}", self.dir.display());
        if let Some(SecretRef::Keychain(account)) = system.secret()
            && account.ends_with(&ours)
            && !self
                .config
                .systems
                .values()
                .any(|s| s.secret() == system.secret())
        {
            // The system is gone either way; a keychain that cannot be
            // reached keeps an orphan entry, never a secret in a file.
            let _ = crate::secrets::delete(account);
        }
        Ok(())
    }

    /// Entity `name` as TOML, as it is written under `[entities.NAME]`
    /// (without its `system`), for editing as text: as the file says it,
    /// comments included, or written out when the file cannot say.
    pub fn entity_toml(&self, name: &str) -> Result<String> {
        let entity = self.entity(name)?;
        let from_file = std::fs::read_to_string(self.config_path())
            .ok()
            .and_then(|text| text.parse::<toml_edit::DocumentMut>().ok())
            .and_then(|doc| doc.get("entities")?.get(name)?.as_table().cloned())
            .map(|mut t| {
                t.remove("system");
                *t.decor_mut() = Default::default();
                toml_edit::DocumentMut::from(t).to_string()
            })
            .filter(|text| {
                Workspace::parse_entity_toml(name, &entity.system, text)
                    .ok()
                    .as_ref()
                    == Some(entity)
            });
        if let Some(text) = from_file {
            return Ok(text.trim_start().to_string());
        }
        let mut e = entity.clone();
        e.system.clear();
        let mut table = toml::Table::try_from(&e).map_err(|err| Error::Invalid(err.to_string()))?;
        table.remove("system");
        toml::to_string_pretty(&table).map_err(|err| Error::Invalid(err.to_string()))
    }

    /// Parses `text` (what goes under `[entities.NAME]`, without `system`)
    /// as an entity of system `system`; errors name the line and column.
    pub fn parse_entity_toml(name: &str, system: &str, text: &str) -> Result<EntityConfig> {
        let at = |span: Option<std::ops::Range<usize>>| {
            span.map(|s| {
                let before = &text[..s.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!("line {line}, column {column}: ")
            })
            .unwrap_or_default()
        };
        let mut table: toml::Table = toml::from_str(text).map_err(|e| {
            Error::Invalid(format!(
                "entities.{name}: {}{}",
                at(e.span()),
                e.message().trim()
            ))
        })?;
        if table.contains_key("system") {
            return Err(Error::Invalid(format!(
                "entities.{name}.system: the entity belongs to system {system:?}; leave `system` out"
            )));
        }
        table.insert("system".into(), toml::Value::String(system.to_string()));
        let with_system = toml::to_string(&table).map_err(|e| Error::Invalid(e.to_string()))?;
        // Parsed again as text, so that a wrong field is reported where it is.
        toml::from_str::<EntityConfig>(&with_system).map_err(|e| {
            let field = e
                .message()
                .split('`')
                .nth(1)
                .map(str::to_string)
                .unwrap_or_default();
            let span = (!field.is_empty())
                .then(|| text.find(&field).map(|i| i..i + field.len()))
                .flatten();
            Error::Invalid(format!(
                "entities.{name}: {}{}",
                at(span),
                e.message().trim()
            ))
        })
    }

    /// Adds entity `name` on system `system` from TOML text, or replaces
    /// it; validated with the whole configuration (the REST settings too).
    pub fn set_entity_toml(&mut self, name: &str, system: &str, text: &str) -> Result<()> {
        check_name("entity", name)?;
        self.system(system)?;
        let entity = Workspace::parse_entity_toml(name, system, text)?;
        let mut config = self.config.clone();
        config.entities.insert(name.to_string(), entity);
        let path = self.config_path();
        config.validate(&path)?;
        // Written as typed, comments included, with `system` first.
        let typed = text.parse::<toml_edit::DocumentMut>().ok().map(|doc| {
            let mut t = toml_edit::Table::new();
            t.insert("system", toml_edit::value(system));
            for (key, item) in doc.as_table().iter() {
                if let Some((key, _)) = doc.as_table().get_key_value(key) {
                    t.insert_formatted(key, item.clone());
                }
            }
            *t.decor_mut() = doc.as_table().decor().clone();
            t
        });
        config.save_with(&path, None, typed.as_ref().map(|t| ("entities", name, t)))?;
        self.config = config;
        Ok(())
    }

    /// Deletes entity `name`; refused while a reconciliation uses it.
    pub fn delete_entity(&mut self, name: &str) -> Result<()> {
        self.entity(name)?;
        let users: Vec<&str> = self
            .config
            .reconciliations
            .iter()
            .filter(|(_, r)| r.left == name || r.right == name)
            .map(|(n, _)| n.as_str())
            .collect();
        if !users.is_empty() {
            return Err(Error::Invalid(format!(
                "entity {name:?} is used by reconciliation{} {}; delete {} first",
                if users.len() == 1 { "" } else { "s" },
                users.join(", "),
                if users.len() == 1 { "it" } else { "them" },
            )));
        }
        let mut config = self.config.clone();
        config.entities.remove(name);
        self.commit(config, None)
    }

    /// Tests system `name` as configured (what `trueup systems test NAME`
    /// does): the connection, then one sample record.
    pub fn check_system(&self, name: &str) -> Result<SystemCheck> {
        self.check_system_config(name, self.system(name)?, None)
    }

    /// Tests settings not saved yet, as system `name` (its entities are the
    /// saved ones); a typed `secret` is used instead of the configured one,
    /// for this test only.
    pub fn check_system_config(
        &self,
        name: &str,
        system: &SystemConfig,
        secret: Option<String>,
    ) -> Result<SystemCheck> {
        let mut system = system.clone();
        if let Some(s) = secret.filter(|s| !s.is_empty()) {
            system.set_secret(SecretRef::Typed(TypedSecret::new(s)));
        }
        let mut connector = self.connector_for(name, &system)?;
        let info = connector.check()?;
        let sample = self.sample_record(name, connector.as_mut())?;
        Ok(SystemCheck { info, sample })
    }

    fn sample_record(
        &self,
        system: &str,
        connector: &mut dyn Connector,
    ) -> Result<Option<SampleRecord>> {
        for (entity_name, entity) in self
            .config
            .entities
            .iter()
            .filter(|(_, e)| e.system == system)
        {
            let mut sample = Sample {
                limit: 1,
                ..Default::default()
            };
            connector.read(&Workspace::entity_source(entity), &mut sample)?;
            let (Some(schema), Some((_, values))) = (sample.schema, sample.rows.into_iter().next())
            else {
                continue;
            };
            let secret = |f: &str| {
                let f = f.to_ascii_lowercase();
                ["password", "passwd", "secret", "token", "api_key", "apikey"]
                    .iter()
                    .any(|s| f.contains(s))
            };
            let fields = schema
                .fields
                .into_iter()
                .zip(values)
                .map(|(f, v)| {
                    let v = match v {
                        Some(_) if secret(&f) => Some("REDACTED".to_string()),
                        Some(v) => Some(v),
                        None => None,
                    };
                    (f, v)
                })
                .collect();
            return Ok(Some(SampleRecord {
                entity: entity_name.clone(),
                fields,
            }));
        }
        Ok(None)
    }
}
