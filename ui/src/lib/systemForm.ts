// The Systems screen's form model: empty settings per kind, where each kind
// keeps its secret, and field access by the dotted names the core uses in
// its problems (`base_url`, `auth.user`, `http.timeout_secs`).
import type { AuthForm, HttpForm, SecretSource, SystemForm } from "./bindings";

export type Kind = SystemForm["kind"];
export type AuthType = AuthForm["type"];

export const kinds: { kind: Kind; label: string }[] = [
  { kind: "csv", label: "CSV file or folder" },
  { kind: "xlsx", label: "Excel workbook (.xlsx)" },
  { kind: "sqlite", label: "SQLite database" },
  { kind: "postgres", label: "PostgreSQL" },
  { kind: "tryton", label: "Tryton ERP (JSON-RPC)" },
  { kind: "rest", label: "REST API (described in TOML)" },
  { kind: "hubspot", label: "HubSpot CRM (preset)" },
  { kind: "vendure", label: "Vendure shop (preset)" },
];

export const authTypes: { type: AuthType; label: string }[] = [
  { type: "none", label: "None" },
  { type: "basic", label: "Basic (user and password)" },
  { type: "bearer", label: "Bearer token" },
  { type: "api_key", label: "API key (header or query parameter)" },
  { type: "oauth2", label: "OAuth2 client credentials" },
  { type: "session", label: "Session login" },
];

export const isHttp = (k: Kind) => k === "tryton" || k === "rest" || k === "hubspot" || k === "vendure";

/** The core's defaults (docs/http.md). */
export const defaultHttp = (): HttpForm => ({
  connect_timeout_secs: 10,
  timeout_secs: 60,
  max_retries: 4,
  retry_min_delay_ms: 200,
  retry_max_delay_ms: 10000,
  max_retry_after_secs: 120,
  rate_limit: null,
  rate_limit_period_secs: 1,
  rate_limit_burst: null,
  max_pages: 100000,
});

export function blank(kind: Kind): SystemForm {
  switch (kind) {
    case "csv":
      return { kind, path: "", encoding: null, delimiter: null };
    case "xlsx":
    case "sqlite":
      return { kind, path: "" };
    case "postgres":
      return { kind, host: "localhost", port: 5432, user: "", database: "", password: null };
    case "tryton":
      return { kind, url: "", database: "", user: "", password: null, page_size: null, http: defaultHttp() };
    case "rest":
      return { kind, base_url: "", auth: { type: "none" }, http: defaultHttp(), check: null, errors_at: null };
    case "hubspot":
      return { kind, token: null, base_url: null, http: defaultHttp() };
    case "vendure":
      return { kind, base_url: "", user: "", password: null, http: defaultHttp() };
  }
}

export function blankAuth(type: AuthType): AuthForm {
  switch (type) {
    case "none":
      return { type };
    case "basic":
      return { type, user: "", password: null };
    case "bearer":
      return { type, token: null };
    case "api_key":
      return { type, header: "X-API-Key", query: null, prefix: null, key: null };
    case "oauth2":
      return { type, token_url: "", client_id: "", client_secret: null, scope: null };
    case "session":
      return { type, login: "/auth/login", user: "", password: null, body: null, token: null, header: null, prefix: null };
  }
}

/** The field holding the system's secret, as the core names it; null: none. */
export function secretField(f: SystemForm): string | null {
  switch (f.kind) {
    case "postgres":
    case "tryton":
    case "vendure":
      return "password";
    case "hubspot":
      return "token";
    case "rest":
      switch (f.auth.type) {
        case "none":
          return null;
        case "basic":
        case "session":
          return "auth.password";
        case "bearer":
          return "auth.token";
        case "api_key":
          return "auth.key";
        case "oauth2":
          return "auth.client_secret";
      }
  }
  return null;
}

/** What the secret is called on this form. */
export function secretLabel(f: SystemForm): string {
  const field = secretField(f);
  if (field === "auth.token" || field === "token") return "Token";
  if (field === "auth.key") return "API key";
  if (field === "auth.client_secret") return "Client secret";
  return "Password";
}

type Bag = Record<string, unknown>;

export function getPath(form: SystemForm, path: string): unknown {
  let v: unknown = form;
  for (const k of path.split(".")) v = v == null ? undefined : (v as Bag)[k];
  return v;
}

export function setPath(form: SystemForm, path: string, value: unknown) {
  const keys = path.split(".");
  let v = form as unknown as Bag;
  for (const k of keys.slice(0, -1)) v = v[k] as Bag;
  v[keys[keys.length - 1]] = value;
}

export const getSecret = (f: SystemForm): SecretSource | null => {
  const field = secretField(f);
  return field ? ((getPath(f, field) as SecretSource | null) ?? null) : null;
};

export function setSecret(f: SystemForm, s: SecretSource | null) {
  const field = secretField(f);
  if (field) setPath(f, field, s);
}

/** A core error about one field (`systems.NAME.FIELD: ...`): that field. */
export function errorField(message: string): string | null {
  const m = /^(?:.*?: )?systems\.[\w-]+\.([\w.]+): /.exec(message);
  return m ? m[1] : null;
}

/** A new entity's TOML, per kind: what goes under [entities.NAME]. */
export function entityTemplate(kind: Kind): string {
  switch (kind) {
    case "hubspot":
      return 'id = ["email"]\n\n[hubspot]\nobject = "contacts"\nproperties = ["email", "firstname", "lastname"]\n';
    case "vendure":
      return 'id = ["emailAddress"]\n\n[vendure]\nobject = "customers"\n';
    case "tryton":
      return 'table = "parties"\nid = ["code"]\nupdated_at = "updated_at"\n';
    default:
      return (
        '# Where the records are: see docs/http.md.\nid = ["id"]\n\n[rest]\nlist = "/items"\nrecords = "data"\n' +
        'pagination = { style = "offset", limit = 100 }\nget = "/items/{id}"\n'
      );
  }
}
