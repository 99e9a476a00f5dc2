//! Vigil: an early-warning event pipeline for atrocity prevention.
//!
//! A report's path through the crate, folder by folder: [`input`] (files, generator) →
//! [`report`] (decode, validate) → [`tag`] (risk factors of the UN Framework of Analysis and
//! threats) → [`window`] (admission and event-time panes per region and signal) → [`rules`]
//! (thresholds, spikes, co-occurrence) → [`alert`] (episodes and their records). [`engine`] wires
//! these into the one deterministic core that `vigil run` and `vigil backtest` drive; its
//! outcomes go to sinks: [`kafka`] (the streaming pipeline and its topics, with [`state`] the
//! changelog codec) and [`output`] (CAP 1.2, Alertmanager, files). [`delivery`] takes the
//! committed alert records to their subscribers; [`desk`] is the early-warning desk's side
//! (so far: who may use it). [`telemetry`] reports, [`config`] loads and checks the
//! configuration files.

pub mod alert;
pub mod config;
pub mod delivery;
pub mod desk;
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
