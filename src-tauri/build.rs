//! Declares the app's commands (each gets an `allow-*` permission that the
//! window capability must grant) and makes sure the UI bundle exists.

const COMMANDS: &[&str] = &[
    "startup_workspace",
    "open_workspace",
    "create_workspace",
    "open_demo_workspace",
    "recent_workspaces",
    "reconcile",
    "cancel_job",
    "proposals",
    "proposals_after",
    "proposal_counts",
    "proposal",
    "decide",
    "decide_all",
    "undo_last_decision",
    "export_csv",
    "history",
    "push_plan",
    "push",
    "rollback",
    "pushes",
    "push_entries",
    "export_push_results",
    "unmapped_values",
    "map_value",
    "systems",
    "keychain_status",
    "test_system",
    "save_system",
    "system_problems",
    "rename_system",
    "delete_system",
    "entity_toml",
    "save_entity_toml",
    "delete_entity",
    "validate_values",
    "suggest_mapping",
    "save_reconciliation",
    "reconciliation_form",
    "check_reconciliation",
];

fn main() {
    // `cargo clippy` on a fresh clone must not need npm: embed a page that
    // says how to build the UI when `ui/dist` is missing.
    let dist = std::path::Path::new("../ui/dist");
    if !dist.join("index.html").exists() {
        std::fs::create_dir_all(dist).expect("create ui/dist");
        std::fs::write(
            dist.join("index.html"),
            "<!doctype html><title>Trueup</title><p>The UI is not built: run <code>npm --prefix ui ci && npm --prefix ui run build</code>, then rebuild.</p>",
        )
        .expect("write placeholder ui/dist/index.html");
    }
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build script");
}
