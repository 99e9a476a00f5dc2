//! The taxonomy's semantic validation: what serde cannot express (codes and numbering, known
//! targets and indicators, term shapes, cue tables per language, the limits of the bitsets),
//! reported as located findings that `vigil check-config` prints with their file and line.

use std::collections::BTreeSet;

use crate::report::Casualties;
use crate::tag::normalize::normalize_phrase;
use crate::tag::taxonomy::{IndicatorRef, MAX_THREATS, RISK_FACTORS, Taxonomy, risk_factor_number};

/// One validation finding: a field path (`threat[2].indicators[0]`) and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub(crate) path: String,
    pub(crate) message: String,
}

/// The structured fields other than casualty counts that a condition may test.
const STRUCTURED_FIELDS: [&str; 2] = ["actors.kind", "actors.foreign"];

/// Threats every taxonomy must have.
const REQUIRED_THREATS: [&str; 4] = ["foreign_fighters", "siege", "abduction", "sexual_violence"];

/// Findings in the order they are found.
#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn push(&mut self, path: String, message: impl Into<String>) {
        self.0.push(Finding {
            path,
            message: message.into(),
        });
    }
}

impl Taxonomy {
    /// Semantic checks that serde cannot express, table by table in the order of the file's
    /// sections. Empty means valid.
    pub(crate) fn validate(&self) -> Vec<Finding> {
        let mut out = Findings::default();
        let indicators = self.indicator_index();
        self.check_risk_factors(&mut out);
        self.check_threats(&indicators, &mut out);
        self.check_lexicons(&indicators, &mut out);
        self.check_other_senses(&mut out);
        self.check_frames(&indicators, &mut out);
        self.check_structured(&indicators, &mut out);
        out.0
    }

    /// `RF1` … `RF14`, each once, with indicators numbered `<n>.<m>` inside `RFn`.
    fn check_risk_factors(&self, out: &mut Findings) {
        let mut seen_rf = BTreeSet::new();
        for (i, rf) in self.risk_factors.iter().enumerate() {
            let Some(n) = risk_factor_number(&rf.code) else {
                out.push(
                    format!("risk_factor[{i}].code"),
                    format!("expected RF1 … RF{RISK_FACTORS}"),
                );
                continue;
            };
            if !seen_rf.insert(n) {
                out.push(
                    format!("risk_factor[{i}].code"),
                    format!("duplicate {}", rf.code),
                );
            }
            for (j, ind) in rf.indicators.iter().enumerate() {
                let ok = ind
                    .id
                    .split_once('.')
                    .is_some_and(|(a, b)| a == n.to_string() && b.parse::<u32>().is_ok());
                if !ok {
                    out.push(
                        format!("risk_factor[{i}].indicators[{j}].id"),
                        format!("expected `{n}.<number>` inside {}", rf.code),
                    );
                }
            }
        }
        let missing: Vec<String> = (1..=RISK_FACTORS)
            .filter(|n| !seen_rf.contains(n))
            .map(|n| format!("RF{n}"))
            .collect();
        if !missing.is_empty() {
            out.push(
                "risk_factor".into(),
                format!("missing {}", missing.join(", ")),
            );
        }
    }

    /// At most [`MAX_THREATS`] threats, with distinct lower_snake_case codes, known indicators
    /// and weights in (0, 10]; the required four among them.
    fn check_threats(&self, indicators: &[IndicatorRef], out: &mut Findings) {
        if self.threats.len() > MAX_THREATS {
            out.push(
                format!("threat[{MAX_THREATS}]"),
                format!(
                    "{} threats, at most {MAX_THREATS} allowed (a report's threats are one 64-bit set)",
                    self.threats.len()
                ),
            );
        }
        let mut seen_threat = BTreeSet::new();
        for (i, t) in self.threats.iter().enumerate() {
            let snake = t
                .code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if t.code.is_empty() || !snake {
                out.push(format!("threat[{i}].code"), "expected lower_snake_case");
            }
            if !seen_threat.insert(t.code.as_str()) {
                out.push(format!("threat[{i}].code"), format!("duplicate {}", t.code));
            }
            for (j, ind) in t.indicators.iter().enumerate() {
                if !indicators.iter().any(|x| &x.id == ind) {
                    out.push(
                        format!("threat[{i}].indicators[{j}]"),
                        format!("unknown indicator {ind}"),
                    );
                }
            }
            if !(t.weight > 0.0 && t.weight <= 10.0) {
                out.push(format!("threat[{i}].weight"), "expected 0 < weight <= 10");
            }
        }
        for required in REQUIRED_THREATS {
            if !seen_threat.contains(required) {
                out.push(
                    "threat".into(),
                    format!("missing required threat `{required}`"),
                );
            }
        }
    }

    /// Known targets, a cue table for the language, phrases the scan can match (a proximity
    /// phrase `a ... b` part by part), weights in (0, 10].
    fn check_lexicons(&self, indicators: &[IndicatorRef], out: &mut Findings) {
        for (i, lex) in self.lexicons.iter().enumerate() {
            if self.resolve_target(&lex.target, indicators).is_none() {
                out.push(
                    format!("lexicon[{i}].target"),
                    format!(
                        "unknown target {} (want threat:<code> or indicator:<n.m>)",
                        lex.target
                    ),
                );
            }
            if !self.cues.contains_key(&lex.language) {
                out.push(
                    format!("lexicon[{i}].language"),
                    format!("no [cues.{}] table for this language", lex.language),
                );
            }
            for (j, p) in lex.phrases.iter().enumerate() {
                let parts: Vec<&str> = p.split(" ... ").collect();
                let ok = parts.len() <= 2
                    && parts
                        .iter()
                        .all(|part| is_plain_term(part) && !part.contains("..."));
                if !ok {
                    out.push(
                        format!("lexicon[{i}].phrases[{j}]"),
                        "expected at least 3 characters, `*` only at the end, and at most one ` ... `",
                    );
                }
            }
            if lex.weight.is_some_and(|w| !(w > 0.0 && w <= 10.0)) {
                out.push(format!("lexicon[{i}].weight"), "expected 0 < weight <= 10");
            }
        }
    }

    /// No phrase of another sense is also a lexicon phrase.
    fn check_other_senses(&self, out: &mut Findings) {
        let phrases: BTreeSet<String> = self
            .lexicons
            .iter()
            .flat_map(|l| &l.phrases)
            .map(|p| normalize_phrase(p.trim_end_matches('*')))
            .collect();
        for (lang, cues) in &self.cues {
            for (j, p) in cues.other_senses.iter().enumerate() {
                if phrases.contains(&normalize_phrase(p)) {
                    out.push(
                        format!("cues.{lang}.other_senses[{j}]"),
                        "is also a lexicon phrase: it cannot both tag and not tag",
                    );
                }
            }
        }
    }

    /// Frame terms the scan can match; frames with known targets, a cue table for the
    /// language, and two to four groups that have terms; countries with an ISO 3166-1 alpha-2
    /// code and names the scan can match.
    fn check_frames(&self, indicators: &[IndicatorRef], out: &mut Findings) {
        for (i, c) in self.countries.iter().enumerate() {
            if c.code.len() != 2 || !c.code.bytes().all(|b| b.is_ascii_uppercase()) {
                out.push(
                    format!("country[{i}].code"),
                    "expected an ISO 3166-1 alpha-2 code in upper case",
                );
            }
            for (j, name) in c.names.iter().enumerate() {
                if !is_plain_term(name) {
                    out.push(
                        format!("country[{i}].names[{j}]"),
                        "expected at least 3 characters and `*` only at the end",
                    );
                }
            }
        }
        for (lang, groups) in &self.frame_terms {
            for (name, terms) in groups {
                for (j, term) in terms.iter().enumerate() {
                    if !is_plain_term(term) {
                        out.push(
                            format!("frame_terms.{lang}.{name}[{j}]"),
                            "expected at least 3 characters and `*` only at the end",
                        );
                    }
                }
            }
        }
        for (i, f) in self.frames.iter().enumerate() {
            if self.resolve_target(&f.target, indicators).is_none() {
                out.push(
                    format!("frame[{i}].target"),
                    format!("unknown target {}", f.target),
                );
            }
            if !self.cues.contains_key(&f.language) {
                out.push(
                    format!("frame[{i}].language"),
                    format!("no [cues.{}] table for this language", f.language),
                );
            }
            if !(2..=4).contains(&f.groups.len()) {
                out.push(format!("frame[{i}].groups"), "expected two to four groups");
            }
            for (j, g) in f.groups.iter().enumerate() {
                if g == super::FOREIGN_COUNTRY {
                    if self.countries.is_empty() {
                        out.push(format!("frame[{i}].groups[{j}]"), "no [[country]] entries");
                    }
                    continue;
                }
                let terms = self.frame_terms.get(&f.language).and_then(|t| t.get(g));
                if terms.is_none_or(Vec::is_empty) {
                    out.push(
                        format!("frame[{i}].groups[{j}]"),
                        format!("no terms for `{g}` in [frame_terms.{}]", f.language),
                    );
                }
            }
        }
    }

    /// Known targets, and a field the condition can test: a casualty count with `min >= 1`,
    /// `actors.kind` with `equals`, or `actors.foreign`.
    fn check_structured(&self, indicators: &[IndicatorRef], out: &mut Findings) {
        for (i, s) in self.structured.iter().enumerate() {
            if self.resolve_target(&s.target, indicators).is_none() {
                out.push(
                    format!("structured[{i}].target"),
                    format!("unknown target {}", s.target),
                );
            }
            let count_field = s
                .field
                .strip_prefix("casualties.")
                .is_some_and(|f| Casualties::FIELD_NAMES.contains(&f) || f == "killed_civilians");
            if count_field {
                if s.min.is_none_or(|m| m < 1) {
                    out.push(
                        format!("structured[{i}].min"),
                        "count conditions need min >= 1",
                    );
                }
            } else if s.field == "actors.kind" {
                if s.equals.is_none() {
                    out.push(
                        format!("structured[{i}].equals"),
                        "actors.kind needs `equals`",
                    );
                }
            } else if s.field != "actors.foreign" {
                out.push(
                    format!("structured[{i}].field"),
                    format!(
                        "unknown field {} (want casualties.<{}|killed_civilians>, {})",
                        s.field,
                        Casualties::FIELD_NAMES.join("|"),
                        STRUCTURED_FIELDS.join(", ")
                    ),
                );
            }
        }
    }
}

/// A phrase or term the scan can match: at least three characters, `*` only at the end.
fn is_plain_term(term: &str) -> bool {
    let core = term.trim_end_matches('*');
    core.trim().chars().count() >= 3 && !core.contains('*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Taxonomy {
        toml::from_str(&std::fs::read_to_string("config/taxonomy.toml").unwrap()).unwrap()
    }

    #[test]
    fn the_shipped_taxonomy_is_valid() {
        assert_eq!(shipped().validate(), []);
    }

    #[test]
    fn a_phrase_of_another_sense_cannot_also_be_a_lexicon_phrase() {
        let mut tax = shipped();
        let fr = tax.cues.get_mut("fr").unwrap();
        fr.other_senses.push("Siège".into());
        let at = fr.other_senses.len() - 1;
        let findings = tax.validate();
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].path, format!("cues.fr.other_senses[{at}]"));
    }

    /// `n` threats: the shipped ones, then copies of the first under new codes.
    fn with_threats(n: usize) -> Taxonomy {
        let mut tax = shipped();
        let first = tax.threats[0].clone();
        for k in tax.threats.len()..n {
            let mut extra = first.clone();
            extra.code = format!("extra_{k}");
            tax.threats.push(extra);
        }
        tax
    }

    #[test]
    fn at_most_64_threats_fit_a_threat_set() {
        assert_eq!(with_threats(MAX_THREATS).validate(), []);
        let findings = with_threats(MAX_THREATS + 1).validate();
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].path, "threat[64]");
        assert_eq!(
            findings[0].message,
            "65 threats, at most 64 allowed (a report's threats are one 64-bit set)"
        );
    }

    #[test]
    fn loading_a_taxonomy_of_65_threats_names_the_file_and_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let shipped = std::fs::canonicalize("config").unwrap();
        let tax_path = dir.path().join("big-taxonomy.toml");
        std::fs::write(&tax_path, toml::to_string(&with_threats(65)).unwrap()).unwrap();
        std::fs::write(
            dir.path().join("vigil.toml"),
            format!(
                "[files]\ntaxonomy = {:?}\nrules = {:?}\nsubscribers = {:?}\n",
                tax_path,
                shipped.join("rules.toml"),
                shipped.join("subscribers.toml")
            ),
        )
        .unwrap();
        let Err(e) = crate::config::load(dir.path()) else {
            panic!("a taxonomy of 65 threats loaded");
        };
        let message = e.to_string();
        assert!(
            message.starts_with(&format!("{}:", tax_path.display())),
            "{message}"
        );
        assert!(
            message.contains("threat[64]: 65 threats, at most 64 allowed"),
            "{message}"
        );
        // The tagger refuses it too, rather than overflowing a threat bit.
        let Err(e) = crate::tag::Tagger::new(&with_threats(65), Default::default()) else {
            panic!("a tagger of 65 threats compiled");
        };
        assert!(e.to_string().contains("at most 64"), "{e}");
    }

    #[test]
    fn frames_name_groups_that_exist() {
        let mut tax = shipped();
        tax.frames[0].groups = vec!["captivity".into()];
        tax.frames[1].groups.push("nonexistent".into());
        let paths: Vec<String> = tax.validate().into_iter().map(|f| f.path).collect();
        assert_eq!(paths, ["frame[0].groups", "frame[1].groups[2]"]);
    }
}
