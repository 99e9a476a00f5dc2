//! Where reports come from: files in the formats monitors and datasets export (JSON lines,
//! ACLED and UCDP GED CSV), the deterministic generator, and the hostile corpus.

pub mod generator;
pub mod hostile;
pub mod import;
