//! The core's state as it is kept outside the process: the records of the compacted
//! `vigil.state` changelog, written by the pipeline after every batch and read back on
//! assignment. [`changelog`] owns their keys and encoding; the windows declare what changed
//! (`window/changes.rs`) and the engine assembles regions (`engine/region.rs`); Kafka I/O is
//! `kafka/`'s.

pub mod changelog;
