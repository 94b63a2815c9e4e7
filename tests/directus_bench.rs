//! Benchmark (ignored; run it explicitly):
//!
//! ```sh
//! cargo test --release --test directus_bench -- --ignored --nocapture
//! ```
//!
//! On a Directus 12.4.0 of its own (no rate limiter), with the example
//! configuration: Trueup pulls `TRUEUP_BENCH_ITEMS` (default 10 000) items
//! and pushes `TRUEUP_BENCH_UPDATES` (default 5 000) approved updates, and
//! `scripts/bench-directus-curl.sh` serves the same pages and sends the
//! same writes with plain curl on a twin collection: the server's own time.
//! Prints both and the ratios; asserts only that everything arrived.

mod support;

#[path = "support/directus.rs"]
mod directus;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Instant;

use directus::{ADMIN_TOKEN, DirectusServer, Options, customer};
use support::TempWorkspace;

const EXAMPLE: &str = include_str!("../examples/directus/trueup.toml");
const PAGE: usize = 200;
const BATCH: usize = 200;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `trueup` in `ws`; its wall time.
fn timed(ws: &TempWorkspace, args: &[&str]) -> f64 {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_trueup"))
        .arg("-w")
        .arg(ws.path())
        .args(args)
        .env("USER", "bench")
        .env("DIRECTUS_TOKEN", ADMIN_TOKEN)
        .output()
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    support::ok(out);
    secs
}

/// The curl reference on collection `c`: figure name → seconds.
fn curl_reference(
    dx: &DirectusServer,
    c: &str,
    items: usize,
    updates: usize,
) -> BTreeMap<String, f64> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/bench-directus-curl.sh"
    );
    let out = Command::new("bash")
        .arg(script)
        .env("DIRECTUS_URL", dx.url())
        .env("DIRECTUS_TOKEN", ADMIN_TOKEN)
        .env("COLLECTION", c)
        .env("ITEMS", items.to_string())
        .env("PAGE", PAGE.to_string())
        .env("UPDATES", updates.to_string())
        .env("BATCH", BATCH.to_string())
        .output()
        .unwrap();
    let text = support::ok(out);
    text.lines()
        .filter_map(|l| {
            let mut p = l.split_whitespace();
            Some((p.next()?.to_string(), p.next()?.parse().ok()?))
        })
        .collect()
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn directus_pull_and_push_against_curl() {
    let items = env_usize("TRUEUP_BENCH_ITEMS", 10_000);
    let updates = env_usize("TRUEUP_BENCH_UPDATES", 5_000).min(items);
    let Some(dx) = DirectusServer::start(&Options::default()) else {
        return;
    };
    let ours = dx.customers("bench");
    let twin = dx.customers("bench_curl");
    for c in [&ours, &twin] {
        dx.seed_sql(c, items);
    }

    // The reference first, on the twin collection.
    let reference = curl_reference(&dx, &twin, items, updates);

    // Trueup, with the example configuration minus the client rate limit.
    let config = EXAMPLE
        .replace("http://127.0.0.1:8055", &dx.url())
        .replace("/items/customers", &format!("/items/{ours}"))
        .lines()
        .map(|l| {
            if l.starts_with("http = ") {
                "http = { timeout_secs = 120 }"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut left = String::from("no,name,email,phone,city\n");
    for i in 0..items {
        let c = customer(i);
        let email = if i < updates {
            format!("c{i}@bench.example.org")
        } else {
            c["email"].as_str().unwrap().to_string()
        };
        left.push_str(&format!(
            "{},{},{},{},{}\n",
            c["code"].as_str().unwrap(),
            c["name"].as_str().unwrap(),
            email,
            c["phone"].as_str().unwrap(),
            c["city"].as_str().unwrap()
        ));
    }
    let ws = TempWorkspace::new(&config, &[("customers.csv", &left)]);
    let pull = timed(&ws, &["pull", "customers"]);
    timed(&ws, &["reconcile", "--pull", "customers"]);
    timed(&ws, &["approve", "customers", "--all", "--kind", "update"]);
    let push = timed(
        &ws,
        &["push", "customers", "--batch-size", &BATCH.to_string()],
    );
    let on_server = dx.items(&ours);
    let done = on_server
        .iter()
        .filter(|i| {
            i["email"]
                .as_str()
                .is_some_and(|e| e.ends_with("@bench.example.org"))
        })
        .count();
    assert_eq!(done, updates, "every update arrived");

    let r = |k: &str| reference.get(k).copied().unwrap_or(f64::NAN);
    println!("Directus 12.4.0 on SQLite, {items} items, pages of {PAGE}, {updates} updates");
    println!(
        "pull:  trueup {pull:.2} s   curl {:.2} s   ratio {:.2}",
        r("pull"),
        pull / r("pull")
    );
    println!(
        "push:  trueup {push:.2} s   curl, one filtered PATCH per item {:.2} s (ratio {:.2})   \
         curl, PATCH of {BATCH} unconditional {:.2} s (ratio {:.2})",
        r("push_conditional"),
        push / r("push_conditional"),
        r("push_batch"),
        push / r("push_batch")
    );
}
