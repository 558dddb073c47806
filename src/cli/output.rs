//! Where the sensor's EVE lines go: a file (created with mode 0640, reopened on SIGHUP so
//! that logrotate can move it) or standard output; and the alert tallies of the summary.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use exhound::sensor::{AlertNote, Destination, SensorReport, SensorStats};

/// Alerts per signature and per client → server pair, for the summary.
#[derive(Default)]
pub struct AlertTally {
    /// (sid, msg) → alerts.
    pub by_signature: BTreeMap<(u32, String), u64>,
    /// (client, server, server port) → what the client did.
    pub by_pair: BTreeMap<(IpAddr, IpAddr, u16), PairTally>,
}

/// What one client did to one server.
#[derive(Default)]
pub struct PairTally {
    /// Alerts.
    pub alerts: u64,
    /// Attack stages reached (rule metadata `stage`), in order of first appearance.
    pub stages: Vec<String>,
    /// CVEs named by the alerts.
    pub cves: Vec<String>,
    /// Some alert said the attack succeeded (metadata `outcome succeeded`).
    pub succeeded: bool,
}

impl AlertTally {
    fn add(&mut self, note: &AlertNote) {
        let rule = &note.rule;
        *self
            .by_signature
            .entry((rule.sid, rule.msg.clone()))
            .or_default() += 1;
        let pair = self
            .by_pair
            .entry((note.client_ip, note.server_ip, note.server_port))
            .or_default();
        pair.alerts += 1;
        for (k, v) in &rule.metadata {
            let list = match k.as_str() {
                "stage" => &mut pair.stages,
                "cve" => &mut pair.cves,
                "outcome" if v == "succeeded" => {
                    pair.succeeded = true;
                    continue;
                }
                _ => continue,
            };
            if !list.contains(v) {
                list.push(v.clone());
            }
        }
    }
}

/// The EVE output of a run.
pub struct EveOutput {
    path: Option<PathBuf>,
    writer: BufWriter<Box<dyn Write + Send>>,
    reopen: Option<Arc<AtomicBool>>,
    /// Flush at least this often (live capture), else only when the buffer fills.
    flush_every: Option<Duration>,
    last_flush: Instant,
    /// The alerts written.
    pub tally: AlertTally,
    alerts: Arc<AtomicU64>,
}

impl EveOutput {
    /// Writes to `path` (truncated, or appended to with `append`), or to standard output.
    pub fn open(path: Option<&Path>, append: bool) -> anyhow::Result<EveOutput> {
        let sink: Box<dyn Write + Send> = match path {
            Some(p) => Box::new(
                open_file(p, append).with_context(|| format!("cannot create {}", p.display()))?,
            ),
            None => Box::new(io::stdout()),
        };
        Ok(EveOutput {
            path: path.map(Path::to_path_buf),
            writer: BufWriter::with_capacity(1 << 16, sink),
            reopen: None,
            flush_every: None,
            last_flush: Instant::now(),
            tally: AlertTally::default(),
            alerts: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Reopens the file (appending, creating it anew if it was moved) before the next line
    /// once `flag` is set.
    pub fn reopen_on(&mut self, flag: Arc<AtomicBool>) {
        self.reopen = Some(flag);
    }

    /// Flushes at least every `every` (so that a live sensor's alerts reach the file soon).
    pub fn flush_every(&mut self, every: Duration) {
        self.flush_every = Some(every);
    }

    /// The number of alerts written so far, readable from other threads (progress bar).
    pub fn alerts_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.alerts)
    }

    /// What the output is called in messages.
    pub fn name(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => "standard output".to_string(),
        }
    }

    /// Writes out what is buffered.
    pub fn flush(&mut self) -> io::Result<()> {
        self.last_flush = Instant::now();
        self.writer.flush()
    }

    /// Takes the output back from a finished sensor: the first error the sensor met while
    /// writing, else the final flush, fails with the output's name.
    pub fn closed(report: SensorReport<EveOutput>) -> anyhow::Result<(EveOutput, SensorStats)> {
        let mut out = report.destination;
        let name = out.name();
        if let Some(e) = report.write_error {
            return Err(e).with_context(|| format!("writing EVE to {name}"));
        }
        out.flush()
            .with_context(|| format!("writing EVE to {name}"))?;
        Ok((out, report.stats))
    }

    fn reopen_if_asked(&mut self) -> io::Result<()> {
        let asked = self
            .reopen
            .as_ref()
            .is_some_and(|f| f.swap(false, Ordering::Relaxed));
        if let (true, Some(path)) = (asked, &self.path) {
            self.writer.flush()?;
            let file = open_file(path, true)?;
            self.writer = BufWriter::with_capacity(1 << 16, Box::new(file));
        }
        Ok(())
    }
}

/// Creates (mode 0640) or opens an EVE file.
fn open_file(path: &Path, append: bool) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true).mode(0o640);
    if append {
        o.append(true);
    } else {
        o.write(true).truncate(true);
    }
    o.open(path)
}

impl Destination for EveOutput {
    fn line(&mut self, line: &[u8]) -> io::Result<()> {
        self.reopen_if_asked()?;
        // Whole lines only: BufWriter hands the file whole buffers of whole lines, so a
        // file cut short by a crash still ends with a whole line.
        self.writer.write_all(line)?;
        if self
            .flush_every
            .is_some_and(|every| self.last_flush.elapsed() >= every)
        {
            self.flush()?;
        }
        Ok(())
    }

    fn alert(&mut self, note: &AlertNote) {
        self.tally.add(note);
        self.alerts.fetch_add(1, Ordering::Relaxed);
    }

    fn flush(&mut self) -> io::Result<()> {
        self.reopen_if_asked()?;
        EveOutput::flush(self)
    }
}
