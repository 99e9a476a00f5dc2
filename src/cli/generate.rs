//! `vigil gen`: deterministic synthetic reports, the demo scenario, or the demo with hostile
//! records between its reports.

use std::io::{self, BufWriter, Write};

use anyhow::Result;

use vigil::config::Loaded;
use vigil::input::generator::{GenOptions, generate};
use vigil::input::hostile;

pub(crate) fn run(opts: &GenOptions) -> Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for line in generate(opts) {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}

pub(crate) fn run_hostile(loaded: &Loaded, seed: u64, count: usize) -> Result<()> {
    let good: Vec<String> = generate(&GenOptions::demo()).collect();
    let records = hostile::corpus(
        &mut loaded.engine()?,
        &good,
        &hostile::HostileOptions { seed, count },
    );
    let mut out = BufWriter::new(io::stdout().lock());
    for r in &records {
        out.write_all(&r.bytes)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
