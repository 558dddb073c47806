//! RFC 5424 syslog messages carrying EVE lines, and their framing on a stream (RFC 6587
//! octet counting, which RFC 5425 prescribes for TLS).
//!
//! A message is `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG`: PRI is the facility
//! times 8 plus the severity, TIMESTAMP the time the record was handed to the output (UTC, microseconds),
//! APP-NAME `exhound`, PROCID the process id, MSGID the record's `event_type`, no structured
//! data, and MSG the EVE JSON line without its newline. On a stream each message is sent as
//! `LEN SP MSG`, LEN being the message's length in octets in decimal; over UDP one message
//! is one datagram.

use std::time::SystemTime;

/// A syslog facility (0-23).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facility(pub u8);

impl Facility {
    /// `local5`: the facility Suricata's EVE syslog output uses by default.
    pub const LOCAL5: Facility = Facility(21);

    const NAMES: [&'static str; 24] = [
        "kern",
        "user",
        "mail",
        "daemon",
        "auth",
        "syslog",
        "lpr",
        "news",
        "uucp",
        "cron",
        "authpriv",
        "ftp",
        "ntp",
        "security",
        "console",
        "solaris-cron",
        "local0",
        "local1",
        "local2",
        "local3",
        "local4",
        "local5",
        "local6",
        "local7",
    ];

    /// A facility by name (`local5`) or number (`21`).
    pub fn parse(s: &str) -> Option<Facility> {
        if let Ok(n) = s.parse::<u8>() {
            return (n < 24).then_some(Facility(n));
        }
        let lower = s.to_ascii_lowercase();
        Self::NAMES
            .iter()
            .position(|n| *n == lower)
            .and_then(|i| u8::try_from(i).ok())
            .map(Facility)
    }
}

/// Syslog severities used.
pub mod severity {
    /// Critical conditions.
    pub const CRIT: u8 = 2;
    /// Error conditions.
    pub const ERR: u8 = 3;
    /// Warning conditions.
    pub const WARNING: u8 = 4;
    /// Normal but significant.
    pub const NOTICE: u8 = 5;
    /// Informational.
    pub const INFO: u8 = 6;
}

/// What the header says about one EVE line: its `event_type` and, for alerts, the syslog
/// severity of the alert's severity (1 → crit, 2 → err, 3 → warning, others → notice);
/// other records are info.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineFacts<'a> {
    /// The record's `event_type` (`-` if none was found).
    pub event_type: &'a str,
    /// The syslog severity.
    pub severity: u8,
}

impl<'a> LineFacts<'a> {
    /// Reads them from an EVE line. Strings in JSON cannot hold an unescaped `"`, so the
    /// first `"event_type":"` is the record's own key.
    pub fn of(line: &'a [u8]) -> LineFacts<'a> {
        let event_type = string_after(line, b"\"event_type\":\"").unwrap_or("-");
        let severity = if event_type == "alert" {
            match number_after(line, b"\"severity\":") {
                Some(1) => severity::CRIT,
                Some(2) => severity::ERR,
                Some(3) => severity::WARNING,
                _ => severity::NOTICE,
            }
        } else {
            severity::INFO
        };
        LineFacts {
            event_type,
            severity,
        }
    }
}

fn string_after<'a>(line: &'a [u8], key: &[u8]) -> Option<&'a str> {
    let start = memchr::memmem::find(line, key)? + key.len();
    let len = memchr::memchr(b'"', &line[start..])?;
    std::str::from_utf8(&line[start..start + len]).ok()
}

fn number_after(line: &[u8], key: &[u8]) -> Option<u64> {
    let start = memchr::memmem::find(line, key)? + key.len();
    let digits = line[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    std::str::from_utf8(&line[start..start + digits])
        .ok()?
        .parse()
        .ok()
}

/// The fixed parts of every message of one output.
#[derive(Debug, Clone)]
pub struct Header {
    facility: Facility,
    hostname: String,
    procid: String,
}

impl Header {
    /// The header fields of messages from this host and process.
    pub fn new(facility: Facility, hostname: &str, pid: u32) -> Header {
        Header {
            facility,
            hostname: field(hostname, 255),
            procid: pid.to_string(),
        }
    }

    /// The RFC 5424 message of one EVE line (its newline dropped), stamped `at`.
    pub fn message(&self, line: &[u8], at: SystemTime) -> Vec<u8> {
        let facts = LineFacts::of(line);
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let pri = u16::from(self.facility.0) * 8 + u16::from(facts.severity);
        let head = format!(
            "<{pri}>1 {} {} exhound {} {} - ",
            timestamp(at),
            self.hostname,
            self.procid,
            field(facts.event_type, 32),
        );
        let mut out = Vec::with_capacity(head.len() + body.len());
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(body);
        out
    }
}

/// A header field: printable US-ASCII without spaces, at most `max` characters, `-` if
/// empty (RFC 5424 §6).
fn field(s: &str, max: usize) -> String {
    let f: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if f.is_empty() {
        "-".into()
    } else {
        f
    }
}

/// RFC 5424 TIMESTAMP: `2021-03-03T10:00:00.123456Z`.
pub fn timestamp(at: SystemTime) -> String {
    let d = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let t = time::OffsetDateTime::from_unix_timestamp(i64::try_from(d.as_secs()).unwrap_or(0))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        d.subsec_micros()
    )
}

/// Appends one octet-counted frame (RFC 6587 §3.4.1, RFC 5425 §4.3): `LEN SP MSG`.
pub fn frame(msg: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(msg.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(msg);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const ALERT: &[u8] = br#"{"timestamp":"2021-03-03T10:00:00.000000+0000","flow_id":1,"event_type":"alert","src_ip":"1.2.3.4","alert":{"action":"allowed","gid":1,"signature_id":9,"rev":1,"signature":"x \"severity\":1","category":"","severity":2}}
"#;

    #[test]
    fn facilities_by_name_and_number() {
        assert_eq!(Facility::parse("local5"), Some(Facility::LOCAL5));
        assert_eq!(Facility::parse("LOCAL0"), Some(Facility(16)));
        assert_eq!(Facility::parse("kern"), Some(Facility(0)));
        assert_eq!(Facility::parse("23"), Some(Facility(23)));
        assert_eq!(Facility::parse("24"), None);
        assert_eq!(Facility::parse("local8"), None);
    }

    #[test]
    fn an_alert_message_is_exact() {
        let h = Header::new(Facility::LOCAL5, "sensor 1", 4242);
        let at = SystemTime::UNIX_EPOCH + Duration::from_micros(1_614_765_600_000_007);
        let m = h.message(ALERT, at);
        // local5 (21) × 8 + err (3): the alert's severity 2. The escaped "severity" inside
        // the signature is not the key.
        let want = format!(
            "<171>1 2021-03-03T10:00:00.000007Z sensor1 exhound 4242 alert - {}",
            std::str::from_utf8(&ALERT[..ALERT.len() - 1]).unwrap()
        );
        assert_eq!(std::str::from_utf8(&m).unwrap(), want);
    }

    #[test]
    fn other_records_are_info_and_nameless_hosts_a_dash() {
        let h = Header::new(Facility(1), "", 1);
        let m = h.message(
            br#"{"timestamp":"t","event_type":"stats","stats":{}}"#,
            SystemTime::UNIX_EPOCH,
        );
        assert!(
            m.starts_with(b"<14>1 1970-01-01T00:00:00.000000Z - exhound 1 stats - {"),
            "{}",
            String::from_utf8_lossy(&m)
        );
        let facts = LineFacts::of(b"not json");
        assert_eq!((facts.event_type, facts.severity), ("-", severity::INFO));
    }

    #[test]
    fn severities_of_alerts() {
        let sev = |n: &str| {
            LineFacts::of(
                format!(r#"{{"event_type":"alert","alert":{{"severity":{n}}}}}"#).as_bytes(),
            )
            .severity
        };
        assert_eq!(sev("1"), severity::CRIT);
        assert_eq!(sev("2"), severity::ERR);
        assert_eq!(sev("3"), severity::WARNING);
        assert_eq!(sev("4"), severity::NOTICE);
        assert_eq!(sev("255"), severity::NOTICE);
    }

    #[test]
    fn octet_counting_frames() {
        let mut out = Vec::new();
        frame(b"<14>1 - - - - - - hi", &mut out);
        frame("é".as_bytes(), &mut out);
        // Octets, not characters: é is two.
        assert_eq!(out, b"20 <14>1 - - - - - - hi2 \xc3\xa9");
    }
}
