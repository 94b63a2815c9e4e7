//! Incremental pull from a REST system: only records changed since the last
//! pull are read, deletes are found by an id-only listing, and the cache
//! ends exactly as a full pull leaves it; when the changes cannot be
//! trusted, the pull reads everything.

mod support;

#[path = "support/http_server.rs"]
mod http_server;

use http_server::{ApiServer, FaultKind};
use support::{TempWorkspace, ok};

fn workspace(api: &ApiServer, incremental: bool) -> TempWorkspace {
    let inc = if incremental {
        r#"incremental = { updated_at = ["updated_at"], changed = { updated_gte = "{since}" }, ids = { fields = "code" } }"#
    } else {
        ""
    };
    let config = format!(
        r#"
[systems.api]
kind = "rest"
base_url = "{url}"

[entities.items]
system = "api"
id = ["code"]

[entities.items.rest]
list = "/items"
records = "data"
pagination = {{ style = "offset", limit = 10 }}
fields = ["id", "code", "name", "email", "version", "updated_at"]
{inc}
"#,
        url = api.url
    );
    TempWorkspace::new(&config, &[])
}

fn pull(ws: &TempWorkspace) -> serde_json::Value {
    let out = ok(ws.run(&["--json", "pull", "items"]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v[0].clone()
}

#[test]
fn a_second_pull_reads_only_changes_and_finds_deletes() {
    let api = ApiServer::start();
    api.seed_numbered(25, "x.org");
    let ws = workspace(&api, true);
    let first = pull(&ws);
    assert_eq!(first["records"], 25, "{first}");
    let full_requests = api.requests().len();
    assert_eq!(full_requests, 4, "the first pull reads everything");

    api.edit("C05", "email", "c5@changed.org");
    api.remove("C07");
    api.seed(&[("N1", "New", "n1@x.org")]);
    api.state.lock().unwrap().requests.clear();
    let second = pull(&ws);
    assert_eq!(
        (
            second["records"].as_u64(),
            second["added"].as_u64(),
            second["changed"].as_u64(),
            second["removed"].as_u64()
        ),
        (Some(25), Some(1), Some(1), Some(1)),
        "{second}"
    );
    let reqs = api.requests();
    assert!(
        reqs[0].contains("updated_gte="),
        "asks for changes only: {reqs:?}"
    );
    assert!(
        reqs.iter().any(|r| r.contains("fields=code")),
        "an id-only listing: {reqs:?}"
    );

    // The cache is exactly what a full pull gives.
    let fresh = workspace(&api, false);
    pull(&fresh);
    assert_eq!(ws.cached("items"), fresh.cached("items"));

    // Nothing changed: nothing written, the records all still there.
    let third = pull(&ws);
    assert_eq!(
        (
            third["records"].as_u64(),
            third["changed"].as_u64(),
            third["removed"].as_u64()
        ),
        (Some(25), Some(0), Some(0)),
        "{third}"
    );
}

#[test]
fn a_record_the_changes_missed_makes_the_pull_read_everything() {
    let api = ApiServer::start();
    api.seed(&[("C1", "Ann", "a@x.org"), ("C2", "Bob", "b@x.org")]);
    let ws = workspace(&api, true);
    pull(&ws);
    // Restored from a backup with an old change time: not "changed since".
    api.insert_raw(serde_json::json!({"code": "OLD", "name": "Old", "email": "o@x.org", "version": 1, "updated_at": "2000-01-01T00:00:00Z"}));
    let second = pull(&ws);
    assert_eq!(second["records"], 3, "{second}");
    assert_eq!(second["added"], 1, "{second}");
    let fresh = workspace(&api, false);
    pull(&fresh);
    assert_eq!(ws.cached("items"), fresh.cached("items"));
}

/// A record changed while a pull runs, before another record that the pull
/// reads later: the latest change time read is after the first change, so
/// the next pull must not ask only for changes after it.
#[test]
fn a_record_changed_during_a_pull_is_read_by_the_next_one() {
    let api = ApiServer::start();
    api.seed_numbered(25, "x.org");
    // The second page waits a while; meanwhile someone edits C03 (on the
    // page already read) and then C25 (on the last page, read later).
    api.fault(
        "GET",
        "/items",
        FaultKind::Stall(std::time::Duration::ZERO),
        1,
    );
    api.fault(
        "GET",
        "/items",
        FaultKind::Stall(std::time::Duration::from_millis(400)),
        1,
    );
    let ws = workspace(&api, true);
    let editor = {
        let state = api.state.clone();
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            while state.lock().unwrap().requests.len() < 2 {
                assert!(
                    started.elapsed().as_secs() < 30,
                    "the pull never asked for page 2"
                );
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        })
    };
    let pulling = std::thread::scope(|scope| {
        let pull_thread = scope.spawn(|| pull(&ws));
        editor.join().unwrap();
        api.edit("C03", "email", "c3@during.org");
        api.edit("C25", "email", "c25@during.org");
        pull_thread.join().unwrap()
    });
    assert_eq!(pulling["records"], 25, "{pulling}");
    let c03 = |ws: &TempWorkspace| {
        ws.cached("items")
            .into_iter()
            .find(|(k, _)| k.contains("C03"))
            .map(|(_, v)| v)
            .unwrap()
    };
    assert!(
        !c03(&ws).contains("during"),
        "the first pull read C03 before the edit (the race this test sets up)"
    );
    let next = pull(&ws);
    assert!(
        c03(&ws).contains("c3@during.org"),
        "C03's change is read: {next}"
    );
    let fresh = workspace(&api, false);
    pull(&fresh);
    assert_eq!(
        ws.cached("items"),
        fresh.cached("items"),
        "the cache is what a full pull gives"
    );
}
