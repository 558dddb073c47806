//! Link, network and transport decoding: raw frame bytes → a borrowed [`Decoded`] view.
//!
//! Input: the link type of the capture and one frame. Output: a TCP segment (addresses, ports,
//! VLAN ids, sequence numbers, flags and a payload slice borrowed from the frame), an IP
//! fragment to hand to the [`defrag::Defragmenter`], or a note that the packet is something
//! the sensor does not inspect (counted by the caller). Decoding never allocates and never
//! panics: a short or malformed packet is a [`DecodeError`], a cheap `Copy` value that the
//! pipeline counts.
//!
//! Link types: Ethernet II, 802.1Q / 802.1ad VLAN tags at any depth, Linux cooked SLL and
//! SLL2, raw IP (DLT_RAW, DLT_IPV4, DLT_IPV6) and BSD loopback (NULL, LOOP). Network: IPv4 and
//! IPv6 with extension headers (hop-by-hop, routing, fragment, destination options, AH).
//!
//! The work is split by layer: [`link`] strips the link header and VLAN tags, [`ip`] checks
//! the IPv4/IPv6 header (trimming link-layer padding) and walks IPv6 extension headers, [`tcp`]
//! reads the TCP header. Every header is read through `first_chunk`/`get`, so a short frame is
//! an error value, never an out-of-bounds index. Checksums are not verified here: the segment
//! keeps what [`checksum`] needs, and the pipeline decides (captures taken on a host with
//! checksum offload carry wrong ones).

pub mod checksum;
pub mod defrag;
pub mod ip;
mod layout;
pub mod link;
pub mod tcp;

pub use layout::SegmentLayout;
#[cfg(test)]
mod testutil;

use std::net::IpAddr;

/// libpcap link-type values (DLT_*/LINKTYPE_*) that exhound decodes.
pub mod linktype {
    /// BSD loopback: 4-byte address family in host byte order.
    pub const NULL: i32 = 0;
    /// Ethernet II.
    pub const ETHERNET: i32 = 1;
    /// Raw IP (value used by libpcap on most platforms for DLT_RAW).
    pub const RAW: i32 = 101;
    /// DLT_RAW as numbered on some BSDs.
    pub const RAW_BSD_12: i32 = 12;
    /// DLT_RAW as numbered on OpenBSD.
    pub const RAW_BSD_14: i32 = 14;
    /// Cisco HDLC: address, control, then the protocol as an EtherType.
    pub const C_HDLC: i32 = 104;
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: i32 = 108;
    /// Linux cooked capture v1.
    pub const LINUX_SLL: i32 = 113;
    /// Raw IPv4.
    pub const IPV4: i32 = 228;
    /// Raw IPv6.
    pub const IPV6: i32 = 229;
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: i32 = 276;
}

/// The VLAN ids of a frame, outermost first. Up to [`VlanIds::MAX`] are kept for flow keys;
/// deeper stacks are still decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct VlanIds {
    ids: [u16; VlanIds::MAX],
    len: u8,
}

impl VlanIds {
    /// How many VLAN ids are kept.
    pub const MAX: usize = 4;

    /// Appends an id (ignored past [`VlanIds::MAX`]).
    pub fn push(&mut self, id: u16) {
        if usize::from(self.len) < Self::MAX {
            self.ids[usize::from(self.len)] = id;
            self.len += 1;
        }
    }

    /// The kept ids, outermost first.
    pub fn as_slice(&self) -> &[u16] {
        &self.ids[..usize::from(self.len)]
    }

    /// True when the frame carried no VLAN tag.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// TCP header flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;

    /// True when every bit of `mask` is set.
    pub fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }
    /// SYN set.
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    /// ACK set.
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
    /// FIN set.
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    /// RST set.
    pub fn rst(self) -> bool {
        self.has(Self::RST)
    }
}

/// Addresses shared by every decoded IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpHeader {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// VLAN ids of the frame that carried it.
    pub vlan: VlanIds,
}

/// A TCP segment, borrowed from its frame (or from a reassembled datagram).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    /// Addresses and VLAN ids.
    pub ip: IpHeader,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (meaningful when the ACK flag is set).
    pub ack: u32,
    /// Header flags.
    pub flags: TcpFlags,
    /// Advertised window (unscaled).
    pub window: u16,
    /// The window-scale option's shift, on a SYN that carries one (`None` otherwise).
    pub window_scale: Option<u8>,
    /// TCP payload.
    pub payload: &'a [u8],
    /// The TCP header and payload as the IP layer carried them (for the checksum).
    pub tcp_bytes: &'a [u8],
    /// The IPv4 header, for its checksum (`None` for IPv6 and for reassembled datagrams, whose
    /// fragments were checked one by one).
    pub ipv4_header: Option<&'a [u8]>,
    /// The IPv4 length came from the capture, not the header (total length 0: segmentation
    /// offload on the capturing host), so the checksums were never filled in.
    pub length_from_capture: bool,
}

/// Identity of the datagram a fragment belongs to (RFC 791 / RFC 8200 §4.5 plus VLAN ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragmentKey {
    /// Addresses and VLAN ids.
    pub ip: IpHeaderKey,
    /// IP identification (16 bits for IPv4, 32 for IPv6).
    pub id: u32,
    /// Upper-layer protocol (IPv4 protocol field, or the IPv6 next header after the fragment header).
    pub protocol: u8,
}

/// Hashable form of [`IpHeader`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpHeaderKey {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// VLAN ids.
    pub vlan: VlanIds,
}

/// One IP fragment, borrowed from its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpFragment<'a> {
    /// Which datagram it belongs to.
    pub key: FragmentKey,
    /// Offset of this fragment's payload in the datagram payload, in bytes.
    pub offset: u32,
    /// More-fragments flag.
    pub more_fragments: bool,
    /// Fragment payload (bytes after the IP header and, for IPv6, the fragment header).
    pub payload: &'a [u8],
    /// The IPv4 header, for its checksum (`None` for IPv6).
    pub ipv4_header: Option<&'a [u8]>,
}

impl IpFragment<'_> {
    /// False when the fragment's IPv4 header checksum is wrong (the receiver drops it).
    pub fn header_checksum_ok(&self) -> bool {
        self.ipv4_header.is_none_or(checksum::ipv4_header_ok)
    }
}

/// What one frame turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A TCP segment, ready for the flow table.
    Tcp(TcpSegment<'a>),
    /// An IP fragment, for the defragmenter.
    Fragment(IpFragment<'a>),
    /// An IP packet of another protocol (counted, not inspected).
    OtherIp {
        /// IP protocol number.
        protocol: u8,
    },
    /// A frame that carries no IP (ARP, LLDP…), with its EtherType when known.
    NotIp {
        /// EtherType or link-layer protocol.
        ethertype: u16,
    },
}

/// Why a frame could not be decoded. Counted by the pipeline, never fatal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The capture's link type is not one exhound decodes.
    #[error("unsupported link type {0}")]
    UnknownLinkType(i32),
    /// The frame ends inside a header.
    #[error("truncated {0} header")]
    Truncated(&'static str),
    /// A header field is impossible (bad version, length smaller than the header…).
    #[error("malformed {0} header")]
    Malformed(&'static str),
}

impl From<IpHeaderKey> for IpHeader {
    fn from(k: IpHeaderKey) -> IpHeader {
        IpHeader {
            src: k.src,
            dst: k.dst,
            vlan: k.vlan,
        }
    }
}

impl From<IpHeader> for IpHeaderKey {
    fn from(h: IpHeader) -> IpHeaderKey {
        IpHeaderKey {
            src: h.src,
            dst: h.dst,
            vlan: h.vlan,
        }
    }
}

/// Decodes one frame of the given link type.
///
/// Errors: [`DecodeError::UnknownLinkType`] for a link type outside [`linktype`],
/// [`DecodeError::Truncated`] when the frame ends inside a header or before the length an IP
/// header announces (snaplen cut-offs included), [`DecodeError::Malformed`] for impossible
/// header fields.
pub fn decode_frame(link_type: i32, frame: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    match link::strip(link_type, frame)? {
        link::Network::Ip { bytes, vlan } => ip::decode_ip(bytes, vlan),
        link::Network::Ipv4 { bytes, vlan } => ip::decode_ipv4(bytes, vlan),
        link::Network::Ipv6 { bytes, vlan } => ip::decode_ipv6(bytes, vlan),
        link::Network::Other { ethertype } => Ok(Decoded::NotIp { ethertype }),
    }
}

/// Decodes the upper-layer payload of a reassembled datagram (the output of the
/// defragmenter) as a transport packet: TCP when `protocol` is 6, otherwise
/// [`Decoded::OtherIp`].
pub fn decode_transport<'a>(
    ip: IpHeader,
    protocol: u8,
    payload: &'a [u8],
) -> Result<Decoded<'a>, DecodeError> {
    match protocol {
        tcp::PROTOCOL => tcp::decode_tcp(ip, payload).map(Decoded::Tcp),
        protocol => Ok(Decoded::OtherIp { protocol }),
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const ETH_IPV4: u16 = 0x0800;
    const ETH_IPV6: u16 = 0x86dd;

    fn segment(d: Result<Decoded<'_>, DecodeError>) -> TcpSegment<'_> {
        match d {
            Ok(Decoded::Tcp(s)) => s,
            other => panic!("expected TCP, got {other:?}"),
        }
    }

    fn v4_tcp(payload: &[u8]) -> Vec<u8> {
        ipv4(
            1,
            0x4000,
            6,
            &tcp(49152, 80, 1000, TcpFlags::ACK | TcpFlags::PSH, payload),
        )
    }

    fn v6_tcp(payload: &[u8]) -> Vec<u8> {
        ipv6(6, &tcp(49152, 443, 5, TcpFlags::SYN, payload))
    }

    fn assert_v4(s: &TcpSegment<'_>) {
        assert_eq!(s.ip.src, IpAddr::V4(Ipv4Addr::from(V4_SRC)));
        assert_eq!(s.ip.dst, IpAddr::V4(Ipv4Addr::from(V4_DST)));
        assert_eq!((s.src_port, s.dst_port, s.seq, s.ack), (49152, 80, 1000, 7));
        assert_eq!(s.window, 65535);
    }

    fn assert_v6(s: &TcpSegment<'_>) {
        assert_eq!(s.ip.src, IpAddr::V6(Ipv6Addr::from(V6_SRC)));
        assert_eq!(s.ip.dst, IpAddr::V6(Ipv6Addr::from(V6_DST)));
        assert_eq!((s.src_port, s.dst_port), (49152, 443));
        assert!(s.flags.syn() && !s.flags.ack());
    }

    #[test]
    fn ethernet_ipv4_tcp() {
        let f = ethernet(&[], ETH_IPV4, &v4_tcp(b"GET / HTTP/1.1\r\n"));
        let s = segment(decode_frame(linktype::ETHERNET, &f));
        assert_v4(&s);
        assert!(s.flags.ack() && s.flags.has(TcpFlags::PSH));
        assert_eq!(s.payload, b"GET / HTTP/1.1\r\n");
        assert!(s.ip.vlan.is_empty());
    }

    #[test]
    fn ethernet_padding_is_trimmed() {
        let mut f = ethernet(&[], ETH_IPV4, &v4_tcp(b"hi"));
        f.resize(60, 0xaa); // minimum Ethernet frame, padded
        let s = segment(decode_frame(linktype::ETHERNET, &f));
        assert_eq!(s.payload, b"hi");
        let mut f6 = ethernet(&[], ETH_IPV6, &v6_tcp(b""));
        f6.extend_from_slice(&[0xaa; 6]);
        assert_eq!(segment(decode_frame(linktype::ETHERNET, &f6)).payload, b"");
    }

    #[test]
    fn qinq_three_tags() {
        let tags = [(0x88a8, 100), (0x8100, 200), (0x8100, 300)];
        let f = ethernet(&tags, ETH_IPV6, &v6_tcp(b"x"));
        let s = segment(decode_frame(linktype::ETHERNET, &f));
        assert_v6(&s);
        assert_eq!(s.ip.vlan.as_slice(), &[100, 200, 300]);
        assert_eq!(s.payload, b"x");
        let f = ethernet(&[(0x9100, 7), (0x8100, 4095)], ETH_IPV4, &v4_tcp(b""));
        let s = segment(decode_frame(linktype::ETHERNET, &f));
        assert_eq!(s.ip.vlan.as_slice(), &[7, 4095]);
    }

    #[test]
    fn non_ip_ethertype() {
        let f = ethernet(&[(0x8100, 5)], 0x0806, &[0; 28]);
        assert_eq!(
            decode_frame(linktype::ETHERNET, &f),
            Ok(Decoded::NotIp { ethertype: 0x0806 })
        );
    }

    #[test]
    fn linux_sll() {
        let mut f = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
        f.extend_from_slice(&ETH_IPV4.to_be_bytes());
        f.extend_from_slice(&v4_tcp(b"sll"));
        let s = segment(decode_frame(linktype::LINUX_SLL, &f));
        assert_v4(&s);
        assert_eq!(s.payload, b"sll");
        // A VLAN tag kept in the cooked payload.
        let mut tagged = f[..14].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x2a, 0x08, 0x00]);
        tagged.extend_from_slice(&v4_tcp(b"v"));
        let s = segment(decode_frame(linktype::LINUX_SLL, &tagged));
        assert_eq!(s.ip.vlan.as_slice(), &[42]);
    }

    #[test]
    fn linux_sll2() {
        let mut f = ETH_IPV6.to_be_bytes().to_vec();
        f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1]);
        assert_eq!(f.len(), 20);
        f.extend_from_slice(&v6_tcp(b"sll2"));
        let s = segment(decode_frame(linktype::LINUX_SLL2, &f));
        assert_v6(&s);
        assert_eq!(s.payload, b"sll2");
    }

    #[test]
    fn bsd_loopback_null_both_orders_and_loop() {
        let mut le = 2u32.to_le_bytes().to_vec();
        le.extend_from_slice(&v4_tcp(b"le"));
        assert_eq!(segment(decode_frame(linktype::NULL, &le)).payload, b"le");
        let mut be = 2u32.to_be_bytes().to_vec();
        be.extend_from_slice(&v4_tcp(b"be"));
        assert_eq!(segment(decode_frame(linktype::NULL, &be)).payload, b"be");
        for af in [24u32, 28, 30] {
            let mut le6 = af.to_le_bytes().to_vec();
            le6.extend_from_slice(&v6_tcp(b"6"));
            assert_v6(&segment(decode_frame(linktype::NULL, &le6)));
            let mut loop6 = af.to_be_bytes().to_vec();
            loop6.extend_from_slice(&v6_tcp(b"6"));
            assert_v6(&segment(decode_frame(linktype::LOOP, &loop6)));
        }
        let mut loop4 = 2u32.to_be_bytes().to_vec();
        loop4.extend_from_slice(&v4_tcp(b"loop"));
        assert_eq!(
            segment(decode_frame(linktype::LOOP, &loop4)).payload,
            b"loop"
        );
    }

    #[test]
    fn raw_ip_link_types() {
        for lt in [linktype::RAW, linktype::RAW_BSD_12, linktype::RAW_BSD_14] {
            assert_v4(&segment(decode_frame(lt, &v4_tcp(b"r"))));
            assert_v6(&segment(decode_frame(lt, &v6_tcp(b"r"))));
        }
        assert_v4(&segment(decode_frame(linktype::IPV4, &v4_tcp(b""))));
        assert_v6(&segment(decode_frame(linktype::IPV6, &v6_tcp(b""))));
        // The dedicated link types check the version.
        assert_eq!(
            decode_frame(linktype::IPV4, &v6_tcp(b"")),
            Err(DecodeError::Malformed("IPv4"))
        );
        assert_eq!(
            decode_frame(linktype::IPV6, &v4_tcp(b"")),
            Err(DecodeError::Malformed("IPv6"))
        );
    }

    #[test]
    fn ipv6_hop_by_hop_and_destination_options_then_tcp() {
        let mut p = vec![60, 0, 1, 4, 0, 0, 0, 0]; // hop-by-hop: PadN, next = dest opts
        p.extend_from_slice(&[6, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // 16 bytes
        p.extend_from_slice(&tcp(49152, 443, 5, TcpFlags::SYN, b"ext"));
        let f = ethernet(&[], ETH_IPV6, &ipv6(0, &p));
        let s = segment(decode_frame(linktype::ETHERNET, &f));
        assert_v6(&s);
        assert_eq!(s.payload, b"ext");
    }

    #[test]
    fn ipv4_and_ipv6_fragments() {
        let f = ethernet(&[(0x8100, 9)], ETH_IPV4, &ipv4(77, 0x2000, 6, &[1; 16]));
        match decode_frame(linktype::ETHERNET, &f) {
            Ok(Decoded::Fragment(fr)) => {
                assert_eq!((fr.offset, fr.more_fragments), (0, true));
                assert_eq!((fr.key.id, fr.key.protocol), (77, 6));
                assert_eq!(fr.key.ip.vlan.as_slice(), &[9]);
                assert_eq!(fr.payload, &[1; 16]);
            }
            other => panic!("{other:?}"),
        }
        let mut p = ipv6_fragment_header(6, 1448, false, 0x0102_0304).to_vec();
        p.extend_from_slice(&[2; 10]);
        match decode_frame(linktype::RAW, &ipv6(44, &p)) {
            Ok(Decoded::Fragment(fr)) => {
                assert_eq!((fr.offset, fr.more_fragments), (1448, false));
                assert_eq!((fr.key.id, fr.key.protocol), (0x0102_0304, 6));
                assert_eq!(fr.payload, &[2; 10]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_ip_protocols() {
        let udp = ipv4(1, 0, 17, &[0; 8]);
        assert_eq!(
            decode_frame(linktype::RAW, &udp),
            Ok(Decoded::OtherIp { protocol: 17 })
        );
        assert_eq!(
            decode_frame(linktype::RAW, &ipv6(58, &[0; 8])),
            Ok(Decoded::OtherIp { protocol: 58 })
        );
    }

    #[test]
    fn unknown_link_type() {
        assert_eq!(
            decode_frame(147, &[0; 60]),
            Err(DecodeError::UnknownLinkType(147))
        );
    }

    #[test]
    fn decode_transport_tcp_and_other() {
        let ip = IpHeader {
            src: IpAddr::V4(Ipv4Addr::from(V4_SRC)),
            dst: IpAddr::V4(Ipv4Addr::from(V4_DST)),
            vlan: VlanIds::default(),
        };
        let t = tcp(1, 2, 3, TcpFlags::FIN, b"tail");
        let s = segment(decode_transport(ip, 6, &t));
        assert_eq!((s.src_port, s.dst_port, s.seq), (1, 2, 3));
        assert!(s.flags.fin());
        assert_eq!(s.payload, b"tail");
        assert_eq!(
            decode_transport(ip, 17, &t),
            Ok(Decoded::OtherIp { protocol: 17 })
        );
        assert_eq!(
            decode_transport(ip, 6, &t[..19]),
            Err(DecodeError::Truncated("TCP"))
        );
    }

    /// One valid TCP frame per link type, with no padding.
    fn valid_frames() -> Vec<(i32, Vec<u8>)> {
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&ETH_IPV4.to_be_bytes());
        sll.extend_from_slice(&v4_tcp(b"abc"));
        let mut sll2 = ETH_IPV6.to_be_bytes().to_vec();
        sll2.extend_from_slice(&[0; 18]);
        sll2.extend_from_slice(&v6_tcp(b"abc"));
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend_from_slice(&v4_tcp(b"abc"));
        let mut lo = 24u32.to_be_bytes().to_vec();
        let mut ext = vec![60, 0, 1, 4, 0, 0, 0, 0, 6, 0, 1, 4, 0, 0, 0, 0];
        ext.extend_from_slice(&tcp(1, 2, 3, 0, b"abc"));
        lo.extend_from_slice(&ipv6(0, &ext));
        vec![
            (
                linktype::ETHERNET,
                ethernet(
                    &[(0x88a8, 1), (0x8100, 2), (0x8100, 3)],
                    ETH_IPV4,
                    &v4_tcp(b"abc"),
                ),
            ),
            (linktype::LINUX_SLL, sll),
            (linktype::LINUX_SLL2, sll2),
            (linktype::RAW, v6_tcp(b"abc")),
            (linktype::RAW_BSD_12, v4_tcp(b"abc")),
            (linktype::RAW_BSD_14, v6_tcp(b"abc")),
            (linktype::IPV4, v4_tcp(b"abc")),
            (linktype::IPV6, v6_tcp(b"abc")),
            (linktype::NULL, null),
            (linktype::LOOP, lo),
        ]
    }

    #[test]
    fn every_truncation_is_an_error() {
        for (lt, frame) in valid_frames() {
            assert_eq!(segment(decode_frame(lt, &frame)).payload, b"abc", "lt {lt}");
            for cut in 0..frame.len() {
                match decode_frame(lt, &frame[..cut]) {
                    Err(DecodeError::Truncated(_)) => {}
                    other => panic!("lt {lt}, cut at {cut}: {other:?}"),
                }
            }
        }
    }

    const LINK_TYPES: [i32; 11] = [
        linktype::NULL,
        linktype::ETHERNET,
        linktype::RAW,
        linktype::RAW_BSD_12,
        linktype::RAW_BSD_14,
        linktype::LOOP,
        linktype::LINUX_SLL,
        linktype::IPV4,
        linktype::IPV6,
        linktype::LINUX_SLL2,
        -1,
    ];

    proptest! {
        #[test]
        fn random_bytes_never_panic(
            lt in proptest::sample::select(&LINK_TYPES[..]),
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let _ = decode_frame(lt, &bytes);
        }

        #[test]
        fn mutated_valid_frames_never_panic(
            which in 0usize..10,
            cut in any::<prop::sample::Index>(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        ) {
            let (lt, mut frame) = valid_frames().swap_remove(which);
            for (at, value) in flips {
                let i = at.index(frame.len());
                frame[i] = value;
            }
            let cut = cut.index(frame.len() + 1);
            if let Ok(Decoded::Tcp(s)) = decode_frame(lt, &frame[..cut]) {
                prop_assert!(s.payload.len() <= cut);
            }
        }
    }
}
