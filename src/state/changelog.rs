//! The changelog codec: one record per region meta, pane and counted id, so that a batch writes
//! only what it changed and compaction keeps the latest of each. Keys are
//! `<region> US m`, `<region> US p US <signal> US <pane start>` and `<region> US s US <id>` (US =
//! U+001F, which no valid region holds); values are JSON; a null value (tombstone) deletes.
//!
//! [`encode`] turns a region's changes into records; [`Rebuild`] turns the latest record of
//! each key back into regions. Writer, reader and tests all go through here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::alert::EpisodeTracker;
use crate::engine::{RegionChanges, RegionMeta, RestoredRegion};
use crate::window::near_duplicate::Fingerprint;
use crate::window::suspect::Hold;
use crate::window::{CountedId, Signal};

/// Separates the parts of a key.
const SEP: char = '\u{1f}';

/// A changelog record: its key and value (`None`: a tombstone).
pub type Record = (String, Option<Vec<u8>>);

/// A record the changelog cannot decode.
#[derive(Debug, thiserror::Error)]
#[error("undecodable {what} record of region {region}: {source}")]
pub(crate) struct DecodeError {
    pub what: &'static str,
    pub region: String,
    #[source]
    pub source: serde_json::Error,
}

/// The key of a region's meta record.
pub fn meta_key(region: &str) -> String {
    format!("{region}{SEP}m")
}

/// The key of one pane: region, signal and the pane's start (Unix seconds).
pub fn pane_key(region: &str, signal: Signal, start: i64) -> String {
    format!("{region}{SEP}p{SEP}{}{SEP}{start}", String::from(signal))
}

/// The key of one counted id.
pub(crate) fn seen_key(region: &str, id: &str) -> String {
    format!("{region}{SEP}s{SEP}{id}")
}

/// A parsed key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Key {
    Meta(String),
    Pane(String, Signal, i64),
    Seen(String, String),
}

/// Parses a key; `None` for keys of no known shape.
pub(crate) fn parse_key(key: &str) -> Option<Key> {
    let mut parts = key.splitn(3, SEP);
    let region = parts.next()?.to_string();
    match (parts.next()?, parts.next()) {
        ("m", None) => Some(Key::Meta(region)),
        ("p", Some(rest)) => {
            let (signal, start) = rest.split_once(SEP)?;
            Some(Key::Pane(
                region,
                Signal::try_from(signal.to_string()).ok()?,
                start.parse().ok()?,
            ))
        }
        ("s", Some(id)) => Some(Key::Seen(region, id.to_string())),
        _ => None,
    }
}

/// The meta record: the region's watermark and its [`RegionMeta`], in one JSON object
/// (`{"watermark":…,"trackers":[…],"last_pane":…,"last_evict":…,"held":…}`).
/// (Spelled out rather than `#[serde(flatten)]`: flattening buffers values, and buffered JSON
/// map keys no longer read as the integers they are.)
#[derive(Serialize)]
struct MetaOut<'a> {
    watermark: i64,
    trackers: &'a [EpisodeTracker],
    last_pane: Option<i64>,
    last_evict: Option<i64>,
    held: &'a Hold,
}

#[derive(Deserialize)]
struct MetaIn {
    watermark: i64,
    trackers: Vec<EpisodeTracker>,
    last_pane: Option<i64>,
    last_evict: Option<i64>,
    /// Absent in changelogs written before holds existed.
    #[serde(default)]
    held: Hold,
}

/// A counted id's value: its event time, written as a bare number when it has no fingerprint
/// (which is also how changelogs before near-duplicate detection wrote it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
enum SeenRecord {
    Time(i64),
    Full {
        t: i64,
        #[serde(flatten)]
        near: Fingerprint,
    },
}

impl From<CountedId> for SeenRecord {
    fn from(c: CountedId) -> SeenRecord {
        match c.near {
            None => SeenRecord::Time(c.event_time),
            Some(near) => SeenRecord::Full {
                t: c.event_time,
                near,
            },
        }
    }
}

impl From<SeenRecord> for CountedId {
    fn from(r: SeenRecord) -> CountedId {
        match r {
            SeenRecord::Time(event_time) => CountedId {
                event_time,
                near: None,
            },
            SeenRecord::Full { t, near } => CountedId {
                event_time: t,
                near: Some(near),
            },
        }
    }
}

/// The records of one region's changes: its meta record, then its changed panes and ids in
/// their sorted order (a tombstone before a value of the same key, so the value wins).
pub fn encode(changes: &RegionChanges) -> Result<Vec<Record>, serde_json::Error> {
    let region = changes.region.as_ref();
    let m = &changes.meta;
    let meta = MetaOut {
        watermark: changes.watermark,
        trackers: &m.trackers,
        last_pane: m.last_pane,
        last_evict: m.last_evict,
        held: &m.held,
    };
    let mut out = vec![(meta_key(region), Some(serde_json::to_vec(&meta)?))];
    for (signal, start, pane) in &changes.windows.panes {
        let value = pane.as_ref().map(serde_json::to_vec).transpose()?;
        out.push((pane_key(region, *signal, *start), value));
    }
    for (id, counted) in &changes.windows.seen {
        let value = counted
            .map(|c| serde_json::to_vec(&SeenRecord::from(c)))
            .transpose()?;
        out.push((seen_key(region, id), value));
    }
    Ok(out)
}

/// Regions rebuilt from changelog records: feed it the records of a log in order (or only the
/// latest of each key, as compaction leaves them), then [`Rebuild::finish`].
#[derive(Debug, Default)]
pub(crate) struct Rebuild {
    /// The latest value of each key; a tombstone removes the key.
    latest: BTreeMap<String, Vec<u8>>,
    /// Records of no known key shape, skipped.
    pub unknown_keys: u64,
}

impl Rebuild {
    /// One record, in log order.
    pub(crate) fn apply(&mut self, key: String, value: Option<Vec<u8>>) {
        if parse_key(&key).is_none() {
            self.unknown_keys += 1;
            return;
        }
        match value {
            Some(v) => self.latest.insert(key, v),
            None => self.latest.remove(&key),
        };
    }

    /// The regions the records describe, sorted by region code.
    pub fn finish(mut self) -> Result<Vec<RestoredRegion>, DecodeError> {
        let mut regions: BTreeMap<String, RestoredRegion> = BTreeMap::new();
        for (key, value) in std::mem::take(&mut self.latest) {
            let bad = |what: &'static str, region: &str| {
                let region = region.to_string();
                move |source| DecodeError {
                    what,
                    region,
                    source,
                }
            };
            let Some(parsed) = parse_key(&key) else {
                continue;
            };
            let region = match &parsed {
                Key::Meta(r) | Key::Pane(r, ..) | Key::Seen(r, _) => r.clone(),
            };
            let restored = regions
                .entry(region.clone())
                .or_insert_with(|| RestoredRegion {
                    region: region.clone(),
                    watermark: i64::MIN,
                    ..RestoredRegion::default()
                });
            match parsed {
                Key::Meta(_) => {
                    let m: MetaIn = serde_json::from_slice(&value).map_err(bad("meta", &region))?;
                    restored.watermark = m.watermark;
                    restored.meta = RegionMeta {
                        trackers: m.trackers,
                        last_pane: m.last_pane,
                        last_evict: m.last_evict,
                        held: m.held,
                    };
                }
                Key::Pane(_, signal, start) => {
                    let pane = serde_json::from_slice(&value).map_err(bad("pane", &region))?;
                    restored.panes.push((signal, start, pane));
                }
                Key::Seen(_, id) => {
                    let r: SeenRecord =
                        serde_json::from_slice(&value).map_err(bad("id", &region))?;
                    restored.seen.push((id, r.into()));
                }
            }
        }
        Ok(regions.into_values().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_whatever_the_id_holds() {
        assert_eq!(
            parse_key(&meta_key("NG-BO")),
            Some(Key::Meta("NG-BO".into()))
        );
        assert_eq!(
            parse_key(&pane_key("Nigeria/Borno", Signal::Risk(11), -3600)),
            Some(Key::Pane("Nigeria/Borno".into(), Signal::Risk(11), -3600))
        );
        assert_eq!(
            parse_key(&seen_key("R", "id\u{1f}odd")),
            Some(Key::Seen("R".into(), "id\u{1f}odd".into()))
        );
        assert_eq!(parse_key("junk"), None);
    }

    #[test]
    fn a_counted_id_without_a_fingerprint_is_a_bare_number() {
        let bare = CountedId {
            event_time: 1_700_000_000,
            near: None,
        };
        let json = serde_json::to_string(&SeenRecord::from(bare)).unwrap();
        assert_eq!(json, "1700000000");
        let back: SeenRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(CountedId::from(back), bare);
    }

    #[test]
    fn a_tombstone_deletes_and_a_bad_value_names_its_region() {
        let mut r = Rebuild::default();
        r.apply(seen_key("R", "a"), Some(b"5".to_vec()));
        r.apply(seen_key("R", "a"), None);
        r.apply(seen_key("R", "b"), Some(b"7".to_vec()));
        r.apply("junk".into(), Some(b"1".to_vec()));
        assert_eq!(r.unknown_keys, 1);
        let regions = r.finish().unwrap();
        assert_eq!(regions.len(), 1);
        assert_eq!(regions[0].seen.len(), 1);
        assert_eq!(regions[0].seen[0].0, "b");
        let mut bad = Rebuild::default();
        bad.apply(meta_key("ML-MO"), Some(b"{".to_vec()));
        let e = bad.finish().unwrap_err();
        assert_eq!((e.what, e.region.as_str()), ("meta", "ML-MO"));
    }
}
