//! The compact result of tagging one report: threat and risk-factor bitsets plus the lexicon
//! hits behind them. The window stage aggregates it as it is; [`crate::tag::Tagger::render`]
//! expands it into the full record only when one is asked for.

use crate::tag::taxonomy::Target;

/// Where a piece of evidence was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Title,
    Text,
}

/// One match in the title or text (a phrase, a proximity pair or an event frame) that no cue
/// cancelled.
#[derive(Debug, Clone, Copy)]
pub struct Hit {
    /// The threat or indicator it evidences.
    pub(crate) target: Target,
    pub field: Field,
    /// Byte span `[start, end)` in the field as sent (on char boundaries).
    pub start: usize,
    pub end: usize,
    /// Index of the phrase: a lexicon pattern (phrases, then phrases of another sense), then a
    /// proximity pair, then an event frame.
    pub(crate) pattern: usize,
}

/// The tags of one report in compact form.
#[derive(Debug, Clone, Default)]
pub struct TagSet {
    /// Bit i set: threat i (taxonomy order) was inferred from text or structured fields.
    pub(crate) inferred_threats: u64,
    /// Bit i set: threat i was declared by the reporter in `categories`.
    pub(crate) declared_threats: u64,
    /// Declared categories that the taxonomy does not know.
    pub(crate) unknown_declared: Vec<String>,
    /// Bit n-1 set: risk factor RFn is evidenced (see [`crate::tag::taxonomy::risk_factors_in`]),
    /// directly by an indicator's phrase or condition, or through a tagged threat's indicators.
    pub risk_factors: u16,
    /// The matches of the title, then of the text; in each field its phrases (in text order),
    /// then its proximity pairs and event frames (in taxonomy order).
    pub hits: Vec<Hit>,
    /// Indices into the structured conditions that held.
    pub(crate) structured: Vec<usize>,
}

impl TagSet {
    /// Threats that count for aggregation: inferred or declared (bit i = threat i, taxonomy
    /// order; see [`crate::tag::taxonomy::threats_in`]).
    pub fn threats(&self) -> u64 {
        self.inferred_threats | self.declared_threats
    }
}
