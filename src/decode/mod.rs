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

pub mod defrag;

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
    /// TCP payload.
    pub payload: &'a [u8],
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

/// Decodes one frame of the given link type.
pub fn decode_frame(link_type: i32, frame: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let _ = (link_type, frame);
    unimplemented!("decode_frame")
}

/// Decodes the upper-layer payload of a reassembled datagram (the output of the
/// defragmenter) as a transport packet.
pub fn decode_transport<'a>(
    ip: IpHeader,
    protocol: u8,
    payload: &'a [u8],
) -> Result<Decoded<'a>, DecodeError> {
    let _ = (ip, protocol, payload);
    unimplemented!("decode_transport")
}
