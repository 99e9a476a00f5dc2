//! The desk as `vigil run` starts it: the store opened (one connection to write through, two
//! to read through), the topics followed into it in the background (`materialize.rs`), and the
//! routes of `/api/v1` and `/desk/` returned for the caller's HTTP server.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use axum::Router;
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureProducer;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::access::Access;
use super::api::{self, Catalogue, DeskState, Journal};
use super::materialize::{self, MaterializeError};
use super::store::{Store, StoreError, Verdict};
use crate::config::Loaded;
use crate::kafka::client_config;
use crate::telemetry::desk::DeskMetrics;

/// Why the desk could not start.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error("desk store {path}: {source}")]
    Store { path: String, source: StoreError },
    #[error("desk producer: {0}")]
    Kafka(#[from] KafkaError),
    #[error("desk metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// What [`start`] started.
pub struct Started {
    /// `/api/v1/…` and `/desk/`.
    pub routes: Router,
    /// Reading the topics into the store, until `stop`.
    pub task: JoinHandle<Result<(), MaterializeError>>,
    /// Set once the store has read every topic to where it ended at the start.
    pub caught_up: Arc<AtomicBool>,
}

/// Readers beside the writer: the machine Vigil is sized for has 2 cores.
const READERS: usize = 2;
/// Live events held for slow stream clients before they fall back to the store.
const LIVE_EVENTS: usize = 4_096;

/// Opens the store at `store_path` and starts reading `brokers` into it until `stop`.
///
/// Errors: the store cannot be opened, the producer cannot be made, or the metrics are
/// registered twice.
pub fn start(
    loaded: Arc<Loaded>,
    brokers: String,
    store_path: &Path,
    registry: Option<&prometheus::Registry>,
    stop: Arc<AtomicBool>,
) -> Result<Started, DeskError> {
    let open = |p: &Path| {
        Store::open(p).map_err(|source| DeskError::Store {
            path: p.display().to_string(),
            source,
        })
    };
    let writer = Arc::new(Mutex::new(open(store_path)?));
    let readers = (0..READERS)
        .map(|_| open(store_path).map(|s| Arc::new(Mutex::new(s))))
        .collect::<Result<Vec<_>, _>>()?;
    let k = &loaded.settings.kafka;
    let producer: FutureProducer = client_config(k, &brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .create()?;
    let journal = Journal::Kafka {
        producer,
        reviews_topic: loaded.settings.desk.reviews_topic.clone(),
        silences_topic: loaded.settings.delivery.silences_topic.clone(),
        erasures_topic: loaded.settings.desk.erasures_topic.clone(),
    };
    let metrics = registry
        .map(|r| {
            let rules: Vec<String> = loaded.rules.iter().map(|r| r.name.clone()).collect();
            let verdicts: Vec<&str> = Verdict::ALL.iter().map(|v| v.as_str()).collect();
            DeskMetrics::register(r, &rules, &verdicts)
        })
        .transpose()?;
    let (events, _) = broadcast::channel(LIVE_EVENTS);
    let mut state = DeskState::new(
        Arc::clone(&writer),
        readers,
        Access::new(&loaded.access),
        journal,
        events.clone(),
        metrics.clone(),
        loaded.settings.desk.clone(),
        catalogue(&loaded),
    );
    state.max_id_bytes = loaded.settings.limits.max_id_bytes;
    let caught_up = Arc::new(AtomicBool::new(false));
    let task = tokio::spawn(materialize::run(
        loaded,
        brokers,
        writer,
        events,
        metrics,
        Arc::clone(&caught_up),
        stop,
    ));
    Ok(Started {
        routes: api::routes(state),
        task,
        caught_up,
    })
}

/// The risk factors and threats the taxonomy names.
pub fn catalogue(loaded: &Loaded) -> Catalogue {
    Catalogue {
        risk_factors: loaded
            .taxonomy
            .risk_factors
            .iter()
            .map(|f| (f.code.clone(), f.name.clone()))
            .collect(),
        threats: loaded.taxonomy.threat_codes(),
    }
}
