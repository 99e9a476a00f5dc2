//! Writers of committed alert records: JSON lines to a writer, and one file per record as CAP 1.2
//! XML or as an Alertmanager webhook payload. `vigil backtest` writes every alert it makes to
//! them; `vigil run` every alert once its batch has committed.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::alert::Alert;

use super::alertmanager;
use super::cap::{self, CapSettings};

/// A destination of alert records (sent across threads: `vigil run` writes from its pipeline
/// thread).
pub trait AlertSink: Send {
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

impl<W: Write + Send> AlertLines<W> {
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

impl<W: Write + Send> AlertSink for AlertLines<W> {
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
/// run (1, 2, …; one episode writes several records). Numbers restart with every run, so a run
/// that must not overwrite another's files takes a directory of its own ([`FileSink::fresh`]).
pub struct FileSink {
    dir: PathBuf,
    rendering: Rendering,
    sender: CapSettings,
    written: u64,
}

impl FileSink {
    /// Creates `dir` if missing.
    ///
    /// Errors: the directory cannot be created.
    pub fn new(dir: PathBuf, rendering: Rendering) -> io::Result<FileSink> {
        std::fs::create_dir_all(&dir).map_err(|e| at(&dir, e))?;
        Ok(FileSink {
            dir,
            rendering,
            sender: CapSettings::default(),
            written: 0,
        })
    }

    /// [`FileSink::new`] on a directory that is missing or empty.
    ///
    /// Errors: the directory cannot be created or read, or holds files already.
    pub fn fresh(dir: PathBuf, rendering: Rendering) -> io::Result<FileSink> {
        let sink = FileSink::new(dir, rendering)?;
        let mut entries = std::fs::read_dir(&sink.dir).map_err(|e| at(&sink.dir, e))?;
        if entries.next().is_some() {
            return Err(at(
                &sink.dir,
                io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "is not empty: file numbers restart with every run, so each run needs a directory of its own",
                ),
            ));
        }
        Ok(sink)
    }
}

/// An I/O error that names its path.
fn at(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
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
        let path = self.dir.join(name);
        std::fs::write(&path, body).map_err(|e| at(&path, e))
    }
}
