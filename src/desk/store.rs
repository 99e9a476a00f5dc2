//! The desk's embedded store (SQLite, bundled): the alert records it has read from
//! `vigil.alerts`, and, in the same local transaction as the rows, the offsets it has read to.
//! A crash between the two cannot happen, so a restarted desk resumes from exactly the records
//! it holds, with none lost or doubled; a deleted store is rebuilt by reading the topic again.
//!
//! Queries answer in episodes (every record of one `alert_id`), scoped to the regions a token
//! may see (`access.rs`), and `as_of` a time: what the desk knew then, by the time records
//! arrived.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::alert::Alert;
use crate::delivery::route::glob;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("desk store: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// One record as read from the alerts topic.
#[derive(Debug, Clone)]
pub struct Read<'a> {
    pub partition: i32,
    pub offset: i64,
    pub value: &'a [u8],
    /// When the desk read it (Unix milliseconds): what `as_of` compares with.
    pub received_ms: i64,
}

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
    /// Latest record's `updated_at` (event time, RFC 3339) at or after / before.
    pub since: Option<String>,
    pub until: Option<String>,
    /// Only records received by then (Unix milliseconds).
    pub as_of_ms: Option<i64>,
    pub limit: u32,
    pub offset: u32,
}

/// One episode: its records in the order they arrived.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Episode {
    pub alert_id: String,
    pub region: String,
    pub signal: String,
    pub rule: String,
    /// The latest record's status and severity.
    pub status: String,
    pub severity: String,
    pub records: Vec<serde_json::Value>,
}

/// The store, on one SQLite connection.
pub struct Store {
    conn: Connection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS offsets (
    topic TEXT NOT NULL, part INTEGER NOT NULL, next INTEGER NOT NULL,
    PRIMARY KEY (topic, part));
CREATE TABLE IF NOT EXISTS alert_records (
    part INTEGER NOT NULL, off INTEGER NOT NULL,
    alert_id TEXT NOT NULL, status TEXT NOT NULL, severity TEXT NOT NULL, rule TEXT NOT NULL,
    region TEXT NOT NULL, signal TEXT NOT NULL, updated_at TEXT NOT NULL,
    received_ms INTEGER NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (part, off));
CREATE INDEX IF NOT EXISTS alert_records_by_alert ON alert_records (alert_id, received_ms);
";

impl Store {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::with(Connection::open(path)?)
    }

    /// A store in memory (tests, benchmarks).
    pub fn in_memory() -> Result<Store, StoreError> {
        Store::with(Connection::open_in_memory()?)
    }

    fn with(conn: Connection) -> Result<Store, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute_batch(SCHEMA)?;
        // Region scopes are Vigil's globs (`*` only), not SQLite's GLOB (`?`, `[…]` too).
        conn.create_scalar_function(
            "vigil_glob",
            2,
            FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
            |ctx| {
                let pattern: String = ctx.get(0)?;
                let text: String = ctx.get(1)?;
                Ok(glob(&pattern, &text))
            },
        )?;
        Ok(Store { conn })
    }

    /// The next offset to read of each partition of `topic` (empty when nothing was read).
    pub fn offsets(&self, topic: &str) -> Result<BTreeMap<i32, i64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT part, next FROM offsets WHERE topic = ?1")?;
        let rows = stmt.query_map(params![topic], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Takes a batch of alert records of `topic`, with the offsets read to, in one transaction.
    /// A record at an offset already taken is skipped (a batch read again after a crash adds
    /// nothing); one that is not an alert record only moves the offset. Returns the records
    /// added.
    pub fn apply_alerts(&mut self, topic: &str, batch: &[Read<'_>]) -> Result<usize, StoreError> {
        let tx = self.conn.transaction()?;
        let mut added = 0;
        {
            let mut next_of =
                tx.prepare("SELECT next FROM offsets WHERE topic = ?1 AND part = ?2")?;
            let mut insert = tx.prepare(
                "INSERT OR IGNORE INTO alert_records
                 (part, off, alert_id, status, severity, rule, region, signal, updated_at, received_ms, record)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            let mut advance = tx.prepare(
                "INSERT INTO offsets (topic, part, next) VALUES (?1, ?2, ?3)
                 ON CONFLICT (topic, part) DO UPDATE SET next = max(next, excluded.next)",
            )?;
            for r in batch {
                let next: Option<i64> = next_of
                    .query_row(params![topic, r.partition], |row| row.get(0))
                    .optional()?;
                if next.is_some_and(|n| r.offset < n) {
                    continue;
                }
                if let Ok(a) = serde_json::from_slice::<Alert>(r.value) {
                    added += insert.execute(params![
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
                        String::from_utf8_lossy(r.value),
                    ])?;
                }
                advance.execute(params![topic, r.partition, r.offset + 1])?;
            }
        }
        tx.commit()?;
        Ok(added)
    }

    /// The episodes `q` asks for that `scope` (region codes and globs) may see, the latest
    /// updated first, paged by `q.limit` and `q.offset`.
    pub fn alerts(&self, q: &AlertQuery, scope: &[String]) -> Result<Vec<Episode>, StoreError> {
        let as_of = q.as_of_ms.unwrap_or(i64::MAX);
        // The latest record of each episode, as of then.
        let mut stmt = self.conn.prepare(
            "WITH latest AS (
                SELECT r.* FROM alert_records r
                WHERE r.received_ms <= ?1 AND r.rowid = (
                    SELECT r2.rowid FROM alert_records r2
                    WHERE r2.alert_id = r.alert_id AND r2.received_ms <= ?1
                    ORDER BY r2.received_ms DESC, r2.rowid DESC LIMIT 1))
             SELECT alert_id, region, signal, rule, status, severity FROM latest
             WHERE (?2 IS NULL OR (?2 = 1) = (status != 'resolved'))
               AND (?3 IS NULL OR severity = ?3)
               AND (?4 IS NULL OR signal = ?4)
               AND (?5 IS NULL OR rule = ?5)
               AND (?6 IS NULL OR updated_at >= ?6)
               AND (?7 IS NULL OR updated_at < ?7)
             ORDER BY updated_at DESC, alert_id",
        )?;
        let rows = stmt.query_map(
            params![
                as_of, q.open, q.severity, q.signal, q.rule, q.since, q.until
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
                })
            },
        )?;
        // Region filters and the token's scope, in Rust with Vigil's globs; then the page.
        let visible = |region: &str| {
            scope.iter().any(|g| glob(g, region))
                && (q.regions.is_empty() || q.regions.iter().any(|g| glob(g, region)))
        };
        let mut page = Vec::new();
        let mut skipped = 0;
        for e in rows {
            let e = e?;
            if !visible(&e.region) {
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
        let mut records = self.conn.prepare(
            "SELECT record FROM alert_records WHERE alert_id = ?1 AND received_ms <= ?2
             ORDER BY received_ms, rowid",
        )?;
        for e in &mut page {
            let texts = records.query_map(params![e.alert_id, as_of], |r| r.get::<_, String>(0))?;
            for t in texts {
                if let Ok(v) = serde_json::from_str(&t?) {
                    e.records.push(v);
                }
            }
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Status;
    use crate::delivery::test_support::alert;
    use crate::rules::Severity;

    fn bytes(id: &str, region: &str, severity: Severity, status: Status, at: &str) -> Vec<u8> {
        let mut a = alert(id, region, "threat:abduction", severity, status);
        a.updated_at = at.into();
        serde_json::to_vec(&a).unwrap()
    }

    fn all() -> Vec<String> {
        vec!["*".to_string()]
    }

    fn q() -> AlertQuery {
        AlertQuery {
            limit: 100,
            ..AlertQuery::default()
        }
    }

    #[test]
    fn a_batch_read_twice_adds_nothing_and_the_offsets_move_with_the_rows() {
        let mut s = Store::in_memory().unwrap();
        let r1 = bytes(
            "a",
            "NG-BO",
            Severity::Warning,
            Status::Firing,
            "2026-03-06T00:00:00Z",
        );
        let batch = [
            Read {
                partition: 0,
                offset: 0,
                value: &r1,
                received_ms: 10,
            },
            Read {
                partition: 0,
                offset: 1,
                value: b"not an alert",
                received_ms: 11,
            },
        ];
        assert_eq!(s.apply_alerts("alerts", &batch).unwrap(), 1);
        assert_eq!(s.offsets("alerts").unwrap(), BTreeMap::from([(0, 2)]));
        assert_eq!(s.apply_alerts("alerts", &batch).unwrap(), 0);
        assert_eq!(s.alerts(&q(), &all()).unwrap()[0].records.len(), 1);
        assert!(s.offsets("other").unwrap().is_empty());
    }

    #[test]
    fn episodes_filter_by_state_scope_region_and_time_and_page() {
        let mut s = Store::in_memory().unwrap();
        let recs = [
            bytes(
                "a",
                "NG-BO",
                Severity::Warning,
                Status::Firing,
                "2026-03-06T00:00:00Z",
            ),
            bytes(
                "b",
                "ML-MO",
                Severity::Critical,
                Status::Firing,
                "2026-03-07T00:00:00Z",
            ),
            bytes(
                "a",
                "NG-BO",
                Severity::Critical,
                Status::Escalated,
                "2026-03-08T00:00:00Z",
            ),
            bytes(
                "b",
                "ML-MO",
                Severity::Critical,
                Status::Resolved,
                "2026-03-09T00:00:00Z",
            ),
            bytes(
                "c",
                "NG-YO",
                Severity::Watch,
                Status::Firing,
                "2026-03-10T00:00:00Z",
            ),
        ];
        let batch: Vec<Read> = recs
            .iter()
            .enumerate()
            .map(|(i, v)| Read {
                partition: (i % 2) as i32,
                offset: i as i64,
                value: v,
                received_ms: 100 * i as i64,
            })
            .collect();
        s.apply_alerts("alerts", &batch).unwrap();
        let ids = |q: &AlertQuery, scope: &[String]| -> Vec<String> {
            s.alerts(q, scope)
                .unwrap()
                .into_iter()
                .map(|e| e.alert_id)
                .collect()
        };
        assert_eq!(ids(&q(), &all()), ["c", "b", "a"], "latest updated first");
        let open = AlertQuery {
            open: Some(true),
            ..q()
        };
        assert_eq!(ids(&open, &all()), ["c", "a"]);
        let closed = AlertQuery {
            open: Some(false),
            ..q()
        };
        assert_eq!(ids(&closed, &all()), ["b"]);
        // A national focal point sees its own country only; a region filter narrows further.
        assert_eq!(ids(&q(), &["NG-*".to_string()]), ["c", "a"]);
        let bo = AlertQuery {
            regions: vec!["NG-BO".into()],
            ..q()
        };
        assert_eq!(ids(&bo, &["NG-*".to_string()]), ["a"]);
        assert!(ids(&q(), &[]).is_empty(), "no scope, nothing");
        // As of before b resolved and a escalated: both open, a still a warning.
        let then = AlertQuery {
            as_of_ms: Some(150),
            ..q()
        };
        let eps = s.alerts(&then, &all()).unwrap();
        assert_eq!(
            eps.iter()
                .map(|e| (e.alert_id.as_str(), e.status.as_str(), e.severity.as_str()))
                .collect::<Vec<_>>(),
            [("b", "firing", "critical"), ("a", "firing", "warning")]
        );
        assert_eq!(eps[1].records.len(), 1);
        // Paging and the latest record's severity.
        let page = AlertQuery {
            limit: 1,
            offset: 1,
            ..q()
        };
        assert_eq!(ids(&page, &all()), ["b"]);
        let critical = AlertQuery {
            severity: Some("critical".into()),
            ..q()
        };
        assert_eq!(ids(&critical, &all()), ["b", "a"]);
        let a = &s
            .alerts(
                &AlertQuery {
                    rule: Some("abduction_cluster".into()),
                    ..q()
                },
                &all(),
            )
            .unwrap()[2];
        assert_eq!(
            a.records.len(),
            2,
            "every record of the episode, in arrival order"
        );
        assert_eq!(a.records[1]["status"], "escalated");
    }

    #[test]
    fn a_store_on_disk_keeps_its_rows_and_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("desk.sqlite");
        let r = bytes(
            "a",
            "NG-BO",
            Severity::Warning,
            Status::Firing,
            "2026-03-06T00:00:00Z",
        );
        {
            let mut s = Store::open(&path).unwrap();
            s.apply_alerts(
                "alerts",
                &[Read {
                    partition: 3,
                    offset: 41,
                    value: &r,
                    received_ms: 1,
                }],
            )
            .unwrap();
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(s.offsets("alerts").unwrap(), BTreeMap::from([(3, 42)]));
        assert_eq!(s.alerts(&q(), &all()).unwrap().len(), 1);
    }
}
