//! Tryton's JSON-RPC: `POST /DB/rpc/` with `{"id","method","params"}`, the
//! last parameter always the context. Login with
//! `common.db.login [user, {"password"}, lang]` gives `[user_id, session,
//! …]`; later calls carry `Authorization: Session base64(user:id:session)`.
//! A session that expired (HTTP 401) is renewed by logging in once again.
//!
//! Errors come two ways: HTTP 200 with an `error` member
//! (`["UserError", [message, description, domain]]`,
//! `["ConcurrencyException", message]`, …), or an HTTP status with an HTML
//! page (401, 403, 404, 429, 5xx). Each becomes an [`HttpError`] of one
//! [`Kind`], with Tryton's own message and never the password or session.
//!
//! The exchange goes through the shared [`HttpClient`] (gzip, timeouts,
//! user agent, rate limit; reads retried on passing failures, writes sent
//! once).

use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};

use crate::connectors::http::{HttpClient, HttpError, HttpOptions, Kind, Repeat, Request};
use crate::error::Result;

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
    /// Timeouts, retries of reads, rate limit.
    pub options: HttpOptions,
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
    http: HttpClient,
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

/// Methods that only read: retried on passing failures.
fn reads_only(method: &str) -> bool {
    method.starts_with("common.")
        || [
            ".search_read",
            ".read",
            ".search",
            ".search_count",
            ".get_preferences",
            ".fields_get",
        ]
        .iter()
        .any(|s| method.ends_with(s))
}

impl RpcClient {
    /// A client for system `system`; nothing is sent until the first call.
    pub fn new(system: &str, config: RpcConfig) -> Result<RpcClient> {
        let http = HttpClient::new(
            system,
            &config.url,
            &crate::connectors::http::AuthConfig::None,
            &config.options,
        )?;
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

    /// HTTP requests sent so far (every try counts).
    pub fn requests_sent(&self) -> u64 {
        self.http.sent
    }

    /// One exchange: POST the envelope of `method` to `path`; the result,
    /// or a categorised error naming the method.
    fn exchange(&mut self, path: &str, method: &str, params: &Value) -> Result<Value, HttpError> {
        self.next_id += 1;
        let body = json!({"id": self.next_id, "method": method, "params": params});
        let mut req = Request::write(Method::POST, path, Some(body));
        if reads_only(method) {
            req.repeat = Repeat::Safe;
        }
        if let Some(auth) = &self.session {
            req = req.header("Authorization", auth.clone());
        }
        let resp = self.http.send(&req).map_err(|mut e| {
            e.request = format!("{method} ({})", e.request);
            e
        })?;
        let v: Value = resp.json().map_err(|mut e| {
            e.request = format!("{method} ({})", e.request);
            e
        })?;
        match v.get("error") {
            None | Some(Value::Null) => Ok(v.get("result").cloned().unwrap_or(Value::Null)),
            Some(err) => {
                let (kind, message) = classify(err);
                Err(HttpError::new(kind, method, message))
            }
        }
    }

    fn db_path(&self) -> String {
        format!("{}/rpc/", self.config.database)
    }

    /// Calls `method` on the server root (`/rpc/`), without a session.
    pub fn call_root(&mut self, method: &str, params: Value) -> Result<Value, HttpError> {
        self.exchange("rpc/", method, &params)
    }

    /// Logs in (again), keeping the session and the user's preferences.
    pub fn login(&mut self) -> Result<(), HttpError> {
        self.session = None;
        let method = "common.db.login";
        let params = json!([self.config.user, {"password": self.config.password}, "en"]);
        let path = self.db_path();
        let result = self.exchange(&path, method, &params).map_err(|mut e| {
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
        let (Some(uid), Some(token)) = (
            result.get(0).and_then(Value::as_i64),
            result.get(1).and_then(Value::as_str),
        ) else {
            return Err(HttpError::new(
                Kind::Protocol,
                method,
                "the login answer has no user id and session",
            ));
        };
        let raw = format!("{}:{uid}:{token}", self.config.user);
        self.session = Some(format!(
            "Session {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        ));
        let preferences =
            self.exchange(&path, "model.res.user.get_preferences", &json!([true, {}]))?;
        self.context = CONTEXT_KEYS
            .iter()
            .filter_map(|k| Some((k.to_string(), preferences.get(*k)?.clone())))
            .filter(|(_, v)| !v.is_null())
            .collect();
        Ok(())
    }

    /// Calls `method` with `params` (the context last, completed with the
    /// user's preferences), logging in first when needed and once again
    /// when the session expired.
    pub fn call(&mut self, method: &str, mut params: Value) -> Result<Value, HttpError> {
        if self.session.is_none() {
            self.login()?;
        }
        if let Some(Value::Object(context)) = params.as_array_mut().and_then(|p| p.last_mut()) {
            for (k, v) in &self.context {
                context.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        let path = self.db_path();
        match self.exchange(&path, method, &params) {
            // Refused before dispatch: nothing was applied, sending again is safe.
            Err(e) if e.status == Some(401) => {
                self.login()?;
                self.exchange(&path, method, &params)
            }
            other => other,
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
}
