//! Helpers shared by exhound's fuzz targets (`fuzz_targets/`): the input formats
//! ([`format`], shared with the seed generator `examples/fuzz_seeds.rs`), the settings each
//! target reads from its first bytes, a builder of Ethernet/IP/TCP frames and an event sink
//! that writes EVE records.

// Settings are built by changing a default, which keeps building when a field is added.
#![allow(clippy::field_reassign_with_default)]

pub mod format;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, OnceLock};

use exhound::capture::RawPacket;
use exhound::decode::defrag::DefragConfig;
use exhound::decode::linktype;
use exhound::detect::rule::{LoadOptions, LoadedRules};
use exhound::detect::{Alert, DetectConfig, RuleSet};
use exhound::http::{HttpConfig, HttpTransaction, PacketRef};
use exhound::output::{eve, FlowFacts};
use exhound::pipeline::{AlertContext, EventSink, PipelineConfig};
use exhound::stream::{ReassemblyMemory, StreamConfig, StreamPolicy};
use exhound::time::Timestamp;
use exhound::tls::TlsInfo;

/// Packet time of the first record of an input (2021-03-03T10:00:00Z).
pub const START: Timestamp = Timestamp(1_614_765_600 * Timestamp::SECOND);

/// The overlap policy a number stands for.
pub fn policy(n: u8) -> StreamPolicy {
    match n % 5 {
        0 => StreamPolicy::Windows,
        1 => StreamPolicy::First,
        2 => StreamPolicy::Last,
        3 => StreamPolicy::Bsd,
        _ => StreamPolicy::Linux,
    }
}

/// `decode`: the defragmenter's limits from the config byte (bits 0-1 memcap, 2-3 fragments
/// per datagram, 4-5 timeout; 0 is the default each time).
pub fn defrag_config(config: u8) -> DefragConfig {
    let mut d = DefragConfig::default();
    d.memcap = [d.memcap, 2048, 512, 0][usize::from(config & 3)];
    d.max_fragments = [d.max_fragments, 4, 1, 0][usize::from(config >> 2 & 3)];
    d.timeout_secs = [d.timeout_secs, 1, 0, u64::MAX][usize::from(config >> 4 & 3)];
    d
}

/// `reassembly`: the stream settings and memory cap from the two config bytes. First byte:
/// bits 0-2 the policy, bit 3 pick-up off, bit 4 small per-direction limits, bit 5 a small
/// global cap (bit 6 is the target's: payloads made from their sequence numbers). Second byte, the depth: 0 the default (1 MiB), 255 none, else ×16 bytes.
pub fn stream_config(config: u8, depth: u8) -> (StreamConfig, ReassemblyMemory) {
    let mut stream = StreamConfig::default();
    stream.policy = policy(config & 7);
    match depth {
        0 => {}
        255 => stream.depth = 0,
        n => stream.depth = u64::from(n) * 16,
    }
    stream.midstream = config & 0x08 == 0;
    if config & 0x10 != 0 {
        stream.max_segments = 4;
        stream.max_held_bytes = 256;
    }
    let mut memory = ReassemblyMemory::default();
    if config & 0x20 != 0 {
        memory.cap = 512;
    }
    (stream, memory)
}

/// `http`: HTTP settings from the config byte: bit 0 LZMA decoding, bit 1 small body limits,
/// bit 2 small head limits, bit 3 small pipelining limits, bits 4-5 the decoding layers
/// (2, 0, 1, 3). (Bits 6-7 are the target's: how small it cuts the data the second time.)
pub fn http_config(config: u8) -> HttpConfig {
    let mut c = HttpConfig::default();
    c.decompress_lzma = config & 1 != 0;
    if config & 2 != 0 {
        c.request_body_limit = 512;
        c.response_body_limit = 300;
    }
    if config & 4 != 0 {
        c.max_header_bytes = 512;
        c.max_headers = 8;
    }
    if config & 8 != 0 {
        c.max_pending = 2;
        c.max_pending_bytes = 1024;
    }
    c.decompress_layers = [2, 0, 1, 3][usize::from(config >> 4 & 3)];
    c
}

/// `pipeline` and `sensor`: every stage's settings from the config byte: bit 0 pick-up off,
/// bit 1 one-sided connections, bits 2-4 the overlap policy, bit 5 small limits everywhere,
/// bit 6 LZMA decoding. (Bit 7 is the `pipeline` target's: run twice and compare.)
pub fn pipeline_config(config: u8) -> PipelineConfig {
    let mut c = PipelineConfig::default();
    c.stream.midstream = config & 1 == 0;
    c.async_oneside = config & 2 != 0;
    c.stream.policy = policy(config >> 2 & 7);
    c.http.decompress_lzma = config & 0x40 != 0;
    if config & 0x20 != 0 {
        c.stream.depth = 2048;
        c.stream.max_segments = 8;
        c.stream.max_held_bytes = 1024;
        c.http = http_config(0x0e | (config >> 6 & 1));
        c.memcap = 256 << 10;
        c.flow.idle_timeout_secs = 5;
        c.flow.closed_timeout_secs = 1;
        c.defrag = defrag_config(0x15);
    }
    c
}

/// The initiator's address of built frames.
pub const CLIENT_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
/// The responder's address of built frames.
pub const SERVER_V4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 20);
/// The initiator's IPv6 address of built frames.
pub const CLIENT_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);
/// The responder's IPv6 address of built frames.
pub const SERVER_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x20);
/// The initiator's port.
pub const CLIENT_PORT: u16 = 49152;
/// The responder's port.
pub const SERVER_PORT: u16 = 443;

/// A TCP header (20 bytes, no options) followed by `payload`, with its checksum for a packet
/// from `src` to `dst` (wrong on purpose with `bad_checksum`).
#[allow(clippy::too_many_arguments)]
pub fn tcp_bytes(
    (src, sport): (IpAddr, u16),
    (dst, dport): (IpAddr, u16),
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
    bad_checksum: bool,
) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + payload.len());
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.push(0x50);
    t.push(flags);
    t.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(payload);
    let mut sum = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut p = s.octets().to_vec();
            p.extend_from_slice(&d.octets());
            p.extend_from_slice(&[0, 6]);
            p.extend_from_slice(&(t.len() as u16).to_be_bytes());
            ones_sum(0, &p)
        }
        (s, d) => {
            let mut p = v6(s).octets().to_vec();
            p.extend_from_slice(&v6(d).octets());
            p.extend_from_slice(&(t.len() as u32).to_be_bytes());
            p.extend_from_slice(&[0, 0, 0, 6]);
            ones_sum(0, &p)
        }
    };
    sum = ones_sum(sum, &t);
    let checksum = !fold(sum) ^ u16::from(bad_checksum);
    t[16..18].copy_from_slice(&checksum.to_be_bytes());
    t
}

/// The one's-complement sum of `bytes` (as 16-bit big-endian words) added to `sum`, unfolded.
fn ones_sum(mut sum: u64, bytes: &[u8]) -> u64 {
    for w in bytes.chunks(2) {
        sum += u64::from(u16::from_be_bytes([w[0], w.get(1).copied().unwrap_or(0)]));
    }
    sum
}

fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// Ethernet frames (link type 1) carrying `upper` (protocol 6) from `src` to `dst`: one
/// frame, or with `fragment` two IP fragments, the last first. IPv4 header checksums are
/// right unless `bad_checksum`.
pub fn ip_frames(
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    fragment: bool,
    bad_checksum: bool,
    upper: &[u8],
) -> Vec<Vec<u8>> {
    let mut pieces: Vec<(usize, &[u8], bool)> = Vec::new();
    let first = (upper.len() / 2 / 8 * 8).max(8);
    if fragment && upper.len() > first {
        let (a, b) = upper.split_at(first);
        pieces.push((first, b, false));
        pieces.push((0, a, true));
    } else {
        pieces.push((0, upper, false));
    }
    let whole = pieces.len() == 1;
    pieces
        .into_iter()
        .map(|(offset, bytes, more)| {
            let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1];
            match (src, dst) {
                (IpAddr::V4(s), IpAddr::V4(d)) => {
                    f.extend_from_slice(&0x0800u16.to_be_bytes());
                    let total = (20 + bytes.len()).min(usize::from(u16::MAX)) as u16;
                    let frag = if whole {
                        0x4000 // DF
                    } else {
                        (offset / 8) as u16 | if more { 0x2000 } else { 0 }
                    };
                    let mut h = vec![0x45, 0];
                    h.extend_from_slice(&total.to_be_bytes());
                    h.extend_from_slice(&(id as u16).to_be_bytes());
                    h.extend_from_slice(&frag.to_be_bytes());
                    h.extend_from_slice(&[64, 6, 0, 0]);
                    h.extend_from_slice(&s.octets());
                    h.extend_from_slice(&d.octets());
                    let checksum = !fold(ones_sum(0, &h)) ^ u16::from(bad_checksum);
                    h[10..12].copy_from_slice(&checksum.to_be_bytes());
                    f.extend_from_slice(&h);
                }
                (s, d) => {
                    let (s, d) = (v6(s), v6(d));
                    f.extend_from_slice(&0x86ddu16.to_be_bytes());
                    let ext = if whole { 0 } else { 8 };
                    let len = (ext + bytes.len()).min(usize::from(u16::MAX)) as u16;
                    f.extend_from_slice(&[0x60, 0, 0, 0]);
                    f.extend_from_slice(&len.to_be_bytes());
                    f.push(if whole { 6 } else { 44 });
                    f.push(64);
                    f.extend_from_slice(&s.octets());
                    f.extend_from_slice(&d.octets());
                    if !whole {
                        let off = (offset as u16) & !7 | u16::from(more);
                        f.extend_from_slice(&[6, 0]);
                        f.extend_from_slice(&off.to_be_bytes());
                        f.extend_from_slice(&id.to_be_bytes());
                    }
                }
            }
            f.extend_from_slice(bytes);
            f
        })
        .collect()
}

fn v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V6(a) => a,
        IpAddr::V4(a) => a.to_ipv6_mapped(),
    }
}

/// The redactor the sinks write with, so that fuzzing runs the masking too.
pub const REDACTOR: exhound::output::redact::Redactor =
    exhound::output::redact::Redactor::new(Some([1; 32]));

/// A sink that writes every EVE record it is given (and checks each is one JSON line).
#[derive(Default)]
pub struct EveSink {
    /// The records, in order.
    pub lines: Vec<Vec<u8>>,
}

impl EventSink for EveSink {
    fn transaction(&mut self, flow: &FlowFacts, tx: &HttpTransaction, tls: Option<&TlsInfo>) {
        let line = eve::http_line(flow, tx, tls, Some("fuzz.pcap"), Some(&REDACTOR));
        check_line(&line);
        self.lines.push(line);
    }

    fn alert(&mut self, flow: &FlowFacts, alert: &Alert, context: AlertContext<'_>) {
        let payload = match context.tx {
            Some(tx) => eve::http_payload(tx, alert.direction),
            None => context.payload.to_vec(),
        };
        let line = eve::alert_line(
            flow,
            alert,
            context.at,
            context.tx,
            context.tls,
            Some(&payload),
            None,
            Some(&REDACTOR),
        );
        check_line(&line);
        self.lines.push(line);
    }

    fn tls(&mut self, flow: &FlowFacts, tls: &TlsInfo, at: PacketRef) {
        let line = eve::tls_line(flow, tls, at, Some("fuzz.pcap"));
        check_line(&line);
        self.lines.push(line);
    }
}

/// Asserts that `line` is one JSON object on one line, ending with a newline.
pub fn check_line(line: &[u8]) {
    let Some((b'\n', body)) = line.split_last() else {
        panic!("EVE record without its newline");
    };
    assert!(!body.contains(&b'\n'), "EVE record spans lines");
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(_)) => {}
        other => panic!("EVE record is not a JSON object: {other:?}"),
    }
}

/// Facts of a made-up flow, for writing EVE records of transactions parsed on their own.
pub fn facts() -> FlowFacts {
    FlowFacts {
        flow_id: 1,
        client_ip: IpAddr::V4(CLIENT_V4),
        client_port: CLIENT_PORT,
        server_ip: IpAddr::V6(SERVER_V6),
        server_port: SERVER_PORT,
        vlan: vec![100, 4095],
        start: START,
        first_packet: 1,
        pkts_toserver: 1,
        pkts_toclient: 1,
        bytes_toserver: 1,
        bytes_toclient: 1,
    }
}

/// Rules on streams and packets, beside the bundled HTTP ones: relative content, dsize,
/// flowbits, xbits and a threshold.
const STREAM_RULES: &str = r#"
alert tcp any any -> any any (msg:"fuzz: request head in the stream"; flow:established,to_server; content:"POST"; depth:4; content:"|0d 0a 0d 0a|"; distance:0; flowbits:set,fuzz.post; sid:9000001; rev:1;)
alert tcp any any -> any any (msg:"fuzz: response after a post"; flow:to_client; flowbits:isset,fuzz.post; content:"HTTP/1."; depth:7; sid:9000002; rev:1;)
alert tcp any any -> any any (msg:"fuzz: big packet"; dsize:>1000; xbits:set,fuzz.big,track ip_src; sid:9000003; rev:1;)
alert tcp any any -> any any (msg:"fuzz: twice from one source"; content:"GET "; xbits:isset,fuzz.big,track ip_src; threshold:type limit,track by_src,count 1,seconds 60; sid:9000004; rev:1;)
"#;

/// The bundled signatures plus a few stream rules (so that payload inspection runs too),
/// built once.
pub fn rules() -> Arc<RuleSet> {
    static RULES: OnceLock<Arc<RuleSet>> = OnceLock::new();
    RULES
        .get_or_init(|| {
            let opts = LoadOptions::default();
            let mut loaded = LoadedRules::default();
            for (name, text) in exhound::signatures::rule_files() {
                loaded
                    .add_text(name, text, &opts)
                    .expect("bundled rules load");
            }
            loaded
                .add_text("stream", STREAM_RULES, &opts)
                .expect("stream rules load");
            Arc::new(RuleSet::build(loaded, DetectConfig::default()).expect("rules build"))
        })
        .clone()
}

/// One packet of a `pipeline` or `sensor` input.
pub struct Frame {
    /// Capture time.
    pub ts: Timestamp,
    /// Link type.
    pub link_type: i32,
    /// Bytes.
    pub data: Vec<u8>,
}

impl Frame {
    /// The packet as a capture would hand it out, numbered `number`.
    pub fn raw(&self, number: u64) -> RawPacket<'_> {
        RawPacket {
            ts: self.ts,
            link_type: self.link_type,
            data: &self.data,
            wire_len: self.data.len() as u32,
            number,
        }
    }
}

/// A `pipeline` or `sensor` input: the config byte and its packets (frame records as they
/// are, segment records built into Ethernet/IPv4 or IPv6/TCP frames between
/// [`CLIENT_V4`]:[`CLIENT_PORT`] and [`SERVER_V4`]:[`SERVER_PORT`], or their IPv6 twins).
pub fn packets(data: &[u8]) -> (u8, Vec<Frame>) {
    use format::*;
    let mut r = Reader::new(data);
    let config = r.u8();
    let isn = [r.u32(), r.u32()];
    let mut now = START;
    let mut ip_id = 0u32;
    let mut frames = Vec::new();
    while !r.is_empty() {
        let tag = r.u8();
        if tag & SEGMENT == 0 {
            let link_type = LINK_TYPES[usize::from(tag) % LINK_TYPES.len()];
            now = Timestamp(now.0.saturating_add(dt_nanos(r.u8())));
            let len = r.u16();
            let data = r.bytes(usize::from(len)).to_vec();
            frames.push(Frame {
                ts: now,
                link_type,
                data,
            });
            continue;
        }
        let rec = SegmentRecord::read(tag, &mut r);
        now = Timestamp(now.0.saturating_add(dt_nanos(rec.dt)));
        let (mut src, mut dst): ((IpAddr, u16), (IpAddr, u16)) = if rec.tag & SEG_IPV6 != 0 {
            (
                (CLIENT_V6.into(), CLIENT_PORT),
                (SERVER_V6.into(), SERVER_PORT),
            )
        } else {
            (
                (CLIENT_V4.into(), CLIENT_PORT),
                (SERVER_V4.into(), SERVER_PORT),
            )
        };
        let (me, peer) = if rec.responder() {
            std::mem::swap(&mut src, &mut dst);
            (1, 0)
        } else {
            (0, 1)
        };
        let seq = isn[me].wrapping_add(rec.seq);
        let ack = isn[peer].wrapping_add(rec.ack);
        let bad = rec.tag & SEG_BAD_CHECKSUM != 0;
        let upper = tcp_bytes(src, dst, seq, ack, rec.flags, rec.payload, bad);
        ip_id = ip_id.wrapping_add(1);
        let fragment = rec.tag & SEG_FRAGMENTS != 0;
        for data in ip_frames(src.0, dst.0, ip_id, fragment, bad, &upper) {
            frames.push(Frame {
                ts: now,
                link_type: linktype::ETHERNET,
                data,
            });
        }
    }
    (config, frames)
}
