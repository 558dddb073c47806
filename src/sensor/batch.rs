//! What travels between the sensor's threads: batches of packets and control items from the
//! capture thread to a worker, and batches of ordered records from a worker to the output.
//!
//! A [`Batch`] holds the bytes of its packets in one buffer and fixed-size [`Item`]s that
//! point into it, so filling one costs no allocation once the buffers have grown; batches
//! go back to the capture thread to be reused. Every item has a [`Item::position`]: the
//! capture thread numbers packets and control items (ticks, stats marks, rule reloads) in
//! one increasing sequence, and every record a worker makes is keyed by the position of the
//! item that made it ([`OrderKey`]). That key, not thread timing, decides the output order.

use std::net::IpAddr;
use std::sync::Arc;

use crate::decode::{IpHeader, SegmentLayout};
use crate::detect::{Alert, CrossFlow, RuleInfo, RuleSet};
use crate::http::{HttpTransaction, PacketRef};
use crate::output::eve;
use crate::output::redact::Redactor;
use crate::output::FlowFacts;
use crate::pipeline::WorkerStats;
use crate::time::Timestamp;
use crate::tls::TlsInfo;

use super::stats::CaptureCounters;

/// Where a record goes in the output: records are written in key order.
///
/// `position` is the position of the input item whose processing made the record. `flow`
/// orders records made by the same item: for flows closed together (by a tick or at the
/// end) it is the capture position of each flow's first packet; for a packet's own records
/// it is `u64::MAX`; for stats it is the worker's index. `seq` keeps one worker's records
/// in the order it made them. Two workers never make records with the same
/// (`position`, `flow`), so keys are unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderKey {
    /// Position of the item that made the record.
    pub position: u64,
    /// Order among the records of that item.
    pub flow: u64,
    /// Order among one worker's records with the same `position` and `flow`.
    pub seq: u64,
}

impl OrderKey {
    /// The lowest key of any record made by the item at `position` or later.
    pub fn at(position: u64) -> OrderKey {
        OrderKey {
            position,
            flow: 0,
            seq: 0,
        }
    }

    /// Higher than every key.
    pub const END: OrderKey = OrderKey {
        position: u64::MAX,
        flow: u64::MAX,
        seq: u64::MAX,
    };
}

/// One entry of a batch for a worker.
#[derive(Debug, Clone)]
pub enum Item {
    /// A frame of a TCP flow owned by the worker: bytes `start..start + len` of the batch.
    Frame {
        /// Position in the sequence of items.
        position: u64,
        /// Packet number (`pcap_cnt`).
        pcap_cnt: u64,
        /// Capture time.
        ts: Timestamp,
        /// Link type of the frame.
        link_type: i32,
        /// Shard of the frame's flow.
        shard: u16,
        /// Length on the wire (for evidence captures).
        wire_len: u32,
        /// First byte in the batch.
        start: u32,
        /// Length.
        len: u32,
        /// The TCP segment the dispatcher decoded, so that the worker need not decode the
        /// frame again (`None`: it does).
        layout: Option<SegmentLayout>,
    },
    /// The TCP payload of a datagram reassembled from fragments, completed by packet
    /// `pcap_cnt` of `wire_len` bytes: bytes `start..start + len` of the batch.
    Datagram {
        /// Position in the sequence of items.
        position: u64,
        /// Packet number of the last fragment.
        pcap_cnt: u64,
        /// Capture time of the last fragment.
        ts: Timestamp,
        /// Addresses and VLAN ids (boxed: datagrams are rare, and the other items need not
        /// be as large as they are).
        ip: Box<IpHeader>,
        /// IP protocol of the payload.
        protocol: u8,
        /// Shard of the datagram's flow.
        shard: u16,
        /// Captured length of the last fragment.
        wire_len: u32,
        /// First byte in the batch.
        start: u32,
        /// Length.
        len: u32,
    },
    /// The frame of one fragment of the datagram in the next [`Item::Datagram`] (with
    /// evidence captures on): bytes `start..start + len` of the batch. A datagram's
    /// fragment frames are in the same batch as the datagram, just before it.
    FragmentFrame {
        /// Capture time.
        ts: Timestamp,
        /// Link type of the frame.
        link_type: i32,
        /// Length on the wire.
        wire_len: u32,
        /// First byte in the batch.
        start: u32,
        /// Length.
        len: u32,
    },
    /// Packet time has reached `now`: close the flows idle past their timeout.
    Tick {
        /// Position in the sequence of items.
        position: u64,
        /// Packet time.
        now: Timestamp,
    },
    /// Packets from `first_pcap_cnt` on come from the capture file `name`.
    File {
        /// Packet number of the file's first record.
        first_pcap_cnt: u64,
        /// The file's name.
        name: Arc<str>,
    },
    /// Report counters (for an EVE `stats` record at this position).
    StatsMark {
        /// Position in the sequence of items.
        position: u64,
        /// The capture thread's counters at this point, and the record's time.
        capture: Arc<CaptureCounters>,
    },
    /// Inspect with these rules from here on.
    Rules {
        /// Position in the sequence of items.
        position: u64,
        /// The new rule set.
        rules: Arc<RuleSet>,
    },
}

impl Item {
    /// True for packet items (those a full queue drops in live capture).
    pub fn is_packet(&self) -> bool {
        matches!(self, Item::Frame { .. } | Item::Datagram { .. })
    }
}

/// Packets and control items for one worker, in position order.
#[derive(Debug, Default)]
pub struct Batch {
    /// The items.
    pub items: Vec<Item>,
    /// Bytes of the packet items.
    pub bytes: Vec<u8>,
    /// Every item with a lower position that goes to this worker is in this batch or an
    /// earlier one: once the worker has processed this batch, its later records will all
    /// have keys of at least `OrderKey::at(through)`.
    pub through: u64,
}

impl Batch {
    /// Packet items in the batch.
    pub fn packets(&self) -> usize {
        self.items.iter().filter(|i| i.is_packet()).count()
    }

    /// Empties the batch, keeping its buffers.
    pub fn clear(&mut self) {
        self.items.clear();
        self.bytes.clear();
    }
}

/// The summary facts of an alert, for the tallies of the summary.
#[derive(Debug, Clone)]
pub struct AlertNote {
    /// The rule.
    pub rule: Arc<RuleInfo>,
    /// Client address of the flow.
    pub client_ip: IpAddr,
    /// Server address of the flow.
    pub server_ip: IpAddr,
    /// Server port of the flow.
    pub server_port: u16,
    /// The flow (the position of its first packet).
    pub flow: u64,
}

/// An alert's EVE line, made by the worker, or left to the output for an alert that may not
/// stand.
#[derive(Debug)]
pub enum AlertLine {
    /// The line (with its newline).
    Ready(Vec<u8>),
    /// What the line is made from: for an alert that waits on state shared across flows.
    /// Most such candidates do not stand (a page request that no web-shell write named), and
    /// a line costs several times more to make than its parts to keep, so the output makes
    /// it only for those that stand.
    Deferred(Box<DeferredAlert>),
}

impl AlertLine {
    /// The line.
    pub fn into_line(self) -> Vec<u8> {
        match self {
            AlertLine::Ready(line) => line,
            AlertLine::Deferred(d) => d.line(),
        }
    }
}

/// The parts of an alert's EVE line: what [`eve::alert_line`] takes, owned.
#[derive(Debug)]
pub struct DeferredAlert {
    /// The flow.
    pub flow: FlowFacts,
    /// The alert (without its cross-flow work, which the record carries).
    pub alert: Alert,
    /// The packet it is attributed to.
    pub at: PacketRef,
    /// The transaction, for HTTP rules.
    pub tx: Option<HttpTransaction>,
    /// The connection's TLS handshake, on a TLS connection.
    pub tls: Option<TlsInfo>,
    /// The payload to write (`--payload`).
    pub payload: Option<Vec<u8>>,
    /// The capture file's name.
    pub pcap_filename: Option<String>,
    /// How credentials are masked.
    pub redact: Option<Redactor>,
}

impl DeferredAlert {
    /// The line (with its newline), as the worker would have made it.
    pub fn line(&self) -> Vec<u8> {
        eve::alert_line(
            &self.flow,
            &self.alert,
            self.at,
            self.tx.as_ref(),
            self.tls.as_ref(),
            self.payload.as_deref(),
            self.pcap_filename.as_deref(),
            self.redact.as_ref(),
        )
    }
}

/// What a worker hands to the output.
#[derive(Debug)]
pub enum RecordKind {
    /// An EVE line (with its newline), written as is.
    Line(Vec<u8>),
    /// An alert, or an entry with only xbit commands (`line` is `None`): settled against
    /// the state shared across flows first when it has `cross_flow` work.
    Alert {
        /// The EVE line (none for an entry with only xbit commands).
        line: Option<AlertLine>,
        /// For the summary.
        note: AlertNote,
        /// Cross-flow work to settle.
        cross_flow: Option<Box<CrossFlow>>,
    },
    /// One worker's counters at a stats mark.
    Stats {
        /// The worker's counters.
        worker: Box<WorkerStats>,
        /// The capture thread's counters.
        capture: Arc<CaptureCounters>,
    },
    /// The rule set changes here.
    Rules(Arc<RuleSet>),
    /// An evidence file was written (its index line) or could not be (why).
    Evidence(EvidenceRecord),
}

/// One record and its place in the output.
#[derive(Debug)]
pub struct Record {
    /// Its place.
    pub key: OrderKey,
    /// What it is.
    pub kind: RecordKind,
}

/// A worker's records since its last message, and how far it has got.
#[derive(Debug)]
pub enum WorkerMessage {
    /// New records; every later record of this worker has a key of at least `through`.
    Records {
        /// The worker.
        worker: usize,
        /// The records, in any order.
        records: Vec<Record>,
        /// The worker's watermark.
        through: OrderKey,
    },
    /// The worker has finished: its last records and its final counters.
    Done {
        /// The worker.
        worker: usize,
        /// The records, in any order.
        records: Vec<Record>,
        /// The worker's counters.
        stats: Box<WorkerStats>,
    },
}

/// An evidence file a worker wrote, for the output to index.
#[derive(Debug)]
pub struct EvidenceRecord {
    /// Its index line, or why the file could not be written.
    pub outcome: Result<Vec<u8>, String>,
    /// The flow (the position of its first packet).
    pub flow: u64,
    /// Some alert of the flow stood without settling; if not, the file is kept only if one
    /// of the flow's alerts stood once settled (xbits, thresholds), else withdrawn.
    pub certain: bool,
    /// The file, to remove when it is withdrawn.
    pub path: Option<std::path::PathBuf>,
    /// Sids of the index line raised only by alerts settled across flows.
    pub unsettled_sids: Vec<u32>,
    /// Its packets, bytes and whether it is truncated, to take back from the counters then.
    pub counts: (u64, u64, bool),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_fits_in_a_cache_line() {
        // Items are written by the capture thread and read by a worker on another core:
        // one cache line each (see `decode::layout`).
        assert!(
            std::mem::size_of::<Item>() <= 64,
            "{} bytes",
            std::mem::size_of::<Item>()
        );
    }
}
