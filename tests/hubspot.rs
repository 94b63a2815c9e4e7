//! The HubSpot preset (`kind = "hubspot"`) against a local server that
//! behaves as HubSpot documents it (`tests/support/hubspot_server.rs`):
//! pull contacts, reconcile them against a CSV file, approve, push (batch
//! updates and creates of at most 100), check the server; 429 with
//! `Retry-After` ridden out; HubSpot's error message and correlation id
//! shown; a contact changed between pull and push is a conflict (re-read).

mod support;

#[path = "support/hubspot_server.rs"]
mod hubspot_server;

use std::process::{Command, Output};

use hubspot_server::HubspotServer;
use support::{TempWorkspace, fails, ok};

const TOKEN: &str = "pat-na1-test-0000-token";

/// A workspace reconciling `people.csv` (email, first, last, phone) into
/// the CRM's contacts, known by e-mail.
fn workspace(crm: &HubspotServer, people: &str) -> TempWorkspace {
    support::hubspot_workspace::workspace(
        &crm.url,
        people,
        (2, 5),
        &[
            ("email", "email"),
            ("firstname", "first"),
            ("lastname", "last"),
            ("phone", "phone"),
        ],
    )
}

/// Runs the CLI with the token in the environment.
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

/// `n` contacts on the server: c1@example.org .. with phone `+1 555 000 i`.
fn seed(crm: &HubspotServer, n: usize) {
    for i in 1..=n {
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
}

/// The CSV: the same `n` contacts, the phone changed for those in
/// `changed`, plus `new` contacts.
fn people(n: usize, changed: &[usize], new: &[&str]) -> String {
    let mut out = String::from("email,first,last,phone\n");
    for i in 1..=n {
        let phone = if changed.contains(&i) {
            format!("+49 30 {i}")
        } else {
            format!("+1 555 000 {i}")
        };
        out.push_str(&format!("c{i}@example.org,First{i},Last{i},{phone}\n"));
    }
    for email in new {
        out.push_str(&format!("{email},New,Person,+44 20 1\n"));
    }
    out
}

/// Pushes; the report (the exit status says whether every change applied).
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

fn phone(crm: &HubspotServer, email: &str) -> String {
    crm.find("contacts", "email", email)
        .unwrap_or_else(|| panic!("{email} exists"))
        .properties["phone"]
        .clone()
}

#[test]
fn pull_reconcile_and_push_contacts_in_batches_of_a_hundred() {
    let crm = HubspotServer::start(TOKEN);
    seed(&crm, 250);
    let changed: Vec<usize> = (1..=120).map(|i| i * 2).collect();
    let ws = workspace(
        &crm,
        &people(250, &changed, &["new1@example.org", "new2@example.org"]),
    );
    let out = ok(run(&ws, &["--json", "pull", "contacts"]));
    assert!(out.contains("\"records\": 250"), "{out}");
    let pages: Vec<String> = crm
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("GET /crm/v3/objects/contacts?"))
        .collect();
    assert_eq!(pages.len(), 3, "250 contacts at 100 a page: {pages:?}");
    assert!(
        pages[0].contains("limit=100") && pages[0].contains("properties=email,firstname"),
        "HubSpot's paging and properties parameters: {}",
        pages[0]
    );
    assert!(
        pages[1].contains("after="),
        "the after cursor: {}",
        pages[1]
    );

    ok(run(&ws, &["pull", "people"]));
    ok(run(&ws, &["reconcile", "c"]));
    ok(run(&ws, &["approve", "c", "--all"]));
    let before = crm.requests().len();
    let report = push_json(&ws);
    assert_eq!(report["outcomes"]["applied"], 122, "{report}");
    for i in [2, 120, 240] {
        assert_eq!(
            phone(&crm, &format!("c{i}@example.org")),
            format!("+49 30 {i}")
        );
    }
    assert_eq!(phone(&crm, &format!("c{}@example.org", 3)), "+1 555 000 3");
    let new1 = crm
        .find("contacts", "email", "new1@example.org")
        .expect("created");
    assert_eq!(new1.properties["firstname"], "New");
    assert_eq!(crm.total_effects(), 122, "one effect per approved change");
    for i in &changed {
        let c = crm
            .find("contacts", "email", &format!("c{i}@example.org"))
            .unwrap();
        assert_eq!(crm.effects("contacts", c.id), 1, "c{i} written once");
    }
    let sent: Vec<String> = crm.requests()[before..].to_vec();
    let batch_writes = sent
        .iter()
        .filter(|r| r.contains("/batch/update") || r.contains("/batch/create"))
        .count();
    let single_writes = sent
        .iter()
        .filter(|r| r.starts_with("PATCH ") || r.starts_with("POST /crm/v3/objects/contacts?"))
        .count();
    assert_eq!(single_writes, 0, "everything went in batches: {sent:?}");
    assert!(
        batch_writes <= 4,
        "122 changes in batches of at most 100: {batch_writes} requests"
    );
    let sizes = crm.state.lock().unwrap().batch_sizes.clone();
    assert_eq!(sizes.iter().sum::<usize>(), 122, "{sizes:?}");
    assert!(sizes.iter().all(|s| *s <= 100), "{sizes:?}");
    assert!(
        sent.iter()
            .any(|r| r.starts_with("POST /crm/v3/objects/contacts/batch/read")),
        "updates re-read in batches first: {sent:?}"
    );

    // A second push has nothing to send.
    let report = push_json(&ws);
    assert!(
        report["outcomes"].as_object().is_none_or(|o| o.is_empty()),
        "{report}"
    );
    assert_eq!(crm.total_effects(), 122);
}

#[test]
fn a_429_with_retry_after_is_waited_out_without_a_failure() {
    let crm = HubspotServer::start(TOKEN);
    seed(&crm, 30);
    let ws = workspace(&crm, &people(30, &[1, 2, 3, 4, 5], &[]));
    crm.rate_limit("GET", "/crm/v3/objects/contacts", 1, "1");
    let out = ok(run(&ws, &["--json", "pull", "contacts"]));
    assert!(out.contains("\"records\": 30"), "{out}");
    ok(run(&ws, &["pull", "people"]));
    ok(run(&ws, &["reconcile", "c"]));
    ok(run(&ws, &["approve", "c", "--all"]));
    crm.rate_limit("POST", "/batch/read", 1, "1");
    crm.rate_limit("POST", "/batch/update", 1, "1");
    let started = std::time::Instant::now();
    let report = push_json(&ws);
    assert_eq!(report["outcomes"]["applied"], 5, "{report}");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "both Retry-After waits were honoured"
    );
    for i in 1..=5 {
        assert_eq!(
            phone(&crm, &format!("c{i}@example.org")),
            format!("+49 30 {i}")
        );
    }
    assert_eq!(
        crm.total_effects(),
        5,
        "one effect each, the refused batch applied nothing"
    );
    let requests = crm.requests();
    let batch_updates = requests
        .iter()
        .filter(|r| r.starts_with("POST /crm/v3/objects/contacts/batch/update"))
        .count();
    assert_eq!(
        batch_updates, 2,
        "the refused batch was read, compared and sent again as a batch: {requests:?}"
    );
    assert!(
        !requests.iter().any(|r| r.starts_with("PATCH ")),
        "no fallback to single writes: {requests:?}"
    );
}

#[test]
fn hubspot_error_message_category_and_correlation_id_are_shown() {
    let crm = HubspotServer::start(TOKEN);
    seed(&crm, 2);
    let ws = workspace(&crm, &people(2, &[], &["not-an-email"]));
    // A wrong token: HubSpot's 401 body.
    let bad = Command::new(env!("CARGO_BIN_EXE_trueup"))
        .arg("-w")
        .arg(ws.path())
        .args(["systems", "test", "crm"])
        .env("TRUEUP_HUBSPOT_TOKEN", "pat-wrong")
        .output()
        .unwrap();
    let err = fails(bad);
    assert!(err.contains("auth error, HTTP 401"), "{err}");
    assert!(
        err.contains("Authentication credentials not found"),
        "{err}"
    );
    assert!(
        err.contains("[INVALID_AUTHENTICATION]"),
        "the category: {err}"
    );
    assert!(
        err.contains("request id c0ffee00-"),
        "the correlation id: {err}"
    );
    assert!(!err.contains("pat-wrong"), "no token in errors: {err}");

    // A refused create: the message is in the push report.
    ok(run(&ws, &["reconcile", "--pull", "c"]));
    ok(run(&ws, &["approve", "c", "--all"]));
    let report = push_json(&ws);
    let text = report.to_string();
    assert!(
        text.contains("Email address not-an-email is invalid"),
        "{text}"
    );
    assert!(text.contains("VALIDATION_ERROR"), "{text}");
    assert!(text.contains("c0ffee00-"), "the correlation id: {text}");
    assert_eq!(crm.total_effects(), 0);
}

#[test]
fn a_contact_changed_between_pull_and_push_is_a_conflict() {
    let crm = HubspotServer::start(TOKEN);
    seed(&crm, 5);
    let ws = workspace(&crm, &people(5, &[1, 2, 3], &[]));
    let out = ok(run(&ws, &["systems", "test", "crm"]));
    assert!(
        out.contains("crm: ok") && out.contains("c1@example.org"),
        "the connection check shows a sample contact: {out}"
    );
    ok(run(&ws, &["reconcile", "--pull", "c"]));
    ok(run(&ws, &["approve", "c", "--all"]));
    let c2 = crm.find("contacts", "email", "c2@example.org").unwrap();
    crm.edit("contacts", c2.id, "phone", "+33 1 someone else");
    let report = push_json(&ws);
    assert_eq!(report["outcomes"]["applied"], 2, "{report}");
    assert_eq!(report["outcomes"]["conflict"], 1, "{report}");
    assert_eq!(
        phone(&crm, "c2@example.org"),
        "+33 1 someone else",
        "the other person's change is kept"
    );
    assert_eq!(crm.effects("contacts", c2.id), 0, "nothing written to c2");
    assert_eq!(phone(&crm, "c1@example.org"), "+49 30 1");
    assert_eq!(phone(&crm, "c3@example.org"), "+49 30 3");
}

fn pull(ws: &TempWorkspace) -> serde_json::Value {
    let out = ok(run(ws, &["--json", "pull", "contacts"]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v[0].clone()
}

#[test]
fn a_second_pull_searches_only_what_changed_and_finds_deletes() {
    let crm = HubspotServer::start(TOKEN);
    seed(&crm, 150);
    let ws = workspace(&crm, &people(1, &[], &[]));
    let first = pull(&ws);
    assert_eq!(first["records"], 150, "{first}");

    let c5 = crm.find("contacts", "email", "c5@example.org").unwrap();
    crm.edit("contacts", c5.id, "phone", "+49 5");
    let c7 = crm.find("contacts", "email", "c7@example.org").unwrap();
    crm.remove("contacts", c7.id);
    crm.seed(
        "contacts",
        &[("email", "late@example.org"), ("firstname", "Late")],
    );
    crm.state.lock().unwrap().requests.clear();
    let second = pull(&ws);
    assert_eq!(
        (
            second["records"].as_u64(),
            second["added"].as_u64(),
            second["changed"].as_u64(),
            second["removed"].as_u64()
        ),
        (Some(150), Some(1), Some(1), Some(1)),
        "{second}"
    );
    let reqs = crm.requests();
    assert!(
        reqs[0].starts_with("POST /crm/v3/objects/contacts/search"),
        "asks the search for changes only: {reqs:?}"
    );
    let ids: Vec<&String> = reqs.iter().filter(|r| r.starts_with("GET ")).collect();
    assert_eq!(
        ids.len(),
        2,
        "an id-only listing of 150 at 100 a page: {reqs:?}"
    );
    assert!(
        ids[0].contains("properties=email") && !ids[0].contains("firstname"),
        "the id-only listing asks for the key property only: {}",
        ids[0]
    );

    // The cache is exactly what a full pull gives.
    let fresh = workspace(&crm, &people(1, &[], &[]));
    let config = std::fs::read_to_string(fresh.path().join("trueup.toml")).unwrap();
    fresh.write(
        "trueup.toml",
        &config.replace(
            "object = \"contacts\"",
            "object = \"contacts\"\nincremental = false",
        ),
    );
    pull(&fresh);
    assert_eq!(ws.cached("contacts"), fresh.cached("contacts"));
    let search = crm
        .requests()
        .iter()
        .filter(|r| r.contains("/search"))
        .count();
    assert_eq!(
        search, 1,
        "the fresh workspace read the listing, not the search"
    );
}

#[test]
fn companies_known_by_hubspots_record_id_update_in_batches_and_create_one_by_one() {
    let crm = HubspotServer::start(TOKEN);
    for i in 1..=5 {
        crm.seed(
            "companies",
            &[
                ("name", &format!("Company {i}")),
                ("domain", &format!("co{i}.example")),
                ("city", "Berlin"),
            ],
        );
    }
    let config = format!(
        r#"
[systems.erp]
kind = "csv"
path = "companies.csv"

[systems.crm]
kind = "hubspot"
token = {{ env = "TRUEUP_HUBSPOT_TOKEN" }}
base_url = "{url}"

[entities.erp]
system = "erp"
id = ["domain"]

[entities.companies]
system = "crm"
id = ["id"]

[entities.companies.hubspot]
object = "companies"
properties = ["name", "domain", "city"]

[reconciliations.co]
left = "erp"
right = "companies"
key = ["domain"]

[[reconciliations.co.fields]]
target = "domain"
source = "domain"

[[reconciliations.co.fields]]
target = "name"
source = "name"

[[reconciliations.co.fields]]
target = "city"
source = "city"
"#,
        url = crm.url
    );
    let mut csv = String::from("domain,name,city\n");
    for i in 1..=5 {
        let city = if i <= 3 { "Hamburg" } else { "Berlin" };
        csv.push_str(&format!("co{i}.example,Company {i},{city}\n"));
    }
    csv.push_str("new.example,New Company,Munich\n");
    let ws = TempWorkspace::new(&config, &[("companies.csv", &csv)]);
    ok(run(&ws, &["reconcile", "--pull", "co"]));
    ok(run(&ws, &["approve", "co", "--all"]));
    let o = run(&ws, &["--json", "push", "co"]);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", support::stderr(&o)));
    assert_eq!(report["outcomes"]["applied"], 4, "{report}");
    for i in 1..=3 {
        let c = crm
            .find("companies", "domain", &format!("co{i}.example"))
            .unwrap();
        assert_eq!(c.properties["city"], "Hamburg");
        assert_eq!(crm.effects("companies", c.id), 1);
    }
    let new = crm
        .find("companies", "domain", "new.example")
        .expect("created");
    assert_eq!(new.properties["city"], "Munich");
    let requests = crm.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("POST /crm/v3/objects/companies/batch/update")),
        "updates by record id go in a batch: {requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("POST /crm/v3/objects/companies?")),
        "a create without an external reference goes alone: {requests:?}"
    );
    let ids = report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["match_key"] == "new.example")
        .map(|e| e["target_id"].to_string())
        .unwrap();
    assert!(
        ids.contains(&new.id.to_string()),
        "the created id is journaled: {ids}"
    );
}

/// `ws`'s configuration with `from` replaced by `to`.
fn reconfigure(ws: &TempWorkspace, from: &str, to: &str) {
    let config = std::fs::read_to_string(ws.path().join("trueup.toml")).unwrap();
    assert!(config.contains(from), "{from} in {config}");
    ws.write("trueup.toml", &config.replace(from, to));
}

#[test]
fn an_incremental_pull_past_the_10000_search_cap_reads_every_change_once() {
    let crm = HubspotServer::start(TOKEN);
    // HubSpot's own cap (10,000) on the server and in the client; no
    // per-second search limit here (that is the next test), and a large
    // system budget, to keep the test fast.
    crm.state.lock().unwrap().search_per_second = None;
    let n = 10_500;
    seed(&crm, n);
    let ws = workspace(&crm, &people(1, &[], &[]));
    reconfigure(
        &ws,
        "max_retry_after_secs = 5 }",
        "max_retry_after_secs = 5, rate_limit = 100000 }",
    );
    reconfigure(
        &ws,
        "object = \"contacts\"",
        "object = \"contacts\"\nsearch_rate_limit = 1000",
    );
    let first = pull(&ws);
    assert_eq!(first["records"], n, "{first}");

    // A bulk edit of every contact, seven sharing each change time: the
    // 10,000th result falls inside a group, which the next window reads
    // again from its start time.
    crm.edit_all("contacts", "phone", 7, |i| format!("+49 {i}"));

    // A client that pages one search past the cap meets HubSpot's 400.
    reconfigure(
        &ws,
        "search_rate_limit = 1000",
        "search_rate_limit = 1000\nsearch_cap = 20000",
    );
    let err = fails(run(&ws, &["pull", "contacts"]));
    assert!(
        err.contains("400") && err.contains("at most 10000 results"),
        "{err}"
    );
    reconfigure(&ws, "\nsearch_cap = 20000", "");

    crm.state.lock().unwrap().requests.clear();
    crm.state.lock().unwrap().search_filters.clear();
    let second = pull(&ws);
    assert_eq!(
        (second["records"].as_u64(), second["changed"].as_u64()),
        (Some(n as u64), Some(n as u64)),
        "{second}"
    );
    let s = crm.state.lock().unwrap();
    let windows: std::collections::BTreeSet<String> =
        s.search_filters.iter().map(|f| f.to_string()).collect();
    assert_eq!(windows.len(), 2, "two search windows: {windows:?}");
    let searches = s.requests.iter().filter(|r| r.contains("/search")).count();
    assert_eq!(
        searches,
        100 + 6,
        "100 pages up to the cap, then the rest (504 at 100 a page)"
    );
    drop(s);
    for (_, vals) in ws.cached("contacts").iter().take(3) {
        assert!(vals.contains("+49 "), "the new values are cached: {vals}");
    }
    let stale = ws
        .cached("contacts")
        .iter()
        .filter(|(_, v)| v.contains("+1 555"))
        .count();
    assert_eq!(stale, 0, "every change was pulled");
}

#[test]
fn a_burst_of_searches_stays_under_hubspots_per_second_search_limit() {
    let crm = HubspotServer::start(TOKEN);
    // The server answers 429 past 5 searches in any second, as HubSpot.
    let n = 1_100;
    seed(&crm, n);
    let ws = workspace(&crm, &people(1, &[], &[]));
    let unlimited = workspace(&crm, &people(1, &[], &[]));
    reconfigure(
        &unlimited,
        "object = \"contacts\"",
        "object = \"contacts\"\nsearch_rate_limit = 100",
    );
    pull(&ws);
    pull(&unlimited);
    crm.edit_all("contacts", "phone", 1, |i| format!("+49 {i}"));

    // Without the search limit (100 a second), the server refuses some.
    let _ = run(&unlimited, &["--json", "pull", "contacts"]);
    assert!(
        crm.state.lock().unwrap().search_429s > 0,
        "the server does enforce the limit"
    );
    crm.state.lock().unwrap().search_429s = 0;
    std::thread::sleep(std::time::Duration::from_millis(1100));

    // With the preset's default (4 a second): 11 search pages, none refused.
    let second = pull(&ws);
    assert_eq!(second["changed"].as_u64(), Some(n as u64), "{second}");
    assert_eq!(
        crm.state.lock().unwrap().search_429s,
        0,
        "no search was refused"
    );
}
