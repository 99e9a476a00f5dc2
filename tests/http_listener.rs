//! The shared HTTP listener's limits and TLS (`src/telemetry/listener.rs`), on 127.0.0.1:0: a
//! client that never finishes its headers is cut off, an oversized head is refused, connections
//! beyond the limit wait, TLS (rustls) serves a client that trusts the certificate and sends
//! HSTS, and no answer carries a CORS header.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vigil::config::HttpSettings;
use vigil::telemetry::listener::serve;

fn app() -> Router {
    Router::new().route("/x", get(|| async { "ok\n" }))
}

fn settings() -> HttpSettings {
    HttpSettings {
        listen: "127.0.0.1:0".into(),
        ..HttpSettings::default()
    }
}

/// Sends `request` on a fresh connection and reads the answer until the server closes it, for
/// at most `limit`; `None` when nothing at all came back within it.
async fn exchange(addr: SocketAddr, request: &[u8], limit: Duration) -> Option<String> {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(request).await.expect("write");
    let mut out = Vec::new();
    match tokio::time::timeout(limit, s.read_to_end(&mut out)).await {
        Ok(_) => Some(String::from_utf8_lossy(&out).into_owned()),
        Err(_) if out.is_empty() => None,
        Err(_) => Some(String::from_utf8_lossy(&out).into_owned()),
    }
}

const GET: &[u8] = b"GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let addr = serve(
        &HttpSettings {
            header_read_timeout_ms: 300,
            ..settings()
        },
        app(),
    )
    .await
    .unwrap();
    // A whole request is answered.
    let whole = exchange(addr, GET, Duration::from_secs(10)).await.unwrap();
    assert!(whole.starts_with("HTTP/1.1 200"), "{whole}");
    // Half a head: the server closes the connection (here within the 10 s bound, where without
    // the timeout it would wait for ever).
    let half = exchange(
        addr,
        b"GET /x HTTP/1.1\r\nHost: t\r\nX-Slow: 1",
        Duration::from_secs(10),
    )
    .await;
    assert!(
        half.is_some(),
        "the half-sent request still holds its connection"
    );
    assert!(!half.unwrap().contains("200 OK"));
}

#[tokio::test]
async fn an_oversized_request_head_is_refused() {
    let addr = serve(&settings(), app()).await.unwrap();
    let mut big = b"GET /x HTTP/1.1\r\nHost: t\r\nX-Big: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 64 * 1024));
    big.extend(b"\r\n\r\n");
    let answer = exchange(addr, &big, Duration::from_secs(10))
        .await
        .unwrap_or_default();
    assert!(!answer.contains("200 OK"), "{answer}");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_for_a_free_slot() {
    let addr = serve(
        &HttpSettings {
            max_connections: 2,
            ..settings()
        },
        app(),
    )
    .await
    .unwrap();
    // Two idle connections take both slots (an accepted connection's first bytes are awaited).
    let first = TcpStream::connect(addr).await.unwrap();
    let _second = TcpStream::connect(addr).await.unwrap();
    let waiting = tokio::spawn(exchange(addr, GET, Duration::from_secs(10)));
    // Not synchronisation: the third must not be answered while both slots are held.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "a third connection was served past the limit"
    );
    drop(first);
    let answer = waiting
        .await
        .unwrap()
        .expect("answered once a slot is free");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn no_answer_carries_a_cors_header() {
    let addr = serve(&settings(), app()).await.unwrap();
    for request in [
        &b"OPTIONS /x HTTP/1.1\r\nHost: t\r\nOrigin: https://evil.example\r\nAccess-Control-Request-Method: GET\r\nConnection: close\r\n\r\n"[..],
        &b"GET /x HTTP/1.1\r\nHost: t\r\nOrigin: https://evil.example\r\nConnection: close\r\n\r\n"[..],
    ] {
        let answer = exchange(addr, request, Duration::from_secs(10)).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1"), "{answer}");
        assert!(!answer.to_ascii_lowercase().contains("access-control-allow"), "{answer}");
    }
}

#[tokio::test]
async fn tls_serves_a_client_that_trusts_the_certificate_and_sends_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new("openssl")
        .current_dir(dir.path())
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .output()
        .expect("openssl (Debian: openssl)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let cert = dir.path().join("cert.pem");
    let addr = serve(
        &HttpSettings {
            tls_cert_file: Some(cert.display().to_string()),
            tls_key_file: Some(dir.path().join("key.pem").display().to_string()),
            ..settings()
        },
        app(),
    )
    .await
    .unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap(),
        )
        .build()
        .unwrap();
    let answer = client
        .get(format!("https://127.0.0.1:{}/x", addr.port()))
        .send()
        .await
        .expect("https request");
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer
            .headers()
            .get("strict-transport-security")
            .map(|v| v.to_str().unwrap()),
        Some("max-age=31536000")
    );
    // Plain HTTP on the TLS port gets no answer of the application.
    let plain = exchange(addr, GET, Duration::from_secs(10))
        .await
        .unwrap_or_default();
    assert!(!plain.contains("200 OK"), "{plain}");
    // A client that does not trust the certificate is refused.
    let untrusting = reqwest::Client::new()
        .get(format!("https://127.0.0.1:{}/x", addr.port()))
        .send()
        .await;
    assert!(untrusting.is_err());
}

#[tokio::test]
async fn half_a_tls_setting_or_an_unreadable_key_is_refused_without_showing_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let half = serve(
        &HttpSettings {
            tls_cert_file: Some("/nonexistent.pem".into()),
            ..settings()
        },
        app(),
    )
    .await;
    assert!(half.is_err());
    // A usable certificate with a key that is not one: the key is read, refused, not shown.
    let made = Command::new("openssl")
        .current_dir(dir.path())
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "real-key.pem",
            "-out",
            "cert.pem",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .output()
        .expect("openssl");
    assert!(made.status.success());
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&key, "SECRET-KEY-BYTES").unwrap();
    let err = serve(
        &HttpSettings {
            tls_cert_file: Some(cert.display().to_string()),
            tls_key_file: Some(key.display().to_string()),
            ..settings()
        },
        app(),
    )
    .await
    .expect_err("no key");
    assert!(err.to_string().contains("key.pem"), "{err}");
    assert!(!err.to_string().contains("SECRET-KEY-BYTES"), "{err}");
}
