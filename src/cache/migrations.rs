//! The cache schema, as additive migrations. Never edit a released
//! migration: add a new one. `tests/cache.rs` opens a database made by the
//! first migration and checks it upgrades.

use rusqlite_migration::{M, Migrations};

/// All migrations, oldest first.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(STEPS.iter().map(|sql| M::up(sql)).collect())
}

/// Every schema step, in order: the cache's schema version is how many of
/// them it has.
const STEPS: [&str; 4] = [V1, V2, V3, V4];

/// The schema version this build writes.
pub fn migration_count() -> usize {
    STEPS.len()
}

const V1: &str = r#"
CREATE TABLE snapshots (
    id            INTEGER PRIMARY KEY,
    entity        TEXT NOT NULL,
    system        TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    status        TEXT NOT NULL,
    record_count  INTEGER NOT NULL DEFAULT 0,
    added         INTEGER NOT NULL DEFAULT 0,
    changed       INTEGER NOT NULL DEFAULT 0,
    removed       INTEGER NOT NULL DEFAULT 0,
    errors        TEXT NOT NULL DEFAULT '[]',
    fields        TEXT NOT NULL DEFAULT '[]',
    origin        TEXT NOT NULL DEFAULT 'cli'
);
CREATE INDEX snapshots_entity ON snapshots(entity, id);

-- Current records. `vals` is the packed row (see records::pack); `seq` the
-- snapshot that last changed it. Records are found by `key_hash` (see
-- records::key_hash) and then `key`: integer comparisons keep the index
-- cheap to build; a pull keeps keys unique.
CREATE TABLE records (
    id      INTEGER PRIMARY KEY,
    entity  TEXT NOT NULL,
    key     TEXT NOT NULL,
    key_hash INTEGER NOT NULL,
    hash    INTEGER NOT NULL,
    vals    TEXT NOT NULL,
    origin  INTEGER NOT NULL DEFAULT 0,
    seq     INTEGER NOT NULL
);
CREATE INDEX records_entity_key ON records(entity, key_hash);
-- What changed since a snapshot (appends: seq only grows).
CREATE INDEX records_entity_seq ON records(entity, seq);

-- Earlier values of changed or removed records: valid from `valid_from` up
-- to (not including) snapshot `valid_to`. Used for baselines.
CREATE TABLE versions (
    entity      TEXT NOT NULL,
    key         TEXT NOT NULL,
    valid_from  INTEGER NOT NULL,
    valid_to    INTEGER NOT NULL,
    vals        TEXT NOT NULL,
    rid         INTEGER NOT NULL,
    PRIMARY KEY (entity, key, valid_to)
) WITHOUT ROWID;

-- What each reconciliation last saw: the newest snapshot of each side and
-- the configuration it ran with.
CREATE TABLE recon_state (
    recon        TEXT PRIMARY KEY,
    run_id       INTEGER NOT NULL,
    left_seq     INTEGER NOT NULL,
    right_seq    INTEGER NOT NULL,
    config_hash  TEXT NOT NULL,
    counts       TEXT NOT NULL DEFAULT '{}'
) WITHOUT ROWID;

CREATE TABLE baselines (
    recon      TEXT NOT NULL,
    match_key  TEXT NOT NULL,
    vals       TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    origin     TEXT NOT NULL,
    PRIMARY KEY (recon, match_key)
) WITHOUT ROWID;

CREATE TABLE proposals (
    id          INTEGER PRIMARY KEY,
    recon       TEXT NOT NULL,
    run_id      INTEGER NOT NULL,
    match_key   TEXT NOT NULL,
    label       TEXT NOT NULL DEFAULT '',
    left_keys   TEXT NOT NULL,
    right_keys  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    reasons     TEXT NOT NULL,
    fields      TEXT NOT NULL,
    input_hash  TEXT NOT NULL,
    search      TEXT NOT NULL
);
CREATE UNIQUE INDEX proposals_recon_key ON proposals(recon, match_key);
CREATE INDEX proposals_recon_kind ON proposals(recon, kind, id);
-- Pages of all proposals in order, without sorting them all.
CREATE INDEX proposals_recon_id ON proposals(recon, id);

CREATE TABLE decisions (
    id           INTEGER PRIMARY KEY,
    recon        TEXT NOT NULL,
    match_key    TEXT NOT NULL,
    verdict      TEXT NOT NULL,
    vals         TEXT NOT NULL,
    values_hash  TEXT NOT NULL,
    input_hash   TEXT NOT NULL,
    who          TEXT NOT NULL,
    at           TEXT NOT NULL,
    origin       TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'current'
);
CREATE INDEX decisions_recon_key ON decisions(recon, match_key, id);

CREATE TABLE links (
    recon      TEXT NOT NULL,
    left_key   TEXT NOT NULL,
    right_key  TEXT NOT NULL,
    who        TEXT NOT NULL,
    at         TEXT NOT NULL,
    PRIMARY KEY (recon, left_key)
) WITHOUT ROWID;

CREATE TABLE runs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    status       TEXT NOT NULL,
    counts       TEXT NOT NULL DEFAULT '{}',
    failures     INTEGER NOT NULL DEFAULT 0,
    message      TEXT,
    origin       TEXT NOT NULL DEFAULT 'cli'
);
"#;

/// The push journal (outbox): one row per push and per change sent.
const V2: &str = r#"
CREATE TABLE pushes (
    id           INTEGER PRIMARY KEY,
    recon        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    rollback_of  INTEGER,
    target       TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    who          TEXT NOT NULL,
    origin       TEXT NOT NULL
);

CREATE TABLE journal (
    id               INTEGER PRIMARY KEY,
    push_id          INTEGER NOT NULL REFERENCES pushes(id),
    recon            TEXT NOT NULL,
    match_key        TEXT NOT NULL,
    decision_id      INTEGER,
    rollback_of      INTEGER REFERENCES journal(id),
    idempotency_key  TEXT NOT NULL UNIQUE,
    op               TEXT NOT NULL,
    record           TEXT NOT NULL,
    vals             TEXT NOT NULL,
    values_hash      TEXT NOT NULL,
    before           TEXT NOT NULL,
    baseline_before  TEXT,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    category         TEXT,
    message          TEXT,
    current          TEXT,
    target_id        TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX journal_push ON journal(push_id, id);
CREATE INDEX journal_recon_state ON journal(recon, state, id);
CREATE INDEX journal_decision ON journal(decision_id);
"#;

/// The cursor an incremental pull starts from (the latest change time the
/// snapshot saw), for systems that can list what changed since.
const V3: &str = r#"
ALTER TABLE snapshots ADD COLUMN cursor TEXT;
"#;

/// Journal indexes that cost less to keep during a push (see
/// `docs/push.md`): the open and failed entries by reconciliation, in a
/// partial index that an entry leaves once applied (it no longer moves
/// inside an index at every state change), and the decisions journaled per
/// reconciliation. `journal_decision` was used by no query.
const V4: &str = r#"
DROP INDEX IF EXISTS journal_recon_state;
DROP INDEX IF EXISTS journal_decision;
CREATE INDEX journal_open ON journal(recon, id) WHERE state <> 'applied';
CREATE INDEX journal_recon_decision ON journal(recon, decision_id);
"#;
