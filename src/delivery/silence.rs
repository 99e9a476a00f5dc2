//! Silences: an analyst mutes the alerts that match for a period, with author and reason
//! (`vigil silence add|list|expire`), as Alertmanager's silences do. Kept durably in the
//! compacted topic `delivery.silences_topic` (`vigil.silences`), one record per silence keyed by
//! its id; expiring one rewrites it with `ends_at` = now, so the record of who muted what stays.
//!
//! Pure: [`Silences`] is the set a deliverer holds (fed from the topic by `follow.rs`), and
//! [`Silences::muting`] is the one question delivery asks. Silenced alerts are still recorded on
//! `vigil.alerts` and counted (`vigil_delivery_silenced_total`); they are only not delivered.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::route::glob;
use crate::alert::Alert;

/// One silence as the silences topic keeps it (JSON, key = `id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Silence {
    /// A UUID (version 4) given when the silence is added.
    pub id: String,
    /// Region codes or globs (`NG-*`); empty = any region.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Signals (`threat:abduction`); empty = any signal.
    #[serde(default)]
    pub signals: Vec<String>,
    /// Rule names; empty = any rule.
    #[serde(default)]
    pub rules: Vec<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Who added it (an analyst's login; not a reported person's name).
    pub created_by: String,
    /// Why, in the analyst's words.
    pub comment: String,
    /// Who expired it early, if anyone did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_by: Option<String>,
}

/// Why a silence cannot be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    #[error(
        "a silence needs at least one of --region, --signal, --rule (it would mute everything)"
    )]
    NoMatcher,
    #[error("a silence needs an author and a reason")]
    NoAuthorOrReason,
    #[error("a silence must end after it starts")]
    EndsBeforeStart,
    #[error("an empty region, signal or rule")]
    EmptyMatcher,
    #[error("a region glob of `*` alone matches every region: name the regions, signals or rules")]
    MatchesAll,
}

impl Silence {
    /// Checks a silence before it is written: at least one matcher (a silence that matches
    /// everything is refused, as Alertmanager refuses one without matchers), no empty ones, an
    /// author and a reason, and an end after its start.
    pub fn check(&self) -> Result<(), SilenceError> {
        if self.regions.is_empty() && self.signals.is_empty() && self.rules.is_empty() {
            return Err(SilenceError::NoMatcher);
        }
        if [&self.regions, &self.signals, &self.rules]
            .iter()
            .any(|list| list.iter().any(|m| m.trim().is_empty()))
        {
            return Err(SilenceError::EmptyMatcher);
        }
        if self.signals.is_empty()
            && self.rules.is_empty()
            && self.regions.iter().any(|r| r.chars().all(|c| c == '*'))
        {
            return Err(SilenceError::MatchesAll);
        }
        if self.created_by.trim().is_empty() || self.comment.trim().is_empty() {
            return Err(SilenceError::NoAuthorOrReason);
        }
        if self.ends_at <= self.starts_at {
            return Err(SilenceError::EndsBeforeStart);
        }
        Ok(())
    }

    /// Whether the silence is in force at `now`: `starts_at <= now < ends_at`.
    pub fn active(&self, now: DateTime<Utc>) -> bool {
        self.starts_at <= now && now < self.ends_at
    }

    /// Whether the silence can no longer mute anything at or after `now`: it has ended, or was
    /// expired before it began.
    pub fn ended(&self, now: DateTime<Utc>) -> bool {
        self.ends_at <= now || self.ends_at <= self.starts_at
    }

    /// The silence ended at `now` by `author`: its end moves to now, or, for one not yet begun,
    /// to its start (so it never mutes anything).
    pub fn expire(&mut self, now: DateTime<Utc>, author: &str) {
        self.ends_at = now.max(self.starts_at).min(self.ends_at);
        if self.starts_at > now {
            self.ends_at = self.starts_at;
        }
        self.expired_by = Some(author.to_string());
    }

    /// Whether `alert` matches every non-empty matcher.
    pub fn matches(&self, alert: &Alert) -> bool {
        let listed =
            |list: &[String], value: &str| list.is_empty() || list.iter().any(|v| v == value);
        (self.regions.is_empty() || self.regions.iter().any(|g| glob(g, &alert.region)))
            && listed(&self.signals, &alert.signal)
            && listed(&self.rules, &alert.rule)
    }
}

/// The silences a deliverer knows, by id (the latest record of each).
#[derive(Debug, Default, Clone)]
pub struct Silences {
    by_id: BTreeMap<String, Silence>,
}

impl Silences {
    /// Takes one record of the silences topic: a silence (added or expired), or a tombstone
    /// (`None`) that forgets one. A record that is not a silence is ignored and reported as
    /// `false`, so the caller can count it.
    pub fn apply(&mut self, key: &str, value: Option<&[u8]>) -> bool {
        match value {
            None => {
                self.by_id.remove(key);
                true
            }
            Some(bytes) => match serde_json::from_slice::<Silence>(bytes) {
                Ok(s) if s.id == key => {
                    self.by_id.insert(s.id.clone(), s);
                    true
                }
                _ => false,
            },
        }
    }

    /// The first silence in force at `now` that matches `alert`, if any.
    pub fn muting(&self, alert: &Alert, now: DateTime<Utc>) -> Option<&Silence> {
        self.by_id
            .values()
            .find(|s| s.active(now) && s.matches(alert))
    }

    /// Every silence known, in id order.
    pub fn all(&self) -> impl Iterator<Item = &Silence> {
        self.by_id.values()
    }

    pub fn get(&self, id: &str) -> Option<&Silence> {
        self.by_id.get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::test_support::test_alert;

    fn silence(regions: &[&str], signals: &[&str], hours: i64) -> Silence {
        let now = Utc::now();
        Silence {
            id: "s1".into(),
            regions: regions.iter().map(|s| s.to_string()).collect(),
            signals: signals.iter().map(|s| s.to_string()).collect(),
            rules: vec![],
            starts_at: now - chrono::Duration::minutes(1),
            ends_at: now + chrono::Duration::hours(hours),
            created_by: "analyst-1".into(),
            comment: "known, being handled".into(),
            expired_by: None,
        }
    }

    #[test]
    fn a_silence_mutes_what_matches_while_in_force() {
        let s = silence(&["NG-*"], &["threat:abduction"], 2);
        let mut set = Silences::default();
        assert!(set.apply("s1", Some(&serde_json::to_vec(&s).unwrap())));
        let now = Utc::now();
        let hit = test_alert("NG-BO", "threat:abduction");
        assert_eq!(set.muting(&hit, now).map(|s| s.id.as_str()), Some("s1"));
        assert!(
            set.muting(&test_alert("ML-1", "threat:abduction"), now)
                .is_none()
        );
        assert!(
            set.muting(&test_alert("NG-BO", "threat:siege"), now)
                .is_none()
        );
        // Before its start and from its end on, it mutes nothing.
        assert!(set.muting(&hit, s.ends_at).is_none());
        assert!(
            set.muting(&hit, s.starts_at - chrono::Duration::seconds(1))
                .is_none()
        );
        // Expired (rewritten with ends_at = now) or deleted (tombstone): no longer in force.
        let mut expired = s.clone();
        expired.ends_at = now;
        set.apply("s1", Some(&serde_json::to_vec(&expired).unwrap()));
        assert!(set.muting(&hit, now).is_none());
        set.apply("s1", Some(&serde_json::to_vec(&s).unwrap()));
        set.apply("s1", None);
        assert!(set.muting(&hit, now).is_none());
    }

    #[test]
    fn a_silence_must_match_something_and_say_who_and_why() {
        assert_eq!(silence(&[], &[], 1).check(), Err(SilenceError::NoMatcher));
        assert_eq!(
            silence(&[""], &[], 1).check(),
            Err(SilenceError::EmptyMatcher)
        );
        let mut s = silence(&["NG-BO"], &[], 1);
        assert_eq!(s.check(), Ok(()));
        s.comment = " ".into();
        assert_eq!(s.check(), Err(SilenceError::NoAuthorOrReason));
        let mut s = silence(&["NG-BO"], &[], 1);
        s.ends_at = s.starts_at;
        assert_eq!(s.check(), Err(SilenceError::EndsBeforeStart));
        assert_eq!(
            silence(&["*"], &[], 1).check(),
            Err(SilenceError::MatchesAll)
        );
        assert_eq!(silence(&["*"], &["threat:siege"], 1).check(), Ok(()));
    }

    #[test]
    fn expiring_ends_a_running_silence_now_and_a_pending_one_before_it_begins() {
        let now = Utc::now();
        let mut running = silence(&["NG-BO"], &[], 2);
        running.expire(now, "analyst-2");
        assert_eq!(running.ends_at, now);
        assert!(running.ended(now) && !running.active(now));
        assert_eq!(running.expired_by.as_deref(), Some("analyst-2"));
        let mut pending = silence(&["NG-BO"], &[], 2);
        pending.starts_at = now + chrono::Duration::hours(1);
        assert!(!pending.ended(now));
        pending.expire(now, "analyst-2");
        assert!(pending.ended(now));
        for t in [
            now,
            pending.starts_at,
            pending.starts_at + chrono::Duration::minutes(30),
        ] {
            assert!(!pending.active(t), "never in force");
        }
    }

    #[test]
    fn records_that_are_not_silences_or_under_another_key_are_refused() {
        let mut set = Silences::default();
        assert!(!set.apply("s1", Some(b"not json")));
        let s = silence(&["NG-BO"], &[], 1);
        assert!(!set.apply("other", Some(&serde_json::to_vec(&s).unwrap())));
        assert_eq!(set.all().count(), 0);
    }
}
