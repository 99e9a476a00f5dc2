//! Hostile records that break the shape of the document: deep nesting, many keys, repeated
//! keys, top-level values that are not a report, byte-order marks and bytes after the report.

use super::Expect::{self, Accepted, Rejected};
use super::build::{Built, Ctx, NEUTRAL_TEXT, at, built, literal, quoted};
use crate::report::RejectReason::{BadType, InvalidUtf8, MalformedJson, MissingField, TooLarge};

/// Form `v` of [`Class::DeepNesting`](super::Class::DeepNesting).
pub(super) fn deep_nesting(c: &mut Ctx, v: usize) -> Built {
    let nest = |open: &str, close: &str, depth: usize, closed: bool| {
        let mut s = open.repeat(depth);
        if closed {
            s.push_str(&close.repeat(depth));
        }
        s.into_bytes()
    };
    match v {
        0 => built(
            "array_10000_top",
            nest("[", "]", 10_000, true),
            Rejected(BadType),
        ),
        // Unknown keys all the way down: skipped, then the report has no id.
        1 => built(
            "object_10000_top",
            nest(r#"{"a":"#, "}", 10_000, false)
                .into_iter()
                .chain(b"0".iter().copied())
                .chain("}".repeat(10_000).into_bytes())
                .collect(),
            Rejected(MissingField),
        ),
        // Unknown fields are ignored, however deep (serde_json skips them without recursing).
        2 => built(
            "array_10000_unknown_field",
            c.with("extra", nest("[", "]", 10_000, true)),
            Accepted,
        ),
        3 => built(
            "object_10000_in_location",
            c.with(
                "location",
                [
                    br#"{"name":"Locality 1","deep":"#.to_vec(),
                    nest(r#"{"a":"#, "}", 10_000, false),
                    b"1".to_vec(),
                    "}".repeat(10_001).into_bytes(),
                ]
                .concat(),
            ),
            Accepted,
        ),
        // A known field meets the wrong type at the first level.
        4 => built(
            "array_10000_in_actors",
            c.with("actors", nest("[", "]", 10_000, true)),
            Rejected(BadType),
        ),
        _ => built(
            "array_100000_unclosed",
            c.with("extra", nest("[", "]", 100_000, false)),
            Rejected(MalformedJson),
        ),
    }
}

/// Form `v` of [`Class::ManyKeys`](super::Class::ManyKeys).
pub(super) fn many_keys(c: &mut Ctx, v: usize) -> Built {
    let keys = |n: usize| -> Vec<u8> {
        let mut s = Vec::with_capacity(n * 12);
        for i in 0..n {
            if i > 0 {
                s.push(b',');
            }
            s.extend_from_slice(format!(r#""k{i:06}":0"#).as_bytes());
        }
        s
    };
    let with_keys = |n: usize| {
        let mut b = c.neutral().bytes();
        b.pop();
        b.push(b',');
        b.extend(keys(n));
        b.push(b'}');
        b
    };
    match v {
        0 => built("20000_keys", with_keys(20_000), Accepted),
        1 => built("100000_keys", with_keys(100_000), Rejected(TooLarge)),
        _ => built(
            "20000_keys_in_location",
            c.with(
                "location",
                [b"{".to_vec(), keys(20_000), b"}".to_vec()].concat(),
            ),
            Accepted,
        ),
    }
}

/// Form `v` of [`Class::DuplicateKeys`](super::Class::DuplicateKeys).
pub(super) fn duplicate_keys(c: &mut Ctx, v: usize) -> Built {
    let mut o = c.neutral();
    let (name, expect) = match v {
        0 => {
            o.push_raw(quoted("id"), quoted(&format!("{}-again", c.id())));
            ("id_twice", Rejected(MalformedJson))
        }
        1 => {
            o.push_raw(quoted("region"), quoted("HX-OTHER"));
            ("region_twice", Rejected(MalformedJson))
        }
        2 => {
            o.push_raw(quoted("event_time"), at(c, 0));
            ("event_time_twice", Rejected(MalformedJson))
        }
        3 => {
            o.set(
                "source",
                format!(r#"{{"id":"{0}","id":"{0}-b"}}"#, c.source_id()),
            );
            ("source_id_twice", Rejected(MalformedJson))
        }
        4 => {
            o.set("casualties", r#"{"injured":1,"injured":2}"#);
            ("count_twice", Rejected(MalformedJson))
        }
        5 => {
            o.push_raw(quoted("extra"), "1")
                .push_raw(quoted("extra"), "2");
            ("unknown_key_twice", Accepted)
        }
        _ => {
            o.push_raw(quoted("text"), quoted(NEUTRAL_TEXT));
            ("text_twice", Rejected(MalformedJson))
        }
    };
    built(name, o.bytes(), expect)
}

/// Form `v` of [`Class::TopLevel`](super::Class::TopLevel).
pub(super) fn top_level(c: &mut Ctx, v: usize) -> Built {
    let (name, bytes, expect): (&str, Vec<u8>, Expect) = match v {
        0 => ("empty_object", b"{}".to_vec(), Rejected(MissingField)),
        1 => ("empty_array", b"[]".to_vec(), Rejected(BadType)),
        2 => ("empty_string", b"\"\"".to_vec(), Rejected(BadType)),
        3 => ("null", b"null".to_vec(), Rejected(BadType)),
        4 => ("number", b"0".to_vec(), Rejected(BadType)),
        5 => ("true", b"true".to_vec(), Rejected(BadType)),
        6 => (
            "array_of_a_report",
            [b"[".to_vec(), c.neutral().bytes(), b"]".to_vec()].concat(),
            Rejected(BadType),
        ),
        7 => ("lone_open_brace", b"{".to_vec(), Rejected(MalformedJson)),
        8 => ("lone_close_brace", b"}".to_vec(), Rejected(MalformedJson)),
        9 => (
            "string_of_a_report",
            quoted(&String::from_utf8_lossy(&c.neutral().bytes())),
            Rejected(BadType),
        ),
        // The report's fields in declaration order, as an array.
        10 => {
            let o = c.neutral();
            let field = |k: &str| {
                let k = quoted(k);
                o.0.iter()
                    .find(|(key, _)| *key == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let values = [
                field("id"),
                field("event_time"),
                b"null".to_vec(),
                field("region"),
                b"null".to_vec(),
                field("source"),
                b"null".to_vec(),
                b"null".to_vec(),
                field("text"),
                b"[]".to_vec(),
                b"null".to_vec(),
                b"[]".to_vec(),
            ];
            (
                "positional_report",
                [b"[".to_vec(), values.join(&b","[..]), b"]".to_vec()].concat(),
                Rejected(BadType),
            )
        }
        _ => ("nul_byte", b"\0".to_vec(), Rejected(MalformedJson)),
    };
    built(name, bytes, expect)
}

/// Form `v` of [`Class::ByteOrderMark`](super::Class::ByteOrderMark).
pub(super) fn byte_order_mark(c: &mut Ctx, v: usize) -> Built {
    const BOM: &[u8] = b"\xef\xbb\xbf";
    let report = c.neutral().bytes();
    let (name, bytes, expect) = match v {
        0 => ("before", [BOM, &report].concat(), Rejected(MalformedJson)),
        1 => (
            "twice_before",
            [BOM, BOM, &report].concat(),
            Rejected(MalformedJson),
        ),
        2 => {
            let mut b = report.clone();
            b.splice(1..1, BOM.iter().copied());
            ("between_fields", b, Rejected(MalformedJson))
        }
        _ => (
            "inside_text",
            c.with("text", literal("Market", BOM, " day")),
            Accepted,
        ),
    };
    built(name, bytes, expect)
}

/// Form `v` of [`Class::TrailingGarbage`](super::Class::TrailingGarbage).
pub(super) fn trailing_garbage(c: &mut Ctx, v: usize) -> Built {
    let report = c.neutral().bytes();
    let tail: Vec<u8> = match v {
        0 => b"x".to_vec(),
        1 => c.neutral().bytes(),
        2 => b"]".to_vec(),
        3 => b"\0".to_vec(),
        4 => vec![b'g'; 64 * 1024],
        5 => b"// comment".to_vec(),
        6 => b",".to_vec(),
        _ => b"\xff".to_vec(),
    };
    let expect = if v == 7 {
        Rejected(InvalidUtf8)
    } else {
        Rejected(MalformedJson)
    };
    let names = [
        "letter",
        "second_report",
        "bracket",
        "nul",
        "64_kib",
        "comment",
        "comma",
        "invalid_utf8",
    ];
    built(names[v.min(7)], [report, tail].concat(), expect)
}
