//! Reading CSV exports: the delimiter from the header line, each row with the physical line it
//! starts on (quoted cells may span lines), and cells as text whatever their encoding. Each row
//! goes to its export's mapping (`acled.rs`, `ucdp.rs`).

use std::collections::VecDeque;
use std::io::{self, Read};

use crate::input::import::row::Row;
use crate::input::import::{
    Fault, Format, ImportError, ImportOptions, ImportReason, Record, acled, ucdp,
};

/// The columns of a header `line` under each delimiter, `,`, tab and `;`, the one occurring most
/// often outside quotes first (ties keep that order); each split only when asked for.
pub(super) fn header_readings(line: &str) -> impl Iterator<Item = (u8, Vec<String>)> + '_ {
    let mut candidates = [b',', b'\t', b';'].map(|d| (count_outside_quotes(line, d), d));
    // Most frequent first; the sort is stable, so ties keep the order `,` tab `;`.
    candidates.sort_by_key(|c| std::cmp::Reverse(c.0));
    candidates
        .into_iter()
        .map(move |(_, delimiter)| (delimiter, split_header(line, delimiter)))
}

/// How often `delimiter` occurs in `line` outside double quotes.
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

/// The header names of `line` split at `delimiter` (none if it does not read as CSV).
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

/// The rows of an ACLED or UCDP GED export, each as report JSON or why it cannot be one.
pub(super) struct CsvRecords<R> {
    csv: csv::Reader<LineCounter<R>>,
    format: Format,
    headers: Vec<String>,
    options: ImportOptions,
    done: bool,
}

impl<R: Read> CsvRecords<R> {
    /// Reads the header row of `input` (an `format` export with `delimiter`), ready for rows.
    pub(super) fn new(
        input: R,
        format: Format,
        delimiter: u8,
        options: ImportOptions,
    ) -> Result<Self, ImportError> {
        let mut csv = csv::ReaderBuilder::new()
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(LineCounter::new(input));
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
                    let row = Row::new(&self.headers, &fields);
                    match self.format {
                        Format::Acled => acled::report(&row, &self.options),
                        Format::Ucdp => ucdp::report(&row, &self.options),
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

#[cfg(test)]
mod tests {
    use crate::input::import::test_support::{
        ACLED_HEADER, UCDP_HEADER, acled_row, file, read, reason, report, ucdp_row,
    };
    use crate::input::import::{Format, ImportReason, detect};

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
