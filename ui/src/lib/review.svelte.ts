// The review screen's state: the filter, the counts, the pages of proposals
// loaded so far (never all of them), the selection and the decisions.
import { api, asIpcError, emptyFilter } from "./ipc";
import type { BulkOutcome, Filter, IpcError, ProposalRow, Verdict } from "./ipc";

/** Proposals fetched per request. */
export const PAGE_SIZE = 100;

export class ReviewModel {
  readonly reconciliation: string;
  filter: Filter = $state(emptyFilter());
  total = $state(0);
  counts: Record<string, number> = $state({});
  pages: Record<number, ProposalRow[]> = $state({});
  selected = $state(0);
  error: IpcError | null = $state(null);
  notice: string | null = $state(null);
  loaded = $state(false);
  /** Whether `total` is the count, not yet only the rows of the first page. */
  counted = $state(false);
  #generation = 0;
  #loading = new Set<number>();

  constructor(reconciliation: string) {
    this.reconciliation = reconciliation;
  }

  /** The row at list index `i`, when its page is loaded. */
  rowAt(i: number): ProposalRow | undefined {
    return this.pages[Math.floor(i / PAGE_SIZE)]?.[i % PAGE_SIZE];
  }

  get current(): ProposalRow | undefined {
    return this.rowAt(this.selected);
  }

  /** Forgets every page and loads the counts and the first page again. */
  async reload(): Promise<void> {
    const generation = ++this.#generation;
    this.#loading.clear();
    const countsFilter = { ...this.filter, kinds: [] };
    this.counted = false;
    try {
      // The first rows come by keyset, without a count (fast at any size),
      // and are shown at once; the counts per category (a scan of the
      // filtered proposals) are asked only then, so they never hold the
      // first rows back (the workspace answers one request at a time).
      const items = await api.proposalsAfter(this.reconciliation, this.filter, null, PAGE_SIZE);
      if (generation !== this.#generation) return;
      this.pages = { 0: items };
      this.total = items.length; // until the counts say how many
      this.counted = items.length < PAGE_SIZE;
      const counts = await api.proposalCounts(this.reconciliation, countsFilter);
      if (generation !== this.#generation) return;
      this.counts = counts;
      this.total = this.filter.kinds.length
        ? this.filter.kinds.reduce((n, k) => n + (counts[k] ?? 0), 0)
        : (counts.all ?? 0);
      this.counted = true;
      this.selected = Math.min(this.selected, Math.max(0, this.total - 1));
      await this.ensure(this.selected, this.selected);
      this.error = null;
    } catch (e) {
      this.error = asIpcError(e);
    }
    this.loaded = true;
  }

  /** Loads the pages covering list indexes `from..=to` that are not loaded yet. */
  async ensure(from: number, to: number): Promise<void> {
    const generation = this.#generation;
    const first = Math.max(0, Math.floor(from / PAGE_SIZE));
    const last = Math.floor(Math.max(from, to) / PAGE_SIZE);
    const wanted: Promise<void>[] = [];
    for (let p = first; p <= last; p++) {
      if (p * PAGE_SIZE >= this.total) break;
      if (this.pages[p] || this.#loading.has(p)) continue;
      wanted.push(this.#fetchPage(p, generation, false));
    }
    try {
      await Promise.all(wanted);
    } catch (e) {
      this.error = asIpcError(e);
      return;
    }
    this.#fetchAhead(last, generation);
  }

  /** Fetches the page after `last` (by keyset) before it is scrolled to,
   * so scrolling on shows rows without waiting for the shell. */
  #fetchAhead(last: number, generation: number): void {
    const ahead = last + 1;
    if (generation !== this.#generation || ahead * PAGE_SIZE >= this.total) return;
    if (this.pages[ahead] || this.#loading.has(ahead) || this.pages[last]?.length !== PAGE_SIZE) return;
    this.#fetchPage(ahead, generation, false).catch((e) => (this.error = asIpcError(e)));
  }

  async #fetchPage(p: number, generation: number, fresh: boolean): Promise<void> {
    this.#loading.add(p);
    try {
      // The page after a loaded one comes by keyset (rows after its last id:
      // no OFFSET to skip, no count); any other page by offset, with the total.
      const before = fresh ? undefined : this.pages[p - 1];
      if (before?.length === PAGE_SIZE) {
        const items = await api.proposalsAfter(this.reconciliation, this.filter, before[PAGE_SIZE - 1].id, PAGE_SIZE);
        if (generation !== this.#generation) return;
        this.pages[p] = items;
        return;
      }
      const page = await api.proposals(this.reconciliation, this.filter, p * PAGE_SIZE, PAGE_SIZE);
      if (generation !== this.#generation) return;
      if (fresh) this.pages = {};
      this.pages[p] = page.items;
      this.total = page.total;
    } finally {
      this.#loading.delete(p);
    }
  }

  async setFilter(change: Partial<Filter>): Promise<void> {
    this.filter = { ...this.filter, ...change };
    this.selected = 0;
    await this.reload();
  }

  select(i: number): void {
    if (this.total === 0) return;
    this.selected = Math.max(0, Math.min(this.total - 1, i));
    void this.ensure(this.selected, this.selected);
  }

  next(): void {
    this.select(this.selected + 1);
  }

  prev(): void {
    this.select(this.selected - 1);
  }

  /** Decides on the selected proposal; on success moves to the next one. */
  async decide(verdict: Verdict, corrections: [string, string | null][] = []): Promise<boolean> {
    const row = this.current;
    if (!row) return false;
    try {
      await api.decide(this.reconciliation, row.matchKey, verdict, corrections);
      this.error = null;
      this.notice = `${verdictPast(verdict)} ${row.displayKey}`;
      await this.#refreshLoaded();
      // Filtered by decision, the decided row leaves the list and the next
      // one takes its place; otherwise step to the next row.
      if (this.filter.decision) this.select(this.selected);
      else this.next();
      return true;
    } catch (e) {
      this.error = asIpcError(e);
      return false;
    }
  }

  async undo(): Promise<void> {
    try {
      const d = await api.undoLastDecision(this.reconciliation);
      this.notice = d ? `Undid ${d.verdict} on ${d.matchKey.replaceAll("\u001f", " / ")}` : "Nothing to undo";
      this.error = null;
      await this.#refreshLoaded();
    } catch (e) {
      this.error = asIpcError(e);
    }
  }

  /** Approves, or rejects, every proposal matching the current filter. */
  async decideAll(verdict: "approve" | "reject"): Promise<BulkOutcome | null> {
    const [done, failed] = verdict === "approve" ? ["Approved", "approved"] : ["Rejected", "rejected"];
    try {
      const outcome = await api.decideAll(this.reconciliation, this.filter, verdict);
      this.notice =
        `${done} ${outcome.decided}` +
        (outcome.refused.length ? `; ${outcome.refused.length} could not be ${failed}` : "");
      this.error = null;
      await this.#refreshLoaded();
      return outcome;
    } catch (e) {
      this.error = asIpcError(e);
      return null;
    }
  }

  /** Decisions change what a filtered list holds: reload the loaded pages. */
  async #refreshLoaded(): Promise<void> {
    const loaded = Object.keys(this.pages).map(Number);
    const generation = ++this.#generation;
    this.#loading.clear();
    const fresh: Record<number, ProposalRow[]> = {};
    let total = this.total;
    await Promise.all(
      loaded.map(async (p) => {
        const page = await api.proposals(this.reconciliation, this.filter, p * PAGE_SIZE, PAGE_SIZE);
        fresh[p] = page.items;
        total = page.total;
      }),
    );
    if (generation !== this.#generation) return;
    this.pages = fresh;
    this.total = total;
    if (this.filter.decision) {
      this.counts = await api.proposalCounts(this.reconciliation, { ...this.filter, kinds: [] });
    }
    this.selected = Math.min(this.selected, Math.max(0, total - 1));
  }
}

export function verdictPast(v: Verdict): string {
  return { approve: "Approved", reject: "Rejected", correct: "Corrected", delete: "Approved delete of" }[v];
}
