import { describe, it, expect } from "vitest";
import { render, screen, fireEvent, waitFor } from "@testing-library/svelte";
import { mockIPC } from "@tauri-apps/api/mocks";
import App from "./App.svelte";
import type { WorkspaceInfo } from "./lib/ipc";

const demo: WorkspaceInfo = {
  dir: "/tmp/demo",
  name: "Demo",
  systems: ["crm", "erp"],
  entities: ["crm_contacts", "erp_customers"],
  reconciliations: [{ name: "customers", left: "erp_customers", right: "crm_contacts", fields: ["City"] }],
};

describe("pull and reconcile", () => {
  it("shows progress while it runs, cancels on request and says so", async () => {
    let cancelled!: () => void;
    const calls: string[] = [];
    mockIPC(
      (cmd) => {
        calls.push(cmd);
        switch (cmd) {
          case "startup_workspace":
            return demo;
          case "proposals":
            return { total: 0, offset: 0, items: [] };
          case "proposals_after":
            return [];
          case "proposal_counts":
            return { all: 0 };
          case "reconcile":
            // Runs until cancelled, then fails the way the shell does.
            return new Promise((_, reject) => {
              cancelled = () => reject({ code: "cancelled", message: "cancelled" });
            });
          case "cancel_job":
            cancelled();
            return true;
        }
        return null;
      },
      { shouldMockEvents: true },
    );
    render(App);
    await fireEvent.click(await screen.findByTestId("pull-reconcile"));
    expect(await screen.findByTestId("job-progress")).toBeTruthy();
    await fireEvent.click(screen.getByTestId("cancel-job"));
    const banner = await screen.findByTestId("app-error");
    expect(banner.dataset.code, "the UI branches on the code, not the text").toBe("cancelled");
    expect(banner.textContent).toContain("Cancelled");
    await waitFor(() => expect(screen.queryByTestId("job-progress")).toBeNull());
    expect(calls).toContain("cancel_job");
  });

  it("shows the counts per category when done", async () => {
    mockIPC(
      (cmd) => {
        switch (cmd) {
          case "startup_workspace":
            return demo;
          case "proposals":
            return { total: 0, offset: 0, items: [] };
          case "proposals_after":
            return [];
          case "proposal_counts":
            return { all: 3, conflict: 1, update: 2, create: 0, orphan: 0 };
          case "reconcile":
            return {
              reconciliation: "customers",
              pulls: [],
              leftRecords: 10,
              rightRecords: 10,
              counts: { in_sync: 7, update: 2, conflict: 1 },
              conflictReasons: { both_changed: 1 },
              staleDecisions: 0,
            };
        }
        return null;
      },
      { shouldMockEvents: true },
    );
    render(App);
    await fireEvent.click(await screen.findByTestId("pull-reconcile"));
    expect((await screen.findByTestId("summary-in_sync")).textContent).toContain("7");
    expect(screen.getByTestId("summary-conflict").textContent).toContain("1");
    await waitFor(() => expect(screen.getByTestId("count-update").textContent).toContain("2"));
    // The job ends after the review has its counts: wait for it.
    await waitFor(() => expect(screen.queryByTestId("job-progress")).toBeNull());
  });
});
