//! What a system's settings must hold, checked field by field without I/O
//! (the desktop form checks them as they are typed, the configuration when
//! it is loaded or saved), and where a system keeps its one secret.

use serde::Serialize;

use super::{SecretRef, SystemConfig};
use crate::connectors::http::{AuthConfig, HttpOptions};

/// A secret typed by a person and not stored yet. Its `Debug` never shows
/// it, and it cannot be serialised (see [`SecretRef::Typed`]).
#[derive(Clone, PartialEq, Eq)]
pub struct TypedSecret(String);

impl TypedSecret {
    /// Wraps a typed secret.
    pub fn new(secret: impl Into<String>) -> Self {
        TypedSecret(secret.into())
    }
    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for TypedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TypedSecret(REDACTED)")
    }
}

/// One field of a system's settings that is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    /// The field as written in `trueup.toml` under `[systems.NAME]`, dotted
    /// (`base_url`, `auth.user`, `http.timeout_secs`).
    pub field: String,
    /// What is wrong and what to do, for people.
    pub message: String,
}

impl SystemConfig {
    /// The field holding the system's secret (`password`, `auth.token`, ...),
    /// `None` for kinds without one (files, SQLite, REST without auth).
    pub fn secret_field(&self) -> Option<&'static str> {
        Some(match self {
            SystemConfig::Csv { .. } | SystemConfig::Xlsx { .. } | SystemConfig::Sqlite { .. } => {
                return None;
            }
            SystemConfig::Postgres { .. }
            | SystemConfig::Tryton { .. }
            | SystemConfig::Vendure(_) => "password",
            SystemConfig::Hubspot(_) => "token",
            SystemConfig::Rest(r) => match &r.auth {
                AuthConfig::None => return None,
                AuthConfig::Basic { .. } | AuthConfig::Session { .. } => "auth.password",
                AuthConfig::Bearer { .. } => "auth.token",
                AuthConfig::ApiKey { .. } => "auth.key",
                AuthConfig::Oauth2 { .. } => "auth.client_secret",
            },
        })
    }

    /// Where the system's secret comes from, when it has one configured.
    pub fn secret(&self) -> Option<&SecretRef> {
        match self {
            SystemConfig::Csv { .. } | SystemConfig::Xlsx { .. } | SystemConfig::Sqlite { .. } => {
                None
            }
            SystemConfig::Postgres { password, .. } => password.as_ref(),
            SystemConfig::Tryton { password, .. } => Some(password),
            SystemConfig::Hubspot(h) => Some(&h.token),
            SystemConfig::Vendure(v) => Some(&v.password),
            SystemConfig::Rest(r) => match &r.auth {
                AuthConfig::None => None,
                AuthConfig::Basic { password, .. } | AuthConfig::Session { password, .. } => {
                    Some(password)
                }
                AuthConfig::Bearer { token } => Some(token),
                AuthConfig::ApiKey { key, .. } => Some(key),
                AuthConfig::Oauth2 { client_secret, .. } => Some(client_secret),
            },
        }
    }

    /// Points the system's secret at `secret`; false for kinds without one.
    pub fn set_secret(&mut self, secret: SecretRef) -> bool {
        let slot = match self {
            SystemConfig::Csv { .. } | SystemConfig::Xlsx { .. } | SystemConfig::Sqlite { .. } => {
                return false;
            }
            SystemConfig::Postgres { password, .. } => {
                *password = Some(secret);
                return true;
            }
            SystemConfig::Tryton { password, .. } => password,
            SystemConfig::Hubspot(h) => &mut h.token,
            SystemConfig::Vendure(v) => &mut v.password,
            SystemConfig::Rest(r) => match &mut r.auth {
                AuthConfig::None => return false,
                AuthConfig::Basic { password, .. } | AuthConfig::Session { password, .. } => {
                    password
                }
                AuthConfig::Bearer { token } => token,
                AuthConfig::ApiKey { key, .. } => key,
                AuthConfig::Oauth2 { client_secret, .. } => client_secret,
            },
        };
        *slot = secret;
        true
    }

    /// The fields that are not acceptable, in form order; empty when the
    /// settings can be saved. `secret_typed`: a secret was typed to go to
    /// the keychain, so an empty keychain reference will be filled in.
    pub fn problems(&self, secret_typed: bool) -> Vec<FieldProblem> {
        let mut p = Problems(Vec::new());
        match self {
            SystemConfig::Csv { path, .. }
            | SystemConfig::Xlsx { path }
            | SystemConfig::Sqlite { path } => {
                p.required("path", &path.to_string_lossy(), "the file");
            }
            SystemConfig::Postgres {
                host,
                port,
                user,
                database,
                ..
            } => {
                p.required("host", host, "the server's host name or address");
                if *port == 0 {
                    p.add("port", "a port from 1 to 65535");
                }
                p.required("database", database, "the database name");
                p.required("user", user, "the user name");
            }
            SystemConfig::Tryton {
                url,
                database,
                user,
                page_size,
                http,
                ..
            } => {
                p.url("url", url);
                p.required("database", database, "the Tryton database name");
                p.required("user", user, "the login");
                if *page_size == Some(0) {
                    p.add("page_size", "at least 1 record per page");
                }
                p.http(http);
            }
            SystemConfig::Rest(r) => {
                p.url("base_url", &r.base_url);
                match &r.auth {
                    AuthConfig::None | AuthConfig::Bearer { .. } => {}
                    AuthConfig::Basic { user, .. } => {
                        p.required("auth.user", user, "the user name");
                    }
                    AuthConfig::ApiKey { header, query, .. } => {
                        let given =
                            |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
                        match (given(header), given(query)) {
                            (false, false) => p.add(
                                "auth.header",
                                "name the header (e.g. X-API-Key) or the query parameter carrying the key",
                            ),
                            (true, true) => p.add(
                                "auth.query",
                                "give the header or the query parameter, not both",
                            ),
                            _ => {}
                        }
                    }
                    AuthConfig::Oauth2 {
                        token_url,
                        client_id,
                        ..
                    } => {
                        p.required("auth.token_url", token_url, "the token endpoint");
                        p.required("auth.client_id", client_id, "the client id");
                    }
                    AuthConfig::Session { login, user, .. } => {
                        p.required("auth.login", login, "the login endpoint");
                        p.required("auth.user", user, "the user name");
                    }
                }
                if let Some(check) = &r.check
                    && !check.trim().is_empty()
                    && !check.starts_with('/')
                {
                    p.add("check", "a path under the base URL, starting with /");
                }
                p.http(&r.http);
            }
            SystemConfig::Hubspot(h) => {
                if let Some(url) = &h.base_url {
                    p.url("base_url", url);
                }
                if let Some(http) = &h.http {
                    p.http(http);
                }
            }
            SystemConfig::Vendure(v) => {
                p.url("base_url", &v.base_url);
                p.required("user", &v.user, "the administrator's identifier");
                if let Some(http) = &v.http {
                    p.http(http);
                }
            }
        }
        if let (Some(field), Some(secret)) = (self.secret_field(), self.secret()) {
            match secret {
                SecretRef::Env(var) if !env_name_ok(var) => p.add(
                    field,
                    &format!(
                        "{var:?} is not an environment variable name (letters, digits and _, not starting with a digit)"
                    ),
                ),
                SecretRef::Keychain(account) if account.trim().is_empty() && !secret_typed => {
                    p.add(
                        field,
                        "type the secret (it goes to the OS keychain), or name an environment variable",
                    )
                }
                _ => {}
            }
        }
        p.0
    }
}

fn env_name_ok(var: &str) -> bool {
    let mut chars = var.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

struct Problems(Vec<FieldProblem>);

impl Problems {
    fn add(&mut self, field: &str, message: &str) {
        self.0.push(FieldProblem {
            field: field.into(),
            message: message.into(),
        });
    }

    fn required(&mut self, field: &str, value: &str, what: &str) {
        if value.trim().is_empty() {
            self.add(field, &format!("give {what}"));
        }
    }

    fn url(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            return self.add(field, "give the URL, e.g. https://api.example.com");
        }
        if !value.contains("://") {
            return self.add(
                field,
                &format!(
                    "{value:?} is not an http:// or https:// URL: start it with http:// or https://"
                ),
            );
        }
        match reqwest::Url::parse(value.trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            Ok(u) if !matches!(u.scheme(), "http" | "https") => self.add(
                field,
                &format!("{value:?} is not an http:// or https:// URL"),
            ),
            Ok(_) => self.add(field, &format!("{value:?} names no host")),
            Err(e) => self.add(field, &format!("{value:?} is not a URL: {e}")),
        }
    }

    fn http(&mut self, h: &HttpOptions) {
        if h.connect_timeout_secs == 0 {
            self.add("http.connect_timeout_secs", "at least 1 second");
        }
        if h.timeout_secs == 0 {
            self.add("http.timeout_secs", "at least 1 second");
        }
        if h.rate_limit == Some(0) {
            self.add(
                "http.rate_limit",
                "at least 1 request per period (leave it empty for no limit)",
            );
        }
        if h.rate_limit_period_secs == 0 {
            self.add("http.rate_limit_period_secs", "at least 1 second");
        }
        if h.rate_limit_burst == Some(0) {
            self.add("http.rate_limit_burst", "at least 1");
        }
        if h.retry_min_delay_ms > h.retry_max_delay_ms {
            self.add(
                "http.retry_max_delay_ms",
                "at least the first retry delay (http.retry_min_delay_ms)",
            );
        }
        if h.max_pages == 0 {
            self.add("http.max_pages", "at least 1 page");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::rest::RestSystemConfig;

    fn rest(base_url: &str, auth: AuthConfig) -> SystemConfig {
        SystemConfig::Rest(RestSystemConfig {
            base_url: base_url.into(),
            auth,
            http: HttpOptions::default(),
            check: None,
            errors_at: None,
        })
    }

    fn fields(s: &SystemConfig, typed: bool) -> Vec<String> {
        s.problems(typed).into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn problems_name_their_field() {
        assert!(fields(&rest("https://api.example.com/v1", AuthConfig::None), false).is_empty());
        assert_eq!(
            fields(&rest("api.example.com", AuthConfig::None), false),
            ["base_url"]
        );
        assert_eq!(
            fields(&rest("ftp://x", AuthConfig::None), false),
            ["base_url"]
        );
        let basic = rest(
            "http://127.0.0.1:8080",
            AuthConfig::Basic {
                user: " ".into(),
                password: SecretRef::Keychain(String::new()),
            },
        );
        assert_eq!(fields(&basic, false), ["auth.user", "auth.password"]);
        assert_eq!(
            fields(&basic, true),
            ["auth.user"],
            "a typed secret fills the keychain reference"
        );
        let key = rest(
            "http://h",
            AuthConfig::ApiKey {
                header: None,
                query: None,
                prefix: None,
                key: SecretRef::Env("1BAD".into()),
            },
        );
        assert_eq!(fields(&key, false), ["auth.header", "auth.key"]);
        let mut slow = rest("http://h", AuthConfig::None);
        if let SystemConfig::Rest(r) = &mut slow {
            r.http.timeout_secs = 0;
            r.http.rate_limit = Some(0);
        }
        assert_eq!(
            fields(&slow, false),
            ["http.timeout_secs", "http.rate_limit"]
        );
    }

    #[test]
    fn the_secret_slot_of_each_kind() {
        let mut s = rest(
            "http://h",
            AuthConfig::Bearer {
                token: SecretRef::Env("T".into()),
            },
        );
        assert_eq!(s.secret_field(), Some("auth.token"));
        assert!(s.set_secret(SecretRef::Keychain("a".into())));
        assert_eq!(s.secret(), Some(&SecretRef::Keychain("a".into())));
        let mut none = rest("http://h", AuthConfig::None);
        assert!(!none.set_secret(SecretRef::Env("T".into())));
        assert_eq!(none.secret(), None);
    }

    #[test]
    fn a_typed_secret_is_never_shown_nor_written() {
        let typed = SecretRef::Typed(TypedSecret::new("canary-typed-91"));
        assert!(!format!("{typed:?}").contains("canary"));
        let s = rest("http://h", AuthConfig::Bearer { token: typed });
        assert!(format!("{s:?}").contains("REDACTED"));
        let err = toml::to_string(&s).unwrap_err().to_string();
        assert!(!err.contains("canary"), "{err}");
    }
}
