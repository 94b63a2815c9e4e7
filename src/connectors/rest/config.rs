//! The generic REST system's configuration: `[systems.NAME]` with
//! `kind = "rest"`, and `[entities.NAME.rest]` for each entity. Every field
//! is documented in `docs/http.md`; unknown fields are refused.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::connectors::http::{AuthConfig, HttpOptions, Pagination};

/// `[systems.NAME]` with `kind = "rest"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestSystemConfig {
    /// The API's root, e.g. `https://api.example.com/v1`.
    pub base_url: String,
    /// How requests authenticate (default: none).
    #[serde(default)]
    pub auth: AuthConfig,
    /// Timeouts, retries, rate limit, page cap.
    #[serde(default, skip_serializing_if = "HttpOptions::is_default")]
    pub http: HttpOptions,
    /// A path read to check the connection (default: the first entity's
    /// listing, one record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// Where an answer lists errors even with a 2xx status (GraphQL:
    /// `errors`): a non-empty list there makes the answer a failure, its
    /// category from `extensions.code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors_at: Option<String>,
}

/// How a field's text is sent as JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// A JSON string (the default).
    #[default]
    Text,
    /// A JSON integer.
    Integer,
    /// A JSON number.
    Number,
    /// A JSON boolean (`true`/`false`, `1`/`0`, `yes`/`no`).
    Boolean,
    /// The text is JSON itself (objects, lists).
    Json,
}

/// How a write is made conditional on the record not having moved since
/// it was pulled. Every mode first reads the record and compares the
/// fields the change expects; they differ in how they close the gap
/// between that read and the write.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum Conditional {
    /// Re-read and compare just before writing, then write plainly. A
    /// change made by someone else between the re-read and the write is
    /// overwritten: the weakest mode, for APIs offering nothing better.
    #[default]
    Reread,
    /// Send the `ETag` of the re-read as `If-Match`; the system refuses
    /// (412) a record that moved.
    IfMatch,
    /// Send the version field as re-read with the write (in the body of an
    /// update, as a query parameter of a delete); the system refuses (409
    /// or 412) a stale version.
    VersionField {
        /// The version field (e.g. `version`, `lock_version`).
        field: String,
    },
    /// An update through a filter that only matches the record as re-read
    /// (e.g. on its id and last-change time); an answer with no records at
    /// `record` means the record moved.
    FilteredUpdate {
        /// The endpoint (default: the entity's `list` path).
        #[serde(default)]
        path: Option<String>,
        /// The method (default `PATCH`).
        #[serde(default)]
        method: Option<String>,
        /// The JSON body. A string `"{field}"` is replaced by the field's
        /// value as re-read (JSON, may be null), `"{values}"` by the object
        /// of values to write, `"{expected}"` by the object of the fields
        /// the change expects unchanged (see `expected`); `{field}` inside
        /// longer text is replaced by its text.
        body: serde_json::Value,
        /// Read the record before the update (default `true`), so that the
        /// body can name its fields as read (`"{date_updated}"`). With
        /// `false`, an update is one request: nothing is read first, the
        /// body's `"{field}"` are the record's id fields and the values it
        /// is expected to still have (as pulled), and the filter must hold
        /// `"{expected}"`; the system itself compares. A filter matching
        /// nothing is re-read to tell applied, conflict and not found.
        #[serde(default = "yes")]
        reread: bool,
        /// How each entry of `"{expected}"` is written: this JSON with the
        /// string `"{value}"` replaced by the expected value (JSON, may be
        /// null), e.g. `{ _eq = "{value}" }` for a Directus filter. Default:
        /// the value itself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expected: Option<serde_json::Value>,
    },
}

/// `incremental = { ... }`: how a pull reads only what changed since the
/// last one, and finds deleted records with a cheap id-only listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incremental {
    /// The fields holding a record's last change time, first with a value
    /// wins (Directus: `["date_updated", "date_created"]`, as `date_updated`
    /// is null until the first update). Times must sort as text (ISO 8601).
    pub updated_at: Vec<String>,
    /// Query parameters of the listing that asks for records changed since
    /// `{since}` (the latest change time the last pull saw; use "greater
    /// or equal": records at the boundary are read again, harmlessly).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub changed: BTreeMap<String, String>,
    /// The changed records come from a search by POST instead (HubSpot):
    /// `path`, and a JSON `body` where `"{since}"` becomes the cursor and
    /// `"{since_ms}"` the cursor in milliseconds since 1970; the paging
    /// parameters go in the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchListing>,
    /// Query parameters that make the listing cheap for the id-only pass
    /// (e.g. `{ fields = "code" }`); the id fields are read from it.
    #[serde(default)]
    pub ids: BTreeMap<String, String>,
    /// The id-only pass as a POST of this JSON body to the listing's path
    /// instead (a GraphQL query selecting only the id fields), paged like
    /// the listing, its paging parameters in the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids_body: Option<serde_json::Value>,
}

/// `search = { ... }` of an incremental entity: the changed records by POST.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchListing {
    /// The search endpoint, e.g. `/crm/v3/objects/contacts/search`.
    pub path: String,
    /// The JSON body template.
    pub body: serde_json::Value,
    /// How the search pages (default: the entity's `pagination`), its
    /// parameters set in the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<Pagination>,
    /// The most records one search can page through (HubSpot: 10,000;
    /// past it the system refuses the page). With a cap, the search must
    /// sort by the change time, oldest first: before a page would pass the
    /// cap, a new search starts at the latest change time seen (`{since}`
    /// again, "greater or equal"), the records already read at that time
    /// skipped, so any number of changes is read. Default: no cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<u64>,
    /// Searches allowed per second, on top of the system's
    /// `http.rate_limit` (HubSpot limits its search endpoints to a few per
    /// second per account). Every search of the system with this setting
    /// shares one budget (give the same value on each). Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
}

fn yes() -> bool {
    true
}

/// `[entities.NAME.rest]`: where an entity's records are and how to write them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestEntityConfig {
    /// The listing path, e.g. `/items/customers`.
    pub list: String,
    /// Fixed query parameters of the listing (e.g. `fields = "*"`, `sort = "id"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub list_query: BTreeMap<String, String>,
    /// Where the records are in a listing answer (dotted path; default: the
    /// whole answer is the list).
    #[serde(default)]
    pub records: String,
    /// Where the record is in a get / create / update answer (default: the
    /// whole answer).
    #[serde(default)]
    pub record: String,
    /// How the listing pages (default: one request).
    #[serde(default)]
    pub pagination: Pagination,
    /// The system's own id field, used for `{id}` in paths (default: the
    /// entity's id field when it has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_field: Option<String>,
    /// One record by its system id, e.g. `/items/customers/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get: Option<String>,
    /// Query parameters that find a record by the entity's id fields on
    /// the listing path, e.g. `{ "filter[code][_eq]" = "{code}" }`: how a
    /// record is found when the entity's id is an external reference.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub find: BTreeMap<String, String>,
    /// Where new records are POSTed (none: the entity cannot create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<String>,
    /// Creates sent together, as one JSON list POSTed to `create` (default
    /// 1: one request per record). The answer must list the created
    /// records at `record`, in order. Use it only where the API creates a
    /// list all-or-nothing (Directus does); after any failure every record
    /// of the batch is re-read by its reference before it is sent again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_batch: Option<u32>,
    /// Where a record is updated, e.g. `/items/customers/{id}` (none: cannot update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<String>,
    /// `PATCH` (default) or `PUT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_method: Option<String>,
    /// Where a record is deleted, e.g. `/items/customers/{id}` (none: cannot delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<String>,
    /// HTTP statuses of a single-record read that mean "no such record"
    /// (default `[404, 410]`; Directus answers 403).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_statuses: Option<Vec<u16>>,
    /// The fields read, as dotted paths into a record (default: the keys
    /// of the first page's records).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// How fields are sent as JSON (default `text`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub types: BTreeMap<String, FieldType>,
    /// Fields never sent in a write (read-only fields such as `date_updated`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read_only: Vec<String>,
    /// How writes are made conditional (default `reread`).
    #[serde(default)]
    pub conditional: Conditional,
    /// Incremental pulls (default: every pull reads everything).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<Incremental>,
    /// The object inside each record that holds its field values (HubSpot:
    /// `properties`). Fields are read from it by their plain names (the
    /// record's own keys, such as `id` or `updatedAt`, stay readable when
    /// the object has no such key), and writes send the values inside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_in: Option<String>,
    /// Endpoints reading, creating or updating many records in one request
    /// (default: one request per record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<Batch>,
    /// The JSON a field without a value is written as (default `null`;
    /// HubSpot clears a property with `""` and refuses null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear_value: Option<serde_json::Value>,
    /// The listing is a POST of this JSON body (GraphQL): the paging, `find`
    /// and `list_query` parameters are set in it at their dotted paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_body: Option<serde_json::Value>,
    /// The body of a create, a JSON template: `"{values}"` becomes the
    /// values, `"{field}"` an id field, and an entry `"..." = "{values}"`
    /// merges the values into its object (default: the values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_body: Option<serde_json::Value>,
    /// The body of an update, as `create_body`; `"{field}"` comes from the
    /// record as read (e.g. its `"{id}"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_body: Option<serde_json::Value>,
    /// A field whose presence in an answered record means the system
    /// refused the write (Vendure's `errorCode`, with its `message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_field: Option<String>,
}

/// `batch = { ... }`: endpoints that take many records in one request.
/// Updates are re-read together (`read`), compared, then the unchanged ones
/// updated together (`update`); creates go together (`create`) only when
/// the entity's id is an external reference the answer carries back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Records per request (default 100).
    #[serde(default = "batch_size")]
    pub size: u32,
    /// Reads many records by id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<BatchEndpoint>,
    /// Updates many records (only with `conditional = { mode = "reread" }`:
    /// the records are compared after the batch read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<BatchEndpoint>,
    /// Creates many records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<BatchEndpoint>,
}

fn batch_size() -> u32 {
    100
}

/// One batch endpoint: a POST whose body lists one input per record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchEndpoint {
    /// The path, e.g. `/crm/v3/objects/contacts/batch/update`.
    pub path: String,
    /// The body: a JSON template where the string `"{inputs}"` becomes the
    /// list of inputs (default `{ inputs = "{inputs}" }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// One input: a JSON template where `"{values}"` becomes the object of
    /// values to write (inside `values_in`) and `"{field}"` the field's
    /// value (the change's id fields; for updates, the record as read).
    pub input: serde_json::Value,
    /// Where the records are in the answer (default `results`); they are
    /// matched to the inputs by the entity's id fields, in any order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<String>,
}

impl RestEntityConfig {
    /// The value of field `name` in a record: inside `values_in` when it
    /// has the field, else at the dotted path `name`.
    pub fn value<'a>(
        &self,
        record: &'a serde_json::Value,
        name: &str,
    ) -> Option<&'a serde_json::Value> {
        use crate::connectors::http::json_path;
        if let Some(inner) = self.values_in.as_deref()
            && let Some(obj @ serde_json::Value::Object(_)) = json_path::get(record, inner)
            && let Some(v) = json_path::get(obj, name)
        {
            return Some(v);
        }
        json_path::get(record, name)
    }

    /// The system id field.
    pub fn id_field<'a>(&'a self, entity_id: &'a [String]) -> Option<&'a str> {
        self.id_field.as_deref().or(match entity_id {
            [one] => Some(one.as_str()),
            _ => None,
        })
    }

    /// Checks the entity's settings, without I/O; the message names the field.
    pub fn validate(&self, entity_id: &[String]) -> Result<(), String> {
        let field_ok = |f: &str| !f.is_empty();
        if self.list.trim().is_empty() {
            return Err("rest.list: give the listing path".into());
        }
        let id_field = self.id_field(entity_id);
        for (name, path) in [
            ("get", &self.get),
            ("update", &self.update),
            ("delete", &self.delete),
        ] {
            if let Some(p) = path
                && p.contains("{id}")
                && id_field.is_none()
            {
                return Err(format!(
                    "rest.{name}: {p:?} uses {{id}}, but the entity has several id fields and \
                     no rest.id_field names the system's own id"
                ));
            }
        }
        let by_system_id = id_field.is_some_and(|f| entity_id.iter().any(|e| e == f));
        if !by_system_id && self.find.is_empty() {
            return Err(format!(
                "rest.find: the entity's id ({}) is not the system's id field ({}); say how to \
                 find a record by it, e.g. find = {{ \"filter[{}][_eq]\" = \"{{{}}}\" }}",
                entity_id.join(", "),
                id_field.unwrap_or("none"),
                entity_id.first().map(String::as_str).unwrap_or("code"),
                entity_id.first().map(String::as_str).unwrap_or("code"),
            ));
        }
        if let Some(inc) = &self.incremental {
            if self.fields.is_empty() {
                return Err(
                    "rest.fields: an incremental entity names its fields (every pull must \
                            give the same ones)"
                        .into(),
                );
            }
            if inc.updated_at.is_empty() {
                return Err("rest.incremental.updated_at: name the last-change field(s)".into());
            }
            let searches = inc
                .search
                .as_ref()
                .is_some_and(|s| s.body.to_string().contains("{since"));
            if !searches && !inc.changed.values().any(|v| v.contains("{since}")) {
                return Err(
                    "rest.incremental.changed: a parameter must use {since}, e.g. \
                     { \"filter[date_updated][_gte]\" = \"{since}\" } (or give a search whose \
                     body uses {since} or {since_ms})"
                        .into(),
                );
            }
        }
        if let (Some(_), Some(inc)) = (&self.list_body, &self.incremental)
            && (inc.search.is_none() || inc.ids_body.is_none())
        {
            return Err(
                "rest.incremental: with list_body (a POST listing, GraphQL) give the changed \
                 records as a `search` and the id-only listing as `ids_body`"
                    .into(),
            );
        }
        if self.create_batch == Some(0) {
            return Err("rest.create_batch: at least 1".into());
        }
        if let Some(m) = &self.update_method
            && !matches!(m.to_ascii_uppercase().as_str(), "PATCH" | "PUT" | "POST")
        {
            return Err(format!(
                "rest.update_method: {m:?} is not PATCH, PUT or POST"
            ));
        }
        if let Some(b) = &self.batch {
            if b.size == 0 {
                return Err("rest.batch.size: at least 1".into());
            }
            if b.update.is_some() && self.conditional != Conditional::Reread {
                return Err(
                    "rest.batch.update: batch updates are compared after a batch read and \
                     sent plainly; use conditional = { mode = \"reread\" } with them"
                        .into(),
                );
            }
            if b.update.is_some() && b.read.is_none() && self.get.is_none() && self.find.is_empty()
            {
                return Err("rest.batch.read: batch updates need a way to read the records".into());
            }
        }
        match &self.conditional {
            Conditional::IfMatch if self.get.is_none() => {
                return Err(
                    "rest.conditional: if_match needs rest.get (the ETag comes from reading one record)"
                        .into(),
                );
            }
            Conditional::VersionField { field } if !field_ok(field) => {
                return Err("rest.conditional.field: name the version field".into());
            }
            Conditional::FilteredUpdate { method, .. } => {
                if let Some(m) = method
                    && !matches!(m.to_ascii_uppercase().as_str(), "PATCH" | "PUT" | "POST")
                {
                    return Err(format!(
                        "rest.conditional.method: {m:?} is not PATCH, PUT or POST"
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{Config, SystemConfig};

    const BASE: &str = r#"
[systems.api]
kind = "rest"
base_url = "https://api.example.com/v1"
auth = { type = "bearer", token = { env = "API_TOKEN" } }
http = { timeout_secs = 30, rate_limit = 10 }

[entities.customers]
system = "api"
id = ["code"]

[entities.customers.rest]
list = "/items/customers"
records = "data"
record = "data"
pagination = { style = "offset", limit = 200 }
id_field = "id"
get = "/items/customers/{id}"
find = { "filter[code][_eq]" = "{code}" }
update = "/items/customers/{id}"
types = { credit = "number" }
conditional = { mode = "filtered_update", body = { query = { filter = { id = { _eq = "{id}" } } }, data = "{values}" } }
"#;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(Path::new("trueup.toml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn a_full_rest_system_parses_and_saves_back() {
        let config = parse(BASE).unwrap();
        let SystemConfig::Rest(sys) = &config.systems["api"] else {
            panic!("a rest system")
        };
        assert_eq!(sys.http.timeout_secs, 30);
        assert_eq!(sys.http.rate_limit, Some(10));
        assert_eq!(sys.http.max_retries, 4, "unset fields keep their defaults");
        let rest = config.entities["customers"].rest.as_ref().unwrap();
        assert_eq!(rest.types["credit"], super::FieldType::Number);
        let text = toml::to_string_pretty(&config).unwrap();
        assert_eq!(parse(&text).unwrap(), config, "saved as parsed");
    }

    #[test]
    fn unknown_fields_are_named_at_every_level() {
        for (from, to, field) in [
            ("records = \"data\"", "recrods = \"data\"", "recrods"),
            ("timeout_secs = 30", "timeout = 30", "timeout"),
            ("style = \"offset\"", "style = \"offset\", size = 3", "size"),
            (
                "type = \"bearer\"",
                "type = \"bearer\", user = \"x\"",
                "user",
            ),
        ] {
            let msg = parse(&BASE.replace(from, to)).unwrap_err();
            assert!(
                msg.contains(field) && msg.contains("line"),
                "{field}: {msg}"
            );
        }
    }

    #[test]
    fn inconsistent_entities_are_refused_with_the_field_named() {
        let msg = parse(&BASE.replace("find = ", "# find = ")).unwrap_err();
        assert!(msg.contains("entities.customers.rest.find"), "{msg}");
        let msg = parse(&BASE.replace(
            "[entities.customers.rest]",
            "[entities.other]\nsystem = \"api\"\nid = [\"id\"]\n\n[entities.customers.rest]",
        ))
        .unwrap_err();
        assert!(
            msg.contains("entities.other") && msg.contains(".rest]"),
            "{msg}"
        );
        let msg = parse(
            &format!("{BASE}\n[systems.f]\nkind = \"csv\"\npath = \"f.csv\"\n")
                .replace("system = \"api\"", "system = \"f\""),
        )
        .unwrap_err();
        assert!(msg.contains("is not a REST system"), "{msg}");
    }
}
