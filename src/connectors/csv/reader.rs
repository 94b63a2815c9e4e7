//! What every CSV path shares: header validation, the csv crate's errors
//! turned into ours (file, line, column), and reading a small file whole.
//! Records themselves are read by the byte-level reader ([`super::bytes`]).

use std::path::Path;

use super::format::CsvOptions;
use crate::error::{Error, Result};

/// Validates a header row: names are trimmed (a stray BOM dropped), blank
/// ones become `column_N`, and a name used twice is an error on line 1.
/// Every CSV path goes through this.
pub(crate) fn header_names<'a>(
    path: &Path,
    header: impl Iterator<Item = &'a str>,
) -> Result<Vec<String>> {
    let mut headers: Vec<String> = Vec::new();
    for (i, h) in header.enumerate() {
        let name = h.trim().trim_start_matches('\u{feff}').to_string();
        let name = if name.is_empty() {
            format!("column_{}", i + 1)
        } else {
            name
        };
        if headers.contains(&name) {
            return Err(Error::input(
                path,
                Some(1),
                Some(&name),
                format!("the header names column {name:?} twice"),
            ));
        }
        headers.push(name);
    }
    Ok(headers)
}

/// Converts a csv crate error into ours, keeping the position.
pub(crate) fn csv_error(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::io(path, io),
        csv::ErrorKind::Utf8 { pos, err } => Error::input(
            path,
            pos.map(|p| p.line()).or(line),
            None,
            format!(
                "invalid UTF-8 text in field {}; set `encoding` (for example windows-1252) for this file",
                err.field() + 1
            ),
        ),
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => Error::input(
            path,
            pos.map(|p| p.line()).or(line),
            None,
            format!("ragged row: {len} fields where the header has {expected_len}"),
        ),
        other => Error::input(path, line, None, format!("{other:?}")),
    }
}

/// Records with the line each starts on.
pub type Lines = Vec<(u64, Vec<String>)>;

/// Reads a whole CSV file into its header and records with their lines.
pub fn read_all(path: &Path, options: &CsvOptions) -> Result<(Vec<String>, Lines)> {
    let source = super::bytes::CsvBytes::open(path, options)?;
    let headers = source.headers().to_vec();
    let mut rows = Vec::new();
    let mut records = source.records()?;
    while let Some((pos, fields)) = records.next_record()? {
        let row = (0..fields.len())
            .map(|i| String::from_utf8_lossy(fields.get(i)).into_owned())
            .collect();
        rows.push((pos.line, row));
    }
    Ok((headers, rows))
}
