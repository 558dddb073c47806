//! `--suricata BIN`: the same captures and rule set through a Suricata binary, with the
//! settings exhound ran with, for its time and alerts per sid beside ours.
//!
//! Suricata gets a minimal generated `suricata.yaml` (EVE alerts only; every address and
//! port group `any` unless `--var` says otherwise, as in exhound; exhound's stream depth,
//! body limits, midstream and one-sided-connection settings; exhound's classification
//! table), the rule set as one file (the bundled set, or a directory's `*.rules` in name
//! order, concatenated), `-k` as exhound's checksum mode and `--runmode single` for one
//! thread (`autofp` otherwise). Suricata reads one capture per run: with several files,
//! each is a run of its own (so flows do not carry over from file to file as they do in
//! exhound) and the times and alerts are summed. Its time is the wall time of the
//! processes, start-up and rule loading included.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::Context;

use exhound::detect::rule::classification::BUILTIN_CLASSIFICATION;
use exhound::detect::rule::vars::{Vars, DEFAULT_PORT_VARS};

use super::super::args::{ChecksumArg, SensorArgs};
use super::input::Input;
use super::report::{differing_sids, SuricataReport};
use super::run::SidCount;

/// A directory of this process's own, removed when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> anyhow::Result<ScratchDir> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("exhound-bench-suricata-{}-{n}", std::process::id()));
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(ScratchDir(dir))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `bin` on every capture of `input` with the rule set at `rules` (`None`: the bundled
/// set) and compares its alerts per sid with `ours`.
pub fn run(
    bin: &Path,
    input: &Input,
    rules: Option<&Path>,
    args: &SensorArgs,
    ours: &[SidCount],
) -> anyhow::Result<SuricataReport> {
    let dir = ScratchDir::new()?;
    let rules_file = dir.0.join("exhound.rules");
    std::fs::write(&rules_file, rule_text(rules)?)
        .with_context(|| format!("writing {}", rules_file.display()))?;
    std::fs::write(dir.0.join("classification.config"), BUILTIN_CLASSIFICATION)
        .context("writing classification.config")?;
    std::fs::write(dir.0.join("reference.config"), "").context("writing reference.config")?;
    let yaml = dir.0.join("suricata.yaml");
    std::fs::write(&yaml, config(args, &dir.0)?).context("writing suricata.yaml")?;
    let mut secs = 0.0;
    let mut counts: BTreeMap<u32, (String, u64)> = BTreeMap::new();
    for (i, file) in input.files.iter().enumerate() {
        let log = dir.0.join(format!("log-{i}"));
        std::fs::create_dir(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut cmd = Command::new(bin);
        cmd.arg("-c")
            .arg(&yaml)
            .arg("-S")
            .arg(&rules_file)
            .arg("-r")
            .arg(&file.path)
            .arg("-l")
            .arg(&log)
            .arg("--runmode")
            .arg(if args.threads() == 1 {
                "single"
            } else {
                "autofp"
            });
        match args.checksum_checks {
            ChecksumArg::None => {
                cmd.args(["-k", "none"]);
            }
            ChecksumArg::All => {
                cmd.args(["-k", "all"]);
            }
            // `-k` knows no `auto`: the configuration says it (pcap-file.checksum-checks).
            ChecksumArg::Auto => {}
        }
        let started = Instant::now();
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {}", bin.display()))?;
        secs += started.elapsed().as_secs_f64();
        if !out.status.success() {
            anyhow::bail!(
                "{} on {} failed ({}): {}",
                bin.display(),
                file.path.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        count_alerts(&log.join("eve.json"), &mut counts)?;
    }
    let alerts_by_sid: Vec<SidCount> = counts
        .into_iter()
        .map(|(sid, (msg, alerts))| SidCount { sid, msg, alerts })
        .collect();
    Ok(SuricataReport {
        binary: bin.display().to_string(),
        wall_secs: secs,
        differing_sids: differing_sids(&[ours, &alerts_by_sid]),
        alerts_by_sid,
    })
}

/// The rule set as one file's text.
fn rule_text(rules: Option<&Path>) -> anyhow::Result<String> {
    let mut text = String::new();
    let Some(path) = rules else {
        for (_, t) in exhound::signatures::rule_files() {
            text.push_str(t);
            text.push('\n');
        }
        return Ok(text);
    };
    let files = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("listing {}", path.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "rules"))
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    for f in files {
        let t = std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
        text.push_str(&t);
        text.push('\n');
    }
    Ok(text)
}

/// The `suricata.yaml` for exhound's settings, with `dir` for its other files.
fn config(args: &SensorArgs, dir: &Path) -> anyhow::Result<String> {
    let mut vars = Vars::default();
    for a in &args.rules.vars {
        vars.parse_assignment(a)
            .map_err(|e| anyhow::anyhow!("--var {a}: {e}"))?;
    }
    let q = |s: &str| serde_json::Value::from(s).to_string();
    let is_port = |n: &str| DEFAULT_PORT_VARS.contains(&n) || n.ends_with("_PORTS");
    let mut y = String::from("%YAML 1.1\n---\nvars:\n  address-groups:\n");
    for (name, value) in vars.iter().filter(|(n, _)| !is_port(n)) {
        let _ = writeln!(y, "    {name}: {}", q(value));
    }
    y.push_str("  port-groups:\n");
    for (name, value) in vars.iter().filter(|(n, _)| is_port(n)) {
        let _ = writeln!(y, "    {name}: {}", q(value));
    }
    let path = |f: &str| q(&dir.join(f).display().to_string());
    let checksums = match args.checksum_checks {
        ChecksumArg::None => "no",
        ChecksumArg::All => "yes",
        ChecksumArg::Auto => "auto",
    };
    let yes = |b: bool| if b { "yes" } else { "no" };
    let _ = write!(
        y,
        "classification-file: {}\nreference-config-file: {}\n\
         outputs:\n  - eve-log:\n      enabled: yes\n      filetype: regular\n      filename: eve.json\n      types:\n        - alert\n\
         pcap-file:\n  checksum-checks: {checksums}\n\
         stream:\n  midstream: {}\n  async-oneside: {}\n  reassembly:\n    depth: {}\n\
         app-layer:\n  protocols:\n    http:\n      enabled: yes\n      libhtp:\n        default-config:\n          personality: IDS\n          request-body-limit: {}\n          response-body-limit: {}\n",
        path("classification.config"),
        path("reference.config"),
        yes(!args.no_midstream),
        yes(args.async_oneside),
        args.stream_depth,
        args.request_body_limit,
        args.response_body_limit,
    );
    Ok(y)
}

/// Adds the alerts of an `eve.json` to `counts` (sid → (msg, alerts)).
fn count_alerts(eve: &Path, counts: &mut BTreeMap<u32, (String, u64)>) -> anyhow::Result<()> {
    let text = match std::fs::read_to_string(eve) {
        Ok(t) => t,
        // No alert at all: Suricata may not have created the file.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", eve.display())),
    };
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not JSON", eve.display(), n + 1))?;
        if v["event_type"] != "alert" {
            continue;
        }
        let sid = v["alert"]["signature_id"]
            .as_u64()
            .and_then(|s| u32::try_from(s).ok())
            .with_context(|| format!("{}:{}: alert without signature_id", eve.display(), n + 1))?;
        let msg = v["alert"]["signature"].as_str().unwrap_or_default();
        counts.entry(sid).or_insert_with(|| (msg.to_string(), 0)).1 += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_alerts_by_sid() {
        let dir = ScratchDir::new().unwrap();
        let eve = dir.0.join("eve.json");
        std::fs::write(
            &eve,
            concat!(
                "{\"event_type\":\"alert\",\"alert\":{\"signature_id\":7,\"signature\":\"m\"}}\n",
                "{\"event_type\":\"stats\"}\n",
                "{\"event_type\":\"alert\",\"alert\":{\"signature_id\":7,\"signature\":\"m\"}}\n",
            ),
        )
        .unwrap();
        let mut counts = BTreeMap::new();
        count_alerts(&eve, &mut counts).unwrap();
        assert_eq!(counts.get(&7), Some(&("m".to_string(), 2)));
        count_alerts(&dir.0.join("absent.json"), &mut counts).unwrap();
    }
}
