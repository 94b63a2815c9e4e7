//! What `trueup.toml` says about an HTTP system: how to authenticate, how
//! patient to be (timeouts, retries, rate limit) and how its lists page.
//! Every field is documented in `docs/http.md`; unknown fields are refused.

use serde::{Deserialize, Serialize};

use crate::config::SecretRef;

/// `auth = { type = "...", ... }`: how requests prove who we are. Secrets
/// are [`SecretRef`]s (an environment variable or a keychain entry), never
/// the secret itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthConfig {
    /// No authentication.
    #[default]
    None,
    /// HTTP basic authentication.
    Basic {
        /// The user name.
        user: String,
        /// Where the password comes from.
        password: SecretRef,
    },
    /// `Authorization: Bearer TOKEN`.
    Bearer {
        /// Where the token comes from.
        token: SecretRef,
    },
    /// An API key in a header or a query parameter.
    ApiKey {
        /// The header carrying the key (e.g. `X-API-Key`).
        #[serde(default)]
        header: Option<String>,
        /// The query parameter carrying the key (e.g. `api_key`); give
        /// `header` or `query`.
        #[serde(default)]
        query: Option<String>,
        /// Text put before the key in the header (e.g. `"Token "`).
        #[serde(default)]
        prefix: Option<String>,
        /// Where the key comes from.
        key: SecretRef,
    },
    /// OAuth2 client credentials: a token is fetched from `token_url`,
    /// cached until it expires, and fetched again once on a 401.
    Oauth2 {
        /// The token endpoint (absolute URL, or a path under `base_url`).
        token_url: String,
        /// The client id.
        client_id: String,
        /// Where the client secret comes from.
        client_secret: SecretRef,
        /// The scope(s) to ask for, space-separated.
        #[serde(default)]
        scope: Option<String>,
    },
    /// A login request whose answer carries a session token (or sets a
    /// session cookie); sent before the first request, and once more when
    /// the session has expired (a 401).
    Session {
        /// The login endpoint, a path under `base_url` (or an absolute URL).
        login: String,
        /// The user name (or e-mail).
        user: String,
        /// Where the password comes from.
        password: SecretRef,
        /// The JSON body of the login request; `{user}` and `{password}`
        /// are replaced by the JSON-escaped values. Default:
        /// `{"email":"{user}","password":"{password}"}`.
        #[serde(default)]
        body: Option<String>,
        /// Where the token is in the login answer (a dotted path such as
        /// `data.access_token`). Without it, the session cookies the login
        /// sets are kept and sent instead.
        #[serde(default)]
        token: Option<String>,
        /// The header the token goes in (default `Authorization`).
        #[serde(default)]
        header: Option<String>,
        /// Text put before the token (default `"Bearer "`; `""` for none).
        #[serde(default)]
        prefix: Option<String>,
        /// How the system says, in a 2xx answer, that the session has
        /// expired (for systems that do not answer 401): `PATH=VALUE`, a
        /// dotted path into the JSON answer and the text found there, e.g.
        /// `errors.0.extensions.code=FORBIDDEN` (GraphQL). The client then
        /// logs in again once and repeats the request; a 401 always does.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expired: Option<String>,
    },
}

/// `http = { ... }`: timeouts, retries and rate limit. Every field has a
/// default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpOptions {
    /// Seconds to wait for a connection (default 10).
    pub connect_timeout_secs: u64,
    /// Seconds one request may take from start to end of the body (default 60).
    pub timeout_secs: u64,
    /// Retries of a failed read, or of a write that is safe to repeat (default 4).
    pub max_retries: usize,
    /// Cap of the first retry delay, in milliseconds (default 200); each
    /// retry doubles the cap, the delay is random below it (full jitter).
    pub retry_min_delay_ms: u64,
    /// Cap no retry delay exceeds, in milliseconds (default 10 000).
    pub retry_max_delay_ms: u64,
    /// The longest `Retry-After` honoured, in seconds (default 120). A
    /// system asking for longer fails the request as `rate_limit`.
    pub max_retry_after_secs: u64,
    /// Requests allowed per `rate_limit_period_secs` (none: no limit).
    pub rate_limit: Option<u32>,
    /// The period of `rate_limit`, in seconds (default 1).
    pub rate_limit_period_secs: u64,
    /// Requests that may go at once after a quiet spell (default:
    /// `rate_limit`). `1` spaces every request evenly, which a server
    /// counting requests in fixed windows (Directus) needs to never see
    /// more than `rate_limit` in one window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit_burst: Option<u32>,
    /// The most pages one listing may have before the pull stops with an
    /// error (default 100 000).
    pub max_pages: u64,
}

impl HttpOptions {
    /// True when every field has its default (then it is not written).
    pub fn is_default(&self) -> bool {
        self == &HttpOptions::default()
    }
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout_secs: 10,
            timeout_secs: 60,
            max_retries: 4,
            retry_min_delay_ms: 200,
            retry_max_delay_ms: 10_000,
            max_retry_after_secs: 120,
            rate_limit: None,
            rate_limit_period_secs: 1,
            rate_limit_burst: None,
            max_pages: 100_000,
        }
    }
}

/// `pagination = { style = "...", ... }`: how a listing is split into pages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "style", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// One request returns every record.
    #[default]
    None,
    /// `?offset=N&limit=M`; stops at the first empty page.
    Offset {
        /// The offset parameter (default `offset`).
        #[serde(default = "offset_param")]
        offset_param: String,
        /// The page size parameter (default `limit`).
        #[serde(default = "limit_param")]
        limit_param: String,
        /// Records per page (default 100).
        #[serde(default = "page_size")]
        limit: u32,
    },
    /// `?page=N&per_page=M`; stops at the first empty page.
    Page {
        /// The page number parameter (default `page`).
        #[serde(default = "page_param")]
        page_param: String,
        /// The page size parameter (default `per_page`).
        #[serde(default = "per_page_param")]
        size_param: String,
        /// Records per page (default 100).
        #[serde(default = "page_size")]
        size: u32,
        /// The number of the first page (default 1).
        #[serde(default = "first_page")]
        first: u64,
    },
    /// A cursor in the body: the value at `next` is sent back as
    /// `cursor_param`; stops when it is missing, null or empty.
    Cursor {
        /// Where the next cursor is in the answer (e.g. `paging.next.after`).
        next: String,
        /// The parameter that carries it (default `cursor`).
        #[serde(default = "cursor_param")]
        cursor_param: String,
        /// The page size parameter, if any (e.g. `limit`).
        #[serde(default)]
        limit_param: Option<String>,
        /// Records per page, sent as `limit_param` (default 100).
        #[serde(default = "page_size")]
        limit: u32,
    },
    /// The URL of the next page in the body, at `next`; stops when missing,
    /// null or empty.
    NextUrl {
        /// Where the next URL is in the answer (e.g. `links.next`).
        next: String,
        /// The page size parameter of the first request, if any.
        #[serde(default)]
        limit_param: Option<String>,
        /// Records per page (default 100).
        #[serde(default = "page_size")]
        limit: u32,
    },
    /// The `Link` header's `rel="next"` URL; stops when there is none.
    Link {
        /// The page size parameter of the first request, if any.
        #[serde(default)]
        limit_param: Option<String>,
        /// Records per page (default 100).
        #[serde(default = "page_size")]
        limit: u32,
    },
}

fn offset_param() -> String {
    "offset".into()
}
fn limit_param() -> String {
    "limit".into()
}
fn page_param() -> String {
    "page".into()
}
fn per_page_param() -> String {
    "per_page".into()
}
fn cursor_param() -> String {
    "cursor".into()
}
fn page_size() -> u32 {
    100
}
fn first_page() -> u64 {
    1
}
