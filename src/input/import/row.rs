//! One row of an export, read by column name: cells, counts, dates, coordinates and the region
//! code, with the [`Fault`] that names the column when a cell cannot be read.

use serde_json::Value;

use crate::input::import::date::{DateOrder, parse_date};
use crate::input::import::{Fault, ImportReason};

/// One CSV row, read by (lower-case) column name.
pub(super) struct Row<'a> {
    headers: &'a [String],
    row: &'a [String],
}

impl<'a> Row<'a> {
    /// The cells of `row` under the (lower-case) `headers`.
    pub(super) fn new(headers: &'a [String], row: &'a [String]) -> Self {
        Row { headers, row }
    }

    /// The trimmed cell of column `name`; empty when the column is absent.
    pub(super) fn get(&self, name: &str) -> &'a str {
        self.headers
            .iter()
            .position(|h| h == name)
            .and_then(|i| self.row.get(i))
            .map_or("", |s| s.trim())
    }

    /// Whether the export has column `name` (older exports lack some).
    pub(super) fn has(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h == name)
    }

    /// The cell of column `name`, which must not be empty.
    pub(super) fn required(&self, name: &str) -> Result<&'a str, Fault> {
        match self.get(name) {
            "" => Err(Fault::new(
                ImportReason::MissingField,
                name,
                "is empty".into(),
            )),
            v => Ok(v),
        }
    }

    /// The date in column `name` as RFC 3339 at 00:00 UTC.
    pub(super) fn date(&self, name: &str, order: DateOrder) -> Result<String, Fault> {
        let value = self.required(name)?;
        parse_date(value, order)
            .map(|d| format!("{d}T00:00:00Z"))
            .map_err(|problem| problem.fault(name, value, order))
    }

    /// The count in column `name`: a whole number (`3`, `3.0`), 0 when empty.
    pub(super) fn count(&self, name: &str) -> Result<i64, Fault> {
        let s = self.get(name);
        if s.is_empty() {
            return Ok(0);
        }
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && v.fract() == 0.0)
            .map(|v| v as i64)
            .ok_or_else(|| {
                Fault::new(
                    ImportReason::BadValue,
                    name,
                    "expected a whole number".into(),
                )
            })
    }
}

/// The region code of a row: `Country/Admin1`, or whichever of the two is given.
pub(super) fn region_code(country: &str, admin1: &str) -> String {
    match (country.is_empty(), admin1.is_empty()) {
        (false, false) => format!("{country}/{admin1}"),
        (false, true) => country.to_string(),
        _ => admin1.to_string(),
    }
}

/// A coordinate; a decimal comma (`11,2`, from `;`-separated spreadsheets) is read as a point.
pub(super) fn coordinate(s: &str) -> Value {
    let s = if s.contains('.') {
        s.to_string()
    } else {
        s.replacen(',', ".", 1)
    };
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map_or(Value::Null, Value::from)
}
