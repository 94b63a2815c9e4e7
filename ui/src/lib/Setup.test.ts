import { describe, it, expect } from "vitest";
import { render, screen, fireEvent, waitFor } from "@testing-library/svelte";
import { mockIPC } from "@tauri-apps/api/mocks";
import Setup from "./Setup.svelte";
import type { MappingSuggestion, WorkspaceInfo } from "./ipc";

const workspace: WorkspaceInfo = {
  dir: "/ws",
  name: "Demo",
  systems: ["erp", "crm"],
  entities: ["crm_contacts", "erp_customers"],
  reconciliations: [],
};

const suggestion: MappingSuggestion = {
  leftFields: ["customer_no", "email", "city"],
  fields: [
    { target: "Customer Number", source: "customer_no", score: 0.9, transforms: ["trim", "upper"], leftSamples: ["c-10001 "], rightSamples: ["C-10001"] },
    { target: "E-mail", source: "email", score: 1, transforms: ["email"], leftSamples: ["A@X.DE"], rightSamples: ["a@x.de"] },
    { target: "Notes", source: null, score: 0, transforms: [], leftSamples: [], rightSamples: ["call back"] },
  ],
};

describe("reconciliation setup", () => {
  it("suggests a mapping with samples side by side, then saves the edited one", async () => {
    const calls: { cmd: string; args: Record<string, unknown> }[] = [];
    mockIPC((cmd, payload) => {
      const args = (payload ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args });
      if (cmd === "suggest_mapping") return suggestion;
      if (cmd === "save_reconciliation") return workspace;
      throw { code: "not_found", message: cmd };
    });
    let saved = "";
    render(Setup, { workspace, onsaved: (_ws: WorkspaceInfo, name: string) => (saved = name) });
    await fireEvent.change(screen.getByTestId("setup-left"), { target: { value: "erp_customers" } });
    await fireEvent.change(screen.getByTestId("setup-right"), { target: { value: "crm_contacts" } });
    await fireEvent.click(screen.getByTestId("suggest"));
    const table = await screen.findByTestId("suggestions");
    const email = table.querySelector('tr[data-target="E-mail"]') as HTMLElement;
    expect(email.textContent).toContain("A@X.DE");
    expect(email.textContent).toContain("a@x.de");
    expect((table.querySelector('tr[data-target="Notes"]') as HTMLElement).classList.contains("unused")).toBe(true);
    // Edit: E-mail is owned by the right side.
    await fireEvent.change(screen.getByLabelText("Owner of E-mail"), { target: { value: "right" } });
    await fireEvent.click(screen.getByTestId("save-reconciliation"));
    await waitFor(() => expect(saved).toBe("erp_customers_to_crm_contacts"));
    const setup = calls.find((c) => c.cmd === "save_reconciliation")!.args.setup as Record<string, unknown>;
    expect(setup).toEqual({
      left: "erp_customers",
      right: "crm_contacts",
      key: ["Customer Number"],
      fields: [
        { target: "Customer Number", source: "customer_no", transforms: ["trim", "upper"], ownership: "left" },
        { target: "E-mail", source: "email", transforms: ["email"], ownership: "right" },
      ],
    });
  });
});
