//! Delivery as `vigil run` and `vigil deliver` start it: the silences, read whole before
//! anything is delivered and then followed; the CAP feeds, rebuilt from the alerts topic and then
//! followed; and the delivery stage (`stage/`) for every other kind. Returns the feeds' HTTP
//! routes for the caller's server, and the stage's task.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use chrono::Utc;
use rdkafka::message::Message;
use tokio::task::JoinHandle;

use super::cap_feed::{self, Feeds};
use super::inhibit::Inhibitor;
use super::silence::Silences;
use super::stage::{self, DeliverError, DeliverStats};
use super::subscriber::SubscriberKind;
use crate::alert::Alert;
use crate::config::Loaded;
use crate::kafka::follow::Follower;
use crate::telemetry::delivery::DeliveryMetrics;

/// What [`start`] started.
pub struct Started {
    /// `/cap/{name}.atom` and `/cap/messages/{identifier}.xml`.
    pub routes: Router,
    /// The delivery stage, until `stop`.
    pub stage: JoinHandle<Result<DeliverStats, DeliverError>>,
}

/// How often the followers look at `stop` while no record arrives.
const STOP_POLL: Duration = Duration::from_millis(200);

/// Starts delivery on `brokers` until `stop` is set, returning at once: the silences, feeds
/// and stage start in the stage's task (whose error, if any, says why). The caller has made the topics
/// (`kafka::ensure_delivery_topics`; the embedded cluster of `vigil run` makes its own).
///
/// Errors: a signing key or SMTP credential missing from the environment.
pub fn start(
    loaded: Arc<Loaded>,
    brokers: String,
    stop: Arc<AtomicBool>,
    metrics: Option<DeliveryMetrics>,
) -> Result<Started, DeliverError> {
    // What would stop the stage at once (a signing key or SMTP credential not in the
    // environment) stops the start instead, with the subscriber or setting named.
    stage::preflight(&loaded)?;
    let d = &loaded.settings.delivery;
    let feeds = Arc::new(RwLock::new(Feeds::new(
        &loaded.subscribers,
        loaded.settings.cap.clone(),
        d.feed_max_entries,
        d.feed_base_url.clone(),
    )));
    let routes = cap_feed::routes(Arc::clone(&feeds));
    // The rest reads Kafka, which takes seconds: in the background, so that `vigil run`'s
    // pipeline does not wait for delivery to start.
    let stage = tokio::spawn(async move {
        let silences = follow_silences(&loaded, &brokers, &stop).await?;
        follow_feeds(&loaded, &brokers, &stop, feeds, &silences, metrics.clone()).await?;
        stage::run(&loaded, &brokers, stop, silences, metrics).await
    });
    Ok(Started { routes, stage })
}

/// Every silence, read before the first delivery (an alert muted a minute ago must stay muted
/// across a restart), then followed.
async fn follow_silences(
    loaded: &Loaded,
    brokers: &str,
    stop: &Arc<AtomicBool>,
) -> Result<Arc<RwLock<Silences>>, DeliverError> {
    let silences = Arc::new(RwLock::new(Silences::default()));
    let follower = Follower::open(
        &loaded.settings.kafka,
        brokers,
        &loaded.settings.delivery.silences_topic,
    )?;
    follower
        .catch_up(|r| apply_silence(&silences, r.key, r.value))
        .await?;
    let (held, stop) = (Arc::clone(&silences), Arc::clone(stop));
    tokio::spawn(async move {
        while !stop.load(Ordering::Relaxed) {
            match tokio::time::timeout(STOP_POLL, follower.next()).await {
                Ok(Ok(m)) => apply_silence(&held, m.key().unwrap_or_default(), m.payload()),
                // The broker away: librdkafka reconnects; wait rather than spin.
                Ok(Err(_)) => tokio::time::sleep(STOP_POLL).await,
                Err(_) => {}
            }
        }
    });
    Ok(silences)
}

/// The CAP feeds, rebuilt from the alerts topic, then followed (when any `cap_feed` exists).
async fn follow_feeds(
    loaded: &Loaded,
    brokers: &str,
    stop: &Arc<AtomicBool>,
    feeds: Arc<RwLock<Feeds>>,
    silences: &Arc<RwLock<Silences>>,
    metrics: Option<DeliveryMetrics>,
) -> Result<(), DeliverError> {
    if !loaded
        .subscribers
        .iter()
        .any(|s| s.kind == SubscriberKind::CapFeed)
    {
        return Ok(());
    }
    let k = &loaded.settings.kafka;
    let follower = Follower::open(k, brokers, &k.alerts_topic)?;
    let mut view = FeedView {
        feeds,
        silences: Arc::clone(silences),
        inhibitor: Inhibitor::default(),
        inhibit: loaded.settings.delivery.inhibit_watch_under_critical,
    };
    let listed = follower
        .catch_up(|r| {
            if let Some(bytes) = r.value {
                view.record(bytes, None);
            }
        })
        .await?;
    tracing::info!(records = listed, "CAP feeds rebuilt from the alerts topic");
    let stop = Arc::clone(stop);
    tokio::spawn(async move {
        while !stop.load(Ordering::Relaxed) {
            match tokio::time::timeout(STOP_POLL, follower.next()).await {
                Ok(Ok(m)) => {
                    if let Some(bytes) = m.payload() {
                        view.record(bytes, metrics.as_ref());
                    }
                }
                Ok(Err(_)) => tokio::time::sleep(STOP_POLL).await,
                Err(_) => {}
            }
        }
    });
    Ok(())
}

fn apply_silence(silences: &RwLock<Silences>, key: &[u8], value: Option<&[u8]>) {
    let key = String::from_utf8_lossy(key);
    let ok = silences
        .write()
        .map(|mut s| s.apply(&key, value))
        .unwrap_or(false);
    if !ok {
        tracing::warn!("a silences-topic record is not a silence; ignored");
    }
}

/// The CAP feeds as the alerts topic fills them.
struct FeedView {
    feeds: Arc<RwLock<Feeds>>,
    silences: Arc<RwLock<Silences>>,
    inhibitor: Inhibitor,
    inhibit: bool,
}

impl FeedView {
    /// One alert record: into every feed that admits it, unless silenced or inhibited now
    /// (counted when `metrics` is given: not while rebuilding at start).
    fn record(&mut self, bytes: &[u8], metrics: Option<&DeliveryMetrics>) {
        let Ok(alert) = serde_json::from_slice::<Alert>(bytes) else {
            return;
        };
        self.inhibitor.observe(&alert);
        let now = Utc::now();
        let silenced = self
            .silences
            .read()
            .map(|s| s.muting(&alert, now).is_some())
            .unwrap_or(false);
        let inhibited = self.inhibit && self.inhibitor.inhibits(&alert);
        let Ok(mut feeds) = self.feeds.write() else {
            return;
        };
        let names: Vec<String> = feeds
            .subscribers()
            .iter()
            .filter(|s| s.admits(&alert))
            .map(|s| s.name.clone())
            .collect();
        for name in names {
            match (silenced, inhibited, metrics) {
                (true, _, Some(m)) => m.silenced(&name, 1),
                (false, true, Some(m)) => m.inhibited(&name, 1),
                (false, false, _) => feeds.add(&name, &alert),
                _ => {}
            }
        }
    }
}
