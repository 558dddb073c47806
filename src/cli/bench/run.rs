//! One run of the sensor over the loaded captures, with an output that formats every EVE
//! record as a replay does and then discards the bytes, counting alerts per sid; and the
//! process's resident memory, read from `/proc/self`.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use exhound::detect::RuleSet;
use exhound::sensor::{AlertNote, Destination, Sensor, SensorConfig, SensorStats};

use super::input::Input;
use super::progress::Progress;

/// Alerts of one signature.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SidCount {
    /// Signature id.
    pub sid: u32,
    /// Its message.
    pub msg: String,
    /// Alerts.
    pub alerts: u64,
}

/// Where a benchmark run's EVE lines go: the workers formatted them as for a replay; here
/// they are counted and dropped, so that the disk does not count.
#[derive(Default)]
pub struct DiscardSink {
    /// EVE bytes the run produced.
    pub bytes: u64,
    /// EVE lines the run produced.
    pub lines: u64,
    /// sid → (msg, alerts).
    alerts: BTreeMap<u32, (String, u64)>,
}

impl DiscardSink {
    /// Alerts per sid, by sid.
    pub fn by_sid(&self) -> Vec<SidCount> {
        self.alerts
            .iter()
            .map(|(&sid, (msg, alerts))| SidCount {
                sid,
                msg: msg.clone(),
                alerts: *alerts,
            })
            .collect()
    }
}

impl Destination for DiscardSink {
    fn line(&mut self, line: &[u8]) -> io::Result<()> {
        self.bytes += line.len() as u64;
        self.lines += 1;
        Ok(())
    }

    fn alert(&mut self, note: &AlertNote) {
        let entry = self
            .alerts
            .entry(note.rule.sid)
            .or_insert_with(|| (note.rule.msg.clone(), 0));
        entry.1 += 1;
    }
}

/// What one run gives.
pub struct RunResult {
    /// Wall-clock seconds from starting the sensor to its last record.
    pub secs: f64,
    /// Every counter.
    pub stats: SensorStats,
    /// The output.
    pub sink: DiscardSink,
}

/// Runs the sensor once over `input` with `rules`: the capture thread hands it every packet
/// from memory, as `replay` does from files.
pub fn run_once(
    config: &SensorConfig,
    rules: &Arc<RuleSet>,
    input: &Input,
    final_stats: bool,
    progress: &mut Progress,
) -> anyhow::Result<RunResult> {
    let started = Instant::now();
    let mut sensor = Sensor::start(
        config.clone(),
        Some(Arc::clone(rules)),
        DiscardSink::default(),
    )
    .context("starting the sensor")?;
    let mut base = 0u64;
    'files: for file in &input.files {
        sensor.file(&file.name, base + 1);
        for packet in file.packets() {
            if sensor.stopped() {
                break 'files;
            }
            progress.packet(packet.data.len());
            sensor.packet(&packet, base + packet.number);
        }
        base += file.records;
    }
    let report = sensor.finish(final_stats, None)?;
    let secs = started.elapsed().as_secs_f64();
    if let Some(e) = report.write_error {
        return Err(e).context("benchmark output");
    }
    Ok(RunResult {
        secs,
        stats: report.stats,
        sink: report.destination,
    })
}

/// The process's resident memory, from `/proc/self/status` (Linux).
pub mod memory {
    /// A field of `/proc/self/status` in bytes (`VmRSS`, `VmHWM`), if the system has it.
    fn status_bytes(field: &str) -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?;
        let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
        kib.checked_mul(1024)
    }

    /// Resident memory now.
    pub fn rss() -> Option<u64> {
        status_bytes("VmRSS")
    }

    /// The most resident memory since the start, or since the last [`reset_peak`].
    pub fn peak() -> Option<u64> {
        status_bytes("VmHWM")
    }

    /// Resets the high-water mark to the current resident memory (writing `5` to
    /// `/proc/self/clear_refs`, Linux 4.0 and later). False when the system does not allow
    /// it: the peak is then the peak since the start.
    pub fn reset_peak() -> bool {
        std::fs::write("/proc/self/clear_refs", b"5").is_ok()
    }
}
