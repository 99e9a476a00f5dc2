//! The language of a report: the one it declares, the one its text reads as (detected with the
//! `whatlang` crate, a trigram and script classifier), and the one the record uses. Shown in the
//! full record only (`vigil tag`, the tagged topic): matching does not depend on it, since every
//! lexicon is matched against every report (field notes switch languages mid-sentence).

use serde::Serialize;

/// The language part of a tag record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LanguageChoice {
    /// The report's `language` field as sent, if any.
    pub declared: Option<String>,
    /// What the text reads as: an ISO 639-1 code where one exists (`en`, `fr`, `pt`, `ar`),
    /// else `whatlang`'s ISO 639-3 code; absent when the text gives nothing to go on.
    pub detected: Option<String>,
    /// `whatlang`'s confidence in `detected`, 0 to 1.
    pub confidence: f64,
    /// Whether `whatlang` calls the detection reliable (enough text, a clear margin).
    pub reliable: bool,
    /// The language of the record: the detected one when it is reliable and the declared one is
    /// absent or differs in its primary subtag (`fr-CI` agrees with `fr`), else the declared
    /// one; absent when there is no declaration and no reliable detection.
    pub used: Option<String>,
}

/// The primary subtag of a language tag (`pt` of `pt-BR`, `fr` of `fr_CI`), as written: compare
/// it with `eq_ignore_ascii_case` (BCP 47 tags are case-insensitive), which allocates nothing.
pub fn primary_subtag(tag: &str) -> &str {
    tag.split(['-', '_']).next().unwrap_or_default()
}

/// Detects the language of `text` (its first `sample_bytes` bytes, cut on a character
/// boundary, so that a long report costs no more than a short one) against `declared`.
pub fn choose(declared: Option<&str>, text: &str, sample_bytes: usize) -> LanguageChoice {
    let mut cut = sample_bytes.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let info = whatlang::detect(&text[..cut]);
    // A detection with no confidence at all ("x") is no detection.
    let info = info.filter(|i| i.confidence() > 0.0);
    let detected = info.as_ref().map(|i| iso_639_1(i.lang()).to_string());
    let reliable = info.as_ref().is_some_and(|i| i.is_reliable());
    let declared = declared.map(str::to_string);
    let used = match (&declared, &detected) {
        (Some(d), Some(x)) if reliable && !primary_subtag(d).eq_ignore_ascii_case(x) => {
            Some(x.clone())
        }
        (Some(d), _) => Some(d.clone()),
        (None, Some(x)) if reliable => Some(x.clone()),
        (None, _) => None,
    };
    LanguageChoice {
        declared,
        detected,
        confidence: info.map_or(0.0, |i| (i.confidence() * 100.0).round() / 100.0),
        reliable,
        used,
    }
}

/// ISO 639-1 for the languages a desk is likely to see; `whatlang`'s ISO 639-3 code otherwise.
fn iso_639_1(lang: whatlang::Lang) -> &'static str {
    use whatlang::Lang;
    match lang {
        Lang::Eng => "en",
        Lang::Fra => "fr",
        Lang::Por => "pt",
        Lang::Ara => "ar",
        Lang::Spa => "es",
        Lang::Deu => "de",
        Lang::Ita => "it",
        Lang::Rus => "ru",
        Lang::Tur => "tr",
        Lang::Pes => "fa",
        Lang::Urd => "ur",
        Lang::Amh => "am",
        Lang::Nld => "nl",
        other => other.code(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_declaration_gives_way_to_a_reliable_detection() {
        let text = "Des hommes armés ont enlevé douze femmes dans le village de Dori mardi soir, \
                    selon des sources locales.";
        let c = choose(Some("en"), text, 2048);
        assert_eq!(c.detected.as_deref(), Some("fr"));
        assert!(c.reliable);
        assert_eq!(c.used.as_deref(), Some("fr"));
        // A regional subtag agrees with its language.
        assert_eq!(
            choose(Some("fr-BF"), text, 2048).used.as_deref(),
            Some("fr-BF")
        );
        // Absent: the detected one.
        assert_eq!(choose(None, text, 2048).used.as_deref(), Some("fr"));
        // Nothing to go on and nothing declared: no language, not a guess.
        let c = choose(None, "x", 2048);
        assert_eq!((c.detected, c.used), (None, None));
    }

    #[test]
    fn portuguese_and_arabic_are_told_apart() {
        let pt = "Homens armados raptaram três pessoas na aldeia de Nacoba, em Macomia, \
                  segundo fontes locais.";
        assert_eq!(choose(None, pt, 2048).detected.as_deref(), Some("pt"));
        let ar = "اختطف مسلحون ثلاثة مدنيين من قرية قرب مدينة الفاشر في شمال دارفور";
        assert_eq!(choose(None, ar, 2048).detected.as_deref(), Some("ar"));
    }

    #[test]
    fn nothing_to_go_on_keeps_the_declaration() {
        let c = choose(Some("en"), "12 / 3", 2048);
        assert!(!c.reliable);
        assert_eq!(c.used.as_deref(), Some("en"));
        // The sample is cut on a character boundary.
        let c = choose(None, "ééééé", 3);
        assert_eq!(c.declared, None);
    }
}
