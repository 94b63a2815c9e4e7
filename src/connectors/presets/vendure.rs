//! Vendure (`kind = "vendure"`), an open-source e-commerce server, through
//! its GraphQL Admin API: customers. The preset is a REST configuration
//! too: every request is a POST to the Admin API; the listing's paging
//! (`options.skip` / `options.take`) and the lookup by e-mail
//! (`options.filter`) go in the GraphQL variables; GraphQL `errors` in a
//! 200 answer are failures (`extensions.code` gives the category), and an
//! `ErrorResult` (`errorCode`, `message`) answered by a mutation is a
//! refusal. The login is the `login` mutation; its session cookie is kept,
//! and an expired session (a `FORBIDDEN` error with HTTP 200) logs in again
//! once. Customers pull incrementally: changed since the cursor
//! (`updatedAt`), deletes found by an id-only listing.
//!
//! Vendure has no conditional writes on customers (no version, no ETag):
//! updates use `reread` (compare just before writing), which is weaker; see
//! `docs/presets.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::config::SecretRef;
use crate::connectors::http::{AuthConfig, HttpOptions, Pagination};
use crate::connectors::rest::{
    Conditional, FieldType, Incremental, RestEntityConfig, RestSystemConfig, SearchListing,
};

/// The Admin API, under the system's `base_url` (Vendure's default path).
const ADMIN_API: &str = "/admin-api";

/// How Vendure says a session is unknown or expired: the request runs as
/// anonymous and is refused with this GraphQL error, before anything is
/// read or applied.
pub const EXPIRED: &str = "errors.0.extensions.code=FORBIDDEN";

/// One Vendure object as the preset offers it.
struct Object {
    /// The list query (`customers`).
    query: &'static str,
    /// Its options type (`CustomerListOptions`).
    options: &'static str,
    /// The fields read, as dotted paths (`customer.emailAddress`).
    fields: &'static [&'static str],
    /// The fields an entity may be known by (the first is the system id).
    keys: &'static [&'static str],
    /// Fields never written.
    read_only: &'static [&'static str],
    /// Fields sent as numbers or booleans.
    types: &'static [(&'static str, FieldType)],
    /// Create mutation and input type, when offered.
    create: Option<(&'static str, &'static str)>,
    /// Update mutation and input type, and whether it takes a list.
    update: Option<(&'static str, &'static str, bool)>,
    /// Whether every field read is a column of the object itself, so that
    /// its `updatedAt` moves with any change (incremental pulls).
    incremental: bool,
}

fn object(name: &str) -> Option<Object> {
    Some(match name {
        "customers" => Object {
            query: "customers",
            options: "CustomerListOptions",
            fields: &[
                "id",
                "title",
                "firstName",
                "lastName",
                "emailAddress",
                "phoneNumber",
                "createdAt",
                "updatedAt",
            ],
            keys: &["id", "emailAddress"],
            read_only: &["id", "createdAt", "updatedAt"],
            types: &[],
            create: Some(("createCustomer", "CreateCustomerInput!")),
            update: Some(("updateCustomer", "UpdateCustomerInput!", false)),
            incremental: true,
        },
        "variants" => Object {
            query: "productVariants",
            options: "ProductVariantListOptions",
            fields: &[
                "id",
                "sku",
                "name",
                "price",
                "priceWithTax",
                "currencyCode",
                "stockOnHand",
                "enabled",
                "productId",
                "createdAt",
                "updatedAt",
            ],
            keys: &["id", "sku"],
            read_only: &[
                "id",
                "name",
                "priceWithTax",
                "currencyCode",
                "stockOnHand",
                "productId",
                "createdAt",
                "updatedAt",
            ],
            types: &[
                ("price", FieldType::Integer),
                ("enabled", FieldType::Boolean),
            ],
            create: None,
            update: Some((
                "updateProductVariants",
                "[UpdateProductVariantInput!]!",
                true,
            )),
            // The price is a row of its own: it moves without the
            // variant's updatedAt.
            incremental: false,
        },
        "products" => Object {
            query: "products",
            options: "ProductListOptions",
            fields: &["id", "name", "slug", "enabled", "createdAt", "updatedAt"],
            keys: &["id", "slug"],
            read_only: &[],
            types: &[],
            create: None,
            update: None,
            // Name and slug are translations, rows of their own.
            incremental: false,
        },
        "orders" => Object {
            query: "orders",
            options: "OrderListOptions",
            fields: &[
                "id",
                "code",
                "state",
                "active",
                "orderPlacedAt",
                "totalWithTax",
                "currencyCode",
                "customer.emailAddress",
                "createdAt",
                "updatedAt",
            ],
            keys: &["id", "code"],
            read_only: &[],
            types: &[],
            create: None,
            update: None,
            // The customer's e-mail is the customer's row.
            incremental: false,
        },
        _ => return None,
    })
}

/// A GraphQL selection of dotted fields: `id customer { emailAddress }`.
fn selection(fields: &[&str]) -> String {
    let mut plain: Vec<String> = Vec::new();
    let mut nested: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in fields {
        match f.split_once('.') {
            Some((outer, inner)) => nested.entry(outer).or_default().push(inner),
            None => plain.push(f.to_string()),
        }
    }
    for (outer, inner) in nested {
        plain.push(format!("{outer} {{ {} }}", inner.join(" ")));
    }
    plain.join(" ")
}

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
                // An unknown or expired session is answered with HTTP 200
                // and this GraphQL error (not 401): log in again once.
                expired: Some(EXPIRED.into()),
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
    /// `customers` (read, update, create), `variants` (product variants:
    /// read, update `price`, `enabled`, `sku`), `products` or `orders`
    /// (read only).
    pub object: String,
    /// Pull only the records changed since the last pull (`updatedAt`),
    /// finding deleted ones by an id-only listing. Default: true for
    /// `customers`, the only object offering it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<bool>,
}

/// The end of the "changed since" range. Its start is the cursor less one
/// second: Vendure on SQLite keeps `updatedAt` to the second
/// (`2026-11-25 16:07:39`) but compares it with a time in milliseconds
/// (`… 16:07:39.000`, greater), so `between` from the cursor itself would
/// miss a record changed later in the cursor's second. The records of that
/// second are read again, harmlessly.
const FAR_FUTURE: &str = "9999-12-31T23:59:59.999Z";

impl VendureEntityConfig {
    /// Checks the settings against the entity's id fields, without I/O.
    pub fn validate(&self, entity_id: &[String]) -> Result<(), String> {
        let Some(o) = object(&self.object) else {
            return Err(format!(
                "vendure.object: {:?} is not offered; use \"customers\", \"variants\", \
                 \"products\" or \"orders\"",
                self.object
            ));
        };
        if self.incremental == Some(true) && !o.incremental {
            return Err(format!(
                "vendure.incremental: not offered for {} (some of its fields live in rows of \
                 their own, whose changes do not move its updatedAt); only customers",
                self.object
            ));
        }
        match entity_id {
            [one] if o.keys.contains(&one.as_str()) => Ok(()),
            _ => Err(format!(
                "id: Vendure {} are known by one of {:?}",
                self.object, o.keys
            )),
        }
    }

    /// The REST entity this preset is, for an entity known by `entity_id`.
    pub fn to_rest(&self, entity_id: &[String]) -> RestEntityConfig {
        let o = object(&self.object).unwrap_or_else(|| object("customers").expect("offered"));
        let api = ADMIN_API.to_string();
        let key = entity_id.first().cloned().unwrap_or_else(|| "id".into());
        let fields = selection(o.fields);
        let typename = "__typename ... on ErrorResult { errorCode message }";
        let create_body = o.create.map(|(mutation, input)| {
            json!({
                "query": format!("mutation($i: {input}) {{ record: {mutation}(input: $i) {{ {typename} ... on Customer {{ {fields} }} }} }}"),
                "variables": {"i": "{values}"},
            })
        });
        let (update_body, record) = match o.update {
            Some((mutation, input, true)) => (
                Some(json!({
                    "query": format!("mutation($i: {input}) {{ record: {mutation}(input: $i) {{ {fields} }} }}"),
                    "variables": {"i": [{"id": "{id}", "...": "{values}"}]},
                })),
                "data.record.0",
            ),
            Some((mutation, input, false)) => (
                Some(json!({
                    "query": format!("mutation($i: {input}) {{ record: {mutation}(input: $i) {{ {typename} ... on Customer {{ {fields} }} }} }}"),
                    "variables": {"i": {"id": "{id}", "...": "{values}"}},
                })),
                "data.record",
            ),
            None => (None, "data.record"),
        };
        RestEntityConfig {
            list: api.clone(),
            list_query: BTreeMap::new(),
            records: format!("data.{}.items", o.query),
            record: record.into(),
            pagination: Pagination::Offset {
                offset_param: "variables.o.skip".into(),
                limit_param: "variables.o.take".into(),
                limit: 100,
            },
            id_field: Some("id".into()),
            get: None,
            find: BTreeMap::from([(format!("variables.o.filter.{key}.eq"), format!("{{{key}}}"))]),
            create: o.create.map(|_| api.clone()),
            create_batch: None,
            update: o.update.map(|_| api.clone()),
            update_method: Some("POST".into()),
            delete: None,
            missing_statuses: None,
            fields: o.fields.iter().map(|s| s.to_string()).collect(),
            types: o.types.iter().map(|(f, t)| (f.to_string(), *t)).collect(),
            read_only: o.read_only.iter().map(|s| s.to_string()).collect(),
            conditional: Conditional::Reread,
            incremental: (o.incremental && self.incremental != Some(false)).then(|| Incremental {
                updated_at: vec!["updatedAt".into()],
                changed: BTreeMap::new(),
                // The listing, filtered on updatedAt from the cursor on.
                search: Some(SearchListing {
                    path: api.clone(),
                    body: json!({
                        "query": format!("query($o: {}) {{ {}(options: $o) {{ items {{ {fields} }} }} }}", o.options, o.query),
                        "variables": {"o": {
                            "sort": {"id": "ASC"},
                            "filter": {"updatedAt": {"between": {"start": "{since_1s_before}", "end": FAR_FUTURE}}},
                        }},
                    }),
                    pagination: None,
                    cap: None,
                    rate_limit: None,
                }),
                ids: BTreeMap::new(),
                // Which records still exist: only the key is asked for.
                ids_body: Some(json!({
                    "query": format!("query($o: {}) {{ {}(options: $o) {{ items {{ {key} }} }} }}", o.options, o.query),
                    "variables": {"o": {"sort": {"id": "ASC"}}},
                })),
            }),
            values_in: None,
            batch: None,
            clear_value: None,
            list_body: Some(json!({
                "query": format!("query($o: {}) {{ {}(options: $o) {{ items {{ {fields} }} }} }}", o.options, o.query),
                "variables": {"o": {"sort": {"id": "ASC"}}},
            })),
            create_body,
            update_body,
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
            incremental: None,
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
                object: "invoices".into(),
                incremental: None,
            }
            .validate(&id)
            .unwrap_err()
            .contains("not offered")
        );
        let inc = rest.incremental.expect("customers pull incrementally");
        assert!(
            inc.ids_body.unwrap()["query"]
                .as_str()
                .unwrap()
                .contains("items { emailAddress }")
        );
        let variants = VendureEntityConfig {
            object: "variants".into(),
            incremental: Some(true),
        };
        assert!(
            variants
                .validate(&["sku".into()])
                .unwrap_err()
                .contains("only customers")
        );
        assert!(
            VendureEntityConfig {
                object: "variants".into(),
                incremental: None,
            }
            .to_rest(&["sku".into()])
            .incremental
            .is_none()
        );
    }
}
