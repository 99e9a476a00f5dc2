//! The CAP rendering's tests: element order as the schema fixes it, the characters CAP and
//! XML forbid, and what `[cap]` sets.
use super::*;
use crate::alert::{AlertEvidence, Casualty, Observed, TimeRange};
use quick_xml::Reader;
use quick_xml::events::Event;

fn alert(status: Status, region: &str) -> Alert {
    Alert {
        alert_id: "6f1c2d9e-0000-5000-8000-000000000001".into(),
        status,
        rule: "abduction_cluster".into(),
        severity: Severity::Critical,
        region: region.into(),
        signal: "threat:abduction".into(),
        window: TimeRange {
            start: "2026-03-01T00:00:00Z".into(),
            end: "2026-03-02T00:00:00Z".into(),
        },
        observed: Observed {
            reports: 12,
            distinct_sources: 3,
            casualties: Casualty {
                killed: 0,
                injured: 0,
                abducted: 40,
                missing: 0,
                displaced: 0,
                sexual_violence: 0,
            },
            score: 7.5,
            value: 12.0,
            baseline: None,
        },
        threshold: 12.0,
        risk_factors: vec!["RF7".into(), "RF13".into()],
        evidence: AlertEvidence {
            report_ids: vec!["r-1".into(), "r-2".into()],
            indicators: vec!["7.8".into()],
        },
        first_seen: "2026-03-01T18:00:00Z".into(),
        updated_at: "2026-03-02T00:00:00Z".into(),
        summary: "Critical firing: threat:abduction in <R&D> \"x\".".into(),
        superseded_by: None,
    }
}

/// Child element names of the first element named `parent`, in document order.
fn children(xml: &str, parent: &str) -> Vec<String> {
    let mut reader = Reader::from_str(xml);
    let mut depth_in_parent: Option<usize> = None;
    let mut depth = 0usize;
    let mut out = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                depth += 1;
                if depth_in_parent.is_none() && name == parent {
                    depth_in_parent = Some(depth);
                } else if depth_in_parent.is_some_and(|d| depth == d + 1) {
                    out.push(name);
                }
            }
            Event::End(_) => {
                if depth_in_parent == Some(depth) {
                    return out;
                }
                depth -= 1;
            }
            Event::Eof => return out,
            _ => {}
        }
    }
}

#[test]
fn evidence_ids_with_spaces_and_commas_read_back_whole() {
    let mut a = alert(Status::Firing, "NG-BO");
    a.evidence.report_ids = vec!["r 1".into(), "r,2".into(), "r3".into()];
    let xml = render(&a, &CapSettings::default());
    let at = xml.find("vigil:evidence_report_ids").unwrap();
    let value = &xml[at..];
    let value = &value[value.find("<value>").unwrap() + 7..value.find("</value>").unwrap()];
    let value = value.replace("&quot;", "\"");
    let back: Vec<String> = serde_json::from_str(&value).unwrap();
    assert_eq!(back, a.evidence.report_ids);
    let payload = serde_json::to_value(crate::output::alertmanager::payload(&a, "vigil")).unwrap();
    let annotation = payload["alerts"][0]["annotations"]["evidence_report_ids"]
        .as_str()
        .unwrap();
    let back: Vec<String> = serde_json::from_str(annotation).unwrap();
    assert_eq!(back, a.evidence.report_ids);
}

#[test]
fn required_elements_in_schema_order() {
    let xml = render(&alert(Status::Firing, "NG-BO"), &CapSettings::default());
    assert_eq!(
        children(&xml, "alert"),
        [
            "identifier",
            "sender",
            "sent",
            "status",
            "msgType",
            "scope",
            "restriction",
            "info"
        ]
    );
    let info = children(&xml, "info");
    let expected_prefix = [
        "language",
        "category",
        "event",
        "responseType",
        "urgency",
        "severity",
        "certainty",
        "eventCode",
        "expires",
        "senderName",
        "headline",
        "description",
    ];
    assert_eq!(&info[..expected_prefix.len()], expected_prefix);
    assert_eq!(info.last().map(String::as_str), Some("area"));
    assert!(xml.contains(&format!("xmlns=\"{CAP_NAMESPACE}\"")));
    assert!(xml.contains("<sent>2026-03-02T00:00:00-00:00</sent>"));
    assert!(!xml.contains("Z</sent>"));
    // 48 hours after sent, by default.
    assert!(
        xml.contains("<expires>2026-03-04T00:00:00-00:00</expires>"),
        "{xml}"
    );
}

#[test]
fn expiry_never_passes_the_last_cap_time() {
    assert_eq!(
        expires("2026-03-02T00:00:00Z", 48),
        "2026-03-04T00:00:00-00:00"
    );
    assert_eq!(expires("9999-12-31T23:00:00Z", 48), LAST_CAP_TIME);
    assert_eq!(
        expires("9999-12-30T00:00:00Z", 24),
        "9999-12-31T00:00:00-00:00"
    );
}

#[test]
fn status_scope_sender_expiry_and_area_come_from_config() {
    let cap = CapSettings {
        sender: "ews@ecowas.invalid".into(),
        status: CapStatus::Exercise,
        scope: CapScope::Private,
        addresses: "desk@ecowas.invalid".into(),
        expires_hours: 6,
        areas: BTreeMap::from([("NG-BO".to_string(), "Borno State, Nigeria".to_string())]),
        ..CapSettings::default()
    };
    assert!(cap.check().is_empty());
    let xml = render(&alert(Status::Firing, "NG-BO"), &cap);
    assert_eq!(texts(&xml, "alert", "status"), ["Exercise"]);
    assert_eq!(texts(&xml, "alert", "scope"), ["Private"]);
    assert_eq!(texts(&xml, "alert", "addresses"), ["desk@ecowas.invalid"]);
    assert!(texts(&xml, "alert", "restriction").is_empty());
    assert_eq!(texts(&xml, "alert", "sender"), ["ews@ecowas.invalid"]);
    assert_eq!(texts(&xml, "area", "areaDesc"), ["Borno State, Nigeria"]);
    assert!(
        xml.contains("<expires>2026-03-02T06:00:00-00:00</expires>"),
        "{xml}"
    );
    let bad = CapSettings {
        sender: "a b".into(),
        scope: CapScope::Private,
        expires_hours: 0,
        ..CapSettings::default()
    };
    assert_eq!(bad.check().len(), 3, "{:?}", bad.check());
}

#[test]
fn updates_reference_the_first_message() {
    let xml = render(&alert(Status::Resolved, "NG-BO"), &CapSettings::default());
    assert_eq!(children(&xml, "alert")[7], "references");
    assert!(xml.contains("<msgType>Update</msgType>"));
    assert!(xml.contains("<responseType>AllClear</responseType>"));
    assert!(xml.contains(".firing.20260301180000,2026-03-01T18:00:00-00:00</references>"));
}

/// Found by the `engine` fuzz target: a report whose region held U+FFFE (or a control
/// character, as a JSON escape) gave a CAP document no XML parser accepts.
#[test]
fn characters_forbidden_in_xml_are_replaced() {
    let mut a = alert(Status::Escalated, "NG-BO::\u{FFFE}\u{1}\u{B}\u{1F}\tx");
    a.evidence.report_ids.push("r-\u{0}\u{FFFF}".into());
    let xml = render(&a, &CapSettings::default());
    assert!(
        !xml.chars()
            .any(|c| c < ' ' && !"\t\n\r".contains(c) || c == '\u{FFFE}' || c == '\u{FFFF}'),
        "{xml:?}"
    );
    assert!(xml.contains("<areaDesc>NG-BO::\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\tx</areaDesc>"));
    // In the evidence list (a JSON array) NUL is the escape `\u0000`; U+FFFF is replaced.
    assert!(xml.contains("r-\\u0000\u{FFFD}"), "{xml}");
    assert_eq!(children(&xml, "area"), ["areaDesc", "geocode"]);
}

/// The text of every element named `name` within the first element named `within`, in
/// document order, unescaped.
fn texts(xml: &str, within: &str, name: &str) -> Vec<String> {
    let mut reader = Reader::from_str(xml);
    let (mut inside, mut current, mut out) = (false, false, Vec::new());
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let n = e.name();
                inside |= n.as_ref() == within.as_bytes();
                current = inside && n.as_ref() == name.as_bytes();
                if current {
                    out.push(String::new());
                }
            }
            Event::Text(t) if current => {
                out.last_mut().unwrap().push_str(&t.decode().unwrap());
            }
            Event::GeneralRef(r) if current => {
                let name = r.decode().unwrap();
                let c = quick_xml::escape::resolve_predefined_entity(&name).unwrap();
                out.last_mut().unwrap().push_str(c);
            }
            Event::End(e) => {
                current = false;
                if e.name().as_ref() == within.as_bytes() {
                    return out;
                }
            }
            Event::Eof => return out,
            _ => {}
        }
    }
}

#[test]
fn iso_3166_2_shape() {
    for code in ["NG-BO", "FR-75", "GB-LND", "CD-1", "ZZ-A9Z"] {
        assert!(is_iso_3166_2(code), "{code}");
    }
    for code in [
        "",
        "NG",
        "NG-",
        "ng-bo",
        "Ng-BO",
        "NG-bo",
        "NGA-BO",
        "N-BO",
        "NG-BORN",
        "NG_BO",
        "NG BO",
        "NG-BO ",
        "NG-B-",
        "NG-BO/Maiduguri",
        "\u{FF2E}\u{FF27}-BO",
        "Côte d'Ivoire/Lagunes",
        "NG-É",
    ] {
        assert!(!is_iso_3166_2(code), "{code:?}");
    }
}

#[test]
fn iso_regions_are_geocoded_as_iso_3166_2() {
    for region in ["NG-BO", "GB-LND", "FR-75"] {
        let xml = render(&alert(Status::Firing, region), &CapSettings::default());
        assert_eq!(texts(&xml, "area", "areaDesc"), [region]);
        assert_eq!(texts(&xml, "geocode", "valueName"), [ISO_3166_2]);
        assert_eq!(texts(&xml, "geocode", "value"), [region]);
    }
}

/// An imported `Country/Admin1` region, a lower-case code or an organisation's own code is
/// an area described by its name, geocoded as Vigil's region, never claimed as ISO 3166-2.
#[test]
fn other_regions_are_described_and_geocoded_as_vigil_regions() {
    for region in [
        "Côte d'Ivoire/Lagunes",
        "Nigeria/Borno",
        "ng-bo",
        "NG-BORNO",
        "R&D <\"north\">",
    ] {
        let xml = render(&alert(Status::Escalated, region), &CapSettings::default());
        assert_eq!(texts(&xml, "area", "areaDesc"), [region], "{xml}");
        assert_eq!(texts(&xml, "geocode", "valueName"), [REGION_VALUE_NAME]);
        assert_eq!(texts(&xml, "geocode", "value"), [region]);
        assert!(!xml.contains(ISO_3166_2), "{xml}");
    }
}

/// CAP 1.2 §3.2.1: identifier and sender hold no spaces, commas or restricted characters
/// (`<`, `&`); `references` is a space-separated list of `sender,identifier,sent` triples.
#[test]
fn identifier_sender_and_references_have_cap_syntax() {
    let sender = CapSettings::default();
    let restricted = |s: &str| s.contains([' ', ',', '<', '&']) || s.is_empty();
    assert!(!restricted(&sender.sender));
    for status in Status::ALL {
        let xml = render(&alert(status, "Côte d'Ivoire/Lagunes"), &sender);
        let id = texts(&xml, "alert", "identifier");
        assert_eq!(id.len(), 1);
        assert!(!restricted(&id[0]), "{id:?}");
        assert_eq!(texts(&xml, "alert", "sender"), [sender.sender.as_str()]);
        let references = texts(&xml, "alert", "references");
        if status == Status::Firing {
            assert!(references.is_empty());
            continue;
        }
        let parts: Vec<&str> = references[0].split(',').collect();
        assert_eq!(parts.len(), 3, "{references:?}");
        assert_eq!(parts[0], sender.sender);
        assert!(!restricted(parts[1]), "{parts:?}");
        assert_eq!(
            parts[1],
            "6f1c2d9e-0000-5000-8000-000000000001.firing.20260301180000"
        );
        assert_eq!(parts[2], "2026-03-01T18:00:00-00:00");
    }
}

#[test]
fn text_is_escaped() {
    let xml = render(&alert(Status::Firing, "R&D<1>"), &CapSettings::default());
    assert!(
        xml.contains("<areaDesc>R&amp;D&lt;1&gt;</areaDesc>"),
        "{xml}"
    );
    assert!(!xml.contains("R&D<1>"));
}

#[test]
fn one_info_block_per_language_in_the_order_asked() {
    let a = alert(Status::Firing, "NG-BO");
    let langs = [Language::Fr, Language::Pt, Language::Ar, Language::En];
    let xml = render_in(&a, &CapSettings::default(), &langs);
    assert_eq!(texts(&xml, "alert", "language"), ["fr", "pt", "ar", "en"]);
    let headlines = texts(&xml, "alert", "headline");
    assert_eq!(headlines[0], "critique enlèvement NG-BO");
    assert_eq!(headlines[2], "حرج اختطاف NG-BO");
    assert_eq!(headlines[3], "critical threat:abduction NG-BO");
    // Every block carries the area and the same parameters.
    assert_eq!(texts(&xml, "alert", "areaDesc").len(), 4);
    let per_block = texts(&render(&a, &CapSettings::default()), "alert", "valueName").len();
    assert_eq!(texts(&xml, "alert", "valueName").len(), 4 * per_block);
    // English alone by default, as before.
    assert_eq!(
        texts(&render(&a, &CapSettings::default()), "alert", "language"),
        ["en"]
    );
}
