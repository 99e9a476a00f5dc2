//! Deterministic synthetic incident reports (`vigil gen`, the demo scenario, benchmarks).
//!
//! The same options always give the same bytes (ChaCha8 seeded from `seed`). Reports are
//! realistic in shape: English and French narratives of about `target_bytes`, Admiralty-coded
//! sources, casualty counts, actors, declared categories, plus the traps the tagger must not
//! fall for (negated and figurative mentions). Optional late, duplicate and malformed records
//! exercise the pipeline's edges; an escalation scenario drives one region into crisis.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::alert::rfc3339;
use crate::report::{CasualtyKind, SourceKind};

/// Regions the generator draws from (ISO 3166-2), with their working language.
const REGIONS: [(&str, &str); 16] = [
    ("NG-BO", "en"),
    ("NG-YO", "en"),
    ("NG-AD", "en"),
    ("ML-MO", "fr"),
    ("ML-TB", "fr"),
    ("BF-SAH", "fr"),
    ("NE-TI", "fr"),
    ("TD-LC", "fr"),
    ("CM-EN", "fr"),
    ("CF-HK", "fr"),
    ("CD-NK", "fr"),
    ("CD-IT", "fr"),
    ("SS-UY", "en"),
    ("SD-DW", "en"),
    ("ET-AM", "en"),
    ("MZ-P", "en"),
];

/// What to generate (`vigil gen` flags); [`GenOptions::demo`] and [`GenOptions::benchmark`]
/// are the two named streams.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// Seeds ChaCha8: the same options give the same bytes.
    pub seed: u64,
    /// Number of records, malformed and duplicate ones included.
    pub count: usize,
    /// How many of the generator's 16 regions (ISO 3166-2 codes) to use, 1–16.
    pub regions: usize,
    /// First event time (Unix seconds).
    pub start: i64,
    /// Mean reports per hour across all regions.
    pub rate_per_hour: f64,
    /// Share of reports that carry a threat (the rest are background or traps).
    pub threat_rate: f64,
    /// Share of reports that arrive late (event time 1–48 h before their stream position).
    pub late_fraction: f64,
    /// Share of records that repeat an earlier report (same id and content).
    pub duplicate_fraction: f64,
    /// Share of records that are malformed (for DLQ tests).
    pub invalid_fraction: f64,
    /// Approximate size of each report in bytes.
    pub target_bytes: usize,
    /// Drive the first region into an escalating crisis in the middle of the stream.
    pub escalation: bool,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            seed: 7,
            count: 1000,
            regions: 8,
            start: 1_772_323_200, // 2026-03-01T00:00:00Z
            rate_per_hour: 12.0,
            threat_rate: 0.15,
            late_fraction: 0.0,
            duplicate_fraction: 0.0,
            invalid_fraction: 0.0,
            target_bytes: 1000,
            escalation: false,
        }
    }
}

impl GenOptions {
    /// The benchmark stream: 16 regions, 200 reports per hour, 20 % with threats, 5 % late, 1 %
    /// duplicates (`vigil bench`, `cargo bench --bench core`).
    pub fn benchmark(seed: u64, count: usize) -> GenOptions {
        GenOptions {
            seed,
            count,
            regions: 16,
            rate_per_hour: 200.0,
            threat_rate: 0.2,
            late_fraction: 0.05,
            duplicate_fraction: 0.01,
            ..GenOptions::default()
        }
    }

    /// The bundled demo scenario: two weeks, eight regions, an escalation in NG-BO, with late
    /// and duplicate reports and a few malformed records.
    pub fn demo() -> GenOptions {
        GenOptions {
            seed: 2014,
            count: 3000,
            regions: 8,
            rate_per_hour: 9.0,
            threat_rate: 0.08,
            late_fraction: 0.05,
            duplicate_fraction: 0.01,
            invalid_fraction: 0.003,
            escalation: true,
            ..GenOptions::default()
        }
    }
}

/// The threat categories reports describe, in the order an escalation reaches them
/// (abductions, then sieges, then sexual violence and foreign fighters).
const THREATS: [&str; 7] = [
    "abduction",
    "siege",
    "sexual_violence",
    "foreign_fighters",
    "hate_speech",
    "attack_on_humanitarians",
    "mass_displacement",
];

/// One sentence reporting `threat` in `lang`, with `{n}` read as the number of victims.
///
/// Longer than a function should be: it is the table of phrasings, one arm per threat and
/// language, which reads best whole.
fn threat_sentence(rng: &mut ChaCha8Rng, threat: &str, lang: &str, n: u32) -> String {
    let pick = |rng: &mut ChaCha8Rng, v: &[&str]| v[rng.random_range(0..v.len())].to_string();
    let s = match (threat, lang) {
        ("abduction", "en") => pick(
            rng,
            &[
                "Armed men abducted {n} villagers from their farms at dawn, residents said.",
                "At least {n} schoolchildren were kidnapped when gunmen stormed the school compound.",
                "Witnesses said {n} travellers were taken hostage on the main road and held for ransom.",
                "Families report that {n} young men were forcibly recruited by the armed group overnight.",
            ],
        ),
        ("abduction", _) => pick(
            rng,
            &[
                "Des hommes armés ont enlevé {n} villageois dans leurs champs à l'aube, selon des habitants.",
                "Au moins {n} élèves ont été enlevés lorsque des assaillants ont pris d'assaut l'école.",
                "Selon des témoins, {n} voyageurs ont été pris en otage sur la route principale.",
            ],
        ),
        ("siege", "en") => pick(
            rng,
            &[
                "The town has been under siege for days and residents are cut off from food and medicine.",
                "Armed groups are blockading the roads and aid convoys were blocked at the checkpoint.",
                "Fighters encircled the camp and denied humanitarian access to {n} families.",
            ],
        ),
        ("siege", _) => pick(
            rng,
            &[
                "La ville est assiégée depuis plusieurs jours et les habitants sont privés de nourriture.",
                "Un blocus imposé par le groupe armé empêche l'accès humanitaire à {n} familles.",
            ],
        ),
        ("sexual_violence", "en") => pick(
            rng,
            &[
                "Health workers treated {n} women who were raped during the attack on the village.",
                "Survivors described sexual violence against women and girls held at the camp.",
                "Local groups documented forced marriage of {n} girls to fighters.",
            ],
        ),
        ("sexual_violence", _) => pick(
            rng,
            &[
                "Des agents de santé ont pris en charge {n} femmes violées lors de l'attaque.",
                "Des survivantes ont décrit des violences sexuelles commises contre des femmes et des filles.",
            ],
        ),
        ("foreign_fighters", "en") => pick(
            rng,
            &[
                "Residents reported foreign fighters arriving in pickup trucks from across the border.",
                "Several mercenaries were seen alongside the armed group near the market.",
            ],
        ),
        ("foreign_fighters", _) => pick(
            rng,
            &[
                "Des habitants signalent l'arrivée de combattants étrangers venus du pays voisin.",
                "Des mercenaires ont été vus aux côtés du groupe armé près du marché.",
            ],
        ),
        ("hate_speech", "en") => pick(
            rng,
            &[
                "Radio broadcasts spread hate speech calling the minority community vermin.",
                "Leaflets with incitement to violence against the herders were found in the town.",
            ],
        ),
        ("hate_speech", _) => pick(
            rng,
            &[
                "Des messages de discours de haine circulent contre la communauté minoritaire.",
                "Des tracts contenant une incitation à la violence ont été retrouvés dans la ville.",
            ],
        ),
        ("attack_on_humanitarians", "en") => pick(
            rng,
            &[
                "A humanitarian convoy was attacked on the road and two aid workers were injured.",
                "Gunmen looted the warehouse of an aid agency compound in the town.",
            ],
        ),
        ("attack_on_humanitarians", _) => pick(
            rng,
            &[
                "Un convoi humanitaire a été attaqué sur la route et deux agents humanitaires blessés.",
            ],
        ),
        ("mass_displacement", "en") => pick(
            rng,
            &[
                "Thousands fled their homes after the attacks, according to camp officials.",
                "Residents were forced to flee towards the regional capital.",
            ],
        ),
        _ => pick(
            rng,
            &[
                "Des milliers de personnes ont fui leurs villages après les attaques.",
                "Les habitants ont été contraints de fuir vers le chef-lieu.",
            ],
        ),
    };
    s.replace("{n}", &n.to_string())
}

/// Sentences that tag nothing, padding a report to its target size (English, then French).
const FILLER_EN: [&str; 12] = [
    "The monitoring team visited the area on foot and spoke with community leaders.",
    "Market activity was reduced and several shops stayed closed during the day.",
    "Local authorities held a meeting with elders to discuss the security situation.",
    "The rainy season has made the secondary roads difficult to use.",
    "Schools in the district remained open, although attendance was low.",
    "The report was compiled from interviews with residents and a health worker.",
    "Mobile phone coverage in the area is intermittent, which delayed the report.",
    "Prices of staple foods rose in the weekly market compared with last month.",
    "A patrol of security forces passed through the town in the afternoon.",
    "Community representatives asked for more regular visits by the monitors.",
    "The clinic reported normal attendance for the season.",
    "Farmers said they were worried about access to their fields before the harvest.",
];

const FILLER_FR: [&str; 10] = [
    "L'équipe de suivi s'est rendue sur place et a rencontré les chefs communautaires.",
    "L'activité du marché était réduite et plusieurs boutiques sont restées fermées.",
    "Les autorités locales ont tenu une réunion avec les notables sur la situation sécuritaire.",
    "La saison des pluies rend les pistes secondaires difficilement praticables.",
    "Les écoles du département sont restées ouvertes, mais la fréquentation était faible.",
    "Ce rapport a été établi à partir d'entretiens avec des habitants et un agent de santé.",
    "La couverture téléphonique est intermittente dans la zone, ce qui a retardé le rapport.",
    "Les prix des denrées de base ont augmenté sur le marché hebdomadaire.",
    "Une patrouille des forces de sécurité a traversé la ville dans l'après-midi.",
    "Les agriculteurs s'inquiètent de l'accès à leurs champs avant la récolte.",
];

/// Negated and figurative mentions of threats, which the tagger must not tag.
const TRAPS_EN: [&str; 5] = [
    "No abductions were reported in the district this week.",
    "Officials deny that foreign fighters are present in the area.",
    "The home team laid siege to the goal in the second half of the match.",
    "Residents watched a film about a kidnapping at the community hall.",
    "There were no reports of sexual violence during the visit.",
];

const TRAPS_FR: [&str; 3] = [
    "Aucun enlèvement n'a été signalé dans le département cette semaine.",
    "Les autorités démentent la présence de combattants étrangers dans la zone.",
    "Le film sur un enlèvement a été projeté à la maison des jeunes.",
];

/// Generates the records, one JSON line each (malformed ones are deliberately not JSON).
pub fn generate(opts: &GenOptions) -> impl Iterator<Item = String> + '_ {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let regions = &REGIONS[..opts.regions.clamp(1, REGIONS.len())];
    let mean_gap = 3600.0 / opts.rate_per_hour.max(0.001);
    let mut t = opts.start as f64;
    let mut emitted: Vec<String> = Vec::new();
    let span = opts.count as f64 * mean_gap;
    (0..opts.count).map(move |i| {
        let roll: f64 = rng.random();
        if roll < opts.invalid_fraction {
            return malformed(&mut rng, i);
        }
        if roll < opts.invalid_fraction + opts.duplicate_fraction && !emitted.is_empty() {
            let k = rng.random_range(emitted.len().saturating_sub(50)..emitted.len());
            return emitted[k].clone();
        }
        t += -mean_gap * (1.0 - rng.random::<f64>()).ln();
        let position = t as i64;
        let late = rng.random::<f64>() < opts.late_fraction;
        let event_time = if late { position - rng.random_range(3600..48 * 3600) } else { position };

        // The escalation runs through the middle third of the stream in the first region.
        let progress = (t - opts.start as f64) / span;
        let escalating = opts.escalation && (0.45..0.65).contains(&progress);
        let (region, lang) = if escalating && rng.random::<f64>() < 0.5 {
            regions[0]
        } else {
            regions[rng.random_range(0..regions.len())]
        };
        let threat_rate = if escalating && region == regions[0].0 { 0.8 } else { opts.threat_rate };
        let mut threats: Vec<&str> = Vec::new();
        if rng.random::<f64>() < threat_rate {
            let pick = if escalating && region == regions[0].0 {
                // Abductions first, then siege and sexual violence as the crisis deepens.
                let phase = ((progress - 0.45) / 0.2 * 3.0) as usize;
                [&THREATS[..1], &THREATS[..2], &THREATS[..4]][phase.min(2)]
            } else {
                &THREATS[..]
            };
            threats.push(pick[rng.random_range(0..pick.len())]);
            if rng.random::<f64>() < 0.2 {
                threats.push(THREATS[rng.random_range(0..THREATS.len())]);
            }
        }
        let n: u32 = rng.random_range(2..15);
        let mass = escalating && region == regions[0].0 && threats.first() == Some(&"abduction") && rng.random::<f64>() < 0.05;
        let n = if mass { rng.random_range(40..120) } else { n };
        let text = narrative(&mut rng, &threats, lang, n, opts.target_bytes);
        let reliability = ["A", "B", "B", "C", "C", "D", "F"][rng.random_range(0..7)];
        let credibility = rng.random_range(1..=6);
        let source_kind = SourceKind::ALL[rng.random_range(0..SourceKind::ALL.len())].name();
        let casualties = casualties(&mut rng, &threats, n);
        let declared: Vec<&str> = threats.iter().copied().filter(|_| rng.random::<f64>() < 0.3).collect();
        let mut report = json!({
            "id": format!("gen-{}-{i:08}", opts.seed),
            "event_time": rfc3339(event_time),
            "reported_at": rfc3339(position + rng.random_range(600..7200)),
            "region": region,
            "location": {"name": format!("Locality {}", rng.random_range(1..40)), "admin1": region},
            "source": {"id": format!("src-{}-{}", region, rng.random_range(0..12)), "kind": source_kind,
                       "reliability": if mass { "A" } else { reliability }, "credibility": if mass { 1 } else { credibility }},
            "language": lang,
            "title": if lang == "fr" { "Rapport de situation" } else { "Situation report" },
            "text": text,
            "categories": declared,
            "casualties": Value::Object(casualties),
        });
        if threats.contains(&"foreign_fighters") && rng.random::<f64>() < 0.3 {
            report["actors"] = json!([{"kind": "foreign_fighters", "foreign": true}]);
        }
        let line = report.to_string();
        if opts.duplicate_fraction > 0.0 {
            emitted.push(line.clone());
            if emitted.len() > 200 {
                emitted.drain(..100);
            }
        }
        line
    })
}

/// One of the four malformed records (for DLQ tests): cut-off JSON, an epoch-seconds time, a
/// negative count, no source.
fn malformed(rng: &mut ChaCha8Rng, i: usize) -> String {
    match rng.random_range(0..4) {
        0 => "{\"id\": \"broken".to_string(),
        1 => format!(
            "{{\"id\": \"bad-{i}\", \"event_time\": 12, \"region\": \"NG-BO\", \"source\": {{\"id\": \"s\"}}, \"text\": \"x\"}}"
        ),
        2 => format!(
            "{{\"id\": \"neg-{i}\", \"event_time\": \"2026-03-01T00:00:00Z\", \"region\": \"NG-BO\", \"source\": {{\"id\": \"s\"}}, \"text\": \"x\", \"casualties\": {{\"killed\": -1}}}}"
        ),
        _ => format!(
            "{{\"id\": \"nosrc-{i}\", \"event_time\": \"2026-03-01T00:00:00Z\", \"region\": \"NG-BO\", \"text\": \"x\"}}"
        ),
    }
}

/// A report's text in `lang`: a sentence per threat (`n` victims), now and then a trap (a
/// negated or figurative mention), then filler up to about `target_bytes` of report.
fn narrative(
    rng: &mut ChaCha8Rng,
    threats: &[&str],
    lang: &str,
    n: u32,
    target_bytes: usize,
) -> String {
    let mut sentences: Vec<String> = threats
        .iter()
        .map(|th| threat_sentence(rng, th, lang, n))
        .collect();
    if rng.random::<f64>() < 0.1 {
        let trap = if lang == "fr" {
            TRAPS_FR[rng.random_range(0..TRAPS_FR.len())]
        } else {
            TRAPS_EN[rng.random_range(0..TRAPS_EN.len())]
        };
        sentences.push(trap.to_string());
    }
    let mut text = sentences.join(" ");
    while text.len() + 80 < target_bytes.saturating_sub(420) {
        let filler = if lang == "fr" {
            FILLER_FR[rng.random_range(0..FILLER_FR.len())]
        } else {
            FILLER_EN[rng.random_range(0..FILLER_EN.len())]
        };
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(filler);
    }
    text
}

/// The `casualties` object: `n` abducted with an abduction, a third of them as sexual violence
/// half the time with sexual violence, and a few killed in one report in ten.
fn casualties(rng: &mut ChaCha8Rng, threats: &[&str], n: u32) -> serde_json::Map<String, Value> {
    let mut casualties = serde_json::Map::new();
    if threats.contains(&"abduction") {
        casualties.insert(CasualtyKind::Abducted.name().into(), n.into());
    }
    if threats.contains(&"sexual_violence") && rng.random::<f64>() < 0.5 {
        casualties.insert(
            CasualtyKind::SexualViolence.name().into(),
            (n / 3).max(1).into(),
        );
    }
    if rng.random::<f64>() < 0.1 {
        casualties.insert(
            CasualtyKind::Killed.name().into(),
            rng.random_range(1..6u32).into(),
        );
    }
    casualties
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_about_the_requested_size() {
        let opts = GenOptions {
            count: 200,
            ..GenOptions::default()
        };
        let a: Vec<String> = generate(&opts).collect();
        let b: Vec<String> = generate(&opts).collect();
        assert_eq!(a, b);
        let mean = a.iter().map(String::len).sum::<usize>() / a.len();
        assert!((800..1300).contains(&mean), "mean size {mean}");
        let other: Vec<String> = generate(&GenOptions { seed: 8, ..opts }).collect();
        assert_ne!(a, other);
    }
}
