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

use crate::capture::SharedBytes;
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
    /// A frame of a TCP flow owned by the worker: bytes `start..start + len` of the batch's
    /// `bytes` (`block` 0) or of its shared block `block - 1` ([`Batch::packet_bytes`]).
    Frame {
        /// Position in the sequence of items.
        position: u64,
        /// Packet number (`pcap_cnt`).
        pcap_cnt: u64,
        /// Capture time.
        ts: Timestamp,
        /// Link type of the frame (a DLT value: libpcap's are 16-bit).
        link_type: u16,
        /// Shard of the frame's flow.
        shard: u16,
        /// Length on the wire (for evidence captures).
        wire_len: u32,
        /// Where the bytes are: 0 for the batch's own, `i + 1` for `blocks[i]`.
        block: u16,
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
    /// Bytes of the packet items copied into the batch.
    pub bytes: Vec<u8>,
    /// Capture blocks that frames point into instead of being copied.
    pub blocks: Vec<SharedBytes>,
    /// Bytes of the frames in `blocks`.
    pub shared_bytes: usize,
    /// Bytes of the blocks in `blocks`.
    block_bytes: usize,
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

    /// Empties the batch, keeping its buffers (and letting its blocks go).
    pub fn clear(&mut self) {
        self.items.clear();
        self.bytes.clear();
        self.blocks.clear();
        self.shared_bytes = 0;
        self.block_bytes = 0;
    }

    /// Drops the packets (and their bytes), keeping the control items.
    pub fn drop_packets(&mut self) {
        self.items
            .retain(|i| !i.is_packet() && !matches!(i, Item::FragmentFrame { .. }));
        self.bytes.clear();
        self.blocks.clear();
        self.shared_bytes = 0;
        self.block_bytes = 0;
    }

    /// Packet bytes in the batch, by the place an item gives.
    pub fn packet_bytes(&self, block: u16, start: u32, len: u32) -> Option<&[u8]> {
        let bytes = match block.checked_sub(1) {
            None => &self.bytes[..],
            Some(i) => &self.blocks.get(usize::from(i))?[..],
        };
        let start = start as usize;
        bytes.get(start..start.checked_add(len as usize)?)
    }

    /// Places a frame by reference to `shared`, the block it lies in: its `block` and
    /// `start` for [`Batch::packet_bytes`]. `None` when it should be copied instead: it is
    /// not inside `shared`, or taking in one more block would have the batch hold more than
    /// four times the bytes of its frames (a worker that gets one packet in a thousand must
    /// not hold every block of the capture).
    pub fn place_shared(&mut self, shared: &SharedBytes, data: &[u8]) -> Option<(u16, u32)> {
        // Addresses are compared, never dereferenced.
        let start = (data.as_ptr() as usize).checked_sub(shared.as_ptr() as usize)?;
        if start.checked_add(data.len())? > shared.len() {
            return None;
        }
        let start = u32::try_from(start).ok()?;
        let same = self.blocks.last().is_some_and(|b| Arc::ptr_eq(b, shared));
        if !same {
            if self.block_bytes > 4 * (self.shared_bytes + data.len()) {
                return None;
            }
            u16::try_from(self.blocks.len() + 1).ok()?;
            self.blocks.push(Arc::clone(shared));
            self.block_bytes += shared.len();
        }
        self.shared_bytes += data.len();
        Some((self.blocks.len() as u16, start))
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
    fn frames_point_into_shared_blocks_while_they_carry_their_weight() {
        let block_a: SharedBytes = Arc::new((0..=255u8).cycle().take(1000).collect());
        let block_b: SharedBytes = Arc::new(vec![9; 1000]);
        let mut batch = Batch::default();
        // A frame of block A, another of A (no second reference), then one of B: taken in
        // only while the blocks held stay within four times the frames' bytes.
        assert_eq!(
            batch.place_shared(&block_a, &block_a[10..20]),
            Some((1, 10))
        );
        assert_eq!(
            batch.place_shared(&block_a, &block_a[500..800]),
            Some((1, 500))
        );
        assert_eq!(batch.blocks.len(), 1);
        assert_eq!(batch.place_shared(&block_b, &block_b[0..10]), Some((2, 0)));
        assert_eq!(batch.packet_bytes(1, 500, 300), Some(&block_a[500..800]));
        assert_eq!(batch.packet_bytes(2, 0, 10), Some(&block_b[0..10]));
        // Now 2,000 bytes of blocks for 320 of frames: a third block is refused (copy).
        let block_c: SharedBytes = Arc::new(vec![1; 1000]);
        assert_eq!(batch.place_shared(&block_c, &block_c[0..10]), None);
        // Bytes that are not in the block they are said to be in are refused too.
        assert_eq!(batch.place_shared(&block_a, &block_b[0..10]), None);
        // The block of the last frame is referenced once, whatever the weight.
        assert_eq!(
            batch.place_shared(&block_b, &block_b[990..]),
            Some((2, 990))
        );
        // Places past the end give nothing, not a panic.
        assert_eq!(batch.packet_bytes(3, 0, 1), None);
        assert_eq!(batch.packet_bytes(2, 990, 11), None);
        assert_eq!(batch.packet_bytes(0, 0, 1), None);
        batch.clear();
        assert!(batch.blocks.is_empty());
        assert_eq!(Arc::strong_count(&block_a), 1);
        assert_eq!(batch.place_shared(&block_c, &block_c[0..10]), Some((1, 0)));
    }

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
