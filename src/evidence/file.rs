//! Writing evidence: one classic pcap file per alerted flow, and the index of JSON lines.
//!
//! A file is the libpcap format with nanosecond timestamps (magic `0xa1b23c4d`, written
//! little-endian) so packet times stay exactly as captured, and the link type of the
//! flow's first kept packet (a flow whose packets came with another link type, which only
//! several interfaces of different kinds can do, has those left out and counted). Its name
//! is `<first alert time>_<client>-<port>_<server>-<port>_sid<first sid>.pcap`, with the
//! colons of IPv6 addresses written as dots; two flows that would get the same name (same
//! addresses and ports, first alert of the same sid in the same microsecond) share a
//! shard, so the later one, always the same, gets `-2`, `-3`….
//!
//! Errors are returned with the file's name; the caller counts them and goes on: evidence
//! that cannot be written never stops the EVE output.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::output::eve::format_timestamp;
use crate::output::FlowFacts;
use crate::time::Timestamp;

use super::ring::FlowCapture;

/// The name of the index file in the evidence directory.
pub const INDEX_NAME: &str = "index.json";

/// Snap length written in the file header: libpcap's default, above any frame kept.
const SNAPLEN: u32 = 262_144;

/// Why evidence could not be written.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// A file could not be created or written.
    #[error("evidence file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
}

/// One index line: what an evidence file holds.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IndexEntry {
    /// The file's name (in the evidence directory).
    pub file: String,
    /// The flow's EVE `flow_id`.
    pub flow_id: u64,
    /// The client's address.
    pub src_ip: String,
    /// The client's port.
    pub src_port: u16,
    /// The server's address.
    pub dest_ip: String,
    /// The server's port.
    pub dest_port: u16,
    /// Always `TCP`.
    pub proto: &'static str,
    /// Time of the packet that raised the first alert.
    pub alert_timestamp: String,
    /// Time of the first packet in the file.
    pub first_timestamp: String,
    /// Time of the last packet in the file.
    pub last_timestamp: String,
    /// Signature ids of the flow's alerts, in the order first raised.
    pub sids: Vec<u32>,
    /// Packets in the file.
    pub packets: u64,
    /// Captured bytes of those packets.
    pub bytes: u64,
    /// Link type of the file (libpcap DLT).
    pub link_type: i32,
    /// The flow's earlier packets were dropped by the depth: the file starts later.
    pub truncated_before: bool,
    /// How many.
    pub packets_dropped_before: u64,
    /// The depth after the alert was reached: the flow's later packets are not in it.
    pub truncated_after: bool,
    /// How many.
    pub packets_dropped_after: u64,
    /// Packets of the flow missing from the file in its midst: the evidence budget was
    /// spent, the frames of a datagram's IP fragments were not kept (past the fragments'
    /// budget or timeout), or they had another link type.
    pub packets_missing: u64,
}

/// Writes the evidence files of one worker's flows.
#[derive(Debug)]
pub struct EvidenceWriter {
    dir: PathBuf,
    names: HashSet<String>,
    record: Vec<u8>,
}

/// What writing one flow's file did.
#[derive(Debug)]
pub struct Written {
    /// The index line (JSON, with its newline).
    pub line: Vec<u8>,
    /// The entry.
    pub entry: IndexEntry,
}

impl EvidenceWriter {
    /// The path of a file written here.
    pub fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Files go to `dir`.
    pub fn new(dir: &Path) -> EvidenceWriter {
        EvidenceWriter {
            dir: dir.to_path_buf(),
            names: HashSet::new(),
            record: Vec::with_capacity(16),
        }
    }

    /// Writes the file of a flow that raised an alert (`None` if it did not) and returns
    /// its index line.
    pub fn write(
        &mut self,
        flow: &FlowFacts,
        capture: &FlowCapture,
    ) -> Option<Result<Written, EvidenceError>> {
        let trigger = capture.trigger()?;
        let base = file_stem(trigger.ts, flow, capture.name_sid().unwrap_or(trigger.sid));
        let mut name = format!("{base}.pcap");
        let mut n = 1;
        while self.names.contains(&name) {
            n += 1;
            name = format!("{base}-{n}.pcap");
        }
        self.names.insert(name.clone());
        let path = self.dir.join(&name);
        Some(
            self.write_file(&path, capture)
                .map_err(|source| EvidenceError::File {
                    path: path.clone(),
                    source,
                })
                .map(|(link_type, packets, bytes, other, first, last)| {
                    let entry = IndexEntry {
                        file: name,
                        flow_id: flow.flow_id,
                        src_ip: flow.client_ip.to_string(),
                        src_port: flow.client_port,
                        dest_ip: flow.server_ip.to_string(),
                        dest_port: flow.server_port,
                        proto: "TCP",
                        alert_timestamp: format_timestamp(trigger.ts),
                        first_timestamp: format_timestamp(first),
                        last_timestamp: format_timestamp(last),
                        sids: capture.sids().to_vec(),
                        packets,
                        bytes,
                        link_type,
                        truncated_before: capture.dropped_before() > 0,
                        packets_dropped_before: capture.dropped_before(),
                        truncated_after: capture.dropped_after() > 0,
                        packets_dropped_after: capture.dropped_after(),
                        packets_missing: capture.dropped_memcap() + capture.without_frame() + other,
                    };
                    let mut line = serde_json::to_vec(&entry).unwrap_or_default();
                    line.push(b'\n');
                    Written { line, entry }
                }),
        )
    }

    /// Writes the packets; returns (link type, packets, bytes, packets left out for their
    /// link type, first and last time).
    #[allow(clippy::type_complexity)]
    fn write_file(
        &mut self,
        path: &Path,
        capture: &FlowCapture,
    ) -> io::Result<(i32, u64, u64, u64, Timestamp, Timestamp)> {
        let link_type = capture.packets().next().map_or(1, |(p, _)| p.link_type);
        let mut out = BufWriter::with_capacity(64 << 10, create(path)?);
        out.write_all(&file_header(link_type))?;
        let (mut packets, mut bytes, mut other) = (0u64, 0u64, 0u64);
        let (mut first, mut last) = (None, Timestamp::default());
        for (p, data) in capture.packets() {
            if p.link_type != link_type {
                other += 1;
                continue;
            }
            self.record.clear();
            let secs = u32::try_from(p.ts.secs()).unwrap_or(0);
            self.record.extend_from_slice(&secs.to_le_bytes());
            self.record
                .extend_from_slice(&p.ts.subsec_nanos().to_le_bytes());
            self.record.extend_from_slice(&p.len.to_le_bytes());
            self.record.extend_from_slice(&p.wire_len.to_le_bytes());
            out.write_all(&self.record)?;
            out.write_all(data.0)?;
            out.write_all(data.1)?;
            packets += 1;
            bytes += u64::from(p.len);
            first.get_or_insert(p.ts);
            last = p.ts;
        }
        out.into_inner().map_err(|e| e.into_error())?;
        Ok((
            link_type,
            packets,
            bytes,
            other,
            first.unwrap_or_default(),
            last,
        ))
    }
}

/// Creates (or truncates) a file with mode 0640.
fn create(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o640);
    }
    o.open(path)
}

/// The 24-byte header of a nanosecond pcap file of `link_type`.
pub fn file_header(link_type: i32) -> [u8; 24] {
    let mut h = [0u8; 24];
    h[0..4].copy_from_slice(&0xa1b2_3c4du32.to_le_bytes());
    h[4..6].copy_from_slice(&2u16.to_le_bytes());
    h[6..8].copy_from_slice(&4u16.to_le_bytes());
    // thiszone and sigfigs stay 0.
    h[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
    h[20..24].copy_from_slice(&(link_type as u32).to_le_bytes());
    h
}

/// `20210303T101112.123456Z_10.0.0.5-51234_10.0.0.10-443_sid4210001`.
pub fn file_stem(ts: Timestamp, flow: &FlowFacts, sid: u32) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(ts.secs())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}.{:06}Z_{}-{}_{}-{}_sid{}",
        date.year(),
        u8::from(date.month()),
        date.day(),
        date.hour(),
        date.minute(),
        date.second(),
        ts.subsec_micros(),
        address(flow.client_ip),
        flow.client_port,
        address(flow.server_ip),
        flow.server_port,
        sid
    )
}

/// An address for a file name: IPv6 colons become dots (a colon is not allowed in names
/// on every file system).
fn address(ip: IpAddr) -> String {
    ip.to_string().replace(':', ".")
}

/// The index file, written by the output thread in EVE order.
#[derive(Debug)]
pub struct EvidenceIndex {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    /// Index lines that could not be written.
    pub errors: u64,
    /// Errors reported on standard error so far (the first few are).
    reported: u64,
}

/// Errors about evidence reported on standard error, at most (the rest are counted).
const REPORTED_ERRORS: u64 = 10;

impl EvidenceIndex {
    /// Opens `dir/index.json` (creating `dir`), appending to it with `append` (live capture)
    /// or from empty (a replay). If that fails, the error is reported and the index lines
    /// are counted as errors; the run goes on.
    pub fn open(dir: &Path, append: bool) -> EvidenceIndex {
        let path = dir.join(INDEX_NAME);
        let opened = std::fs::create_dir_all(dir).and_then(|()| {
            let mut o = OpenOptions::new();
            o.create(true);
            if append {
                o.append(true);
            } else {
                o.write(true).truncate(true);
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                o.mode(0o640);
            }
            o.open(&path)
        });
        let mut index = EvidenceIndex {
            path,
            out: None,
            errors: 0,
            reported: 0,
        };
        match opened {
            Ok(f) => index.out = Some(BufWriter::new(f)),
            Err(e) => {
                let p = index.path.display().to_string();
                index.report(&format!("evidence index {p}: {e}; evidence is not written"));
            }
        }
        index
    }

    /// Reports an error on standard error (the first few) with the program's prefix.
    pub fn report(&mut self, message: &str) {
        self.reported += 1;
        if self.reported <= REPORTED_ERRORS {
            eprintln!("exhound: {message}");
        } else if self.reported == REPORTED_ERRORS + 1 {
            eprintln!("exhound: further evidence errors are only counted");
        }
    }

    /// Writes one index line.
    pub fn line(&mut self, line: &[u8]) {
        let Some(out) = &mut self.out else {
            self.errors += 1;
            return;
        };
        if let Err(e) = out.write_all(line) {
            self.errors += 1;
            self.out = None;
            let p = self.path.display().to_string();
            self.report(&format!("evidence index {p}: {e}"));
        }
    }

    /// Writes out what is buffered.
    pub fn flush(&mut self) {
        if let Some(out) = &mut self.out {
            if let Err(e) = out.flush() {
                self.errors += 1;
                self.out = None;
                let p = self.path.display().to_string();
                self.report(&format!("evidence index {p}: {e}"));
            }
        }
    }
}

impl Drop for EvidenceIndex {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn facts(client: IpAddr, server: IpAddr) -> FlowFacts {
        FlowFacts {
            flow_id: 7,
            client_ip: client,
            client_port: 51234,
            server_ip: server,
            server_port: 443,
            vlan: Vec::new(),
            start: Timestamp::from_secs(0),
            first_packet: 1,
            pkts_toserver: 0,
            pkts_toclient: 0,
            bytes_toserver: 0,
            bytes_toclient: 0,
        }
    }

    fn frame(data: &[u8]) -> crate::capture::RawPacket<'_> {
        crate::capture::RawPacket {
            ts: Timestamp::from_secs(5),
            link_type: 1,
            data,
            wire_len: data.len() as u32,
            number: 1,
        }
    }

    #[test]
    fn names_say_time_addresses_and_sid_and_are_safe() {
        let ts = Timestamp::from_parts(1_614_766_272, 123_456_789);
        let v4 = facts("10.0.0.5".parse().unwrap(), "10.0.0.10".parse().unwrap());
        assert_eq!(
            file_stem(ts, &v4, 4210001),
            "20210303T101112.123456Z_10.0.0.5-51234_10.0.0.10-443_sid4210001"
        );
        let v6 = facts(
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            "2001:db8::1".parse().unwrap(),
        );
        let name = file_stem(ts, &v6, 1);
        assert_eq!(
            name,
            "20210303T101112.123456Z_..1-51234_2001.db8..1-443_sid1"
        );
        assert!(!name.contains(['/', ':', '\\', ' ']));
    }

    #[test]
    fn a_second_flow_with_the_same_name_gets_a_number() {
        let dir = std::env::temp_dir().join(format!("exhound-ev-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut w = EvidenceWriter::new(&dir);
        let flow = facts("10.0.0.5".parse().unwrap(), "10.0.0.10".parse().unwrap());
        let mut names = Vec::new();
        for _ in 0..3 {
            let mut c = FlowCapture::new();
            let mut used = 0;
            c.push(&frame(b"abc"), 100, &mut used, usize::MAX);
            c.alert(Timestamp::from_secs(5), 9, true);
            let written = w.write(&flow, &c).unwrap().unwrap();
            names.push(written.entry.file);
        }
        assert!(names[1].ends_with("_sid9-2.pcap"), "{names:?}");
        assert!(names[2].ends_with("_sid9-3.pcap"), "{names:?}");
        let bytes = std::fs::read(dir.join(&names[0])).unwrap();
        assert_eq!(bytes.len(), 24 + 16 + 3);
        assert_eq!(&bytes[0..4], &0xa1b2_3c4du32.to_le_bytes());
        assert_eq!(&bytes[40..], b"abc");
        // A flow with no alert has no file.
        assert!(w.write(&flow, &FlowCapture::new()).is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unwritable_directory_is_an_error_naming_the_file() {
        let mut w = EvidenceWriter::new(Path::new("/nonexistent-exhound-dir/x"));
        let flow = facts("10.0.0.5".parse().unwrap(), "10.0.0.10".parse().unwrap());
        let mut c = FlowCapture::new();
        let mut used = 0;
        c.push(&frame(b"abc"), 100, &mut used, usize::MAX);
        c.alert(Timestamp::from_secs(5), 9, true);
        let err = w.write(&flow, &c).unwrap().unwrap_err().to_string();
        assert!(
            err.contains("/nonexistent-exhound-dir/x/19700101T000005.000000Z"),
            "{err}"
        );
    }
}
