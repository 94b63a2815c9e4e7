//! A progress bar on standard error, shown only on a terminal.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar that also carries the Ctrl-C flag.
pub struct Bar {
    bar: Option<ProgressBar>,
    cancel: Arc<AtomicBool>,
    /// With `--timings`: the current stage and when it started.
    timings: Option<std::sync::Mutex<(String, std::time::Instant)>>,
}

impl Bar {
    /// A bar; invisible unless `visible`.
    pub fn new(cancel: Arc<AtomicBool>, visible: bool) -> Self {
        Bar {
            bar: visible.then(ProgressBar::hidden),
            cancel,
            timings: None,
        }
    }

    /// Prints each stage's duration on standard error.
    pub fn with_timings(mut self, on: bool) -> Self {
        if on {
            self.timings = Some(std::sync::Mutex::new((
                String::new(),
                std::time::Instant::now(),
            )));
        }
        self
    }

    fn lap(&self, next: &str) {
        if let Some(t) = &self.timings
            && let Ok(mut t) = t.lock()
        {
            if !t.0.is_empty() {
                eprintln!(
                    "timing {:24} {:8.3} s{}",
                    t.0,
                    t.1.elapsed().as_secs_f64(),
                    memory().unwrap_or_default()
                );
            }
            *t = (next.to_string(), std::time::Instant::now());
        }
    }

    pub fn set_stage(&self, name: &str, total: Option<u64>) {
        self.lap(name);
        if let Some(b) = &self.bar {
            b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            b.reset();
            match total {
                Some(t) => {
                    b.set_length(t);
                    b.set_style(
                        ProgressStyle::with_template("{msg:12} [{bar:30}] {pos}/{len} {per_sec}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar())
                            .progress_chars("=> "),
                    );
                }
                None => {
                    b.unset_length();
                    b.set_style(
                        ProgressStyle::with_template("{msg:12} {spinner} {pos} records {per_sec}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                }
            }
            b.set_message(name.to_string());
        }
    }

    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    pub fn finish(&self) {
        self.lap("");
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// The process's resident memory now, at its peak so far, and the part it
/// allocated itself, where the system says (Linux: `/proc/self/status`),
/// for `--timings`.
fn memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = |key: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        line[key.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    // Resident memory counts the pages of the cache's memory-mapped file
    // too; the anonymous part is what the process allocated itself.
    Some(format!(
        "   memory {:6} MiB, peak {:6} MiB, allocated {:6} MiB",
        kib("VmRSS:")? / 1024,
        kib("VmHWM:")? / 1024,
        kib("RssAnon:")? / 1024
    ))
}
