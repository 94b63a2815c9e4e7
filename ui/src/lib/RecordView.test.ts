import { describe, it, expect } from "vitest";
import { render, screen, waitFor } from "@testing-library/svelte";
import RecordView from "./RecordView.svelte";
import { proposalRow } from "./fixtures";

describe("record view", () => {
  it("shows both sides, highlights the differing field and says why it is a conflict", () => {
    const row = proposalRow(1);
    render(RecordView, { row, editing: false, onsave: () => {}, oncancel: () => {} });
    const city = document.querySelector('tr[data-field="City"]') as HTMLElement;
    const name = document.querySelector('tr[data-field="Name"]') as HTMLElement;
    expect(city.classList.contains("differs"), "City differs between left and right").toBe(true);
    expect(name.classList.contains("differs"), "Name is the same on both sides").toBe(false);
    expect(city.textContent).toContain("Berlin");
    expect(city.textContent).toContain("Bonn");
    expect(city.classList.contains("status-conflict")).toBe(true);
    expect(screen.getByTestId("reasons").textContent).toContain("both_changed");
  });

  it("shows the current decision and marks a stale one", () => {
    const row = proposalRow(0, { decision: "approve", decisionState: "stale" });
    render(RecordView, { row, editing: false, onsave: () => {}, oncancel: () => {} });
    expect(screen.getByTestId("record-decision").textContent).toContain("stale");
  });

  it("refuses to save a value with stray spaces while editing", async () => {
    const row = proposalRow(0);
    render(RecordView, { row, editing: true, onsave: () => {}, oncancel: () => {} });
    const input = (await screen.findByLabelText("Corrected City")) as HTMLInputElement;
    input.value = " Köln";
    input.dispatchEvent(new Event("input", { bubbles: true }));
    await Promise.resolve();
    await new Promise((r) => setTimeout(r, 0));
    expect((screen.getByTestId("save-correction") as HTMLButtonElement).disabled).toBe(true);
  });

  it("validates as you type, debounced, and shows the rule under the field", async () => {
    const row = proposalRow(0);
    const checked: [string, string | null][][] = [];
    const validate = async (values: [string, string | null][]) => {
      checked.push(values);
      const city = values.find(([f]) => f === "City")?.[1] ?? "";
      return /\d/.test(city) ? [{ field: "City", rule: "regex", message: `"${city}" does not match [A-Za-z ]+` }] : [];
    };
    render(RecordView, { row, editing: true, onsave: () => {}, oncancel: () => {}, validate });
    const input = (await screen.findByLabelText("Corrected City")) as HTMLInputElement;
    for (const v of ["K", "K1", "K12"]) {
      input.value = v;
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }
    const msg = await screen.findByTestId("field-invalid");
    expect(msg.textContent).toContain('"K12" does not match');
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(checked.length, "one check after typing stops, not one per key").toBe(1);
    expect(checked[0]).toContainEqual(["City", "K12"]);
    input.value = "Köln";
    input.dispatchEvent(new Event("input", { bubbles: true }));
    await waitFor(() => expect(screen.queryByTestId("field-invalid")).toBeNull());
  });
});
