//! The tools hostile records are written with: [`Ctx`], which knows the anchor region and
//! builds the neutral report each case spoils; [`Obj`], a JSON object written key by key (so
//! that keys can repeat and bytes be raw); string writers; and [`Built`], what a case returns.

use std::collections::HashMap;

use rand_chacha::ChaCha8Rng;

use super::Expect::{self, Held, Rejected};
use crate::alert::rfc3339;
use crate::report::RejectReason::TimeJump;
use crate::report::{CasualtyKind, Limits};
use crate::window::WindowSettings;

/// One hostile record as a builder makes it: its case name within the class, its bytes and
/// the outcome the contract promises.
pub(super) struct Built {
    pub(super) case: String,
    pub(super) bytes: Vec<u8>,
    pub(super) expect: Expect,
}

/// A [`Built`] record.
pub(super) fn built(case: impl Into<String>, bytes: Vec<u8>, expect: Expect) -> Built {
    Built {
        case: case.into(),
        bytes,
        expect,
    }
}

/// A JSON object written key by key, so that cases can repeat keys and write raw bytes.
#[derive(Clone)]
pub(super) struct Obj(pub(super) Vec<(Vec<u8>, Vec<u8>)>);

impl Obj {
    /// Sets `key` (quoted here) to the raw `value`, in place if it is there already.
    pub(super) fn set(&mut self, key: &str, value: impl Into<Vec<u8>>) -> &mut Obj {
        let k = quoted(key);
        let value = value.into();
        match self.0.iter_mut().find(|(key, _)| *key == k) {
            Some(slot) => slot.1 = value,
            None => self.0.push((k, value)),
        }
        self
    }

    /// Adds a key even if it is there already (or a raw key, not quoted by this).
    pub(super) fn push_raw(
        &mut self,
        key: impl Into<Vec<u8>>,
        value: impl Into<Vec<u8>>,
    ) -> &mut Obj {
        self.0.push((key.into(), value.into()));
        self
    }

    /// The object's JSON bytes.
    pub(super) fn bytes(&self) -> Vec<u8> {
        let mut out = b"{".to_vec();
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(k);
            out.push(b':');
            out.extend_from_slice(v);
        }
        out.push(b'}');
        out
    }
}

/// A JSON string of `s`, escaped as serde_json escapes (C0 controls, quote, backslash).
pub(super) fn quoted(s: &str) -> Vec<u8> {
    serde_json::to_vec(s).unwrap_or_default()
}

/// `c` as a JSON `\u` escape (a surrogate pair beyond the BMP).
pub(super) fn escaped(c: char) -> String {
    let mut units = [0u16; 2];
    c.encode_utf16(&mut units)
        .iter()
        .map(|u| format!("\\u{u:04x}"))
        .collect()
}

/// A JSON string literal `"<before><middle><after>"` with `middle` written as given (raw bytes).
pub(super) fn literal(before: &str, middle: &[u8], after: &str) -> Vec<u8> {
    let mut out = b"\"".to_vec();
    out.extend_from_slice(before.as_bytes());
    out.extend_from_slice(middle);
    out.extend_from_slice(after.as_bytes());
    out.push(b'"');
    out
}

pub(super) const NEUTRAL_TEXT: &str = "Market day passed quietly in the town, residents said.";

/// What the builders know while the corpus is made: the anchor region and its clock, the limits
/// and window settings in force, and what each region holds already.
pub(super) struct Ctx {
    pub(super) rng: ChaCha8Rng,
    pub(super) seed: u64,
    /// Hostile records built so far: ids and source ids are numbered by it.
    pub(super) seq: u64,
    /// The anchor region and its watermark.
    pub(super) region: String,
    pub(super) watermark: i64,
    pub(super) limits: Limits,
    pub(super) window: WindowSettings,
    /// Event time of the first clock jump; later ones are a jump limit and a day earlier.
    pub(super) jump_base: i64,
    /// Clock jumps held per region, and the last one held.
    pub(super) jumps: HashMap<String, (usize, Option<Vec<u8>>)>,
    /// Reports held per region (count, bytes), as the engine bounds them.
    pub(super) held: HashMap<String, (usize, usize)>,
    /// Records built per case, to take each case's variants in turn.
    pub(super) counters: Vec<usize>,
}

impl Ctx {
    /// This record's own id.
    pub(super) fn id(&self) -> String {
        format!("hx-{}-{:06}", self.seed, self.seq)
    }

    /// A report that is valid, tags nothing and changes no good report's outcome: its own id
    /// and source, dated at the region's watermark.
    pub(super) fn neutral(&self) -> Obj {
        let mut o = Obj(Vec::new());
        o.set("id", quoted(&self.id()))
            .set("event_time", quoted(&rfc3339(self.watermark)))
            .set("region", quoted(&self.region))
            .set("source", self.source(&quoted(&self.source_id())))
            .set("language", quoted("en"))
            .set("title", quoted("Market day"))
            .set("text", quoted(NEUTRAL_TEXT))
            .set(
                "location",
                format!(r#"{{"name":"Locality {}"}}"#, self.seq % 40),
            );
        o
    }

    /// A source id of this record's own.
    pub(super) fn source_id(&self) -> String {
        format!("hx-src-{}", self.seq)
    }

    /// A `source` object with the raw `id`, graded C3 (neither corroborating nor weighty).
    pub(super) fn source(&self, id: &[u8]) -> Vec<u8> {
        let mut s = br#"{"id":"#.to_vec();
        s.extend_from_slice(id);
        s.extend_from_slice(br#","kind":"ngo","reliability":"C","credibility":3}"#);
        s
    }

    /// A neutral report with `key` set to the raw `value`.
    pub(super) fn with(&self, key: &str, value: impl Into<Vec<u8>>) -> Vec<u8> {
        self.neutral().set(key, value).bytes()
    }

    /// A neutral report with `casualties.<kind>` set to the raw `value`.
    pub(super) fn count(&self, kind: CasualtyKind, value: &str) -> Vec<u8> {
        let field = kind.name();
        self.with("casualties", format!(r#"{{"{field}":{value}}}"#))
    }

    /// The expectation for a clock jump in this region: held while the hold has room.
    pub(super) fn jump(&mut self, bytes: &[u8]) -> Expect {
        let (n, size) = self.held.entry(self.region.clone()).or_default();
        if *n < self.window.max_held_reports && *size + bytes.len() <= self.window.max_held_bytes {
            *n += 1;
            *size += bytes.len();
            Held
        } else {
            Rejected(TimeJump)
        }
    }
}

/// The region's watermark minus `secs`, as RFC 3339.
pub(super) fn at(c: &Ctx, secs: i64) -> Vec<u8> {
    quoted(&rfc3339(c.watermark - secs))
}
