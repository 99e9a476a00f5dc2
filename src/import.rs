//! Reading report files: JSONL (one report per line, passed through untouched) and the CSV
//! exports of ACLED and UCDP GED, adapted into Vigil's report JSON. Each record keeps its line
//! number so that a bad one can be reported precisely and skipped.
//!
//! Column mapping (README "Backtest inputs" has the full table):
//! - ACLED: `event_id_cnty`→`id` (`acled:` prefix), `event_date`→`event_time`,
//!   `country`/`admin1`→`region` (`Country/Admin1`), `notes`→`text`, `fatalities`→`killed`,
//!   `sub_event_type` `Abduction/forced disappearance`→`abduction`, `Sexual violence`→
//!   `sexual_violence` (declared categories), `actor1`/`actor2` with `inter1`/`inter2` kinds.
//! - UCDP GED: `id`→`id` (`ucdp:` prefix), `date_start`→`event_time`, `country`/`adm_1`→
//!   `region`, `source_headline`→`text`, `where_description`→`location.name`, `best`→`killed`,
//!   `side_a`/`side_b`→actors.

use std::io::{BufRead, BufReader, Read};

use serde_json::{Value, json};

/// Input formats `backtest`, `tag` and `replay` read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Acled,
    Ucdp,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    #[error("line {line}: {message}")]
    Record { line: u64, message: String },
    #[error("cannot read input: {0}")]
    Io(String),
    #[error(
        "CSV header is neither an ACLED nor a UCDP GED export (no event_id_cnty or type_of_violence column)"
    )]
    UnknownCsv,
}

/// One record: its line number (1-based) and the report JSON bytes, or why it was skipped.
pub type Record = (u64, Result<Vec<u8>, ImportError>);

/// Detects the format from the first line.
pub fn detect(first_line: &str) -> Result<Format, ImportError> {
    let trimmed = first_line.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') || trimmed.is_empty() {
        return Ok(Format::Jsonl);
    }
    let cols: Vec<&str> = trimmed
        .split([',', '\t'])
        .map(|c| c.trim().trim_matches('"'))
        .collect();
    if cols.contains(&"event_id_cnty") {
        Ok(Format::Acled)
    } else if cols.contains(&"type_of_violence") && cols.contains(&"id") {
        Ok(Format::Ucdp)
    } else {
        Err(ImportError::UnknownCsv)
    }
}

/// Reads every record of `input`, detecting its format.
pub fn records<R: Read + 'static>(
    input: R,
) -> Result<(Format, Box<dyn Iterator<Item = Record>>), ImportError> {
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let first = {
        let buf = reader
            .fill_buf()
            .map_err(|e| ImportError::Io(e.to_string()))?;
        let end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    };
    let format = detect(&first)?;
    let iter: Box<dyn Iterator<Item = Record>> = match format {
        Format::Jsonl => Box::new(JsonLines { reader, line: 0 }),
        Format::Acled | Format::Ucdp => {
            let csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
            Box::new(CsvRecords::new(csv, format)?)
        }
    };
    Ok((format, iter))
}

struct JsonLines<R> {
    reader: R,
    line: u64,
}

impl<R: BufRead> Iterator for JsonLines<R> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            let mut buf = Vec::new();
            self.line += 1;
            match self.reader.read_until(b'\n', &mut buf) {
                Ok(0) => return None,
                Ok(_) => {
                    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                        buf.pop();
                    }
                    if buf.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    return Some((self.line, Ok(buf)));
                }
                Err(e) => return Some((self.line, Err(ImportError::Io(e.to_string())))),
            }
        }
    }
}

struct CsvRecords<R> {
    csv: csv::Reader<R>,
    format: Format,
    headers: csv::StringRecord,
}

impl<R: Read> CsvRecords<R> {
    fn new(mut csv: csv::Reader<R>, format: Format) -> Result<Self, ImportError> {
        let headers = csv
            .headers()
            .map_err(|e| ImportError::Io(e.to_string()))?
            .clone();
        Ok(CsvRecords {
            csv,
            format,
            headers,
        })
    }
}

impl<R: Read> Iterator for CsvRecords<R> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        let mut row = csv::StringRecord::new();
        match self.csv.read_record(&mut row) {
            Ok(false) => None,
            Ok(true) => {
                let line = row.position().map_or(0, |p| p.line());
                let get = Row {
                    headers: &self.headers,
                    row: &row,
                };
                let value = match self.format {
                    Format::Acled => acled(&get),
                    Format::Ucdp => ucdp(&get),
                    Format::Jsonl => unreachable!("CSV reader only for CSV formats"),
                };
                Some((
                    line,
                    value
                        .map(|v| serde_json::to_vec(&v).unwrap_or_default())
                        .map_err(|message| ImportError::Record { line, message }),
                ))
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                Some((
                    line,
                    Err(ImportError::Record {
                        line,
                        message: e.to_string(),
                    }),
                ))
            }
        }
    }
}

/// One CSV row, read by column name.
struct Row<'a> {
    headers: &'a csv::StringRecord,
    row: &'a csv::StringRecord,
}

impl<'a> Row<'a> {
    fn get(&self, name: &str) -> &'a str {
        self.headers
            .iter()
            .position(|h| h.trim() == name)
            .and_then(|i| self.row.get(i))
            .map(str::trim)
            .unwrap_or("")
    }
}

/// `2024-03-15`, `2024-03-15 00:00:00.000` or `15 March 2024` → RFC 3339 at 00:00 UTC.
fn date_to_rfc3339(s: &str) -> Option<String> {
    let day = s.split([' ', 'T']).next()?;
    if let Ok(d) = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d") {
        return Some(format!("{d}T00:00:00Z"));
    }
    chrono::NaiveDate::parse_from_str(s, "%d %B %Y")
        .ok()
        .map(|d| format!("{d}T00:00:00Z"))
}

fn count(s: &str) -> Result<i64, String> {
    if s.is_empty() {
        return Ok(0);
    }
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(|v| v as i64)
        .ok_or_else(|| "count is not a number".to_string())
}

fn region_code(country: &str, admin1: &str) -> String {
    match (country.is_empty(), admin1.is_empty()) {
        (false, false) => format!("{country}/{admin1}"),
        (false, true) => country.to_string(),
        _ => admin1.to_string(),
    }
}

fn coordinate(s: &str) -> Value {
    s.parse::<f64>().ok().map_or(Value::Null, Value::from)
}

/// ACLED `interN` codes to actor kinds.
fn acled_actor_kind(inter: &str) -> &'static str {
    match inter.trim() {
        "1" => "state_forces",
        "2" => "non_state_armed_group",
        "3" => "militia",
        "4" => "militia",
        "5" | "6" => "civilians",
        "7" => "civilians",
        "8" => "external_forces",
        _ => "unknown",
    }
}

fn acled(row: &Row<'_>) -> Result<Value, String> {
    let id = row.get("event_id_cnty");
    if id.is_empty() {
        return Err("event_id_cnty is empty".into());
    }
    let date = row.get("event_date");
    let time = date_to_rfc3339(date).ok_or_else(|| "event_date is not a date".to_string())?;
    let mut categories = Vec::new();
    match row.get("sub_event_type") {
        "Abduction/forced disappearance" => categories.push("abduction"),
        "Sexual violence" => categories.push("sexual_violence"),
        _ => {}
    }
    let actors: Vec<Value> = [("actor1", "inter1"), ("actor2", "inter2")]
        .iter()
        .filter(|(a, _)| !row.get(a).is_empty())
        .map(|(a, i)| json!({"name": row.get(a), "kind": acled_actor_kind(row.get(i))}))
        .collect();
    Ok(json!({
        "id": format!("acled:{id}"),
        "event_time": time,
        "region": region_code(row.get("country"), row.get("admin1")),
        "location": {"name": row.get("location"), "lat": coordinate(row.get("latitude")),
                     "lon": coordinate(row.get("longitude")), "admin1": row.get("admin1"), "admin2": row.get("admin2")},
        "source": {"id": format!("acled:{}", row.get("source")), "kind": "media", "reliability": "B", "credibility": 2},
        "language": "en",
        "text": row.get("notes"),
        "categories": categories,
        "casualties": {"killed": count(row.get("fatalities"))?},
        "actors": actors,
        "acled": {"event_type": row.get("event_type"), "sub_event_type": row.get("sub_event_type")},
    }))
}

fn ucdp(row: &Row<'_>) -> Result<Value, String> {
    let id = row.get("id");
    if id.is_empty() {
        return Err("id is empty".into());
    }
    let time = date_to_rfc3339(row.get("date_start"))
        .ok_or_else(|| "date_start is not a date".to_string())?;
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
    Ok(json!({
        "id": format!("ucdp:{id}"),
        "event_time": time,
        "region": region_code(row.get("country"), row.get("adm_1")),
        "location": {"name": row.get("where_description"), "lat": coordinate(row.get("latitude")),
                     "lon": coordinate(row.get("longitude")), "admin1": row.get("adm_1"), "admin2": row.get("adm_2")},
        "source": {"id": "ucdp-ged", "kind": "media", "reliability": "B", "credibility": 2},
        "language": "en",
        "text": row.get("source_headline"),
        "casualties": {"killed": count(row.get("best"))?},
        "actors": actors,
        "ucdp": {"type_of_violence": row.get("type_of_violence"), "conflict_name": row.get("conflict_name")},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &'static str) -> (Format, Vec<Record>) {
        let (f, it) = records(input.as_bytes()).unwrap();
        (f, it.collect())
    }

    #[test]
    fn jsonl_passes_lines_through_with_numbers() {
        let (f, recs) = all("{\"a\":1}\n\n{\"b\":2}\r\n");
        assert_eq!(f, Format::Jsonl);
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].0, 3);
        assert_eq!(recs[1].1.as_ref().unwrap(), b"{\"b\":2}");
    }

    #[test]
    fn acled_rows_map_to_reports() {
        let csv = "event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp\n\
XYZ123,2024-03-15,2024,1,Political violence,Violence against civilians,Abduction/forced disappearance,Unidentified Armed Group,,3,Civilians,,7,37,Civilian targeting,566,Western Africa,Nigeria,Borno,Gwoza,,Pulka,11.2,13.7,1,Local paper,National,\"Gunmen abducted 12 farmers, officials said.\",0,,1710500000\n\
BAD1,not-a-date,2024,1,,,,,,,,,,,,,,Nigeria,Borno,,,,,,,,,,0,,\n";
        let (f, recs) = all(Box::leak(csv.to_string().into_boxed_str()));
        assert_eq!(f, Format::Acled);
        let v: Value = serde_json::from_slice(recs[0].1.as_ref().unwrap()).unwrap();
        assert_eq!(v["id"], "acled:XYZ123");
        assert_eq!(v["region"], "Nigeria/Borno");
        assert_eq!(v["event_time"], "2024-03-15T00:00:00Z");
        assert_eq!(v["categories"][0], "abduction");
        assert_eq!(v["actors"][0]["kind"], "militia");
        assert_eq!(v["location"]["lat"], 11.2);
        assert!(matches!(
            &recs[1].1,
            Err(ImportError::Record { line: 3, .. })
        ));
    }

    #[test]
    fn ucdp_rows_map_to_reports() {
        let csv = "id,relid,year,active_year,code_status,type_of_violence,conflict_dset_id,conflict_new_id,conflict_name,dyad_dset_id,dyad_new_id,dyad_name,side_a_dset_id,side_a_new_id,side_a,side_b_dset_id,side_b_new_id,side_b,number_of_sources,source_article,source_office,source_date,source_headline,source_original,where_prec,where_coordinates,where_description,adm_1,adm_2,latitude,longitude,geom_wkt,priogrid_gid,country,country_id,region,event_clarity,date_prec,date_start,date_end,deaths_a,deaths_b,deaths_civilians,deaths_unknown,best,high,low,gwnoa,gwnob\n\
244657,NGA-2020-1-1,2020,1,Clear,3,1,1,IS - Civilians,1,1,IS - Civilians,1,1,IS,1,1,Civilians,2,,,,Militants besieged the town and killed nine,,1,Town,Town (Borno),Borno state,,11.8,13.1,,,Nigeria,475,Africa,1,1,2020-01-01 00:00:00.000,2020-01-01 00:00:00.000,0,0,9,0,9,9,9,475,\n";
        let (f, recs) = all(Box::leak(csv.to_string().into_boxed_str()));
        assert_eq!(f, Format::Ucdp);
        let v: Value = serde_json::from_slice(recs[0].1.as_ref().unwrap()).unwrap();
        assert_eq!(v["id"], "ucdp:244657");
        assert_eq!(v["region"], "Nigeria/Borno state");
        assert_eq!(v["casualties"]["killed"], 9);
        assert_eq!(v["event_time"], "2020-01-01T00:00:00Z");
    }

    #[test]
    fn unknown_csv_is_refused() {
        assert_eq!(detect("a,b,c").unwrap_err(), ImportError::UnknownCsv);
    }
}
