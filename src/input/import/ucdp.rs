//! UCDP GED's CSV export as reports: `id`→`id` (`ucdp:` prefix), `date_start`→`event_time`,
//! `country`/`adm_1`→`region`, `source_headline`→`text`, `where_description`→`location.name`,
//! `best`→`killed`, `deaths_civilians`→`killed_civilians` (when the export has it),
//! `side_a`/`side_b`→actors (`Government of …` as state forces). The whole dataset is one
//! source, `ucdp-ged`.

use serde_json::{Value, json};

use crate::input::import::row::{Row, coordinate, region_code};
use crate::input::import::{Fault, ImportOptions};
use crate::report::CasualtyKind;

/// Columns a header must have to be taken for a UCDP GED export.
pub(super) const COLUMNS: &[&str] = &["id", "type_of_violence", "date_start"];

/// The report JSON of one UCDP GED row (mapping in the module doc).
pub(super) fn report(row: &Row<'_>, options: &ImportOptions) -> Result<Value, Fault> {
    let id = row.required("id")?;
    let time = row.date("date_start", options.date_order)?;
    let side_kind = |side: &str| {
        if side.starts_with("Government of") {
            "state_forces"
        } else {
            "non_state_armed_group"
        }
    };
    let actors: Vec<Value> = ["side_a", "side_b"]
        .iter()
        .filter(|s| !row.get(s).is_empty())
        .map(|s| json!({"name": row.get(s), "kind": side_kind(row.get(s))}))
        .collect();
    let mut casualties = json!({(CasualtyKind::Killed.name()): row.count("best")?});
    if row.has("deaths_civilians") {
        casualties["killed_civilians"] = json!(row.count("deaths_civilians")?);
    }
    Ok(json!({
        "id": format!("ucdp:{id}"),
        "event_time": time,
        "region": region_code(row.get("country"), row.get("adm_1")),
        "location": {"name": row.get("where_description"), "lat": coordinate(row.get("latitude")),
                     "lon": coordinate(row.get("longitude")), "admin1": row.get("adm_1"), "admin2": row.get("adm_2")},
        "source": {"id": "ucdp-ged", "kind": "media", "reliability": "B", "credibility": 2},
        "language": "en",
        "text": row.get("source_headline"),
        "casualties": casualties,
        "actors": actors,
        "ucdp": {"type_of_violence": row.get("type_of_violence"), "conflict_name": row.get("conflict_name")},
    }))
}

#[cfg(test)]
mod tests {
    use crate::input::import::Format;
    use crate::input::import::test_support::{UCDP_HEADER, file, read, report, ucdp_row};

    #[test]
    fn ucdp_rows_map_to_reports() {
        let (f, recs) = read(file(&UCDP_HEADER, &[ucdp_row(&[])], ',', "\n"));
        assert_eq!(f, Format::Ucdp);
        let v = report(&recs[0]);
        assert_eq!(v["id"], "ucdp:244657");
        assert_eq!(v["region"], "Nigeria/Borno state");
        assert_eq!(v["casualties"]["killed"], 9);
        assert_eq!(v["casualties"]["killed_civilians"], 9);
        assert_eq!(v["event_time"], "2020-01-01T00:00:00Z");
    }
}
