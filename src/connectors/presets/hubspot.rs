//! HubSpot CRM (`kind = "hubspot"`): contacts, companies or any CRM object
//! through the v3 objects API, with a private app's bearer token.
//!
//! What the preset maps (HubSpot's documented shapes):
//! - listing: `GET /crm/v3/objects/{object}?limit=100&properties=...`,
//!   records under `results[]` (`id`, `properties{}`, `updatedAt`), paged
//!   by `paging.next.after` sent back as `after`;
//! - one record: `GET /crm/v3/objects/{object}/{id}` (with `idProperty`
//!   when the entity is known by a unique property such as `email`);
//! - batches of 100: `POST .../batch/read` (the re-read before updates),
//!   `POST .../batch/update` and `POST .../batch/create`, bodies
//!   `{"inputs":[{"id","properties"}]}`;
//! - single writes: `POST /crm/v3/objects/{object}`, `PATCH .../{id}`;
//! - errors `{"status":"error","message","correlationId","category"}`: the
//!   message and category are shown, the correlation id as the request id;
//!   429 with `Retry-After` is waited for; the client keeps below
//!   HubSpot's 100 requests per 10 seconds by default.
//!
//! HubSpot has no conditional writes (no ETag, no version): updates use
//! `reread` (compare just before writing), which is weaker; see
//! `docs/presets.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::config::SecretRef;
use crate::connectors::http::{AuthConfig, HttpOptions, Pagination};
use crate::connectors::rest::{
    Batch, BatchEndpoint, Conditional, Incremental, RestEntityConfig, RestSystemConfig,
    SearchListing,
};

/// HubSpot's API root.
pub const BASE_URL: &str = "https://api.hubapi.com";

/// Records per page and per batch: HubSpot's maximum for both.
const PAGE: u32 = 100;

/// The most results one search query pages through (HubSpot documents
/// 10,000; a page past it is refused with a 400).
pub const SEARCH_CAP: u64 = 10_000;

/// Searches per second by default. HubSpot documents 5 per second per
/// account for its search endpoints and counts requests as they arrive:
/// requests sent exactly 200 ms apart can arrive closer together, so the
/// default keeps one below.
pub const SEARCH_RATE_LIMIT: u32 = 4;

/// Properties HubSpot sets itself: read, never written.
const READ_ONLY: &[&str] = &[
    "id",
    "createdAt",
    "updatedAt",
    "archived",
    "hs_object_id",
    "createdate",
    "lastmodifieddate",
];

/// `[systems.NAME]` with `kind = "hubspot"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubspotSystemConfig {
    /// The private app's access token (sent as a bearer token).
    pub token: SecretRef,
    /// The API root (default `https://api.hubapi.com`; tests point it at a
    /// local server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Timeouts, retries, rate limit (default: the REST defaults, and a
    /// rate limit of 100 requests per 10 seconds, HubSpot's budget for a
    /// private app on the smaller plans).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpOptions>,
}

impl HubspotSystemConfig {
    /// The REST system this preset is.
    pub fn to_rest(&self) -> RestSystemConfig {
        let mut http = self.http.clone().unwrap_or_default();
        if self.http.as_ref().is_none_or(|h| h.rate_limit.is_none()) {
            http.rate_limit = Some(100);
            http.rate_limit_period_secs = 10;
        }
        RestSystemConfig {
            base_url: self.base_url.clone().unwrap_or_else(|| BASE_URL.into()),
            auth: AuthConfig::Bearer {
                token: self.token.clone(),
            },
            http,
            check: None,
            errors_at: None,
        }
    }
}

/// `[entities.NAME.hubspot]`: which CRM object, which properties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubspotEntityConfig {
    /// The object type: `contacts`, `companies` (or `deals`, a custom
    /// object's `p_name`, ...).
    pub object: String,
    /// The properties read and written (HubSpot sends only the properties
    /// asked for). The record's `id` and `updatedAt` are read as well.
    pub properties: Vec<String>,
    /// Properties never written, besides HubSpot's own (`hs_object_id`,
    /// `createdate`, `lastmodifieddate`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read_only: Vec<String>,
    /// Pull only what changed since the last pull, through the search
    /// endpoint on the last-modified date (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<bool>,
    /// The most records one search pages through (default 10,000,
    /// HubSpot's documented cap): an incremental pull past it is read in
    /// windows of last-modified time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_cap: Option<u64>,
    /// Searches per second (default 4): HubSpot limits its search
    /// endpoints to 5 requests per second per account, below the system's
    /// budget; every search of the account in the process shares this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_rate_limit: Option<u32>,
}

impl HubspotEntityConfig {
    /// Checks the settings against the entity's id fields, without I/O.
    pub fn validate(&self, entity_id: &[String]) -> Result<(), String> {
        let ok_name = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        if !ok_name(&self.object) {
            return Err(format!(
                "hubspot.object: {:?} is not an object type such as \"contacts\"",
                self.object
            ));
        }
        if let Some(bad) = self.properties.iter().find(|p| !ok_name(p)) {
            return Err(format!(
                "hubspot.properties: {bad:?} is not a property name"
            ));
        }
        match entity_id {
            [one] if one == "id" || self.properties.contains(one) => Ok(()),
            [one] => Err(format!(
                "id: {one:?} is neither HubSpot's record id (\"id\") nor one of hubspot.properties; \
                 use [\"id\"], or a property with unique values such as [\"email\"] listed in \
                 hubspot.properties"
            )),
            _ => Err(
                "id: a HubSpot entity is known by one field: [\"id\"] or a unique property such \
                 as [\"email\"]"
                    .into(),
            ),
        }
    }

    /// The REST entity this preset is, for an entity known by `entity_id`
    /// (`["id"]`, or one unique property such as `["email"]`).
    pub fn to_rest(&self, entity_id: &[String]) -> RestEntityConfig {
        let object = &self.object;
        let base = format!("/crm/v3/objects/{object}");
        let key = entity_id.first().cloned().unwrap_or_else(|| "id".into());
        // An entity known by a unique property names it as `idProperty`.
        let id_property = (key != "id").then(|| key.clone());
        let properties = self.properties.join(",");
        let mut get = format!("{base}/{{id}}?properties={properties}");
        let mut update = format!("{base}/{{id}}");
        if let Some(p) = &id_property {
            get.push_str(&format!("&idProperty={p}"));
            update.push_str(&format!("?idProperty={p}"));
        }
        let mut fields = vec!["id".to_string()];
        fields.extend(self.properties.iter().filter(|p| *p != "id").cloned());
        fields.push("updatedAt".into());
        let mut read_only: Vec<String> = READ_ONLY.iter().map(|s| s.to_string()).collect();
        read_only.extend(self.read_only.iter().cloned());
        let placeholder = format!("{{{key}}}");
        let mut read_body = json!({
            "properties": self.properties,
            "propertiesWithHistory": [],
            "inputs": "{inputs}",
        });
        let mut update_input = json!({"id": placeholder, "properties": "{values}"});
        if let Some(p) = &id_property {
            read_body["idProperty"] = json!(p);
            update_input["idProperty"] = json!(p);
        }
        RestEntityConfig {
            list: base.clone(),
            list_query: BTreeMap::from([
                ("properties".to_string(), properties),
                ("archived".to_string(), "false".to_string()),
            ]),
            records: "results".into(),
            record: String::new(),
            pagination: Pagination::Cursor {
                next: "paging.next.after".into(),
                cursor_param: "after".into(),
                limit_param: Some("limit".into()),
                limit: PAGE,
            },
            id_field: Some(key.clone()),
            get: Some(get),
            find: BTreeMap::new(),
            create: Some(base.clone()),
            create_batch: None,
            update: Some(update),
            update_method: Some("PATCH".into()),
            // Archiving by a unique property is not offered: deletes need
            // HubSpot's record id.
            delete: id_property.is_none().then(|| format!("{base}/{{id}}")),
            missing_statuses: None,
            fields,
            types: BTreeMap::new(),
            read_only,
            conditional: Conditional::Reread,
            incremental: self
                .incremental
                .unwrap_or(true)
                .then(|| self.incremental_search(&key)),
            values_in: Some("properties".into()),
            clear_value: Some(json!("")),
            list_body: None,
            create_body: None,
            update_body: None,
            error_field: None,
            batch: Some(Batch {
                size: PAGE,
                read: Some(BatchEndpoint {
                    path: format!("{base}/batch/read"),
                    body: Some(read_body),
                    input: json!({"id": placeholder}),
                    records: None,
                }),
                update: Some(BatchEndpoint {
                    path: format!("{base}/batch/update"),
                    body: None,
                    input: update_input,
                    records: None,
                }),
                create: Some(BatchEndpoint {
                    path: format!("{base}/batch/create"),
                    body: None,
                    input: json!({"properties": "{values}"}),
                    records: None,
                }),
            }),
        }
    }
}

impl HubspotEntityConfig {
    /// The last-modified property: `lastmodifieddate` on contacts,
    /// `hs_lastmodifieddate` on other objects.
    fn modified_property(&self) -> &'static str {
        if self.object == "contacts" {
            "lastmodifieddate"
        } else {
            "hs_lastmodifieddate"
        }
    }

    /// Incremental pulls: `POST .../search` for records modified since the
    /// last pull (in milliseconds, as HubSpot's search takes dates), sorted
    /// oldest first; then the id-only listing (only the key property) to
    /// find deleted records.
    fn incremental_search(&self, key: &str) -> Incremental {
        let modified = self.modified_property();
        Incremental {
            updated_at: vec!["updatedAt".into()],
            changed: BTreeMap::new(),
            search: Some(SearchListing {
                path: format!("/crm/v3/objects/{}/search", self.object),
                body: json!({
                    "filterGroups": [{"filters": [
                        {"propertyName": modified, "operator": "GTE", "value": "{since_ms}"}
                    ]}],
                    "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
                    "properties": self.properties,
                }),
                pagination: None,
                cap: Some(self.search_cap.unwrap_or(SEARCH_CAP)),
                rate_limit: Some(self.search_rate_limit.unwrap_or(SEARCH_RATE_LIMIT)),
            }),
            ids_body: None,
            ids: BTreeMap::from([(
                "properties".to_string(),
                if key == "id" {
                    "hs_object_id".to_string()
                } else {
                    key.to_string()
                },
            )]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_by_email_expand_to_hubspot_shapes() {
        let e = HubspotEntityConfig {
            object: "contacts".into(),
            properties: vec!["email".into(), "firstname".into()],
            read_only: vec![],
            incremental: None,
            search_cap: None,
            search_rate_limit: None,
        };
        let id = vec!["email".to_string()];
        e.validate(&id).unwrap();
        let rest = e.to_rest(&id);
        rest.validate(&id).unwrap();
        assert_eq!(rest.list, "/crm/v3/objects/contacts");
        assert_eq!(
            rest.get.as_deref(),
            Some("/crm/v3/objects/contacts/{id}?properties=email,firstname&idProperty=email")
        );
        assert_eq!(rest.fields, ["id", "email", "firstname", "updatedAt"]);
        assert!(rest.delete.is_none(), "no archive by a unique property");
        let search = rest.incremental.as_ref().unwrap().search.as_ref().unwrap();
        assert_eq!(
            (search.cap, search.rate_limit),
            (Some(10_000), Some(4)),
            "HubSpot's search cap, and one below its 5 searches a second"
        );
        let batch = rest.batch.unwrap();
        assert_eq!(
            batch.update.unwrap().input,
            json!({"id": "{email}", "idProperty": "email", "properties": "{values}"})
        );
        assert!(
            e.validate(&["phone".into()])
                .unwrap_err()
                .contains("neither HubSpot's record id")
        );
    }

    #[test]
    fn the_system_gets_hubspots_rate_limit_unless_told_otherwise() {
        let sys = HubspotSystemConfig {
            token: SecretRef::Env("T".into()),
            base_url: None,
            http: Some(HttpOptions {
                timeout_secs: 5,
                ..Default::default()
            }),
        };
        let rest = sys.to_rest();
        assert_eq!(rest.base_url, BASE_URL);
        assert_eq!(rest.http.rate_limit, Some(100));
        assert_eq!(rest.http.rate_limit_period_secs, 10);
        assert_eq!(rest.http.timeout_secs, 5);
    }
}
