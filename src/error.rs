//! The one error type of the core library.
//!
//! Every variant says what failed and where (file, line, field, system), and
//! maps to a stable [`ErrorCode`] that the command line and the desktop shell
//! branch on. Secrets never appear in messages: connectors scrub them before
//! building an error.

use std::path::{Path, PathBuf};

/// A stable, machine-readable error category. The UI branches on this, never
/// on message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The workspace configuration is invalid.
    Config,
    /// An input file or record is malformed (CSV, XLSX, encoding).
    Input,
    /// A file could not be read or written.
    Io,
    /// The local cache database failed (locked, corrupt, disk full).
    Cache,
    /// A connected system could not be reached (refused, timeout, DNS).
    Network,
    /// A connected system refused our credentials.
    Auth,
    /// A connected system knows us but does not allow this (HTTP 403, a
    /// record or field we may not change).
    Permission,
    /// A connected system refused a write because the record changed
    /// meanwhile (HTTP 409/412, an optimistic lock).
    Conflict,
    /// A connected system answered something we cannot read (malformed
    /// JSON, an unexpected shape, a cursor that repeats).
    Protocol,
    /// A connected system answered with an error of its own.
    System,
    /// Something named does not exist (system, entity, reconciliation, column).
    NotFound,
    /// A value failed a validation rule, or a request is not allowed in the current state.
    Validation,
    /// The operation was cancelled by the user.
    Cancelled,
    /// A connected system failed for a passing reason (busy, locked, timeout): retry later.
    Transient,
    /// A connected system asked us to slow down.
    RateLimit,
}

/// What went wrong, with the place it went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file is invalid.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// The 1-based line, when known.
        line: Option<usize>,
        /// What is wrong, naming the field.
        message: String,
    },
    /// An input file is malformed.
    #[error("{}{}{}: {reason}", file.display(), line.map(|l| format!(", line {l}")).unwrap_or_default(), field.as_ref().map(|f| format!(", column {f:?}")).unwrap_or_default())]
    Input {
        /// The file being read.
        file: PathBuf,
        /// The 1-based line where the bad record starts.
        line: Option<u64>,
        /// The column, when one is at fault.
        field: Option<String>,
        /// Why the input is rejected.
        reason: String,
    },
    /// A file could not be opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The cache database failed.
    #[error("cache {}: {message}", path.display())]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// A connected system failed.
    #[error("system {system:?}: {message}")]
    System {
        /// The system's name in the workspace.
        system: String,
        /// The category of failure.
        code: ErrorCode,
        /// The system's own message, scrubbed of secrets.
        message: String,
    },
    /// A named thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A request is not valid (bad argument, failing rule, wrong state).
    #[error("{0}")]
    Invalid(String),
    /// Cancelled by the user; the cache is left consistent.
    #[error("cancelled")]
    Cancelled,
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Config { .. } => ErrorCode::Config,
            Error::Input { .. } => ErrorCode::Input,
            Error::Io { .. } => ErrorCode::Io,
            Error::Cache { .. } => ErrorCode::Cache,
            Error::System { code, .. } => *code,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Invalid(_) => ErrorCode::Validation,
            Error::Cancelled => ErrorCode::Cancelled,
        }
    }

    pub(crate) fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    pub(crate) fn input(
        file: impl AsRef<Path>,
        line: Option<u64>,
        field: Option<&str>,
        reason: impl Into<String>,
    ) -> Self {
        Error::Input {
            file: file.as_ref().to_path_buf(),
            line,
            field: field.map(str::to_string),
            reason: reason.into(),
        }
    }

    pub(crate) fn cache(path: impl AsRef<Path>, err: impl std::fmt::Display) -> Self {
        let message = err.to_string();
        let message = if message.contains("database is locked") || message.contains("busy") {
            format!(
                "{message} (another Trueup process is using this workspace; wait for it or close it)"
            )
        } else {
            message
        };
        Error::Cache {
            path: path.as_ref().to_path_buf(),
            message,
        }
    }
}

/// The result type of the core library.
pub type Result<T, E = Error> = std::result::Result<T, E>;
