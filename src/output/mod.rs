//! Alert records for the world outside Kafka. `cap/` renders CAP 1.2 for alert hubs and
//! `alertmanager.rs` the Alertmanager webhook payload for receivers built for Prometheus;
//! `writers.rs` writes committed alert records as JSON lines and as CAP or Alertmanager files,
//! for `vigil backtest` and `vigil run`. The receivers of delivery to subscribers (webhook,
//! Alertmanager, e-mail, CAP feed) will live here beside the renderings they send.

pub mod alertmanager;
pub mod cap;
pub mod writers;
