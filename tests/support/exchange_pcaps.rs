//! Turns every Exchange scenario of [`exchange_scenarios`](super::exchange_scenarios) into a
//! capture, `pcaps/exchange/<name>.pcap`: one TCP connection from the scenario's client to
//! the Exchange server, the exchanges in order, and the scenario's [`Transport`] applied.
//!
//! Deterministic like the rest of `pcaps/`: frame `i` at 2021-03-03T10:00:00Z + i ms,
//! Ethernet, classic µs pcap. The server is [`SERVER`] on the scenario's port; every scenario
//! gets its own client address, attackers from 203.0.113.0/24 ([`ATTACKER_NET`]), benign and
//! near-miss clients from 192.0.2.0/24 ([`BENIGN_NET`], from .100 up so they never collide
//! with the generic captures' 192.0.2.10). The Host header is whatever the requests carry.
//!
//! Transports:
//! - `Plain`: MSS 1460, each response right after its request (keep-alive).
//! - `TinySegments`: every request cut into segments of 1 to 8 bytes ([`TINY_SIZES`]).
//! - `Pipelined`: all requests back to back, then all responses.
//! - `Overlap`: every request is sent as overlapping segments with different bytes; see
//!   [`overlap_request`] for which policy reads what.
//! - `Fragmented`: every request segment is sent as IPv4 fragments, out of order.
//! - `ForgedResets`: before every request, three RSTs the server would ignore.

use std::net::SocketAddr;

use super::conv::Conv;
use super::exchange_scenarios::{self, Kind, Scenario, Transport};
use super::frame::Link;
use super::pcap::{self, Format, Frame, LinkType};
use super::scenarios::{BASE_NS, STEP_NS};

/// The Exchange server every capture talks to.
pub const SERVER: &str = "198.51.100.20";
/// Attackers: 203.0.113.(10 + n) for the n-th attack scenario.
pub const ATTACKER_NET: &str = "203.0.113";
/// Benign and near-miss clients: 192.0.2.(100 + n) for the n-th such scenario.
pub const BENIGN_NET: &str = "192.0.2";
/// Folder of the captures inside `pcaps/`.
pub const DIR: &str = "exchange";
/// The capture `make demo` replays: the whole testanull-lineage ProxyLogon chain (probe to
/// web shell) on one keep-alive connection.
pub const DEMO: &str = "exchange/chain-proxylogon-testanull-keepalive.pcap";

/// Segment sizes of the `TinySegments` transport, used in turn.
pub const TINY_SIZES: [usize; 8] = [5, 1, 8, 3, 7, 2, 6, 4];

/// One scenario's capture.
pub struct ExchangeCapture {
    /// The scenario.
    pub scenario: Scenario,
    /// Path inside `pcaps/` (`exchange/<name>.pcap`).
    pub file: String,
    /// The client (attacker for attack scenarios).
    pub client: SocketAddr,
    /// The Exchange server.
    pub server: SocketAddr,
    /// The frames.
    pub frames: Vec<Frame>,
}

impl ExchangeCapture {
    /// The file's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        pcap::write(Format::PCAP, LinkType::Ethernet, &self.frames)
    }

    /// One row of the `pcaps/README.md` table.
    pub fn readme_row(&self) -> String {
        let s = &self.scenario;
        let kind = match s.kind {
            Kind::Attack => "attack",
            Kind::Benign => "benign",
            Kind::NearMiss => "near miss",
        };
        let sids = if s.expect_sids.is_empty() {
            "none".to_string()
        } else {
            s.expect_sids
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        };
        let cves = if s.expect_cves.is_empty() {
            "none".to_string()
        } else {
            s.expect_cves.join(" ")
        };
        format!(
            "| {} | {kind} | {} → :{} | {} | {sids} | {cves} | {} |",
            self.file,
            self.client.ip(),
            s.server_port,
            transport_name(s.transport),
            markdown_text(s.description)
        )
    }
}

/// `text` with the characters Markdown would read as markup (or as a table cell's end)
/// escaped by a backslash.
fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '\\' | '|' | '<' | '*' | '_' | '~' | '`') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// The transport's name as the README shows it.
pub fn transport_name(t: Transport) -> &'static str {
    match t {
        Transport::Plain => "plain",
        Transport::TinySegments => "tiny segments",
        Transport::Pipelined => "pipelined",
        Transport::Overlap => "overlap",
        Transport::Fragmented => "IPv4 fragments",
        Transport::ForgedResets => "forged resets",
    }
}

/// Every scenario's capture, in scenario order.
pub fn all() -> Vec<ExchangeCapture> {
    let mut attackers = 0u32;
    let mut others = 0u32;
    exchange_scenarios::scenarios()
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let ip = if s.kind == Kind::Attack {
                attackers += 1;
                format!("{ATTACKER_NET}.{}", 9 + attackers)
            } else {
                others += 1;
                format!("{BENIGN_NET}.{}", 99 + others)
            };
            assert!(attackers <= 245 && others <= 155, "out of client addresses");
            let client: SocketAddr = format!("{ip}:{}", 50000 + i).parse().unwrap();
            let server: SocketAddr = format!("{SERVER}:{}", s.server_port).parse().unwrap();
            let conv = conversation(&s, client, server);
            ExchangeCapture {
                file: format!("{DIR}/{}.pcap", s.name),
                client,
                server,
                frames: pcap::timed(conv.frames(Link::Ethernet), BASE_NS, STEP_NS),
                scenario: s,
            }
        })
        .collect()
}

/// The TCP conversation of one scenario: handshake, the exchanges as the transport wants
/// them, teardown.
pub fn conversation(s: &Scenario, client: SocketAddr, server: SocketAddr) -> Conv {
    let mut c = Conv::new(&client.to_string(), &server.to_string());
    c.handshake();
    match s.transport {
        Transport::Pipelined => {
            let requests: Vec<u8> = s.exchanges.iter().flat_map(|e| e.request.clone()).collect();
            c.client(&requests);
            let responses: Vec<u8> = s
                .exchanges
                .iter()
                .filter_map(|e| e.response.clone())
                .flatten()
                .collect();
            if !responses.is_empty() {
                c.server(&responses);
            }
        }
        t => {
            for e in &s.exchanges {
                match t {
                    Transport::TinySegments => tiny_request(&mut c, &e.request),
                    Transport::Overlap => overlap_request(&mut c, &e.request),
                    Transport::ForgedResets => {
                        forged_resets(&mut c);
                        c.client(&e.request);
                    }
                    Transport::Fragmented => {
                        let r = c.client(&e.request);
                        for i in r {
                            fragment(&mut c, i);
                        }
                    }
                    _ => {
                        c.client(&e.request);
                    }
                }
                if let Some(resp) = &e.response {
                    c.server(resp);
                }
            }
        }
    }
    c.close();
    c
}

/// Resets that the receiver ignores (RFC 5961 §3.2), as an attacker sends them to make a
/// sensor drop the connection: from the client one MSS ahead and one byte behind its next
/// sequence number, and from the server one byte ahead of its own.
fn forged_resets(c: &mut Conv) {
    let client_next = c.seq_of(true, c.sent(true));
    let server_next = c.seq_of(false, c.sent(false));
    c.reset_at(true, client_next.wrapping_add(1460));
    c.reset_at(true, client_next.wrapping_sub(1));
    c.reset_at(false, server_next.wrapping_add(1));
}

/// Sends `req` in segments of 1 to 8 bytes ([`TINY_SIZES`] in turn), then the server ACKs.
fn tiny_request(c: &mut Conv, req: &[u8]) {
    let start = c.sent(true);
    let mut off = 0;
    let mut k = 0;
    while off < req.len() {
        let n = TINY_SIZES[k % TINY_SIZES.len()].min(req.len() - off);
        c.segment(true, start + off, &req[off..off + n]);
        off += n;
        k += 1;
    }
    c.ack(false);
}

/// Splits data segment `i` (one MSS-sized request segment) into IPv4 fragments: the IP
/// payload (20-byte TCP header + data) in three pieces (two when short: the last first),
/// sent last piece first, then the first, then the middle.
fn fragment(c: &mut Conv, i: usize) {
    let ip_payload = 20 + c.segs[i].payload.len();
    // A multiple of 8, at least 24 so the first fragment holds more than the TCP header.
    let piece = (ip_payload / 3).div_ceil(8).max(3) * 8;
    if 2 * piece < ip_payload {
        c.fragment(i, &[piece, piece, 0], &[2, 0, 1]);
    } else if piece < ip_payload {
        c.fragment(i, &[piece, 0], &[1, 0]);
    } else {
        // A short last segment: the first fragment holds only part of the TCP header.
        c.fragment(i, &[8, 0], &[1, 0]);
    }
}

/// Sends request `r` (n bytes, method M) so that the true bytes win only under the
/// Windows/BSD rule ("a new segment that starts before a held one replaces its bytes;
/// otherwise the held bytes stay"), exhound's default `--stream-policy windows`:
///
/// 1. `S1` = decoy bytes `d[m..n]`, where `m` = len(M) + 1 (held: byte 0 is missing);
/// 2. `S2` = true bytes `r[1..n]`: starts before S1, so under windows its bytes replace S1's;
/// 3. `S3` = decoy bytes `d[m..n]` again: starts after S2, so under windows S2's bytes stay;
/// 4. `S0` = `r[0..1]`, the hole: everything is delivered.
///
/// The decoy `d` ([`decoy`]) is a harmless request of exactly n bytes that starts with the
/// same method and space (`d[..m] == r[..m]`, so it does not matter whose bytes 1..m are).
/// Whoever reassembles with a naive rule sees the decoy:
///
/// | policy | bytes 1..m | bytes m..n | request seen |
/// |---|---|---|---|
/// | windows, bsd, linux (exhound's default: windows) | S2 | S2 | the true one |
/// | first (oldest bytes win) | S2 | S1 | the decoy |
/// | last (newest bytes win) | S2 | S3 | the decoy |
///
/// Linux agrees with windows because S3 starts after S2.
pub fn overlap_request(c: &mut Conv, r: &[u8]) {
    let start = c.sent(true);
    let d = decoy(r);
    let m = method_len(r) + 1;
    c.segment(true, start + m, &d[m..]);
    c.segment(true, start + 1, &r[1..]);
    c.segment(true, start + m, &d[m..]);
    c.segment(true, start, &r[..1]);
    c.ack(false);
}

fn method_len(r: &[u8]) -> usize {
    r.iter().position(|&b| b == b' ').expect("request line")
}

/// URL of the decoy requests of the `Overlap` transport.
pub const DECOY_URL_PREFIX: &str = "/owa/auth/logon.aspx?replaceCurrent=1&x=";

/// A harmless request of exactly `r.len()` bytes with `r`'s method and Host header and no
/// body: `M /owa/auth/logon.aspx?replaceCurrent=1&x=aaa… HTTP/1.1`, a browser User-Agent and
/// as many 1000-byte `X-Pad-NN` headers as needed (the URL takes the rest).
pub fn decoy(r: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(r);
    let method = &text[..method_len(r)];
    let host = text
        .split("\r\n")
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("host").then(|| value.trim())
        })
        .unwrap_or("mail.contoso.com");
    let build = |url_pad: usize, headers: usize| {
        let mut d = format!(
            "{method} {DECOY_URL_PREFIX}{} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91\r\n",
            "a".repeat(url_pad)
        );
        for k in 0..headers {
            d.push_str(&format!("X-Pad-{k:02}: {}\r\n", "b".repeat(1000)));
        }
        d.push_str("\r\n");
        d.into_bytes()
    };
    let base = build(0, 0).len();
    assert!(
        r.len() >= base,
        "request too short for an overlap decoy ({} < {base} bytes)",
        r.len()
    );
    let rest = r.len() - base;
    let d = build(rest % 1012, rest / 1012);
    assert_eq!(d.len(), r.len());
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoy_has_the_length_and_method() {
        for n in [0usize, 1, 500, 1011, 1012, 1013, 5000] {
            let r = format!(
                "POST /ecp/x.js HTTP/1.1\r\nHost: h\r\nContent-Length: {n}\r\n{}\r\n\r\n{}",
                "X: ".to_string() + &"y".repeat(200),
                "z".repeat(n)
            );
            let d = decoy(r.as_bytes());
            assert_eq!(d.len(), r.len());
            assert!(d.starts_with(b"POST /owa/auth/logon.aspx"));
            assert!(d.ends_with(b"\r\n\r\n"));
        }
    }
}
