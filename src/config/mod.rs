//! Configuration: `config/vigil.toml` (Kafka, HTTP, pipeline, limits; overridable by
//! `VIGIL__SECTION__KEY` environment variables through the `config` crate), and the data files
//! `taxonomy.toml`, `rules.toml` and `subscribers.toml`.
//!
//! Every problem is reported with file, line and field path, for `vigil check-config` and for
//! start-up errors alike.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::input::import::{DateOrder, ImportOptions};
use crate::report::Limits;
use crate::rules::{Rule, RulesFile};
use crate::tag::taxonomy::Taxonomy;
use crate::tag::{Tagger, TaggerSettings};
use crate::window::WindowSettings;

use crate::delivery::retry::DeliverySettings;
mod checks;
mod invariants;
pub mod secret;

use crate::delivery::subscriber;
pub use crate::delivery::subscriber::Subscriber;
pub use crate::output::cap::CapSettings;

#[derive(Debug, Clone, Deserialize, Serialize, Default, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub kafka: KafkaSettings,
    pub pipeline: PipelineSettings,
    pub http: HttpSettings,
    pub metrics: MetricsSettings,
    pub limits: Limits,
    pub window: WindowSettings,
    pub tagger: TaggerSettings,
    pub log: LogSettings,
    pub files: FileSettings,
    pub import: ImportSettings,
    pub delivery: DeliverySettings,
    pub cap: CapSettings,
    pub desk: crate::desk::settings::DeskSettings,
}

impl Settings {
    /// How `backtest`, `tag` and `replay` read export files under these settings.
    pub fn import_options(&self) -> ImportOptions {
        ImportOptions {
            date_order: self.import.date_order,
            max_code_bytes: self.limits.max_code_bytes,
            max_line_bytes: self.limits.max_message_bytes,
        }
    }
}

/// How CSV exports are read (`[import]`).
#[derive(Debug, Clone, Deserialize, Serialize, Default, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ImportSettings {
    /// Which comes first in a numeric date such as `2/7/2025`: `auto` reads only dates with
    /// one possible reading and refuses the others, `dmy` day first, `mdy` month first.
    pub date_order: DateOrder,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaSettings {
    /// Bootstrap servers; empty runs the embedded demo cluster.
    pub brokers: String,
    pub group_id: String,
    pub input_topic: String,
    pub alerts_topic: String,
    pub dlq_topic: String,
    pub tagged_topic: String,
    /// Also publish each accepted report's tags (ids, codes, phrase evidence; never report
    /// text) to `tagged_topic`, in the batch's transaction.
    pub publish_tagged: bool,
    pub state_topic: String,
    /// Extra librdkafka properties passed through as given (e.g. `security.protocol`).
    pub client: BTreeMap<String, String>,
    /// Partitions of the topics Vigil creates when missing.
    pub partitions: i32,
    /// Replication factor of the topics Vigil creates.
    pub replication: i32,
    /// Exactly-once: outputs, state and offsets in one transaction per batch.
    pub transactions: bool,
    /// Distinguishes instances of one group; the transactional id is `<group_id>-<instance_id>`
    /// and must be stable across restarts of the same instance.
    pub instance_id: String,
    /// How long a transaction of a crashed instance may block readers before the broker aborts it.
    pub transaction_timeout_ms: u64,
    /// Longest time a state restore may take before the instance gives up.
    pub restore_timeout_secs: u64,
    /// Longest wait at start-up for a broker to answer (a refused login fails at once).
    pub connect_timeout_secs: u64,
    /// Largest original payload copied into a DLQ record; a larger one is cut to this size and
    /// marked `vigil.truncated` (a poison message must never be able to stall the partition).
    pub dlq_max_payload_bytes: usize,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        KafkaSettings {
            brokers: String::new(),
            group_id: "vigil".into(),
            input_topic: "incident-reports".into(),
            alerts_topic: "vigil.alerts".into(),
            dlq_topic: "vigil.dlq".into(),
            tagged_topic: "vigil.tagged".into(),
            publish_tagged: false,
            state_topic: "vigil.state".into(),
            client: BTreeMap::new(),
            partitions: 6,
            replication: 1,
            transactions: true,
            instance_id: "0".into(),
            transaction_timeout_ms: 10_000,
            restore_timeout_secs: 120,
            connect_timeout_secs: 30,
            dlq_max_payload_bytes: 900_000,
        }
    }
}

/// Batching of the streaming pipeline: a batch closes at `batch_max_records` records, at
/// `batch_max_bytes` bytes of records or after `commit_interval_ms`, whichever comes first;
/// each batch is one transaction.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineSettings {
    pub batch_max_records: usize,
    /// Bytes of records (keys and payloads) at which a batch closes: bounds the memory a batch
    /// holds whatever the size of its records.
    pub batch_max_bytes: usize,
    pub commit_interval_ms: u64,
    /// With records waiting (consumer lag above zero) and none consumed for this long, the
    /// instance rejoins the group and restores from the changelog (0: never). Needs
    /// `metrics.lag_interval_ms` > 0, which is where the lag comes from.
    pub stall_timeout_secs: u64,
    /// A batch (poll to commit, and its alerts handed to the outputs) running longer than this
    /// ends the process with exit code 70, for a supervisor to restart (0: never). Above the
    /// commit's own timeouts (150 s in all).
    pub batch_timeout_secs: u64,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        PipelineSettings {
            batch_max_records: 10000,
            batch_max_bytes: 32 << 20,
            commit_interval_ms: 50,
            stall_timeout_secs: 60,
            batch_timeout_secs: 300,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Where `/metrics`, `/healthz`, `/readyz`, the CAP feeds and the desk listen.
    pub listen: String,
    /// PEM certificate chain: with `tls_key_file`, the listener speaks TLS only (rustls).
    pub tls_cert_file: Option<String>,
    /// PEM private key of `tls_cert_file` (a secret: mount it as a file readable only by Vigil).
    pub tls_key_file: Option<String>,
    /// A request's headers (and a TLS handshake) must arrive within this many milliseconds.
    pub header_read_timeout_ms: u64,
    /// Largest request head (request line and headers) in bytes; at least 8192.
    pub max_header_bytes: usize,
    /// Connections served at once; more wait in the kernel's backlog.
    pub max_connections: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            listen: "127.0.0.1:9464".into(),
            tls_cert_file: None,
            tls_key_file: None,
            header_read_timeout_ms: 10_000,
            max_header_bytes: 16_384,
            max_connections: 4096,
        }
    }
}

/// What the metrics label and how often consumer lag is sampled.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// Regions that get their own `region` label on the per-region metrics; every other region
    /// is counted as `other`. Config bounds the label set, so it stays low-cardinality.
    pub regions: Vec<String>,
    /// librdkafka statistics interval, from which consumer lag per partition is exported
    /// (0 turns consumer-lag metrics off).
    pub lag_interval_ms: u64,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings {
            regions: Vec::new(),
            lag_interval_ms: 5000,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter such as `info` or `vigil=debug`.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

/// Where the data files are, relative to the configuration directory.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FileSettings {
    pub taxonomy: String,
    pub rules: String,
    pub subscribers: String,
    /// The desk's bearer tokens, as SHA-256 hashes (`desk/access.rs`).
    pub access: String,
}

impl Default for FileSettings {
    fn default() -> Self {
        FileSettings {
            taxonomy: "taxonomy.toml".into(),
            rules: "rules.toml".into(),
            subscribers: "subscribers.toml".into(),
            access: "access.toml".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubscribersFile {
    #[serde(rename = "subscriber", default)]
    pub subscribers: Vec<Subscriber>,
}

/// One configuration problem, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError(pub Vec<ConfigIssue>);

/// Everything loaded and checked.
#[derive(Clone)]
pub struct Loaded {
    pub settings: Settings,
    pub taxonomy: Taxonomy,
    pub rules: Vec<Rule>,
    pub subscribers: Vec<Subscriber>,
    /// The desk's tokens (`access.toml`; none when the file is absent: the desk then admits
    /// no one).
    pub access: Vec<crate::desk::access::Token>,
}

impl Loaded {
    /// Builds the core engine from this configuration.
    pub fn engine(&self) -> Result<Engine, ConfigError> {
        let tagger = Tagger::new(&self.taxonomy, self.settings.tagger.clone()).map_err(|e| {
            ConfigError(vec![ConfigIssue {
                file: PathBuf::from(&self.settings.files.taxonomy),
                line: None,
                field: String::new(),
                message: e.to_string(),
            }])
        })?;
        Ok(Engine::new(
            self.settings.limits.clone(),
            self.settings.window.clone(),
            tagger,
            self.rules.clone(),
        ))
    }
}

/// 0001-01-01T00:00:00Z in Unix seconds.
const FIRST_SECOND_OF_YEAR_1: i64 = -62_135_596_800;

/// Loads `vigil.toml` (optional) with environment overrides, then the data files it names, and
/// checks all of them. Collects every problem rather than stopping at the first.
pub fn load(dir: &Path) -> Result<Loaded, ConfigError> {
    let mut issues = Vec::new();
    let main_path = dir.join("vigil.toml");
    let settings = match load_settings(&main_path) {
        Ok(s) => s,
        Err(issue) => {
            issues.push(issue);
            Settings::default()
        }
    };
    invariants::check_settings(&settings, &main_path, &mut issues);

    let tax_path = dir.join(&settings.files.taxonomy);
    // A taxonomy with findings is still used to check the rules against, so that one run of
    // check-config reports the problems of every file.
    let taxonomy: Option<Taxonomy> =
        read_toml(&tax_path, &mut issues).map(|(text, tax): (String, Taxonomy)| {
            for f in tax.validate() {
                issues.push(issue_at(
                    &tax_path,
                    locate(&text, &f.path),
                    &f.path,
                    &f.message,
                ));
            }
            tax
        });

    let rules_path = dir.join(&settings.files.rules);
    let rules_file: Option<(String, RulesFile)> = read_toml(&rules_path, &mut issues);
    let rules = match (&taxonomy, rules_file) {
        (Some(tax), Some((text, rf))) => match rf.compile(tax, settings.window.pane_secs.max(1)) {
            Ok(rules) => Some(rules),
            Err(findings) => {
                for f in findings {
                    issues.push(issue_at(
                        &rules_path,
                        locate(&text, &f.path),
                        &f.path,
                        &f.message,
                    ));
                }
                None
            }
        },
        _ => None,
    };

    let subs_path = dir.join(&settings.files.subscribers);
    let subscribers = load_subscribers(&subs_path, &mut issues);
    checks::subscribers_against(
        &settings,
        &subs_path,
        &subscribers,
        rules.as_deref(),
        &mut issues,
    );
    let access = load_access(&dir.join(&settings.files.access), &mut issues);

    match (issues.is_empty(), taxonomy, rules) {
        (true, Some(taxonomy), Some(rules)) => Ok(Loaded {
            settings,
            taxonomy,
            rules,
            subscribers,
            access,
        }),
        _ => Err(ConfigError(issues)),
    }
}

/// `subscribers.toml` (optional): every subscriber, checked (`delivery::subscriber::validate`).
fn load_subscribers(subs_path: &Path, issues: &mut Vec<ConfigIssue>) -> Vec<Subscriber> {
    if subs_path.exists() {
        read_toml(subs_path, issues)
            .map(|(text, s): (String, SubscribersFile)| {
                for f in subscriber::validate(&s.subscribers) {
                    issues.push(issue_at(
                        subs_path,
                        locate(&text, &f.path),
                        &f.path,
                        &f.message,
                    ));
                }
                s.subscribers
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    }
}

/// `access.toml` (optional): every token, checked (`desk::access::validate`).
fn load_access(path: &Path, issues: &mut Vec<ConfigIssue>) -> Vec<crate::desk::access::Token> {
    use crate::desk::access::{AccessFile, validate};
    if !path.exists() {
        return Vec::new();
    }
    read_toml(path, issues)
        .map(|(text, a): (String, AccessFile)| {
            for f in validate(&a.tokens) {
                issues.push(issue_at(path, locate(&text, &f.path), &f.path, &f.message));
            }
            a.tokens
        })
        .unwrap_or_default()
}

fn load_settings(path: &Path) -> Result<Settings, ConfigIssue> {
    let mut builder = config::Config::builder();
    if path.exists() {
        // Parse once with toml for a located error; the config crate's own errors have no line.
        let text =
            std::fs::read_to_string(path).map_err(|e| issue_at(path, None, "", &e.to_string()))?;
        if let Err(e) = toml::from_str::<Settings>(&text) {
            let line = e.span().map(|s| line_of(&text, s.start));
            return Err(issue_at(path, line, "", e.message()));
        }
        builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
    }
    builder
        .add_source(
            config::Environment::with_prefix("VIGIL")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("metrics.regions"),
        )
        .build()
        .and_then(|c| c.try_deserialize::<Settings>())
        .map_err(|e| {
            issue_at(
                path,
                None,
                "",
                &format!("{e} (check VIGIL__* environment overrides)"),
            )
        })
}

fn read_toml<T: DeserializeOwned>(
    path: &Path,
    issues: &mut Vec<ConfigIssue>,
) -> Option<(String, T)> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            issues.push(issue_at(path, None, "", &format!("cannot read: {e}")));
            return None;
        }
    };
    // Through serde_path_to_error, so that a value of the wrong type is named by its path
    // (`subscriber[0].group_wait`) as well as its line.
    let parsed = toml::de::Deserializer::parse(&text)
        .map_err(|e| (String::new(), e))
        .and_then(|de| {
            serde_path_to_error::deserialize::<_, T>(de)
                .map_err(|e| (e.path().to_string(), e.into_inner()))
        });
    match parsed {
        Ok(v) => Some((text, v)),
        Err((field, e)) => {
            let line = e.span().map(|s| line_of(&text, s.start));
            // The path of an error at the top level is `.`: no field to name.
            let field = if field == "." { "" } else { field.as_str() };
            issues.push(issue_at(path, line, field, e.message()));
            None
        }
    }
}

fn issue_at(file: &Path, line: Option<usize>, field: &str, message: &str) -> ConfigIssue {
    ConfigIssue {
        file: file.to_path_buf(),
        line,
        field: field.to_string(),
        message: message.to_string(),
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// The line of a field path such as `rule[3].window` or `risk_factor[0].indicators[2].id`.
pub(crate) fn locate(text: &str, path: &str) -> Option<usize> {
    let doc = toml_edit::Document::parse(text).ok()?;
    let mut item: &toml_edit::Item = doc.as_item();
    let mut best = None;
    for seg in path.split('.') {
        let (key, index) = match seg.split_once('[') {
            Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (seg, None),
        };
        item = item.get(key)?;
        best = item.span().map(|s| s.start).or(best);
        if let Some(i) = index {
            item = item.get(i)?;
            best = item.span().map(|s| s.start).or(best);
        }
    }
    best.map(|o| line_of(text, o))
}

#[cfg(test)]
mod tests;
