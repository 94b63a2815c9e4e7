// End to end in the real webview: the built app, driven through tauri-driver
// and WebKitWebDriver (run under xvfb-run). Journey: open the demo →
// pull & reconcile → see counts → filter → open a proposal → approve with the
// keyboard, reject one, correct one → undo/redo → export decisions to CSV and
// check the file. Screenshots of each main screen go to $E2E_ARTIFACTS.
//
//   TRUEUP_APP=/path/to/trueup-desktop xvfb-run -a node e2e/journey.mjs
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import { Session, waitForServer } from "./webdriver.mjs";

const here = new URL(".", import.meta.url).pathname;
const app = resolve(
  process.env.TRUEUP_APP ??
    join(process.env.CARGO_TARGET_DIR ?? join(here, "../../target"), "debug/trueup-desktop"),
);
const artifacts = resolve(process.env.E2E_ARTIFACTS ?? join(here, "artifacts"));
const port = Number(process.env.TAURI_DRIVER_PORT ?? 4444);
const base = `http://127.0.0.1:${port}`;
assert.ok(existsSync(app), `the app is not built at ${app} (set TRUEUP_APP)`);
mkdirSync(artifacts, { recursive: true });

// A fresh home: the demo workspace and the recent list start empty.
const home = mkdtempSync(join(tmpdir(), "trueup-e2e-"));
const env = {
  ...process.env,
  HOME: home,
  XDG_DATA_HOME: join(home, "data"),
  XDG_CONFIG_HOME: join(home, "config"),
  XDG_CACHE_HOME: join(home, "cache"),
  TRUEUP_WORKSPACE: "",
  // The native save dialog cannot be driven through WebDriver: the shell
  // takes this answer instead of showing it.
  TRUEUP_TEST_EXPORT_PATH: join(home, "decisions.csv"),
};
delete env.TRUEUP_WORKSPACE;

const driver = spawn("tauri-driver", ["--port", String(port), "--native-port", String(port + 1)], {
  env,
  stdio: ["ignore", "inherit", "inherit"],
});
let session;
const steps = [];
async function step(name, f) {
  const t = Date.now();
  await f();
  steps.push(`${name} (${Date.now() - t} ms)`);
  console.log(`ok - ${name}`);
}
async function shot(name) {
  await sleep(400); // the frame after the last change
  writeFileSync(join(artifacts, `${name}.png`), await session.screenshot());
}

try {
  await waitForServer(base);
  session = await Session.create(base, { "tauri:options": { application: app } });
  const s = session; // the first session; the last step opens another

  await step("start screen offers the demo", async () => {
    await s.find('[data-testid="open-demo"]');
    await shot("01-start");
  });

  await step("open the demo workspace in one click", async () => {
    await s.click(await s.find('[data-testid="open-demo"]'));
    const name = await s.text(await s.find('[data-testid="workspace-name"]'));
    assert.match(name, /Demo/, "the demo workspace's name is shown");
  });

  let counts;
  await step("pull and reconcile, then see counts per category", async () => {
    await s.click(await s.find('[data-testid="pull-reconcile"]'));
    await s.find('[data-testid="summary"]', { timeout: 60000 });
    counts = {};
    for (const k of ["in_sync", "create", "update", "orphan", "conflict"]) {
      const t = await s.text(await s.find(`[data-testid="summary-${k}"]`));
      counts[k] = Number(t.replace(/\D+/g, ""));
    }
    assert.ok(counts.update > 0 && counts.conflict > 0, `the demo has updates and conflicts: ${JSON.stringify(counts)}`);
    const all = await s.text(await s.find('[data-testid="count-all"]'));
    assert.equal(
      Number(all.replace(/\D+/g, "")),
      counts.create + counts.update + counts.orphan + counts.conflict,
      "the review's total is every proposal that needs attention",
    );
    await s.find('[role="option"][data-key]');
    await shot("02-review");
  });

  await step("filter by category", async () => {
    await s.click(await s.find('[data-testid="count-update"]'));
    await s.until("the update filter", async () => {
      const t = await s.text(await s.find('[data-testid="total"]'));
      return Number(t.replace(/\D+/g, "")) === counts.update;
    });
    const kinds = await s.exec(
      "return [...document.querySelectorAll('[role=option] .kind')].map(e => e.textContent.trim())",
    );
    assert.ok(kinds.length > 0 && kinds.every((k) => k === "update"), `only updates are listed: ${kinds}`);
  });

  let approvedKey, rejectedKey, correctedKey;
  await step("open a proposal and approve it with the keyboard", async () => {
    const rows = await s.findAll('[role="option"][data-key]');
    approvedKey = await s.attr(rows[0], "data-key");
    await s.click(rows[0]);
    await s.until("the record view", async () => (await s.text(await s.find('[data-testid="record-key"]'))) === approvedKey);
    const differs = await s.findAll("tr.differs");
    assert.ok(differs.length > 0, "the differing fields are highlighted");
    await shot("03-record");
    await s.keys("a");
    await s.until("the approval in the list", async () =>
      (await s.exec(`return document.querySelector('[data-key="${approvedKey}"] .decision')?.textContent`)) === "approve",
    );
  });

  await step("reject the next one with the keyboard", async () => {
    rejectedKey = await s.text(await s.find('[data-testid="record-key"]'));
    assert.notEqual(rejectedKey, approvedKey, "approving moved to the next proposal");
    await s.keys("r");
    await s.until("the rejection in the list", async () =>
      (await s.exec(`return document.querySelector('[data-key="${rejectedKey}"] .decision')?.textContent`)) === "reject",
    );
  });

  await step("undo the rejection, then reject again", async () => {
    await s.keys("u");
    await s.until("the undo", async () =>
      (await s.exec(`return document.querySelector('[data-key="${rejectedKey}"] .decision')?.textContent ?? null`)) === null,
    );
    await s.keys("kr");
    await s.until("the rejection again", async () =>
      (await s.exec(`return document.querySelector('[data-key="${rejectedKey}"] .decision')?.textContent`)) === "reject",
    );
  });

  const setInput = (el, value) =>
    s.exec("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}))", [
      { "element-6066-11e4-a52e-4f735466cecf": el },
      value,
    ]);

  await step("a correction that breaks a validation rule is refused with its reason", async () => {
    correctedKey = await s.text(await s.find('[data-testid="record-key"]'));
    await s.keys("e");
    const number = await s.find('tr[data-field="Customer Number"] input');
    await setInput(number, "");
    await s.type(number, "not-a-number\uE007"); // Enter
    const banner = await s.find('[data-testid="error"]');
    assert.equal(await s.attr(banner, "data-code"), "validation", "the UI gets the error's code");
    assert.match(await s.text(banner), /not-a-number.*C-\[0-9\]\{5\}/, "the message says which value broke which rule");
    await shot("04-validation");
  });

  await step("correct it inline", async () => {
    await setInput(await s.find('tr[data-field="Customer Number"] input'), correctedKey.toUpperCase());
    const city = await s.find('tr[data-field="City"] input');
    await setInput(city, "");
    await s.type(city, "Corrected by e2e");
    await shot("05-correct");
    await s.type(city, "\uE007"); // Enter
    await s.until("the correction in the list", async () =>
      (await s.exec(`return document.querySelector('[data-key="${correctedKey}"] .decision')?.textContent`)) === "correct",
    );
  });

  await step("help overlay lists the shortcuts", async () => {
    await s.keys("?");
    const help = await s.text(await s.find('[data-testid="help-overlay"]'));
    assert.match(help, /Approve/);
    await shot("06-help");
    await s.keys("\uE00C"); // Escape
    await s.until("the overlay closes", async () => (await s.findAll('[data-testid="help-overlay"]')).length === 0);
  });

  const out = env.TRUEUP_TEST_EXPORT_PATH;
  await step("export decisions to CSV through the save dialog", async () => {
    const select = await s.find('[data-testid="export-kind"]');
    await s.exec("arguments[0].value = 'decisions'; arguments[0].dispatchEvent(new Event('change', {bubbles: true}))", [
      { "element-6066-11e4-a52e-4f735466cecf": select },
    ]);
    await s.click(await s.find('[data-testid="export"]'));
    const notice = await s.until("the export notice", async () => {
      const t = await s.text(await s.find('[data-testid="notice"]'));
      return t.startsWith("Exported") ? t : null;
    });
    assert.match(notice, /Exported 4 rows/, "every decision is exported: approve, reject (undone), reject, correct");
    const csv = readFileSync(out, "utf8");
    assert.ok(csv.startsWith("\uFEFF"), "the BOM is on by default, for Excel");
    const lines = csv.replace(/^\uFEFF/, "").trim().split(/\r?\n/);
    assert.equal(lines[0], "key,verdict,state,who,at,origin,values,values_sha256");
    const find = (key, verdict, state) =>
      lines.find((l) => l.startsWith(`${key},${verdict},${state},`) && l.includes(",desktop,"));
    assert.ok(find(approvedKey, "approve", "current"), `approval of ${approvedKey} exported:\n${csv}`);
    assert.ok(find(rejectedKey, "reject", "current"), `rejection of ${rejectedKey} exported`);
    assert.ok(find(rejectedKey, "reject", "undone"), `the undone rejection is kept in the audit trail`);
    const corrected = find(correctedKey, "correct", "current");
    assert.ok(corrected && corrected.includes("City=Corrected by e2e"), `the corrected value is what was approved:\n${csv}`);
    await shot("07-exported");
  });

  await step("history lists the pulls and the reconcile", async () => {
    await s.click(await s.find('[data-testid="tab-history"]'));
    const t = await s.text(await s.find('[data-testid="history"]'));
    assert.match(t, /reconcile/);
    assert.match(t, /pull/);
    await shot("08-history");
  });

  await step("the app opens a demo workspace given on the command line (run-desktop-demo.sh)", async () => {
    await s.close();
    session = null;
    const dir = join(home, "cli-demo");
    session = await Session.create(base, { "tauri:options": { application: app, args: ["--demo", dir] } });
    const name = await session.text(await session.find('[data-testid="workspace-name"]'));
    assert.match(name, /Demo/, "the workspace opens without the start screen");
    assert.ok(existsSync(join(dir, "trueup.toml")), "the demo workspace was created in the folder given");
  });

  console.log(`\njourney passed: ${steps.length} steps; screenshots in ${artifacts}`);
} catch (e) {
  if (session) {
    try {
      writeFileSync(join(artifacts, "failure.png"), await session.screenshot());
    } catch {
      // the screenshot is a bonus
    }
  }
  console.error(`journey FAILED after: ${steps.join(", ") || "nothing"}\n`, e);
  process.exitCode = 1;
} finally {
  if (session) await session.close().catch(() => {});
  driver.kill();
}
