//! Decode + reassembly + HTTP throughput on generated large-frame HTTP traffic, no rules.
//!
//! The capture is built in memory (Ethernet/IPv4/TCP, 1460-byte segments, keep-alive
//! connections with 64 KiB responses and some POST bodies) so the figure measures exhound, not
//! the disk. Target (issue 2): at least 1.5 GB/s on one core.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use etherparse::PacketBuilder;

use exhound::capture::{RawPacket, Timestamp};
use exhound::decode::linktype;
use exhound::detect::Alert;
use exhound::http::HttpTransaction;
use exhound::output::FlowFacts;
use exhound::pipeline::{AlertContext, EventSink, PipelineConfig, Worker};

struct Frame {
    ts: Timestamp,
    data: Vec<u8>,
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

fn traffic(connections: u32, requests: u32) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut t = Timestamp::from_secs(1_614_765_600);
    let mut push = |frames: &mut Vec<Frame>, data: Vec<u8>| {
        t = Timestamp(t.0 + 10_000);
        frames.push(Frame { ts: t, data });
    };
    let body = vec![b'x'; 64 * 1024];
    let post = vec![b'p'; 8 * 1024];
    for i in 0..connections {
        let mut c = Conn {
            client: [10, 1, (i >> 8) as u8, i as u8],
            server: [10, 2, 0, 1],
            cport: 40000 + (i % 20000) as u16,
            cseq: 1000 + i,
            sseq: 9000 + i,
        };
        push(&mut frames, c.packet(true, "S", &[]));
        c.cseq += 1;
        push(&mut frames, c.packet(false, "SA", &[]));
        c.sseq += 1;
        push(&mut frames, c.packet(true, "A", &[]));
        for r in 0..requests {
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
            for chunk in req.chunks(1460) {
                push(&mut frames, c.packet(true, "A", chunk));
                c.cseq = c.cseq.wrapping_add(chunk.len() as u32);
            }
            let mut resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nServer: Microsoft-IIS/10.0\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            resp.extend_from_slice(&body);
            for (n, chunk) in resp.chunks(1460).enumerate() {
                push(&mut frames, c.packet(false, "A", chunk));
                c.sseq = c.sseq.wrapping_add(chunk.len() as u32);
                if n % 2 == 1 {
                    push(&mut frames, c.packet(true, "A", &[]));
                }
            }
        }
        push(&mut frames, c.packet(true, "FA", &[]));
        c.cseq += 1;
        push(&mut frames, c.packet(false, "FA", &[]));
        c.sseq += 1;
        push(&mut frames, c.packet(true, "A", &[]));
    }
    frames
}

/// Counts what the pipeline hands out.
#[derive(Default)]
struct Count {
    transactions: u64,
    alerts: u64,
}

impl EventSink for Count {
    fn transaction(&mut self, _: &FlowFacts, tx: &HttpTransaction) {
        self.transactions += 1;
        black_box(tx);
    }
    fn alert(&mut self, _: &FlowFacts, alert: &Alert, _: AlertContext<'_>) {
        self.alerts += 1;
        black_box(alert);
    }
}

fn run(frames: &[Frame]) -> u64 {
    let mut worker = Worker::new(PipelineConfig::default(), None);
    let mut sink = Count::default();
    for (n, f) in frames.iter().enumerate() {
        let p = RawPacket {
            ts: f.ts,
            link_type: linktype::ETHERNET,
            data: &f.data,
            wire_len: f.data.len() as u32,
            number: n as u64 + 1,
        };
        worker.process(&p, n as u64 + 1, &mut sink);
    }
    worker.finish(&mut sink);
    sink.transactions
}

fn pipeline(c: &mut Criterion) {
    let frames = traffic(64, 16);
    let bytes: u64 = frames.iter().map(|f| f.data.len() as u64).sum();
    assert_eq!(run(&frames), 64 * 16, "every transaction must be seen");
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(20);
    g.bench_function("decode+stream+http/large-frames", |b| {
        b.iter(|| black_box(run(&frames)))
    });
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
