//! Reading report files: JSONL (one report per line, passed through untouched) and the CSV
//! exports of ACLED and UCDP GED, adapted into Vigil's report JSON. Each record keeps the
//! physical line it starts on, so that a bad one can be reported precisely and skipped.
//!
//! Exports as desks really have them: the delimiter (`,`, tab or `;`) is read from the header
//! line, text that is not UTF-8 is read as Windows-1252 (what spreadsheets in Western European
//! locales save), dates come in several spellings and a numeric date whose day and month cannot
//! be told apart is refused unless `[import] date_order` says which comes first.
//!
//! One file per concern: `jsonl.rs` (lines, bounded as they are read), `csv.rs` (delimiters,
//! physical lines, text encodings), `row.rs` (a row's cells by column name), `date.rs` (the
//! date spellings and `date_order`), and one file per export's column mapping, `acled.rs` and
//! `ucdp.rs` (README "Backtest inputs" has the full table). This file detects the format and
//! hands out the records.

mod acled;
mod csv;
mod date;
mod jsonl;
mod row;
#[cfg(test)]
mod test_support;
mod ucdp;

use std::fmt;
use std::io::{BufRead, BufReader, Read};

pub use date::DateOrder;

/// Input formats `backtest`, `tag` and `replay` read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One report JSON per line.
    Jsonl,
    /// ACLED's CSV export.
    Acled,
    /// UCDP GED's CSV export.
    Ucdp,
}

/// How records are read: from `[import]` and `[limits]` (see `Settings::import_options`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// How numeric dates are read.
    pub date_order: DateOrder,
    /// Longest `source.id` built from an export, in bytes (`limits.max_code_bytes`).
    pub max_code_bytes: usize,
    /// Longest JSONL line kept, in bytes (`limits.max_message_bytes`): a longer one is skipped
    /// as `too_large` while it is read, so that one line cannot take memory without bound.
    pub max_line_bytes: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            date_order: DateOrder::Auto,
            max_code_bytes: crate::report::Limits::default().max_code_bytes,
            max_line_bytes: crate::report::Limits::default().max_message_bytes,
        }
    }
}

/// Stable reason codes for export rows that cannot become a report; summaries count them next
/// to the engine's reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImportReason {
    /// The row does not split into the header's columns.
    BadCsv,
    /// The date is not a date in any accepted spelling.
    BadDate,
    /// A numeric date reads as two different days and `date_order` is `auto`.
    AmbiguousDate,
    /// A count is not a number.
    BadValue,
    /// A required column is empty.
    MissingField,
    /// A JSONL line is longer than `limits.max_message_bytes`.
    TooLarge,
}

impl ImportReason {
    /// The snake_case code printed in errors and summaries.
    pub fn code(self) -> &'static str {
        match self {
            ImportReason::BadCsv => "bad_csv",
            ImportReason::BadDate => "bad_date",
            ImportReason::AmbiguousDate => "ambiguous_date",
            ImportReason::BadValue => "bad_value",
            ImportReason::MissingField => "missing_field",
            ImportReason::TooLarge => "too_large",
        }
    }
}

impl fmt::Display for ImportReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why a file or one of its records cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    /// One record is skipped; `line` is the physical line it starts on.
    #[error("line {line}: {reason}: {field}: {detail}")]
    Record {
        line: u64,
        reason: ImportReason,
        field: String,
        detail: String,
    },
    /// The input cannot be read at all.
    #[error("cannot read input: {0}")]
    Io(String),
    /// The first line is neither JSON nor a known CSV header under any delimiter.
    #[error(
        "the first line is neither a JSON report nor an ACLED or UCDP GED CSV header (tried `,`, tab and `;` as delimiter): {0}"
    )]
    UnknownHeader(String),
}

impl ImportError {
    /// The reason code of a skipped record; `None` for errors that stop the whole file.
    pub fn reason(&self) -> Option<ImportReason> {
        match self {
            ImportError::Record { reason, .. } => Some(*reason),
            _ => None,
        }
    }
}

/// Why one row cannot become a report, before its line is known: what becomes an
/// [`ImportError::Record`] once it is.
pub(super) struct Fault {
    reason: ImportReason,
    field: String,
    detail: String,
}

impl Fault {
    pub(super) fn new(reason: ImportReason, field: &str, detail: String) -> Self {
        Fault {
            reason,
            field: field.to_string(),
            detail,
        }
    }

    /// The record error for a row starting on physical line `line`.
    pub(super) fn at(self, line: u64) -> ImportError {
        ImportError::Record {
            line,
            reason: self.reason,
            field: self.field,
            detail: self.detail,
        }
    }
}

/// One record: the physical line (1-based) it starts on and the report JSON bytes, or why it
/// was skipped.
pub type Record = (u64, Result<Vec<u8>, ImportError>);

/// Every record of a file, in order.
pub type Records = Box<dyn Iterator<Item = Record>>;

/// Reads every record of `input`, detecting its format and delimiter. A first line that is
/// neither JSON nor a recognised header is refused before any record is read.
pub fn records<R: Read + 'static>(
    input: R,
    options: &ImportOptions,
) -> Result<(Format, Records), ImportError> {
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let first = {
        let buf = reader
            .fill_buf()
            .map_err(|e| ImportError::Io(e.to_string()))?;
        // The first line that holds anything: blank lines before a header do not make a CSV
        // export a JSONL file.
        let text = String::from_utf8_lossy(buf);
        let mut lines = text.split('\n');
        lines
            .find(|l| !l.trim_start_matches('\u{feff}').trim().is_empty())
            .unwrap_or_default()
            .to_string()
    };
    let Detected { format, delimiter } = detect(&first)?;
    let iter: Records = match format {
        Format::Jsonl => Box::new(jsonl::JsonLines::new(reader, options.max_line_bytes)),
        Format::Acled | Format::Ucdp => Box::new(csv::CsvRecords::new(
            reader,
            format,
            delimiter,
            options.clone(),
        )?),
    };
    Ok((format, iter))
}

/// What the first line says about a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Detected {
    /// The file's format.
    format: Format,
    /// The CSV delimiter (`b','` for JSONL, where it is unused).
    delimiter: u8,
}

/// Detects the format and, for CSV, the delimiter from the first line: each of `,`, tab and `;`
/// is tried, the one occurring most often outside quotes first, and the first whose columns
/// make a recognised ACLED or UCDP GED header is taken.
fn detect(first_line: &str) -> Result<Detected, ImportError> {
    let trimmed = first_line.trim_start_matches('\u{feff}').trim();
    if trimmed.starts_with('{') || trimmed.is_empty() {
        return Ok(Detected {
            format: Format::Jsonl,
            delimiter: b',',
        });
    }
    let mut widest: Vec<String> = Vec::new();
    for (delimiter, columns) in csv::header_readings(trimmed) {
        if let Some(format) = recognise(&columns) {
            return Ok(Detected { format, delimiter });
        }
        if columns.len() > widest.len() {
            widest = columns;
        }
    }
    Err(ImportError::UnknownHeader(describe_mismatch(&widest)))
}

fn has_all(columns: &[String], wanted: &[&str]) -> bool {
    wanted.iter().all(|w| columns.iter().any(|c| c == w))
}

fn recognise(columns: &[String]) -> Option<Format> {
    if has_all(columns, acled::COLUMNS) {
        Some(Format::Acled)
    } else if has_all(columns, ucdp::COLUMNS) {
        Some(Format::Ucdp)
    } else {
        None
    }
}

/// Says which columns were expected and, for the export the header resembles, which are missing.
fn describe_mismatch(columns: &[String]) -> String {
    let missing = |wanted: &[&'static str]| -> Vec<&'static str> {
        wanted
            .iter()
            .filter(|w| !columns.iter().any(|c| c == *w))
            .copied()
            .collect()
    };
    let expected = format!(
        "an ACLED export needs the columns {}, a UCDP GED export {}",
        acled::COLUMNS.join(", "),
        ucdp::COLUMNS.join(", ")
    );
    let (not_acled, not_ucdp) = (missing(acled::COLUMNS), missing(ucdp::COLUMNS));
    let closest = if not_acled.len() < acled::COLUMNS.len() {
        format!("; this looks like ACLED without {}", not_acled.join(", "))
    } else if not_ucdp.len() < ucdp::COLUMNS.len() {
        format!("; this looks like UCDP GED without {}", not_ucdp.join(", "))
    } else {
        String::new()
    };
    let shown: Vec<&str> = columns.iter().take(6).map(String::as_str).collect();
    let more = if columns.len() > shown.len() {
        ", …"
    } else {
        ""
    };
    format!(
        "{expected}{closest} (first columns read: {}{more})",
        shown.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_of_no_known_export_is_refused_naming_the_columns() {
        let msg = |line: &str| match detect(line) {
            Err(e @ ImportError::UnknownHeader(_)) => e.to_string(),
            other => panic!("{line}: {other:?}"),
        };
        let m = msg("a,b,c");
        assert!(m.contains("event_id_cnty, event_date"), "{m}");
        assert!(m.contains("id, type_of_violence, date_start"), "{m}");
        assert!(m.contains("first columns read: a, b, c"), "{m}");
        let m = msg("event_id_cnty\tyear\tnotes");
        assert!(m.contains("looks like ACLED without event_date"), "{m}");
        // A UCDP header without its dates is refused rather than failing every row.
        let m = msg("id;type_of_violence;best");
        assert!(m.contains("looks like UCDP GED without date_start"), "{m}");
        // Refused before any record is read.
        assert!(
            records(
                std::io::Cursor::new(b"x|y\n1|2\n".to_vec()),
                &ImportOptions::default()
            )
            .is_err()
        );
    }

    #[test]
    fn reason_codes_are_distinct_snake_case() {
        let all = [
            ImportReason::BadCsv,
            ImportReason::BadDate,
            ImportReason::AmbiguousDate,
            ImportReason::BadValue,
            ImportReason::MissingField,
            ImportReason::TooLarge,
        ];
        let mut codes: Vec<&str> = all.iter().map(|r| r.code()).collect();
        assert!(
            codes
                .iter()
                .all(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }
}
