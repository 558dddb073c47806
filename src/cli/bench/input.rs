//! The captures of a benchmark, read into memory once so that disk speed does not count,
//! and the bare read loop (`--baseline-read`) that is the speed limit to compare with.

use std::path::PathBuf;
use std::time::Instant;

use exhound::capture::{expand_inputs, CaptureFile, RawPacket};
use exhound::time::Timestamp;

/// One packet of a loaded file: its record header, and where its bytes are.
struct Packet {
    ts: Timestamp,
    wire_len: u32,
    number: u64,
    start: usize,
    len: usize,
}

/// One capture file, in memory.
pub struct LoadedFile {
    /// The path as read.
    pub path: PathBuf,
    /// The name records give (`pcap_filename`).
    pub name: String,
    link_type: i32,
    packets: Vec<Packet>,
    bytes: Vec<u8>,
    /// Records in the file (the next file's packets are numbered after them).
    pub records: u64,
}

impl LoadedFile {
    /// The packets, in file order.
    pub fn packets(&self) -> impl Iterator<Item = RawPacket<'_>> {
        self.packets.iter().map(|p| RawPacket {
            ts: p.ts,
            link_type: self.link_type,
            data: &self.bytes[p.start..p.start + p.len],
            wire_len: p.wire_len,
            number: p.number,
        })
    }
}

/// Every capture of the benchmark, in command-line order (one continuous capture, as in a
/// replay).
pub struct Input {
    /// The files.
    pub files: Vec<LoadedFile>,
    /// Packets, all files.
    pub packets: u64,
    /// Captured bytes (what Gbit/s figures count), all files.
    pub bytes: u64,
}

impl Input {
    /// Reads the capture files `paths` name (directories expand as in `replay`). Standard
    /// input cannot be read again for the baseline, so it is refused.
    pub fn load(paths: &[PathBuf]) -> anyhow::Result<Input> {
        if paths.iter().any(|p| p.as_os_str() == "-") {
            anyhow::bail!("bench reads its captures more than once: name files, not `-`");
        }
        // The error names the path (and its cause) already.
        let files = expand_inputs(paths).map_err(|e| anyhow::anyhow!("loading captures: {e}"))?;
        if files.is_empty() {
            anyhow::bail!("no capture file found under the paths given");
        }
        let mut input = Input {
            files: Vec::with_capacity(files.len()),
            packets: 0,
            bytes: 0,
        };
        for path in files {
            let file = load_file(path)?;
            input.packets += file.packets.len() as u64;
            input.bytes += file.bytes.len() as u64;
            input.files.push(file);
        }
        Ok(input)
    }

    /// One bare libpcap read loop over the same files (from the page cache, since they were
    /// just read): (seconds, packets, captured bytes).
    pub fn read_loop(&self) -> anyhow::Result<(f64, u64, u64)> {
        let started = Instant::now();
        let (mut packets, mut bytes) = (0u64, 0u64);
        for f in &self.files {
            let mut file = CaptureFile::open_with_libpcap(&f.path, None)?;
            while let Some(p) = file.next_packet()? {
                packets += 1;
                bytes += p.data.len() as u64;
            }
        }
        Ok((started.elapsed().as_secs_f64(), packets, bytes))
    }
}

fn load_file(path: PathBuf) -> anyhow::Result<LoadedFile> {
    let mut file = CaptureFile::open(&path, None)?;
    let mut loaded = LoadedFile {
        name: file.name().to_string(),
        link_type: file.link_type(),
        path,
        packets: Vec::new(),
        bytes: Vec::new(),
        records: 0,
    };
    // A file that breaks part-way is an error here: a benchmark of half a capture would
    // mislead.
    while let Some(p) = file.next_packet()? {
        loaded.packets.push(Packet {
            ts: p.ts,
            wire_len: p.wire_len,
            number: p.number,
            start: loaded.bytes.len(),
            len: p.data.len(),
        });
        loaded.bytes.extend_from_slice(p.data);
    }
    loaded.records = file.packets_read();
    loaded.packets.shrink_to_fit();
    loaded.bytes.shrink_to_fit();
    Ok(loaded)
}
