//! JSON lines: one report per line, passed through untouched but for its line ending and a
//! leading byte-order mark. A line longer than `limits.max_message_bytes` is skipped as
//! `too_large` while it is read, so that one line cannot take memory without bound.

use std::io::{self, BufRead};

use crate::input::import::{ImportError, ImportReason, Record};

/// The lines of a JSONL file, each passed through as one record.
pub(super) struct JsonLines<R> {
    reader: R,
    line: u64,
    done: bool,
    /// Longest line kept; the rest of a longer one is read past, not stored.
    max_bytes: usize,
}

impl<R> JsonLines<R> {
    /// Lines of `reader`, keeping those of at most `max_bytes` (`limits.max_message_bytes`).
    pub(super) fn new(reader: R, max_bytes: usize) -> Self {
        JsonLines {
            reader,
            line: 0,
            done: false,
            max_bytes,
        }
    }
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

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use super::*;
    use crate::input::import::Format;
    use crate::input::import::ImportOptions;
    use crate::input::import::test_support::{read, read_with, reason};

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
}
