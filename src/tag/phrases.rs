//! Matching one field: the lexicon scan, the choice of phrases among overlapping matches
//! (leftmost-longest), word boundaries and cue checks per phrase, then proximity pairs and event
//! frames (`frames.rs`) over the parts the same scan found, and the hits' spans mapped
//! back into the field as sent.

use crate::tag::normalize::is_word_byte;
use crate::tag::text::bounded;
use crate::tag::{Field, Hit, Scratch, TagSet, Tagger};

impl Tagger {
    /// Adds the hits of one field (`input`, as sent) to `set`, and marks their targets.
    pub(super) fn match_field(
        &self,
        input: &str,
        field: Field,
        scratch: &mut Scratch,
        set: &mut TagSet,
    ) {
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
                if bounded(text, o.start, o.end, self.parts[part].prefix)
                    && self.part_counts(part, scratch.home_country)
                {
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
                let scope = (pt.target, pt.language, scratch.report_language);
                if self.cancelled_at(text, (start, end), scope, cue_sentences, cues, &[]) {
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
}
