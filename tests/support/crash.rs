//! Where the kills of a crash test landed, and a kill window that follows
//! how long a push takes, so kills land inside pushes however fast they
//! become.

use std::time::Duration;

/// Where the kills landed.
#[derive(Debug, Default)]
pub struct Stats {
    /// Kills that left entries `sending` (mid-batch).
    pub mid_send: usize,
    /// Kills that left a push half done.
    pub partial: usize,
    /// How long a push that was not killed took (moving average, µs).
    push_us: Option<f64>,
}

impl Stats {
    /// When to kill the next push: drawn from one and a half times what an
    /// unkilled push takes (30 ms before one finished), widening with each
    /// kill of the same cycle (`kills`) so a slow machine still finishes.
    pub fn kill_after(&self, rng: &mut fastrand::Rng, kills: usize) -> Duration {
        let window = self
            .push_us
            .map_or(30_000, |t| (1.5 * t).max(3_000.0) as u64);
        Duration::from_micros(rng.u64(0..window * (1 + kills as u64 / 4)))
    }

    /// A push finished unkilled after `took`.
    pub fn finished(&mut self, took: Duration) {
        let took = took.as_micros() as f64;
        self.push_us = Some(self.push_us.map_or(took, |t| 0.8 * t + 0.2 * took));
    }

    /// A push was killed, leaving the journal in these `states`.
    pub fn killed<'s>(&mut self, states: impl Iterator<Item = &'s str> + Clone) {
        if states.clone().any(|s| s == "sending") {
            self.mid_send += 1;
        }
        if states.clone().any(|s| s == "applied") && states.clone().any(|s| s != "applied") {
            self.partial += 1;
        }
    }
}
