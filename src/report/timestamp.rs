//! Reading report timestamps in the forms the field sends, and refusing the ambiguous ones with
//! a message that says what to send instead.
//!
//! | form | example | verdict |
//! |---|---|---|
//! | RFC 3339 with `Z` or an offset | `2026-03-05T14:00:00Z`, `2026-03-05T15:00:00+01:00` | accepted |
//! | the same in lower case, or with a space for `T` (RFC 3339 §5.6 allows both) | `2026-03-05t14:00:00z` | accepted |
//! | a leap second (23:59:60 UTC only) | `2016-12-31T23:59:60Z` | accepted, read as `23:59:59` |
//! | fractions of a second | `2026-03-05T14:00:00.250Z` | accepted, truncated to the second |
//! | epoch milliseconds, as a JSON integer or a string of digits | `1772719200000` | accepted |
//! | no offset (form tools export local times) | `2026-03-05T14:00:00` | refused: the zone is unknown |
//! | a date alone | `2026-03-05` | refused: no time and no zone |
//! | an integer below 10^11 (epoch *seconds*, or before 1973 in milliseconds) | `1772719200` | refused |
//! | anything else, fractional numbers included | `05/03/2026`, `1.77e12` | refused |
//!
//! A timestamp that reads is then checked against the plausible range: not before
//! `limits.earliest_event_time`, not after year 9999 (CAP and RFC 3339 write four-digit years).
//! The engine refuses a little more: an event time within the longest rule hop of the end of
//! 9999, whose windows would end in year 10000.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Timelike};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// The smallest integer read as epoch milliseconds: 1973-03-03. Below it a number is far more
/// likely epoch seconds (which would be misread by a factor of 1,000) than a date before 1973.
const MIN_EPOCH_MILLIS: i64 = 100_000_000_000;

/// The last second of year 9999, in Unix seconds: later times have no RFC 3339 or CAP form.
pub(crate) const MAX_SECONDS: i64 = 253_402_300_799;

/// A timestamp as sent: text, or a JSON integer of epoch milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeValue<'a> {
    /// A JSON string, not yet read: RFC 3339 or a string of digits (epoch milliseconds).
    Text(Cow<'a, str>),
    /// A JSON integer: epoch milliseconds.
    Millis(i64),
}

impl TimeValue<'_> {
    /// Unix seconds, or why the value cannot be read (a sentence naming what to send instead).
    pub(crate) fn seconds(&self) -> Result<i64, &'static str> {
        let seconds = match self {
            TimeValue::Millis(ms) => millis(*ms)?,
            TimeValue::Text(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                millis(s.parse().map_err(|_| TOO_LARGE)?)?
            }
            TimeValue::Text(s) => text(s)?,
        };
        if seconds > MAX_SECONDS {
            return Err("lies after year 9999");
        }
        Ok(seconds)
    }
}

const TOO_LARGE: &str = "integer too large for epoch milliseconds";

fn millis(ms: i64) -> Result<i64, &'static str> {
    if ms < MIN_EPOCH_MILLIS {
        return Err(
            "an integer below 10^11 is epoch seconds or before 1973: send epoch milliseconds or RFC 3339 (2026-03-05T14:00:00Z)",
        );
    }
    Ok(ms.div_euclid(1000))
}

fn text(s: &str) -> Result<i64, &'static str> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        // chrono reads second 60 at any minute; only 23:59:60 UTC is a leap second.
        let utc = t.with_timezone(&chrono::Utc);
        if t.timestamp_subsec_nanos() >= 1_000_000_000 && (utc.hour(), utc.minute()) != (23, 59) {
            return Err("second 60 is a leap second only at 23:59:60 UTC");
        }
        return Ok(t.timestamp());
    }
    let local = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dt%H:%M:%S%.f",
    ];
    if local
        .iter()
        .any(|f| NaiveDateTime::parse_from_str(s, f).is_ok())
    {
        return Err(
            "has no UTC offset, so its zone is unknown: add Z for UTC or the offset, e.g. 2026-03-05T14:00:00Z or 2026-03-05T15:00:00+01:00",
        );
    }
    if NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() {
        return Err(
            "is a date without a time or zone: send 2026-03-05T00:00:00Z if midnight UTC is meant",
        );
    }
    Err("expected RFC 3339 (2026-03-05T14:00:00Z) or integer epoch milliseconds")
}

impl<'de: 'a, 'a> Deserialize<'de> for TimeValue<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TimeValue<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp string or integer epoch milliseconds")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(TimeValue::Text(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(TimeValue::Text(Cow::Owned(v.to_string())))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(TimeValue::Millis(v))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                i64::try_from(v)
                    .map(TimeValue::Millis)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for TimeValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TimeValue::Text(t) => s.serialize_str(t),
            TimeValue::Millis(ms) => s.serialize_i64(*ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str) -> Result<i64, &'static str> {
        TimeValue::Text(Cow::Borrowed(s)).seconds()
    }

    #[test]
    fn unambiguous_forms_are_accepted() {
        let t = 1_772_719_200; // 2026-03-05T14:00:00Z
        for s in [
            "2026-03-05T14:00:00Z",
            "2026-03-05t14:00:00z",
            "2026-03-05 14:00:00Z",
            "2026-03-05T15:00:00+01:00",
            "2026-03-05T14:00:00.250Z",
            "1772719200000",
        ] {
            assert_eq!(read(s), Ok(t), "{s}");
        }
        assert_eq!(TimeValue::Millis(1_772_719_200_999).seconds(), Ok(t));
        // A leap second reads as the second before it.
        assert_eq!(read("2016-12-31T23:59:60Z"), read("2016-12-31T23:59:59Z"));
    }

    #[test]
    fn ambiguous_forms_are_refused_with_what_to_send() {
        for (s, says) in [
            ("2026-03-05T14:00:00", "no UTC offset"),
            ("2026-03-05 14:00:00", "no UTC offset"),
            ("2026-03-05", "date without a time"),
            ("1772719200", "epoch seconds"),
            ("05/03/2026", "expected RFC 3339"),
            ("", "expected RFC 3339"),
            ("99999999999999999999999", "too large"),
            ("2026-03-05T14:00:60Z", "leap second"),
            ("2016-12-31T23:59:60+01:00", "leap second"),
        ] {
            let e = read(s).unwrap_err();
            assert!(e.contains(says), "{s}: {e}");
        }
        assert!(TimeValue::Millis(1_772_719_200).seconds().is_err());
        assert_eq!(
            TimeValue::Millis(i64::MAX).seconds(),
            Err("lies after year 9999")
        );
    }

    #[test]
    fn json_integers_and_strings_deserialise() {
        let v: TimeValue = serde_json::from_str("1772719200000").unwrap();
        assert_eq!(v, TimeValue::Millis(1_772_719_200_000));
        let v: TimeValue = serde_json::from_str("\"2026-03-05T14:00:00Z\"").unwrap();
        assert!(matches!(v, TimeValue::Text(Cow::Borrowed(_))));
        assert!(serde_json::from_str::<TimeValue>("1.5e12").is_err());
        assert!(serde_json::from_str::<TimeValue>("-5").is_ok());
    }
}
