//! The incident report as Vigil reads it (DESIGN "Incident report"): [`Report`] and its parts,
//! borrowed from the input buffer (`Cow<'a, str>`) so that decoding copies no narrative text,
//! and [`ValidReport`], a report with the facts validation derived from it.
//!
//! [`CasualtyKind`] is the one definition of the casualty kinds and their fixed order: every
//! per-kind array in the crate is indexed by [`CasualtyKind::index`].

use std::borrow::Cow;

use serde::{Deserialize, Serialize, Serializer};

use crate::report::field_readers::{borrowed, object};
use crate::report::timestamp::TimeValue;

/// Who a source is (DESIGN "Incident report"), as the `source.kind` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    FieldMonitor,
    Ngo,
    Un,
    Media,
    Government,
    SocialMedia,
}

impl SourceKind {
    /// Every kind, in the order of [`SourceKind::NAMES`].
    pub(crate) const ALL: [SourceKind; 6] = [
        SourceKind::FieldMonitor,
        SourceKind::Ngo,
        SourceKind::Un,
        SourceKind::Media,
        SourceKind::Government,
        SourceKind::SocialMedia,
    ];

    /// The names `source.kind` accepts, one per kind of [`SourceKind::ALL`].
    const NAMES: [&'static str; 6] = [
        "field_monitor",
        "ngo",
        "un",
        "media",
        "government",
        "social_media",
    ];

    /// The name as `source.kind` writes it (`social_media`).
    pub(crate) fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// The kind `source.kind` names, if any.
    pub(crate) fn from_name(name: &str) -> Option<SourceKind> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Self::ALL[i])
    }
}

/// Read from a string only. serde's derived enum reading answers anything but a string or an
/// object with a *syntax* error, which would file a well-formed `"kind": 3` under
/// `malformed_json`; a wrong type is `bad_type` and an unknown name `bad_value`.
impl<'de> Deserialize<'de> for SourceKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        SourceKind::from_name(&name)
            .ok_or_else(|| serde::de::Error::unknown_variant(&name, &SourceKind::NAMES))
    }
}

impl Serialize for SourceKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Who sent a report, with its Admiralty grading.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Source<'a> {
    /// The source's code (a monitor, an outlet, `acled:<outlet>`): printable text of at most
    /// `limits.max_code_bytes`; one source counts once toward corroboration.
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(default)]
    pub kind: Option<SourceKind>,
    /// Admiralty source reliability, `A` (completely reliable) to `F` (cannot be judged).
    #[serde(default, borrow, deserialize_with = "borrowed::option")]
    pub reliability: Option<Cow<'a, str>>,
    /// Admiralty information credibility, 1 (confirmed) to 6 (cannot be judged).
    #[serde(default)]
    pub credibility: Option<i64>,
}

/// Where the incident happened, as precisely as the source says; coordinates in degrees
/// (WGS 84), latitude -90..90 and longitude -180..180.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Location<'a> {
    #[serde(default, borrow, deserialize_with = "borrowed::option")]
    pub name: Option<Cow<'a, str>>,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
    #[serde(default, borrow, deserialize_with = "borrowed::option")]
    pub admin1: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrowed::option")]
    pub admin2: Option<Cow<'a, str>>,
}

/// The kinds of casualty a report counts, in the fixed order every per-kind array of the crate
/// uses: [`Casualties::counts`], the window's sums, the rules' metrics and the alert's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CasualtyKind {
    Killed,
    Injured,
    Abducted,
    Missing,
    Displaced,
    SexualViolence,
}

impl CasualtyKind {
    /// How many kinds there are: the length of every per-kind array.
    pub const COUNT: usize = 6;

    /// Every kind, in the fixed order: `ALL[kind.index()] == kind`.
    pub const ALL: [CasualtyKind; CasualtyKind::COUNT] = [
        CasualtyKind::Killed,
        CasualtyKind::Injured,
        CasualtyKind::Abducted,
        CasualtyKind::Missing,
        CasualtyKind::Displaced,
        CasualtyKind::SexualViolence,
    ];

    /// The field name in a report's `casualties` object (`sexual_violence`), which is also the
    /// name structured tagging conditions and alerts use.
    pub const fn name(self) -> &'static str {
        match self {
            CasualtyKind::Killed => "killed",
            CasualtyKind::Injured => "injured",
            CasualtyKind::Abducted => "abducted",
            CasualtyKind::Missing => "missing",
            CasualtyKind::Displaced => "displaced",
            CasualtyKind::SexualViolence => "sexual_violence",
        }
    }

    /// The kind's position in [`CasualtyKind::ALL`] and in every per-kind array.
    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// The kind whose [`name`](CasualtyKind::name) is `name`, if any.
    pub(crate) fn from_name(name: &str) -> Option<CasualtyKind> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// Casualty counts as sent, one field per [`CasualtyKind`] (named as the kind is), zero where
/// the report gives none. Signed, so that a negative count is reported as `negative_count`
/// rather than as a type error; validation bounds each to `0..=limits.max_count`.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct Casualties {
    pub killed: i64,
    pub injured: i64,
    pub abducted: i64,
    pub missing: i64,
    pub displaced: i64,
    pub sexual_violence: i64,
    /// Of `killed`, how many were civilians, when the source says (ACLED's `civilian_targeting`,
    /// UCDP's `deaths_civilians`): it decides, before the text does, whether a killing counts
    /// as an attack on civilians (RF11). Not a casualty kind: not summed in windows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub killed_civilians: Option<i64>,
}

impl Casualties {
    /// The kinds' names in [`CasualtyKind::ALL`] order.
    pub(crate) const FIELD_NAMES: [&'static str; CasualtyKind::COUNT] = {
        let mut names = [""; CasualtyKind::COUNT];
        let mut i = 0;
        while i < CasualtyKind::COUNT {
            names[i] = CasualtyKind::ALL[i].name();
            i += 1;
        }
        names
    };

    /// The count of one kind.
    pub(crate) fn count(&self, kind: CasualtyKind) -> i64 {
        // A copy (six integers) lets the field of each kind be named once, in `count_mut`.
        let mut copy = *self;
        *copy.count_mut(kind)
    }

    /// The field that holds the count of `kind`.
    pub(crate) fn count_mut(&mut self, kind: CasualtyKind) -> &mut i64 {
        match kind {
            CasualtyKind::Killed => &mut self.killed,
            CasualtyKind::Injured => &mut self.injured,
            CasualtyKind::Abducted => &mut self.abducted,
            CasualtyKind::Missing => &mut self.missing,
            CasualtyKind::Displaced => &mut self.displaced,
            CasualtyKind::SexualViolence => &mut self.sexual_violence,
        }
    }

    /// The counts in [`CasualtyKind::ALL`] order.
    pub(crate) fn counts(&self) -> [i64; CasualtyKind::COUNT] {
        CasualtyKind::ALL.map(|kind| self.count(kind))
    }

    /// The count named `field` (a [`CasualtyKind::name`]), for structured tagging conditions;
    /// `None` for a name that is no kind.
    pub(crate) fn get(&self, field: &str) -> Option<i64> {
        CasualtyKind::from_name(field).map(|kind| self.count(kind))
    }
}

/// A party to the incident: its name, its kind (`state_forces`, `militia`, … as the taxonomy's
/// actor conditions name them) and whether it is foreign to the region.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Actor<'a> {
    #[serde(default, borrow, deserialize_with = "borrowed::option")]
    pub name: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrowed::option")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(default)]
    pub foreign: Option<bool>,
}

/// One incident report, borrowed from its input buffer. Unknown fields are ignored; a JSON array
/// where the schema has an object is a wrong type (see `field_readers::object`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Report<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    /// RFC 3339 text or epoch milliseconds (see [`crate::report::timestamp`] for the accepted forms).
    #[serde(borrow)]
    pub event_time: TimeValue<'a>,
    #[serde(default, borrow)]
    pub reported_at: Option<TimeValue<'a>>,
    #[serde(borrow)]
    pub region: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "object::option")]
    pub location: Option<Location<'a>>,
    #[serde(borrow, deserialize_with = "object::required")]
    pub source: Source<'a>,
    #[serde(default, borrow, deserialize_with = "borrowed::option")]
    pub language: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrowed::option")]
    pub title: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub text: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "borrowed::list")]
    pub categories: Vec<Cow<'a, str>>,
    #[serde(default, deserialize_with = "object::option")]
    pub casualties: Option<Casualties>,
    #[serde(default, borrow, deserialize_with = "object::list")]
    pub actors: Vec<Actor<'a>>,
}

/// A decoded report together with the facts validation derived from it.
#[derive(Debug, Clone)]
pub struct ValidReport<'a> {
    pub report: Report<'a>,
    /// `event_time` as Unix seconds.
    pub event_time: i64,
    /// `reported_at` as Unix seconds, when given.
    pub reported_at: Option<i64>,
    /// Admiralty-code weight of the source in millis (1000 = A1).
    pub reliability_milli: u32,
    /// True when the source is rated A–B and the information 1–2 (confirmed or probably true).
    pub corroborated: bool,
    /// The report's counts, all zero when it has no `casualties`.
    pub casualties: Casualties,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casualty_kinds_name_the_fields_in_their_order() {
        // Distinct counts, so that a kind read from the wrong field shows.
        let mut c = Casualties::default();
        for kind in CasualtyKind::ALL {
            *c.count_mut(kind) = 10 + kind.index() as i64;
        }
        let json = serde_json::to_value(c).expect("counts serialise");
        for (i, kind) in CasualtyKind::ALL.into_iter().enumerate() {
            assert_eq!(kind.index(), i);
            assert_eq!(CasualtyKind::from_name(kind.name()), Some(kind));
            assert_eq!(Casualties::FIELD_NAMES[i], kind.name());
            assert_eq!(json[kind.name()], 10 + i as i64, "{}", kind.name());
            assert_eq!(c.get(kind.name()), Some(10 + i as i64));
        }
        assert_eq!(c.counts(), [10, 11, 12, 13, 14, 15]);
        assert_eq!(json.as_object().map(|o| o.len()), Some(CasualtyKind::COUNT));
        assert_eq!(CasualtyKind::from_name("wounded"), None);
        assert_eq!(c.get("Killed"), None);
    }

    #[test]
    fn source_kinds_read_and_write_their_names() {
        for (kind, name) in SourceKind::ALL.into_iter().zip(SourceKind::NAMES) {
            assert_eq!(kind.name(), name);
            assert_eq!(SourceKind::from_name(name), Some(kind));
            let json = serde_json::to_string(&kind).expect("a kind serialises");
            assert_eq!(json, format!("\"{name}\""));
            let back: SourceKind = serde_json::from_str(&json).expect("and reads back");
            assert_eq!(back, kind);
        }
        assert_eq!(SourceKind::from_name("press"), None);
        // The names are the schema's (DESIGN "Incident report"), not just consistent.
        assert_eq!(SourceKind::FieldMonitor.name(), "field_monitor");
        assert_eq!(SourceKind::SocialMedia.name(), "social_media");
    }
}
