//! Where the sensor's EVE lines go: a file (created with mode 0640, reopened on SIGHUP so
//! that logrotate can move it) or standard output, and the receivers they are shipped to
//! (syslog, Redis: each line is handed to their queues without waiting); and the alert
//! tallies of the summary.

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

use exhound::output::ship::{ShipCounts, Shipper, Target};
use exhound::sensor::{AlertNote, Destination, OutputCounters, SensorReport, SensorStats};

use super::args::EveSink;

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
    /// The receivers every line is shipped to.
    ships: Vec<Shipper>,
    /// Whether lines go to a file or standard output at all.
    writes: bool,
    /// The incident report being built from every line written (`replay --report`).
    pub report: Option<exhound::report::Builder>,
}

impl EveOutput {
    /// Writes to a file (truncated, or appended to with `append`), to standard output, or
    /// nowhere (when the lines are only shipped).
    pub fn open(to: EveSink<'_>, append: bool) -> anyhow::Result<EveOutput> {
        let (sink, path): (Box<dyn Write + Send>, _) = match to {
            EveSink::File(p) => (
                Box::new(
                    open_file(p, append)
                        .with_context(|| format!("cannot create {}", p.display()))?,
                ),
                Some(p.to_path_buf()),
            ),
            EveSink::Stdout => (Box::new(io::stdout()), None),
            EveSink::None => (Box::new(io::sink()), None),
        };
        Ok(EveOutput {
            writes: to != EveSink::None,
            ships: Vec::new(),
            path,
            writer: BufWriter::with_capacity(1 << 16, sink),
            reopen: None,
            flush_every: None,
            last_flush: Instant::now(),
            tally: AlertTally::default(),
            alerts: Arc::new(AtomicU64::new(0)),
            report: None,
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
            None if self.writes => "standard output".to_string(),
            None => "no file".to_string(),
        }
    }

    /// Ships every line to `targets` too: starts their queues and sender threads.
    pub fn ship_to(&mut self, targets: Vec<Target>) -> anyhow::Result<()> {
        for t in targets {
            let url = t.url.clone();
            let shipper = Shipper::start(t).with_context(|| format!("--output {url}"))?;
            self.ships.push(shipper);
        }
        Ok(())
    }

    /// Closes the shipping outputs: each gets up to `wait` to send what it still holds.
    /// Their URLs and final counts (whatever was not sent is dropped).
    pub fn close_shipping(&mut self, wait: Duration) -> Vec<(String, ShipCounts)> {
        let until = Instant::now() + wait;
        self.ships
            .drain(..)
            .map(|mut s| {
                let left = until.saturating_duration_since(Instant::now());
                let counts = s.close(left);
                (s.url().to_string(), counts)
            })
            .collect()
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
        if let Some(report) = &mut self.report {
            // The sensor's own lines are always EVE records.
            let _ = report.line(line);
        }
        if !self.ships.is_empty() {
            let shared: Arc<[u8]> = Arc::from(line);
            for s in &self.ships {
                s.offer(&shared);
            }
        }
        if !self.writes {
            return Ok(());
        }
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

    fn counters(&self) -> Vec<OutputCounters> {
        self.ships
            .iter()
            .map(|s| {
                let c = s.counts();
                OutputCounters {
                    sent: c.sent,
                    queued: c.queued,
                    dropped: c.dropped,
                    failures: c.failures,
                }
            })
            .collect()
    }
}

/// Reports on standard error what each shipping output sent and dropped: always when
/// records were dropped, else unless `quiet`.
pub fn report_shipping(shipped: &[(String, ShipCounts)], quiet: bool) {
    for (url, c) in shipped {
        if c.dropped > 0 {
            eprintln!(
                "exhound: output {url}: {} sent, {} dropped (not sent: receiver away or slow, or queue full)",
                c.sent, c.dropped
            );
        } else if !quiet {
            eprintln!("exhound: output {url}: {} sent, 0 dropped", c.sent);
        }
    }
}
