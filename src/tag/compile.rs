//! The taxonomy compiled for matching ([`Tagger::new`]): distinct lexicon phrases with their
//! targets, proximity parts and pairs, event frames with their term groups as bitsets, one
//! lexicon scanner over phrases, parts and frame anchors, a companion scanner for the other frame
//! terms, one Aho-Corasick automaton over every cue, and the structured-field conditions.
//!
//! Index spaces: a phrase (pattern) index is a position in `Tagger::patterns` (lexicon phrases,
//! then phrases of another sense); a hit's phrase index runs on over the pairs and then the
//! frames (see [`crate::tag::Hit`]). A part index is a position in `Tagger::parts` (proximity
//! parts and frame terms, interned by text and prefix flag).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use crate::tag::normalize::normalize_phrase;
use crate::tag::scanner::Scanner;
use crate::tag::taxonomy::{FOREIGN_COUNTRY, IndicatorRef, Target, Taxonomy, risk_factor_number};
use crate::tag::text::may_end_sentence;
use crate::tag::{Tagger, TaggerError, TaggerSettings};

/// What a cue does to a match in its scope (see `Cues` in the taxonomy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CueKind {
    NegationBefore,
    NegationAfter,
    Hedge,
    Figurative,
    Proceedings,
    PropertyAfter,
    Neutral,
    ClauseBreak,
    RelativeBreak,
}

/// A cue found in a text: byte span `[start, end)` in the normalised text, and its pattern in
/// the cue automaton (whose kinds per language are `Tagger::cue_kinds`).
pub(super) type Cue = (usize, usize, usize);

/// What one cue text is in each language that lists it: (language index, kind). A cue acts
/// only on matches of a language that lists it, so that English "no" does not negate the
/// Portuguese "no sábado, ... raptaram" ("on Saturday").
pub(super) type CueKinds = Vec<(u8, CueKind)>;

/// What a phrase, pair or frame tags, and with what weight.
#[derive(Debug, Clone)]
pub(super) struct PhraseTarget {
    pub(super) target: Target,
    /// The phrase ended in `*`: it may end inside a word.
    pub(super) prefix: bool,
    pub(super) weight: f64,
    /// Index of the language of its lexicon entry or frame (in `[cues.<lang>]` order): only
    /// that language's cues act on it.
    pub(super) language: u8,
}

/// One distinct lexicon phrase (normalised, without `*`) and every target that lists it; none
/// for a phrase of another sense.
#[derive(Debug, Clone)]
pub(super) struct Pattern {
    pub(super) text: String,
    pub(super) targets: Vec<PhraseTarget>,
}

/// One side of a proximity phrase, or a term of an event frame.
#[derive(Debug, Clone)]
pub(super) struct Part {
    pub(super) text: String,
    pub(super) prefix: bool,
    /// Some proximity pair uses it (frame terms alone do not make a pair candidate).
    pub(super) in_pair: bool,
    /// It is a term of some frame's anchor group.
    pub(super) anchor: bool,
    /// A name of this country (index into the taxonomy's `[[country]]`), for the frame group
    /// `foreign_country`: not a hit in a report from the country itself.
    pub(super) country: Option<u16>,
}

/// `first ... second`: both parts in one sentence, `second` after `first`, at most
/// `proximity_words` words apart.
#[derive(Debug, Clone)]
pub(super) struct Pair {
    /// Part indices.
    pub(super) first: usize,
    pub(super) second: usize,
    /// The phrase as written, normalised (`a ... b`), shown as the evidence's phrase.
    pub(super) text: String,
    pub(super) target: PhraseTarget,
}

/// An event frame as compiled: one part of every group in one passage (see
/// [`crate::tag::taxonomy::EventFrame`]).
#[derive(Debug, Clone)]
pub(super) struct Frame {
    /// `frame:<name>`, shown as the evidence's phrase.
    pub(super) text: String,
    pub(super) target: PhraseTarget,
    /// Its groups, as bit indices of [`PartSets`] (numbered across all frames); the first is
    /// the anchor group.
    pub(super) groups: Vec<usize>,
}

/// Bitsets over parts, one row per part, `words` u64 words wide: which frame groups a part
/// belongs to. A report's hits are first ORed into one row, so that a frame whose groups are not
/// all present costs a few bit tests, not a search of its term lists.
#[derive(Debug, Clone, Default)]
pub(super) struct PartSets {
    pub(super) words: usize,
    bits: Vec<u64>,
}

impl PartSets {
    fn new(parts: usize, sets: usize) -> PartSets {
        let words = sets.div_ceil(64).max(1);
        PartSets {
            words,
            bits: vec![0; parts * words],
        }
    }

    fn insert(&mut self, part: usize, set: usize) {
        self.bits[part * self.words + set / 64] |= 1 << (set % 64);
    }

    pub(super) fn row(&self, part: usize) -> &[u64] {
        &self.bits[part * self.words..(part + 1) * self.words]
    }

    pub(super) fn contains(&self, part: usize, set: usize) -> bool {
        has_bit(self.row(part), set)
    }
}

/// Whether bit `bit` is set in a bitset stored as u64 words, lowest bit first.
pub(super) fn has_bit(row: &[u64], bit: usize) -> bool {
    row[bit / 64] >> (bit % 64) & 1 == 1
}

/// A structured-field condition as compiled (see
/// [`crate::tag::taxonomy::StructuredCondition`]).
#[derive(Debug, Clone)]
pub(super) enum Condition {
    /// `casualties.<field> >= min`.
    Count { field: String, min: i64 },
    /// Some actor's `kind` is this.
    ActorKind(String),
    /// Some actor is `foreign`.
    ActorForeign,
}

#[derive(Debug, Clone)]
pub(super) struct Structured {
    /// The condition's name, shown as the rule `structured:<name>`.
    pub(super) name: String,
    pub(super) target: Target,
    pub(super) condition: Condition,
}

/// What one pattern of the lexicon scanner stands for: a phrase, parts, or both.
#[derive(Debug, Clone, Default)]
pub(super) struct ScanEntry {
    pub(super) phrase: Option<usize>,
    /// Parts with this text (a part may be plain and, elsewhere, a prefix `*`).
    pub(super) parts: Vec<usize>,
}

/// The companion scanner: frame terms outside anchor groups, with the part(s) each of its
/// patterns stands for.
pub(super) type Companion = (Scanner, Vec<Vec<usize>>);

/// The cue automaton: one pattern per distinct normalised cue, with its kind per language.
struct CueTable {
    kinds: Vec<CueKinds>,
    automaton: AhoCorasick,
    /// Some cue contains a sentence stop.
    spans_stops: bool,
}

/// Lexicon phrases, proximity parts and pairs, in the order the lexicon lists them.
#[derive(Default)]
struct Lexicon {
    patterns: Vec<Pattern>,
    parts: Vec<Part>,
    pairs: Vec<Pair>,
}

impl Tagger {
    /// Compiles `taxonomy` with `settings`.
    ///
    /// # Errors
    ///
    /// [`TaggerError::Invalid`] with the first finding of `Taxonomy::validate` (`path:
    /// message`); [`TaggerError::Build`] when an automaton cannot be built.
    pub fn new(taxonomy: &Taxonomy, settings: TaggerSettings) -> Result<Tagger, TaggerError> {
        let findings = taxonomy.validate();
        if let Some(f) = findings.first() {
            return Err(TaggerError::Invalid(format!("{}: {}", f.path, f.message)));
        }
        let indicators = taxonomy.indicator_index();
        // Validation checked every code is RF1 … RF14.
        let indicator_rf = indicators
            .iter()
            .map(|i| risk_factor_number(&i.risk_factor).unwrap_or(0))
            .collect();

        let Lexicon {
            mut patterns,
            mut parts,
            pairs,
        } = compile_lexicons(taxonomy, &indicators)?;
        let (frames, frame_groups) = compile_frames(taxonomy, &indicators, &mut parts)?;
        add_other_senses(taxonomy, &mut patterns);
        let (scanner, scan_entries, companion) = compile_scanners(&patterns, &parts)?;
        let cues = compile_cues(taxonomy)?;

        Ok(Tagger {
            settings,
            patterns,
            parts,
            pairs,
            frames,
            frame_groups,
            companion,
            scanner,
            scan_entries,
            cue_kinds: cues.kinds,
            cue_languages: taxonomy.cues.keys().cloned().collect(),
            cues_span_stops: cues.spans_stops,
            cues: cues.automaton,
            structured: compile_structured(taxonomy, &indicators),
            threat_codes: taxonomy.threat_codes(),
            threat_weights: taxonomy.threats.iter().map(|t| t.weight).collect(),
            country_codes: taxonomy.countries.iter().map(|c| c.code.clone()).collect(),
            threat_takes_people: taxonomy.threats.iter().map(|t| t.takes_people).collect(),
            threat_counts_proceedings: taxonomy
                .threats
                .iter()
                .map(|t| t.counts_proceedings)
                .collect(),
            threat_indicators: threat_indicators(taxonomy, &indicators),
            indicators,
            indicator_rf,
        })
    }
}

/// Resolves a `threat:<code>` or `indicator:<n.m>` target.
fn resolve(
    taxonomy: &Taxonomy,
    target: &str,
    indicators: &[IndicatorRef],
) -> Result<Target, TaggerError> {
    taxonomy
        .resolve_target(target, indicators)
        .ok_or_else(|| TaggerError::Invalid(format!("unknown target {target}")))
}

/// A target's own weight: its threat's, or 1 for an indicator.
fn target_weight(taxonomy: &Taxonomy, target: Target) -> f64 {
    match target {
        Target::Threat(t) => taxonomy.threats[t].weight,
        Target::Indicator(_) | Target::Victims(_) => 1.0,
    }
}

/// The lexicon entries: each phrase becomes a pattern (one per distinct normalised text, with
/// every target listing it), each `a ... b` a pair of interned parts.
fn compile_lexicons(
    taxonomy: &Taxonomy,
    indicators: &[IndicatorRef],
) -> Result<Lexicon, TaggerError> {
    let mut lexicon = Lexicon::default();
    let Lexicon {
        patterns,
        parts,
        pairs,
    } = &mut lexicon;
    for lex in &taxonomy.lexicons {
        let target = resolve(taxonomy, &lex.target, indicators)?;
        let weight = lex.weight.unwrap_or(target_weight(taxonomy, target));
        let language = language_index(taxonomy, &lex.language);
        for phrase in &lex.phrases {
            if let Some((a, b)) = phrase.split_once(" ... ") {
                let (first, second) = (intern_part(parts, a), intern_part(parts, b));
                parts[first].in_pair = true;
                parts[second].in_pair = true;
                pairs.push(Pair {
                    first,
                    second,
                    text: normalize_phrase(phrase),
                    target: PhraseTarget {
                        target,
                        prefix: false,
                        weight,
                        language,
                    },
                });
                continue;
            }
            let prefix = phrase.ends_with('*');
            let text = normalize_phrase(phrase.trim_end_matches('*'));
            let entry = PhraseTarget {
                target,
                prefix,
                weight,
                language,
            };
            match patterns.iter_mut().find(|p| p.text == text) {
                Some(p) => p.targets.push(entry),
                None => patterns.push(Pattern {
                    text,
                    targets: vec![entry],
                }),
            }
        }
    }
    Ok(lexicon)
}

/// The event frames, their terms interned into `parts` (after the lexicon's), and the frame
/// groups of every part.
fn compile_frames(
    taxonomy: &Taxonomy,
    indicators: &[IndicatorRef],
    parts: &mut Vec<Part>,
) -> Result<(Vec<Frame>, PartSets), TaggerError> {
    let mut frames = Vec::new();
    // (part, group) memberships, groups numbered across frames.
    let mut memberships: Vec<(usize, usize)> = Vec::new();
    let mut group_count = 0;
    for f in &taxonomy.frames {
        let target = resolve(taxonomy, &f.target, indicators)?;
        let mut groups = Vec::new();
        for (k, g) in f.groups.iter().enumerate() {
            if g == FOREIGN_COUNTRY {
                for (c, country) in taxonomy.countries.iter().enumerate() {
                    for name in &country.names {
                        let part = intern_part(parts, name);
                        parts[part].anchor |= k == 0;
                        parts[part].country = u16::try_from(c).ok();
                        memberships.push((part, group_count));
                    }
                }
                groups.push(group_count);
                group_count += 1;
                continue;
            }
            let terms = taxonomy.frame_terms.get(&f.language).and_then(|t| t.get(g));
            for term in terms.map_or(&[][..], Vec::as_slice) {
                let part = intern_part(parts, term);
                parts[part].anchor |= k == 0;
                memberships.push((part, group_count));
            }
            groups.push(group_count);
            group_count += 1;
        }
        frames.push(Frame {
            text: format!("frame:{}", f.name),
            target: PhraseTarget {
                target,
                prefix: false,
                weight: target_weight(taxonomy, target),
                language: language_index(taxonomy, &f.language),
            },
            groups,
        });
    }
    let mut frame_groups = PartSets::new(parts.len(), group_count);
    for (part, group) in memberships {
        frame_groups.insert(part, group);
    }
    Ok((frames, frame_groups))
}

/// Phrases of another sense, appended after the lexicon's: chosen like phrases, they tag
/// nothing.
fn add_other_senses(taxonomy: &Taxonomy, patterns: &mut Vec<Pattern>) {
    for cues in taxonomy.cues.values() {
        for phrase in &cues.other_senses {
            let text = normalize_phrase(phrase);
            if !patterns.iter().any(|p| p.text == text) {
                patterns.push(Pattern {
                    text,
                    targets: Vec::new(),
                });
            }
        }
    }
}

/// The lexicon scanner (every pattern, then the texts of pair parts and anchor terms not
/// already among them) with what each of its patterns stands for, and the companion scanner
/// over the other frame terms (none when every frame term is also an anchor or a pair part).
fn compile_scanners(
    patterns: &[Pattern],
    parts: &[Part],
) -> Result<(Scanner, Vec<ScanEntry>, Option<Companion>), TaggerError> {
    let mut scan_texts: Vec<&str> = Vec::new();
    let mut scan_entries: Vec<ScanEntry> = Vec::new();
    for (phrase, p) in patterns.iter().enumerate() {
        scan_texts.push(&p.text);
        scan_entries.push(ScanEntry {
            phrase: Some(phrase),
            parts: Vec::new(),
        });
    }
    let mut companion_texts: Vec<&str> = Vec::new();
    let mut companion_parts: Vec<Vec<usize>> = Vec::new();
    for (part, p) in parts.iter().enumerate() {
        if !(p.in_pair || p.anchor) {
            match companion_texts.iter().position(|t| *t == p.text) {
                Some(e) => companion_parts[e].push(part),
                None => {
                    companion_texts.push(&p.text);
                    companion_parts.push(vec![part]);
                }
            }
            continue;
        }
        match scan_texts.iter().position(|t| *t == p.text) {
            Some(e) => scan_entries[e].parts.push(part),
            None => {
                scan_texts.push(&p.text);
                scan_entries.push(ScanEntry {
                    phrase: None,
                    parts: vec![part],
                });
            }
        }
    }
    let scanner = Scanner::new(&scan_texts)?;
    let companion = if companion_texts.is_empty() {
        None
    } else {
        Some((Scanner::new(&companion_texts)?, companion_parts))
    };
    Ok((scanner, scan_entries, companion))
}

/// The index of a language among the taxonomy's cue tables (validation makes every lexicon
/// and frame language have one; an unknown one gets an index no cue has).
pub(super) fn language_index(taxonomy: &Taxonomy, language: &str) -> u8 {
    let i = taxonomy.cues.keys().position(|l| l == language);
    i.and_then(|i| u8::try_from(i).ok()).unwrap_or(u8::MAX)
}

/// Every cue of every language, normalised, each text once with its kind in each language that
/// lists it (the first listing within a language), in one automaton whose overlapping matches
/// `cues.rs` chooses among.
fn compile_cues(taxonomy: &Taxonomy) -> Result<CueTable, TaggerError> {
    let mut cue_texts: Vec<String> = Vec::new();
    let mut kinds: Vec<CueKinds> = Vec::new();
    for (language, cues) in taxonomy.cues.values().enumerate() {
        let language = u8::try_from(language).unwrap_or(u8::MAX);
        for (list, kind) in [
            (&cues.negation_before, CueKind::NegationBefore),
            (&cues.negation_after, CueKind::NegationAfter),
            (&cues.hedge, CueKind::Hedge),
            (&cues.figurative, CueKind::Figurative),
            (&cues.proceedings, CueKind::Proceedings),
            (&cues.property_after, CueKind::PropertyAfter),
            (&cues.neutral, CueKind::Neutral),
            (&cues.clause_breaks, CueKind::ClauseBreak),
            (&cues.relative_breaks, CueKind::RelativeBreak),
        ] {
            for cue in list {
                let text = normalize_phrase(cue);
                let at = match cue_texts.iter().position(|t| *t == text) {
                    Some(at) => at,
                    None => {
                        cue_texts.push(text);
                        kinds.push(Vec::new());
                        kinds.len() - 1
                    }
                };
                if !kinds[at].iter().any(|(l, _)| *l == language) {
                    kinds[at].push((language, kind));
                }
            }
        }
    }
    let spans_stops = cue_texts.iter().any(|c| c.bytes().any(may_end_sentence));
    let automaton = AhoCorasickBuilder::new()
        .kind(Some(AhoCorasickKind::DFA))
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(&cue_texts)?;
    Ok(CueTable {
        kinds,
        automaton,
        spans_stops,
    })
}

/// The structured-field conditions (a condition whose target does not resolve is dropped;
/// validation refuses such a taxonomy anyway).
fn compile_structured(taxonomy: &Taxonomy, indicators: &[IndicatorRef]) -> Vec<Structured> {
    taxonomy
        .structured
        .iter()
        .filter_map(|s| {
            let target = taxonomy.resolve_target(&s.target, indicators)?;
            let condition = if let Some(f) = s.field.strip_prefix("casualties.") {
                Condition::Count {
                    field: f.to_string(),
                    min: s.min.unwrap_or(1),
                }
            } else if s.field == "actors.kind" {
                Condition::ActorKind(s.equals.clone().unwrap_or_default())
            } else {
                Condition::ActorForeign
            };
            Some(Structured {
                name: s.name.clone(),
                target,
                condition,
            })
        })
        .collect()
}

/// The indicators (indices into `indicators`) that each threat evidences.
fn threat_indicators(taxonomy: &Taxonomy, indicators: &[IndicatorRef]) -> Vec<Vec<usize>> {
    taxonomy
        .threats
        .iter()
        .map(|t| {
            t.indicators
                .iter()
                .filter_map(|id| indicators.iter().position(|i| &i.id == id))
                .collect()
        })
        .collect()
}

/// Interns a proximity part or frame term (`kidnap*` is a prefix part), returning its index.
fn intern_part(parts: &mut Vec<Part>, phrase: &str) -> usize {
    let part = Part {
        text: normalize_phrase(phrase.trim_end_matches('*')),
        prefix: phrase.ends_with('*'),
        in_pair: false,
        anchor: false,
        country: None,
    };
    match parts
        .iter()
        .position(|x| x.text == part.text && x.prefix == part.prefix)
    {
        Some(i) => i,
        None => {
            parts.push(part);
            parts.len() - 1
        }
    }
}
