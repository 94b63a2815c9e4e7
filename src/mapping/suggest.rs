//! Suggesting a mapping from column names and sample values, for a person
//! to confirm. Nothing is applied automatically.

use std::collections::HashSet;

use serde::Serialize;

use crate::config::{FieldMapping, Transform};
use crate::records::{Schema, Value};

/// One suggested field mapping, with the evidence for it.
#[derive(Debug, Clone, Serialize)]
pub struct FieldSuggestion {
    /// The target (right) field.
    pub target: String,
    /// The best left field, if any scored.
    pub source: Option<String>,
    /// 0..1: how sure the suggestion is.
    pub score: f64,
    /// Transforms that make the sample values agree.
    pub transforms: Vec<Transform>,
    /// Sample left values.
    pub left_samples: Vec<String>,
    /// Sample right values.
    pub right_samples: Vec<String>,
}

impl FieldSuggestion {
    /// The suggestion as a field mapping (for the configuration).
    pub fn to_mapping(&self) -> FieldMapping {
        FieldMapping {
            target: self.target.clone(),
            source: self.source.clone(),
            transforms: self.transforms.clone(),
            ..Default::default()
        }
    }
}

fn norm_name(s: &str) -> String {
    let s = s.to_lowercase();
    let s: String = s.chars().filter(|c| c.is_alphanumeric()).collect();
    // Common synonyms in business exports.
    for (from, to) in [
        ("emailaddress", "email"),
        ("mail", "email"),
        ("eemail", "email"),
        ("telephone", "phone"),
        ("tel", "phone"),
        ("mobile", "phone"),
        ("companyname", "company"),
        ("organisation", "company"),
        ("organization", "company"),
        ("customernumber", "customerno"),
        ("customerid", "customerno"),
        ("custno", "customerno"),
        ("postcode", "zip"),
        ("postalcode", "zip"),
        ("zipcode", "zip"),
    ] {
        if s == from {
            return to.to_string();
        }
    }
    s
}

fn kind_of(samples: &[String]) -> Option<Transform> {
    if samples.is_empty() {
        return None;
    }
    let all = |f: &dyn Fn(&str) -> bool| samples.iter().all(|s| f(s));
    if all(&|s| s.contains('@') && s.contains('.')) {
        return Some(Transform::Email);
    }
    if all(&|s| {
        let d = s.chars().filter(char::is_ascii_digit).count();
        d >= 6
            && s.chars()
                .all(|c| c.is_ascii_digit() || " +-/().".contains(c))
    }) {
        return Some(Transform::Phone);
    }
    None
}

/// Suggests, for every right field, the left field that best matches it by
/// name and by shared sample values.
pub fn suggest(
    left: &Schema,
    left_rows: &[Vec<Value>],
    right: &Schema,
    right_rows: &[Vec<Value>],
) -> Vec<FieldSuggestion> {
    let samples = |rows: &[Vec<Value>], i: usize| -> Vec<String> {
        rows.iter()
            .filter_map(|r| r.get(i).cloned().flatten())
            .take(50)
            .collect()
    };
    let norm_val = |s: &str| s.trim().to_lowercase();
    let mut out = Vec::new();
    for (ri, rname) in right.fields.iter().enumerate() {
        let rs = samples(right_rows, ri);
        let rset: HashSet<String> = rs.iter().map(|s| norm_val(s)).collect();
        let mut best: Option<(f64, usize)> = None;
        for (li, lname) in left.fields.iter().enumerate() {
            let name_score =
                strsim::normalized_damerau_levenshtein(&norm_name(lname), &norm_name(rname));
            let ls = samples(left_rows, li);
            let overlap = if ls.is_empty() || rset.is_empty() {
                0.0
            } else {
                ls.iter().filter(|s| rset.contains(&norm_val(s))).count() as f64 / ls.len() as f64
            };
            let score = 0.6 * name_score + 0.4 * overlap;
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, li));
            }
        }
        let (source, score, left_samples) = match best {
            Some((score, li)) if score >= 0.45 => {
                (Some(left.fields[li].clone()), score, samples(left_rows, li))
            }
            _ => (None, 0.0, vec![]),
        };
        let mut transforms = Vec::new();
        if left_samples.iter().any(|s| s.trim() != s) {
            transforms.push(Transform::Trim);
        }
        if let Some(t) = kind_of(&left_samples) {
            transforms.push(t);
        }
        out.push(FieldSuggestion {
            target: rname.clone(),
            source,
            score: (score * 100.0).round() / 100.0,
            transforms,
            left_samples: left_samples.into_iter().take(3).collect(),
            right_samples: rs.into_iter().take(3).collect(),
        });
    }
    out
}
