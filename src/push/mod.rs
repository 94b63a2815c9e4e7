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
//! # Speed (100 000 updates to a SQLite target)
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
//! Then (stop 11; wall time of the CLI process, load 1.5): 5.0 s → 3.7 s.
//! The target's own batch size by default (`Connector::push_batch_size`:
//! SQLite 10 000 — the same push takes 4.9 s at 1 000, 4.0 s at 10 000 —
//! PostgreSQL 1 000, HTTP 200);
//! mimalloc in the CLI (glibc spent a sixth of the CPU consolidating
//! chunks freed on the other thread); baselines journaled as stored JSON
//! (`RawValue`) instead of parsed and written again; a sequential
//! idempotency key (`tu-<decision id>-<digest>`, appended to its unique
//! index); decisions sorted in Rust instead of in a temporary tree. Then
//! 3.7 s → 3.5 s: the baseline an applied change leaves is worked out on
//! the push's thread from the baseline journaled (`journal::baseline_after`)
//! while the journal's thread records the batch before, which writes it
//! with one conditional update (falling back to read-merge-write when the
//! stored baseline moved since): 60 → 40 ms per 10 000 on the journal's
//! thread, 45 ms more on the push's. The same for the cached target
//! record (`journal::record_after`, read on the push's own connection,
//! written only over the record it was read from): 3.5 s → 3.4 s
//! (29 514 and 28 940 rows/s in the bench, 5 % of the ceiling).
//!
//! Stop 12 (PostgreSQL, same 100k updates, quiet machine): 10.7–10.9 s →
//! 2.9–3.0 s. A batch of updates by the primary key is one statement per
//! shape in the PostgreSQL connector (`UPDATE … FROM unnest(text arrays)
//! WITH ORDINALITY … RETURNING`) instead of a round trip per row, and so
//! is a batch of inserts given their ids (100k creates 5.1 s → 3.0 s); the
//! push is now bound by the cache side, like SQLite's (plan 0.4 s,
//! journal 0.5–0.6 s, batches 1.7–1.9 s). Against the bulk loads the
//! issue names (`COPY`, a single-transaction `INSERT`) both targets are at
//! 3–4 %, and bare SQL doing only what the guarantees need (cached records
//! included) is at 14–19 % on one thread, 24 % at best: see `docs/push.md`
//! for why 25 % is out of reach.
//!
//! Stop 13 (SQLite target, same push): 2.6–2.75 s → 1.7–1.85 s. `perf`
//! showed the push's thread and the journal's thread waiting on futexes in
//! SQLite: the bundled build's `SQLITE_ENABLE_MEMORY_MANAGEMENT` puts every
//! connection's pages in one process-wide cache behind one mutex, and its
//! memory statistics take another mutex on every allocation. Both are off
//! in `.cargo/config.toml` (`LIBSQLITE3_FLAGS`); batches 1.5 s → 1.0 s,
//! plan 0.5 s → 0.28 s. PostgreSQL updates 2.9–3.0 s → 2.3–2.4 s.
//!
//! Tried and not kept, each measured on the same 100k push:
//!
//! - The journal split in two tables, the state (narrow, rewritten at each
//!   change) and the payload (written once): state changes cheaper, the
//!   journal insert dearer; 3.7 s either way, not worth a table rebuild.
//! - Baselines and cached records moved by one statement per batch, the
//!   merge done by Rust functions registered in SQLite (`INSERT … SELECT …
//!   ON CONFLICT`, a materialized join for records): slower, push phase
//!   2.0 s → 2.6 s (the functions parse the JSON again for every call).
//! - Passive checkpoints on a third thread: no change in three alternated
//!   runs (3.73/3.73, 3.78/3.69, 3.71/3.72 s).
//! - The plan's "latest current decision per proposal" worked out in Rust
//!   over a plain join instead of SQL `NOT EXISTS` (stop 13): 2.70–2.75 s
//!   against 2.58–2.62 s for the SQL, alternated; not kept.
//! - An index on `decisions (recon, state, id)` to read decisions in order:
//!   SQLite then chose it for the plan's "no later decision" check, which
//!   became quadratic (a 100k plan took 636 s). Reverted; a query plan is
//!   checked before an index is added.
//!
//! Where the time was before the cached-record step (batch 10 000, per
//! batch, temporary instrumentation): the push's thread 110 ms (target
//! writes 67, baselines worked out 43); the journal's thread 190 ms
//! (outcomes 130 of which baselines 40 and cached records about 60, state
//! changes 20, commit 40; checkpoints add 100–150 ms twice per push);
//! before
//! the first batch, the plan 0.6 s and journaling it 0.7 s (0.44 s of
//! inserts, 0.14 s commit). `tests/push_bench.rs::bench_sqlite_guarantee_floor`
//! shows bare SQL doing the same work in 0.53–0.73 s: the gap is per-row
//! work in the engine (entries of owned strings and JSON through four
//! stages), not SQLite. Left: an engine that moves rows between SQL
//! statements without building an entry per change, the plan streamed
//! into the journal's insert on a second connection, and the before-image
//! kept with the decision (the plan would not read proposals).

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
