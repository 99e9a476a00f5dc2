//! The compact result of tagging one report: threat and risk-factor bitsets plus the lexicon
//! hits behind them. The window stage aggregates it as it is; [`crate::tag::Tagger::render`]
//! expands it into the full record only when one is asked for.

use crate::report::ValidReport;
use crate::tag::taxonomy::{Target, VictimClass};

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
    /// Who the dead were, as the text says: bit 0 civilians, bit 1 combatants
    /// ([`TagSet::victims`]).
    pub(crate) victims: u8,
}

/// Who the people killed in a report were, as its text says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Victims {
    /// Civilians were among the dead (villagers, worshippers, passengers; an attacked village
    /// or market), whoever else died.
    Civilians,
    /// Only fighters, soldiers or other armed people were said to have died.
    Combatants,
    /// The text does not say.
    Unknown,
}

/// The [`TagSet::victims`] bit of a class.
pub(crate) fn victims_bit(class: VictimClass) -> u8 {
    match class {
        VictimClass::Civilians => 1,
        VictimClass::Combatants => 2,
    }
}

/// How many of a report's dead count as civilians for RF11 (*widespread or systematic attack
/// against any civilian population*, United Nations 2014): its `casualties.killed_civilians`
/// when the source says; otherwise none when its text says only combatants died, else all of
/// `casualties.killed` (when the text does not say, a killing is not assumed to be of fighters:
/// missing a massacre costs more than a second look at a battle).
pub fn civilians_killed(report: &ValidReport<'_>, set: &TagSet) -> i64 {
    match report.casualties.killed_civilians {
        Some(n) => n,
        None if set.victims() == Victims::Combatants => 0,
        None => report.casualties.killed,
    }
}

impl TagSet {
    /// Who the dead were, as the text says: civilians if any evidence says civilians died,
    /// combatants if only combatants did, else unknown.
    pub fn victims(&self) -> Victims {
        if self.victims & victims_bit(VictimClass::Civilians) != 0 {
            Victims::Civilians
        } else if self.victims & victims_bit(VictimClass::Combatants) != 0 {
            Victims::Combatants
        } else {
            Victims::Unknown
        }
    }

    /// Threats that count for aggregation: inferred or declared (bit i = threat i, taxonomy
    /// order; see [`crate::tag::taxonomy::threats_in`]).
    pub fn threats(&self) -> u64 {
        self.inferred_threats | self.declared_threats
    }
}
