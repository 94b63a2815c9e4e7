//! The generic REST system on a real Directus 12.4.0, purely from
//! configuration: the workspace is `examples/directus/trueup.toml` (the file
//! `docs/directus.md` explains), pointed at a test server and a collection
//! of the test's own, and driven through the `trueup` command line.
//!
//! - pull → reconcile against a CSV export → approve → push, checked on the
//!   server and in Directus's own activity log (one entry per effect);
//! - an item changed on the server between pull and push is a conflict, and
//!   nothing is written to it;
//! - SIGKILL at random points of a push, resumed until done: exactly one
//!   effect per approved change;
//! - with Directus's rate limiter on, a push completes with no 429 surfacing
//!   as a failure, at ≥ 90 % of the allowed rate (printed).
//!
//! The server comes from `support/directus.rs` (installed by
//! `scripts/setup-directus.sh`); without it the tests skip, except in CI.

mod support;

#[path = "support/directus.rs"]
mod directus;

use std::collections::BTreeMap;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use directus::{ADMIN_TOKEN, DirectusServer, Options, customer};
use serde_json::{Value, json};
use support::TempWorkspace;

/// The documented example configuration.
const EXAMPLE: &str = include_str!("../examples/directus/trueup.toml");

/// The example, pointed at `dx` and collection `c`, with extra `http`
/// settings when given.
fn config(dx: &DirectusServer, c: &str, http: Option<&str>) -> String {
    let mut text = EXAMPLE
        .replace("http://127.0.0.1:8055", &dx.url())
        .replace("/items/customers", &format!("/items/{c}"));
    if let Some(http) = http {
        let line = text
            .lines()
            .find(|l| l.starts_with("http = "))
            .expect("the example has an http line")
            .to_string();
        text = text.replace(&line, &format!("http = {{ {http} }}"));
    }
    text
}

/// A workspace on the example configuration and its left CSV file.
struct Ws {
    ws: TempWorkspace,
}

impl Ws {
    fn new(dx: &DirectusServer, c: &str, left: &str, http: Option<&str>) -> Ws {
        Ws {
            ws: TempWorkspace::new(&config(dx, c, http), &[("customers.csv", left)]),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trueup"));
        cmd.arg("-w")
            .arg(self.ws.path())
            .args(args)
            .env("USER", "tester")
            .env("DIRECTUS_TOKEN", ADMIN_TOKEN);
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run trueup")
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        support::ok(self.run(args))
    }

    #[track_caller]
    fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let out = self.run(&a);
        serde_json::from_str(&support::stdout(&out)).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}\n{}",
                support::stdout(&out),
                support::stderr(&out)
            )
        })
    }

    /// Reconciles with a pull; the proposal counts.
    fn reconcile(&self) -> BTreeMap<String, u64> {
        let s = self.json(&["reconcile", "--pull", "customers"]);
        s[0]["counts"]
            .as_object()
            .unwrap_or_else(|| panic!("counts: {s}"))
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
            .collect()
    }

    fn journal(&self) -> Vec<(i64, String, String, String, i64, Option<String>)> {
        let conn = rusqlite::Connection::open(self.ws.path().join("trueup.db")).unwrap();
        let mut stmt = conn
            .prepare("SELECT id, state, op, match_key, attempts, category FROM journal ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }
}

/// The left CSV: customers `0..n` as on the server, except the e-mails of
/// `changed`, plus new customers `new`.
fn left(n: usize, skip: &[usize], changed: &[usize], new: &[usize]) -> String {
    let mut out = String::from("no,name,email,phone,city\n");
    for i in (0..n).chain(new.iter().copied()) {
        if skip.contains(&i) {
            continue;
        }
        let c = customer(i);
        let email = if changed.contains(&i) || new.contains(&i) {
            format!("c{i}@changed.example.org")
        } else {
            c["email"].as_str().unwrap().to_string()
        };
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            c["code"].as_str().unwrap(),
            c["name"].as_str().unwrap(),
            email,
            c["phone"].as_str().unwrap(),
            c["city"].as_str().unwrap(),
        ));
    }
    out
}

/// A collection with customers `0..n`; their Directus ids by code.
fn seeded(dx: &DirectusServer, hint: &str, n: usize) -> (String, BTreeMap<String, String>) {
    let c = dx.customers(hint);
    let items: Vec<Value> = (0..n).map(customer).collect();
    let ids = dx.insert(&c, &items);
    let by_code = (0..n)
        .map(|i| {
            (
                customer(i)["code"].as_str().unwrap().to_string(),
                ids[i].to_string(),
            )
        })
        .collect();
    (c, by_code)
}

/// The server's items by code.
fn by_code(dx: &DirectusServer, c: &str) -> BTreeMap<String, Value> {
    dx.items(c)
        .into_iter()
        .map(|i| (i["code"].as_str().unwrap().to_string(), i))
        .collect()
}

/// Directus's activity entries after the first `skip`, as (action, code).
fn effects(dx: &DirectusServer, c: &str, skip: usize) -> Vec<(String, String)> {
    let codes: BTreeMap<String, String> = dx
        .items(c)
        .into_iter()
        .map(|i| (i["id"].to_string(), i["code"].as_str().unwrap().to_string()))
        .collect();
    dx.activity(c)
        .into_iter()
        .skip(skip)
        .map(|(action, item)| {
            let code = codes.get(&item).cloned().unwrap_or(item);
            (action, code)
        })
        .collect()
}

fn code(i: usize) -> String {
    customer(i)["code"].as_str().unwrap().to_string()
}

#[test]
fn pull_reconcile_approve_push_from_configuration_only() {
    let Some(dx) = directus::server() else { return };
    let (c, _) = seeded(dx, "flow", 30);
    let seeded_activity = dx.activity(&c).len();
    // Left: 29 of the 30 (the last is an orphan), four e-mails changed, two new.
    let ws = Ws::new(dx, &c, &left(30, &[29], &[3, 7, 11, 19], &[100, 101]), None);

    let test = ws.ok(&["systems", "test", "backoffice"]);
    assert!(test.contains("backoffice: ok"), "{test}");

    let counts = ws.reconcile();
    let want: BTreeMap<String, u64> =
        [("create", 2), ("update", 4), ("orphan", 1), ("in_sync", 25)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
    assert_eq!(counts, want, "proposals after the first pull");

    ws.ok(&["approve", "customers", "--all", "--kind", "create,update"]);
    let plan = ws.json(&["push", "customers", "--dry-run"]);
    assert_eq!(
        dx.activity(&c).len(),
        seeded_activity,
        "a dry run sends nothing: {plan}"
    );
    let report = ws.json(&["push", "customers"]);
    assert_eq!(report["outcomes"]["applied"], 6, "{report}");

    let items = by_code(dx, &c);
    for i in [3, 7, 11, 19] {
        assert_eq!(
            items[&code(i)]["email"],
            format!("c{i}@changed.example.org"),
            "update of {}",
            code(i)
        );
        assert!(items[&code(i)]["date_updated"].is_string());
    }
    for i in [100, 101] {
        let item = &items[&code(i)];
        assert_eq!(
            item["name"],
            format!("Customer {i}"),
            "create of {}",
            code(i)
        );
        assert_eq!(item["email"], format!("c{i}@changed.example.org"));
        assert_eq!(item["phone"], customer(i)["phone"]);
    }
    assert!(
        items.contains_key(&code(29)),
        "the orphan is never deleted without approval"
    );
    assert_eq!(items[&code(0)]["date_updated"], Value::Null, "untouched");

    let mut got = effects(dx, &c, seeded_activity);
    got.sort();
    let mut expected: Vec<(String, String)> = [100, 101]
        .iter()
        .map(|&i| ("create".to_string(), code(i)))
        .chain(
            [3, 7, 11, 19]
                .iter()
                .map(|&i| ("update".to_string(), code(i))),
        )
        .collect();
    expected.sort();
    assert_eq!(
        got, expected,
        "one effect per approved change, nothing else"
    );

    // Everything is in sync now, and a second push sends nothing.
    let counts = ws.reconcile();
    assert_eq!(counts.get("in_sync"), Some(&31), "{counts:?}");
    assert_eq!(counts.get("orphan"), Some(&1), "{counts:?}");
    assert_eq!(counts.len(), 2, "{counts:?}");
    let again = ws.json(&["push", "customers"]);
    assert_eq!(
        again["entries"].as_array().map(Vec::len),
        Some(0),
        "{again}"
    );
    assert_eq!(dx.activity(&c).len(), seeded_activity + 6);
}

#[test]
fn an_incremental_pull_reads_only_the_changes_and_sees_deletes() {
    let Some(dx) = directus::server() else { return };
    let (c, ids) = seeded(dx, "incremental", 30);
    let ws = Ws::new(dx, &c, &left(30, &[], &[], &[]), None);
    assert_eq!(ws.reconcile().get("in_sync"), Some(&30));

    // In Directus: one item edited, one created, one deleted.
    dx.api(
        "PATCH",
        &format!("/items/{c}/{}", ids[&code(5)]),
        Some(&json!({"email": "edited@backoffice.example.org"})),
    );
    dx.insert(&c, &[customer(200)]);
    dx.api("DELETE", &format!("/items/{c}/{}", ids[&code(7)]), None);

    let before = dx.requests().len();
    let counts = ws.reconcile();
    let requests: Vec<String> = dx.requests()[before..]
        .iter()
        .map(|r| format!("{} {}", r.0, r.1))
        .collect();
    assert!(
        requests
            .iter()
            .any(|r| r.contains("date_updated") && r.contains("_gte")),
        "the second pull asks for changes only: {requests:#?}"
    );
    assert!(
        requests.iter().any(|r| r.contains("fields=code")),
        "and lists the codes to find deletes: {requests:#?}"
    );
    // The cache holds what the server holds: the edit (restored from the
    // left side), the new item (an orphan) and the deleted one (re-created).
    let want: BTreeMap<String, u64> =
        [("in_sync", 28), ("update", 1), ("orphan", 1), ("create", 1)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
    assert_eq!(counts, want, "{requests:#?}");
}

#[test]
fn a_login_with_email_and_password_works_from_configuration() {
    let Some(dx) = directus::server() else { return };
    let (c, _) = seeded(dx, "login", 3);
    let text = config(dx, &c, None);
    let bearer = text
        .lines()
        .find(|l| l.starts_with("auth = "))
        .expect("the example has an auth line")
        .to_string();
    let commented = text
        .lines()
        .find(|l| l.starts_with("# auth = { type = \"session\""))
        .expect("the example shows the session login")
        .trim_start_matches("# ")
        .replace("admin@example.com", directus::ADMIN_EMAIL);
    let ws = TempWorkspace::new(
        &text.replace(&bearer, &commented),
        &[("customers.csv", &left(3, &[], &[], &[]))],
    );
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_trueup"))
            .arg("-w")
            .arg(ws.path())
            .args(args)
            .env("USER", "tester")
            .env("DIRECTUS_PASSWORD", directus::ADMIN_PASSWORD)
            .output()
            .unwrap()
    };
    let out = run(&["--json", "reconcile", "--pull", "customers"]);
    let text = format!("{}{}", support::stdout(&out), support::stderr(&out));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("in_sync"), "{text}");
    assert!(
        !text.contains(directus::ADMIN_PASSWORD),
        "the password never shows"
    );
    let cache = std::fs::read(ws.path().join("trueup.db")).unwrap();
    assert!(
        !String::from_utf8_lossy(&cache).contains(directus::ADMIN_PASSWORD),
        "nor lands in the cache"
    );
    // A wrong password is an auth error naming the system, not a crash.
    let out = Command::new(env!("CARGO_BIN_EXE_trueup"))
        .arg("-w")
        .arg(ws.path())
        .args(["pull", "customers"])
        .env("USER", "tester")
        .env("DIRECTUS_PASSWORD", "wrong-password")
        .output()
        .unwrap();
    let err = support::fails(out);
    assert!(err.contains("backoffice") && err.contains("auth"), "{err}");
    assert!(!err.contains("wrong-password"), "{err}");
}

#[test]
fn a_change_on_the_server_after_the_pull_is_a_conflict_and_is_not_overwritten() {
    let Some(dx) = directus::server() else { return };
    let (c, ids) = seeded(dx, "conflict", 6);
    let ws = Ws::new(dx, &c, &left(6, &[], &[1, 2], &[]), None);
    assert_eq!(ws.reconcile().get("update"), Some(&2));
    ws.ok(&["approve", "customers", "--all", "--kind", "update"]);

    // Someone edits customer 1's e-mail in Directus after our pull.
    dx.api(
        "PATCH",
        &format!("/items/{c}/{}", ids[&code(1)]),
        Some(&json!({"email": "edited@backoffice.example.org"})),
    );
    let before = dx.activity(&c).len();

    let out = ws.run(&["--json", "push", "customers"]);
    assert_eq!(out.status.code(), Some(1), "a conflict fails the push");
    let report: Value = serde_json::from_str(&support::stdout(&out)).unwrap();
    assert_eq!(report["outcomes"]["conflict"], 1, "{report}");
    assert_eq!(report["outcomes"]["applied"], 1, "{report}");

    let items = by_code(dx, &c);
    assert_eq!(
        items[&code(1)]["email"],
        "edited@backoffice.example.org",
        "the other person's edit is kept"
    );
    assert_eq!(items[&code(2)]["email"], "c2@changed.example.org");
    assert_eq!(
        effects(dx, &c, before),
        vec![("update".to_string(), code(2))],
        "nothing written to the conflicting item"
    );
    let journal = ws.journal();
    let conflict = journal
        .iter()
        .find(|e| e.1 == "conflict")
        .expect("a conflict entry");
    assert_eq!(conflict.5.as_deref(), Some("conflict"));
}

#[test]
fn killed_pushes_resume_to_exactly_one_effect_per_change() {
    let Some(dx) = directus::server() else { return };
    // A third of the SQLite test's cycles: each Directus request takes longer.
    let cycles = std::env::var("TRUEUP_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(30)
        .div_ceil(3);
    let base = std::env::var("TRUEUP_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let started = Instant::now();
    let (mut kills, mut mid) = (0, 0);
    for seed in base..base + cycles {
        let (k, m) = crash_cycle(dx, seed);
        kills += k;
        mid += m;
    }
    eprintln!(
        "{cycles} cycles from seed {base}: {kills} kills ({mid} with entries left sending), {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(kills > 0, "the kills landed inside pushes");
}

/// One scenario killed and resumed until done; (kills, kills mid-send).
fn crash_cycle(dx: &DirectusServer, seed: u64) -> (usize, usize) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let n = rng.usize(12..24);
    let (c, _) = seeded(dx, "crash", n);
    let changed: Vec<usize> = (0..n).filter(|_| rng.u8(0..10) < 6).collect();
    let new: Vec<usize> = (0..rng.usize(1..5)).map(|k| 500 + k).collect();
    let ws = Ws::new(dx, &c, &left(n, &[], &changed, &new), None);
    ws.reconcile();
    ws.ok(&["approve", "customers", "--all", "--kind", "create,update"]);
    let seeded_activity = dx.activity(&c).len();
    let batch = rng.usize(1..6).to_string();

    let (mut kills, mut mid) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        assert!(
            Instant::now() < deadline,
            "seed {seed}: no progress in 240 s"
        );
        let resume = kills > 0 && rng.bool();
        let mut args = vec!["push", "customers", "--batch-size", &batch];
        if resume {
            args.push("--resume");
        }
        let mut child = ws
            .command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A request takes 10–30 ms here; the window widens with each kill.
        let kill_after = Duration::from_millis(rng.u64(0..400 * (1 + kills as u64 / 3)));
        let t = Instant::now();
        let mut finished = None;
        while t.elapsed() < kill_after {
            if let Some(status) = child.try_wait().unwrap() {
                finished = Some(status);
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        match finished {
            Some(status) => {
                let out = child.wait_with_output().unwrap();
                assert!(
                    status.success(),
                    "seed {seed}: push failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                if !resume {
                    break;
                }
            }
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
                if ws.journal().iter().any(|e| e.1 == "sending") {
                    mid += 1;
                }
            }
        }
    }
    let items = by_code(dx, &c);
    for &i in changed.iter().chain(&new) {
        assert_eq!(
            items[&code(i)]["email"],
            format!("c{i}@changed.example.org"),
            "seed {seed}: {} after {kills} kills",
            code(i)
        );
    }
    let mut per_item: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (action, code) in effects(dx, &c, seeded_activity) {
        per_item.entry(code).or_default().push(action);
    }
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for &i in &changed {
        expected.insert(code(i), vec!["update".into()]);
    }
    for &i in &new {
        expected.insert(code(i), vec!["create".into()]);
    }
    assert_eq!(
        per_item, expected,
        "seed {seed}: exactly one effect per approved change after {kills} kills"
    );
    let journal = ws.journal();
    assert_eq!(journal.len(), changed.len() + new.len(), "seed {seed}");
    assert!(
        journal.iter().all(|e| e.1 == "applied"),
        "seed {seed}: every entry applied: {journal:?}"
    );
    (kills, mid)
}

/// What a push against the rate-limited server did.
struct RatedPush {
    answered: usize,
    limited: usize,
    retries: usize,
    secs: f64,
}

/// Pushes `updates` approved updates through a client limited to
/// `points` per second with the given extra `http` settings.
fn rated_push(dx: &DirectusServer, points: u32, updates: usize, http: &str) -> RatedPush {
    let c = dx.customers("limited");
    let items: Vec<Value> = (0..updates).map(customer).collect();
    dx.insert(&c, &items);
    let changed: Vec<usize> = (0..updates).collect();
    let ws = Ws::new(
        dx,
        &c,
        &left(updates, &[], &changed, &[]),
        Some(&format!(
            "rate_limit = {points}, rate_limit_period_secs = 1, max_retries = 10, max_retry_after_secs = 5{http}"
        )),
    );
    // The test's own requests count against the limit too: each step
    // starts in a fresh window.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(ws.reconcile().get("update"), Some(&(updates as u64)));
    ws.ok(&["approve", "customers", "--all", "--kind", "update"]);
    std::thread::sleep(Duration::from_millis(1100));

    let sent_before = dx.requests().len();
    let t = Instant::now();
    let out = ws
        .command(&["--json", "push", "customers"])
        .env("TRUEUP_LOG_RETRIES", "1")
        .output()
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    let stderr = support::stderr(&out);
    assert!(
        out.status.success(),
        "no 429 surfaces as a failure: {}\n{stderr}",
        support::stdout(&out)
    );
    let report: Value = serde_json::from_str(&support::stdout(&out)).unwrap();
    assert_eq!(report["outcomes"]["applied"], updates, "{report}");
    // What the server answered during the push (its own log).
    std::thread::sleep(Duration::from_millis(1100));
    let during: Vec<_> = dx.requests().split_off(sent_before);
    let answered = during.iter().filter(|r| r.2 != 429).count();
    let on_server = by_code(dx, &c);
    assert!(
        (0..updates).all(|i| on_server[&code(i)]["email"] == format!("c{i}@changed.example.org")),
        "every update reached the server"
    );
    RatedPush {
        answered,
        limited: during.len() - answered,
        retries: stderr.matches("retrying").count(),
        secs,
    }
}

#[test]
fn a_rate_limited_push_completes_near_the_allowed_rate() {
    const POINTS: u32 = 10;
    let Some(dx) = DirectusServer::start(&Options {
        rate_limit: Some((POINTS, 1)),
    }) else {
        return;
    };
    let allowed = f64::from(POINTS);

    // Bursts (the default) overrun Directus's fixed windows: real 429s,
    // each waited out and retried, none a failure.
    let bursty = rated_push(&dx, POINTS, 30, "");
    eprintln!(
        "rate-limited push, bursts: {} requests answered in {:.2} s, {} answered 429, {} retries",
        bursty.answered, bursty.secs, bursty.limited, bursty.retries
    );
    assert!(bursty.limited > 0, "the server did limit the bursts");
    assert!(bursty.retries >= bursty.limited, "every 429 was retried");

    // Evenly spaced (rate_limit_burst = 1, as in the example): a stray 429
    // at most at a window edge, and
    // the rate over the push's whole wall time, process start included.
    let spaced = rated_push(&dx, POINTS, 150, ", rate_limit_burst = 1");
    let rate = spaced.answered as f64 / spaced.secs;
    eprintln!(
        "rate-limited push, spaced: {} requests answered in {:.2} s = {rate:.1} req/s of {allowed} \
         allowed ({:.0} %), {} answered 429, {} retries",
        spaced.answered,
        spaced.secs,
        100.0 * rate / allowed,
        spaced.limited,
        spaced.retries
    );
    assert!(
        rate >= 0.9 * allowed,
        "the push keeps at least 90 % of the allowed rate: {rate:.1} of {allowed} req/s"
    );
}
