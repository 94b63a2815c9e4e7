//! The XLSX system: reads an entity from a sheet of a spreadsheet workbook
//! (XLSX, and also XLSM, XLSB, XLS and ODS through the same reader).
//! Read-only.
//!
//! - The entity's `table` names the sheet; without one, the first sheet is read.
//! - The first non-empty row of the sheet is the header row; blank header
//!   cells are named `column_N`, and a name given twice is an error.
//! - Cells are read as text (see [`value::render`]); entirely empty rows are
//!   skipped. A record's origin is its row number as the spreadsheet shows it.

pub mod value;

use std::path::{Path, PathBuf};

use calamine::{Data, Range, Reader, Sheets, open_workbook_auto};

use crate::connectors::{Capabilities, ConnectionInfo, Connector, EntitySource, RecordSink};
use crate::error::{Error, ErrorCode, Result};
use crate::records::{Schema, Value};

/// A spreadsheet workbook file.
#[derive(Debug, Clone)]
pub struct XlsxSystem {
    name: String,
    path: PathBuf,
}

impl XlsxSystem {
    /// The workbook at `path` (or a folder whose entities name their `file`),
    /// known in the workspace as `name`.
    pub fn new(name: String, path: PathBuf) -> Self {
        XlsxSystem { name, path }
    }

    fn file_for(&self, source: &EntitySource) -> PathBuf {
        match &source.file {
            Some(f) => self.path.join(f),
            None => self.path.clone(),
        }
    }

    fn open(&self, path: &Path) -> Result<Sheets<std::io::BufReader<std::fs::File>>> {
        if let Err(e) = std::fs::metadata(path) {
            return Err(Error::io(path, e));
        }
        open_workbook_auto(path).map_err(|e| match e {
            calamine::Error::Io(io) => Error::io(path, io),
            other => Error::input(
                path,
                None,
                None,
                format!("not a readable spreadsheet workbook: {other}"),
            ),
        })
    }

    fn sheet_range(&self, path: &Path, sheet: Option<&str>) -> Result<(String, Range<Data>)> {
        let mut workbook = self.open(path)?;
        let names = workbook.sheet_names();
        let sheet = match sheet {
            Some(wanted) => names
                .iter()
                .find(|n| n.as_str() == wanted)
                .cloned()
                .ok_or_else(|| Error::System {
                    system: self.name.clone(),
                    code: ErrorCode::NotFound,
                    message: format!(
                        "{}: no sheet named {wanted:?} (the sheets are {})",
                        path.display(),
                        quoted_list(&names)
                    ),
                })?,
            None => names
                .first()
                .cloned()
                .ok_or_else(|| Error::input(path, None, None, "the workbook has no sheets"))?,
        };
        let range = workbook.worksheet_range(&sheet).map_err(|e| {
            Error::input(
                path,
                None,
                None,
                format!("sheet {sheet:?} cannot be read: {e}"),
            )
        })?;
        Ok((sheet, range))
    }
}

fn quoted_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_blank(row: &[Data]) -> bool {
    row.iter().all(|c| value::render(c).is_none())
}

impl Connector for XlsxSystem {
    fn check(&mut self) -> Result<ConnectionInfo> {
        if self.path.is_dir() {
            let mut entities = Vec::new();
            let dir = std::fs::read_dir(&self.path).map_err(|e| Error::io(&self.path, e))?;
            for entry in dir.flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                let lower = name.to_ascii_lowercase();
                if [".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"]
                    .iter()
                    .any(|ext| lower.ends_with(ext))
                {
                    entities.push(name);
                }
            }
            entities.sort();
            return Ok(ConnectionInfo {
                description: format!("folder of {} spreadsheet workbooks", entities.len()),
                entities,
            });
        }
        let workbook = self.open(&self.path)?;
        let entities = workbook.sheet_names();
        Ok(ConnectionInfo {
            description: format!(
                "spreadsheet workbook {}, {} sheets",
                self.path.display(),
                entities.len()
            ),
            entities,
        })
    }

    fn read(&mut self, source: &EntitySource, sink: &mut dyn RecordSink) -> Result<()> {
        let path = self.file_for(source);
        let (sheet, range) = self.sheet_range(&path, source.table.as_deref())?;
        let (first_row, _) = range.start().unwrap_or((0, 0));
        let mut rows = range
            .rows()
            .enumerate()
            .map(|(i, r)| (u64::from(first_row) + i as u64 + 1, r))
            .filter(|(_, r)| !is_blank(r));
        let Some((header_line, header)) = rows.next() else {
            return Err(Error::input(
                &path,
                None,
                None,
                format!("sheet {sheet:?} is empty: no header row"),
            ));
        };
        let mut names: Vec<String> = Vec::with_capacity(header.len());
        for (i, cell) in header.iter().enumerate() {
            let name = value::render(cell)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| format!("column_{}", i + 1));
            if names.contains(&name) {
                return Err(Error::input(
                    &path,
                    Some(header_line),
                    Some(&name),
                    format!("the header row of sheet {sheet:?} names column {name:?} twice"),
                ));
            }
            names.push(name);
        }
        let width = names.len();
        sink.schema(&Schema::new(names))?;
        for (line, row) in rows {
            let values: Vec<Value> = (0..width)
                .map(|i| row.get(i).and_then(value::render))
                .collect();
            if !sink.record(line, values)? {
                break;
            }
        }
        Ok(())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            read: true,
            write: false,
            conditional_writes: false,
        }
    }
}
