//! Tests of [`HttpConnection`] driven the way the stream module drives it.

use super::decode::tests::{gzip, raw_deflate, zlib};
use super::*;
use crate::flow::Side::{Initiator as CLIENT, Responder as SERVER};
use crate::time::Timestamp;

fn at(n: u64) -> PacketRef {
    PacketRef {
        ts: Timestamp(n as i64 * 1_000),
        pcap_cnt: n,
    }
}

/// One connection, its config and counters, and the transactions it handed out.
struct Harness {
    conn: HttpConnection,
    cfg: HttpConfig,
    stats: HttpStats,
    out: Vec<HttpTransaction>,
    packet: u64,
}

impl Harness {
    fn new() -> Harness {
        Harness::with(HttpConfig::default())
    }

    fn with(cfg: HttpConfig) -> Harness {
        Harness {
            conn: HttpConnection::new(),
            cfg,
            stats: HttpStats::default(),
            out: Vec::new(),
            packet: 0,
        }
    }

    /// Delivers `bytes` from `side` as one packet; returns its number.
    fn send(&mut self, side: Side, bytes: &[u8]) -> u64 {
        self.packet += 1;
        self.conn
            .on_data(side, bytes, at(self.packet), &self.cfg, &mut self.stats);
        self.conn.take_completed(&mut self.out, &mut self.stats);
        self.packet
    }

    fn gap(&mut self, side: Side, len: u64) {
        self.conn.on_gap(side, len, &self.cfg, &mut self.stats);
        self.conn.take_completed(&mut self.out, &mut self.stats);
    }

    fn close(&mut self, side: Side) {
        self.packet += 1;
        self.conn
            .on_close(side, at(self.packet), &self.cfg, &mut self.stats);
        self.conn.take_completed(&mut self.out, &mut self.stats);
    }

    fn finish(&mut self) {
        self.conn.finish(&self.cfg, &mut self.stats);
        self.conn.take_completed(&mut self.out, &mut self.stats);
    }

    fn response(&self, tx: usize) -> &HttpResponse {
        self.out[tx].response.as_ref().expect("a response")
    }
}

fn targets(out: &[HttpTransaction]) -> Vec<String> {
    out.iter()
        .map(|t| String::from_utf8_lossy(t.request.target()).into_owned())
        .collect()
}

fn statuses(out: &[HttpTransaction]) -> Vec<Option<u16>> {
    out.iter()
        .map(|t| t.response.as_ref().map(|r| r.status))
        .collect()
}

fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn pipelined_requests_pair_in_order() {
    let mut h = Harness::new();
    let requests = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /c HTTP/1.1\r\n\r\n";
    let p1 = h.send(CLIENT, requests);
    assert!(h.out.is_empty());
    let mut responses = ok("one");
    responses.extend(ok("two"));
    responses.extend(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    let p2 = h.send(SERVER, &responses);
    assert_eq!(targets(&h.out), ["/a", "/b", "/c"]);
    assert_eq!(statuses(&h.out), [Some(200), Some(200), Some(404)]);
    assert_eq!(h.out.iter().map(|t| t.tx_id).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(h.out[1].request.body, b"abc");
    assert_eq!(h.response(0).body, b"one");
    assert_eq!(h.response(1).body, b"two");
    assert_eq!(h.response(2).reason(), b"Not Found");
    for tx in &h.out {
        assert_eq!(tx.client, Some(CLIENT));
        assert_eq!(tx.request_at, at(p1));
        assert_eq!(tx.completed_at, at(p2));
        assert_eq!(tx.flags, TxFlags::default());
    }
    assert_eq!(h.conn.client(), Some(CLIENT));
    assert!(h.conn.is_active());
    assert_eq!(
        h.stats,
        HttpStats {
            connections: 1,
            transactions: 3,
            requests: 3,
            responses: 3,
            ..HttpStats::default()
        }
    );
}

#[test]
fn request_byte_by_byte() {
    let request = b"POST /ecp/y.js HTTP/1.1\r\nHost: ex\r\nCookie: X-BEResource=a]@ex:444/x~1\r\nContent-Length: 5\r\n\r\nhello";
    let mut h = Harness::new();
    for b in request.iter() {
        h.send(CLIENT, std::slice::from_ref(b));
    }
    for b in ok("fine").iter() {
        h.send(SERVER, std::slice::from_ref(b));
    }
    assert_eq!(h.out.len(), 1);
    let tx = &h.out[0];
    assert_eq!(tx.request.method(), b"POST");
    assert_eq!(tx.request.body, b"hello");
    assert_eq!(
        tx.request.cookies.find("x-beresource"),
        Some(&b"a]@ex:444/x~1"[..])
    );
    assert_eq!(
        tx.request_at.pcap_cnt, 1,
        "the packet of the first request byte"
    );
    assert_eq!(
        tx.completed_at.pcap_cnt, h.packet,
        "the packet of the last response byte"
    );
    assert_eq!(h.response(0).body, b"fine");

    // The same bytes whole give the same transaction (but for packet numbers).
    let mut whole = Harness::new();
    whole.send(CLIENT, request);
    whole.send(SERVER, &ok("fine"));
    let mut a = h.out[0].clone();
    let b = whole.out[0].clone();
    a.request_at = b.request_at;
    a.completed_at = b.completed_at;
    assert_eq!(a, b);
}

#[test]
fn chunked_request_with_extensions_and_trailers() {
    let mut h = Harness::new();
    h.send(
        CLIENT,
        b"POST /ecp/DDI/DDIService.svc/SetObject HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n",
    );
    h.send(
        CLIENT,
        b"6 ; x=\"y\"\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
    );
    h.send(SERVER, &ok(""));
    assert_eq!(h.out.len(), 1);
    let req = &h.out[0].request;
    assert_eq!(req.body, b"hello world");
    assert_eq!(req.body_len, 11);
    assert_eq!(req.trailers.get("x-trailer"), Some(&b"t"[..]));
}

#[test]
fn gzip_request_body_is_decoded() {
    let payload = br#"{"properties":{"Parameters":{"ExternalUrl":"http://f/#<script language=\"JScript\" runat=\"server\">"}}}"#;
    let body = gzip(payload);
    let mut request = format!(
        "POST /ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend(&body);
    let mut h = Harness::new();
    h.send(CLIENT, &request);
    h.send(SERVER, &ok(""));
    assert_eq!(h.out[0].request.body, payload);
    assert_eq!(h.out[0].request.body_len, body.len() as u64);
}

#[test]
fn deflate_response_bodies_zlib_and_raw() {
    for wire in [zlib(b"zlib wrapped"), raw_deflate(b"raw deflate")] {
        let mut h = Harness::new();
        h.send(CLIENT, b"GET / HTTP/1.1\r\n\r\n");
        let mut resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: {}\r\n\r\n",
            wire.len()
        )
        .into_bytes();
        resp.extend(&wire);
        h.send(SERVER, &resp);
        assert_eq!(h.stats.decode_errors, 0);
        assert!(h.response(0).body == b"zlib wrapped" || h.response(0).body == b"raw deflate");
    }
}

#[test]
fn nested_encodings_chunked() {
    // "gzip, deflate": gzip first, then deflate; decoded in reverse. Sent chunked.
    let wire = zlib(&gzip(b"two layers"));
    let mut resp = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for piece in wire.chunks(7) {
        resp.extend(format!("{:x}\r\n", piece.len()).as_bytes());
        resp.extend(piece);
        resp.extend(b"\r\n");
    }
    resp.extend(b"0\r\n\r\n");
    let mut h = Harness::new();
    h.send(CLIENT, b"GET / HTTP/1.1\r\n\r\n");
    h.send(SERVER, &resp);
    assert_eq!(h.response(0).body, b"two layers");
    assert_eq!(h.response(0).body_len, wire.len() as u64);
}

#[test]
fn undecodable_body_kept_raw_and_counted() {
    let mut h = Harness::new();
    h.send(
        CLIENT,
        b"POST / HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope",
    );
    h.send(SERVER, &ok(""));
    assert_eq!(h.out[0].request.body, b"nope");
    assert_eq!(h.stats.decode_errors, 1);
}

#[test]
fn head_response_has_no_body() {
    let mut h = Harness::new();
    h.send(
        CLIENT,
        b"HEAD /owa/ HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\n\r\n",
    );
    let mut resp = b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n".to_vec();
    resp.extend(ok("x"));
    h.send(SERVER, &resp);
    assert_eq!(statuses(&h.out), [Some(200), Some(200)]);
    assert!(h.response(0).body.is_empty());
    assert_eq!(h.response(1).body, b"x");
}

#[test]
fn no_body_for_204_and_304() {
    let mut h = Harness::new();
    h.send(
        CLIENT,
        b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n",
    );
    h.send(
        SERVER,
        b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz",
    );
    assert_eq!(statuses(&h.out), [Some(204), Some(304), Some(200)]);
    assert_eq!(h.response(2).body, b"z");
}

#[test]
fn expect_100_continue() {
    let mut h = Harness::new();
    h.send(
        CLIENT,
        b"POST /ews/exchange.asmx HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
    );
    h.send(SERVER, b"HTTP/1.1 100 Continue\r\n\r\n");
    assert!(h.out.is_empty());
    h.send(CLIENT, b"body");
    h.send(SERVER, &ok("done"));
    assert_eq!(h.out.len(), 1);
    assert_eq!(h.out[0].request.body, b"body");
    assert_eq!(h.response(0).status, 200);
    assert_eq!(h.response(0).body, b"done");
    assert_eq!(h.stats.responses, 1);
}

#[test]
fn response_until_close() {
    let mut h = Harness::new();
    h.send(CLIENT, b"GET / HTTP/1.0\r\n\r\n");
    h.send(SERVER, b"HTTP/1.0 200 OK\r\n\r\npart one,");
    h.send(SERVER, b" part two");
    assert!(h.out.is_empty());
    h.close(SERVER);
    assert_eq!(h.out.len(), 1);
    assert_eq!(h.response(0).body, b"part one, part two");
    assert!(!h.out[0].flags.incomplete);

    // Without a close: ended at finish, marked incomplete.
    let mut h = Harness::new();
    h.send(CLIENT, b"GET / HTTP/1.0\r\n\r\n");
    h.send(SERVER, b"HTTP/1.0 200 OK\r\n\r\nabc");
    h.finish();
    assert_eq!(h.response(0).body, b"abc");
    assert!(h.out[0].flags.incomplete);
}

#[test]
fn connect_tunnel_stops_parsing() {
    let mut h = Harness::new();
    h.send(
        CLIENT,
        b"CONNECT mail.example.com:443 HTTP/1.1\r\nHost: mail.example.com:443\r\n\r\n",
    );
    // Optimistic TLS bytes before the answer are held, not parsed.
    h.send(CLIENT, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03");
    h.send(SERVER, b"HTTP/1.1 200 Connection established\r\n\r\n");
    h.send(SERVER, b"\x16\x03\x03\x00\x5a\x02");
    h.finish();
    assert_eq!(h.out.len(), 1);
    assert_eq!(h.out[0].request.method(), b"CONNECT");
    assert_eq!(h.out[0].request.uri.path, b"mail.example.com:443");
    assert_eq!(h.response(0).status, 200);
    assert!(!h.out[0].flags.incomplete);
    assert!(!h.conn.is_active());
    assert_eq!(h.stats.garbage, 0);
}

#[test]
fn connect_refused_goes_on_parsing() {
    let mut h = Harness::new();
    h.send(
        CLIENT,
        b"CONNECT x:443 HTTP/1.1\r\n\r\nGET /after HTTP/1.1\r\n\r\n",
    );
    h.send(
        SERVER,
        b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
    );
    h.send(SERVER, &ok("after"));
    assert_eq!(targets(&h.out), ["x:443", "/after"]);
    assert_eq!(statuses(&h.out), [Some(407), Some(200)]);
    assert!(h.conn.is_active());
}

#[test]
fn switching_protocols_stops_parsing() {
    let mut h = Harness::new();
    h.send(
        CLIENT,
        b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    );
    h.send(
        SERVER,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
    );
    h.send(CLIENT, b"\x81\x85garbage that is not http");
    h.finish();
    assert_eq!(statuses(&h.out), [Some(101)]);
    assert!(!h.conn.is_active());
    assert_eq!(h.stats.garbage, 0);
}

#[test]
fn body_limit_truncates() {
    let cfg = HttpConfig {
        request_body_limit: 4,
        response_body_limit: 3,
        ..HttpConfig::default()
    };
    let mut h = Harness::with(cfg);
    h.send(
        CLIENT,
        b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789",
    );
    h.send(SERVER, &ok("abcdef"));
    let tx = &h.out[0];
    assert_eq!(
        (tx.request.body.as_slice(), tx.request.body_len),
        (&b"0123"[..], 10)
    );
    assert_eq!(h.response(0).body, b"abc");
    assert_eq!(h.response(0).body_len, 6);
    assert!(tx.flags.request_body_truncated && tx.flags.response_body_truncated);
    assert_eq!(h.stats.bodies_truncated, 2);
}

/// A response of `len` body bytes (`Content-Length`).
fn answer(len: usize) -> Vec<u8> {
    let mut m = format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n").into_bytes();
    m.extend((0..len).map(|i| b'a' + (i % 26) as u8));
    m
}

#[test]
fn uninspected_response_bodies_keep_their_first_bytes() {
    let cfg = HttpConfig {
        response_body_limit: 8000,
        ..HttpConfig::default()
    };
    let mut h = Harness::with(cfg);
    // Told nothing: bodies are kept up to the limit.
    h.send(CLIENT, b"GET /a HTTP/1.1\r\n\r\n");
    h.send(SERVER, &answer(6000));
    assert_eq!(h.response(0).body.len(), 6000);
    // No rule may inspect: the first bytes are kept, every byte counted, and truncation
    // still says whether the body was longer than the limit.
    for (len, truncated) in [(6000, false), (9000, true)] {
        h.send(CLIENT, b"GET /b HTTP/1.1\r\n\r\n");
        h.conn.set_response_bodies_inspected(false);
        h.send(SERVER, &answer(len));
        let tx = h.out.last().expect("tx");
        let r = tx.response.as_ref().expect("response");
        assert_eq!(r.body.len(), RESPONSE_BODY_PREFIX, "{len}");
        assert!(r.body == answer(len)[answer(len).len() - len..][..RESPONSE_BODY_PREFIX]);
        assert_eq!(
            (r.body_len, tx.flags.response_body_truncated),
            (len as u64, truncated)
        );
    }
    assert_eq!(h.stats.bodies_truncated, 1);
    // Some rule may: kept up to the limit.
    h.send(CLIENT, b"GET /c HTTP/1.1\r\n\r\n");
    h.conn.set_response_bodies_inspected(true);
    h.send(SERVER, &answer(6000));
    assert_eq!(
        h.out
            .last()
            .and_then(|t| t.response.as_ref())
            .map(|r| r.body.len()),
        Some(6000)
    );
}

#[test]
fn response_bodies_are_kept_whole_when_the_bits_may_have_changed() {
    let whole = |h: &Harness| {
        h.out
            .last()
            .and_then(|t| t.response.as_ref())
            .map(|r| r.body.len())
    };
    let mut h = Harness::new();
    // The request was over after the caller judged the flow's bits.
    h.conn.set_response_bodies_inspected(false);
    h.send(CLIENT, b"GET /a HTTP/1.1\r\n\r\n");
    h.send(SERVER, &answer(6000));
    assert_eq!(whole(&h), Some(6000));
    // The answer came before its request was over.
    h.send(CLIENT, b"POST /b HTTP/1.1\r\nContent-Length: 4\r\n\r\nab");
    h.conn.set_response_bodies_inspected(false);
    h.send(SERVER, &answer(6000));
    h.send(CLIENT, b"cd");
    assert_eq!(whole(&h), Some(6000));
    // An encoded body is decoded as ever.
    h.send(CLIENT, b"GET /c HTTP/1.1\r\n\r\n");
    h.conn.set_response_bodies_inspected(false);
    let mut m = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n".to_vec();
    let body = gzip(&vec![b'z'; 6000]);
    m.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    m.extend_from_slice(&body);
    h.send(SERVER, &m);
    assert_eq!(whole(&h), Some(6000));
    // A later request was over before this answer's head: it may be inspected with the bits
    // that request found, not those it left.
    h.send(CLIENT, b"GET /d HTTP/1.1\r\n\r\nGET /e HTTP/1.1\r\n\r\n");
    h.conn.set_response_bodies_inspected(false);
    h.send(SERVER, &answer(6000));
    assert_eq!(whole(&h), Some(6000));
    h.send(SERVER, &answer(6000));
    assert_eq!(whole(&h), Some(RESPONSE_BODY_PREFIX));
}

#[test]
fn decompression_bomb_stays_bounded() {
    let cfg = HttpConfig {
        response_body_limit: 64 << 10,
        ..HttpConfig::default()
    };
    let bomb = gzip(&gzip(&vec![b'A'; 32 << 20]));
    let mut resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip, gzip\r\nContent-Length: {}\r\n\r\n",
        bomb.len()
    )
    .into_bytes();
    resp.extend(&bomb);
    let mut h = Harness::with(cfg);
    h.send(CLIENT, b"GET /bomb HTTP/1.1\r\n\r\n");
    h.send(SERVER, &resp);
    assert_eq!(h.response(0).body.len(), 64 << 10);
    assert!(h.response(0).body.iter().all(|b| *b == b'A'));
    assert!(h.out[0].flags.response_body_truncated);
    assert_eq!(h.stats.bodies_truncated, 1);
}

#[test]
fn responder_speaking_first_is_the_client() {
    let mut h = Harness::new();
    h.send(SERVER, b"GET /reverse HTTP/1.1\r\n\r\n");
    h.send(CLIENT, &ok("r"));
    assert_eq!(h.conn.client(), Some(SERVER));
    assert_eq!(h.out.len(), 1);
    assert_eq!(h.out[0].client, Some(SERVER));
    assert_eq!(h.response(0).body, b"r");
}

#[test]
fn status_line_first_makes_the_other_side_client() {
    let mut h = Harness::new();
    h.send(CLIENT, b"GET /x HT"); // not decided yet
    h.send(SERVER, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(h.conn.client(), Some(CLIENT));
    h.send(CLIENT, b"TP/1.1\r\n\r\n");
    h.send(SERVER, &ok("y"));
    // The first response had no request yet: a transaction with an empty request.
    assert_eq!(targets(&h.out), ["", "/x"]);
    assert_eq!(statuses(&h.out), [Some(200), Some(200)]);
}

#[test]
fn tls_is_not_http() {
    let mut h = Harness::new();
    let hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03GET / HTTP/1.1\r\n";
    h.send(CLIENT, hello);
    assert!(h.conn.is_active(), "waits for the other side");
    h.send(SERVER, b"\x16\x03\x03\x00\x5a\x02\x00\x00\x56\x03\x03");
    assert!(!h.conn.is_active());
    h.send(CLIENT, b"GET / HTTP/1.1\r\n\r\n");
    h.finish();
    assert!(h.out.is_empty());
    assert_eq!(h.conn.client(), None);
    assert_eq!(
        h.stats,
        HttpStats {
            not_http: 1,
            ..HttpStats::default()
        }
    );

    // One-sided: counted at finish.
    let mut h = Harness::new();
    h.send(CLIENT, hello);
    h.finish();
    assert_eq!(h.stats.not_http, 1);
    // Nothing at all: not counted.
    let mut h = Harness::new();
    h.finish();
    assert_eq!(h.stats, HttpStats::default());
}

#[test]
fn garbage_after_a_valid_transaction() {
    let mut h = Harness::new();
    h.send(CLIENT, b"GET /ok HTTP/1.1\r\n\r\n");
    h.send(SERVER, &ok("fine"));
    h.send(CLIENT, b"\x00\x01\x02 this is not a request\r\n\r\n");
    assert_eq!(h.stats.garbage, 1);
    assert!(!h.conn.is_active());
    h.send(CLIENT, b"GET /ignored HTTP/1.1\r\n\r\n");
    h.finish();
    assert_eq!(targets(&h.out), ["/ok"]);
    assert!(!h.out[0].flags.incomplete);
}

#[test]
fn garbage_closes_open_transactions() {
    let mut h = Harness::new();
    h.send(CLIENT, b"GET /a HTTP/1.1\r\n\r\n");
    h.send(SERVER, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    h.send(CLIENT, b"BROKEN\x01\r\n\r\n");
    assert_eq!(h.stats.garbage, 1);
    assert_eq!(h.out.len(), 1);
    assert!(h.out[0].flags.incomplete);
    assert_eq!(h.response(0).body, b"abc");
}

#[test]
fn bad_first_head_of_a_recognised_side_is_garbage() {
    let mut h = Harness::new();
    h.send(CLIENT, b"GET / HTTP/1.1\r\nBad\x00Header: x\r\n\r\n");
    assert_eq!(h.stats.garbage, 1);
    assert!(!h.conn.is_active());
}

#[test]
fn errors_are_judged_on_whole_lines() {
    // An unterminated bad line is not judged until its line feed, however the bytes arrive.
    let stream = b"HEAD /x HTTP/1.0\r\n\r\nContent-Encoding: deflate";
    for cut in 0..=stream.len() {
        let mut h = Harness::new();
        h.send(CLIENT, &stream[..cut]);
        h.send(CLIENT, &stream[cut..]);
        assert_eq!(h.stats.garbage, 0, "cut {cut}");
        h.send(CLIENT, b"\r\n");
        assert_eq!(h.stats.garbage, 1, "cut {cut}");
    }
}

#[test]
fn oversized_head_is_garbage() {
    let cfg = HttpConfig {
        max_header_bytes: 100,
        ..HttpConfig::default()
    };
    let mut h = Harness::with(cfg);
    h.send(CLIENT, b"GET /a HTTP/1.1\r\n\r\n");
    h.send(SERVER, &ok(""));
    h.send(CLIENT, b"GET /b HTTP/1.1\r\n");
    for _ in 0..10 {
        h.send(CLIENT, b"X-Long-Header: 0123456789\r\n");
    }
    assert_eq!(h.stats.garbage, 1);
    assert!(!h.conn.is_active());
}

#[test]
fn gap_inside_a_known_length_body() {
    let mut h = Harness::new();
    h.send(CLIENT, b"POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\n012");
    h.gap(CLIENT, 4);
    h.send(CLIENT, b"789GET /b HTTP/1.1\r\n\r\n");
    h.send(SERVER, &ok("1"));
    h.send(SERVER, &ok("2"));
    assert_eq!(targets(&h.out), ["/a", "/b"]);
    let tx = &h.out[0];
    assert!(tx.flags.request_gap);
    assert_eq!(tx.request.body, b"012789");
    assert_eq!(tx.request.body_len, 10);
    assert!(!h.out[1].flags.request_gap);
    assert_eq!(h.stats.resyncs, 0);

    // In a response body too.
    let mut h = Harness::new();
    h.send(CLIENT, b"GET / HTTP/1.1\r\n\r\n");
    h.send(SERVER, b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nab");
    h.gap(SERVER, 2);
    h.send(SERVER, b"ef");
    assert_eq!(h.out.len(), 1);
    assert!(h.out[0].flags.response_gap);
    assert_eq!(h.response(0).body, b"abef");
}

#[test]
fn gap_then_resync_at_next_request_line() {
    let mut h = Harness::new();
    h.send(
        CLIENT,
        b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123",
    );
    h.gap(CLIENT, 100); // past the chunk: lost our place
    h.send(CLIENT, b"junk junk GET /no HTTP/1.1 mid-line\r\nmore junk\r\nGET /ecp/y.js HTTP/1.1\r\nHost: x\r\n\r\n");
    h.send(SERVER, &ok("1"));
    h.send(SERVER, &ok("2"));
    assert_eq!(h.stats.resyncs, 1);
    assert_eq!(targets(&h.out), ["/a", "/ecp/y.js"]);
    assert!(h.out[0].flags.request_gap);
    assert_eq!(h.out[0].request.body, b"0123");
    assert!(h.conn.is_active());
    assert_eq!(h.stats.garbage, 0);
}

#[test]
fn server_gap_resyncs_at_status_line() {
    let mut h = Harness::new();
    h.send(CLIENT, b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
    h.send(
        SERVER,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
    );
    h.gap(SERVER, 1000);
    h.send(
        SERVER,
        b"lost bytes\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(h.stats.resyncs, 1);
    assert_eq!(statuses(&h.out), [Some(200), Some(404)]);
    assert!(h.out[0].flags.response_gap);
}

#[test]
fn resync_candidate_split_across_packets() {
    let mut h = Harness::new();
    h.send(CLIENT, b"GET /a HTTP/1.1\r\n\r\n");
    h.gap(CLIENT, 50);
    h.send(CLIENT, b"tail of something\r\nPOST /ecp/y");
    h.send(CLIENT, b".js HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi");
    h.finish();
    assert_eq!(targets(&h.out), ["/a", "/ecp/y.js"]);
    assert_eq!(h.out[1].request.body, b"hi");
    assert_eq!(h.out[1].request_at.pcap_cnt, 2);
}

#[test]
fn midstream_server_bytes_resync() {
    // Picked up in the middle of a response body: the server side looks for a status line.
    let mut h = Harness::new();
    h.send(SERVER, b"tail of an earlier body\r\n");
    h.send(CLIENT, b"GET /a HTTP/1.1\r\n\r\n");
    h.send(
        SERVER,
        b"more of it</html>\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    );
    assert_eq!(h.conn.client(), Some(CLIENT));
    assert_eq!(statuses(&h.out), [Some(200)]);
    assert_eq!(h.response(0).body, b"ok");
    assert_eq!(h.stats.not_http, 0);
    assert_eq!(h.stats.garbage, 0);
}

#[test]
fn finish_emits_requests_without_responses() {
    let mut h = Harness::new();
    let p = h.send(CLIENT, b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
    h.send(SERVER, &ok("a"));
    assert_eq!(h.out.len(), 1);
    let q = h.send(CLIENT, b"POST /c HTTP/1.1\r\nContent-Length: 9\r\n\r\nabc");
    h.finish();
    assert_eq!(targets(&h.out), ["/a", "/b", "/c"]);
    assert_eq!(statuses(&h.out), [Some(200), None, None]);
    assert!(!h.out[0].flags.incomplete);
    assert!(h.out[1].flags.incomplete && h.out[2].flags.incomplete);
    assert_eq!(h.out[1].completed_at, at(p));
    assert_eq!(h.out[2].request_at, at(q));
    assert_eq!(h.out[2].request.body, b"abc");
    assert_eq!(h.out[2].request.body_len, 3);
    // Nothing after finish.
    h.send(CLIENT, b"GET /late HTTP/1.1\r\n\r\n");
    h.finish();
    assert_eq!(h.out.len(), 3);
}

#[test]
fn transactions_leave_in_order() {
    // The response to /a is complete before its request body is: /a waits for its body.
    let mut h = Harness::new();
    h.send(CLIENT, b"POST /a HTTP/1.1\r\nContent-Length: 4\r\n\r\nab");
    h.send(
        SERVER,
        b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n",
    );
    assert!(h.out.is_empty());
    h.send(CLIENT, b"cdGET /b HTTP/1.1\r\n\r\n");
    assert_eq!(targets(&h.out), ["/a"]);
    h.send(SERVER, &ok(""));
    assert_eq!(targets(&h.out), ["/a", "/b"]);
}

#[test]
fn max_pending_gives_up_on_the_oldest() {
    let cfg = HttpConfig {
        max_pending: 2,
        ..HttpConfig::default()
    };
    let mut h = Harness::with(cfg);
    h.send(
        CLIENT,
        b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n",
    );
    assert_eq!(targets(&h.out), ["/1"]);
    assert!(h.out[0].flags.incomplete);
    assert_eq!(h.stats.pending_overflows, 1);
    h.send(SERVER, &ok("for 2"));
    assert_eq!(targets(&h.out), ["/1", "/2"]);
    assert_eq!(h.response(1).body, b"for 2");
}

#[test]
fn waiting_request_bodies_are_capped_per_connection() {
    let cfg = HttpConfig {
        max_pending_bytes: 25,
        ..HttpConfig::default()
    };
    let mut h = Harness::with(cfg);
    let post = |n: u8| {
        let mut r = format!("POST /{n} HTTP/1.1\r\nContent-Length: 10\r\n\r\n").into_bytes();
        r.extend_from_slice(&[b'a' + n; 10]);
        r
    };
    // Three 10-byte bodies fit under 25 bytes only two at a time: when the fourth request
    // starts, the oldest waiting one is given up on.
    for n in 1..=3 {
        h.send(CLIENT, &post(n));
    }
    assert!(h.out.is_empty());
    h.send(CLIENT, &post(4));
    assert_eq!(targets(&h.out), ["/1"]);
    assert!(h.out[0].flags.incomplete);
    assert_eq!(h.stats.pending_overflows, 1);
    h.send(SERVER, &ok("for 2"));
    assert_eq!(targets(&h.out), ["/1", "/2"]);
}

#[test]
fn request_fields_as_sent_and_as_iis_sees_them() {
    let mut h = Harness::new();
    h.send(
        CLIENT,
        b"GET  /%65cp/..\\ecp//y%2Ejs?a=%41#frag  HTTP/1.1\r\nHost: ex\r\nCookie: a=b, X-BEResource=x~1\r\nCookie: $Path=/; X-AnonResource-Backend=y~2\r\n\r\n",
    );
    h.finish();
    let req = &h.out[0].request;
    assert_eq!(req.target(), b"/%65cp/..\\ecp//y%2Ejs?a=%41#frag");
    assert_eq!(
        req.request_line(),
        b"GET  /%65cp/..\\ecp//y%2Ejs?a=%41#frag  HTTP/1.1"
    );
    assert_eq!(req.uri.to_bytes(), b"/ecp/y.js?a=A");
    assert_eq!(req.uri.query_raw.as_deref(), Some(&b"a=%41"[..]));
    let names: Vec<&[u8]> = req.cookies.iter().map(|c| c.name).collect();
    assert_eq!(names, [&b"a"[..], b"$Path", b"X-AnonResource-Backend"]);
    assert_eq!(
        req.headers.joined("cookie").unwrap(),
        b"a=b, X-BEResource=x~1, $Path=/; X-AnonResource-Backend=y~2"
    );
}

#[test]
fn leading_empty_lines_between_messages() {
    let mut h = Harness::new();
    h.send(
        CLIENT,
        b"POST /a HTTP/1.1\r\nContent-Length: 1\r\n\r\nx\r\n",
    );
    let p = h.send(CLIENT, b"\r\nGET /b HTTP/1.1\r\n\r\n");
    h.send(SERVER, &ok(""));
    h.send(SERVER, &ok(""));
    assert_eq!(targets(&h.out), ["/a", "/b"]);
    assert_eq!(h.out[1].request_at, at(p));
    assert_eq!(h.out[1].request.request_line(), b"GET /b HTTP/1.1");
}

/// Client bytes and server bytes of a session that exercises most framings.
fn sample_traffic() -> (Vec<u8>, Vec<u8>) {
    let gz = gzip(b"compressed request body");
    let mut client = b"GET /owa/ HTTP/1.1\r\nHost: ex\r\n\r\n".to_vec();
    client.extend(
        format!(
            "POST /ecp/y.js HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            gz.len()
        )
        .as_bytes(),
    );
    client.extend(&gz);
    client.extend(b"POST /chunked HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;e=1\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n");
    client.extend(b"HEAD /h HTTP/1.1\r\n\r\n");
    client.extend(b"POST /expect HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok");
    client.extend(b"GET /last HTTP/1.0\r\n\r\n");
    let mut server = ok("owa");
    server.extend(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n0\r\n\r\n");
    server.extend(ok("chunked"));
    server.extend(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n");
    server.extend(b"HTTP/1.1 100 Continue\r\n\r\n");
    server.extend(ok("expect"));
    server.extend(b"HTTP/1.0 200 OK\r\n\r\nuntil close");
    (client, server)
}

fn run_split(
    client: &[u8],
    server: &[u8],
    client_cuts: &[usize],
    server_cuts: &[usize],
) -> (Vec<HttpTransaction>, HttpStats) {
    let mut h = Harness::new();
    for (side, bytes, cuts) in [(CLIENT, client, client_cuts), (SERVER, server, server_cuts)] {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        cuts.push(0);
        cuts.push(bytes.len());
        cuts.sort_unstable();
        cuts.dedup();
        for w in cuts.windows(2) {
            h.conn
                .on_data(side, &bytes[w[0]..w[1]], at(1), &h.cfg, &mut h.stats);
            h.conn.take_completed(&mut h.out, &mut h.stats);
        }
    }
    h.conn.on_close(SERVER, at(1), &h.cfg, &mut h.stats);
    h.finish();
    (h.out, h.stats)
}

#[test]
fn sample_traffic_whole() {
    let (client, server) = sample_traffic();
    let (out, stats) = run_split(&client, &server, &[], &[]);
    assert_eq!(
        targets(&out),
        ["/owa/", "/ecp/y.js", "/chunked", "/h", "/expect", "/last"]
    );
    assert_eq!(statuses(&out), [Some(200); 6]);
    assert_eq!(out[1].request.body, b"compressed request body");
    assert_eq!(out[2].request.body, b"abcde");
    assert_eq!(out[5].response.as_ref().unwrap().body, b"until close");
    assert!(out.iter().all(|t| t.flags == TxFlags::default()));
    assert_eq!(stats.transactions, 6);
    assert_eq!(stats.responses, 6);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    #[test]
    fn splitting_does_not_change_transactions(
        client_cuts in proptest::collection::vec(0usize..10_000, 0..40),
        server_cuts in proptest::collection::vec(0usize..10_000, 0..40),
    ) {
        let (client, server) = sample_traffic();
        let whole = run_split(&client, &server, &[], &[]);
        let split = run_split(&client, &server, &client_cuts, &server_cuts);
        proptest::prop_assert_eq!(whole, split);
    }

    #[test]
    fn random_input_never_panics(
        ops in proptest::collection::vec(
            (0u8..4, proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0u64..200),
            0..40,
        ),
        seed_http in proptest::bool::ANY,
    ) {
        let cfg = HttpConfig { max_header_bytes: 256, max_headers: 8, max_pending: 4, request_body_limit: 32, response_body_limit: 32, ..HttpConfig::default() };
        let mut h = Harness::with(cfg);
        if seed_http {
            h.send(CLIENT, b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n");
            h.send(SERVER, b"HTTP/1.1 200 OK\r\n\r\n");
        }
        for (op, bytes, len) in ops {
            match op {
                0 => { h.send(CLIENT, &bytes); }
                1 => { h.send(SERVER, &bytes); }
                2 => h.gap(if len % 2 == 0 { CLIENT } else { SERVER }, len),
                _ => h.close(if len % 2 == 0 { CLIENT } else { SERVER }),
            }
        }
        h.finish();
        let ids: Vec<u64> = h.out.iter().map(|t| t.tx_id).collect();
        proptest::prop_assert!(ids.windows(2).all(|w| w[1] == w[0] + 1));
        proptest::prop_assert_eq!(h.stats.transactions, h.out.len() as u64);
    }

    #[test]
    fn random_splits_of_random_http_like_bytes(
        pieces in proptest::collection::vec(
            proptest::sample::select(vec![
                &b"GET / HTTP/1.1\r\n"[..], b"HTTP/1.1 200 OK\r\n", b"Content-Length: 3\r\n",
                b"Transfer-Encoding: chunked\r\n", b"\r\n", b"3\r\nabc\r\n", b"0\r\n", b"abc", b"\x1f\x8b",
                b"Content-Encoding: deflate\r\n", b"HEAD /x HTTP/1.0\r\n", b"HTTP/1.1 100 Continue\r\n",
            ]),
            0..30,
        ),
        cuts in proptest::collection::vec(0usize..2_000, 0..20),
    ) {
        let bytes: Vec<u8> = pieces.concat();
        let half = bytes.len() / 2;
        let (client, server) = bytes.split_at(half);
        let whole = run_split(client, server, &[], &[]);
        let split = run_split(client, server, &cuts, &cuts);
        proptest::prop_assert_eq!(whole, split);
    }
}

#[test]
fn libhtp_bytes_after_a_response_that_are_not_a_status_line_are_a_headless_body() {
    // Content-Length 4, then more bytes that are no status line: libhtp (and browsers) read
    // them as the body of a response without a head, up to the close.
    let mut h = Harness::new();
    h.send(CLIENT, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    h.send(
        SERVER,
        b"HTTP/1.1 200 ok\r\nContent-length: 4\r\n\r\nabcdEFGH",
    );
    h.send(SERVER, b"\r\nIJ");
    h.close(SERVER);
    h.finish();
    assert_eq!(h.out.len(), 2);
    assert_eq!(h.response(0).body, b"abcd");
    assert_eq!(h.response(1).body, b"EFGH\r\nIJ");
    assert_eq!(h.response(1).status, 0);
    assert_eq!(h.out[1].request.method(), b"");
    assert_eq!(h.stats.garbage, 0);
}

#[test]
fn libhtp_ambiguous_content_length_reads_to_the_close() {
    // `34\r\n 68` folds to `34 68`: ambiguous, so the whole rest is body.
    let mut h = Harness::new();
    h.send(CLIENT, b"GET /a HTTP/1.1\r\n\r\n");
    h.send(
        SERVER,
        b"HTTP/1.1 200 ok\r\nContent-length: 2\r\n 4\r\n\r\nabcd",
    );
    h.close(SERVER);
    h.finish();
    assert_eq!(h.out.len(), 1);
    assert_eq!(h.response(0).body, b"abcd");
}

#[test]
fn libhtp_odd_transfer_encoding_and_chunk_sizes() {
    // `Transfer-Encoding: x \r\n chunked` (folded), chunk sizes with junk around them.
    let mut h = Harness::new();
    h.send(CLIENT, b"GET /a HTTP/1.1\r\n\r\n");
    h.send(
        SERVER,
        b"http/1.0 200 ok\r\nTransfer-Encoding: x \r\n chunked\r\n\r\n \x0c2x\r\r\nabJUNK\r\n\r\n3\r\ncde\r\n0\r\n\r\n",
    );
    assert_eq!(h.out.len(), 1);
    assert_eq!(h.response(0).body, b"abcde");
    // `chunked` announced, but no chunk size: the rest of the stream is the body.
    let mut h = Harness::new();
    h.send(CLIENT, b"GET /a HTTP/1.1\r\n\r\n");
    h.send(
        SERVER,
        b"HTTP/1.1 200 ok\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nX5O!P\r\nmore",
    );
    h.close(SERVER);
    h.finish();
    assert_eq!(h.response(0).body, b"X5O!P\r\nmore");
    assert_eq!(h.stats.garbage, 0);
}

#[test]
fn libhtp_header_names_with_nul_and_bare_cr_lines() {
    // `Transfer\0-Encoding` is Transfer-Encoding to libhtp; a bare CR ends a header line.
    let mut h = Harness::new();
    h.send(CLIENT, b"GET /a HTTP/1.1\r\n\r\n");
    h.send(
        SERVER,
        b"HTTP/1.1 200\rTransfer\x00-encoding:chu\x00nked\r\nX: y\r\n\r\n2\r\nab\r\n0\r\n\r\n",
    );
    assert_eq!(h.out.len(), 1);
    assert_eq!(h.response(0).body, b"ab");
    assert_eq!(h.response(0).status, 200);
}

#[test]
fn libhtp_lenient_content_encoding() {
    for ce in [
        &b"x-deflate"[..],
        b"def\x00late",
        b"\x0bdeflate",
        b"deflate, gzip",
        b"gzip, deflate",
    ] {
        let mut h = Harness::new();
        h.send(CLIENT, b"GET /a HTTP/1.1\r\n\r\n");
        let body = raw_deflate(b"decoded!");
        let mut resp =
            format!("HTTP/1.1 200 ok\r\nContent-Length: {}\r\n", body.len()).into_bytes();
        resp.extend_from_slice(b"Content-Encoding:");
        resp.extend_from_slice(ce);
        resp.extend_from_slice(b"\r\n\r\n");
        resp.extend_from_slice(&body);
        h.send(SERVER, &resp);
        assert_eq!(h.response(0).body, b"decoded!", "{ce:?}");
    }
}

#[test]
fn a_101_with_a_length_is_not_a_switch() {
    let mut h = Harness::new();
    h.send(CLIENT, b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
    h.send(SERVER, b"HTTP/1.1 101 ok\r\nContent-Length: 2\r\n\r\n");
    h.send(SERVER, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz");
    assert!(h.conn.is_active());
    assert_eq!(statuses(&h.out), [Some(101), Some(200)]);
}

#[test]
fn a_body_after_a_204_with_a_length_is_still_inspected() {
    // libhtp reads the body; here it becomes a headless response (the framing of 304s that
    // carry the representation's length is kept).
    let mut h = Harness::new();
    h.send(CLIENT, b"GET /a HTTP/1.1\r\n\r\n");
    h.send(SERVER, b"HTTP/1.1 204 ok\r\nContent-Length: 5\r\n\r\nX5O!P");
    h.close(SERVER);
    h.finish();
    assert_eq!(statuses(&h.out), [Some(204), Some(0)]);
    assert_eq!(h.response(1).body, b"X5O!P");
}

#[test]
fn a_close_ends_an_unfinished_response_head() {
    // libhtp: the server closing in the headers ends them; they are still inspected.
    let mut h = Harness::new();
    h.send(CLIENT, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    h.send(SERVER, b"HTTP/1.0 200 OK\r\nServer:ng1nx");
    h.close(SERVER);
    h.finish();
    assert_eq!(statuses(&h.out), [Some(200)]);
    assert_eq!(h.response(0).headers.get("server"), Some(&b"ng1nx"[..]));
    // Nothing but empty lines: no response.
    let mut h = Harness::new();
    h.send(CLIENT, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    h.send(SERVER, b"\r\n");
    h.close(SERVER);
    h.finish();
    assert_eq!(statuses(&h.out), [None]);
}

#[test]
fn a_request_head_cut_off_by_the_end_of_the_capture_is_still_a_request() {
    // No empty line after the headers, no response, no FIN: libhtp still has the request
    // line (and Suricata inspects it).
    let mut h = Harness::new();
    h.send(
        CLIENT,
        b"POST /normalized%20uri HTTP/1.0\r\nUser-Agent: Mozilla/1.0\r\n",
    );
    h.finish();
    assert_eq!(targets(&h.out), ["/normalized%20uri"]);
    assert_eq!(
        h.out[0].request.headers.get("user-agent"),
        Some(&b"Mozilla/1.0"[..])
    );
    assert!(h.out[0].flags.incomplete);
}

/// A fuzz find (`fuzz/regressions/http/`): a request whose header block holds a line
/// httparse refuses ("Accep@t") and that the client closes before its last line feed, then a
/// response; each sent in one piece or cut in pieces. The sender chooses the cut, so the
/// transactions must not depend on it.
#[test]
fn refused_header_line_gives_the_same_transactions_however_cut() {
    let request: &[u8] = b"GET http:/aim/l.lab/ecp/y.js HTTP/1.1\r\nHost: maiv.lab\r\nUser-Agent: curl/7.88.1\r\nAccep@t: */*\r\nCookie: X-\x02EResource=\x1f\x8b\x08\x00lhost/owa/auth/lognn.asp.;~1942062522\r\n\r";
    let response: &[u8] = b"HTTP/1.1 200 OK\r\nServer: MiExpect: 100-continue\r\nent-Type: text/html\r\nX-CalculatedBETarget: localhost\r\n-ontent-Length: 7\r\n\r\nproxied";
    let run = |piece: usize| {
        let cfg = HttpConfig::default();
        let mut stats = HttpStats::default();
        let mut conn = HttpConnection::new();
        let mut out = Vec::new();
        for p in request.chunks(piece) {
            conn.on_data(CLIENT, p, at(1), &cfg, &mut stats);
        }
        conn.on_close(CLIENT, at(2), &cfg, &mut stats);
        for p in response.chunks(piece) {
            conn.on_data(SERVER, p, at(3), &cfg, &mut stats);
        }
        conn.on_close(SERVER, at(4), &cfg, &mut stats);
        conn.finish(&cfg, &mut stats);
        conn.take_completed(&mut out, &mut stats);
        let out: Vec<_> = out
            .into_iter()
            .map(|mut tx| {
                tx.request_at = PacketRef::default();
                tx.completed_at = PacketRef::default();
                tx
            })
            .collect();
        (out, stats)
    };
    let (whole, whole_stats) = run(usize::MAX);
    for piece in [1, 3, 8, 61] {
        let (cut, cut_stats) = run(piece);
        assert_eq!(
            cut, whole,
            "pieces of {piece}: {cut_stats:?} vs {whole_stats:?}"
        );
    }
}

/// Heads sent a line per segment wait unparsed while no line can change the outcome; these
/// are the lines that can (a refused line, too many lines, lone CRs, a folded line, a blank
/// line, a request line httparse or everyone refuses), each fed whole, line by line, byte by
/// byte and in pieces: the same transactions every time.
#[test]
fn heads_sent_line_by_line_give_what_whole_heads_give() {
    let many: String = (0..300).map(|k| format!("X-H{k}: v{k}\r\n")).collect();
    let cases: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (
            format!("GET /a HTTP/1.1\r\nHost: h\r\n{many}\r\n").into_bytes(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
        ),
        (
            format!("GET /a HTTP/1.1\r\n{many}X-Bad: a\x01b\r\n{many}").into_bytes(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
        ),
        (
            format!("GET /a HTTP/1.1\r\n{many}{many}{many}{many}\r\n").into_bytes(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
        ),
        (
            format!("GET /a HTTP/1.1\r\nX-A: 1\r\n folded\r\n{many}\r\n").into_bytes(),
            format!("HTTP/1.1 200 OK\r\n{many}A: b\rC: d\r\n \nContent-Length: 2\r\n\r\nok")
                .into_bytes(),
        ),
        (
            b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n".to_vec(),
            format!("HTTP/1.1 200 OK\r\n{many}{many}{many}{many}\r\nok").into_bytes(),
        ),
        // Request lines only the lenient checker takes, or nobody: the first segment of a
        // head is judged on its request line when the lines after it are plain.
        (
            [
                &b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /\xff  HTTP/1.2 \r\n"[..],
                many.as_bytes(),
                b"\r\nGET /c HTTP/1.1\r\n",
                many.as_bytes(),
                b"\r\n",
            ]
            .concat(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".repeat(3),
        ),
        (
            format!("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/9.1\r\n{many}\r\n").into_bytes(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".repeat(2),
        ),
    ];
    let cfg = HttpConfig {
        max_headers: 1000,
        ..HttpConfig::default()
    };
    for (n, (request, response)) in cases.iter().enumerate() {
        let run = |cut: &dyn Fn(&[u8]) -> Vec<Vec<u8>>| {
            let mut h = Harness::with(cfg.clone());
            for p in cut(request) {
                h.send(CLIENT, &p);
            }
            // The client closes before the answer: a head it left unfinished ends there.
            h.close(CLIENT);
            for p in cut(response) {
                h.send(SERVER, &p);
            }
            h.close(SERVER);
            h.finish();
            let out: Vec<_> = h
                .out
                .into_iter()
                .map(|mut tx| {
                    tx.request_at = PacketRef::default();
                    tx.completed_at = PacketRef::default();
                    tx
                })
                .collect();
            (out, h.stats.garbage)
        };
        let whole = run(&|b| vec![b.to_vec()]);
        let by_line = run(&|b| {
            b.split_inclusive(|c| *c == b'\n')
                .map(<[u8]>::to_vec)
                .collect()
        });
        let by_byte = run(&|b| b.iter().map(|c| vec![*c]).collect());
        assert_eq!(by_line, whole, "case {n}, line by line");
        assert_eq!(by_byte, whole, "case {n}, byte by byte");
        for piece in [7, 61, 1000] {
            let in_pieces = run(&|b| b.chunks(piece).map(<[u8]>::to_vec).collect());
            assert_eq!(in_pieces, whole, "case {n}, pieces of {piece}");
        }
    }
}

/// A connection closed with nothing left in it finishes alike whole or in its closed form
/// (the same counters, nothing handed out), and one with something left has no closed form.
#[test]
fn closed_form_finishes_as_the_connection_does() {
    let answer = ok("hi");
    // (what, the bytes each side sends, whether the connection is left idle)
    type Case<'a> = (&'a str, Vec<(Side, &'a [u8])>, bool);
    let cases: [Case; 8] = [
        (
            "keep-alive",
            vec![
                (CLIENT, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
                (SERVER, &answer),
            ],
            true,
        ),
        (
            "not HTTP either way",
            vec![
                (CLIENT, b"\x16\x03\x01\x00\x05hello"),
                (SERVER, b"\x16\x03\x03junk"),
            ],
            true,
        ),
        (
            "garbage from the client",
            vec![(CLIENT, b"\x00\x01\x02")],
            true,
        ),
        ("nothing sent", vec![], true),
        (
            "a body the close ends",
            vec![
                (CLIENT, b"GET / HTTP/1.0\r\n\r\n"),
                (SERVER, b"HTTP/1.0 200 OK\r\n\r\nbody"),
            ],
            true,
        ),
        (
            "an unanswered request",
            vec![(CLIENT, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")],
            false,
        ),
        (
            "half a head",
            vec![(CLIENT, b"GET / HTTP/1.1\r\nHo")],
            false,
        ),
        (
            "a body cut short",
            vec![
                (CLIENT, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
                (SERVER, b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nbo"),
            ],
            false,
        ),
    ];
    // Each side's close in either order, or only one (the other side's close is not
    // delivered to HTTP when, say, its bytes went to TLS).
    let closes = [
        vec![CLIENT, SERVER],
        vec![SERVER, CLIENT],
        vec![CLIENT],
        vec![SERVER],
    ];
    for (name, sends, idle) in &cases {
        for sides in &closes {
            let mut h = Harness::new();
            for (side, bytes) in sends {
                h.send(*side, bytes);
            }
            for side in sides {
                h.close(*side);
            }
            let closed = h.conn.closed_form();
            if sides.len() == 2 {
                assert_eq!(closed.is_some(), *idle, "{name}");
            }
            let (mut stats, handed_out, client) = (h.stats.clone(), h.out.len(), h.conn.client());
            h.finish();
            if let Some(mut closed) = closed {
                closed.finish(&mut stats);
                assert_eq!(stats, h.stats, "{name}");
                assert_eq!(h.out.len(), handed_out, "{name}: finishing handed out more");
                assert_eq!(closed.client(), client, "{name}");
            }
        }
    }
}
