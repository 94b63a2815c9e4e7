import { describe, it, expect } from "vitest";
import { render, screen } from "@testing-library/svelte";
import DriftChart from "./DriftChart.svelte";
import type { Run } from "./ipc";

const run = (id: number, kind: string, minutes: number, counts: Record<string, number>, failures = 0): Run => ({
  id,
  kind,
  subject: "customers",
  startedAt: new Date(Date.UTC(2026, 10, 25, 10, minutes)).toISOString(),
  finishedAt: null,
  status: "ok",
  counts,
  failures,
  message: null,
  origin: "desktop",
});

describe("drift chart", () => {
  it("draws one stacked bar per reconcile and one failure bar per failed run", () => {
    const runs = [
      run(3, "push", 20, { applied: 5 }, 2),
      run(1, "reconcile", 0, { in_sync: 100, conflict: 10, update: 30 }),
      run(2, "reconcile", 10, { in_sync: 120, conflict: 5, update: 15 }, 5),
      run(4, "pull", 5, { records: 100 }),
    ];
    render(DriftChart, { runs });
    const bars = screen.getAllByTestId("drift-bar");
    expect(bars.map((b) => b.dataset.run), "in time order").toEqual(["1", "2"]);
    const heights = bars.map((b) => [...b.querySelectorAll("rect")].reduce((h, r) => h + Number(r.getAttribute("height")), 0));
    expect(heights[0], "the largest drift fills the height").toBeCloseTo(150);
    expect(heights[1]).toBeCloseTo(150 * (20 / 40));
    expect(bars[0].querySelector("rect.in_sync"), "in-sync records are not drift").toBeNull();
    expect(screen.getAllByTestId("failure-bar"), "a reconcile's conflicts are drift, not failures").toHaveLength(1);
    expect(screen.getByTestId("drift-chart").textContent).toContain("failures");
  });

  it("says so when there is nothing to draw", () => {
    render(DriftChart, { runs: [run(1, "pull", 0, {})] });
    expect(screen.getByTestId("drift-chart").textContent).toContain("No reconcile or failed run yet");
  });
});
