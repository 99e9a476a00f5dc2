//! One attempt of a delivery, by the subscriber's kind: the webhook record, the
//! Alertmanager payload of a group, or an e-mail.

use chrono::Utc;

use crate::alert::Alert;
use crate::delivery::email::{self};
use crate::delivery::retry::Verdict;
use crate::delivery::signature::notification_id;
use crate::delivery::subscriber::{Subscriber, SubscriberKind};
use crate::delivery::webhook::attempt;
use crate::output::alertmanager;

use super::state::Delivery;

/// One attempt of `delivery` to `sub`, by its kind.
pub(super) async fn send(
    sub: &Subscriber,
    key: Option<&[u8]>,
    http: &reqwest::Client,
    smtp: Option<&lettre::AsyncSmtpTransport<lettre::Tokio1Executor>>,
    smtp_settings: &crate::delivery::retry::SmtpSettings,
    delivery: &Delivery,
) -> Verdict {
    let records: Vec<&[u8]> = delivery
        .members
        .iter()
        .map(|m| m.record.as_slice())
        .collect();
    let id = notification_id(&sub.name, &records, delivery.repeat_of).to_string();
    let alerts: Vec<&Alert> = delivery.members.iter().map(|m| m.alert.as_ref()).collect();
    let group = delivery.group.clone().unwrap_or_default();
    match sub.kind {
        SubscriberKind::Webhook => match records.as_slice() {
            [one] => attempt(http, sub, key, &id, one.to_vec(), Utc::now()).await,
            _ => Verdict::Refused {
                reason: "a webhook delivery carries one record".into(),
            },
        },
        SubscriberKind::Alertmanager => {
            let payload = alertmanager::grouped(&alerts, &sub.name, &sub.group_by);
            match serde_json::to_vec(&payload) {
                Ok(body) => attempt(http, sub, key, &id, body, Utc::now()).await,
                Err(e) => Verdict::Refused {
                    reason: e.to_string(),
                },
            }
        }
        SubscriberKind::Email => match smtp {
            Some(t) => {
                let (subject, body) = email::render(sub, &group, &alerts);
                email::attempt(t, smtp_settings, sub, &id, subject, body).await
            }
            None => Verdict::Refused {
                reason: "no SMTP transport".into(),
            },
        },
        SubscriberKind::CapFeed => Verdict::Refused {
            reason: "a cap_feed is served, not sent".into(),
        },
    }
}
