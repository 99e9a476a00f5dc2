//! Alert text in the subscriber's language: the summary sentence, the headline and the names of
//! signals, severities and statuses, in English, French, Portuguese and Arabic. Built from the
//! alert record's own fields (ids, counts, codes), never from report text. English is the
//! record's own `summary`; the others say the same facts in the same order.
//!
//! Subscribers name languages in `languages` (ISO 639-1); [`Language::first_of`] picks the
//! first Vigil has, English when none is. CAP messages carry one `info` block per language
//! (CAP 1.2 §3.2.2 allows several, told apart by `language`), e-mail uses the first.

use crate::alert::record::{hours, trim_float};
use crate::alert::{Alert, Status};
use crate::rules::Severity;
use crate::tag::language::primary_subtag;

/// A language alert text is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    En,
    Fr,
    Pt,
    Ar,
}

impl Language {
    /// Every language Vigil writes alerts in.
    pub const ALL: [Language; 4] = [Language::En, Language::Fr, Language::Pt, Language::Ar];

    /// The ISO 639-1 code (CAP's `language` value, RFC 3066).
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Fr => "fr",
            Language::Pt => "pt",
            Language::Ar => "ar",
        }
    }

    /// The language of an ISO 639-1 code or a tag starting with one (`pt-BR`), if Vigil has it.
    pub fn from_code(code: &str) -> Option<Language> {
        let primary = primary_subtag(code);
        Self::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(primary))
    }

    /// The first of `codes` Vigil writes in, else English.
    pub fn first_of(codes: &[String]) -> Language {
        codes
            .iter()
            .find_map(|c| Language::from_code(c))
            .unwrap_or(Language::En)
    }

    /// Every one of `codes` Vigil writes in, in order, without repeats; English when none is.
    pub fn all_of(codes: &[String]) -> Vec<Language> {
        let mut out: Vec<Language> = Vec::new();
        for l in codes.iter().filter_map(|c| Language::from_code(c)) {
            if !out.contains(&l) {
                out.push(l);
            }
        }
        if out.is_empty() {
            out.push(Language::En);
        }
        out
    }
}

/// A severity's name (English: the record's own word).
pub fn severity(s: Severity, lang: Language) -> &'static str {
    use Language::*;
    use Severity::*;
    match (s, lang) {
        (s, En) => s.as_str(),
        (Watch, Fr) => "veille",
        (Warning, Fr) => "alerte",
        (Critical, Fr) => "critique",
        (Watch, Pt) => "vigilância",
        (Warning, Pt) => "aviso",
        (Critical, Pt) => "crítico",
        (Watch, Ar) => "مراقبة",
        (Warning, Ar) => "تحذير",
        (Critical, Ar) => "حرج",
    }
}

/// A status's name (English: the record's own word).
pub fn status(s: Status, lang: Language) -> &'static str {
    use Language::*;
    match (s, lang) {
        (s, En) => s.as_str(),
        (Status::Firing, Fr) => "déclenchée",
        (Status::Escalated, Fr) => "aggravée",
        (Status::Resolved, Fr) => "résolue",
        (Status::Firing, Pt) => "disparado",
        (Status::Escalated, Pt) => "agravado",
        (Status::Resolved, Pt) => "encerrado",
        (Status::Firing, Ar) => "صدر",
        (Status::Escalated, Ar) => "تصاعد",
        (Status::Resolved, Ar) => "انتهى",
    }
}

/// The name of a threat code in `lang`; the code itself for a threat the phrasebook does not
/// know (a taxonomy may add its own).
fn threat_name(code: &str, lang: Language) -> String {
    use Language::*;
    let names: Option<[&str; 4]> = match code {
        "abduction" => Some(["abduction", "enlèvement", "rapto", "اختطاف"]),
        "siege" => Some(["siege", "siège", "cerco", "حصار"]),
        "sexual_violence" => Some([
            "sexual violence",
            "violences sexuelles",
            "violência sexual",
            "عنف جنسي",
        ]),
        "foreign_fighters" => Some([
            "foreign fighters",
            "combattants étrangers",
            "combatentes estrangeiros",
            "مقاتلون أجانب",
        ]),
        "hate_speech" => Some([
            "hate speech",
            "discours de haine",
            "discurso de ódio",
            "خطاب الكراهية",
        ]),
        "attack_on_humanitarians" => Some([
            "attacks on humanitarians",
            "attaques contre les humanitaires",
            "ataques a humanitários",
            "هجمات على العاملين في المجال الإنساني",
        ]),
        "mass_displacement" => Some([
            "mass displacement",
            "déplacement massif",
            "deslocamento em massa",
            "نزوح جماعي",
        ]),
        _ => None,
    };
    let at = match lang {
        En => 0,
        Fr => 1,
        Pt => 2,
        Ar => 3,
    };
    names.map_or_else(|| code.to_string(), |n| n[at].to_string())
}

/// The name of an alert's signal (`threat:abduction`, `risk:RF11`, `combo:a+b`) in `lang`.
pub fn signal(label: &str, lang: Language) -> String {
    if let Some(code) = label.strip_prefix("threat:") {
        return threat_name(code, lang);
    }
    if let Some(n) = label.strip_prefix("risk:RF") {
        return match lang {
            Language::En => format!("risk factor {n}"),
            Language::Fr => format!("facteur de risque {n}"),
            Language::Pt => format!("fator de risco {n}"),
            Language::Ar => format!("عامل الخطر {n}"),
        };
    }
    if let Some(codes) = label.strip_prefix("combo:") {
        let names: Vec<String> = codes.split('+').map(|c| threat_name(c, lang)).collect();
        return names.join(" + ");
    }
    label.to_string()
}

/// `n` with its noun in `lang`: singular or plural, and for Arabic the number agreement of the
/// counted noun (1: singular; 2: dual; 3–10: plural; 11 and more: singular accusative).
fn counted(n: u64, noun: Noun, lang: Language) -> String {
    let forms: [&str; 4] = match (noun, lang) {
        (Noun::Day, Language::Fr) => ["jour", "jours", "", ""],
        (Noun::Hour, Language::Fr) => ["heure", "heures", "", ""],
        (Noun::Report, Language::Fr) => ["rapport", "rapports", "", ""],
        (Noun::Source, Language::Fr) => ["source", "sources", "", ""],
        (Noun::Day, Language::Pt) => ["dia", "dias", "", ""],
        (Noun::Hour, Language::Pt) => ["hora", "horas", "", ""],
        (Noun::Report, Language::Pt) => ["relato", "relatos", "", ""],
        (Noun::Source, Language::Pt) => ["fonte", "fontes", "", ""],
        (Noun::Day, _) => ["يوم", "أيام", "يومان", "يوماً"],
        (Noun::Hour, _) => ["ساعة", "ساعات", "ساعتان", "ساعةً"],
        (Noun::Report, _) => ["تقرير", "تقارير", "تقريران", "تقريراً"],
        (Noun::Source, _) => ["مصدر", "مصادر", "مصدران", "مصدراً"],
    };
    if lang == Language::Ar {
        return match n {
            1 => format!("{} واحد", forms[0]),
            2 => forms[2].to_string(),
            3..=10 => format!("{n} {}", forms[1]),
            _ => format!("{n} {}", forms[3]),
        };
    }
    format!("{n} {}", if n == 1 { forms[0] } else { forms[1] })
}

/// What [`counted`] counts.
#[derive(Debug, Clone, Copy)]
enum Noun {
    Day,
    Hour,
    Report,
    Source,
}

/// A window length: whole days or hours.
fn window(secs: i64, lang: Language) -> String {
    if lang == Language::En {
        return hours(secs);
    }
    let secs = u64::try_from(secs).unwrap_or(0);
    if secs % 86_400 == 0 {
        counted(secs / 86_400, Noun::Day, lang)
    } else {
        counted(secs / 3600, Noun::Hour, lang)
    }
}

/// The alert's window length in seconds, from its RFC 3339 bounds (0 if unreadable).
fn window_secs(a: &Alert) -> i64 {
    let parse = |s: &str| chrono::DateTime::parse_from_rfc3339(s).map(|t| t.timestamp());
    match (parse(&a.window.start), parse(&a.window.end)) {
        (Ok(s), Ok(e)) => e - s,
        _ => 0,
    }
}

/// The summary sentence of `a` in `lang`: for English the record's own `summary`; otherwise
/// the same facts (severity, status, signal, region, value, threshold, window, reports,
/// sources; or the episode that replaced it).
pub fn summary(a: &Alert, lang: Language) -> String {
    if lang == Language::En {
        return a.summary.clone();
    }
    let signal = signal(&a.signal, lang);
    let region = &a.region;
    if a.superseded_by.is_some() {
        return match lang {
            Language::Fr => format!(
                "L'alerte {} pour le signal « {signal} » dans {region} est remplacée par un épisode antérieur, après des rapports tardifs.",
                a.rule
            ),
            Language::Pt => format!(
                "O alerta {} do sinal «{signal}» em {region} foi substituído por um episódio anterior, após relatos tardios.",
                a.rule
            ),
            _ => format!(
                "استُبدل التنبيه {} الخاص بالمؤشر «{signal}» في {region} بتنبيه سابق بعد ورود تقارير متأخرة.",
                a.rule
            ),
        };
    }
    let (value, threshold) = (trim_float(a.observed.value), trim_float(a.threshold));
    let window = window(window_secs(a), lang);
    let reports = counted(a.observed.reports, Noun::Report, lang);
    let sources = counted(a.observed.distinct_sources, Noun::Source, lang);
    let resolved = a.status == Status::Resolved;
    let (sev, st) = (severity(a.severity, lang), status(a.status, lang));
    match lang {
        Language::Fr => format!(
            "Alerte de niveau {sev} {st} : le signal « {signal} » dans {region} a atteint {value} (seuil {threshold}) sur {window}, d'après {reports} de {sources}{}.",
            if resolved {
                " ; il est désormais sous le niveau de résolution depuis une fenêtre entière"
            } else {
                ""
            }
        ),
        Language::Pt => format!(
            "Alerta de nível {sev} {st}: o sinal «{signal}» em {region} atingiu {value} (limiar {threshold}) em {window}, segundo {reports} de {sources}{}.",
            if resolved {
                "; está agora abaixo do nível de resolução há uma janela completa"
            } else {
                ""
            }
        ),
        _ => format!(
            "تنبيه بمستوى {sev} ({st}): بلغ المؤشر «{signal}» في {region} القيمة {value} (العتبة {threshold}) خلال {window}، استناداً إلى {reports} من {sources}{}.",
            if resolved {
                "؛ وهو الآن دون مستوى الإغلاق منذ نافذة كاملة"
            } else {
                ""
            }
        ),
    }
}

/// A one-line headline: severity, signal and region.
pub fn headline(a: &Alert, lang: Language) -> String {
    match lang {
        Language::En => format!("{} {} {}", a.severity.as_str(), a.signal, a.region),
        _ => format!(
            "{} {} {}",
            severity(a.severity, lang),
            signal(&a.signal, lang),
            a.region
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> Alert {
        crate::delivery::test_support::alert(
            "a1",
            "NG-BO",
            "threat:abduction",
            Severity::Warning,
            Status::Firing,
        )
    }

    #[test]
    fn each_language_says_the_same_facts() {
        let a = alert();
        for lang in [Language::Fr, Language::Pt, Language::Ar] {
            let s = summary(&a, lang);
            for fact in [
                a.region.as_str(),
                &trim_float(a.observed.value),
                &trim_float(a.threshold),
                &a.observed.reports.to_string(),
            ] {
                assert!(s.contains(fact), "{lang:?}: {s} lacks {fact}");
            }
            assert_ne!(s, a.summary);
        }
        assert_eq!(summary(&a, Language::En), a.summary);
        assert!(summary(&a, Language::Fr).contains("enlèvement"));
        assert!(summary(&a, Language::Ar).contains("اختطاف"));
    }

    #[test]
    fn subscribers_get_the_first_language_vigil_has() {
        let codes = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            Language::first_of(&codes(&["sw", "pt-BR", "fr"])),
            Language::Pt
        );
        assert_eq!(Language::first_of(&codes(&["sw"])), Language::En);
        assert_eq!(
            Language::all_of(&codes(&["ar", "fr", "ar"])),
            [Language::Ar, Language::Fr]
        );
        assert_eq!(Language::all_of(&[]), [Language::En]);
    }

    #[test]
    fn counts_agree_with_their_nouns() {
        assert_eq!(counted(1, Noun::Report, Language::Fr), "1 rapport");
        assert_eq!(counted(3, Noun::Source, Language::Pt), "3 fontes");
        assert_eq!(counted(7, Noun::Day, Language::Ar), "7 أيام");
        assert_eq!(counted(12, Noun::Report, Language::Ar), "12 تقريراً");
        assert_eq!(counted(2, Noun::Hour, Language::Ar), "ساعتان");
        assert_eq!(window(7 * 86_400, Language::Pt), "7 dias");
    }

    #[test]
    fn signals_are_named() {
        assert_eq!(signal("risk:RF11", Language::Pt), "fator de risco 11");
        assert_eq!(
            signal("combo:siege+abduction", Language::Fr),
            "siège + enlèvement"
        );
        assert_eq!(signal("threat:custom", Language::Ar), "custom");
    }
}
