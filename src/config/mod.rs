//! The workspace configuration, `trueup.toml`: systems, entities and
//! reconciliations. Every field is documented in `docs/config.md`; unknown
//! fields are rejected with the file, line and field named.

mod edit;
mod mapping;
mod system;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use mapping::{FieldMapping, Ownership, Rules, Tolerance, Transform, ValueMapConfig};
pub use system::{FieldProblem, TypedSecret};

use crate::error::{Error, Result};

/// The whole `trueup.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// General settings.
    #[serde(default)]
    pub workspace: WorkspaceSection,
    /// Connected systems, by name.
    #[serde(default)]
    pub systems: BTreeMap<String, SystemConfig>,
    /// Entities (kinds of records inside a system), by name.
    #[serde(default)]
    pub entities: BTreeMap<String, EntityConfig>,
    /// Reconciliations (pairings of a left and a right entity), by name.
    #[serde(default)]
    pub reconciliations: BTreeMap<String, ReconciliationConfig>,
}

/// `[workspace]`: general settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceSection {
    /// A display name.
    #[serde(default)]
    pub name: Option<String>,
}

/// Where a secret comes from. Never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum SecretRef {
    /// An environment variable holding the secret.
    Env(String),
    /// An entry in the OS keychain (service `trueup`, this account name).
    Keychain(String),
    /// A secret typed in the app and not stored anywhere yet, for a
    /// connection test. Never written: serialising it fails.
    #[serde(skip)]
    Typed(TypedSecret),
}

impl SecretRef {
    /// Reads the secret. Errors name where it was looked for, never the value.
    pub fn resolve(&self) -> Result<String> {
        match self {
            SecretRef::Env(var) => std::env::var(var).map_err(|_| {
                Error::Invalid(format!(
                    "the secret is read from the environment variable {var}, which is not set"
                ))
            }),
            SecretRef::Keychain(account) => crate::secrets::get(account),
            SecretRef::Typed(secret) => Ok(secret.expose().to_string()),
        }
    }
}

/// `[systems.NAME]`: a connected system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum SystemConfig {
    /// A CSV file, or a folder of CSV files.
    Csv {
        /// The file or folder, relative to the workspace.
        path: PathBuf,
        /// `auto` (default), `utf-8`, `utf-16`, `utf-16le`, `utf-16be`, `windows-1252`, `latin-1`.
        #[serde(default)]
        encoding: Option<String>,
        /// `auto` (default), `,`, `;`, `tab`, `|`.
        #[serde(default)]
        delimiter: Option<String>,
    },
    /// An Excel workbook (read only).
    Xlsx {
        /// The `.xlsx` file, relative to the workspace.
        path: PathBuf,
    },
    /// A SQLite database file.
    Sqlite {
        /// The database file, relative to the workspace.
        path: PathBuf,
    },
    /// A PostgreSQL server.
    Postgres {
        /// Host name or address.
        host: String,
        /// Port (default 5432).
        #[serde(default = "default_pg_port")]
        port: u16,
        /// User name.
        user: String,
        /// Database name.
        database: String,
        /// Where the password comes from.
        #[serde(default)]
        password: Option<SecretRef>,
    },
    /// A Tryton ERP database, over JSON-RPC (see `docs/tryton.md`).
    Tryton {
        /// The server's base URL, e.g. `https://erp.example.com` (without the database).
        url: String,
        /// The database name.
        database: String,
        /// The login.
        user: String,
        /// Where the password comes from.
        password: SecretRef,
        /// Records per `search_read` page (default 1000).
        #[serde(default)]
        page_size: Option<usize>,
        /// Timeouts, retries of reads, rate limit (see `docs/http.md`).
        #[serde(
            default,
            skip_serializing_if = "crate::connectors::http::HttpOptions::is_default"
        )]
        http: crate::connectors::http::HttpOptions,
    },
    /// A JSON API described declaratively (see `docs/http.md`).
    Rest(crate::connectors::rest::RestSystemConfig),
    /// HubSpot CRM, a preset of the REST system (see `docs/presets.md`).
    Hubspot(crate::connectors::presets::HubspotSystemConfig),
    /// A Vendure shop's Admin API, a preset of the REST system (`docs/presets.md`).
    Vendure(crate::connectors::presets::VendureSystemConfig),
}

fn default_pg_port() -> u16 {
    5432
}

impl SystemConfig {
    /// The kind as written in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            SystemConfig::Csv { .. } => "csv",
            SystemConfig::Xlsx { .. } => "xlsx",
            SystemConfig::Sqlite { .. } => "sqlite",
            SystemConfig::Postgres { .. } => "postgres",
            SystemConfig::Tryton { .. } => "tryton",
            SystemConfig::Rest(_) => "rest",
            SystemConfig::Hubspot(_) => "hubspot",
            SystemConfig::Vendure(_) => "vendure",
        }
    }
}

/// `[entities.NAME]`: one kind of record inside a system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityConfig {
    /// The system it lives in.
    pub system: String,
    /// A table (databases) or sheet (XLSX).
    #[serde(default)]
    pub table: Option<String>,
    /// A read-only SQL query, instead of a table.
    #[serde(default)]
    pub query: Option<String>,
    /// A file inside a CSV folder system.
    #[serde(default)]
    pub file: Option<String>,
    /// The field(s) that identify a record in its system.
    pub id: Vec<String>,
    /// A field holding the record's last change time, for `newest` ownership.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Where the records are in a REST system (`[entities.NAME.rest]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest: Option<crate::connectors::rest::RestEntityConfig>,
    /// Which HubSpot object, on a `hubspot` system (`[entities.NAME.hubspot]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hubspot: Option<crate::connectors::presets::HubspotEntityConfig>,
    /// Which Vendure object, on a `vendure` system (`[entities.NAME.vendure]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendure: Option<crate::connectors::presets::VendureEntityConfig>,
}

impl EntityConfig {
    /// Where the records are in a REST system: the `rest` table, or the
    /// REST configuration a preset table expands to.
    pub fn rest_config(&self) -> Option<crate::connectors::rest::RestEntityConfig> {
        self.rest
            .clone()
            .or_else(|| self.hubspot.as_ref().map(|h| h.to_rest(&self.id)))
            .or_else(|| self.vendure.as_ref().map(|v| v.to_rest(&self.id)))
    }
}

/// `[reconciliations.NAME]`: a left entity (the source) paired with a right
/// entity (the target).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconciliationConfig {
    /// The source entity.
    pub left: String,
    /// The target entity.
    pub right: String,
    /// Target fields whose normalised values match a left record to a right record.
    pub key: Vec<String>,
    /// How each target field is computed from the left record.
    #[serde(default)]
    pub fields: Vec<FieldMapping>,
    /// Code tables, by name, used by `value_map` in fields.
    #[serde(default)]
    pub value_maps: BTreeMap<String, ValueMapConfig>,
    /// Country calling code for the `phone` transform when a number has none (e.g. "49").
    #[serde(default)]
    pub default_country_code: Option<String>,
}

/// Where a parse error sits in the text: the 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

impl Config {
    /// Parses `text` read from `path`; errors name the file, line and field.
    pub fn parse(path: &Path, text: &str) -> Result<Config> {
        let config: Config = toml::from_str(text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            line: e.span().map(|s| line_of(text, s.start)),
            message: e.message().trim().to_string(),
        })?;
        config.validate(path)?;
        Ok(config)
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Config::parse(path, &text)
    }

    /// Writes the configuration to `path` (atomically: temp file + rename).
    /// When the file exists, it is edited in place: the comments and
    /// formatting of everything unchanged are kept (see `edit.rs`).
    pub fn save(&self, path: &Path) -> Result<()> {
        self.save_with(path, None, None)
    }

    /// As [`Config::save`], with what the caller knows of the change:
    /// `rename` (`section`, old name, new name: the renamed entry keeps its
    /// comments and place) and `verbatim` (`section`, name, table: an entry
    /// written as the person typed it, comments included, when the result
    /// says what is saved).
    pub(crate) fn save_with(
        &self,
        path: &Path,
        rename: Option<(&str, &str, &str)>,
        verbatim: Option<(&str, &str, &toml_edit::Table)>,
    ) -> Result<()> {
        let old = std::fs::read_to_string(path).ok();
        let text = old.and_then(|old| {
            verbatim
                .and_then(|_| edit::edited(path, &old, self, rename, verbatim))
                .or_else(|| edit::edited(path, &old, self, rename, None))
        });
        let text = match text {
            Some(text) => text,
            None => toml::to_string_pretty(self).map_err(|e| Error::Config {
                path: path.to_path_buf(),
                line: None,
                message: e.to_string(),
            })?,
        };
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    }

    /// Checks references between sections, without I/O.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let err = |message: String| Error::Config {
            path: path.to_path_buf(),
            line: None,
            message,
        };
        for (name, s) in &self.systems {
            if let Some(p) = s.problems(false).into_iter().next() {
                return Err(err(format!("systems.{name}.{}: {}", p.field, p.message)));
            }
        }
        for (name, e) in &self.entities {
            if !self.systems.contains_key(&e.system) {
                return Err(err(format!(
                    "entities.{name}.system: no system named {:?}",
                    e.system
                )));
            }
            if e.id.is_empty() {
                return Err(err(format!(
                    "entities.{name}.id: name at least one id field"
                )));
            }
            if e.table.is_some() && e.query.is_some() {
                return Err(err(format!(
                    "entities.{name}: give either `table` or `query`, not both"
                )));
            }
            let vendure_system =
                matches!(self.systems.get(&e.system), Some(SystemConfig::Vendure(_)));
            match (&e.vendure, vendure_system) {
                (None, true) => {
                    return Err(err(format!(
                        "entities.{name}: system {:?} is a Vendure system; add an \
                         [entities.{name}.vendure] table naming the object (docs/presets.md)",
                        e.system
                    )));
                }
                (Some(_), false) => {
                    return Err(err(format!(
                        "entities.{name}.vendure: system {:?} is not a Vendure system",
                        e.system
                    )));
                }
                (Some(v), true) => {
                    v.validate(&e.id)
                        .map_err(|m| err(format!("entities.{name}.{m}")))?;
                    continue;
                }
                (None, false) => {}
            }
            let hubspot_system =
                matches!(self.systems.get(&e.system), Some(SystemConfig::Hubspot(_)));
            match (&e.hubspot, hubspot_system) {
                (None, true) => {
                    return Err(err(format!(
                        "entities.{name}: system {:?} is a HubSpot system; add an \
                         [entities.{name}.hubspot] table naming the object and its properties \
                         (docs/presets.md)",
                        e.system
                    )));
                }
                (Some(_), false) => {
                    return Err(err(format!(
                        "entities.{name}.hubspot: system {:?} is not a HubSpot system",
                        e.system
                    )));
                }
                (Some(h), true) => {
                    h.validate(&e.id)
                        .map_err(|m| err(format!("entities.{name}.{m}")))?;
                    if e.rest.is_some() {
                        return Err(err(format!(
                            "entities.{name}.rest: a HubSpot entity is configured by its \
                             [entities.{name}.hubspot] table only"
                        )));
                    }
                    continue;
                }
                (None, false) => {}
            }
            let rest_system = matches!(self.systems.get(&e.system), Some(SystemConfig::Rest(_)));
            match (&e.rest, rest_system) {
                (None, true) => {
                    return Err(err(format!(
                        "entities.{name}: system {:?} is a REST system; add an [entities.{name}.rest] \
                         table saying where the records are (docs/http.md)",
                        e.system
                    )));
                }
                (Some(_), false) => {
                    return Err(err(format!(
                        "entities.{name}.rest: system {:?} is not a REST system",
                        e.system
                    )));
                }
                (Some(rest), true) => {
                    rest.validate(&e.id)
                        .map_err(|m| err(format!("entities.{name}.{m}")))?;
                }
                (None, false) => {}
            }
        }
        for (name, r) in &self.reconciliations {
            for side in [&r.left, &r.right] {
                if !self.entities.contains_key(side) {
                    return Err(err(format!(
                        "reconciliations.{name}: no entity named {side:?}"
                    )));
                }
            }
            if r.key.is_empty() {
                return Err(err(format!(
                    "reconciliations.{name}.key: name at least one target field"
                )));
            }
            for k in &r.key {
                if !r.fields.iter().any(|f| &f.target == k) {
                    return Err(err(format!(
                        "reconciliations.{name}.key: {k:?} is not a target field of this reconciliation"
                    )));
                }
            }
            let mut seen = std::collections::BTreeSet::new();
            for f in &r.fields {
                if !seen.insert(&f.target) {
                    return Err(err(format!(
                        "reconciliations.{name}.fields: target {:?} is mapped twice",
                        f.target
                    )));
                }
                if let Some(m) = &f.value_map
                    && !r.value_maps.contains_key(m)
                {
                    return Err(err(format!(
                        "reconciliations.{name}.fields[{}].value_map: no value map named {m:?}",
                        f.target
                    )));
                }
                if let Some(re) = &f.validate.regex
                    && let Err(e) = regex::Regex::new(re)
                {
                    return Err(err(format!(
                        "reconciliations.{name}.fields[{}].validate.regex: {e}",
                        f.target
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_is_named_with_its_line() {
        let text = "[systems.erp]\nkind = \"sqlite\"\npath = \"erp.db\"\ncolour = \"red\"\n";
        let err = Config::parse(Path::new("trueup.toml"), text).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("trueup.toml, line "),
            "names file and line: {msg}"
        );
        assert!(msg.contains("colour"), "names the unknown field: {msg}");
    }

    #[test]
    fn dangling_references_are_rejected() {
        let text = "[entities.c]\nsystem = \"nope\"\nid = [\"id\"]\n";
        let msg = Config::parse(Path::new("t.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("no system named \"nope\""), "{msg}");
    }
}
