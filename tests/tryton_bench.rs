//! Benchmark against a real Tryton server (ignored; run with
//! `cargo test --release --test tryton_bench -- --ignored --nocapture`):
//!
//! - pull 15,000 parties (pages of 1,000, gzip) through the connector and
//!   through `trueup pull`, against the same pages fetched by a plain `curl`
//!   loop and by a raw HTTP loop (gzip on and off);
//! - push 5,000 approved updates with `trueup push` (journal, re-read,
//!   `_timestamp`-conditional writes), against the server's own write time
//!   for the same batches sent raw (no read, no condition, no journal).
//!
//! `TRUEUP_BENCH_PARTIES` and `TRUEUP_BENCH_UPDATES` change the sizes.

mod support;

#[path = "support/tryton.rs"]
mod tryton;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use trueup::connectors::http::HttpOptions;
use trueup::connectors::tryton::{RpcConfig, TrytonSystem};
use trueup::connectors::{Connector, EntitySource, RecordSink};
use trueup::records::{Schema, Value as Cell};

const PAGE: usize = 1000;
const BATCH: usize = 200;
const PASSWORD_VAR: &str = "TRUEUP_TEST_TRYTON_PASSWORD";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Counts records and keeps the last id of every page.
#[derive(Default)]
struct Count {
    n: usize,
    ids: Vec<i64>,
}

impl RecordSink for Count {
    fn schema(&mut self, _: &Schema) -> trueup::Result<()> {
        Ok(())
    }
    fn record(&mut self, _: u64, values: Vec<Cell>) -> trueup::Result<bool> {
        self.n += 1;
        self.ids
            .push(values[0].as_deref().unwrap().parse().unwrap());
        Ok(true)
    }
}

/// The fields the connector asks for (the same request body for the raw loops).
fn read_fields() -> Value {
    json!([
        "id",
        "_timestamp",
        "code",
        "name",
        "write_date",
        "create_date",
        "contact_mechanisms.type",
        "contact_mechanisms.value",
        "contact_mechanisms._timestamp",
        "addresses.street",
        "addresses.postal_code",
        "addresses.city",
        "addresses.country.code",
        "addresses._timestamp",
    ])
}

fn login(url: &str, http: &reqwest::blocking::Client) -> String {
    use base64::Engine;
    let v: Value = http
        .post(format!("{url}/{}/rpc/", tryton::DB))
        .json(&json!({"id": 1, "method": "common.db.login",
            "params": [tryton::USER, {"password": tryton::PASSWORD}, "en"]}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let raw = format!(
        "{}:{}:{}",
        tryton::USER,
        v["result"][0],
        v["result"][1].as_str().unwrap()
    );
    format!(
        "Session {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn page_body(after: i64) -> Value {
    json!({"id": 1, "method": "model.party.party.search_read",
        "params": [[["id", ">", after]], 0, PAGE, [["id", "ASC"]], read_fields(), {"company": 1}]})
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn tryton_pull_and_push_figures() {
    let parties = env_usize("TRUEUP_BENCH_PARTIES", 15_000);
    let updates = env_usize("TRUEUP_BENCH_UPDATES", 5_000).min(parties);
    let Some(mut server) = tryton::server() else {
        return;
    };
    let url = server.url();
    let t = Instant::now();
    server.seed_parties(parties);
    eprintln!(
        "seeded {parties} parties (with e-mail, phone, address) in {:.1} s",
        secs(t.elapsed())
    );

    // 1. Pull through the connector.
    let mut c = TrytonSystem::new(
        "erp".into(),
        RpcConfig {
            url: url.clone(),
            database: tryton::DB.into(),
            user: tryton::USER.into(),
            password: tryton::PASSWORD.into(),
            options: HttpOptions::default(),
        },
        PAGE,
    )
    .unwrap();
    let src = EntitySource {
        table: Some("parties".into()),
        ..Default::default()
    };
    // Warm the server's caches once (the first search after start is slower).
    let mut count = Count::default();
    c.read(&src, &mut count).unwrap();
    assert_eq!(count.n, parties + 1, "the seeded parties and the company's");
    let boundaries: Vec<i64> = std::iter::once(0)
        .chain(count.ids.chunks(PAGE).map(|c| *c.last().unwrap()))
        .collect();
    let pages = count.ids.len().div_ceil(PAGE);

    // A workspace for `trueup pull` and `trueup push`.
    let mut left = String::from("code,name,email,city\n");
    for i in 0..parties {
        let (name, email) = if i < updates {
            (format!("Renamed {i}"), format!("r{i}@new.example.com"))
        } else {
            (format!("Party {i}"), format!("p{i}@example.com"))
        };
        left.push_str(&format!("P{i:05},{name},{email},Liège\n"));
    }
    let config = format!(
        r#"
[systems.shop]
kind = "csv"
path = "left.csv"

[systems.erp]
kind = "tryton"
url = "{url}"
database = "{}"
user = "{}"
password = {{ env = "{PASSWORD_VAR}" }}

[entities.l]
system = "shop"
id = ["code"]

[entities.parties]
system = "erp"
table = "parties"
id = ["code"]

[reconciliations.c]
left = "l"
right = "parties"
key = ["code"]

[[reconciliations.c.fields]]
target = "code"
source = "code"

[[reconciliations.c.fields]]
target = "name"
source = "name"

[[reconciliations.c.fields]]
target = "email"
source = "email"
"#,
        tryton::DB,
        tryton::USER
    );
    let ws = support::TempWorkspace::new(&config, &[("left.csv", &left)]);
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_trueup"))
            .arg("-w")
            .arg(ws.path())
            .args(args)
            .env("USER", "bench")
            .env(PASSWORD_VAR, tryton::PASSWORD)
            .output()
            .unwrap();
        support::ok(out)
    };

    // 2. The same pages, raw: reqwest with gzip, reqwest without, curl --compressed.
    let raw = |gzip: bool| -> (Duration, usize) {
        let http = reqwest::blocking::Client::builder()
            .gzip(gzip)
            .timeout(Duration::from_secs(300))
            .build()
            .unwrap();
        let auth = login(&url, &http);
        let t = Instant::now();
        let mut bytes = 0;
        for after in &boundaries[..pages] {
            let body = http
                .post(format!("{url}/{}/rpc/", tryton::DB))
                .header("Authorization", &auth)
                .json(&page_body(*after))
                .send()
                .unwrap()
                .bytes()
                .unwrap();
            bytes += body.len();
        }
        (t.elapsed(), bytes)
    };
    let bodies = tempfile::tempdir().unwrap();
    for (i, after) in boundaries[..pages].iter().enumerate() {
        std::fs::write(
            bodies.path().join(format!("p{i}.json")),
            page_body(*after).to_string(),
        )
        .unwrap();
    }
    let curl = || {
        let auth = login(&url, &reqwest::blocking::Client::new());
        let t = Instant::now();
        for i in 0..pages {
            let out = Command::new("curl")
                .args(["-sS", "--compressed", "-o", "/dev/null", "-X", "POST"])
                .args(["-H", "Content-Type: application/json"])
                .args(["-H", &format!("Authorization: {auth}")])
                .arg("--data-binary")
                .arg(format!(
                    "@{}",
                    bodies.path().join(format!("p{i}.json")).display()
                ))
                .arg(format!("{url}/{}/rpc/", tryton::DB))
                .output()
                .expect("curl");
            assert!(out.status.success());
        }
        t.elapsed()
    };
    // The machine is shared: rounds interleave the four ways, and each
    // figure is the best of its rounds.
    let (mut curl_best, mut raw_gzip, mut connector_pull, mut cli_pull) =
        (Duration::MAX, Duration::MAX, Duration::MAX, Duration::MAX);
    let mut raw_bytes = 0;
    for _ in 0..3 {
        curl_best = curl_best.min(curl());
        let (d, bytes) = raw(true);
        raw_gzip = raw_gzip.min(d);
        raw_bytes = bytes;
        let t = Instant::now();
        c.read(&src, &mut Count::default()).unwrap();
        connector_pull = connector_pull.min(t.elapsed());
        let t = Instant::now();
        run(&["pull", "parties"]);
        cli_pull = cli_pull.min(t.elapsed());
    }
    let curl = curl_best;
    let (raw_plain, _) = raw(false);
    run(&["reconcile", "--pull", "c"]);
    run(&["approve", "c", "--all", "--kind", "update"]);

    eprintln!("\n## Pull {parties} parties, {pages} pages of {PAGE} (gzip)");
    eprintln!("curl loop (--compressed):      {:>7.2} s", secs(curl));
    eprintln!(
        "raw HTTP loop, gzip:           {:>7.2} s  ({:.1} MB decompressed)",
        secs(raw_gzip),
        raw_bytes as f64 / 1e6
    );
    eprintln!("raw HTTP loop, no gzip:        {:>7.2} s", secs(raw_plain));
    eprintln!(
        "connector read:                {:>7.2} s  ({:.2}x curl)",
        secs(connector_pull),
        secs(connector_pull) / secs(curl)
    );
    eprintln!(
        "trueup pull (with the cache):  {:>7.2} s  ({:.2}x curl)",
        secs(cli_pull),
        secs(cli_pull) / secs(curl)
    );

    // 4. The server's own write time: the same batches (name + e-mail of
    //    200 parties per `write` call), sent raw, without read, condition or
    //    journal, to parties the push does not touch; before and after it.
    let codes: Vec<String> = (updates..parties)
        .take(updates)
        .map(|i| format!("P{i:05}"))
        .collect();
    let others: Vec<(i64, i64)> = server
        .rpc(
            "model.party.contact_mechanism.search_read",
            json!([
                [["type", "=", "email"], ["party.code", "in", codes]],
                0,
                null,
                [["id", "ASC"]],
                ["party"],
                {}
            ]),
        )
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["party"].as_i64().unwrap(), m["id"].as_i64().unwrap()))
        .collect();
    assert!(
        others.len() == updates || parties < 2 * updates,
        "raw writes go to {} parties the push does not touch",
        others.len()
    );
    let raw_write = |round: usize| {
        let http = reqwest::blocking::Client::builder()
            .gzip(true)
            .timeout(Duration::from_secs(300))
            .build()
            .unwrap();
        let auth = login(&url, &http);
        let t = Instant::now();
        for (b, chunk) in others.chunks(BATCH).enumerate() {
            let mut args = vec![];
            for (k, (party, cm)) in chunk.iter().enumerate() {
                let i = b * BATCH + k;
                args.push(json!([party]));
                args.push(json!({"name": format!("Raw {round} {i}"),
                    "contact_mechanisms": [["write", [cm], {"value": format!("raw{round}.{i}@example.com")}]]}));
            }
            args.push(json!({"company": 1}));
            let v: Value = http
                .post(format!("{url}/{}/rpc/", tryton::DB))
                .header("Authorization", &auth)
                .json(&json!({"id": 1, "method": "model.party.party.write", "params": args}))
                .send()
                .unwrap()
                .json()
                .unwrap();
            assert!(v.get("error").is_none_or(Value::is_null), "{v}");
        }
        t.elapsed()
    };
    let raw_before = raw_write(1);

    // 5. Push the approved updates.
    server.clear_audit();
    let t = Instant::now();
    let report: Value = serde_json::from_str(&run(&[
        "--json",
        "push",
        "c",
        "--batch-size",
        &BATCH.to_string(),
    ]))
    .unwrap();
    let push = t.elapsed();
    assert_eq!(
        report["outcomes"]["applied"], updates,
        "{}",
        report["outcomes"]
    );
    let effects = server.audit().len();
    assert_eq!(
        effects,
        2 * updates,
        "one name and one e-mail write per update"
    );
    let raw_write = raw_before.min(raw_write(2));
    eprintln!("\n## Push {updates} updates (name + e-mail), batches of {BATCH}");
    eprintln!(
        "raw write calls (server's own write time): {:>7.2} s",
        secs(raw_write)
    );
    eprintln!(
        "trueup push (journal, re-read, _timestamp): {:>7.2} s  ({:.2}x raw)",
        secs(push),
        secs(push) / secs(raw_write)
    );
}
