//! `exhound live` end to end, on veth pairs in network namespaces fed by tcpreplay:
//!
//! - on one interface it finds exactly what `exhound replay` finds in the same captures;
//! - on the two ports of a tap (each direction on its own interface) it merges them into
//!   one view and finds the same again;
//! - SIGUSR2 reloads the rules (a broken file keeps the old ones), SIGHUP reopens the
//!   output after logrotate moved it, SIGTERM ends the run with every line whole;
//! - workers that cannot keep up lose packets, count them in the EVE `stats` records and
//!   keep going: an attack sent after the flood is still reported;
//! - a TLS connection whose key-log lines are written after its records were captured is
//!   still decrypted (its records wait for the key).
//!
//! These tests need root, iproute2 and tcpreplay (`make test` installs them); they skip
//! elsewhere, and fail under `CI=true` when something is missing.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use support::conv::Conv;
use support::frame::Link;
use support::netns::{ready, LiveRun, Rig};
use support::pcap::{self, Format, LinkType, BASE_SECS};
use support::run::{exe, pcaps_dir};
use support::scenarios;

/// The attack and benign captures of `pcaps/exchange/`, in name order.
fn exchange_captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(pcaps_dir().join("exchange"))
        .expect("pcaps/exchange")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    v.sort();
    v
}

fn read_eve(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}: not a whole JSON line ({e}): {l}", path.display()))
        })
        .collect()
}

/// What must agree between a live run and a replay: for each alert and `http` record, the
/// facts that do not depend on when or how the packets were read (not the time, packet
/// number, flow id or file name), counted.
fn facts(records: &[Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in records {
        let key = match r["event_type"].as_str() {
            Some("alert") => format!(
                "alert {} {}:{} -> {}:{} tx {} {} {}",
                r["alert"]["signature_id"],
                r["src_ip"],
                r["src_port"],
                r["dest_ip"],
                r["dest_port"],
                r["tx_id"],
                r["http"]["http_method"],
                r["http"]["url"]
            ),
            Some("http") => format!(
                "http {}:{} -> {}:{} tx {} {} {} {} {}",
                r["src_ip"],
                r["src_port"],
                r["dest_ip"],
                r["dest_port"],
                r["tx_id"],
                r["http"]["http_method"],
                r["http"]["url"],
                r["http"]["status"],
                r["http"]["length"]
            ),
            _ => continue,
        };
        *m.entry(key).or_insert(0) += 1;
    }
    m
}

/// A redaction key file for live and replay alike: by default a live run keys its masks
/// with random bytes and a replay with its captures, so URLs carrying a canary would differ.
fn redact_key() -> PathBuf {
    let path = std::env::temp_dir().join("exhound-tests-live-redact.key");
    // Written aside and renamed, so that a test reading it meanwhile never sees it short.
    let aside = path.with_extension(format!(
        "{}.{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&aside, [0x42u8; 32]).expect("write the redaction key");
    std::fs::rename(&aside, &path).expect("rename the redaction key");
    path
}

/// `exhound replay --log-http` of `files`, as facts.
fn replay_facts(files: &[PathBuf], extra: &[&str]) -> BTreeMap<String, usize> {
    let out = Command::new(exe())
        .args(["replay", "--log-http", "-q", "--redact-key"])
        .arg(redact_key())
        .args(extra)
        .args(files)
        .output()
        .expect("run exhound replay");
    let records: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    facts(&records)
}

fn live_command(rig: &Rig, interfaces: &[String], out: &Path, extra: &[&str]) -> Command {
    let mut c = rig.in_sensor(exe());
    c.arg("live");
    for i in interfaces {
        c.args(["-i", i]);
    }
    c.args(["--log-http", "-o"])
        .arg(out)
        .arg("--redact-key")
        .arg(redact_key())
        .args(extra);
    c
}

fn assert_same(live: &BTreeMap<String, usize>, replay: &BTreeMap<String, usize>, stderr: &str) {
    let only_live: Vec<_> = live
        .iter()
        .filter(|(k, v)| replay.get(*k) != Some(v))
        .collect();
    let only_replay: Vec<_> = replay
        .iter()
        .filter(|(k, v)| live.get(*k) != Some(v))
        .collect();
    assert!(
        only_live.is_empty() && only_replay.is_empty(),
        "live and replay differ\nlive only: {only_live:#?}\nreplay only: {only_replay:#?}\nstderr:\n{stderr}"
    );
}

#[test]
fn live_finds_what_replay_finds() {
    if !ready("live_finds_what_replay_finds") {
        return;
    }
    let files = exchange_captures();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("eve.json");
    let rig = Rig::new("one", 1);
    let live = LiveRun::start(live_command(&rig, &[rig.sensor_if(0)], &out, &[]));
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    rig.tcpreplay(&[], &refs);
    std::thread::sleep(Duration::from_millis(500));
    let (status, stderr) = live.stop();
    assert!(status.success(), "exit {status}; stderr:\n{stderr}");
    assert!(
        stderr.contains("0 packets dropped on full queues"),
        "{stderr}"
    );
    let records = read_eve(&out);
    let live_facts = facts(&records);
    let replay = replay_facts(&files, &[]);
    let alerts: usize = replay
        .iter()
        .filter(|(k, _)| k.starts_with("alert"))
        .map(|(_, n)| n)
        .sum();
    assert!(alerts > 100, "the captures should raise alerts ({alerts})");
    assert_same(&live_facts, &replay, &stderr);
    // The run ends with a stats record whose kernel counters saw every packet.
    let last = records.last().expect("records");
    assert_eq!(last["event_type"], "stats");
    assert_eq!(last["stats"]["capture"]["kernel_drops"], 0);
    assert!(last["stats"]["capture"]["kernel_packets"].as_u64() > Some(1000));
}

/// Splits a capture by direction: the frames sent by the side that spoke first on each
/// connection (the client), and the others.
fn split_by_direction(file: &Path) -> (Vec<pcap::Frame>, Vec<pcap::Frame>) {
    let (mut c2s, mut s2c) = (Vec::new(), Vec::new());
    let mut clients: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for frame in read_frames(file) {
        let (src, dst) = endpoints(&frame.data);
        let known = clients
            .iter()
            .find(|(a, b)| (a == &src && b == &dst) || (a == &dst && b == &src));
        let from_client = match known {
            Some((client, _)) => client == &src,
            None => {
                clients.push((src.clone(), dst.clone()));
                true
            }
        };
        if from_client {
            c2s.push(frame);
        } else {
            s2c.push(frame);
        }
    }
    (c2s, s2c)
}

/// The frames of a classic little-endian microsecond pcap.
fn read_frames(file: &Path) -> Vec<pcap::Frame> {
    let bytes = std::fs::read(file).expect("read capture");
    let mut frames = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let word = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().expect("4 bytes"));
        let (secs, usecs, caplen) = (word(at), word(at + 4), word(at + 8) as usize);
        let data = bytes[at + 16..at + 16 + caplen].to_vec();
        at += 16 + caplen;
        frames.push(pcap::Frame {
            ts_ns: u64::from(secs) * 1_000_000_000 + u64::from(usecs) * 1000,
            data,
        });
    }
    frames
}

/// (source, destination) of a frame: addresses and ports as bytes, enough to tell the two
/// directions of a connection apart.
fn endpoints(frame: &[u8]) -> (Vec<u8>, Vec<u8>) {
    match etherparse::SlicedPacket::from_ethernet(frame) {
        Ok(p) => {
            let (mut s, mut d) = match &p.net {
                Some(etherparse::NetSlice::Ipv4(v4)) => (
                    v4.header().source().to_vec(),
                    v4.header().destination().to_vec(),
                ),
                Some(etherparse::NetSlice::Ipv6(v6)) => (
                    v6.header().source().to_vec(),
                    v6.header().destination().to_vec(),
                ),
                _ => (Vec::new(), Vec::new()),
            };
            if let Some(etherparse::TransportSlice::Tcp(t)) = &p.transport {
                s.extend_from_slice(&t.source_port().to_be_bytes());
                d.extend_from_slice(&t.destination_port().to_be_bytes());
            }
            (s, d)
        }
        Err(_) => (Vec::new(), Vec::new()),
    }
}

#[test]
fn two_tap_interfaces_are_one_view() {
    if !ready("two_tap_interfaces_are_one_view") {
        return;
    }
    let files = exchange_captures();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut halves = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let (c2s, s2c) = split_by_direction(f);
        for (name, frames) in [("c2s", c2s), ("s2c", s2c)] {
            let p = dir.path().join(format!("{i:03}-{name}.pcap"));
            std::fs::write(&p, pcap::write(Format::PCAP, LinkType::Ethernet, &frames))
                .expect("write");
            halves.push(p);
        }
    }
    let out = dir.path().join("eve.json");
    let rig = Rig::new("tap", 2);
    let interfaces = [rig.sensor_if(0), rig.sensor_if(1)];
    let live = LiveRun::start(live_command(&rig, &interfaces, &out, &[]));
    let status = rig
        .in_sender("tcpreplay")
        .arg("-q")
        .arg("-i")
        .arg(rig.sender_if(0))
        .arg("-I")
        .arg(rig.sender_if(1))
        .arg("--dualfile")
        .args(&halves)
        .output()
        .expect("tcpreplay");
    assert!(
        status.status.success(),
        "tcpreplay: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    std::thread::sleep(Duration::from_millis(500));
    let (status, stderr) = live.stop();
    assert!(status.success(), "exit {status}; stderr:\n{stderr}");
    assert_same(&facts(&read_eve(&out)), &replay_facts(&files, &[]), &stderr);
}

/// A capture of `n` connections from client port `first_port` on, each asking `url`.
fn capture_of(dir: &Path, name: &str, first_port: u16, n: u16, url: &str) -> PathBuf {
    capture_of_requests(dir, name, first_port, n, &scenarios::get(url))
}

/// `n` connections from `first_port` on, each sending `request` once and getting a short
/// answer.
fn capture_of_requests(dir: &Path, name: &str, first_port: u16, n: u16, request: &[u8]) -> PathBuf {
    let mut frames = Vec::new();
    for i in 0..n {
        let c = scenarios::simple(
            Conv::new(&format!("192.0.2.10:{}", first_port + i), "198.51.100.5:80"),
            request,
            &scenarios::ok(b"fine"),
        );
        frames.extend(c.frames(Link::Ethernet));
    }
    let path = dir.join(name);
    let frames = pcap::timed(frames, BASE_SECS * 1_000_000_000, 100_000);
    std::fs::write(
        &path,
        pcap::write(Format::PCAP, LinkType::Ethernet, &frames),
    )
    .expect("write");
    path
}

fn sids(records: &[Value]) -> BTreeMap<u64, usize> {
    let mut m = BTreeMap::new();
    for r in records.iter().filter(|r| r["event_type"] == "alert") {
        *m.entry(r["alert"]["signature_id"].as_u64().unwrap_or(0))
            .or_insert(0) += 1;
    }
    m
}

/// Waits until the EVE file holds `n` alerts of `sid`.
fn wait_for_alerts(path: &Path, sid: u64, n: usize) -> Vec<Value> {
    let end = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let records = read_eve(path);
        if sids(&records).get(&sid).copied().unwrap_or(0) >= n {
            return records;
        }
        assert!(
            std::time::Instant::now() < end,
            "{}: no {n} alerts of sid {sid}: {:?}",
            path.display(),
            sids(&records)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn signals_reload_rules_and_reopen_the_output() {
    if !ready("signals_reload_rules_and_reopen_the_output") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("site.rules");
    let ecp = "alert http any any -> any any (msg:\"ecp\"; http.uri; content:\"/ecp/\"; sid:1;)\n";
    let owa = "alert http any any -> any any (msg:\"owa\"; http.uri; content:\"/owa/\"; sid:2;)\n";
    std::fs::write(&rules, ecp).expect("rules");
    let out = dir.path().join("eve.json");
    let rig = Rig::new("sig", 1);
    let mut cmd = live_command(&rig, &[rig.sensor_if(0)], &out, &["-S"]);
    cmd.arg(&rules);
    let live = LiveRun::start(cmd);
    let both = |port: u16, name: &str| {
        let a = capture_of(
            dir.path(),
            &format!("{name}-ecp.pcap"),
            port,
            2,
            "/ecp/x.js",
        );
        let b = capture_of(
            dir.path(),
            &format!("{name}-owa.pcap"),
            port + 10,
            2,
            "/owa/y.js",
        );
        rig.tcpreplay(&[], &[&a, &b]);
    };
    // The first rules: /ecp/ alerts, /owa/ does not.
    both(40000, "first");
    let r = wait_for_alerts(&out, 1, 2);
    assert_eq!(sids(&r).get(&2), None);
    // A new rule, then SIGUSR2: it fires from then on.
    std::fs::write(&rules, format!("{ecp}{owa}")).expect("rules");
    live.signal("USR2");
    live.wait_for("rules reloaded: 2 rules", Duration::from_secs(20));
    both(41000, "second");
    let r = wait_for_alerts(&out, 2, 2);
    assert_eq!(sids(&r).get(&1), Some(&4));
    // A broken file: the old rules stay, and the error names the place.
    std::fs::write(&rules, format!("{ecp}{owa}alert http any any -> any any (msg:\"x\"; http.uri; content:\"a\"; nosuchkeyword; sid:3;)\n")).expect("rules");
    live.signal("USR2");
    live.wait_for("rules not reloaded", Duration::from_secs(20));
    assert!(live.stderr().contains("site.rules:3:"), "{}", live.stderr());
    both(42000, "third");
    wait_for_alerts(&out, 2, 4);
    // logrotate moves the file, then SIGHUP: later records go to a new file.
    let moved = dir.path().join("eve.json.1");
    std::fs::rename(&out, &moved).expect("rename");
    live.signal("HUP");
    both(43000, "fourth");
    wait_for_alerts(&out, 2, 2);
    let (status, stderr) = live.stop();
    assert!(status.success(), "exit {status}; stderr:\n{stderr}");
    let old = read_eve(&moved);
    let new = read_eve(&out);
    assert_eq!(sids(&old).get(&1), Some(&6), "{:?}", sids(&old));
    assert_eq!(sids(&new), BTreeMap::from([(1, 2), (2, 2)]));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&out).expect("eve").permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "EVE files are created 0640");
}

#[test]
fn overloaded_workers_drop_count_and_go_on() {
    if !ready("overloaded_workers_drop_count_and_go_on") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // A flood of 3000 connections, replayed as fast as possible at one worker with a queue
    // of one batch; then, at its own pace, one attack. Each flood request carries 500 small
    // headers, which cost the sensor about five times what ordinary traffic does per byte
    // (`cargo bench --bench shapes`): the sender outruns the worker by far even when other
    // tests slow the sender down. (Plain GETs, about 80 bytes a packet, stopped overloading
    // the worker once the per-packet path got cheaper: three runs in five saw no drop.)
    let headers: Vec<(String, String)> = (0..500)
        .map(|k| (format!("X-H{k:03}"), format!("v{k}")))
        .collect();
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let request = scenarios::request("GET", "/owa/flood", &headers, b"");
    let flood = capture_of_requests(dir.path(), "flood.pcap", 1024, 3000, &request);
    let attack = pcaps_dir().join("exchange/chain-proxylogon-testanull-keepalive.pcap");
    let out = dir.path().join("eve.json");
    let rig = Rig::new("load", 1);
    let live = LiveRun::start(live_command(
        &rig,
        &[rig.sensor_if(0)],
        &out,
        &[
            "--threads",
            "1",
            "--worker-queue",
            "1",
            "--stats-interval",
            "1",
        ],
    ));
    rig.tcpreplay(&["--topspeed"], &[&flood]);
    rig.tcpreplay(&[], &[&attack]);
    wait_for_alerts(&out, 4210001, 1);
    std::thread::sleep(Duration::from_millis(1500));
    let (status, stderr) = live.stop();
    assert!(status.success(), "exit {status}; stderr:\n{stderr}");
    let records = read_eve(&out);
    let stats: Vec<&Value> = records
        .iter()
        .filter(|r| r["event_type"] == "stats")
        .collect();
    assert!(stats.len() >= 2, "periodic stats records: {}", stats.len());
    let last = stats.last().expect("stats");
    let drops = last["metadata"]["flowints"]["exhound.capture.queue_drops"]
        .as_u64()
        .unwrap_or(0);
    assert!(drops > 0, "no queue drops counted: {last}");
    assert_eq!(
        last["metadata"]["flowints"]["exhound.capture.queue_drops.worker0"],
        drops
    );
    assert!(
        stderr.contains(&format!("{drops} packets dropped on full queues")),
        "{stderr}"
    );
}

#[test]
fn root_is_dropped_once_the_interface_is_open() {
    if !ready("root_is_dropped_once_the_interface_is_open") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("eve.json");
    let pidfile = dir.path().join("exhound.pid");
    let rig = Rig::new("priv", 1);
    let mut cmd = live_command(
        &rig,
        &[rig.sensor_if(0)],
        &out,
        &["--user", "nobody", "--pidfile"],
    );
    cmd.arg(&pidfile);
    let live = LiveRun::start(cmd);
    assert_eq!(
        std::fs::read_to_string(&pidfile).expect("pid file").trim(),
        live.pid().to_string()
    );
    let status = std::fs::read_to_string(format!("/proc/{}/status", live.pid())).expect("status");
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    assert_eq!(field("Uid:"), "65534 65534 65534 65534", "{status}");
    assert_eq!(field("CapEff:"), "0000000000000000", "{status}");
    // Capture goes on without root.
    let attack = pcaps_dir().join("exchange/chain-proxylogon-testanull-keepalive.pcap");
    rig.tcpreplay(&[], &[&attack]);
    wait_for_alerts(&out, 4210001, 1);
    let (status, stderr) = live.stop();
    assert!(status.success(), "exit {status}; stderr:\n{stderr}");
}

#[test]
fn a_missing_interface_is_a_clear_error() {
    let out = Command::new(exe())
        .args(["live", "-i", "exhound-none0", "-q"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exhound-none0: cannot capture"), "{err}");
}

#[test]
fn evidence_files_are_written_live_and_replay_to_the_same_alerts() {
    if !ready("evidence_files_are_written_live_and_replay_to_the_same_alerts") {
        return;
    }
    let files: Vec<PathBuf> = [
        "chain-proxylogon-pipelined.pcap",
        "ws-chopper-aspnet-client.pcap",
        "bn-ews-soap.pcap",
    ]
    .iter()
    .map(|n| pcaps_dir().join("exchange").join(n))
    .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("eve.json");
    let evidence = dir.path().join("evidence");
    let rig = Rig::new("evid", 1);
    let ev = evidence.to_string_lossy().into_owned();
    let live = LiveRun::start(live_command(
        &rig,
        &[rig.sensor_if(0)],
        &out,
        &["--evidence", &ev],
    ));
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    rig.tcpreplay(&[], &refs);
    std::thread::sleep(Duration::from_millis(500));
    let (status, stderr) = live.stop();
    assert!(status.success(), "exit {status}; stderr:\n{stderr}");
    let records = read_eve(&out);
    // The sids of each alerted flow, live.
    let mut alerted: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for r in records.iter().filter(|r| r["event_type"] == "alert") {
        let sids = alerted.entry(r["flow_id"].as_u64().unwrap()).or_default();
        sids.push(r["alert"]["signature_id"].as_u64().unwrap());
    }
    assert_eq!(alerted.len(), 2, "the two attack flows alert: {alerted:?}");
    // Shutdown wrote every alerted flow's file.
    let index: Vec<Value> = read_eve(&evidence.join("index.json"));
    assert_eq!(index.len(), 2, "{index:#?}\n{stderr}");
    for e in &index {
        let flow = e["flow_id"].as_u64().unwrap();
        let mut want = alerted[&flow].clone();
        want.sort_unstable();
        let file = evidence.join(e["file"].as_str().unwrap());
        let again = Command::new(exe())
            .args(["replay", "-q"])
            .arg(&file)
            .output()
            .expect("replay the evidence");
        let mut got: Vec<u64> = String::from_utf8_lossy(&again.stdout)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("JSON"))
            .filter(|r| r["event_type"] == "alert")
            .map(|r| r["alert"]["signature_id"].as_u64().unwrap())
            .collect();
        got.sort_unstable();
        assert_eq!(got, want, "{}", file.display());
    }
    let last = records.last().expect("records");
    assert_eq!(last["metadata"]["flowints"]["exhound.evidence.files"], 2);
}

#[test]
fn key_log_lines_written_after_the_handshake_still_decrypt() {
    if !ready("key_log_lines_written_after_the_handshake_still_decrypt") {
        return;
    }
    // A real TLS 1.3 ProxyLogon request (openssl s_client): its first 12 packets carry the
    // handshake, the request and the answer; the key log is written only after they were
    // sent, as a client that logs late would.
    let capture = pcaps_dir().join("real-clients/openssl-proxylogon-tls.pcap");
    let keys = std::fs::read_to_string(capture.with_extension("keylog")).expect("key log");
    let frames = read_frames(&capture);
    assert_eq!(frames.len(), 16, "the capture changed");
    let dir = tempfile::tempdir().expect("tempdir");
    let (first, rest) = (dir.path().join("first.pcap"), dir.path().join("rest.pcap"));
    std::fs::write(
        &first,
        pcap::write(Format::PCAP, LinkType::Ethernet, &frames[..12]),
    )
    .expect("write");
    std::fs::write(
        &rest,
        pcap::write(Format::PCAP, LinkType::Ethernet, &frames[12..]),
    )
    .expect("write");
    let keylog = dir.path().join("keys.log");
    std::fs::write(&keylog, "").expect("empty key log");
    let out = dir.path().join("eve.json");
    let rig = Rig::new("tlskey", 1);
    let key_flag = keylog.to_str().expect("path");
    let live = LiveRun::start(live_command(
        &rig,
        &[rig.sensor_if(0)],
        &out,
        &["--log-stats", "--tls-keylog", key_flag],
    ));
    rig.tcpreplay(&[], &[&first]);
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(&keylog, &keys).expect("key log");
    std::thread::sleep(Duration::from_millis(100));
    rig.tcpreplay(&[], &[&rest]);
    wait_for_alerts(&out, 4210001, 1);
    let (status, stderr) = live.stop();
    assert!(status.success(), "exit {status}; stderr:\n{stderr}");
    let records = read_eve(&out);
    let http: Vec<&Value> = records
        .iter()
        .filter(|r| r["event_type"] == "http")
        .collect();
    assert_eq!(http.len(), 1, "{records:#?}");
    assert_eq!(http[0]["http"]["url"], "/ecp/y.js");
    assert_eq!(http[0]["tls"]["sni"], "mail.contoso.com");
    let last = records.last().expect("records");
    assert_eq!(last["metadata"]["flowints"]["exhound.tls.decrypted"], 1);
    assert_eq!(last["metadata"]["flowints"]["exhound.tls.no_key"], 0);
}
