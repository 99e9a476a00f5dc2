//! Failure proofs on a real Kafka broker: SIGKILL at five points of a run, and scale-out with an
//! instance killed mid-run. In both, the alerts a read_committed consumer sees equal the
//! backtest's exactly: nothing lost, nothing duplicated.

mod support;

use std::process::{Child, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use support::{
    Names, backtest_keys, broker, committed_alert_keys, committed_records, vigil, wait_for,
    write_lines,
};
use vigil::generator::{GenOptions, generate};

/// The two tests are heavy on a 2-core machine: run them one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn stream() -> Vec<String> {
    generate(&GenOptions {
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
    .collect()
}

fn spawn_run(bootstrap: &str, names: &Names, instance: &str, log: &std::path::Path) -> Child {
    vigil(bootstrap, names)
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

fn setup(test: &str, dir: &std::path::Path) -> (&'static str, Names, usize, Vec<String>) {
    let bootstrap = broker();
    let lines = stream();
    let file = write_lines(dir, "stream.jsonl", &lines);
    let expected = backtest_keys(&file);
    assert!(expected.len() > 50);
    let names = Names::new(test);
    let replay = vigil(bootstrap, &names)
        .arg("replay")
        .arg(&file)
        .output()
        .expect("replay");
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    (bootstrap, names, lines.len(), expected)
}

#[test]
fn sigkill_at_five_points_loses_and_duplicates_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let (bootstrap, names, total, expected) = setup("crash", dir.path());
    let mut killed_at = Vec::new();
    for k in 1..=5 {
        let log = dir.path().join(format!("run-{k}.log"));
        let mut child = spawn_run(bootstrap, &names, "0", &log);
        let target = (total * k / 6) as i64;
        let reached = wait_for(Duration::from_secs(180), || {
            committed_records(bootstrap, &names.group, &names.input) >= target
        });
        assert!(
            reached,
            "run {k} made no progress:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        killed_at.push(committed_records(bootstrap, &names.group, &names.input));
    }
    // Five distinct points, strictly inside the run.
    assert!(killed_at.windows(2).all(|w| w[0] < w[1]), "{killed_at:?}");
    assert!(*killed_at.last().unwrap() < total as i64);

    let log = dir.path().join("final.log");
    let child = spawn_run(bootstrap, &names, "0", &log);
    let done = wait_for(Duration::from_secs(180), || {
        committed_records(bootstrap, &names.group, &names.input) >= total as i64
    });
    assert!(
        done,
        "final run did not finish:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    terminate(child);
    assert_eq!(committed_alert_keys(bootstrap, &names.alerts), expected);
}

#[test]
fn three_instances_one_killed_still_give_the_same_alerts() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let (bootstrap, names, total, expected) = setup("scale", dir.path());
    let logs: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|i| dir.path().join(format!("{i}.log")))
        .collect();
    let a = spawn_run(bootstrap, &names, "a", &logs[0]);
    let mut b = spawn_run(bootstrap, &names, "b", &logs[1]);
    let c = spawn_run(bootstrap, &names, "c", &logs[2]);
    let third = (total / 3) as i64;
    assert!(wait_for(Duration::from_secs(180), || committed_records(
        bootstrap,
        &names.group,
        &names.input
    ) >= third));
    b.kill().expect("SIGKILL b");
    b.wait().expect("reap b");
    let done = wait_for(Duration::from_secs(240), || {
        committed_records(bootstrap, &names.group, &names.input) >= total as i64
    });
    assert!(
        done,
        "survivors did not finish; a:\n{}\nc:\n{}",
        std::fs::read_to_string(&logs[0]).unwrap_or_default(),
        std::fs::read_to_string(&logs[2]).unwrap_or_default()
    );
    terminate(a);
    terminate(c);
    assert_eq!(committed_alert_keys(bootstrap, &names.alerts), expected);
    // The survivors took over b's partitions, restoring their state from the changelog.
    let restores: usize = [&logs[0], &logs[2]]
        .iter()
        .map(|l| {
            std::fs::read_to_string(l)
                .unwrap_or_default()
                .matches("partitions assigned; state restored")
                .count()
        })
        .sum();
    assert!(
        restores >= 3,
        "expected a second assignment after the kill, saw {restores}"
    );
}
