//! `exhound synth` end to end: the capture it writes replays with exactly the alerts its
//! manifest promises (every attack form's sids on its own connection, nothing on benign
//! traffic), every packet's checksums right, every transaction parsed with no gap, the same
//! bytes for the same seed and others for another, and the size asked for.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use support::run::{exe, replay_alerts};

/// Runs `exhound synth -o OUT --manifest OUT.json <args>`; returns the manifest.
fn synth(out: &Path, args: &[&str]) -> Value {
    let manifest = out.with_extension("json");
    let run = Command::new(exe())
        .arg("synth")
        .arg("-o")
        .arg(out)
        .arg("--manifest")
        .arg(&manifest)
        .args(args)
        .output()
        .expect("run exhound synth");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "exhound synth {args:?}: {stderr}");
    assert!(stderr.starts_with("exhound synth: "), "{stderr}");
    serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap()
}

/// The number after `label` on the summary line starting with `line`.
fn summary_number(stderr: &str, line: &str, label: &str) -> u64 {
    let text = stderr
        .lines()
        .find(|l| l.trim_start().starts_with(line))
        .unwrap_or_else(|| panic!("no {line:?} line in:\n{stderr}"));
    let before = text
        .find(label)
        .map(|i| &text[..i])
        .unwrap_or_else(|| panic!("no {label:?} in {text:?}"));
    let digits: String = before
        .trim_end()
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.chars().rev().collect::<String>().parse().unwrap()
}

/// Replays `pcap` with the bundled signatures; checks that the capture reads clean (right
/// checksums, no gap, nothing past a window, every transaction parsed, as many as the
/// manifest says) and returns the sids raised on each connection (endpoints sorted).
fn replay_clean(pcap: &Path, manifest: &Value) -> BTreeMap<Vec<(String, u64)>, BTreeSet<u64>> {
    let run = replay_alerts(&[pcap.as_os_str()]);
    run.assert_status(0);
    let e = &run.stderr;
    assert_eq!(
        summary_number(e, "packets", "("),
        manifest["packets"].as_u64().unwrap()
    );
    assert_eq!(summary_number(e, "packets", "invalid"), 0, "{e}");
    assert_eq!(summary_number(e, "checksums", "segments and"), 0, "{e}");
    assert_eq!(summary_number(e, "TCP gaps", "("), 0, "{e}");
    assert_eq!(summary_number(e, "TCP window", "segments past"), 0, "{e}");
    let transactions = summary_number(e, "HTTP ", "transactions");
    assert_eq!(
        transactions,
        manifest["transactions"].as_u64().unwrap(),
        "{e}"
    );
    assert_eq!(
        summary_number(e, "HTTP ", "connections"),
        manifest["flows"].as_u64().unwrap()
    );
    assert_eq!(summary_number(e, "HTTP ", "not HTTP"), 0, "{e}");
    assert_eq!(summary_number(e, "HTTP ", "garbage"), 0, "{e}");
    assert_eq!(summary_number(e, "HTTP ", "resyncs"), 0, "{e}");
    // Loss and reordering are there, and reassembly saw through them.
    assert!(
        summary_number(e, "TCP overlaps", "retransmissions") > 0,
        "{e}"
    );
    assert!(summary_number(e, "TCP overlaps", "out of order") > 0, "{e}");

    let mut by_flow: BTreeMap<Vec<(String, u64)>, BTreeSet<u64>> = BTreeMap::new();
    for a in run.alerts() {
        by_flow
            .entry(endpoints(a, "src_ip", "src_port", "dest_ip", "dest_port"))
            .or_default()
            .insert(a["alert"]["signature_id"].as_u64().unwrap());
    }
    by_flow
}

fn endpoints(v: &Value, a_ip: &str, a_port: &str, b_ip: &str, b_port: &str) -> Vec<(String, u64)> {
    let mut ends = vec![
        (
            v[a_ip].as_str().unwrap().to_string(),
            v[a_port].as_u64().unwrap(),
        ),
        (
            v[b_ip].as_str().unwrap().to_string(),
            v[b_port].as_u64().unwrap(),
        ),
    ];
    ends.sort();
    ends
}

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn every_attack_form_raises_its_sids_and_benign_traffic_none() {
    let dir = temp();
    let pcap = dir.path().join("mixed.pcap");
    let manifest = synth(
        &pcap,
        &["--size", "16MiB", "--attack-rate", "0.5", "--seed", "7"],
    );
    let attacks = manifest["attacks"].as_array().unwrap();
    let forms: BTreeSet<&str> = attacks
        .iter()
        .map(|a| a["form"].as_str().unwrap())
        .collect();
    let all_forms = exhound::synth::generate::attack_forms();
    assert_eq!(
        forms.len(),
        all_forms.len(),
        "every form at least once: {forms:?}"
    );

    let got = replay_clean(&pcap, &manifest);
    let mut expected = BTreeMap::new();
    for a in attacks {
        let sids: BTreeSet<u64> = a["expect_sids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_u64().unwrap())
            .collect();
        assert!(!sids.is_empty());
        expected.insert(
            endpoints(a, "src_ip", "src_port", "dest_ip", "dest_port"),
            sids,
        );
    }
    // Every connection with an alert is an attack, and every attack raised exactly its sids.
    for (flow, sids) in &got {
        assert!(
            expected.contains_key(flow),
            "alerts {sids:?} on benign connection {flow:?}"
        );
    }
    for (i, (flow, sids)) in expected.iter().enumerate() {
        let form = attacks
            .iter()
            .find(|a| endpoints(a, "src_ip", "src_port", "dest_ip", "dest_port") == *flow)
            .map(|a| a["form"].as_str().unwrap())
            .unwrap_or("?");
        assert_eq!(got.get(flow), Some(sids), "attack {i} ({form}) on {flow:?}");
    }
}

#[test]
fn benign_traffic_alone_raises_no_alert_and_reads_clean() {
    let dir = temp();
    let pcap = dir.path().join("benign.pcap");
    let manifest = synth(
        &pcap,
        &["--size", "12MiB", "--attack-rate", "0", "--seed", "11"],
    );
    assert_eq!(manifest["attacks"].as_array().unwrap().len(), 0);
    // Every kind of connection is in the mix.
    for (kind, counts) in manifest["benign"].as_object().unwrap() {
        assert!(
            counts["flows"].as_u64().unwrap() > 0,
            "no {kind} connection"
        );
    }
    let got = replay_clean(&pcap, &manifest);
    assert!(got.is_empty(), "alerts on benign traffic: {got:?}");
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let dir = temp();
    let path = |n: &str| -> PathBuf { dir.path().join(n) };
    let args = ["--size", "1MiB", "--attack-rate", "0.1", "--seed", "3"];
    let m1 = synth(&path("a.pcap"), &args);
    let m2 = synth(&path("b.pcap"), &args);
    synth(
        &path("c.pcap"),
        &["--size", "1MiB", "--attack-rate", "0.1", "--seed", "4"],
    );
    let read = |n: &str| std::fs::read(path(n)).unwrap();
    assert_eq!(read("a.pcap"), read("b.pcap"));
    assert_eq!(m1, m2);
    assert_ne!(read("a.pcap"), read("c.pcap"));

    // `-o -` writes the same bytes to standard output.
    let out = Command::new(exe())
        .args(["synth", "-o", "-"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, read("a.pcap"));
}

#[test]
fn size_is_honoured() {
    let dir = temp();
    for (size, bytes) in [
        ("64KiB", 65_536u64),
        ("3MB", 3_000_000),
        ("10MiB", 10 << 20),
    ] {
        let pcap = dir.path().join(format!("{size}.pcap"));
        let manifest = synth(&pcap, &["--size", size, "--seed", "5"]);
        let len = std::fs::metadata(&pcap).unwrap().len();
        assert_eq!(len, manifest["bytes"].as_u64().unwrap());
        assert!(
            len >= bytes && len <= bytes + bytes * 3 / 100 + 20_000,
            "{size}: {len}"
        );
    }
}

#[test]
fn bad_flags_and_unwritable_files_are_reported() {
    let dir = temp();
    let run = |args: &[&str]| {
        Command::new(exe())
            .current_dir(dir.path())
            .arg("synth")
            .args(args)
            .output()
            .unwrap()
    };
    for args in [
        &["-o", "x.pcap", "--size", "12 parsecs"][..],
        &["-o", "x.pcap", "--attack-rate", "2"],
        &["-o", "x.pcap", "--size", "100"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!dir.path().join("x.pcap").exists(), "{args:?} left a file");
    }
    let out = run(&["-o", "/nonexistent-dir/x.pcap", "--size", "1MiB"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent-dir/x.pcap"), "{stderr}");
}
