//! The pcap/pcapng reader: the input is a capture file, read through libpcap
//! (`CaptureFile`, which opens a path, so the input is written to a file first: an unlinked
//! temporary file, opened through /proc/self/fd), without and with a BPF filter; every
//! packet is decoded.
#![no_main]

use std::fs::File;
use std::io::{Seek, Write};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use exhound::capture::{looks_like_capture, CaptureFile};
use exhound::decode::decode_frame;
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
