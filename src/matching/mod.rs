//! Matching left records to right records: by stored link first, then by key
//! (exact after normalisation). Duplicate keys on either side are reported
//! and become conflicts, never arbitrary picks. Fuzzy matching will plug in
//! here as another [`Matcher`] without touching the comparison.

use std::collections::HashMap;

use crate::records::Value;

/// Normalises one key part: trimmed, inner white space collapsed, lower case.
pub fn normalise_part(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for (i, w) in v.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        for c in w.chars() {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// The normalised match key of a record's key values, or `None` when any part is empty.
pub fn match_key(parts: &[&Value]) -> Option<String> {
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        let n = normalise_part(p.as_deref()?);
        if n.is_empty() {
            return None;
        }
        if i > 0 {
            out.push('\u{1f}');
        }
        out.push_str(&n);
    }
    Some(out)
}

/// Like [`match_key`], for borrowed values.
pub fn match_key_str(parts: &[Option<&str>]) -> Option<String> {
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        let n = normalise_part((*p)?);
        if n.is_empty() {
            return None;
        }
        if i > 0 {
            out.push('\u{1f}');
        }
        out.push_str(&n);
    }
    Some(out)
}

/// Left and right records grouped under their match keys.
#[derive(Debug, Default)]
pub struct Matches {
    /// Match key → indexes of left records and of right records.
    pub groups: HashMap<String, (Vec<usize>, Vec<usize>)>,
    /// Left records with an empty key (cannot be matched): index and key fields.
    pub left_unkeyed: Vec<usize>,
    /// Right records with an empty key.
    pub right_unkeyed: Vec<usize>,
}

/// Finds correspondences between left and right records.
pub trait Matcher {
    /// Groups records. `left_keys[i]` / `right_keys[j]` are the match keys
    /// (`None` when empty); `links` pairs left record index with right record index.
    fn group(
        &self,
        left_keys: &[Option<String>],
        right_keys: &[Option<String>],
        links: &[(usize, usize)],
    ) -> Matches;
}

/// Exact match on normalised keys, with stored links taking precedence.
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyMatcher;

impl Matcher for KeyMatcher {
    fn group(
        &self,
        left_keys: &[Option<String>],
        right_keys: &[Option<String>],
        links: &[(usize, usize)],
    ) -> Matches {
        let mut m = Matches::default();
        let mut right_override: HashMap<usize, String> = HashMap::new();
        let mut left_override: HashMap<usize, String> = HashMap::new();
        for &(l, r) in links {
            let key = format!("link\u{1f}{l}");
            let key = left_keys[l]
                .clone()
                .map(|k| format!("{k}\u{1e}linked"))
                .unwrap_or(key);
            left_override.insert(l, key.clone());
            right_override.insert(r, key);
        }
        for (i, k) in left_keys.iter().enumerate() {
            match left_override.get(&i).or(k.as_ref()) {
                Some(k) => m.groups.entry(k.clone()).or_default().0.push(i),
                None => m.left_unkeyed.push(i),
            }
        }
        for (j, k) in right_keys.iter().enumerate() {
            match right_override.get(&j).or(k.as_ref()) {
                Some(k) => m.groups.entry(k.clone()).or_default().1.push(j),
                None => m.right_unkeyed.push(j),
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_normalise_case_and_spaces() {
        let a = Some(" ACME  Corp ".to_string());
        let b = Some("acme corp".to_string());
        assert_eq!(match_key(&[&a]), match_key(&[&b]));
        assert_eq!(match_key(&[&None]), None, "empty key cannot match");
    }

    #[test]
    fn duplicates_stay_grouped() {
        let l = vec![Some("1".into()), Some("1".into()), Some("2".into())];
        let r = vec![Some("1".into())];
        let m = KeyMatcher.group(&l, &r, &[]);
        assert_eq!(m.groups["1"], (vec![0, 1], vec![0]));
    }
}
