//! What SREs see: Prometheus metrics and the HTTP endpoints that serve them with health and
//! readiness.

pub mod http;
pub mod metrics;
