//! No slow inputs: the cost per captured byte of traffic shaped to make an HTTP sensor work
//! hard, against ordinary Exchange traffic, through the whole pipeline (one worker, the
//! bundled signatures). An attacker pays for the bytes on the wire, so that is the unit; the
//! target is at most 5× the ordinary cost per byte for every shape.
//!
//! ```text
//! cargo bench --bench shapes            # every shape, 7 passes each, medians
//! cargo bench --bench shapes -- header  # the shapes whose name contains "header"
//! cargo bench --bench shapes -- --write-pcaps DIR   # write each shape as DIR/<shape>.pcap
//! ```
//!
//! Wall time on a shared machine swings; the written captures let the same comparison be made
//! in instructions, which do not (`callgrind` over `exhound replay -S bundled --threads 1`, less
//! a run over an empty capture for the rule load).
//!
//! Shapes (each about 2–4 MB of frames): requests with 1,000 small headers; the same with
//! every header line in its own TCP segment; one 48 KB header value; 2,000 cookies in one
//! `Cookie` line; ordinary requests sent one byte per segment; POST bodies of 4,000 one-byte
//! chunks; 400 requests pipelined before any response. Figures: README "Performance".

#[allow(dead_code)] // not every helper is used by every bench
mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{image_bytes, replay, Capture, Frame};
use exhound::detect::rule::loader::{LoadOptions, LoadedRules};
use exhound::detect::{DetectConfig, RuleSet};
use exhound::pipeline::{PipelineConfig, Worker};

/// Passes per shape (the median is reported).
const PASSES: usize = 7;

/// An ordinary OWA request: a browser's headers and cookies.
fn ordinary_request(n: u32) -> Vec<u8> {
    format!(
        "GET /owa/service.svc?action=GetItem&n={n} HTTP/1.1\r\n\
         Host: mail.example.com\r\n\
         User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n\
         Accept: application/json, text/javascript, */*; q=0.01\r\n\
         Accept-Language: en-US,en;q=0.9\r\n\
         Accept-Encoding: gzip, deflate, br\r\n\
         X-Requested-With: XMLHttpRequest\r\n\
         X-OWA-CANARY: 3Ft2lq0kR0W1cU5Sx8c0mQAAAAAAAAAA\r\n\
         Referer: https://mail.example.com/owa/\r\n\
         Cookie: ClientId=0F6B3A6E1C2D4B6E8A0C2E4F6A8B0C2D; PrivateComputer=true; PBack=0; cadata=3Q5lC0Q2bq1hZB0mS9k2cR5oXn4t7w6Yp8dF0aJ3eK1gH2iL4jM6nB8vC0xZ1qW3eR5tY7uI9oP0aS2dF4gH6jK8lZ0xC2vB4nM6qW8eR0tY2uI4oP6aS8dF0gH2jK4lZ6xC8vB0nM2qW4eR6t; X-OWA-CANARY=3Ft2lq0kR0W1cU5Sx8c0mQAAAAAAAAAA; UC=9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e\r\n\
         Connection: keep-alive\r\n\r\n"
    )
    .into_bytes()
}

/// An ordinary response: JSON-ish bytes of `len`.
fn response(len: usize) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nCache-Control: private\r\nContent-Type: application/json; charset=utf-8\r\nServer: Microsoft-IIS/10.0\r\nrequest-id: 6f1d2c3b-4a5e-4f60-8a9b-0c1d2e3f4a5b\r\nX-FEServer: EX01\r\nX-BackEndHttpStatus: 200\r\nContent-Length: {len}\r\n\r\n"
    )
    .into_bytes();
    r.extend(image_bytes(len));
    r
}

/// `head` with `extra` header lines added before its blank line.
fn with_headers(head: &[u8], extra: &str) -> Vec<u8> {
    let mut out = head[..head.len() - 2].to_vec();
    out.extend_from_slice(extra.as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// A traffic shape: its name and its frames.
struct Shape {
    name: &'static str,
    frames: Vec<Frame>,
}

fn shape(
    name: &'static str,
    connections: u32,
    exchanges: impl Fn(u32) -> Vec<(Vec<u8>, Vec<u8>)>,
    request_segment: usize,
    pipelined: bool,
) -> Shape {
    let mut cap = Capture::default();
    for i in 0..connections {
        cap.connection(i, &exchanges(i), request_segment, pipelined);
    }
    Shape {
        name,
        frames: cap.frames,
    }
}

fn shapes() -> Vec<Shape> {
    let many_headers: String = (0..1000).map(|k| format!("X-H{k:04}: v{k}\r\n")).collect();
    let long_value = format!("X-Long: {}\r\n", "a".repeat(48 << 10));
    let cookies = format!(
        "Cookie: {}\r\n",
        (0..2000)
            .map(|k| format!("c{k:04}=v{k}"))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let chunked = {
        let mut r = b"POST /ews/exchange.asmx HTTP/1.1\r\nHost: mail.example.com\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for k in 0..4000 {
            r.extend_from_slice(
                format!("1\r\n{}\r\n", char::from(b'a' + (k % 26) as u8)).as_bytes(),
            );
        }
        r.extend_from_slice(b"0\r\n\r\n");
        r
    };
    vec![
        shape(
            "ordinary",
            160,
            |i| {
                (0..2)
                    .map(|r| (ordinary_request(i * 2 + r), response(8 << 10)))
                    .collect()
            },
            1460,
            false,
        ),
        shape(
            "1000-headers",
            120,
            |i| {
                vec![(
                    with_headers(&ordinary_request(i), &many_headers),
                    response(1 << 10),
                )]
            },
            1460,
            false,
        ),
        shape(
            "1000-headers-one-per-segment",
            40,
            |i| {
                vec![(
                    with_headers(&ordinary_request(i), &many_headers),
                    response(1 << 10),
                )]
            },
            16,
            false,
        ),
        shape(
            "48k-header-value",
            60,
            |i| {
                vec![(
                    with_headers(&ordinary_request(i), &long_value),
                    response(1 << 10),
                )]
            },
            1460,
            false,
        ),
        shape(
            "2000-cookies",
            100,
            |i| {
                vec![(
                    with_headers(&ordinary_request(i), &cookies),
                    response(1 << 10),
                )]
            },
            1460,
            false,
        ),
        shape(
            "one-byte-segments",
            8,
            |i| vec![(ordinary_request(i), response(1 << 10))],
            1,
            false,
        ),
        shape(
            "4000-one-byte-chunks",
            60,
            |_| vec![(chunked.clone(), response(256))],
            1460,
            false,
        ),
        shape(
            "400-pipelined",
            8,
            |i| {
                (0..400)
                    .map(|r| (ordinary_request(i * 400 + r), response(256)))
                    .collect()
            },
            1460,
            true,
        ),
    ]
}

fn bundled() -> Arc<RuleSet> {
    let mut loaded = LoadedRules::default();
    for (name, text) in exhound::signatures::rule_files() {
        loaded
            .add_text(name, text, &LoadOptions::default())
            .expect("bundled rules load");
    }
    Arc::new(RuleSet::build(loaded, DetectConfig::default()).expect("bundled rules build"))
}

/// The median time of [`PASSES`] passes over `frames`.
fn median_pass(frames: &[Frame], rules: &Arc<RuleSet>) -> Duration {
    let mut times: Vec<Duration> = (0..PASSES)
        .map(|_| {
            let start = Instant::now();
            let worker = Worker::new(PipelineConfig::default(), Some(Arc::clone(rules)));
            black_box(replay(frames, worker));
            start.elapsed()
        })
        .collect();
    times.sort();
    times[PASSES / 2]
}

/// Writes `frames` as a classic pcap file (Ethernet, microsecond times).
fn write_pcap(path: &std::path::Path, frames: &[Frame]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
    out.write_all(&2u16.to_le_bytes())?;
    out.write_all(&4u16.to_le_bytes())?;
    out.write_all(&[0; 8])?;
    out.write_all(&65535u32.to_le_bytes())?;
    out.write_all(&1u32.to_le_bytes())?;
    for f in frames {
        let us = f.ts.0 / 1_000;
        out.write_all(&((us / 1_000_000) as u32).to_le_bytes())?;
        out.write_all(&((us % 1_000_000) as u32).to_le_bytes())?;
        out.write_all(&(f.data.len() as u32).to_le_bytes())?;
        out.write_all(&(f.data.len() as u32).to_le_bytes())?;
        out.write_all(&f.data)?;
    }
    out.flush()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--write-pcaps") {
        let dir = std::path::PathBuf::from(args.get(i + 1).expect("--write-pcaps DIR"));
        std::fs::create_dir_all(&dir).expect("create the directory");
        for s in shapes() {
            let path = dir.join(format!("{}.pcap", s.name));
            write_pcap(&path, &s.frames).expect("write the capture");
            println!("{}", path.display());
        }
        return;
    }
    let filter: Option<String> = args.iter().find(|a| !a.starts_with('-')).cloned();
    let rules = bundled();
    let mut ordinary_ns_per_byte = None;
    println!(
        "{:<30} {:>10} {:>9} {:>11} {:>9} {:>8}",
        "shape", "bytes", "frames", "median", "ns/byte", "ratio"
    );
    for s in shapes() {
        let wanted = s.name == "ordinary" || filter.as_deref().is_none_or(|f| s.name.contains(f));
        if !wanted {
            continue;
        }
        let bytes: usize = s.frames.iter().map(|f| f.data.len()).sum();
        let t = median_pass(&s.frames, &rules);
        let per_byte = t.as_secs_f64() * 1e9 / bytes as f64;
        let base = *ordinary_ns_per_byte.get_or_insert(per_byte);
        println!(
            "{:<30} {:>10} {:>9} {:>9.1}ms {:>9.3} {:>7.1}x",
            s.name,
            bytes,
            s.frames.len(),
            t.as_secs_f64() * 1e3,
            per_byte,
            per_byte / base
        );
    }
}
