//! Each stage of the pipeline on its own, on the generated traffic of the `pipeline` bench
//! (64 keep-alive connections of 16 transactions: 64 KiB responses, 8 KiB POST bodies,
//! 1460-byte segments), so that a change to one stage shows in its own figure:
//!
//! - `decode`: Ethernet/IPv4/TCP headers of every frame (`decode::decode_frame`);
//! - `reassembly`: the decoded segments through a `TcpSession` per connection;
//! - `http`: the reassembled bytes of each side through an `HttpConnection`, transactions
//!   taken as they complete;
//! - `buffers`: every HTTP inspection buffer of every transaction, normalised as the rules
//!   see them (`detect::buffers::compute`);
//! - `prefilter`: 120 rules over twelve buffers whose fast patterns occur nowhere in the
//!   traffic: the buffers those rules need, and the prefilter's scans that find nothing;
//! - `verify`: the same 120 rules, but in the nine request buffers other than the body each
//!   rule's fast pattern is text every request has there, followed by a content that is
//!   absent: the same buffers and scans, plus 90 rules checked and refused a request;
//! - `eve`: the EVE `http` record of every transaction, and the `alert` record of one alert
//!   per transaction.
//!
//! Stages after `http` run on the 1,024 transactions the `http` stage hands out (throughput
//! in transactions); the ones before it on the capture's bytes.

use std::collections::HashMap;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
#[allow(dead_code)] // the replay helpers serve the other benches
mod common;

use common::{traffic, Frame};
use exhound::decode::{self, linktype, Decoded, TcpSegment};
use exhound::detect::buffers::{self, TxSide};
use exhound::detect::rule::buffer::{Buffer, BufferSide};
use exhound::detect::rule::loader::LoadOptions;
use exhound::detect::{Alert, DetectConfig, FlowDetectState, FlowMeta, RuleSet, WorkerDetectState};
use exhound::flow::Side;
use exhound::http::{HttpConfig, HttpConnection, HttpStats, HttpTransaction, PacketRef};
use exhound::output::eve::{alert_line, http_line};
use exhound::output::FlowFacts;
use exhound::stream::{ReassemblyMemory, StreamConfig, StreamEvent, StreamStats, TcpSession};
use exhound::time::Timestamp;

/// The server port of the generated traffic.
const SERVER_PORT: u16 = 443;

/// The decoded TCP segments of `frames`, with their times.
fn segments(frames: &[Frame]) -> Vec<(TcpSegment<'_>, Timestamp)> {
    frames
        .iter()
        .filter_map(
            |f| match decode::decode_frame(linktype::ETHERNET, &f.data) {
                Ok(Decoded::Tcp(s)) => Some((s, f.ts)),
                _ => None,
            },
        )
        .collect()
}

/// The connection a segment belongs to (its client end) and the side that sent it.
fn connection_of(s: &TcpSegment<'_>) -> ((IpAddr, u16), Side) {
    if s.dst_port == SERVER_PORT {
        ((s.ip.src, s.src_port), Side::Initiator)
    } else {
        ((s.ip.dst, s.dst_port), Side::Responder)
    }
}

/// Runs the segments through one `TcpSession` per connection; `deliver` gets the connection's
/// number (in order of first packet) and each event. Returns the bytes delivered.
fn reassemble(
    segments: &[(TcpSegment<'_>, Timestamp)],
    mut deliver: impl FnMut(usize, usize, &StreamEvent<'_>),
) -> u64 {
    let config = StreamConfig::default();
    let mut memory = ReassemblyMemory::default();
    let mut stats = StreamStats::default();
    let mut sessions: HashMap<(IpAddr, u16), (usize, TcpSession)> = HashMap::new();
    let mut delivered = 0u64;
    for (n, (segment, ts)) in segments.iter().enumerate() {
        let (conn, side) = connection_of(segment);
        let count = sessions.len();
        let (index, session) = sessions
            .entry(conn)
            .or_insert_with(|| (count, TcpSession::new(segment, side, &config, &mut stats)));
        let index = *index;
        session.on_segment(
            segment,
            side,
            *ts,
            &config,
            &mut memory,
            &mut stats,
            &mut |event| {
                if let StreamEvent::Data { bytes, .. } = &event {
                    delivered += bytes.len() as u64;
                }
                deliver(index, n, &event);
            },
        );
    }
    delivered
}

/// One reassembled delivery, owned: the connection's number, the side, the bytes and the
/// packet that delivered them.
struct Delivery {
    connection: usize,
    side: Side,
    bytes: Vec<u8>,
    at: PacketRef,
}

fn deliveries(segments: &[(TcpSegment<'_>, Timestamp)]) -> Vec<Delivery> {
    let mut out = Vec::new();
    reassemble(segments, |connection, n, event| {
        if let StreamEvent::Data { side, bytes } = event {
            out.push(Delivery {
                connection,
                side: *side,
                bytes: bytes.to_vec(),
                at: PacketRef {
                    ts: segments[n].1,
                    pcap_cnt: n as u64 + 1,
                },
            });
        }
    });
    out
}

/// Parses the deliveries, one `HttpConnection` per connection; returns the transactions.
fn parse(deliveries: &[Delivery]) -> Vec<HttpTransaction> {
    let config = HttpConfig::default();
    let mut stats = HttpStats::default();
    let mut connections: Vec<HttpConnection> = Vec::new();
    let mut done = Vec::new();
    for d in deliveries {
        if connections.len() <= d.connection {
            connections.resize_with(d.connection + 1, HttpConnection::new);
        }
        let c = &mut connections[d.connection];
        c.on_data(d.side, &d.bytes, d.at, &config, &mut stats);
        c.take_completed(&mut done, &mut stats);
    }
    for c in &mut connections {
        c.finish(&config, &mut stats);
        c.take_completed(&mut done, &mut stats);
    }
    done
}

/// The flow facts the EVE records of `tx` need (one made-up flow for all).
fn facts() -> FlowFacts {
    FlowFacts {
        flow_id: 1,
        client_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        client_port: 40000,
        server_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        server_port: SERVER_PORT,
        vlan: Vec::new(),
        start: Timestamp(0),
        first_packet: 1,
        pkts_toserver: 0,
        pkts_toclient: 0,
        bytes_toserver: 0,
        bytes_toclient: 0,
    }
}

fn meta() -> FlowMeta {
    FlowMeta {
        client_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        client_port: 40000,
        server_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        server_port: SERVER_PORT,
        established: true,
    }
}

/// Buffers the rules of `prefilter` and `verify` look in (`flow` direction, sticky buffer).
const RULE_BUFFERS: [(&str, &str); 12] = [
    ("to_server", "http.uri"),
    ("to_server", "http.uri.raw"),
    ("to_server", "http.method"),
    ("to_server", "http.request_line"),
    ("to_server", "http.header"),
    ("to_server", "http.header_names"),
    ("to_server", "http.cookie"),
    ("to_server", "http.user_agent"),
    ("to_server", "http.host"),
    ("to_server", "http.request_body"),
    ("to_client", "http.stat_msg"),
    ("to_client", "http.response_body"),
];

/// 120 rules, ten per buffer of [`RULE_BUFFERS`]. With `hit`, the fast pattern of each rule
/// on a request buffer but the body is text every request has in that buffer (so each is
/// checked), followed by a content that is nowhere; other rules, and every rule without
/// `hit`, have only a content that is nowhere.
fn rule_set(hit: bool) -> RuleSet {
    // Text each request-side buffer of every generated transaction holds.
    let common = |buffer: &str| match buffer {
        "http.uri" | "http.uri.raw" | "http.request_line" => "/",
        "http.method" => "T",
        "http.header" | "http.header_names" => "Host",
        "http.cookie" => "X-BackEndCookie",
        "http.user_agent" => "Mozilla/5.0",
        "http.host" => "mail.lab",
        _ => "",
    };
    let mut text = String::new();
    let mut sid = 1;
    for (dir, buffer) in RULE_BUFFERS {
        for k in 0..10 {
            let absent = format!("zq{k:02}{}x", &buffer[5..]);
            let body = match common(buffer) {
                text if hit && !text.is_empty() => {
                    format!("content:\"{text}\"; fast_pattern; content:\"{absent}\";")
                }
                _ => format!("content:\"{absent}\";"),
            };
            text.push_str(&format!(
                "alert http any any -> any any (msg:\"stage {sid}\"; flow:established,{dir}; {buffer}; {body} sid:{sid};)\n"
            ));
            sid += 1;
        }
    }
    RuleSet::from_text(&text, &LoadOptions::default(), DetectConfig::default())
        .expect("generated rules load")
}

/// Inspects every transaction with `rules`; returns the alerts raised and the rules checked
/// past the prefilter.
fn inspect(rules: &RuleSet, txs: &[HttpTransaction]) -> (usize, u64) {
    let meta = meta();
    let mut worker = WorkerDetectState::new();
    let mut alerts = Vec::new();
    let mut raised = 0;
    for tx in txs {
        let mut flow = FlowDetectState::new();
        alerts.clear();
        rules.inspect_http(&meta, tx, &mut flow, &mut worker, Timestamp(0), &mut alerts);
        raised += alerts.len();
    }
    (raised, worker.stats.rules_evaluated)
}

fn stages(c: &mut Criterion) {
    let frames = traffic(64, 16);
    let bytes: u64 = frames.iter().map(|f| f.data.len() as u64).sum();
    let segs = segments(&frames);
    let delivered = deliveries(&segs);
    let txs = parse(&delivered);
    assert_eq!(txs.len(), 64 * 16, "every transaction must be parsed");

    let mut g = c.benchmark_group("stages");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("decode", |b| {
        b.iter(|| {
            frames
                .iter()
                .filter(|f| {
                    matches!(
                        decode::decode_frame(linktype::ETHERNET, black_box(&f.data)),
                        Ok(Decoded::Tcp(_))
                    )
                })
                .count()
        })
    });
    g.bench_function("reassembly", |b| {
        b.iter(|| {
            reassemble(black_box(&segs), |_, _, e| {
                black_box(e);
            })
        })
    });
    g.bench_function("http", |b| b.iter(|| parse(black_box(&delivered)).len()));

    g.throughput(Throughput::Elements(txs.len() as u64));
    let http_buffers: Vec<(Buffer, TxSide)> = Buffer::ALL
        .iter()
        .flat_map(|&buffer| {
            let sides: &[TxSide] = match buffer.side() {
                BufferSide::Request => &[TxSide::Request],
                BufferSide::Response => &[TxSide::Response],
                BufferSide::Both => &[TxSide::Request, TxSide::Response],
                BufferSide::None => &[],
            };
            sides.iter().map(move |&side| (buffer, side))
        })
        .collect();
    g.bench_function("buffers", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for tx in &txs {
                for &(buffer, side) in &http_buffers {
                    if let Some(instances) = buffers::compute(black_box(tx), side, buffer) {
                        n += instances.len();
                    }
                }
            }
            n
        })
    });
    let quiet = rule_set(false);
    let checked = rule_set(true);
    assert_eq!(
        inspect(&quiet, &txs),
        (0, 0),
        "no rule passes the prefilter"
    );
    assert_eq!(
        inspect(&checked, &txs),
        (0, 90 * txs.len() as u64),
        "the 90 rules with a common fast pattern are checked on every request, and refused"
    );
    for (name, rules) in [("prefilter", &quiet), ("verify", &checked)] {
        g.bench_with_input(BenchmarkId::new(name, "120-rules"), rules, |b, rules| {
            b.iter(|| inspect(rules, black_box(&txs)))
        });
    }
    let alerting = RuleSet::from_text(
        "alert http any any -> any any (msg:\"every request\"; flow:established,to_server; http.method; content:\"T\"; sid:1;)\n",
        &LoadOptions::default(),
        DetectConfig::default(),
    )
    .expect("rule loads");
    let alerts: Vec<(Alert, &HttpTransaction)> = txs
        .iter()
        .map(|tx| {
            let (mut flow, mut worker, mut out) =
                (FlowDetectState::new(), WorkerDetectState::new(), Vec::new());
            alerting.inspect_http(&meta(), tx, &mut flow, &mut worker, Timestamp(0), &mut out);
            (out.pop().expect("every request alerts"), tx)
        })
        .collect();
    let facts = facts();
    g.bench_function("eve/http", |b| {
        b.iter(|| {
            txs.iter()
                .map(|tx| http_line(&facts, black_box(tx), None, None, None).len())
                .sum::<usize>()
        })
    });
    g.bench_function("eve/alert", |b| {
        b.iter(|| {
            alerts
                .iter()
                .map(|(alert, tx)| {
                    alert_line(
                        &facts,
                        black_box(alert),
                        tx.completed_at,
                        Some(tx),
                        None,
                        None,
                        None,
                        None,
                    )
                    .len()
                })
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
