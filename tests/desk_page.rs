//! The desk's page in a real browser: headless Chromium (Debian `chromium`, `chromium-driver`)
//! driven over WebDriver by Selenium (`tests/support/desk_browser.py`), against `vigil run` on
//! a real Kafka broker. The page is opened before any report exists; the demo is then replayed
//! into the input topic, so NG-BO's critical alert reaches the page live, over the stream. An
//! analyst acknowledges it and finds the review in the audit trail; a viewer sees no report
//! text and no review form; a token scoped to Mali never sees NG-BO. Screenshots of each step
//! are kept in `target/desk-page-shots/`.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{
    Names, broker, config_with_tokens, create_topics, demo_file, http_get, replay_file, vigil,
    wait_for, with_desk,
};

#[test]
fn an_analyst_sees_the_critical_alert_arrive_live_and_acknowledges_it_in_a_real_browser() {
    let bootstrap = broker();
    let names = Names::new("page");
    let dir = tempfile::tempdir().unwrap();
    let (analyst, viewer, outsider) =
        ("page-analyst-token", "page-viewer-token", "page-mali-token");
    let config = config_with_tokens(
        dir.path(),
        &[
            ("ana", "analyst", "[\"*\"]", analyst),
            ("vic", "viewer", "[\"NG-*\"]", viewer),
            ("mali", "analyst", "[\"ML-*\"]", outsider),
        ],
    );
    let demo = demo_file(dir.path());
    create_topics(bootstrap, &names);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = vigil(bootstrap, &names);
    cmd.args(["run", "--config-dir"])
        .arg(&config)
        .env("VIGIL__HTTP__LISTEN", &addr)
        .env("VIGIL__DELIVERY__ENABLED", "false")
        .stdout(Stdio::null());
    let mut run = with_desk(&mut cmd, &names, &dir.path().join("desk.sqlite"))
        .spawn()
        .unwrap();
    assert!(
        wait_for(Duration::from_secs(60), || http_get(&addr, "/desk/")
            .is_some_and(|r| r.0 == 200)),
        "the desk never answered"
    );
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/desk-page-shots");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    let mut browser = Command::new("python3")
        .arg("tests/support/desk_browser.py")
        .args(["--base", &format!("http://{addr}")])
        .args([
            "--analyst",
            analyst,
            "--viewer",
            viewer,
            "--outsider",
            outsider,
        ])
        .args(["--region", "NG-BO", "--shots"])
        .arg(&shots)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with selenium (see .ci/run)");
    let mut lines = BufReader::new(browser.stdout.take().unwrap()).lines();
    let mut said = Vec::new();
    // Signed in with the stream live, and no report yet: now the demo goes in.
    for line in lines.by_ref() {
        let line = line.unwrap();
        said.push(line.clone());
        if line == "READY" {
            replay_file(bootstrap, &names, &demo);
            break;
        }
    }
    said.extend(lines.map_while(Result::ok));
    let status = browser.wait().unwrap();
    let acked = said
        .iter()
        .find_map(|l| l.strip_prefix("ACKED "))
        .map(str::to_string);
    // The review the browser made is in the desk, read back through the API.
    let reviews = acked.as_ref().and_then(|id| {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&addr).ok()?;
        write!(
            s,
            "GET /api/v1/alerts/{id}/reviews HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {analyst}\r\n\r\n"
        )
        .ok()?;
        let mut answer = String::new();
        s.read_to_string(&mut answer).ok()?;
        Some(answer)
    });
    let _ = Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status();
    let _ = run.wait();
    assert!(
        status.success(),
        "the browser run failed: {said:?} (see {})",
        shots.display()
    );
    assert!(said.contains(&"OK".to_string()), "{said:?}");
    let reviews = reviews.expect("an acknowledged alert id");
    assert!(
        reviews.contains("\"acknowledged\"") && reviews.contains("seen by desk test"),
        "{reviews}"
    );
    for shot in [
        "01-live.png",
        "02-critical.png",
        "03-reviewed.png",
        "04-audit.png",
        "05-viewer.png",
        "06-outsider.png",
    ] {
        assert!(shots.join(shot).exists(), "{shot} missing");
    }
}
