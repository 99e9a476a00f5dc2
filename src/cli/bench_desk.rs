//! `vigil bench --desk`: the desk's API over a store of `alerts` alert records and `tagged`
//! tagged reports (synthetic, deterministic), on 127.0.0.1, all from one run:
//!
//! - **store build**: the records taken into a fresh store file in batches of
//!   `desk.batch_max_records`, as the desk takes them from Kafka when rebuilding (Kafka's own
//!   read is not in it); the baseline parses the same records as JSON, the least any reader does.
//! - **API latency**: `clients` concurrent clients for `seconds`, each asking in turn for the
//!   open alerts, one region's alerts, the regions overview, a region's profile and a report,
//!   at `rate` requests per second each (and once more as fast as answered, for the
//!   saturation throughput); p50 and p99 per route and overall. Measured with the picture cache as configured and with
//!   it off. The baseline is the same clients fetching a static file of the same server (the
//!   bare HTTP round trip).
//! - **stream fan-out**: `stream_clients` clients on `/api/v1/stream`; reviews posted one by
//!   one; for each review and client, the time from the POST to the client reading it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rand::{Rng, SeedableRng};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

use super::bench_delivery::percentile;
use vigil::config::Loaded;
use vigil::desk::access::{Access, Role, Token};
use vigil::desk::api::{DeskState, Journal, routes};
use vigil::desk::service::catalogue;
use vigil::desk::settings::DeskSettings;
use vigil::desk::store::{Read, Source, Store};

const TOKEN: &str = "bench-analyst-token";
const REGIONS: [&str; 16] = [
    "NG-BO", "NG-YO", "NG-AD", "ML-MO", "ML-TB", "BF-SAH", "NE-TI", "TD-LC", "SD-DW", "SD-DS",
    "SS-JG", "CF-HK", "CD-NK", "CD-IT", "ET-AM", "SO-BN",
];
const THREATS: [&str; 4] = ["abduction", "siege", "sexual_violence", "foreign_fighters"];
/// Event time of the synthetic history: one year ending here.
const END_S: i64 = 1_772_323_200; // 2026-03-01T00:00:00Z
const YEAR_S: i64 = 365 * 86_400;

/// What to measure.
pub(crate) struct DeskBench {
    pub alerts: usize,
    pub tagged: usize,
    pub clients: usize,
    pub seconds: u64,
    /// Requests per second of each client, on a fixed schedule (latency counted from the
    /// scheduled time, so that a slow answer delays the next one's count too); 0: each client
    /// asks again as soon as answered (saturation).
    pub rate: f64,
    pub stream_clients: usize,
    /// Keep the store here, and reuse it when it exists (no build then).
    pub store: Option<std::path::PathBuf>,
}

fn rfc3339(s: i64) -> String {
    chrono::DateTime::from_timestamp(s, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// The synthetic records, as the topics would hold them.
fn records(b: &DeskBench) -> Vec<(Source, Vec<u8>)> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
    let mut out = Vec::with_capacity(b.alerts + b.tagged);
    for i in 0..b.tagged {
        let region = REGIONS[rng.random_range(0..REGIONS.len())];
        let t = END_S - rng.random_range(0..YEAR_S);
        let rf: Vec<(String, String)> = (0..rng.random_range(0..4))
            .map(|_| {
                let f = rng.random_range(1..=14);
                (format!("RF{f}"), format!("{f}.{}", rng.random_range(1..=8)))
            })
            .collect();
        let threats: Vec<&str> = THREATS
            .iter()
            .copied()
            .filter(|_| rng.random_bool(0.1))
            .collect();
        let tags: Vec<serde_json::Value> = rf
            .iter()
            .map(|(c, ind)| json!({"code": c, "kind": "risk_factor", "indicator": ind, "rule": "lexicon", "evidence": [], "weight": 1.0}))
            .collect();
        let v = json!({"region": region, "event_time": rfc3339(t), "id": format!("bench-{i:08}"),
            "threats": threats, "risk_factors": rf.iter().map(|r| r.0.clone()).collect::<Vec<_>>(), "tags": tags});
        out.push((Source::Tagged, v.to_string().into_bytes()));
    }
    // Episodes of four records; the last resolves seven in ten of them.
    for i in 0..b.alerts {
        let episode = i / 4;
        let step = i % 4;
        let region = REGIONS[episode % REGIONS.len()];
        let status = match step {
            0 => "firing",
            3 if episode % 10 < 7 => "resolved",
            _ => "escalated",
        };
        let severity = ["watch", "warning", "critical"][(episode + step) % 3];
        let at = rfc3339(END_S - YEAR_S + (episode as i64 * 97 + step as i64 * 3_600) % YEAR_S);
        let v = json!({
            "alert_id": format!("episode-{episode:07}"), "status": status, "rule": "abduction_cluster",
            "severity": severity, "region": region, "signal": "threat:abduction",
            "window": {"start": at, "end": at},
            "observed": {"reports": 3, "distinct_sources": 2, "casualties": {"killed": 0, "injured": 0,
                "abducted": 5, "missing": 0, "displaced": 0, "sexual_violence": 0}, "score": 1.0, "value": 3.0},
            "threshold": 3.0, "risk_factors": ["RF9"],
            "evidence": {"report_ids": [format!("bench-{:08}", i % b.tagged.max(1))], "indicators": ["9.1"]},
            "first_seen": at, "updated_at": at, "summary": "synthetic"
        });
        out.push((Source::Alerts, v.to_string().into_bytes()));
    }
    out
}

pub(crate) fn run(loaded: &Loaded, b: DeskBench) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(bench(loaded, b))
}

async fn bench(loaded: &Loaded, b: DeskBench) -> Result<()> {
    if let Some(path) = &b.store {
        return measure(loaded, &b, path).await;
    }
    let path = std::env::temp_dir().join(format!("vigil-bench-desk-{}.sqlite", std::process::id()));
    let removed = |path: &std::path::Path| {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    };
    removed(&path);
    let result = measure(loaded, &b, &path).await;
    removed(&path);
    result
}

async fn measure(loaded: &Loaded, b: &DeskBench, path: &std::path::Path) -> Result<()> {
    if path.exists() {
        eprintln!("reusing the store {}", path.display());
        return serve_and_load(loaded, b, path).await;
    }
    eprintln!(
        "generating {} alert records and {} tagged reports…",
        b.alerts, b.tagged
    );
    let recs = records(b);
    // Baseline: parse every record as JSON.
    let t = Instant::now();
    let mut parsed = 0usize;
    for (_, v) in &recs {
        parsed += usize::from(serde_json::from_slice::<serde_json::Value>(v).is_ok());
    }
    let parse_s = t.elapsed().as_secs_f64();
    let mut store = Store::open(path)?;
    let batch_max = loaded.settings.desk.batch_max_records.max(1);
    let t = Instant::now();
    for (n, chunk) in recs.chunks(batch_max).enumerate() {
        let reads: Vec<Read<'_>> = chunk
            .iter()
            .enumerate()
            .map(|(i, (source, v))| Read {
                source: *source,
                topic: if *source == Source::Alerts {
                    "alerts"
                } else {
                    "tagged"
                },
                partition: 0,
                offset: (n * batch_max + i) as i64,
                key: b"",
                value: Some(v),
                received_ms: (n * batch_max + i) as i64,
            })
            .collect();
        store.apply(&reads)?;
    }
    let build_s = t.elapsed().as_secs_f64();
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    println!(
        "store build  {} records in {build_s:.1} s ({:.0} records/s; store {:.0} MiB); baseline JSON parse {parsed} in {parse_s:.2} s ({:.0}/s): {:.1}× the parse",
        recs.len(),
        recs.len() as f64 / build_s,
        size as f64 / 1_048_576.0,
        recs.len() as f64 / parse_s,
        build_s / parse_s
    );
    drop(recs);
    drop(store);
    serve_and_load(loaded, b, path).await
}

async fn serve_and_load(loaded: &Loaded, b: &DeskBench, path: &std::path::Path) -> Result<()> {
    let cached = loaded.settings.desk.picture_cache_ms;
    for (cache_ms, rate) in [(cached, b.rate), (cached, 0.0), (0, b.rate)] {
        let settings = DeskSettings {
            picture_cache_ms: cache_ms,
            max_stream_clients: b.stream_clients + 10,
            max_auth_failures_per_minute: 0,
            ..loaded.settings.desk.clone()
        };
        let (base, _) = serve(loaded, path, settings).await?;
        let api = load(&base, b, rate, false).await?;
        let floor = load(&base, b, rate, true).await?;
        let overall = &api["all"];
        let pace = if rate > 0.0 {
            format!("{rate} requests/s each")
        } else {
            "as fast as answered".to_string()
        };
        println!(
            "api          picture cache {cache_ms} ms, {} clients at {pace}, {} s: {} requests ({:.0}/s), p50 {:.1} ms, p99 {:.1} ms; baseline static file p50 {:.1} ms, p99 {:.1} ms ({:.0}/s): p99 {:.1}× the baseline",
            b.clients,
            b.seconds,
            overall.len(),
            overall.len() as f64 / b.seconds as f64,
            percentile(overall, 0.5),
            percentile(overall, 0.99),
            percentile(&floor["all"], 0.5),
            percentile(&floor["all"], 0.99),
            floor["all"].len() as f64 / b.seconds as f64,
            percentile(overall, 0.99) / percentile(&floor["all"], 0.99),
        );
        for (route, l) in &api {
            if route != "all" {
                println!(
                    "  {route:<28} p50 {:>6.1} ms  p99 {:>6.1} ms  ({} requests)",
                    percentile(l, 0.5),
                    percentile(l, 0.99),
                    l.len()
                );
            }
        }
    }
    let settings = DeskSettings {
        max_stream_clients: b.stream_clients + 10,
        max_auth_failures_per_minute: 0,
        ..loaded.settings.desk.clone()
    };
    let (base, _) = serve(loaded, path, settings).await?;
    fan_out(&base, b).await
}

/// A desk over the store at `path` on 127.0.0.1:0.
async fn serve(
    loaded: &Loaded,
    path: &std::path::Path,
    settings: DeskSettings,
) -> Result<(String, ())> {
    let writer = Arc::new(Mutex::new(Store::open(path)?));
    let readers = (0..2)
        .map(|_| Store::open(path).map(|s| Arc::new(Mutex::new(s))))
        .collect::<Result<Vec<_>, _>>()?;
    let access = Access::new(&[Token {
        name: "bench".into(),
        role: Role::Analyst,
        regions: vec!["*".into()],
        sha256: hex::encode(Sha256::digest(TOKEN.as_bytes())),
    }]);
    let app = routes(DeskState::new(
        writer,
        readers,
        access,
        Journal::StoreOnly,
        broadcast::channel(4096).0,
        None,
        settings,
        catalogue(loaded),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    });
    Ok((format!("http://{addr}"), ()))
}

type Latencies = std::collections::BTreeMap<String, Vec<f64>>;

/// `clients` clients for `seconds`: the API mix, or (`floor`) the static stylesheet.
async fn load(base: &str, b: &DeskBench, rate: f64, floor: bool) -> Result<Latencies> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(b.clients)
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(b.seconds);
    let failures = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..b.clients {
        let (client, base, failures) = (client.clone(), base.to_string(), failures.clone());
        let (tagged, clients) = (b.tagged.max(1), b.clients);
        tasks.push(tokio::spawn(async move {
            let mut seen: Vec<(String, f64)> = Vec::new();
            let mut i = c;
            // Clients spread over one period, as independent users would be.
            let start = Instant::now()
                + if rate > 0.0 {
                    Duration::from_secs_f64(c as f64 / (rate * clients as f64))
                } else {
                    Duration::ZERO
                };
            let mut k = 0u32;
            while Instant::now() < deadline {
                // On a schedule, the latency runs from the scheduled time.
                let due = if rate > 0.0 {
                    let due = start + Duration::from_secs_f64(f64::from(k) / rate);
                    k += 1;
                    tokio::time::sleep_until(due.into()).await;
                    due
                } else {
                    Instant::now()
                };
                let region = REGIONS[i % REGIONS.len()];
                let (route, path) = if floor {
                    ("static".to_string(), "/desk/desk.css".to_string())
                } else {
                    match i % 5 {
                        0 => (
                            "alerts?status=open".into(),
                            "/api/v1/alerts?status=open&limit=50".into(),
                        ),
                        1 => (
                            "alerts?region=R".into(),
                            format!("/api/v1/alerts?region={region}&limit=50"),
                        ),
                        2 => ("regions".into(), "/api/v1/regions".into()),
                        3 => (
                            "regions/R/profile".into(),
                            format!("/api/v1/regions/{region}/profile"),
                        ),
                        _ => (
                            "reports/ID".into(),
                            format!("/api/v1/reports/bench-{:08}", (i * 7919) % tagged),
                        ),
                    }
                };
                let t = due;
                let answer = client
                    .get(format!("{base}{path}"))
                    .header("Authorization", format!("Bearer {TOKEN}"))
                    .send()
                    .await;
                let ok = match answer {
                    Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                    _ => false,
                };
                if ok {
                    seen.push((route, t.elapsed().as_secs_f64() * 1000.0));
                } else {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
            }
            seen
        }));
    }
    let mut by_route = Latencies::new();
    for t in tasks {
        for (route, ms) in t.await? {
            by_route.entry("all".into()).or_default().push(ms);
            by_route.entry(route).or_default().push(ms);
        }
    }
    for l in by_route.values_mut() {
        l.sort_by(f64::total_cmp);
    }
    let failed = failures.load(Ordering::Relaxed);
    if failed > 0 {
        bail!("{failed} requests failed");
    }
    Ok(by_route)
}

/// `stream_clients` stream clients; 20 reviews posted 100 ms apart; the time from each POST to
/// each client reading it.
async fn fan_out(base: &str, b: &DeskBench) -> Result<()> {
    const REVIEWS: usize = 20;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    let posted: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; REVIEWS]));
    let mut readers = Vec::new();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(b.stream_clients);
    for _ in 0..b.stream_clients {
        let (client, base, posted, ready) = (
            client.clone(),
            base.to_string(),
            posted.clone(),
            ready_tx.clone(),
        );
        readers.push(tokio::spawn(async move {
            let mut r = client
                .get(format!("{base}/api/v1/stream"))
                .header("Authorization", format!("Bearer {TOKEN}"))
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success())?;
            ready.send(()).await.ok()?;
            let mut got = Vec::new();
            let mut text = String::new();
            while got.len() < REVIEWS {
                let chunk = tokio::time::timeout(Duration::from_secs(30), r.chunk())
                    .await
                    .ok()?
                    .ok()??;
                let now = Instant::now();
                text.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(at) = text.find("bench-review-") {
                    let rest = &text[at + "bench-review-".len()..];
                    let n: usize = rest.split('"').next()?.parse().ok()?;
                    let sent = posted.lock().ok()?[n]?;
                    got.push(now.duration_since(sent).as_secs_f64() * 1000.0);
                    text = rest.to_string();
                }
            }
            Some(got)
        }));
    }
    drop(ready_tx);
    let mut connected = 0;
    while connected < b.stream_clients {
        if ready_rx.recv().await.is_none() {
            break;
        }
        connected += 1;
    }
    if connected < b.stream_clients {
        bail!(
            "only {connected} of {} stream clients connected",
            b.stream_clients
        );
    }
    let alert_id = "episode-0000000";
    for n in 0..REVIEWS {
        if let Ok(mut p) = posted.lock() {
            p[n] = Some(Instant::now());
        }
        let r = client
            .post(format!("{base}/api/v1/alerts/{alert_id}/reviews"))
            .header("Authorization", format!("Bearer {TOKEN}"))
            .header("Content-Type", "application/json")
            .body(
                json!({"verdict": "acknowledged", "note": format!("bench-review-{n}")}).to_string(),
            )
            .send()
            .await
            .context("posting a review")?;
        if r.status() != 201 {
            bail!("review POST answered {}", r.status());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut all = Vec::new();
    for r in readers {
        match r.await? {
            Some(l) => all.extend(l),
            None => bail!("a stream client lost events"),
        }
    }
    all.sort_by(f64::total_cmp);
    println!(
        "stream       {} clients × {REVIEWS} reviews = {} events read: POST → client p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        b.stream_clients,
        all.len(),
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        all.last().copied().unwrap_or(f64::NAN)
    );
    Ok(())
}
