//! End-to-end: `exhound replay --log-http` on every capture of `pcaps/` (see
//! `pcaps/README.md`) must report exactly the HTTP transactions each one holds, with the
//! right key fields; plus the command-line contract: overlap policies, truncated files and
//! exit status, directories, standard input, BPF filters, several files as one capture.

mod support;

use std::ffi::OsStr;

use serde_json::Value;

use support::conv::Conv;
use support::frame::Link;
use support::pcap::{self, Format, LinkType};
use support::run::{pcap, replay, replay_with_stdin, str_of, Replay};
use support::scenarios;

/// One expected transaction: method, URL, status (None: no response), response body length.
struct Tx {
    method: &'static str,
    url: &'static str,
    status: Option<u64>,
    length: u64,
}

const fn tx(method: &'static str, url: &'static str, status: u64, length: u64) -> Tx {
    Tx {
        method,
        url,
        status: Some(status),
        length,
    }
}

/// The EVE timestamp of frame `pcap_cnt` of a synthetic capture (frame i at 10:00:00 + i ms,
/// sub-µs digits truncated).
fn synthetic_timestamp(pcap_cnt: u64) -> String {
    let ms = pcap_cnt - 1;
    assert!(ms < 60_000);
    format!("2021-03-03T10:00:{:02}.{:03}000+0000", ms / 1000, ms % 1000)
}

/// `http` records sorted by the packet that completed them (output order may differ when
/// transactions are flushed at the end), ties by tx_id.
fn sorted(run: &Replay) -> Vec<Value> {
    let mut v: Vec<Value> = run.http().into_iter().cloned().collect();
    v.sort_by_key(|r| {
        (
            r["pcap_cnt"].as_u64().unwrap_or(0),
            r["tx_id"].as_u64().unwrap_or(0),
        )
    });
    v
}

/// Checks one record of a synthetic capture against `want`.
fn check_tx(file: &str, r: &Value, want: &Tx, client: (&str, u16), server: (&str, u16)) {
    let ctx = format!("{file}: record {r}");
    assert_eq!(r["event_type"], "http", "{ctx}");
    assert_eq!(str_of(&r["http"]["http_method"]), want.method, "{ctx}");
    assert_eq!(str_of(&r["http"]["url"]), want.url, "{ctx}");
    assert_eq!(r["http"]["status"].as_u64(), want.status, "{ctx}");
    assert_eq!(r["http"]["length"].as_u64(), Some(want.length), "{ctx}");
    assert_eq!(r["http"]["protocol"], "HTTP/1.1", "{ctx}");
    assert_eq!(r["http"]["hostname"], scenarios::HOST, "{ctx}");
    assert_eq!(r["http"]["http_user_agent"], scenarios::UA, "{ctx}");
    assert_eq!(r["proto"], "TCP", "{ctx}");
    assert_eq!(r["src_ip"], client.0, "{ctx}");
    assert_eq!(r["src_port"], client.1, "{ctx}");
    assert_eq!(r["dest_ip"], server.0, "{ctx}");
    assert_eq!(r["dest_port"], server.1, "{ctx}");
    assert!(r["flow_id"].as_u64().is_some(), "{ctx}");
    let cnt = r["pcap_cnt"]
        .as_u64()
        .unwrap_or_else(|| panic!("{ctx}: no pcap_cnt"));
    assert_eq!(
        str_of(&r["timestamp"]),
        synthetic_timestamp(cnt),
        "{ctx}: timestamp of packet {cnt}"
    );
    assert!(
        str_of(&r["pcap_filename"]).ends_with(file),
        "{ctx}: pcap_filename"
    );
}

/// Replays a synthetic capture holding one connection and checks its transactions (in
/// tx_id order, from 0). Returns the records.
fn check_flow(
    file: &str,
    extra_args: &[&str],
    client: (&str, u16),
    server: (&str, u16),
    want: &[Tx],
) -> Vec<Value> {
    let mut args: Vec<String> = extra_args.iter().map(|s| s.to_string()).collect();
    args.push(pcap(file).display().to_string());
    let run = replay(&args);
    run.assert_status(0);
    let recs = sorted(&run);
    let got: Vec<(String, String)> = recs.iter().map(support::run::method_url).collect();
    let exp: Vec<(String, String)> = want
        .iter()
        .map(|t| (t.method.to_string(), t.url.to_string()))
        .collect();
    assert_eq!(got, exp, "{file}: requests; stderr:\n{}", run.stderr);
    for (i, (r, w)) in recs.iter().zip(want).enumerate() {
        check_tx(file, r, w, client, server);
        assert_eq!(r["tx_id"].as_u64(), Some(i as u64), "{file}: tx_id of {r}");
        assert_eq!(
            r["flow_id"], recs[0]["flow_id"],
            "{file}: one connection, one flow_id"
        );
    }
    recs
}

const C: &str = scenarios::CLIENT;
const S: &str = scenarios::SERVER;

fn web(port: u16) -> (&'static str, u16) {
    (S, port)
}

fn client(port: u16) -> (&'static str, u16) {
    (C, port)
}

#[test]
fn committed_pcaps_match_the_generator() {
    // `cargo run --example gen_pcaps` rewrites them; a scenario changed without
    // regenerating would make every other test here check stale files.
    for s in scenarios::all() {
        let on_disk = std::fs::read(pcap(s.file))
            .unwrap_or_else(|e| panic!("{}: {e} (run `make pcaps`)", s.file));
        assert!(
            on_disk == s.bytes(),
            "pcaps/{} is stale: run `cargo run --example gen_pcaps`",
            s.file
        );
    }
}

#[test]
fn simple_get() {
    let r = check_flow(
        "http-get.pcap",
        &[],
        client(51000),
        web(80),
        &[tx("GET", "/owa/auth/logon.aspx?replaceCurrent=1", 200, 12)],
    );
    assert_eq!(r[0]["http"]["http_content_type"], "text/html");
}

#[test]
fn keep_alive() {
    check_flow(
        "http-keepalive.pcap",
        &[],
        client(51001),
        web(80),
        &[
            tx("GET", "/owa/", 302, 0),
            tx("GET", "/owa/auth/logon.aspx", 200, 20),
            tx("POST", "/owa/auth.owa", 302, 0),
        ],
    );
}

#[test]
fn pipelining() {
    check_flow(
        "http-pipelining.pcap",
        &[],
        client(51002),
        web(80),
        &[
            tx("GET", "/ews/1", 200, 3),
            tx("GET", "/ews/2", 200, 4),
            tx("GET", "/ews/3", 200, 5),
        ],
    );
}

#[test]
fn chunked_request_body() {
    let r = check_flow(
        "http-post-chunked.pcap",
        &[],
        client(51003),
        web(80),
        &[tx(
            "POST",
            "/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory",
            200,
            10,
        )],
    );
    assert_eq!(r[0]["http"]["http_content_type"], "application/json");
}

#[test]
fn gzip_request_body() {
    let r = check_flow(
        "http-post-gzip.pcap",
        &[],
        client(51004),
        web(80),
        &[tx("POST", "/ews/exchange.asmx", 200, 5)],
    );
    assert_eq!(r[0]["http"]["http_content_type"], "text/xml");
}

#[test]
fn one_byte_segments() {
    check_flow(
        "http-1byte-segments.pcap",
        &[],
        client(51005),
        web(80),
        &[tx("GET", "/owa/auth/x.js", 200, 4)],
    );
}

#[test]
fn out_of_order_segments() {
    check_flow(
        "tcp-out-of-order.pcap",
        &[],
        client(51006),
        web(80),
        &[tx("GET", "/owa/auth/out-of-order.js", 200, 59)],
    );
}

#[test]
fn retransmissions() {
    check_flow(
        "tcp-retransmission.pcap",
        &[],
        client(51007),
        web(80),
        &[tx("GET", "/owa/retransmitted.js", 200, 10)],
    );
}

#[test]
fn overlap_new_segment_starting_before_the_old_one() {
    // See scenarios::overlap_before: the new bytes win unless the policy is `first`.
    let f = "tcp-overlap-before.pcap";
    let new = [tx("GET", "/owa/auth/new.js", 200, 7)];
    let old = [tx("GET", "/owa/auth/old.js", 200, 7)];
    check_flow(f, &[], client(51008), web(80), &new);
    for policy in ["windows", "bsd", "linux", "last"] {
        check_flow(
            f,
            &["--stream-policy", policy],
            client(51008),
            web(80),
            &new,
        );
    }
    check_flow(
        f,
        &["--stream-policy", "first"],
        client(51008),
        web(80),
        &old,
    );
}

#[test]
fn overlap_new_segment_starting_after_the_old_one() {
    // See scenarios::overlap_after: the old bytes win unless the policy is `last`.
    let f = "tcp-overlap-after.pcap";
    let new = [tx("GET", "/owa/auth/new.js", 200, 7)];
    let old = [tx("GET", "/owa/auth/old.js", 200, 7)];
    check_flow(f, &[], client(51009), web(80), &old);
    for policy in ["windows", "bsd", "linux", "first"] {
        check_flow(
            f,
            &["--stream-policy", policy],
            client(51009),
            web(80),
            &old,
        );
    }
    check_flow(
        f,
        &["--stream-policy", "last"],
        client(51009),
        web(80),
        &new,
    );
}

#[test]
fn ipv4_fragments_out_of_order() {
    check_flow(
        "ipv4-fragments.pcap",
        &[],
        client(51010),
        web(80),
        &[tx("POST", "/ews/fragmented", 200, 11)],
    );
}

#[test]
fn ipv4_total_length_zero_from_segmentation_offload() {
    check_flow(
        "ipv4-tso-total-length-zero.pcap",
        &[],
        client(51032),
        web(80),
        &[tx("GET", "/owa/tso", 200, 4000)],
    );
}

#[test]
fn vlan_8021q() {
    let r = check_flow(
        "vlan-8021q.pcap",
        &[],
        client(51011),
        web(80),
        &[tx("GET", "/owa/vlan", 200, 4)],
    );
    assert_eq!(r[0]["vlan"], serde_json::json!([100]));
}

#[test]
fn vlan_qinq() {
    let r = check_flow(
        "vlan-qinq.pcap",
        &[],
        client(51012),
        web(80),
        &[tx("GET", "/owa/qinq", 200, 4)],
    );
    assert_eq!(
        r[0]["vlan"],
        serde_json::json!([200, 100]),
        "outermost first"
    );
}

#[test]
fn linux_sll() {
    check_flow(
        "linux-sll.pcap",
        &[],
        client(51013),
        web(80),
        &[tx("GET", "/owa/sll", 200, 3)],
    );
}

#[test]
fn linux_sll2() {
    check_flow(
        "linux-sll2.pcap",
        &[],
        client(51014),
        web(80),
        &[tx("GET", "/owa/sll2", 200, 4)],
    );
}

#[test]
fn ipv6_with_extension_header() {
    check_flow(
        "ipv6-ext-header.pcap",
        &[],
        ("2001:db8::10", 51015),
        ("2001:db8::5", 80),
        &[tx("GET", "/owa/ipv6", 200, 4)],
    );
}

#[test]
fn pcapng_nanoseconds() {
    // The frames carry +999 ns; check_tx's timestamp check proves they are truncated to µs.
    check_flow(
        "pcapng-ns.pcapng",
        &[],
        client(51016),
        web(80),
        &[tx("GET", "/owa/pcapng", 200, 6)],
    );
}

#[test]
fn pcap_nanoseconds_big_endian() {
    check_flow(
        "pcap-ns-bigendian.pcap",
        &[],
        client(51017),
        web(80),
        &[tx("GET", "/owa/nanos", 200, 5)],
    );
}

#[test]
fn raw_ip() {
    check_flow(
        "raw-ip.pcap",
        &[],
        client(51018),
        web(80),
        &[tx("GET", "/owa/raw", 200, 3)],
    );
}

#[test]
fn bsd_loopback() {
    check_flow(
        "bsd-null-loopback.pcap",
        &[],
        ("127.0.0.1", 51019),
        ("127.0.0.1", 80),
        &[tx("GET", "/owa/loopback", 200, 8)],
    );
}

fn flowvar(r: &Value, key: &str) -> Option<String> {
    r["metadata"]["flowvars"]
        .as_array()?
        .iter()
        .find(|v| v["key"] == key)
        .map(|v| str_of(&v["value"]))
}

/// Whether the `tx_flags` flowvar of `r` holds `flag` (however the list is separated).
fn has_flag(r: &Value, flag: &str) -> bool {
    flowvar(r, "tx_flags")
        .unwrap_or_default()
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|f| f == flag)
}

#[test]
fn midstream_pickup_and_no_midstream() {
    let r = check_flow(
        "midstream.pcap",
        &[],
        client(51020),
        web(80),
        &[tx("GET", "/owa/midstream", 200, 9)],
    );
    assert!(has_flag(&r[0], "midstream"), "tx_flags in {}", r[0]);

    let run = replay(&[
        "--no-midstream".to_string(),
        pcap("midstream.pcap").display().to_string(),
    ]);
    run.assert_status(0);
    assert!(
        run.http().is_empty(),
        "--no-midstream must ignore the connection: {:?}",
        run.records
    );
}

#[test]
fn nonstandard_ports() {
    let run = replay(&[pcap("nonstandard-ports.pcap")]);
    run.assert_status(0);
    let recs = sorted(&run);
    assert_eq!(recs.len(), 2, "{:?}", run.records);
    check_tx(
        "nonstandard-ports.pcap",
        &recs[0],
        &tx("GET", "/ecp/default.flt", 200, 8),
        client(51021),
        web(444),
    );
    check_tx(
        "nonstandard-ports.pcap",
        &recs[1],
        &tx("GET", "/owa/auth/8443.js", 404, 4),
        client(51022),
        web(8443),
    );
    assert_eq!(recs[0]["tx_id"], 0);
    assert_eq!(recs[1]["tx_id"], 0);
    assert_ne!(recs[0]["flow_id"], recs[1]["flow_id"]);
}

#[test]
fn bpf_keeps_one_flow() {
    let run = replay(&[
        "--bpf".to_string(),
        "port 444".to_string(),
        pcap("nonstandard-ports.pcap").display().to_string(),
    ]);
    run.assert_status(0);
    let recs = sorted(&run);
    assert_eq!(
        run.requests(),
        vec![("GET".to_string(), "/ecp/default.flt".to_string())]
    );
    check_tx(
        "nonstandard-ports.pcap",
        &recs[0],
        &tx("GET", "/ecp/default.flt", 200, 8),
        client(51021),
        web(444),
    );

    let run = replay(&[
        "--bpf".to_string(),
        "tcp port 8443".to_string(),
        pcap("nonstandard-ports.pcap").display().to_string(),
    ]);
    run.assert_status(0);
    assert_eq!(
        run.requests(),
        vec![("GET".to_string(), "/owa/auth/8443.js".to_string())]
    );
}

#[test]
fn bad_bpf_is_a_usage_error() {
    let run = replay(&[
        "--bpf".to_string(),
        "port port port".to_string(),
        pcap("http-get.pcap").display().to_string(),
    ]);
    run.assert_status(2);
    assert!(!run.stderr.is_empty());
}

#[test]
fn expect_100_continue() {
    // One transaction; its status is the final one, not the interim 100.
    check_flow(
        "expect-100-continue.pcap",
        &[],
        client(51023),
        web(80),
        &[tx("POST", "/ews/upload", 200, 2)],
    );
}

#[test]
fn head_204_304_have_no_body() {
    let r = check_flow(
        "head-204-304.pcap",
        &[],
        client(51024),
        web(80),
        &[
            tx("HEAD", "/owa/", 200, 0),
            tx("GET", "/owa/empty", 204, 0),
            tx("GET", "/owa/cached.js", 304, 0),
            tx("GET", "/owa/after", 200, 5),
        ],
    );
    assert!(
        r[1]["http"].get("http_content_type").is_none(),
        "204 has no Content-Type: {}",
        r[1]
    );
}

#[test]
fn chunked_gzip_response() {
    // length = body on the wire after dechunking (68 bytes of gzip), as Suricata logs it.
    let r = check_flow(
        "response-chunked-gzip.pcap",
        &[],
        client(51025),
        web(80),
        &[tx("GET", "/owa/compressed.js", 200, 68)],
    );
    assert_eq!(r[0]["http"]["http_content_type"], "application/javascript");
}

#[test]
fn gap_then_resync() {
    // The segment carrying GET /owa/lost is missing (its 404 was captured). exhound finds
    // GET /owa/third after the gap and pairs it with ITS response (200, 5 bytes), not with
    // the 404 that comes first on the wire. The lost request may be reported as a record
    // with an empty method and URL holding the 404, or not at all.
    let f = "tcp-gap-resync.pcap";
    let run = replay(&[pcap(f)]);
    run.assert_status(0);
    let recs = sorted(&run);
    let (seen, lost): (Vec<&Value>, Vec<&Value>) = recs
        .iter()
        .partition(|r| r["http"]["url"] != "" || r["http"]["http_method"] != "");
    let urls: Vec<(String, String)> = seen.iter().map(|r| support::run::method_url(r)).collect();
    assert_eq!(
        urls,
        vec![
            ("GET".to_string(), "/owa/first".to_string()),
            ("GET".to_string(), "/owa/third".to_string())
        ],
        "{:?}",
        run.records
    );
    check_tx(
        f,
        seen[0],
        &tx("GET", "/owa/first", 200, 5),
        client(51028),
        web(80),
    );
    check_tx(
        f,
        seen[1],
        &tx("GET", "/owa/third", 200, 5),
        client(51028),
        web(80),
    );
    assert_eq!(seen[0]["tx_id"], 0);
    assert!(seen[1]["tx_id"].as_u64() > Some(0));
    assert_eq!(seen[0]["flow_id"], seen[1]["flow_id"]);
    assert!(lost.len() <= 1, "{:?}", run.records);
    for r in lost {
        assert_eq!(r["http"]["status"], 404, "the lost request's response: {r}");
        assert_eq!(r["http"]["length"], 4, "{r}");
        assert_eq!(r["tx_id"], 1, "{r}");
    }
}

#[test]
fn gap_inside_a_request_body() {
    // The lost segment is inside a Content-Length body: the parser knows where the next
    // request starts, so both transactions are complete; the first is flagged.
    let r = check_flow(
        "tcp-gap-in-body.pcap",
        &[],
        client(51029),
        web(80),
        &[
            tx("POST", "/ews/upload-gap", 200, 6),
            tx("GET", "/owa/after-gap", 200, 9),
        ],
    );
    assert!(has_flag(&r[0], "request_gap"), "tx_flags in {}", r[0]);
    assert!(!has_flag(&r[1], "request_gap"), "{}", r[1]);
}

#[test]
fn sequence_wrap() {
    check_flow(
        "tcp-seq-wrap.pcap",
        &[],
        client(51030),
        web(80),
        &[tx("GET", "/owa/wrap", 200, 250)],
    );
}

#[test]
fn iis_normalisation_requests() {
    // `url` is the request-target as sent.
    check_flow(
        "iis-normalisation.pcap",
        &[],
        client(51031),
        web(80),
        &[
            tx("GET", "/ecp/%79.js", 500, 0),
            tx("GET", "/ECP\\y.js", 500, 0),
            tx("GET", "//owa///auth/../auth/x.js", 200, 1),
            tx("GET", "/owa/auth/%u0078.js", 200, 1),
        ],
    );
}

#[test]
fn iis_normalised_url_flowvar() {
    // metadata.flowvars iis_url: the URL as IIS routes it (README "Output").
    let run = replay(&[pcap("iis-normalisation.pcap")]);
    let got: Vec<Option<String>> = sorted(&run).iter().map(|r| flowvar(r, "iis_url")).collect();
    let want: Vec<Option<String>> = ["/ecp/y.js", "/ECP/y.js", "/owa/auth/x.js", "/owa/auth/x.js"]
        .iter()
        .map(|s| Some(s.to_string()))
        .collect();
    assert_eq!(got, want, "{:?}", run.records);
}

#[test]
fn truncated_file() {
    let run = replay(&[pcap("truncated.pcap")]);
    run.assert_status(1);
    // The 14th record is cut in half; the error names the file and that packet.
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("truncated.pcap"))
        .unwrap_or_else(|| panic!("stderr does not name the file:\n{}", run.stderr));
    assert!(
        line.contains("14"),
        "stderr does not give the packet number 14: {line}"
    );
    // What came before the cut is still reported.
    let recs = sorted(&run);
    assert_eq!(
        run.requests(),
        vec![("GET".to_string(), "/owa/before-cut".to_string())]
    );
    check_tx(
        "truncated.pcap",
        &recs[0],
        &tx("GET", "/owa/before-cut", 200, 8),
        client(51026),
        web(80),
    );
}

#[test]
fn packet_numbers_count_filtered_out_records() {
    // With a filter that rejects every record, the error still names record 14 of the file,
    // and pcap_cnt stays the record number in the file (Wireshark's frame number).
    let run = replay(&[
        "--bpf".as_ref(),
        "udp".as_ref(),
        pcap("truncated.pcap").as_os_str(),
    ]);
    run.assert_status(1);
    assert!(
        run.stderr.contains("truncated.pcap: packet 14:"),
        "{}",
        run.stderr
    );
    let all = replay(&[pcap("tcp-retransmission.pcap")]);
    let filtered = replay(&[
        "--bpf".as_ref(),
        "tcp".as_ref(),
        pcap("tcp-retransmission.pcap").as_os_str(),
    ]);
    let cnt = |r: &Replay| -> Vec<u64> {
        r.records
            .iter()
            .map(|v| v["pcap_cnt"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(cnt(&all), cnt(&filtered));
}

#[test]
fn files_after_a_bad_one_are_still_read() {
    let missing = pcap("no-such-file.pcap");
    let run = replay(&[
        pcap("truncated.pcap"),
        missing.clone(),
        pcap("http-get.pcap"),
    ]);
    run.assert_status(1);
    assert!(run.stderr.contains("no-such-file.pcap"), "{}", run.stderr);
    let mut got = run.requests();
    got.sort();
    assert_eq!(
        got,
        vec![
            (
                "GET".to_string(),
                "/owa/auth/logon.aspx?replaceCurrent=1".to_string()
            ),
            ("GET".to_string(), "/owa/before-cut".to_string()),
        ]
    );
}

#[test]
fn usage_errors_exit_2() {
    let run = replay::<&str>(&[]);
    run.assert_status(2);
    let run = replay(&["--no-such-flag", "x.pcap"]);
    run.assert_status(2);
    let run = replay(&["--stream-policy", "solaris", "x.pcap"]);
    run.assert_status(2);
}

#[test]
fn output_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("eve.json");
    let run = replay(&[
        OsStr::new("-o"),
        out.as_os_str(),
        pcap("http-get.pcap").as_os_str(),
    ]);
    run.assert_status(0);
    assert!(run.records.is_empty(), "with -o nothing goes to stdout");
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(
        lines[0]["http"]["url"],
        "/owa/auth/logon.aspx?replaceCurrent=1"
    );
}

#[test]
fn summary_on_stderr() {
    let run = replay(&[pcap("http-get.pcap")]);
    run.assert_status(0);
    assert!(!run.stderr.trim().is_empty(), "a summary goes to stderr");
    let quiet = replay(&[OsStr::new("-q"), pcap("http-get.pcap").as_os_str()]);
    quiet.assert_status(0);
    assert_eq!(quiet.requests(), run.requests());
}

#[test]
fn standard_input() {
    let bytes = std::fs::read(pcap("http-keepalive.pcap")).unwrap();
    let run = replay_with_stdin(&["-"], Some(&bytes));
    run.assert_status(0);
    let want = replay(&[pcap("http-keepalive.pcap")]);
    assert_eq!(run.requests(), want.requests());
    assert_eq!(run.requests().len(), 3);
    // pcapng through a pipe too.
    let bytes = std::fs::read(pcap("pcapng-ns.pcapng")).unwrap();
    let run = replay_with_stdin(&["-"], Some(&bytes));
    run.assert_status(0);
    assert_eq!(
        run.requests(),
        vec![("GET".to_string(), "/owa/pcapng".to_string())]
    );
}

/// A named pipe (`<(zcat x.pcap.gz)`, a FIFO) can be read only once: the replay must not read
/// any of it before the capture reader does. (It did: the records' redaction key was taken
/// from the first 64 KiB of each input, which left the capture reader waiting on the emptied
/// pipe for ever.)
#[test]
fn named_pipe() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("capture");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let mut child = Command::new(support::run::exe())
        .args(["replay", "--log-http"])
        .arg(&fifo)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Blocks until the replay opens the pipe, and writes the capture once.
    std::fs::write(&fifo, std::fs::read(pcap("http-keepalive.pcap")).unwrap()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("the replay still waits for the pipe after 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let run = Replay {
        status: status.code(),
        records: stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        stderr,
    };
    run.assert_status(0);
    assert_eq!(
        run.requests(),
        replay(&[pcap("http-keepalive.pcap")]).requests()
    );
    assert_eq!(run.requests().len(), 3);
}

/// A complete conversation for `url` from client port `cport`, as frames.
fn conversation(cport: u16, url: &str) -> Vec<Vec<u8>> {
    scenarios::simple(
        scenarios::conv(cport, 80),
        &scenarios::get(url),
        &scenarios::ok(b"body"),
    )
    .frames(Link::Ethernet)
}

#[test]
fn directory_is_read_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    let base = scenarios::BASE_NS;
    // Written in the order c, a, b; times increase in name order. A sub-directory's files
    // sort by path too, and a file that is not a capture is skipped.
    let files = [
        ("c.pcap", 2u64, "/3-c"),
        ("a.pcap", 0, "/1-a"),
        ("b.pcapng", 1, "/2-b"),
    ];
    for (name, k, url) in files {
        let frames = pcap::timed(
            conversation(52000 + k as u16, url),
            base + k * 1_000_000_000,
            1_000_000,
        );
        let format = if name.ends_with("ng") {
            Format::PcapNg { nanos: false }
        } else {
            Format::PCAP
        };
        std::fs::write(
            dir.path().join(name),
            pcap::write(format, LinkType::Ethernet, &frames),
        )
        .unwrap();
    }
    std::fs::create_dir(dir.path().join("d")).unwrap();
    let frames = pcap::timed(conversation(52003, "/4-d"), base + 3_000_000_000, 1_000_000);
    std::fs::write(
        dir.path().join("d/x.pcap"),
        pcap::write(Format::PCAP, LinkType::Ethernet, &frames),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a capture").unwrap();

    let run = replay(&[dir.path()]);
    run.assert_status(0);
    let recs = sorted(&run);
    let urls: Vec<String> = recs.iter().map(|r| str_of(&r["http"]["url"])).collect();
    assert_eq!(
        urls,
        ["/1-a", "/2-b", "/3-c", "/4-d"],
        "stderr:\n{}",
        run.stderr
    );
    let names: Vec<String> = recs.iter().map(|r| str_of(&r["pcap_filename"])).collect();
    for (name, want) in names.iter().zip(["a.pcap", "b.pcapng", "c.pcap", "x.pcap"]) {
        assert!(
            name.ends_with(want),
            "pcap_filename {name} should be {want}"
        );
    }
}

#[test]
fn several_files_are_one_capture() {
    // One conversation split across two files (the second in another format): the request
    // starts in the first file and ends in the second; the response is in the second.
    let mut c = scenarios::conv(52100, 80).mss(30);
    c.handshake();
    c.client(&scenarios::get("/owa/split/across/files"));
    c.server(&scenarios::ok(b"joined"));
    c.close();
    let frames = pcap::timed(c.frames(Link::Ethernet), scenarios::BASE_NS, 1_000_000);
    let (first, second) = frames.split_at(5); // handshake + 2 request segments
    let dir = tempfile::tempdir().unwrap();
    let f1 = dir.path().join("part-1.pcap");
    let f2 = dir.path().join("part-2.pcapng");
    std::fs::write(&f1, pcap::write(Format::PCAP, LinkType::Ethernet, first)).unwrap();
    std::fs::write(
        &f2,
        pcap::write(Format::PcapNg { nanos: true }, LinkType::Ethernet, second),
    )
    .unwrap();

    for args in [vec![f1.clone(), f2.clone()], vec![dir.path().to_path_buf()]] {
        let run = replay(&args);
        run.assert_status(0);
        let recs = sorted(&run);
        assert_eq!(
            run.requests(),
            vec![("GET".to_string(), "/owa/split/across/files".to_string())],
            "{}",
            run.stderr
        );
        let r = &recs[0];
        assert_eq!(r["http"]["status"], 200);
        assert_eq!(r["http"]["length"], 6);
        assert_eq!(r["src_port"], 52100);
        // Not picked up mid-stream: the handshake was in the first file.
        assert!(!has_flag(r, "midstream"), "{r}");
        // The transaction completes in the second file, and pcap_cnt counts across files.
        assert!(
            str_of(&r["pcap_filename"]).ends_with("part-2.pcapng"),
            "{r}"
        );
        assert!(r["pcap_cnt"].as_u64() > Some(5), "{r}");
        assert_eq!(
            str_of(&r["timestamp"]),
            synthetic_timestamp(r["pcap_cnt"].as_u64().unwrap())
        );
    }
}

#[test]
fn conversation_builder_round_trips_through_exhound() {
    // IPv6 with a destination-options header, an 802.1Q tag and the pcap writer's
    // big-endian µs variant, none of which the committed files combine.
    let mut c = Conv::new("[2001:db8::10]:52200", "[2001:db8::5]:8080");
    c.ipv6_ext = Some(support::frame::IPV6_DEST_OPTS);
    let c = scenarios::simple(c, &scenarios::get("/owa/combo"), &scenarios::ok(b"combo"));
    let frames = pcap::timed(c.frames(Link::Vlan(7)), scenarios::BASE_NS, 1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("combo.pcap");
    std::fs::write(
        &f,
        pcap::write(
            Format::Pcap {
                nanos: false,
                big_endian: true,
            },
            LinkType::Ethernet,
            &frames,
        ),
    )
    .unwrap();
    let run = replay(&[&f]);
    run.assert_status(0);
    let recs = sorted(&run);
    assert_eq!(recs.len(), 1, "{:?}", run.records);
    check_tx(
        "combo.pcap",
        &recs[0],
        &tx("GET", "/owa/combo", 200, 5),
        ("2001:db8::10", 52200),
        ("2001:db8::5", 8080),
    );
    assert_eq!(recs[0]["vlan"], serde_json::json!([7]));
}

// Real traffic recorded by scripts/capture-real.sh (client ports change on every recording).

fn check_real(r: &Value, method: &str, url: &str, length: u64, host: &str, server: (&str, u16)) {
    let ctx = r.to_string();
    assert_eq!(
        support::run::method_url(r),
        (method.to_string(), url.to_string()),
        "{ctx}"
    );
    assert_eq!(r["http"]["status"], 200, "{ctx}");
    assert_eq!(r["http"]["length"], length, "{ctx}");
    assert_eq!(r["http"]["hostname"], host, "{ctx}");
    assert_eq!(r["http"]["http_user_agent"], "curl/7.88.1", "{ctx}");
    assert_eq!(r["http"]["http_content_type"], "text/plain", "{ctx}");
    assert_eq!(r["dest_ip"], server.0, "{ctx}");
    assert_eq!(r["dest_port"], server.1, "{ctx}");
}

#[test]
fn real_loopback_capture() {
    let run = replay(&[pcap("real-loopback.pcap")]);
    run.assert_status(0);
    let r = sorted(&run);
    assert_eq!(r.len(), 4, "{:?}", run.records);
    let srv = ("127.0.0.1", 18080);
    // The server answers "<METHOD> <path>\n".
    check_real(&r[0], "GET", "/index.html", 16, "127.0.0.1", srv);
    check_real(&r[1], "GET", "/a", 7, "127.0.0.1", srv);
    check_real(&r[2], "GET", "/b", 7, "127.0.0.1", srv);
    check_real(&r[3], "POST", "/upload", 13, "127.0.0.1", srv);
    // /a and /b share a keep-alive connection.
    assert_eq!(r[1]["flow_id"], r[2]["flow_id"]);
    assert_eq!(r[1]["src_port"], r[2]["src_port"]);
    assert_eq!(
        (r[1]["tx_id"].as_u64(), r[2]["tx_id"].as_u64()),
        (Some(0), Some(1))
    );
    assert_ne!(r[0]["flow_id"], r[1]["flow_id"]);
    assert_eq!(r[3]["tx_id"], 0);
}

#[test]
fn real_veth_capture() {
    let run = replay(&[pcap("real-veth.pcap")]);
    run.assert_status(0);
    let r = sorted(&run);
    assert_eq!(r.len(), 3, "{:?}", run.records);
    let srv = ("10.250.0.2", 80);
    check_real(&r[0], "POST", "/ews/upload", 17, "10.250.0.2", srv);
    check_real(&r[1], "GET", "/owa/one", 13, "10.250.0.2", srv);
    check_real(&r[2], "GET", "/owa/two", 13, "10.250.0.2", srv);
    for x in &r {
        assert_eq!(x["src_ip"], "10.250.0.1");
    }
    assert_eq!(r[0]["tx_id"], 0);
    assert_eq!(
        (r[1]["tx_id"].as_u64(), r[2]["tx_id"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(r[1]["flow_id"], r[2]["flow_id"]);
}

#[test]
fn every_capture_is_covered() {
    // A capture added to pcaps/ without a test here (or in tshark.rs, or for
    // pcaps/exchange/ a scenario in tests/support/exchange_scenarios.rs) is a capture nobody
    // checks.
    let known = [
        "http-get.pcap",
        "http-keepalive.pcap",
        "http-pipelining.pcap",
        "http-post-chunked.pcap",
        "http-post-gzip.pcap",
        "http-1byte-segments.pcap",
        "tcp-out-of-order.pcap",
        "tcp-retransmission.pcap",
        "tcp-overlap-before.pcap",
        "tcp-overlap-after.pcap",
        "ipv4-fragments.pcap",
        "vlan-8021q.pcap",
        "vlan-qinq.pcap",
        "linux-sll.pcap",
        "linux-sll2.pcap",
        "ipv6-ext-header.pcap",
        "pcapng-ns.pcapng",
        "pcap-ns-bigendian.pcap",
        "raw-ip.pcap",
        "bsd-null-loopback.pcap",
        "midstream.pcap",
        "nonstandard-ports.pcap",
        "expect-100-continue.pcap",
        "head-204-304.pcap",
        "response-chunked-gzip.pcap",
        "truncated.pcap",
        "tcp-gap-resync.pcap",
        "tcp-gap-in-body.pcap",
        "tcp-seq-wrap.pcap",
        "iis-normalisation.pcap",
        "ipv4-tso-total-length-zero.pcap",
        "real-loopback.pcap",
        "real-veth.pcap",
    ];
    let mut on_disk: Vec<String> = std::fs::read_dir(support::run::pcaps_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    on_disk.sort();
    let mut known: Vec<String> = known.iter().map(|s| s.to_string()).collect();
    known.sort();
    assert_eq!(on_disk, known);

    // pcaps/exchange/ holds exactly one capture per Exchange scenario, each checked by
    // tests/exchange.rs (signatures) and tests/tshark.rs (requests).
    let dir = support::run::pcaps_dir().join(support::exchange_pcaps::DIR);
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .map(|n| format!("{}/{n}", support::exchange_pcaps::DIR))
        .collect();
    on_disk.sort();
    let mut known: Vec<String> = support::exchange_pcaps::all()
        .into_iter()
        .map(|c| c.file)
        .collect();
    known.sort();
    assert_eq!(on_disk, known, "pcaps/exchange/");
}

#[test]
fn pcap_filename_is_the_file_of_the_record_packet() {
    // A request left without an answer in the first file is written when the capture ends,
    // while the second file is being read: it still names the first file, where its packet
    // is.
    let mut a = scenarios::conv(52300, 80);
    a.handshake();
    a.client(&scenarios::get("/owa/left/open"));
    let b = scenarios::simple(
        scenarios::conv(52301, 80),
        &scenarios::get("/owa/second"),
        &scenarios::ok(b"2"),
    );
    let dir = tempfile::tempdir().unwrap();
    let f1 = dir.path().join("first.pcap");
    let f2 = dir.path().join("second.pcap");
    let frames_a = pcap::timed(a.frames(Link::Ethernet), scenarios::BASE_NS, 1_000_000);
    let frames_b = pcap::timed(
        b.frames(Link::Ethernet),
        scenarios::BASE_NS + 1_000_000_000,
        1_000_000,
    );
    std::fs::write(
        &f1,
        pcap::write(Format::PCAP, LinkType::Ethernet, &frames_a),
    )
    .unwrap();
    std::fs::write(
        &f2,
        pcap::write(Format::PCAP, LinkType::Ethernet, &frames_b),
    )
    .unwrap();
    for threads in ["1", "2"] {
        let run = replay(&[
            OsStr::new("--threads"),
            OsStr::new(threads),
            f1.as_os_str(),
            f2.as_os_str(),
        ]);
        run.assert_status(0);
        let by_url = |url: &str| {
            run.http()
                .into_iter()
                .find(|r| r["http"]["url"] == url)
                .unwrap_or_else(|| panic!("no record of {url}: {:?}", run.records))
                .clone()
        };
        let open = by_url("/owa/left/open");
        assert!(has_flag(&open, "incomplete"), "{open}");
        assert!(
            str_of(&open["pcap_filename"]).ends_with("first.pcap"),
            "{open}"
        );
        assert!(str_of(&by_url("/owa/second")["pcap_filename"]).ends_with("second.pcap"));
    }
}

#[test]
fn sigint_in_a_long_replay_leaves_whole_lines_and_a_summary() {
    // 20,000 connections: long enough to be interrupted while the workers are busy.
    let mut frames = Vec::new();
    for i in 0..20_000u32 {
        let c = scenarios::simple(
            Conv::new(
                &format!(
                    "10.{}.{}.{}:40000",
                    (i >> 16) & 255,
                    (i >> 8) & 255,
                    i & 255
                ),
                "198.51.100.5:80",
            ),
            &scenarios::get(&format!("/owa/{i}")),
            &scenarios::ok(b"fine"),
        );
        frames.extend(c.frames(Link::Ethernet));
    }
    let frames = pcap::timed(frames, scenarios::BASE_NS, 10_000);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("long.pcap");
    let out = dir.path().join("eve.json");
    std::fs::write(
        &input,
        pcap::write(Format::PCAP, LinkType::Ethernet, &frames),
    )
    .unwrap();
    let child = std::process::Command::new(support::run::exe())
        .args([
            "replay",
            "--log-http",
            "--log-stats",
            "--threads",
            "2",
            "-o",
        ])
        .arg(&out)
        .arg(&input)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until records are being written, then interrupt.
    let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) == 0 {
        assert!(std::time::Instant::now() < end, "no output");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let killed = std::process::Command::new("kill")
        .args(["-s", "INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let result = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.contains("exhound replay summary"), "{stderr}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.ends_with('\n'), "the last line is cut");
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("cut line ({e}): {l}")))
        .collect();
    let http = records.iter().filter(|r| r["event_type"] == "http").count();
    assert!(http > 0 && http < 20_000, "{http} transactions");
    assert_eq!(records.last().unwrap()["event_type"], "stats");
}

#[test]
fn a_progress_bar_on_a_terminal_only() {
    // 3,000 connections: enough packets for the bar to be drawn.
    let mut frames = Vec::new();
    for i in 0..3_000u32 {
        let c = scenarios::simple(
            Conv::new(
                &format!("10.9.{}.{}:40000", i >> 8, i & 255),
                "198.51.100.5:80",
            ),
            &scenarios::get("/owa/x"),
            &scenarios::ok(b"fine"),
        );
        frames.extend(c.frames(Link::Ethernet));
    }
    let frames = pcap::timed(frames, scenarios::BASE_NS, 10_000);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bar.pcap");
    std::fs::write(
        &input,
        pcap::write(Format::PCAP, LinkType::Ethernet, &frames),
    )
    .unwrap();
    // Standard error a pipe: no bar.
    let piped = replay(&[input.as_os_str()]);
    piped.assert_status(0);
    assert!(!piped.stderr.contains("packets/s"), "{}", piped.stderr);
    // Standard error a terminal (script(1) gives the command a pseudo-terminal): a bar.
    if !support::prereq::require_tool("script", "util-linux; needed for the terminal half") {
        return;
    }
    let command = format!(
        "{} replay -o /dev/null {}",
        support::run::exe(),
        input.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(
        screen.contains("packets/s") && screen.contains("alerts"),
        "{screen}"
    );
    assert!(screen.contains("exhound replay summary"), "{screen}");
}
