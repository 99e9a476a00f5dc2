//! The incident report (DESIGN "Incident report"): its model, the limits it is held to, how it
//! is decoded and validated, and why it may be refused.
//!
//! - `model.rs`: [`Report`] and its parts, borrowed from the input buffer (`Cow<'a, str>`, so
//!   the hot path copies no narrative text), [`ValidReport`], and [`CasualtyKind`], the one
//!   definition of the casualty kinds and their order;
//! - `field_readers.rs`: how the model's fields are read (objects as objects only, strings borrowed);
//! - `limits.rs`: [`Limits`], the `[limits]` every report is held to;
//! - `decode/`: [`decode`], bytes to a validated report: a one-pass fast path for the common
//!   shape first (`decode/fast.rs`, which depends on the model only), serde for the rest;
//! - `validate.rs`: the checks a decoded report must pass and the facts derived on the way;
//! - `reject.rs`: [`RejectReason`] and [`RejectError`]; every refusal carries a stable code, the
//!   field path that failed and a detail that never echoes input values (report text and names
//!   must not reach logs or the DLQ reason);
//! - [`timestamp`]: the time forms a report may use.

mod decode;
mod field_readers;
mod limits;
mod model;
mod reject;
pub mod timestamp;
pub(crate) mod validate;

pub use decode::decode;
pub use limits::Limits;
pub use model::{
    Actor, Casualties, CasualtyKind, Location, Report, Source, SourceKind, ValidReport,
};
pub use reject::{RejectError, RejectReason};
