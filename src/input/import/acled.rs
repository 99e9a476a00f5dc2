//! ACLED's CSV export as reports: `event_id_cnty`→`id` (`acled:` prefix), `event_date`→
//! `event_time`, `country`/`admin1`→`region` (`Country/Admin1`), `notes`→`text`, `fatalities`→
//! `killed` (and, when the export has `civilian_targeting`, `killed_civilians`: all of them
//! for `Civilian targeting`, none when blank, since ACLED marks events whose primary target was
//! civilians), `sub_event_type` `Abduction/forced disappearance`→`abduction` and `Sexual
//! violence`→`sexual_violence` (declared categories), `actor1`/`actor2` with `inter1`/`inter2`
//! kinds (codes 1–8 or their names), `source`'s first outlet → `source.id`.

use serde_json::{Value, json};

use crate::input::import::row::{Row, coordinate, region_code};
use crate::input::import::{Fault, ImportOptions};
use crate::report::CasualtyKind;

/// Columns a header must have to be taken for an ACLED export.
pub(super) const COLUMNS: &[&str] = &["event_id_cnty", "event_date"];

/// ACLED's actor type in `interN`: a code 1–8 (older exports) or its name (current ones,
/// any case, singular or plural).
fn inter_code(inter: &str) -> Option<u8> {
    let t = inter.trim();
    if let Ok(v) = t.parse::<f64>() {
        return (v.fract() == 0.0 && (1.0..=8.0).contains(&v)).then_some(v as u8);
    }
    let name = t
        .split('/')
        .map(|w| w.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("/")
        .to_lowercase();
    let singular = name.strip_suffix('s').unwrap_or(&name);
    match singular {
        "state force" => Some(1),
        "rebel group" => Some(2),
        "political militia" => Some(3),
        "identity militia" => Some(4),
        "rioter" => Some(5),
        "protester" | "protestor" => Some(6),
        "civilian" => Some(7),
        "external/other force" | "other force" | "external force" => Some(8),
        _ => None,
    }
}

/// ACLED `interN` (code or name) to an actor kind.
fn actor_kind(inter: &str) -> &'static str {
    match inter_code(inter) {
        Some(1) => "state_forces",
        Some(2) => "non_state_armed_group",
        Some(3 | 4) => "militia",
        Some(5..=7) => "civilians",
        Some(8) => "external_forces",
        _ => "unknown",
    }
}

/// `s` cut to at most `max` bytes, at a char boundary.
fn cut(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// ACLED's `source` lists every outlet, `;`-separated. The row is one event ACLED has already
/// merged from their accounts, so it is one report from one source, `acled:` + the first
/// outlet in lower case with its white space collapsed (cut to `max_bytes`); counting each outlet as a source would count one event's
/// coverage as independent corroboration. Two or more distinct outlets make its credibility
/// 1 ("confirmed by other independent sources"), a single one 2.
fn source_and_credibility(sources: &str, max_bytes: usize) -> (String, i64) {
    let outlets: Vec<&str> = sources
        .split(';')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .collect();
    // One outlet, however spelt: case and runs of white space do not make another source.
    let canonical = |o: &str| {
        o.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    let mut distinct: Vec<String> = outlets.iter().map(|o| canonical(o)).collect();
    distinct.sort();
    distinct.dedup();
    let credibility = if distinct.len() >= 2 { 1 } else { 2 };
    let id = match outlets.first() {
        // Cut at the limit, never leaving white space at the end (codes may not end in it).
        Some(first) => cut(&format!("acled:{}", canonical(first)), max_bytes)
            .trim_end()
            .to_string(),
        None => cut("acled", max_bytes).to_string(),
    };
    (id, credibility)
}

/// The report JSON of one ACLED row (mapping in the module doc).
pub(super) fn report(row: &Row<'_>, options: &ImportOptions) -> Result<Value, Fault> {
    let id = row.required("event_id_cnty")?;
    let time = row.date("event_date", options.date_order)?;
    let mut categories = Vec::new();
    match row.get("sub_event_type") {
        "Abduction/forced disappearance" => categories.push("abduction"),
        "Sexual violence" => categories.push("sexual_violence"),
        _ => {}
    }
    let actors: Vec<Value> = [("actor1", "inter1"), ("actor2", "inter2")]
        .iter()
        .filter(|(a, _)| !row.get(a).is_empty())
        .map(|(a, i)| json!({"name": row.get(a), "kind": actor_kind(row.get(i))}))
        .collect();
    let (source, credibility) = source_and_credibility(row.get("source"), options.max_code_bytes);
    let killed = row.count("fatalities")?;
    let mut casualties = json!({(CasualtyKind::Killed.name()): killed});
    if row.has("civilian_targeting") {
        let civilians = row.get("civilian_targeting") == "Civilian targeting";
        casualties["killed_civilians"] = json!(if civilians { killed } else { 0 });
    }
    Ok(json!({
        "id": format!("acled:{id}"),
        "event_time": time,
        "region": region_code(row.get("country"), row.get("admin1")),
        "location": {"name": row.get("location"), "lat": coordinate(row.get("latitude")),
                     "lon": coordinate(row.get("longitude")), "admin1": row.get("admin1"), "admin2": row.get("admin2")},
        "source": {"id": source, "kind": "media", "reliability": "B", "credibility": credibility},
        "language": "en",
        "text": row.get("notes"),
        "categories": categories,
        "casualties": casualties,
        "actors": actors,
        "acled": {"event_type": row.get("event_type"), "sub_event_type": row.get("sub_event_type")},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::import::test_support::{
        ACLED_HEADER, acled_row, file, read, read_with, report as report_of,
    };
    use crate::input::import::{Format, ImportError, ImportReason};

    #[test]
    fn acled_rows_map_to_reports() {
        let rows = [
            acled_row(&[("inter2", "7"), ("actor2", "Civilians")]),
            acled_row(&[("event_id_cnty", "BAD1"), ("event_date", "not-a-date")]),
        ];
        let (f, recs) = read(file(&ACLED_HEADER, &rows, ',', "\n"));
        assert_eq!(f, Format::Acled);
        let v = report_of(&recs[0]);
        assert_eq!(v["id"], "acled:TST1");
        assert_eq!(v["region"], "Nigeria/Borno");
        assert_eq!(v["event_time"], "2025-02-07T00:00:00Z");
        assert_eq!(v["categories"][0], "abduction");
        assert_eq!(v["actors"][0]["kind"], "militia");
        assert_eq!(v["actors"][1]["kind"], "civilians");
        assert_eq!(v["location"]["lat"], 11.2);
        assert_eq!(v["text"], "Gunmen abducted 12 farmers, officials said.");
        // A blank `civilian_targeting`: the event was not an attack on civilians.
        assert_eq!(v["casualties"]["killed_civilians"], 0);
        assert_eq!(recs[1].0, 3);
        assert!(matches!(
            &recs[1].1,
            Err(ImportError::Record {
                line: 3,
                reason: ImportReason::BadDate,
                ..
            })
        ));
    }

    #[test]
    fn acled_civilian_targeting_says_how_many_dead_were_civilians() {
        let rows = [acled_row(&[
            ("fatalities", "14"),
            ("civilian_targeting", "Civilian targeting"),
        ])];
        let (_, recs) = read(file(&ACLED_HEADER, &rows, ',', "\n"));
        let v = report_of(&recs[0]);
        assert_eq!(v["casualties"]["killed"], 14);
        assert_eq!(v["casualties"]["killed_civilians"], 14);
    }

    #[test]
    fn acled_source_is_the_first_outlet_and_several_outlets_confirm() {
        let four = "Daily Trust; Premium Times; Sahara Reporters; Vanguard (Nigeria)";
        let long = format!("{}é; Premium Times", "x".repeat(57));
        let rows = [
            acled_row(&[("source", four)]),
            acled_row(&[("source", "Daily Trust")]),
            acled_row(&[("source", " Daily Trust ;daily trust; ")]),
            acled_row(&[("source", &long)]),
            acled_row(&[("source", "")]),
        ];
        let (_, recs) = read(file(&ACLED_HEADER, &rows, ',', "\n"));
        let source = |i: usize| report_of(&recs[i])["source"].clone();
        assert_eq!(source(0)["id"], "acled:daily trust");
        assert_eq!(source(0)["reliability"], "B");
        assert_eq!(source(0)["credibility"], 1);
        assert_eq!(source(1)["id"], "acled:daily trust");
        assert_eq!(source(1)["credibility"], 2);
        // The same outlet twice is not a second source.
        assert_eq!(source(2)["id"], "acled:daily trust");
        assert_eq!(source(2)["credibility"], 2);
        // "acled:" + 57 bytes + a 2-byte é would be 65 bytes: cut before the é.
        let id = source(3)["id"].as_str().unwrap().to_string();
        assert_eq!(id, format!("acled:{}", "x".repeat(57)));
        assert_eq!(source(3)["credibility"], 1);
        assert_eq!(source(4)["id"], "acled");

        // The limit is the configured one, and the report passes the engine's own check.
        let options = ImportOptions {
            max_code_bytes: 12,
            ..ImportOptions::default()
        };
        let (_, recs) = read_with(file(&ACLED_HEADER, &rows[..1], ',', "\n"), &options);
        assert_eq!(report_of(&recs[0])["source"]["id"], "acled:daily");
        let (_, recs) = read(file(&ACLED_HEADER, &rows[..1], ',', "\n"));
        let bytes = recs[0].1.as_ref().unwrap();
        crate::report::decode(bytes, &crate::report::Limits::default(), None)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn acled_inter_names_give_the_same_kind_as_their_codes() {
        let table: [(&str, &[&str]); 8] = [
            ("1", &["State forces", "state force", "STATE FORCES"]),
            ("2", &["Rebel group", "Rebel groups", "rebel group"]),
            ("3", &["Political militia", "Political militias"]),
            ("4", &["Identity militia", "identity militias"]),
            ("5", &["Rioters", "Rioter"]),
            ("6", &["Protesters", "protester"]),
            ("7", &["Civilians", "Civilian"]),
            (
                "8",
                &[
                    "External/Other forces",
                    "External / Other Force",
                    "external/other forces",
                ],
            ),
        ];
        for (code, names) in table {
            let kind = actor_kind(code);
            assert_ne!(kind, "unknown", "code {code}");
            assert_eq!(actor_kind(&format!("{code}.0")), kind);
            for name in names {
                assert_eq!(actor_kind(name), kind, "{name} vs code {code}");
            }
        }
        for other in ["", "0", "9", "Sole military action", "2.5"] {
            assert_eq!(actor_kind(other), "unknown", "{other}");
        }
        // And through a whole row.
        let rows = [acled_row(&[("inter1", "Political militia")])];
        let (_, recs) = read(file(&ACLED_HEADER, &rows, ',', "\n"));
        assert_eq!(report_of(&recs[0])["actors"][0]["kind"], "militia");
    }
}
