//! Kafka benchmarks on a real local broker (started by the test harness), exactly-once on:
//!
//! 1. drain: pre-load `VIGIL_BENCH_RECORDS` (default 1,000,000) `vigil gen` reports into a
//!    6-partition topic, then time `vigil run` consuming them all;
//! 2. latency: a steady 5,000 reports/s with trigger reports mixed in (a corroborated mass
//!    abduction, each in a fresh region, so each fires at once); p50/p99 from producing a trigger
//!    to its alert being readable by a read_committed consumer;
//! 3. restore: 100,000 region keys in the state changelog, read back by `kafka::restore`.
//!
//! `cargo bench --bench kafka` (broker jars are fetched by Maven on first use);
//! `VIGIL_BENCH_PARTS=latency` runs one part, `VIGIL_BENCH_RECORDS` sizes the drain.

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use support::{Broker, Names, create_topics, output_ok, replay_file, vigil, write_lines};
use vigil::config::KafkaSettings;
use vigil::input::generator::{GenOptions, generate};
use vigil::state::changelog;

fn drain(broker: &Broker, dir: &std::path::Path) {
    let count: usize = std::env::var("VIGIL_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let names = Names::new("drain");
    let lines: Vec<String> = generate(&GenOptions {
        seed: 3,
        count,
        regions: 16,
        rate_per_hour: 400.0,
        threat_rate: 0.2,
        late_fraction: 0.05,
        duplicate_fraction: 0.01,
        ..GenOptions::default()
    })
    .collect();
    let bytes: usize = lines.iter().map(String::len).sum();
    let file = write_lines(dir, "drain.jsonl", &lines);
    drop(lines);
    let t = Instant::now();
    replay_file(&broker.bootstrap, &names, &file);
    let load = t.elapsed().as_secs_f64();
    println!(
        "pre-load: {count} reports ({:.0} MB) in {load:.1} s",
        bytes as f64 / 1e6
    );

    let t = Instant::now();
    let out = output_ok(
        vigil(&broker.bootstrap, &names)
            .args(["run", "--max-records", &count.to_string()])
            .env("VIGIL__LOG__LEVEL", "info")
            .stdout(Stdio::null()),
        "vigil run",
    );
    let secs = t.elapsed().as_secs_f64();
    println!(
        "drain (exactly-once, broker on the same 2 cores): {count} reports in {secs:.1} s = {:.0} reports/s ({:.1} MB/s); {}",
        count as f64 / secs,
        bytes as f64 / 1e6 / secs,
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or_default()
    );
}
// One function on purpose: a benchmark reads best as one run from set-up to figures.

fn latency(broker: &Broker) {
    let names = Names::new("latency");
    create_topics(&broker.bootstrap, &names);
    let mut run = vigil(&broker.bootstrap, &names)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(
            std::fs::File::create(std::env::temp_dir().join("vigil-latency-run.log")).expect("log"),
        )
        .spawn()
        .expect("run");
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &broker.bootstrap)
        .set("linger.ms", "1")
        .create()
        .expect("producer");
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &broker.bootstrap)
        .set("group.id", format!("{}-reader", names.group))
        .set("isolation.level", "read_committed")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "10")
        .create()
        .expect("consumer");
    consumer.subscribe(&[&names.alerts]).expect("subscribe");
    let background: Vec<String> = generate(&GenOptions {
        seed: 8,
        count: std::env::var("VIGIL_BENCH_LATENCY_RECORDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100_000),
        regions: 16,
        rate_per_hour: 400.0,
        ..GenOptions::default()
    })
    .collect();
    // Warm up: the pipeline has joined its group once the first trigger's alert is readable.
    let trigger = |i: usize| {
        format!(
            r#"{{"id":"trigger-{i}","event_time":"2026-03-02T00:00:00Z","region":"LAT-{i}","source":{{"id":"s","reliability":"A","credibility":1}},"text":"Gunmen abducted 80 villagers.","casualties":{{"abducted":80}}}}"#
        )
    };
    let mut sent: Vec<Instant> = Vec::new();
    let mut seen: Vec<Option<Instant>> = Vec::new();
    let rate = 5000.0;
    let started = Instant::now();
    let mut next_trigger = 0usize;
    let regions: Vec<Option<String>> = background
        .iter()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v["region"].as_str().map(String::from))
        })
        .collect();
    // Records go out in 5 ms ticks of 25 (5,000/s): steady at the scale of any batch interval,
    // without a wake-up per record.
    let tick = 25;
    for (i, line) in background.iter().enumerate() {
        let due = started + Duration::from_secs_f64((i / tick * tick) as f64 / rate);
        // Wait for the record's due time blocked in the alert consumer's poll (which returns as
        // soon as an alert arrives), never spinning: a busy producer would take one of the
        // machine's two cores from the broker and the pipeline.
        loop {
            poll_alerts(&consumer, &mut seen);
            producer.poll(Duration::ZERO);
            let now = Instant::now();
            if now >= due {
                break;
            }
            wait_for_alert(&consumer, &mut seen, due - now);
        }
        let mut r = BaseRecord::<str, str>::to(&names.input).payload(line.as_str());
        if let Some(k) = &regions[i] {
            r = r.key(k.as_str());
        }
        let _ = producer.send(r);
        if i % 100 == 50 {
            let t = trigger(next_trigger);
            let key = format!("LAT-{next_trigger}");
            // Sent when handed to the producer (linger 1 ms): no synchronous flush, which would
            // hold the whole stream back.
            sent.push(Instant::now());
            let _ = producer.send(
                BaseRecord::<str, str>::to(&names.input)
                    .key(&key)
                    .payload(&t),
            );
            seen.push(None);
            next_trigger += 1;
        }
    }
    let produced_in = started.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.iter().any(Option::is_none) && Instant::now() < deadline {
        wait_for_alert(&consumer, &mut seen, Duration::from_millis(100));
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status();
    let _ = run.wait();
    // Skip the first second of triggers: group join and topic metadata, not steady state.
    let mut lat: Vec<f64> = sent
        .iter()
        .zip(&seen)
        .skip(50)
        .filter_map(|(s, r)| r.map(|r| r.saturating_duration_since(*s).as_secs_f64() * 1000.0))
        .collect();
    let missing = seen.iter().skip(50).filter(|r| r.is_none()).count();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "latency at {rate:.0} reports/s (produced in {produced_in:.1} s): {} triggers, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms, {missing} not seen",
        lat.len(),
        pct(0.5),
        pct(0.99),
        lat.last().copied().unwrap_or(f64::NAN)
    );
}

/// Blocks up to `timeout` for one alert record.
fn wait_for_alert(consumer: &BaseConsumer, seen: &mut [Option<Instant>], timeout: Duration) {
    if let Some(Ok(m)) = consumer.poll(timeout) {
        note_alert(&m, seen);
    }
}

fn poll_alerts(consumer: &BaseConsumer, seen: &mut [Option<Instant>]) {
    while let Some(Ok(m)) = consumer.poll(Duration::ZERO) {
        note_alert(&m, seen);
    }
}

fn note_alert(m: &rdkafka::message::BorrowedMessage<'_>, seen: &mut [Option<Instant>]) {
    let Some(payload) = m.payload() else { return };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(payload) else {
        return;
    };
    if v["rule"] == "mass_abduction_incident"
        && let Some(i) = v["region"]
            .as_str()
            .and_then(|r| r.strip_prefix("LAT-"))
            .and_then(|n| n.parse::<usize>().ok())
        && let Some(slot) = seen.get_mut(i)
        && slot.is_none()
    {
        *slot = Some(Instant::now());
    }
}

fn restore_time(broker: &Broker) {
    let names = Names::new("restore");
    let settings = KafkaSettings {
        state_topic: names.state.clone(),
        ..KafkaSettings::default()
    };
    create_topics(&broker.bootstrap, &names);
    // Real changelog records: a quiet day of one region, repeated as 1,000 regions of 100 keys
    // (its meta record, its panes and its ids, padded with more panes), 100,000 keys in all.
    let mut engine = vigil::config::load(std::path::Path::new("config"))
        .unwrap()
        .engine()
        .unwrap()
        .with_changelog();
    let day = GenOptions {
        count: 40,
        regions: 1,
        rate_per_hour: 2.0,
        threat_rate: 0.3,
        ..GenOptions::default()
    };
    for l in generate(&day) {
        engine.process(l.as_bytes(), None);
    }
    let changes = engine.take_changes("NG-BO").unwrap();
    // Values as the pipeline writes them: the changelog codec's meta and first pane record.
    let (signal, _, _) = changes
        .windows
        .panes
        .iter()
        .find(|p| p.2.is_some())
        .cloned()
        .unwrap();
    let records = changelog::encode(&changes).unwrap();
    let meta = records[0].1.clone().unwrap();
    let pane = records[1..].iter().find_map(|(_, v)| v.clone()).unwrap();
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &broker.bootstrap)
        .set("linger.ms", "20")
        .set("compression.type", "lz4")
        .create()
        .unwrap();
    let mut bytes = 0usize;
    let mut send = |key: String, value: &[u8]| {
        bytes += value.len();
        let mut r = BaseRecord::<str, [u8]>::to(&names.state)
            .key(&key)
            .payload(value)
            .partition(0);
        loop {
            match producer.send(r) {
                Ok(()) => break,
                Err((_, back)) => {
                    r = back;
                    producer.poll(Duration::from_millis(10));
                }
            }
        }
    };
    for region in 0..1000 {
        let region = format!("R-{region}");
        send(changelog::meta_key(&region), &meta);
        for i in 0..99 {
            send(changelog::pane_key(&region, signal, i * 3600), &pane);
        }
    }
    producer.flush(Duration::from_secs(60)).unwrap();
    let restored =
        vigil::kafka::restore::restore(&settings, &broker.bootstrap, &[0]).expect("restore");
    println!(
        "restore: {} keys ({} regions, {:.1} MB) in {:.2} s = {:.0} keys/s",
        restored.records,
        restored.regions.len(),
        bytes as f64 / 1e6,
        restored.elapsed.as_secs_f64(),
        restored.records as f64 / restored.elapsed.as_secs_f64()
    );
}

fn main() {
    // Progress is printed as each part finishes.
    std::io::Write::flush(&mut std::io::stdout()).ok();
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass nothing: run only when benched.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    // VIGIL_BENCH_PARTS=restore,latency,drain (default: all three).
    let parts =
        std::env::var("VIGIL_BENCH_PARTS").unwrap_or_else(|_| "restore,latency,drain".into());
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    if parts.contains("restore") {
        restore_time(&broker);
    }
    if parts.contains("latency") {
        // The first round meets a cold broker (JIT compilation takes much of a core for tens of
        // seconds); both rounds are printed, the last is the steady state.
        let rounds: usize = std::env::var("VIGIL_BENCH_LATENCY_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2);
        for round in 1..=rounds {
            print!("round {round}: ");
            latency(&broker);
        }
    }
    if parts.contains("drain") {
        drain(&broker, dir.path());
    }
}
