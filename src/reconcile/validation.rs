//! Validation rules on values to send. A failing proposal is flagged with
//! the rule and the value and cannot be approved until corrected.

use regex::Regex;

use crate::config::Rules;
use crate::records::Value;

/// A rule that a value breaks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RuleFailure {
    /// The target field.
    pub field: String,
    /// The rule: required, regex, enum, min, max, max_length, unique.
    pub rule: String,
    /// The value at fault.
    pub value: Option<String>,
    /// A sentence for people.
    pub message: String,
}

/// Compiled rules of one field.
#[derive(Debug, Clone)]
pub struct FieldRules {
    field: String,
    rules: Rules,
    regex: Option<Regex>,
}

impl FieldRules {
    /// Compiles the rules of `field` (the regex was validated with the configuration).
    pub fn new(field: &str, rules: &Rules) -> FieldRules {
        let regex = rules
            .regex
            .as_ref()
            .and_then(|r| Regex::new(&format!("^(?:{r})$")).ok());
        FieldRules {
            field: field.to_string(),
            rules: rules.clone(),
            regex,
        }
    }

    /// True when the field must have unique values.
    pub fn unique(&self) -> bool {
        self.rules.unique
    }

    /// Checks one value (all rules but `unique`, which needs every record).
    pub fn check(&self, value: &Value, out: &mut Vec<RuleFailure>) {
        let fail = |rule: &str, message: String| RuleFailure {
            field: self.field.clone(),
            rule: rule.into(),
            value: value.clone(),
            message,
        };
        let Some(v) = value.as_deref() else {
            if self.rules.required {
                out.push(fail("required", format!("{} is required", self.field)));
            }
            return;
        };
        if let Some(re) = &self.regex
            && !re.is_match(v)
        {
            out.push(fail(
                "regex",
                format!(
                    "{v:?} does not match the pattern {}",
                    self.rules.regex.as_deref().unwrap_or("")
                ),
            ));
        }
        if !self.rules.one_of.is_empty() && !self.rules.one_of.iter().any(|o| o == v) {
            out.push(fail(
                "enum",
                format!("{v:?} is not one of {}", self.rules.one_of.join(", ")),
            ));
        }
        if self.rules.min.is_some() || self.rules.max.is_some() {
            match v.trim().parse::<f64>() {
                Ok(n) => {
                    if let Some(min) = self.rules.min
                        && n < min
                    {
                        out.push(fail("min", format!("{v} is below the minimum {min}")));
                    }
                    if let Some(max) = self.rules.max
                        && n > max
                    {
                        out.push(fail("max", format!("{v} is above the maximum {max}")));
                    }
                }
                Err(_) => out.push(fail("min", format!("{v:?} is not a number"))),
            }
        }
        if let Some(max) = self.rules.max_length
            && v.chars().count() > max
        {
            out.push(fail(
                "max_length",
                format!("{} characters, at most {max} allowed", v.chars().count()),
            ));
        }
    }
}
