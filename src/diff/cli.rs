//! The command line of `trueup diff`: arguments, validation, exit status.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use super::output::{CsvSink, JsonSink, TableSink};
use super::{DiffOptions, DuplicatePolicy, OutputFormat, Tolerance, diff_files};
use crate::connectors::csv::{CsvOptions, EncodingChoice, parse_delimiter};
use crate::error::{Error, Result};

/// Compare two exports by key: what was added, removed and changed.
///
/// Exit status: 0 identical, 1 different, 2 error.
#[derive(Debug, Clone, clap::Args)]
pub struct DiffArgs {
    /// The older (or reference) file: CSV, or XLSX.
    pub left: PathBuf,
    /// The newer file: CSV, or XLSX.
    pub right: PathBuf,
    /// Key column(s) matching rows, comma-separated: `--key id` or `--key country,sku`.
    #[arg(short, long = "key", value_delimiter = ',', required = true)]
    pub keys: Vec<String>,
    /// Columns not to compare, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Compare only these columns, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Ignore leading and trailing spaces (keys and values).
    #[arg(long)]
    pub trim: bool,
    /// Ignore letter case (keys and values).
    #[arg(long)]
    pub ignore_case: bool,
    /// Numbers equal within this difference (`0`: `10.0` equals `10`).
    #[arg(long, value_name = "X")]
    pub numeric_tolerance: Option<f64>,
    /// Dates equal when they denote the same instant in any of these formats
    /// (comma-separated strftime formats, or `iso`), e.g. `iso,%d/%m/%Y`.
    #[arg(long, value_delimiter = ',', value_name = "FMT")]
    pub date_formats: Vec<String>,
    /// Tolerate duplicate keys, keeping the first or the last row of each.
    #[arg(long, value_enum, value_name = "first|last")]
    pub allow_duplicates: Option<DuplicatePolicy>,
    /// List at most N rows per section (default 50 for table, all otherwise).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Start CSV output with a UTF-8 byte-order mark (Excel).
    #[arg(long)]
    pub bom: bool,
    /// Sheet to read from spreadsheet input (default: the first).
    #[arg(long)]
    pub sheet: Option<String>,
    /// Input encoding: auto, utf-8, utf-16le, utf-16be, windows-1252, ...
    #[arg(long, default_value = "auto")]
    pub encoding: String,
    /// Input delimiter: auto, comma, semicolon, tab, pipe, or one character.
    #[arg(long, default_value = "auto")]
    pub delimiter: String,
    /// Colour changed cells in table output: auto (when a terminal), always, never.
    #[arg(long, default_value = "auto", value_parser = ["auto", "always", "never"])]
    pub color: String,
}

impl DiffArgs {
    /// Turns the arguments into validated options (no I/O besides asking
    /// whether standard output is a terminal).
    pub fn options(&self) -> Result<DiffOptions> {
        let encoding = EncodingChoice::parse(&self.encoding)
            .ok_or_else(|| Error::Invalid(format!("unknown encoding {:?}", self.encoding)))?;
        let delimiter = parse_delimiter(&self.delimiter)
            .ok_or_else(|| Error::Invalid(format!("unknown delimiter {:?}", self.delimiter)))?;
        if let Some(t) = self.numeric_tolerance
            && !(t >= 0.0 && t.is_finite())
        {
            return Err(Error::Invalid(format!(
                "--numeric-tolerance must be a number ≥ 0, not {t}"
            )));
        }
        let keys: Vec<String> = self
            .keys
            .iter()
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect();
        if keys.is_empty() {
            return Err(Error::Invalid(
                "name at least one key column (--key COL[,COL...])".into(),
            ));
        }
        let color = match self.color.as_str() {
            "always" => true,
            "never" => false,
            _ => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        };
        Ok(DiffOptions {
            keys,
            ignore: self.ignore.clone(),
            columns: self.columns.clone(),
            tolerance: Tolerance {
                trim: self.trim,
                ignore_case: self.ignore_case,
                numeric: self.numeric_tolerance,
                date_formats: self.date_formats.clone(),
            },
            duplicates: self.allow_duplicates.unwrap_or_default(),
            limit: self.limit.or(match self.format {
                OutputFormat::Table => Some(50),
                _ => None,
            }),
            format: self.format,
            bom: self.bom,
            csv: CsvOptions {
                encoding,
                delimiter,
            },
            sheet: self.sheet.clone(),
            color,
        })
    }
}

/// Runs `trueup diff`: writes the result to `out`, errors to standard error,
/// and returns the exit status (0 identical, 1 different, 2 error).
pub fn run_cli(args: &DiffArgs, out: &mut dyn Write) -> i32 {
    match run(args, out) {
        Ok(true) => 1,
        Ok(false) => 0,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => 1,
        Err(e) => {
            eprintln!("trueup diff: error: {e}");
            2
        }
    }
}

fn run(args: &DiffArgs, out: &mut dyn Write) -> Result<bool> {
    let options = args.options()?;
    let out = std::io::BufWriter::with_capacity(1 << 16, out);
    let report = match options.format {
        OutputFormat::Json => {
            diff_files(&args.left, &args.right, &options, &mut JsonSink::new(out))?
        }
        OutputFormat::Csv => diff_files(
            &args.left,
            &args.right,
            &options,
            &mut CsvSink::new(out, options.bom).map_err(|e| Error::io("<output>", e))?,
        )?,
        OutputFormat::Table => diff_files(
            &args.left,
            &args.right,
            &options,
            &mut TableSink::new(out, options.color),
        )?,
    };
    if options.format != OutputFormat::Table {
        for w in &report.duplicate_warnings {
            eprintln!("trueup diff: warning: duplicate key, one row kept: {w}");
        }
    }
    Ok(report.differs())
}
