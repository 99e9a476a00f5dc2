//! The compiled matcher: the lexicon scan ([`crate::tag::scanner`]) over every phrase and proximity
//! part, one Aho-Corasick automaton over every cue, both built once from the taxonomy; the choice
//! of phrases among overlapping matches; structured-field conditions; declared categories kept
//! beside inferred ones.
//!
//! Tagging a report yields a compact [`TagSet`] (bitsets plus hits) that the window stage uses
//! directly; [`TagSet::render`] expands it into the full JSON detail only when asked (`vigil tag`).

pub(crate) mod normalize;
pub(crate) mod scanner;
pub mod taxonomy;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use serde::{Deserialize, Serialize};

use crate::report::ValidReport;
use crate::tag::normalize::{Normalized, is_word_byte, normalize_phrase};
use crate::tag::scanner::{Occurrence, ScanScratch, Scanner};
use crate::tag::taxonomy::{IndicatorRef, Target, Taxonomy};

/// Tagger settings (`[tagger]` in `config/vigil.toml`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TaggerSettings {
    /// How many words before or after a match a negation or hedge cue reaches.
    pub scope_words: usize,
    /// Evidence spans kept per tag.
    pub max_evidence_per_tag: usize,
    /// Most words between the two parts of a proximity phrase (`fighters ... across the border`).
    pub proximity_words: usize,
}

impl Default for TaggerSettings {
    fn default() -> Self {
        TaggerSettings {
            scope_words: 5,
            max_evidence_per_tag: 8,
            proximity_words: 6,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CueKind {
    NegationBefore,
    NegationAfter,
    Hedge,
    Figurative,
    Neutral,
    ClauseBreak,
}

#[derive(Debug, Clone)]
struct PhraseTarget {
    target: Target,
    prefix: bool,
    weight: f64,
}

#[derive(Debug, Clone)]
struct Pattern {
    text: String,
    targets: Vec<PhraseTarget>,
}

/// One side of a proximity phrase, or a term of an event frame.
#[derive(Debug, Clone)]
struct Part {
    text: String,
    prefix: bool,
    /// Some proximity pair uses it (frame terms alone do not make a pair candidate).
    in_pair: bool,
    /// It is a term of some frame's anchor group.
    anchor: bool,
}

/// `first ... second`: both parts in one sentence, `second` after `first`, at most
/// `proximity_words` words apart.
#[derive(Debug, Clone)]
struct Pair {
    first: usize,
    second: usize,
    text: String,
    target: PhraseTarget,
}

/// An event frame as compiled: one part of every group in one passage (see
/// [`crate::tag::taxonomy::EventFrame`]).
#[derive(Debug, Clone)]
struct Frame {
    /// `frame:<name>`, shown as the evidence's phrase.
    text: String,
    target: PhraseTarget,
    /// Its groups, as indices into [`PartSets`] (numbered across all frames).
    groups: Vec<usize>,
}

/// Bitsets over parts, one row per part, `words` u64 words wide: which frame groups a part
/// belongs to. A report's hits are first ORed into one row, so that a frame whose groups are not
/// all present costs a few bit tests, not a search of its term lists.
#[derive(Debug, Clone, Default)]
struct PartSets {
    words: usize,
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

    fn row(&self, part: usize) -> &[u64] {
        &self.bits[part * self.words..(part + 1) * self.words]
    }

    fn contains(&self, part: usize, set: usize) -> bool {
        has_bit(self.row(part), set)
    }
}

fn has_bit(row: &[u64], bit: usize) -> bool {
    row[bit / 64] >> (bit % 64) & 1 == 1
}

#[derive(Debug, Clone)]
enum Condition {
    Count { field: String, min: i64 },
    ActorKind(String),
    ActorForeign,
}

#[derive(Debug, Clone)]
struct Structured {
    name: String,
    target: Target,
    condition: Condition,
}

/// Where a piece of evidence was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Title,
    Text,
}

/// One lexicon match that survived the cue checks.
#[derive(Debug, Clone, Copy)]
pub struct Hit {
    pub target: Target,
    pub field: Field,
    /// Byte span in the original field.
    pub start: usize,
    pub end: usize,
    /// Index of the phrase: a lexicon pattern (phrases, then phrases of another sense), then a
    /// proximity pair, then an event frame.
    pub pattern: usize,
}

/// The tags of one report in compact form.
#[derive(Debug, Clone, Default)]
pub struct TagSet {
    /// Bit i set: threat i (taxonomy order) was inferred from text or structured fields.
    pub inferred_threats: u64,
    /// Bit i set: threat i was declared by the reporter in `categories`.
    pub declared_threats: u64,
    /// Declared categories that the taxonomy does not know.
    pub unknown_declared: Vec<String>,
    /// Bit n-1 set: risk factor RFn is evidenced.
    pub risk_factors: u16,
    pub hits: Vec<Hit>,
    /// Indices into the structured conditions that held.
    pub structured: Vec<usize>,
}

impl TagSet {
    /// Threats that count for aggregation: inferred or declared.
    pub fn threats(&self) -> u64 {
        self.inferred_threats | self.declared_threats
    }
}

/// Full tag detail for output (`vigil tag`, `vigil.tagged`).
#[derive(Debug, Clone, Serialize)]
pub struct Tag {
    /// Threat code (`abduction`) or risk-factor code (`RF7`).
    pub code: String,
    pub kind: TagKind,
    /// The Framework indicator that fired, for risk-factor tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator: Option<String>,
    /// What fired: `lexicon`, `structured:<name>`, `threat:<code>` or `declared`.
    pub rule: String,
    pub evidence: Vec<Evidence>,
    pub weight: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TagKind {
    Threat,
    RiskFactor,
}

#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    /// `text`, `title`, or the structured field that held (`casualties.abducted`).
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<usize>,
    /// The lexicon phrase (normalised) that matched; never the report's own words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phrase: Option<String>,
}

/// The JSON line `vigil tag` writes per report.
#[derive(Debug, Clone, Serialize)]
pub struct TaggedReport {
    pub id: String,
    pub threats: Vec<String>,
    pub risk_factors: Vec<String>,
    pub declared: Vec<String>,
    /// Declared-only and inferred-only threats: where reporter and tagger disagree.
    pub disagreement: Disagreement,
    pub tags: Vec<Tag>,
    /// `vigil tag` only: the id of an earlier report of the file that this one repeats (same
    /// source and particulars, near-identical words; see `near_duplicate.rs`). The pipeline
    /// never publishes a near-duplicate's tags, so the field is absent there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Disagreement {
    pub declared_only: Vec<String>,
    pub inferred_only: Vec<String>,
}

/// Per-call scratch buffers, reused across reports to keep the hot path allocation-free.
#[derive(Debug, Default)]
pub struct Scratch {
    norm: Normalized,
    cues: Vec<(usize, usize, CueKind)>,
    /// Sentences whose cues are in `cues` already.
    cue_sentences: Vec<(usize, usize)>,
    /// Phrase matches of the scan (start, end, phrase), all of them, overlapping.
    phrase_matches: Vec<(usize, usize, usize)>,
    parts: Vec<(usize, usize, usize)>,
    /// Spans of the current event frame's terms, whose own words are not cues.
    frame_spans: Vec<(usize, usize)>,
    /// The frame groups present among a field's hits (a [`PartSets`] row).
    groups_present: Vec<u64>,
    /// Passages already scanned for companion terms, and that scan's occurrences.
    companion_passages: Vec<(usize, usize)>,
    companion_occurrences: Vec<Occurrence>,
    /// Bit `p` set: part `p` has a hit in the field (proximity pairs test both parts first).
    parts_present: Vec<u64>,
    /// Hits on parts of proximity pairs: with fewer than two, no pair can match.
    pair_part_hits: usize,
    occurrences: Vec<Occurrence>,
    scan: ScanScratch,
}

#[derive(Debug, Clone, Default)]
struct ScanEntry {
    phrase: Option<usize>,
    /// Parts with this text (a part may be plain and, elsewhere, a prefix `*`).
    parts: Vec<usize>,
}

/// The compiled taxonomy.
pub struct Tagger {
    settings: TaggerSettings,
    patterns: Vec<Pattern>,
    parts: Vec<Part>,
    pairs: Vec<Pair>,
    frames: Vec<Frame>,
    /// The frame groups of each part.
    frame_groups: PartSets,
    /// Frame terms outside anchor groups (and not also pair parts or anchors), scanned only in
    /// the passages around an anchor hit; with the part(s) each of its patterns stands for.
    companion: Option<(Scanner, Vec<Vec<usize>>)>,
    /// Phrases, proximity parts and frame terms in one automaton, so that text is scanned once. Overlapping
    /// matches are reported (a part may sit inside a phrase or another part); phrases are then
    /// chosen leftmost-longest from them.
    scanner: Scanner,
    /// What each scanner pattern is: a phrase, a part, or both.
    scan_entries: Vec<ScanEntry>,
    cue_kinds: Vec<CueKind>,
    cues: AhoCorasick,
    /// Some cue contains a sentence stop, so cues cannot be scanned sentence by sentence.
    cues_span_stops: bool,
    structured: Vec<Structured>,
    threat_codes: Vec<String>,
    threat_weights: Vec<f64>,
    /// Risk-factor bits each threat implies, and the indicators behind them.
    threat_indicators: Vec<Vec<usize>>,
    indicators: Vec<IndicatorRef>,
    /// RF number (1-14) of each indicator.
    indicator_rf: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum TaggerError {
    #[error("taxonomy is invalid: {0}")]
    Invalid(String),
    #[error("cannot build matcher: {0}")]
    Build(#[from] aho_corasick::BuildError),
}

fn rf_number(code: &str) -> u8 {
    code.trim_start_matches("RF").parse().unwrap_or(0)
}

impl Tagger {
    pub fn new(taxonomy: &Taxonomy, settings: TaggerSettings) -> Result<Tagger, TaggerError> {
        let findings = taxonomy.validate();
        if let Some(f) = findings.first() {
            return Err(TaggerError::Invalid(format!("{}: {}", f.path, f.message)));
        }
        let indicators = taxonomy.indicator_index();
        let indicator_rf = indicators
            .iter()
            .map(|i| rf_number(&i.risk_factor))
            .collect();

        let mut patterns: Vec<Pattern> = Vec::new();
        let mut parts: Vec<Part> = Vec::new();
        let mut pairs: Vec<Pair> = Vec::new();
        for lex in &taxonomy.lexicons {
            let target = taxonomy
                .resolve_target(&lex.target, &indicators)
                .ok_or_else(|| TaggerError::Invalid(format!("unknown target {}", lex.target)))?;
            let weight = lex.weight.unwrap_or(match target {
                Target::Threat(t) => taxonomy.threats[t].weight,
                Target::Indicator(_) => 1.0,
            });
            for phrase in &lex.phrases {
                if let Some((a, b)) = phrase.split_once(" ... ") {
                    let (first, second) = (intern_part(&mut parts, a), intern_part(&mut parts, b));
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
        let mut frames = Vec::new();
        // (part, group) memberships, groups numbered across frames.
        let mut memberships: Vec<(usize, usize)> = Vec::new();
        let mut group_count = 0;
        for f in &taxonomy.frames {
            let target = taxonomy
                .resolve_target(&f.target, &indicators)
                .ok_or_else(|| TaggerError::Invalid(format!("unknown target {}", f.target)))?;
            let weight = match target {
                Target::Threat(t) => taxonomy.threats[t].weight,
                Target::Indicator(_) => 1.0,
            };
            let mut groups = Vec::new();
            for (k, g) in f.groups.iter().enumerate() {
                let terms = taxonomy.frame_terms.get(&f.language).and_then(|t| t.get(g));
                for term in terms.map_or(&[][..], Vec::as_slice) {
                    let part = intern_part(&mut parts, term);
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
                    weight,
                },
                groups,
            });
        }
        let mut frame_groups = PartSets::new(parts.len(), group_count);
        for (part, group) in memberships {
            frame_groups.insert(part, group);
        }
        // Phrases of another sense: chosen like phrases, they tag nothing.
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

        let mut cue_texts: Vec<String> = Vec::new();
        let mut cue_kinds = Vec::new();
        for cues in taxonomy.cues.values() {
            for (list, kind) in [
                (&cues.negation_before, CueKind::NegationBefore),
                (&cues.negation_after, CueKind::NegationAfter),
                (&cues.hedge, CueKind::Hedge),
                (&cues.figurative, CueKind::Figurative),
                (&cues.neutral, CueKind::Neutral),
                (&cues.clause_breaks, CueKind::ClauseBreak),
            ] {
                for cue in list {
                    let text = normalize_phrase(cue);
                    if !cue_texts.contains(&text) {
                        cue_texts.push(text);
                        cue_kinds.push(kind);
                    }
                }
            }
        }
        let cues_span_stops = cue_texts.iter().any(|c| c.bytes().any(may_end_sentence));
        let cues = AhoCorasickBuilder::new()
            .kind(Some(AhoCorasickKind::DFA))
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(&cue_texts)?;

        let structured = taxonomy
            .structured
            .iter()
            .filter_map(|s| {
                let target = taxonomy.resolve_target(&s.target, &indicators)?;
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
            .collect();

        let threat_indicators = taxonomy
            .threats
            .iter()
            .map(|t| {
                t.indicators
                    .iter()
                    .filter_map(|id| indicators.iter().position(|i| &i.id == id))
                    .collect()
            })
            .collect();

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
            cue_kinds,
            cues_span_stops,
            cues,
            structured,
            threat_codes: taxonomy.threats.iter().map(|t| t.code.clone()).collect(),
            threat_weights: taxonomy.threats.iter().map(|t| t.weight).collect(),
            threat_indicators,
            indicators,
            indicator_rf,
        })
    }

    pub fn threat_codes(&self) -> &[String] {
        &self.threat_codes
    }

    pub fn threat_weight(&self, threat: usize) -> f64 {
        self.threat_weights[threat]
    }

    /// Number of plain lexicon phrases compiled (for benchmarks and `check-config`).
    pub fn phrase_count(&self) -> usize {
        self.phrases().count()
    }

    /// Number of proximity phrases (`a ... b`) compiled.
    pub fn proximity_count(&self) -> usize {
        self.pairs.len()
    }

    /// Number of event frames compiled.
    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    /// A pair or frame by its hit index (see [`Hit::pattern`]): its text and target.
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

    fn phrase_text(&self, index: usize) -> &str {
        match self.patterns.get(index) {
            Some(p) => &p.text,
            None => self.compound(index).0,
        }
    }

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

    /// Every lexicon phrase as compiled (normalised, without `*`); not the phrases of another
    /// sense, which tag nothing.
    pub fn phrases(&self) -> impl Iterator<Item = &str> {
        let phrases = self.patterns.iter().filter(|p| !p.targets.is_empty());
        phrases.map(|p| p.text.as_str())
    }

    /// Tags one validated report.
    pub fn tag(&self, report: &ValidReport<'_>, scratch: &mut Scratch) -> TagSet {
        let mut set = TagSet::default();
        if let Some(title) = &report.report.title {
            self.match_field(title, Field::Title, scratch, &mut set);
        }
        self.match_field(&report.report.text, Field::Text, scratch, &mut set);

        for (i, s) in self.structured.iter().enumerate() {
            let holds = match &s.condition {
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
        let mut threats = set.threats();
        while threats != 0 {
            let t = threats.trailing_zeros() as usize;
            threats &= threats - 1;
            for &ind in &self.threat_indicators[t] {
                set.risk_factors |= 1 << (self.indicator_rf[ind] - 1);
            }
        }
        set
    }

    fn mark(&self, set: &mut TagSet, target: Target) {
        match target {
            Target::Threat(t) => set.inferred_threats |= 1 << t,
            Target::Indicator(i) => set.risk_factors |= 1 << (self.indicator_rf[i] - 1),
        }
    }

    fn match_field(&self, input: &str, field: Field, scratch: &mut Scratch, set: &mut TagSet) {
        let first_hit = set.hits.len();
        // Both automata ignore ASCII case, so ASCII text is scanned as sent.
        scratch.norm.prepare(input);
        scratch.cues.clear();
        scratch.cue_sentences.clear();
        let text = scratch.norm.matchable(input).as_bytes();
        scratch.phrase_matches.clear();
        scratch.parts.clear();
        scratch.parts_present.clear();
        scratch
            .parts_present
            .resize(self.parts.len().div_ceil(64), 0);
        scratch.pair_part_hits = 0;
        scratch.occurrences.clear();
        self.scanner
            .scan(text, &mut scratch.scan, &mut scratch.occurrences);
        for o in &scratch.occurrences {
            let entry = &self.scan_entries[o.pattern];
            if let Some(phrase) = entry.phrase {
                scratch.phrase_matches.push((o.start, o.end, phrase));
            }
            for &part in &entry.parts {
                if bounded(text, o.start, o.end, self.parts[part].prefix) {
                    scratch.parts.push((o.start, o.end, part));
                    scratch.parts_present[part / 64] |= 1 << (part % 64);
                    scratch.pair_part_hits += usize::from(self.parts[part].in_pair);
                }
            }
        }
        // Leftmost-longest, non-overlapping: at each start the longest phrase, then on from its
        // end; word boundaries are checked after the choice, as a leftmost-longest scan would.
        scratch
            .phrase_matches
            .sort_unstable_by_key(|&(start, end, _)| (start, std::cmp::Reverse(end)));
        let mut taken_to = 0;
        for i in 0..scratch.phrase_matches.len() {
            let (start, end, phrase) = scratch.phrase_matches[i];
            if start < taken_to {
                continue;
            }
            taken_to = end;
            let pattern = &self.patterns[phrase];
            for pt in &pattern.targets {
                if !bounded(text, start, end, pt.prefix) {
                    continue;
                }
                // Cues are scanned only once a report has a candidate: most reports have none.
                let (cue_sentences, cues) = (&mut scratch.cue_sentences, &mut scratch.cues);
                if self.cancelled_at(text, start, end, cue_sentences, cues, &[]) {
                    continue;
                }
                // Evidence covers the whole word a prefix phrase matched (`kidnap*` → kidnapped).
                let span_end = if pt.prefix {
                    end + text[end..].iter().take_while(|&&b| is_word_byte(b)).count()
                } else {
                    end
                };
                set.hits.push(Hit {
                    target: pt.target,
                    field,
                    start,
                    end: span_end,
                    pattern: phrase,
                });
                self.mark(set, pt.target);
            }
        }
        if !self.pairs.is_empty() {
            self.match_pairs(input, scratch, field, set);
        }
        if !self.frames.is_empty() {
            self.match_frames(input, scratch, field, set);
        }
        // Hits were located in the normalised text; point them into the field as sent.
        for hit in &mut set.hits[first_hit..] {
            (hit.start, hit.end) = scratch.norm.original_span(input, hit.start, hit.end);
        }
    }

    /// Whether a cue cancels the match `[start, end)`; its sentence's cues are scanned into
    /// `cues` on first need. Cues that overlap `own` are ignored: the words of an event frame's
    /// own terms ("no word of", "sans nouvelles") describe the event, they do not negate it.
    fn cancelled_at(
        &self,
        text: &[u8],
        start: usize,
        end: usize,
        cue_sentences: &mut Vec<(usize, usize)>,
        cues: &mut Vec<(usize, usize, CueKind)>,
        own: &[(usize, usize)],
    ) -> bool {
        let sentence = sentence(text, start, end);
        self.scan_cues(text, sentence, cue_sentences, cues);
        self.cancelled(text, cues, start, end, sentence, own)
    }

    /// Finds the cues of `sentence` unless `scanned` says they are in `out` already. Every cue
    /// acts only inside the sentence of the match it qualifies, and no cue spans a sentence stop,
    /// so scanning a sentence alone finds exactly the cues a scan of the whole text would find
    /// there; most texts are then scanned over one sentence instead of all of them. (A taxonomy
    /// whose cues contain a stop gets its whole text scanned once.)
    fn scan_cues(
        &self,
        text: &[u8],
        sentence: (usize, usize),
        scanned: &mut Vec<(usize, usize)>,
        out: &mut Vec<(usize, usize, CueKind)>,
    ) {
        let span = if self.cues_span_stops {
            (0, text.len())
        } else {
            sentence
        };
        if scanned.contains(&span) {
            return;
        }
        scanned.push(span);
        let input = aho_corasick::Input::new(text).span(span.0..span.1);
        for m in self.cues.find_iter(input) {
            if bounded(text, m.start(), m.end(), false) {
                out.push((m.start(), m.end(), self.cue_kinds[m.pattern().as_usize()]));
            }
        }
    }

    /// Proximity phrases: each pair's first part followed, in the same sentence and within
    /// `proximity_words` words, by its second part.
    fn match_pairs(&self, input: &str, scratch: &mut Scratch, field: Field, set: &mut TagSet) {
        let text = scratch.norm.matchable(input).as_bytes();
        // scratch.parts was filled by the scan in match_field.
        if scratch.pair_part_hits < 2 {
            return;
        }
        for (i, pair) in self.pairs.iter().enumerate() {
            let present = &scratch.parts_present;
            if !has_bit(present, pair.first) || !has_bit(present, pair.second) {
                continue;
            }
            let found =
                scratch
                    .parts
                    .iter()
                    .filter(|p| p.2 == pair.first)
                    .find_map(|&(s1, e1, _)| {
                        let (_, sentence_end) = sentence(text, s1, e1);
                        scratch
                            .parts
                            .iter()
                            .filter(|p| p.2 == pair.second && p.0 >= e1 && p.1 <= sentence_end)
                            .find(|p| words(&text[e1..p.0]) <= self.settings.proximity_words)
                            .map(|&(_, e2, _)| (s1, e2))
                    });
            let Some((start, end)) = found else { continue };
            let (cue_sentences, cues) = (&mut scratch.cue_sentences, &mut scratch.cues);
            if self.cancelled_at(text, start, end, cue_sentences, cues, &[]) {
                continue;
            }
            set.hits.push(Hit {
                target: pair.target.target,
                field,
                start,
                end,
                pattern: self.patterns.len() + i,
            });
            self.mark(set, pair.target.target);
        }
    }

    /// Event frames: a term of every group in one passage, none cancelled by a cue. A frame is
    /// skipped when its threat is already tagged (it would only add evidence).
    fn match_frames(&self, input: &str, scratch: &mut Scratch, field: Field, set: &mut TagSet) {
        let text = scratch.norm.matchable(input).as_bytes();
        let Scratch {
            parts: hits,
            cues,
            cue_sentences,
            frame_spans: own,
            groups_present: present,
            companion_passages: passages,
            companion_occurrences: occurrences,
            scan,
            ..
        } = scratch;
        // The other groups' terms are looked for only around anchors, and only once a passage.
        passages.clear();
        let main_hits = hits.len();
        for h in 0..main_hits {
            let (s0, e0, part) = hits[h];
            if !self.parts[part].anchor {
                continue;
            }
            let (from, to) = passage(text, s0, e0);
            if passages.contains(&(from, to)) {
                continue;
            }
            passages.push((from, to));
            let Some((companion, companion_parts)) = &self.companion else {
                continue;
            };
            occurrences.clear();
            companion.scan(&text[from..to], scan, occurrences);
            for o in occurrences.iter() {
                let (s, e) = (from + o.start, from + o.end);
                for &part in &companion_parts[o.pattern] {
                    if bounded(text, s, e, self.parts[part].prefix) {
                        hits.push((s, e, part));
                    }
                }
            }
        }
        if passages.is_empty() || hits.len() < 2 {
            return;
        }
        let groups = &self.frame_groups;
        present.clear();
        present.resize(groups.words, 0);
        for &(_, _, part) in hits.iter() {
            for (p, g) in present.iter_mut().zip(groups.row(part)) {
                *p |= g;
            }
        }
        for (i, frame) in self.frames.iter().enumerate() {
            if !frame.groups.iter().all(|&g| has_bit(present, g)) {
                continue;
            }
            if let Target::Threat(t) = frame.target.target
                && set.inferred_threats & (1 << t) != 0
            {
                continue;
            }
            own.clear();
            let in_frame = |p: usize| frame.groups.iter().any(|&g| groups.contains(p, g));
            own.extend(hits.iter().filter(|h| in_frame(h.2)).map(|h| (h.0, h.1)));
            let mut found = None;
            // Anchored on each uncancelled term of the first group, in text order.
            for &(s0, e0, p0) in hits.iter() {
                if !groups.contains(p0, frame.groups[0])
                    || self.cancelled_at(text, s0, e0, cue_sentences, cues, own)
                {
                    continue;
                }
                let (from, to) = passage(text, s0, e0);
                let mut chosen: [(usize, usize); 4] = [(s0, e0); 4];
                let complete = frame.groups.iter().enumerate().skip(1).all(|(g, &group)| {
                    let pick = hits.iter().find(|&&(s, e, p)| {
                        groups.contains(p, group)
                            && s >= from
                            && e <= to
                            && chosen[..g].iter().all(|&(cs, ce)| e <= cs || s >= ce)
                            && !self.cancelled_at(text, s, e, cue_sentences, cues, own)
                    });
                    pick.map(|&(s, e, _)| chosen[g] = (s, e)).is_some()
                });
                if complete {
                    let chosen = &chosen[..frame.groups.len()];
                    let start = chosen.iter().map(|c| c.0).min().unwrap_or(s0);
                    let end = chosen.iter().map(|c| c.1).max().unwrap_or(e0);
                    found = Some((start, end));
                    break;
                }
            }
            let Some((start, end)) = found else { continue };
            set.hits.push(Hit {
                target: frame.target.target,
                field,
                start,
                end,
                pattern: self.patterns.len() + self.pairs.len() + i,
            });
            self.mark(set, frame.target.target);
        }
    }

    /// Whether a cue negates, hedges or makes figurative the match at `start..end`.
    fn cancelled(
        &self,
        text: &[u8],
        cues: &[(usize, usize, CueKind)],
        start: usize,
        end: usize,
        (s0, s1): (usize, usize),
        own: &[(usize, usize)],
    ) -> bool {
        let scope = self.settings.scope_words;
        // Clause start: after the last clause break between sentence start and the match.
        let clause_start = cues
            .iter()
            .filter(|c| c.2 == CueKind::ClauseBreak && c.0 >= s0 && c.1 <= start)
            .map(|c| c.1)
            .max()
            .unwrap_or(s0);
        let clause_end = cues
            .iter()
            .filter(|c| c.2 == CueKind::ClauseBreak && c.0 >= end && c.1 <= s1)
            .map(|c| c.0)
            .min()
            .unwrap_or(s1);
        let foreign = |&&(cs, ce, _): &&(usize, usize, CueKind)| {
            !own.iter().any(|&(os, oe)| cs < oe && ce > os)
        };
        cues.iter()
            .filter(foreign)
            .any(|&(cs, ce, kind)| match kind {
                CueKind::Figurative => cs >= s0 && ce <= s1,
                CueKind::NegationBefore | CueKind::Hedge => {
                    cs >= clause_start && ce <= start && words(&text[ce..start]) <= scope
                }
                CueKind::NegationAfter => {
                    cs >= end && ce <= clause_end && words(&text[end..cs]) <= scope
                }
                CueKind::Neutral | CueKind::ClauseBreak => false,
            })
    }

    /// Expands a tag set into the full output record.
    pub fn render(&self, report: &ValidReport<'_>, set: &TagSet) -> TaggedReport {
        let mut tags: Vec<Tag> = Vec::new();
        let evidence_cap = self.settings.max_evidence_per_tag;
        let mut push = |code: String,
                        kind: TagKind,
                        indicator: Option<String>,
                        rule: String,
                        weight: f64,
                        ev: Option<Evidence>| {
            let existing = tags
                .iter_mut()
                .find(|t| t.code == code && t.indicator == indicator && t.rule == rule);
            let tag = match existing {
                Some(t) => t,
                None => {
                    tags.push(Tag {
                        code,
                        kind,
                        indicator,
                        rule,
                        evidence: Vec::new(),
                        weight,
                    });
                    tags.last_mut().expect("just pushed")
                }
            };
            if let Some(ev) = ev
                && tag.evidence.len() < evidence_cap
            {
                tag.evidence.push(ev);
            }
        };
        let describe = |target: Target| match target {
            Target::Threat(t) => (self.threat_codes[t].clone(), TagKind::Threat, None),
            Target::Indicator(i) => (
                self.indicators[i].risk_factor.clone(),
                TagKind::RiskFactor,
                Some(self.indicators[i].id.clone()),
            ),
        };
        for hit in &set.hits {
            let (code, kind, indicator) = describe(hit.target);
            let weight = self.phrase_weight(hit.pattern, hit.target);
            let field = match hit.field {
                Field::Title => "title",
                Field::Text => "text",
            };
            push(
                code,
                kind,
                indicator,
                "lexicon".into(),
                weight,
                Some(Evidence {
                    field: field.into(),
                    start: Some(hit.start),
                    end: Some(hit.end),
                    phrase: Some(self.phrase_text(hit.pattern).to_string()),
                }),
            );
        }
        for &i in &set.structured {
            let s = &self.structured[i];
            let (code, kind, indicator) = describe(s.target);
            let field = match &s.condition {
                Condition::Count { field, .. } => format!("casualties.{field}"),
                Condition::ActorKind(_) => "actors.kind".into(),
                Condition::ActorForeign => "actors.foreign".into(),
            };
            push(
                code,
                kind,
                indicator,
                format!("structured:{}", s.name),
                1.0,
                Some(Evidence {
                    field,
                    start: None,
                    end: None,
                    phrase: None,
                }),
            );
        }
        let mut declared = Vec::new();
        let mut disagreement = Disagreement::default();
        for (t, code) in self.threat_codes.iter().enumerate() {
            let bit = 1u64 << t;
            if set.declared_threats & bit != 0 {
                declared.push(code.clone());
                push(
                    code.clone(),
                    TagKind::Threat,
                    None,
                    "declared".into(),
                    self.threat_weights[t],
                    None,
                );
                if set.inferred_threats & bit == 0 {
                    disagreement.declared_only.push(code.clone());
                }
            } else if set.inferred_threats & bit != 0 {
                disagreement.inferred_only.push(code.clone());
            }
            if set.threats() & bit != 0 {
                for &ind in &self.threat_indicators[t] {
                    let (code_rf, _, indicator) = describe(Target::Indicator(ind));
                    push(
                        code_rf,
                        TagKind::RiskFactor,
                        indicator,
                        format!("threat:{code}"),
                        1.0,
                        None,
                    );
                }
            }
        }
        declared.extend(set.unknown_declared.iter().cloned());
        let threats = self
            .threat_codes
            .iter()
            .enumerate()
            .filter(|(t, _)| set.threats() & (1 << t) != 0)
            .map(|(_, c)| c.clone())
            .collect();
        let risk_factors = (0..16)
            .filter(|b| set.risk_factors & (1 << b) != 0)
            .map(|b| format!("RF{}", b + 1))
            .collect();
        TaggedReport {
            id: report.report.id.to_string(),
            threats,
            risk_factors,
            declared,
            disagreement,
            tags,
            duplicate_of: None,
        }
    }
}

/// Word-boundary check on normalised bytes. Boundaries are only required where the phrase itself
/// starts or ends with a word character (so `pas d'` may run into the next word).
fn bounded(text: &[u8], start: usize, end: usize, prefix: bool) -> bool {
    let starts_word = is_word_byte(text[start]);
    let ends_word = is_word_byte(text[end - 1]);
    let left_ok = !starts_word || start == 0 || !is_word_byte(text[start - 1]);
    let right_ok = prefix || !ends_word || end == text.len() || !is_word_byte(text[end]);
    left_ok && right_ok
}

/// Interns a proximity part or frame term (`kidnap*` is a prefix part), returning its index.
fn intern_part(parts: &mut Vec<Part>, phrase: &str) -> usize {
    let part = Part {
        text: normalize_phrase(phrase.trim_end_matches('*')),
        prefix: phrase.ends_with('*'),
        in_pair: false,
        anchor: false,
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

/// The passage an event frame must fit in: the sentence around a match, where a `;` does not
/// end it ("… took him away; he has not been seen since" is one event).
fn passage(text: &[u8], start: usize, end: usize) -> (usize, usize) {
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
fn may_end_sentence(b: u8) -> bool {
    matches!(b, b'.' | b'!' | b'?' | b';' | b'\n')
}

/// The sentence around a match: bounded by `.`, `!`, `?`, `;` or a newline (a `.` between
/// digits, as in `3.5`, is not a boundary).
fn sentence(text: &[u8], start: usize, end: usize) -> (usize, usize) {
    let is_stop = |i: usize| match text[i] {
        b'.' => {
            !(i > 0
                && i + 1 < text.len()
                && text[i - 1].is_ascii_digit()
                && text[i + 1].is_ascii_digit())
        }
        b => may_end_sentence(b),
    };
    let s0 = (0..start).rev().find(|&i| is_stop(i)).map_or(0, |i| i + 1);
    let s1 = (end..text.len())
        .find(|&i| is_stop(i))
        .unwrap_or(text.len());
    (s0, s1)
}

/// Number of words in a byte slice of normalised text.
fn words(slice: &[u8]) -> usize {
    let mut count = 0;
    let mut in_word = false;
    for &b in slice {
        let w = is_word_byte(b);
        if w && !in_word {
            count += 1;
        }
        in_word = w;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Limits, decode};

    fn tagger() -> Tagger {
        let tax: Taxonomy =
            toml::from_str(&std::fs::read_to_string("config/taxonomy.toml").unwrap()).unwrap();
        Tagger::new(&tax, TaggerSettings::default()).unwrap()
    }

    /// The tag record of a report whose only text is `text`.
    fn tagged(t: &Tagger, text: &str) -> TaggedReport {
        let json = serde_json::json!({"id": "x", "event_time": "2026-01-01T00:00:00Z", "region": "R",
            "source": {"id": "s"}, "text": text});
        let bytes = serde_json::to_vec(&json).unwrap();
        let r = decode(&bytes, &Limits::default(), None).unwrap();
        let set = t.tag(&r, &mut Scratch::default());
        t.render(&r, &set)
    }

    fn threats_of(t: &Tagger, text: &str) -> Vec<String> {
        tagged(t, text).threats
    }

    /// The shipped taxonomy with one test frame (made-up words, so no lexicon phrase interferes):
    /// anchor terms `zorbl*`, then the other groups.
    fn tagger_with_frame(others: &[&[&str]]) -> Tagger {
        let mut tax: Taxonomy =
            toml::from_str(&std::fs::read_to_string("config/taxonomy.toml").unwrap()).unwrap();
        let mut terms = std::collections::BTreeMap::new();
        terms.insert("anchor".to_string(), vec!["zorbl*".to_string()]);
        for (i, group) in others.iter().enumerate() {
            terms.insert(
                format!("g{i}"),
                group.iter().map(|t| t.to_string()).collect(),
            );
        }
        tax.frames = vec![crate::tag::taxonomy::EventFrame {
            name: "test_frame".into(),
            target: "threat:abduction".into(),
            language: "en".into(),
            groups: std::iter::once("anchor".to_string())
                .chain((0..others.len()).map(|i| format!("g{i}")))
                .collect(),
        }];
        tax.frame_terms = [("en".to_string(), terms)].into();
        Tagger::new(&tax, TaggerSettings::default()).unwrap()
    }

    #[test]
    fn a_frame_needs_every_group_in_one_passage() {
        let t = tagger_with_frame(&[&["quuxified"]]);
        let abduction = ["abduction"];
        assert_eq!(
            threats_of(&t, "They zorbled him; he was quuxified."),
            abduction
        );
        assert_eq!(
            threats_of(&t, "He was quuxified and then zorbled."),
            abduction
        );
        assert!(threats_of(&t, "They zorbled him. He was quuxified.").is_empty());
        assert!(threats_of(&t, "They zorbled him.").is_empty());
        assert!(threats_of(&t, "He was quuxified.").is_empty());
        // Whole words: a term inside another word is not a term.
        assert!(threats_of(&t, "They zorbled him; he was unquuxified.").is_empty());
    }

    #[test]
    fn frame_terms_are_cancelled_by_cues_but_not_by_their_own_words() {
        let t = tagger_with_frame(&[&["no word of"]]);
        // "no" would negate "zorbled" five words on, but it is the frame's own "no word of".
        assert_eq!(
            threats_of(&t, "There has been no word of him since they zorbled him."),
            ["abduction"]
        );
        assert!(threats_of(&t, "Nobody zorbled anyone; there was no word of it.").is_empty());
        assert!(threats_of(&t, "In the film they zorbled him; no word of him since.").is_empty());
    }

    #[test]
    fn a_frame_hit_spans_its_terms_and_names_the_frame() {
        let t = tagger_with_frame(&[&["quuxified"], &["villagers"]]);
        let text = "Éight Villagers were ZORBLED at dawn; all were quuxified. Later calm.";
        let out = tagged(&t, text);
        let tag = out.tags.iter().find(|g| g.code == "abduction").unwrap();
        let ev = &tag.evidence[0];
        assert_eq!(ev.phrase.as_deref(), Some("frame:test_frame"));
        assert_eq!(
            &text[ev.start.unwrap()..ev.end.unwrap()],
            "Villagers were ZORBLED at dawn; all were quuxified"
        );
    }

    #[test]
    fn a_frame_adds_nothing_once_its_threat_is_tagged() {
        let t = tagger_with_frame(&[&["quuxified"]]);
        let out = tagged(
            &t,
            "Gunmen abducted two men; they were zorbled and quuxified.",
        );
        let tag = out.tags.iter().find(|g| g.code == "abduction").unwrap();
        assert!(
            tag.evidence
                .iter()
                .all(|e| e.phrase.as_deref() != Some("frame:test_frame"))
        );
    }

    #[test]
    fn a_word_in_another_sense_is_not_a_mention() {
        let t = tagger();
        for other in [
            "Une réunion s'est tenue au siège de la MINUSMA à Bamako.",
            "Le siège social de l'entreprise a été transféré à Dakar.",
            "Le parti a perdu son siège au conseil municipal.",
        ] {
            assert!(threats_of(&t, other).is_empty(), "{other}");
        }
        assert_eq!(
            threats_of(&t, "Le siège de la ville dure depuis trois mois."),
            ["siege"]
        );
    }

    #[test]
    fn issue_traps_do_not_tag() {
        let t = tagger();
        for trap in [
            "No abductions were reported in the district this week.",
            "Officials deny that foreign fighters are present in the area.",
            "The team laid siege to the goal in the second half.",
            "Critics praised a film about a kidnapping in the capital.",
        ] {
            assert!(
                threats_of(&t, trap).is_empty(),
                "{trap}: {:?}",
                threats_of(&t, trap)
            );
        }
    }

    #[test]
    fn affirmative_reports_tag_with_original_spans() {
        let t = tagger();
        assert_eq!(
            threats_of(&t, "Gunmen abducted 14 schoolgirls near Chibok."),
            ["abduction"]
        );
        assert_eq!(
            threats_of(&t, "Des hommes armés ont enlevé douze femmes."),
            ["abduction"]
        );
        assert_eq!(
            threats_of(&t, "No fewer than 30 villagers were kidnapped overnight."),
            ["abduction"]
        );
        assert_eq!(
            threats_of(&t, "Nobody was killed, but 20 girls were abducted."),
            ["abduction"]
        );
        let text = "La ville est ASSIÉGÉE depuis mardi.";
        let out = tagged(&t, text);
        let ev = &out
            .tags
            .iter()
            .find(|g| g.code == "siege")
            .unwrap()
            .evidence[0];
        assert_eq!(&text[ev.start.unwrap()..ev.end.unwrap()], "ASSIÉGÉE");
        assert!(out.risk_factors.contains(&"RF13".to_string()));
    }

    #[test]
    fn invisible_characters_do_not_change_tags() {
        let t = tagger();
        for text in [
            "Gunmen kid\u{AD}napped two traders",
            "Gunmen kid\u{200B}napped two traders",
            "Gunmen abduc\u{200D}ted two traders",
        ] {
            let out = tagged(&t, text);
            assert_eq!(out.threats, ["abduction"], "{text:?}");
            let ev = &out.tags[0].evidence[0];
            let visible: String = text[ev.start.unwrap()..ev.end.unwrap()]
                .chars()
                .filter(|&c| !crate::tag::normalize::is_default_ignorable(c))
                .collect();
            assert!(
                ["kidnapped", "abducted"].contains(&visible.as_str()),
                "{visible:?}"
            );
        }
    }

    /// Texts that tag (or, for the traps, do not), in both languages and through phrases,
    /// prefix phrases, proximity pairs and event frames.
    const INVISIBLE_BASES: [&str; 8] = [
        "Gunmen kidnapped two traders near Zurmi.",
        "Des hommes armés ont enlevé douze femmes.",
        "La ville est ASSIÉGÉE depuis mardi.",
        "No abductions were reported in the area.",
        "On 30 April 2026, rebels took a group of 30 displaced people from the camp and have not released them.",
        "Foreign fighters crossed the border from Libya; 20 girls were abducted.",
        "Le siège social de l'entreprise est à Bamako.",
        "Armed men seized a UN contractor at a roadblock; he remains in their custody.",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]
        #[test]
        fn inserting_default_ignorables_leaves_tags_unchanged(
            base in proptest::sample::select(&INVISIBLE_BASES[..]),
            inserts in proptest::collection::vec(
                (
                    proptest::prelude::any::<proptest::sample::Index>(),
                    proptest::sample::select(&crate::tag::normalize::DEFAULT_IGNORABLE_RANGES[..]),
                    proptest::prelude::any::<proptest::sample::Index>(),
                ),
                1..6,
            ),
        ) {
            let t = tagger();
            let mut text = base.to_string();
            for (at, (lo, hi), pick) in inserts {
                let bounds: Vec<usize> =
                    text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
                let at = *at.get(&bounds);
                let c = char::from_u32(lo + pick.index((hi - lo + 1) as usize) as u32).unwrap();
                text.insert(at, c);
            }
            let plain = tagged(&t, base);
            let out = tagged(&t, &text);
            let codes = |r: &TaggedReport| r.tags.iter().map(|g| g.code.clone()).collect::<Vec<_>>();
            proptest::prop_assert_eq!(&out.threats, &plain.threats);
            proptest::prop_assert_eq!(&out.risk_factors, &plain.risk_factors);
            proptest::prop_assert_eq!(codes(&out), codes(&plain));
            for (tag, plain_tag) in out.tags.iter().zip(&plain.tags) {
                for (ev, plain_ev) in tag.evidence.iter().zip(&plain_tag.evidence) {
                    let (Some(s), Some(e)) = (ev.start, ev.end) else { continue };
                    proptest::prop_assert!(s <= e && e <= text.len());
                    proptest::prop_assert!(text.is_char_boundary(s) && text.is_char_boundary(e));
                    // The span covers the same visible words as without the insertions.
                    let visible: String = text[s..e]
                        .chars()
                        .filter(|&c| !crate::tag::normalize::is_default_ignorable(c))
                        .collect();
                    let (ps, pe) = (plain_ev.start.unwrap_or(0), plain_ev.end.unwrap_or(0));
                    proptest::prop_assert_eq!(visible.as_str(), &base[ps..pe]);
                }
            }
        }
    }

    #[test]
    fn declared_and_structured_are_kept_apart() {
        let t = tagger();
        let json = serde_json::json!({"id": "x", "event_time": "2026-01-01T00:00:00Z", "region": "R",
            "source": {"id": "s"}, "text": "Clashes in the market.", "categories": ["siege", "cattle_raid"],
            "casualties": {"abducted": 3}, "actors": [{"kind": "militia", "foreign": true}]});
        let bytes = serde_json::to_vec(&json).unwrap();
        let r = decode(&bytes, &Limits::default(), None).unwrap();
        let out = t.render(&r, &t.tag(&r, &mut Scratch::default()));
        assert_eq!(out.declared, ["siege", "cattle_raid"]);
        assert_eq!(out.disagreement.declared_only, ["siege"]);
        assert_eq!(
            out.disagreement.inferred_only,
            ["foreign_fighters", "abduction"]
        );
        assert!(
            out.tags
                .iter()
                .any(|g| g.rule == "structured:abducted_count")
        );
    }
}
