//! Delivery of alert records to their subscribers (`config/subscribers.toml`), as Prometheus
//! Alertmanager and the CAP alert hubs taught the field.
//!
//! Built so far: who receives what ([`subscriber`]: kinds and filters, checked at load;
//! [`route`]: which subscribers an alert record goes to), the webhook contract
//! ([`signature`]: `Vigil-Delivery-Id` and `Vigil-Signature`; [`webhook`]: one POST and its
//! verdict), the retry policy ([`retry`]: which answers are retried, when, and until when) and
//! the stage's scheduler ([`schedule`]: per-subscriber queues and slots, and the input offsets
//! that are safe to commit).
//! [`stage`] is the delivery stage (`vigil deliver`) that runs them over `vigil.alerts` with a
//! retry topic and a DLQ. Grouping, inhibition, silences and the e-mail and CAP-feed receivers
//! come next (README, "Delivery").

pub mod retry;
pub mod route;
pub mod schedule;
pub mod signature;
pub mod stage;
pub mod subscriber;
pub mod webhook;
