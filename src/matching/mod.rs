//! Matching left records to right records: by stored link first, then by key
//! (exact after normalisation). Duplicate keys on either side are reported
//! and become conflicts, never arbitrary picks. Fuzzy matching will plug in
//! here as another [`Matcher`] without touching the comparison.

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
    /// Match key, indexes of left records and of right records; in no particular order.
    pub groups: Vec<(String, Vec<usize>, Vec<usize>)>,
    /// Left records with an empty key (cannot be matched).
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
        left_keys: Vec<Option<String>>,
        right_keys: Vec<Option<String>>,
        links: &[(usize, usize)],
    ) -> Matches;
}

/// Exact match on normalised keys, with stored links taking precedence.
/// Groups by sorting key hashes (no hash map of a million strings); equal
/// hashes are confirmed by comparing the keys themselves.
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyMatcher;

const RIGHT: u32 = 1 << 31;

impl Matcher for KeyMatcher {
    fn group(
        &self,
        mut left_keys: Vec<Option<String>>,
        mut right_keys: Vec<Option<String>>,
        links: &[(usize, usize)],
    ) -> Matches {
        let mut m = Matches::default();
        for &(l, r) in links {
            let key = match &left_keys[l] {
                Some(k) => format!("{k}\u{1e}linked"),
                None => format!("\u{1e}link:{l}"),
            };
            left_keys[l] = Some(key.clone());
            right_keys[r] = Some(key);
        }
        let hash = |k: &str| xxhash_rust::xxh3::xxh3_64(k.as_bytes());
        let mut entries: Vec<(u64, u32)> = Vec::with_capacity(left_keys.len() + right_keys.len());
        for (i, k) in left_keys.iter().enumerate() {
            match k {
                Some(k) => entries.push((hash(k), i as u32)),
                None => m.left_unkeyed.push(i),
            }
        }
        for (j, k) in right_keys.iter().enumerate() {
            match k {
                Some(k) => entries.push((hash(k), j as u32 | RIGHT)),
                None => m.right_unkeyed.push(j),
            }
        }
        entries.sort_unstable();
        m.groups.reserve(entries.len() / 2 + 1);
        let mut start = 0;
        while start < entries.len() {
            let mut end = start + 1;
            while end < entries.len() && entries[end].0 == entries[start].0 {
                end += 1;
            }
            // Usually one key per hash; split by the key text otherwise.
            let first_group = m.groups.len();
            for &(_, tagged) in &entries[start..end] {
                let (is_right, idx) = (tagged & RIGHT != 0, (tagged & !RIGHT) as usize);
                let key = if is_right {
                    right_keys[idx].as_deref()
                } else {
                    left_keys[idx].as_deref()
                }
                .unwrap_or_default();
                let slot = m.groups[first_group..].iter().position(|g| g.0 == key);
                let g = match slot {
                    Some(s) => &mut m.groups[first_group + s],
                    None => {
                        m.groups.push((key.to_string(), Vec::new(), Vec::new()));
                        m.groups.last_mut().expect("just pushed")
                    }
                };
                if is_right {
                    g.2.push(idx);
                } else {
                    g.1.push(idx);
                }
            }
            start = end;
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_normalise_case_and_spaces() {
        assert_eq!(
            match_key_str(&[Some(" ACME  Corp ")]),
            match_key_str(&[Some("acme corp")])
        );
        assert_eq!(match_key_str(&[None]), None, "empty key cannot match");
    }

    #[test]
    fn duplicates_stay_grouped() {
        let l = vec![Some("1".into()), Some("1".into()), Some("2".into())];
        let r = vec![Some("1".into())];
        let m = KeyMatcher.group(l, r, &[]);
        let g = m.groups.iter().find(|g| g.0 == "1").expect("group 1");
        assert_eq!((g.1.clone(), g.2.clone()), (vec![0, 1], vec![0]));
        assert_eq!(m.groups.len(), 2);
    }
}
