//! One delivery attempt to a subscriber that POSTs (`webhook`, `alertmanager`): the body its
//! kind gets, the contract's headers, and the verdict on the answer. No retrying here: the
//! delivery stage schedules retries (`retry.rs`) so that no attempt waits on another.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::retry::{Verdict, judge};
use super::signature::{DELIVERY_ID_HEADER, SIGNATURE_HEADER, sign};
use super::subscriber::{Subscriber, SubscriberKind};
use crate::alert::Alert;
use crate::output::alertmanager;

/// Why a record cannot be sent to a subscriber at all (it goes to the delivery DLQ).
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the alert record is not valid JSON of an alert: {0}")]
    Record(#[from] serde_json::Error),
    #[error("kind {0:?} does not post")]
    NotPosted(SubscriberKind),
}

/// The body a posting subscriber gets for one alert record (its bytes on `vigil.alerts`): the
/// record itself for `webhook`, the Alertmanager webhook payload (version 4, receiver = the
/// subscriber's name) for `alertmanager`.
pub fn body(subscriber: &Subscriber, record: &[u8]) -> Result<Vec<u8>, BodyError> {
    match subscriber.kind {
        SubscriberKind::Webhook => Ok(record.to_vec()),
        SubscriberKind::Alertmanager => {
            let alert: Alert = serde_json::from_slice(record)?;
            Ok(serde_json::to_vec(&alertmanager::payload(
                &alert,
                &subscriber.name,
            ))?)
        }
        kind => Err(BodyError::NotPosted(kind)),
    }
}

/// An HTTP client for deliveries: no redirects followed, `timeout` per attempt.
///
/// Errors: the TLS backend cannot be initialised.
pub fn client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// POSTs `body` to the subscriber's URL with `Vigil-Delivery-Id: delivery_id` and, when `key`
/// is given, `Vigil-Signature` signed at `now`.
pub async fn attempt(
    client: &reqwest::Client,
    subscriber: &Subscriber,
    key: Option<&[u8]>,
    delivery_id: &str,
    body: Vec<u8>,
    now: DateTime<Utc>,
) -> Verdict {
    let Some(url) = &subscriber.url else {
        return Verdict::Refused {
            reason: "no url".into(),
        };
    };
    let mut request = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(DELIVERY_ID_HEADER, delivery_id);
    if let Some(key) = key {
        request = request.header(SIGNATURE_HEADER, sign(key, now.timestamp(), &body));
    }
    match request.body(body).send().await {
        Ok(answer) => {
            let retry_after = answer
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            judge(Some(answer.status().as_u16()), retry_after.as_deref(), now)
        }
        Err(e) => Verdict::Retry {
            after: None,
            reason: if e.is_timeout() {
                "timed out".into()
            } else if e.is_connect() {
                "cannot connect".into()
            } else {
                "no answer".into()
            },
        },
    }
}

/// A URL as logs may show it: user name, password, path and query values masked, as each may
/// carry a credential (chat and paging services put their token in the path). The scheme, host
/// and port stay, enough to tell receivers apart.
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        return "<invalid url>".into();
    };
    if !parsed.username().is_empty() {
        let _ = parsed.set_username("***");
    }
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    if parsed.path() != "/" {
        parsed.set_path("/***");
    }
    if parsed.query().is_some() {
        let masked: Vec<String> = parsed
            .query_pairs()
            .map(|(k, _)| format!("{k}=***"))
            .collect();
        parsed.set_query(Some(&masked.join("&")));
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_logs_carry_no_credentials() {
        assert_eq!(
            redact_url("https://desk:s3cret@example.org/hook?token=abc&x=1"),
            "https://***:***@example.org/***?token=***&x=***"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:8080/alerts"),
            "http://127.0.0.1:8080/***"
        );
        assert_eq!(
            redact_url("https://hooks.example.org/services/T000/B000/XXXXsecret"),
            "https://hooks.example.org/***"
        );
        assert_eq!(redact_url("http://127.0.0.1:9/"), "http://127.0.0.1:9/");
        assert_eq!(redact_url("not a url"), "<invalid url>");
    }
}
