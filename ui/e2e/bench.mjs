// Benchmark (not a timed test): with N proposals in the cache (default one
// million), the time from opening the review list to the first rows shown,
// and from a scroll to the rows of a page not loaded yet. Real app, real
// webview, through tauri-driver under Xvfb.
//
//   TRUEUP_APP=... BENCH_ROWS=1000000 xvfb-run -a -s "-screen 0 1400x960x24" node e2e/bench.mjs
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, createWriteStream, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { once } from "node:events";
import assert from "node:assert/strict";
import { Session, waitForServer } from "./webdriver.mjs";

const here = new URL(".", import.meta.url).pathname;
const app = resolve(
  process.env.TRUEUP_APP ?? join(process.env.CARGO_TARGET_DIR ?? join(here, "../../target"), "debug/trueup-desktop"),
);
assert.ok(existsSync(app), `the app is not built at ${app}`);
const rows = Number(process.env.BENCH_ROWS ?? 1_000_000);
const port = Number(process.env.TAURI_DRIVER_PORT ?? 4454);
const base = `http://127.0.0.1:${port}`;

// A workspace whose two CSV files differ in one field on every row:
// every record becomes an `update` proposal.
const home = mkdtempSync(join(tmpdir(), "trueup-bench-"));
const ws = join(home, "ws");
mkdirSync(join(ws, "data"), { recursive: true });
writeFileSync(
  join(ws, "trueup.toml"),
  `[workspace]
name = "Bench: ${rows} proposals"

[systems.left]
kind = "csv"
path = "data/left.csv"

[systems.right]
kind = "csv"
path = "data/right.csv"

[entities.left_rows]
system = "left"
id = ["id"]

[entities.right_rows]
system = "right"
id = ["id"]

[reconciliations.rows]
left = "left_rows"
right = "right_rows"
key = ["id"]

[[reconciliations.rows.fields]]
target = "id"
source = "id"

[[reconciliations.rows.fields]]
target = "name"
source = "name"

[[reconciliations.rows.fields]]
target = "city"
source = "city"
`,
);
async function writeCsv(file, side) {
  const out = createWriteStream(file);
  out.write("id,name,city\n");
  for (let i = 0; i < rows; i++) {
    const line = `R${String(i).padStart(7, "0")},Name ${i},${side === "left" ? "Berlin" : "Bonn"} ${i % 97}\n`;
    if (!out.write(line)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
}
await writeCsv(join(ws, "data/left.csv"), "left");
await writeCsv(join(ws, "data/right.csv"), "right");

const env = { ...process.env, HOME: home, XDG_DATA_HOME: join(home, "data"), XDG_CONFIG_HOME: join(home, "config") };
const driver = spawn("tauri-driver", ["--port", String(port), "--native-port", String(port + 1)], {
  env,
  stdio: ["ignore", "inherit", "inherit"],
});
let s;
try {
  await waitForServer(base);
  s = await Session.create(base, { "tauri:options": { application: app, args: [ws] } });
  await s.find('[data-testid="workspace-name"]');
  let t = Date.now();
  await s.click(await s.find('[data-testid="pull-reconcile"]'));
  await s.find('[data-testid="summary"]', { timeout: 30 * 60 * 1000 });
  console.log(`pull + reconcile of ${rows} x ${rows} rows: ${((Date.now() - t) / 1000).toFixed(1)} s (not the benchmark)`);
  await s.until(`${rows} updates counted`, async () =>
    (await s.text(await s.find('[data-testid="count-update"]'))).includes(String(rows)),
  );

  // Measured inside the page: click, then wait for the frame showing rows.
  const measure = (script) => s.cmd("POST", "/execute/async", { script, args: [] });
  // Two times per opening: the first rows shown, and the total counted
  // (asked after the first rows, so it never holds them back).
  const openList = `
    const done = arguments[arguments.length - 1];
    const t0 = performance.now();
    let first = null;
    document.querySelector('[data-testid="count-all"]').click();
    const check = () => {
      const row = document.querySelector('[role=option][data-key]');
      const total = document.querySelector('[data-testid="total"]')?.textContent ?? '';
      if (row && first === null) first = performance.now() - t0;
      if (first !== null && total.startsWith('${rows} ')) done([first, performance.now() - t0]);
      else requestAnimationFrame(check);
    };
    check();`;
  const toEmpty = `
    const done = arguments[arguments.length - 1];
    document.querySelector('[data-testid="count-orphan"]').click();
    const check = () => (document.querySelector('[role=option][data-key]') ? requestAnimationFrame(check) : done(0));
    check();`;
  const scrollTo = (fraction) => `
    const done = arguments[arguments.length - 1];
    const vp = document.querySelector('[data-testid="proposal-list"]');
    const t0 = performance.now();
    vp.scrollTop = (vp.scrollHeight - vp.clientHeight) * ${fraction};
    vp.dispatchEvent(new Event('scroll'));
    const check = () => {
      const rows = [...document.querySelectorAll('[role=option]')];
      const first = Number(rows[0]?.dataset.index ?? 0);
      if (first > 0 && rows.length && rows.every((r) => r.dataset.key)) requestAnimationFrame(() => done(performance.now() - t0));
      else requestAnimationFrame(check);
    };
    requestAnimationFrame(check);`;
  const stats = (xs) => {
    const v = [...xs].sort((a, b) => a - b);
    return `median ${v[Math.floor(v.length / 2)].toFixed(0)} ms, max ${v.at(-1).toFixed(0)} ms (${v.length} runs)`;
  };
  const open = [];
  const counted = [];
  for (let i = 0; i < 5; i++) {
    await measure(toEmpty);
    const [first, total] = await measure(openList);
    open.push(first);
    counted.push(total);
  }
  const next = [];
  for (const f of [0.13, 0.29, 0.41, 0.57, 0.73, 0.88, 0.97]) next.push(await measure(scrollTo(f)));
  // Scrolling on past the loaded rows: the page after the shown one is
  // fetched ahead (by keyset: the rows after the last one loaded), and the
  // one after that, when reached first, by keyset too. A person reading
  // the list pauses longer than the half second given here.
  const onward = [];
  for (const f of [0.2, 0.4, 0.6, 0.8, 0.95]) {
    await measure(scrollTo(f));
    await new Promise((r) => setTimeout(r, 500));
    onward.push(await measure(scrollTo(f + 150 / rows)));
  }
  // Where the time goes: one page through the IPC alone (no rendering).
  const ipcPage = `
    const done = arguments[arguments.length - 1];
    const filter = { kinds: [], field: null, text: null, decision: null, reason: null };
    const t0 = performance.now();
    window.__TAURI_INTERNALS__.invoke('proposals_after', { reconciliation: 'rows', filter, afterId: 400000, limit: 100 })
      .then((items) => done([performance.now() - t0, JSON.stringify(items).length]));`;
  const ipc = [];
  let bytes = 0;
  for (let i = 0; i < 7; i++) {
    const [ms, n] = await measure(ipcPage);
    ipc.push(ms);
    bytes = n;
  }
  console.log(`one page of 100 through the IPC alone (no rendering): ${stats(ipc)}, ${(bytes / 1024).toFixed(0)} KiB as JSON`);
  console.log(`open review → first rows shown, ${rows} proposals: ${stats(open)}`);
  console.log(`open review → total counted and shown: ${stats(counted)}`);
  console.log(`jump to an unloaded page far away (offset) → rows shown: ${stats(next)}`);
  console.log(`scroll on by 150 rows (next page fetched ahead, or by keyset) → rows shown: ${stats(onward)}`);

  // The same with a category filter, which the cache serves from its
  // (recon, kind, id) index instead of sorting every proposal.
  const openUpdates = openList.replace('count-all', 'count-update');
  const openF = [];
  for (let i = 0; i < 5; i++) {
    await measure(toEmpty);
    openF.push((await measure(openUpdates))[0]);
  }
  const nextF = [];
  for (const f of [0.13, 0.29, 0.41, 0.57, 0.73, 0.88, 0.97]) nextF.push(await measure(scrollTo(f)));
  console.log(`filtered (updates): open → first rows: ${stats(openF)}; scroll → rows: ${stats(nextF)}`);
} finally {
  if (s) await s.close().catch(() => {});
  driver.kill();
}
