//! TCP reassembly: segments of one connection → in-order byte streams, each direction.
//!
//! A [`TcpSession`] tracks the handshake and holds one reassembler per [`Side`]. It takes
//! [`TcpSegment`]s in capture order and emits [`StreamEvent`]s in stream order: contiguous
//! data, gaps (capture loss, skipped and counted) and closes. Out-of-order segments are held
//! until the hole before them fills; retransmissions are recognised; overlapping segments with
//! different bytes are resolved by the target's [`StreamPolicy`] (default `windows`: the new
//! bytes win when the new segment starts before the old one, otherwise the old bytes win).
//! Sequence numbers wrap. Data in order with nothing held is passed straight through from the
//! packet, without copying or allocating.
//!
//! Memory: a per-direction inspection depth ([`StreamConfig::depth`]) and a global cap on
//! held out-of-order bytes ([`ReassemblyMemory`], one per worker) bound what an attacker can
//! make the sensor hold. Hitting either is counted in [`StreamStats`].

use crate::capture::Timestamp;
use crate::decode::TcpSegment;
use crate::flow::Side;

/// How overlapping segments with different bytes are resolved (Suricata's target-based
/// policies, `anchors.md` §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamPolicy {
    /// The first bytes seen for a sequence range always win.
    First,
    /// The last bytes seen always win.
    Last,
    /// New bytes win only when the new segment starts before the old one.
    Bsd,
    /// As BSD, and new bytes also win when both start at the same place and the new one ends
    /// beyond the old one.
    Linux,
    /// As BSD (the protected Exchange server is Windows).
    #[default]
    Windows,
}

/// Reassembly settings.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// Overlap policy. By default `windows`.
    pub policy: StreamPolicy,
    /// Bytes of each direction given to inspection, 0 for no limit. By default 1 MiB... of
    /// *inspected* stream; bytes past it are counted and skipped.
    pub depth: u64,
    /// Pick up connections whose handshake was not captured. By default on.
    pub midstream: bool,
    /// Out-of-order segments held per direction at most. By default 1024.
    pub max_segments: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            policy: StreamPolicy::Windows,
            depth: 1 << 20,
            midstream: true,
            max_segments: 1024,
        }
    }
}

/// The global cap on bytes held out of order, shared by every session of one worker.
#[derive(Debug, Clone)]
pub struct ReassemblyMemory {
    /// Bytes held now.
    pub used: usize,
    /// Bytes that may be held at most. By default 256 MiB.
    pub cap: usize,
}

impl Default for ReassemblyMemory {
    fn default() -> Self {
        ReassemblyMemory {
            used: 0,
            cap: 256 << 20,
        }
    }
}

/// Reassembly counters of one worker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// TCP sessions started (with or without a captured handshake).
    pub sessions: u64,
    /// Sessions picked up without a captured handshake.
    pub midstream_pickups: u64,
    /// Segments that arrived ahead of a hole and were held.
    pub out_of_order: u64,
    /// Segments that carried only bytes already received with the same content.
    pub retransmissions: u64,
    /// Segments that overlapped data already held or delivered.
    pub overlaps: u64,
    /// Overlaps whose bytes differed from what was already there.
    pub overlaps_different: u64,
    /// Holes skipped (capture loss, or a hole that never filled).
    pub gaps: u64,
    /// Bytes skipped in gaps.
    pub gap_bytes: u64,
    /// Directions that reached the inspection depth.
    pub depth_reached: u64,
    /// Segments not held because the reassembly memory cap was reached.
    pub memcap_drops: u64,
    /// Segments ignored (no session and pick-up off, bad state…).
    pub ignored: u64,
}

/// What a session hands to the application layer, in stream order per side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEvent<'a> {
    /// Contiguous bytes sent by `side`.
    Data {
        /// Who sent them.
        side: Side,
        /// The bytes.
        bytes: &'a [u8],
    },
    /// `len` bytes sent by `side` were never seen and are skipped.
    Gap {
        /// Whose bytes are missing.
        side: Side,
        /// How many bytes.
        len: u64,
    },
    /// `side` finished sending (FIN reached in stream order, or RST).
    Closed {
        /// Who closed.
        side: Side,
    },
}

/// The TCP state of one connection: handshake, and one reassembler per direction.
#[derive(Debug)]
pub struct TcpSession {
    _private: (),
}

impl TcpSession {
    /// A session for a flow whose first captured packet is `first`, sent by `side`. Counts the
    /// session (and a pick-up when there was no handshake) in `stats`.
    pub fn new(
        first: &TcpSegment<'_>,
        side: Side,
        config: &StreamConfig,
        stats: &mut StreamStats,
    ) -> TcpSession {
        let _ = (first, side, config, stats);
        unimplemented!("TcpSession::new")
    }

    /// True when the session was picked up without its handshake.
    pub fn is_midstream(&self) -> bool {
        unimplemented!()
    }

    /// True when both sides have finished (FIN each way, or a RST).
    pub fn is_closed(&self) -> bool {
        unimplemented!()
    }

    /// Takes one segment sent by `side` and emits whatever it makes deliverable, in order.
    pub fn on_segment(
        &mut self,
        segment: &TcpSegment<'_>,
        side: Side,
        now: Timestamp,
        config: &StreamConfig,
        memory: &mut ReassemblyMemory,
        stats: &mut StreamStats,
        out: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        let _ = (segment, side, now, config, memory, stats, out);
        unimplemented!()
    }

    /// Ends the session (flow timeout or end of capture): delivers held data past any hole as
    /// a gap then data, and closes both sides. Releases the memory it held.
    pub fn finish(
        &mut self,
        config: &StreamConfig,
        memory: &mut ReassemblyMemory,
        stats: &mut StreamStats,
        out: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        let _ = (config, memory, stats, out);
        unimplemented!()
    }
}
