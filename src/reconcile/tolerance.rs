//! Comparing two values of a field under its tolerances. The same function
//! serves the reconciliation engine and `trueup diff`.

use chrono::NaiveDateTime;

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

/// Compares two present values under `tol`, with the same comparison as
/// `trueup diff` ([`crate::diff::compare::values_equal`]): the engine adds
/// only that inner runs of white space collapse under `ignore_whitespace`,
/// and that numbers always compare by value (`10.0` equals `10`).
pub fn text_equal(x: &str, y: &str, tol: &Tolerance) -> bool {
    if x == y {
        return true;
    }
    let collapsed;
    let (x, y) = if tol.ignore_whitespace {
        collapsed = (
            crate::mapping::collapse_spaces(x),
            crate::mapping::collapse_spaces(y),
        );
        (collapsed.0.as_str(), collapsed.1.as_str())
    } else {
        (x, y)
    };
    let same = crate::diff::compare::Tolerance {
        trim: tol.ignore_whitespace,
        ignore_case: tol.ignore_case,
        numeric: Some(tol.numeric.unwrap_or(0.0)),
        date_formats: tol.date_formats.clone(),
    };
    crate::diff::compare::values_equal(x, y, &same)
}

/// Parses a date or date-time in one of `formats` (or RFC 3339).
pub fn parse_instant(v: &str, formats: &[String]) -> Option<NaiveDateTime> {
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(v.trim()) {
        return Some(dt.naive_utc());
    }
    crate::diff::compare::parse_instant(v, formats)
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
