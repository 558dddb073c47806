//! Frame builders: link layers (Ethernet II, 802.1Q, QinQ, Linux SLL/SLL2, raw IP, BSD
//! loopback), IPv4 (with its header checksum, and fragmentation), IPv6 (with an optional
//! hop-by-hop or destination-options header) and TCP (with its checksum).

use std::net::IpAddr;

use super::pcap::LinkType;

/// TCP flag bits.
pub mod flags {
    /// FIN
    pub const FIN: u8 = 0x01;
    /// SYN
    pub const SYN: u8 = 0x02;
    /// RST
    pub const RST: u8 = 0x04;
    /// PSH
    pub const PSH: u8 = 0x08;
    /// ACK
    pub const ACK: u8 = 0x10;
}

/// IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// IPv6 hop-by-hop options header.
pub const IPV6_HOP_BY_HOP: u8 = 0;
/// IPv6 destination options header.
pub const IPV6_DEST_OPTS: u8 = 60;

/// How frames are framed below IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Ethernet II.
    Ethernet,
    /// Ethernet with one 802.1Q tag.
    Vlan(u16),
    /// Ethernet with an 802.1ad (0x88a8) outer tag and an 802.1Q (0x8100) inner tag.
    QinQ {
        /// Outer (service) VLAN id.
        outer: u16,
        /// Inner (customer) VLAN id.
        inner: u16,
    },
    /// Linux cooked capture v1.
    Sll,
    /// Linux cooked capture v2.
    Sll2,
    /// No link header.
    Raw,
    /// BSD loopback (address family as a little-endian u32).
    Null,
}

impl Link {
    /// The capture file's link type for this framing.
    pub fn link_type(self) -> LinkType {
        match self {
            Link::Ethernet | Link::Vlan(_) | Link::QinQ { .. } => LinkType::Ethernet,
            Link::Sll => LinkType::LinuxSll,
            Link::Sll2 => LinkType::LinuxSll2,
            Link::Raw => LinkType::Raw,
            Link::Null => LinkType::Null,
        }
    }
}

/// MAC address of the client side.
pub const CLIENT_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];
/// MAC address of the server side.
pub const SERVER_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x05];

fn ethertype_of(ip: &[u8]) -> u16 {
    match ip.first().map(|b| b >> 4) {
        Some(6) => 0x86dd,
        _ => 0x0800,
    }
}

/// Puts an IP packet in a link-layer frame. `from_client` picks the source MAC (and the SLL
/// packet type: outgoing for the client, as if captured on the client).
pub fn wrap(link: Link, ip: &[u8], from_client: bool) -> Vec<u8> {
    let ethertype = ethertype_of(ip);
    let (src, dst) = if from_client {
        (CLIENT_MAC, SERVER_MAC)
    } else {
        (SERVER_MAC, CLIENT_MAC)
    };
    let mut f = Vec::with_capacity(ip.len() + 24);
    match link {
        Link::Ethernet | Link::Vlan(_) | Link::QinQ { .. } => {
            f.extend_from_slice(&dst);
            f.extend_from_slice(&src);
            match link {
                Link::Vlan(vid) => {
                    f.extend_from_slice(&0x8100u16.to_be_bytes());
                    f.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
                }
                Link::QinQ { outer, inner } => {
                    f.extend_from_slice(&0x88a8u16.to_be_bytes());
                    f.extend_from_slice(&(outer & 0x0fff).to_be_bytes());
                    f.extend_from_slice(&0x8100u16.to_be_bytes());
                    f.extend_from_slice(&(inner & 0x0fff).to_be_bytes());
                }
                _ => {}
            }
            f.extend_from_slice(&ethertype.to_be_bytes());
        }
        Link::Sll => {
            // packet type (0 to us, 4 outgoing), ARPHRD_ETHER, address length, address (8),
            // protocol.
            f.extend_from_slice(&(if from_client { 4u16 } else { 0u16 }).to_be_bytes());
            f.extend_from_slice(&1u16.to_be_bytes());
            f.extend_from_slice(&6u16.to_be_bytes());
            f.extend_from_slice(&src);
            f.extend_from_slice(&[0, 0]);
            f.extend_from_slice(&ethertype.to_be_bytes());
        }
        Link::Sll2 => {
            // protocol, reserved, interface index, ARPHRD_ETHER, packet type, address length,
            // address (8).
            f.extend_from_slice(&ethertype.to_be_bytes());
            f.extend_from_slice(&[0, 0]);
            f.extend_from_slice(&2u32.to_be_bytes());
            f.extend_from_slice(&1u16.to_be_bytes());
            f.push(if from_client { 4 } else { 0 });
            f.push(6);
            f.extend_from_slice(&src);
            f.extend_from_slice(&[0, 0]);
        }
        Link::Raw => {}
        Link::Null => {
            // AF_INET = 2; AF_INET6 = 24 on NetBSD/OpenBSD (Wireshark accepts 24, 28, 30).
            let family: u32 = if ethertype == 0x86dd { 24 } else { 2 };
            f.extend_from_slice(&family.to_le_bytes());
        }
    }
    f.extend_from_slice(ip);
    f
}

/// One's-complement sum of 16-bit words (without the final inversion).
fn sum16(mut acc: u32, bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The Internet checksum of `bytes`.
pub fn checksum(bytes: &[u8]) -> u16 {
    fold(sum16(0, bytes))
}

/// An IPv4 header (20 bytes, no options) followed by `payload`. `frag` is the flags and
/// fragment-offset word (0x4000 = don't fragment).
pub fn ipv4(src: [u8; 4], dst: [u8; 4], id: u16, frag: u16, proto: u8, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut h = Vec::with_capacity(total as usize);
    h.push(0x45);
    h.push(0);
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&frag.to_be_bytes());
    h.push(64);
    h.push(proto);
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

/// Splits an IPv4 payload into fragments of the given sizes (each but the last a multiple
/// of 8; the last takes whatever is left). Returned in offset order.
pub fn ipv4_fragments(
    src: [u8; 4],
    dst: [u8; 4],
    id: u16,
    proto: u8,
    payload: &[u8],
    sizes: &[usize],
) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut off = 0usize;
    for (i, &size) in sizes.iter().enumerate() {
        let last = i + 1 == sizes.len();
        let end = if last { payload.len() } else { off + size };
        assert!(
            last || size % 8 == 0,
            "fragment sizes must be multiples of 8"
        );
        assert!(
            end <= payload.len() && off < end,
            "fragment sizes exceed the payload"
        );
        let word = ((off / 8) as u16) | if last { 0 } else { 0x2000 };
        out.push(ipv4(src, dst, id, word, proto, &payload[off..end]));
        off = end;
    }
    out
}

/// An IPv6 header followed by `payload`, with an optional extension header
/// ([`IPV6_HOP_BY_HOP`] or [`IPV6_DEST_OPTS`], 8 bytes of PadN) in between.
pub fn ipv6(src: [u8; 16], dst: [u8; 16], ext: Option<u8>, proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(payload.len() + 8);
    let next = match ext {
        Some(kind) => {
            // next header, length in 8-octet units after the first 8, PadN option of 4 zeros.
            body.extend_from_slice(&[proto, 0, 1, 4, 0, 0, 0, 0]);
            kind
        }
        None => proto,
    };
    body.extend_from_slice(payload);
    let mut h = Vec::with_capacity(40 + body.len());
    h.extend_from_slice(&[0x60, 0, 0, 0]);
    h.extend_from_slice(&(body.len() as u16).to_be_bytes());
    h.push(next);
    h.push(64);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h.extend_from_slice(&body);
    h
}

/// A TCP header fields.
#[derive(Debug, Clone, Copy)]
pub struct TcpHeader {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Flag bits ([`flags`]).
    pub flags: u8,
    /// Window.
    pub window: u16,
}

/// A TCP segment (header, an MSS option on SYNs, payload) with its checksum over the
/// pseudo-header of `src` → `dst`.
pub fn tcp(src: IpAddr, dst: IpAddr, h: TcpHeader, payload: &[u8]) -> Vec<u8> {
    let opts: &[u8] = if h.flags & flags::SYN != 0 {
        &[2, 4, 0x05, 0xb4]
    } else {
        &[]
    };
    let hlen = 20 + opts.len();
    let mut s = Vec::with_capacity(hlen + payload.len());
    s.extend_from_slice(&h.sport.to_be_bytes());
    s.extend_from_slice(&h.dport.to_be_bytes());
    s.extend_from_slice(&h.seq.to_be_bytes());
    s.extend_from_slice(&h.ack.to_be_bytes());
    s.push(((hlen / 4) as u8) << 4);
    s.push(h.flags);
    s.extend_from_slice(&h.window.to_be_bytes());
    s.extend_from_slice(&[0, 0, 0, 0]);
    s.extend_from_slice(opts);
    s.extend_from_slice(payload);
    let mut pseudo = Vec::with_capacity(40);
    match (src, dst) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            pseudo.extend_from_slice(&a.octets());
            pseudo.extend_from_slice(&b.octets());
            pseudo.extend_from_slice(&[0, PROTO_TCP]);
            pseudo.extend_from_slice(&(s.len() as u16).to_be_bytes());
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            pseudo.extend_from_slice(&a.octets());
            pseudo.extend_from_slice(&b.octets());
            pseudo.extend_from_slice(&(s.len() as u32).to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, PROTO_TCP]);
        }
        _ => panic!("mixed address families"),
    }
    let c = fold(sum16(sum16(0, &pseudo), &s));
    s[16..18].copy_from_slice(&c.to_be_bytes());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_checksum_verifies() {
        let p = ipv4([192, 0, 2, 1], [198, 51, 100, 5], 7, 0x4000, PROTO_TCP, b"");
        assert_eq!(checksum(&p[..20]), 0);
    }

    #[test]
    fn tcp_checksum_verifies() {
        let src: IpAddr = "192.0.2.1".parse().unwrap();
        let dst: IpAddr = "198.51.100.5".parse().unwrap();
        let h = TcpHeader {
            sport: 1,
            dport: 80,
            seq: 5,
            ack: 0,
            flags: flags::SYN,
            window: 1,
        };
        let seg = tcp(src, dst, h, b"abc");
        let mut pseudo = vec![192, 0, 2, 1, 198, 51, 100, 5, 0, 6];
        pseudo.extend_from_slice(&(seg.len() as u16).to_be_bytes());
        assert_eq!(fold(sum16(sum16(0, &pseudo), &seg)), 0);
    }

    #[test]
    fn fragments_cover_the_payload() {
        let payload: Vec<u8> = (0..100).collect();
        let f = ipv4_fragments([1, 1, 1, 1], [2, 2, 2, 2], 9, 6, &payload, &[40, 32, 0]);
        assert_eq!(f.len(), 3);
        assert_eq!(&f[0][6..8], &0x2000u16.to_be_bytes());
        assert_eq!(&f[1][6..8], &(0x2000u16 | 5).to_be_bytes());
        assert_eq!(&f[2][6..8], &9u16.to_be_bytes());
        assert_eq!(f[2].len(), 20 + 28);
    }

    #[test]
    fn vlan_framing() {
        let ip = ipv4([1, 1, 1, 1], [2, 2, 2, 2], 1, 0, 6, b"");
        let f = wrap(
            Link::QinQ {
                outer: 200,
                inner: 100,
            },
            &ip,
            true,
        );
        assert_eq!(&f[12..14], &[0x88, 0xa8]);
        assert_eq!(&f[14..16], &200u16.to_be_bytes());
        assert_eq!(&f[16..18], &[0x81, 0x00]);
        assert_eq!(&f[20..22], &[0x08, 0x00]);
    }
}
