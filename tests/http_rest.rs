//! The generic REST system against a local fault-injecting API: pull and
//! push through the real engine and journal, through every fault of the
//! HTTP issue. Each test asserts that every journal entry ends in a final
//! state, that no change has more than one effect (counted by the server),
//! that nothing approved is lost, that paging is bounded, and that errors
//! name their category and the server's own message.

mod support;

#[path = "support/http_server.rs"]
mod http_server;

use std::time::Duration;

use http_server::{ApiServer, FaultKind};
use support::{TempWorkspace, fails, ok};
use trueup::Workspace;
use trueup::progress::{Actor, Silent};
use trueup::push::{PushOptions, PushReport, RetryPolicy, State, push_with};

/// A workspace pushing `left.csv` (no, name, email) into the API's items,
/// matched on `code`. `conditional` and `pagination` are TOML inline tables.
fn workspace(
    api: &ApiServer,
    conditional: &str,
    pagination: &str,
    http: &str,
    left: &str,
) -> TempWorkspace {
    let config = format!(
        r#"
[systems.erp]
kind = "csv"
path = "left.csv"

[systems.api]
kind = "rest"
base_url = "{url}"
http = {{ connect_timeout_secs = 2, timeout_secs = 1, max_retries = 8, retry_min_delay_ms = 5, retry_max_delay_ms = 50, max_retry_after_secs = 5{http} }}

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
pagination = {pagination}
id_field = "id"
get = "/items/{{id}}"
find = {{ code = "{{code}}" }}
create = "/items"
update = "/items/{{id}}"
delete = "/items/{{id}}"
fields = ["id", "code", "name", "email", "version", "updated_at"]
read_only = ["id", "version", "updated_at"]
conditional = {conditional}

[reconciliations.c]
left = "l"
right = "items"
key = ["code"]

[[reconciliations.c.fields]]
target = "code"
source = "no"

[[reconciliations.c.fields]]
target = "name"
source = "name"

[[reconciliations.c.fields]]
target = "email"
source = "email"
"#,
        url = api.url
    );
    TempWorkspace::new(&config, &[("left.csv", left)])
}

const OFFSET: &str = r#"{ style = "offset", limit = 10 }"#;
const CURSOR: &str = r#"{ style = "cursor", next = "next", cursor_param = "cursor", limit_param = "limit", limit = 10 }"#;
const IF_MATCH: &str = r#"{ mode = "if_match" }"#;

/// `n` records C01.. on the server, and a left file that changes the
/// email of those in `changed` and adds `new` records.
fn seed(api: &ApiServer, n: usize) -> Vec<(String, String, String)> {
    api.seed_numbered(n, "old.org")
}

fn left_file(rows: &[(String, String, String)], changed: &[usize], new: &[&str]) -> String {
    let mut out = String::from("no,name,email\n");
    for (i, (code, name, email)) in rows.iter().enumerate() {
        let email = if changed.contains(&(i + 1)) {
            format!("c{}@new.org", i + 1)
        } else {
            email.clone()
        };
        out.push_str(&format!("{code},{name},{email}\n"));
    }
    for code in new {
        out.push_str(&format!("{code},New {code},{code}@new.org\n"));
    }
    out
}

fn push(ws: &TempWorkspace, max_retries: usize) -> PushReport {
    let mut w = Workspace::open(ws.path()).unwrap();
    let mut connector = w.connector("api").unwrap();
    let options = PushOptions {
        retry: RetryPolicy {
            max_retries,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(40),
        },
        ..Default::default()
    };
    let actor = Actor {
        who: "tester".into(),
        origin: "test".into(),
    };
    push_with(
        &mut w,
        "c",
        connector.as_mut(),
        &options,
        "2026-01-01T00:00:00Z",
        &actor,
        &Silent::default(),
    )
    .unwrap()
}

/// Every entry ended: applied, conflict, rejected or unknown, never left open.
#[track_caller]
fn all_final(r: &PushReport) {
    for e in &r.entries {
        assert!(
            !matches!(e.state, State::Pending | State::Sending),
            "entry {} left {:?}",
            e.match_key,
            e.state
        );
    }
}

/// Reconciles with a pull and approves everything.
fn reconcile_and_approve(ws: &TempWorkspace) {
    ok(ws.run(&["reconcile", "--pull", "c"]));
    ok(ws.run(&["approve", "c", "--all"]));
}

#[test]
fn pull_pages_and_push_applies_each_change_exactly_once() {
    let api = ApiServer::start();
    let rows = seed(&api, 25);
    let ws = workspace(
        &api,
        IF_MATCH,
        OFFSET,
        "",
        &left_file(&rows, &[3, 17], &["N1"]),
    );
    reconcile_and_approve(&ws);
    let pages = api
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET /items?"))
        .count();
    assert_eq!(
        pages, 4,
        "25 records at 10 a page: 3 pages and an empty one"
    );
    let r = push(&ws, 3);
    all_final(&r);
    assert_eq!(r.outcomes.get("applied"), Some(&3), "{:?}", r.entries);
    assert_eq!(api.by_code("C03").unwrap()["email"], "c3@new.org");
    assert_eq!(api.by_code("C17").unwrap()["email"], "c17@new.org");
    assert_eq!(
        api.by_code("N1").unwrap()["name"],
        "New N1",
        "the create carries its code"
    );
    for code in ["C03", "C17", "N1"] {
        assert_eq!(api.effects(code), 1, "{code} written once");
    }
    assert_eq!(api.total_effects(), 3, "nothing else touched");
    // A second push sends nothing again.
    let r = push(&ws, 3);
    assert!(r.entries.is_empty());
    assert_eq!(api.total_effects(), 3);
}

#[test]
fn every_paging_style_reads_every_record_once() {
    let api = ApiServer::start();
    let rows = seed(&api, 25);
    for (style, pages) in [
        (OFFSET, 4),
        (CURSOR, 3),
        (
            r#"{ style = "page", page_param = "page", size_param = "per_page", size = 10 }"#,
            4,
        ),
        (
            r#"{ style = "link", limit_param = "per_page", limit = 10 }"#,
            3,
        ),
        (r#"{ style = "none" }"#, 1),
    ] {
        let ws = workspace(&api, IF_MATCH, style, "", &left_file(&rows, &[], &[]));
        api.state.lock().unwrap().requests.clear();
        let out = ok(ws.run(&["--json", "pull", "items"]));
        assert!(out.contains("\"records\": 25"), "{style}: {out}");
        let gets = api.requests().len();
        assert_eq!(gets, pages, "{style}: {:?}", api.requests());
    }
}

#[test]
fn systems_test_checks_the_connection_and_shows_one_record() {
    let api = ApiServer::start();
    let rows = seed(&api, 3);
    let ws = workspace(&api, IF_MATCH, OFFSET, "", &left_file(&rows, &[], &[]));
    let out = ok(ws.run(&["systems", "test", "api"]));
    assert!(
        out.contains("api: ok") && out.contains("sample record of items"),
        "{out}"
    );
    assert!(out.contains("C01") && out.contains("c1@old.org"), "{out}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(ws.run(&["--json", "systems", "test", "api"]))).unwrap();
    assert_eq!(json["sample"]["record"]["code"], "C01", "{json}");
    drop(api);
    let err = fails(ws.run(&["systems", "test", "api"]));
    assert!(
        err.contains("network error") && err.contains("cannot connect"),
        "{err}"
    );
}

#[test]
fn an_empty_listing_pulls_as_an_empty_snapshot() {
    let api = ApiServer::start();
    let ws = workspace(&api, IF_MATCH, OFFSET, "", "no,name,email\n");
    let config = std::fs::read_to_string(ws.path().join("trueup.toml")).unwrap();
    // Without `fields`, the fields come from the records: there are none.
    let config: String = config
        .lines()
        .filter(|l| !l.starts_with("fields = "))
        .map(|l| format!("{l}\n"))
        .collect();
    ws.write("trueup.toml", &config);
    let out = ok(ws.run(&["--json", "pull", "items"]));
    assert!(out.contains("\"records\": 0"), "{out}");
}

#[test]
fn pull_rides_out_rate_limits_server_errors_resets_and_stalls() {
    let api = ApiServer::start();
    let rows = seed(&api, 25);
    let ws = workspace(&api, IF_MATCH, CURSOR, "", &left_file(&rows, &[], &[]));
    let status = |status: u16, retry_after: Option<&str>| FaultKind::Status {
        status,
        retry_after: retry_after.map(str::to_string),
        body: r#"{"message":"busy"}"#.into(),
    };
    api.fault("GET", "/items", status(429, Some("1")), 1);
    api.fault("GET", "/items", status(429, None), 1);
    api.fault("GET", "/items", status(500, None), 1);
    api.fault("GET", "/items", status(502, None), 1);
    api.fault("GET", "/items", status(503, None), 1);
    api.fault("GET", "/items", FaultKind::Reset, 1);
    api.fault(
        "GET",
        "/items",
        FaultKind::Stall(Duration::from_millis(1500)),
        1,
    );
    let out = ok(ws.run(&["--json", "pull", "items"]));
    assert!(
        out.contains("\"records\": 25") || out.contains("\"records\":25"),
        "{out}"
    );
    let gets = api
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET /items"))
        .count();
    assert_eq!(gets, 3 + 7, "three pages, plus one retry per fault");
}

#[test]
fn a_retry_after_beyond_the_cap_fails_as_rate_limit_with_the_message() {
    let api = ApiServer::start();
    let rows = seed(&api, 3);
    let ws = workspace(&api, IF_MATCH, OFFSET, "", &left_file(&rows, &[], &[]));
    api.fault(
        "GET",
        "/items",
        FaultKind::Status {
            status: 429,
            retry_after: Some("3600".into()),
            body: r#"{"errors":[{"message":"Too many requests, retry later."}]}"#.into(),
        },
        1,
    );
    let err = fails(ws.run(&["pull", "items"]));
    assert!(err.contains("rate_limit error, HTTP 429"), "{err}");
    assert!(
        err.contains("Too many requests, retry later."),
        "the server's message: {err}"
    );
    assert!(err.contains("req-fault-429"), "the request id: {err}");
    assert_eq!(api.requests().len(), 1, "not waited for an hour");
}

#[test]
fn a_repeating_cursor_stops_the_pull_instead_of_looping() {
    let api = ApiServer::start();
    let rows = seed(&api, 25);
    let ws = workspace(&api, IF_MATCH, CURSOR, "", &left_file(&rows, &[], &[]));
    api.fault("GET", "/items", FaultKind::RepeatCursor, 100);
    let err = fails(ws.run(&["pull", "items"]));
    assert!(err.contains("protocol error"), "{err}");
    assert!(err.contains("same next-page cursor twice"), "{err}");
    assert!(api.requests().len() <= 3, "bounded: {:?}", api.requests());
    // The cache has no half snapshot: a later good pull works.
    api.state.lock().unwrap().clear_faults();
    let ok_pull = ok(ws.run(&["pull", "items"]));
    assert!(ok_pull.contains("25"), "{ok_pull}");
}

#[test]
fn more_pages_than_allowed_stop_the_pull() {
    let api = ApiServer::start();
    let rows = seed(&api, 25);
    let ws = workspace(
        &api,
        IF_MATCH,
        OFFSET,
        ", max_pages = 2",
        &left_file(&rows, &[], &[]),
    );
    let err = fails(ws.run(&["pull", "items"]));
    assert!(
        err.contains("protocol error") && err.contains("more than 2 pages"),
        "{err}"
    );
    assert_eq!(api.requests().len(), 2);
}

#[test]
fn malformed_json_fails_the_pull_with_a_protocol_error() {
    let api = ApiServer::start();
    let rows = seed(&api, 3);
    let ws = workspace(&api, IF_MATCH, OFFSET, "", &left_file(&rows, &[], &[]));
    api.fault("GET", "/items", FaultKind::Malformed, 1);
    let err = fails(ws.run(&["pull", "items"]));
    assert!(
        err.contains("protocol error") && err.contains("not valid JSON"),
        "{err}"
    );
    assert!(
        err.contains("GET http://127.0.0.1:"),
        "names the request: {err}"
    );
}

#[test]
fn writes_ride_out_passing_failures_with_one_effect_each() {
    let api = ApiServer::start();
    let rows = seed(&api, 6);
    let ws = workspace(
        &api,
        IF_MATCH,
        OFFSET,
        "",
        &left_file(&rows, &[1, 2, 3, 4, 5, 6], &[]),
    );
    reconcile_and_approve(&ws);
    let status = |s: u16, ra: Option<&str>| FaultKind::Status {
        status: s,
        retry_after: ra.map(str::to_string),
        body: r#"{"message":"try again"}"#.into(),
    };
    api.fault("PATCH", "/items/1", status(429, Some("1")), 1);
    api.fault("PATCH", "/items/2", status(503, None), 1);
    api.fault("PATCH", "/items/3", FaultKind::Reset, 1);
    api.fault("PATCH", "/items/4", FaultKind::ApplyThenFail(502), 1);
    api.fault("PATCH", "/items/5", FaultKind::ApplyThenReset, 1);
    api.fault(
        "PATCH",
        "/items/6",
        FaultKind::Stall(Duration::from_millis(1800)),
        1,
    );
    let r = push(&ws, 5);
    // Let the stalled request finish on the server before counting.
    std::thread::sleep(Duration::from_millis(2000));
    all_final(&r);
    for (i, (code, _, _)) in rows.iter().enumerate() {
        assert_eq!(api.effects(code), 1, "{code}: exactly one effect");
        assert_eq!(
            api.by_code(code).unwrap()["email"],
            format!("c{}@new.org", i + 1),
            "{code}: nothing lost"
        );
    }
    assert_eq!(r.outcomes.get("applied"), Some(&6), "{:#?}", r.entries);
}

#[test]
fn strong_modes_apply_a_stalled_or_lost_write_exactly_once() {
    for conditional in [
        r#"{ mode = "version_field", field = "version" }"#,
        r#"{ mode = "filtered_update", path = "/items", body = { filter = { id = "{id}", version = "{version}" }, data = "{values}" } }"#,
    ] {
        let api = ApiServer::start();
        let rows = seed(&api, 2);
        let ws = workspace(
            &api,
            conditional,
            OFFSET,
            "",
            &left_file(&rows, &[1, 2], &[]),
        );
        reconcile_and_approve(&ws);
        api.fault(
            "PATCH",
            "/items",
            FaultKind::Stall(Duration::from_millis(1800)),
            1,
        );
        api.fault("PATCH", "/items", FaultKind::ApplyThenReset, 1);
        let r = push(&ws, 5);
        std::thread::sleep(Duration::from_millis(2000));
        all_final(&r);
        assert_eq!(
            r.outcomes.get("applied"),
            Some(&2),
            "{conditional}: {:#?}",
            r.entries
        );
        for code in ["C01", "C02"] {
            assert_eq!(api.effects(code), 1, "{conditional}: {code} written once");
        }
    }
}

#[test]
fn a_create_applied_then_lost_is_found_by_its_code_not_created_twice() {
    let api = ApiServer::start();
    let rows = seed(&api, 2);
    let ws = workspace(
        &api,
        IF_MATCH,
        OFFSET,
        "",
        &left_file(&rows, &[], &["N1", "N2"]),
    );
    reconcile_and_approve(&ws);
    api.fault("POST", "/items", FaultKind::ApplyThenReset, 1);
    api.fault("POST", "/items", FaultKind::ApplyThenFail(500), 1);
    let r = push(&ws, 5);
    all_final(&r);
    assert_eq!(r.outcomes.get("applied"), Some(&2), "{:#?}", r.entries);
    assert_eq!(api.effects("N1"), 1);
    assert_eq!(api.effects("N2"), 1);
}

#[test]
fn batched_creates_go_together_and_a_lost_batch_answer_is_not_created_twice() {
    let api = ApiServer::start();
    let rows = seed(&api, 1);
    let new: Vec<String> = (1..=12).map(|i| format!("N{i:02}")).collect();
    let new_refs: Vec<&str> = new.iter().map(String::as_str).collect();
    let ws = workspace(
        &api,
        IF_MATCH,
        OFFSET,
        "",
        &left_file(&rows, &[], &new_refs),
    );
    let config = std::fs::read_to_string(ws.path().join("trueup.toml")).unwrap();
    ws.write(
        "trueup.toml",
        &config.replace(
            "create = \"/items\"",
            "create = \"/items\"\ncreate_batch = 5",
        ),
    );
    reconcile_and_approve(&ws);
    // The first batch is applied, then its answer is lost.
    api.fault("POST", "/items", FaultKind::ApplyThenReset, 1);
    let r = push(&ws, 3);
    all_final(&r);
    assert_eq!(r.outcomes.get("applied"), Some(&12), "{:#?}", r.entries);
    for code in &new {
        assert_eq!(api.effects(code), 1, "{code} created once");
    }
    let posts = api
        .requests()
        .iter()
        .filter(|r| r.starts_with("POST"))
        .count();
    assert!(
        posts < 12,
        "creates went in batches: {posts} POSTs for 12 records"
    );
}

#[test]
fn a_record_changed_between_our_read_and_our_write_is_a_conflict_not_overwritten() {
    // The last read before the write: the ETag read by id for if_match,
    // the find by code for the others.
    for (conditional, last_read) in [
        (IF_MATCH, "/items/1"),
        (r#"{ mode = "version_field", field = "version" }"#, "/items"),
        (
            r#"{ mode = "filtered_update", path = "/items", body = { filter = { id = "{id}", version = "{version}" }, data = "{values}" } }"#,
            "/items",
        ),
    ] {
        let api = ApiServer::start();
        let rows = seed(&api, 2);
        let ws = workspace(&api, conditional, OFFSET, "", &left_file(&rows, &[1], &[]));
        reconcile_and_approve(&ws);
        // Someone edits C01 right after our pre-write read.
        api.fault(
            "GET",
            last_read,
            FaultKind::ChangeAfter {
                field: "email".into(),
                value: "theirs@other.org".into(),
            },
            1,
        );
        let r = push(&ws, 3);
        all_final(&r);
        let e = &r.entries[0];
        assert_eq!(e.state, State::Conflict, "{conditional}: {e:?}");
        assert_eq!(api.effects("C01"), 0, "{conditional}: nothing written");
        assert_eq!(
            api.by_code("C01").unwrap()["email"],
            "theirs@other.org",
            "{conditional}: their edit stays"
        );
    }
}

#[test]
fn a_change_since_the_pull_is_a_conflict_in_every_mode() {
    for conditional in [IF_MATCH, r#"{ mode = "reread" }"#] {
        let api = ApiServer::start();
        let rows = seed(&api, 2);
        let ws = workspace(&api, conditional, OFFSET, "", &left_file(&rows, &[1], &[]));
        reconcile_and_approve(&ws);
        api.edit("C01", "email", "moved@other.org");
        let r = push(&ws, 3);
        all_final(&r);
        assert_eq!(r.entries[0].state, State::Conflict, "{conditional}");
        assert_eq!(api.effects("C01"), 0);
    }
}

#[test]
fn an_update_answered_204_for_a_record_gone_meanwhile_is_not_found() {
    let api = ApiServer::start();
    let rows = seed(&api, 2);
    let ws = workspace(
        &api,
        r#"{ mode = "reread" }"#,
        OFFSET,
        "",
        &left_file(&rows, &[1], &[]),
    );
    reconcile_and_approve(&ws);
    api.fault("PATCH", "/items/1", FaultKind::GoneNoContent, 1);
    let r = push(&ws, 3);
    all_final(&r);
    let e = &r.entries[0];
    assert_eq!(e.state, State::Rejected, "{e:?}");
    assert_eq!(e.category.map(|c| c.as_str()), Some("not_found"), "{e:?}");
}

#[test]
fn a_refused_write_names_the_category_the_message_and_the_request_id() {
    let api = ApiServer::start();
    let rows = seed(&api, 2);
    let mut left = left_file(&rows, &[], &[]);
    left = left.replace("C01,Name 1,", "C01,,");
    let ws = workspace(&api, IF_MATCH, OFFSET, "", &left);
    reconcile_and_approve(&ws);
    let r = push(&ws, 3);
    all_final(&r);
    let e = &r.entries[0];
    assert_eq!(e.state, State::Rejected, "{e:?}");
    assert_eq!(e.category.map(|c| c.as_str()), Some("validation"));
    let m = e.message.as_deref().unwrap_or_default();
    assert!(m.contains("validation error, HTTP 422"), "{m}");
    assert!(
        m.contains("name must not be empty"),
        "the server's message: {m}"
    );
    assert!(m.contains("request id req-test-42"), "{m}");
    assert_eq!(api.total_effects(), 0);
}

#[test]
fn a_server_down_during_push_leaves_entries_final_and_resumable() {
    let api = ApiServer::start();
    let rows = seed(&api, 3);
    let ws = workspace(
        &api,
        IF_MATCH,
        OFFSET,
        "",
        &left_file(&rows, &[1, 2, 3], &[]),
    );
    reconcile_and_approve(&ws);
    let down = FaultKind::Status {
        status: 503,
        retry_after: None,
        body: r#"{"message":"maintenance"}"#.into(),
    };
    // Every write fails, past the client's and the engine's retries.
    api.fault("PATCH", "/items/", down, 1000);
    let r = push(&ws, 1);
    assert!(
        r.stopped.is_some(),
        "the push stops when the target is down"
    );
    let failed: Vec<_> = r
        .entries
        .iter()
        .filter(|e| e.state != State::Pending && e.state != State::Sending)
        .collect();
    assert!(!failed.is_empty());
    let m = failed[0].message.as_deref().unwrap_or_default();
    assert!(
        m.contains("transient error, HTTP 503") && m.contains("maintenance"),
        "{m}"
    );
    assert_eq!(api.total_effects(), 0);
    // The target is back: resume and retry-failed finish everything, once.
    api.state.lock().unwrap().requests.clear();
    api.state.lock().unwrap().clear_faults();
    ok(ws.run(&[
        "push",
        "c",
        "--resume",
        "--min-delay-ms",
        "5",
        "--max-delay-ms",
        "20",
    ]));
    ok(ws.run(&[
        "push",
        "c",
        "--retry-failed",
        "--min-delay-ms",
        "5",
        "--max-delay-ms",
        "20",
    ]));
    for code in ["C01", "C02", "C03"] {
        assert_eq!(api.effects(code), 1, "{code}");
    }
}
