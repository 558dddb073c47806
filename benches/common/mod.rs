//! Generated large-frame HTTP traffic for the benches (Ethernet/IPv4/TCP, 1460-byte
//! segments, keep-alive connections with 64 KiB responses and some POST bodies), built in
//! memory so that the figures measure exhound, not the disk.

use std::hint::black_box;

use etherparse::PacketBuilder;

use exhound::capture::RawPacket;
use exhound::decode::linktype;
use exhound::detect::Alert;
use exhound::http::HttpTransaction;
use exhound::output::FlowFacts;
use exhound::pipeline::{AlertContext, EventSink, Worker};
use exhound::time::Timestamp;
use exhound::tls::TlsInfo;

/// Counts what the pipeline hands out.
#[derive(Default)]
pub struct Count {
    /// HTTP transactions.
    pub transactions: u64,
    /// Alerts.
    pub alerts: u64,
}

impl EventSink for Count {
    fn transaction(&mut self, _: &FlowFacts, tx: &HttpTransaction, _: Option<&TlsInfo>) {
        self.transactions += 1;
        black_box(tx);
    }
    fn alert(&mut self, _: &FlowFacts, alert: &Alert, _: AlertContext<'_>) {
        self.alerts += 1;
        black_box(alert);
    }
}

/// Runs every frame through `worker`, then finishes it.
pub fn replay(frames: &[Frame], mut worker: Worker) -> Count {
    let mut sink = Count::default();
    for (n, f) in frames.iter().enumerate() {
        worker.process(&f.packet(n as u64 + 1), n as u64 + 1, &mut sink);
    }
    worker.finish(&mut sink);
    sink
}

/// One captured frame.
pub struct Frame {
    /// Capture time.
    pub ts: Timestamp,
    /// Ethernet frame bytes.
    pub data: Vec<u8>,
}

impl Frame {
    /// The frame as packet `number` of a capture.
    pub fn packet(&self, number: u64) -> RawPacket<'_> {
        RawPacket {
            ts: self.ts,
            link_type: linktype::ETHERNET,
            data: &self.data,
            wire_len: self.data.len() as u32,
            number,
        }
    }
}

struct Conn {
    client: [u8; 4],
    server: [u8; 4],
    cport: u16,
    cseq: u32,
    sseq: u32,
}

impl Conn {
    fn packet(&self, from_client: bool, flags: &str, payload: &[u8]) -> Vec<u8> {
        let (src, dst, sp, dp, seq, ack) = if from_client {
            (
                self.client,
                self.server,
                self.cport,
                443,
                self.cseq,
                self.sseq,
            )
        } else {
            (
                self.server,
                self.client,
                443,
                self.cport,
                self.sseq,
                self.cseq,
            )
        };
        let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src, dst, 64)
            .tcp(sp, dp, seq, 64240);
        if flags.contains('S') {
            b = b.syn();
        }
        if flags.contains('A') {
            b = b.ack(ack);
        }
        if flags.contains('F') {
            b = b.fin();
        }
        let mut out = Vec::with_capacity(payload.len() + 64);
        b.write(&mut out, payload).expect("build packet");
        out
    }
}

/// Frames of a capture being built: packet times 10 ms apart.
pub struct Capture {
    /// The frames so far.
    pub frames: Vec<Frame>,
    t: Timestamp,
}

impl Default for Capture {
    fn default() -> Capture {
        Capture {
            frames: Vec::new(),
            t: Timestamp::from_secs(1_614_765_600),
        }
    }
}

impl Capture {
    fn push(&mut self, data: Vec<u8>) {
        self.t = Timestamp(self.t.0 + 10_000);
        self.frames.push(Frame { ts: self.t, data });
    }

    /// Connection `i` (client 10.1.x.y, server 10.2.0.1:443): handshake, each request cut
    /// into segments of at most `request_segment` bytes and each response into 1460-byte
    /// segments (the client ACKing every second one), then both FINs. With `pipelined`, all
    /// requests go first and all responses after them.
    pub fn connection(
        &mut self,
        i: u32,
        exchanges: &[(Vec<u8>, Vec<u8>)],
        request_segment: usize,
        pipelined: bool,
    ) {
        let mut c = Conn {
            client: [10, 1, (i >> 8) as u8, i as u8],
            server: [10, 2, 0, 1],
            cport: 40000 + (i % 20000) as u16,
            cseq: 1000 + i,
            sseq: 9000 + i,
        };
        self.push(c.packet(true, "S", &[]));
        c.cseq += 1;
        self.push(c.packet(false, "SA", &[]));
        c.sseq += 1;
        self.push(c.packet(true, "A", &[]));
        let send_request = |cap: &mut Capture, c: &mut Conn, req: &[u8]| {
            for chunk in req.chunks(request_segment.max(1)) {
                cap.push(c.packet(true, "A", chunk));
                c.cseq = c.cseq.wrapping_add(chunk.len() as u32);
            }
        };
        let send_response = |cap: &mut Capture, c: &mut Conn, resp: &[u8]| {
            for (n, chunk) in resp.chunks(1460).enumerate() {
                cap.push(c.packet(false, "A", chunk));
                c.sseq = c.sseq.wrapping_add(chunk.len() as u32);
                if n % 2 == 1 {
                    cap.push(c.packet(true, "A", &[]));
                }
            }
        };
        if pipelined {
            for (req, _) in exchanges {
                send_request(self, &mut c, req);
            }
            for (_, resp) in exchanges {
                send_response(self, &mut c, resp);
            }
        } else {
            for (req, resp) in exchanges {
                send_request(self, &mut c, req);
                send_response(self, &mut c, resp);
            }
        }
        self.push(c.packet(true, "FA", &[]));
        c.cseq += 1;
        self.push(c.packet(false, "FA", &[]));
        c.sseq += 1;
        self.push(c.packet(true, "A", &[]));
    }
}

/// `connections` keep-alive connections of `requests` transactions each.
pub fn traffic(connections: u32, requests: u32) -> Vec<Frame> {
    let body = image_bytes(64 * 1024);
    let post = json_body(8 * 1024);
    let mut cap = Capture::default();
    for i in 0..connections {
        let exchanges: Vec<(Vec<u8>, Vec<u8>)> = (0..requests)
            .map(|r| {
                let req = if r % 4 == 3 {
                    let mut q = format!(
                        "POST /ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory HTTP/1.1\r\nHost: mail.lab\r\nUser-Agent: Mozilla/5.0\r\nCookie: X-BackEndCookie=abc; ASP.NET_SessionId=x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        post.len()
                    )
                    .into_bytes();
                    q.extend_from_slice(&post);
                    q
                } else {
                    format!("GET /owa/auth/{r}/themes/resources/logo.png HTTP/1.1\r\nHost: mail.lab\r\nUser-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64)\r\nAccept: */*\r\nCookie: X-BackEndCookie=abc; ASP.NET_SessionId=x\r\n\r\n").into_bytes()
                };
                let mut resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nServer: Microsoft-IIS/10.0\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                resp.extend_from_slice(&body);
                (req, resp)
            })
            .collect();
        cap.connection(i, &exchanges, 1460, false);
    }
    cap.frames
}

/// Bytes that look like a compressed image: deterministic pseudo-random (xorshift), so that
/// byte-frequency heuristics see what they would see on real traffic.
pub fn image_bytes(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// An ECP-style JSON body of about `len` bytes.
fn json_body(len: usize) -> Vec<u8> {
    let mut b = br#"{"identity":{"__type":"Identity:ECP","DisplayName":"OAB (Default Web Site)","RawIdentity":"3c7d7d2b"},"properties":{"Parameters":{"__type":"JsonDictionaryOfanyType:#Microsoft.Exchange.Management.ControlPanel","ExternalUrl":"https://mail.lab/OAB","Items":["#.to_vec();
    let mut i = 0;
    while b.len() + 40 < len {
        b.extend_from_slice(format!("\"mailbox{i:05}@lab.example\",").as_bytes());
        i += 1;
    }
    b.extend_from_slice(b"\"end\"]}}}");
    b
}
