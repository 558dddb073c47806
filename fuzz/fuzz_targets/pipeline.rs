//! The whole pipeline: one `Worker` with the bundled signatures (and a few stream rules, so
//! that payload inspection runs too), settings from the config byte, fed frame records and
//! segment records (see `format`; a segment is built into Ethernet/IPv4 or IPv6/TCP frames
//! between a fixed client and server, fragmented on request), then finished. Every
//! transaction and alert is written as an EVE record.
//!
//! With config bit 7 the input is run a second time through a new worker, which must write
//! the same records: a replay gives the same output every time (and each worker's hash
//! maps have their own random keys, so an output that followed a map's order would differ).
#![no_main]

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use exhound::capture::RawPacket;
use exhound::detect::rule::{LoadOptions, LoadedRules};
use exhound::detect::{DetectConfig, RuleSet};
use exhound::pipeline::Worker;
use exhound::time::Timestamp;
use exhound_fuzz::format::{
    dt_nanos, Reader, SegmentRecord, LINK_TYPES, SEGMENT, SEG_BAD_CHECKSUM, SEG_FRAGMENTS, SEG_IPV6,
};
use exhound_fuzz::{
    ip_frames, pipeline_config, tcp_bytes, EveSink, CLIENT_PORT, CLIENT_V4, CLIENT_V6, SERVER_PORT,
    SERVER_V4, SERVER_V6, START,
};
use libfuzzer_sys::fuzz_target;

/// Rules on streams and packets, beside the bundled HTTP ones: relative content, dsize,
/// flowbits, xbits and a threshold.
const STREAM_RULES: &str = r#"
alert tcp any any -> any any (msg:"fuzz: request head in the stream"; flow:established,to_server; content:"POST"; depth:4; content:"|0d 0a 0d 0a|"; distance:0; flowbits:set,fuzz.post; sid:9000001; rev:1;)
alert tcp any any -> any any (msg:"fuzz: response after a post"; flow:to_client; flowbits:isset,fuzz.post; content:"HTTP/1."; depth:7; sid:9000002; rev:1;)
alert tcp any any -> any any (msg:"fuzz: big packet"; dsize:>1000; xbits:set,fuzz.big,track ip_src; sid:9000003; rev:1;)
alert tcp any any -> any any (msg:"fuzz: twice from one source"; content:"GET "; xbits:isset,fuzz.big,track ip_src; threshold:type limit,track by_src,count 1,seconds 60; sid:9000004; rev:1;)
"#;

fn rules() -> Arc<RuleSet> {
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

/// Runs the input through a new worker; returns the EVE records.
fn run(data: &[u8]) -> Vec<Vec<u8>> {
    let mut r = Reader::new(data);
    let config = pipeline_config(r.u8());
    let isn = [r.u32(), r.u32()];
    let mut worker = Worker::new(config, Some(rules()));
    let mut sink = EveSink::default();
    let mut now = START;
    let mut pcap_cnt = 0u64;
    let mut ip_id = 0u32;
    let mut feed =
        |worker: &mut Worker, sink: &mut EveSink, now: Timestamp, link: i32, frame: &[u8]| {
            pcap_cnt += 1;
            let packet = RawPacket {
                ts: now,
                link_type: link,
                data: frame,
                wire_len: frame.len() as u32,
                number: pcap_cnt,
            };
            worker.process(&packet, pcap_cnt, sink);
        };
    while !r.is_empty() {
        let tag = r.u8();
        if tag & SEGMENT == 0 {
            let link = LINK_TYPES[usize::from(tag) % LINK_TYPES.len()];
            now = Timestamp(now.0.saturating_add(dt_nanos(r.u8())));
            let len = r.u16();
            let frame = r.bytes(usize::from(len));
            feed(&mut worker, &mut sink, now, link, frame);
            continue;
        }
        let rec = SegmentRecord::read(tag, &mut r);
        now = Timestamp(now.0.saturating_add(dt_nanos(rec.dt)));
        let (mut src, mut dst): (IpAddr, IpAddr) = if rec.tag & SEG_IPV6 != 0 {
            (CLIENT_V6.into(), SERVER_V6.into())
        } else {
            (CLIENT_V4.into(), SERVER_V4.into())
        };
        let (mut sport, mut dport) = (CLIENT_PORT, SERVER_PORT);
        let (me, peer) = if rec.responder() {
            std::mem::swap(&mut src, &mut dst);
            std::mem::swap(&mut sport, &mut dport);
            (1, 0)
        } else {
            (0, 1)
        };
        let seq = isn[me].wrapping_add(rec.seq);
        let ack = isn[peer].wrapping_add(rec.ack);
        let bad = rec.tag & SEG_BAD_CHECKSUM != 0;
        let upper = tcp_bytes(
            (src, sport),
            (dst, dport),
            seq,
            ack,
            rec.flags,
            rec.payload,
            bad,
        );
        ip_id = ip_id.wrapping_add(1);
        let fragment = rec.tag & SEG_FRAGMENTS != 0;
        for frame in ip_frames(src, dst, ip_id, fragment, bad, &upper) {
            feed(
                &mut worker,
                &mut sink,
                now,
                exhound::decode::linktype::ETHERNET,
                &frame,
            );
        }
    }
    worker.finish(&mut sink);
    let stats = worker.stats();
    assert_eq!(stats.decode.packets, pcap_cnt);
    sink.lines
}

fuzz_target!(|data: &[u8]| {
    let first = run(data);
    if data.first().is_some_and(|c| c & 0x80 != 0) {
        let second = run(data);
        if first != second {
            let i = first
                .iter()
                .zip(&second)
                .take_while(|(a, b)| a == b)
                .count();
            let show = |l: &[Vec<u8>]| l.get(i).map(|l| String::from_utf8_lossy(l).into_owned());
            panic!(
                "a second run wrote other records ({} then {}); first difference, record {i}:\n{:?}\n{:?}",
                first.len(),
                second.len(),
                show(&first),
                show(&second)
            );
        }
    }
});
