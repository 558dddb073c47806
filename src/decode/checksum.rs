//! Internet checksums (RFC 1071) of IPv4 headers and TCP segments.
//!
//! A segment with a wrong checksum never reaches the receiver's TCP stack, so a sensor that
//! took its bytes would see something the server did not: the classic insertion evasion
//! (Ptacek & Newsham). [`tcp_segment_ok`] says whether a decoded segment's checksums are
//! right, or that they cannot be known: a packet captured on the sending host before the NIC
//! segmented it (IPv4 total length 0) carries checksums the NIC had still to fill in. What to
//! do with a wrong one is the pipeline's decision (`ChecksumMode`).
//!
//! The sum adds 64-bit big-endian words with end-around carry and folds at the end, which gives
//! the same one's-complement sum as adding 16-bit words (RFC 1071 §2: any word size works, as
//! 2^16 ≡ 1 modulo 0xffff), at half an instruction a byte — every captured TCP byte goes
//! through it.

use std::net::IpAddr;

use super::TcpSegment;

/// IP protocol number of TCP, as it goes into the pseudo-header.
const TCP: u32 = 6;

/// One's-complement sum of `data` (big-endian 16-bit words, an odd last byte padded with
/// zero), added to `acc`, not folded.
fn add(data: &[u8], acc: u64) -> u64 {
    // Two accumulators, so that the carries of one do not wait for the other.
    let (mut a, mut b) = (acc, 0u64);
    let mut pairs = data.chunks_exact(16);
    for p in &mut pairs {
        let (lo, hi) = p.split_at(8);
        a = add_carry(a, word(lo));
        b = add_carry(b, word(hi));
    }
    let mut rest = pairs.remainder();
    if rest.len() >= 8 {
        let (w, tail) = rest.split_at(8);
        a = add_carry(a, word(w));
        rest = tail;
    }
    if !rest.is_empty() {
        // Zero padding after the last bytes keeps them in the high half of their 16-bit word.
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        b = add_carry(b, u64::from_be_bytes(last));
    }
    add_carry(a, b)
}

/// Eight bytes as a big-endian word (`bytes` holds exactly eight).
fn word(bytes: &[u8]) -> u64 {
    <[u8; 8]>::try_from(bytes).map_or(0, u64::from_be_bytes)
}

/// One's-complement addition of 64-bit words: the carry out comes back in at the bottom.
fn add_carry(a: u64, b: u64) -> u64 {
    let (sum, carry) = a.overflowing_add(b);
    sum + u64::from(carry)
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
    fn wide_words_sum_as_16_bit_words_do() {
        // The RFC 1071 definition, 16 bits at a time.
        fn reference(data: &[u8], init: u64) -> u16 {
            let mut acc = init;
            for w in data.chunks(2) {
                acc += u64::from(w[0]) << 8 | u64::from(*w.get(1).unwrap_or(&0));
            }
            fold(acc)
        }
        let mut state = 0x9e37_79b9_u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        for len in (0..80).chain([1459, 1460, 1461, 65535]) {
            for fill in [None, Some(0x00u8), Some(0xff)] {
                let data: Vec<u8> = (0..len)
                    .map(|_| fill.unwrap_or_else(|| next() as u8))
                    .collect();
                for init in [0u64, 6 + len as u64, 0xffff_fffe] {
                    assert_eq!(
                        fold(add(&data, init)),
                        reference(&data, init),
                        "{len} {fill:?}"
                    );
                }
            }
        }
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
