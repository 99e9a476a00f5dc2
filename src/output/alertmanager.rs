//! An alert record as an Alertmanager webhook payload (version 4): the JSON Alertmanager POSTs to
//! its receivers, so that tools built for it (chat bridges, paging, ticketing) can take Vigil's
//! alerts as they are: one payload per group notification (`grouped`), or per alert record
//! (`payload`, as `--alertmanager-dir` writes them), carrying ids and counts only.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::alert::{Alert, Status};
use crate::delivery::group::GroupLabel;

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
    /// The labels the group is made by (the subscriber's `group_by`; rule and region for a
    /// record rendered alone).
    pub group_labels: BTreeMap<&'static str, String>,
    /// Labels (and annotations) every alert of the group shares.
    pub common_labels: BTreeMap<&'static str, String>,
    pub common_annotations: BTreeMap<&'static str, String>,
    #[serde(rename = "externalURL")]
    pub external_url: String,
    pub alerts: Vec<WebhookAlert>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAlert {
    pub status: &'static str,
    pub labels: BTreeMap<&'static str, String>,
    pub annotations: BTreeMap<&'static str, String>,
    pub starts_at: String,
    pub ends_at: String,
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    pub fingerprint: String,
}

/// The payload for one alert record, addressed to `receiver`: a group of one, grouped by rule
/// and region.
pub fn payload(alert: &Alert, receiver: &str) -> WebhookPayload {
    grouped(&[alert], receiver, &[GroupLabel::Rule, GroupLabel::Region])
}

/// The payload of one group's notification: `alerts` (the latest record of each episode),
/// grouped by `group_by`, addressed to `receiver`. Firing while any of them is not resolved,
/// as Alertmanager's group status.
pub fn grouped(alerts: &[&Alert], receiver: &str, group_by: &[GroupLabel]) -> WebhookPayload {
    let rendered: Vec<WebhookAlert> = alerts.iter().map(|a| webhook_alert(a)).collect();
    let status = if rendered.iter().any(|a| a.status == "firing") {
        "firing"
    } else {
        "resolved"
    };
    let group_labels: BTreeMap<&'static str, String> = match rendered.first() {
        Some(first) => group_by
            .iter()
            .filter_map(|l| {
                let name = label_name(*l);
                first.labels.get(name).map(|v| (name, v.clone()))
            })
            .collect(),
        None => BTreeMap::new(),
    };
    let group_key = format!(
        "{{}}:{{{}}}",
        group_labels
            .iter()
            .map(|(k, v)| format!("{k}={}", quoted(v)))
            .collect::<Vec<_>>()
            .join(",")
    );
    WebhookPayload {
        version: "4",
        group_key,
        truncated_alerts: 0,
        status,
        receiver: receiver.to_string(),
        group_labels,
        common_labels: common(rendered.iter().map(|a| &a.labels)),
        common_annotations: common(rendered.iter().map(|a| &a.annotations)),
        external_url: String::new(),
        alerts: rendered,
    }
}

/// The label name Alertmanager receivers know a grouping label by.
fn label_name(label: GroupLabel) -> &'static str {
    match label {
        GroupLabel::Rule => "alertname",
        GroupLabel::Region => "region",
        GroupLabel::Signal => "signal",
        GroupLabel::Severity => "severity",
    }
}

/// The entries every map has with the same value.
fn common<'a>(
    mut maps: impl Iterator<Item = &'a BTreeMap<&'static str, String>>,
) -> BTreeMap<&'static str, String> {
    let Some(first) = maps.next() else {
        return BTreeMap::new();
    };
    let mut out = first.clone();
    for m in maps {
        out.retain(|k, v| m.get(k) == Some(v));
    }
    out
}

fn webhook_alert(alert: &Alert) -> WebhookAlert {
    let status = match alert.status {
        Status::Firing | Status::Escalated => "firing",
        Status::Resolved => "resolved",
    };
    let labels = BTreeMap::from([
        ("alertname", alert.rule.clone()),
        ("severity", alert.severity.as_str().to_string()),
        ("region", alert.region.clone()),
        ("signal", alert.signal.clone()),
        // Vigil's own status (`firing`, `escalated`, `resolved`); Alertmanager knows two.
        ("vigil_status", alert.status.as_str().to_string()),
    ]);
    let annotations = BTreeMap::from([
        ("summary", alert.summary.clone()),
        ("alert_id", alert.alert_id.clone()),
        (
            "window",
            format!("{}/{}", alert.window.start, alert.window.end),
        ),
        // A JSON array: ids may hold commas and spaces, so no separator splits them safely.
        (
            "evidence_report_ids",
            serde_json::to_string(&alert.evidence.report_ids).unwrap_or_default(),
        ),
        ("risk_factors", alert.risk_factors.join(",")),
    ]);
    let ends_at = match alert.status {
        Status::Resolved => alert.updated_at.clone(),
        _ => NOT_ENDED.to_string(),
    };
    let fingerprint: String = alert
        .alert_id
        .chars()
        .filter(|c| *c != '-')
        .take(16)
        .collect();
    WebhookAlert {
        status,
        labels,
        annotations,
        starts_at: alert.first_seen.clone(),
        ends_at,
        generator_url: String::new(),
        fingerprint,
    }
}

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
        assert_eq!(p.common_labels["region"], alert.region);
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

    #[test]
    fn a_group_shares_only_common_labels_and_fires_while_any_alert_does() {
        let alerts = demo_alerts();
        let resolved = alerts
            .iter()
            .find(|a| a.status == Status::Resolved)
            .unwrap();
        let other = alerts
            .iter()
            .find(|a| a.status == Status::Firing && a.region != resolved.region)
            .unwrap();
        let p = grouped(&[resolved, other], "desk", &[GroupLabel::Signal]);
        assert_eq!(p.alerts.len(), 2);
        assert_eq!(p.status, "firing");
        assert!(!p.common_labels.contains_key("region"));
        assert_eq!(
            p.group_labels.keys().copied().collect::<Vec<_>>(),
            ["signal"]
        );
        assert!(p.group_key.starts_with("{}:{signal="));
        let p = grouped(&[resolved], "desk", &[GroupLabel::Signal]);
        assert_eq!(p.status, "resolved");
    }
}
