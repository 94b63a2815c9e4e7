//! Keeping secrets out of text: URLs lose the values of secret query
//! parameters, and every known secret value (passwords, tokens, API keys,
//! session tokens fetched at run time) is masked wherever it appears.

/// What replaces a secret.
pub const MASK: &str = "REDACTED";

/// Query parameter names whose values are always redacted (compared
/// case-insensitively, ignoring `-` and `_`).
const SECRET_PARAMS: &[&str] = &[
    "token",
    "accesstoken",
    "apikey",
    "key",
    "hapikey",
    "password",
    "passwd",
    "secret",
    "clientsecret",
    "signature",
    "sig",
    "auth",
    "authorization",
    "session",
    "sessionid",
    "refreshtoken",
];

fn secret_param(name: &str, extra: &[String]) -> bool {
    let norm: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .collect::<String>()
        .to_ascii_lowercase();
    SECRET_PARAMS.contains(&norm.as_str()) || extra.iter().any(|e| e.eq_ignore_ascii_case(name))
}

/// Known secret values, masked wherever they appear in text. Its `Debug`
/// shows how many, never which.
#[derive(Clone, Default)]
pub struct Secrets {
    values: Vec<String>,
    params: Vec<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} hidden)", self.values.len())
    }
}

impl Secrets {
    /// Adds a secret value (values shorter than 4 characters are not
    /// searched for: they would mask ordinary text; and they are not secrets).
    pub fn add(&mut self, value: &str) {
        if value.len() >= 4 && !self.values.iter().any(|v| v == value) {
            self.values.push(value.to_string());
            // Longest first, so a secret containing another is masked whole.
            self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
    }

    /// Adds a query parameter whose value is secret (an API key parameter).
    pub fn add_param(&mut self, name: &str) {
        self.params.push(name.to_string());
    }

    /// Masks every known secret in `text`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), MASK);
            }
            // Secrets also travel percent-encoded or base64-encoded.
            let enc = percent_encode(v);
            if enc != *v && out.contains(&enc) {
                out = out.replace(&enc, MASK);
            }
        }
        out
    }

    /// A URL as it may be shown: secret query values redacted, user info
    /// removed, known secrets masked.
    pub fn url(&self, url: &reqwest::Url) -> String {
        let mut u = url.clone();
        let _ = u.set_password(None);
        let _ = u.set_username("");
        if u.query().is_some() {
            let pairs: Vec<(String, String)> = u
                .query_pairs()
                .map(|(k, v)| {
                    let v = if secret_param(&k, &self.params) {
                        MASK.to_string()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            u.query_pairs_mut().clear().extend_pairs(pairs);
        }
        self.scrub(u.as_str())
    }
}

/// Standard base64 (with padding): how basic credentials travel.
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_secret_params_and_user_info() {
        let mut s = Secrets::default();
        s.add_param("x-my-key");
        let u = reqwest::Url::parse(
            "https://bob:pw@api.test/items?limit=5&api_key=K1&x-my-key=K2&Access_Token=K3",
        )
        .unwrap();
        let shown = s.url(&u);
        for secret in ["K1", "K2", "K3", "bob", "pw"] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
        assert!(shown.contains("limit=5"), "ordinary params stay: {shown}");
    }

    #[test]
    fn known_values_are_masked_raw_and_encoded() {
        let mut s = Secrets::default();
        s.add("s3cret/+value");
        s.add("abc"); // too short: ignored
        let text = "token s3cret/+value and s3cret%2F%2Bvalue and abc";
        let out = s.scrub(text);
        assert!(!out.contains("s3cret"), "{out}");
        assert!(out.contains("abc"), "short values are not searched: {out}");
        assert_eq!(base64(b"ann:pw"), "YW5uOnB3");
        assert!(!format!("{s:?}").contains("s3cret"), "Debug hides values");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
    }
}
