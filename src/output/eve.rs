//! EVE JSON `http`, `tls` and `alert` records.
//!
//! `http`: one line per transaction, keys in Suricata's order: `timestamp` (packet time, RFC 3339 with
//! microseconds and offset, always UTC `+0000`), `flow_id`, `pcap_cnt`, `event_type`,
//! addresses (`src` = client), `proto`, `tx_id`, `http{…}`, then `metadata` and
//! `pcap_filename`. Bytes that are not UTF-8 are written as `\xNN` text, as Suricata does.
//!
//! `tls`: one line per TLS connection, when its clear handshake is over (or the connection
//! ends): the same leading fields, then `tls{…}` with Suricata's keys in Suricata's order —
//! `subject`, `issuerdn`, `serial`, `fingerprint` (server certificate), `sni`, `version`,
//! `notbefore`, `notafter`, `ja3{hash,string}`, `ja3s{hash,string}`, `ja4` — each left out
//! when the handshake did not tell it. Alerts on a TLS connection carry the same object.
//!
//! Every writer takes an `Option<&Redactor>`: with one, the values that can carry
//! credentials (`http.url`, `http.http_refer`, the `iis_url` flow variable, `payload` and
//! `payload_printable`) are masked ([`super::redact`]); `None` writes them as seen.

use std::net::IpAddr;

use serde::Serialize;

use crate::detect::{Alert, AlertDirection};
use crate::http::{host, HttpTransaction, PacketRef};
use crate::output::redact::Redactor;
use crate::time::Timestamp;
use crate::tls::{Fingerprint, TlsInfo};

/// What the writer needs to know about the flow a transaction belongs to.
#[derive(Debug, Clone)]
pub struct FlowFacts {
    /// Suricata-style flow id (51 bits).
    pub flow_id: u64,
    /// Client address.
    pub client_ip: IpAddr,
    /// Client port.
    pub client_port: u16,
    /// Server address.
    pub server_ip: IpAddr,
    /// Server port.
    pub server_port: u16,
    /// VLAN ids, outermost first.
    pub vlan: Vec<u16>,
    /// When the flow's first packet was seen.
    pub start: Timestamp,
    /// The capture position (`pcap_cnt`) of the flow's first packet: no two flows share it,
    /// so it orders flows that end together.
    pub first_packet: u64,
    /// Packets from client to server so far.
    pub pkts_toserver: u64,
    /// Packets from server to client so far.
    pub pkts_toclient: u64,
    /// Captured bytes from client to server so far.
    pub bytes_toserver: u64,
    /// Captured bytes from server to client so far.
    pub bytes_toclient: u64,
}

/// Suricata's `flow_id`: start seconds and microseconds folded with the flow hash, kept to 51
/// bits so that JSON readers with double-precision numbers read it exactly.
pub fn flow_id(start: Timestamp, hash: u32) -> u64 {
    let secs = (start.secs() as u64) & 0xFFFF;
    let usecs = u64::from(start.subsec_micros()) & 0xFFFF;
    ((secs << 48) | (usecs << 32) | u64::from(hash)) & 0x7_FFFF_FFFF_FFFF
}

/// Formats a packet time as EVE does: `2021-03-03T10:00:00.123456+0000`.
pub fn format_timestamp(ts: Timestamp) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(ts.secs())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let (year, month, day) = date.to_calendar_date();
    let Ok(year) = u32::try_from(year) else {
        return slow_timestamp(&date, ts);
    };
    if year > 9999 {
        return slow_timestamp(&date, ts);
    }
    let (hour, minute, second) = date.to_hms();
    // Digits written in place, the date computed once: `format!` with padding and a calendar
    // computation per field cost several times as much, once per record.
    let mut out = *b"0000-00-00T00:00:00.000000+0000";
    put_digits(&mut out[0..4], year);
    put_digits(&mut out[5..7], u32::from(u8::from(month)));
    put_digits(&mut out[8..10], u32::from(day));
    put_digits(&mut out[11..13], u32::from(hour));
    put_digits(&mut out[14..16], u32::from(minute));
    put_digits(&mut out[17..19], u32::from(second));
    put_digits(&mut out[20..26], ts.subsec_micros());
    out.iter().map(|&b| char::from(b)).collect()
}

/// Writes `v` in decimal into `dst`, right-aligned, zero-padded (higher digits dropped).
fn put_digits(dst: &mut [u8], mut v: u32) {
    for d in dst.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// The same format for years outside 0..=9999.
fn slow_timestamp(date: &time::OffsetDateTime, ts: Timestamp) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+0000",
        date.year(),
        u8::from(date.month()),
        date.day(),
        date.hour(),
        date.minute(),
        date.second(),
        ts.subsec_micros()
    )
}

/// Bytes as an EVE string: UTF-8 as is; otherwise printable ASCII kept and every other byte
/// written as `\xNN`.
pub fn bytes_to_string(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len() + 8);
            for &b in bytes {
                if (0x20..0x7f).contains(&b) {
                    out.push(char::from(b));
                } else {
                    out.push_str(&format!("\\x{b:02X}"));
                }
            }
            out
        }
    }
}

#[derive(Serialize)]
struct HttpObject {
    #[serde(skip_serializing_if = "Option::is_none")]
    hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_port: Option<u16>,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_refer: Option<String>,
    http_method: String,
    protocol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    length: u64,
}

#[derive(Serialize)]
struct FingerprintObject<'a> {
    hash: &'a str,
    string: &'a str,
}

impl<'a> From<&'a Fingerprint> for FingerprintObject<'a> {
    fn from(f: &'a Fingerprint) -> Self {
        FingerprintObject {
            hash: &f.hash,
            string: &f.string,
        }
    }
}

#[derive(Serialize)]
struct TlsObject<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuerdn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    serial: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fingerprint: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sni: Option<String>,
    version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    notbefore: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notafter: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ja3: Option<FingerprintObject<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ja3s: Option<FingerprintObject<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ja4: Option<&'a str>,
}

#[derive(Serialize)]
struct TlsRecord<'a> {
    #[serde(flatten)]
    common: Common<'a>,
    tls: TlsObject<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pcap_filename: Option<&'a str>,
}

#[derive(Serialize)]
struct FlowVar {
    key: &'static str,
    value: String,
}

#[derive(Serialize)]
struct Metadata {
    flowvars: Vec<FlowVar>,
}

/// The fields every EVE record starts with, in Suricata's order.
#[derive(Serialize)]
struct Common<'a> {
    timestamp: String,
    flow_id: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pcap_cnt: u64,
    event_type: &'static str,
    #[serde(skip_serializing_if = "<[u16]>::is_empty")]
    vlan: &'a [u16],
    src_ip: String,
    src_port: u16,
    dest_ip: String,
    dest_port: u16,
    proto: &'static str,
}

#[derive(Serialize)]
struct HttpRecord<'a> {
    #[serde(flatten)]
    common: Common<'a>,
    tx_id: u64,
    http: HttpObject,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<TlsObject<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Metadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pcap_filename: Option<&'a str>,
}

#[derive(Serialize)]
struct AlertObject<'a> {
    action: &'static str,
    gid: u32,
    signature_id: u32,
    rev: u32,
    signature: &'a str,
    category: &'a str,
    severity: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    references: Option<Vec<String>>,
}

#[derive(Serialize)]
struct FlowObject {
    pkts_toserver: u64,
    pkts_toclient: u64,
    bytes_toserver: u64,
    bytes_toclient: u64,
    start: String,
    src_ip: String,
    src_port: u16,
    dest_ip: String,
    dest_port: u16,
}

#[derive(Serialize)]
struct AlertRecord<'a> {
    #[serde(flatten)]
    common: Common<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tx_id: Option<u64>,
    alert: AlertObject<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http: Option<HttpObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<TlsObject<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_proto: Option<&'static str>,
    direction: &'static str,
    flow: FlowObject,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_printable: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pcap_filename: Option<&'a str>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// The EVE `http` record (one line, with its newline) of `tx` on `flow`, read from
/// `pcap_filename`, its credentials masked by `redact`.
pub fn http_line(
    flow: &FlowFacts,
    tx: &HttpTransaction,
    tls: Option<&TlsInfo>,
    pcap_filename: Option<&str>,
    redact: Option<&Redactor>,
) -> Vec<u8> {
    let record = HttpRecord {
        common: Common {
            timestamp: format_timestamp(tx.completed_at.ts),
            flow_id: flow.flow_id,
            pcap_cnt: tx.completed_at.pcap_cnt,
            event_type: "http",
            vlan: &flow.vlan,
            src_ip: flow.client_ip.to_string(),
            src_port: flow.client_port,
            dest_ip: flow.server_ip.to_string(),
            dest_port: flow.server_port,
            proto: "TCP",
        },
        tx_id: tx.tx_id,
        http: http_object(tx, redact),
        tls: tls.map(tls_object),
        metadata: metadata(tx, redact),
        pcap_filename,
    };
    to_line(&record)
}

/// The EVE `tls` record (one line, with its newline) of the handshake `tls` of `flow`,
/// completed at packet `at`.
pub fn tls_line(
    flow: &FlowFacts,
    tls: &TlsInfo,
    at: PacketRef,
    pcap_filename: Option<&str>,
) -> Vec<u8> {
    let record = TlsRecord {
        common: Common {
            timestamp: format_timestamp(at.ts),
            flow_id: flow.flow_id,
            pcap_cnt: at.pcap_cnt,
            event_type: "tls",
            vlan: &flow.vlan,
            src_ip: flow.client_ip.to_string(),
            src_port: flow.client_port,
            dest_ip: flow.server_ip.to_string(),
            dest_port: flow.server_port,
            proto: "TCP",
        },
        tls: tls_object(tls),
        pcap_filename,
    };
    to_line(&record)
}

/// The `tls` object of a record.
fn tls_object(tls: &TlsInfo) -> TlsObject<'_> {
    let cert = tls.server_certificate.as_ref();
    TlsObject {
        subject: cert.map(|c| c.subject.as_str()),
        issuerdn: cert.map(|c| c.issuer.as_str()),
        serial: cert.map(|c| c.serial.as_str()),
        fingerprint: cert.map(|c| c.fingerprint.as_str()),
        sni: tls.sni().map(bytes_to_string),
        version: tls.version_name(),
        notbefore: cert.map(|c| c.not_before.as_str()),
        notafter: cert.map(|c| c.not_after.as_str()),
        ja3: tls.ja3.as_ref().map(FingerprintObject::from),
        ja3s: tls.ja3s.as_ref().map(FingerprintObject::from),
        ja4: tls.ja4.as_deref(),
    }
}

/// The EVE `alert` record (one line, with its newline) of `alert`, raised at packet `at` on
/// `flow`. `src`/`dest` follow the direction of the data that matched (as Suricata writes
/// them); the `flow` object keeps the client as `src`. With `payload`, the inspected bytes
/// are added as `payload` (base64) and `payload_printable`. On a TLS connection, `tls` is
/// its handshake so far, written as the `tls` object. With `redact`, credentials in the
/// `http` object and the payload are masked.
#[allow(clippy::too_many_arguments)]
pub fn alert_line(
    flow: &FlowFacts,
    alert: &Alert,
    at: PacketRef,
    tx: Option<&HttpTransaction>,
    tls: Option<&TlsInfo>,
    payload: Option<&[u8]>,
    pcap_filename: Option<&str>,
    redact: Option<&Redactor>,
) -> Vec<u8> {
    let rule = &alert.rule;
    let (client, server) = (
        (flow.client_ip.to_string(), flow.client_port),
        (flow.server_ip.to_string(), flow.server_port),
    );
    let ((src_ip, src_port), (dest_ip, dest_port)) = match alert.direction {
        AlertDirection::ToServer => (client.clone(), server.clone()),
        AlertDirection::ToClient => (server.clone(), client.clone()),
    };
    let mut meta: Vec<(&str, Vec<&str>)> = Vec::new();
    for (k, v) in &rule.metadata {
        match meta.iter_mut().find(|(key, _)| key == k) {
            Some((_, values)) => values.push(v),
            None => meta.push((k, vec![v])),
        }
    }
    let metadata = serde_json::Map::from_iter(meta.into_iter().map(|(k, vs)| {
        let values = vs
            .into_iter()
            .map(|v| serde_json::Value::String(v.to_string()));
        (k.to_string(), serde_json::Value::Array(values.collect()))
    }));
    let payload = payload.map(|p| redacted(p, redact));
    let references: Vec<String> = rule
        .references
        .iter()
        .map(|(system, id)| reference_url(system, id))
        .collect();
    let record = AlertRecord {
        common: Common {
            timestamp: format_timestamp(at.ts),
            flow_id: flow.flow_id,
            pcap_cnt: at.pcap_cnt,
            event_type: "alert",
            vlan: &flow.vlan,
            src_ip,
            src_port,
            dest_ip,
            dest_port,
            proto: "TCP",
        },
        tx_id: alert.tx_id,
        alert: AlertObject {
            action: "allowed",
            gid: rule.gid,
            signature_id: rule.sid,
            rev: rule.rev,
            signature: &rule.msg,
            category: rule.category.as_deref().unwrap_or(""),
            severity: rule.severity,
            metadata: (!metadata.is_empty()).then_some(metadata),
            references: (!references.is_empty()).then_some(references),
        },
        http: tx.map(|tx| http_object(tx, redact)),
        tls: tls.map(tls_object),
        app_proto: match (tx, tls) {
            (Some(_), _) => Some("http"),
            (None, Some(_)) => Some("tls"),
            (None, None) => None,
        },
        direction: alert.direction.as_str(),
        flow: FlowObject {
            pkts_toserver: flow.pkts_toserver,
            pkts_toclient: flow.pkts_toclient,
            bytes_toserver: flow.bytes_toserver,
            bytes_toclient: flow.bytes_toclient,
            start: format_timestamp(flow.start),
            src_ip: client.0,
            src_port: client.1,
            dest_ip: server.0,
            dest_port: server.1,
        },
        payload: payload.as_deref().map(base64),
        payload_printable: payload.as_deref().map(printable),
        pcap_filename,
    };
    to_line(&record)
}

/// The message an HTTP alert matched in, as on the wire (head, then the decoded body), cut
/// at 4 KiB like Suricata's default payload buffer: the `payload` of an HTTP alert.
pub fn http_payload(tx: &HttpTransaction, direction: AlertDirection) -> Vec<u8> {
    const MAX: usize = 4096;
    // A response body no rule could inspect keeps this much: all a payload shows of it.
    const _: () = assert!(MAX <= crate::http::RESPONSE_BODY_PREFIX);
    let (line, head, body) = match (direction, tx.response.as_ref()) {
        (AlertDirection::ToClient, Some(r)) => (r.response_line(), r.raw_headers(), &r.body[..]),
        _ => {
            let r = &tx.request;
            (r.request_line(), r.raw_headers(), &r.body[..])
        }
    };
    let mut m = Vec::new();
    for part in [line, &b"\r\n"[..], head, body] {
        let room = MAX - m.len();
        m.extend_from_slice(&part[..part.len().min(room)]);
    }
    m
}

/// One record as a JSON line. The records are plain structs of strings and numbers, which
/// always serialise.
pub(crate) fn to_line(record: &impl Serialize) -> Vec<u8> {
    let mut line = serde_json::to_vec(record).unwrap_or_default();
    line.push(b'\n');
    line
}

/// `bytes` with their credentials masked when there is a redactor.
fn redacted<'a>(bytes: &'a [u8], redact: Option<&Redactor>) -> std::borrow::Cow<'a, [u8]> {
    match redact {
        Some(r) => r.redact(bytes),
        None => std::borrow::Cow::Borrowed(bytes),
    }
}

/// The `http` object of a record.
fn http_object(tx: &HttpTransaction, redact: Option<&Redactor>) -> HttpObject {
    let req = &tx.request;
    let (hostname, http_port) = match host::hostname(req) {
        Some((h, p)) => (Some(bytes_to_string(&h)), p),
        None => (None, None),
    };
    let header = |name: &str| req.headers.get(name).map(bytes_to_string);
    let response = tx.response.as_ref();
    HttpObject {
        hostname,
        http_port,
        url: bytes_to_string(&redacted(req.target(), redact)),
        http_user_agent: header("user-agent"),
        http_content_type: response
            .and_then(|r| r.headers.get("content-type"))
            .map(bytes_to_string),
        http_refer: req
            .headers
            .get("referer")
            .map(|v| bytes_to_string(&redacted(v, redact))),
        http_method: bytes_to_string(req.method()),
        protocol: bytes_to_string(req.protocol()),
        status: response.map(|r| r.status),
        length: response.map(|r| r.body_len).unwrap_or(0),
    }
}

/// A rule `reference` as Suricata logs it: URLs for the known systems, else `system,id`.
fn reference_url(system: &str, id: &str) -> String {
    match system {
        "url" => format!("http://{id}"),
        "cve" => format!("http://cve.mitre.org/cgi-bin/cvename.cgi?name={id}"),
        _ => format!("{system},{id}"),
    }
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The printable ASCII of `bytes`, other bytes as `.` (Suricata's `payload_printable`).
fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\r' {
                char::from(b)
            } else {
                '.'
            }
        })
        .collect()
}

/// exhound's own facts about a transaction, as EVE flow variables: the IIS view of the URL
/// when it differs from the wire, and the anomaly flags.
fn metadata(tx: &HttpTransaction, redact: Option<&Redactor>) -> Option<Metadata> {
    let mut vars = Vec::new();
    let iis = tx.request.uri.to_bytes();
    if iis != tx.request.target() {
        vars.push(FlowVar {
            key: "iis_url",
            value: bytes_to_string(&redacted(&iis, redact)),
        });
    }
    let f = &tx.flags;
    let names: Vec<&str> = [
        (f.midstream, "midstream"),
        (f.request_gap, "request_gap"),
        (f.response_gap, "response_gap"),
        (f.request_body_truncated, "request_body_truncated"),
        (f.response_body_truncated, "response_body_truncated"),
        (f.incomplete, "incomplete"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, n)| *n)
    .collect();
    if !names.is_empty() {
        vars.push(FlowVar {
            key: "tx_flags",
            value: names.join(","),
        });
    }
    let events: Vec<&str> = tx.request.events.iter().map(|e| e.name()).collect();
    if !events.is_empty() {
        vars.push(FlowVar {
            key: "http_events",
            value: events.join(","),
        });
    }
    (!vars.is_empty()).then_some(Metadata { flowvars: vars })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Headers, HttpRequest, HttpResponse, NormalizedUri, PacketRef, StartLine};

    fn tx() -> HttpTransaction {
        let request = HttpRequest {
            line: StartLine::from_words([b"GET", b"/ecp/%79.js", b"HTTP/1.1"]),
            headers: Headers::from_pairs([
                ("Host", "Mail.Lab:443"),
                ("User-Agent", "python-requests/2.25"),
            ]),
            uri: NormalizedUri {
                path: b"/ecp/y.js".to_vec(),
                query_raw: None,
                query_decoded: None,
            },
            ..Default::default()
        };
        let response = HttpResponse {
            line: StartLine::from_words([b"HTTP/1.1", b"500", b""]),
            status: 500,
            headers: Headers::from_pairs([("Content-Type", "text/html")]),
            body_len: 42,
            ..Default::default()
        };
        HttpTransaction {
            tx_id: 3,
            request,
            response: Some(response),
            completed_at: PacketRef {
                ts: Timestamp::from_parts(1_614_765_600, 123_456_789),
                pcap_cnt: 9,
            },
            ..Default::default()
        }
    }

    fn facts() -> FlowFacts {
        FlowFacts {
            flow_id: 77,
            client_ip: "192.0.2.10".parse().unwrap(),
            client_port: 51000,
            server_ip: "198.51.100.5".parse().unwrap(),
            server_port: 443,
            vlan: vec![],
            start: Timestamp::from_secs(1_614_765_599),
            first_packet: 1,
            pkts_toserver: 3,
            pkts_toclient: 2,
            bytes_toserver: 400,
            bytes_toclient: 300,
        }
    }

    #[test]
    fn http_record_has_suricata_fields() {
        let line =
            String::from_utf8(http_line(&facts(), &tx(), None, Some("x.pcap"), None)).unwrap();
        assert!(line.ends_with("}\n") && line.matches('\n').count() == 1);
        assert!(line.starts_with("{\"timestamp\":\"2021-03-03T10:00:00.123456+0000\",\"flow_id\":77,\"pcap_cnt\":9,\"event_type\":\"http\""), "{line}");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["src_ip"], "192.0.2.10");
        assert_eq!(v["dest_port"], 443);
        assert_eq!(v["tx_id"], 3);
        assert_eq!(v["http"]["hostname"], "mail.lab");
        assert_eq!(v["http"]["http_port"], 443);
        assert_eq!(v["http"]["url"], "/ecp/%79.js");
        assert_eq!(v["http"]["status"], 500);
        assert_eq!(v["http"]["length"], 42);
        assert_eq!(v["http"]["http_content_type"], "text/html");
        assert_eq!(v["http"]["http_user_agent"], "python-requests/2.25");
        assert_eq!(v["metadata"]["flowvars"][0]["value"], "/ecp/y.js");
        assert_eq!(v["pcap_filename"], "x.pcap");
    }

    #[test]
    fn request_without_response_has_no_status() {
        let mut t = tx();
        t.response = None;
        t.flags.incomplete = true;
        let v: serde_json::Value =
            serde_json::from_slice(&http_line(&facts(), &t, None, None, None)).unwrap();
        assert!(v["http"].get("status").is_none());
        assert_eq!(v["http"]["length"], 0);
        assert_eq!(v["metadata"]["flowvars"][1]["value"], "incomplete");
        assert!(v.get("pcap_filename").is_none());
    }

    #[test]
    fn http_payload_is_the_side_that_matched_cut_at_4_kib() {
        let mut t = tx();
        t.request.line = StartLine::request(b"POST /ecp/y.js HTTP/1.1");
        t.request.headers = Headers::from_pairs([("Host", "x")]);
        t.request.headers.put_block_first(b"Host: x\r\n\r\n");
        t.request.body = vec![b'a'; 10_000];
        if let Some(r) = t.response.as_mut() {
            r.line = StartLine::from_words([b"HTTP/1.1", b"200", b"OK"]);
            r.headers = Headers::default();
            r.headers.put_block_first(b"\r\n");
            r.body = b"ok".to_vec();
        }
        let m = http_payload(&t, AlertDirection::ToServer);
        assert_eq!(m.len(), 4096);
        assert!(m.starts_with(b"POST /ecp/y.js HTTP/1.1\r\nHost: x\r\n\r\naaa"));
        assert_eq!(
            http_payload(&t, AlertDirection::ToClient),
            b"HTTP/1.1 200 OK\r\n\r\nok"
        );
        t.response = None;
        assert_eq!(&http_payload(&t, AlertDirection::ToClient)[..4], b"POST");
    }

    #[test]
    fn non_utf8_bytes_are_escaped() {
        assert_eq!(bytes_to_string(b"/a\xff\x01b"), "/a\\xFF\\x01b");
        assert_eq!(bytes_to_string("/é".as_bytes()), "/é");
    }

    #[test]
    fn absolute_target_gives_the_hostname() {
        let mut t = tx();
        t.request.line =
            StartLine::from_words([b"GET", b"http://User@EVIL.example:8080/x", b"HTTP/1.1"]);
        let http = http_object(&t, None);
        assert_eq!(http.hostname.as_deref(), Some("evil.example"));
        assert_eq!(http.http_port, Some(8080));
    }

    #[test]
    fn flow_id_fits_51_bits() {
        let id = flow_id(Timestamp::from_parts(0xFFFF_FFFF, 999_999_000), u32::MAX);
        assert!(id < (1 << 51));
        assert_eq!(
            flow_id(Timestamp::from_parts(1, 2000), 5),
            (1 << 48) | (2 << 32) | 5
        );
    }

    #[test]
    fn timestamp_format_matches_eve() {
        assert_eq!(
            format_timestamp(Timestamp::from_parts(0, 1_000)),
            "1970-01-01T00:00:00.000001+0000"
        );
        // The fast path agrees with the formatted one, across dates and fractions.
        for (secs, nanos) in [
            (1_614_765_600, 387_108_000),
            (951_782_400, 999_999_999),
            (4_102_444_799, 0),
            (253_402_300_799, 123_000),
        ] {
            let ts = Timestamp::from_parts(secs, nanos);
            let date = time::OffsetDateTime::from_unix_timestamp(ts.secs()).unwrap();
            assert_eq!(format_timestamp(ts), slow_timestamp(&date, ts), "{secs}");
        }
        assert_eq!(
            format_timestamp(Timestamp::from_parts(1_614_765_600, 387_108_000)),
            "2021-03-03T10:00:00.387108+0000"
        );
    }
}
