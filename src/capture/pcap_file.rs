//! Classic pcap files (not pcapng) read in large blocks, record by record, without libpcap.
//!
//! libpcap reads a file with two `fread` calls per record (the 16-byte header, then the
//! bytes), each going through stdio's locking and copying out of its 4 KiB buffer: about 600
//! instructions a packet, 7% of a whole replay with ET Open's Exchange rules (callgrind, the
//! 47 MB bench capture: 52 M of 729 M). Here the file is read in blocks of 128 KiB and
//! every record is a slice of its block: a few dozen instructions a packet. The block is
//! small enough to stay in the core's cache from the `read` to the copy into a worker's
//! batch; with 1 MiB blocks the capture thread took 3–4% more time (perf, 469 MB capture).
//!
//! Only the common case takes this path — pcap 2.4 in either byte order, with microsecond or
//! nanosecond timestamps, and a link type whose number libpcap hands on unchanged (or maps
//! plainly, as `LINKTYPE_RAW` to `DLT_RAW`). Anything else (pcapng, standard input, other
//! versions or link types, FCS flags) is left to libpcap by [`PcapReader::open`] returning
//! `None`. Records are read as libpcap 1.10 reads them: the 32-bit times signed or not as
//! it takes them, a capture length above 256 KiB is an error, one above the file's snap
//! length is cut to it, and a record cut short by the end of the file is an error naming the
//! packet.

use std::fs::File;
use std::io::{ErrorKind, Read};

use super::RawPacket;
use crate::decode::linktype;
use crate::time::Timestamp;

/// Bytes read from the file at a time (and the least the buffer holds; a larger record
/// grows it).
const BLOCK: usize = 128 << 10;

/// Length of the file header.
const FILE_HEADER: usize = 24;

/// Length of a record header.
const RECORD_HEADER: usize = 16;

/// The largest capture length libpcap accepts for the link types read here
/// (`max_snaplen_for_dlt`), and the snap length it assumes when a file gives none or more.
const MAX_SNAPLEN: u32 = 262_144;

/// Why a record could not be read: the message libpcap would give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RecordError(pub(super) String);

/// A classic pcap file being read block by block.
#[derive(Debug)]
pub(super) struct PcapReader {
    file: File,
    /// Read from the file and not yet consumed: `buffer[start..end]`.
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    /// End of file reached (nothing more to read into the buffer).
    eof: bool,
    big_endian: bool,
    /// The file's byte order is not the host's.
    swapped: bool,
    nanoseconds: bool,
    snaplen: u32,
    link_type: i32,
}

impl PcapReader {
    /// Reads the header of `file` and returns a reader when this is a file the fast path
    /// takes; `Ok(None)` when libpcap should read it (the caller opens it again). I/O errors
    /// are returned as they are.
    pub(super) fn open(mut file: File) -> std::io::Result<Option<PcapReader>> {
        let mut header = [0u8; FILE_HEADER];
        if read_full(&mut file, &mut header)? < FILE_HEADER {
            return Ok(None);
        }
        let (big_endian, nanoseconds) = match header[..4] {
            [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
            [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
            [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
            [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
            _ => return Ok(None),
        };
        let u16_at = |i: usize| {
            let b = [header[i], header[i + 1]];
            if big_endian {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            }
        };
        let u32_at = |i: usize| u32_field(&header[i..i + 4], big_endian);
        if (u16_at(4), u16_at(6)) != (2, 4) {
            return Ok(None);
        }
        let Some(link_type) = dlt_of(u32_at(20)) else {
            return Ok(None);
        };
        // libpcap takes a snap length of 0 or beyond its maximum as the maximum.
        let snaplen = match u32_at(16) {
            0 => MAX_SNAPLEN,
            s => s.min(MAX_SNAPLEN),
        };
        Ok(Some(PcapReader {
            file,
            buffer: vec![0; BLOCK],
            start: 0,
            end: 0,
            eof: false,
            big_endian,
            swapped: big_endian != cfg!(target_endian = "big"),
            nanoseconds,
            snaplen,
            link_type,
        }))
    }

    /// The link type, as libpcap numbers it (a DLT value).
    pub(super) fn link_type(&self) -> i32 {
        self.link_type
    }

    /// The next record (`number` is its number in the file, from 1), `Ok(None)` at the end
    /// of the file. An I/O error or a malformed record is an error; reading stops there.
    pub(super) fn next(&mut self, number: u64) -> Result<Option<RawPacket<'_>>, RecordError> {
        if !self.holds(RECORD_HEADER) && !self.fill(RECORD_HEADER)? {
            let got = self.end - self.start;
            if got == 0 {
                return Ok(None);
            }
            return Err(RecordError(format!(
                "truncated dump file; tried to read {RECORD_HEADER} header bytes, only got {got}"
            )));
        }
        let [secs, fraction, caplen, wire_len] = self.record_header();
        if caplen > MAX_SNAPLEN {
            return Err(RecordError(format!(
                "invalid packet capture length {caplen}, bigger than snaplen of {}",
                self.snaplen
            )));
        }
        let stored = caplen as usize;
        if !self.holds(RECORD_HEADER + stored) && !self.fill(RECORD_HEADER + stored)? {
            let got = self.end - self.start - RECORD_HEADER;
            return Err(RecordError(format!(
                "truncated dump file; tried to read {caplen} captured bytes, only got {got}"
            )));
        }
        let data_start = self.start + RECORD_HEADER;
        self.start = data_start + stored;
        // Beyond the snap length, libpcap reads the bytes and drops them.
        let kept = stored.min(self.snaplen as usize);
        // libpcap takes the two 32-bit times as signed when the file is in the host's byte
        // order and as unsigned when it swaps them, and scales microseconds to
        // nanoseconds; a fraction past a second carries into the seconds, one negative or
        // too large for 32 bits reads as 0 (as `CaptureFile` takes libpcap's).
        let time = |v: u32| {
            if self.swapped {
                i64::from(v)
            } else {
                i64::from(v as i32)
            }
        };
        let scale = if self.nanoseconds { 1 } else { 1000 };
        let nanos = u32::try_from(time(fraction) * scale).unwrap_or(0);
        Ok(Some(RawPacket {
            ts: Timestamp::from_parts(time(secs), nanos),
            link_type: self.link_type,
            data: &self.buffer[data_start..data_start + kept],
            wire_len,
            number,
        }))
    }

    /// The four fields of the record header at the start of the unconsumed bytes (which
    /// hold one): seconds, fraction, captured and wire length. Read as one 16-byte array
    /// with one test of the byte order, not four slices with a test each.
    fn record_header(&self) -> [u32; 4] {
        let h: [u8; RECORD_HEADER] = self
            .buffer
            .get(self.start..self.start + RECORD_HEADER)
            .and_then(|h| h.try_into().ok())
            .unwrap_or_default();
        let word = |i: usize| [h[i], h[i + 1], h[i + 2], h[i + 3]];
        let words = [word(0), word(4), word(8), word(12)];
        if self.big_endian {
            words.map(u32::from_be_bytes)
        } else {
            words.map(u32::from_le_bytes)
        }
    }

    /// True when at least `want` unconsumed bytes are in the block: the check on every record,
    /// kept apart from [`PcapReader::fill`] so that it costs a comparison, not a call (a call
    /// returning a `Result` was 56 instructions a record, 1.6% of a replay of small segments).
    fn holds(&self, want: usize) -> bool {
        self.end - self.start >= want
    }

    /// Makes at least `want` unconsumed bytes available, reading more of the file as needed;
    /// false when the file ends first. What is left of the block (the start of a record) moves
    /// to the front before each read.
    #[cold]
    fn fill(&mut self, want: usize) -> Result<bool, RecordError> {
        while self.end - self.start < want {
            if self.eof {
                return Ok(false);
            }
            self.buffer.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.buffer.len() < want {
                self.buffer.resize(want, 0);
            }
            match self.file.read(&mut self.buffer[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(RecordError(e.to_string())),
            }
        }
        Ok(true)
    }
}

/// A 32-bit field in the file's byte order (`bytes` holds exactly four).
fn u32_field(bytes: &[u8], big_endian: bool) -> u32 {
    let b = <[u8; 4]>::try_from(bytes).unwrap_or_default();
    if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

/// The DLT value libpcap gives for a file's `LINKTYPE_` value, for the link types the fast
/// path reads; `None` for the others (and for FCS flags in the upper bits).
fn dlt_of(link_type: u32) -> Option<i32> {
    let lt = i32::try_from(link_type).ok()?;
    match lt {
        linktype::NULL
        | linktype::ETHERNET
        | linktype::C_HDLC
        | linktype::LINUX_SLL
        | linktype::IPV4
        | linktype::IPV6
        | linktype::LINUX_SLL2 => Some(lt),
        // `LINKTYPE_RAW` is `DLT_RAW`, 12 on Linux.
        linktype::RAW if cfg!(target_os = "linux") => Some(linktype::RAW_BSD_12),
        _ => None,
    }
}

/// Reads until `buf` is full or the file ends; the number of bytes read.
fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
