//! `vigil bench --delivery`: the delivery stage on the embedded Kafka cluster (or on
//! `kafka.brokers` when set, with topics of its own), to ten webhook
//! subscribers whose receivers are HTTP servers in this process on 127.0.0.1, every request
//! signed. Two figures and their baseline, all from one run:
//!
//! - **throughput**: `records` alert records produced at once, until all `records × 10`
//!   deliveries have been answered 200; the baseline POSTs the same signed bodies to the same
//!   receivers straight from one HTTP client with the stage's concurrency (10 subscribers ×
//!   `delivery.max_in_flight`), with no Kafka, scheduling or commits: the ratio is what the stage
//!   costs over the bare requests.
//! - **latency**: records produced at a steady `rate` per second; for each delivery, the time
//!   from the broker's acknowledgement of the record (its commit on the alerts topic) to its
//!   arrival at the receiver; p50, p99 and the maximum.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};

use vigil::config::Loaded;
use vigil::delivery::service;
use vigil::delivery::signature::{delivery_id, sign};
use vigil::delivery::subscriber::Subscriber;
use vigil::kafka::client_config;

const SUBSCRIBERS: usize = 10;
const KEY_ENV: &str = "VIGIL_BENCH_DELIVERY_KEY";

/// What the receivers saw.
#[derive(Default)]
struct Seen {
    count: AtomicU64,
    /// Arrival times by alert id (latency phase only).
    arrivals: Mutex<Vec<(String, Instant)>>,
    record_arrivals: AtomicBool,
}

async fn receive(State(seen): State<Arc<Seen>>, body: Bytes) -> &'static str {
    if seen.record_arrivals.load(Ordering::Relaxed)
        && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body)
        && let Some(id) = v["alert_id"].as_str()
        && let Ok(mut a) = seen.arrivals.lock()
    {
        a.push((id.to_string(), Instant::now()));
    }
    seen.count.fetch_add(1, Ordering::Relaxed);
    "ok"
}

/// A synthetic alert record with id `id`.
fn record(id: &str) -> String {
    serde_json::json!({
        "alert_id": id, "status": "firing", "rule": "abduction_cluster",
        "severity": "warning", "region": format!("XX-{}", id.len() % 7), "signal": "threat:abduction",
        "window": {"start": "2026-03-05T00:00:00Z", "end": "2026-03-06T00:00:00Z"},
        "observed": {"reports": 3, "distinct_sources": 2, "casualties": {"killed": 0,
            "injured": 0, "abducted": 5, "missing": 0, "displaced": 0, "sexual_violence": 0},
            "score": 1.0, "value": 3.0},
        "threshold": 3.0, "risk_factors": ["RF9"],
        "evidence": {"report_ids": ["r-1", "r-2", "r-3"], "indicators": ["9.1"]},
        "first_seen": "2026-03-06T00:00:00Z", "updated_at": "2026-03-06T00:00:00Z",
        "summary": "Warning: threat:abduction reached 3 (threshold 3) over 3 d with 3 reports from 2 sources."
    })
    .to_string()
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub(crate) fn run(loaded: &Loaded, records: usize, rate: u64, seconds: u64) -> Result<()> {
    if records == 0 || rate == 0 || seconds == 0 {
        bail!("--delivery-records, --delivery-rate and --delivery-seconds must be positive");
    }
    // SAFETY: no other thread runs yet (the runtime is built below), so nothing reads the
    // environment while it changes. The stage reads signing keys from the environment only.
    unsafe { std::env::set_var(KEY_ENV, "bench-signing-key") };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(bench(loaded.clone(), records, rate, seconds))
}

async fn bench(mut loaded: Loaded, records: usize, rate: u64, seconds: u64) -> Result<()> {
    let seen = Arc::new(Seen::default());
    let app = Router::new()
        .route("/{sub}", post(receive))
        .with_state(Arc::clone(&seen));
    let mut urls = Vec::new();
    for _ in 0..SUBSCRIBERS {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = app.clone();
        tokio::spawn(async move { axum::serve(listener, app).await });
        urls.push(format!("http://{addr}/hook"));
    }
    loaded.subscribers = urls
        .iter()
        .enumerate()
        .map(|(i, url)| {
            toml::from_str::<Subscriber>(&format!(
                "name = \"bench-{i}\"\nkind = \"webhook\"\nurl = \"{url}\"\nsecret_env = \"{KEY_ENV}\""
            ))
        })
        .collect::<Result<_, _>>()?;
    let in_flight = loaded.settings.delivery.max_in_flight.max(1) * SUBSCRIBERS;

    // Baseline: the same signed requests from one client, no Kafka.
    let bodies: Vec<String> = (0..records).map(|i| record(&format!("base-{i}"))).collect();
    let http = vigil::delivery::webhook::client(Duration::from_secs(10))?;
    let started = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let mut tasks = tokio::task::JoinSet::new();
    for body in &bodies {
        for (i, url) in urls.iter().enumerate() {
            let permit = Arc::clone(&sem).acquire_owned().await?;
            let (http, url, body) = (http.clone(), url.clone(), body.clone());
            let name = format!("bench-{i}");
            tasks.spawn(async move {
                let t = chrono::Utc::now().timestamp();
                let _ = http
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .header(
                        "Vigil-Delivery-Id",
                        delivery_id(&name, body.as_bytes()).to_string(),
                    )
                    .header(
                        "Vigil-Signature",
                        sign(b"bench-signing-key", t, body.as_bytes()),
                    )
                    .body(body)
                    .send()
                    .await;
                drop(permit);
            });
        }
    }
    while tasks.join_next().await.is_some() {}
    let baseline = started.elapsed().as_secs_f64();
    let base_count = seen.count.swap(0, Ordering::Relaxed);

    // The stage on `kafka.brokers` when set (topics of its own, named for this run), else on
    // the embedded cluster. The embedded cluster answers an empty fetch only when
    // `fetch.wait.max.ms` (500 ms by default) has passed, where a broker answers as soon as a
    // record arrives: there, the consumers wait at most 10 ms.
    let mut mock = None;
    let brokers = if loaded.settings.kafka.brokers.is_empty() {
        let m = MockCluster::new(1).context("starting the embedded Kafka cluster")?;
        let b = m.bootstrap_servers();
        mock = Some(m);
        loaded
            .settings
            .kafka
            .client
            .insert("fetch.wait.max.ms".into(), "10".into());
        b
    } else {
        let run = uuid::Uuid::new_v4().simple().to_string();
        let k = &mut loaded.settings.kafka;
        k.alerts_topic = format!("bench-{run}-alerts");
        k.input_topic = format!("bench-{run}-input");
        k.dlq_topic = format!("bench-{run}-input-dlq");
        k.state_topic = format!("bench-{run}-state");
        let d = &mut loaded.settings.delivery;
        d.retry_topic = format!("bench-{run}-retry");
        d.dlq_topic = format!("bench-{run}-dlq");
        d.silences_topic = format!("bench-{run}-silences");
        d.group_id = format!("bench-{run}");
        loaded.settings.kafka.brokers.clone()
    };
    let k = loaded.settings.kafka.clone();
    let d = loaded.settings.delivery.clone();
    match &mock {
        Some(m) => {
            for topic in [&k.alerts_topic, &d.retry_topic, &d.dlq_topic] {
                m.create_topic(topic, k.partitions, 1)?;
            }
            m.create_topic(&d.silences_topic, 1, 1)?;
        }
        None => {
            vigil::kafka::ensure_topics(&k, &brokers).await?;
            vigil::kafka::ensure_delivery_topics(&k, &d, &brokers).await?;
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let loaded = Arc::new(loaded);
    let started_service = service::start(
        Arc::clone(&loaded),
        brokers.clone(),
        Arc::clone(&stop),
        None,
    )?;
    let producer: FutureProducer = client_config(&k, &brokers).set("linger.ms", "1").create()?;

    // Warm-up, outside the timed window: the stage joins its group and takes its partitions,
    // and every receiver's connection is open, once one record reached all ten.
    let warm = record("warm-up");
    producer
        .send(
            FutureRecord::<str, str>::to(&k.alerts_topic)
                .key("warm-up")
                .payload(&warm),
            Duration::from_secs(30),
        )
        .await
        .map_err(|(e, _)| e)?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while seen.count.load(Ordering::Relaxed) < SUBSCRIBERS as u64 {
        if Instant::now() > deadline {
            bail!("the stage did not deliver a first record in 2 minutes");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    seen.count.store(0, Ordering::Relaxed);

    // Throughput: every record at once.
    let want = (records * SUBSCRIBERS) as u64;
    let started = Instant::now();
    let mut acks = tokio::task::JoinSet::new();
    for i in 0..records {
        let id = format!("burst-{i}");
        let value = record(&id);
        let (producer, topic) = (producer.clone(), k.alerts_topic.clone());
        acks.spawn(async move {
            producer
                .send(
                    FutureRecord::<str, str>::to(&topic)
                        .key(&id)
                        .payload(&value),
                    Duration::from_secs(30),
                )
                .await
                .map(|_| ())
                .map_err(|(e, _)| e)
        });
    }
    while let Some(ack) = acks.join_next().await {
        ack??;
    }
    while seen.count.load(Ordering::Relaxed) < want {
        if started.elapsed() > Duration::from_secs(600) {
            bail!(
                "only {} of {want} deliveries in 10 minutes",
                seen.count.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let staged = started.elapsed().as_secs_f64();

    // Latency: a steady rate; each record's acknowledgement time against its arrivals.
    seen.record_arrivals.store(true, Ordering::Relaxed);
    let committed: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let total = rate * seconds;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..total {
        tick.tick().await;
        let id = format!("steady-{i}");
        let value = record(&id);
        let (producer, topic, committed) = (
            producer.clone(),
            k.alerts_topic.clone(),
            Arc::clone(&committed),
        );
        sends.spawn(async move {
            if let Ok(Ok(_)) = producer
                .send(
                    FutureRecord::<str, str>::to(&topic)
                        .key(&id)
                        .payload(&value),
                    Duration::from_secs(10),
                )
                .await
                .map(Ok::<_, ()>)
                && let Ok(mut c) = committed.lock()
            {
                c.insert(id, Instant::now());
            }
        });
    }
    while sends.join_next().await.is_some() {}
    let want_steady = total * SUBSCRIBERS as u64;
    let deadline = Instant::now() + Duration::from_secs(120);
    while (seen.arrivals.lock().map(|a| a.len()).unwrap_or(0) as u64) < want_steady
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let stats = started_service.stage.await??;
    let committed = committed.lock().map(|c| c.clone()).unwrap_or_default();
    let mut latencies: Vec<f64> = seen
        .arrivals
        .lock()
        .map(|a| {
            a.iter()
                .filter_map(|(id, at)| {
                    // An arrival can precede the producer's view of the acknowledgement by the
                    // acknowledgement's own return trip: counted as 0.
                    committed
                        .get(id)
                        .map(|c| at.saturating_duration_since(*c).as_secs_f64())
                })
                .collect()
        })
        .unwrap_or_default();
    latencies.sort_by(f64::total_cmp);

    let per_sec = |n: u64, s: f64| n as f64 / s;
    println!(
        "delivery bench: {SUBSCRIBERS} webhook subscribers, signed, receivers in-process on 127.0.0.1"
    );
    println!(
        "throughput  baseline (bare signed POSTs, {in_flight} in flight): {base_count} in {baseline:.2} s = {:.0}/s",
        per_sec(base_count, baseline)
    );
    println!(
        "throughput  delivery stage (Kafka, schedule, commits):   {want} in {staged:.2} s = {:.0}/s  ({:.2} x baseline)",
        per_sec(want, staged),
        per_sec(want, staged) / per_sec(base_count, baseline)
    );
    println!(
        "latency     {} deliveries at {rate} records/s ({} deliveries/s) for {seconds} s: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        rate * SUBSCRIBERS as u64,
        percentile(&latencies, 0.5) * 1e3,
        percentile(&latencies, 0.99) * 1e3,
        latencies.last().copied().unwrap_or(f64::NAN) * 1e3
    );
    println!(
        "stage       delivered {} (warm-up included) retried {} dead {}",
        stats.delivered, stats.retried, stats.dead
    );
    drop(mock);
    Ok(())
}
