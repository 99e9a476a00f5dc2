//! The delivery stage's metrics, in the same registry as the pipeline's: deliveries by
//! subscriber and outcome, retries, silenced and inhibited notices, the latency from an alert's
//! commit to its receiver's 2xx, and the deliveries waiting. The `subscriber` label takes only
//! the names of `subscribers.toml`, so it stays bounded.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};

/// How a delivery ended (`outcome` label of `vigil_deliveries_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// A 2xx (or SMTP acceptance).
    Delivered,
    /// Refused by the receiver (a 4xx other than 408/429, a permanent SMTP error): to the DLQ.
    Refused,
    /// Still failing after `delivery.max_age_secs`: to the DLQ.
    Expired,
}

impl DeliveryOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Refused => "refused",
            DeliveryOutcome::Expired => "expired",
        }
    }
}

/// The delivery metrics.
#[derive(Clone)]
pub struct DeliveryMetrics {
    deliveries: IntCounterVec,
    retries: IntCounterVec,
    silenced: IntCounterVec,
    inhibited: IntCounterVec,
    latency: HistogramVec,
    queued: IntGaugeVec,
}

impl DeliveryMetrics {
    /// Registers the metrics, with a series for every subscriber and outcome from the start (so
    /// that a rate over a subscriber that never failed is 0, not absent).
    ///
    /// Errors: a name already registered.
    pub fn register(
        registry: &Registry,
        subscribers: &[String],
    ) -> Result<DeliveryMetrics, prometheus::Error> {
        let counter = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels)
        };
        let m = DeliveryMetrics {
            deliveries: counter(
                "vigil_deliveries_total",
                "Deliveries finished, by subscriber and outcome (delivered, refused, expired).",
                &["subscriber", "outcome"],
            )?,
            retries: counter(
                "vigil_delivery_retries_total",
                "Delivery attempts that failed and were scheduled again, by subscriber.",
                &["subscriber"],
            )?,
            silenced: counter(
                "vigil_delivery_silenced_total",
                "Alert records held back from a subscriber by a silence, counted when a delivery was due (for grouped kinds, the latest record of each episode the notification carried).",
                &["subscriber"],
            )?,
            inhibited: counter(
                "vigil_delivery_inhibited_total",
                "Watch-level alert records held back under an open critical episode, counted as silenced ones are.",
                &["subscriber"],
            )?,
            latency: HistogramVec::new(
                HistogramOpts::new(
                    "vigil_delivery_latency_seconds",
                    "From the alert record's commit on the alerts topic to its delivery.",
                )
                .buckets(vec![
                    0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
                    1800.0, 3600.0,
                ]),
                &["subscriber"],
            )?,
            queued: IntGaugeVec::new(
                Opts::new(
                    "vigil_delivery_queued",
                    "Deliveries waiting in memory (queued or gathering in a group), by subscriber.",
                ),
                &["subscriber"],
            )?,
        };
        registry.register(Box::new(m.deliveries.clone()))?;
        registry.register(Box::new(m.retries.clone()))?;
        registry.register(Box::new(m.silenced.clone()))?;
        registry.register(Box::new(m.inhibited.clone()))?;
        registry.register(Box::new(m.latency.clone()))?;
        registry.register(Box::new(m.queued.clone()))?;
        for s in subscribers {
            for o in [
                DeliveryOutcome::Delivered,
                DeliveryOutcome::Refused,
                DeliveryOutcome::Expired,
            ] {
                m.deliveries.with_label_values(&[s.as_str(), o.as_str()]);
            }
            m.retries.with_label_values(&[s.as_str()]);
            m.latency.with_label_values(&[s.as_str()]);
            m.silenced.with_label_values(&[s.as_str()]);
            m.inhibited.with_label_values(&[s.as_str()]);
            m.queued.with_label_values(&[s.as_str()]);
        }
        Ok(m)
    }

    pub fn finished(&self, subscriber: &str, outcome: DeliveryOutcome) {
        self.deliveries
            .with_label_values(&[subscriber, outcome.as_str()])
            .inc();
    }

    pub fn retried(&self, subscriber: &str) {
        self.retries.with_label_values(&[subscriber]).inc();
    }

    pub fn silenced(&self, subscriber: &str, records: u64) {
        self.silenced
            .with_label_values(&[subscriber])
            .inc_by(records);
    }

    pub fn inhibited(&self, subscriber: &str, records: u64) {
        self.inhibited
            .with_label_values(&[subscriber])
            .inc_by(records);
    }

    /// A delivery's latency, from the commit of the oldest record it carries.
    pub fn latency(&self, subscriber: &str, seconds: f64) {
        self.latency
            .with_label_values(&[subscriber])
            .observe(seconds.max(0.0));
    }

    pub fn queued(&self, subscriber: &str, waiting: usize) {
        self.queued
            .with_label_values(&[subscriber])
            .set(waiting as i64);
    }
}
