//! Test helpers for the import tests: invented ACLED and UCDP GED rows, CSV files made of them,
//! and reading a file's records.

use serde_json::Value;

use crate::input::import::{Format, ImportError, ImportOptions, ImportReason, Record, records};

pub(super) const ACLED_HEADER: [&str; 31] = [
    "event_id_cnty",
    "event_date",
    "year",
    "time_precision",
    "disorder_type",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "inter1",
    "actor2",
    "assoc_actor_2",
    "inter2",
    "interaction",
    "civilian_targeting",
    "iso",
    "region",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "source_scale",
    "notes",
    "fatalities",
    "tags",
    "timestamp",
];

pub(super) const UCDP_HEADER: [&str; 17] = [
    "id",
    "year",
    "type_of_violence",
    "conflict_name",
    "side_a",
    "side_b",
    "source_headline",
    "where_description",
    "adm_1",
    "adm_2",
    "latitude",
    "longitude",
    "country",
    "date_start",
    "date_end",
    "best",
    "deaths_civilians",
];

/// A row of `header`: the value `set` gives a column, else its `default`.
pub(super) fn row(
    header: &[&str],
    default: fn(&str) -> &'static str,
    set: &[(&str, &str)],
) -> Vec<String> {
    let value = |h: &str| {
        set.iter()
            .find(|(k, _)| *k == h)
            .map_or(default(h), |(_, v)| v)
    };
    header.iter().map(|h| value(h).to_string()).collect()
}

/// An invented ACLED row: defaults, with `set` replacing columns.
pub(super) fn acled_row(set: &[(&str, &str)]) -> Vec<String> {
    row(
        &ACLED_HEADER,
        |h| match h {
            "event_id_cnty" => "TST1",
            "event_date" => "2025-02-07",
            "sub_event_type" => "Abduction/forced disappearance",
            "actor1" => "Unidentified Armed Group",
            "inter1" => "3",
            "country" => "Nigeria",
            "admin1" => "Borno",
            "location" => "Pulka",
            "latitude" => "11.2",
            "longitude" => "13.7",
            "source" => "Daily Trust",
            "notes" => "Gunmen abducted 12 farmers, officials said.",
            "fatalities" => "0",
            _ => "",
        },
        set,
    )
}

pub(super) fn ucdp_row(set: &[(&str, &str)]) -> Vec<String> {
    row(
        &UCDP_HEADER,
        |h| match h {
            "id" => "244657",
            "type_of_violence" => "3",
            "side_a" => "IS",
            "side_b" => "Civilians",
            "source_headline" => "Militants besieged the town and killed nine",
            "where_description" => "Town (Borno)",
            "adm_1" => "Borno state",
            "latitude" => "11.8",
            "longitude" => "13.1",
            "country" => "Nigeria",
            "date_start" => "2020-01-01 00:00:00.000",
            "best" => "9",
            "deaths_civilians" => "9",
            _ => "",
        },
        set,
    )
}

/// A CSV file: fields quoted where they need it, lines ended by `eol`.
pub(super) fn file<S: AsRef<str>>(
    header: &[&str],
    rows: &[Vec<S>],
    delimiter: char,
    eol: &str,
) -> String {
    let line = |fields: Vec<&str>| {
        fields
            .iter()
            .map(|f| {
                if f.contains([delimiter, '"', '\n', '\r']) {
                    format!("\"{}\"", f.replace('"', "\"\""))
                } else {
                    f.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(&delimiter.to_string())
    };
    let mut out = line(header.to_vec()) + eol;
    for r in rows {
        out += &line(r.iter().map(AsRef::as_ref).collect());
        out += eol;
    }
    out
}

pub(super) fn read_with(
    input: impl Into<Vec<u8>>,
    options: &ImportOptions,
) -> (Format, Vec<Record>) {
    let (f, it) = records(std::io::Cursor::new(input.into()), options).unwrap();
    (f, it.collect())
}

pub(super) fn read(input: impl Into<Vec<u8>>) -> (Format, Vec<Record>) {
    read_with(input, &ImportOptions::default())
}

pub(super) fn report(r: &Record) -> Value {
    match &r.1 {
        Ok(bytes) => serde_json::from_slice(bytes).unwrap(),
        Err(e) => panic!("line {} refused: {e}", r.0),
    }
}

pub(super) fn reason(r: &Record) -> Option<ImportReason> {
    r.1.as_ref().err().and_then(ImportError::reason)
}
