//! Topic administration: the pipeline's topics are created when missing.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;

use super::{KafkaSetupError, client_config};
use crate::config::KafkaSettings;
use crate::delivery::retry::DeliverySettings;

/// Creates the pipeline's topics when missing: input, alerts and DLQ with the configured
/// partitions; the state changelog with the input's partition count and `cleanup.policy=compact`.
pub async fn ensure_topics(settings: &KafkaSettings, brokers: &str) -> Result<(), KafkaSetupError> {
    let admin: AdminClient<DefaultClientContext> = client_config(settings, brokers).create()?;
    let topic = |name| {
        NewTopic::new(
            name,
            settings.partitions,
            TopicReplication::Fixed(settings.replication),
        )
    };
    let mut topics = vec![
        topic(&settings.input_topic),
        topic(&settings.alerts_topic),
        topic(&settings.dlq_topic),
        // Same partition count as the input: state partition p holds input partition p's regions.
        topic(&settings.state_topic).set("cleanup.policy", "compact"),
    ];
    if settings.publish_tagged {
        topics.push(topic(&settings.tagged_topic));
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
    let admin: AdminClient<DefaultClientContext> = client_config(settings, brokers).create()?;
    let mut topics: Vec<NewTopic<'_>> = [&delivery.retry_topic, &delivery.dlq_topic]
        .into_iter()
        .map(|name| {
            NewTopic::new(
                name,
                settings.partitions,
                TopicReplication::Fixed(settings.replication),
            )
        })
        .collect();
    // Silences are few and read whole by every deliverer: one partition, compacted (the latest
    // record of each silence is what counts).
    topics.push(
        NewTopic::new(
            &delivery.silences_topic,
            1,
            TopicReplication::Fixed(settings.replication),
        )
        .set("cleanup.policy", "compact"),
    );
    create(&admin, &topics).await
}

/// Creates the desk's reviews topic when missing: append-only and kept forever (retention
/// `-1`), since it is the desk's audit trail and the store is rebuilt from it.
///
/// Errors: the admin client's, or the topic cannot be created.
pub async fn ensure_desk_topics(
    settings: &KafkaSettings,
    reviews_topic: &str,
    brokers: &str,
) -> Result<(), KafkaSetupError> {
    let admin: AdminClient<DefaultClientContext> = client_config(settings, brokers).create()?;
    let topics = [NewTopic::new(
        reviews_topic,
        settings.partitions,
        TopicReplication::Fixed(settings.replication),
    )
    .set("retention.ms", "-1")];
    create(&admin, &topics).await
}

/// Creates `topics`; one that exists already is fine.
async fn create(
    admin: &AdminClient<DefaultClientContext>,
    topics: &[NewTopic<'_>],
) -> Result<(), KafkaSetupError> {
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin.create_topics(topics, &opts).await? {
        match result {
            Ok(_) => {}
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
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
