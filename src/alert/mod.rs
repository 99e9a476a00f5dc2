//! Alert episodes and their lifecycle, alert identity, and the alert record (DESIGN "Alert").
//!
//! An [`EpisodeTracker`] exists per (rule, region). It steps a small state machine over the
//! rule's closed windows in event-time order: an episode opens (`firing`) when a window crosses
//! a threshold, rises (`escalated`) when a higher severity is crossed, and closes (`resolved`)
//! after a full window of quiet hops (hysteresis: one quiet hop does not resolve). The window
//! that is still open fires early, so an alert never waits for its window to close.
//!
//! A late report can change windows already evaluated. The tracker keeps a checkpoint per closed
//! window inside the lateness horizon, rewinds to the one before the first changed window,
//! re-runs the machine and publishes only the difference from what it published before. An
//! episode that the re-run no longer contains (a late report moved its start earlier) is
//! published once more as `resolved` with `superseded_by`. The latest record per alert id, less
//! superseded ones, is therefore a function of the reports alone, not of their arrival order.
//!
//! `episode.rs` holds the state machine and the tracker, `history_runs.rs` the compact encoding
//! of its checkpoints, `record.rs` the [`Alert`] each change becomes, `phrasebook.rs` its text in
//! the subscriber's language.

mod episode;
mod history_runs;
pub mod phrasebook;
mod record;

pub use episode::EpisodeTracker;
pub use record::{Alert, AlertEvidence, Casualty, Observed, Status, TimeRange, rfc3339};
