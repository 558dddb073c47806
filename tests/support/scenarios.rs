//! Every synthetic capture in `pcaps/`, defined once: `examples/gen_pcaps.rs` writes them
//! and `tests/replay.rs` checks that the committed files still match.
//!
//! Addresses come from the documentation ranges (192.0.2.0/24 clients, 198.51.100.0/24
//! servers, 2001:db8::/32); frame `i` of a file is stamped 2021-03-03T10:00:00Z + i ms (the
//! nanosecond-resolution files add 999 ns to every stamp, which EVE's µs must truncate).

use std::io::Write;

use super::conv::Conv;
use super::frame::{self, Link};
use super::pcap::{self, Format, Frame, LinkType, BASE_SECS};

/// One capture file.
pub struct Scenario {
    /// File name inside `pcaps/`.
    pub file: &'static str,
    /// One line for `pcaps/README.md`.
    pub about: String,
    /// File format.
    pub format: Format,
    /// Link type of the file.
    pub link: LinkType,
    /// The frames.
    pub frames: Vec<Frame>,
    /// Cut the last packet record in half.
    pub truncate: bool,
}

impl Scenario {
    /// The file's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        let full = pcap::write(self.format, self.link, &self.frames);
        if self.truncate {
            pcap::truncate_last_record(&full, &self.frames).0
        } else {
            full
        }
    }
}

/// Nanoseconds of 2021-03-03T10:00:00Z.
pub const BASE_NS: u64 = BASE_SECS * 1_000_000_000;
/// Time between frames.
pub const STEP_NS: u64 = 1_000_000;
/// Extra nanoseconds on every frame of the ns-resolution files.
pub const NS_EXTRA: u64 = 999;

/// The default client and server.
pub const CLIENT: &str = "192.0.2.10";
/// The default server.
pub const SERVER: &str = "198.51.100.5";
/// Host header of every synthetic request.
pub const HOST: &str = "mail.lab";
/// User-Agent of every synthetic request.
pub const UA: &str = "curl/7.88.1";

/// A request with the usual headers (Host, User-Agent, Accept), `extra` headers, and a
/// Content-Length when there is a body.
pub fn request(method: &str, url: &str, extra: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut r =
        format!("{method} {url} HTTP/1.1\r\nHost: {HOST}\r\nUser-Agent: {UA}\r\nAccept: */*\r\n");
    for (k, v) in extra {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        r.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    r.push_str("\r\n");
    let mut r = r.into_bytes();
    r.extend_from_slice(body);
    r
}

/// `GET url`.
pub fn get(url: &str) -> Vec<u8> {
    request("GET", url, &[], b"")
}

/// A response with a Content-Length body (Content-Type text/html unless given in `extra`).
pub fn response(status: u16, reason: &str, extra: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut r = format!("HTTP/1.1 {status} {reason}\r\nServer: Microsoft-IIS/10.0\r\n");
    if !extra
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        r.push_str("Content-Type: text/html\r\n");
    }
    for (k, v) in extra {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut r = r.into_bytes();
    r.extend_from_slice(body);
    r
}

/// `200 OK` with `body` as text/html.
pub fn ok(body: &[u8]) -> Vec<u8> {
    response(200, "OK", &[], body)
}

/// gzip of `data` (deterministic: no name, mtime 0).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

/// A conversation from the default client (port `cport`) to the default server (port
/// `sport`).
pub fn conv(cport: u16, sport: u16) -> Conv {
    Conv::new(&format!("{CLIENT}:{cport}"), &format!("{SERVER}:{sport}"))
}

/// Handshake, one request, one response, close.
pub fn simple(mut c: Conv, req: &[u8], resp: &[u8]) -> Conv {
    c.handshake();
    c.client(req);
    c.server(resp);
    c.close();
    c
}

fn file(
    file: &'static str,
    about: &str,
    format: Format,
    link: Link,
    frames: Vec<Vec<u8>>,
) -> Scenario {
    let start = match format {
        Format::Pcap { nanos: true, .. } | Format::PcapNg { nanos: true } => BASE_NS + NS_EXTRA,
        _ => BASE_NS,
    };
    Scenario {
        file,
        about: about.to_string(),
        format,
        link: link.link_type(),
        frames: pcap::timed(frames, start, STEP_NS),
        truncate: false,
    }
}

fn eth(name: &'static str, about: &str, c: &Conv) -> Scenario {
    file(
        name,
        about,
        Format::PCAP,
        Link::Ethernet,
        c.frames(Link::Ethernet),
    )
}

/// Request bytes of the overlap scenarios, and where the contested bytes sit.
pub const OVERLAP_REQUEST: &str =
    "GET /owa/auth/XXX.js HTTP/1.1\r\nHost: mail.lab\r\nUser-Agent: curl/7.88.1\r\n\r\n";

/// Every synthetic scenario.
pub fn all() -> Vec<Scenario> {
    let mut out = Vec::new();

    out.push(eth(
        "http-get.pcap",
        "one GET (`/owa/auth/logon.aspx?replaceCurrent=1`) and its 200 response, full handshake and teardown",
        &simple(conv(51000, 80), &get("/owa/auth/logon.aspx?replaceCurrent=1"), &ok(b"hello, world")),
    ));

    {
        let mut c = conv(51001, 80);
        c.handshake();
        c.client(&get("/owa/"));
        c.server(&response(
            302,
            "Found",
            &[("Location", "/owa/auth/logon.aspx")],
            b"",
        ));
        c.client(&get("/owa/auth/logon.aspx"));
        c.server(&ok(b"<html>logon</html>\r\n"));
        c.client(&request(
            "POST",
            "/owa/auth.owa",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            b"destination=https%3A%2F%2Fmail.lab%2Fowa&username=lab%5Cu&password=p",
        ));
        c.server(&response(302, "Found", &[("Location", "/owa/")], b""));
        c.close();
        out.push(eth(
            "http-keepalive.pcap",
            "keep-alive: GET /owa/ (302), GET /owa/auth/logon.aspx (200, 20-byte body), POST /owa/auth.owa (302) on one connection",
            &c,
        ));
    }

    {
        let mut c = conv(51002, 80);
        c.handshake();
        let mut reqs = get("/ews/1");
        reqs.extend(get("/ews/2"));
        reqs.extend(get("/ews/3"));
        c.client(&reqs);
        let mut resps = ok(b"one");
        resps.extend(ok(b"two!"));
        resps.extend(ok(b"three"));
        c.server(&resps);
        c.close();
        out.push(eth(
            "http-pipelining.pcap",
            "pipelining: GET /ews/1, /ews/2, /ews/3 in one segment, the three responses (bodies of 3, 4, 5 bytes) in one segment",
            &c,
        ));
    }

    {
        let head = "POST /ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory HTTP/1.1\r\n\
                    Host: mail.lab\r\nUser-Agent: curl/7.88.1\r\nContent-Type: application/json\r\n\
                    Transfer-Encoding: chunked\r\n\r\n";
        let body = "10;ext=1\r\n{\"identity\":\"x\",\r\n\
                    15;name=\"quoted;value\"\r\n\"properties\":{\"a\":1}}\r\n\
                    0\r\nX-Trailer: done\r\n\r\n";
        let mut req = head.as_bytes().to_vec();
        req.extend_from_slice(body.as_bytes());
        let c = simple(
            conv(51003, 80),
            &req,
            &response(
                200,
                "OK",
                &[("Content-Type", "application/json")],
                b"{\"d\":null}",
            ),
        );
        out.push(eth(
            "http-post-chunked.pcap",
            "POST with a chunked request body (chunk extensions, a trailer); 200 with a 10-byte JSON body",
            &c,
        ));
    }

    {
        let soap = b"<?xml version=\"1.0\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><GetFolder/></soap:Body></soap:Envelope>";
        let body = gzip(soap);
        let req = request(
            "POST",
            "/ews/exchange.asmx",
            &[("Content-Type", "text/xml"), ("Content-Encoding", "gzip")],
            &body,
        );
        let c = simple(
            conv(51004, 80),
            &req,
            &response(200, "OK", &[("Content-Type", "text/xml")], b"<ok/>"),
        );
        out.push(eth(
            "http-post-gzip.pcap",
            "POST /ews/exchange.asmx with a gzip Content-Encoding request body; 200 with a 5-byte body",
            &c,
        ));
    }

    {
        let mut c = conv(51005, 80).mss(1);
        c.acks = false;
        c.handshake();
        c.client(&get("/owa/auth/x.js"));
        c.ack(false);
        c.mss = 1460;
        c.acks = true;
        c.server(&ok(b"tiny"));
        c.close();
        out.push(eth(
            "http-1byte-segments.pcap",
            "GET /owa/auth/x.js sent in 1-byte segments; 200 with a 4-byte body",
            &c,
        ));
    }

    {
        let mut c = conv(51006, 80).mss(32);
        c.handshake();
        let r = c.client(&get("/owa/auth/out-of-order.js"));
        assert_eq!(r.len(), 3);
        c.reorder(r, &[2, 0, 1]);
        let body = b"this response body arrives in three segments, out of order!";
        let r = c.server(&ok(body));
        let n = r.len();
        let order: Vec<usize> = (0..n).rev().collect();
        c.reorder(r, &order);
        c.close();
        out.push(eth(
            "tcp-out-of-order.pcap",
            "GET /owa/auth/out-of-order.js in 3 segments sent 3rd, 1st, 2nd; the response's segments in reverse order (59-byte body)",
            &c,
        ));
    }

    {
        let mut c = conv(51007, 80).mss(40);
        c.handshake();
        let r = c.client(&get("/owa/retransmitted.js"));
        // Segment 1 again after segment 2, and segment 0 again at the end.
        c.duplicate(r.start + 1, r.start + 3);
        c.duplicate(r.start, r.end + 1);
        let r = c.server(&ok(b"sent twice"));
        c.duplicate(r.start, r.end);
        c.close();
        out.push(eth(
            "tcp-retransmission.pcap",
            "GET /owa/retransmitted.js with two request segments retransmitted (same bytes) and the response retransmitted; 10-byte body",
            &c,
        ));
    }

    out.push(overlap_before());
    out.push(overlap_after());

    {
        let body: Vec<u8> = (0..900u32).map(|i| b'a' + (i % 26) as u8).collect();
        let req = request(
            "POST",
            "/ews/fragmented",
            &[("Content-Type", "text/plain")],
            &body,
        );
        let mut c = conv(51010, 80);
        c.handshake();
        let r = c.client(&req);
        assert_eq!(r.len(), 1);
        // IP payload = 20-byte TCP header + request; fragments of 400, 400 and the rest,
        // emitted last, first, middle.
        c.fragment(r.start, &[400, 400, 0], &[2, 0, 1]);
        c.server(&ok(b"reassembled"));
        c.close();
        out.push(eth(
            "ipv4-fragments.pcap",
            "POST /ews/fragmented (900-byte body) in one TCP segment split into 3 IPv4 fragments sent 3rd, 1st, 2nd; 200 with an 11-byte body",
            &c,
        ));
    }

    let c = simple(conv(51011, 80), &get("/owa/vlan"), &ok(b"vlan"));
    out.push(file(
        "vlan-8021q.pcap",
        "GET /owa/vlan over Ethernet with an 802.1Q tag (VLAN 100)",
        Format::PCAP,
        Link::Vlan(100),
        c.frames(Link::Vlan(100)),
    ));

    let c = simple(conv(51012, 80), &get("/owa/qinq"), &ok(b"qinq"));
    let qinq = Link::QinQ {
        outer: 200,
        inner: 100,
    };
    out.push(file(
        "vlan-qinq.pcap",
        "GET /owa/qinq over Ethernet with QinQ tags (802.1ad 0x88a8 VLAN 200 outside, 802.1Q VLAN 100 inside)",
        Format::PCAP,
        qinq,
        c.frames(qinq),
    ));

    let c = simple(conv(51013, 80), &get("/owa/sll"), &ok(b"sll"));
    out.push(file(
        "linux-sll.pcap",
        "GET /owa/sll, Linux cooked capture v1 (LINKTYPE_LINUX_SLL)",
        Format::PCAP,
        Link::Sll,
        c.frames(Link::Sll),
    ));

    let c = simple(conv(51014, 80), &get("/owa/sll2"), &ok(b"sll2"));
    out.push(file(
        "linux-sll2.pcap",
        "GET /owa/sll2, Linux cooked capture v2 (LINKTYPE_LINUX_SLL2)",
        Format::PCAP,
        Link::Sll2,
        c.frames(Link::Sll2),
    ));

    {
        let mut c = Conv::new("[2001:db8::10]:51015", "[2001:db8::5]:80");
        c.ipv6_ext = Some(frame::IPV6_HOP_BY_HOP);
        let c = simple(c, &get("/owa/ipv6"), &ok(b"ipv6"));
        out.push(eth(
            "ipv6-ext-header.pcap",
            "GET /owa/ipv6 from [2001:db8::10] to [2001:db8::5] with a hop-by-hop options header in every packet",
            &c,
        ));
    }

    let c = simple(conv(51016, 80), &get("/owa/pcapng"), &ok(b"pcapng"));
    out.push(file(
        "pcapng-ns.pcapng",
        "GET /owa/pcapng in a pcapng file (SHB, IDB with if_tsresol=9, EPBs), ns timestamps (+999 ns)",
        Format::PcapNg { nanos: true },
        Link::Ethernet,
        c.frames(Link::Ethernet),
    ));

    let c = simple(conv(51017, 80), &get("/owa/nanos"), &ok(b"nanos"));
    out.push(file(
        "pcap-ns-bigendian.pcap",
        "GET /owa/nanos in a big-endian classic pcap with ns timestamps (magic a1b23c4d, +999 ns)",
        Format::Pcap {
            nanos: true,
            big_endian: true,
        },
        Link::Ethernet,
        c.frames(Link::Ethernet),
    ));

    let c = simple(conv(51018, 80), &get("/owa/raw"), &ok(b"raw"));
    out.push(file(
        "raw-ip.pcap",
        "GET /owa/raw, raw IPv4 link type (LINKTYPE_RAW, 101)",
        Format::PCAP,
        Link::Raw,
        c.frames(Link::Raw),
    ));

    let c = simple(
        Conv::new("127.0.0.1:51019", "127.0.0.1:80"),
        &get("/owa/loopback"),
        &ok(b"loopback"),
    );
    out.push(file(
        "bsd-null-loopback.pcap",
        "GET /owa/loopback over 127.0.0.1, BSD loopback link type (LINKTYPE_NULL, AF_INET little-endian)",
        Format::PCAP,
        Link::Null,
        c.frames(Link::Null),
    ));

    {
        let mut c = conv(51020, 80).isn(70_000, 900_000);
        // No handshake: the capture starts with the request.
        c.client(&get("/owa/midstream"));
        c.server(&ok(b"picked up"));
        c.close();
        out.push(eth(
            "midstream.pcap",
            "a connection whose handshake was not captured: GET /owa/midstream, 200 (9-byte body), teardown",
            &c,
        ));
    }

    {
        let a = simple(
            conv(51021, 444),
            &request(
                "GET",
                "/ecp/default.flt",
                &[("Cookie", "X-BEResource=localhost~1942062522")],
                b"",
            ),
            &ok(b"port 444"),
        );
        let b = simple(
            conv(51022, 8443),
            &get("/owa/auth/8443.js"),
            &response(404, "Not Found", &[], b"nope"),
        );
        let mut frames = a.frames(Link::Ethernet);
        frames.extend(b.frames(Link::Ethernet));
        out.push(file(
            "nonstandard-ports.pcap",
            "two connections on non-standard ports: GET /ecp/default.flt to port 444 (200, 8 bytes), then GET /owa/auth/8443.js to port 8443 (404, 4 bytes)",
            Format::PCAP,
            Link::Ethernet,
            frames,
        ));
    }

    {
        let body = b"0123456789abcdef";
        let mut head = request(
            "POST",
            "/ews/upload",
            &[("Expect", "100-continue"), ("Content-Type", "text/plain")],
            body,
        );
        head.truncate(head.len() - body.len());
        let mut c = conv(51023, 80);
        c.handshake();
        c.client(&head);
        c.server(b"HTTP/1.1 100 Continue\r\n\r\n");
        c.client(body);
        c.server(&response(200, "OK", &[], b"ok"));
        c.close();
        out.push(eth(
            "expect-100-continue.pcap",
            "POST /ews/upload with Expect: 100-continue: headers, 100 Continue, 16-byte body, 200 (2-byte body)",
            &c,
        ));
    }

    {
        let mut c = conv(51024, 80);
        c.handshake();
        c.client(&request("HEAD", "/owa/", &[], b""));
        // A HEAD response announces a body it does not send.
        c.server(b"HTTP/1.1 200 OK\r\nServer: Microsoft-IIS/10.0\r\nContent-Type: text/html\r\nContent-Length: 1234\r\n\r\n");
        c.client(&get("/owa/empty"));
        c.server(b"HTTP/1.1 204 No Content\r\nServer: Microsoft-IIS/10.0\r\n\r\n");
        c.client(&request(
            "GET",
            "/owa/cached.js",
            &[("If-None-Match", "\"abc\"")],
            b"",
        ));
        c.server(
            b"HTTP/1.1 304 Not Modified\r\nServer: Microsoft-IIS/10.0\r\nETag: \"abc\"\r\n\r\n",
        );
        c.client(&get("/owa/after"));
        c.server(&ok(b"after"));
        c.close();
        out.push(eth(
            "head-204-304.pcap",
            "bodiless responses on one connection: HEAD /owa/ (200, Content-Length 1234, no body), GET /owa/empty (204), GET /owa/cached.js (304), then GET /owa/after (200, 5 bytes)",
            &c,
        ));
    }

    {
        let js = "var a = 'compressed javascript';\n".repeat(20);
        let gz = gzip(js.as_bytes());
        let half = gz.len() / 2;
        let mut resp = format!(
            "HTTP/1.1 200 OK\r\nServer: Microsoft-IIS/10.0\r\nContent-Type: application/javascript\r\n\
             Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n{half:x}\r\n"
        )
        .into_bytes();
        resp.extend_from_slice(&gz[..half]);
        resp.extend_from_slice(format!("\r\n{:x}\r\n", gz.len() - half).as_bytes());
        resp.extend_from_slice(&gz[half..]);
        resp.extend_from_slice(b"\r\n0\r\n\r\n");
        let c = simple(
            conv(51025, 80),
            &request(
                "GET",
                "/owa/compressed.js",
                &[("Accept-Encoding", "gzip")],
                b"",
            ),
            &resp,
        );
        out.push(eth(
            "response-chunked-gzip.pcap",
            &format!(
                "GET /owa/compressed.js; 200 with a chunked (2 chunks) gzip body: {} bytes on the wire after dechunking, {} decoded",
                gz.len(),
                js.len()
            ),
            &c,
        ));
    }

    {
        let a = simple(conv(51026, 80), &get("/owa/before-cut"), &ok(b"complete"));
        let mut b = conv(51027, 80);
        b.handshake();
        b.client(&get("/owa/cut-in-half"));
        let mut frames = a.frames(Link::Ethernet);
        let mut bf = b.frames(Link::Ethernet);
        bf.pop(); // the server's ACK: the request is the last record
        frames.extend(bf);
        let mut s = file(
            "truncated.pcap",
            "GET /owa/before-cut (200, complete), then a second connection whose request (the last record) is cut in half: a capture interrupted while writing",
            Format::PCAP,
            Link::Ethernet,
            frames,
        );
        s.truncate = true;
        out.push(s);
    }

    {
        let mut c = conv(51028, 80);
        c.handshake();
        c.client(&get("/owa/first"));
        c.server(&ok(b"first"));
        let lost = c.client(&get("/owa/lost"));
        c.server(&response(404, "Not Found", &[], b"lost"));
        c.client(&get("/owa/third"));
        c.server(&ok(b"third"));
        c.close();
        c.drop_seg(lost.start);
        out.push(eth(
            "tcp-gap-resync.pcap",
            "keep-alive with capture loss: GET /owa/first (200), the segment carrying GET /owa/lost missing (its 404 captured), GET /owa/third (200)",
            &c,
        ));
    }

    {
        let body: Vec<u8> = (0..3000u32).map(|i| b'0' + (i % 10) as u8).collect();
        let mut c = conv(51029, 80).mss(1000);
        c.handshake();
        let head = request(
            "POST",
            "/ews/upload-gap",
            &[("Content-Type", "text/plain")],
            &body,
        );
        let hlen = head.len() - body.len();
        c.client(&head[..hlen]);
        let r = c.client(&body);
        c.mss = 1460;
        c.server(&ok(b"stored"));
        c.client(&get("/owa/after-gap"));
        c.server(&ok(b"after gap"));
        c.close();
        c.drop_seg(r.start + 1);
        out.push(eth(
            "tcp-gap-in-body.pcap",
            "POST /ews/upload-gap with a 3000-byte body whose middle 1000-byte segment is missing (200, 6 bytes), then GET /owa/after-gap (200, 9 bytes)",
            &c,
        ));
    }

    {
        let mut c = conv(51030, 80).isn(0xffff_ff00, 0xffff_ffc0).mss(100);
        c.handshake();
        let extra = "x".repeat(400);
        c.client(&request("GET", "/owa/wrap", &[("X-Padding", &extra)], b""));
        let body = "w".repeat(250);
        c.server(&ok(body.as_bytes()));
        c.close();
        out.push(eth(
            "tcp-seq-wrap.pcap",
            "GET /owa/wrap (~500 bytes in 100-byte segments) with sequence numbers wrapping past 2^32 in both directions; 200 with a 250-byte body",
            &c,
        ));
    }

    {
        let mut c = conv(51031, 80);
        c.handshake();
        c.client(&request(
            "GET",
            "/ecp/%79.js",
            &[("Cookie", "a=b, X-BEResource=localhost~1942062522")],
            b"",
        ));
        c.server(&response(500, "Internal Server Error", &[], b""));
        c.client(&request(
            "GET",
            "/ECP\\y.js",
            &[
                ("Cookie", "a=b"),
                (
                    "Cookie",
                    "X-BEResource=localhost/EWS/Exchange.asmx?a=~1942062522",
                ),
            ],
            b"",
        ));
        c.server(&response(500, "Internal Server Error", &[], b""));
        c.client(&get("//owa///auth/../auth/x.js"));
        c.server(&ok(b"x"));
        c.client(&get("/owa/auth/%u0078.js"));
        c.server(&ok(b"u"));
        c.close();
        out.push(eth(
            "iis-normalisation.pcap",
            "requests IIS normalises: /ecp/%79.js (cookie `a=b, X-BEResource=localhost~1942062522`), /ECP\\y.js (two Cookie lines), //owa///auth/../auth/x.js, /owa/auth/%u0078.js",
            &c,
        ));
    }

    {
        // Captured on the server with TCP segmentation offload: its 4000-byte response leaves
        // the stack as one IP packet whose total length is 0 (the card cuts and fills it in).
        let mut c = conv(51032, 80).mss(9000);
        c.handshake();
        c.client(&get("/owa/tso"));
        let response = c.server(&ok("t".repeat(4000).as_bytes()));
        c.close();
        let mut frames = c.frames(Link::Ethernet);
        let frame = &mut frames[response.start];
        let ip = &mut frame[14..];
        ip[2..4].copy_from_slice(&[0, 0]);
        ip[10..12].copy_from_slice(&[0, 0]);
        let sum = frame::checksum(&ip[..20]);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        out.push(file(
            "ipv4-tso-total-length-zero.pcap",
            "captured on the server with TCP segmentation offload: GET /owa/tso, 200 with a 4000-byte body in one IPv4 packet whose total length is 0",
            Format::PCAP,
            Link::Ethernet,
            frames,
        ));
    }

    out
}

/// Overlap where the new segment starts before the old one.
///
/// Request: `GET /owa/auth/XXX.js …` (byte 14 is the first X). Captured in order:
/// 1. bytes 0..10 `GET /owa/a` (in order, delivered);
/// 2. bytes 14..end `old.js HTTP/1.1…` (out of order: held, bytes 10..14 missing);
/// 3. bytes 10..17 `uth/new`: fills the hole and overlaps 14..17 with different bytes.
///
/// The new segment starts before the old one, so windows, bsd, linux and last keep the new
/// bytes: `/owa/auth/new.js`; first keeps the old: `/owa/auth/old.js`.
fn overlap_before() -> Scenario {
    let old = OVERLAP_REQUEST.replace("XXX", "old");
    let mut c = conv(51008, 80);
    c.handshake();
    c.segment(true, 0, &old.as_bytes()[..10]);
    c.segment(true, 14, &old.as_bytes()[14..]);
    c.segment(true, 10, b"uth/new");
    c.ack(false);
    c.server(&ok(b"overlap"));
    c.close();
    eth(
        "tcp-overlap-before.pcap",
        "overlap, new segment starting BEFORE the held one: URL /owa/auth/new.js under windows (default), bsd, linux, last; /owa/auth/old.js under first",
        &c,
    )
}

/// Overlap where the new segment starts after the old one.
///
/// Captured in order:
/// 1. bytes 0..10 `GET /owa/a` (in order);
/// 2. bytes 13..17 `/old` (held);
/// 3. bytes 14..end `new.js HTTP/1.1…` (held, overlaps 14..17 with different bytes);
/// 4. bytes 10..13 `uth` fills the hole.
///
/// The new segment starts after the old one, so windows, bsd, linux and first keep the old
/// bytes: `/owa/auth/old.js`; last keeps the new: `/owa/auth/new.js`.
fn overlap_after() -> Scenario {
    let new = OVERLAP_REQUEST.replace("XXX", "new");
    let mut c = conv(51009, 80);
    c.handshake();
    c.segment(true, 0, &new.as_bytes()[..10]);
    c.segment(true, 13, b"/old");
    c.segment(true, 14, &new.as_bytes()[14..]);
    c.segment(true, 10, b"uth");
    c.ack(false);
    c.server(&ok(b"overlap"));
    c.close();
    eth(
        "tcp-overlap-after.pcap",
        "overlap, new segment starting AFTER the held one: URL /owa/auth/old.js under windows (default), bsd, linux, first; /owa/auth/new.js under last",
        &c,
    )
}
