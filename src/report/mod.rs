//! The incident-report model (DESIGN "Incident report") and its validation.
//!
//! Decoding borrows from the input buffer (`Cow<'a, str>`), so the hot path copies no narrative
//! text. Every rejection carries a stable [`RejectReason`] code, the field path that failed and a
//! detail that never echoes input values (report text and names must not reach logs or the DLQ
//! reason).

mod fast_decode;
pub mod timestamp;

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::report::timestamp::TimeValue;

/// Size, count and time limits applied to every report. Each is a named setting in
/// `config/vigil.toml` under `[limits]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest accepted message or JSONL line, in bytes.
    pub max_message_bytes: usize,
    /// Largest accepted `text` (and `title`), in bytes (DESIGN: 64 KiB).
    pub max_text_bytes: usize,
    /// Longest accepted `id`, in bytes (DESIGN: 128).
    pub max_id_bytes: usize,
    /// Longest accepted `region` and `source.id`, in bytes.
    pub max_code_bytes: usize,
    /// Largest accepted casualty count in any one field.
    pub max_count: i64,
    /// Most entries accepted in `actors` and in `categories`.
    pub max_list_len: usize,
    /// How far `event_time` may lie after `reported_at` (or after the receive time), in seconds.
    pub max_future_skew_secs: i64,
    /// The earliest plausible `event_time` (RFC 3339); earlier reports are rejected `too_early`.
    /// The default, 1989-01-01, is where the UCDP GED record starts (ACLED's starts in 1997).
    pub earliest_event_time: DateTime<Utc>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 256 * 1024,
            max_text_bytes: 64 * 1024,
            max_id_bytes: 128,
            max_code_bytes: 64,
            max_count: 1_000_000,
            max_list_len: 64,
            max_future_skew_secs: 6 * 3600,
            earliest_event_time: DateTime::from_timestamp(EARLIEST_EVENT_TIME, 0)
                .unwrap_or_default(),
        }
    }
}

/// 1989-01-01T00:00:00Z, the default [`Limits::earliest_event_time`].
const EARLIEST_EVENT_TIME: i64 = 599_616_000;

/// Stable reason codes for rejected input; they label metrics and DLQ headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    MalformedJson,
    MissingField,
    BadType,
    BadValue,
    TooLarge,
    BadTime,
    NegativeCount,
    InvalidUtf8,
    TooLate,
    /// `event_time` before `limits.earliest_event_time`.
    TooEarly,
    /// `event_time` jumps too far ahead of its region and no room is left to hold it.
    TimeJump,
}

impl RejectReason {
    pub const ALL: [RejectReason; 11] = [
        RejectReason::MalformedJson,
        RejectReason::MissingField,
        RejectReason::BadType,
        RejectReason::BadValue,
        RejectReason::TooLarge,
        RejectReason::BadTime,
        RejectReason::NegativeCount,
        RejectReason::InvalidUtf8,
        RejectReason::TooLate,
        RejectReason::TooEarly,
        RejectReason::TimeJump,
    ];

    pub fn code(self) -> &'static str {
        match self {
            RejectReason::MalformedJson => "malformed_json",
            RejectReason::MissingField => "missing_field",
            RejectReason::BadType => "bad_type",
            RejectReason::BadValue => "bad_value",
            RejectReason::TooLarge => "too_large",
            RejectReason::BadTime => "bad_time",
            RejectReason::NegativeCount => "negative_count",
            RejectReason::InvalidUtf8 => "invalid_utf8",
            RejectReason::TooLate => "too_late",
            RejectReason::TooEarly => "too_early",
            RejectReason::TimeJump => "time_jump",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why one report was refused: a reason code, the field path (`casualties.killed`) and a detail
/// that names expectations, never the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{reason}: {field}: {detail}")]
pub struct RejectError {
    pub reason: RejectReason,
    pub field: String,
    pub detail: String,
}

impl RejectError {
    pub fn new(reason: RejectReason, field: impl Into<String>, detail: impl Into<String>) -> Self {
        RejectError {
            reason,
            field: field.into(),
            detail: detail.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    FieldMonitor,
    Ngo,
    Un,
    Media,
    Government,
    SocialMedia,
}

impl SourceKind {
    const ALL: [SourceKind; 6] = [
        SourceKind::FieldMonitor,
        SourceKind::Ngo,
        SourceKind::Un,
        SourceKind::Media,
        SourceKind::Government,
        SourceKind::SocialMedia,
    ];
    const NAMES: [&'static str; 6] = [
        "field_monitor",
        "ngo",
        "un",
        "media",
        "government",
        "social_media",
    ];
}

/// Read from a string only. serde's derived enum reading answers anything but a string or an
/// object with a *syntax* error, which would file a well-formed `"kind": 3` under
/// `malformed_json`; a wrong type is `bad_type` and an unknown name `bad_value`.
impl<'de> Deserialize<'de> for SourceKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        SourceKind::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| SourceKind::ALL[i])
            .ok_or_else(|| serde::de::Error::unknown_variant(&name, &SourceKind::NAMES))
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Source<'a> {
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

/// Casualty counts as sent (signed, so that a negative count is reported as `negative_count`
/// rather than as a type error).
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct Casualties {
    pub killed: i64,
    pub injured: i64,
    pub abducted: i64,
    pub missing: i64,
    pub displaced: i64,
    pub sexual_violence: i64,
}

impl Casualties {
    fn fields(&self) -> [(&'static str, i64); 6] {
        [
            ("killed", self.killed),
            ("injured", self.injured),
            ("abducted", self.abducted),
            ("missing", self.missing),
            ("displaced", self.displaced),
            ("sexual_violence", self.sexual_violence),
        ]
    }

    /// The counts in [`Casualties::FIELD_NAMES`] order.
    pub fn counts(&self) -> [i64; 6] {
        self.fields().map(|(_, v)| v)
    }

    /// The named count, for structured tagging conditions.
    pub fn get(&self, field: &str) -> Option<i64> {
        self.fields()
            .into_iter()
            .find(|(name, _)| *name == field)
            .map(|(_, v)| v)
    }

    pub const FIELD_NAMES: [&'static str; 6] = [
        "killed",
        "injured",
        "abducted",
        "missing",
        "displaced",
        "sexual_violence",
    ];
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Actor<'a> {
    #[serde(default, borrow, deserialize_with = "borrowed::option")]
    pub name: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrowed::option")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(default)]
    pub foreign: Option<bool>,
}

/// One incident report, borrowed from its input buffer. Unknown fields are ignored.
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
    pub casualties: Casualties,
}

/// Decodes and validates one message. `received_at` (Unix seconds, e.g. the Kafka record
/// timestamp) bounds how far in the future `event_time` may lie; offline paths pass `None` and
/// rely on `reported_at` alone, which keeps the backtest deterministic.
pub fn decode<'a>(
    bytes: &'a [u8],
    limits: &Limits,
    received_at: Option<i64>,
) -> Result<ValidReport<'a>, RejectError> {
    if bytes.len() > limits.max_message_bytes {
        return Err(RejectError::new(
            RejectReason::TooLarge,
            "",
            format!(
                "message of {} bytes exceeds limits.max_message_bytes = {}",
                bytes.len(),
                limits.max_message_bytes
            ),
        ));
    }
    // SIMD validation (the standard library's is byte-wise outside ASCII runs, and French text
    // has accents every few words); serde_json then reads the text without checking it again.
    let text = simdutf8::compat::from_utf8(bytes).map_err(|e| {
        RejectError::new(
            RejectReason::InvalidUtf8,
            "",
            format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        )
    })?;
    // The common shape is read in one pass; anything else goes to serde, without path tracking
    // first, and a failure is decoded again to name the field.
    let report: Report<'a> = match crate::report::fast_decode::decode(text) {
        Some(r) => r,
        None => match serde_json::from_str::<object::Object<Report<'a>>>(text) {
            Ok(r) => r.0,
            Err(_) => return Err(explain(text)),
        },
    };
    validate(report, limits, received_at)
}

/// Decodes a failed message again with path tracking, to say which field failed and why.
fn explain(text: &str) -> RejectError {
    let mut de = serde_json::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, object::Object<Report<'_>>>(&mut de) {
        Err(e) => classify(e),
        Ok(_) => match de.end() {
            Err(e) => RejectError::new(
                RejectReason::MalformedJson,
                "",
                format!(
                    "trailing characters at line {} column {}",
                    e.line(),
                    e.column()
                ),
            ),
            Ok(()) => RejectError::new(RejectReason::MalformedJson, "", "undecodable JSON"),
        },
    }
}

/// Maps a serde error onto a reason code without repeating the offending value.
fn classify(err: serde_path_to_error::Error<serde_json::Error>) -> RejectError {
    let path = err.path().to_string();
    let path = if path == "." { String::new() } else { path };
    let inner = err.inner();
    match inner.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => RejectError::new(
            RejectReason::MalformedJson,
            path,
            format!(
                "invalid JSON at line {} column {}",
                inner.line(),
                inner.column()
            ),
        ),
        serde_json::error::Category::Io => {
            RejectError::new(RejectReason::MalformedJson, path, "unreadable input")
        }
        serde_json::error::Category::Data => {
            let msg = inner.to_string();
            if let Some(rest) = msg.strip_prefix("duplicate field `") {
                // RFC 8259 leaves a repeated name's meaning to each reader: refuse the object
                // rather than keep either value.
                let name = rest.split('`').next().unwrap_or_default();
                RejectError::new(
                    RejectReason::MalformedJson,
                    join_path(&path, name),
                    "key repeated in one object",
                )
            } else if let Some(rest) = msg.strip_prefix("missing field `") {
                let name = rest.split('`').next().unwrap_or_default();
                RejectError::new(
                    RejectReason::MissingField,
                    join_path(&path, name),
                    "required field is absent",
                )
            } else {
                // "invalid type: string \"…\", expected u32 at line …": keep only the expectation.
                let expected = msg
                    .split(", expected ")
                    .nth(1)
                    .map(|s| s.split(" at line ").next().unwrap_or(s))
                    .unwrap_or("a different type");
                let reason = if msg.starts_with("unknown variant") {
                    RejectReason::BadValue
                } else {
                    RejectReason::BadType
                };
                RejectError::new(reason, path, format!("expected {expected}"))
            }
        }
    }
}

fn join_path(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// A timestamp in Unix seconds, within the plausible range.
fn parse_time(field: &str, value: &TimeValue<'_>, limits: &Limits) -> Result<i64, RejectError> {
    let t = value
        .seconds()
        .map_err(|why| RejectError::new(RejectReason::BadTime, field, why))?;
    let earliest = limits.earliest_event_time.timestamp();
    if t < earliest {
        return Err(RejectError::new(
            RejectReason::TooEarly,
            field,
            format!(
                "before limits.earliest_event_time = {}",
                limits.earliest_event_time.to_rfc3339()
            ),
        ));
    }
    Ok(t)
}

fn check_len(field: &str, value: &str, max: usize) -> Result<(), RejectError> {
    if value.len() > max {
        return Err(RejectError::new(
            RejectReason::TooLarge,
            field,
            format!("{} bytes exceeds the limit of {max}", value.len()),
        ));
    }
    Ok(())
}

/// Codes and ids (`id`, `region`, `source.id`) label alerts, CAP areas, changelog keys and
/// metrics, so they must be printable text: no control characters (C0, DEL, C1), no line or
/// paragraph separators, no invisible format characters (zero-width, bidirectional controls,
/// soft hyphen: Unicode's default-ignorable code points), no noncharacters (U+FFFE, U+FDD0…,
/// which XML forbids), and no white space at either end. Letters of every script, digits,
/// punctuation (`-`, `/`, `:`, `.`, `_`, `(`), symbols and inner spaces are fine, so that an
/// imported `Côte d'Ivoire/Lagunes` is a code as much as `NG-BO`.
fn check_code(field: &str, value: &str) -> Result<(), RejectError> {
    // Most codes are ASCII: only C0 controls and DEL can be wrong there.
    let bad = if value.is_ascii() {
        value
            .bytes()
            .position(|b| b < 0x20 || b == 0x7f)
            .map(|at| (at, char::from(value.as_bytes()[at])))
    } else {
        value.char_indices().find(|&(_, c)| {
            c.is_control()
                || matches!(c, '\u{2028}' | '\u{2029}')
                || crate::tag::normalize::is_default_ignorable(c)
                || is_noncharacter(c)
        })
    };
    if let Some((at, _)) = bad {
        return Err(RejectError::new(
            RejectReason::BadValue,
            field,
            format!(
                "a control, invisible or non-character code point at byte {at}; codes are printable text"
            ),
        ));
    }
    if value.trim() != value {
        return Err(RejectError::new(
            RejectReason::BadValue,
            field,
            "white space at the start or end",
        ));
    }
    Ok(())
}

/// Unicode noncharacters: U+FDD0–U+FDEF and the last two code points of every plane.
fn is_noncharacter(c: char) -> bool {
    let c = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&c) || c & 0xFFFE == 0xFFFE
}

fn check_nonempty(field: &str, value: &str) -> Result<(), RejectError> {
    if value.trim().is_empty() {
        return Err(RejectError::new(
            RejectReason::BadValue,
            field,
            "must not be empty",
        ));
    }
    Ok(())
}

/// Admiralty reliability (A–F) weight in millis. F ("cannot be judged") sits mid-scale rather
/// than at the bottom: unknown is not the same as unreliable.
fn reliability_weight(letter: Option<&str>) -> Option<u32> {
    Some(match letter? {
        "A" => 1000,
        "B" => 800,
        "C" => 600,
        "D" => 400,
        "E" => 200,
        "F" => 500,
        _ => return None,
    })
}

/// Admiralty credibility (1–6) weight in millis; 6 ("cannot be judged") is mid-scale.
fn credibility_weight(n: i64) -> Option<u32> {
    Some(match n {
        1 => 1000,
        2 => 800,
        3 => 600,
        4 => 400,
        5 => 200,
        6 => 500,
        _ => return None,
    })
}

fn validate<'a>(
    report: Report<'a>,
    limits: &Limits,
    received_at: Option<i64>,
) -> Result<ValidReport<'a>, RejectError> {
    check_nonempty("id", &report.id)?;
    check_len("id", &report.id, limits.max_id_bytes)?;
    check_code("id", &report.id)?;
    check_nonempty("region", &report.region)?;
    check_len("region", &report.region, limits.max_code_bytes)?;
    check_code("region", &report.region)?;
    check_nonempty("source.id", &report.source.id)?;
    check_len("source.id", &report.source.id, limits.max_code_bytes)?;
    check_code("source.id", &report.source.id)?;
    check_len("text", &report.text, limits.max_text_bytes)?;
    if let Some(title) = &report.title {
        check_len("title", title, limits.max_text_bytes)?;
    }
    if report.actors.len() > limits.max_list_len {
        return Err(RejectError::new(
            RejectReason::TooLarge,
            "actors",
            format!("more than {} entries", limits.max_list_len),
        ));
    }
    if report.categories.len() > limits.max_list_len {
        return Err(RejectError::new(
            RejectReason::TooLarge,
            "categories",
            format!("more than {} entries", limits.max_list_len),
        ));
    }

    let event_time = parse_time("event_time", &report.event_time, limits)?;
    let reported_at = match &report.reported_at {
        Some(v) => Some(parse_time("reported_at", v, limits)?),
        None => None,
    };
    for (field, bound) in [("reported_at", reported_at), ("received time", received_at)] {
        if let Some(bound) = bound
            && event_time > bound + limits.max_future_skew_secs
        {
            return Err(RejectError::new(
                RejectReason::BadTime,
                "event_time",
                format!(
                    "lies {} s after {field}, beyond limits.max_future_skew_secs = {}",
                    event_time - bound,
                    limits.max_future_skew_secs
                ),
            ));
        }
    }

    let reliability = match report.source.reliability.as_deref() {
        None => 500,
        Some(letter) => reliability_weight(Some(letter)).ok_or_else(|| {
            RejectError::new(RejectReason::BadValue, "source.reliability", "expected A–F")
        })?,
    };
    let credibility = match report.source.credibility {
        None => 500,
        Some(n) => credibility_weight(n).ok_or_else(|| {
            RejectError::new(RejectReason::BadValue, "source.credibility", "expected 1–6")
        })?,
    };
    let corroborated = matches!(report.source.reliability.as_deref(), Some("A" | "B"))
        && matches!(report.source.credibility, Some(1 | 2));

    let casualties = report.casualties.unwrap_or_default();
    for (name, value) in casualties.fields() {
        if value < 0 {
            return Err(RejectError::new(
                RejectReason::NegativeCount,
                format!("casualties.{name}"),
                "counts must be non-negative",
            ));
        }
        if value > limits.max_count {
            return Err(RejectError::new(
                RejectReason::TooLarge,
                format!("casualties.{name}"),
                format!("exceeds limits.max_count = {}", limits.max_count),
            ));
        }
    }
    if let Some(loc) = &report.location {
        if loc.lat.is_some_and(|lat| !(-90.0..=90.0).contains(&lat)) {
            return Err(RejectError::new(
                RejectReason::BadValue,
                "location.lat",
                "expected -90..90",
            ));
        }
        if loc.lon.is_some_and(|lon| !(-180.0..=180.0).contains(&lon)) {
            return Err(RejectError::new(
                RejectReason::BadValue,
                "location.lon",
                "expected -180..180",
            ));
        }
    }

    Ok(ValidReport {
        event_time,
        reported_at,
        reliability_milli: reliability * credibility / 1000,
        corroborated,
        casualties,
        report,
    })
}

/// Objects read as objects only. serde's derived structs also read a JSON array, field by field
/// in declaration order, so `"casualties": [40]` would count 40 killed and a top-level array of
/// twelve values would be a report. The schema has objects there; an array is a wrong type.
pub(crate) mod object {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::value::MapAccessDeserializer;
    use serde::de::{MapAccess, Visitor};
    use serde::{Deserialize, Deserializer};

    /// A `T` that was written as a JSON object.
    pub(crate) struct Object<T>(pub T);

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<T>(PhantomData<T>);
            impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
                type Value = T;

                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a JSON object")
                }

                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                    T::deserialize(MapAccessDeserializer::new(map))
                }
            }
            d.deserialize_map(V(PhantomData)).map(Object)
        }
    }

    pub fn required<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
        Ok(Object::<T>::deserialize(d)?.0)
    }

    pub fn option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        Ok(Option::<Object<T>>::deserialize(d)?.map(|o| o.0))
    }

    pub fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
        Ok(Vec::<Object<T>>::deserialize(d)?
            .into_iter()
            .map(|o| o.0)
            .collect())
    }
}

/// Borrowing deserialisers for optional and repeated strings. serde borrows a `Cow<str>` field
/// from the input only when the field's type is exactly `Cow<str>`; inside an `Option` or a `Vec`
/// it always allocates. Each report carries several such strings (title, language, location,
/// categories), so these keep decoding free of copies unless a string has escapes.
mod borrowed {
    use std::borrow::Cow;

    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(transparent)]
    struct Str<'a>(#[serde(borrow)] Cow<'a, str>);

    pub fn option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
        Ok(Option::<Str<'de>>::deserialize(d)?.map(|s| s.0))
    }

    pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Cow<'de, str>>, D::Error> {
        Ok(Vec::<Str<'de>>::deserialize(d)?
            .into_iter()
            .map(|s| s.0)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> serde_json::Value {
        serde_json::json!({
            "id": "r-1", "event_time": "2026-03-01T10:00:00Z", "region": "NG-BO",
            "source": {"id": "s-1", "kind": "ngo", "reliability": "B", "credibility": 2},
            "text": "Gunmen abducted 12 girls.", "casualties": {"abducted": 12},
            "extra_field": {"kept": true}
        })
    }

    fn reject(v: serde_json::Value) -> RejectError {
        let bytes = serde_json::to_vec(&v).unwrap();
        decode(&bytes, &Limits::default(), None).unwrap_err()
    }

    #[test]
    fn accepts_valid_report_and_ignores_unknown_fields() {
        let bytes = serde_json::to_vec(&good()).unwrap();
        let r = decode(&bytes, &Limits::default(), None).unwrap();
        assert_eq!(r.report.id, "r-1");
        assert_eq!(r.casualties.abducted, 12);
        assert!(r.corroborated);
        assert_eq!(r.reliability_milli, 640);
    }

    #[test]
    fn missing_field_names_the_path() {
        let mut v = good();
        v["source"].as_object_mut().unwrap().remove("id");
        let e = reject(v);
        assert_eq!(e.reason, RejectReason::MissingField);
        assert_eq!(e.field, "source.id");
    }

    #[test]
    fn bad_type_names_field_and_hides_value() {
        let mut v = good();
        v["casualties"]["killed"] = serde_json::json!("Fatima Musa");
        let e = reject(v);
        assert_eq!(e.reason, RejectReason::BadType);
        assert_eq!(e.field, "casualties.killed");
        assert!(!e.to_string().contains("Fatima"), "{e}");
    }

    #[test]
    fn negative_counts_and_bad_times_and_sizes() {
        let mut v = good();
        v["casualties"]["injured"] = serde_json::json!(-2);
        assert_eq!(reject(v).reason, RejectReason::NegativeCount);

        let mut v = good();
        v["event_time"] = serde_json::json!("yesterday");
        let e = reject(v);
        assert_eq!(
            (e.reason, e.field.as_str()),
            (RejectReason::BadTime, "event_time")
        );

        let mut v = good();
        v["reported_at"] = serde_json::json!("2026-02-01T00:00:00Z");
        assert_eq!(reject(v).reason, RejectReason::BadTime);

        let mut v = good();
        v["id"] = serde_json::json!("x".repeat(129));
        let e = reject(v);
        assert_eq!((e.reason, e.field.as_str()), (RejectReason::TooLarge, "id"));

        let mut v = good();
        v["text"] = serde_json::json!("a".repeat(64 * 1024 + 1));
        assert_eq!(reject(v).reason, RejectReason::TooLarge);

        let mut v = good();
        v["source"]["reliability"] = serde_json::json!("Z");
        assert_eq!(reject(v).reason, RejectReason::BadValue);
    }

    #[test]
    fn optional_and_listed_strings_are_borrowed_unless_escaped() {
        let line = br#"{"id": "r1", "event_time": "2026-03-01T00:00:00Z", "region": "NG-BO",
            "source": {"id": "s", "reliability": "B"}, "title": "Plain title",
            "text": "t", "language": "en", "categories": ["abduction", "si\u0065ge"]}"#;
        let r = decode(line, &Limits::default(), None).unwrap();
        assert!(matches!(r.report.title, Some(Cow::Borrowed("Plain title"))));
        assert!(matches!(
            r.report.source.reliability,
            Some(Cow::Borrowed("B"))
        ));
        assert!(matches!(r.report.categories[0], Cow::Borrowed("abduction")));
        // An escaped string cannot be borrowed; it is decoded into an owned copy.
        assert!(matches!(&r.report.categories[1], Cow::Owned(s) if s == "siege"));
    }

    #[test]
    fn malformed_json_and_invalid_utf8() {
        let e = decode(b"{\"id\": ", &Limits::default(), None).unwrap_err();
        assert_eq!(e.reason, RejectReason::MalformedJson);
        let e = decode(b"{\"id\": \"\xff\"}", &Limits::default(), None).unwrap_err();
        assert_eq!(e.reason, RejectReason::InvalidUtf8);
        let big = vec![b' '; Limits::default().max_message_bytes + 1];
        assert_eq!(
            decode(&big, &Limits::default(), None).unwrap_err().reason,
            RejectReason::TooLarge
        );
    }

    #[test]
    fn arrays_are_not_read_as_objects() {
        // serde's derived structs read arrays positionally: `[40]` was 40 killed.
        let mut v = good();
        v["casualties"] = serde_json::json!([40]);
        let e = reject(v);
        assert_eq!(
            (e.reason, e.field.as_str(), e.detail.as_str()),
            (
                RejectReason::BadType,
                "casualties",
                "expected a JSON object"
            )
        );
        for (field, value) in [
            ("source", serde_json::json!(["s-2", "ngo", "A", 1])),
            ("location", serde_json::json!(["Bama", 11.5, 13.7])),
            ("actors", serde_json::json!([["Group A", "militia", false]])),
        ] {
            let mut v = good();
            v[field] = value;
            let e = reject(v);
            assert_eq!(e.reason, RejectReason::BadType, "{field}");
            assert!(e.field.starts_with(field), "{field}: {e}");
        }
        let positional = serde_json::json!([
            "r-2", "2026-03-01T10:00:00Z", null, "NG-BO", null, {"id": "s-1"}, null, null,
            "Gunmen abducted 12 girls.", [], null, []
        ]);
        let e = reject(positional);
        assert_eq!((e.reason, e.field.as_str()), (RejectReason::BadType, ""));
        // Objects still read, borrowing as before.
        let bytes = serde_json::to_vec(&good()).unwrap();
        assert!(decode(&bytes, &Limits::default(), None).is_ok());
    }

    #[test]
    fn repeated_keys_and_wrongly_typed_kinds_have_their_own_reasons() {
        let base = r#""event_time":"2026-03-01T10:00:00Z","region":"NG-BO","text":"x""#;
        let e = decode(
            format!(r#"{{"id":"a","id":"b",{base},"source":{{"id":"s"}}}}"#).as_bytes(),
            &Limits::default(),
            None,
        )
        .unwrap_err();
        assert_eq!(
            (e.reason, e.field.as_str(), e.detail.as_str()),
            (
                RejectReason::MalformedJson,
                "id",
                "key repeated in one object"
            )
        );
        let e = decode(
            format!(r#"{{"id":"a",{base},"source":{{"id":"s","id":"t"}}}}"#).as_bytes(),
            &Limits::default(),
            None,
        )
        .unwrap_err();
        assert_eq!(
            (e.reason, e.field.as_str()),
            (RejectReason::MalformedJson, "source.id")
        );
        // A well-formed number where a kind name belongs was filed as malformed JSON.
        for (kind, reason) in [
            ("3", RejectReason::BadType),
            ("true", RejectReason::BadType),
            (r#"{"ngo":1}"#, RejectReason::BadType),
            (r#""alien""#, RejectReason::BadValue),
        ] {
            let line = format!(r#"{{"id":"a",{base},"source":{{"id":"s","kind":{kind}}}}}"#);
            let e = decode(line.as_bytes(), &Limits::default(), None).unwrap_err();
            assert_eq!(
                (e.reason, e.field.as_str()),
                (reason, "source.kind"),
                "{kind}"
            );
            assert!(!e.detail.contains("alien"), "{e}");
        }
        let line = format!(r#"{{"id":"a",{base},"source":{{"id":"s","kind":"un"}}}}"#);
        let r = decode(line.as_bytes(), &Limits::default(), None).unwrap();
        assert_eq!(r.report.source.kind, Some(SourceKind::Un));
    }

    #[test]
    fn codes_are_printable_text() {
        for bad in [
            "NG-BO\u{b}",
            "NG\u{0}BO",
            "NG\u{1f}BO",
            "NG\u{85}BO",
            "NG-\u{200b}BO",
            "NG-BO\u{202e}",
            "NG\u{2028}BO",
            "NG\u{fffe}",
            " NG-BO",
            "NG-BO\t",
        ] {
            for field in ["id", "region"] {
                let mut v = good();
                v[field] = serde_json::json!(bad);
                let e = reject(v);
                assert_eq!(
                    (e.reason, e.field.as_str()),
                    (RejectReason::BadValue, field),
                    "{bad:?}"
                );
            }
            let mut v = good();
            v["source"]["id"] = serde_json::json!(bad);
            assert_eq!(reject(v).field, "source.id", "{bad:?}");
        }
        for fine in [
            "NG-BO",
            "Côte d'Ivoire/Lagunes",
            "Nigeria/Borno state",
            "ML-MO",
            "مالي/موبتي",
        ] {
            let mut v = good();
            v["region"] = serde_json::json!(fine);
            let bytes = serde_json::to_vec(&v).unwrap();
            assert!(decode(&bytes, &Limits::default(), None).is_ok(), "{fine}");
        }
    }

    #[test]
    fn event_time_forms_and_the_plausible_range() {
        let at = |t: serde_json::Value| {
            let mut v = good();
            v["event_time"] = t;
            let bytes = serde_json::to_vec(&v).unwrap();
            decode(&bytes, &Limits::default(), None).map(|r| r.event_time)
        };
        let t = 1_772_719_200; // 2026-03-05T14:00:00Z
        assert_eq!(at(serde_json::json!("2026-03-05t14:00:00z")), Ok(t));
        assert_eq!(at(serde_json::json!(1_772_719_200_000_i64)), Ok(t));
        let e = at(serde_json::json!("2026-03-05T14:00:00")).unwrap_err();
        assert_eq!(e.reason, RejectReason::BadTime);
        assert!(e.detail.contains("Z for UTC"), "{e}");
        let e = at(serde_json::json!(1_772_719_200)).unwrap_err();
        assert_eq!(e.reason, RejectReason::BadTime);
        let e = at(serde_json::json!("0001-01-01T00:00:00Z")).unwrap_err();
        assert_eq!(
            (e.reason, e.field.as_str()),
            (RejectReason::TooEarly, "event_time")
        );
        assert!(e.detail.contains("limits.earliest_event_time"), "{e}");
        let e = at(serde_json::json!(1.5e12)).unwrap_err();
        assert_eq!(
            (e.reason, e.field.as_str()),
            (RejectReason::BadType, "event_time")
        );
    }

    #[test]
    fn future_skew_against_receive_time() {
        let bytes = serde_json::to_vec(&good()).unwrap();
        let event = 1_772_359_200; // 2026-03-01T10:00:00Z
        assert!(decode(&bytes, &Limits::default(), Some(event)).is_ok());
        let e = decode(&bytes, &Limits::default(), Some(event - 7 * 3600)).unwrap_err();
        assert_eq!(e.reason, RejectReason::BadTime);
    }
}
