//! The full tag record of a report ([`TaggedReport`], one JSON line of `vigil tag` and of the
//! tagged topic) and [`Tagger::render`], which expands a compact [`TagSet`] into it.

use serde::Serialize;

use crate::report::ValidReport;
use crate::tag::compile::Condition;
use crate::tag::language::{self, LanguageChoice};
use crate::tag::taxonomy::{Target, VictimClass, risk_factors_in, threats_in};
use crate::tag::{Field, TagSet, Tagger, Victims, civilians_killed};

/// One tag with its evidence, in the full record.
#[derive(Debug, Clone, Serialize)]
pub struct Tag {
    /// Threat code (`abduction`) or risk-factor code (`RF7`).
    pub code: String,
    pub kind: TagKind,
    /// The Framework indicator that fired (`7.9`), for risk-factor tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator: Option<String>,
    /// What fired: `lexicon` (a phrase, proximity phrase or event frame),
    /// `structured:<name>`, `threat:<code>` (an indicator of a tagged threat) or `declared`.
    pub rule: String,
    /// At most `tagger.max_evidence_per_tag` spans, in the order found.
    pub evidence: Vec<Evidence>,
    /// The phrase's weight (its lexicon entry's, else its threat's, else 1), the threat's
    /// weight for `declared`, 1 otherwise.
    pub weight: f64,
}

/// Whether a tag names a threat or a risk factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TagKind {
    Threat,
    RiskFactor,
    /// Evidence of who the dead were (`civilians`, `combatants`): no signal of its own; see
    /// [`TaggedReport::victims`].
    Victims,
}

/// Where a tag was evidenced.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    /// `text`, `title`, or the structured field that held (`casualties.abducted`).
    pub field: String,
    /// Byte span `[start, end)` in the field as sent; absent for structured fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<usize>,
    /// What matched, normalised: the lexicon phrase, the proximity phrase (`a ... b`) or the
    /// event frame (`frame:<name>`); never the report's own words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phrase: Option<String>,
}

/// The JSON line `vigil tag` writes per report (and the pipeline publishes on the tagged topic).
#[derive(Debug, Clone, Serialize)]
pub struct TaggedReport {
    pub id: String,
    /// Threat codes, inferred or declared, in taxonomy order.
    pub threats: Vec<String>,
    /// `RF1` … `RF14`, ascending.
    pub risk_factors: Vec<String>,
    /// The report's `categories` the taxonomy knows (taxonomy order), then those it does not.
    pub declared: Vec<String>,
    /// Declared-only and inferred-only threats: where reporter and tagger disagree.
    pub disagreement: Disagreement,
    pub tags: Vec<Tag>,
    /// The declared, detected and used language ([`crate::tag::language`]).
    pub language: LanguageChoice,
    /// Who the dead were, as the text says ([`crate::tag::Victims`]).
    pub victims: Victims,
    /// How many of the dead count as civilians for RF11 ([`crate::tag::civilians_killed`]).
    pub civilians_killed: i64,
    /// `vigil tag` only: the id of an earlier report of the file that this one repeats (same
    /// source and particulars, near-identical words; see `window/near_duplicate.rs`). The
    /// pipeline never publishes a near-duplicate's tags, so the field is absent there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
}

/// Threat codes on which reporter and tagger disagree, in taxonomy order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Disagreement {
    pub declared_only: Vec<String>,
    pub inferred_only: Vec<String>,
}

/// Tags being built: one per (code, indicator, rule), evidence capped.
struct Tags {
    list: Vec<Tag>,
    evidence_cap: usize,
}

impl Tags {
    /// Adds `evidence` to the tag (code, indicator, rule), created with `kind` and `weight` if
    /// new.
    fn push(
        &mut self,
        (code, kind, indicator): (String, TagKind, Option<String>),
        rule: String,
        weight: f64,
        evidence: Option<Evidence>,
    ) {
        let existing = self
            .list
            .iter()
            .position(|t| t.code == code && t.indicator == indicator && t.rule == rule);
        let tag = match existing {
            Some(i) => &mut self.list[i],
            None => {
                self.list.push(Tag {
                    code,
                    kind,
                    indicator,
                    rule,
                    evidence: Vec::new(),
                    weight,
                });
                self.list.last_mut().expect("just pushed")
            }
        };
        if let Some(ev) = evidence
            && tag.evidence.len() < self.evidence_cap
        {
            tag.evidence.push(ev);
        }
    }
}

impl Tagger {
    /// Expands a tag set of `report` (as [`Tagger::tag`] returned it) into the full output
    /// record. Tags come in this order: text hits, structured conditions, then per threat
    /// (taxonomy order) its declaration and the indicators it implies.
    pub fn render(&self, report: &ValidReport<'_>, set: &TagSet) -> TaggedReport {
        let mut tags = Tags {
            list: Vec::new(),
            evidence_cap: self.settings.max_evidence_per_tag,
        };
        self.render_hits(set, &mut tags);
        self.render_structured(set, &mut tags);
        let (mut declared, disagreement) = self.render_threats(set, &mut tags);
        declared.extend(set.unknown_declared.iter().cloned());
        TaggedReport {
            id: report.report.id.to_string(),
            threats: threats_in(set.threats())
                .map(|t| self.threat_codes[t].clone())
                .collect(),
            risk_factors: risk_factors_in(set.risk_factors)
                .map(|n| format!("RF{n}"))
                .collect(),
            declared,
            disagreement,
            tags: tags.list,
            language: language::choose(
                report.report.language.as_deref(),
                &report.report.text,
                self.settings.language_sample_bytes,
            ),
            victims: set.victims(),
            civilians_killed: civilians_killed(report, set),
            duplicate_of: None,
        }
    }

    /// A target's code, kind and indicator id.
    fn describe(&self, target: Target) -> (String, TagKind, Option<String>) {
        match target {
            Target::Threat(t) => (self.threat_codes[t].clone(), TagKind::Threat, None),
            Target::Indicator(i) => (
                self.indicators[i].risk_factor.clone(),
                TagKind::RiskFactor,
                Some(self.indicators[i].id.clone()),
            ),
            Target::Victims(VictimClass::Civilians) => ("civilians".into(), TagKind::Victims, None),
            Target::Victims(VictimClass::Combatants) => {
                ("combatants".into(), TagKind::Victims, None)
            }
        }
    }

    /// The text hits, as `lexicon` tags with their spans and phrases.
    fn render_hits(&self, set: &TagSet, tags: &mut Tags) {
        for hit in &set.hits {
            let field = match hit.field {
                Field::Title => "title",
                Field::Text => "text",
            };
            tags.push(
                self.describe(hit.target),
                "lexicon".into(),
                self.phrase_weight(hit.pattern, hit.target),
                Some(Evidence {
                    field: field.into(),
                    start: Some(hit.start),
                    end: Some(hit.end),
                    phrase: Some(self.phrase_text(hit.pattern).to_string()),
                }),
            );
        }
    }

    /// The structured conditions that held, as `structured:<name>` tags naming the field.
    fn render_structured(&self, set: &TagSet, tags: &mut Tags) {
        for &i in &set.structured {
            let s = &self.structured[i];
            let field = match &s.condition {
                Condition::Count { field, .. } => format!("casualties.{field}"),
                Condition::ActorKind(_) => "actors.kind".into(),
                Condition::ActorForeign => "actors.foreign".into(),
            };
            tags.push(
                self.describe(s.target),
                format!("structured:{}", s.name),
                1.0,
                Some(Evidence {
                    field,
                    start: None,
                    end: None,
                    phrase: None,
                }),
            );
        }
    }

    /// Per threat in taxonomy order: a `declared` tag if declared, and a `threat:<code>` tag per
    /// indicator if tagged at all. Returns the declared codes and the disagreement.
    fn render_threats(&self, set: &TagSet, tags: &mut Tags) -> (Vec<String>, Disagreement) {
        let mut declared = Vec::new();
        let mut disagreement = Disagreement::default();
        for (t, code) in self.threat_codes.iter().enumerate() {
            let bit = 1u64 << t;
            if set.declared_threats & bit != 0 {
                declared.push(code.clone());
                tags.push(
                    (code.clone(), TagKind::Threat, None),
                    "declared".into(),
                    self.threat_weights[t],
                    None,
                );
                if set.inferred_threats & bit == 0 {
                    disagreement.declared_only.push(code.clone());
                }
            } else if set.inferred_threats & bit != 0 {
                disagreement.inferred_only.push(code.clone());
            }
            if set.threats() & bit != 0 {
                for &ind in &self.threat_indicators[t] {
                    let (code_rf, _, indicator) = self.describe(Target::Indicator(ind));
                    tags.push(
                        (code_rf, TagKind::RiskFactor, indicator),
                        format!("threat:{code}"),
                        1.0,
                        None,
                    );
                }
            }
        }
        (declared, disagreement)
    }
}
