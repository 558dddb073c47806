//! The input formats of the fuzz targets: read by the targets, written by the seed generator
//! (`examples/fuzz_seeds.rs`, which includes this file), so that seeds taken from `pcaps/` are
//! inputs the targets understand.
//!
//! Every format is a byte string read front to back by a [`Reader`] that never fails: past
//! the end it yields zeros and empty slices, so every input means something. Integers are big
//! endian.
//!
//! * `decode`: `[config]` then frame records.
//! * `pipeline`: `[config][isn_initiator u32][isn_responder u32]` then frame records and
//!   segment records (a segment record is built into an Ethernet/IP/TCP frame).
//! * `reassembly`: `[config][depth]` `[isn_initiator u32][isn_responder u32]` then segment
//!   records.
//! * `http`: `[config]` then HTTP event records.
//! * `pcap_reader` and `rules` take the bytes as they are (a capture file, rule text).
//!
//! Records:
//!
//! * frame: `[link < 0x80][dt][len u16][len bytes]`: a frame of link type
//!   [`LINK_TYPES`]`[link % len]`, `dt` ([`dt_nanos`]) after the previous one.
//! * segment: `[tag >= 0x80][tcp flags][dt][seq u32][ack u32][len u16][len bytes]`: a TCP
//!   segment from the initiator (`tag & 1 == 0`) or the responder; `seq` is relative to the
//!   sender's ISN, `ack` to the other side's. In `pipeline`, `tag & 2` sends it over IPv6,
//!   `tag & 4` splits it into IP fragments sent last first and `tag & 8` gets it wrong
//!   checksums (they are right otherwise).
//! * HTTP event: `[tag]`, then by `tag & 3`: 0 data `[len u16][len bytes]`, 1 gap `[len u32]`,
//!   2 close, 3 take the finished transactions; `tag & 4` is the responder's side.

use exhound::decode::linktype;

/// The link types a frame record can name: every one the decoder knows, and one it does not.
pub const LINK_TYPES: [i32; 12] = [
    linktype::ETHERNET,
    linktype::NULL,
    linktype::RAW,
    linktype::RAW_BSD_12,
    linktype::RAW_BSD_14,
    linktype::C_HDLC,
    linktype::LOOP,
    linktype::LINUX_SLL,
    linktype::IPV4,
    linktype::IPV6,
    linktype::LINUX_SLL2,
    147, // LINKTYPE_USER0: not decoded
];

/// Tag bit of a segment record (below it, the tag is a frame record's link index).
pub const SEGMENT: u8 = 0x80;
/// Segment tag bit: sent by the responder.
pub const SEG_RESPONDER: u8 = 0x01;
/// Segment tag bit: over IPv6.
pub const SEG_IPV6: u8 = 0x02;
/// Segment tag bit: split into IP fragments.
pub const SEG_FRAGMENTS: u8 = 0x04;
/// Segment tag bit: wrong IPv4 and TCP checksums.
pub const SEG_BAD_CHECKSUM: u8 = 0x08;

/// HTTP event kinds (`tag & 3`).
pub const HTTP_DATA: u8 = 0;
/// A gap.
pub const HTTP_GAP: u8 = 1;
/// A close.
pub const HTTP_CLOSE: u8 = 2;
/// Take the finished transactions.
pub const HTTP_TAKE: u8 = 3;
/// HTTP event tag bit: the responder's side.
pub const HTTP_RESPONDER: u8 = 0x04;

/// The time step a `dt` byte stands for: `dt² × 10 ms`, so small values are the usual
/// milliseconds between packets and large ones (up to 650 s) reach every timeout.
pub fn dt_nanos(dt: u8) -> i64 {
    i64::from(dt) * i64::from(dt) * 10_000_000
}

/// The `dt` byte closest to a time step (the inverse of [`dt_nanos`]).
pub fn dt_byte(nanos: i64) -> u8 {
    let steps = nanos.max(0) as f64 / 10_000_000.0;
    steps.sqrt().round().min(255.0) as u8
}

/// The index of a link type in [`LINK_TYPES`] (the unknown one for a link type not there).
pub fn link_index(link_type: i32) -> u8 {
    LINK_TYPES
        .iter()
        .position(|&l| l == link_type)
        .unwrap_or(LINK_TYPES.len() - 1) as u8
}

/// Reads an input front to back; past the end, zeros and empty slices.
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader of `data`.
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data }
    }

    /// True when everything was read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte.
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// The next two bytes, big endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    /// The next four bytes, big endian.
    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// The next `n` bytes (fewer at the end).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }
}

/// Appends a frame record.
pub fn put_frame(out: &mut Vec<u8>, link_type: i32, dt: u8, frame: &[u8]) {
    let frame = &frame[..frame.len().min(usize::from(u16::MAX))];
    out.push(link_index(link_type));
    out.push(dt);
    out.extend_from_slice(&(frame.len() as u16).to_be_bytes());
    out.extend_from_slice(frame);
}

/// A segment record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentRecord<'a> {
    /// Tag bits besides [`SEGMENT`]: [`SEG_RESPONDER`], [`SEG_IPV6`], [`SEG_FRAGMENTS`].
    pub tag: u8,
    /// TCP flags.
    pub flags: u8,
    /// Time step.
    pub dt: u8,
    /// Sequence number relative to the sender's ISN.
    pub seq: u32,
    /// Acknowledgement number relative to the other side's ISN.
    pub ack: u32,
    /// Payload.
    pub payload: &'a [u8],
}

impl<'a> SegmentRecord<'a> {
    /// Reads the rest of a segment record whose tag was `tag`.
    pub fn read(tag: u8, r: &mut Reader<'a>) -> SegmentRecord<'a> {
        let flags = r.u8();
        let dt = r.u8();
        let seq = r.u32();
        let ack = r.u32();
        let len = r.u16();
        SegmentRecord {
            tag: tag & !SEGMENT,
            flags,
            dt,
            seq,
            ack,
            payload: r.bytes(usize::from(len)),
        }
    }

    /// True when the responder sent it.
    pub fn responder(&self) -> bool {
        self.tag & SEG_RESPONDER != 0
    }

    /// Appends the record.
    pub fn put(&self, out: &mut Vec<u8>) {
        let payload = &self.payload[..self.payload.len().min(usize::from(u16::MAX))];
        out.push(SEGMENT | self.tag);
        out.push(self.flags);
        out.push(self.dt);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.ack.to_be_bytes());
        out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        out.extend_from_slice(payload);
    }
}

/// Appends an HTTP data event.
pub fn put_http_data(out: &mut Vec<u8>, responder: bool, bytes: &[u8]) {
    for chunk in bytes.chunks(usize::from(u16::MAX)) {
        out.push(HTTP_DATA | if responder { HTTP_RESPONDER } else { 0 });
        out.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        out.extend_from_slice(chunk);
    }
}

/// Appends an HTTP gap event.
pub fn put_http_gap(out: &mut Vec<u8>, responder: bool, len: u64) {
    out.push(HTTP_GAP | if responder { HTTP_RESPONDER } else { 0 });
    out.extend_from_slice(&(len.min(u64::from(u32::MAX)) as u32).to_be_bytes());
}

/// Appends an HTTP close (or take) event.
pub fn put_http_event(out: &mut Vec<u8>, kind: u8, responder: bool) {
    out.push(kind | if responder { HTTP_RESPONDER } else { 0 });
}
