//! Subscribers as `config/subscribers.toml` declares them (`[[subscriber]]`): a name, a kind,
//! where to deliver, and the filters that choose which alert records they receive. Checked when
//! the configuration loads, so that a typo is a located error and never a silent non-delivery.

use crate::tag::language::primary_subtag;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::group::{GroupLabel, Timing};
use crate::alert::Status;
use crate::rules::Severity;

/// How a subscriber receives alerts (DESIGN, "Delivery").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriberKind {
    /// POST of the alert record (JSON) to `url`, signed when `secret_env` names a key.
    Webhook,
    /// POST of the Alertmanager webhook payload (version 4) to `url`.
    Alertmanager,
    /// One plain-text message per group by SMTP.
    Email,
    /// An Atom feed of CAP 1.2 messages served by Vigil at `/cap/<name>.atom`.
    CapFeed,
}

impl SubscriberKind {
    /// Whether the kind POSTs to a subscriber's `url` (which it then needs).
    pub fn posts(self) -> bool {
        matches!(self, SubscriberKind::Webhook | SubscriberKind::Alertmanager)
    }

    /// Whether the kind notifies per group (`group.rs`): `alertmanager` and `email`, the kinds
    /// that reach people. A `webhook` gets every record on its own (machines deduplicate on the
    /// delivery id); a `cap_feed` lists every message.
    pub fn groups(self) -> bool {
        matches!(self, SubscriberKind::Alertmanager | SubscriberKind::Email)
    }
}

/// Languages a subscriber may ask for (ISO 639-1): those of the desks Vigil serves. Text exists
/// in `en` and `fr` today; a subscriber asking for another gets the first of its list Vigil has.
pub const LANGUAGES: [&str; 5] = ["en", "fr", "pt", "ar", "sw"];

/// The shortest `group_interval` and `repeat_interval` accepted.
const MIN_GROUP_INTERVAL: Duration = Duration::from_secs(1);
const MIN_REPEAT_INTERVAL: Duration = Duration::from_secs(60);

/// What is wrong with a receiver URL, if anything: it must parse, be `http` or `https` (any
/// case), name a host, and carry no user or password (secrets live in the environment, not in
/// this file; a token a receiver wants in its path or query is masked in logs).
fn url_problem(url: &str) -> Option<&'static str> {
    match reqwest::Url::parse(url) {
        Err(_) => Some("is not a URL"),
        Ok(u) if !matches!(u.scheme(), "http" | "https") => {
            Some("must be an http:// or https:// URL")
        }
        Ok(u) if u.host_str().is_none_or(str::is_empty) => Some("names no host"),
        Ok(u) if !u.username().is_empty() || u.password().is_some() => {
            Some("carries credentials: give the receiver a signing key (secret_env) instead")
        }
        Ok(_) => None,
    }
}

fn default_group_by() -> Vec<GroupLabel> {
    vec![GroupLabel::Rule, GroupLabel::Region]
}
fn default_group_wait() -> Duration {
    Duration::from_secs(30)
}
fn default_group_interval() -> Duration {
    Duration::from_secs(300)
}
fn default_repeat_interval() -> Duration {
    Duration::from_secs(4 * 3600)
}

fn least_severity() -> Severity {
    Severity::Watch
}

/// One `[[subscriber]]`. Secrets are named by environment variable, never written here.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Subscriber {
    /// Unique; letters, digits, `-` and `_` (it names the CAP feed's path and the subscriber's
    /// metric label).
    pub name: String,
    pub kind: SubscriberKind,
    /// Where `webhook` and `alertmanager` subscribers are POSTed to (`http` or `https`).
    #[serde(default)]
    pub url: Option<String>,
    // The filters: which alert records the subscriber receives. An empty list admits everything;
    // a record must pass every filter (`route.rs`).
    /// Region codes, or globs where `*` stands for any run of characters (`NG-*`).
    #[serde(default)]
    pub regions: Vec<String>,
    /// The least severity delivered (`watch`, `warning`, `critical`; default `watch`).
    #[serde(default = "least_severity")]
    pub min_severity: Severity,
    /// Signals as alerts name them (`threat:abduction`, `risk:RF7`, `combo:siege+abduction`).
    #[serde(default)]
    pub signals: Vec<String>,
    /// Rule names of `rules.toml`.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Record statuses (`firing`, `escalated`, `resolved`).
    #[serde(default)]
    pub statuses: Vec<Status>,
    /// Languages of the text a kind renders (`email`, `cap_feed`), in order of preference.
    #[serde(default)]
    pub languages: Vec<String>,
    /// The environment variable holding the webhook signing key (`Vigil-Signature`).
    #[serde(default)]
    pub secret_env: Option<String>,
    /// `email`: the recipients' addresses.
    #[serde(default)]
    pub to: Vec<String>,
    // Grouping (`alertmanager` and `email`; `group.rs`), with Alertmanager's names and meaning.
    /// The labels whose values make a group (`region`, `signal`, `rule`, `severity`; default
    /// `["rule", "region"]`).
    #[serde(default = "default_group_by")]
    pub group_by: Vec<GroupLabel>,
    /// How long a new group waits for more records before its first notification (`"30s"`).
    #[serde(default = "default_group_wait", with = "humantime_serde")]
    pub group_wait: Duration,
    /// The least time between two notifications of a group that changed (`"5m"`).
    #[serde(default = "default_group_interval", with = "humantime_serde")]
    pub group_interval: Duration,
    /// After how long a group with open episodes and no change is notified again (`"4h"`).
    #[serde(default = "default_repeat_interval", with = "humantime_serde")]
    pub repeat_interval: Duration,
}

impl Subscriber {
    /// The grouping timings, in milliseconds.
    pub fn timing(&self) -> Timing {
        let ms = |d: Duration| d.as_millis().min(u64::MAX as u128) as u64;
        Timing {
            wait: ms(self.group_wait),
            interval: ms(self.group_interval),
            repeat: ms(self.repeat_interval),
        }
    }
}

/// A problem with one subscriber: the field's path inside `[[subscriber]]` and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberFinding {
    pub path: String,
    pub message: String,
}

/// Checks what serde cannot: unique and well-formed names, a URL where the kind posts, globs
/// with something besides `*`. Returns every finding, with paths like `subscriber[2].url`.
pub fn validate(subscribers: &[Subscriber]) -> Vec<SubscriberFinding> {
    let mut out = Vec::new();
    let mut finding = |i: usize, field: &str, message: String| {
        let path = if field.is_empty() {
            format!("subscriber[{i}]")
        } else {
            format!("subscriber[{i}].{field}")
        };
        out.push(SubscriberFinding { path, message });
    };
    for (i, s) in subscribers.iter().enumerate() {
        let well_formed = !s.name.is_empty()
            && s.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            finding(
                i,
                "name",
                "must be letters, digits, '-' or '_' (it names a feed path and a metric label)"
                    .into(),
            );
        }
        if subscribers[..i].iter().any(|o| o.name == s.name) {
            finding(
                i,
                "name",
                format!("{:?} is used by an earlier subscriber", s.name),
            );
        }
        match (&s.url, s.kind.posts()) {
            (None, true) => finding(i, "url", "required for this kind".into()),
            (Some(url), true) => {
                if let Some(problem) = url_problem(url) {
                    finding(i, "url", problem.into());
                }
            }
            (Some(_), false) => finding(i, "url", "this kind does not post to a URL".into()),
            _ => {}
        }
        for (j, l) in s.languages.iter().enumerate() {
            let primary = primary_subtag(l);
            if !LANGUAGES.iter().any(|k| k.eq_ignore_ascii_case(primary)) {
                finding(
                    i,
                    &format!("languages[{j}]"),
                    format!("{l:?} is not one of {}", LANGUAGES.join(", ")),
                );
            }
        }
        if s.kind.groups() {
            let mut labels = s.group_by.clone();
            labels.sort_by_key(|l| *l as u8);
            labels.dedup();
            if labels.len() != s.group_by.len() {
                finding(i, "group_by", "names a label twice".into());
            }
            if s.group_interval < MIN_GROUP_INTERVAL || s.repeat_interval < MIN_REPEAT_INTERVAL {
                finding(
                    i,
                    "group_interval",
                    "group_interval must be at least 1s and repeat_interval at least 1m (a receiver is not to be flooded)"
                        .into(),
                );
            }
        }
        for (j, r) in s.regions.iter().enumerate() {
            if r.is_empty() || r.chars().all(|c| c == '*') && r.len() > 1 {
                finding(
                    i,
                    &format!("regions[{j}]"),
                    "must name a code or a glob with more than `*`s (use `*` alone for all)".into(),
                );
            }
        }
        if s.kind == SubscriberKind::Email {
            if s.to.is_empty() {
                finding(
                    i,
                    "to",
                    "an email subscriber needs at least one address".into(),
                );
            }
            for (j, a) in s.to.iter().enumerate() {
                if a.parse::<lettre::Address>().is_err() {
                    finding(
                        i,
                        &format!("to[{j}]"),
                        format!("{a:?} is not an e-mail address"),
                    );
                }
            }
        } else if !s.to.is_empty() {
            finding(i, "to", "only email subscribers have addresses".into());
        }
        if s.kind.groups() {
            if s.group_by.is_empty() {
                finding(i, "group_by", "needs at least one label".into());
            }
            if s.group_interval.is_zero() || s.repeat_interval < s.group_interval {
                finding(
                    i,
                    "repeat_interval",
                    "group_interval must be above zero and repeat_interval at least group_interval"
                        .into(),
                );
            }
        }
        if s.secret_env.is_some() && s.kind != SubscriberKind::Webhook {
            finding(i, "secret_env", "only webhook deliveries are signed".into());
        }
        if let Some(env) = &s.secret_env
            && (env.is_empty() || !env.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        {
            finding(
                i,
                "secret_env",
                "must name an environment variable (letters, digits, '_')".into(),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Vec<Subscriber> {
        #[derive(Deserialize)]
        struct File {
            subscriber: Vec<Subscriber>,
        }
        toml::from_str::<File>(toml_text)
            .expect("subscribers parse")
            .subscriber
    }

    #[test]
    fn the_shipped_subscribers_are_valid() {
        let text = std::fs::read_to_string("config/subscribers.toml").expect("shipped file");
        assert_eq!(validate(&parse(&text)), []);
    }

    #[test]
    fn every_problem_is_found_at_its_path() {
        let subs = parse(
            r#"
[[subscriber]]
name = "desk"
kind = "webhook"

[[subscriber]]
name = "desk"
kind = "cap_feed"
url = "http://127.0.0.1/"

[[subscriber]]
name = "has space"
kind = "alertmanager"
url = "ftp://example.org/"
regions = ["NG-*", ""]
secret_env = "KEY-1"
"#,
        );
        let found: Vec<(String, String)> = validate(&subs)
            .into_iter()
            .map(|f| (f.path, f.message))
            .collect();
        let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "subscriber[0].url",
                "subscriber[1].name",
                "subscriber[1].url",
                "subscriber[2].name",
                "subscriber[2].url",
                "subscriber[2].regions[1]",
                "subscriber[2].secret_env",
                "subscriber[2].secret_env",
            ],
            "{found:?}"
        );
        assert!(found[1].1.contains("used by an earlier subscriber"));
        assert!(found[6].1.contains("only webhook deliveries are signed"));
    }

    #[test]
    fn languages_labels_and_intervals_are_checked() {
        let subs = parse(
            r#"
[[subscriber]]
name = "chat"
kind = "alertmanager"
url = "http://127.0.0.1/"
languages = ["fr", "klingon"]
group_by = ["rule", "rule"]
group_interval = "1ms"
repeat_interval = "2ms"
"#,
        );
        let paths: Vec<String> = validate(&subs).into_iter().map(|f| f.path).collect();
        assert_eq!(
            paths,
            [
                "subscriber[0].languages[1]",
                "subscriber[0].group_by",
                "subscriber[0].group_interval",
            ]
        );
    }

    #[test]
    fn receiver_urls_must_parse_name_a_host_and_hold_no_credentials() {
        for (url, ok) in [
            ("http://127.0.0.1:8080/alerts", true),
            ("HTTPS://example.org/x", true),
            (
                "https://hooks.example.org/T00/B00/secret-in-path?token=x",
                true,
            ),
            ("http://", false),
            ("http://exa mple.org/x", false),
            ("ftp://example.org/", false),
            ("https://user:pass@example.org/", false),
            ("not a url", false),
        ] {
            assert_eq!(url_problem(url).is_none(), ok, "{url}");
        }
    }

    #[test]
    fn email_needs_addresses_and_grouping_needs_sane_intervals() {
        let subs = parse(
            r#"
[[subscriber]]
name = "mail"
kind = "email"
to = ["desk@example.org", "not an address"]

[[subscriber]]
name = "chat"
kind = "alertmanager"
url = "http://127.0.0.1/"
group_by = []
group_interval = "1h"
repeat_interval = "5m"

[[subscriber]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1/"
to = ["a@example.org"]
"#,
        );
        let paths: Vec<String> = validate(&subs).into_iter().map(|f| f.path).collect();
        assert_eq!(
            paths,
            [
                "subscriber[0].to[1]",
                "subscriber[1].group_by",
                "subscriber[1].repeat_interval",
                "subscriber[2].to",
            ]
        );
        assert_eq!(subs[1].timing().interval, 3_600_000);
        let none = parse("[[subscriber]]\nname = \"m\"\nkind = \"email\"");
        assert_eq!(validate(&none)[0].path, "subscriber[0].to");
    }

    #[test]
    fn an_unknown_kind_or_filter_is_refused_by_name() {
        let kind = toml::from_str::<Subscriber>("name = \"x\"\nkind = \"pager\"");
        assert!(
            kind.unwrap_err()
                .to_string()
                .contains("unknown variant `pager`")
        );
        let filter =
            toml::from_str::<Subscriber>("name = \"x\"\nkind = \"cap_feed\"\nregion = [\"NG-BO\"]");
        assert!(
            filter
                .unwrap_err()
                .to_string()
                .contains("unknown field `region`")
        );
    }
}
