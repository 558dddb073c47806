//! Capture-file writer: classic pcap (µs or ns timestamps, either byte order) and pcapng
//! (section header, one interface with `if_tsresol`, enhanced packet blocks).
//!
//! Written by hand from the file-format specs so the tests can build any capture they need,
//! including broken ones ([`truncate_last_record`]).

/// Link-layer header types (LINKTYPE_* values as stored in capture files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    Null,
    /// Ethernet II (with or without 802.1Q/802.1ad tags).
    Ethernet,
    /// Raw IPv4/IPv6, no link header.
    Raw,
    /// Linux "cooked" capture v1 (16-byte header).
    LinuxSll,
    /// Linux "cooked" capture v2 (20-byte header).
    LinuxSll2,
}

impl LinkType {
    /// The LINKTYPE_ number.
    pub fn code(self) -> u32 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::Raw => 101,
            LinkType::LinuxSll => 113,
            LinkType::LinuxSll2 => 276,
        }
    }
}

/// Which file format and timestamp resolution to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap file.
    Pcap {
        /// Nanosecond timestamps (magic 0xa1b23c4d) instead of microseconds (0xa1b2c3d4).
        nanos: bool,
        /// Big-endian headers instead of little-endian.
        big_endian: bool,
    },
    /// pcapng, little-endian, one interface.
    PcapNg {
        /// `if_tsresol` = 9 (ns) instead of the default 6 (µs).
        nanos: bool,
    },
}

impl Format {
    /// Classic pcap, µs, little-endian: what tcpdump writes on x86.
    pub const PCAP: Format = Format::Pcap {
        nanos: false,
        big_endian: false,
    };
}

/// One captured frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Capture time in nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// Link-layer frame bytes.
    pub data: Vec<u8>,
}

/// 2021-03-03T10:00:00Z, the start of every synthetic capture.
pub const BASE_SECS: u64 = 1_614_765_600;

/// Gives frames timestamps: frame `i` at `start_ns + i × step_ns`.
pub fn timed(frames: Vec<Vec<u8>>, start_ns: u64, step_ns: u64) -> Vec<Frame> {
    frames
        .into_iter()
        .enumerate()
        .map(|(i, data)| Frame {
            ts_ns: start_ns + i as u64 * step_ns,
            data,
        })
        .collect()
}

/// Writes a whole capture file.
pub fn write(format: Format, link: LinkType, frames: &[Frame]) -> Vec<u8> {
    match format {
        Format::Pcap { nanos, big_endian } => write_pcap(nanos, big_endian, link, frames),
        Format::PcapNg { nanos } => write_pcapng(nanos, link, frames),
    }
}

fn put_u16(out: &mut Vec<u8>, v: u16, be: bool) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

fn put_u32(out: &mut Vec<u8>, v: u32, be: bool) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

const SNAPLEN: u32 = 262_144;

fn write_pcap(nanos: bool, be: bool, link: LinkType, frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    put_u32(&mut out, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }, be);
    put_u16(&mut out, 2, be); // version major
    put_u16(&mut out, 4, be); // version minor
    put_u32(&mut out, 0, be); // thiszone
    put_u32(&mut out, 0, be); // sigfigs
    put_u32(&mut out, SNAPLEN, be);
    put_u32(&mut out, link.code(), be);
    for f in frames {
        let secs = f.ts_ns / 1_000_000_000;
        let frac = f.ts_ns % 1_000_000_000;
        put_u32(&mut out, secs as u32, be);
        put_u32(
            &mut out,
            if nanos {
                frac as u32
            } else {
                (frac / 1000) as u32
            },
            be,
        );
        put_u32(&mut out, f.data.len() as u32, be);
        put_u32(&mut out, f.data.len() as u32, be);
        out.extend_from_slice(&f.data);
    }
    out
}

fn pad4(out: &mut Vec<u8>) {
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

/// Appends a pcapng block: type, total length, body (padded), total length.
fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    let mut b = body.to_vec();
    pad4(&mut b);
    let total = (12 + b.len()) as u32;
    put_u32(out, kind, false);
    put_u32(out, total, false);
    out.extend_from_slice(&b);
    put_u32(out, total, false);
}

fn write_pcapng(nanos: bool, link: LinkType, frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    // Section Header Block.
    let mut shb = Vec::new();
    put_u32(&mut shb, 0x1a2b_3c4d, false); // byte-order magic
    put_u16(&mut shb, 1, false);
    put_u16(&mut shb, 0, false);
    shb.extend_from_slice(&u64::MAX.to_le_bytes()); // section length unknown
    block(&mut out, 0x0a0d_0d0a, &shb);
    // Interface Description Block.
    let mut idb = Vec::new();
    put_u16(&mut idb, link.code() as u16, false);
    put_u16(&mut idb, 0, false);
    put_u32(&mut idb, SNAPLEN, false);
    // if_tsresol (code 9, length 1): 10^-9 or 10^-6.
    put_u16(&mut idb, 9, false);
    put_u16(&mut idb, 1, false);
    idb.push(if nanos { 9 } else { 6 });
    pad4(&mut idb);
    // opt_endofopt
    put_u32(&mut idb, 0, false);
    block(&mut out, 1, &idb);
    // Enhanced Packet Blocks.
    for f in frames {
        let units = if nanos { f.ts_ns } else { f.ts_ns / 1000 };
        let mut epb = Vec::new();
        put_u32(&mut epb, 0, false); // interface id
        put_u32(&mut epb, (units >> 32) as u32, false);
        put_u32(&mut epb, units as u32, false);
        put_u32(&mut epb, f.data.len() as u32, false);
        put_u32(&mut epb, f.data.len() as u32, false);
        epb.extend_from_slice(&f.data);
        block(&mut out, 6, &epb);
    }
    out
}

/// Cuts a classic pcap file in the middle of its last packet record (header intact, half the
/// frame bytes missing), as a capture interrupted while writing looks. Returns the file and
/// the number (from 1) of the broken record.
pub fn truncate_last_record(pcap: &[u8], frames: &[Frame]) -> (Vec<u8>, u64) {
    let last = frames.last().expect("a frame to cut");
    let cut = pcap.len() - last.data.len() / 2;
    (pcap[..cut].to_vec(), frames.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcap_header_and_record() {
        let frames = vec![Frame {
            ts_ns: 1_500_000_001,
            data: vec![1, 2, 3],
        }];
        let f = write(
            Format::Pcap {
                nanos: true,
                big_endian: true,
            },
            LinkType::Raw,
            &frames,
        );
        assert_eq!(&f[..4], &[0xa1, 0xb2, 0x3c, 0x4d]);
        assert_eq!(&f[20..24], &101u32.to_be_bytes());
        assert_eq!(&f[24..28], &1u32.to_be_bytes());
        assert_eq!(&f[28..32], &500_000_001u32.to_be_bytes());
        assert_eq!(&f[40..], &[1, 2, 3]);
        let f = write(Format::PCAP, LinkType::Ethernet, &frames);
        assert_eq!(&f[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(&f[28..32], &500_000u32.to_le_bytes());
    }

    #[test]
    fn pcapng_blocks_are_aligned() {
        let frames = vec![Frame {
            ts_ns: 7,
            data: vec![9; 5],
        }];
        let f = write(Format::PcapNg { nanos: true }, LinkType::Ethernet, &frames);
        assert_eq!(f.len() % 4, 0);
        assert_eq!(&f[..4], &[0x0a, 0x0d, 0x0d, 0x0a]);
        // SHB 12+16, IDB 12+20, EPB 12+20+8 (5 bytes padded).
        assert_eq!(f.len(), 28 + 32 + 40);
    }
}
