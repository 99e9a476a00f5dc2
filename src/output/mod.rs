//! Renderings of an alert record for the world outside Kafka: CAP 1.2 for alert hubs and the
//! Alertmanager webhook payload for receivers built for Prometheus.

pub mod alertmanager;
pub mod cap;
