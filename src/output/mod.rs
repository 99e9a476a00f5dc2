//! Alert records for the world outside Kafka. `cap.rs` renders CAP 1.2 for alert hubs and
//! `alertmanager.rs` the Alertmanager webhook payload for receivers built for Prometheus;
//! `sinks.rs` holds the sinks that write committed alerts (JSON lines, CAP and Alertmanager
//! files), shared by `vigil backtest` and `vigil run`. Delivery to subscribers plugs in here.

pub mod alertmanager;
pub mod cap;
pub mod sinks;
