//! What a real Directus 12.4.0 does, as Trueup's Directus configuration
//! relies on it (see `docs/directus.md`): the error body shape, an
//! all-or-nothing batch insert, a missing item read as 403, a PATCH of a
//! missing id answered 204, `date_updated` null until the first update, the
//! filtered PATCH that is our conditional write, deletes listed in
//! `/activity`, and 429 with `Retry-After` from its rate limiter. Should an
//! upgrade change any of these, this test says which.
//!
//! The server is started by `support/directus.rs` (installed by
//! `scripts/setup-directus.sh`); without it the tests skip, except in CI.

mod support;

#[path = "support/directus.rs"]
mod directus;

use directus::{DirectusServer, Options, customer};
use serde_json::json;

#[test]
fn directus_behaves_as_the_configuration_expects() {
    let Some(dx) = directus::server() else { return };
    let c = dx.customers("facts");
    let ids = dx.insert(&c, &[customer(1), customer(2)]);
    assert_eq!(ids.len(), 2);

    // Static token and login both authenticate.
    let token = dx.login();
    let me = directus::request(dx.port, "GET", "/users/me", None, Some(&token)).unwrap();
    assert_eq!(me.status, 200, "a login token works: {}", me.body);
    let anon = directus::request(dx.port, "GET", &format!("/items/{c}"), None, None).unwrap();
    assert_eq!(anon.status, 403, "anonymous reads are refused");

    // `date_updated` is null until the first update; `date_created` is set.
    let items = dx.items(&c);
    assert!(items[0]["date_updated"].is_null(), "{}", items[0]);
    assert!(items[0]["date_created"].is_string(), "{}", items[0]);

    // Offset paging with the total in `meta`.
    let page = dx.api(
        "GET",
        &format!("/items/{c}?limit=1&offset=1&sort=id&meta=total_count"),
        None,
    );
    assert_eq!(page["meta"]["total_count"], 2, "{page}");
    assert_eq!(page["data"][0]["id"], ids[1], "{page}");

    // A batch insert is all-or-nothing, and errors have one shape.
    let dup = dx.call(
        "POST",
        &format!("/items/{c}"),
        Some(&json!([customer(3), customer(1)])),
    );
    assert_eq!(dup.status, 400, "{}", dup.body);
    let err = dup.json();
    assert_eq!(
        err["errors"][0]["extensions"]["code"], "RECORD_NOT_UNIQUE",
        "{err}"
    );
    assert!(err["errors"][0]["message"].is_string(), "{err}");
    assert_eq!(
        dx.items(&c).len(),
        2,
        "nothing of the failed batch was inserted"
    );

    // A missing item reads as 403 (not 404); a PATCH of it answers 204.
    let missing = dx.call("GET", &format!("/items/{c}/999999"), None);
    assert_eq!(missing.status, 403, "{}", missing.body);
    assert_eq!(
        missing.json()["errors"][0]["extensions"]["code"],
        "FORBIDDEN"
    );
    let patch = dx.call(
        "PATCH",
        &format!("/items/{c}/999999"),
        Some(&json!({"name": "x"})),
    );
    assert_eq!(patch.status, 204, "{}", patch.body);

    // The conditional write: a PATCH filtered on id and the pulled
    // `date_updated` returns the item when it applied, [] when the row moved.
    let cond = |id: i64, updated: &serde_json::Value, name: &str| {
        let filter = if updated.is_null() {
            json!({"id": {"_eq": id}, "date_updated": {"_null": true}})
        } else {
            json!({"id": {"_eq": id}, "date_updated": {"_eq": updated}})
        };
        dx.api(
            "PATCH",
            &format!("/items/{c}"),
            Some(&json!({"query": {"filter": filter}, "data": {"name": name}})),
        )
    };
    let first = cond(ids[0], &json!(null), "First");
    assert_eq!(first["data"][0]["name"], "First", "{first}");
    let stamp = first["data"][0]["date_updated"].clone();
    assert!(stamp.is_string(), "an update sets date_updated: {first}");
    let stale = cond(ids[0], &json!(null), "Lost");
    assert_eq!(stale["data"], json!([]), "a stale condition writes nothing");
    let again = cond(ids[0], &stamp, "Second");
    assert_eq!(again["data"][0]["name"], "Second", "{again}");
    assert_eq!(dx.items(&c)[0]["name"], "Second");

    // Deletes are listed in /activity.
    dx.api("DELETE", &format!("/items/{c}/{}", ids[1]), None);
    let activity = dx.activity(&c);
    assert!(
        activity.contains(&("delete".into(), ids[1].to_string())),
        "{activity:?}"
    );
    let first_id = ids[0].to_string();
    assert_eq!(
        activity
            .iter()
            .filter(|a| a.0 == "update" && a.1 == first_id)
            .count(),
        2,
        "one activity entry per applied update, none for the stale one: {activity:?}"
    );
    // The PATCH of a missing id wrote nothing, yet Directus logs it.
    assert!(
        activity.contains(&("update".into(), "999999".into())),
        "{activity:?}"
    );
}

#[test]
fn the_rate_limiter_answers_429_with_retry_after() {
    let Some(dx) = DirectusServer::start(&Options {
        rate_limit: Some((10, 1)),
    }) else {
        return;
    };
    let mut limited = None;
    for _ in 0..30 {
        let r = dx.call("GET", "/server/ping", None);
        if r.status == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("a 429 within 30 requests at 10 per second");
    let after = r.header("retry-after").expect("a Retry-After header");
    assert!(
        after.parse::<u64>().is_ok(),
        "Retry-After in seconds: {after}"
    );
    assert_eq!(
        r.json()["errors"][0]["extensions"]["code"],
        "REQUESTS_EXCEEDED",
        "{}",
        r.body
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(
        dx.call("GET", "/server/ping", None).status,
        200,
        "the budget refills"
    );
}
