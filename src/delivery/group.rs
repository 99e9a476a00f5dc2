//! Grouping and throttling, as Alertmanager's route options: a subscriber's alert records are
//! gathered into groups by the values of its `group_by` labels; a new group's first notification
//! waits `group_wait` (to gather what arrives together), later changes wait until
//! `group_interval` after the group's last notification, and a group with episodes still open is
//! notified again after `repeat_interval` of quiet. So a crisis in twenty regions is twenty
//! notifications to a subscriber grouping by region, one to a subscriber grouping by signal, and
//! not one per record.
//!
//! Pure, on the stage's clock (milliseconds). A notification carries the latest record of every
//! episode of its group that changed since the last one (resolved ones included, once) and of
//! every episode still open, and the input sources of the records it is the first to carry: the
//! stage holds those sources in its schedule until the notification is finished, so a record is
//! never committed before the notification that carries it is delivered, retried durably or dead.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::schedule::Source;
use crate::alert::{Alert, Status};

/// An alert label a subscriber can group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupLabel {
    Region,
    Signal,
    Rule,
    Severity,
}

/// A subscriber's grouping (milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub wait: u64,
    pub interval: u64,
    pub repeat: u64,
}

/// The group an alert belongs to for `labels`: the labels' values joined by `/` (Alertmanager's
/// group key, readable).
pub fn group_key(labels: &[GroupLabel], alert: &Alert) -> String {
    labels
        .iter()
        .map(|l| match l {
            GroupLabel::Region => alert.region.as_str(),
            GroupLabel::Signal => alert.signal.as_str(),
            GroupLabel::Rule => alert.rule.as_str(),
            GroupLabel::Severity => alert.severity.as_str(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// One record as a group keeps it.
#[derive(Debug, Clone)]
pub struct Member {
    pub alert: Arc<Alert>,
    pub record: Arc<Vec<u8>>,
    /// When the record was committed to the alerts topic (Unix milliseconds).
    pub committed_ms: i64,
}

/// A notification due: what to send to one subscriber for one group.
#[derive(Debug, Clone)]
pub struct Notification {
    pub subscriber: usize,
    pub group: String,
    /// The latest record of each episode carried, in alert-id order.
    pub members: Vec<Member>,
    /// Input records this notification is the first to carry.
    pub sources: Vec<Source>,
    /// For a repeat (nothing changed): when it was due, which makes its delivery id differ from
    /// the notification it repeats.
    pub repeat_of: Option<u64>,
}

#[derive(Debug)]
struct Group {
    timing: Timing,
    /// Records since the last notification, with their sources.
    changed: BTreeMap<String, Member>,
    sources: Vec<Source>,
    /// The latest record of every episode not resolved.
    open: BTreeMap<String, Member>,
    last_notified: Option<u64>,
    next: Option<u64>,
}

/// Every subscriber's groups, by (subscriber index, group key).
#[derive(Debug, Default)]
pub struct Grouper {
    groups: BTreeMap<(usize, String), Group>,
}

impl Grouper {
    /// A new record for `subscriber`'s group `key`, read at `source` at time `now`.
    pub fn add(
        &mut self,
        subscriber: usize,
        key: String,
        timing: Timing,
        source: Source,
        member: Member,
        now: u64,
    ) {
        let g = self.group(subscriber, key, timing);
        track_open(&mut g.open, &member);
        g.changed.insert(member.alert.alert_id.clone(), member);
        g.sources.push(source);
        // A new group waits group_wait; a notified one, group_interval after its last.
        let due = match g.last_notified {
            None => now + timing.wait,
            Some(last) => (last + timing.interval).max(now),
        };
        // An earlier change keeps its time; a repeat scheduled later is brought forward.
        g.next = Some(g.next.map_or(due, |next| next.min(due)));
    }

    /// A record already delivered before this deliverer started (read at start-up): the group
    /// learns which episodes are open, counts them as notified now, and repeats them after
    /// `repeat_interval` if they stay open.
    pub fn remember(
        &mut self,
        subscriber: usize,
        key: String,
        timing: Timing,
        member: Member,
        now: u64,
    ) {
        let g = self.group(subscriber, key, timing);
        track_open(&mut g.open, &member);
        if g.changed.is_empty() {
            g.last_notified = Some(now);
            g.next = (!g.open.is_empty()).then_some(now + timing.repeat);
        }
    }

    fn group(&mut self, subscriber: usize, key: String, timing: Timing) -> &mut Group {
        let g = self.groups.entry((subscriber, key)).or_insert(Group {
            timing,
            changed: BTreeMap::new(),
            sources: Vec::new(),
            open: BTreeMap::new(),
            last_notified: None,
            next: None,
        });
        g.timing = timing;
        g
    }

    /// When the next notification comes due, if any is scheduled.
    pub fn next_due(&self) -> Option<u64> {
        self.groups.values().filter_map(|g| g.next).min()
    }

    /// The notifications due at `now`. A group with nothing open and nothing changed is
    /// forgotten.
    pub fn due(&mut self, now: u64) -> Vec<Notification> {
        let mut out = Vec::new();
        self.groups.retain(|(subscriber, key), g| {
            let Some(next) = g.next.filter(|&n| n <= now) else {
                return true;
            };
            let repeat_of = g.changed.is_empty().then_some(next);
            let mut members: BTreeMap<String, Member> = g.open.clone();
            members.append(&mut g.changed);
            if !members.is_empty() {
                out.push(Notification {
                    subscriber: *subscriber,
                    group: key.clone(),
                    members: members.into_values().collect(),
                    sources: std::mem::take(&mut g.sources),
                    repeat_of,
                });
            }
            g.last_notified = Some(now);
            g.next = (!g.open.is_empty()).then_some(now + g.timing.repeat);
            !g.open.is_empty()
        });
        out
    }

    /// Records waiting in `subscriber`'s groups (a gauge).
    pub fn waiting_for(&self, subscriber: usize) -> usize {
        self.groups
            .iter()
            .filter(|((s, _), _)| *s == subscriber)
            .map(|(_, g)| g.changed.len())
            .sum()
    }
}

fn track_open(open: &mut BTreeMap<String, Member>, member: &Member) {
    if member.alert.status == Status::Resolved {
        open.remove(&member.alert.alert_id);
    } else {
        open.insert(member.alert.alert_id.clone(), member.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::test_support::alert;
    use crate::rules::Severity;

    const T: Timing = Timing {
        wait: 30_000,
        interval: 300_000,
        repeat: 3_600_000,
    };

    fn member(id: &str, region: &str, status: Status) -> Member {
        let a = alert(id, region, "threat:abduction", Severity::Warning, status);
        Member {
            record: Arc::new(serde_json::to_vec(&a).unwrap()),
            alert: Arc::new(a),
            committed_ms: 0,
        }
    }

    fn ids(n: &Notification) -> Vec<(String, Status)> {
        n.members
            .iter()
            .map(|m| (m.alert.alert_id.clone(), m.alert.status))
            .collect()
    }

    #[test]
    fn twenty_regions_at_once_are_one_notification_per_group() {
        let mut g = Grouper::default();
        for r in 0..20 {
            let m = member(&format!("a{r}"), &format!("R-{r}"), Status::Firing);
            // Subscriber 0 groups by signal, subscriber 1 by region.
            g.add(
                0,
                group_key(&[GroupLabel::Signal], &m.alert),
                T,
                (0, r),
                m.clone(),
                1_000,
            );
            g.add(
                1,
                group_key(&[GroupLabel::Region], &m.alert),
                T,
                (0, r),
                m,
                1_000,
            );
        }
        assert!(g.due(30_999).is_empty(), "group_wait holds them");
        assert_eq!(g.next_due(), Some(31_000));
        let sent = g.due(31_000);
        assert_eq!(sent.iter().filter(|n| n.subscriber == 0).count(), 1);
        assert_eq!(sent.iter().filter(|n| n.subscriber == 1).count(), 20);
        let by_signal = sent.iter().find(|n| n.subscriber == 0).unwrap();
        assert_eq!(by_signal.members.len(), 20);
        assert_eq!(by_signal.sources.len(), 20);
        assert_eq!(by_signal.repeat_of, None);
    }

    #[test]
    fn changes_wait_for_group_interval_and_quiet_open_groups_repeat() {
        let mut g = Grouper::default();
        let key = "threat:abduction".to_string();
        g.add(
            0,
            key.clone(),
            T,
            (0, 0),
            member("a", "X", Status::Firing),
            0,
        );
        assert_eq!(ids(&g.due(30_000)[0]), [("a".into(), Status::Firing)]);
        // A change 10 s later waits until group_interval after the last notification.
        g.add(
            0,
            key.clone(),
            T,
            (0, 1),
            member("b", "Y", Status::Firing),
            40_000,
        );
        assert!(g.due(329_999).is_empty());
        let n = g.due(330_000);
        assert_eq!(
            ids(&n[0]),
            [("a".into(), Status::Firing), ("b".into(), Status::Firing)],
            "the open episode comes along, for context"
        );
        assert_eq!(n[0].sources, [(0, 1)], "only the new record's source");
        // Quiet: the open episodes are repeated after repeat_interval, with no sources.
        let n = g.due(330_000 + 3_600_000);
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].repeat_of, Some(3_930_000));
        assert!(n[0].sources.is_empty());
        // Both resolve: one last notification carries the resolutions, then the group is gone.
        g.add(
            0,
            key.clone(),
            T,
            (0, 2),
            member("a", "X", Status::Resolved),
            4_000_000,
        );
        g.add(
            0,
            key,
            T,
            (0, 3),
            member("b", "Y", Status::Resolved),
            4_000_001,
        );
        let n = g.due(4_230_000);
        assert_eq!(
            ids(&n[0]),
            [
                ("a".into(), Status::Resolved),
                ("b".into(), Status::Resolved)
            ]
        );
        assert_eq!(g.next_due(), None);
        assert!(g.due(u64::MAX / 2).is_empty());
    }

    #[test]
    fn remembered_open_episodes_repeat_after_repeat_interval_only() {
        let mut g = Grouper::default();
        g.remember(0, "k".into(), T, member("a", "X", Status::Firing), 0);
        assert!(g.due(3_599_999).is_empty());
        assert_eq!(g.due(3_600_000).len(), 1);
        // A remembered resolved episode leaves nothing to repeat.
        let mut g = Grouper::default();
        g.remember(0, "k".into(), T, member("a", "X", Status::Firing), 0);
        g.remember(0, "k".into(), T, member("a", "X", Status::Resolved), 0);
        assert_eq!(g.next_due(), None);
    }
}
