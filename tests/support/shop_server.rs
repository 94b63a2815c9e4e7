//! A real Vendure e-commerce server for the tests: installed by
//! `scripts/setup-vendure.sh` under `${TRUEUP_DEPS_DIR:-~/.cache/trueup-deps}/vendure`,
//! started here on a free local port with a copy of the template database
//! (about 7 s to ready), stopped (by its process id) when dropped. A small
//! GraphQL client seeds and reads customers as an administrator would.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

pub const ADMIN: &str = "superadmin";
pub const PASSWORD: &str = "trueup-shop-admin";

/// Trueup's own HTTP client (it installs the TLS provider reqwest needs).
fn client() -> reqwest::blocking::Client {
    trueup::connectors::http::build_client(&Default::default()).expect("an HTTP client")
}

/// A running Vendure.
pub struct Vendure {
    child: Child,
    pub url: String,
    pub dir: tempfile::TempDir,
    token: String,
}

impl Drop for Vendure {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn install_dir() -> Option<PathBuf> {
    let deps = std::env::var_os("TRUEUP_DEPS_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/trueup-deps"))
        })?;
    let dir = deps.join("vendure");
    (dir.join("server.js").exists() && dir.join("template.sqlite").exists()).then_some(dir)
}

impl Vendure {
    /// Starts a server, or says why it cannot.
    pub fn start() -> Result<Vendure, String> {
        let install =
            install_dir().ok_or("Vendure is not installed: run scripts/setup-vendure.sh")?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let db = dir.path().join("shop.sqlite");
        std::fs::copy(install.join("template.sqlite"), &db).map_err(|e| e.to_string())?;
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.path().join("vendure.log");
        let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let node = std::env::var_os("TRUEUP_NODE").unwrap_or_else(|| "node".into());
        let child = Command::new(node)
            .arg(install.join("server.js"))
            .current_dir(&install)
            .env("PORT", port.to_string())
            .env("VENDURE_DB", &db)
            .env("VENDURE_SYNC", "false")
            .env("VENDURE_SUPERADMIN", ADMIN)
            .env("VENDURE_SUPERADMIN_PASSWORD", PASSWORD)
            .stdout(out.try_clone().map_err(|e| e.to_string())?)
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start node: {e}"))?;
        let mut shop = Vendure {
            child,
            url: format!("http://127.0.0.1:{port}"),
            dir,
            token: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("VENDURE READY") {
                break;
            }
            if let Ok(Some(status)) = shop.child.try_wait() {
                return Err(format!("Vendure exited ({status}): {text}"));
            }
            if Instant::now() > deadline {
                return Err(format!("Vendure not ready within 90 s: {text}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        shop.login(ADMIN, PASSWORD)?;
        Ok(shop)
    }

    fn login(&mut self, user: &str, password: &str) -> Result<(), String> {
        let resp = client()
            .post(format!("{}/admin-api", self.url))
            .json(&json!({
                "query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { __typename } }",
                "variables": {"u": user, "p": password},
            }))
            .send()
            .map_err(|e| e.to_string())?;
        self.token = resp
            .headers()
            .get("vendure-auth-token")
            .and_then(|v| v.to_str().ok())
            .ok_or("no vendure-auth-token after login")?
            .to_string();
        Ok(())
    }

    /// Runs a GraphQL document as the administrator; `data`, or a panic
    /// naming the errors.
    pub fn gql(&self, query: &str, variables: Json) -> Json {
        let resp: Json = client()
            .post(format!("{}/admin-api", self.url))
            .bearer_auth(&self.token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .expect("Vendure answers")
            .json()
            .expect("JSON");
        assert!(resp.get("errors").is_none(), "GraphQL errors: {resp}");
        resp["data"].clone()
    }

    /// Creates a customer; its id.
    pub fn create_customer(&self, email: &str, first: &str, last: &str, phone: &str) -> String {
        let data = self.gql(
            "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { ... on Customer { id } ... on ErrorResult { errorCode message } } }",
            json!({"i": {"emailAddress": email, "firstName": first, "lastName": last, "phoneNumber": phone}}),
        );
        data["createCustomer"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("created: {data}"))
            .to_string()
    }

    /// The customer with this e-mail, if any.
    pub fn customer(&self, email: &str) -> Option<Json> {
        let data = self.gql(
            "query($o: CustomerListOptions) { customers(options: $o) { items { id firstName lastName emailAddress phoneNumber updatedAt } } }",
            json!({"o": {"filter": {"emailAddress": {"eq": email}}}}),
        );
        data["customers"]["items"].as_array()?.first().cloned()
    }

    /// A product with variants `(sku, name, price)`, after the tax setup
    /// variants need (a zone, a tax category and rate, the channel's
    /// default zones).
    pub fn create_product(&self, name: &str, slug: &str, variants: &[(&str, &str, i64)]) {
        let zones = self.gql("{ zones { items { id } } }", json!({}));
        if zones["zones"]["items"]
            .as_array()
            .is_none_or(|z| z.is_empty())
        {
            let zone = self.gql(
                "mutation { createZone(input: {name: \"Default\"}) { id } }",
                json!({}),
            );
            let zone = zone["createZone"]["id"].clone();
            let cat = self.gql(
                "mutation { createTaxCategory(input: {name: \"Standard\", isDefault: true}) { id } }",
                json!({}),
            );
            self.gql(
                "mutation($c: ID!, $z: ID!) { createTaxRate(input: {name: \"Std\", enabled: true, value: 19, categoryId: $c, zoneId: $z}) { id } }",
                json!({"c": cat["createTaxCategory"]["id"], "z": zone}),
            );
            self.gql(
                "mutation($z: ID!) { updateChannel(input: {id: \"1\", defaultTaxZoneId: $z, defaultShippingZoneId: $z}) { __typename } }",
                json!({"z": zone}),
            );
        }
        let p = self.gql(
            "mutation($n: String!, $s: String!) { createProduct(input: {translations: [{languageCode: en, name: $n, slug: $s, description: \"\"}]}) { id } }",
            json!({"n": name, "s": slug}),
        );
        let id = p["createProduct"]["id"].clone();
        let inputs: Vec<Json> = variants
            .iter()
            .map(|(sku, name, price)| {
                json!({"productId": id, "sku": sku, "price": price, "optionIds": [],
                       "translations": [{"languageCode": "en", "name": name}]})
            })
            .collect();
        self.gql(
            "mutation($i: [CreateProductVariantInput!]!) { createProductVariants(input: $i) { id } }",
            json!({"i": inputs}),
        );
    }

    /// The variant with this SKU.
    pub fn variant(&self, sku: &str) -> Option<Json> {
        let data = self.gql(
            "query($o: ProductVariantListOptions) { productVariants(options: $o) { items { id sku price enabled } } }",
            json!({"o": {"filter": {"sku": {"eq": sku}}}}),
        );
        data["productVariants"]["items"]
            .as_array()?
            .first()
            .cloned()
    }

    /// Changes a customer as someone else would.
    pub fn update_customer(&self, id: &str, field: &str, value: &str) {
        let mut input = json!({"id": id});
        input[field] = json!(value);
        self.gql(
            "mutation($i: UpdateCustomerInput!) { updateCustomer(input: $i) { __typename } }",
            json!({"i": input}),
        );
    }
}
