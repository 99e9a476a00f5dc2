//! The retry policy of a delivery attempt: which answers end it, which are retried and when,
//! and until when. A delivery is done on a 2xx. 408, 429, 5xx and no answer at all (refused
//! connection, timeout) are retried with exponential backoff and full jitter, waiting at least
//! what `Retry-After` asks; any other status is refused at once, as are redirects (a webhook
//! that moved must be reconfigured, not followed). A delivery still failing `max_age_secs`
//! after its first attempt goes to `vigil.delivery-dlq` with the last reason.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// `[delivery]` in `config/vigil.toml`: how deliveries are attempted and retried.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliverySettings {
    /// Whether `vigil run` starts delivery beside the pipeline (`vigil deliver` always does).
    pub enabled: bool,
    /// The first retry waits up to this long (milliseconds); each further one doubles it.
    pub initial_backoff_ms: u64,
    /// No computed wait exceeds this (seconds); a longer `Retry-After` is still honoured.
    pub max_backoff_secs: u64,
    /// A delivery failing this long after its first attempt goes to the delivery DLQ (seconds).
    pub max_age_secs: u64,
    /// One attempt's limit, connection to last byte of the answer (milliseconds).
    pub request_timeout_ms: u64,
    /// The delivery stage's consumer group (on the alerts and retry topics).
    pub group_id: String,
    /// Deliveries waiting for their next attempt, keyed by subscriber.
    pub retry_topic: String,
    /// Deliveries refused, or still failing after `max_age_secs`, with the reason in headers.
    pub dlq_topic: String,
    /// Attempts in flight per subscriber.
    pub max_in_flight: usize,
    /// Deliveries waiting in memory per subscriber; more go to the retry topic.
    pub max_queued: usize,
    /// How often finished deliveries' input offsets are committed (milliseconds).
    pub commit_interval_ms: u64,
    /// The compacted topic of silences (`vigil silence`), key = silence id.
    pub silences_topic: String,
    /// Whether an open critical episode holds back the watch-level notices of its region and
    /// signal (`inhibit.rs`).
    pub inhibit_watch_under_critical: bool,
    /// Messages each CAP feed lists (the newest); older ones are still served by identifier
    /// until this many newer ones push them out of memory.
    pub feed_max_entries: usize,
    /// The scheme, host and port CAP feed links start with (`https://alerts.example.org`);
    /// unset, the request's `Host` over `http`.
    pub feed_base_url: Option<String>,
    /// The SMTP server of `email` subscribers.
    pub smtp: SmtpSettings,
}

/// `[delivery.smtp]`: the server `email` subscribers are sent through. Credentials come from
/// the environment variables named here, never from this file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    /// Host name (empty: no e-mail; an `email` subscriber is then an error at start).
    pub host: String,
    pub port: u16,
    /// `starttls` (required: a server that does not offer it is refused), `tls` (implicit TLS,
    /// port 465) or `none` (local relays only).
    pub tls: SmtpTls,
    /// The `From:` address.
    pub from: String,
    /// Environment variables holding the login and password (both or neither).
    pub username_env: Option<String>,
    pub password_env: Option<String>,
    /// A PEM file of an extra certificate authority to trust (a private relay's).
    pub ca_file: Option<String>,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    Starttls,
    Tls,
    None,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            host: String::new(),
            port: 587,
            tls: SmtpTls::Starttls,
            from: "vigil@early-warning.invalid".into(),
            username_env: None,
            password_env: None,
            ca_file: None,
        }
    }
}

impl SmtpSettings {
    /// A `from` that is an address, and credentials named both or neither.
    pub fn check(&self) -> Result<(), String> {
        if self.from.parse::<lettre::Address>().is_err() {
            return Err(format!("from = {:?} is not an e-mail address", self.from));
        }
        if self.username_env.is_some() != self.password_env.is_some() {
            return Err("username_env and password_env go together".into());
        }
        Ok(())
    }
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            enabled: true,
            initial_backoff_ms: 1_000,
            max_backoff_secs: 300,
            max_age_secs: 86_400,
            request_timeout_ms: 10_000,
            group_id: "vigil-deliver".into(),
            retry_topic: "vigil.delivery-retry".into(),
            dlq_topic: "vigil.delivery-dlq".into(),
            max_in_flight: 4,
            max_queued: 1_000,
            commit_interval_ms: 200,
            silences_topic: "vigil.silences".into(),
            inhibit_watch_under_critical: true,
            feed_max_entries: 500,
            feed_base_url: None,
            smtp: SmtpSettings::default(),
        }
    }
}

/// What one attempt's answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A 2xx: done.
    Delivered,
    /// Try again, not before `after` when the receiver said so (`Retry-After`).
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// The receiver refused the request itself: retrying cannot help.
    Refused { reason: String },
}

/// The verdict on an answer with `status` (None: no answer: connection refused, reset, timed
/// out) and its `Retry-After` header, at `now`.
pub fn judge(status: Option<u16>, retry_after: Option<&str>, now: DateTime<Utc>) -> Verdict {
    let Some(status) = status else {
        return Verdict::Retry {
            after: None,
            reason: "no answer".into(),
        };
    };
    match status {
        200..=299 => Verdict::Delivered,
        408 | 429 | 500..=599 => Verdict::Retry {
            after: retry_after.and_then(|v| parse_retry_after(v, now)),
            reason: format!("status {status}"),
        },
        300..=399 => Verdict::Refused {
            reason: format!("status {status}: redirects are not followed"),
        },
        _ => Verdict::Refused {
            reason: format!("status {status}"),
        },
    }
}

/// `Retry-After` (RFC 9110 §10.2.3): delay-seconds, or an HTTP-date; a date in the past is no
/// wait. Anything else is ignored.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    // IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") is RFC 2822 with the zone GMT.
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// How long to wait before retry number `attempt` (1 for the first retry): a uniformly random
/// time up to `initial_backoff_ms · 2^(attempt-1)`, capped at `max_backoff_secs` ("full
/// jitter", so that receivers that failed together are not retried together), and never less
/// than the receiver's `Retry-After`.
pub fn backoff(
    attempt: u32,
    retry_after: Option<Duration>,
    settings: &DeliverySettings,
    rng: &mut impl Rng,
) -> Duration {
    let cap = Duration::from_secs(settings.max_backoff_secs);
    let exponent = attempt.saturating_sub(1).min(32);
    let ceiling = Duration::from_millis(settings.initial_backoff_ms)
        .saturating_mul(1u32 << exponent.min(31))
        .min(cap);
    let jittered = ceiling.mul_f64(rng.random::<f64>());
    jittered.max(retry_after.unwrap_or(Duration::ZERO))
}

/// When a delivery retried after `wait` from `now_ms` is due (Unix milliseconds), or `None` when
/// that lies past `delivery.max_age_secs` after its first attempt at `first_ms`: a receiver's
/// `Retry-After` beyond the delivery's age limit sends it to the DLQ now rather than parking it
/// (and a huge one never overflows into a due time in the past).
pub fn retry_due(
    now_ms: i64,
    wait: Duration,
    first_ms: i64,
    settings: &DeliverySettings,
) -> Option<i64> {
    let wait_ms = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
    let due = now_ms.saturating_add(wait_ms);
    let limit = first_ms.saturating_add(
        i64::try_from(settings.max_age_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
    );
    (due <= limit).then_some(due)
}

/// Whether a delivery first attempted at `first_attempt` has run out of time at `now`.
pub fn expired(
    first_attempt: DateTime<Utc>,
    now: DateTime<Utc>,
    settings: &DeliverySettings,
) -> bool {
    let age = (now - first_attempt).num_seconds();
    age >= 0 && age as u64 >= settings.max_age_secs
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_retry_after_past_the_age_limit_is_no_due_time() {
        let s = DeliverySettings::default(); // max_age 86,400 s
        let (now, first) = (1_000_000_000_000, 1_000_000_000_000 - 3_600_000);
        assert_eq!(
            retry_due(now, Duration::from_secs(60), first, &s),
            Some(now + 60_000)
        );
        // A Retry-After of a day from an hour-old delivery: past the limit.
        assert_eq!(retry_due(now, Duration::from_secs(86_400), first, &s), None);
        // So large it would overflow: never a due time in the past.
        assert_eq!(
            retry_due(now, Duration::from_secs(9_223_372_036_854_775), first, &s),
            None
        );
        assert_eq!(retry_due(now, Duration::MAX, first, &s), None);
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn answers_are_judged_as_the_contract_says() {
        assert_eq!(judge(Some(200), None, now()), Verdict::Delivered);
        assert_eq!(judge(Some(204), None, now()), Verdict::Delivered);
        for status in [408, 429, 500, 502, 503] {
            assert!(
                matches!(judge(Some(status), None, now()), Verdict::Retry { .. }),
                "{status}"
            );
        }
        for status in [301, 400, 401, 403, 404, 410, 413, 422] {
            assert!(
                matches!(judge(Some(status), None, now()), Verdict::Refused { .. }),
                "{status}"
            );
        }
        assert!(matches!(
            judge(None, None, now()),
            Verdict::Retry { after: None, .. }
        ));
        assert_eq!(
            judge(Some(429), Some("7"), now()),
            Verdict::Retry {
                after: Some(Duration::from_secs(7)),
                reason: "status 429".into()
            }
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(
            parse_retry_after("120", now()),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Mon, 30 Nov 2026 12:01:30 GMT", now()),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now()),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now()), None);
        assert_eq!(parse_retry_after("-5", now()), None);
    }

    #[test]
    fn backoff_doubles_under_its_cap_with_full_jitter_and_honours_retry_after() {
        let s = DeliverySettings::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for attempt in 1..=12u32 {
            let ceiling = Duration::from_millis(1_000 * (1u64 << (attempt - 1)))
                .min(Duration::from_secs(300));
            let waits: Vec<Duration> = (0..200)
                .map(|_| backoff(attempt, None, &s, &mut rng))
                .collect();
            assert!(waits.iter().all(|w| *w <= ceiling), "attempt {attempt}");
            // Full jitter: spread over the whole range, not bunched at the ceiling.
            assert!(waits.iter().any(|w| *w < ceiling / 4), "attempt {attempt}");
            assert!(
                waits.iter().any(|w| *w > ceiling * 3 / 4),
                "attempt {attempt}"
            );
        }
        let long = Duration::from_secs(3_600);
        assert_eq!(backoff(1, Some(long), &s, &mut rng), long);
        assert!(backoff(u32::MAX, None, &s, &mut rng) <= Duration::from_secs(300));
    }

    #[test]
    fn a_delivery_expires_at_max_age() {
        let s = DeliverySettings {
            max_age_secs: 60,
            ..DeliverySettings::default()
        };
        let first = now();
        assert!(!expired(first, first + chrono::Duration::seconds(59), &s));
        assert!(expired(first, first + chrono::Duration::seconds(60), &s));
    }
}
