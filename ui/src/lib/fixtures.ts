// Test data shaped like the shell's answers.
import type { ProposalRow } from "./ipc";

export function proposalRow(i: number, over: Partial<ProposalRow> = {}): ProposalRow {
  const key = `C-${String(10000 + i)}`;
  return {
    id: i + 1,
    matchKey: key.toLowerCase(),
    displayKey: key,
    leftKeys: [key],
    rightKeys: [key],
    kind: i % 2 ? "conflict" : "update",
    reasons: i % 2 ? [{ code: "both_changed", field: "City", message: "City changed on both sides" }] : [],
    fields: [
      { field: "Name", left: `Name ${i}`, right: `Name ${i}`, baseline: `Name ${i}`, proposed: `Name ${i}`, status: "same", note: null },
      { field: "City", left: "Berlin", right: "Bonn", baseline: "Bonn", proposed: "Berlin", status: i % 2 ? "conflict" : "update", note: null },
    ],
    decision: null,
    decisionState: null,
    ...over,
  };
}
