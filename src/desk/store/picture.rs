//! A region's picture in the terms of the UN Framework of Analysis for Atrocity Crimes (United
//! Nations, 2014; A/70/741–S/2016/71): for each risk factor RF1–RF14, the reports and indicators
//! of the last 7, 30 and 90 days of event time, the trend against the region's own baseline, the
//! indicators seen and the evidence; threats per day; and the overview of every region that the
//! desk's heat map draws.
//!
//! "The last N days" are days of event time ending on the latest day the desk has seen (as of
//! `as_of`), not the wall clock: field reports describe the past, and a replayed history must
//! read as it did then. Now, the picture is read from the daily counts kept on write; as of a
//! time, from the hits received by then (slower, for after-action reviews).

use std::collections::BTreeMap;

use chrono::DateTime;
use rusqlite::params;
use serde::Serialize;

use super::reports::DAY;
use super::{Store, StoreError};

/// Reports and indicator hits over one window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Window {
    pub reports: u64,
    pub indicators: u64,
}

/// One risk factor of a region's profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskFactorProfile {
    /// `RF1` … `RF14`.
    pub code: String,
    /// The Framework's name for it (from `taxonomy.toml`).
    pub name: String,
    /// `7d`, `30d`, `90d`.
    pub windows: BTreeMap<&'static str, Window>,
    /// Reports per 7 days over the 83 days before the last 7 (the region's own baseline).
    pub baseline_per_7d: f64,
    /// `rising` (the last 7 days over 1.5 × baseline, and at least 2 reports), `falling` (under
    /// half the baseline), `steady`, `new` (reports now, none in the baseline), `none`.
    pub trend: &'static str,
    /// Indicators of this factor with reports in the last 90 days, most first.
    pub indicators_seen: Vec<IndicatorCount>,
    /// Report ids, newest event first, at most [`MAX_EVIDENCE`].
    pub evidence: Vec<String>,
}

/// An indicator (`7.8`) and its reports in the last 90 days.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorCount {
    pub code: String,
    pub reports: u64,
}

/// Reports of one threat per day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThreatSeries {
    pub code: String,
    /// Every day of the last 30, oldest first.
    pub series: Vec<DayCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayCount {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub reports: u64,
}

/// A region's profile (the alerts are added by the caller).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    pub region: String,
    /// The latest event time the desk had seen (RFC 3339), which the windows end at.
    pub latest_event_time: Option<String>,
    pub risk_factors: Vec<RiskFactorProfile>,
    pub threats: Vec<ThreatSeries>,
}

/// One row of the overview.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionSummary {
    pub code: String,
    pub reports_30d: u64,
    /// Reports per risk factor over the last 30 days, for every factor given.
    pub risk_factors: BTreeMap<String, u64>,
}

/// Evidence ids per risk factor in a profile.
pub const MAX_EVIDENCE: usize = 20;

/// (kind, code, day) → reports.
type Daily = Vec<(String, String, i64, u64)>;

/// (region, kind, code, day, reports).
type DayRow = (String, String, String, i64, u64);

impl Store {
    /// The latest event time (Unix seconds) of the reports received by `as_of_ms`.
    ///
    /// Errors: SQLite's.
    pub fn latest_event_s(&self, as_of_ms: Option<i64>) -> Result<Option<i64>, StoreError> {
        // Now: a bare max(), which SQLite reads off the end of the index (any WHERE term, even
        // one always true, makes it scan every report).
        match as_of_ms {
            None => Ok(self
                .conn
                .prepare_cached("SELECT max(event_s) FROM tagged")?
                .query_row([], |r| r.get(0))?),
            Some(as_of) => Ok(self
                .conn
                .prepare_cached("SELECT max(event_s) FROM tagged WHERE received_ms <= ?1")?
                .query_row(params![as_of], |r| r.get(0))?),
        }
    }

    /// Reports per (kind, code, day) of `region` in days `(from, to]`, as of a time.
    fn daily(
        &self,
        region: Option<&str>,
        from: i64,
        to: i64,
        as_of_ms: Option<i64>,
    ) -> Result<Vec<DayRow>, StoreError> {
        let map =
            |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?));
        // One region or all: separate statements, so that each is one index range (an
        // `?1 IS NULL OR region = ?1` makes SQLite scan the whole table).
        let region_clause = if region.is_some() {
            "region = ?1"
        } else {
            "?1 IS NULL"
        };
        let rows = match as_of_ms {
            None => {
                let index = if region.is_some() {
                    ""
                } else {
                    "INDEXED BY daily_by_day"
                };
                // Summed in SQL into the windows the picture reads (the last 7 days as day
                // `to`, days 8-30 as `to - 8`, 31-90 as `to - 31`); threats keep their days.
                let sql = format!(
                    "SELECT region, kind, code,
                        CASE WHEN kind = 'threat' THEN day WHEN day > ?3 - 7 THEN ?3
                             WHEN day > ?3 - 30 THEN ?3 - 8 ELSE ?3 - 31 END AS d,
                        sum(reports)
                     FROM daily {index}
                     WHERE {region_clause} AND day > ?2 AND day <= ?3
                     GROUP BY region, kind, code, d"
                );
                self.conn
                    .prepare_cached(&sql)?
                    .query_map(params![region, from, to], map)?
                    .collect::<Result<Vec<_>, _>>()?
            }
            Some(as_of) => {
                let mut out = Vec::new();
                for (columns, kinds, group) in [
                    (
                        "region, kind, code",
                        "kind IN ('all', 'threat', 'rf')",
                        "region, kind, code",
                    ),
                    (
                        "region, 'ind', indicator",
                        "kind = 'rf' AND indicator != ''",
                        "region, indicator",
                    ),
                ] {
                    let sql = format!(
                        "SELECT {columns}, event_s / 86400 AS d, count(DISTINCT report_id)
                         FROM hits WHERE {region_clause} AND {kinds}
                           AND event_s >= (?2 + 1) * 86400 AND event_s < (?3 + 1) * 86400
                           AND received_ms <= ?4
                         GROUP BY {group}, d"
                    );
                    out.extend(
                        self.conn
                            .prepare_cached(&sql)?
                            .query_map(params![region, from, to, as_of], map)?
                            .collect::<Result<Vec<_>, _>>()?,
                    );
                }
                out
            }
        };
        Ok(rows)
    }

    /// Every region the desk has reports of, with its last 30 days per risk factor in `codes`.
    ///
    /// Errors: SQLite's.
    pub fn regions(
        &self,
        codes: &[String],
        as_of_ms: Option<i64>,
    ) -> Result<Vec<RegionSummary>, StoreError> {
        let Some(latest) = self.latest_event_s(as_of_ms)? else {
            return Ok(Vec::new());
        };
        let to = latest.div_euclid(DAY);
        let mut by_region: BTreeMap<String, RegionSummary> = BTreeMap::new();
        for (region, kind, code, _, n) in self.daily(None, to - 30, to, as_of_ms)? {
            let row = by_region
                .entry(region.clone())
                .or_insert_with(|| RegionSummary {
                    code: region,
                    reports_30d: 0,
                    risk_factors: codes.iter().map(|c| (c.clone(), 0)).collect(),
                });
            match kind.as_str() {
                "all" => row.reports_30d += n,
                "rf" => {
                    if let Some(c) = row.risk_factors.get_mut(&code) {
                        *c += n;
                    }
                }
                _ => {}
            }
        }
        Ok(by_region.into_values().collect())
    }

    /// `region`'s profile for the risk factors `factors` (code, name) and threats `threats`.
    ///
    /// Errors: SQLite's.
    pub fn profile(
        &self,
        region: &str,
        factors: &[(String, String)],
        threats: &[String],
        as_of_ms: Option<i64>,
    ) -> Result<Profile, StoreError> {
        let latest = self.latest_event_s(as_of_ms)?;
        let to = latest.unwrap_or(0).div_euclid(DAY);
        let daily: Daily = if latest.is_some() {
            self.daily(Some(region), to - 90, to, as_of_ms)?
                .into_iter()
                .map(|(_, kind, code, day, n)| (kind, code, day, n))
                .collect()
        } else {
            Vec::new()
        };
        let sum = |kind: &str, code: &str, days: i64| -> u64 {
            daily
                .iter()
                .filter(|(k, c, d, _)| k == kind && c == code && *d > to - days)
                .map(|(_, _, _, n)| n)
                .sum()
        };
        let mut risk_factors = Vec::new();
        for (code, name) in factors {
            let prefix = format!("{}.", code.trim_start_matches("RF"));
            let mut seen: BTreeMap<String, (u64, [u64; 3])> = BTreeMap::new();
            for (kind, c, day, n) in &daily {
                if kind == "ind" && c.starts_with(&prefix) {
                    let e = seen.entry(c.clone()).or_default();
                    e.0 += n;
                    for (i, days) in [7, 30, 90].into_iter().enumerate() {
                        if *day > to - days {
                            e.1[i] += n;
                        }
                    }
                }
            }
            let windows: BTreeMap<&'static str, Window> = [("7d", 7), ("30d", 30), ("90d", 90)]
                .into_iter()
                .enumerate()
                .map(|(i, (label, days))| {
                    (
                        label,
                        Window {
                            reports: sum("rf", code, days),
                            indicators: seen.values().map(|(_, w)| w[i]).sum(),
                        },
                    )
                })
                .collect();
            let last7 = windows["7d"].reports as f64;
            let baseline = (windows["90d"].reports - windows["7d"].reports) as f64 * 7.0 / 83.0;
            let mut indicators_seen: Vec<IndicatorCount> = seen
                .into_iter()
                .map(|(code, (n, _))| IndicatorCount { code, reports: n })
                .collect();
            indicators_seen.sort_by(|a, b| b.reports.cmp(&a.reports).then(a.code.cmp(&b.code)));
            risk_factors.push(RiskFactorProfile {
                code: code.clone(),
                name: name.clone(),
                trend: trend(last7, baseline),
                baseline_per_7d: (baseline * 100.0).round() / 100.0,
                windows,
                indicators_seen,
                evidence: self.evidence(region, code, to, as_of_ms)?,
            });
        }
        let threats = threats
            .iter()
            .map(|code| ThreatSeries {
                code: code.clone(),
                series: (to - 29..=to)
                    .map(|day| DayCount {
                        day: DateTime::from_timestamp(day * DAY, 0)
                            .map(|t| t.format("%Y-%m-%d").to_string())
                            .unwrap_or_default(),
                        reports: daily
                            .iter()
                            .filter(|(k, c, d, _)| k == "threat" && c == code && *d == day)
                            .map(|(_, _, _, n)| n)
                            .sum(),
                    })
                    .collect(),
            })
            .collect();
        Ok(Profile {
            region: region.to_string(),
            latest_event_time: latest
                .and_then(|s| DateTime::from_timestamp(s, 0))
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            risk_factors,
            threats,
        })
    }

    /// The newest reports of a risk factor in a region within the 90 days before day `to`.
    fn evidence(
        &self,
        region: &str,
        code: &str,
        to: i64,
        as_of_ms: Option<i64>,
    ) -> Result<Vec<String>, StoreError> {
        // Newest first along the index; a report with several indicators of the factor has a
        // row for each, so a few more rows than ids are read.
        let mut stmt = self.conn.prepare_cached(
            "SELECT report_id FROM hits INDEXED BY hits_by_region
             WHERE region = ?1 AND kind = 'rf' AND code = ?2
               AND event_s >= ?3 AND event_s < ?4 AND received_ms <= ?5
             ORDER BY event_s DESC LIMIT ?6",
        )?;
        let rows = stmt.query_map(
            params![
                region,
                code,
                (to - 89) * DAY,
                (to + 1) * DAY,
                as_of_ms.unwrap_or(i64::MAX),
                (MAX_EVIDENCE * 8) as i64
            ],
            |r| r.get::<_, String>(0),
        )?;
        let mut ids: Vec<String> = Vec::with_capacity(MAX_EVIDENCE);
        for id in rows {
            let id = id?;
            if !ids.contains(&id) {
                ids.push(id);
                if ids.len() == MAX_EVIDENCE {
                    break;
                }
            }
        }
        Ok(ids)
    }

    /// Open episodes per region and severity, as of a time.
    ///
    /// Errors: SQLite's.
    pub fn open_counts(
        &self,
        as_of_ms: Option<i64>,
    ) -> Result<Vec<(String, String, u64)>, StoreError> {
        let sql = match as_of_ms {
            None => {
                // (`IN` rather than `!= 'resolved'`: a range of the status index.)
                "SELECT region, severity, count(*) FROM episodes
                 WHERE status IN ('firing', 'escalated') AND ?1 IS NULL GROUP BY region, severity"
            }
            Some(_) => {
                "SELECT region, severity, count(*) FROM alert_records r
                 WHERE r.received_ms <= ?1 AND r.status != 'resolved' AND r.rowid = (
                     SELECT r2.rowid FROM alert_records r2
                     WHERE r2.alert_id = r.alert_id AND r2.received_ms <= ?1
                     ORDER BY r2.received_ms DESC, r2.rowid DESC LIMIT 1)
                 GROUP BY region, severity"
            }
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params![as_of_ms], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// How the last 7 days compare with the baseline (reports per 7 days).
fn trend(last7: f64, baseline: f64) -> &'static str {
    if baseline == 0.0 {
        if last7 == 0.0 { "none" } else { "new" }
    } else if last7 >= 2.0 && last7 > 1.5 * baseline {
        "rising"
    } else if last7 < 0.5 * baseline {
        "falling"
    } else {
        "steady"
    }
}
