//! The webhook receiver of the delivery tests (`receiver.py`: Python's own `http.server` and
//! `hmac`, independent of Vigil's code), on a free port of 127.0.0.1, killed when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::http_get;

pub struct Receiver {
    child: Child,
    /// `127.0.0.1:<port>`.
    pub addr: String,
}

impl Receiver {
    /// Starts the receiver; it verifies `Vigil-Signature` under `key`.
    pub fn start(key: &str) -> Receiver {
        let mut child = Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/support/receiver.py"
            ))
            .env("RECEIVER_KEY", key)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the receiver");
        let mut port = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut port)
            .expect("the receiver prints its port");
        Receiver {
            child,
            addr: format!("127.0.0.1:{}", port.trim()),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// What the receiver recorded, in arrival order (empty while it does not answer).
    pub fn seen(&self) -> Vec<Value> {
        http_get(&self.addr, "/seen")
            .and_then(|(_, body)| serde_json::from_str(&body).ok())
            .unwrap_or_default()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
