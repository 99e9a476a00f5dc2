//! The deterministic core: decode → tag → window → rules → alert, with no I/O.
//!
//! `vigil run` (streaming) and `vigil backtest` (offline) both feed raw report bytes to
//! [`Engine::process`] and publish what it returns, so they emit the same alerts for the same
//! input. All state is per region ([`RegionState`]) and depends only on the order of that
//! region's reports, so partitioning and scale-out do not change results.

use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::alert::{Alert, EpisodeTracker};
use crate::report::{Limits, RejectError, RejectReason, ValidReport, decode};
use crate::rules::{Rule, RuleKind};
use crate::tag::taxonomy::Taxonomy;
use crate::tag::{Scratch, TagSet, TaggedReport, Tagger};
use crate::window::near_duplicate::Fingerprint;
use crate::window::suspect::{HeldReport, Hold, is_jump};
use crate::window::{
    Admission, Contribution, Pane, RegionWindows, SeenRecord, Signal, WindowChanges, WindowSettings,
};

/// Panes of event time between evictions of a region's old panes and ids.
const EVICT_EVERY_PANES: i64 = 24;

/// A region's state apart from its panes and ids: what the changelog's `meta` record holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegionMeta {
    pub watermark: i64,
    pub trackers: Vec<EpisodeTracker>,
    last_pane: Option<i64>,
    last_evict: Option<i64>,
    /// Reports held as suspect (absent in changelogs written before holds existed).
    #[serde(default)]
    held: Hold,
}

/// A region's changes since the changelog last took them.
#[derive(Debug)]
pub struct RegionChanges {
    pub meta: RegionMeta,
    pub windows: WindowChanges,
}

/// Everything the core keeps for one region.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegionState {
    pub windows: RegionWindows,
    /// One tracker per rule, by rule index.
    pub trackers: Vec<EpisodeTracker>,
    /// The pane in which the last reconcile of every rule ran.
    last_pane: Option<i64>,
    /// The pane of the last eviction.
    last_evict: Option<i64>,
    /// Reports whose event time jumps ahead of the region's clock, waiting for corroboration.
    #[serde(default)]
    held: Hold,
}

/// What happened to one input message.
#[derive(Debug)]
pub enum Outcome {
    Accepted {
        /// The region's code, shared with the engine's own key (no copy per report).
        region: Arc<str>,
        event_time: i64,
        late: bool,
        tags: TagSet,
        alerts: Vec<Alert>,
    },
    /// Same id already counted (or held) in this region, or (`of`) a near-duplicate of the
    /// counted report `of`: changes nothing.
    Duplicate {
        region: Arc<str>,
        of: Option<Arc<str>>,
    },
    /// Its event time jumps ahead of its region's clock: held as suspect until another report
    /// corroborates it (see `suspect.rs`). Counted, but not admitted.
    Held {
        region: Arc<str>,
    },
    Rejected(RejectError),
}

/// A held report that the last [`Engine::process`] released, with what admitting it did.
#[derive(Debug)]
pub struct Released {
    /// The report as it was received.
    pub report: String,
    pub received_at: Option<i64>,
    pub outcome: Outcome,
}

/// Running counts, for run summaries (per-tag and per-alert counts are metrics, see `metrics.rs`).
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub accepted: u64,
    pub late: u64,
    pub duplicates: u64,
    pub rejected: FxHashMap<RejectReason, u64>,
    /// Reports held as suspect, ever (released ones are also counted as accepted, or rejected).
    pub held: u64,
    /// Held reports released by corroboration.
    pub released: u64,
    /// Of the duplicates, those that repeat another report under a new id.
    pub near_duplicates: u64,
}

impl Stats {
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}

pub struct Engine {
    limits: Limits,
    window: WindowSettings,
    tagger: Tagger,
    taxonomy: Taxonomy,
    rules: Vec<Rule>,
    /// Rules that read each signal.
    rules_by_signal: FxHashMap<Signal, Vec<usize>>,
    /// How far back any rule reads, in seconds.
    retention_secs: i64,
    /// The latest event time whose windows all end within year 9999: later reports are refused
    /// `bad_time`, so that every time an alert carries has a four-digit-year RFC 3339 (and CAP)
    /// form. A window ends at most one hop after the latest event time it holds.
    latest_event_time: i64,
    regions: FxHashMap<Arc<str>, RegionState>,
    /// Rules a report's signals touch; kept to reuse its allocation.
    touched: Vec<usize>,
    scratch: Scratch,
    stats: Stats,
    /// What the last `process` released, in order; see [`Engine::take_released`].
    released: Vec<Released>,
    /// Record each region's changes for a changelog ([`Engine::with_changelog`]).
    track_changes: bool,
}

impl Engine {
    pub fn new(
        limits: Limits,
        window: WindowSettings,
        tagger: Tagger,
        taxonomy: Taxonomy,
        rules: Vec<Rule>,
    ) -> Engine {
        let mut rules_by_signal: FxHashMap<Signal, Vec<usize>> = FxHashMap::default();
        for (i, r) in rules.iter().enumerate() {
            for &s in &r.signals {
                rules_by_signal.entry(s).or_default().push(i);
            }
        }
        let retention_secs =
            rules.iter().map(Rule::reach_secs).max().unwrap_or(0) + window.pane_secs;
        let longest_hop = rules
            .iter()
            .map(|r| r.hop_secs)
            .max()
            .unwrap_or(0)
            .max(window.pane_secs);
        let latest_event_time = crate::report::timestamp::MAX_SECONDS - longest_hop;
        let stats = Stats::default();
        Engine {
            limits,
            window,
            tagger,
            taxonomy,
            rules,
            rules_by_signal,
            retention_secs,
            latest_event_time,
            regions: FxHashMap::default(),
            touched: Vec::new(),
            scratch: Scratch::default(),
            stats,
            released: Vec::new(),
            track_changes: false,
        }
    }

    /// Records what each report changes, for [`Engine::take_changes`]. The Kafka pipeline (also
    /// behind `vigil run`'s embedded default) keeps its state in a changelog and turns this on;
    /// `backtest` and `bench` have no changelog and leave it off (untaken changes would only
    /// accumulate).
    pub fn with_changelog(mut self) -> Engine {
        self.track_changes = true;
        self
    }

    pub fn tagger(&self) -> &Tagger {
        &self.tagger
    }

    pub fn taxonomy(&self) -> &Taxonomy {
        &self.taxonomy
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn window_settings(&self) -> &WindowSettings {
        &self.window
    }

    /// Decodes, validates, tags and aggregates one message, and returns the alerts it caused.
    /// `received_at` is the transport's receive time (Kafka record timestamp), if any.
    ///
    /// A report may release held reports (see `suspect.rs`); they are admitted before it, and
    /// [`Engine::take_released`] gives them with their outcomes. Callers publish those first.
    pub fn process(&mut self, bytes: &[u8], received_at: Option<i64>) -> Outcome {
        self.released.clear();
        let report = match self.decode(bytes, received_at) {
            Ok(r) => r,
            Err(e) => {
                *self.stats.rejected.entry(e.reason).or_default() += 1;
                return Outcome::Rejected(e);
            }
        };
        let region_key = self.region_key(&report.report.region);
        let region = self.regions.get_mut(&region_key).expect("created above");
        let (t, id) = (report.event_time, report.report.id.as_ref());
        if region.held.contains(id) {
            self.stats.duplicates += 1;
            return Outcome::Duplicate {
                region: region_key,
                of: None,
            };
        }
        let watermark = region.windows.watermark;
        let too_late = watermark != i64::MIN && t < watermark - self.window.allowed_lateness_secs;
        // A late or already counted report is refused by admission and corroborates nothing.
        // The id look-up is made only where a hold is involved: admission makes it anyway.
        let refused = |region: &RegionState| too_late || region.windows.has_seen(id);
        if too_late || (!region.held.is_empty() && refused(region)) {
            return self.aggregate(&report, region_key);
        }
        let source = report.report.source.id.as_ref();
        for held in region.held.release(t, source, &self.window) {
            self.stats.released += 1;
            let outcome = self.admit_released(&held, &region_key);
            self.released.push(Released {
                report: held.report,
                received_at: held.received_at,
                outcome,
            });
        }
        let region = self.regions.get_mut(&region_key).expect("created above");
        if is_jump(
            t,
            report.reported_at,
            region.windows.watermark,
            &self.window,
        ) && !refused(region)
        {
            let held = HeldReport {
                id: id.to_string(),
                source: source.to_string(),
                event_time: t,
                received_at,
                report: String::from_utf8_lossy(bytes).into_owned(),
            };
            let jump = |what: &str| {
                RejectError::new(
                    RejectReason::TimeJump,
                    "event_time",
                    format!(
                        "more than window.max_watermark_jump_secs = {} ahead of the region's watermark and {what} (window.max_held_reports = {}, window.max_held_bytes = {})",
                        self.window.max_watermark_jump_secs,
                        self.window.max_held_reports,
                        self.window.max_held_bytes
                    ),
                )
            };
            let evicted = match region.held.hold(held, &self.window) {
                Ok(evicted) => evicted,
                Err(_) => {
                    *self
                        .stats
                        .rejected
                        .entry(RejectReason::TimeJump)
                        .or_default() += 1;
                    return Outcome::Rejected(jump("too large to hold"));
                }
            };
            self.stats.held += 1;
            for old in evicted {
                *self
                    .stats
                    .rejected
                    .entry(RejectReason::TimeJump)
                    .or_default() += 1;
                self.released.push(Released {
                    report: old.report,
                    received_at: old.received_at,
                    outcome: Outcome::Rejected(jump(
                        "never corroborated while newer suspects filled the region's hold",
                    )),
                });
            }
            return Outcome::Held { region: region_key };
        }
        self.aggregate(&report, region_key)
    }

    /// Held reports the last [`Engine::process`] released, in the order they were admitted
    /// (before the report that released them).
    pub fn take_released(&mut self) -> Vec<Released> {
        std::mem::take(&mut self.released)
    }

    /// [`Engine::process`], for callers that want only the alerts: those of the reports it
    /// released first, then its own.
    pub fn process_alerts(&mut self, bytes: &[u8], received_at: Option<i64>) -> Vec<Alert> {
        let outcome = self.process(bytes, received_at);
        let mut alerts = Vec::new();
        let released = self.take_released().into_iter().map(|r| r.outcome);
        for o in released.chain(std::iter::once(outcome)) {
            if let Outcome::Accepted { alerts: a, .. } = o {
                alerts.extend(a);
            }
        }
        alerts
    }

    /// [`decode`] with the engine's limits, and the bound of [`Engine::latest_event_time`].
    fn decode<'a>(
        &self,
        bytes: &'a [u8],
        received_at: Option<i64>,
    ) -> Result<ValidReport<'a>, RejectError> {
        let report = decode(bytes, &self.limits, received_at)?;
        if report.event_time > self.latest_event_time {
            return Err(RejectError::new(
                RejectReason::BadTime,
                "event_time",
                format!(
                    "lies after {}: its windows would end after year 9999",
                    crate::alert::rfc3339(self.latest_event_time)
                ),
            ));
        }
        Ok(report)
    }

    /// The engine's key for a region, creating its state on first sight.
    fn region_key(&mut self, code: &str) -> Arc<str> {
        if let Some((key, _)) = self.regions.get_key_value(code) {
            return Arc::clone(key);
        }
        let key: Arc<str> = Arc::from(code);
        let state = RegionState {
            windows: RegionWindows::new(self.track_changes),
            trackers: vec![EpisodeTracker::default(); self.rules.len()],
            last_pane: None,
            last_evict: None,
            held: Hold::default(),
        };
        self.regions.insert(Arc::clone(&key), state);
        key
    }

    /// Admits a released report: corroborated, so no jump check. It decoded when it was held;
    /// a configuration changed since then may refuse it now.
    fn admit_released(&mut self, held: &HeldReport, region_key: &Arc<str>) -> Outcome {
        match self.decode(held.report.as_bytes(), held.received_at) {
            Ok(report) if *report.report.region == **region_key => {
                self.aggregate(&report, Arc::clone(region_key))
            }
            Ok(_) => Outcome::Rejected(RejectError::new(
                RejectReason::BadValue,
                "region",
                "changed since the report was held",
            )),
            Err(e) => {
                *self.stats.rejected.entry(e.reason).or_default() += 1;
                Outcome::Rejected(e)
            }
        }
    }

    /// Admission (dedup, lateness), tags, panes and rules for one report of `region_key`.
    fn aggregate(&mut self, report: &ValidReport<'_>, region_key: Arc<str>) -> Outcome {
        let region_code: &str = &region_key;
        // Tags first: only a report that carries a signal can change a window, so only such a
        // report is fingerprinted for near-duplicates (four in five reports carry none, and the
        // fingerprint's word pass would cost them a third of the core's time).
        let tags = self.tagger.tag(report, &mut self.scratch);
        let signals = tags.threats() != 0 || tags.risk_factors != 0;
        let region = self
            .regions
            .get_mut(region_code)
            .expect("created by process");
        let (late, id) = match region.windows.admit(
            &report.report.id,
            report.event_time,
            &self.window,
            || signals.then(|| Fingerprint::of(report)),
        ) {
            Admission::Accepted { late, id } => (late, id),
            Admission::Duplicate => {
                self.stats.duplicates += 1;
                return Outcome::Duplicate {
                    region: region_key,
                    of: None,
                };
            }
            Admission::NearDuplicate { of } => {
                self.stats.duplicates += 1;
                self.stats.near_duplicates += 1;
                return Outcome::Duplicate {
                    region: region_key,
                    of: Some(of),
                };
            }
            Admission::TooLate => {
                *self
                    .stats
                    .rejected
                    .entry(RejectReason::TooLate)
                    .or_default() += 1;
                let lag = region.windows.watermark - report.event_time;
                return Outcome::Rejected(RejectError::new(
                    RejectReason::TooLate,
                    "event_time",
                    format!(
                        "{lag} s behind the region's watermark, beyond window.allowed_lateness_secs = {}",
                        self.window.allowed_lateness_secs
                    ),
                ));
            }
        };
        self.stats.accepted += 1;
        self.stats.late += u64::from(late);

        let mut contribution = Contribution {
            report_id: &id,
            source_id: &report.report.source.id,
            score_milli: 0,
            casualties: report.casualties.counts().map(|v| v as u64),
            corroborated: report.corroborated,
        };
        let reliability = u64::from(report.reliability_milli);
        let mut touched = std::mem::take(&mut self.touched);
        touched.clear();
        let mut threats = tags.threats();
        while threats != 0 {
            let t = threats.trailing_zeros() as usize;
            threats &= threats - 1;
            contribution.score_milli = (reliability as f64 * self.tagger.threat_weight(t)) as u64;
            let signal = Signal::Threat(t as u8);
            region
                .windows
                .add(signal, report.event_time, &contribution, &self.window);
            touched.extend(self.rules_by_signal.get(&signal).into_iter().flatten());
        }
        let mut risks = tags.risk_factors;
        while risks != 0 {
            let rf = risks.trailing_zeros() as u8 + 1;
            risks &= risks - 1;
            contribution.score_milli = reliability;
            let signal = Signal::Risk(rf);
            region
                .windows
                .add(signal, report.event_time, &contribution, &self.window);
            touched.extend(self.rules_by_signal.get(&signal).into_iter().flatten());
        }

        // Every rule advances when the region's watermark enters a new pane (windows close and
        // may resolve); rules whose signals this report carries re-run from its pane.
        let pane = region.windows.watermark.div_euclid(self.window.pane_secs);
        let new_pane = region.last_pane != Some(pane);
        region.last_pane = Some(pane);
        touched.sort_unstable();
        touched.dedup();
        let mut alerts = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let dirty = touched.binary_search(&i).is_ok();
            if !(dirty || new_pane) || !rule.applies_to(region_code) {
                continue;
            }
            let tracker = &mut region.trackers[i];
            // An idle threshold or co-occurrence rule that this report does not touch cannot fire
            // as its windows slide; spike rules can (their baseline shrinks too), so they run.
            if !dirty && rule.kind != RuleKind::Spike && tracker.is_idle() {
                tracker.skip_idle(rule, region.windows.watermark);
                continue;
            }
            let windows = &region.windows;
            let mut evaluate = |end| rule.evaluate(windows, end, false);
            let mut next_data = |t| windows.next_pane_start(&rule.signals, t);
            let changes = region.trackers[i].reconcile(
                rule,
                &mut evaluate,
                &mut next_data,
                dirty.then_some(report.event_time),
                windows.watermark,
                self.window.allowed_lateness_secs,
            );
            for mut change in changes {
                let start = change.window_end - rule.window_secs;
                let evidence = if change.superseded_by.is_some() {
                    Vec::new()
                } else {
                    change.evaluation = rule.evaluate(windows, change.window_end, true);
                    windows.evidence(
                        &rule.signals,
                        start,
                        change.window_end,
                        self.window.max_evidence_ids,
                    )
                };
                let alert = Alert::from_change(rule, region_code, &change, evidence);
                alerts.push(alert);
            }
        }
        // Eviction walks every id and pane of the region: once a day of event time is plenty.
        if region
            .last_evict
            .is_none_or(|p| pane - p >= EVICT_EVERY_PANES)
        {
            region.last_evict = Some(pane);
            region.windows.evict(self.retention_secs, &self.window);
        }
        self.touched = touched;
        Outcome::Accepted {
            region: region_key,
            event_time: report.event_time,
            late,
            tags,
            alerts,
        }
    }

    /// Full tag detail of a report `process` accepted (for `vigil.tagged`): decodes it again,
    /// so that the hot path never renders what nobody asked for.
    pub fn render_tags(&self, bytes: &[u8], tags: &TagSet) -> Option<TaggedReport> {
        let report = decode(bytes, &self.limits, None).ok()?;
        Some(self.tagger.render(&report, tags))
    }

    /// The state of one region.
    pub fn region_state(&self, region: &str) -> Option<&RegionState> {
        self.regions.get(region)
    }

    /// What changed in a region since the last call: its meta record and its changed panes and
    /// ids (the changelog writes exactly these). Empty unless [`Engine::with_changelog`].
    pub fn take_changes(&mut self, region: &str) -> Option<RegionChanges> {
        let state = self.regions.get_mut(region)?;
        Some(RegionChanges {
            meta: RegionMeta {
                watermark: state.windows.watermark,
                trackers: state.trackers.clone(),
                last_pane: state.last_pane,
                last_evict: state.last_evict,
                held: state.held.clone(),
            },
            windows: state.windows.take_changes(),
        })
    }

    /// Installs a region restored from changelog records (rebalance, restart).
    pub fn restore_region_parts(
        &mut self,
        region: String,
        meta: RegionMeta,
        panes: impl IntoIterator<Item = (Signal, i64, Pane)>,
        seen: impl IntoIterator<Item = (String, SeenRecord)>,
    ) {
        let state = RegionState {
            windows: RegionWindows::from_parts(meta.watermark, panes, seen),
            trackers: meta.trackers,
            last_pane: meta.last_pane,
            last_evict: meta.last_evict,
            held: meta.held,
        };
        self.restore_region(region, state);
    }

    /// Installs restored state for a region.
    pub fn restore_region(&mut self, region: String, mut state: RegionState) {
        state.windows.set_change_tracking(self.track_changes);
        state
            .trackers
            .resize(self.rules.len(), EpisodeTracker::default());
        self.regions.insert(Arc::from(region), state);
    }

    /// Forgets a region (its partition moved to another instance).
    pub fn remove_region(&mut self, region: &str) {
        self.regions.remove(region);
    }

    /// Regions with state, sorted.
    pub fn regions(&self) -> Vec<&str> {
        let mut r: Vec<&str> = self.regions.keys().map(AsRef::as_ref).collect();
        r.sort_unstable();
        r
    }

    /// Non-empty panes across all regions and signals.
    pub fn pane_count(&self) -> usize {
        self.regions.values().map(|r| r.windows.pane_count()).sum()
    }

    /// Reports held as suspect, across all regions.
    pub fn held_count(&self) -> usize {
        self.regions.values().map(|r| r.held.len()).sum()
    }

    /// Window keys (region, signal) that hold panes.
    pub fn window_key_count(&self) -> usize {
        self.regions
            .values()
            .map(|r| r.windows.signals().count())
            .sum()
    }

    /// Open episodes by severity.
    pub fn active_alerts(&self) -> [u64; 3] {
        let mut out = [0; 3];
        for (_, open) in self.active_alerts_by_region() {
            for (o, n) in out.iter_mut().zip(open) {
                *o += n;
            }
        }
        out
    }

    /// Open episodes per region, by severity (watch, warning, critical).
    pub fn active_alerts_by_region(&self) -> impl Iterator<Item = (&str, [u64; 3])> {
        self.regions.iter().map(|(region, r)| {
            let mut open = [0; 3];
            for t in &r.trackers {
                for (_, sev) in t.open_episodes() {
                    open[sev as usize] += 1;
                }
            }
            (region.as_ref(), open)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::input::generator::{GenOptions, generate};

    #[test]
    fn region_state_survives_the_delta_changelog() {
        let mut engine = crate::config::load(Path::new("config"))
            .unwrap()
            .engine()
            .unwrap()
            .with_changelog();
        let mut restored = crate::config::load(Path::new("config"))
            .unwrap()
            .engine()
            .unwrap()
            .with_changelog();
        // Apply the changes in three slices, as batches would, through JSON.
        let lines: Vec<String> = generate(&GenOptions::demo()).collect();
        let mut log: std::collections::BTreeMap<String, Vec<u8>> = Default::default();
        for chunk in lines.chunks(1000) {
            let mut touched = std::collections::BTreeSet::new();
            for line in chunk {
                if let Outcome::Accepted { region, .. } = engine.process(line.as_bytes(), None) {
                    touched.insert(region);
                }
            }
            for region in touched {
                let c = engine.take_changes(&region).unwrap();
                log.insert(format!("{region}|m"), serde_json::to_vec(&c.meta).unwrap());
                for (sig, start, pane) in c.windows.panes {
                    let key = format!("{region}|p|{}|{start}", String::from(sig));
                    match pane {
                        Some(p) => log.insert(key, serde_json::to_vec(&p).unwrap()),
                        None => log.remove(&key),
                    };
                }
                for (id, t) in c.windows.seen {
                    let key = format!("{region}|s|{id}");
                    match t {
                        Some(t) => log.insert(key, serde_json::to_vec(&t).unwrap()),
                        None => log.remove(&key),
                    };
                }
            }
        }
        for region in engine.regions() {
            let meta: RegionMeta = serde_json::from_slice(&log[&format!("{region}|m")]).unwrap();
            let prefix_p = format!("{region}|p|");
            let prefix_s = format!("{region}|s|");
            let panes = log.iter().filter_map(|(k, v)| {
                let rest = k.strip_prefix(&prefix_p)?;
                let (sig, start) = rest.split_once('|')?;
                Some((
                    Signal::try_from(sig.to_string()).ok()?,
                    start.parse().ok()?,
                    serde_json::from_slice(v).ok()?,
                ))
            });
            let seen = log.iter().filter_map(|(k, v)| {
                Some((
                    k.strip_prefix(&prefix_s)?.to_string(),
                    serde_json::from_slice(v).ok()?,
                ))
            });
            restored.restore_region_parts(
                region.to_string(),
                meta,
                panes.collect::<Vec<_>>(),
                seen.collect::<Vec<_>>(),
            );
            assert_eq!(
                restored.region_state(region),
                engine.region_state(region),
                "{region}"
            );
        }
    }

    fn dated(id: &str, date: &str, source: &str) -> String {
        format!(
            r#"{{"id":"{id}","event_time":"{date}:00:00Z","region":"ML-MO","source":{{"id":"{source}","reliability":"B","credibility":2}},"text":"Gunmen kidnapped five farmers near the market."}}"#
        )
    }

    fn engine() -> Engine {
        crate::config::load(Path::new("config"))
            .unwrap()
            .engine()
            .unwrap()
            .with_changelog()
    }

    fn alerts_of(engine: &mut Engine, lines: &[String]) -> Vec<String> {
        let alerts = lines
            .iter()
            .flat_map(|l| engine.process_alerts(l.as_bytes(), None));
        alerts.map(|a| serde_json::to_string(&a).unwrap()).collect()
    }

    #[test]
    fn one_mistyped_date_does_not_silence_its_region() {
        let honest: Vec<String> = (1..=4)
            .map(|i| {
                dated(
                    &format!("h{i}"),
                    &format!("2025-03-01T0{i}"),
                    &format!("s{i}"),
                )
            })
            .collect();
        let alone = alerts_of(&mut engine(), &honest);
        assert!(!alone.is_empty());
        // The typo after the region's first report, and later, ahead of its clock.
        for at in [1, 3] {
            let mut lines = honest.clone();
            lines.insert(at, dated("typo", "2025-09-05T08", "s0"));
            let mut e = engine();
            assert_eq!(alerts_of(&mut e, &lines), alone, "typo at {at}");
            assert_eq!((e.stats().held, e.held_count()), (1, 1));
        }
        // A far-future first report is refused by the clock, in backtest as in a stream.
        let mut lines = honest.clone();
        lines.insert(0, dated("typo", "2062-03-01T08", "s0"));
        let mut e = engine();
        let now = chrono::Utc::now().timestamp();
        let alerts = lines
            .iter()
            .flat_map(|l| e.process_alerts(l.as_bytes(), Some(now)));
        let alerts: Vec<String> = alerts.map(|a| serde_json::to_string(&a).unwrap()).collect();
        assert_eq!(alerts, alone);
        assert_eq!(e.stats().rejected.get(&RejectReason::BadTime), Some(&1));
    }

    fn sv(id: &str, minute: u32, source: &str, village: &str) -> String {
        format!(
            r#"{{"id":"{id}","event_time":"2025-03-01T10:{minute:02}:00Z","reported_at":"2025-03-01T12:00:00Z","region":"NG-BO","source":{{"id":"{source}","reliability":"B","credibility":2}},"text":"Soldiers raped women in {village} last night, residents said."}}"#
        )
    }

    fn severities(alerts: &[String]) -> Vec<String> {
        alerts
            .iter()
            .filter(|a| a.contains("sexual_violence_cluster"))
            .map(|a| serde_json::from_str::<serde_json::Value>(a).unwrap()["severity"].to_string())
            .collect()
    }

    #[test]
    fn eight_reposts_of_one_message_count_once() {
        let reposts: Vec<String> = (0..8)
            .map(|i| sv(&format!("sms-{i}"), 5, "sms:+234", "Kukawa"))
            .collect();
        let mut e = engine();
        let alerts = alerts_of(&mut e, &reposts);
        assert_eq!((e.stats().accepted, e.stats().near_duplicates), (1, 7));
        assert!(severities(&alerts).is_empty(), "{alerts:?}");
    }

    #[test]
    fn one_source_reaches_warning_at_most_and_a_second_source_makes_it_critical() {
        let villages = [
            "Kukawa", "Monguno", "Bama", "Gwoza", "Dikwa", "Marte", "Ngala", "Konduga", "Damboa",
        ];
        let one: Vec<String> = villages
            .iter()
            .enumerate()
            .map(|(i, v)| sv(&format!("fm-{i}"), i as u32, "fm-12", v))
            .collect();
        let alerts = alerts_of(&mut engine(), &one);
        assert_eq!(severities(&alerts), ["\"watch\"", "\"warning\""]);
        let mut two = one.clone();
        two.push(sv("ngo-1", 30, "ngo-7", "Mafa"));
        let alerts = alerts_of(&mut engine(), &two);
        assert_eq!(
            severities(&alerts),
            ["\"watch\"", "\"warning\"", "\"critical\""]
        );
    }

    #[test]
    fn a_source_cannot_vouch_for_its_own_typo_and_a_full_hold_drops_its_oldest() {
        let mut e = engine();
        let mut lines = vec![dated("h1", "2025-06-01T08", "s1")];
        // A mistyped year, then a copy and another row of the same source, a year ahead.
        lines.push(dated("typo", "2026-06-01T08", "s2"));
        lines.push(dated("typo-copy", "2026-06-01T09", "s2"));
        lines.push(dated("typo-next", "2026-06-02T08", "s2"));
        for l in &lines {
            e.process(l.as_bytes(), None);
        }
        assert_eq!(e.held_count(), 3);
        let honest = dated("h2", "2025-06-01T10", "s3");
        assert!(matches!(
            e.process(honest.as_bytes(), None),
            Outcome::Accepted { .. }
        ));
        // Sixteen more suspects of another source fill the hold: the oldest three leave,
        // refused time_jump, and the region keeps its clock.
        for i in 0..16 {
            let line = dated(
                &format!("far{i}"),
                &format!("2025-08-{:02}T08", 1 + i),
                "s4",
            );
            e.process(line.as_bytes(), None);
        }
        assert_eq!(e.held_count(), 16);
        assert_eq!(e.stats().rejected.get(&RejectReason::TimeJump), Some(&3));
    }

    #[test]
    fn a_counted_id_sent_again_far_ahead_is_a_duplicate_not_a_suspect() {
        let mut e = engine();
        let first = dated("a", "2025-03-01T08", "s1");
        assert!(matches!(
            e.process(first.as_bytes(), None),
            Outcome::Accepted { .. }
        ));
        let again = dated("a", "2026-03-01T08", "s1");
        assert!(matches!(
            e.process(again.as_bytes(), None),
            Outcome::Duplicate { .. }
        ));
        assert_eq!(e.held_count(), 0);
    }

    #[test]
    fn held_reports_survive_the_changelog_and_are_released_after_a_restore() {
        let mut e = engine();
        let start = dated("0", "2025-01-01T08", "s1");
        e.process(start.as_bytes(), None);
        let first = dated("a", "2025-03-01T08", "s1");
        assert!(matches!(
            e.process(first.as_bytes(), None),
            Outcome::Held { .. }
        ));
        let changes = e.take_changes("ML-MO").unwrap();
        let meta: RegionMeta =
            serde_json::from_slice(&serde_json::to_vec(&changes.meta).unwrap()).unwrap();
        let mut restored = engine();
        let seen = changes.windows.seen.into_iter();
        let seen = seen.filter_map(|(id, record)| Some((id, record?)));
        restored.restore_region_parts("ML-MO".into(), meta, Vec::new(), seen.collect::<Vec<_>>());
        assert_eq!(restored.held_count(), 1);
        // A copy of the held report is a duplicate; a second report releases it.
        assert!(matches!(
            restored.process(first.as_bytes(), None),
            Outcome::Duplicate { .. }
        ));
        let second = dated("b", "2025-03-02T08", "s2");
        assert!(matches!(
            restored.process(second.as_bytes(), None),
            Outcome::Accepted { .. }
        ));
        let released = restored.take_released();
        assert_eq!(released.len(), 1);
        assert!(matches!(released[0].outcome, Outcome::Accepted { .. }));
        assert_eq!(restored.held_count(), 0);
    }

    #[test]
    fn region_state_survives_the_changelog_round_trip() {
        let mut engine = crate::config::load(Path::new("config"))
            .unwrap()
            .engine()
            .unwrap();
        for line in generate(&GenOptions::demo()) {
            engine.process(line.as_bytes(), None);
        }
        let regions: Vec<String> = engine.regions().iter().map(|r| r.to_string()).collect();
        assert!(!regions.is_empty());
        for region in regions {
            let state = engine.region_state(&region).unwrap();
            let json = serde_json::to_vec(state).unwrap();
            let back: RegionState = serde_json::from_slice(&json).unwrap();
            assert_eq!(&back, state, "{region}");
        }
    }
}

#[cfg(test)]
mod far_future_tests {
    use std::path::Path;

    use super::*;
    use crate::report::timestamp::MAX_SECONDS;

    fn abduction(id: usize, event_time: &str) -> String {
        serde_json::json!({
            "id": format!("r{id}"),
            "event_time": event_time,
            "region": "NG-BO",
            "source": {"id": format!("s{id}"), "reliability": "A", "credibility": 1},
            "text": "Gunmen abducted twenty villagers from the market.",
            "casualties": {"abducted": 30},
        })
        .to_string()
    }

    /// Every time an alert carries has the four-digit-year RFC 3339 form CAP and Alertmanager
    /// need, even for reports at the last accepted instants of year 9999: a report whose
    /// windows would end after 9999 is refused as `bad_time` (the shipped rules hop by the
    /// hour, so the last hour of 9999 is refused).
    #[test]
    fn alerts_at_the_end_of_year_9999_keep_four_digit_years() {
        let mut engine = crate::config::load(Path::new("config"))
            .unwrap()
            .engine()
            .unwrap();
        let mut alerts = Vec::new();
        for i in 0..20 {
            let line = abduction(i, &format!("9999-12-31T22:{:02}:00Z", 40 + i));
            alerts.extend(engine.process_alerts(line.as_bytes(), None));
        }
        assert!(!alerts.is_empty());
        for a in &alerts {
            for t in [&a.first_seen, &a.updated_at, &a.window.start, &a.window.end] {
                let parsed = chrono::DateTime::parse_from_rfc3339(t);
                assert!(parsed.is_ok_and(|p| p.timestamp() <= MAX_SECONDS), "{t}");
                assert!(t.starts_with("9999-12-"), "{t}");
            }
        }
        for t in ["9999-12-31T23:00:00Z", "9999-12-31T23:59:59Z"] {
            match engine.process(abduction(99, t).as_bytes(), None) {
                Outcome::Rejected(e) => {
                    assert_eq!(
                        (e.reason, e.field.as_str()),
                        (RejectReason::BadTime, "event_time")
                    );
                    assert!(e.detail.contains("9999-12-31T22:59:59Z"), "{e}");
                }
                other => panic!("{t}: {other:?}"),
            }
        }
    }
}
