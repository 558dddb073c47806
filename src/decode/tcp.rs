//! TCP header: ports, sequence numbers, flags, window and the payload slice.
//!
//! The header length comes from the data offset, which must be at least 20 bytes and fit in
//! the bytes the IP layer delivered. Of the options only window scale is read, and only on a
//! SYN (RFC 7323 §2.2: it means nothing elsewhere), for the stream stage's receive-window
//! check; the rest are skipped.

use super::{DecodeError, IpHeader, TcpFlags, TcpSegment};

/// IP protocol number of TCP.
pub const PROTOCOL: u8 = 6;

/// Length of a TCP header without options.
pub const MIN_HEADER_LEN: usize = 20;

/// Reads the TCP header at the start of `bytes`; the rest is the payload.
#[inline]
pub fn decode_tcp(ip: IpHeader, bytes: &[u8]) -> Result<TcpSegment<'_>, DecodeError> {
    let h = bytes
        .first_chunk::<MIN_HEADER_LEN>()
        .ok_or(DecodeError::Truncated("TCP"))?;
    let header_len = usize::from(h[12] >> 4) * 4;
    if header_len < MIN_HEADER_LEN {
        return Err(DecodeError::Malformed("TCP"));
    }
    let payload = bytes
        .get(header_len..)
        .ok_or(DecodeError::Truncated("TCP"))?;
    let flags = TcpFlags(h[13]);
    let window_scale = if flags.syn() {
        window_scale(bytes.get(MIN_HEADER_LEN..header_len).unwrap_or_default())
    } else {
        None
    };
    Ok(TcpSegment {
        ip,
        src_port: u16::from_be_bytes([h[0], h[1]]),
        dst_port: u16::from_be_bytes([h[2], h[3]]),
        seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
        ack: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
        flags,
        window: u16::from_be_bytes([h[14], h[15]]),
        window_scale,
        payload,
        tcp_bytes: bytes,
        ipv4_header: None,
        length_from_capture: false,
    })
}

/// The shift of a window-scale option (kind 3, length 3) among `options`, capped at 14 as
/// RFC 7323 §2.3 says a receiver must. A malformed option list ends the walk. Only SYNs
/// get here: kept out of line so that the per-packet decode stays small.
#[cold]
#[inline(never)]
fn window_scale(mut options: &[u8]) -> Option<u8> {
    while let Some((&kind, rest)) = options.split_first() {
        match kind {
            0 => return None,
            1 => options = rest,
            _ => {
                let len = usize::from(*rest.first()?);
                if len < 2 {
                    return None;
                }
                let option = options.get(..len)?;
                if kind == 3 && len == 3 {
                    return Some(option[2].min(14));
                }
                options = options.get(len..)?;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::VlanIds;
    use std::net::{IpAddr, Ipv4Addr};

    fn ip() -> IpHeader {
        IpHeader {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            vlan: VlanIds::default(),
        }
    }

    fn header(data_offset_words: u8) -> Vec<u8> {
        let mut h = vec![
            0x04,
            0xd2, // 1234
            0x01,
            0xbb, // 443
            0,
            0,
            0,
            100, // seq
            0,
            0,
            0,
            200, // ack
            data_offset_words << 4,
            TcpFlags::PSH | TcpFlags::ACK,
            0x20,
            0x00, // window 8192
            0,
            0,
            0,
            0,
        ];
        h.resize(usize::from(data_offset_words) * 4, 1); // NOP options
        h
    }

    #[test]
    fn fields_and_payload_after_options() {
        let mut b = header(8);
        b.extend_from_slice(b"GET /");
        let s = decode_tcp(ip(), &b).unwrap();
        assert_eq!((s.src_port, s.dst_port), (1234, 443));
        assert_eq!((s.seq, s.ack, s.window), (100, 200, 8192));
        assert!(s.flags.ack() && s.flags.has(TcpFlags::PSH) && !s.flags.syn());
        assert_eq!(s.payload, b"GET /");
    }

    #[test]
    fn window_scale_only_on_a_syn() {
        // MSS 1460, NOP, window scale 7, SACK permitted + 2 NOPs: 12 bytes of options.
        let options = [2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2, 1, 1];
        let mut b = header(5);
        b[12] = 8 << 4;
        b.extend_from_slice(&options);
        b[13] = TcpFlags::SYN;
        assert_eq!(decode_tcp(ip(), &b).unwrap().window_scale, Some(7));
        b[13] = TcpFlags::ACK;
        assert_eq!(decode_tcp(ip(), &b).unwrap().window_scale, None);
        assert_eq!(window_scale(&[3, 3, 20]), Some(14), "capped");
        assert_eq!(
            window_scale(&[1, 1, 0, 3, 3, 2]),
            None,
            "after the end of the list"
        );
        assert_eq!(
            window_scale(&[2, 0, 3, 3, 2]),
            None,
            "a zero length ends the walk"
        );
        assert_eq!(
            window_scale(&[2, 9, 3, 3, 2]),
            None,
            "an option past the header"
        );
        assert_eq!(window_scale(&[3, 3]), None, "truncated");
    }

    #[test]
    fn bad_data_offsets() {
        assert_eq!(
            decode_tcp(ip(), &header(5)[..19]),
            Err(DecodeError::Truncated("TCP"))
        );
        let mut small = header(5);
        small[12] = 4 << 4;
        assert_eq!(decode_tcp(ip(), &small), Err(DecodeError::Malformed("TCP")));
        let mut big = header(5);
        big[12] = 15 << 4;
        assert_eq!(decode_tcp(ip(), &big), Err(DecodeError::Truncated("TCP")));
        // Header exactly fills the bytes: empty payload.
        assert_eq!(decode_tcp(ip(), &header(15)).unwrap().payload, b"");
    }
}
