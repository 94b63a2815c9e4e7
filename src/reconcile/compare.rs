//! Three-way comparison of one matched pair against its baseline.

use chrono::NaiveDateTime;

use super::proposal::{FieldDiff, FieldStatus, Kind, Reason};
use super::tolerance::{parse_instant, values_equal};
use crate::config::{Ownership, Tolerance};
use crate::records::Value;

/// Per-field settings the comparison needs.
#[derive(Debug, Clone)]
pub struct FieldSpec {
    /// Target field name.
    pub name: String,
    /// Who owns it.
    pub ownership: Ownership,
    /// How to compare.
    pub tolerance: Tolerance,
}

/// Last-change times of the two records, for `newest` ownership.
#[derive(Debug, Clone, Copy, Default)]
pub struct Times {
    /// Left record's updated-at.
    pub left: Option<NaiveDateTime>,
    /// Right record's updated-at.
    pub right: Option<NaiveDateTime>,
}

/// Parses an updated-at value.
pub fn parse_time(v: &Value) -> Option<NaiveDateTime> {
    let formats = [
        "%Y-%m-%d %H:%M:%S".to_string(),
        "%Y-%m-%dT%H:%M:%S".to_string(),
        "%Y-%m-%d %H:%M:%S%.f".to_string(),
        "%Y-%m-%d".to_string(),
    ];
    parse_instant(v.as_deref()?, &formats)
}

/// The last agreed value per field name; a field absent never agreed.
pub type Baseline = std::collections::BTreeMap<String, Value>;

/// Compares a matched pair field by field against its baseline.
pub fn compare_pair(
    specs: &[FieldSpec],
    left: &[Value],
    right: &[Value],
    baseline: Option<&Baseline>,
    times: Times,
) -> (Kind, Vec<FieldDiff>, Vec<Reason>) {
    let mut fields = Vec::with_capacity(specs.len());
    let mut reasons = Vec::new();
    let mut any_update = false;
    let mut any_conflict = false;
    for (i, spec) in specs.iter().enumerate() {
        let l = &left[i];
        let r = &right[i];
        let b: Value = baseline.and_then(|b| b.get(&spec.name).cloned()).flatten();
        let has_baseline = baseline.is_some_and(|b| b.contains_key(&spec.name));
        let tol = &spec.tolerance;
        let (status, note) = if tol.ignore {
            (FieldStatus::Ignored, None)
        } else if values_equal(l, r, tol) {
            (FieldStatus::Same, None)
        } else {
            match spec.ownership {
                Ownership::Right => (
                    FieldStatus::Kept,
                    Some("differs; the right owns this field".to_string()),
                ),
                Ownership::Manual => (
                    FieldStatus::Conflict,
                    Some("manual ownership: a person decides".to_string()),
                ),
                Ownership::Newest => match (times.left, times.right) {
                    (Some(lt), Some(rt)) if lt > rt => (
                        FieldStatus::Update,
                        Some("left changed more recently".into()),
                    ),
                    (Some(lt), Some(rt)) if lt < rt => (
                        FieldStatus::Kept,
                        Some("right changed more recently".into()),
                    ),
                    _ => (
                        FieldStatus::Conflict,
                        Some("newest wins, but the change times are missing or equal".into()),
                    ),
                },
                Ownership::Left => {
                    if has_baseline {
                        let left_changed = !values_equal(l, &b, tol);
                        let right_changed = !values_equal(r, &b, tol);
                        if left_changed && right_changed {
                            (
                                FieldStatus::Conflict,
                                Some("changed on both sides since they last agreed".into()),
                            )
                        } else if right_changed {
                            (
                                FieldStatus::Update,
                                Some("changed on the right only; the left owns this field".into()),
                            )
                        } else {
                            (FieldStatus::Update, Some("changed on the left".into()))
                        }
                    } else {
                        (FieldStatus::Update, None)
                    }
                }
            }
        };
        let proposed = match status {
            FieldStatus::Update => l.clone(),
            _ => r.clone(),
        };
        match status {
            FieldStatus::Update => any_update = true,
            FieldStatus::Conflict => {
                any_conflict = true;
                let code = match spec.ownership {
                    Ownership::Manual => "manual",
                    Ownership::Newest => "newest_unknown",
                    _ => "both_changed",
                };
                reasons.push(Reason {
                    code: code.into(),
                    field: Some(spec.name.clone()),
                    message: format!("{}: {}", spec.name, note.as_deref().unwrap_or("")),
                    value: None,
                });
            }
            _ => {}
        }
        fields.push(FieldDiff {
            field: spec.name.clone(),
            left: l.clone(),
            right: r.clone(),
            baseline: if has_baseline { b } else { None },
            proposed,
            status,
            note,
        });
    }
    let kind = if any_conflict {
        Kind::Conflict
    } else if any_update {
        Kind::Update
    } else {
        Kind::InSync
    };
    (kind, fields, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(o: Ownership) -> Vec<FieldSpec> {
        vec![FieldSpec {
            name: "name".into(),
            ownership: o,
            tolerance: Tolerance::default(),
        }]
    }
    fn v(s: &str) -> Vec<Value> {
        vec![Some(s.into())]
    }
    fn b(s: &str) -> Baseline {
        [("name".to_string(), Some(s.to_string()))]
            .into_iter()
            .collect()
    }

    #[test]
    fn three_way_cases() {
        let s = spec(Ownership::Left);
        let t = Times::default();
        let (k, ..) = compare_pair(&s, &v("a"), &v("a"), Some(&b("x")), t);
        assert_eq!(
            k,
            Kind::InSync,
            "equal values are in sync whatever the baseline"
        );
        let (k, ..) = compare_pair(&s, &v("new"), &v("old"), Some(&b("old")), t);
        assert_eq!(k, Kind::Update, "changed on the left only: update");
        let (k, f, r) = compare_pair(&s, &v("l"), &v("r"), Some(&b("old")), t);
        assert_eq!(k, Kind::Conflict, "changed on both sides: conflict");
        assert_eq!(
            f[0].proposed,
            Some("r".into()),
            "a conflict proposes nothing new"
        );
        assert_eq!(r[0].code, "both_changed");
        let (k, ..) = compare_pair(&s, &v("l"), &v("r"), None, t);
        assert_eq!(k, Kind::Update, "no baseline: the owner wins");
        let (k, ..) = compare_pair(&spec(Ownership::Manual), &v("l"), &v("r"), None, t);
        assert_eq!(k, Kind::Conflict, "manual ownership: a person decides");
        let (k, ..) = compare_pair(&spec(Ownership::Right), &v("l"), &v("r"), None, t);
        assert_eq!(k, Kind::InSync, "right-owned differences are not pushed");
    }
}
