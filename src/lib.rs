//! # Trueup: keeps business records true across systems
//!
//! The core library: every stage of the flow, with no GUI dependency.
//!
//! ```text
//! pull ─► cache (snapshots) ─► map ─► match ─► compare (3-way vs baseline)
//!     ─► proposals ─► review (approve / reject / correct) ─► export
//! ```
//!
//! - [`connectors`]: the systems records come from (CSV, XLSX, SQLite, PostgreSQL).
//! - [`records`]: the shape of a record as every stage sees it.
//! - [`diff`]: `trueup diff`, a keyed comparison of two exports.
//! - [`bench`](mod@bench): the benchmark data generator and its truth.
//!
//! The `trueup` command line and the desktop shell are thin layers over this
//! crate.
#![deny(missing_docs)]

pub mod bench;
pub mod connectors;
pub mod diff;
pub mod error;
pub mod records;

pub use error::{Error, ErrorCode, Result};
