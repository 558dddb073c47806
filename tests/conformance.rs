//! Suricata's own test cases (`../shared/conformance/suricata-verify/`, 316 cases with the
//! alert counts Suricata 8.0.6 produced): exhound must raise exactly as many alerts per sid.
//!
//! Each case is replayed with only its own rules and the Suricata settings its `args` pass,
//! translated to exhound flags: without `stream.midstream=true` Suricata ignores connections
//! whose handshake was not captured, so exhound runs with `--no-midstream`;
//! `stream.async-oneside=true` maps to `--async-oneside`, `lzma-enabled` to
//! `--decompress-lzma`, and the decompression layer limit to `--decompress-layers`. The cases exhound does not pass are listed, each
//! with its reason, in `tests/conformance-known-failures.txt` (and the README); the test fails
//! when a case fails that is not listed, and when a listed case passes (so the list stays
//! true). Skips with a message when `../shared` is absent; under `CI=true` that is a failure.

#[path = "support/prereq.rs"]
mod prereq;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The suite, if `../shared` holds it (otherwise the test skips, or fails under CI).
fn suite() -> Option<PathBuf> {
    prereq::require_shared("conformance/suricata-verify")
}

fn known_failures() -> BTreeMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance-known-failures.txt");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((name, why)) => (name.to_string(), why.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

/// exhound flags for a case's Suricata `args`.
fn flags(args: &[String]) -> Vec<String> {
    let sets: Vec<&str> = args
        .windows(2)
        .filter(|w| w[0] == "--set")
        .map(|w| w[1].as_str())
        .collect();
    let mut out = Vec::new();
    if !sets.contains(&"stream.midstream=true") {
        out.push("--no-midstream".to_string());
    }
    if sets.contains(&"stream.async-oneside=true") {
        out.push("--async-oneside".to_string());
    }
    // Suricata's `-k none|all` is exhound's.
    if let Some(w) = args.windows(2).find(|w| w[0] == "-k") {
        out.push("-k".to_string());
        out.push(w[1].clone());
    }
    for s in sets {
        if s.ends_with("lzma-enabled=yes") || s.ends_with("lzma-enabled=true") {
            out.push("--decompress-lzma".to_string());
        }
        if let Some((_, n)) = s.split_once("response-body-decompress-layer-limit=") {
            out.push("--decompress-layers".to_string());
            out.push(n.to_string());
        }
    }
    out
}

struct Outcome {
    name: String,
    passed: bool,
    detail: String,
}

fn run_case(dir: &Path) -> Outcome {
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    let expect: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expect.json")).unwrap()).unwrap();
    let args: Vec<String> = expect["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_exhound"))
        .arg("replay")
        .arg("-q")
        .arg("-S")
        .arg(dir.join(expect["rules"].as_str().unwrap()))
        .args(flags(&args))
        .arg(dir.join(expect["pcap"].as_str().unwrap()))
        .output()
        .unwrap();
    let mut got: BTreeMap<u64, u64> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                return Outcome {
                    name,
                    passed: false,
                    detail: format!("bad EVE line {line:?}: {e}"),
                }
            }
        };
        if v["event_type"] == "alert" {
            *got.entry(v["alert"]["signature_id"].as_u64().unwrap())
                .or_default() += 1;
        }
    }
    let mut want: BTreeMap<u64, u64> = BTreeMap::new();
    for (sid, n) in expect["alerts"].as_object().unwrap() {
        want.insert(sid.parse().unwrap(), n.as_u64().unwrap());
    }
    let mut diffs = Vec::new();
    for (sid, n) in &want {
        let g = got.get(sid).copied().unwrap_or(0);
        if g != *n {
            diffs.push(format!("sid {sid}: want {n}, got {g}"));
        }
    }
    for (sid, g) in &got {
        if !want.contains_key(sid) && *g != 0 {
            diffs.push(format!("sid {sid}: want 0, got {g}"));
        }
    }
    if !out.status.success() {
        diffs.push(format!(
            "exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("")
        ));
    }
    Outcome {
        name,
        passed: diffs.is_empty(),
        detail: diffs.join("; "),
    }
}

#[test]
fn suricata_verify_cases() {
    let Some(suite) = suite() else {
        return;
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&suite)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("expect.json").is_file())
        .collect();
    dirs.sort();
    let known = known_failures();
    let outcomes: Vec<Outcome> = dirs.iter().map(|d| run_case(d)).collect();
    let passed = outcomes.iter().filter(|o| o.passed).count();
    eprintln!(
        "suricata-verify: {passed}/{} cases pass ({:.1}%)",
        outcomes.len(),
        100.0 * passed as f64 / outcomes.len() as f64
    );
    let mut problems = Vec::new();
    for o in &outcomes {
        match (o.passed, known.get(&o.name)) {
            (false, None) => problems.push(format!("FAIL {}: {}", o.name, o.detail)),
            (true, Some(_)) => {
                problems.push(format!("PASSES but listed as a known failure: {}", o.name))
            }
            _ => {}
        }
    }
    for name in known.keys() {
        if !outcomes.iter().any(|o| &o.name == name) {
            problems.push(format!(
                "listed as a known failure but no such case: {name}"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
