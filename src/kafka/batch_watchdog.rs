//! The second line behind the stall watchdog: a thread of its own that ends the process when one
//! batch (poll to commit, and the handing of its alerts to the output sinks) takes longer than
//! `pipeline.batch_timeout_secs`.
//!
//! The stall watchdog in the loop runs only between polls, so it cannot see the loop's own
//! thread blocked inside a call: librdkafka's `send_offsets_to_transaction` is known to wait
//! without end after its group coordinator went away (librdkafka PR #5512, not released as of
//! 2.12.1; README "Endurance and the broker-restart stall"), and a write to a standard output
//! nobody reads blocks the same way. Such a call cannot be cancelled; the process exits with
//! [`STUCK_EXIT_CODE`] (crash-only: a supervisor restarts it, and its successor's
//! `init_transactions` aborts the open transaction, so nothing is lost or doubled).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The exit code of a process ended by the batch watchdog (EX_SOFTWARE).
pub const STUCK_EXIT_CODE: i32 = 70;

/// Marks the start and end of each batch for the watchdog thread.
#[derive(Clone)]
pub(crate) struct BatchClock {
    origin: Instant,
    /// Milliseconds since `origin` at which the running batch started, plus one; 0: none runs.
    started: Arc<AtomicU64>,
}

impl BatchClock {
    /// A clock, and (unless `timeout` is zero) the thread that watches it.
    pub(crate) fn start(timeout: Duration) -> BatchClock {
        let clock = BatchClock {
            origin: Instant::now(),
            started: Arc::new(AtomicU64::new(0)),
        };
        if !timeout.is_zero() {
            let watched = clock.clone();
            let spawned = std::thread::Builder::new()
                .name("vigil-batch-watchdog".into())
                .spawn(move || watched.watch(timeout));
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "the batch watchdog could not start");
            }
        }
        clock
    }

    fn now_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }

    /// A batch begins (records were polled).
    pub(crate) fn begin(&self) {
        self.started.store(self.now_ms() + 1, Ordering::Relaxed);
    }

    /// The batch ended, committed or aborted.
    pub(crate) fn end(&self) {
        self.started.store(0, Ordering::Relaxed);
    }

    /// How long the running batch has run, if one runs.
    fn running_for(&self) -> Option<Duration> {
        match self.started.load(Ordering::Relaxed) {
            0 => None,
            s => Some(Duration::from_millis(self.now_ms().saturating_sub(s - 1))),
        }
    }

    fn watch(&self, timeout: Duration) {
        let tick = (timeout / 10).clamp(Duration::from_millis(100), Duration::from_secs(1));
        loop {
            // Pacing of the check, not synchronisation.
            std::thread::sleep(tick);
            if let Some(running) = self.running_for()
                && running > timeout
            {
                tracing::error!(
                    seconds = running.as_secs(),
                    limit = timeout.as_secs(),
                    "a batch is stuck (a Kafka call or an output write that does not return); \
                     exiting so that a supervisor restarts the instance"
                );
                std::process::exit(STUCK_EXIT_CODE);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_tells_how_long_the_running_batch_has_run() {
        let clock = BatchClock::start(Duration::ZERO);
        assert_eq!(clock.running_for(), None);
        clock.begin();
        assert!(clock.running_for().is_some());
        clock.end();
        assert_eq!(clock.running_for(), None);
    }
}
