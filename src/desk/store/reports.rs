//! Reports in the store: their tags (`vigil.tagged`: threats, risk factors, indicators, with the
//! report's region and event time), the daily counts the region picture reads (`picture.rs`),
//! and their text (from the input topic), which only an analyst in scope is shown and which is
//! purged after `desk.text_retention_days`.

use chrono::DateTime;
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use serde_json::Value;

use super::{Read, Store, StoreError};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tagged (
    report_id TEXT PRIMARY KEY, region TEXT NOT NULL, event_s INTEGER NOT NULL,
    received_ms INTEGER NOT NULL, record TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tagged_by_time ON tagged (event_s);
CREATE INDEX IF NOT EXISTS tagged_by_received ON tagged (received_ms);
-- One row per (report, code): kind `rf` (code RF1..RF14, with the indicator), `threat`, `all`.
CREATE TABLE IF NOT EXISTS hits (
    report_id TEXT NOT NULL, region TEXT NOT NULL, kind TEXT NOT NULL, code TEXT NOT NULL,
    indicator TEXT NOT NULL, event_s INTEGER NOT NULL, received_ms INTEGER NOT NULL);
-- Covering: the evidence of a profile is read from the index alone, newest first.
CREATE INDEX IF NOT EXISTS hits_by_region ON hits (region, kind, code, event_s, received_ms, report_id);
-- Reports per region, kind, code and day of event time (kind `ind`: code is the indicator).
CREATE TABLE IF NOT EXISTS daily (
    region TEXT NOT NULL, day INTEGER NOT NULL, kind TEXT NOT NULL, code TEXT NOT NULL,
    reports INTEGER NOT NULL, PRIMARY KEY (region, day, kind, code)) WITHOUT ROWID;
-- A region's days are one range of the table itself; every region's days, of this index alone.
CREATE INDEX IF NOT EXISTS daily_by_day ON daily (day, region, kind, code, reports);
CREATE TABLE IF NOT EXISTS report_text (
    report_id TEXT PRIMARY KEY, region TEXT NOT NULL, title TEXT, text TEXT,
    received_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS report_text_by_received ON report_text (received_ms);
-- Reports whose text was erased on request: never taken again (docs/security.md).
CREATE TABLE IF NOT EXISTS erased (
    report_id TEXT PRIMARY KEY, erased_ms INTEGER NOT NULL) WITHOUT ROWID;
";

/// Seconds in a day of event time.
pub(super) const DAY: i64 = 86_400;

/// A report as the desk shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportView {
    pub id: String,
    pub region: String,
    /// RFC 3339, when the report was tagged; absent when only its text was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_time: Option<String>,
    pub threats: Vec<String>,
    pub risk_factors: Vec<String>,
    /// As `vigil tag` gives them.
    pub tags: Vec<Value>,
    /// Only for a token that may read report text (`access.rs`), while the store keeps it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl ReportView {
    /// The view without text: no title, no text, and no evidence phrase (a phrase is words of
    /// the text).
    pub fn without_text(mut self) -> ReportView {
        self.title = None;
        self.text = None;
        for tag in &mut self.tags {
            if let Some(evidence) = tag.get_mut("evidence").and_then(Value::as_array_mut) {
                for e in evidence {
                    if let Some(e) = e.as_object_mut() {
                        e.remove("phrase");
                    }
                }
            }
        }
        self
    }
}

fn strings(v: &Value, field: &str) -> Vec<String> {
    v.get(field)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Takes one tagged report: its row, one hit per code, and the daily counts.
pub(super) fn take_tags(tx: &Transaction<'_>, r: &Read<'_>) -> Result<(), StoreError> {
    let Some(v) = r
        .value
        .and_then(|v| serde_json::from_slice::<Value>(v).ok())
    else {
        return Ok(());
    };
    let (Some(id), Some(region), Some(event_time)) = (
        v.get("id").and_then(Value::as_str),
        v.get("region").and_then(Value::as_str),
        v.get("event_time")
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok()),
    ) else {
        return Ok(());
    };
    let event_s = event_time.timestamp();
    let added = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO tagged (report_id, region, event_s, received_ms, record)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            id,
            region,
            event_s,
            r.received_ms,
            String::from_utf8_lossy(r.value.unwrap_or_default())
        ])?;
    if added == 0 {
        return Ok(());
    }
    // (kind, code, indicator) per hit; a report counts once per code and once per indicator.
    let mut hits: Vec<(&str, String, String)> = vec![("all", String::new(), String::new())];
    for t in strings(&v, "threats") {
        hits.push(("threat", t, String::new()));
    }
    for tag in v
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if tag.get("kind").and_then(Value::as_str) != Some("risk_factor") {
            continue;
        }
        if let Some(code) = tag.get("code").and_then(Value::as_str) {
            let indicator = tag.get("indicator").and_then(Value::as_str).unwrap_or("");
            hits.push(("rf", code.to_string(), indicator.to_string()));
        }
    }
    hits.sort();
    hits.dedup();
    let mut hit = tx.prepare_cached(
        "INSERT INTO hits (report_id, region, kind, code, indicator, event_s, received_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut daily = tx.prepare_cached(
        "INSERT INTO daily (region, kind, code, day, reports) VALUES (?1, ?2, ?3, ?4, 1)
         ON CONFLICT (region, day, kind, code) DO UPDATE SET reports = reports + 1",
    )?;
    let day = event_s.div_euclid(DAY);
    let mut last_rf: Option<&str> = None;
    for (kind, code, indicator) in &hits {
        hit.execute(params![
            id,
            region,
            kind,
            code,
            indicator,
            event_s,
            r.received_ms
        ])?;
        // `rf` hits are sorted by code: count the report once per risk factor…
        if *kind != "rf" || last_rf != Some(code.as_str()) {
            daily.execute(params![region, kind, code, day])?;
        }
        // …and once per indicator.
        if *kind == "rf" && !indicator.is_empty() {
            daily.execute(params![region, "ind", indicator, day])?;
        }
        last_rf = (*kind == "rf").then_some(code.as_str());
    }
    Ok(())
}

/// Takes one erasure (key: the report id; the value says when and by whom, for the topic's
/// readers): the text goes, and stays out.
pub(super) fn take_erasure(tx: &Transaction<'_>, r: &Read<'_>) -> Result<(), StoreError> {
    let Ok(id) = std::str::from_utf8(r.key) else {
        return Ok(());
    };
    if id.is_empty() {
        return Ok(());
    }
    erase(tx, id, r.received_ms)?;
    Ok(())
}

fn erase(tx: &Transaction<'_>, id: &str, at_ms: i64) -> Result<bool, StoreError> {
    tx.prepare_cached("INSERT OR IGNORE INTO erased (report_id, erased_ms) VALUES (?1, ?2)")?
        .execute(params![id, at_ms])?;
    Ok(tx
        .prepare_cached("DELETE FROM report_text WHERE report_id = ?1")?
        .execute(params![id])?
        > 0)
}

/// Takes one input report's text (the first record of an id wins, as in the pipeline).
pub(super) fn take_text(tx: &Transaction<'_>, r: &Read<'_>) -> Result<(), StoreError> {
    let Some(v) = r
        .value
        .and_then(|v| serde_json::from_slice::<Value>(v).ok())
    else {
        return Ok(());
    };
    let (Some(id), Some(region)) = (
        v.get("id").and_then(Value::as_str),
        v.get("region").and_then(Value::as_str),
    ) else {
        return Ok(());
    };
    // An erased report's text is never taken, however often the input topic is read again.
    tx.prepare_cached(
        "INSERT OR IGNORE INTO report_text (report_id, region, title, text, received_ms)
         SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM erased WHERE report_id = ?1)",
    )?
    .execute(params![
        id,
        region,
        v.get("title").and_then(Value::as_str),
        v.get("text").and_then(Value::as_str),
        r.received_ms
    ])?;
    Ok(())
}

impl Store {
    /// One report, with its text when the store keeps it (the caller decides who sees it).
    ///
    /// Errors: SQLite's.
    pub fn report(&self, id: &str) -> Result<Option<ReportView>, StoreError> {
        let tagged: Option<(String, i64, String)> = self
            .conn
            .prepare_cached("SELECT region, event_s, record FROM tagged WHERE report_id = ?1")?
            .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let text: Option<(String, Option<String>, Option<String>)> = self
            .conn
            .prepare_cached("SELECT region, title, text FROM report_text WHERE report_id = ?1")?
            .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let mut view = match (&tagged, &text) {
            (None, None) => return Ok(None),
            (Some((region, event_s, record)), _) => {
                let v: Value = serde_json::from_str(record).unwrap_or(Value::Null);
                ReportView {
                    id: id.to_string(),
                    region: region.clone(),
                    event_time: DateTime::from_timestamp(*event_s, 0)
                        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                    threats: strings(&v, "threats"),
                    risk_factors: strings(&v, "risk_factors"),
                    tags: v
                        .get("tags")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                    title: None,
                    text: None,
                }
            }
            (None, Some((region, _, _))) => ReportView {
                id: id.to_string(),
                region: region.clone(),
                event_time: None,
                threats: Vec::new(),
                risk_factors: Vec::new(),
                tags: Vec::new(),
                title: None,
                text: None,
            },
        };
        if let Some((_, title, body)) = text {
            view.title = title;
            view.text = body;
        }
        Ok(Some(view))
    }

    /// Purges the text of reports read before `before_ms` (Unix milliseconds); tags stay.
    /// Returns how many texts went.
    ///
    /// Errors: SQLite's.
    pub fn purge_text(&mut self, before_ms: i64) -> Result<usize, StoreError> {
        let purged = self.conn.execute(
            "DELETE FROM report_text WHERE received_ms < ?1",
            params![before_ms],
        )?;
        if purged > 0 {
            self.forget_old_pages()?;
        }
        Ok(purged)
    }

    /// Erases one report's text from the store and keeps it from being taken again (a data
    /// subject's request; the desk API's erase also writes it to `desk.erasures_topic`, so
    /// that every instance and a rebuilt store do the same: docs/security.md). Returns whether
    /// the text was there.
    ///
    /// Errors: SQLite's.
    pub fn erase_text(&mut self, id: &str) -> Result<bool, StoreError> {
        let tx = self.conn.transaction()?;
        let erased = erase(&tx, id, chrono::Utc::now().timestamp_millis())?;
        tx.commit()?;
        self.forget_old_pages()?;
        Ok(erased)
    }

    /// Whether the report's text was erased on request.
    ///
    /// Errors: SQLite's.
    pub fn is_erased(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM erased WHERE report_id = ?1")?
            .exists(params![id])?)
    }
}
