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

use exhound::pipeline::Worker;
use exhound_fuzz::{packets, pipeline_config, rules, EveSink, Frame};
use libfuzzer_sys::fuzz_target;

/// Runs the packets through a new worker; returns the EVE records.
fn run(config: u8, frames: &[Frame]) -> Vec<Vec<u8>> {
    let mut worker = Worker::new(pipeline_config(config), Some(rules()));
    let mut sink = EveSink::default();
    for (i, frame) in frames.iter().enumerate() {
        let pcap_cnt = i as u64 + 1;
        worker.process(&frame.raw(pcap_cnt), pcap_cnt, &mut sink);
    }
    worker.finish(&mut sink);
    assert_eq!(worker.stats().decode.packets, frames.len() as u64);
    sink.lines
}

fuzz_target!(|data: &[u8]| {
    let (config, frames) = packets(data);
    let first = run(config, &frames);
    if config & 0x80 != 0 {
        let second = run(config, &frames);
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
