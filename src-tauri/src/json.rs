//! The front end's contract: the types that cross IPC, in camelCase, with
//! conversions from the core's types. TypeScript declarations are generated
//! from these (see [`crate::bindings`]); never write them by hand.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A stable error category; the UI branches on it, never on message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The workspace configuration is invalid.
    Config,
    /// An input file or record is malformed.
    Input,
    /// A file could not be read or written.
    Io,
    /// The cache database failed.
    Cache,
    /// A connected system could not be reached.
    Network,
    /// A connected system refused our credentials.
    Auth,
    /// A connected system answered with an error of its own.
    System,
    /// Something named does not exist.
    NotFound,
    /// A value or request is not valid.
    Validation,
    /// Cancelled by the user.
    Cancelled,
    /// A passing failure (busy database, timeout): trying again may work.
    Transient,
    /// The system asked us to slow down.
    RateLimit,
    /// No workspace is open.
    NoWorkspace,
    /// Another long step is already running.
    Busy,
}

impl From<trueup::ErrorCode> for ErrorCode {
    fn from(c: trueup::ErrorCode) -> Self {
        use trueup::ErrorCode as C;
        match c {
            C::Config => ErrorCode::Config,
            C::Input => ErrorCode::Input,
            C::Io => ErrorCode::Io,
            C::Cache => ErrorCode::Cache,
            C::Network => ErrorCode::Network,
            C::Auth => ErrorCode::Auth,
            C::System => ErrorCode::System,
            C::NotFound => ErrorCode::NotFound,
            C::Validation => ErrorCode::Validation,
            C::Cancelled => ErrorCode::Cancelled,
            C::Transient => ErrorCode::Transient,
            C::RateLimit => ErrorCode::RateLimit,
        }
    }
}

/// An error as the UI receives it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct IpcError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// A sentence for people (file, line, field where known).
    pub message: String,
}

impl IpcError {
    /// An error of the shell itself.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        IpcError {
            code,
            message: message.into(),
        }
    }
}

impl From<trueup::Error> for IpcError {
    fn from(e: trueup::Error) -> Self {
        IpcError {
            code: e.code().into(),
            message: e.to_string(),
        }
    }
}

/// A reconciliation as the start screen lists it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReconciliationInfo {
    /// Its name in the workspace.
    pub name: String,
    /// The left entity.
    pub left: String,
    /// The right entity.
    pub right: String,
}

/// An open workspace.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceInfo {
    /// The workspace folder.
    pub dir: String,
    /// Its display name.
    pub name: String,
    /// The systems, by name.
    pub systems: Vec<String>,
    /// The reconciliations.
    pub reconciliations: Vec<ReconciliationInfo>,
}

impl From<&trueup::Workspace> for WorkspaceInfo {
    fn from(ws: &trueup::Workspace) -> Self {
        let dir = ws.dir().display().to_string();
        WorkspaceInfo {
            name: ws.config.workspace.name.clone().unwrap_or_else(|| {
                ws.dir()
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| dir.clone())
            }),
            dir,
            systems: ws.config.systems.keys().cloned().collect(),
            reconciliations: ws
                .config
                .reconciliations
                .iter()
                .map(|(name, r)| ReconciliationInfo {
                    name: name.clone(),
                    left: r.left.clone(),
                    right: r.right.clone(),
                })
                .collect(),
        }
    }
}

/// The category of a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Both sides agree.
    InSync,
    /// Only on the left: create it on the right.
    Create,
    /// Differs: update the right.
    Update,
    /// Only on the right.
    Orphan,
    /// A person must decide.
    Conflict,
}

impl From<trueup::reconcile::Kind> for Kind {
    fn from(k: trueup::reconcile::Kind) -> Self {
        use trueup::reconcile::Kind as K;
        match k {
            K::InSync => Kind::InSync,
            K::Create => Kind::Create,
            K::Update => Kind::Update,
            K::Orphan => Kind::Orphan,
            K::Conflict => Kind::Conflict,
        }
    }
}

impl From<Kind> for trueup::reconcile::Kind {
    fn from(k: Kind) -> Self {
        use trueup::reconcile::Kind as K;
        match k {
            Kind::InSync => K::InSync,
            Kind::Create => K::Create,
            Kind::Update => K::Update,
            Kind::Orphan => K::Orphan,
            Kind::Conflict => K::Conflict,
        }
    }
}

/// How one field compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum FieldStatus {
    /// Equal.
    Same,
    /// The proposed value is sent to the right.
    Update,
    /// A person must decide this field.
    Conflict,
    /// Differs, but the right owns it: nothing is sent.
    Kept,
    /// Ignored by its tolerance.
    Ignored,
}

impl From<trueup::reconcile::FieldStatus> for FieldStatus {
    fn from(s: trueup::reconcile::FieldStatus) -> Self {
        use trueup::reconcile::FieldStatus as S;
        match s {
            S::Same => FieldStatus::Same,
            S::Update => FieldStatus::Update,
            S::Conflict => FieldStatus::Conflict,
            S::Kept => FieldStatus::Kept,
            S::Ignored => FieldStatus::Ignored,
        }
    }
}

/// One field, side by side.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FieldDiff {
    /// The target field.
    pub field: String,
    /// Left value after mapping.
    pub left: Option<String>,
    /// Right value.
    pub right: Option<String>,
    /// Last value known to agree.
    pub baseline: Option<String>,
    /// The value that would be sent.
    pub proposed: Option<String>,
    /// How it compares.
    pub status: FieldStatus,
    /// Why.
    pub note: Option<String>,
}

/// Why a proposal is a conflict (or a note on an update).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    /// both_changed, manual, duplicate_key, unmapped_value, ...
    pub code: String,
    /// The field concerned.
    pub field: Option<String>,
    /// A sentence for people.
    pub message: String,
}

/// A proposal with its current decision.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProposalRow {
    /// Row id (stable until the next reconcile).
    #[ts(type = "number")]
    pub id: i64,
    /// The raw match key (pass it back to decide).
    pub match_key: String,
    /// The match key as people read it.
    pub display_key: String,
    /// Ids of the left records.
    pub left_keys: Vec<String>,
    /// Ids of the right records.
    pub right_keys: Vec<String>,
    /// The category.
    pub kind: Kind,
    /// Why.
    pub reasons: Vec<Reason>,
    /// Field by field.
    pub fields: Vec<FieldDiff>,
    /// approve, reject, correct, delete, or none.
    pub decision: Option<String>,
    /// current or stale.
    pub decision_state: Option<String>,
}

impl From<trueup::reconcile::ProposalRow> for ProposalRow {
    fn from(r: trueup::reconcile::ProposalRow) -> Self {
        let p = r.proposal;
        ProposalRow {
            id: r.id,
            // The key as written in the records; the normalised one if none.
            display_key: if p.label.is_empty() {
                trueup::records::display_key(&p.match_key)
            } else {
                p.label.clone()
            },
            match_key: p.match_key,
            left_keys: p.left_keys,
            right_keys: p.right_keys,
            kind: p.kind.into(),
            reasons: p
                .reasons
                .into_iter()
                .map(|x| Reason {
                    code: x.code,
                    field: x.field,
                    message: x.message,
                })
                .collect(),
            fields: p
                .fields
                .into_iter()
                .map(|f| FieldDiff {
                    field: f.field,
                    left: f.left,
                    right: f.right,
                    baseline: f.baseline,
                    proposed: f.proposed,
                    status: f.status.into(),
                    note: f.note,
                })
                .collect(),
            decision: r.decision,
            decision_state: r.decision_state,
        }
    }
}

/// One page of proposals.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProposalPage {
    /// How many match the filter.
    #[ts(type = "number")]
    pub total: u64,
    /// The offset of the first item.
    #[ts(type = "number")]
    pub offset: u64,
    /// The proposals on this page.
    pub items: Vec<ProposalRow>,
}

/// Which proposals to list or act on.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// Only these kinds (empty: all).
    pub kinds: Vec<Kind>,
    /// Only proposals where this field differs.
    pub field: Option<String>,
    /// Only proposals whose key or values contain this text.
    pub text: Option<String>,
    /// undecided, approved, rejected, stale.
    pub decision: Option<String>,
    /// Only conflicts with this reason code.
    pub reason: Option<String>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

impl From<Filter> for trueup::reconcile::Filter {
    fn from(f: Filter) -> Self {
        trueup::reconcile::Filter {
            kinds: f.kinds.into_iter().map(Into::into).collect(),
            field: non_empty(f.field),
            text: non_empty(f.text),
            decision: non_empty(f.decision),
            reason: non_empty(f.reason),
        }
    }
}

/// A person's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Send the proposed values.
    Approve,
    /// Send nothing.
    Reject,
    /// Send the corrected values.
    Correct,
    /// Delete an orphan from the target.
    Delete,
}

impl From<Verdict> for trueup::review::Verdict {
    fn from(v: Verdict) -> Self {
        use trueup::review::Verdict as V;
        match v {
            Verdict::Approve => V::Approve,
            Verdict::Reject => V::Reject,
            Verdict::Correct => V::Correct,
            Verdict::Delete => V::Delete,
        }
    }
}

/// A recorded decision.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// Decision id.
    #[ts(type = "number")]
    pub id: i64,
    /// The proposal's match key.
    pub match_key: String,
    /// approve, reject, correct, delete.
    pub verdict: String,
    /// The values to send, exactly as approved.
    pub values: Vec<(String, Option<String>)>,
    /// SHA-256 of the values, hex.
    pub values_hash: String,
    /// Who decided.
    pub who: String,
    /// When.
    pub at: String,
    /// current, stale or undone.
    pub state: String,
}

impl From<trueup::review::Decision> for Decision {
    fn from(d: trueup::review::Decision) -> Self {
        Decision {
            id: d.id,
            match_key: d.match_key,
            verdict: d.verdict,
            values: d.values,
            values_hash: d.values_hash,
            who: d.who,
            at: d.at,
            state: d.state,
        }
    }
}

/// The outcome of a bulk decision.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BulkOutcome {
    /// Proposals decided.
    #[ts(type = "number")]
    pub decided: u64,
    /// Proposals refused, with the reason (key, reason).
    pub refused: Vec<(String, String)>,
}

impl From<trueup::review::BulkOutcome> for BulkOutcome {
    fn from(b: trueup::review::BulkOutcome) -> Self {
        BulkOutcome {
            decided: b.decided,
            refused: b.refused,
        }
    }
}

/// What a pull did.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PullSummary {
    /// The entity pulled.
    pub entity: String,
    /// Records read.
    #[ts(type = "number")]
    pub records: u64,
    /// New since the last pull.
    #[ts(type = "number")]
    pub added: u64,
    /// Changed since the last pull.
    #[ts(type = "number")]
    pub changed: u64,
    /// Gone from the system.
    #[ts(type = "number")]
    pub removed: u64,
    /// Problems with single records.
    pub errors: Vec<String>,
}

impl From<trueup::pull::PullSummary> for PullSummary {
    fn from(p: trueup::pull::PullSummary) -> Self {
        PullSummary {
            entity: p.entity,
            records: p.records,
            added: p.added,
            changed: p.changed,
            removed: p.removed,
            errors: p.errors,
        }
    }
}

/// What pull + reconcile did.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileSummary {
    /// The reconciliation.
    pub reconciliation: String,
    /// The pulls made first (empty when reconciling from the cache only).
    pub pulls: Vec<PullSummary>,
    /// Left records considered.
    #[ts(type = "number")]
    pub left_records: u64,
    /// Right records considered.
    #[ts(type = "number")]
    pub right_records: u64,
    /// Count per kind.
    #[ts(type = "Record<string, number>")]
    pub counts: BTreeMap<String, u64>,
    /// Conflicts by reason code.
    #[ts(type = "Record<string, number>")]
    pub conflict_reasons: BTreeMap<String, u64>,
    /// Decisions that became stale.
    #[ts(type = "number")]
    pub stale_decisions: u64,
}

impl ReconcileSummary {
    /// From the core's summary and the pulls made before it.
    pub fn new(s: trueup::reconcile::ReconcileSummary, pulls: Vec<PullSummary>) -> Self {
        ReconcileSummary {
            reconciliation: s.reconciliation,
            pulls,
            left_records: s.left_records,
            right_records: s.right_records,
            counts: s.counts,
            conflict_reasons: s.conflict_reasons,
            stale_decisions: s.stale_decisions,
        }
    }
}

/// Progress of a long step, sent as the `job-progress` event.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProgressEvent {
    /// The current stage ("pull erp_customers", "reconcile customers").
    pub stage: String,
    /// Units in the stage, when known.
    #[ts(type = "number | null")]
    pub total: Option<u64>,
    /// Units done.
    #[ts(type = "number")]
    pub done: u64,
}

/// One row of run history.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// Run id.
    #[ts(type = "number")]
    pub id: i64,
    /// pull, reconcile, push, export.
    pub kind: String,
    /// The entity or reconciliation.
    pub subject: String,
    /// Start (RFC 3339).
    pub started_at: String,
    /// End, when finished.
    pub finished_at: Option<String>,
    /// running, ok, failed, cancelled.
    pub status: String,
    /// Counts by category.
    #[ts(type = "Record<string, number>")]
    pub counts: serde_json::Value,
    /// Records that failed.
    #[ts(type = "number")]
    pub failures: i64,
    /// The error, when it failed.
    pub message: Option<String>,
    /// Where it was started from.
    pub origin: String,
}

impl From<trueup::cache::Run> for Run {
    fn from(r: trueup::cache::Run) -> Self {
        Run {
            id: r.id,
            kind: r.kind,
            subject: r.subject,
            started_at: r.started_at,
            finished_at: r.finished_at,
            status: r.status,
            counts: r.counts,
            failures: r.failures,
            message: r.message,
            origin: r.origin,
        }
    }
}

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ExportKind {
    /// One row per proposal and field.
    Diff,
    /// Conflicts and validation failures.
    Exceptions,
    /// Every decision.
    Decisions,
}

impl ExportKind {
    /// The name used in file names.
    pub fn name(self) -> &'static str {
        match self {
            ExportKind::Diff => "diff",
            ExportKind::Exceptions => "exceptions",
            ExportKind::Decisions => "decisions",
        }
    }
}

/// Where an export was written.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ExportOutcome {
    /// The file chosen in the save dialog.
    pub path: String,
    /// Data rows written.
    #[ts(type = "number")]
    pub rows: u64,
}

impl From<ExportKind> for trueup::export::ExportKind {
    fn from(k: ExportKind) -> Self {
        use trueup::export::ExportKind as E;
        match k {
            ExportKind::Diff => E::Diff,
            ExportKind::Exceptions => E::Exceptions,
            ExportKind::Decisions => E::Decisions,
        }
    }
}
