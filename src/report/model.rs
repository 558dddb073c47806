//! EVE alert records → the report's model: attack chains, web shells, campaigns.
//!
//! [`Builder`] takes EVE lines — exhound's or Suricata's — one at a time: every record is
//! checked to be a JSON object, records other than `alert` are only counted, and each alert
//! keeps what the report needs (time, client, server, rule and its `metadata`, the `http`
//! object, the IIS view of the URL from `metadata.flowvars`, `payload_printable`).
//! [`Builder::finish`] sorts the alerts on all their fields (so that the order of the input
//! does not matter) and builds the [`Report`]:
//!
//! * a **chain** per client → server pair (the client is the side that sent the request,
//!   whichever way the alert's data went), with a row per attack stage (rule metadata
//!   `stage`) in the order of the attack's logic ([`STAGES`]), not of time: first and last
//!   time, alerts, attempts and successes (`outcome succeeded`, or priority 1 for rules
//!   without that key), the answers that showed success, the rules and URLs;
//! * the **web shells**: paths written (the `FilePathName` or `\\host\c$\…` path in the
//!   payload of a file-write alert, mapped to the URL it is served at), paths used (the path
//!   of a web-shell alert's URL as IIS routes it, without its query) and whether the shell answered (a succeeded
//!   web-shell alert on that path);
//! * **campaigns**: sources that share a web-shell path or a user agent (full browser user
//!   agents are left out: the PoCs send stock browser strings, which would join strangers).
//!
//! Nothing is un-redacted: the report holds what the EVE holds. Nothing depends on hash-map
//! order or on the clock: the same alerts give the same report, byte for byte.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;
use serde_json::Value;

use super::ReportError;
use crate::http::NormalizedUri;

/// The value of the `schema` field of the JSON report.
pub const SCHEMA_ID: &str = "exhound-report/1";

/// Attack stages (rule metadata `stage`) in the order of an attack's logic, with the name
/// the report gives them. Stages not in this list follow, in name order.
pub const STAGES: &[(&str, &str)] = &[
    ("probe", "Vulnerability check"),
    ("ssrf", "SSRF"),
    ("recon", "Reconnaissance"),
    ("auth-bypass", "Authentication bypass"),
    ("sid-leak", "SID leak"),
    ("ecp-session", "ECP session"),
    ("priv-esc", "Privilege escalation / PowerShell"),
    ("rce", "Code execution (deserialization)"),
    ("xss", "Cross-site scripting"),
    ("mail-access", "Mailbox access"),
    ("mail-theft", "Mail theft"),
    ("mail-forward", "Mail forwarding rule"),
    ("vdir-tamper", "Virtual-directory tamper"),
    ("shell-staging", "Shell staged in a mailbox"),
    ("file-write", "File write"),
    ("webshell", "Web-shell use"),
    ("tunnel", "Tunnel through a web shell"),
    ("tool", "Tool fingerprint"),
    ("evasion", "Evasion / ambiguity"),
];

/// Most URLs kept per stage, and most answers kept as evidence per stage (the totals are
/// given beside them).
const KEEP_URLS: usize = 10;
const KEEP_EVIDENCE: usize = 10;

/// The whole report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// [`SCHEMA_ID`].
    pub schema: &'static str,
    /// What was read.
    pub input: InputCounts,
    /// First and last alert (UTC), when there are alerts.
    pub first_seen: Option<String>,
    /// Last alert.
    pub last_seen: Option<String>,
    /// The counts a reader sees first.
    pub summary: Summary,
    /// One per client → server pair, by first alert.
    pub chains: Vec<Chain>,
    /// Web shells written or used, by path.
    pub shells: Vec<Shell>,
    /// Groups of sources that look like one campaign.
    pub campaigns: Vec<Campaign>,
}

/// Records read.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct InputCounts {
    /// EVE records (lines) read.
    pub records: u64,
    /// `alert` records among them.
    pub alerts: u64,
    /// Records of other event types (skipped).
    pub other_events: u64,
    /// A last line without its newline that was not a whole record (a file being written):
    /// skipped and counted here.
    pub truncated_lines: u64,
}

/// The headline counts.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Summary {
    /// Chains (client → server pairs with alerts).
    pub chains: usize,
    /// Distinct clients.
    pub sources: usize,
    /// Distinct servers.
    pub servers: usize,
    /// Chains where some alert said the attack succeeded.
    pub succeeded_chains: usize,
    /// Web shells seen.
    pub shells: usize,
    /// Web shells that answered.
    pub shells_answered: usize,
    /// Campaigns (groups of two sources or more).
    pub campaigns: usize,
}

/// What one client did to one server.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Chain {
    /// `chain-N`, numbered by first alert.
    pub id: String,
    /// The client (attacker).
    pub client_ip: String,
    /// The server.
    pub server_ip: String,
    /// Server ports seen, ascending.
    pub server_ports: Vec<u16>,
    /// `Host` names sent, sorted.
    pub hostnames: Vec<String>,
    /// First alert.
    pub first_seen: String,
    /// Last alert.
    pub last_seen: String,
    /// Alerts.
    pub alerts: u64,
    /// `shell-answered` (a web shell answered), `succeeded` (some alert said the attack
    /// succeeded) or `attempted`.
    pub outcome: String,
    /// The furthest stage reached (in [`STAGES`] order) and whether it succeeded.
    pub furthest_stage: String,
    /// Rule metadata `family`, sorted.
    pub families: Vec<String>,
    /// Rule metadata `cve`, sorted.
    pub cves: Vec<String>,
    /// The stages, in the order of the attack's logic.
    pub stages: Vec<Stage>,
    /// Paths of the web shells this client wrote or used.
    pub shells: Vec<String>,
    /// User agents sent, with their alert counts.
    pub user_agents: Vec<Counted>,
    /// Tool fingerprints (rules of family or stage `tool`).
    pub tools: Vec<RuleCount>,
    /// E-mail addresses seen in the alerts' URLs and payloads (mailboxes targeted).
    pub mailboxes: Vec<String>,
    /// Domain SIDs (`S-1-5-21-…`) seen in the alerts' URLs and payloads.
    pub sids: Vec<String>,
    /// The campaign this chain's client belongs to.
    pub campaign: Option<String>,
}

/// One attack stage of a chain.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stage {
    /// Rule metadata `stage` (`other` for alerts without one).
    pub name: String,
    /// What the report calls it.
    pub label: String,
    /// First alert.
    pub first_seen: String,
    /// Last alert.
    pub last_seen: String,
    /// Alerts.
    pub alerts: u64,
    /// Alerts on requests and other attempts.
    pub attempts: u64,
    /// Alerts that said the stage succeeded.
    pub successes: u64,
    /// Whether any did.
    pub succeeded: bool,
    /// The first success.
    pub first_success: Option<String>,
    /// Rule metadata `family` of its alerts, sorted.
    pub families: Vec<String>,
    /// Its rules, by sid.
    pub signatures: Vec<RuleCount>,
    /// Distinct URLs (sorted; at most 10).
    pub urls: Vec<String>,
    /// Distinct URLs in all.
    pub urls_total: usize,
    /// The answers that showed success, by time (at most 10).
    pub evidence: Vec<Evidence>,
    /// Distinct answers in all.
    pub evidence_total: usize,
    /// For a file-write stage with no success alert of its own: the web shell this client
    /// wrote that later answered (`PATH answered at TIME`), which shows the write worked.
    /// `succeeded` stays what the alerts said.
    pub confirmed_by: Option<String>,
}

/// An answer that showed success.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Evidence {
    /// When it was first seen.
    pub time: String,
    /// The rule.
    pub signature_id: u64,
    /// Its message.
    pub signature: String,
    /// HTTP status of the answer.
    pub status: Option<u64>,
    /// The request's method.
    pub method: Option<String>,
    /// The request's URL.
    pub url: Option<String>,
    /// Times this answer (same rule, status and URL) was seen.
    pub count: u64,
}

/// A rule and how many alerts it raised.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuleCount {
    /// `signature_id`.
    pub signature_id: u64,
    /// `signature`.
    pub signature: String,
    /// Alerts.
    pub count: u64,
}

/// A value and how often it was seen.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Counted {
    /// The value.
    pub value: String,
    /// Alerts carrying it.
    pub count: u64,
}

/// A web shell.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Shell {
    /// The URL path it is served at (as first seen; matched without case, as IIS does), or
    /// the file name when a written file's path does not say where it is served.
    pub path: String,
    /// Whether a file-write alert named it.
    pub written: bool,
    /// The file paths written, as the payload named them.
    pub written_as: Vec<String>,
    /// When it was first written.
    pub written_at: Option<String>,
    /// Clients that wrote it.
    pub written_by: Vec<String>,
    /// Web-shell alerts on it.
    pub uses: u64,
    /// First use.
    pub first_used: Option<String>,
    /// Last use.
    pub last_used: Option<String>,
    /// Clients that used it.
    pub used_by: Vec<String>,
    /// Whether it answered (a succeeded web-shell alert on it).
    pub answered: bool,
    /// When it first answered.
    pub answered_at: Option<String>,
    /// The rules that fired on it, by sid.
    pub signatures: Vec<RuleCount>,
}

/// Sources that look like one campaign.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Campaign {
    /// `campaign-N`, numbered by first alert.
    pub id: String,
    /// The clients, sorted.
    pub sources: Vec<String>,
    /// Their chains.
    pub chains: Vec<String>,
    /// Web-shell paths two of them or more share.
    pub shared_shells: Vec<String>,
    /// User agents two of them or more share.
    pub shared_user_agents: Vec<String>,
    /// First alert of any of them.
    pub first_seen: String,
    /// Last alert.
    pub last_seen: String,
}

/// One alert, as the report needs it. Field order is the sort order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Alert {
    /// Microseconds since the epoch, UTC.
    time: i64,
    client: IpAddr,
    server: IpAddr,
    server_port: u16,
    sid: u64,
    signature: String,
    severity: u64,
    metadata: BTreeMap<String, Vec<String>>,
    to_client: bool,
    hostname: Option<String>,
    method: Option<String>,
    url: Option<String>,
    iis_url: Option<String>,
    user_agent: Option<String>,
    status: Option<u64>,
    payload: Option<String>,
}

impl Alert {
    fn meta(&self, key: &str) -> &[String] {
        self.metadata.get(key).map_or(&[], Vec::as_slice)
    }

    fn has(&self, key: &str, value: &str) -> bool {
        self.meta(key).iter().any(|v| v.eq_ignore_ascii_case(value))
    }

    /// Whether the alert says the attack succeeded: `outcome succeeded`, or priority 1 for
    /// a rule that has no `outcome` key.
    fn succeeded(&self) -> bool {
        if self.metadata.contains_key("outcome") {
            self.has("outcome", "succeeded")
        } else {
            self.severity == 1
        }
    }

    fn stage(&self) -> &str {
        self.meta("stage").first().map_or("other", String::as_str)
    }

    fn is_webshell(&self) -> bool {
        self.has("tag", "webshell")
            || self.has("family", "webshell")
            || matches!(self.stage(), "webshell" | "tunnel")
    }

    fn is_tool(&self) -> bool {
        self.has("family", "tool") || self.stage() == "tool"
    }

    /// The path of the request as IIS routes it (percent-decoded, `\\` as `/`, slashes
    /// folded, dot-segments removed: [`NormalizedUri`]), without its query.
    fn path(&self) -> Option<String> {
        let url = self.iis_url.as_deref().or(self.url.as_deref())?;
        let n = NormalizedUri::from_target(url.as_bytes());
        let path = String::from_utf8_lossy(&n.path).into_owned();
        (!path.is_empty()).then_some(path)
    }
}

/// Reads EVE lines and builds the [`Report`].
#[derive(Debug, Default)]
pub struct Builder {
    alerts: Vec<Alert>,
    input: InputCounts,
}

impl Builder {
    /// An empty builder.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Reads every line of `reader` (named `name` in errors). A line that is not an EVE
    /// record is an error naming `name:line`, except a last line without its newline (a
    /// file still being written), which is counted in `truncated_lines`.
    pub fn read(
        &mut self,
        name: &str,
        mut reader: impl std::io::BufRead,
    ) -> Result<(), ReportError> {
        let mut buf = Vec::new();
        let mut line_no = 0u64;
        loop {
            buf.clear();
            let n = reader
                .read_until(b'\n', &mut buf)
                .map_err(|source| ReportError::Read {
                    name: name.to_string(),
                    source,
                })?;
            if n == 0 {
                return Ok(());
            }
            line_no += 1;
            let whole = buf.last() == Some(&b'\n');
            match self.line(&buf) {
                Ok(()) => {}
                Err(_) if !whole => {
                    self.input.truncated_lines += 1;
                }
                Err(reason) => {
                    return Err(ReportError::Malformed {
                        name: name.to_string(),
                        line: line_no,
                        reason,
                    })
                }
            }
        }
    }

    /// Takes one EVE line (with or without its newline; blank lines are ignored). Returns
    /// why the line is not an EVE record.
    pub fn line(&mut self, line: &[u8]) -> Result<(), String> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        // Most records of a Suricata EVE are not alerts: read their type only (the whole
        // line is still checked to be JSON), and build the tree for alerts.
        #[derive(serde::Deserialize)]
        struct Head<'a> {
            #[serde(borrow)]
            event_type: Option<std::borrow::Cow<'a, str>>,
        }
        if line.trim_ascii_start().first() != Some(&b'{') {
            return Err("not a JSON object".to_string());
        }
        let head: Head = serde_json::from_slice(line).map_err(|e| format!("not JSON: {e}"))?;
        let event_type = head.event_type.ok_or("no event_type")?;
        self.input.records += 1;
        if event_type != "alert" {
            self.input.other_events += 1;
            return Ok(());
        }
        let record: Value = serde_json::from_slice(line).map_err(|e| format!("not JSON: {e}"))?;
        let alert = parse_alert(&record)?;
        self.input.alerts += 1;
        self.alerts.push(alert);
        Ok(())
    }

    /// The report of the alerts read.
    pub fn finish(mut self) -> Report {
        self.alerts.sort();
        build(&self.alerts, self.input)
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = v;
    for p in path {
        v = v.get(p)?;
    }
    v.as_str()
}

fn parse_ip(v: &Value, path: &[&str]) -> Option<IpAddr> {
    str_at(v, path).and_then(|s| s.parse().ok())
}

fn parse_alert(r: &Value) -> Result<Alert, String> {
    let ts = str_at(r, &["timestamp"]).ok_or("alert without timestamp")?;
    let time = parse_time(ts).ok_or_else(|| format!("timestamp {ts:?} is not RFC 3339"))?;
    let a = r
        .get("alert")
        .ok_or("alert record without an alert object")?;
    let sid = a
        .get("signature_id")
        .and_then(Value::as_u64)
        .ok_or("alert without signature_id")?;
    let signature = str_at(a, &["signature"]).unwrap_or("").to_string();
    let severity = a.get("severity").and_then(Value::as_u64).unwrap_or(3);
    let mut metadata: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Some(m) = a.get("metadata").and_then(Value::as_object) {
        for (k, v) in m {
            let values: Vec<String> = match v {
                Value::Array(items) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect(),
                Value::String(s) => vec![s.clone()],
                _ => Vec::new(),
            };
            let entry = metadata.entry(k.to_ascii_lowercase()).or_default();
            entry.extend(values);
            entry.sort();
            entry.dedup();
        }
    }
    let src = parse_ip(r, &["src_ip"]).ok_or("alert without a valid src_ip")?;
    let dest = parse_ip(r, &["dest_ip"]).ok_or("alert without a valid dest_ip")?;
    let src_port = r.get("src_port").and_then(Value::as_u64).unwrap_or(0);
    let dest_port = r.get("dest_port").and_then(Value::as_u64).unwrap_or(0);
    // Which side is the client: the `flow` object says it (exhound, Suricata 7+); else the
    // alert's `direction`; else a success rule is taken to have matched the answer.
    let to_client = match str_at(r, &["direction"]) {
        Some(d) => d == "to_client",
        None => {
            let outcome = metadata
                .get("outcome")
                .is_some_and(|o| o.iter().any(|v| v == "succeeded"));
            outcome || (!metadata.contains_key("outcome") && severity == 1)
        }
    };
    let (client, server, server_port) = match (
        parse_ip(r, &["flow", "src_ip"]),
        parse_ip(r, &["flow", "dest_ip"]),
    ) {
        (Some(c), Some(s)) => {
            let port = r
                .get("flow")
                .and_then(|f| f.get("dest_port"))
                .and_then(Value::as_u64)
                .unwrap_or(if to_client { src_port } else { dest_port });
            (c, s, port)
        }
        _ if to_client => (dest, src, src_port),
        _ => (src, dest, dest_port),
    };
    let http = r.get("http");
    let h = |k: &str| http.and_then(|h| h.get(k)).and_then(Value::as_str);
    let iis_url = r
        .get("metadata")
        .and_then(|m| m.get("flowvars"))
        .and_then(Value::as_array)
        .and_then(|vars| {
            vars.iter().find_map(|v| {
                // exhound: {key, value}; Suricata: {name: value}.
                if v.get("key").and_then(Value::as_str) == Some("iis_url") {
                    v.get("value").and_then(Value::as_str)
                } else {
                    v.get("iis_url").and_then(Value::as_str)
                }
            })
        });
    Ok(Alert {
        time,
        client,
        server,
        server_port: u16::try_from(server_port).unwrap_or(0),
        sid,
        signature,
        severity,
        metadata,
        to_client,
        hostname: h("hostname").map(str::to_string),
        method: h("http_method").map(str::to_string),
        url: h("url").map(str::to_string),
        iis_url: iis_url.map(str::to_string),
        user_agent: h("http_user_agent").map(str::to_string),
        status: http.and_then(|h| h.get("status")).and_then(Value::as_u64),
        payload: str_at(r, &["payload_printable"]).map(str::to_string),
    })
}

/// Microseconds since the epoch of an RFC 3339 time as EVE writes it
/// (`2021-03-03T10:00:00.123456+0000`, `…Z`, `…+01:00`).
pub fn parse_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut micros = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let mut scaled = 0i64;
        for (i, c) in frac.bytes().take(digits).enumerate() {
            if i < 6 {
                scaled = scaled * 10 + i64::from(c - b'0');
            }
        }
        for _ in digits..6 {
            scaled *= 10;
        }
        micros = scaled;
        rest = &frac[digits..];
    }
    let offset_secs = match rest {
        "Z" | "z" | "" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = rest[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let oh: i64 = digits[..2].parse().ok()?;
            let om: i64 = digits[2..].parse().ok()?;
            sign * (oh * 3600 + om * 60)
        }
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_secs;
    Some(secs * 1_000_000 + micros)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A time as the report writes it: UTC, microseconds, `Z`.
pub fn format_time(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:06}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Where a stage sits in the attack's logic.
fn stage_rank(name: &str) -> (usize, &str) {
    match STAGES.iter().position(|(n, _)| *n == name) {
        Some(i) => (i, ""),
        None => (STAGES.len(), name),
    }
}

fn stage_label(name: &str) -> String {
    if name == "other" {
        return "Other alerts (rules without a stage)".to_string();
    }
    STAGES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or_else(|| name.to_string(), |(_, l)| (*l).to_string())
}

/// Whether a user agent is a full browser string (left out of campaign grouping).
pub fn is_browser_user_agent(ua: &str) -> bool {
    ua.starts_with("Mozilla/5.0 (")
        && [
            "Chrome/", "Firefox/", "Safari/", "Edg/", "Trident/", "Gecko/",
        ]
        .iter()
        .any(|t| ua.contains(t))
}

fn written_path_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // A Windows path (UNC `\\host\c$\…` or `C:\…`) ending in a server-side script.
        Regex::new(r#"(?i)(?:\\\\[^\\"'\s<>]+\\[a-z]\$|[a-z]:)(?:\\[^\\"'\r\n<>]+)*?\\[^\\"'\s<>]+\.as[hmp]x"#)
            .unwrap_or_else(|e| unreachable!("built-in regex: {e}"))
    })
}

fn email_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(:[0-9])?")
            .unwrap_or_else(|e| unreachable!("built-in regex: {e}"))
    })
}

fn sid_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"S-1-5-21(?:-[0-9]{1,10}){4}")
            .unwrap_or_else(|e| unreachable!("built-in regex: {e}"))
    })
}

/// The Windows paths of server-side scripts a payload writes: in its text (as sent, or with
/// JSON's `\\` read as `\`) and in the base64 runs of 40 characters or more it carries
/// (PowerShell remoting sends `New-MailboxExportRequest -FilePath …` base64-encoded). Runs of
/// backslashes are folded to one, but the two of a UNC path.
pub fn written_files(payload: &str) -> Vec<String> {
    let mut texts = vec![payload.to_string(), payload.replace("\\\\", "\\")];
    texts.extend(base64_runs(payload));
    let mut out: Vec<String> = texts
        .iter()
        .flat_map(|t| {
            written_path_re()
                .find_iter(t)
                .map(|m| fold_backslashes(m.as_str()))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn fold_backslashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    if path.starts_with("\\\\") {
        out.push('\\');
    }
    let mut last = None;
    for c in path.chars() {
        if !(c == '\\' && last == Some('\\')) {
            out.push(c);
        }
        last = Some(c);
    }
    out
}

/// The bytes (as Latin-1 text) of every run of 40 base64 characters or more in `text`.
fn base64_runs(text: &str) -> Vec<String> {
    fn value(c: u8) -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    }
    let bytes = text.as_bytes();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && value(bytes[i]).is_some() {
            i += 1;
        }
        if i - start >= 40 {
            let mut acc = 0u32;
            let mut bits = 0;
            let mut decoded = String::new();
            for &c in &bytes[start..i] {
                acc = (acc << 6) | value(c).unwrap_or(0);
                bits += 6;
                if bits >= 8 {
                    bits -= 8;
                    decoded.push(char::from(((acc >> bits) & 0xff) as u8));
                }
            }
            runs.push(decoded);
        }
        i += 1;
    }
    runs
}

/// The URL path a written file is served at: under `FrontEnd\HttpProxy\` (the front end's
/// virtual directories), `inetpub\wwwroot\` or `ClientAccess\`; otherwise its file name
/// alone.
pub fn served_path(file: &str) -> String {
    let slashed = file.replace('\\', "/");
    let lower = slashed.to_ascii_lowercase();
    for root in [
        "/frontend/httpproxy/",
        "/inetpub/wwwroot/",
        "/clientaccess/",
    ] {
        if let Some(i) = lower.find(root) {
            return format!("/{}", &slashed[i + root.len()..]);
        }
    }
    slashed.rsplit('/').next().unwrap_or(&slashed).to_string()
}

/// The e-mail addresses in `text` (`%40` read as `@`), leaving out `user@host:port`
/// (the back-end server of an SSRF cookie).
fn emails(text: &str, out: &mut BTreeSet<String>) {
    let text = text.replace("%40", "@").replace("%2540", "@");
    for m in email_re().find_iter(&text) {
        let s = m.as_str();
        if s.contains(':') {
            continue;
        }
        out.insert(s.to_ascii_lowercase());
    }
}

fn sids(text: &str, out: &mut BTreeSet<String>) {
    for m in sid_re().find_iter(text) {
        out.insert(m.as_str().to_string());
    }
}

/// An answer: (sid, status, method, url); mapped to (first time, count, message).
type AnswerKey<'a> = (u64, Option<u64>, Option<&'a str>, Option<&'a str>);

#[derive(Default)]
struct StageAcc<'a> {
    first: i64,
    last: i64,
    alerts: u64,
    successes: u64,
    first_success: Option<i64>,
    families: BTreeSet<&'a str>,
    rules: BTreeMap<u64, (&'a str, u64)>,
    urls: BTreeSet<&'a str>,
    evidence: BTreeMap<AnswerKey<'a>, (i64, u64, &'a str)>,
}

#[derive(Default)]
struct ShellAcc<'a> {
    written_as: BTreeSet<String>,
    written_at: Option<i64>,
    written_by: BTreeSet<IpAddr>,
    uses: u64,
    first_used: Option<i64>,
    last_used: Option<i64>,
    used_by: BTreeSet<IpAddr>,
    answered_at: Option<i64>,
    rules: BTreeMap<u64, (&'a str, u64)>,
    display: Option<String>,
}

fn count_rule<'a>(map: &mut BTreeMap<u64, (&'a str, u64)>, a: &'a Alert) {
    map.entry(a.sid).or_insert((&a.signature, 0)).1 += 1;
}

fn rule_counts(map: &BTreeMap<u64, (&str, u64)>) -> Vec<RuleCount> {
    map.iter()
        .map(|(sid, (msg, n))| RuleCount {
            signature_id: *sid,
            signature: (*msg).to_string(),
            count: *n,
        })
        .collect()
}

fn sorted<T: Ord + ToString>(set: &BTreeSet<T>) -> Vec<String> {
    set.iter().map(ToString::to_string).collect()
}

/// Builds the report of `alerts`, sorted.
fn build(alerts: &[Alert], input: InputCounts) -> Report {
    // Web shells, keyed by lower-cased path (IIS paths are case-insensitive).
    let mut shells: BTreeMap<String, ShellAcc> = BTreeMap::new();
    for a in alerts {
        if a.stage() == "file-write" && !a.to_client {
            for file in a.payload.as_deref().map(written_files).unwrap_or_default() {
                let path = served_path(&file);
                let s = shells.entry(path.to_ascii_lowercase()).or_default();
                s.display.get_or_insert(path);
                s.written_as.insert(file);
                s.written_at.get_or_insert(a.time);
                s.written_by.insert(a.client);
            }
        }
    }
    for a in alerts {
        if !a.is_webshell() {
            continue;
        }
        let Some(path) = a.path() else { continue };
        let path = path.as_str();
        let mut key = path.to_ascii_lowercase();
        // A written file known only by name is the shell used under that name.
        let name = key.rsplit('/').next().unwrap_or(&key).to_string();
        if !shells.contains_key(&key) && shells.contains_key(&name) {
            let moved = shells.remove(&name).unwrap_or_default();
            shells.insert(key.clone(), moved);
        }
        if key.is_empty() {
            key = name;
        }
        let s = shells.entry(key).or_default();
        if s.display.as_deref().is_none_or(|d| !d.starts_with('/')) {
            s.display = Some(path.to_string());
        }
        s.uses += 1;
        s.first_used.get_or_insert(a.time);
        s.last_used = Some(a.time);
        s.used_by.insert(a.client);
        count_rule(&mut s.rules, a);
        if a.succeeded() {
            s.answered_at.get_or_insert(a.time);
        }
    }
    let shell_list: Vec<Shell> = shells
        .values()
        .map(|s| Shell {
            path: s.display.clone().unwrap_or_default(),
            written: !s.written_as.is_empty(),
            written_as: s.written_as.iter().cloned().collect(),
            written_at: s.written_at.map(format_time),
            written_by: sorted(&s.written_by),
            uses: s.uses,
            first_used: s.first_used.map(format_time),
            last_used: s.last_used.map(format_time),
            used_by: sorted(&s.used_by),
            answered: s.answered_at.is_some(),
            answered_at: s.answered_at.map(format_time),
            signatures: rule_counts(&s.rules),
        })
        .collect();

    // Chains.
    let mut by_pair: BTreeMap<(IpAddr, IpAddr), Vec<&Alert>> = BTreeMap::new();
    for a in alerts {
        by_pair.entry((a.client, a.server)).or_default().push(a);
    }
    let mut chains: Vec<Chain> = by_pair
        .iter()
        .map(|((client, server), list)| chain(*client, *server, list, &shell_list))
        .collect();
    chains.sort_by(|a, b| {
        (&a.first_seen, &a.client_ip, &a.server_ip).cmp(&(
            &b.first_seen,
            &b.client_ip,
            &b.server_ip,
        ))
    });
    // Chain ids follow the time order; first_seen strings sort as times (same format).
    for (i, c) in chains.iter_mut().enumerate() {
        c.id = format!("chain-{}", i + 1);
    }

    let campaigns = campaigns(&mut chains, &shell_list);
    let sources: BTreeSet<&str> = chains.iter().map(|c| c.client_ip.as_str()).collect();
    let servers: BTreeSet<&str> = chains.iter().map(|c| c.server_ip.as_str()).collect();
    let summary = Summary {
        chains: chains.len(),
        sources: sources.len(),
        servers: servers.len(),
        succeeded_chains: chains.iter().filter(|c| c.outcome != "attempted").count(),
        shells: shell_list.len(),
        shells_answered: shell_list.iter().filter(|s| s.answered).count(),
        campaigns: campaigns.len(),
    };
    Report {
        schema: SCHEMA_ID,
        input,
        first_seen: alerts.iter().map(|a| a.time).min().map(format_time),
        last_seen: alerts.iter().map(|a| a.time).max().map(format_time),
        summary,
        chains,
        shells: shell_list,
        campaigns,
    }
}

fn chain(client: IpAddr, server: IpAddr, list: &[&Alert], shells: &[Shell]) -> Chain {
    let mut stages: BTreeMap<(usize, &str), StageAcc> = BTreeMap::new();
    let mut ports = BTreeSet::new();
    let mut hosts = BTreeSet::new();
    let mut families = BTreeSet::new();
    let mut cves = BTreeSet::new();
    let mut uas: BTreeMap<&str, u64> = BTreeMap::new();
    let mut tools = BTreeMap::new();
    let mut mailboxes = BTreeSet::new();
    let mut sid_set = BTreeSet::new();
    for a in list {
        ports.insert(a.server_port);
        if let Some(h) = &a.hostname {
            hosts.insert(h.as_str());
        }
        for f in a.meta("family") {
            families.insert(f.as_str());
        }
        for c in a.meta("cve") {
            cves.insert(c.as_str());
        }
        if let Some(ua) = &a.user_agent {
            *uas.entry(ua.as_str()).or_default() += 1;
        }
        if a.is_tool() {
            count_rule(&mut tools, a);
        }
        for text in [a.url.as_deref(), a.payload.as_deref()]
            .into_iter()
            .flatten()
        {
            emails(text, &mut mailboxes);
            sids(text, &mut sid_set);
        }
        let name = a.stage();
        let s = stages.entry(stage_rank(name)).or_insert_with(|| StageAcc {
            first: a.time,
            ..StageAcc::default()
        });
        s.last = a.time;
        s.alerts += 1;
        for f in a.meta("family") {
            s.families.insert(f.as_str());
        }
        count_rule(&mut s.rules, a);
        if let Some(u) = &a.url {
            s.urls.insert(u.as_str());
        }
        if a.succeeded() {
            s.successes += 1;
            s.first_success.get_or_insert(a.time);
            let key = (a.sid, a.status, a.method.as_deref(), a.url.as_deref());
            s.evidence.entry(key).or_insert((a.time, 0, &a.signature)).1 += 1;
        }
    }
    let stage_list: Vec<Stage> = stages
        .iter()
        .map(|((rank, other), s)| {
            let name = if *rank < STAGES.len() {
                STAGES[*rank].0.to_string()
            } else {
                (*other).to_string()
            };
            let mut evidence: Vec<Evidence> = s
                .evidence
                .iter()
                .map(|((sid, status, method, url), (t, n, msg))| Evidence {
                    time: format_time(*t),
                    signature_id: *sid,
                    signature: (*msg).to_string(),
                    status: *status,
                    method: method.map(str::to_string),
                    url: url.map(str::to_string),
                    count: *n,
                })
                .collect();
            evidence.sort_by(|a, b| (&a.time, a.signature_id).cmp(&(&b.time, b.signature_id)));
            let evidence_total = evidence.len();
            evidence.truncate(KEEP_EVIDENCE);
            Stage {
                label: stage_label(&name),
                name,
                first_seen: format_time(s.first),
                last_seen: format_time(s.last),
                alerts: s.alerts,
                attempts: s.alerts - s.successes,
                successes: s.successes,
                succeeded: s.successes > 0,
                first_success: s.first_success.map(format_time),
                families: s.families.iter().map(|f| (*f).to_string()).collect(),
                signatures: rule_counts(&s.rules),
                urls: s
                    .urls
                    .iter()
                    .take(KEEP_URLS)
                    .map(|u| (*u).to_string())
                    .collect(),
                urls_total: s.urls.len(),
                evidence,
                evidence_total,
                confirmed_by: None,
            }
        })
        .collect();
    let client_s = client.to_string();
    let mut stage_list = stage_list;
    for st in stage_list
        .iter_mut()
        .filter(|s| s.name == "file-write" && !s.succeeded)
    {
        st.confirmed_by = shells
            .iter()
            .filter(|s| s.written_by.contains(&client_s))
            .filter_map(|s| Some((s.answered_at.as_ref()?, &s.path)))
            .min()
            .map(|(at, path)| format!("{path} answered at {at}"));
    }
    let chain_shells: Vec<String> = shells
        .iter()
        .filter(|s| s.written_by.contains(&client_s) || s.used_by.contains(&client_s))
        .map(|s| s.path.clone())
        .collect();
    let answered = shells
        .iter()
        .any(|s| s.answered && s.used_by.contains(&client_s));
    let succeeded = stage_list.iter().any(|s| s.succeeded);
    let outcome = if answered {
        "shell-answered"
    } else if succeeded {
        "succeeded"
    } else {
        "attempted"
    };
    let furthest = stage_list
        .iter()
        .rfind(|s| !matches!(s.name.as_str(), "tool" | "evasion" | "other"))
        .or(stage_list.last())
        .map(|s| {
            format!(
                "{} ({})",
                s.label,
                if s.succeeded {
                    "succeeded"
                } else {
                    "attempted"
                }
            )
        })
        .unwrap_or_default();
    let mut user_agents: Vec<Counted> = uas
        .iter()
        .map(|(v, n)| Counted {
            value: (*v).to_string(),
            count: *n,
        })
        .collect();
    user_agents.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    let first = list.iter().map(|a| a.time).min().unwrap_or(0);
    let last = list.iter().map(|a| a.time).max().unwrap_or(0);
    Chain {
        id: String::new(),
        client_ip: client_s,
        server_ip: server.to_string(),
        server_ports: ports.into_iter().collect(),
        hostnames: hosts.into_iter().map(str::to_string).collect(),
        first_seen: format_time(first),
        last_seen: format_time(last),
        alerts: list.len() as u64,
        outcome: outcome.to_string(),
        furthest_stage: furthest,
        families: families.into_iter().map(str::to_string).collect(),
        cves: cves.into_iter().map(str::to_string).collect(),
        stages: stage_list,
        shells: chain_shells,
        user_agents,
        tools: rule_counts(&tools),
        mailboxes: mailboxes.into_iter().collect(),
        sids: sid_set.into_iter().collect(),
        campaign: None,
    }
}

/// Groups sources that share a web-shell path or a (non-browser) user agent, and marks
/// their chains.
fn campaigns(chains: &mut [Chain], shells: &[Shell]) -> Vec<Campaign> {
    // Union-find over clients, in sorted order.
    let clients: Vec<String> = chains
        .iter()
        .map(|c| c.client_ip.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let index = |ip: &str| clients.iter().position(|c| c == ip);
    let mut parent: Vec<usize> = (0..clients.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let union = |parent: &mut Vec<usize>, members: &[usize]| {
        for w in members.windows(2) {
            let (a, b) = (root(parent, w[0]), root(parent, w[1]));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
    };
    let mut shared_shells: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for s in shells {
        let members: BTreeSet<usize> = s
            .written_by
            .iter()
            .chain(&s.used_by)
            .filter_map(|ip| index(ip))
            .collect();
        if members.len() > 1 {
            shared_shells.insert(s.path.clone(), members);
        }
    }
    let mut ua_users: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    for c in chains.iter() {
        for ua in &c.user_agents {
            if !is_browser_user_agent(&ua.value) && !ua.value.trim().is_empty() {
                if let Some(i) = index(&c.client_ip) {
                    ua_users.entry(ua.value.as_str()).or_default().insert(i);
                }
            }
        }
    }
    let shared_uas: BTreeMap<String, BTreeSet<usize>> = ua_users
        .into_iter()
        .filter(|(_, m)| m.len() > 1)
        .map(|(ua, m)| (ua.to_string(), m))
        .collect();
    for members in shared_shells.values().chain(shared_uas.values()) {
        let m: Vec<usize> = members.iter().copied().collect();
        union(&mut parent, &m);
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..clients.len() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut out: Vec<Campaign> = groups
        .values()
        .filter(|m| m.len() > 1)
        .map(|members| {
            let ips: BTreeSet<&str> = members.iter().map(|&i| clients[i].as_str()).collect();
            let in_group = |set: &BTreeSet<usize>| set.iter().any(|i| members.contains(i));
            let group_chains: Vec<&Chain> = chains
                .iter()
                .filter(|c| ips.contains(c.client_ip.as_str()))
                .collect();
            Campaign {
                id: String::new(),
                sources: ips.iter().map(|s| (*s).to_string()).collect(),
                chains: group_chains.iter().map(|c| c.id.clone()).collect(),
                shared_shells: shared_shells
                    .iter()
                    .filter(|(_, m)| in_group(m))
                    .map(|(p, _)| p.clone())
                    .collect(),
                shared_user_agents: shared_uas
                    .iter()
                    .filter(|(_, m)| in_group(m))
                    .map(|(u, _)| u.clone())
                    .collect(),
                first_seen: group_chains
                    .iter()
                    .map(|c| c.first_seen.clone())
                    .min()
                    .unwrap_or_default(),
                last_seen: group_chains
                    .iter()
                    .map(|c| c.last_seen.clone())
                    .max()
                    .unwrap_or_default(),
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.first_seen, &a.sources).cmp(&(&b.first_seen, &b.sources)));
    for (i, c) in out.iter_mut().enumerate() {
        c.id = format!("campaign-{}", i + 1);
        for chain in chains.iter_mut() {
            if c.sources.contains(&chain.client_ip) {
                chain.campaign = Some(c.id.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An exhound-style alert line.
    #[allow(clippy::too_many_arguments)]
    fn alert(
        t: &str,
        client: &str,
        server: &str,
        to_client: bool,
        sid: u64,
        stage: &str,
        family: &str,
        succeeded: bool,
        url: &str,
        ua: &str,
    ) -> String {
        let (src, dst) = if to_client {
            (server, client)
        } else {
            (client, server)
        };
        let mut meta = json!({"stage": [stage], "family": [family]});
        if succeeded {
            meta["outcome"] = json!(["succeeded"]);
        }
        if family == "webshell" {
            meta["tag"] = json!(["webshell"]);
        }
        json!({
            "timestamp": format!("2021-03-03T10:00:{t}+0000"),
            "event_type": "alert",
            "src_ip": src, "src_port": if to_client { 443 } else { 50000 },
            "dest_ip": dst, "dest_port": if to_client { 50000 } else { 443 },
            "alert": {"signature_id": sid, "signature": format!("rule {sid}"),
                      "severity": if succeeded { 1 } else { 2 }, "metadata": meta},
            "http": {"hostname": "mail.example", "url": url, "http_user_agent": ua,
                     "http_method": "POST", "status": if to_client { Some(200) } else { None }},
            "direction": if to_client { "to_client" } else { "to_server" },
        })
        .to_string()
    }

    fn report(lines: &[String]) -> Report {
        let mut b = Builder::new();
        for l in lines {
            b.line(l.as_bytes()).unwrap();
        }
        b.finish()
    }

    #[test]
    fn stages_follow_the_attack_not_the_clock() {
        let r = report(&[
            // The web shell is requested before the SSRF is logged (clock skew, or the
            // shell of an earlier visit): it still comes after the SSRF.
            alert(
                "01.000000",
                "10.0.0.1",
                "10.0.0.9",
                false,
                4210602,
                "webshell",
                "webshell",
                false,
                "/owa/auth/x.aspx",
                "curl/7",
            ),
            alert(
                "02.000000",
                "10.0.0.1",
                "10.0.0.9",
                false,
                4210001,
                "ssrf",
                "proxylogon",
                false,
                "/ecp/y.js",
                "curl/7",
            ),
            alert(
                "03.000000",
                "10.0.0.1",
                "10.0.0.9",
                false,
                4210004,
                "sid-leak",
                "proxylogon",
                false,
                "/ecp/y.js",
                "curl/7",
            ),
            alert(
                "04.000000",
                "10.0.0.1",
                "10.0.0.9",
                false,
                4210003,
                "recon",
                "proxylogon",
                false,
                "/ecp/y.js",
                "curl/7",
            ),
        ]);
        let names: Vec<&str> = r.chains[0].stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["ssrf", "recon", "sid-leak", "webshell"]);
        assert_eq!(r.chains[0].outcome, "attempted");
    }

    #[test]
    fn an_answer_marks_its_stage_succeeded_with_evidence() {
        let r = report(&[
            alert(
                "01.000000",
                "10.0.0.1",
                "10.0.0.9",
                false,
                4210001,
                "ssrf",
                "proxylogon",
                false,
                "/ecp/y.js",
                "x",
            ),
            alert(
                "01.500000",
                "10.0.0.1",
                "10.0.0.9",
                true,
                4210050,
                "ssrf",
                "proxylogon",
                true,
                "/ecp/y.js",
                "x",
            ),
            alert(
                "02.000000",
                "10.0.0.1",
                "10.0.0.9",
                false,
                4210004,
                "sid-leak",
                "proxylogon",
                false,
                "/ecp/y.js",
                "x",
            ),
        ]);
        let c = &r.chains[0];
        // The answer's src is the server: the chain is still client → server.
        assert_eq!(
            (c.client_ip.as_str(), c.server_ip.as_str()),
            ("10.0.0.1", "10.0.0.9")
        );
        assert_eq!(r.chains.len(), 1);
        let ssrf = &c.stages[0];
        assert!(ssrf.succeeded);
        assert_eq!((ssrf.attempts, ssrf.successes), (1, 1));
        assert_eq!(
            ssrf.first_success.as_deref(),
            Some("2021-03-03T10:00:01.500000Z")
        );
        assert_eq!(ssrf.evidence[0].status, Some(200));
        assert_eq!(ssrf.evidence[0].signature_id, 4210050);
        assert!(!c.stages[1].succeeded);
        assert_eq!(c.outcome, "succeeded");
        assert_eq!(c.furthest_stage, "SID leak (attempted)");
    }

    #[test]
    fn written_shells_are_matched_to_their_use_and_answer() {
        let mut write = serde_json::from_str::<Value>(&alert(
            "01.000000",
            "10.0.0.1",
            "10.0.0.9",
            false,
            4210103,
            "file-write",
            "proxylogon",
            false,
            "/ecp/y.js",
            "x",
        ))
        .unwrap();
        write["payload_printable"] = json!(
            r#"{"FilePathName":"\\\\127.0.0.1\\c$\\Program Files\\Microsoft\\Exchange Server\\V15\\FrontEnd\\HttpProxy\\owa\\auth\\Evil.aspx"}"#
        );
        let r = report(&[
            write.to_string(),
            alert(
                "02.000000",
                "10.0.0.2",
                "10.0.0.9",
                false,
                4210602,
                "webshell",
                "webshell",
                false,
                "/OWA/auth/evil.aspx?c=1",
                "x",
            ),
            alert(
                "02.100000",
                "10.0.0.2",
                "10.0.0.9",
                true,
                4210651,
                "webshell",
                "webshell",
                true,
                "/OWA/auth/evil.aspx?c=1",
                "x",
            ),
        ]);
        assert_eq!(r.shells.len(), 1, "{:#?}", r.shells);
        let s = &r.shells[0];
        // As first seen: written before it was used.
        assert_eq!(s.path, "/owa/auth/Evil.aspx");
        assert!(s.written && s.answered);
        assert_eq!(s.written_by, ["10.0.0.1"]);
        assert_eq!(s.used_by, ["10.0.0.2"]);
        assert_eq!(
            s.answered_at.as_deref(),
            Some("2021-03-03T10:00:02.100000Z")
        );
        // The writer's file-write stage is confirmed by the answer, though no alert said so.
        let write = &r.chains[0].stages[0];
        assert_eq!(
            (write.name.as_str(), write.succeeded),
            ("file-write", false)
        );
        assert_eq!(
            write.confirmed_by.as_deref(),
            Some("/owa/auth/Evil.aspx answered at 2021-03-03T10:00:02.100000Z")
        );
        // The writer and the user share the shell: one campaign.
        assert_eq!(r.campaigns.len(), 1);
        assert_eq!(r.campaigns[0].sources, ["10.0.0.1", "10.0.0.2"]);
        assert_eq!(r.campaigns[0].shared_shells, ["/owa/auth/Evil.aspx"]);
        let outcomes: Vec<&str> = r.chains.iter().map(|c| c.outcome.as_str()).collect();
        assert_eq!(outcomes, ["attempted", "shell-answered"]);
        assert!(r
            .chains
            .iter()
            .all(|c| c.campaign.as_deref() == Some("campaign-1")));
    }

    #[test]
    fn shell_paths_are_the_paths_iis_routes() {
        let r = report(&[
            alert(
                "01.000000",
                "10.0.0.1",
                "10.0.0.9",
                false,
                4210601,
                "webshell",
                "webshell",
                false,
                r"/ASPNET_CLIENT/%73ystem_web\\x/../Shell.aspx?a=b",
                "x",
            ),
            alert(
                "02.000000",
                "10.0.0.2",
                "10.0.0.9",
                false,
                4210601,
                "webshell",
                "webshell",
                false,
                "/aspnet_client//system_web/shell.aspx",
                "y",
            ),
        ]);
        assert_eq!(r.shells.len(), 1, "{:#?}", r.shells);
        assert_eq!(r.shells[0].path, "/ASPNET_CLIENT/system_web/Shell.aspx");
        assert_eq!(r.shells[0].used_by, ["10.0.0.1", "10.0.0.2"]);
        assert_eq!(
            r.campaigns[0].shared_shells,
            ["/ASPNET_CLIENT/system_web/Shell.aspx"]
        );
    }

    #[test]
    fn user_agents_group_sources_but_browsers_do_not() {
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.190 Safari/537.36";
        let r = report(&[
            alert(
                "01.000000",
                "10.0.0.1",
                "10.0.0.9",
                false,
                4210001,
                "ssrf",
                "proxylogon",
                false,
                "/a",
                "Python PSRP Client",
            ),
            alert(
                "02.000000",
                "10.0.0.2",
                "10.0.0.9",
                false,
                4210001,
                "ssrf",
                "proxylogon",
                false,
                "/a",
                "Python PSRP Client",
            ),
            alert(
                "03.000000",
                "10.0.0.3",
                "10.0.0.9",
                false,
                4210001,
                "ssrf",
                "proxylogon",
                false,
                "/a",
                chrome,
            ),
            alert(
                "04.000000",
                "10.0.0.4",
                "10.0.0.9",
                false,
                4210001,
                "ssrf",
                "proxylogon",
                false,
                "/a",
                chrome,
            ),
        ]);
        assert_eq!(r.campaigns.len(), 1);
        assert_eq!(r.campaigns[0].sources, ["10.0.0.1", "10.0.0.2"]);
        assert_eq!(r.campaigns[0].shared_user_agents, ["Python PSRP Client"]);
        assert_eq!(r.chains[2].campaign, None);
    }

    #[test]
    fn input_order_does_not_change_the_report() {
        let lines = vec![
            alert(
                "01.000000",
                "10.0.0.1",
                "10.0.0.9",
                false,
                4210001,
                "ssrf",
                "proxylogon",
                false,
                "/a",
                "x",
            ),
            alert(
                "01.000000",
                "10.0.0.2",
                "10.0.0.9",
                false,
                4210001,
                "ssrf",
                "proxylogon",
                false,
                "/b",
                "y",
            ),
            alert(
                "02.000000",
                "10.0.0.1",
                "10.0.0.9",
                true,
                4210050,
                "ssrf",
                "proxylogon",
                true,
                "/a",
                "x",
            ),
        ];
        let mut reversed = lines.clone();
        reversed.reverse();
        assert_eq!(report(&lines), report(&reversed));
    }

    #[test]
    fn suricata_alerts_without_direction_or_outcome() {
        // Suricata 6: no `direction`, no `flow` addresses; metadata values as a string.
        let line = json!({
            "timestamp": "2021-03-03T11:00:00.5+01:00", "event_type": "alert",
            "src_ip": "10.0.0.9", "src_port": 443, "dest_ip": "10.0.0.1", "dest_port": 50000,
            "alert": {"signature_id": 4210050, "signature": "s", "severity": 1,
                      "metadata": {"stage": "ssrf"}},
        })
        .to_string();
        let r = report(&[line]);
        let c = &r.chains[0];
        assert_eq!(
            (c.client_ip.as_str(), c.server_ip.as_str()),
            ("10.0.0.1", "10.0.0.9")
        );
        assert_eq!(c.first_seen, "2021-03-03T10:00:00.500000Z");
        assert!(c.stages[0].succeeded);
    }

    #[test]
    fn bad_lines_are_errors_naming_the_line_and_others_are_skipped() {
        let mut b = Builder::new();
        let input = "{\"event_type\":\"http\",\"timestamp\":\"x\"}\n\n{\"event_type\":\"alert\"}\n";
        let e = b
            .read("eve.json", input.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("eve.json:3: not an EVE record: "), "{e}");
        let mut b = Builder::new();
        let e = b.read("e", "[1]\n".as_bytes()).unwrap_err().to_string();
        assert_eq!(e, "e:1: not an EVE record: not a JSON object");
        let mut b = Builder::new();
        let e = b
            .read("e", "{\"event_type\": 1}\n".as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("e:1: not an EVE record: not JSON: invalid type"),
            "{e}"
        );
        // A cut last line (a file being written) is counted, not an error.
        let mut b = Builder::new();
        b.read("e", "{\"event_type\":\"stats\"}\n{\"event_ty".as_bytes())
            .unwrap();
        let r = b.finish();
        assert_eq!(r.input.truncated_lines, 1);
        assert_eq!(r.input.other_events, 1);
        assert!(r.chains.is_empty());
    }

    #[test]
    fn times_parse_and_print() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_time("2021-03-03T10:00:00.123456+0000")
                .map(format_time)
                .as_deref(),
            Some("2021-03-03T10:00:00.123456Z")
        );
        assert_eq!(
            parse_time("2021-03-03T12:00:00-02:00")
                .map(format_time)
                .as_deref(),
            Some("2021-03-03T14:00:00.000000Z")
        );
        assert_eq!(
            parse_time("2024-02-29T00:00:00.1Z")
                .map(format_time)
                .as_deref(),
            Some("2024-02-29T00:00:00.100000Z")
        );
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2021-13-03T10:00:00Z"), None);
    }

    #[test]
    fn written_paths_map_to_urls() {
        assert_eq!(
            written_files(r#""FilePathName":"C:\\inetpub\\wwwroot\\aspnet_client\\qazwsx.aspx""#),
            [r"C:\inetpub\wwwroot\aspnet_client\qazwsx.aspx"]
        );
        assert_eq!(
            served_path(r"C:\inetpub\wwwroot\aspnet_client\q.aspx"),
            "/aspnet_client/q.aspx"
        );
        assert_eq!(
            served_path(
                r"\\127.0.0.1\c$\Program Files\Microsoft\Exchange Server\V15\FrontEnd\HttpProxy\owa\auth\k.aspx"
            ),
            "/owa/auth/k.aspx"
        );
        assert_eq!(served_path(r"D:\elsewhere\k.aspx"), "k.aspx");
        // PowerShell remoting: the export's path is base64 in the PSRP message.
        let psrp = "<rsp:Arguments>PE9iaj48UyBOPSJGaWxlUGF0aCI+XFxsb2NhbGhvc3RcYyRcaW5ldHB1Ylx3d3dyb290XGFzcG5ldF9jbGllbnRcc2hlbGwuYXNweDwvUz48L09iaj4=</rsp:Arguments>";
        assert_eq!(
            written_files(psrp),
            [r"\\localhost\c$\inetpub\wwwroot\aspnet_client\shell.aspx"]
        );
        assert_eq!(
            written_files(r"-FilePath \\127.0.0.1\c$\inetpub\wwwroot\aspnet_client\s.aspx"),
            [r"\\127.0.0.1\c$\inetpub\wwwroot\aspnet_client\s.aspx"]
        );
        let mut m = BTreeSet::new();
        emails(
            "/owa/Admin%40Contoso.com/powershell X-BEResource=Admin@EX01.contoso.local:444/mapi",
            &mut m,
        );
        assert_eq!(m.into_iter().collect::<Vec<_>>(), ["admin@contoso.com"]);
    }
}
