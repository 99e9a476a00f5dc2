//! Test harness: a real Apache Kafka 4.x broker in KRaft mode on 127.0.0.1, started by the test
//! binary itself, and helpers to run `vigil` against it.
//!
//! Jars come from Maven Central (`tests/support/kafka-pom.xml`) into a cache directory once
//! (`$VIGIL_KAFKA_JARS`, default `~/.cache/vigil/kafka-4.1.1-r2`; `-r2` since the set gained
//! the command-line tools). A secured broker (`Broker::start_secured`, `secure.rs`) adds SASL_SSL
//! and mTLS listeners with the KRaft `StandardAuthorizer`. The broker runs under a small
//! shell wrapper that kills it when this process's end of a pipe closes, so a finished (or
//! crashed) test binary never leaves a broker behind. Each test uses its own topics and group.

#![allow(dead_code)]

pub mod receiver;
pub mod secure;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

const KAFKA_VERSION: &str = "4.1.1";
/// Bumped when `kafka-pom.xml` gains an artifact, so that an older cache is not taken as whole.
const JAR_SET: &str = "r2";
/// A fixed KRaft cluster id (base64 of 16 bytes); each broker has its own log directory.
const CLUSTER_ID: &str = "q1Sh-9_ISia_zwGINzRvyQ";

fn jar_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("VIGIL_KAFKA_JARS") {
        return PathBuf::from(dir);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    PathBuf::from(home)
        .join(".cache/vigil")
        .join(format!("kafka-{KAFKA_VERSION}-{JAR_SET}"))
}

fn require(tool: &str, hint: &str) {
    let found = Command::new(tool)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !found.is_ok_and(|s| s.success()) {
        panic!("the Kafka test harness needs `{tool}` on PATH: {hint}");
    }
}

/// Fetches the broker jars with Maven once.
fn ensure_jars() -> PathBuf {
    let dir = jar_dir();
    let complete = dir.join(".complete");
    if complete.exists() {
        return dir;
    }
    require(
        "java",
        "install a JDK 17+ (Debian: openjdk-17-jre-headless)",
    );
    require("mvn", "install Maven (Debian: maven)");
    std::fs::create_dir_all(&dir).expect("create jar cache");
    let pom = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/kafka-pom.xml");
    let status = Command::new("mvn")
        .args(["-q", "-B", "-f"])
        .arg(&pom)
        .args(["dependency:copy-dependencies", "-DincludeScope=runtime"])
        .arg(format!("-DoutputDirectory={}", dir.display()))
        .status()
        .expect("run mvn");
    assert!(
        status.success(),
        "mvn could not fetch the Kafka jars into {}",
        dir.display()
    );
    std::fs::write(&complete, KAFKA_VERSION).expect("mark jar cache complete");
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// One broker process (KRaft, combined broker and controller).
pub struct Broker {
    /// The PLAINTEXT listener: on a secured broker, the administrator's (a super user).
    pub bootstrap: String,
    /// The SASL_SSL and mTLS listeners and their TLS material, on a secured broker.
    pub secured: Option<secure::Secured>,
    dir: tempfile::TempDir,
    jars: PathBuf,
    child: Option<(Child, ChildStdin)>,
}

impl Broker {
    pub fn start() -> Broker {
        Self::start_with(|_, _| None)
    }

    /// A broker with SASL_SSL (SCRAM-SHA-512, these `users` as name and password) and mTLS
    /// listeners beside the PLAINTEXT one, and the `StandardAuthorizer` (`secure.rs`).
    pub fn start_secured(users: &[(&str, &str)]) -> Broker {
        Self::start_with(|dir, jars| Some(secure::prepare(dir, jars, users)))
    }

    /// `secure` may prepare a secured broker in its directory: TLS material, and the extra
    /// properties and `StorageTool format` arguments (SCRAM users) it needs.
    fn start_with(
        secure: impl FnOnce(&Path, &Path) -> Option<(secure::Secured, String, Vec<String>)>,
    ) -> Broker {
        let jars = ensure_jars();
        let dir = tempfile::tempdir().expect("broker dir");
        let (port, controller) = (free_port(), free_port());
        let secured = secure(dir.path(), &jars);
        let (listeners, advertised, protocols, extra, format_args) = match &secured {
            None => (
                format!("PLAINTEXT://127.0.0.1:{port}"),
                format!("PLAINTEXT://127.0.0.1:{port}"),
                "PLAINTEXT:PLAINTEXT".to_string(),
                String::new(),
                Vec::new(),
            ),
            Some((sec, extra, args)) => {
                let ours = format!(
                    "PLAINTEXT://127.0.0.1:{port},SASL_SSL://{},MTLS://{}",
                    sec.sasl_ssl, sec.mtls
                );
                (
                    ours.clone(),
                    ours,
                    "PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,MTLS:SSL".to_string(),
                    extra.clone(),
                    args.clone(),
                )
            }
        };
        let props = format!(
            "process.roles=broker,controller\n\
             node.id=1\n\
             controller.quorum.bootstrap.servers=127.0.0.1:{controller}\n\
             listeners={listeners},CONTROLLER://127.0.0.1:{controller}\n\
             advertised.listeners={advertised}\n\
             inter.broker.listener.name=PLAINTEXT\n\
             controller.listener.names=CONTROLLER\n\
             listener.security.protocol.map={protocols},CONTROLLER:PLAINTEXT\n\
             log.dirs={logs}\n\
             num.partitions=1\n\
             offsets.topic.replication.factor=1\n\
             offsets.topic.num.partitions=3\n\
             transaction.state.log.replication.factor=1\n\
             transaction.state.log.min.isr=1\n\
             transaction.state.log.num.partitions=3\n\
             group.initial.rebalance.delay.ms=0\n\
             message.max.bytes=5242880\n\
             log.cleaner.enable=true\n\
             {extra}",
            logs = dir.path().join("data").display()
        );
        std::fs::write(dir.path().join("server.properties"), props).expect("write properties");
        let mut storage_format = Command::new("java");
        storage_format
            .arg("-cp")
            .arg(format!("{}/*", jars.display()))
            .args([
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                CLUSTER_ID,
                "-c",
            ])
            .arg(dir.path().join("server.properties"))
            .args(&format_args);
        output_ok(&mut storage_format, "StorageTool format");
        let mut broker = Broker {
            bootstrap: format!("127.0.0.1:{port}"),
            secured: secured.map(|(s, _, _)| s),
            dir,
            jars,
            child: None,
        };
        broker.launch();
        broker
    }

    fn launch(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("broker.log")).expect("log file");
        // The wrapper kills the JVM as soon as our end of its stdin closes (this process exits).
        let script = format!(
            "java -Xms256m -Xmx768m -cp '{}/*' kafka.Kafka '{}' & pid=$!; cat >/dev/null; kill $pid; wait $pid",
            self.jars.display(),
            self.dir.path().join("server.properties").display()
        );
        let mut child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start broker");
        let stdin = child.stdin.take().expect("stdin");
        self.child = Some((child, stdin));
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .create()
            .expect("probe client");
        loop {
            if producer
                .client()
                .fetch_metadata(None, Duration::from_secs(2))
                .is_ok_and(|m| !m.brokers().is_empty())
            {
                return;
            }
            let log =
                std::fs::read_to_string(self.dir.path().join("broker.log")).unwrap_or_default();
            assert!(
                Instant::now() < deadline,
                "broker not ready after 120 s; log:\n{log}"
            );
        }
    }

    /// Runs a Kafka command-line tool (`class`, e.g. `org.apache.kafka.tools.AclCommand`)
    /// against this broker's PLAINTEXT listener, as the administrator; panics unless it
    /// succeeds.
    pub fn tool(&self, class: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new("java");
        cmd.arg("-cp")
            .arg(format!("{}/*", self.jars.display()))
            .arg(class)
            .args(["--bootstrap-server", &self.bootstrap])
            .args(args);
        output_ok(&mut cmd, class)
    }

    /// Stops the broker process and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some((mut child, stdin)) = self.child.take() {
            drop(stdin);
            let _ = child.wait();
        }
    }

    /// Starts the broker again on the same ports and data.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The broker shared by all tests of one test binary.
pub fn broker() -> &'static str {
    static BROKER: OnceLock<Broker> = OnceLock::new();
    &BROKER.get_or_init(Broker::start).bootstrap
}

/// Topic and group names unique to one test.
#[derive(Debug, Clone)]
pub struct Names {
    pub input: String,
    pub alerts: String,
    pub dlq: String,
    pub state: String,
    pub group: String,
}

impl Names {
    pub fn new(test: &str) -> Names {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = format!("{test}-{}-{n}", std::process::id());
        Names {
            input: format!("{p}-in"),
            alerts: format!("{p}-alerts"),
            dlq: format!("{p}-dlq"),
            state: format!("{p}-state"),
            group: format!("{p}-group"),
        }
    }
}

/// A `vigil` command pointed at `bootstrap` with the test's topics.
pub fn vigil(bootstrap: &str, names: &Names) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("VIGIL__KAFKA__BROKERS", bootstrap)
        .env("VIGIL__KAFKA__INPUT_TOPIC", &names.input)
        .env("VIGIL__KAFKA__ALERTS_TOPIC", &names.alerts)
        .env("VIGIL__KAFKA__DLQ_TOPIC", &names.dlq)
        .env("VIGIL__KAFKA__STATE_TOPIC", &names.state)
        .env("VIGIL__KAFKA__GROUP_ID", &names.group)
        // Several instances run at once: each serves /metrics on a port of its own.
        .env("VIGIL__HTTP__LISTEN", "127.0.0.1:0")
        .env("VIGIL__LOG__LEVEL", "warn")
        // The desk reads shared topics into a store of its own: its tests start it themselves
        // (tests/desk_kafka.rs, tests/desk_page.rs), each with its own store and topics.
        .env("VIGIL__DESK__ENABLED", "false");
    c
}

/// Turns the desk on for `cmd` (a `vigil run`), with its store at `store` and its topics (tagged,
/// reviews, silences) named after the test's, so that tests sharing the broker never share them.
pub fn with_desk<'a>(cmd: &'a mut Command, names: &Names, store: &Path) -> &'a mut Command {
    cmd.env("VIGIL__DESK__ENABLED", "true")
        .env("VIGIL__DESK__STORE", store)
        .env(
            "VIGIL__KAFKA__TAGGED_TOPIC",
            format!("{}-tagged", names.input),
        )
        .env(
            "VIGIL__DESK__REVIEWS_TOPIC",
            format!("{}-reviews", names.input),
        )
        .env(
            "VIGIL__DESK__ERASURES_TOPIC",
            format!("{}-erasures", names.input),
        )
        .env(
            "VIGIL__DELIVERY__SILENCES_TOPIC",
            format!("{}-silences", names.input),
        )
}

/// A copy of the shipped configuration in `dir/config` whose `access.toml` holds these desk
/// tokens: (name, role, regions as TOML, token). Returns the directory.
pub fn config_with_tokens(dir: &Path, tokens: &[(&str, &str, &str, &str)]) -> PathBuf {
    use sha2::{Digest, Sha256};
    let config = dir.join("config");
    std::fs::create_dir_all(&config).expect("config dir");
    for f in [
        "vigil.toml",
        "taxonomy.toml",
        "rules.toml",
        "subscribers.toml",
    ] {
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("config").join(f),
            config.join(f),
        )
        .expect("copy config");
    }
    let access: String = tokens
        .iter()
        .map(|(name, role, regions, token)| {
            format!(
                "[[token]]\nname = \"{name}\"\nrole = \"{role}\"\nregions = {regions}\nsha256 = \"{}\"\n\n",
                hex::encode(Sha256::digest(token.as_bytes()))
            )
        })
        .collect();
    std::fs::write(config.join("access.toml"), access).expect("access.toml");
    config
}

/// `vigil gen --demo` written to `dir/demo.jsonl`.
pub fn demo_file(dir: &Path) -> PathBuf {
    let out = output_ok(
        Command::new(env!("CARGO_BIN_EXE_vigil")).args(["gen", "--demo"]),
        "vigil gen --demo",
    );
    let path = dir.join("demo.jsonl");
    std::fs::write(&path, &out.stdout).expect("write demo");
    path
}

/// Runs `cmd` to its end and returns its output; panics with its stdout and stderr unless it
/// succeeded.
pub fn output_ok(cmd: &mut Command, what: &str) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Creates the test's topics through the pipeline's own admin path (`vigil replay` of nothing).
pub fn create_topics(bootstrap: &str, names: &Names) {
    output_ok(
        vigil(bootstrap, names).args(["replay", "/dev/null"]),
        "creating topics",
    );
}

/// `vigil replay FILE` into the test's input topic, to the end; panics with its stderr on failure.
pub fn replay_file(bootstrap: &str, names: &Names, file: &Path) {
    output_ok(
        vigil(bootstrap, names).arg("replay").arg(file),
        "vigil replay",
    );
}

/// Writes `lines` to a file in `dir` and returns its path.
pub fn write_lines(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).expect("create");
    for l in lines {
        writeln!(f, "{l}").expect("write");
    }
    path
}

/// `vigil backtest FILE`: the expected alert records, as sorted `id status severity` keys.
pub fn backtest_keys(file: &Path) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("backtest")
        .arg(file)
        .output()
        .expect("backtest");
    assert!(out.status.success());
    let mut keys: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(alert_key)
        .collect();
    keys.sort();
    keys
}

pub fn alert_key(json: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).expect("alert JSON");
    format!("{} {} {}", v["alert_id"], v["status"], v["severity"])
}

fn read_committed_consumer(bootstrap: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "vigil-test-reader")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "false")
        .create()
        .expect("consumer")
}

/// A consumed record: key, payload and headers (name, value).
pub type Record = (Option<Vec<u8>>, Vec<u8>, Vec<(String, String)>);

/// Every committed record of `topic`, as (key, payload, headers) with the topic read to its end.
pub fn read_all(bootstrap: &str, topic: &str) -> Vec<Record> {
    let consumer = read_committed_consumer(bootstrap);
    let meta = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let partitions: Vec<i32> = meta.topics()[0]
        .partitions()
        .iter()
        .map(|p| p.id())
        .collect();
    // The end to read to is the high watermark, which a read_uncommitted client gets: a
    // read_committed one is told the last stable offset, which stops short of a transaction
    // committed a moment ago whose markers the broker is still writing.
    let ends_client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("isolation.level", "read_uncommitted")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    let mut remaining = 0i64;
    let mut ends = Vec::new();
    for &p in &partitions {
        let (low, high) = ends_client
            .fetch_watermarks(topic, p, Duration::from_secs(10))
            .expect("watermarks");
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .expect("tpl");
        ends.push((p, high));
        remaining += high - low;
    }
    consumer.assign(&tpl).expect("assign");
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    // Read until every partition's position reaches its end offset (aborted records and
    // transaction markers are skipped by read_committed but still advance the position).
    loop {
        let done = ends.iter().all(|&(p, high)| {
            let pos = consumer.position().ok().and_then(|tpl| {
                tpl.find_partition(topic, p).and_then(|e| match e.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                })
            });
            high == 0 || pos.is_some_and(|o| o >= high)
        });
        if done || remaining == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "reading {topic} did not finish");
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let headers = m
                .headers()
                .map(|h| {
                    use rdkafka::message::Headers;
                    h.iter()
                        .map(|x| {
                            (
                                x.key.to_string(),
                                String::from_utf8_lossy(x.value.unwrap_or_default()).into_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push((
                m.key().map(<[u8]>::to_vec),
                m.payload().unwrap_or_default().to_vec(),
                headers,
            ));
        }
    }
    out
}

/// Sorted `id status severity` keys of every committed alert on `topic`.
pub fn committed_alert_keys(bootstrap: &str, topic: &str) -> Vec<String> {
    let mut keys: Vec<String> = read_all(bootstrap, topic)
        .into_iter()
        .map(|(_, payload, _)| alert_key(&String::from_utf8_lossy(&payload)))
        .collect();
    keys.sort();
    keys
}

/// Records of `group` committed on `topic`, summed over partitions; `None` while the broker
/// cannot say (for instance, while a killed instance's transactional offsets are pending).
pub fn try_committed_records(bootstrap: &str, group: &str, topic: &str) -> Option<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        // read_committed would ask for stable offsets and fail while any transaction is open.
        .set("isolation.level", "read_uncommitted")
        .create()
        .ok()?;
    let meta = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .ok()?;
    let mut tpl = TopicPartitionList::new();
    for p in meta.topics().first()?.partitions() {
        tpl.add_partition(topic, p.id());
    }
    let committed = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .ok()?;
    Some(
        committed
            .elements()
            .iter()
            .map(|e| match e.offset() {
                Offset::Offset(o) => o,
                _ => 0,
            })
            .sum(),
    )
}

/// Like [`try_committed_records`], waiting up to a minute for an answer.
pub fn committed_records(bootstrap: &str, group: &str, topic: &str) -> i64 {
    let mut answer = None;
    wait_for(Duration::from_secs(60), || {
        answer = try_committed_records(bootstrap, group, topic);
        answer.is_some()
    });
    answer.expect("committed offsets readable within a minute")
}

/// Whether `group` has committed at least `n` records of `topic` (false while unknown).
pub fn committed_at_least(bootstrap: &str, group: &str, topic: &str, n: i64) -> bool {
    try_committed_records(bootstrap, group, topic).is_some_and(|c| c >= n)
}

/// Produces raw records (optionally keyed) to `topic` and flushes.
pub fn produce(bootstrap: &str, topic: &str, records: &[(Option<&str>, Vec<u8>)]) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("message.max.bytes", "5000000")
        // Tests find records by offset: a retried request must neither duplicate nor reorder
        // (a CI run once found a DLQ record whose source offset pointed one record off).
        .set("enable.idempotence", "true")
        .create()
        .expect("producer");
    for (key, payload) in records {
        let mut r = BaseRecord::<str, [u8]>::to(topic).payload(payload);
        if let Some(k) = key {
            r = r.key(k);
        }
        producer.send(r).map_err(|(e, _)| e).expect("send");
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

/// Waits, polling, until `f` holds or `timeout` passes; returns whether it held.
pub fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    f()
}

/// A plain HTTP/1.0 GET on 127.0.0.1 (so never a chunked body): status and body, or `None`
/// while nothing answers.
pub fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split_whitespace().nth(1)?.parse().ok()?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}
