//! Tests of the fast path: it agrees with serde wherever it decodes (on generated streams and
//! on property-test report texts with every kind of deviation), it leaves what it is unsure of
//! to serde, and the word-wise string scan stops where a byte walk stops.

use proptest::prelude::*;

use super::*;
use crate::input::generator::{GenOptions, generate};

/// What serde makes of `text`, as a JSON value (`Report` has no `PartialEq`).
fn by_serde(text: &str) -> Option<serde_json::Value> {
    let report =
        serde_json::from_str::<crate::report::field_readers::object::Object<Report<'_>>>(text)
            .ok()?;
    Some(serde_json::to_value(report.0).expect("a report serialises"))
}

fn by_fast_path(text: &str) -> Option<serde_json::Value> {
    decode(text).map(|r| serde_json::to_value(r).expect("a report serialises"))
}

#[test]
fn generated_reports_take_the_fast_path_and_agree_with_serde() {
    let mut options = GenOptions::benchmark(3, 3000);
    options.invalid_fraction = 0.05;
    let (mut fast, mut invalid) = (0, 0);
    for line in generate(&options).chain(generate(&GenOptions::demo())) {
        match (by_fast_path(&line), by_serde(&line)) {
            (Some(f), Some(s)) => {
                assert_eq!(f, s);
                fast += 1;
            }
            (None, None) => invalid += 1,
            (Some(_), None) => panic!("fast path accepted what serde refuses"),
            (None, Some(_)) => panic!("a generated report missed the fast path"),
        }
    }
    assert!(
        fast > 5000 && invalid > 50,
        "{fast} fast, {invalid} invalid"
    );
}

#[test]
fn accepts_the_optional_shapes_serde_accepts() {
    let text = r#" { "id" : "r-1", "event_time":"2026-03-01T10:00:00Z", "region":"NG-BO",
        "reported_at": null, "language": "fr", "title": null, "location": {"name": null,
        "admin1": "NG-BO", "lat": null}, "source": {"id": "s", "kind": "social_media",
        "reliability": null, "credibility": 2}, "text": "Des hommes armés…",
        "categories": ["abduction", "siege"], "casualties": {"killed": 0, "abducted": 12},
        "actors": [{"name": null, "kind": "foreign_fighters", "foreign": true}, {}] }
    "#;
    let fast = by_fast_path(text).expect("fast path");
    assert_eq!(Some(fast), by_serde(text));
}

#[test]
fn leaves_what_it_is_unsure_of_to_serde() {
    let base = r#""id":"r","event_time":"t","region":"x","source":{"id":"s"},"text":"t""#;
    for extra in [
        r#","text":"again""#,              // repeated key (serde refuses)
        r#","extra":1"#,                   // unknown key (serde ignores)
        r#","title":"a \"quoted\" word""#, // escape
        r#","casualties":{"killed":1.0}"#, // float for an integer
        r#","casualties":{"killed":1e2}"#, // exponent
        r#","casualties":{"killed":01}"#,  // leading zero
        r#","casualties":{"killed":-0}"#,  // serde reads -0 as a float
        r#","casualties":{"killed":12345678901234567890}"#, // too many digits
        r#","location":{"lat":12.5}"#,     // coordinates are floats
        r#","source":{"id":"s","kind":"press"}"#, // unknown variant
        r#","categories":null"#,           // serde refuses null for a list
    ] {
        let text = format!("{{{base}{extra}}}");
        assert!(decode(&text).is_none(), "{text}");
    }
    assert!(decode(&format!("{{{base}}}")).is_some());
    assert!(
        decode(&format!("{{{base}}} x")).is_none(),
        "trailing characters"
    );
    assert!(decode(&format!("{{{base},}}")).is_none(), "trailing comma");
    assert!(decode("{\"id\":\"a\tb\"}").is_none(), "control character");
}

#[test]
fn plain_string_len_stops_where_a_byte_walk_stops() {
    let walk = |b: &[u8]| {
        let at = b
            .iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
        (b[at] == b'"').then_some(at)
    };
    for text in [
        "",
        "\"",
        "abc\"",
        "0123456789abcdef\"",
        "é€…\u{7f}\"x",
        "abcdefgh\\\"",
        "1234567\u{1}\"",
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz\"",
        "abcdefghijklmnopqrstuvwxyzabcdefghi\u{1f}jklmnop\"",
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    ] {
        for skip in 0..text.len().min(9) {
            let b = &text.as_bytes()[skip..];
            assert_eq!(plain_string_len(b), walk(b), "{text:?} from {skip}");
        }
    }
}

/// Any JSON-ish value: wrong types, escapes, odd numbers and nesting, for a field to meet
/// now and then instead of its own type.
fn anything() -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("\"a \\\"b\\\" c\"".to_string()),
        Just("\"caf\u{e9} \u{1}\"".to_string()),
        "-?[0-9]{1,20}(\\.[0-9])?(e[0-9])?",
        "\"[a-zA-Zé ]{0,12}\"",
    ];
    leaf.prop_recursive(2, 12, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3)
                .prop_map(|v| format!("[{}]", v.join(","))),
            proptest::collection::vec(("[a-z]{1,3}", inner), 0..3).prop_map(|kv| {
                let fields: Vec<String> = kv
                    .into_iter()
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
    .boxed()
}

/// A field's own type most of the time (with the edge cases of that type), else anything.
fn typed(own: BoxedStrategy<String>) -> BoxedStrategy<String> {
    prop_oneof![40 => own, 1 => anything()].boxed()
}

fn string() -> BoxedStrategy<String> {
    typed(
        prop_oneof![
            40 => "\"[a-zA-Z0-9 éœ…-]{0,12}\"",
            1 => Just("\"escaped \\n line\"".to_string()),
            1 => Just("\"\"".to_string()),
            1 => Just("null".to_string()),
        ]
        .boxed(),
    )
}

fn integer() -> BoxedStrategy<String> {
    let odd = [
        "-0",
        "0",
        "7",
        "-3",
        "01",
        "1.5",
        "1e3",
        "123456789012345678",
    ];
    let odd = odd
        .into_iter()
        .chain(["1234567890123456789", "null", "\"7\""]);
    let odd = proptest::sample::select(odd.map(String::from).collect::<Vec<_>>());
    typed(prop_oneof![12 => "[1-9][0-9]{0,3}", 1 => odd].boxed())
}

/// One of `common` mostly, one of `rare` now and then.
fn choice(common: &[&str], rare: &[&str]) -> BoxedStrategy<String> {
    let pick = |values: &[&str]| {
        let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        proptest::sample::select(values)
    };
    typed(prop_oneof![12 => pick(common), 1 => pick(rare)].boxed())
}

/// An object with some of `fields` (each as its own strategy), sometimes an unknown or a
/// repeated key, in any order, with `space` around its tokens.
fn object(fields: Vec<(&'static str, BoxedStrategy<String>)>) -> BoxedStrategy<String> {
    let first = fields[0].0;
    let members: Vec<BoxedStrategy<Option<String>>> = fields
        .into_iter()
        .map(|(k, v)| {
            let member = v.prop_map(move |v| format!("\"{k}\" : {v}"));
            proptest::option::weighted(0.97, member).boxed()
        })
        .collect();
    let extra = proptest::option::weighted(
        0.05,
        prop_oneof![
            Just("\"other\": 1".to_string()),
            Just(format!("\"{first}\": \"again\"")),
        ],
    );
    (members, extra)
        .prop_flat_map(|(members, extra)| {
            let members: Vec<String> = members.into_iter().flatten().chain(extra).collect();
            Just(members).prop_shuffle()
        })
        .prop_map(|members| format!("{{{}}}", members.join(" ,\n")))
        .boxed()
}

fn list(item: BoxedStrategy<String>) -> BoxedStrategy<String> {
    let items = proptest::collection::vec(item, 0..3);
    typed(items.prop_map(|v| format!("[{}]", v.join(","))).boxed())
}

/// Report texts shaped like reports, with every kind of deviation in every field.
fn report_text() -> BoxedStrategy<String> {
    let source = object(vec![
        ("id", string()),
        (
            "kind",
            choice(&["\"ngo\"", "\"social_media\"", "null"], &["\"press\""]),
        ),
        ("reliability", string()),
        ("credibility", integer()),
    ]);
    let location = object(vec![
        ("name", string()),
        ("admin1", string()),
        ("admin2", string()),
        ("lat", choice(&["null"], &["12.5", "3"])),
        ("lon", choice(&["null"], &["-1.25"])),
    ]);
    let casualties = object(
        CasualtyKind::ALL
            .into_iter()
            .map(|kind| (kind.name(), integer()))
            .collect(),
    );
    let actor = object(vec![
        ("name", string()),
        ("kind", string()),
        ("foreign", choice(&["true", "false", "null"], &["1"])),
    ]);
    object(vec![
        ("id", string()),
        ("event_time", string()),
        ("region", string()),
        ("text", string()),
        ("source", typed(source)),
        ("reported_at", string()),
        ("language", string()),
        ("title", string()),
        (
            "location",
            prop_oneof![typed(location), Just("null".to_string())].boxed(),
        ),
        ("categories", list(string())),
        (
            "casualties",
            prop_oneof![typed(casualties), Just("null".to_string())].boxed(),
        ),
        ("actors", list(actor)),
    ])
}

proptest! {
    /// The word-wise search stops exactly where a byte-by-byte walk stops.
    #[test]
    fn plain_string_len_agrees_with_a_byte_walk(
        bytes in proptest::collection::vec(
            proptest::sample::select(vec![b'a', b'"', b'\\', 0x01, 0x1f, 0x20, 0x7f, 0xc3, 0xa9]),
            0..100,
        ),
        quiet in 0usize..100,
    ) {
        // Mostly plain bytes, so that long runs reach the block loops.
        let bytes: Vec<u8> =
            bytes.iter().enumerate().map(|(i, &b)| if i < quiet { b'a' } else { b }).collect();
        let at = bytes.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
        let walk = at.filter(|&at| bytes[at] == b'"');
        prop_assert_eq!(plain_string_len(&bytes), walk);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Whatever the fast path decodes, serde decodes to the same report; and the fast path
    /// does decode a good share of them (the strategy is not all refusals).
    #[test]
    fn fast_path_agrees_with_serde(
        text in report_text(),
        cut in proptest::option::weighted(0.1, 0usize..600),
    ) {
        let mut text = text;
        if let Some(cut) = cut {
            let mut end = cut.min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        if let Some(fast) = by_fast_path(&text) {
            prop_assert_eq!(Some(fast), by_serde(&text), "{}", text);
        }
    }
}

#[test]
fn the_shaped_reports_reach_the_fast_path() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = report_text();
    let (mut fast, mut total) = (0, 0);
    for _ in 0..2000 {
        let text = strategy.new_tree(&mut runner).expect("a value").current();
        total += 1;
        fast += usize::from(decode(&text).is_some());
    }

    assert!(
        fast * 10 > total,
        "only {fast} of {total} decoded on the fast path"
    );
}
