//! Internet checksums (RFC 1071) of IPv4 headers and TCP segments.
//!
//! A segment with a wrong checksum never reaches the receiver's TCP stack, so a sensor that
//! took its bytes would see something the server did not: the classic insertion evasion
//! (Ptacek & Newsham). [`tcp_segment_ok`] says whether a decoded segment's checksums are
//! right, or that they cannot be known: a packet captured on the sending host before the NIC
//! segmented it (IPv4 total length 0) carries checksums the NIC had still to fill in. What to
//! do with a wrong one is the pipeline's decision (`ChecksumMode`).
//!
//! The sum adds 32-bit big-endian words into a 64-bit accumulator and folds at the end, which
//! gives the same one's-complement sum as adding 16-bit words.

use std::net::IpAddr;

use super::TcpSegment;

/// IP protocol number of TCP, as it goes into the pseudo-header.
const TCP: u32 = 6;

/// One's-complement sum of `data` (big-endian 16-bit words, an odd last byte padded with
/// zero), added to `acc`, not folded.
fn add(data: &[u8], mut acc: u64) -> u64 {
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let rest = words.remainder();
    let mut pairs = rest.chunks_exact(2);
    for p in &mut pairs {
        acc += u64::from(u16::from_be_bytes([p[0], p[1]]));
    }
    if let [last] = pairs.remainder() {
        acc += u64::from(*last) << 8;
    }
    acc
}

/// Folds a sum to 16 bits with end-around carries.
fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// True when an IPv4 header (options included) has the right checksum.
pub fn ipv4_header_ok(header: &[u8]) -> bool {
    fold(add(header, 0)) == 0xffff
}

/// True when the TCP bytes (header and payload) sent from `src` to `dst` have the right
/// checksum, with the IPv4 or IPv6 pseudo-header.
pub fn tcp_ok(src: IpAddr, dst: IpAddr, tcp: &[u8]) -> bool {
    let len = tcp.len() as u64;
    let pseudo = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            add(&s.octets(), add(&d.octets(), 0)) + u64::from(TCP) + len
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            add(&s.octets(), add(&d.octets(), 0)) + u64::from(TCP) + len
        }
        _ => return false,
    };
    fold(add(tcp, pseudo)) == 0xffff
}

/// Whether a decoded segment's checksums (IPv4 header, when it had one of its own, and TCP)
/// are right; `None` when they cannot be known (segmentation offload on the capturing host).
pub fn tcp_segment_ok(segment: &TcpSegment<'_>) -> Option<bool> {
    if segment.length_from_capture {
        return None;
    }
    let ip_ok = segment.ipv4_header.is_none_or(ipv4_header_ok);
    Some(ip_ok && tcp_ok(segment.ip.src, segment.ip.dst, segment.tcp_bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{decode_frame, linktype, Decoded};
    use etherparse::PacketBuilder;

    fn frame(v6: bool, payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let b = if v6 {
            b.ipv6(
                [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10],
                [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5],
                64,
            )
        } else {
            b.ipv4([192, 0, 2, 10], [198, 51, 100, 5], 64)
        };
        let b = b.tcp(51000, 80, 1000, 64240).ack(77).psh();
        let mut out = Vec::new();
        b.write(&mut out, payload).expect("build");
        out
    }

    fn verdict(f: &[u8]) -> Option<bool> {
        match decode_frame(linktype::ETHERNET, f) {
            Ok(Decoded::Tcp(s)) => tcp_segment_ok(&s),
            other => panic!("not TCP: {other:?}"),
        }
    }

    #[test]
    fn right_checksums_pass_and_any_flipped_bit_fails() {
        for v6 in [false, true] {
            for payload in [
                &b""[..],
                b"G",
                b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                &[0xff; 1461],
            ] {
                let f = frame(v6, payload);
                assert_eq!(verdict(&f), Some(true), "v6 {v6}, {} bytes", payload.len());
                // Every byte of the IPv4 header takes part (its own checksum), and every byte
                // of the addresses and the segment (the pseudo-header and the TCP sum); the
                // first 8 bytes of an IPv6 header are in no checksum.
                let first = if v6 { 14 + 8 } else { 14 };
                for i in (first..f.len()).step_by(7) {
                    let mut bad = f.clone();
                    bad[i] ^= 0x10;
                    if let Ok(Decoded::Tcp(s)) = decode_frame(linktype::ETHERNET, &bad) {
                        assert_eq!(tcp_segment_ok(&s), Some(false), "v6 {v6}, byte {i} flipped");
                    }
                }
            }
        }
    }

    #[test]
    fn segmentation_offload_cannot_be_checked() {
        let mut f = frame(false, b"HTTP/1.1 200 OK\r\n\r\n");
        f[16] = 0;
        f[17] = 0; // IPv4 total length 0
        assert_eq!(verdict(&f), None);
    }

    #[test]
    fn odd_lengths_and_known_sum() {
        // RFC 1071's example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2.
        assert_eq!(
            fold(add(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], 0)),
            0xddf2
        );
        assert_eq!(fold(add(&[0x01], 0)), 0x0100);
        assert_eq!(fold(add(&[0x00, 0x01, 0xf2], 0)), 0xf201);
    }
}
