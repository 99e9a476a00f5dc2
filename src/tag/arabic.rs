//! Arabic for matching. Writers vary the same word in ways a reader does not notice: vowel marks
//! (harakat, dropped with the other combining marks), tatweel, the hamza forms of alef, final
//! yaa and alef maqsura, taa marbuta and haa; and they attach the conjunctions و ف, the
//! prepositions ب ك ل, the future marker س and the article ال to the next word, and pronouns
//! and plural endings to its end. This file owns the three steps that make such variants match
//! one lexicon entry: folding characters during normalisation ([`fold`]), removing the article
//! (with the proclitics before it) from the start of every word after it ([`strip_articles`]),
//! and accepting other attached clitics at a match's edges ([`proclitics_before`],
//! [`suffix_after`]). Spans still point into the report as sent: the removed bytes leave the
//! normalisation's byte map in step.
//!
//! The clitic and suffix sets are those of the light stemmers of Arabic information retrieval
//! (Larkey, Ballesteros and Connell, "Light Stemming for Arabic Information Retrieval", 2007),
//! restricted to what is safe without a dictionary: the article is removed only when three
//! letters remain, and bare proclitics and suffixes are accepted only at the edges of matches of
//! three letters or more.

use crate::tag::normalize::is_word_byte;

/// Fewest letters a word keeps once its article is removed, and fewest a match needs before
/// clitics other than و ف are accepted around it: shorter words are mostly particles, where a
/// leading ل or ب belongs to the word itself.
const MIN_STEM: usize = 3;

/// The article with the proclitics that can precede it, normalised, longest first (ل + ال is
/// written لل).
const ARTICLES: [&str; 12] = [
    "وبال", "فبال", "وكال", "فكال", "ولل", "فلل", "وال", "فال", "بال", "كال", "لل", "ال",
];

/// Proclitics accepted before a match without an article: conjunctions, prepositions and the
/// future marker.
const PROCLITICS: [char; 6] = ['و', 'ف', 'ب', 'ك', 'ل', 'س'];

/// Verb and plural endings accepted after a match, normalised (ة is ه by then), longest first.
const ENDINGS: [&str; 11] = ["وا", "تم", "نا", "ون", "ين", "ان", "ات", "و", "ت", "ا", "ه"];

/// Pronoun endings accepted after a match or after one of [`ENDINGS`] ("خطفوه": they took him).
const PRONOUNS: [&str; 11] = [
    "هما", "ها", "هم", "هن", "كم", "كن", "ني", "نا", "ه", "ك", "ي",
];

/// Whether `c` is in the Arabic block (U+0600–U+06FF), the only one [`fold`] changes.
pub(super) fn is_arabic(c: char) -> bool {
    ('\u{0600}'..='\u{06FF}').contains(&c)
}

/// What normalisation makes of an Arabic character once decomposed (the hamza and madda of
/// أ إ آ ؤ ئ are combining marks by then, dropped like accents): `None` drops it (tatweel);
/// alef wasla is alef, alef maqsura is yaa, taa marbuta is haa; Arabic punctuation and digits
/// become their ASCII forms, so that sentences, clauses and numbers are found as in other text.
pub(super) fn fold(c: char) -> Option<char> {
    Some(match c {
        '\u{0640}' => return None,
        '\u{0671}' => '\u{0627}',
        '\u{0649}' => '\u{064A}',
        '\u{0629}' => '\u{0647}',
        '\u{060C}' => ',',
        '\u{061B}' => ';',
        '\u{061F}' => '?',
        '\u{06D4}' => '.',
        '\u{0660}'..='\u{0669}' => char::from(b'0' + (u32::from(c) - 0x660) as u8),
        '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (u32::from(c) - 0x6F0) as u8),
        _ => c,
    })
}

/// Whether `c` is an Arabic letter (hamza to yaa).
fn is_letter(c: char) -> bool {
    ('\u{0621}'..='\u{064A}').contains(&c)
}

/// Removes the article, with any proclitic before it, from the start of every Arabic word of the
/// normalised `text` that keeps [`MIN_STEM`] letters after it; `map` (one original offset per
/// byte, when it is being built) loses the same bytes. Phrases and reports go through the same
/// step, so "الأطفال", "والأطفال", "بالأطفال" and "أطفال" all become "اطفال".
pub(super) fn strip_articles(text: &mut String, map: Option<&mut Vec<u32>>) {
    let mut cut: Vec<(usize, usize)> = Vec::new();
    let mut word_start = true;
    for (i, c) in text.char_indices() {
        if word_start && is_letter(c) {
            // Again while one is left: once hamza is folded, "الألغام" reads "الالغام" and
            // "ألغام" reads "الغام"; stripping to a fixed point gives both "غام".
            let mut at = i;
            loop {
                let rest = &text[at..];
                let letters = rest.chars().take_while(|&c| is_letter(c)).count();
                let Some(article) = ARTICLES.iter().find(|a| rest.starts_with(*a)) else {
                    break;
                };
                if letters < article.chars().count() + MIN_STEM {
                    break;
                }
                cut.push((at, at + article.len()));
                at += article.len();
            }
        }
        word_start = !c.is_alphanumeric() && !is_letter(c);
    }
    if cut.is_empty() {
        return;
    }
    let keep = |i: usize| !cut.iter().any(|&(s, e)| (s..e).contains(&i));
    if let Some(map) = map {
        let mut at = 0;
        map.retain(|_| {
            at += 1;
            keep(at - 1)
        });
    }
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for &(s, e) in &cut {
        out.push_str(&text[from..s]);
        from = e;
    }
    out.push_str(&text[from..]);
    *text = out;
}

/// Number of Arabic letters in a match, or zero when it does not begin and end with one.
fn letters(text: &[u8], start: usize, end: usize) -> usize {
    let Ok(m) = std::str::from_utf8(&text[start..end]) else {
        return 0;
    };
    let (Some(first), Some(last)) = (m.chars().next(), m.chars().next_back()) else {
        return 0;
    };
    if !is_letter(first) || !is_letter(last) {
        return 0;
    }
    m.chars().filter(|&c| is_letter(c)).count()
}

/// Whether the match `[start, end)` of normalised `text` begins a word once attached proclitics
/// are set aside: one or two of و ف ب ك ل س before it, and a word boundary before them. A
/// match shorter than [`MIN_STEM`] letters accepts only و or ف ("ولم": and did not).
pub(super) fn proclitics_before(text: &[u8], start: usize, end: usize) -> bool {
    let n = letters(text, start, end);
    if n == 0 {
        return false;
    }
    let Ok(before) = std::str::from_utf8(&text[..start]) else {
        return false;
    };
    let mut chars = before.char_indices().rev();
    let allowed = |c: char, short: bool| {
        if short {
            matches!(c, 'و' | 'ف')
        } else {
            PROCLITICS.contains(&c)
        }
    };
    let short = n < MIN_STEM;
    for taken in 1..=2 {
        let Some((i, c)) = chars.next() else {
            return false;
        };
        if !allowed(c, short) {
            return false;
        }
        if i == 0 || !is_word_byte(text[i - 1]) {
            return true;
        }
        if short && taken == 1 {
            return false;
        }
    }
    false
}

/// Whether the match `[start, end)` of normalised `text` ends a word once its attached endings
/// are set aside: a verb or plural ending, a pronoun, or both in that order; only for matches of
/// [`MIN_STEM`] letters or more.
pub(super) fn suffix_after(text: &[u8], start: usize, end: usize) -> bool {
    if letters(text, start, end) < MIN_STEM {
        return false;
    }
    let ends_word = |at: usize| text.get(at).is_none_or(|&b| !is_word_byte(b));
    let after = |at: usize, list: &[&str]| -> Vec<usize> {
        list.iter()
            .filter(|s| text[at..].starts_with(s.as_bytes()))
            .map(|s| at + s.len())
            .collect()
    };
    let endings = after(end, &ENDINGS);
    endings.iter().any(|&e| ends_word(e))
        || after(end, &PRONOUNS).into_iter().any(ends_word)
        || endings
            .iter()
            .any(|&e| after(e, &PRONOUNS).into_iter().any(ends_word))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stripped(s: &str) -> String {
        let mut t = s.to_string();
        strip_articles(&mut t, None);
        t
    }

    #[test]
    fn the_article_and_its_proclitics_go_when_three_letters_remain() {
        assert_eq!(stripped("الاطفال"), "اطفال");
        assert_eq!(stripped("والاطفال بالقوه للمحاصرين"), "اطفال قوه محاصرين");
        // Too short once stripped: the letters belong to the word.
        assert_eq!(stripped("الله والد"), "الله والد");
        assert_eq!(stripped("kidnapped الاطفال."), "kidnapped اطفال.");
        // To a fixed point: with and without the article, one form.
        assert_eq!(stripped("الالغام"), stripped("الغام"));
    }

    #[test]
    fn the_map_loses_the_same_bytes() {
        let mut t = "و الاطفال".to_string();
        let mut map: Vec<u32> = (0..t.len() as u32).collect();
        strip_articles(&mut t, Some(&mut map));
        assert_eq!(t, "و اطفال");
        assert_eq!(map.len(), t.len());
        // "ا" of اطفال came from byte 7 of the original (after و, space, ا, ل).
        assert_eq!(map[3], 7);
    }

    #[test]
    fn clitics_are_accepted_at_the_edges_of_a_match() {
        let text = "وخطفوه".as_bytes();
        let (s, e) = (2, 2 + "خطف".len());
        assert!(proclitics_before(text, s, e));
        assert!(suffix_after(text, s, e));
        // Not after a letter that is no proclitic.
        let text = "مخطوف".as_bytes();
        assert!(!proclitics_before(text, 2, 2 + "خطو".len()));
        // Short matches take و or ف only.
        let text = "ولم".as_bytes();
        assert!(proclitics_before(text, 2, text.len()));
        let text = "بلم".as_bytes();
        assert!(!proclitics_before(text, 2, text.len()));
    }

    #[test]
    fn letter_forms_fold() {
        assert_eq!(fold('ى'), Some('ي'));
        assert_eq!(fold('ة'), Some('ه'));
        assert_eq!(fold('ـ'), None);
        assert_eq!(fold('٣'), Some('3'));
        assert_eq!(fold('؟'), Some('?'));
    }
}
