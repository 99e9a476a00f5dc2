//! Rendering an [`Alert`] as an OASIS Common Alerting Protocol 1.2 message.
//!
//! Element order follows the CAP 1.2 schema (alert: identifier, sender, sent, status, msgType,
//! scope, restriction, references; info: language, category, event, responseType, urgency,
//! severity, certainty, eventCode, senderName, headline, description, parameter, area). Text is
//! escaped by the XML writer. Times use `-00:00` for UTC, as CAP requires (no `Z`).

use std::borrow::Cow;
use std::io;

use chrono::DateTime;
use quick_xml::Writer;
use quick_xml::events::BytesText;

use crate::alert::{Alert, Status};
use crate::rules::Severity;

pub const CAP_NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";

/// Who sends the CAP messages (`sender`, `senderName`).
#[derive(Debug, Clone)]
pub struct CapSender {
    pub sender: String,
    pub sender_name: String,
}

impl Default for CapSender {
    fn default() -> Self {
        CapSender {
            sender: "vigil@early-warning.invalid".into(),
            sender_name: "Vigil early-warning desk".into(),
        }
    }
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
pub fn render(alert: &Alert, sender: &CapSender) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into a Vec cannot fail.
    let _ = write_alert(&mut w, alert, sender);
    let body = String::from_utf8(w.into_inner()).unwrap_or_default();
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}\n")
}

fn write_alert<W: io::Write>(w: &mut Writer<W>, a: &Alert, sender: &CapSender) -> io::Result<()> {
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
            text(w, "status", "Actual")?;
            text(w, "msgType", msg_type)?;
            text(w, "scope", "Restricted")?;
            text(
                w,
                "restriction",
                "Early-warning desk and authorised subscribers",
            )?;
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
                    &a.evidence.report_ids.join(" "),
                )?;
                w.create_element("area").write_inner_content(|w| {
                    text(w, "areaDesc", &a.region)?;
                    w.create_element("geocode").write_inner_content(|w| {
                        text(w, "valueName", "ISO 3166-2")?;
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
    fn required_elements_in_schema_order() {
        let xml = render(&alert(Status::Firing, "NG-BO"), &CapSender::default());
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
            "senderName",
            "headline",
            "description",
        ];
        assert_eq!(&info[..expected_prefix.len()], expected_prefix);
        assert_eq!(info.last().map(String::as_str), Some("area"));
        assert!(xml.contains(&format!("xmlns=\"{CAP_NAMESPACE}\"")));
        assert!(xml.contains("<sent>2026-03-02T00:00:00-00:00</sent>"));
        assert!(!xml.contains("Z</sent>"));
    }

    #[test]
    fn updates_reference_the_first_message() {
        let xml = render(&alert(Status::Resolved, "NG-BO"), &CapSender::default());
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
        let xml = render(&a, &CapSender::default());
        assert!(
            !xml.chars()
                .any(|c| c < ' ' && !"\t\n\r".contains(c) || c == '\u{FFFE}' || c == '\u{FFFF}'),
            "{xml:?}"
        );
        assert!(xml.contains("<areaDesc>NG-BO::\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\tx</areaDesc>"));
        assert!(xml.contains("r-\u{FFFD}\u{FFFD}</value>"));
        assert_eq!(children(&xml, "area"), ["areaDesc", "geocode"]);
    }

    #[test]
    fn text_is_escaped() {
        let xml = render(&alert(Status::Firing, "R&D<1>"), &CapSender::default());
        assert!(
            xml.contains("<areaDesc>R&amp;D&lt;1&gt;</areaDesc>"),
            "{xml}"
        );
        assert!(!xml.contains("R&D<1>"));
    }
}
