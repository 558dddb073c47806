//! The pcap/pcapng reader: the input is a capture file, read through libpcap
//! (`CaptureFile`, which opens a path, so the input is written to a file first), without and
//! with a BPF filter; every packet is decoded.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use exhound::capture::{looks_like_capture, CaptureFile};
use exhound::decode::decode_frame;
use libfuzzer_sys::fuzz_target;

/// Packets read per file at most (a small input can announce many empty records).
const MAX_PACKETS: u64 = 100_000;

fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("exhound-fuzz-{}.pcap", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = path();
    std::fs::write(path, data).expect("write the input to a temporary file");
    let _ = looks_like_capture(path);
    for bpf in [None, Some("tcp or ip6")] {
        let Ok(mut file) = CaptureFile::open(path, bpf) else {
            return;
        };
        let link_type = file.link_type();
        let mut last = 0;
        while let Ok(Some(packet)) = file.next_packet() {
            assert_eq!(packet.link_type, link_type);
            assert!(packet.number > last, "packet numbers go up");
            last = packet.number;
            let _ = decode_frame(packet.link_type, packet.data);
            if last >= MAX_PACKETS {
                break;
            }
        }
        assert!(file.packets_read() >= last);
    }
});
