//! Writes a large synthetic benchmark capture: the capture shape our replay-speed targets
//! are quoted on ("a 469 MB capture of 50,000 HTTP flows (850,000 packets)", see
//! `../shared/targets.md`), so that anyone can regenerate it instead of copying it around.
//!
//! ```text
//! cargo run --release --example gen_bench_capture -- OUT.pcap [--flows 50000] [--seed 1]
//! ```
//!
//! OUT.pcap is a classic pcap file (microsecond timestamps, magic 0xa1b2c3d4 written
//! little-endian, link type 1 = Ethernet) starting at 2021-03-03T10:00:00Z. With the
//! defaults it holds 50,000 complete TCP connections over IPv4 carrying 73,010 HTTP
//! transactions: 849,523 packets, 469,496,853 bytes, 121.1 s of packet time (written in
//! about 1.5 s, in under 8 MB of memory). Its shape:
//!
//! * clients from a pool of 4,096 addresses in 10.1.0.0/16 (each with its own ephemeral port
//!   counter, so no 5-tuple repeats), servers 192.0.2.10–192.0.2.13 on port 80;
//! * each connection: SYN (MSS 1460, window scale, SACK permitted), SYN/ACK, ACK; one or two
//!   HTTP/1.1 keep-alive requests to Exchange paths (OWA, ECP, EWS, ActiveSync, Autodiscover,
//!   MAPI over HTTP) with browser-, Outlook- or phone-like headers and cookies of a few
//!   hundred bytes, GET or POST with a small body; each answered `HTTP/1.1 200 OK` with a
//!   Content-Length body of a few KB to tens of KB in 1460-byte segments, the client ACKing
//!   every second segment and the last one; some Outlook requests written as two segments
//!   (headers, then body); then the client's FIN/ACK, the server's ACK and FIN/ACK, the
//!   client's last ACK;
//! * correct IPv4 and TCP checksums (etherparse's `PacketBuilder`), sequence numbers that
//!   add up, timestamps strictly increasing over the file;
//! * a new connection every 2.4 ms on average, each lasting tens to hundreds of ms (RTT,
//!   server time, client think time), so that about 140 connections are open at once (170
//!   at most) and their packets interleave; packets are merged in time order with a heap,
//!   holding only the open connections in memory;
//! * in each block of 1,000 connections one (its place drawn from the seed) comes from
//!   203.0.113.10–49 and carries an attack instead: a ProxyLogon SSRF (`GET /ecp/y.js` with
//!   `X-AnonResource-Backend` and `X-BEResource` cookies) or a ProxyShell probe
//!   (`GET /autodiscover/autodiscover.json?@evil.com/mapi/nspi/?&Email=...`), alternately,
//!   so that Exchange rule sets raise a few alerts per thousand connections (the bundled
//!   signatures: 150 alerts, 3 per attack; ET Open's Exchange rules: 25).
//!
//! The output depends only on the arguments: a self-contained SplitMix64 generator seeded
//! from `--seed`, no clock, no floating point. A one-line summary goes to standard error.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use etherparse::{IpHeaders, Ipv4Header, PacketBuilder};

const USAGE: &str = "usage: gen_bench_capture OUT.pcap [--flows N (50000)] [--seed N (1)]";

/// 2021-03-03T10:00:00Z, as in `pcaps/`.
const BASE_SECS: u64 = 1_614_765_600;
const MSS: usize = 1460;
/// Segments the server sends before it needs the client's first ACK back.
const INITIAL_WINDOW: usize = 10;
/// Microseconds to serialize a full-size frame at 1 Gbit/s.
const WIRE_GAP_US: u64 = 12;
/// Mean gap between two connection starts, in microseconds.
const MEAN_ARRIVAL_US: u64 = 2_400;
const CLIENT_POOL: usize = 4_096;
const ATTACK_EVERY: u64 = 1_000;

const SERVERS: [[u8; 4]; 4] = [
    [192, 0, 2, 10],
    [192, 0, 2, 11],
    [192, 0, 2, 12],
    [192, 0, 2, 13],
];
const SERVER_NAMES: [&str; 4] = ["EXCH01", "EXCH02", "EXCH03", "EXCH04"];
const SERVER_PORT: u16 = 80;
/// Locally administered MACs: the router the clients come through, and one per server.
const GATEWAY_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x01, 0x01];
const fn server_mac(i: usize) -> [u8; 6] {
    [0x02, 0x15, 0x5d, 0x00, 0x02, 10 + i as u8]
}

const TCP_SYN: u8 = 1;
const TCP_ACK: u8 = 2;
const TCP_PSH: u8 = 4;
const TCP_FIN: u8 = 8;
/// MSS 1460, NOP, window scale 8, SACK permitted, NOP, NOP.
const SYN_OPTIONS: [u8; 12] = [2, 4, 0x05, 0xb4, 1, 3, 3, 8, 4, 2, 1, 1];

// ---------------------------------------------------------------------------------------
// Deterministic randomness

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, good enough to vary a capture.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `percent`/100.
    fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// A seed for one purpose derived from the user's seed (independent streams).
fn derive(seed: u64, purpose: u64) -> u64 {
    Rng::new(seed ^ purpose.wrapping_mul(0xd1b5_4a32_d192_ed03)).next_u64()
}

fn push_hex(out: &mut Vec<u8>, rng: &mut Rng, n: usize) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for _ in 0..n {
        out.push(HEX[rng.below(16) as usize]);
    }
}

fn push_b64(out: &mut Vec<u8>, rng: &mut Rng, n: usize) {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for _ in 0..n {
        out.push(B64[rng.below(64) as usize]);
    }
}

fn push_b64url(out: &mut Vec<u8>, rng: &mut Rng, n: usize) {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for _ in 0..n {
        out.push(B64[rng.below(64) as usize]);
    }
}

fn push_guid(out: &mut Vec<u8>, rng: &mut Rng) {
    for (i, n) in [8, 4, 4, 4, 12].into_iter().enumerate() {
        if i > 0 {
            out.push(b'-');
        }
        let start = out.len();
        push_hex(out, rng, n);
        out[start..].make_ascii_lowercase();
    }
}

// ---------------------------------------------------------------------------------------
// Response bodies: whole records of prebuilt text (HTML, script, JSON, XML) between a
// document head and tail, padded with white space to the exact length, so that every body
// is well formed; random bytes for MAPI; generated WBXML for ActiveSync.

/// Records of one kind of document, back to back; `starts` has one more entry than records.
struct TextCorpus {
    head: &'static [u8],
    sep: &'static [u8],
    tail: &'static [u8],
    data: Vec<u8>,
    starts: Vec<usize>,
}

impl TextCorpus {
    fn new(head: &'static [u8], sep: &'static [u8], tail: &'static [u8]) -> TextCorpus {
        TextCorpus {
            head,
            sep,
            tail,
            data: Vec::with_capacity(CORPUS_LEN + 1024),
            starts: vec![0],
        }
    }

    fn push(&mut self, record: &str) {
        self.data.extend_from_slice(record.as_bytes());
        self.starts.push(self.data.len());
    }

    /// Appends a document of exactly `len` bytes (or head and tail, if longer), starting at
    /// a random record.
    fn fill(&self, out: &mut Vec<u8>, rng: &mut Rng, len: usize) {
        let end = out.len() + len.max(self.head.len() + self.tail.len());
        out.extend_from_slice(self.head);
        let records = self.starts.len() - 1;
        let mut i = rng.below(records as u64) as usize;
        let mut first = true;
        loop {
            let record = &self.data[self.starts[i]..self.starts[i + 1]];
            let sep = if first { &[][..] } else { self.sep };
            if out.len() + sep.len() + record.len() + self.tail.len() > end {
                break;
            }
            out.extend_from_slice(sep);
            out.extend_from_slice(record);
            first = false;
            i = (i + 1) % records;
        }
        out.resize(end - self.tail.len(), b' ');
        out.extend_from_slice(self.tail);
    }
}

struct Corpora {
    html: TextCorpus,
    script: TextCorpus,
    json: TextCorpus,
    xml: TextCorpus,
    binary: Vec<u8>,
}

const CORPUS_LEN: usize = 160 * 1024;
#[rustfmt::skip]
const WORDS: &[&str] = &[
    "meeting", "agenda", "quarterly", "report", "budget", "review", "project", "status",
    "update", "invoice", "schedule", "team", "lunch", "friday", "monday", "deadline", "draft",
    "proposal", "contract", "customer", "support", "ticket", "release", "notes", "travel",
    "expenses", "approval", "request", "summary", "minutes", "follow", "up", "call", "phone",
    "office", "holiday", "calendar", "reminder", "sales", "forecast", "planning", "design",
    "training", "webinar", "newsletter", "welcome", "the", "a", "of", "and", "to", "for",
    "with", "on", "at", "from", "please", "thanks", "regards", "attached", "see", "below",
];

impl Corpora {
    fn new(seed: u64) -> Corpora {
        let mut rng = Rng::new(derive(seed, 1));
        let mut html = TextCorpus::new(
            b"<!DOCTYPE html><html dir=\"ltr\" lang=\"en\"><head><meta charset=\"utf-8\"><title>Outlook</title></head><body class=\"owaBody\">\n",
            b"\n",
            b"\n</body></html>\n",
        );
        let mut script = TextCorpus::new(b"/* Outlook on the web 15.2.986.5 */\n", b"\n", b"\n");
        let mut json = TextCorpus::new(
            b"{\"Header\":{\"ServerVersionInfo\":{\"MajorVersion\":15,\"MinorVersion\":2,\"MajorBuildNumber\":986}},\"Body\":{\"ResponseMessages\":{\"Items\":[",
            b",",
            b"]}}}",
        );
        let mut xml = TextCorpus::new(
            b"<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><m:FindItemResponse xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\" xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\"><m:ResponseMessages>",
            b"",
            b"</m:ResponseMessages></m:FindItemResponse></s:Body></s:Envelope>",
        );
        let mut n = 0u64;
        while html.data.len() < CORPUS_LEN
            || script.data.len() < CORPUS_LEN
            || json.data.len() < CORPUS_LEN
            || xml.data.len() < CORPUS_LEN
        {
            n += 1;
            let mut subject = String::new();
            for i in 0..rng.range(3, 8) {
                if i > 0 {
                    subject.push(' ');
                }
                subject.push_str(rng.pick(WORDS));
            }
            let mut id = Vec::new();
            push_b64(&mut id, &mut rng, 40);
            let id = String::from_utf8_lossy(&id).into_owned();
            let size = rng.range(1_000, 900_000);
            let user = rng.range(1, 5_000);
            html.push(&format!(
                "<div class=\"_lv_o _lv_p\" role=\"option\" id=\"item{n}\" aria-label=\"{subject}\"><span class=\"_lv_q\">user{user}@example.com</span><span class=\"_lv_r\">{subject}</span><span class=\"_lv_s\">{size} bytes</span></div>"
            ));
            script.push(&format!(
                "function _g{n}(n,t){{var i=n.ItemId&&n.ItemId.Id;if(!i||i===\"{id}\")return t;return n.Size>{size}?_a.{}(n,\"{subject}\"):_b.push({{id:i,from:\"user{user}@example.com\"}})}}",
                rng.pick(WORDS)
            ));
            json.push(&format!(
                "{{\"__type\":\"Message:#Exchange\",\"ItemId\":{{\"Id\":\"{id}\",\"ChangeKey\":\"CQAAABYAAAB{n}\"}},\"Subject\":\"{subject}\",\"From\":{{\"Mailbox\":{{\"EmailAddress\":\"user{user}@example.com\"}}}},\"Size\":{size},\"IsRead\":{}}}",
                n % 3 == 0
            ));
            xml.push(&format!(
                "<t:Message><t:ItemId Id=\"{id}\" ChangeKey=\"CQAAABYAAAB{n}\"/><t:Subject>{subject}</t:Subject><t:Size>{size}</t:Size><t:From><t:Mailbox><t:EmailAddress>user{user}@example.com</t:EmailAddress></t:Mailbox></t:From></t:Message>"
            ));
        }
        let mut binary = Vec::with_capacity(CORPUS_LEN);
        while binary.len() < CORPUS_LEN {
            binary.extend_from_slice(&rng.next_u64().to_le_bytes());
        }
        Corpora {
            html,
            script,
            json,
            xml,
            binary,
        }
    }

    /// Appends a body of `len` bytes (at least a minimal document) of the given kind.
    fn fill(&self, out: &mut Vec<u8>, rng: &mut Rng, kind: Body, len: usize) {
        match kind {
            Body::Html => self.html.fill(out, rng, len),
            Body::Script => self.script.fill(out, rng, len),
            Body::Json => self.json.fill(out, rng, len),
            Body::Xml => self.xml.fill(out, rng, len),
            Body::Binary => {
                let len = len.min(self.binary.len());
                let from = rng.below((self.binary.len() - len + 1) as u64) as usize;
                out.extend_from_slice(&self.binary[from..from + len]);
            }
            Body::Wbxml => wbxml(out, rng, len),
        }
    }
}

/// Appends a well-formed ActiveSync WBXML document of exactly `len` bytes (at least 16):
/// `<Sync><Collections><Collection>` holding `<SyncKey>`/`<CollectionId>` elements with
/// inline strings.
fn wbxml(out: &mut Vec<u8>, rng: &mut Rng, len: usize) {
    // Version 1.3, unknown public id, UTF-8, empty string table; Sync, Collections,
    // Collection (AirSync code page, with content).
    const HEAD: [u8; 7] = [0x03, 0x01, 0x6a, 0x00, 0x45, 0x5c, 0x4f];
    const TAIL: [u8; 3] = [0x01, 0x01, 0x01];
    let end = out.len() + len.max(HEAD.len() + TAIL.len() + 5);
    out.extend_from_slice(&HEAD);
    let mut key = true;
    while out.len() < end - TAIL.len() {
        // Tag with content, STR_I, text, NUL, END: 4 bytes plus the text.
        let room = end - TAIL.len() - out.len() - 4;
        let mut text = rng.range(8, 40) as usize;
        if room < text + 5 {
            text = room;
        }
        out.push(if key { 0x4b } else { 0x52 });
        out.push(0x03);
        for _ in 0..text {
            out.push(b'0' + rng.below(10) as u8);
        }
        out.extend_from_slice(&[0x00, 0x01]);
        key = !key;
    }
    out.extend_from_slice(&TAIL);
}

// ---------------------------------------------------------------------------------------
// Clients and requests

#[derive(Clone, Copy, PartialEq)]
enum Profile {
    Browser,
    Outlook,
    Phone,
}

struct Client {
    addr: [u8; 4],
    next_port: u16,
    profile: Profile,
    /// Seeds the client's cookies, mailbox and device ids (the same on every request).
    secret: u64,
    user: u64,
}

#[derive(Clone, Copy)]
enum Body {
    Html,
    Script,
    Json,
    Xml,
    Binary,
    Wbxml,
}

/// One request and what its answer looks like.
struct Exchange {
    request: Vec<u8>,
    /// Where the client's second write starts (headers and body written apart), or 0.
    split: usize,
    content_type: &'static str,
    body: Body,
    body_len: usize,
    /// Server time before the answer, µs.
    server_us: u64,
}

const BROWSER_UAS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/89.0.4389.72 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.190 Safari/537.36 Edg/88.0.705.81",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:86.0) Gecko/20100101 Firefox/86.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 11_2_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.0.3 Safari/605.1.15",
];
const OUTLOOK_UAS: &[&str] = &[
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.13801; Pro)",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.13628; Pro)",
    "Microsoft Office/16.0 (Windows NT 6.1; Microsoft Outlook 16.0.5122; Pro)",
];
const PHONE_UAS: &[&str] = &[
    "Apple-iPhone12C1/1804.49",
    "Apple-iPhone13C2/1805.230",
    "Android-Mail/2021.02.07.358126853.Release",
    "Outlook-iOS/709.2226530.prod.iphone (4.2104.0)",
];

fn header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// A Cookie header of a few hundred bytes, stable for the client.
fn cookie_header(out: &mut Vec<u8>, client: &Client) {
    let mut rng = Rng::new(client.secret);
    out.extend_from_slice(b"Cookie: ClientId=");
    push_hex(out, &mut rng, 32);
    match client.profile {
        Profile::Browser => {
            out.extend_from_slice(b"; PrivateComputer=true; PBack=0; cadata=");
            push_b64(out, &mut rng, 172);
            out.extend_from_slice(b"; cadataTTL=");
            push_b64(out, &mut rng, 24);
            out.extend_from_slice(b"; cadataKey=");
            push_b64(out, &mut rng, 44);
            out.extend_from_slice(b"; X-OWA-CANARY=");
            push_b64url(out, &mut rng, 76);
            out.extend_from_slice(b"; UC=");
            push_hex(out, &mut rng, 32);
            out.extend_from_slice(b"; AppcacheVer=15.2.986.5:en-usbase");
        }
        Profile::Outlook => {
            out.extend_from_slice(b"; MapiContext=");
            push_b64(out, &mut rng, 128);
            out.extend_from_slice(b"; MapiSequence=2-");
            push_hex(out, &mut rng, 8);
            out.extend_from_slice(b"; MapiRouting=");
            push_b64(out, &mut rng, 96);
            out.extend_from_slice(b"; OutlookSession=\"{");
            push_guid(out, &mut rng);
            out.extend_from_slice(b"}\"");
        }
        Profile::Phone => {
            out.extend_from_slice(b"; exchangecookie=");
            push_hex(out, &mut rng, 32);
            out.extend_from_slice(b"; TS01a9ed8a=");
            push_hex(out, &mut rng, 180);
        }
    }
    out.extend_from_slice(b"\r\n");
}

fn host_for(client: &Client) -> &'static str {
    if client.user % 5 == 0 {
        "outlook.example.com"
    } else {
        "mail.example.com"
    }
}

fn benign_request(rng: &mut Rng, client: &Client) -> Exchange {
    let mut r = Vec::with_capacity(1024);
    let host = host_for(client);
    let user = client.user;
    let mut ident = Rng::new(client.secret ^ 0x5eed);
    let mut body: Vec<u8> = Vec::new();
    let (content_type, kind, body_len, server_us);
    match client.profile {
        Profile::Browser => {
            let ua = BROWSER_UAS[(client.secret % BROWSER_UAS.len() as u64) as usize];
            match rng.below(10) {
                0..=4 => {
                    // OWA service call.
                    let action = rng.pick(&[
                        "GetConversationItems",
                        "FindConversation",
                        "GetItem",
                        "GetFolderChangeDigest",
                        "GetAccessTokenforResource",
                    ]);
                    let id = rng.range(1, 400);
                    r.extend_from_slice(
                        format!(
                            "POST /owa/service.svc?action={action}&EP=1&ID=-{id}&AC=1 HTTP/1.1\r\n"
                        )
                        .as_bytes(),
                    );
                    body.extend_from_slice(format!("{{\"__type\":\"{action}JsonRequest:#Exchange\",\"Header\":{{\"__type\":\"JsonRequestHeaders:#Exchange\",\"RequestServerVersion\":\"Exchange2013\",\"TimeZoneContext\":{{\"__type\":\"TimeZoneContext:#Exchange\",\"TimeZoneDefinition\":{{\"__type\":\"TimeZoneDefinitionType:#Exchange\",\"Id\":\"W. Europe Standard Time\"}}}}}},\"Body\":{{\"__type\":\"{action}Request:#Exchange\",\"ItemShape\":{{\"__type\":\"ItemResponseShape:#Exchange\",\"BaseShape\":\"IdOnly\"}},\"MaxItemsToReturn\":{}}}}}", rng.range(20, 200)).as_bytes());
                    header(&mut r, "Host", host);
                    header(&mut r, "Connection", "keep-alive");
                    header(&mut r, "Content-Length", &body.len().to_string());
                    header(&mut r, "Action", action);
                    header(&mut r, "X-Requested-With", "XMLHttpRequest");
                    header(&mut r, "X-OWA-ActionName", action);
                    header(&mut r, "User-Agent", ua);
                    header(&mut r, "Content-Type", "application/json; charset=UTF-8");
                    header(&mut r, "Accept", "*/*");
                    header(&mut r, "Origin", &format!("https://{host}"));
                    header(&mut r, "Referer", &format!("https://{host}/owa/"));
                    content_type = "application/json; charset=utf-8";
                    kind = Body::Json;
                    body_len = rng.range(500, 4_800) as usize;
                    server_us = rng.range(3_000, 60_000);
                }
                5..=6 => {
                    // OWA static file (the boot script is the big one).
                    let (path, ct, lo, hi) = rng.pick(&[
                        (
                            "scripts/boot.worldwide.0.mouse.js",
                            "application/x-javascript",
                            24_000,
                            64_000,
                        ),
                        (
                            "scripts/boot.worldwide.1.mouse.js",
                            "application/x-javascript",
                            6_000,
                            11_800,
                        ),
                        (
                            "scripts/microsoft.owa.mail.js",
                            "application/x-javascript",
                            6_000,
                            11_800,
                        ),
                        (
                            "resources/styles/0/boot.worldwide.mouse.css",
                            "text/css",
                            3_000,
                            9_000,
                        ),
                        (
                            "resources/themes/base/owafont_segoeui.css",
                            "text/css",
                            1_000,
                            4_000,
                        ),
                    ]);
                    r.extend_from_slice(
                        format!("GET /owa/prem/15.2.986.5/{path} HTTP/1.1\r\n").as_bytes(),
                    );
                    header(&mut r, "Host", host);
                    header(&mut r, "Connection", "keep-alive");
                    header(&mut r, "User-Agent", ua);
                    header(&mut r, "Accept", "*/*");
                    header(&mut r, "Referer", &format!("https://{host}/owa/"));
                    header(&mut r, "Accept-Language", "en-US,en;q=0.9");
                    content_type = ct;
                    kind = Body::Script;
                    body_len = rng.range(lo, hi) as usize;
                    server_us = rng.range(500, 4_000);
                }
                7..=8 => {
                    let path = rng.pick(&[
                        "/owa/",
                        "/owa/?bO=1",
                        "/owa/?ae=Folder&t=IPF.Note",
                        "/owa/?path=/calendar",
                    ]);
                    r.extend_from_slice(format!("GET {path} HTTP/1.1\r\n").as_bytes());
                    header(&mut r, "Host", host);
                    header(&mut r, "Connection", "keep-alive");
                    header(&mut r, "Upgrade-Insecure-Requests", "1");
                    header(&mut r, "User-Agent", ua);
                    header(&mut r, "Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8");
                    header(&mut r, "Accept-Language", "en-US,en;q=0.9");
                    content_type = "text/html; charset=utf-8";
                    kind = Body::Html;
                    body_len = rng.range(3_300, 9_800) as usize;
                    server_us = rng.range(5_000, 80_000);
                }
                _ => {
                    let path = rng.pick(&[
                        "/ecp/?rfr=owa&p=PersonalSettings/HomePage.aspx",
                        "/ecp/PersonalSettings/HomePage.aspx?showhelp=false",
                        "/ecp/Organize/DeliveryReports.slab?showhelp=false",
                        "/ecp/Customize/Regional.aspx?showhelp=false",
                    ]);
                    r.extend_from_slice(format!("GET {path} HTTP/1.1\r\n").as_bytes());
                    header(&mut r, "Host", host);
                    header(&mut r, "Connection", "keep-alive");
                    header(&mut r, "User-Agent", ua);
                    header(
                        &mut r,
                        "Accept",
                        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                    );
                    header(&mut r, "Referer", &format!("https://{host}/owa/"));
                    header(&mut r, "Accept-Language", "en-US,en;q=0.9");
                    content_type = "text/html; charset=utf-8";
                    kind = Body::Html;
                    body_len = rng.range(1_700, 7_300) as usize;
                    server_us = rng.range(10_000, 90_000);
                }
            }
            header(&mut r, "Accept-Encoding", "gzip, deflate");
            cookie_header(&mut r, client);
        }
        Profile::Outlook => {
            let ua = OUTLOOK_UAS[(client.secret % OUTLOOK_UAS.len() as u64) as usize];
            match rng.below(10) {
                0..=5 => {
                    r.extend_from_slice(b"POST /mapi/emsmdb/?MailboxId=");
                    push_guid(&mut r, &mut ident);
                    r.extend_from_slice(b"@example.com HTTP/1.1\r\n");
                    for _ in 0..rng.range(16, 90) {
                        body.extend_from_slice(&rng.next_u64().to_le_bytes());
                    }
                    header(&mut r, "Host", host);
                    header(&mut r, "Content-Type", "application/mapi-http");
                    header(&mut r, "User-Agent", ua);
                    header(&mut r, "X-RequestType", "Execute");
                    let mut info = Vec::new();
                    info.push(b'{');
                    push_guid(&mut info, &mut ident);
                    info.extend_from_slice(b"}:");
                    let info = String::from_utf8_lossy(&info).into_owned();
                    header(
                        &mut r,
                        "X-ClientInfo",
                        &format!("{info}{}", rng.range(1, 999)),
                    );
                    header(
                        &mut r,
                        "X-RequestId",
                        &format!("{info}{}", rng.range(1, 99_999)),
                    );
                    header(&mut r, "X-ClientApplication", "Outlook/16.0.13801.20266");
                    header(&mut r, "Content-Length", &body.len().to_string());
                    content_type = "application/mapi-http";
                    kind = Body::Binary;
                    body_len = rng.range(300, 5_600) as usize;
                    server_us = rng.range(2_000, 50_000);
                }
                6..=8 => {
                    r.extend_from_slice(b"POST /EWS/Exchange.asmx HTTP/1.1\r\n");
                    body.extend_from_slice(format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\" xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\"><soap:Header><t:RequestServerVersion Version=\"Exchange2013_SP1\"/></soap:Header><soap:Body><m:FindItem Traversal=\"Shallow\"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:IndexedPageItemView MaxEntriesReturned=\"{}\" Offset=\"0\" BasePoint=\"Beginning\"/><m:ParentFolderIds><t:DistinguishedFolderId Id=\"inbox\"/></m:ParentFolderIds></m:FindItem></soap:Body></soap:Envelope>", rng.range(10, 100)).as_bytes());
                    header(&mut r, "Host", host);
                    header(&mut r, "Content-Type", "text/xml; charset=utf-8");
                    header(
                        &mut r,
                        "SOAPAction",
                        "\"http://schemas.microsoft.com/exchange/services/2006/messages/FindItem\"",
                    );
                    header(&mut r, "User-Agent", ua);
                    header(&mut r, "Content-Length", &body.len().to_string());
                    content_type = "text/xml; charset=utf-8";
                    kind = Body::Xml;
                    body_len = rng.range(800, 5_600) as usize;
                    server_us = rng.range(4_000, 70_000);
                }
                _ => {
                    r.extend_from_slice(b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\n");
                    body.extend_from_slice(format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\"><Request><EMailAddress>user{user}@example.com</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>").as_bytes());
                    header(&mut r, "Host", "autodiscover.example.com");
                    header(&mut r, "Content-Type", "text/xml");
                    header(&mut r, "User-Agent", ua);
                    header(&mut r, "X-MapiHttpCapability", "1");
                    header(
                        &mut r,
                        "X-AnchorMailbox",
                        &format!("user{user}@example.com"),
                    );
                    header(&mut r, "Content-Length", &body.len().to_string());
                    content_type = "text/xml; charset=utf-8";
                    kind = Body::Xml;
                    body_len = rng.range(1_700, 3_200) as usize;
                    server_us = rng.range(5_000, 40_000);
                }
            }
            header(&mut r, "Accept", "*/*");
            header(&mut r, "Connection", "Keep-Alive");
            cookie_header(&mut r, client);
        }
        Profile::Phone => {
            let ua = PHONE_UAS[(client.secret % PHONE_UAS.len() as u64) as usize];
            let cmd = rng.pick(&[
                "Sync",
                "Sync",
                "Sync",
                "Ping",
                "FolderSync",
                "ItemOperations",
            ]);
            r.extend_from_slice(format!("POST /Microsoft-Server-ActiveSync?Cmd={cmd}&User=user{user}%40example.com&DeviceId=").as_bytes());
            push_hex(&mut r, &mut ident, 32);
            r.extend_from_slice(b"&DeviceType=iPhone HTTP/1.1\r\n");
            let len = rng.range(60, 250) as usize;
            wbxml(&mut body, rng, len);
            header(&mut r, "Host", host);
            header(&mut r, "Content-Type", "application/vnd.ms-sync.wbxml");
            header(&mut r, "MS-ASProtocolVersion", "16.1");
            header(
                &mut r,
                "X-MS-PolicyKey",
                &rng.range(100_000_000, 4_000_000_000).to_string(),
            );
            header(&mut r, "User-Agent", ua);
            let mut auth = b"Basic ".to_vec();
            push_b64(&mut auth, &mut ident, 36);
            header(&mut r, "Authorization", &String::from_utf8_lossy(&auth));
            header(&mut r, "Accept", "*/*");
            header(&mut r, "Accept-Language", "en-us");
            header(&mut r, "Content-Length", &body.len().to_string());
            header(&mut r, "Connection", "keep-alive");
            cookie_header(&mut r, client);
            content_type = "application/vnd.ms-sync.wbxml";
            kind = Body::Wbxml;
            body_len = rng.range(200, 4_800) as usize;
            server_us = if cmd == "Ping" {
                rng.range(20_000, 120_000)
            } else {
                rng.range(3_000, 40_000)
            };
        }
    }
    r.extend_from_slice(b"\r\n");
    // Some of Outlook's HTTP stacks write the headers and the body separately.
    let split = if client.profile == Profile::Outlook && rng.percent(30) {
        r.len()
    } else {
        0
    };
    r.extend_from_slice(&body);
    Exchange {
        request: r,
        split,
        content_type,
        body: kind,
        body_len,
        server_us,
    }
}

fn attack_request(rng: &mut Rng, attack_no: u64, host: &str) -> Exchange {
    let mut r = Vec::with_capacity(512);
    if attack_no % 2 == 0 {
        // ProxyLogon (CVE-2021-26855) SSRF, as HAFNIUM's first step and the public scanners.
        r.extend_from_slice(b"GET /ecp/y.js HTTP/1.1\r\n");
        header(&mut r, "Host", host);
        header(&mut r, "User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.190 Safari/537.36");
        header(&mut r, "Accept", "*/*");
        header(&mut r, "Accept-Encoding", "gzip, deflate");
        header(&mut r, "Cookie", "X-AnonResource=true; X-AnonResource-Backend=localhost/ecp/default.flt?~3; X-BEResource=localhost/owa/auth/logon.aspx?~3;");
        header(&mut r, "Connection", "keep-alive");
        r.extend_from_slice(b"\r\n");
        Exchange {
            request: r,
            split: 0,
            content_type: "application/x-javascript",
            body: Body::Script,
            body_len: rng.range(1_000, 3_000) as usize,
            server_us: rng.range(2_000, 20_000),
        }
    } else {
        // ProxyShell (CVE-2021-34473) vulnerability check.
        r.extend_from_slice(b"GET /autodiscover/autodiscover.json?@evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com HTTP/1.1\r\n");
        header(&mut r, "Host", host);
        header(&mut r, "User-Agent", "python-requests/2.25.1");
        header(&mut r, "Accept-Encoding", "gzip, deflate");
        header(&mut r, "Accept", "*/*");
        header(&mut r, "Connection", "keep-alive");
        r.extend_from_slice(b"\r\n");
        Exchange {
            request: r,
            split: 0,
            content_type: "text/html",
            body: Body::Html,
            body_len: rng.range(1_000, 3_000) as usize,
            server_us: rng.range(2_000, 20_000),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Connections

/// One packet of a connection; its payload is `len` bytes of the sender's stream from `off`.
#[derive(Clone, Copy)]
struct Pkt {
    /// µs since the start of the capture.
    ts: u64,
    from_client: bool,
    flags: u8,
    seq: u32,
    ack: u32,
    off: u32,
    len: u32,
}

struct Flow {
    client: [u8; 4],
    client_port: u16,
    client_ttl: u8,
    client_ip_id: u16,
    server: usize,
    server_ip_id: u16,
    /// Everything the client sends, and everything the server sends.
    up: Vec<u8>,
    down: Vec<u8>,
    pkts: Vec<Pkt>,
    next: usize,
    requests: u32,
}

/// RFC 7231 IMF-fixdate of a Unix time.
fn http_date(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant), days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn response_head(
    out: &mut Vec<u8>,
    rng: &mut Rng,
    ex: &Exchange,
    body_len: usize,
    server: usize,
    ts: u64,
) {
    out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    header(out, "Cache-Control", "private");
    header(out, "Content-Type", ex.content_type);
    header(out, "Server", "Microsoft-IIS/10.0");
    let mut id = Vec::new();
    push_guid(&mut id, rng);
    header(out, "request-id", &String::from_utf8_lossy(&id));
    header(
        out,
        "X-CalculatedBETarget",
        &format!(
            "{}.corp.example.com",
            SERVER_NAMES[server].to_ascii_lowercase()
        ),
    );
    if ex.content_type == "application/vnd.ms-sync.wbxml" {
        header(out, "MS-Server-ActiveSync", "15.20");
    }
    header(out, "X-AspNet-Version", "4.0.30319");
    header(out, "X-Powered-By", "ASP.NET");
    header(out, "X-FEServer", SERVER_NAMES[server]);
    header(out, "X-DiagInfo", SERVER_NAMES[server]);
    header(out, "X-BEServer", SERVER_NAMES[server]);
    header(out, "Date", &http_date(BASE_SECS + ts / 1_000_000));
    header(out, "Content-Length", &body_len.to_string());
    out.extend_from_slice(b"\r\n");
}

/// Builds a connection starting at `start` µs: every packet with its time, in time order.
fn build_flow(
    rng: &mut Rng,
    corpora: &Corpora,
    start: u64,
    client: [u8; 4],
    client_port: u16,
    server: usize,
    exchanges: Vec<Exchange>,
) -> Flow {
    // Round trip seen from the server side: LAN clients or remote ones.
    let rtt = if rng.percent(70) {
        rng.range(300, 3_000)
    } else {
        rng.range(8_000, 45_000)
    };
    let client_isn = rng.next_u64() as u32;
    let server_isn = rng.next_u64() as u32;
    let mut pkts = Vec::with_capacity(32);
    let mut up = Vec::new();
    let mut down = Vec::new();
    let mut body = Vec::new();
    // Next sequence numbers relative to the ISNs (the SYNs take one each).
    let mut c_next: u32 = 1;
    let mut s_next: u32 = 1;
    let c_seq = |rel: u32| client_isn.wrapping_add(rel);
    let s_seq = |rel: u32| server_isn.wrapping_add(rel);

    let mut t = start;
    pkts.push(Pkt {
        ts: t,
        from_client: true,
        flags: TCP_SYN,
        seq: c_seq(0),
        ack: 0,
        off: 0,
        len: 0,
    });
    t += rng.range(20, 90);
    pkts.push(Pkt {
        ts: t,
        from_client: false,
        flags: TCP_SYN | TCP_ACK,
        seq: s_seq(0),
        ack: c_seq(1),
        off: 0,
        len: 0,
    });
    t += rtt;
    pkts.push(Pkt {
        ts: t,
        from_client: true,
        flags: TCP_ACK,
        seq: c_seq(1),
        ack: s_seq(1),
        off: 0,
        len: 0,
    });
    t += rng.range(10, 400);

    let requests = exchanges.len() as u32;
    for (i, ex) in exchanges.into_iter().enumerate() {
        if i > 0 {
            // Think time before the next request on the kept-alive connection.
            t += rng.range(10_000, 400_000);
        }
        // The request, in MSS-sized segments back to back (each write ends with PSH).
        let mut sent = 0;
        while sent < ex.request.len() {
            let write_end = if sent < ex.split {
                ex.split
            } else {
                ex.request.len()
            };
            let len = (write_end - sent).min(MSS);
            let last = sent + len == write_end;
            let flags = if last { TCP_ACK | TCP_PSH } else { TCP_ACK };
            pkts.push(Pkt {
                ts: t,
                from_client: true,
                flags,
                seq: c_seq(c_next),
                ack: s_seq(s_next),
                off: c_next - 1,
                len: len as u32,
            });
            c_next += len as u32;
            sent += len;
            t += if last { rng.range(20, 200) } else { 2 };
        }
        up.extend_from_slice(&ex.request);

        // The answer, after the server's time, one initial window at a time.
        let resp_start = t + ex.server_us;
        body.clear();
        corpora.fill(&mut body, rng, ex.body, ex.body_len);
        let head_start = down.len();
        response_head(&mut down, rng, &ex, body.len(), server, resp_start);
        down.extend_from_slice(&body);
        let total = down.len() - head_start;
        let segments = total.div_ceil(MSS);
        let mut last_ack = resp_start;
        for k in 0..segments {
            let len = (total - k * MSS).min(MSS);
            let seg_ts = resp_start + k as u64 * WIRE_GAP_US + (k / INITIAL_WINDOW) as u64 * rtt;
            let last = k + 1 == segments;
            pkts.push(Pkt {
                ts: seg_ts,
                from_client: false,
                flags: if last { TCP_ACK | TCP_PSH } else { TCP_ACK },
                seq: s_seq(s_next),
                ack: c_seq(c_next),
                off: s_next - 1,
                len: len as u32,
            });
            s_next += len as u32;
            // The client acknowledges every second segment, and the last one.
            if k % 2 == 1 || last {
                // (never before the previous ACK: the client's packets stay in order)
                last_ack = (seg_ts + rtt + rng.range(0, 40)).max(last_ack + 1);
                pkts.push(Pkt {
                    ts: last_ack,
                    from_client: true,
                    flags: TCP_ACK,
                    seq: c_seq(c_next),
                    ack: s_seq(s_next),
                    off: 0,
                    len: 0,
                });
            }
        }
        t = last_ack;
    }

    // The client closes the idle connection; the server's stack ACKs its FIN at once, and
    // IIS closes its side a little later.
    t += rng.range(20_000, 300_000);
    pkts.push(Pkt {
        ts: t,
        from_client: true,
        flags: TCP_FIN | TCP_ACK,
        seq: c_seq(c_next),
        ack: s_seq(s_next),
        off: 0,
        len: 0,
    });
    c_next += 1;
    t += rng.range(30, 120);
    pkts.push(Pkt {
        ts: t,
        from_client: false,
        flags: TCP_ACK,
        seq: s_seq(s_next),
        ack: c_seq(c_next),
        off: 0,
        len: 0,
    });
    t += rng.range(100, 3_000);
    pkts.push(Pkt {
        ts: t,
        from_client: false,
        flags: TCP_FIN | TCP_ACK,
        seq: s_seq(s_next),
        ack: c_seq(c_next),
        off: 0,
        len: 0,
    });
    s_next += 1;
    t += rtt;
    pkts.push(Pkt {
        ts: t,
        from_client: true,
        flags: TCP_ACK,
        seq: c_seq(c_next),
        ack: s_seq(s_next),
        off: 0,
        len: 0,
    });

    // Each side's packets were pushed in their own order; merge the two sides by time.
    pkts.sort_by_key(|p| p.ts);
    Flow {
        client,
        client_port,
        client_ttl: if rtt < 5_000 { 127 } else { 115 },
        client_ip_id: rng.next_u64() as u16,
        server,
        server_ip_id: rng.next_u64() as u16,
        up,
        down,
        pkts,
        next: 0,
        requests,
    }
}

// ---------------------------------------------------------------------------------------
// Output

struct PcapWriter {
    out: BufWriter<File>,
    frame: Vec<u8>,
    last_ts: Option<u64>,
    first_ts: u64,
    packets: u64,
    bytes: u64,
}

impl PcapWriter {
    fn create(path: &PathBuf) -> io::Result<PcapWriter> {
        let file = File::create(path)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let mut head = Vec::with_capacity(24);
        head.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        head.extend_from_slice(&2u16.to_le_bytes());
        head.extend_from_slice(&4u16.to_le_bytes());
        head.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        head.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        head.extend_from_slice(&65_535u32.to_le_bytes()); // snaplen
        head.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
        out.write_all(&head)?;
        Ok(PcapWriter {
            out,
            frame: Vec::with_capacity(2048),
            last_ts: None,
            first_ts: 0,
            packets: 0,
            bytes: 24,
        })
    }

    /// Writes the flow's next packet. Packets tied in time are spread 1 µs apart so that
    /// timestamps strictly increase over the file.
    fn write_next(&mut self, flow: &mut Flow) -> io::Result<()> {
        let p = flow.pkts[flow.next];
        flow.next += 1;
        let ts = match self.last_ts {
            Some(last) => p.ts.max(last + 1),
            None => {
                self.first_ts = p.ts;
                p.ts
            }
        };
        self.last_ts = Some(ts);

        let (src_mac, dst_mac, src, dst, sport, dport, ttl, ip_id, window, stream) =
            if p.from_client {
                flow.client_ip_id = flow.client_ip_id.wrapping_add(1);
                (
                    GATEWAY_MAC,
                    server_mac(flow.server),
                    flow.client,
                    SERVERS[flow.server],
                    flow.client_port,
                    SERVER_PORT,
                    flow.client_ttl,
                    flow.client_ip_id,
                    1026u16, // × 256
                    &flow.up,
                )
            } else {
                flow.server_ip_id = flow.server_ip_id.wrapping_add(1);
                (
                    server_mac(flow.server),
                    GATEWAY_MAC,
                    SERVERS[flow.server],
                    flow.client,
                    SERVER_PORT,
                    flow.client_port,
                    128,
                    flow.server_ip_id,
                    2053u16, // × 256
                    &flow.down,
                )
            };
        let ip = Ipv4Header {
            identification: ip_id,
            dont_fragment: true,
            time_to_live: ttl,
            source: src,
            destination: dst,
            ..Default::default()
        };
        let syn = p.flags & TCP_SYN != 0;
        let mut b = PacketBuilder::ethernet2(src_mac, dst_mac)
            .ip(IpHeaders::Ipv4(ip, Default::default()))
            .tcp(sport, dport, p.seq, if syn { 64_240 } else { window });
        if syn {
            b = b
                .syn()
                .options_raw(&SYN_OPTIONS)
                .map_err(io::Error::other)?;
        }
        if p.flags & TCP_ACK != 0 {
            b = b.ack(p.ack);
        }
        if p.flags & TCP_PSH != 0 {
            b = b.psh();
        }
        if p.flags & TCP_FIN != 0 {
            b = b.fin();
        }
        let payload = &stream[p.off as usize..(p.off + p.len) as usize];
        self.frame.clear();
        b.write_to_vec(&mut self.frame, payload)
            .map_err(io::Error::other)?;

        let len = self.frame.len() as u32;
        let mut rec = [0u8; 16];
        rec[0..4].copy_from_slice(&((BASE_SECS + ts / 1_000_000) as u32).to_le_bytes());
        rec[4..8].copy_from_slice(&((ts % 1_000_000) as u32).to_le_bytes());
        rec[8..12].copy_from_slice(&len.to_le_bytes());
        rec[12..16].copy_from_slice(&len.to_le_bytes());
        self.out.write_all(&rec)?;
        self.out.write_all(&self.frame)?;
        self.packets += 1;
        self.bytes += 16 + u64::from(len);
        Ok(())
    }
}

struct Args {
    out: PathBuf,
    flows: u64,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut out = None;
    let mut flows = 50_000u64;
    let mut seed = 1u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        match name.as_str() {
            "-h" | "--help" => return Err(String::new()),
            "--flows" | "--seed" => {
                let value = match inline.or_else(|| args.next()) {
                    Some(v) => v,
                    None => return Err(format!("{name} needs a value")),
                };
                let n: u64 = value
                    .parse()
                    .map_err(|_| format!("{name}: not a number: {value:?}"))?;
                if name == "--flows" {
                    if n == 0 {
                        return Err("--flows must be at least 1".into());
                    }
                    flows = n;
                } else {
                    seed = n;
                }
            }
            _ if name.starts_with('-') && name != "-" => {
                return Err(format!("unknown option {name}"))
            }
            _ if out.is_none() => out = Some(PathBuf::from(arg)),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    let out = out.ok_or_else(|| "missing OUT.pcap".to_string())?;
    Ok(Args { out, flows, seed })
}

struct Summary {
    requests: u64,
    attacks: u64,
    max_open: usize,
    open_sum: u64,
}

fn generate(args: &Args, w: &mut PcapWriter) -> io::Result<Summary> {
    let corpora = Corpora::new(args.seed);
    let mut sched = Rng::new(derive(args.seed, 2));
    let mut clients: Vec<Client> = (0..CLIENT_POOL)
        .map(|i| {
            // Distinct addresses spread over 10.1.0.0/16, never .0 or .255.
            let host = (i as u32) * 16 + 1 + sched.below(14) as u32;
            let profile = match sched.below(10) {
                0..=3 => Profile::Browser,
                4..=7 => Profile::Outlook,
                _ => Profile::Phone,
            };
            Client {
                addr: [10, 1, (host >> 8) as u8, host as u8],
                next_port: sched.range(49_152, 65_000) as u16,
                profile,
                secret: sched.next_u64(),
                user: sched.range(1, 20_000),
            }
        })
        .collect();
    let attack_seed = derive(args.seed, 3);
    let mut attacker_port: u16 = 40_000;

    let mut slots: Vec<Option<Flow>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    // (next packet time, flow number, slot), earliest first.
    let mut heap: BinaryHeap<Reverse<(u64, u64, usize)>> = BinaryHeap::new();
    let mut summary = Summary {
        requests: 0,
        attacks: 0,
        max_open: 0,
        open_sum: 0,
    };
    let mut next_start = 0u64;
    let mut index = 0u64;
    loop {
        let start_due = index < args.flows;
        let packet_due = heap
            .peek()
            .is_some_and(|Reverse((ts, _, _))| !start_due || *ts <= next_start);
        if packet_due {
            let Some(Reverse((_, id, slot))) = heap.pop() else {
                break;
            };
            let flow = slots[slot]
                .as_mut()
                .expect("heap entries point at open flows");
            w.write_next(flow)?;
            if flow.next < flow.pkts.len() {
                heap.push(Reverse((flow.pkts[flow.next].ts, id, slot)));
            } else {
                slots[slot] = None;
                free.push(slot);
            }
            continue;
        }
        if !start_due {
            break;
        }

        // Open connection `index` at `next_start`.
        let mut rng = Rng::new(derive(args.seed, 1_000 + index));
        let block = index / ATTACK_EVERY;
        let is_attack = index % ATTACK_EVERY == Rng::new(attack_seed ^ block).below(ATTACK_EVERY);
        let server = sched.below(SERVERS.len() as u64) as usize;
        let (addr, port, exchanges) = if is_attack {
            let n = summary.attacks;
            summary.attacks += 1;
            attacker_port = if attacker_port >= 60_000 {
                40_000
            } else {
                attacker_port + 7
            };
            let host = if n % 3 == 0 {
                SERVERS[server].map(|o| o.to_string()).join(".")
            } else {
                "mail.example.com".to_string()
            };
            (
                [203, 0, 113, 10 + (n % 40) as u8],
                attacker_port,
                vec![attack_request(&mut rng, n, &host)],
            )
        } else {
            let c = &mut clients[sched.below(CLIENT_POOL as u64) as usize];
            c.next_port = if c.next_port >= 65_000 {
                49_152
            } else {
                c.next_port + 1 + sched.below(4) as u16
            };
            let count = if rng.percent(46) { 2 } else { 1 };
            let exchanges = (0..count).map(|_| benign_request(&mut rng, c)).collect();
            (c.addr, c.next_port, exchanges)
        };
        let flow = build_flow(
            &mut rng, &corpora, next_start, addr, port, server, exchanges,
        );
        summary.requests += u64::from(flow.requests);
        let first = flow.pkts[0].ts;
        let slot = match free.pop() {
            Some(s) => {
                slots[s] = Some(flow);
                s
            }
            None => {
                slots.push(Some(flow));
                slots.len() - 1
            }
        };
        heap.push(Reverse((first, index, slot)));
        summary.max_open = summary.max_open.max(heap.len());
        summary.open_sum += heap.len() as u64;
        index += 1;
        next_start += sched.range(200, 2 * MEAN_ARRIVAL_US - 200);
    }
    Ok(summary)
}

fn run(args: &Args) -> io::Result<()> {
    let name = args.out.display();
    let with_name = |e: io::Error| io::Error::new(e.kind(), format!("{name}: {e}"));
    let mut w = PcapWriter::create(&args.out).map_err(with_name)?;
    let summary = generate(args, &mut w).map_err(with_name)?;
    w.out.flush().map_err(with_name)?;
    w.out.get_ref().sync_all().map_err(with_name)?;
    let span = w.last_ts.unwrap_or(0) - w.first_ts;
    eprintln!(
        "{name}: {} flows ({} attacks), {} HTTP requests, {} packets, {} bytes, {}.{:06} s of packet time, {} flows open at most ({} on average)",
        args.flows,
        summary.attacks,
        summary.requests,
        w.packets,
        w.bytes,
        span / 1_000_000,
        span % 1_000_000,
        summary.max_open,
        summary.open_sum / args.flows,
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            if msg.is_empty() {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            eprintln!("gen_bench_capture: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_bench_capture: {e}");
            ExitCode::FAILURE
        }
    }
}
