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
