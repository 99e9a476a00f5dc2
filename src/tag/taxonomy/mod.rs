//! The taxonomy: the 14 risk factors of the UN Framework of Analysis for Atrocity Crimes with their
//! numbered indicators, the threat categories, the lexicons per language, the structured-field
//! conditions and the negation/hedge/figurative cues (`config/taxonomy.toml`).
//!
//! This file owns the model, and the meaning of the two bitsets a tagged report carries: risk
//! factors (`u16`, bit `n - 1` = `RFn`, [`RISK_FACTORS`] of them) and threats (`u64`, bit `i` =
//! `threat[i]` in file order, at most [`MAX_THREATS`]). `validate.rs` checks what serde cannot;
//! the tagger compiles the model.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod validate;

/// The number of risk factors in the UN Framework of Analysis for Atrocity Crimes (United
/// Nations, 2014): eight common to all atrocity crimes (1-8), then two specific to genocide
/// (9-10), two to crimes against humanity (11-12) and two to war crimes (13-14). Their codes are
/// `RF1` ... `RF14`, and a taxonomy must list each exactly once. In a risk-factor mask (`u16`, as
/// in [`crate::tag::TagSet::risk_factors`]) bit `n - 1` stands for `RFn`.
pub(crate) const RISK_FACTORS: u8 = 14;

/// The most threats a taxonomy may list: a report's threats are one `u64` set, bit `i` standing
/// for `threat[i]` in file order ([`crate::tag::TagSet::threats`]).
pub(crate) const MAX_THREATS: usize = 64;

/// The RF numbers (1 ..= [`RISK_FACTORS`], ascending) whose bits are set in a risk-factor mask
/// (bit `n - 1` = `RFn`). Bits above RF14 are never set by the tagger and are ignored here.
pub(crate) fn risk_factors_in(mask: u16) -> impl Iterator<Item = u8> {
    let known = (1u16 << RISK_FACTORS) - 1;
    set_bits(u64::from(mask & known)).map(|bit| bit as u8 + 1)
}

/// The bit of `RFn` in a risk-factor mask; `n` is 1 ..= [`RISK_FACTORS`] (the taxonomy's
/// validation guarantees it for every indicator's risk factor).
pub(crate) fn risk_factor_bit(n: u8) -> u16 {
    debug_assert!((1..=RISK_FACTORS).contains(&n), "no risk factor RF{n}");
    1 << (n - 1)
}

/// The threat indices (into [`Taxonomy::threats`], ascending) whose bits are set in a threat
/// mask (bit `i` = `threat[i]`).
pub(crate) fn threats_in(mask: u64) -> impl Iterator<Item = usize> {
    set_bits(mask).map(|bit| bit as usize)
}

/// The positions of the set bits of `mask`, lowest first.
fn set_bits(mut mask: u64) -> impl Iterator<Item = u32> {
    std::iter::from_fn(move || {
        if mask == 0 {
            return None;
        }
        let bit = mask.trailing_zeros();
        mask &= mask - 1;
        Some(bit)
    })
}

/// The number of a risk-factor code: `RF7` gives 7; `None` unless it is `RF1` ... `RF14`.
pub(crate) fn risk_factor_number(code: &str) -> Option<u8> {
    let n = code.strip_prefix("RF")?.parse::<u8>().ok()?;
    (1..=RISK_FACTORS).contains(&n).then_some(n)
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Taxonomy {
    #[serde(rename = "risk_factor")]
    pub risk_factors: Vec<RiskFactor>,
    #[serde(rename = "threat")]
    pub threats: Vec<Threat>,
    #[serde(rename = "lexicon", default)]
    pub lexicons: Vec<LexiconEntry>,
    #[serde(rename = "structured", default)]
    pub structured: Vec<StructuredCondition>,
    /// Cue words per language code (`en`, `fr`, …).
    #[serde(default)]
    pub cues: BTreeMap<String, Cues>,
    #[serde(rename = "frame", default)]
    pub frames: Vec<EventFrame>,
    /// Named term groups for frames, per language code: `[frame_terms.en] captivity = [...]`.
    #[serde(default)]
    pub frame_terms: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Countries by their names and demonyms in every language, for the frame group
    /// [`FOREIGN_COUNTRY`]: a name of the report's own country (the ISO 3166-1 code before the
    /// `-` of an ISO 3166-2 `region`) is not foreign there.
    #[serde(default, rename = "country")]
    pub countries: Vec<Country>,
}

/// The frame group name that stands for the names of every country but the report's own
/// (`groups = ["foreign_country", "fighters", "arrival"]`); its terms come from `[[country]]`.
pub const FOREIGN_COUNTRY: &str = "foreign_country";

/// A country's names and demonyms, in any language, as frame terms (`chad`, `chadian*`,
/// `tchad*`, `تشاد`): matched like other terms, after normalisation.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Country {
    /// ISO 3166-1 alpha-2 code, upper case (`TD`).
    pub code: String,
    pub names: Vec<String>,
}

/// An event frame: a target is tagged when one term of every group appears in one passage (a
/// sentence; `;` does not end it here), in any order, none of them cancelled by a cue. Where a
/// phrase list must enumerate every way of saying "abducted", a frame states what any of them
/// describes: people taken, and then held, ransomed or not seen again.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EventFrame {
    pub name: String,
    /// `threat:<code>` or `indicator:<n.m>`.
    pub target: String,
    pub language: String,
    /// Names of term groups in `[frame_terms.<language>]`; two to four. The first is the
    /// anchor: its terms are scanned for in every text, the others' only around an anchor.
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RiskFactor {
    /// `RF1` … `RF14` ([`RISK_FACTORS`]).
    pub code: String,
    pub name: String,
    pub indicators: Vec<Indicator>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    /// The Framework's own number, e.g. `7.8`.
    pub id: String,
    pub label: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Threat {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Risk-factor indicators this threat evidences (`7.9`, `13.8`, …).
    pub indicators: Vec<String>,
    #[serde(default = "one")]
    pub weight: f64,
    /// Mentions in legal proceedings count ("charged with the defilement of a girl"): the
    /// `proceedings` cues do not cancel this threat's matches.
    #[serde(default)]
    pub counts_proceedings: bool,
    /// The threat is of people taken: the `property_after` cues ("took away his motorcycle")
    /// cancel its matches.
    #[serde(default)]
    pub takes_people: bool,
}

fn one() -> f64 {
    1.0
}

/// Phrases for one target in one language. A phrase ending in `*` matches any word that starts
/// with it (`kidnap*` → kidnapped, kidnapping); other phrases match whole words only. A phrase
/// `a ... b` (a proximity phrase) matches `a` followed by `b` later in the same sentence, at most
/// `tagger.proximity_words` words apart (`fighters ... across the border`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LexiconEntry {
    /// `threat:<code>` or `indicator:<n.m>`.
    pub target: String,
    pub language: String,
    pub phrases: Vec<String>,
    /// Overrides the target's weight for these phrases.
    #[serde(default)]
    pub weight: Option<f64>,
}

/// A tag derived from structured fields rather than text, e.g. `casualties.abducted >= 1`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StructuredCondition {
    pub name: String,
    /// `threat:<code>` or `indicator:<n.m>`.
    pub target: String,
    /// `casualties.<count>`, `actors.kind` or `actors.foreign`.
    pub field: String,
    /// For counts: the smallest value that tags.
    #[serde(default)]
    pub min: Option<i64>,
    /// For `actors.kind`: the kind that tags.
    #[serde(default)]
    pub equals: Option<String>,
}

/// Cue words that cancel a lexicon match in their scope.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Cues {
    /// Negation before the match, within `scope_words` words and the same clause ("no", "aucun").
    pub negation_before: Vec<String>,
    /// Denial or negation after the match, within `scope_words` words ("denied", "démenti").
    pub negation_after: Vec<String>,
    /// Hedges before the match that make it speculation ("rumours of", "unconfirmed").
    pub hedge: Vec<String>,
    /// Words that make the sentence figurative or fictional ("film", "match", "goal"): a cue
    /// anywhere in the sentence, except after a relative pronoun that follows the match.
    pub figurative: Vec<String>,
    /// Legal proceedings ("sentenced", "charged with", "in connection with"): the mention is of
    /// a case before the courts, which cancels it like a figurative cue, except for threats
    /// whose taxonomy entry says `counts_proceedings` (sexual violence, which is often reported
    /// only through the courts).
    pub proceedings: Vec<String>,
    /// Things, not people ("motorcycle", "phone", "cattle"): one of them at most two words after
    /// a match, in its clause, means what was taken was property ("took away his motorcycle").
    pub property_after: Vec<String>,
    /// Phrases that begin like a negation but affirm ("no fewer than"); they cancel nothing.
    pub neutral: Vec<String>,
    /// Words that end a clause for negation scope ("but", "mais").
    pub clause_breaks: Vec<String>,
    /// Relative pronouns ("who", "qui"): they end a clause like `clause_breaks`, and a
    /// figurative or proceedings cue after one belongs to another clause ("kidnapped two
    /// farmers who had refused to pay the tax").
    pub relative_breaks: Vec<String>,
    /// Phrases in which a lexicon word has another sense ("siège social": headquarters). They
    /// take part in the choice of phrases like any other and tag nothing, so a lexicon phrase
    /// inside one ("siège") is not a mention.
    pub other_senses: Vec<String>,
}

/// What a lexicon entry, event frame or structured condition points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Target {
    /// Index into `Taxonomy::threats`.
    Threat(usize),
    /// Index into the flattened indicator list (`Taxonomy::indicator_index`).
    Indicator(usize),
    /// Who the dead of a killing were (`victims:civilians`, `victims:combatants`): no tag of its
    /// own, it decides whether the killed count as civilians ([`crate::tag::Victims`]).
    Victims(VictimClass),
}

/// A class of victims a frame or phrase can evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum VictimClass {
    Civilians,
    Combatants,
}

/// A flattened indicator with its risk factor, for tag output.
#[derive(Debug, Clone)]
pub struct IndicatorRef {
    /// The Framework's number, e.g. `7.8`.
    pub id: String,
    /// Its risk factor's code, e.g. `RF7`.
    pub risk_factor: String,
}

impl Taxonomy {
    /// The threat codes, in taxonomy order (a threat's index in a report's threat set).
    pub fn threat_codes(&self) -> Vec<String> {
        self.threats.iter().map(|t| t.code.clone()).collect()
    }

    /// Every indicator, in file order, with its risk-factor code.
    pub fn indicator_index(&self) -> Vec<IndicatorRef> {
        self.risk_factors
            .iter()
            .flat_map(|rf| {
                rf.indicators.iter().map(|i| IndicatorRef {
                    id: i.id.clone(),
                    risk_factor: rf.code.clone(),
                })
            })
            .collect()
    }

    /// The index of the threat `code` in [`Taxonomy::threats`].
    pub(crate) fn threat_index(&self, code: &str) -> Option<usize> {
        self.threats.iter().position(|t| t.code == code)
    }

    /// Resolves `threat:<code>` or `indicator:<n.m>` (`indicators` from
    /// [`Taxonomy::indicator_index`]).
    pub(crate) fn resolve_target(
        &self,
        target: &str,
        indicators: &[IndicatorRef],
    ) -> Option<Target> {
        if let Some(code) = target.strip_prefix("threat:") {
            self.threat_index(code).map(Target::Threat)
        } else if let Some(id) = target.strip_prefix("indicator:") {
            indicators
                .iter()
                .position(|i| i.id == id)
                .map(Target::Indicator)
        } else if let Some(class) = target.strip_prefix("victims:") {
            match class {
                "civilians" => Some(Target::Victims(VictimClass::Civilians)),
                "combatants" => Some(Target::Victims(VictimClass::Combatants)),
                _ => None,
            }
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risk_factor_masks_read_as_rf_numbers() {
        let shipped: Taxonomy =
            toml::from_str(&std::fs::read_to_string("config/taxonomy.toml").unwrap()).unwrap();
        assert_eq!(usize::from(RISK_FACTORS), shipped.risk_factors.len());
        let mask = risk_factor_bit(1) | risk_factor_bit(7) | risk_factor_bit(14);
        assert_eq!(mask, 0b10_0000_0100_0001);
        assert_eq!(risk_factors_in(mask).collect::<Vec<_>>(), [1, 7, 14]);
        assert_eq!(risk_factors_in(u16::MAX).count(), 14);
        assert_eq!(risk_factors_in(0).count(), 0);
        assert_eq!(risk_factor_number("RF14"), Some(14));
        for bad in ["RF0", "RF15", "R7", "7"] {
            assert_eq!(risk_factor_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn threat_masks_read_as_indices() {
        assert_eq!(threats_in(0b1010).collect::<Vec<_>>(), [1, 3]);
        assert_eq!(threats_in(1 << 63 | 1).collect::<Vec<_>>(), [0, 63]);
        assert_eq!(threats_in(u64::MAX).count(), 64);
        assert_eq!(threats_in(0).count(), 0);
    }
}
