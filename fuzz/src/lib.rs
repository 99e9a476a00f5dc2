//! The invariants the fuzz targets assert, shared by the targets in `fuzz_targets/`.
//!
//! Every check panics (which libFuzzer reports as a crash, with the input saved under
//! `artifacts/<target>/`) when an invariant does not hold; "no panic" alone is not the test.

use std::path::Path;
use std::sync::{Mutex, OnceLock};

use quick_xml::Reader;
use quick_xml::events::Event;
use vigil::alert::{Alert, AlertEvidence, Casualty, Observed, Status, TimeRange};
use vigil::output::cap::CapSender;
use vigil::engine::{Engine, Outcome};
use vigil::tag::normalize::Normalized;
use vigil::report::{Limits, decode};
use vigil::rules::Severity;
use vigil::tag::{Field, Scratch, Tagger};

/// Most lines (messages) one input feeds the engine, so that a run stays fast.
const MAX_LINES: usize = 64;

/// The engine over the shipped taxonomy and the fuzz rules (`fuzz/config/rules.toml`, low
/// thresholds so that alerts are common), built once; each input starts from empty state.
fn engine() -> &'static Mutex<Engine> {
    static ENGINE: OnceLock<Mutex<Engine>> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let loaded = vigil::config::load(&dir).expect("the fuzz configuration loads");
        Mutex::new(
            loaded
                .engine()
                .expect("the fuzz configuration builds an engine")
                .with_tag_detail(),
        )
    })
}

/// The tagger over the shipped taxonomy, built once.
fn tagger() -> &'static Tagger {
    static TAGGER: OnceLock<Tagger> = OnceLock::new();
    TAGGER.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
        let loaded = vigil::config::load(&dir).expect("the shipped configuration loads");
        Tagger::new(&loaded.taxonomy, loaded.settings.tagger).expect("the shipped taxonomy")
    })
}

/// `[start, end)` lies within `text` and on its char boundaries.
fn assert_span(text: &str, start: usize, end: usize, what: &str) {
    assert!(
        start <= end && end <= text.len(),
        "{what}: span {start}..{end} outside a text of {} bytes",
        text.len()
    );
    assert!(
        text.is_char_boundary(start) && text.is_char_boundary(end),
        "{what}: span {start}..{end} not on char boundaries"
    );
}

/// Normalisation: `fill` and `prepare` agree, and every normalised range maps back to a range
/// of the input on its char boundaries, in order.
pub fn check_normalize(input: &str) {
    let mut n = Normalized::default();
    n.fill(input);
    let filled = n.text.clone();
    let mut p = Normalized::default();
    p.prepare(input);
    assert_eq!(
        p.matchable(input).to_ascii_lowercase(),
        filled.to_ascii_lowercase(),
        "prepare and fill disagree"
    );
    // Every char of the normalised text, and a few wider ranges, map onto the input.
    let bounds: Vec<usize> = filled
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(filled.len()))
        .collect();
    let mut last_start = 0;
    for pair in bounds.windows(2).take(256) {
        let (s, e) = n.original_span(input, pair[0], pair[1]);
        assert_span(input, s, e, "normalised char");
        assert!(s < e, "a normalised char maps to an empty span");
        assert!(s >= last_start, "spans go backwards");
        last_start = s;
    }
    if bounds.len() > 2 {
        let (s, e) = n.original_span(input, 0, filled.len());
        assert_span(input, s, e, "whole text");
        let mid = bounds[bounds.len() / 2];
        let (s, e) = n.original_span(input, mid, filled.len());
        assert_span(input, s, e, "second half");
    }
}

/// Decodes `bytes` (never panics), and tags what is accepted: every evidence span lies within
/// its field and on its char boundaries; the rendered tags carry the same spans.
pub fn check_decode_and_tag(bytes: &[u8]) {
    let limits = Limits::default();
    let _ = decode(bytes, &limits, Some(1_900_000_000));
    let Ok(report) = decode(bytes, &limits, None) else {
        return;
    };
    let tagger = tagger();
    let mut scratch = Scratch::default();
    let set = tagger.tag(&report, &mut scratch);
    for hit in &set.hits {
        let text = match hit.field {
            Field::Title => report.report.title.as_deref().unwrap_or_default(),
            Field::Text => &report.report.text,
        };
        assert_span(text, hit.start, hit.end, "evidence");
    }
    let rendered = tagger.render(&report, &set);
    for ev in rendered.tags.iter().flat_map(|t| &t.evidence) {
        if let (Some(s), Some(e)) = (ev.start, ev.end) {
            let text = if ev.field == "title" {
                report.report.title.as_deref().unwrap_or_default()
            } else {
                &report.report.text
            };
            assert_span(text, s, e, "rendered evidence");
        }
    }
    assert!(serde_json::to_string(&rendered).is_ok());
}

/// Feeds each of `lines` to the engine (from an empty state) and checks every alert's
/// renderings with [`check_alert`], and every accepted report's rendered tags.
pub fn check_engine_lines<'a>(lines: impl Iterator<Item = &'a [u8]>) {
    let mut engine = engine().lock().unwrap_or_else(|e| e.into_inner());
    for region in engine
        .regions()
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>()
    {
        engine.remove_region(&region);
    }
    let limits = Limits::default();
    for line in lines.take(MAX_LINES) {
        let _ = decode(line, &limits, None);
        let outcome = engine.process(line, None);
        let released = engine.take_released();
        let outcomes = released
            .iter()
            .map(|r| &r.outcome)
            .chain(std::iter::once(&outcome));
        for outcome in outcomes {
            if let Outcome::Accepted { alerts, detail, .. } = outcome {
                for alert in alerts {
                    check_alert(alert);
                }
                // The engine renders the tag detail from its own decode (vigil.tagged).
                let detail = detail.as_ref().expect("an accepted report has its tag detail");
                assert!(serde_json::to_string(detail).is_ok());
            }
        }
    }
}

/// The importers: records of any input never panic; what they produce is JSON, which the
/// engine then processes as a backtest would.
pub fn check_import(data: &[u8]) {
    let options = vigil::input::import::ImportOptions::default();
    let Ok((_, records)) = vigil::input::import::records(std::io::Cursor::new(data.to_vec()), &options)
    else {
        return;
    };
    let mut produced = Vec::new();
    for (_, record) in records.take(MAX_LINES) {
        if let Ok(bytes) = record {
            produced.push(bytes);
        }
    }
    check_engine_lines(produced.iter().map(Vec::as_slice));
}

/// Control characters and noncharacters that XML 1.0 forbids anywhere in a document.
fn forbidden_in_xml(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

/// The CAP XML of `alert` is well-formed and free of characters XML 1.0 forbids; its
/// Alertmanager payload serialises to JSON that parses back to the same value.
pub fn check_alert(alert: &Alert) {
    let xml = vigil::output::cap::render(alert, &CapSender::default());
    if let Some(c) = xml.chars().find(|&c| forbidden_in_xml(c)) {
        panic!("CAP XML holds U+{:04X}, forbidden in XML 1.0", u32::from(c));
    }
    let mut reader = Reader::from_str(&xml);
    let mut depth = 0usize;
    let mut roots = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                if depth == 0 {
                    roots += 1;
                    assert_eq!(e.name().as_ref(), b"alert", "root element");
                }
                depth += 1;
            }
            Ok(Event::End(_)) => {
                depth = depth
                    .checked_sub(1)
                    .expect("an end tag closes an open element");
            }
            Ok(Event::Text(t)) => {
                if depth == 0 {
                    assert!(
                        t.iter().all(u8::is_ascii_whitespace),
                        "text outside the root"
                    );
                }
                assert!(t.decode().is_ok(), "text decodes");
            }
            Ok(Event::GeneralRef(r)) => {
                let name = r.decode().expect("entity name decodes");
                assert!(
                    r.is_char_ref() || ["lt", "gt", "amp", "apos", "quot"].contains(&&*name),
                    "undefined entity &{name};"
                );
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("CAP XML is not well-formed: {e}"),
        }
    }
    assert_eq!(depth, 0, "unclosed elements");
    assert_eq!(roots, 1, "one root element");

    let payload = vigil::output::alertmanager::payload(alert, "fuzz");
    let json = serde_json::to_string(&payload).expect("the payload serialises");
    let back: serde_json::Value = serde_json::from_str(&json).expect("the payload parses back");
    let direct = serde_json::to_value(&payload).expect("the payload is a JSON value");
    assert_eq!(back, direct, "the payload round-trips");
}

/// An alert whose string fields come from `data` (split at `\u{1}`), rendered and checked.
pub fn check_render_fields(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\u{1}').map(str::to_string);
    let mut next = || parts.next().unwrap_or_default();
    let statuses = [Status::Firing, Status::Escalated, Status::Resolved];
    let severities = [Severity::Watch, Severity::Warning, Severity::Critical];
    let selector = data.first().copied().unwrap_or(0) as usize;
    let alert = Alert {
        alert_id: next(),
        status: statuses[selector % 3],
        rule: next(),
        severity: severities[(selector / 3) % 3],
        region: next(),
        signal: next(),
        window: TimeRange {
            start: next(),
            end: next(),
        },
        observed: Observed {
            reports: 1,
            distinct_sources: (selector % 4) as u64,
            casualties: Casualty {
                killed: 0,
                injured: 0,
                abducted: 0,
                missing: 0,
                displaced: 0,
                sexual_violence: 0,
            },
            score: 1.0,
            value: 1.0,
            baseline: None,
        },
        threshold: 1.0,
        risk_factors: vec![next(), next()],
        evidence: AlertEvidence {
            report_ids: vec![next(), next()],
            indicators: vec![next()],
        },
        first_seen: next(),
        updated_at: next(),
        summary: next(),
        superseded_by: None,
    };
    check_alert(&alert);
}
