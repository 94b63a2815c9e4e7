//! Push: sending approved changes to the target, exactly as approved, once,
//! with every failure visible.
//!
//! - [`plan()`]: the dry run — every write (target, record, fields old → new),
//!   deletes listed apart, counts per kind, and approved changes that fail
//!   validation now. Nothing is sent.
//! - [`push()`]: finishes entries an earlier push left open, journals the plan
//!   in one transaction (state `pending`, the approved values' SHA-256, the
//!   before-image, a stable idempotency key), then sends each change as a
//!   conditional write (`expected` = the before-image): a target that moved
//!   gives a `conflict`, never an overwrite. Passing failures are retried
//!   with capped exponential backoff and full jitter. Applied changes move
//!   the baseline and the cached target record.
//! - [`rollback()`]: restores the before-images of a push, through the same
//!   journal and checks.
//! - [`write_results`]: `success.csv` and `errors.csv`.
//!
//! `docs/push.md` states what is promised and what cannot be.
//!
//! # Speed (100 000 updates to a SQLite target, `--batch-size 1000`)
//!
//! Measured on the whole CLI process (`tests/push_bench.rs`) on a shared
//! 2-core machine. Before: 7.6 s of CPU, 807 fsyncs; profile: recording
//! outcomes 31 %, plan 20 %, journaling 15 %, target writes 13 %. Done, in
//! order, with the CPU after each step:
//!
//! - Journal states set-based: one `UPDATE … WHERE id BETWEEN` per run of
//!   ids for `sending` and for plain `applied` outcomes (`target_id =
//!   record`); row by row only for the exceptions. Statements for baselines
//!   and cached records prepared once per batch.
//! - The SQLite target's update in one statement (`UPDATE … WHERE id AND
//!   CAST(col AS TEXT) = pulled … RETURNING id`), read and compare only when
//!   it matches nothing; its SQL built once per batch shape (building it per
//!   row was 7 % of the CPU).
//! - The report built from the entries in memory (the journal was read back:
//!   5 %), its JSON streamed.
//! - The write-ahead log checkpointed every 16 384 pages during a push
//!   (with SQLite's 1 000, nearly every batch commit was followed by a
//!   checkpoint: 406 cache fsyncs → 124, 3.8 s → 1.7 s of fsync).
//!   Together: 5.1 s of CPU.
//! - One journal transaction per batch (outcomes of k−1 with `sending` of
//!   k+1) on a second thread (`journal::Recorder`) while the target writes
//!   batch k; the plan reads decisions and proposals in one joined
//!   statement; the journal index on `(recon, state, id)` became a partial
//!   index on open entries. 4.7 s of CPU, a third of it on the second
//!   thread.
//!
//! What is left (profile): the journal thread 41 % (cached records 11 %,
//! baselines 10 %, commits 13 %), journaling the plan 21 % (a random-order
//! unique index on the idempotency key among it), the target's writes
//! 12 %, the plan 10 %, the JSON report 4 %. Not tried: a compact journal
//! row (the before-image and baseline by reference instead of JSON), a
//! journal row per batch, dropping the unique index on `idempotency_key`
//! (a table rebuild). The target's own commits (three fsyncs each, about
//! 13 ms here, 100 per push) bound the wall time at batch size 1 000 by
//! themselves to about 1.3 s, twice the 25 % target.

mod journal;
mod plan;
mod results;
mod retry;
mod rollback;
mod run;

pub use journal::{
    Category, Entry, PushRow, State, count_states, entries_in_states, push_entries, push_row,
    pushes, recon_entries,
};
pub use plan::{FieldChange, InvalidChange, Plan, PlannedChange, Target, idempotency_key, plan};
pub use results::{ResultCounts, write_results};
pub use retry::{RetryPolicy, category_of, retryable};
pub use rollback::{rollback, rollback_with};
pub use run::{PushMode, PushOptions, PushReport, push, push_with};
