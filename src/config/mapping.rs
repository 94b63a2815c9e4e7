//! The mapping part of a reconciliation's configuration: per target field,
//! where its value comes from, how it is transformed, who owns it, how it is
//! compared and validated.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[[reconciliations.NAME.fields]]`: how one target field is computed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    /// The field in the right (target) entity.
    pub target: String,
    /// The left (source) field it comes from. Omit with `sources` or `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Several left fields concatenated with `separator` (empty parts skipped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Separator for `sources` (default one space).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub separator: Option<String>,
    /// Transforms applied in order to the source value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<Transform>,
    /// A value map (code table) applied after the transforms. A value absent
    /// from the table is a mapping conflict, never passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_map: Option<String>,
    /// The value used when the source is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Which side is the source of truth for this field (default `left`).
    #[serde(default, skip_serializing_if = "Ownership::is_default")]
    pub ownership: Ownership,
    /// How values are compared (tolerances).
    #[serde(default, skip_serializing_if = "Tolerance::is_default")]
    pub compare: Tolerance,
    /// Validation rules for the value to send.
    #[serde(default, skip_serializing_if = "Rules::is_empty")]
    pub validate: Rules,
}

/// A transform of a text value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Transform {
    /// Remove leading and trailing white space.
    Trim,
    /// Upper case.
    Upper,
    /// Lower case.
    Lower,
    /// Capitalise each word.
    Title,
    /// Replace runs of white space by one space, and trim.
    CollapseSpaces,
    /// Normalise an e-mail address: trim, lower case, strip `mailto:` and angle brackets.
    Email,
    /// Normalise a phone number to E.164-like `+CC...` digits (uses the
    /// reconciliation's `default_country_code` for national numbers).
    Phone,
    /// Keep only digits.
    Digits,
    /// Parse a date with `from` (strftime) and format it with `to` (default ISO `%Y-%m-%d`).
    Date {
        /// Input formats, tried in order.
        from: Vec<String>,
        /// Output format.
        #[serde(default)]
        to: Option<String>,
    },
    /// Parse a decimal number written with `decimal` and `thousands` separators, and
    /// write it with a dot and `scale` decimals (or as short as exact when absent).
    Number {
        /// Decimal separator in the source (default ".").
        #[serde(default)]
        decimal: Option<String>,
        /// Thousands separator in the source (default none).
        #[serde(default)]
        thousands: Option<String>,
        /// Decimals in the output.
        #[serde(default)]
        scale: Option<u32>,
    },
    /// Take one part of the value split by `separator` (0-based `index`; negative counts from the end).
    Split {
        /// The separator.
        separator: String,
        /// Which part.
        index: i64,
    },
    /// Add text before and/or after.
    Affix {
        /// Text before.
        #[serde(default)]
        prefix: Option<String>,
        /// Text after.
        #[serde(default)]
        suffix: Option<String>,
    },
}

/// Which side is the source of truth for a field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ownership {
    /// The left (source) value wins: differences become updates of the target.
    #[default]
    Left,
    /// The right (target) value wins: differences are shown, never pushed.
    Right,
    /// The side changed most recently wins (needs `updated_at` on both entities).
    Newest,
    /// A person decides: every difference is a conflict.
    Manual,
}

impl Ownership {
    /// True for the default, `left` (not written to the file).
    pub fn is_default(&self) -> bool {
        *self == Ownership::Left
    }
}

/// Not written to the file when false (the default).
fn is_false(b: &bool) -> bool {
    !b
}

/// How two values of a field are compared.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tolerance {
    /// Ignore letter case.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_case: bool,
    /// Ignore leading/trailing white space and runs of inner white space.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_whitespace: bool,
    /// Numbers within this absolute difference are equal (`10.0` and `10` always are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numeric: Option<f64>,
    /// Dates/times in any of these formats are equal when they are the same instant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub date_formats: Vec<String>,
    /// Never report differences in this field.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore: bool,
}

impl Tolerance {
    /// True when nothing is set.
    pub fn is_default(&self) -> bool {
        self == &Tolerance::default()
    }
}

/// Validation rules for a target value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// The value must not be empty.
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// The value must match this regular expression (whole value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// The value must be one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "enum")]
    pub one_of: Vec<String>,
    /// The value must be a number at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The value must be a number at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// At most this many characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// No two target records may share the value.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unique: bool,
}

impl Rules {
    /// True when no rule is set.
    pub fn is_empty(&self) -> bool {
        self == &Rules::default()
    }
}

/// `[reconciliations.NAME.value_maps.MAP]`: a code table, inline or in a CSV file
/// with columns `source,target`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueMapConfig {
    /// A CSV file (relative to the workspace) with columns `source,target`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// Inline entries: source value = target value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub entries: BTreeMap<String, String>,
    /// Compare source codes ignoring case and surrounding spaces.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_case: bool,
}
