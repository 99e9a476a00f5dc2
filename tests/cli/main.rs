//! The `vigil` binary end to end, one file per concern: `check_config`, `backtest` (and `tag`),
//! `import` (ACLED exports read, refused or explained), `run` (the in-process pipeline,
//! its logs and metrics) and `bench`. Counts are asserted as values: a summary line whole, a
//! metric series with its value, each derived from the input (a file built with a known number
//! of duplicates, or the deterministic demo read by another command), never only that a word or
//! a series is present.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod backtest;
mod bench;
mod check_config;
mod import;
mod run;
#[path = "../support/mod.rs"]
mod support;

fn vigil() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
    // Tests run in parallel: every `vigil run` serves /metrics on a port of its own.
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("VIGIL__HTTP__LISTEN", "127.0.0.1:0");
    c
}

fn run(cmd: &mut Command) -> Output {
    support::output_ok(cmd, "vigil")
}

fn demo_file(dir: &Path) -> PathBuf {
    let out = run(vigil().args(["gen", "--demo"]));
    let path = dir.join("demo.jsonl");
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

/// The summary line `backtest` writes to stderr, with its elapsed time replaced by `X`, so that
/// a test compares every count in it at once.
fn summary_line(stderr: &str) -> String {
    let line = stderr
        .lines()
        .find(|l| l.contains(" records in "))
        .unwrap_or_else(|| panic!("no summary line in:\n{stderr}"));
    let (records, rest) = line.split_once(" records in ").expect("summary shape");
    let (_, counts) = rest.split_once("s: ").expect("summary shape");
    format!("{records} records in Xs: {counts}")
}

/// The text between `before` and the next `after` in `line`.
fn between<'a>(line: &'a str, before: &str, after: &str) -> &'a str {
    let rest = line
        .split_once(before)
        .unwrap_or_else(|| panic!("{before:?} in {line}"))
        .1;
    rest.split_once(after)
        .unwrap_or_else(|| panic!("{after:?} in {line}"))
        .0
}

#[test]
fn a_reader_that_stops_early_is_the_end_of_a_pipe_not_an_error() {
    // `vigil gen | head -1`: the reader closes the pipe after one line.
    let mut child = vigil()
        .args(["gen", "--count", "200000"])
        .env("RUST_BACKTRACE", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    assert!(first.starts_with('{'), "{first}");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn an_error_is_one_line_with_its_causes_and_no_backtrace() {
    let out = vigil()
        .args(["backtest", "/no/such/file.jsonl"])
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("Error: "), "{stderr}");
    assert!(!stderr.contains("Stack backtrace"), "{stderr}");
}
