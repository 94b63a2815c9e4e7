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
