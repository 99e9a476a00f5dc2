//! Routing: which subscribers an alert record goes to, by their filters. Pure: the delivery
//! stage asks this for every record it consumes.

use crate::alert::Alert;

use super::subscriber::Subscriber;

impl Subscriber {
    /// Whether `alert` passes every filter: its region matches a code or glob, its severity is
    /// at least `min_severity`, and its signal, rule and status are listed (an empty list admits
    /// all).
    pub fn admits(&self, alert: &Alert) -> bool {
        let listed =
            |list: &[String], value: &str| list.is_empty() || list.iter().any(|v| v == value);
        alert.severity >= self.min_severity
            && (self.regions.is_empty() || self.regions.iter().any(|g| glob(g, &alert.region)))
            && listed(&self.signals, &alert.signal)
            && listed(&self.rules, &alert.rule)
            && (self.statuses.is_empty() || self.statuses.contains(&alert.status))
    }
}

/// The subscribers `alert` goes to, in configuration order.
pub fn recipients<'a>(
    subscribers: &'a [Subscriber],
    alert: &'a Alert,
) -> impl Iterator<Item = &'a Subscriber> + 'a {
    subscribers.iter().filter(|s| s.admits(alert))
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters (none
/// included) and every other character for itself. Region codes are short, so the classic
/// two-pointer match with one backtrack point suffices (linear in practice, no regex).
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut i, mut j) = (0, 0);
    // Where the last `*` was, and the text position it currently stands up to.
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && p[i] == b'*' {
            star = Some((i, j));
            i += 1;
        } else if i < p.len() && p[i] == t[j] {
            i += 1;
            j += 1;
        } else if let Some((si, sj)) = star {
            // Let the last `*` take one more character, and retry after it.
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Status;
    use crate::rules::Severity;

    #[test]
    fn globs_match_codes_and_runs() {
        for (pattern, text, expected) in [
            ("NG-*", "NG-BO", true),
            ("NG-*", "NG-", true),
            ("NG-*", "NGA-BO", false),
            ("NG-BO", "NG-BO", true),
            ("NG-BO", "NG-BOR", false),
            ("*", "", true),
            ("*-BO", "NG-BO", true),
            ("*-BO", "NG-BOX", false),
            ("N*-*O", "NG-BO", true),
            ("N*-*O", "NG-BA", false),
            ("a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
            ("", "", true),
            ("", "x", false),
        ] {
            assert_eq!(glob(pattern, text), expected, "{pattern:?} ~ {text:?}");
        }
    }

    fn alert(region: &str, severity: Severity, status: Status) -> Alert {
        crate::delivery::test_support::alert("a", region, "threat:abduction", severity, status)
    }

    /// A webhook subscriber with no filters.
    fn everything() -> Subscriber {
        toml::from_str("name = \"s\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/\"")
            .expect("a subscriber")
    }

    #[test]
    fn every_filter_must_admit_and_an_empty_list_admits_all() {
        let all = everything();
        let a = alert("NG-BO", Severity::Watch, Status::Firing);
        assert!(all.admits(&a));
        let warning_up = Subscriber {
            min_severity: Severity::Warning,
            ..everything()
        };
        assert!(!warning_up.admits(&a));
        assert!(warning_up.admits(&alert("NG-BO", Severity::Critical, Status::Firing)));
        let nigeria = Subscriber {
            regions: vec!["NG-*".into()],
            ..everything()
        };
        assert!(nigeria.admits(&a));
        assert!(!nigeria.admits(&alert("ML-MO", Severity::Watch, Status::Firing)));
        let resolved = Subscriber {
            statuses: vec![Status::Resolved],
            ..everything()
        };
        assert!(!resolved.admits(&a));
        let other_signal = Subscriber {
            signals: vec!["risk:RF7".into()],
            ..everything()
        };
        assert!(!other_signal.admits(&a));
        let this_rule = Subscriber {
            rules: vec!["abduction_cluster".into()],
            signals: vec!["threat:abduction".into(), "risk:RF7".into()],
            ..everything()
        };
        assert!(this_rule.admits(&a));
        let list = [nigeria, all, resolved];
        let names: Vec<&str> = recipients(&list, &a).map(|s| s.name.as_str()).collect();
        assert_eq!(names.len(), 2);
    }
}
