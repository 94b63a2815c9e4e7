//! How SQLite values become Trueup text values, and how names are quoted.

use rusqlite::types::ValueRef;

use crate::records::{Value, value_from};

/// Renders one SQLite value as text: `NULL` and empty text as `None`,
/// integers in decimal, reals in their shortest round-trip form, text as is
/// (invalid UTF-8 replaced), blobs as lowercase hexadecimal.
pub fn render(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(render_real(f)),
        ValueRef::Text(bytes) => value_from(&String::from_utf8_lossy(bytes)),
        ValueRef::Blob(bytes) => {
            if bytes.is_empty() {
                None
            } else {
                Some(hex(bytes))
            }
        }
    }
}

/// The shortest text that reads back as the same `f64`: plain decimal for
/// everyday magnitudes (`100`, `0.1`, `12.5`), scientific notation for very
/// large or very small ones (`1e300`), so that SQLite's own conversion of
/// the text gives back the stored value.
pub fn render_real(f: f64) -> String {
    let magnitude = f.abs();
    if f.is_finite() && magnitude != 0.0 && !(1e-7..1e16).contains(&magnitude) {
        format!("{f:e}")
    } else {
        format!("{f}")
    }
}

/// Lowercase hexadecimal of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// Quotes an identifier (table or column name) for SQL.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reals_render_in_shortest_round_trip_form() {
        for f in [0.1, 100.0, -2.5, 0.1 + 0.2, 1e300, 1.5e-9, 123456789.125] {
            let text = render_real(f);
            assert_eq!(
                text.parse::<f64>().unwrap(),
                f,
                "{text} must read back as {f}"
            );
        }
        assert_eq!(
            render_real(100.0),
            "100",
            "an integral real prints without a fraction"
        );
        assert_eq!(render_real(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(render_real(1e300), "1e300", "huge values stay short");
    }

    #[test]
    fn values_render_as_text() {
        assert_eq!(render(ValueRef::Integer(-42)), Some("-42".into()));
        assert_eq!(
            render(ValueRef::Blob(&[0, 171, 255])),
            Some("00abff".into())
        );
        assert_eq!(render(ValueRef::Text(b"")), None, "empty text is no value");
        assert_eq!(render(ValueRef::Null), None);
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
