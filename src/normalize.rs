//! Text normalisation for matching: Unicode compatibility decomposition (NFKD), removal of
//! combining marks (accent folding), lower-casing and typographic apostrophe/hyphen folding,
//! with a byte map back to the original text so that evidence spans point into the report as sent.
//!
//! ASCII input (most field reports in English) takes a fast path with no map at all.

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// A reusable normalisation buffer.
#[derive(Debug, Default)]
pub struct Normalized {
    pub text: String,
    /// `map[i]` is the original byte offset of normalised byte `i`; one extra entry holds the
    /// original length. Empty when the input was ASCII (offsets are then identical).
    map: Vec<u32>,
}

impl Normalized {
    /// Normalises `input` into this buffer, replacing what it held.
    pub fn fill(&mut self, input: &str) {
        self.text.clear();
        self.map.clear();
        if input.is_ascii() {
            self.text.push_str(input);
            self.text.make_ascii_lowercase();
            return;
        }
        for (offset, ch) in input.char_indices() {
            let offset = offset as u32;
            if ch.is_ascii() {
                self.text.push(ch.to_ascii_lowercase());
                self.map.push(offset);
                continue;
            }
            if let Some(folded) = fold_latin1(ch) {
                self.text.push(folded);
                self.map.push(offset);
                continue;
            }
            decompose_compatible(ch, |d| {
                if is_combining_mark(d) {
                    return;
                }
                let folded = match d {
                    '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{2032}' => '\'',
                    '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' => '-',
                    'œ' | 'Œ' => {
                        self.push_mapped("oe", offset);
                        return;
                    }
                    'æ' | 'Æ' => {
                        self.push_mapped("ae", offset);
                        return;
                    }
                    _ => d,
                };
                for lower in folded.to_lowercase() {
                    let mut buf = [0u8; 4];
                    self.push_mapped(lower.encode_utf8(&mut buf), offset);
                }
            });
        }
        self.map.push(input.len() as u32);
    }

    fn push_mapped(&mut self, s: &str, offset: u32) {
        self.text.push_str(s);
        self.map.extend(std::iter::repeat_n(offset, s.len()));
    }

    /// The original byte range for a normalised byte range.
    pub fn original_span(&self, start: usize, end: usize) -> (usize, usize) {
        if self.map.is_empty() {
            return (start, end);
        }
        let s = self.map[start] as usize;
        // The end maps to the start of the character after the last matched byte.
        let e = self.map[end..]
            .iter()
            .copied()
            .find(|&o| o as usize > self.map[end - 1] as usize)
            .unwrap_or(*self.map.last().unwrap_or(&0)) as usize;
        (s, e)
    }
}

/// The accented Latin-1 letters of French, Spanish and Portuguese text, folded to their ASCII
/// base letter without the general decomposition (the common case, on the hot path). Agrees
/// with NFKD + mark removal + lower-casing; the unit test checks every letter it covers.
fn fold_latin1(ch: char) -> Option<char> {
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
pub fn normalize_phrase(phrase: &str) -> String {
    let mut n = Normalized::default();
    n.fill(phrase.trim());
    n.text
}

/// True for bytes that belong to a word: ASCII letters and digits, and any non-ASCII byte
/// (letters that survive folding, such as Arabic or Cyrillic).
#[inline]
pub fn is_word_byte(b: u8) -> bool {
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
        let (s, e) = n.original_span(start, start + "enlevees".len());
        assert_eq!(&input[s..e], "ENLEVÉES");
        let start = n.text.find("ecole").unwrap();
        let (s, e) = n.original_span(start, start + 5);
        assert_eq!(&input[s..e], "école");
    }

    #[test]
    fn ascii_fast_path_is_identity() {
        let mut n = Normalized::default();
        n.fill("Gunmen ABDUCTED five");
        assert_eq!(n.text, "gunmen abducted five");
        assert_eq!(n.original_span(7, 15), (7, 15));
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
}
