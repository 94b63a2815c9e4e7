//! Records as every stage sees them: a schema (field names) and rows of
//! optional text values.
//!
//! Values are text as read from the system; an empty cell and a database
//! `NULL` are both `None`, because to the people reconciling them both mean
//! "no value". Typed comparison (numbers, dates) happens in the tolerances,
//! not here.

/// One value of one field: `None` when empty or `NULL`.
pub type Value = Option<String>;

/// The field names of an entity, in the order the system gave them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Schema {
    /// Field names, unique.
    pub fields: Vec<String>,
}

impl Schema {
    /// Builds a schema from names.
    pub fn new<S: Into<String>>(fields: impl IntoIterator<Item = S>) -> Self {
        Schema {
            fields: fields.into_iter().map(Into::into).collect(),
        }
    }

    /// The position of a field, by exact name.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f == name)
    }
}

/// One record pulled from a system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record's identity in its system (its id columns joined), unique per entity.
    pub key: String,
    /// Values in schema order.
    pub values: Vec<Value>,
    /// Where the record came from (file line or row number), for error messages.
    pub origin: u64,
}

/// Normalises a raw cell: empty text becomes `None`.
pub fn value_from(text: &str) -> Value {
    if text.is_empty() {
        None
    } else {
        Some(text.to_string())
    }
}

/// Joins the values of key fields into one key string (unit separator between parts).
pub fn join_key<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for (i, p) in parts.into_iter().enumerate() {
        if i > 0 {
            out.push('\u{1f}');
        }
        out.push_str(p);
    }
    out
}

/// The hash the cache indexes a record's key by.
pub fn key_hash(key: &str) -> i64 {
    xxhash_rust::xxh3::xxh3_64(key.as_bytes()) as i64
}

/// Splits a key made by [`join_key`] for display (parts joined by " / ").
pub fn display_key(key: &str) -> String {
    key.replace('\u{1f}', " / ")
}

/// Appends one value to a packed row. A packed row is text: each value is
/// its byte length in decimal, a colon and the value (`5:Zoë,`... without
/// separators), and a missing value is `~`. Being valid UTF-8 as a whole, a
/// row is checked once when read from the cache, not value by value.
pub fn pack_value(out: &mut String, value: Option<&str>) {
    match value {
        None => out.push('~'),
        Some(s) => {
            // The length in decimal, without the formatting machinery (hot path).
            let mut digits = [0u8; 20];
            let mut at = digits.len();
            let mut n = s.len();
            loop {
                at -= 1;
                digits[at] = b'0' + (n % 10) as u8;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or("0"));
            out.push(':');
            out.push_str(s);
        }
    }
}

/// Packs a row's values into the compact form the cache stores.
pub fn pack<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> String {
    let mut out = String::with_capacity(64);
    for v in values {
        pack_value(&mut out, v);
    }
    out
}

/// Iterates over the values of a packed row without allocating.
#[derive(Debug, Clone)]
pub struct Unpack<'a> {
    rest: &'a str,
}

/// Reads a packed row. Malformed text ends the iteration early.
pub fn unpack(row: &str) -> Unpack<'_> {
    Unpack { rest: row }
}

impl<'a> Iterator for Unpack<'a> {
    type Item = Option<&'a str>;

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.rest.as_bytes();
        match bytes.first()? {
            b'~' => {
                self.rest = &self.rest[1..];
                Some(None)
            }
            _ => {
                let colon = bytes.iter().position(|&b| b == b':')?;
                let len: usize = self.rest[..colon].parse().ok()?;
                let value = self.rest.get(colon + 1..colon + 1 + len)?;
                self.rest = &self.rest[colon + 1 + len..];
                Some(Some(value))
            }
        }
    }
}

/// Unpacks into owned values.
pub fn unpack_owned(row: &str) -> Vec<Value> {
    unpack(row).map(|v| v.map(str::to_string)).collect()
}

/// The row hash of a packed row (the same text always gives the same hash).
pub fn packed_hash(row: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(row.as_bytes())
}

/// Lower-case hexadecimal of `bytes` (digests in the journal and decisions).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case_two_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn packed_rows_round_trip() {
        let vals = [
            Some("a"),
            None,
            Some(""),
            Some("Zoë, \"quoted\""),
            Some(&"x".repeat(300)[..]),
        ];
        let packed = pack(vals.iter().copied());
        let back: Vec<Option<&str>> = unpack(&packed).collect();
        assert_eq!(
            back,
            vals.to_vec(),
            "every value, empty and missing, survives"
        );
        assert_ne!(
            packed_hash(&pack([Some("ab"), Some("c")])),
            packed_hash(&pack([Some("a"), Some("bc")]))
        );
    }

    #[test]
    fn packed_hash_distinguishes_boundaries_and_nulls() {
        let a = packed_hash(&pack([Some("ab"), Some("c")]));
        let b = packed_hash(&pack([Some("a"), Some("bc")]));
        assert_ne!(
            a, b,
            "moving a character across a field boundary must change the hash"
        );
        let c = packed_hash(&pack([None, Some("x")]));
        let d = packed_hash(&pack([Some(""), Some("x")]));
        assert_ne!(c, d, "NULL and empty string hash differently at this level");
    }
}
