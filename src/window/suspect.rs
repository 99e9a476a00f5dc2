//! Reports held as suspect because their event time jumps ahead of their region's clock.
//!
//! A region's watermark is the largest event time it has accepted, and a report more than
//! `window.allowed_lateness_secs` behind it is refused `too_late`. One mistyped date (2062 for
//! 2026) would therefore silence a region for decades: every honest report after it is "late".
//! So a report whose event time lies more than `window.max_watermark_jump_secs` ahead of its
//! region's watermark is held here instead of admitted: it advances nothing and counts nowhere until another report of the
//! region *corroborates* its time, by lying no more than the jump limit before it (or anywhere
//! after it). Released reports then go through admission in their arrival order, before the
//! report that released them.
//!
//! A report is never held when its own `reported_at` anchors it: an event time within the jump
//! limit before the filing time (and never after it by more than `limits.max_future_skew_secs`,
//! which validation enforces) is two independent clocks agreeing. Receive time is not an anchor,
//! so that a stream and a later backtest of the same reports decide alike.
//!
//! A region's first report starts its clock: nothing in the region can judge it. A first report
//! dated after the clock of the machine that reads it (plus `limits.max_future_skew_secs`) is
//! refused `bad_time`, by the stream's receive time and the backtest's clock alike, which catches
//! the mistyped future year (2062 for 2026); a first report mistyped into the *past* of the
//! region's later reports still sets its clock (README, Known problems).
//!
//! Held reports are part of the region's state (the changelog's `meta` record carries them), so
//! a restart neither loses nor doubles one. At most `window.max_held_reports` are held per
//! region and at most `window.max_held_bytes` of them; a report beyond either is refused
//! `time_jump`: when the hold is full, its oldest report makes room and is refused. Only another
//! source corroborates: a copy of a mistyped message, or the same clerk's next row, is no
//! evidence. Two mistyped reports of two sources close to each other still vouch for each
//! other (README, Known problems).

use serde::{Deserialize, Serialize};

use crate::report::{RejectError, RejectReason};

use crate::window::WindowSettings;

/// One held report: its original bytes and what admission needs of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HeldReport {
    pub id: String,
    /// `source.id`: a report corroborates only another source's held report.
    #[serde(default)]
    pub source: String,
    /// Event time, Unix seconds.
    pub event_time: i64,
    /// The transport's receive time, for validation when the report is released.
    pub received_at: Option<i64>,
    /// The report as received (valid UTF-8 JSON: it decoded).
    pub report: String,
}

/// The held reports of one region, in arrival order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Hold {
    held: Vec<HeldReport>,
}

impl Hold {
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether a report with this id is held (a second copy is a duplicate).
    pub fn contains(&self, id: &str) -> bool {
        self.held.iter().any(|h| h.id == id)
    }

    /// Takes out, in arrival order, the held reports that a report of `source` at `event_time`
    /// corroborates: another source's, at most the jump limit after it. A source cannot vouch
    /// for itself: a copy of a mistyped message, or the same clerk's next row, is no evidence.
    pub fn release(
        &mut self,
        event_time: i64,
        source: &str,
        settings: &WindowSettings,
    ) -> Vec<HeldReport> {
        if self.held.is_empty() {
            return Vec::new();
        }
        let reach = event_time.saturating_add(settings.max_watermark_jump_secs);
        let (released, kept) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|h| h.event_time <= reach && h.source != source);
        self.held = kept;
        released
    }

    /// Holds a report [`is_jump`] found to jump its region's clock. When the hold is full (in
    /// count or bytes) the oldest held reports make room and are returned, to be refused
    /// `time_jump`: a suspect that nothing corroborated while newer ones arrived is the likeliest
    /// error, and the hold never blocks its region. `Err` gives back a report too large to hold
    /// at all.
    pub fn hold(
        &mut self,
        report: HeldReport,
        settings: &WindowSettings,
    ) -> Result<Vec<HeldReport>, HeldReport> {
        if settings.max_held_reports == 0 || report.report.len() > settings.max_held_bytes {
            return Err(report);
        }
        let mut bytes: usize = self.held.iter().map(|h| h.report.len()).sum();
        let mut evicted = Vec::new();
        while self.held.len() >= settings.max_held_reports
            || bytes + report.report.len() > settings.max_held_bytes
        {
            let oldest = self.held.remove(0);
            bytes -= oldest.report.len();
            evicted.push(oldest);
        }
        self.held.push(report);
        Ok(evicted)
    }
}

/// Whether a report at `event_time` jumps its region's clock: it lies more than the jump limit
/// ahead of `watermark`, and its own `reported_at` does not anchor it. A region's first report
/// (`watermark` is `i64::MIN`) starts its clock: there is nothing to judge it against.
pub(crate) fn is_jump(
    event_time: i64,
    reported_at: Option<i64>,
    watermark: i64,
    settings: &WindowSettings,
) -> bool {
    let jump = settings.max_watermark_jump_secs;
    let anchored = reported_at.is_some_and(|r| event_time >= r.saturating_sub(jump));
    watermark != i64::MIN && event_time > watermark.saturating_add(jump) && !anchored
}

/// The refusal of a suspect that leaves the hold uncorroborated (`time_jump`), saying `why`
/// with the settings that decide it.
pub(crate) fn time_jump(settings: &WindowSettings, why: &str) -> RejectError {
    RejectError::new(
        RejectReason::TimeJump,
        "event_time",
        format!(
            "more than window.max_watermark_jump_secs = {} ahead of the region's watermark and {why} (window.max_held_reports = {}, window.max_held_bytes = {})",
            settings.max_watermark_jump_secs, settings.max_held_reports, settings.max_held_bytes
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn report(id: &str, day: i64) -> HeldReport {
        HeldReport {
            id: id.into(),
            source: "s1".into(),
            event_time: day * DAY,
            received_at: None,
            report: "{}".into(),
        }
    }

    #[test]
    fn a_jump_is_held_until_a_report_near_or_after_it_corroborates_it() {
        let s = WindowSettings::default();
        let wm = 100 * DAY;
        assert!(!is_jump(120 * DAY, None, wm, &s));
        assert!(is_jump(200 * DAY, None, wm, &s));
        let mut hold = Hold::default();
        assert!(
            hold.hold(report("far", 200), &s)
                .is_ok_and(|e| e.is_empty())
        );
        assert!(hold.contains("far"));
        // A report well before it does not corroborate it, nor one of its own source; another
        // source's within the jump limit does.
        assert!(hold.release(150 * DAY, "s2", &s).is_empty());
        assert!(hold.release(171 * DAY, "s1", &s).is_empty());
        let out = hold.release(171 * DAY, "s2", &s);
        assert_eq!(
            out.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
            ["far"]
        );
        assert!(hold.is_empty());
    }

    #[test]
    fn reported_at_anchors_and_a_region_s_first_report_starts_its_clock() {
        let s = WindowSettings::default();
        assert!(!is_jump(10 * DAY, None, i64::MIN, &s));
        assert!(!is_jump(1000 * DAY, Some(1000 * DAY), 10 * DAY, &s));
        // Filed a year after the event: no anchor for a jump.
        assert!(is_jump(1000 * DAY, Some(1400 * DAY), 10 * DAY, &s));
    }

    #[test]
    fn the_hold_is_bounded_in_count_and_bytes() {
        let s = WindowSettings {
            max_held_reports: 2,
            max_held_bytes: 10,
            ..WindowSettings::default()
        };
        let mut hold = Hold::default();
        assert!(hold.hold(report("a", 900), &s).is_ok_and(|e| e.is_empty()));
        assert!(hold.hold(report("b", 800), &s).is_ok_and(|e| e.is_empty()));
        // Full: the oldest makes room.
        let evicted = hold.hold(report("c", 700), &s).unwrap();
        assert_eq!(
            evicted.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
            ["a"]
        );
        assert_eq!(hold.len(), 2);
        assert!(hold.contains("b") && hold.contains("c"));
        let mut big = report("d", 600);
        big.report = "x".repeat(11);
        assert!(Hold::default().hold(big, &s).is_err());
    }
}
