//! Cues: whether a negation, hedge or figurative cue cancels a match, with the cues of a
//! sentence scanned only when a match there needs them.

use crate::tag::Tagger;
use crate::tag::compile::{Cue, CueKind};
use crate::tag::taxonomy::Target;
use crate::tag::text::{bounded, sentence, within_words};

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

/// A cue chosen for a match's language: span and kind.
type Chosen = (usize, usize, CueKind);

/// The cues of one field: every occurrence found so far, and the choice made among them per
/// sentence and language, with the clause breaks indexed so that a match's check reads only the
/// cues near it (a sentence of thousands of negated matches costs each match a few cues, not the
/// whole sentence). Reused across fields and reports: clearing keeps the buffers.
#[derive(Debug, Default)]
pub struct FieldCues {
    /// Every cue on word boundaries (start, end, pattern) in the sentences scanned so far,
    /// sorted by start, longest first.
    found: Vec<Cue>,
    /// `chosen[..used]` are live.
    chosen: Vec<ChosenCues>,
    used: usize,
}

/// The cues of one sentence chosen for one (phrase language, report language).
#[derive(Debug, Default)]
struct ChosenCues {
    key: ((usize, usize), u8, Option<u8>),
    /// Leftmost-longest, non-overlapping, by start.
    cues: Vec<Chosen>,
    /// `last_break_end[i]`: the largest end of a clause break among `cues[..i]` (0: none).
    last_break_end: Vec<usize>,
    /// `next_break_start[i]`: the smallest start of a clause break among `cues[i..]`.
    next_break_start: Vec<usize>,
    /// `next_relative_start[i]`: the smallest start of a relative break among `cues[i..]`.
    next_relative_start: Vec<usize>,
    /// Indices of the figurative cues, then of the proceedings cues, in `cues`.
    figurative: Vec<usize>,
    proceedings: Vec<usize>,
}

impl FieldCues {
    /// Forgets the field's cues, keeping the buffers.
    pub(super) fn clear(&mut self) {
        self.found.clear();
        self.used = 0;
    }
}

impl Tagger {
    /// Whether a cue cancels the match `[start, end)` of `target` found by a phrase of language
    /// `language`, in a report that declares `report_language`: a cue counts when its own
    /// language is the phrase's or the report's (both, when they differ: "kidnapping" is a
    /// French phrase too), or, when the report declares no language the taxonomy has, whatever
    /// its language. Its sentence's cues are scanned into `cues` on first need. Cues that
    /// overlap `own` are ignored: the words of an event frame's own terms ("no word of",
    /// "sans nouvelles") describe the event, they do not negate it.
    pub(super) fn cancelled_at(
        &self,
        text: &[u8],
        (start, end): (usize, usize),
        (target, language, report_language): (Target, u8, Option<u8>),
        cue_sentences: &mut Vec<(usize, usize)>,
        cues: &mut FieldCues,
        own: &[(usize, usize)],
    ) -> bool {
        // Matches come in text order: the sentence scanned last usually holds this one too, and
        // finding it again would read the whole sentence per match.
        let last = cue_sentences.last().copied();
        let sentence = match last {
            Some((s0, s1)) if !self.cues_span_stops && s0 <= start && end <= s1 => (s0, s1),
            _ => sentence(text, start, end),
        };
        self.scan_cues(text, sentence, cue_sentences, &mut cues.found);
        let scope = CueScope {
            proceedings: !self.counts_proceedings(target),
            property: self.takes_people(target),
        };
        let key = (sentence, language, report_language);
        let at = match cues.chosen[..cues.used].iter().position(|c| c.key == key) {
            Some(at) => at,
            None => {
                if cues.used == cues.chosen.len() {
                    cues.chosen.push(ChosenCues::default());
                }
                let chosen = &mut cues.chosen[cues.used];
                self.choose_cues(&cues.found, key, chosen);
                cues.used += 1;
                cues.used - 1
            }
        };
        self.cancelled(text, &cues.chosen[at], (start, end), sentence, own, scope)
    }

    /// The cues of `key`'s sentence for its languages, chosen leftmost-longest among those on
    /// word boundaries (a neutral "no fewer than" hides its "no"; a short cue that fails its
    /// boundary, as "لم" at the start of "لمحاولة", hides nothing), and their break indexes. A
    /// cue counts when its own language is the phrase's or the report's, or, when the report
    /// declares no language the taxonomy has, whatever its language.
    fn choose_cues(
        &self,
        found: &[Cue],
        key: ((usize, usize), u8, Option<u8>),
        out: &mut ChosenCues,
    ) {
        let ((s0, s1), language, report_language) = key;
        out.key = key;
        out.cues.clear();
        let mut taken_to = 0;
        for &(cs, ce, pattern) in found.iter().filter(|c| c.0 >= s0 && c.1 <= s1) {
            let kinds = &self.cue_kinds[pattern];
            let of = |lang: u8| kinds.iter().find(|(l, _)| *l == lang).map(|k| k.1);
            let kind = match report_language {
                Some(r) => of(language).or_else(|| of(r)),
                None => of(language).or_else(|| kinds.first().map(|k| k.1)),
            };
            if let Some(kind) = kind
                && cs >= taken_to
            {
                taken_to = ce;
                out.cues.push((cs, ce, kind));
            }
        }
        out.figurative.clear();
        out.proceedings.clear();
        for (i, c) in out.cues.iter().enumerate() {
            match c.2 {
                CueKind::Figurative => out.figurative.push(i),
                CueKind::Proceedings => out.proceedings.push(i),
                _ => {}
            }
        }
        let is_break = |k: CueKind| matches!(k, CueKind::ClauseBreak | CueKind::RelativeBreak);
        out.last_break_end.clear();
        let mut last = 0;
        for c in &out.cues {
            out.last_break_end.push(last);
            if is_break(c.2) {
                last = last.max(c.1);
            }
        }
        out.last_break_end.push(last);
        let n = out.cues.len();
        out.next_break_start.clear();
        out.next_break_start.resize(n + 1, usize::MAX);
        out.next_relative_start.clear();
        out.next_relative_start.resize(n + 1, usize::MAX);
        for i in (0..n).rev() {
            let (cs, _, kind) = out.cues[i];
            out.next_break_start[i] = if is_break(kind) {
                cs
            } else {
                out.next_break_start[i + 1]
            };
            out.next_relative_start[i] = if kind == CueKind::RelativeBreak {
                cs
            } else {
                out.next_relative_start[i + 1]
            };
        }
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
        out.sort_unstable_by_key(|&(start, end, _)| (start, std::cmp::Reverse(end)));
    }

    /// Whether a cue negates, hedges or makes figurative the match at `start..end` in the
    /// sentence `(s0, s1)`: a figurative cue (or, when `reach.proceedings`, a proceedings cue)
    /// in the sentence but not after a relative pronoun that follows the match; a negation
    /// before or a hedge within `scope_words` words before it in its clause; a negation after
    /// within `scope_words` words after it in its clause; when `reach.property`, a thing taken
    /// at most two words after it in its clause. Cues overlapping `own` do not count. Reads the
    /// cues near the match only (the break indexes give the clause at once).
    fn cancelled(
        &self,
        text: &[u8],
        chosen: &ChosenCues,
        (start, end): (usize, usize),
        (s0, s1): (usize, usize),
        own: &[(usize, usize)],
        reach: CueScope,
    ) -> bool {
        let scope = self.settings.scope_words;
        let cues = &chosen.cues;
        let foreign = |&(cs, ce, _): &Chosen| !own.iter().any(|&(os, oe)| cs < oe && ce > os);
        // Cues ending at or before the match: cues[..before]; starting at or after its end:
        // cues[after..].
        let before = cues.partition_point(|c| c.1 <= start);
        let after = cues.partition_point(|c| c.0 < end);
        let clause_start = chosen.last_break_end[before].max(s0);
        let clause_end = chosen.next_break_start[after].min(s1);
        // Figurative and proceedings cues reach the whole sentence but not past a relative
        // pronoun after the match: what follows one says something about another verb.
        let relative_end = chosen.next_relative_start[after].min(s1);
        let in_reach = |list: &[usize]| {
            list.iter()
                .map(|&i| &cues[i])
                .take_while(|c| c.1 <= relative_end)
                .any(foreign)
        };
        if in_reach(&chosen.figurative) || (reach.proceedings && in_reach(&chosen.proceedings)) {
            return true;
        }
        // Before the match, nearest first, as far as the scope reaches.
        for c in cues[..before].iter().rev() {
            if c.0 < clause_start || !within_words(&text[c.1..start], scope) {
                break;
            }
            if matches!(c.2, CueKind::NegationBefore | CueKind::Hedge) && foreign(c) {
                return true;
            }
        }
        // After the match, nearest first.
        for c in &cues[after..] {
            if c.1 > clause_end || !within_words(&text[end..c.0], scope) {
                break;
            }
            let cancels = match c.2 {
                CueKind::NegationAfter => true,
                CueKind::PropertyAfter => {
                    reach.property && within_words(&text[end..c.0], PROPERTY_REACH)
                }
                _ => false,
            };
            if cancels && foreign(c) {
                return true;
            }
        }
        false
    }
}
