//! Link layers: strips the link header (and any VLAN tags) of a frame and says which network
//! protocol follows.
//!
//! Supported: Ethernet II; 802.1Q (0x8100), 802.1ad (0x88a8) and the pre-standard 0x9100 tag
//! stacked to any depth (every tag is 4 bytes, so the frame length bounds the loop); Linux
//! cooked captures SLL (16-byte header, protocol at bytes 14..16) and SLL2 (20-byte header,
//! protocol at bytes 0..2), both of which may also carry VLAN tags; Cisco HDLC (4-byte header:
//! address, control, then the protocol as an EtherType at bytes 2..4); raw IP; and BSD loopback,
//! whose 4-byte address family is in the capturing host's byte order for NULL (so both orders
//! are accepted) and in network order for LOOP.

use super::{linktype, DecodeError, VlanIds};

/// EtherType values the link layer acts on.
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
    /// 802.1Q customer VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// 802.1ad service VLAN tag (QinQ outer tag).
    pub const QINQ: u16 = 0x88a8;
    /// Pre-standard QinQ outer tag used by some switches.
    pub const VLAN_9100: u16 = 0x9100;
}

/// BSD address-family values of IPv4 and IPv6 in loopback headers.
pub mod family {
    /// AF_INET on every BSD and Linux.
    pub const INET: u32 = 2;
    /// AF_INET6 on NetBSD and OpenBSD.
    pub const INET6_BSD: u32 = 24;
    /// AF_INET6 on FreeBSD.
    pub const INET6_FREEBSD: u32 = 28;
    /// AF_INET6 on macOS.
    pub const INET6_DARWIN: u32 = 30;
}

/// Length of a Cisco HDLC header.
pub const CHDLC_HEADER_LEN: usize = 4;
/// Length of a Linux cooked (SLL) header.
pub const SLL_HEADER_LEN: usize = 16;
/// Length of a Linux cooked v2 (SLL2) header.
pub const SLL2_HEADER_LEN: usize = 20;

/// What follows the link header of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network<'a> {
    /// IP whose version is read from the first nibble (raw IP link types).
    Ip {
        /// The IP packet (header onwards).
        bytes: &'a [u8],
        /// VLAN ids, outermost first.
        vlan: VlanIds,
    },
    /// IPv4.
    Ipv4 {
        /// The IPv4 packet (header onwards, possibly followed by link padding).
        bytes: &'a [u8],
        /// VLAN ids, outermost first.
        vlan: VlanIds,
    },
    /// IPv6.
    Ipv6 {
        /// The IPv6 packet (header onwards, possibly followed by link padding).
        bytes: &'a [u8],
        /// VLAN ids, outermost first.
        vlan: VlanIds,
    },
    /// Not IP: the EtherType (for loopback link types, the address family, saturated to 16 bits).
    Other {
        /// EtherType or address family.
        ethertype: u16,
    },
}

/// Strips the link header of a frame of the given link type.
pub fn strip(link_type: i32, frame: &[u8]) -> Result<Network<'_>, DecodeError> {
    let vlan = VlanIds::default();
    match link_type {
        linktype::ETHERNET => ethernet(frame),
        linktype::LINUX_SLL => {
            let (h, rest) = frame
                .split_first_chunk::<SLL_HEADER_LEN>()
                .ok_or(DecodeError::Truncated("Linux SLL"))?;
            by_ethertype(u16::from_be_bytes([h[14], h[15]]), rest)
        }
        linktype::LINUX_SLL2 => {
            let (h, rest) = frame
                .split_first_chunk::<SLL2_HEADER_LEN>()
                .ok_or(DecodeError::Truncated("Linux SLL2"))?;
            by_ethertype(u16::from_be_bytes([h[0], h[1]]), rest)
        }
        linktype::C_HDLC => {
            let (h, rest) = frame
                .split_first_chunk::<CHDLC_HEADER_LEN>()
                .ok_or(DecodeError::Truncated("Cisco HDLC"))?;
            by_ethertype(u16::from_be_bytes([h[2], h[3]]), rest)
        }
        linktype::RAW | linktype::RAW_BSD_12 | linktype::RAW_BSD_14 => {
            Ok(Network::Ip { bytes: frame, vlan })
        }
        linktype::IPV4 => Ok(Network::Ipv4 { bytes: frame, vlan }),
        linktype::IPV6 => Ok(Network::Ipv6 { bytes: frame, vlan }),
        linktype::NULL => loopback(frame, true),
        linktype::LOOP => loopback(frame, false),
        other => Err(DecodeError::UnknownLinkType(other)),
    }
}

/// Ethernet II: 6-byte destination, 6-byte source, EtherType.
fn ethernet(frame: &[u8]) -> Result<Network<'_>, DecodeError> {
    let (h, rest) = frame
        .split_first_chunk::<14>()
        .ok_or(DecodeError::Truncated("Ethernet"))?;
    by_ethertype(u16::from_be_bytes([h[12], h[13]]), rest)
}

/// Follows an EtherType through any number of VLAN tags to the network protocol.
pub fn by_ethertype(mut ethertype: u16, mut rest: &[u8]) -> Result<Network<'_>, DecodeError> {
    let mut vlan = VlanIds::default();
    while matches!(
        ethertype,
        ethertype::VLAN | ethertype::QINQ | ethertype::VLAN_9100
    ) {
        let (tag, after) = rest
            .split_first_chunk::<4>()
            .ok_or(DecodeError::Truncated("VLAN"))?;
        vlan.push(u16::from_be_bytes([tag[0], tag[1]]) & 0x0fff);
        ethertype = u16::from_be_bytes([tag[2], tag[3]]);
        rest = after;
    }
    Ok(match ethertype {
        ethertype::IPV4 => Network::Ipv4 { bytes: rest, vlan },
        ethertype::IPV6 => Network::Ipv6 { bytes: rest, vlan },
        ethertype => Network::Other { ethertype },
    })
}

/// BSD loopback: a 4-byte address family, then the IP packet. `host_order` (DLT_NULL) accepts
/// the family in either byte order, since it was written in the capturing host's order.
fn loopback(frame: &[u8], host_order: bool) -> Result<Network<'_>, DecodeError> {
    let (af, rest) = frame
        .split_first_chunk::<4>()
        .ok_or(DecodeError::Truncated("loopback"))?;
    let network = u32::from_be_bytes(*af);
    let swapped = u32::from_le_bytes(*af);
    let vlan = VlanIds::default();
    let ip = |family: u32| match family {
        family::INET => Some(Network::Ipv4 { bytes: rest, vlan }),
        family::INET6_BSD | family::INET6_FREEBSD | family::INET6_DARWIN => {
            Some(Network::Ipv6 { bytes: rest, vlan })
        }
        _ => None,
    };
    if let Some(n) = ip(network) {
        return Ok(n);
    }
    if host_order {
        if let Some(n) = ip(swapped) {
            return Ok(n);
        }
    }
    let family = if host_order {
        network.min(swapped)
    } else {
        network
    };
    Ok(Network::Other {
        ethertype: u16::try_from(family).unwrap_or(u16::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: &Network<'_>) -> Vec<u16> {
        match n {
            Network::Ip { vlan, .. } | Network::Ipv4 { vlan, .. } | Network::Ipv6 { vlan, .. } => {
                vlan.as_slice().to_vec()
            }
            Network::Other { .. } => vec![],
        }
    }

    #[test]
    fn ethernet_ipv4() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00, 0x45, 1, 2]);
        let n = strip(linktype::ETHERNET, &f).unwrap();
        assert_eq!(
            n,
            Network::Ipv4 {
                bytes: &[0x45, 1, 2],
                vlan: VlanIds::default()
            }
        );
    }

    #[test]
    fn vlan_stack_of_five_keeps_four_ids_and_finds_ipv6() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x88, 0xa8]);
        for (i, next) in [0x9100u16, 0x8100, 0x8100, 0x8100, 0x86dd]
            .iter()
            .enumerate()
        {
            let tci = 0xe000 | (i as u16 + 10); // priority bits must be masked off
            f.extend_from_slice(&tci.to_be_bytes());
            f.extend_from_slice(&next.to_be_bytes());
        }
        f.push(0x60);
        let n = strip(linktype::ETHERNET, &f).unwrap();
        assert!(matches!(n, Network::Ipv6 { bytes: [0x60], .. }));
        assert_eq!(ids(&n), vec![10, 11, 12, 13]);
    }

    #[test]
    fn truncated_vlan_tag() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x81, 0x00, 0x00, 0x05, 0x08]);
        assert_eq!(
            strip(linktype::ETHERNET, &f),
            Err(DecodeError::Truncated("VLAN"))
        );
    }

    #[test]
    fn arp_is_not_ip() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x06, 0, 1]);
        assert_eq!(
            strip(linktype::ETHERNET, &f),
            Ok(Network::Other { ethertype: 0x0806 })
        );
    }

    #[test]
    fn short_headers() {
        assert_eq!(
            strip(linktype::ETHERNET, &[0; 13]),
            Err(DecodeError::Truncated("Ethernet"))
        );
        assert_eq!(
            strip(linktype::LINUX_SLL, &[0; 15]),
            Err(DecodeError::Truncated("Linux SLL"))
        );
        assert_eq!(
            strip(linktype::LINUX_SLL2, &[0; 19]),
            Err(DecodeError::Truncated("Linux SLL2"))
        );
        assert_eq!(
            strip(linktype::NULL, &[2, 0, 0]),
            Err(DecodeError::Truncated("loopback"))
        );
    }

    #[test]
    fn loopback_families() {
        let v4_le = [2, 0, 0, 0, 0x45];
        let v4_be = [0, 0, 0, 2, 0x45];
        assert!(matches!(
            strip(linktype::NULL, &v4_le),
            Ok(Network::Ipv4 { bytes: [0x45], .. })
        ));
        assert!(matches!(
            strip(linktype::NULL, &v4_be),
            Ok(Network::Ipv4 { .. })
        ));
        for af in [24u32, 28, 30] {
            let mut le = af.to_le_bytes().to_vec();
            le.push(0x60);
            assert!(matches!(
                strip(linktype::NULL, &le),
                Ok(Network::Ipv6 { .. })
            ));
            let mut be = af.to_be_bytes().to_vec();
            be.push(0x60);
            assert!(matches!(
                strip(linktype::LOOP, &be),
                Ok(Network::Ipv6 { .. })
            ));
        }
        // LOOP is network order only.
        assert_eq!(
            strip(linktype::LOOP, &v4_le),
            Ok(Network::Other {
                ethertype: u16::MAX
            })
        );
        assert_eq!(
            strip(linktype::NULL, &[7, 0, 0, 0]),
            Ok(Network::Other { ethertype: 7 })
        );
    }

    #[test]
    fn cisco_hdlc() {
        // Unicast address 0x0f, control 0, IPv4 / IPv6 / keepalive (SLARP, 0x8035).
        assert!(matches!(
            strip(linktype::C_HDLC, &[0x0f, 0, 0x08, 0x00, 0x45, 1]),
            Ok(Network::Ipv4 {
                bytes: [0x45, 1],
                ..
            })
        ));
        assert!(matches!(
            strip(linktype::C_HDLC, &[0x8f, 0, 0x86, 0xdd, 0x60]),
            Ok(Network::Ipv6 { bytes: [0x60], .. })
        ));
        assert_eq!(
            strip(linktype::C_HDLC, &[0x8f, 0, 0x80, 0x35]),
            Ok(Network::Other { ethertype: 0x8035 })
        );
        assert_eq!(
            strip(linktype::C_HDLC, &[0x0f, 0, 0x08]),
            Err(DecodeError::Truncated("Cisco HDLC"))
        );
    }

    #[test]
    fn unknown_link_type() {
        assert_eq!(
            strip(9999, &[0; 64]),
            Err(DecodeError::UnknownLinkType(9999))
        );
    }
}
