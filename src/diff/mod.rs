//! `trueup diff`: a keyed comparison of two exports, with no workspace.
//!
//! Rows are matched by key columns regardless of order, columns by header
//! name; the result is what was added (only in the right file), removed
//! (only in the left file) and changed (the columns that differ), written as
//! a table, CSV or one JSON object (see `docs/diff.md` for the contract).
//!
//! The reading (`connectors::csv`), key normalisation and field comparison
//! ([`compare`]) are the reconciliation engine's own: a diff and a
//! reconciliation of the same files agree by construction.
//!
//! ```no_run
//! use trueup::diff::{DiffOptions, diff_files, output::JsonSink};
//! let options = DiffOptions { keys: vec!["id".into()], ..DiffOptions::default() };
//! let mut out = std::io::stdout().lock();
//! let report = diff_files("old.csv".as_ref(), "new.csv".as_ref(), &options, &mut JsonSink::new(&mut out))?;
//! std::process::exit(if report.differs() { 1 } else { 0 });
//! # Ok::<(), trueup::Error>(())
//! ```

mod cli;
pub mod compare;
mod engine;
mod input;
pub mod output;

use std::path::Path;

pub use cli::{DiffArgs, run_cli};
pub use compare::{Tolerance, normalise_key, normalise_value, values_equal};
pub use engine::{ChangeView, DiffSink, Plan, Report, RowView, Section, Summary, diff};
pub use input::open_side;
pub use output::neutralise;

use crate::connectors::csv::CsvOptions;
use crate::error::Result;

/// What to do with a key that appears on more than one row of a file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DuplicatePolicy {
    /// Report the duplicates and fail (exit status 2). The default: a diff
    /// over ambiguous keys would be a guess.
    #[default]
    Reject,
    /// Keep the first row of each key (lowest line), ignore the others; the
    /// duplicates are still listed as warnings.
    First,
    /// Keep the last row of each key (highest line), ignore the others.
    Last,
}

/// How the result is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// A readable summary and the differing rows, side by side.
    #[default]
    Table,
    /// One row per changed cell (`kind,key...,column,left,right`), Excel-safe.
    Csv,
    /// Exactly one JSON object (`summary`, `columns`, `added`, `removed`, `changed`).
    Json,
}

/// Everything a diff needs besides the two files. Validated by
/// [`Plan::new`] against the headers, before any record is read.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// The key columns (at least one); rows match when all are equal after normalisation.
    pub keys: Vec<String>,
    /// Columns not compared.
    pub ignore: Vec<String>,
    /// When set, only these columns are compared.
    pub columns: Option<Vec<String>>,
    /// Trim, ignore case, numeric and date tolerances (keys get the textual ones).
    pub tolerance: Tolerance,
    /// Duplicate keys: reject (default), or keep the first or last row.
    pub duplicates: DuplicatePolicy,
    /// List at most this many rows per section (counts stay complete).
    pub limit: Option<usize>,
    /// The output format.
    pub format: OutputFormat,
    /// Start CSV output with a UTF-8 byte-order mark (for Excel).
    pub bom: bool,
    /// How to read CSV input (encoding and delimiter; detected by default).
    pub csv: CsvOptions,
    /// The spreadsheet sheet to read from XLSX input (default: the first).
    pub sheet: Option<String>,
    /// Highlight changed cells with terminal colours (table output).
    pub color: bool,
}

/// Opens both files (CSV or XLSX, each detected independently) and diffs them into `sink`.
pub fn diff_files(
    left: &Path,
    right: &Path,
    options: &DiffOptions,
    sink: &mut dyn DiffSink,
) -> Result<Report> {
    let (l, r) = std::thread::scope(|s| {
        let t = s.spawn(|| open_side(left, options));
        let r = open_side(right, options);
        (t.join().expect("opening does not panic"), r)
    });
    diff(&l?, &r?, options, sink)
}
