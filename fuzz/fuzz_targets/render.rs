//! The renderers on alerts with arbitrary strings in every field an input can reach (region,
//! report ids) and in those it cannot today (rule, signal, summary, times).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    vigil_fuzz::check_render_fields(data);
});
