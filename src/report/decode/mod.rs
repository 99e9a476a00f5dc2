//! Decoding one message into a validated report: the entry point, [`decode`].
//!
//! The bytes are bounded and checked as UTF-8, then the common shape is read in one pass by
//! [`fast`]; anything else goes to serde_json, which decodes it or explains why not. Errors are
//! always serde's, mapped onto a [`RejectReason`] with the field's path and without the offending
//! value. The decoded report then goes through [`validate`].

mod fast;

use crate::report::field_readers::object;
use crate::report::limits::Limits;
use crate::report::model::{Report, ValidReport};
use crate::report::reject::{RejectError, RejectReason};
use crate::report::validate::validate;

/// Decodes and validates one message (a Kafka record value or a JSONL line, UTF-8 JSON).
/// `received_at` (Unix seconds, e.g. the Kafka record timestamp) bounds how far in the future
/// `event_time` may lie; offline paths pass `None` and rely on `reported_at` alone, which keeps
/// the backtest deterministic.
///
/// # Errors
///
/// A [`RejectError`] for the first fault found: size, then UTF-8, then JSON and the schema's
/// types (named by serde, with the field's path), then the checks of validation.
pub fn decode<'a>(
    bytes: &'a [u8],
    limits: &Limits,
    received_at: Option<i64>,
) -> Result<ValidReport<'a>, RejectError> {
    if bytes.len() > limits.max_message_bytes {
        return Err(RejectError::new(
            RejectReason::TooLarge,
            "",
            format!(
                "message of {} bytes exceeds limits.max_message_bytes = {}",
                bytes.len(),
                limits.max_message_bytes
            ),
        ));
    }
    // SIMD validation (the standard library's is byte-wise outside ASCII runs, and French text
    // has accents every few words); serde_json then reads the text without checking it again.
    let text = simdutf8::compat::from_utf8(bytes).map_err(|e| {
        RejectError::new(
            RejectReason::InvalidUtf8,
            "",
            format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        )
    })?;
    // The common shape is read in one pass; anything else goes to serde, without path tracking
    // first, and a failure is decoded again to name the field.
    let report: Report<'a> = match fast::decode(text) {
        Some(r) => r,
        None => match serde_json::from_str::<object::Object<Report<'a>>>(text) {
            Ok(r) => r.0,
            Err(_) => return Err(explain(text)),
        },
    };
    validate(report, limits, received_at)
}

/// Decodes a failed message again with path tracking, to say which field failed and why.
fn explain(text: &str) -> RejectError {
    let mut de = serde_json::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, object::Object<Report<'_>>>(&mut de) {
        Err(e) => classify(e),
        Ok(_) => match de.end() {
            Err(e) => RejectError::new(
                RejectReason::MalformedJson,
                "",
                format!(
                    "trailing characters at line {} column {}",
                    e.line(),
                    e.column()
                ),
            ),
            Ok(()) => RejectError::new(RejectReason::MalformedJson, "", "undecodable JSON"),
        },
    }
}

/// Maps a serde error onto a reason code without repeating the offending value.
fn classify(err: serde_path_to_error::Error<serde_json::Error>) -> RejectError {
    let path = err.path().to_string();
    let path = if path == "." { String::new() } else { path };
    let inner = err.inner();
    match inner.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => RejectError::new(
            RejectReason::MalformedJson,
            path,
            format!(
                "invalid JSON at line {} column {}",
                inner.line(),
                inner.column()
            ),
        ),
        serde_json::error::Category::Io => {
            RejectError::new(RejectReason::MalformedJson, path, "unreadable input")
        }
        serde_json::error::Category::Data => {
            let msg = inner.to_string();
            if let Some(rest) = msg.strip_prefix("duplicate field `") {
                // RFC 8259 leaves a repeated name's meaning to each reader: refuse the object
                // rather than keep either value.
                let name = rest.split('`').next().unwrap_or_default();
                RejectError::new(
                    RejectReason::MalformedJson,
                    join_path(&path, name),
                    "key repeated in one object",
                )
            } else if let Some(rest) = msg.strip_prefix("missing field `") {
                let name = rest.split('`').next().unwrap_or_default();
                RejectError::new(
                    RejectReason::MissingField,
                    join_path(&path, name),
                    "required field is absent",
                )
            } else {
                // "invalid type: string \"…\", expected u32 at line …": keep only the expectation.
                let expected = msg
                    .split(", expected ")
                    .nth(1)
                    .map(|s| s.split(" at line ").next().unwrap_or(s))
                    .unwrap_or("a different type");
                let reason = if msg.starts_with("unknown variant") {
                    RejectReason::BadValue
                } else {
                    RejectReason::BadType
                };
                RejectError::new(reason, path, format!("expected {expected}"))
            }
        }
    }
}

fn join_path(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::report::model::SourceKind;

    /// A valid report with an unknown field, for tests to spoil one field of.
    pub(crate) fn good() -> serde_json::Value {
        serde_json::json!({
            "id": "r-1", "event_time": "2026-03-01T10:00:00Z", "region": "NG-BO",
            "source": {"id": "s-1", "kind": "ngo", "reliability": "B", "credibility": 2},
            "text": "Gunmen abducted 12 girls.", "casualties": {"abducted": 12},
            "extra_field": {"kept": true}
        })
    }

    /// Why `v` is refused under the default limits (it must be).
    pub(crate) fn reject(v: serde_json::Value) -> RejectError {
        let bytes = serde_json::to_vec(&v).unwrap();
        decode(&bytes, &Limits::default(), None).unwrap_err()
    }

    #[test]
    fn accepts_valid_report_and_ignores_unknown_fields() {
        let bytes = serde_json::to_vec(&good()).unwrap();
        let r = decode(&bytes, &Limits::default(), None).unwrap();
        assert_eq!(r.report.id, "r-1");
        assert_eq!(r.casualties.abducted, 12);
        assert!(r.corroborated);
        assert_eq!(r.reliability_milli, 640);
    }

    #[test]
    fn missing_field_names_the_path() {
        let mut v = good();
        v["source"].as_object_mut().unwrap().remove("id");
        let e = reject(v);
        assert_eq!(e.reason, RejectReason::MissingField);
        assert_eq!(e.field, "source.id");
    }

    #[test]
    fn bad_type_names_field_and_hides_value() {
        let mut v = good();
        v["casualties"]["killed"] = serde_json::json!("Fatima Musa");
        let e = reject(v);
        assert_eq!(e.reason, RejectReason::BadType);
        assert_eq!(e.field, "casualties.killed");
        assert!(!e.to_string().contains("Fatima"), "{e}");
    }

    #[test]
    fn optional_and_listed_strings_are_borrowed_unless_escaped() {
        let line = br#"{"id": "r1", "event_time": "2026-03-01T00:00:00Z", "region": "NG-BO",
            "source": {"id": "s", "reliability": "B"}, "title": "Plain title",
            "text": "t", "language": "en", "categories": ["abduction", "si\u0065ge"]}"#;
        let r = decode(line, &Limits::default(), None).unwrap();
        assert!(matches!(r.report.title, Some(Cow::Borrowed("Plain title"))));
        assert!(matches!(
            r.report.source.reliability,
            Some(Cow::Borrowed("B"))
        ));
        assert!(matches!(r.report.categories[0], Cow::Borrowed("abduction")));
        // An escaped string cannot be borrowed; it is decoded into an owned copy.
        assert!(matches!(&r.report.categories[1], Cow::Owned(s) if s == "siege"));
    }

    #[test]
    fn malformed_json_and_invalid_utf8() {
        let e = decode(b"{\"id\": ", &Limits::default(), None).unwrap_err();
        assert_eq!(e.reason, RejectReason::MalformedJson);
        let e = decode(b"{\"id\": \"\xff\"}", &Limits::default(), None).unwrap_err();
        assert_eq!(e.reason, RejectReason::InvalidUtf8);
        let big = vec![b' '; Limits::default().max_message_bytes + 1];
        assert_eq!(
            decode(&big, &Limits::default(), None).unwrap_err().reason,
            RejectReason::TooLarge
        );
    }

    #[test]
    fn arrays_are_not_read_as_objects() {
        // serde's derived structs read arrays positionally: `[40]` was 40 killed.
        let mut v = good();
        v["casualties"] = serde_json::json!([40]);
        let e = reject(v);
        assert_eq!(
            (e.reason, e.field.as_str(), e.detail.as_str()),
            (
                RejectReason::BadType,
                "casualties",
                "expected a JSON object"
            )
        );
        for (field, value) in [
            ("source", serde_json::json!(["s-2", "ngo", "A", 1])),
            ("location", serde_json::json!(["Bama", 11.5, 13.7])),
            ("actors", serde_json::json!([["Group A", "militia", false]])),
        ] {
            let mut v = good();
            v[field] = value;
            let e = reject(v);
            assert_eq!(e.reason, RejectReason::BadType, "{field}");
            assert!(e.field.starts_with(field), "{field}: {e}");
        }
        let positional = serde_json::json!([
            "r-2", "2026-03-01T10:00:00Z", null, "NG-BO", null, {"id": "s-1"}, null, null,
            "Gunmen abducted 12 girls.", [], null, []
        ]);
        let e = reject(positional);
        assert_eq!((e.reason, e.field.as_str()), (RejectReason::BadType, ""));
        // Objects still read, borrowing as before.
        let bytes = serde_json::to_vec(&good()).unwrap();
        assert!(decode(&bytes, &Limits::default(), None).is_ok());
    }

    #[test]
    fn repeated_keys_and_wrongly_typed_kinds_have_their_own_reasons() {
        let base = r#""event_time":"2026-03-01T10:00:00Z","region":"NG-BO","text":"x""#;
        let e = decode(
            format!(r#"{{"id":"a","id":"b",{base},"source":{{"id":"s"}}}}"#).as_bytes(),
            &Limits::default(),
            None,
        )
        .unwrap_err();
        assert_eq!(
            (e.reason, e.field.as_str(), e.detail.as_str()),
            (
                RejectReason::MalformedJson,
                "id",
                "key repeated in one object"
            )
        );
        let e = decode(
            format!(r#"{{"id":"a",{base},"source":{{"id":"s","id":"t"}}}}"#).as_bytes(),
            &Limits::default(),
            None,
        )
        .unwrap_err();
        assert_eq!(
            (e.reason, e.field.as_str()),
            (RejectReason::MalformedJson, "source.id")
        );
        // A well-formed number where a kind name belongs was filed as malformed JSON.
        for (kind, reason) in [
            ("3", RejectReason::BadType),
            ("true", RejectReason::BadType),
            (r#"{"ngo":1}"#, RejectReason::BadType),
            (r#""alien""#, RejectReason::BadValue),
        ] {
            let line = format!(r#"{{"id":"a",{base},"source":{{"id":"s","kind":{kind}}}}}"#);
            let e = decode(line.as_bytes(), &Limits::default(), None).unwrap_err();
            assert_eq!(
                (e.reason, e.field.as_str()),
                (reason, "source.kind"),
                "{kind}"
            );
            assert!(!e.detail.contains("alien"), "{e}");
        }
        let line = format!(r#"{{"id":"a",{base},"source":{{"id":"s","kind":"un"}}}}"#);
        let r = decode(line.as_bytes(), &Limits::default(), None).unwrap();
        assert_eq!(r.report.source.kind, Some(SourceKind::Un));
    }
}
