//! Compound phrases: proximity pairs (`fighters ... across the border`: two parts in one
//! sentence, a few words apart) and event frames (a term of every group in one passage), both
//! found among the part hits of the field's scan.

use crate::tag::compile::{Frame, has_bit};
use crate::tag::cues::FieldCues;
use crate::tag::taxonomy::Target;
use crate::tag::text::{bounded, passage, sentence, within_words};
use crate::tag::{Field, Hit, Scratch, TagSet, Tagger};

impl Tagger {
    /// Proximity phrases: each pair's first part followed, in the same sentence and within
    /// `proximity_words` words, by its second part.
    pub(super) fn match_pairs(
        &self,
        input: &str,
        scratch: &mut Scratch,
        field: Field,
        set: &mut TagSet,
    ) {
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
                            .find(|p| within_words(&text[e1..p.0], self.settings.proximity_words))
                            .map(|&(_, e2, _)| (s1, e2))
                    });
            let Some((start, end)) = found else { continue };
            let (cue_sentences, cues) = (&mut scratch.cue_sentences, &mut scratch.cues);
            let scope = (
                pair.target.target,
                pair.target.language,
                scratch.report_language,
            );
            if self.cancelled_at(text, (start, end), scope, cue_sentences, cues, &[]) {
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
    /// skipped when its threat is already inferred (it would only add evidence).
    pub(super) fn match_frames(
        &self,
        input: &str,
        scratch: &mut Scratch,
        field: Field,
        set: &mut TagSet,
    ) {
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
            home_country,
            report_language,
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
                    if bounded(text, s, e, self.parts[part].prefix)
                        && self.part_counts(part, *home_country)
                    {
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
            let Some((start, end)) = self.frame_span(
                text,
                (frame, *report_language),
                hits,
                cue_sentences,
                cues,
                own,
            ) else {
                continue;
            };
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

    /// The span of `frame`'s first complete match among `hits` (start, end, part): anchored on
    /// each uncancelled term of the first group, in text order, one uncancelled term of every
    /// other group in the anchor's passage, no two overlapping. `own` are the frame's term
    /// spans (not cues); `cue_sentences` and `cues` the field's cues scanned so far.
    fn frame_span(
        &self,
        text: &[u8],
        (frame, report_language): (&Frame, Option<u8>),
        hits: &[(usize, usize, usize)],
        cue_sentences: &mut Vec<(usize, usize)>,
        cues: &mut FieldCues,
        own: &[(usize, usize)],
    ) -> Option<(usize, usize)> {
        let groups = &self.frame_groups;
        let target = (frame.target.target, frame.target.language, report_language);
        for &(s0, e0, p0) in hits {
            if !groups.contains(p0, frame.groups[0])
                || self.cancelled_at(text, (s0, e0), target, cue_sentences, cues, own)
            {
                continue;
            }
            let (from, to) = passage(text, s0, e0);
            // Frames have two to four groups (validated).
            let mut chosen: [(usize, usize); 4] = [(s0, e0); 4];
            let complete = frame.groups.iter().enumerate().skip(1).all(|(g, &group)| {
                let pick = hits.iter().find(|&&(s, e, p)| {
                    groups.contains(p, group)
                        && s >= from
                        && e <= to
                        && chosen[..g].iter().all(|&(cs, ce)| e <= cs || s >= ce)
                        && !self.cancelled_at(text, (s, e), target, cue_sentences, cues, own)
                });
                pick.map(|&(s, e, _)| chosen[g] = (s, e)).is_some()
            });
            if complete {
                let chosen = &chosen[..frame.groups.len()];
                let start = chosen.iter().map(|c| c.0).min().unwrap_or(s0);
                let end = chosen.iter().map(|c| c.1).max().unwrap_or(e0);
                return Some((start, end));
            }
        }
        None
    }
}
