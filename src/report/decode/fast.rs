//! The report decoder's fast path: one pass over a report of the common shape — known keys,
//! strings without escapes, integer counts — building the same [`Report`] serde would, without
//! serde's per-field machinery (which was about two thirds of decoding).
//!
//! It accepts a subset of what serde accepts and nothing else: any input it is not sure of
//! (an escape, a float, an unknown or repeated key, a wrong type, bad syntax) makes it return
//! `None`, and [`decode`](super::decode) hands the text to serde_json, which decodes it or
//! explains the error. So errors are always serde's, and a field added to [`Report`] but not
//! here only makes its reports take the slow path. A property test checks that whatever this
//! decodes, serde decodes to the same value.

use std::borrow::Cow;

use crate::report::model::{Actor, Casualties, CasualtyKind, Location, Report, Source, SourceKind};
use crate::report::timestamp::TimeValue;

/// Decodes `text` if it has the common shape; `None` means "ask serde".
pub(super) fn decode(text: &str) -> Option<Report<'_>> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        at: 0,
    };
    let report = p.report()?;
    p.ws();
    (p.at == p.bytes.len()).then_some(report)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

/// Keys seen in one object, to refuse a repeated key as serde does.
#[derive(Default)]
struct Seen(u32);

impl Seen {
    /// Marks key `bit`; `None` if it was seen already.
    fn first(&mut self, bit: u32) -> Option<()> {
        let mask = 1 << bit;
        (self.0 & mask == 0).then(|| self.0 |= mask)
    }
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Skips JSON whitespace.
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.ws();
        (self.peek() == Some(byte)).then(|| self.at += 1)
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        self.ws();
        let found = self.bytes[self.at..].starts_with(word);
        if found {
            self.at += word.len();
        }
        found
    }

    /// A string without escapes or control characters, borrowed from the input.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let len = plain_string_len(&self.bytes[start..])?;
        self.at = start + len + 1;
        // Both ends sit next to an ASCII quote, so they are character boundaries.
        self.text.get(start..start + len)
    }

    fn borrowed(&mut self) -> Option<Cow<'a, str>> {
        self.string().map(Cow::Borrowed)
    }

    /// A timestamp: a string, or an integer of epoch milliseconds.
    fn time(&mut self) -> Option<TimeValue<'a>> {
        self.ws();
        if self.peek() == Some(b'"') {
            self.borrowed().map(TimeValue::Text)
        } else {
            self.integer().map(TimeValue::Millis)
        }
    }

    /// `null` or a string.
    fn optional_string(&mut self) -> Option<Option<Cow<'a, str>>> {
        if self.literal(b"null") {
            return Some(None);
        }
        self.borrowed().map(Some)
    }

    /// A JSON integer that fits an `i64` comfortably (at most 18 digits); anything with a
    /// fraction or exponent is left to serde, which refuses it for an integer field, and so
    /// is `-0`, which serde reads as the float −0.0.
    fn integer(&mut self) -> Option<i64> {
        self.ws();
        let negative = self.peek() == Some(b'-');
        let start = self.at + usize::from(negative);
        let digits = self.bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 || digits > 18 || (digits > 1 && self.bytes[start] == b'0') {
            return None;
        }
        let end = start + digits;
        if matches!(self.bytes.get(end), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let value = self.bytes[start..end]
            .iter()
            .fold(0i64, |v, &d| v * 10 + i64::from(d - b'0'));
        if negative && value == 0 {
            return None;
        }
        self.at = end;
        Some(if negative { -value } else { value })
    }

    fn optional_integer(&mut self) -> Option<Option<i64>> {
        if self.literal(b"null") {
            return Some(None);
        }
        self.integer().map(Some)
    }

    fn optional_bool(&mut self) -> Option<Option<bool>> {
        if self.literal(b"null") {
            Some(None)
        } else if self.literal(b"true") {
            Some(Some(true))
        } else if self.literal(b"false") {
            Some(Some(false))
        } else {
            None
        }
    }

    /// An object: `field` is called with each key, the parser standing before its value.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.eat(b':')?;
            field(self, key)?;
            self.ws();
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// An array: `item` is called with the parser standing before each element.
    fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.eat(b']').is_some() {
            return Some(());
        }
        loop {
            item(self)?;
            self.ws();
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `null` or an object, read by `inner`.
    fn optional<T>(&mut self, inner: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.literal(b"null") {
            return Some(None);
        }
        inner(self).map(Some)
    }

    fn report(&mut self) -> Option<Report<'a>> {
        let (mut id, mut event_time, mut region, mut text) = (None, None, None, None);
        let (mut reported_at, mut language, mut title) = (None, None, None);
        let (mut location, mut source, mut casualties) = (None, None, None);
        let (mut categories, mut actors) = (Vec::new(), Vec::new());
        let mut seen = Seen::default();
        self.object(|p, key| {
            use ReportKey as K;
            let field = match key {
                "id" => K::Id,
                "event_time" => K::EventTime,
                "reported_at" => K::ReportedAt,
                "region" => K::Region,
                "location" => K::Location,
                "source" => K::Source,
                "language" => K::Language,
                "title" => K::Title,
                "text" => K::Text,
                "categories" => K::Categories,
                "casualties" => K::Casualties,
                "actors" => K::Actors,
                _ => return None,
            };
            seen.first(field as u32)?;
            match field {
                K::Id => id = Some(p.borrowed()?),
                K::EventTime => event_time = Some(p.time()?),
                K::ReportedAt => reported_at = p.optional(Self::time)?,
                K::Region => region = Some(p.borrowed()?),
                K::Location => location = p.optional(Self::location)?,
                K::Source => source = Some(p.source()?),
                K::Language => language = p.optional_string()?,
                K::Title => title = p.optional_string()?,
                K::Text => text = Some(p.borrowed()?),
                K::Categories => p.array(|p| {
                    categories.push(p.borrowed()?);
                    Some(())
                })?,
                K::Casualties => casualties = p.optional(Self::casualties)?,
                K::Actors => p.array(|p| {
                    actors.push(p.actor()?);
                    Some(())
                })?,
            }
            Some(())
        })?;
        Some(Report {
            id: id?,
            event_time: event_time?,
            reported_at,
            region: region?,
            location,
            source: source?,
            language,
            title,
            text: text?,
            categories,
            casualties,
            actors,
        })
    }

    fn location(&mut self) -> Option<Location<'a>> {
        let mut location = Location::default();
        let mut seen = Seen::default();
        self.object(|p, key| {
            let (bit, slot) = match key {
                "name" => (0, &mut location.name),
                "admin1" => (1, &mut location.admin1),
                "admin2" => (2, &mut location.admin2),
                // Coordinates are floats: only their absence is read here.
                "lat" | "lon" => {
                    seen.first(3 + u32::from(key == "lon"))?;
                    return p.literal(b"null").then_some(());
                }
                _ => return None,
            };
            seen.first(bit)?;
            *slot = p.optional_string()?;
            Some(())
        })?;
        Some(location)
    }

    fn source(&mut self) -> Option<Source<'a>> {
        let (mut id, mut kind, mut reliability, mut credibility) = (None, None, None, None);
        let mut seen = Seen::default();
        self.object(|p, key| {
            let bit = match key {
                "id" => 0,
                "kind" => 1,
                "reliability" => 2,
                "credibility" => 3,
                _ => return None,
            };
            seen.first(bit)?;
            match bit {
                0 => id = Some(p.borrowed()?),
                1 => kind = p.optional(Self::source_kind)?,
                2 => reliability = p.optional_string()?,
                _ => credibility = p.optional_integer()?,
            }
            Some(())
        })?;
        Some(Source {
            id: id?,
            kind,
            reliability,
            credibility,
        })
    }

    fn source_kind(&mut self) -> Option<SourceKind> {
        SourceKind::from_name(self.string()?)
    }

    fn casualties(&mut self) -> Option<Casualties> {
        let mut c = Casualties::default();
        let mut seen = Seen::default();
        self.object(|p, key| {
            if key == "killed_civilians" {
                seen.first(CasualtyKind::COUNT as u32)?;
                c.killed_civilians = Some(p.integer()?);
                return Some(());
            }
            let kind = CasualtyKind::from_name(key)?;
            seen.first(kind.index() as u32)?;
            *c.count_mut(kind) = p.integer()?;
            Some(())
        })?;
        Some(c)
    }

    fn actor(&mut self) -> Option<Actor<'a>> {
        let mut actor = Actor {
            name: None,
            kind: None,
            foreign: None,
        };
        let mut seen = Seen::default();
        self.object(|p, key| {
            let (bit, slot) = match key {
                "name" => (0, &mut actor.name),
                "kind" => (1, &mut actor.kind),
                "foreign" => {
                    seen.first(2)?;
                    actor.foreign = p.optional_bool()?;
                    return Some(());
                }
                _ => return None,
            };
            seen.first(bit)?;
            *slot = p.optional_string()?;
            Some(())
        })?;
        Some(actor)
    }
}

/// The keys of a report, numbered for [`Seen`].
#[derive(Clone, Copy)]
enum ReportKey {
    Id,
    EventTime,
    ReportedAt,
    Region,
    Location,
    Source,
    Language,
    Title,
    Text,
    Categories,
    Casualties,
    Actors,
}

/// Length of the string body at the start of `bytes` (up to its closing quote), or `None` at an
/// escape, a control character or the end of input. Eight bytes at a time, then byte by byte
/// from the first byte that may stop the string. (Thirty-two bytes at a time was slower: most
/// strings of a report are short keys and codes.)
fn plain_string_len(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let marks = stop_marks(u64::from_le_bytes(chunk.try_into().expect("eight bytes")));
        if marks != 0 {
            at += (marks.trailing_zeros() / 8) as usize;
            break;
        }
        at += 8;
    }
    while let Some(&b) = bytes.get(at) {
        match b {
            b'"' => return Some(at),
            b'\\' | 0..0x20 => return None,
            _ => at += 1,
        }
    }
    None
}

/// The high bit of each byte of `word` that is a quote, a backslash or below 0x20, and possibly
/// of bytes after such a byte (the borrow of the subtraction carries on), never before: the
/// lowest mark is exact.
fn stop_marks(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let marks = (quote.wrapping_sub(ONES) & !quote)
        | (backslash.wrapping_sub(ONES) & !backslash)
        | (word.wrapping_sub(ONES * 0x20) & !word);
    marks & HIGH
}

#[cfg(test)]
mod tests;
