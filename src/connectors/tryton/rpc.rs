//! Tryton's JSON-RPC: `POST /DB/rpc/` with `{"id","method","params"}`, the
//! last parameter always the context. Login with
//! `common.db.login [user, {"password"}, lang]` gives `[user_id, session,
//! …]`; later calls carry `Authorization: Session base64(user:id:session)`.
//! A session that expired (HTTP 401) is renewed by logging in once again.
//!
//! Errors come two ways: HTTP 200 with an `error` member
//! (`["UserError", [message, description, domain]]`,
//! `["ConcurrencyException", message]`, …), or an HTTP status with an HTML
//! page (401, 403, 404, 429, 5xx). Each becomes a [`RpcError`] of one
//! [`Kind`], with Tryton's own message and never the password or session.
//!
//! The HTTP exchange itself is the one function [`RpcClient::post`]
//! (blocking `reqwest`, gzip on): the only place to change to move onto the
//! shared HTTP foundation.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::error::{Error, ErrorCode};

/// The category of a failed call (the same categories as every HTTP system).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The credentials were refused.
    Auth,
    /// The user may not do this (HTTP 403, an access error).
    Permission,
    /// The database, model or record does not exist.
    NotFound,
    /// Tryton refused the values (`UserError`, `UserWarning`).
    Validation,
    /// The record changed since it was read (`ConcurrencyException`).
    Conflict,
    /// Too many login attempts (HTTP 429).
    RateLimit,
    /// A passing failure (HTTP 5xx, 408, a database lock).
    Transient,
    /// The server could not be reached or the connection broke.
    Network,
    /// An answer we cannot use (not JSON, an unexpected shape).
    Protocol,
}

impl Kind {
    /// The name used in messages and docs.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Auth => "auth",
            Kind::Permission => "permission",
            Kind::NotFound => "not_found",
            Kind::Validation => "validation",
            Kind::Conflict => "conflict",
            Kind::RateLimit => "rate_limit",
            Kind::Transient => "transient",
            Kind::Network => "network",
            Kind::Protocol => "protocol",
        }
    }

    /// The crate's error code (no `permission`, `conflict` or `protocol`
    /// code there: they file under auth, validation and system).
    pub fn code(self) -> ErrorCode {
        match self {
            Kind::Auth | Kind::Permission => ErrorCode::Auth,
            Kind::NotFound => ErrorCode::NotFound,
            Kind::Validation | Kind::Conflict => ErrorCode::Validation,
            Kind::RateLimit => ErrorCode::RateLimit,
            Kind::Transient => ErrorCode::Transient,
            Kind::Network => ErrorCode::Network,
            Kind::Protocol => ErrorCode::System,
        }
    }

    fn of_status(status: u16) -> Kind {
        match status {
            401 => Kind::Auth,
            403 => Kind::Permission,
            404 | 410 => Kind::NotFound,
            409 | 412 => Kind::Conflict,
            429 => Kind::RateLimit,
            400..=499 if status != 408 => Kind::Validation,
            _ => Kind::Transient,
        }
    }
}

/// One failed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    /// The category.
    pub kind: Kind,
    /// The RPC method called.
    pub method: String,
    /// The HTTP status, when the server answered with one other than 200.
    pub status: Option<u16>,
    /// Tryton's own message (or ours, for network and protocol failures).
    pub message: String,
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} error", self.kind.as_str())?;
        if let Some(s) = self.status {
            write!(f, ", HTTP {s}")?;
        }
        write!(f, " on {}: {}", self.method, self.message)
    }
}

impl RpcError {
    /// Converts into the crate's error for system `system`.
    pub fn into_error(self, system: &str) -> Error {
        Error::System {
            system: system.to_string(),
            code: self.kind.code(),
            message: self.to_string(),
        }
    }
}

/// How to reach one Tryton database.
#[derive(Clone)]
pub struct RpcConfig {
    /// The server's base URL (`https://erp.example.com`), without the database.
    pub url: String,
    /// The database name.
    pub database: String,
    /// The login.
    pub user: String,
    /// The password (resolved from its `SecretRef`; never shown).
    pub password: String,
    /// Timeout of a whole call.
    pub timeout: Duration,
}

impl std::fmt::Debug for RpcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcConfig")
            .field("url", &self.url)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A logged-in JSON-RPC client for one database.
pub struct RpcClient {
    config: RpcConfig,
    http: reqwest::blocking::Client,
    /// The `Authorization` header value, once logged in.
    session: Option<String>,
    /// The user's preferences (company, language): the base of every
    /// call's context, as Tryton's own client does.
    context: serde_json::Map<String, Value>,
    next_id: u64,
}

/// The preferences kept in the context of every call.
const CONTEXT_KEYS: &[&str] = &[
    "company",
    "companies",
    "company_filter",
    "employee",
    "employees",
    "language",
];

/// What the HTTP exchange gave: the status and the body.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl RpcClient {
    /// A client; nothing is sent until the first call.
    pub fn new(config: RpcConfig) -> Result<RpcClient, RpcError> {
        // One TLS provider for the process; a second install is refused, harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::blocking::Client::builder()
            .gzip(true)
            .connect_timeout(Duration::from_secs(10))
            .timeout(config.timeout)
            .user_agent(concat!("Trueup/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RpcError {
                kind: Kind::Protocol,
                method: "(client)".into(),
                status: None,
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(RpcClient {
            config,
            http,
            session: None,
            context: serde_json::Map::new(),
            next_id: 1,
        })
    }

    /// The configuration (URL, database, user).
    pub fn config(&self) -> &RpcConfig {
        &self.config
    }

    fn db_url(&self) -> String {
        format!(
            "{}/{}/rpc/",
            self.config.url.trim_end_matches('/'),
            self.config.database
        )
    }

    /// The one HTTP exchange: POST `body` (JSON) to `url`, gzip accepted.
    fn post(&self, url: &str, method: &str, body: &Value) -> Result<Answer, RpcError> {
        let mut req = self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .body(serde_json::to_vec(body).expect("JSON values serialise"));
        if let Some(auth) = &self.session {
            req = req.header("Authorization", auth);
        }
        let resp = req.send().map_err(|e| RpcError {
            kind: Kind::Network,
            method: method.to_string(),
            status: None,
            message: transport_message(&e),
        })?;
        let status = resp.status().as_u16();
        let body = resp.bytes().map_err(|e| RpcError {
            kind: Kind::Network,
            method: method.to_string(),
            status: Some(status),
            message: format!("the answer broke off: {}", transport_message(&e)),
        })?;
        Ok(Answer {
            status,
            body: body.to_vec(),
        })
    }

    /// Calls `method` on the server root (`/rpc/`), without a session.
    pub fn call_root(&mut self, method: &str, params: Value) -> Result<Value, RpcError> {
        let url = format!("{}/rpc/", self.config.url.trim_end_matches('/'));
        let body = self.envelope(method, params);
        let answer = self.post(&url, method, &body)?;
        decode(method, answer)
    }

    fn envelope(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        json!({"id": self.next_id, "method": method, "params": params})
    }

    /// Logs in (again), keeping the session.
    pub fn login(&mut self) -> Result<(), RpcError> {
        self.session = None;
        let method = "common.db.login";
        let params = json!([self.config.user, {"password": self.config.password}, "en"]);
        let body = self.envelope(method, params);
        let answer = self.post(&self.db_url(), method, &body)?;
        let result = decode(method, answer).map_err(|mut e| {
            if e.status == Some(401) || e.kind == Kind::Auth {
                e.kind = Kind::Auth;
                e.message = format!(
                    "user {:?} could not log in to database {:?}: wrong user or password",
                    self.config.user, self.config.database
                );
            } else if e.status == Some(404) {
                e.message = format!(
                    "database {:?} does not exist on {}",
                    self.config.database, self.config.url
                );
            }
            e
        })?;
        let (Some(uid), Some(token)) = (result.get(0).and_then(Value::as_i64), result.get(1))
        else {
            return Err(RpcError {
                kind: Kind::Protocol,
                method: method.into(),
                status: None,
                message: "the login answer has no user id and session".into(),
            });
        };
        let token = token.as_str().unwrap_or_default();
        let raw = format!("{}:{uid}:{token}", self.config.user);
        self.session = Some(format!(
            "Session {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        ));
        let method = "model.res.user.get_preferences";
        let body = self.envelope(method, json!([true, {}]));
        let answer = self.post(&self.db_url(), method, &body)?;
        let preferences = decode(method, answer)?;
        self.context = CONTEXT_KEYS
            .iter()
            .filter_map(|k| Some((k.to_string(), preferences.get(*k)?.clone())))
            .filter(|(_, v)| !v.is_null())
            .collect();
        Ok(())
    }

    /// Calls `method` with `params` (the context last), logging in first
    /// when needed and once again when the session expired.
    pub fn call(&mut self, method: &str, mut params: Value) -> Result<Value, RpcError> {
        if self.session.is_none() {
            self.login()?;
        }
        if let Some(Value::Object(context)) = params.as_array_mut().and_then(|p| p.last_mut()) {
            for (k, v) in &self.context {
                context.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        let body = self.envelope(method, params);
        let url = self.db_url();
        let answer = self.post(&url, method, &body)?;
        if answer.status == 401 {
            // Rejected before dispatch: nothing was applied, so sending again is safe.
            self.login()?;
            let answer = self.post(&url, method, &body)?;
            return decode(method, answer);
        }
        decode(method, answer)
    }
}

fn transport_message(e: &reqwest::Error) -> String {
    let mut msg = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else {
        "the connection failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// Turns an answer into the result, or a categorised error.
fn decode(method: &str, answer: Answer) -> Result<Value, RpcError> {
    let fail = |kind, status, message: String| RpcError {
        kind,
        method: method.to_string(),
        status,
        message,
    };
    if answer.status != 200 {
        return Err(fail(
            Kind::of_status(answer.status),
            Some(answer.status),
            page_message(&answer.body),
        ));
    }
    let v: Value = serde_json::from_slice(&answer.body).map_err(|e| {
        fail(
            Kind::Protocol,
            None,
            format!(
                "the answer is not JSON ({e}): {}",
                page_message(&answer.body)
            ),
        )
    })?;
    match v.get("error") {
        None | Some(Value::Null) => Ok(v.get("result").cloned().unwrap_or(Value::Null)),
        Some(err) => {
            let (kind, message) = classify(err);
            Err(fail(kind, None, message))
        }
    }
}

/// The category and message of an `error` member.
fn classify(err: &Value) -> (Kind, String) {
    let name = err.get(0).and_then(Value::as_str).unwrap_or_default();
    let detail = err.get(1).cloned().unwrap_or(Value::Null);
    // UserError: [message, description, domain]; others: a string.
    let message = match &detail {
        Value::String(s) => s.clone(),
        Value::Array(parts) => {
            let text: Vec<&str> = parts
                .iter()
                .take(2)
                .filter_map(Value::as_str)
                .filter(|s| !s.is_empty())
                .collect();
            text.join(" ")
        }
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let message = clip(if message.is_empty() {
        name.to_string()
    } else if name.is_empty() || matches!(name, "UserError") {
        message
    } else {
        format!("{name}: {message}")
    });
    let lower = message.to_lowercase();
    let kind = match name {
        "ConcurrencyException" => Kind::Conflict,
        "UserError" | "UserWarning" if lower.contains("don't exist") => Kind::NotFound,
        "UserError" | "UserWarning"
            if lower.contains("not allowed to") || lower.contains("access") =>
        {
            Kind::Permission
        }
        "UserError" | "UserWarning" => Kind::Validation,
        "LoginException" => Kind::Auth,
        "RateLimitException" => Kind::RateLimit,
        "TimeOutException" => Kind::Transient,
        // A Python exception name (or a KeyError's key) from a bug or an
        // unknown model: not something a retry fixes.
        _ if lower.contains("database is locked") => Kind::Transient,
        _ => Kind::Protocol,
    };
    (kind, message)
}

/// The message of an HTML error page: its `<title>` and first `<p>`.
fn page_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let pick = |open: &str, close: &str| -> Option<String> {
        let a = text.find(open)? + open.len();
        let b = text[a..].find(close)? + a;
        Some(html_unescape(text[a..b].trim()))
    };
    match (pick("<title>", "</title>"), pick("<p>", "</p>")) {
        (Some(t), Some(p)) => clip(format!("{t}: {p}")),
        (Some(t), None) => clip(t),
        _ if text.trim().is_empty() => "(empty answer)".into(),
        _ => clip(text.trim().to_string()),
    }
}

fn html_unescape(s: &str) -> String {
    s.replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn clip(s: String) -> String {
    if s.chars().count() > 500 {
        let mut out: String = s.chars().take(500).collect();
        out.push('…');
        out
    } else {
        s
    }
}

/// A Tryton value as text: strings as they are, numbers as written,
/// booleans (0/1 on SQLite) as `true`/`false`, `Decimal` as its digits,
/// dates and datetimes in ISO 8601 (datetimes are UTC).
pub fn text_of(v: &Value, boolean: bool) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) if boolean => Some((n.as_i64() != Some(0)).to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => match o.get("__class__").and_then(Value::as_str) {
            Some("Decimal") => o.get("decimal").and_then(Value::as_str).map(str::to_string),
            Some("datetime") => {
                let f = |k: &str| o.get(k).and_then(Value::as_i64).unwrap_or(0);
                Some(format!(
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
                    f("year"),
                    f("month"),
                    f("day"),
                    f("hour"),
                    f("minute"),
                    f("second"),
                    f("microsecond")
                ))
            }
            Some("date") => {
                let f = |k: &str| o.get(k).and_then(Value::as_i64).unwrap_or(0);
                Some(format!(
                    "{:04}-{:02}-{:02}",
                    f("year"),
                    f("month"),
                    f("day")
                ))
            }
            _ => Some(v.to_string()),
        },
        Value::Array(_) => Some(v.to_string()),
    }
}

/// A `Decimal` to send.
pub fn decimal(text: &str) -> Value {
    json!({"__class__": "Decimal", "decimal": text})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_errors_keep_trytons_message() {
        let (kind, msg) = classify(&json!([
            "UserError",
            ["The code on party must be unique.", "", null]
        ]));
        assert_eq!(kind, Kind::Validation);
        assert_eq!(msg, "The code on party must be unique.");
        let (kind, _) = classify(&json!([
            "UserError",
            [
                "You are trying to write to records \"99\" of \"Party\" that don't exist.",
                "",
                null
            ]
        ]));
        assert_eq!(kind, Kind::NotFound, "a missing record is not a bad value");
        let (kind, msg) = classify(&json!([
            "ConcurrencyException",
            "Records were modified in the meanwhile"
        ]));
        assert_eq!(kind, Kind::Conflict);
        assert!(msg.contains("modified in the meanwhile"), "{msg}");
        let (kind, _) = classify(&json!(["'nosuch.model'", ""]));
        assert_eq!(kind, Kind::Protocol, "an unknown model is not retried");
    }

    #[test]
    fn values_become_text() {
        let dt = json!({"__class__":"datetime","year":2026,"month":11,"day":25,"hour":12,"minute":26,"second":25,"microsecond":440733});
        assert_eq!(
            text_of(&dt, false).as_deref(),
            Some("2026-11-25T12:26:25.440733Z")
        );
        assert_eq!(
            text_of(&json!({"__class__":"Decimal","decimal":"12.50"}), false).as_deref(),
            Some("12.50")
        );
        assert_eq!(text_of(&json!(1), true).as_deref(), Some("true"));
        assert_eq!(text_of(&json!(0), true).as_deref(), Some("false"));
        assert_eq!(text_of(&json!(""), false), None);
    }

    #[test]
    fn html_pages_give_their_title() {
        let page = b"<!doctype html>\n<html lang=en>\n<title>403 Forbidden</title>\n<h1>Forbidden</h1>\n<p>You don&#39;t have the permission.</p>\n";
        assert_eq!(
            page_message(page),
            "403 Forbidden: You don't have the permission."
        );
    }
}
