//! What reconciling produces for one matched or unmatched record.

use serde::{Deserialize, Serialize};

use crate::mapping::MappingIssue;
use crate::reconcile::validation::RuleFailure;
use crate::records::Value;

/// The category of a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Both sides agree.
    InSync,
    /// Only on the left: create it on the right.
    Create,
    /// Differs: update the right.
    Update,
    /// Only on the right (never deleted without a separate approval).
    Orphan,
    /// A person must decide.
    Conflict,
}

impl Kind {
    /// The name used in the cache, the CLI and exports.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::InSync => "in_sync",
            Kind::Create => "create",
            Kind::Update => "update",
            Kind::Orphan => "orphan",
            Kind::Conflict => "conflict",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "in_sync" => Kind::InSync,
            "create" => Kind::Create,
            "update" => Kind::Update,
            "orphan" => Kind::Orphan,
            "conflict" => Kind::Conflict,
            _ => return None,
        })
    }
}

/// How one field of a proposal compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldStatus {
    /// Equal (under the field's tolerances).
    Same,
    /// The proposed value is sent to the right.
    Update,
    /// A person must decide this field.
    Conflict,
    /// Differs, but the right owns the field (or is newer): nothing is sent.
    Kept,
    /// The field is ignored by its tolerance.
    Ignored,
}

/// One field of a proposal, side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDiff {
    /// The target field.
    pub field: String,
    /// The left value, after mapping.
    pub left: Value,
    /// The right value.
    pub right: Value,
    /// The last value known to agree, if any.
    pub baseline: Value,
    /// The value that would be sent (right's value when nothing changes).
    pub proposed: Value,
    /// How it compares.
    pub status: FieldStatus,
    /// Why (for updates and conflicts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Why a proposal is a conflict (or a note on an update).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// both_changed, manual, duplicate_key, unmapped_value, transform_failed,
    /// validation, newest_unknown.
    pub code: String,
    /// The field concerned, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A sentence for people.
    pub message: String,
    /// The source value at fault (unmapped values, failed transforms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl From<&MappingIssue> for Reason {
    fn from(m: &MappingIssue) -> Self {
        Reason {
            code: m.kind.clone(),
            field: Some(m.field.clone()),
            message: format!("{}: {}", m.field, m.reason),
            value: Some(m.value.clone()),
        }
    }
}

impl From<&RuleFailure> for Reason {
    fn from(f: &RuleFailure) -> Self {
        Reason {
            code: "validation".into(),
            field: Some(f.field.clone()),
            message: format!("{} ({}): {}", f.field, f.rule, f.message),
            value: None,
        }
    }
}

/// One proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// Stable within a reconciliation: the normalised match key.
    pub match_key: String,
    /// The key as people wrote it (the first record's key values, not normalised).
    #[serde(default)]
    pub label: String,
    /// Ids of the left records (more than one: duplicate key).
    pub left_keys: Vec<String>,
    /// Ids of the right records.
    pub right_keys: Vec<String>,
    /// The category.
    pub kind: Kind,
    /// Why it is a conflict; notes on updates.
    pub reasons: Vec<Reason>,
    /// Field by field.
    pub fields: Vec<FieldDiff>,
    /// Hash of everything the proposal was computed from; a decision is
    /// stale once this changes.
    pub input_hash: String,
}

impl Proposal {
    /// The values that would be sent: field → proposed value, for the fields that change.
    pub fn values_to_send(&self) -> Vec<(String, Value)> {
        self.fields
            .iter()
            .filter(|f| match self.kind {
                Kind::Create => true,
                _ => f.status == FieldStatus::Update,
            })
            .map(|f| (f.field.clone(), f.proposed.clone()))
            .collect()
    }
}
