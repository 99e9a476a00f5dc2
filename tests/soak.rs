//! Endurance (issue 15), outside the default run: `vigil run` with delivery (one signed webhook
//! subscriber, a real receiver) and the desk on, fed at a steady rate through a real broker for
//! a long time, sampling the process's resident memory, the window state, the desk store's size
//! and the consumer lag. Run it with
//!
//! ```text
//! VIGIL_SOAK_SECS=1800 VIGIL_SOAK_RATE=2000 cargo test --release --test soak -- --ignored --nocapture
//! ```
//!
//! It prints one line per sample and a summary (README "Endurance" holds the figures), and fails
//! when memory or window state still grow in the last half, or the lag at the end exceeds ten
//! seconds of input.

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use support::receiver::Receiver;
use support::{Broker, Names, committed_records, create_topics, http_get, vigil, with_desk};
use vigil::input::generator::{GenOptions, generate};

const KEY: &str = "soak-signing-key";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The value of an unlabelled metric (or the sum of a labelled one) in a Prometheus page.
fn metric(page: &str, name: &str) -> f64 {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn bytes_of(store: &Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", store.display())).ok())
        .map(|m| m.len())
        .sum()
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    secs: u64,
    rss_kib: u64,
    panes: f64,
    keys: f64,
    lag: f64,
    consumed: f64,
    store_bytes: u64,
    delivered: usize,
}

#[test]
#[ignore = "a long soak: run by hand (see the module comment)"]
fn soak_at_a_steady_rate_with_delivery_and_the_desk() {
    let secs = env_or("VIGIL_SOAK_SECS", 1800);
    let rate = env_or("VIGIL_SOAK_RATE", 2000);
    let broker = Broker::start();
    let bootstrap = broker.bootstrap.clone();
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(KEY);
    let config = support::config_with_tokens(dir.path(), &[]);
    std::fs::write(
        config.join("subscribers.toml"),
        format!(
            "[[subscriber]]\nname = \"all\"\nkind = \"webhook\"\nurl = \"{}\"\nsecret_env = \"VIGIL_SOAK_KEY\"\n",
            receiver.url("/soak")
        ),
    )
    .unwrap();
    let names = Names::new("soak");
    create_topics(&bootstrap, &names);
    let store = dir.path().join("desk.sqlite");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = vigil(&bootstrap, &names);
    cmd.args(["run", "--config-dir"])
        .arg(&config)
        .env("VIGIL__HTTP__LISTEN", &addr)
        .env("VIGIL_SOAK_KEY", KEY)
        .env("VIGIL__LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("run.log")).unwrap());
    let mut child = with_desk(&mut cmd, &names, &store).spawn().unwrap();

    // Reports whose event time covers 240 days over the soak, so that panes, episodes and the
    // near-duplicate index pass their retention many times over.
    let count = (secs * rate) as usize;
    let opts = GenOptions {
        seed: 15,
        count,
        regions: 16,
        rate_per_hour: count as f64 / (240.0 * 24.0),
        threat_rate: 0.1,
        late_fraction: 0.03,
        duplicate_fraction: 0.01,
        invalid_fraction: 0.001,
        escalation: true,
        ..GenOptions::default()
    };
    let input = names.input.clone();
    let producer_bootstrap = bootstrap.clone();
    let feeder = std::thread::spawn(move || {
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &producer_bootstrap)
            .set("linger.ms", "20")
            .set("queue.buffering.max.messages", "1000000")
            .create()
            .unwrap();
        let started = Instant::now();
        let tick = Duration::from_millis(10);
        let per_tick = (rate / 100).max(1) as usize;
        let mut lines = generate(&opts);
        let mut sent = 0u64;
        'feed: for n in 0.. {
            for _ in 0..per_tick {
                let Some(line) = lines.next() else {
                    break 'feed;
                };
                let key = serde_json::from_str::<serde_json::Value>(&line)
                    .ok()
                    .and_then(|v| v["region"].as_str().map(str::to_string))
                    .unwrap_or_default();
                let record = BaseRecord::to(&input).key(&key).payload(&line);
                let mut record = record;
                loop {
                    match producer.send(record) {
                        Ok(()) => break,
                        Err((_, r)) => {
                            record = r;
                            producer.poll(Duration::from_millis(1));
                        }
                    }
                }
                sent += 1;
            }
            producer.poll(Duration::ZERO);
            // Pacing, not synchronisation: the next tick of the steady rate.
            let next = started + tick * (n + 1);
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        producer.flush(Duration::from_secs(60)).unwrap();
        sent
    });

    let started = Instant::now();
    let mut samples: Vec<Sample> = Vec::new();
    let every = Duration::from_secs(env_or("VIGIL_SOAK_SAMPLE_SECS", 30));
    while !feeder.is_finished() {
        // Pacing of the samples, not synchronisation.
        std::thread::sleep(every);
        let page = http_get(&addr, "/metrics")
            .map(|(_, b)| b)
            .unwrap_or_default();
        let s = Sample {
            secs: started.elapsed().as_secs(),
            rss_kib: rss_kib(child.id()),
            panes: metric(&page, "vigil_window_panes"),
            keys: metric(&page, "vigil_window_keys"),
            lag: metric(&page, "vigil_consumer_lag_records"),
            consumed: metric(&page, "vigil_records_consumed_total"),
            store_bytes: bytes_of(&store),
            delivered: metric(&page, "vigil_deliveries_total") as usize,
        };
        println!(
            "soak t={}s rss={}KiB panes={} keys={} lag={} consumed={} store={}B delivered={}",
            s.secs, s.rss_kib, s.panes, s.keys, s.lag, s.consumed, s.store_bytes, s.delivered
        );
        samples.push(s);
        if child.try_wait().unwrap().is_some() {
            let log = std::fs::read_to_string(dir.path().join("run.log")).unwrap_or_default();
            panic!("vigil run exited during the soak:\n{log}");
        }
    }
    let sent = feeder.join().unwrap();
    // The backlog at the end: every record consumed within a minute of the last one sent.
    let drained = support::wait_for(Duration::from_secs(60), || {
        committed_records(&bootstrap, &names.group, &names.input) >= sent as i64
    });
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    let log = std::fs::read_to_string(dir.path().join("run.log")).unwrap_or_default();
    assert!(status.success(), "vigil run failed:\n{log}");
    assert!(
        drained,
        "the backlog was not consumed within 60 s of the last report"
    );

    // Flat: the last quarter's peaks against the second quarter's.
    let quarter = samples.len() / 4;
    assert!(quarter >= 1, "too short a soak to judge");
    let peak = |from: usize, to: usize, f: &dyn Fn(&Sample) -> f64| {
        samples[from..to].iter().map(f).fold(0.0, f64::max)
    };
    let (q2, q4) = ((quarter, 2 * quarter), (3 * quarter, samples.len()));
    let rss = (
        peak(q2.0, q2.1, &|s| s.rss_kib as f64),
        peak(q4.0, q4.1, &|s| s.rss_kib as f64),
    );
    let panes = (
        peak(q2.0, q2.1, &|s| s.panes),
        peak(q4.0, q4.1, &|s| s.panes),
    );
    let lag = peak(q4.0, q4.1, &|s| s.lag);
    let last = samples[samples.len() - 1];
    println!(
        "soak summary: {secs} s at {rate}/s, {sent} reports sent; peak RSS 2nd quarter {} KiB, \
         4th quarter {} KiB; peak panes {} → {}; peak lag 4th quarter {lag} records; desk store \
         {} B; {} deliveries; receiver saw {}",
        rss.0,
        rss.1,
        panes.0,
        panes.1,
        last.store_bytes,
        last.delivered,
        receiver.seen().len()
    );
    assert!(rss.1 <= rss.0 * 1.25, "memory still grows: {rss:?}");
    assert!(
        panes.1 <= panes.0 * 1.25,
        "window state still grows: {panes:?}"
    );
    assert!(
        lag <= (10 * rate) as f64,
        "lag above ten seconds of input: {lag}"
    );
}
