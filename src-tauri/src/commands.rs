//! The Tauri commands: parse, call the core, convert. No business logic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tauri::{AppHandle, Manager, State};
use tauri_plugin_dialog::DialogExt;
use trueup::Workspace;
use trueup::progress::Actor;

use crate::Startup;
use crate::json::{
    BulkOutcome, Decision, ErrorCode, ExportKind, ExportOutcome, Filter, IpcError, ProposalPage,
    ProposalRow, PullSummary, PushEntry, PushInfo, PushMode, PushPlan, PushReport,
    ReconcileSummary, ResultsOutcome, Run, UnmappedValue, Verdict, WorkspaceInfo,
};
use crate::json::{
    ConnectionInfo, FieldProblem, KeychainStatus, MappingSuggestion, ReconciliationForm,
    RuleFailure, SampleRows, SetupCheck, SystemForm, SystemInfo,
};
use crate::progress::EventProgress;

type Result<T> = std::result::Result<T, IpcError>;

/// The shell's state: the open workspace and the running long step.
pub struct AppState {
    workspace: Mutex<Option<Workspace>>,
    job: Mutex<Option<Arc<AtomicBool>>>,
    startup: Startup,
}

impl AppState {
    /// No workspace open yet; `startup` is opened by `startup_workspace`.
    pub fn new(startup: Startup) -> Self {
        AppState {
            workspace: Mutex::new(None),
            job: Mutex::new(None),
            startup,
        }
    }

    /// The open workspace, unless a long step holds it. Short commands
    /// wait for each other; they never wait for a pull or reconcile.
    fn workspace(&self) -> Result<MutexGuard<'_, Option<Workspace>>> {
        if self.job.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
            return Err(IpcError::new(
                ErrorCode::Busy,
                "a pull, reconcile or push is running; wait for it or cancel it",
            ));
        }
        Ok(self.workspace.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn with<T>(&self, f: impl FnOnce(&mut Workspace) -> trueup::Result<T>) -> Result<T> {
        let mut guard = self.workspace()?;
        let ws = guard.as_mut().ok_or_else(no_workspace)?;
        Ok(f(ws)?)
    }

    fn set(&self, app: &AppHandle, ws: Workspace) -> Result<WorkspaceInfo> {
        let info = WorkspaceInfo::from(&ws);
        *self.workspace()? = Some(ws);
        if let Ok(file) = recent_file(app) {
            let _ = crate::recent::remember(&file, &info.dir);
        }
        Ok(info)
    }
}

/// Runs `f` on the open workspace on a worker thread: commands never block
/// the window's event loop, even on a million-row cache.
async fn on_worker<T: Send + 'static>(
    app: AppHandle,
    f: impl FnOnce(&mut Workspace) -> trueup::Result<T> + Send + 'static,
) -> Result<T> {
    tauri::async_runtime::spawn_blocking(move || app.state::<AppState>().with(f))
        .await
        .unwrap_or_else(|e| Err(IpcError::new(ErrorCode::Io, e.to_string())))
}

fn no_workspace() -> IpcError {
    IpcError::new(ErrorCode::NoWorkspace, "no workspace is open")
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn actor() -> Actor {
    Actor::os_user("desktop")
}

fn recent_file(app: &AppHandle) -> Result<PathBuf> {
    app.path()
        .app_config_dir()
        .map(|d| d.join("recent.json"))
        .map_err(|e| IpcError::new(ErrorCode::Io, e.to_string()))
}

/// Opens the workspace given on the command line, if any.
#[tauri::command]
pub fn startup_workspace(app: AppHandle, state: State<AppState>) -> Result<Option<WorkspaceInfo>> {
    let ws = match &state.startup {
        Startup::None => return Ok(None),
        Startup::Open(dir) => Workspace::open(dir)?,
        Startup::Demo(dir) => open_or_create_demo(dir)?,
    };
    state.set(&app, ws).map(Some)
}

/// Opens the workspace in `dir`.
#[tauri::command]
pub fn open_workspace(
    app: AppHandle,
    state: State<AppState>,
    dir: String,
) -> Result<WorkspaceInfo> {
    state.set(&app, Workspace::open(Path::new(&dir))?)
}

/// Creates an empty workspace in `dir` and opens it.
#[tauri::command]
pub fn create_workspace(
    app: AppHandle,
    state: State<AppState>,
    dir: String,
) -> Result<WorkspaceInfo> {
    state.set(&app, Workspace::init(Path::new(&dir))?)
}

/// Opens the demo workspace in the app's data folder, creating it the first time.
#[tauri::command]
pub fn open_demo_workspace(app: AppHandle, state: State<AppState>) -> Result<WorkspaceInfo> {
    let dir = app
        .path()
        .app_data_dir()
        .map_err(|e| IpcError::new(ErrorCode::Io, e.to_string()))?
        .join("demo-workspace");
    state.set(&app, open_or_create_demo(&dir)?)
}

fn open_or_create_demo(dir: &Path) -> trueup::Result<Workspace> {
    if dir.join(trueup::workspace::CONFIG_FILE).exists() {
        Workspace::open(dir)
    } else {
        Workspace::init_demo(dir)
    }
}

/// The recently opened workspace folders, newest first.
#[tauri::command]
pub fn recent_workspaces(app: AppHandle) -> Result<Vec<String>> {
    Ok(crate::recent::load(&recent_file(&app)?))
}

/// Runs a long step on a worker thread with `job-progress` events; while it
/// runs, other commands answer `busy`, and `cancel_job` stops it.
async fn run_job<T: Send + 'static>(
    app: AppHandle,
    f: impl FnOnce(&mut Workspace, &EventProgress) -> Result<T> + Send + 'static,
) -> Result<T> {
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let state = app.state::<AppState>();
        let mut job = state.job.lock().unwrap_or_else(|p| p.into_inner());
        if job.is_some() {
            return Err(IpcError::new(
                ErrorCode::Busy,
                "a pull, reconcile or push is already running",
            ));
        }
        *job = Some(cancel.clone());
    }
    let worker = app.clone();
    let result = tauri::async_runtime::spawn_blocking(move || {
        let state = worker.state::<AppState>();
        let mut guard = state.workspace.lock().unwrap_or_else(|p| p.into_inner());
        let ws = guard.as_mut().ok_or_else(no_workspace)?;
        let progress = EventProgress::new(worker.clone(), cancel);
        f(ws, &progress)
    })
    .await
    .unwrap_or_else(|e| Err(IpcError::new(ErrorCode::Cache, e.to_string())));
    let state = app.state::<AppState>();
    *state.job.lock().unwrap_or_else(|p| p.into_inner()) = None;
    result
}

/// Pulls both entities of `reconciliation` (when `pull`), then reconciles it.
/// Runs on a worker thread, sends `job-progress` events; `cancel_job` stops it.
#[tauri::command]
pub async fn reconcile(
    app: AppHandle,
    reconciliation: String,
    pull: bool,
) -> Result<ReconcileSummary> {
    run_job(app, move |ws, progress| {
        let actor = actor();
        let pulls: Vec<PullSummary> = if pull {
            trueup::pull::pull_sides(ws, &reconciliation, &now(), &actor, progress)?
                .into_iter()
                .map(PullSummary::from)
                .collect()
        } else {
            Vec::new()
        };
        let s = trueup::reconcile::reconcile(ws, &reconciliation, &now(), &actor, progress)?;
        Ok(ReconcileSummary::new(s, pulls))
    })
    .await
}

/// Asks the running pull or reconcile to stop; false when none runs.
#[tauri::command]
pub fn cancel_job(state: State<AppState>) -> bool {
    match &*state.job.lock().unwrap_or_else(|p| p.into_inner()) {
        Some(flag) => {
            flag.store(true, Ordering::Relaxed);
            true
        }
        None => false,
    }
}

/// One page of proposals matching `filter`.
#[tauri::command]
pub async fn proposals(
    app: AppHandle,
    reconciliation: String,
    filter: Filter,
    offset: u64,
    limit: u64,
) -> Result<ProposalPage> {
    let page = on_worker(app, move |ws| {
        ws.proposals(&reconciliation, &filter.into(), offset, limit)
    })
    .await?;
    Ok(ProposalPage {
        total: page.total,
        offset,
        items: page.items.into_iter().map(Into::into).collect(),
    })
}

/// The `limit` proposals matching `filter` after row id `after_id` (keyset
/// paging: the page after a loaded one, without OFFSET or count).
#[tauri::command]
pub async fn proposals_after(
    app: AppHandle,
    reconciliation: String,
    filter: Filter,
    after_id: Option<i64>,
    limit: u64,
) -> Result<Vec<ProposalRow>> {
    let items = on_worker(app, move |ws| {
        ws.proposals_after(&reconciliation, &filter.into(), after_id, limit)
    })
    .await?;
    Ok(items.into_iter().map(Into::into).collect())
}

/// How many proposals of each kind match `filter` (its kinds ignored), and `all`.
#[tauri::command]
pub async fn proposal_counts(
    app: AppHandle,
    reconciliation: String,
    filter: Filter,
) -> Result<BTreeMap<String, u64>> {
    on_worker(app, move |ws| {
        ws.proposal_counts(&reconciliation, &filter.into())
    })
    .await
}

/// One proposal by its match key.
#[tauri::command]
pub async fn proposal(app: AppHandle, reconciliation: String, key: String) -> Result<ProposalRow> {
    Ok(on_worker(app, move |ws| ws.proposal(&reconciliation, &key))
        .await?
        .into())
}

/// Records a verdict on one proposal (`corrections`: field → value, for `correct`).
#[tauri::command]
pub async fn decide(
    app: AppHandle,
    reconciliation: String,
    key: String,
    verdict: Verdict,
    corrections: Vec<(String, Option<String>)>,
) -> Result<Decision> {
    let d = on_worker(app, move |ws| {
        ws.decide(
            &reconciliation,
            &key,
            verdict.into(),
            &corrections,
            &now(),
            &actor(),
        )
    })
    .await?;
    Ok(d.into())
}

/// Gives `verdict` to every proposal matching `filter`.
#[tauri::command]
pub async fn decide_all(
    app: AppHandle,
    reconciliation: String,
    filter: Filter,
    verdict: Verdict,
) -> Result<BulkOutcome> {
    let b = on_worker(app, move |ws| {
        ws.decide_all(
            &reconciliation,
            &filter.into(),
            verdict.into(),
            &now(),
            &actor(),
        )
    })
    .await?;
    Ok(b.into())
}

/// Undoes this person's latest decision in `reconciliation`.
#[tauri::command]
pub async fn undo_last_decision(
    app: AppHandle,
    reconciliation: String,
) -> Result<Option<Decision>> {
    let d = on_worker(app, move |ws| {
        ws.undo_last_decision(&reconciliation, &actor())
    })
    .await?;
    Ok(d.map(Into::into))
}

/// Asks where to save (the native save dialog, driven by the person: the
/// webview never names a path), then writes the export there off the UI
/// thread. `None` when the person cancels the dialog.
///
/// End-to-end tests cannot drive a native dialog: they set
/// `TRUEUP_TEST_EXPORT_PATH` in the app's environment to answer it.
#[tauri::command]
pub async fn export_csv(
    app: AppHandle,
    reconciliation: String,
    kind: ExportKind,
    filter: Filter,
    bom: bool,
) -> Result<Option<ExportOutcome>> {
    let path = match std::env::var_os("TRUEUP_TEST_EXPORT_PATH") {
        Some(p) => Some(PathBuf::from(p)),
        None => app
            .dialog()
            .file()
            .set_title("Export to CSV")
            .add_filter("CSV", &["csv"])
            .set_file_name(format!("{reconciliation}-{}.csv", kind.name()))
            .blocking_save_file()
            .and_then(|p| p.into_path().ok()),
    };
    let Some(path) = path else {
        return Ok(None);
    };
    tauri::async_runtime::spawn_blocking(move || {
        let state = app.state::<AppState>();
        let rows = state.with(|ws| {
            trueup::export::export_file(
                ws,
                &reconciliation,
                kind.into(),
                &filter.into(),
                bom,
                &path,
            )
        })?;
        Ok(Some(ExportOutcome {
            path: path.display().to_string(),
            rows,
        }))
    })
    .await
    .unwrap_or_else(|e| Err(IpcError::new(ErrorCode::Io, e.to_string())))
}

/// The latest runs, newest first.
#[tauri::command]
pub async fn history(app: AppHandle, limit: usize) -> Result<Vec<Run>> {
    let runs = on_worker(app, move |ws| ws.cache.runs(limit)).await?;
    Ok(runs.into_iter().map(Into::into).collect())
}

/// The push plan of `reconciliation` (a dry run: nothing is sent).
#[tauri::command]
pub async fn push_plan(app: AppHandle, reconciliation: String) -> Result<PushPlan> {
    let (plan, labels) = on_worker(app, move |ws| {
        let plan = trueup::push::plan(ws, &reconciliation)?;
        let keys = plan
            .writes
            .iter()
            .chain(&plan.deletes)
            .map(|c| c.match_key.as_str());
        let keys = keys.chain(plan.invalid.iter().map(|i| i.match_key.as_str()));
        let labels = ws.key_labels(&reconciliation, keys)?;
        Ok((plan, labels))
    })
    .await?;
    Ok(PushPlan::new(plan, &labels))
}

/// Pushes `reconciliation` to its target (`mode`: the current decisions,
/// only the failed entries, or only open ones). A long step with progress.
#[tauri::command]
pub async fn push(app: AppHandle, reconciliation: String, mode: PushMode) -> Result<PushReport> {
    run_job(app, move |ws, progress| {
        let options = trueup::push::PushOptions {
            mode: mode.into(),
            ..Default::default()
        };
        let r = trueup::push::push(ws, &reconciliation, &options, &now(), &actor(), progress)?;
        report(ws, r)
    })
    .await
}

/// The report with keys as written.
fn report(ws: &Workspace, r: trueup::push::PushReport) -> Result<PushReport> {
    let labels = ws.key_labels(&r.recon, r.entries.iter().map(|e| e.match_key.as_str()))?;
    Ok(PushReport::new(r, &labels))
}

/// Rolls back push `push_id` (only `record`, when given). A long step.
#[tauri::command]
pub async fn rollback(app: AppHandle, push_id: i64, record: Option<String>) -> Result<PushReport> {
    run_job(app, move |ws, progress| {
        let r = trueup::push::rollback(
            ws,
            push_id,
            record.as_deref(),
            &Default::default(),
            &now(),
            &actor(),
            progress,
        )?;
        report(ws, r)
    })
    .await
}

/// The pushes and rollbacks of `reconciliation`, newest first, with counts per state.
#[tauri::command]
pub async fn pushes(app: AppHandle, reconciliation: String, limit: usize) -> Result<Vec<PushInfo>> {
    on_worker(app, move |ws| {
        trueup::push::pushes(&ws.cache, &reconciliation, limit)?
            .into_iter()
            .map(|p| {
                let entries = trueup::push::push_entries(&ws.cache, p.id)?;
                Ok(PushInfo::new(p, &entries))
            })
            .collect()
    })
    .await
}

/// Every entry of push `push_id`, with its outcome.
#[tauri::command]
pub async fn push_entries(app: AppHandle, push_id: i64) -> Result<Vec<PushEntry>> {
    let (entries, labels) = on_worker(app, move |ws| {
        let entries = trueup::push::push_entries(&ws.cache, push_id)?;
        let recon = entries.first().map(|e| e.recon.clone()).unwrap_or_default();
        let labels = ws.key_labels(&recon, entries.iter().map(|e| e.match_key.as_str()))?;
        Ok((entries, labels))
    })
    .await?;
    Ok(entries
        .into_iter()
        .map(|e| PushEntry::new(e, &labels))
        .collect())
}

/// Asks for a folder (the native dialog, driven by the person), then writes
/// `success.csv` and `errors.csv` of `reconciliation` there (only push
/// `push_id`, when given). `None` when the person cancels.
///
/// End-to-end tests set `TRUEUP_TEST_EXPORT_DIR` to answer the dialog.
#[tauri::command]
pub async fn export_push_results(
    app: AppHandle,
    reconciliation: String,
    push_id: Option<i64>,
    bom: bool,
) -> Result<Option<ResultsOutcome>> {
    let dir = match std::env::var_os("TRUEUP_TEST_EXPORT_DIR") {
        Some(p) => Some(PathBuf::from(p)),
        None => app
            .dialog()
            .file()
            .set_title("Folder for success.csv and errors.csv")
            .blocking_pick_folder()
            .and_then(|p| p.into_path().ok()),
    };
    let Some(dir) = dir else {
        return Ok(None);
    };
    let out = dir.display().to_string();
    let counts = on_worker(app, move |ws| {
        trueup::push::write_results(ws, &reconciliation, push_id, &dir, bom)
    })
    .await?;
    Ok(Some(ResultsOutcome {
        dir: out,
        success: counts.success,
        errors: counts.errors,
    }))
}

/// The values missing from value maps, grouped by value, most frequent first.
#[tauri::command]
pub async fn unmapped_values(app: AppHandle, reconciliation: String) -> Result<Vec<UnmappedValue>> {
    let v = on_worker(app, move |ws| {
        trueup::reconcile::unmapped_values(ws, &reconciliation)
    })
    .await?;
    Ok(v.into_iter().map(Into::into).collect())
}

/// Maps `source` to `target` in value map `map`; reconcile again to apply it.
/// Returns the value map's file.
#[tauri::command]
pub async fn map_value(
    app: AppHandle,
    reconciliation: String,
    map: String,
    source: String,
    target: String,
) -> Result<String> {
    let path = on_worker(app, move |ws| {
        trueup::reconcile::map_value(ws, &reconciliation, &map, &source, &target)
    })
    .await?;
    Ok(path.display().to_string())
}

/// The workspace's systems with their settings (secrets as references only).
#[tauri::command]
pub async fn systems(app: AppHandle) -> Result<Vec<SystemInfo>> {
    on_worker(app, |ws| {
        Ok(ws
            .config
            .systems
            .iter()
            .map(|(name, s)| SystemInfo {
                name: name.clone(),
                kind: s.kind().to_string(),
                form: SystemForm::of(s),
                entities: ws
                    .config
                    .entities
                    .iter()
                    .filter(|(_, e)| &e.system == name)
                    .map(|(n, _)| n.clone())
                    .collect(),
            })
            .collect())
    })
    .await
}

/// Whether passwords can go to the OS keychain (and if not, why).
#[tauri::command]
pub async fn keychain_status() -> KeychainStatus {
    tauri::async_runtime::spawn_blocking(|| match trueup::secrets::available() {
        Ok(()) => KeychainStatus {
            available: true,
            message: None,
        },
        Err(e) => KeychainStatus {
            available: false,
            message: Some(e.to_string()),
        },
    })
    .await
    .unwrap_or(KeychainStatus {
        available: false,
        message: Some("the keychain check did not finish".into()),
    })
}

/// Tests a system's settings (saved or not), as `trueup systems test` does:
/// the connection, then one sample record. `password` (the typed secret),
/// when given, is used for this test only and not kept.
#[tauri::command]
pub async fn test_system(
    app: AppHandle,
    name: String,
    form: SystemForm,
    password: Option<String>,
) -> Result<ConnectionInfo> {
    let info = on_worker(app, move |ws| {
        ws.check_system_config(&name, &form.into(), password)
    })
    .await?;
    Ok(info.into())
}

/// The settings of `form` that are not acceptable, field by field (no I/O),
/// for checking them as they are typed.
#[tauri::command]
pub async fn system_problems(
    app: AppHandle,
    name: String,
    form: SystemForm,
    secret_typed: bool,
) -> Result<Vec<FieldProblem>> {
    let p = on_worker(app, move |ws| {
        Ok(ws.system_problems(&name, &form.into(), secret_typed))
    })
    .await?;
    Ok(p.into_iter().map(Into::into).collect())
}

/// Saves system `name` to `trueup.toml`. A typed `password` goes to the OS
/// keychain (never to a file): the core stores it and references it. Fails,
/// saving nothing, when the keychain is unavailable; the UI then offers an
/// environment variable.
#[tauri::command]
pub async fn save_system(
    app: AppHandle,
    name: String,
    form: SystemForm,
    password: Option<String>,
) -> Result<WorkspaceInfo> {
    on_worker(app, move |ws| {
        ws.set_system_with_secret(&name, form.into(), password.as_deref())?;
        Ok(WorkspaceInfo::from(&*ws))
    })
    .await
}

/// Renames system `from` to `to`; its entities follow.
#[tauri::command]
pub async fn rename_system(app: AppHandle, from: String, to: String) -> Result<WorkspaceInfo> {
    on_worker(app, move |ws| {
        ws.rename_system(&from, &to)?;
        Ok(WorkspaceInfo::from(&*ws))
    })
    .await
}

/// Deletes system `name`; refused while entities use it.
#[tauri::command]
pub async fn delete_system(app: AppHandle, name: String) -> Result<WorkspaceInfo> {
    on_worker(app, move |ws| {
        ws.delete_system(&name)?;
        Ok(WorkspaceInfo::from(&*ws))
    })
    .await
}

/// Entity `name` as the TOML under `[entities.NAME]` (without `system`).
#[tauri::command]
pub async fn entity_toml(app: AppHandle, name: String) -> Result<String> {
    on_worker(app, move |ws| ws.entity_toml(&name)).await
}

/// Adds or replaces entity `name` of system `system` from TOML text;
/// errors name the line and column.
#[tauri::command]
pub async fn save_entity_toml(
    app: AppHandle,
    name: String,
    system: String,
    text: String,
) -> Result<WorkspaceInfo> {
    on_worker(app, move |ws| {
        ws.set_entity_toml(&name, &system, &text)?;
        Ok(WorkspaceInfo::from(&*ws))
    })
    .await
}

/// Deletes entity `name`; refused while a reconciliation uses it.
#[tauri::command]
pub async fn delete_entity(app: AppHandle, name: String) -> Result<WorkspaceInfo> {
    on_worker(app, move |ws| {
        ws.delete_entity(&name)?;
        Ok(WorkspaceInfo::from(&*ws))
    })
    .await
}

/// The validation rules that `values` (field, value) break, for checking a
/// correction while it is typed; `decide` checks again.
#[tauri::command]
pub async fn validate_values(
    app: AppHandle,
    reconciliation: String,
    values: Vec<(String, Option<String>)>,
) -> Result<Vec<RuleFailure>> {
    let failures = on_worker(app, move |ws| ws.check_values(&reconciliation, &values)).await?;
    Ok(failures.into_iter().map(Into::into).collect())
}

/// A suggested mapping from entity `left` to entity `right`, with sample
/// values of both and the left records read (from the systems).
#[tauri::command]
pub async fn suggest_mapping(
    app: AppHandle,
    left: String,
    right: String,
) -> Result<MappingSuggestion> {
    let s = on_worker(app, move |ws| ws.suggest_mapping_sample(&left, &right)).await?;
    Ok(MappingSuggestion::new(s))
}

/// Reconciliation `name` as configured, for editing.
#[tauri::command]
pub async fn reconciliation_form(app: AppHandle, name: String) -> Result<ReconciliationForm> {
    let config = on_worker(app, move |ws| Ok(ws.reconciliation(&name)?.clone())).await?;
    ReconciliationForm::of(&config)
}

/// The problems of reconciliation `name` as `form` (not saved), and every
/// field's mapping previewed on the `sample` records of its left entity.
#[tauri::command]
pub async fn check_reconciliation(
    app: AppHandle,
    name: String,
    form: ReconciliationForm,
    sample: SampleRows,
) -> Result<SetupCheck> {
    let config: trueup::config::ReconciliationConfig = match form.try_into() {
        Ok(c) => c,
        Err(e) => {
            let e: IpcError = e;
            return Ok(SetupCheck {
                problems: vec![FieldProblem {
                    field: String::new(),
                    message: e.message,
                }],
                previews: vec![],
            });
        }
    };
    on_worker(app, move |ws| {
        let problems = ws.reconciliation_problems(&name, &config, &sample.fields);
        let sample = trueup::workspace::SampleRows {
            fields: sample.fields,
            rows: sample.rows,
        };
        let previews = ws.preview_mapping(&name, &config, &sample, 5);
        Ok(SetupCheck {
            problems: problems.into_iter().map(Into::into).collect(),
            previews: previews.into_iter().map(Into::into).collect(),
        })
    })
    .await
}

/// Saves reconciliation `name` to `trueup.toml` (added or replaced; the
/// file's comments are kept).
#[tauri::command]
pub async fn save_reconciliation(
    app: AppHandle,
    name: String,
    form: ReconciliationForm,
) -> Result<WorkspaceInfo> {
    let config = form.try_into()?;
    on_worker(app, move |ws| {
        ws.set_reconciliation(&name, config)?;
        Ok(WorkspaceInfo::from(&*ws))
    })
    .await
}
