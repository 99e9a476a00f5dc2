//! Telemetry: every Prometheus metric Vigil exports, registered in one registry and updated
//! through typed events, so that names and labels live in this file only. Labels are low
//! cardinality: reason codes, threat and risk-factor codes from the taxonomy, rule names and
//! severities from the config. No region label, no report text.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::alert::Alert;
use crate::engine::Engine;
use crate::report::RejectReason;
use crate::tagger::TagSet;

pub struct Metrics {
    registry: Registry,
    ingested: IntCounter,
    rejected: IntCounterVec,
    late: IntCounter,
    duplicates: IntCounter,
    tags: IntCounterVec,
    alerts: IntCounterVec,
    active_alerts: IntGaugeVec,
    window_keys: IntGauge,
    window_panes: IntGauge,
    dlq: IntCounterVec,
    batch_seconds: Histogram,
    event_lag_seconds: Histogram,
    commits: IntCounter,
    aborts: IntCounter,
    restore_seconds: Histogram,
    assigned_partitions: IntGauge,
}

#[derive(Debug, thiserror::Error)]
#[error("metrics: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

fn buckets() -> Vec<f64> {
    vec![
        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ]
}

impl Metrics {
    pub fn new() -> Result<Metrics, MetricsError> {
        let registry = Registry::new();
        let counter = |name: &str, help: &str| IntCounter::with_opts(Opts::new(name, help));
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels)
        };
        let m = Metrics {
            ingested: counter(
                "vigil_reports_ingested_total",
                "Reports accepted by validation and counted",
            )?,
            rejected: counter_vec(
                "vigil_reports_rejected_total",
                "Reports rejected, by reason code",
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
            tags: counter_vec(
                "vigil_tags_total",
                "Tags by kind (threat, risk_factor) and code",
                &["kind", "code"],
            )?,
            alerts: counter_vec(
                "vigil_alerts_total",
                "Alert records published, by rule, severity and status",
                &["rule", "severity", "status"],
            )?,
            active_alerts: IntGaugeVec::new(
                Opts::new(
                    "vigil_alerts_active",
                    "Episodes currently open, by severity",
                ),
                &["severity"],
            )?,
            window_keys: IntGauge::with_opts(Opts::new(
                "vigil_window_keys",
                "Window keys (region, signal) holding panes",
            ))?,
            window_panes: IntGauge::with_opts(Opts::new(
                "vigil_window_panes",
                "Non-empty panes held",
            ))?,
            dlq: counter_vec(
                "vigil_dlq_records_total",
                "Records written to the DLQ, by reason",
                &["reason"],
            )?,
            batch_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "vigil_batch_duration_seconds",
                    "Time to process and commit one batch",
                )
                .buckets(buckets()),
            )?,
            event_lag_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "vigil_event_time_lag_seconds",
                    "Receive time minus event time of accepted reports",
                )
                .buckets(vec![
                    60.0,
                    600.0,
                    3600.0,
                    6.0 * 3600.0,
                    24.0 * 3600.0,
                    72.0 * 3600.0,
                    7.0 * 86400.0,
                ]),
            )?,
            commits: counter(
                "vigil_transaction_commits_total",
                "Kafka transactions committed",
            )?,
            aborts: counter(
                "vigil_transaction_aborts_total",
                "Kafka transactions aborted",
            )?,
            restore_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "vigil_state_restore_duration_seconds",
                    "Time to restore assigned partitions' state",
                )
                .buckets(buckets()),
            )?,
            assigned_partitions: IntGauge::with_opts(Opts::new(
                "vigil_assigned_partitions",
                "Input partitions assigned and restored",
            ))?,
            registry,
        };
        let build = IntGaugeVec::new(
            Opts::new("vigil_build_info", "Build information"),
            &["version"],
        )?;
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        m.registry.register(Box::new(build))?;
        for c in [&m.ingested, &m.late, &m.duplicates, &m.commits, &m.aborts] {
            m.registry.register(Box::new(c.clone()))?;
        }
        for c in [&m.rejected, &m.tags, &m.alerts, &m.dlq] {
            m.registry.register(Box::new(c.clone()))?;
        }
        for g in [&m.window_keys, &m.window_panes, &m.assigned_partitions] {
            m.registry.register(Box::new(g.clone()))?;
        }
        m.registry.register(Box::new(m.active_alerts.clone()))?;
        for h in [&m.batch_seconds, &m.event_lag_seconds, &m.restore_seconds] {
            m.registry.register(Box::new(h.clone()))?;
        }
        // Reason codes are known in advance: export zeros, so that rate() works from the start.
        for r in RejectReason::ALL {
            m.rejected.with_label_values(&[r.code()]);
            m.dlq.with_label_values(&[r.code()]);
        }
        Ok(m)
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }

    pub fn report_accepted(
        &self,
        engine: &Engine,
        tags: &TagSet,
        late: bool,
        lag_secs: Option<i64>,
    ) {
        self.ingested.inc();
        if late {
            self.late.inc();
        }
        if let Some(lag) = lag_secs {
            self.event_lag_seconds.observe(lag.max(0) as f64);
        }
        for (t, code) in engine.tagger().threat_codes().iter().enumerate() {
            if tags.threats() & (1 << t) != 0 {
                self.tags.with_label_values(&["threat", code]).inc();
            }
        }
        for rf in 0..14u16 {
            if tags.risk_factors & (1 << rf) != 0 {
                self.tags
                    .with_label_values(&["risk_factor", &format!("RF{}", rf + 1)])
                    .inc();
            }
        }
    }

    pub fn report_duplicate(&self) {
        self.duplicates.inc();
    }

    pub fn report_rejected(&self, reason: RejectReason) {
        self.rejected.with_label_values(&[reason.code()]).inc();
    }

    pub fn dlq_record(&self, reason: RejectReason) {
        self.dlq.with_label_values(&[reason.code()]).inc();
    }

    pub fn alert_published(&self, alert: &Alert) {
        self.alerts
            .with_label_values(&[&alert.rule, alert.severity.as_str(), alert.status.as_str()])
            .inc();
    }

    pub fn batch_committed(&self, seconds: f64, engine: &Engine) {
        self.commits.inc();
        self.batch_seconds.observe(seconds);
        self.window_keys.set(engine.window_key_count() as i64);
        self.window_panes.set(engine.pane_count() as i64);
        let [watch, warning, critical] = engine.active_alerts();
        for (sev, n) in [
            ("watch", watch),
            ("warning", warning),
            ("critical", critical),
        ] {
            self.active_alerts.with_label_values(&[sev]).set(n as i64);
        }
    }

    pub fn batch_aborted(&self) {
        self.aborts.inc();
    }

    pub fn restored(&self, seconds: f64, assigned: usize) {
        self.restore_seconds.observe(seconds);
        self.assigned_partitions.set(assigned as i64);
    }

    pub fn assigned(&self, partitions: usize) {
        self.assigned_partitions.set(partitions as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_conventions_and_render() {
        let m = Metrics::new().unwrap();
        m.report_rejected(RejectReason::TooLate);
        m.batch_aborted();
        let text = m.render();
        assert!(text.contains("vigil_reports_rejected_total{reason=\"too_late\"} 1"));
        assert!(text.contains("vigil_transaction_aborts_total 1"));
        assert!(text.contains("vigil_build_info{version="));
        for line in text.lines().filter(|l| l.starts_with("# TYPE")) {
            let mut parts = line.split_whitespace().skip(2);
            let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
            assert!(name.starts_with("vigil_"), "{name}");
            if kind == "counter" {
                assert!(name.ends_with("_total"), "{name}");
            }
            if kind == "histogram" {
                assert!(name.ends_with("_seconds"), "{name}");
            }
        }
    }
}
