//! Records as every stage sees them: a schema (field names) and rows of
//! optional text values.
//!
//! Values are text as read from the system; an empty cell and a database
//! `NULL` are both `None`, because to the people reconciling them both mean
//! "no value". Typed comparison (numbers, dates) happens in the tolerances,
//! not here.

use xxhash_rust::xxh3::Xxh3;

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

/// A stable 64-bit hash of a row's values (order-sensitive, `None` distinct from "").
pub fn row_hash(values: &[Value]) -> u64 {
    let mut h = Xxh3::new();
    for v in values {
        match v {
            None => h.update(&[0]),
            Some(s) => {
                h.update(&[1]);
                h.update(&(s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
        }
    }
    h.digest()
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

/// Splits a key made by [`join_key`] for display (parts joined by " / ").
pub fn display_key(key: &str) -> String {
    key.replace('\u{1f}', " / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_hash_distinguishes_boundaries_and_nulls() {
        let a = row_hash(&[Some("ab".into()), Some("c".into())]);
        let b = row_hash(&[Some("a".into()), Some("bc".into())]);
        assert_ne!(a, b, "moving a character across a field boundary must change the hash");
        let c = row_hash(&[None, Some("x".into())]);
        let d = row_hash(&[Some(String::new()), Some("x".into())]);
        assert_ne!(c, d, "NULL and empty string hash differently at this level");
    }
}
