//! Opening one side of a diff: a CSV file through the engine's CSV reader,
//! or a spreadsheet's sheet converted to CSV text in memory.

use std::path::Path;

use calamine::{Data, Reader, open_workbook_auto};

use super::DiffOptions;
use crate::connectors::csv::CsvBytes;
use crate::error::{Error, Result};

/// Whether `path` names a spreadsheet (by extension).
fn is_spreadsheet(path: &Path) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(ext.as_str(), "xlsx" | "xlsm" | "xlsb" | "xls" | "ods")
}

/// Opens one side: CSV files with their encoding and delimiter detected (or
/// as `options.csv` fixes them), spreadsheets by their first sheet (or
/// `options.sheet`). Positions in spreadsheet errors are row numbers.
pub fn open_side(path: &Path, options: &DiffOptions) -> Result<CsvBytes> {
    if !is_spreadsheet(path) {
        return CsvBytes::open(path, &options.csv);
    }
    if !path.exists() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        ));
    }
    let mut book = open_workbook_auto(path).map_err(|e| {
        Error::input(
            path,
            None,
            None,
            format!("cannot read the spreadsheet: {e}"),
        )
    })?;
    let names = book.sheet_names();
    let sheet = match &options.sheet {
        Some(s) => names.iter().find(|n| *n == s).cloned().ok_or_else(|| {
            Error::NotFound(format!(
                "{}: no sheet {s:?} (sheets: {})",
                path.display(),
                names.join(", ")
            ))
        })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| Error::input(path, None, None, "the spreadsheet has no sheet"))?,
    };
    let range = book.worksheet_range(&sheet).map_err(|e| {
        Error::input(
            path,
            None,
            None,
            format!("cannot read sheet {sheet:?}: {e}"),
        )
    })?;
    let mut text = Vec::new();
    {
        let mut w = csv::WriterBuilder::new().from_writer(&mut text);
        for row in range.rows() {
            for cell in row {
                let v = match cell {
                    Data::Empty => String::new(),
                    Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => {
                        format!("{}", *f as i64)
                    }
                    Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
                    other => other.to_string(),
                };
                w.write_field(v)
                    .map_err(|e| Error::input(path, None, None, e.to_string()))?;
            }
            w.write_record(None::<&[u8]>)
                .map_err(|e| Error::input(path, None, None, e.to_string()))?;
        }
        w.flush().map_err(|e| Error::io(path, e))?;
    }
    CsvBytes::from_text(path, text, b',', true)
}
