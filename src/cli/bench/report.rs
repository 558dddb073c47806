//! What a benchmark found, as plain data (serialised as is by `--json`), and its text form.
//!
//! Every list is in a fixed order — sets as given, sids ascending, rules by cost then sid —
//! so that the same counters always print the same report.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use exhound::detect::profile::{PrefilterRow, ProfileReport};

use super::run::SidCount;

/// The whole benchmark (the `--json` document).
#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// exhound's version.
    pub version: &'static str,
    /// The captures.
    pub input: InputFacts,
    /// Worker threads.
    pub threads: usize,
    /// Timed runs per set.
    pub repeat: usize,
    /// The bare read loop, with `--baseline-read`.
    pub baseline_read: Option<Speed>,
    /// One entry per rule set, in command-line order.
    pub sets: Vec<SetReport>,
    /// With several sets: each against the first.
    pub comparison: Option<Comparison>,
}

/// The captures, as loaded.
#[derive(Debug, Serialize)]
pub struct InputFacts {
    /// The files, in reading order.
    pub files: Vec<String>,
    /// Packets.
    pub packets: u64,
    /// Captured bytes.
    pub bytes: u64,
    /// Resident memory once the captures and rule sets were loaded, before any run.
    pub loaded_rss_bytes: Option<u64>,
}

/// Median, least and most of the timed runs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct WallTime {
    /// Median (the mean of the middle two for an even number of runs).
    pub median: f64,
    /// Fastest run.
    pub min: f64,
    /// Slowest run.
    pub max: f64,
}

impl WallTime {
    /// The figures of `secs` (not empty).
    pub fn of(secs: &[f64]) -> WallTime {
        let mut s = secs.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = match n {
            0 => 0.0,
            _ if n % 2 == 1 => s[n / 2],
            _ => (s[n / 2 - 1] + s[n / 2]) / 2.0,
        };
        WallTime {
            median,
            min: s.first().copied().unwrap_or(0.0),
            max: s.last().copied().unwrap_or(0.0),
        }
    }
}

/// Rates at the median wall time.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Speed {
    /// Wall time of the runs, in seconds.
    pub wall_secs: WallTime,
    /// Captured bits per second, ÷ 10⁹.
    pub gbit_per_sec: f64,
    /// Packets per second.
    pub packets_per_sec: f64,
}

impl Speed {
    /// Rates of `bytes` and `packets` handled in each of the runs `secs`.
    pub fn of(secs: &[f64], bytes: u64, packets: u64) -> Speed {
        let wall = WallTime::of(secs);
        let t = wall.median.max(1e-9);
        Speed {
            wall_secs: wall,
            gbit_per_sec: bytes as f64 * 8.0 / t / 1e9,
            packets_per_sec: packets as f64 / t,
        }
    }
}

/// Resident memory around one set's runs (Linux; `null` elsewhere).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Memory {
    /// Resident memory when the set's runs started: the loaded captures and every rule set.
    pub baseline_rss_bytes: Option<u64>,
    /// The most resident memory during the set's runs (`VmHWM`, reset before them).
    pub peak_rss_bytes: Option<u64>,
    /// `peak_rss_bytes - baseline_rss_bytes`: what the runs themselves added.
    pub peak_over_baseline_bytes: Option<u64>,
}

/// One rule set's results.
#[derive(Debug, Serialize)]
pub struct SetReport {
    /// The set: its path, or `bundled`.
    pub label: String,
    /// Rules loaded.
    pub rules: usize,
    /// Wall time of each timed run, in order.
    pub runs_secs: Vec<f64>,
    /// Rates at the median wall time.
    pub speed: Speed,
    /// HTTP transactions per second.
    pub transactions_per_sec: f64,
    /// HTTP transactions inspected per run.
    pub transactions: u64,
    /// Alerts per run.
    pub alerts: u64,
    /// EVE bytes per run (formatted, then discarded).
    pub eve_bytes: u64,
    /// Alerts per sid, by sid.
    pub alerts_by_sid: Vec<SidCount>,
    /// Memory.
    pub memory: Memory,
    /// The profiling run, unless `--no-profile`.
    pub profile: Option<Profile>,
    /// The Suricata run, with `--suricata`.
    pub suricata: Option<SuricataReport>,
}

/// One rule's costs in the profiling run.
#[derive(Debug, Serialize)]
pub struct RuleRow {
    /// Signature id.
    pub sid: u32,
    /// Group id.
    pub gid: u32,
    /// Revision.
    pub rev: u32,
    /// Message.
    pub msg: String,
    /// Times evaluated (as a prefilter candidate or a rule without fast pattern).
    pub checked: u64,
    /// Times all its conditions held.
    pub matches: u64,
    /// Nanoseconds spent on it, all workers.
    pub total_ns: u64,
    /// `total_ns / checked`.
    pub mean_ns: f64,
    /// Its part of the detection time, from 0 to 1.
    pub share: f64,
}

/// The profiling run's figures.
#[derive(Debug, Serialize)]
pub struct Profile {
    /// Wall time of the profiling run (not one of the timed runs: measuring costs time).
    pub wall_secs: f64,
    /// Inspections (transaction sides and payloads).
    pub inspections: u64,
    /// Nanoseconds of detection, all workers.
    pub detect_ns: u64,
    /// Rules checked at least once, costliest first.
    pub rules: Vec<RuleRow>,
    /// Every prefilter, in rule-set order.
    pub prefilters: Vec<PrefilterRow>,
}

impl Profile {
    /// The report's rows from the engine's, with mean times and shares.
    pub fn new(wall_secs: f64, r: ProfileReport) -> Profile {
        let total = r.nanos.max(1) as f64;
        Profile {
            wall_secs,
            inspections: r.inspections,
            detect_ns: r.nanos,
            rules: r
                .rules
                .into_iter()
                .map(|row| RuleRow {
                    sid: row.sid,
                    gid: row.gid,
                    rev: row.rev,
                    msg: row.msg,
                    checked: row.cost.checked,
                    matches: row.cost.matches,
                    total_ns: row.cost.nanos,
                    mean_ns: row.cost.nanos as f64 / row.cost.checked.max(1) as f64,
                    share: row.cost.nanos as f64 / total,
                })
                .collect(),
            prefilters: r.prefilters,
        }
    }
}

/// Suricata on the same captures and rules.
#[derive(Debug, Serialize)]
pub struct SuricataReport {
    /// The binary run.
    pub binary: String,
    /// Its wall time in seconds (start-up and rule loading included), all files.
    pub wall_secs: f64,
    /// Its alerts per sid, by sid.
    pub alerts_by_sid: Vec<SidCount>,
    /// Sids whose alert counts differ between exhound and Suricata.
    pub differing_sids: Vec<SidDiff>,
}

/// A sid whose alert counts differ, with the count of each run compared (in order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SidDiff {
    /// Signature id.
    pub sid: u32,
    /// Alerts in each run compared.
    pub alerts: Vec<u64>,
}

/// Several sets side by side.
#[derive(Debug, Serialize)]
pub struct Comparison {
    /// The set the ratios are relative to (the first).
    pub reference: String,
    /// One row per set, in order.
    pub rows: Vec<ComparisonRow>,
    /// Sids whose alert counts are not the same in every set (alerts per set, in order).
    pub differing_sids: Vec<SidDiff>,
}

/// One set against the reference.
#[derive(Debug, Serialize)]
pub struct ComparisonRow {
    /// The set.
    pub label: String,
    /// Its median wall time ÷ the reference's (above 1: slower).
    pub time_ratio: f64,
    /// Its Gbit/s ÷ the reference's (below 1: slower).
    pub throughput_ratio: f64,
    /// Its alerts ÷ the reference's (`null` when the reference has none).
    pub alerts_ratio: Option<f64>,
}

/// Sids whose counts differ between the alert lists `runs` (a sid missing from one counts
/// 0 there), by sid.
pub fn differing_sids(runs: &[&[SidCount]]) -> Vec<SidDiff> {
    let mut all: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    for (i, run) in runs.iter().enumerate() {
        for c in run.iter() {
            all.entry(c.sid).or_insert_with(|| vec![0; runs.len()])[i] += c.alerts;
        }
    }
    all.into_iter()
        .filter(|(_, counts)| counts.windows(2).any(|w| w[0] != w[1]))
        .map(|(sid, alerts)| SidDiff { sid, alerts })
        .collect()
}

/// The side-by-side comparison of `sets` (at least two).
pub fn compare(sets: &[SetReport]) -> Option<Comparison> {
    let first = sets.first().filter(|_| sets.len() > 1)?;
    let rows = sets
        .iter()
        .map(|s| ComparisonRow {
            label: s.label.clone(),
            time_ratio: s.speed.wall_secs.median / first.speed.wall_secs.median.max(1e-9),
            throughput_ratio: s.speed.gbit_per_sec / first.speed.gbit_per_sec.max(1e-12),
            alerts_ratio: (first.alerts > 0).then(|| s.alerts as f64 / first.alerts as f64),
        })
        .collect();
    let lists: Vec<&[SidCount]> = sets.iter().map(|s| s.alerts_by_sid.as_slice()).collect();
    Some(Comparison {
        reference: first.label.clone(),
        rows,
        differing_sids: differing_sids(&lists),
    })
}

/// Rules and prefilters shown per set in the text report (`--json` has them all).
const TEXT_TOP: usize = 20;

/// The report for people, on a terminal.
pub fn text(r: &BenchReport) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "exhound {} bench: {} file(s), {} packets, {} captured; {} worker thread(s), {} timed run(s) per set",
        r.version,
        r.input.files.len(),
        r.input.packets,
        bytes(r.input.bytes),
        r.threads,
        r.repeat
    );
    if let Some(b) = &r.baseline_read {
        let _ = writeln!(
            o,
            "baseline read (libpcap, page cache): median {:.3} s (min {:.3}, max {:.3}), {:.3} Gbit/s, {:.0} packets/s",
            b.wall_secs.median, b.wall_secs.min, b.wall_secs.max, b.gbit_per_sec, b.packets_per_sec
        );
    }
    for (i, s) in r.sets.iter().enumerate() {
        set_text(&mut o, i + 1, s, r.baseline_read.as_ref());
    }
    if let Some(c) = &r.comparison {
        comparison_text(&mut o, c, &r.sets);
    }
    o
}

fn set_text(o: &mut String, n: usize, s: &SetReport, baseline: Option<&Speed>) {
    let w = &s.speed.wall_secs;
    let _ = writeln!(o, "\nset {n}: {} ({} rules)", s.label, s.rules);
    let _ = writeln!(
        o,
        "  wall time    median {:.3} s, min {:.3} s, max {:.3} s",
        w.median, w.min, w.max
    );
    let _ = write!(
        o,
        "  throughput   {:.3} Gbit/s, {:.0} packets/s, {:.0} transactions/s",
        s.speed.gbit_per_sec, s.speed.packets_per_sec, s.transactions_per_sec
    );
    if let Some(b) = baseline {
        let _ = write!(
            o,
            " ({:.1}% of the bare read)",
            100.0 * s.speed.gbit_per_sec / b.gbit_per_sec.max(1e-12)
        );
    }
    let _ = writeln!(o);
    let m = &s.memory;
    let _ = match (m.peak_rss_bytes, m.baseline_rss_bytes) {
        (Some(peak), Some(base)) => writeln!(
            o,
            "  memory       peak RSS {}, {} over the {} resident before the runs",
            bytes(peak),
            bytes(peak.saturating_sub(base)),
            bytes(base)
        ),
        _ => writeln!(o, "  memory       not measured (no /proc/self/status)"),
    };
    let _ = writeln!(
        o,
        "  alerts       {} per run ({} HTTP transactions, {} of EVE)",
        s.alerts,
        s.transactions,
        bytes(s.eve_bytes)
    );
    if !s.alerts_by_sid.is_empty() {
        let _ = writeln!(o, "  {:>10} {:>8}  msg", "sid", "alerts");
        for c in &s.alerts_by_sid {
            let _ = writeln!(o, "  {:>10} {:>8}  {}", c.sid, c.alerts, c.msg);
        }
    }
    if let Some(p) = &s.profile {
        profile_text(o, p);
    }
    if let Some(su) = &s.suricata {
        let _ = writeln!(
            o,
            "  suricata     {} in {:.3} s (start-up included): {} alerts",
            su.binary,
            su.wall_secs,
            su.alerts_by_sid.iter().map(|c| c.alerts).sum::<u64>()
        );
        suricata_text(o, &s.alerts_by_sid, su);
    }
}

/// Alerts per sid of exhound and Suricata side by side, every sid either alerted on.
fn suricata_text(o: &mut String, ours: &[SidCount], su: &SuricataReport) {
    let mut both: BTreeMap<u32, [u64; 2]> = BTreeMap::new();
    for (i, list) in [ours, su.alerts_by_sid.as_slice()].into_iter().enumerate() {
        for c in list {
            both.entry(c.sid).or_default()[i] += c.alerts;
        }
    }
    if both.is_empty() {
        return;
    }
    let _ = writeln!(o, "  {:>10} {:>8} {:>8}", "sid", "exhound", "suricata");
    for (sid, [a, b]) in both {
        let mark = if a == b { "" } else { "  differs" };
        let _ = writeln!(o, "  {sid:>10} {a:>8} {b:>8}{mark}");
    }
}

fn profile_text(o: &mut String, p: &Profile) {
    let _ = writeln!(
        o,
        "  rule profile (one more run, {:.3} s: {} inspections, {:.3} ms of detection)",
        p.wall_secs,
        p.inspections,
        p.detect_ns as f64 / 1e6
    );
    let _ = writeln!(
        o,
        "  {:>10} {:>10} {:>8} {:>10} {:>9} {:>6}  msg",
        "sid", "checked", "matches", "total ms", "mean ns", "share"
    );
    for r in p.rules.iter().take(TEXT_TOP) {
        let _ = writeln!(
            o,
            "  {:>10} {:>10} {:>8} {:>10.3} {:>9.0} {:>5.1}%  {}",
            r.sid,
            r.checked,
            r.matches,
            r.total_ns as f64 / 1e6,
            r.mean_ns,
            100.0 * r.share,
            r.msg
        );
    }
    if p.rules.len() > TEXT_TOP {
        let _ = writeln!(
            o,
            "  … {} more rules (see --json)",
            p.rules.len() - TEXT_TOP
        );
    }
    if p.prefilters.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "  prefilters\n  {:<8} {:<28} {:<14} {:>8} {:>8} {:>8} {:>10} {:>10} {:>9} {:>10}  automaton",
        "side", "buffer", "gate", "patterns", "scans", "gated", "bytes", "candidates", "confirmed", "total ms"
    );
    for f in &p.prefilters {
        let _ = writeln!(
            o,
            "  {:<8} {:<28} {:<14} {:>8} {:>8} {:>8} {:>10} {:>10} {:>9} {:>10.3}  {}",
            f.side,
            f.buffer,
            f.gate.as_deref().unwrap_or("-"),
            f.patterns,
            f.cost.scans,
            f.cost.gated,
            f.cost.bytes,
            f.cost.candidates,
            f.cost.confirmed,
            f.cost.nanos as f64 / 1e6,
            f.automaton
        );
    }
}

fn comparison_text(o: &mut String, c: &Comparison, sets: &[SetReport]) {
    let _ = writeln!(o, "\nside by side (ratios to set 1, {})", c.reference);
    let _ = writeln!(
        o,
        "  {:<4} {:>7} {:>10} {:>9} {:>10} {:>10} {:>8}  set",
        "set", "rules", "median s", "Gbit/s", "time ×", "speed ×", "alerts"
    );
    for (i, (row, s)) in c.rows.iter().zip(sets).enumerate() {
        let _ = writeln!(
            o,
            "  {:<4} {:>7} {:>10.3} {:>9.3} {:>10.3} {:>10.3} {:>8}  {}",
            i + 1,
            s.rules,
            s.speed.wall_secs.median,
            s.speed.gbit_per_sec,
            row.time_ratio,
            row.throughput_ratio,
            s.alerts,
            row.label
        );
    }
    let labels: Vec<String> = (1..=sets.len()).map(|i| format!("set {i}")).collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    diff_text(o, &c.differing_sids, &labels, "  ");
}

fn diff_text(o: &mut String, diffs: &[SidDiff], labels: &[&str], indent: &str) {
    if diffs.is_empty() {
        let _ = writeln!(o, "{indent}same alerts per sid");
        return;
    }
    let _ = write!(
        o,
        "{indent}sids whose alerts differ:\n{indent}{:>10}",
        "sid"
    );
    for l in labels {
        let _ = write!(o, " {l:>9}");
    }
    let _ = writeln!(o);
    for d in diffs {
        let _ = write!(o, "{indent}{:>10}", d.sid);
        for a in &d.alerts {
            let _ = write!(o, " {a:>9}");
        }
        let _ = writeln!(o);
    }
}

/// `n` bytes for people (KiB, MiB, GiB).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(sid: u32, alerts: u64) -> SidCount {
        SidCount {
            sid,
            msg: String::new(),
            alerts,
        }
    }

    #[test]
    fn median_of_odd_and_even_runs() {
        let w = WallTime::of(&[3.0, 1.0, 2.0]);
        assert_eq!((w.median, w.min, w.max), (2.0, 1.0, 3.0));
        let w = WallTime::of(&[4.0, 1.0, 2.0, 3.0]);
        assert_eq!((w.median, w.min, w.max), (2.5, 1.0, 4.0));
    }

    #[test]
    fn differing_sids_count_missing_as_zero() {
        let a = [count(1, 2), count(2, 1)];
        let b = [count(1, 2), count(3, 4)];
        let d = differing_sids(&[&a, &b]);
        assert_eq!(
            d,
            [
                SidDiff {
                    sid: 2,
                    alerts: vec![1, 0]
                },
                SidDiff {
                    sid: 3,
                    alerts: vec![0, 4]
                }
            ]
        );
    }

    #[test]
    fn byte_units() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 << 20), "3.0 MiB");
    }
}
