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
    /// A connected system does not allow this.
    Permission,
    /// A connected system refused a write: the record changed meanwhile.
    Conflict,
    /// A connected system answered something unreadable.
    Protocol,
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
            C::Permission => ErrorCode::Permission,
            C::Conflict => ErrorCode::Conflict,
            C::Protocol => ErrorCode::Protocol,
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
    /// The target fields, in mapping order.
    pub fields: Vec<String>,
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
    /// The entities, by name.
    pub entities: Vec<String>,
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
            entities: ws.config.entities.keys().cloned().collect(),
            reconciliations: ws
                .config
                .reconciliations
                .iter()
                .map(|(name, r)| ReconciliationInfo {
                    name: name.clone(),
                    left: r.left.clone(),
                    right: r.right.clone(),
                    fields: r.fields.iter().map(|f| f.target.clone()).collect(),
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

/// A field/value pair as the target sees it.
pub type FieldValue = (String, Option<String>);

fn show_record(record: &[(String, Option<String>)]) -> String {
    record
        .iter()
        .map(|(_, v)| v.as_deref().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// One field a write changes.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    /// The target field.
    pub field: String,
    /// The value pulled from the target.
    pub old: Option<String>,
    /// The value to send.
    pub new: Option<String>,
}

/// One write of a push plan.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PlannedWrite {
    /// The proposal's key as people read it.
    pub key: String,
    /// insert, update or delete.
    pub op: String,
    /// The target record's id (empty: assigned by the target).
    pub record: String,
    /// approve, correct or delete.
    pub verdict: String,
    /// The fields changed, old → new.
    pub fields: Vec<FieldChange>,
}

/// Match key → the key as written in the records.
pub type Labels = std::collections::HashMap<String, String>;

/// The key as people read it: as written when known, else normalised.
fn shown_key(labels: &Labels, match_key: &str) -> String {
    labels
        .get(match_key)
        .cloned()
        .unwrap_or_else(|| trueup::records::display_key(match_key))
}

impl PlannedWrite {
    /// From a planned change; `labels` give keys as written.
    pub fn new(c: trueup::push::PlannedChange, labels: &Labels) -> Self {
        PlannedWrite {
            key: shown_key(labels, &c.match_key),
            op: op_name(c.op).into(),
            record: show_record(&c.record),
            verdict: c.verdict,
            fields: c
                .fields
                .into_iter()
                .map(|f| FieldChange {
                    field: f.field,
                    old: f.old,
                    new: f.new,
                })
                .collect(),
        }
    }
}

fn op_name(op: trueup::connectors::WriteKind) -> &'static str {
    use trueup::connectors::WriteKind as W;
    match op {
        W::Insert => "insert",
        W::Update => "update",
        W::Delete => "delete",
    }
}

/// An approved change that fails validation now: not sent.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct InvalidWrite {
    /// The proposal's key as people read it.
    pub key: String,
    /// The rules it breaks.
    pub reasons: Vec<String>,
}

/// The dry run of a push: nothing is sent.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PushPlan {
    /// The reconciliation.
    pub reconciliation: String,
    /// `system/entity` written to.
    pub target: String,
    /// Inserts and updates, in order.
    pub writes: Vec<PlannedWrite>,
    /// Deletes (approved one by one), apart.
    pub deletes: Vec<PlannedWrite>,
    /// Approved changes failing validation now.
    pub invalid: Vec<InvalidWrite>,
    /// Changes per kind (insert, update, delete, invalid).
    #[ts(type = "Record<string, number>")]
    pub counts: BTreeMap<String, u64>,
    /// Decisions already journaled by an earlier push (skipped).
    #[ts(type = "number")]
    pub already_journaled: u64,
}

impl PushPlan {
    /// From the core's plan; `labels` give keys as written.
    pub fn new(p: trueup::push::Plan, labels: &Labels) -> Self {
        PushPlan {
            reconciliation: p.recon,
            target: p.target.label(),
            writes: p
                .writes
                .into_iter()
                .map(|c| PlannedWrite::new(c, labels))
                .collect(),
            deletes: p
                .deletes
                .into_iter()
                .map(|c| PlannedWrite::new(c, labels))
                .collect(),
            invalid: p
                .invalid
                .into_iter()
                .map(|i| InvalidWrite {
                    key: shown_key(labels, &i.match_key),
                    reasons: i.reasons,
                })
                .collect(),
            counts: p.counts,
            already_journaled: p.already_journaled,
        }
    }
}

/// What to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PushMode {
    /// The plan of the current decisions.
    New,
    /// Only finish entries a stopped push left open.
    Resume,
    /// Only the entries that failed.
    RetryFailed,
}

impl From<PushMode> for trueup::push::PushMode {
    fn from(m: PushMode) -> Self {
        use trueup::push::PushMode as M;
        match m {
            PushMode::New => M::New,
            PushMode::Resume => M::Resume,
            PushMode::RetryFailed => M::RetryFailed,
        }
    }
}

/// One journaled change and its outcome.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PushEntry {
    /// Journal entry id.
    #[ts(type = "number")]
    pub id: i64,
    /// The push it belongs to.
    #[ts(type = "number")]
    pub push_id: i64,
    /// The proposal's key as people read it.
    pub key: String,
    /// insert, update or delete.
    pub op: String,
    /// The target record (its id, or the key before the target assigned one).
    pub record: String,
    /// pending, sending, applied, rejected, conflict, unknown.
    pub state: String,
    /// For failures: validation, auth, not_found, conflict, rate_limit, transient, network, system.
    pub category: Option<String>,
    /// The target's own message.
    pub message: Option<String>,
    /// The values sent.
    pub values: Vec<FieldValue>,
    /// The values pulled before the push.
    pub before: Vec<FieldValue>,
    /// For conflicts: what the target holds now.
    pub current: Option<Vec<FieldValue>>,
    /// Attempts made.
    #[ts(type = "number")]
    pub attempts: i64,
    /// For a rollback entry: the entry it undoes.
    #[ts(type = "number | null")]
    pub rollback_of: Option<i64>,
    /// Last change of state.
    pub updated_at: String,
}

impl PushEntry {
    /// From a journal entry; `labels` give keys as written.
    pub fn new(e: trueup::push::Entry, labels: &Labels) -> Self {
        PushEntry {
            record: e.display_record(),
            id: e.id,
            push_id: e.push_id,
            key: shown_key(labels, &e.match_key),
            op: op_name(e.op).into(),
            state: e.state.as_str().into(),
            category: e.category.map(|c| c.as_str().to_string()),
            message: e.message,
            values: e.values,
            before: e.before,
            current: e.current,
            attempts: e.attempts,
            rollback_of: e.rollback_of,
            updated_at: e.updated_at,
        }
    }
}

/// What a push (or rollback) did.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PushReport {
    /// The reconciliation.
    pub reconciliation: String,
    /// `system/entity` written to.
    pub target: String,
    /// The new push, when one was journaled.
    #[ts(type = "number | null")]
    pub push_id: Option<i64>,
    /// Entries an earlier push had left open, finished now.
    #[ts(type = "number")]
    pub resumed: u64,
    /// Outcomes per state.
    #[ts(type = "Record<string, number>")]
    pub outcomes: BTreeMap<String, u64>,
    /// Every entry handled, with its outcome.
    pub entries: Vec<PushEntry>,
    /// Why the push stopped before the end.
    pub stopped: Option<String>,
}

impl PushReport {
    /// From the core's report; `labels` give keys as written.
    pub fn new(r: trueup::push::PushReport, labels: &Labels) -> Self {
        PushReport {
            reconciliation: r.recon,
            target: r.target,
            push_id: r.push_id,
            resumed: r.resumed,
            outcomes: r.outcomes,
            entries: r
                .entries
                .into_iter()
                .map(|e| PushEntry::new(e, labels))
                .collect(),
            stopped: r.stopped,
        }
    }
}

/// A push or rollback, as the push screen lists it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PushInfo {
    /// Push id.
    #[ts(type = "number")]
    pub id: i64,
    /// push or rollback.
    pub kind: String,
    /// For a rollback: the push it rolls back.
    #[ts(type = "number | null")]
    pub rollback_of: Option<i64>,
    /// `system/entity` written to.
    pub target: String,
    /// Start time.
    pub started_at: String,
    /// End time, once finished.
    pub finished_at: Option<String>,
    /// Who pushed.
    pub who: String,
    /// Entries per state.
    #[ts(type = "Record<string, number>")]
    pub states: BTreeMap<String, u64>,
}

impl PushInfo {
    /// From the core's header and the push's entries.
    pub fn new(p: trueup::push::PushRow, entries: &[trueup::push::Entry]) -> Self {
        PushInfo {
            id: p.id,
            kind: p.kind,
            rollback_of: p.rollback_of,
            target: p.target,
            started_at: p.started_at,
            finished_at: p.finished_at,
            who: p.who,
            states: trueup::push::count_states(entries),
        }
    }
}

/// Where push results were written.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ResultsOutcome {
    /// The folder chosen.
    pub dir: String,
    /// Rows in `success.csv`.
    #[ts(type = "number")]
    pub success: u64,
    /// Rows in `errors.csv`.
    #[ts(type = "number")]
    pub errors: u64,
}

/// A source value missing from a value map.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UnmappedValue {
    /// The target field.
    pub field: String,
    /// The value map the field uses.
    pub map: Option<String>,
    /// The source value.
    pub value: String,
    /// Proposals held up by it.
    #[ts(type = "number")]
    pub count: u64,
}

impl From<trueup::reconcile::UnmappedValue> for UnmappedValue {
    fn from(u: trueup::reconcile::UnmappedValue) -> Self {
        UnmappedValue {
            field: u.field,
            map: u.map,
            value: u.value,
            count: u.count,
        }
    }
}

/// Where a system's password comes from (never the password itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum SecretSource {
    /// An environment variable.
    Env {
        /// Its name.
        var: String,
    },
    /// The OS keychain (service `trueup`).
    Keychain {
        /// The account name.
        account: String,
    },
}

impl SecretSource {
    /// From the configuration's reference (a typed secret is never there).
    fn of(r: &trueup::config::SecretRef) -> Option<Self> {
        use trueup::config::SecretRef;
        match r {
            SecretRef::Env(var) => Some(SecretSource::Env { var: var.clone() }),
            SecretRef::Keychain(account) if account.is_empty() => None,
            SecretRef::Keychain(account) => Some(SecretSource::Keychain {
                account: account.clone(),
            }),
            SecretRef::Typed(_) => None,
        }
    }
}

/// The configuration's reference; none chosen yet is an empty keychain
/// reference, which the core fills with the typed secret's entry (or
/// refuses, naming the field).
fn secret_ref(s: Option<SecretSource>) -> trueup::config::SecretRef {
    use trueup::config::SecretRef;
    match s {
        Some(SecretSource::Env { var }) => SecretRef::Env(var),
        Some(SecretSource::Keychain { account }) => SecretRef::Keychain(account),
        None => SecretRef::Keychain(String::new()),
    }
}

/// Text left empty in the form is a setting not given.
fn given(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// An HTTP system's timeouts, retries and rate limit (`http = { ... }`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct HttpForm {
    /// Seconds to wait for a connection.
    #[ts(type = "number")]
    pub connect_timeout_secs: u64,
    /// Seconds one request may take.
    #[ts(type = "number")]
    pub timeout_secs: u64,
    /// Retries of a failed read or a write safe to repeat.
    #[ts(type = "number")]
    pub max_retries: u64,
    /// Cap of the first retry delay, in milliseconds.
    #[ts(type = "number")]
    pub retry_min_delay_ms: u64,
    /// Cap of every retry delay, in milliseconds.
    #[ts(type = "number")]
    pub retry_max_delay_ms: u64,
    /// The longest `Retry-After` honoured, in seconds.
    #[ts(type = "number")]
    pub max_retry_after_secs: u64,
    /// Requests allowed per period; none: no limit.
    pub rate_limit: Option<u32>,
    /// The rate limit's period, in seconds.
    #[ts(type = "number")]
    pub rate_limit_period_secs: u64,
    /// Requests that may go at once after a quiet spell.
    pub rate_limit_burst: Option<u32>,
    /// The most pages one listing may have.
    #[ts(type = "number")]
    pub max_pages: u64,
}

impl From<&trueup::connectors::http::HttpOptions> for HttpForm {
    fn from(h: &trueup::connectors::http::HttpOptions) -> Self {
        HttpForm {
            connect_timeout_secs: h.connect_timeout_secs,
            timeout_secs: h.timeout_secs,
            max_retries: h.max_retries as u64,
            retry_min_delay_ms: h.retry_min_delay_ms,
            retry_max_delay_ms: h.retry_max_delay_ms,
            max_retry_after_secs: h.max_retry_after_secs,
            rate_limit: h.rate_limit,
            rate_limit_period_secs: h.rate_limit_period_secs,
            rate_limit_burst: h.rate_limit_burst,
            max_pages: h.max_pages,
        }
    }
}

impl From<HttpForm> for trueup::connectors::http::HttpOptions {
    fn from(h: HttpForm) -> Self {
        trueup::connectors::http::HttpOptions {
            connect_timeout_secs: h.connect_timeout_secs,
            timeout_secs: h.timeout_secs,
            max_retries: h.max_retries as usize,
            retry_min_delay_ms: h.retry_min_delay_ms,
            retry_max_delay_ms: h.retry_max_delay_ms,
            max_retry_after_secs: h.max_retry_after_secs,
            rate_limit: h.rate_limit,
            rate_limit_period_secs: h.rate_limit_period_secs,
            rate_limit_burst: h.rate_limit_burst,
            max_pages: h.max_pages,
        }
    }
}

/// The HTTP options of a preset: none written when they are the defaults.
fn preset_http(h: HttpForm) -> Option<trueup::connectors::http::HttpOptions> {
    let h: trueup::connectors::http::HttpOptions = h.into();
    (!h.is_default()).then_some(h)
}

/// How a REST system authenticates (`auth = { type = ..., ... }`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuthForm {
    /// No authentication.
    None,
    /// HTTP basic authentication.
    Basic {
        /// The user name.
        user: String,
        /// Where the password comes from (none yet: typed for the keychain).
        password: Option<SecretSource>,
    },
    /// A bearer token.
    Bearer {
        /// Where the token comes from.
        token: Option<SecretSource>,
    },
    /// An API key in a header or a query parameter.
    ApiKey {
        /// The header carrying it.
        header: Option<String>,
        /// The query parameter carrying it.
        query: Option<String>,
        /// Text before the key in the header.
        prefix: Option<String>,
        /// Where the key comes from.
        key: Option<SecretSource>,
    },
    /// OAuth2 client credentials.
    Oauth2 {
        /// The token endpoint.
        token_url: String,
        /// The client id.
        client_id: String,
        /// Where the client secret comes from.
        client_secret: Option<SecretSource>,
        /// The scope(s), space-separated.
        scope: Option<String>,
    },
    /// A login request answering a session token (or cookie).
    Session {
        /// The login endpoint.
        login: String,
        /// The user name.
        user: String,
        /// Where the password comes from.
        password: Option<SecretSource>,
        /// The login body template.
        body: Option<String>,
        /// Where the token is in the answer.
        token: Option<String>,
        /// The header the token goes in.
        header: Option<String>,
        /// Text before the token.
        prefix: Option<String>,
        /// How a 2xx answer says the session expired (`PATH=VALUE`).
        #[serde(default)]
        #[ts(optional = nullable)]
        expired: Option<String>,
    },
}

impl From<&trueup::connectors::http::AuthConfig> for AuthForm {
    fn from(a: &trueup::connectors::http::AuthConfig) -> Self {
        use trueup::connectors::http::AuthConfig as A;
        match a {
            A::None => AuthForm::None,
            A::Basic { user, password } => AuthForm::Basic {
                user: user.clone(),
                password: SecretSource::of(password),
            },
            A::Bearer { token } => AuthForm::Bearer {
                token: SecretSource::of(token),
            },
            A::ApiKey {
                header,
                query,
                prefix,
                key,
            } => AuthForm::ApiKey {
                header: header.clone(),
                query: query.clone(),
                prefix: prefix.clone(),
                key: SecretSource::of(key),
            },
            A::Oauth2 {
                token_url,
                client_id,
                client_secret,
                scope,
            } => AuthForm::Oauth2 {
                token_url: token_url.clone(),
                client_id: client_id.clone(),
                client_secret: SecretSource::of(client_secret),
                scope: scope.clone(),
            },
            A::Session {
                login,
                user,
                password,
                body,
                token,
                header,
                prefix,
                expired,
            } => AuthForm::Session {
                login: login.clone(),
                user: user.clone(),
                password: SecretSource::of(password),
                body: body.clone(),
                token: token.clone(),
                header: header.clone(),
                prefix: prefix.clone(),
                expired: expired.clone(),
            },
        }
    }
}

impl From<AuthForm> for trueup::connectors::http::AuthConfig {
    fn from(a: AuthForm) -> Self {
        use trueup::connectors::http::AuthConfig as A;
        match a {
            AuthForm::None => A::None,
            AuthForm::Basic { user, password } => A::Basic {
                user,
                password: secret_ref(password),
            },
            AuthForm::Bearer { token } => A::Bearer {
                token: secret_ref(token),
            },
            AuthForm::ApiKey {
                header,
                query,
                prefix,
                key,
            } => A::ApiKey {
                header: given(header),
                query: given(query),
                prefix: prefix.filter(|p| !p.is_empty()),
                key: secret_ref(key),
            },
            AuthForm::Oauth2 {
                token_url,
                client_id,
                client_secret,
                scope,
            } => A::Oauth2 {
                token_url,
                client_id,
                client_secret: secret_ref(client_secret),
                scope: given(scope),
            },
            AuthForm::Session {
                login,
                user,
                password,
                body,
                token,
                header,
                prefix,
                expired,
            } => A::Session {
                login,
                user,
                password: secret_ref(password),
                body: given(body),
                token: given(token),
                header: given(header),
                prefix,
                expired: given(expired),
            },
        }
    }
}

/// A system's settings as the Systems screen edits them. Field names are
/// those of `trueup.toml`, so that a [`FieldProblem`]'s field names the
/// input (`base_url`, `auth.user`, `http.timeout_secs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SystemForm {
    /// A CSV file or folder.
    Csv {
        /// Relative to the workspace, or absolute.
        path: String,
        /// `auto` when empty.
        encoding: Option<String>,
        /// `auto` when empty.
        delimiter: Option<String>,
    },
    /// An Excel workbook (read only).
    Xlsx {
        /// Relative to the workspace, or absolute.
        path: String,
    },
    /// A SQLite database file.
    Sqlite {
        /// Relative to the workspace, or absolute.
        path: String,
    },
    /// A PostgreSQL server.
    Postgres {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
        /// User name.
        user: String,
        /// Database name.
        database: String,
        /// Where the password comes from.
        password: Option<SecretSource>,
    },
    /// A Tryton ERP database over JSON-RPC.
    Tryton {
        /// The server's base URL (without the database).
        url: String,
        /// The database name.
        database: String,
        /// The login.
        user: String,
        /// Where the password comes from (none yet: typed for the keychain).
        password: Option<SecretSource>,
        /// Records per page (default 1000).
        page_size: Option<u32>,
        /// Timeouts, retries, rate limit.
        http: HttpForm,
    },
    /// A JSON API described in `trueup.toml` (its entities as TOML).
    Rest {
        /// The API's root.
        base_url: String,
        /// How requests authenticate.
        auth: AuthForm,
        /// Timeouts, retries, rate limit.
        http: HttpForm,
        /// A path read to check the connection.
        check: Option<String>,
        /// Where a 2xx answer lists errors (GraphQL: `errors`).
        errors_at: Option<String>,
    },
    /// HubSpot CRM (a preset).
    Hubspot {
        /// Where the private app's access token comes from.
        token: Option<SecretSource>,
        /// The API root (default HubSpot's).
        base_url: Option<String>,
        /// Timeouts, retries, rate limit (default 100 requests per 10 s).
        http: HttpForm,
    },
    /// A Vendure shop's Admin API (a preset).
    Vendure {
        /// The server's root.
        base_url: String,
        /// The administrator's identifier.
        user: String,
        /// Where the password comes from.
        password: Option<SecretSource>,
        /// Timeouts, retries, rate limit.
        http: HttpForm,
    },
}

impl SystemForm {
    /// The form of a system's settings.
    pub fn of(s: &trueup::config::SystemConfig) -> Self {
        use trueup::config::SystemConfig as S;
        use trueup::connectors::http::HttpOptions;
        let path = |p: &std::path::Path| p.display().to_string();
        let http =
            |h: &Option<HttpOptions>| HttpForm::from(h.as_ref().unwrap_or(&HttpOptions::default()));
        match s {
            S::Csv {
                path: p,
                encoding,
                delimiter,
            } => SystemForm::Csv {
                path: path(p),
                encoding: encoding.clone(),
                delimiter: delimiter.clone(),
            },
            S::Xlsx { path: p } => SystemForm::Xlsx { path: path(p) },
            S::Sqlite { path: p } => SystemForm::Sqlite { path: path(p) },
            S::Postgres {
                host,
                port,
                user,
                database,
                password,
            } => SystemForm::Postgres {
                host: host.clone(),
                port: *port,
                user: user.clone(),
                database: database.clone(),
                password: password.as_ref().and_then(SecretSource::of),
            },
            S::Tryton {
                url,
                database,
                user,
                password,
                page_size,
                http: h,
            } => SystemForm::Tryton {
                url: url.clone(),
                database: database.clone(),
                user: user.clone(),
                password: SecretSource::of(password),
                page_size: page_size.map(|p| p as u32),
                http: h.into(),
            },
            S::Rest(r) => SystemForm::Rest {
                base_url: r.base_url.clone(),
                auth: (&r.auth).into(),
                http: (&r.http).into(),
                check: r.check.clone(),
                errors_at: r.errors_at.clone(),
            },
            S::Hubspot(h) => SystemForm::Hubspot {
                token: SecretSource::of(&h.token),
                base_url: h.base_url.clone(),
                http: http(&h.http),
            },
            S::Vendure(v) => SystemForm::Vendure {
                base_url: v.base_url.clone(),
                user: v.user.clone(),
                password: SecretSource::of(&v.password),
                http: http(&v.http),
            },
        }
    }
}

impl From<SystemForm> for trueup::config::SystemConfig {
    fn from(f: SystemForm) -> Self {
        use trueup::config::SystemConfig as S;
        use trueup::connectors::presets::{HubspotSystemConfig, VendureSystemConfig};
        let opt = |s: Option<String>| s.filter(|s| !s.trim().is_empty() && s != "auto");
        match f {
            SystemForm::Csv {
                path,
                encoding,
                delimiter,
            } => S::Csv {
                path: path.into(),
                encoding: opt(encoding),
                delimiter: opt(delimiter),
            },
            SystemForm::Xlsx { path } => S::Xlsx { path: path.into() },
            SystemForm::Sqlite { path } => S::Sqlite { path: path.into() },
            SystemForm::Postgres {
                host,
                port,
                user,
                database,
                password,
            } => S::Postgres {
                host,
                port,
                user,
                database,
                password: password.map(|p| secret_ref(Some(p))),
            },
            SystemForm::Tryton {
                url,
                database,
                user,
                password,
                page_size,
                http,
            } => S::Tryton {
                url,
                database,
                user,
                password: secret_ref(password),
                page_size: page_size.map(|p| p as usize),
                http: http.into(),
            },
            SystemForm::Rest {
                base_url,
                auth,
                http,
                check,
                errors_at,
            } => S::Rest(trueup::connectors::rest::RestSystemConfig {
                base_url,
                auth: auth.into(),
                http: http.into(),
                check: given(check),
                errors_at: given(errors_at),
            }),
            SystemForm::Hubspot {
                token,
                base_url,
                http,
            } => S::Hubspot(HubspotSystemConfig {
                token: secret_ref(token),
                base_url: given(base_url),
                http: preset_http(http),
            }),
            SystemForm::Vendure {
                base_url,
                user,
                password,
                http,
            } => S::Vendure(VendureSystemConfig {
                base_url,
                user,
                password: secret_ref(password),
                http: preset_http(http),
            }),
        }
    }
}

/// A system as the Systems screen lists it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SystemInfo {
    /// Its name in the workspace.
    pub name: String,
    /// Its kind as written in `trueup.toml` (`csv`, `postgres`, `tryton`, `rest`, ...).
    pub kind: String,
    /// Its settings.
    pub form: SystemForm,
    /// The entities configured on it.
    pub entities: Vec<String>,
}

/// A setting that is not acceptable, found as it is typed.
#[derive(Debug, Clone, Serialize, TS)]
pub struct FieldProblem {
    /// The field as in `trueup.toml` (`name`, `base_url`, `auth.user`, ...).
    pub field: String,
    /// What is wrong, for people.
    pub message: String,
}

impl From<trueup::config::FieldProblem> for FieldProblem {
    fn from(p: trueup::config::FieldProblem) -> Self {
        FieldProblem {
            field: p.field,
            message: p.message,
        }
    }
}

/// One record read by a connection test.
#[derive(Debug, Clone, Serialize, TS)]
pub struct SampleRecord {
    /// The entity it was read from.
    pub entity: String,
    /// Field and value (null: no value), in the entity's order.
    pub fields: Vec<(String, Option<String>)>,
}

/// What a connection test reached.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionInfo {
    /// File format or server version.
    pub description: String,
    /// Tables or sheets offered.
    pub entities: Vec<String>,
    /// One record of the system's first entity with records.
    pub sample: Option<SampleRecord>,
}

impl From<trueup::workspace::SystemCheck> for ConnectionInfo {
    fn from(c: trueup::workspace::SystemCheck) -> Self {
        ConnectionInfo {
            description: c.info.description,
            entities: c.info.entities,
            sample: c.sample.map(|s| SampleRecord {
                entity: s.entity,
                fields: s.fields,
            }),
        }
    }
}

/// Whether the OS keychain can hold passwords.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct KeychainStatus {
    /// True when passwords can be stored there.
    pub available: bool,
    /// Why not, and what to do instead.
    pub message: Option<String>,
}

/// A validation rule a value breaks.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RuleFailure {
    /// The target field.
    pub field: String,
    /// required, regex, enum, min, max, max_length.
    pub rule: String,
    /// A sentence for people.
    pub message: String,
}

impl From<trueup::reconcile::validation::RuleFailure> for RuleFailure {
    fn from(f: trueup::reconcile::validation::RuleFailure) -> Self {
        RuleFailure {
            field: f.field,
            rule: f.rule,
            message: f.message,
        }
    }
}

/// A suggested field of a new reconciliation.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FieldSuggestion {
    /// The right (target) field.
    pub target: String,
    /// The best left field, if any looks like it.
    pub source: Option<String>,
    /// How sure (0..1).
    pub score: f64,
    /// Transforms that make the left values look like the right ones (as in `trueup.toml`).
    #[ts(type = "unknown[]")]
    pub transforms: serde_json::Value,
    /// Left sample values.
    pub left_samples: Vec<String>,
    /// Right sample values.
    pub right_samples: Vec<String>,
}

/// What the setup screen shows for a pair of entities.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MappingSuggestion {
    /// One suggestion per right field.
    pub fields: Vec<FieldSuggestion>,
    /// Every left field, to choose a source from.
    pub left_fields: Vec<String>,
    /// The left records read (the first 200), to preview mappings on.
    pub sample: SampleRows,
}

impl MappingSuggestion {
    /// From the core's suggestions and the left records.
    pub fn new(s: trueup::workspace::MappingSample) -> Self {
        MappingSuggestion {
            fields: s
                .suggestions
                .into_iter()
                .map(|f| FieldSuggestion {
                    transforms: serde_json::to_value(&f.transforms).unwrap_or_default(),
                    target: f.target,
                    source: f.source,
                    score: f.score,
                    left_samples: f.left_samples.into_iter().take(5).collect(),
                    right_samples: f.right_samples.into_iter().take(5).collect(),
                })
                .collect(),
            left_fields: s.left.fields.clone(),
            sample: SampleRows {
                fields: s.left.fields,
                rows: s.left.rows,
            },
        }
    }
}

/// A transform of a field's value, as in `trueup.toml` (`"trim"`,
/// `{ date = { from = ["%d.%m.%Y"] } }`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TransformForm {
    /// Remove leading and trailing white space.
    Trim,
    /// Upper case.
    Upper,
    /// Lower case.
    Lower,
    /// Capitalise each word.
    Title,
    /// Runs of white space become one space.
    CollapseSpaces,
    /// Normalise an e-mail address.
    Email,
    /// Normalise a phone number to `+CC...`.
    Phone,
    /// Keep only digits.
    Digits,
    /// Parse a date with one of `from` and write it with `to`.
    Date {
        /// Input formats (strftime), tried in order.
        from: Vec<String>,
        /// Output format (default `%Y-%m-%d`).
        #[serde(default)]
        to: Option<String>,
    },
    /// Parse a number written with these separators.
    Number {
        /// Decimal separator (default `.`).
        #[serde(default)]
        decimal: Option<String>,
        /// Thousands separator (default none).
        #[serde(default)]
        thousands: Option<String>,
        /// Decimals written.
        #[serde(default)]
        scale: Option<u32>,
    },
    /// One part of the value split by `separator`.
    Split {
        /// The separator.
        separator: String,
        /// Which part (0-based; negative counts from the end).
        #[ts(type = "number")]
        index: i64,
    },
    /// Text added before and after.
    Affix {
        /// Before.
        #[serde(default)]
        prefix: Option<String>,
        /// After.
        #[serde(default)]
        suffix: Option<String>,
    },
}

/// How two values of a field are compared (`compare` in `trueup.toml`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct ToleranceForm {
    /// Ignore letter case.
    pub ignore_case: bool,
    /// Ignore surrounding and repeated white space.
    pub ignore_whitespace: bool,
    /// Numbers within this difference are equal.
    pub numeric: Option<f64>,
    /// Dates in these formats are equal when the same instant.
    pub date_formats: Vec<String>,
    /// Never report differences.
    pub ignore: bool,
}

/// Validation rules of a field (`validate` in `trueup.toml`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct RulesForm {
    /// The value must not be empty.
    pub required: bool,
    /// The whole value must match this regular expression.
    pub regex: Option<String>,
    /// The value must be one of these.
    #[serde(rename = "enum")]
    pub one_of: Vec<String>,
    /// A number at least this.
    pub min: Option<f64>,
    /// A number at most this.
    pub max: Option<f64>,
    /// At most this many characters.
    pub max_length: Option<u32>,
    /// No two target records share the value.
    pub unique: bool,
}

/// One field of a reconciliation, as the Setup screen edits it. Field names
/// are those of `trueup.toml`, so that a [`FieldProblem`] names the input.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct FieldForm {
    /// The right (target) field.
    pub target: String,
    /// The left field it comes from.
    pub source: Option<String>,
    /// Several left fields joined with `separator`.
    pub sources: Vec<String>,
    /// Separator for `sources` (default one space).
    pub separator: Option<String>,
    /// Transforms, in order.
    pub transforms: Vec<TransformForm>,
    /// The value map applied after the transforms.
    pub value_map: Option<String>,
    /// The value when the source is empty.
    pub default: Option<String>,
    /// `left`, `right`, `newest` or `manual`.
    #[serde(default = "left_owner")]
    pub ownership: String,
    /// Tolerances.
    pub compare: ToleranceForm,
    /// Validation rules.
    pub validate: RulesForm,
}

/// The default owner of a field, `left` (not written to `trueup.toml`).
fn left_owner() -> String {
    "left".into()
}

/// A value map (code table): a CSV file with columns `source,target`, or inline entries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct ValueMapForm {
    /// The CSV file (relative to the workspace, or absolute).
    pub file: Option<String>,
    /// Inline entries: source value to target value.
    pub entries: BTreeMap<String, String>,
    /// Compare source codes ignoring case and surrounding spaces.
    pub ignore_case: bool,
}

/// A reconciliation as the Setup screen edits it (`[reconciliations.NAME]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct ReconciliationForm {
    /// The left (source) entity.
    pub left: String,
    /// The right (target) entity.
    pub right: String,
    /// The target fields that match records.
    pub key: Vec<String>,
    /// The mapped fields.
    pub fields: Vec<FieldForm>,
    /// Value maps by name.
    pub value_maps: BTreeMap<String, ValueMapForm>,
    /// Country calling code for the `phone` transform.
    pub default_country_code: Option<String>,
}

impl ReconciliationForm {
    /// The form of a configured reconciliation.
    pub fn of(r: &trueup::config::ReconciliationConfig) -> Result<Self, IpcError> {
        serde_json::to_value(r)
            .and_then(serde_json::from_value)
            .map_err(|e| IpcError::new(ErrorCode::Config, e.to_string()))
    }
}

impl TryFrom<ReconciliationForm> for trueup::config::ReconciliationConfig {
    type Error = IpcError;
    /// The forms mirror the configuration's serde shape; the one conversion
    /// is through JSON, so a field added to the configuration fails here
    /// loudly until the form has it (`deny_unknown_fields`).
    fn try_from(form: ReconciliationForm) -> Result<Self, IpcError> {
        let mut value = serde_json::to_value(&form)
            .map_err(|e| IpcError::new(ErrorCode::Validation, e.to_string()))?;
        if let Some(fields) = value.get_mut("fields").and_then(|f| f.as_array_mut()) {
            for f in fields {
                // An empty choice is no choice.
                if f.get("ownership").and_then(|o| o.as_str()) == Some("") {
                    f["ownership"] = "left".into();
                }
            }
        }
        serde_json::from_value(value)
            .map_err(|e| IpcError::new(ErrorCode::Validation, e.to_string()))
    }
}

/// Records of the left entity, to preview a mapping on.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct SampleRows {
    /// The entity's fields.
    pub fields: Vec<String>,
    /// Values in field order (null: no value).
    pub rows: Vec<Vec<Option<String>>>,
}

/// One sample record through a field's mapping.
#[derive(Debug, Clone, Serialize, TS)]
pub struct PreviewValue {
    /// The source value(s) as read.
    pub input: Option<String>,
    /// The value computed for the target.
    pub output: Option<String>,
    /// Why no value could be computed (the record would be a conflict).
    pub issue: Option<String>,
    /// Validation rules the computed value breaks.
    pub rules: Vec<String>,
}

/// The preview of one field's mapping.
#[derive(Debug, Clone, Serialize, TS)]
pub struct FieldPreview {
    /// The target field.
    pub target: String,
    /// Sample records through the mapping.
    pub values: Vec<PreviewValue>,
    /// Why the mapping cannot be applied at all.
    pub error: Option<String>,
}

impl From<trueup::workspace::FieldPreview> for FieldPreview {
    fn from(p: trueup::workspace::FieldPreview) -> Self {
        FieldPreview {
            target: p.target,
            values: p
                .values
                .into_iter()
                .map(|v| PreviewValue {
                    input: v.input,
                    output: v.output,
                    issue: v.issue,
                    rules: v.rules,
                })
                .collect(),
            error: p.error,
        }
    }
}

/// What the Setup screen shows of a reconciliation being edited.
#[derive(Debug, Clone, Serialize, TS)]
pub struct SetupCheck {
    /// Problems, each with the setting it concerns (`key`,
    /// `fields[TARGET].validate.regex`, `value_maps[MAP].file`; empty: the whole).
    pub problems: Vec<FieldProblem>,
    /// Every field's mapping on the sample records.
    pub previews: Vec<FieldPreview>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every setting of the demo's reconciliations goes to the Setup form and
    /// back unchanged (the forms mirror `trueup.toml`'s shape), and a setting
    /// changed in the form arrives in the configuration.
    #[test]
    fn reconciliation_forms_round_trip_the_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let ws = trueup::Workspace::init_demo(dir.path()).unwrap();
        for (name, r) in &ws.config.reconciliations {
            let form = ReconciliationForm::of(r).unwrap();
            let back: trueup::config::ReconciliationConfig = form.clone().try_into().unwrap();
            assert_eq!(&back, r, "{name} round trips");
        }
        let mut form = ReconciliationForm::of(ws.reconciliation("customers").unwrap()).unwrap();
        assert_eq!(
            form.fields[0].ownership, "left",
            "the default owner is named"
        );
        form.fields[0].transforms.push(TransformForm::Split {
            separator: "-".into(),
            index: -1,
        });
        form.fields[0].validate.max_length = Some(12);
        form.fields[0].compare.numeric = Some(0.5);
        let back: trueup::config::ReconciliationConfig = form.try_into().unwrap();
        assert_eq!(
            back.fields[0].transforms.last(),
            Some(&trueup::config::Transform::Split {
                separator: "-".into(),
                index: -1
            })
        );
        assert_eq!(back.fields[0].validate.max_length, Some(12));
        assert_eq!(back.fields[0].compare.numeric, Some(0.5));
    }
}
