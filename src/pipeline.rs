//! One worker's pipeline: decode → defrag → flow → stream → http → detect, for the flows it
//! owns.
//!
//! A [`Worker`] takes raw packets in capture order, runs the rules (when it has any) on each
//! HTTP request as soon as it is over, on each response when its transaction is finished, and
//! on stream data, and hands transactions and alerts, with the
//! facts of their flow, to an [`EventSink`]. It owns everything it touches (flow table,
//! defragmenter, reassembly memory, counters), so several workers can run side by side, each
//! on its own share of the flows. Packet time drives every timeout.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::capture::RawPacket;
use crate::decode::defrag::{DefragConfig, DefragStats, Defragmenter};
use crate::decode::{self, checksum, DecodeError, Decoded, IpHeader, TcpSegment};
use crate::detect::{
    Alert, AlertDirection, CrossFlowState, DetectStats, FlowDetectState, FlowMeta, RuleSet, TxSide,
    WorkerDetectState,
};
use crate::evidence::{EvidenceConfig, EvidenceStats, FlowCapture};
use crate::flow::{Endpoint, FlowConfig, FlowKey, FlowStats, FlowTable, Keyed, Side};
use crate::http::{ClosedHttp, HttpConfig, HttpConnection, HttpStats, HttpTransaction, PacketRef};
use crate::output::eve::flow_id;
use crate::output::FlowFacts;
use crate::stream::{
    ClosedTcpSession, ReassemblyMemory, StreamConfig, StreamEvent, StreamStats, TcpSession,
};
use crate::time::Timestamp;
use crate::tls::{Decrypt, SessionCache, TlsConfig, TlsConnection, TlsInfo, TlsKeys, TlsStats};

/// Settings of every stage.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Flow table limits.
    pub flow: FlowConfig,
    /// IP defragmentation limits.
    pub defrag: DefragConfig,
    /// TCP reassembly settings.
    pub stream: StreamConfig,
    /// The memory budget of the flows of one shard: everything a flow can make the worker
    /// hold — its entry in the flow table, out-of-order TCP data, HTTP heads, bodies and
    /// waiting requests, detection state. Past it, the flows idle longest are evicted (and,
    /// if one flow alone is past it, that flow). A worker with several shards gives each
    /// this much. By default 480 MiB.
    pub memcap: usize,
    /// HTTP limits.
    pub http: HttpConfig,
    /// TLS handshake parsing limits.
    pub tls: TlsConfig,
    /// What to do with segments whose checksums are wrong. By default `auto`.
    pub checksums: ChecksumMode,
    /// Treat a connection seen from one side only (asymmetric routing, a tap on one
    /// direction) as established once that side has completed its part of the handshake
    /// (Suricata's `stream.async-oneside`). By default off.
    pub async_oneside: bool,
    /// Measure what each rule and prefilter costs (the workers' [`DetectStats::profile`]),
    /// for `exhound bench`. Slower; by default off.
    pub profile_rules: bool,
    /// Keep each flow's recent frames and hand those of flows that raised an alert to the
    /// sink when they end ([`EventSink::evidence`]). By default off (`None`).
    pub evidence: Option<EvidenceConfig>,
}

/// What to do with TCP segments whose IPv4 or TCP checksum is wrong (Suricata's `-k`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChecksumMode {
    /// Take every segment (captures known to carry offloaded checksums).
    None,
    /// Drop every segment with a wrong checksum, as the receiver's TCP stack does (a SPAN
    /// port or tap shows the checksums that were on the wire).
    All,
    /// Drop segments with a wrong checksum, except from a side of a connection whose
    /// packets have all had wrong checksums so far: that is what a capture taken on a host
    /// with checksum offload looks like (its own packets leave before the NIC fills the
    /// checksum in). If such a side then sends a right checksum, the connection starts anew
    /// from that packet, so bytes an attacker sent with wrong checksums before its first
    /// right one cannot shape what is inspected.
    #[default]
    Auto,
}

/// How one side's checksums are treated, in [`ChecksumMode::Auto`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ChecksumTrust {
    /// Nothing seen yet.
    #[default]
    Unknown,
    /// Every packet had a wrong checksum: taken as checksum offload.
    Offloaded,
    /// A right checksum was seen: wrong ones are dropped.
    Verified,
}

/// What to do with one segment, by its checksums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// Inspect it.
    Take,
    /// Drop it (the receiver would).
    Drop,
    /// End the connection and start a new one with it.
    Restart,
}

impl ChecksumTrust {
    /// The fate of a segment whose checksums are right (`Some(true)`), wrong, or cannot be
    /// known (`None`), under `mode`; updates the side's trust.
    fn gate(&mut self, mode: ChecksumMode, ok: Option<bool>) -> Gate {
        match (mode, ok) {
            (ChecksumMode::None, _) | (_, None) => Gate::Take,
            (ChecksumMode::All, Some(ok)) => {
                if ok {
                    Gate::Take
                } else {
                    Gate::Drop
                }
            }
            (ChecksumMode::Auto, Some(true)) => {
                let was = std::mem::replace(self, ChecksumTrust::Verified);
                if was == ChecksumTrust::Offloaded {
                    Gate::Restart
                } else {
                    Gate::Take
                }
            }
            (ChecksumMode::Auto, Some(false)) => {
                if *self == ChecksumTrust::Verified {
                    Gate::Drop
                } else {
                    *self = ChecksumTrust::Offloaded;
                    Gate::Take
                }
            }
        }
    }
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            flow: FlowConfig::default(),
            defrag: DefragConfig::default(),
            stream: StreamConfig::default(),
            memcap: 480 << 20,
            http: HttpConfig::default(),
            tls: TlsConfig::default(),
            checksums: ChecksumMode::default(),
            async_oneside: false,
            profile_rules: false,
            evidence: None,
        }
    }
}

/// Where an alert was raised: the packet, the transaction (for HTTP rules), the bytes
/// that matched (the message for HTTP rules, the stream data for stream rules) and, on a
/// TLS connection, its handshake.
#[derive(Debug, Clone, Copy)]
pub struct AlertContext<'a> {
    /// The packet the alert is attributed to.
    pub at: PacketRef,
    /// The transaction, for HTTP rules.
    pub tx: Option<&'a HttpTransaction>,
    /// The inspected bytes, for stream and packet rules.
    pub payload: &'a [u8],
    /// The connection's TLS handshake so far, on a TLS connection.
    pub tls: Option<&'a TlsInfo>,
}

/// Receives what a worker finds: finished HTTP transactions and alerts.
pub trait EventSink {
    /// One finished transaction of the flow described by `flow`; `tls` is the connection's
    /// handshake when the transaction was decrypted from TLS.
    fn transaction(&mut self, flow: &FlowFacts, tx: &HttpTransaction, tls: Option<&TlsInfo>);
    /// One alert on the flow described by `flow`.
    fn alert(&mut self, flow: &FlowFacts, alert: &Alert, context: AlertContext<'_>);
    /// The TLS handshake of the flow described by `flow`, once per TLS connection: when
    /// both directions have told what they tell in clear, or when the connection ends.
    /// `at` is the packet that completed it. By default ignored.
    fn tls(&mut self, flow: &FlowFacts, tls: &TlsInfo, at: PacketRef) {
        let _ = (flow, tls, at);
    }
    /// The evidence packets of a flow that raised an alert, when the flow ends (evidence
    /// captures on). By default ignored.
    fn evidence(&mut self, flow: &FlowFacts, capture: &FlowCapture) {
        let _ = (flow, capture);
    }
}

/// Passes everything on to `inner`, noting the sid and packet time of each alert that is
/// not silent: what the flow's evidence ring needs to know.
struct AlertTap<'a> {
    inner: &'a mut dyn EventSink,
    alerts: &'a mut Vec<(u32, Timestamp, bool)>,
}

impl EventSink for AlertTap<'_> {
    fn transaction(&mut self, flow: &FlowFacts, tx: &HttpTransaction, tls: Option<&TlsInfo>) {
        self.inner.transaction(flow, tx, tls);
    }
    fn alert(&mut self, flow: &FlowFacts, alert: &Alert, context: AlertContext<'_>) {
        if !alert.is_silent() {
            self.alerts
                .push((alert.sid(), context.at.ts, alert.cross_flow.is_none()));
        }
        self.inner.alert(flow, alert, context);
    }
    fn tls(&mut self, flow: &FlowFacts, tls: &TlsInfo, at: PacketRef) {
        self.inner.tls(flow, tls, at);
    }
    fn evidence(&mut self, flow: &FlowFacts, capture: &FlowCapture) {
        self.inner.evidence(flow, capture);
    }
}

/// Packet and decoding counters of one worker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Packets given to the worker.
    pub packets: u64,
    /// Captured bytes of those packets.
    pub bytes: u64,
    /// TCP segments (after defragmentation).
    pub tcp: u64,
    /// IP packets of other protocols.
    pub other_ip: u64,
    /// Frames that carry no IP.
    pub not_ip: u64,
    /// Frames of a link type exhound does not decode.
    pub unknown_link: u64,
    /// Frames cut short or malformed.
    pub invalid: u64,
    /// IPv4 fragments dropped because their header checksum was wrong.
    pub invalid_checksum: u64,
}

/// Every counter of one worker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Packets and decoding.
    pub decode: DecodeStats,
    /// IP defragmentation.
    pub defrag: DefragStats,
    /// Flow table.
    pub flow: FlowStats,
    /// TCP reassembly.
    pub stream: StreamStats,
    /// HTTP parsing.
    pub http: HttpStats,
    /// TLS handshake parsing.
    pub tls: TlsStats,
    /// Detection.
    pub detect: DetectStats,
    /// Bytes charged to the memory budget at the time of these counters, all shards.
    pub memory_used: u64,
    /// The most each shard had charged at once, summed over the shards.
    pub memory_peak: u64,
    /// The memory budget, all shards.
    pub memory_cap: u64,
    /// Evidence captures (files are counted by whoever writes them).
    pub evidence: EvidenceStats,
}

impl WorkerStats {
    /// Adds another worker's counters to these (for the summary of a multi-worker run).
    pub fn merge(&mut self, other: &WorkerStats) {
        let d = &mut self.decode;
        let o = &other.decode;
        d.packets += o.packets;
        d.bytes += o.bytes;
        d.tcp += o.tcp;
        d.other_ip += o.other_ip;
        d.not_ip += o.not_ip;
        d.unknown_link += o.unknown_link;
        d.invalid += o.invalid;
        d.invalid_checksum += o.invalid_checksum;
        let (f, of) = (&mut self.flow, &other.flow);
        f.created += of.created;
        f.timed_out += of.timed_out;
        f.evicted += of.evicted;
        f.peak += of.peak;
        self.defrag.merge(&other.defrag);
        let (s, os) = (&mut self.stream, &other.stream);
        s.sessions += os.sessions;
        s.midstream_pickups += os.midstream_pickups;
        s.out_of_order += os.out_of_order;
        s.retransmissions += os.retransmissions;
        s.overlaps += os.overlaps;
        s.overlaps_different += os.overlaps_different;
        s.gaps += os.gaps;
        s.gap_bytes += os.gap_bytes;
        s.depth_reached += os.depth_reached;
        s.memcap_drops += os.memcap_drops;
        s.ignored += os.ignored;
        s.reused += os.reused;
        s.syn_data_ignored += os.syn_data_ignored;
        s.invalid_checksum += os.invalid_checksum;
        s.offload_accepted += os.offload_accepted;
        s.checksum_restarts += os.checksum_restarts;
        s.rst_invalid += os.rst_invalid;
        s.out_of_window += os.out_of_window;
        s.out_of_window_taken += os.out_of_window_taken;
        s.held_limit += os.held_limit;
        let (h, oh) = (&mut self.http, &other.http);
        h.connections += oh.connections;
        h.transactions += oh.transactions;
        h.requests += oh.requests;
        h.responses += oh.responses;
        h.not_http += oh.not_http;
        h.garbage += oh.garbage;
        h.resyncs += oh.resyncs;
        h.bodies_truncated += oh.bodies_truncated;
        h.decode_errors += oh.decode_errors;
        h.pending_overflows += oh.pending_overflows;
        self.tls.merge(&other.tls);
        self.detect.merge(&other.detect);
        self.memory_used += other.memory_used;
        self.memory_peak += other.memory_peak;
        self.memory_cap += other.memory_cap;
        self.evidence.merge(&other.evidence);
    }
}

/// Everything a worker keeps about one TCP flow.
struct FlowState {
    /// The flow's key: its endpoints and VLAN ids (the flow table keeps no copy of it).
    key: FlowKey,
    /// The initiator is the key's low endpoint (else its high one).
    initiator_is_low: bool,
    flow_id: u64,
    /// TCP and HTTP state: whole while the connection is open, a few fields once it closed
    /// with nothing left in it.
    conn: Connection,
    tls: TlsConnection,
    /// The last packet of the flow, which stands for the end of data flushed at the flow's end.
    last_at: PacketRef,
    /// When the flow's first packet was seen.
    start: Timestamp,
    /// The capture position of the flow's first packet.
    first_packet: u64,
    /// Packets sent by each side (indexed by [`Side::index`]).
    packets: [u64; 2],
    /// Captured bytes sent by each side.
    bytes: [u64; 2],
    /// Flowbits.
    detect: FlowDetectState,
    /// Whether the first packet was a SYN or a SYN/ACK.
    opening: Opening,
    /// How each side's checksums are treated (indexed by [`Side::index`]).
    checksum_trust: [ChecksumTrust; 2],
    /// The shard the flow belongs to (index into the worker's shards; a worker has at most
    /// [`Worker::MAX_SHARDS`]).
    shard: u16,
    /// Bytes charged to the shard's budget for what the flow owns besides its table entry
    /// and its held TCP data (which the reassembler charges itself).
    charge: usize,
    /// The flow's recent frames, with evidence captures on (charged to the shard's
    /// evidence budget, not to the flow's).
    evidence: Option<Box<FlowCapture>>,
}

/// What the first packet of a flow was (one byte: with the key, the flags and the shard it
/// keeps [`FlowState`] at 216 bytes, in glibc's 224-byte size class; two `bool`s put it in
/// the 240-byte one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opening {
    /// A SYN: the handshake was captured.
    Syn,
    /// A SYN/ACK: only the responder's half of the handshake was seen.
    SynAck,
    /// Anything else: the connection was picked up after its handshake.
    Other,
}

impl Opening {
    fn of(flags: crate::decode::TcpFlags) -> Opening {
        match (flags.syn(), flags.ack()) {
            (true, false) => Opening::Syn,
            (true, true) => Opening::SynAck,
            (false, _) => Opening::Other,
        }
    }
}

/// A flow's TCP and HTTP state.
///
/// A closed connection stays in the flow table for the closed timeout (its last ACK, a FIN
/// sent again, a late reset still come), and a busy sensor has tens of thousands of them at
/// once. Once closed with nothing left in it (no byte or transaction waiting, no decryption
/// going on), a flow keeps only what its late packets and its end still need, and gives the
/// rest back. On the 469 MB benchmark capture the whole state of the ~25,000 closed flows
/// waiting at once was most of the memory, and with it held for a minute every new flow was
/// built in memory not touched before: a replay keeping them whole took about 15% more CPU
/// time than one with a 1 s closed timeout, and so did one that leaked 900 bytes a flow.
enum Connection {
    Open(Box<OpenConnection>),
    Closed(ClosedConnection),
}

/// An open connection's state.
struct OpenConnection {
    session: TcpSession,
    http: HttpConnection,
    /// The first transaction whose request has not been inspected on its own yet.
    next_request: u64,
    /// Transactions whose request was inspected before they finished.
    requests_inspected: AwaitingAnswers,
}

/// What is left of a connection closed with nothing in it.
struct ClosedConnection {
    session: ClosedTcpSession,
    http: ClosedHttp,
}

impl Connection {
    /// The side that sent the HTTP requests, once known.
    fn http_client(&self) -> Option<Side> {
        match self {
            Connection::Open(open) => open.http.client(),
            Connection::Closed(closed) => closed.http.client(),
        }
    }

    /// The session was picked up without its handshake.
    fn is_midstream(&self) -> bool {
        match self {
            Connection::Open(open) => open.session.is_midstream(),
            Connection::Closed(closed) => closed.session.is_midstream(),
        }
    }

    /// Both directions are closed.
    fn is_closed(&self) -> bool {
        match self {
            Connection::Open(open) => open.session.is_closed(),
            Connection::Closed(_) => true,
        }
    }

    /// A SYN on this connection's four-tuple starts a new one ([`TcpSession::is_reusable`]).
    fn is_reusable(&self) -> bool {
        match self {
            Connection::Open(open) => open.session.is_reusable(),
            Connection::Closed(_) => true,
        }
    }

    /// Heap bytes the connection holds besides its held TCP bytes.
    fn heap_bytes(&self) -> usize {
        match self {
            Connection::Open(open) => {
                std::mem::size_of::<OpenConnection>()
                    + open.http.heap_bytes()
                    + open.session.held_overhead()
                    + open.requests_inspected.heap_bytes()
            }
            Connection::Closed(_) => 0,
        }
    }

    /// Keeps only the closed form of a connection closed with nothing left in it. `tls`:
    /// the flow's TLS state (a connection whose records are decrypted is kept whole: its
    /// end may still hand plaintext to HTTP).
    fn close_if_idle(&mut self, tls: &TlsConnection) {
        let Connection::Open(open) = self else {
            return;
        };
        if tls.decrypts() || !open.requests_inspected.is_empty() {
            return;
        }
        if let (Some(session), Some(http)) = (open.session.closed_form(), open.http.closed_form()) {
            *self = Connection::Closed(ClosedConnection { session, http });
        }
    }
}

/// A transaction whose request was inspected as soon as it was over, awaiting its answer.
struct InspectedRequest {
    tx_id: u64,
    /// The rules fitting either side that matched the request (they do not alert again on
    /// the response).
    matched_either: Vec<u32>,
    /// The flowbits as the request left them, kept once a later request on the connection
    /// (pipelining) is inspected before this answer comes: the answer is judged by the bits
    /// of its own request, not by what a request sent after it set or cleared. `None` while
    /// no later request has been inspected (the flow's bits are then the request's).
    bits: Option<FlowDetectState>,
}

impl InspectedRequest {
    fn heap_bytes(&self) -> usize {
        self.matched_either.capacity() * 4 + self.bits.as_ref().map_or(0, |b| b.heap_bytes())
    }
}

/// A flow's requests inspected before their answers, in `tx_id` order, with the heap bytes
/// they hold kept as a running total: the flow is charged at every packet, and a walk over 400
/// pipelined requests there was a walk per packet.
#[derive(Default)]
struct AwaitingAnswers {
    list: VecDeque<InspectedRequest>,
    heap: usize,
}

impl AwaitingAnswers {
    fn push(&mut self, request: InspectedRequest) {
        self.heap += request.heap_bytes();
        self.list.push_back(request);
    }

    /// Takes the entry of `tx_id` (the oldest one, as answers come in order).
    fn take(&mut self, tx_id: u64) -> Option<InspectedRequest> {
        let i = self.list.iter().position(|r| r.tx_id == tx_id)?;
        let request = self.list.remove(i)?;
        self.heap = self.heap.saturating_sub(request.heap_bytes());
        Some(request)
    }

    /// A later request is about to be inspected: the entries still judged by the flow's own
    /// bits keep a copy of them as they are. Those are the newest ones (every older one got
    /// its copy when the request after it came), so the walk stops at the first with a copy.
    fn keep_bits(&mut self, bits: &FlowDetectState) {
        for r in self.list.iter_mut().rev() {
            if r.bits.is_some() {
                break;
            }
            let before = r.heap_bytes();
            r.bits = Some(bits.clone());
            self.heap = self.heap.saturating_sub(before) + r.heap_bytes();
        }
    }

    /// Carries the changes that took `before` to `after` over to every entry's copy.
    fn apply_changes(&mut self, before: &FlowDetectState, after: &FlowDetectState) {
        for r in &mut self.list {
            let held = r.heap_bytes();
            if let Some(b) = &mut r.bits {
                b.apply_changes(before, after);
            }
            self.heap = self.heap.saturating_sub(held) + r.heap_bytes();
        }
    }

    fn clear(&mut self) {
        self.list.clear();
        self.heap = 0;
    }

    /// No request awaits its answer.
    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    fn shrink_to_fit(&mut self) {
        self.list.shrink_to_fit();
    }

    fn heap_bytes(&self) -> usize {
        debug_assert_eq!(
            self.heap,
            self.list
                .iter()
                .map(InspectedRequest::heap_bytes)
                .sum::<usize>()
        );
        self.list.capacity() * std::mem::size_of::<InspectedRequest>() + self.heap
    }
}

impl Keyed for FlowState {
    fn key(&self) -> &FlowKey {
        &self.key
    }
}

impl FlowState {
    /// The side that opened the connection.
    fn initiator(&self) -> Endpoint {
        if self.initiator_is_low {
            self.key.low()
        } else {
            self.key.high()
        }
    }

    /// The side that answered.
    fn responder(&self) -> Endpoint {
        if self.initiator_is_low {
            self.key.high()
        } else {
            self.key.low()
        }
    }

    /// Bytes the flow owns besides its table slot and held TCP bytes: its own (boxed) state,
    /// HTTP state, the overhead of its held TCP pieces, detection state, and its evidence
    /// ring's own fields (the packets in it are charged to the evidence budget).
    fn heap_bytes(&self) -> usize {
        std::mem::size_of::<FlowState>()
            + self
                .evidence
                .as_ref()
                .map_or(0, |_| std::mem::size_of::<FlowCapture>())
            + self.conn.heap_bytes()
            + self.tls.heap_bytes()
            + self.detect.heap_bytes()
    }

    /// The side that sent a packet from `src`.
    fn side_of(&self, src: Endpoint) -> Side {
        if src == self.initiator() {
            Side::Initiator
        } else {
            Side::Responder
        }
    }

    fn client_side(&self) -> Side {
        self.conn
            .http_client()
            .or_else(|| self.tls.client())
            .unwrap_or(Side::Initiator)
    }

    /// Whether `flow:established` holds: both sides have spoken, or the connection was picked
    /// up mid-stream (a SYN/ACK first counts, with pick-up on, as Suricata picks it up), or —
    /// with `async_oneside` — the one side seen sent its handshake packet and more.
    fn established(&self, midstream: bool, async_oneside: bool) -> bool {
        let both = self.packets[0] > 0 && self.packets[1] > 0;
        let one_side = self.packets[0].max(self.packets[1]) >= 2;
        both || self.conn.is_midstream()
            || (midstream && self.opening == Opening::SynAck)
            || (async_oneside && self.opening != Opening::Other && one_side)
    }

    /// The client's and the server's endpoints.
    fn client_server(&self) -> (Endpoint, Endpoint) {
        match self.client_side() {
            Side::Responder => (self.responder(), self.initiator()),
            Side::Initiator => (self.initiator(), self.responder()),
        }
    }

    fn meta(&self, midstream: bool, async_oneside: bool) -> FlowMeta {
        let (client, server) = self.client_server();
        FlowMeta {
            client_ip: client.addr,
            client_port: client.port,
            server_ip: server.addr,
            server_port: server.port,
            established: self.established(midstream, async_oneside),
        }
    }

    fn facts(&self) -> FlowFacts {
        let (client, server) = self.client_server();
        let client_side = self.client_side();
        let (c, s) = (client_side.index(), client_side.opposite().index());
        FlowFacts {
            flow_id: self.flow_id,
            client_ip: client.addr,
            client_port: client.port,
            server_ip: server.addr,
            server_port: server.port,
            vlan: self.key.vlan().as_slice().to_vec(),
            start: self.start,
            first_packet: self.first_packet,
            pkts_toserver: self.packets[c],
            pkts_toclient: self.packets[s],
            bytes_toserver: self.bytes[c],
            bytes_toclient: self.bytes[s],
        }
    }
}

/// The flows of one shard, and the budget they share.
struct Shard {
    /// The flows. Boxed apart from the table's entries: with the flow inside its entry (one
    /// 352-byte allocation beside the open connection's 656), a SYN flood held 12% more
    /// memory than it was charged (peak RSS 302 MiB for `--memcap 256m`, against 260 MiB
    /// boxed), the freed pieces of evicted flows serving the next ones less well.
    flows: FlowTable<Box<FlowState>>,
    /// Bytes charged to the shard (flow table, held TCP data, the flows' other state) and
    /// its cap.
    memory: ReassemblyMemory,
    /// The flow table's allocation, as last charged.
    table_bytes: usize,
    /// The most the shard has had charged at once.
    peak: usize,
    /// Bytes the flows' evidence rings hold.
    evidence_used: usize,
    /// TLS sessions whose master secret an RSA key exchange gave (for their resumptions).
    tls_sessions: SessionCache,
}

impl Shard {
    /// Charges the flow table's allocation as it is now.
    fn recharge_table(&mut self) {
        let now = self.flows.table_bytes();
        self.memory.used = (self.memory.used + now).saturating_sub(self.table_bytes);
        self.table_bytes = now;
    }
}

/// The pipeline of one worker.
pub struct Worker {
    config: PipelineConfig,
    shards: Vec<Shard>,
    defrag: Defragmenter,
    stats: WorkerStats,
    finished: Vec<HttpTransaction>,
    detection: Option<Detection>,
    /// The alerts raised by the packet being processed (sid, packet time), with evidence
    /// captures on.
    alerted: Vec<(u32, Timestamp, bool)>,
    /// The keys TLS connections are decrypted with (when any were given).
    tls_keys: Option<TlsKeys>,
}

/// A worker's detection state: the shared rules, its own xbits and rate trackers, and
/// scratch space reused from packet to packet.
struct Detection {
    rules: Arc<RuleSet>,
    state: WorkerDetectState,
    alerts: Vec<Alert>,
    /// Whether any rule inspects streams or packets (else stream data is not gathered).
    payload_rules: bool,
    /// Whether a packet rule looks at bytes (else reassembled stream data is not gathered).
    stream_rules: bool,
    /// Whether any rule inspects TLS handshakes.
    tls_rules: bool,
    /// Stream bytes the current packet made deliverable, per side.
    stream: [Vec<u8>; 2],
    /// Mid-stream pick-up is on (for `flow:established`).
    midstream: bool,
    /// One-sided connections may be established (for `flow:established`).
    async_oneside: bool,
    /// Xbits and rate counters, when this worker sees every flow in capture order and so
    /// settles matches itself; `None` when they are handed out unsettled (see
    /// [`Worker::shard`]).
    cross_flow: Option<CrossFlowState>,
}

impl Detection {
    /// Settles the cross-flow work of the alerts just raised, when this worker does that.
    fn settle(&mut self) {
        if let Some(state) = &mut self.cross_flow {
            crate::detect::settle_in_order(&mut self.alerts, state, self.rules.config());
            // Settled here: final, nothing left for the output to settle.
            for alert in &mut self.alerts {
                alert.cross_flow = None;
            }
        }
    }

    /// Runs the HTTP rules on finished transactions and hands out alerts, then the
    /// transactions.
    fn transactions(
        &mut self,
        flow: &mut FlowState,
        facts: &FlowFacts,
        finished: &mut [HttpTransaction],
        sink: &mut dyn EventSink,
    ) {
        let meta = flow.meta(self.midstream, self.async_oneside);
        let FlowState {
            conn, detect, tls, ..
        } = flow;
        // Transactions finish only on an open connection (a closed form has none left).
        let Connection::Open(open) = conn else {
            return;
        };
        let awaiting = &mut open.requests_inspected;
        for tx in finished.iter() {
            self.alerts.clear();
            let now = tx.completed_at.ts;
            let early = awaiting.take(tx.tx_id);
            match early {
                Some(InspectedRequest {
                    mut matched_either,
                    bits: Some(mut bits),
                    ..
                }) => {
                    // A later request was inspected before this answer: judge the answer by
                    // the bits of its own request, then carry what it changed to the flow
                    // and to the other answers still awaited.
                    let before = bits.clone();
                    self.rules.inspect_http_side(
                        &meta,
                        tx,
                        TxSide::Response,
                        &mut bits,
                        &mut self.state,
                        now,
                        &mut self.alerts,
                        &mut matched_either,
                    );
                    if before != bits {
                        detect.apply_changes(&before, &bits);
                        awaiting.apply_changes(&before, &bits);
                    }
                }
                Some(InspectedRequest {
                    mut matched_either,
                    bits: None,
                    ..
                }) => self.rules.inspect_http_side(
                    &meta,
                    tx,
                    TxSide::Response,
                    &mut *detect,
                    &mut self.state,
                    now,
                    &mut self.alerts,
                    &mut matched_either,
                ),
                None => {
                    let mut matched_either = Vec::new();
                    for side in [TxSide::Request, TxSide::Response] {
                        self.rules.inspect_http_side(
                            &meta,
                            tx,
                            side,
                            &mut *detect,
                            &mut self.state,
                            now,
                            &mut self.alerts,
                            &mut matched_either,
                        );
                    }
                }
            }
            self.settle();
            self.hand_out_tx_alerts(facts, tx, tls.info(), sink);
        }
    }

    /// Hands out the alerts raised on `tx`, each at the packet of its side.
    /// `tls`: the connection's handshake, when the transaction was decrypted from TLS.
    fn hand_out_tx_alerts(
        &self,
        facts: &FlowFacts,
        tx: &HttpTransaction,
        tls: Option<&TlsInfo>,
        sink: &mut dyn EventSink,
    ) {
        for alert in &self.alerts {
            let at = match alert.direction {
                AlertDirection::ToServer => tx.request_at,
                AlertDirection::ToClient => tx.completed_at,
            };
            sink.alert(
                facts,
                alert,
                AlertContext {
                    at,
                    tx: Some(tx),
                    payload: &[],
                    tls,
                },
            );
        }
    }

    /// Runs the TLS rules on the flow's handshake and hands out their alerts.
    fn tls(
        &mut self,
        flow: &mut FlowState,
        facts: &FlowFacts,
        at: PacketRef,
        sink: &mut dyn EventSink,
    ) {
        if !self.tls_rules {
            return;
        }
        let meta = flow.meta(self.midstream, self.async_oneside);
        let Some(info) = flow.tls.info() else {
            return;
        };
        self.alerts.clear();
        self.rules.inspect_tls(
            &meta,
            info,
            &mut flow.detect,
            &mut self.state,
            at.ts,
            &mut self.alerts,
        );
        self.settle();
        for alert in &self.alerts {
            sink.alert(
                facts,
                alert,
                AlertContext {
                    at,
                    tx: None,
                    payload: &[],
                    tls: Some(info),
                },
            );
        }
    }

    /// Runs the request-side rules on the requests that are over but whose transaction is
    /// not finished, and hands out their alerts: an attack request is reported when it is
    /// seen, not when (or if) the server answers.
    fn requests(&mut self, flow: &mut FlowState, at: PacketRef, sink: &mut dyn EventSink) {
        let Connection::Open(open) = &mut flow.conn else {
            return;
        };
        if open
            .http
            .requests_done_from(open.next_request)
            .next()
            .is_none()
        {
            return;
        }
        let meta = flow.meta(self.midstream, self.async_oneside);
        let facts = flow.facts();
        let FlowState {
            conn, tls, detect, ..
        } = flow;
        let Connection::Open(open) = conn else {
            return;
        };
        let midstream = open.session.is_midstream();
        let OpenConnection {
            http,
            next_request,
            requests_inspected,
            ..
        } = &mut **open;
        for tx in http.requests_done_from(*next_request) {
            tx.flags.midstream = midstream;
            *next_request = tx.tx_id + 1;
            self.alerts.clear();
            // Pipelining: the answers still awaited keep the bits their requests left.
            requests_inspected.keep_bits(detect);
            let mut matched_either = Vec::new();
            self.rules.inspect_http_side(
                &meta,
                tx,
                TxSide::Request,
                detect,
                &mut self.state,
                at.ts,
                &mut self.alerts,
                &mut matched_either,
            );
            requests_inspected.push(InspectedRequest {
                tx_id: tx.tx_id,
                matched_either,
                bits: None,
            });
            self.settle();
            self.hand_out_tx_alerts(&facts, tx, tls.info(), sink);
        }
    }

    /// Runs the stream and packet rules on what one packet of `side` carried and delivered.
    #[inline]
    fn payloads(
        &mut self,
        flow: &mut FlowState,
        side: Side,
        packet: &[u8],
        tcp_flags: u8,
        at: PacketRef,
        sink: &mut dyn EventSink,
    ) {
        if !self.payload_rules {
            return;
        }
        // Nearly every packet: no data of the other side came free, and no rule can hold on
        // this one (see `RuleSet::skip_payload`).
        if self.stream[side.opposite().index()].is_empty()
            && self
                .rules
                .skip_payload(&mut self.state, packet.len(), Some(tcp_flags))
        {
            self.stream[side.index()].clear();
            return;
        }
        self.inspect_payloads(flow, side, packet, tcp_flags, at, sink);
    }

    /// [`Detection::payloads`] for a packet that some rule may hold on.
    #[inline(never)]
    fn inspect_payloads(
        &mut self,
        flow: &mut FlowState,
        side: Side,
        packet: &[u8],
        tcp_flags: u8,
        at: PacketRef,
        sink: &mut dyn EventSink,
    ) {
        // Who the client is and the flow's facts for rules, made once a rule may hold.
        let mut roles = None;
        let mut facts = None;
        for s in [side, side.opposite()] {
            let stream = std::mem::take(&mut self.stream[s.index()]);
            // The sender's packet is always inspected; the other side only when this packet
            // released data of its own (an ACK that filled a hole).
            let (pkt, data) = if s == side {
                (packet, (!stream.is_empty()).then_some(stream.as_slice()))
            } else if stream.is_empty() {
                self.stream[s.index()] = stream;
                continue;
            } else {
                (stream.as_slice(), Some(stream.as_slice()))
            };
            let flags = (s == side).then_some(tcp_flags);
            if self.rules.skip_payload(&mut self.state, pkt.len(), flags) {
                let mut stream = stream;
                stream.clear();
                self.stream[s.index()] = stream;
                continue;
            }
            let (client, meta) = *roles.get_or_insert_with(|| {
                (
                    flow.client_side(),
                    flow.meta(self.midstream, self.async_oneside),
                )
            });
            let dir = if s == client {
                AlertDirection::ToServer
            } else {
                AlertDirection::ToClient
            };
            self.alerts.clear();
            self.rules.inspect_payload(
                &meta,
                dir,
                pkt,
                flags,
                data,
                &mut flow.detect,
                &mut self.state,
                at.ts,
                &mut self.alerts,
            );
            self.settle();
            if !self.alerts.is_empty() {
                let facts = facts.get_or_insert_with(|| flow.facts());
                let payload = data.unwrap_or(pkt);
                for alert in &self.alerts {
                    sink.alert(
                        facts,
                        alert,
                        AlertContext {
                            at,
                            tx: None,
                            payload,
                            tls: flow.tls.info(),
                        },
                    );
                }
            }
            let mut stream = stream;
            stream.clear();
            self.stream[s.index()] = stream;
        }
    }
}

impl Worker {
    /// The most shards a worker has (more asked for are not made): a flow names its shard in
    /// 16 bits.
    pub const MAX_SHARDS: usize = 1 << 16;

    /// A worker that sees every flow, in capture order, with one shard: it settles the
    /// cross-flow work of rules (xbits, thresholds) itself, and its alerts are final.
    pub fn new(config: PipelineConfig, rules: Option<Arc<RuleSet>>) -> Worker {
        let mut w = Worker::with_shards(config, rules, 1);
        if let Some(d) = &mut w.detection {
            d.cross_flow = Some(CrossFlowState::new());
        }
        w
    }

    /// A worker for `shards` shards of the flows, beside other workers: each shard has its
    /// own flow table and the budget `config.memcap`; alerts of rules with xbits,
    /// `threshold` or `detection_filter` are handed out unsettled (with their
    /// [`Alert::cross_flow`]), for one owner of that state to settle in capture order. It
    /// expects whole IP packets (fragments reassembled before) and expires flows only when
    /// told ([`Worker::expire`]).
    pub fn with_shards(
        config: PipelineConfig,
        rules: Option<Arc<RuleSet>>,
        shards: usize,
    ) -> Worker {
        let (midstream, async_oneside) = (config.stream.midstream, config.async_oneside);
        let profile = config.profile_rules;
        let evidence = config.evidence.is_some();
        let shards = (0..shards.clamp(1, Self::MAX_SHARDS))
            .map(|_| Shard {
                flows: FlowTable::new(config.flow.clone()),
                memory: ReassemblyMemory {
                    used: 0,
                    cap: config.memcap,
                },
                table_bytes: 0,
                peak: 0,
                evidence_used: 0,
                tls_sessions: SessionCache::default(),
            })
            .collect();
        let tls_keys = config
            .tls
            .decryption
            .enabled()
            .then(|| TlsKeys::new(&config.tls.decryption));
        Worker {
            tls_keys,
            shards,
            defrag: Defragmenter::new(config.defrag.clone()),
            config,
            stats: WorkerStats {
                evidence: EvidenceStats {
                    enabled: evidence,
                    ..EvidenceStats::default()
                },
                ..WorkerStats::default()
            },
            finished: Vec::new(),
            alerted: Vec::new(),
            detection: rules.map(|rules| Detection {
                payload_rules: rules.has_payload_rules(),
                stream_rules: rules.needs_stream_data(),
                tls_rules: rules.has_tls_rules(),
                rules,
                state: if profile {
                    WorkerDetectState::profiling()
                } else {
                    WorkerDetectState::new()
                },
                alerts: Vec::new(),
                stream: [Vec::new(), Vec::new()],
                midstream,
                async_oneside,
                cross_flow: None,
            }),
        }
    }

    /// Bytes charged to the memory budget now, over every shard.
    pub fn memory_used(&self) -> usize {
        self.shards.iter().map(|s| s.memory.used).sum()
    }

    /// Counters so far.
    pub fn stats(&self) -> WorkerStats {
        let mut s = self.stats.clone();
        for sh in &self.shards {
            let f = sh.flows.stats();
            s.flow.created += f.created;
            s.flow.timed_out += f.timed_out;
            s.flow.evicted += f.evicted;
            s.flow.peak += f.peak;
            s.memory_used += sh.memory.used as u64;
            s.memory_peak += sh.peak.max(sh.memory.used) as u64;
            s.memory_cap += sh.memory.cap as u64;
            s.evidence.memuse += sh.evidence_used as u64;
        }
        if let Some(e) = &self.config.evidence {
            s.evidence.memcap = (e.memcap * self.shards.len()) as u64;
        }
        s.defrag = self.defrag.stats().clone();
        if let Some(d) = &self.detection {
            s.detect = d.state.stats.clone();
            if let Some(c) = &d.cross_flow {
                s.detect.merge(&c.stats);
            }
        }
        s
    }

    /// Takes one packet; `pcap_cnt` is its number in the whole replay, from 1. Flows idle
    /// past their timeout at the packet's time are closed first.
    pub fn process(&mut self, packet: &RawPacket<'_>, pcap_cnt: u64, sink: &mut dyn EventSink) {
        self.expire(packet.ts, sink);
        self.handle(packet, pcap_cnt, sink);
    }

    /// Takes one packet without looking at the clock (a worker of several shards is told the
    /// time by [`Worker::expire`]).
    pub fn handle(&mut self, packet: &RawPacket<'_>, pcap_cnt: u64, sink: &mut dyn EventSink) {
        self.handle_in(0, packet, pcap_cnt, sink);
    }

    /// [`Self::handle_in`] for a frame already decoded to `segment` (by the sensor's
    /// dispatcher, see [`crate::decode::SegmentLayout`]): the same outcome, without decoding
    /// the frame again.
    pub fn handle_segment(
        &mut self,
        shard: usize,
        packet: &RawPacket<'_>,
        segment: &TcpSegment<'_>,
        pcap_cnt: u64,
        sink: &mut dyn EventSink,
    ) {
        self.stats.decode.packets += 1;
        self.stats.decode.bytes += packet.data.len() as u64;
        let at = PacketRef {
            ts: packet.ts,
            pcap_cnt,
        };
        self.tcp(
            shard,
            segment,
            std::slice::from_ref(packet),
            packet.data.len(),
            at,
            sink,
        );
    }

    /// Takes one packet of a flow of shard `shard` (an index below the number of shards).
    pub fn handle_in(
        &mut self,
        shard: usize,
        packet: &RawPacket<'_>,
        pcap_cnt: u64,
        sink: &mut dyn EventSink,
    ) {
        let decoded = decode::decode_frame(packet.link_type, packet.data);
        if let Ok(Decoded::Tcp(segment)) = &decoded {
            return self.handle_segment(shard, packet, segment, pcap_cnt, sink);
        }
        self.stats.decode.packets += 1;
        self.stats.decode.bytes += packet.data.len() as u64;
        let at = PacketRef {
            ts: packet.ts,
            pcap_cnt,
        };
        match decoded {
            // Taken above.
            Ok(Decoded::Tcp(_)) => {}
            Ok(Decoded::Fragment(fragment)) => {
                if self.config.checksums != ChecksumMode::None && !fragment.header_checksum_ok() {
                    self.stats.decode.invalid_checksum += 1;
                    return;
                }
                self.defrag.expire(packet.ts);
                if let Some(datagram) = self.defrag.insert(packet.ts, &fragment) {
                    let k = datagram.key.ip;
                    let ip = IpHeader {
                        src: k.src,
                        dst: k.dst,
                        vlan: k.vlan,
                    };
                    self.handle_datagram(
                        shard,
                        ip,
                        datagram.key.protocol,
                        &datagram.payload,
                        packet.data.len(),
                        at,
                        // The earlier fragments' frames are not kept on this path (the
                        // sensor's dispatcher keeps them).
                        &[],
                        sink,
                    );
                }
            }
            Ok(Decoded::OtherIp { .. }) => self.stats.decode.other_ip += 1,
            Ok(Decoded::NotIp { .. }) => self.stats.decode.not_ip += 1,
            Err(e) => self.count_error(e),
        }
    }

    /// Takes the transport payload of a reassembled IP datagram (protocol `protocol`, sent
    /// from `ip.src` to `ip.dst`, of a flow of shard `shard`), completed by a frame of
    /// `wire_bytes` bytes at `at`; `fragments` are the frames of its fragments, for
    /// evidence captures (empty when not kept).
    #[allow(clippy::too_many_arguments)]
    pub fn handle_datagram(
        &mut self,
        shard: usize,
        ip: IpHeader,
        protocol: u8,
        payload: &[u8],
        wire_bytes: usize,
        at: PacketRef,
        fragments: &[RawPacket<'_>],
        sink: &mut dyn EventSink,
    ) {
        match decode::decode_transport(ip, protocol, payload) {
            Ok(Decoded::Tcp(segment)) => {
                self.tcp(shard, &segment, fragments, wire_bytes, at, sink);
            }
            Ok(_) => self.stats.decode.other_ip += 1,
            Err(e) => self.count_error(e),
        }
    }

    /// Closes the flows idle past their timeout at `now`, in the order their first packets
    /// were captured, and hands out what that completes.
    pub fn expire(&mut self, now: Timestamp, sink: &mut dyn EventSink) {
        let mut gone = Vec::new();
        for sh in &mut self.shards {
            sh.flows.expire(now, &mut |f| gone.push(f));
            sh.recharge_table();
        }
        self.close_in_order(gone, sink);
    }

    /// End of input: finishes every flow, in the order their first packets were captured,
    /// and hands out what remains.
    pub fn finish(&mut self, sink: &mut dyn EventSink) {
        let mut flows = Vec::new();
        for sh in &mut self.shards {
            sh.flows.drain(&mut |f| flows.push(f));
        }
        self.close_in_order(flows, sink);
    }

    /// Switches to a new rule set. Flowbits of open flows are kept by name (those the new set
    /// does not use are dropped); a transaction whose request was inspected under the old
    /// set has its response inspected under the new one.
    pub fn set_rules(&mut self, rules: Arc<RuleSet>) {
        let Some(d) = &mut self.detection else {
            return;
        };
        let remap: Vec<Option<u32>> = d
            .rules
            .flowbit_names()
            .iter()
            .map(|n| {
                let at = rules.flowbit_names().iter().position(|m| m == n);
                at.map(|i| i as u32)
            })
            .collect();
        for sh in &mut self.shards {
            sh.flows.for_each_mut(&mut |f: &mut Box<FlowState>| {
                f.detect = f.detect.remapped(&remap);
                if let Connection::Open(open) = &mut f.conn {
                    open.requests_inspected.clear();
                }
            });
        }
        if let Some(c) = &mut d.cross_flow {
            c.rebind(d.rules.xbit_names(), rules.xbit_names());
        }
        d.payload_rules = rules.has_payload_rules();
        d.stream_rules = rules.needs_stream_data();
        d.tls_rules = rules.has_tls_rules();
        d.rules = rules;
    }

    #[allow(clippy::vec_box)] // The flows come boxed out of the table; unboxing would copy each.
    fn close_in_order(&mut self, mut flows: Vec<Box<FlowState>>, sink: &mut dyn EventSink) {
        flows.sort_by_key(|f| f.first_packet);
        for flow in flows {
            self.close_flow(flow, sink);
        }
    }

    fn count_error(&mut self, e: DecodeError) {
        match e {
            DecodeError::UnknownLinkType(_) => self.stats.decode.unknown_link += 1,
            DecodeError::Truncated(_) | DecodeError::Malformed(_) => self.stats.decode.invalid += 1,
        }
    }

    /// Takes one TCP segment; `frames` are the packets that carried it (its fragments' for
    /// a reassembled datagram; none when they were not kept), for evidence captures.
    #[allow(clippy::too_many_arguments)]
    fn tcp(
        &mut self,
        shard: usize,
        segment: &TcpSegment<'_>,
        frames: &[RawPacket<'_>],
        wire_bytes: usize,
        at: PacketRef,
        sink: &mut dyn EventSink,
    ) {
        self.stats.decode.tcp += 1;
        let (key, src, dst) = FlowKey::of_segment(segment);
        let checksum_ok = match self.config.checksums {
            ChecksumMode::None => None,
            ChecksumMode::All | ChecksumMode::Auto => checksum::tcp_segment_ok(segment),
        };
        let mode = self.config.checksums;
        let (Some(sh), Ok(shard_index)) = (self.shards.get_mut(shard), u16::try_from(shard)) else {
            return;
        };
        let evidence = self.config.evidence.as_ref();
        let evidence_stats = &mut self.stats.evidence;
        // One look-up for the packet of a known flow (nearly every packet): the flow found is
        // the one inspected, unless the packet drops, restarts or reuses it.
        let Shard {
            flows,
            memory,
            evidence_used,
            tls_sessions,
            ..
        } = sh;
        let mut restart = false;
        let found = match flows.get_mut(&key, at.ts) {
            Some(f) => {
                let trust = &mut f.checksum_trust[f.side_of(src).index()];
                let gate = trust.gate(mode, checksum_ok);
                if let (Gate::Drop, Some(capture), Some(cfg)) = (gate, &mut f.evidence, evidence) {
                    // Not inspected, but the flow's packet all the same.
                    keep_frames(capture, frames, cfg, evidence_used, evidence_stats);
                }
                match gate {
                    Gate::Drop => {
                        self.stats.stream.invalid_checksum += 1;
                        return;
                    }
                    Gate::Restart => {
                        self.stats.stream.checksum_restarts += 1;
                        restart = true;
                        None
                    }
                    Gate::Take if segment.flags.syn() && f.conn.is_reusable() => {
                        self.stats.stream.reused += 1;
                        restart = true;
                        None
                    }
                    Gate::Take => Some((f, memory, evidence_used, tls_sessions)),
                }
            }
            None => None,
        };
        let (flow, memory, evidence_used, tls_sessions) = match found {
            Some(found) => found,
            None => {
                if let Some(old) = restart.then(|| sh.flows.remove(&key)).flatten() {
                    // Port reuse, or a direction that looked checksum-offloaded sent a right
                    // checksum (what came before was never the server's): the old connection
                    // ends here and this packet opens a new one.
                    self.close_flow(old, sink);
                }
                let cfg = &self.config;
                let stats = &mut self.stats;
                let Some(sh) = self.shards.get_mut(shard) else {
                    return;
                };
                // A SYN/ACK seen first was sent by the responder; anything else by the initiator.
                let (initiator, side) = if segment.flags.syn() && segment.flags.ack() {
                    (dst, Side::Responder)
                } else {
                    (src, Side::Initiator)
                };
                let mut checksum_trust = [ChecksumTrust::default(); 2];
                if checksum_trust[side.index()].gate(mode, checksum_ok) == Gate::Drop {
                    stats.stream.invalid_checksum += 1;
                    return;
                }
                let session = TcpSession::new(segment, side, &cfg.stream, &mut stats.stream);
                let state = FlowState {
                    key,
                    initiator_is_low: initiator == key.low(),
                    flow_id: flow_id(at.ts, key.stable_hash()),
                    conn: Connection::Open(Box::new(OpenConnection {
                        session,
                        http: HttpConnection::new(),
                        next_request: 0,
                        requests_inspected: AwaitingAnswers::default(),
                    })),
                    tls: TlsConnection::new(),
                    last_at: at,
                    start: at.ts,
                    first_packet: at.pcap_cnt,
                    packets: [0; 2],
                    bytes: [0; 2],
                    detect: FlowDetectState::new(),
                    opening: Opening::of(segment.flags),
                    checksum_trust,
                    shard: shard_index,
                    charge: 0,
                    evidence: cfg.evidence.as_ref().map(|_| Box::new(FlowCapture::new())),
                };
                sh.flows.insert(Box::new(state), at.ts);
                sh.recharge_table();
                let Shard {
                    flows,
                    memory,
                    evidence_used,
                    tls_sessions,
                    ..
                } = sh;
                match flows.get_mut(&key, at.ts) {
                    Some(flow) => (flow, memory, evidence_used, tls_sessions),
                    None => return,
                }
            }
        };
        if checksum_ok == Some(false) {
            self.stats.stream.offload_accepted += 1;
        }
        if let (Some(capture), Some(cfg)) = (&mut flow.evidence, &self.config.evidence) {
            keep_frames(
                capture,
                frames,
                cfg,
                evidence_used,
                &mut self.stats.evidence,
            );
        }
        flow.last_at = at;
        let side = flow.side_of(src);
        flow.packets[side.index()] += 1;
        flow.bytes[side.index()] += wire_bytes as u64;
        let server = flow.responder();
        let server = (server.addr, server.port);
        match &mut flow.conn {
            Connection::Open(open) => {
                let OpenConnection { session, http, .. } = &mut **open;
                let mut target = StreamTarget {
                    tls: &mut flow.tls,
                    http,
                    keys: self.tls_keys.as_mut().map(|k| (k, &mut *tls_sessions)),
                    server,
                    at,
                    http_cfg: &self.config.http,
                    http_stats: &mut self.stats.http,
                    tls_cfg: &self.config.tls,
                    tls_stats: &mut self.stats.tls,
                };
                let mut stream = match &mut self.detection {
                    Some(d) if d.stream_rules => Some(&mut d.stream),
                    _ => None,
                };
                session.on_segment(
                    segment,
                    side,
                    at.ts,
                    &self.config.stream,
                    memory,
                    &mut self.stats.stream,
                    &mut |event| {
                        if let (Some(stream), StreamEvent::Data { side, bytes }) =
                            (stream.as_mut(), event)
                        {
                            stream[side.index()].extend_from_slice(bytes);
                        }
                        target.deliver(event);
                    },
                );
            }
            // A late packet of a closed connection: counted, nothing delivered.
            Connection::Closed(closed) => {
                closed
                    .session
                    .on_segment(segment, side, &mut self.stats.stream)
            }
        }
        if flow.evidence.is_some() {
            Self::inspect_for_evidence(
                flow,
                side,
                segment,
                at,
                &mut self.detection,
                &mut self.finished,
                &mut self.stats.http,
                &mut self.alerted,
                sink,
            );
        } else {
            Self::inspect(
                flow,
                side,
                segment,
                at,
                &mut self.detection,
                &mut self.finished,
                &mut self.stats.http,
                sink,
            );
        }
        // Every request over is inspected now: the flowbits say whether a rule may look at the
        // bodies of the answers whose heads come next. Only request rules set the bits that
        // decide it, so it is judged again only after a request (not at every packet: a
        // head sent a byte per packet would pay for it at every byte).
        if let Connection::Open(open) = &mut flow.conn {
            if open.http.request_over_since_told() {
                let bodies_inspected = self
                    .detection
                    .as_ref()
                    .is_some_and(|d| d.rules.response_body_rules().may_inspect(&flow.detect));
                open.http.set_response_bodies_inspected(bodies_inspected);
            }
        }
        let closed = flow.conn.is_closed();
        if closed {
            flow.conn.close_if_idle(&flow.tls);
            if let Connection::Open(open) = &mut flow.conn {
                open.http.release_idle_buffers();
                open.requests_inspected.shrink_to_fit();
            }
        }
        let charge = flow.heap_bytes();
        memory.used = (memory.used + charge).saturating_sub(flow.charge);
        flow.charge = charge;
        if closed {
            if let Some(sh) = self.shards.get_mut(shard) {
                sh.flows.mark_closed(&key);
            }
        }
        self.keep_budget(shard, &key, sink);
    }

    /// Runs the rules on what one segment of `side` completed (its TLS handshake, stream
    /// and packet data, requests, transactions) and hands out what that makes.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn inspect(
        flow: &mut FlowState,
        side: Side,
        segment: &TcpSegment<'_>,
        at: PacketRef,
        detection: &mut Option<Detection>,
        finished: &mut Vec<HttpTransaction>,
        http_stats: &mut HttpStats,
        sink: &mut dyn EventSink,
    ) {
        if flow.tls.take_report() {
            Self::emit_tls(flow, at, detection, sink);
        }
        // Most packets end no request and no transaction (a head or a body is still coming):
        // a flow with no transaction in flight has none to inspect or hand out.
        let in_flight =
            matches!(&flow.conn, Connection::Open(open) if open.http.has_transactions());
        if let Some(d) = detection {
            d.payloads(flow, side, segment.payload, segment.flags.0, at, sink);
            if in_flight {
                d.requests(flow, at, sink);
            }
        }
        if in_flight {
            Self::emit_completed(flow, finished, detection, http_stats, sink);
        }
    }

    /// [`Worker::inspect`], noting the alerts it raises in the flow's evidence ring. Out of
    /// line, so that the per-packet path stays as it was for runs without evidence.
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn inspect_for_evidence(
        flow: &mut FlowState,
        side: Side,
        segment: &TcpSegment<'_>,
        at: PacketRef,
        detection: &mut Option<Detection>,
        finished: &mut Vec<HttpTransaction>,
        http_stats: &mut HttpStats,
        alerted: &mut Vec<(u32, Timestamp, bool)>,
        sink: &mut dyn EventSink,
    ) {
        alerted.clear();
        let mut tap = AlertTap {
            inner: sink,
            alerts: alerted,
        };
        Self::inspect(
            flow, side, segment, at, detection, finished, http_stats, &mut tap,
        );
        if let Some(capture) = &mut flow.evidence {
            capture.alerts(alerted);
        }
        alerted.clear();
    }

    /// Evicts flows of shard `shard` while it is past its budget: the eighth idle longest at
    /// a time, down to seven eighths of the budget, sparing `current`; if `current` alone
    /// still holds more than the budget allows, it goes too. Each evicted flow is finished as
    /// at the end of the capture (its transactions handed out, flagged incomplete).
    fn keep_budget(&mut self, shard: usize, current: &FlowKey, sink: &mut dyn EventSink) {
        let Some(sh) = self.shards.get_mut(shard) else {
            return;
        };
        sh.peak = sh.peak.max(sh.memory.used);
        if sh.memory.used <= sh.memory.cap {
            return;
        }
        let target = sh.memory.cap / 8 * 7;
        loop {
            let Some(sh) = self.shards.get_mut(shard) else {
                return;
            };
            if sh.memory.used <= target {
                return;
            }
            let mut evicted = Vec::new();
            sh.flows
                .evict_oldest(Some(current), &mut |f| evicted.push(f));
            if evicted.is_empty() {
                break;
            }
            self.close_in_order(evicted, sink);
            if let Some(sh) = self.shards.get_mut(shard) {
                sh.flows.shrink_if_sparse();
                sh.recharge_table();
            }
        }
        let Some(sh) = self.shards.get_mut(shard) else {
            return;
        };
        if sh.memory.used > sh.memory.cap {
            if let Some(flow) = sh.flows.remove(current) {
                sh.flows.count_eviction();
                self.close_flow(flow, sink);
            }
        }
    }

    /// Ends a flow that left the table: flushes its stream and HTTP state and hands out what
    /// that completes.
    fn close_flow(&mut self, mut flow: Box<FlowState>, sink: &mut dyn EventSink) {
        let at = flow.last_at;
        let server = flow.responder();
        let Some(sh) = self.shards.get_mut(usize::from(flow.shard)) else {
            return;
        };
        match &mut flow.conn {
            Connection::Open(open) => {
                let OpenConnection { session, http, .. } = &mut **open;
                let mut target = StreamTarget {
                    tls: &mut flow.tls,
                    http,
                    keys: self.tls_keys.as_mut().map(|k| (k, &mut sh.tls_sessions)),
                    server: (server.addr, server.port),
                    at,
                    http_cfg: &self.config.http,
                    http_stats: &mut self.stats.http,
                    tls_cfg: &self.config.tls,
                    tls_stats: &mut self.stats.tls,
                };
                session.finish(
                    &self.config.stream,
                    &mut sh.memory,
                    &mut self.stats.stream,
                    &mut |event| target.deliver(event),
                );
                target.finish_tls();
            }
            // Closed with nothing held and nothing being decrypted: nothing is delivered.
            Connection::Closed(_) => flow.tls.finish(&self.config.tls, &mut self.stats.tls, None),
        }
        let mut alerted = std::mem::take(&mut self.alerted);
        alerted.clear();
        let mut tap;
        let events: &mut dyn EventSink = if flow.evidence.is_some() {
            tap = AlertTap {
                inner: &mut *sink,
                alerts: &mut alerted,
            };
            &mut tap
        } else {
            &mut *sink
        };
        if flow.tls.take_report() {
            Self::emit_tls(&mut flow, at, &mut self.detection, events);
        }
        sh.memory.used = sh.memory.used.saturating_sub(flow.charge);
        sh.recharge_table();
        match &mut flow.conn {
            Connection::Open(open) => open.http.finish(&self.config.http, &mut self.stats.http),
            Connection::Closed(closed) => closed.http.finish(&mut self.stats.http),
        }
        Self::emit_completed(
            &mut flow,
            &mut self.finished,
            &mut self.detection,
            &mut self.stats.http,
            events,
        );
        if let Some(mut capture) = flow.evidence.take() {
            capture.alerts(&alerted);
            capture.release(&mut sh.evidence_used);
            if capture.trigger().is_some() {
                sink.evidence(&flow.facts(), &capture);
            }
        }
        alerted.clear();
        self.alerted = alerted;
    }

    /// Hands out the flow's TLS handshake, with the alerts of the TLS rules on it, at `at`.
    fn emit_tls(
        flow: &mut FlowState,
        at: PacketRef,
        detection: &mut Option<Detection>,
        sink: &mut dyn EventSink,
    ) {
        let facts = flow.facts();
        if let Some(d) = detection {
            d.tls(flow, &facts, at, sink);
        }
        if let Some(info) = flow.tls.info() {
            sink.tls(&facts, info, at);
        }
    }

    /// Takes the flow's completed transactions, runs the rules on them and hands out alerts
    /// and transactions. `finished` is scratch room, empty between calls (each call leaves it
    /// so).
    fn emit_completed(
        flow: &mut FlowState,
        finished: &mut Vec<HttpTransaction>,
        detection: &mut Option<Detection>,
        http_stats: &mut HttpStats,
        sink: &mut dyn EventSink,
    ) {
        debug_assert!(
            finished.is_empty(),
            "emit_completed leaves its scratch list empty"
        );
        let Connection::Open(open) = &mut flow.conn else {
            // A closed form has no transaction left.
            return;
        };
        open.http.take_completed(finished, http_stats);
        if finished.is_empty() {
            return;
        }
        let midstream = open.session.is_midstream();
        for tx in finished.iter_mut() {
            tx.flags.midstream = midstream;
        }
        let facts = flow.facts();
        if let Some(d) = detection {
            d.transactions(flow, &facts, finished, sink);
        }
        for tx in finished.iter() {
            sink.transaction(&facts, tx, flow.tls.info());
        }
        finished.clear();
    }
}

/// Offers the frames of a flow's segment to its evidence ring (a segment whose frames were
/// not kept is noted). Kept out of line: only evidence captures call it, and inlined it
/// would make the per-packet path larger for everyone.
#[cold]
#[inline(never)]
fn keep_frames(
    capture: &mut FlowCapture,
    frames: &[RawPacket<'_>],
    cfg: &EvidenceConfig,
    used: &mut usize,
    stats: &mut EvidenceStats,
) {
    if frames.is_empty() {
        capture.note_without_frame();
    }
    for frame in frames {
        let kept = capture.push(frame, cfg.depth, used, cfg.memcap);
        if kept == crate::evidence::ring::Kept::Memcap {
            stats.dropped_memcap += 1;
        }
    }
}

/// Where an open connection's stream events go: its TLS state (which, with keys, hands the
/// plaintext on to HTTP) and, while the connection is not TLS, its HTTP state.
struct StreamTarget<'a> {
    tls: &'a mut TlsConnection,
    http: &'a mut HttpConnection,
    /// The worker's keys and the shard's TLS sessions, when keys were given.
    keys: Option<(&'a mut TlsKeys, &'a mut SessionCache)>,
    server: (std::net::IpAddr, u16),
    /// The packet the events come with.
    at: PacketRef,
    http_cfg: &'a HttpConfig,
    http_stats: &'a mut HttpStats,
    tls_cfg: &'a TlsConfig,
    tls_stats: &'a mut TlsStats,
}

impl StreamTarget<'_> {
    /// Hands one stream event on.
    fn deliver(&mut self, event: StreamEvent<'_>) {
        // Nearly every connection is soon known not to be TLS: its events skip the TLS state
        // (and setting up a decryption for them), which would do nothing with them.
        if !self.tls.is_not_tls() {
            self.with_tls(|tls, cfg, stats, decrypt| deliver_tls(tls, event, cfg, stats, decrypt));
        }
        if !self.tls.is_tls() {
            deliver(self.http, event, self.at, self.http_cfg, self.http_stats);
        }
    }

    /// The connection ended: the TLS state finishes (records still waiting for a key get a
    /// last chance, their plaintext going to HTTP).
    fn finish_tls(&mut self) {
        self.with_tls(|tls, cfg, stats, decrypt| tls.finish(cfg, stats, decrypt));
    }

    /// Runs `f` on the TLS state, with the decryption (when keys were given) whose plaintext
    /// goes to HTTP.
    fn with_tls(
        &mut self,
        f: impl FnOnce(&mut TlsConnection, &TlsConfig, &mut TlsStats, Option<&mut Decrypt<'_>>),
    ) {
        let (http, at, http_cfg) = (&mut *self.http, self.at, self.http_cfg);
        let http_stats = &mut *self.http_stats;
        let plain = &mut |plain: StreamEvent<'_>| deliver(http, plain, at, http_cfg, http_stats);
        let server = self.server;
        let mut decrypt = self
            .keys
            .as_mut()
            .map(|(k, s)| Decrypt::new(k, s, server, plain));
        f(self.tls, self.tls_cfg, self.tls_stats, decrypt.as_mut());
    }
}

/// Hands one stream event to the TLS state of its connection (and, with `decrypt`, its
/// plaintext to where `decrypt` sends it).
fn deliver_tls(
    tls: &mut TlsConnection,
    event: StreamEvent<'_>,
    cfg: &TlsConfig,
    stats: &mut TlsStats,
    decrypt: Option<&mut Decrypt<'_>>,
) {
    match event {
        StreamEvent::Data { side, bytes } => tls.on_data(side, bytes, cfg, stats, decrypt),
        StreamEvent::Gap { side, len } => tls.on_gap(side, len, stats, decrypt),
        StreamEvent::Closed { side } => tls.on_close(side, stats, decrypt),
    }
}

/// Hands one stream event to the HTTP state of its connection.
fn deliver(
    http: &mut HttpConnection,
    event: StreamEvent<'_>,
    at: PacketRef,
    cfg: &HttpConfig,
    stats: &mut HttpStats,
) {
    if !http.is_active() {
        return;
    }
    match event {
        StreamEvent::Data { side, bytes } => http.on_data(side, bytes, at, cfg, stats),
        StreamEvent::Gap { side, len } => http.on_gap(side, len, cfg, stats),
        StreamEvent::Closed { side } => http.on_close(side, at, cfg, stats),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    const CLIENT: [u8; 4] = [10, 0, 0, 1];
    const SERVER: [u8; 4] = [10, 0, 0, 2];
    const C_ISN: u32 = 1000;
    const S_ISN: u32 = 5000;
    const REQUEST: &[u8] = b"GET /owa/ HTTP/1.1\r\nHost: mail.example.com\r\n\r\n";
    const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

    /// Counts what the worker hands out.
    #[derive(Default)]
    struct Count {
        transactions: usize,
    }

    impl EventSink for Count {
        fn transaction(&mut self, _: &FlowFacts, _: &HttpTransaction, _: Option<&TlsInfo>) {
            self.transactions += 1;
        }
        fn alert(&mut self, _: &FlowFacts, _: &Alert, _: AlertContext<'_>) {}
    }

    /// A worker fed frames one millisecond apart.
    struct Feed {
        worker: Worker,
        sink: Count,
        packets: u64,
    }

    impl Feed {
        fn new() -> Feed {
            Feed {
                worker: Worker::new(PipelineConfig::default(), None),
                sink: Count::default(),
                packets: 0,
            }
        }

        /// A TCP segment of the connection from client port `port`. `flags`: S, A, F, R, P.
        fn send(&mut self, client: bool, port: u16, seq: u32, ack: u32, flags: &str, data: &[u8]) {
            let (src, dst, sport, dport) = if client {
                (CLIENT, SERVER, port, 80)
            } else {
                (SERVER, CLIENT, 80, port)
            };
            let mut b = PacketBuilder::ethernet2([2; 6], [4; 6])
                .ipv4(src, dst, 64)
                .tcp(sport, dport, seq, 65535);
            for flag in flags.chars() {
                b = match flag {
                    'S' => b.syn(),
                    'A' => b.ack(ack),
                    'F' => b.fin(),
                    'R' => b.rst(),
                    'P' => b.psh(),
                    _ => b,
                };
            }
            let mut frame = Vec::with_capacity(b.size(data.len()));
            b.write(&mut frame, data).expect("a frame");
            self.packets += 1;
            let packet = RawPacket {
                ts: Timestamp(self.packets as i64 * Timestamp::SECOND / 1000),
                link_type: 1,
                data: &frame,
                wire_len: frame.len() as u32,
                number: self.packets,
            };
            self.worker.process(&packet, self.packets, &mut self.sink);
        }

        /// A whole connection from client port `port`: handshake, one request (answered or
        /// only acknowledged), FIN both ways and the client's last ACK.
        fn connection(&mut self, port: u16, answered: bool) {
            let (c, s) = (C_ISN + 1, S_ISN + 1);
            let c_fin = c + REQUEST.len() as u32;
            let s_fin = s + if answered { ANSWER.len() as u32 } else { 0 };
            self.send(true, port, C_ISN, 0, "S", b"");
            self.send(false, port, S_ISN, c, "SA", b"");
            self.send(true, port, c, s, "A", b"");
            self.send(true, port, c, s, "PA", REQUEST);
            if answered {
                self.send(false, port, s, c_fin, "PA", ANSWER);
            } else {
                self.send(false, port, s, c_fin, "A", b"");
            }
            self.send(true, port, c_fin, s_fin, "FA", b"");
            self.send(false, port, s_fin, c_fin + 1, "FA", b"");
            self.send(true, port, c_fin + 1, s_fin + 1, "A", b"");
        }

        /// How many flows are open, and how many kept in their closed form.
        fn forms(&mut self) -> (usize, usize) {
            let (mut open, mut closed) = (0, 0);
            for sh in &mut self.worker.shards {
                sh.flows
                    .for_each_mut(&mut |f: &mut Box<FlowState>| match f.conn {
                        Connection::Open(_) => open += 1,
                        Connection::Closed(_) => closed += 1,
                    });
            }
            (open, closed)
        }
    }

    #[test]
    fn connections_closed_with_nothing_left_keep_only_their_closed_form() {
        let mut feed = Feed::new();
        for port in 40000..40100 {
            feed.connection(port, true);
        }
        assert_eq!(feed.sink.transactions, 100, "handed out as they finished");
        assert_eq!(feed.forms(), (0, 100));
        // What the 100 closed flows are charged (table slots included) is less than their
        // whole state alone would be.
        let whole = std::mem::size_of::<FlowState>() + std::mem::size_of::<OpenConnection>();
        let used = feed.worker.memory_used();
        assert!(used < 100 * whole, "{used} bytes for 100 closed flows");
        // Late packets are counted as the closed session counts them: a reset the server
        // would not take, the answer sent again.
        let before = feed.worker.stats().stream;
        let answer_end = S_ISN + 1 + ANSWER.len() as u32;
        feed.send(true, 40000, C_ISN + 7, 0, "R", b"");
        feed.send(false, 40001, S_ISN + 1, answer_end, "PA", ANSWER);
        let after = feed.worker.stats().stream;
        assert_eq!(after.rst_invalid, before.rst_invalid + 1);
        assert_eq!(after.retransmissions, before.retransmissions + 1);
        assert_eq!(feed.forms(), (0, 100));
        feed.worker.finish(&mut feed.sink);
        assert_eq!(feed.sink.transactions, 100, "nothing more at the end");
    }

    #[test]
    fn a_flow_fits_the_allocators_224_byte_class() {
        // Tens of thousands of closed flows wait out their timeout at once: 8 bytes more
        // and each one takes a 240-byte chunk (glibc rounds a request up to 16 bytes past
        // its 8-byte header).
        assert!(
            std::mem::size_of::<FlowState>() <= 216,
            "{}",
            std::mem::size_of::<FlowState>()
        );
    }

    #[test]
    fn a_connection_closed_with_a_request_unanswered_is_kept_whole_until_it_ends() {
        let mut feed = Feed::new();
        feed.connection(40000, false);
        assert_eq!(feed.forms(), (1, 0));
        assert_eq!(feed.sink.transactions, 0);
        feed.worker.finish(&mut feed.sink);
        assert_eq!(
            feed.sink.transactions, 1,
            "the request, handed out at the end"
        );
    }
}
