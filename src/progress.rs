//! Progress reporting and cancellation for long steps (pull, reconcile,
//! export). The command line shows a bar; the desktop shell sends events.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

/// Receives progress and answers whether to stop.
pub trait Progress: Send + Sync {
    /// A new stage begins, with its total when known.
    fn stage(&self, name: &str, total: Option<u64>);
    /// `n` more units of the current stage are done.
    fn advance(&self, n: u64);
    /// True once the user asked to cancel.
    fn cancelled(&self) -> bool;
    /// The current time (RFC 3339), for end-of-run timestamps. Tests inject a fixed clock.
    fn now(&self) -> String {
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }
}

/// Reports nothing, never cancels, unless its flag is set.
#[derive(Debug, Default, Clone)]
pub struct Silent {
    /// Set to cancel.
    pub cancel: Arc<AtomicBool>,
}

impl Progress for Silent {
    fn stage(&self, _name: &str, _total: Option<u64>) {}
    fn advance(&self, _n: u64) {}
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// Returns `Err(Cancelled)` when the user asked to stop.
pub fn check(progress: &dyn Progress) -> Result<()> {
    if progress.cancelled() {
        Err(Error::Cancelled)
    } else {
        Ok(())
    }
}

/// Who is acting and from where: every write to the cache carries it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Actor {
    /// The person (OS user or `--as`).
    pub who: String,
    /// Where the action came from: `cli`, `desktop`, `import`, `test`.
    pub origin: String,
}

impl Actor {
    /// The current OS user, acting from `origin`.
    pub fn os_user(origin: &str) -> Self {
        let who = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_else(|_| "unknown".into());
        Actor {
            who,
            origin: origin.into(),
        }
    }
}
