//! `exhound replay`: capture files → sensor → EVE JSON, then a summary on standard error.
//!
//! The files are one continuous capture: this thread reads them in order and hands every
//! packet to the sensor, so flows carry on across files. A file that cannot be opened, or
//! breaks part-way, is reported with its name (and packet number); what was read before the
//! break is processed and written, the next file is still read, and the exit status says
//! that some input was bad. SIGINT or SIGTERM stops the reading: what was read is inspected
//! to the end and written, with the summary.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use exhound::capture::{expand_inputs, CaptureError, CaptureFile};
use exhound::sensor::{Sensor, StatsMoment};
use exhound::time::Timestamp;

use super::args::ReplayArgs;
use super::output::EveOutput;
use super::signals::Signals;
use super::summary::{self, RunFacts};
use super::{EXIT_BAD_INPUT, EXIT_OK};

/// Runs the replay and returns the exit status.
pub fn run(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let s = &args.sensor;
    let signals = Signals::install().context("installing signal handlers")?;
    let report_targets = super::report::targets(&args.report, None).context("--report")?;
    let mut output = EveOutput::open(s.eve_sink()?, false)?;
    if !args.report.is_empty() {
        if report_targets.iter().any(|(p, _)| p.as_os_str() == "-") {
            anyhow::bail!("--report: give a file (standard output carries the EVE)");
        }
        output.report = Some(exhound::report::Builder::new());
    }
    output.ship_to(s.ship_targets())?;
    output.reopen_on(Arc::clone(&signals.reopen));
    let alerts = output.alerts_counter();
    let rules = super::rules::for_sensor(&s.rules)?;
    let mut bad_input = false;
    let files = match expand_inputs(&args.paths) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("exhound: {e}");
            bad_input = true;
            // Read what can be read: every path that expands on its own.
            args.paths
                .iter()
                .filter_map(|p| expand_inputs(std::slice::from_ref(p)).ok())
                .flatten()
                .collect()
        }
    };
    let mut config = s.sensor_config(false);
    config.output.redact = s.redactor(Some(&files))?;
    config.pipeline.tls.decryption = s.decryption(false)?;
    add_embedded_key_logs(&files, &mut config.pipeline.tls.decryption)?;
    let threads = config.threads;
    let mut sensor = Sensor::start(config, Some(rules), output)?;
    let mut reader = Reader {
        pcap_cnt: 0,
        stats_every: (s.log_stats && s.stats_interval > 0).then_some(s.stats_interval),
        first_ts: None,
        next_stats: None,
        progress: Progress::new(&files, s.quiet, alerts),
    };
    let mut files_read = 0u64;
    for path in &files {
        match reader.file(path, args.bpf.as_deref(), &mut sensor, &signals) {
            Ok(()) => files_read += 1,
            Err(e) => {
                eprintln!("exhound: {e}");
                bad_input = true;
                if matches!(e, CaptureError::Read { .. }) {
                    files_read += 1;
                }
                if matches!(e, CaptureError::Filter { .. }) {
                    anyhow::bail!("{e}");
                }
            }
        }
        if signals.stopping() || sensor.stopped() {
            break;
        }
    }
    reader.progress.done();
    let report = sensor.finish(s.log_stats, None)?;
    let (mut out, stats) = EveOutput::closed(report)?;
    // The receivers get a bounded time to take what their queues still hold.
    let shipped = out.close_shipping(Duration::from_secs(s.drain_timeout));
    if let Some(builder) = out.report.take() {
        super::report::write_all(&builder.finish(), &report_targets)?;
    }
    super::output::report_shipping(&shipped, s.quiet);
    if !s.quiet {
        let run = RunFacts {
            command: "replay",
            files: Some(files_read),
            threads,
            secs: started.elapsed().as_secs_f64(),
            interrupted: signals.stopping(),
        };
        summary::print_counters(&stats, &run);
        summary::print_alerts(&out.tally);
    }
    Ok(ExitCode::from(if bad_input {
        EXIT_BAD_INPUT
    } else {
        EXIT_OK
    }))
}

/// Adds the TLS key logs embedded in pcapng files (Decryption Secrets Blocks) to the keys:
/// a capture that carries its own secrets is decrypted without `--tls-keylog`. One that
/// does not parse is an error naming the file and the line, as for `--tls-keylog`. Standard
/// input and named pipes are not looked at: their bytes can be read only once, by the
/// replay (give their key log with `--tls-keylog`).
fn add_embedded_key_logs(
    files: &[std::path::PathBuf],
    keys: &mut exhound::tls::DecryptionConfig,
) -> anyhow::Result<()> {
    for path in files
        .iter()
        .filter(|p| p.as_os_str() != "-" && exhound::capture::can_be_read_twice(p))
    {
        // A file that cannot be read is reported when the replay gets to it.
        let Ok(logs) = exhound::capture::secrets::embedded_key_logs(path) else {
            continue;
        };
        for log in logs {
            let source = format!("{} (embedded key log)", path.display());
            keys.keylog
                .get_or_insert_with(exhound::tls::decrypt::KeyLog::new)
                .add_text(&String::from_utf8_lossy(&log), &source)
                .context("reading a TLS key log embedded in a capture")?;
        }
    }
    Ok(())
}

/// Reads capture files into the sensor, numbering packets over the whole replay.
struct Reader {
    /// Records read so far, over every file.
    pcap_cnt: u64,
    /// Seconds of packet time between `stats` records, when asked for.
    stats_every: Option<u64>,
    first_ts: Option<Timestamp>,
    next_stats: Option<Timestamp>,
    progress: Progress,
}

impl Reader {
    fn file(
        &mut self,
        path: &Path,
        bpf: Option<&str>,
        sensor: &mut Sensor<EveOutput>,
        signals: &Signals,
    ) -> Result<(), CaptureError> {
        let mut file = CaptureFile::open(path, bpf)?;
        // `pcap_cnt` numbers every record of the replay, filtered out or not, so that it
        // points at the same frame as Wireshark's frame number in a single file.
        let base = self.pcap_cnt;
        sensor.file(file.name(), base + 1);
        let result = loop {
            if signals.stopping() || sensor.stopped() {
                break Ok(());
            }
            match file.next_packet() {
                Ok(Some(packet)) => {
                    self.stats_clock(packet.ts, sensor);
                    self.progress.packet(packet.data.len());
                    sensor.packet(&packet, base + packet.number);
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        self.pcap_cnt = base + file.packets_read();
        result
    }

    /// Asks for a `stats` record every `stats_every` seconds of packet time.
    fn stats_clock(&mut self, ts: Timestamp, sensor: &mut Sensor<EveOutput>) {
        let Some(every) = self.stats_every else {
            return;
        };
        let first = *self.first_ts.get_or_insert(ts);
        let next = *self.next_stats.get_or_insert(first.plus_secs(every));
        if ts >= next {
            let uptime = ts.nanos_since(first) / Timestamp::SECOND as u64;
            sensor.stats_mark(StatsMoment {
                time: ts,
                uptime_secs: uptime,
                kernel: None,
            });
            self.next_stats = Some(ts.plus_secs(every));
        }
    }
}

/// A progress bar of `total` bytes with a message and the time left (replay, bench).
pub(super) fn byte_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {msg} ETA {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// The progress bar of a replay on a terminal: bytes, packets per second, alerts so far,
/// time left. Hidden when standard error is not a terminal, or with `--quiet`.
struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    bytes: u64,
    packets: u64,
    alerts: Arc<AtomicU64>,
}

impl Progress {
    fn new(files: &[PathBuf], quiet: bool, alerts: Arc<AtomicU64>) -> Progress {
        let show = !quiet && std::io::stderr().is_terminal();
        let bar = show.then(|| {
            // Record headers and the file header are not counted: close enough for an ETA.
            let total: u64 = files
                .iter()
                .filter_map(|f| std::fs::metadata(f).ok())
                .map(|m| m.len())
                .sum();
            byte_bar(total)
        });
        Progress {
            bar,
            started: Instant::now(),
            bytes: 0,
            packets: 0,
            alerts,
        }
    }

    fn packet(&mut self, captured: usize) {
        let Some(bar) = &self.bar else {
            return;
        };
        self.packets += 1;
        self.bytes += captured as u64 + 16;
        if self.packets % 4096 == 0 {
            let secs = self.started.elapsed().as_secs_f64().max(1e-3);
            bar.set_position(self.bytes);
            bar.set_message(format!(
                "{:.0} packets/s, {} alerts",
                self.packets as f64 / secs,
                self.alerts.load(Ordering::Relaxed)
            ));
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
