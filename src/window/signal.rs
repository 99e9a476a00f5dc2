//! What a pane counts: one threat or one risk factor of a region, and its changelog spelling.

use serde::{Deserialize, Serialize};

/// A signal inside one region: a threat (by taxonomy index) or a risk factor (1–14).
/// Serialised as `t<index>` / `r<number>`, so that it can key a JSON map in the changelog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Signal {
    Threat(u8),
    Risk(u8),
}

impl From<Signal> for String {
    fn from(s: Signal) -> String {
        match s {
            Signal::Threat(t) => format!("t{t}"),
            Signal::Risk(r) => format!("r{r}"),
        }
    }
}

impl TryFrom<String> for Signal {
    type Error = String;

    fn try_from(s: String) -> Result<Signal, String> {
        let n = || {
            s[1..]
                .parse::<u8>()
                .map_err(|e| format!("signal {s:?}: {e}"))
        };
        match s.as_bytes().first() {
            Some(b't') => n().map(Signal::Threat),
            Some(b'r') => n().map(Signal::Risk),
            _ => Err(format!("signal {s:?}: expected t<n> or r<n>")),
        }
    }
}
