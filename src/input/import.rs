//! Reading report files: JSONL (one report per line, passed through untouched) and the CSV
//! exports of ACLED and UCDP GED, adapted into Vigil's report JSON. Each record keeps the
//! physical line it starts on, so that a bad one can be reported precisely and skipped.
//!
//! Exports as desks really have them: the delimiter (`,`, tab or `;`) is read from the header
//! line, text that is not UTF-8 is read as Windows-1252 (what spreadsheets in Western European
//! locales save), dates come in several spellings and a numeric date whose day and month cannot
//! be told apart is refused unless `[import] date_order` says which comes first.
//!
//! Column mapping (README "Backtest inputs" has the full table):
//! - ACLED: `event_id_cnty`→`id` (`acled:` prefix), `event_date`→`event_time`,
//!   `country`/`admin1`→`region` (`Country/Admin1`), `notes`→`text`, `fatalities`→`killed`,
//!   `sub_event_type` `Abduction/forced disappearance`→`abduction`, `Sexual violence`→
//!   `sexual_violence` (declared categories), `actor1`/`actor2` with `inter1`/`inter2` kinds
//!   (codes 1–8 or their names), `source`'s first outlet → `source.id`.
//! - UCDP GED: `id`→`id` (`ucdp:` prefix), `date_start`→`event_time`, `country`/`adm_1`→
//!   `region`, `source_headline`→`text`, `where_description`→`location.name`, `best`→`killed`,
//!   `side_a`/`side_b`→actors.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

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

/// Columns a header must have to be taken for each export.
const ACLED_COLUMNS: &[&str] = &["event_id_cnty", "event_date"];
const UCDP_COLUMNS: &[&str] = &["id", "type_of_violence", "date_start"];

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

/// One record: the physical line (1-based) it starts on and the report JSON bytes, or why it
/// was skipped.
pub type Record = (u64, Result<Vec<u8>, ImportError>);

/// Every record of a file, in order.
pub type Records = Box<dyn Iterator<Item = Record>>;

/// What the first line says about a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    /// The file's format.
    pub format: Format,
    /// The CSV delimiter (`b','` for JSONL, where it is unused).
    pub delimiter: u8,
}

/// Detects the format and, for CSV, the delimiter from the first line: each of `,`, tab and `;`
/// is tried, the one occurring most often outside quotes first, and the first whose columns
/// make a recognised ACLED or UCDP GED header is taken.
pub fn detect(first_line: &str) -> Result<Detected, ImportError> {
    let trimmed = first_line.trim_start_matches('\u{feff}').trim();
    if trimmed.starts_with('{') || trimmed.is_empty() {
        return Ok(Detected {
            format: Format::Jsonl,
            delimiter: b',',
        });
    }
    let mut candidates = [b',', b'\t', b';'].map(|d| (count_outside_quotes(trimmed, d), d));
    // Most frequent first; the sort is stable, so ties keep the order `,` tab `;`.
    candidates.sort_by_key(|c| std::cmp::Reverse(c.0));
    let mut widest: Vec<String> = Vec::new();
    for (_, delimiter) in candidates {
        let columns = split_header(trimmed, delimiter);
        if let Some(format) = recognise(&columns) {
            return Ok(Detected { format, delimiter });
        }
        if columns.len() > widest.len() {
            widest = columns;
        }
    }
    Err(ImportError::UnknownHeader(describe_mismatch(&widest)))
}

fn count_outside_quotes(line: &str, delimiter: u8) -> usize {
    let mut quoted = false;
    let mut n = 0;
    for b in line.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if b == delimiter && !quoted {
            n += 1;
        }
    }
    n
}

/// Header names as compared: trimmed, lower case, without a byte-order mark.
fn header_name(h: &str) -> String {
    h.trim_start_matches('\u{feff}').trim().to_lowercase()
}

fn split_header(line: &str, delimiter: u8) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(line.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => record.iter().map(header_name).collect(),
        _ => Vec::new(),
    }
}

fn has_all(columns: &[String], wanted: &[&str]) -> bool {
    wanted.iter().all(|w| columns.iter().any(|c| c == w))
}

fn recognise(columns: &[String]) -> Option<Format> {
    if has_all(columns, ACLED_COLUMNS) {
        Some(Format::Acled)
    } else if has_all(columns, UCDP_COLUMNS) {
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
        ACLED_COLUMNS.join(", "),
        UCDP_COLUMNS.join(", ")
    );
    let (acled, ucdp) = (missing(ACLED_COLUMNS), missing(UCDP_COLUMNS));
    let closest = if acled.len() < ACLED_COLUMNS.len() {
        format!("; this looks like ACLED without {}", acled.join(", "))
    } else if ucdp.len() < UCDP_COLUMNS.len() {
        format!("; this looks like UCDP GED without {}", ucdp.join(", "))
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
        Format::Jsonl => Box::new(JsonLines {
            reader,
            line: 0,
            done: false,
            max_bytes: options.max_line_bytes,
        }),
        Format::Acled | Format::Ucdp => {
            let csv = csv::ReaderBuilder::new()
                .flexible(true)
                .delimiter(delimiter)
                .from_reader(LineCounter::new(reader));
            Box::new(CsvRecords::new(csv, format, options.clone())?)
        }
    };
    Ok((format, iter))
}

struct JsonLines<R> {
    reader: R,
    line: u64,
    done: bool,
    /// Longest line kept; the rest of a longer one is read past, not stored.
    max_bytes: usize,
}

/// Reads one line into `buf`, keeping at most `keep` bytes of it (line ending included) and
/// reading past the rest. Returns the line's length in bytes, ending included (0 at the end).
fn read_line_bounded(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    keep: usize,
) -> io::Result<usize> {
    let mut total = 0;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(total);
        }
        let (n, ended) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        let room = keep.saturating_sub(buf.len()).min(n);
        buf.extend_from_slice(&available[..room]);
        reader.consume(n);
        total += n;
        if ended {
            return Ok(total);
        }
    }
}

impl<R: BufRead> Iterator for JsonLines<R> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        while !self.done {
            let mut buf = Vec::new();
            self.line += 1;
            // Room for the longest line kept, its CRLF and a BOM.
            let keep = self.max_bytes.saturating_add(5);
            match read_line_bounded(&mut self.reader, &mut buf, keep) {
                Ok(0) => self.done = true,
                Ok(len) => {
                    let cut = len > buf.len();
                    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                        buf.pop();
                    }
                    // A byte-order mark (editors on Windows write one) is not part of the JSON.
                    if self.line == 1 && buf.starts_with(b"\xef\xbb\xbf") {
                        buf.drain(..3);
                    }
                    if cut || buf.len() > self.max_bytes {
                        return Some((
                            self.line,
                            Err(ImportError::Record {
                                line: self.line,
                                reason: ImportReason::TooLarge,
                                field: String::new(),
                                detail: format!(
                                    "line longer than limits.max_message_bytes = {}",
                                    self.max_bytes
                                ),
                            }),
                        ));
                    }
                    if buf.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    return Some((self.line, Ok(buf)));
                }
                Err(e) => {
                    // A read error is not a bad line: end here rather than retry forever.
                    self.done = true;
                    return Some((self.line, Err(ImportError::Io(e.to_string()))));
                }
            }
        }
        None
    }
}

/// Passes bytes through and remembers where each `\r` and `\n` is, so that a record's byte
/// offset gives the physical line it starts on: quoted cells may span lines, and the CSV
/// reader's own line count goes wrong with CRLF inside them.
struct LineCounter<R> {
    inner: R,
    /// Bytes read so far.
    offset: u64,
    /// Offsets of the line-ending bytes read but not yet passed by a record, each with whether
    /// it is a `\n`.
    endings: VecDeque<(u64, bool)>,
    /// Newlines already passed.
    passed: u64,
}

impl<R> LineCounter<R> {
    fn new(inner: R) -> Self {
        LineCounter {
            inner,
            offset: 0,
            endings: VecDeque::new(),
            passed: 0,
        }
    }

    /// The physical line (1-based) of the first byte at or after `offset` that ends no line.
    /// The CSV reader gives a record the offset where it began looking for it, which can be
    /// the `\n` of the previous record's CRLF or a blank line; those are stepped over.
    /// Offsets must not decrease between calls.
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut at = offset;
        while let Some(&(o, newline)) = self.endings.front() {
            if o > at {
                break;
            }
            if o == at {
                at += 1;
            }
            self.endings.pop_front();
            self.passed += u64::from(newline);
        }
        self.passed + 1
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, b) in buf[..n].iter().enumerate() {
            if matches!(b, b'\n' | b'\r') {
                self.endings
                    .push_back((self.offset + i as u64, *b == b'\n'));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

struct CsvRecords<R> {
    csv: csv::Reader<LineCounter<R>>,
    format: Format,
    headers: Vec<String>,
    options: ImportOptions,
    done: bool,
}

impl<R: Read> CsvRecords<R> {
    fn new(
        mut csv: csv::Reader<LineCounter<R>>,
        format: Format,
        options: ImportOptions,
    ) -> Result<Self, ImportError> {
        let headers = csv
            .byte_headers()
            .map_err(|e| ImportError::Io(e.to_string()))?
            .iter()
            .map(|h| header_name(&text(h)))
            .collect();
        Ok(CsvRecords {
            csv,
            format,
            headers,
            options,
            done: false,
        })
    }
}

impl<R: Read> Iterator for CsvRecords<R> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if self.done {
            return None;
        }
        let mut row = csv::ByteRecord::new();
        match self.csv.read_byte_record(&mut row) {
            Ok(false) => {
                self.done = true;
                None
            }
            Ok(true) => {
                let offset = row.position().map_or(0, |p| p.byte());
                let line = self.csv.get_mut().line_at(offset);
                let fields: Vec<String> = row.iter().map(text).collect();
                let result = if fields.len() != self.headers.len() {
                    Err(Fault::new(
                        ImportReason::BadCsv,
                        "row",
                        format!(
                            "{} columns where the header has {} (a stray delimiter or quote?)",
                            fields.len(),
                            self.headers.len()
                        ),
                    ))
                } else {
                    let get = Row {
                        headers: &self.headers,
                        row: &fields,
                    };
                    match self.format {
                        Format::Acled => acled(&get, &self.options),
                        Format::Ucdp => ucdp(&get, &self.options),
                        Format::Jsonl => Err(Fault::new(
                            ImportReason::BadCsv,
                            "row",
                            "not a CSV format".into(),
                        )),
                    }
                };
                Some((
                    line,
                    result
                        .and_then(|v| {
                            serde_json::to_vec(&v).map_err(|e| {
                                Fault::new(ImportReason::BadValue, "row", e.to_string())
                            })
                        })
                        .map_err(|f| f.at(line)),
                ))
            }
            Err(e) => {
                self.done = true;
                let line = e.position().map_or(0, |p| p.line());
                Some((line, Err(ImportError::Io(e.to_string()))))
            }
        }
    }
}

/// A field's text: UTF-8 as it is, anything else read as Windows-1252.
fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| windows_1252(b)).collect(),
    }
}

/// One Windows-1252 byte as a char: Latin-1 except 0x80–0x9F, where the code page puts
/// typographic characters (five bytes there are unassigned and become U+FFFD).
fn windows_1252(b: u8) -> char {
    const HIGH: [u32; 32] = [
        0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
    ];
    match b {
        0x80..=0x9F => char::from_u32(HIGH[usize::from(b - 0x80)]).unwrap_or('\u{fffd}'),
        _ => char::from(b),
    }
}

/// Why one row cannot become a report, before its line is known.
struct Fault {
    reason: ImportReason,
    field: String,
    detail: String,
}

impl Fault {
    fn new(reason: ImportReason, field: &str, detail: String) -> Self {
        Fault {
            reason,
            field: field.to_string(),
            detail,
        }
    }

    fn at(self, line: u64) -> ImportError {
        ImportError::Record {
            line,
            reason: self.reason,
            field: self.field,
            detail: self.detail,
        }
    }
}

/// One CSV row, read by (lower-case) column name.
struct Row<'a> {
    headers: &'a [String],
    row: &'a [String],
}

impl<'a> Row<'a> {
    fn get(&self, name: &str) -> &'a str {
        self.headers
            .iter()
            .position(|h| h == name)
            .and_then(|i| self.row.get(i))
            .map_or("", |s| s.trim())
    }

    fn required(&self, name: &str) -> Result<&'a str, Fault> {
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
    fn date(&self, name: &str, order: DateOrder) -> Result<String, Fault> {
        let value = self.required(name)?;
        parse_date(value, order)
            .map(|d| format!("{d}T00:00:00Z"))
            .map_err(|p| p.fault(name, value, order))
    }
}

/// Why a date was not read.
#[derive(Debug, PartialEq, Eq)]
enum DateProblem {
    /// No accepted spelling (or no such day).
    Unreadable,
    /// Day first and month first give two different days.
    Ambiguous { dmy: NaiveDate, mdy: NaiveDate },
}

impl DateProblem {
    fn fault(self, field: &str, value: &str, order: DateOrder) -> Fault {
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
fn parse_date(s: &str, order: DateOrder) -> Result<NaiveDate, DateProblem> {
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

fn count(row: &Row<'_>, name: &str) -> Result<i64, Fault> {
    let s = row.get(name);
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

fn region_code(country: &str, admin1: &str) -> String {
    match (country.is_empty(), admin1.is_empty()) {
        (false, false) => format!("{country}/{admin1}"),
        (false, true) => country.to_string(),
        _ => admin1.to_string(),
    }
}

/// A coordinate; a decimal comma (`11,2`, from `;`-separated spreadsheets) is read as a point.
fn coordinate(s: &str) -> Value {
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

/// ACLED's actor type in `interN`: a code 1–8 (older exports) or its name (current ones,
/// any case, singular or plural).
fn acled_inter_code(inter: &str) -> Option<u8> {
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
fn acled_actor_kind(inter: &str) -> &'static str {
    match acled_inter_code(inter) {
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
fn acled_source(sources: &str, max_bytes: usize) -> (String, i64) {
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

fn acled(row: &Row<'_>, options: &ImportOptions) -> Result<Value, Fault> {
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
        .map(|(a, i)| json!({"name": row.get(a), "kind": acled_actor_kind(row.get(i))}))
        .collect();
    let (source, credibility) = acled_source(row.get("source"), options.max_code_bytes);
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
        "casualties": {"killed": count(row, "fatalities")?},
        "actors": actors,
        "acled": {"event_type": row.get("event_type"), "sub_event_type": row.get("sub_event_type")},
    }))
}

fn ucdp(row: &Row<'_>, options: &ImportOptions) -> Result<Value, Fault> {
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
    Ok(json!({
        "id": format!("ucdp:{id}"),
        "event_time": time,
        "region": region_code(row.get("country"), row.get("adm_1")),
        "location": {"name": row.get("where_description"), "lat": coordinate(row.get("latitude")),
                     "lon": coordinate(row.get("longitude")), "admin1": row.get("adm_1"), "admin2": row.get("adm_2")},
        "source": {"id": "ucdp-ged", "kind": "media", "reliability": "B", "credibility": 2},
        "language": "en",
        "text": row.get("source_headline"),
        "casualties": {"killed": count(row, "best")?},
        "actors": actors,
        "ucdp": {"type_of_violence": row.get("type_of_violence"), "conflict_name": row.get("conflict_name")},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACLED_HEADER: [&str; 31] = [
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

    const UCDP_HEADER: [&str; 16] = [
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
    ];

    /// A row of `header`: the value `set` gives a column, else its `default`.
    fn row(
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
    fn acled_row(set: &[(&str, &str)]) -> Vec<String> {
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

    fn ucdp_row(set: &[(&str, &str)]) -> Vec<String> {
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
                _ => "",
            },
            set,
        )
    }

    /// A CSV file: fields quoted where they need it, lines ended by `eol`.
    fn file<S: AsRef<str>>(header: &[&str], rows: &[Vec<S>], delimiter: char, eol: &str) -> String {
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

    fn read_with(input: impl Into<Vec<u8>>, options: &ImportOptions) -> (Format, Vec<Record>) {
        let (f, it) = records(std::io::Cursor::new(input.into()), options).unwrap();
        (f, it.collect())
    }

    fn read(input: impl Into<Vec<u8>>) -> (Format, Vec<Record>) {
        read_with(input, &ImportOptions::default())
    }

    fn report(r: &Record) -> Value {
        match &r.1 {
            Ok(bytes) => serde_json::from_slice(bytes).unwrap(),
            Err(e) => panic!("line {} refused: {e}", r.0),
        }
    }

    fn reason(r: &Record) -> Option<ImportReason> {
        r.1.as_ref().err().and_then(ImportError::reason)
    }

    #[test]
    fn jsonl_passes_lines_through_with_numbers() {
        let (f, recs) = read("\u{feff}{\"a\":1}\n\n{\"b\":2}\r\n");
        assert_eq!(f, Format::Jsonl);
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].1.as_ref().unwrap(), b"{\"a\":1}");
        assert_eq!(recs[1].0, 3);
        assert_eq!(recs[1].1.as_ref().unwrap(), b"{\"b\":2}");
    }

    #[test]
    fn jsonl_lines_over_the_limit_are_skipped_as_read_not_stored() {
        let options = ImportOptions {
            max_line_bytes: 10,
            ..ImportOptions::default()
        };
        // A 64 MiB line: read past in buffer-sized steps, at most 15 bytes of it kept.
        let mut input = b"{\"a\":123}\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 64 << 20));
        input.extend(b"\n{\"b\":12345}\n\xef\xbb\xbf{\"c\":12}\n{\"d\":1234}");
        let (_, recs) = read_with(input, &options);
        assert_eq!(recs.len(), 5);
        assert_eq!(recs[0].1.as_ref().unwrap(), b"{\"a\":123}");
        assert_eq!(
            (recs[1].0, reason(&recs[1])),
            (2, Some(ImportReason::TooLarge))
        );
        let e = recs[1].1.as_ref().unwrap_err().to_string();
        assert!(e.starts_with("line 2: too_large:"), "{e}");
        assert_eq!(
            (recs[2].0, reason(&recs[2])),
            (3, Some(ImportReason::TooLarge))
        );
        // A BOM counts only on the first line: here it is part of an 11-byte line.
        assert_eq!(reason(&recs[3]), Some(ImportReason::TooLarge));
        assert_eq!(recs[4].1.as_ref().unwrap(), b"{\"d\":1234}");
        let mut buf = Vec::new();
        let mut reader = BufReader::with_capacity(4, &b"abcdefghij\nk"[..]);
        assert_eq!(read_line_bounded(&mut reader, &mut buf, 3).unwrap(), 11);
        assert_eq!(buf, b"abc");
    }

    #[test]
    fn acled_rows_map_to_reports() {
        let rows = [
            acled_row(&[("inter2", "7"), ("actor2", "Civilians")]),
            acled_row(&[("event_id_cnty", "BAD1"), ("event_date", "not-a-date")]),
        ];
        let (f, recs) = read(file(&ACLED_HEADER, &rows, ',', "\n"));
        assert_eq!(f, Format::Acled);
        let v = report(&recs[0]);
        assert_eq!(v["id"], "acled:TST1");
        assert_eq!(v["region"], "Nigeria/Borno");
        assert_eq!(v["event_time"], "2025-02-07T00:00:00Z");
        assert_eq!(v["categories"][0], "abduction");
        assert_eq!(v["actors"][0]["kind"], "militia");
        assert_eq!(v["actors"][1]["kind"], "civilians");
        assert_eq!(v["location"]["lat"], 11.2);
        assert_eq!(v["text"], "Gunmen abducted 12 farmers, officials said.");
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
    fn ucdp_rows_map_to_reports() {
        let (f, recs) = read(file(&UCDP_HEADER, &[ucdp_row(&[])], ',', "\n"));
        assert_eq!(f, Format::Ucdp);
        let v = report(&recs[0]);
        assert_eq!(v["id"], "ucdp:244657");
        assert_eq!(v["region"], "Nigeria/Borno state");
        assert_eq!(v["casualties"]["killed"], 9);
        assert_eq!(v["event_time"], "2020-01-01T00:00:00Z");
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
        let source = |i: usize| report(&recs[i])["source"].clone();
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
        assert_eq!(report(&recs[0])["source"]["id"], "acled:daily");
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
            let kind = acled_actor_kind(code);
            assert_ne!(kind, "unknown", "code {code}");
            assert_eq!(acled_actor_kind(&format!("{code}.0")), kind);
            for name in names {
                assert_eq!(acled_actor_kind(name), kind, "{name} vs code {code}");
            }
        }
        for other in ["", "0", "9", "Sole military action", "2.5"] {
            assert_eq!(acled_actor_kind(other), "unknown", "{other}");
        }
        // And through a whole row.
        let rows = [acled_row(&[("inter1", "Political militia")])];
        let (_, recs) = read(file(&ACLED_HEADER, &rows, ',', "\n"));
        assert_eq!(report(&recs[0])["actors"][0]["kind"], "militia");
    }

    #[test]
    fn tab_and_semicolon_exports_are_read_with_their_delimiter() {
        let acled = [
            acled_row(&[
                ("source", "Daily Trust; Premium Times"),
                ("notes", "Gunmen; then more, \"quoted\"\tthings."),
            ]),
            acled_row(&[("event_id_cnty", "TST2"), ("latitude", "11,25")]),
        ];
        for delimiter in ['\t', ';', ','] {
            let (f, recs) = read(file(&ACLED_HEADER, &acled, delimiter, "\r\n"));
            assert_eq!(f, Format::Acled, "{delimiter:?}");
            assert_eq!(recs.len(), 2);
            let v = report(&recs[0]);
            assert_eq!(v["id"], "acled:TST1", "{delimiter:?}");
            assert_eq!(v["source"]["credibility"], 1);
            assert_eq!(v["text"], "Gunmen; then more, \"quoted\"\tthings.");
            assert_eq!(v["region"], "Nigeria/Borno");
            assert_eq!(report(&recs[1])["location"]["lat"], 11.25, "{delimiter:?}");
        }
        for delimiter in ['\t', ';'] {
            let (f, recs) = read(file(&UCDP_HEADER, &[ucdp_row(&[])], delimiter, "\n"));
            assert_eq!(f, Format::Ucdp, "{delimiter:?}");
            let v = report(&recs[0]);
            assert_eq!(v["id"], "ucdp:244657");
            assert_eq!(v["casualties"]["killed"], 9);
            assert_eq!(v["location"]["lon"], 13.1);
        }
        // Header names are matched whatever their case, after a byte-order mark.
        let header = format!("\u{feff}{}", ACLED_HEADER.join(";").to_uppercase());
        let d = detect(&header).unwrap();
        assert_eq!((d.format, d.delimiter), (Format::Acled, b';'));
    }

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

    #[test]
    fn errors_name_the_physical_line_once_with_a_reason_code() {
        for eol in ["\r\n", "\n"] {
            physical_lines(eol);
        }
    }

    /// With line ends `eol`, a notes cell over three lines (with `eol` inside it too) before
    /// bad rows, then a blank line and a row of too few columns.
    fn physical_lines(eol: &str) {
        let notes = format!("First line.{eol}Second line.{eol}Third line.");
        let rows = [
            acled_row(&[("notes", &notes)]),
            acled_row(&[("event_id_cnty", "TST2"), ("event_date", "someday")]),
            acled_row(&[("event_id_cnty", "TST3"), ("fatalities", "many")]),
            acled_row(&[("event_id_cnty", "")]),
        ];
        let mut csv = file(&ACLED_HEADER, &rows, ',', eol);
        // A blank line, then a row that does not split into the header's columns.
        csv.push_str(&format!("{eol}TST5,2025-02-07,only three{eol}"));
        let (_, recs) = read(csv);
        assert_eq!(report(&recs[0])["text"], notes.as_str());
        let lines: Vec<u64> = recs.iter().map(|r| r.0).collect();
        assert_eq!(lines, [2, 5, 6, 7, 9], "{eol:?}");
        let reasons: Vec<_> = recs[1..].iter().map(reason).collect();
        assert_eq!(
            reasons,
            [
                Some(ImportReason::BadDate),
                Some(ImportReason::BadValue),
                Some(ImportReason::MissingField),
                Some(ImportReason::BadCsv)
            ]
        );
        let msg = recs[1].1.as_ref().unwrap_err().to_string();
        assert!(msg.starts_with("line 5: bad_date: event_date: "), "{msg}");
        assert_eq!(msg.matches("line").count(), 1, "{msg}");
        let msg = recs[2].1.as_ref().unwrap_err().to_string();
        assert!(msg.starts_with("line 6: bad_value: fatalities: "), "{msg}");
        let msg = recs[3].1.as_ref().unwrap_err().to_string();
        assert!(
            msg.starts_with("line 7: missing_field: event_id_cnty: "),
            "{msg}"
        );
        let msg = recs[4].1.as_ref().unwrap_err().to_string();
        assert!(
            msg.starts_with("line 9: bad_csv: row: 3 columns where the header has 31"),
            "{msg}"
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

    #[test]
    fn text_that_is_not_utf8_is_read_as_windows_1252() {
        let rows = [acled_row(&[("notes", "NOTES"), ("admin1", "ADMIN")])];
        let csv = file(&ACLED_HEADER, &rows, ';', "\r\n");
        let mut bytes = Vec::new();
        for (i, part) in csv.split("NOTES").enumerate() {
            if i > 0 {
                // "Enlèvement – « otages »" in Windows-1252.
                bytes.extend_from_slice(b"Enl\xe8vement \x96 \xab otages \xbb");
            }
            bytes.extend_from_slice(part.replace("ADMIN", "S\u{e9}gou").as_bytes());
        }
        let (_, recs) = read(bytes);
        let v = report(&recs[0]);
        assert_eq!(v["text"], "Enlèvement – « otages »");
        assert_eq!(v["region"], "Nigeria/Ségou");
    }
}
