//! The client against a tiny scripted server on a free local port: retries,
//! `Retry-After`, new logins on 401, redaction, plain-thread use.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use super::*;
use crate::config::SecretRef;

type Script = dyn Fn(usize, &str) -> String + Send + Sync;

/// A server answering each request with `script(n, request_text)` (a raw
/// HTTP response); it keeps every request it got.
struct Scripted {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Scripted {
    fn start(script: impl Fn(usize, &str) -> String + Send + Sync + 'static) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let script: Arc<Script> = Arc::new(script);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0u8; len];
                let _ = reader.read_exact(&mut body);
                head.push_str(&String::from_utf8_lossy(&body));
                let n = {
                    let mut l = log.lock().unwrap();
                    l.push(head.clone());
                    l.len()
                };
                let _ = stream.write_all(script(n, &head).as_bytes());
            }
        });
        Scripted { url, seen }
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn answer(status: &str, headers: &[&str], body: &str) -> String {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.push_str(body);
    out
}

fn fast() -> HttpOptions {
    HttpOptions {
        retry_min_delay_ms: 1,
        retry_max_delay_ms: 5,
        max_retries: 3,
        timeout_secs: 5,
        ..HttpOptions::default()
    }
}

#[test]
fn a_read_works_from_a_plain_thread_and_carries_the_user_agent() {
    let server = Scripted::start(|_, _| {
        answer(
            "200 OK",
            &["content-type: application/json"],
            r#"{"ok":true}"#,
        )
    });
    let url = server.url.clone();
    let json = std::thread::spawn(move || {
        let mut c = HttpClient::new("api", &url, &AuthConfig::None, &fast()).unwrap();
        c.send(&Request::get("/ping")).unwrap().json().unwrap()
    })
    .join()
    .expect("no panic on a plain thread");
    assert_eq!(json["ok"], true);
    let req = &server.requests()[0];
    assert!(
        req.to_ascii_lowercase()
            .contains(&format!("user-agent: {}", USER_AGENT.to_ascii_lowercase())),
        "{req}"
    );
}

#[test]
fn reads_are_retried_and_writes_sent_once() {
    let server = Scripted::start(|n, _| {
        if n % 3 != 0 {
            answer(
                "503 Service Unavailable",
                &[],
                r#"{"message":"warming up"}"#,
            )
        } else {
            answer("200 OK", &[], "{}")
        }
    });
    let mut c = HttpClient::new("api", &server.url, &AuthConfig::None, &fast()).unwrap();
    c.send(&Request::get("/r")).expect("the third try succeeds");
    assert_eq!(server.requests().len(), 3, "two retries");
    let err = c
        .send(&Request::write(
            reqwest::Method::POST,
            "/w",
            Some(serde_json::json!({"a":1})),
        ))
        .unwrap_err();
    assert_eq!(
        server.requests().len(),
        4,
        "a write that may apply twice is sent once"
    );
    assert_eq!(err.kind, Kind::Transient);
    assert_eq!(err.status, Some(503));
    assert!(
        err.message.contains("warming up"),
        "the system's message: {err}"
    );
    let mut safe = Request::write(reqwest::Method::PUT, "/w", None);
    safe.repeat = Repeat::Safe;
    c.send(&safe).expect("a safe write is retried");
}

#[test]
fn retry_after_is_honoured_up_to_the_cap() {
    let server = Scripted::start(|n, _| match n {
        1 => answer(
            "429 Too Many Requests",
            &["retry-after: 1", "x-request-id: r-1"],
            "{}",
        ),
        2 => answer("200 OK", &[], "{}"),
        _ => answer(
            "429 Too Many Requests",
            &["retry-after: 3600", "x-request-id: r-9"],
            r#"{"message":"slow down"}"#,
        ),
    });
    let mut c = HttpClient::new("api", &server.url, &AuthConfig::None, &fast()).unwrap();
    let start = std::time::Instant::now();
    c.send(&Request::get("/r")).unwrap();
    assert!(
        start.elapsed() >= std::time::Duration::from_millis(950),
        "waited as asked"
    );
    let err = c.send(&Request::get("/r")).unwrap_err();
    assert_eq!(
        server.requests().len(),
        3,
        "a wait past the cap is not waited"
    );
    assert_eq!(err.kind, Kind::RateLimit);
    assert_eq!(err.request_id.as_deref(), Some("r-9"));
    let text = err.into_error("api").to_string();
    assert!(
        text.contains("rate_limit error, HTTP 429")
            && text.contains("slow down")
            && text.contains("3600 s"),
        "{text}"
    );
}

#[test]
fn a_session_logs_in_again_once_on_401() {
    // SAFETY: tests in this module use distinct variable names.
    unsafe { std::env::set_var("TRUEUP_T_SESSION_PW", "pw-\"quoted\"-secret") };
    let server = Scripted::start(|n, req| {
        if req.starts_with("POST /auth/login") {
            let token = format!("tok{n}");
            return answer(
                "200 OK",
                &[],
                &format!(r#"{{"data":{{"access_token":"{token}"}}}}"#),
            );
        }
        // The first token expires at once; later ones work, except on /always.
        if req.contains("Bearer tok1") || req.starts_with("GET /always") {
            answer(
                "401 Unauthorized",
                &[],
                r#"{"errors":[{"message":"Token expired."}]}"#,
            )
        } else {
            answer("200 OK", &[], "{}")
        }
    });
    let auth = AuthConfig::Session {
        login: "/auth/login".into(),
        user: "a@b.c".into(),
        password: SecretRef::Env("TRUEUP_T_SESSION_PW".into()),
        body: None,
        token: Some("data.access_token".into()),
        header: None,
        prefix: None,
        expired: None,
    };
    let mut c = HttpClient::new("api", &server.url, &auth, &fast()).unwrap();
    c.send(&Request::get("/items"))
        .expect("works after a second login");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 4, "login, 401, login, ok: {reqs:#?}");
    assert!(
        reqs[0].contains(r#""password":"pw-\"quoted\"-secret""#),
        "the password is JSON-escaped"
    );
    let err = c.send(&Request::get("/always")).unwrap_err();
    assert_eq!(err.kind, Kind::Auth);
    assert_eq!(
        server.requests().len(),
        7,
        "401, one new login, 401: no loop"
    );
    let text = err.to_string();
    assert!(!text.contains("tok") && !text.contains("secret"), "{text}");
}

#[test]
fn a_session_expired_in_a_200_answer_logs_in_again_once_for_reads_and_writes() {
    // SAFETY: tests in this module use distinct variable names.
    unsafe { std::env::set_var("TRUEUP_T_SESSION2_PW", "pw-2") };
    const FORBIDDEN: &str = r#"{"errors":[{"message":"You are not currently authorized to perform this action","extensions":{"code":"FORBIDDEN"}}],"data":null}"#;
    let server = Scripted::start(|n, req| {
        if req.contains("\"login\"") {
            return answer(
                "200 OK",
                &[&format!("set-cookie: session=s{n}; Path=/")],
                "{}",
            );
        }
        // The first session expires after one answer; /never is refused to
        // every session (a real permission error).
        let first = req.contains("cookie: session=s1");
        if (first && !req.starts_with("GET /first")) || req.starts_with("POST /never") {
            answer("200 OK", &[], FORBIDDEN)
        } else {
            answer("200 OK", &[], r#"{"data":{"ok":true}}"#)
        }
    });
    let auth = AuthConfig::Session {
        login: "/login".into(),
        user: "a".into(),
        password: SecretRef::Env("TRUEUP_T_SESSION2_PW".into()),
        body: Some(r#"{"login":"{user}","p":"{password}"}"#.into()),
        token: None,
        header: None,
        prefix: None,
        expired: Some("errors.0.extensions.code=FORBIDDEN".into()),
    };
    let mut c = HttpClient::new("shop", &server.url, &auth, &fast()).unwrap();
    c.send(&Request::get("/first")).unwrap();
    assert_eq!(c.logins, 1);
    let read = c.send(&Request::get("/read")).unwrap();
    assert_eq!(
        read.body, br#"{"data":{"ok":true}}"#,
        "answered after a new login"
    );
    assert_eq!(c.logins, 2, "exactly one new login");
    // A write refused for an expired session was refused before anything
    // was applied: sent again after the new login, once.
    let reqs = server.requests();
    let writes_before = reqs.iter().filter(|r| r.starts_with("POST /never")).count();
    let refused = c
        .send(&Request::write(
            reqwest::Method::POST,
            "/never",
            Some(serde_json::json!({})),
        ))
        .expect("a 2xx answer");
    assert!(String::from_utf8_lossy(&refused.body).contains("FORBIDDEN"));
    let writes = server
        .requests()
        .iter()
        .filter(|r| r.starts_with("POST /never"))
        .count();
    assert_eq!(
        writes - writes_before,
        2,
        "sent, one new login, sent again: no loop"
    );
    assert_eq!(c.logins, 3, "one new login for the refused write");
    assert!(
        super::auth::Auth::resolve(
            &AuthConfig::Session {
                login: "/login".into(),
                user: "a".into(),
                password: SecretRef::Env("TRUEUP_T_SESSION2_PW".into()),
                body: None,
                token: None,
                header: None,
                prefix: None,
                expired: Some("FORBIDDEN".into()),
            },
            &mut super::redact::Secrets::default()
        )
        .unwrap_err()
        .to_string()
        .contains("PATH=VALUE")
    );
}

#[test]
fn secrets_never_appear_in_errors() {
    unsafe { std::env::set_var("TRUEUP_T_APIKEY", "k-8d7e6f5a4b") };
    let server = Scripted::start(|_, req| {
        // A careless server echoing the request back.
        answer(
            "400 Bad Request",
            &[],
            &serde_json::json!({"message": req}).to_string(),
        )
    });
    let auth = AuthConfig::ApiKey {
        header: None,
        query: Some("hapikey".into()),
        prefix: None,
        key: SecretRef::Env("TRUEUP_T_APIKEY".into()),
    };
    let mut c = HttpClient::new("api", &server.url, &auth, &fast()).unwrap();
    let err = c
        .send(&Request::get("/items").param("limit", "5"))
        .unwrap_err();
    let text = c.error(err).to_string();
    assert!(!text.contains("k-8d7e6f5a4b"), "{text}");
    assert!(
        text.contains("hapikey=REDACTED") && text.contains("limit=5"),
        "{text}"
    );
    assert!(
        server.requests()[0].contains("hapikey=k-8d7e6f5a4b"),
        "the key is sent"
    );
}

#[test]
fn a_refused_connection_is_a_network_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut c = HttpClient::new(
        "api",
        &format!("http://127.0.0.1:{port}"),
        &AuthConfig::None,
        &fast(),
    )
    .unwrap();
    let err = c.send(&Request::get("/x")).unwrap_err();
    assert_eq!(err.kind, Kind::Network);
    assert!(err.message.contains("cannot connect"), "{err}");
    assert!(err.message.contains("gave up after 3 retries"), "{err}");
}

#[test]
fn a_missing_secret_names_where_it_was_looked_for() {
    let auth = AuthConfig::Bearer {
        token: SecretRef::Env("TRUEUP_T_NOT_SET_ANYWHERE".into()),
    };
    let err = HttpClient::new("crm", "http://127.0.0.1:1", &auth, &fast()).unwrap_err();
    assert!(
        err.to_string().contains("TRUEUP_T_NOT_SET_ANYWHERE"),
        "{err}"
    );
}

#[test]
fn oauth2_token_is_fetched_cached_and_renewed_once_on_401() {
    unsafe { std::env::set_var("TRUEUP_T_OAUTH_SECRET", "cs-1a2b3c4d") };
    let server = Scripted::start(|n, req| {
        if req.starts_with("POST /oauth/token") {
            assert!(req.contains("grant_type=client_credentials"), "{req}");
            return answer(
                "200 OK",
                &[],
                &format!(r#"{{"access_token":"at-{n}","expires_in":3600}}"#),
            );
        }
        if req.contains("Bearer at-1") && req.starts_with("GET /third") {
            answer("401 Unauthorized", &[], "{}")
        } else {
            answer("200 OK", &[], "{}")
        }
    });
    let auth = AuthConfig::Oauth2 {
        token_url: "/oauth/token".into(),
        client_id: "trueup".into(),
        client_secret: SecretRef::Env("TRUEUP_T_OAUTH_SECRET".into()),
        scope: Some("crm.read".into()),
    };
    let mut c = HttpClient::new("api", &server.url, &auth, &fast()).unwrap();
    c.send(&Request::get("/first")).unwrap();
    c.send(&Request::get("/second")).unwrap();
    assert_eq!(server.requests().len(), 3, "one token for two requests");
    c.send(&Request::get("/third")).unwrap();
    let reqs = server.requests();
    assert_eq!(reqs.len(), 6, "401, new token, retried: {reqs:#?}");
    assert!(reqs[5].contains("Bearer at-5"), "{}", reqs[5]);
}

#[test]
fn a_burst_of_one_spaces_every_request() {
    let server = Scripted::start(|_, _| answer("200 OK", &[], "{}"));
    let options = HttpOptions {
        rate_limit: Some(20),
        rate_limit_burst: Some(1),
        ..fast()
    };
    let mut c = HttpClient::new("api", &server.url, &AuthConfig::None, &options).unwrap();
    let start = std::time::Instant::now();
    for _ in 0..5 {
        c.send(&Request::get("/r")).unwrap();
    }
    // No burst: one every 50 ms from the first, so at least 4 × 50 ms.
    assert!(
        start.elapsed() >= std::time::Duration::from_millis(195),
        "5 requests at 20/s without a burst cannot finish in {:?}",
        start.elapsed()
    );
    let zero = HttpOptions {
        rate_limit: Some(20),
        rate_limit_burst: Some(0),
        ..fast()
    };
    let err = HttpClient::new("api", &server.url, &AuthConfig::None, &zero).unwrap_err();
    assert!(err.to_string().contains("rate_limit_burst"), "{err}");
}

#[test]
fn the_rate_limit_spaces_requests() {
    let server = Scripted::start(|_, _| answer("200 OK", &[], "{}"));
    let options = HttpOptions {
        rate_limit: Some(4),
        ..fast()
    };
    // Two clients of one API share its budget.
    let mut a = HttpClient::new("api", &server.url, &AuthConfig::None, &options).unwrap();
    let mut b = HttpClient::new("api", &server.url, &AuthConfig::None, &options).unwrap();
    let start = std::time::Instant::now();
    for _ in 0..4 {
        a.send(&Request::get("/r")).unwrap();
        b.send(&Request::get("/r")).unwrap();
    }
    // A burst of 4, then one every 250 ms: at least 4 × 250 ms.
    assert!(
        start.elapsed() >= std::time::Duration::from_millis(950),
        "8 requests at 4/s cannot finish in {:?}",
        start.elapsed()
    );
}

#[test]
fn a_write_refused_with_retry_after_waits_but_is_not_resent() {
    let server = Scripted::start(|_, _| {
        answer(
            "429 Too Many Requests",
            &["retry-after: 1"],
            r#"{"message":"slow"}"#,
        )
    });
    let mut c = HttpClient::new("api", &server.url, &AuthConfig::None, &fast()).unwrap();
    let start = std::time::Instant::now();
    let err = c
        .send(&Request::write(reqwest::Method::POST, "/w", None))
        .unwrap_err();
    assert_eq!(err.kind, Kind::RateLimit);
    assert_eq!(server.requests().len(), 1, "sent once");
    assert!(
        start.elapsed() >= std::time::Duration::from_millis(950),
        "the asked wait is kept before the caller decides"
    );
}
