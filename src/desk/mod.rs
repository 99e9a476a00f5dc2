//! The early-warning desk (issue 13, docs/desk.md): the analysts' API and page over what Vigil
//! streams.
//!
//! - [`access`]: who may use it (bearer tokens kept as SHA-256 hashes in `config/access.toml`,
//!   roles, region scopes; deny by default).
//! - [`store`]: the embedded SQLite store of what the desk has read, with its offsets in the
//!   same transaction.
//! - [`materialize`]: the topics read into the store.
//! - [`api`]: `/api/v1` over the store, and the page at `/desk/`.
//! - [`service`]: the desk as `vigil run` starts it.

pub mod access;
pub mod api;
pub mod materialize;
pub mod service;
pub mod settings;
pub mod store;
