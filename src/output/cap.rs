//! Rendering an [`Alert`] as an OASIS Common Alerting Protocol 1.2 message.
//!
//! Element order follows the CAP 1.2 schema (alert: identifier, sender, sent, status, msgType,
//! scope, restriction, references; info: language, category, event, responseType, urgency,
//! severity, certainty, eventCode, senderName, headline, description, parameter, area). Text is
//! escaped by the XML writer. Times use `-00:00` for UTC, as CAP requires (no `Z`).
//!
//! The area is the alert's region: `areaDesc` is the region as given, and its `geocode` says
//! `ISO 3166-2` only when the region has the shape of an ISO 3166-2 subdivision code (`NG-BO`,
//! `FR-75`, `GB-LND`: two capital letters, a hyphen, one to three capital letters or digits).
//! Any other region (an imported `Country/Admin1` such as `Côte d'Ivoire/Lagunes`, an
//! organisation's own code) is geocoded under [`REGION_VALUE_NAME`], so that no consumer reads
//! it as an ISO code.
//!
//! Every value meets the CAP 1.2 schema (`standards/cap-1.2.xsd`, checked with xmllint in
//! `tests/renderings/` on the demo, generated streams and property-generated reports):
//! enumerated elements take fixed values, `sent` matches the schema's pattern because the
//! engine refuses event times whose windows would end after year 9999, and the identifier and
//! sender hold no spaces, commas, `<` or `&` (CAP 1.2 §3.2.1).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io;

use chrono::{DateTime, Datelike};
use quick_xml::Writer;
use quick_xml::events::BytesText;
use serde::{Deserialize, Serialize};

use crate::alert::{Alert, Status};
use crate::rules::Severity;

pub(crate) const CAP_NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";

/// The geocode `valueName` of a region that is an ISO 3166-2 subdivision code.
pub(crate) const ISO_3166_2: &str = "ISO 3166-2";

/// The geocode `valueName` of any other region: Vigil's own region code, as reports give it.
pub(crate) const REGION_VALUE_NAME: &str = "vigil:region";

/// True when `region` has the shape of an ISO 3166-2 subdivision code: `^[A-Z]{2}-[A-Z0-9]{1,3}$`.
/// The shape, not the register: `ZZ-ABC` passes, `ng-bo` and `NG-BO/Maiduguri` do not.
pub(crate) fn is_iso_3166_2(region: &str) -> bool {
    let b = region.as_bytes();
    b.len() >= 4
        && b.len() <= 6
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2] == b'-'
        && b[3..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// The geocode `valueName` for a region: [`ISO_3166_2`] or [`REGION_VALUE_NAME`].
pub(crate) fn geocode_value_name(region: &str) -> &'static str {
    if is_iso_3166_2(region) {
        ISO_3166_2
    } else {
        REGION_VALUE_NAME
    }
}

/// `[cap]` in `config/vigil.toml`: what the CAP messages say of who sends them and to whom
/// (CAP 1.2 §3.2.1 `sender`, `status`, `scope`, `restriction`, `addresses`; §3.2.2
/// `senderName`, `expires`; §3.2.4 `areaDesc`). Used by the CAP feed, `backtest --cap-dir` and
/// `run --cap-dir` alike.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CapSettings {
    /// `sender`: globally unique, no spaces, commas, `<` or `&`.
    pub sender: String,
    /// `senderName`: the human-readable name of the sending desk.
    pub sender_name: String,
    /// `status`: `Actual`, `Exercise`, `System`, `Test` or `Draft`.
    pub status: CapStatus,
    /// `scope`: `Public`, `Restricted` (with `restriction`) or `Private` (with `addresses`).
    pub scope: CapScope,
    /// `restriction` (scope `Restricted`): who may see the message.
    pub restriction: String,
    /// `addresses` (scope `Private`): the intended recipients, space-separated.
    pub addresses: String,
    /// `expires` = `sent` + this many hours.
    pub expires_hours: u32,
    /// `areaDesc` by region code; a region not listed is described by its code.
    pub areas: BTreeMap<String, String>,
}

/// CAP 1.2 `status` (§3.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum CapStatus {
    Actual,
    Exercise,
    System,
    Test,
    Draft,
}

/// CAP 1.2 `scope` (§3.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum CapScope {
    Public,
    Restricted,
    Private,
}

impl Default for CapSettings {
    fn default() -> Self {
        CapSettings {
            sender: "vigil@early-warning.invalid".into(),
            sender_name: "Vigil early-warning desk".into(),
            status: CapStatus::Actual,
            scope: CapScope::Restricted,
            restriction: "Early-warning desk and authorised subscribers".into(),
            addresses: String::new(),
            expires_hours: 48,
            areas: BTreeMap::new(),
        }
    }
}

impl CapSettings {
    /// What CAP forbids that serde cannot see: a sender with spaces, commas, `<` or `&`; a
    /// `Restricted` scope without a restriction or a `Private` one without addresses; no expiry.
    pub fn check(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.sender.is_empty() || self.sender.contains([' ', ',', '<', '&']) {
            out.push("cap.sender: must be non-empty, without spaces, commas, '<' or '&'".into());
        }
        if self.scope == CapScope::Restricted && self.restriction.trim().is_empty() {
            out.push("cap.restriction: required when cap.scope = \"Restricted\"".into());
        }
        if self.scope == CapScope::Private && self.addresses.trim().is_empty() {
            out.push("cap.addresses: required when cap.scope = \"Private\"".into());
        }
        if self.expires_hours == 0 {
            out.push("cap.expires_hours: must be at least 1".into());
        }
        out
    }
}

fn status_name(status: CapStatus) -> &'static str {
    match status {
        CapStatus::Actual => "Actual",
        CapStatus::Exercise => "Exercise",
        CapStatus::System => "System",
        CapStatus::Test => "Test",
        CapStatus::Draft => "Draft",
    }
}

/// The last moment a CAP time can name: `xs:dateTime` as CAP restricts it has four-digit years.
const LAST_CAP_TIME: &str = "9999-12-31T23:59:59-00:00";

/// `expires`: `sent` plus `hours`, in CAP time; never past [`LAST_CAP_TIME`] (an alert near the
/// end of year 9999, which the input limits allow, would otherwise expire in year 10000).
fn expires(sent: &str, hours: u32) -> String {
    DateTime::parse_from_rfc3339(sent)
        .ok()
        .and_then(|t| t.checked_add_signed(chrono::Duration::hours(i64::from(hours))))
        .map(|t| {
            if t.year() > 9999 {
                LAST_CAP_TIME.to_string()
            } else {
                t.format("%Y-%m-%dT%H:%M:%S-00:00").to_string()
            }
        })
        .unwrap_or_else(|| LAST_CAP_TIME.to_string())
}

/// CAP time: RFC 3339 with `-00:00` for UTC.
fn cap_time(rfc3339: &str) -> String {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S-00:00").to_string())
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// The identifier of the CAP message for one alert record. Unique per message, deterministic,
/// and free of the characters CAP forbids in identifiers (space, comma, `<`, `&`).
pub fn identifier(alert_id: &str, status: Status, at: &str) -> String {
    let compact: String = at.chars().filter(char::is_ascii_digit).collect();
    format!("{alert_id}.{}.{compact}", status.as_str())
}

fn text<W: io::Write>(w: &mut Writer<W>, name: &str, value: &str) -> io::Result<()> {
    let value = xml_chars(value);
    w.create_element(name)
        .write_text_content(BytesText::new(&value))?;
    Ok(())
}

/// `value` with the characters XML 1.0 forbids in a document (C0 controls other than tab,
/// newline and carriage return; U+FFFE and U+FFFF) replaced by U+FFFD: escaping cannot express
/// them, and a report's region or id may carry them into an alert.
fn xml_chars(value: &str) -> Cow<'_, str> {
    let forbidden = |c: char| matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}');
    if value.contains(forbidden) {
        Cow::Owned(value.replace(forbidden, "\u{FFFD}"))
    } else {
        Cow::Borrowed(value)
    }
}

fn parameter<W: io::Write>(w: &mut Writer<W>, name: &str, value: &str) -> io::Result<()> {
    w.create_element("parameter").write_inner_content(|w| {
        text(w, "valueName", name)?;
        text(w, "value", value)
    })?;
    Ok(())
}

/// Renders the CAP 1.2 XML document for one alert record.
pub fn render(alert: &Alert, sender: &CapSettings) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into a Vec cannot fail.
    let _ = write_alert(&mut w, alert, sender);
    let body = String::from_utf8(w.into_inner()).unwrap_or_default();
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}\n")
}

fn write_alert<W: io::Write>(w: &mut Writer<W>, a: &Alert, sender: &CapSettings) -> io::Result<()> {
    let (msg_type, response) = match a.status {
        Status::Firing => ("Alert", "Monitor"),
        Status::Escalated => ("Update", "Prepare"),
        Status::Resolved => ("Update", "AllClear"),
    };
    let (urgency, severity) = match a.severity {
        Severity::Critical => ("Immediate", "Extreme"),
        Severity::Warning => ("Expected", "Severe"),
        Severity::Watch => ("Future", "Moderate"),
    };
    let certainty = if a.observed.distinct_sources >= 2 {
        "Likely"
    } else {
        "Possible"
    };
    w.create_element("alert")
        .with_attribute(("xmlns", CAP_NAMESPACE))
        .write_inner_content(|w| {
            text(
                w,
                "identifier",
                &identifier(&a.alert_id, a.status, &a.updated_at),
            )?;
            text(w, "sender", &sender.sender)?;
            text(w, "sent", &cap_time(&a.updated_at))?;
            text(w, "status", status_name(sender.status))?;
            text(w, "msgType", msg_type)?;
            match sender.scope {
                CapScope::Public => text(w, "scope", "Public")?,
                CapScope::Restricted => {
                    text(w, "scope", "Restricted")?;
                    text(w, "restriction", &sender.restriction)?;
                }
                CapScope::Private => {
                    text(w, "scope", "Private")?;
                    text(w, "addresses", &sender.addresses)?;
                }
            }
            if a.status != Status::Firing {
                // The episode's first message: sender,identifier,sent.
                let first = format!(
                    "{},{},{}",
                    sender.sender,
                    identifier(&a.alert_id, Status::Firing, &a.first_seen),
                    cap_time(&a.first_seen)
                );
                text(w, "references", &first)?;
            }
            w.create_element("info").write_inner_content(|w| {
                text(w, "language", "en")?;
                text(w, "category", "Security")?;
                text(w, "event", &a.signal)?;
                text(w, "responseType", response)?;
                text(w, "urgency", urgency)?;
                text(w, "severity", severity)?;
                text(w, "certainty", certainty)?;
                w.create_element("eventCode").write_inner_content(|w| {
                    text(w, "valueName", "vigil:rule")?;
                    text(w, "value", &a.rule)
                })?;
                text(w, "expires", &expires(&a.updated_at, sender.expires_hours))?;
                text(w, "senderName", &sender.sender_name)?;
                text(
                    w,
                    "headline",
                    &format!("{} {} {}", a.severity.as_str(), a.signal, a.region),
                )?;
                text(w, "description", &a.summary)?;
                parameter(w, "vigil:alert_id", &a.alert_id)?;
                parameter(w, "vigil:status", a.status.as_str())?;
                parameter(
                    w,
                    "vigil:window",
                    &format!("{}/{}", a.window.start, a.window.end),
                )?;
                parameter(w, "vigil:observed_value", &a.observed.value.to_string())?;
                parameter(w, "vigil:threshold", &a.threshold.to_string())?;
                parameter(w, "vigil:reports", &a.observed.reports.to_string())?;
                parameter(
                    w,
                    "vigil:distinct_sources",
                    &a.observed.distinct_sources.to_string(),
                )?;
                parameter(w, "vigil:risk_factors", &a.risk_factors.join(" "))?;
                parameter(
                    w,
                    "vigil:evidence_report_ids",
                    // A JSON array: ids may hold spaces and commas.
                    &serde_json::to_string(&a.evidence.report_ids).unwrap_or_default(),
                )?;
                w.create_element("area").write_inner_content(|w| {
                    let desc = sender.areas.get(&a.region).unwrap_or(&a.region);
                    text(w, "areaDesc", desc)?;
                    w.create_element("geocode").write_inner_content(|w| {
                        text(w, "valueName", geocode_value_name(&a.region))?;
                        text(w, "value", &a.region)
                    })?;
                    Ok(())
                })?;
                Ok(())
            })?;
            Ok(())
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
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
        let payload =
            serde_json::to_value(crate::output::alertmanager::payload(&a, "vigil")).unwrap();
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
}
