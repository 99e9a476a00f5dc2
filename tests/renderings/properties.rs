//! Property-generated reports through the core.

use super::*;

pub(crate) fn engine() -> Engine {
    vigil::config::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config")))
        .expect("shipped config loads")
        .engine()
        .expect("engine builds")
}

/// Characters for ids and codes: printable text of many scripts, markup characters, inner
/// spaces, astral-plane characters, and now and then any scalar value at all (which may be a
/// control or invisible character that validation refuses).
pub(crate) fn code_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => prop::char::range(' ', '~'),
        3 => prop::sample::select(vec!['&', '<', '>', '"', '\'', ']', ' ', '\u{A0}', '\u{3000}']),
        1 => prop::char::range('\u{5D0}', '\u{5EA}'),     // Hebrew
        1 => prop::char::range('\u{620}', '\u{64A}'),     // Arabic
        1 => prop::char::range('\u{900}', '\u{97F}'),     // Devanagari, combining marks
        1 => prop::char::range('\u{400}', '\u{4FF}'),     // Cyrillic
        1 => prop::char::range('\u{E01}', '\u{E5B}'),     // Thai
        1 => prop::char::range('\u{4E00}', '\u{9FFF}'),   // CJK
        1 => prop::char::range('\u{AC00}', '\u{D7A3}'),   // Hangul
        1 => prop::char::range('\u{1F300}', '\u{1F64F}'), // emoji
        1 => prop::char::range('\u{1D400}', '\u{1D7FF}'), // mathematical letters
        1 => prop::char::range('\u{20000}', '\u{2A6DF}'), // CJK extension B
        1 => any::<char>(),
    ]
}

/// Fragments that break naive XML or JSON writers.
pub(crate) const FRAGMENTS: [&str; 10] = [
    "]]>",
    "&amp;",
    "<![CDATA[",
    "-->",
    "<a b=\"c\">",
    "&#0;",
    "\\u0000",
    "\"'",
    "مرحبا بالعالم",
    "שלום עולם",
];

/// An id or code of at most `max` bytes, as validation accepts it (not empty, no white space
/// at the ends) unless it drew a character validation refuses.
pub(crate) fn code(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(code_char(), 1..24)
            .prop_map(|cs| cs.into_iter().collect::<String>()),
        2 => prop::collection::vec(
            prop_oneof![
                prop::sample::select(FRAGMENTS.to_vec()).prop_map(String::from),
                prop::collection::vec(code_char(), 1..6)
                    .prop_map(|cs| cs.into_iter().collect::<String>()),
            ],
            1..6,
        )
        .prop_map(|parts| parts.join(" ")),
        // Up to the limit, and beyond it (cut to fit on a character boundary).
        1 => prop::collection::vec(code_char(), 40..200)
            .prop_map(|cs| cs.into_iter().collect::<String>()),
        1 => prop::sample::select(TRICKY_REGIONS.to_vec()).prop_map(String::from),
    ]
    .prop_map(move |s| fit(&s, max))
}

pub(crate) fn fit(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let s = s[..end].trim();
    if s.is_empty() { "x".into() } else { s.into() }
}

/// 1989-01-01T00:00:00Z, the default earliest event time.
pub(crate) const EARLIEST: i64 = 599_616_000;
/// 9999-12-31T22:00:00Z: the reports of a region span up to two hours from it, into the last
/// hour of 9999, which the engine refuses (its windows would end in year 10000).
pub(crate) const NEAR_END: i64 = 253_402_293_600;
/// 9999-12-31T22:59:59Z, the latest event time the engine accepts with the shipped rules.
pub(crate) const LATEST: i64 = 253_402_297_199;

#[derive(Debug, Clone)]
pub(crate) struct RegionCase {
    region: String,
    base: i64,
    /// (id, source id, people abducted) per report, ten minutes apart.
    reports: Vec<(String, String, u32)>,
    /// A report five days later closes the episodes (resolved records, with references).
    quiet_after: bool,
}

pub(crate) fn region_case() -> impl Strategy<Value = RegionCase> {
    (
        code(64),
        prop_oneof![
            4 => EARLIEST..NEAR_END - 6 * 86_400,
            1 => prop::sample::select(vec![EARLIEST, 1_772_323_200, NEAR_END - 5 * 86_400, NEAR_END]),
        ],
        prop::collection::vec(
            (
                code(128),
                code(64),
                prop_oneof![2 => 1u32..20, 1 => 20u32..80],
            ),
            3..12,
        ),
        any::<bool>(),
    )
        .prop_map(|(region, base, reports, quiet_after)| RegionCase {
            region,
            base,
            reports,
            quiet_after,
        })
}

pub(crate) fn report(id: &str, source: &str, region: &str, t: i64, abducted: u32) -> String {
    let text = if abducted == 0 {
        "The market reopened and residents returned to their fields.".to_string()
    } else {
        format!("Armed men abducted {abducted} villagers near the market.")
    };
    serde_json::json!({
        "id": id,
        "event_time": vigil::alert::rfc3339(t),
        "region": region,
        "source": {"id": source, "reliability": "A", "credibility": 1},
        "text": text,
        "casualties": {"abducted": abducted},
    })
    .to_string()
}

/// Figures over the whole property run.
#[derive(Default)]
pub(crate) struct Tally {
    cases: Cell<usize>,
    reports: Cell<usize>,
    accepted: Cell<usize>,
    documents: Cell<usize>,
    non_iso_documents: Cell<usize>,
    /// Documents of alerts on the last day of year 9999.
    end_of_9999_documents: Cell<usize>,
    xmllint_calls: Cell<usize>,
}

pub(crate) fn add(c: &Cell<usize>, n: usize) {
    c.set(c.get() + n);
}

/// Runs one case through a fresh engine and checks every rendering of every alert.
pub(crate) fn run_case(regions: &[RegionCase], tally: &Tally) -> Result<(), TestCaseError> {
    let mut engine = engine();
    let mut docs = Vec::new();
    // Each case speaks of its own region: a region drawn twice would put one case's reports
    // days behind the other's clock, refused too_late as they should be.
    let mut seen = std::collections::HashSet::new();
    for rc in regions.iter().filter(|rc| seen.insert(rc.region.clone())) {
        let mut lines: Vec<(String, i64)> = rc
            .reports
            .iter()
            .enumerate()
            .map(|(i, (id, source, n))| {
                let t = rc.base + 600 * i as i64;
                (report(id, source, &rc.region, t, *n), t)
            })
            .collect();
        if rc.quiet_after {
            let t = rc.base + 5 * 86_400;
            lines.push((report("quiet", "quiet-source", &rc.region, t, 0), t));
        }
        for (line, t) in &lines {
            add(&tally.reports, 1);
            let outcome = engine.process(line.as_bytes(), None);
            let released = engine.take_released().into_iter().map(|r| r.outcome);
            for outcome in released.chain(std::iter::once(outcome)) {
                match outcome {
                    Outcome::Accepted { alerts, .. } => {
                        add(&tally.accepted, 1);
                        for alert in &alerts {
                            let xml = render_and_check(alert).map_err(TestCaseError::fail)?;
                            if !iso_3166_2_shaped(&alert.region) {
                                add(&tally.non_iso_documents, 1);
                            }
                            if alert.updated_at.starts_with("9999-12-31") {
                                add(&tally.end_of_9999_documents, 1);
                            }
                            docs.push(xml);
                        }
                    }
                    Outcome::Rejected(e) => {
                        // Only codes holding what validation refuses, and times past its bound.
                        let code_field = ["id", "region", "source.id"].contains(&e.field.as_str());
                        let ok = (e.reason == RejectReason::BadValue && code_field)
                            || (e.reason == RejectReason::BadTime
                                && e.field == "event_time"
                                && *t > LATEST);
                        prop_assert!(ok, "refused {e} for {line}");
                    }
                    Outcome::Duplicate { .. } | Outcome::Held { .. } => {}
                }
            }
        }
    }
    add(&tally.cases, 1);
    if !docs.is_empty() {
        add(&tally.documents, docs.len());
        add(&tally.xmllint_calls, docs.len().div_ceil(XMLLINT_BATCH));
        validate_cap_documents(&docs).map_err(TestCaseError::fail)?;
    }
    Ok(())
}

#[test]
pub(crate) fn alerts_from_arbitrary_accepted_codes_render_valid_cap_alertmanager_and_json() {
    // Fail early and clearly when the tools are missing.
    require_xmllint();
    cap_xsd();
    let started = std::time::Instant::now();
    let tally = Tally::default();
    let mut runner = TestRunner::new(Config {
        cases: 160,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&prop::collection::vec(region_case(), 1..4), |regions| {
        run_case(&regions, &tally)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!(
        "property run: {} cases, {} reports ({} accepted), {} CAP documents validated \
         ({} with non-ISO regions, {} on the last day of 9999) in {} xmllint calls, {:.1} s",
        tally.cases.get(),
        tally.reports.get(),
        tally.accepted.get(),
        tally.documents.get(),
        tally.non_iso_documents.get(),
        tally.end_of_9999_documents.get(),
        tally.xmllint_calls.get(),
        started.elapsed().as_secs_f64()
    );
    // The run proves something only if the rules fired on most inputs.
    assert!(
        tally.accepted.get() * 2 > tally.reports.get(),
        "too few accepted"
    );
    assert!(tally.documents.get() >= 1000, "too few documents");
    assert!(
        tally.non_iso_documents.get() >= 500,
        "too few non-ISO regions"
    );
    assert!(
        tally.end_of_9999_documents.get() >= 10,
        "too few at the end of 9999"
    );
}
