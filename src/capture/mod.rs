//! Capture: packets from pcap and pcapng files, or from network interfaces ([`live`]), read
//! through libpcap.
//!
//! [`expand_inputs`] turns the command line's paths into an ordered list of capture files (a
//! directory means every capture file under it, in name order; `-` means standard input).
//! [`CaptureFile`] (feature `pcap`, on by default) reads one of them packet by packet, with an
//! optional BPF filter, and hands out [`RawPacket`]s that borrow its buffer: a classic pcap file
//! is read in blocks by [`pcap_file`] (measured there: libpcap's reads were 7% of a replay),
//! anything else by libpcap. Errors name the file and, for read errors,
//! the number of the packet that could not be read, so the caller can report it and carry on
//! with the next file. [`secrets`] finds the TLS key logs a pcapng file carries.

#[cfg(feature = "pcap")]
pub mod live;
#[cfg(feature = "pcap")]
mod pcap_file;
pub mod secrets;

use std::path::{Path, PathBuf};

use crate::time::Timestamp;

/// Why a capture could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// A path on the command line could not be listed or read.
    #[error("{path}: {source}")]
    Path {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// libpcap refused to open the file (not a capture, unreadable…).
    #[error("{path}: cannot open capture: {message}")]
    Open {
        /// The file.
        path: String,
        /// libpcap's message.
        message: String,
    },
    /// The BPF expression did not compile.
    #[error("bad BPF filter {expr:?}: {message}")]
    Filter {
        /// The expression.
        expr: String,
        /// libpcap's message.
        message: String,
    },
    /// A packet record could not be read (truncated or corrupt file).
    #[error("{path}: packet {packet}: {message}")]
    Read {
        /// The file.
        path: String,
        /// Number of the packet in that file (from 1) that could not be read.
        packet: u64,
        /// libpcap's message.
        message: String,
    },
}

/// One packet as read from a capture: its time, link type and bytes (borrowed from libpcap's
/// buffer, valid until the next read).
#[derive(Debug, Clone, Copy)]
pub struct RawPacket<'a> {
    /// Capture time.
    pub ts: Timestamp,
    /// Link type of the capture (libpcap DLT value).
    pub link_type: i32,
    /// Captured bytes.
    pub data: &'a [u8],
    /// Length of the packet on the wire (may exceed `data.len()` with a snap length).
    pub wire_len: u32,
    /// Number of the record in its file, from 1 (filtered-out records count too).
    pub number: u64,
}

/// Magic numbers of the capture formats libpcap reads: pcap (µs and ns, both byte orders)
/// and pcapng.
const MAGICS: [[u8; 4]; 5] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x0a, 0x0d, 0x0d, 0x0a],
];

/// True when `path` is a regular file: one that can be read again from its start. A named
/// pipe (`<(zcat x.pcap.gz)`, a FIFO) gives its bytes once, so nothing but the capture reader
/// may read it.
pub fn can_be_read_twice(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// True when the file starts with a pcap or pcapng magic number.
pub fn looks_like_capture(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .map(|()| MAGICS.contains(&magic))
        .unwrap_or(false)
}

/// Expands command-line paths into the capture files to read, in order: files as given, a
/// directory as every capture file under it (recursively, sorted by path; files that are
/// not captures are skipped), `-` as standard input.
pub fn expand_inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CaptureError> {
    let mut out = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            out.push(path.clone());
            continue;
        }
        let meta = std::fs::metadata(path).map_err(|source| CaptureError::Path {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            let mut found = Vec::new();
            collect_dir(path, &mut found)?;
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

fn collect_dir(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CaptureError> {
    let err = |source| CaptureError::Path {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(err)? {
        let path = entry.map_err(err)?.path();
        if path.is_dir() {
            collect_dir(&path, out)?;
        } else if looks_like_capture(&path) {
            out.push(path);
        }
    }
    Ok(())
}

/// An open capture file.
#[cfg(feature = "pcap")]
pub struct CaptureFile {
    name: String,
    source: Source,
    link_type: i32,
    packets: u64,
}

/// What reads a capture file's records.
#[cfg(feature = "pcap")]
enum Source {
    /// Classic pcap read in blocks.
    Blocks(pcap_file::PcapReader),
    /// libpcap (pcapng, standard input, rarer pcap variants, or a BPF filter to apply).
    Libpcap {
        capture: pcap::Capture<pcap::Offline>,
        filter: Option<pcap::BpfProgram>,
        buffer: Vec<u8>,
    },
}

#[cfg(feature = "pcap")]
impl CaptureFile {
    /// Opens `path` (`-` for standard input) with nanosecond timestamps, applying `bpf` when
    /// given.
    pub fn open(path: &Path, bpf: Option<&str>) -> Result<CaptureFile, CaptureError> {
        let name = path.display().to_string();
        // Only a regular file: the block reader reads a header before it knows whether it
        // takes the file, and a pipe (`<(zcat x.pcapng.gz)`, a FIFO) cannot give those bytes
        // to libpcap again.
        if bpf.is_none() && can_be_read_twice(path) {
            // Whatever the block reader does not take (or cannot even open) goes to libpcap,
            // which gives its own errors.
            let reader = std::fs::File::open(path)
                .ok()
                .and_then(|f| pcap_file::PcapReader::open(f).ok().flatten());
            if let Some(reader) = reader {
                return Ok(CaptureFile {
                    name,
                    link_type: reader.link_type(),
                    source: Source::Blocks(reader),
                    packets: 0,
                });
            }
        }
        CaptureFile::open_with_libpcap(path, bpf)
    }

    /// Opens `path` with libpcap whatever its format (the bare libpcap read loop of `exhound
    /// bench --baseline-read`).
    pub fn open_with_libpcap(path: &Path, bpf: Option<&str>) -> Result<CaptureFile, CaptureError> {
        let name = path.display().to_string();
        let capture = pcap::Capture::from_file_with_precision(path, pcap::Precision::Nano)
            .map_err(|e| CaptureError::Open {
                path: name.clone(),
                message: e.to_string(),
            })?;
        // The filter runs here rather than inside libpcap so that every record is counted:
        // packet numbers in errors and `pcap_cnt` stay those of the file, filter or not.
        let filter = match bpf {
            Some(expr) => Some(
                capture
                    .compile(expr, true)
                    .map_err(|e| CaptureError::Filter {
                        expr: expr.to_string(),
                        message: e.to_string(),
                    })?,
            ),
            None => None,
        };
        let link_type = capture.get_datalink().0;
        Ok(CaptureFile {
            name,
            source: Source::Libpcap {
                capture,
                filter,
                buffer: Vec::new(),
            },
            link_type,
            packets: 0,
        })
    }

    /// The file name as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The capture's link type (libpcap DLT value).
    pub fn link_type(&self) -> i32 {
        self.link_type
    }

    /// Packet records read so far from this file, whether or not they passed the filter.
    pub fn packets_read(&self) -> u64 {
        self.packets
    }

    /// The next packet that passes the filter, `None` at the end of the file.
    pub fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        let (capture, filter, buffer) = match &mut self.source {
            Source::Blocks(reader) => {
                return match reader.next(self.packets + 1) {
                    Ok(packet) => {
                        self.packets += u64::from(packet.is_some());
                        Ok(packet)
                    }
                    Err(e) => Err(CaptureError::Read {
                        path: self.name.clone(),
                        packet: self.packets + 1,
                        message: e.0,
                    }),
                };
            }
            Source::Libpcap {
                capture,
                filter,
                buffer,
            } => (capture, filter, buffer),
        };
        if filter.is_none() {
            return match capture.next_packet() {
                Ok(packet) => {
                    self.packets += 1;
                    Ok(Some(RawPacket {
                        ts: timestamp(packet.header),
                        link_type: self.link_type,
                        data: packet.data,
                        wire_len: packet.header.len,
                        number: self.packets,
                    }))
                }
                Err(e) => end_or_error(&self.name, self.packets, e),
            };
        }
        // With a filter, an accepted packet is copied into a reused buffer: the borrow of
        // libpcap's buffer cannot outlive the loop that skips rejected ones.
        loop {
            let accepted = match capture.next_packet() {
                Ok(packet) => {
                    self.packets += 1;
                    let pass = filter.as_ref().is_none_or(|f| f.filter(packet.data));
                    if pass {
                        buffer.clear();
                        buffer.extend_from_slice(packet.data);
                    }
                    pass.then(|| (timestamp(packet.header), packet.header.len))
                }
                Err(e) => return end_or_error(&self.name, self.packets, e),
            };
            if let Some((ts, wire_len)) = accepted {
                return Ok(Some(RawPacket {
                    ts,
                    link_type: self.link_type,
                    data: buffer,
                    wire_len,
                    number: self.packets,
                }));
            }
        }
    }
}

/// End of file, or the error of the record after `packets` records of file `name`.
#[cfg(feature = "pcap")]
fn end_or_error<T>(name: &str, packets: u64, e: pcap::Error) -> Result<Option<T>, CaptureError> {
    match e {
        pcap::Error::NoMorePackets => Ok(None),
        e => Err(CaptureError::Read {
            path: name.to_string(),
            packet: packets + 1,
            message: e.to_string(),
        }),
    }
}

/// A record header's time as a [`Timestamp`] (the capture is opened with ns precision).
#[cfg(feature = "pcap")]
fn timestamp(header: &pcap::PacketHeader) -> Timestamp {
    // time_t is i64 here but not on every platform.
    #[allow(clippy::useless_conversion)]
    let secs = i64::from(header.ts.tv_sec);
    Timestamp::from_parts(secs, u32::try_from(header.ts.tv_usec).unwrap_or(0))
}

#[cfg(all(test, feature = "pcap"))]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_pcap(path: &Path, packets: &[&[u8]], cut_last: usize) {
        let mut f = std::fs::File::create(path).unwrap();
        let mut buf = Vec::new();
        buf.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes());
        buf.extend_from_slice(&2u16.to_le_bytes());
        buf.extend_from_slice(&4u16.to_le_bytes());
        buf.extend_from_slice(&[0; 8]);
        buf.extend_from_slice(&65535u32.to_le_bytes());
        buf.extend_from_slice(&1u32.to_le_bytes());
        for (i, p) in packets.iter().enumerate() {
            buf.extend_from_slice(&(1_614_765_600u32 + i as u32).to_le_bytes());
            buf.extend_from_slice(&123_456_789u32.to_le_bytes());
            buf.extend_from_slice(&(p.len() as u32).to_le_bytes());
            buf.extend_from_slice(&(p.len() as u32).to_le_bytes());
            buf.extend_from_slice(p);
        }
        buf.truncate(buf.len() - cut_last);
        f.write_all(&buf).unwrap();
    }

    #[test]
    fn reads_nanosecond_pcap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.pcap");
        write_pcap(&path, &[&[1u8; 60], &[2u8; 70]], 0);
        let mut f = CaptureFile::open(&path, None).unwrap();
        assert_eq!(f.link_type(), 1);
        let p = f.next_packet().unwrap().unwrap();
        assert_eq!(p.data.len(), 60);
        assert_eq!(p.ts, Timestamp::from_parts(1_614_765_600, 123_456_789));
        assert!(f.next_packet().unwrap().is_some());
        assert!(f.next_packet().unwrap().is_none());
        assert_eq!(f.packets_read(), 2);
    }

    /// A packet as compared: time, bytes, length on the wire, number.
    type Record = (Timestamp, Vec<u8>, u32, u64);

    /// The link type and every packet `file` gives, and the number of the packet whose error
    /// ended it.
    fn read_all(mut file: CaptureFile) -> (i32, Vec<Record>, Option<u64>) {
        let mut packets = Vec::new();
        loop {
            match file.next_packet() {
                Ok(Some(p)) => packets.push((p.ts, p.data.to_vec(), p.wire_len, p.number)),
                Ok(None) => return (file.link_type(), packets, None),
                Err(CaptureError::Read { packet, .. }) => {
                    return (file.link_type(), packets, Some(packet))
                }
                Err(e) => panic!("{e}"),
            }
        }
    }

    fn is_block_read(path: &Path) -> bool {
        matches!(
            CaptureFile::open(path, None).map(|f| f.source),
            Ok(Source::Blocks(_))
        )
    }

    #[test]
    fn block_reader_and_libpcap_agree_on_every_bundled_pcap() {
        let mut files = Vec::new();
        collect_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps"),
            &mut files,
        )
        .unwrap();
        let mut compared = 0;
        for path in &files {
            if !is_block_read(path) {
                continue;
            }
            let blocks = read_all(CaptureFile::open(path, None).unwrap());
            let libpcap = read_all(CaptureFile::open_with_libpcap(path, None).unwrap());
            assert!(blocks == libpcap, "{}", path.display());
            compared += 1;
        }
        assert!(
            compared > 20,
            "only {compared} classic pcap files under pcaps/"
        );
    }

    #[test]
    fn block_reader_and_libpcap_agree_on_damaged_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.pcap");
        let packets: Vec<Vec<u8>> = (0..6u8)
            .map(|i| vec![i; 40 + 300 * usize::from(i)])
            .collect();
        let refs: Vec<&[u8]> = packets.iter().map(|p| &p[..]).collect();
        write_pcap(&path, &refs, 0);
        let whole = std::fs::read(&path).unwrap();
        let mut state = 0x2545_f491_u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        // Where each record header starts.
        let records: Vec<usize> = packets
            .iter()
            .scan(24, |at, p| {
                let this = *at;
                *at += 16 + p.len();
                Some(this)
            })
            .collect();
        for case in 0..600 {
            let mut bytes = whole.clone();
            if case % 2 == 1 {
                // Microseconds instead of nanoseconds.
                bytes[..4].copy_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
            }
            let (pick, noise) = (next() % 7, next());
            let odd = match pick {
                0 => 0u32,
                1 => 262_145,
                2 => 65_536,
                3 => u32::MAX,
                4 => 0x8000_0000,
                5 => 1_000_000_000 + noise % 5_000_000,
                _ => noise % 2000,
            };
            let at = match case % 3 {
                // Cut anywhere.
                0 => {
                    bytes.truncate(next() as usize % whole.len());
                    None
                }
                // A snap length, record length, time or data word replaced by something odd.
                1 => Some(16 + next() as usize % (bytes.len() - 16)),
                // A record's seconds or fraction.
                _ => Some(records[next() as usize % records.len()] + 4 * (next() as usize % 2)),
            };
            if let Some(at) = at {
                let end = (at + 4).min(bytes.len());
                bytes[at..end].copy_from_slice(&odd.to_le_bytes()[..end - at]);
            }
            std::fs::write(&path, &bytes).unwrap();
            let Ok(libpcap) = CaptureFile::open_with_libpcap(&path, None) else {
                assert!(
                    !is_block_read(&path),
                    "case {case}: libpcap refused the header"
                );
                continue;
            };
            let libpcap = read_all(libpcap);
            let blocks = read_all(CaptureFile::open(&path, None).unwrap());
            assert!(blocks == libpcap, "case {case}: {blocks:?}\n{libpcap:?}");
        }
    }

    #[test]
    fn odd_times_are_read_as_libpcap_reads_them() {
        // libpcap sign-extends a record's 32-bit times when the file is in the host's byte
        // order and not when it is swapped; a fraction out of range carries into the
        // seconds or, negative or too large once scaled, reads as 0.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.pcap");
        let times = [
            (5u32, u32::MAX),
            (5, 0x8000_0000),
            (5, 0x7fff_ffff),
            (5, 3_087_007_744),
            (5, 1_000_000_001),
            (5, 4_294_967),
            (5, 4_294_968),
            (0x8000_0000, 0),
            (u32::MAX, 1),
        ];
        for magic in [0xa1b2_3c4du32, 0xa1b2_c3d4] {
            for big_endian in [false, true] {
                for (secs, fraction) in times {
                    let word = |v: u32| {
                        if big_endian {
                            v.to_be_bytes()
                        } else {
                            v.to_le_bytes()
                        }
                    };
                    let mut file = Vec::new();
                    file.extend_from_slice(&word(magic));
                    // Version 2.4.
                    file.extend_from_slice(if big_endian {
                        &[0, 2, 0, 4]
                    } else {
                        &[2, 0, 4, 0]
                    });
                    file.extend_from_slice(&[0; 8]);
                    file.extend_from_slice(&word(65535));
                    file.extend_from_slice(&word(1));
                    for v in [secs, fraction, 4, 4] {
                        file.extend_from_slice(&word(v));
                    }
                    file.extend_from_slice(&[1, 2, 3, 4]);
                    std::fs::write(&path, &file).unwrap();
                    assert!(is_block_read(&path));
                    let blocks = read_all(CaptureFile::open(&path, None).unwrap());
                    let libpcap = read_all(CaptureFile::open_with_libpcap(&path, None).unwrap());
                    assert_eq!(
                        blocks, libpcap,
                        "magic {magic:x}, big-endian {big_endian}, {secs} s {fraction}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_pipe_goes_to_libpcap_whole() {
        // A pcapng capture through a FIFO: nothing may be read from it before libpcap.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps/pcapng-ns.pcapng");
        let bytes = std::fs::read(&file).unwrap();
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::write(fifo, bytes).unwrap())
        };
        let through_pipe = read_all(CaptureFile::open(&fifo, None).unwrap());
        writer.join().unwrap();
        let direct = read_all(CaptureFile::open(&file, None).unwrap());
        assert!(!direct.1.is_empty());
        assert!(through_pipe == direct);
    }

    #[test]
    fn truncated_file_names_the_packet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.pcap");
        write_pcap(&path, &[&[1u8; 60], &[2u8; 70]], 30);
        let mut f = CaptureFile::open(&path, None).unwrap();
        assert!(f.next_packet().unwrap().is_some());
        let err = f.next_packet().unwrap_err();
        assert!(matches!(err, CaptureError::Read { packet: 2, .. }), "{err}");
        assert!(err.to_string().contains("t.pcap: packet 2"), "{err}");
    }

    #[test]
    fn directory_expands_to_sorted_captures() {
        let dir = tempfile::tempdir().unwrap();
        write_pcap(&dir.path().join("b.pcap"), &[], 0);
        write_pcap(&dir.path().join("a.pcap"), &[], 0);
        std::fs::write(dir.path().join("notes.txt"), "not a capture").unwrap();
        let files = expand_inputs(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["a.pcap", "b.pcap"]);
    }

    #[test]
    fn missing_path_is_an_error() {
        let err = expand_inputs(&[PathBuf::from("/nonexistent/x.pcap")]).unwrap_err();
        assert!(err.to_string().starts_with("/nonexistent/x.pcap:"));
    }

    #[test]
    fn not_a_capture_is_an_open_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.pcap");
        std::fs::write(&path, b"hello world, not a pcap at all").unwrap();
        assert!(matches!(
            CaptureFile::open(&path, None),
            Err(CaptureError::Open { .. })
        ));
    }

    #[test]
    fn filtered_packets_still_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.pcap");
        write_pcap(&path, &[&[1u8; 60], &[2u8; 70]], 0);
        // Neither junk frame is IP, so `ip` rejects both; both records are still counted.
        let mut f = CaptureFile::open(&path, Some("ip")).unwrap();
        assert!(f.next_packet().unwrap().is_none());
        assert_eq!(f.packets_read(), 2);
        let mut f = CaptureFile::open(&path, Some("not ip")).unwrap();
        assert_eq!(f.next_packet().unwrap().unwrap().data.len(), 60);
    }

    #[test]
    fn bad_filter_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.pcap");
        write_pcap(&path, &[], 0);
        assert!(matches!(
            CaptureFile::open(&path, Some("port port")),
            Err(CaptureError::Filter { .. })
        ));
    }
}
