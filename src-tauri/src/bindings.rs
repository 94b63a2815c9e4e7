//! The TypeScript declarations of [`crate::json`], generated with ts-rs into
//! one file, `ui/src/lib/bindings.ts`. The file is committed; the test
//! `bindings_are_current` fails when it drifts from the Rust types, and
//! `UPDATE_BINDINGS=1 cargo test -p trueup-desktop --test bindings` rewrites it.

use ts_rs::TS;

use crate::json::*;

/// Where the generated file lives, relative to this crate.
pub const BINDINGS_PATH: &str = "../ui/src/lib/bindings.ts";

/// The generated file's contents.
pub fn typescript() -> String {
    let decls = [
        ErrorCode::decl(),
        IpcError::decl(),
        ReconciliationInfo::decl(),
        WorkspaceInfo::decl(),
        Kind::decl(),
        FieldStatus::decl(),
        FieldDiff::decl(),
        Reason::decl(),
        ProposalRow::decl(),
        ProposalPage::decl(),
        Filter::decl(),
        Verdict::decl(),
        Decision::decl(),
        BulkOutcome::decl(),
        PullSummary::decl(),
        ReconcileSummary::decl(),
        ProgressEvent::decl(),
        Run::decl(),
        ExportKind::decl(),
        ExportOutcome::decl(),
        FieldChange::decl(),
        PlannedWrite::decl(),
        InvalidWrite::decl(),
        PushPlan::decl(),
        PushMode::decl(),
        PushEntry::decl(),
        PushReport::decl(),
        PushInfo::decl(),
        ResultsOutcome::decl(),
        UnmappedValue::decl(),
        SecretSource::decl(),
        HttpForm::decl(),
        AuthForm::decl(),
        SystemForm::decl(),
        SystemInfo::decl(),
        FieldProblem::decl(),
        SampleRecord::decl(),
        ConnectionInfo::decl(),
        KeychainStatus::decl(),
        RuleFailure::decl(),
        FieldSuggestion::decl(),
        TransformForm::decl(),
        ToleranceForm::decl(),
        RulesForm::decl(),
        FieldForm::decl(),
        ValueMapForm::decl(),
        ReconciliationForm::decl(),
        SampleRows::decl(),
        PreviewValue::decl(),
        FieldPreview::decl(),
        SetupCheck::decl(),
        MappingSuggestion::decl(),
    ];
    let mut out = String::from(
        "// Generated from src-tauri/src/json.rs by ts-rs. Do not edit by hand:\n\
         // UPDATE_BINDINGS=1 cargo test -p trueup-desktop --test bindings\n\n",
    );
    for d in decls {
        out.push_str("export ");
        out.push_str(d.trim());
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}
