//! Vigil: an early-warning event pipeline for atrocity prevention.
//!
//! A report's path through the crate, in order: [`report`] (decode, with `fast_decode` for the
//! common shape, and validate) → [`tagger`]
//! (using [`taxonomy`], [`normalize`] and [`scanner`]) → [`window`] (event-time panes per region and signal) →
//! [`rules`] (thresholds, spikes, co-occurrence) → [`alert`] (episodes and their lifecycle) →
//! [`cap`] (CAP 1.2) and [`alertmanager`] (webhook payload) renderings. [`engine`] wires those into the one deterministic core that both
//! `vigil run` and `vigil backtest` drive. [`import`] and [`generator`] produce reports; [`config`]
//! loads and checks the configuration files.

pub mod alert;
pub mod config;
pub mod engine;
pub mod input;
pub mod kafka;
pub mod output;
pub mod report;
pub mod rules;
pub mod state;
pub mod tag;
pub mod telemetry;
pub mod window;
