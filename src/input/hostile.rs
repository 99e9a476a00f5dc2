//! Hostile input (`vigil gen --hostile`): a deterministic corpus of records built to break
//! decoding, validation, tagging and the engine's per-region state, interleaved with a stream of
//! good reports so that both share regions (and so Kafka keys and partitions).
//!
//! Every hostile record belongs to a [`Class`], the class of input it probes, and carries the
//! outcome the input contract promises for it ([`Expect`]): rejected with a given reason code,
//! accepted, a duplicate, or held as suspect. The expectations are written down here, case by
//! case, from the contract (README "Input", DESIGN's schema, the `[limits]`), not derived from
//! the decoder, so that a test comparing them with what the engine does can fail.
//!
//! Hostile records that the contract accepts are built to change nothing a good report sees:
//! each is dated at its region's watermark (or, for the late cases, behind it within the allowed
//! lateness), has an id and a source of its own, and carries no text, category, count or actor
//! kind that tags. So the good reports around them must give exactly the alerts they give alone.
//! The record's region (Kafka key) is the region of the good report just before it.
//!
//! The expectations hold for a receive time (a stream's record timestamps, a backtest's clock)
//! after the corpus's latest event time and before year 9999, with the default `[limits]` and
//! `[window]` in force when the corpus is built (they are read from the engine).

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::alert::rfc3339;
use crate::engine::{Engine, Outcome};
use crate::report::{Limits, RejectReason};
use crate::window::WindowSettings;

/// The classes of hostile input, each probing one way a record can be built to hurt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// JSON nested 10,000 and 100,000 deep: at the top, inside known fields (where serde meets a
    /// wrong type before any depth), inside unknown fields (which serde_json skips without
    /// recursing), and never closed. Probes the recursion limit and stack depth.
    DeepNesting,
    /// Numbers beyond every range: `1e400`, twenty-digit integers, `-0`, fractions and exponents
    /// where integers belong, in counts, coordinates, times and unknown fields.
    HugeNumbers,
    /// Objects with 20,000 keys (under `limits.max_message_bytes`) and 100,000 keys (over it,
    /// and over `kafka.dlq_max_payload_bytes`, so the DLQ copy is cut). Probes size bounds.
    ManyKeys,
    /// Bytes that are not UTF-8: lone continuation bytes, overlong forms, surrogates in CESU-8,
    /// code points past U+10FFFF, truncated sequences; and lone surrogates as `\u` escapes.
    InvalidUtf8,
    /// NUL, every C0 and C1 control, DEL, noncharacters (U+FFFE, U+FFFF, U+FDD0, U+10FFFF), line
    /// and paragraph separators, bidi overrides and isolates, zero-width characters, soft hyphen,
    /// BOM and a tag character, in each string field, raw and as `\u` escapes. Probes code
    /// validation, normalisation and tagging of text.
    ControlCharacters,
    /// Timestamp edges: years 0000, 0001, 9999 and +10000, 1969, a leap second, 24:00, 30
    /// February, offsets of ±24:00 and +23:59, epoch milliseconds at and below 10^11, negative,
    /// at and past i64::MAX, strings of digits, lower-case `t` and `z`, no offset, the lateness
    /// bound ±1 s, and jumps ahead of the region's clock (held as suspect).
    TimestampEdges,
    /// Casualty counts and credibility at and beyond every bound: negative, `i64::MIN`,
    /// `i64::MAX`, past u64, `limits.max_count` and one more, list lengths at
    /// `limits.max_list_len` and one more.
    ExtremeCounts,
    /// Very long words and values at each length limit and one byte past it: a 64 KiB word, text
    /// and title at and over `limits.max_text_bytes`, ids at 128/129 bytes (in ASCII and in
    /// multi-byte characters), region and source id at 64/65 bytes, a message of exactly
    /// `limits.max_message_bytes` and one byte more, a 100 KB key.
    LongValues,
    /// The same key twice in one object: known fields at the top and nested, unknown fields.
    DuplicateKeys,
    /// A wrong JSON type in every field, and values of the right type outside their domain.
    WrongTypes,
    /// Top-level values that are not a report object: `{}`, `[]`, `""`, `null`, numbers,
    /// `true`, an array holding a report, a lone brace.
    TopLevel,
    /// A byte-order mark before a record, between its fields, or twice.
    ByteOrderMark,
    /// Bytes after a complete report: a letter, a second report, a bracket, a NUL, 64 KB of
    /// garbage, a comment, an invalid UTF-8 byte.
    TrailingGarbage,
}

impl Class {
    pub const ALL: [Class; 13] = [
        Class::DeepNesting,
        Class::HugeNumbers,
        Class::ManyKeys,
        Class::InvalidUtf8,
        Class::ControlCharacters,
        Class::TimestampEdges,
        Class::ExtremeCounts,
        Class::LongValues,
        Class::DuplicateKeys,
        Class::WrongTypes,
        Class::TopLevel,
        Class::ByteOrderMark,
        Class::TrailingGarbage,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Class::DeepNesting => "deep_nesting",
            Class::HugeNumbers => "huge_numbers",
            Class::ManyKeys => "many_keys",
            Class::InvalidUtf8 => "invalid_utf8",
            Class::ControlCharacters => "control_characters",
            Class::TimestampEdges => "timestamp_edges",
            Class::ExtremeCounts => "extreme_counts",
            Class::LongValues => "long_values",
            Class::DuplicateKeys => "duplicate_keys",
            Class::WrongTypes => "wrong_types",
            Class::TopLevel => "top_level",
            Class::ByteOrderMark => "byte_order_mark",
            Class::TrailingGarbage => "trailing_garbage",
        }
    }
}

/// What the contract promises for a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expect {
    /// Refused with this reason code (DLQ in a stream).
    Rejected(RejectReason),
    /// Accepted and counted (it tags nothing).
    Accepted,
    /// Its id is already counted or held in its region.
    Duplicate,
    /// Its event time jumps ahead of its region's clock: held as suspect.
    Held,
}

impl Expect {
    /// The outcome `Engine::process` gave, in the same terms.
    pub fn of(outcome: &Outcome) -> Expect {
        match outcome {
            Outcome::Accepted { .. } => Expect::Accepted,
            Outcome::Duplicate { .. } => Expect::Duplicate,
            Outcome::Held { .. } => Expect::Held,
            Outcome::Rejected(e) => Expect::Rejected(e.reason),
        }
    }
}

/// Where a record of the corpus comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A line of the good stream, as given.
    Good,
    /// A hostile record: its class, its case (`class/case`) and the promised outcome.
    Hostile {
        class: Class,
        case: String,
        expect: Expect,
    },
}

/// One record of the corpus: the bytes of one message (or JSONL line) and its Kafka key.
#[derive(Debug, Clone)]
pub struct Record {
    /// The region it is keyed by: a good report's own region, a hostile record's anchor region.
    pub key: Option<String>,
    pub bytes: Vec<u8>,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct HostileOptions {
    pub seed: u64,
    /// Number of hostile records.
    pub count: usize,
}

/// Interleaves `count` hostile records with the `good` lines, in order: after each good line,
/// its share of hostile records, all keyed by (and, where they have one, in) the region of the
/// last good report that has one. `engine` must be fresh and configured as the engine that will
/// read the corpus: the good lines are run through it to learn each region's watermark, and
/// its limits and window settings shape the boundary cases.
///
/// No record contains a line feed or ends in a carriage return, so the corpus is also a JSONL
/// file, one record per line, provided its first line is a good report.
pub fn corpus(engine: &mut Engine, good: &[String], opts: &HostileOptions) -> Vec<Record> {
    let latest = good
        .iter()
        .filter_map(|l| event_time_of(l))
        .max()
        .unwrap_or(0);
    let window = engine.window_settings().clone();
    let mut ctx = Ctx {
        rng: ChaCha8Rng::seed_from_u64(opts.seed),
        seed: opts.seed,
        seq: 0,
        region: String::new(),
        watermark: 0,
        limits: engine.limits().clone(),
        // Far enough ahead of every good report that none corroborates the latest of the
        // region's jumps, which are a jump limit and a day apart (see `suspect.rs`).
        jump_base: latest + 4 * window.max_watermark_jump_secs,
        window,
        jumps: HashMap::new(),
        held: HashMap::new(),
        counters: vec![0; CASES.len()],
    };
    let total_weight: u32 = CASES.iter().map(|c| c.weight).sum();
    let mut out = Vec::with_capacity(good.len() + opts.count);
    let mut anchor: Option<String> = None;
    let mut due = 0usize;
    let n = good.len().max(1);
    for (i, line) in good.iter().enumerate() {
        let region = region_of(line);
        out.push(Record {
            key: region.clone(),
            bytes: line.clone().into_bytes(),
            origin: Origin::Good,
        });
        engine.process(line.as_bytes(), None);
        engine.take_released();
        if let Some(r) = region.filter(|r| engine.region_state(r).is_some()) {
            anchor = Some(r);
        }
        due += (i + 1) * opts.count / n - i * opts.count / n;
        let Some(region) = &anchor else { continue };
        let Some(state) = engine.region_state(region) else {
            continue;
        };
        ctx.region.clone_from(region);
        ctx.watermark = state.windows.watermark;
        while due > 0 {
            due -= 1;
            // Every case once, in order, then cases drawn by weight.
            let k = if ctx.seq < CASES.len() as u64 {
                ctx.seq as usize
            } else {
                let mut roll = ctx.rng.random_range(0..total_weight);
                CASES
                    .iter()
                    .position(|c| {
                        let hit = roll < c.weight;
                        roll = roll.saturating_sub(c.weight);
                        hit
                    })
                    .unwrap_or(0)
            };
            out.push(ctx.build(k));
        }
    }
    out
}

/// The region of a good line, if it has one.
fn region_of(line: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct R {
        region: Option<String>,
    }
    serde_json::from_str::<R>(line).ok()?.region
}

fn event_time_of(line: &str) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct T<'a> {
        #[serde(borrow)]
        event_time: crate::report::timestamp::TimeValue<'a>,
    }
    serde_json::from_str::<T<'_>>(line)
        .ok()?
        .event_time
        .seconds()
        .ok()
}

/// One kind of hostile record; `build` makes its `variant`-th form.
struct Case {
    class: Class,
    /// Relative frequency after the first round.
    weight: u32,
    variants: usize,
    build: fn(&mut Ctx, usize) -> Built,
}

struct Built {
    case: String,
    bytes: Vec<u8>,
    expect: Expect,
}

fn built(case: impl Into<String>, bytes: Vec<u8>, expect: Expect) -> Built {
    Built {
        case: case.into(),
        bytes,
        expect,
    }
}

use Expect::{Accepted, Duplicate, Held, Rejected};
use RejectReason::{
    BadTime, BadType, BadValue, InvalidUtf8, MalformedJson, MissingField, NegativeCount, TimeJump,
    TooEarly, TooLarge, TooLate,
};

const CASES: &[Case] = &[
    Case {
        class: Class::DeepNesting,
        weight: 3,
        variants: 6,
        build: deep_nesting,
    },
    Case {
        class: Class::HugeNumbers,
        weight: 30,
        variants: 16,
        build: huge_numbers,
    },
    Case {
        class: Class::ManyKeys,
        weight: 2,
        variants: 3,
        build: many_keys,
    },
    Case {
        class: Class::InvalidUtf8,
        weight: 60,
        variants: INVALID_UTF8.len() * 4 + 4,
        build: invalid_utf8,
    },
    Case {
        class: Class::ControlCharacters,
        weight: 400,
        variants: HOSTILE_CHARS.len() * STRING_FIELDS.len() * 2,
        build: control_characters,
    },
    Case {
        class: Class::TimestampEdges,
        weight: 80,
        variants: 40,
        build: timestamp_edges,
    },
    Case {
        class: Class::ExtremeCounts,
        weight: 60,
        variants: 18,
        build: extreme_counts,
    },
    Case {
        class: Class::LongValues,
        weight: 4,
        variants: 16,
        build: long_values,
    },
    Case {
        class: Class::DuplicateKeys,
        weight: 30,
        variants: 7,
        build: duplicate_keys,
    },
    Case {
        class: Class::WrongTypes,
        weight: 120,
        variants: 40,
        build: wrong_types,
    },
    Case {
        class: Class::TopLevel,
        weight: 30,
        variants: 12,
        build: top_level,
    },
    Case {
        class: Class::ByteOrderMark,
        weight: 10,
        variants: 4,
        build: byte_order_mark,
    },
    Case {
        class: Class::TrailingGarbage,
        weight: 20,
        variants: 8,
        build: trailing_garbage,
    },
];

/// Characters that must not reach a code and must not break text: every C0 and C1 control,
/// DEL, soft hyphen, zero-width and directional marks, line and paragraph separators, bidi
/// embeddings, overrides and isolates, BOM, noncharacters, a tag character.
const HOSTILE_CHARS: [char; 88] = [
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
const STRING_FIELDS: [&str; 10] = [
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
const INVALID_UTF8: [&[u8]; 14] = [
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

/// A JSON object written key by key, so that cases can repeat keys and write raw bytes.
#[derive(Clone)]
struct Obj(Vec<(Vec<u8>, Vec<u8>)>);

impl Obj {
    fn set(&mut self, key: &str, value: impl Into<Vec<u8>>) -> &mut Obj {
        let k = quoted(key);
        let value = value.into();
        match self.0.iter_mut().find(|(key, _)| *key == k) {
            Some(slot) => slot.1 = value,
            None => self.0.push((k, value)),
        }
        self
    }

    /// Adds a key even if it is there already (or a raw key, not quoted by this).
    fn push_raw(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> &mut Obj {
        self.0.push((key.into(), value.into()));
        self
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = b"{".to_vec();
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(k);
            out.push(b':');
            out.extend_from_slice(v);
        }
        out.push(b'}');
        out
    }
}

/// A JSON string of `s`, escaped as serde_json escapes (C0 controls, quote, backslash).
fn quoted(s: &str) -> Vec<u8> {
    serde_json::to_vec(s).unwrap_or_default()
}

/// `c` as a JSON `\u` escape (a surrogate pair beyond the BMP).
fn escaped(c: char) -> String {
    let mut units = [0u16; 2];
    c.encode_utf16(&mut units)
        .iter()
        .map(|u| format!("\\u{u:04x}"))
        .collect()
}

/// A JSON string literal `"<before><middle><after>"` with `middle` written as given (raw bytes).
fn literal(before: &str, middle: &[u8], after: &str) -> Vec<u8> {
    let mut out = b"\"".to_vec();
    out.extend_from_slice(before.as_bytes());
    out.extend_from_slice(middle);
    out.extend_from_slice(after.as_bytes());
    out.push(b'"');
    out
}

const NEUTRAL_TEXT: &str = "Market day passed quietly in the town, residents said.";

struct Ctx {
    rng: ChaCha8Rng,
    seed: u64,
    seq: u64,
    /// The anchor region and its watermark.
    region: String,
    watermark: i64,
    limits: Limits,
    window: WindowSettings,
    /// Event time of the first clock jump; later ones are a jump limit and a day earlier.
    jump_base: i64,
    /// Clock jumps held per region, and the last one held.
    jumps: HashMap<String, (usize, Option<Vec<u8>>)>,
    /// Reports held per region (count, bytes), as the engine bounds them.
    held: HashMap<String, (usize, usize)>,
    counters: Vec<usize>,
}

impl Ctx {
    fn build(&mut self, k: usize) -> Record {
        let case = &CASES[k];
        let variant = self.counters[k] % case.variants;
        self.counters[k] += 1;
        self.seq += 1;
        let b = (case.build)(self, variant);
        debug_assert!(!b.bytes.contains(&b'\n') && b.bytes.last() != Some(&b'\r'));
        Record {
            key: Some(self.region.clone()),
            bytes: b.bytes,
            origin: Origin::Hostile {
                class: case.class,
                case: format!("{}/{}", case.class.name(), b.case),
                expect: b.expect,
            },
        }
    }

    fn id(&self) -> String {
        format!("hx-{}-{:06}", self.seed, self.seq)
    }

    /// A report that is valid, tags nothing and changes no good report's outcome: its own id
    /// and source, dated at the region's watermark.
    fn neutral(&self) -> Obj {
        let mut o = Obj(Vec::new());
        o.set("id", quoted(&self.id()))
            .set("event_time", quoted(&rfc3339(self.watermark)))
            .set("region", quoted(&self.region))
            .set("source", self.source(&quoted(&self.source_id())))
            .set("language", quoted("en"))
            .set("title", quoted("Market day"))
            .set("text", quoted(NEUTRAL_TEXT))
            .set(
                "location",
                format!(r#"{{"name":"Locality {}"}}"#, self.seq % 40),
            );
        o
    }

    fn source_id(&self) -> String {
        format!("hx-src-{}", self.seq)
    }

    fn source(&self, id: &[u8]) -> Vec<u8> {
        let mut s = br#"{"id":"#.to_vec();
        s.extend_from_slice(id);
        s.extend_from_slice(br#","kind":"ngo","reliability":"C","credibility":3}"#);
        s
    }

    /// A neutral report with `key` set to the raw `value`.
    fn with(&self, key: &str, value: impl Into<Vec<u8>>) -> Vec<u8> {
        self.neutral().set(key, value).bytes()
    }

    /// A neutral report with `casualties.<field>` set to the raw `value`.
    fn count(&self, field: &str, value: &str) -> Vec<u8> {
        self.with("casualties", format!(r#"{{"{field}":{value}}}"#))
    }

    /// The expectation for a clock jump in this region: held while the hold has room.
    fn jump(&mut self, bytes: &[u8]) -> Expect {
        let (n, size) = self.held.entry(self.region.clone()).or_default();
        if *n < self.window.max_held_reports && *size + bytes.len() <= self.window.max_held_bytes {
            *n += 1;
            *size += bytes.len();
            Held
        } else {
            Rejected(TimeJump)
        }
    }
}

/// The region's watermark minus `secs`, as RFC 3339.
fn at(c: &Ctx, secs: i64) -> Vec<u8> {
    quoted(&rfc3339(c.watermark - secs))
}

fn deep_nesting(c: &mut Ctx, v: usize) -> Built {
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

fn huge_numbers(c: &mut Ctx, v: usize) -> Built {
    let (name, bytes, expect) = match v {
        0 => (
            "1e400_killed",
            c.count("killed", "1e400"),
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
            c.count("killed", "99999999999999999999"),
            Rejected(BadType),
        ),
        5 => (
            "20_digits_event_time",
            c.with("event_time", "99999999999999999999"),
            Rejected(BadType),
        ),
        6 => (
            "minus_zero_injured",
            c.count("injured", "-0"),
            Rejected(BadType),
        ),
        7 => ("1.5_injured", c.count("injured", "1.5"), Rejected(BadType)),
        8 => ("1.0_injured", c.count("injured", "1.0"), Rejected(BadType)),
        9 => ("1e2_injured", c.count("injured", "1e2"), Rejected(BadType)),
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

fn many_keys(c: &mut Ctx, v: usize) -> Built {
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

fn invalid_utf8(c: &mut Ctx, v: usize) -> Built {
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

fn control_characters(c: &mut Ctx, v: usize) -> Built {
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

fn timestamp_edges(c: &mut Ctx, v: usize) -> Built {
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

fn extreme_counts(c: &mut Ctx, v: usize) -> Built {
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
        0 => ("negative", c.count("killed", "-1"), Rejected(NegativeCount)),
        1 => (
            "i64_min",
            c.count("abducted", &i64::MIN.to_string()),
            Rejected(NegativeCount),
        ),
        2 => (
            "i64_max",
            c.count("displaced", &i64::MAX.to_string()),
            Rejected(TooLarge),
        ),
        3 => (
            "past_i64",
            c.count("injured", "9223372036854775808"),
            Rejected(BadType),
        ),
        4 => (
            "past_u64",
            c.count("missing", "18446744073709551616"),
            Rejected(BadType),
        ),
        5 => ("max_count", c.count("injured", &max.to_string()), Accepted),
        6 => (
            "max_count_plus_1",
            c.count("injured", &(max + 1).to_string()),
            Rejected(TooLarge),
        ),
        7 => (
            "max_count_minus_1",
            c.count("missing", &(max - 1).to_string()),
            Accepted,
        ),
        8 => ("zero", c.count("injured", "0"), Accepted),
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
            c.count("sexual_violence", "-9223372036854775807"),
            Rejected(NegativeCount),
        ),
    };
    built(name, bytes, expect)
}

fn long_values(c: &mut Ctx, v: usize) -> Built {
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

fn duplicate_keys(c: &mut Ctx, v: usize) -> Built {
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

fn wrong_types(c: &mut Ctx, v: usize) -> Built {
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

fn top_level(c: &mut Ctx, v: usize) -> Built {
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

fn byte_order_mark(c: &mut Ctx, v: usize) -> Built {
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

fn trailing_garbage(c: &mut Ctx, v: usize) -> Built {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::input::generator::{GenOptions, generate};

    fn engine() -> Engine {
        crate::config::load(Path::new("config"))
            .unwrap()
            .engine()
            .unwrap()
    }

    fn good() -> Vec<String> {
        generate(&GenOptions::demo()).collect()
    }

    /// After the corpus's latest event time, as a stream's receive time would be.
    const RECEIVED: i64 = 1_798_761_600; // 2027-01-01T00:00:00Z

    #[test]
    fn deterministic_and_line_safe() {
        let good = good();
        let opts = HostileOptions {
            seed: 3,
            count: 2000,
        };
        let a = corpus(&mut engine(), &good, &opts);
        let b = corpus(&mut engine(), &good, &opts);
        assert_eq!(a.len(), good.len() + 2000);
        assert!(a.iter().zip(&b).all(|(x, y)| x.bytes == y.bytes));
        assert_eq!(a[0].origin, Origin::Good);
        for r in &a {
            assert!(!r.bytes.contains(&b'\n'), "{:?}", r.origin);
            assert!(r.bytes.last() != Some(&b'\r'));
            assert!(!r.bytes.iter().all(u8::is_ascii_whitespace));
            assert!(r.key.is_some() || r.origin == Origin::Good);
        }
        // Every class and every case appears.
        let classes: std::collections::BTreeSet<Class> = a
            .iter()
            .filter_map(|r| match &r.origin {
                Origin::Hostile { class, .. } => Some(*class),
                Origin::Good => None,
            })
            .collect();
        assert_eq!(classes.len(), Class::ALL.len());
    }

    /// Each hostile record gets exactly the outcome promised for it, and the good reports give
    /// the alerts they give alone.
    #[test]
    fn every_hostile_record_gets_its_promised_outcome() {
        let good = good();
        let records = corpus(
            &mut engine(),
            &good,
            &HostileOptions {
                seed: 11,
                count: 12_000,
            },
        );
        let mut alone = engine();
        let alone: Vec<String> = good
            .iter()
            .flat_map(|l| alone.process_alerts(l.as_bytes(), Some(RECEIVED)))
            .map(|a| serde_json::to_string(&a).unwrap())
            .collect();
        let mut e = engine();
        let mut alerts = Vec::new();
        let mut wrong: BTreeMap<String, (Expect, Expect, usize)> = BTreeMap::new();
        for r in &records {
            let outcome = e.process(&r.bytes, Some(RECEIVED));
            let released = e.take_released();
            assert!(released.is_empty(), "{:?} released a held report", r.origin);
            if let Origin::Hostile { case, expect, .. } = &r.origin {
                let got = Expect::of(&outcome);
                if got != *expect {
                    wrong.entry(case.clone()).or_insert((*expect, got, 0)).2 += 1;
                }
            }
            if let Outcome::Accepted { alerts: a, .. } = outcome {
                alerts.extend(a.iter().map(|a| serde_json::to_string(a).unwrap()));
            }
        }
        assert!(wrong.is_empty(), "case: (expected, got, times)\n{wrong:?}");
        assert!(!alone.is_empty());
        assert_eq!(alerts, alone);
    }
}
