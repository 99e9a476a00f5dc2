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
//!
//! The cases are written per kind of damage: `structure.rs` (the document's shape), `text.rs`
//! (strings and their lengths), `values.rs` (numbers, counts and types), `time.rs`
//! (timestamps); `build.rs` holds the tools they write records with.

mod build;
mod structure;
mod text;
mod time;
mod values;

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::engine::Engine;
use crate::report::RejectReason;
use build::{Built, Ctx};

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
    /// Every class (for the test that each appears in a corpus).
    #[cfg(test)]
    pub(crate) const ALL: [Class; 13] = [
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

    /// The class's snake_case name, the first part of a case name (`deep_nesting/…`).
    pub(crate) fn name(self) -> &'static str {
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
    /// The message: no line feed and no trailing carriage return, so also one JSONL line.
    pub bytes: Vec<u8>,
    /// A good line or a hostile case, with what it promises.
    pub origin: Origin,
}

/// How a corpus is made (`vigil gen --hostile --seed --count`).
#[derive(Debug, Clone)]
pub struct HostileOptions {
    /// Seeds the draw of cases after the first round; the same seed gives the same bytes.
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
        // region's jumps, which are a jump limit and a day apart (see `window/suspect.rs`).
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
            out.push(build(&mut ctx, k));
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

/// The event time of a good line in Unix seconds, if it reads.
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
    /// How many forms it has; they are taken in turn.
    variants: usize,
    build: fn(&mut Ctx, usize) -> Built,
}

/// Every case, in the order of the first round.
const CASES: &[Case] = &[
    Case {
        class: Class::DeepNesting,
        weight: 3,
        variants: 6,
        build: structure::deep_nesting,
    },
    Case {
        class: Class::HugeNumbers,
        weight: 30,
        variants: 16,
        build: values::huge_numbers,
    },
    Case {
        class: Class::ManyKeys,
        weight: 2,
        variants: 3,
        build: structure::many_keys,
    },
    Case {
        class: Class::InvalidUtf8,
        weight: 60,
        variants: text::INVALID_UTF8.len() * 4 + 4,
        build: text::invalid_utf8,
    },
    Case {
        class: Class::ControlCharacters,
        weight: 400,
        variants: text::HOSTILE_CHARS.len() * text::STRING_FIELDS.len() * 2,
        build: text::control_characters,
    },
    Case {
        class: Class::TimestampEdges,
        weight: 80,
        variants: 40,
        build: time::timestamp_edges,
    },
    Case {
        class: Class::ExtremeCounts,
        weight: 60,
        variants: 18,
        build: values::extreme_counts,
    },
    Case {
        class: Class::LongValues,
        weight: 4,
        variants: 16,
        build: text::long_values,
    },
    Case {
        class: Class::DuplicateKeys,
        weight: 30,
        variants: 7,
        build: structure::duplicate_keys,
    },
    Case {
        class: Class::WrongTypes,
        weight: 120,
        variants: 40,
        build: values::wrong_types,
    },
    Case {
        class: Class::TopLevel,
        weight: 30,
        variants: 12,
        build: structure::top_level,
    },
    Case {
        class: Class::ByteOrderMark,
        weight: 10,
        variants: 4,
        build: structure::byte_order_mark,
    },
    Case {
        class: Class::TrailingGarbage,
        weight: 20,
        variants: 8,
        build: structure::trailing_garbage,
    },
];

/// The next record of case `k`: its next variant, keyed by the anchor region.
fn build(ctx: &mut Ctx, k: usize) -> Record {
    let case = &CASES[k];
    let variant = ctx.counters[k] % case.variants;
    ctx.counters[k] += 1;
    ctx.seq += 1;
    let b = (case.build)(ctx, variant);
    debug_assert!(!b.bytes.contains(&b'\n') && b.bytes.last() != Some(&b'\r'));
    Record {
        key: Some(ctx.region.clone()),
        bytes: b.bytes,
        origin: Origin::Hostile {
            class: case.class,
            case: format!("{}/{}", case.class.name(), b.case),
            expect: b.expect,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::engine::Outcome;
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

    /// The outcome `Engine::process` gave, in the corpus's terms.
    fn expect_of(outcome: &Outcome) -> Expect {
        match outcome {
            Outcome::Accepted { .. } => Expect::Accepted,
            Outcome::Duplicate { .. } => Expect::Duplicate,
            Outcome::Held { .. } => Expect::Held,
            Outcome::Rejected(e) => Expect::Rejected(e.reason),
        }
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
                let got = expect_of(&outcome);
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
