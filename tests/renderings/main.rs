//! Every rendering of every alert is valid for its consumer, whatever input was accepted:
//!
//! - each CAP document passes `xmllint --noout --schema cap-1.2.xsd` (the OASIS schema, from
//!   `../shared/standards/cap-1.2.xsd` beside the repository or `$VIGIL_CAP_XSD`), and keeps the
//!   rules the schema cannot say: identifier and sender without spaces, commas, `<` or `&`
//!   (CAP 1.2 §3.2.1), `references` as `sender,identifier,sent` triples, the geocode
//!   `ISO 3166-2` only for codes of that shape;
//! - each Alertmanager payload has the version 4 webhook shape that Alertmanager documents for
//!   `webhook_config` receivers;
//! - each alert JSON line has the fields DESIGN "Alert (output)" lists and reads back unchanged.
//!
//! Over `vigil backtest` on the demo and on a generated stream whose regions include imported
//! names with markup characters, and over property-generated reports whose ids, regions and
//! source ids are drawn from printable text of many scripts (`&<>"'`, `]]>`, inner spaces,
//! right-to-left letters, astral-plane characters, up to the length limits).
//!
//! xmllint (Debian: libxml2-utils) and the schema are required: without them these tests fail,
//! they do not skip.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::Value;
use vigil::alert::{Alert, Status};
use vigil::engine::{Engine, Outcome};
use vigil::output::cap::{CapSettings, render};
use vigil::report::RejectReason;

mod backtest;
mod checks;
mod properties;
mod xmllint;

use backtest::TRICKY_REGIONS;
use checks::*;
use properties::engine;
use xmllint::*;
