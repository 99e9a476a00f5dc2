//! Sinks of committed alert records: JSON lines to a writer, and one file per record as CAP 1.2
//! XML or as an Alertmanager webhook payload. `vigil backtest` writes every alert it makes to
//! them; `vigil run` every alert once its batch has committed.

use std::io::{self, Write};
use std::path::PathBuf;

use crate::alert::Alert;

use super::alertmanager;
use super::cap::{self, CapSender};

/// A destination of alert records.
pub trait AlertSink {
    /// Writes one alert record.
    ///
    /// Errors: the I/O error of the writer or file.
    fn alert(&mut self, alert: &Alert) -> io::Result<()>;

    /// Flushes what is buffered (at the end of a run, or of a batch).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Alert records as JSON lines (DESIGN's alert format), or as readable lines.
pub struct AlertLines<W: Write> {
    out: W,
    readable: bool,
}

impl<W: Write> AlertLines<W> {
    /// One JSON object per line.
    pub fn json(out: W) -> Self {
        AlertLines {
            out,
            readable: false,
        }
    }

    /// One readable line per record (`Alert::line`), for a person at a terminal.
    pub fn readable(out: W) -> Self {
        AlertLines {
            out,
            readable: true,
        }
    }
}

impl<W: Write> AlertSink for AlertLines<W> {
    fn alert(&mut self, alert: &Alert) -> io::Result<()> {
        if self.readable {
            writeln!(self.out, "{}", alert.line())
        } else {
            serde_json::to_writer(&mut self.out, alert)?;
            self.out.write_all(b"\n")
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Which rendering a [`FileSink`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendering {
    /// CAP 1.2 XML, `<alert id>-<n>.xml`.
    Cap,
    /// Alertmanager webhook payload (version 4), `<alert id>-<n>.json`.
    Alertmanager,
}

/// One file per alert record in a directory, named by alert id and the record's number in the
/// run (1, 2, …; one episode writes several records).
pub struct FileSink {
    dir: PathBuf,
    rendering: Rendering,
    sender: CapSender,
    written: u64,
}

impl FileSink {
    /// Creates `dir` if missing.
    ///
    /// Errors: the directory cannot be created.
    pub fn new(dir: PathBuf, rendering: Rendering) -> io::Result<FileSink> {
        std::fs::create_dir_all(&dir)?;
        Ok(FileSink {
            dir,
            rendering,
            sender: CapSender::default(),
            written: 0,
        })
    }
}

impl AlertSink for FileSink {
    fn alert(&mut self, alert: &Alert) -> io::Result<()> {
        self.written += 1;
        let (name, body) = match self.rendering {
            Rendering::Cap => (
                format!("{}-{:04}.xml", alert.alert_id, self.written),
                cap::render(alert, &self.sender).into_bytes(),
            ),
            Rendering::Alertmanager => (
                format!("{}-{:04}.json", alert.alert_id, self.written),
                serde_json::to_vec(&alertmanager::payload(alert, "vigil"))?,
            ),
        };
        std::fs::write(self.dir.join(name), body)
    }
}
