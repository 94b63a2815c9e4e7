//! Authentication at run time: the secrets resolved from their
//! [`SecretRef`](crate::config::SecretRef)s, and the tokens fetched with
//! them (OAuth2 access tokens, session tokens or cookies), cached until they
//! expire or the system answers 401.

use std::time::{Duration, Instant};

use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::{HeaderMap, SET_COOKIE};

use super::config::AuthConfig;
use super::error::{HttpError, Kind, body_message, request_id};
use super::json_path;
use super::redact::Secrets;
use crate::error::Result;

/// A token fetched at run time.
#[derive(Clone)]
pub(crate) enum Token {
    /// A header value (`Bearer abc`).
    Header(String),
    /// A `Cookie` header value.
    Cookie(String),
}

/// Authentication with its secrets resolved (its `Debug` shows the kind only).
pub(crate) enum Auth {
    None,
    Basic {
        user: String,
        password: String,
    },
    Header {
        name: String,
        value: String,
    },
    Query {
        name: String,
        value: String,
    },
    OAuth2 {
        token_url: String,
        client_id: String,
        client_secret: String,
        scope: Option<String>,
        token: Option<(String, Option<Instant>)>,
    },
    Session {
        login: String,
        user: String,
        password: String,
        body: String,
        token_path: Option<String>,
        header: String,
        prefix: String,
        /// The sign of an expired session in a 2xx answer: (path, text).
        expired: Option<(String, String)>,
        token: Option<Token>,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Auth::None => "none",
            Auth::Basic { .. } => "basic",
            Auth::Header { .. } => "header",
            Auth::Query { .. } => "query",
            Auth::OAuth2 { .. } => "oauth2",
            Auth::Session { .. } => "session",
        };
        write!(f, "Auth({kind}, secrets hidden)")
    }
}

impl Auth {
    /// Resolves the secrets of `config`, registering each with `secrets`.
    pub(crate) fn resolve(config: &AuthConfig, secrets: &mut Secrets) -> Result<Auth> {
        let mut secret = |r: &crate::config::SecretRef| -> Result<String> {
            let v = r.resolve()?;
            secrets.add(&v);
            Ok(v)
        };
        Ok(match config {
            AuthConfig::None => Auth::None,
            AuthConfig::Basic { user, password } => {
                let password = secret(password)?;
                secrets.add(&super::redact::base64(
                    format!("{user}:{password}").as_bytes(),
                ));
                Auth::Basic {
                    user: user.clone(),
                    password,
                }
            }
            AuthConfig::Bearer { token } => Auth::Header {
                name: "Authorization".into(),
                value: format!("Bearer {}", secret(token)?),
            },
            AuthConfig::ApiKey {
                header,
                query,
                prefix,
                key,
            } => {
                let key = secret(key)?;
                match (header, query) {
                    (Some(h), None) => Auth::Header {
                        name: h.clone(),
                        value: format!("{}{key}", prefix.as_deref().unwrap_or("")),
                    },
                    (None, Some(q)) => {
                        secrets.add_param(q);
                        Auth::Query {
                            name: q.clone(),
                            value: key,
                        }
                    }
                    _ => {
                        return Err(crate::Error::Invalid(
                            "auth type api_key: give either `header` or `query`".into(),
                        ));
                    }
                }
            }
            AuthConfig::Oauth2 {
                token_url,
                client_id,
                client_secret,
                scope,
            } => Auth::OAuth2 {
                token_url: token_url.clone(),
                client_id: client_id.clone(),
                client_secret: secret(client_secret)?,
                scope: scope.clone(),
                token: None,
            },
            AuthConfig::Session {
                login,
                user,
                password,
                body,
                token,
                header,
                prefix,
                expired,
            } => Auth::Session {
                expired: match expired.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some(sign) => match sign.split_once('=') {
                        Some((path, value))
                            if !path.trim().is_empty() && !value.trim().is_empty() =>
                        {
                            Some((path.trim().to_string(), value.trim().to_string()))
                        }
                        _ => {
                            return Err(crate::Error::Invalid(format!(
                                "auth type session: expired = {sign:?} is not PATH=VALUE \
                                 (e.g. \"errors.0.extensions.code=FORBIDDEN\")"
                            )));
                        }
                    },
                },
                login: login.clone(),
                user: user.clone(),
                password: secret(password)?,
                body: body
                    .clone()
                    .unwrap_or_else(|| r#"{"email":"{user}","password":"{password}"}"#.into()),
                token_path: token.clone(),
                header: header.clone().unwrap_or_else(|| "Authorization".into()),
                prefix: prefix.clone().unwrap_or_else(|| "Bearer ".into()),
                token: None,
            },
        })
    }

    /// True when a 401 may be cured by fetching a new token.
    pub(crate) fn renewable(&self) -> bool {
        matches!(self, Auth::OAuth2 { .. } | Auth::Session { .. })
    }

    /// True when a token (or session) is cached.
    pub(crate) fn has_token(&self) -> bool {
        match self {
            Auth::OAuth2 { token, .. } => token.is_some(),
            Auth::Session { token, .. } => token.is_some(),
            _ => false,
        }
    }

    /// True when `body`, a 2xx answer to a request made with a session,
    /// carries the configured sign that the session has expired (Vendure:
    /// a GraphQL error coded `FORBIDDEN`, with HTTP 200).
    pub(crate) fn expired(&self, body: &[u8]) -> bool {
        let Auth::Session {
            expired: Some((path, value)),
            token: Some(_),
            ..
        } = self
        else {
            return false;
        };
        // Most answers are pages of records: look for the text before
        // parsing.
        if !body.windows(value.len()).any(|w| w == value.as_bytes()) {
            return false;
        }
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
            return false;
        };
        json_path::get(&json, path)
            .and_then(json_path::text)
            .is_some_and(|t| t == *value)
    }

    /// Forgets the cached token: the next request fetches a new one.
    pub(crate) fn invalidate(&mut self) {
        match self {
            Auth::OAuth2 { token, .. } => *token = None,
            Auth::Session { token, .. } => *token = None,
            _ => {}
        }
    }

    /// Adds the credentials to a request, fetching a token first when none
    /// is cached (or it has expired).
    pub(crate) fn apply(
        &mut self,
        client: &Client,
        base: &reqwest::Url,
        secrets: &mut Secrets,
        req: RequestBuilder,
    ) -> std::result::Result<RequestBuilder, HttpError> {
        Ok(match self {
            Auth::None => req,
            Auth::Basic { user, password } => req.basic_auth(user, Some(password)),
            Auth::Header { name, value } => req.header(name.as_str(), value.as_str()),
            Auth::Query { name, value } => req.query(&[(name.as_str(), value.as_str())]),
            Auth::OAuth2 {
                token_url,
                client_id,
                client_secret,
                scope,
                token,
            } => {
                let fresh = matches!(token, Some((_, Some(exp))) if Instant::now() >= *exp);
                if token.is_none() || fresh {
                    let url = join(base, token_url, secrets)?;
                    let shown = format!("POST {}", secrets.url(&url));
                    let mut form = vec![
                        ("grant_type", "client_credentials"),
                        ("client_id", client_id.as_str()),
                        ("client_secret", client_secret.as_str()),
                    ];
                    if let Some(s) = scope {
                        form.push(("scope", s.as_str()));
                    }
                    let resp = client
                        .post(url)
                        .form(&form)
                        .send()
                        .map_err(|e| super::client::transport_error(&shown, &e, secrets))?;
                    let json = login_answer(resp, &shown, secrets)?;
                    let access = json_path::get(&json, "access_token")
                        .and_then(|v| v.as_str())
                        .ok_or_else(|| {
                            HttpError::new(
                                Kind::Auth,
                                &shown,
                                format!(
                                    "the token answer has no access_token; it said: {}",
                                    answer_excerpt(&json, secrets)
                                ),
                            )
                        })?
                        .to_string();
                    secrets.add(&access);
                    let expiry = json_path::get(&json, "expires_in")
                        .and_then(|v| v.as_u64())
                        .map(|s| Instant::now() + Duration::from_secs(s.saturating_sub(30).max(1)));
                    *token = Some((access, expiry));
                }
                let (t, _) = token.as_ref().expect("fetched above");
                req.bearer_auth(t)
            }
            Auth::Session {
                login,
                user,
                password,
                body,
                token_path,
                header,
                prefix,
                token,
                ..
            } => {
                if token.is_none() {
                    let url = join(base, login, secrets)?;
                    let shown = format!("POST {}", secrets.url(&url));
                    let esc = |s: &str| {
                        let q = serde_json::to_string(s).expect("a string serialises");
                        q[1..q.len() - 1].to_string()
                    };
                    let text = body
                        .replace("{user}", &esc(user))
                        .replace("{password}", &esc(password));
                    let resp = client
                        .post(url)
                        .header("content-type", "application/json")
                        .body(text)
                        .send()
                        .map_err(|e| super::client::transport_error(&shown, &e, secrets))?;
                    let cookies = session_cookies(resp.headers());
                    let json = login_answer(resp, &shown, secrets)?;
                    *token = Some(match token_path {
                        Some(path) => {
                            let t = json_path::get(&json, path)
                                .and_then(|v| v.as_str())
                                .ok_or_else(|| {
                                    HttpError::new(
                                        Kind::Auth,
                                        &shown,
                                        format!(
                                            "the login answer has no token at {path:?}; it said: {}",
                                            answer_excerpt(&json, secrets)
                                        ),
                                    )
                                })?;
                            secrets.add(t);
                            Token::Header(format!("{prefix}{t}"))
                        }
                        None => {
                            if cookies.is_empty() {
                                return Err(HttpError::new(
                                    Kind::Auth,
                                    &shown,
                                    format!(
                                        "the login answer sets no session cookie (name the token's \
                                         place in the answer with `token`); it said: {}",
                                        answer_excerpt(&json, secrets)
                                    ),
                                ));
                            }
                            for c in &cookies {
                                if let Some((_, v)) = c.split_once('=') {
                                    secrets.add(v);
                                }
                            }
                            Token::Cookie(cookies.join("; "))
                        }
                    });
                }
                match token.as_ref().expect("logged in above") {
                    Token::Header(v) => req.header(header.as_str(), v.as_str()),
                    Token::Cookie(v) => req.header("cookie", v.as_str()),
                }
            }
        })
    }
}

/// Resolves a path against the base URL (or takes an absolute URL).
pub(crate) fn join(
    base: &reqwest::Url,
    path: &str,
    secrets: &Secrets,
) -> std::result::Result<reqwest::Url, HttpError> {
    let joined = if path.starts_with("http://") || path.starts_with("https://") {
        reqwest::Url::parse(path)
    } else {
        let mut b = base.as_str().trim_end_matches('/').to_string();
        b.push('/');
        b.push_str(path.trim_start_matches('/'));
        reqwest::Url::parse(&b)
    };
    joined.map_err(|e| {
        HttpError::new(
            Kind::Protocol,
            secrets.scrub(path),
            format!("not a valid URL: {e}"),
        )
    })
}

/// The `name=value` pairs of the cookies a response sets.
fn session_cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(|s| s.trim().to_string())
        .filter(|s| s.contains('='))
        .collect()
}

/// The JSON of a login or token answer; any failure is an auth error.
/// What a system answered to a login that gave no token: its JSON,
/// secrets scrubbed, cut at 300 bytes.
fn answer_excerpt(json: &serde_json::Value, secrets: &Secrets) -> String {
    let mut text = secrets.scrub(&json.to_string());
    if text.len() > 300 {
        let cut = (0..=300).rev().find(|&i| text.is_char_boundary(i));
        text.truncate(cut.unwrap_or(0));
        text.push('…');
    }
    text
}

fn login_answer(
    resp: reqwest::blocking::Response,
    shown: &str,
    secrets: &Secrets,
) -> std::result::Result<serde_json::Value, HttpError> {
    let status = resp.status().as_u16();
    let rid = request_id(resp.headers());
    let body = resp
        .bytes()
        .map_err(|e| super::client::transport_error(shown, &e, secrets))?;
    if !(200..300).contains(&status) {
        let kind = match Kind::of_status(status) {
            k @ (Kind::RateLimit | Kind::Transient) => k,
            _ => Kind::Auth,
        };
        return Err(HttpError {
            kind,
            status: Some(status),
            request: shown.to_string(),
            message: format!("logging in failed: {}", secrets.scrub(&body_message(&body))),
            request_id: rid,
            retry_after: None,
        });
    }
    serde_json::from_slice(&body).map_err(|e| {
        HttpError::new(
            Kind::Protocol,
            shown,
            format!("the login answer is not JSON: {e}"),
        )
    })
}
