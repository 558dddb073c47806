//! One direction of a TCP connection: segments → in-order bytes, gaps and a close.
//!
//! A [`TcpReassembler`] turns each sequence number into a 64-bit *stream offset* (bytes since
//! the first data byte of the direction, or since the pick-up point) by adding its signed
//! distance from the next expected byte, so wrap-around is handled once, at the door, by
//! [`SeqNum`]. Everything before `next` has been delivered (or skipped as a gap) and cannot
//! change; everything after it that arrived early is *held*.
//!
//! Held bytes live in a map from offset to [`Piece`]. Invariants, kept by every method:
//! - pieces are non-empty, do not overlap, and every piece starts after `next`;
//! - `held_bytes` is the sum of their lengths, and those bytes are counted in the worker's
//!   [`ReassemblyMemory::used`];
//! - no piece reaches past the inspection depth or past a known FIN.
//!
//! Each piece remembers the offsets of the segment its bytes came from, so overlaps are
//! resolved byte for byte by the segment-versus-segment rule of [`StreamPolicy::new_data_wins`],
//! as Suricata does in IDS mode. The next in-order segment is always accepted, whatever the
//! caps; a held segment is refused (and counted) when it would push the worker past its memory
//! cap; when a direction holds more than [`StreamConfig::max_segments`] pieces or
//! [`StreamConfig::max_held_bytes`] bytes, the first hole is given up as a gap.
//!
//! Receive window: once the handshake told how the other side scales its window, a segment
//! that starts at or past the right edge of the window it advertised (its acknowledgement
//! number plus its window, the furthest seen) is not taken, as the receiver drops it (RFC 9293
//! §3.10.7.4). Otherwise a segment the server never read, sent before the real bytes at the
//! same sequence numbers, would be what the sensor inspects. It is set aside instead, within
//! the held-data caps, and taken after all if the receiver acknowledges past its start
//! without the bytes having come again in the window: the capture then missed the window
//! update, and the receiver did read them. A segment that starts inside the window and runs
//! past it is taken whole (Linux does so; RFC 9293 would trim it; what Windows does is not
//! published).
//!
//! Hot path: a segment that starts at `next` while nothing is held is handed to the caller as
//! a slice of the packet itself. No copy, no allocation.

use std::collections::BTreeMap;

use super::seq::SeqNum;
use super::{ReassemblyMemory, StreamConfig, StreamEvent, StreamStats};
use crate::flow::Side;

/// What a reassembler call may use besides its own state: the settings, the worker's memory
/// budget for held bytes, and the worker's counters.
#[derive(Debug)]
pub struct Context<'a> {
    /// Reassembly settings.
    pub config: &'a StreamConfig,
    /// Bytes held out of order by every session of the worker.
    pub memory: &'a mut ReassemblyMemory,
    /// Counters.
    pub stats: &'a mut StreamStats,
}

/// Bytes held out of order, stored at their stream offset (the map key).
#[derive(Debug)]
struct Piece {
    /// The bytes; never empty.
    bytes: Vec<u8>,
    /// Stream offset of the first byte of the segment these bytes came from.
    seg_start: u64,
    /// Stream offset just past the last byte of that segment.
    seg_end: u64,
}

/// Heap bytes that one allocation costs beyond what it asks for: glibc's malloc takes 8
/// bytes of header, rounds up to 16 and gives at least 32, so at most 31 more.
const ALLOCATION_SLACK: usize = 31;

/// The nodes of the held map: std's B-tree (B = 6) keeps at most 11 entries per node and at
/// least 5 in every node but the root, so `n` entries take at most `1 + (n - 1) / 5` nodes
/// (rounded up here, to be safe). A leaf is its parent link, two counts and 11 keys and
/// values; an inner node adds 12 child links. The largest (inner) node bounds each.
const MAP_NODE_BYTES: usize =
    16 + 11 * (std::mem::size_of::<u64>() + std::mem::size_of::<Piece>()) + 12 * 8;
/// Entries in every node of the held map but the root, at least.
const MAP_NODE_MIN_ENTRIES: usize = 5;

/// A segment sent past the receiver's window, set aside.
#[derive(Debug)]
struct AsideSegment {
    seq: SeqNum,
    bytes: Vec<u8>,
    fin: bool,
}

/// What [`TcpReassembler::hold`] did with a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// Its bytes went in (maybe after an overlap was resolved).
    Held,
    /// Every byte was already held, with the same content.
    Retransmission,
    /// Refused: the worker's memory cap.
    Dropped,
}

/// A closed direction, as a closed session keeps it ([`super::ClosedTcpSession`]): the
/// sequence numbers its receiver expects, which decide how its late segments are counted and
/// whether a reset is one the receiver takes ([`TcpReassembler::accepts_rst`]).
///
/// Three numbers and a byte saying which are known (16 bytes, where three `Option<SeqNum>`
/// take 24): a closed flow keeps two of these while it waits out its closed timeout, and the
/// 8 bytes saved on each took the flow's state under an allocator size class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosedDirection {
    /// By index: the next sequence number in stream order ([`EXPECTED`]: unknown when the
    /// direction never started), the one just past the FIN ([`AFTER_FIN`]: when one was
    /// seen), the last acknowledgement number the receiver sent ([`PEER_ACK`]). Each is 0
    /// while unknown, so that equal directions compare equal.
    seqs: [SeqNum; 3],
    /// Bit `i` is set when `seqs[i]` is known.
    known: u8,
}

/// Index of the next expected sequence number in [`ClosedDirection`]'s numbers.
const EXPECTED: usize = 0;
/// Index of the sequence number past the FIN.
const AFTER_FIN: usize = 1;
/// Index of the receiver's last acknowledgement number.
const PEER_ACK: usize = 2;

impl ClosedDirection {
    fn new(
        expected: Option<SeqNum>,
        after_fin: Option<SeqNum>,
        peer_ack: Option<SeqNum>,
    ) -> ClosedDirection {
        let mut d = ClosedDirection {
            seqs: [SeqNum(0); 3],
            known: 0,
        };
        for (i, seq) in [expected, after_fin, peer_ack].into_iter().enumerate() {
            if let Some(seq) = seq {
                d.set(i, seq);
            }
        }
        d
    }

    fn get(&self, i: usize) -> Option<SeqNum> {
        (self.known & 1 << i != 0).then_some(self.seqs[i])
    }

    fn set(&mut self, i: usize, seq: SeqNum) {
        self.seqs[i] = seq;
        self.known |= 1 << i;
    }

    /// [`TcpReassembler::accepts_rst`] for a direction that holds nothing.
    pub fn accepts_rst(&self, seq: SeqNum) -> bool {
        let Some(expected) = self.get(EXPECTED) else {
            return true;
        };
        seq == expected
            || self.get(AFTER_FIN) == Some(seq)
            || (self.get(PEER_ACK) == Some(seq) && seq.distance_from(expected) > 0)
    }

    /// The receiver acknowledged up to `ack` ([`TcpReassembler::on_peer_ack`] once closed:
    /// only the number is noted, for [`ClosedDirection::accepts_rst`]).
    pub fn on_peer_ack(&mut self, ack: SeqNum) {
        if self.get(EXPECTED).is_some() {
            self.set(PEER_ACK, ack);
        }
    }

    /// A segment of `len` bytes at `seq` (with a FIN or not) after the close: counted as a
    /// closed [`TcpReassembler`] counts it, nothing delivered.
    pub fn on_data(&self, seq: SeqNum, len: usize, fin: bool, stats: &mut StreamStats) {
        let Some(expected) = self.get(EXPECTED) else {
            if len > 0 || fin {
                stats.ignored += 1;
            }
            return;
        };
        let rel = i64::from(seq.distance_from(expected));
        let end_rel = rel.saturating_add(i64::try_from(len).unwrap_or(i64::MAX));
        count_after_close(len as u64, end_rel, stats);
    }
}

/// Counts a segment of `len` bytes ending `end_rel` bytes past the next expected byte that a
/// closed direction got: a retransmission if every byte was delivered, else ignored.
fn count_after_close(len: u64, end_rel: i64, stats: &mut StreamStats) {
    if len > 0 {
        if end_rel <= 0 {
            stats.retransmissions += 1;
        } else {
            stats.ignored += 1;
        }
    }
}

/// One direction of a TCP connection.
#[derive(Debug)]
pub struct TcpReassembler {
    side: Side,
    /// Sequence number of stream offset 0, once the start of the direction is known.
    origin: Option<SeqNum>,
    /// Offset of the next byte to deliver: everything before it was delivered or skipped.
    next: u64,
    /// Early bytes, by offset (see the module invariants).
    held: BTreeMap<u64, Piece>,
    /// Sum of the held pieces' lengths.
    held_bytes: usize,
    /// Highest offset the other side acknowledged (0 when none).
    acked: u64,
    /// The last acknowledgement number the other side sent for this direction: the next
    /// sequence number it expected then, whatever the sensor missed.
    peer_ack: Option<SeqNum>,
    /// Offset of the FIN, once one was seen.
    fin: Option<u64>,
    /// FIN reached, RST, or the session finished: nothing more is delivered.
    closed: bool,
    /// `next` reached the inspection depth: nothing more is delivered, nothing held.
    past_depth: bool,
    /// Right edge of the receive window the other side advertised for this direction (the
    /// furthest acknowledgement number plus scaled window seen); `None` while not known.
    window_edge: Option<SeqNum>,
    /// Segments sent at or past `window_edge`, in arrival order (see the module doc).
    beyond_window: Vec<AsideSegment>,
    /// Sum of their lengths, also counted in the worker's [`ReassemblyMemory::used`].
    beyond_window_bytes: usize,
}

impl TcpReassembler {
    /// A direction for bytes sent by `side`, not started yet.
    pub fn new(side: Side) -> TcpReassembler {
        TcpReassembler {
            side,
            origin: None,
            next: 0,
            held: BTreeMap::new(),
            held_bytes: 0,
            acked: 0,
            peer_ack: None,
            fin: None,
            closed: false,
            past_depth: false,
            window_edge: None,
            beyond_window: Vec::new(),
            beyond_window_bytes: 0,
        }
    }

    /// Who sends the bytes of this direction.
    pub fn side(&self) -> Side {
        self.side
    }

    /// True once the sequence number of the first byte is known.
    pub fn is_started(&self) -> bool {
        self.origin.is_some()
    }

    /// True once nothing more will be delivered (FIN reached, RST, or finished).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The sequence number of the next byte to deliver, once started.
    pub fn next_seq(&self) -> Option<SeqNum> {
        // Offsets are taken modulo 2^32 to get back to sequence space.
        self.origin.map(|o| o.wrapping_add(self.next as u32))
    }

    /// Stream offset of the next byte to deliver (bytes delivered or skipped so far).
    pub fn next_offset(&self) -> u64 {
        self.next
    }

    /// How many pieces are held out of order (segments set aside past the window included).
    pub fn held_segments(&self) -> usize {
        self.held.len() + self.beyond_window.len()
    }

    /// How many bytes are held out of order (segments set aside past the window included).
    pub fn held_bytes(&self) -> usize {
        self.held_bytes + self.beyond_window_bytes
    }

    /// Heap bytes the held data costs besides the bytes themselves (those are counted in
    /// [`TcpReassembler::held_bytes`]): the held map's nodes, the list of segments set aside,
    /// and the allocator's slack on every piece. An upper bound, checked against a counting
    /// allocator by `tests/held_memory.rs`: a flood of connections each holding one small
    /// piece costs a whole map node per connection, several times the piece.
    pub fn held_overhead(&self) -> usize {
        let pieces = self.held.len();
        let nodes = match pieces {
            0 => 0,
            n => 1 + (n - 1).div_ceil(MAP_NODE_MIN_ENTRIES),
        };
        let map = nodes * (MAP_NODE_BYTES + ALLOCATION_SLACK) + pieces * ALLOCATION_SLACK;
        let aside = match self.beyond_window.capacity() {
            0 => 0,
            capacity => {
                capacity * std::mem::size_of::<AsideSegment>()
                    + ALLOCATION_SLACK
                    + self.beyond_window.len() * ALLOCATION_SLACK
            }
        };
        map + aside
    }

    /// The right edge of the receive window the other side advertised, once known.
    pub fn window_edge(&self) -> Option<SeqNum> {
        self.window_edge
    }

    /// The other side advertised a receive window of `window` bytes (already scaled) from its
    /// acknowledgement number `ack`. The edge only moves forward: a receiver must not shrink
    /// its window (RFC 9293 §3.8.6.2.1), and a stale packet must not shrink it either.
    pub fn on_peer_window(&mut self, ack: SeqNum, window: u32) {
        let edge = ack.wrapping_add(window);
        if self.window_edge.is_none_or(|e| edge.distance_from(e) > 0) {
            self.window_edge = Some(edge);
        }
    }

    /// Whether the receiver of this direction takes a RST with sequence number `seq` from its
    /// sender. As RFC 5961 §3.2 has it (Windows and Linux follow it), a RST counts only when
    /// its sequence number is exactly the next one the receiver expects; anything else is
    /// ignored or answered with a challenge ACK, and the connection lives on. A forged reset
    /// is a classic way to make a sensor stop looking, so a RST that the server would ignore
    /// does not end inspection. The receiver's expectation is known to the sensor as the next
    /// byte in stream order (one more once the FIN is reached), as the end of a segment held
    /// behind a hole the capture lost, or as the receiver's last acknowledgement when that is
    /// ahead of the stream (it then covers bytes the capture lost). A direction
    /// whose start is not known takes any RST.
    pub fn accepts_rst(&self, seq: SeqNum) -> bool {
        let Some(origin) = self.origin else {
            return true;
        };
        let at = |offset: u64| origin.wrapping_add(offset as u32);
        self.expectations().accepts_rst(seq) || self.held.values().any(|p| seq == at(p.seg_end))
    }

    /// What the receiver of this direction expects, in sequence numbers: all a closed
    /// direction still needs (see [`ClosedDirection`]).
    fn expectations(&self) -> ClosedDirection {
        let at = |origin: SeqNum, offset: u64| origin.wrapping_add(offset as u32);
        ClosedDirection::new(
            self.next_seq(),
            self.origin
                .zip(self.fin)
                .map(|(o, f)| at(o, f.saturating_add(1))),
            self.peer_ack,
        )
    }

    /// This direction as a closed session keeps it, once it is closed with nothing held or
    /// set aside (`None` before).
    pub fn closed_form(&self) -> Option<ClosedDirection> {
        (self.closed && self.held.is_empty() && self.beyond_window.is_empty())
            .then(|| self.expectations())
    }

    /// Starts the direction at `seq`, the sequence number of its first data byte (mid-stream
    /// pick-up, or the acknowledgement number of a SYN/ACK). No effect once started or closed.
    pub fn start_at(&mut self, seq: SeqNum) {
        if self.origin.is_none() && !self.closed {
            self.origin = Some(seq);
        }
    }

    /// A SYN with initial sequence number `isn`: data starts at `isn + 1`. Before any data
    /// flowed this (re)starts the direction; afterwards only a retransmission of the same SYN
    /// is accepted. Returns false when the SYN must be ignored.
    pub fn on_syn(&mut self, isn: SeqNum) -> bool {
        if self.closed {
            return false;
        }
        let start = isn.wrapping_add(1);
        let flowed = self.next > 0 || !self.held.is_empty() || self.fin.is_some();
        if !flowed {
            self.origin = Some(start);
            self.acked = 0;
            return true;
        }
        self.origin == Some(start)
    }

    /// The other side acknowledged bytes up to `ack`. When data is waiting behind a hole the
    /// other side already acknowledged, the hole was lost by the capture: it is skipped as a
    /// gap and what follows is delivered.
    pub fn on_peer_ack(
        &mut self,
        ack: SeqNum,
        ctx: &mut Context<'_>,
        out: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        let Some(expected) = self.next_seq() else {
            return;
        };
        self.peer_ack = Some(ack);
        if !self.beyond_window.is_empty() {
            self.take_acknowledged(ack, ctx, out);
        }
        if self.closed || self.past_depth {
            return;
        }
        let Ok(ahead) = u64::try_from(ack.distance_from(expected)) else {
            return;
        };
        if ahead == 0 {
            return;
        }
        self.acked = self.acked.max(self.next.saturating_add(ahead));
        let waiting = !self.held.is_empty() || self.fin.is_some_and(|f| f > self.next);
        if waiting {
            self.skip_acked(u64::MAX, ctx, out);
            self.check_fin(ctx, out);
        }
    }

    /// Takes the data of one segment: `payload` starts at sequence number `seq`; `fin` when
    /// the segment carried a FIN (which sits right after the payload in sequence space). A
    /// segment that starts at or past the receiver's window is set aside instead (see the
    /// module doc).
    pub fn on_data(
        &mut self,
        seq: SeqNum,
        payload: &[u8],
        fin: bool,
        ctx: &mut Context<'_>,
        out: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        if let Some(edge) = self.window_edge {
            if !payload.is_empty() && !self.closed && seq.distance_from(edge) >= 0 {
                ctx.stats.out_of_window += 1;
                self.set_aside(seq, payload, fin, ctx);
                return;
            }
        }
        self.take(seq, payload, fin, ctx, out);
    }

    /// Keeps a segment sent past the window, if the held-data caps leave room for it.
    fn set_aside(&mut self, seq: SeqNum, payload: &[u8], fin: bool, ctx: &mut Context<'_>) {
        let len = payload.len();
        let again = self
            .beyond_window
            .iter()
            .any(|a| a.seq == seq && a.bytes.len() == len);
        let room = self.held.len() + self.beyond_window.len() < ctx.config.max_segments
            && self.held_bytes + self.beyond_window_bytes + len <= ctx.config.max_held_bytes
            && ctx.memory.used.saturating_add(len) <= ctx.memory.cap;
        if again || !room {
            return;
        }
        self.beyond_window_bytes += len;
        ctx.memory.used = ctx.memory.used.saturating_add(len);
        self.beyond_window.push(AsideSegment {
            seq,
            bytes: payload.to_vec(),
            fin,
        });
    }

    /// The receiver acknowledged up to `ack`: the segments set aside that start before it
    /// were read after all (the capture missed the window update), so they are taken now,
    /// before the acknowledgement could give their bytes up as lost. Bytes that came again in
    /// the window and were taken already stay as they were taken.
    fn take_acknowledged(
        &mut self,
        ack: SeqNum,
        ctx: &mut Context<'_>,
        out: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        let aside = std::mem::take(&mut self.beyond_window);
        for a in aside {
            if self.closed {
                // Taking an earlier one reached the FIN: closing gave back the bytes of every
                // segment set aside, these included, and nothing is held once closed.
                continue;
            }
            if ack.distance_from(a.seq) > 0 {
                self.beyond_window_bytes = self.beyond_window_bytes.saturating_sub(a.bytes.len());
                ctx.memory.used = ctx.memory.used.saturating_sub(a.bytes.len());
                ctx.stats.out_of_window_taken += 1;
                self.take(a.seq, &a.bytes, a.fin, ctx, out);
            } else {
                self.beyond_window.push(a);
            }
        }
    }

    /// [`TcpReassembler::on_data`] without the window check.
    fn take(
        &mut self,
        seq: SeqNum,
        payload: &[u8],
        fin: bool,
        ctx: &mut Context<'_>,
        out: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        let Some(expected) = self.next_seq() else {
            if !payload.is_empty() || fin {
                ctx.stats.ignored += 1;
            }
            return;
        };
        let len = payload.len() as u64;
        // Where the segment sits relative to `next`; never more than 2^31 away.
        let rel = i64::from(seq.distance_from(expected));
        let end_rel = rel.saturating_add(i64::try_from(len).unwrap_or(i64::MAX));
        if self.closed {
            count_after_close(len, end_rel, ctx.stats);
            return;
        }
        if fin {
            self.note_fin(end_rel, ctx);
        }
        // A hole before this segment that the other side acknowledged was lost by the capture:
        // skip it first. That moves `next`, so positions are taken again afterwards.
        let (mut rel, mut end_rel) = (rel, end_rel);
        if len > 0 && rel > 0 {
            let before = self.next;
            self.skip_acked(before.saturating_add(rel.unsigned_abs()), ctx, out);
            let moved = i64::try_from(self.next - before).unwrap_or(i64::MAX);
            rel = rel.saturating_sub(moved);
            end_rel = end_rel.saturating_sub(moved);
            if self.closed {
                // The skip reached the FIN: whatever this segment carries comes after it.
                ctx.stats.ignored += 1;
                return;
            }
        }
        if len == 0 || end_rel <= 0 {
            if len > 0 {
                // Every byte was delivered already; we keep none to compare with.
                ctx.stats.retransmissions += 1;
            }
            self.check_fin(ctx, out);
            return;
        }
        // The part before `next` was delivered already and cannot change.
        let trim = rel.min(0).unsigned_abs();
        let start = self.next.saturating_add(rel.max(0).unsigned_abs());
        let seg_start = start.saturating_sub(trim);
        let seg_end = self.next.saturating_add(end_rel.unsigned_abs());
        let data = payload.get(trim as usize..).unwrap_or_default();
        if trim > 0 {
            ctx.stats.overlaps += 1;
        }
        if self.past_depth {
            // Keep tracking the position (so a FIN still closes), deliver nothing.
            self.next = self.next.max(seg_end);
            self.check_fin(ctx, out);
            return;
        }
        if start == self.next && self.held.is_empty() {
            // Hot path: in order with nothing held. `data` is the packet's own bytes.
            self.deliver(data, ctx, out);
        } else {
            let data = self.clip(start, data, ctx.config.depth);
            if !data.is_empty() {
                let in_order = start == self.next;
                let result = self.hold(start, data, seg_start, seg_end, in_order, ctx);
                if result == Hold::Held && !in_order {
                    ctx.stats.out_of_order += 1;
                }
                self.deliver_ready(ctx, out);
                self.enforce_limits(ctx, out);
            }
        }
        self.check_fin(ctx, out);
    }

    /// Ends the direction: skips every hole (gap, then the data after it), skips to a FIN
    /// that was seen past a hole, emits `Closed` if not closed yet, and releases held memory.
    pub fn finish(&mut self, ctx: &mut Context<'_>, out: &mut dyn FnMut(StreamEvent<'_>)) {
        while !self.closed && !self.past_depth {
            let Some((&first, _)) = self.held.first_key_value() else {
                break;
            };
            self.skip_to(first, ctx, out);
            self.deliver_ready(ctx, out);
        }
        if let Some(fin) = self.fin {
            if !self.closed && !self.past_depth && fin > self.next {
                self.skip_to(fin, ctx, out);
            }
        }
        self.close(ctx.memory, out);
    }

    /// Records the FIN at `end_rel` bytes from `next`. The first FIN wins; a FIN that sits
    /// before bytes already delivered contradicts them and is ignored.
    fn note_fin(&mut self, end_rel: i64, ctx: &mut Context<'_>) {
        if self.fin.is_some() {
            return;
        }
        match u64::try_from(end_rel) {
            Ok(ahead) => self.fin = Some(self.next.saturating_add(ahead)),
            Err(_) => ctx.stats.ignored += 1,
        }
    }

    /// Closes the direction once `next` reached the FIN (or, past the depth, once a FIN was
    /// seen at all).
    fn check_fin(&mut self, ctx: &mut Context<'_>, out: &mut dyn FnMut(StreamEvent<'_>)) {
        if let Some(fin) = self.fin {
            if self.next >= fin || self.past_depth {
                self.close(ctx.memory, out);
            }
        }
    }

    /// Emits `Closed` once and drops whatever is still held.
    fn close(&mut self, memory: &mut ReassemblyMemory, out: &mut dyn FnMut(StreamEvent<'_>)) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.release_held(memory);
        out(StreamEvent::Closed { side: self.side });
    }

    /// Drops every held piece (and segment set aside past the window) and gives its bytes
    /// back to the worker's budget.
    fn release_held(&mut self, memory: &mut ReassemblyMemory) {
        memory.used = memory
            .used
            .saturating_sub(self.held_bytes + self.beyond_window_bytes);
        self.held.clear();
        self.held_bytes = 0;
        self.beyond_window = Vec::new();
        self.beyond_window_bytes = 0;
    }

    /// The part of `data` (starting at offset `start`) worth holding: nothing at or past the
    /// inspection depth (0 = no depth) or a known FIN.
    fn clip<'d>(&self, start: u64, data: &'d [u8], depth: u64) -> &'d [u8] {
        let mut limit = self.fin.unwrap_or(u64::MAX);
        if depth > 0 {
            limit = limit.min(depth);
        }
        let room = limit.saturating_sub(start);
        let keep = usize::try_from(room).unwrap_or(usize::MAX).min(data.len());
        data.get(..keep).unwrap_or_default()
    }

    /// Hands bytes at `next` to the caller (cut at the depth and at a known FIN) and moves
    /// `next` past them.
    fn deliver(
        &mut self,
        bytes: &[u8],
        ctx: &mut Context<'_>,
        out: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        let shown = self.clip(self.next, bytes, ctx.config.depth);
        if !shown.is_empty() {
            out(StreamEvent::Data {
                side: self.side,
                bytes: shown,
            });
        }
        self.next = self.next.saturating_add(bytes.len() as u64);
        self.check_depth(ctx);
    }

    /// Gives up the bytes from `next` to `target` as lost: emits a gap (the part before the
    /// depth) and moves `next` there.
    fn skip_to(
        &mut self,
        target: u64,
        ctx: &mut Context<'_>,
        out: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        if target <= self.next {
            return;
        }
        let depth = ctx.config.depth;
        let shown_end = if depth == 0 {
            target
        } else {
            target.min(depth)
        };
        if !self.past_depth && shown_end > self.next {
            let len = shown_end - self.next;
            ctx.stats.gaps += 1;
            ctx.stats.gap_bytes = ctx.stats.gap_bytes.saturating_add(len);
            out(StreamEvent::Gap {
                side: self.side,
                len,
            });
        }
        self.next = target;
        self.check_depth(ctx);
    }

    /// Skips the acknowledged parts of the holes from `next` on: up to the other side's highest
    /// acknowledgement, but no further than `incoming` (a segment about to be processed), the
    /// next held piece or the FIN, delivering what becomes contiguous, as often as needed.
    fn skip_acked(
        &mut self,
        incoming: u64,
        ctx: &mut Context<'_>,
        out: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        while self.acked > self.next && !self.closed && !self.past_depth {
            let mut target = self.acked.min(incoming);
            if let Some((&first, _)) = self.held.first_key_value() {
                target = target.min(first);
            }
            if let Some(fin) = self.fin {
                target = target.min(fin);
            }
            if target <= self.next {
                break;
            }
            self.skip_to(target, ctx, out);
            self.deliver_ready(ctx, out);
        }
    }

    /// Notes the depth being reached (counted once per direction) and drops held bytes.
    fn check_depth(&mut self, ctx: &mut Context<'_>) {
        let depth = ctx.config.depth;
        if depth > 0 && self.next >= depth && !self.past_depth {
            self.past_depth = true;
            ctx.stats.depth_reached += 1;
            self.release_held(ctx.memory);
        }
    }

    /// Delivers held pieces that start at `next`, each contiguous run merged into one `Data`.
    fn deliver_ready(&mut self, ctx: &mut Context<'_>, out: &mut dyn FnMut(StreamEvent<'_>)) {
        while !self.closed && !self.past_depth {
            let Some(entry) = self.held.first_entry() else {
                break;
            };
            let start = *entry.key();
            if start > self.next {
                break;
            }
            let mut run = entry.remove().bytes;
            let mut released = run.len();
            let mut end = start.saturating_add(run.len() as u64);
            while let Some(entry) = self.held.first_entry() {
                if *entry.key() != end {
                    break;
                }
                let piece = entry.remove();
                released += piece.bytes.len();
                end = end.saturating_add(piece.bytes.len() as u64);
                run.extend_from_slice(&piece.bytes);
            }
            self.held_bytes = self.held_bytes.saturating_sub(released);
            ctx.memory.used = ctx.memory.used.saturating_sub(released);
            // Pieces start after `next` (invariant); trim defensively all the same.
            let skip = usize::try_from(self.next - start).unwrap_or(usize::MAX);
            let data = run.get(skip..).unwrap_or_default();
            self.deliver(data, ctx, out);
            self.check_fin(ctx, out);
        }
        if self.held.is_empty() {
            // An emptied B-tree keeps its root node: it is given back (and so not charged).
            self.held = BTreeMap::new();
        }
    }

    /// Gives up holes while the direction holds more than its caps allow.
    fn enforce_limits(&mut self, ctx: &mut Context<'_>, out: &mut dyn FnMut(StreamEvent<'_>)) {
        let mut hit = false;
        while !self.closed
            && !self.past_depth
            && (self.held.len() > ctx.config.max_segments
                || self.held_bytes > ctx.config.max_held_bytes)
        {
            let Some((&first, _)) = self.held.first_key_value() else {
                break;
            };
            hit = true;
            self.skip_to(first, ctx, out);
            self.deliver_ready(ctx, out);
        }
        if hit {
            ctx.stats.held_limit += 1;
        }
    }

    /// Holds `data`, which starts at offset `start` (after `next`, or at `next` when
    /// `in_order`) and came from the segment `[seg_start, seg_end)`. Where it overlaps held
    /// bytes, the policy decides byte range by byte range which copy stays. A held segment that
    /// would push the worker past its memory cap is refused; an in-order one never is.
    fn hold(
        &mut self,
        start: u64,
        data: &[u8],
        seg_start: u64,
        seg_end: u64,
        in_order: bool,
        ctx: &mut Context<'_>,
    ) -> Hold {
        let end = start.saturating_add(data.len() as u64);
        let policy = ctx.config.policy;

        // Held pieces overlapping [start, end): maybe one starting before, then those inside.
        let mut overlapping: Vec<u64> = Vec::new();
        if let Some((&k, p)) = self.held.range(..start).next_back() {
            if k.saturating_add(p.bytes.len() as u64) > start {
                overlapping.push(k);
            }
        }
        overlapping.extend(self.held.range(start..end).map(|(&k, _)| k));

        let mut covered = 0u64;
        let mut differ = false;
        let mut replaced: Vec<u64> = Vec::new(); // pieces whose overlap the new bytes win
        let mut kept: Vec<(u64, u64)> = Vec::new(); // overlaps the old bytes win, ascending
        let mut freed = 0usize;
        for &k in &overlapping {
            let Some(p) = self.held.get(&k) else {
                continue;
            };
            let os = start.max(k);
            let oe = end.min(k.saturating_add(p.bytes.len() as u64));
            covered += oe - os;
            let new_part = slice(data, os - start, oe - start);
            let old_part = slice(&p.bytes, os - k, oe - k);
            differ |= new_part != old_part;
            if policy.new_data_wins(seg_start, seg_end, p.seg_start, p.seg_end) {
                replaced.push(k);
                freed += new_part.len();
            } else {
                kept.push((os, oe));
            }
        }

        // The new bytes that go in: [start, end) minus the overlaps the old bytes keep.
        let mut fresh: Vec<(u64, u64)> = Vec::new();
        let mut cursor = start;
        for &(os, oe) in &kept {
            if os > cursor {
                fresh.push((cursor, os));
            }
            cursor = cursor.max(oe);
        }
        if cursor < end {
            fresh.push((cursor, end));
        }
        let added: usize = fresh.iter().map(|&(a, b)| (b - a) as usize).sum();

        if !in_order
            && added > freed
            && ctx.memory.used.saturating_add(added - freed) > ctx.memory.cap
        {
            ctx.stats.memcap_drops += 1;
            return Hold::Dropped;
        }

        let mut result = Hold::Held;
        if !overlapping.is_empty() {
            if covered == data.len() as u64 && !differ {
                ctx.stats.retransmissions += 1;
                result = Hold::Retransmission;
            } else {
                ctx.stats.overlaps += 1;
                if differ {
                    ctx.stats.overlaps_different += 1;
                }
            }
        }

        // Cut the overlap out of the pieces the new bytes win against.
        for k in replaced {
            let Some(mut piece) = self.held.remove(&k) else {
                continue;
            };
            self.forget(piece.bytes.len(), ctx.memory);
            let piece_end = k.saturating_add(piece.bytes.len() as u64);
            if piece_end > end {
                let at = usize::try_from(end - k).unwrap_or(usize::MAX);
                let right = piece.bytes.split_off(at.min(piece.bytes.len()));
                self.put(end, right, piece.seg_start, piece.seg_end, ctx.memory);
            }
            if k < start {
                piece
                    .bytes
                    .truncate(usize::try_from(start - k).unwrap_or(usize::MAX));
                piece.bytes.shrink_to_fit();
                self.put(k, piece.bytes, piece.seg_start, piece.seg_end, ctx.memory);
            }
        }
        for (a, b) in fresh {
            let bytes = slice(data, a - start, b - start).to_vec();
            self.put(a, bytes, seg_start, seg_end, ctx.memory);
        }
        result
    }

    /// Stores a piece (ignores empty ones) and accounts its bytes.
    fn put(
        &mut self,
        at: u64,
        bytes: Vec<u8>,
        seg_start: u64,
        seg_end: u64,
        memory: &mut ReassemblyMemory,
    ) {
        if bytes.is_empty() {
            return;
        }
        self.held_bytes += bytes.len();
        memory.used = memory.used.saturating_add(bytes.len());
        self.held.insert(
            at,
            Piece {
                bytes,
                seg_start,
                seg_end,
            },
        );
    }

    /// Un-accounts `len` bytes of a piece that was taken out of the map.
    fn forget(&mut self, len: usize, memory: &mut ReassemblyMemory) {
        self.held_bytes = self.held_bytes.saturating_sub(len);
        memory.used = memory.used.saturating_sub(len);
    }
}

/// `bytes[from..to]`, or what exists of it.
fn slice(bytes: &[u8], from: u64, to: u64) -> &[u8] {
    let from = usize::try_from(from).unwrap_or(usize::MAX).min(bytes.len());
    let to = usize::try_from(to).unwrap_or(usize::MAX).min(bytes.len());
    bytes.get(from..to.max(from)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        r: &mut TcpReassembler,
        config: &StreamConfig,
        memory: &mut ReassemblyMemory,
        f: impl FnOnce(&mut TcpReassembler, &mut Context<'_>, &mut dyn FnMut(StreamEvent<'_>)),
    ) -> (Vec<u8>, StreamStats) {
        let mut stats = StreamStats::default();
        let mut ctx = Context {
            config,
            memory,
            stats: &mut stats,
        };
        let mut got = Vec::new();
        f(r, &mut ctx, &mut |e| {
            if let StreamEvent::Data { bytes, .. } = e {
                got.extend_from_slice(bytes)
            }
        });
        (got, stats)
    }

    #[test]
    fn not_started_ignores_data() {
        let config = StreamConfig::default();
        let mut memory = ReassemblyMemory::default();
        let mut r = TcpReassembler::new(Side::Initiator);
        let (got, stats) = run(&mut r, &config, &mut memory, |r, ctx, out| {
            r.on_data(SeqNum(1), b"abc", false, ctx, out);
        });
        assert!(got.is_empty());
        assert_eq!(stats.ignored, 1);
        assert!(!r.is_started());
    }

    #[test]
    fn pieces_split_and_merge_back() {
        // Windows: a new segment starting before a held one cuts it in two pieces' worth.
        let config = StreamConfig::default();
        let mut memory = ReassemblyMemory::default();
        let mut r = TcpReassembler::new(Side::Responder);
        r.start_at(SeqNum(100));
        let (got, stats) = run(&mut r, &config, &mut memory, |r, ctx, out| {
            r.on_data(SeqNum(110), b"0123456789", false, ctx, out);
            r.on_data(SeqNum(105), b"abcdefgh", false, ctx, out);
            assert_eq!(r.held_segments(), 2);
            assert_eq!(r.held_bytes(), 15);
            assert_eq!(ctx.memory.used, 15);
            r.on_data(SeqNum(100), b"-----", false, ctx, out);
        });
        assert_eq!(got, b"-----abcdefgh3456789");
        assert_eq!(stats.overlaps_different, 1);
        assert_eq!(r.held_bytes(), 0);
        assert_eq!(memory.used, 0);
        assert_eq!(r.next_offset(), 20);
        assert_eq!(r.next_seq(), Some(SeqNum(120)));
    }

    #[test]
    fn slice_never_panics() {
        let b = b"abcdef";
        assert_eq!(slice(b, 1, 3), b"bc");
        assert_eq!(slice(b, 4, 100), b"ef");
        assert_eq!(slice(b, 100, 200), b"");
        assert_eq!(slice(b, 5, 2), b"");
    }
}
