//! Criterion benchmarks of the core on `vigil gen` reports (~1 KB): decode-only as the in-run
//! baseline, decode + tag, then decode + tag + window + rules. Before the timings it prints the state memory
//! per non-empty pane, measured with a counting allocator.
//!
//! `cargo bench --bench core`

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicIsize, Ordering};

use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use vigil::config;
use vigil::engine::Engine;
use vigil::generator::{GenOptions, generate};
use vigil::report::{Limits, decode};
use vigil::tagger::Scratch;

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
    let panes = e.pane_count();
    println!(
        "state memory: {} bytes for {} non-empty panes in {} window keys = {:.0} bytes per pane (ids, trackers and panes included)",
        after - before,
        panes,
        e.window_key_count(),
        (after - before) as f64 / panes as f64
    );
}

fn bench(c: &mut Criterion) {
    let lines = reports();
    report_state_memory(&lines);
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
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
