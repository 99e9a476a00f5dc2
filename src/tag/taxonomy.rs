//! The taxonomy: the 14 risk factors of the UN Framework of Analysis for Atrocity Crimes with their
//! numbered indicators, the threat categories, the lexicons per language, the structured-field
//! conditions and the negation/hedge/figurative cues (`config/taxonomy.toml`).
//!
//! This file owns the model and its semantic validation; the tagger compiles it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::report::Casualties;
use crate::tag::normalize::normalize_phrase;

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
    /// `RF1` … `RF14`.
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
    /// Words that make the whole sentence figurative or fictional ("film", "match", "goal"), or
    /// a past case before the courts ("sentenced", "in connection with").
    pub figurative: Vec<String>,
    /// Phrases that begin like a negation but affirm ("no fewer than"); they cancel nothing.
    pub neutral: Vec<String>,
    /// Words that end a clause for negation scope ("but", "mais").
    pub clause_breaks: Vec<String>,
    /// Phrases in which a lexicon word has another sense ("siège social": headquarters). They
    /// take part in the choice of phrases like any other and tag nothing, so a lexicon phrase
    /// inside one ("siège") is not a mention.
    pub other_senses: Vec<String>,
}

/// What a lexicon entry or structured condition points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// Index into `Taxonomy::threats`.
    Threat(usize),
    /// Index into the flattened indicator list (`Taxonomy::indicator_index`).
    Indicator(usize),
}

/// One validation finding: a field path (`threat[2].indicators[0]`) and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub path: String,
    pub message: String,
}

/// A flattened indicator with its risk factor, for tag output.
#[derive(Debug, Clone)]
pub struct IndicatorRef {
    pub id: String,
    pub risk_factor: String,
}

pub const STRUCTURED_FIELDS: [&str; 2] = ["actors.kind", "actors.foreign"];

impl Taxonomy {
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

    pub fn threat_index(&self, code: &str) -> Option<usize> {
        self.threats.iter().position(|t| t.code == code)
    }

    /// Resolves `threat:<code>` or `indicator:<n.m>`.
    pub fn resolve_target(&self, target: &str, indicators: &[IndicatorRef]) -> Option<Target> {
        if let Some(code) = target.strip_prefix("threat:") {
            self.threat_index(code).map(Target::Threat)
        } else if let Some(id) = target.strip_prefix("indicator:") {
            indicators
                .iter()
                .position(|i| i.id == id)
                .map(Target::Indicator)
        } else {
            None
        }
    }

    /// Semantic checks that serde cannot express. Empty means valid.
    pub fn validate(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut push = |path: String, message: String| out.push(Finding { path, message });

        let mut seen_rf = BTreeSet::new();
        for (i, rf) in self.risk_factors.iter().enumerate() {
            let number = rf
                .code
                .strip_prefix("RF")
                .and_then(|n| n.parse::<u32>().ok());
            match number {
                Some(n) if (1..=14).contains(&n) => {
                    if !seen_rf.insert(n) {
                        push(
                            format!("risk_factor[{i}].code"),
                            format!("duplicate {}", rf.code),
                        );
                    }
                    for (j, ind) in rf.indicators.iter().enumerate() {
                        let ok = ind
                            .id
                            .split_once('.')
                            .is_some_and(|(a, b)| a == n.to_string() && b.parse::<u32>().is_ok());
                        if !ok {
                            push(
                                format!("risk_factor[{i}].indicators[{j}].id"),
                                format!("expected `{n}.<number>` inside {}", rf.code),
                            );
                        }
                    }
                }
                _ => push(
                    format!("risk_factor[{i}].code"),
                    "expected RF1 … RF14".into(),
                ),
            }
        }
        if seen_rf.len() != 14 {
            let missing: Vec<String> = (1..=14)
                .filter(|n| !seen_rf.contains(n))
                .map(|n| format!("RF{n}"))
                .collect();
            if !missing.is_empty() {
                push(
                    "risk_factor".into(),
                    format!("missing {}", missing.join(", ")),
                );
            }
        }

        let indicators = self.indicator_index();
        let mut seen_threat = BTreeSet::new();
        for (i, t) in self.threats.iter().enumerate() {
            if t.code.is_empty()
                || !t
                    .code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                push(
                    format!("threat[{i}].code"),
                    "expected lower_snake_case".into(),
                );
            }
            if !seen_threat.insert(t.code.as_str()) {
                push(format!("threat[{i}].code"), format!("duplicate {}", t.code));
            }
            for (j, ind) in t.indicators.iter().enumerate() {
                if !indicators.iter().any(|x| &x.id == ind) {
                    push(
                        format!("threat[{i}].indicators[{j}]"),
                        format!("unknown indicator {ind}"),
                    );
                }
            }
            if !(t.weight > 0.0 && t.weight <= 10.0) {
                push(
                    format!("threat[{i}].weight"),
                    "expected 0 < weight <= 10".into(),
                );
            }
        }
        for required in ["foreign_fighters", "siege", "abduction", "sexual_violence"] {
            if !seen_threat.contains(required) {
                push(
                    "threat".into(),
                    format!("missing required threat `{required}`"),
                );
            }
        }

        for (i, lex) in self.lexicons.iter().enumerate() {
            if self.resolve_target(&lex.target, &indicators).is_none() {
                push(
                    format!("lexicon[{i}].target"),
                    format!(
                        "unknown target {} (want threat:<code> or indicator:<n.m>)",
                        lex.target
                    ),
                );
            }
            if !self.cues.contains_key(&lex.language) {
                push(
                    format!("lexicon[{i}].language"),
                    format!("no [cues.{}] table for this language", lex.language),
                );
            }
            for (j, p) in lex.phrases.iter().enumerate() {
                // A proximity phrase `a ... b` is checked part by part.
                let parts: Vec<&str> = p.split(" ... ").collect();
                let ok = parts.len() <= 2
                    && parts
                        .iter()
                        .all(|part| is_plain_term(part) && !part.contains("..."));
                if !ok {
                    push(
                        format!("lexicon[{i}].phrases[{j}]"),
                        "expected at least 3 characters, `*` only at the end, and at most one ` ... `".into(),
                    );
                }
            }
            if lex.weight.is_some_and(|w| !(w > 0.0 && w <= 10.0)) {
                push(
                    format!("lexicon[{i}].weight"),
                    "expected 0 < weight <= 10".into(),
                );
            }
        }

        let phrases: BTreeSet<String> = self
            .lexicons
            .iter()
            .flat_map(|l| &l.phrases)
            .map(|p| normalize_phrase(p.trim_end_matches('*')))
            .collect();
        for (lang, cues) in &self.cues {
            for (j, p) in cues.other_senses.iter().enumerate() {
                if phrases.contains(&normalize_phrase(p)) {
                    push(
                        format!("cues.{lang}.other_senses[{j}]"),
                        "is also a lexicon phrase: it cannot both tag and not tag".into(),
                    );
                }
            }
        }
        for (lang, groups) in &self.frame_terms {
            for (name, terms) in groups {
                for (j, term) in terms.iter().enumerate() {
                    if !is_plain_term(term) {
                        push(
                            format!("frame_terms.{lang}.{name}[{j}]"),
                            "expected at least 3 characters and `*` only at the end".into(),
                        );
                    }
                }
            }
        }
        for (i, f) in self.frames.iter().enumerate() {
            if self.resolve_target(&f.target, &indicators).is_none() {
                push(
                    format!("frame[{i}].target"),
                    format!("unknown target {}", f.target),
                );
            }
            if !self.cues.contains_key(&f.language) {
                push(
                    format!("frame[{i}].language"),
                    format!("no [cues.{}] table for this language", f.language),
                );
            }
            if !(2..=4).contains(&f.groups.len()) {
                push(
                    format!("frame[{i}].groups"),
                    "expected two to four groups".into(),
                );
            }
            for (j, g) in f.groups.iter().enumerate() {
                let terms = self.frame_terms.get(&f.language).and_then(|t| t.get(g));
                if terms.is_none_or(Vec::is_empty) {
                    push(
                        format!("frame[{i}].groups[{j}]"),
                        format!("no terms for `{g}` in [frame_terms.{}]", f.language),
                    );
                }
            }
        }

        for (i, s) in self.structured.iter().enumerate() {
            if self.resolve_target(&s.target, &indicators).is_none() {
                push(
                    format!("structured[{i}].target"),
                    format!("unknown target {}", s.target),
                );
            }
            let count_field = s
                .field
                .strip_prefix("casualties.")
                .is_some_and(|f| Casualties::FIELD_NAMES.contains(&f));
            if count_field {
                if s.min.is_none_or(|m| m < 1) {
                    push(
                        format!("structured[{i}].min"),
                        "count conditions need min >= 1".into(),
                    );
                }
            } else if s.field == "actors.kind" {
                if s.equals.is_none() {
                    push(
                        format!("structured[{i}].equals"),
                        "actors.kind needs `equals`".into(),
                    );
                }
            } else if s.field != "actors.foreign" {
                push(
                    format!("structured[{i}].field"),
                    format!(
                        "unknown field {} (want casualties.<{}>, {})",
                        s.field,
                        Casualties::FIELD_NAMES.join("|"),
                        STRUCTURED_FIELDS.join(", ")
                    ),
                );
            }
        }
        out
    }
}

/// A phrase or term the scan can match: at least three characters, `*` only at the end.
fn is_plain_term(term: &str) -> bool {
    let core = term.trim_end_matches('*');
    core.trim().chars().count() >= 3 && !core.contains('*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Taxonomy {
        toml::from_str(&std::fs::read_to_string("config/taxonomy.toml").unwrap()).unwrap()
    }

    #[test]
    fn the_shipped_taxonomy_is_valid() {
        assert_eq!(shipped().validate(), []);
    }

    #[test]
    fn a_phrase_of_another_sense_cannot_also_be_a_lexicon_phrase() {
        let mut tax = shipped();
        let fr = tax.cues.get_mut("fr").unwrap();
        fr.other_senses.push("Siège".into());
        let at = fr.other_senses.len() - 1;
        let findings = tax.validate();
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].path, format!("cues.fr.other_senses[{at}]"));
    }

    #[test]
    fn frames_name_groups_that_exist() {
        let mut tax = shipped();
        tax.frames[0].groups = vec!["captivity".into()];
        tax.frames[1].groups.push("nonexistent".into());
        let paths: Vec<String> = tax.validate().into_iter().map(|f| f.path).collect();
        assert_eq!(paths, ["frame[0].groups", "frame[1].groups[2]"]);
    }
}
