//! Per-call scratch buffers of the tagger, reused across reports so that tagging allocates
//! nothing once they have grown.

use crate::tag::cues::FieldCues;
use crate::tag::normalize::Normalized;
use crate::tag::scanner::{Occurrence, ScanScratch};

/// Per-call scratch buffers, reused across reports to keep the hot path allocation-free. Each
/// concurrent caller of [`crate::tag::Tagger::tag`] needs its own; what it holds between calls
/// means nothing.
#[derive(Debug, Default)]
pub struct Scratch {
    /// The field being matched, normalised.
    pub(super) norm: Normalized,
    /// Cues found so far in the field (start, end, kind), in normalised bytes.
    pub(super) cues: FieldCues,
    /// Sentences whose cues are in `cues` already.
    pub(super) cue_sentences: Vec<(usize, usize)>,
    /// Phrase matches of the scan (start, end, phrase), all of them, overlapping.
    pub(super) phrase_matches: Vec<(usize, usize, usize)>,
    /// Part hits (start, end, part): proximity parts and frame anchors from the scan, then the
    /// companion terms found around anchors.
    pub(super) parts: Vec<(usize, usize, usize)>,
    /// Spans of the current event frame's terms, whose own words are not cues.
    pub(super) frame_spans: Vec<(usize, usize)>,
    /// The frame groups present among a field's hits (a `PartSets` row).
    pub(super) groups_present: Vec<u64>,
    /// Passages already scanned for companion terms, and that scan's occurrences.
    pub(super) companion_passages: Vec<(usize, usize)>,
    pub(super) companion_occurrences: Vec<Occurrence>,
    /// Bit `p` set: part `p` has a hit in the field (proximity pairs test both parts first).
    pub(super) parts_present: Vec<u64>,
    /// Hits on parts of proximity pairs: with fewer than two, no pair can match.
    pub(super) pair_part_hits: usize,
    /// Occurrences of the main scan.
    pub(super) occurrences: Vec<Occurrence>,
    pub(super) scan: ScanScratch,
    /// The report's own country (`[[country]]` index), whose names are not foreign.
    pub(super) home_country: Option<u16>,
    /// The report's declared language as a cue-table index, when the taxonomy has it.
    pub(super) report_language: Option<u8>,
}
