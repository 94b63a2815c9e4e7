import { describe, it, expect } from "vitest";
import { render, screen, fireEvent, waitFor } from "@testing-library/svelte";
import { mockIPC } from "@tauri-apps/api/mocks";
import Mappings from "./Mappings.svelte";
import type { UnmappedValue } from "./ipc";

describe("mapping conflicts", () => {
  it("lists unmapped values with counts, maps one once and reconciles again", async () => {
    let values: UnmappedValue[] = [
      { field: "Status", map: "status", value: "X", count: 12 },
      { field: "Status", map: "status", value: "Z", count: 3 },
    ];
    const calls: { cmd: string; args: Record<string, unknown> }[] = [];
    mockIPC((cmd, payload) => {
      const args = (payload ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args });
      if (cmd === "unmapped_values") return values;
      if (cmd === "map_value") {
        values = values.filter((v) => v.value !== args.source);
        return "/ws/maps/status.csv";
      }
      throw { code: "not_found", message: cmd };
    });
    let reconciled = 0;
    render(Mappings, { reconciliation: "customers", onreconcile: async () => void reconciled++ });
    const rows = await screen.findAllByTestId("unmapped");
    expect(rows.map((r) => r.dataset.value)).toEqual(["X", "Z"]);
    expect(rows[0].querySelector(".count")!.textContent).toBe("12");
    const input = screen.getByLabelText("Map X to") as HTMLInputElement;
    await fireEvent.input(input, { target: { value: "inactive" } });
    await fireEvent.keyDown(input, { key: "Enter" });
    await waitFor(() => expect(screen.getByTestId("mapping-notice").textContent).toContain("12 proposals"));
    expect(calls.find((c) => c.cmd === "map_value")?.args).toEqual({
      reconciliation: "customers",
      map: "status",
      source: "X",
      target: "inactive",
    });
    expect(reconciled, "every record with it is reconciled again").toBe(1);
    expect(screen.getAllByTestId("unmapped").map((r) => r.dataset.value)).toEqual(["Z"]);
  });

  it("shows the shell's error with its code", async () => {
    mockIPC((cmd) => {
      if (cmd === "unmapped_values") return [{ field: "Status", map: "status", value: "X", count: 1 }];
      throw { code: "config", message: "value map \"status\" is inline in trueup.toml" };
    });
    render(Mappings, { reconciliation: "customers", onreconcile: async () => {} });
    const input = (await screen.findByLabelText("Map X to")) as HTMLInputElement;
    await fireEvent.input(input, { target: { value: "inactive" } });
    await fireEvent.click(screen.getByText("Map"));
    const err = await screen.findByTestId("mapping-error");
    expect(err.dataset.code).toBe("config");
    expect(err.textContent).toContain("inline");
  });
});
