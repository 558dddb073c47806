//! IPv4 and IPv6 headers: addresses, fragments, IPv6 extension headers, then the transport.
//!
//! IPv4: the version must be 4, the header length (IHL) at least 20 bytes and the total length
//! at least the header length. The packet is cut to its total length, which drops Ethernet
//! padding; a total length past the captured bytes (a snaplen cut-off or a lie) is
//! [`DecodeError::Truncated`]. A total length of 0 on an unfragmented packet is what a capture
//! taken on the sending host shows for a segment the network card splits itself (TCP
//! segmentation offload, "large send"; Wireshark presumes the same): the packet runs to the
//! end of the captured bytes. Responders often capture on the Exchange server itself, and
//! these are its large responses. A packet with More Fragments set or a non-zero offset is an
//! [`IpFragment`].
//!
//! IPv6: the packet is cut to 40 + payload length the same way. Extension headers are walked
//! up to [`MAX_IPV6_EXTENSION_HEADERS`]: hop-by-hop, routing and destination options (length
//! in 8-byte units, plus one) and AH (length in 4-byte units, plus two). A fragment header
//! with a non-zero offset or the M flag makes the packet an [`IpFragment`] whose payload is the
//! bytes after the fragment header (the unfragmentable headers before it are not part of the
//! reassembled payload) and whose protocol is the fragment header's next header. An atomic
//! fragment (offset 0, M clear, RFC 6946) is decoded as a whole packet. A payload length of 0
//! with a hop-by-hop header (a jumbogram) is malformed: jumbograms do not occur on the links
//! exhound watches.

use super::{DecodeError, Decoded, FragmentKey, IpFragment, IpHeader, VlanIds};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Extension headers walked at most before a packet is called malformed. RFC 8200 §4.1 allows
/// each header once (destination options twice), so a real chain has at most seven or eight.
pub const MAX_IPV6_EXTENSION_HEADERS: usize = 64;

/// IPv4 header length without options.
pub const IPV4_MIN_HEADER_LEN: usize = 20;
/// IPv6 fixed header length.
pub const IPV6_HEADER_LEN: usize = 40;

/// IPv6 next-header values the extension walk understands.
pub mod next_header {
    /// Hop-by-hop options.
    pub const HOP_BY_HOP: u8 = 0;
    /// Routing header.
    pub const ROUTING: u8 = 43;
    /// Fragment header.
    pub const FRAGMENT: u8 = 44;
    /// Authentication header.
    pub const AH: u8 = 51;
    /// Destination options.
    pub const DESTINATION_OPTIONS: u8 = 60;
}

/// Decodes an IP packet whose version is given by its first nibble.
pub fn decode_ip(bytes: &[u8], vlan: VlanIds) -> Result<Decoded<'_>, DecodeError> {
    match bytes.first().map(|b| b >> 4) {
        None => Err(DecodeError::Truncated("IP")),
        Some(4) => decode_ipv4(bytes, vlan),
        Some(6) => decode_ipv6(bytes, vlan),
        Some(_) => Err(DecodeError::Malformed("IP version")),
    }
}

/// Decodes an IPv4 packet (possibly followed by link-layer padding).
pub fn decode_ipv4(bytes: &[u8], vlan: VlanIds) -> Result<Decoded<'_>, DecodeError> {
    let h = bytes
        .first_chunk::<IPV4_MIN_HEADER_LEN>()
        .ok_or(DecodeError::Truncated("IPv4"))?;
    if h[0] >> 4 != 4 {
        return Err(DecodeError::Malformed("IPv4"));
    }
    let header_len = usize::from(h[0] & 0x0f) * 4;
    let flags_offset = u16::from_be_bytes([h[6], h[7]]);
    let more_fragments = flags_offset & 0x2000 != 0;
    let offset = u32::from(flags_offset & 0x1fff) * 8;
    let header_total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    // Segmentation offload, seen on the sending host (see the module documentation).
    let length_from_capture = header_total == 0 && !more_fragments && offset == 0;
    let total_len = if length_from_capture {
        bytes.len()
    } else {
        header_total
    };
    if header_len < IPV4_MIN_HEADER_LEN || total_len < header_len {
        return Err(DecodeError::Malformed("IPv4"));
    }
    let payload = bytes
        .get(header_len..total_len)
        .ok_or(DecodeError::Truncated("IPv4"))?;
    let ip = IpHeader {
        src: IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15])),
        dst: IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19])),
        vlan,
    };
    let protocol = h[9];
    if more_fragments || offset != 0 {
        return Ok(Decoded::Fragment(IpFragment {
            key: FragmentKey {
                ip: ip.into(),
                id: u32::from(u16::from_be_bytes([h[4], h[5]])),
                protocol,
            },
            offset,
            more_fragments,
            payload,
            ipv4_header: bytes.get(..header_len),
        }));
    }
    let mut decoded = super::decode_transport(ip, protocol, payload)?;
    if let Decoded::Tcp(segment) = &mut decoded {
        segment.ipv4_header = bytes.get(..header_len);
        segment.length_from_capture = length_from_capture;
    }
    Ok(decoded)
}

/// Decodes an IPv6 packet (possibly followed by link-layer padding).
pub fn decode_ipv6(bytes: &[u8], vlan: VlanIds) -> Result<Decoded<'_>, DecodeError> {
    let (h, rest) = bytes
        .split_first_chunk::<IPV6_HEADER_LEN>()
        .ok_or(DecodeError::Truncated("IPv6"))?;
    if h[0] >> 4 != 6 {
        return Err(DecodeError::Malformed("IPv6"));
    }
    let payload_len = usize::from(u16::from_be_bytes([h[4], h[5]]));
    let mut next = h[6];
    if payload_len == 0 && next == next_header::HOP_BY_HOP {
        return Err(DecodeError::Malformed("IPv6 jumbogram"));
    }
    let mut rest = rest
        .get(..payload_len)
        .ok_or(DecodeError::Truncated("IPv6"))?;
    let ip = IpHeader {
        src: IpAddr::V6(Ipv6Addr::from(read_16(&h[8..24]))),
        dst: IpAddr::V6(Ipv6Addr::from(read_16(&h[24..40]))),
        vlan,
    };
    for _ in 0..=MAX_IPV6_EXTENSION_HEADERS {
        let (following, ext_len) = match next {
            next_header::HOP_BY_HOP | next_header::ROUTING | next_header::DESTINATION_OPTIONS => {
                let e = ext_prefix(rest)?;
                (e[0], (usize::from(e[1]) + 1) * 8)
            }
            next_header::AH => {
                let e = ext_prefix(rest)?;
                (e[0], (usize::from(e[1]) + 2) * 4)
            }
            next_header::FRAGMENT => {
                let (f, after) = rest
                    .split_first_chunk::<8>()
                    .ok_or(DecodeError::Truncated("IPv6 fragment"))?;
                let offset_flags = u16::from_be_bytes([f[2], f[3]]);
                let offset = u32::from(offset_flags >> 3) * 8;
                let more_fragments = offset_flags & 1 != 0;
                if offset == 0 && !more_fragments {
                    // Atomic fragment: the whole datagram is here.
                    (f[0], 8)
                } else {
                    return Ok(Decoded::Fragment(IpFragment {
                        key: FragmentKey {
                            ip: ip.into(),
                            id: u32::from_be_bytes([f[4], f[5], f[6], f[7]]),
                            protocol: f[0],
                        },
                        offset,
                        more_fragments,
                        payload: after,
                        ipv4_header: None,
                    }));
                }
            }
            protocol => return super::decode_transport(ip, protocol, rest),
        };
        next = following;
        rest = rest
            .get(ext_len..)
            .ok_or(DecodeError::Truncated("IPv6 extension"))?;
    }
    Err(DecodeError::Malformed("IPv6 extension chain"))
}

/// The next-header and length bytes that start every variable-length extension header.
fn ext_prefix(rest: &[u8]) -> Result<&[u8; 2], DecodeError> {
    rest.first_chunk::<2>()
        .ok_or(DecodeError::Truncated("IPv6 extension"))
}

/// Copies a 16-byte address out of a slice of the fixed header (always 16 bytes long).
pub(super) fn read_16(b: &[u8]) -> [u8; 16] {
    <[u8; 16]>::try_from(b).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(flags_offset: u16, total_len: u16, ihl_words: u8, protocol: u8) -> Vec<u8> {
        let mut h = vec![0u8; usize::from(ihl_words).max(5) * 4];
        h[0] = 0x40 | ihl_words;
        h[2..4].copy_from_slice(&total_len.to_be_bytes());
        h[4..6].copy_from_slice(&0xbeefu16.to_be_bytes());
        h[6..8].copy_from_slice(&flags_offset.to_be_bytes());
        h[8] = 64;
        h[9] = protocol;
        h[12..16].copy_from_slice(&[192, 0, 2, 1]);
        h[16..20].copy_from_slice(&[192, 0, 2, 2]);
        h
    }

    #[test]
    fn ipv4_header_checks() {
        let vlan = VlanIds::default();
        assert_eq!(
            decode_ipv4(&v4(0, 20, 5, 17)[..19], vlan),
            Err(DecodeError::Truncated("IPv4"))
        );
        let mut bad_version = v4(0, 20, 5, 17);
        bad_version[0] = 0x65;
        assert_eq!(
            decode_ipv4(&bad_version, vlan),
            Err(DecodeError::Malformed("IPv4"))
        );
        assert_eq!(
            decode_ipv4(&v4(0, 20, 4, 17), vlan),
            Err(DecodeError::Malformed("IPv4"))
        );
        assert_eq!(
            decode_ipv4(&v4(0, 19, 5, 17), vlan),
            Err(DecodeError::Malformed("IPv4"))
        );
        // IHL 6 but only 20 bytes captured and total length 24.
        let mut short_options = v4(0, 24, 6, 17);
        short_options.truncate(22);
        assert_eq!(
            decode_ipv4(&short_options, vlan),
            Err(DecodeError::Truncated("IPv4"))
        );
        // Total length beyond the capture (snaplen cut-off).
        let mut cut = v4(0, 100, 5, 17);
        cut.extend_from_slice(&[0; 40]);
        assert_eq!(decode_ipv4(&cut, vlan), Err(DecodeError::Truncated("IPv4")));
    }

    #[test]
    fn ipv4_total_length_zero_is_segmentation_offload() {
        let vlan = VlanIds::default();
        // Unfragmented: the packet runs to the end of the capture.
        let mut tso = v4(0x4000, 0, 5, 6); // DF, total length 0
        tso.extend_from_slice(&[0u8; 20]); // a TCP header, data offset 5
        tso[20 + 12] = 5 << 4;
        let Ok(Decoded::Tcp(t)) = decode_ipv4(&tso, vlan) else {
            panic!("TSO packet not decoded: {:?}", decode_ipv4(&tso, vlan))
        };
        assert!(t.payload.is_empty());
        tso.extend_from_slice(b"4000 bytes of response");
        let Ok(Decoded::Tcp(t)) = decode_ipv4(&tso, vlan) else {
            panic!("TSO packet with data not decoded")
        };
        assert_eq!(t.payload, b"4000 bytes of response");
        // A fragment with total length 0 is still malformed.
        assert_eq!(
            decode_ipv4(&v4(0x2000, 0, 5, 6), vlan),
            Err(DecodeError::Malformed("IPv4"))
        );
        assert_eq!(
            decode_ipv4(&v4(10, 0, 5, 6), vlan),
            Err(DecodeError::Malformed("IPv4"))
        );
    }

    #[test]
    fn ipv4_fragment_fields() {
        let mut p = v4(0x2000 | 185, 28, 5, 6); // MF, offset 185*8
        p.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 0xee, 0xee]); // 2 bytes padding
        let Ok(Decoded::Fragment(f)) = decode_ipv4(&p, VlanIds::default()) else {
            panic!("not a fragment")
        };
        assert_eq!(f.offset, 1480);
        assert!(f.more_fragments);
        assert_eq!(f.key.id, 0xbeef);
        assert_eq!(f.key.protocol, 6);
        assert_eq!(f.payload, &[1, 2, 3, 4, 5, 6, 7, 8]);
        // Last fragment: offset only, DF bit ignored.
        let mut last = v4(0x4000 | 3, 21, 5, 6);
        last.push(9);
        let Ok(Decoded::Fragment(f)) = decode_ipv4(&last, VlanIds::default()) else {
            panic!("not a fragment")
        };
        assert_eq!(
            (f.offset, f.more_fragments, f.payload),
            (24, false, &[9u8][..])
        );
    }

    #[test]
    fn ipv4_options_skipped_and_other_protocol() {
        let mut p = v4(0, 32, 6, 17);
        p.extend_from_slice(&[0; 8]);
        assert_eq!(
            decode_ipv4(&p, VlanIds::default()),
            Ok(Decoded::OtherIp { protocol: 17 })
        );
    }

    fn v6(next: u8, payload: &[u8]) -> Vec<u8> {
        let mut h = vec![0u8; 40];
        h[0] = 0x60;
        h[4..6].copy_from_slice(&(payload.len() as u16).to_be_bytes());
        h[6] = next;
        h[7] = 64;
        h[8] = 0x20;
        h[23] = 1;
        h[24] = 0x20;
        h[39] = 2;
        h.extend_from_slice(payload);
        h
    }

    #[test]
    fn ipv6_header_checks() {
        let vlan = VlanIds::default();
        assert_eq!(
            decode_ipv6(&v6(59, &[])[..39], vlan),
            Err(DecodeError::Truncated("IPv6"))
        );
        let mut bad = v6(59, &[]);
        bad[0] = 0x40;
        assert_eq!(decode_ipv6(&bad, vlan), Err(DecodeError::Malformed("IPv6")));
        assert_eq!(
            decode_ipv6(&v6(0, &[]), vlan),
            Err(DecodeError::Malformed("IPv6 jumbogram"))
        );
        assert_eq!(
            decode_ipv6(&v6(59, &[]), vlan),
            Ok(Decoded::OtherIp { protocol: 59 })
        );
        let mut cut = v6(17, &[0; 16]);
        cut.truncate(50);
        assert_eq!(decode_ipv6(&cut, vlan), Err(DecodeError::Truncated("IPv6")));
    }

    #[test]
    fn ipv6_extension_lengths() {
        let vlan = VlanIds::default();
        // Routing header (len 1 → 16 bytes), AH (len 4 → 24 bytes), then UDP.
        let mut p = vec![next_header::AH, 1];
        p.resize(16, 0);
        p.extend_from_slice(&[17, 4]);
        p.resize(16 + 24, 0);
        p.extend_from_slice(&[0; 8]);
        assert_eq!(
            decode_ipv6(&v6(next_header::ROUTING, &p), vlan),
            Ok(Decoded::OtherIp { protocol: 17 })
        );
        // The AH claims one more 4-byte unit than is there.
        let mut short = vec![17, 5];
        short.resize(24, 0);
        assert_eq!(
            decode_ipv6(&v6(next_header::AH, &short), vlan),
            Err(DecodeError::Truncated("IPv6 extension"))
        );
        // One byte of an extension header.
        assert_eq!(
            decode_ipv6(&v6(next_header::DESTINATION_OPTIONS, &[6]), vlan),
            Err(DecodeError::Truncated("IPv6 extension"))
        );
    }

    #[test]
    fn ipv6_extension_chain_limit() {
        let vlan = VlanIds::default();
        let chain = |n: usize| {
            let mut p = Vec::new();
            for _ in 0..n - 1 {
                p.extend_from_slice(&[next_header::DESTINATION_OPTIONS, 0, 1, 4, 0, 0, 0, 0]);
            }
            p.extend_from_slice(&[59, 0, 1, 4, 0, 0, 0, 0]);
            v6(next_header::DESTINATION_OPTIONS, &p)
        };
        assert_eq!(
            decode_ipv6(&chain(MAX_IPV6_EXTENSION_HEADERS), vlan),
            Ok(Decoded::OtherIp { protocol: 59 })
        );
        assert_eq!(
            decode_ipv6(&chain(MAX_IPV6_EXTENSION_HEADERS + 1), vlan),
            Err(DecodeError::Malformed("IPv6 extension chain"))
        );
    }

    #[test]
    fn ipv6_fragment_after_unfragmentable_headers() {
        let mut p = vec![next_header::ROUTING, 0, 0, 0, 0, 0, 0, 0]; // hop-by-hop
        p.extend_from_slice(&[next_header::FRAGMENT, 0, 0, 0, 0, 0, 0, 0]); // routing
        p.extend_from_slice(&[6, 0, 0x05, 0x01, 0xde, 0xad, 0xbe, 0xef]); // offset 160 units, M
        p.extend_from_slice(b"abcdefgh");
        let packet = v6(next_header::HOP_BY_HOP, &p);
        let Ok(Decoded::Fragment(f)) = decode_ipv6(&packet, VlanIds::default()) else {
            panic!("not a fragment")
        };
        assert_eq!(f.key.id, 0xdead_beef);
        assert_eq!(f.key.protocol, 6);
        assert_eq!(f.offset, 1280);
        assert!(f.more_fragments);
        assert_eq!(f.payload, b"abcdefgh");
        assert!(matches!(f.key.ip.src, IpAddr::V6(a) if a.segments()[0] == 0x2000));
    }

    #[test]
    fn ipv6_atomic_fragment_is_a_whole_packet() {
        let mut p = vec![17, 0, 0, 0, 0, 0, 0, 9];
        p.extend_from_slice(&[0; 8]);
        assert_eq!(
            decode_ipv6(&v6(next_header::FRAGMENT, &p), VlanIds::default()),
            Ok(Decoded::OtherIp { protocol: 17 })
        );
        assert_eq!(
            decode_ipv6(&v6(next_header::FRAGMENT, &[17, 0, 0]), VlanIds::default()),
            Err(DecodeError::Truncated("IPv6 fragment"))
        );
    }

    #[test]
    fn version_nibble() {
        assert_eq!(
            decode_ip(&[], VlanIds::default()),
            Err(DecodeError::Truncated("IP"))
        );
        assert_eq!(
            decode_ip(&[0x50; 40], VlanIds::default()),
            Err(DecodeError::Malformed("IP version"))
        );
    }
}
