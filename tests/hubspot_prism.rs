//! The HubSpot preset checked against HubSpot's documented API shapes:
//! `prism proxy tests/openapi/hubspot-crm.yaml` sits between Trueup and the
//! local HubSpot server with `--errors`, so every request the preset makes
//! and every answer the server gives is validated against the OpenAPI file;
//! a violation turns into an error answer (and a line in prism's log), and
//! the test asserts that none happened.
//!
//! Needs `@stoplight/prism-cli` (`scripts/setup-prism.sh`); skipped with a
//! printed reason when it is missing, failed when `CI` is set.

mod support;

#[path = "support/hubspot_server.rs"]
mod hubspot_server;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use hubspot_server::HubspotServer;
use support::{TempWorkspace, ok};

const TOKEN: &str = "pat-na1-prism-0000-token";

/// The prism binary: `$PRISM`, or where `scripts/setup-prism.sh` puts it.
fn prism_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PRISM") {
        return Some(PathBuf::from(p));
    }
    let deps = std::env::var_os("TRUEUP_DEPS_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/trueup-deps"))
        })?;
    let bin = deps.join("prism/node_modules/.bin/prism");
    bin.exists().then_some(bin)
}

/// A running `prism proxy`; killed (by its own id) when dropped.
struct Prism {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prism {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts prism in front of `upstream`, or says why it cannot.
fn start_prism(upstream: &str, log_dir: &std::path::Path) -> Result<Prism, String> {
    let bin = prism_binary()
        .ok_or("prism is not installed: run scripts/setup-prism.sh (or set PRISM to its binary)")?;
    let spec = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/openapi/hubspot-crm.yaml");
    let port = free_port();
    let log = log_dir.join("prism.log");
    let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    let child = Command::new(&bin)
        .args(["proxy", spec.to_str().unwrap(), upstream, "--errors"])
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .stdout(out.try_clone().map_err(|e| e.to_string())?)
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let mut prism = Prism {
        child,
        url: format!("http://127.0.0.1:{port}"),
        log,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(prism);
        }
        if let Ok(Some(status)) = prism.child.try_wait() {
            let mut text = String::new();
            let _ = std::fs::File::open(&prism.log).and_then(|mut f| f.read_to_string(&mut text));
            return Err(format!("prism exited ({status}): {text}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("prism did not listen within 60 s: {}", prism.log()))
}

fn workspace(url: &str, people: &str) -> TempWorkspace {
    support::hubspot_workspace::workspace(
        url,
        people,
        (5, 20),
        &[
            ("email", "email"),
            ("firstname", "first"),
            ("phone", "phone"),
        ],
    )
}

fn run(ws: &TempWorkspace, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trueup"))
        .arg("-w")
        .arg(ws.path())
        .args(args)
        .env("USER", "tester")
        .env("TRUEUP_HUBSPOT_TOKEN", TOKEN)
        .output()
        .expect("run trueup")
}

fn push_json(ws: &TempWorkspace) -> serde_json::Value {
    let o = run(
        ws,
        &[
            "--json",
            "push",
            "c",
            "--min-delay-ms",
            "5",
            "--max-delay-ms",
            "50",
        ],
    );
    let out = support::stdout(&o);
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("push --json: {e}: {out}\n{}", support::stderr(&o)))
}

#[test]
fn every_request_and_answer_of_the_preset_matches_the_openapi_file() {
    let crm = HubspotServer::start(TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let prism = match start_prism(&crm.url, dir.path()) {
        Ok(p) => p,
        Err(why) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED hubspot_prism: {why}");
            return;
        }
        Err(why) => panic!("CI is set and prism cannot run: {why}"),
    };
    for i in 1..=130 {
        crm.seed(
            "contacts",
            &[
                ("email", &format!("c{i}@example.org")),
                ("firstname", &format!("First{i}")),
                ("lastname", &format!("Last{i}")),
                ("phone", &format!("+1 555 000 {i}")),
            ],
        );
    }
    let mut csv = String::from("email,first,phone\n");
    for i in 1..=130 {
        let phone = match i {
            // 105 updates (a batch of 100 and one of 5), one cleared phone.
            1..=104 => format!("+49 30 {i}"),
            105 => String::new(),
            _ => format!("+1 555 000 {i}"),
        };
        csv.push_str(&format!("c{i}@example.org,First{i},{phone}\n"));
    }
    csv.push_str("new1@example.org,New,+44 20 1\nnew2@example.org,New,+44 20 2\n");
    let ws = workspace(&prism.url, &csv);

    // Pull (two pages), with a 429 on the way.
    crm.rate_limit("GET", "/crm/v3/objects/contacts", 1, "1");
    ok(run(&ws, &["reconcile", "--pull", "c"]));
    ok(run(&ws, &["approve", "c", "--all"]));
    // Someone else edits c7 meanwhile: a conflict after the batch read.
    let c7 = crm.find("contacts", "email", "c7@example.org").unwrap();
    crm.edit("contacts", c7.id, "phone", "+33 1 someone else");
    // A 429 on the first batch update: its changes are re-read and sent
    // one by one (GET by idProperty, PATCH).
    crm.rate_limit("POST", "/batch/update", 1, "1");
    let report = push_json(&ws);
    assert_eq!(report["outcomes"]["applied"], 106, "{report}");
    assert_eq!(report["outcomes"]["conflict"], 1, "{report}");
    let c105 = crm.find("contacts", "email", "c105@example.org").unwrap();
    assert!(
        !c105.properties.contains_key("phone"),
        "a cleared value is sent as \"\" (HubSpot's way), and cleared"
    );
    assert!(crm.find("contacts", "email", "new2@example.org").is_some());

    // One change alone: a single re-read (GET by idProperty) and PATCH.
    ws.write(
        "people.csv",
        &csv.replace(
            "c130@example.org,First130,+1 555 000 130",
            "c130@example.org,First130,+1 999",
        )
        .replace(
            "c7@example.org,First7,+49 30 7",
            "c7@example.org,First7,+33 1 someone else",
        ),
    );
    ok(run(&ws, &["reconcile", "--pull", "c"]));
    ok(run(&ws, &["approve", "c", "--all"]));
    let report = push_json(&ws);
    assert_eq!(report["outcomes"]["applied"], 1, "{report}");

    // A refused write: HubSpot's error body, through prism.
    ws.write("people.csv", "email,first,phone\nnot-an-email,Bad,+1\n");
    ok(run(&ws, &["reconcile", "--pull", "c"]));
    // Orphans are refused by `approve --all` (never deleted by approval).
    let _ = run(&ws, &["approve", "c", "--all"]);
    let report = push_json(&ws);
    let text = report.to_string();
    assert!(
        text.contains("Email address not-an-email is invalid")
            && text.contains("[VALIDATION_ERROR]"),
        "{report}"
    );

    let requests = crm.requests();
    for kind in [
        "GET /crm/v3/objects/contacts?",
        "POST /crm/v3/objects/contacts/batch/read",
        "POST /crm/v3/objects/contacts/batch/update",
        "POST /crm/v3/objects/contacts/batch/create",
        "PATCH /crm/v3/objects/contacts/",
        "GET /crm/v3/objects/contacts/c",
        "POST /crm/v3/objects/contacts/search",
    ] {
        assert!(
            requests.iter().any(|r| r.starts_with(kind)),
            "the test exercised {kind}: {requests:?}"
        );
    }
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("GET /crm/v3/objects/contacts?")
                && r.ends_with("properties=email")),
        "the id-only listing of an incremental pull: {requests:?}"
    );
    let log = prism.log();
    for bad in ["✖", "UNPROCESSABLE", "VIOLATIONS"] {
        assert!(
            !log.contains(bad),
            "prism found a violation ({bad}):\n{log}"
        );
    }
    assert!(
        log.matches("Forwarding").count() >= requests.len(),
        "every request went through prism:\n{log}"
    );

    // The control: prism does refuse what the file does not allow.
    let status = raw_post(
        &prism.url,
        "/crm/v3/objects/contacts/batch/read",
        r#"{"inputs":[{"id":"c1@example.org"}]}"#,
    );
    assert_eq!(status, 422, "a batch read without properties is refused");
    assert!(prism.log().contains("✖"), "and logged as an error");
}

/// POSTs `body` with the test token; the HTTP status.
fn raw_post(base: &str, path: &str, body: &str) -> u16 {
    use std::io::Write;
    let addr = base.trim_start_matches("http://");
    let mut conn = TcpStream::connect(addr).unwrap();
    write!(
        conn,
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {TOKEN}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
