//! Topic administration: the cluster is reached (a refused login stops here, at once), and the
//! topics Vigil needs are created when the principal cannot see them. On a secured cluster an
//! administrator may create them beforehand, so that Vigil needs no `Create` ACL.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{BaseProducer, Producer};

use super::access::{AccessError, Watch};
use super::{KafkaSetupError, client_config};
use crate::config::KafkaSettings;
use crate::delivery::retry::DeliverySettings;
use crate::desk::settings::DeskSettings;

/// Creates the pipeline's topics when missing: input, alerts and DLQ with the configured
/// partitions; the state changelog with the input's partition count and `cleanup.policy=compact`.
pub async fn ensure_topics(settings: &KafkaSettings, brokers: &str) -> Result<(), KafkaSetupError> {
    let admin = connect(settings, brokers)?;
    let topic = |name| {
        NewTopic::new(
            name,
            settings.partitions,
            TopicReplication::Fixed(settings.replication),
        )
    };
    // With what Vigil does on each: a topic it cannot see is named by that operation.
    let mut topics = vec![
        (topic(&settings.input_topic), "Read"),
        (topic(&settings.alerts_topic), "Write"),
        (topic(&settings.dlq_topic), "Write"),
        // Same partition count as the input: state partition p holds input partition p's regions.
        (
            topic(&settings.state_topic).set("cleanup.policy", "compact"),
            "Read and Write",
        ),
    ];
    if settings.publish_tagged {
        topics.push((topic(&settings.tagged_topic), "Write"));
    }
    create(&admin, &topics).await
}

/// Creates the delivery stage's topics when missing: the retry topic and the delivery DLQ, with
/// the configured partitions, and the compacted silences topic.
///
/// Errors: the admin client's, or a topic that cannot be created.
pub async fn ensure_delivery_topics(
    settings: &KafkaSettings,
    delivery: &DeliverySettings,
    brokers: &str,
) -> Result<(), KafkaSetupError> {
    let admin = connect(settings, brokers)?;
    let mut topics: Vec<(NewTopic<'_>, &'static str)> = [
        (&delivery.retry_topic, "Read and Write"),
        (&delivery.dlq_topic, "Write"),
    ]
    .into_iter()
    .map(|(name, needs)| {
        (
            NewTopic::new(
                name,
                settings.partitions,
                TopicReplication::Fixed(settings.replication),
            ),
            needs,
        )
    })
    .collect();
    topics.push(silences(settings, delivery));
    create(&admin, &topics).await
}

/// Creates the silences topic alone when missing: the desk writes silences when delivery is off.
///
/// Errors: the admin client's, or the topic cannot be created.
pub async fn ensure_silences_topic(
    settings: &KafkaSettings,
    delivery: &DeliverySettings,
    brokers: &str,
) -> Result<(), KafkaSetupError> {
    let admin = connect(settings, brokers)?;
    create(&admin, &[silences(settings, delivery)]).await
}

/// Silences are few and read whole by every deliverer: one partition, compacted (the latest
/// record of each silence is what counts).
fn silences<'a>(
    settings: &KafkaSettings,
    delivery: &'a DeliverySettings,
) -> (NewTopic<'a>, &'static str) {
    (
        NewTopic::new(
            &delivery.silences_topic,
            1,
            TopicReplication::Fixed(settings.replication),
        )
        .set("cleanup.policy", "compact"),
        "Read and Write",
    )
}

/// Creates the desk's topics when missing: the reviews topic, append-only and kept for ever
/// (retention `-1`), since it is the desk's audit trail and the store is rebuilt from it; the
/// erasures topic, compacted (one record per erased report, kept for ever) and with one
/// partition, since every desk instance reads it whole.
///
/// Errors: the admin client's, or a topic cannot be created.
pub async fn ensure_desk_topics(
    settings: &KafkaSettings,
    desk: &DeskSettings,
    brokers: &str,
) -> Result<(), KafkaSetupError> {
    let admin = connect(settings, brokers)?;
    let replication = || TopicReplication::Fixed(settings.replication);
    let topics = [
        (
            NewTopic::new(&desk.reviews_topic, settings.partitions, replication())
                .set("retention.ms", "-1"),
            "Read and Write",
        ),
        (
            NewTopic::new(&desk.erasures_topic, 1, replication()).set("cleanup.policy", "compact"),
            "Read and Write",
        ),
    ];
    create(&admin, &topics).await
}

/// A client that has reached the cluster, and the topics its principal can see.
struct Connected {
    settings: KafkaSettings,
    brokers: String,
    visible: BTreeSet<String>,
}

/// Connects and lists the topics the principal may describe. A refused login (wrong password,
/// unknown user, failed TLS handshake) ends the wait at once.
///
/// Errors: [`AccessError::Authentication`], or no answer within `kafka.connect_timeout_secs`.
fn connect(settings: &KafkaSettings, brokers: &str) -> Result<Connected, KafkaSetupError> {
    // A producer, since its `poll` serves the error callbacks through which librdkafka reports
    // a refused login (an admin client's are not served while it waits for metadata).
    let probe: BaseProducer<Watch> =
        client_config(settings, brokers).create_with_context(Watch::default())?;
    let deadline = Instant::now() + Duration::from_secs(settings.connect_timeout_secs);
    loop {
        // Short attempts, so that a refused login seen between them ends the wait.
        let answer = probe
            .client()
            .fetch_metadata(None, Duration::from_millis(500));
        probe.poll(Duration::ZERO);
        match answer {
            Ok(metadata) => {
                let visible = metadata
                    .topics()
                    .iter()
                    .filter(|t| t.error().is_none())
                    .map(|t| t.name().to_string())
                    .collect();
                return Ok(Connected {
                    settings: settings.clone(),
                    brokers: brokers.to_string(),
                    visible,
                });
            }
            Err(e) => {
                if let Some(refused) = probe.context().refused() {
                    return Err(refused.into());
                }
                if Instant::now() >= deadline {
                    tracing::debug!(error = %e, "kafka metadata");
                    return Err(KafkaSetupError::Unreachable {
                        brokers: brokers.to_string(),
                        secs: settings.connect_timeout_secs,
                    });
                }
            }
        }
    }
}

/// Creates those of `topics` the principal cannot see; one that exists already is fine.
///
/// `topics` pairs each topic with the operations Vigil performs on it.
///
/// Errors: a topic that cannot be created, [`AccessError::NotVisible`] naming it and what
/// Vigil does on it when the principal may not create it.
async fn create(
    admin: &Connected,
    topics: &[(NewTopic<'_>, &'static str)],
) -> Result<(), KafkaSetupError> {
    let missing: Vec<&NewTopic<'_>> = topics
        .iter()
        .map(|(t, _)| t)
        .filter(|t| !admin.visible.contains(t.name))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let client: AdminClient<Watch> =
        client_config(&admin.settings, &admin.brokers).create_with_context(Watch::default())?;
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in client.create_topics(missing, &opts).await? {
        match result {
            Ok(_) => {}
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((
                topic,
                code @ (RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::ClusterAuthorizationFailed),
            )) => {
                // Not visible and not creatable: either it is missing, or the principal lacks
                // Describe on it (which Read and Write include).
                let needs = topics
                    .iter()
                    .find(|(t, _)| t.name == topic)
                    .map_or("Describe", |(_, needs)| *needs);
                return Err(AccessError::NotVisible { topic, needs, code }.into());
            }
            Err((topic, code)) => {
                return Err(KafkaSetupError::CreateTopic {
                    topic,
                    reason: code.to_string(),
                });
            }
        }
    }
    Ok(())
}
