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
//! Memory: a per-direction inspection depth ([`StreamConfig::depth`]), per-direction caps on
//! held pieces and bytes ([`StreamConfig::max_segments`], [`StreamConfig::max_held_bytes`])
//! and a global cap on held out-of-order bytes ([`ReassemblyMemory`], one per worker) bound
//! what an attacker can make the sensor hold. Hitting any of them is counted in
//! [`StreamStats`].
//!
//! Gaps: a hole is given up when the other side acknowledges bytes beyond it (the capture
//! lost them; they will not be sent again), when a direction holds too much behind it, or when
//! the session finishes. A RST ends both directions at once (held data is delivered first),
//! if the receiver would take it (see [`TcpReassembler::accepts_rst`]).
//!
//! Files: `seq.rs` is [`SeqNum`], wrapping sequence arithmetic; `reassembler.rs` is
//! [`TcpReassembler`], one direction's bytes; this file holds the settings, counters, events
//! and the handshake logic of [`TcpSession`].

mod reassembler;
mod seq;

pub use reassembler::{ClosedDirection, Context, TcpReassembler};
pub use seq::SeqNum;

use crate::decode::TcpSegment;
use crate::flow::Side;
use crate::time::Timestamp;

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

impl StreamPolicy {
    /// True when the bytes of a new segment `[new_start, new_end)` replace the bytes of an
    /// older, overlapping segment `[old_start, old_end)` (stream offsets) that are still held.
    /// This is Suricata's IDS-mode rule (`anchors.md` §2.1): `First` always keeps the old
    /// bytes, `Last` always takes the new ones, `Bsd` and `Windows` take the new ones when the
    /// new segment starts before the old one, and `Linux` also when both start at the same
    /// offset and the new one ends later.
    pub fn new_data_wins(self, new_start: u64, new_end: u64, old_start: u64, old_end: u64) -> bool {
        match self {
            StreamPolicy::First => false,
            StreamPolicy::Last => true,
            StreamPolicy::Bsd | StreamPolicy::Windows => new_start < old_start,
            StreamPolicy::Linux => {
                new_start < old_start || (new_start == old_start && new_end > old_end)
            }
        }
    }
}

/// Reassembly settings.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// Overlap policy. By default `windows`.
    pub policy: StreamPolicy,
    /// Bytes of each direction given to inspection, 0 for no limit. By default 1 MiB.
    /// Counted in stream offset (from the first byte after the SYN, or from the pick-up
    /// point), so bytes skipped in gaps count too. Reaching it is counted once per direction;
    /// later bytes are tracked but not delivered.
    pub depth: u64,
    /// Pick up connections whose handshake was not captured. By default on.
    pub midstream: bool,
    /// Out-of-order pieces held per direction at most; past it the first hole is given up as
    /// a gap (counted in [`StreamStats::held_limit`]). By default 1024.
    pub max_segments: usize,
    /// Out-of-order bytes held per direction at most; past it the first hole is given up as
    /// a gap (counted in [`StreamStats::held_limit`]). By default 1 MiB.
    pub max_held_bytes: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            policy: StreamPolicy::Windows,
            depth: 1 << 20,
            midstream: true,
            max_segments: 1024,
            max_held_bytes: 1 << 20,
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
    /// Times a direction held more than `max_segments` pieces or `max_held_bytes` bytes and
    /// gave up its first hole early.
    pub held_limit: u64,
    /// Segments ignored (no session and pick-up off, bad state…).
    pub ignored: u64,
    /// Connections started on the four-tuple of a finished or reset one (port reuse).
    pub reused: u64,
    /// SYNs that carried data, which was not taken (see [`TcpSession::on_segment`]).
    pub syn_data_ignored: u64,
    /// Segments dropped because their IPv4 or TCP checksum was wrong (the receiver drops
    /// them too).
    pub invalid_checksum: u64,
    /// Segments with a wrong checksum taken because their side looked checksum-offloaded.
    pub offload_accepted: u64,
    /// Connections started anew because a side that looked checksum-offloaded sent a right
    /// checksum.
    pub checksum_restarts: u64,
    /// Data segments sent at or past the receiver's advertised window: not taken, as the
    /// receiver drops them (see [`TcpReassembler`]).
    pub out_of_window: u64,
    /// Of those, segments taken after all because the receiver acknowledged them (the capture
    /// missed a window update).
    pub out_of_window_taken: u64,
    /// RSTs ignored because the receiver would not take them (sequence number not the one
    /// it expects): they do not end inspection.
    pub rst_invalid: u64,
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
///
/// The caller must end every session with [`TcpSession::finish`], which gives the bytes it
/// holds back to the worker's [`ReassemblyMemory`]; a session dropped without it leaves them
/// counted as used.
#[derive(Debug)]
pub struct TcpSession {
    /// Bytes sent by the initiator, then by the responder (indexed by [`Side::index`]).
    directions: [TcpReassembler; 2],
    /// The first packet was not a SYN.
    midstream: bool,
    /// What each side's SYN said about window scaling (indexed by [`Side::index`]): `None`
    /// until its SYN is seen, then the option's shift (`Some(None)`: no option). Windows are
    /// only checked once both are known (RFC 7323 §2.2: scaling is on when both sent it).
    syn_scale: [Option<Option<u8>>; 2],
}

impl TcpSession {
    /// A session for a flow whose first captured packet is `first`, sent by `side`. Counts the
    /// session (and a pick-up when there was no handshake) in `stats`.
    ///
    /// Nothing of `first` is consumed here: the caller passes it to [`TcpSession::on_segment`]
    /// like every other segment.
    pub fn new(
        first: &TcpSegment<'_>,
        side: Side,
        config: &StreamConfig,
        stats: &mut StreamStats,
    ) -> TcpSession {
        let _ = side;
        stats.sessions += 1;
        // A SYN/ACK seen first still gives both starting points (its own ISN, and the
        // initiator's in its acknowledgement number), so only a start without SYN is a pick-up.
        let midstream = !first.flags.syn();
        if midstream && config.midstream {
            stats.midstream_pickups += 1;
        }
        TcpSession {
            directions: [
                TcpReassembler::new(Side::Initiator),
                TcpReassembler::new(Side::Responder),
            ],
            midstream,
            syn_scale: [None; 2],
        }
    }

    /// True when the session was picked up without its handshake.
    pub fn is_midstream(&self) -> bool {
        self.midstream
    }

    /// True when both sides have finished (FIN each way, or a RST).
    pub fn is_closed(&self) -> bool {
        self.directions.iter().all(TcpReassembler::is_closed)
    }

    /// True when a SYN on this connection's four-tuple starts a new connection: the
    /// connection was reset, or one side has finished sending (FIN in stream order), so the
    /// hosts are in FIN-WAIT, CLOSE-WAIT, LAST-ACK, TIME-WAIT or CLOSED, where a new SYN is
    /// a new connection (Windows accepts one in TIME-WAIT; Suricata's stream reuse does the
    /// same). A SYN on an open connection is not (RFC 5961: the host answers with a
    /// challenge ACK and the connection goes on).
    pub fn is_reusable(&self) -> bool {
        self.directions.iter().any(TcpReassembler::is_closed)
    }

    /// The session as [`ClosedTcpSession`] keeps it, once both directions are closed with
    /// nothing held (`None` before).
    pub fn closed_form(&self) -> Option<ClosedTcpSession> {
        let [initiator, responder] = &self.directions;
        Some(ClosedTcpSession {
            directions: [initiator.closed_form()?, responder.closed_form()?],
            midstream: self.midstream,
        })
    }

    /// Out-of-order pieces held, both directions together.
    pub fn held_segments(&self) -> usize {
        self.directions
            .iter()
            .map(TcpReassembler::held_segments)
            .sum()
    }

    /// Heap bytes the held data of both directions costs besides the bytes themselves
    /// ([`TcpReassembler::held_overhead`]).
    pub fn held_overhead(&self) -> usize {
        self.directions
            .iter()
            .map(TcpReassembler::held_overhead)
            .sum()
    }

    /// The reassembler of the bytes sent by `side`.
    pub fn direction(&self, side: Side) -> &TcpReassembler {
        &self.directions[side.index()]
    }

    /// Takes one segment sent by `side` and emits whatever it makes deliverable, in order.
    ///
    /// Order of work: a RST ends both directions; a SYN sets the sender's starting point (and
    /// a SYN/ACK the other side's, from its acknowledgement number); the acknowledgement
    /// number is applied to the other direction (which may skip a hole the capture lost,
    /// delivering the other side's bytes first); then the payload and FIN go to the sender's
    /// direction. The segment's bytes are delivered straight from `segment.payload` when they
    /// are next in order and nothing is held.
    #[allow(clippy::too_many_arguments)] // the signature the pipeline calls
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
        let _ = now;
        let mut ctx = Context {
            config,
            memory,
            stats,
        };
        let flags = segment.flags;
        if flags.rst() {
            if !pair(&mut self.directions, side)
                .0
                .accepts_rst(SeqNum(segment.seq))
            {
                ctx.stats.rst_invalid += 1;
                return;
            }
            // Held data past a hole is delivered (after a gap) before the close: a detector
            // would rather see it than lose it to a reset.
            for direction in &mut self.directions {
                direction.finish(&mut ctx, out);
            }
            return;
        }
        let (this, peer) = pair(&mut self.directions, side);
        let mut seq = SeqNum(segment.seq);
        let mut payload = segment.payload;
        if flags.syn() {
            if !this.on_syn(seq) {
                // A new ISN after data flowed, or a SYN on a closed direction.
                ctx.stats.ignored += 1;
                return;
            }
            seq = seq.wrapping_add(1);
            self.syn_scale[side.index()] = Some(segment.window_scale);
            if flags.ack() {
                peer.start_at(SeqNum(segment.ack));
            }
            if !payload.is_empty() {
                // Data on a SYN is not delivered to the application: a stack without TCP
                // Fast Open holds or drops it until the handshake, and with TFO only a valid
                // cookie makes it count (RFC 7413). Taking it would let a SYN carry bytes the
                // server never reads; the client sends them again if they mattered.
                ctx.stats.syn_data_ignored += 1;
                payload = &[];
            }
        } else if !this.is_started() && config.midstream {
            this.start_at(seq);
        }
        if flags.ack() {
            if let Some(window) = scaled_window(&self.syn_scale, segment, side) {
                peer.on_peer_window(SeqNum(segment.ack), window);
            }
            peer.on_peer_ack(SeqNum(segment.ack), &mut ctx, out);
        }
        this.on_data(seq, payload, flags.fin(), &mut ctx, out);
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
        let mut ctx = Context {
            config,
            memory,
            stats,
        };
        for direction in &mut self.directions {
            direction.finish(&mut ctx, out);
        }
    }
}

/// A closed connection, as a flow that lingers after its close keeps it (its last ACK, a
/// FIN sent again or a late reset still come): a fifth of a [`TcpSession`]'s size, so that
/// the many connections waiting out their closed timeout hold little. It counts
/// the segments it gets exactly as the closed [`TcpSession`] it came from would
/// ([`TcpSession::closed_form`]); like it, it delivers nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosedTcpSession {
    /// As [`TcpSession`]'s, each closed.
    directions: [ClosedDirection; 2],
    /// The session was picked up without its handshake.
    midstream: bool,
}

impl ClosedTcpSession {
    /// True when the session was picked up without its handshake.
    pub fn is_midstream(&self) -> bool {
        self.midstream
    }

    /// Takes one segment sent by `side`: [`TcpSession::on_segment`] on a closed session,
    /// which only counts it (a reset the receiver would not take, a SYN, data sent again or
    /// past the close).
    pub fn on_segment(&mut self, segment: &TcpSegment<'_>, side: Side, stats: &mut StreamStats) {
        let flags = segment.flags;
        let (this, peer) = pair(&mut self.directions, side);
        let seq = SeqNum(segment.seq);
        if flags.rst() {
            if !this.accepts_rst(seq) {
                stats.rst_invalid += 1;
            }
            return;
        }
        if flags.syn() {
            // A closed direction takes no SYN (`TcpReassembler::on_syn`).
            stats.ignored += 1;
            return;
        }
        if flags.ack() {
            peer.on_peer_ack(SeqNum(segment.ack));
        }
        this.on_data(seq, segment.payload.len(), flags.fin(), stats);
    }
}

/// The receive window `segment` (sent by `side`, with ACK) advertises, in bytes, once both
/// SYNs were seen (`syn_scale`, see [`TcpSession`]); `None` before. The window of a SYN is
/// never scaled.
fn scaled_window(
    syn_scale: &[Option<Option<u8>>; 2],
    segment: &TcpSegment<'_>,
    side: Side,
) -> Option<u32> {
    let [Some(initiator), Some(responder)] = *syn_scale else {
        return None;
    };
    let window = u32::from(segment.window);
    if segment.flags.syn() {
        return Some(window);
    }
    let shift = match (initiator, responder) {
        (Some(_), Some(_)) => syn_scale[side.index()].flatten().unwrap_or(0),
        _ => 0,
    };
    Some(window << shift.min(14))
}

/// The direction of the bytes `side` sends, and the other one.
fn pair<T>(directions: &mut [T; 2], side: Side) -> (&mut T, &mut T) {
    let [initiator, responder] = directions;
    match side {
        Side::Initiator => (initiator, responder),
        Side::Responder => (responder, initiator),
    }
}

#[cfg(test)]
mod tests;
