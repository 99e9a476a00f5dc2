//! "Prove the classes are closed": a hostile corpus (`vigil::input::hostile`, at least 10,000 records
//! of every class) between the demo's reports, through `vigil backtest` and through `vigil run`
//! on a real broker. Every record is counted or in the DLQ with its reason, nothing panics, every
//! partition drains, memory stays bounded, and the good reports give exactly the alerts they
//! give alone.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use support::{Names, broker, committed_records, create_topics, produce, read_all, vigil};
use vigil::engine::{Engine, Outcome};
use vigil::input::generator::{GenOptions, generate};
use vigil::input::hostile::{Expect, HostileOptions, Origin, Record, corpus};
use vigil::report::RejectReason;

const HOSTILE: usize = 10_000;
/// `pipeline.batch_max_bytes` for the stream: a seventh of the corpus.
const BATCH_MAX_BYTES: u64 = 4 << 20;
const SEED: u64 = 1;

fn engine() -> Engine {
    vigil::config::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config")))
        .unwrap()
        .engine()
        .unwrap()
}

/// The demo's reports and the corpus with 10,000 hostile records between them, as
/// `vigil gen --demo` and `vigil gen --hostile --count 10000 --seed 1` write them.
fn build() -> (Vec<String>, Vec<Record>) {
    let good: Vec<String> = generate(&GenOptions::demo()).collect();
    let records = corpus(
        &mut engine(),
        &good,
        &HostileOptions {
            seed: SEED,
            count: HOSTILE,
        },
    );
    (good, records)
}

fn hostile(records: &[Record]) -> impl Iterator<Item = (&Record, Expect)> {
    records.iter().filter_map(|r| match &r.origin {
        Origin::Hostile { expect, .. } => Some((r, *expect)),
        Origin::Good => None,
    })
}

/// What the good reports do alone: rejections by reason, accepted, duplicates.
struct Alone {
    rejected: BTreeMap<String, u64>,
    accepted: u64,
    duplicates: u64,
}

fn alone(good: &[String]) -> Alone {
    let mut e = engine();
    let now = chrono::Utc::now().timestamp();
    let (mut accepted, mut duplicates) = (0, 0);
    for l in good {
        let outcome = e.process(l.as_bytes(), Some(now));
        assert!(e.take_released().is_empty());
        match outcome {
            Outcome::Accepted { .. } => accepted += 1,
            Outcome::Duplicate { .. } => duplicates += 1,
            Outcome::Held { .. } => panic!("a good report was held"),
            Outcome::Rejected(_) => {}
        }
    }
    let rejected = e.counts().rejected.iter();
    Alone {
        rejected: rejected.map(|(r, n)| (r.code().to_string(), *n)).collect(),
        accepted,
        duplicates,
    }
}

/// Runs `cmd` to its end with stdout and stderr into files; whether it exited 0.
///
/// Peak memory is what the program reports of itself (`VmHWM`): a parent's view of a child
/// (`wait4`, `getrusage(RUSAGE_CHILDREN)`) also counts the resident set of the process the
/// child was forked from, this test process holding the corpus, which hid the child's own peak.
fn run_to_files(cmd: &mut Command, stdout: &Path, stderr: &Path) -> bool {
    cmd.stdout(Stdio::from(File::create(stdout).unwrap()))
        .stderr(Stdio::from(File::create(stderr).unwrap()))
        .status()
        .unwrap()
        .success()
}

fn write_records(path: &Path, records: impl Iterator<Item = Vec<u8>>) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(File::create(path).unwrap());
    for r in records {
        f.write_all(&r).unwrap();
        f.write_all(b"\n").unwrap();
    }
    f.flush().unwrap();
}

/// `reason=n` pairs inside the summary's brackets.
fn reasons_in(line: &str) -> BTreeMap<String, u64> {
    let inside = line.split('[').nth(1).and_then(|s| s.split(']').next());
    inside
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| {
            let (r, n) = p.split_once('=')?;
            Some((r.to_string(), n.parse().ok()?))
        })
        .collect()
}

/// The number just before `word` in `line` (`"12 accepted"`).
fn number_before(line: &str, word: &str) -> u64 {
    let head = line.split(word).next().unwrap_or_default();
    let n = head.split([' ', ':', ',', '(']).rfind(|s| !s.is_empty());
    n.and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count before {word:?} in {line}"))
}

// One scenario, read top-down: the corpus, the run, then every promise the contract makes of it.
#[test]
fn hostile_corpus_through_backtest() {
    let (good, records) = build();
    let dir = tempfile::tempdir().unwrap();
    let (good_file, mixed_file) = (
        dir.path().join("good.jsonl"),
        dir.path().join("mixed.jsonl"),
    );
    write_records(&good_file, good.iter().map(|l| l.clone().into_bytes()));
    write_records(&mixed_file, records.iter().map(|r| r.bytes.clone()));
    let n_hostile = hostile(&records).count();
    assert_eq!(n_hostile, HOSTILE);
    let largest = records.iter().map(|r| r.bytes.len()).max().unwrap();
    let mixed_bytes = std::fs::metadata(&mixed_file).unwrap().len();

    // The CLI writes the same corpus.
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["gen", "--hostile", "--count", &HOSTILE.to_string()])
        .args(["--seed", &SEED.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout == std::fs::read(&mixed_file).unwrap());

    let backtest = |input: &Path, name: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigil"));
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("backtest")
            .arg(input)
            .arg("-o")
            .arg(dir.path().join(format!("{name}.alerts")));
        let ok = run_to_files(
            &mut cmd,
            &dir.path().join(format!("{name}.out")),
            &dir.path().join(format!("{name}.err")),
        );
        let stderr = std::fs::read_to_string(dir.path().join(format!("{name}.err"))).unwrap();
        assert!(ok, "backtest of {name} failed:\n{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let rss = stderr
            .lines()
            .find_map(|l| l.strip_prefix("peak memory: "))
            .map(|l| number_before(l, " KiB"))
            .unwrap_or_else(|| panic!("no peak memory in:\n{stderr}"));
        let alerts = std::fs::read(dir.path().join(format!("{name}.alerts"))).unwrap();
        (alerts, stderr, rss)
    };
    let (good_alerts, good_err, good_rss) = backtest(&good_file, "good");
    let (mixed_alerts, mixed_err, mixed_rss) = backtest(&mixed_file, "mixed");

    // The good reports give exactly the alerts they give alone, byte for byte.
    assert!(!good_alerts.is_empty());
    assert!(
        mixed_alerts == good_alerts,
        "the hostile records changed the alerts"
    );

    // Every record counted: accepted, duplicate, rejected by reason, or held.
    let summary = |err: &str| {
        err.lines()
            .find(|l| l.contains(" records in "))
            .unwrap_or_else(|| panic!("no summary in:\n{err}"))
            .to_string()
    };
    let line = summary(&mixed_err);
    let total = number_before(&line, " records in ");
    let accepted = number_before(&line, " accepted");
    let duplicates = number_before(&line, " duplicates");
    let rejected = number_before(&line, " rejected");
    let held = mixed_err
        .lines()
        .find(|l| l.starts_with("time_jump: "))
        .map_or(0, |l| number_before(l, " reports held"));
    assert_eq!(total, records.len() as u64, "{line}");
    assert_eq!(total, accepted + duplicates + rejected + held, "{line}");
    let by_reason = reasons_in(&line);
    assert_eq!(by_reason.values().sum::<u64>(), rejected, "{line}");

    // And each count is what the corpus promises: the good reports' own, plus the hostile
    // records' expected outcomes.
    let base = alone(&good);
    assert_eq!(reasons_in(&summary(&good_err)), base.rejected);
    let mut expected = base.rejected.clone();
    let (mut exp_accepted, mut exp_dup, mut exp_held) = (base.accepted, base.duplicates, 0);
    for (_, expect) in hostile(&records) {
        match expect {
            Expect::Rejected(r) => *expected.entry(r.code().to_string()).or_default() += 1,
            Expect::Accepted => exp_accepted += 1,
            Expect::Duplicate => exp_dup += 1,
            Expect::Held => exp_held += 1,
        }
    }
    assert_eq!(by_reason, expected, "rejected by reason");
    assert_eq!(
        (accepted, duplicates, held),
        (exp_accepted, exp_dup, exp_held)
    );
    let hostile_rejected = rejected - base.rejected.values().sum::<u64>();
    assert!(hostile_rejected as usize > HOSTILE / 2);

    // Memory, first against the good run: the hostile run holds one line at a time, of at
    // most limits.max_message_bytes (longer ones are read past), and state for the hostile
    // reports it accepts (their ids, as for any report). Its peak stays within the good run's
    // plus sixteen times the largest line of the file plus 1 KiB per accepted hostile report.
    let accepted_hostile = accepted - base.accepted;
    let bound = good_rss + 16 * largest as u64 / 1024 + accepted_hostile;
    eprintln!(
        "backtest: {} records ({} hostile, {:.1} MB, largest {} bytes): accepted {accepted}, duplicates {duplicates}, rejected {rejected} {by_reason:?}, held {held}; peak RSS good {good_rss} KiB, mixed {mixed_rss} KiB (bound {bound} KiB)",
        records.len(),
        HOSTILE,
        mixed_bytes as f64 / 1e6,
        largest
    );
    assert!(mixed_rss <= bound, "peak RSS {mixed_rss} KiB > {bound} KiB");

    // Then as the hostile input grows fourfold (the CLI writes it; this process never holds
    // it): the peak may grow by the state of the reports accepted, 1 KiB each, and 4 MiB, not
    // with the input's bytes. Holding the input, or a share of it, would exceed that.
    let big_file = dir.path().join("big.jsonl");
    let status = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["gen", "--hostile", "--count", &(4 * HOSTILE).to_string()])
        .args(["--seed", &SEED.to_string()])
        .stdout(Stdio::from(File::create(&big_file).unwrap()))
        .status()
        .unwrap();
    assert!(status.success());
    let big_bytes = std::fs::metadata(&big_file).unwrap().len();
    let (big_alerts, big_err, big_rss) = backtest(&big_file, "big");
    assert!(big_alerts == good_alerts);
    let big_accepted = number_before(&summary(&big_err), " accepted");
    let allowance = (big_accepted - accepted) + 4096;
    eprintln!(
        "backtest: 4x the hostile records ({:.1} MB, {big_accepted} accepted): peak RSS {big_rss} KiB (at most {} KiB)",
        big_bytes as f64 / 1e6,
        mixed_rss + allowance
    );
    assert!(
        big_rss <= mixed_rss + allowance,
        "peak RSS grew from {mixed_rss} to {big_rss} KiB"
    );
    assert!((big_bytes - mixed_bytes) / 1024 > 4 * allowance);
}

/// A Kafka record's key and payload.
type Keyed = (Option<Vec<u8>>, Vec<u8>);

/// A rejected record: key, payload, reason code.
type Rejection = (Option<Vec<u8>>, Vec<u8>, String);

/// Every record of `topic` by (partition, offset): key and payload.
fn read_with_offsets(bootstrap: &str, topic: &str) -> HashMap<(i32, i64), Keyed> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "vigil-test-offsets")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .unwrap();
    let meta = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    let mut ends = HashMap::new();
    for p in meta.topics()[0].partitions() {
        let (_, high) = consumer
            .fetch_watermarks(topic, p.id(), Duration::from_secs(10))
            .unwrap();
        ends.insert(p.id(), high);
        tpl.add_partition_offset(topic, p.id(), Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let want: i64 = ends.values().sum();
    let mut out = HashMap::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while (out.len() as i64) < want {
        assert!(std::time::Instant::now() < deadline, "reading {topic}");
        if let Some(m) = consumer.poll(Duration::from_millis(500)) {
            let m = m.unwrap();
            out.insert(
                (m.partition(), m.offset()),
                (
                    m.key().map(<[u8]>::to_vec),
                    m.payload().unwrap_or_default().to_vec(),
                ),
            );
        }
    }
    out
}

// One scenario, read top-down: broker, topics, the run, then every promise checked on what it wrote.
#[test]
fn hostile_corpus_through_the_stream_on_a_real_broker() {
    let (good, mut records) = build();
    // A stream can also carry an empty message, which no JSONL line can be.
    let region = records[records.len() / 2].key.clone();
    records.insert(
        records.len() / 2,
        Record {
            key: region,
            bytes: Vec::new(),
            origin: Origin::Hostile {
                class: vigil::input::hostile::Class::TopLevel,
                case: "top_level/empty_message".into(),
                expect: Expect::Rejected(RejectReason::MalformedJson),
            },
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let good_file = dir.path().join("good.jsonl");
    write_records(&good_file, good.iter().map(|l| l.clone().into_bytes()));
    let expected_alerts = {
        let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("backtest")
            .arg(&good_file)
            .output()
            .unwrap();
        assert!(out.status.success());
        let mut lines: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        lines.sort();
        lines
    };
    assert!(!expected_alerts.is_empty());

    let bootstrap = broker();
    let names = Names::new("hostile");
    create_topics(bootstrap, &names);
    let produced: Vec<(Option<&str>, Vec<u8>)> = records
        .iter()
        .map(|r| (r.key.as_deref(), r.bytes.clone()))
        .collect();
    let started = std::time::Instant::now();
    produce(bootstrap, &names.input, &produced);
    let produce_secs = started.elapsed().as_secs_f64();

    let started = std::time::Instant::now();
    let mut run = vigil(bootstrap, &names);
    run.args(["run", "--json", "--max-records", &records.len().to_string()])
        // The run summary, and each batch's size.
        .env("VIGIL__LOG__LEVEL", "info,vigil::telemetry::events=debug")
        .env(
            "VIGIL__PIPELINE__BATCH_MAX_BYTES",
            BATCH_MAX_BYTES.to_string(),
        );
    let (stdout, stderr) = (dir.path().join("run.out"), dir.path().join("run.err"));
    let ok = run_to_files(&mut run, &stdout, &stderr);
    let run_secs = started.elapsed().as_secs_f64();
    let err = std::fs::read_to_string(&stderr).unwrap();
    assert!(ok, "vigil run failed:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    let run_rss: u64 = err
        .split("peak_rss_kib=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no peak_rss_kib in the run summary:\n{err}"));

    // A batch closes at pipeline.batch_max_bytes, so that large records bound what it holds: no
    // batch holds more than that and the record that reached it, and every record was in one.
    let batches: Vec<u64> = err
        .lines()
        .filter(|l| l.contains("batch committed"))
        .filter_map(|l| {
            l.split("bytes=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect();
    let largest = records.iter().map(|r| r.bytes.len()).max().unwrap() as u64 + 64;
    let all: u64 = records
        .iter()
        .map(|r| (r.bytes.len() + r.key.as_ref().map_or(0, String::len)) as u64)
        .sum();
    let biggest = batches.iter().copied().max().unwrap_or(0);
    assert!(
        biggest <= BATCH_MAX_BYTES + largest,
        "a batch of {biggest} bytes"
    );
    assert_eq!(
        batches.iter().sum::<u64>(),
        all,
        "records in committed batches"
    );

    // Every partition drained: the group committed every record.
    assert_eq!(
        committed_records(bootstrap, &names.group, &names.input),
        records.len() as i64
    );

    // The committed alerts are the good reports' alerts alone, record for record.
    let mut committed: Vec<String> = read_all(bootstrap, &names.alerts)
        .into_iter()
        .map(|(_, payload, _)| String::from_utf8(payload).unwrap())
        .collect();
    committed.sort();
    assert!(
        committed == expected_alerts,
        "the stream's alerts differ from the good reports' backtest"
    );
    let mut printed: Vec<String> = std::fs::read_to_string(&stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    printed.sort();
    assert!(printed == expected_alerts);

    // The DLQ holds exactly one record per rejected record, with its reason, field and source
    // position, its key and its bytes (cut and marked when over kafka.dlq_max_payload_bytes).
    let input = read_with_offsets(bootstrap, &names.input);
    let mut want: BTreeMap<Rejection, i64> = BTreeMap::new();
    for (r, expect) in hostile(&records) {
        if let Expect::Rejected(reason) = expect {
            let key = (
                r.key.clone().map(String::into_bytes),
                r.bytes.clone(),
                reason.code().to_string(),
            );
            *want.entry(key).or_default() += 1;
        }
    }
    // The good reports' own rejections, as they are alone.
    let mut e = engine();
    let now = chrono::Utc::now().timestamp();
    for r in records.iter().filter(|r| r.origin == Origin::Good) {
        if let Outcome::Rejected(why) = e.process(&r.bytes, Some(now)) {
            let key = (
                r.key.clone().map(String::into_bytes),
                r.bytes.clone(),
                why.reason.code().to_string(),
            );
            *want.entry(key).or_default() += 1;
        }
    }
    let dlq = read_all(bootstrap, &names.dlq);
    let codes: Vec<&str> = RejectReason::ALL.iter().map(|r| r.code()).collect();
    let max_payload = 900_000;
    let mut got: BTreeMap<Rejection, i64> = BTreeMap::new();
    let mut positions = std::collections::HashSet::new();
    let mut truncated = 0;
    for (key, payload, headers) in &dlq {
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("DLQ record without {name}"))
        };
        let reason = header("vigil.reason");
        assert!(codes.contains(&reason.as_str()), "{reason}");
        header("vigil.field");
        header("vigil.detail");
        assert_eq!(header("vigil.source.topic"), names.input);
        let partition: i32 = header("vigil.source.partition").parse().unwrap();
        let offset: i64 = header("vigil.source.offset").parse().unwrap();
        assert!(
            positions.insert((partition, offset)),
            "two DLQ records for one input record"
        );
        let (in_key, original) = &input[&(partition, offset)];
        assert_eq!(key, in_key);
        assert_eq!(header("vigil.original_bytes"), original.len().to_string());
        if original.len() > max_payload {
            truncated += 1;
            assert_eq!(header("vigil.truncated"), "true");
            assert_eq!(payload.as_slice(), &original[..max_payload]);
        } else {
            assert_eq!(header("vigil.truncated"), "false");
            assert!(payload == original);
        }
        *got.entry((in_key.clone(), original.clone(), reason))
            .or_default() += 1;
    }
    let dlq_total: i64 = want.values().sum();
    assert_eq!(dlq.len() as i64, dlq_total);
    if got != want {
        let missing: Vec<_> = want
            .iter()
            .filter(|(k, n)| got.get(*k) != Some(n))
            .map(|(k, n)| {
                (
                    String::from_utf8_lossy(&k.1[..k.1.len().min(120)]).into_owned(),
                    k.2.clone(),
                    *n,
                    got.get(k).copied(),
                )
            })
            .take(10)
            .collect();
        panic!("DLQ differs from the rejected records (record, reason, wanted, got): {missing:#?}");
    }
    assert!(truncated > 0, "no record exercised the DLQ cut");
    assert!(err.contains(&format!("dlq={dlq_total}")), "{err}");

    let mb = records.iter().map(|r| r.bytes.len()).sum::<usize>() as f64 / 1e6;
    eprintln!(
        "stream: {} records ({mb:.1} MB) produced in {produce_secs:.1} s, consumed by vigil run in {run_secs:.1} s in {} batches (largest {biggest} bytes); {} alert records, {dlq_total} in the DLQ ({truncated} cut); peak RSS of vigil run {run_rss} KiB",
        records.len(),
        batches.len(),
        committed.len()
    );
}
