//! Near-duplicate reports: the same message posted again under a new id.
//!
//! An SMS gateway or a WhatsApp forward can deliver one message eight times, each with an id of
//! its own; counted eight times, it would drive a cluster rule from watch to critical on one
//! source's word. Field monitors also write templated notes ("Criminals armed with handguns broke
//! into a private residence in … and abducted …"), so two notes of one monitor on one day can
//! share most of their words and still be two incidents in two villages. The test therefore has
//! two parts, and a report is a near-duplicate of an earlier report of its region only when both
//! hold, from the same source, within `window.near_duplicate_secs` of event time:
//!
//! 1. **Same particulars**: the same location fields and casualty counts, and the same numbers
//!    (digits and number words), victim words (women, pupils, farmers, …; English and French)
//!    and capitalised words (places, names, units) in its title and text. A different village,
//!    count or victim makes a different report.
//! 2. **Near-identical wording**: the Jaccard similarity of the two texts' word pairs, estimated
//!    from a one-permutation MinHash of 16 bins (Li, Owen & Zhang 2012; Broder 1997 for MinHash),
//!    is at least `window.near_duplicate_similarity` (0.8 by default: a repost with a typo fixed
//!    or a word added passes; a different sentence around the same particulars does not).
//!
//! Of a group of near-duplicates the first to arrive counts; the others are duplicates of it.
//! Which copy that is follows the region's arrival order, as the stream and a backtest of the
//! same input share it (copies of one message carry the same particulars and nearly the same
//! event time, so the choice moves an alert's evidence id, rarely its counts). Only reports
//! that carry a signal are fingerprinted: a report without one changes no window, however
//! often it is repeated.
//!
//! Ordinary words are compared in ASCII lower case, with every default-ignorable code point
//! (soft hyphen, zero-width characters, bidirectional controls, variation selectors, tags)
//! dropped, so that a repost differing only in those is caught. Capitalised words count as
//! names, so an all-capitals or all-lower-case copy is another message. A
//! fingerprint is 40 bytes, kept with the report's id while the id is kept for deduplication
//! (the allowed lateness) and written with it to the changelog.

use serde::{Deserialize, Serialize};

use crate::report::ValidReport;
use crate::tag::normalize::is_default_ignorable;

/// Bins of the one-permutation MinHash.
pub(crate) const BINS: usize = 16;

/// What a report is compared by: its source and particulars (one key), and its wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Hash of the source id and the particulars; near-duplicates share it.
    pub key: u64,
    /// Minimum word-pair hash per bin, 16 bits of it (`u16::MAX`: an empty bin). Two different
    /// texts share a bin's minimum by chance once in 65,536 bins.
    pub sketch: [u16; BINS],
}

impl Fingerprint {
    /// The fingerprint of a valid report.
    pub fn of(report: &ValidReport<'_>) -> Fingerprint {
        let r = &report.report;
        let mut words = Words::default();
        if let Some(title) = &r.title {
            words.feed(title.as_bytes());
        }
        words.feed(r.text.as_bytes());
        let mut key = Mix::default();
        key.add(hash_bytes(r.source.id.as_bytes()));
        if let Some(loc) = &r.location {
            for part in [&loc.name, &loc.admin1, &loc.admin2] {
                key.add(part.as_deref().map_or(1, |p| hash_bytes(p.as_bytes())));
            }
        }
        for n in report.casualties.counts() {
            key.add(n as u64);
        }
        key.add(words.particulars);
        Fingerprint {
            key: key.0,
            sketch: words.sketch,
        }
    }

    /// Estimated Jaccard similarity of the two wordings, over the bins either fills.
    pub fn similarity(&self, other: &Fingerprint) -> f64 {
        self.similarity_to(&other.sketch)
    }

    /// [`Fingerprint::similarity`] against another report's sketch.
    pub(crate) fn similarity_to(&self, sketch: &[u16; BINS]) -> f64 {
        let (mut both, mut equal) = (0u32, 0u32);
        for (a, b) in self.sketch.iter().zip(sketch) {
            if *a == u16::MAX && *b == u16::MAX {
                continue;
            }
            both += 1;
            equal += u32::from(a == b);
        }
        if both == 0 {
            1.0
        } else {
            f64::from(equal) / f64::from(both)
        }
    }
}

/// An order-dependent hash combiner (FxHash's step).
#[derive(Default)]
struct Mix(u64);

/// FxHash's multiplier.
const MIX: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Mix {
    fn add(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(MIX);
    }
}

fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut m = Mix::default();
    for &b in bytes {
        m.add(u64::from(b.to_ascii_lowercase()));
    }
    m.0 | 1
}

/// Words that count as particulars, sorted (binary search), in ASCII lower case: number words
/// and the victims reports name most, in English and French (accents are not folded here, so
/// French words are listed without them only where reports often drop them).
const PARTICULAR_WORDS: [&str; 115] = [
    "boy",
    "boys",
    "cent",
    "centaine",
    "centaines",
    "chauffeur",
    "chauffeurs",
    "chief",
    "child",
    "children",
    "cinq",
    "cinquante",
    "commercant",
    "commercants",
    "deux",
    "dix",
    "doctor",
    "doctors",
    "douzaine",
    "douzaines",
    "douze",
    "dozen",
    "dozens",
    "driver",
    "drivers",
    "eight",
    "eleve",
    "eleven",
    "eleves",
    "enfant",
    "enfants",
    "enseignant",
    "enseignants",
    "families",
    "famille",
    "familles",
    "family",
    "farmer",
    "farmers",
    "femme",
    "femmes",
    "fideles",
    "fifteen",
    "fifty",
    "fille",
    "filles",
    "five",
    "forty",
    "four",
    "garcon",
    "garcons",
    "girl",
    "girls",
    "homme",
    "hommes",
    "huit",
    "hundred",
    "hundreds",
    "imam",
    "infirmier",
    "man",
    "men",
    "mille",
    "neuf",
    "nine",
    "nurse",
    "nurses",
    "one",
    "onze",
    "passagers",
    "passenger",
    "passengers",
    "paysan",
    "paysans",
    "plusieurs",
    "pretre",
    "priest",
    "pupil",
    "pupils",
    "quarante",
    "quatre",
    "quinze",
    "sept",
    "seven",
    "several",
    "six",
    "soldat",
    "soldats",
    "soldier",
    "soldiers",
    "student",
    "students",
    "teacher",
    "teachers",
    "ten",
    "thirty",
    "thousand",
    "three",
    "trader",
    "traders",
    "trente",
    "trois",
    "twelve",
    "twenty",
    "two",
    "un",
    "une",
    "villageois",
    "villager",
    "villagers",
    "vingt",
    "woman",
    "women",
    "worshipper",
    "worshippers",
];

/// A one-hash Bloom filter over the particular words' hashes: most words of a text are not
/// particular, and one bit test rules them out before the binary search.
struct Filter([u64; 64]);

impl Filter {
    fn new() -> Filter {
        let mut f = Filter([0; 64]);
        for w in PARTICULAR_WORDS {
            let bit = (word_hash(w.as_bytes()) >> 52) as usize;
            f.0[bit / 64] |= 1 << (bit % 64);
        }
        f
    }

    fn may_contain(&self, h: u64) -> bool {
        let bit = (h >> 52) as usize;
        self.0[bit / 64] & (1 << (bit % 64)) != 0
    }
}

static PARTICULAR_FILTER: std::sync::LazyLock<Filter> = std::sync::LazyLock::new(Filter::new);

/// The word pass: word-pair hashes into the sketch, particular words into a sum.
struct Words {
    sketch: [u16; BINS],
    /// Order-insensitive sum of the particular words' hashes.
    particulars: u64,
    previous: u64,
    /// The last non-space byte before the current word ended a sentence (or there was none).
    sentence_start: bool,
}

impl Default for Words {
    fn default() -> Self {
        Words {
            sketch: [u16::MAX; BINS],
            particulars: 0,
            previous: 0,
            sentence_start: true,
        }
    }
}

impl Words {
    fn feed(&mut self, text: &[u8]) {
        let mut i = 0;
        self.sentence_start = true;
        let mut plain = Vec::new();
        while i < text.len() {
            let b = text[i];
            if !WORD_BYTE[usize::from(b)] {
                if matches!(b, b'.' | b'!' | b'?' | b'\n') {
                    self.sentence_start = true;
                }
                i += 1;
                continue;
            }
            let start = i;
            let mut invisible = false;
            while i < text.len() && WORD_BYTE[usize::from(text[i])] {
                // The lead bytes of every default-ignorable code point's UTF-8 form (U+00AD,
                // U+034F, U+061C, U+115F…, U+200B…, U+3164, U+FE00…, U+1BCA0…, U+E0000…);
                // accented Latin letters (C3) and most scripts never take the slow path.
                invisible |= matches!(
                    text[i],
                    0xC2 | 0xCD | 0xD8 | 0xE1 | 0xE2 | 0xE3 | 0xEF | 0xF0 | 0xF3
                );
                i += 1;
            }
            let mut word = &text[start..i];
            if invisible {
                // Drop the characters a reader does not see (Unicode's default-ignorable code
                // points), then hash what is left. Word bounds lie on ASCII bytes, so the word
                // is whole UTF-8.
                plain.clear();
                let chars = std::str::from_utf8(word).unwrap_or_default().chars();
                for c in chars.filter(|&c| !is_default_ignorable(c)) {
                    let mut buf = [0u8; 4];
                    plain.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                word = &plain;
                if word.is_empty() {
                    continue;
                }
            }
            let h = word_hash(word);
            let capital = word[0].is_ascii_uppercase();
            let particular = word.iter().all(u8::is_ascii_digit)
                || (word.len() <= MAX_PARTICULAR_WORD
                    && PARTICULAR_FILTER.may_contain(h)
                    && is_particular_word(word))
                || (capital && !self.sentence_start && word.len() > 1);
            if particular {
                self.particulars = self.particulars.wrapping_add(h | 1);
            }
            self.sentence_start = false;
            let pair = (self.previous.rotate_left(29) ^ h).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            self.previous = h;
            let bin = (pair >> 60) as usize;
            let value = (pair as u16).min(u16::MAX - 1);
            if value < self.sketch[bin] {
                self.sketch[bin] = value;
            }
        }
    }
}

/// Longest listed particular word, in bytes.
const MAX_PARTICULAR_WORD: usize = 12;

fn is_particular_word(word: &[u8]) -> bool {
    let mut lower = [0u8; MAX_PARTICULAR_WORD];
    for (l, b) in lower.iter_mut().zip(word) {
        *l = b.to_ascii_lowercase();
    }
    std::str::from_utf8(&lower[..word.len()])
        .is_ok_and(|w| PARTICULAR_WORDS.binary_search(&w).is_ok())
}

/// Hash of a word in ASCII lower case, eight bytes at a time. Setting bit 5 lowers ASCII
/// letters and leaves digits as they are; non-ASCII bytes change too, consistently, which only
/// merges characters that differ in that bit.
fn word_hash(word: &[u8]) -> u64 {
    let mut m = Mix::default();
    let mut chunks = word.chunks_exact(8);
    for c in &mut chunks {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        m.add(u64::from_le_bytes(b) | 0x2020_2020_2020_2020);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut b = [0u8; 8];
        for (d, s) in b.iter_mut().zip(rest) {
            *d = s | 0x20;
        }
        m.add(u64::from_le_bytes(b));
    }
    m.0
}

/// Which bytes belong to words: ASCII letters and digits, and every byte of a non-ASCII
/// character.
static WORD_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c >= 0x80;
        b += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Limits, decode};

    fn fp(text: &str, source: &str, place: &str) -> Fingerprint {
        let json = serde_json::json!({"id": "x", "event_time": "2026-03-05T10:00:00Z",
            "region": "NG-BO", "source": {"id": source}, "text": text,
            "location": {"name": place}});
        let bytes = serde_json::to_vec(&json).unwrap();
        Fingerprint::of(&decode(&bytes, &Limits::default(), None).unwrap())
    }

    fn near(a: &Fingerprint, b: &Fingerprint) -> bool {
        a.key == b.key && a.similarity(b) >= 0.8
    }

    const SMS: &str = "Gunmen attacked the village at night and took away women. Please help us.";

    #[test]
    fn a_repost_is_a_near_duplicate() {
        let a = fp(SMS, "sms:+23480", "");
        assert!(near(&a, &fp(SMS, "sms:+23480", "")));
        // Invisible characters, spacing and a word added at the end do not make a new message.
        let b = fp(
            &SMS.replace("women", "wo\u{ad}men")
                .replace(" night", "  night"),
            "sms:+23480",
            "",
        );
        assert!(near(&a, &b), "{}", a.similarity(&b));
        let c = fp(&format!("{SMS} urgent"), "sms:+23480", "");
        assert!(near(&a, &c), "{}", a.similarity(&c));
        // Another source's identical words are another report.
        assert!(!near(&a, &fp(SMS, "sms:+23481", "")));
    }

    #[test]
    fn the_slow_path_sees_every_default_ignorable_lead_byte() {
        let text = (0..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|&c| is_default_ignorable(c));
        for c in text {
            let word = format!("kid{c}napped");
            let mut with = Words::default();
            with.feed(word.as_bytes());
            let mut without = Words::default();
            without.feed(b"kidnapped");
            assert_eq!(with.sketch, without.sketch, "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn templated_notes_of_different_incidents_are_not() {
        let note = |village: &str, count: &str, victims: &str| {
            format!(
                "Criminals armed with handguns broke into a private residence in {village} at night and abducted {count} {victims}. The monitor said the family has not paid any ransom so far."
            )
        };
        let a = fp(&note("Kukawa", "two", "women"), "fm-12", "");
        for other in [
            note("Monguno", "two", "women"),
            note("Kukawa", "three", "women"),
            note("Kukawa", "2", "women"),
        ] {
            assert!(!near(&a, &fp(&other, "fm-12", "")), "{other}");
        }
        // The same note under another location is another incident too.
        let same = note("Kukawa", "two", "women");
        assert!(!near(&a, &fp(&same, "fm-12", "Gwoza")));
        // Other victims are another incident, though one word differs.
        assert!(!near(&a, &fp(&note("Kukawa", "two", "boys"), "fm-12", "")));
    }

    #[test]
    fn different_sentences_around_the_same_particulars_are_not() {
        let a = fp("Gunmen abducted a teacher in Bama.", "s", "");
        let b = fp(
            "In Bama, unknown attackers burned a teacher's house.",
            "s",
            "",
        );
        assert!(!near(&a, &b), "{}", a.similarity(&b));
    }
}
