//! Dates as exports spell them (`2025-02-07`, `7 February 2025`, `7-Feb-25`, `13/2/2025`, …),
//! read to a day, and [`DateOrder`], which says how to read a numeric date whose day and month
//! could be swapped.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::input::import::{Fault, ImportReason};

/// Which comes first in a numeric date such as `2/7/2025` (`[import] date_order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DateOrder {
    /// Read a numeric date only when one reading is possible (`13/2/2025`); refuse the rest.
    #[default]
    Auto,
    /// Day first: `2/7/2025` is 2 July.
    Dmy,
    /// Month first: `2/7/2025` is 7 February.
    Mdy,
}

/// Why a date was not read.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum DateProblem {
    /// No accepted spelling (or no such day).
    Unreadable,
    /// Day first and month first give two different days.
    Ambiguous { dmy: NaiveDate, mdy: NaiveDate },
}

impl DateProblem {
    /// The fault for `value` of column `field`, saying what to send or to set instead.
    pub(super) fn fault(self, field: &str, value: &str, order: DateOrder) -> Fault {
        let numeric = value
            .chars()
            .all(|c| c.is_ascii_digit() || "/.- ".contains(c));
        match self {
            DateProblem::Unreadable => {
                let under = match order {
                    _ if !numeric => String::new(),
                    DateOrder::Auto => String::new(),
                    DateOrder::Dmy => {
                        " (numeric dates read day first: date_order = \"dmy\")".into()
                    }
                    DateOrder::Mdy => {
                        " (numeric dates read month first: date_order = \"mdy\")".into()
                    }
                };
                Fault::new(
                    ImportReason::BadDate,
                    field,
                    format!(
                        "not a date; expected e.g. 2025-02-07, 7 February 2025, 7-Feb-25, February 7, 2025 or 13/2/2025{under}"
                    ),
                )
            }
            DateProblem::Ambiguous { dmy, mdy } => Fault::new(
                ImportReason::AmbiguousDate,
                field,
                format!(
                    "{} (day first) or {} (month first)? Set [import] date_order = \"dmy\" or \"mdy\" in vigil.toml (or VIGIL__IMPORT__DATE_ORDER)",
                    dmy.format("%-d %B %Y"),
                    mdy.format("%-d %B %Y")
                ),
            ),
        }
    }
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// An English month name or its three-letter abbreviation (and `Sept`), any case.
fn month_number(word: &str) -> Option<u32> {
    let w = word.to_lowercase();
    if w == "sept" {
        return Some(9);
    }
    let i = MONTHS
        .iter()
        .position(|m| *m == w || (w.len() == 3 && m.starts_with(w.as_str())))?;
    u32::try_from(i + 1).ok()
}

/// A part of a date: a number with its digit count, or a month name.
#[derive(Clone, Copy)]
enum Part {
    Number(u32, usize),
    Month(u32),
}

fn part(token: &str) -> Option<Part> {
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|s| token.strip_suffix(s))
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or(token);
    if !digits.is_empty() && digits.len() <= 4 && digits.bytes().all(|b| b.is_ascii_digit()) {
        return digits.parse().ok().map(|n| Part::Number(n, digits.len()));
    }
    month_number(token).map(Part::Month)
}

/// A year of four digits, or of two: 00–29 are 2000–2029 and 30–99 are 1930–1999 (the pivot
/// spreadsheets use when they write `7-Feb-25`).
fn year(n: u32, digits: usize) -> Option<i32> {
    let n = i32::try_from(n).ok()?;
    match digits {
        4 => Some(n),
        2 if n < 30 => Some(2000 + n),
        2 => Some(1900 + n),
        _ => None,
    }
}

/// The accepted spellings of a day: `2025-02-07` (with any time of day after it),
/// `7 February 2025`, `7 Feb 2025`, `7-Feb-25`, `07-February-2025`, `February 7, 2025`,
/// `2025/02/07`, and numeric `d/m/y` or `m/d/y` (`/`, `.` or `-`) when `order` or the numbers
/// themselves say which is which.
pub(super) fn parse_date(s: &str, order: DateOrder) -> Result<NaiveDate, DateProblem> {
    let s = s.trim();
    // `2025-02-07T00:00:00Z`: the day is what comes before the T.
    let s = match s.split_once('T') {
        Some((day, _)) if day.len() == 10 && day.as_bytes().get(4) == Some(&b'-') => day,
        _ => s,
    };
    let mut tokens: Vec<&str> = s.split_whitespace().collect();
    // A time of day after the date (`00:00:00.000`, `0:00 AM`).
    while tokens.len() > 1
        && tokens.last().is_some_and(|t| {
            t.contains(':') || t.eq_ignore_ascii_case("am") || t.eq_ignore_ascii_case("pm")
        })
    {
        tokens.pop();
    }
    let parts: Vec<Part> = tokens
        .iter()
        .flat_map(|t| t.split(['-', '/', '.', ',']))
        .filter(|p| !p.is_empty())
        .map(part)
        .collect::<Option<_>>()
        .ok_or(DateProblem::Unreadable)?;
    let day = |y: Option<i32>, m: u32, d: u32| {
        y.and_then(|y| NaiveDate::from_ymd_opt(y, m, d))
            .ok_or(DateProblem::Unreadable)
    };
    use Part::{Month, Number};
    match parts.as_slice() {
        [Number(y, 4), Number(m, 1..=2), Number(d, 1..=2)] => day(Some(*y as i32), *m, *d),
        [Number(y, 4), Month(m), Number(d, 1..=2)] => day(Some(*y as i32), *m, *d),
        [Number(d, 1..=2), Month(m), Number(y, n)] => day(year(*y, *n), *m, *d),
        [Month(m), Number(d, 1..=2), Number(y, n)] => day(year(*y, *n), *m, *d),
        [Number(a, 1..=2), Number(b, 1..=2), Number(y, n)] => {
            let y = year(*y, *n).ok_or(DateProblem::Unreadable)?;
            let dmy = NaiveDate::from_ymd_opt(y, *b, *a);
            let mdy = NaiveDate::from_ymd_opt(y, *a, *b);
            match (order, dmy, mdy) {
                (DateOrder::Dmy, Some(d), _) | (DateOrder::Mdy, _, Some(d)) => Ok(d),
                (DateOrder::Auto, Some(d), Some(m)) if d != m => {
                    Err(DateProblem::Ambiguous { dmy: d, mdy: m })
                }
                (DateOrder::Auto, Some(d), _) | (DateOrder::Auto, None, Some(d)) => Ok(d),
                _ => Err(DateProblem::Unreadable),
            }
        }
        _ => Err(DateProblem::Unreadable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::import::test_support::{
        ACLED_HEADER, acled_row, file, read, read_with, reason, report,
    };
    use crate::input::import::{ImportOptions, ImportReason};

    #[test]
    fn dates_in_the_spellings_exports_use() {
        let table = [
            ("2025-02-07", "2025-02-07"),
            ("2025-02-07 00:00:00.000", "2025-02-07"),
            ("2025-02-07T00:00:00Z", "2025-02-07"),
            ("7 February 2025", "2025-02-07"),
            ("7 Feb 2025", "2025-02-07"),
            ("7 FEB 2025", "2025-02-07"),
            ("7-Feb-25", "2025-02-07"),
            ("07-February-2025", "2025-02-07"),
            ("February 7, 2025", "2025-02-07"),
            ("Feb 7 2025", "2025-02-07"),
            ("7th February 2025", "2025-02-07"),
            ("2 Sept 2024", "2024-09-02"),
            ("2025/02/07", "2025-02-07"),
            ("13/2/2025", "2025-02-13"),
            ("2/13/2025", "2025-02-13"),
            ("13.02.2025", "2025-02-13"),
            ("13/2/25", "2025-02-13"),
            ("5/5/2025", "2025-05-05"),
            ("13/02/2025 00:00", "2025-02-13"),
            ("1-Jan-29", "2029-01-01"),
            ("1-Jan-30", "1930-01-01"),
            ("31 Dec 99", "1999-12-31"),
        ];
        for (input, want) in table {
            let got = parse_date(input, DateOrder::Auto).map(|d| d.to_string());
            assert_eq!(got.as_deref(), Ok(want), "{input}");
        }
        for bad in [
            "",
            "not-a-date",
            "2025-02-30",
            "30/2/2025",
            "2025",
            "7 Febr 2025",
            "7-Feb-125",
            "13/13/2025",
            "2025-02",
        ] {
            assert_eq!(
                parse_date(bad, DateOrder::Auto),
                Err(DateProblem::Unreadable),
                "{bad}"
            );
        }
    }

    #[test]
    fn ambiguous_numeric_dates_need_date_order() {
        let table = [
            // input, auto, dmy, mdy
            ("2/7/2025", None, Some("2025-07-02"), Some("2025-02-07")),
            ("02.07.2025", None, Some("2025-07-02"), Some("2025-02-07")),
            ("2-7-25", None, Some("2025-07-02"), Some("2025-02-07")),
            ("13/2/2025", Some("2025-02-13"), Some("2025-02-13"), None),
            ("2/13/2025", Some("2025-02-13"), None, Some("2025-02-13")),
            (
                "2025-02-07",
                Some("2025-02-07"),
                Some("2025-02-07"),
                Some("2025-02-07"),
            ),
        ];
        for (input, auto, dmy, mdy) in table {
            for (order, want) in [
                (DateOrder::Auto, auto),
                (DateOrder::Dmy, dmy),
                (DateOrder::Mdy, mdy),
            ] {
                let got = parse_date(input, order).ok().map(|d| d.to_string());
                assert_eq!(got.as_deref(), want, "{input} {order:?}");
            }
        }
        let rows = [acled_row(&[("event_date", "2/7/2025")])];
        let csv = file(&ACLED_HEADER, &rows, ',', "\n");
        let (_, recs) = read(csv.clone());
        assert_eq!(reason(&recs[0]), Some(ImportReason::AmbiguousDate));
        let msg = recs[0].1.as_ref().unwrap_err().to_string();
        assert!(
            msg.contains("2 July 2025 (day first) or 7 February 2025"),
            "{msg}"
        );
        assert!(
            msg.contains("date_order") && msg.contains("VIGIL__IMPORT__DATE_ORDER"),
            "{msg}"
        );
        let options = ImportOptions {
            date_order: DateOrder::Dmy,
            ..ImportOptions::default()
        };
        let (_, recs) = read_with(csv, &options);
        assert_eq!(report(&recs[0])["event_time"], "2025-07-02T00:00:00Z");
        // Under an explicit order, a date impossible in it says which order it was read in.
        let rows = [
            acled_row(&[("event_date", "2/13/2025")]),
            acled_row(&[("event_date", "someday")]),
        ];
        let (_, recs) = read_with(file(&ACLED_HEADER, &rows, ',', "\n"), &options);
        assert_eq!(reason(&recs[0]), Some(ImportReason::BadDate));
        let msg = recs[0].1.as_ref().unwrap_err().to_string();
        assert!(msg.contains("date_order = \"dmy\""), "{msg}");
        let msg = recs[1].1.as_ref().unwrap_err().to_string();
        assert!(!msg.contains("date_order"), "{msg}");
    }
}
