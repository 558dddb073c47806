//! `exhound bench`: how fast, and how differently, rule sets run on the same traffic.
//!
//! The captures are read into memory once ([`input`]), so that disk speed does not count.
//! Each rule set (`-S`, one set per occurrence; the bundled set without any) then goes
//! through the real threaded sensor, configured as `replay` would be by the same flags,
//! `--repeat` times ([`run`]), in rounds (the bare read, then one run of each set): every EVE
//! record is formatted as in a replay and handed to an output that counts alerts per sid and
//! drops the bytes. One more run with rule profiling
//! on gives the per-rule and per-prefilter costs (it is not one of the timed runs:
//! measuring costs time). Resident memory is sampled around each set. [`report`] turns the
//! figures into text or JSON, [`html`] into a page; [`suricata`] runs Suricata on the same
//! input for comparison.

mod html;
mod input;
mod progress;
mod report;
mod run;
mod suricata;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use exhound::detect::RuleSet;
use exhound::sensor::SensorConfig;

use super::args::{BenchArgs, RuleSource};
use super::EXIT_OK;
use input::Input;
use progress::Progress;
use report::{BenchReport, InputFacts, Memory, Profile, SetReport, Speed};
use run::memory;

/// What `-S` calls the bundled set, and its label.
const BUNDLED: &str = "bundled";

/// One rule set to measure.
struct RuleSetUnderTest {
    /// Its path, or `bundled`.
    label: String,
    /// Its path (`None`: the bundled set).
    path: Option<PathBuf>,
    rules: Arc<RuleSet>,
}

/// Runs the benchmark and returns the exit status.
pub fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let s = &args.sensor;
    let input = Input::load(&args.paths)?;
    let sets = load_sets(&s.rules)?;
    let loaded_rss_bytes = memory::rss();
    let mut config = s.sensor_config(false);
    config.pipeline.tls.decryption = s.decryption(false)?;
    let repeat = args.repeat as usize;
    let runs = sets.len() * (repeat + usize::from(!args.no_profile));
    let mut progress = Progress::new(input.bytes.saturating_mul(runs as u64), s.quiet);
    // Round-robin: the bare read, then one run of each set, `repeat` times over. On a shared
    // machine whose speed drifts from one minute to the next, every figure then spans the
    // same minutes, and the ratios between sets (and to the bare read) are not skewed by
    // whichever ran during a slow spell.
    let mut baseline_secs = Vec::with_capacity(repeat);
    let mut timed: Vec<TimedRuns> = sets.iter().map(|_| TimedRuns::default()).collect();
    for (round, step) in schedule(sets.len(), repeat, args.baseline_read) {
        match step {
            Step::BareRead => baseline_secs.push(read_once(&input)?),
            Step::Set(i) => {
                let (set, runs) = (&sets[i], &mut timed[i]);
                progress.stage(format!("{}: run {}/{repeat}", set.label, round + 1));
                runs.run(set, &config, &input, args.sensor.log_stats, &mut progress)?;
            }
        }
    }
    let baseline_read = args
        .baseline_read
        .then(|| Speed::of(&baseline_secs, input.bytes, input.packets));
    let mut reports = Vec::with_capacity(sets.len());
    for (set, runs) in sets.iter().zip(timed) {
        let mut r = finish_set(set, runs, &config, &input, args, &mut progress)?;
        if let Some(bin) = &args.suricata {
            progress.stage(format!("{}: suricata", set.label));
            r.suricata = Some(suricata::run(
                bin,
                &input,
                set.path.as_deref(),
                s,
                &r.alerts_by_sid,
            )?);
        }
        reports.push(r);
    }
    progress.done();
    let report = BenchReport {
        version: env!("CARGO_PKG_VERSION"),
        input: InputFacts {
            files: input.files.iter().map(|f| f.name.clone()).collect(),
            packets: input.packets,
            bytes: input.bytes,
            loaded_rss_bytes,
        },
        threads: config.threads,
        repeat,
        baseline_read,
        comparison: report::compare(&reports),
        sets: reports,
    };
    if let Some(path) = &args.html {
        std::fs::write(path, html::page(&report))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let text = if args.json {
        let mut j = serde_json::to_string_pretty(&report).context("encoding the report")?;
        j.push('\n');
        j
    } else {
        report::text(&report)
    };
    write_report(bench_report_path(s)?, &text)?;
    Ok(ExitCode::from(EXIT_OK))
}

/// The sets `-S` names, one per occurrence (`bundled`, unless a file or directory has that
/// name, is the bundled set), or the bundled set alone; all loaded before any run, so that a
/// rule that does not load stops the benchmark at once.
fn load_sets(src: &RuleSource) -> anyhow::Result<Vec<RuleSetUnderTest>> {
    let bundled = [PathBuf::from(BUNDLED)];
    let paths = if src.rules.is_empty() {
        &bundled[..]
    } else {
        &src.rules[..]
    };
    paths
        .iter()
        .map(|p| {
            let path = (p.as_os_str() != BUNDLED || p.exists()).then(|| p.clone());
            let one = RuleSource {
                rules: path.iter().cloned().collect(),
                vars: src.vars.clone(),
                skip_invalid: src.skip_invalid,
            };
            Ok(RuleSetUnderTest {
                label: p.display().to_string(),
                rules: super::rules::for_sensor(&one)
                    .with_context(|| format!("rule set {}", p.display()))?,
                path,
            })
        })
        .collect()
}

/// One timed step of a benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The bare read loop (`--baseline-read`).
    BareRead,
    /// A run of the set with this index.
    Set(usize),
}

/// The timed steps in the order they run, each with its round: `repeat` rounds of the bare
/// read (when asked for) and then one run of each set in turn.
fn schedule(sets: usize, repeat: usize, bare_read: bool) -> impl Iterator<Item = (usize, Step)> {
    (0..repeat).flat_map(move |round| {
        bare_read
            .then_some(Step::BareRead)
            .into_iter()
            .chain((0..sets).map(Step::Set))
            .map(move |step| (round, step))
    })
}

/// One bare read loop over the captures: its time.
fn read_once(input: &Input) -> anyhow::Result<f64> {
    let (t, packets, bytes) = input.read_loop().context("baseline read")?;
    if (packets, bytes) != (input.packets, input.bytes) {
        anyhow::bail!("baseline read: the captures changed since they were loaded");
    }
    Ok(t)
}

/// The timed runs of one set so far.
#[derive(Default)]
struct TimedRuns {
    secs: Vec<f64>,
    /// The first run (its alerts and counters are the set's).
    first: Option<run::RunResult>,
    /// Resident memory before the first run.
    baseline_rss_bytes: Option<u64>,
    /// The highest resident memory of the runs measured so far.
    peak_rss_bytes: Option<u64>,
    /// Some run's peak could not be told apart from what ran before it (no
    /// `/proc/self/clear_refs`): the set then reports no peak.
    peak_unknown: bool,
}

impl TimedRuns {
    /// One more timed run of `set`.
    fn run(
        &mut self,
        set: &RuleSetUnderTest,
        config: &SensorConfig,
        input: &Input,
        final_stats: bool,
        progress: &mut Progress,
    ) -> anyhow::Result<()> {
        let peak_reset = memory::reset_peak();
        if self.first.is_none() {
            self.baseline_rss_bytes = memory::rss();
        }
        let r = run::run_once(config, &set.rules, input, final_stats, progress)?;
        match memory::peak().filter(|_| peak_reset) {
            Some(peak) => {
                self.peak_rss_bytes = Some(self.peak_rss_bytes.unwrap_or(0).max(peak));
            }
            None => self.peak_unknown = true,
        }
        self.secs.push(r.secs);
        match &self.first {
            None => self.first = Some(r),
            Some(f) if f.sink.by_sid() != r.sink.by_sid() => eprintln!(
                "exhound: warning: {}: run {} alerted differently from run 1",
                set.label,
                self.secs.len()
            ),
            Some(_) => {}
        }
        Ok(())
    }
}

/// A set's report from its timed runs, after its profiling run.
fn finish_set(
    set: &RuleSetUnderTest,
    runs: TimedRuns,
    config: &SensorConfig,
    input: &Input,
    args: &BenchArgs,
    progress: &mut Progress,
) -> anyhow::Result<SetReport> {
    let final_stats = args.sensor.log_stats;
    let peak_rss_bytes = runs.peak_rss_bytes.filter(|_| !runs.peak_unknown);
    let baseline_rss_bytes = runs.baseline_rss_bytes;
    let secs = runs.secs;
    let first = runs.first.context("no run")?;
    let profile = if args.no_profile {
        None
    } else {
        progress.stage(format!("{}: profiling run", set.label));
        let mut profiled = config.clone();
        profiled.pipeline.profile_rules = true;
        let r = run::run_once(&profiled, &set.rules, input, final_stats, progress)?;
        if r.sink.by_sid() != first.sink.by_sid() {
            eprintln!(
                "exhound: warning: {}: the profiling run alerted differently from run 1",
                set.label
            );
        }
        let counters = r.stats.workers.detect.profile.unwrap_or_default();
        Some(Profile::new(r.secs, set.rules.profile_report(&counters)))
    };
    let speed = Speed::of(&secs, input.bytes, input.packets);
    let transactions = first.stats.workers.http.transactions;
    let alerts_by_sid = first.sink.by_sid();
    Ok(SetReport {
        label: set.label.clone(),
        rules: set.rules.len(),
        runs_secs: secs,
        transactions_per_sec: transactions as f64 / speed.wall_secs.median.max(1e-9),
        transactions,
        alerts: alerts_by_sid.iter().map(|c| c.alerts).sum(),
        eve_bytes: first.sink.bytes,
        alerts_by_sid,
        speed,
        memory: Memory {
            baseline_rss_bytes,
            peak_rss_bytes,
            peak_over_baseline_bytes: peak_rss_bytes
                .zip(baseline_rss_bytes)
                .map(|(p, b)| p.saturating_sub(b)),
        },
        profile,
        suricata: None,
    })
}

/// Writes the report to `path`, or to standard output.
fn write_report(path: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match path {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display())),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .context("writing the report")
        }
    }
}

/// Where `bench` writes its report: the one `--output` path (standard output without one).
fn bench_report_path(s: &super::args::SensorArgs) -> anyhow::Result<Option<&Path>> {
    if !s.ship_targets().is_empty() {
        anyhow::bail!(
            "--output: bench writes a report to a file; receivers (URLs) are for replay and live"
        );
    }
    Ok(match s.eve_sink()? {
        super::args::EveSink::File(p) => Some(p),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_go_round_robin_so_every_set_spans_the_same_minutes() {
        use Step::{BareRead, Set};
        let steps: Vec<(usize, Step)> = schedule(2, 3, true).collect();
        assert_eq!(
            steps,
            [
                (0, BareRead),
                (0, Set(0)),
                (0, Set(1)),
                (1, BareRead),
                (1, Set(0)),
                (1, Set(1)),
                (2, BareRead),
                (2, Set(0)),
                (2, Set(1)),
            ]
        );
        let without: Vec<(usize, Step)> = schedule(1, 2, false).collect();
        assert_eq!(without, [(0, Set(0)), (1, Set(0))]);
        assert_eq!(schedule(3, 0, true).count(), 0);
    }
}
