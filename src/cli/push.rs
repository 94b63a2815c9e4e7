//! `trueup push`, `trueup rollback`, `trueup push-results`: arguments and handlers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;

use trueup::Workspace;
use trueup::connectors::Field;
use trueup::progress::Actor;
use trueup::push::{
    Entry, Plan, PlannedChange, PushMode, PushOptions, PushReport, RetryPolicy, State,
};

use super::output::print_json;
use super::progress_bar::Bar;

/// `trueup push RECON`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The reconciliation.
    recon: String,
    /// List what would be sent; send nothing.
    #[arg(long, conflicts_with_all = ["resume", "retry_failed"])]
    dry_run: bool,
    /// Only finish entries a stopped push left open (re-reading the target first).
    #[arg(long, conflicts_with = "retry_failed")]
    resume: bool,
    /// Send again only the changes that failed (rejected, conflict, unknown).
    #[arg(long)]
    retry_failed: bool,
    /// Changes sent together: one journal transaction each way, one target
    /// transaction for a database [default: the target's: 10 000 for
    /// SQLite, 1 000 for PostgreSQL, 200 for the others].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    batch_size: Option<u32>,
    /// Retries of a passing failure (busy, timeout, connection lost).
    #[arg(long, default_value_t = 5)]
    max_retries: usize,
    /// The first retry waits up to this long (milliseconds), doubling up to --max-delay-ms.
    #[arg(long, default_value_t = 200)]
    min_delay_ms: u64,
    /// No retry waits longer than this (milliseconds).
    #[arg(long, default_value_t = 10_000)]
    max_delay_ms: u64,
}

/// `trueup rollback PUSH_ID`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The push to roll back (its id, as printed by `trueup push`).
    push_id: i64,
    /// Only this record (its target id, or its key as listed).
    #[arg(long)]
    record: Option<String>,
}

/// `trueup push-results RECON --out-dir DIR`.
#[derive(Debug, Args)]
pub struct PushResultsArgs {
    /// The reconciliation.
    recon: String,
    /// Folder to write `success.csv` and `errors.csv` into.
    #[arg(long)]
    out_dir: PathBuf,
    /// Only this push (default: every push of the reconciliation).
    #[arg(long)]
    push: Option<i64>,
    /// Start each file with a UTF-8 byte-order mark (for Excel).
    #[arg(long)]
    bom: bool,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn show(v: &Option<String>) -> String {
    match v {
        Some(s) => format!("{s:?}"),
        None => "∅".into(),
    }
}

fn show_fields(f: &[Field]) -> String {
    f.iter()
        .map(|(n, v)| format!("{n}={}", show(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_change(c: &PlannedChange) {
    let record = if c.record.is_empty() {
        "(id assigned by the target)".to_string()
    } else {
        show_fields(&c.record)
    };
    println!(
        "  {:6} {}  [{record}]",
        trueup_op(c.op),
        trueup::records::display_key(&c.match_key)
    );
    for f in &c.fields {
        println!(
            "           {}: {} → {}",
            f.field,
            show(&f.old),
            show(&f.new)
        );
    }
}

fn trueup_op(op: trueup::connectors::WriteKind) -> &'static str {
    match op {
        trueup::connectors::WriteKind::Insert => "insert",
        trueup::connectors::WriteKind::Update => "update",
        trueup::connectors::WriteKind::Delete => "delete",
    }
}

fn print_plan(plan: &Plan) {
    println!(
        "push plan for {} → {} (dry run: nothing sent)",
        plan.recon,
        plan.target.label()
    );
    println!("writes: {}", plan.writes.len());
    for c in &plan.writes {
        print_change(c);
    }
    if !plan.deletes.is_empty() {
        println!("deletes (separately approved): {}", plan.deletes.len());
        for c in &plan.deletes {
            print_change(c);
        }
    }
    if !plan.invalid.is_empty() {
        println!("failing validation, not sent: {}", plan.invalid.len());
        for i in &plan.invalid {
            println!(
                "  {}: {}",
                trueup::records::display_key(&i.match_key),
                i.reasons.join("; ")
            );
        }
    }
    if plan.already_journaled > 0 {
        println!(
            "already pushed (or journaled) decisions skipped: {}",
            plan.already_journaled
        );
    }
    println!("counts:");
    for (k, n) in &plan.counts {
        println!("  {k:8} {n}");
    }
}

fn print_entry(e: &Entry) {
    let detail = match e.state {
        State::Applied => show_fields(&e.values),
        _ => format!(
            "[{}] {}{}",
            e.category.map(|c| c.as_str()).unwrap_or("-"),
            e.message.as_deref().unwrap_or(""),
            e.current
                .as_ref()
                .map(|c| format!(
                    " (target now: {}; pulled: {}; to send: {})",
                    show_fields(c),
                    show_fields(&e.before),
                    show_fields(&e.values)
                ))
                .unwrap_or_default()
        ),
    };
    println!(
        "  {:8} {:6} {:20} {detail}",
        e.state.as_str(),
        trueup_op(e.op),
        e.display_record()
    );
}

fn print_report(r: &PushReport, what: &str) {
    match r.push_id {
        Some(id) => println!("{what} {} → {} (push {id})", r.recon, r.target),
        None => println!("{what} {} → {}", r.recon, r.target),
    }
    if r.resumed > 0 {
        println!(
            "finished {} entries a stopped push had left open",
            r.resumed
        );
    }
    for e in &r.entries {
        print_entry(e);
    }
    println!("counts:");
    for (k, n) in &r.by_kind {
        println!("  {k:18} {n}");
    }
    if let Some(why) = &r.stopped {
        println!("{why}");
    }
    if r.entries.iter().any(|e| e.state.is_failure()) {
        println!(
            "some changes failed: see the messages above, `trueup push-results {} --out-dir DIR`, \
             and retry with `trueup push {} --retry-failed`",
            r.recon, r.recon
        );
    }
}

fn exit_code(r: &PushReport) -> i32 {
    if r.entries.iter().all(|e| e.state == State::Applied) {
        0
    } else {
        1
    }
}

/// Runs `trueup push`.
pub fn push(ws_dir: &Path, args: PushArgs, actor: &Actor, bar: &Bar, json: bool) -> Result<i32> {
    let mut ws = Workspace::open(ws_dir)?;
    if args.dry_run {
        let plan = trueup::push::plan(&ws, &args.recon)?;
        if json {
            print_json(&plan);
        } else {
            print_plan(&plan);
        }
        return Ok(0);
    }
    if args.min_delay_ms > args.max_delay_ms {
        bail!("--min-delay-ms must not exceed --max-delay-ms");
    }
    let options = PushOptions {
        mode: if args.resume {
            PushMode::Resume
        } else if args.retry_failed {
            PushMode::RetryFailed
        } else {
            PushMode::New
        },
        batch_size: args.batch_size.map(|b| b as usize),
        retry: RetryPolicy {
            max_retries: args.max_retries,
            min_delay: Duration::from_millis(args.min_delay_ms),
            max_delay: Duration::from_millis(args.max_delay_ms),
        },
    };
    let report = trueup::push::push(&mut ws, &args.recon, &options, &now(), actor, bar)?;
    bar.finish();
    if json {
        print_json(&report);
    } else {
        print_report(&report, "pushed");
    }
    Ok(exit_code(&report))
}

/// Runs `trueup rollback`.
pub fn rollback(
    ws_dir: &Path,
    args: RollbackArgs,
    actor: &Actor,
    bar: &Bar,
    json: bool,
) -> Result<i32> {
    let mut ws = Workspace::open(ws_dir)?;
    let report = trueup::push::rollback(
        &mut ws,
        args.push_id,
        args.record.as_deref(),
        &PushOptions::default(),
        &now(),
        actor,
        bar,
    )?;
    bar.finish();
    if json {
        print_json(&report);
    } else {
        print_report(&report, "rolled back");
    }
    Ok(exit_code(&report))
}

/// Runs `trueup push-results`.
pub fn results(ws_dir: &Path, args: PushResultsArgs, json: bool) -> Result<i32> {
    let ws = Workspace::open(ws_dir)?;
    let counts = trueup::push::write_results(&ws, &args.recon, args.push, &args.out_dir, args.bom)?;
    if json {
        print_json(&counts);
    } else {
        println!(
            "wrote {} successes to {} and {} errors to {}",
            counts.success,
            args.out_dir.join("success.csv").display(),
            counts.errors,
            args.out_dir.join("errors.csv").display()
        );
    }
    Ok(0)
}
