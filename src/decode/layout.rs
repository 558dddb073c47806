//! A decoded TCP segment without its borrows: the header fields, and where its byte ranges
//! lie in the frame.
//!
//! The capture thread decodes every frame to find its flow's shard; the worker that gets the
//! frame used to decode it again (about 200 instructions a packet, 3% of a replay). The
//! dispatcher now hands the worker a [`SegmentLayout`] with the frame, and
//! [`SegmentLayout::segment`] rebuilds the same [`TcpSegment`] over the worker's copy of the
//! bytes. A layout that does not fit the bytes it is given yields `None`, and the caller
//! decodes the frame as before.

use super::{IpHeader, TcpFlags, TcpSegment};

/// A byte range of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    /// Where `part`, a sub-slice of `frame`, lies in it; `None` when it is not inside it.
    fn of(part: &[u8], frame: &[u8]) -> Option<Span> {
        // Addresses are compared, never dereferenced.
        let start = (part.as_ptr() as usize).checked_sub(frame.as_ptr() as usize)?;
        let end = start.checked_add(part.len())?;
        if end > frame.len() {
            return None;
        }
        Some(Span {
            start: u32::try_from(start).ok()?,
            len: u32::try_from(part.len()).ok()?,
        })
    }

    /// The bytes of this range in `frame`.
    fn slice(self, frame: &[u8]) -> Option<&[u8]> {
        let start = self.start as usize;
        frame.get(start..start + self.len as usize)
    }
}

/// A [`TcpSegment`] as offsets into its frame (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentLayout {
    ip: IpHeader,
    src_port: u16,
    dst_port: u16,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    window: u16,
    window_scale: Option<u8>,
    payload: Span,
    tcp_bytes: Span,
    ipv4_header: Option<Span>,
    length_from_capture: bool,
}

impl SegmentLayout {
    /// The layout of `segment`, decoded from `frame`; `None` when one of its slices is not
    /// inside `frame` (a segment of a reassembled datagram).
    pub fn of(segment: &TcpSegment<'_>, frame: &[u8]) -> Option<SegmentLayout> {
        Some(SegmentLayout {
            ip: segment.ip,
            src_port: segment.src_port,
            dst_port: segment.dst_port,
            seq: segment.seq,
            ack: segment.ack,
            flags: segment.flags,
            window: segment.window,
            window_scale: segment.window_scale,
            payload: Span::of(segment.payload, frame)?,
            tcp_bytes: Span::of(segment.tcp_bytes, frame)?,
            ipv4_header: match segment.ipv4_header {
                Some(h) => Some(Span::of(h, frame)?),
                None => None,
            },
            length_from_capture: segment.length_from_capture,
        })
    }

    /// The segment over `frame` (a copy of the frame the layout was made from); `None` when
    /// a range does not fit.
    pub fn segment<'a>(&self, frame: &'a [u8]) -> Option<TcpSegment<'a>> {
        Some(TcpSegment {
            ip: self.ip,
            src_port: self.src_port,
            dst_port: self.dst_port,
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            window: self.window,
            window_scale: self.window_scale,
            payload: self.payload.slice(frame)?,
            tcp_bytes: self.tcp_bytes.slice(frame)?,
            ipv4_header: match self.ipv4_header {
                Some(h) => Some(h.slice(frame)?),
                None => None,
            },
            length_from_capture: self.length_from_capture,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{decode_frame, linktype, Decoded};
    use etherparse::PacketBuilder;

    fn tcp(frame: &[u8]) -> TcpSegment<'_> {
        match decode_frame(linktype::ETHERNET, frame) {
            Ok(Decoded::Tcp(s)) => s,
            other => panic!("not TCP: {other:?}"),
        }
    }

    #[test]
    fn a_copy_of_the_frame_gives_the_same_segment() {
        for (v6, payload) in [
            (false, &b"GET / HTTP/1.1\r\n\r\n"[..]),
            (true, b""),
            (false, b""),
        ] {
            let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
            let b = if v6 {
                b.ipv6(
                    [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                    [0xfe; 16],
                    64,
                )
            } else {
                b.ipv4([192, 0, 2, 10], [198, 51, 100, 5], 64)
            };
            let mut frame = Vec::new();
            b.tcp(51000, 443, 7, 64240)
                .syn()
                .write(&mut frame, payload)
                .unwrap();
            let segment = tcp(&frame);
            let layout = SegmentLayout::of(&segment, &frame).unwrap();
            let copy = frame.clone();
            assert_eq!(layout.segment(&copy), Some(segment));
            // Bytes too short for the layout give nothing, not a panic.
            assert_eq!(layout.segment(&copy[..copy.len() - 1]), None);
        }
    }

    #[test]
    fn slices_from_elsewhere_have_no_layout() {
        let mut frame = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(1, 2, 3, 4)
            .write(&mut frame, b"abc")
            .unwrap();
        let other = frame.clone();
        let segment = tcp(&other);
        assert_eq!(SegmentLayout::of(&segment, &frame), None);
    }
}
