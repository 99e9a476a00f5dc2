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

use crate::alert::phrasebook::{self, Language};
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

/// Renders the CAP 1.2 XML document for one alert record, with one `info` block in English.
pub fn render(alert: &Alert, sender: &CapSettings) -> String {
    render_in(alert, sender, &[Language::En])
}

/// Renders the CAP 1.2 XML document for one alert record with one `info` block per language of
/// `languages` (CAP 1.2 §3.2.2: several `info` blocks may differ by `language`), in that order;
/// English alone when `languages` is empty.
pub fn render_in(alert: &Alert, sender: &CapSettings, languages: &[Language]) -> String {
    let languages = if languages.is_empty() {
        &[Language::En][..]
    } else {
        languages
    };
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into a Vec cannot fail.
    let _ = write_alert(&mut w, alert, sender, languages);
    let body = String::from_utf8(w.into_inner()).unwrap_or_default();
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}\n")
}

fn write_alert<W: io::Write>(
    w: &mut Writer<W>,
    a: &Alert,
    sender: &CapSettings,
    languages: &[Language],
) -> io::Result<()> {
    let msg_type = match a.status {
        Status::Firing => "Alert",
        Status::Escalated | Status::Resolved => "Update",
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
            for &lang in languages {
                write_info(w, a, sender, lang)?;
            }
            Ok(())
        })?;
    Ok(())
}

/// One `info` block in `lang`: the same codes, times, parameters and area in every language;
/// `event`, `headline` and `description` in the language (English: the record's own words).
fn write_info<W: io::Write>(
    w: &mut Writer<W>,
    a: &Alert,
    sender: &CapSettings,
    lang: Language,
) -> io::Result<()> {
    let response = match a.status {
        Status::Firing => "Monitor",
        Status::Escalated => "Prepare",
        Status::Resolved => "AllClear",
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
    let event = match lang {
        Language::En => a.signal.clone(),
        _ => format!("{} ({})", phrasebook::signal(&a.signal, lang), a.signal),
    };
    w.create_element("info").write_inner_content(|w| {
        text(w, "language", lang.code())?;
        text(w, "category", "Security")?;
        text(w, "event", &event)?;
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
        text(w, "headline", &phrasebook::headline(a, lang))?;
        text(w, "description", &phrasebook::summary(a, lang))?;
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
}

#[cfg(test)]
mod tests;
