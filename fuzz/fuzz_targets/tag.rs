//! Tagging of arbitrary text: the input becomes the `text` (and, split at the first newline,
//! the `title`) of an otherwise valid report, so that every input reaches the tagger.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (title, body) = text.split_once('\n').unwrap_or(("", &text));
    let report = serde_json::json!({
        "id": "fuzz-1",
        "event_time": "2026-03-01T12:00:00Z",
        "region": "NG-BO",
        "source": {"id": "fuzz", "kind": "media", "reliability": "A", "credibility": 1},
        "language": "en",
        "title": title,
        "text": body,
    });
    if let Ok(bytes) = serde_json::to_vec(&report) {
        vigil_fuzz::check_decode_and_tag(&bytes);
    }
});
