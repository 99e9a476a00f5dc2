//! Inhibition, as Alertmanager's inhibit rules: while an episode of severity `critical` is open
//! for a region and signal, the `watch`-level notices for the same region and signal are held
//! back; the critical one already says more. On by default (`delivery.inhibit_watch_under_critical`).
//!
//! Pure: the stage shows the [`Inhibitor`] every alert record it reads (and, when it starts,
//! every record already on the alerts topic, so that an episode opened before a restart still
//! inhibits), and asks [`Inhibitor::inhibits`] when a delivery is about to go out. Inhibited
//! notices are recorded on `vigil.alerts` and counted (`vigil_delivery_inhibited_total`).

use std::collections::{BTreeSet, HashMap};

use crate::alert::{Alert, Status};
use crate::rules::Severity;

/// The open critical episodes, by (region, signal).
#[derive(Debug, Default, Clone)]
pub struct Inhibitor {
    open_critical: HashMap<(String, String), BTreeSet<String>>,
}

impl Inhibitor {
    /// Takes one alert record, in topic order: a `critical` record that is not `resolved` opens
    /// (or keeps open) its episode; a `resolved` record closes it. Idempotent, so records seen
    /// twice (at start-up and again from the committed offset) change nothing.
    pub fn observe(&mut self, alert: &Alert) {
        let key = (alert.region.clone(), alert.signal.clone());
        if alert.status == Status::Resolved {
            if let Some(open) = self.open_critical.get_mut(&key) {
                open.remove(&alert.alert_id);
                if open.is_empty() {
                    self.open_critical.remove(&key);
                }
            }
        } else if alert.severity == Severity::Critical {
            self.open_critical
                .entry(key)
                .or_default()
                .insert(alert.alert_id.clone());
        }
    }

    /// Whether `alert` is a `watch`-level notice under an open critical episode of another
    /// alert for its region and signal.
    pub fn inhibits(&self, alert: &Alert) -> bool {
        alert.severity == Severity::Watch
            && self
                .open_critical
                .get(&(alert.region.clone(), alert.signal.clone()))
                .is_some_and(|open| open.iter().any(|id| *id != alert.alert_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::test_support::alert;

    #[test]
    fn an_open_critical_holds_back_watch_notices_of_its_region_and_signal_only() {
        let mut inh = Inhibitor::default();
        let watch = alert(
            "w",
            "NG-BO",
            "threat:abduction",
            Severity::Watch,
            Status::Firing,
        );
        assert!(!inh.inhibits(&watch));
        let critical = alert(
            "c",
            "NG-BO",
            "threat:abduction",
            Severity::Critical,
            Status::Firing,
        );
        inh.observe(&critical);
        inh.observe(&critical); // seen twice: no change
        assert!(inh.inhibits(&watch));
        // Not another region or signal, and not a warning or the critical itself.
        for other in [
            alert(
                "w",
                "NG-YO",
                "threat:abduction",
                Severity::Watch,
                Status::Firing,
            ),
            alert(
                "w",
                "NG-BO",
                "threat:siege",
                Severity::Watch,
                Status::Firing,
            ),
            alert(
                "w",
                "NG-BO",
                "threat:abduction",
                Severity::Warning,
                Status::Firing,
            ),
        ] {
            assert!(!inh.inhibits(&other), "{other:?}");
        }
        assert!(!inh.inhibits(&critical));
        // Resolved: the watch notices go out again.
        inh.observe(&alert(
            "c",
            "NG-BO",
            "threat:abduction",
            Severity::Critical,
            Status::Resolved,
        ));
        assert!(!inh.inhibits(&watch));
    }

    #[test]
    fn an_escalation_to_critical_inhibits_until_resolved() {
        let mut inh = Inhibitor::default();
        inh.observe(&alert(
            "e",
            "ML-1",
            "risk:RF7",
            Severity::Warning,
            Status::Firing,
        ));
        let watch = alert("w", "ML-1", "risk:RF7", Severity::Watch, Status::Firing);
        assert!(!inh.inhibits(&watch));
        inh.observe(&alert(
            "e",
            "ML-1",
            "risk:RF7",
            Severity::Critical,
            Status::Escalated,
        ));
        assert!(inh.inhibits(&watch));
        inh.observe(&alert(
            "e",
            "ML-1",
            "risk:RF7",
            Severity::Critical,
            Status::Resolved,
        ));
        assert!(!inh.inhibits(&watch));
    }
}
