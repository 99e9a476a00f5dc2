//! Cues: whether a negation, hedge or figurative cue cancels a match, with the cues of a
//! sentence scanned only when a match there needs them.

use crate::tag::Tagger;
use crate::tag::compile::{Cue, CueKind};
use crate::tag::taxonomy::Target;
use crate::tag::text::{bounded, sentence, words};

/// Most words between a match and the thing taken after it ("took away *his* motorcycle"): a
/// determiner and an adjective, no more, so that "kidnapped him and stole his motorcycle" is
/// still a kidnapping.
const PROPERTY_REACH: usize = 2;

/// Which target-dependent cues apply to a match.
#[derive(Debug, Clone, Copy)]
struct CueScope {
    /// `proceedings` cues cancel (the target does not count proceedings).
    proceedings: bool,
    /// `property_after` cues cancel (the target is of people taken).
    property: bool,
}

impl Tagger {
    /// Whether a cue cancels the match `[start, end)` of `target` found by a phrase of language
    /// `language`, in a report that declares `report_language`: a cue counts when its own
    /// language is the phrase's or the report's (both, when they differ: "kidnapping" is a
    /// French phrase too), or, when the report declares no language the taxonomy has, whatever
    /// its language. Its sentence's cues are scanned into `cues` on first need. Cues that overlap `own` are
    /// ignored: the words of an event frame's own terms ("no word of", "sans nouvelles")
    /// describe the event, they do not negate it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn cancelled_at(
        &self,
        text: &[u8],
        (start, end): (usize, usize),
        (target, language, report_language): (Target, u8, Option<u8>),
        cue_sentences: &mut Vec<(usize, usize)>,
        cues: &mut Vec<Cue>,
        own: &[(usize, usize)],
    ) -> bool {
        let sentence = sentence(text, start, end);
        self.scan_cues(text, sentence, cue_sentences, cues);
        let scope = CueScope {
            proceedings: !self.counts_proceedings(target),
            property: self.takes_people(target),
        };
        // The cues of this language in this sentence, chosen leftmost-longest among those on
        // word boundaries (a neutral "no fewer than" hides its "no"; a short cue that fails its
        // boundary, as "لم" at the start of "لمحاولة", hides nothing).
        let mut chosen: Vec<(usize, usize, CueKind)> = Vec::new();
        let mut candidates: Vec<(usize, usize, CueKind)> = cues
            .iter()
            .filter(|c| c.0 >= sentence.0 && c.1 <= sentence.1)
            .filter_map(|&(cs, ce, pattern)| {
                let kinds = &self.cue_kinds[pattern];
                let of = |lang: u8| kinds.iter().find(|(l, _)| *l == lang).map(|k| k.1);
                let kind = match report_language {
                    Some(r) => of(language).or_else(|| of(r))?,
                    None => of(language).or_else(|| kinds.first().map(|k| k.1))?,
                };
                Some((cs, ce, kind))
            })
            .collect();
        candidates.sort_unstable_by_key(|&(cs, ce, _)| (cs, std::cmp::Reverse(ce)));
        let mut taken_to = 0;
        for c in candidates {
            if c.0 >= taken_to {
                taken_to = c.1;
                chosen.push(c);
            }
        }
        self.cancelled(text, &chosen, (start, end), sentence, own, scope)
    }

    /// Finds the cues of `sentence` unless `scanned` says they are in `out` already: every
    /// occurrence of every cue on word boundaries, overlapping (which of them counts depends on
    /// the language of the match they might cancel). Every cue acts only inside the sentence of
    /// the match it qualifies, and no cue spans a sentence stop, so scanning a sentence alone
    /// finds exactly the cues a scan of the whole text would find there; most texts are then
    /// scanned over one sentence instead of all of them. (A taxonomy whose cues contain a stop
    /// gets its whole text scanned once.)
    fn scan_cues(
        &self,
        text: &[u8],
        sentence: (usize, usize),
        scanned: &mut Vec<(usize, usize)>,
        out: &mut Vec<Cue>,
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
        let input = aho_corasick::Input::new(&text[..span.1]).span(span.0..span.1);
        for m in self.cues.find_overlapping_iter(input) {
            if bounded(text, m.start(), m.end(), false) {
                out.push((m.start(), m.end(), m.pattern().as_usize()));
            }
        }
    }

    /// Whether a cue negates, hedges or makes figurative the match at `start..end` in the
    /// sentence `(s0, s1)`: a figurative cue (or, when `reach.proceedings`, a proceedings cue)
    /// in the sentence but not after a relative pronoun that follows the match; a negation
    /// before or a hedge
    /// within `scope_words` words before it in its clause; a negation after within
    /// `scope_words` words after it in its clause; when `reach.property`, a thing taken at most
    /// two words after it in its clause.
    fn cancelled(
        &self,
        text: &[u8],
        cues: &[(usize, usize, CueKind)],
        (start, end): (usize, usize),
        (s0, s1): (usize, usize),
        own: &[(usize, usize)],
        reach: CueScope,
    ) -> bool {
        let scope = self.settings.scope_words;
        // Clause start: after the last clause break between sentence start and the match.
        let breaks = |kind: CueKind| matches!(kind, CueKind::ClauseBreak | CueKind::RelativeBreak);
        let clause_start = cues
            .iter()
            .filter(|c| breaks(c.2) && c.0 >= s0 && c.1 <= start)
            .map(|c| c.1)
            .max()
            .unwrap_or(s0);
        let clause_end = cues
            .iter()
            .filter(|c| breaks(c.2) && c.0 >= end && c.1 <= s1)
            .map(|c| c.0)
            .min()
            .unwrap_or(s1);
        // Figurative and proceedings cues reach the whole sentence but not past a relative
        // pronoun after the match: what follows one says something about another verb.
        let relative_end = cues
            .iter()
            .filter(|c| c.2 == CueKind::RelativeBreak && c.0 >= end && c.1 <= s1)
            .map(|c| c.0)
            .min()
            .unwrap_or(s1);
        let foreign = |&&(cs, ce, _): &&(usize, usize, CueKind)| {
            !own.iter().any(|&(os, oe)| cs < oe && ce > os)
        };
        cues.iter()
            .filter(foreign)
            .any(|&(cs, ce, kind)| match kind {
                CueKind::Figurative => cs >= s0 && ce <= relative_end,
                CueKind::Proceedings => reach.proceedings && cs >= s0 && ce <= relative_end,
                CueKind::PropertyAfter => {
                    reach.property
                        && cs >= end
                        && ce <= clause_end
                        && words(&text[end..cs]) <= PROPERTY_REACH
                }
                CueKind::NegationBefore | CueKind::Hedge => {
                    cs >= clause_start && ce <= start && words(&text[ce..start]) <= scope
                }
                CueKind::NegationAfter => {
                    cs >= end && ce <= clause_end && words(&text[end..cs]) <= scope
                }
                CueKind::Neutral | CueKind::ClauseBreak | CueKind::RelativeBreak => false,
            })
    }
}
