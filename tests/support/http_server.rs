//! A small REST API on a free local port, for the HTTP tests: records with
//! `id` (assigned), `code` (the external reference), `name`, `email`,
//! `version` and `updated_at`; offset and cursor paging; get, find by code,
//! create, update (honouring `If-Match`, a `version` in the body, or a
//! filter), delete. Every applied write is counted per record (its
//! effects), and faults can be queued for matching requests: error
//! statuses with or without `Retry-After`, a reset connection, a stall, a
//! write applied then failed, a repeating cursor, malformed JSON, a record
//! changed right after we read it.
//!
//! One request per connection (`connection: close`), a thread per
//! connection: simple and plenty for tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value as Json, json};

use crate::support::wire::{Answer, Req, answer, decode, read_request, write_answer};

/// What a fault does to the request it matches.
#[derive(Debug, Clone)]
pub enum FaultKind {
    /// Answer this status (with `Retry-After` when given) and this body; nothing applied.
    Status {
        status: u16,
        retry_after: Option<String>,
        body: String,
    },
    /// Close the connection with a reset; nothing applied.
    Reset,
    /// Wait this long, then handle the request normally (the client has
    /// usually given up by then: a write is applied all the same).
    Stall(Duration),
    /// Apply the request, then answer this status instead.
    ApplyThenFail(u16),
    /// Apply the request, then reset the connection.
    ApplyThenReset,
    /// Serve the listing, but give back the cursor received as the next one.
    RepeatCursor,
    /// Answer 200 with a truncated JSON body.
    Malformed,
    /// Delete the record first (someone else), then answer 204 with no
    /// body, as Directus does for a PATCH of a missing item.
    GoneNoContent,
    /// Serve the request, then change the record (someone else's edit):
    /// `field` gets `value`, the version moves.
    ChangeAfter { field: String, value: String },
}

/// A fault for the next `times` requests whose method and path match.
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: String,
    pub path_contains: String,
    pub kind: FaultKind,
    pub times: u32,
}

/// The server's data and counters.
#[derive(Debug, Default)]
pub struct ApiState {
    pub records: BTreeMap<i64, Json>,
    next_id: i64,
    clock: u64,
    /// Applied writes per record code.
    pub effects: BTreeMap<String, u32>,
    /// Every request: `METHOD /path?query`.
    pub requests: Vec<String>,
    /// Every request as received (head and body), for secret checks.
    pub raw: Vec<String>,
    faults: Vec<Fault>,
    /// A bearer token every request must carry, when set.
    pub bearer: Option<String>,
    /// `POST /auth/login` with this password answers this token.
    pub login: Option<(String, String)>,
}

/// The running server; stopped when dropped.
pub struct ApiServer {
    pub url: String,
    pub state: Arc<Mutex<ApiState>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

impl ApiServer {
    /// Starts an empty API on a free local port.
    pub fn start() -> ApiServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(ApiState {
            next_id: 1,
            ..Default::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let s = s.clone();
                std::thread::spawn(move || serve(conn, &s));
            }
        });
        ApiServer {
            url: format!("http://127.0.0.1:{port}"),
            state,
            stop,
            port,
        }
    }

    /// Adds records `(code, name, email)`; ids are assigned 1, 2, ...
    /// Seeds `n` records C01.. named `Name i`, e-mail `c{i}@{domain}`, and
    /// returns them as (code, name, email).
    pub fn seed_numbered(&self, n: usize, domain: &str) -> Vec<(String, String, String)> {
        let rows: Vec<(String, String, String)> = (1..=n)
            .map(|i| {
                (
                    format!("C{i:02}"),
                    format!("Name {i}"),
                    format!("c{i}@{domain}"),
                )
            })
            .collect();
        let refs: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
            .collect();
        self.seed(&refs);
        rows
    }

    pub fn seed(&self, rows: &[(&str, &str, &str)]) {
        let mut s = self.state.lock().unwrap();
        for (code, name, email) in rows {
            let id = s.next_id;
            s.next_id += 1;
            let at = s.tick();
            s.records.insert(
                id,
                json!({"id": id, "code": code, "name": name, "email": email, "version": 1, "updated_at": at}),
            );
        }
    }

    /// Queues a fault.
    pub fn fault(&self, method: &str, path_contains: &str, kind: FaultKind, times: u32) {
        self.state.lock().unwrap().faults.push(Fault {
            method: method.to_string(),
            path_contains: path_contains.to_string(),
            kind,
            times,
        });
    }

    /// Applied writes to the record with this code.
    pub fn effects(&self, code: &str) -> u32 {
        self.state
            .lock()
            .unwrap()
            .effects
            .get(code)
            .copied()
            .unwrap_or(0)
    }

    /// All applied writes.
    pub fn total_effects(&self) -> u32 {
        self.state.lock().unwrap().effects.values().sum()
    }

    /// The record with this code.
    pub fn by_code(&self, code: &str) -> Option<Json> {
        let s = self.state.lock().unwrap();
        s.records.values().find(|r| r["code"] == code).cloned()
    }

    /// Changes a field of a record, as someone else would (version moves).
    pub fn edit(&self, code: &str, field: &str, value: &str) {
        let mut s = self.state.lock().unwrap();
        let id = s
            .records
            .iter()
            .find(|(_, r)| r["code"] == code)
            .map(|(id, _)| *id)
            .expect("record exists");
        s.change(id, field, value);
    }

    /// Deletes a record, as someone else would.
    pub fn remove(&self, code: &str) {
        let mut s = self.state.lock().unwrap();
        s.records.retain(|_, r| r["code"] != code);
    }

    /// Stores a record as given (any `updated_at`), with the next id.
    pub fn insert_raw(&self, mut record: Json) {
        let mut s = self.state.lock().unwrap();
        let id = s.next_id;
        s.next_id += 1;
        record["id"] = Json::from(id);
        s.records.insert(id, record);
    }

    /// Requests received, `METHOD /path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Accepts `POST /auth/login` with `{"password": PASSWORD}`, answering
    /// `{"data": {"access_token": TOKEN}}`, and requires that token.
    pub fn require_login(&self, password: &str, token: &str) {
        let mut s = self.state.lock().unwrap();
        s.login = Some((password.to_string(), token.to_string()));
        s.bearer = Some(token.to_string());
    }

    /// Requires `Authorization: Bearer TOKEN` on every request.
    pub fn require_bearer(&self, token: &str) {
        self.state.lock().unwrap().bearer = Some(token.to_string());
    }
}

impl ApiState {
    /// Drops every queued fault (the outage is over).
    pub fn clear_faults(&mut self) {
        self.faults.clear();
    }

    fn tick(&mut self) -> String {
        self.clock += 1;
        format!(
            "2026-01-01T{:02}:{:02}:{:02}Z",
            self.clock / 3600 % 24,
            self.clock / 60 % 60,
            self.clock % 60
        )
    }

    fn change(&mut self, id: i64, field: &str, value: &str) {
        let at = self.tick();
        let r = self.records.get_mut(&id).expect("record exists");
        r[field] = Json::from(value);
        let v = r["version"].as_i64().unwrap_or(0) + 1;
        r["version"] = Json::from(v);
        r["updated_at"] = Json::from(at);
    }

    fn take_fault(&mut self, method: &str, path: &str) -> Option<FaultKind> {
        let f = self
            .faults
            .iter_mut()
            .find(|f| f.times > 0 && f.method == method && path.contains(&f.path_contains))?;
        f.times -= 1;
        Some(f.kind.clone())
    }

    fn effect(&mut self, id: i64) {
        let code = self.records[&id]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        *self.effects.entry(code).or_default() += 1;
    }
}

fn error(status: u16, message: &str) -> Answer {
    let mut a = answer(status, json!({"errors": [{"message": message}]}));
    a.headers
        .push(("x-request-id".into(), "req-test-42".into()));
    a
}

fn reset(conn: TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a socket we own, with a properly sized struct.
    unsafe {
        libc::setsockopt(
            conn.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(conn);
}

fn serve(conn: TcpStream, state: &Mutex<ApiState>) {
    let Some((req, raw)) = read_request(&conn) else {
        return;
    };
    let fault = {
        let mut s = state.lock().unwrap();
        let q: Vec<String> = req.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        s.requests
            .push(format!("{} {}?{}", req.method, req.path, q.join("&")));
        s.raw.push(raw);
        s.take_fault(&req.method, &req.path)
    };
    if req.method == "POST" && req.path == "/oauth/token" {
        // Client credentials, form-encoded: the secret must match.
        let login = state.lock().unwrap().login.clone();
        let form = String::from_utf8_lossy(&req.body).into_owned();
        let secret = form
            .split('&')
            .find_map(|p| p.strip_prefix("client_secret="))
            .map(decode)
            .unwrap_or_default();
        let a = match login {
            Some((pw, token)) if secret == pw && form.contains("grant_type=client_credentials") => {
                answer(200, json!({"access_token": token, "expires_in": 3600}))
            }
            _ => {
                // A careless server: it echoes the form.
                let mut a = answer(
                    401,
                    json!({"error": "invalid_client", "error_description": format!("bad credentials in {form}")}),
                );
                a.headers.push(("x-request-id".into(), "req-oauth".into()));
                a
            }
        };
        write_answer(&conn, &a);
        return;
    }
    if req.method == "POST" && req.path == "/auth/login" {
        let login = state.lock().unwrap().login.clone();
        let body: Json = serde_json::from_slice(&req.body).unwrap_or(Json::Null);
        let a = match login {
            Some((pw, token)) if body["password"] == pw.as_str() => {
                answer(200, json!({"data": {"access_token": token}}))
            }
            _ => error(401, "Invalid user credentials."),
        };
        write_answer(&conn, &a);
        return;
    }
    if let Some(token) = state.lock().unwrap().bearer.clone()
        && req.headers.get("authorization") != Some(&format!("Bearer {token}"))
    {
        // A careless server: it echoes what it got.
        let q: Vec<String> = req.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let echo = format!(
            "Invalid user credentials for {}?{} (authorization: {:?}, x-api-key: {:?})",
            req.path,
            q.join("&"),
            req.headers.get("authorization"),
            req.headers.get("x-api-key")
        );
        write_answer(&conn, &error(401, &echo));
        return;
    }
    match fault {
        Some(FaultKind::Status {
            status,
            retry_after,
            body,
        }) => {
            let mut a = Answer {
                status,
                headers: vec![("x-request-id".into(), format!("req-fault-{status}"))],
                body,
            };
            if let Some(r) = retry_after {
                a.headers.push(("retry-after".into(), r));
            }
            write_answer(&conn, &a);
        }
        Some(FaultKind::Reset) => reset(conn),
        Some(FaultKind::Stall(d)) => {
            std::thread::sleep(d);
            let a = route(&req, state, None);
            write_answer(&conn, &a);
        }
        Some(FaultKind::ApplyThenFail(status)) => {
            route(&req, state, None);
            write_answer(&conn, &error(status, "the gateway lost the answer"));
        }
        Some(FaultKind::ApplyThenReset) => {
            route(&req, state, None);
            reset(conn);
        }
        Some(FaultKind::GoneNoContent) => {
            let id: i64 = req
                .path
                .rsplit('/')
                .next()
                .and_then(|i| i.parse().ok())
                .unwrap_or(-1);
            state.lock().unwrap().records.remove(&id);
            write_answer(&conn, &answer(204, Json::Null));
        }
        Some(FaultKind::Malformed) => {
            write_answer(
                &conn,
                &Answer {
                    status: 200,
                    headers: vec![],
                    body: r#"{"data": [{"id": 1, "code": "#.into(),
                },
            );
        }
        Some(k @ (FaultKind::RepeatCursor | FaultKind::ChangeAfter { .. })) => {
            let a = route(&req, state, Some(&k));
            write_answer(&conn, &a);
        }
        None => {
            let a = route(&req, state, None);
            write_answer(&conn, &a);
        }
    }
}

fn etag(r: &Json) -> String {
    format!("\"v{}\"", r["version"])
}

fn route(req: &Req, state: &Mutex<ApiState>, fault: Option<&FaultKind>) -> Answer {
    let mut s = state.lock().unwrap();
    let parts: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    let body: Json = if req.body.is_empty() {
        Json::Null
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(b) => b,
            Err(e) => return error(400, &format!("invalid JSON body: {e}")),
        }
    };
    match (req.method.as_str(), parts.as_slice()) {
        ("GET", ["items"]) => {
            let mut all: Vec<Json> = s.records.values().cloned().collect();
            if let Some(code) = req.query.get("code") {
                all.retain(|r| r["code"] == code.as_str());
            }
            if let Some(since) = req.query.get("updated_gte") {
                all.retain(|r| r["updated_at"].as_str().unwrap_or("") >= since.as_str());
            }
            let limit: usize = req
                .query
                .get("limit")
                .and_then(|v| v.parse().ok())
                .unwrap_or(usize::MAX);
            let cursor = req.query.get("cursor").cloned();
            let page_no: Option<usize> = req.query.get("page").and_then(|p| p.parse().ok());
            let per_page: Option<usize> = req.query.get("per_page").and_then(|p| p.parse().ok());
            let limit = per_page.unwrap_or(limit);
            let offset: usize = match (&cursor, req.query.get("offset"), page_no) {
                (Some(c), _, _) => c.trim_start_matches('c').parse().unwrap_or(0),
                (None, Some(o), _) => o.parse().unwrap_or(0),
                (None, None, Some(p)) => p.saturating_sub(1) * limit,
                _ => 0,
            };
            let page: Vec<Json> = all.iter().skip(offset).take(limit).cloned().collect();
            if let Some(FaultKind::ChangeAfter { field, value }) = fault {
                for r in &page {
                    s.change(r["id"].as_i64().unwrap_or(0), field, value);
                }
            }
            let end = offset + page.len();
            let next = if matches!(fault, Some(FaultKind::RepeatCursor)) {
                Json::from(cursor.unwrap_or_else(|| "c0".into()))
            } else if end < all.len() {
                Json::from(format!("c{end}"))
            } else {
                Json::Null
            };
            let mut a = answer(200, json!({"data": page, "next": next}));
            if let Some(size) = per_page
                && end < all.len()
            {
                // A relative link, as many APIs give.
                let p = page_no.unwrap_or(1) + 1;
                a.headers.push((
                    "link".into(),
                    format!("</items?page={p}&per_page={size}>; rel=\"next\""),
                ));
            }
            a
        }
        ("GET", ["items", id]) => {
            let id: i64 = id.parse().unwrap_or(-1);
            let Some(r) = s.records.get(&id).cloned() else {
                return error(404, &format!("item {id} not found"));
            };
            if let Some(FaultKind::ChangeAfter { field, value }) = fault {
                s.change(id, field, value);
            }
            let mut a = answer(200, json!({"data": r}));
            a.headers.push(("etag".into(), etag(&r)));
            a
        }
        ("POST", ["items"]) if body.is_array() => {
            // A batch: all or nothing.
            let items = body.as_array().cloned().unwrap_or_default();
            for item in &items {
                if item["name"].as_str().unwrap_or("").is_empty() {
                    return error(422, "name is required");
                }
                let code = item["code"].as_str().unwrap_or("");
                if !code.is_empty() && s.records.values().any(|r| r["code"] == code) {
                    return error(409, &format!("code {code} already exists"));
                }
            }
            let mut out = vec![];
            for item in items {
                let id = s.next_id;
                s.next_id += 1;
                let at = s.tick();
                let mut r = json!({"id": id, "version": 1, "updated_at": at});
                for (k, v) in item.as_object().into_iter().flatten() {
                    if !["id", "version", "updated_at"].contains(&k.as_str()) {
                        r[k] = v.clone();
                    }
                }
                s.records.insert(id, r.clone());
                s.effect(id);
                out.push(r);
            }
            answer(200, json!({"data": out}))
        }
        ("POST", ["items"]) => {
            let name = body["name"].as_str().unwrap_or("");
            if name.is_empty() {
                return error(422, "name is required");
            }
            let code = body["code"].as_str().unwrap_or("").to_string();
            if !code.is_empty() && s.records.values().any(|r| r["code"] == code.as_str()) {
                return error(409, &format!("code {code} already exists"));
            }
            let id = s.next_id;
            s.next_id += 1;
            let at = s.tick();
            let mut r = json!({"id": id, "version": 1, "updated_at": at});
            for (k, v) in body.as_object().into_iter().flatten() {
                if !["id", "version", "updated_at"].contains(&k.as_str()) {
                    r[k] = v.clone();
                }
            }
            s.records.insert(id, r.clone());
            s.effect(id);
            answer(201, json!({"data": r}))
        }
        ("PATCH", ["items"]) => {
            // A filtered update: {"filter": {...}, "data": {...}}.
            let filter = body["filter"].as_object().cloned().unwrap_or_default();
            let ids: Vec<i64> = s
                .records
                .iter()
                .filter(|(_, r)| filter.iter().all(|(k, v)| &r[k] == v))
                .map(|(id, _)| *id)
                .collect();
            let mut out = vec![];
            for id in ids {
                apply(&mut s, id, &body["data"]);
                out.push(s.records[&id].clone());
            }
            answer(200, json!({"data": out}))
        }
        ("PATCH", ["items", id]) => {
            let id: i64 = id.parse().unwrap_or(-1);
            let Some(r) = s.records.get(&id).cloned() else {
                return error(404, &format!("item {id} not found"));
            };
            if let Some(m) = req.headers.get("if-match")
                && *m != etag(&r)
            {
                return error(412, "the item changed (ETag mismatch)");
            }
            if !body["version"].is_null() && body["version"] != r["version"] {
                return error(409, "stale version");
            }
            if body.get("name").is_some_and(|n| n.is_null() || n == "") {
                return error(422, "name must not be empty");
            }
            apply(&mut s, id, &body);
            let r = s.records[&id].clone();
            let mut a = answer(200, json!({"data": r}));
            a.headers.push(("etag".into(), etag(&r)));
            a
        }
        ("DELETE", ["items", id]) => {
            let id: i64 = id.parse().unwrap_or(-1);
            let Some(r) = s.records.get(&id).cloned() else {
                return error(404, &format!("item {id} not found"));
            };
            if let Some(m) = req.headers.get("if-match")
                && *m != etag(&r)
            {
                return error(412, "the item changed (ETag mismatch)");
            }
            s.effect(id);
            s.records.remove(&id);
            answer(204, Json::Null)
        }
        _ => error(404, &format!("no route {} {}", req.method, req.path)),
    }
}

fn apply(s: &mut ApiState, id: i64, data: &Json) {
    let at = s.tick();
    let r = s.records.get_mut(&id).expect("exists");
    for (k, v) in data.as_object().into_iter().flatten() {
        if !["id", "version", "updated_at"].contains(&k.as_str()) {
            r[k] = v.clone();
        }
    }
    let v = r["version"].as_i64().unwrap_or(0) + 1;
    r["version"] = Json::from(v);
    r["updated_at"] = Json::from(at);
    s.effect(id);
}
