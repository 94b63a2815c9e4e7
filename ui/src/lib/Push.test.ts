import { describe, it, expect } from "vitest";
import { render, screen, fireEvent, waitFor } from "@testing-library/svelte";
import { mockIPC } from "@tauri-apps/api/mocks";
import Push from "./Push.svelte";
import type { PushEntry, PushInfo, PushPlan } from "./ipc";

const plan: PushPlan = {
  reconciliation: "customers_db",
  target: "crm_db/contacts",
  writes: [
    { key: "C-10001", op: "update", record: "50001", verdict: "approve", fields: [{ field: "City", old: "Bonn", new: "Berlin" }] },
    { key: "C-10002", op: "insert", record: "", verdict: "approve", fields: [{ field: "Company Name", old: null, new: "Acme" }] },
  ],
  deletes: [],
  invalid: [{ key: "C-10003", reasons: ["E-mail (regex): \"x\" is not an e-mail"] }],
  counts: { insert: 1, update: 1, invalid: 1 },
  alreadyJournaled: 0,
};

const entry = (id: number, over: Partial<PushEntry>): PushEntry => ({
  id,
  pushId: 1,
  key: `C-1000${id}`,
  op: "update",
  record: `5000${id}`,
  state: "applied",
  category: null,
  message: null,
  values: [["City", "Berlin"]],
  before: [["City", "Bonn"]],
  current: null,
  attempts: 1,
  rollbackOf: null,
  updatedAt: "2026-11-25T10:00:00Z",
  ...over,
});

const entries: PushEntry[] = [
  entry(1, {}),
  entry(2, { state: "conflict", category: "conflict", message: "the record changed since the pull", current: [["City", "Köln"]] }),
  entry(3, { state: "rejected", category: "validation", message: "CHECK constraint failed: city" }),
  entry(4, { state: "rejected", category: "validation", message: "CHECK constraint failed: city" }),
];

const push1: PushInfo = {
  id: 1,
  kind: "push",
  rollbackOf: null,
  target: "crm_db/contacts",
  startedAt: "2026-11-25T10:00:00Z",
  finishedAt: "2026-11-25T10:00:01Z",
  who: "anna",
  states: { applied: 1, conflict: 1, rejected: 2 },
};

function fakeShell(pushed: boolean) {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  let done = pushed;
  mockIPC((cmd, payload) => {
    const args = (payload ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    switch (cmd) {
      case "push_plan":
        return done ? { ...plan, writes: [], invalid: [], counts: {} } : plan;
      case "pushes":
        return done ? [push1] : [];
      case "push_entries":
        return entries;
      case "push":
        done = true;
        return { reconciliation: "customers_db", target: plan.target, pushId: 1, resumed: 0, outcomes: {}, entries, stopped: null };
      case "rollback":
        return { reconciliation: "customers_db", target: plan.target, pushId: 2, resumed: 0, outcomes: {}, entries: [], stopped: null };
      case "export_push_results":
        return { dir: "/tmp/results", success: 1, errors: 3 };
      case "plugin:event|listen":
        return 1;
      case "plugin:event|unlisten":
        return null;
    }
    throw { code: "not_found", message: `unexpected ${cmd}` };
  });
  return calls;
}

describe("push screen", () => {
  it("shows the plan with counts and the exact writes, old → new", async () => {
    fakeShell(false);
    render(Push, { reconciliation: "customers_db" });
    const writes = await screen.findByTestId("plan-writes");
    expect(writes.textContent).toContain("C-10001");
    const change = writes.querySelector('tr[data-key="C-10001"] .change') as HTMLElement;
    expect(change.textContent).toMatch(/City\s*Bonn\s*→\s*Berlin/);
    expect(writes.textContent).toContain("(assigned by the target)");
    expect(screen.getByTestId("plan-count-update").textContent).toContain("1");
    expect(screen.getByTestId("plan-invalid").textContent).toContain("not an e-mail");
    expect(screen.getByTestId("push-run").textContent).toContain("Push 2 changes");
  });

  it("pushes in one click, then groups failures by category with the target's message", async () => {
    const calls = fakeShell(false);
    render(Push, { reconciliation: "customers_db" });
    await fireEvent.click(await screen.findByTestId("push-run"));
    const failures = await screen.findByTestId("push-failures");
    expect(calls.find((c) => c.cmd === "push")?.args.mode).toBe("new");
    const groups = [...failures.querySelectorAll("details")].map((d) => d.querySelector("summary")!.textContent!.trim());
    expect(groups, "largest group first").toEqual(["validation 2", "conflict 1"]);
    expect(failures.textContent).toContain("CHECK constraint failed: city");
    expect(failures.textContent).toContain("target now: City=Köln");
    expect(screen.getByTestId("push-entries").querySelectorAll("tbody tr").length).toBe(4);
    expect(screen.getByTestId("retry-failed").textContent).toContain("Retry 3 failed");
  });

  it("retries the failed entries, rolls back after a confirming click, exports results", async () => {
    const calls = fakeShell(true);
    render(Push, { reconciliation: "customers_db" });
    await fireEvent.click(await screen.findByTestId("retry-failed"));
    await waitFor(() => expect(calls.find((c) => c.cmd === "push")?.args.mode).toBe("retry_failed"));
    await fireEvent.click(await screen.findByTestId("export-results"));
    expect((await screen.findByTestId("push-notice")).textContent).toContain("3 failures to errors.csv");
    expect(calls.find((c) => c.cmd === "export_push_results")?.args.pushId).toBe(1);
    const rollback = await screen.findByTestId("rollback");
    await fireEvent.click(rollback);
    expect(calls.some((c) => c.cmd === "rollback"), "the first click only arms it").toBe(false);
    expect(rollback.textContent).toContain("Click again");
    await fireEvent.click(rollback);
    await waitFor(() => expect(calls.find((c) => c.cmd === "rollback")?.args.pushId).toBe(1));
  });

  it("says so when there is nothing to push", async () => {
    fakeShell(true);
    render(Push, { reconciliation: "customers_db" });
    expect((await screen.findByTestId("plan-empty")).textContent).toContain("Nothing to push");
    expect((screen.getByTestId("push-run") as HTMLButtonElement).disabled).toBe(true);
  });
});
