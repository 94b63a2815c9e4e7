//! The byte-level path: a CSV file's text as UTF-8 bytes, for readers that
//! parse millions of records and must not allocate per record (`trueup diff`).
//!
//! It is the one record reader: the CSV system (pulls), value maps and
//! `trueup diff` all read through it. Format detection is [`sniff`]; header
//! validation (trimming, blank names, duplicate names) and the error
//! conventions (file, line, column) are shared in `reader.rs`. UTF-8 files are streamed from disk with large
//! reads and no decoding, other encodings are transcoded once into memory,
//! and records come out as field slices of a reused buffer. Records on one
//! line (quoted or not) are split in place, sixteen bytes at a time; records
//! with quoted newlines, lone carriage returns or irregular quoting go
//! through the csv crate's own parser (`csv_core`). A property test checks
//! that both give exactly the csv crate's fields.
//!
//! Line numbers are physical lines, as an editor shows them. (The csv crate's
//! own positions put a record that follows a CRLF line end or blank lines on
//! an earlier line.)
//!
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
    /// Text offset where the records start (after the header).
    body: u64,
    /// Newlines before `body`.
    body_line: u64,
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
            body: 0,
            body_line: 0,
            rows_are_records,
        };
        let mut header = csv::StringRecord::new();
        let mut reader = this.raw_reader()?;
        let got = reader
            .read_record(&mut header)
            .map_err(|e| csv_error(path, e))?;
        let end = reader.position().clone();
        drop(reader);
        if !got {
            return Err(Error::input(
                path,
                Some(1),
                None,
                "the file is empty: no header row",
            ));
        }
        this.headers = header_names(path, header.iter())?;
        this.body = end.byte();
        this.body_line = end.line() - 1;
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
        ByteRecords::new(self)
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
            delimiter: self.format.delimiter,
            valid: false,
            buf: Vec::new(),
            bounds: Vec::new(),
        }
    }
}

/// The records of a [`CsvBytes`], one at a time, without allocating per record.
///
/// A record on one line ending in LF or CRLF (nearly every record of most
/// exports, quoted fields included) is split directly in the read buffer,
/// doubled quotes unescaped in place; any other record goes through the csv
/// crate's parser (`csv_core`), so quoting rules are exactly the csv crate's.
/// Both paths give the same fields (tested against the csv crate).
pub struct ByteRecords<'a> {
    source: &'a CsvBytes,
    input: Box<dyn Read + 'a>,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    /// Text offset of `buf[0]`.
    base: u64,
    /// Newlines consumed so far, plus the line where the body starts.
    line: u64,
    /// Records returned so far (for spreadsheets, whose positions are record numbers).
    count: u64,
    core: csv_core::Reader,
    out: Vec<u8>,
    core_ends: Vec<usize>,
    bounds: Vec<(u32, u32)>,
    /// Where the current record's fields live: the read buffer or `out`.
    in_out: bool,
    /// The current record's span in `buf` (fast path).
    line_at: (usize, usize),
    validate_utf8: bool,
    /// `buf[..utf8_checked]` is known to be valid UTF-8 (or holds `bad_utf8`).
    utf8_checked: usize,
    /// Text offset of the first invalid UTF-8 byte seen, if any.
    bad_utf8: Option<u64>,
    /// Whether field counts and quotes are checked (always, except in tests
    /// that compare raw parsing with the csv crate).
    checks: bool,
    /// The last record, and the newlines inside it.
    last: Option<(RecordPos, u64)>,
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

/// The fields of the record last read by [`ByteRecords::next_record`].
#[derive(Debug, Clone, Copy)]
pub struct Fields<'r> {
    data: &'r [u8],
    bounds: &'r [(u32, u32)],
}

impl<'r> Fields<'r> {
    /// How many fields.
    pub fn len(&self) -> usize {
        self.bounds.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.bounds.is_empty()
    }

    /// The bytes of field `i` (valid UTF-8: records are validated when read).
    #[inline]
    pub fn get(&self, i: usize) -> &'r [u8] {
        let (s, e) = self.bounds[i];
        &self.data[s as usize..e as usize]
    }
}

impl std::ops::Index<usize> for Fields<'_> {
    type Output = [u8];

    fn index(&self, i: usize) -> &[u8] {
        self.get(i)
    }
}

impl<'a> ByteRecords<'a> {
    fn new(source: &'a CsvBytes) -> Result<Self> {
        let input: Box<dyn Read + 'a> = match &source.text {
            Text::File { file, start } => {
                let mut f = file.try_clone().map_err(|e| Error::io(&source.path, e))?;
                f.seek(SeekFrom::Start(start + source.body))
                    .map_err(|e| Error::io(&source.path, e))?;
                Box::new(f)
            }
            Text::Owned(v) => Box::new(&v[source.body as usize..]),
        };
        Ok(ByteRecords {
            source,
            input,
            buf: vec![0; BUFFER],
            pos: 0,
            end: 0,
            eof: false,
            base: source.body,
            line: source.body_line,
            count: 1,
            core: csv_core::ReaderBuilder::new()
                .delimiter(source.format.delimiter)
                .build(),
            out: vec![0; 4096],
            core_ends: vec![0; 64],
            bounds: Vec::with_capacity(64),
            in_out: false,
            line_at: (0, 0),
            validate_utf8: matches!(source.text, Text::File { .. }),
            utf8_checked: 0,
            bad_utf8: None,
            checks: true,
            last: None,
        })
    }

    /// Moves unread bytes to the front and reads more; grows the buffer when
    /// one record fills it. Returns false at the end of the input.
    fn fill(&mut self) -> Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.utf8_checked = self.utf8_checked.saturating_sub(self.pos);
            self.pos = 0;
        }
        if self.end == self.buf.len() {
            let n = self.buf.len() * 2;
            self.buf.resize(n, 0);
        }
        loop {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    if self.validate_utf8 && self.bad_utf8.is_none() && self.utf8_checked < self.end
                    {
                        // A character cut off by the end of the file.
                        self.bad_utf8 = Some(self.base + self.utf8_checked as u64);
                    }
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    self.validate_new_text();
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(&self.source.path, e)),
            }
        }
    }

    /// Validates the UTF-8 of newly read text, in one pass over the whole
    /// chunk (much cheaper than record by record); remembers the first bad byte.
    fn validate_new_text(&mut self) {
        if !self.validate_utf8 || self.bad_utf8.is_some() {
            return;
        }
        let chunk = &self.buf[self.utf8_checked..self.end];
        match simdutf8::compat::from_utf8(chunk) {
            Ok(_) => self.utf8_checked = self.end,
            Err(e) => {
                let at = self.utf8_checked + e.valid_up_to();
                match e.error_len() {
                    // Cut at the end of the chunk: check again with the next one.
                    None => self.utf8_checked = at,
                    Some(_) => self.bad_utf8 = Some(self.base + at as u64),
                }
            }
        }
    }

    /// Reads the next record; returns its position and fields, or `None` at
    /// the end. Blank lines are skipped; ragged rows, invalid UTF-8 and an
    /// unterminated quote are errors naming the file, line and column.
    pub fn next_record(&mut self) -> Result<Option<(RecordPos, Fields<'_>)>> {
        let delimiter = self.source.format.delimiter;
        let (pos, lines) = loop {
            // Fast path: a whole line ending in LF or CRLF, split in place.
            let avail = &self.buf[self.pos..self.end];
            let hit = memchr::memchr2(b'\n', b'\r', avail);
            let line_end = match hit {
                Some(i) if avail[i] == b'\n' => Some((i, i + 1)),
                Some(i) if avail[i] == b'\r' && i + 1 < avail.len() && avail[i + 1] == b'\n' => {
                    Some((i, i + 2))
                }
                Some(i) if avail[i] == b'\r' && i + 1 == avail.len() && !self.eof => {
                    self.fill()?;
                    continue;
                }
                Some(_) => None,
                None if !self.eof => {
                    if !self.fill()? && self.pos == self.end {
                        return self.finish();
                    }
                    continue;
                }
                None if avail.is_empty() => return self.finish(),
                None => Some((avail.len(), avail.len())),
            };
            let start = self.base + self.pos as u64;
            let s = self.pos;
            let line_end = match line_end {
                Some((n, consumed))
                    if n > 0
                        && split_line(&mut self.buf[s..s + n], delimiter, &mut self.bounds) =>
                {
                    Some((n, consumed))
                }
                Some((0, consumed)) => Some((0, consumed)),
                _ => None,
            };
            match line_end {
                Some((0, consumed)) => {
                    // A blank line.
                    self.pos += consumed;
                    self.line += 1;
                    continue;
                }
                Some((n, consumed)) => {
                    self.in_out = false;
                    self.line_at = (s, s + n);
                    let newlines = u64::from(consumed > n && self.buf[s + consumed - 1] == b'\n');
                    self.pos += consumed;
                    if self.bounds.len() == 1 && self.bounds[0].0 == self.bounds[0].1 {
                        // A lone empty field (`""`): skipped like a blank line.
                        self.line += newlines;
                        continue;
                    }
                    let pos = RecordPos {
                        line: self.line + 1,
                        offset: start,
                        len: consumed as u32,
                    };
                    self.line += newlines;
                    break (pos, 0);
                }
                None => {
                    // The csv crate's parser, for quotes and odd line ends.
                    let (pos, lines, got) = self.parse_core(start)?;
                    if !got {
                        return self.finish();
                    }
                    if self.bounds.len() == 1 && self.bounds[0].0 == self.bounds[0].1 {
                        continue;
                    }
                    break (pos, lines);
                }
            }
        };
        self.count += 1;
        let pos = if self.source.rows_are_records {
            RecordPos {
                line: self.count,
                ..pos
            }
        } else {
            pos
        };
        self.last = Some((pos, lines));
        if self.checks {
            self.check(pos)?;
        }
        let data = if self.in_out {
            &self.out[..]
        } else {
            &self.buf[self.line_at.0..self.line_at.1]
        };
        Ok(Some((
            pos,
            Fields {
                data,
                bounds: &self.bounds,
            },
        )))
    }

    /// Parses one record with `csv_core` from `self.pos`; returns its
    /// position, the newlines inside it, and whether there
    /// was a record.
    fn parse_core(&mut self, start: u64) -> Result<(RecordPos, u64, bool)> {
        self.core.reset();
        let first_line = self.line + 1;
        let mut out_len = 0;
        let mut nends = 0;
        let mut consumed = 0u64;
        let mut newlines = 0u64;
        let got = loop {
            let input = &self.buf[self.pos..self.end];
            let (res, nin, nout, nend) = self.core.read_record(
                input,
                &mut self.out[out_len..],
                &mut self.core_ends[nends..],
            );
            let used = &input[..nin];
            // Usually the only newline is the record's last byte.
            let nl = match memchr::memchr(b'\n', used) {
                None => 0,
                Some(i) if i + 1 == nin => 1,
                Some(_) => memchr::memchr_iter(b'\n', used).count() as u64,
            };
            newlines += nl;
            self.line += nl;
            self.pos += nin;
            consumed += nin as u64;
            out_len += nout;
            nends += nend;
            match res {
                csv_core::ReadRecordResult::InputEmpty => {
                    if self.pos == self.end && !self.fill()? {
                        // End of input: let the parser finish the record.
                        let (res, _, nout, nend) = self.core.read_record(
                            &[],
                            &mut self.out[out_len..],
                            &mut self.core_ends[nends..],
                        );
                        out_len += nout;
                        nends += nend;
                        break matches!(res, csv_core::ReadRecordResult::Record);
                    }
                }
                csv_core::ReadRecordResult::OutputFull => {
                    let n = self.out.len() * 2;
                    self.out.resize(n, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let n = self.core_ends.len() * 2;
                    self.core_ends.resize(n, 0);
                }
                csv_core::ReadRecordResult::Record => break true,
                csv_core::ReadRecordResult::End => break false,
            }
        };
        let _ = out_len;
        self.bounds.clear();
        let mut s = 0u32;
        for &e in &self.core_ends[..nends] {
            self.bounds.push((s, e as u32));
            s = e as u32;
        }
        self.in_out = true;
        let len = u32::try_from(consumed).map_err(|_| {
            Error::input(
                &self.source.path,
                Some(first_line),
                None,
                "a record longer than 4 GiB",
            )
        })?;
        let pos = RecordPos {
            line: first_line,
            offset: start,
            len,
        };
        Ok((pos, newlines, got))
    }

    /// Checks the record just read: field count and text.
    fn check(&mut self, pos: RecordPos) -> Result<()> {
        let path = &self.source.path;
        let headers = &self.source.headers;
        let n = self.bounds.len();
        let data = if self.in_out {
            &self.out[..]
        } else {
            &self.buf[self.line_at.0..self.line_at.1]
        };
        if n != headers.len() {
            // An unterminated quote swallows the rest of the file into one
            // record: say so rather than "ragged row".
            if self.eof && self.pos == self.end {
                self.check_last_quote()?;
            }
            let field = if n > headers.len() {
                None
            } else {
                headers.get(n).map(String::as_str)
            };
            return Err(Error::input(
                path,
                Some(pos.line),
                field,
                format!(
                    "ragged row: {n} fields where the header has {}",
                    headers.len()
                ),
            ));
        }
        if let Some(bad) = self.bad_utf8
            && bad < pos.offset + pos.len as u64
        {
            {
                let bad = self
                    .bounds
                    .iter()
                    .position(|&(s, e)| std::str::from_utf8(&data[s as usize..e as usize]).is_err())
                    .unwrap_or(0);
                return Err(Error::input(
                    path,
                    Some(pos.line),
                    headers.get(bad).map(String::as_str),
                    format!(
                        "invalid UTF-8 text in field {}; set `encoding` (for example windows-1252) for this file",
                        bad + 1
                    ),
                ));
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<Option<(RecordPos, Fields<'_>)>> {
        if self.checks {
            self.check_last_quote()?;
        }
        Ok(None)
    }

    /// At the end of the text: a last record that spans several lines and
    /// holds an odd number of quotes opened a quoted field it never closed.
    fn check_last_quote(&mut self) -> Result<()> {
        let Some((pos, lines)) = self.last.take() else {
            return Ok(());
        };
        if lines == 0 || self.source.rows_are_records {
            return Ok(());
        }
        let mut bytes = Vec::new();
        self.source
            .read_spans(&[(pos.offset, pos.len)], &mut bytes)?;
        if memchr::memchr_iter(b'"', &bytes).count() % 2 == 1 {
            return Err(Error::input(
                &self.source.path,
                Some(pos.line),
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
    delimiter: u8,
    /// Whether the last record's bytes were valid UTF-8 (then every field is).
    valid: bool,
    buf: Vec<u8>,
    bounds: Vec<(u32, u32)>,
}

impl std::fmt::Debug for RecordParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordParser")
            .field("fields", &self.bounds.len())
            .finish()
    }
}

impl RecordParser {
    /// Parses the record in `bytes` (one record, as read back from its span):
    /// split in place when it is one line, else by `csv_core`.
    pub fn parse(&mut self, bytes: &[u8]) {
        self.bounds.clear();
        self.buf.clear();
        // Fields are cut at ASCII delimiters and quotes, so if the record is
        // valid UTF-8, every field is.
        self.valid = simdutf8::basic::from_utf8(bytes).is_ok();
        let mut line = bytes;
        if let [rest @ .., b'\n'] = line {
            line = rest;
        }
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        if memchr::memchr2(b'\r', b'\n', line).is_none() {
            self.buf.extend_from_slice(line);
            if split_line(&mut self.buf, self.delimiter, &mut self.bounds) {
                return;
            }
            self.bounds.clear();
            self.buf.clear();
        }
        self.core.reset();
        if self.buf.len() < bytes.len() + 16 {
            self.buf.resize(bytes.len() + 16, 0);
        }
        let mut input = bytes;
        let mut out_at = 0;
        let mut ends = [0usize; 64];
        let mut start = 0u32;
        loop {
            let (res, nin, nout, nend) =
                self.core
                    .read_record(input, &mut self.buf[out_at..], &mut ends);
            input = &input[nin..];
            for &e in &ends[..nend] {
                self.bounds.push((start, e as u32));
                start = e as u32;
            }
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
                        let (_, _, _, nend) =
                            self.core
                                .read_record(&[], &mut self.buf[out_at..], &mut ends);
                        for &e in &ends[..nend] {
                            self.bounds.push((start, e as u32));
                            start = e as u32;
                        }
                        break;
                    }
                }
                csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => break,
            }
        }
    }

    /// How many fields the last parsed record has.
    pub fn len(&self) -> usize {
        self.bounds.len()
    }

    /// Whether the last parsed record has no fields.
    pub fn is_empty(&self) -> bool {
        self.bounds.is_empty()
    }

    /// Field `i` of the last parsed record (empty if out of range). The text
    /// was validated when first read, so invalid UTF-8 cannot occur; it is
    /// replaced by an empty string rather than trusted.
    pub fn field(&self, i: usize) -> &str {
        match self.bounds.get(i) {
            Some(&(s, e)) if self.valid => {
                let bytes = &self.buf[s as usize..e as usize];
                // SAFETY: the whole record was checked to be valid UTF-8 in
                // `parse`, and fields are cut at ASCII bytes (delimiters,
                // quotes, line ends), so each field is valid UTF-8 too.
                unsafe { std::str::from_utf8_unchecked(bytes) }
            }
            Some(&(s, e)) => std::str::from_utf8(&self.buf[s as usize..e as usize]).unwrap_or(""),
            None => "",
        }
    }
}

/// Splits one line (without its line end) into fields the way `csv_core`
/// does, in place: quoted fields lose their quotes and doubled quotes are
/// unescaped. Returns false, leaving `line` untouched, when the line needs
/// the full parser: a quote inside an unquoted field, text after a closing
/// quote, or a quoted field still open at the end of the line.
fn split_line(line: &mut [u8], delimiter: u8, bounds: &mut Vec<(u32, u32)>) -> bool {
    bounds.clear();
    let n = line.len();
    let mut escaped = false;
    // Pass 1: find the fields, without changing anything, from one SIMD
    // scan for delimiters and quotes.
    #[derive(Clone, Copy)]
    enum State {
        /// In an unquoted field that started here.
        Plain(usize),
        /// In a quoted field whose content starts here.
        Quoted(usize),
        /// Just after the closing quote at this position.
        Closed(usize),
    }
    let start_field = |at: usize, line: &[u8]| {
        if at < n && line[at] == b'"' {
            State::Quoted(at + 1)
        } else {
            State::Plain(at)
        }
    };
    let mut state = start_field(0, line);
    let mut skip = usize::MAX;
    let mut at = 0;
    while at < n {
        let (dbits, qbits) = block_masks(line, at, delimiter);
        if let (0, State::Plain(mut f)) = (qbits, state) {
            // The common case: no quote in sight, every delimiter ends a field.
            let mut bits = dbits;
            while bits != 0 {
                let p = at + bits.trailing_zeros() as usize;
                bounds.push((f as u32, p as u32));
                f = p + 1;
                bits &= bits - 1;
            }
            state = start_field(f, line);
            at += 16;
            continue;
        }
        let mut bits = dbits | qbits;
        while bits != 0 {
            let p = at + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if p == skip {
                continue;
            }
            let c = line[p];
            state = match state {
                State::Plain(f) if c == delimiter => {
                    bounds.push((f as u32, p as u32));
                    start_field(p + 1, line)
                }
                State::Plain(_) => return false,
                State::Quoted(cs) if c == b'"' && p + 1 == cs => State::Quoted(cs),
                State::Quoted(cs) if c == b'"' => {
                    if p + 1 < n && line[p + 1] == b'"' {
                        escaped = true;
                        skip = p + 1;
                        State::Quoted(cs)
                    } else {
                        bounds.push((cs as u32, p as u32));
                        State::Closed(p)
                    }
                }
                State::Quoted(cs) => State::Quoted(cs),
                State::Closed(q) if c == delimiter && p == q + 1 => start_field(p + 1, line),
                State::Closed(_) => return false,
            };
        }
        at += 16;
    }
    match state {
        State::Plain(f) => bounds.push((f as u32, n as u32)),
        State::Quoted(_) => return false,
        State::Closed(q) if q + 1 == n => {}
        State::Closed(_) => return false,
    }
    // Pass 2: unescape doubled quotes inside quoted fields.
    if escaped {
        for b in bounds.iter_mut() {
            let (s, e) = (b.0 as usize, b.1 as usize);
            if s == 0 || line[s - 1] != b'"' || memchr::memchr(b'"', &line[s..e]).is_none() {
                continue;
            }
            let (mut read, mut write) = (s, s);
            while read < e {
                let c = line[read];
                line[write] = c;
                write += 1;
                read += if c == b'"' { 2 } else { 1 };
            }
            b.1 = write as u32;
        }
    }
    true
}

/// Bitmasks of the delimiters and of the double quotes in the (up to)
/// sixteen bytes of `line` from `at`: bit j is byte `at + j`.
#[inline(always)]
fn block_masks(line: &[u8], at: usize, delimiter: u8) -> (u32, u32) {
    #[cfg(target_arch = "x86_64")]
    if at + 16 <= line.len() {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of the x86_64 baseline; at + 16 <= len, so the
        // unaligned 16-byte load stays inside `line`.
        unsafe {
            let v = _mm_loadu_si128(line.as_ptr().add(at) as *const __m128i);
            let d = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(delimiter as i8))) as u32;
            let q = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8))) as u32;
            return (d, q);
        }
    }
    let (mut d, mut q) = (0, 0);
    for (j, &c) in line[at..line.len().min(at + 16)].iter().enumerate() {
        if c == delimiter {
            d |= 1 << j;
        } else if c == b'"' {
            q |= 1 << j;
        }
    }
    (d, q)
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

    /// The in-place splitter and the csv crate agree on fields, lines and
    /// offsets, whatever the mix of quotes, delimiters and line ends.
    #[test]
    fn records_match_the_csv_crate() {
        let alphabet: [&[u8]; 10] = [
            b"a",
            b"b",
            b",",
            b",",
            b"\"",
            b"\n",
            b"\r\n",
            b"\r",
            b" ",
            "\u{e9}".as_bytes(),
        ];
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for case in 0..6000 {
            let mut text = b"h1,h2\n".to_vec();
            if case % 3 == 2 {
                // Well-formed-ish records from typical field shapes.
                let tokens: [&[u8]; 12] = [
                    b"a",
                    b"",
                    b"\"a,b\"",
                    b"\"x\"\"y\"",
                    b"\"\"",
                    b"\"m\nl\"",
                    b"a\"b",
                    b"\"ab\"c",
                    b" \"q\"",
                    b"\"\"\"\"",
                    b"\"e\xcc\x81\"",
                    b"\"c\r\nd\"",
                ];
                let ends: [&[u8]; 4] = [b"\n", b"\r\n", b"\n", b""];
                for _ in 0..(next() % 6) {
                    for f in 0..(1 + next() % 12) {
                        if f > 0 {
                            text.push(b',');
                        }
                        text.extend_from_slice(tokens[(next() % tokens.len() as u64) as usize]);
                    }
                    text.extend_from_slice(ends[(next() % ends.len() as u64) as usize]);
                }
            } else {
                let n = (next() % 60) as usize;
                for _ in 0..n {
                    text.extend_from_slice(alphabet[(next() % alphabet.len() as u64) as usize]);
                }
            }
            let path = Path::new("t.csv");
            // Every fourth case uses semicolons (commas become plain text).
            let delimiter = if case % 4 == 3 { b';' } else { b',' };
            if delimiter == b';' {
                for b in text.iter_mut().skip(6) {
                    if *b == b',' && next() % 3 > 0 {
                        *b = b';';
                    }
                }
            }
            let source = CsvBytes::from_text(path, text.clone(), delimiter, false).unwrap();
            let mut ours = source.records().unwrap();
            ours.checks = false;
            ours.validate_utf8 = false;
            if case % 2 == 1 {
                // A tiny buffer: records straddle refills and grow it.
                ours.buf = vec![0; 1 + case % 5];
            }
            let mut theirs = csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .has_headers(false)
                .flexible(true)
                .from_reader(&text[..]);
            let mut rec = csv::ByteRecord::new();
            theirs.read_byte_record(&mut rec).unwrap();
            loop {
                let expected = loop {
                    if !theirs.read_byte_record(&mut rec).unwrap() {
                        break None;
                    }
                    if rec.len() == 1 && rec[0].is_empty() {
                        continue;
                    }
                    let p = rec.position().unwrap();
                    let fields: Vec<Vec<u8>> = rec.iter().map(<[u8]>::to_vec).collect();
                    break Some((p.line(), p.byte(), fields));
                };
                let got = ours.next_record().unwrap().map(|(p, f)| {
                    (
                        p.line,
                        p.offset,
                        (0..f.len()).map(|i| f[i].to_vec()).collect::<Vec<_>>(),
                    )
                });
                // The csv crate starts a record that follows "\r\n" at the "\n",
                // and one after blank lines at the first blank line (lines
                // early); positions are compared on files without either.
                let quirks = text.contains(&b'\r') || text.windows(2).any(|w| w == b"\n\n");
                let same = if quirks {
                    got.as_ref().map(|g| &g.2) == expected.as_ref().map(|e| &e.2)
                } else {
                    got == expected
                };
                assert!(
                    same,
                    "case {case}: {:?}: {got:?} vs {expected:?}",
                    String::from_utf8_lossy(&text)
                );
                if got.is_none() {
                    break;
                }
            }
        }
    }

    #[test]
    fn crlf_records_report_their_physical_line() {
        let text = b"id,v\r\n1,\"a\r\nb\"\r\n2,c\r\n\r\n3,d".to_vec();
        let source = CsvBytes::from_text(Path::new("t.csv"), text, b',', false).unwrap();
        let mut records = source.records().unwrap();
        let mut lines = Vec::new();
        while let Some((pos, f)) = records.next_record().unwrap() {
            lines.push((pos.line, f.get(0).to_vec()));
        }
        assert_eq!(
            lines,
            vec![(2, b"1".to_vec()), (4, b"2".to_vec()), (6, b"3".to_vec())],
            "lines are the lines an editor shows, with CRLF, quoted newlines and blank lines"
        );
    }

    #[test]
    fn record_parser_reads_quoted_fields_back() {
        let mut rp = RecordParser {
            core: csv_core::ReaderBuilder::new().build(),
            delimiter: b',',
            valid: false,
            buf: Vec::new(),
            bounds: Vec::new(),
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
