//! The broker restarts in the middle of a stream: the pipeline recovers by itself and the
//! committed alerts still equal the backtest's. Its own broker, since it restarts it.
//!
//! A hang was seen once in eleven runs before the stall watchdog existed (the consumer stopped
//! fetching with records waiting and nothing logged). The run here has the watchdog on a short
//! timeout, so such a stall, should it recur, is recovered from within the test's deadline.

mod support;

use std::process::Stdio;
use std::time::Duration;

use support::{
    Broker, Names, backtest_keys, committed_alert_keys, committed_at_least, replay_file, vigil,
    wait_for, write_lines,
};
use vigil::input::generator::{GenOptions, generate};

#[test]
fn pipeline_recovers_from_a_broker_restart_without_losing_reports() {
    let mut broker = Broker::start();
    let bootstrap = broker.bootstrap.clone();
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = generate(&GenOptions {
        seed: 21,
        count: 4000,
        regions: 10,
        rate_per_hour: 30.0,
        threat_rate: 0.2,
        late_fraction: 0.05,
        duplicate_fraction: 0.02,
        escalation: true,
        ..GenOptions::default()
    })
    .collect();
    let expected = backtest_keys(&write_lines(dir.path(), "all.jsonl", &lines));
    let (first, second) = lines.split_at(lines.len() / 2);
    let first = write_lines(dir.path(), "first.jsonl", first);
    let second = write_lines(dir.path(), "second.jsonl", second);
    let names = Names::new("restart");
    let replay = |file: &std::path::Path| replay_file(&bootstrap, &names, file);
    replay(&first);

    let log = dir.path().join("run.log");
    let mut child = vigil(&bootstrap, &names)
        .arg("run")
        .env("VIGIL__PIPELINE__BATCH_MAX_RECORDS", "100")
        .env("VIGIL__PIPELINE__STALL_TIMEOUT_SECS", "15")
        .env("VIGIL__METRICS__LAG_INTERVAL_MS", "1000")
        .env("VIGIL__LOG__LEVEL", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let quarter = (lines.len() / 4) as i64;
    assert!(wait_for(Duration::from_secs(180), || committed_at_least(
        &bootstrap,
        &names.group,
        &names.input,
        quarter
    )));

    broker.restart();
    replay(&second);

    let total = lines.len() as i64;
    let done = wait_for(Duration::from_secs(300), || {
        committed_at_least(&bootstrap, &names.group, &names.input, total)
    });
    assert!(
        done,
        "pipeline did not recover:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
    assert_eq!(committed_alert_keys(&bootstrap, &names.alerts), expected);
}

/// The hunt for the stall (issue 15), outside the default run: the broker restarts `VIGIL_RESTARTS`
/// times (default 20) under a steady stream, with the stall watchdog off, so that a stall shows
/// as no progress. On one, the stacks of the stuck `vigil run` are printed (`gdb`, when present)
/// and the test fails. Run with
/// `cargo test --release --test kafka_broker_restart -- --ignored --nocapture restart_loop`.
#[test]
#[ignore = "a long reproduction loop: run by hand"]
fn restart_loop_shows_where_a_stalled_pipeline_waits() {
    let restarts: usize = std::env::var("VIGIL_RESTARTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut broker = Broker::start();
    let bootstrap = broker.bootstrap.clone();
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = generate(&GenOptions {
        seed: 22,
        count: 2000 * (restarts + 1),
        regions: 10,
        rate_per_hour: 30.0,
        threat_rate: 0.2,
        escalation: true,
        ..GenOptions::default()
    })
    .collect();
    let names = Names::new("restart-loop");
    let chunks: Vec<&[String]> = lines.chunks(2000).collect();
    replay_file(
        &bootstrap,
        &names,
        &write_lines(dir.path(), "chunk-0.jsonl", chunks[0]),
    );
    let log = dir.path().join("run.log");
    let mut child = vigil(&bootstrap, &names)
        .arg("run")
        .env("VIGIL__PIPELINE__BATCH_MAX_RECORDS", "100")
        .env("VIGIL__PIPELINE__STALL_TIMEOUT_SECS", "0")
        .env("VIGIL__DELIVERY__ENABLED", "false")
        .env("VIGIL__LOG__LEVEL", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    for (i, chunk) in chunks.iter().enumerate().skip(1) {
        let target = (2000 * i) as i64;
        let progressed = wait_for(Duration::from_secs(90), || {
            committed_at_least(&bootstrap, &names.group, &names.input, target)
        });
        if !progressed {
            let stacks = std::process::Command::new("gdb")
                .args([
                    "-p",
                    &child.id().to_string(),
                    "-batch",
                    "-ex",
                    "thread apply all bt",
                ])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_else(|e| format!("no gdb: {e}"));
            let _ = child.kill();
            panic!(
                "stalled after restart {}: no progress to {target} in 90 s\n--- stacks ---\n{stacks}\n--- log ---\n{}",
                i - 1,
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        println!("restart {i}: {target} records committed; restarting the broker");
        broker.restart();
        replay_file(
            &bootstrap,
            &names,
            &write_lines(dir.path(), &format!("chunk-{i}.jsonl"), chunk),
        );
    }
    let total = lines.len() as i64;
    assert!(wait_for(Duration::from_secs(90), || committed_at_least(
        &bootstrap,
        &names.group,
        &names.input,
        total
    )));
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success());
}
