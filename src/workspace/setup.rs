//! Setting up a reconciliation: the sample records a setup is previewed on,
//! the preview of every field's mapping on them (through the mapping code the
//! engine runs, so what is shown is what reconciling computes), and the
//! problems of a reconciliation being edited, field by field, before it is
//! saved with [`Workspace::set_reconciliation`].

use serde::Serialize;

use super::Workspace;
use crate::config::{FieldMapping, FieldProblem, ReconciliationConfig, Transform};
use crate::connectors::Sample;
use crate::error::{Error, Result};
use crate::mapping::{CompiledMapping, FieldSuggestion, ValueMap};
use crate::reconcile::validation::FieldRules;
use crate::records::Schema;

/// Records of an entity, as text, to preview a mapping on.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SampleRows {
    /// The entity's fields.
    pub fields: Vec<String>,
    /// The records' values, in field order (`None`: no value).
    pub rows: Vec<Vec<Option<String>>>,
}

/// A suggested mapping between two entities, with what it was made from.
#[derive(Debug, Clone)]
pub struct MappingSample {
    /// One suggestion per right field.
    pub suggestions: Vec<FieldSuggestion>,
    /// The left entity's records read for the suggestion (the first 200).
    pub left: SampleRows,
}

/// One sample record through one field's mapping.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreviewValue {
    /// The source value(s) as read (several sources joined by ` | `).
    pub input: Option<String>,
    /// The value the mapping computes for the target.
    pub output: Option<String>,
    /// Why the value could not be computed (a transform failed, a value is
    /// missing from the value map): the record would be a conflict.
    pub issue: Option<String>,
    /// The validation rules the computed value breaks.
    pub rules: Vec<String>,
}

/// The preview of one field's mapping.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldPreview {
    /// The target field.
    pub target: String,
    /// Sample records through the mapping (records with a source value first).
    pub values: Vec<PreviewValue>,
    /// Why the field's mapping cannot be applied at all (an unknown source
    /// column, a value map file that does not load).
    pub error: Option<String>,
}

/// Where a field's problems are reported: `fields[TARGET]`.
fn at(f: &FieldMapping) -> String {
    format!("fields[{}]", f.target)
}

/// The message of a strftime format that chrono cannot use, if any.
fn bad_format(format: &str) -> Option<String> {
    use chrono::format::{Item, StrftimeItems};
    if format.trim().is_empty() {
        return Some("a format cannot be empty".into());
    }
    StrftimeItems::new(format)
        .any(|i| matches!(i, Item::Error))
        .then(|| format!("{format:?} is not a valid date format (strftime, e.g. %d.%m.%Y)"))
}

impl Workspace {
    /// The first `limit` records of entity `name`, read from its system.
    pub fn entity_sample(&self, name: &str, limit: usize) -> Result<SampleRows> {
        let s = self.read_sample(name, limit)?;
        Ok(sample_rows(&s))
    }

    fn read_sample(&self, name: &str, limit: usize) -> Result<Sample> {
        let e = self.entity(name)?;
        let mut s = Sample {
            limit,
            ..Default::default()
        };
        self.connector(&e.system)?
            .read(&Workspace::entity_source(e), &mut s)?;
        if s.schema.is_none() {
            return Err(Error::Invalid(format!("entity {name:?} has no fields")));
        }
        Ok(s)
    }

    /// A suggested mapping from entity `left` to entity `right` (from their
    /// field names and the values of their first 200 records), with the left
    /// records it was made from, to preview mappings on.
    pub fn suggest_mapping_sample(&self, left: &str, right: &str) -> Result<MappingSample> {
        let (l, r) = (self.read_sample(left, 200)?, self.read_sample(right, 200)?);
        let rows = |s: &Sample| -> Vec<Vec<crate::records::Value>> {
            s.rows.iter().map(|(_, v)| v.clone()).collect()
        };
        let (ls, rs) = (l.schema.as_ref().unwrap(), r.schema.as_ref().unwrap());
        let suggestions = crate::mapping::suggest(ls, &rows(&l), rs, &rows(&r));
        Ok(MappingSample {
            suggestions,
            left: sample_rows(&l),
        })
    }

    /// Every field of `recon` applied to the `sample` records of its left
    /// entity: up to `per_field` records per field, those with a source value
    /// first. Value map files are read relative to the workspace.
    pub fn preview_mapping(
        &self,
        name: &str,
        recon: &ReconciliationConfig,
        sample: &SampleRows,
        per_field: usize,
    ) -> Vec<FieldPreview> {
        let left = Schema::new(sample.fields.iter().cloned());
        recon
            .fields
            .iter()
            .map(|f| self.preview_field(name, recon, f, &left, &sample.rows, per_field))
            .collect()
    }

    fn preview_field(
        &self,
        name: &str,
        recon: &ReconciliationConfig,
        f: &FieldMapping,
        left: &Schema,
        rows: &[Vec<Option<String>>],
        per_field: usize,
    ) -> FieldPreview {
        // The field alone, compiled as the engine compiles a reconciliation.
        let one = ReconciliationConfig {
            key: vec![f.target.clone()],
            fields: vec![f.clone()],
            ..recon.clone()
        };
        let right = Schema::new([f.target.clone()]);
        let mapping = match CompiledMapping::compile(name, &one, left, &right, self.dir()) {
            Ok(m) => m,
            Err(e) => {
                return FieldPreview {
                    target: f.target.clone(),
                    values: vec![],
                    error: Some(e.to_string()),
                };
            }
        };
        let sources: Vec<usize> = f
            .source
            .iter()
            .chain(f.sources.iter())
            .filter_map(|s| left.index(s))
            .collect();
        let has_source = |r: &Vec<Option<String>>| {
            sources.iter().any(|&i| {
                r.get(i)
                    .and_then(|v| v.as_deref())
                    .is_some_and(|v| !v.is_empty())
            })
        };
        let mut chosen: Vec<&Vec<Option<String>>> = rows
            .iter()
            .filter(|r| has_source(r))
            .take(per_field)
            .collect();
        if chosen.len() < per_field {
            let more = per_field - chosen.len();
            chosen.extend(rows.iter().filter(|r| !has_source(r)).take(more));
        }
        let rules = FieldRules::new(&f.target, &f.validate);
        let values = chosen
            .into_iter()
            .map(|r| {
                let refs: Vec<Option<&str>> = r.iter().map(|v| v.as_deref()).collect();
                let (out, issue) = mapping.map_field(0, &refs);
                let output = out.map(|v| v.into_owned());
                let mut failures = Vec::new();
                rules.check(&output, &mut failures);
                let inputs: Vec<&str> = sources
                    .iter()
                    .filter_map(|&i| refs.get(i).copied().flatten())
                    .collect();
                PreviewValue {
                    input: (!inputs.is_empty()).then(|| inputs.join(" | ")),
                    output,
                    issue: issue.map(|i| i.reason),
                    rules: failures.into_iter().map(|f| f.message).collect(),
                }
            })
            .collect();
        FieldPreview {
            target: f.target.clone(),
            values,
            error: None,
        }
    }

    /// The problems of reconciliation `name` as `recon` (not saved), each
    /// with the setting it concerns, as written in `trueup.toml` under
    /// `[reconciliations.NAME]`: `key`, `fields[TARGET].source`,
    /// `fields[TARGET].transforms[1]`, `fields[TARGET].validate.regex`,
    /// `value_maps[MAP].file`, ... `left_fields`: the left entity's fields,
    /// when known, to check the sources against. Only value map files are read.
    pub fn reconciliation_problems(
        &self,
        name: &str,
        recon: &ReconciliationConfig,
        left_fields: &[String],
    ) -> Vec<FieldProblem> {
        let mut out = Vec::new();
        let mut problem =
            |field: String, message: String| out.push(FieldProblem { field, message });
        if let Err(e) = super::systems::check_name("reconciliation", name) {
            problem("name".into(), e.to_string());
        }
        for (side, entity) in [("left", &recon.left), ("right", &recon.right)] {
            if !self.config.entities.contains_key(entity) {
                problem(side.into(), format!("no entity named {entity:?}"));
            }
        }
        if recon.key.is_empty() {
            problem(
                "key".into(),
                "mark at least one key field: its values match a left record to a right record"
                    .into(),
            );
        }
        for k in &recon.key {
            if !recon.fields.iter().any(|f| &f.target == k) {
                problem("key".into(), format!("key {k:?} is not a mapped field"));
            }
        }
        for f in &recon.fields {
            let p = at(f);
            let named: Vec<&String> = f.source.iter().chain(f.sources.iter()).collect();
            if named.is_empty() && f.default.is_none() {
                problem(
                    format!("{p}.source"),
                    "choose a source field, or give a default".into(),
                );
            }
            for s in named {
                if !left_fields.is_empty() && !left_fields.contains(s) {
                    problem(
                        format!("{p}.source"),
                        format!("{s:?} is not a field of {}", recon.left),
                    );
                }
            }
            for (i, t) in f.transforms.iter().enumerate() {
                let tp = format!("{p}.transforms[{i}]");
                match t {
                    Transform::Date { from, to } => {
                        if from.is_empty() {
                            problem(tp.clone(), "give at least one input date format".into());
                        }
                        for format in from.iter().chain(to.iter()) {
                            if let Some(m) = bad_format(format) {
                                problem(tp.clone(), m);
                            }
                        }
                    }
                    Transform::Split { separator, .. } if separator.is_empty() => {
                        problem(tp, "the separator cannot be empty".into());
                    }
                    Transform::Number {
                        decimal, thousands, ..
                    } if decimal.is_some() && decimal == thousands => {
                        problem(
                            tp,
                            "the decimal and thousands separators must differ".into(),
                        );
                    }
                    _ => {}
                }
            }
            if let Some(m) = &f.value_map
                && !recon.value_maps.contains_key(m)
            {
                problem(
                    format!("{p}.value_map"),
                    format!("no value map named {m:?}"),
                );
            }
            let v = &f.validate;
            if let Some(re) = &v.regex
                && let Err(e) = regex::Regex::new(re)
            {
                // regex's message draws the pattern over several lines; the last says why.
                let why = e.to_string();
                let why = why.lines().last().unwrap_or("").trim();
                let first = why.strip_prefix("error: ").unwrap_or(why).to_string();
                problem(
                    format!("{p}.validate.regex"),
                    format!("not a valid pattern: {first}"),
                );
            }
            if let (Some(min), Some(max)) = (v.min, v.max)
                && min > max
            {
                problem(
                    format!("{p}.validate.max"),
                    format!("the maximum {max} is below the minimum {min}"),
                );
            }
            if v.max_length == Some(0) {
                problem(
                    format!("{p}.validate.max_length"),
                    "a maximum length of 0 allows only empty values".into(),
                );
            }
            if let Some(n) = f.compare.numeric
                && !(n >= 0.0 && n.is_finite())
            {
                problem(
                    format!("{p}.compare.numeric"),
                    "the numeric tolerance is a difference of 0 or more".into(),
                );
            }
            for format in &f.compare.date_formats {
                if let Some(m) = bad_format(format) {
                    problem(format!("{p}.compare.date_formats"), m);
                }
            }
        }
        for (m, cfg) in &recon.value_maps {
            if cfg.file.is_none() && cfg.entries.is_empty() {
                problem(
                    format!("value_maps[{m}]"),
                    "give a CSV file or at least one entry".into(),
                );
                continue;
            }
            if cfg.file.is_some()
                && let Err(e) = ValueMap::load(cfg, self.dir())
            {
                problem(format!("value_maps[{m}].file"), e.to_string());
            }
        }
        if out.is_empty() {
            let mut config = self.config.clone();
            config
                .reconciliations
                .insert(name.to_string(), recon.clone());
            if let Err(e) = config.validate(&self.dir().join(super::CONFIG_FILE)) {
                out.push(FieldProblem {
                    field: String::new(),
                    message: e.to_string(),
                });
            }
        }
        out
    }
}

fn sample_rows(s: &Sample) -> SampleRows {
    SampleRows {
        fields: s
            .schema
            .as_ref()
            .map(|s| s.fields.clone())
            .unwrap_or_default(),
        rows: s.rows.iter().map(|(_, v)| v.clone()).collect(),
    }
}
