//! The early-warning desk (issue 13): the analysts' API and page over what Vigil streams.
//!
//! Built so far: [`access`], who may use it (bearer tokens kept as SHA-256 hashes in
//! `config/access.toml`, roles, region scopes; deny by default), loaded and checked with the
//! rest of the configuration. The store, the API and the page come next.

pub mod access;
