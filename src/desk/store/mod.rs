//! The desk's embedded store (SQLite, bundled): what the desk has read from Kafka, and, in the
//! same local transaction as the rows, the offsets it has read to. A crash between the two
//! cannot happen, so a restarted desk resumes from exactly the records it holds, with none lost
//! or doubled; a deleted store is rebuilt by reading the topics again.
//!
//! One file per kind of record: `alerts.rs` (alert records and their episodes), `reports.rs`
//! (tags from `vigil.tagged`, text from the input topic, the daily counts the region picture
//! reads), `actions.rs` (analyst reviews, silences, the audit trail and the event log the live
//! stream replays) and `picture.rs` (the region overview and the RF1–RF14 profile).

mod actions;
mod alerts;
mod picture;
mod reports;

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, Transaction, params};

use crate::delivery::route::glob;

pub(crate) use actions::all_visible;
pub use actions::{AuditEntry, Event, Review, Verdict};
pub use alerts::{AlertQuery, Episode};
pub use picture::{Profile, RegionSummary, RiskFactorProfile, ThreatSeries, Window};
pub use reports::ReportView;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("desk store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The store's file cannot be created.
    #[error("desk store file: {0}")]
    File(std::io::Error),
    /// A thread panicked while holding the store.
    #[error("desk store: a thread failed while holding it")]
    Poisoned,
}

/// Which topic a record came from: each kind is taken into its own tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `vigil.alerts`: alert records (DESIGN, "Alert").
    Alerts,
    /// `vigil.tagged`: a report's tags, with its region and event time.
    Tagged,
    /// The input topic: the report itself, for its text.
    Reports,
    /// `vigil.reviews`: analyst reviews.
    Reviews,
    /// `vigil.silences`: silences, keyed by id (a tombstone deletes one).
    Silences,
    /// `vigil.erasures`: erased reports, keyed by report id (docs/security.md).
    Erasures,
}

/// One record as read from a topic.
#[derive(Debug, Clone)]
pub struct Read<'a> {
    pub source: Source,
    /// The topic's name (offsets are kept by it).
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub key: &'a [u8],
    /// `None`: a tombstone.
    pub value: Option<&'a [u8]>,
    /// When the desk read it (Unix milliseconds): what `as_of` compares with.
    pub received_ms: i64,
}

/// The store, on one SQLite connection. The desk writes through one and reads through others
/// (SQLite in WAL mode lets readers run beside the writer).
pub struct Store {
    conn: Connection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS offsets (
    topic TEXT NOT NULL, part INTEGER NOT NULL, next INTEGER NOT NULL,
    PRIMARY KEY (topic, part));
";

/// How long a reader waits for the writer's lock before SQLite answers busy.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl Store {
    /// Opens (or creates) the store at `path`.
    ///
    /// Errors: the file cannot be opened or is not a store.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        // The store holds report text: readable by its owner only. SQLite gives its -wal and
        // -shm files the database file's permissions, so the file is made first.
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)
                .map_err(StoreError::File)?;
        }
        Store::with(Connection::open(path)?)
    }

    /// A store in memory (tests): one connection only.
    pub fn in_memory() -> Result<Store, StoreError> {
        Store::with(Connection::open_in_memory()?)
    }

    fn with(conn: Connection) -> Result<Store, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // WAL with NORMAL sync is durable across a process crash (the desk's failure model);
        // a power cut may lose the last transactions, which are then read again from Kafka.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Deleted text (purged, erased) is overwritten in the file, not left in free pages.
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(alerts::SCHEMA)?;
        conn.execute_batch(reports::SCHEMA)?;
        conn.execute_batch(actions::SCHEMA)?;
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
            .prepare_cached("SELECT part, next FROM offsets WHERE topic = ?1")?;
        let rows = stmt.query_map(params![topic], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Takes a batch of records, of any topics, with the offsets read to, in one transaction.
    /// A record at an offset already taken is skipped (a batch read again after a crash adds
    /// nothing); one that is not what its topic should hold only moves the offset. Returns the
    /// events the batch added (new alert records and reviews), for the live stream.
    ///
    /// Errors: SQLite's; nothing of the batch is then kept.
    pub fn apply(&mut self, batch: &[Read<'_>]) -> Result<Vec<Event>, StoreError> {
        let tx = self.conn.transaction()?;
        let mut events = Vec::new();
        for r in batch {
            if already_taken(&tx, r)? {
                continue;
            }
            match r.source {
                Source::Alerts => alerts::take(&tx, r, &mut events)?,
                Source::Tagged => reports::take_tags(&tx, r)?,
                Source::Reports => reports::take_text(&tx, r)?,
                Source::Reviews => actions::take_review(&tx, r, &mut events)?,
                Source::Silences => actions::take_silence(&tx, r)?,
                Source::Erasures => reports::take_erasure(&tx, r)?,
            }
            tx.prepare_cached(
                "INSERT INTO offsets (topic, part, next) VALUES (?1, ?2, ?3)
                 ON CONFLICT (topic, part) DO UPDATE SET next = max(next, excluded.next)",
            )?
            .execute(params![r.topic, r.partition, r.offset + 1])?;
        }
        tx.commit()?;
        if batch.iter().any(|r| r.source == Source::Erasures) {
            self.forget_old_pages()?;
        }
        Ok(events)
    }

    /// Moves the write-ahead log into the file and empties it: deleted text is overwritten in
    /// the file (`secure_delete`), but the log still holds the pages as they were until a
    /// checkpoint, so an erasure or purge is followed by one. Readers holding an older snapshot
    /// delay it (up to the busy timeout); what they hold is gone at the next one.
    ///
    /// Errors: SQLite's.
    pub(crate) fn forget_old_pages(&mut self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;

        Ok(())
    }
}

impl Store {
    /// Takes a review or silence this desk has just written to Kafka, so that its author reads
    /// it back at once; the same record read from the topic later adds nothing (same id).
    /// No offset moves.
    ///
    /// Errors: SQLite's.
    pub fn take_local(
        &mut self,
        source: Source,
        key: &[u8],
        value: &[u8],
        now_ms: i64,
    ) -> Result<Vec<Event>, StoreError> {
        let tx = self.conn.transaction()?;
        let mut events = Vec::new();
        let r = Read {
            source,
            topic: "",
            partition: 0,
            offset: 0,
            key,
            value: Some(value),
            received_ms: now_ms,
        };
        match source {
            Source::Reviews => actions::take_review(&tx, &r, &mut events)?,
            Source::Silences => actions::take_silence(&tx, &r)?,
            Source::Erasures => reports::take_erasure(&tx, &r)?,
            _ => {}
        }
        tx.commit()?;
        if source == Source::Erasures {
            self.forget_old_pages()?;
        }
        Ok(events)
    }
}

fn already_taken(tx: &Transaction<'_>, r: &Read<'_>) -> Result<bool, StoreError> {
    let next: Option<i64> = tx
        .prepare_cached("SELECT next FROM offsets WHERE topic = ?1 AND part = ?2")?
        .query_row(params![r.topic, r.partition], |row| row.get(0))
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    Ok(next.is_some_and(|n| r.offset < n))
}

/// Whether `region` is inside `scope` (a token's codes and globs) and, when `filter` is not
/// empty, matches one of its codes and globs too.
pub(crate) fn visible(scope: &[String], filter: &[String], region: &str) -> bool {
    scope.iter().any(|g| glob(g, region))
        && (filter.is_empty() || filter.iter().any(|g| glob(g, region)))
}

#[cfg(test)]
mod tests;
