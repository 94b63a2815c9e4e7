//! The three ways a diff is written: a table for people, CSV for
//! spreadsheets, one JSON object for programs. Every writer streams: rows are
//! written as they arrive and nothing is kept.

use std::borrow::Cow;
use std::io::Write;

use super::engine::{ChangeView, DiffSink, Report, RowView, Section};

pub use crate::export::neutralise;

fn section_name(s: Section) -> &'static str {
    match s {
        Section::Added => "added",
        Section::Removed => "removed",
        Section::Changed => "changed",
    }
}

/// Which bytes a JSON string must escape: controls, `"` and `\`.
static JSON_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// The first position at or after `from` of a byte JSON must escape,
/// sixteen bytes at a time on x86_64.
#[inline]
fn find_escape(bytes: &[u8], mut from: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8,
        };
        while from + 16 <= bytes.len() {
            // SAFETY: SSE2 is part of the x86_64 baseline; from + 16 <= len,
            // so the unaligned 16-byte load stays inside `bytes`.
            let mask = unsafe {
                let v = _mm_loadu_si128(bytes.as_ptr().add(from) as *const __m128i);
                let limit = _mm_set1_epi8(0x1f);
                // max(v, 0x1f) == 0x1f exactly when v <= 0x1f (unsigned).
                let control = _mm_cmpeq_epi8(_mm_max_epu8(v, limit), limit);
                let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
                let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
                _mm_movemask_epi8(_mm_or_si128(control, _mm_or_si128(quote, backslash)))
            };
            if mask != 0 {
                return Some(from + mask.trailing_zeros() as usize);
            }
            from += 16;
        }
    }
    bytes[from..]
        .iter()
        .position(|&b| JSON_ESCAPE[b as usize])
        .map(|i| from + i)
}

/// Writes a JSON string (quoted and escaped), in one pass.
fn json_str<W: Write>(w: &mut W, s: &str) -> std::io::Result<()> {
    let bytes = s.as_bytes();
    w.write_all(b"\"")?;
    let mut start = 0;
    while let Some(i) = find_escape(bytes, start) {
        if start < i {
            w.write_all(&bytes[start..i])?;
        }
        match bytes[i] {
            b'"' => w.write_all(b"\\\"")?,
            b'\\' => w.write_all(b"\\\\")?,
            b'\n' => w.write_all(b"\\n")?,
            b'\r' => w.write_all(b"\\r")?,
            b'\t' => w.write_all(b"\\t")?,
            b => write!(w, "\\u{:04x}", b)?,
        }
        start = i + 1;
    }
    if start < bytes.len() {
        w.write_all(&bytes[start..])?;
    }
    w.write_all(b"\"")
}

fn json_list<W: Write>(w: &mut W, items: &[String]) -> std::io::Result<()> {
    w.write_all(b"[")?;
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        json_str(w, s)?;
    }
    w.write_all(b"]")
}

/// Writes exactly one JSON object:
///
/// ```json
/// {"summary": {"left_rows": 3, "right_rows": 3, "added": 1, "removed": 1, "changed": 1, "unchanged": 1},
///  "columns": {"compared": ["name"], "left_only": [], "right_only": []},
///  "added": [{"id": "4", "name": "Dan"}],
///  "removed": [{"id": "3", "name": "Cy"}],
///  "changed": [{"key": {"id": "2"}, "changes": {"name": {"left": "Bob", "right": "Rob"}}}]}
/// ```
///
/// One row per line, so the output also reads well and greps well.
#[derive(Debug)]
pub struct JsonSink<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> JsonSink<W> {
    /// A JSON writer into `out` (buffer it: it writes many small pieces).
    pub fn new(out: W) -> Self {
        JsonSink { out, first: true }
    }
}

impl<W: Write> DiffSink for JsonSink<W> {
    fn begin(&mut self, report: &Report) -> std::io::Result<()> {
        let s = &report.summary;
        write!(
            self.out,
            "{{\"summary\":{{\"left_rows\":{},\"right_rows\":{},\"added\":{},\"removed\":{},\"changed\":{},\"unchanged\":{}}},\n\"columns\":{{\"compared\":",
            s.left_rows, s.right_rows, s.added, s.removed, s.changed, s.unchanged
        )?;
        json_list(&mut self.out, &report.compared)?;
        self.out.write_all(b",\"left_only\":")?;
        json_list(&mut self.out, &report.left_only)?;
        self.out.write_all(b",\"right_only\":")?;
        json_list(&mut self.out, &report.right_only)?;
        self.out.write_all(b"}")
    }

    fn section(&mut self, section: Section, _total: u64, _shown: u64) -> std::io::Result<()> {
        self.first = true;
        write!(self.out, ",\n\"{}\":[", section_name(section))
    }

    fn row(&mut self, _section: Section, row: &RowView<'_>) -> std::io::Result<()> {
        self.out
            .write_all(if self.first { b"\n{" } else { b",\n{" })?;
        self.first = false;
        for (i, name) in row.columns().iter().enumerate() {
            if i > 0 {
                self.out.write_all(b",")?;
            }
            json_str(&mut self.out, name)?;
            self.out.write_all(b":")?;
            json_str(&mut self.out, row.value(i))?;
        }
        self.out.write_all(b"}")
    }

    fn change(&mut self, change: &ChangeView<'_>) -> std::io::Result<()> {
        self.out.write_all(if self.first {
            b"\n{\"key\":{"
        } else {
            b",\n{\"key\":{"
        })?;
        self.first = false;
        for (i, (name, value)) in change.key().enumerate() {
            if i > 0 {
                self.out.write_all(b",")?;
            }
            json_str(&mut self.out, name)?;
            self.out.write_all(b":")?;
            json_str(&mut self.out, value)?;
        }
        self.out.write_all(b"},\"changes\":{")?;
        for (i, (name, l, r)) in change.changes().enumerate() {
            if i > 0 {
                self.out.write_all(b",")?;
            }
            json_str(&mut self.out, name)?;
            self.out.write_all(b":{\"left\":")?;
            json_str(&mut self.out, l)?;
            self.out.write_all(b",\"right\":")?;
            json_str(&mut self.out, r)?;
            self.out.write_all(b"}")?;
        }
        self.out.write_all(b"}}")
    }

    fn end_section(&mut self, _section: Section) -> std::io::Result<()> {
        self.out.write_all(if self.first { b"]" } else { b"\n]" })
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.out.write_all(b"}\n")?;
        self.out.flush()
    }
}

/// Writes CSV: a header `kind,<key columns>,column,left,right`, then one row
/// per cell: for a changed row one per differing column; for an added row one
/// per non-key column with `left` empty; for a removed row one per non-key
/// column with `right` empty. Every cell goes through [`neutralise`].
#[derive(Debug)]
pub struct CsvSink<W: Write> {
    out: csv::Writer<W>,
}

impl<W: Write> CsvSink<W> {
    /// A CSV writer into `out`; `bom` starts the output with a UTF-8 byte-order mark.
    pub fn new(mut out: W, bom: bool) -> std::io::Result<Self> {
        if bom {
            out.write_all("\u{feff}".as_bytes())?;
        }
        Ok(CsvSink {
            out: csv::WriterBuilder::new()
                .buffer_capacity(1 << 16)
                .from_writer(out),
        })
    }

    fn field(&mut self, s: &str) -> std::io::Result<()> {
        self.out
            .write_field(neutralise(s).as_bytes())
            .map_err(csv_io)
    }

    fn end(&mut self) -> std::io::Result<()> {
        self.out.write_record(None::<&[u8]>).map_err(csv_io)
    }
}

fn csv_io(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

impl<W: Write> DiffSink for CsvSink<W> {
    fn begin(&mut self, report: &Report) -> std::io::Result<()> {
        self.field("kind")?;
        for k in &report.keys {
            self.field(k)?;
        }
        for h in ["column", "left", "right"] {
            self.field(h)?;
        }
        self.end()
    }

    fn section(&mut self, _section: Section, _total: u64, _shown: u64) -> std::io::Result<()> {
        Ok(())
    }

    fn row(&mut self, section: Section, row: &RowView<'_>) -> std::io::Result<()> {
        let keys = row.key_columns();
        for (i, name) in row.columns().iter().enumerate() {
            if keys.contains(&i) {
                continue;
            }
            self.field(section_name(section))?;
            for &k in keys {
                self.field(row.value(k))?;
            }
            self.field(name)?;
            let v = row.value(i);
            let (l, r) = if section == Section::Added {
                ("", v)
            } else {
                (v, "")
            };
            self.field(l)?;
            self.field(r)?;
            self.end()?;
        }
        Ok(())
    }

    fn change(&mut self, change: &ChangeView<'_>) -> std::io::Result<()> {
        for (name, l, r) in change.changes() {
            self.field("changed")?;
            for (_, v) in change.key() {
                self.field(v)?;
            }
            self.field(name)?;
            self.field(l)?;
            self.field(r)?;
            self.end()?;
        }
        Ok(())
    }

    fn end_section(&mut self, _section: Section) -> std::io::Result<()> {
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Writes a readable summary and the differing rows; changed cells are
/// coloured (left red, right green) when `color` is set.
#[derive(Debug)]
pub struct TableSink<W: Write> {
    out: W,
    color: bool,
    width: usize,
    left_name: String,
    right_name: String,
    remaining: u64,
}

impl<W: Write> TableSink<W> {
    /// A table writer into `out`.
    pub fn new(out: W, color: bool) -> Self {
        TableSink {
            out,
            color,
            width: 0,
            left_name: String::new(),
            right_name: String::new(),
            remaining: 0,
        }
    }

    fn paint<'a>(&self, s: &'a str, code: &str) -> Cow<'a, str> {
        let s = printable(s);
        if self.color {
            Cow::Owned(format!("\x1b[{code}m{s}\x1b[0m"))
        } else {
            s
        }
    }
}

/// Shows control characters (newlines in quoted fields) as escapes, so one row stays one line.
fn printable(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_control) {
        Cow::Owned(s.escape_debug().to_string())
    } else {
        Cow::Borrowed(s)
    }
}

impl<W: Write> DiffSink for TableSink<W> {
    fn begin(&mut self, report: &Report) -> std::io::Result<()> {
        let s = &report.summary;
        self.left_name = report.left.display().to_string();
        self.right_name = report.right.display().to_string();
        self.width = report
            .compared
            .iter()
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(0);
        writeln!(
            self.out,
            "left:  {} ({} rows; {})",
            self.left_name, s.left_rows, report.left_format
        )?;
        writeln!(
            self.out,
            "right: {} ({} rows; {})",
            self.right_name, s.right_rows, report.right_format
        )?;
        writeln!(
            self.out,
            "key: {}; {} columns compared",
            report.keys.join(", "),
            report.compared.len()
        )?;
        if !report.left_only.is_empty() {
            writeln!(
                self.out,
                "columns only in left:  {}",
                report.left_only.join(", ")
            )?;
        }
        if !report.right_only.is_empty() {
            writeln!(
                self.out,
                "columns only in right: {}",
                report.right_only.join(", ")
            )?;
        }
        for w in &report.duplicate_warnings {
            writeln!(self.out, "duplicate (one row kept): {w}")?;
        }
        writeln!(
            self.out,
            "\n{} added, {} removed, {} changed, {} unchanged",
            s.added, s.removed, s.changed, s.unchanged
        )
    }

    fn section(&mut self, section: Section, total: u64, shown: u64) -> std::io::Result<()> {
        self.remaining = total - shown;
        if total == 0 {
            return Ok(());
        }
        let from = match section {
            Section::Added => format!(" (only in {})", self.right_name),
            Section::Removed => format!(" (only in {})", self.left_name),
            Section::Changed => " (column: left → right)".to_string(),
        };
        writeln!(self.out, "\n{}{from}: {total}", section_name(section))
    }

    fn row(&mut self, section: Section, row: &RowView<'_>) -> std::io::Result<()> {
        let code = if section == Section::Added {
            "32"
        } else {
            "31"
        };
        let keys = row.key_columns();
        let key: Vec<String> = keys
            .iter()
            .map(|&k| format!("{}={}", row.columns()[k], printable(row.value(k))))
            .collect();
        write!(
            self.out,
            "  {} {}",
            if section == Section::Added { '+' } else { '-' },
            key.join(" ")
        )?;
        for (i, name) in row.columns().iter().enumerate() {
            if !keys.contains(&i) {
                write!(self.out, " | {name}={}", self.paint(row.value(i), code))?;
            }
        }
        writeln!(self.out)
    }

    fn change(&mut self, change: &ChangeView<'_>) -> std::io::Result<()> {
        let key: Vec<String> = change
            .key()
            .map(|(n, v)| format!("{n}={}", printable(v)))
            .collect();
        writeln!(self.out, "  ~ {}", key.join(" "))?;
        for (name, l, r) in change.changes() {
            writeln!(
                self.out,
                "      {name:<w$}  {}  →  {}",
                self.paint(l, "31"),
                self.paint(r, "32"),
                w = self.width
            )?;
        }
        Ok(())
    }

    fn end_section(&mut self, _section: Section) -> std::io::Result<()> {
        if self.remaining > 0 {
            writeln!(
                self.out,
                "  … {} more (raise --limit, or use --format csv or json for everything)",
                self.remaining
            )?;
        }
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_round_trip() {
        for s in [
            "plain",
            "a \"quoted\" \\ path",
            "line\nbreak\r\ttab\u{1}\u{1f}",
            "Zoë Żółć",
            "",
        ] {
            let mut out = Vec::new();
            json_str(&mut out, s).unwrap();
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, s, "JSON output must read back as the value written");
        }
    }

    #[test]
    fn neutralise_prefixes_formula_starts_only() {
        for cell in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(
                neutralise(cell),
                format!("'{cell}"),
                "{cell:?} would run as a formula"
            );
        }
        for cell in ["", "abc", "1-2", "a=b"] {
            assert!(
                matches!(neutralise(cell), Cow::Borrowed(_)),
                "{cell:?} is safe and not copied"
            );
        }
    }
}
