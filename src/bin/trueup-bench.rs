//! `trueup-bench`: generates benchmark CSV pairs and times `trueup diff` on
//! them, checking every result against the generator's truth.
//!
//! ```sh
//! cargo build --release --bins
//! target/release/trueup-bench diff --rows 1000000 --runs 5
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "trueup-bench",
    about = "Benchmark data and timings for trueup diff"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write left.csv, right.csv and truth.json of N rows into DIR.
    Generate {
        /// Rows in the left file.
        #[arg(long)]
        rows: u64,
        /// Where to write the files.
        #[arg(long)]
        out: PathBuf,
        /// The generator's seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Check a diff's JSON output in DIR/out.json against DIR/truth.json.
    Check {
        /// The folder of a generated pair.
        #[arg(long)]
        dir: PathBuf,
        /// The diff output (default: DIR/out.json).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Time `trueup diff --format json` on a generated pair (generated once, then cached).
    Diff {
        /// Rows in the left file.
        #[arg(long)]
        rows: u64,
        /// Timed runs (after one warm-up run).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// The generator's seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Where generated pairs are cached (one folder per size and seed).
        #[arg(long, default_value = "target/bench-data")]
        dir: PathBuf,
        /// The diff binary (default: trueup-diff next to this one).
        #[arg(long)]
        bin: Option<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Generate { rows, out, seed } => {
            let t = Instant::now();
            let truth = trueup::bench::generate(&out, rows, seed)?;
            println!(
                "wrote {} ({} + {} rows) in {:.2} s: {:?}",
                out.display(),
                truth.summary.left_rows,
                truth.summary.right_rows,
                t.elapsed().as_secs_f64(),
                truth.summary
            );
        }
        Cmd::Check { dir, output } => {
            let truth: trueup::bench::Truth =
                serde_json::from_slice(&std::fs::read(dir.join("truth.json"))?)?;
            let text = std::fs::read(output.unwrap_or_else(|| dir.join("out.json")))?;
            let output: serde_json::Value =
                serde_json::from_slice(&text).context("the output is not one JSON object")?;
            let problems = truth.check(&output);
            if !problems.is_empty() {
                bail!("the diff does not match the truth: {}", problems.join("; "));
            }
        }
        Cmd::Diff {
            rows,
            runs,
            seed,
            dir,
            bin,
        } => {
            let data = dir.join(format!("rows-{rows}-seed-{seed}"));
            let truth = trueup::bench::generate_cached(&data, rows, seed)?;
            let bin = match bin {
                Some(b) => b,
                None => std::env::current_exe()?
                    .parent()
                    .context("no folder for this binary")?
                    .join("trueup-diff"),
            };
            let size = std::fs::metadata(data.join("left.csv"))?.len();
            let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
            println!(
                "{rows} × {} rows, {:.0} MB per file, {} (load average before: {})",
                truth.summary.right_rows,
                size as f64 / 1e6,
                bin.display(),
                load.split_whitespace()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            let mut times = Vec::new();
            let mut peak_kib = 0;
            for run in 0..=runs {
                let out = data.join(format!("out-{run}.json"));
                let (secs, kib) = run_once(&bin, &data, &out)?;
                let label = if run == 0 { "warm-up" } else { "run" };
                println!(
                    "  {label:7} {secs:.3} s, peak RSS {:.0} MiB",
                    kib as f64 / 1024.0
                );
                if run > 0 {
                    times.push(secs);
                    peak_kib = peak_kib.max(kib);
                }
            }
            // Checked in child processes, after all the timed runs: parsing the
            // output here would grow this process, and the peak RSS a child
            // reports can include figures inherited from its parent's children.
            for run in 0..=runs {
                let out = data.join(format!("out-{run}.json"));
                let ok = Command::new(std::env::current_exe()?)
                    .arg("check")
                    .arg("--dir")
                    .arg(&data)
                    .arg("--output")
                    .arg(&out)
                    .status()?;
                if !ok.success() {
                    bail!("run {run}: the diff does not match the truth");
                }
                std::fs::remove_file(&out)?;
            }
            println!("  every run's output matches the truth exactly");
            times.sort_by(f64::total_cmp);
            if !times.is_empty() {
                println!(
                    "trueup diff {rows} rows: median {:.3} s (min {:.3}, max {:.3}) over {} runs, peak RSS {:.0} MiB, result exact",
                    times[times.len() / 2],
                    times[0],
                    times[times.len() - 1],
                    times.len(),
                    peak_kib as f64 / 1024.0
                );
            }
        }
    }
    Ok(())
}

/// Runs the diff once as a child process; returns its wall time and peak RSS (KiB).
fn run_once(bin: &Path, data: &Path, out: &Path) -> anyhow::Result<(f64, i64)> {
    let out = std::fs::File::create(out)?;
    let start = Instant::now();
    let child = Command::new(bin)
        .arg(data.join("left.csv"))
        .arg(data.join("right.csv"))
        .args(["--key", "id", "--format", "json"])
        .stdout(Stdio::from(out))
        .spawn()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, not yet waited for; the pointers are valid.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let secs = start.elapsed().as_secs_f64();
    if r != pid {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    if code != 1 {
        bail!(
            "{} exited with {code} (expected 1: different)",
            bin.display()
        );
    }
    Ok((secs, usage.ru_maxrss))
}
