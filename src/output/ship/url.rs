//! Parses a shipping output's URL (`syslog://`, `syslog+tcp://`, `syslog+tls://`,
//! `redis://`) into a plain [`Target`], so that a wrong URL is refused before the sensor
//! starts, with a message that says what is wrong with it.
//!
//! Every option of an output is a query parameter of its URL, so that two outputs of the
//! same kind can differ (two TLS receivers with different CAs): `facility`, `queue`,
//! `ca`, `cert`, `key`, `name` (syslog) and `mode`, `queue` (redis). Values may be
//! percent-encoded.

use std::path::PathBuf;

use super::redis::RedisMode;
use super::syslog::Facility;
use super::ShipError;

/// Records an output's queue holds by default while its receiver is slow or away.
pub const DEFAULT_QUEUE: usize = 10_000;

/// Where records are shipped, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL as given (it names the output in messages; it carries no secrets).
    pub url: String,
    /// Host name or address of the receiver.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The protocol and its settings.
    pub kind: Kind,
    /// Records the queue holds before new ones are dropped.
    pub queue: usize,
}

/// The protocol of a [`Target`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// RFC 5424 syslog messages, over UDP (RFC 5426), TCP (RFC 6587 octet counting) or TLS
    /// (RFC 5425).
    Syslog {
        /// How the messages travel.
        transport: Transport,
        /// The facility of every message.
        facility: Facility,
    },
    /// Redis: RPUSH/LPUSH to a list or PUBLISH to a channel.
    Redis {
        /// The list or channel.
        key: String,
        /// Which command.
        mode: RedisMode,
    },
}

/// How syslog messages travel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// One message per datagram.
    Udp,
    /// Octet-counted frames on a TCP connection.
    Tcp,
    /// Octet-counted frames in TLS.
    Tls(TlsSettings),
}

/// The TLS settings of a `syslog+tls://` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM file of the certificate authorities that may sign the receiver's certificate.
    pub ca: PathBuf,
    /// PEM file of the client certificate (chain), with `key`.
    pub cert: Option<PathBuf>,
    /// PEM file of the client certificate's private key.
    pub key: Option<PathBuf>,
    /// The name the receiver's certificate must carry (default: the URL's host).
    pub server_name: String,
}

impl Target {
    /// Parses `url`. The error says what is wrong; the caller names the flag.
    pub fn parse(url: &str) -> Result<Target, ShipError> {
        let bad = |why: String| ShipError::Url {
            url: url.to_string(),
            why,
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            bad("no scheme (syslog://, syslog+tcp://, syslog+tls://, redis://)".into())
        })?;
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match rest.split_once('/') {
            Some((a, p)) => (a, p),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(bad(
                "user names and passwords are not supported in the URL".into()
            ));
        }
        let default_port = match scheme {
            "syslog" | "syslog+udp" | "syslog+tcp" => 514,
            "syslog+tls" => 6514,
            "redis" => 6379,
            other => {
                return Err(bad(format!(
                    "unknown scheme `{other}` (syslog, syslog+tcp, syslog+tls or redis)"
                )))
            }
        };
        let (host, port) = host_port(authority, default_port).map_err(bad)?;
        let mut params = Params::parse(query.unwrap_or("")).map_err(bad)?;
        let queue = match params.take("queue") {
            None => DEFAULT_QUEUE,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => return Err(bad(format!("queue={v}: want a number of records above 0"))),
            },
        };
        let kind = if scheme == "redis" {
            let key = percent_decode(path).map_err(bad)?;
            let key = if key.is_empty() {
                "suricata".to_string()
            } else {
                key
            };
            let mode = match params.take("mode") {
                None => RedisMode::Rpush,
                Some(m) => RedisMode::parse(&m).ok_or_else(|| {
                    bad(format!(
                        "mode={m}: want list, rpush, lpush, channel or publish"
                    ))
                })?,
            };
            Kind::Redis { key, mode }
        } else {
            if !path.is_empty() {
                return Err(bad(format!("a syslog URL has no path (`/{path}`)")));
            }
            let facility = match params.take("facility") {
                None => Facility::LOCAL5,
                Some(f) => Facility::parse(&f).ok_or_else(|| {
                    bad(format!(
                        "facility={f}: want a name (kern … local7) or a number 0-23"
                    ))
                })?,
            };
            let transport = match scheme {
                "syslog+tcp" => Transport::Tcp,
                "syslog+tls" => {
                    let ca = params.take("ca").ok_or_else(|| {
                        bad("syslog+tls needs ca=FILE (the CA certificates, PEM)".into())
                    })?;
                    let cert = params.take("cert");
                    let key = params.take("key");
                    if cert.is_some() != key.is_some() {
                        return Err(bad(
                            "a client certificate needs both cert=FILE and key=FILE".into(),
                        ));
                    }
                    let server_name = params.take("name").unwrap_or_else(|| host.clone());
                    Transport::Tls(TlsSettings {
                        ca: ca.into(),
                        cert: cert.map(PathBuf::from),
                        key: key.map(PathBuf::from),
                        server_name,
                    })
                }
                _ => Transport::Udp,
            };
            Kind::Syslog {
                transport,
                facility,
            }
        };
        if let Some(left) = params.first_left() {
            return Err(bad(format!("unknown option `{left}` for {scheme}")));
        }
        Ok(Target {
            url: url.to_string(),
            host,
            port,
            kind,
            queue,
        })
    }

    /// `host:port`, for connecting (IPv6 addresses in brackets).
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Splits `host[:port]` or `[v6][:port]`.
fn host_port(authority: &str, default_port: u16) -> Result<(String, u16), String> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| "an IPv6 address needs its closing `]`".to_string())?;
        match after {
            "" => (h, None),
            p => (
                h,
                Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| format!("`{p}` after the address"))?,
                ),
            ),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    let port = match port {
        None => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(format!("port `{p}`: want a number 1-65535")),
        },
    };
    Ok((host.to_string(), port))
}

/// The query parameters, taken one by one so that the unknown ones are left.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(query: &str) -> Result<Params, String> {
        let mut all = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| format!("option `{pair}` has no value (want NAME=VALUE)"))?;
            let k = percent_decode(k)?;
            if all.iter().any(|(seen, _)| *seen == k) {
                return Err(format!("option `{k}` given twice"));
            }
            all.push((k, percent_decode(v)?));
        }
        Ok(Params(all))
    }

    fn take(&mut self, name: &str) -> Option<String> {
        let i = self.0.iter().position(|(k, _)| k == name)?;
        Some(self.0.remove(i).1)
    }

    fn first_left(&self) -> Option<&str> {
        self.0.first().map(|(k, _)| k.as_str())
    }
}

/// Decodes `%XX` escapes (and nothing else: `+` stays a plus).
fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("`{s}`: `%` must be followed by two hex digits"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("`{s}` decodes to bytes that are not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(url: &str) -> String {
        match Target::parse(url) {
            Ok(t) => panic!("{url} parsed: {t:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn syslog_schemes_ports_and_defaults() {
        let t = Target::parse("syslog://127.0.0.1").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 514));
        assert_eq!(t.queue, DEFAULT_QUEUE);
        assert_eq!(
            t.kind,
            Kind::Syslog {
                transport: Transport::Udp,
                facility: Facility::LOCAL5
            }
        );
        let t = Target::parse("syslog+tcp://siem.example:1514?facility=local0&queue=5").unwrap();
        assert_eq!(t.address(), "siem.example:1514");
        assert_eq!(t.queue, 5);
        assert_eq!(
            t.kind,
            Kind::Syslog {
                transport: Transport::Tcp,
                facility: Facility(16)
            }
        );
        let t = Target::parse("syslog+tls://[::1]?ca=/etc/ca%20file.pem&name=siem").unwrap();
        assert_eq!(t.address(), "[::1]:6514");
        let Kind::Syslog {
            transport: Transport::Tls(tls),
            ..
        } = t.kind
        else {
            panic!("not TLS");
        };
        assert_eq!(tls.ca, PathBuf::from("/etc/ca file.pem"));
        assert_eq!(tls.server_name, "siem");
        assert_eq!(tls.cert, None);
    }

    #[test]
    fn tls_server_name_defaults_to_the_host() {
        let t =
            Target::parse("syslog+tls://logs.example:7000?ca=ca.pem&cert=c.pem&key=k.pem").unwrap();
        let Kind::Syslog {
            transport: Transport::Tls(tls),
            ..
        } = t.kind
        else {
            panic!("not TLS");
        };
        assert_eq!(tls.server_name, "logs.example");
        assert_eq!(tls.key, Some(PathBuf::from("k.pem")));
    }

    #[test]
    fn redis_key_and_modes() {
        let t = Target::parse("redis://127.0.0.1/eve").unwrap();
        assert_eq!(t.port, 6379);
        assert_eq!(
            t.kind,
            Kind::Redis {
                key: "eve".into(),
                mode: RedisMode::Rpush
            }
        );
        let t = Target::parse("redis://r:6380?mode=channel").unwrap();
        assert_eq!(
            t.kind,
            Kind::Redis {
                key: "suricata".into(),
                mode: RedisMode::Publish
            }
        );
        let t = Target::parse("redis://r/k?mode=lpush").unwrap();
        assert!(matches!(
            t.kind,
            Kind::Redis {
                mode: RedisMode::Lpush,
                ..
            }
        ));
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        assert!(err("http://x").contains("unknown scheme `http`"));
        assert!(err("syslog:/x").contains("no scheme"));
        assert!(err("syslog://:514").contains("no host"));
        assert!(err("syslog://h:99999").contains("port `99999`"));
        assert!(err("syslog://h:0").contains("port `0`"));
        assert!(err("syslog://h/path").contains("no path"));
        assert!(err("syslog://h?facility=local9").contains("facility=local9"));
        assert!(err("syslog://h?queue=0").contains("queue=0"));
        assert!(err("syslog://h?colour=red").contains("unknown option `colour`"));
        assert!(err("syslog://h?ca").contains("no value"));
        assert!(err("syslog+tls://h").contains("needs ca=FILE"));
        assert!(err("syslog+tls://h?ca=a&cert=c").contains("both cert=FILE and key=FILE"));
        assert!(err("redis://h/k?mode=stream").contains("mode=stream"));
        assert!(err("redis://u:p@h/k").contains("passwords"));
        assert!(err("redis://h/%zz").contains("two hex digits"));
        assert!(err("syslog://[::1").contains("closing"));
        assert!(err("syslog://h?queue=1&queue=2").contains("given twice"));
    }
}
