//! Alert records for the delivery unit tests.

use crate::alert::{Alert, Status};
use crate::rules::Severity;

/// An alert record with the given identity, severity and status (the rest fixed).
pub(crate) fn alert(
    alert_id: &str,
    region: &str,
    signal: &str,
    severity: Severity,
    status: Status,
) -> Alert {
    let line = serde_json::json!({
        "alert_id": alert_id, "status": status, "rule": "abduction_cluster",
        "severity": severity, "region": region, "signal": signal,
        "window": {"start": "2026-03-05T00:00:00Z", "end": "2026-03-06T00:00:00Z"},
        "observed": {"reports": 3, "distinct_sources": 2, "casualties": {"killed": 0,
            "injured": 0, "abducted": 5, "missing": 0, "displaced": 0, "sexual_violence": 0},
            "score": 1.0, "value": 3.0, "baseline": null},
        "threshold": 3.0, "risk_factors": [], "evidence": {"report_ids": [], "indicators": []},
        "first_seen": "2026-03-06T00:00:00Z", "updated_at": "2026-03-06T00:00:00Z",
        "summary": "s"
    });
    serde_json::from_value(line).expect("an alert record")
}

/// A firing watch-level alert in `region` for `signal`.
pub(crate) fn test_alert(region: &str, signal: &str) -> Alert {
    alert("a", region, signal, Severity::Watch, Status::Firing)
}
