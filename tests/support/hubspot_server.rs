//! A local server that behaves as HubSpot's CRM v3 objects API documents
//! it, for the HubSpot preset tests: contacts and companies with `id`,
//! `properties{}` (values as strings), `createdAt`, `updatedAt`;
//! `after`-cursor paging (`paging.next.after`, at most 100 a page);
//! single get (by id or `idProperty`), create, update, archive; batch
//! read / create / update of at most 100 inputs (207 with `errors[]` for
//! missing records); search with `filterGroups` on `lastmodifieddate`; a
//! private-app bearer token; the error body
//! `{"status":"error","message","correlationId","category"}`; 429 with
//! `Retry-After` and the `X-HubSpot-RateLimit-*` headers on demand.
//!
//! Every applied write is counted per record (its effects). One request
//! per connection, a thread per connection: simple and plenty for tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value as Json, json};

use crate::support::wire::{Answer, Req, answer, decode, read_request, write_answer};

/// The properties each object knows (writing another is a validation error).
fn known(object: &str) -> &'static [&'static str] {
    match object {
        "contacts" => &[
            "email",
            "firstname",
            "lastname",
            "phone",
            "company",
            "hs_object_id",
            "createdate",
            "lastmodifieddate",
        ],
        "companies" => &[
            "name",
            "domain",
            "city",
            "phone",
            "hs_object_id",
            "createdate",
            "lastmodifieddate",
        ],
        _ => &[],
    }
}

/// Properties HubSpot returns when none are asked for.
fn defaults(object: &str) -> &'static [&'static str] {
    match object {
        "contacts" => &[
            "email",
            "firstname",
            "lastname",
            "createdate",
            "lastmodifieddate",
            "hs_object_id",
        ],
        _ => &["name", "domain", "createdate", "hs_object_id"],
    }
}

/// One CRM record.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: u64,
    pub properties: BTreeMap<String, String>,
    pub created_at: String,
    pub updated_at: String,
}

/// The server's data and counters.
#[derive(Debug, Default)]
pub struct HubState {
    /// Records by object type, then id.
    pub objects: BTreeMap<String, BTreeMap<u64, Record>>,
    next_id: u64,
    clock: u64,
    correlation: u64,
    /// Applied writes per `object/id`.
    pub effects: BTreeMap<String, u32>,
    /// Every request: `METHOD /path?query` (query sorted).
    pub requests: Vec<String>,
    /// Inputs per batch write request received, in order.
    pub batch_sizes: Vec<usize>,
    /// The next requests matching (method, path part) answer 429.
    rate_limited: Vec<(String, String, u32, String)>,
    /// The token every request must carry.
    pub token: String,
    /// The most results one search query pages through (HubSpot: 10,000):
    /// a page past it is refused with a 400.
    pub search_cap: usize,
    /// Searches allowed per second (HubSpot documents 5 per second per
    /// account; `None`: no limit): past it a 429.
    pub search_per_second: Option<usize>,
    /// When the searches within the last second arrived.
    search_arrivals: std::collections::VecDeque<std::time::Instant>,
    /// Searches answered 429 for the per-second limit.
    pub search_429s: u32,
    /// The filters of every search received, in order.
    pub search_filters: Vec<Json>,
}

/// The running server; stopped when dropped.
pub struct HubspotServer {
    pub url: String,
    pub port: u16,
    pub state: Arc<Mutex<HubState>>,
    stop: Arc<AtomicBool>,
}

impl Drop for HubspotServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

impl HubspotServer {
    /// Starts an empty CRM on a free local port, requiring `token`.
    pub fn start(token: &str) -> HubspotServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(HubState {
            next_id: 501,
            token: token.to_string(),
            search_cap: 10_000,
            search_per_second: Some(5),
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
        HubspotServer {
            url: format!("http://127.0.0.1:{port}"),
            port,
            state,
            stop,
        }
    }

    /// Adds a record of `object` with these properties; returns its id.
    pub fn seed(&self, object: &str, props: &[(&str, &str)]) -> u64 {
        let mut s = self.state.lock().unwrap();
        let props = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        s.insert(object, props)
    }

    /// The record of `object` whose `prop` is `value`.
    pub fn find(&self, object: &str, prop: &str, value: &str) -> Option<Record> {
        let s = self.state.lock().unwrap();
        s.objects
            .get(object)?
            .values()
            .find(|r| r.properties.get(prop).map(String::as_str) == Some(value))
            .cloned()
    }

    /// Changes a property as someone else would (the change time moves).
    pub fn edit(&self, object: &str, id: u64, prop: &str, value: &str) {
        let mut s = self.state.lock().unwrap();
        let at = s.tick();
        let r = s
            .objects
            .get_mut(object)
            .and_then(|o| o.get_mut(&id))
            .expect("record exists");
        r.properties.insert(prop.into(), value.into());
        r.properties.insert("lastmodifieddate".into(), at.clone());
        r.updated_at = at;
    }

    /// Sets `prop` of every record of `object` to `value(i)` (i from 0, by
    /// id), as a bulk edit would: `per_tick` records share each change time.
    pub fn edit_all(
        &self,
        object: &str,
        prop: &str,
        per_tick: usize,
        value: impl Fn(usize) -> String,
    ) -> usize {
        let mut s = self.state.lock().unwrap();
        let ids: Vec<u64> = s
            .objects
            .get(object)
            .map(|o| o.keys().copied().collect())
            .unwrap_or_default();
        let mut at = String::new();
        for (i, id) in ids.iter().enumerate() {
            if i % per_tick.max(1) == 0 {
                at = s.tick();
            }
            let r = s.objects.get_mut(object).unwrap().get_mut(id).unwrap();
            r.properties.insert(prop.into(), value(i));
            r.properties.insert("lastmodifieddate".into(), at.clone());
            r.updated_at = at.clone();
        }
        ids.len()
    }

    /// Archives a record as someone else would.
    pub fn remove(&self, object: &str, id: u64) {
        let mut s = self.state.lock().unwrap();
        s.objects.get_mut(object).and_then(|o| o.remove(&id));
    }

    /// The next `times` requests whose method is `method` and whose path
    /// contains `path` answer 429 with `Retry-After: retry_after`.
    pub fn rate_limit(&self, method: &str, path: &str, times: u32, retry_after: &str) {
        self.state.lock().unwrap().rate_limited.push((
            method.into(),
            path.into(),
            times,
            retry_after.into(),
        ));
    }

    /// Applied writes to `object/id`.
    pub fn effects(&self, object: &str, id: u64) -> u32 {
        let s = self.state.lock().unwrap();
        s.effects
            .get(&format!("{object}/{id}"))
            .copied()
            .unwrap_or(0)
    }

    /// All applied writes.
    pub fn total_effects(&self) -> u32 {
        self.state.lock().unwrap().effects.values().sum()
    }

    /// Requests received.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }
}

impl HubState {
    fn tick(&mut self) -> String {
        self.clock += 1;
        format!(
            "2026-01-01T{:02}:{:02}:{:02}.000Z",
            self.clock / 3600 % 24,
            self.clock / 60 % 60,
            self.clock % 60
        )
    }

    fn insert(&mut self, object: &str, mut props: BTreeMap<String, String>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let at = self.tick();
        props.insert("hs_object_id".into(), id.to_string());
        props.insert("createdate".into(), at.clone());
        props.insert("lastmodifieddate".into(), at.clone());
        self.objects.entry(object.into()).or_default().insert(
            id,
            Record {
                id,
                properties: props,
                created_at: at.clone(),
                updated_at: at,
            },
        );
        id
    }

    fn correlation_id(&mut self) -> String {
        self.correlation += 1;
        format!("c0ffee00-0000-4000-8000-{:012}", self.correlation)
    }

    fn effect(&mut self, object: &str, id: u64) {
        *self.effects.entry(format!("{object}/{id}")).or_default() += 1;
    }

    /// The id of the record `key` names: its id, or its `id_property` value.
    fn resolve(&self, object: &str, key: &str, id_property: Option<&str>) -> Option<u64> {
        let records = self.objects.get(object)?;
        match id_property {
            Some(p) if p != "hs_object_id" => records
                .values()
                .find(|r| r.properties.get(p).map(String::as_str) == Some(key))
                .map(|r| r.id),
            _ => key.parse().ok().filter(|id| records.contains_key(id)),
        }
    }

    /// A record as HubSpot shows it, with the properties asked for.
    fn show(&self, object: &str, id: u64, props: Option<&[String]>) -> Json {
        let r = &self.objects[object][&id];
        let mut shown = serde_json::Map::new();
        let asked: Vec<String> = match props {
            Some(p) if !p.is_empty() => p.to_vec(),
            _ => defaults(object).iter().map(|s| s.to_string()).collect(),
        };
        for p in asked.iter().map(String::as_str).chain([
            "hs_object_id",
            "createdate",
            "lastmodifieddate",
        ]) {
            if known(object).contains(&p) {
                shown.insert(
                    p.to_string(),
                    r.properties
                        .get(p)
                        .map_or(Json::Null, |v| Json::from(v.as_str())),
                );
            }
        }
        json!({
            "id": id.to_string(),
            "properties": shown,
            "createdAt": r.created_at,
            "updatedAt": r.updated_at,
            "archived": false,
        })
    }

    /// Applies `properties` to a record (or checks them, when `apply` is
    /// false): an unknown or read-only property is a validation error.
    fn check_properties(&self, object: &str, props: &Json) -> Result<(), String> {
        let Some(map) = props.as_object() else {
            return Err("properties must be an object".into());
        };
        for (k, v) in map {
            if !known(object).contains(&k.as_str()) {
                return Err(format!(
                    "Property values were not valid: [{{\"isValid\":false,\"message\":\"Property \\\"{k}\\\" does not exist\",\"error\":\"PROPERTY_DOESNT_EXIST\",\"name\":\"{k}\"}}]"
                ));
            }
            if matches!(
                k.as_str(),
                "hs_object_id" | "createdate" | "lastmodifieddate"
            ) {
                return Err(format!(
                    "Property values were not valid: [{{\"isValid\":false,\"message\":\"\\\"{k}\\\" is a read only property; its value cannot be set.\",\"error\":\"READ_ONLY_VALUE\",\"name\":\"{k}\"}}]"
                ));
            }
            if !(v.is_string() || v.is_number() || v.is_boolean() || v.is_null()) {
                return Err(format!(
                    "Property values were not valid: {k} is not a scalar"
                ));
            }
            if object == "contacts" && k == "email" && v.as_str().is_some_and(|e| !e.contains('@'))
            {
                return Err(format!(
                    "Property values were not valid: [{{\"isValid\":false,\"message\":\"Email address {} is invalid\",\"error\":\"INVALID_EMAIL\",\"name\":\"email\"}}]",
                    v.as_str().unwrap_or_default()
                ));
            }
        }
        Ok(())
    }

    fn apply(&mut self, object: &str, id: u64, props: &Json) {
        let at = self.tick();
        let r = self
            .objects
            .get_mut(object)
            .and_then(|o| o.get_mut(&id))
            .expect("record exists");
        for (k, v) in props.as_object().into_iter().flatten() {
            let text = match v {
                Json::String(s) => s.clone(),
                Json::Null => String::new(),
                other => other.to_string(),
            };
            if text.is_empty() {
                r.properties.remove(k);
            } else {
                r.properties.insert(k.clone(), text);
            }
        }
        r.properties.insert("lastmodifieddate".into(), at.clone());
        r.updated_at = at;
        self.effect(object, id);
    }
}

fn error(s: &mut HubState, status: u16, category: &str, message: &str) -> Answer {
    let id = s.correlation_id();
    answer(
        status,
        json!({"status": "error", "message": message, "correlationId": id, "category": category}),
    )
}

/// HubSpot's rate-limit headers (a private app: 100 per 10 seconds).
fn rate_headers(remaining: u32) -> Vec<(String, String)> {
    vec![
        ("X-HubSpot-RateLimit-Daily".into(), "250000".into()),
        (
            "X-HubSpot-RateLimit-Daily-Remaining".into(),
            "249000".into(),
        ),
        (
            "X-HubSpot-RateLimit-Interval-Milliseconds".into(),
            "10000".into(),
        ),
        ("X-HubSpot-RateLimit-Max".into(), "100".into()),
        (
            "X-HubSpot-RateLimit-Remaining".into(),
            remaining.to_string(),
        ),
    ]
}

fn serve(conn: TcpStream, state: &Mutex<HubState>) {
    let Some((mut req, _)) = read_request(&conn) else {
        return;
    };
    req.path = decode(&req.path);
    let mut s = state.lock().unwrap();
    let q: Vec<String> = req.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    s.requests
        .push(format!("{} {}?{}", req.method, req.path, q.join("&")));
    let mut a = if req.headers.get("authorization") != Some(&format!("Bearer {}", s.token)) {
        error(
            &mut s,
            401,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        )
    } else if req.method == "POST"
        && req.path.ends_with("/search")
        && let Some(per_second) = s.search_per_second
        && {
            let now = std::time::Instant::now();
            while s
                .search_arrivals
                .front()
                .is_some_and(|t| now.duration_since(*t) >= std::time::Duration::from_secs(1))
            {
                s.search_arrivals.pop_front();
            }
            s.search_arrivals.push_back(now);
            s.search_arrivals.len() > per_second
        }
    {
        // HubSpot's per-second limit of the search endpoints.
        s.search_429s += 1;
        let id = s.correlation_id();
        let mut a = answer(
            429,
            json!({
                "status": "error",
                "message": "You have reached your secondly limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": id,
                "policyName": "SECONDLY",
                "category": "RATE_LIMITS",
            }),
        );
        a.headers = rate_headers(0);
        a
    } else if let Some(limit) = s
        .rate_limited
        .iter_mut()
        .find(|(m, p, n, _)| *n > 0 && *m == req.method && req.path.contains(p.as_str()))
    {
        limit.2 -= 1;
        let retry = limit.3.clone();
        let id = s.correlation_id();
        let mut a = answer(
            429,
            json!({
                "status": "error",
                "message": "You have reached your ten_secondly_rolling limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": id,
                "policyName": "TEN_SECONDLY_ROLLING",
                "category": "RATE_LIMITS",
            }),
        );
        a.headers = rate_headers(0);
        a.headers.push(("Retry-After".into(), retry));
        a
    } else {
        let mut a = route(&req, &mut s);
        a.headers.extend(rate_headers(99));
        a
    };
    let id = s.correlation_id();
    drop(s);
    a.headers.push(("x-hubspot-correlation-id".into(), id));
    write_answer(&conn, &a);
}

fn route(req: &Req, s: &mut HubState) -> Answer {
    let parts: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    let body: Json = if req.body.is_empty() {
        Json::Null
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(b) => b,
            Err(e) => {
                return error(
                    s,
                    400,
                    "VALIDATION_ERROR",
                    &format!("Invalid input JSON: {e}"),
                );
            }
        }
    };
    match (req.method.as_str(), parts.as_slice()) {
        ("GET", ["crm", "v3", "objects", object]) => list(req, s, object),
        ("POST", ["crm", "v3", "objects", object]) => create_one(s, object, &body),
        ("GET", ["crm", "v3", "objects", object, key]) => {
            let props = props_param(req);
            match s.resolve(object, key, req.query.get("idProperty").map(String::as_str)) {
                Some(id) => answer(200, s.show(object, id, props.as_deref())),
                None => error(s, 404, "OBJECT_NOT_FOUND", "resource not found"),
            }
        }
        ("PATCH", ["crm", "v3", "objects", object, key]) => {
            let Some(id) = s.resolve(object, key, req.query.get("idProperty").map(String::as_str))
            else {
                return error(s, 404, "OBJECT_NOT_FOUND", "resource not found");
            };
            if let Err(m) = s.check_properties(object, &body["properties"]) {
                return error(s, 400, "VALIDATION_ERROR", &m);
            }
            s.apply(object, id, &body["properties"]);
            answer(200, s.show(object, id, None))
        }
        ("DELETE", ["crm", "v3", "objects", object, key]) => {
            if let Some(id) = s.resolve(object, key, None) {
                s.objects.get_mut(*object).unwrap().remove(&id);
                s.effect(object, id);
            }
            answer(204, Json::Null)
        }
        ("POST", ["crm", "v3", "objects", object, "batch", op]) => batch(s, object, op, &body),
        ("POST", ["crm", "v3", "objects", object, "search"]) => search(s, object, &body),
        _ => error(s, 404, "OBJECT_NOT_FOUND", "resource not found"),
    }
}

fn props_param(req: &Req) -> Option<Vec<String>> {
    req.query
        .get("properties")
        .map(|p| p.split(',').map(str::to_string).collect())
}

fn list(req: &Req, s: &mut HubState, object: &str) -> Answer {
    let limit: usize = match req.query.get("limit").map(|l| l.parse::<usize>()) {
        None => 10,
        Some(Ok(l)) if (1..=100).contains(&l) => l,
        Some(_) => {
            return error(
                s,
                400,
                "VALIDATION_ERROR",
                "limit must be between 1 and 100",
            );
        }
    };
    let after: u64 = match req.query.get("after").map(|a| a.parse::<u64>()) {
        None => 0,
        Some(Ok(a)) => a,
        Some(Err(_)) => {
            return error(
                s,
                400,
                "VALIDATION_ERROR",
                "after is not a valid paging cursor",
            );
        }
    };
    let props = props_param(req);
    let ids: Vec<u64> = s
        .objects
        .get(object)
        .map(|o| o.keys().copied().filter(|id| *id >= after).collect())
        .unwrap_or_default();
    let page: Vec<Json> = ids
        .iter()
        .take(limit)
        .map(|id| s.show(object, *id, props.as_deref()))
        .collect();
    let mut out = json!({"results": page});
    if let Some(next) = ids.get(limit) {
        out["paging"] = json!({"next": {
            "after": next.to_string(),
            "link": format!("https://api.hubapi.com/crm/v3/objects/{object}?after={next}"),
        }});
    }
    answer(200, out)
}

fn create_one(s: &mut HubState, object: &str, body: &Json) -> Answer {
    if let Err(m) = s.check_properties(object, &body["properties"]) {
        return error(s, 400, "VALIDATION_ERROR", &m);
    }
    if let Some(a) = duplicate(s, object, &body["properties"]) {
        return a;
    }
    let id = s.insert(object, BTreeMap::new());
    s.apply(object, id, &body["properties"]);
    answer(201, s.show(object, id, None))
}

/// A contact with this e-mail already exists: HubSpot's 409.
fn duplicate(s: &mut HubState, object: &str, props: &Json) -> Option<Answer> {
    let email = props.get("email")?.as_str()?;
    let existing = s
        .objects
        .get(object)?
        .values()
        .find(|r| r.properties.get("email").map(String::as_str) == Some(email))?
        .id;
    Some(error(
        s,
        409,
        "CONFLICT",
        &format!("Contact already exists. Existing ID: {existing}"),
    ))
}

fn batch(s: &mut HubState, object: &str, op: &str, body: &Json) -> Answer {
    let Some(inputs) = body["inputs"].as_array() else {
        return error(s, 400, "VALIDATION_ERROR", "inputs is required");
    };
    if inputs.len() > 100 {
        return error(
            s,
            400,
            "VALIDATION_ERROR",
            &format!("Too many inputs: {} (the limit is 100)", inputs.len()),
        );
    }
    let started = s.tick();
    let mut results = Vec::new();
    let mut missing = Vec::new();
    match op {
        "read" => {
            let props: Option<Vec<String>> = body["properties"].as_array().map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect()
            });
            let id_property = body["idProperty"].as_str();
            for input in inputs {
                let key = input["id"].as_str().unwrap_or_default();
                match s.resolve(object, key, id_property) {
                    Some(id) => results.push(s.show(object, id, props.as_deref())),
                    None => missing.push(key.to_string()),
                }
            }
        }
        "update" => {
            // Checked first: a refused batch applies nothing.
            let mut targets = Vec::new();
            for input in inputs {
                if let Err(m) = s.check_properties(object, &input["properties"]) {
                    return error(s, 400, "VALIDATION_ERROR", &m);
                }
                let key = input["id"].as_str().unwrap_or_default();
                match s.resolve(object, key, input["idProperty"].as_str()) {
                    Some(id) => targets.push((id, input["properties"].clone())),
                    None => missing.push(key.to_string()),
                }
            }
            s.batch_sizes.push(inputs.len());
            for (id, props) in targets {
                s.apply(object, id, &props);
                results.push(s.show(object, id, None));
            }
        }
        "create" => {
            for input in inputs {
                if let Err(m) = s.check_properties(object, &input["properties"]) {
                    return error(s, 400, "VALIDATION_ERROR", &m);
                }
                if let Some(a) = duplicate(s, object, &input["properties"]) {
                    return a;
                }
            }
            s.batch_sizes.push(inputs.len());
            for input in inputs {
                let id = s.insert(object, BTreeMap::new());
                s.apply(object, id, &input["properties"]);
                results.push(s.show(object, id, None));
            }
        }
        _ => return error(s, 404, "OBJECT_NOT_FOUND", "resource not found"),
    }
    let done = s.tick();
    let mut out = json!({
        "status": "COMPLETE",
        "results": results,
        "requestedAt": started,
        "startedAt": started,
        "completedAt": done,
    });
    if missing.is_empty() {
        return answer(if op == "create" { 201 } else { 200 }, out);
    }
    let cid = s.correlation_id();
    out["numErrors"] = json!(1);
    out["errors"] = json!([{
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": format!("Could not get some {} objects, they may be deleted or not exist. Check that ids are valid.", object.trim_end_matches('s').to_uppercase()),
        "context": {"ids": missing},
        "errors": [],
        "links": {},
        "id": cid,
    }]);
    answer(207, out)
}

fn search(s: &mut HubState, object: &str, body: &Json) -> Answer {
    let limit = body["limit"].as_u64().unwrap_or(10).clamp(1, 200) as usize;
    let after: usize = body["after"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let props: Option<Vec<String>> = body["properties"].as_array().map(|a| {
        a.iter()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect()
    });
    let filters: Vec<(String, String, String)> = body["filterGroups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["filters"].as_array().cloned().unwrap_or_default())
        .map(|f| {
            (
                f["propertyName"].as_str().unwrap_or_default().to_string(),
                f["operator"].as_str().unwrap_or_default().to_string(),
                f["value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    s.search_filters.push(body["filterGroups"].clone());
    if after >= s.search_cap {
        // HubSpot pages through at most 10,000 results of one query.
        let cap = s.search_cap;
        return error(
            s,
            400,
            "VALIDATION_ERROR",
            &format!(
                "There was a problem with the request: a search pages through at most {cap} \
                 results (after={after})."
            ),
        );
    }
    let Some(records) = s.objects.get(object) else {
        return answer(200, json!({"total": 0, "results": []}));
    };
    let mut hits: Vec<&Record> = records
        .values()
        .filter(|r| {
            filters.iter().all(|(p, op, v)| {
                let have = r.properties.get(p).cloned().unwrap_or_default();
                // Dates are compared as milliseconds, as HubSpot takes them.
                let (have, v) = match (
                    v.parse::<i64>(),
                    chrono::DateTime::parse_from_rfc3339(&have),
                ) {
                    (Ok(ms), Ok(at)) => (
                        format!("{:020}", at.timestamp_millis()),
                        format!("{ms:020}"),
                    ),
                    _ => (have, v.clone()),
                };
                match op.as_str() {
                    "GTE" => have >= v,
                    "GT" => have > v,
                    "LTE" => have <= v,
                    "EQ" => have == v,
                    _ => false,
                }
            })
        })
        .collect();
    hits.sort_by(|a, b| {
        a.properties
            .get("lastmodifieddate")
            .cmp(&b.properties.get("lastmodifieddate"))
            .then(a.id.cmp(&b.id))
    });
    let total = hits.len();
    let ids: Vec<u64> = hits.iter().map(|r| r.id).collect();
    let page: Vec<Json> = ids
        .iter()
        .skip(after)
        .take(limit.min(s.search_cap - after))
        .map(|id| s.show(object, *id, props.as_deref()))
        .collect();
    let mut out = json!({"total": total, "results": page});
    if after + limit < total {
        out["paging"] = json!({"next": {"after": (after + limit).to_string()}});
    }
    answer(200, out)
}
