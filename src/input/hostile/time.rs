//! Hostile timestamps: calendar and range edges, epoch-millisecond edges, spellings RFC 3339
//! allows and those it does not, the lateness bound, and clock jumps held as suspect.

use super::Expect::{self, Accepted, Duplicate, Held, Rejected};
use super::build::{Built, Ctx, at, built, quoted};
use crate::alert::rfc3339;
use crate::report::RejectReason::{BadTime, BadType, TooEarly, TooLate};

/// Form `v` of [`Class::TimestampEdges`](super::Class::TimestampEdges).
///
/// One match arm per case, longer than a function should be: the arms are the list of cases
/// with their promised outcomes, which reads best whole, as the contract lists them.
pub(super) fn timestamp_edges(c: &mut Ctx, v: usize) -> Built {
    let wm = c.watermark;
    let day = |secs: i64| rfc3339(secs)[..10].to_string();
    let lateness = c.window.allowed_lateness_secs;
    let t = |s: &str| quoted(s);
    let (name, value, expect): (&str, Vec<u8>, Expect) = match v {
        0 => ("year_0000", t("0000-01-01T00:00:00Z"), Rejected(TooEarly)),
        1 => ("year_0001", t("0001-01-01T00:00:00Z"), Rejected(TooEarly)),
        2 => ("year_9999", t("9999-12-31T23:59:59Z"), Rejected(BadTime)),
        3 => (
            "year_plus_10000",
            t("+10000-01-01T00:00:00Z"),
            Rejected(BadTime),
        ),
        4 => ("year_1969", t("1969-12-31T23:59:59Z"), Rejected(TooEarly)),
        // 23:59:60 of the day before the watermark's day reads as 23:59:59: late, inside lateness.
        5 => (
            "leap_second",
            t(&format!("{}T23:59:60Z", day(wm - 86_400))),
            Accepted,
        ),
        6 => (
            "hour_24",
            t(&format!("{}T24:00:00Z", day(wm))),
            Rejected(BadTime),
        ),
        7 => ("february_30", t("2026-02-30T12:00:00Z"), Rejected(BadTime)),
        8 => (
            "offset_plus_24",
            t(&format!("{}T12:00:00+24:00", day(wm))),
            Rejected(BadTime),
        ),
        9 => (
            "offset_minus_24",
            t(&format!("{}T12:00:00-24:00", day(wm))),
            Rejected(BadTime),
        ),
        // The watermark's instant written at +23:59.
        10 => {
            let local = rfc3339(wm + 23 * 3600 + 59 * 60);
            (
                "offset_plus_2359",
                t(&format!("{}+23:59", &local[..19])),
                Accepted,
            )
        }
        11 => ("millis_1e11", b"100000000000".to_vec(), Rejected(TooEarly)),
        12 => (
            "millis_1e11_minus_1",
            b"99999999999".to_vec(),
            Rejected(BadTime),
        ),
        13 => ("millis_negative", b"-1".to_vec(), Rejected(BadTime)),
        14 => (
            "millis_very_negative",
            i64::MIN.to_string().into_bytes(),
            Rejected(BadTime),
        ),
        15 => (
            "millis_i64_max",
            i64::MAX.to_string().into_bytes(),
            Rejected(BadTime),
        ),
        16 => (
            "millis_past_i64",
            b"9223372036854775808".to_vec(),
            Rejected(BadType),
        ),
        17 => (
            "millis_past_u64",
            b"18446744073709551616".to_vec(),
            Rejected(BadType),
        ),
        18 => (
            "millis_at_watermark",
            (wm * 1000).to_string().into_bytes(),
            Accepted,
        ),
        19 => (
            "millis_at_watermark_plus_999",
            (wm * 1000 + 999).to_string().into_bytes(),
            Accepted,
        ),
        20 => ("digits_at_watermark", t(&(wm * 1000).to_string()), Accepted),
        21 => (
            "digits_i64_max",
            t(&i64::MAX.to_string()),
            Rejected(BadTime),
        ),
        22 => ("digits_30", t(&"9".repeat(30)), Rejected(BadTime)),
        23 => (
            "digits_leading_zeros",
            t(&format!("{:0>20}", 1)),
            Rejected(BadTime),
        ),
        24 => (
            "lower_case_t_z",
            t(&rfc3339(wm).replace('T', "t").replace('Z', "z")),
            Accepted,
        ),
        25 => ("space_for_t", t(&rfc3339(wm).replace('T', " ")), Accepted),
        26 => (
            "no_offset",
            t(rfc3339(wm).trim_end_matches('Z')),
            Rejected(BadTime),
        ),
        27 => ("date_only", t(&day(wm)), Rejected(BadTime)),
        28 => ("empty", t(""), Rejected(BadTime)),
        29 => (
            "nanoseconds_30_digits",
            t(&format!(
                "{}.{}Z",
                rfc3339(wm).trim_end_matches('Z'),
                "9".repeat(30)
            )),
            Accepted,
        ),
        30 => ("lateness_bound", at(c, lateness), Accepted),
        31 => (
            "lateness_bound_plus_1",
            at(c, lateness + 1),
            Rejected(TooLate),
        ),
        32 => ("float_millis", b"1.5e12".to_vec(), Rejected(BadType)),
        33 => ("minus_zero", b"-0".to_vec(), Rejected(BadType)),
        34 => ("null", b"null".to_vec(), Rejected(BadType)),
        35 => (
            "nul_inside",
            t("2026-03-01T00:00:00Z\u{0}"),
            Rejected(BadTime),
        ),
        36 => ("reported_at_year_0000", Vec::new(), Rejected(TooEarly)),
        37 => (
            "weekday_and_month_names",
            t("Sun, 01 Mar 2026 10:00:00 +0000"),
            Rejected(BadTime),
        ),
        // Ahead of the region's clock by more than the jump limit, no reported_at: held until a
        // report near it corroborates it (none will). Each further jump in a region lies more
        // than the jump limit before the last, so that none corroborates another.
        38 => {
            let (done, last) = c.jumps.get(&c.region).cloned().unwrap_or_default();
            if done < 3 {
                let step = c.window.max_watermark_jump_secs + 86_400;
                let when = c.jump_base - done as i64 * step;
                let bytes = c.with("event_time", quoted(&rfc3339(when)));
                let expect = c.jump(&bytes);
                let held = (expect == Held).then(|| bytes.clone()).or(last);
                c.jumps.insert(c.region.clone(), (done + 1, held));
                return built("clock_jump", bytes, expect);
            }
            // The region has its jumps: a copy of the last one held is a duplicate.
            if let Some(copy) = last {
                return built("clock_jump_copy", copy, Duplicate);
            }
            (
                "lateness_bound_plus_1",
                at(c, lateness + 1),
                Rejected(TooLate),
            )
        }
        _ => (
            "event_time_after_reported_at",
            Vec::new(),
            Rejected(BadTime),
        ),
    };
    let bytes = match v {
        36 => c.with("reported_at", t("0000-01-01T00:00:00Z")),
        39 => c.with("reported_at", at(c, 7 * 3600)),
        _ => c.with("event_time", value),
    };
    built(name, bytes, expect)
}
