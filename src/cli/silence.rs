//! `vigil silence add|list|expire`: an analyst mutes the alerts that match for a period, with
//! author and reason, or ends a silence early. Silences are records of the compacted topic
//! `delivery.silences_topic` on `kafka.brokers`; every deliverer follows it (`delivery/silence.rs`).

use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use rdkafka::producer::{FutureProducer, FutureRecord};

use vigil::config::Loaded;
use vigil::delivery::silence::{Silence, Silences};
use vigil::kafka::client_config;
use vigil::kafka::follow::Follower;

/// What `vigil silence add` was given.
pub(crate) struct NewSilence {
    pub regions: Vec<String>,
    pub signals: Vec<String>,
    pub rules: Vec<String>,
    pub starts: Option<DateTime<Utc>>,
    pub duration: Option<Duration>,
    pub until: Option<DateTime<Utc>>,
    pub author: String,
    pub reason: String,
}

fn brokers(loaded: &Loaded) -> Result<String> {
    let b = loaded.settings.kafka.brokers.clone();
    if b.is_empty() {
        bail!(
            "silences live on a broker: set kafka.brokers in vigil.toml or VIGIL__KAFKA__BROKERS"
        );
    }
    Ok(b)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Adds a silence and prints its id.
pub(crate) fn add(loaded: &Loaded, n: NewSilence) -> Result<()> {
    let brokers = brokers(loaded)?;
    let starts_at = n.starts.unwrap_or_else(Utc::now);
    let ends_at = match (n.duration, n.until) {
        (Some(d), None) => starts_at + chrono::Duration::from_std(d).context("--duration")?,
        (None, Some(t)) if t <= starts_at => {
            bail!("--until {t} is not after the silence's start ({starts_at}; --starts sets it)")
        }
        (None, Some(t)) => t,
        _ => bail!("give exactly one of --duration and --until"),
    };
    // A rule or signal no rule has would mute nothing, silently.
    for r in &n.rules {
        if !loaded.rules.iter().any(|rule| &rule.name == r) {
            bail!("--rule {r:?} is not a rule of rules.toml");
        }
    }
    for sig in &n.signals {
        if !loaded.rules.iter().any(|rule| rule.signal_label() == sig) {
            bail!("--signal {sig:?} is the signal of no rule (e.g. threat:abduction, risk:RF7)");
        }
    }
    let silence = Silence {
        id: uuid::Uuid::new_v4().to_string(),
        regions: n.regions,
        signals: n.signals,
        rules: n.rules,
        starts_at,
        ends_at,
        created_by: n.author,
        comment: n.reason,
        expired_by: None,
    };
    silence.check()?;
    runtime()?.block_on(write(loaded, &brokers, &silence))?;
    println!("{}", silence.id);
    Ok(())
}

/// Ends silence `id` now, recording who ended it.
pub(crate) fn expire(loaded: &Loaded, id: &str, author: &str) -> Result<()> {
    let brokers = brokers(loaded)?;
    if author.trim().is_empty() {
        bail!("--author is required");
    }
    let rt = runtime()?;
    let known = rt.block_on(read(loaded, &brokers))?;
    let Some(mut silence) = known.get(id).cloned() else {
        bail!("no silence {id}");
    };
    let now = Utc::now();
    if silence.ended(now) {
        bail!("silence {id} has already ended ({})", silence.ends_at);
    }
    silence.expire(now, author);
    rt.block_on(write(loaded, &brokers, &silence))?;
    println!("{id} expired");
    Ok(())
}

/// Prints the silences in force or to come (`all`: also the ended ones), one per line or as
/// JSON lines.
pub(crate) fn list(loaded: &Loaded, all: bool, json: bool) -> Result<()> {
    let brokers = brokers(loaded)?;
    let known = runtime()?.block_on(read(loaded, &brokers))?;
    let now = Utc::now();
    for s in known.all().filter(|s| all || !s.ended(now)) {
        if json {
            println!("{}", serde_json::to_string(s)?);
        } else {
            let state = if s.active(now) {
                "active"
            } else if s.ended(now) {
                "ended"
            } else {
                "pending"
            };
            println!(
                "{}\t{state}\t{} .. {}\tregions={} signals={} rules={}\tby {}: {}",
                s.id,
                s.starts_at.to_rfc3339(),
                s.ends_at.to_rfc3339(),
                s.regions.join(","),
                s.signals.join(","),
                s.rules.join(","),
                s.created_by,
                s.comment
            );
        }
    }
    Ok(())
}

async fn write(loaded: &Loaded, brokers: &str, silence: &Silence) -> Result<()> {
    let k = &loaded.settings.kafka;
    vigil::kafka::ensure_delivery_topics(k, &loaded.settings.delivery, brokers).await?;
    let producer: FutureProducer = client_config(k, brokers)
        .set("enable.idempotence", "true")
        .create()?;
    let value = serde_json::to_vec(silence)?;
    producer
        .send(
            FutureRecord::to(&loaded.settings.delivery.silences_topic)
                .key(&silence.id)
                .payload(&value),
            Duration::from_secs(30),
        )
        .await
        .map_err(|(e, _)| e)
        .context("writing the silence")?;
    Ok(())
}

async fn read(loaded: &Loaded, brokers: &str) -> Result<Silences> {
    let k = &loaded.settings.kafka;
    vigil::kafka::ensure_delivery_topics(k, &loaded.settings.delivery, brokers).await?;
    let follower = Follower::open(k, brokers, &loaded.settings.delivery.silences_topic)?;
    let mut silences = Silences::default();
    follower
        .catch_up(|r| {
            silences.apply(&String::from_utf8_lossy(r.key), r.value);
        })
        .await?;
    Ok(silences)
}
