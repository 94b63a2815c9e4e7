//! Text transforms used by field mappings.

use chrono::NaiveDate;

use crate::config::Transform;

/// Applies one transform; `Err` carries the reason a value cannot be transformed.
pub fn apply(t: &Transform, value: &str, country_code: Option<&str>) -> Result<String, String> {
    Ok(match t {
        Transform::Trim => value.trim().to_string(),
        Transform::Upper => value.to_uppercase(),
        Transform::Lower => value.to_lowercase(),
        Transform::Title => title(value),
        Transform::CollapseSpaces => collapse_spaces(value),
        Transform::Email => email(value),
        Transform::Phone => phone(value, country_code)?,
        Transform::Digits => value.chars().filter(char::is_ascii_digit).collect(),
        Transform::Date { from, to } => date(value, from, to.as_deref())?,
        Transform::Number {
            decimal,
            thousands,
            scale,
        } => number(value, decimal.as_deref(), thousands.as_deref(), *scale)?,
        Transform::Split { separator, index } => {
            let parts: Vec<&str> = value.split(separator.as_str()).collect();
            let i = if *index < 0 {
                parts.len() as i64 + index
            } else {
                *index
            };
            if i < 0 || i as usize >= parts.len() {
                String::new()
            } else {
                parts[i as usize].trim().to_string()
            }
        }
        Transform::Affix { prefix, suffix } => format!(
            "{}{value}{}",
            prefix.as_deref().unwrap_or(""),
            suffix.as_deref().unwrap_or("")
        ),
    })
}

/// Replaces runs of white space by one space, and trims.
pub fn collapse_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn title(value: &str) -> String {
    value
        .split(' ')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + &c.as_str().to_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Normalises an e-mail address.
pub fn email(value: &str) -> String {
    let v = value.trim();
    let v = v.strip_prefix("mailto:").unwrap_or(v);
    let v = v.trim_start_matches('<').trim_end_matches('>');
    v.trim().to_lowercase()
}

/// Normalises a phone number to `+` and digits.
pub fn phone(value: &str, country_code: Option<&str>) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(String::new());
    }
    // Drop an extension ("x12", "ext. 12").
    let lower = v.to_lowercase();
    let main = match lower.find("ext").or_else(|| lower.find('x')) {
        Some(i) => &v[..i],
        None => v,
    };
    let plus = main.trim_start().starts_with('+');
    let digits: String = main.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 5 {
        return Err(format!("{value:?} does not look like a phone number"));
    }
    if plus {
        return Ok(format!("+{digits}"));
    }
    if let Some(rest) = digits.strip_prefix("00") {
        return Ok(format!("+{rest}"));
    }
    match country_code {
        Some(cc) => {
            let national = digits.strip_prefix('0').unwrap_or(&digits);
            Ok(format!("+{}{national}", cc.trim_start_matches('+')))
        }
        None => Ok(digits),
    }
}

fn date(value: &str, from: &[String], to: Option<&str>) -> Result<String, String> {
    let v = value.trim();
    let out = to.unwrap_or("%Y-%m-%d");
    for f in from {
        if let Ok(d) = NaiveDate::parse_from_str(v, f) {
            return Ok(d.format(out).to_string());
        }
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(v, f) {
            return Ok(dt.format(out).to_string());
        }
    }
    Err(format!("{value:?} is not a date in {}", from.join(" or ")))
}

/// Parses a decimal number with the given separators into a plain `f64`-free decimal string.
pub fn number(
    value: &str,
    decimal: Option<&str>,
    thousands: Option<&str>,
    scale: Option<u32>,
) -> Result<String, String> {
    let mut v = value.trim().replace(['\u{a0}', ' '], "");
    if let Some(t) = thousands {
        v = v.replace(t, "");
    }
    if let Some(d) = decimal
        && d != "."
    {
        v = v.replace(d, ".");
    }
    let n: f64 = v
        .parse()
        .map_err(|_| format!("{value:?} is not a number"))?;
    Ok(match scale {
        Some(s) => format!("{n:.*}", s as usize),
        None => {
            let s = format!("{n}");
            s
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_normalise() {
        assert_eq!(
            phone("030 / 123 456-7", Some("49")).unwrap(),
            "+49301234567"
        );
        assert_eq!(phone("+49 (30) 1234567", None).unwrap(), "+49301234567");
        assert_eq!(phone("0049 30 1234567", None).unwrap(), "+49301234567");
        assert!(phone("n/a", None).is_err());
    }

    #[test]
    fn numbers_with_locale() {
        assert_eq!(
            number("1.234,50", Some(","), Some("."), Some(2)).unwrap(),
            "1234.50"
        );
        assert_eq!(number("10.0", None, None, None).unwrap(), "10");
    }

    #[test]
    fn dates_reformat() {
        let from = vec!["%d.%m.%Y".to_string(), "%Y-%m-%d".to_string()];
        assert_eq!(date("31.12.2024", &from, None).unwrap(), "2024-12-31");
        assert!(date("2024-13-01", &from, None).is_err());
    }
}
