//! Kafka client properties: brokers, the pass-through `[kafka.client]` table, and the secrets
//! (`sasl.password`, `ssl.key.password`) from the environment or files it names
//! (`config/secret.rs`), never from configuration or logs, with a masked form for logs.

use std::collections::BTreeMap;

use rdkafka::ClientConfig;

use crate::config::KafkaSettings;
use crate::config::secret::{self, SecretError};

/// The secrets a Kafka client may need, each with the librdkafka property it fills: the SASL
/// password (SCRAM, PLAIN) and the password of an encrypted TLS client key (mTLS).
const SECRETS: [(&str, &str); 2] = [
    ("VIGIL_KAFKA_SASL_PASSWORD", "sasl.password"),
    ("VIGIL_KAFKA_SSL_KEY_PASSWORD", "ssl.key.password"),
];

/// Checks that every Kafka secret that is named can be read (`NAME_FILE` pointing at a
/// readable file), so that a mistyped path stops `vigil run` before it connects.
///
/// Errors: the first secret whose file cannot be read.
pub fn check_secrets() -> Result<(), SecretError> {
    for (name, _) in SECRETS {
        secret::read_optional(name)?;
    }
    Ok(())
}

/// Common client properties: brokers, the pass-through `[kafka.client]` table (`_` read as
/// `.` in its keys), and the secrets of [`SECRETS`] when set (`VIGIL_KAFKA_SASL_PASSWORD` or
/// `VIGIL_KAFKA_SASL_PASSWORD_FILE`, `VIGIL_KAFKA_SSL_KEY_PASSWORD` or `…_FILE`).
/// [`check_secrets`] reports a file that cannot be read; here it is skipped.
pub fn client_config(settings: &KafkaSettings, brokers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers);
    for (k, v) in &settings.client {
        // librdkafka property names use dots, which environment variables cannot carry:
        // VIGIL__KAFKA__CLIENT__SECURITY_PROTOCOL arrives as `security_protocol`.
        c.set(k.replace('_', "."), v);
    }
    for (name, property) in SECRETS {
        if let Ok(Some(value)) = secret::read_optional(name) {
            c.set(property, value);
        }
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
