//! The desk's metrics, in the same registry as the pipeline's: analysts' verdicts per rule (so
//! that each rule's judged precision shows in Grafana), records taken into the store per topic
//! kind, refused authentications, and the live stream's clients. Labels are bounded: rules from
//! `rules.toml`, three verdicts, five topic kinds, three refusal reasons.

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};

/// The desk metrics.
#[derive(Clone)]
pub struct DeskMetrics {
    reviews: IntCounterVec,
    taken: IntCounterVec,
    refused: IntCounterVec,
    stream_clients: IntGauge,
}

/// The `source` label values of `vigil_desk_records_total`.
pub const SOURCES: [&str; 6] = [
    "alerts", "tagged", "reports", "reviews", "silences", "erasures",
];
/// The `reason` label values of `vigil_desk_auth_refused_total`.
pub const REFUSALS: [&str; 3] = ["unauthenticated", "forbidden", "rate_limited"];

impl DeskMetrics {
    /// Registers the metrics, with a series for every rule × verdict, source and reason from the
    /// start (a rule never judged a false alarm reads 0, not absent).
    ///
    /// Errors: a name already registered.
    pub fn register(
        registry: &Registry,
        rules: &[String],
        verdicts: &[&str],
    ) -> Result<DeskMetrics, prometheus::Error> {
        let m = DeskMetrics {
            reviews: IntCounterVec::new(
                Opts::new(
                    "vigil_alert_reviews_total",
                    "Analyst reviews made on this desk instance, by the alert's rule and the verdict (acknowledged, confirmed, false_alarm).",
                ),
                &["rule", "verdict"],
            )?,
            taken: IntCounterVec::new(
                Opts::new(
                    "vigil_desk_records_total",
                    "Records read into the desk's store, by topic kind (alerts, tagged, reports, reviews, silences).",
                ),
                &["source"],
            )?,
            refused: IntCounterVec::new(
                Opts::new(
                    "vigil_desk_auth_refused_total",
                    "Desk API requests refused: no or unknown token (unauthenticated), role or scope (forbidden), too many failures from one address (rate_limited).",
                ),
                &["reason"],
            )?,
            stream_clients: IntGauge::new(
                "vigil_desk_stream_clients",
                "Clients connected to /api/v1/stream.",
            )?,
        };
        registry.register(Box::new(m.reviews.clone()))?;
        registry.register(Box::new(m.taken.clone()))?;
        registry.register(Box::new(m.refused.clone()))?;
        registry.register(Box::new(m.stream_clients.clone()))?;
        for rule in rules {
            for verdict in verdicts {
                m.reviews.with_label_values(&[rule.as_str(), verdict]);
            }
        }
        for s in SOURCES {
            m.taken.with_label_values(&[s]);
        }
        for r in REFUSALS {
            m.refused.with_label_values(&[r]);
        }
        Ok(m)
    }

    /// A review made here.
    pub fn reviewed(&self, rule: &str, verdict: &str) {
        self.reviews.with_label_values(&[rule, verdict]).inc();
    }

    /// Records of `source` taken into the store.
    pub fn taken(&self, source: &str, n: u64) {
        self.taken.with_label_values(&[source]).inc_by(n);
    }

    /// A request refused for `reason` (one of [`REFUSALS`]).
    pub fn refused(&self, reason: &str) {
        self.refused.with_label_values(&[reason]).inc();
    }

    /// A stream client came (+1) or went (-1).
    pub fn stream_clients(&self, delta: i64) {
        self.stream_clients.add(delta);
    }
}
