//! Tests of admission, panes, eviction and change tracking.

use super::near_duplicate::{BINS, Fingerprint};
use super::panes::{SourceHint, gallop};
use super::sources::{SMALL_SOURCE_BAR, distinct_sources, distinct_sources_up_to};
use super::*;

/// A fingerprint no other report shares.
fn distinct() -> Option<Fingerprint> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let key = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Some(Fingerprint {
        key,
        sketch: [0; BINS],
    })
}

const ALL: Want = Want {
    sources: SourceCount::Exact,
    maxima: true,
};

fn contribution(id: &str, source: &str) -> Contribution<'static> {
    Contribution {
        report_id: Box::leak(Box::new(Arc::from(id))),
        source_id: Box::leak(source.to_string().into_boxed_str()),
        score_milli: 500,
        casualties: [1, 0, 2, 0, 0, 0],
        civilians_killed: 0,
        corroborated: true,
    }
}

#[test]
fn watermark_lateness_and_dedup() {
    let s = WindowSettings::default();
    let mut w = RegionWindows::new(true);
    let accepted = |late: bool, id: &str| Admission::Accepted {
        late,
        id: Arc::from(id),
    };
    assert_eq!(w.admit("a", 100_000, &s, distinct), accepted(false, "a"));
    assert_eq!(w.admit("a", 100_000, &s, distinct), Admission::Duplicate);
    assert_eq!(w.admit("b", 90_000, &s, distinct), accepted(true, "b"));
    assert_eq!(w.watermark, 100_000);
    let too_old = 100_000 - s.allowed_lateness_secs - 1;
    assert_eq!(w.admit("c", too_old, &s, distinct), Admission::TooLate);
    // Exactly at the lateness bound is still accepted.
    assert_eq!(
        w.admit("d", 100_000 - s.allowed_lateness_secs, &s, distinct),
        accepted(true, "d")
    );
}

#[test]
fn windows_sum_panes_and_count_distinct_sources() {
    let s = WindowSettings::default();
    let mut w = RegionWindows::new(true);
    let sig = Signal::Threat(2);
    for (i, (t, src)) in [(0, "s1"), (1800, "s2"), (3600, "s1"), (7200, "s3")]
        .iter()
        .enumerate()
    {
        w.add(sig, *t, &contribution(&format!("r{i}"), src), &s);
    }
    let agg = w.aggregate(sig, 0, 7200, ALL);
    assert_eq!(agg.reports, 3);
    assert_eq!(agg.sources, 2);
    assert_eq!(agg.casualties[2], 6);
    assert_eq!(w.evidence(&[sig], 0, 7200, 10), ["r0", "r1", "r2"]);
    assert_eq!(w.evidence(&[sig], 0, 7200, 2), ["r0", "r1"]);
    assert_eq!(w.aggregate(sig, 0, 7200, Want::default()).sources, 0);
    assert_eq!(agg.score, 1.5);
    assert_eq!(w.count(sig, 3600, 10_800), 2);
    assert_eq!(w.pane_count(), 3);
}

/// Three reports on the first day and one ten days later, then an eviction of the first.
fn four_reports_then_eviction(track_changes: bool) -> RegionWindows {
    let s = WindowSettings::default();
    let mut w = RegionWindows::new(track_changes);
    for (i, t) in [0i64, 10, 4000, 90_000 * 10].iter().enumerate() {
        let id = format!("r{i}");
        w.admit(&id, *t, &s, distinct);
        w.add(Signal::Threat(1), *t, &contribution(&id, "s"), &s);
    }
    w.evict(86_400, &s);
    w
}

#[test]
fn changes_round_trip_through_parts() {
    let mut w = four_reports_then_eviction(true);
    let changes = w.take_changes();
    assert!(
        changes.panes.iter().any(|(_, _, p)| p.is_none()),
        "evicted panes are tombstones"
    );
    assert!(
        changes.seen.iter().any(|(_, t)| t.is_none()),
        "evicted ids are tombstones"
    );
    let rebuilt = RegionWindows::from_parts(
        w.watermark,
        changes
            .panes
            .into_iter()
            .filter_map(|(sig, start, p)| p.map(|p| (sig, start, p))),
        changes
            .seen
            .into_iter()
            .filter_map(|(id, t)| t.map(|t| (id, t))),
    );
    assert_eq!(rebuilt, w);
    assert!(w.take_changes().panes.is_empty());
}

#[test]
fn without_a_changelog_nothing_is_recorded() {
    let mut w = four_reports_then_eviction(false);
    assert_eq!(w.pane_count(), 1, "eviction still runs");
    let changes = w.take_changes();
    assert!(changes.panes.is_empty() && changes.seen.is_empty());
}

#[test]
fn eviction_keeps_what_lateness_can_still_reach() {
    let s = WindowSettings::default();
    let mut w = RegionWindows::new(true);
    let sig = Signal::Risk(7);
    w.add(sig, 0, &contribution("old", "s"), &s);
    w.admit("old", 0, &s, distinct);
    let now = 10 * 86_400;
    w.add(sig, now, &contribution("new", "s"), &s);
    w.admit("new", now, &s, distinct);
    w.evict(86_400, &s);
    assert_eq!(w.pane_count(), 1);
    assert!(matches!(
        w.admit("old", now - 3600, &s, distinct),
        Admission::Accepted { late: true, .. }
    ));
}

proptest::proptest! {
    /// The running totals agree with a plain sum over the panes, and the source hints with
    /// the panes' sources, whatever the order reports arrive in and wherever eviction cuts.
    #[test]
    fn running_totals_equal_plain_sums(
        mut reports in proptest::collection::vec((0i64..2_000_000, 0u64..50, 0u64..1000), 1..400),
        evict_every in 1usize..60,
        from in 0i64..2_000_000,
        len in 0i64..2_000_000,
    ) {
        let s = WindowSettings::default();
        let mut w = RegionWindows::new(true);
        let sig = Signal::Threat(0);
        // Mostly in order, as streams are, so that eviction and compaction run often.
        reports.sort_by_key(|r| r.0 / 200_000);
        for (i, &(t, killed, score)) in reports.iter().enumerate() {
            let mut c = contribution(&format!("r{i}"), ["s0", "s1", "s2"][(score % 3) as usize]);
            c.casualties[0] = killed;
            c.score_milli = score;
            w.watermark = w.watermark.max(t);
            w.add(sig, t, &c, &s);
            if i % evict_every == 0 {
                w.evict(0, &WindowSettings { allowed_lateness_secs: 300_000, ..s.clone() });
            }
        }
        let Some(series) = w.panes.get(&sig) else {
            return Ok(());
        };
        let (mut reports_sum, mut killed_sum, mut score_sum) = (0u64, 0u64, 0u64);
        for (start, pane) in series.live() {
            if (from..from + len).contains(&start) {
                reports_sum += u64::from(pane.reports);
                killed_sum += pane.casualties[0];
                score_sum += pane.score_milli;
            }
        }
        let agg = w.aggregate(sig, from, from + len, ALL);
        proptest::prop_assert_eq!(agg.reports, reports_sum);
        proptest::prop_assert_eq!(agg.casualties[0], killed_sum);
        proptest::prop_assert_eq!(agg.score, score_sum as f64 / 1000.0);
        proptest::prop_assert_eq!(w.count(sig, from, from + len), reports_sum);
        for (hint, pane) in series.hints[series.head..].iter().zip(&series.panes[series.head..]) {
            proptest::prop_assert_eq!(*hint, SourceHint::of(pane));
        }
        for cap in 1..=3 {
            let capped = Want { sources: SourceCount::UpTo(cap), maxima: false };
            let capped = w.aggregate(sig, from, from + len, capped).sources;
            proptest::prop_assert_eq!(capped, agg.sources.min(cap));
        }
    }

    /// Galloping from any guess finds what a binary search finds.
    #[test]
    fn gallop_agrees_with_binary_search(
        set in proptest::collection::btree_set(-50i64..50, 0..40),
        guess in 0usize..60,
        t in -60i64..60,
    ) {
        let v: Vec<i64> = set.into_iter().collect();
        proptest::prop_assert_eq!(gallop(&v, guess, t), v.partition_point(|&x| x < t));
    }

    /// The capped count is the exact count, capped.
    #[test]
    fn capped_source_count_is_the_exact_count_capped(
        panes in proptest::collection::vec(proptest::collection::btree_set(0u64..12, 0..6), 0..10),
        cap in 1u64..=SMALL_SOURCE_BAR,
    ) {
        let panes: Vec<Pane> = panes
            .into_iter()
            .map(|sources| Pane { sources: sources.into_iter().collect(), ..Pane::default() })
            .collect();
        let hints: Vec<SourceHint> = panes.iter().map(SourceHint::of).collect();
        proptest::prop_assert_eq!(
            distinct_sources_up_to(&hints, &panes, cap),
            distinct_sources(&panes).min(cap)
        );
    }
}
