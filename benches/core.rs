//! Criterion benchmarks of the core on `vigil gen` reports (~1 KB): decode-only as the in-run
//! baseline, decode + tag, then decode + tag + window + rules; and the cost of a watermark jump
//! of a century against a jump of an hour (the in-run baseline), on a region with an open
//! episode. Before the timings it prints the state memory per non-empty pane, per 100,000
//! reports and per region, measured with a counting allocator.
//!
//! `cargo bench --bench core`

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicIsize, Ordering};

use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use vigil::config;
use vigil::engine::Engine;
use vigil::input::generator::{GenOptions, generate};
use vigil::report::{Limits, decode};
use vigil::tag::Scratch;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const COUNT: usize = 20_000;

fn reports() -> Vec<String> {
    generate(&GenOptions::benchmark(11, COUNT)).collect()
}

fn engine() -> Engine {
    config::load(Path::new("config"))
        .expect("config")
        .engine()
        .expect("engine")
}

fn report_state_memory(lines: &[String]) {
    let mut e = engine();
    let before = LIVE.load(Ordering::Relaxed);
    for l in lines {
        let _ = e.process(l.as_bytes(), None);
    }
    let after = LIVE.load(Ordering::Relaxed);
    let panes = e.gauges().panes;
    println!(
        "state memory: {} bytes for {} non-empty panes in {} window keys = {:.0} bytes per pane (ids, trackers and panes included)",
        after - before,
        panes,
        e.gauges().window_keys,
        (after - before) as f64 / panes as f64
    );
}

/// Live bytes the engine holds after processing `lines`.
fn state_bytes(lines: &[String]) -> (isize, Engine) {
    let mut e = engine();
    let before = LIVE.load(Ordering::Relaxed);
    for l in lines {
        let _ = e.process(l.as_bytes(), None);
    }
    (LIVE.load(Ordering::Relaxed) - before, e)
}

/// State memory per 100,000 reports (16 regions, as `vigil bench` generates them) and per
/// region (10,000 regions of three reports each).
fn report_scaling_memory() {
    let lines: Vec<String> = generate(&GenOptions::benchmark(11, 100_000)).collect();
    let (bytes, e) = state_bytes(&lines);
    println!(
        "state memory: {bytes} bytes after 100,000 reports in {} regions ({} panes, {} held)",
        e.regions().len(),
        e.gauges().panes,
        e.gauges().held
    );
    let regions: Vec<String> = generate(&GenOptions::benchmark(12, 30_000))
        .enumerate()
        .filter_map(|(i, l)| {
            let mut v: serde_json::Value = serde_json::from_str(&l).ok()?;
            v["region"] = serde_json::json!(format!("XR-{}", i / 3));
            Some(v.to_string())
        })
        .collect();
    let (bytes, e) = state_bytes(&regions);
    let n = e.regions().len();
    println!(
        "state memory: {bytes} bytes for {n} regions of 3 reports = {:.0} bytes per region",
        bytes as f64 / n as f64
    );
}

/// A region with an open abduction episode, and the report that moves its watermark by `jump`
/// seconds (anchored by its own `reported_at`, so it is admitted rather than held).
fn jump_setup(jump: i64) -> (Engine, String) {
    let mut e = engine();
    for i in 0..6 {
        let line = format!(
            r#"{{"id":"a{i}","event_time":"2026-03-05T0{i}:00:00Z","region":"NG-BO","source":{{"id":"s{i}","reliability":"A","credibility":1}},"text":"Gunmen abducted 30 pupils from the school.","casualties":{{"abducted":30}}}}"#
        );
        let _ = e.process(line.as_bytes(), None);
    }
    let t = chrono::DateTime::from_timestamp(1_772_686_800 + jump, 0)
        .expect("in range")
        .to_rfc3339();
    let next = format!(
        r#"{{"id":"jump","event_time":"{t}","reported_at":"{t}","region":"NG-BO","source":{{"id":"s9"}},"text":"Gunmen abducted two traders."}}"#
    );
    (e, next)
}

fn bench(c: &mut Criterion) {
    let lines = reports();
    report_state_memory(&lines);
    report_scaling_memory();
    let bytes: usize = lines.iter().map(String::len).sum();
    let mut group = c.benchmark_group("core");
    group.sample_size(10);
    group.throughput(Throughput::Elements(COUNT as u64));
    let limits = Limits::default();
    group.bench_function("decode_validate", |b| {
        b.iter(|| {
            lines
                .iter()
                .filter(|l| decode(l.as_bytes(), &limits, None).is_ok())
                .count()
        })
    });
    let tagger_engine = engine();
    group.bench_function("decode_tag", |b| {
        let mut scratch = Scratch::default();
        b.iter(|| {
            lines
                .iter()
                .filter_map(|l| decode(l.as_bytes(), &limits, None).ok())
                .filter(|r| tagger_engine.tagger().tag(r, &mut scratch).threats() != 0)
                .count()
        })
    });
    group.bench_function("decode_tag_window_rules", |b| {
        b.iter_batched(
            engine,
            |mut e| {
                for l in &lines {
                    let _ = e.process(l.as_bytes(), None);
                }
                e
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
    println!("input: {COUNT} reports, {} bytes mean", bytes / COUNT);

    let mut group = c.benchmark_group("watermark_jump");
    group.sample_size(20);
    for (name, jump) in [
        ("one_hour", 3600),
        ("one_hundred_years", 100 * 365 * 86_400),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || jump_setup(jump),
                |(mut e, next)| {
                    let _ = e.process(next.as_bytes(), None);
                    e
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
