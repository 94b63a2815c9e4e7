//! Progress of long steps as `job-progress` events, with cancellation.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tauri::{AppHandle, Emitter};

use crate::json::ProgressEvent;

/// The event name the UI listens to.
pub const EVENT: &str = "job-progress";

/// Sends progress to the window at most every 100 ms; cancelled by a flag.
pub struct EventProgress {
    app: AppHandle,
    cancel: Arc<AtomicBool>,
    stage: Mutex<(String, Option<u64>)>,
    done: AtomicU64,
    last: Mutex<Instant>,
}

impl EventProgress {
    /// Reports to `app`; stops once `cancel` is set.
    pub fn new(app: AppHandle, cancel: Arc<AtomicBool>) -> Self {
        EventProgress {
            app,
            cancel,
            stage: Mutex::new((String::new(), None)),
            done: AtomicU64::new(0),
            last: Mutex::new(Instant::now()),
        }
    }

    fn emit(&self) {
        let (stage, total) = self.stage.lock().map(|s| s.clone()).unwrap_or_default();
        let _ = self.app.emit(
            EVENT,
            ProgressEvent {
                stage,
                total,
                done: self.done.load(Ordering::Relaxed),
            },
        );
    }
}

impl trueup::progress::Progress for EventProgress {
    fn stage(&self, name: &str, total: Option<u64>) {
        if let Ok(mut s) = self.stage.lock() {
            *s = (name.to_string(), total);
        }
        self.done.store(0, Ordering::Relaxed);
        self.emit();
    }

    fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
        let due = self
            .last
            .lock()
            .map(|mut last| {
                let due = last.elapsed() >= Duration::from_millis(100);
                if due {
                    *last = Instant::now();
                }
                due
            })
            .unwrap_or(false);
        if due {
            self.emit();
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}
