//! Hostile records with values out of range or of the wrong type: numbers beyond every range,
//! counts and list lengths at and past their limits, and a wrong JSON type in every field.

use super::Expect::{self, Accepted, Rejected};
use super::build::{Built, Ctx, built};
use crate::report::CasualtyKind::{Abducted, Displaced, Injured, Killed, Missing, SexualViolence};
use crate::report::RejectReason::{
    BadType, BadValue, MalformedJson, MissingField, NegativeCount, TooLarge,
};

/// Form `v` of [`Class::HugeNumbers`](super::Class::HugeNumbers).
pub(super) fn huge_numbers(c: &mut Ctx, v: usize) -> Built {
    let (name, bytes, expect) = match v {
        0 => (
            "1e400_killed",
            c.count(Killed, "1e400"),
            Rejected(MalformedJson),
        ),
        1 => (
            "1e400_lat",
            c.with("location", r#"{"lat":1e400}"#),
            Rejected(MalformedJson),
        ),
        2 => (
            "1e400_event_time",
            c.with("event_time", "1e400"),
            Rejected(MalformedJson),
        ),
        // Unknown fields are skipped without reading the number's value.
        3 => ("1e400_unknown_field", c.with("extra", "1e400"), Accepted),
        4 => (
            "20_digits_killed",
            c.count(Killed, "99999999999999999999"),
            Rejected(BadType),
        ),
        5 => (
            "20_digits_event_time",
            c.with("event_time", "99999999999999999999"),
            Rejected(BadType),
        ),
        6 => (
            "minus_zero_injured",
            c.count(Injured, "-0"),
            Rejected(BadType),
        ),
        7 => ("1.5_injured", c.count(Injured, "1.5"), Rejected(BadType)),
        8 => ("1.0_injured", c.count(Injured, "1.0"), Rejected(BadType)),
        9 => ("1e2_injured", c.count(Injured, "1e2"), Rejected(BadType)),
        10 => (
            "1.5_credibility",
            c.with(
                "source",
                format!(r#"{{"id":"{}","credibility":1.5}}"#, c.source_id()),
            ),
            Rejected(BadType),
        ),
        11 => (
            "1e308_lat",
            c.with("location", r#"{"lat":1e308}"#),
            Rejected(BadValue),
        ),
        12 => (
            "minus_zero_lat",
            c.with("location", r#"{"lat":-0}"#),
            Accepted,
        ),
        13 => (
            "1e-400_lon",
            c.with("location", r#"{"lon":1e-400}"#),
            Accepted,
        ),
        14 => (
            "1000_digit_unknown_field",
            c.with("extra", "9".repeat(1000)),
            Accepted,
        ),
        _ => (
            "1000_digit_fraction_lat",
            c.with("location", format!(r#"{{"lat":0.{}}}"#, "1".repeat(1000))),
            Accepted,
        ),
    };
    built(name, bytes, expect)
}

/// Form `v` of [`Class::ExtremeCounts`](super::Class::ExtremeCounts).
pub(super) fn extreme_counts(c: &mut Ctx, v: usize) -> Built {
    let max = c.limits.max_count;
    let list = c.limits.max_list_len;
    let source = |cred: &str| format!(r#"{{"id":"{}","credibility":{cred}}}"#, c.source_id());
    let categories = |n: usize| {
        let items: Vec<String> = (0..n).map(|i| format!(r#""hx-cat-{i}""#)).collect();
        format!("[{}]", items.join(","))
    };
    let actors = |n: usize| {
        let items: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"name":"Group {i}"}}"#))
            .collect();
        format!("[{}]", items.join(","))
    };
    // `injured` and `missing` tag nothing, so counts they accept change no window.
    let (name, bytes, expect) = match v {
        0 => ("negative", c.count(Killed, "-1"), Rejected(NegativeCount)),
        1 => (
            "i64_min",
            c.count(Abducted, &i64::MIN.to_string()),
            Rejected(NegativeCount),
        ),
        2 => (
            "i64_max",
            c.count(Displaced, &i64::MAX.to_string()),
            Rejected(TooLarge),
        ),
        3 => (
            "past_i64",
            c.count(Injured, "9223372036854775808"),
            Rejected(BadType),
        ),
        4 => (
            "past_u64",
            c.count(Missing, "18446744073709551616"),
            Rejected(BadType),
        ),
        5 => ("max_count", c.count(Injured, &max.to_string()), Accepted),
        6 => (
            "max_count_plus_1",
            c.count(Injured, &(max + 1).to_string()),
            Rejected(TooLarge),
        ),
        7 => (
            "max_count_minus_1",
            c.count(Missing, &(max - 1).to_string()),
            Accepted,
        ),
        8 => ("zero", c.count(Injured, "0"), Accepted),
        9 => (
            "credibility_i64_max",
            c.with("source", source(&i64::MAX.to_string())),
            Rejected(BadValue),
        ),
        10 => (
            "credibility_0",
            c.with("source", source("0")),
            Rejected(BadValue),
        ),
        11 => (
            "credibility_7",
            c.with("source", source("7")),
            Rejected(BadValue),
        ),
        12 => (
            "credibility_negative",
            c.with("source", source("-1")),
            Rejected(BadValue),
        ),
        13 => (
            "categories_at_limit",
            c.with("categories", categories(list)),
            Accepted,
        ),
        14 => (
            "categories_over_limit",
            c.with("categories", categories(list + 1)),
            Rejected(TooLarge),
        ),
        15 => ("actors_at_limit", c.with("actors", actors(list)), Accepted),
        16 => (
            "actors_over_limit",
            c.with("actors", actors(list + 1)),
            Rejected(TooLarge),
        ),
        _ => (
            "sexual_violence_negative",
            c.count(SexualViolence, "-9223372036854775807"),
            Rejected(NegativeCount),
        ),
    };
    built(name, bytes, expect)
}

/// Form `v` of [`Class::WrongTypes`](super::Class::WrongTypes).
///
/// One match arm per case, longer than a function should be: the arms are the list of cases
/// with their promised outcomes, which reads best whole, as the contract lists them.
pub(super) fn wrong_types(c: &mut Ctx, v: usize) -> Built {
    let src = c.source_id();
    let (name, key, value, expect): (&str, &str, String, Expect) = match v {
        0 => ("id_number", "id", "17".into(), Rejected(BadType)),
        1 => ("id_null", "id", "null".into(), Rejected(BadType)),
        2 => ("id_array", "id", "[]".into(), Rejected(BadType)),
        3 => ("id_object", "id", "{}".into(), Rejected(BadType)),
        4 => (
            "event_time_bool",
            "event_time",
            "true".into(),
            Rejected(BadType),
        ),
        5 => (
            "event_time_object",
            "event_time",
            "{}".into(),
            Rejected(BadType),
        ),
        6 => (
            "event_time_array",
            "event_time",
            r#"["2026-03-01T00:00:00Z"]"#.into(),
            Rejected(BadType),
        ),
        7 => (
            "reported_at_bool",
            "reported_at",
            "false".into(),
            Rejected(BadType),
        ),
        8 => ("reported_at_null", "reported_at", "null".into(), Accepted),
        9 => ("region_number", "region", "5".into(), Rejected(BadType)),
        10 => ("region_empty", "region", r#""""#.into(), Rejected(BadValue)),
        11 => (
            "region_blank",
            "region",
            r#""   ""#.into(),
            Rejected(BadValue),
        ),
        12 => (
            "source_string",
            "source",
            r#""s""#.into(),
            Rejected(BadType),
        ),
        13 => (
            "source_id_number",
            "source",
            r#"{"id":5}"#.into(),
            Rejected(BadType),
        ),
        14 => (
            "source_empty",
            "source",
            "{}".into(),
            Rejected(MissingField),
        ),
        15 => (
            "source_kind_unknown",
            "source",
            format!(r#"{{"id":"{src}","kind":"alien"}}"#),
            Rejected(BadValue),
        ),
        16 => (
            "source_kind_number",
            "source",
            format!(r#"{{"id":"{src}","kind":3}}"#),
            Rejected(BadType),
        ),
        17 => (
            "reliability_number",
            "source",
            format!(r#"{{"id":"{src}","reliability":1}}"#),
            Rejected(BadType),
        ),
        18 => (
            "reliability_lower_case",
            "source",
            format!(r#"{{"id":"{src}","reliability":"a"}}"#),
            Rejected(BadValue),
        ),
        19 => (
            "credibility_string",
            "source",
            format!(r#"{{"id":"{src}","credibility":"1"}}"#),
            Rejected(BadType),
        ),
        20 => ("text_null", "text", "null".into(), Rejected(BadType)),
        21 => ("text_number", "text", "3".into(), Rejected(BadType)),
        22 => ("title_number", "title", "3".into(), Rejected(BadType)),
        23 => ("title_null", "title", "null".into(), Accepted),
        24 => (
            "language_object",
            "language",
            "{}".into(),
            Rejected(BadType),
        ),
        25 => (
            "categories_string",
            "categories",
            r#""abduction""#.into(),
            Rejected(BadType),
        ),
        26 => (
            "categories_of_numbers",
            "categories",
            "[1]".into(),
            Rejected(BadType),
        ),
        27 => (
            "categories_null",
            "categories",
            "null".into(),
            Rejected(BadType),
        ),
        28 => (
            "casualties_array",
            "casualties",
            "[]".into(),
            Rejected(BadType),
        ),
        29 => (
            "casualties_string",
            "casualties",
            r#""3""#.into(),
            Rejected(BadType),
        ),
        30 => (
            "count_string",
            "casualties",
            r#"{"injured":"3"}"#.into(),
            Rejected(BadType),
        ),
        31 => (
            "count_null",
            "casualties",
            r#"{"injured":null}"#.into(),
            Rejected(BadType),
        ),
        32 => ("actors_object", "actors", "{}".into(), Rejected(BadType)),
        33 => (
            "actor_string",
            "actors",
            r#"["Group A"]"#.into(),
            Rejected(BadType),
        ),
        34 => (
            "actor_foreign_string",
            "actors",
            r#"[{"name":"Group A","foreign":"yes"}]"#.into(),
            Rejected(BadType),
        ),
        35 => (
            "location_string",
            "location",
            r#""Locality 1""#.into(),
            Rejected(BadType),
        ),
        36 => (
            "lat_out_of_range",
            "location",
            r#"{"lat":91}"#.into(),
            Rejected(BadValue),
        ),
        // serde reads an array into a struct field by field: 40 killed, a source "s".
        37 => (
            "casualties_positional",
            "casualties",
            "[40,0,0,0,0,0]".into(),
            Rejected(BadType),
        ),
        38 => (
            "source_positional",
            "source",
            format!(r#"["{src}","ngo","A",1]"#),
            Rejected(BadType),
        ),
        _ => (
            "lon_string",
            "location",
            r#"{"lon":"1"}"#.into(),
            Rejected(BadType),
        ),
    };
    built(name, c.with(key, value), expect)
}
