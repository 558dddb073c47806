//! Fills `fuzz/corpus/<target>/` with seeds for the fuzz targets of `fuzz/` (`make
//! fuzz-seeds`).
//!
//! `cargo run --example fuzz_seeds [-- OUT_DIR]` (default `fuzz/corpus`), from the repository
//! root. From every capture under `pcaps/`: the file itself (`pcap_reader`), its frames
//! (`decode`, `pipeline` and `sensor`), the TCP segments of each of its connections
//! (`reassembly`, and `pipeline` and `sensor` as built segments) and the stream events those
//! segments give (`http`); a few HTTP exchanges with compressed bodies (gzip, deflate, LZMA)
//! that the captures lack; and one seed per rule of `signatures/*.rules` (`rules`). The seeds
//! are written in the formats of `fuzz/src/format.rs`, which this example includes, so they
//! always match what the targets read. The output is deterministic; the corpus directories
//! are not committed.

#[cfg(feature = "pcap")]
#[path = "../fuzz/src/format.rs"]
#[allow(dead_code)]
mod format;

#[cfg(not(feature = "pcap"))]
fn main() {
    eprintln!("fuzz_seeds reads captures through libpcap: build it with the `pcap` feature");
    std::process::exit(2);
}

#[cfg(feature = "pcap")]
fn main() -> anyhow::Result<()> {
    seeds::run()
}

#[cfg(feature = "pcap")]
mod seeds {
    use std::collections::BTreeMap;
    use std::io::Write as _;
    use std::net::IpAddr;
    use std::path::{Path, PathBuf};

    use anyhow::Context as _;
    use exhound::capture::{expand_inputs, CaptureFile};
    use exhound::decode::defrag::{DefragConfig, Defragmenter};
    use exhound::decode::{decode_frame, decode_transport, Decoded, IpHeader, TcpSegment};
    use exhound::flow::Side;
    use exhound::stream::{ReassemblyMemory, StreamConfig, StreamEvent, StreamStats, TcpSession};
    use exhound::time::Timestamp;

    use super::format::*;

    /// Bytes of one seed at most (past it, records are left out): the fuzz runs' `-max_len`.
    const MAX_SEED: usize = 16 << 10;
    /// Capture files larger than this are not `pcap_reader` seeds.
    const MAX_PCAP: u64 = 64 << 10;
    /// Connections of one capture taken as seeds at most.
    const MAX_FLOWS: usize = 4;
    /// `http` config byte of the seeds: LZMA decoding on, every other setting by default.
    const HTTP_CONFIG: u8 = 0x01;

    /// One captured frame.
    struct Frame {
        ts: Timestamp,
        link: i32,
        data: Vec<u8>,
    }

    /// One TCP segment of a connection, owned.
    #[derive(Clone)]
    struct Seg {
        ts: Timestamp,
        src: (IpAddr, u16),
        dst: (IpAddr, u16),
        seq: u32,
        ack: u32,
        flags: u8,
        payload: Vec<u8>,
    }

    impl Seg {
        fn of(ts: Timestamp, s: &TcpSegment<'_>) -> Seg {
            Seg {
                ts,
                src: (s.ip.src, s.src_port),
                dst: (s.ip.dst, s.dst_port),
                seq: s.seq,
                ack: s.ack,
                flags: s.flags.0,
                payload: s.payload.to_vec(),
            }
        }
    }

    pub fn run() -> anyhow::Result<()> {
        let out = PathBuf::from(
            std::env::args()
                .nth(1)
                .unwrap_or_else(|| "fuzz/corpus".into()),
        );
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let mut put = |target: &'static str, name: &str, bytes: &[u8]| -> anyhow::Result<()> {
            let dir = out.join(target);
            std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
            let path = dir.join(name);
            std::fs::write(&path, bytes).with_context(|| path.display().to_string())?;
            *counts.entry(target).or_default() += 1;
            Ok(())
        };

        for path in expand_inputs(&[PathBuf::from("pcaps")])? {
            let stem = seed_name(&path);
            if std::fs::metadata(&path)?.len() <= MAX_PCAP {
                put("pcap_reader", &stem, &std::fs::read(&path)?)?;
            }
            let frames = read_frames(&path)?;
            put("decode", &stem, &frame_records(&[0], &frames))?;
            let records = frame_records(&[0; 9], &frames);
            put("pipeline", &stem, &records)?;
            put("sensor", &stem, &records)?;
            for (i, flow) in flows(&frames).iter().take(MAX_FLOWS).enumerate() {
                let name = format!("{stem}-{i}");
                let (isn, records) = segment_records(flow);
                let mut seed = vec![0, 0];
                seed.extend_from_slice(&isn[0].to_be_bytes());
                seed.extend_from_slice(&isn[1].to_be_bytes());
                put("reassembly", &name, &capped(seed.clone(), &records))?;
                let built = capped(seed[1..].to_vec(), &records);
                put("pipeline", &format!("{name}-built"), &built)?;
                put("sensor", &format!("{name}-built"), &built)?;
                put("http", &name, &http_events(flow))?;
                if path.components().any(|c| c.as_os_str() == "tls") {
                    put("tls", &name, &http_events(flow))?;
                }
            }
        }
        for (name, seed) in compressed_exchanges() {
            put("http", name, &seed)?;
        }
        for entry in std::fs::read_dir("signatures")? {
            let path = entry?.path();
            if path.extension().is_none_or(|e| e != "rules") {
                continue;
            }
            let stem = seed_name(&path);
            let text = std::fs::read_to_string(&path)?;
            let rules = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'));
            for (i, rule) in rules.enumerate() {
                put("rules", &format!("{stem}-{i:03}"), rule.as_bytes())?;
            }
        }
        let mut e = std::io::stderr().lock();
        for (target, n) in counts {
            writeln!(
                e,
                "fuzz_seeds: {n:4} seeds in {}",
                out.join(target).display()
            )?;
        }
        Ok(())
    }

    /// A file name for seeds taken from `path`: its path under the repository, flattened.
    fn seed_name(path: &Path) -> String {
        path.with_extension("")
            .to_string_lossy()
            .replace(['/', '\\'], "_")
    }

    /// Every frame of a capture, up to the first record that cannot be read.
    fn read_frames(path: &Path) -> anyhow::Result<Vec<Frame>> {
        let mut file = CaptureFile::open(path, None)?;
        let mut frames = Vec::new();
        while let Ok(Some(p)) = file.next_packet() {
            frames.push(Frame {
                ts: p.ts,
                link: p.link_type,
                data: p.data.to_vec(),
            });
        }
        Ok(frames)
    }

    /// `head` followed by the frames as frame records, as many as fit in a seed.
    fn frame_records(head: &[u8], frames: &[Frame]) -> Vec<u8> {
        let mut out = head.to_vec();
        let mut last = frames.first().map_or(Timestamp(0), |f| f.ts);
        for f in frames {
            let mut record = Vec::new();
            put_frame(&mut record, f.link, dt_byte(f.ts.0 - last.0), &f.data);
            last = f.ts;
            if out.len() + record.len() > MAX_SEED {
                break;
            }
            out.extend_from_slice(&record);
        }
        out
    }

    /// `head` followed by as many of `records` as fit in a seed.
    fn capped(mut head: Vec<u8>, records: &[Vec<u8>]) -> Vec<u8> {
        for r in records {
            if head.len() + r.len() > MAX_SEED {
                break;
            }
            head.extend_from_slice(r);
        }
        head
    }

    /// The TCP connections of a capture (fragments reassembled), in the order they started:
    /// each its segments in capture order.
    fn flows(frames: &[Frame]) -> Vec<Vec<Seg>> {
        let mut defrag = Defragmenter::new(DefragConfig::default());
        let mut order: Vec<[(IpAddr, u16); 2]> = Vec::new();
        let mut by_key: BTreeMap<[(IpAddr, u16); 2], Vec<Seg>> = BTreeMap::new();
        for f in frames {
            let seg = match decode_frame(f.link, &f.data) {
                Ok(Decoded::Tcp(s)) => Seg::of(f.ts, &s),
                Ok(Decoded::Fragment(frag)) => {
                    let Some(d) = defrag.insert(f.ts, &frag) else {
                        continue;
                    };
                    let k = d.key.ip;
                    let ip = IpHeader {
                        src: k.src,
                        dst: k.dst,
                        vlan: k.vlan,
                    };
                    match decode_transport(ip, d.key.protocol, &d.payload) {
                        Ok(Decoded::Tcp(s)) => Seg::of(f.ts, &s),
                        _ => continue,
                    }
                }
                _ => continue,
            };
            let mut key = [seg.src, seg.dst];
            key.sort();
            let segs = by_key.entry(key).or_default();
            if segs.is_empty() {
                order.push(key);
            }
            segs.push(seg);
        }
        order.iter().filter_map(|k| by_key.remove(k)).collect()
    }

    /// The ISN of each side (the sequence number of its first segment) and the connection's
    /// segments as segment records.
    fn segment_records(flow: &[Seg]) -> ([u32; 2], Vec<Vec<u8>>) {
        let initiator = flow[0].src;
        let side = |s: &Seg| usize::from(s.src != initiator);
        let isn = [0, 1].map(|i| flow.iter().find(|s| side(s) == i).map_or(0, |s| s.seq));
        let mut last = flow[0].ts;
        let records = flow
            .iter()
            .map(|s| {
                let me = side(s);
                let mut tag = if me == 1 { SEG_RESPONDER } else { 0 };
                if s.src.0.is_ipv6() {
                    tag |= SEG_IPV6;
                }
                let record = SegmentRecord {
                    tag,
                    flags: s.flags,
                    dt: dt_byte(s.ts.0 - last.0),
                    seq: s.seq.wrapping_sub(isn[me]),
                    ack: s.ack.wrapping_sub(isn[1 - me]),
                    payload: &s.payload,
                };
                last = s.ts;
                let mut out = Vec::new();
                record.put(&mut out);
                out
            })
            .collect();
        (isn, records)
    }

    /// What TCP reassembly hands to HTTP for one connection, as HTTP event records (with the
    /// finished transactions taken after each segment).
    fn http_events(flow: &[Seg]) -> Vec<u8> {
        let initiator = flow[0].src;
        let config = StreamConfig::default();
        let mut memory = ReassemblyMemory::default();
        let mut stats = StreamStats::default();
        let mut out = vec![HTTP_CONFIG];
        let mut session: Option<TcpSession> = None;
        for s in flow {
            let side = if s.src == initiator {
                Side::Initiator
            } else {
                Side::Responder
            };
            // Rebuilt as a frame so that the segment is what the decoder gives.
            let frame = ethernet_ipv4_tcp(s);
            let Ok(Decoded::Tcp(seg)) = decode_frame(1, &frame) else {
                continue;
            };
            let session =
                session.get_or_insert_with(|| TcpSession::new(&seg, side, &config, &mut stats));
            session.on_segment(
                &seg,
                side,
                s.ts,
                &config,
                &mut memory,
                &mut stats,
                &mut |e| record(&mut out, e),
            );
            put_http_event(&mut out, HTTP_TAKE, false);
        }
        if let Some(mut session) = session {
            session.finish(&config, &mut memory, &mut stats, &mut |e| {
                record(&mut out, e)
            });
        }
        out.truncate(MAX_SEED);
        out
    }

    /// One stream event as an HTTP event record.
    fn record(out: &mut Vec<u8>, e: StreamEvent<'_>) {
        match e {
            StreamEvent::Data { side, bytes } => put_http_data(out, side == Side::Responder, bytes),
            StreamEvent::Gap { side, len } => put_http_gap(out, side == Side::Responder, len),
            StreamEvent::Closed { side } => {
                put_http_event(out, HTTP_CLOSE, side == Side::Responder)
            }
        }
    }

    /// An Ethernet/IPv4/TCP frame of the segment (IPv6 addresses are mapped into IPv4: only
    /// the sides matter here).
    fn ethernet_ipv4_tcp(s: &Seg) -> Vec<u8> {
        let v4 = |a: IpAddr| match a {
            IpAddr::V4(a) => a.octets(),
            IpAddr::V6(a) => {
                let o = a.octets();
                [o[12], o[13], o[14], o[15]]
            }
        };
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0, 0x45, 0];
        let total = (40 + s.payload.len()).min(65535) as u16;
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&[0, 1, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&v4(s.src.0));
        f.extend_from_slice(&v4(s.dst.0));
        f.extend_from_slice(&s.src.1.to_be_bytes());
        f.extend_from_slice(&s.dst.1.to_be_bytes());
        f.extend_from_slice(&s.seq.to_be_bytes());
        f.extend_from_slice(&s.ack.to_be_bytes());
        f.extend_from_slice(&[0x50, s.flags, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend_from_slice(&s.payload);
        f
    }

    /// HTTP exchanges whose bodies are compressed in the ways the parser decodes (the captures
    /// have gzip only), as `http` seeds.
    fn compressed_exchanges() -> Vec<(&'static str, Vec<u8>)> {
        use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
        use flate2::Compression;
        let text = b"<html><body>exhound fuzz seed: a body that compresses, \
            a body that compresses, a body that compresses.</body></html>\n";
        let gzip = {
            let mut e = GzEncoder::new(Vec::new(), Compression::default());
            let _ = e.write_all(text);
            e.finish().unwrap_or_default()
        };
        let zlib = {
            let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
            let _ = e.write_all(text);
            e.finish().unwrap_or_default()
        };
        let raw = {
            let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
            let _ = e.write_all(text);
            e.finish().unwrap_or_default()
        };
        let lzma = {
            let mut out = Vec::new();
            let _ = lzma_rs::lzma_compress(&mut &text[..], &mut out);
            out
        };
        let gzip_of_zlib = {
            let mut e = GzEncoder::new(Vec::new(), Compression::default());
            let _ = e.write_all(&zlib);
            e.finish().unwrap_or_default()
        };
        let response = |coding: &str, body: &[u8]| {
            let mut r = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: {coding}\r\n\
                 Content-Length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            r.extend_from_slice(body);
            r
        };
        let chunked = |coding: &str, body: &[u8]| {
            let mut r = format!(
                "HTTP/1.1 200 OK\r\nContent-Encoding: {coding}\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            .into_bytes();
            for c in body.chunks(17) {
                r.extend_from_slice(format!("{:x};ext=1\r\n", c.len()).as_bytes());
                r.extend_from_slice(c);
                r.extend_from_slice(b"\r\n");
            }
            r.extend_from_slice(b"0\r\nX-Trailer: t\r\n\r\n");
            r
        };
        let get = b"GET /owa/auth/x.js HTTP/1.1\r\nHost: mail.lab\r\nAccept-Encoding: gzip, deflate, lzma\r\n\r\n";
        let exchange = |request: &[u8], response: &[u8]| {
            let mut out = vec![HTTP_CONFIG];
            put_http_data(&mut out, false, request);
            // The response in two pieces, to cross a segment boundary inside the body.
            let (a, b) = response.split_at(response.len() * 2 / 3);
            put_http_data(&mut out, true, a);
            put_http_data(&mut out, true, b);
            put_http_event(&mut out, HTTP_TAKE, false);
            put_http_event(&mut out, HTTP_CLOSE, false);
            put_http_event(&mut out, HTTP_CLOSE, true);
            out
        };
        let mut post = format!(
            "POST /ews/exchange.asmx HTTP/1.1\r\nHost: mail.lab\r\nContent-Encoding: deflate\r\n\
             Content-Length: {}\r\n\r\n",
            zlib.len()
        )
        .into_bytes();
        post.extend_from_slice(&zlib);
        vec![
            ("synthetic-gzip", exchange(get, &response("gzip", &gzip))),
            (
                "synthetic-deflate-zlib",
                exchange(get, &response("deflate", &zlib)),
            ),
            (
                "synthetic-deflate-raw",
                exchange(get, &response("deflate", &raw)),
            ),
            ("synthetic-lzma", exchange(get, &response("lzma", &lzma))),
            (
                "synthetic-deflate-then-gzip",
                exchange(get, &response("deflate, gzip", &gzip_of_zlib)),
            ),
            (
                "synthetic-chunked-lzma",
                exchange(get, &chunked("lzma", &lzma)),
            ),
            (
                "synthetic-post-deflate",
                exchange(&post, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
            ),
        ]
    }
}
