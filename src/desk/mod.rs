//! The early-warning desk (issue 13): the analysts' API and page over what Vigil streams.
//!
//! Built so far: [`access`], who may use it (bearer tokens kept as SHA-256 hashes in
//! `config/access.toml`, roles, region scopes; deny by default), loaded and checked with the
//! rest of the configuration; [`store`], the embedded SQLite store of the alert records the
//! desk has read, with its offsets in the same transaction, queried in episodes by scope and
//! `as_of`; and [`api`], `GET /api/v1/alerts` over the store for the tokens of `access`.
//! Reading Kafka into the store, serving the API from `vigil run`, the other endpoints and the
//! page come next.

pub mod access;
pub mod api;
pub mod store;
