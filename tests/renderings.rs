//! Every rendering of every alert is valid for its consumer, whatever input was accepted:
//!
//! - each CAP document passes `xmllint --noout --schema cap-1.2.xsd` (the OASIS schema, from
//!   `../shared/standards/cap-1.2.xsd` beside the repository or `$VIGIL_CAP_XSD`), and keeps the
//!   rules the schema cannot say: identifier and sender without spaces, commas, `<` or `&`
//!   (CAP 1.2 §3.2.1), `references` as `sender,identifier,sent` triples, the geocode
//!   `ISO 3166-2` only for codes of that shape;
//! - each Alertmanager payload has the version 4 webhook shape that Alertmanager documents for
//!   `webhook_config` receivers;
//! - each alert JSON line has the fields DESIGN "Alert (output)" lists and reads back unchanged.
//!
//! Over `vigil backtest` on the demo and on a generated stream whose regions include imported
//! names with markup characters, and over property-generated reports whose ids, regions and
//! source ids are drawn from printable text of many scripts (`&<>"'`, `]]>`, inner spaces,
//! right-to-left letters, astral-plane characters, up to the length limits).
//!
//! xmllint (Debian: libxml2-utils) and the schema are required: without them these tests fail,
//! they do not skip.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::Value;
use vigil::alert::{Alert, Status};
use vigil::engine::{Engine, Outcome};
use vigil::output::cap::{CapSender, render};
use vigil::report::RejectReason;

// ---------------------------------------------------------------------------------------------
// Tools: xmllint and the schema.

fn cap_xsd() -> PathBuf {
    let path = match std::env::var_os("VIGIL_CAP_XSD") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/standards/cap-1.2.xsd"),
    };
    assert!(
        path.is_file(),
        "the OASIS CAP 1.2 schema is not at {}: these tests need shared/standards/cap-1.2.xsd \
         beside the repository, or VIGIL_CAP_XSD set to the schema's path",
        path.display()
    );
    path
}

fn require_xmllint() {
    let ok = Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "xmllint is not on PATH: it checks every CAP document against the OASIS schema; \
         install libxml2-utils (Debian/Ubuntu: apt-get install libxml2-utils; .ci/run does)"
    );
}

/// Files per xmllint call: one process and one schema compilation for many documents.
const XMLLINT_BATCH: usize = 500;

/// Validates CAP files against the schema, many per xmllint call. Returns how many validated,
/// or xmllint's messages and the first refused document.
fn xmllint(files: &[PathBuf]) -> Result<usize, String> {
    require_xmllint();
    let xsd = cap_xsd();
    for chunk in files.chunks(XMLLINT_BATCH) {
        let out = Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(&xsd)
            .args(chunk)
            .output()
            .expect("xmllint runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let validated = stderr.lines().filter(|l| l.ends_with(" validates")).count();
        if !out.status.success() || validated != chunk.len() {
            let refused = stderr
                .lines()
                .find_map(|l| l.strip_suffix(" fails to validate"))
                .map(|f| std::fs::read_to_string(f).unwrap_or_default())
                .unwrap_or_default();
            let head: String = stderr.chars().take(4000).collect();
            return Err(format!(
                "xmllint refused CAP documents ({validated} of {} validated):\n{head}\n\
                 first refused document:\n{refused}",
                chunk.len()
            ));
        }
    }
    Ok(files.len())
}

fn validate_cap_files(files: &[PathBuf]) -> usize {
    xmllint(files).unwrap_or_else(|e| panic!("{e}"))
}

/// Validates CAP documents held in memory: writes them to a temporary folder first.
fn validate_cap_documents(docs: &[String]) -> Result<usize, String> {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = docs
        .iter()
        .enumerate()
        .map(|(i, doc)| {
            let path = dir.path().join(format!("{i:05}.xml"));
            std::fs::write(&path, doc).unwrap();
            path
        })
        .collect();
    xmllint(&files)
}

// ---------------------------------------------------------------------------------------------
// What each consumer needs, beyond the schema.

/// Every leaf element of a document as (`parent/name`, text), in document order, unescaped.
fn leaves(xml: &str) -> Vec<(String, String)> {
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut text: Option<String> = None;
    let mut out = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                path.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap());
                text = Some(String::new());
            }
            Event::Text(t) => {
                if let Some(s) = text.as_mut() {
                    s.push_str(&t.decode().unwrap());
                }
            }
            Event::GeneralRef(r) => {
                let name = r.decode().unwrap();
                let c = quick_xml::escape::resolve_predefined_entity(&name)
                    .unwrap_or_else(|| panic!("unknown entity &{name};"));
                text.as_mut().expect("entity inside an element").push_str(c);
            }
            Event::End(_) => {
                let name = path.pop().unwrap();
                if let Some(t) = text.take() {
                    let parent = path.last().cloned().unwrap_or_default();
                    out.push((format!("{parent}/{name}"), t));
                }
            }
            Event::Eof => return out,
            _ => {}
        }
    }
}

fn leaf<'a>(leaves: &'a [(String, String)], path: &str) -> Vec<&'a str> {
    leaves
        .iter()
        .filter(|(p, _)| p == path)
        .map(|(_, t)| t.as_str())
        .collect()
}

/// `^[A-Z]{2}-[A-Z0-9]{1,3}$`, written here independently of `vigil::output::cap`.
fn iso_3166_2_shaped(code: &str) -> bool {
    let chars: Vec<char> = code.chars().collect();
    (4..=6).contains(&chars.len())
        && chars[..2].iter().all(char::is_ascii_uppercase)
        && chars[2] == '-'
        && chars[3..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// CAP 1.2 §3.2.1: no spaces, commas or restricted characters.
fn cap_token(s: &str) -> bool {
    !s.is_empty() && !s.contains([' ', ',', '<', '&'])
}

fn cap_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    b.len() == 25
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && (b[19] == b'-' || b[19] == b'+')
        && digits(20..22)
        && b[22] == b':'
        && digits(23..25)
}

/// The rules of CAP the schema does not express, and the area: `areaDesc` and geocode value are
/// the region exactly, the geocode `ISO 3166-2` exactly when the region has that shape.
fn check_cap(xml: &str, region: &str) -> Result<(), String> {
    let l = leaves(xml);
    let one = |path: &str| -> Result<&str, String> {
        match leaf(&l, path)[..] {
            [v] => Ok(v),
            ref other => Err(format!("{path}: {other:?} in\n{xml}")),
        }
    };
    let identifier = one("alert/identifier")?;
    let sender = one("alert/sender")?;
    let sent = one("alert/sent")?;
    if !cap_token(identifier) || !cap_token(sender) {
        return Err(format!(
            "identifier or sender breaks CAP §3.2.1: {identifier:?} {sender:?}"
        ));
    }
    if !cap_time(sent) {
        return Err(format!("sent {sent:?}"));
    }
    for references in leaf(&l, "alert/references") {
        for triple in references.split(' ') {
            let parts: Vec<&str> = triple.split(',').collect();
            if parts.len() != 3 || parts[0] != sender || !cap_token(parts[1]) || !cap_time(parts[2])
            {
                return Err(format!("references {references:?}"));
            }
        }
    }
    if one("area/areaDesc")? != region || one("geocode/value")? != region {
        return Err(format!("area is not the region {region:?}:\n{xml}"));
    }
    let expected = if iso_3166_2_shaped(region) {
        "ISO 3166-2"
    } else {
        "vigil:region"
    };
    let value_name = one("geocode/valueName")?;
    if value_name != expected {
        return Err(format!(
            "geocode valueName {value_name:?} for region {region:?}"
        ));
    }
    Ok(())
}

fn rfc3339(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
}

fn string_map(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| m.values().all(Value::is_string))
}

/// Prometheus label names: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The version 4 payload Alertmanager POSTs to a `webhook_config` receiver: version, groupKey,
/// truncatedAlerts, status, receiver, groupLabels, commonLabels, commonAnnotations,
/// externalURL, and alerts with status, labels, annotations, startsAt, endsAt (RFC 3339),
/// generatorURL and fingerprint.
fn check_webhook(v: &Value) -> Result<(), String> {
    let fail = |what: &str| Err(format!("{what}: {v}"));
    let firing_or_resolved = |s: &Value| matches!(s.as_str(), Some("firing" | "resolved"));
    if v["version"] != "4" {
        return fail("version");
    }
    if !v["groupKey"].is_string() || !v["receiver"].is_string() || !v["externalURL"].is_string() {
        return fail("groupKey, receiver or externalURL");
    }
    if !v["truncatedAlerts"].is_u64() {
        return fail("truncatedAlerts");
    }
    if !firing_or_resolved(&v["status"]) {
        return fail("status");
    }
    for key in ["groupLabels", "commonLabels", "commonAnnotations"] {
        if !string_map(&v[key]) {
            return fail(key);
        }
    }
    let Some(alerts) = v["alerts"].as_array().filter(|a| !a.is_empty()) else {
        return fail("alerts");
    };
    for a in alerts {
        if !firing_or_resolved(&a["status"]) || a["status"] != v["status"] {
            return fail("alert status");
        }
        if !string_map(&a["labels"]) || !string_map(&a["annotations"]) {
            return fail("labels or annotations");
        }
        let labels = a["labels"].as_object().unwrap();
        if !labels.contains_key("alertname") || !labels.keys().all(|k| label_name(k)) {
            return fail("label names");
        }
        if !rfc3339(&a["startsAt"]) || !rfc3339(&a["endsAt"]) {
            return fail("startsAt or endsAt");
        }
        if !a["generatorURL"].is_string() || a["fingerprint"].as_str().is_none_or(str::is_empty) {
            return fail("generatorURL or fingerprint");
        }
    }
    Ok(())
}

/// DESIGN "Alert (output)": alert_id, status, rule, severity, region, signal, window {start,
/// end}, observed (reports, distinct sources, casualty sums, baseline for spike rules),
/// threshold, risk_factors, evidence (report ids, indicators), first_seen, updated_at, summary.
fn check_alert_json(v: &Value) -> Result<(), String> {
    let fail = |what: &str| Err(format!("{what}: {v}"));
    for key in ["alert_id", "rule", "region", "signal", "summary"] {
        if v[key].as_str().is_none_or(str::is_empty) {
            return fail(key);
        }
    }
    if !matches!(
        v["status"].as_str(),
        Some("firing" | "escalated" | "resolved")
    ) {
        return fail("status");
    }
    if !matches!(
        v["severity"].as_str(),
        Some("watch" | "warning" | "critical")
    ) {
        return fail("severity");
    }
    for t in [
        &v["window"]["start"],
        &v["window"]["end"],
        &v["first_seen"],
        &v["updated_at"],
    ] {
        if !rfc3339(t) {
            return fail("times");
        }
    }
    let o = &v["observed"];
    if !o["reports"].is_u64() || !o["distinct_sources"].is_u64() || !o["casualties"].is_object() {
        return fail("observed");
    }
    if !(o["baseline"].is_null() || o["baseline"].is_number()) || !v["threshold"].is_number() {
        return fail("baseline or threshold");
    }
    let strings = |x: &Value| x.as_array().is_some_and(|a| a.iter().all(Value::is_string));
    if !strings(&v["risk_factors"])
        || !strings(&v["evidence"]["report_ids"])
        || !strings(&v["evidence"]["indicators"])
    {
        return fail("risk_factors or evidence");
    }
    Ok(())
}

/// One alert through every rendering: its JSON reads back equal, its Alertmanager payload has
/// the webhook shape and carries its region and id unchanged, its CAP document keeps the rules
/// above. Returns the CAP document, for the schema check.
fn render_and_check(alert: &Alert) -> Result<String, String> {
    let json = serde_json::to_string(alert).map_err(|e| e.to_string())?;
    let back: Alert = serde_json::from_str(&json).map_err(|e| format!("{e}: {json}"))?;
    if &back != alert {
        return Err(format!("alert JSON does not read back: {json}"));
    }
    check_alert_json(&serde_json::from_str(&json).unwrap())?;

    let body = serde_json::to_string(&vigil::output::alertmanager::payload(alert, "desk"))
        .map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
    check_webhook(&v)?;
    let a = &v["alerts"][0];
    if a["labels"]["region"] != alert.region.as_str()
        || v["groupLabels"]["region"] != alert.region.as_str()
        || a["annotations"]["alert_id"] != alert.alert_id.as_str()
        || a["annotations"]["summary"] != alert.summary.as_str()
    {
        return Err(format!("payload does not carry the alert's values: {body}"));
    }

    let xml = render(alert, &CapSender::default());
    check_cap(&xml, &alert.region)?;
    Ok(xml)
}

// ---------------------------------------------------------------------------------------------
// The binary: `vigil backtest --cap-dir --alertmanager-dir`.

fn vigil() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("vigil runs");
    assert!(
        out.status.success(),
        "vigil failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn files_in(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    files
}

/// What one backtest wrote.
struct Written {
    alerts: Vec<Alert>,
    cap: Vec<PathBuf>,
    alertmanager: Vec<PathBuf>,
    stderr: String,
}

fn backtest(dir: &Path, input: &Path) -> Written {
    let (cap, am, out) = (dir.join("cap"), dir.join("am"), dir.join("alerts.jsonl"));
    let o = run_ok(
        vigil()
            .arg("backtest")
            .arg(input)
            .arg("-o")
            .arg(&out)
            .arg("--cap-dir")
            .arg(&cap)
            .arg("--alertmanager-dir")
            .arg(&am),
    );
    let lines = std::fs::read_to_string(&out).unwrap();
    let mut alerts = Vec::new();
    for line in lines.lines() {
        let v: Value = serde_json::from_str(line).expect("alert line is JSON");
        check_alert_json(&v).unwrap();
        alerts.push(serde_json::from_str(line).expect("alert line reads as an alert"));
    }
    Written {
        alerts,
        cap: files_in(&cap, "xml"),
        alertmanager: files_in(&am, "json"),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Everything a backtest wrote is valid for its consumer; returns the CAP documents validated.
fn check_written(w: &Written) -> usize {
    assert!(!w.alerts.is_empty(), "no alerts: {}", w.stderr);
    assert_eq!(w.cap.len(), w.alerts.len());
    assert_eq!(w.alertmanager.len(), w.alerts.len());
    // Files are named `<alert_id>-<sequence>`: pair each with its alert record.
    let seq = |p: &Path| -> usize {
        let stem = p.file_stem().unwrap().to_str().unwrap();
        stem.rsplit('-').next().unwrap().parse().unwrap()
    };
    for path in &w.alertmanager {
        let alert = &w.alerts[seq(path) - 1];
        let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        check_webhook(&v).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(v["commonLabels"]["region"], alert.region.as_str());
        assert_eq!(
            v["alerts"][0]["annotations"]["alert_id"],
            alert.alert_id.as_str()
        );
        let resolved = alert.status == Status::Resolved;
        assert_eq!(v["status"] == "resolved", resolved, "{v}");
    }
    for path in &w.cap {
        let alert = &w.alerts[seq(path) - 1];
        let xml = std::fs::read_to_string(path).unwrap();
        check_cap(&xml, &alert.region).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    validate_cap_files(&w.cap)
}

#[test]
fn backtest_of_the_demo_renders_valid_cap_alertmanager_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo.jsonl");
    std::fs::write(&demo, run_ok(vigil().args(["gen", "--demo"])).stdout).unwrap();
    let w = backtest(dir.path(), &demo);
    for status in Status::ALL {
        assert!(
            w.alerts.iter().any(|a| a.status == status),
            "the demo has no {status:?} alert"
        );
    }
    let n = check_written(&w);
    eprintln!("demo: {n} CAP documents validated against the schema");
}

/// Region names an import can bring: `Country/Admin1`, markup characters, right-to-left and
/// astral-plane text, and ISO codes.
const TRICKY_REGIONS: [&str; 8] = [
    "Côte d'Ivoire/Lagunes",
    "R&D <north> \"x\" 'y' ]]> z",
    "العراق/نينوى",
    "ישראל/מחוז הצפון",
    "𝔑𝔤 🏳️ 𠀀/Borno",
    "NG-BO",
    "GB-LND",
    "ng-yo",
];

#[test]
fn backtest_of_a_generated_stream_with_imported_region_names_renders_valid_documents() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_ok(vigil().args([
        "gen",
        "--seed",
        "23",
        "--count",
        "6000",
        "--regions",
        "8",
        "--threat-rate",
        "0.5",
        "--escalation",
        "--late",
        "0.05",
        "--duplicates",
        "0.05",
        "--invalid",
        "0.02",
        "--size",
        "400",
    ]));
    // Each generated region becomes one of the tricky names (invalid lines stay as they are).
    let mut names = std::collections::BTreeMap::new();
    let mut lines = String::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        match serde_json::from_str::<Value>(line) {
            Ok(mut v) if v["region"].is_string() => {
                let n = names.len();
                let region = v["region"].as_str().unwrap().to_string();
                let name = *names
                    .entry(region)
                    .or_insert(TRICKY_REGIONS[n % TRICKY_REGIONS.len()]);
                v["region"] = Value::from(name);
                lines.push_str(&v.to_string());
            }
            _ => lines.push_str(line),
        }
        lines.push('\n');
    }
    let input = dir.path().join("stream.jsonl");
    std::fs::write(&input, lines).unwrap();
    let w = backtest(dir.path(), &input);
    let regions: std::collections::BTreeSet<&str> =
        w.alerts.iter().map(|a| a.region.as_str()).collect();
    assert!(regions.len() >= 3, "alerts in too few regions: {regions:?}");
    assert!(
        regions.iter().any(|r| !iso_3166_2_shaped(r))
            && regions.iter().any(|r| iso_3166_2_shaped(r)),
        "{regions:?}"
    );
    let n = check_written(&w);
    eprintln!(
        "generated stream: {n} CAP documents validated, {} regions with alerts",
        regions.len()
    );
}

/// The issue's example: a region ending in a vertical tab is refused at input, so no alert,
/// CAP document or payload ever carries it; the same reports under `NG-BO` render valid ones.
#[test]
fn a_region_with_a_vertical_tab_is_refused_at_input() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = String::new();
    for (i, region) in ["NG-BO\u{b}", "NG-BO"]
        .iter()
        .flat_map(|r| std::iter::repeat_n(*r, 5))
        .enumerate()
    {
        let report = serde_json::json!({
            "id": format!("r{i}"),
            "event_time": format!("2026-03-01T0{}:00:00Z", i % 5),
            "region": region,
            "source": {"id": format!("s{i}"), "reliability": "A", "credibility": 1},
            "text": "Gunmen abducted forty villagers from the market.",
            "casualties": {"abducted": 40},
        });
        lines.push_str(&report.to_string());
        lines.push('\n');
    }
    let input = dir.path().join("vt.jsonl");
    std::fs::write(&input, lines).unwrap();
    let w = backtest(dir.path(), &input);
    for line in 1..=5 {
        assert!(
            w.stderr
                .contains(&format!("line {line}: bad_value: region: a control")),
            "{}",
            w.stderr
        );
    }
    assert!(w.stderr.contains("rejected [bad_value=5]"), "{}", w.stderr);
    assert!(w.alerts.iter().all(|a| a.region == "NG-BO"));
    check_written(&w);

    // And in the core, as every path (Kafka, backtest) reaches it.
    let mut engine = engine();
    let report = r#"{"id":"x","event_time":"2026-03-01T00:00:00Z","region":"NG-BO\u000b","source":{"id":"s"},"text":"t"}"#;
    match engine.process(report.as_bytes(), None) {
        Outcome::Rejected(e) => {
            assert_eq!(
                (e.reason, e.field.as_str()),
                (RejectReason::BadValue, "region")
            );
        }
        other => panic!("accepted: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Property-generated reports through the core.

fn engine() -> Engine {
    vigil::config::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config")))
        .expect("shipped config loads")
        .engine()
        .expect("engine builds")
}

/// Characters for ids and codes: printable text of many scripts, markup characters, inner
/// spaces, astral-plane characters, and now and then any scalar value at all (which may be a
/// control or invisible character that validation refuses).
fn code_char() -> impl Strategy<Value = char> {
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
const FRAGMENTS: [&str; 10] = [
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
fn code(max: usize) -> impl Strategy<Value = String> {
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

fn fit(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let s = s[..end].trim();
    if s.is_empty() { "x".into() } else { s.into() }
}

/// 1989-01-01T00:00:00Z, the default earliest event time.
const EARLIEST: i64 = 599_616_000;
/// 9999-12-31T22:00:00Z: the reports of a region span up to two hours from it, into the last
/// hour of 9999, which the engine refuses (its windows would end in year 10000).
const NEAR_END: i64 = 253_402_293_600;
/// 9999-12-31T22:59:59Z, the latest event time the engine accepts with the shipped rules.
const LATEST: i64 = 253_402_297_199;

#[derive(Debug, Clone)]
struct RegionCase {
    region: String,
    base: i64,
    /// (id, source id, people abducted) per report, ten minutes apart.
    reports: Vec<(String, String, u32)>,
    /// A report five days later closes the episodes (resolved records, with references).
    quiet_after: bool,
}

fn region_case() -> impl Strategy<Value = RegionCase> {
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

fn report(id: &str, source: &str, region: &str, t: i64, abducted: u32) -> String {
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
struct Tally {
    cases: Cell<usize>,
    reports: Cell<usize>,
    accepted: Cell<usize>,
    documents: Cell<usize>,
    non_iso_documents: Cell<usize>,
    /// Documents of alerts on the last day of year 9999.
    end_of_9999_documents: Cell<usize>,
    xmllint_calls: Cell<usize>,
}

fn add(c: &Cell<usize>, n: usize) {
    c.set(c.get() + n);
}

/// Runs one case through a fresh engine and checks every rendering of every alert.
fn run_case(regions: &[RegionCase], tally: &Tally) -> Result<(), TestCaseError> {
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
fn alerts_from_arbitrary_accepted_codes_render_valid_cap_alertmanager_and_json() {
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
