//! Categorised HTTP failures: every failure of an HTTP system becomes an
//! [`HttpError`] with a [`Kind`], the system's own message, the HTTP status
//! and the request id, and converts into the crate's [`Error`] so the push
//! engine files it under the right category. Messages are scrubbed of
//! secrets before they are built (see [`super::redact`]).

use reqwest::header::HeaderMap;

use crate::error::{Error, ErrorCode};

/// What kind of failure, from the caller's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The credentials were refused (401, or a failed login / token fetch).
    Auth,
    /// The credentials are valid but not allowed to do this (403).
    Permission,
    /// The record or endpoint does not exist (404, 410).
    NotFound,
    /// The system refused the values (400, 422).
    Validation,
    /// The record changed or a precondition failed (409, 412).
    Conflict,
    /// Too many requests (429), or a `Retry-After` longer than allowed.
    RateLimit,
    /// A passing failure of the system (500, 502, 503, 504).
    Transient,
    /// The system could not be reached or the connection broke (refused,
    /// reset, timeout): a write may or may not have been applied.
    Network,
    /// The system answered something we cannot use (malformed JSON, missing
    /// records path, a pagination cursor that repeats, too many pages).
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

    /// The crate's error code: what the push engine and the UI branch on.
    /// The crate has no `permission`, `conflict` or `protocol` code: a
    /// permission refusal is an auth failure, a conflict reported as an
    /// error (a conditional write turns 409/412 into a conflict outcome, not
    /// an error) is a validation failure, and a protocol failure is a
    /// system failure (not retried).
    pub fn code(self) -> ErrorCode {
        match self {
            Kind::Auth => ErrorCode::Auth,
            Kind::Permission => ErrorCode::Permission,
            Kind::NotFound => ErrorCode::NotFound,
            Kind::Validation => ErrorCode::Validation,
            Kind::Conflict => ErrorCode::Conflict,
            Kind::RateLimit => ErrorCode::RateLimit,
            Kind::Transient => ErrorCode::Transient,
            Kind::Network => ErrorCode::Network,
            Kind::Protocol => ErrorCode::Protocol,
        }
    }

    /// The kind of an HTTP error status.
    pub fn of_status(status: u16) -> Kind {
        match status {
            401 => Kind::Auth,
            403 => Kind::Permission,
            404 | 410 => Kind::NotFound,
            409 | 412 => Kind::Conflict,
            429 => Kind::RateLimit,
            408 | 500 | 502 | 503 | 504 => Kind::Transient,
            400..=499 => Kind::Validation,
            _ => Kind::Transient,
        }
    }

    /// True for failures that may pass by themselves.
    pub fn retryable(self) -> bool {
        matches!(self, Kind::RateLimit | Kind::Transient | Kind::Network)
    }
}

/// One failed HTTP exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    /// The category.
    pub kind: Kind,
    /// The HTTP status, when the system answered.
    pub status: Option<u16>,
    /// `METHOD url`, with secrets in the query redacted.
    pub request: String,
    /// The system's own message (or ours, for network and protocol
    /// failures), scrubbed of secrets.
    pub message: String,
    /// The request id the system gave (`x-request-id` and similar).
    pub request_id: Option<String>,
    /// How long the system asked us to wait (`Retry-After`), in seconds.
    pub retry_after: Option<u64>,
}

impl HttpError {
    /// A failure of ours or of the transport (no HTTP status).
    pub fn new(kind: Kind, request: impl Into<String>, message: impl Into<String>) -> Self {
        HttpError {
            kind,
            status: None,
            request: request.into(),
            message: message.into(),
            request_id: None,
            retry_after: None,
        }
    }

    /// Converts into the crate's error for system `system`.
    pub fn into_error(self, system: &str) -> Error {
        Error::System {
            system: system.to_string(),
            code: self.kind.code(),
            message: self.to_string(),
        }
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} error", self.kind.as_str())?;
        if let Some(s) = self.status {
            write!(f, ", HTTP {s}")?;
        }
        write!(f, " on {}: {}", self.request, self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for HttpError {}

/// Headers that carry a request id, most common first.
const REQUEST_ID_HEADERS: &[&str] = &[
    "x-request-id",
    "request-id",
    "x-correlation-id",
    "x-hubspot-correlation-id",
    "x-amzn-requestid",
    "x-trace-id",
    "traceparent",
    "cf-ray",
];

/// The request id the system gave, if any.
pub fn request_id(headers: &HeaderMap) -> Option<String> {
    REQUEST_ID_HEADERS.iter().find_map(|h| {
        headers
            .get(*h)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(120).collect())
    })
}

/// The system's own message in an error body: the common JSON shapes
/// (`{"errors":[{"message"}]}`, `{"error":{"message"}}`, `{"message"}`,
/// `{"error":"..."}`, `{"detail"}`, ...), the `<title>` of an HTML page, or
/// the start of the text. Never longer than 500 characters.
pub fn body_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".into();
    }
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(text)
        && let Some(m) = json_message(&json)
    {
        return clip(&m);
    }
    let lower = text.to_ascii_lowercase();
    if let (Some(a), Some(b)) = (lower.find("<title>"), lower.find("</title>"))
        && a + 7 <= b
    {
        return clip(text[a + 7..b].trim());
    }
    if lower.starts_with("<!doctype") || lower.starts_with("<html") {
        return "(an HTML page)".into();
    }
    clip(text)
}

fn json_message(json: &serde_json::Value) -> Option<String> {
    use serde_json::Value as J;
    let s = |v: &J| v.as_str().map(str::to_string);
    let first = |v: &J| match v {
        J::Array(items) => items.first().cloned(),
        _ => None,
    };
    let mut parts: Vec<String> = Vec::new();
    if let Some(errors) = json.get("errors") {
        match errors {
            J::Array(items) => {
                for e in items.iter().take(5) {
                    // Square: `{"errors":[{"category","code","detail","field"}]}`.
                    if let Some(m) = e
                        .get("message")
                        .or_else(|| e.get("detail"))
                        .and_then(s)
                        .or_else(|| s(e))
                    {
                        let code = e
                            .pointer("/extensions/code")
                            .or_else(|| e.get("code"))
                            .and_then(s);
                        parts.push(match code {
                            Some(c) => format!("{m} [{c}]"),
                            None => m,
                        });
                    }
                }
            }
            J::String(m) => parts.push(m.clone()),
            _ => {}
        }
        if !parts.is_empty() {
            return Some(parts.join("; "));
        }
    }
    if let Some(e) = json.get("error") {
        if let Some(m) = s(e) {
            let d = json.get("error_description").and_then(s);
            return Some(match d {
                Some(d) => format!("{m}: {d}"),
                None => m,
            });
        }
        if let Some(m) = e.get("message").and_then(s) {
            return Some(m);
        }
        if let Some(list) = first(e) {
            return json_message(&serde_json::json!({"error": list}));
        }
    }
    // HubSpot: `{"status":"error","message","correlationId","category"}`.
    if let (Some(m), Some(c)) = (
        json.get("message").and_then(s),
        json.get("category").and_then(s),
    ) {
        return Some(format!("{m} [{c}]"));
    }
    for key in [
        "message",
        "detail",
        "title",
        "error_description",
        "faultstring",
    ] {
        if let Some(m) = json.get(key).and_then(s) {
            return Some(m);
        }
    }
    None
}

fn clip(text: &str) -> String {
    let mut out: String = text.chars().take(500).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// A request id an error body carries (HubSpot's `correlationId`), for
/// systems that give none in a header.
pub fn body_request_id(body: &[u8]) -> Option<String> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["correlationId", "requestId", "request_id", "traceId"]
        .iter()
        .find_map(|k| json.get(*k).and_then(|v| v.as_str()))
        .map(|v| v.chars().take(120).collect())
}

/// Parses `Retry-After`: delay seconds, or an HTTP date (seconds from `now`).
pub fn retry_after(headers: &HeaderMap, now: std::time::SystemTime) -> Option<u64> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(secs);
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(now)
            .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
            .unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn statuses_map_to_categories_and_codes() {
        let cases = [
            (401, Kind::Auth, ErrorCode::Auth),
            (403, Kind::Permission, ErrorCode::Permission),
            (404, Kind::NotFound, ErrorCode::NotFound),
            (422, Kind::Validation, ErrorCode::Validation),
            (400, Kind::Validation, ErrorCode::Validation),
            (409, Kind::Conflict, ErrorCode::Conflict),
            (412, Kind::Conflict, ErrorCode::Conflict),
            (429, Kind::RateLimit, ErrorCode::RateLimit),
            (500, Kind::Transient, ErrorCode::Transient),
            (502, Kind::Transient, ErrorCode::Transient),
            (503, Kind::Transient, ErrorCode::Transient),
        ];
        for (status, kind, code) in cases {
            assert_eq!(Kind::of_status(status), kind, "status {status}");
            assert_eq!(kind.code(), code, "{kind:?} maps to {code:?}");
        }
        assert!(Kind::Network.retryable() && !Kind::Protocol.retryable());
    }

    #[test]
    fn server_messages_are_found_in_common_shapes() {
        let cases: [(&str, &str); 8] = [
            (
                r#"{"errors":[{"message":"Value has to be unique","extensions":{"code":"RECORD_NOT_UNIQUE"}}]}"#,
                "Value has to be unique [RECORD_NOT_UNIQUE]",
            ),
            (
                r#"{"status":"error","message":"Property values were not valid","category":"VALIDATION_ERROR"}"#,
                "Property values were not valid [VALIDATION_ERROR]",
            ),
            (
                r#"{"errors":[{"category":"INVALID_REQUEST_ERROR","code":"VERSION_MISMATCH","detail":"Version mismatch"}]}"#,
                "Version mismatch [VERSION_MISMATCH]",
            ),
            (
                r#"{"error":"invalid_client","error_description":"bad secret"}"#,
                "invalid_client: bad secret",
            ),
            (r#"{"error":{"message":"quota"}}"#, "quota"),
            (
                "<html><head><title>403 Forbidden</title></head></html>",
                "403 Forbidden",
            ),
            ("plain words", "plain words"),
            ("", "(empty body)"),
        ];
        for (body, want) in cases {
            assert_eq!(body_message(body.as_bytes()), want, "body {body}");
        }
        assert!(body_message("x".repeat(2000).as_bytes()).chars().count() <= 501);
        assert_eq!(
            body_request_id(br#"{"status":"error","message":"m","correlationId":"c0ffee-1"}"#),
            Some("c0ffee-1".into())
        );
        assert_eq!(body_request_id(b"<html>"), None);
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h, now), Some(7));
        let later = httpdate::fmt_http_date(now + std::time::Duration::from_secs(30));
        h.insert("retry-after", HeaderValue::from_str(&later).unwrap());
        assert_eq!(retry_after(&h, now), Some(30));
        let past = httpdate::fmt_http_date(now - std::time::Duration::from_secs(30));
        h.insert("retry-after", HeaderValue::from_str(&past).unwrap());
        assert_eq!(retry_after(&h, now), Some(0), "a date in the past: go now");
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None, "unparseable: ignored");
    }

    #[test]
    fn display_names_category_status_message_and_request_id() {
        let e = HttpError {
            kind: Kind::Validation,
            status: Some(422),
            request: "POST http://h/items".into(),
            message: "name is required".into(),
            request_id: Some("abc-1".into()),
            retry_after: None,
        };
        let text = e.clone().into_error("crm").to_string();
        assert_eq!(
            text,
            "system \"crm\": validation error, HTTP 422 on POST http://h/items: name is required (request id abc-1)"
        );
        assert_eq!(e.into_error("crm").code(), ErrorCode::Validation);
    }
}
