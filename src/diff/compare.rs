//! Key normalisation and per-field comparison with tolerances.
//!
//! These are the rules that decide "same key" and "same value". They are
//! public and small on purpose: `trueup diff` uses them, and the
//! reconciliation engine must use the very same functions when it matches
//! records by key and compares fields, so that a diff and a reconciliation of
//! the same two files never disagree.
//!
//! - [`normalise_value`] applies the textual tolerances (`trim`,
//!   `ignore_case`); it is what keys are built from and what row hashes cover.
//! - [`normalise_key`] builds the match key of a record from its key fields.
//! - [`values_equal`] decides whether two field values are equal under all
//!   tolerances, including numeric and date ones.
//!
//! The invariant that makes hashing safe: if `normalise_value(a) ==
//! normalise_value(b)` then `values_equal(a, b)`. So two rows whose
//! normalised values hash the same are equal; rows whose hashes differ are
//! compared field by field with [`values_equal`].

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};

/// The tolerances of a comparison. The default compares text exactly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tolerance {
    /// Ignore leading and trailing whitespace (Unicode white space).
    pub trim: bool,
    /// Ignore letter case (Unicode lower-casing).
    pub ignore_case: bool,
    /// Two values that both read as numbers are equal when they differ by at
    /// most this much (`Some(0.0)`: `10.0` equals `10`).
    pub numeric: Option<f64>,
    /// Two values that both read as dates or timestamps in any of these
    /// formats (chrono `strftime` syntax, or `iso` for ISO 8601 / RFC 3339)
    /// are equal when they denote the same instant. Empty: no date tolerance.
    pub date_formats: Vec<String>,
}

impl Tolerance {
    /// Whether this tolerance is plain text equality after [`normalise_value`]
    /// (no numeric or date rule), so hash equality decides equality exactly.
    pub fn is_textual(&self) -> bool {
        self.numeric.is_none() && self.date_formats.is_empty()
    }
}

/// Applies the textual tolerances to a value: trims it when `trim`, lower-cases
/// it when `ignore_case`. Borrows when nothing changes.
pub fn normalise_value<'a>(value: &'a str, tol: &Tolerance) -> Cow<'a, str> {
    let v = if tol.trim { value.trim() } else { value };
    if tol.ignore_case && (!v.is_ascii() || v.bytes().any(|b| b.is_ascii_uppercase())) {
        Cow::Owned(v.to_lowercase())
    } else {
        Cow::Borrowed(v)
    }
}

/// Appends [`normalise_value`] of `value` to `out` without allocating (the
/// diff's hot path). Produces exactly the bytes of `normalise_value`.
#[inline]
pub fn normalise_value_into(value: &[u8], tol: &Tolerance, out: &mut Vec<u8>) {
    if !tol.trim && !tol.ignore_case {
        out.extend_from_slice(value);
        return;
    }
    let Ok(s) = std::str::from_utf8(value) else {
        out.extend_from_slice(value);
        return;
    };
    let s = if tol.trim { s.trim() } else { s };
    if !tol.ignore_case {
        out.extend_from_slice(s.as_bytes());
    } else if s.is_ascii() {
        out.extend(s.bytes().map(|b| b.to_ascii_lowercase()));
    } else {
        // Same result as str::to_lowercase except for the final-sigma rule,
        // which str::to_lowercase applies; fall back to it for sigma.
        if s.contains('Σ') {
            out.extend_from_slice(s.to_lowercase().as_bytes());
            return;
        }
        let mut buf = [0u8; 4];
        for c in s.chars() {
            for l in c.to_lowercase() {
                out.extend_from_slice(l.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

/// The match key of a record: its key fields, each normalised with
/// [`normalise_value`], joined with [`crate::records::join_key`]. Two records
/// match when their keys are equal.
pub fn normalise_key<'a>(parts: impl IntoIterator<Item = &'a str>, tol: &Tolerance) -> String {
    let normalised: Vec<Cow<'a, str>> =
        parts.into_iter().map(|p| normalise_value(p, tol)).collect();
    crate::records::join_key(normalised.iter().map(|c| c.as_ref()))
}

/// Appends the bytes of [`normalise_key`] to `out` without allocating; `parts`
/// are the raw key fields.
pub fn normalise_key_into<'a>(
    parts: impl IntoIterator<Item = &'a [u8]>,
    tol: &Tolerance,
    out: &mut Vec<u8>,
) {
    for (i, p) in parts.into_iter().enumerate() {
        if i > 0 {
            out.extend_from_slice("\u{1f}".as_bytes());
        }
        normalise_value_into(p, tol, out);
    }
}

/// Whether two field values are equal under `tol`: equal text after
/// [`normalise_value`]; or, with a numeric tolerance, two numbers at most
/// that far apart; or, with date formats, two dates or timestamps denoting the
/// same instant. Empty values equal only empty values.
pub fn values_equal(a: &str, b: &str, tol: &Tolerance) -> bool {
    let (a, b) = if tol.trim {
        (a.trim(), b.trim())
    } else {
        (a, b)
    };
    if a == b {
        return true;
    }
    if tol.ignore_case && normalise_value(a, tol) == normalise_value(b, tol) {
        return true;
    }
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if let Some(t) = tol.numeric
        && let (Some(x), Some(y)) = (parse_number(a), parse_number(b))
    {
        let slack = 4.0 * f64::EPSILON * x.abs().max(y.abs());
        return (x - y).abs() <= t + slack;
    }
    if !tol.date_formats.is_empty()
        && let (Some(x), Some(y)) = (
            parse_instant(a, &tol.date_formats),
            parse_instant(b, &tol.date_formats),
        )
    {
        return x == y;
    }
    false
}

/// Reads a plain decimal number (`-12`, `10.50`, `1e3`); not `inf` or `NaN`.
pub fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim();
    let first = *s.as_bytes().first()?;
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Reads a date or timestamp in one of `formats` as a UTC instant (dates are
/// midnight; timestamps without offset are taken as UTC).
pub fn parse_instant(s: &str, formats: &[String]) -> Option<NaiveDateTime> {
    let s = s.trim();
    for f in formats {
        if f.eq_ignore_ascii_case("iso") {
            if let Ok(d) = DateTime::parse_from_rfc3339(s) {
                return Some(d.naive_utc());
            }
            for f in [
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%d %H:%M",
            ] {
                if let Ok(d) = NaiveDateTime::parse_from_str(s, f) {
                    return Some(d);
                }
            }
            if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                return Some(d.and_time(NaiveTime::MIN));
            }
            continue;
        }
        if let Ok(d) = DateTime::parse_from_str(s, f) {
            return Some(d.naive_utc());
        }
        if let Ok(d) = NaiveDateTime::parse_from_str(s, f) {
            return Some(d);
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return Some(d.and_time(NaiveTime::MIN));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_into_matches_normalise_value() {
        let tol = Tolerance {
            trim: true,
            ignore_case: true,
            ..Tolerance::default()
        };
        for v in ["  ÉLODIE Dupont ", "ABC", "ΟΔΟΣ", "straße", " x\t"] {
            let mut out = Vec::new();
            normalise_value_into(v.as_bytes(), &tol, &mut out);
            assert_eq!(
                out,
                normalise_value(v, &tol).as_bytes(),
                "the hot path must hash exactly what normalise_value returns for {v:?}"
            );
        }
        let mut out = Vec::new();
        normalise_key_into([" A ".as_bytes(), b"b"], &tol, &mut out);
        assert_eq!(
            out,
            normalise_key([" A ", "b"], &tol).as_bytes(),
            "keys built both ways agree"
        );
    }

    #[test]
    fn numeric_and_date_tolerances() {
        let num = Tolerance {
            numeric: Some(0.0),
            ..Tolerance::default()
        };
        assert!(
            values_equal("10.0", "10", &num),
            "10.0 and 10 are the same number"
        );
        assert!(!values_equal("10.01", "10", &num));
        let num = Tolerance {
            numeric: Some(0.01),
            ..Tolerance::default()
        };
        assert!(
            values_equal("10.01", "10", &num),
            "a difference equal to the tolerance is equal"
        );
        assert!(
            !values_equal("abc", "abd", &num),
            "text is still compared as text"
        );
        let dates = Tolerance {
            date_formats: vec!["iso".into(), "%d/%m/%Y".into()],
            ..Tolerance::default()
        };
        assert!(values_equal("2024-03-01", "01/03/2024", &dates));
        assert!(values_equal(
            "2024-03-01T10:00:00+02:00",
            "2024-03-01 08:00:00",
            &dates
        ));
        assert!(!values_equal("2024-03-02", "01/03/2024", &dates));
    }
}
