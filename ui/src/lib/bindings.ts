// Generated from src-tauri/src/json.rs by ts-rs. Do not edit by hand:
// UPDATE_BINDINGS=1 cargo test -p trueup-desktop --test bindings

export type ErrorCode = "config" | "input" | "io" | "cache" | "network" | "auth" | "permission" | "conflict" | "protocol" | "system" | "not_found" | "validation" | "cancelled" | "transient" | "rate_limit" | "no_workspace" | "busy";

export type IpcError = { 
/**
 * What kind of failure.
 */
code: ErrorCode, 
/**
 * A sentence for people (file, line, field where known).
 */
message: string, };

export type ReconciliationInfo = { 
/**
 * Its name in the workspace.
 */
name: string, 
/**
 * The left entity.
 */
left: string, 
/**
 * The right entity.
 */
right: string, 
/**
 * The target fields, in mapping order.
 */
fields: Array<string>, };

export type WorkspaceInfo = { 
/**
 * The workspace folder.
 */
dir: string, 
/**
 * Its display name.
 */
name: string, 
/**
 * The systems, by name.
 */
systems: Array<string>, 
/**
 * The entities, by name.
 */
entities: Array<string>, 
/**
 * The reconciliations.
 */
reconciliations: Array<ReconciliationInfo>, };

export type Kind = "in_sync" | "create" | "update" | "orphan" | "conflict";

export type FieldStatus = "same" | "update" | "conflict" | "kept" | "ignored";

export type FieldDiff = { 
/**
 * The target field.
 */
field: string, 
/**
 * Left value after mapping.
 */
left: string | null, 
/**
 * Right value.
 */
right: string | null, 
/**
 * Last value known to agree.
 */
baseline: string | null, 
/**
 * The value that would be sent.
 */
proposed: string | null, 
/**
 * How it compares.
 */
status: FieldStatus, 
/**
 * Why.
 */
note: string | null, };

export type Reason = { 
/**
 * both_changed, manual, duplicate_key, unmapped_value, ...
 */
code: string, 
/**
 * The field concerned.
 */
field: string | null, 
/**
 * A sentence for people.
 */
message: string, };

export type ProposalRow = { 
/**
 * Row id (stable until the next reconcile).
 */
id: number, 
/**
 * The raw match key (pass it back to decide).
 */
matchKey: string, 
/**
 * The match key as people read it.
 */
displayKey: string, 
/**
 * Ids of the left records.
 */
leftKeys: Array<string>, 
/**
 * Ids of the right records.
 */
rightKeys: Array<string>, 
/**
 * The category.
 */
kind: Kind, 
/**
 * Why.
 */
reasons: Array<Reason>, 
/**
 * Field by field.
 */
fields: Array<FieldDiff>, 
/**
 * approve, reject, correct, delete, or none.
 */
decision: string | null, 
/**
 * current or stale.
 */
decisionState: string | null, };

export type ProposalPage = { 
/**
 * How many match the filter.
 */
total: number, 
/**
 * The offset of the first item.
 */
offset: number, 
/**
 * The proposals on this page.
 */
items: Array<ProposalRow>, };

export type Filter = { 
/**
 * Only these kinds (empty: all).
 */
kinds: Array<Kind>, 
/**
 * Only proposals where this field differs.
 */
field: string | null, 
/**
 * Only proposals whose key or values contain this text.
 */
text: string | null, 
/**
 * undecided, approved, rejected, stale.
 */
decision: string | null, 
/**
 * Only conflicts with this reason code.
 */
reason: string | null, };

export type Verdict = "approve" | "reject" | "correct" | "delete";

export type Decision = { 
/**
 * Decision id.
 */
id: number, 
/**
 * The proposal's match key.
 */
matchKey: string, 
/**
 * approve, reject, correct, delete.
 */
verdict: string, 
/**
 * The values to send, exactly as approved.
 */
values: Array<[string, string | null]>, 
/**
 * SHA-256 of the values, hex.
 */
valuesHash: string, 
/**
 * Who decided.
 */
who: string, 
/**
 * When.
 */
at: string, 
/**
 * current, stale or undone.
 */
state: string, };

export type BulkOutcome = { 
/**
 * Proposals decided.
 */
decided: number, 
/**
 * Proposals refused, with the reason (key, reason).
 */
refused: Array<[string, string]>, };

export type PullSummary = { 
/**
 * The entity pulled.
 */
entity: string, 
/**
 * Records read.
 */
records: number, 
/**
 * New since the last pull.
 */
added: number, 
/**
 * Changed since the last pull.
 */
changed: number, 
/**
 * Gone from the system.
 */
removed: number, 
/**
 * Problems with single records.
 */
errors: Array<string>, };

export type ReconcileSummary = { 
/**
 * The reconciliation.
 */
reconciliation: string, 
/**
 * The pulls made first (empty when reconciling from the cache only).
 */
pulls: Array<PullSummary>, 
/**
 * Left records considered.
 */
leftRecords: number, 
/**
 * Right records considered.
 */
rightRecords: number, 
/**
 * Count per kind.
 */
counts: Record<string, number>, 
/**
 * Conflicts by reason code.
 */
conflictReasons: Record<string, number>, 
/**
 * Decisions that became stale.
 */
staleDecisions: number, };

export type ProgressEvent = { 
/**
 * The current stage ("pull erp_customers", "reconcile customers").
 */
stage: string, 
/**
 * Units in the stage, when known.
 */
total: number | null, 
/**
 * Units done.
 */
done: number, };

export type Run = { 
/**
 * Run id.
 */
id: number, 
/**
 * pull, reconcile, push, export.
 */
kind: string, 
/**
 * The entity or reconciliation.
 */
subject: string, 
/**
 * Start (RFC 3339).
 */
startedAt: string, 
/**
 * End, when finished.
 */
finishedAt: string | null, 
/**
 * running, ok, failed, cancelled.
 */
status: string, 
/**
 * Counts by category.
 */
counts: Record<string, number>, 
/**
 * Records that failed.
 */
failures: number, 
/**
 * The error, when it failed.
 */
message: string | null, 
/**
 * Where it was started from.
 */
origin: string, };

export type ExportKind = "diff" | "exceptions" | "decisions";

export type ExportOutcome = { 
/**
 * The file chosen in the save dialog.
 */
path: string, 
/**
 * Data rows written.
 */
rows: number, };

export type FieldChange = { 
/**
 * The target field.
 */
field: string, 
/**
 * The value pulled from the target.
 */
old: string | null, 
/**
 * The value to send.
 */
new: string | null, };

export type PlannedWrite = { 
/**
 * The proposal's key as people read it.
 */
key: string, 
/**
 * insert, update or delete.
 */
op: string, 
/**
 * The target record's id (empty: assigned by the target).
 */
record: string, 
/**
 * approve, correct or delete.
 */
verdict: string, 
/**
 * The fields changed, old → new.
 */
fields: Array<FieldChange>, };

export type InvalidWrite = { 
/**
 * The proposal's key as people read it.
 */
key: string, 
/**
 * The rules it breaks.
 */
reasons: Array<string>, };

export type PushPlan = { 
/**
 * The reconciliation.
 */
reconciliation: string, 
/**
 * `system/entity` written to.
 */
target: string, 
/**
 * Inserts and updates, in order.
 */
writes: Array<PlannedWrite>, 
/**
 * Deletes (approved one by one), apart.
 */
deletes: Array<PlannedWrite>, 
/**
 * Approved changes failing validation now.
 */
invalid: Array<InvalidWrite>, 
/**
 * Changes per kind (insert, update, delete, invalid).
 */
counts: Record<string, number>, 
/**
 * Decisions already journaled by an earlier push (skipped).
 */
alreadyJournaled: number, };

export type PushMode = "new" | "resume" | "retry_failed";

export type PushEntry = { 
/**
 * Journal entry id.
 */
id: number, 
/**
 * The push it belongs to.
 */
pushId: number, 
/**
 * The proposal's key as people read it.
 */
key: string, 
/**
 * insert, update or delete.
 */
op: string, 
/**
 * The target record (its id, or the key before the target assigned one).
 */
record: string, 
/**
 * pending, sending, applied, rejected, conflict, unknown.
 */
state: string, 
/**
 * For failures: validation, auth, not_found, conflict, rate_limit, transient, network, system.
 */
category: string | null, 
/**
 * The target's own message.
 */
message: string | null, 
/**
 * The values sent.
 */
values: Array<[string, string | null]>, 
/**
 * The values pulled before the push.
 */
before: Array<[string, string | null]>, 
/**
 * For conflicts: what the target holds now.
 */
current: Array<[string, string | null]> | null, 
/**
 * Attempts made.
 */
attempts: number, 
/**
 * For a rollback entry: the entry it undoes.
 */
rollbackOf: number | null, 
/**
 * Last change of state.
 */
updatedAt: string, };

export type PushReport = { 
/**
 * The reconciliation.
 */
reconciliation: string, 
/**
 * `system/entity` written to.
 */
target: string, 
/**
 * The new push, when one was journaled.
 */
pushId: number | null, 
/**
 * Entries an earlier push had left open, finished now.
 */
resumed: number, 
/**
 * Outcomes per state.
 */
outcomes: Record<string, number>, 
/**
 * Every entry handled, with its outcome.
 */
entries: Array<PushEntry>, 
/**
 * Why the push stopped before the end.
 */
stopped: string | null, };

export type PushInfo = { 
/**
 * Push id.
 */
id: number, 
/**
 * push or rollback.
 */
kind: string, 
/**
 * For a rollback: the push it rolls back.
 */
rollbackOf: number | null, 
/**
 * `system/entity` written to.
 */
target: string, 
/**
 * Start time.
 */
startedAt: string, 
/**
 * End time, once finished.
 */
finishedAt: string | null, 
/**
 * Who pushed.
 */
who: string, 
/**
 * Entries per state.
 */
states: Record<string, number>, };

export type ResultsOutcome = { 
/**
 * The folder chosen.
 */
dir: string, 
/**
 * Rows in `success.csv`.
 */
success: number, 
/**
 * Rows in `errors.csv`.
 */
errors: number, };

export type UnmappedValue = { 
/**
 * The target field.
 */
field: string, 
/**
 * The value map the field uses.
 */
map: string | null, 
/**
 * The source value.
 */
value: string, 
/**
 * Proposals held up by it.
 */
count: number, };

export type SecretSource = { "from": "env", 
/**
 * Its name.
 */
var: string, } | { "from": "keychain", 
/**
 * The account name.
 */
account: string, };

export type HttpForm = { 
/**
 * Seconds to wait for a connection.
 */
connect_timeout_secs: number, 
/**
 * Seconds one request may take.
 */
timeout_secs: number, 
/**
 * Retries of a failed read or a write safe to repeat.
 */
max_retries: number, 
/**
 * Cap of the first retry delay, in milliseconds.
 */
retry_min_delay_ms: number, 
/**
 * Cap of every retry delay, in milliseconds.
 */
retry_max_delay_ms: number, 
/**
 * The longest `Retry-After` honoured, in seconds.
 */
max_retry_after_secs: number, 
/**
 * Requests allowed per period; none: no limit.
 */
rate_limit: number | null, 
/**
 * The rate limit's period, in seconds.
 */
rate_limit_period_secs: number, 
/**
 * Requests that may go at once after a quiet spell.
 */
rate_limit_burst: number | null, 
/**
 * The most pages one listing may have.
 */
max_pages: number, };

export type AuthForm = { "type": "none" } | { "type": "basic", 
/**
 * The user name.
 */
user: string, 
/**
 * Where the password comes from (none yet: typed for the keychain).
 */
password: SecretSource | null, } | { "type": "bearer", 
/**
 * Where the token comes from.
 */
token: SecretSource | null, } | { "type": "api_key", 
/**
 * The header carrying it.
 */
header: string | null, 
/**
 * The query parameter carrying it.
 */
query: string | null, 
/**
 * Text before the key in the header.
 */
prefix: string | null, 
/**
 * Where the key comes from.
 */
key: SecretSource | null, } | { "type": "oauth2", 
/**
 * The token endpoint.
 */
token_url: string, 
/**
 * The client id.
 */
client_id: string, 
/**
 * Where the client secret comes from.
 */
client_secret: SecretSource | null, 
/**
 * The scope(s), space-separated.
 */
scope: string | null, } | { "type": "session", 
/**
 * The login endpoint.
 */
login: string, 
/**
 * The user name.
 */
user: string, 
/**
 * Where the password comes from.
 */
password: SecretSource | null, 
/**
 * The login body template.
 */
body: string | null, 
/**
 * Where the token is in the answer.
 */
token: string | null, 
/**
 * The header the token goes in.
 */
header: string | null, 
/**
 * Text before the token.
 */
prefix: string | null, 
/**
 * How a 2xx answer says the session expired (`PATH=VALUE`).
 */
expired?: string | null, };

export type SystemForm = { "kind": "csv", 
/**
 * Relative to the workspace, or absolute.
 */
path: string, 
/**
 * `auto` when empty.
 */
encoding: string | null, 
/**
 * `auto` when empty.
 */
delimiter: string | null, } | { "kind": "xlsx", 
/**
 * Relative to the workspace, or absolute.
 */
path: string, } | { "kind": "sqlite", 
/**
 * Relative to the workspace, or absolute.
 */
path: string, } | { "kind": "postgres", 
/**
 * Host name or address.
 */
host: string, 
/**
 * Port.
 */
port: number, 
/**
 * User name.
 */
user: string, 
/**
 * Database name.
 */
database: string, 
/**
 * Where the password comes from.
 */
password: SecretSource | null, } | { "kind": "tryton", 
/**
 * The server's base URL (without the database).
 */
url: string, 
/**
 * The database name.
 */
database: string, 
/**
 * The login.
 */
user: string, 
/**
 * Where the password comes from (none yet: typed for the keychain).
 */
password: SecretSource | null, 
/**
 * Records per page (default 1000).
 */
page_size: number | null, 
/**
 * Timeouts, retries, rate limit.
 */
http: HttpForm, } | { "kind": "rest", 
/**
 * The API's root.
 */
base_url: string, 
/**
 * How requests authenticate.
 */
auth: AuthForm, 
/**
 * Timeouts, retries, rate limit.
 */
http: HttpForm, 
/**
 * A path read to check the connection.
 */
check: string | null, 
/**
 * Where a 2xx answer lists errors (GraphQL: `errors`).
 */
errors_at: string | null, } | { "kind": "hubspot", 
/**
 * Where the private app's access token comes from.
 */
token: SecretSource | null, 
/**
 * The API root (default HubSpot's).
 */
base_url: string | null, 
/**
 * Timeouts, retries, rate limit (default 100 requests per 10 s).
 */
http: HttpForm, } | { "kind": "vendure", 
/**
 * The server's root.
 */
base_url: string, 
/**
 * The administrator's identifier.
 */
user: string, 
/**
 * Where the password comes from.
 */
password: SecretSource | null, 
/**
 * Timeouts, retries, rate limit.
 */
http: HttpForm, };

export type SystemInfo = { 
/**
 * Its name in the workspace.
 */
name: string, 
/**
 * Its kind as written in `trueup.toml` (`csv`, `postgres`, `tryton`, `rest`, ...).
 */
kind: string, 
/**
 * Its settings.
 */
form: SystemForm, 
/**
 * The entities configured on it.
 */
entities: Array<string>, };

export type FieldProblem = { 
/**
 * The field as in `trueup.toml` (`name`, `base_url`, `auth.user`, ...).
 */
field: string, 
/**
 * What is wrong, for people.
 */
message: string, };

export type SampleRecord = { 
/**
 * The entity it was read from.
 */
entity: string, 
/**
 * Field and value (null: no value), in the entity's order.
 */
fields: Array<[string, string | null]>, };

export type ConnectionInfo = { 
/**
 * File format or server version.
 */
description: string, 
/**
 * Tables or sheets offered.
 */
entities: Array<string>, 
/**
 * One record of the system's first entity with records.
 */
sample: SampleRecord | null, };

export type KeychainStatus = { 
/**
 * True when passwords can be stored there.
 */
available: boolean, 
/**
 * Why not, and what to do instead.
 */
message: string | null, };

export type RuleFailure = { 
/**
 * The target field.
 */
field: string, 
/**
 * required, regex, enum, min, max, max_length.
 */
rule: string, 
/**
 * A sentence for people.
 */
message: string, };

export type FieldSuggestion = { 
/**
 * The right (target) field.
 */
target: string, 
/**
 * The best left field, if any looks like it.
 */
source: string | null, 
/**
 * How sure (0..1).
 */
score: number, 
/**
 * Transforms that make the left values look like the right ones (as in `trueup.toml`).
 */
transforms: unknown[], 
/**
 * Left sample values.
 */
leftSamples: Array<string>, 
/**
 * Right sample values.
 */
rightSamples: Array<string>, };

export type TransformForm = "trim" | "upper" | "lower" | "title" | "collapse_spaces" | "email" | "phone" | "digits" | { "date": { 
/**
 * Input formats (strftime), tried in order.
 */
from: Array<string>, 
/**
 * Output format (default `%Y-%m-%d`).
 */
to: string | null, } } | { "number": { 
/**
 * Decimal separator (default `.`).
 */
decimal: string | null, 
/**
 * Thousands separator (default none).
 */
thousands: string | null, 
/**
 * Decimals written.
 */
scale: number | null, } } | { "split": { 
/**
 * The separator.
 */
separator: string, 
/**
 * Which part (0-based; negative counts from the end).
 */
index: number, } } | { "affix": { 
/**
 * Before.
 */
prefix: string | null, 
/**
 * After.
 */
suffix: string | null, } };

export type ToleranceForm = { 
/**
 * Ignore letter case.
 */
ignore_case: boolean, 
/**
 * Ignore surrounding and repeated white space.
 */
ignore_whitespace: boolean, 
/**
 * Numbers within this difference are equal.
 */
numeric: number | null, 
/**
 * Dates in these formats are equal when the same instant.
 */
date_formats: Array<string>, 
/**
 * Never report differences.
 */
ignore: boolean, };

export type RulesForm = { 
/**
 * The value must not be empty.
 */
required: boolean, 
/**
 * The whole value must match this regular expression.
 */
regex: string | null, 
/**
 * The value must be one of these.
 */
enum: Array<string>, 
/**
 * A number at least this.
 */
min: number | null, 
/**
 * A number at most this.
 */
max: number | null, 
/**
 * At most this many characters.
 */
max_length: number | null, 
/**
 * No two target records share the value.
 */
unique: boolean, };

export type FieldForm = { 
/**
 * The right (target) field.
 */
target: string, 
/**
 * The left field it comes from.
 */
source: string | null, 
/**
 * Several left fields joined with `separator`.
 */
sources: Array<string>, 
/**
 * Separator for `sources` (default one space).
 */
separator: string | null, 
/**
 * Transforms, in order.
 */
transforms: Array<TransformForm>, 
/**
 * The value map applied after the transforms.
 */
value_map: string | null, 
/**
 * The value when the source is empty.
 */
default: string | null, 
/**
 * `left`, `right`, `newest` or `manual`.
 */
ownership: string, 
/**
 * Tolerances.
 */
compare: ToleranceForm, 
/**
 * Validation rules.
 */
validate: RulesForm, };

export type ValueMapForm = { 
/**
 * The CSV file (relative to the workspace, or absolute).
 */
file: string | null, 
/**
 * Inline entries: source value to target value.
 */
entries: { [key in string]?: string }, 
/**
 * Compare source codes ignoring case and surrounding spaces.
 */
ignore_case: boolean, };

export type ReconciliationForm = { 
/**
 * The left (source) entity.
 */
left: string, 
/**
 * The right (target) entity.
 */
right: string, 
/**
 * The target fields that match records.
 */
key: Array<string>, 
/**
 * The mapped fields.
 */
fields: Array<FieldForm>, 
/**
 * Value maps by name.
 */
value_maps: { [key in string]?: ValueMapForm }, 
/**
 * Country calling code for the `phone` transform.
 */
default_country_code: string | null, };

export type SampleRows = { 
/**
 * The entity's fields.
 */
fields: Array<string>, 
/**
 * Values in field order (null: no value).
 */
rows: Array<Array<string | null>>, };

export type PreviewValue = { 
/**
 * The source value(s) as read.
 */
input: string | null, 
/**
 * The value computed for the target.
 */
output: string | null, 
/**
 * Why no value could be computed (the record would be a conflict).
 */
issue: string | null, 
/**
 * Validation rules the computed value breaks.
 */
rules: Array<string>, };

export type FieldPreview = { 
/**
 * The target field.
 */
target: string, 
/**
 * Sample records through the mapping.
 */
values: Array<PreviewValue>, 
/**
 * Why the mapping cannot be applied at all.
 */
error: string | null, };

export type SetupCheck = { 
/**
 * Problems, each with the setting it concerns (`key`,
 * `fields[TARGET].validate.regex`, `value_maps[MAP].file`; empty: the whole).
 */
problems: Array<FieldProblem>, 
/**
 * Every field's mapping on the sample records.
 */
previews: Array<FieldPreview>, };

export type MappingSuggestion = { 
/**
 * One suggestion per right field.
 */
fields: Array<FieldSuggestion>, 
/**
 * Every left field, to choose a source from.
 */
leftFields: Array<string>, 
/**
 * The left records read (the first 200), to preview mappings on.
 */
sample: SampleRows, };
