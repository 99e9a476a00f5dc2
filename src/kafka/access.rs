//! What the broker refuses and retrying cannot mend: credentials it does not accept (SASL
//! authentication, the TLS handshake) and operations the principal's ACLs do not allow. Each
//! stops `vigil run` at once with the operation and resource named in `kafka-acls` terms,
//! instead of a retry loop that would look like a hang.
//!
//! librdkafka reports a refused login only to the client's error callback (and keeps retrying),
//! so clients that must fail fast carry a [`Watch`] context; authorization failures arrive as
//! error codes of the operation that was refused, and the caller says what it was doing.

use std::sync::Mutex;

use rdkafka::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{DeliveryResult, ProducerContext};

/// A refusal by the broker. Messages name the operation and resource, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// The broker refused the credentials (SASL) or the TLS handshake failed.
    #[error(
        "the Kafka broker refused the connection: {reason} (check [kafka.client] security.protocol, \
         sasl.mechanism, sasl.username, the CA and VIGIL_KAFKA_SASL_PASSWORD or VIGIL_KAFKA_SASL_PASSWORD_FILE)"
    )]
    Authentication { reason: String },
    /// An ACL is missing: `operation` (a Kafka ACL operation: `Read`, `Write`, `Describe`,
    /// `Create`) on `resource` (`Topic:<name>`, `Group:<id>`, `TransactionalId:<id>`,
    /// `Cluster:kafka-cluster`).
    #[error(
        "the Kafka principal may not {operation} {resource} ({code}): grant it an ACL allowing \
         operation {operation} on {resource} (docs/security.md lists what Vigil needs)"
    )]
    Denied {
        operation: &'static str,
        resource: String,
        code: RDKafkaErrorCode,
    },
    /// A topic Vigil needs is not visible to the principal (absent, or no `Describe`), and the
    /// principal may not create it.
    #[error(
        "the Kafka principal cannot see Topic:{topic} and may not create it ({code}): grant it \
         {needs} on Topic:{topic} (which include Describe), and create the topic if it does not \
         exist (docs/security.md lists what Vigil needs)"
    )]
    NotVisible {
        topic: String,
        needs: &'static str,
        code: RDKafkaErrorCode,
    },
}

/// What a client was doing, to name the resource of a refusal: the operation it needs on the
/// topic and group it was using, and its transactional id.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Doing<'a> {
    pub(crate) topic: Option<(&'static str, &'a str)>,
    pub(crate) group: Option<(&'static str, &'a str)>,
    pub(crate) transactional_id: Option<&'a str>,
}

/// The refusal `error` is, if it is one, named after what the client was doing.
pub(crate) fn refusal(error: &KafkaError, doing: Doing<'_>) -> Option<AccessError> {
    let code = error.rdkafka_error_code()?;
    refusal_of(code, &error.to_string(), doing)
}

fn refusal_of(code: RDKafkaErrorCode, reason: &str, doing: Doing<'_>) -> Option<AccessError> {
    use RDKafkaErrorCode as C;
    let denied = |operation, resource: String| {
        Some(AccessError::Denied {
            operation,
            resource,
            code,
        })
    };
    match code {
        C::Authentication | C::SaslAuthenticationFailed | C::SSL => {
            Some(AccessError::Authentication {
                reason: reason.to_string(),
            })
        }
        C::TopicAuthorizationFailed => {
            let (op, topic) = doing.topic.unwrap_or(("Describe", "(unknown)"));
            denied(op, format!("Topic:{topic}"))
        }
        C::GroupAuthorizationFailed => {
            let (op, group) = doing.group.unwrap_or(("Read", "(unknown)"));
            denied(op, format!("Group:{group}"))
        }
        C::TransactionalIdAuthorizationFailed => denied(
            "Write",
            format!(
                "TransactionalId:{}",
                doing.transactional_id.unwrap_or("(unknown)")
            ),
        ),
        C::ClusterAuthorizationFailed => denied("IdempotentWrite", "Cluster:kafka-cluster".into()),
        _ => None,
    }
}

/// A client context that keeps the first refused login (SASL or TLS) of any broker connection,
/// and, for producers, the first delivery the broker refused with the topic it was for. Other
/// client errors are logged, as librdkafka's default context does.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    refused: Mutex<Option<AccessError>>,
}

impl Watch {
    /// The first refusal seen, if any.
    pub(crate) fn refused(&self) -> Option<AccessError> {
        self.refused.lock().ok().and_then(|r| r.clone())
    }

    fn keep(&self, refusal: AccessError) {
        if let Ok(mut first) = self.refused.lock() {
            first.get_or_insert(refusal);
        }
    }
}

impl ClientContext for Watch {
    /// librdkafka's log lines, to `tracing` as its default context does; a partition the
    /// transaction coordinator would not add names the topic the principal may not write
    /// (the transaction's own error does not name it).
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        if fac == "ADDPARTS"
            && message.contains("Topic authorization failed")
            && let Some(topic) = message.split('"').nth(1)
        {
            self.keep(AccessError::Denied {
                operation: "Write",
                resource: format!("Topic:{topic}"),
                code: RDKafkaErrorCode::TopicAuthorizationFailed,
            });
        }
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => tracing::error!(target: "librdkafka", "{fac} {message}"),
            RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", "{fac} {message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", "{fac} {message}")
            }
            RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", "{fac} {message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        match error.rdkafka_error_code() {
            Some(RDKafkaErrorCode::Authentication | RDKafkaErrorCode::SSL) => {
                tracing::error!(%error, reason, "kafka: connection refused");
                self.keep(AccessError::Authentication {
                    reason: reason.to_string(),
                });
            }
            _ => tracing::error!(%error, reason, "kafka client error"),
        }
    }
}

impl ConsumerContext for Watch {}

impl ProducerContext for Watch {
    type DeliveryOpaque = ();

    /// A record the broker refused for lack of an ACL names its topic: the transaction's own
    /// error does not.
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((error, message)) = result {
            let topic = message.topic();
            let doing = Doing {
                topic: Some(("Write", topic)),
                ..Doing::default()
            };
            if let Some(refusal) = refusal(error, doing) {
                self.keep(refusal);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_authorization_failure_names_the_operation_and_resource_of_what_was_done() {
        let doing = Doing {
            topic: Some(("Read", "incident-reports")),
            group: Some(("Read", "vigil")),
            transactional_id: Some("vigil-0"),
        };
        let named = |code| {
            refusal(&KafkaError::MessageConsumption(code), doing)
                .expect("a refusal")
                .to_string()
        };
        let topic = named(RDKafkaErrorCode::TopicAuthorizationFailed);
        assert!(
            topic.contains("may not Read Topic:incident-reports"),
            "{topic}"
        );
        let group = named(RDKafkaErrorCode::GroupAuthorizationFailed);
        assert!(group.contains("may not Read Group:vigil"), "{group}");
        let txn = named(RDKafkaErrorCode::TransactionalIdAuthorizationFailed);
        assert!(
            txn.contains("may not Write TransactionalId:vigil-0"),
            "{txn}"
        );
        let login = named(RDKafkaErrorCode::Authentication);
        assert!(login.contains("refused the connection"), "{login}");
        // Errors retrying can mend are not refusals.
        for code in [
            RDKafkaErrorCode::BrokerTransportFailure,
            RDKafkaErrorCode::UnknownTopicOrPartition,
            RDKafkaErrorCode::NotCoordinator,
        ] {
            assert!(refusal(&KafkaError::MessageConsumption(code), doing).is_none());
        }
    }

    #[test]
    fn a_partition_the_transaction_coordinator_refuses_names_its_topic() {
        let watch = Watch::default();
        watch.log(
            RDKafkaLogLevel::Error,
            "ADDPARTS",
            "TxnCoordinator/1: Failed to add partition \"vigil.alerts\" [3] to transaction: \
             Broker: Topic authorization failed",
        );
        let kept = watch.refused().expect("kept").to_string();
        assert!(kept.contains("may not Write Topic:vigil.alerts"), "{kept}");
    }

    #[test]
    fn a_watch_keeps_the_first_refused_login() {
        let watch = Watch::default();
        watch.error(
            KafkaError::Global(RDKafkaErrorCode::BrokerTransportFailure),
            "disconnected",
        );
        assert_eq!(watch.refused(), None);
        watch.error(
            KafkaError::Global(RDKafkaErrorCode::Authentication),
            "SASL authentication error: invalid credentials",
        );
        watch.error(KafkaError::Global(RDKafkaErrorCode::SSL), "later");
        let kept = watch.refused().expect("kept").to_string();
        assert!(kept.contains("invalid credentials"), "{kept}");
    }
}
