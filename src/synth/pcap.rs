//! Writes connections' packets as a classic pcap file (microsecond timestamps, magic
//! 0xa1b2c3d4 written little-endian, link type 1 = Ethernet), framing each packet with
//! etherparse so that IPv4 and TCP checksums are right, and spreading packets tied in time
//! 1 µs apart so that timestamps strictly increase over the file.

use std::io::{self, Write};

use etherparse::{IpHeaders, Ipv4Header, PacketBuilder};

use super::tcp::{Flow, ACK, FIN, PSH, SYN, SYN_OPTIONS};

/// 2021-03-03T10:00:00Z, as in `pcaps/`: packet time 0 of every synthetic capture.
pub const BASE_SECS: u64 = 1_614_765_600;

/// A pcap file being written, and what has been written to it.
pub struct PcapWriter<W: Write> {
    out: W,
    frame: Vec<u8>,
    last_ts: Option<u64>,
    first_ts: u64,
    /// Packets written.
    pub packets: u64,
    /// Bytes written, file header included.
    pub bytes: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header to `out`.
    pub fn new(mut out: W) -> io::Result<PcapWriter<W>> {
        let mut head = Vec::with_capacity(24);
        head.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        head.extend_from_slice(&2u16.to_le_bytes());
        head.extend_from_slice(&4u16.to_le_bytes());
        head.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        head.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        head.extend_from_slice(&65_535u32.to_le_bytes()); // snaplen
        head.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
        out.write_all(&head)?;
        Ok(PcapWriter {
            out,
            frame: Vec::with_capacity(2048),
            last_ts: None,
            first_ts: 0,
            packets: 0,
            bytes: 24,
        })
    }

    /// Packet time from the first packet to the last, µs.
    pub fn span_us(&self) -> u64 {
        self.last_ts.unwrap_or(0) - self.first_ts
    }

    /// Packet time of the first packet, µs.
    pub fn first_ts(&self) -> u64 {
        self.first_ts
    }

    /// The underlying writer (to flush it, or sync the file).
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Writes the flow's next packet.
    pub fn write_next(&mut self, flow: &mut Flow) -> io::Result<()> {
        let p = flow.pkts[flow.next];
        flow.next += 1;
        let ts = match self.last_ts {
            Some(last) => p.ts.max(last + 1),
            None => {
                self.first_ts = p.ts;
                p.ts
            }
        };
        self.last_ts = Some(ts);

        let e = &flow.ends;
        let (src_mac, dst_mac, src, dst, sport, dport, ttl, ip_id, window, stream) =
            if p.from_client {
                flow.client_ip_id = flow.client_ip_id.wrapping_add(1);
                (
                    e.client_mac,
                    e.server_mac,
                    e.client,
                    e.server,
                    e.client_port,
                    e.server_port,
                    flow.client_ttl,
                    flow.client_ip_id,
                    1026u16, // × 256
                    &flow.up,
                )
            } else {
                flow.server_ip_id = flow.server_ip_id.wrapping_add(1);
                (
                    e.server_mac,
                    e.client_mac,
                    e.server,
                    e.client,
                    e.server_port,
                    e.client_port,
                    128,
                    flow.server_ip_id,
                    2053u16, // × 256
                    &flow.down,
                )
            };
        let ip = Ipv4Header {
            identification: ip_id,
            dont_fragment: true,
            time_to_live: ttl,
            source: src,
            destination: dst,
            ..Default::default()
        };
        let syn = p.flags & SYN != 0;
        let mut b = PacketBuilder::ethernet2(src_mac, dst_mac)
            .ip(IpHeaders::Ipv4(ip, Default::default()))
            .tcp(sport, dport, p.seq, if syn { 64_240 } else { window });
        if syn {
            b = b
                .syn()
                .options_raw(&SYN_OPTIONS)
                .map_err(io::Error::other)?;
        }
        if p.flags & ACK != 0 {
            b = b.ack(p.ack);
        }
        if p.flags & PSH != 0 {
            b = b.psh();
        }
        if p.flags & FIN != 0 {
            b = b.fin();
        }
        let payload = &stream[p.off as usize..(p.off + p.len) as usize];
        self.frame.clear();
        b.write_to_vec(&mut self.frame, payload)
            .map_err(io::Error::other)?;

        let len = self.frame.len() as u32;
        let mut rec = [0u8; 16];
        rec[0..4].copy_from_slice(&((BASE_SECS + ts / 1_000_000) as u32).to_le_bytes());
        rec[4..8].copy_from_slice(&((ts % 1_000_000) as u32).to_le_bytes());
        rec[8..12].copy_from_slice(&len.to_le_bytes());
        rec[12..16].copy_from_slice(&len.to_le_bytes());
        self.out.write_all(&rec)?;
        self.out.write_all(&self.frame)?;
        self.packets += 1;
        self.bytes += 16 + u64::from(len);
        Ok(())
    }
}
