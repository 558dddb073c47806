//! Evidence captures (`--evidence DIR`): the original packets of every flow that raised an
//! alert, one classic pcap file per flow, with an index of JSON lines.
//!
//! Capture side ([`ring`]): while evidence is on, each flow keeps its most recent packets,
//! up to a depth of bytes, in a [`FlowCapture`] beside its other state; once one of its
//! packets raises an alert the ring stops dropping and keeps the flow's next packets until
//! as many bytes again have been kept or the flow ends. Every ring of a shard draws on the
//! shard's share of one budget (`--evidence-memcap`, split over the flow shards like
//! `--memcap`), so memory is bounded and which packets a full budget leaves out does not
//! depend on the number of threads.
//!
//! IP fragments are reassembled by the capture thread, before any worker: with evidence on
//! it keeps a copy of each fragment's frame ([`fragments`]) and hands the copies to the
//! flow's worker with the datagram, so a fragmented flow's file has its fragments.
//!
//! Output side ([`file`]): when an alerted flow leaves the flow table (FIN/RST and the
//! closed timeout, idle timeout, eviction, end of the capture or shutdown) its packets are
//! written as a pcap with nanosecond timestamps and the link type of its packets, named by
//! the time of the first alert, the client and server addresses and the first sid; the
//! index line says what the file holds and what it misses. Files are written by the worker
//! that owns the flow, index lines by the output thread in EVE order, so a replay makes the
//! same files and the same index on every run and for any number of threads.
//!
//! Evidence is never redacted: the files hold the packets as captured.

pub mod file;
pub mod fragments;
pub mod ring;

use std::path::PathBuf;
use std::sync::Arc;

pub use file::{EvidenceIndex, EvidenceWriter};
pub use ring::FlowCapture;

/// Settings of evidence captures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceConfig {
    /// The directory the files and `index.json` go to.
    pub dir: Arc<PathBuf>,
    /// Bytes of packets kept per flow before its first alert (the most recent ones), and
    /// again after it. By default 1 MiB.
    pub depth: usize,
    /// The budget of every flow's ring together (of one shard, once divided). By default
    /// 256 MiB.
    pub memcap: usize,
}

impl EvidenceConfig {
    /// Evidence into `dir` with the default depth and budget.
    pub fn new(dir: PathBuf) -> EvidenceConfig {
        EvidenceConfig {
            dir: Arc::new(dir),
            depth: 1 << 20,
            memcap: 256 << 20,
        }
    }
}

/// Counters of evidence captures (all zero, and not reported, when evidence is off).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvidenceStats {
    /// Evidence is on (the counters are reported).
    pub enabled: bool,
    /// Evidence files written.
    pub files: u64,
    /// Packets written to them.
    pub packets: u64,
    /// Bytes of those packets (captured bytes, without pcap headers).
    pub bytes: u64,
    /// Files that miss packets from before the alert: the ring's depth dropped them.
    pub truncated: u64,
    /// Packets of a flow not kept because the evidence budget was spent.
    pub dropped_memcap: u64,
    /// Files or index lines that could not be written.
    pub errors: u64,
    /// Bytes the rings hold now, and their budget (all shards).
    pub memuse: u64,
    /// The budget of the rings, all shards.
    pub memcap: u64,
}

impl EvidenceStats {
    /// Adds another worker's counters to these.
    pub fn merge(&mut self, o: &EvidenceStats) {
        self.enabled |= o.enabled;
        self.files += o.files;
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.truncated += o.truncated;
        self.dropped_memcap += o.dropped_memcap;
        self.errors += o.errors;
        self.memuse += o.memuse;
        self.memcap += o.memcap;
    }
}
