//! A committed batch's outcome in plain integers per label, so that the registry is touched once
//! per label set and batch rather than once per report.

use super::metrics::{Metrics, RISK_FACTORS};
use crate::engine::{BatchOutcome, Outcome};
use crate::report::RejectReason;
use crate::tag::taxonomy::{MAX_THREATS, risk_factors_in, threats_in};

/// One alert record's labels.
pub(super) struct AlertTally {
    pub(super) rule: String,
    pub(super) severity: &'static str,
    pub(super) status: &'static str,
    pub(super) region_slot: usize,
}

/// What one batch did, per metric label.
pub(crate) struct Tally {
    pub(super) consumed: u64,
    pub(super) accepted: u64,
    pub(super) late: u64,
    pub(super) duplicates: u64,
    pub(super) near_duplicates: u64,
    pub(super) held: u64,
    pub(super) rejected: [u64; RejectReason::ALL.len()],
    /// By threat index.
    pub(super) threats: Vec<u64>,
    /// RF1–RF14.
    pub(super) risk_factors: [u64; RISK_FACTORS],
    /// Per region slot (configured regions, then `other`): threat indices 0..MAX_THREATS, then RF1–RF14.
    pub(super) region_signals: Vec<[u64; MAX_THREATS + RISK_FACTORS]>,
    pub(super) alerts: Vec<AlertTally>,
    /// Receive time minus event time of accepted reports, in seconds.
    pub(super) event_lags: Vec<i64>,
    /// Kafka timestamps of the batch's records, in milliseconds.
    pub(super) record_timestamps_ms: Vec<i64>,
}

impl Tally {
    /// The tally of `outcome`, a batch of `consumed` records with these Kafka timestamps.
    pub(crate) fn of(
        metrics: &Metrics,
        outcome: &BatchOutcome,
        consumed: u64,
        timestamps_ms: impl Iterator<Item = i64>,
    ) -> Tally {
        let c = &outcome.counts;
        let mut t = Tally {
            consumed,
            accepted: c.accepted,
            late: c.late,
            duplicates: c.duplicates,
            near_duplicates: c.near_duplicates,
            held: c.held,
            rejected: RejectReason::ALL.map(|r| c.rejected.get(&r).copied().unwrap_or(0)),
            threats: vec![0; metrics.threat_count()],
            risk_factors: [0; RISK_FACTORS],
            region_signals: vec![[0; MAX_THREATS + RISK_FACTORS]; metrics.region_slots()],
            alerts: Vec::new(),
            event_lags: Vec::new(),
            record_timestamps_ms: timestamps_ms.collect(),
        };
        for entry in &outcome.entries {
            let Outcome::Accepted {
                region,
                event_time,
                tags,
                alerts,
                ..
            } = &entry.outcome
            else {
                continue;
            };
            if let Some(r) = entry.received_at {
                t.event_lags.push((r - event_time).max(0));
            }
            let slot = metrics.region_slot(region);
            for threat in threats_in(tags.threats()) {
                if let Some(n) = t.threats.get_mut(threat) {
                    *n += 1;
                }
                t.region_signals[slot][threat] += 1;
            }
            for rf in risk_factors_in(tags.risk_factors) {
                let i = usize::from(rf) - 1;
                t.risk_factors[i] += 1;
                t.region_signals[slot][MAX_THREATS + i] += 1;
            }
            for alert in alerts {
                t.alerts.push(AlertTally {
                    rule: alert.rule.clone(),
                    severity: alert.severity.as_str(),
                    status: alert.status.as_str(),
                    region_slot: metrics.region_slot(&alert.region),
                });
            }
        }
        t
    }
}
