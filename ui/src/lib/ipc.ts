// The one door to the Rust shell: typed wrappers over `invoke`. Errors arrive
// as `{code, message}` (IpcError); the UI branches on `code` only.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type {
  BulkOutcome,
  Decision,
  ErrorCode,
  ExportKind,
  ExportOutcome,
  Filter,
  IpcError,
  ProgressEvent,
  ProposalPage,
  ProposalRow,
  PushEntry,
  PushInfo,
  PushMode,
  PushPlan,
  PushReport,
  ReconcileSummary,
  ResultsOutcome,
  UnmappedValue,
  ConnectionInfo,
  KeychainStatus,
  FieldProblem,
  SystemForm,
  SystemInfo,
  RuleFailure,
  MappingSuggestion,
  ReconciliationForm,
  SampleRows,
  SetupCheck,
  Run,
  Verdict,
  WorkspaceInfo,
} from "./bindings";

export type * from "./bindings";

export function isIpcError(e: unknown): e is IpcError {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}

/** Any thrown value as an IpcError (a non-shell failure becomes `io`). */
export function asIpcError(e: unknown): IpcError {
  if (isIpcError(e)) return e;
  return { code: "io" as ErrorCode, message: String(e) };
}

export const api = {
  startupWorkspace: () => invoke<WorkspaceInfo | null>("startup_workspace"),
  openWorkspace: (dir: string) => invoke<WorkspaceInfo>("open_workspace", { dir }),
  createWorkspace: (dir: string) => invoke<WorkspaceInfo>("create_workspace", { dir }),
  openDemoWorkspace: () => invoke<WorkspaceInfo>("open_demo_workspace"),
  recentWorkspaces: () => invoke<string[]>("recent_workspaces"),
  reconcile: (reconciliation: string, pull: boolean) =>
    invoke<ReconcileSummary>("reconcile", { reconciliation, pull }),
  cancelJob: () => invoke<boolean>("cancel_job"),
  proposals: (reconciliation: string, filter: Filter, offset: number, limit: number) =>
    invoke<ProposalPage>("proposals", { reconciliation, filter, offset, limit }),
  /** The `limit` proposals after row id `afterId` (keyset paging, no count). */
  proposalsAfter: (reconciliation: string, filter: Filter, afterId: number | null, limit: number) =>
    invoke<ProposalRow[]>("proposals_after", { reconciliation, filter, afterId, limit }),
  proposalCounts: (reconciliation: string, filter: Filter) =>
    invoke<Record<string, number>>("proposal_counts", { reconciliation, filter }),
  proposal: (reconciliation: string, key: string) =>
    invoke<ProposalRow>("proposal", { reconciliation, key }),
  decide: (
    reconciliation: string,
    key: string,
    verdict: Verdict,
    corrections: [string, string | null][] = [],
  ) => invoke<Decision>("decide", { reconciliation, key, verdict, corrections }),
  decideAll: (reconciliation: string, filter: Filter, verdict: Verdict) =>
    invoke<BulkOutcome>("decide_all", { reconciliation, filter, verdict }),
  undoLastDecision: (reconciliation: string) =>
    invoke<Decision | null>("undo_last_decision", { reconciliation }),
  /** Opens the save dialog (in the shell) and exports; null when cancelled. */
  exportCsv: (reconciliation: string, kind: ExportKind, filter: Filter, bom: boolean) =>
    invoke<ExportOutcome | null>("export_csv", { reconciliation, kind, filter, bom }),
  history: (limit: number) => invoke<Run[]>("history", { limit }),
  pushPlan: (reconciliation: string) => invoke<PushPlan>("push_plan", { reconciliation }),
  push: (reconciliation: string, mode: PushMode) => invoke<PushReport>("push", { reconciliation, mode }),
  rollback: (pushId: number, record: string | null = null) => invoke<PushReport>("rollback", { pushId, record }),
  pushes: (reconciliation: string, limit: number) => invoke<PushInfo[]>("pushes", { reconciliation, limit }),
  pushEntries: (pushId: number) => invoke<PushEntry[]>("push_entries", { pushId }),
  /** Opens the folder dialog (in the shell) and writes success.csv + errors.csv; null when cancelled. */
  exportPushResults: (reconciliation: string, pushId: number | null, bom: boolean) =>
    invoke<ResultsOutcome | null>("export_push_results", { reconciliation, pushId, bom }),
  unmappedValues: (reconciliation: string) => invoke<UnmappedValue[]>("unmapped_values", { reconciliation }),
  systems: () => invoke<SystemInfo[]>("systems"),
  keychainStatus: () => invoke<KeychainStatus>("keychain_status"),
  /** `password` (typed, not stored yet) is used for this test only. */
  testSystem: (name: string, form: SystemForm, password: string | null) =>
    invoke<ConnectionInfo>("test_system", { name, form, password }),
  /** A typed `password` goes to the OS keychain; the config references it. */
  saveSystem: (name: string, form: SystemForm, password: string | null) =>
    invoke<WorkspaceInfo>("save_system", { name, form, password }),
  /** The settings not acceptable, field by field (no I/O), as they are typed. */
  systemProblems: (name: string, form: SystemForm, secretTyped: boolean) =>
    invoke<FieldProblem[]>("system_problems", { name, form, secretTyped }),
  /** Renames a system; its entities follow. */
  renameSystem: (from: string, to: string) => invoke<WorkspaceInfo>("rename_system", { from, to }),
  /** Deletes a system; refused while entities use it. */
  deleteSystem: (name: string) => invoke<WorkspaceInfo>("delete_system", { name }),
  /** An entity as the TOML under [entities.NAME] (without `system`). */
  entityToml: (name: string) => invoke<string>("entity_toml", { name }),
  /** Adds or replaces an entity from TOML; errors name line and column. */
  saveEntityToml: (name: string, system: string, text: string) =>
    invoke<WorkspaceInfo>("save_entity_toml", { name, system, text }),
  deleteEntity: (name: string) => invoke<WorkspaceInfo>("delete_entity", { name }),
  validateValues: (reconciliation: string, values: [string, string | null][]) =>
    invoke<RuleFailure[]>("validate_values", { reconciliation, values }),
  suggestMapping: (left: string, right: string) => invoke<MappingSuggestion>("suggest_mapping", { left, right }),
  /** Saves a reconciliation to trueup.toml (added or replaced; comments kept). */
  saveReconciliation: (name: string, form: ReconciliationForm) =>
    invoke<WorkspaceInfo>("save_reconciliation", { name, form }),
  /** A configured reconciliation, for editing. */
  reconciliationForm: (name: string) => invoke<ReconciliationForm>("reconciliation_form", { name }),
  /** The problems of an edited reconciliation, and its fields previewed on sample records. */
  checkReconciliation: (name: string, form: ReconciliationForm, sample: SampleRows) =>
    invoke<SetupCheck>("check_reconciliation", { name, form, sample }),
  mapValue: (reconciliation: string, map: string, source: string, target: string) =>
    invoke<string>("map_value", { reconciliation, map, source, target }),
  onProgress: (handler: (p: ProgressEvent) => void): Promise<UnlistenFn> =>
    listen<ProgressEvent>("job-progress", (e) => handler(e.payload)),
};

export const emptyFilter = (): Filter => ({
  kinds: [],
  field: null,
  text: null,
  decision: null,
  reason: null,
});
