//! Comparing two values of a field under its tolerances. The same function
//! serves the reconciliation engine and `trueup diff`.

use chrono::{NaiveDate, NaiveDateTime};

use crate::config::Tolerance;
use crate::records::Value;

/// True when `a` and `b` are equal under `tol`. Empty and missing are equal.
pub fn values_equal(a: &Value, b: &Value, tol: &Tolerance) -> bool {
    match (a.as_deref(), b.as_deref()) {
        (None, None) => true,
        (Some(x), None) | (None, Some(x)) => tol.ignore_whitespace && x.trim().is_empty(),
        (Some(x), Some(y)) => text_equal(x, y, tol),
    }
}

/// Compares two present values under `tol`.
pub fn text_equal(x: &str, y: &str, tol: &Tolerance) -> bool {
    if x == y {
        return true;
    }
    let (x, y) = if tol.ignore_whitespace {
        (
            crate::mapping::collapse_spaces(x),
            crate::mapping::collapse_spaces(y),
        )
    } else {
        (x.to_string(), y.to_string())
    };
    if x == y {
        return true;
    }
    if tol.ignore_case && x.to_lowercase() == y.to_lowercase() {
        return true;
    }
    if let (Ok(a), Ok(b)) = (x.trim().parse::<f64>(), y.trim().parse::<f64>()) {
        let eps = tol.numeric.unwrap_or(0.0);
        if (a - b).abs() <= eps.max(f64::EPSILON * a.abs().max(b.abs())) {
            return true;
        }
    }
    if !tol.date_formats.is_empty()
        && let (Some(a), Some(b)) = (
            parse_instant(&x, &tol.date_formats),
            parse_instant(&y, &tol.date_formats),
        )
    {
        return a == b;
    }
    false
}

/// Parses a date or date-time in one of `formats` (or RFC 3339).
pub fn parse_instant(v: &str, formats: &[String]) -> Option<NaiveDateTime> {
    let v = v.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(v) {
        return Some(dt.naive_utc());
    }
    for f in formats {
        if let Ok(dt) = NaiveDateTime::parse_from_str(v, f) {
            return Some(dt);
        }
        if let Ok(d) = NaiveDate::parse_from_str(v, f) {
            return d.and_hms_opt(0, 0, 0);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Some(v.into())
    }

    #[test]
    fn numbers_compare_by_value() {
        let t = Tolerance::default();
        assert!(values_equal(&s("10.0"), &s("10"), &t));
        assert!(!values_equal(&s("10.01"), &s("10"), &t));
        let t = Tolerance {
            numeric: Some(0.05),
            ..Default::default()
        };
        assert!(values_equal(&s("10.01"), &s("10"), &t));
    }

    #[test]
    fn dates_compare_as_instants() {
        let t = Tolerance {
            date_formats: vec!["%d.%m.%Y".into(), "%Y-%m-%d".into()],
            ..Default::default()
        };
        assert!(values_equal(&s("31.12.2024"), &s("2024-12-31"), &t));
        assert!(!values_equal(&s("30.12.2024"), &s("2024-12-31"), &t));
    }

    #[test]
    fn case_and_space_only_when_asked() {
        assert!(!values_equal(&s("Acme"), &s("ACME"), &Tolerance::default()));
        let t = Tolerance {
            ignore_case: true,
            ignore_whitespace: true,
            ..Default::default()
        };
        assert!(values_equal(&s(" Acme  Corp"), &s("ACME CORP"), &t));
    }
}
