//! Why a report is refused: the stable [`RejectReason`] codes that label metrics, DLQ headers
//! and summaries, and the [`RejectError`] that carries one with the field it concerns.
//!
//! Decoding and validation raise most reasons; the engine raises `too_late`, `time_jump` and
//! the last `bad_time` (windows that would end after year 9999) against a region's state.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Stable reason codes for rejected input; they label metrics and DLQ headers. The codes
/// ([`RejectReason::code`]) are a contract: dashboards, alert rules and DLQ consumers match them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// Not JSON, trailing bytes after the report, or a key repeated in one object.
    MalformedJson,
    /// A required field (`id`, `event_time`, `region`, `source`, `source.id`, `text`) is absent.
    MissingField,
    /// A field holds a JSON type the schema does not allow there.
    BadType,
    /// A field of the right type holds a value outside its domain (an unknown source kind, a
    /// code with control characters, a latitude of 91).
    BadValue,
    /// A message, field, count or list over its limit in `[limits]`.
    TooLarge,
    /// A timestamp that does not read, lies after year 9999 or too far after `reported_at` or
    /// the receive time.
    BadTime,
    /// A casualty count below zero.
    NegativeCount,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
    /// `event_time` lies behind its region's watermark by more than the allowed lateness.
    TooLate,
    /// `event_time` before `limits.earliest_event_time`.
    TooEarly,
    /// `event_time` jumps too far ahead of its region and no room is left to hold it.
    TimeJump,
}

impl RejectReason {
    /// Every reason, in the order metrics and summaries list them.
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

    /// The snake_case code (`malformed_json`), as serde writes the reason too.
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

/// Why one report was refused: a reason code, the field path (`casualties.killed`, empty for
/// the whole message) and a detail that names expectations, never the offending value (report
/// text and names must not reach logs or the DLQ reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{reason}: {field}: {detail}")]
pub struct RejectError {
    pub reason: RejectReason,
    pub field: String,
    pub detail: String,
}

impl RejectError {
    pub(crate) fn new(
        reason: RejectReason,
        field: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        RejectError {
            reason,
            field: field.into(),
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_what_serde_writes_and_distinct() {
        let mut codes: Vec<&str> = RejectReason::ALL.iter().map(|r| r.code()).collect();
        for r in RejectReason::ALL {
            let json = serde_json::to_string(&r).expect("a reason serialises");
            assert_eq!(json, format!("\"{}\"", r.code()));
            assert_eq!(r.to_string(), r.code());
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), RejectReason::ALL.len());
    }
}
