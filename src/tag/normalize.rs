//! Text normalisation for matching: Unicode compatibility decomposition (NFKD), removal of
//! combining marks (accent folding) and of default-ignorable code points (soft hyphens,
//! zero-width spaces and joiners, bidi controls, variation selectors: characters a reader does
//! not see), lower-casing and typographic apostrophe/hyphen folding, with a byte map back to the
//! original text so that evidence spans point into the report as sent.
//!
//! ASCII input (most field reports in English) takes a fast path with no map at all, and for
//! matchers that ignore ASCII case no copy either ([`Normalized::prepare`]); other input builds
//! its map only when a span is asked for (most reports have no match to locate).

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

use crate::tag::arabic;

/// A reusable normalisation buffer. Public for the fuzz targets, which check that its fast and
/// general paths agree and that every span maps back (`fuzz/src/lib.rs`).
#[derive(Debug, Default)]
pub struct Normalized {
    /// The normalised text after [`Normalized::fill`]; after [`Normalized::prepare`] only for
    /// non-ASCII input (scan [`Normalized::matchable`] instead).
    pub text: String,
    /// `map[i]` is the original byte offset of normalised byte `i`; one extra entry holds the
    /// original length. Built on the first [`Normalized::original_span`] of a non-ASCII input.
    map: Vec<u32>,
    /// The input was not ASCII: offsets differ and need the map.
    needs_map: bool,
    /// [`Normalized::prepare`] left ASCII input as it was: `text` is unused.
    borrowed: bool,
}

impl Normalized {
    /// Normalises `input` into this buffer, replacing what it held.
    pub fn fill(&mut self, input: &str) {
        self.text.clear();
        self.map.clear();
        self.borrowed = false;
        self.needs_map = !input.is_ascii();
        if !self.needs_map {
            self.text.push_str(input);
            self.text.make_ascii_lowercase();
            return;
        }
        self.fold::<false>(input);
    }

    /// Prepares `input` for matchers that ignore ASCII case: ASCII input is matched as it is
    /// (no copy at all), anything else is normalised into this buffer. [`Normalized::matchable`]
    /// then gives the text to scan, and [`Normalized::original_span`] maps back either way.
    pub fn prepare(&mut self, input: &str) {
        if input.is_ascii() {
            self.text.clear();
            self.map.clear();
            self.needs_map = false;
            self.borrowed = true;
        } else {
            self.fill(input);
        }
    }

    /// The text to scan after [`Normalized::prepare`]: `input` itself or its normalised form.
    pub fn matchable<'a>(&'a self, input: &'a str) -> &'a str {
        if self.borrowed { input } else { &self.text }
    }

    /// The general path; with `MAP`, also records where each output byte came from.
    fn fold<const MAP: bool>(&mut self, input: &str) {
        // French text is mostly ASCII between its accented letters: copy and lower-case each
        // ASCII run in bulk, then fold the one character that ends it.
        let bytes = input.as_bytes();
        let mut at = 0;
        let mut has_arabic = false;
        while at < bytes.len() {
            let run = ascii_prefix_len(&bytes[at..]);
            if run > 0 {
                let from = self.text.len();
                self.text.push_str(&input[at..at + run]);
                self.text[from..].make_ascii_lowercase();
                if MAP {
                    self.map.extend(at as u32..(at + run) as u32);
                }
                at += run;
            }
            if at == bytes.len() {
                break;
            }
            // Accented Latin-1 letters are two bytes, C3 then 80..=BF: folded by table, without
            // decoding the character (one in twenty-odd bytes of French text).
            if bytes[at] == 0xC3
                && let Some(&next) = bytes.get(at + 1)
                && let folded @ 1.. = LATIN1_FOLD[usize::from(next & 0x3F)]
            {
                self.text.push(char::from(folded));
                if MAP {
                    self.map.push(at as u32);
                }
                at += 2;
                continue;
            }
            let Some(ch) = input[at..].chars().next() else {
                break;
            };
            let offset = at as u32;
            at += ch.len_utf8();
            if let Some(folded) = fold_latin1(ch) {
                self.text.push(folded);
                if MAP {
                    self.map.push(offset);
                }
                continue;
            }
            decompose_compatible(ch, |d| {
                if is_combining_mark(d) || is_default_ignorable(d) {
                    return;
                }
                let d = if arabic::is_arabic(d) {
                    has_arabic = true;
                    match arabic::fold(d) {
                        Some(d) => d,
                        None => return,
                    }
                } else {
                    d
                };
                let folded = match d {
                    '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{2032}' => '\'',
                    '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' => '-',
                    'œ' | 'Œ' => {
                        self.push_mapped::<MAP>("oe", offset);
                        return;
                    }
                    'æ' | 'Æ' => {
                        self.push_mapped::<MAP>("ae", offset);
                        return;
                    }
                    _ => d,
                };
                for lower in folded.to_lowercase() {
                    let mut buf = [0u8; 4];
                    self.push_mapped::<MAP>(lower.encode_utf8(&mut buf), offset);
                }
            });
        }
        if has_arabic {
            arabic::strip_articles(&mut self.text, MAP.then_some(&mut self.map));
        }
        if MAP {
            self.map.push(input.len() as u32);
        }
    }

    fn push_mapped<const MAP: bool>(&mut self, s: &str, offset: u32) {
        self.text.push_str(s);
        if MAP {
            self.map.extend(std::iter::repeat_n(offset, s.len()));
        }
    }

    /// The original byte range in `input` (the text last filled) for a normalised byte range
    /// `start < end` on char boundaries of the normalised text. The range starts at the
    /// character that gave the first byte and ends after the one that gave the last, with the
    /// combining marks that follow it (they were folded into it) but without the
    /// default-ignorable code points that follow it (nothing of them was matched).
    pub fn original_span(&mut self, input: &str, start: usize, end: usize) -> (usize, usize) {
        if !self.needs_map {
            return (start, end);
        }
        if self.map.is_empty() {
            // Folding again gives the same text, this time with its map.
            self.text.clear();
            self.fold::<true>(input);
        }
        // The map ends with the input's length, so `last` indexes it even for an empty text.
        let last = self.map.len().saturating_sub(1);
        if start >= end || start >= last {
            let at = self
                .map
                .get(start.min(last))
                .map_or(input.len(), |&o| o as usize);
            return (at, at);
        }
        let end = end.min(last);
        let s = self.map[start] as usize;
        // The end maps to the start of the character after the last matched byte...
        let mut e = self.map[end..]
            .iter()
            .copied()
            .find(|&o| o > self.map[end - 1])
            .unwrap_or(self.map[last]) as usize;
        // ...less the invisible characters just before that one.
        while let Some(c) = input[s..e].chars().next_back()
            && is_default_ignorable(c)
        {
            e -= c.len_utf8();
        }
        (s, e.max(s))
    }
}

/// Unicode's `Default_Ignorable_Code_Point` (DerivedCoreProperties.txt): characters with no
/// visible rendering unless a font chooses to show them, which normalisation drops. The ranges
/// are those of Unicode 16.0, checked in the tests against `\p{Default_Ignorable_Code_Point}`
/// of `regex-syntax` (whose tables ucd-generate derives from the Unicode data files). All lie
/// outside ASCII and Latin-1 letters, so the fast paths never meet one.
#[inline]
pub(crate) fn is_default_ignorable(c: char) -> bool {
    let c = u32::from(c);
    if c < 0xAD {
        return false;
    }
    matches!(
        c,
        0xAD | 0x34F
            | 0x61C
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFF8
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

/// The ranges of [`is_default_ignorable`], for tests that insert invisible characters.
#[cfg(test)]
pub(crate) const DEFAULT_IGNORABLE_RANGES: [(u32, u32); 17] = [
    (0xAD, 0xAD),
    (0x34F, 0x34F),
    (0x61C, 0x61C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
];

/// Length of the ASCII run that starts `bytes`: sixteen bytes at a time, the lowest high bit of
/// a block giving the position of its first non-ASCII byte; the tail byte by byte.
fn ascii_prefix_len(bytes: &[u8]) -> usize {
    let mut at = 0;
    while let Some(block) = bytes.get(at..at + 16) {
        let word = u128::from_le_bytes(block.try_into().expect("sixteen bytes"));
        let high = word & 0x8080_8080_8080_8080_8080_8080_8080_8080;
        if high != 0 {
            return at + (high.trailing_zeros() / 8) as usize;
        }
        at += 16;
    }
    at + bytes[at..]
        .iter()
        .position(|b| !b.is_ascii())
        .unwrap_or(bytes.len() - at)
}

/// [`fold_latin1`] as a table over the second byte of the two-byte sequences `C3 80..=BF`
/// (U+00C0..=U+00FF), indexed by its low six bits; 0 where the letter is not folded there.
const LATIN1_FOLD: [u8; 64] = {
    let mut table = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        let ch = char::from_u32(0xC0 + i as u32).expect("Latin-1 letters are chars");
        table[i] = match fold_latin1(ch) {
            Some(f) => f as u8,
            None => 0,
        };
        i += 1;
    }
    table
};

/// The accented Latin-1 letters of French, Spanish and Portuguese text, folded to their ASCII
/// base letter without the general decomposition (the common case, on the hot path). Agrees
/// with NFKD + mark removal + lower-casing; the unit test checks every letter it covers.
const fn fold_latin1(ch: char) -> Option<char> {
    Some(match ch {
        'À'..='Å' | 'à'..='å' => 'a',
        'Ç' | 'ç' => 'c',
        'È'..='Ë' | 'è'..='ë' => 'e',
        'Ì'..='Ï' | 'ì'..='ï' => 'i',
        'Ñ' | 'ñ' => 'n',
        'Ò'..='Ö' | 'ò'..='ö' => 'o',
        'Ù'..='Ü' | 'ù'..='ü' => 'u',
        'Ý' | 'ý' | 'ÿ' => 'y',
        _ => return None,
    })
}

/// Normalises a lexicon phrase or cue exactly as report text is normalised.
pub(crate) fn normalize_phrase(phrase: &str) -> String {
    let mut n = Normalized::default();
    n.fill(phrase.trim());
    n.text
}

/// True for bytes that belong to a word: ASCII letters and digits, and any non-ASCII byte
/// (letters that survive folding, such as Arabic or Cyrillic).
#[inline]
pub(crate) fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_accents_and_maps_back() {
        let input = "Les filles ENLEVÉES à Kidal’s école";
        let mut n = Normalized::default();
        n.fill(input);
        assert_eq!(n.text, "les filles enlevees a kidal's ecole");
        let start = n.text.find("enlevees").unwrap();
        let (s, e) = n.original_span(input, start, start + "enlevees".len());
        assert_eq!(&input[s..e], "ENLEVÉES");
        let start = n.text.find("ecole").unwrap();
        let (s, e) = n.original_span(input, start, start + 5);
        assert_eq!(&input[s..e], "école");
    }

    #[test]
    fn prepared_ascii_is_matched_as_sent() {
        let mut n = Normalized::default();
        n.prepare("Gunmen ABDUCTED five");
        assert_eq!(n.matchable("Gunmen ABDUCTED five"), "Gunmen ABDUCTED five");
        n.prepare("Enlèvement");
        assert_eq!(n.matchable("Enlèvement"), "enlevement");
    }

    #[test]
    fn ascii_fast_path_is_identity() {
        let mut n = Normalized::default();
        n.fill("Gunmen ABDUCTED five");
        assert_eq!(n.text, "gunmen abducted five");
        assert_eq!(n.original_span("Gunmen ABDUCTED five", 7, 15), (7, 15));
    }

    #[test]
    fn latin1_fast_path_agrees_with_decomposition() {
        for ch in ('\u{C0}'..='\u{FF}').filter(|c| fold_latin1(*c).is_some()) {
            let mut slow = String::new();
            decompose_compatible(ch, |d| {
                if !is_combining_mark(d) {
                    slow.extend(d.to_lowercase());
                }
            });
            assert_eq!(slow, fold_latin1(ch).unwrap().to_string(), "{ch}");
        }
    }

    #[test]
    fn compatibility_forms_fold() {
        assert_eq!(normalize_phrase("ﬁghters\u{00A0}Œuvre"), "fighters oeuvre");
    }

    #[test]
    fn default_ignorables_are_unicodes() {
        // regex-syntax's tables are generated from the Unicode data (DerivedCoreProperties.txt).
        let hir = regex_syntax::Parser::new()
            .parse(r"\p{Default_Ignorable_Code_Point}")
            .unwrap();
        let regex_syntax::hir::HirKind::Class(regex_syntax::hir::Class::Unicode(class)) =
            hir.kind()
        else {
            panic!("a Unicode class");
        };
        let theirs: Vec<(u32, u32)> = class
            .ranges()
            .iter()
            .map(|r| (u32::from(r.start()), u32::from(r.end())))
            .collect();
        assert_eq!(theirs, DEFAULT_IGNORABLE_RANGES);
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let listed = DEFAULT_IGNORABLE_RANGES
                .iter()
                .any(|&(a, b)| (a..=b).contains(&u32::from(c)));
            assert_eq!(is_default_ignorable(c), listed, "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn invisible_characters_are_dropped_and_spans_keep_them() {
        for input in [
            "Gunmen kid\u{AD}napped two traders",
            "Gunmen kid\u{200B}napped two traders",
            "Gunmen KID\u{200D}\u{FE0F}NAPPED two traders",
        ] {
            let mut n = Normalized::default();
            n.fill(input);
            assert_eq!(n.text, "gunmen kidnapped two traders", "{input:?}");
            let start = n.text.find("kidnapped").unwrap();
            let (s, e) = n.original_span(input, start, start + "kidnapped".len());
            assert_eq!(s, "Gunmen ".len());
            assert_eq!(e, input.find(" two").unwrap());
        }
        // Invisible characters around a match stay out of its span.
        let input = "\u{200B}Kidnapped\u{AD}\u{2060} twice";
        let mut n = Normalized::default();
        n.fill(input);
        let (s, e) = n.original_span(input, 0, "kidnapped".len());
        assert_eq!(&input[s..e], "Kidnapped");
        // A text of invisible characters only normalises to nothing, and maps without panic.
        let input = "\u{200B}\u{FEFF}";
        n.fill(input);
        assert_eq!(n.text, "");
        assert_eq!(n.original_span(input, 0, 0), (input.len(), input.len()));
    }

    #[test]
    fn original_span_of_an_empty_or_outlying_range_is_empty() {
        let input = "Enlèvement";
        let mut n = Normalized::default();
        n.fill(input);
        assert_eq!(n.original_span(input, 3, 3), (3, 3));
        assert_eq!(n.original_span(input, 0, 0), (0, 0));
        let len = n.text.len();
        assert_eq!(n.original_span(input, len, len), (input.len(), input.len()));
        assert_eq!(
            n.original_span(input, len + 5, len + 9),
            (input.len(), input.len())
        );
    }

    /// The normalisation character by character, without the fast paths.
    fn reference(input: &str) -> (String, Vec<u32>) {
        let (mut text, mut map) = (String::new(), Vec::new());
        for (offset, ch) in input.char_indices() {
            decompose_compatible(ch, |d| {
                if is_combining_mark(d) || is_default_ignorable(d) {
                    return;
                }
                let folded: String = match d {
                    '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{2032}' => "'".into(),
                    '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' => "-".into(),
                    'œ' | 'Œ' => "oe".into(),
                    'æ' | 'Æ' => "ae".into(),
                    _ => d.to_lowercase().collect(),
                };
                text.push_str(&folded);
                map.extend(std::iter::repeat_n(offset as u32, folded.len()));
            });
        }
        map.push(input.len() as u32);
        (text, map)
    }

    proptest::proptest! {
        #[test]
        fn fast_paths_agree_with_the_reference(
            input in "[a-zA-Z ,.'éÉèàçôœŒ’–ﬁ\u{301}Ωß\u{AD}\u{200B}\u{200D}\u{FE0F}\u{3164}\u{E0041}]{0,40}"
        ) {
            let mut n = Normalized::default();
            n.fill(&input);
            let (text, map) = reference(&input);
            proptest::prop_assert_eq!(&n.text, &text);
            if !input.is_ascii() && !text.is_empty() {
                n.original_span(&input, 0, 1);
                proptest::prop_assert_eq!(&n.text, &text);
                proptest::prop_assert_eq!(&n.map, &map);
            }
        }
    }
}
