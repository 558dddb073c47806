//! TLS decryption end to end (issue 10 §3), on captures made by real TLS stacks
//! (`pcaps/tls/decrypt/`, recorded by `scripts/capture-tls-decrypt.sh`: curl, `openssl
//! s_client`, Python `ssl` and a rustls 0.23 client and server talking to
//! `scripts/fake-exchange.py`; each capture with the key log its client wrote).
//!
//! What is expected comes from elsewhere than exhound: the requests from tshark decrypting
//! the same file with the same key log (or the server's RSA key), the alerts from exhound on
//! the same requests in plain HTTP (`plain.pcap`). Every connection carries the five
//! requests of [`REQUESTS`] on one keep-alive connection.
//!
//! Tests that need tshark skip with a message when it is missing; under `CI=true` that is a
//! failure. The `tshark_*` tests check the captures themselves and pass without exhound's
//! decryption; the others run `exhound replay --tls-keylog FILE` / `--tls-key FILE`.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use support::prereq;
use support::run::{exe, key_logged_pcaps, pcap, str_of};

/// The EVE `stats` counters of decryption, as the names under the record's
/// `metadata.flowints` (Suricata's schema has no place for them inside `stats`).
mod counter {
    /// Connections of which at least one record was decrypted.
    pub const DECRYPTED: &str = "exhound.tls.decrypted";
    /// Connections for which no key was given (no key-log line for the client random, no
    /// RSA key for the server, or (EC)DHE / TLS 1.3 with only an RSA key).
    pub const NO_KEY: &str = "exhound.tls.no_key";
    /// Connections with a key that did not decrypt (wrong secret, wrong RSA key, …).
    pub const DECRYPT_FAILED: &str = "exhound.tls.decrypt_failed";
}

/// The command-line flags of decryption.
const KEYLOG_FLAG: &str = "--tls-keylog";
const RSA_KEY_FLAG: &str = "--tls-key";

/// The directory of the captures, inside `pcaps/`.
const DIR: &str = "tls/decrypt";

/// The requests every connection carries, in order (`scripts/capture-tls-decrypt.sh`).
const REQUESTS: [(&str, &str); 5] = [
    (
        "GET",
        "/owa/auth/logon.aspx?url=https%3a%2f%2fmail.exhound.test%2fowa%2f&reason=0",
    ),
    ("GET", "/ecp/y.js"),
    (
        "GET",
        "/autodiscover/autodiscover.json?@evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com",
    ),
    ("POST", "/owa/service.svc?action=CreateItem&app=Mail"),
    ("POST", "/owa/auth/qwzxa.aspx"),
];

/// Who wrote the requests: the same bytes from s_client, Python and rustls ("raw"), or curl.
/// `plain.pcap` holds one connection of each, raw first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Set {
    Raw,
    Curl,
}

/// How a capture is decrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeySource {
    /// `<name>.keylog`, the client's key log.
    KeyLog,
    /// `pcaps/tls/server.key` (RSA key exchange); `<name>.reference-keylog` only for tshark.
    RsaKey,
}

/// One capture of `pcaps/tls/decrypt/`.
struct Case {
    /// The file name without `.pcap`.
    name: &'static str,
    /// The negotiated version, as tshark shows it (ServerHello `supported_version`, else
    /// `version`).
    version: u16,
    /// The negotiated cipher suite.
    suite: u16,
    /// For CBC suites: whether encrypt-then-MAC was negotiated (ServerHello extension 22).
    etm: Option<bool>,
    /// How many connections, each with all of [`REQUESTS`].
    connections: usize,
    client: &'static str,
    set: Set,
    keys: KeySource,
}

const TLS10: u16 = 0x0301;
const TLS11: u16 = 0x0302;
const TLS12: u16 = 0x0303;
const TLS13: u16 = 0x0304;

#[rustfmt::skip]
const CASES: &[Case] = &[
    Case { name: "tls13-aes128-gcm-sha256", version: TLS13, suite: 0x1301, etm: None, connections: 1, client: "rustls client and server", set: Set::Raw, keys: KeySource::KeyLog },
    Case { name: "tls13-aes256-gcm-sha384", version: TLS13, suite: 0x1302, etm: None, connections: 1, client: "curl", set: Set::Curl, keys: KeySource::KeyLog },
    Case { name: "tls13-chacha20-poly1305-sha256", version: TLS13, suite: 0x1303, etm: None, connections: 1, client: "openssl s_client", set: Set::Raw, keys: KeySource::KeyLog },
    Case { name: "tls13-keyupdate", version: TLS13, suite: 0x1302, etm: None, connections: 1, client: "rustls client and server, KeyUpdate before requests 3 and 5", set: Set::Raw, keys: KeySource::KeyLog },
    Case { name: "tls12-ecdhe-rsa-aes128-gcm-sha256", version: TLS12, suite: 0xc02f, etm: None, connections: 1, client: "curl", set: Set::Curl, keys: KeySource::KeyLog },
    Case { name: "tls12-ecdhe-rsa-aes256-gcm-sha384", version: TLS12, suite: 0xc030, etm: None, connections: 1, client: "Python ssl", set: Set::Raw, keys: KeySource::KeyLog },
    Case { name: "tls12-rustls-aes256-gcm-sha384", version: TLS12, suite: 0xc030, etm: None, connections: 1, client: "rustls client and server", set: Set::Raw, keys: KeySource::KeyLog },
    Case { name: "tls12-ecdhe-rsa-chacha20-poly1305", version: TLS12, suite: 0xcca8, etm: None, connections: 1, client: "rustls client and server", set: Set::Raw, keys: KeySource::KeyLog },
    Case { name: "tls12-ecdhe-rsa-aes128-sha-etm", version: TLS12, suite: 0xc013, etm: Some(true), connections: 1, client: "openssl s_client", set: Set::Raw, keys: KeySource::KeyLog },
    Case { name: "tls12-aes128-sha256-noetm", version: TLS12, suite: 0x003c, etm: Some(false), connections: 1, client: "openssl s_client -no_etm", set: Set::Raw, keys: KeySource::KeyLog },
    Case { name: "tls12-ecdhe-rsa-aes256-sha384-noetm", version: TLS12, suite: 0xc028, etm: Some(false), connections: 1, client: "openssl s_client -no_etm", set: Set::Raw, keys: KeySource::KeyLog },
    Case { name: "tls11-ecdhe-rsa-aes256-sha-noetm", version: TLS11, suite: 0xc014, etm: Some(false), connections: 1, client: "openssl s_client -tls1_1 -no_etm", set: Set::Raw, keys: KeySource::KeyLog },
    Case { name: "tls10-ecdhe-rsa-aes128-sha-etm", version: TLS10, suite: 0xc013, etm: Some(true), connections: 1, client: "openssl s_client -tls1", set: Set::Raw, keys: KeySource::KeyLog },
    Case { name: "tls12-rsa-aes128-gcm-sha256-resumption", version: TLS12, suite: 0x009c, etm: None, connections: 4, client: "openssl s_client: full, session-ID resumption, full, ticket resumption", set: Set::Raw, keys: KeySource::RsaKey },
    Case { name: "tls12-rsa-aes256-sha256-resumption", version: TLS12, suite: 0x003d, etm: Some(true), connections: 4, client: "openssl s_client: full, session-ID resumption, full, ticket resumption", set: Set::Raw, keys: KeySource::RsaKey },
];

/// The connection split over two files: `split-1.pcap` then `split-2.pcap`, cut from
/// [`SPLIT_FROM`] before the segment that carries the third request.
const SPLIT: [&str; 2] = ["split-1.pcap", "split-2.pcap"];
const SPLIT_FROM: &str = "tls13-aes128-gcm-sha256";

/// One HTTP request: method, URI.
type Req = (String, String);
/// A connection: its two TCP ports, the lower first.
type Conn = (u16, u16);

fn conn(a: u16, b: u16) -> Conn {
    (a.min(b), a.max(b))
}

fn file(name: &str) -> PathBuf {
    pcap(&format!("{DIR}/{name}"))
}

fn capture(case: &Case) -> PathBuf {
    file(&format!("{}.pcap", case.name))
}

fn keylog(name: &str) -> PathBuf {
    file(&format!("{name}.keylog"))
}

fn rsa_key() -> PathBuf {
    pcap("tls/server.key")
}

/// The keys to give for a case: exhound's and tshark's.
#[derive(Clone, Debug)]
enum Keys {
    None,
    KeyLog(PathBuf),
    RsaKey(PathBuf),
}

fn keys_of(case: &Case) -> Keys {
    match case.keys {
        KeySource::KeyLog => Keys::KeyLog(keylog(case.name)),
        KeySource::RsaKey => Keys::RsaKey(rsa_key()),
    }
}

fn expected_requests() -> Vec<Req> {
    REQUESTS
        .iter()
        .map(|(m, u)| (m.to_string(), u.to_string()))
        .collect()
}

// --- tshark ---------------------------------------------------------------------------------

/// True when tshark runs; otherwise skips (or, under `CI=true`, fails).
fn tshark_available() -> bool {
    let runs = Command::new("tshark")
        .arg("-v")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    prereq::require("tshark (make deps installs it)", runs)
}

/// tshark's options to decrypt with `keys`.
fn tshark_key_options(keys: &Keys) -> Vec<String> {
    match keys {
        Keys::None => vec![],
        Keys::KeyLog(k) => vec!["-o".into(), format!("tls.keylog_file:{}", k.display())],
        // tshark 4.0: the rsa_keys UAT takes "key file","password" (empty for PEM).
        Keys::RsaKey(k) => vec![
            "-o".into(),
            format!("uat:rsa_keys:\"{}\",\"\"", k.display()),
        ],
    }
}

const AGGREGATOR: &str = "\u{1}";

/// tshark's fields of the frames of `file` matching `filter`, decrypted with `keys`: one row
/// per frame, each field a list (a frame can carry several requests: s_client writes them
/// all at once).
fn tshark_rows(file: &Path, keys: &Keys, filter: &str, fields: &[&str]) -> Vec<Vec<Vec<String>>> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-o", "tcp.reassemble_out_of_order:TRUE", "-2"]);
    cmd.args(tshark_key_options(keys));
    cmd.arg("-r").arg(file);
    cmd.args(["-Y", filter, "-T", "fields"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    cmd.args([
        "-E",
        &format!("aggregator={AGGREGATOR}"),
        "-E",
        "occurrence=a",
    ]);
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            line.split('\t')
                .map(|col| {
                    if col.is_empty() {
                        vec![]
                    } else {
                        col.split(AGGREGATOR).map(str::to_string).collect()
                    }
                })
                .collect()
        })
        .collect()
}

/// The HTTP requests tshark decrypts in `file`, per connection, in order.
fn tshark_requests(file: &Path, keys: &Keys) -> BTreeMap<Conn, Vec<Req>> {
    let mut per_conn: BTreeMap<Conn, Vec<Req>> = BTreeMap::new();
    let rows = tshark_rows(
        file,
        keys,
        "http.request",
        &[
            "tcp.srcport",
            "tcp.dstport",
            "http.request.method",
            "http.request.uri",
        ],
    );
    for row in rows {
        let port = |i: usize| -> u16 { row[i][0].parse().expect("port") };
        let (methods, uris) = (&row[2], &row[3]);
        assert_eq!(methods.len(), uris.len(), "tshark row {row:?}");
        per_conn
            .entry(conn(port(0), port(1)))
            .or_default()
            .extend(methods.iter().cloned().zip(uris.iter().cloned()));
    }
    per_conn
}

/// Per connection (in order of the ServerHellos): (version, suite, extension types) of the
/// ServerHello.
fn tshark_server_hellos(file: &Path, keys: &Keys) -> Vec<(u16, u16, Vec<u16>)> {
    let hex = |s: &str| u16::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex");
    tshark_rows(
        file,
        keys,
        "tls.handshake.type == 2",
        &[
            "tls.handshake.version",
            "tls.handshake.extensions.supported_version",
            "tls.handshake.ciphersuite",
            "tls.handshake.extension.type",
        ],
    )
    .into_iter()
    .map(|row| {
        let version = row[1].first().unwrap_or(&row[0][0]);
        let exts = row[3].iter().map(|e| e.parse().expect("type")).collect();
        (hex(version), hex(&row[2][0]), exts)
    })
    .collect()
}

// --- exhound --------------------------------------------------------------------------------

/// What one run of `exhound replay` wrote.
struct Run {
    status: Option<i32>,
    records: Vec<Value>,
    stderr: String,
    what: String,
}

impl Run {
    fn of(&self, event_type: &str) -> Vec<&Value> {
        self.records
            .iter()
            .filter(|r| r["event_type"] == event_type)
            .collect()
    }

    /// Panics unless exhound exited with 0.
    fn ok(self) -> Run {
        assert_eq!(
            self.status,
            Some(0),
            "{}: exit status; stderr:\n{}",
            self.what,
            self.stderr
        );
        self
    }

    /// The last `stats` record's exhound counter `name` (in `metadata.flowints`).
    fn counter(&self, name: &str) -> u64 {
        let stats = self
            .of("stats")
            .last()
            .copied()
            .unwrap_or_else(|| panic!("{}: no stats record", self.what));
        let counters = &stats["metadata"]["flowints"];
        counters[name].as_u64().unwrap_or_else(|| {
            panic!(
                "{}: no counter {name} in the stats record: {counters}",
                self.what
            )
        })
    }

    /// The requests of the `http` records, per connection, in order.
    fn requests(&self) -> BTreeMap<Conn, Vec<Req>> {
        let mut per_conn: BTreeMap<Conn, Vec<Req>> = BTreeMap::new();
        for r in self.of("http") {
            per_conn
                .entry(flow_conn(r))
                .or_default()
                .push((str_of(&r["http"]["http_method"]), str_of(&r["http"]["url"])));
        }
        per_conn
    }

    /// The sids alerted on each connection, sorted (a multiset).
    fn sids(&self) -> BTreeMap<Conn, Vec<u64>> {
        let mut per_conn: BTreeMap<Conn, Vec<u64>> = BTreeMap::new();
        for a in self.of("alert") {
            per_conn
                .entry(flow_conn(a))
                .or_default()
                .push(a["alert"]["signature_id"].as_u64().expect("sid"));
        }
        for sids in per_conn.values_mut() {
            sids.sort_unstable();
        }
        per_conn
    }
}

fn flow_conn(r: &Value) -> Conn {
    let port = |k: &str| r[k].as_u64().unwrap_or_else(|| panic!("no {k} in {r}")) as u16;
    conn(port("src_port"), port("dest_port"))
}

/// Runs `exhound replay --no-redact --log-http --log-tls --log-stats <keys> <files>` (the
/// bundled signatures; URLs in clear, as tshark shows them).
fn exhound(files: &[PathBuf], keys: &[Keys]) -> Run {
    let mut args: Vec<OsString> = ["replay", "-q", "--no-redact", "--log-http", "--log-tls"]
        .iter()
        .map(OsString::from)
        .collect();
    args.extend(["--log-stats", "--stats-interval", "0"].map(OsString::from));
    for k in keys {
        match k {
            Keys::None => {}
            Keys::KeyLog(p) => args.extend([KEYLOG_FLAG.into(), p.into()]),
            Keys::RsaKey(p) => args.extend([RSA_KEY_FLAG.into(), p.into()]),
        }
    }
    args.extend(files.iter().map(OsString::from));
    let what = format!(
        "exhound {}",
        args.iter()
            .map(|a| {
                let a = a.to_string_lossy();
                a.rsplit('/').next().unwrap_or(&a).to_string()
            })
            .collect::<Vec<_>>()
            .join(" ")
    );
    let out = Command::new(exe())
        .args(&args)
        .output()
        .expect("run exhound");
    let records = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {l}")))
        .collect();
    Run {
        status: out.status.code(),
        records,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        what,
    }
}

/// The HTTP requests exhound decrypts in `files` with `keys`, per connection, in order.
fn exhound_requests(files: &[PathBuf], keys: &Keys) -> BTreeMap<Conn, Vec<Req>> {
    exhound(files, std::slice::from_ref(keys)).ok().requests()
}

/// The sids exhound alerts on each connection of `plain.pcap`, by request set (the raw
/// connection comes first: its client port is seen first).
fn plain_sids() -> BTreeMap<&'static str, Vec<u64>> {
    let run = exhound(&[file("plain.pcap")], &[Keys::None]).ok();
    let first_seen: Vec<Conn> = {
        let mut order = Vec::new();
        for r in run.of("http") {
            let c = flow_conn(r);
            if !order.contains(&c) {
                order.push(c);
            }
        }
        order
    };
    assert_eq!(
        first_seen.len(),
        2,
        "plain.pcap: connections {first_seen:?}"
    );
    let sids = run.sids();
    BTreeMap::from([
        ("raw", sids.get(&first_seen[0]).cloned().unwrap_or_default()),
        (
            "curl",
            sids.get(&first_seen[1]).cloned().unwrap_or_default(),
        ),
    ])
}

fn set_name(set: Set) -> &'static str {
    match set {
        Set::Raw => "raw",
        Set::Curl => "curl",
    }
}

/// Fails with every message of `failures`, one a line.
fn report(what: &str, failures: Vec<String>) {
    assert!(failures.is_empty(), "{what}:\n{}", failures.join("\n"));
}

// --- the captures themselves (tshark) -------------------------------------------------------

#[test]
fn every_capture_is_in_the_table() {
    let mut listed: BTreeSet<String> = CASES
        .iter()
        .flat_map(|c| {
            let second = match c.keys {
                KeySource::KeyLog => format!("{}.keylog", c.name),
                KeySource::RsaKey => format!("{}.reference-keylog", c.name),
            };
            [format!("{}.pcap", c.name), second]
        })
        .collect();
    listed.extend(SPLIT.iter().map(|s| s.to_string()));
    listed.insert("plain.pcap".into());
    let present: BTreeSet<String> = std::fs::read_dir(pcap(DIR))
        .expect("pcaps/tls/decrypt")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(present, listed, "pcaps/tls/decrypt/ and CASES differ");
}

#[test]
fn tshark_decrypts_every_capture_as_recorded() {
    if !tshark_available() {
        return;
    }
    let mut failures = Vec::new();
    for case in CASES {
        let keys = keys_of(case);
        let file = capture(case);
        let hellos = tshark_server_hellos(&file, &keys);
        if hellos.len() != case.connections {
            failures.push(format!(
                "{} ({}): {} ServerHellos, expected {}",
                case.name,
                case.client,
                hellos.len(),
                case.connections
            ));
        }
        for (i, (version, suite, exts)) in hellos.iter().enumerate() {
            if (*version, *suite) != (case.version, case.suite) {
                failures.push(format!(
                    "{} connection {i}: version {version:#06x} suite {suite:#06x}, expected \
                     {:#06x} {:#06x}",
                    case.name, case.version, case.suite
                ));
            }
            if let Some(etm) = case.etm {
                if exts.contains(&22) != etm {
                    failures.push(format!(
                        "{} connection {i}: encrypt_then_mac {} (extensions {exts:?})",
                        case.name, !etm
                    ));
                }
            }
        }
        let requests = tshark_requests(&file, &keys);
        let want = expected_requests();
        if requests.len() != case.connections || requests.values().any(|r| *r != want) {
            failures.push(format!(
                "{} ({}): tshark decrypts {requests:?}, expected {} connections of {want:?}",
                case.name, case.client, case.connections
            ));
        }
        // Without keys tshark sees no request.
        let clear = tshark_requests(&file, &Keys::None);
        if !clear.is_empty() {
            failures.push(format!("{}: requests without keys: {clear:?}", case.name));
        }
    }
    // plain.pcap: the two request sets in clear.
    let plain = tshark_requests(&file("plain.pcap"), &Keys::None);
    if plain.len() != 2 || plain.values().any(|r| *r != expected_requests()) {
        failures.push(format!("plain.pcap: {plain:?}"));
    }
    report("the captures are not what the script recorded", failures);
}

#[test]
fn tshark_rsa_key_and_reference_key_log_agree() {
    if !tshark_available() {
        return;
    }
    for case in CASES.iter().filter(|c| c.keys == KeySource::RsaKey) {
        let file = capture(case);
        let with_key = tshark_requests(&file, &Keys::RsaKey(rsa_key()));
        let reference = file.with_file_name(format!("{}.reference-keylog", case.name));
        let with_log = tshark_requests(&file, &Keys::KeyLog(reference));
        assert_eq!(with_key, with_log, "{}", case.name);
        assert_eq!(with_key.len(), 4, "{}: {with_key:?}", case.name);
        // Connections 2 and 4 are resumptions: no Certificate message.
        let certs = tshark_rows(
            &file,
            &Keys::None,
            "tls.handshake.type == 11",
            &["tcp.stream"],
        );
        let streams: Vec<&str> = certs.iter().map(|r| r[0][0].as_str()).collect();
        assert_eq!(
            streams,
            ["0", "2"],
            "{}: connections with a Certificate",
            case.name
        );
    }
}

#[test]
fn tshark_sees_the_key_updates_before_requests_3_and_5() {
    if !tshark_available() {
        return;
    }
    let file = file("tls13-keyupdate.pcap");
    let keys = Keys::KeyLog(keylog("tls13-keyupdate"));
    let frame = |row: &Vec<Vec<String>>| -> u32 { row[0][0].parse().expect("frame") };
    // Handshake type 24: KeyUpdate, from the client (update_requested) then the server.
    let updates: Vec<u32> =
        tshark_rows(&file, &keys, "tls.handshake.type == 24", &["frame.number"])
            .iter()
            .map(frame)
            .collect();
    let requests: Vec<u32> = tshark_rows(&file, &keys, "http.request", &["frame.number"])
        .iter()
        .map(frame)
        .collect();
    assert_eq!(updates.len(), 4, "KeyUpdate frames {updates:?}");
    assert_eq!(requests.len(), 5, "request frames {requests:?}");
    // The client's KeyUpdate (update_requested) comes before request 3 (5); the server
    // answers with its own before the response, so after the request.
    let order = [
        requests[1],
        updates[0],
        requests[2],
        updates[1],
        requests[3],
        updates[2],
        requests[4],
        updates[3],
    ];
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "KeyUpdates not around requests 3 and 5: updates {updates:?}, requests {requests:?}"
    );
}

#[test]
fn tshark_sees_the_split_halves() {
    if !tshark_available() {
        return;
    }
    let keys = Keys::KeyLog(keylog(SPLIT_FROM));
    let first = tshark_requests(&file(SPLIT[0]), &keys);
    let firsts: Vec<&Req> = first.values().flatten().collect();
    assert_eq!(firsts.len(), 2, "{}: {first:?}", SPLIT[0]);
    // The second half has no handshake: tshark decrypts nothing there on its own.
    let second = tshark_requests(&file(SPLIT[1]), &keys);
    assert!(second.is_empty(), "{}: {second:?}", SPLIT[1]);
    // Together they are the whole capture.
    let count = |f: &Path| tshark_rows(f, &Keys::None, "frame", &["frame.number"]).len();
    assert_eq!(
        count(&file(SPLIT[0])) + count(&file(SPLIT[1])),
        count(&file(&format!("{SPLIT_FROM}.pcap")))
    );
}

#[test]
fn plain_http_alerts_on_every_attack_stage() {
    // The reference for the TLS captures: both request sets alert on the ProxyLogon SSRF
    // (4210001), the ProxyShell explicit logon (4210201) and the web shell (4210602).
    for (set, sids) in plain_sids() {
        for sid in [4210001, 4210201, 4210602] {
            assert!(sids.contains(&sid), "plain.pcap, {set} requests: {sids:?}");
        }
    }
}

// --- exhound --------------------------------------------------------------------------------

#[test]
fn exhound_decrypts_what_tshark_decrypts() {
    if !tshark_available() {
        return;
    }
    let mut failures = Vec::new();
    for case in CASES {
        let keys = keys_of(case);
        let file = capture(case);
        let theirs = tshark_requests(&file, &keys);
        let run = exhound(std::slice::from_ref(&file), std::slice::from_ref(&keys));
        let ours = run.requests();
        if run.status != Some(0) || ours != theirs {
            failures.push(format!(
                "{} ({}, {:#06x} {:#06x}): exhound (exit {:?}) {ours:?}\n    tshark {theirs:?}\n    stderr: {}",
                case.name,
                case.client,
                case.version,
                case.suite,
                run.status,
                run.stderr.trim()
            ));
        }
    }
    report("exhound and tshark decrypt different requests", failures);
}

#[test]
fn every_capture_with_a_key_log_in_pcaps_agrees_with_tshark() {
    // Beyond the table above: any capture anywhere under pcaps/ with its key log beside it
    // (`X.pcap`, `X.keylog`), such as the real clients' TLS captures.
    if !tshark_available() {
        return;
    }
    let files = key_logged_pcaps();
    assert!(
        files.iter().any(|f| !f.starts_with(pcap(DIR))),
        "no key-logged capture outside {DIR}: {files:?}"
    );
    let mut failures = Vec::new();
    for file in &files {
        let keys = Keys::KeyLog(file.with_extension("keylog"));
        let theirs = tshark_requests(file, &keys);
        let ours = exhound_requests(std::slice::from_ref(file), &keys);
        if theirs.is_empty() || ours != theirs {
            failures.push(format!(
                "{}: exhound {ours:?}\n    tshark {theirs:?}",
                file.display()
            ));
        }
    }
    report("exhound and tshark decrypt different requests", failures);
}

#[test]
fn decrypted_alerts_are_the_plain_http_alerts() {
    let plain = plain_sids();
    let mut failures = Vec::new();
    for case in CASES {
        let run = exhound(&[capture(case)], &[keys_of(case)]);
        let want = &plain[set_name(case.set)];
        let sids = run.sids();
        let conns: BTreeSet<Conn> = run.of("tls").iter().map(|r| flow_conn(r)).collect();
        for c in &conns {
            let got = sids.get(c).cloned().unwrap_or_default();
            if got != *want {
                failures.push(format!(
                    "{} ({}) connection {c:?}: sids {got:?}, in plain HTTP {want:?}",
                    case.name, case.client
                ));
            }
        }
        if run.status != Some(0) || conns.len() != case.connections {
            failures.push(format!(
                "{}: exit {:?}, {} tls records (expected {})",
                case.name,
                run.status,
                conns.len(),
                case.connections
            ));
        }
    }
    report("decrypted alerts differ from plain HTTP", failures);
}

#[test]
fn without_keys_no_http_and_a_tls_record_per_connection() {
    let mut failures = Vec::new();
    for case in CASES {
        let run = exhound(&[capture(case)], &[Keys::None]).ok();
        let http = run.of("http").len();
        let http_alerts = run
            .of("alert")
            .iter()
            .filter(|a| a.get("http").is_some())
            .count();
        let tls = run.of("tls").len();
        if http != 0 || http_alerts != 0 || tls != case.connections {
            failures.push(format!(
                "{}: {http} http records, {http_alerts} alerts with http, {tls} tls records \
                 (expected 0, 0, {})",
                case.name, case.connections
            ));
        }
    }
    report("without keys", failures);
}

#[test]
fn every_suite_and_version_has_its_requests_decrypted() {
    // One verdict per case, naming it: the five requests on every connection, and the
    // connections counted as decrypted.
    let mut failures = Vec::new();
    for case in CASES {
        let run = exhound(&[capture(case)], &[keys_of(case)]);
        let requests = run.requests();
        let ok_requests = requests.len() == case.connections
            && requests.values().all(|r| *r == expected_requests());
        let decrypted = if run.status == Some(0) {
            run.counter(counter::DECRYPTED)
        } else {
            0
        };
        if !ok_requests || decrypted != case.connections as u64 {
            failures.push(format!(
                "{} (version {:#06x}, suite {:#06x}, {}): {requests:?}, {} = {decrypted} \
                 (exit {:?}: {})",
                case.name,
                case.version,
                case.suite,
                case.client,
                counter::DECRYPTED,
                run.status,
                run.stderr.trim()
            ));
        }
    }
    report("cases not decrypted", failures);
}

#[test]
fn rsa_key_decrypts_full_handshakes_and_both_resumptions() {
    for case in CASES.iter().filter(|c| c.keys == KeySource::RsaKey) {
        // The key bound to the server's address, as `--tls-key FILE@IP:PORT`.
        let bound = PathBuf::from(format!("{}@127.0.0.1:443", rsa_key().display()));
        for keys in [Keys::RsaKey(rsa_key()), Keys::RsaKey(bound)] {
            let run = exhound(&[capture(case)], std::slice::from_ref(&keys)).ok();
            let requests = run.requests();
            assert_eq!(
                requests.len(),
                4,
                "{} with {keys:?}: {requests:?}",
                case.name
            );
            for (c, r) in &requests {
                assert_eq!(*r, expected_requests(), "{} {c:?}", case.name);
            }
            assert_eq!(run.counter(counter::DECRYPTED), 4, "{}", case.name);
            assert_eq!(run.counter(counter::DECRYPT_FAILED), 0, "{}", case.name);
        }
    }
}

#[test]
fn rsa_key_does_not_open_ecdhe_or_tls13() {
    // The server's RSA key is no key for (EC)DHE or TLS 1.3: nothing decrypted, nothing
    // failed, the connections counted as without a key.
    for name in [
        "tls12-ecdhe-rsa-aes128-gcm-sha256",
        "tls13-aes256-gcm-sha384",
    ] {
        let run = exhound(&[file(&format!("{name}.pcap"))], &[Keys::RsaKey(rsa_key())]).ok();
        assert!(run.of("http").is_empty(), "{name}");
        assert_eq!(run.counter(counter::DECRYPTED), 0, "{name}");
        assert_eq!(run.counter(counter::DECRYPT_FAILED), 0, "{name}");
        assert_eq!(run.counter(counter::NO_KEY), 1, "{name}");
    }
}

#[test]
fn key_update_requests_after_the_update_are_seen() {
    let requests = exhound_requests(
        &[file("tls13-keyupdate.pcap")],
        &Keys::KeyLog(keylog("tls13-keyupdate")),
    );
    let all: Vec<&Req> = requests.values().flatten().collect();
    let want = expected_requests();
    // Requests 3 and 5 go under the client's updated keys, their answers under the server's.
    assert_eq!(all, want.iter().collect::<Vec<_>>(), "{requests:?}");
}

#[test]
fn a_key_log_of_another_capture_decrypts_nothing() {
    // No line of the key log matches the client random: counted as without a key.
    let run = exhound(
        &[file("tls13-chacha20-poly1305-sha256.pcap")],
        &[Keys::KeyLog(keylog("tls13-aes128-gcm-sha256"))],
    )
    .ok();
    assert!(run.of("http").is_empty(), "{:?}", run.requests());
    assert_eq!(run.of("tls").len(), 1);
    assert_eq!(run.counter(counter::DECRYPTED), 0);
    assert_eq!(run.counter(counter::NO_KEY), 1);
}

/// `from`'s key log with its client random replaced by `to`'s: the right random, the wrong
/// secrets.
fn wrong_secrets(from: &str, to: &str, dir: &Path) -> PathBuf {
    let random = |name: &str| -> String {
        std::fs::read_to_string(keylog(name))
            .expect("key log")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("RSA "))
            .map(|l| l.split(' ').nth(1).expect("random").to_string())
            .next()
            .expect("a key line")
    };
    let (old, new) = (random(from), random(to));
    let text = std::fs::read_to_string(keylog(from))
        .expect("key log")
        .replace(&old, &new);
    let path = dir.join(format!("{from}-as-{to}.keylog"));
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn wrong_secrets_are_counted_as_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (from, to) in [
        // TLS 1.3, SHA-256 secrets for a SHA-256 suite (AES-128-GCM → ChaCha20).
        ("tls13-aes128-gcm-sha256", "tls13-chacha20-poly1305-sha256"),
        // TLS 1.2 master secrets.
        (
            "tls12-ecdhe-rsa-aes128-gcm-sha256",
            "tls12-ecdhe-rsa-aes256-gcm-sha384",
        ),
        (
            "tls12-ecdhe-rsa-aes128-sha-etm",
            "tls12-ecdhe-rsa-aes256-sha384-noetm",
        ),
    ] {
        let bad = wrong_secrets(from, to, dir.path());
        let run = exhound(&[file(&format!("{to}.pcap"))], &[Keys::KeyLog(bad)]);
        assert_eq!(run.status, Some(0), "{to}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{to}: {}", run.stderr);
        assert!(run.of("http").is_empty(), "{to}: {:?}", run.requests());
        assert_eq!(run.of("tls").len(), 1, "{to}");
        assert_eq!(run.counter(counter::DECRYPTED), 0, "{to}");
        assert_eq!(run.counter(counter::DECRYPT_FAILED), 1, "{to}");
    }
}

#[test]
fn a_wrong_rsa_key_decrypts_nothing() {
    // The CA's key is an RSA key, not the server's.
    for case in CASES.iter().filter(|c| c.keys == KeySource::RsaKey) {
        let run = exhound(&[capture(case)], &[Keys::RsaKey(pcap("tls/ca.key"))]);
        assert_eq!(run.status, Some(0), "{}: {}", case.name, run.stderr);
        assert!(
            !run.stderr.contains("panicked"),
            "{}: {}",
            case.name,
            run.stderr
        );
        assert!(
            run.of("http").is_empty(),
            "{}: {:?}",
            case.name,
            run.requests()
        );
        assert_eq!(run.counter(counter::DECRYPTED), 0, "{}", case.name);
        // The full handshakes fail (the Finished does not verify); the resumptions of a
        // session never decrypted have no key, or fail too.
        let failed = run.counter(counter::DECRYPT_FAILED);
        let no_key = run.counter(counter::NO_KEY);
        assert!(
            failed >= 2 && failed + no_key == 4,
            "{}: failed {failed}, no key {no_key}",
            case.name
        );
    }
}

#[test]
fn a_connection_split_over_two_files_is_decrypted_across_them() {
    let files: Vec<PathBuf> = SPLIT.iter().map(|s| file(s)).collect();
    let keys = Keys::KeyLog(keylog(SPLIT_FROM));
    let requests = exhound_requests(&files, &keys);
    let whole = exhound_requests(&[file(&format!("{SPLIT_FROM}.pcap"))], &keys);
    assert_eq!(requests, whole);
    let all: Vec<&Req> = requests.values().flatten().collect();
    assert_eq!(all, expected_requests().iter().collect::<Vec<_>>());
}

#[test]
fn a_connection_picked_up_midstream_is_tls_not_http() {
    // The second half alone: TLS 1.3 records with no handshake before them. Nothing can be
    // decrypted (no client random to find keys by), nothing is logged as a handshake, and
    // the records are not taken for HTTP.
    let keys = Keys::KeyLog(keylog(SPLIT_FROM));
    let run = exhound(&[file(SPLIT[1])], &[keys]).ok();
    assert!(run.of("http").is_empty(), "{:?}", run.requests());
    assert!(run.of("tls").is_empty());
    assert_eq!(run.counter("exhound.tls.midstream"), 1);
    assert_eq!(run.counter("exhound.http.not_http"), 0);
    assert_eq!(run.counter(counter::DECRYPTED), 0);
    assert_eq!(run.counter(counter::DECRYPT_FAILED), 0);
}

#[test]
fn a_pcapng_that_carries_its_key_log_is_decrypted_without_one() {
    // `editcap --inject-secrets` puts the key log in a Decryption Secrets Block, as
    // Wireshark reads it: exhound reads it too.
    let available = Command::new("editcap")
        .arg("--help")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("--inject-secrets"))
        .unwrap_or(false);
    if !prereq::require(
        "editcap with --inject-secrets (make deps installs it)",
        available,
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for name in [
        "tls13-chacha20-poly1305-sha256",
        "tls12-ecdhe-rsa-aes128-sha-etm",
    ] {
        let with_keys = dir.path().join(format!("{name}.pcapng"));
        let out = Command::new("editcap")
            .arg("--inject-secrets")
            .arg(format!("tls,{}", keylog(name).display()))
            .arg(file(&format!("{name}.pcap")))
            .arg(&with_keys)
            .output()
            .expect("run editcap");
        assert!(
            out.status.success(),
            "editcap: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let run = exhound(&[with_keys], &[Keys::None]).ok();
        let requests: Vec<Req> = run.requests().into_values().flatten().collect();
        assert_eq!(requests.len(), 5, "{name}: {requests:?}");
        assert_eq!(run.counter(counter::DECRYPTED), 1, "{name}");
    }
}

#[test]
fn one_key_log_for_every_capture() {
    // The key logs of every capture in one file (as a key-log file grows over a day), with
    // the RSA key beside it. (One replay per capture: the captures reuse 127.0.0.1 ports.)
    let dir = tempfile::tempdir().expect("tempdir");
    let all = dir.path().join("all.keylog");
    let text: String = CASES
        .iter()
        .filter(|c| c.keys == KeySource::KeyLog)
        .map(|c| std::fs::read_to_string(keylog(c.name)).expect("key log"))
        .collect();
    std::fs::write(&all, text).expect("write");
    let mut failures = Vec::new();
    for case in CASES {
        let run = exhound(
            &[capture(case)],
            &[Keys::KeyLog(all.clone()), Keys::RsaKey(rsa_key())],
        );
        let requests = run.requests();
        let ok = run.status == Some(0)
            && requests.len() == case.connections
            && requests.values().all(|r| *r == expected_requests())
            && run.counter(counter::DECRYPTED) == case.connections as u64
            && run.counter(counter::NO_KEY) == 0
            && run.counter(counter::DECRYPT_FAILED) == 0;
        if !ok {
            failures.push(format!(
                "{}: {requests:?} ({})",
                case.name,
                run.stderr.trim()
            ));
        }
    }
    report("with every key log in one file", failures);
}

#[test]
fn stats_count_connections_without_keys() {
    for case in CASES {
        let run = exhound(&[capture(case)], &[Keys::None]).ok();
        assert_eq!(run.of("tls").len(), case.connections, "{}", case.name);
        assert_eq!(run.counter(counter::DECRYPTED), 0, "{}", case.name);
        assert_eq!(run.counter(counter::DECRYPT_FAILED), 0, "{}", case.name);
        assert_eq!(
            run.counter(counter::NO_KEY),
            case.connections as u64,
            "{}",
            case.name
        );
    }
}

/// TLS 1.2 connections the server renegotiates between two exchanges, as IIS does to ask
/// for a client certificate (`scripts/capture-tls-renegotiation.sh`): the name, and whether
/// it is decrypted with the server's RSA key (else with its key log).
const RENEGOTIATED: [(&str, bool); 3] = [("resumed", false), ("full", false), ("rsa", true)];

#[test]
fn renegotiated_connections_are_followed_into_their_new_keys() {
    if !tshark_available() {
        return;
    }
    for (name, rsa) in RENEGOTIATED {
        let file = pcap(&format!("tls/renegotiation/{name}.pcap"));
        let keys = if rsa {
            Keys::RsaKey(rsa_key())
        } else {
            Keys::KeyLog(file.with_extension("keylog"))
        };
        let theirs = tshark_requests(&file, &keys);
        let run = exhound(std::slice::from_ref(&file), std::slice::from_ref(&keys)).ok();
        let ours = run.requests();
        assert_eq!(ours, theirs, "{name}: exhound and tshark");
        let urls: Vec<&str> = ours.values().flatten().map(|(_, u)| u.as_str()).collect();
        assert_eq!(urls, ["/owa/auth/logon.aspx", "/ecp/y.js"], "{name}");
        // The request after the renegotiation is the ProxyLogon probe.
        let sids: Vec<u64> = run.sids().into_values().flatten().collect();
        assert!(sids.contains(&4210001), "{name}: {sids:?}");
        assert_eq!(run.counter(counter::DECRYPTED), 1, "{name}");
        assert_eq!(run.counter(counter::DECRYPT_FAILED), 0, "{name}");
    }
}

#[test]
fn decrypted_output_is_the_same_for_any_thread_count() {
    // With an RSA key, the master secrets of resumed sessions come from earlier connections:
    // flows are then sharded by address pair so that the same shard sees them in capture
    // order, whatever the number of workers.
    let mut runs: Vec<(String, Vec<u8>)> = Vec::new();
    let resumption = pcap(&format!(
        "{DIR}/tls12-rsa-aes128-gcm-sha256-resumption.pcap"
    ));
    let keyupdate = pcap(&format!("{DIR}/tls13-keyupdate.pcap"));
    let key = rsa_key();
    let keylog = keylog("tls13-keyupdate");
    for threads in ["1", "2", "5"] {
        let out = Command::new(exe())
            .args([
                "replay",
                "-q",
                "--log-http",
                "--log-tls",
                "--threads",
                threads,
            ])
            .arg("--tls-key")
            .arg(&key)
            .arg("--tls-keylog")
            .arg(&keylog)
            .arg(&resumption)
            .arg(&keyupdate)
            .output()
            .expect("run exhound");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        runs.push((threads.to_string(), out.stdout));
    }
    let (first, rest) = runs.split_first().expect("runs");
    let http = String::from_utf8_lossy(&first.1)
        .matches("\"event_type\":\"http\"")
        .count();
    assert_eq!(
        http, 25,
        "four resumption connections and one KeyUpdate connection"
    );
    for (threads, out) in rest {
        assert!(
            out == &first.1,
            "--threads {threads} differs from --threads 1"
        );
    }
}
