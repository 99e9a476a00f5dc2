//! Distinct sources across a window's panes: exact, or capped where a rule only needs to know
//! whether a bar is reached.

use super::panes::{Pane, SourceHint};

/// How far an aggregate counts distinct sources.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SourceCount {
    /// Not at all (`sources` stays 0).
    #[default]
    Skip,
    /// Up to this many: enough to decide a `min_sources` bar, usually found in the first panes.
    UpTo(u64),
    /// Exactly (a sort over the window's sources).
    Exact,
}

/// What an aggregate must include beyond the sums, which are always there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Want {
    pub sources: SourceCount,
    /// The largest single corroborated killed / abducted counts (a walk over the panes).
    pub maxima: bool,
}

/// The largest `min_sources` bar counted with [`distinct_sources_up_to`].
pub(super) const SMALL_SOURCE_BAR: u64 = 8;

/// Distinct sources across panes, but no more than `cap`: a linear scan that stops as soon as
/// `cap` different sources are seen. `hints` are the panes' hints: a pane with one source is
/// read from there, so only panes with several sources are visited.
pub(super) fn distinct_sources_up_to(hints: &[SourceHint], panes: &[Pane], cap: u64) -> u64 {
    let mut seen: [u64; SMALL_SOURCE_BAR as usize] = [0; SMALL_SOURCE_BAR as usize];
    let mut n = 0usize;
    let mut count = |source: u64| {
        if !seen[..n].contains(&source) {
            seen[n] = source;
            n += 1;
        }
        n as u64 >= cap
    };
    for (hint, pane) in hints.iter().zip(panes) {
        let full = match hint {
            SourceHint::None => false,
            SourceHint::One(source) => count(*source),
            SourceHint::Many => pane.sources.iter().any(|&source| count(source)),
        };
        if full {
            break;
        }
    }
    n as u64
}

/// Distinct sources across panes, whose source lists are each sorted and deduplicated.
pub(super) fn distinct_sources(panes: &[Pane]) -> u64 {
    match panes {
        [] => 0,
        [one] => one.sources.len() as u64,
        _ => {
            let mut all: Vec<u64> = panes
                .iter()
                .flat_map(|p| p.sources.iter().copied())
                .collect();
            all.sort_unstable();
            all.dedup();
            all.len() as u64
        }
    }
}
