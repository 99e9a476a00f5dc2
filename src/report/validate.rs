//! Validation: the checks a decoded [`Report`] must pass before it is counted (README "Input",
//! DESIGN's schema, `[limits]`), and the facts derived on the way ([`ValidReport`]): times in
//! Unix seconds, the source's Admiralty weight and whether it corroborates, the counts.
//!
//! Checks run in a fixed order, codes and sizes first, and the first failure is the one
//! reported, so that a report with several faults always gets the same reason.

use crate::report::limits::Limits;
use crate::report::model::{Casualties, CasualtyKind, Location, Report, Source, ValidReport};
use crate::report::reject::{RejectError, RejectReason};
use crate::report::timestamp::TimeValue;

/// Checks a decoded report against `limits` and derives its facts. `received_at` (Unix
/// seconds) bounds how far in the future `event_time` may lie, as `reported_at` does.
pub(crate) fn validate<'a>(
    report: Report<'a>,
    limits: &Limits,
    received_at: Option<i64>,
) -> Result<ValidReport<'a>, RejectError> {
    check_codes_and_sizes(&report, limits)?;
    let (event_time, reported_at) = times(&report, limits, received_at)?;
    let (reliability_milli, corroborated) = grading(&report.source)?;
    let casualties = check_counts(report.casualties.unwrap_or_default(), limits)?;
    if let Some(location) = &report.location {
        check_coordinates(location)?;
    }
    Ok(ValidReport {
        event_time,
        reported_at,
        reliability_milli,
        corroborated,
        casualties,
        report,
    })
}

/// The codes (`id`, `region`, `source.id`: present, short, printable), then the text, title and
/// list sizes.
fn check_codes_and_sizes(report: &Report<'_>, limits: &Limits) -> Result<(), RejectError> {
    for (field, value, max) in [
        ("id", &report.id, limits.max_id_bytes),
        ("region", &report.region, limits.max_code_bytes),
        ("source.id", &report.source.id, limits.max_code_bytes),
    ] {
        check_nonempty(field, value)?;
        check_len(field, value, max)?;
        check_code(field, value)?;
    }
    check_len("text", &report.text, limits.max_text_bytes)?;
    if let Some(title) = &report.title {
        check_len("title", title, limits.max_text_bytes)?;
    }
    for (field, len) in [
        ("actors", report.actors.len()),
        ("categories", report.categories.len()),
    ] {
        if len > limits.max_list_len {
            return Err(RejectError::new(
                RejectReason::TooLarge,
                field,
                format!("more than {} entries", limits.max_list_len),
            ));
        }
    }
    Ok(())
}

/// `event_time` and `reported_at` in Unix seconds, each within the plausible range, and
/// `event_time` no further than `limits.max_future_skew_secs` after either `reported_at` or the
/// receive time.
fn times(
    report: &Report<'_>,
    limits: &Limits,
    received_at: Option<i64>,
) -> Result<(i64, Option<i64>), RejectError> {
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
    Ok((event_time, reported_at))
}

/// The source's Admiralty weight in millis (reliability × credibility, each mid-scale when not
/// given) and whether it corroborates: rated A–B with information 1–2.
fn grading(source: &Source<'_>) -> Result<(u32, bool), RejectError> {
    let reliability = match source.reliability.as_deref() {
        None => 500,
        Some(letter) => reliability_weight(letter).ok_or_else(|| {
            RejectError::new(RejectReason::BadValue, "source.reliability", "expected A–F")
        })?,
    };
    let credibility = match source.credibility {
        None => 500,
        Some(n) => credibility_weight(n).ok_or_else(|| {
            RejectError::new(RejectReason::BadValue, "source.credibility", "expected 1–6")
        })?,
    };
    let corroborated = matches!(source.reliability.as_deref(), Some("A" | "B"))
        && matches!(source.credibility, Some(1 | 2));
    Ok((reliability * credibility / 1000, corroborated))
}

/// Each count within `0..=limits.max_count`, checked in [`CasualtyKind::ALL`] order, then
/// `killed_civilians`.
fn check_counts(casualties: Casualties, limits: &Limits) -> Result<Casualties, RejectError> {
    let counts = CasualtyKind::ALL
        .into_iter()
        .map(|kind| (kind.name(), casualties.count(kind)));
    let civilians = casualties.killed_civilians.map(|v| ("killed_civilians", v));
    for (name, value) in counts.chain(civilians) {
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
    if let Some(civilians) = casualties.killed_civilians
        && civilians > casualties.killed
    {
        return Err(RejectError::new(
            RejectReason::BadValue,
            "casualties.killed_civilians",
            "exceeds casualties.killed (civilians are counted among the killed)",
        ));
    }
    Ok(casualties)
}

/// Latitude within -90..90 and longitude within -180..180 degrees, where given.
fn check_coordinates(location: &Location<'_>) -> Result<(), RejectError> {
    for (field, value, bound, expected) in [
        ("location.lat", location.lat, 90.0, "expected -90..90"),
        ("location.lon", location.lon, 180.0, "expected -180..180"),
    ] {
        if value.is_some_and(|v| !(-bound..=bound).contains(&v)) {
            return Err(RejectError::new(RejectReason::BadValue, field, expected));
        }
    }
    Ok(())
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
pub(crate) fn check_code(field: &str, value: &str) -> Result<(), RejectError> {
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
fn reliability_weight(letter: &str) -> Option<u32> {
    Some(match letter {
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

#[cfg(test)]
mod tests {
    use crate::report::decode::decode;
    use crate::report::decode::tests::{good, reject};
    use crate::report::limits::Limits;
    use crate::report::reject::RejectReason;

    #[test]
    fn negative_counts_and_bad_times_and_sizes() {
        let mut v = good();
        v["casualties"]["injured"] = serde_json::json!(-2);
        assert_eq!(reject(v).reason, RejectReason::NegativeCount);

        // Civilians are counted among the killed: never more of them, never negative.
        let mut v = good();
        v["casualties"] = serde_json::json!({"killed": 5, "killed_civilians": 9});
        let e = reject(v);
        assert_eq!(
            (e.reason, e.field.as_str()),
            (RejectReason::BadValue, "casualties.killed_civilians")
        );
        let mut v = good();
        v["casualties"] = serde_json::json!({"killed": 5, "killed_civilians": -1});
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

    #[test]
    fn coordinates_within_their_ranges() {
        let at = |lat: f64, lon: f64| {
            let mut v = good();
            v["location"] = serde_json::json!({"lat": lat, "lon": lon});
            v
        };
        for (lat, lon) in [(90.0, -180.0), (-90.0, 180.0), (0.0, 0.0)] {
            let bytes = serde_json::to_vec(&at(lat, lon)).unwrap();
            assert!(
                decode(&bytes, &Limits::default(), None).is_ok(),
                "{lat} {lon}"
            );
        }
        for (lat, lon, field) in [
            (90.5, 0.0, "location.lat"),
            (-91.0, 0.0, "location.lat"),
            (0.0, 180.5, "location.lon"),
            (0.0, -181.0, "location.lon"),
        ] {
            let e = reject(at(lat, lon));
            assert_eq!(
                (e.reason, e.field.as_str()),
                (RejectReason::BadValue, field)
            );
        }
    }
}
