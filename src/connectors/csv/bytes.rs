//! The byte-level path: a CSV file's text as UTF-8 bytes, for readers that
//! parse millions of records and must not allocate per record (`trueup diff`).
//!
//! It shares everything that defines what a valid file is with
//! [`CsvReader`](super::CsvReader): format detection ([`sniff`]), header
//! validation (trimming, blank names, duplicate names), the ragged-row and
//! unterminated-quote rules, and the error conventions (file, line, column).
//! Only the plumbing differs: UTF-8 files are streamed from disk with large
//! reads and no decoding, other encodings are transcoded once into memory,
//! and records come out as [`csv::ByteRecord`]s reused from one to the next.
//! Any record can be read again later from its byte span
//! ([`CsvBytes::read_spans`]), so callers keep only offsets in memory.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use encoding_rs::UTF_8;

use super::format::{CsvFormat, CsvOptions, sniff};
use super::reader::{csv_error, header_names};
use crate::error::{Error, Result};

/// Size of the read buffer of the record parser and of the re-read window.
const BUFFER: usize = 1 << 20;

/// Spans closer than this are read back with one read.
const GAP: u64 = 8 << 10;

/// Where the UTF-8 text of a CSV file lives.
#[derive(Debug)]
enum Text {
    /// A UTF-8 file on disk; the text starts after the byte-order mark.
    File { file: File, start: u64 },
    /// Text transcoded into memory (UTF-16, Windows-1252, spreadsheets).
    Owned(Vec<u8>),
}

/// A CSV file's text as UTF-8 bytes, with its format and header.
#[derive(Debug)]
pub struct CsvBytes {
    path: PathBuf,
    format: CsvFormat,
    text: Text,
    headers: Vec<String>,
    /// Whether records report their record number instead of their line (spreadsheets).
    rows_are_records: bool,
}

impl CsvBytes {
    /// Opens `path`, detects its format as `options` allow, and reads the header.
    ///
    /// UTF-8 files stay on disk; other encodings are decoded into memory, and
    /// text that cannot be decoded is an error naming the line and column.
    pub fn open(path: &Path, options: &CsvOptions) -> Result<Self> {
        let format = sniff(path, options)?;
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        let text = if format.encoding == UTF_8 {
            file.seek(SeekFrom::Start(format.bom_len as u64))
                .map_err(|e| Error::io(path, e))?;
            Text::File {
                file,
                start: format.bom_len as u64,
            }
        } else {
            let mut raw = Vec::new();
            file.read_to_end(&mut raw).map_err(|e| Error::io(path, e))?;
            let (decoded, had_errors) = format
                .encoding
                .decode_without_bom_handling(&raw[format.bom_len.min(raw.len())..]);
            if had_errors {
                let at = decoded.find('\u{fffd}').unwrap_or(0);
                let (line, column) = line_and_column(decoded.as_bytes(), at, format.delimiter);
                return Err(Error::input(
                    path,
                    Some(line),
                    None,
                    format!(
                        "text that is not valid {} in field {column}; set `encoding` for this file",
                        format.encoding.name()
                    ),
                ));
            }
            Text::Owned(decoded.into_owned().into_bytes())
        };
        Self::with_text(path, format, text, false)
    }

    /// Wraps UTF-8 CSV text already in memory (for example a spreadsheet
    /// converted to CSV). When `rows_are_records` is set, positions are record
    /// numbers (header = 1) rather than physical lines.
    pub fn from_text(
        path: &Path,
        text: Vec<u8>,
        delimiter: u8,
        rows_are_records: bool,
    ) -> Result<Self> {
        let format = CsvFormat {
            encoding: UTF_8,
            delimiter,
            bom_len: 0,
        };
        Self::with_text(path, format, Text::Owned(text), rows_are_records)
    }

    fn with_text(
        path: &Path,
        format: CsvFormat,
        text: Text,
        rows_are_records: bool,
    ) -> Result<Self> {
        let mut this = CsvBytes {
            path: path.to_path_buf(),
            format,
            text,
            headers: Vec::new(),
            rows_are_records,
        };
        let mut header = csv::StringRecord::new();
        let got = this
            .raw_reader()?
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
        this.headers = header_names(path, header.iter())?;
        Ok(this)
    }

    /// The column names from the header row.
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

    fn raw_reader(&self) -> Result<csv::Reader<Box<dyn Read + '_>>> {
        let input: Box<dyn Read + '_> = match &self.text {
            Text::File { file, start } => {
                let mut f = file.try_clone().map_err(|e| Error::io(&self.path, e))?;
                f.seek(SeekFrom::Start(*start))
                    .map_err(|e| Error::io(&self.path, e))?;
                Box::new(f)
            }
            Text::Owned(v) => Box::new(&v[..]),
        };
        Ok(self.builder().from_reader(input))
    }

    fn builder(&self) -> csv::ReaderBuilder {
        let mut b = csv::ReaderBuilder::new();
        b.delimiter(self.format.delimiter)
            .flexible(true)
            .has_headers(false)
            .buffer_capacity(BUFFER);
        b
    }

    /// Returns a reader of the records after the header.
    pub fn records(&self) -> Result<ByteRecords<'_>> {
        let mut inner = self.raw_reader()?;
        let mut header = csv::ByteRecord::new();
        inner
            .read_byte_record(&mut header)
            .map_err(|e| csv_error(&self.path, e))?;
        Ok(ByteRecords {
            source: self,
            inner,
            validate_utf8: matches!(self.text, Text::File { .. }),
            last: None,
        })
    }

    /// Appends the bytes of each span (`offset`, `length`, as given by
    /// [`ByteRecords::next_record`]) to `out`, in the order given, and returns
    /// where each one starts in `out`. Reading is fastest when spans are sorted
    /// by offset: nearby spans are served from one large read.
    pub fn read_spans(&self, spans: &[(u64, u32)], out: &mut Vec<u8>) -> Result<Vec<usize>> {
        let mut starts = Vec::with_capacity(spans.len());
        match &self.text {
            Text::Owned(v) => {
                for &(off, len) in spans {
                    starts.push(out.len());
                    let off = off as usize;
                    out.extend_from_slice(&v[off..off + len as usize]);
                }
            }
            Text::File { file, start } => {
                let mut window: Vec<u8> = Vec::new();
                let mut win_off = 0u64;
                for (i, &(off, len)) in spans.iter().enumerate() {
                    starts.push(out.len());
                    let end = off + len as u64;
                    if off < win_off || end > win_off + window.len() as u64 {
                        // Refill the window at this span, stretching it over the
                        // following spans while they are close and it stays small.
                        let mut want_end = end;
                        for &(o, l) in &spans[i + 1..] {
                            let e = o + l as u64;
                            if o < want_end || o - want_end > GAP || e - off > BUFFER as u64 {
                                break;
                            }
                            want_end = e;
                        }
                        let want = (want_end - off) as usize;
                        window.resize(want, 0);
                        let mut got = 0;
                        while got < want {
                            let n = file
                                .read_at(&mut window[got..], start + off + got as u64)
                                .map_err(|e| Error::io(&self.path, e))?;
                            if n == 0 {
                                break;
                            }
                            got += n;
                        }
                        window.truncate(got);
                        win_off = off;
                        if got < len as usize {
                            return Err(Error::input(
                                &self.path,
                                None,
                                None,
                                "the file changed while it was being read",
                            ));
                        }
                    }
                    let s = (off - win_off) as usize;
                    out.extend_from_slice(&window[s..s + len as usize]);
                }
            }
        }
        Ok(starts)
    }

    /// A parser for single records read back with [`CsvBytes::read_spans`].
    pub fn record_parser(&self) -> RecordParser {
        RecordParser {
            core: csv_core::ReaderBuilder::new()
                .delimiter(self.format.delimiter)
                .build(),
            buf: Vec::new(),
            ends: Vec::new(),
        }
    }
}

/// The records of a [`CsvBytes`], one reused [`csv::ByteRecord`] at a time.
pub struct ByteRecords<'a> {
    source: &'a CsvBytes,
    inner: csv::Reader<Box<dyn Read + 'a>>,
    validate_utf8: bool,
    /// Start offset and line of the last record, for the unterminated-quote check.
    last: Option<(u64, u64)>,
}

impl std::fmt::Debug for ByteRecords<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByteRecords")
            .field("path", &self.source.path)
            .finish()
    }
}

/// Where a record is: its line (or record number) and its byte span in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordPos {
    /// The 1-based line where the record starts (record number for spreadsheets).
    pub line: u64,
    /// Byte offset of the record in the text.
    pub offset: u64,
    /// Length in bytes, line terminator included.
    pub len: u32,
}

impl ByteRecords<'_> {
    /// Reads the next record into `record`; returns its position, or `None`
    /// at the end. Blank lines are skipped; ragged rows, invalid UTF-8 and an
    /// unterminated quote are errors naming the file, line and column, exactly
    /// as [`CsvReader`](super::CsvReader) reports them.
    pub fn next_record(&mut self, record: &mut csv::ByteRecord) -> Result<Option<RecordPos>> {
        let path = &self.source.path;
        loop {
            let got = self
                .inner
                .read_byte_record(record)
                .map_err(|e| csv_error(path, e))?;
            if !got {
                self.check_last_quote()?;
                return Ok(None);
            }
            if record.len() == 1 && record[0].is_empty() {
                continue;
            }
            let pos = record.position().expect("the csv reader tracks positions");
            let line = if self.source.rows_are_records {
                pos.record() + 1
            } else {
                pos.line()
            };
            let offset = pos.byte();
            let end = self.inner.position().byte();
            let len = u32::try_from(end - offset)
                .map_err(|_| Error::input(path, Some(line), None, "a record longer than 4 GiB"))?;
            self.last = Some((offset, line));
            let headers = &self.source.headers;
            if record.len() != headers.len() {
                // An unterminated quote swallows the rest of the file into one
                // record: say so rather than "ragged row".
                if self.inner.is_done() {
                    self.check_last_quote()?;
                }
                let field = if record.len() > headers.len() {
                    None
                } else {
                    headers.get(record.len()).map(String::as_str)
                };
                return Err(Error::input(
                    path,
                    Some(line),
                    field,
                    format!(
                        "ragged row: {} fields where the header has {}",
                        record.len(),
                        headers.len()
                    ),
                ));
            }
            if self.validate_utf8 && simdutf8::basic::from_utf8(record.as_slice()).is_err() {
                let bad = record
                    .iter()
                    .position(|f| std::str::from_utf8(f).is_err())
                    .unwrap_or(0);
                return Err(Error::input(
                    path,
                    Some(line),
                    headers.get(bad).map(String::as_str),
                    format!(
                        "invalid UTF-8 text in field {}; set `encoding` (for example windows-1252) for this file",
                        bad + 1
                    ),
                ));
            }
            return Ok(Some(RecordPos { line, offset, len }));
        }
    }

    /// At the end of the text: a last record that spans several lines and
    /// holds an odd number of quotes opened a quoted field it never closed.
    fn check_last_quote(&mut self) -> Result<()> {
        let Some((offset, line)) = self.last.take() else {
            return Ok(());
        };
        let end = self.inner.position();
        if end.line() <= line + 1 || self.source.rows_are_records {
            return Ok(());
        }
        let len = (end.byte() - offset).min(u32::MAX as u64) as u32;
        let mut bytes = Vec::new();
        self.source.read_spans(&[(offset, len)], &mut bytes)?;
        if memchr::memchr_iter(b'"', &bytes).count() % 2 == 1 {
            return Err(Error::input(
                &self.source.path,
                Some(line),
                None,
                "unterminated quoted field: a quote opened on this line is never closed",
            ));
        }
        Ok(())
    }
}

/// Parses one record read back by [`CsvBytes::read_spans`], reusing its buffers.
pub struct RecordParser {
    core: csv_core::Reader,
    buf: Vec<u8>,
    ends: Vec<usize>,
}

impl std::fmt::Debug for RecordParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordParser")
            .field("fields", &self.ends.len())
            .finish()
    }
}

impl RecordParser {
    /// Parses the record in `bytes` (one record, as read back from its span).
    pub fn parse(&mut self, bytes: &[u8]) {
        self.core.reset();
        self.ends.clear();
        if self.buf.len() < bytes.len() + 16 {
            self.buf.resize(bytes.len() + 16, 0);
        }
        if self.ends.capacity() < 64 {
            self.ends.reserve(64);
        }
        let mut input = bytes;
        let mut out_at = 0;
        let mut ends = [0usize; 64];
        loop {
            let (res, nin, nout, nend) =
                self.core
                    .read_record(input, &mut self.buf[out_at..], &mut ends);
            input = &input[nin..];
            self.ends.extend_from_slice(&ends[..nend]);
            out_at += nout;
            match res {
                csv_core::ReadRecordResult::OutputFull => {
                    let n = self.buf.len() * 2;
                    self.buf.resize(n, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {}
                csv_core::ReadRecordResult::InputEmpty => {
                    if input.is_empty() {
                        // End of the span: tell the parser the input is over.
                        let (res, _, nout, nend) =
                            self.core
                                .read_record(&[], &mut self.buf[out_at..], &mut ends);
                        self.ends.extend_from_slice(&ends[..nend]);
                        let _ = nout;
                        debug_assert!(!matches!(res, csv_core::ReadRecordResult::OutputFull));
                        break;
                    }
                }
                csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => break,
            }
        }
    }

    /// How many fields the last parsed record has.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the last parsed record has no fields.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Field `i` of the last parsed record (empty if out of range). The text
    /// was validated when first read, so invalid UTF-8 cannot occur; it is
    /// replaced by an empty string rather than trusted.
    pub fn field(&self, i: usize) -> &str {
        if i >= self.ends.len() {
            return "";
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        std::str::from_utf8(&self.buf[start..self.ends[i]]).unwrap_or("")
    }
}

/// The 1-based line of byte `at` in `text`, and the 1-based field number on it.
fn line_and_column(text: &[u8], at: usize, delimiter: u8) -> (u64, usize) {
    let before = &text[..at.min(text.len())];
    let line = memchr::memchr_iter(b'\n', before).count() as u64 + 1;
    let line_start = memchr::memrchr(b'\n', before).map(|p| p + 1).unwrap_or(0);
    let column = before[line_start..]
        .iter()
        .filter(|&&b| b == delimiter)
        .count()
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_parser_reads_quoted_fields_back() {
        let mut rp = RecordParser {
            core: csv_core::ReaderBuilder::new().build(),
            buf: Vec::new(),
            ends: Vec::new(),
        };
        rp.parse(b"1,\"a, \"\"b\"\"\nc\",x\r\n");
        assert_eq!(
            rp.len(),
            3,
            "three fields, the quoted one holding a comma, quotes and a newline"
        );
        assert_eq!(rp.field(1), "a, \"b\"\nc");
        assert_eq!(
            rp.field(2),
            "x",
            "the line terminator is not part of the last field"
        );
        rp.parse(b"z");
        assert_eq!(
            (rp.len(), rp.field(0)),
            (1, "z"),
            "a last record without newline parses too"
        );
    }
}
