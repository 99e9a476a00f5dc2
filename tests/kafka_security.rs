//! Kafka security on a real broker: SASL_SSL (SCRAM-SHA-512) and mTLS listeners, the KRaft
//! `StandardAuthorizer`, and a principal with only the ACLs `vigil run` needs (docs/security.md).
//! The stream equals the backtest on it; each missing ACL and a wrong password stop the run at
//! once with the operation and resource named; the secrets, given as files, appear in no log
//! line and no metric.

mod support;

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use support::secure::{MTLS_PRINCIPAL, Secured, allow};
use support::{
    Broker, Names, backtest_keys, committed_alert_keys, committed_at_least, create_topics,
    demo_file, http_get, replay_file, vigil, wait_for,
};

const PASSWORD: &str = "scram-pass-7d3a91c2";

/// The principals of the tests: each its own SCRAM user.
const USERS: [&str; 6] = [
    "vigil",
    "no-input-read",
    "no-group-read",
    "no-alerts-write",
    "no-txn-write",
    "wrong-password",
];

fn broker() -> &'static Broker {
    static BROKER: OnceLock<Broker> = OnceLock::new();
    BROKER.get_or_init(|| {
        let users: Vec<(&str, &str)> = USERS.iter().map(|u| (*u, PASSWORD)).collect();
        Broker::start_secured(&users)
    })
}

fn secured() -> &'static Secured {
    broker().secured.as_ref().expect("secured broker")
}

/// The ACLs of the pipeline (`vigil run` with delivery and the desk off), except `omit`.
fn grant_pipeline(principal: &str, names: &Names, omit: &str) {
    let b = broker();
    let txn = format!("{}-0", names.group);
    let mut read: Vec<&str> = vec!["--topic", &names.state];
    if omit != "input-read" {
        read.extend(["--topic", &names.input]);
    }
    if omit != "group-read" {
        read.extend(["--group", &names.group]);
    }
    allow(b, principal, "Read", &read);
    let mut write: Vec<&str> = vec!["--topic", &names.dlq, "--topic", &names.state];
    if omit != "alerts-write" {
        write.extend(["--topic", &names.alerts]);
    } else {
        // Visible, but not writable: the refusal comes from the produce, not the set-up.
        allow(b, principal, "Describe", &["--topic", &names.alerts]);
    }
    if omit != "txn-write" {
        write.extend(["--transactional-id", &txn]);
    }
    allow(b, principal, "Write", &write);
}

/// A `vigil run` as `user` over SASL_SSL, its password from a file.
fn run_over_sasl(names: &Names, user: &str, password_file: &Path) -> Command {
    let s = secured();
    let mut cmd = vigil(&s.sasl_ssl, names);
    cmd.arg("run")
        .env("VIGIL__DELIVERY__ENABLED", "false")
        .env("VIGIL__KAFKA__CLIENT__SECURITY_PROTOCOL", "SASL_SSL")
        .env("VIGIL__KAFKA__CLIENT__SASL_MECHANISM", "SCRAM-SHA-512")
        .env("VIGIL__KAFKA__CLIENT__SASL_USERNAME", user)
        .env("VIGIL__KAFKA__CLIENT__SSL_CA_LOCATION", &s.ca)
        .env("VIGIL_KAFKA_SASL_PASSWORD_FILE", password_file);
    cmd
}

/// Runs `cmd` (a `vigil run` over the demo) until the group has committed every demo record,
/// scraping `/metrics` on the way; then stops it with SIGTERM. Returns its output and the last
/// metrics page.
fn run_demo_to_the_end(cmd: &mut Command, names: &Names, records: i64) -> (Output, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child: Child = cmd
        .args(["--json"])
        .env("VIGIL__HTTP__LISTEN", &addr)
        // Debug level: the most a log can carry.
        .env("VIGIL__LOG__LEVEL", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vigil run");
    // Both pipes are drained as the run goes: a full pipe would block the run's writes (its
    // alerts on stdout, its debug log on stderr) and stop it.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut text);
            }
            text
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let admin = &broker().bootstrap;
    let mut metrics = String::new();
    let done = wait_for(Duration::from_secs(180), || {
        if let Some((200, body)) = http_get(&addr, "/metrics") {
            metrics = body;
        }
        committed_at_least(admin, &names.group, &names.input, records)
    });
    if let Some((200, body)) = http_get(&addr, "/metrics") {
        metrics = body;
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    let status = child.wait().expect("wait");
    let out = Output {
        status,
        stdout: stdout.join().expect("stdout"),
        stderr: stderr.join().expect("stderr"),
    };
    assert!(
        done && killed.success(),
        "the secured run did not finish the demo:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out, metrics)
}

fn demo_lines(file: &Path) -> i64 {
    std::fs::read_to_string(file).expect("demo").lines().count() as i64
}

fn assert_no_secret(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "{what} carries a secret");
    }
}

#[test]
fn stream_over_sasl_ssl_with_least_privilege_equals_backtest_and_leaks_no_secret() {
    let b = broker();
    let dir = tempfile::tempdir().unwrap();
    let demo = demo_file(dir.path());
    let expected = backtest_keys(&demo);
    let names = Names::new("sasl");
    // The administrator creates the topics: the pipeline's principal may not.
    create_topics(&b.bootstrap, &names);
    grant_pipeline("User:vigil", &names, "");
    replay_file(&b.bootstrap, &names, &demo);
    let password = dir.path().join("kafka-password");
    std::fs::write(&password, format!("{PASSWORD}\n")).unwrap();

    let (out, metrics) = run_demo_to_the_end(
        &mut run_over_sasl(&names, "vigil", &password),
        &names,
        demo_lines(&demo),
    );
    let mut printed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(support::alert_key)
        .collect();
    printed.sort();
    assert_eq!(printed, expected, "printed alerts differ from the backtest");
    assert_eq!(committed_alert_keys(&b.bootstrap, &names.alerts), expected);

    let stderr = String::from_utf8_lossy(&out.stderr);
    // The run logged its client settings (masked) and served metrics: there was something to
    // search.
    assert!(stderr.contains("sasl.username"), "{stderr}");
    assert!(
        metrics.contains("vigil_records_consumed_total"),
        "{metrics}"
    );
    assert_no_secret("the log", &stderr, &[PASSWORD]);
    assert_no_secret("stdout", &String::from_utf8_lossy(&out.stdout), &[PASSWORD]);
    assert_no_secret("/metrics", &metrics, &[PASSWORD]);
}

#[test]
fn mtls_with_an_encrypted_key_whose_password_is_a_file() {
    let b = broker();
    let s = secured();
    let dir = tempfile::tempdir().unwrap();
    let demo = demo_file(dir.path());
    let expected = backtest_keys(&demo);
    let names = Names::new("mtls");
    create_topics(&b.bootstrap, &names);
    grant_pipeline(MTLS_PRINCIPAL, &names, "");
    replay_file(&b.bootstrap, &names, &demo);
    let key_password = dir.path().join("key-password");
    std::fs::write(&key_password, &s.client_key_password).unwrap();

    let mut cmd = vigil(&s.mtls, &names);
    cmd.arg("run")
        .env("VIGIL__DELIVERY__ENABLED", "false")
        .env("VIGIL__KAFKA__CLIENT__SECURITY_PROTOCOL", "SSL")
        .env("VIGIL__KAFKA__CLIENT__SSL_CA_LOCATION", &s.ca)
        .env(
            "VIGIL__KAFKA__CLIENT__SSL_CERTIFICATE_LOCATION",
            &s.client_cert,
        )
        .env("VIGIL__KAFKA__CLIENT__SSL_KEY_LOCATION", &s.client_key)
        .env("VIGIL_KAFKA_SSL_KEY_PASSWORD_FILE", &key_password);
    let (out, metrics) = run_demo_to_the_end(&mut cmd, &names, demo_lines(&demo));
    assert_eq!(committed_alert_keys(&b.bootstrap, &names.alerts), expected);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_no_secret("the log", &stderr, &[&s.client_key_password]);
    assert_no_secret(
        "stdout",
        &String::from_utf8_lossy(&out.stdout),
        &[&s.client_key_password],
    );
    assert_no_secret("/metrics", &metrics, &[&s.client_key_password]);
}

/// Runs `cmd` expecting it to fail by itself within `limit`; returns its standard error.
fn fails_within(cmd: &mut Command, limit: Duration, what: &str) -> String {
    // The log goes to a file: a pipe read only at the end could fill and block the run.
    let log = tempfile::NamedTempFile::new().expect("log file");
    let mut child = cmd
        .env("VIGIL__LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(log.reopen().expect("log"))
        .spawn()
        .expect("vigil run");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        // Not synchronisation: how often a still-running child is looked at.
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = std::fs::read_to_string(log.path()).unwrap_or_default();
    let status = status
        .unwrap_or_else(|| panic!("{what}: still running after {limit:?} (a hang):\n{stderr}"));
    assert!(!status.success(), "{what}: exited 0:\n{stderr}");
    stderr
}

#[test]
fn each_missing_acl_and_a_wrong_password_stop_the_run_at_once_naming_what_is_missing() {
    let b = broker();
    let dir = tempfile::tempdir().unwrap();
    let demo = demo_file(dir.path());
    let right = dir.path().join("password");
    std::fs::write(&right, PASSWORD).unwrap();
    let wrong = dir.path().join("wrong-password");
    std::fs::write(&wrong, "not-the-password").unwrap();
    let limit = Duration::from_secs(60);

    for (user, omit) in [
        ("no-input-read", "input-read"),
        ("no-group-read", "group-read"),
        ("no-alerts-write", "alerts-write"),
        ("no-txn-write", "txn-write"),
    ] {
        let names = Names::new(user);
        create_topics(&b.bootstrap, &names);
        grant_pipeline(&format!("User:{user}"), &names, omit);
        replay_file(&b.bootstrap, &names, &demo);
        let stderr = fails_within(&mut run_over_sasl(&names, user, &right), limit, user);
        let expected = match omit {
            "input-read" => format!("cannot see Topic:{} and may not create it", names.input),
            "group-read" => format!("may not Read Group:{}", names.group),
            "alerts-write" => format!("may not Write Topic:{}", names.alerts),
            _ => format!("may not Write TransactionalId:{}-0", names.group),
        };
        assert!(
            stderr.contains(&expected),
            "{user}: expected {expected:?} in:\n{stderr}"
        );
        assert!(
            committed_alert_keys(&b.bootstrap, &names.alerts).is_empty(),
            "{user}: alerts were committed"
        );
    }

    let names = Names::new("wrong-password");
    create_topics(&b.bootstrap, &names);
    grant_pipeline("User:wrong-password", &names, "");
    let stderr = fails_within(
        &mut run_over_sasl(&names, "wrong-password", &wrong),
        Duration::from_secs(20),
        "wrong password",
    );
    assert!(stderr.contains("refused the connection"), "{stderr}");
    assert!(
        stderr.contains("Authentication failed") || stderr.contains("authentication"),
        "{stderr}"
    );
    assert_no_secret("the log", &stderr, &["not-the-password"]);
    assert!(!committed_at_least(
        &b.bootstrap,
        &names.group,
        &names.input,
        1
    ));
}
