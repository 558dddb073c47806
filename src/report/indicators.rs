//! Indicators for MISP and OpenCTI: the attackers' addresses, the web shells' URLs and file
//! names, and the user agents of the attack tools, as CSV ([`csv`]) or as a STIX 2.1 bundle
//! ([`stix`]) of `indicator` objects (STIX patterns) and one `observed-data` per chain (the
//! two addresses, the connection, the shells' URLs).
//!
//! Full browser user agents are not indicators (the PoCs send stock browser strings that
//! real users send too). STIX ids are UUIDv5, never random: cyber-observables by the
//! specification's rule (namespace `00abedb4-aa42-466c-9c01-fed23315a9b7` over their
//! identifying properties, §2.9), the other objects under exhound's namespace over their
//! content; `created`, `modified`, `valid_from` and the observation times come from the
//! alerts. So the same EVE gives the same bundle.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sha1::{Digest, Sha1};

use super::model::is_browser_user_agent;
use super::Report;

/// One indicator.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Indicator {
    /// `ipv4-addr`, `ipv6-addr`, `url`, `file` or `user-agent`.
    pub kind: &'static str,
    /// The address, URL, file name or user agent.
    pub value: String,
    /// What it is in this report.
    pub context: String,
    /// First alert it was seen in (UTC).
    pub first_seen: String,
    /// Last alert.
    pub last_seen: String,
    /// The chains it was seen in.
    pub chains: Vec<String>,
}

/// The URL a shell path is reached at on a chain's server: `https` on 443, `http` on 80,
/// else `http` with the port; the first `Host` name sent, else the server's address.
fn shell_url(path: &str, host: &str, port: u16) -> String {
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    match port {
        443 => format!("https://{host}{path}"),
        80 => format!("http://{host}{path}"),
        p => format!("http://{host}:{p}{path}"),
    }
}

/// Every indicator of the report, sorted by kind and value.
pub fn indicators(report: &Report) -> Vec<Indicator> {
    let mut map: BTreeMap<(&'static str, String), Indicator> = BTreeMap::new();
    let mut add = |kind: &'static str,
                   value: String,
                   context: String,
                   first: &str,
                   last: &str,
                   chain: &str| {
        let e = map
            .entry((kind, value.clone()))
            .or_insert_with(|| Indicator {
                kind,
                value,
                context,
                first_seen: first.to_string(),
                last_seen: last.to_string(),
                chains: Vec::new(),
            });
        if first < e.first_seen.as_str() {
            e.first_seen = first.to_string();
        }
        if last > e.last_seen.as_str() {
            e.last_seen = last.to_string();
        }
        if !e.chains.iter().any(|c| c == chain) {
            e.chains.push(chain.to_string());
        }
    };
    for c in &report.chains {
        let kind = if c.client_ip.contains(':') {
            "ipv6-addr"
        } else {
            "ipv4-addr"
        };
        let families = if c.families.is_empty() {
            "-".to_string()
        } else {
            c.families.join(" ")
        };
        add(
            kind,
            c.client_ip.clone(),
            format!(
                "attacker of {} ({families}; {}; furthest stage: {})",
                c.server_ip, c.outcome, c.furthest_stage
            ),
            &c.first_seen,
            &c.last_seen,
            &c.id,
        );
        for ua in &c.user_agents {
            if is_browser_user_agent(&ua.value) || ua.value.trim().is_empty() {
                continue;
            }
            add(
                "user-agent",
                ua.value.clone(),
                "user agent of an attacking client".to_string(),
                &c.first_seen,
                &c.last_seen,
                &c.id,
            );
        }
        let host = c
            .hostnames
            .first()
            .cloned()
            .unwrap_or_else(|| c.server_ip.clone());
        let port = c.server_ports.first().copied().unwrap_or(80);
        for path in &c.shells {
            let Some(shell) = report.shells.iter().find(|s| &s.path == path) else {
                continue;
            };
            let state = match (shell.written, shell.answered) {
                (_, true) => "web shell that answered",
                (true, false) => "web shell written",
                (false, false) => "web shell requested",
            };
            let first = [shell.written_at.as_deref(), shell.first_used.as_deref()]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(&c.first_seen);
            let last = shell.last_used.as_deref().unwrap_or(first);
            if path.starts_with('/') {
                add(
                    "url",
                    shell_url(path, &host, port),
                    state.to_string(),
                    first,
                    last,
                    &c.id,
                );
            }
            let name = path.rsplit('/').next().unwrap_or(path);
            if !name.is_empty() {
                add(
                    "file",
                    name.to_string(),
                    format!("{state}: {path}"),
                    first,
                    last,
                    &c.id,
                );
            }
        }
    }
    map.into_values().collect()
}

/// One CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The indicators as CSV: `type,value,context,first_seen,last_seen,chains` (chains
/// separated by spaces), one line per indicator, CRLF line ends (RFC 4180).
pub fn csv(report: &Report) -> String {
    let mut out = String::from("type,value,context,first_seen,last_seen,chains\r\n");
    for i in indicators(report) {
        let fields = [
            i.kind.to_string(),
            i.value.clone(),
            i.context.clone(),
            i.first_seen.clone(),
            i.last_seen.clone(),
            i.chains.join(" "),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The namespace of STIX cyber-observable ids (STIX 2.1 §2.9).
const STIX_SCO_NAMESPACE: [u8; 16] = [
    0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c, 0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7,
];

/// exhound's namespace for the ids of the other STIX objects it writes.
const EXHOUND_NAMESPACE: [u8; 16] = [
    0x6b, 0x1e, 0x9a, 0x52, 0x3c, 0x7d, 0x5f, 0x0e, 0x8a, 0x41, 0x2d, 0x93, 0xc6, 0x57, 0x0b, 0xe4,
];

/// A name-based UUID, version 5 (SHA-1), RFC 9562 §5.5.
pub fn uuid_v5(namespace: &[u8; 16], name: &str) -> String {
    let mut h = Sha1::new();
    h.update(namespace);
    h.update(name.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A JSON string literal.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// A string in a STIX pattern: `'` and `\` escaped.
fn pattern_string(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The id of a cyber-observable whose identifying property is `value`.
fn sco_id(kind: &str, value: &str) -> String {
    format!(
        "{kind}--{}",
        uuid_v5(
            &STIX_SCO_NAMESPACE,
            &format!("{{\"value\":{}}}", quoted(value))
        )
    )
}

fn pattern(i: &Indicator) -> String {
    let v = pattern_string(&i.value);
    match i.kind {
        "user-agent" => {
            format!(
                "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = {v}]"
            )
        }
        "file" => format!("[file:name = {v}]"),
        kind => format!("[{kind}:value = {v}]"),
    }
}

/// The report as a STIX 2.1 bundle: an `indicator` per indicator, and per chain an
/// `observed-data` referring to the client's and the server's addresses, the connection
/// (`network-traffic`) and the URLs of the shells it used, with those cyber-observables.
pub fn stix(report: &Report) -> String {
    let mut objects: Vec<Value> = Vec::new();
    for i in indicators(report) {
        let id = format!(
            "indicator--{}",
            uuid_v5(
                &EXHOUND_NAMESPACE,
                &format!("indicator\n{}\n{}", i.kind, i.value)
            )
        );
        objects.push(json!({
            "type": "indicator",
            "spec_version": "2.1",
            "id": id,
            "created": i.first_seen,
            "modified": i.last_seen,
            "name": format!("{}: {}", i.kind, i.value),
            "description": format!("{} (exhound {})", i.context, i.chains.join(", ")),
            "indicator_types": ["malicious-activity"],
            "pattern": pattern(&i),
            "pattern_type": "stix",
            "pattern_version": "2.1",
            "valid_from": i.first_seen,
        }));
    }
    let mut scos: BTreeMap<String, Value> = BTreeMap::new();
    for c in &report.chains {
        let mut refs = Vec::new();
        let addr = |ip: &str, scos: &mut BTreeMap<String, Value>| {
            let kind = if ip.contains(':') {
                "ipv6-addr"
            } else {
                "ipv4-addr"
            };
            let id = sco_id(kind, ip);
            scos.entry(id.clone()).or_insert_with(
                || json!({"type": kind, "spec_version": "2.1", "id": id, "value": ip}),
            );
            id
        };
        let src = addr(&c.client_ip, &mut scos);
        let dst = addr(&c.server_ip, &mut scos);
        let port = c.server_ports.first().copied().unwrap_or(0);
        let protocols = if c.client_ip.contains(':') {
            ["ipv6", "tcp", "http"]
        } else {
            ["ipv4", "tcp", "http"]
        };
        let nt_name = format!(
            "{{\"dst_port\":{port},\"dst_ref\":{},\"protocols\":[{}],\"src_ref\":{}}}",
            quoted(&dst),
            protocols
                .iter()
                .map(|p| quoted(p))
                .collect::<Vec<_>>()
                .join(","),
            quoted(&src)
        );
        let nt = format!(
            "network-traffic--{}",
            uuid_v5(&STIX_SCO_NAMESPACE, &nt_name)
        );
        scos.entry(nt.clone()).or_insert_with(|| {
            json!({
                "type": "network-traffic", "spec_version": "2.1", "id": nt,
                "src_ref": src, "dst_ref": dst, "dst_port": port, "protocols": protocols,
            })
        });
        refs.extend([src.clone(), dst.clone(), nt]);
        let host = c
            .hostnames
            .first()
            .cloned()
            .unwrap_or_else(|| c.server_ip.clone());
        for path in c.shells.iter().filter(|p| p.starts_with('/')) {
            let url = shell_url(path, &host, port);
            let id = sco_id("url", &url);
            scos.entry(id.clone()).or_insert_with(
                || json!({"type": "url", "spec_version": "2.1", "id": id, "value": url}),
            );
            refs.push(id);
        }
        refs.sort();
        refs.dedup();
        let id = format!(
            "observed-data--{}",
            uuid_v5(
                &EXHOUND_NAMESPACE,
                &format!("observed-data\n{}\n{}", c.client_ip, c.server_ip)
            )
        );
        objects.push(json!({
            "type": "observed-data",
            "spec_version": "2.1",
            "id": id,
            "created": c.first_seen,
            "modified": c.last_seen,
            "first_observed": c.first_seen,
            "last_observed": c.last_seen,
            "number_observed": c.alerts.max(1),
            "object_refs": refs,
        }));
    }
    objects.extend(scos.into_values());
    let ids: Vec<&str> = objects
        .iter()
        .filter_map(|o| o.get("id").and_then(Value::as_str))
        .collect();
    let bundle_id = format!("bundle--{}", uuid_v5(&EXHOUND_NAMESPACE, &ids.join("\n")));
    let bundle = json!({"type": "bundle", "id": bundle_id, "objects": objects});
    let mut s = serde_json::to_string_pretty(&bundle).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_v5_matches_the_rfc_example() {
        // RFC 9562 appendix A.4: DNS namespace, "www.example.com".
        let dns = [
            0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4,
            0x30, 0xc8,
        ];
        assert_eq!(
            uuid_v5(&dns, "www.example.com"),
            "2ed6657d-e927-568b-95e1-2665a8aea6a2"
        );
    }

    #[test]
    fn stix_patterns_escape_quotes_and_backslashes() {
        let i = Indicator {
            kind: "user-agent",
            value: r"a'b\c".to_string(),
            context: String::new(),
            first_seen: String::new(),
            last_seen: String::new(),
            chains: Vec::new(),
        };
        assert_eq!(
            pattern(&i),
            r"[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = 'a\'b\\c']"
        );
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
