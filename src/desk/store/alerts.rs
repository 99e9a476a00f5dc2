//! Alert records (`vigil.alerts`) in the store: every record as read, and per episode (one
//! `alert_id`) its latest state, kept on write so that the open alerts are one indexed read.
//! Queries answer in episodes, scoped to the regions a token may see, and `as_of` a time: what
//! the desk knew then, by the time records arrived (read from the records, slower).

use rusqlite::{Transaction, params};
use serde::Serialize;

use super::actions::{Event, Review, reviews_of};
use super::{Read, Store, StoreError, visible};
use crate::alert::Alert;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alert_records (
    part INTEGER NOT NULL, off INTEGER NOT NULL,
    alert_id TEXT NOT NULL, status TEXT NOT NULL, severity TEXT NOT NULL, rule TEXT NOT NULL,
    region TEXT NOT NULL, signal TEXT NOT NULL, updated_at TEXT NOT NULL,
    received_ms INTEGER NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (part, off));
CREATE INDEX IF NOT EXISTS alert_records_by_alert ON alert_records (alert_id, received_ms);
CREATE TABLE IF NOT EXISTS episodes (
    alert_id TEXT PRIMARY KEY, region TEXT NOT NULL, signal TEXT NOT NULL, rule TEXT NOT NULL,
    status TEXT NOT NULL, severity TEXT NOT NULL, updated_at TEXT NOT NULL,
    received_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS episodes_by_update ON episodes (updated_at, alert_id);
CREATE INDEX IF NOT EXISTS episodes_by_region ON episodes (region, updated_at, alert_id);
-- Covering: open episodes counted per region and severity from the index alone.
CREATE INDEX IF NOT EXISTS episodes_by_state ON episodes (status, region, severity);
";

/// Which episodes a query asks for.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    /// `Some(true)`: open (latest record not resolved); `Some(false)`: closed.
    pub open: Option<bool>,
    /// Region codes or globs; empty: any (within the token's scope).
    pub regions: Vec<String>,
    pub severity: Option<String>,
    pub signal: Option<String>,
    pub rule: Option<String>,
    /// One episode by id.
    pub alert_id: Option<String>,
    /// Latest record's `updated_at` (event time, RFC 3339) at or after / before.
    pub since: Option<String>,
    pub until: Option<String>,
    /// Only records received by then (Unix milliseconds).
    pub as_of_ms: Option<i64>,
    pub limit: u32,
    pub offset: u32,
}

/// One episode: its records in the order they arrived, and the reviews of it.
#[derive(Debug, Clone, Serialize)]
pub struct Episode {
    pub alert_id: String,
    pub region: String,
    pub signal: String,
    pub rule: String,
    /// The latest record's status and severity.
    pub status: String,
    pub severity: String,
    /// As the alerts topic holds them (served as read: no parse on the way out).
    pub records: Vec<Box<serde_json::value::RawValue>>,
    pub reviews: Vec<Review>,
}

/// Takes one alert record; a new one is also an event of the live stream.
pub(super) fn take(
    tx: &Transaction<'_>,
    r: &Read<'_>,
    events: &mut Vec<Event>,
) -> Result<(), StoreError> {
    let Some(value) = r.value else {
        return Ok(());
    };
    let Ok(a) = serde_json::from_slice::<Alert>(value) else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(value);
    let added = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO alert_records
             (part, off, alert_id, status, severity, rule, region, signal, updated_at, received_ms, record)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            r.partition,
            r.offset,
            a.alert_id,
            a.status.as_str(),
            a.severity.as_str(),
            a.rule,
            a.region,
            a.signal,
            a.updated_at,
            r.received_ms,
            text,
        ])?;
    if added == 0 {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO episodes (alert_id, region, signal, rule, status, severity, updated_at, received_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (alert_id) DO UPDATE SET status = excluded.status,
            severity = excluded.severity, updated_at = excluded.updated_at,
            received_ms = excluded.received_ms",
    )?
    .execute(params![
        a.alert_id,
        a.region,
        a.signal,
        a.rule,
        a.status.as_str(),
        a.severity.as_str(),
        a.updated_at,
        r.received_ms,
    ])?;
    events.push(Event::new(tx, "alert", &a.region, &text)?);
    Ok(())
}

impl Store {
    /// The episodes `q` asks for that `scope` (region codes and globs) may see, the latest
    /// updated first, paged by `q.limit` and `q.offset`.
    ///
    /// Errors: SQLite's.
    pub fn alerts(&self, q: &AlertQuery, scope: &[String]) -> Result<Vec<Episode>, StoreError> {
        let as_of = q.as_of_ms.unwrap_or(i64::MAX);
        // Now: the episodes table. As of a time: the latest record of each episode then.
        let latest = if q.as_of_ms.is_none() {
            "SELECT * FROM episodes"
        } else {
            "SELECT r.alert_id, r.region, r.signal, r.rule, r.status, r.severity, r.updated_at
             FROM alert_records r
             WHERE r.received_ms <= ?1 AND r.rowid = (
                 SELECT r2.rowid FROM alert_records r2
                 WHERE r2.alert_id = r.alert_id AND r2.received_ms <= ?1
                 ORDER BY r2.received_ms DESC, r2.rowid DESC LIMIT 1)"
        };
        let sql = format!(
            "WITH latest AS ({latest})
             SELECT alert_id, region, signal, rule, status, severity FROM latest
             WHERE (?2 IS NULL OR (?2 = 1) = (status != 'resolved'))
               AND (?3 IS NULL OR severity = ?3)
               AND (?4 IS NULL OR signal = ?4)
               AND (?5 IS NULL OR rule = ?5)
               AND (?6 IS NULL OR updated_at >= ?6)
               AND (?7 IS NULL OR updated_at < ?7)
               AND (?8 IS NULL OR alert_id = ?8)
               AND (?9 IS NULL OR region = ?9)
               AND ?1 IS NOT NULL
             ORDER BY updated_at DESC, alert_id DESC"
        );
        // One region code (no glob): narrowed in SQL along the index, not only in Rust.
        let one_region = match q.regions.as_slice() {
            [r] if !r.contains('*') => Some(r.as_str()),
            _ => None,
        };
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![
                as_of, q.open, q.severity, q.signal, q.rule, q.since, q.until, q.alert_id,
                one_region
            ],
            |r| {
                Ok(Episode {
                    alert_id: r.get(0)?,
                    region: r.get(1)?,
                    signal: r.get(2)?,
                    rule: r.get(3)?,
                    status: r.get(4)?,
                    severity: r.get(5)?,
                    records: Vec::new(),
                    reviews: Vec::new(),
                })
            },
        )?;
        // Region filters and the token's scope, in Rust with Vigil's globs; then the page.
        let mut page = Vec::new();
        let mut skipped = 0;
        for e in rows {
            let e = e?;
            if !visible(scope, &q.regions, &e.region) {
                continue;
            }
            if skipped < q.offset {
                skipped += 1;
                continue;
            }
            if page.len() as u32 >= q.limit {
                break;
            }
            page.push(e);
        }
        let mut records = self.conn.prepare_cached(
            "SELECT record FROM alert_records WHERE alert_id = ?1 AND received_ms <= ?2
             ORDER BY received_ms, rowid",
        )?;
        for e in &mut page {
            let texts = records.query_map(params![e.alert_id, as_of], |r| r.get::<_, String>(0))?;
            for t in texts {
                // Stored only when it parsed as an alert record (`take`).
                if let Ok(v) = serde_json::value::RawValue::from_string(t?) {
                    e.records.push(v);
                }
            }
            e.reviews = reviews_of(&self.conn, &e.alert_id, as_of)?;
        }
        Ok(page)
    }

    /// The region, rule and status of an episode, when the store has it.
    ///
    /// Errors: SQLite's.
    pub fn episode_of(&self, alert_id: &str) -> Result<Option<(String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT region, rule FROM episodes WHERE alert_id = ?1")?;
        let mut rows = stmt.query(params![alert_id])?;
        Ok(match rows.next()? {
            Some(r) => Some((r.get(0)?, r.get(1)?)),
            None => None,
        })
    }
}
