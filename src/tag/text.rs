//! Sentence, passage and word helpers over normalised text (bytes of
//! [`crate::tag::normalize`]'s output), shared by phrase, cue, pair and frame matching.

use crate::tag::arabic;
use crate::tag::normalize::is_word_byte;

/// Word-boundary check on normalised bytes. Boundaries are only required where the phrase itself
/// starts or ends with a word character (so `pas d'` may run into the next word); a `prefix`
/// phrase (`kidnap*`) may end inside a word; an Arabic match may have attached clitics before
/// it and one suffix after it (`arabic.rs`).
pub(super) fn bounded(text: &[u8], start: usize, end: usize, prefix: bool) -> bool {
    let starts_word = is_word_byte(text[start]);
    let ends_word = is_word_byte(text[end - 1]);
    let left_ok = !starts_word
        || start == 0
        || !is_word_byte(text[start - 1])
        || (text[start - 1] >= 0x80 && arabic::proclitics_before(text, start, end));
    let right_ok = prefix
        || !ends_word
        || end == text.len()
        || !is_word_byte(text[end])
        || (text[end] >= 0x80 && arabic::suffix_after(text, start, end));
    left_ok && right_ok
}

/// The passage an event frame must fit in: the sentence around a match, where a `;` does not
/// end it ("… took him away; he has not been seen since" is one event).
pub(super) fn passage(text: &[u8], start: usize, end: usize) -> (usize, usize) {
    let (mut from, mut to) = sentence(text, start, end);
    while from > 0 && text[from - 1] == b';' {
        from = sentence(text, from - 1, from - 1).0;
    }
    while to < text.len() && text[to] == b';' {
        to = sentence(text, to + 1, to + 1).1;
    }
    (from, to)
}

/// The bytes that end a sentence (a `.` only where it is not a decimal point).
pub(super) fn may_end_sentence(b: u8) -> bool {
    matches!(b, b'.' | b'!' | b'?' | b';' | b'\n')
}

/// Abbreviations whose full stop does not end a sentence ("approx. 20 armed men", "Lt. Col.",
/// Portuguese "c. 23h", "aprox.");
/// compared without regard to ASCII case. Field notes abbreviate freely; a sentence split inside
/// one would part an event frame's terms.
const ABBREVIATIONS: &[&[u8]] = &[
    b"approx", b"appr", b"est", b"no", b"nos", b"gov", b"govt", b"lt", b"col", b"gen", b"sgt",
    b"capt", b"maj", b"cpl", b"pte", b"dr", b"mr", b"mrs", b"ms", b"st", b"hon", b"rev", b"mt",
    b"vs", b"etc", b"hrs", b"hr", b"km", b"cf", b"ca", b"e.g", b"i.e", b"ref", b"dept", b"brig",
    b"cmdr", b"insp", b"supt", b"env", b"av", b"mme", b"mlle", b"m", b"cdt", b"c", b"aprox", b"sr",
    b"sra", b"eng", b"prof", b"cel", b"ten", b"gal",
];

/// Whether the `.` at `i` ends an abbreviation of [`ABBREVIATIONS`].
fn after_abbreviation(text: &[u8], i: usize) -> bool {
    let word_start = text[..i]
        .iter()
        .rposition(|&b| !(b.is_ascii_alphabetic() || b == b'.'))
        .map_or(0, |p| p + 1);
    let word = &text[word_start..i];
    !word.is_empty() && ABBREVIATIONS.iter().any(|a| a.eq_ignore_ascii_case(word))
}

/// The sentence around a match, as a byte range `[from, to)` without its stops: bounded by `.`,
/// `!`, `?`, `;` or a newline (a `.` between digits, as in `3.5`, or after an abbreviation, as
/// in `approx. 20`, is not a boundary).
pub(super) fn sentence(text: &[u8], start: usize, end: usize) -> (usize, usize) {
    let is_stop = |i: usize| match text[i] {
        b'.' => {
            let decimal = i > 0
                && i + 1 < text.len()
                && text[i - 1].is_ascii_digit()
                && text[i + 1].is_ascii_digit();
            !decimal && !after_abbreviation(text, i)
        }
        b => may_end_sentence(b),
    };
    let s0 = (0..start).rev().find(|&i| is_stop(i)).map_or(0, |i| i + 1);
    let s1 = (end..text.len())
        .find(|&i| is_stop(i))
        .unwrap_or(text.len());
    (s0, s1)
}

/// Whether a byte slice of normalised text holds at most `max` words. Stops reading after the
/// `max + 1`-th word starts, so that asking about a far cue costs the words asked about, not the
/// distance: a sentence of thousands of negated matches stays linear per match.
pub(super) fn within_words(slice: &[u8], max: usize) -> bool {
    let mut count = 0;
    let mut in_word = false;
    for &b in slice {
        let w = is_word_byte(b);
        if w && !in_word {
            count += 1;
            if count > max {
                return false;
            }
        }
        in_word = w;
    }
    true
}
