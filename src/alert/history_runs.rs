//! Run-length encoding of a tracker's checkpoints: `(first, step, n, state)` per run of equal
//! states at evenly spaced window ends (mostly idle), which keeps the changelog's region records
//! small. Used as `#[serde(with = "history_runs")]` on `EpisodeTracker::history`.

use std::collections::VecDeque;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::episode::Lifecycle;

#[derive(Serialize, Deserialize)]
struct Run {
    first: i64,
    step: i64,
    n: u32,
    state: Lifecycle,
}

pub(super) fn serialize<S: Serializer>(
    history: &VecDeque<(i64, Lifecycle)>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut runs: Vec<Run> = Vec::new();
    for &(end, state) in history {
        if let Some(run) = runs.last_mut()
            && run.state == state
            && (run.n == 1 || end == run.first + run.step * i64::from(run.n))
        {
            if run.n == 1 {
                run.step = end - run.first;
            }
            run.n += 1;
            continue;
        }
        runs.push(Run {
            first: end,
            step: 0,
            n: 1,
            state,
        });
    }
    runs.serialize(s)
}

pub(super) fn deserialize<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<VecDeque<(i64, Lifecycle)>, D::Error> {
    let runs = Vec::<Run>::deserialize(d)?;
    Ok(runs
        .into_iter()
        .flat_map(|r| (0..r.n).map(move |i| (r.first + r.step * i64::from(i), r.state)))
        .collect())
}
