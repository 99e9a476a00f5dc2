//! Kafka client properties: brokers, the pass-through `[kafka.client]` table, and the SASL
//! password from the environment (never from files or logs), with a masked form for logs.

use std::collections::BTreeMap;

use rdkafka::ClientConfig;

use crate::config::KafkaSettings;

/// Common client properties: brokers, the pass-through `[kafka.client]` table (`_` read as
/// `.` in its keys), and
/// `VIGIL_KAFKA_SASL_PASSWORD` from the environment when set (never from files or logs).
pub fn client_config(settings: &KafkaSettings, brokers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers);
    for (k, v) in &settings.client {
        // librdkafka property names use dots, which environment variables cannot carry:
        // VIGIL__KAFKA__CLIENT__SECURITY_PROTOCOL arrives as `security_protocol`.
        c.set(k.replace('_', "."), v);
    }
    if let Ok(password) = std::env::var("VIGIL_KAFKA_SASL_PASSWORD") {
        c.set("sasl.password", password);
    }
    c
}

/// How a consumer-group member is known to the group coordinator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// `group.instance.id` = `<group>-<kafka.instance_id>`: a restarted member takes its
    /// partitions back at once instead of waiting for its old session to expire (the pipeline,
    /// whose transactional id is per instance too).
    Static,
    /// A member id given by the coordinator at each join. A static member is fenced for good
    /// when, after a broker outage longer than its session, librdkafka rejoins under a new
    /// member id (librdkafka #3437); a consumer that needs no per-instance identity (delivery,
    /// at least once and idempotent by `Vigil-Delivery-Id`) only pays a rebalance instead.
    Dynamic,
}

/// Properties of a consumer-group member that commits its own offsets and reads only committed
/// records: `group`, with `membership`, and a 10 s session unless `[kafka.client]` sets one.
pub fn group_member_config(
    settings: &KafkaSettings,
    brokers: &str,
    group: &str,
    membership: Membership,
) -> ClientConfig {
    let mut c = client_config(settings, brokers);
    c.set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed");
    if membership == Membership::Static {
        c.set(
            "group.instance.id",
            format!("{group}-{}", settings.instance_id),
        );
    }
    if !settings.client.contains_key("session.timeout.ms") {
        c.set("session.timeout.ms", "10000");
    }
    c
}

/// Client properties with secrets masked, for logs.
pub fn describe(config: &ClientConfig) -> BTreeMap<String, String> {
    config
        .config_map()
        .iter()
        .map(|(k, v)| {
            let secret = k.contains("password") || k.contains("secret") || k.contains("key");
            (
                k.to_string(),
                if secret {
                    "***".to_string()
                } else {
                    v.to_string()
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_properties_pass_through_and_secrets_are_masked() {
        let mut settings = KafkaSettings::default();
        settings
            .client
            .insert("security_protocol".into(), "SASL_SSL".into());
        settings
            .client
            .insert("sasl.username".into(), "desk".into());
        settings
            .client
            .insert("ssl.key.password".into(), "hunter2".into());
        let config = client_config(&settings, "127.0.0.1:9092");
        assert_eq!(config.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(config.get("bootstrap.servers"), Some("127.0.0.1:9092"));
        let shown = describe(&config);
        assert_eq!(shown["sasl.username"], "desk");
        assert_eq!(shown["ssl.key.password"], "***");
        assert!(!format!("{shown:?}").contains("hunter2"));
    }

    #[test]
    fn librdkafka_is_built_with_tls_and_scram() {
        // Client creation validates the properties: without TLS support compiled in it fails
        // with "Unsupported value" for these.
        let mut settings = KafkaSettings::default();
        for (k, v) in [
            ("security_protocol", "SASL_SSL"),
            ("sasl_mechanism", "SCRAM-SHA-512"),
            ("sasl_username", "desk"),
            ("sasl_password", "secret"),
        ] {
            settings.client.insert(k.into(), v.into());
        }
        let producer: Result<rdkafka::producer::BaseProducer, _> =
            client_config(&settings, "127.0.0.1:1").create();
        assert!(producer.is_ok(), "{:?}", producer.err());
    }
}
