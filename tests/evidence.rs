//! Evidence captures (`--evidence DIR`): every flow that raised an alert gets a pcap of its
//! packets and an index line; replaying the file raises the alerts the flow raised; the
//! files and the index are the same for any number of threads; the depth truncates and
//! says so; benign traffic makes no file; a directory that cannot be written loses no EVE.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use support::run::{exe, pcap, pcaps_dir};

/// A fresh, empty directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("exhound-evidence-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// Runs `exhound replay -q <args>`; returns the exit status, EVE records and stderr.
fn replay(args: &[&str]) -> (Option<i32>, Vec<Value>, String) {
    let out = Command::new(exe())
        .arg("replay")
        .arg("-q")
        .args(args)
        .output()
        .expect("run exhound");
    let records = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("EVE line ({e}): {l}")))
        .collect();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), records, stderr)
}

/// The sids of the alert records, per flow id, sorted.
fn sids_by_flow(records: &[Value]) -> BTreeMap<u64, Vec<u64>> {
    let mut by: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for r in records.iter().filter(|r| r["event_type"] == "alert") {
        let flow = r["flow_id"].as_u64().expect("flow_id");
        let sid = r["alert"]["signature_id"].as_u64().expect("sid");
        by.entry(flow).or_default().push(sid);
    }
    for sids in by.values_mut() {
        sids.sort_unstable();
    }
    by
}

/// The index lines of an evidence directory.
fn index(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("index.json")).expect("index.json");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("index line ({e}): {l}")))
        .collect()
}

/// The final `stats` record's `exhound.evidence.<name>` counter.
fn counter(records: &[Value], name: &str) -> u64 {
    let stats = records
        .iter()
        .rev()
        .find(|r| r["event_type"] == "stats")
        .expect("a stats record");
    stats["metadata"]["flowints"][format!("exhound.evidence.{name}")]
        .as_u64()
        .unwrap_or_else(|| panic!("exhound.evidence.{name} in {stats}"))
}

/// The files of a directory with their bytes, by name.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("evidence directory")
        .map(|e| {
            let p = e.expect("entry").path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("read evidence"))
        })
        .collect()
}

#[test]
fn every_alerted_flow_has_a_file_that_replays_to_its_alerts() {
    let dir = scratch("exchange");
    let captures = pcaps_dir().join("exchange");
    let (status, records, stderr) = replay(&[
        "--threads",
        "2",
        "--log-stats",
        "--evidence",
        dir.to_str().unwrap(),
        captures.to_str().unwrap(),
    ]);
    assert_eq!(status, Some(0), "{stderr}");
    let alerted = sids_by_flow(&records);
    assert!(alerted.len() > 50, "the attack captures raise alerts");
    let entries = index(&dir);
    let cross_flow = xbit_reader_sids();
    assert!(cross_flow.contains(&4210611), "{cross_flow:?}");
    // One file per alerted flow, and every file in the index.
    let indexed: BTreeSet<u64> = entries
        .iter()
        .map(|e| e["flow_id"].as_u64().unwrap())
        .collect();
    assert_eq!(indexed, alerted.keys().copied().collect::<BTreeSet<_>>());
    assert_eq!(entries.len(), alerted.len(), "one file per flow");
    let on_disk = files(&dir);
    assert_eq!(on_disk.len(), entries.len() + 1, "the files and index.json");
    assert_eq!(counter(&records, "files"), entries.len() as u64);
    assert_eq!(counter(&records, "errors"), 0);
    assert_eq!(
        counter(&records, "memuse"),
        0,
        "every ring released at the end"
    );
    for e in &entries {
        let name = e["file"].as_str().unwrap();
        let flow = e["flow_id"].as_u64().unwrap();
        let want = &alerted[&flow];
        // The name says when, who and what (the first alert that stood without settling
        // across flows, else the first).
        let named = name
            .rsplit("_sid")
            .next()
            .and_then(|s| s.split(['.', '-']).next())
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{name}: no sid"));
        let listed: Vec<u64> = e["sids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_u64().unwrap())
            .collect();
        assert!(listed.contains(&named), "{name}: {listed:?}");
        let client = format!("_{}-{}_", e["src_ip"].as_str().unwrap(), e["src_port"]);
        assert!(name.contains(&client), "{name} names {client}");
        let unique: BTreeSet<u64> = want.iter().copied().collect();
        let listed: BTreeSet<u64> = e["sids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_u64().unwrap())
            .collect();
        assert_eq!(
            listed, unique,
            "{name}: the index lists every sid of the flow"
        );
        let bytes = &on_disk[name];
        assert_eq!(
            &bytes[..4],
            &0xa1b2_3c4du32.to_le_bytes(),
            "{name}: nanosecond pcap"
        );
        // Every packet is there, those of the flow sent as IP fragments too (their
        // frames are kept until the datagram is whole).
        assert_eq!(e["packets_missing"], 0, "{name}: {e}");
        let path = dir.join(name);
        let (status, again, stderr) = replay(&[path.to_str().unwrap()]);
        assert_eq!(status, Some(0), "{name}: {stderr}");
        let got: Vec<u64> = sids_by_flow(&again).into_values().flatten().collect();
        let mut got = got;
        got.sort_unstable();
        // An alert that needs an xbit another flow set (4210611: a page another connection
        // wrote) cannot come back from this flow's packets alone; every other one must.
        let want: Vec<u64> = want
            .iter()
            .copied()
            .filter(|sid| got.contains(sid) || !cross_flow.contains(sid))
            .collect();
        assert_eq!(
            got, want,
            "{name}: replaying the evidence gives the flow's alerts"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// An evidence directory's files (by name) and its index.
type Output = (BTreeMap<String, Vec<u8>>, Vec<u8>);

#[test]
fn files_and_index_do_not_depend_on_the_thread_count() {
    let captures = pcaps_dir().join("exchange");
    let mut first: Option<Output> = None;
    for threads in ["1", "2", "2"] {
        let dir = scratch(&format!("threads{threads}"));
        let (status, records, stderr) = replay(&[
            "--threads",
            threads,
            "--evidence",
            dir.to_str().unwrap(),
            captures.to_str().unwrap(),
        ]);
        assert_eq!(status, Some(0), "{stderr}");
        assert!(!records.is_empty());
        let got = (files(&dir), std::fs::read(dir.join("index.json")).unwrap());
        assert!(got.0.len() > 50);
        match &first {
            None => first = Some(got),
            Some(want) => {
                assert_eq!(
                    got.0.keys().collect::<Vec<_>>(),
                    want.0.keys().collect::<Vec<_>>(),
                    "file names with --threads {threads}"
                );
                assert!(got.0 == want.0, "file contents with --threads {threads}");
                assert!(got.1 == want.1, "index.json with --threads {threads}");
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_small_depth_truncates_and_says_so() {
    let capture = pcap("exchange/chain-proxylogon-pipelined.pcap");
    let full = scratch("depth-full");
    let small = scratch("depth-small");
    let (status, _, stderr) = replay(&[
        "--evidence",
        full.to_str().unwrap(),
        capture.to_str().unwrap(),
    ]);
    assert_eq!(status, Some(0), "{stderr}");
    let (status, records, stderr) = replay(&[
        "--log-stats",
        "--evidence",
        small.to_str().unwrap(),
        "--evidence-depth",
        "1k",
        capture.to_str().unwrap(),
    ]);
    assert_eq!(status, Some(0), "{stderr}");
    let (whole, cut) = (index(&full), index(&small));
    assert_eq!(whole.len(), 1);
    assert_eq!(cut.len(), 1);
    let (whole, cut) = (&whole[0], &cut[0]);
    assert_eq!(whole["truncated_before"], false);
    assert_eq!(whole["truncated_after"], false);
    assert_eq!(cut["truncated_before"], true, "{cut}");
    assert!(cut["packets_dropped_before"].as_u64().unwrap() > 0);
    let kept = cut["packets"].as_u64().unwrap();
    let all = whole["packets"].as_u64().unwrap();
    assert!(kept < all, "{kept} of {all} packets");
    // Before the alert at most the depth, after it at most the depth again (a packet
    // larger than the depth is kept alone).
    assert!(cut["bytes"].as_u64().unwrap() <= 2 * 1024 + 1514, "{cut}");
    assert_eq!(
        kept + cut["packets_dropped_before"].as_u64().unwrap()
            + cut["packets_dropped_after"].as_u64().unwrap(),
        all,
        "every packet is in the file or counted"
    );
    assert_eq!(counter(&records, "truncated"), 1);
    let file = std::fs::read(small.join(cut["file"].as_str().unwrap())).unwrap();
    assert_eq!(
        file.len() as u64,
        24 + 16 * kept + cut["bytes"].as_u64().unwrap()
    );
    let _ = std::fs::remove_dir_all(&full);
    let _ = std::fs::remove_dir_all(&small);
}

#[test]
fn benign_traffic_makes_no_evidence() {
    let dir = scratch("benign");
    let mut args = vec![
        "--log-stats".to_string(),
        "--evidence".to_string(),
        dir.to_string_lossy().into_owned(),
    ];
    let mut benign: Vec<PathBuf> = std::fs::read_dir(pcaps_dir().join("exchange"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("bn-"))
        .collect();
    benign.sort();
    assert!(benign.len() >= 10);
    args.extend(benign.iter().map(|p| p.to_string_lossy().into_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (status, records, stderr) = replay(&args);
    assert_eq!(status, Some(0), "{stderr}");
    assert!(
        sids_by_flow(&records).is_empty(),
        "benign captures raise no alert"
    );
    assert_eq!(
        files(&dir).into_keys().collect::<Vec<_>>(),
        vec!["index.json".to_string()]
    );
    assert!(index(&dir).is_empty());
    assert_eq!(counter(&records, "files"), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unwritable_directory_loses_no_eve_and_is_reported() {
    let dir = scratch("unwritable");
    // A path under a regular file cannot be made a directory, not even by root.
    let blocker = dir.join("a-file");
    std::fs::write(&blocker, b"x").unwrap();
    let target = blocker.join("evidence");
    let capture = pcap("exchange/chain-proxylogon-pipelined.pcap");
    let (status, records, stderr) = replay(&[
        "--log-stats",
        "--evidence",
        target.to_str().unwrap(),
        capture.to_str().unwrap(),
    ]);
    let (_, plain, _) = replay(&[capture.to_str().unwrap()]);
    assert_eq!(status, Some(0), "{stderr}");
    assert_eq!(
        sids_by_flow(&records),
        sids_by_flow(&plain),
        "the alerts are all written"
    );
    assert!(
        stderr.contains(&target.display().to_string()),
        "names the path: {stderr}"
    );
    assert!(stderr.contains("evidence file"), "{stderr}");
    assert!(stderr.contains("evidence index"), "{stderr}");
    // The one file (a file that is not written has no index line).
    assert_eq!(counter(&records, "errors"), 1);
    assert_eq!(counter(&records, "files"), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The bundled rules whose alert needs an xbit (`xbits:isset`), which another flow may set.
fn xbit_reader_sids() -> BTreeSet<u64> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("signatures");
    let mut sids = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rules") {
            continue;
        }
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            if !line.contains("xbits:isset") {
                continue;
            }
            if let Some(sid) = line
                .split("sid:")
                .nth(1)
                .and_then(|r| r.split(';').next())
                .and_then(|n| n.trim().parse().ok())
            {
                sids.insert(sid);
            }
        }
    }
    sids
}
