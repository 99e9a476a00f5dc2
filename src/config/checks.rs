//! Checks across files: subscribers against the settings (an `email` subscriber needs an
//! SMTP host) and against the rules (a filter that names a rule or signal no rule has would
//! silently deliver nothing).

use std::path::Path;

use super::{ConfigIssue, Settings, Subscriber, issue_at};
use crate::delivery::subscriber::SubscriberKind;
use crate::rules::Rule;

/// Every finding of `subscribers` (read from `subs_path`) against `settings` and `rules` (when
/// they compiled).
pub(super) fn subscribers_against(
    settings: &Settings,
    subs_path: &Path,
    subscribers: &[Subscriber],
    rules: Option<&[Rule]>,
    issues: &mut Vec<ConfigIssue>,
) {
    if settings.delivery.smtp.host.is_empty() {
        for (i, s) in subscribers.iter().enumerate() {
            if s.kind == SubscriberKind::Email {
                issues.push(issue_at(
                    subs_path,
                    None,
                    &format!("subscriber[{i}].kind"),
                    "email needs [delivery.smtp] host in vigil.toml",
                ));
            }
        }
    }

    // Filters that name a rule or signal no rule has would silently deliver nothing.
    if let Some(rules) = rules {
        for (i, s) in subscribers.iter().enumerate() {
            for (j, name) in s.rules.iter().enumerate() {
                if !rules.iter().any(|r| &r.name == name) {
                    issues.push(issue_at(
                        subs_path,
                        None,
                        &format!("subscriber[{i}].rules[{j}]"),
                        &format!("{name:?} is not a rule of rules.toml"),
                    ));
                }
            }
            for (j, signal) in s.signals.iter().enumerate() {
                if !rules.iter().any(|r| r.signal_label() == signal) {
                    issues.push(issue_at(
                        subs_path,
                        None,
                        &format!("subscriber[{i}].signals[{j}]"),
                        &format!("{signal:?} is the signal of no rule (e.g. \"threat:abduction\", \"risk:RF7\")"),
                    ));
                }
            }
        }
    }
}
