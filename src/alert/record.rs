//! The alert record published on `vigil.alerts`: its [`Status`], the deterministic alert id,
//! the record built from one episode change ([`Alert::from_change`]) with its summary sentence,
//! and the RFC 3339 timestamps alerts and reports carry.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::episode::Change;
use crate::report::CasualtyKind;
use crate::rules::{Rule, Severity};

/// Where an episode stands in the record published: opened, risen to a higher severity, or
/// closed (also the end of an episode superseded by an earlier one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Firing,
    Escalated,
    Resolved,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Firing, Status::Escalated, Status::Resolved];

    /// The name alerts carry: `firing`, `escalated`, `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Firing => "firing",
            Status::Escalated => "escalated",
            Status::Resolved => "resolved",
        }
    }
}

/// The alert record published on `vigil.alerts` (key: `alert_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub alert_id: String,
    pub status: Status,
    pub rule: String,
    pub severity: Severity,
    pub region: String,
    pub signal: String,
    pub window: TimeRange,
    pub observed: Observed,
    pub threshold: f64,
    pub risk_factors: Vec<String>,
    pub evidence: AlertEvidence,
    /// Event time at which the episode was first detected (end of its first crossing window).
    pub first_seen: String,
    /// Event time of the window evaluation that produced this record.
    pub updated_at: String,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
}

/// The evaluated window `[start, end)`, RFC 3339 UTC to the second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeRange {
    pub start: String,
    pub end: String,
}

/// What the window held, from the rule's signals in the region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    pub reports: u64,
    pub distinct_sources: u64,
    pub casualties: Casualty,
    /// Reliability-weighted score (Admiralty code × tag weight).
    pub score: f64,
    /// The value the rule compared with its thresholds.
    pub value: f64,
    /// Spike rules: the region's mean per window over the baseline span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
}

/// Casualty sums over the window's reports (co-occurrence: the largest of any one signal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Casualty {
    pub killed: u64,
    pub injured: u64,
    pub abducted: u64,
    pub missing: u64,
    pub displaced: u64,
    pub sexual_violence: u64,
}

/// Why the alert holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvidence {
    /// The smallest report ids in the window, at most `window.max_evidence_ids` (none for a
    /// superseded episode).
    pub report_ids: Vec<String>,
    /// Framework indicators behind the rule's signals.
    pub indicators: Vec<String>,
}

/// Namespace for alert ids (UUID v5 of rule, region, signal and episode start).
const ALERT_NAMESPACE: Uuid = Uuid::from_u128(0x5f1c_9a8e_7b2d_4c61_a0e3_2b9d_84f7_1c06);

/// The deterministic id of an episode.
fn alert_id(rule: &str, region: &str, signal: &str, episode_start: i64) -> String {
    let name = format!("{rule}\u{1f}{region}\u{1f}{signal}\u{1f}{episode_start}");
    Uuid::new_v5(&ALERT_NAMESPACE, name.as_bytes()).to_string()
}

/// Seconds since the Unix epoch as RFC 3339 UTC to the second (`2026-03-01T06:00:00Z`); a time
/// chrono cannot represent gives the epoch.
pub fn rfc3339(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A window length for the summary: whole days as `N d`, otherwise `N h`.
pub(super) fn hours(secs: i64) -> String {
    if secs % 86_400 == 0 {
        format!("{} d", secs / 86_400)
    } else {
        format!("{} h", secs / 3600)
    }
}

impl Alert {
    /// Builds the record for one change of an episode of `rule` in `region`.
    pub(crate) fn from_change(
        rule: &Rule,
        region: &str,
        change: &Change,
        evidence: Vec<String>,
    ) -> Alert {
        let ev = &change.evaluation;
        let agg = &ev.aggregate;
        let n = |kind: CasualtyKind| agg.casualties[kind.index()];
        let start = change.episode_start;
        let window_start = change.window_end - rule.window_secs;
        let threshold = rule.threshold_for(change.severity);
        let superseded_by = change
            .superseded_by
            .map(|s| alert_id(&rule.name, region, &rule.signal_label, s));
        let summary = match (&superseded_by, change.status) {
            (Some(_), _) => format!(
                "{} alert for {} in {} replaced by an earlier episode after late reports.",
                rule.name, rule.signal_label, region
            ),
            (None, status) => format!(
                "{} {}: {} in {} reached {} (threshold {}) over {} with {} reports from {} sources{}.",
                capitalise(change.severity.as_str()),
                status.as_str(),
                rule.signal_label,
                region,
                trim_float(ev.value),
                trim_float(threshold),
                hours(rule.window_secs),
                agg.reports,
                agg.sources,
                if status == Status::Resolved {
                    "; now below the resolve level for a full window"
                } else {
                    ""
                },
            ),
        };
        Alert {
            alert_id: alert_id(&rule.name, region, &rule.signal_label, start),
            status: change.status,
            rule: rule.name.clone(),
            severity: change.severity,
            region: region.to_string(),
            signal: rule.signal_label.clone(),
            window: TimeRange {
                start: rfc3339(window_start),
                end: rfc3339(change.window_end),
            },
            observed: Observed {
                reports: agg.reports,
                distinct_sources: agg.sources,
                casualties: Casualty {
                    killed: n(CasualtyKind::Killed),
                    injured: n(CasualtyKind::Injured),
                    abducted: n(CasualtyKind::Abducted),
                    missing: n(CasualtyKind::Missing),
                    displaced: n(CasualtyKind::Displaced),
                    sexual_violence: n(CasualtyKind::SexualViolence),
                },
                score: (agg.score * 1000.0).round() / 1000.0,
                value: (ev.value * 1000.0).round() / 1000.0,
                baseline: ev.baseline.map(|b| (b * 1000.0).round() / 1000.0),
            },
            threshold,
            risk_factors: rule.risk_factors.clone(),
            evidence: AlertEvidence {
                report_ids: evidence,
                indicators: rule.indicators.clone(),
            },
            first_seen: rfc3339(change.first_seen),
            updated_at: rfc3339(change.window_end),
            summary,
            superseded_by,
        }
    }

    /// One readable line for a terminal.
    pub fn line(&self) -> String {
        format!(
            "{:<9} {:<8} {:<8} {:<28} {:<10} {}  {}",
            self.status.as_str(),
            self.severity.as_str(),
            self.region,
            self.signal,
            &self.alert_id[..8],
            self.updated_at,
            self.summary
        )
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

pub(super) fn trim_float(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_ids_are_deterministic_and_distinct() {
        assert_eq!(
            alert_id("a", "NG-BO", "threat:siege", 0),
            alert_id("a", "NG-BO", "threat:siege", 0)
        );
        assert_ne!(
            alert_id("a", "NG-BO", "threat:siege", 0),
            alert_id("a", "NG-BO", "threat:siege", 3600)
        );
    }
}
