//! `vigil bench`: its phases time the work `vigil backtest` does, and ripgrep is given every
//! term the tagger looks for.

use std::process::Command;

use super::{between, run, vigil};

#[test]
fn bench_reads_the_file_like_backtest_and_gives_ripgrep_every_term() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bench.jsonl");
    let out = run(vigil()
        .args(["bench", "--count", "2000"])
        .arg("--file")
        .arg(&file));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let row = |name: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name:?} row in:\n{stdout}"))
    };
    assert!(
        row("read+decode+validate").ends_with(" 2000 valid"),
        "{stdout}"
    );
    // The core phase and `vigil backtest` run on the file give the alerts a backtest of it
    // writes: the bench times the same work.
    let backtest = run(vigil().arg("backtest").arg(&file));
    let alerts = String::from_utf8_lossy(&backtest.stdout).lines().count();
    assert!(alerts > 0);
    assert!(
        row("read+decode+tag+window+rules").contains(&format!("  {alerts} alert records, ")),
        "{stdout}"
    );
    assert!(
        row("vigil backtest (process)")
            .ends_with(&format!("  {alerts} alert records; start-up included")),
        "{stdout}"
    );
    // ripgrep is given the terms of all three automata, each once, and the lexicon phrases
    // are fewer than those of the one pass.
    let count = |text: &str, before: &str| -> usize { between(text, before, " ").parse().unwrap() };
    let one_pass = count(&stdout, "scans every text for ");
    let phrases = count(&stdout, &format!("for {one_pass} ("));
    let companions = count(&stdout, "other senses), ");
    let cues = count(&stdout, " anchors and ");
    let given = count(&stdout, "ripgrep is given all ");
    assert!(phrases < one_pass, "{stdout}");
    assert_eq!(given, one_pass + companions + cues, "{stdout}");
    if Command::new("rg").arg("--version").output().is_ok() {
        assert!(
            row("rg --count-matches -F -i (all)").contains(&format!("  {given} terms, ")),
            "{stdout}"
        );
        assert!(row("core / ripgrep (all terms)").len() > 30, "{stdout}");
    }
}
