//! Argument parsing and dispatch.

mod output;
mod progress_bar;
mod push;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use trueup::export::{ExportKind, export_file, export_to};
use trueup::progress::{Actor, Progress};
use trueup::reconcile::{Filter, Kind};
use trueup::review::Verdict;
use trueup::{Error, Workspace};

use output::{print_json, print_page, print_proposal};
use progress_bar::Bar;

/// Keeps business records true across systems: pull, match, review, export.
///
/// A workspace is a folder with `trueup.toml` (systems, entities,
/// reconciliations) and `trueup.db` (the cache). Start with
/// `trueup init --demo DIR`, then `trueup -w DIR pull`, `trueup -w DIR
/// reconcile customers`, `trueup -w DIR proposals customers`.
#[derive(Debug, Parser)]
#[command(name = "trueup", version, about, long_about)]
struct Cli {
    /// The workspace folder.
    #[arg(
        short,
        long,
        global = true,
        env = "TRUEUP_WORKSPACE",
        default_value = "."
    )]
    workspace: PathBuf,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Print how long each stage took and the memory in use after it (on standard error).
    #[arg(long, global = true)]
    timings: bool,
    /// Who is acting (recorded with every decision); default: the OS user.
    #[arg(long = "as", global = true, value_name = "WHO")]
    who: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a workspace (empty, or the demo with sample ERP and CRM data).
    Init {
        /// Folder to create it in.
        dir: PathBuf,
        /// Create the demo workspace with bundled sample data.
        #[arg(long)]
        demo: bool,
    },
    /// List systems or test a connection.
    Systems {
        #[command(subcommand)]
        action: SystemsAction,
    },
    /// Pull entities from their systems into the cache (all when none named).
    Pull {
        /// Entities to pull.
        entities: Vec<String>,
    },
    /// Reconcile: map, match and compare; replaces the proposals (all when none named).
    Reconcile {
        /// Reconciliations to run.
        names: Vec<String>,
        /// Pull both entities first.
        #[arg(long)]
        pull: bool,
    },
    /// List proposals, filtered.
    Proposals {
        /// The reconciliation.
        recon: String,
        #[command(flatten)]
        filter: FilterArgs,
        /// Page size.
        #[arg(long, default_value_t = 50)]
        limit: u64,
        /// Skip this many.
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
    /// Show one proposal side by side (left, right, baseline, proposed).
    Show {
        /// The reconciliation.
        recon: String,
        /// The proposal's key (as listed).
        key: String,
    },
    /// Approve proposals: one by key, or every one matching the filter with --all.
    Approve(DecideArgs),
    /// Reject proposals: one by key, or every one matching the filter with --all.
    Reject(DecideArgs),
    /// Correct a proposal: set the values to send (FIELD=VALUE; an empty VALUE clears it).
    Correct {
        /// The reconciliation.
        recon: String,
        /// The proposal's key.
        key: String,
        /// FIELD=VALUE pairs.
        #[arg(required = true)]
        values: Vec<String>,
    },
    /// Approve deleting an orphan from the target (separate from ordinary approval).
    ApproveDelete {
        /// The reconciliation.
        recon: String,
        /// The orphan's key.
        key: String,
    },
    /// Undo your latest decision in a reconciliation.
    Undo {
        /// The reconciliation.
        recon: String,
    },
    /// Confirm that a left record and a right record are the same (stored link).
    Link {
        /// The reconciliation.
        recon: String,
        /// The left record's id.
        left_id: String,
        /// The right record's id.
        right_id: String,
    },
    /// Add an entry to a value map's CSV file (maps every record with that value at the next reconcile).
    MapValue {
        /// The reconciliation.
        recon: String,
        /// The value map's name.
        map: String,
        /// The source code.
        source: String,
        /// The target code.
        target: String,
    },
    /// Export a view to CSV (diff, exceptions, decisions).
    Export {
        /// The reconciliation.
        recon: String,
        /// What to export: diff, exceptions, decisions.
        #[arg(long, default_value = "diff")]
        what: ExportKind,
        /// Output file (standard output when absent).
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// Start with a UTF-8 byte-order mark (for Excel).
        #[arg(long)]
        bom: bool,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Run history: pulls and reconciles with counts, failures and durations.
    History {
        /// How many runs.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Compare two exports by key (no workspace needed): added, removed and changed rows.
    ///
    /// Exit status like diff: 0 identical, 1 different, 2 error.
    Diff(trueup::diff::DiffArgs),
    /// Push approved changes to the target (--dry-run lists them; --resume; --retry-failed).
    Push(push::PushArgs),
    /// Roll back a push: restore the values it replaced, unless the target changed since.
    Rollback(push::RollbackArgs),
    /// Write a push's results: success.csv (with target ids) and errors.csv.
    PushResults(push::PushResultsArgs),
    /// Suggest a field mapping from column names and sample values, to confirm by hand.
    Suggest {
        /// The left (source) entity.
        left: String,
        /// The right (target) entity.
        right: String,
    },
}

#[derive(Debug, Subcommand)]
enum SystemsAction {
    /// List the configured systems.
    List,
    /// Connect to a system and describe what was found.
    Test {
        /// The system's name.
        name: String,
    },
}

#[derive(Debug, Args, Clone, Default)]
struct FilterArgs {
    /// Only these categories (in_sync, create, update, orphan, conflict), comma-separated.
    #[arg(long, value_delimiter = ',')]
    kind: Vec<String>,
    /// Only proposals where this field differs.
    #[arg(long)]
    field: Option<String>,
    /// Only proposals containing this text.
    #[arg(long)]
    text: Option<String>,
    /// Only: undecided, approved, rejected, stale.
    #[arg(long)]
    decision: Option<String>,
    /// Only conflicts with this reason code (e.g. duplicate_key, unmapped_value, validation).
    #[arg(long)]
    reason: Option<String>,
}

impl FilterArgs {
    fn to_filter(&self) -> Result<Filter> {
        let kinds = self
            .kind
            .iter()
            .map(|k| Kind::parse(k).with_context(|| format!("unknown category {k:?}")))
            .collect::<Result<Vec<_>>>()?;
        Ok(Filter {
            kinds,
            field: self.field.clone(),
            text: self.text.clone(),
            decision: self.decision.clone(),
            reason: self.reason.clone(),
        })
    }
}

#[derive(Debug, Args)]
struct DecideArgs {
    /// The reconciliation.
    recon: String,
    /// The proposal's key (omit with --all).
    key: Option<String>,
    /// Every proposal matching the filter.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    filter: FilterArgs,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Runs the command line; returns the exit status.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = cancel.clone();
        let _ = ctrlc::set_handler(move || {
            if cancel.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\ncancelling… (the cache is left as it was)");
        });
    }
    match run(cli, cancel) {
        Ok(code) => code,
        Err(e) => {
            match e.downcast_ref::<Error>() {
                Some(err) => eprintln!(
                    "error [{}]: {err}",
                    serde_json::to_value(err.code())
                        .unwrap_or_default()
                        .as_str()
                        .unwrap_or("")
                ),
                None => eprintln!("error: {e:#}"),
            }
            if matches!(e.downcast_ref::<Error>(), Some(Error::Cancelled)) {
                130
            } else {
                2
            }
        }
    }
}

fn run(cli: Cli, cancel: Arc<AtomicBool>) -> Result<i32> {
    let actor = match &cli.who {
        Some(w) => Actor {
            who: w.clone(),
            origin: "cli".into(),
        },
        None => Actor::os_user("cli"),
    };
    let bar =
        Bar::new(cancel, std::io::stderr().is_terminal() && !cli.json).with_timings(cli.timings);
    match cli.command {
        Command::Init { dir, demo } => {
            let ws = if demo {
                Workspace::init_demo(&dir)?
            } else {
                Workspace::init(&dir)?
            };
            if cli.json {
                print_json(&serde_json::json!({"workspace": ws.dir(), "demo": demo}));
            } else {
                println!("created workspace {}", ws.dir().display());
                if demo {
                    println!(
                        "next: trueup -w {} reconcile --pull customers",
                        ws.dir().display()
                    );
                }
            }
            Ok(0)
        }
        Command::Systems { action } => {
            let ws = Workspace::open(&cli.workspace)?;
            match action {
                SystemsAction::List => {
                    let list: Vec<serde_json::Value> = ws
                        .config
                        .systems
                        .iter()
                        .map(|(n, s)| serde_json::json!({"name": n, "kind": s.kind()}))
                        .collect();
                    if cli.json {
                        print_json(&list);
                    } else {
                        for (n, s) in &ws.config.systems {
                            println!("{n:20} {}", s.kind());
                        }
                    }
                }
                SystemsAction::Test { name } => {
                    let check = ws.check_system(&name)?;
                    let (info, sample) = (check.info, check.sample);
                    if cli.json {
                        print_json(&serde_json::json!({
                            "description": info.description,
                            "entities": info.entities,
                            "sample": sample.as_ref().map(|s| serde_json::json!({
                                "entity": s.entity,
                                "record": s.fields.iter().map(|(f, v)| (f.clone(), serde_json::Value::from(v.clone()))).collect::<serde_json::Map<String, serde_json::Value>>(),
                            })),
                        }));
                    } else {
                        println!("{name}: ok — {}", info.description);
                        for e in &info.entities {
                            println!("  {e}");
                        }
                        match &sample {
                            Some(s) => {
                                println!("sample record of {}:", s.entity);
                                for (f, v) in &s.fields {
                                    println!("  {f:20} {}", v.as_deref().unwrap_or("null"));
                                }
                            }
                            None => println!("(no entity of this system has records to show)"),
                        }
                    }
                }
            }
            Ok(0)
        }
        Command::Pull { entities } => {
            let mut ws = Workspace::open(&cli.workspace)?;
            let names: Vec<String> = if entities.is_empty() {
                ws.config.entities.keys().cloned().collect()
            } else {
                entities
            };
            let mut out = Vec::new();
            for e in names {
                let s = trueup::pull::pull(&mut ws, &e, &now(), &actor, &bar)?;
                bar.finish();
                if !cli.json {
                    println!(
                        "pulled {}: {} records ({} new, {} changed, {} removed){}",
                        s.entity,
                        s.records,
                        s.added,
                        s.changed,
                        s.removed,
                        if s.errors.is_empty() {
                            String::new()
                        } else {
                            format!(", {} problems:", s.errors.len())
                        }
                    );
                    for err in &s.errors {
                        println!("  {err}");
                    }
                }
                out.push(s);
            }
            if cli.json {
                print_json(&out);
            }
            Ok(0)
        }
        Command::Reconcile { names, pull } => {
            let mut ws = Workspace::open(&cli.workspace)?;
            let names: Vec<String> = if names.is_empty() {
                ws.config.reconciliations.keys().cloned().collect()
            } else {
                names
            };
            let mut out = Vec::new();
            for n in names {
                if pull {
                    for s in trueup::pull::pull_sides(&mut ws, &n, &now(), &actor, &bar)? {
                        if !cli.json {
                            println!(
                                "pulled {}: {} records ({} new, {} changed, {} removed, {} problems)",
                                s.entity,
                                s.records,
                                s.added,
                                s.changed,
                                s.removed,
                                s.errors.len()
                            );
                        }
                    }
                    bar.finish();
                }
                let s = trueup::reconcile::reconcile(&mut ws, &n, &now(), &actor, &bar)?;
                bar.finish();
                if !cli.json {
                    println!(
                        "reconciled {}: {} left × {} right records{}",
                        s.reconciliation,
                        s.left_records,
                        s.right_records,
                        if s.incremental {
                            " (incremental: only changed groups judged)"
                        } else {
                            ""
                        }
                    );
                    for (k, c) in &s.counts {
                        println!("  {k:10} {c}");
                    }
                    if !s.conflict_reasons.is_empty() {
                        println!("  conflicts by reason:");
                        for (k, c) in &s.conflict_reasons {
                            println!("    {k:18} {c}");
                        }
                    }
                    if s.stale_decisions > 0 {
                        println!(
                            "  {} decisions are stale (their records changed): review them again",
                            s.stale_decisions
                        );
                    }
                }
                out.push(s);
            }
            if cli.json {
                print_json(&out);
            }
            Ok(0)
        }
        Command::Proposals {
            recon,
            filter,
            limit,
            offset,
        } => {
            let ws = Workspace::open(&cli.workspace)?;
            let page = ws.proposals(&recon, &filter.to_filter()?, offset, limit)?;
            if cli.json {
                print_json(&page);
            } else {
                print_page(&page, offset);
            }
            Ok(0)
        }
        Command::Show { recon, key } => {
            let ws = Workspace::open(&cli.workspace)?;
            let p = ws.proposal(&recon, &key)?;
            if cli.json {
                print_json(&p);
            } else {
                print_proposal(&p);
            }
            Ok(0)
        }
        Command::Approve(args) => decide(&cli.workspace, args, Verdict::Approve, &actor, cli.json),
        Command::Reject(args) => decide(&cli.workspace, args, Verdict::Reject, &actor, cli.json),
        Command::ApproveDelete { recon, key } => {
            let mut ws = Workspace::open(&cli.workspace)?;
            let d = ws.decide(&recon, &key, Verdict::Delete, &[], &now(), &actor)?;
            if cli.json {
                print_json(&d);
            } else {
                println!(
                    "approved deleting {key} from the target (decision {})",
                    d.id
                );
            }
            Ok(0)
        }
        Command::Correct { recon, key, values } => {
            let mut ws = Workspace::open(&cli.workspace)?;
            let mut corrections = Vec::new();
            for pair in values {
                let Some((f, v)) = pair.split_once('=') else {
                    bail!("{pair:?} is not FIELD=VALUE");
                };
                corrections.push((f.to_string(), trueup::records::value_from(v)));
            }
            let d = ws.decide(&recon, &key, Verdict::Correct, &corrections, &now(), &actor)?;
            if cli.json {
                print_json(&d);
            } else {
                println!(
                    "corrected {key}: will send {} (sha256 {})",
                    d.values
                        .iter()
                        .map(|(f, v)| format!("{f}={}", v.as_deref().unwrap_or("")))
                        .collect::<Vec<_>>()
                        .join(", "),
                    &d.values_hash[..12]
                );
            }
            Ok(0)
        }
        Command::Undo { recon } => {
            let mut ws = Workspace::open(&cli.workspace)?;
            match ws.undo_last_decision(&recon, &actor)? {
                Some(d) => println!(
                    "undid {} of {}",
                    d.verdict,
                    trueup::records::display_key(&d.match_key)
                ),
                None => println!("no decision of yours to undo"),
            }
            Ok(0)
        }
        Command::Link {
            recon,
            left_id,
            right_id,
        } => {
            let ws = Workspace::open(&cli.workspace)?;
            ws.link(&recon, &left_id, &right_id, &now(), &actor)?;
            println!("linked {left_id} ↔ {right_id}; reconcile again to use it");
            Ok(0)
        }
        Command::MapValue {
            recon,
            map,
            source,
            target,
        } => {
            let ws = Workspace::open(&cli.workspace)?;
            let file = trueup::reconcile::map_value(&ws, &recon, &map, &source, &target)?;
            println!(
                "mapped {source:?} → {target:?} in {}; reconcile again to apply",
                file.display()
            );
            Ok(0)
        }
        Command::Export {
            recon,
            what,
            out,
            bom,
            filter,
        } => {
            let ws = Workspace::open(&cli.workspace)?;
            let filter = filter.to_filter()?;
            match out {
                Some(path) => {
                    let n = export_file(&ws, &recon, what, &filter, bom, &path)?;
                    eprintln!("wrote {n} rows to {}", path.display());
                }
                None => {
                    let stdout = std::io::stdout();
                    export_to(&ws, &recon, what, &filter, bom, stdout.lock())?;
                }
            }
            Ok(0)
        }
        Command::History { limit } => {
            let ws = Workspace::open(&cli.workspace)?;
            let runs = ws.cache.runs(limit)?;
            if cli.json {
                print_json(&runs);
            } else {
                output::print_runs(&runs);
            }
            Ok(0)
        }
        Command::Diff(mut args) => {
            if cli.json {
                args.format = trueup::diff::OutputFormat::Json;
            }
            let mut out = std::io::stdout().lock();
            Ok(trueup::diff::run_cli(&args, &mut out))
        }
        Command::Push(args) => push::push(&cli.workspace, args, &actor, &bar, cli.json),
        Command::Rollback(args) => push::rollback(&cli.workspace, args, &actor, &bar, cli.json),
        Command::PushResults(args) => push::results(&cli.workspace, args, cli.json),
        Command::Suggest { left, right } => {
            let ws = Workspace::open(&cli.workspace)?;
            let (suggestions, _) = ws.suggest_mapping(&left, &right)?;
            if cli.json {
                print_json(&suggestions);
            } else {
                output::print_suggestions(&suggestions);
            }
            Ok(0)
        }
    }
}

fn decide(
    ws_dir: &std::path::Path,
    args: DecideArgs,
    verdict: Verdict,
    actor: &Actor,
    json: bool,
) -> Result<i32> {
    let mut ws = Workspace::open(ws_dir)?;
    match (&args.key, args.all) {
        (Some(key), false) => {
            let d = ws.decide(&args.recon, key, verdict, &[], &now(), actor)?;
            if json {
                print_json(&d);
            } else {
                println!("{}d {key} (sha256 {})", d.verdict, &d.values_hash[..12]);
            }
            Ok(0)
        }
        (None, true) => {
            let o = ws.decide_all(
                &args.recon,
                &args.filter.to_filter()?,
                verdict,
                &now(),
                actor,
            )?;
            if json {
                print_json(&o);
            } else {
                println!("{} proposals decided", o.decided);
                if !o.refused.is_empty() {
                    println!("{} refused:", o.refused.len());
                    for (k, why) in o.refused.iter().take(20) {
                        println!("  {k}: {why}");
                    }
                    if o.refused.len() > 20 {
                        println!("  … and {} more", o.refused.len() - 20);
                    }
                }
            }
            Ok(if o.refused.is_empty() { 0 } else { 1 })
        }
        _ => bail!("give either a proposal key or --all (with filters)"),
    }
}

impl Progress for Bar {
    fn stage(&self, name: &str, total: Option<u64>) {
        self.set_stage(name, total);
    }
    fn advance(&self, n: u64) {
        self.inc(n);
    }
    fn cancelled(&self) -> bool {
        self.is_cancelled()
    }
}
