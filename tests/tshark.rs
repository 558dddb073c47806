//! exhound and tshark must see the same HTTP requests in every capture of `pcaps/`,
//! `pcaps/exchange/` and `pcaps/real-clients/`.
//!
//! For each `*.pcap`/`*.pcapng` (except the deliberately truncated ones) the (method, URL)
//! pairs of exhound's `--log-http` records are compared, as multisets, with what
//!
//! ```text
//! tshark -o tcp.reassemble_out_of_order:TRUE -2 -Y http.request \
//!        -T fields -e http.request.method -e http.request.uri -r FILE
//! ```
//!
//! reports (plus `-d tcp.port==P,http` so that tshark decodes HTTP on the non-standard ports
//! exhound finds it on, and on each Exchange scenario's server port: 443, 444, 80, ...).
//! Where the two disagree on purpose the difference is listed in [`KNOWN_DIFFERENCES`] with
//! the reason. Skips, with a message, when tshark is missing (`make test` installs it); under
//! `CI=true` that is a failure.
//!
//! The Exchange captures with the `Overlap` transport send each request as three overlapping
//! segments with different bytes behind a one-byte hole (see
//! `tests/support/exchange_pcaps.rs`): exhound's default policy (windows) reads the true
//! request, `first` and `last` a decoy. tshark has no overlap policy; with out-of-order
//! reassembly on (as here) it chains, after the hole, the segment that starts where the
//! stream continues, which is the one carrying the true request, and treats the other two as
//! retransmissions of bytes it already has, so it reads the true request too and there is
//! no difference to list. (With tshark's default, `tcp.reassemble_out_of_order:FALSE`, it
//! shows no request at all in those files.)

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::exchange_pcaps;
use support::prereq;
use support::run::{pcaps_dir, replay};

type Req = (String, String);

/// Requests exhound reports and tshark does not in one file, and why.
struct KnownDifference {
    file: &'static str,
    only_exhound: &'static [(&'static str, &'static str)],
    why: &'static str,
}

/// Every deliberate difference.
const KNOWN_DIFFERENCES: &[KnownDifference] = &[
    KnownDifference {
        file: "tcp-gap-resync.pcap",
        only_exhound: &[("GET", "/owa/third")],
        why:
            "a segment of the client stream is missing; tshark cannot reassemble past the hole and \
         decodes nothing after it, exhound skips the gap and resynchronises on the next request",
    },
    KnownDifference {
        file: "tcp-gap-in-body.pcap",
        only_exhound: &[("POST", "/ews/upload-gap"), ("GET", "/owa/after-gap")],
        why: "a segment inside the POST body is missing; tshark waits for the complete body (that \
         never comes) before showing the request, exhound knows the body length, accounts the \
         gap and carries on with the next request",
    },
];

/// Ports on which the captures carry HTTP that tshark does not decode as HTTP by itself.
const EXTRA_HTTP_PORTS: &[u16] = &[444, 8443, 18080];

const AGGREGATOR: &str = "\u{1}";

/// True when tshark runs; otherwise skips (or, under `CI=true`, fails).
fn tshark_available() -> bool {
    let runs = Command::new("tshark")
        .arg("-v")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    prereq::require("tshark (make deps installs it)", runs)
}

/// Every capture in `pcaps/`, `pcaps/exchange/` and `pcaps/real-clients/`.
fn captures() -> Vec<PathBuf> {
    let dirs = [
        pcaps_dir(),
        pcaps_dir().join(exchange_pcaps::DIR),
        pcaps_dir().join("real-clients"),
    ];
    let mut v: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap_or_else(|e| panic!("{}: {e}", d.display())))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            )
        })
        .filter(|p| {
            !p.file_name()
                .unwrap()
                .to_string_lossy()
                .contains("truncated")
        })
        .collect();
    v.sort();
    v
}

fn tshark_requests(file: &Path, ports: &BTreeSet<u16>) -> Vec<Req> {
    let mut cmd = Command::new("tshark");
    cmd.args([
        "-o",
        "tcp.reassemble_out_of_order:TRUE",
        "-2",
        "-Y",
        "http.request",
        "-T",
        "fields",
    ]);
    cmd.args(["-e", "http.request.method", "-e", "http.request.uri"]);
    cmd.args([
        "-E",
        &format!("aggregator={AGGREGATOR}"),
        "-E",
        "occurrence=a",
    ]);
    for p in ports {
        cmd.args(["-d", &format!("tcp.port=={p},http")]);
    }
    cmd.arg("-r").arg(file);
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut reqs = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // Several requests in one frame (pipelining) come as aggregated lists.
        let mut cols = line.split('\t');
        let methods = cols.next().unwrap_or("");
        let uris = cols.next().unwrap_or("");
        let methods: Vec<&str> = methods.split(AGGREGATOR).collect();
        let uris: Vec<&str> = uris.split(AGGREGATOR).collect();
        assert_eq!(
            methods.len(),
            uris.len(),
            "tshark line {line:?} of {}",
            file.display()
        );
        for (m, u) in methods.iter().zip(uris) {
            reqs.push((m.to_string(), u.to_string()));
        }
    }
    reqs
}

fn differences(name: &str) -> Vec<Req> {
    KNOWN_DIFFERENCES
        .iter()
        .filter(|d| d.file == name)
        .flat_map(|d| {
            d.only_exhound
                .iter()
                .map(|(m, u)| (m.to_string(), u.to_string()))
        })
        .collect()
}

#[test]
fn exhound_sees_the_requests_tshark_sees() {
    if !tshark_available() {
        return;
    }
    let files = captures();
    assert!(
        files.len() > 120,
        "pcaps/ and pcaps/exchange/ hold only {} captures",
        files.len()
    );
    let exchange_ports: Vec<(String, u16)> = exchange_pcaps::all()
        .iter()
        .map(|c| (c.file.clone(), c.scenario.server_port))
        .collect();
    let mut failures = Vec::new();
    for file in &files {
        // The path inside pcaps/: `http-get.pcap`, `exchange/pl-mapi-testanull.pcap`.
        let name = file
            .strip_prefix(pcaps_dir())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        // Clear values: tshark's URLs are not redacted.
        let run = replay(&[file.as_os_str(), std::ffi::OsStr::new("--no-redact")]);
        let mut ports: BTreeSet<u16> = EXTRA_HTTP_PORTS.iter().copied().collect();
        ports.extend(
            exchange_ports
                .iter()
                .filter(|(f, _)| *f == name)
                .map(|&(_, p)| p),
        );
        ports.extend(
            run.http()
                .iter()
                .filter_map(|r| r["dest_port"].as_u64())
                .map(|p| p as u16),
        );
        // A record with neither method nor URL is a response whose request was lost to a
        // capture gap (tcp-gap-resync.pcap): there is no request to compare.
        let mut ours: Vec<Req> = run
            .requests()
            .into_iter()
            .filter(|(m, u)| !(m.is_empty() && u.is_empty()))
            .collect();
        ours.sort();
        let mut theirs = tshark_requests(file, &ports);
        theirs.extend(differences(&name));
        theirs.sort();
        if run.status != Some(0) || ours != theirs {
            let why = KNOWN_DIFFERENCES
                .iter()
                .find(|d| d.file == name)
                .map(|d| format!("\n    known difference: {}", d.why))
                .unwrap_or_default();
            failures.push(format!(
                "{name}: exhound (exit {:?}) {ours:?}\n    tshark (+ known differences) {theirs:?}{why}",
                run.status
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "exhound and tshark disagree:\n{}",
        failures.join("\n")
    );
}

#[test]
fn tshark_sees_what_the_generator_wrote() {
    // Validates the pcap writer and frame builders independently of exhound: tshark finds
    // each synthetic request where the scenario put it.
    if !tshark_available() {
        return;
    }
    let ports: BTreeSet<u16> = EXTRA_HTTP_PORTS.iter().copied().collect();
    let cases: &[(&str, &[(&str, &str)])] = &[
        (
            "http-pipelining.pcap",
            &[("GET", "/ews/1"), ("GET", "/ews/2"), ("GET", "/ews/3")],
        ),
        ("ipv4-fragments.pcap", &[("POST", "/ews/fragmented")]),
        ("vlan-qinq.pcap", &[("GET", "/owa/qinq")]),
        ("linux-sll2.pcap", &[("GET", "/owa/sll2")]),
        ("ipv6-ext-header.pcap", &[("GET", "/owa/ipv6")]),
        ("pcapng-ns.pcapng", &[("GET", "/owa/pcapng")]),
        ("pcap-ns-bigendian.pcap", &[("GET", "/owa/nanos")]),
        ("raw-ip.pcap", &[("GET", "/owa/raw")]),
        ("bsd-null-loopback.pcap", &[("GET", "/owa/loopback")]),
        ("tcp-seq-wrap.pcap", &[("GET", "/owa/wrap")]),
        ("tcp-overlap-before.pcap", &[("GET", "/owa/auth/new.js")]),
        ("tcp-overlap-after.pcap", &[("GET", "/owa/auth/old.js")]),
        (
            "nonstandard-ports.pcap",
            &[("GET", "/ecp/default.flt"), ("GET", "/owa/auth/8443.js")],
        ),
        (
            "iis-normalisation.pcap",
            &[
                ("GET", "/ecp/%79.js"),
                ("GET", "/ECP\\y.js"),
                ("GET", "//owa///auth/../auth/x.js"),
                ("GET", "/owa/auth/%u0078.js"),
            ],
        ),
    ];
    for (file, want) in cases {
        let got = tshark_requests(&pcaps_dir().join(file), &ports);
        let want: Vec<Req> = want
            .iter()
            .map(|(m, u)| (m.to_string(), u.to_string()))
            .collect();
        assert_eq!(got, want, "{file}");
    }
}

#[test]
fn tshark_sees_every_exchange_request() {
    // Validates the Exchange captures independently of exhound: tshark finds every request
    // of the scenario, in order, with its method and request-target, on the scenario's port,
    // whatever the transport (tiny segments, pipelining, overlap, fragments).
    if !tshark_available() {
        return;
    }
    let mut failures = Vec::new();
    for cap in exchange_pcaps::all() {
        let ports: BTreeSet<u16> = [cap.scenario.server_port].into_iter().collect();
        let got = tshark_requests(&pcaps_dir().join(&cap.file), &ports);
        let want: Vec<Req> = cap
            .scenario
            .exchanges
            .iter()
            .map(|e| {
                let line = e.request.split(|&b| b == b'\r').next().unwrap();
                let line = String::from_utf8_lossy(line);
                let mut parts = line.split(' ');
                (
                    parts.next().unwrap().to_string(),
                    parts.next().unwrap().to_string(),
                )
            })
            .collect();
        if got != want {
            failures.push(format!(
                "{} ({}):\n    tshark    {got:?}\n    scenario  {want:?}",
                cap.file,
                exchange_pcaps::transport_name(cap.scenario.transport)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "tshark does not see the scenario's requests:\n{}",
        failures.join("\n")
    );
}
