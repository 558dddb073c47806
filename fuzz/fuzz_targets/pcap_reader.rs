//! The pcap/pcapng reader: the input is a capture file (`CaptureFile` opens a path, so the
//! input is written to a file first: an unlinked temporary file, opened through
//! /proc/self/fd), read without and with a BPF filter; every packet is decoded. Without a
//! filter, a classic pcap file is read by exhound's own block reader: it must give what
//! libpcap gives (the same packets, and an error at the same packet).
#![no_main]

use std::fs::File;
use std::io::{Seek, Write};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use exhound::capture::{looks_like_capture, CaptureError, CaptureFile};
use exhound::decode::decode_frame;
use exhound::time::Timestamp;
use libfuzzer_sys::fuzz_target;

/// Packets read per file at most (a small input can announce many empty records).
const MAX_PACKETS: u64 = 100_000;

/// The file inputs are written to: created and unlinked at once (nothing is left behind
/// when the fuzzer stops), kept open, and opened again by libpcap through /proc/self/fd.
fn input_file() -> &'static Mutex<(File, PathBuf)> {
    static FILE: OnceLock<Mutex<(File, PathBuf)>> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("exhound-fuzz-{}.pcap", std::process::id()));
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .expect("create the input file");
        let _ = std::fs::remove_file(&path);
        let fd_path = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
        Mutex::new((file, fd_path))
    })
}

fuzz_target!(|data: &[u8]| {
    let mut guard = input_file().lock().unwrap_or_else(|e| e.into_inner());
    let (file, path) = &mut *guard;
    file.set_len(0).expect("truncate the input file");
    file.rewind().expect("rewind the input file");
    file.write_all(data).expect("write the input file");
    let path = &*path;
    let _ = looks_like_capture(path);
    if let (Ok(ours), Ok(libpcap)) = (
        CaptureFile::open(path, None),
        CaptureFile::open_with_libpcap(path, None),
    ) {
        assert_eq!(
            read_all(ours),
            read_all(libpcap),
            "the two readers disagree"
        );
    }
    for bpf in [None, Some("tcp or ip6")] {
        let Ok(mut capture) = CaptureFile::open(path, bpf) else {
            return;
        };
        let link_type = capture.link_type();
        let mut last = 0;
        while let Ok(Some(packet)) = capture.next_packet() {
            assert_eq!(packet.link_type, link_type);
            assert!(packet.number > last, "packet numbers go up");
            last = packet.number;
            let _ = decode_frame(packet.link_type, packet.data);
            if last >= MAX_PACKETS {
                break;
            }
        }
        assert!(capture.packets_read() >= last);
    }
});

/// A packet as compared: time, bytes, length on the wire, number.
type Record = (Timestamp, Vec<u8>, u32, u64);

/// The link type and the packets `capture` gives (at most [`MAX_PACKETS`]), and the number of
/// the packet whose error ended it.
fn read_all(mut capture: CaptureFile) -> (i32, Vec<Record>, Option<u64>) {
    let mut packets = Vec::new();
    loop {
        match capture.next_packet() {
            Ok(Some(p)) => {
                packets.push((p.ts, p.data.to_vec(), p.wire_len, p.number));
                if p.number >= MAX_PACKETS {
                    return (capture.link_type(), packets, None);
                }
            }
            Ok(None) => return (capture.link_type(), packets, None),
            Err(CaptureError::Read { packet, .. }) => {
                return (capture.link_type(), packets, Some(packet))
            }
            Err(_) => return (capture.link_type(), packets, Some(0)),
        }
    }
}
