//! The Trueup desktop shell: Tauri commands over the `trueup` core library.
//!
//! Commands are thin: parse, call the core, convert the result to the types
//! of [`json`] and the error to [`json::IpcError`]. Pull and reconcile run off
//! the UI thread and report `job-progress` events; `cancel_job` stops them.
#![deny(missing_docs)]

pub mod bindings;
mod commands;
pub mod json;
mod progress;
mod recent;

use std::path::PathBuf;

pub use commands::AppState;

/// What to open when the app starts.
#[derive(Debug, Clone)]
pub enum Startup {
    /// The start screen.
    None,
    /// The workspace in this folder.
    Open(PathBuf),
    /// The demo workspace in this folder, created unless it exists.
    Demo(PathBuf),
}

/// Starts the app, opening `startup` first.
pub fn run(startup: Startup) {
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(AppState::new(startup))
        .invoke_handler(tauri::generate_handler![
            commands::startup_workspace,
            commands::open_workspace,
            commands::create_workspace,
            commands::open_demo_workspace,
            commands::recent_workspaces,
            commands::reconcile,
            commands::cancel_job,
            commands::proposals,
            commands::proposals_after,
            commands::proposal_counts,
            commands::proposal,
            commands::decide,
            commands::decide_all,
            commands::undo_last_decision,
            commands::export_csv,
            commands::history,
            commands::push_plan,
            commands::push,
            commands::rollback,
            commands::pushes,
            commands::push_entries,
            commands::export_push_results,
            commands::unmapped_values,
            commands::map_value,
            commands::systems,
            commands::keychain_status,
            commands::test_system,
            commands::save_system,
            commands::system_problems,
            commands::rename_system,
            commands::delete_system,
            commands::entity_toml,
            commands::save_entity_toml,
            commands::delete_entity,
            commands::validate_values,
            commands::suggest_mapping,
            commands::save_reconciliation,
            commands::reconciliation_form,
            commands::check_reconciliation,
        ])
        .run(tauri::generate_context!())
        .expect("error while running the Trueup desktop app");
}
