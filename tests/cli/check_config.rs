//! `vigil check-config`: the shipped files pass; a broken one is named by file, line and field.

use std::path::{Path, PathBuf};

use super::{run, vigil};

/// Runs `check-config` on `cfg`, expects it to fail, and returns what it wrote to stderr.
fn check_config_fails(cfg: &Path) -> String {
    let out = vigil()
        .arg("--config-dir")
        .arg(cfg)
        .arg("check-config")
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "check-config accepted a broken {}",
        cfg.display()
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn copy_config(dir: &Path) -> PathBuf {
    let cfg = dir.join("config");
    std::fs::create_dir_all(&cfg).unwrap();
    for f in [
        "vigil.toml",
        "taxonomy.toml",
        "rules.toml",
        "subscribers.toml",
    ] {
        std::fs::copy(Path::new("config").join(f), cfg.join(f)).unwrap();
    }
    cfg
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle present")
        + 1
}

#[test]
fn check_config_accepts_the_shipped_files() {
    let out = run(vigil().arg("check-config"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("ok: 14 risk factors"), "{stdout}");
}

#[test]
fn check_config_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = copy_config(dir.path());
    let rules = std::fs::read_to_string(cfg.join("rules.toml")).unwrap();
    let broken = rules.replacen("window = \"72h\"", "window = \"banana\"", 1);
    std::fs::write(cfg.join("rules.toml"), &broken).unwrap();
    let tax = std::fs::read_to_string(cfg.join("taxonomy.toml")).unwrap();
    let broken_tax = tax.replacen(
        "indicators = [\"5.5\", \"5.8\", \"8.2\"]",
        "indicators = [\"5.5\", \"99.1\"]",
        1,
    );
    std::fs::write(cfg.join("taxonomy.toml"), &broken_tax).unwrap();

    let stderr = check_config_fails(&cfg);
    let rules_line = line_of(&broken, "window = \"banana\"");
    let expected = format!("rules.toml:{rules_line}: rule[3].window: expected a duration");
    assert!(
        stderr.contains(&expected),
        "wanted {expected:?} in:\n{stderr}"
    );
    let tax_line = line_of(&broken_tax, "\"99.1\"");
    let expected =
        format!("taxonomy.toml:{tax_line}: threat[0].indicators[1]: unknown indicator 99.1");
    assert!(
        stderr.contains(&expected),
        "wanted {expected:?} in:\n{stderr}"
    );
}

#[test]
fn check_config_names_an_event_frame_group_without_terms() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = copy_config(dir.path());
    let tax = std::fs::read_to_string(cfg.join("taxonomy.toml")).unwrap();
    let broken = tax.replacen(
        "groups = [\"captivity\", \"taking\"]",
        "groups = [\"captivity\", \"takng\"]",
        1,
    );
    assert_ne!(
        broken, tax,
        "the shipped first frame changed; update this test"
    );
    std::fs::write(cfg.join("taxonomy.toml"), &broken).unwrap();
    let stderr = check_config_fails(&cfg);
    let line = line_of(&broken, "\"takng\"");
    let expected = format!(
        "taxonomy.toml:{line}: frame[0].groups[1]: no terms for `takng` in [frame_terms.en]"
    );
    assert!(
        stderr.contains(&expected),
        "wanted {expected:?} in:\n{stderr}"
    );
}

#[test]
fn check_config_reports_toml_syntax_errors_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = copy_config(dir.path());
    let text = std::fs::read_to_string(cfg.join("vigil.toml")).unwrap();
    let broken = text.replacen("pane_secs = 3600", "pane_secs = = 3600", 1);
    std::fs::write(cfg.join("vigil.toml"), &broken).unwrap();
    let stderr = check_config_fails(&cfg);
    let line = line_of(&broken, "pane_secs = = 3600");
    assert!(stderr.contains(&format!("vigil.toml:{line}:")), "{stderr}");
}

#[test]
fn check_config_names_the_line_of_a_subscriber_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = copy_config(dir.path());
    let subs = std::fs::read_to_string(cfg.join("subscribers.toml")).unwrap();
    // A second subscriber takes the first one's name.
    let broken =
        format!("{subs}\n[[subscriber]]\nname = \"public-cap-feed\"\nkind = \"cap_feed\"\n");
    std::fs::write(cfg.join("subscribers.toml"), &broken).unwrap();
    let stderr = check_config_fails(&cfg);
    let second = broken
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("name = \"public-cap-feed\""))
        .nth(1)
        .map(|(i, _)| i + 1)
        .expect("the second subscriber's name");
    let expected = format!(
        "subscribers.toml:{second}: subscriber[1].name: \"public-cap-feed\" is used by an earlier subscriber"
    );
    assert!(stderr.contains(&expected), "{expected}\nnot in\n{stderr}");
}

#[test]
fn check_config_refuses_email_without_an_smtp_server() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = copy_config(dir.path());
    let subs = std::fs::read_to_string(cfg.join("subscribers.toml")).unwrap();
    std::fs::write(
        cfg.join("subscribers.toml"),
        format!("{subs}\n[[subscriber]]\nname = \"mail\"\nkind = \"email\"\nto = [\"desk@example.org\"]\n"),
    )
    .unwrap();
    let stderr = check_config_fails(&cfg);
    assert!(
        stderr.contains("subscriber[1].kind: email needs [delivery.smtp] host"),
        "{stderr}"
    );
    // With a host, the same file passes.
    let vigil_toml = std::fs::read_to_string(cfg.join("vigil.toml")).unwrap();
    std::fs::write(
        cfg.join("vigil.toml"),
        vigil_toml.replacen("host = \"\"", "host = \"smtp.example.org\"", 1),
    )
    .unwrap();
    run(vigil().arg("--config-dir").arg(&cfg).arg("check-config"));
}

#[test]
fn check_config_names_the_line_of_a_desk_token_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = copy_config(dir.path());
    let access = "[[token]]\nname = \"ng-focal\"\nrole = \"viewer\"\nregions = [\"NG-*\"]\nsha256 = \"not-a-hash\"\n";
    std::fs::write(cfg.join("access.toml"), access).unwrap();
    let stderr = check_config_fails(&cfg);
    let line = line_of(access, "sha256 =");
    let expected = format!("access.toml:{line}: token[0].sha256: must be 64 lower-case hex digits");
    assert!(stderr.contains(&expected), "{expected}\nnot in\n{stderr}");
    // A well-formed hash passes, and is counted.
    let good = access.replace("not-a-hash", &"ab".repeat(32));
    std::fs::write(cfg.join("access.toml"), good).unwrap();
    let out = run(vigil().arg("--config-dir").arg(&cfg).arg("check-config"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 desk tokens"));
}

#[test]
fn check_config_names_the_path_and_line_of_a_value_of_the_wrong_type() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = copy_config(dir.path());
    let subs = "[[subscriber]]\nname = \"chat\"\nkind = \"alertmanager\"\nurl = \"http://127.0.0.1/\"\ngroup_wait = \"soon\"\n";
    std::fs::write(cfg.join("subscribers.toml"), subs).unwrap();
    let stderr = check_config_fails(&cfg);
    let line = line_of(subs, "group_wait");
    let expected = format!("subscribers.toml:{line}: subscriber[0].group_wait: ");
    assert!(stderr.contains(&expected), "{expected}\nnot in\n{stderr}");
}

#[test]
fn check_config_refuses_a_secret_in_the_kafka_client_table_without_showing_it() {
    // Written in the file, and given as an environment override: both land in [kafka.client].
    let dir = tempfile::tempdir().unwrap();
    let cfg = copy_config(dir.path());
    let main = std::fs::read_to_string(cfg.join("vigil.toml")).unwrap();
    assert!(
        main.contains("\n[kafka.client]\n"),
        "the shipped file has the table"
    );
    std::fs::write(
        cfg.join("vigil.toml"),
        main.replacen(
            "\n[kafka.client]\n",
            "\n[kafka.client]\nsasl_password = \"in-the-file-7f3\"\n",
            1,
        ),
    )
    .unwrap();
    let stderr = check_config_fails(&cfg);
    assert!(stderr.contains("kafka.client.sasl_password"), "{stderr}");
    assert!(stderr.contains("VIGIL_KAFKA_SASL_PASSWORD"), "{stderr}");
    assert!(!stderr.contains("in-the-file-7f3"), "{stderr}");

    let out = vigil()
        .arg("check-config")
        .env("VIGIL__KAFKA__CLIENT__SSL_KEY_PASSWORD", "in-the-env-9c1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "accepted a secret from VIGIL__KAFKA__CLIENT__"
    );
    assert!(stderr.contains("ssl_key_password"), "{stderr}");
    assert!(!stderr.contains("in-the-env-9c1"), "{stderr}");
    // Names that carry no secret pass.
    run(vigil()
        .arg("check-config")
        .env("VIGIL__KAFKA__CLIENT__SASL_USERNAME", "vigil"));
}
