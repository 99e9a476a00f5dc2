//! Failure proofs on a real Kafka broker: SIGKILL at five points of a run, and scale-out with an
//! instance killed mid-run. In both, the alerts a read_committed consumer sees equal the
//! backtest's exactly: nothing lost, nothing duplicated.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use support::{
    Names, backtest_keys, broker, committed_alert_keys, committed_at_least, committed_records,
    create_topics, vigil, wait_for, write_lines,
};
use vigil::input::generator::{GenOptions, generate};

/// The two tests are heavy on a 2-core machine: run them one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

struct Setup {
    bootstrap: &'static str,
    names: Names,
    total: i64,
    expected: Vec<String>,
    file: PathBuf,
}

/// Generates the stream and its expected alerts (from `vigil backtest`).
fn setup(test: &str, dir: &Path) -> Setup {
    let lines: Vec<String> = generate(&GenOptions {
        seed: 5,
        count: 6000,
        regions: 12,
        rate_per_hour: 30.0,
        threat_rate: 0.2,
        late_fraction: 0.05,
        duplicate_fraction: 0.02,
        invalid_fraction: 0.002,
        escalation: true,
        ..GenOptions::default()
    })
    .collect();
    let file = write_lines(dir, "stream.jsonl", &lines);
    let expected = backtest_keys(&file);
    assert!(expected.len() > 50);
    Setup {
        bootstrap: broker(),
        names: Names::new(test),
        total: lines.len() as i64,
        expected,
        file,
    }
}

fn spawn_run(s: &Setup, instance: &str, log: &Path) -> Child {
    vigil(s.bootstrap, &s.names)
        .arg("run")
        .env("VIGIL__KAFKA__INSTANCE_ID", instance)
        .env("VIGIL__PIPELINE__BATCH_MAX_RECORDS", "100")
        .env("VIGIL__LOG__LEVEL", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log"))
        .spawn()
        .expect("spawn vigil run")
}

fn terminate(mut child: Child) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    assert!(
        exit.success(),
        "vigil run did not exit cleanly on SIGTERM: {exit}"
    );
}

fn progressed(s: &Setup, records: i64, within: Duration) -> bool {
    wait_for(within, || {
        committed_at_least(s.bootstrap, &s.names.group, &s.names.input, records)
    })
}

/// `vigil replay` of the test's file at `rate` records per second, in the background.
fn spawn_replay(s: &Setup, rate: u32) -> Child {
    vigil(s.bootstrap, &s.names)
        .arg("replay")
        .arg(&s.file)
        .args(["--rate", &rate.to_string()])
        .stderr(Stdio::null())
        .spawn()
        .expect("replay")
}

fn log_of(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn sigkill_at_five_points_loses_and_duplicates_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let s = setup("crash", dir.path());
    // Input arrives at a steady rate while runs crash and restart, so the kills land at
    // distinct points of the stream.
    create_topics(s.bootstrap, &s.names);
    let mut replay = spawn_replay(&s, 300);
    let mut killed_at = Vec::new();
    for k in 1..=5 {
        let log = dir.path().join(format!("run-{k}.log"));
        let mut child = spawn_run(&s, "0", &log);
        let target = s.total * k / 6;
        assert!(
            progressed(&s, target, Duration::from_secs(180)),
            "run {k} stalled:\n{}",
            log_of(&log)
        );
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        killed_at.push(committed_records(
            s.bootstrap,
            &s.names.group,
            &s.names.input,
        ));
    }
    // Five distinct points, all strictly inside the run.
    assert!(killed_at.windows(2).all(|w| w[0] < w[1]), "{killed_at:?}");
    assert!(*killed_at.last().unwrap() < s.total, "{killed_at:?}");

    assert!(replay.wait().expect("replay").success());
    let log = dir.path().join("final.log");
    let child = spawn_run(&s, "0", &log);
    assert!(
        progressed(&s, s.total, Duration::from_secs(180)),
        "final run stalled:\n{}",
        log_of(&log)
    );
    terminate(child);
    assert_eq!(
        committed_alert_keys(s.bootstrap, &s.names.alerts),
        s.expected
    );
}

#[test]
fn three_instances_one_killed_still_give_the_same_alerts() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let s = setup("scale", dir.path());
    // Topics first, then the three instances, then input at a steady rate, so that the kill
    // lands while every instance still has work to do.
    create_topics(s.bootstrap, &s.names);
    let logs: Vec<PathBuf> = ["a", "b", "c"]
        .iter()
        .map(|i| dir.path().join(format!("{i}.log")))
        .collect();
    let a = spawn_run(&s, "a", &logs[0]);
    let mut b = spawn_run(&s, "b", &logs[1]);
    let c = spawn_run(&s, "c", &logs[2]);
    let mut replay = spawn_replay(&s, 400);
    assert!(
        progressed(&s, s.total / 3, Duration::from_secs(180)),
        "no progress:\n{}",
        log_of(&logs[1])
    );
    b.kill().expect("SIGKILL b");
    b.wait().expect("reap b");
    assert!(replay.wait().expect("replay").success());
    let done = progressed(&s, s.total, Duration::from_secs(240));
    assert!(
        done,
        "survivors stalled; a:\n{}\nc:\n{}",
        log_of(&logs[0]),
        log_of(&logs[2])
    );
    terminate(a);
    terminate(c);
    assert_eq!(
        committed_alert_keys(s.bootstrap, &s.names.alerts),
        s.expected
    );
    // The survivors took over b's partitions, restoring their state from the changelog.
    let assignments: usize = [&logs[0], &logs[2]]
        .iter()
        .map(|l| {
            log_of(l)
                .matches("partitions assigned; state restored")
                .count()
        })
        .sum();
    assert!(
        assignments >= 3,
        "expected a second assignment after the kill, saw {assignments}; a:\n{}\nb:\n{}\nc:\n{}",
        log_of(&logs[0]),
        log_of(&logs[1]),
        log_of(&logs[2])
    );
}
