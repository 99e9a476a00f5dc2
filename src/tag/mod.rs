//! Tagging: a report's title, text and structured fields matched against the taxonomy of the UN
//! Framework of Analysis for Atrocity Crimes, giving the threats and risk factors it evidences.
//!
//! [`Tagger::new`] compiles a [`taxonomy::Taxonomy`] once. [`Tagger::tag`] then gives, per
//! report, a compact [`TagSet`] (bitsets plus hits) that the window stage uses directly;
//! [`Tagger::render`] expands it into the full JSON record ([`TaggedReport`]) only when asked
//! (`vigil tag`, the tagged topic). Declared categories are kept beside inferred threats.
//!
//! The files, in the order a report meets them:
//!
//! - [`taxonomy`]: the model of `config/taxonomy.toml`, its validation, and the risk-factor and
//!   threat bitsets;
//! - `compile.rs`: the taxonomy compiled into phrase, part, pair and frame tables, two lexicon
//!   scanners and one cue automaton ([`Tagger::new`]);
//! - [`normalize`]: the text normalised for matching, with a map back to the bytes as sent;
//! - `scanner.rs`: the lexicon scan (one DFA, every occurrence, overlapping);
//! - `phrases.rs`: one field matched: the choice of phrases among overlapping matches;
//! - `cues.rs`: whether a negation, hedge or figurative cue cancels a match;
//! - `frames.rs`: proximity pairs and event frames;
//! - `text.rs`: sentence, passage and word helpers;
//! - `tagset.rs`: the compact result; `render.rs`: the full record ([`Tagger::render`]);
//! - `settings.rs`: `[tagger]`; `scratch.rs`: buffers reused across reports.

mod arabic;
mod compile;
mod cues;
mod frames;
pub mod language;
pub mod normalize;
mod phrases;
mod render;
pub(crate) mod scanner;
mod scratch;
mod settings;
mod tagset;
pub mod taxonomy;
#[cfg(test)]
mod tests;
mod text;

use aho_corasick::AhoCorasick;

pub use language::LanguageChoice;
pub use render::{Disagreement, Evidence, Tag, TagKind, TaggedReport};
pub use scratch::Scratch;
pub use settings::TaggerSettings;
pub use tagset::{Field, Hit, TagSet, Victims, civilians_killed};

use crate::report::ValidReport;
use crate::tag::compile::{
    Companion, Condition, CueKinds, Frame, Pair, Part, PartSets, Pattern, PhraseTarget, ScanEntry,
    Structured,
};
use crate::tag::scanner::Scanner;
use crate::tag::tagset::victims_bit;
use crate::tag::taxonomy::{IndicatorRef, Target, risk_factor_bit, threats_in};

/// The compiled taxonomy (built by [`Tagger::new`]); immutable, shared by every report.
pub struct Tagger {
    settings: TaggerSettings,
    /// Distinct lexicon phrases, then phrases of another sense.
    patterns: Vec<Pattern>,
    /// Proximity parts and frame terms.
    parts: Vec<Part>,
    pairs: Vec<Pair>,
    frames: Vec<Frame>,
    /// The frame groups of each part.
    frame_groups: PartSets,
    /// Frame terms outside anchor groups (and not also pair parts or anchors), scanned only in
    /// the passages around an anchor hit; with the part(s) each of its patterns stands for.
    companion: Option<Companion>,
    /// Phrases (with those of another sense), proximity parts and frame anchor terms in one
    /// automaton, so that text is scanned once. Overlapping matches are reported (a part may sit
    /// inside a phrase or another part); phrases are then chosen leftmost-longest from them.
    scanner: Scanner,
    /// What each scanner pattern is: a phrase, a part, or both.
    scan_entries: Vec<ScanEntry>,
    /// The kind of each cue pattern.
    cue_kinds: Vec<CueKinds>,
    /// The languages of the cue tables, in index order (`PhraseTarget::language`).
    cue_languages: Vec<String>,
    cues: AhoCorasick,
    /// Some cue contains a sentence stop, so cues cannot be scanned sentence by sentence.
    cues_span_stops: bool,
    structured: Vec<Structured>,
    /// Threat codes in taxonomy order (bit `t` of a threat set is `threat_codes[t]`).
    threat_codes: Vec<String>,
    threat_weights: Vec<f64>,
    /// ISO 3166-1 codes of the taxonomy's `[[country]]` entries, in order.
    country_codes: Vec<String>,
    /// Per threat: it is of people taken, and things taken cancel it (`takes_people`).
    threat_takes_people: Vec<bool>,
    /// Per threat: legal proceedings do not cancel its matches (`counts_proceedings`).
    threat_counts_proceedings: Vec<bool>,
    /// The indicators each threat evidences (indices into `indicators`): a tagged threat sets
    /// their risk factors.
    threat_indicators: Vec<Vec<usize>>,
    indicators: Vec<IndicatorRef>,
    /// RF number (1-14) of each indicator.
    indicator_rf: Vec<u8>,
}

/// Why a taxonomy cannot be compiled.
#[derive(Debug, thiserror::Error)]
pub enum TaggerError {
    /// The taxonomy has a validation finding (the first, as `path: message`).
    #[error("taxonomy is invalid: {0}")]
    Invalid(String),
    /// An automaton could not be built (a limit of `aho-corasick`).
    #[error("cannot build matcher: {0}")]
    Build(#[from] aho_corasick::BuildError),
}

impl Tagger {
    /// The weight of threat `threat` (taxonomy order), as the taxonomy gives it (0 < w <= 10).
    pub(crate) fn threat_weight(&self, threat: usize) -> f64 {
        self.threat_weights[threat]
    }

    /// Number of lexicon phrases compiled: distinct normalised texts, without proximity
    /// phrases, frames and phrases of another sense (for `vigil bench` and `check-config`).
    pub fn phrase_count(&self) -> usize {
        self.phrases().count()
    }

    /// Number of event frames compiled.
    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    /// Every lexicon phrase as compiled (normalised, without `*`); not the phrases of another
    /// sense, which tag nothing.
    pub fn phrases(&self) -> impl Iterator<Item = &str> {
        let phrases = self.patterns.iter().filter(|p| !p.targets.is_empty());
        phrases.map(|p| p.text.as_str())
    }

    /// A pair or frame by its hit index (see [`Hit`]'s `pattern`): its text and target.
    fn compound(&self, index: usize) -> (&str, &PhraseTarget) {
        let i = index - self.patterns.len();
        match self.pairs.get(i) {
            Some(pair) => (&pair.text, &pair.target),
            None => {
                let frame = &self.frames[i - self.pairs.len()];
                (&frame.text, &frame.target)
            }
        }
    }

    /// The text shown as a hit's phrase: the lexicon phrase, `a ... b` or `frame:<name>`.
    fn phrase_text(&self, index: usize) -> &str {
        match self.patterns.get(index) {
            Some(p) => &p.text,
            None => self.compound(index).0,
        }
    }

    /// The weight of a hit's phrase for `target`.
    fn phrase_weight(&self, index: usize, target: Target) -> f64 {
        match self.patterns.get(index) {
            Some(p) => p
                .targets
                .iter()
                .find(|t| t.target == target)
                .map_or(1.0, |t| t.weight),
            None => self.compound(index).1.weight,
        }
    }

    /// Tags one validated report: its title and text, its structured fields, its declared
    /// categories, and the risk factors of every threat inferred or declared.
    pub fn tag(&self, report: &ValidReport<'_>, scratch: &mut Scratch) -> TagSet {
        let mut set = TagSet::default();
        scratch.home_country = self.home_country(&report.report.region);
        scratch.report_language = report
            .report
            .language
            .as_deref()
            .and_then(|l| self.cue_language(l));
        if let Some(title) = &report.report.title {
            self.match_field(title, Field::Title, scratch, &mut set);
        }
        self.match_field(&report.report.text, Field::Text, scratch, &mut set);

        for (i, s) in self.structured.iter().enumerate() {
            let holds = match &s.condition {
                Condition::Count { field, min } if field == "killed_civilians" => {
                    civilians_killed(report, &set) >= *min
                }
                Condition::Count { field, min } => {
                    report.casualties.get(field).is_some_and(|v| v >= *min)
                }
                Condition::ActorKind(kind) => report
                    .report
                    .actors
                    .iter()
                    .any(|a| a.kind.as_deref() == Some(kind.as_str())),
                Condition::ActorForeign => {
                    report.report.actors.iter().any(|a| a.foreign == Some(true))
                }
            };
            if holds {
                set.structured.push(i);
                self.mark(&mut set, s.target);
            }
        }

        for cat in &report.report.categories {
            match self.threat_codes.iter().position(|c| c == cat.as_ref()) {
                Some(t) => set.declared_threats |= 1 << t,
                None => set.unknown_declared.push(cat.to_string()),
            }
        }
        for t in threats_in(set.threats()) {
            for &ind in &self.threat_indicators[t] {
                set.risk_factors |= risk_factor_bit(self.indicator_rf[ind]);
            }
        }
        set
    }

    /// The `[[country]]` index of a region's country: the ISO 3166-1 code before the `-` of an
    /// ISO 3166-2 code (`TD-LC` → `TD`); none for an organisation's own codes.
    fn home_country(&self, region: &str) -> Option<u16> {
        let code = region.split('-').next()?;
        let i = self.country_codes.iter().position(|c| c == code)?;
        u16::try_from(i).ok()
    }

    /// The cue-table index of a declared language (`fr-CI` is `fr`), if the taxonomy has it.
    fn cue_language(&self, declared: &str) -> Option<u8> {
        let primary = language::primary_subtag(declared);
        let i = self
            .cue_languages
            .iter()
            .position(|l| l.eq_ignore_ascii_case(primary))?;
        u8::try_from(i).ok()
    }

    /// Whether a part hit counts in this report: a country's name does not count as foreign in
    /// a report from that country.
    pub(super) fn part_counts(&self, part: usize, home: Option<u16>) -> bool {
        home.is_none() || self.parts[part].country != home
    }

    /// Whether the `proceedings` cues leave matches for `target` standing.
    fn counts_proceedings(&self, target: Target) -> bool {
        match target {
            Target::Threat(t) => self.threat_counts_proceedings[t],
            Target::Indicator(_) | Target::Victims(_) => false,
        }
    }

    /// Whether `target` is of people taken, so that a thing taken cancels its matches.
    fn takes_people(&self, target: Target) -> bool {
        match target {
            Target::Threat(t) => self.threat_takes_people[t],
            Target::Indicator(_) | Target::Victims(_) => false,
        }
    }

    /// Marks `target` as inferred: its threat bit, or its indicator's risk-factor bit.
    fn mark(&self, set: &mut TagSet, target: Target) {
        match target {
            Target::Threat(t) => set.inferred_threats |= 1 << t,
            Target::Indicator(i) => set.risk_factors |= risk_factor_bit(self.indicator_rf[i]),
            Target::Victims(class) => set.victims |= victims_bit(class),
        }
    }
}
