//! Reading a CSV file record by record, in any supported encoding, with
//! errors that name the file, the line and the column.

use std::cell::Cell;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use encoding_rs::UTF_8;
use encoding_rs_io::DecodeReaderBytesBuilder;

use super::format::{CsvFormat, CsvOptions, sniff};
use crate::error::{Error, Result};

/// Counts double quotes passing through, to spot an unterminated quoted field.
struct QuoteCounter<R> {
    inner: R,
    quotes: Rc<Cell<u64>>,
}

impl<R: Read> Read for QuoteCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let q = memchr::memchr_iter(b'"', &buf[..n]).count() as u64;
        self.quotes.set(self.quotes.get() + q);
        Ok(n)
    }
}

/// A CSV file opened for reading, its header already read.
pub struct CsvReader {
    path: PathBuf,
    format: CsvFormat,
    headers: Vec<String>,
    inner: csv::Reader<Box<dyn Read>>,
    quotes: Rc<Cell<u64>>,
    record: csv::StringRecord,
    done: bool,
}

impl std::fmt::Debug for CsvReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvReader")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("headers", &self.headers)
            .finish()
    }
}

impl CsvReader {
    /// Opens `path`, detects its format as `options` allow, and reads the header.
    pub fn open(path: &Path, options: &CsvOptions) -> Result<Self> {
        let format = sniff(path, options)?;
        Self::open_with(path, format)
    }

    /// Opens `path` with a known format and reads the header.
    pub fn open_with(path: &Path, format: CsvFormat) -> Result<Self> {
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        let quotes = Rc::new(Cell::new(0));
        let decoded: Box<dyn Read> = if format.encoding == UTF_8 {
            file.seek(SeekFrom::Start(format.bom_len as u64))
                .map_err(|e| Error::io(path, e))?;
            Box::new(BufReader::with_capacity(1 << 16, file))
        } else {
            Box::new(
                DecodeReaderBytesBuilder::new()
                    .encoding(Some(format.encoding))
                    .bom_override(true)
                    .build(BufReader::with_capacity(1 << 16, file)),
            )
        };
        let counted: Box<dyn Read> = Box::new(QuoteCounter {
            inner: decoded,
            quotes: quotes.clone(),
        });
        let mut inner = csv::ReaderBuilder::new()
            .delimiter(format.delimiter)
            .flexible(true)
            .has_headers(false)
            .from_reader(counted);
        let mut header = csv::StringRecord::new();
        let got = inner
            .read_record(&mut header)
            .map_err(|e| csv_error(path, e))?;
        if !got {
            return Err(Error::input(
                path,
                Some(1),
                None,
                "the file is empty: no header row",
            ));
        }
        let headers = header_names(path, header.iter())?;
        Ok(CsvReader {
            path: path.to_path_buf(),
            format,
            headers,
            inner,
            quotes,
            record: csv::StringRecord::new(),
            done: false,
        })
    }

    /// The column names from the header row (trimmed; blank ones named `column_N`).
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The detected or configured format.
    pub fn format(&self) -> CsvFormat {
        self.format
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the next record; returns its starting line and its fields, or
    /// `None` at the end. Ragged rows, invalid text and unterminated quotes are
    /// errors naming the line.
    pub fn next_record(&mut self) -> Result<Option<(u64, &csv::StringRecord)>> {
        if self.done {
            return Ok(None);
        }
        loop {
            let got = self
                .inner
                .read_record(&mut self.record)
                .map_err(|e| csv_error(&self.path, e))?;
            let start_line = self.record.position().map(|p| p.line()).unwrap_or(0);
            if !got {
                self.done = true;
                return Ok(None);
            }
            // Skip fully blank lines (a lone empty field).
            if self.record.len() == 1 && self.record[0].is_empty() {
                continue;
            }
            // An odd number of quotes so far, and a field that swallowed line
            // breaks: a quote opened here was never closed.
            if self.quotes.get() % 2 == 1 && self.record.iter().any(|f| f.contains('\n')) {
                return Err(Error::input(
                    &self.path,
                    Some(start_line),
                    None,
                    "unterminated quoted field: a quote opened on this line is never closed",
                ));
            }
            if self.record.len() != self.headers.len() {
                let field = if self.record.len() > self.headers.len() {
                    None
                } else {
                    self.headers.get(self.record.len()).map(String::as_str)
                };
                return Err(Error::input(
                    &self.path,
                    Some(start_line),
                    field,
                    format!(
                        "ragged row: {} fields where the header has {}",
                        self.record.len(),
                        self.headers.len()
                    ),
                ));
            }
            return Ok(Some((start_line, &self.record)));
        }
    }
}

/// Validates a header row: names are trimmed (a stray BOM dropped), blank
/// ones become `column_N`, and a name used twice is an error on line 1.
/// Every CSV path (record-by-record and byte-level) goes through this.
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
