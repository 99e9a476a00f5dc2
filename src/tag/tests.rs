//! End-to-end tests of the tagger over the shipped taxonomy (and test frames of made-up words):
//! phrases, cues, phrases of another sense, proximity pairs, event frames, invisible characters,
//! declared and structured tags.

use crate::report::{Limits, decode};
use crate::tag::taxonomy::Taxonomy;
use crate::tag::{Scratch, TaggedReport, Tagger, TaggerSettings};

fn tagger() -> Tagger {
    let tax: Taxonomy =
        toml::from_str(&std::fs::read_to_string("config/taxonomy.toml").unwrap()).unwrap();
    Tagger::new(&tax, TaggerSettings::default()).unwrap()
}

/// The tag record of a report from `region`, declaring `language` if given, whose only text is
/// `text`.
fn tag_report(t: &Tagger, region: &str, language: Option<&str>, text: &str) -> TaggedReport {
    let mut json = serde_json::json!({"id": "x", "event_time": "2026-01-01T00:00:00Z",
        "region": region, "source": {"id": "s"}, "text": text});
    if let Some(language) = language {
        json["language"] = serde_json::json!(language);
    }
    let bytes = serde_json::to_vec(&json).unwrap();
    let r = decode(&bytes, &Limits::default(), None).unwrap();
    let set = t.tag(&r, &mut Scratch::default());
    t.render(&r, &set)
}

/// The tag record of a report whose only text is `text`.
fn tagged(t: &Tagger, text: &str) -> TaggedReport {
    tag_report(t, "R", None, text)
}

fn threats_of(t: &Tagger, text: &str) -> Vec<String> {
    tagged(t, text).threats
}

/// The threats of a report from `region` whose only text is `text`.
fn threats_in_region(t: &Tagger, region: &str, text: &str) -> Vec<String> {
    tag_report(t, region, None, text).threats
}

/// The threats of a report declaring `language` whose only text is `text`.
fn threats_in_language(t: &Tagger, language: &str, text: &str) -> Vec<String> {
    tag_report(t, "R", Some(language), text).threats
}

#[test]
fn a_cue_acts_only_in_its_own_language() {
    let t = tagger();
    // English "no" is Portuguese "in the": it does not negate a Portuguese report.
    let text = "No sábado, homens armados raptaram três comerciantes em Macomia.";
    assert_eq!(threats_in_language(&t, "pt", text), ["abduction"]);
    // Portuguese negation does.
    let text = "Não houve raptos em Macomia no sábado.";
    assert!(threats_in_language(&t, "pt", text).is_empty());
    // English still negates English.
    assert!(threats_in_language(&t, "en", "No abductions were reported.").is_empty());
}

#[test]
fn arabic_matches_with_and_without_marks_clitics_and_article() {
    let t = tagger();
    for text in [
        "اختطف مسلحون ثلاثة مدنيين من قرية قرب الفاشر.",
        "وَاخْتَطَفَ مُسَلَّحُونَ ثَلَاثَةَ مَدَنِيِّينَ مِنْ قَرْيَةٍ.",
        "واخـتـطـفوهم من القرية ليلاً.",
        "أكد الأهالي اختطاف الأطفال من المدرسة.",
    ] {
        assert_eq!(threats_in_language(&t, "ar", text), ["abduction"], "{text}");
    }
    // Negated.
    let text = "نفت الشرطة اختطاف أي طفل من المدرسة.";
    assert!(threats_in_language(&t, "ar", text).is_empty(), "{text}");
}

#[test]
fn things_taken_are_not_people_taken() {
    let t = tagger();
    assert!(threats_of(&t, "They shot the rider and took away his motorcycle.").is_empty());
    assert!(threats_of(&t, "Gunmen seized a pickup truck at the checkpoint.").is_empty());
    // The thing must follow closely: here people were taken too.
    assert_eq!(
        threats_of(
            &t,
            "Gunmen took away four farmers and later burned their motorcycles."
        ),
        ["abduction"]
    );
    // A person named by what they own is a person.
    for text in [
        "Gunmen kidnapped a truck driver on the Kano road.",
        "Bandits abducted three cattle herders near Zurmi.",
    ] {
        assert_eq!(threats_of(&t, text), ["abduction"], "{text}");
    }
    // Only threats of people taken: a siege's supplies are things by nature.
    assert_eq!(
        threats_of(
            &t,
            "The town has been cut off for months and residents are rationing what little grain is left."
        ),
        ["siege"]
    );
}

#[test]
fn proceedings_cancel_abduction_but_not_sexual_violence() {
    let t = tagger();
    assert!(
        threats_of(
            &t,
            "The court sentenced two men for the 2024 kidnapping of a teacher."
        )
        .is_empty()
    );
    assert_eq!(
        threats_of(
            &t,
            "He was charged with the defilement of a twelve-year-old girl."
        ),
        ["sexual_violence"]
    );
    // An acquittal is a denial, whatever the threat.
    assert!(threats_of(&t, "The court acquitted him of defilement.").is_empty());
}

#[test]
fn a_cue_after_a_relative_pronoun_belongs_to_another_clause() {
    let t = tagger();
    assert_eq!(
        threats_of(
            &t,
            "Gunmen kidnapped two farmers who had refused to pay the tax."
        ),
        ["abduction"]
    );
    // An ordinary word is no figurative cue: the tax here is the group's levy.
    assert_eq!(
        threats_of(
            &t,
            "Gunmen kidnapped two farmers for refusing to pay the tax."
        ),
        ["abduction"]
    );
    // Alleged perpetrators do not make the event alleged.
    assert_eq!(
        threats_of(
            &t,
            "Gunmen suspected of belonging to ISWAP abducted ten women."
        ),
        ["abduction"]
    );
    // Without the relative pronoun the cue is in the match's own clause.
    assert!(threats_of(&t, "Gunmen kidnapped the tax in the film.").is_empty());
}

#[test]
fn an_abbreviation_does_not_end_the_sentence_of_a_frame() {
    let t = tagger();
    assert_eq!(
        threats_of(
            &t,
            "Village head taken from his compound by approx. 20 armed men; family got a ransom call."
        ),
        ["abduction"]
    );
}

#[test]
fn a_country_is_foreign_except_in_reports_from_it() {
    let t = tagger();
    let text = "Chadian gunmen crossed into the district to reinforce the group.";
    assert_eq!(threats_in_region(&t, "CF-HK", text), ["foreign_fighters"]);
    assert!(threats_in_region(&t, "TD-LC", text).is_empty());
    // An organisation's own region code has no country: every country is foreign there.
    assert_eq!(threats_in_region(&t, "SAHEL-1", text), ["foreign_fighters"]);
}

#[test]
fn attempts_and_descriptions_of_groups_are_not_abductions() {
    let t = tagger();
    for text in [
        "Gunmen tried to abduct the village head but vigilantes drove them off.",
        "Police dismantled a gang known for kidnapping and extortion.",
        "Six suspected kidnappers were arrested at a forest hideout.",
    ] {
        assert!(threats_of(&t, text).is_empty(), "{text}");
    }
}

/// The shipped taxonomy with one test frame (made-up words, so no lexicon phrase interferes):
/// anchor terms `zorbl*`, then the other groups.
fn tagger_with_frame(others: &[&[&str]]) -> Tagger {
    let mut tax: Taxonomy =
        toml::from_str(&std::fs::read_to_string("config/taxonomy.toml").unwrap()).unwrap();
    let mut terms = std::collections::BTreeMap::new();
    terms.insert("anchor".to_string(), vec!["zorbl*".to_string()]);
    for (i, group) in others.iter().enumerate() {
        terms.insert(
            format!("g{i}"),
            group.iter().map(|t| t.to_string()).collect(),
        );
    }
    tax.frames = vec![crate::tag::taxonomy::EventFrame {
        name: "test_frame".into(),
        target: "threat:abduction".into(),
        language: "en".into(),
        groups: std::iter::once("anchor".to_string())
            .chain((0..others.len()).map(|i| format!("g{i}")))
            .collect(),
    }];
    tax.frame_terms = [("en".to_string(), terms)].into();
    Tagger::new(&tax, TaggerSettings::default()).unwrap()
}

#[test]
fn a_frame_needs_every_group_in_one_passage() {
    let t = tagger_with_frame(&[&["quuxified"]]);
    let abduction = ["abduction"];
    assert_eq!(
        threats_of(&t, "They zorbled him; he was quuxified."),
        abduction
    );
    assert_eq!(
        threats_of(&t, "He was quuxified and then zorbled."),
        abduction
    );
    assert!(threats_of(&t, "They zorbled him. He was quuxified.").is_empty());
    assert!(threats_of(&t, "They zorbled him.").is_empty());
    assert!(threats_of(&t, "He was quuxified.").is_empty());
    // Whole words: a term inside another word is not a term.
    assert!(threats_of(&t, "They zorbled him; he was unquuxified.").is_empty());
}

#[test]
fn frame_terms_are_cancelled_by_cues_but_not_by_their_own_words() {
    let t = tagger_with_frame(&[&["no word of"]]);
    // "no" would negate "zorbled" five words on, but it is the frame's own "no word of".
    assert_eq!(
        threats_of(&t, "There has been no word of him since they zorbled him."),
        ["abduction"]
    );
    assert!(threats_of(&t, "Nobody zorbled anyone; there was no word of it.").is_empty());
    assert!(threats_of(&t, "In the film they zorbled him; no word of him since.").is_empty());
}

#[test]
fn a_frame_hit_spans_its_terms_and_names_the_frame() {
    let t = tagger_with_frame(&[&["quuxified"], &["villagers"]]);
    let text = "Éight Villagers were ZORBLED at dawn; all were quuxified. Later calm.";
    let out = tagged(&t, text);
    let tag = out.tags.iter().find(|g| g.code == "abduction").unwrap();
    let ev = &tag.evidence[0];
    assert_eq!(ev.phrase.as_deref(), Some("frame:test_frame"));
    assert_eq!(
        &text[ev.start.unwrap()..ev.end.unwrap()],
        "Villagers were ZORBLED at dawn; all were quuxified"
    );
}

#[test]
fn a_frame_adds_nothing_once_its_threat_is_tagged() {
    let t = tagger_with_frame(&[&["quuxified"]]);
    let out = tagged(
        &t,
        "Gunmen abducted two men; they were zorbled and quuxified.",
    );
    let tag = out.tags.iter().find(|g| g.code == "abduction").unwrap();
    assert!(
        tag.evidence
            .iter()
            .all(|e| e.phrase.as_deref() != Some("frame:test_frame"))
    );
}

#[test]
fn a_word_in_another_sense_is_not_a_mention() {
    let t = tagger();
    for other in [
        "Une réunion s'est tenue au siège de la MINUSMA à Bamako.",
        "Le siège social de l'entreprise a été transféré à Dakar.",
        "Le parti a perdu son siège au conseil municipal.",
    ] {
        assert!(threats_of(&t, other).is_empty(), "{other}");
    }
    assert_eq!(
        threats_of(&t, "Le siège de la ville dure depuis trois mois."),
        ["siege"]
    );
}

#[test]
fn issue_traps_do_not_tag() {
    let t = tagger();
    for trap in [
        "No abductions were reported in the district this week.",
        "Officials deny that foreign fighters are present in the area.",
        "The team laid siege to the goal in the second half.",
        "Critics praised a film about a kidnapping in the capital.",
    ] {
        assert!(
            threats_of(&t, trap).is_empty(),
            "{trap}: {:?}",
            threats_of(&t, trap)
        );
    }
}

#[test]
fn affirmative_reports_tag_with_original_spans() {
    let t = tagger();
    assert_eq!(
        threats_of(&t, "Gunmen abducted 14 schoolgirls near Chibok."),
        ["abduction"]
    );
    assert_eq!(
        threats_of(&t, "Des hommes armés ont enlevé douze femmes."),
        ["abduction"]
    );
    assert_eq!(
        threats_of(&t, "No fewer than 30 villagers were kidnapped overnight."),
        ["abduction"]
    );
    assert_eq!(
        threats_of(&t, "Nobody was killed, but 20 girls were abducted."),
        ["abduction"]
    );
    let text = "La ville est ASSIÉGÉE depuis mardi.";
    let out = tagged(&t, text);
    let ev = &out
        .tags
        .iter()
        .find(|g| g.code == "siege")
        .unwrap()
        .evidence[0];
    assert_eq!(&text[ev.start.unwrap()..ev.end.unwrap()], "ASSIÉGÉE");
    assert!(out.risk_factors.contains(&"RF13".to_string()));
}

#[test]
fn invisible_characters_do_not_change_tags() {
    let t = tagger();
    for text in [
        "Gunmen kid\u{AD}napped two traders",
        "Gunmen kid\u{200B}napped two traders",
        "Gunmen abduc\u{200D}ted two traders",
    ] {
        let out = tagged(&t, text);
        assert_eq!(out.threats, ["abduction"], "{text:?}");
        let ev = &out.tags[0].evidence[0];
        let visible: String = text[ev.start.unwrap()..ev.end.unwrap()]
            .chars()
            .filter(|&c| !crate::tag::normalize::is_default_ignorable(c))
            .collect();
        assert!(
            ["kidnapped", "abducted"].contains(&visible.as_str()),
            "{visible:?}"
        );
    }
}

/// Texts that tag (or, for the traps, do not), in both languages and through phrases,
/// prefix phrases, proximity pairs and event frames.
const INVISIBLE_BASES: [&str; 8] = [
    "Gunmen kidnapped two traders near Zurmi.",
    "Des hommes armés ont enlevé douze femmes.",
    "La ville est ASSIÉGÉE depuis mardi.",
    "No abductions were reported in the area.",
    "On 30 April 2026, rebels took a group of 30 displaced people from the camp and have not released them.",
    "Foreign fighters crossed the border from Libya; 20 girls were abducted.",
    "Le siège social de l'entreprise est à Bamako.",
    "Armed men seized a UN contractor at a roadblock; he remains in their custody.",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]
    #[test]
    fn inserting_default_ignorables_leaves_tags_unchanged(
        base in proptest::sample::select(&INVISIBLE_BASES[..]),
        inserts in proptest::collection::vec(
            (
                proptest::prelude::any::<proptest::sample::Index>(),
                proptest::sample::select(&crate::tag::normalize::DEFAULT_IGNORABLE_RANGES[..]),
                proptest::prelude::any::<proptest::sample::Index>(),
            ),
            1..6,
        ),
    ) {
        let t = tagger();
        let mut text = base.to_string();
        for (at, (lo, hi), pick) in inserts {
            let bounds: Vec<usize> =
                text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
            let at = *at.get(&bounds);
            let c = char::from_u32(lo + pick.index((hi - lo + 1) as usize) as u32).unwrap();
            text.insert(at, c);
        }
        let plain = tagged(&t, base);
        let out = tagged(&t, &text);
        let codes = |r: &TaggedReport| r.tags.iter().map(|g| g.code.clone()).collect::<Vec<_>>();
        proptest::prop_assert_eq!(&out.threats, &plain.threats);
        proptest::prop_assert_eq!(&out.risk_factors, &plain.risk_factors);
        proptest::prop_assert_eq!(codes(&out), codes(&plain));
        for (tag, plain_tag) in out.tags.iter().zip(&plain.tags) {
            for (ev, plain_ev) in tag.evidence.iter().zip(&plain_tag.evidence) {
                let (Some(s), Some(e)) = (ev.start, ev.end) else { continue };
                proptest::prop_assert!(s <= e && e <= text.len());
                proptest::prop_assert!(text.is_char_boundary(s) && text.is_char_boundary(e));
                // The span covers the same visible words as without the insertions.
                let visible: String = text[s..e]
                    .chars()
                    .filter(|&c| !crate::tag::normalize::is_default_ignorable(c))
                    .collect();
                let (ps, pe) = (plain_ev.start.unwrap_or(0), plain_ev.end.unwrap_or(0));
                proptest::prop_assert_eq!(visible.as_str(), &base[ps..pe]);
            }
        }
    }
}

#[test]
fn declared_and_structured_are_kept_apart() {
    let t = tagger();
    let json = serde_json::json!({"id": "x", "event_time": "2026-01-01T00:00:00Z", "region": "R",
        "source": {"id": "s"}, "text": "Clashes in the market.", "categories": ["siege", "cattle_raid"],
        "casualties": {"abducted": 3}, "actors": [{"kind": "militia", "foreign": true}]});
    let bytes = serde_json::to_vec(&json).unwrap();
    let r = decode(&bytes, &Limits::default(), None).unwrap();
    let out = t.render(&r, &t.tag(&r, &mut Scratch::default()));
    assert_eq!(out.declared, ["siege", "cattle_raid"]);
    // Inferred or declared, in taxonomy order; their risk factors in number order.
    assert_eq!(out.threats, ["foreign_fighters", "siege", "abduction"]);
    assert_eq!(
        out.risk_factors,
        ["RF5", "RF7", "RF8", "RF11", "RF13", "RF14"]
    );
    assert_eq!(out.disagreement.declared_only, ["siege"]);
    assert_eq!(
        out.disagreement.inferred_only,
        ["foreign_fighters", "abduction"]
    );
    assert!(
        out.tags
            .iter()
            .any(|g| g.rule == "structured:abducted_count")
    );
}
