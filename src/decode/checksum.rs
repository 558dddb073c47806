//! Internet checksums (RFC 1071) of IPv4 headers and TCP segments.
//!
//! A segment with a wrong checksum never reaches the receiver's TCP stack, so a sensor that
//! took its bytes would see something the server did not: the classic insertion evasion
//! (Ptacek & Newsham). [`tcp_segment_ok`] says whether a decoded segment's checksums are
//! right, or that they cannot be known: a packet captured on the sending host before the NIC
//! segmented it (IPv4 total length 0) carries checksums the NIC had still to fill in. What to
//! do with a wrong one is the pipeline's decision (`ChecksumMode`).
//!
//! The sum adds the bytes as native-endian 32-bit words into 64-bit accumulators and folds at
//! the end. That is the same one's-complement sum as adding big-endian 16-bit words: any word
//! size works, as 2^16 ≡ 1 modulo 0xffff, and the byte order only swaps the two bytes of the
//! folded result (RFC 1071 §2), which a check against 0xffff does not see. Without carries to
//! propagate, the compiler vectorises the loop: a tenth of an instruction a byte, where the
//! big-endian 64-bit sum with end-around carry took nearly one — and every captured TCP byte
//! goes through it.

use std::net::IpAddr;

use super::TcpSegment;

/// IP protocol number of TCP, as it goes into the pseudo-header.
const TCP: u32 = 6;

/// Bytes summed per step of the main loop: one accumulator per 4 of them.
const STEP: usize = 32;

/// One's-complement sum of `data` (native-endian words, a short last word padded with zero
/// bytes), not folded. Each accumulator takes at most one 32-bit word per 32 bytes, so none
/// can overflow for any slice that fits in memory.
fn add(data: &[u8]) -> u64 {
    let mut acc = [0u64; STEP / 4];
    let mut steps = data.chunks_exact(STEP);
    for step in &mut steps {
        let Ok(step) = <&[u8; STEP]>::try_from(step) else {
            continue;
        };
        for (i, a) in acc.iter_mut().enumerate() {
            let w = [
                step[4 * i],
                step[4 * i + 1],
                step[4 * i + 2],
                step[4 * i + 3],
            ];
            *a += u64::from(u32::from_ne_bytes(w));
        }
    }
    let mut sum: u64 = acc.iter().sum();
    // The rest (all of a 20-byte IPv4 header) as 64-bit words, each added as its two 32-bit
    // halves: half the steps of taking 32-bit words one by one.
    let mut pairs = steps.remainder().chunks_exact(8);
    for pair in &mut pairs {
        let pair = <[u8; 8]>::try_from(pair).map_or(0, u64::from_ne_bytes);
        sum += (pair & 0xffff_ffff) + (pair >> 32);
    }
    let mut rest = pairs.remainder().chunks_exact(4);
    for w in &mut rest {
        sum += u64::from(word(w));
    }
    let tail = rest.remainder();
    if !tail.is_empty() {
        // Zero bytes after the last ones, as RFC 1071 pads an odd byte.
        let mut last = [0u8; 4];
        last[..tail.len()].copy_from_slice(tail);
        sum += u64::from(u32::from_ne_bytes(last));
    }
    sum
}

/// Four bytes as a native-endian word (`bytes` holds exactly four).
fn word(bytes: &[u8]) -> u32 {
    <[u8; 4]>::try_from(bytes).map_or(0, u32::from_ne_bytes)
}

/// Folds a sum to 16 bits with end-around carries: four fixed steps, no loop (each bound
/// below holds for any `u64`).
fn fold(acc: u64) -> u16 {
    let acc = (acc & 0xffff_ffff) + (acc >> 32); // < 2^33
    let acc = (acc & 0xffff) + (acc >> 16); // < 2^17 + 2^16
    let acc = (acc & 0xffff) + (acc >> 16); // <= 0x1_0001
    let acc = (acc & 0xffff) + (acc >> 16); // <= 0xffff
    acc as u16
}

/// True when an IPv4 header (options included) has the right checksum.
pub fn ipv4_header_ok(header: &[u8]) -> bool {
    fold(add(header)) == 0xffff
}

/// True when the TCP bytes (header and payload) sent from `src` to `dst` have the right
/// checksum, with the IPv4 or IPv6 pseudo-header.
pub fn tcp_ok(src: IpAddr, dst: IpAddr, tcp: &[u8]) -> bool {
    // The pseudo-header's protocol and length, as the big-endian words they are on the wire
    // (IPv6's 32-bit length; for IPv4 the same sum, its upper zero bytes adding nothing).
    let words = u64::from(TCP.to_be()) + u64::from((tcp.len() as u32).to_be());
    let pseudo = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => add(&s.octets()) + add(&d.octets()),
        (IpAddr::V6(s), IpAddr::V6(d)) => add(&s.octets()) + add(&d.octets()),
        _ => return false,
    };
    fold(add(tcp) + pseudo + words) == 0xffff
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

    /// The folded sum as RFC 1071 writes it (big-endian 16-bit words).
    fn be_sum(data: &[u8]) -> u16 {
        u16::from_be(fold(add(data)))
    }

    #[test]
    fn wide_words_sum_as_16_bit_words_do() {
        // The RFC 1071 definition, 16 bits at a time.
        fn reference(data: &[u8], init: u64) -> u16 {
            let mut acc = init;
            for w in data.chunks(2) {
                acc += u64::from(w[0]) << 8 | u64::from(*w.get(1).unwrap_or(&0));
            }
            loop_fold(acc)
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
                        fold(u64::from(be_sum(&data)) + init),
                        reference(&data, init),
                        "{len} {fill:?}"
                    );
                }
            }
        }
    }

    /// Folding as RFC 1071 does: add the carries back until none is left.
    fn loop_fold(mut acc: u64) -> u16 {
        while acc > 0xffff {
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc as u16
    }

    #[test]
    fn fixed_steps_fold_as_the_loop_does() {
        let edges = [0, 1, 0xfffe, 0xffff, 0x1_0000, 0x1_0001, 0x1_fffe, 0x1_ffff];
        let mut values: Vec<u64> = edges.to_vec();
        for shift in [16, 32, 48] {
            values.extend(edges.iter().map(|e| e << shift | 0xffff));
            values.extend(edges.iter().map(|e| (e << shift).wrapping_sub(1)));
        }
        values.extend([
            u64::MAX,
            u64::MAX - 1,
            u64::MAX >> 1,
            0xffff_ffff,
            0x1_ffff_fffe,
        ]);
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(x);
            values.push(x >> (x % 64));
        }
        for v in values {
            assert_eq!(fold(v), loop_fold(v), "{v:#x}");
        }
    }

    #[test]
    fn odd_lengths_and_known_sum() {
        // RFC 1071's example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2.
        assert_eq!(
            be_sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
        assert_eq!(be_sum(&[0x01]), 0x0100);
        assert_eq!(be_sum(&[0x00, 0x01, 0xf2]), 0xf201);
    }
}
