import { describe, it, expect } from "vitest";
import { render, screen, fireEvent, waitFor } from "@testing-library/svelte";
import { mockIPC } from "@tauri-apps/api/mocks";
import Systems from "./Systems.svelte";
import type { SystemInfo, WorkspaceInfo } from "./ipc";

const workspace: WorkspaceInfo = { dir: "/ws", name: "Demo", systems: ["erp"], entities: ["erp_customers"], reconciliations: [] };
const erp: SystemInfo = { name: "erp", kind: "sqlite", form: { kind: "sqlite", path: "data/erp.sqlite" }, entities: ["erp_customers"] };
const shop: SystemInfo = { name: "shop", kind: "hubspot", form: null, entities: ["contacts"] };

function fakeShell(keychain: boolean) {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC((cmd, payload) => {
    const args = (payload ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    switch (cmd) {
      case "systems":
        return [erp, shop];
      case "keychain_status":
        return keychain
          ? { available: true, message: null }
          : { available: false, message: "the OS keychain is not available (no Secret Service); keep the secret in an environment variable instead" };
      case "test_system":
        return { description: "SQLite 3.50", entities: ["customers"] };
      case "save_system":
        return workspace;
    }
    throw { code: "not_found", message: cmd };
  });
  return calls;
}

async function addPostgres() {
  await fireEvent.click(await screen.findByTestId("add-system"));
  await fireEvent.input(screen.getByTestId("system-name"), { target: { value: "warehouse" } });
  await fireEvent.change(screen.getByTestId("system-kind"), { target: { value: "postgres" } });
  await fireEvent.input(screen.getByLabelText("Database"), { target: { value: "dw" } });
  await fireEvent.input(screen.getByLabelText("User"), { target: { value: "anna" } });
}

describe("systems", () => {
  it("lists an HTTP system and says where it is configured", async () => {
    fakeShell(true);
    render(Systems, { workspace });
    const item = await screen.findByTestId("system-shop");
    expect(item.textContent).toContain("hubspot");
    expect(item.textContent).toContain("configured in trueup.toml");
    await fireEvent.click(item);
    expect((await screen.findByTestId("system-notice")).textContent).toContain("edit it in trueup.toml");
    expect(screen.queryByTestId("system-path")).toBeNull();
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

  it("sends a typed password to the keychain, never inside the saved settings", async () => {
    const calls = fakeShell(true);
    render(Systems, { workspace });
    await waitFor(() => expect(calls.some((c) => c.cmd === "keychain_status")).toBe(true));
    await addPostgres();
    await fireEvent.input(screen.getByTestId("system-password"), { target: { value: "s3cret" } });
    await fireEvent.click(screen.getByTestId("save-system"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "save_system")).toBe(true));
    const save = calls.find((c) => c.cmd === "save_system")!.args;
    expect(save.password).toBe("s3cret");
    expect(JSON.stringify(save.form)).not.toContain("s3cret");
    expect((await screen.findByTestId("system-notice")).textContent).toContain("OS keychain");
  });

  it("says clearly when there is no keychain and offers an environment variable", async () => {
    const calls = fakeShell(false);
    render(Systems, { workspace });
    await waitFor(() => expect(calls.some((c) => c.cmd === "keychain_status")).toBe(true));
    await addPostgres();
    expect((await screen.findByTestId("keychain-unavailable")).textContent).toContain("environment variable");
    expect(screen.queryByTestId("system-password"), "no password box: nothing to store").toBeNull();
    await fireEvent.input(screen.getByTestId("system-env"), { target: { value: "DW_PASSWORD" } });
    await fireEvent.click(screen.getByTestId("save-system"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "save_system")).toBe(true));
    const save = calls.find((c) => c.cmd === "save_system")!.args;
    expect(save.password).toBeNull();
    expect(save.form).toMatchObject({ kind: "postgres", password: { from: "env", var: "DW_PASSWORD" } });
  });
});
