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
    /// The administrator's session token (logged in again when Vendure
    /// ends it: a logout ends every session of the user).
    token: std::sync::Mutex<String>,
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
            token: Default::default(),
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

    fn login(&self, user: &str, password: &str) -> Result<(), String> {
        let resp = client()
            .post(format!("{}/admin-api", self.url))
            .json(&json!({
                "query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { __typename } }",
                "variables": {"u": user, "p": password},
            }))
            .send()
            .map_err(|e| e.to_string())?;
        *self.token.lock().unwrap() = resp
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
        let send = || -> Json {
            let token = self.token.lock().unwrap().clone();
            client()
                .post(format!("{}/admin-api", self.url))
                .bearer_auth(token)
                .json(&json!({"query": query, "variables": variables}))
                .send()
                .expect("Vendure answers")
                .json()
                .expect("JSON")
        };
        let mut resp = send();
        if resp["errors"][0]["extensions"]["code"] == "FORBIDDEN" {
            self.login(ADMIN, PASSWORD).expect("logged in again");
            resp = send();
        }
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

/// A proxy in front of a Vendure that counts logins and ends the client's
/// session at chosen moments, as an expiry would: just before forwarding
/// the `nth` request whose body contains a text, it sends Vendure's own
/// `logout` mutation with that request's session cookie (Vendure deletes
/// the user's sessions), then forwards the request, which Vendure now answers with
/// HTTP 200 and a `FORBIDDEN` GraphQL error. One request per connection.
pub struct ExpiringProxy {
    pub url: String,
    state: std::sync::Arc<std::sync::Mutex<ProxyState>>,
}

#[derive(Default)]
struct ProxyState {
    logins: usize,
    forbidden: usize,
    expired: usize,
    /// (text in the body, nth match to expire before, matches seen).
    rules: Vec<(String, usize, usize)>,
    /// Every request body, in order.
    bodies: Vec<String>,
    /// Every (request body, answer body), in order.
    exchanges: Vec<(String, String)>,
    /// Requests Vendure did not answer.
    errors: Vec<String>,
}

impl ExpiringProxy {
    /// A proxy to `shop` on a free local port.
    pub fn start(shop: &Vendure) -> ExpiringProxy {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = std::sync::Arc::new(std::sync::Mutex::new(ProxyState::default()));
        let (upstream, shared) = (shop.url.clone(), state.clone());
        std::thread::spawn(move || {
            let http = client();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut first = String::new();
                if reader.read_line(&mut first).unwrap_or(0) == 0 {
                    continue;
                }
                let mut headers: Vec<(String, String)> = Vec::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                    }
                }
                let header = |name: &str| {
                    headers
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.clone())
                };
                let len: usize = header("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0u8; len];
                let _ = reader.read_exact(&mut body);
                let text = String::from_utf8_lossy(&body).to_string();
                let path = first.split_whitespace().nth(1).unwrap_or("/").to_string();
                let cookie = header("cookie");
                let expire = {
                    let mut s = shared.lock().unwrap();
                    s.bodies.push(text.clone());
                    if text.contains("login(") {
                        s.logins += 1;
                        false
                    } else {
                        let mut hit = false;
                        for (needle, nth, seen) in s.rules.iter_mut() {
                            if text.contains(needle.as_str()) {
                                *seen += 1;
                                hit |= *seen == *nth;
                            }
                        }
                        hit
                    }
                };
                if expire && let Some(c) = &cookie {
                    let out: Json = http
                        .post(format!("{upstream}/admin-api"))
                        .header("cookie", c)
                        .json(&json!({"query": "mutation { logout { success } }"}))
                        .send()
                        .and_then(|r| r.json())
                        .expect("logout answers");
                    assert_eq!(out["data"]["logout"]["success"], true, "{out}");
                    shared.lock().unwrap().expired += 1;
                }
                let mut req = http
                    .post(format!("{upstream}{path}"))
                    .header("content-type", "application/json")
                    .body(body);
                if let Some(c) = &cookie {
                    req = req.header("cookie", c);
                }
                let resp = match req.send() {
                    Ok(r) => r,
                    Err(e) => {
                        // Said to the client as a 502 (a passing failure).
                        let why = format!("proxy: Vendure did not answer: {e}");
                        shared.lock().unwrap().errors.push(why.clone());
                        let out = format!(
                            "HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{why}",
                            why.len()
                        );
                        let _ = stream.write_all(out.as_bytes());
                        continue;
                    }
                };
                let status = resp.status().as_u16();
                let cookies: Vec<String> = resp
                    .headers()
                    .get_all("set-cookie")
                    .iter()
                    .filter_map(|v| v.to_str().ok().map(str::to_string))
                    .collect();
                let answer = resp.bytes().unwrap_or_default();
                {
                    let shown = String::from_utf8_lossy(&answer).to_string();
                    let mut s = shared.lock().unwrap();
                    if shown.contains("\"FORBIDDEN\"") {
                        s.forbidden += 1;
                    }
                    s.exchanges.push((text.clone(), shown));
                }
                let mut out = format!(
                    "HTTP/1.1 {status} X\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
                    answer.len()
                );
                for c in cookies {
                    out.push_str(&format!("set-cookie: {c}\r\n"));
                }
                out.push_str("\r\n");
                let _ = stream.write_all(out.as_bytes());
                let _ = stream.write_all(&answer);
            }
        });
        ExpiringProxy { url, state }
    }

    /// Ends the session just before the `nth` request whose body contains
    /// `text` (counted from now on).
    pub fn expire_before(&self, text: &str, nth: usize) {
        self.state
            .lock()
            .unwrap()
            .rules
            .push((text.to_string(), nth, 0));
    }

    /// Requests Vendure did not answer, so far.
    pub fn errors(&self) -> Vec<String> {
        self.state.lock().unwrap().errors.clone()
    }

    /// Logins seen so far.
    pub fn logins(&self) -> usize {
        self.state.lock().unwrap().logins
    }

    /// Sessions ended so far.
    pub fn expired(&self) -> usize {
        self.state.lock().unwrap().expired
    }

    /// The request bodies so far (and forgets them).
    pub fn take_bodies(&self) -> Vec<String> {
        std::mem::take(&mut self.state.lock().unwrap().bodies)
    }

    /// The (request, answer) bodies so far (and forgets them).
    pub fn take_exchanges(&self) -> Vec<(String, String)> {
        std::mem::take(&mut self.state.lock().unwrap().exchanges)
    }

    /// Answers carrying a `FORBIDDEN` error so far.
    pub fn forbidden(&self) -> usize {
        self.state.lock().unwrap().forbidden
    }
}

impl Vendure {
    /// Deletes a customer as someone else would.
    pub fn delete_customer(&self, id: &str) {
        let data = self.gql(
            "mutation($id: ID!) { deleteCustomer(id: $id) { result } }",
            json!({"id": id}),
        );
        assert_eq!(data["deleteCustomer"]["result"], "DELETED", "{data}");
    }

    /// How many customers have this e-mail.
    pub fn customers_with(&self, email: &str) -> usize {
        let data = self.gql(
            "query($o: CustomerListOptions) { customers(options: $o) { items { id } } }",
            json!({"o": {"filter": {"emailAddress": {"eq": email}}}}),
        );
        data["customers"]["items"].as_array().map_or(0, Vec::len)
    }
}
