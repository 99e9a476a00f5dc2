//! An alert record as an Alertmanager webhook payload (version 4): the JSON Alertmanager POSTs to
//! its receivers, so that tools built for it (chat bridges, paging, ticketing) can take Vigil's
//! alerts as they are. One payload per alert record, carrying ids and counts only, as every alert.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::alert::{Alert, Status};

/// `endsAt` of an alert that has not ended, as Alertmanager writes it.
const NOT_ENDED: &str = "0001-01-01T00:00:00Z";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPayload {
    pub version: &'static str,
    pub group_key: String,
    pub truncated_alerts: u32,
    pub status: &'static str,
    pub receiver: String,
    /// What Alertmanager would group by: one group per rule and region.
    pub group_labels: BTreeMap<&'static str, String>,
    pub common_labels: Labels,
    pub common_annotations: Annotations,
    #[serde(rename = "externalURL")]
    pub external_url: String,
    pub alerts: Vec<WebhookAlert>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAlert {
    pub status: &'static str,
    pub labels: Labels,
    pub annotations: Annotations,
    pub starts_at: String,
    pub ends_at: String,
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    pub fingerprint: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Labels {
    pub alertname: String,
    pub severity: &'static str,
    pub region: String,
    pub signal: String,
    /// Vigil's own status (`firing`, `escalated`, `resolved`); Alertmanager knows two.
    pub vigil_status: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Annotations {
    pub summary: String,
    pub alert_id: String,
    pub window: String,
    pub evidence_report_ids: String,
    pub risk_factors: String,
}

/// The payload for one alert record, addressed to `receiver`.
pub fn payload(alert: &Alert, receiver: &str) -> WebhookPayload {
    let status = match alert.status {
        Status::Firing | Status::Escalated => "firing",
        Status::Resolved => "resolved",
    };
    let labels = Labels {
        alertname: alert.rule.clone(),
        severity: alert.severity.as_str(),
        region: alert.region.clone(),
        signal: alert.signal.clone(),
        vigil_status: alert.status.as_str(),
    };
    let annotations = Annotations {
        summary: alert.summary.clone(),
        alert_id: alert.alert_id.clone(),
        window: format!("{}/{}", alert.window.start, alert.window.end),
        // A JSON array: ids may hold commas and spaces, so no separator splits them safely.
        evidence_report_ids: serde_json::to_string(&alert.evidence.report_ids).unwrap_or_default(),
        risk_factors: alert.risk_factors.join(","),
    };
    let ends_at = match alert.status {
        Status::Resolved => alert.updated_at.clone(),
        _ => NOT_ENDED.to_string(),
    };
    // One episode, one Alertmanager alert: the fingerprint is the episode id without dashes.
    let fingerprint: String = alert
        .alert_id
        .chars()
        .filter(|c| *c != '-')
        .take(16)
        .collect();
    WebhookPayload {
        version: "4",
        group_key: format!(
            "{{}}:{{alertname={},region={}}}",
            quoted(&alert.rule),
            quoted(&alert.region)
        ),
        truncated_alerts: 0,
        status,
        receiver: receiver.to_string(),
        group_labels: BTreeMap::from([
            ("alertname", alert.rule.clone()),
            ("region", alert.region.clone()),
        ]),
        common_labels: labels.clone(),
        common_annotations: annotations.clone(),
        external_url: String::new(),
        alerts: vec![WebhookAlert {
            status,
            labels,
            annotations,
            starts_at: alert.first_seen.clone(),
            ends_at,
            generator_url: String::new(),
            fingerprint,
        }],
    }
}

/// A label value in double quotes, with `\\` and `"` escaped by a backslash, so that a region
/// such as `R "north"` cannot end the value early and the group key reads back as a label set.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '\\' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::generator::{GenOptions, generate};

    /// Real alert records: the demo through the core.
    fn demo_alerts() -> Vec<Alert> {
        let mut engine = crate::config::load(std::path::Path::new("config"))
            .unwrap()
            .engine()
            .unwrap();
        generate(&GenOptions::demo())
            .flat_map(|line| engine.process_alerts(line.as_bytes(), None))
            .collect()
    }

    #[test]
    fn payload_has_the_version_4_shape_and_maps_statuses() {
        let alerts = demo_alerts();
        let resolved = alerts
            .iter()
            .find(|a| a.status == Status::Resolved)
            .expect("the demo resolves an episode");
        let escalated = alerts
            .iter()
            .find(|a| a.status == Status::Escalated)
            .expect("the demo escalates an episode");
        for (alert, status, ended) in [(resolved, "resolved", true), (escalated, "firing", false)] {
            let v = serde_json::to_value(payload(alert, "desk")).unwrap();
            for key in [
                "version",
                "groupKey",
                "truncatedAlerts",
                "status",
                "receiver",
                "groupLabels",
                "commonLabels",
                "commonAnnotations",
                "externalURL",
                "alerts",
            ] {
                assert!(v.get(key).is_some(), "{key} missing: {v}");
            }
            assert_eq!(v["version"], "4");
            assert_eq!(v["status"], status);
            assert_eq!(v["receiver"], "desk");
            let a = &v["alerts"][0];
            assert_eq!(a["status"], status);
            assert_eq!(a["labels"]["alertname"], alert.rule.as_str());
            assert_eq!(a["labels"]["severity"], alert.severity.as_str());
            assert_eq!(a["labels"]["vigil_status"], alert.status.as_str());
            assert_eq!(a["annotations"]["alert_id"], alert.alert_id.as_str());
            assert_eq!(a["startsAt"], alert.first_seen.as_str());
            assert_eq!(a["endsAt"] != NOT_ENDED, ended);
            assert_eq!(a["fingerprint"].as_str().unwrap().len(), 16);
        }
    }

    #[test]
    fn group_key_quotes_label_values() {
        let mut alert = demo_alerts().remove(0);
        alert.region = r#"R "north" \ x"#.into();
        let p = payload(&alert, "desk");
        assert_eq!(
            p.group_key,
            format!(
                r#"{{}}:{{alertname="{}",region="R \"north\" \\ x"}}"#,
                alert.rule
            )
        );
        alert.region = "NG-BO".into();
        assert_eq!(
            payload(&alert, "desk").group_key,
            format!(r#"{{}}:{{alertname="{}",region="NG-BO"}}"#, alert.rule)
        );
    }
}
