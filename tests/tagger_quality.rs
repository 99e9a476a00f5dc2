//! Tagger quality on hand-written snippets in `tests/data/`: precision and recall per core
//! threat, in English, French, Portuguese and Arabic, traps included; and who the dead were. README quotes the tables these tests print
//! (`cargo test --release --test tagger_quality -- --nocapture`).
//!
//! Every set here has been tuned on. `labelled.tsv` was written to build the lexicon on;
//! `tuned1.tsv`–`tuned11_*.tsv` were each written as a held-out set, measured once before any
//! change made for it (those first figures are in README, the only ones that speak of unseen
//! text), and then tuned on: they are development sets now, and these tests guard against
//! regressions on them. No held-out set remains; the next one must be written fresh.

use std::collections::BTreeSet;
use std::path::Path;

use vigil::config;
use vigil::report::{Limits, decode};
use vigil::tag::Scratch;

const THREATS: [&str; 4] = ["abduction", "siege", "sexual_violence", "foreign_fighters"];

struct Example {
    lang: String,
    labels: BTreeSet<String>,
    text: String,
}

fn examples(file: &str) -> Vec<Example> {
    std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut cols = l.splitn(3, '\t');
            let lang = cols.next().unwrap_or_default().to_string();
            let labels = cols
                .next()
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            let text = cols.next().expect("three columns").to_string();
            Example { lang, labels, text }
        })
        .collect()
}

#[derive(Default, Clone, Copy)]
struct Counts {
    tp: u32,
    fp: u32,
    fn_: u32,
}

impl Counts {
    fn precision(self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fp).max(1))
    }
    fn recall(self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fn_).max(1))
    }
}

/// Asserts precision and recall of `c` at least `bar`.
fn assert_bar(c: Counts, bar: f64, what: &str) {
    assert!(
        c.precision() >= bar,
        "{what} precision {:.2}",
        c.precision()
    );
    assert!(c.recall() >= bar, "{what} recall {:.2}", c.recall());
}

/// Precision and recall per threat and language (in the order languages first appear), then
/// over all languages, printing the table and every error.
fn evaluate(examples: &[Example]) -> [Counts; 4] {
    let loaded = config::load(Path::new("config")).expect("config loads");
    let engine = loaded.engine().expect("engine builds");
    let tagger = engine.tagger();
    let mut langs: Vec<&str> = Vec::new();
    for ex in examples {
        if !langs.contains(&ex.lang.as_str()) {
            langs.push(&ex.lang);
        }
    }
    let mut counts = vec![[Counts::default(); 4]; langs.len()];
    let mut errors = Vec::new();
    let mut scratch = Scratch::default();
    for (i, ex) in examples.iter().enumerate() {
        let json = serde_json::json!({"id": format!("ex{i}"), "event_time": "2026-03-01T00:00:00Z",
            "region": "R", "source": {"id": "s"}, "language": ex.lang, "text": ex.text});
        let bytes = serde_json::to_vec(&json).expect("serialises");
        let report = decode(&bytes, &Limits::default(), None).expect("valid report");
        let out = tagger.render(&report, &tagger.tag(&report, &mut scratch));
        let li = langs.iter().position(|l| *l == ex.lang).unwrap_or(0);
        for (t, threat) in THREATS.iter().enumerate() {
            let predicted = out.threats.iter().any(|x| x == threat);
            let actual = ex.labels.contains(*threat);
            let c = &mut counts[li][t];
            match (predicted, actual) {
                (true, true) => c.tp += 1,
                (true, false) => {
                    c.fp += 1;
                    errors.push(format!("FP {threat} [{}]: {}", ex.lang, ex.text));
                }
                (false, true) => {
                    c.fn_ += 1;
                    errors.push(format!("FN {threat} [{}]: {}", ex.lang, ex.text));
                }
                (false, false) => {}
            }
        }
    }

    println!("| threat | language | precision | recall | support |");
    println!("|---|---|---|---|---|");
    let mut overall = [Counts::default(); 4];
    for (li, lang) in langs.iter().enumerate() {
        for (t, threat) in THREATS.iter().enumerate() {
            let c = counts[li][t];
            overall[t].tp += c.tp;
            overall[t].fp += c.fp;
            overall[t].fn_ += c.fn_;
            println!(
                "| {threat} | {lang} | {:.2} | {:.2} | {} |",
                c.precision(),
                c.recall(),
                c.tp + c.fn_
            );
        }
    }
    for (t, threat) in THREATS.iter().enumerate() {
        let c = overall[t];
        println!(
            "| {threat} | all | {:.2} | {:.2} | {} |",
            c.precision(),
            c.recall(),
            c.tp + c.fn_
        );
    }
    for e in &errors {
        println!("{e}");
    }
    overall
}

#[test]
fn labelled_set_precision_and_recall() {
    let examples = examples("tests/data/labelled.tsv");
    assert!(
        examples.len() >= 150,
        "labelled set has {} snippets",
        examples.len()
    );
    for lang in ["en", "fr"] {
        for threat in THREATS {
            assert!(
                examples
                    .iter()
                    .any(|e| e.lang == lang && e.labels.contains(threat)),
                "no {lang} example of {threat}"
            );
        }
        assert!(
            examples
                .iter()
                .any(|e| e.lang == lang && e.labels.is_empty()),
            "no {lang} traps"
        );
    }
    let overall = evaluate(&examples);
    for (t, threat) in THREATS.iter().enumerate() {
        assert_bar(overall[t], 0.85, threat);
    }
}

/// Development sets 1 and 2: `tuned1.tsv` was measured once before the proximity phrases were
/// added, `tuned2.tsv` written after that and measured once; both were tuned on later (README
/// gives first and current figures). The bar is the target for the external corpus on
/// the two threats it names, and a floor for the others: a regression guard, not a measure of
/// text the tagger has not seen.
#[test]
fn development_sets_1_and_2_precision_and_recall() {
    let mut sets = examples("tests/data/tuned1.tsv");
    sets.extend(examples("tests/data/tuned2.tsv"));
    let overall = evaluate(&sets);
    for (t, threat) in THREATS.iter().enumerate() {
        let bar = if matches!(*threat, "abduction" | "sexual_violence") {
            0.85
        } else {
            0.6
        };
        assert_bar(overall[t], bar, &format!("tuned1-2 {threat}"));
    }
}

/// Development sets 3 to 9, each written after the tagger was changed for the sets before it,
/// measured once before any change of its own (README gives those first figures) and tuned on
/// afterwards. Per set, a floor that catches a collapse; pooled, the bar for abduction
/// and sexual violence, which the lexicon alone missed on them (recall 0.33–0.67 per set) and
/// the event frames reach: it fails if the frames stop working.
#[test]
fn development_sets_3_to_9_do_not_regress() {
    let mut pooled = Vec::new();
    for file in [
        "tests/data/tuned3.tsv",
        "tests/data/tuned4.tsv",
        "tests/data/tuned5.tsv",
        "tests/data/tuned6.tsv",
        "tests/data/tuned7.tsv",
        "tests/data/tuned8.tsv",
        "tests/data/tuned9.tsv",
    ] {
        let set = examples(file);
        assert!(set.len() >= 25, "{file}");
        let overall = evaluate(&set);
        for (t, threat) in THREATS.iter().enumerate() {
            assert_bar(overall[t], 0.4, &format!("{file}: {threat}"));
        }
        pooled.extend(set);
    }
    let overall = evaluate(&pooled);
    for (t, threat) in THREATS.iter().enumerate() {
        if matches!(*threat, "abduction" | "sexual_violence") {
            assert_bar(overall[t], 0.85, &format!("pooled {threat}"));
        }
    }
}

/// Development set 10 (`tuned10.tsv`), written as a held-out set before any change of issue 14
/// on its error classes (property taken, another clause's cue, sexual-violence vocabulary,
/// disappearance without the word, fighters by origin, a group's description), measured once
/// untuned (README: abduction precision 0.72, foreign fighters recall 0.14), tuned on since.
/// The bar is the issue's: it fails if any of those classes comes back.
#[test]
fn development_set_10_error_classes() {
    let set = examples("tests/data/tuned10.tsv");
    assert!(set.len() >= 70, "tuned10 has {} snippets", set.len());
    let overall = evaluate(&set);
    for (t, threat) in THREATS.iter().enumerate() {
        assert_bar(overall[t], 0.9, &format!("tuned10 {threat}"));
    }
}

/// Who the dead were (`victims` of the tag record) against the labels of a `lang <TAB> victims
/// <TAB> text` file, for the languages in `langs`; prints the confusions and returns the share
/// of texts classed right, and the number of texts whose dead were called combatants wrongly
/// (the costly error: an attack on civilians that would not count for RF11).
fn victims_accuracy(file: &str, langs: &[&str]) -> (f64, usize) {
    let loaded = config::load(Path::new("config")).expect("config loads");
    let engine = loaded.engine().expect("engine builds");
    let tagger = engine.tagger();
    let mut scratch = Scratch::default();
    let (mut right, mut total, mut wrongly_combatants) = (0usize, 0usize, 0usize);
    for (i, ex) in examples(file).iter().enumerate() {
        if !langs.contains(&ex.lang.as_str()) {
            continue;
        }
        let json = serde_json::json!({"id": format!("v{i}"), "event_time": "2026-03-01T00:00:00Z",
            "region": "R", "source": {"id": "s"}, "language": ex.lang, "text": ex.text});
        let bytes = serde_json::to_vec(&json).expect("serialises");
        let report = decode(&bytes, &Limits::default(), None).expect("valid report");
        let out = tagger.render(&report, &tagger.tag(&report, &mut scratch));
        let predicted = serde_json::to_value(out.victims).expect("serialises");
        let gold = ex.labels.iter().next().cloned().unwrap_or_default();
        total += 1;
        if predicted == gold.as_str() {
            right += 1;
        } else {
            println!("[{}] gold {gold}, tagged {predicted}: {}", ex.lang, ex.text);
            if predicted == "combatants" && gold == "civilians" {
                wrongly_combatants += 1;
            }
        }
    }
    let accuracy = right as f64 / total.max(1) as f64;
    println!(
        "victims {langs:?}: {right}/{total} right ({accuracy:.2}), civilians called combatants: {wrongly_combatants}"
    );
    (accuracy, wrongly_combatants)
}

/// Development set 11 on who the dead were (`tuned11_victims.tsv`, en, fr, pt, ar), written
/// before the victims frames and measured once (README: 20/24 in en/fr, 20/24 in pt/ar), tuned
/// on since. No civilian dead may be called combatants: that would drop an attack on civilians
/// from RF11.
#[test]
fn development_set_11_victims() {
    let (accuracy, civilians_as_combatants) =
        victims_accuracy("tests/data/tuned11_victims.tsv", &["en", "fr", "pt", "ar"]);
    assert!(accuracy >= 0.9, "accuracy {accuracy:.2}");
    assert_eq!(civilians_as_combatants, 0);
}

/// Development set 11 in Portuguese and Arabic (`tuned11_pt.tsv`, `tuned11_ar.tsv`), written
/// by someone who had not seen the lexicons, before they existed, with the error classes of
/// issue 14 as traps; measured once untuned (README), tuned on since. The bar is the one set 10
/// holds English and French to.
#[test]
fn development_set_11_pt_and_ar() {
    for file in ["tests/data/tuned11_pt.tsv", "tests/data/tuned11_ar.tsv"] {
        let set = examples(file);
        assert!(set.len() >= 50, "{file} has {} snippets", set.len());
        let overall = evaluate(&set);
        for (t, threat) in THREATS.iter().enumerate() {
            assert_bar(overall[t], 0.9, &format!("{file} {threat}"));
        }
    }
}
