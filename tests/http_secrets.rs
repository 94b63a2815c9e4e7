//! Invariant 7 for HTTP systems: a bearer token, an API key and a login
//! password never appear in anything Trueup prints, in its errors, in the
//! cache or in the configuration, whether the credentials work or not.

mod support;

#[path = "support/http_server.rs"]
mod http_server;

use std::process::Command;

use http_server::ApiServer;
use support::TempWorkspace;

const TOKEN: &str = "canary-tok-5e1d9c7b";
const API_KEY: &str = "canary-key-a4f2b80c";
const PASSWORD: &str = "canary-pw-93be71d2";
/// What the login answers: a session token, secret as well.
const SESSION: &str = "canary-session-0c8e2f4a";
/// `ann:PASSWORD` in base64, as basic auth sends it.
const BASIC: &str = "YW5uOmNhbmFyeS1wdy05M2JlNzFkMg==";

fn config(url: &str, auth: &str) -> String {
    format!(
        r#"
[systems.erp]
kind = "csv"
path = "left.csv"

[systems.api]
kind = "rest"
base_url = "{url}"
auth = {auth}
http = {{ max_retries = 1, retry_min_delay_ms = 1, retry_max_delay_ms = 2, timeout_secs = 2 }}

[entities.l]
system = "erp"
id = ["no"]

[entities.items]
system = "api"
id = ["code"]

[entities.items.rest]
list = "/items"
records = "data"
record = "data"
id_field = "id"
get = "/items/{{id}}"
find = {{ code = "{{code}}" }}
create = "/items"
update = "/items/{{id}}"
read_only = ["id", "version", "updated_at"]
conditional = {{ mode = "if_match" }}

[reconciliations.c]
left = "l"
right = "items"
key = ["code"]

[[reconciliations.c.fields]]
target = "code"
source = "no"

[[reconciliations.c.fields]]
target = "email"
source = "email"
"#
    )
}

/// Runs every command touching the API with the secrets in the
/// environment; returns everything printed.
fn run_all(ws: &TempWorkspace) -> String {
    let commands: &[&[&str]] = &[
        &["systems", "list"],
        &["systems", "test", "api"],
        &["--json", "systems", "test", "api"],
        &["pull"],
        &["reconcile", "--pull", "c"],
        &["proposals", "c"],
        &["approve", "c", "--all"],
        &["push", "c", "--dry-run"],
        &["push", "c", "--min-delay-ms", "1", "--max-delay-ms", "2"],
        &["--json", "push", "c", "--retry-failed"],
        &["export", "c", "--what", "diff"],
        &["history"],
        &["--json", "history"],
    ];
    let mut printed = String::new();
    for args in commands {
        let out = Command::new(env!("CARGO_BIN_EXE_trueup"))
            .arg("-w")
            .arg(ws.path())
            .args(*args)
            .env("TRUEUP_T_TOKEN", TOKEN)
            .env("TRUEUP_T_KEY", API_KEY)
            .env("TRUEUP_T_PW", PASSWORD)
            .env("TRUEUP_LOG_RETRIES", "1")
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        printed.push_str(&String::from_utf8_lossy(&out.stdout));
        printed.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    printed
}

#[track_caller]
fn nowhere(ws: &TempWorkspace, printed: &str, what: &str) {
    for secret in [TOKEN, API_KEY, PASSWORD, SESSION, BASIC] {
        assert!(
            !printed.contains(secret),
            "{what}: printed output holds {secret}:\n{printed}"
        );
        for (path, bytes) in support::snapshot_files(ws.path()) {
            let hay = String::from_utf8_lossy(&bytes);
            assert!(
                !hay.contains(secret),
                "{what}: {} holds {secret}",
                path.display()
            );
        }
    }
}

#[test]
fn no_secret_appears_anywhere_with_good_or_bad_credentials() {
    let auths = [
        (
            "bearer",
            r#"{ type = "bearer", token = { env = "TRUEUP_T_TOKEN" } }"#,
        ),
        (
            "api key in the query",
            r#"{ type = "api_key", query = "api_key", key = { env = "TRUEUP_T_KEY" } }"#,
        ),
        (
            "api key in a header",
            r#"{ type = "api_key", header = "X-Api-Key", key = { env = "TRUEUP_T_KEY" } }"#,
        ),
        (
            "basic",
            r#"{ type = "basic", user = "ann", password = { env = "TRUEUP_T_PW" } }"#,
        ),
        (
            "oauth2",
            r#"{ type = "oauth2", token_url = "/oauth/token", client_id = "trueup", client_secret = { env = "TRUEUP_T_PW" } }"#,
        ),
        (
            "session",
            r#"{ type = "session", login = "/auth/login", user = "ann@example.org", password = { env = "TRUEUP_T_PW" }, token = "data.access_token" }"#,
        ),
    ];
    for (what, auth) in auths {
        for accepted in [true, false] {
            let api = ApiServer::start();
            api.seed(&[("C1", "Ann", "ann@old.org")]);
            match (what, accepted) {
                ("bearer", true) => api.require_bearer(TOKEN),
                ("session" | "oauth2", true) => api.require_login(PASSWORD, SESSION),
                ("session" | "oauth2", false) => api.require_login("another password", SESSION),
                // Refused: the server wants another token, and echoes requests in errors.
                (_, false) => api.require_bearer("another-token"),
                _ => {}
            }
            let ws = TempWorkspace::new(
                &config(&api.url, auth),
                &[("left.csv", "no,email\nC1,ann@new.org\nC2,bob@new.org\n")],
            );
            let printed = run_all(&ws);
            let label = format!("{what}, {}", if accepted { "accepted" } else { "refused" });
            if std::env::var_os("TRUEUP_T_SHOW").is_some() {
                eprintln!("=== {label}\n{printed}");
            }
            if accepted {
                assert!(
                    printed.contains("sample record of items"),
                    "{label}: {printed}"
                );
                assert_eq!(
                    api.by_code("C1").unwrap()["email"],
                    "ann@new.org",
                    "{label}: the push went through"
                );
            } else {
                assert!(
                    printed.contains("auth error, HTTP 401"),
                    "{label}: {printed}"
                );
            }
            nowhere(&ws, &printed, &label);
            // The secret did travel, where it belongs.
            let raw = api.state.lock().unwrap().raw.join("\n");
            let sent = match what {
                "bearer" => raw.contains(TOKEN),
                "session" | "oauth2" => raw.contains(PASSWORD),
                "basic" => raw.contains(BASIC),
                _ => raw.contains(API_KEY),
            };
            assert!(sent, "{label}: the credentials were sent");
        }
    }
}
