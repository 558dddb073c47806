//! TCP header: ports, sequence numbers, flags, window and the payload slice.
//!
//! The header length comes from the data offset, which must be at least 20 bytes and fit in
//! the bytes the IP layer delivered. Options are skipped, not parsed: the stream stage needs
//! none of them.

use super::{DecodeError, IpHeader, TcpFlags, TcpSegment};

/// IP protocol number of TCP.
pub const PROTOCOL: u8 = 6;

/// Length of a TCP header without options.
pub const MIN_HEADER_LEN: usize = 20;

/// Reads the TCP header at the start of `bytes`; the rest is the payload.
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
    Ok(TcpSegment {
        ip,
        src_port: u16::from_be_bytes([h[0], h[1]]),
        dst_port: u16::from_be_bytes([h[2], h[3]]),
        seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
        ack: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
        flags: TcpFlags(h[13]),
        window: u16::from_be_bytes([h[14], h[15]]),
        payload,
        tcp_bytes: bytes,
        ipv4_header: None,
        length_from_capture: false,
    })
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
