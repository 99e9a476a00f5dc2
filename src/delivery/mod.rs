//! Delivery of alert records to their subscribers (`config/subscribers.toml`), as Prometheus
//! Alertmanager and the CAP alert hubs taught the field. A record's way, file by file:
//!
//! - who receives what: [`subscriber`] (kinds, filters, grouping; checked at load) and
//!   [`route`] (which subscribers a record goes to);
//! - gathered and held back: [`group`] (group_by, group_wait, group_interval,
//!   repeat_interval), [`silence`] (an analyst's mute, from the silences topic) and [`inhibit`]
//!   (an open critical holds back watch-level notices);
//! - sent: [`webhook`] with [`signature`] (`Vigil-Delivery-Id`, `Vigil-Signature`) for the
//!   `webhook` and `alertmanager` kinds, [`email`] for `email`; served: [`cap_feed`];
//! - scheduled and retried: [`schedule`] (per-subscriber queues and slots, the offsets safe to
//!   commit) and [`retry`] (which answers are retried, when, until when);
//! - run: [`stage`] (the consumer of `vigil.alerts` and the retry topic, with the DLQ) and
//!   [`service`] (what `vigil run` and `vigil deliver` start: silences, feeds and the stage).

pub mod cap_feed;
pub mod email;
pub mod group;
pub mod inhibit;
pub mod retry;
pub mod route;
pub mod schedule;
pub mod service;
pub mod signature;
pub mod silence;
pub mod stage;
pub mod subscriber;
#[cfg(test)]
pub(crate) mod test_support;
pub mod webhook;
