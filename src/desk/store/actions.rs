//! What analysts do, as the store keeps it: reviews (`vigil.reviews`, append-only), silences
//! (`vigil.silences`, compacted), the audit trail both make (who did what, when), and the event
//! log the live stream (`/api/v1/stream`) replays from a `Last-Event-ID`.

use rusqlite::{Connection, Transaction, params};
use serde::{Deserialize, Serialize};

use super::{Read, Store, StoreError, visible};
use crate::delivery::silence::Silence;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS reviews (
    review_id TEXT PRIMARY KEY, alert_id TEXT NOT NULL, region TEXT NOT NULL,
    rule TEXT NOT NULL, verdict TEXT NOT NULL, note TEXT NOT NULL, author TEXT NOT NULL,
    at TEXT NOT NULL, received_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS reviews_by_alert ON reviews (alert_id);
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY, record TEXT NOT NULL, received_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, author TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT NOT NULL, regions TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, region TEXT NOT NULL,
    data TEXT NOT NULL);
";

/// An analyst's judgement of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Seen; being looked at.
    Acknowledged,
    /// Verified as a real situation.
    Confirmed,
    /// Not a real situation: counts against the rule's precision.
    FalseAlarm,
}

impl Verdict {
    /// Every verdict, for metric series made at start-up.
    pub const ALL: [Verdict; 3] = [
        Verdict::Acknowledged,
        Verdict::Confirmed,
        Verdict::FalseAlarm,
    ];

    /// As in JSON and in the `verdict` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Acknowledged => "acknowledged",
            Verdict::Confirmed => "confirmed",
            Verdict::FalseAlarm => "false_alarm",
        }
    }
}

/// One review as `vigil.reviews` keeps it (JSON, key = `review_id`) and the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// A UUID (version 4) given when the review is made.
    pub review_id: String,
    pub alert_id: String,
    pub verdict: Verdict,
    /// The analyst's words (shown to the desk only; never in alerts, logs or metrics).
    pub note: String,
    /// The token's name.
    pub author: String,
    /// When it was made (RFC 3339, UTC).
    pub at: String,
    /// The episode's region and rule when it was made.
    pub region: String,
    pub rule: String,
}

/// One line of the audit trail: a write to the desk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub at: String,
    pub author: String,
    /// `review`, `silence_add` or `silence_expire`.
    pub action: String,
    /// The alert id or silence id acted on.
    pub target: String,
    /// The regions it concerns (a silence's may be globs).
    pub regions: Vec<String>,
    /// The verdict, or the silence's end.
    pub detail: String,
}

/// One event of the live stream: `kind` `alert` (data: the alert record) or `review` (data:
/// the review), numbered by `seq` in the store's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub seq: i64,
    pub kind: &'static str,
    pub region: String,
    pub data: String,
}

impl Event {
    /// Logs an event in the transaction, numbered after every earlier one.
    pub(super) fn new(
        tx: &Transaction<'_>,
        kind: &'static str,
        region: &str,
        data: &str,
    ) -> Result<Event, StoreError> {
        tx.prepare_cached("INSERT INTO events (kind, region, data) VALUES (?1, ?2, ?3)")?
            .execute(params![kind, region, data])?;
        Ok(Event {
            seq: tx.last_insert_rowid(),
            kind,
            region: region.to_string(),
            data: data.to_string(),
        })
    }
}

pub(super) fn take_review(
    tx: &Transaction<'_>,
    r: &Read<'_>,
    events: &mut Vec<Event>,
) -> Result<(), StoreError> {
    let Some(review) = r
        .value
        .and_then(|v| serde_json::from_slice::<Review>(v).ok())
    else {
        return Ok(());
    };
    let added = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO reviews
             (review_id, alert_id, region, rule, verdict, note, author, at, received_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            review.review_id,
            review.alert_id,
            review.region,
            review.rule,
            review.verdict.as_str(),
            review.note,
            review.author,
            review.at,
            r.received_ms,
        ])?;
    if added == 0 {
        return Ok(());
    }
    audit(
        tx,
        &review.at,
        &review.author,
        "review",
        &review.alert_id,
        std::slice::from_ref(&review.region),
        review.verdict.as_str(),
    )?;
    let data = serde_json::to_string(&review).unwrap_or_default();
    events.push(Event::new(tx, "review", &review.region, &data)?);
    Ok(())
}

pub(super) fn take_silence(tx: &Transaction<'_>, r: &Read<'_>) -> Result<(), StoreError> {
    let id = String::from_utf8_lossy(r.key).into_owned();
    let Some(value) = r.value else {
        tx.prepare_cached("DELETE FROM silences WHERE id = ?1")?
            .execute(params![id])?;
        return Ok(());
    };
    let Ok(silence) = serde_json::from_slice::<Silence>(value) else {
        return Ok(());
    };
    let before: Option<Silence> = tx
        .prepare_cached("SELECT record FROM silences WHERE id = ?1")?
        .query_map(params![id], |row| row.get::<_, String>(0))?
        .next()
        .transpose()?
        .and_then(|t| serde_json::from_str(&t).ok());
    let ends = silence
        .ends_at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    match (&before, &silence.expired_by) {
        (None, _) => audit(
            tx,
            &silence
                .starts_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            &silence.created_by,
            "silence_add",
            &silence.id,
            &silence.regions,
            &ends,
        )?,
        (Some(b), Some(by)) if b.expired_by.is_none() => {
            audit(
                tx,
                &ends,
                by,
                "silence_expire",
                &silence.id,
                &silence.regions,
                &ends,
            )?;
        }
        _ => {}
    }
    tx.prepare_cached(
        "INSERT INTO silences (id, record, received_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET record = excluded.record, received_ms = excluded.received_ms",
    )?
    .execute(params![id, String::from_utf8_lossy(value), r.received_ms])?;
    Ok(())
}

fn audit(
    tx: &Transaction<'_>,
    at: &str,
    author: &str,
    action: &str,
    target: &str,
    regions: &[String],
    detail: &str,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO audit (at, author, action, target, regions, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        at,
        author,
        action,
        target,
        serde_json::to_string(regions).unwrap_or_default(),
        detail
    ])?;
    Ok(())
}

/// The reviews of an episode made by `as_of` (Unix milliseconds), oldest first.
pub(super) fn reviews_of(
    conn: &Connection,
    alert_id: &str,
    as_of: i64,
) -> Result<Vec<Review>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT review_id, alert_id, verdict, note, author, at, region, rule FROM reviews
         WHERE alert_id = ?1 AND received_ms <= ?2 ORDER BY at, review_id",
    )?;
    let rows = stmt.query_map(params![alert_id, as_of], |r| {
        let verdict: String = r.get(2)?;
        Ok(Review {
            review_id: r.get(0)?,
            alert_id: r.get(1)?,
            verdict: serde_json::from_value(serde_json::Value::String(verdict))
                .unwrap_or(Verdict::Acknowledged),
            note: r.get(3)?,
            author: r.get(4)?,
            at: r.get(5)?,
            region: r.get(6)?,
            rule: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Whether every region of a silence or audit entry is inside `scope` (a silence of any region
/// is visible only to a token that sees every region).
pub(crate) fn all_visible(scope: &[String], regions: &[String]) -> bool {
    if regions.is_empty() {
        return scope.iter().any(|g| g == "*");
    }
    regions.iter().all(|r| {
        scope
            .iter()
            .any(|g| g == "*" || crate::delivery::route::glob(g, r) || g == r)
    })
}

impl Store {
    /// The reviews of `alert_id`, oldest first.
    ///
    /// Errors: SQLite's.
    pub fn reviews(&self, alert_id: &str) -> Result<Vec<Review>, StoreError> {
        reviews_of(&self.conn, alert_id, i64::MAX)
    }

    /// Every silence `scope` may see, latest starting first.
    ///
    /// Errors: SQLite's.
    pub fn silences(&self, scope: &[String]) -> Result<Vec<Silence>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT record FROM silences")?;
        let mut all: Vec<Silence> = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .filter_map(|t| t.ok().and_then(|t| serde_json::from_str(&t).ok()))
            .filter(|s: &Silence| all_visible(scope, &s.regions))
            .collect();
        all.sort_by(|a, b| b.starts_at.cmp(&a.starts_at).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    /// The audit trail `scope` may see, newest first, paged.
    ///
    /// Errors: SQLite's.
    pub fn audit(
        &self,
        scope: &[String],
        limit: u32,
        offset: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT at, author, action, target, regions, detail FROM audit ORDER BY seq DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            let regions: String = r.get(4)?;
            Ok(AuditEntry {
                at: r.get(0)?,
                author: r.get(1)?,
                action: r.get(2)?,
                target: r.get(3)?,
                regions: serde_json::from_str(&regions).unwrap_or_default(),
                detail: r.get(5)?,
            })
        })?;
        let mut out = Vec::new();
        let mut skipped = 0;
        for e in rows {
            let e = e?;
            if !all_visible(scope, &e.regions) {
                continue;
            }
            if skipped < offset {
                skipped += 1;
                continue;
            }
            if out.len() as u32 >= limit {
                break;
            }
            out.push(e);
        }
        Ok(out)
    }

    /// The number of the latest event (0: none yet).
    ///
    /// Errors: SQLite's.
    pub fn last_event_seq(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT coalesce(max(seq), 0) FROM events")?
            .query_row([], |r| r.get(0))?)
    }

    /// Up to `limit` events after `seq` that `scope` may see, oldest first.
    ///
    /// Errors: SQLite's.
    pub fn events_after(
        &self,
        seq: i64,
        scope: &[String],
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, kind, region, data FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let mut out = Vec::new();
        let mut last = seq;
        // Scope is applied in Rust (Vigil's globs): read on until `limit` visible ones.
        loop {
            let rows: Vec<Event> = stmt
                .query_map(params![last, limit], |r| {
                    let kind: String = r.get(1)?;
                    Ok(Event {
                        seq: r.get(0)?,
                        kind: if kind == "review" { "review" } else { "alert" },
                        region: r.get(2)?,
                        data: r.get(3)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            let Some(end) = rows.last().map(|e| e.seq) else {
                return Ok(out);
            };
            last = end;
            let full = rows.len() as u32 == limit;
            out.extend(rows.into_iter().filter(|e| visible(scope, &[], &e.region)));
            if out.len() as u32 >= limit || !full {
                out.truncate(limit as usize);
                return Ok(out);
            }
        }
    }
}
