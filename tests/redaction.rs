//! Redaction end to end (issue 11 §3): a capture carrying an OWA logon (form password,
//! Basic credentials, OWA session cookies and canary), a ProxyLogon request (X-BEResource
//! cookie with the ECP canary inside, session cookies, NTLM credentials, a JSON body with a
//! password and a nested token) and an NTLM challenge, replayed with alerts on each message
//! (one of them on the clear password: detection sees the original bytes),
//! `--log-http` and `--payload`. By default no secret appears anywhere in the EVE output —
//! neither in clear nor inside the base64 `payload` — while the attack cookie, the user name
//! and the auth schemes stay, every record validates against Suricata's schema, and the
//! output is the same on every run; `--redact-key` gives the same masks for the same
//! secret in different captures; `--no-redact` writes the secrets as seen.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use support::conv::Conv;
use support::frame::Link;
use support::pcap::{self, Format, BASE_SECS};
use support::prereq;
use support::run::exe;

/// Secrets the capture carries: none may be written by default.
const SECRETS: &[&str] = &[
    "Summer2021",                   // OWA form password
    "YWxpY2U6U3VtbWVyMjAyMSE",      // Basic alice:Summer2021!
    "CADATA-SECRET",                // cadata cookie
    "KEY-SECRET",                   // cadataKey cookie
    "OWACANARY123",                 // X-OWA-CANARY header and cookie
    "ECPCANARY999",                 // msExchEcpCanary query, cookie, in X-BEResource
    "SESSION-SECRET-42",            // ASP.NET_SessionId cookie
    "TlRMTVNTUAADAAAAGAAYAEgAAAAY", // NTLM Type 3
    "TlRMTVNTUAACAAAADAAMADgAAAAF", // NTLM Type 2 challenge
    "JsonPass",                     // JSON password member
    "REFRESH-TOK",                  // nested JSON token
    "NEW-CADATA",                   // Set-Cookie in the response
];

const NTLM3: &str = "TlRMTVNTUAADAAAAGAAYAEgAAAAYABgAYAAAAAAAAAB4AAAAAAAAAHgAAAAAAAAAeAAAAAAAAAB4AAAABYKIogUBKAoAAAAP";
const NTLM2: &str = "TlRMTVNTUAACAAAADAAMADgAAAAFgomiESIzRFVmd4gAAAAAAAAAAIoAigBEAAAA";

const RULES: &str = r#"alert http any any -> any any (msg:"test OWA logon"; flow:established,to_server; http.uri; content:"/owa/auth.owa"; sid:9100001; rev:1;)
alert http any any -> any any (msg:"test X-BEResource cookie"; flow:established,to_server; http.cookie; content:"X-BEResource="; sid:9100002; rev:1;)
alert http any any -> any any (msg:"test NTLM challenge"; flow:established,to_client; http.header; content:"WWW-Authenticate: NTLM"; sid:9100003; rev:1;)
alert http any any -> any any (msg:"test OWA logon answer"; flow:established,to_client; http.location; content:"/owa/"; sid:9100004; rev:1;)
alert http any any -> any any (msg:"test detection sees the clear password"; flow:established,to_server; http.request_body; content:"password=Summer2021"; sid:9100005; rev:1;)
"#;

fn owa_logon() -> (Vec<u8>, Vec<u8>) {
    let body = "destination=https%3A%2F%2Fmail.lab%2Fowa&flags=4&forcedownlevel=0&username=LAB%5Calice&password=Summer2021%21&passwordText=&isUtf8=1";
    let request = format!(
        "POST /owa/auth.owa HTTP/1.1\r\nHost: mail.lab\r\nUser-Agent: Mozilla/5.0\r\n\
         Authorization: Basic YWxpY2U6U3VtbWVyMjAyMSE=\r\n\
         Cookie: ClientId=ABCDEF; cadata=CADATA-SECRET; cadataKey=KEY-SECRET; X-OWA-CANARY=OWACANARY123; PrivateComputer=true\r\n\
         X-OWA-CANARY: OWACANARY123\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let response = "HTTP/1.1 302 Found\r\nLocation: /owa/\r\nSet-Cookie: cadata=NEW-CADATA; path=/; HttpOnly\r\nContent-Length: 0\r\n\r\n";
    (request.into_bytes(), response.as_bytes().to_vec())
}

fn proxylogon() -> (Vec<u8>, Vec<u8>) {
    let body = r#"{"filter":{"Parameters":{"SelectedView":""}},"password":"JsonPass!1","nested":{"refresh_token":"REFRESH-TOK"}}"#;
    let request = format!(
        "POST /ecp/y.js?msExchEcpCanary=ECPCANARY999 HTTP/1.1\r\nHost: mail.lab\r\nUser-Agent: python-requests/2.25.1\r\n\
         Authorization: NTLM {NTLM3}\r\n\
         Cookie: X-BEResource=Admin@exch01.lab:444/ecp/DDI/DDIService.svc/GetObject?schema=OABVirtualDirectory&msExchEcpCanary=ECPCANARY999&a=~1942062522; ASP.NET_SessionId=SESSION-SECRET-42; msExchEcpCanary=ECPCANARY999\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let response = format!(
        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: NTLM {NTLM2}\r\nWWW-Authenticate: Negotiate\r\nContent-Length: 0\r\n\r\n"
    );
    (request.into_bytes(), response.into_bytes())
}

/// A capture of `exchanges`, each on its own connection.
fn capture(exchanges: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut frames = Vec::new();
    for (i, (request, response)) in exchanges.iter().enumerate() {
        let mut c = Conv::new(&format!("192.0.2.10:{}", 51000 + i), "198.51.100.5:80");
        c.handshake();
        c.client(request);
        c.server(response);
        c.close();
        frames.extend(c.frames(Link::Ethernet));
    }
    let frames = pcap::timed(frames, BASE_SECS * 1_000_000_000, 1_000_000);
    pcap::write(Format::PCAP, Link::Ethernet.link_type(), &frames)
}

struct Files {
    _dir: tempfile::TempDir,
    both: PathBuf,
    ecp_only: PathBuf,
    rules: PathBuf,
    key: PathBuf,
}

fn files() -> Files {
    let dir = tempfile::tempdir().expect("temp dir");
    let both = dir.path().join("owa-and-ecp.pcap");
    std::fs::write(&both, capture(&[owa_logon(), proxylogon()])).unwrap();
    let ecp_only = dir.path().join("ecp.pcap");
    std::fs::write(&ecp_only, capture(&[proxylogon()])).unwrap();
    let rules = dir.path().join("test.rules");
    std::fs::write(&rules, RULES).unwrap();
    let key = dir.path().join("redact.key");
    std::fs::write(&key, [0x5a; 32]).unwrap();
    Files {
        _dir: dir,
        both,
        ecp_only,
        rules,
        key,
    }
}

/// `exhound replay --log-http --payload -q -S rules <extra> <pcap>`: standard output.
fn replay(f: &Files, pcap: &Path, extra: &[&str]) -> String {
    let out = Command::new(exe())
        .args(["replay", "--log-http", "--payload", "-q", "-S"])
        .arg(&f.rules)
        .args(extra)
        .arg(pcap)
        .output()
        .expect("run exhound");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 EVE")
}

fn records(eve: &str) -> Vec<Value> {
    eve.lines()
        .map(|l| serde_json::from_str(l).expect("EVE line is JSON"))
        .collect()
}

/// The decoded `payload` of every alert.
fn payloads(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| r["payload"].as_str())
        .map(|b64| String::from_utf8_lossy(&base64_decode(b64)).into_owned())
        .collect()
}

fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            _ => 63,
        }
    };
    let mut out = Vec::new();
    for chunk in s.as_bytes().chunks(4) {
        let pad = chunk.iter().filter(|&&c| c == b'=').count();
        let n = chunk.iter().fold(0u32, |n, &c| {
            (n << 6) | if c == b'=' { 0 } else { value(c) }
        });
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    out
}

/// The mask of the value after `name=` in `text`.
fn mask_after<'a>(text: &'a str, name: &str) -> &'a str {
    let at = text
        .find(name)
        .unwrap_or_else(|| panic!("{name} in {text}"))
        + name.len();
    let end = text[at..].find(']').expect("a mask") + at + 1;
    &text[at..end]
}

#[test]
fn by_default_no_secret_is_written_and_the_evidence_stays() {
    let f = files();
    let eve = replay(&f, &f.both, &[]);
    let recs = records(&eve);
    let alerts: Vec<u64> = recs
        .iter()
        .filter_map(|r| r["alert"]["signature_id"].as_u64())
        .collect();
    // 9100005 matches the clear password: detection sees the original bytes.
    for sid in [9100001, 9100002, 9100003, 9100004, 9100005] {
        assert!(alerts.contains(&sid), "no alert {sid}:\n{eve}");
    }
    assert_eq!(recs.iter().filter(|r| r["event_type"] == "http").count(), 2);
    let decoded = payloads(&recs);
    assert_eq!(decoded.len(), 5, "{eve}");
    for secret in SECRETS {
        assert!(!eve.contains(secret), "{secret} written:\n{eve}");
        for p in &decoded {
            assert!(!p.contains(secret), "{secret} in a payload:\n{p}");
        }
    }
    let all = decoded.join("\n");
    // Evidence and context stay.
    assert!(all.contains("X-BEResource=Admin@exch01.lab:444/ecp/DDI/DDIService.svc/GetObject?schema=OABVirtualDirectory&msExchEcpCanary=[redacted:len12:h"), "{all}");
    assert!(all.contains("&a=~1942062522;"), "{all}");
    assert!(
        all.contains("username=LAB%5Calice&password=[redacted:len13:h"),
        "{all}"
    );
    assert!(
        all.contains("Authorization: Basic [redacted:len24:h"),
        "{all}"
    );
    assert!(all.contains("Authorization: NTLM [redacted:"), "{all}");
    assert!(all.contains("WWW-Authenticate: NTLM [redacted:"), "{all}");
    assert!(all.contains("WWW-Authenticate: Negotiate\r\n"), "{all}");
    assert!(
        all.contains("Set-Cookie: cadata=[redacted:len10:h"),
        "{all}"
    );
    assert!(all.contains("; path=/; HttpOnly"), "{all}");
    assert!(
        all.contains("\"nested\":{\"refresh_token\":\"[redacted:len11:h"),
        "{all}"
    );
    // The same canary has the same mask in the URL, the cookie and inside the attack cookie.
    let url = recs
        .iter()
        .filter_map(|r| r["http"]["url"].as_str())
        .find(|u| u.starts_with("/ecp/y.js"))
        .expect("the ECP request's URL");
    let mask = mask_after(url, "msExchEcpCanary=");
    assert!(all.matches(mask).count() >= 3, "{mask} in {all}");
    assert!(recs.iter().any(|r| r["payload_printable"]
        .as_str()
        .is_some_and(|p| p.contains(mask))));
    // Same input, same output.
    assert_eq!(replay(&f, &f.both, &["--threads", "1"]), eve);
}

#[test]
fn redacted_records_validate_against_the_eve_schema() {
    let Some(schema) = prereq::require_shared("third-party/suricata-eve-schema.json") else {
        return;
    };
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(schema).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let f = files();
    for record in records(&replay(&f, &f.both, &[])) {
        let errors: Vec<String> = validator
            .iter_errors(&record)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{record}: {errors:?}");
    }
}

#[test]
fn a_redact_key_gives_the_same_mask_in_every_capture() {
    let f = files();
    let key = f.key.to_str().unwrap();
    let a = replay(&f, &f.both, &["--redact-key", key]);
    let b = replay(&f, &f.ecp_only, &["--redact-key", key]);
    let mask_a = mask_after(&a, "msExchEcpCanary=");
    assert_eq!(mask_a, mask_after(&b, "msExchEcpCanary="));
    // Without a key the hash is keyed with the captures: another capture, another hash.
    let c = replay(&f, &f.both, &[]);
    let d = replay(&f, &f.ecp_only, &[]);
    assert_ne!(
        mask_after(&c, "msExchEcpCanary="),
        mask_after(&d, "msExchEcpCanary=")
    );
    assert_ne!(mask_after(&c, "msExchEcpCanary="), mask_a);
    // A key too short to be one is refused.
    let short = f.key.with_extension("short");
    std::fs::write(&short, b"abc").unwrap();
    let out = Command::new(exe())
        .args(["replay", "-q", "--redact-key"])
        .arg(&short)
        .arg(&f.both)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 16"));
}

#[test]
fn no_redact_writes_the_secrets_as_seen() {
    let f = files();
    let eve = replay(&f, &f.both, &["--no-redact"]);
    let recs = records(&eve);
    let all = payloads(&recs).join("\n");
    for secret in SECRETS {
        assert!(
            eve.contains(secret) || all.contains(secret),
            "{secret} missing with --no-redact"
        );
    }
    assert!(!eve.contains("[redacted:"));
    assert!(!all.contains("[redacted:"));
}
