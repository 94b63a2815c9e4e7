import { describe, it, expect } from "vitest";
import { render, screen, fireEvent, waitFor } from "@testing-library/svelte";
import { mockIPC } from "@tauri-apps/api/mocks";
import Systems from "./Systems.svelte";
import type { FieldProblem, SystemForm, SystemInfo, WorkspaceInfo } from "./ipc";
import { defaultHttp } from "./systemForm";

const workspace: WorkspaceInfo = { dir: "/ws", name: "Demo", systems: ["erp"], entities: ["erp_customers"], reconciliations: [] };
const erp: SystemInfo = { name: "erp", kind: "sqlite", form: { kind: "sqlite", path: "data/erp.sqlite" }, entities: ["erp_customers"] };
const shop: SystemInfo = {
  name: "shop",
  kind: "hubspot",
  form: { kind: "hubspot", token: { from: "env", var: "HUBSPOT_TOKEN" }, base_url: null, http: defaultHttp() },
  entities: ["contacts"],
};

type Call = { cmd: string; args: Record<string, unknown> };

/** A fake shell; `answers` overrides commands (a thrown value is an IpcError). */
function fakeShell(keychain: boolean, answers: Record<string, (args: Record<string, unknown>) => unknown> = {}) {
  const calls: Call[] = [];
  const list = [erp, shop];
  mockIPC((cmd, payload) => {
    const args = (payload ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    if (answers[cmd]) return answers[cmd](args);
    switch (cmd) {
      case "systems":
        return list;
      case "keychain_status":
        return keychain
          ? { available: true, message: null }
          : { available: false, message: "the OS keychain is not available (no Secret Service); keep the secret in an environment variable instead" };
      case "system_problems":
        return problemsOf(args.form as SystemForm, args.secretTyped as boolean);
      case "test_system":
        return { description: "SQLite 3.50", entities: ["customers"], sample: null };
      case "save_system": {
        const name = args.name as string;
        if (!list.some((s) => s.name === name)) {
          const form = args.form as SystemForm;
          list.push({ name, kind: form.kind, form, entities: [] });
        }
        return workspace;
      }
      case "save_entity_toml":
      case "delete_system":
      case "rename_system":
        return workspace;
    }
    throw { code: "not_found", message: cmd };
  });
  return calls;
}

/** A little of what the core checks, enough for these tests. */
function problemsOf(form: SystemForm, secretTyped: boolean): FieldProblem[] {
  const p: FieldProblem[] = [];
  if (form.kind === "rest" && !/^https?:\/\/\w/.test(form.base_url))
    p.push({ field: "base_url", message: `"${form.base_url}" is not an http:// or https:// URL` });
  if (form.kind === "hubspot" && !form.token && !secretTyped)
    p.push({ field: "token", message: "type the secret (it goes to the OS keychain), or name an environment variable" });
  return p;
}

const saved = (calls: Call[]) => calls.filter((c) => c.cmd === "save_system").map((c) => c.args);

async function addPostgres() {
  await fireEvent.click(await screen.findByTestId("add-system"));
  await fireEvent.input(screen.getByTestId("system-name"), { target: { value: "warehouse" } });
  await fireEvent.change(screen.getByTestId("system-kind"), { target: { value: "postgres" } });
  await fireEvent.input(screen.getByLabelText("Database"), { target: { value: "dw" } });
  await fireEvent.input(screen.getByLabelText("User"), { target: { value: "anna" } });
}

async function ready(calls: Call[]) {
  await waitFor(() => expect(calls.some((c) => c.cmd === "keychain_status")).toBe(true));
}

describe("systems", () => {
  it("lists an HTTP system with its settings, ready to edit", async () => {
    fakeShell(true);
    render(Systems, { workspace });
    const item = await screen.findByTestId("system-shop");
    expect(item.textContent).toContain("hubspot");
    expect(item.textContent).toContain("api.hubapi.com");
    await fireEvent.click(item);
    expect((screen.getByTestId("system-kind") as HTMLSelectElement).value).toBe("hubspot");
    expect((screen.getByTestId("system-env") as HTMLInputElement).value).toBe("HUBSPOT_TOKEN");
    expect(screen.getByTestId("system-entities").textContent).toContain("contacts");
  });

  it("lists systems and tests a connection", async () => {
    const calls = fakeShell(true);
    render(Systems, { workspace });
    await fireEvent.click(await screen.findByTestId("system-erp"));
    expect((screen.getByTestId("system-path") as HTMLInputElement).value).toBe("data/erp.sqlite");
    await fireEvent.click(screen.getByTestId("test-system"));
    expect((await screen.findByTestId("test-result")).textContent).toContain("SQLite 3.50");
    expect(calls.find((c) => c.cmd === "test_system")?.args).toMatchObject({
      name: "erp",
      form: { kind: "sqlite", path: "data/erp.sqlite" },
      password: null,
    });
  });

  it("adds a REST system: validated as typed, token to the keychain, an entity as TOML with its error shown", async () => {
    const calls = fakeShell(true, {
      save_entity_toml: (args) => {
        if (String(args.text).includes("list = \n"))
          throw { code: "validation", message: "entities.items: line 4, column 8: string values must be quoted" };
        return workspace;
      },
      test_system: () => ({
        description: "REST API at http://127.0.0.1:8055 answered 200 to GET /items",
        entities: ["items"],
        sample: { entity: "items", fields: [["id", "1"], ["name", "Ann Lee"]] },
      }),
    });
    render(Systems, { workspace });
    await ready(calls);
    await fireEvent.click(await screen.findByTestId("add-system"));
    await fireEvent.input(screen.getByTestId("system-name"), { target: { value: "backoffice" } });
    await fireEvent.change(screen.getByTestId("system-kind"), { target: { value: "rest" } });
    // A URL without its scheme: the core's message shows at the field.
    await fireEvent.input(screen.getByTestId("f-base_url"), { target: { value: "127.0.0.1:8055" } });
    expect((await screen.findByTestId("problem-base_url")).textContent).toContain("is not an http:// or https:// URL");
    await fireEvent.input(screen.getByTestId("f-base_url"), { target: { value: "http://127.0.0.1:8055" } });
    await waitFor(() => expect(screen.queryByTestId("problem-base_url")).toBeNull());
    await fireEvent.change(screen.getByTestId("auth-type"), { target: { value: "bearer" } });
    expect(screen.getByTestId("secret").textContent).toContain("Token");
    await fireEvent.input(screen.getByTestId("system-password"), { target: { value: "tok-123" } });
    await fireEvent.click(screen.getByTestId("save-system"));
    await waitFor(() => expect(saved(calls)).toHaveLength(1));
    const save = saved(calls)[0];
    expect(save.password).toBe("tok-123");
    expect(save.form).toMatchObject({ kind: "rest", base_url: "http://127.0.0.1:8055", auth: { type: "bearer", token: null } });
    expect(JSON.stringify(save.form)).not.toContain("tok-123");
    expect((await screen.findByTestId("system-notice")).textContent).toContain("token is in the OS keychain");

    // Its entities are TOML, checked by the core's parser.
    await fireEvent.click(await screen.findByTestId("add-entity"));
    await fireEvent.input(screen.getByTestId("entity-name"), { target: { value: "items" } });
    const toml = screen.getByTestId("entity-toml") as HTMLTextAreaElement;
    expect(toml.value).toContain("[rest]");
    await fireEvent.input(toml, { target: { value: 'id = ["id"]\n\n[rest]\nlist = \n' } });
    await fireEvent.click(screen.getByTestId("save-entity"));
    expect((await screen.findByTestId("entity-error")).textContent).toContain("line 4, column 8");
    await fireEvent.input(toml, { target: { value: 'id = ["id"]\n\n[rest]\nlist = "/items"\nrecords = "data"\n' } });
    await fireEvent.click(screen.getByTestId("save-entity"));
    await waitFor(() => expect(screen.queryByTestId("entity-toml")).toBeNull());
    expect(calls.filter((c) => c.cmd === "save_entity_toml").at(-1)?.args).toMatchObject({ name: "items", system: "backoffice" });

    // The test shows one sample record.
    await fireEvent.click(screen.getByTestId("test-system"));
    const sample = await screen.findByTestId("test-sample");
    expect(sample.textContent).toContain("Ann Lee");
  });

  it("adds a HubSpot system with its token in the keychain", async () => {
    const calls = fakeShell(true);
    render(Systems, { workspace });
    await ready(calls);
    await fireEvent.click(await screen.findByTestId("add-system"));
    await fireEvent.input(screen.getByTestId("system-name"), { target: { value: "crm" } });
    await fireEvent.change(screen.getByTestId("system-kind"), { target: { value: "hubspot" } });
    // Save with no token: refused in place, naming the field.
    await fireEvent.click(screen.getByTestId("save-system"));
    expect((await screen.findByTestId("problem-token")).textContent).toContain("type the secret");
    expect(saved(calls)).toHaveLength(0);
    await fireEvent.input(screen.getByTestId("system-password"), { target: { value: "pat-na1-secret" } });
    await waitFor(() => expect(screen.queryByTestId("problem-token")).toBeNull());
    await fireEvent.click(screen.getByTestId("save-system"));
    await waitFor(() => expect(saved(calls)).toHaveLength(1));
    const save = saved(calls)[0];
    expect(save.password).toBe("pat-na1-secret");
    expect(save.form).toMatchObject({ kind: "hubspot", token: null, base_url: null });
    expect(JSON.stringify(save.form)).not.toContain("pat-na1-secret");
  });

  it("adds a Tryton system: server, database, login, password to the keychain, rate limit", async () => {
    const calls = fakeShell(true);
    render(Systems, { workspace });
    await ready(calls);
    await fireEvent.click(await screen.findByTestId("add-system"));
    await fireEvent.input(screen.getByTestId("system-name"), { target: { value: "erp2" } });
    await fireEvent.change(screen.getByTestId("system-kind"), { target: { value: "tryton" } });
    await fireEvent.input(screen.getByTestId("f-url"), { target: { value: "https://erp.example.com" } });
    await fireEvent.input(screen.getByTestId("f-database"), { target: { value: "acme" } });
    await fireEvent.input(screen.getByTestId("f-user"), { target: { value: "admin" } });
    await fireEvent.input(screen.getByTestId("f-http.rate_limit"), { target: { value: "20" } });
    await fireEvent.input(screen.getByTestId("system-password"), { target: { value: "pw-tryton" } });
    await fireEvent.click(screen.getByTestId("save-system"));
    await waitFor(() => expect(saved(calls)).toHaveLength(1));
    const save = saved(calls)[0];
    expect(save.password).toBe("pw-tryton");
    expect(save.form).toMatchObject({
      kind: "tryton",
      url: "https://erp.example.com",
      database: "acme",
      user: "admin",
      password: null,
      http: { rate_limit: 20, timeout_secs: 60 },
    });
  });

  it("shows the core's errors with their category and field", async () => {
    const calls = fakeShell(true, {
      test_system: () => {
        throw { code: "auth", message: "shop: auth: 401 Unauthorized from GET /crm/v3/objects/contacts: Authentication credentials not found" };
      },
      save_system: () => {
        throw { code: "config", message: "trueup.toml: systems.shop.http.timeout_secs: at least 1 second" };
      },
      delete_system: () => {
        throw { code: "validation", message: 'system "shop" is used by entity contacts; delete or move it first' };
      },
    });
    render(Systems, { workspace });
    await ready(calls);
    await fireEvent.click(await screen.findByTestId("system-shop"));
    await fireEvent.click(screen.getByTestId("test-system"));
    const err = await screen.findByTestId("system-error");
    expect(err.dataset.code).toBe("auth");
    expect(err.textContent).toContain("Authentication credentials not found");

    await fireEvent.click(screen.getByTestId("save-system"));
    expect((await screen.findByTestId("problem-http.timeout_secs")).textContent).toContain("at least 1 second");

    await fireEvent.click(screen.getByTestId("delete-system"));
    await fireEvent.click(screen.getByTestId("confirm-delete-system"));
    await waitFor(() => expect(screen.getByTestId("system-error").textContent).toContain("used by entity contacts"));
  });

  it("renames a system", async () => {
    const calls = fakeShell(true);
    render(Systems, { workspace });
    await fireEvent.click(await screen.findByTestId("system-erp"));
    await fireEvent.click(screen.getByTestId("rename-system"));
    await fireEvent.input(screen.getByTestId("rename-to"), { target: { value: "erp_main" } });
    await fireEvent.click(screen.getByTestId("rename-ok"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "rename_system")).toBe(true));
    expect(calls.find((c) => c.cmd === "rename_system")?.args).toMatchObject({ from: "erp", to: "erp_main" });
  });

  it("sends a typed password to the keychain, never inside the saved settings", async () => {
    const calls = fakeShell(true);
    render(Systems, { workspace });
    await ready(calls);
    await addPostgres();
    await fireEvent.input(screen.getByTestId("system-password"), { target: { value: "s3cret" } });
    await fireEvent.click(screen.getByTestId("save-system"));
    await waitFor(() => expect(saved(calls)).toHaveLength(1));
    const save = saved(calls)[0];
    expect(save.password).toBe("s3cret");
    expect(JSON.stringify(save.form)).not.toContain("s3cret");
    expect((await screen.findByTestId("system-notice")).textContent).toContain("OS keychain");
  });

  it("says clearly when there is no keychain and offers an environment variable", async () => {
    const calls = fakeShell(false);
    render(Systems, { workspace });
    await ready(calls);
    await addPostgres();
    expect((await screen.findByTestId("keychain-unavailable")).textContent).toContain("environment variable");
    expect(screen.queryByTestId("system-password"), "no password box: nothing to store").toBeNull();
    await fireEvent.input(screen.getByTestId("system-env"), { target: { value: "DW_PASSWORD" } });
    await fireEvent.click(screen.getByTestId("save-system"));
    await waitFor(() => expect(saved(calls)).toHaveLength(1));
    const save = saved(calls)[0];
    expect(save.password).toBeNull();
    expect(save.form).toMatchObject({ kind: "postgres", password: { from: "env", var: "DW_PASSWORD" } });
  });
});
