//! Crash safety: the push process is killed with SIGKILL at random points,
//! again and again, and resumed each time; in the end every approved change
//! is applied exactly once (the target's own triggers count the effects),
//! none is lost, both databases pass `PRAGMA integrity_check`, and the
//! journal is consistent.
//!
//! `TRUEUP_CRASH_CYCLES` sets the number of cycles (default 30, for CI);
//! `TRUEUP_CRASH_SEED` replays one seed. For the full run:
//! `TRUEUP_CRASH_CYCLES=200 cargo test --release --test push_crash`.

mod support;

#[path = "support/target.rs"]
mod target;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::crash::Stats;
use support::ok;

fn push_cmd(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trueup"));
    c.arg("-w")
        .arg(dir)
        .args(args)
        .env("USER", "tester")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// What the target must hold after the push: no → (name, email); absent = deleted.
type Expected = BTreeMap<String, Option<(String, String)>>;

/// A random scenario: updates, creates and approved deletes.
fn scenario(rng: &mut fastrand::Rng) -> (support::TempWorkspace, Expected, usize) {
    let n = rng.usize(10..40);
    let mut left = String::from("id,no,name,email\n");
    let mut right: Vec<(String, String, String)> = vec![];
    let mut expected = Expected::new();
    let mut changes = 0;
    for i in 0..n {
        let no = format!("C{i:03}");
        let name = format!("Name {i}");
        let email = format!("p{i}@new.org");
        left.push_str(&format!("{i},{no},{name},{email}\n"));
        match rng.u8(0..10) {
            // Create.
            0..=2 => changes += 1,
            // Update.
            3..=7 => {
                right.push((no.clone(), name.clone(), format!("p{i}@old.org")));
                changes += 1;
            }
            // Already in sync.
            _ => right.push((no.clone(), name.clone(), email.clone())),
        }
        expected.insert(no, Some((name, email)));
    }
    let orphans = rng.usize(0..4);
    for k in 0..orphans {
        let no = format!("X{k}");
        right.push((no.clone(), format!("Gone {k}"), format!("x{k}@old.org")));
        expected.insert(no, None);
        changes += 1;
    }
    let refs: Vec<(&str, &str, &str)> = right
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    let ws = target::workspace(&left, &refs);
    ok(ws.run(&["reconcile", "--pull", "c"]));
    ok(ws.run(&["approve", "c", "--all", "--kind", "create,update"]));
    for k in 0..orphans {
        ok(ws.run(&["approve-delete", "c", &format!("X{k}")]));
    }
    (ws, expected, changes)
}

fn cycle(seed: u64, stats: &mut Stats) -> usize {
    let mut rng = fastrand::Rng::with_seed(seed);
    let (ws, expected, changes) = scenario(&mut rng);
    let batch = rng.usize(1..12).to_string();
    let mut kills = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < deadline,
            "seed {seed}: no progress in 60 s"
        );
        // Resume explicitly or just push again: both must finish the work.
        let resume = kills > 0 && rng.bool();
        let mut args = vec![
            "push",
            "c",
            "--batch-size",
            &batch,
            "--min-delay-ms",
            "1",
            "--max-delay-ms",
            "20",
        ];
        if resume {
            args.push("--resume");
        }
        let mut child = push_cmd(ws.path(), &args).spawn().unwrap();
        let kill_after = stats.kill_after(&mut rng, kills);
        let started = Instant::now();
        let mut finished = None;
        while started.elapsed() < kill_after {
            if let Some(status) = child.try_wait().unwrap() {
                finished = Some(status);
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        match finished {
            Some(status) => {
                stats.finished(started.elapsed());
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
                child.kill().unwrap();
                child.wait().unwrap();
                kills += 1;
                let states = target::journal(ws.path());
                stats.killed(states.iter().map(|e| e.1.as_str()));
            }
        }
    }
    // A last push finds nothing left to do.
    let last: serde_json::Value =
        serde_json::from_str(&ok(ws.run(&["--json", "push", "c"]))).unwrap();
    assert_eq!(
        last["entries"].as_array().unwrap().len(),
        0,
        "seed {seed}: {last}"
    );

    // The target holds every approved change.
    let rows: BTreeMap<String, (String, String)> = target::rows(ws.path())
        .into_iter()
        .map(|(no, name, email)| (no, (name.unwrap_or_default(), email.unwrap_or_default())))
        .collect();
    for (no, want) in &expected {
        assert_eq!(
            rows.get(no),
            want.as_ref(),
            "seed {seed}: record {no} after {kills} kills"
        );
    }
    // Each change had exactly one effect.
    let mut effects: BTreeMap<String, usize> = BTreeMap::new();
    for (_, no, _, _) in target::audit(ws.path()) {
        *effects.entry(no).or_default() += 1;
    }
    assert_eq!(
        effects.len(),
        changes,
        "seed {seed}: every change reached the target ({kills} kills)"
    );
    assert!(
        effects.values().all(|&n| n == 1),
        "seed {seed}: nothing applied twice ({kills} kills): {effects:?}"
    );
    // The journal: one applied entry per change, nothing left open.
    let journal = target::journal(ws.path());
    assert_eq!(journal.len(), changes, "seed {seed}: one entry per change");
    assert!(
        journal.iter().all(|e| e.1 == "applied"),
        "seed {seed}: every entry applied: {journal:?}"
    );
    for db in ["trueup.db", "crm.db"] {
        let conn = rusqlite::Connection::open(ws.path().join(db)).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "seed {seed}: {db} is sound");
    }
    // The next reconcile sees everything in sync.
    let s: serde_json::Value =
        serde_json::from_str(&ok(ws.run(&["--json", "reconcile", "--pull", "c"]))).unwrap();
    let counts = s[0]["counts"].as_object().unwrap();
    assert_eq!(
        counts.len(),
        1,
        "seed {seed}: only in_sync left: {counts:?}"
    );
    kills
}

#[test]
fn killed_pushes_resume_to_exactly_one_effect_per_change() {
    let cycles: u64 = std::env::var("TRUEUP_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let seeds: Vec<u64> = match std::env::var("TRUEUP_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(seed) => vec![seed],
        None => {
            let base = fastrand::u64(..);
            (0..cycles).map(|i| base.wrapping_add(i)).collect()
        }
    };
    let started = Instant::now();
    let mut kills = 0;
    let mut stats = Stats::default();
    for seed in &seeds {
        kills += cycle(*seed, &mut stats);
    }
    eprintln!(
        "{} cycles, {kills} kills ({} mid-send, {} with the push half done), {:.1} s",
        seeds.len(),
        stats.mid_send,
        stats.partial,
        started.elapsed().as_secs_f64()
    );
    if seeds.len() >= 20 {
        assert!(
            stats.mid_send > 0 && stats.partial > 0,
            "the kills landed inside pushes: {stats:?}"
        );
    }
}
