//! The tagger's settings: the `[tagger]` table of `config/vigil.toml`.

use serde::{Deserialize, Serialize};

/// Tagger settings (`[tagger]` in `config/vigil.toml`). Distances are counted in words of the
/// normalised text (runs of letters and digits).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TaggerSettings {
    /// How many words before or after a match a negation or hedge cue reaches.
    pub scope_words: usize,
    /// Evidence spans kept per tag in the rendered record ([`crate::tag::TaggedReport`]).
    pub max_evidence_per_tag: usize,
    /// Most words between the two parts of a proximity phrase (`fighters ... across the border`).
    pub proximity_words: usize,
    /// Bytes of a report's text that language detection reads (the rest adds cost, not
    /// certainty).
    pub language_sample_bytes: usize,
}

impl Default for TaggerSettings {
    fn default() -> Self {
        TaggerSettings {
            scope_words: 5,
            max_evidence_per_tag: 8,
            proximity_words: 6,
            language_sample_bytes: 2048,
        }
    }
}
