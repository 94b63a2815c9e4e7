//! A real Tryton 8.2 server for tests, one per test: the template database
//! built by `scripts/setup-tryton.sh` is copied to a temporary directory and
//! `trytond` serves it on a free port of 127.0.0.1 until the guard drops.
//!
//! - Install: `scripts/setup-tryton.sh` (venv and template under
//!   `${TRUEUP_DEPS_DIR:-$HOME/.cache/trueup-deps}/tryton`).
//! - The server is started with `-d trueup` so its pool is loaded before the
//!   first request (8.2 answers a login on a pool it loads lazily with
//!   `KeyError: 'res.user'`), and is ready when `common.server.version`
//!   answers on `/rpc/`.
//! - The admin user is `admin` with the password [`PASSWORD`].
//! - Dropping the guard kills the server (SIGKILL: the database is a
//!   throw-away copy); should the test process die, the kernel kills it too
//!   (parent-death signal).
//! - Not installed: [`server`] prints why and returns `None`, so tests skip,
//!   unless `CI=true`, where it panics.
//!
//! The guard also installs audit triggers in the copy before starting, so a
//! test can count the effects a push had on parties ([`TrytonServer::audit`]).
#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The database name of the template.
pub const DB: &str = "trueup";
/// The admin user.
pub const USER: &str = "admin";
/// The admin password of the template (a local test-only value).
pub const PASSWORD: &str = "admin";

/// Where `scripts/setup-tryton.sh` installs Tryton.
pub fn deps_dir() -> PathBuf {
    match std::env::var_os("TRUEUP_DEPS_DIR") {
        Some(d) => PathBuf::from(d).join("tryton"),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/trueup-deps/tryton"),
    }
}

/// A running test server; killed on drop.
pub struct TrytonServer {
    /// The temporary directory: config, database copy, log.
    pub dir: tempfile::TempDir,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    child: Child,
    http: reqwest::blocking::Client,
    session: Option<String>,
}

fn skip(reason: &str) -> Option<TrytonServer> {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("Tryton tests cannot run in CI: {reason}");
    }
    eprintln!("skipping Tryton test: {reason} (run scripts/setup-tryton.sh)");
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Audit triggers: every insert, update of a watched column, and delete of
/// a party or contact mechanism leaves one row in `trueup_audit`.
const AUDIT: &str = "
CREATE TABLE trueup_audit (seq INTEGER PRIMARY KEY, tbl TEXT, op TEXT, rec INTEGER, code TEXT, value TEXT);
CREATE TRIGGER trueup_party_insert AFTER INSERT ON party_party BEGIN
  INSERT INTO trueup_audit (tbl, op, rec, code, value) VALUES ('party', 'insert', NEW.id, NEW.code, NEW.name); END;
CREATE TRIGGER trueup_party_update AFTER UPDATE OF name, code ON party_party BEGIN
  INSERT INTO trueup_audit (tbl, op, rec, code, value) VALUES ('party', 'update', NEW.id, NEW.code, NEW.name); END;
CREATE TRIGGER trueup_party_delete AFTER DELETE ON party_party BEGIN
  INSERT INTO trueup_audit (tbl, op, rec, code, value) VALUES ('party', 'delete', OLD.id, OLD.code, OLD.name); END;
CREATE TRIGGER trueup_cm_insert AFTER INSERT ON party_contact_mechanism BEGIN
  INSERT INTO trueup_audit (tbl, op, rec, code, value) VALUES ('cm', 'insert', NEW.party, NEW.type, NEW.value); END;
CREATE TRIGGER trueup_cm_update AFTER UPDATE OF value ON party_contact_mechanism BEGIN
  INSERT INTO trueup_audit (tbl, op, rec, code, value) VALUES ('cm', 'update', NEW.party, NEW.type, NEW.value); END;
";

/// One row of the audit trail: (table `party` or `cm`, op `insert` /
/// `update` / `delete`, the party's id, its code (party) or the contact
/// mechanism's type (cm), the name or the value).
pub type Effect = (String, String, i64, Option<String>, Option<String>);

/// Starts a fresh server, or `None` (outside CI) when Tryton is not installed.
pub fn server() -> Option<TrytonServer> {
    let root = deps_dir();
    let trytond = root.join("venv/bin/trytond");
    let template = root.join("template").join(format!("{DB}.sqlite"));
    if !trytond.is_file() {
        return skip(&format!("{} not found", trytond.display()));
    }
    if !template.is_file() || !root.join("template/.ready").is_file() {
        return skip(&format!(
            "template database {} not built",
            template.display()
        ));
    }
    let dir = tempfile::Builder::new()
        .prefix("trueup-tryton-")
        .tempdir()
        .unwrap();
    let db = dir.path().join(format!("{DB}.sqlite"));
    std::fs::copy(&template, &db).unwrap();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(AUDIT)
        .unwrap();
    // The free port may be taken before trytond binds it: try a few.
    for attempt in 1..=3 {
        let port = free_port();
        let conf = dir.path().join("trytond.conf");
        std::fs::write(
            &conf,
            format!(
                "[database]\nuri = sqlite://\npath = {}\n[web]\nlisten = 127.0.0.1:{port}\n\
                 [session]\nmax_attempt = 1000\n",
                dir.path().display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let mut cmd = Command::new(&trytond);
        cmd.arg("-c")
            .arg(&conf)
            .args(["-d", DB])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // SAFETY: prctl is async-signal-safe; the kernel kills the server
        // when the thread that started it (the test) ends.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("start trytond");
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()
            .unwrap();
        match wait_ready(&http, port, &mut child, dir.path()) {
            Ok(()) => {
                return Some(TrytonServer {
                    dir,
                    port,
                    child,
                    http,
                    session: None,
                });
            }
            Err(log) if attempt < 3 && log.contains("Address already in use") => continue,
            Err(log) => panic!("trytond exited while starting:\n{log}"),
        }
    }
    unreachable!("the last attempt returns or panics")
}

/// Waits until the server answers `common.server.version`; its log when it
/// exited instead.
fn wait_ready(
    http: &reqwest::blocking::Client,
    port: u16,
    child: &mut Child,
    dir: &std::path::Path,
) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let log = || std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    loop {
        let answer = http
            .post(format!("http://127.0.0.1:{port}/rpc/"))
            .json(&json!({"id": 0, "method": "common.server.version", "params": []}))
            .send()
            .ok()
            .and_then(|r| r.json::<Value>().ok());
        if let Some(v) = answer
            && v["result"].is_string()
        {
            return Ok(());
        }
        if let Ok(Some(_)) = child.try_wait() {
            return Err(log());
        }
        if Instant::now() > deadline {
            panic!("trytond did not answer within 60 s:\n{}", log());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Drop for TrytonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TrytonServer {
    /// The server's base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Calls `method` as admin (logging in once); panics on an error answer.
    pub fn rpc(&mut self, method: &str, params: Value) -> Value {
        match self.try_rpc(method, params) {
            Ok(v) => v,
            Err(e) => panic!("{method} failed: {e}"),
        }
    }

    /// Calls `method` as admin; the `error` member on failure.
    pub fn try_rpc(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        if self.session.is_none() {
            let v = self.call(
                None,
                "common.db.login",
                json!([USER, {"password": PASSWORD}, "en"]),
            )?;
            let token = format!("{USER}:{}:{}", v[0], v[1].as_str().unwrap());
            self.session = Some(base64_encode(token.as_bytes()));
        }
        let session = self.session.clone();
        self.call(session.as_deref(), method, params)
    }

    fn call(&self, session: Option<&str>, method: &str, params: Value) -> Result<Value, Value> {
        let mut req = self
            .http
            .post(format!("{}/{DB}/rpc/", self.url()))
            .json(&json!({"id": 1, "method": method, "params": params}));
        if let Some(s) = session {
            req = req.header("Authorization", format!("Session {s}"));
        }
        let resp = req.send().expect("reach trytond");
        let status = resp.status();
        let text = resp.text().unwrap();
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method}: HTTP {status}: {text}"));
        match v.get("error") {
            Some(e) if !e.is_null() => Err(e.clone()),
            _ => Ok(v["result"].clone()),
        }
    }

    /// Creates `n` parties `P00000`… (code, name, e-mail, phone, one
    /// address) in batches; returns their ids in order.
    pub fn seed_parties(&mut self, n: usize) -> Vec<i64> {
        self.seed_parties_from(0, n)
    }

    /// Like [`TrytonServer::seed_parties`], numbering from `start`.
    pub fn seed_parties_from(&mut self, start: usize, n: usize) -> Vec<i64> {
        let mut ids = Vec::with_capacity(n);
        let all: Vec<usize> = (start..start + n).collect();
        for chunk in all.chunks(1000) {
            let batch: Vec<Value> = chunk.iter().map(|&i| party_values(i)).collect();
            let created = self.rpc("model.party.party.create", json!([batch, {}]));
            ids.extend(
                created
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_i64().unwrap()),
            );
        }
        ids
    }

    /// Creates `n` products `A00000`… (a template and its variant each).
    pub fn seed_products(&mut self, n: usize) -> Vec<i64> {
        let uom = self.rpc(
            "model.product.uom.search",
            json!([[["symbol", "=", "u"]], 0, 1, null, {}]),
        )[0]
        .as_i64()
        .expect("the unit of measure `u`");
        let company =
            self.rpc("model.res.user.get_preferences", json!([true, {}]))["company"].clone();
        let mut ids = Vec::with_capacity(n);
        let all: Vec<usize> = (0..n).collect();
        for chunk in all.chunks(500) {
            let batch: Vec<Value> = chunk
                .iter()
                .map(|&i| {
                    json!({
                        "name": format!("Article {i}"),
                        "type": "goods",
                        "default_uom": uom,
                        "list_price": {"__class__": "Decimal", "decimal": format!("{}.50", 10 + i % 90)},
                        "products": [["create", [{"suffix_code": format!("A{i:05}")}]]],
                    })
                })
                .collect();
            let templates = self.rpc(
                "model.product.template.create",
                json!([batch, {"company": company}]),
            );
            ids.extend(
                templates
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_i64().unwrap()),
            );
        }
        ids
    }

    /// Reads parties (by domain) with the given fields, ordered by id.
    pub fn parties(&mut self, domain: Value, fields: &[&str]) -> Vec<Value> {
        self.rpc(
            "model.party.party.search_read",
            json!([domain, 0, null, [["id", "ASC"]], fields, {}]),
        )
        .as_array()
        .unwrap()
        .clone()
    }

    /// The party with `code`, with its flattened fields as Tryton computes them.
    pub fn party(&mut self, code: &str) -> Option<Value> {
        self.parties(
            json!([["code", "=", code]]),
            &["id", "code", "name", "email", "phone", "_timestamp"],
        )
        .into_iter()
        .next()
    }

    /// The audit trail, oldest first.
    pub fn audit(&self) -> Vec<Effect> {
        let conn =
            rusqlite::Connection::open(self.dir.path().join(format!("{DB}.sqlite"))).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        let mut stmt = conn
            .prepare("SELECT tbl, op, rec, code, value FROM trueup_audit ORDER BY seq")
            .unwrap();
        stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    /// Ends every session, as their expiry would.
    pub fn expire_sessions(&self) {
        let conn =
            rusqlite::Connection::open(self.dir.path().join(format!("{DB}.sqlite"))).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        conn.execute("DELETE FROM ir_session", []).unwrap();
    }

    /// Forgets the audit trail so far (after seeding).
    pub fn clear_audit(&self) {
        let conn =
            rusqlite::Connection::open(self.dir.path().join(format!("{DB}.sqlite"))).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        conn.execute("DELETE FROM trueup_audit", []).unwrap();
    }
}

/// An admin JSON-RPC client of its own (for another thread than the test's).
pub struct Admin {
    url: String,
    http: reqwest::blocking::Client,
    session: Option<String>,
}

impl Admin {
    /// A client of `server`, logged in at its first call.
    pub fn new(server: &TrytonServer) -> Admin {
        Admin {
            url: server.url(),
            http: reqwest::blocking::Client::new(),
            session: None,
        }
    }

    /// Calls `method` as admin; panics on an error answer.
    pub fn rpc(&mut self, method: &str, params: Value) -> Value {
        if self.session.is_none() {
            let v = self.call(
                "common.db.login",
                json!([USER, {"password": PASSWORD}, "en"]),
            );
            let token = format!("{USER}:{}:{}", v[0], v[1].as_str().unwrap());
            self.session = Some(base64_encode(token.as_bytes()));
        }
        self.call(method, params)
    }

    fn call(&self, method: &str, params: Value) -> Value {
        let mut req = self
            .http
            .post(format!("{}/{DB}/rpc/", self.url))
            .json(&json!({"id": 1, "method": method, "params": params}));
        if let Some(s) = &self.session {
            req = req.header("Authorization", format!("Session {s}"));
        }
        let v: Value = req.send().unwrap().json().unwrap();
        assert!(v["error"].is_null(), "{method}: {v}");
        v["result"].clone()
    }
}

/// The values of seeded party `i`.
pub fn party_values(i: usize) -> Value {
    json!({
        "code": format!("P{i:05}"),
        "name": format!("Party {i}"),
        "contact_mechanisms": [["create", [
            {"type": "email", "value": format!("p{i}@example.com")},
            {"type": "phone", "value": format!("+3240{i:06}")},
        ]]],
        "addresses": [["create", [{
            "street": format!("Rue {i}"),
            "city": "Liège",
            "postal_code": format!("{}", 4000 + i % 100),
        }]]],
    })
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
