//! The one HTTP client every HTTP system uses, and the request sender:
//! credentials, the client-side rate limit, retries of what is safe to
//! repeat (capped exponential backoff with full jitter, `Retry-After`
//! honoured up to a cap), and a categorised error for every failure.
//!
//! **Blocking by design.** The [`Connector`](crate::connectors::Connector)
//! trait is synchronous and runs on plain threads (the command line; the
//! desktop runs jobs on `std::thread`s). The client is
//! `reqwest::blocking`, which drives its own small runtime on a background
//! thread: it works from any plain thread, and needs no runtime from the
//! caller. It must not be created or dropped *inside* an async task (reqwest
//! panics there): async callers hand the work to `spawn_blocking` or a thread.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::Method;
use reqwest::header::HeaderMap;

use super::auth::{Auth, join};
use super::config::{AuthConfig, HttpOptions};
use super::error::{HttpError, Kind, body_message, body_request_id, request_id, retry_after};
use super::redact::Secrets;
use crate::error::Result;

/// The user agent every request carries.
pub const USER_AGENT: &str = concat!("Trueup/", env!("CARGO_PKG_VERSION"));

static CRYPTO: Once = Once::new();

/// Builds the shared reqwest client: rustls (ring), gzip, JSON, connect
/// and total timeouts, the Trueup user agent.
pub fn build_client(options: &HttpOptions) -> Result<reqwest::blocking::Client> {
    CRYPTO.call_once(|| {
        // Another part of the process may have installed one: keep it.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::blocking::Client::builder()
        .user_agent(USER_AGENT)
        .gzip(true)
        .connect_timeout(Duration::from_secs(options.connect_timeout_secs.max(1)))
        .timeout(Duration::from_secs(options.timeout_secs.max(1)))
        .build()
        .map_err(|e| crate::Error::Invalid(format!("cannot build the HTTP client: {e}")))
}

/// Rate limiters by API (base URL and budget): every client of one API in
/// the process shares one budget (a pull of both sides, a desktop job).
static LIMITERS: Mutex<Option<Limiters>> = Mutex::new(None);

/// Limiters by (base URL, requests, period in seconds, burst).
type Limiters = HashMap<(String, u32, u64, u32), Arc<DefaultDirectRateLimiter>>;

fn shared_limiter(
    base: &str,
    n: u32,
    period_secs: u64,
    burst: u32,
) -> Arc<DefaultDirectRateLimiter> {
    let mut all = LIMITERS.lock().unwrap_or_else(|e| e.into_inner());
    all.get_or_insert_with(HashMap::new)
        .entry((base.to_string(), n, period_secs, burst))
        .or_insert_with(|| {
            let period = Duration::from_secs(period_secs.max(1));
            let quota = Quota::with_period(period / n)
                .expect("a positive period")
                .allow_burst(std::num::NonZeroU32::new(burst).expect("at least 1"));
            Arc::new(RateLimiter::direct(quota))
        })
        .clone()
}

/// Whether a request may be sent again after a failure that may have
/// reached the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// A read, or a write that is safe to repeat (idempotency key,
    /// conditional write): retried on passing failures.
    Safe,
    /// A write that could apply twice: sent once; the caller re-reads.
    Once,
}

/// One request to send.
#[derive(Debug, Clone)]
pub struct Request {
    /// GET, POST, PATCH, PUT, DELETE.
    pub method: Method,
    /// A path under the base URL, or an absolute URL (next-page links).
    pub path: String,
    /// Query parameters.
    pub query: Vec<(String, String)>,
    /// Extra headers (`If-Match`, `Idempotency-Key`).
    pub headers: Vec<(String, String)>,
    /// A JSON body.
    pub body: Option<serde_json::Value>,
    /// Whether it may be repeated.
    pub repeat: Repeat,
}

impl Request {
    /// A read of `path`.
    pub fn get(path: impl Into<String>) -> Request {
        Request {
            method: Method::GET,
            path: path.into(),
            query: vec![],
            headers: vec![],
            body: None,
            repeat: Repeat::Safe,
        }
    }

    /// A write of `body` to `path`, sent once unless marked [`Repeat::Safe`].
    pub fn write(method: Method, path: impl Into<String>, body: Option<serde_json::Value>) -> Self {
        Request {
            method,
            path: path.into(),
            query: vec![],
            headers: vec![],
            body,
            repeat: Repeat::Once,
        }
    }

    /// Adds a query parameter.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A successful (2xx) answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, decompressed.
    pub body: Vec<u8>,
    /// `METHOD url` as it may be shown (secrets redacted).
    pub request: String,
    /// The URL asked (before credentials were added), to resolve relative
    /// links against. Not for display: use `request`.
    pub url: reqwest::Url,
}

impl Response {
    /// The body as JSON; a malformed body is a protocol error naming the
    /// request and where parsing stopped.
    pub fn json(&self) -> std::result::Result<serde_json::Value, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            HttpError::new(
                Kind::Protocol,
                &self.request,
                format!(
                    "the answer is not valid JSON ({e}); it starts with {:?}",
                    String::from_utf8_lossy(&self.body[..self.body.len().min(80)])
                ),
            )
        })
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// An HTTP system's connection: base URL, credentials, rate limit, retries.
pub struct HttpClient {
    system: String,
    base: reqwest::Url,
    client: reqwest::blocking::Client,
    auth: Auth,
    secrets: Secrets,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    /// Limits of some endpoints, below the system's: (path, limiter).
    path_limiters: Vec<(String, Arc<DefaultDirectRateLimiter>)>,
    options: HttpOptions,
    /// Requests sent (every try counts), for tests and benchmarks.
    pub sent: u64,
    /// Logins (session) or token fetches (OAuth2) made, for tests.
    pub logins: u64,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("system", &self.system)
            .field("base", &self.secrets.url(&self.base))
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Connects nothing yet: resolves the secrets and builds the client.
    /// Errors name the system and where a secret was looked for.
    pub fn new(
        system: &str,
        base_url: &str,
        auth: &AuthConfig,
        options: &HttpOptions,
    ) -> Result<HttpClient> {
        let base = reqwest::Url::parse(base_url).map_err(|e| {
            crate::Error::Invalid(format!(
                "systems.{system}.base_url: {base_url:?} is not a URL: {e}"
            ))
        })?;
        let mut secrets = Secrets::default();
        let auth = Auth::resolve(auth, &mut secrets).map_err(|e| match e {
            crate::Error::Invalid(m) => {
                crate::Error::Invalid(format!("systems.{system}.auth: {m}"))
            }
            other => other,
        })?;
        let limiter = match options.rate_limit {
            Some(0) => {
                return Err(crate::Error::Invalid(format!(
                    "systems.{system}.http.rate_limit: must be at least 1"
                )));
            }
            Some(n) => {
                let burst = options.rate_limit_burst.unwrap_or(n);
                if burst == 0 {
                    return Err(crate::Error::Invalid(format!(
                        "systems.{system}.http.rate_limit_burst: must be at least 1"
                    )));
                }
                Some(shared_limiter(
                    base.as_str(),
                    n,
                    options.rate_limit_period_secs,
                    burst,
                ))
            }
            None => None,
        };
        Ok(HttpClient {
            system: system.to_string(),
            base,
            client: build_client(options)?,
            auth,
            secrets,
            limiter,
            path_limiters: Vec::new(),
            options: options.clone(),
            sent: 0,
            logins: 0,
        })
    }

    /// The system's name in the workspace.
    pub fn system(&self) -> &str {
        &self.system
    }

    /// The options in force.
    pub fn options(&self) -> &HttpOptions {
        &self.options
    }

    /// Masks every known secret in `text`.
    pub fn scrub(&self, text: &str) -> String {
        self.secrets.scrub(text)
    }

    /// Converts an [`HttpError`] into the crate's error, naming this system.
    pub fn error(&self, e: HttpError) -> crate::Error {
        e.into_error(&self.system)
    }

    /// Sends `req`, with credentials and the rate limit; retries passing
    /// failures when `req.repeat` is [`Repeat::Safe`]; fetches a new token
    /// once on a 401 when the auth can, or logs in again once when a 2xx
    /// answer carries the session auth's `expired` sign. Any non-2xx answer
    /// is an error.
    pub fn send(&mut self, req: &Request) -> std::result::Result<Response, HttpError> {
        let mut delays = ExponentialBuilder::default()
            .with_factor(2.0)
            .with_min_delay(Duration::from_millis(self.options.retry_min_delay_ms))
            .with_max_delay(Duration::from_millis(self.options.retry_max_delay_ms))
            .with_max_times(self.options.max_retries)
            .build()
            .map(|cap| cap.mul_f64(fastrand::f64()));
        let mut renewed = false;
        loop {
            let err = match self.attempt(req) {
                // The session has expired though the answer is a 2xx (Vendure
                // answers an unknown session with 200 and a `FORBIDDEN`
                // GraphQL error). The request was refused before anything
                // was applied — the system checks the session before it runs
                // a read or a write — so sending it again, once, with a fresh
                // session is safe for writes too. A second refusal after the
                // fresh login is returned as it is: a real permission error.
                Ok(resp) if !renewed && self.auth.expired(&resp.body) => {
                    renewed = true;
                    self.auth.invalidate();
                    if std::env::var_os("TRUEUP_LOG_RETRIES").is_some() {
                        eprintln!("session expired: logging in again ({})", resp.request);
                    }
                    continue;
                }
                Ok(resp) => return Ok(resp),
                Err(e) => e,
            };
            // A 401 was refused before anything happened: safe to send again
            // with new credentials, once.
            if err.kind == Kind::Auth
                && err.status == Some(401)
                && self.auth.renewable()
                && !renewed
            {
                renewed = true;
                self.auth.invalidate();
                continue;
            }
            if req.repeat == Repeat::Once
                && err.kind == Kind::RateLimit
                && let Some(secs) = err.retry_after
                && secs <= self.options.max_retry_after_secs
            {
                // Not sent again here, but the wait the system asked for is
                // kept before the caller re-reads and decides.
                std::thread::sleep(Duration::from_secs(secs));
                return Err(err);
            }
            if !err.kind.retryable() || req.repeat == Repeat::Once {
                return Err(err);
            }
            let Some(backoff) = delays.next() else {
                let mut err = err;
                err.message = format!(
                    "{} (gave up after {} retries)",
                    err.message, self.options.max_retries
                );
                return Err(err);
            };
            let wait = match err.retry_after {
                Some(secs) if secs > self.options.max_retry_after_secs => {
                    let mut err = err;
                    err.kind = Kind::RateLimit;
                    err.message = format!(
                        "{} (the system asks to wait {secs} s, more than the {} s allowed by \
                         http.max_retry_after_secs)",
                        err.message, self.options.max_retry_after_secs
                    );
                    return Err(err);
                }
                Some(secs) => Duration::from_secs(secs).max(backoff),
                None => backoff,
            };
            if std::env::var_os("TRUEUP_LOG_RETRIES").is_some() {
                eprintln!("retrying after={}ms: {err}", wait.as_millis());
            }
            std::thread::sleep(wait);
        }
    }

    /// Adds a limit of `n` requests per `period_secs` to the requests whose
    /// path starts with `path`, on top of the system's (HubSpot's search
    /// endpoints: a few per second per account). The budget is shared by
    /// every path given the same `group` on this base URL in the process,
    /// and spent evenly (no burst).
    pub fn limit_path(&mut self, path: &str, group: &str, n: u32, period_secs: u64) -> Result<()> {
        if n == 0 {
            return Err(crate::Error::Invalid(format!(
                "systems.{}: the rate limit of {path} must be at least 1",
                self.system
            )));
        }
        let key = format!("{} {group}", self.base.as_str());
        let limiter = shared_limiter(&key, n, period_secs, 1);
        self.path_limiters.push((path.to_string(), limiter));
        Ok(())
    }

    /// Waits for the rate limiters (the endpoint's, then the system's) to
    /// allow one more request.
    fn throttle(&self, path: &str) {
        let wait = |l: &DefaultDirectRateLimiter| {
            while let Err(not_until) = l.check() {
                use governor::clock::{Clock, DefaultClock};
                std::thread::sleep(not_until.wait_time_from(DefaultClock::default().now()));
            }
        };
        for (prefix, l) in &self.path_limiters {
            if path.starts_with(prefix.as_str()) {
                wait(l);
            }
        }
        if let Some(l) = &self.limiter {
            wait(l);
        }
    }

    /// One try.
    fn attempt(&mut self, req: &Request) -> std::result::Result<Response, HttpError> {
        let url = join(&self.base, &req.path, &self.secrets)?;
        let mut shown_url = url.clone();
        if !req.query.is_empty() {
            shown_url
                .query_pairs_mut()
                .extend_pairs(req.query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        let shown = format!("{} {}", req.method, self.secrets.url(&shown_url));
        let asked = shown_url.clone();
        let mut builder = self.client.request(req.method.clone(), url);
        if !req.query.is_empty() {
            builder = builder.query(&req.query);
        }
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        builder = builder.header("accept", "application/json");
        if let Some(body) = &req.body {
            builder = builder.json(body);
        }
        self.throttle(&req.path);
        let had_token = self.auth.has_token();
        let builder = self
            .auth
            .apply(&self.client, &self.base, &mut self.secrets, builder)?;
        if !had_token && self.auth.has_token() {
            self.logins += 1;
        }
        self.sent += 1;
        let resp = builder
            .send()
            .map_err(|e| transport_error(&shown, &e, &self.secrets))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .map_err(|e| transport_error(&shown, &e, &self.secrets))?
            .to_vec();
        if (200..300).contains(&status) {
            return Ok(Response {
                status,
                headers,
                body,
                request: shown,
                url: asked,
            });
        }
        Err(HttpError {
            kind: Kind::of_status(status),
            status: Some(status),
            request: shown,
            message: self.secrets.scrub(&body_message(&body)),
            request_id: request_id(&headers).or_else(|| body_request_id(&body)),
            retry_after: retry_after(&headers, SystemTime::now()),
        })
    }
}

/// A failure below HTTP (refused, reset, timeout, broken body): network.
pub(crate) fn transport_error(shown: &str, e: &reqwest::Error, secrets: &Secrets) -> HttpError {
    let what = if e.is_timeout() {
        "no answer within the timeout".to_string()
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else if e.is_decode() || e.is_body() {
        "the connection broke while reading the answer".to_string()
    } else {
        "the request failed".to_string()
    };
    // The source chain says why (refused, reset); the URL it may name is
    // already in `shown`, so keep only the innermost cause.
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    HttpError::new(
        Kind::Network,
        shown,
        secrets.scrub(&format!("{what}: {cause}")),
    )
}
