//! The rule commands and flags from the outside: `exhound rules check|list`, `-S`, `--var`,
//! `--skip-invalid`, and the bundled set embedded in the binary.

#[path = "support/prereq.rs"]
mod prereq;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn exhound(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_exhound"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn pcap(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pcaps")
        .join(name)
        .display()
        .to_string()
}

fn rules_file(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

fn alert_sids(out: &Output) -> Vec<u64> {
    let mut sids: Vec<u64> = text(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event_type"] == "alert")
        .map(|v| v["alert"]["signature_id"].as_u64().unwrap())
        .collect();
    sids.sort();
    sids
}

const COOKIE_RULE: &str = "alert http any any -> $HTTP_SERVERS any (msg:\"test cookie\"; flow:established,to_server; http.cookie; content:\"X-BEResource=\"; nocase; sid:9000001; rev:1;)\n";

#[test]
fn bundled_rules_check_clean() {
    let out = exhound(&["rules", "check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.starts_with("bundled signatures: "), "{said}");
    assert!(said.contains(" 0 invalid"), "{said}");
}

#[test]
fn broken_rule_names_file_line_column_and_keyword() {
    let dir = tempfile::tempdir().unwrap();
    let f = rules_file(
        dir.path(),
        "bad.rules",
        "# a comment\nalert http any any -> any any (msg:\"ok\"; sid:1;)\nalert http any any -> any any (msg:\"bad\"; depth:abc; sid:2;)\nalert http any any -> any any (msg:\"x\"; frobnicate; sid:3;)\n",
    );
    let out = exhound(&["rules", "check", "-S", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    let name = f.display().to_string();
    assert!(err.contains(&format!("{name}:3:")), "{err}");
    assert!(err.contains("depth"), "{err}");
    assert!(err.contains(&format!("{name}:4:")), "{err}");
    assert!(err.contains("frobnicate"), "{err}");
    assert!(
        text(&out.stdout).contains("1 rules loaded, 2 invalid"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn replay_stops_on_a_bad_rule_unless_told_to_skip() {
    let dir = tempfile::tempdir().unwrap();
    let f = rules_file(
        dir.path(),
        "r.rules",
        &format!(
            "{COOKIE_RULE}alert http any any -> any any (msg:\"bad\"; nosuchkeyword; sid:2;)\n"
        ),
    );
    let p = pcap("iis-normalisation.pcap");
    let out = exhound(&["replay", "-q", "-S", f.to_str().unwrap(), &p]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("nosuchkeyword"),
        "{}",
        text(&out.stderr)
    );
    let out = exhound(&[
        "replay",
        "-q",
        "--skip-invalid",
        "-S",
        f.to_str().unwrap(),
        &p,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("skipped rule"),
        "{}",
        text(&out.stderr)
    );
    assert!(alert_sids(&out).contains(&9000001));
}

#[test]
fn var_narrows_the_servers() {
    let dir = tempfile::tempdir().unwrap();
    let f = rules_file(dir.path(), "r.rules", COOKIE_RULE);
    let p = pcap("iis-normalisation.pcap");
    let f = f.to_str().unwrap();
    let any = exhound(&["replay", "-q", "-S", f, &p]);
    assert!(alert_sids(&any).contains(&9000001), "{}", text(&any.stderr));
    let here = exhound(&[
        "replay",
        "-q",
        "-S",
        f,
        "--var",
        "HTTP_SERVERS=198.51.100.0/24",
        &p,
    ]);
    assert!(alert_sids(&here).contains(&9000001));
    let elsewhere = exhound(&[
        "replay",
        "-q",
        "-S",
        f,
        "--var",
        "HTTP_SERVERS=[10.0.0.0/8,!10.1.1.1]",
        &p,
    ]);
    assert!(
        alert_sids(&elsewhere).is_empty(),
        "{:?}",
        alert_sids(&elsewhere)
    );
}

#[test]
fn list_shows_sid_cves_buffers_and_fast_pattern() {
    let out = exhound(&["rules", "list"]);
    assert!(out.status.success());
    let listing = text(&out.stdout);
    let line = listing
        .lines()
        .find(|l| l.starts_with("4210001\t"))
        .unwrap_or_else(|| panic!("4210001 not listed:\n{listing}"));
    let cols: Vec<&str> = line.split('\t').collect();
    assert_eq!(cols.len(), 6, "{line}");
    assert!(cols[2].contains("CVE-2021-26855"), "{line}");
    assert!(cols[3].contains("http.cookie"), "{line}");
    assert!(cols[4].starts_with("http.cookie:"), "{line}");
    assert!(
        cols[5].starts_with("http.cookie: Cookie header values as sent"),
        "{line}"
    );
    // A rule on a decoded view says which decoding: 4210101 reads the body as WCF's JSON
    // reader does and the cookie's back-end URL as ASP.NET decodes it.
    let ddi = listing
        .lines()
        .find(|l| l.starts_with("4210101\t"))
        .unwrap_or_else(|| panic!("4210101 not listed:\n{listing}"));
    assert!(
        ddi.contains("http.request_body|json_decode: request body"),
        "{ddi}"
    );
    assert!(ddi.contains("JSON escapes undone"), "{ddi}");
    assert!(ddi.contains("http.cookie|form_decode:"), "{ddi}");
}

#[test]
fn et_open_exchange_rules_load_unchanged() {
    let Some(et) = prereq::require_shared("third-party/et-open-exchange.rules") else {
        return;
    };
    let out = exhound(&["rules", "check", "-S", et.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("37 rules loaded, 0 invalid"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn payload_flag_adds_the_matched_message() {
    let out = exhound(&["replay", "-q", "--payload", &pcap("iis-normalisation.pcap")]);
    let first = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["event_type"] == "alert")
        .expect("an alert");
    assert!(
        first["payload_printable"]
            .as_str()
            .unwrap()
            .contains("X-BEResource"),
        "{first}"
    );
    assert!(first["payload"].as_str().unwrap().len() > 10);
    let plain = exhound(&["replay", "-q", &pcap("iis-normalisation.pcap")]);
    assert!(!text(&plain.stdout).contains("payload_printable"));
}

#[test]
fn a_full_disk_is_a_clear_error() {
    let out = exhound(&[
        "replay",
        "-q",
        "-o",
        "/dev/full",
        &pcap("exchange/chain-proxylogon-testanull-keepalive.pcap"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("writing EVE to /dev/full"), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
}
