//! Same input, same output: a replay writes byte-identical EVE for any `--threads` and on
//! every run — every capture of `pcaps/` alone, all of them as one capture, flows that
//! expire at the same moment, and rules whose state spans flows (thresholds, detection
//! filters, xbits), whose alerts must be those of one reader going through the capture in
//! order.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use support::conv::Conv;
use support::frame::Link;
use support::pcap::{self, Format, LinkType, BASE_SECS};
use support::prereq;
use support::run::{exe, pcaps_dir};
use support::scenarios;

/// Runs `exhound replay <args>` and returns its exit status and standard output.
fn run(args: &[&str]) -> (Option<i32>, Vec<u8>) {
    let out = Command::new(exe())
        .arg("replay")
        .args(args)
        .output()
        .expect("run exhound");
    (out.status.code(), out.stdout)
}

/// The EVE output of `args` with each thread count (and twice with the last), checked to be
/// identical; returns it.
fn same_for_every_thread_count(args: &[&str]) -> Vec<u8> {
    same_for(args, &["1", "2", "4", "8", "8"])
}

/// The EVE output of `args` with each of `threads`, checked to be identical; returns it.
fn same_for(args: &[&str], threads: &[&str]) -> Vec<u8> {
    let mut first: Option<(Option<i32>, Vec<u8>)> = None;
    for t in threads {
        let mut a = vec!["--threads", t];
        a.extend_from_slice(args);
        let got = run(&a);
        match &first {
            None => first = Some(got),
            Some(want) => {
                assert_eq!(got.0, want.0, "exit status with --threads {t}: {args:?}");
                if got.1 != want.1 {
                    let (g, w) = (
                        String::from_utf8_lossy(&got.1),
                        String::from_utf8_lossy(&want.1),
                    );
                    let line = g.lines().zip(w.lines()).position(|(a, b)| a != b);
                    panic!(
                        "EVE differs with --threads {t} for {args:?} (first differing line {line:?}):\n{g}\n--- vs --threads 1:\n{w}"
                    );
                }
            }
        }
    }
    first.map(|f| f.1).unwrap_or_default()
}

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("pcaps/")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            captures(&p, out);
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng")
        ) {
            out.push(p);
        }
    }
}

fn records(eve: &[u8]) -> Vec<Value> {
    String::from_utf8(eve.to_vec())
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn every_capture_alone_and_all_together() {
    let mut files = Vec::new();
    captures(&pcaps_dir(), &mut files);
    assert!(files.len() > 100, "pcaps/ holds {} captures", files.len());
    // Two at a time: each run is a process of its own.
    let half = files.len().div_ceil(2);
    std::thread::scope(|scope| {
        for part in files.chunks(half) {
            scope.spawn(move || {
                for f in part {
                    let f = f.to_str().expect("path");
                    same_for(
                        &["--log-http", "--log-tls", "--log-stats", "-q", f],
                        &["1", "2", "4", "8"],
                    );
                }
            });
        }
    });
    let dir = pcaps_dir();
    let all = same_for_every_thread_count(&[
        "--log-http",
        "--log-tls",
        "--log-stats",
        "-q",
        dir.to_str().expect("path"),
    ]);
    let all = records(&all);
    let alerts = all.iter().filter(|r| r["event_type"] == "alert").count();
    let http = all.iter().filter(|r| r["event_type"] == "http").count();
    let tls = all.iter().filter(|r| r["event_type"] == "tls").count();
    assert!(
        alerts > 300 && http > 200 && tls >= 4,
        "{alerts} alerts, {http} http records, {tls} tls records"
    );
    // The last record is the final stats record, and it counts what came before.
    let last = all.last().expect("records");
    assert_eq!(last["event_type"], "stats");
    assert_eq!(last["stats"]["detect"]["alert"], alerts as u64);
    assert_eq!(last["stats"]["app_layer"]["tx"]["http"], http as u64);
}

#[test]
fn conformance_cases() {
    let Some(root) = prereq::require_shared("conformance/suricata-verify") else {
        return;
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("conformance dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut checked = 0;
    for d in dirs {
        let rules = d.join("test.rules");
        let mut pcaps = Vec::new();
        captures(&d, &mut pcaps);
        if !rules.is_file() || pcaps.is_empty() {
            continue;
        }
        let mut args = vec!["--log-http", "-q", "-S", rules.to_str().expect("path")];
        let names: Vec<String> = pcaps.iter().map(|p| p.display().to_string()).collect();
        args.extend(names.iter().map(String::as_str));
        same_for_every_thread_count(&args);
        checked += 1;
    }
    assert!(
        checked > 100,
        "only {checked} conformance cases had rules and a capture"
    );
}

/// Frames of several conversations, each conversation's frames `gap_ms` apart and the
/// conversations interleaved one frame at a time (so that flows overlap), from 10:00:00.
fn interleaved(convs: &[Conv], step_ns: u64) -> Vec<pcap::Frame> {
    let per: Vec<Vec<Vec<u8>>> = convs.iter().map(|c| c.frames(Link::Ethernet)).collect();
    let longest = per.iter().map(Vec::len).max().unwrap_or(0);
    let mut frames = Vec::new();
    for i in 0..longest {
        for p in &per {
            if let Some(f) = p.get(i) {
                frames.push(f.clone());
            }
        }
    }
    pcap::timed(frames, BASE_SECS * 1_000_000_000, step_ns)
}

fn write_capture(dir: &Path, name: &str, frames: &[pcap::Frame]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pcap::write(Format::PCAP, LinkType::Ethernet, frames))
        .expect("write pcap");
    path
}

#[test]
fn flows_that_expire_together() {
    // 200 connections, each with a request that never gets an answer, left open; then one
    // packet 700 s later makes them all expire at once (idle timeout 600 s). Their `http`
    // records come out at that moment, in the order the connections started.
    let convs: Vec<Conv> = (0..200u16)
        .map(|i| {
            let mut c = Conv::new(
                &format!("192.0.2.{}:{}", 10 + i % 50, 40000 + i),
                "198.51.100.5:80",
            );
            c.handshake();
            c.client(&scenarios::get(&format!("/owa/{i}")));
            c
        })
        .collect();
    let mut frames = interleaved(&convs, 1_000_000);
    let mut late = Conv::new("192.0.2.99:50000", "198.51.100.5:80");
    late.handshake();
    let last = frames.last().expect("frames").ts_ns;
    frames.extend(pcap::timed(
        late.frames(Link::Ethernet),
        last + 700_000_000_000,
        1_000,
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_capture(dir.path(), "expire.pcap", &frames);
    let eve = same_for_every_thread_count(&["--log-http", "-q", path.to_str().expect("path")]);
    let urls: Vec<String> = records(&eve)
        .iter()
        .filter(|r| r["event_type"] == "http")
        .map(|r| r["http"]["url"].as_str().unwrap_or("").to_string())
        .collect();
    let want: Vec<String> = (0..200).map(|i| format!("/owa/{i}")).collect();
    assert_eq!(urls, want);
    // They were written when they expired: every record's packet is the last of its flow,
    // and they all carry the `incomplete` flag.
    for r in records(&eve) {
        assert_eq!(r["metadata"]["flowvars"][0]["value"], "incomplete", "{r}");
    }
}

#[test]
fn state_that_spans_flows() {
    // Rules whose state spans flows: a limit per source, a detection filter per destination,
    // and an xbit set by one connection and tested by later ones from the same client.
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("cross.rules");
    std::fs::write(
        &rules,
        concat!(
            "alert http any any -> any any (msg:\"limit 3 per source\"; http.uri; content:\"/ecp/\"; threshold: type limit, track by_src, count 3, seconds 600; sid:1;)\n",
            "alert http any any -> any any (msg:\"after 5 per server\"; http.uri; content:\"/ews/\"; detection_filter: track by_dst, count 5, seconds 600; sid:2;)\n",
            "alert http any any -> any any (msg:\"mark\"; http.uri; content:\"/owa/mark\"; xbits:set,marked,track ip_src,expire 600; noalert; sid:3;)\n",
            "alert http any any -> any any (msg:\"marked client\"; http.uri; content:\"/owa/check\"; xbits:isset,marked,track ip_src; sid:4;)\n",
        ),
    )
    .expect("rules");
    // 8 clients, 12 connections each, interleaved frame by frame. Client c's connection 0
    // asks /owa/check (before any mark: no alert); connections 1 to 11 ask /ews/, and
    // before it /ecp/ (1 to 6); after it, /owa/mark (7) or /owa/check (8 to 11).
    let mut convs = Vec::new();
    for k in 0..12u16 {
        for c in 0..8u16 {
            let mut conv = Conv::new(
                &format!("192.0.2.{}:{}", 20 + c, 41000 + k),
                &format!("198.51.100.{}:80", 5 + c % 2),
            );
            conv.handshake();
            let mut ask = |url: &str| {
                conv.client(&scenarios::get(url));
                conv.server(&scenarios::ok(b"ok"));
            };
            match k {
                0 => ask("/owa/check"),
                k => {
                    if k <= 6 {
                        ask("/ecp/x");
                    }
                    ask("/ews/exchange.asmx");
                    match k {
                        7 => ask("/owa/mark"),
                        k if k > 7 => ask("/owa/check"),
                        _ => {}
                    }
                }
            }
            conv.close();
            convs.push(conv);
        }
    }
    let frames = interleaved(&convs, 100_000);
    let path = write_capture(dir.path(), "cross.pcap", &frames);
    let eve = same_for_every_thread_count(&[
        "-q",
        "-S",
        rules.to_str().expect("path"),
        path.to_str().expect("path"),
    ]);
    let alerts: Vec<Value> = records(&eve)
        .into_iter()
        .filter(|r| r["event_type"] == "alert")
        .collect();
    let count = |sid: u64| {
        alerts
            .iter()
            .filter(|a| a["alert"]["signature_id"] == sid)
            .count()
    };
    // 3 per client of its 6 /ecp/ requests.
    assert_eq!(count(1), 8 * 3);
    // 44 /ews/ requests per server (4 clients × 11), the first 5 let through silently.
    assert_eq!(count(2), 2 * (44 - 5));
    // Each client's checks after its mark: connections 8 to 11.
    assert_eq!(count(4), 8 * 4);
    // And the limit kept the first three /ecp/ requests of each client, in capture order.
    for c in 0..8 {
        let ports: Vec<u64> = alerts
            .iter()
            .filter(|a| {
                a["alert"]["signature_id"] == 1 && a["src_ip"] == format!("192.0.2.{}", 20 + c)
            })
            .map(|a| a["src_port"].as_u64().unwrap_or(0))
            .collect();
        assert_eq!(ports, vec![41001, 41002, 41003], "client {c}");
    }
}
