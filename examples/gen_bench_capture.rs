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
//! The output depends only on the arguments: a SplitMix64 generator seeded from `--seed`, no
//! clock, no floating point. A one-line summary goes to standard error. The connection builder,
//! pcap writer, time-ordered merge, bodies and client pool are the library's `exhound::synth`,
//! shared with `exhound synth` (which writes a richer mix of any size); this file keeps only
//! the requests of this fixed shape.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use exhound::synth::body::{wbxml, Body, Corpora};
use exhound::synth::merge::Merge;
use exhound::synth::mix::{
    client_pool, cookie_header, host_for, server_mac, Client, Profile, BROWSER_UAS, GATEWAY_MAC,
    OUTLOOK_UAS, PHONE_UAS, SERVERS, SERVER_NAMES,
};
use exhound::synth::pcap::{PcapWriter, BASE_SECS};
use exhound::synth::rng::{derive, Rng};
use exhound::synth::tcp::{build_flow, Endpoints, Impairments, Request};
use exhound::synth::text::{header, http_date, push_b64, push_guid, push_hex};

const USAGE: &str = "usage: gen_bench_capture OUT.pcap [--flows N (50000)] [--seed N (1)]";

/// Mean gap between two connection starts, in microseconds.
const MEAN_ARRIVAL_US: u64 = 2_400;
const CLIENT_POOL: usize = 4_096;
const ATTACK_EVERY: u64 = 1_000;

const SERVER_PORT: u16 = 80;

// ---------------------------------------------------------------------------------------
// Requests

/// One request and what its answer looks like.
struct Exchange {
    request: Request,
    content_type: &'static str,
    body: Body,
    body_len: usize,
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
        request: Request {
            bytes: r,
            split,
            server_us,
        },
        content_type,
        body: kind,
        body_len,
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
        let body_len = rng.range(1_000, 3_000) as usize;
        Exchange {
            request: Request {
                bytes: r,
                split: 0,
                server_us: rng.range(2_000, 20_000),
            },
            content_type: "application/x-javascript",
            body: Body::Script,
            body_len,
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
        let body_len = rng.range(1_000, 3_000) as usize;
        Exchange {
            request: Request {
                bytes: r,
                split: 0,
                server_us: rng.range(2_000, 20_000),
            },
            content_type: "text/html",
            body: Body::Html,
            body_len,
        }
    }
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

fn generate(args: &Args, w: &mut PcapWriter<BufWriter<File>>) -> io::Result<Summary> {
    let corpora = Corpora::new(args.seed);
    let mut sched = Rng::new(derive(args.seed, 2));
    let mut clients = client_pool(&mut sched, CLIENT_POOL);
    let attack_seed = derive(args.seed, 3);
    let mut attacker_port: u16 = 40_000;

    let mut merge = Merge::new();
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
        let packet_due = merge
            .next_ts()
            .is_some_and(|ts| !start_due || ts <= next_start);
        if packet_due {
            merge.write_next(w)?;
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
            let port = c.open_port(&mut sched);
            let count = if rng.percent(46) { 2 } else { 1 };
            let exchanges = (0..count).map(|_| benign_request(&mut rng, c)).collect();
            (c.addr, port, exchanges)
        };
        let ends = Endpoints {
            client_mac: GATEWAY_MAC,
            server_mac: server_mac(server),
            client: addr,
            server: SERVERS[server],
            client_port: port,
            server_port: SERVER_PORT,
        };
        let requests: Vec<Request> = exchanges.iter().map(|e| e.request.clone()).collect();
        let mut body = Vec::new();
        let flow = build_flow(
            &mut rng,
            next_start,
            ends,
            &requests,
            Impairments::default(),
            |rng, i, at, down| {
                let ex = &exchanges[i];
                body.clear();
                corpora.fill(&mut body, rng, ex.body, ex.body_len);
                response_head(down, rng, ex, body.len(), server, at);
                down.extend_from_slice(&body);
            },
        );
        summary.requests += u64::from(flow.requests);
        merge.add(index, flow);
        summary.max_open = summary.max_open.max(merge.open());
        summary.open_sum += merge.open() as u64;
        index += 1;
        next_start += sched.range(200, 2 * MEAN_ARRIVAL_US - 200);
    }
    Ok(summary)
}

fn run(args: &Args) -> io::Result<()> {
    let name = args.out.display();
    let with_name = |e: io::Error| io::Error::new(e.kind(), format!("{name}: {e}"));
    let file = File::create(&args.out).map_err(with_name)?;
    let mut w = PcapWriter::new(BufWriter::with_capacity(1 << 20, file)).map_err(with_name)?;
    let summary = generate(args, &mut w).map_err(with_name)?;
    let span = w.span_us();
    let packets = w.packets;
    let bytes = w.bytes;
    let mut out = w.into_inner();
    out.flush().map_err(with_name)?;
    out.get_ref().sync_all().map_err(with_name)?;
    eprintln!(
        "{name}: {} flows ({} attacks), {} HTTP requests, {} packets, {} bytes, {}.{:06} s of packet time, {} flows open at most ({} on average)",
        args.flows,
        summary.attacks,
        summary.requests,
        packets,
        bytes,
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
