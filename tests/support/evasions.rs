//! Captures of the evasion matrix (`pcaps/evasion/`, README "Evasions the server does not
//! fall for"): each one hides the same ProxyLogon request behind a trick at the TCP/IP layer,
//! and says what the Windows server does with the trick. `tests/evasions.rs` checks that
//! exhound alerts on each exactly as on the request sent plainly ([`attack_alone`]), and,
//! where a flag turns the defence off, that the trick then works (so the test can fail).

use super::conv::Conv;
use super::frame::Link;
use super::pcap::{self, Frame, BASE_SECS};
use super::scenarios;

/// The hidden request: ProxyLogon's SSRF cookie (CVE-2021-26855) on `/ecp/y.js`.
pub fn attack() -> Vec<u8> {
    scenarios::request(
        "GET",
        "/ecp/y.js",
        &[(
            "Cookie",
            "X-BEResource=localhost/owa/auth/logon.aspx?~1942062522",
        )],
        b"",
    )
}

/// A harmless request of the same length as [`attack`] (for insertion decoys).
pub fn decoy() -> Vec<u8> {
    let real = attack();
    let mut d = scenarios::get("/owa/auth/logon.aspx?x=");
    // Pad the query inside the request line so the head stays well formed.
    let pad = real.len().saturating_sub(d.len());
    let at = d
        .windows(2)
        .position(|w| w == b"x=")
        .map(|p| p + 2)
        .unwrap_or(0);
    d.splice(at..at, std::iter::repeat_n(b'a', pad));
    d
}

/// The server's answer when the SSRF worked (exhound's success rule looks for it).
pub fn proxied() -> Vec<u8> {
    scenarios::response(
        200,
        "OK",
        &[("X-CalculatedBETarget", "localhost")],
        b"proxied",
    )
}

const CLIENT: &str = "203.0.113.66:49711";
const SERVER: &str = "198.51.100.20:443";

/// One capture of the matrix.
pub struct EvasionCapture {
    /// File name in `pcaps/evasion/`.
    pub file: &'static str,
    /// The trick.
    pub trick: &'static str,
    /// What the Windows server does with it (and the source).
    pub server: &'static str,
    /// Flags that turn exhound's defence off, when there is one: with them the trick works.
    pub defence_off: &'static [&'static str],
    /// Alerts raised on the trick itself (anomaly rules), besides the plain attack's.
    pub anomalies: &'static [u64],
    /// The frames.
    pub frames: Vec<Frame>,
}

fn timed(frames: Vec<Vec<u8>>) -> Vec<Frame> {
    pcap::timed(frames, BASE_SECS * 1_000_000_000, 1_000_000)
}

/// The attack on a connection of its own, for comparison.
pub fn attack_alone() -> Vec<Frame> {
    let mut c = Conv::new(CLIENT, SERVER);
    c.handshake();
    c.client(&attack());
    c.server(&proxied());
    c.close();
    timed(c.frames(Link::Ethernet))
}

/// A benign exchange on the attack's four-tuple, then the attack on a new connection on the
/// same four-tuple: `end` closes the first connection (FIN both ways, RST, client FIN only).
fn reuse(end: fn(&mut Conv)) -> Vec<Frame> {
    let mut first = Conv::new(CLIENT, SERVER);
    first.handshake();
    first.client(&scenarios::get("/owa/"));
    first.server(&scenarios::ok(b"<html>owa</html>"));
    end(&mut first);
    let mut second = Conv::new(CLIENT, SERVER).isn(900_000, 700_000);
    second.handshake();
    second.client(&attack());
    second.server(&proxied());
    second.close();
    let mut frames = first.frames(Link::Ethernet);
    frames.extend(second.frames(Link::Ethernet));
    timed(frames)
}

/// Breaks the TCP checksum of an Ethernet/IPv4 frame.
fn break_tcp_checksum(frame: &mut [u8]) {
    let ihl = usize::from(frame[14] & 0x0f) * 4;
    frame[14 + ihl + 16] ^= 0x5a;
}

/// Breaks the IPv4 header checksum of an Ethernet/IPv4 frame.
fn break_ip_checksum(frame: &mut [u8]) {
    frame[14 + 10] ^= 0x5a;
}

/// Every capture of the matrix.
pub fn all() -> Vec<EvasionCapture> {
    let mut out = Vec::new();
    out.push(EvasionCapture {
        file: "port-reuse-after-close.pcap",
        trick: "a benign connection closed with FIN both ways, then the attack on a new connection with the same four-tuple within the flow timeout",
        server: "TIME-WAIT: Windows accepts a new SYN on the four-tuple (RFC 1122 4.2.2.13; RFC 6191), a new connection",
        defence_off: &[],
        anomalies: &[],
        frames: reuse(|c| {
            c.close();
        }),
    });
    out.push(EvasionCapture {
        file: "port-reuse-after-reset.pcap",
        trick: "a benign connection ended by a RST (at the expected sequence number), then the attack on the same four-tuple",
        server: "the RST closed the connection (CLOSED); the next SYN opens a new one",
        defence_off: &[],
        anomalies: &[],
        frames: reuse(|c| {
            let seq = c.seq_of(true, c.sent(true));
            c.reset_at(true, seq);
        }),
    });
    out.push(EvasionCapture {
        file: "port-reuse-half-closed.pcap",
        trick: "a benign connection the client half-closed (FIN one way only), then the attack on the same four-tuple",
        server: "the client side is gone (FIN-WAIT/TIME-WAIT); a SYN from it starts a new connection as far as the sensor can tell (a server still in CLOSE-WAIT answers it with an ACK, and the new connection's data is never acknowledged)",
        defence_off: &[],
        anomalies: &[],
        frames: reuse(|c| {
            let seq = c.seq_of(true, c.sent(true));
            c.segs.push(super::conv::Seg {
                from_client: true,
                seq,
                ack: c.seq_of(false, c.sent(false)),
                flags: super::frame::flags::FIN | super::frame::flags::ACK,
                payload: vec![],
                fragments: None,
                window: super::conv::WINDOW,
            });
        }),
    });
    // Insertion: the decoy covers the attack's bytes first, with a wrong TCP checksum.
    let mut c = Conv::new(CLIENT, SERVER);
    c.handshake();
    let decoy_at = c.segment(true, 0, &decoy());
    c.segment(true, 0, &attack());
    c.ack(false);
    c.server(&proxied());
    c.close();
    let mut frames = c.frames(Link::Ethernet);
    break_tcp_checksum(&mut frames[decoy_at]);
    out.push(EvasionCapture {
        file: "checksum-insertion.pcap",
        trick: "a harmless request with a wrong TCP checksum sent first at the attack's sequence numbers, then the attack with a right one",
        server: "the TCP stack drops a segment with a wrong checksum (RFC 793/9293 3.1), so only the attack reaches IIS",
        defence_off: &["-k", "none"],
        anomalies: &[],
        frames: timed(frames),
    });
    // A capture taken on the server: its own packets carry checksums the NIC was to fill in.
    let mut c = Conv::new(CLIENT, SERVER);
    c.handshake();
    c.client(&attack());
    c.server(&proxied());
    c.close();
    let mut frames = c.frames(Link::Ethernet);
    for (f, seg) in frames.iter_mut().zip(&c.segs) {
        if !seg.from_client {
            break_tcp_checksum(f);
        }
    }
    out.push(EvasionCapture {
        file: "checksum-offload-on-server.pcap",
        trick: "not an evasion: captured on the server with checksum offload, every packet the server sent has an unfilled checksum",
        server: "the packets left with right checksums (the NIC filled them in); the default -k auto takes them, -k all would lose the server's answers",
        defence_off: &["-k", "all"],
        anomalies: &[],
        frames: timed(frames),
    });
    // A wrong-checksum packet before the handshake, to make the sensor start the flow wrong.
    let mut junk = Conv::new(CLIENT, SERVER).isn(5_000_000, 6_000_000);
    junk.segment(true, 0, &decoy());
    let mut junk_frames = junk.frames(Link::Ethernet);
    for f in &mut junk_frames {
        break_tcp_checksum(f);
    }
    let mut c = Conv::new(CLIENT, SERVER);
    c.handshake();
    c.client(&attack());
    c.server(&proxied());
    c.close();
    junk_frames.extend(c.frames(Link::Ethernet));
    out.push(EvasionCapture {
        file: "checksum-junk-before-handshake.pcap",
        trick: "a data segment with a wrong checksum on the four-tuple before the real handshake, so that a sensor picks the connection up mid-stream at the wrong sequence numbers",
        server: "dropped (wrong checksum); the connection starts with the SYN",
        defence_off: &[],
        anomalies: &[],
        frames: timed(junk_frames),
    });
    // IP-layer insertion: a first fragment with a wrong header checksum, then the real one.
    // The first fragment carries all but the last few bytes of the TCP segment.
    let ip_payload = 20 + attack().len();
    let first = (ip_payload - 8) / 8 * 8;
    let sizes = [first, ip_payload - first];
    let mut c = Conv::new(CLIENT, SERVER);
    c.handshake();
    let real = c.client(&attack()).start;
    c.server(&proxied());
    c.close();
    c.fragment(real, &sizes, &[0, 1]);
    let mut decoy_conv = Conv::new(CLIENT, SERVER);
    decoy_conv.handshake();
    let d = decoy_conv.client(&decoy()).start;
    decoy_conv.fragment(d, &sizes, &[0, 1]);
    let decoy_frames = decoy_conv.frames(Link::Ethernet);
    // The decoy's first fragment (right after the handshake), its header checksum broken.
    let mut decoy_first = decoy_frames[3].clone();
    break_ip_checksum(&mut decoy_first);
    let mut frames = c.frames(Link::Ethernet);
    frames.insert(3, decoy_first);
    out.push(EvasionCapture {
        file: "fragment-insertion.pcap",
        trick: "the attack's segment sent as IPv4 fragments, after a decoy first fragment with the same identification and a wrong header checksum",
        server: "IP drops a fragment whose header checksum is wrong (RFC 791, RFC 1122 3.2.1.2) before reassembly",
        defence_off: &["-k", "none"],
        anomalies: &[],
        frames: timed(frames),
    });
    out.extend(http_rows());
    out
}

/// The attack on one connection after `before` (pipelined on the same connection when
/// `before` is not empty), with the server's answers.
fn after(before: &[u8], attack_bytes: &[u8]) -> Vec<Frame> {
    let mut c = Conv::new(CLIENT, SERVER);
    c.handshake();
    let mut both = before.to_vec();
    both.extend_from_slice(attack_bytes);
    c.client(&both);
    if !before.is_empty() {
        c.server(&scenarios::ok(b"first"));
    }
    c.server(&proxied());
    c.close();
    timed(c.frames(Link::Ethernet))
}

/// The attack request with `header` lines in place of its Cookie line.
fn attack_with(target: &str, header: &str) -> Vec<u8> {
    format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\nAccept: */*\r\n{header}\r\n\r\n",
        scenarios::HOST,
        scenarios::UA
    )
    .into_bytes()
}

/// Inserts `n` more IPv6 destination-options headers before the one every packet of an
/// IPv6 conversation built with `ipv6_ext = DEST_OPTS` carries.
fn lengthen_ipv6_chain(frame: &mut Vec<u8>, n: usize) {
    let ip = 14;
    let ext = [60u8, 0, 1, 4, 0, 0, 0, 0]; // next: destination options, PadN
    let at = ip + 40;
    for _ in 0..n {
        frame.splice(at..at, ext);
    }
    let len = u16::from_be_bytes([frame[ip + 4], frame[ip + 5]]) + (8 * n) as u16;
    frame[ip + 4..ip + 6].copy_from_slice(&len.to_be_bytes());
}

/// The rows where the trick is in HTTP or in how TCP and IP carry it.
fn http_rows() -> Vec<EvasionCapture> {
    let mut out = Vec::new();
    // Data on the SYN: a decoy the server never reads, at the attack's sequence numbers.
    let mut c = Conv::new(CLIENT, SERVER);
    c.handshake();
    c.segs[0].payload = decoy();
    c.segment(true, 0, &attack());
    c.ack(false);
    c.server(&proxied());
    c.close();
    out.push(EvasionCapture {
        file: "syn-with-data.pcap",
        trick: "a harmless request carried on the SYN, at the sequence numbers the attack then uses",
        server: "data on a SYN is not delivered without a TCP Fast Open cookie (RFC 7413; RFC 9293 lets a stack hold it, none hands it to the application before the handshake)",
        defence_off: &[],
        anomalies: &[4210705],
        frames: timed(c.frames(Link::Ethernet)),
    });
    // Insertion past the receive window: the server offers 64 bytes; the decoy's bytes for
    // the rest of the request come first, past that window, then the real request as the
    // window opens.
    let (real, fake) = (attack(), decoy());
    let mut c = Conv::new(CLIENT, SERVER);
    c.handshake();
    c.segs[1].window = 64;
    c.segment(true, 64, &fake[64..]);
    c.segment(true, 0, &real[..64]);
    c.segs.push(super::conv::Seg {
        from_client: false,
        seq: c.seq_of(false, 0),
        ack: c.seq_of(true, 64),
        flags: super::frame::flags::ACK,
        payload: vec![],
        fragments: None,
        window: super::conv::WINDOW,
    });
    c.segment(true, 64, &real[64..]);
    c.ack(false);
    c.server(&proxied());
    c.close();
    out.push(EvasionCapture {
        file: "window-insertion.pcap",
        trick: "the server offers a 64-byte window; the rest of a harmless request is sent first, past that window, at the sequence numbers the attack's rest then takes once the window opens",
        server: "a segment that starts at or past the right edge of the receive window is dropped (RFC 9293 3.10.7.4); the attack's bytes are the ones read",
        defence_off: &[],
        anomalies: &[],
        frames: timed(c.frames(Link::Ethernet)),
    });
    out.push(EvasionCapture {
        file: "obs-fold-cookie.pcap",
        trick: "the SSRF cookie on a continuation line of the Cookie header (obs-fold)",
        server: "unverified: RFC 9112 lets a recipient join the line with a space or refuse the request (400); no public source says which HTTP.sys does",
        defence_off: &[],
        anomalies: &[4210701],
        frames: after(
            b"",
            &attack_with(
                "/ecp/y.js",
                "Cookie: a=b;\r\n X-BEResource=localhost/owa/auth/logon.aspx?~1942062522",
            ),
        ),
    });
    out.push(EvasionCapture {
        file: "absolute-form-target.pcap",
        trick: "the request target in absolute form (`GET http://mail.lab/ecp/y.js`)",
        server: "HTTP.sys accepts it and routes by the target's path (IIS logs `/ecp/y.js`)",
        defence_off: &[],
        anomalies: &[],
        frames: after(
            b"",
            &attack_with(
                &format!("http://{}/ecp/y.js", scenarios::HOST),
                "Cookie: X-BEResource=localhost/owa/auth/logon.aspx?~1942062522",
            ),
        ),
    });
    out.push(EvasionCapture {
        file: "absolute-form-other-host.pcap",
        trick: "an absolute-form target naming another host than the Host header",
        server: "HTTP.sys and the IIS log go by the target's host, ASP.NET's Request.Url by the Host header",
        defence_off: &[],
        anomalies: &[4210702],
        frames: after(
            b"",
            &attack_with(
                "http://other.example/ecp/y.js",
                "Cookie: X-BEResource=localhost/owa/auth/logon.aspx?~1942062522",
            ),
        ),
    });
    let smuggle = format!(
        "POST /owa/ HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n1e\r\nGET /owa/bogus HTTP/1.1\r\nX: \r\n\r\n0\r\n\r\n",
        scenarios::HOST
    );
    out.push(EvasionCapture {
        file: "te-and-cl-then-attack.pcap",
        trick: "a POST with both Transfer-Encoding: chunked and a short Content-Length whose chunk holds a fake request line, then the attack on the same connection",
        server: "HTTP.sys reads the body as chunked (Content-Length ignored), so the attack is the next request",
        defence_off: &[],
        anomalies: &[4210703],
        frames: after(smuggle.as_bytes(), &attack()),
    });
    let chunks = format!(
        "POST /ews/exchange.asmx HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nabcde\r\n1A\r\n{}\r\n0000000000000000005\r\nfghij\r\n0\r\n\r\n",
        scenarios::HOST,
        "z".repeat(26)
    );
    out.push(EvasionCapture {
        file: "chunk-framing-then-attack.pcap",
        trick: "a chunked POST with a chunk extension, an upper-case size and a size with 19 digits of leading zeros, then the attack on the same connection",
        server: "RFC 9112 chunk-size is 1*HEXDIG with optional extensions; a parser that refuses them loses its place and misses the next request",
        defence_off: &[],
        anomalies: &[],
        frames: after(chunks.as_bytes(), &attack()),
    });
    let mut c = Conv::new("[2001:db8::66]:49711", "[2001:db8::20]:443");
    c.ipv6_ext = Some(super::frame::IPV6_DEST_OPTS);
    c.handshake();
    c.client(&attack());
    c.server(&proxied());
    c.close();
    let mut frames = c.frames(Link::Ethernet);
    for f in &mut frames {
        lengthen_ipv6_chain(f, 19);
    }
    out.push(EvasionCapture {
        file: "ipv6-long-extension-chain.pcap",
        trick:
            "every packet of the attack over IPv6 behind a chain of 20 destination-options headers",
        server: "unverified: RFC 8200 sets no limit on the chain; Windows' is not published",
        defence_off: &[],
        anomalies: &[],
        frames: timed(frames),
    });
    out
}
