//! `vigil check-config`: loads every configuration file and prints what it holds, or every
//! problem with file, line and field.

use std::path::Path;

use anyhow::{Result, bail};

use vigil::config;

pub(crate) fn run(dir: &Path) -> Result<()> {
    match config::load(dir) {
        Ok(loaded) => {
            let engine = loaded.engine()?;
            println!(
                "ok: {} risk factors, {} indicators, {} threats, {} lexicon phrases, {} event frames, {} rules, {} subscribers, {} desk tokens",
                loaded.taxonomy.risk_factors.len(),
                loaded.taxonomy.indicator_index().len(),
                loaded.taxonomy.threats.len(),
                engine.tagger().phrase_count(),
                engine.tagger().frame_count(),
                loaded.rules.len(),
                loaded.subscribers.len(),
                loaded.access.len()
            );
            Ok(())
        }
        Err(e) => {
            for issue in &e.0 {
                eprintln!("error: {issue}");
            }
            bail!("{} configuration problem(s)", e.0.len())
        }
    }
}
