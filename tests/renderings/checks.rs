//! What each consumer needs, beyond the schema.

use super::*;

/// Every leaf element of a document as (`parent/name`, text), in document order, unescaped.
pub(crate) fn leaves(xml: &str) -> Vec<(String, String)> {
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

pub(crate) fn leaf<'a>(leaves: &'a [(String, String)], path: &str) -> Vec<&'a str> {
    leaves
        .iter()
        .filter(|(p, _)| p == path)
        .map(|(_, t)| t.as_str())
        .collect()
}

/// `^[A-Z]{2}-[A-Z0-9]{1,3}$`, written here independently of `vigil::output::cap`.
pub(crate) fn iso_3166_2_shaped(code: &str) -> bool {
    let chars: Vec<char> = code.chars().collect();
    (4..=6).contains(&chars.len())
        && chars[..2].iter().all(char::is_ascii_uppercase)
        && chars[2] == '-'
        && chars[3..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// CAP 1.2 §3.2.1: no spaces, commas or restricted characters.
pub(crate) fn cap_token(s: &str) -> bool {
    !s.is_empty() && !s.contains([' ', ',', '<', '&'])
}

pub(crate) fn cap_time(s: &str) -> bool {
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
pub(crate) fn check_cap(xml: &str, region: &str) -> Result<(), String> {
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

pub(crate) fn rfc3339(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
}

pub(crate) fn string_map(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| m.values().all(Value::is_string))
}

/// Prometheus label names: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub(crate) fn label_name(name: &str) -> bool {
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
pub(crate) fn check_webhook(v: &Value) -> Result<(), String> {
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
pub(crate) fn check_alert_json(v: &Value) -> Result<(), String> {
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
pub(crate) fn render_and_check(alert: &Alert) -> Result<String, String> {
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

    let xml = render(alert, &CapSettings::default());
    check_cap(&xml, &alert.region)?;
    Ok(xml)
}
