//! Flood captures for the memory budget (README "Bounded memory"): one capture per flood
//! shape, each ending with the same ProxyLogon request on a connection of its own, which must
//! still be reported after the flood. Written by `examples/gen_floods.rs` (large, for
//! `scripts/flood-rss.sh`) and, small, by `tests/floods.rs`.
#![allow(dead_code)]

use std::io::{BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use super::conv::Conv;
use super::evasions;
use super::frame::{self, flags, Link, TcpHeader};
use super::scenarios;

const SERVER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 20);

/// A pcap written as it is built (the large floods do not fit comfortably in memory).
pub struct Writer {
    out: BufWriter<std::fs::File>,
    ts_ns: u64,
    step_ns: u64,
}

impl Writer {
    pub fn create(path: &Path, step_ns: u64) -> std::io::Result<Writer> {
        let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
        // Classic pcap, nanosecond timestamps, little-endian, Ethernet.
        out.write_all(&0xa1b2_3c4du32.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&[0; 8])?;
        out.write_all(&262_144u32.to_le_bytes())?;
        out.write_all(&1u32.to_le_bytes())?;
        Ok(Writer {
            out,
            ts_ns: super::pcap::BASE_SECS * 1_000_000_000,
            step_ns,
        })
    }

    fn frame(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.ts_ns += self.step_ns;
        let secs = (self.ts_ns / 1_000_000_000) as u32;
        let nanos = (self.ts_ns % 1_000_000_000) as u32;
        self.out.write_all(&secs.to_le_bytes())?;
        self.out.write_all(&nanos.to_le_bytes())?;
        self.out.write_all(&(data.len() as u32).to_le_bytes())?;
        self.out.write_all(&(data.len() as u32).to_le_bytes())?;
        self.out.write_all(data)
    }

    fn conv(&mut self, c: &Conv) -> std::io::Result<()> {
        for f in c.frames(Link::Ethernet) {
            self.frame(&f)?;
        }
        Ok(())
    }

    /// The attack after the flood, a second later, then the end of the file.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.ts_ns += 1_000_000_000;
        let mut c = Conv::new("203.0.113.66:49711", "198.51.100.20:443");
        c.handshake();
        c.client(&evasions::attack());
        c.server(&evasions::proxied());
        c.close();
        self.conv(&c)?;
        self.out.flush()
    }
}

/// Client address number `i` (10.0.0.0/8, distinct for 16 million values).
fn client(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0a00_0000 | (i & 0x00ff_ffff))
}

fn conv_of(i: u32) -> Conv {
    Conv::new(
        &format!("{}:{}", client(i), 40_000 + i % 20_000),
        &format!("{SERVER}:443"),
    )
}

fn syn_flood(w: &mut Writer, n: u32) -> std::io::Result<()> {
    for i in 0..n {
        let (src, dst) = (IpAddr::V4(client(i)), IpAddr::V4(SERVER));
        let h = TcpHeader {
            sport: 40_000 + (i % 20_000) as u16,
            dport: 443,
            seq: i.wrapping_mul(2_654_435_761),
            ack: 0,
            flags: flags::SYN,
            window: 64_240,
        };
        let tcp = frame::tcp(src, dst, h, b"");
        let ip = frame::ipv4(
            client(i).octets(),
            SERVER.octets(),
            i as u16,
            0x4000,
            frame::PROTO_TCP,
            &tcp,
        );
        w.frame(&frame::wrap(Link::Ethernet, &ip, true))?;
    }
    Ok(())
}

fn out_of_order(w: &mut Writer, n: u32) -> std::io::Result<()> {
    for i in 0..n {
        let mut c = conv_of(i);
        c.handshake();
        c.segment(true, 1000, &[b'x'; 1000]);
        w.conv(&c)?;
    }
    Ok(())
}

fn fragments(w: &mut Writer, n: u32) -> std::io::Result<()> {
    let payload = vec![0x41u8; 1400];
    for i in 0..n {
        // A first fragment (more fragments, offset 0) whose rest never comes.
        let ip = frame::ipv4(
            client(i).octets(),
            SERVER.octets(),
            i as u16,
            0x2000,
            frame::PROTO_TCP,
            &payload,
        );
        w.frame(&frame::wrap(Link::Ethernet, &ip, true))?;
    }
    Ok(())
}

fn header_bomb(w: &mut Writer, n: u32) -> std::io::Result<()> {
    let mut head = b"GET /owa/ HTTP/1.1\r\nHost: mail.lab\r\n".to_vec();
    let mut k = 0;
    while head.len() < 60_000 {
        head.extend_from_slice(format!("X-Filler-{k}: {}\r\n", "y".repeat(80)).as_bytes());
        k += 1;
    }
    for i in 0..n {
        let mut c = conv_of(i);
        c.acks = false;
        c.handshake();
        c.client(&head);
        w.conv(&c)?;
    }
    Ok(())
}

fn decompression_bomb(w: &mut Writer, n: u32) -> std::io::Result<()> {
    let body = scenarios::gzip(&vec![0u8; 4 << 20]);
    let mut resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        body.len() * 2
    )
    .into_bytes();
    resp.extend_from_slice(&body);
    for i in 0..n {
        let mut c = conv_of(i);
        c.acks = false;
        c.handshake();
        c.client(&scenarios::get("/owa/bomb"));
        c.server(&resp);
        w.conv(&c)?;
    }
    Ok(())
}

fn chunk_bomb(w: &mut Writer, n: u32) -> std::io::Result<()> {
    let mut req =
        b"POST /ews/exchange.asmx HTTP/1.1\r\nHost: mail.lab\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for _ in 0..50_000 {
        req.extend_from_slice(b"1\r\na\r\n");
    }
    for i in 0..n {
        let mut c = conv_of(i);
        c.acks = false;
        c.handshake();
        c.client(&req);
        w.conv(&c)?;
    }
    Ok(())
}

fn pipeline_flood(w: &mut Writer, n: u32) -> std::io::Result<()> {
    let mut reqs = Vec::new();
    for k in 0..2_000 {
        reqs.extend_from_slice(&scenarios::get(&format!("/owa/p{k}")));
    }
    for i in 0..n {
        let mut c = conv_of(i);
        c.acks = false;
        c.handshake();
        c.client(&reqs);
        w.conv(&c)?;
    }
    Ok(())
}

fn one_byte_segments(w: &mut Writer, n: u32) -> std::io::Result<()> {
    let mut head = b"GET /owa/ HTTP/1.1\r\nHost: mail.lab\r\n".to_vec();
    while head.len() < 2_000 {
        head.extend_from_slice(b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    for i in 0..n {
        let mut c = conv_of(i).mss(1);
        c.acks = false;
        c.handshake();
        c.client(&head);
        w.conv(&c)?;
    }
    Ok(())
}

/// (file, builder, count at scale 1).
pub type Shape = (
    &'static str,
    fn(&mut Writer, u32) -> std::io::Result<()>,
    f64,
);

/// (file, builder, count at scale 1)
pub const SHAPES: &[Shape] = &[
    ("syn-flood.pcap", syn_flood, 1_000_000.0),
    ("out-of-order-storm.pcap", out_of_order, 100_000.0),
    ("fragment-flood.pcap", fragments, 100_000.0),
    ("header-bomb.pcap", header_bomb, 4_000.0),
    ("decompression-bomb.pcap", decompression_bomb, 2_000.0),
    ("chunk-bomb.pcap", chunk_bomb, 500.0),
    ("pipeline-flood.pcap", pipeline_flood, 200.0),
    ("one-byte-segments.pcap", one_byte_segments, 1_000.0),
];

/// Writes every flood capture into `dir`, each with its shape's count times `scale` (at
/// least 1); returns (path, count) of each.
pub fn write_all(dir: &Path, scale: f64) -> std::io::Result<Vec<(std::path::PathBuf, u32)>> {
    std::fs::create_dir_all(dir)?;
    let mut out = Vec::new();
    for (file, build, count) in SHAPES {
        let n = ((count * scale).round() as u32).max(1);
        let path = dir.join(file);
        let mut w = Writer::create(&path, 1_000)?;
        build(&mut w, n)?;
        w.finish()?;
        out.push((path, n));
    }
    Ok(out)
}
