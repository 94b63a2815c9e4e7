import { describe, it, expect } from "vitest";
import { render, screen, fireEvent, waitFor, within } from "@testing-library/svelte";
import { mockIPC } from "@tauri-apps/api/mocks";
import Setup from "./Setup.svelte";
import { blankField } from "./setupForm";
import type {
  FieldPreview,
  FieldProblem,
  MappingSuggestion,
  ReconciliationForm,
  SampleRows,
  SetupCheck,
  WorkspaceInfo,
} from "./ipc";

const workspace: WorkspaceInfo = {
  dir: "/ws",
  name: "Demo",
  systems: ["erp", "crm"],
  entities: ["crm_contacts", "erp_customers"],
  reconciliations: [{ name: "customers", left: "erp_customers", right: "crm_contacts", fields: ["Customer Number", "E-mail"] }],
};

const sample: SampleRows = {
  fields: ["customer_no", "email", "city"],
  rows: [
    ["c-10001 ", "A@X.DE", "Berlin"],
    ["c-10002", "b@y.de", "Köln"],
  ],
};

const suggestion: MappingSuggestion = {
  leftFields: ["customer_no", "email", "city"],
  sample,
  fields: [
    { target: "Customer Number", source: "customer_no", score: 0.9, transforms: ["trim", "upper"], leftSamples: ["c-10001 "], rightSamples: ["C-10001"] },
    { target: "E-mail", source: "email", score: 1, transforms: ["email"], leftSamples: ["A@X.DE"], rightSamples: ["a@x.de"] },
    { target: "Notes", source: null, score: 0, transforms: [], leftSamples: [], rightSamples: ["call back"] },
  ],
};

const blank = blankField;

const configured: ReconciliationForm = {
  left: "erp_customers",
  right: "crm_contacts",
  key: ["Customer Number"],
  fields: [
    { ...blank("Customer Number", "customer_no"), transforms: ["trim", "upper"] },
    { ...blank("E-mail", "email"), transforms: ["email"], compare: { ...blank("", "").compare, ignore_case: true } },
  ],
  value_maps: {},
  default_country_code: "49",
};

/** A stand-in for the core's check: the previews and problems it would give for simple cases. */
function coreCheck(form: ReconciliationForm): SetupCheck {
  const problems: FieldProblem[] = [];
  const previews: FieldPreview[] = form.fields.map((f) => {
    if (f.validate.regex === "[a-z")
      problems.push({ field: `fields[${f.target}].validate.regex`, message: "not a valid pattern: unclosed character class" });
    const file = f.value_map ? form.value_maps[f.value_map]?.file : null;
    if (file === "maps/missing.csv")
      problems.push({ field: `value_maps[${f.value_map}].file`, message: "maps/missing.csv: No such file or directory" });
    const col = sample.fields.indexOf(f.source ?? "");
    return {
      target: f.target,
      error: null,
      values: sample.rows.map((r) => {
        let v = r[col] ?? "";
        for (const t of f.transforms) {
          if (t === "trim") v = v.trim();
          else if (t === "upper") v = v.toUpperCase();
          else if (typeof t === "object" && "affix" in t) v = `${t.affix.prefix ?? ""}${v}${t.affix.suffix ?? ""}`;
        }
        const map = f.value_map ? form.value_maps[f.value_map] : null;
        const issue = map && !(v in map.entries) ? `"${v}" is not in value map "${f.value_map}"` : null;
        if (map && !issue) v = map.entries[v]!;
        const rules = f.validate.max_length !== null && v.length > f.validate.max_length ? [`${v.length} characters, at most ${f.validate.max_length} allowed`] : [];
        return { input: r[col], output: v, issue, rules };
      }),
    };
  });
  return { problems, previews };
}

function mockCore() {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC((cmd, payload) => {
    const args = (payload ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    if (cmd === "suggest_mapping") return suggestion;
    if (cmd === "reconciliation_form") return structuredClone(configured);
    if (cmd === "check_reconciliation") return coreCheck(args.form as ReconciliationForm);
    if (cmd === "save_reconciliation") return workspace;
    throw { code: "not_found", message: cmd };
  });
  const last = (cmd: string) => calls.filter((c) => c.cmd === cmd).at(-1)?.args;
  return { calls, last };
}

const row = (target: string) =>
  screen.getByTestId("suggestions").querySelector(`tr[data-target="${target}"]`) as HTMLElement;

describe("reconciliation setup", () => {
  it("suggests a mapping with samples side by side, then saves the edited one", async () => {
    const { last } = mockCore();
    let saved = "";
    render(Setup, { workspace, onsaved: (_ws: WorkspaceInfo, name: string) => (saved = name) });
    await fireEvent.change(screen.getByTestId("setup-left"), { target: { value: "erp_customers" } });
    await fireEvent.change(screen.getByTestId("setup-right"), { target: { value: "crm_contacts" } });
    await fireEvent.click(screen.getByTestId("suggest"));
    await screen.findByTestId("suggestions");
    expect(row("E-mail").textContent).toContain("a@x.de");
    expect(row("Notes").classList.contains("unused")).toBe(true);
    // The left samples go through the core's preview.
    await waitFor(() => expect(row("Customer Number").textContent).toMatch(/c-10001\s+→\s+C-10001/));
    await fireEvent.change(screen.getByLabelText("Owner of E-mail"), { target: { value: "right" } });
    await fireEvent.click(screen.getByTestId("save-reconciliation"));
    await waitFor(() => expect(saved).toBe("erp_customers_to_crm_contacts"));
    const form = last("save_reconciliation")!.form as ReconciliationForm;
    expect(form.left).toBe("erp_customers");
    expect(form.key).toEqual(["Customer Number"]);
    expect(form.fields.map((f) => [f.target, f.source, f.transforms, f.ownership])).toEqual([
      ["Customer Number", "customer_no", ["trim", "upper"], "left"],
      ["E-mail", "email", ["email"], "right"],
    ]);
  });

  it("opens a configured reconciliation; a transform, a value map, a rule and a tolerance are edited, previewed and saved", async () => {
    const { last } = mockCore();
    render(Setup, { workspace });
    await fireEvent.change(screen.getByTestId("setup-open"), { target: { value: "customers" } });
    await screen.findByTestId("suggestions");
    expect(screen.getByTestId("setup-sides").textContent).toContain("erp_customers → crm_contacts");
    expect((screen.getByTestId("setup-name") as HTMLInputElement).value).toBe("customers");
    expect((within(row("E-mail")).getByLabelText("Use E-mail") as HTMLInputElement).checked).toBe(true);
    expect((within(row("Notes")).getByLabelText("Use Notes") as HTMLInputElement).checked).toBe(false);

    // A transform added to the key: the preview shows its effect on the samples.
    await fireEvent.click(screen.getByLabelText("Edit Customer Number"));
    const editor = screen.getByTestId("field-editor");
    await fireEvent.change(within(editor).getByTestId("transform-kind"), { target: { value: "affix" } });
    await fireEvent.click(within(editor).getByTestId("add-transform"));
    await fireEvent.input(within(editor).getByLabelText("Customer Number transform 3 prefix"), { target: { value: "ERP/" } });
    await waitFor(() => expect(within(editor).getByTestId("field-preview").textContent).toContain("ERP/C-10001"));
    const sent = last("check_reconciliation")!;
    expect((sent.sample as SampleRows).rows.length).toBe(2);
    // Reorder: the prefix first, then trim and upper (the preview follows the order).
    await fireEvent.click(within(editor).getByLabelText("Move Customer Number transform 3 up"));
    await fireEvent.click(within(editor).getByLabelText("Move Customer Number transform 2 up"));
    await waitFor(() =>
      expect((last("check_reconciliation")!.form as ReconciliationForm).fields[0].transforms).toEqual([
        { affix: { prefix: "ERP/", suffix: null } },
        "trim",
        "upper",
      ]),
    );

    // A rule the samples break shows on the preview.
    await fireEvent.input(within(editor).getByTestId("rule-max-length"), { target: { value: "5" } });
    await waitFor(() => expect(within(editor).getByTestId("field-preview").textContent).toContain("at most 5 allowed"));

    // E-mail: an inline value map, a tolerance, and a pattern the core refuses, shown at its input.
    await fireEvent.click(screen.getByLabelText("Edit E-mail"));
    const mail = screen.getByTestId("field-editor");
    expect(mail.dataset.target).toBe("E-mail");
    await fireEvent.change(within(mail).getByTestId("value-map-kind"), { target: { value: "inline" } });
    await fireEvent.click(within(mail).getByTestId("add-entry"));
    await fireEvent.input(within(mail).getByLabelText("E-mail value map source 1"), { target: { value: "a@x.de" } });
    await fireEvent.input(within(mail).getByLabelText("E-mail value map target 1"), { target: { value: "ann@x.de" } });
    await waitFor(() => {
      const text = within(mail).getByTestId("field-preview").textContent ?? "";
      expect(text).toContain('"b@y.de" is not in value map "e-mail"');
    });
    await fireEvent.input(within(mail).getByTestId("tolerance-numeric"), { target: { value: "0.01" } });
    await fireEvent.input(within(mail).getByTestId("rule-regex"), { target: { value: "[a-z" } });
    const shown = await within(mail).findByTestId("problem-fields[E-mail].validate.regex");
    expect(shown.textContent).toContain("unclosed character class");
    expect(row("E-mail").classList.contains("invalid")).toBe(true);
    await fireEvent.input(within(mail).getByTestId("rule-regex"), { target: { value: "[a-z@.]+" } });
    await waitFor(() => expect(within(mail).queryByTestId("problem-fields[E-mail].validate.regex")).toBeNull());

    await fireEvent.click(screen.getByTestId("save-reconciliation"));
    await screen.findByTestId("setup-notice");
    const { name, form } = last("save_reconciliation") as { name: string; form: ReconciliationForm };
    expect(name).toBe("customers");
    expect(form.default_country_code).toBe("49");
    const [key, email] = form.fields;
    expect(key.transforms).toEqual([{ affix: { prefix: "ERP/", suffix: null } }, "trim", "upper"]);
    expect(key.validate.max_length).toBe(5);
    expect(email.value_map).toBe("e-mail");
    expect(form.value_maps["e-mail"]).toEqual({ file: null, entries: { "a@x.de": "ann@x.de" }, ignore_case: false });
    expect(email.compare).toEqual({ ...configured.fields[1].compare, numeric: 0.01 });
    expect(email.validate.regex).toBe("[a-z@.]+");
  });

  it("a value map in a CSV file: the file's problem shows at its input", async () => {
    const { last } = mockCore();
    render(Setup, { workspace });
    await fireEvent.change(screen.getByTestId("setup-open"), { target: { value: "customers" } });
    await screen.findByTestId("suggestions");
    await fireEvent.click(screen.getByLabelText("Edit E-mail"));
    const mail = screen.getByTestId("field-editor");
    await fireEvent.change(within(mail).getByTestId("value-map-kind"), { target: { value: "file" } });
    await fireEvent.input(within(mail).getByTestId("value-map-file"), { target: { value: "maps/missing.csv" } });
    const shown = await within(mail).findByTestId("problem-value_maps[e-mail].file");
    expect(shown.textContent).toContain("No such file");
    await fireEvent.input(within(mail).getByTestId("value-map-file"), { target: { value: "maps/mail.csv" } });
    await waitFor(() => expect(within(mail).queryByTestId("problem-value_maps[e-mail].file")).toBeNull());
    await fireEvent.click(screen.getByTestId("save-reconciliation"));
    await screen.findByTestId("setup-notice");
    const form = last("save_reconciliation")!.form as ReconciliationForm;
    expect(form.fields[1].value_map).toBe("e-mail");
    expect(form.value_maps["e-mail"]).toEqual({ file: "maps/mail.csv", entries: {}, ignore_case: false });
  });
});
