//! `trueup-diff`: `trueup diff` on its own, until the main binary hosts it.

use clap::Parser;

/// Compare two exports by key: what was added, removed and changed.
#[derive(Parser)]
#[command(name = "trueup-diff", version)]
struct Cli {
    #[command(flatten)]
    args: trueup::diff::DiffArgs,
}

fn main() {
    let cli = Cli::parse();
    let mut out = std::io::stdout().lock();
    std::process::exit(trueup::diff::run_cli(&cli.args, &mut out));
}
