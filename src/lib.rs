//! # Trueup: keeps business records true across systems
//!
//! The core library: every stage of the flow, with no GUI dependency.
//!
//! ```text
//! pull ─► cache (snapshots) ─► map ─► match ─► compare (3-way vs baseline)
//!     ─► proposals ─► review (approve / reject / correct) ─► export
//! ```
//!
//! - [`workspace`]: a folder with `trueup.toml` and the cache; the entry point.
//! - [`config`]: the configuration format.
//! - [`connectors`]: the systems records come from (CSV, XLSX, SQLite, PostgreSQL).
//! - [`cache`]: snapshots, records, baselines, proposals, decisions, run history.
//! - [`pull`]: systems → cache.
//! - [`mapping`]: target fields from source fields; suggestions.
//! - [`matching`]: which left record goes with which right record.
//! - [`reconcile`]: three-way comparison into proposals.
//! - [`review`]: decisions (approve, reject, correct).
//! - [`push`]: plan, journal, conditional writes, resume, retries, rollback.
//! - [`export`]: CSV exports.
//! - [`records`]: the shape of a record as every stage sees it.
//! - [`diff`]: `trueup diff`, a keyed comparison of two exports.
//! - [`bench`](mod@bench): the benchmark data generator and its truth.
//!
//! The `trueup` command line and the desktop shell are thin layers over this
//! crate.
#![deny(missing_docs)]

pub mod bench;
pub mod cache;
pub mod config;
pub mod connectors;
pub mod diff;
pub mod error;
pub mod export;
pub mod mapping;
pub mod matching;
pub mod progress;
pub mod pull;
pub mod push;
pub mod reconcile;
pub mod records;
pub mod review;
pub mod secrets;
pub mod workspace;

pub use error::{Error, ErrorCode, Result};
pub use workspace::Workspace;
