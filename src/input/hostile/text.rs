//! Hostile records that break strings: bytes that are not UTF-8, control and invisible
//! characters in every string field, and values at each length limit and one byte past it.

use super::Expect::{Accepted, Rejected};
use super::build::{Built, Ctx, NEUTRAL_TEXT, built, escaped, literal, quoted};
use crate::report::RejectReason::{BadValue, InvalidUtf8, MalformedJson, TooLarge};

/// Characters that must not reach a code and must not break text: every C0 and C1 control,
/// DEL, soft hyphen, zero-width and directional marks, line and paragraph separators, bidi
/// embeddings, overrides and isolates, BOM, noncharacters, a tag character.
pub(super) const HOSTILE_CHARS: [char; 88] = [
    '\u{0}',
    '\u{1}',
    '\u{2}',
    '\u{3}',
    '\u{4}',
    '\u{5}',
    '\u{6}',
    '\u{7}',
    '\u{8}',
    '\u{9}',
    '\u{a}',
    '\u{b}',
    '\u{c}',
    '\u{d}',
    '\u{e}',
    '\u{f}',
    '\u{10}',
    '\u{11}',
    '\u{12}',
    '\u{13}',
    '\u{14}',
    '\u{15}',
    '\u{16}',
    '\u{17}',
    '\u{18}',
    '\u{19}',
    '\u{1a}',
    '\u{1b}',
    '\u{1c}',
    '\u{1d}',
    '\u{1e}',
    '\u{1f}',
    '\u{7f}',
    '\u{80}',
    '\u{81}',
    '\u{82}',
    '\u{83}',
    '\u{84}',
    '\u{85}',
    '\u{86}',
    '\u{87}',
    '\u{88}',
    '\u{89}',
    '\u{8a}',
    '\u{8b}',
    '\u{8c}',
    '\u{8d}',
    '\u{8e}',
    '\u{8f}',
    '\u{90}',
    '\u{91}',
    '\u{92}',
    '\u{93}',
    '\u{94}',
    '\u{95}',
    '\u{96}',
    '\u{97}',
    '\u{98}',
    '\u{99}',
    '\u{9a}',
    '\u{9b}',
    '\u{9c}',
    '\u{9d}',
    '\u{9e}',
    '\u{9f}',
    '\u{ad}',
    '\u{200b}',
    '\u{200c}',
    '\u{200d}',
    '\u{200e}',
    '\u{200f}',
    '\u{2028}',
    '\u{2029}',
    '\u{202a}',
    '\u{202b}',
    '\u{202c}',
    '\u{202d}',
    '\u{202e}',
    '\u{2066}',
    '\u{2067}',
    '\u{2068}',
    '\u{2069}',
    '\u{feff}',
    '\u{fffe}',
    '\u{ffff}',
    '\u{fdd0}',
    '\u{e0001}',
    '\u{10ffff}',
];

/// The string fields of a report, codes first.
pub(super) const STRING_FIELDS: [&str; 10] = [
    "id",
    "region",
    "source.id",
    "text",
    "title",
    "language",
    "location.name",
    "actors[].name",
    "categories[]",
    "location.admin1",
];

/// Byte sequences that are not UTF-8.
pub(super) const INVALID_UTF8: [&[u8]; 14] = [
    b"\x80",                     // lone continuation byte
    b"\xbf\xbf",                 // two continuation bytes
    b"\xc0\xaf",                 // overlong '/'
    b"\xc1\xbf",                 // overlong, C1 lead
    b"\xe0\x80\xaf",             // overlong three-byte '/'
    b"\xf0\x80\x80\xaf",         // overlong four-byte '/'
    b"\xed\xa0\x80",             // U+D800 in CESU-8
    b"\xed\xa0\xbd\xed\xb2\xa9", // U+1F4A9 as a CESU-8 surrogate pair
    b"\xed\xbf\xbf",             // U+DFFF
    b"\xf4\x90\x80\x80",         // past U+10FFFF
    b"\xf5\x80\x80\x80",         // invalid lead byte
    b"\xfe\xff",                 // bytes UTF-8 never uses
    b"\xe2\x82",                 // truncated three-byte sequence
    b"\xc3\x28",                 // lead byte followed by ASCII
];

/// Form `v` of [`Class::InvalidUtf8`](super::Class::InvalidUtf8).
pub(super) fn invalid_utf8(c: &mut Ctx, v: usize) -> Built {
    let n = INVALID_UTF8.len();
    if v < 4 * n {
        let bad = INVALID_UTF8[v % n];
        let (name, bytes) = match v / n {
            0 => ("in_text", c.with("text", literal("Market ", bad, " day"))),
            1 => ("in_id", c.with("id", literal(&c.id(), bad, ""))),
            2 => ("in_region", c.with("region", literal(&c.region, bad, ""))),
            _ => {
                let mut o = c.neutral();
                o.push_raw(literal("k", bad, ""), "1");
                ("in_a_key", o.bytes())
            }
        };
        return built(format!("{name}_{}", v % n), bytes, Rejected(InvalidUtf8));
    }
    // Surrogates written as escapes: valid bytes, but no character.
    let (name, bytes) = match v - 4 * n {
        0 => ("escaped_lone_high", c.with("text", r#""a\ud800b""#)),
        1 => ("escaped_lone_low", c.with("text", r#""a\udc00b""#)),
        2 => (
            "escaped_reversed_pair",
            c.with("title", r#""\udca9\ud83d""#),
        ),
        _ => (
            "escaped_high_then_letter",
            c.with("text", r#""\ud83d\u0041""#),
        ),
    };
    built(name, bytes, Rejected(MalformedJson))
}

/// Form `v` of [`Class::ControlCharacters`](super::Class::ControlCharacters).
pub(super) fn control_characters(c: &mut Ctx, v: usize) -> Built {
    let ch = HOSTILE_CHARS[v % HOSTILE_CHARS.len()];
    let field = STRING_FIELDS[(v / HOSTILE_CHARS.len()) % STRING_FIELDS.len()];
    // Raw control characters are invalid JSON; a raw line feed would also end a JSONL line, so
    // it is always written escaped.
    let raw = v / (HOSTILE_CHARS.len() * STRING_FIELDS.len()) == 1 && ch != '\n';
    let middle = if raw {
        ch.to_string().into_bytes()
    } else {
        escaped(ch).into_bytes()
    };
    let value = |before: &str, after: &str| literal(before, &middle, after);
    let mut o = c.neutral();
    match field {
        "id" => o.set("id", value(&c.id(), "-x")),
        "region" => o.set("region", value(&c.region, "-x")),
        "source.id" => o.set("source", c.source(&value("hx-src", "-x"))),
        "text" => o.set("text", value("Market day passed qui", "etly.")),
        "title" => o.set("title", value("Market", " day")),
        "language" => o.set("language", value("e", "n")),
        "location.name" => o.set(
            "location",
            [&b"{\"name\":"[..], &value("Locality", " 7"), b"}"].concat(),
        ),
        "actors[].name" => o.set(
            "actors",
            [&b"[{\"name\":"[..], &value("Group", " A"), b"}]"].concat(),
        ),
        "categories[]" => o.set(
            "categories",
            [&b"["[..], &value("hx", "-category"), b"]"].concat(),
        ),
        _ => o.set(
            "location",
            [
                &b"{\"name\":\"Locality 3\",\"admin1\":"[..],
                &value("Admin", " 1"),
                b"}",
            ]
            .concat(),
        ),
    };
    let code = matches!(field, "id" | "region" | "source.id");
    let expect = if raw && u32::from(ch) < 0x20 {
        Rejected(MalformedJson)
    } else if code {
        Rejected(BadValue)
    } else {
        Accepted
    };
    let form = if raw { "raw" } else { "escaped" };
    built(
        format!("{field}_{form}_u{:04x}", u32::from(ch)),
        o.bytes(),
        expect,
    )
}

/// Form `v` of [`Class::LongValues`](super::Class::LongValues).
///
/// One match arm per case, longer than a function should be: the arms are the list of cases
/// with their promised outcomes, which reads best whole, as the contract lists them.
pub(super) fn long_values(c: &mut Ctx, v: usize) -> Built {
    let text_max = c.limits.max_text_bytes;
    let id_max = c.limits.max_id_bytes;
    let code_max = c.limits.max_code_bytes;
    let id = c.id();
    // An id of exactly `len` bytes, starting with this record's own id.
    let padded = |len: usize, fill: char| {
        let mut s = id.clone();
        while s.len() + fill.len_utf8() <= len {
            s.push(fill);
        }
        while s.len() < len {
            s.push('x');
        }
        s
    };
    let (name, bytes, expect) = match v {
        0 => (
            "word_64_kib_text",
            c.with("text", quoted(&"w".repeat(text_max))),
            Accepted,
        ),
        1 => (
            "text_over_limit",
            c.with(
                "text",
                quoted(&format!("{} {}", NEUTRAL_TEXT, "w".repeat(text_max))),
            ),
            Rejected(TooLarge),
        ),
        2 => (
            "title_at_limit",
            c.with("title", quoted(&"t".repeat(text_max))),
            Accepted,
        ),
        3 => (
            "title_over_limit",
            c.with("title", quoted(&"t".repeat(text_max + 1))),
            Rejected(TooLarge),
        ),
        4 => (
            "id_at_limit",
            c.with("id", quoted(&padded(id_max, 'x'))),
            Accepted,
        ),
        5 => (
            "id_over_limit",
            c.with("id", quoted(&padded(id_max + 1, 'x'))),
            Rejected(TooLarge),
        ),
        6 => (
            "id_at_limit_in_2_byte_chars",
            c.with("id", quoted(&padded(id_max, 'é'))),
            Accepted,
        ),
        7 => (
            "id_over_limit_in_3_byte_chars",
            c.with("id", quoted(&padded(id_max + 1, '€'))),
            Rejected(TooLarge),
        ),
        // A region code of the longest length: a region of its own, which its report starts.
        8 => {
            let mut region = format!("HX-{}-", c.seq);
            while region.len() < code_max {
                region.push('R');
            }
            (
                "region_at_limit",
                c.with("region", quoted(&region)),
                Accepted,
            )
        }
        9 => (
            "region_over_limit",
            c.with(
                "region",
                quoted(&format!(
                    "{}{}",
                    c.region,
                    "R".repeat(code_max + 1 - c.region.len())
                )),
            ),
            Rejected(TooLarge),
        ),
        10 => {
            let mut s = c.source_id();
            while s.len() < code_max {
                s.push('S');
            }
            (
                "source_id_at_limit",
                c.with("source", c.source(&quoted(&s))),
                Accepted,
            )
        }
        11 => {
            let s = format!("{}{}", c.source_id(), "S".repeat(code_max));
            let s = &s[..code_max + 1];
            (
                "source_id_over_limit",
                c.with("source", c.source(&quoted(s))),
                Rejected(TooLarge),
            )
        }
        12 | 13 => {
            let max = c.limits.max_message_bytes;
            let target = if v == 12 { max } else { max + 1 };
            let mut o = c.neutral();
            o.set("pad", b"\"\"".to_vec());
            let base = o.bytes().len();
            let pad = "p".repeat(target.saturating_sub(base));
            o.set("pad", quoted(&pad));
            let name = if v == 12 {
                "message_at_limit"
            } else {
                "message_over_limit"
            };
            let expect = if v == 12 {
                Accepted
            } else {
                Rejected(TooLarge)
            };
            (name, o.bytes(), expect)
        }
        14 => {
            let mut o = c.neutral();
            o.push_raw(quoted(&"k".repeat(100_000)), "1");
            ("key_100_kb", o.bytes(), Accepted)
        }
        _ => (
            "language_64_kib",
            c.with("language", quoted(&"l".repeat(text_max))),
            Accepted,
        ),
    };
    built(name, bytes, expect)
}
