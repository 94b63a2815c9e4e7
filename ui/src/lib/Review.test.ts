import { describe, it, expect, vi } from "vitest";
import { render, screen, fireEvent, waitFor, within } from "@testing-library/svelte";
import { mockIPC } from "@tauri-apps/api/mocks";
import Review from "./Review.svelte";
import { ReviewModel, PAGE_SIZE } from "./review.svelte";
import { proposalRow } from "./fixtures";
import type { Filter } from "./ipc";

const TOTAL = 1_000_000;

/** A fake shell with a million proposals; records every call. Keyset pages
 * and counts wait for their gate when one is given. */
function fakeShell(gates: { pages?: Promise<void>; counts?: Promise<void> } = {}) {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC(async (cmd, payload) => {
    const args = (payload ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    switch (cmd) {
      case "proposals": {
        const offset = args.offset as number;
        const limit = args.limit as number;
        const filter = args.filter as Filter;
        const total = filter.kinds.length ? TOTAL / 2 : TOTAL;
        const items = Array.from({ length: Math.max(0, Math.min(limit, total - offset)) }, (_, k) =>
          proposalRow(offset + k),
        );
        return { total, offset, items };
      }
      case "proposals_after": {
        await gates.pages;
        const after = (args.afterId as number | null) ?? 0; // ids are index + 1
        const filter = args.filter as Filter;
        const total = filter.kinds.length ? TOTAL / 2 : TOTAL;
        const limit = args.limit as number;
        return Array.from({ length: Math.max(0, Math.min(limit, total - after)) }, (_, k) => proposalRow(after + k));
      }
      case "proposal_counts":
        await gates.counts;
        return { all: TOTAL, update: TOTAL / 2, conflict: TOTAL / 2, create: 0, orphan: 0 };
      case "decide":
        return { id: 1, matchKey: args.key, verdict: args.verdict, values: [], valuesHash: "x", who: "t", at: "", state: "current" };
      case "undo_last_decision":
        return null;
      case "decide_all":
        return { decided: 5, refused: [] };
    }
    throw { code: "not_found", message: `unexpected ${cmd}` };
  });
  return calls;
}

async function renderReview() {
  const calls = fakeShell();
  const model = new ReviewModel("customers");
  render(Review, { model });
  await waitFor(() => expect(screen.getByTestId("total").textContent).toContain("1000000"));
  return { calls, model };
}

describe("review list", () => {
  it("pages from the shell instead of loading everything", async () => {
    const { calls, model } = await renderReview();
    await waitFor(() => expect(model.rowAt(PAGE_SIZE), "the next page is fetched ahead").toBeDefined());
    const pages = calls.filter((c) => c.cmd === "proposals" || c.cmd === "proposals_after");
    expect(pages.length, "only the first page and the one after it are fetched on open").toBe(2);
    expect(pages[0].cmd, "by keyset, without counting every row again").toBe("proposals_after");
    expect(pages[0].args).toMatchObject({ afterId: null, limit: PAGE_SIZE });
    expect(pages[1].cmd, "the page ahead by keyset too").toBe("proposals_after");
    expect(pages[1].args).toMatchObject({ afterId: PAGE_SIZE, limit: PAGE_SIZE });
    expect(calls.filter((c) => c.cmd === "proposal_counts"), "the total comes from the counts").toHaveLength(1);
    const rows = within(screen.getByTestId("proposal-list")).getAllByRole("option");
    expect(rows.length, "only the visible rows are in the DOM").toBeLessThan(50);
    expect(rows[0].dataset.key).toBe("C-10000");
  });

  it("shows the first rows before counting, and counts only then", async () => {
    let pages!: () => void;
    let counts!: () => void;
    const calls = fakeShell({
      pages: new Promise((r) => (pages = r)),
      counts: new Promise((r) => (counts = r)),
    });
    render(Review, { model: new ReviewModel("customers") });
    await waitFor(() => expect(calls.some((c) => c.cmd === "proposals_after")).toBe(true));
    await new Promise((r) => setTimeout(r, 20));
    expect(
      calls.some((c) => c.cmd === "proposal_counts"),
      "no count is asked while the first rows are on their way (it would hold them back)",
    ).toBe(false);
    pages();
    await waitFor(() => expect(within(screen.getByTestId("proposal-list")).getAllByRole("option")[0].dataset.key).toBe("C-10000"));
    expect(screen.getByTestId("total").textContent, "not counted yet: at least a page").toContain(`${PAGE_SIZE}+`);
    expect((screen.getByTestId("approve-all") as HTMLButtonElement).disabled, "no bulk action on an uncounted set").toBe(true);
    counts();
    await waitFor(() => expect(screen.getByTestId("total").textContent).toContain("1000000"));
    expect((screen.getByTestId("approve-all") as HTMLButtonElement).disabled).toBe(false);
  });

  it("fetches the page after a loaded one by keyset, and a far page by offset", async () => {
    const { calls, model } = await renderReview();
    await waitFor(() => expect(model.rowAt(PAGE_SIZE), "the page ahead of the first").toBeDefined());
    await model.ensure(2 * PAGE_SIZE, 2 * PAGE_SIZE + 5);
    await waitFor(() => expect(model.rowAt(3 * PAGE_SIZE), "and the one after, ahead").toBeDefined());
    const after = calls.filter((c) => c.cmd === "proposals_after").map((c) => c.args.afterId);
    expect(after, "each page after a loaded one: the rows after its last").toEqual([
      null,
      PAGE_SIZE,
      2 * PAGE_SIZE,
      3 * PAGE_SIZE,
    ]);
    expect(calls.some((c) => c.cmd === "proposals"), "no page by offset so far").toBe(false);
    expect(model.rowAt(2 * PAGE_SIZE)?.displayKey).toBe(`C-${10000 + 2 * PAGE_SIZE}`);
    await model.ensure(500_000, 500_000);
    const far = calls.filter((c) => c.cmd === "proposals").at(-1)!;
    expect(far.args.offset).toBe(500_000);
    expect(model.rowAt(500_000)?.displayKey).toBe("C-510000");
  });

  it("shows counts per category and filters by one", async () => {
    const { calls } = await renderReview();
    await waitFor(() => expect(screen.getByTestId("count-conflict").textContent).toContain("500000"));
    await fireEvent.click(screen.getByTestId("count-conflict"));
    await waitFor(() => expect(screen.getByTestId("total").textContent).toContain("500000"));
    const last = calls.filter((c) => c.cmd === "proposals_after").at(-1)!;
    expect((last.args.filter as Filter).kinds, "the kind filter reaches the shell").toEqual(["conflict"]);
  });

  it("filters by text after typing stops", async () => {
    const { calls } = await renderReview();
    await fireEvent.input(screen.getByTestId("search"), { target: { value: "berlin" } });
    await waitFor(() =>
      expect(calls.some((c) => c.cmd === "proposals_after" && (c.args.filter as Filter).text === "berlin")).toBe(true),
    );
  });
});

describe("keyboard review", () => {
  it("j/k move the selection, a approves the selected proposal and moves on", async () => {
    const { calls, model } = await renderReview();
    await fireEvent.keyDown(window, { key: "j" });
    await fireEvent.keyDown(window, { key: "j" });
    await fireEvent.keyDown(window, { key: "k" });
    expect(model.selected).toBe(1);
    expect(screen.getByTestId("record-key").textContent).toBe("C-10001");
    await fireEvent.keyDown(window, { key: "a" });
    await waitFor(() => expect(calls.some((c) => c.cmd === "decide")).toBe(true));
    const decide = calls.find((c) => c.cmd === "decide")!;
    expect(decide.args, "the approval goes to the selected proposal").toMatchObject({
      reconciliation: "customers",
      key: "c-10001",
      verdict: "approve",
    });
    await waitFor(() => expect(model.selected).toBe(2));
  });

  it("r rejects, u undoes, keys typed in the search box are not shortcuts", async () => {
    const { calls } = await renderReview();
    await fireEvent.keyDown(window, { key: "r" });
    await waitFor(() => expect(calls.some((c) => c.cmd === "decide" && c.args.verdict === "reject")).toBe(true));
    await fireEvent.keyDown(window, { key: "u" });
    await waitFor(() => expect(calls.some((c) => c.cmd === "undo_last_decision")).toBe(true));
    const before = calls.length;
    await fireEvent.keyDown(screen.getByTestId("search"), { key: "a" });
    expect(calls.slice(before).some((c) => c.cmd === "decide"), "typing 'a' in search must not approve").toBe(false);
  });

  it("e edits inline and Enter sends a correction", async () => {
    const { calls } = await renderReview();
    await fireEvent.keyDown(window, { key: "e" });
    const input = await screen.findByLabelText("Corrected City");
    await fireEvent.input(input, { target: { value: "Köln" } });
    await fireEvent.keyDown(input, { key: "Enter" });
    await waitFor(() => expect(calls.some((c) => c.cmd === "decide")).toBe(true));
    const decide = calls.find((c) => c.cmd === "decide")!;
    expect(decide.args.verdict).toBe("correct");
    expect(decide.args.corrections).toContainEqual(["City", "Köln"]);
  });

  it("? shows the help overlay listing the shortcuts, Escape closes it", async () => {
    await renderReview();
    await fireEvent.keyDown(window, { key: "?" });
    const help = await screen.findByTestId("help-overlay");
    for (const label of ["Next proposal", "Approve", "Reject", "Undo your last decision"]) {
      expect(help.textContent).toContain(label);
    }
    await fireEvent.keyDown(window, { key: "Escape" });
    await waitFor(() => expect(screen.queryByTestId("help-overlay")).toBeNull());
  });

  it("bulk approve sends the current filter", async () => {
    const { calls } = await renderReview();
    await fireEvent.click(screen.getByTestId("count-update"));
    await waitFor(() => expect(screen.getByTestId("total").textContent).toContain("500000"));
    await fireEvent.click(screen.getByTestId("approve-all"));
    expect(calls.some((c) => c.cmd === "decide_all"), "one click only arms the bulk approval").toBe(false);
    await waitFor(() => expect(screen.getByTestId("approve-all").textContent).toContain("Confirm: approve 500000"));
    await fireEvent.click(screen.getByTestId("approve-all"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "decide_all")).toBe(true));
    const bulk = calls.find((c) => c.cmd === "decide_all")!;
    expect((bulk.args.filter as Filter).kinds).toEqual(["update"]);
    expect(bulk.args.verdict).toBe("approve");
    await waitFor(() => expect(screen.getByTestId("notice").textContent).toContain("Approved 5"));
  });

  it("bulk reject sends the current filter, after its own confirmation", async () => {
    const { calls } = await renderReview();
    await fireEvent.click(screen.getByTestId("count-conflict"));
    await waitFor(() => expect(screen.getByTestId("total").textContent).toContain("500000"));
    await fireEvent.click(screen.getByTestId("approve-all"));
    await fireEvent.click(screen.getByTestId("reject-all"));
    expect(calls.some((c) => c.cmd === "decide_all"), "arming one bulk action does not confirm the other").toBe(false);
    await waitFor(() => expect(screen.getByTestId("reject-all").textContent).toContain("Confirm: reject 500000"));
    expect(screen.getByTestId("approve-all").textContent).toContain("Approve all");
    await fireEvent.click(screen.getByTestId("reject-all"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "decide_all")).toBe(true));
    const bulk = calls.find((c) => c.cmd === "decide_all")!;
    expect((bulk.args.filter as Filter).kinds).toEqual(["conflict"]);
    expect(bulk.args.verdict).toBe("reject");
    await waitFor(() => expect(screen.getByTestId("notice").textContent).toContain("Rejected 5"));
  });

  it("shows the shell's error message and keeps its code", async () => {
    mockIPC((cmd) => {
      if (cmd === "proposal_counts") return {};
      throw { code: "busy", message: "a pull or reconcile is running" };
    });
    const model = new ReviewModel("customers");
    render(Review, { model });
    const banner = await screen.findByTestId("error");
    expect(banner.dataset.code).toBe("busy");
    expect(banner.textContent).toContain("a pull or reconcile is running");
    vi.restoreAllMocks();
  });
});
