//! TLS metadata end to end, on handshakes made by real TLS stacks (`pcaps/tls/`, recorded by
//! `scripts/capture-tls.sh`: curl and `openssl s_server`).
//!
//! Expected values are computed by other tools: the certificate fields by `openssl x509` on
//! the certificate the server sent (`pcaps/tls/server.pem`), JA3/JA3S and the SNI by tshark,
//! JA4 by `scripts/ja4.py` (FoxIO's definition over tshark's dissection). Tests needing a
//! tool skip with a message when it is missing; under `CI=true` that is a failure.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use support::prereq;
use support::run::{pcap, replay_alerts, Replay};

/// The TLS captures, with the version exhound must report and whether the server's
/// certificate is in clear.
const CAPTURES: [(&str, &str, bool); 4] = [
    ("tls/tls13.pcap", "TLS 1.3", false),
    ("tls/tls12-ecdhe-8443.pcap", "TLS 1.2", true),
    ("tls/tls12-rsa-port80.pcap", "TLS 1.2", true),
    ("tls/tls12-truncated.pcap", "TLS 1.2", false),
];

/// `exhound replay <args>` (the bundled signatures unless `-S` is given).
fn run(args: &[&str]) -> Replay {
    let r = replay_alerts(args);
    r.assert_status(0);
    r
}

/// The `tls` records of `file`.
fn tls_records(file: &str) -> Vec<Value> {
    let path = pcap(file);
    let r = run(&["-q", "--log-tls", path.to_str().expect("path")]);
    r.records
        .into_iter()
        .filter(|r| r["event_type"] == "tls")
        .collect()
}

/// `tool args` standard output, or a panic with its standard error.
fn output(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The value after `key=` on the line of `text` that starts with it.
fn field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {key} in {text}"))
}

/// The server certificate's fields as Suricata writes them, from `openssl x509`.
fn openssl_certificate_fields() -> Vec<(&'static str, String)> {
    let cert = pcap("tls/server.pem");
    let text = output(
        "openssl",
        &[
            "x509",
            "-in",
            cert.to_str().expect("path"),
            "-noout",
            "-subject",
            "-issuer",
            "-serial",
            "-fingerprint",
            "-sha1",
            "-startdate",
            "-enddate",
            "-nameopt",
            "sep_comma_plus_space",
            "-dateopt",
            "iso_8601",
        ],
    );
    let pairs = |hex: &str| -> String {
        hex.as_bytes()
            .chunks(2)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(":")
    };
    // `2026-12-06 12:45:56Z` → `2026-12-06T12:45:56`.
    let date = |d: &str| d.trim_end_matches('Z').replace(' ', "T");
    vec![
        ("subject", field(&text, "subject").to_string()),
        ("issuerdn", field(&text, "issuer").to_string()),
        ("serial", pairs(field(&text, "serial"))),
        (
            "fingerprint",
            field(&text, "sha1 Fingerprint").to_ascii_lowercase(),
        ),
        ("notbefore", date(field(&text, "notBefore"))),
        ("notafter", date(field(&text, "notAfter"))),
    ]
}

/// tshark's fields of the first packet of `file` matching `filter` (TLS decoded on port 80
/// too), tab-separated.
fn tshark_fields(file: &Path, filter: &str, fields: &[&str]) -> Vec<String> {
    let mut args = vec![
        "-r",
        file.to_str().expect("path"),
        "-d",
        "tcp.port==80,tls",
        "-Y",
        filter,
        "-T",
        "fields",
    ];
    for f in fields {
        args.push("-e");
        args.push(f);
    }
    let out = output("tshark", &args);
    let line = out.lines().next().unwrap_or_default();
    line.split('\t').map(str::to_string).collect()
}

fn tools_present() -> bool {
    prereq::require_tool("tshark", "make deps installs it")
        && prereq::require_tool("openssl", "apt-get install openssl")
        && prereq::require_tool("python3", "make deps installs it")
}

#[test]
fn tls_records_match_openssl_tshark_and_ja4_reference() {
    if !tools_present() {
        return;
    }
    let cert_fields = openssl_certificate_fields();
    let ja4_script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/ja4.py");
    for (file, version, with_certificate) in CAPTURES {
        let records = tls_records(file);
        assert_eq!(records.len(), 1, "{file}: one tls record: {records:#?}");
        let tls = &records[0]["tls"];
        assert_eq!(tls["version"], version, "{file}");
        let path = pcap(file);
        let client = tshark_fields(
            &path,
            "tls.handshake.type == 1",
            &[
                "tls.handshake.extensions_server_name",
                "tls.handshake.ja3",
                "tls.handshake.ja3_full",
            ],
        );
        assert_eq!(tls["sni"], client[0].as_str(), "{file}");
        assert_eq!(tls["ja3"]["hash"], client[1].as_str(), "{file}");
        assert_eq!(tls["ja3"]["string"], client[2].as_str(), "{file}");
        let server = tshark_fields(
            &path,
            "tls.handshake.type == 2",
            &["tls.handshake.ja3s", "tls.handshake.ja3s_full"],
        );
        assert_eq!(tls["ja3s"]["hash"], server[0].as_str(), "{file}");
        assert_eq!(tls["ja3s"]["string"], server[1].as_str(), "{file}");
        let ja4 = output(
            "python3",
            &[
                ja4_script.to_str().expect("path"),
                path.to_str().expect("path"),
                "-d",
                "tcp.port==80,tls",
            ],
        );
        assert_eq!(tls["ja4"], ja4.trim(), "{file}");
        for (key, want) in &cert_fields {
            if with_certificate {
                assert_eq!(tls[key], want.as_str(), "{file}: {key}");
            } else {
                assert!(tls.get(key).is_none(), "{file}: no certificate, no {key}");
            }
        }
    }
}

#[test]
fn tls_is_found_by_content_on_any_port_and_is_not_http() {
    for (file, port) in [
        ("tls/tls12-rsa-port80.pcap", 80),
        ("tls/tls12-ecdhe-8443.pcap", 8443),
        ("tls/tls13.pcap", 443),
    ] {
        let path = pcap(file);
        let r = run(&["--log-tls", "--log-http", path.to_str().expect("path")]);
        let tls: Vec<&Value> = r
            .records
            .iter()
            .filter(|r| r["event_type"] == "tls")
            .collect();
        assert_eq!(tls.len(), 1, "{file}");
        assert_eq!(tls[0]["dest_port"], port, "{file}");
        assert_eq!(tls[0]["src_ip"], "127.0.0.1");
        assert!(r.http().is_empty(), "{file}: TLS bytes are not HTTP");
        assert!(
            r.stderr
                .contains("HTTP             0 transactions on 0 connections (0 not HTTP"),
            "{file}: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains("TLS              1 connections"),
            "{}",
            r.stderr
        );
    }
    // Without --log-tls there is no tls record.
    let path = pcap("tls/tls13.pcap");
    assert!(run(&["-q", path.to_str().expect("path")])
        .records
        .is_empty());
}

#[test]
fn truncated_handshake_is_logged_and_counted() {
    let path = pcap("tls/tls12-truncated.pcap");
    let r = run(&["--log-tls", path.to_str().expect("path")]);
    assert_eq!(r.records.len(), 1, "{:#?}", r.records);
    let tls = &r.records[0]["tls"];
    assert_eq!(tls["sni"], "mail.exhound.test");
    assert!(tls["ja3"]["hash"].is_string() && tls["ja3s"]["hash"].is_string());
    assert!(tls.get("subject").is_none());
    assert!(
        r.stderr
            .contains("1 ServerHellos, 0 certificates), 1 handshakes incomplete at the end"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("TLS given up     0 malformed"),
        "{}",
        r.stderr
    );
}

/// Writes `rules` to a file in `dir`; returns its path.
fn rules_file(dir: &Path, rules: &str) -> String {
    let p = dir.join("tls.rules");
    std::fs::write(&p, rules).expect("write rules");
    p.to_str().expect("path").to_string()
}

#[test]
fn tls_rules_alert_and_alerts_carry_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = rules_file(
        dir.path(),
        concat!(
            "alert tls any any -> any any (msg:\"SNI\"; tls.sni; content:\"mail.exhound.test\"; sid:1;)\n",
            "alert tls any any -> any any (msg:\"serial\"; tls.cert_serial; content:\"5C:19:B7:A1:E2\"; sid:2;)\n",
            "alert tls any any -> any any (msg:\"CA in chain\"; tls.certs; content:\"Exhound Test CA\"; sid:3;)\n",
            "alert tls any any -> any any (msg:\"TLS 1.3\"; tls.version:1.3; sid:4;)\n",
            "alert tcp any any -> any any (msg:\"ClientHello bytes\"; flow:to_server; content:\"|16 03 01|\"; depth:3; sid:5;)\n",
            "alert tls any any -> any any (msg:\"other SNI\"; tls.sni; content:\"evil\"; sid:6;)\n",
        ),
    );
    let sids = |r: &Replay| -> Vec<u64> {
        let mut s: Vec<u64> = r
            .alerts()
            .iter()
            .filter_map(|a| a["alert"]["signature_id"].as_u64())
            .collect();
        s.sort_unstable();
        s
    };
    let path = pcap("tls/tls12-rsa-port80.pcap");
    let r = run(&["-q", "-S", &rules, path.to_str().expect("path")]);
    assert_eq!(sids(&r), vec![1, 2, 3, 5], "{:#?}", r.records);
    for a in r.alerts() {
        assert_eq!(a["tls"]["sni"], "mail.exhound.test", "{a}");
        assert_eq!(a["app_proto"], "tls", "{a}");
        assert_eq!(a["flow"]["dest_port"], 80);
    }
    let serial = r
        .alerts()
        .into_iter()
        .find(|a| a["alert"]["signature_id"] == 2)
        .expect("serial alert");
    assert_eq!(serial["direction"], "to_client");
    assert_eq!(serial["tls"]["serial"], "5C:19:B7:A1:E2");
    let path = pcap("tls/tls13.pcap");
    let r = run(&["-q", "-S", &rules, path.to_str().expect("path")]);
    assert_eq!(sids(&r), vec![1, 4, 5], "{:#?}", r.records);
}

#[test]
fn tls_records_and_alerts_validate_against_suricata_schema() {
    let Some(schema) = prereq::require_shared("third-party/suricata-eve-schema.json") else {
        return;
    };
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schema).expect("schema")).expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("validator");
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = rules_file(
        dir.path(),
        "alert tls any any -> any any (msg:\"SNI\"; tls.sni; content:\"exhound\"; sid:1;)\n",
    );
    let (mut tls, mut alerts) = (0, 0);
    for (file, _, _) in CAPTURES {
        let path = pcap(file);
        let r = run(&[
            "-q",
            "--log-tls",
            "--payload",
            "--log-stats",
            "-S",
            &rules,
            path.to_str().expect("path"),
        ]);
        for record in &r.records {
            let errors: Vec<String> = validator
                .iter_errors(record)
                .map(|e| format!("{e} at {}", e.instance_path))
                .collect();
            assert!(errors.is_empty(), "{file}: {record}\n{errors:?}");
            tls += usize::from(record["event_type"] == "tls");
            alerts += usize::from(record["event_type"] == "alert");
        }
    }
    assert_eq!((tls, alerts), (4, 4));
}
