//! `vigil replay`: a file's reports produced to the input topic, keyed by region.

use std::path::Path;

use anyhow::{Result, bail};

use vigil::config::Loaded;
use vigil::input::import::ImportError;
use vigil::kafka::replay::{Pace, replay};

use super::{Reasons, open_records, progress};

pub(crate) fn run(loaded: &Loaded, file: &Path, rate: Option<f64>) -> Result<()> {
    let k = &loaded.settings.kafka;
    // The file first: one of no known format is refused without a broker.
    let (_, records, len) = open_records(loaded, &file.to_string_lossy())?;
    if k.brokers.is_empty() {
        bail!("replay needs a broker: set kafka.brokers in vigil.toml or VIGIL__KAFKA__BROKERS");
    }
    let bar = progress(len);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut skipped = Reasons::default();
    let mut read_error = None;
    let bytes = records.map_while(|(_, r)| match r {
        Ok(b) => Some(Some(b)),
        Err(ImportError::Io(e)) => {
            read_error = Some(e);
            None
        }
        Err(e) => {
            skipped.add(e.reason().map_or("bad_record", |r| r.code()));
            bar.suspend(|| eprintln!("{e}"));
            Some(None)
        }
    });
    let bytes = bytes.flatten();
    let pace = rate.map_or(Pace::Unlimited, Pace::Rate);
    let sent = runtime.block_on(async {
        vigil::kafka::ensure_topics(k, &k.brokers).await?;
        replay(k, &k.brokers, bytes, pace, |n| bar.inc(n as u64 + 1))
            .await
            .map_err(anyhow::Error::from)
    })?;
    bar.finish_and_clear();
    eprintln!(
        "produced {sent} records to {}, skipped {} [{}]",
        k.input_topic,
        skipped.0.values().sum::<u64>(),
        skipped.line()
    );
    if let Some(e) = read_error {
        bail!("reading {}: {e}", file.display());
    }
    Ok(())
}
