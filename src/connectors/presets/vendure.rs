//! Vendure (`kind = "vendure"`), an open-source e-commerce server, through
//! its GraphQL Admin API: customers. The preset is a REST configuration
//! too: every request is a POST to the Admin API; the listing's paging
//! (`options.skip` / `options.take`) and the lookup by e-mail
//! (`options.filter`) go in the GraphQL variables; GraphQL `errors` in a
//! 200 answer are failures (`extensions.code` gives the category), and an
//! `ErrorResult` (`errorCode`, `message`) answered by a mutation is a
//! refusal. The login is the `login` mutation; its session cookie is kept.
//!
//! Vendure has no conditional writes on customers (no version, no ETag):
//! updates use `reread` (compare just before writing), which is weaker; see
//! `docs/presets.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::config::SecretRef;
use crate::connectors::http::{AuthConfig, HttpOptions, Pagination};
use crate::connectors::rest::{Conditional, RestEntityConfig, RestSystemConfig};

/// The Admin API, under the system's `base_url` (Vendure's default path).
const ADMIN_API: &str = "/admin-api";

/// The customer fields read (and, but for `id` and the times, written).
const CUSTOMER_FIELDS: &[&str] = &[
    "id",
    "title",
    "firstName",
    "lastName",
    "emailAddress",
    "phoneNumber",
    "createdAt",
    "updatedAt",
];

/// `[systems.NAME]` with `kind = "vendure"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendureSystemConfig {
    /// The server's root, e.g. `https://shop.example.com`.
    pub base_url: String,
    /// The administrator's identifier.
    pub user: String,
    /// Where the administrator's password comes from.
    pub password: SecretRef,
    /// Timeouts, retries, rate limit (the REST defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpOptions>,
}

impl VendureSystemConfig {
    /// The REST system this preset is.
    pub fn to_rest(&self) -> RestSystemConfig {
        let login = json!({
            "query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { __typename ... on ErrorResult { errorCode message } } }",
            "variables": {"u": "{user}", "p": "{password}"},
        });
        RestSystemConfig {
            base_url: self.base_url.clone(),
            auth: AuthConfig::Session {
                login: ADMIN_API.into(),
                user: self.user.clone(),
                password: self.password.clone(),
                body: Some(login.to_string()),
                token: None,
                header: None,
                prefix: None,
            },
            http: self.http.clone().unwrap_or_default(),
            check: None,
            errors_at: Some("errors".into()),
        }
    }
}

/// `[entities.NAME.vendure]`: which Vendure object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendureEntityConfig {
    /// `customers` (the only object offered yet).
    pub object: String,
}

impl VendureEntityConfig {
    /// Checks the settings against the entity's id fields, without I/O.
    pub fn validate(&self, entity_id: &[String]) -> Result<(), String> {
        if self.object != "customers" {
            return Err(format!(
                "vendure.object: {:?} is not offered yet; use \"customers\"",
                self.object
            ));
        }
        match entity_id {
            [one] if one == "id" || one == "emailAddress" => Ok(()),
            _ => Err(
                "id: a Vendure customer is known by [\"emailAddress\"] (recommended: creates \
                 carry it) or [\"id\"]"
                    .into(),
            ),
        }
    }

    /// The REST entity this preset is, for an entity known by `entity_id`.
    pub fn to_rest(&self, entity_id: &[String]) -> RestEntityConfig {
        let api = ADMIN_API.to_string();
        let key = entity_id.first().cloned().unwrap_or_else(|| "id".into());
        let selection = CUSTOMER_FIELDS.join(" ");
        let one = format!(
            "__typename ... on Customer {{ {selection} }} ... on ErrorResult {{ errorCode message }}"
        );
        RestEntityConfig {
            list: api.clone(),
            list_query: BTreeMap::new(),
            records: "data.customers.items".into(),
            record: "data.record".into(),
            pagination: Pagination::Offset {
                offset_param: "variables.o.skip".into(),
                limit_param: "variables.o.take".into(),
                limit: 100,
            },
            id_field: Some("id".into()),
            get: None,
            find: BTreeMap::from([(format!("variables.o.filter.{key}.eq"), format!("{{{key}}}"))]),
            create: Some(api.clone()),
            create_batch: None,
            update: Some(api.clone()),
            update_method: Some("POST".into()),
            delete: None,
            missing_statuses: None,
            fields: CUSTOMER_FIELDS.iter().map(|s| s.to_string()).collect(),
            types: BTreeMap::new(),
            read_only: vec!["id".into(), "createdAt".into(), "updatedAt".into()],
            conditional: Conditional::Reread,
            incremental: None,
            values_in: None,
            batch: None,
            clear_value: None,
            list_body: Some(json!({
                "query": format!("query($o: CustomerListOptions) {{ customers(options: $o) {{ items {{ {selection} }} }} }}"),
                "variables": {"o": {"sort": {"id": "ASC"}}},
            })),
            create_body: Some(json!({
                "query": format!("mutation($i: CreateCustomerInput!) {{ record: createCustomer(input: $i) {{ {one} }} }}"),
                "variables": {"i": "{values}"},
            })),
            update_body: Some(json!({
                "query": format!("mutation($i: UpdateCustomerInput!) {{ record: updateCustomer(input: $i) {{ {one} }} }}"),
                "variables": {"i": {"id": "{id}", "...": "{values}"}},
            })),
            error_field: Some("errorCode".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customers_by_email_expand_to_admin_api_requests() {
        let e = VendureEntityConfig {
            object: "customers".into(),
        };
        let id = vec!["emailAddress".to_string()];
        e.validate(&id).unwrap();
        let rest = e.to_rest(&id);
        rest.validate(&id).unwrap();
        assert_eq!(
            rest.find["variables.o.filter.emailAddress.eq"],
            "{emailAddress}"
        );
        assert!(e.validate(&["phoneNumber".into()]).is_err());
        assert!(
            VendureEntityConfig {
                object: "orders".into(),
            }
            .validate(&id)
            .unwrap_err()
            .contains("not offered yet")
        );
    }
}
