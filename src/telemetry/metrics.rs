//! Every Prometheus metric Vigil exports, registered in one registry and updated through the
//! typed events of `events.rs`, so that names and labels live in this file only.
//!
//! Labels stay low-cardinality: reason codes, threat and risk-factor codes from the taxonomy,
//! rule names and severities from the config, input partitions, and regions only where
//! `metrics.regions` lists them (every other region is counted as `other`). No report text.
//!
//! The hot path never touches the registry: a committed batch's outcome becomes a tally of plain
//! integers (`tally.rs`), applied by [`Metrics::batch_committed`] once its transaction has
//! committed. An aborted batch is processed again, and must not count twice.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use super::tally::Tally;
use crate::alert::Status;
use crate::engine::Gauges;
use crate::report::RejectReason;
use crate::rules::Severity;
use crate::tag::taxonomy;

/// Label value for regions that `metrics.regions` does not list.
pub(crate) const OTHER_REGION: &str = "other";

/// Risk factors of the Framework (RF1–RF14), as an array length.
pub(crate) const RISK_FACTORS: usize = taxonomy::RISK_FACTORS as usize;

pub struct Metrics {
    registry: Registry,
    consumed: IntCounter,
    ingested: IntCounter,
    rejected: IntCounterVec,
    late: IntCounter,
    duplicates: IntCounter,
    near_duplicates: IntCounter,
    held: IntCounter,
    held_now: IntGauge,
    tags: IntCounterVec,
    region_signals: IntCounterVec,
    alerts: IntCounterVec,
    region_alerts: IntCounterVec,
    active_alerts: IntGaugeVec,
    region_active_alerts: IntGaugeVec,
    window_keys: IntGauge,
    window_panes: IntGauge,
    dlq: IntCounterVec,
    batch_seconds: Histogram,
    record_latency_seconds: Histogram,
    event_lag_seconds: Histogram,
    commits: IntCounter,
    aborts: IntCounter,
    stalls: IntCounter,
    commit_seconds: Histogram,
    restore_seconds: Histogram,
    assigned_partitions: IntGauge,
    consumer_lag: IntGaugeVec,
    ready: IntGauge,
    threat_codes: Vec<String>,
    regions: Vec<String>,
    region_index: HashMap<String, usize>,
}

#[derive(Debug, thiserror::Error)]
#[error("metrics: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

fn latency_buckets() -> Vec<f64> {
    vec![
        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0,
    ]
}

pub(super) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn rf_code(rf: usize) -> String {
    format!("RF{}", rf + 1)
}

impl Metrics {
    /// A registry for a taxonomy's threat codes, the configured rule names, and the regions that
    /// get their own label. (One long table on purpose: every metric's name and help text in one
    /// place, in the order Grafana's dashboards list them.)
    pub fn new(
        threat_codes: &[String],
        rule_names: &[String],
        regions: &[String],
    ) -> Result<Metrics, MetricsError> {
        let registry = Registry::new();
        let counter = |name: &str, help: &str| IntCounter::with_opts(Opts::new(name, help));
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels)
        };
        let gauge = |name: &str, help: &str| IntGauge::with_opts(Opts::new(name, help));
        let gauge_vec = |name: &str, help: &str, labels: &[&str]| {
            IntGaugeVec::new(Opts::new(name, help), labels)
        };
        let histogram = |name: &str, help: &str, buckets: Vec<f64>| {
            Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
        };
        let m = Metrics {
            consumed: counter(
                "vigil_records_consumed_total",
                "Input records processed in committed batches, valid or not",
            )?,
            ingested: counter(
                "vigil_reports_ingested_total",
                "Reports accepted by validation and counted",
            )?,
            rejected: counter_vec(
                "vigil_reports_rejected_total",
                "Reports rejected, by reason code (too_late included)",
                &["reason"],
            )?,
            late: counter(
                "vigil_reports_late_total",
                "Accepted reports that arrived behind their region's watermark",
            )?,
            duplicates: counter(
                "vigil_reports_duplicate_total",
                "Reports whose id was already counted",
            )?,
            near_duplicates: counter(
                "vigil_reports_near_duplicate_total",
                "Duplicates that repeat another report of their source under a new id",
            )?,
            held: counter(
                "vigil_reports_held_total",
                "Reports held as suspect: event time jumps ahead of their region's clock",
            )?,
            held_now: IntGauge::new(
                "vigil_held_reports",
                "Reports held as suspect now, awaiting corroboration",
            )?,
            tags: counter_vec(
                "vigil_tags_total",
                "Tags on accepted reports, by kind (threat, risk_factor) and code",
                &["kind", "code"],
            )?,
            region_signals: counter_vec(
                "vigil_region_signal_reports_total",
                "Accepted reports per configured region and signal (threat or risk-factor code)",
                &["region", "signal"],
            )?,
            alerts: counter_vec(
                "vigil_alerts_total",
                "Alert records published, by rule, severity and status",
                &["rule", "severity", "status"],
            )?,
            region_alerts: counter_vec(
                "vigil_region_alerts_total",
                "Alert records published per configured region, by severity and status",
                &["region", "severity", "status"],
            )?,
            active_alerts: gauge_vec(
                "vigil_alerts_active",
                "Episodes currently open, by severity",
                &["severity"],
            )?,
            region_active_alerts: gauge_vec(
                "vigil_region_alerts_active",
                "Episodes currently open per configured region, by severity",
                &["region", "severity"],
            )?,
            window_keys: gauge(
                "vigil_window_keys",
                "Window keys (region, signal) holding panes",
            )?,
            window_panes: gauge("vigil_window_panes", "Non-empty panes held")?,
            dlq: counter_vec(
                "vigil_dlq_records_total",
                "Records written to the DLQ, by reason",
                &["reason"],
            )?,
            batch_seconds: histogram(
                "vigil_batch_duration_seconds",
                "Time to process one batch and commit its transaction",
                latency_buckets(),
            )?,
            record_latency_seconds: histogram(
                "vigil_record_latency_seconds",
                "Input record's Kafka timestamp to the commit of the batch holding it",
                latency_buckets(),
            )?,
            event_lag_seconds: histogram(
                "vigil_event_time_lag_seconds",
                "Receive time minus event time of accepted reports",
                vec![
                    60.0,
                    600.0,
                    3600.0,
                    6.0 * 3600.0,
                    24.0 * 3600.0,
                    72.0 * 3600.0,
                    7.0 * 86400.0,
                ],
            )?,
            commits: counter(
                "vigil_transaction_commits_total",
                "Batches committed (Kafka transactions, or offset commits without them)",
            )?,
            aborts: counter(
                "vigil_transaction_aborts_total",
                "Batches aborted: the instance rejoins and restores from the changelog",
            )?,
            stalls: counter(
                "vigil_consumer_stalls_total",
                "Times records waited but none arrived for pipeline.stall_timeout_secs, and the instance rejoined",
            )?,
            commit_seconds: histogram(
                "vigil_transaction_commit_duration_seconds",
                "Time to send offsets to and commit one transaction",
                latency_buckets(),
            )?,
            restore_seconds: histogram(
                "vigil_state_restore_duration_seconds",
                "Time to restore newly assigned partitions' state from the changelog",
                latency_buckets(),
            )?,
            assigned_partitions: gauge(
                "vigil_assigned_partitions",
                "Input partitions assigned and restored",
            )?,
            consumer_lag: gauge_vec(
                "vigil_consumer_lag_records",
                "Input records not yet committed, per assigned partition (last stable offset minus committed offset)",
                &["partition"],
            )?,
            ready: gauge(
                "vigil_ready",
                "1 when assigned partitions are restored and consuming (what /readyz answers)",
            )?,
            threat_codes: threat_codes.to_vec(),
            regions: regions.to_vec(),
            region_index: regions
                .iter()
                .enumerate()
                .map(|(i, r)| (r.clone(), i))
                .collect(),
            registry,
        };
        let build = IntGaugeVec::new(
            Opts::new("vigil_build_info", "Build information; always 1"),
            &["version"],
        )?;
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        m.registry.register(Box::new(build))?;
        for c in [
            &m.consumed,
            &m.ingested,
            &m.late,
            &m.duplicates,
            &m.held,
            &m.near_duplicates,
            &m.commits,
            &m.aborts,
            &m.stalls,
        ] {
            m.registry.register(Box::new(c.clone()))?;
        }
        for c in [
            &m.rejected,
            &m.tags,
            &m.region_signals,
            &m.alerts,
            &m.region_alerts,
            &m.dlq,
        ] {
            m.registry.register(Box::new(c.clone()))?;
        }
        for g in [
            &m.held_now,
            &m.window_keys,
            &m.window_panes,
            &m.assigned_partitions,
            &m.ready,
        ] {
            m.registry.register(Box::new(g.clone()))?;
        }
        for g in [&m.active_alerts, &m.region_active_alerts, &m.consumer_lag] {
            m.registry.register(Box::new(g.clone()))?;
        }
        for h in [
            &m.batch_seconds,
            &m.record_latency_seconds,
            &m.event_lag_seconds,
            &m.commit_seconds,
            &m.restore_seconds,
        ] {
            m.registry.register(Box::new(h.clone()))?;
        }
        m.export_zeros(rule_names);
        Ok(m)
    }

    /// Exports every label value known in advance at zero, so that rate() and absent-data
    /// alerts work before the first event of a kind.
    fn export_zeros(&self, rule_names: &[String]) {
        let m = self;
        // Every label value known in advance is exported from the start, at zero, so that
        // rate() and absent-data alerts work before the first event of a kind.
        for r in RejectReason::ALL {
            m.rejected.with_label_values(&[r.code()]);
            m.dlq.with_label_values(&[r.code()]);
        }
        for code in &m.threat_codes {
            m.tags.with_label_values(&["threat", code]);
        }
        for rf in 0..RISK_FACTORS {
            m.tags.with_label_values(&["risk_factor", &rf_code(rf)]);
        }
        // A series born at its first increment hides that increment from increase() and from
        // the desk's alert annotations: every bounded combination starts at zero instead.
        let region_labels: Vec<&str> = m
            .regions
            .iter()
            .map(String::as_str)
            .chain([OTHER_REGION])
            .collect();
        for sev in Severity::ALL {
            m.active_alerts.with_label_values(&[sev.as_str()]);
            for status in Status::ALL {
                for rule in rule_names {
                    m.alerts
                        .with_label_values(&[rule, sev.as_str(), status.as_str()]);
                }
                for region in &region_labels {
                    m.region_alerts
                        .with_label_values(&[region, sev.as_str(), status.as_str()]);
                }
            }
        }
        for region in &region_labels {
            for code in &m.threat_codes {
                m.region_signals
                    .with_label_values(&[*region, code.as_str()]);
            }
            for rf in 0..RISK_FACTORS {
                m.region_signals
                    .with_label_values(&[*region, rf_code(rf).as_str()]);
            }
        }
    }

    /// Threat codes the registry labels.
    pub(super) fn threat_count(&self) -> usize {
        self.threat_codes.len()
    }

    /// Region label slots: the configured regions, then `other`.
    pub(super) fn region_slots(&self) -> usize {
        self.regions.len() + 1
    }

    /// The label value of a region: itself when configured, else [`OTHER_REGION`].
    fn region_label(&self, index: usize) -> &str {
        self.regions.get(index).map_or(OTHER_REGION, String::as_str)
    }

    pub(super) fn region_slot(&self, region: &str) -> usize {
        self.region_index
            .get(region)
            .copied()
            .unwrap_or(self.regions.len())
    }

    /// The registry, for metrics registered elsewhere (`telemetry/delivery.rs`).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }

    /// A batch's transaction committed: its tally counts, and the state gauges are refreshed.
    pub(crate) fn batch_committed(
        &self,
        tally: &Tally,
        batch_seconds: f64,
        commit_seconds: Option<f64>,
        gauges: &Gauges,
    ) {
        self.commits.inc();
        self.batch_seconds.observe(batch_seconds);
        if let Some(s) = commit_seconds {
            self.commit_seconds.observe(s);
        }
        self.consumed.inc_by(tally.consumed);
        self.ingested.inc_by(tally.accepted);
        self.late.inc_by(tally.late);
        self.duplicates.inc_by(tally.duplicates);
        self.held.inc_by(tally.held);
        self.near_duplicates.inc_by(tally.near_duplicates);
        for (r, &n) in RejectReason::ALL.iter().zip(&tally.rejected) {
            if n > 0 {
                self.rejected.with_label_values(&[r.code()]).inc_by(n);
                self.dlq.with_label_values(&[r.code()]).inc_by(n);
            }
        }
        for (code, n) in self.threat_codes.iter().zip(&tally.threats) {
            if *n > 0 {
                self.tags.with_label_values(&["threat", code]).inc_by(*n);
            }
        }
        for (rf, n) in tally.risk_factors.iter().enumerate() {
            if *n > 0 {
                self.tags
                    .with_label_values(&["risk_factor", &rf_code(rf)])
                    .inc_by(*n);
            }
        }
        for (slot, counts) in tally.region_signals.iter().enumerate() {
            for (signal, n) in counts.iter().enumerate() {
                if *n == 0 {
                    continue;
                }
                let code = if signal < taxonomy::MAX_THREATS {
                    self.threat_codes[signal].clone()
                } else {
                    rf_code(signal - taxonomy::MAX_THREATS)
                };
                self.region_signals
                    .with_label_values(&[self.region_label(slot), &code])
                    .inc_by(*n);
            }
        }
        for a in &tally.alerts {
            self.alerts
                .with_label_values(&[&a.rule, a.severity, a.status])
                .inc();
            self.region_alerts
                .with_label_values(&[self.region_label(a.region_slot), a.severity, a.status])
                .inc();
        }
        for lag in &tally.event_lags {
            self.event_lag_seconds.observe(*lag as f64);
        }
        let now = now_millis();
        for ts in &tally.record_timestamps_ms {
            self.record_latency_seconds
                .observe((now - ts).max(0) as f64 / 1000.0);
        }
        self.window_keys.set(gauges.window_keys as i64);
        self.held_now.set(gauges.held as i64);
        self.window_panes.set(gauges.panes as i64);
        let total = gauges.open;
        let mut per_region = vec![[0u64; 3]; self.regions.len() + 1];
        for (region, open) in &gauges.open_by_region {
            let slot = self.region_slot(region);
            for s in 0..3 {
                per_region[slot][s] += open[s];
            }
        }
        for sev in Severity::ALL {
            let s = sev as usize;
            self.active_alerts
                .with_label_values(&[sev.as_str()])
                .set(total[s] as i64);
            for (slot, open) in per_region.iter().enumerate() {
                // Configured regions always have a series; `other` only once it has alerts.
                if slot < self.regions.len() || open.iter().any(|n| *n > 0) {
                    self.region_active_alerts
                        .with_label_values(&[self.region_label(slot), sev.as_str()])
                        .set(open[s] as i64);
                }
            }
        }
    }

    pub(crate) fn batch_aborted(&self) {
        self.aborts.inc();
    }

    pub(crate) fn consumer_stalled(&self) {
        self.stalls.inc();
    }

    pub fn restored(&self, seconds: f64, assigned: usize) {
        self.restore_seconds.observe(seconds);
        self.assigned_partitions.set(assigned as i64);
    }

    pub fn assigned(&self, partitions: usize) {
        self.assigned_partitions.set(partitions as i64);
    }

    pub(crate) fn set_ready(&self, ready: bool) {
        self.ready.set(i64::from(ready));
    }

    /// Consumer lag of one assigned input partition, in records.
    pub(crate) fn partition_lag(&self, partition: i32, lag: i64) {
        self.consumer_lag
            .with_label_values(&[&partition.to_string()])
            .set(lag.max(0));
    }

    /// A partition left this instance: its lag is another instance's to report.
    pub(crate) fn partition_revoked(&self, partition: i32) {
        let _ = self
            .consumer_lag
            .remove_label_values(&[&partition.to_string()]);
    }
}
