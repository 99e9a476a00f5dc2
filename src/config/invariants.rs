//! The settings' own invariants that serde cannot express: positive widths and limits, the
//! earliest event time, CAP and SMTP settings, TLS files given in pairs, stream clients below
//! the connection limit, and no secret in `[kafka.client]` (docs/security.md).

use std::path::Path;

use super::{ConfigIssue, FIRST_SECOND_OF_YEAR_1, Settings, issue_at, secret};

/// The settings' own invariants that serde cannot express.
pub(super) fn check_settings(settings: &Settings, main_path: &Path, issues: &mut Vec<ConfigIssue>) {
    if settings.window.pane_secs <= 0 {
        issues.push(issue_at(
            main_path,
            None,
            "window.pane_secs",
            "must be positive",
        ));
    }
    if settings.window.allowed_lateness_secs < 0 {
        issues.push(issue_at(
            main_path,
            None,
            "window.allowed_lateness_secs",
            "must not be negative",
        ));
    }
    // Alert times are window ends after the earliest event time; CAP's `sent` (xs:dateTime)
    // has no year 0000 and RFC 3339 no negative years.
    if settings.limits.earliest_event_time.timestamp() < FIRST_SECOND_OF_YEAR_1 {
        issues.push(issue_at(
            main_path,
            None,
            "limits.earliest_event_time",
            "must not lie before 0001-01-01T00:00:00Z",
        ));
    }
    for problem in settings.cap.check() {
        let (field, message) = problem.split_once(": ").unwrap_or(("cap", &problem));
        issues.push(issue_at(main_path, None, field, message));
    }
    if let Err(message) = settings.delivery.smtp.check() {
        issues.push(issue_at(main_path, None, "delivery.smtp", &message));
    }
    // hyper refuses a smaller read buffer.
    if settings.http.max_header_bytes < 8192 {
        issues.push(issue_at(
            main_path,
            None,
            "http.max_header_bytes",
            "must be at least 8192",
        ));
    }
    if settings.http.max_connections == 0 || settings.http.header_read_timeout_ms == 0 {
        issues.push(issue_at(
            main_path,
            None,
            "http",
            "max_connections and header_read_timeout_ms must be positive",
        ));
    }
    // Stream clients hold connections for good: at the limit, /healthz and /metrics would wait.
    if settings.desk.enabled && settings.desk.max_stream_clients >= settings.http.max_connections {
        issues.push(issue_at(
            main_path,
            None,
            "desk.max_stream_clients",
            "must be below http.max_connections, which the stream's clients share with /healthz, /metrics and the API",
        ));
    }
    if settings.http.tls_cert_file.is_some() != settings.http.tls_key_file.is_some() {
        issues.push(issue_at(
            main_path,
            None,
            "http.tls_cert_file",
            "tls_cert_file and tls_key_file go together",
        ));
    }
    // Secrets come from the environment or files it names (config/secret.rs), never from
    // configuration, which is copied into ConfigMaps, images and bug reports.
    for key in settings.kafka.client.keys() {
        if secret::is_secret_property(key) {
            issues.push(issue_at(
                main_path,
                None,
                &format!("kafka.client.{key}"),
                "secrets are not read from configuration: set VIGIL_KAFKA_SASL_PASSWORD or \
                 VIGIL_KAFKA_SSL_KEY_PASSWORD (or the same name with _FILE, naming a file that holds it)",
            ));
        }
    }
    if !["text", "json"].contains(&settings.log.format.as_str()) {
        issues.push(issue_at(
            main_path,
            None,
            "log.format",
            "expected text or json",
        ));
    }
}
