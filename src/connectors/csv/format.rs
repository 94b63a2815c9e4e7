//! Detecting how a CSV file is written: its encoding and its delimiter.
//!
//! Detection reads only the start of the file. A byte-order mark decides the
//! encoding outright (UTF-8, UTF-16 LE/BE); otherwise a UTF-16 file without a
//! mark is recognised by its NUL bytes, valid UTF-8 stays UTF-8, and anything
//! else is read as Windows-1252 (a superset of Latin-1's printable range).

use std::io::Read;
use std::path::Path;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

use crate::error::{Error, Result};

/// How many bytes detection looks at.
const SAMPLE: usize = 1 << 20;

/// The encoding a user asked for, or `Auto` to detect it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EncodingChoice {
    /// Detect from the byte-order mark and the content.
    #[default]
    Auto,
    /// Use this encoding.
    Fixed(&'static Encoding),
}

impl EncodingChoice {
    /// Parses a user's label: `auto`, `utf-8`, `utf-16`, `utf-16le`, `utf-16be`,
    /// `latin-1`, `iso-8859-1`, `windows-1252`, `cp1252`, or any WHATWG label.
    pub fn parse(label: &str) -> Option<Self> {
        let l = label.trim().to_ascii_lowercase();
        match l.as_str() {
            "" | "auto" => Some(EncodingChoice::Auto),
            "utf-16" | "utf16" => Some(EncodingChoice::Fixed(UTF_16LE)),
            "latin-1" | "latin1" | "iso-8859-1" | "cp1252" => Some(EncodingChoice::Fixed(WINDOWS_1252)),
            _ => Encoding::for_label(l.as_bytes()).map(EncodingChoice::Fixed),
        }
    }
}

/// The delimiter a user asked for, or `None` to detect it.
pub fn parse_delimiter(label: &str) -> Option<Option<u8>> {
    match label {
        "" | "auto" => Some(None),
        "tab" | "\\t" | "\t" => Some(Some(b'\t')),
        "comma" => Some(Some(b',')),
        "semicolon" => Some(Some(b';')),
        "pipe" => Some(Some(b'|')),
        s if s.len() == 1 && s.is_ascii() => Some(Some(s.as_bytes()[0])),
        _ => None,
    }
}

/// What detection found (or the user fixed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvFormat {
    /// The text encoding.
    pub encoding: &'static Encoding,
    /// The field delimiter.
    pub delimiter: u8,
    /// Length of the byte-order mark at the start of the file (0 if none).
    pub bom_len: usize,
}

impl CsvFormat {
    /// A short description, e.g. `UTF-8 with BOM, delimiter ';'`.
    pub fn describe(&self) -> String {
        format!(
            "{}{}, delimiter {}",
            self.encoding.name(),
            if self.bom_len > 0 { " with BOM" } else { "" },
            match self.delimiter {
                b'\t' => "tab".to_string(),
                d => format!("'{}'", d as char),
            }
        )
    }
}

/// Options for reading a CSV file.
#[derive(Debug, Clone, Copy, Default)]
pub struct CsvOptions {
    /// Encoding to use, or detect.
    pub encoding: EncodingChoice,
    /// Delimiter to use, or `None` to detect.
    pub delimiter: Option<u8>,
}

/// Detects the format of the CSV file at `path`.
pub fn sniff(path: &Path, options: &CsvOptions) -> Result<CsvFormat> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut sample = Vec::with_capacity(64 * 1024);
    (&mut file)
        .take(SAMPLE as u64)
        .read_to_end(&mut sample)
        .map_err(|e| Error::io(path, e))?;
    sniff_bytes(path, &sample, options)
}

/// Detects the format from the first bytes of a file.
pub fn sniff_bytes(path: &Path, sample: &[u8], options: &CsvOptions) -> Result<CsvFormat> {
    let (detected, bom_len) = detect_encoding(sample);
    let encoding = match options.encoding {
        EncodingChoice::Auto => detected,
        EncodingChoice::Fixed(e) => e,
    };
    let bom_len = if encoding == detected { bom_len } else { 0 };
    let delimiter = match options.delimiter {
        Some(d) => d,
        None => {
            let (text, _) = encoding.decode_without_bom_handling(&sample[bom_len..]);
            detect_delimiter(&text).ok_or_else(|| {
                Error::input(
                    path,
                    Some(1),
                    None,
                    "cannot tell the delimiter (tried comma, semicolon, tab, pipe); set `delimiter` for this file",
                )
            })?
        }
    };
    Ok(CsvFormat {
        encoding,
        delimiter,
        bom_len,
    })
}

/// Returns the detected encoding and the length of its byte-order mark.
pub fn detect_encoding(sample: &[u8]) -> (&'static Encoding, usize) {
    if let Some((enc, len)) = Encoding::for_bom(sample) {
        return (enc, len);
    }
    // UTF-16 without BOM: ASCII text has a NUL in every other byte.
    let pairs = sample.len().min(4096) / 2;
    if pairs >= 2 {
        let even_nul = (0..pairs).filter(|i| sample[2 * i] == 0).count();
        let odd_nul = (0..pairs).filter(|i| sample[2 * i + 1] == 0).count();
        if odd_nul * 2 > pairs && even_nul * 10 < pairs {
            return (UTF_16LE, 0);
        }
        if even_nul * 2 > pairs && odd_nul * 10 < pairs {
            return (UTF_16BE, 0);
        }
    }
    match std::str::from_utf8(sample) {
        Ok(_) => (UTF_8, 0),
        // Cut in the middle of a character at the end of the sample: still UTF-8.
        Err(e) if e.error_len().is_none() => (UTF_8, 0),
        Err(_) => (WINDOWS_1252, 0),
    }
}

/// Picks the delimiter whose count per line is most consistent over the first lines.
pub fn detect_delimiter(text: &str) -> Option<u8> {
    const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
    // Split into logical lines outside quotes, up to 50 lines.
    let mut counts: Vec<[usize; 4]> = Vec::new();
    let mut current = [0usize; 4];
    let mut in_quotes = false;
    let mut any = false;
    for b in text.bytes() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => {
                if any {
                    counts.push(current);
                }
                current = [0; 4];
                any = false;
                if counts.len() >= 50 {
                    break;
                }
                continue;
            }
            _ if !in_quotes => {
                if let Some(i) = CANDIDATES.iter().position(|&c| c == b) {
                    current[i] += 1;
                }
            }
            _ => {}
        }
        if b != b'\r' {
            any = true;
        }
    }
    if any && counts.len() < 50 {
        counts.push(current);
    }
    if counts.is_empty() {
        return None;
    }
    let mut best: Option<(usize, usize, u8)> = None; // (consistent lines, count, delimiter)
    for (i, &c) in CANDIDATES.iter().enumerate() {
        let first = counts[0][i];
        if first == 0 {
            continue;
        }
        let consistent = counts.iter().filter(|row| row[i] == first).count();
        let score = (consistent, first, c);
        if best.is_none_or(|b| (score.0, score.1) > (b.0, b.1)) {
            best = Some(score);
        }
    }
    match best {
        Some((_, _, d)) => Some(d),
        // A single-column file: any delimiter reads it the same.
        None => Some(b','),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_semicolon_despite_commas_in_quotes() {
        let text = "id;name;note\n1;Ann;\"a, b, c\"\n2;Bob;\"x,y\"\n";
        assert_eq!(detect_delimiter(text), Some(b';'));
    }

    #[test]
    fn detects_tab() {
        assert_eq!(detect_delimiter("a\tb\tc\n1\t2\t3\n"), Some(b'\t'));
    }

    #[test]
    fn detects_encodings() {
        assert_eq!(detect_encoding(b"\xEF\xBB\xBFid,name\n"), (UTF_8, 3));
        assert_eq!(detect_encoding(b"\xFF\xFEi\0d\0"), (UTF_16LE, 2));
        assert_eq!(detect_encoding("id,név\n".as_bytes()), (UTF_8, 0));
        assert_eq!(detect_encoding(b"id,n\xe9v\n"), (WINDOWS_1252, 0));
        assert_eq!(detect_encoding(b"i\0d\0,\0n\0\n\0"), (UTF_16LE, 0));
    }
}
