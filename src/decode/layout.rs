//! A decoded TCP segment without its borrows: where its headers lie in the frame.
//!
//! The capture thread decodes every frame to find its flow's shard; the worker that gets the
//! frame used to decode it again (about 200 instructions a packet, 3% of a replay). The
//! dispatcher now hands the worker a [`SegmentLayout`] with the frame, and
//! [`SegmentLayout::segment`] rebuilds the same [`TcpSegment`] over the worker's copy of the
//! bytes. A layout that does not fit the bytes it is given yields `None`, and the caller
//! decodes the frame as before.
//!
//! The layout holds offsets, not the decoded fields: the addresses are read again from their
//! fixed places in the IP header and the TCP header is read again by [`decode_tcp`], which
//! costs a few loads. It travels in every batch item, and a batch item is written by one core
//! and read by another: the decoded fields made an item 136 bytes, past what the compiler
//! copies inline, and writing the items was 4% of a two-worker replay's time (perf, 469 MB
//! capture). A frame whose segment the offsets cannot describe (addresses not where they are
//! looked for, offsets past 64 KiB) gets no layout and is decoded again; debug builds check
//! every layout against the segment it was made from.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::ip::read_16;
use super::tcp::decode_tcp;
use super::{IpHeader, TcpSegment, VlanIds};

/// Length of the fixed IPv6 header.
const IPV6_FIXED: usize = 40;

/// [`SegmentLayout::bits`]: the addresses are IPv6 ones.
const IPV6: u8 = 1;
/// [`SegmentLayout::bits`]: [`TcpSegment::length_from_capture`].
const LENGTH_FROM_CAPTURE: u8 = 2;

/// A [`TcpSegment`] as offsets into its frame (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentLayout {
    /// VLAN ids (not in a fixed place).
    vlan: VlanIds,
    /// Start of the IP header that holds the addresses.
    ip_at: u16,
    /// Start of the TCP header.
    tcp_at: u16,
    /// Length of the TCP header and payload.
    tcp_len: u16,
    /// Length of the IPv4 header at `ip_at` (options included); 0 when the segment has none.
    ipv4_header_len: u8,
    /// [`IPV6`], [`LENGTH_FROM_CAPTURE`].
    bits: u8,
}

impl SegmentLayout {
    /// The layout of `segment`, decoded from `frame`; `None` when its slices are not inside
    /// `frame` (a segment of a reassembled datagram), lie past 64 KiB, or the offsets would
    /// not give it back exactly.
    pub fn of(segment: &TcpSegment<'_>, frame: &[u8]) -> Option<SegmentLayout> {
        let tcp_at = offset_in(segment.tcp_bytes, frame)?;
        let (ip_at, ipv4_header_len, bits) = match (segment.ip.src, segment.ip.dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                let header = segment.ipv4_header?;
                if header.get(12..16)? != src.octets() || header.get(16..20)? != dst.octets() {
                    return None;
                }
                (
                    offset_in(header, frame)?,
                    u8::try_from(header.len()).ok()?,
                    0,
                )
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) if segment.ipv4_header.is_none() => {
                (ipv6_header_at(frame, tcp_at, src, dst)?, 0, IPV6)
            }
            _ => return None,
        };
        let layout = SegmentLayout {
            vlan: segment.ip.vlan,
            ip_at: u16::try_from(ip_at).ok()?,
            tcp_at: u16::try_from(tcp_at).ok()?,
            tcp_len: u16::try_from(segment.tcp_bytes.len()).ok()?,
            ipv4_header_len,
            bits: if segment.length_from_capture {
                bits | LENGTH_FROM_CAPTURE
            } else {
                bits
            },
        };
        debug_assert!(layout
            .segment(frame)
            .is_some_and(|rebuilt| same_segment(&rebuilt, segment)));
        Some(layout)
    }

    /// The segment over `frame` (a copy of the frame the layout was made from); `None` when
    /// a range does not fit.
    pub fn segment<'a>(&self, frame: &'a [u8]) -> Option<TcpSegment<'a>> {
        let tcp_at = usize::from(self.tcp_at);
        let tcp_bytes = frame.get(tcp_at..tcp_at + usize::from(self.tcp_len))?;
        let ip_at = usize::from(self.ip_at);
        let (src, dst, ipv4_header) = if self.bits & IPV6 != 0 {
            let a = frame.get(ip_at..)?.first_chunk::<IPV6_FIXED>()?;
            (
                IpAddr::V6(Ipv6Addr::from(read_16(&a[8..24]))),
                IpAddr::V6(Ipv6Addr::from(read_16(&a[24..40]))),
                None,
            )
        } else {
            let header = frame.get(ip_at..ip_at + usize::from(self.ipv4_header_len))?;
            let a = header.get(12..20)?;
            (
                IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3])),
                IpAddr::V4(Ipv4Addr::new(a[4], a[5], a[6], a[7])),
                Some(header),
            )
        };
        let ip = IpHeader {
            src,
            dst,
            vlan: self.vlan,
        };
        let segment = decode_tcp(ip, tcp_bytes).ok()?;
        Some(TcpSegment {
            ipv4_header,
            length_from_capture: self.bits & LENGTH_FROM_CAPTURE != 0,
            ..segment
        })
    }
}

/// Where `part`, a sub-slice of `frame`, starts in it; `None` when it is not inside it.
fn offset_in(part: &[u8], frame: &[u8]) -> Option<usize> {
    // Addresses are compared, never dereferenced.
    let start = (part.as_ptr() as usize).checked_sub(frame.as_ptr() as usize)?;
    (start.checked_add(part.len())? <= frame.len()).then_some(start)
}

/// Where the IPv6 header with these addresses starts, before `before` (the TCP header; the
/// extension headers between them have no fixed length, so the header is looked for).
fn ipv6_header_at(frame: &[u8], before: usize, src: Ipv6Addr, dst: Ipv6Addr) -> Option<usize> {
    let (src, dst) = (src.octets(), dst.octets());
    (0..=before.checked_sub(IPV6_FIXED)?).find(|&at| {
        frame
            .get(at..at + IPV6_FIXED)
            .is_some_and(|h| h[0] >> 4 == 6 && h[8..24] == src[..] && h[24..40] == dst[..])
    })
}

/// Whether two segments are the same: equal fields, and slices at the same place.
fn same_segment(a: &TcpSegment<'_>, b: &TcpSegment<'_>) -> bool {
    let same_place = |x: &[u8], y: &[u8]| std::ptr::eq(x, y);
    a.ip == b.ip
        && (a.src_port, a.dst_port, a.seq, a.ack) == (b.src_port, b.dst_port, b.seq, b.ack)
        && (a.flags, a.window, a.window_scale) == (b.flags, b.window, b.window_scale)
        && a.length_from_capture == b.length_from_capture
        && same_place(a.payload, b.payload)
        && same_place(a.tcp_bytes, b.tcp_bytes)
        && match (a.ipv4_header, b.ipv4_header) {
            (Some(x), Some(y)) => same_place(x, y),
            (None, None) => true,
            _ => false,
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

    /// Decodes `frame`, makes its layout and checks that a copy gives the same segment.
    fn round_trip(link_type: i32, frame: &[u8]) -> SegmentLayout {
        let segment = match decode_frame(link_type, frame) {
            Ok(Decoded::Tcp(s)) => s,
            other => panic!("not TCP: {other:?}"),
        };
        let layout = SegmentLayout::of(&segment, frame).expect("a layout");
        let copy = frame.to_vec();
        let rebuilt = layout.segment(&copy).expect("fits its copy");
        assert_eq!(rebuilt, segment);
        assert_eq!(
            rebuilt.payload.as_ptr() as usize - copy.as_ptr() as usize,
            segment.payload.as_ptr() as usize - frame.as_ptr() as usize
        );
        layout
    }

    #[test]
    fn vlans_options_extension_headers_and_padding() {
        use crate::decode::testutil::{ethernet, ipv4, ipv6, tcp, V6_DST, V6_SRC};
        let payload = b"POST /owa/auth.owa HTTP/1.1\r\n";
        let mut with_options = tcp(51000, 443, 9, 0x18, payload);
        // Data offset 8: 12 bytes of NOP options before the payload.
        with_options[12] = 8 << 4;
        with_options.splice(20..20, [1u8; 12]);
        // IPv4 with 8 bytes of options (IHL 7), in two VLAN tags, with Ethernet padding.
        let mut v4 = ipv4(1, 0x4000, 6, &with_options);
        v4[0] = 0x47;
        v4.splice(20..20, [1u8; 8]);
        let total = v4.len() as u16;
        v4[2..4].copy_from_slice(&total.to_be_bytes());
        let mut frame = ethernet(&[(0x88a8, 100), (0x8100, 200)], 0x0800, &v4);
        frame.extend_from_slice(&[0; 6]);
        let layout = round_trip(linktype::ETHERNET, &frame);
        assert_eq!(layout.vlan.as_slice(), [100, 200]);
        // IPv6 with a hop-by-hop header (8 bytes) before TCP.
        let mut v6_payload = vec![6, 0, 1, 4, 0, 0, 0, 0];
        v6_payload.extend_from_slice(&tcp(51000, 443, 9, 0x02, b""));
        let v6 = ipv6(0, &v6_payload);
        assert_eq!((&v6[8..24], &v6[24..40]), (&V6_SRC[..], &V6_DST[..]));
        let layout = round_trip(linktype::ETHERNET, &ethernet(&[], 0x86dd, &v6));
        assert_eq!((layout.ip_at, layout.tcp_at), (14, 14 + 40 + 8));
        // Raw IP, no link header at all.
        round_trip(linktype::RAW, &v4);
    }

    #[test]
    fn frames_past_64_kib_have_no_layout() {
        // A segment of 70,000 bytes as captured before segmentation offload (IPv4 total
        // length 0): decoded from the capture, but its length does not fit a layout.
        let big = vec![b'a'; 70_000];
        let mut v4 = crate::decode::testutil::ipv4(
            1,
            0x4000,
            6,
            &crate::decode::testutil::tcp(1, 2, 3, 0x10, &big),
        );
        v4[2..4].copy_from_slice(&[0, 0]);
        let frame = crate::decode::testutil::ethernet(&[], 0x0800, &v4);
        let segment = tcp(&frame);
        assert!(segment.length_from_capture);
        assert_eq!(SegmentLayout::of(&segment, &frame), None);
        // The same with a short payload has one, and keeps the flag.
        let mut v4 = crate::decode::testutil::ipv4(
            1,
            0x4000,
            6,
            &crate::decode::testutil::tcp(1, 2, 3, 0x10, b"abc"),
        );
        v4[2..4].copy_from_slice(&[0, 0]);
        let frame = crate::decode::testutil::ethernet(&[], 0x0800, &v4);
        let layout = round_trip(linktype::ETHERNET, &frame);
        assert_eq!(layout.bits & LENGTH_FROM_CAPTURE, LENGTH_FROM_CAPTURE);
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
