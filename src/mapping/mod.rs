//! Mapping: how each target field is computed from a left (source) record.
//!
//! A reconciliation's field mappings are compiled once against the left and
//! right schemas (an unknown column is an error naming the mapping), then
//! applied to every left record. A value missing from a value map, or a
//! value a transform cannot parse, is a *mapping issue* on that record: it
//! becomes a conflict, never a silent pass-through.

mod suggest;
mod transforms;
mod value_maps;

use std::borrow::Cow;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use suggest::{FieldSuggestion, suggest};
pub use transforms::{apply as apply_transform, collapse_spaces, email, number, phone};
pub use value_maps::{ValueMap, add_entry as add_value_map_entry};

use crate::config::{FieldMapping, ReconciliationConfig};
use crate::error::{Error, Result};
use crate::records::{Schema, Value};

/// Why a target value could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingIssue {
    /// The target field.
    pub field: String,
    /// The source value at fault.
    pub value: String,
    /// `unmapped_value` (absent from value map `map`) or `transform_failed`.
    pub kind: String,
    /// The value map, for unmapped values.
    pub map: Option<String>,
    /// A sentence for people.
    pub reason: String,
}

#[derive(Debug, Clone)]
struct CompiledField {
    config: FieldMapping,
    sources: Vec<usize>,
    value_map: Option<(String, ValueMap)>,
}

/// A reconciliation's mapping, ready to apply.
#[derive(Debug, Clone)]
pub struct CompiledMapping {
    /// Target field names, in mapping order.
    pub targets: Vec<String>,
    /// Where each target field sits in the right schema.
    pub right_idx: Vec<usize>,
    /// Positions (in `targets`) of the key fields.
    pub key_idx: Vec<usize>,
    fields: Vec<CompiledField>,
    country_code: Option<String>,
}

impl CompiledMapping {
    /// Compiles the mapping of reconciliation `name` against the two schemas.
    pub fn compile(
        name: &str,
        config: &ReconciliationConfig,
        left: &Schema,
        right: &Schema,
        base: &Path,
    ) -> Result<CompiledMapping> {
        let mut fields = Vec::new();
        let mut right_idx = Vec::new();
        for f in &config.fields {
            let ri = right.index(&f.target).ok_or_else(|| {
                Error::NotFound(format!(
                    "reconciliation {name}: target field {:?} is not a column of {} (columns: {})",
                    f.target,
                    config.right,
                    right.fields.join(", ")
                ))
            })?;
            right_idx.push(ri);
            let mut names: Vec<&String> = f.source.iter().collect();
            names.extend(f.sources.iter());
            let sources = names
                .iter()
                .map(|s| {
                    left.index(s).ok_or_else(|| {
                        Error::NotFound(format!(
                            "reconciliation {name}, field {:?}: source column {s:?} is not a column of {} (columns: {})",
                            f.target,
                            config.left,
                            left.fields.join(", ")
                        ))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let value_map = match &f.value_map {
                Some(m) => {
                    let cfg = config.value_maps.get(m).ok_or_else(|| {
                        Error::NotFound(format!("reconciliation {name}: no value map named {m:?}"))
                    })?;
                    Some((m.clone(), ValueMap::load(cfg, base)?))
                }
                None => None,
            };
            fields.push(CompiledField {
                config: f.clone(),
                sources,
                value_map,
            });
        }
        let targets: Vec<String> = config.fields.iter().map(|f| f.target.clone()).collect();
        let key_idx = config
            .key
            .iter()
            .map(|k| targets.iter().position(|t| t == k).expect("validated"))
            .collect();
        Ok(CompiledMapping {
            targets,
            right_idx,
            key_idx,
            fields,
            country_code: config.default_country_code.clone(),
        })
    }

    /// The mapping configuration of target field `i`.
    pub fn field(&self, i: usize) -> &FieldMapping {
        &self.fields[i].config
    }

    /// Computes the target values of a left record, with any mapping issues.
    pub fn map_left(&self, left: &[Option<&str>]) -> (Vec<Value>, Vec<MappingIssue>) {
        let mut issues = Vec::new();
        let out = (0..self.fields.len())
            .map(|i| {
                let (v, issue) = self.map_field(i, left);
                issues.extend(issue);
                v.map(Cow::into_owned)
            })
            .collect();
        (out, issues)
    }

    /// Computes target field `i` from a left record's values. Borrows the
    /// source value when the mapping is a plain rename.
    pub fn map_field<'a>(
        &self,
        i: usize,
        left: &[Option<&'a str>],
    ) -> (Option<Cow<'a, str>>, Option<MappingIssue>) {
        let f = &self.fields[i];
        let get = |j: usize| left.get(j).copied().flatten();
        let raw: Option<Cow<'a, str>> = match f.sources.len() {
            0 => None,
            1 => get(f.sources[0]).map(Cow::Borrowed),
            _ => {
                let sep = f.config.separator.as_deref().unwrap_or(" ");
                let parts: Vec<&str> = f
                    .sources
                    .iter()
                    .filter_map(|&j| get(j))
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect();
                (!parts.is_empty()).then(|| Cow::Owned(parts.join(sep)))
            }
        };
        let mut issue = None;
        let mut value = raw;
        if let Some(v) = &value
            && (!f.config.transforms.is_empty() || f.value_map.is_some())
        {
            let mut s = v.to_string();
            let mut failed = false;
            for t in &f.config.transforms {
                match transforms::apply(t, &s, self.country_code.as_deref()) {
                    Ok(x) => s = x,
                    Err(reason) => {
                        issue = Some(MappingIssue {
                            field: f.config.target.clone(),
                            value: v.to_string(),
                            kind: "transform_failed".into(),
                            map: None,
                            reason,
                        });
                        failed = true;
                        break;
                    }
                }
            }
            if !failed {
                value = (!s.is_empty()).then_some(Cow::Owned(s));
                if let (Some((name, map)), Some(code)) = (&f.value_map, &value) {
                    match map.get(code) {
                        Some(t) => value = (!t.is_empty()).then(|| Cow::Owned(t.to_string())),
                        None => {
                            issue = Some(MappingIssue {
                                field: f.config.target.clone(),
                                value: code.to_string(),
                                kind: "unmapped_value".into(),
                                map: Some(name.clone()),
                                reason: format!("{code:?} is not in value map {name:?}"),
                            });
                        }
                    }
                }
            }
        }
        if value.is_none() {
            value = f.config.default.clone().map(Cow::Owned);
        }
        (value, issue)
    }

    /// The normalised match key of a left record (`None` when a key part is empty).
    pub fn left_key(&self, vals: &[Option<&str>]) -> Option<String> {
        let parts: Vec<Option<Cow<'_, str>>> = self
            .key_idx
            .iter()
            .map(|&k| self.map_field(k, vals).0)
            .collect();
        let refs: Vec<Option<&str>> = parts.iter().map(|p| p.as_deref()).collect();
        crate::matching::match_key_str(&refs)
    }

    /// The normalised match key of a right record.
    pub fn right_key(&self, vals: &[Option<&str>]) -> Option<String> {
        let parts: Vec<Option<&str>> = self
            .key_idx
            .iter()
            .map(|&k| vals.get(self.right_idx[k]).copied().flatten())
            .collect();
        crate::matching::match_key_str(&parts)
    }
}
