//! Engine benchmark: full pull of both sides + reconcile of N × N rows, and
//! re-reconcile after 1 % of one side changed. Prints median wall time and
//! peak memory of the `trueup` process for each step.
//!
//! ```sh
//! cargo bench --bench engine -- --rows 1000000 --runs 3
//! ```
//!
//! Data comes from the shared generator (`trueup::bench`): 13 mixed-type
//! columns, the right side shuffled, ~1 % added, ~1 % removed, ~5 % changed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const COLUMNS: [&str; 13] = trueup::bench::COLUMNS;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs the CLI; returns wall seconds and peak RSS in MiB (from wait4).
// The child is reaped by `wait4` (which also gives its peak memory), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn timed(dir: &Path, args: &[&str]) -> (f64, f64) {
    let start = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_trueup"))
        .arg("-w")
        .arg(dir)
        .args(args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("run trueup");
    let mut status = 0;
    // SAFETY: plain wait4 on our own child; rusage is a plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "trueup {args:?} failed"
    );
    (
        start.elapsed().as_secs_f64(),
        usage.ru_maxrss as f64 / 1024.0,
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn config(left: &Path, right: &Path) -> String {
    let mut s = format!(
        "[systems.left]\nkind = \"csv\"\npath = {left:?}\n\n[systems.right]\nkind = \"csv\"\npath = {right:?}\n\n\
         [entities.l]\nsystem = \"left\"\nid = [\"id\"]\n\n[entities.r]\nsystem = \"right\"\nid = [\"id\"]\n\n\
         [reconciliations.bench]\nleft = \"l\"\nright = \"r\"\nkey = [\"id\"]\n"
    );
    for c in COLUMNS {
        s.push_str(&format!(
            "\n[[reconciliations.bench.fields]]\ntarget = \"{c}\"\nsource = \"{c}\"\n"
        ));
    }
    s
}

/// Writes `out`: `input` with the `name` of every 100th record changed.
fn change_one_percent(input: &Path, out: &Path) {
    let mut r = csv::Reader::from_path(input).unwrap();
    let mut w = csv::Writer::from_path(out).unwrap();
    w.write_record(r.headers().unwrap()).unwrap();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.unwrap();
        let mut fields: Vec<String> = rec.iter().map(str::to_string).collect();
        if i % 100 == 0 {
            fields[1] = format!("{} (changed)", fields[1]);
        }
        w.write_record(&fields).unwrap();
    }
    w.flush().unwrap();
}

fn main() {
    let rows = arg("--rows", 100_000);
    let runs = arg("--runs", 3) as usize;
    let data =
        PathBuf::from(std::env::var("TRUEUP_BENCH_DATA").unwrap_or_else(|_| "bench-data".into()))
            .join(format!("rows-{rows}-seed-42"));
    trueup::bench::generate_cached(&data, rows, 42).expect("generate");
    let changed = data.join("right-1pct.csv");
    if !changed.exists() {
        change_one_percent(&data.join("right.csv"), &changed);
    }
    let left = std::fs::canonicalize(data.join("left.csv")).unwrap();
    let mut full = (vec![], vec![]);
    let mut pull_again = (vec![], vec![]);
    let mut again = (vec![], vec![]);
    for _ in 0..runs {
        let ws = tempfile::tempdir().unwrap();
        let right = ws.path().join("right.csv");
        std::fs::copy(data.join("right.csv"), &right).unwrap();
        std::fs::write(ws.path().join("trueup.toml"), config(&left, &right)).unwrap();
        let (t, m) = timed(ws.path(), &["reconcile", "--pull", "bench"]);
        full.0.push(t);
        full.1.push(m);
        std::fs::copy(&changed, &right).unwrap();
        let (t, m) = timed(ws.path(), &["pull", "r"]);
        pull_again.0.push(t);
        pull_again.1.push(m);
        let (t, m) = timed(ws.path(), &["reconcile", "bench"]);
        again.0.push(t);
        again.1.push(m);
    }
    println!("engine benchmark, {rows} × {rows} rows, 13 columns, median of {runs} runs");
    println!("| step | wall (s) | peak RSS (MiB) |");
    println!("| --- | ---: | ---: |");
    for (name, (t, m)) in [
        ("pull both sides + reconcile (fresh workspace)", full),
        ("pull the right side again after 1 % changed", pull_again),
        ("re-reconcile after that change (incremental)", again),
    ] {
        println!("| {name} | {:.2} | {:.0} |", median(t), median(m));
    }
}
