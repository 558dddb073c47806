//! The HTTP state of one TCP connection: which side is the client, where each side is in its
//! current message, and the transactions waiting to be handed out.
//!
//! Each side runs its own small state machine ([`State`]): recognise HTTP from the first bytes,
//! then head → body → head … For a side in the middle of something that needs more bytes (an
//! unfinished head, chunk line or candidate request line) the unconsumed tail is kept in that
//! side's `pending` buffer, bounded by `max_header_bytes`; everything else is read straight
//! from the packet bytes, so an in-order packet in a body costs no allocation.
//!
//! Transactions are made when a request head is complete and queued in order. Responses pair
//! with the oldest request still waiting (HTTP/1.x has no other way to pair them), interim 1xx
//! responses are skipped, and a transaction is complete when both its request and its final
//! response are. Transactions leave in `tx_id` order, so a finished one waits for those before
//! it. When the connection ends, or is dropped from parsing, whatever is still open is
//! completed and marked incomplete.
//!
//! Gaps: inside a body of known length the reader just moves on; anywhere else the side has
//! lost its place and skips ahead to the next line that starts a request (client) or a status
//! line (server). A side whose role was only inferred from the other side (we joined the
//! connection mid-message) does the same with its first bytes instead of being called garbage.
//!
//! Other choices: a final response with no request waiting (its request was not captured)
//! becomes a transaction with an empty request. After `CONNECT`, or a request with `Upgrade`,
//! the client's further bytes are held unparsed until the response says whether the
//! connection turns into a tunnel (`101`, or `2xx` to `CONNECT`: parsing stops) or not
//! (parsing resumes), since clients may send tunnelled bytes before the answer.

use std::collections::VecDeque;
use std::mem;
use std::sync::LazyLock;

use crate::flow::Side;

use super::body::{BodyLimits, BodyReader, BodySink, BodyStep, Framing};
use super::decode::{finish_body, Decoding};
use super::parser::{self, Class, Head, Scan};
use super::response_head;
use super::{
    Headers, HttpConfig, HttpEvent, HttpRequest, HttpResponse, HttpStats, HttpTransaction,
    PacketRef, RESPONSE_BODY_PREFIX,
};

/// Where one side is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// Nothing recognised yet: waiting for a request or status line.
    #[default]
    Detect,
    /// Not HTTP (or lost to a gap) before the client was known: bytes are ignored.
    Skip,
    /// Before a request head (client) or response head (server).
    Head,
    /// Inside a message body.
    Body(BodyReader),
    /// Client after `CONNECT` or an `Upgrade` request: bytes are kept, unparsed, until the
    /// response tells whether the connection becomes a tunnel.
    Hold,
    /// Lost its place: looking for the next message start.
    Resync {
        /// The next byte starts a line.
        line_start: bool,
    },
    /// No more parsing on this side.
    Done,
}

/// What [`HttpConnection::parse_head`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeadStep {
    /// A head of this many bytes was parsed.
    Parsed(usize),
    /// The head is not complete yet.
    NeedMore,
    /// The bytes are not a head; the side now looks for the next message start.
    Resync,
    /// The bytes are not a head; parsing stopped.
    Stopped,
}

/// Per-side parsing state.
#[derive(Debug, Default)]
struct SideParser {
    state: State,
    /// Unconsumed bytes that need more data before they can be parsed.
    pending: Vec<u8>,
    /// Bytes at the start of `pending` already known not to hold a complete head.
    checked: usize,
    /// Lines ended in those bytes, as [`line_ends`] counts them (at least the lines of the
    /// head so far).
    checked_lines: usize,
    /// Where the line that `checked` ends in starts (just after the last line feed in those
    /// bytes), when known: a head arriving line by line is not searched back for it.
    checked_line_start: Option<usize>,
    /// The packet that carried the first byte of the message being gathered in `pending`.
    msg_at: Option<PacketRef>,
    /// This side was seen speaking HTTP: its first bytes were recognised, or a head parsed.
    /// Until then a head that does not parse means we joined it mid-message, not garbage.
    spoke_http: bool,
    /// The first bytes of this side were not HTTP.
    not_http: bool,
    /// The state changed from the other side: `pending` can be parsed again.
    kick: bool,
}

impl SideParser {
    /// Forgets what was learnt about `pending` (its start moved or it was replaced).
    fn restart_scan(&mut self) {
        self.checked = 0;
        self.checked_lines = 0;
        self.checked_line_start = None;
    }
}

/// One transaction on its way.
#[derive(Debug)]
struct Slot {
    tx: HttpTransaction,
    /// `tx.heap_bytes()` as last counted (by [`HttpConnection::push_slot`] and [`SlotMut`]):
    /// what a change takes off the connection's total is read here, not counted again.
    heap: usize,
    /// The request (head and body) is over.
    req_done: bool,
    /// The final response is over.
    resp_done: bool,
    /// Closed early: by the end of the connection, a drop, or `max_pending`.
    finalized: bool,
    /// No rule may inspect the response body: only its first [`RESPONSE_BODY_PREFIX`] bytes
    /// are kept.
    response_prefix: bool,
}

impl Slot {
    fn is_complete(&self) -> bool {
        self.finalized || (self.req_done && self.resp_done)
    }
}

/// A transaction borrowed for change: when it is let go, the connection's running total of
/// transaction heap bytes takes in what the change did to this one.
struct SlotMut<'c> {
    slot: &'c mut Slot,
    total: &'c mut usize,
}

impl std::ops::Deref for SlotMut<'_> {
    type Target = Slot;
    fn deref(&self) -> &Slot {
        self.slot
    }
}

impl std::ops::DerefMut for SlotMut<'_> {
    fn deref_mut(&mut self) -> &mut Slot {
        self.slot
    }
}

impl Drop for SlotMut<'_> {
    fn drop(&mut self) {
        let after = self.slot.tx.heap_bytes();
        *self.total = self.total.saturating_sub(self.slot.heap) + after;
        self.slot.heap = after;
    }
}

/// What is left of an [`HttpConnection`] whose TCP connection closed with nothing in it
/// ([`HttpConnection::closed_form`]): which side was the client, and whether finishing it
/// counts it as not HTTP. A flow waiting out its closed timeout keeps this instead of the
/// whole connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosedHttp {
    client: Option<Side>,
    /// Finishing counts the connection in [`HttpStats::not_http`].
    count_not_http: bool,
}

impl ClosedHttp {
    /// The side that sent the requests, once known ([`HttpConnection::client`]).
    pub fn client(&self) -> Option<Side> {
        self.client
    }

    /// [`HttpConnection::finish`] for a connection with nothing left in it.
    pub fn finish(&mut self, stats: &mut HttpStats) {
        if mem::take(&mut self.count_not_http) {
            stats.not_http += 1;
        }
    }
}

/// HTTP state of one TCP connection.
#[derive(Debug, Default)]
pub struct HttpConnection {
    client: Option<Side>,
    sides: [SideParser; 2],
    /// Transactions not handed out yet, in `tx_id` order.
    txs: VecDeque<Slot>,
    /// The heap bytes of the transactions in `txs`, kept up to date by every change to them
    /// ([`HttpConnection::push_slot`], [`SlotMut`], `take_completed`): summing them at every
    /// packet made 400 pipelined requests cost 400 walks per packet.
    txs_heap: usize,
    next_tx_id: u64,
    /// The transaction the next final response belongs to (or later, past closed ones).
    next_resp_id: u64,
    /// The transaction whose request body the client side is reading.
    req_tx: Option<u64>,
    /// The transaction whose response body the server side is reading.
    resp_tx: Option<u64>,
    /// The `CONNECT` / `Upgrade` transaction the client side is holding for.
    hold_tx: Option<u64>,
    /// The packet of the latest bytes.
    last_at: PacketRef,
    /// No more parsing: not HTTP, garbage, or a tunnel.
    stopped: bool,
    not_http_counted: bool,
    finished: bool,
    /// What the caller said last: no rule may inspect a response body of this connection
    /// ([`HttpConnection::set_response_bodies_inspected`]).
    response_bodies_uninspected: bool,
    /// A request was over since the caller said so (the flowbits it judged from may have
    /// changed since).
    request_done_since: bool,
}

impl HttpConnection {
    /// A connection that has seen nothing yet.
    pub fn new() -> HttpConnection {
        HttpConnection::default()
    }

    /// Whether some rule may inspect the bodies of the responses whose heads come next, as the
    /// caller knows it from the flow's state after inspecting every request over so far. Until
    /// told otherwise, and for a response whose request is not over yet or was over after the
    /// caller said so, bodies are kept up to the limit; else a body that is not encoded keeps
    /// its first [`RESPONSE_BODY_PREFIX`] bytes (and is counted, and truncated past the limit,
    /// as if kept).
    pub fn set_response_bodies_inspected(&mut self, inspected: bool) {
        self.response_bodies_uninspected = !inspected;
        self.request_done_since = false;
    }

    /// A request was over since [`Self::set_response_bodies_inspected`] was called: the
    /// flowbits it judged from may have changed (nothing else changes the bits that matter
    /// to it: see [`crate::detect::body_use`]).
    pub fn request_over_since_told(&self) -> bool {
        self.request_done_since
    }

    /// Heap bytes held: bytes waiting for more data, and the transactions not handed out
    /// (for the memory budget).
    pub fn heap_bytes(&self) -> usize {
        debug_assert_eq!(
            self.txs_heap,
            self.txs.iter().map(|s| s.tx.heap_bytes()).sum::<usize>()
        );
        debug_assert!(self.txs.iter().all(|s| s.heap == s.tx.heap_bytes()));
        self.sides
            .iter()
            .map(|s| s.pending.capacity())
            .sum::<usize>()
            + self.txs.capacity() * std::mem::size_of::<Slot>()
            + self.txs_heap
    }

    /// The connection as [`ClosedHttp`] keeps it, when nothing is left in it: no transaction
    /// waiting, no byte gathered, no body that only the end of the connection ends. Then
    /// [`HttpConnection::finish`] has nothing left to hand out, and the closed form does what
    /// it would still do. `None` otherwise.
    pub fn closed_form(&self) -> Option<ClosedHttp> {
        let idle = self.txs.is_empty()
            && self
                .sides
                .iter()
                .all(|s| s.pending.is_empty() && !matches!(s.state, State::Body(_)));
        idle.then(|| ClosedHttp {
            client: self.client,
            count_not_http: !self.finished
                && self.client.is_none()
                && !self.not_http_counted
                && self.sides.iter().any(|s| s.not_http),
        })
    }

    /// Gives back the room of buffers that hold nothing (a closed connection's, whose bytes
    /// have all been read): they keep the capacity of the largest message they gathered,
    /// which, over the minute a closed flow is kept, is most of what such flows hold.
    pub fn release_idle_buffers(&mut self) {
        for s in &mut self.sides {
            if s.pending.is_empty() {
                s.pending = Vec::new();
            }
        }
        if self.txs.is_empty() {
            self.txs = VecDeque::new();
        }
    }

    /// Takes bytes sent by `side`, delivered by the packet `at`.
    pub fn on_data(
        &mut self,
        side: Side,
        bytes: &[u8],
        at: PacketRef,
        config: &HttpConfig,
        stats: &mut HttpStats,
    ) {
        if self.stopped || self.finished || bytes.is_empty() {
            return;
        }
        self.last_at = at;
        self.feed(side, Some(bytes), at, config, stats);
        // A side whose state was changed by the other side parses what it kept. Two rounds
        // cover every chain (client known → server parses → hold released → client parses).
        for _ in 0..2 {
            for s in [side.opposite(), side] {
                let sp = &mut self.sides[s.index()];
                if mem::take(&mut sp.kick) && !sp.pending.is_empty() && !self.stopped {
                    self.feed(s, None, at, config, stats);
                }
            }
        }
    }

    /// `len` bytes sent by `side` were lost.
    pub fn on_gap(&mut self, side: Side, len: u64, config: &HttpConfig, stats: &mut HttpStats) {
        if self.stopped || self.finished || len == 0 {
            return;
        }
        let i = side.index();
        let client = self.client == Some(side);
        let had_pending = !self.sides[i].pending.is_empty();
        let sp = &mut self.sides[i];
        sp.pending.clear();
        sp.restart_scan();
        sp.msg_at = None;
        match sp.state {
            State::Detect => {
                sp.state = State::Skip;
                self.check_not_http(stats);
            }
            State::Skip | State::Done => {}
            State::Head | State::Hold | State::Resync { .. } => {
                sp.state = State::Resync { line_start: true };
                if !client {
                    // The response that was starting is (at least partly) lost.
                    if let Some(id) = self.response_target() {
                        if let Some(mut guard) = self.slot_mut(id) {
                            let slot = &mut *guard;
                            slot.tx.flags.response_gap = true;
                        }
                    }
                }
            }
            State::Body(mut reader) => {
                let id = if client { self.req_tx } else { self.resp_tx };
                let skipped = if had_pending {
                    Err(super::body::BodyError)
                } else {
                    reader.skip(len)
                };
                if let Some(mut guard) = id.and_then(|id| self.slot_mut(id)) {
                    let slot = &mut *guard;
                    let (flag, body_len) = if client {
                        (
                            &mut slot.tx.flags.request_gap,
                            Some(&mut slot.tx.request.body_len),
                        )
                    } else {
                        (
                            &mut slot.tx.flags.response_gap,
                            slot.tx.response.as_mut().map(|r| &mut r.body_len),
                        )
                    };
                    *flag = true;
                    if let (Ok(_), Some(body_len)) = (skipped, body_len) {
                        *body_len = body_len.saturating_add(len);
                    }
                }
                let at = self.last_at;
                match skipped {
                    Ok(false) => self.sides[i].state = State::Body(reader),
                    Ok(true) => self.end_body(side, at, true, config, stats),
                    Err(_) => {
                        // Lost our place in the body: close the message as it is and look for
                        // the next one.
                        self.end_body(side, at, false, config, stats);
                        self.sides[i].state = State::Resync { line_start: true };
                    }
                }
            }
        }
    }

    /// `side` finished sending.
    pub fn on_close(
        &mut self,
        side: Side,
        at: PacketRef,
        config: &HttpConfig,
        stats: &mut HttpStats,
    ) {
        if self.stopped || self.finished {
            return;
        }
        self.last_at = at;
        let i = side.index();
        if self.client.is_some() && self.sides[i].state == State::Head {
            self.close_head(side, at, config, stats);
        }
        if let State::Body(reader) = self.sides[i].state {
            if reader.until_close() {
                self.end_body(side, at, true, config, stats);
            }
        }
        let sp = &mut self.sides[i];
        match sp.state {
            // Keep the classification: a side that said nothing is no evidence either way.
            State::Detect | State::Skip => sp.state = State::Skip,
            _ => sp.state = State::Done,
        }
        sp.pending.clear();
        if self.client.is_none() {
            self.check_not_http(stats);
        }
    }

    /// A side closed (or the capture ended) in the middle of a head: as libhtp does, the end
    /// ends the head, so the request or status line and headers that did arrive are inspected.
    fn close_head(
        &mut self,
        side: Side,
        at: PacketRef,
        config: &HttpConfig,
        stats: &mut HttpStats,
    ) {
        let sp = &mut self.sides[side.index()];
        let start = sp
            .pending
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        if start == sp.pending.len() || !sp.spoke_http && self.txs.is_empty() {
            return;
        }
        let mut head = mem::take(&mut sp.pending);
        if head.last() != Some(&b'\n') {
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"\r\n");
        if self.client == Some(side) {
            if let Head::Complete(request, _) = parser::parse_request(&head, config.max_headers) {
                self.on_request_head(side, request, at, config, stats);
            }
        } else if let Head::Complete(response, _) =
            parser::parse_response(&head, config.max_headers)
        {
            self.on_response_head(side, response, at, config, stats);
        }
    }

    /// The connection is over: completes what can be completed, and marks the rest incomplete.
    pub fn finish(&mut self, config: &HttpConfig, stats: &mut HttpStats) {
        if self.finished {
            return;
        }
        self.finished = true;
        if self.client.is_none() && !self.not_http_counted && self.sides.iter().any(|s| s.not_http)
        {
            self.not_http_counted = true;
            stats.not_http += 1;
        }
        if !self.stopped {
            // Heads cut off by the end of the capture.
            if let Some(client) = self.client {
                for side in [client, client.opposite()] {
                    if self.sides[side.index()].state == State::Head {
                        self.close_head(side, self.last_at, config, stats);
                    }
                }
            }
            // A response delimited by the close, without a close seen: end it here, marked.
            if let Some(server) = self.client.map(Side::opposite) {
                if let State::Body(reader) = self.sides[server.index()].state {
                    if reader.until_close() {
                        if let Some(mut guard) = self.resp_tx.and_then(|id| self.slot_mut(id)) {
                            let slot = &mut *guard;
                            slot.tx.flags.incomplete = true;
                        }
                        self.end_body(server, self.last_at, true, config, stats);
                    }
                }
            }
        }
        self.close_all(config, stats);
    }

    /// Some transaction is in flight: begun and not yet taken by
    /// [`HttpConnection::take_completed`].
    pub fn has_transactions(&self) -> bool {
        !self.txs.is_empty()
    }

    /// Moves completed transactions, in `tx_id` order, into `out`.
    pub fn take_completed(&mut self, out: &mut Vec<HttpTransaction>, stats: &mut HttpStats) {
        while self.txs.front().is_some_and(Slot::is_complete) {
            if let Some(slot) = self.txs.pop_front() {
                self.txs_heap = self.txs_heap.saturating_sub(slot.heap);
                stats.transactions += 1;
                out.push(slot.tx);
            }
        }
    }

    /// The transactions from `tx_id` `from` on whose request (head and body) is over, in
    /// order, up to the first whose request is still coming; transactions closed early are
    /// skipped (they come out of [`HttpConnection::take_completed`] only). A sensor inspects
    /// a request as soon as it is over, without waiting for the response.
    pub fn requests_done_from(&mut self, from: u64) -> impl Iterator<Item = &mut HttpTransaction> {
        // Slots hold consecutive ids (pushed at the back in id order, taken from the front):
        // `from` is found by its index, not by walking past every older slot, which cost a
        // walk over all the transactions in flight per packet (400 pipelined requests).
        let first = self.txs.front().map_or(from, |slot| slot.tx.tx_id);
        let skip = usize::try_from(from.saturating_sub(first))
            .map_or(self.txs.len(), |skip| skip.min(self.txs.len()));
        debug_assert!(self.txs.iter().take(skip).all(|slot| slot.tx.tx_id < from));
        debug_assert!(self.txs.get(skip).is_none_or(|slot| slot.tx.tx_id >= from));
        self.txs
            .range_mut(skip..)
            .take_while(|slot| slot.req_done || slot.finalized)
            .filter(|slot| !slot.finalized)
            .map(|slot| &mut slot.tx)
    }

    /// Which side is the client, once known.
    pub fn client(&self) -> Option<Side> {
        self.client
    }

    /// False once the connection has been dropped from HTTP parsing (not HTTP, garbage, or a
    /// tunnel after `101` / `CONNECT`). Completed transactions must still be taken.
    pub fn is_active(&self) -> bool {
        !self.stopped
    }

    /// Runs `side`'s parser over its kept bytes followed by `bytes`, and keeps what it could
    /// not consume yet.
    fn feed(
        &mut self,
        side: Side,
        bytes: Option<&[u8]>,
        at: PacketRef,
        config: &HttpConfig,
        stats: &mut HttpStats,
    ) {
        let i = side.index();
        let mut pending = mem::take(&mut self.sides[i].pending);
        match bytes {
            Some(bytes) if pending.is_empty() => {
                let used = self.process(side, bytes, at, config, stats);
                pending.extend_from_slice(&bytes[used..]);
            }
            _ => {
                if let Some(bytes) = bytes {
                    pending.extend_from_slice(bytes);
                }
                let used = self.process(side, &pending, at, config, stats);
                pending.drain(..used);
            }
        }
        let sp = &mut self.sides[i];
        match sp.state {
            State::Skip | State::Done => pending.clear(),
            _ if self.stopped => pending.clear(),
            State::Detect | State::Head | State::Hold | State::Resync { .. }
                if !pending.is_empty() =>
            {
                sp.msg_at.get_or_insert(at);
            }
            _ => {}
        }
        sp.pending = pending;
    }

    /// Parses as much of `data` as possible for `side`; returns how many bytes were consumed.
    /// Bytes not consumed need more data and are kept by the caller.
    fn process(
        &mut self,
        side: Side,
        data: &[u8],
        at: PacketRef,
        config: &HttpConfig,
        stats: &mut HttpStats,
    ) -> usize {
        let i = side.index();
        let mut pos = 0;
        while pos < data.len() {
            if self.stopped {
                return data.len();
            }
            let rest = &data[pos..];
            match self.sides[i].state {
                State::Skip | State::Done => return data.len(),
                State::Detect => match parser::classify(rest) {
                    Class::NeedMore if rest.len() <= config.max_header_bytes => return pos,
                    Class::Request => {
                        self.sides[i].spoke_http = true;
                        self.set_client(side, stats);
                    }
                    Class::Response => {
                        self.sides[i].spoke_http = true;
                        self.set_client(side.opposite(), stats);
                    }
                    Class::NeedMore | Class::NotHttp => {
                        let sp = &mut self.sides[i];
                        sp.not_http = true;
                        sp.state = State::Skip;
                        self.check_not_http(stats);
                        return data.len();
                    }
                },
                State::Head => {
                    let blank = rest
                        .iter()
                        .take_while(|b| matches!(b, b'\r' | b'\n'))
                        .count();
                    if blank > 0 {
                        // Empty lines between messages are ignored.
                        pos += blank;
                        self.sides[i].restart_scan();
                        continue;
                    }
                    match self.parse_head(side, rest, at, config, stats) {
                        HeadStep::Parsed(used) => pos += used,
                        HeadStep::NeedMore => return pos,
                        HeadStep::Resync => {}
                        HeadStep::Stopped => return data.len(),
                    }
                }
                State::Body(mut reader) => {
                    let (used, step) = self.read_body(side, &mut reader, rest, at, config);
                    pos += used;
                    match step {
                        Ok(BodyStep::Done) => self.end_body(side, at, true, config, stats),
                        Ok(BodyStep::More) => {
                            self.sides[i].state = State::Body(reader);
                            if used < rest.len() {
                                return pos;
                            }
                        }
                        Err(_) => {
                            self.garbage(config, stats);
                            return data.len();
                        }
                    }
                }
                State::Hold => {
                    if rest.len() > config.max_header_bytes {
                        self.garbage(config, stats);
                        return data.len();
                    }
                    return pos;
                }
                State::Resync { line_start } => {
                    let request = self.client == Some(side);
                    match parser::find_message_start(
                        rest,
                        line_start,
                        request,
                        config.max_header_bytes,
                    ) {
                        Scan::Found(offset) => {
                            stats.resyncs += 1;
                            pos += offset;
                            let sp = &mut self.sides[i];
                            sp.state = State::Head;
                            sp.restart_scan();
                            // Kept bytes hold one candidate line from its first byte on, so a
                            // start past offset 0 lies in the bytes of this packet.
                            if offset > 0 {
                                sp.msg_at = None;
                            }
                        }
                        Scan::Maybe(offset) => {
                            self.sides[i].state = State::Resync { line_start: true };
                            if offset > 0 {
                                self.sides[i].msg_at = None;
                            }
                            return pos + offset;
                        }
                        Scan::NotFound => {
                            self.sides[i].state = State::Resync {
                                line_start: rest.last() == Some(&b'\n'),
                            };
                            self.sides[i].msg_at = None;
                            return data.len();
                        }
                    }
                }
            }
        }
        pos
    }

    /// Parses the head at the start of `rest`.
    ///
    /// Only whole lines are parsed (up to the last line feed): the outcome depends on the
    /// complete lines seen, never on how the bytes were split into packets, and a side fed
    /// byte by byte is re-parsed once per line rather than once per byte.
    fn parse_head(
        &mut self,
        side: Side,
        rest: &[u8],
        at: PacketRef,
        config: &HttpConfig,
        stats: &mut HttpStats,
    ) -> HeadStep {
        let i = side.index();
        if self.client != Some(side)
            && self.sides[i].spoke_http
            && response_head::looks_like_status_line(rest) == Some(false)
        {
            self.on_headless_response(side, at, stats);
            return HeadStep::Parsed(0);
        }
        let limit = config.max_header_bytes;
        let checked = self.sides[i].checked.min(rest.len());
        // The last line feed, if any came after the bytes already checked.
        let request = self.client == Some(side);
        let lines = match memchr::memrchr(b'\n', &rest[checked..]) {
            Some(last) => &rest[..=checked + last],
            None => {
                // No line feed since: in a request, no line end either.
                let none = request.then_some(0);
                return self.head_needs_more(side, rest, false, none, config, stats);
            }
        };
        // A head sent a line per segment would be parsed again from its start at every line:
        // lines that cannot change the outcome (see `head_still_partial`) wait unparsed, and
        // so do those after a new request line (see `request_line_decides`).
        let sp = &mut self.sides[i];
        let line_start = sp.checked_line_start;
        // In a request the lines counted are its line feeds: none means the first line is new.
        let first_line_new = request && sp.checked_lines == 0;
        // What the head needs next is checked from `rest`'s end: for a request, the lines
        // start after the last line feed of `lines` then (responses keep no start).
        sp.checked_line_start = request.then_some(lines.len());
        if let Some(new_lines) = head_still_partial(
            lines,
            checked,
            (sp.checked_lines, line_start),
            request,
            config,
        ) {
            if request {
                // Every line feed after `checked` is in `lines`, and was counted.
                return self.head_needs_more(side, rest, false, Some(new_lines), config, stats);
            }
            let reparse_last = rest.last() == Some(&b'\n');
            return self.head_needs_more(side, rest, reparse_last, None, config, stats);
        }
        if request {
            if first_line_new {
                if let Some(step) = self.parse_request_line_alone(side, rest, lines, config, stats)
                {
                    return step;
                }
            }
            match parser::parse_request(lines, config.max_headers) {
                Head::Complete(request, used) if used <= limit => {
                    self.on_request_head(side, request, at, config, stats);
                    HeadStep::Parsed(used)
                }
                Head::Partial => self.head_needs_more(side, rest, false, None, config, stats),
                _ => self.bad_head(side, config, stats),
            }
        } else {
            // libhtp's rules may look at the byte after a line (is a whitespace-only line the
            // end of the head?): give the parser that one byte too.
            let lines = &rest[..(lines.len() + 1).min(rest.len())];
            match parser::parse_response(lines, config.max_headers) {
                Head::Complete(response, used) if used <= limit => {
                    self.on_response_head(side, response, at, config, stats);
                    HeadStep::Parsed(used)
                }
                Head::Partial => {
                    let reparse_last = rest.last() == Some(&b'\n');
                    self.head_needs_more(side, rest, reparse_last, None, config, stats)
                }
                _ => self.bad_head(side, config, stats),
            }
        }
    }

    /// A request head whose first line has just come complete, in `lines` (its complete
    /// lines, from the start of `rest`): when the lines after the request line cannot change
    /// the outcome (see [`request_line_decides`]), the request line is parsed alone, and the
    /// header lines wait unparsed like those of later segments. `None` when the whole head
    /// must be parsed.
    fn parse_request_line_alone(
        &mut self,
        side: Side,
        rest: &[u8],
        lines: &[u8],
        config: &HttpConfig,
        stats: &mut HttpStats,
    ) -> Option<HeadStep> {
        let (line_len, line_ends) = request_line_decides(lines, config)?;
        match parser::parse_request(&lines[..line_len], config.max_headers) {
            // No line feed came before `lines`: `line_ends` counts every one after `checked`.
            Head::Partial => {
                Some(self.head_needs_more(side, rest, false, Some(line_ends), config, stats))
            }
            Head::Invalid => Some(self.bad_head(side, config, stats)),
            // A request line alone never ends a head; if it did, the whole head is parsed.
            Head::Complete(..) => None,
        }
    }

    /// The head is not complete in `rest`: wait, unless that is already more than a head
    /// may take. `new_line_ends`, when the caller counted them, is [`line_ends`] of the bytes
    /// after those checked before (to the end of `rest`; only without `reparse_last`).
    fn head_needs_more(
        &mut self,
        side: Side,
        rest: &[u8],
        reparse_last: bool,
        new_line_ends: Option<usize>,
        config: &HttpConfig,
        stats: &mut HttpStats,
    ) -> HeadStep {
        let len = rest.len();
        if len > config.max_header_bytes {
            return self.bad_head(side, config, stats);
        }
        // Kept bytes that end in a line feed are parsed again when the next byte comes: for a
        // response, that byte may be what decides where the head ends.
        let request = self.client == Some(side);
        let sp = &mut self.sides[side.index()];
        let checked = if reparse_last {
            len.saturating_sub(1)
        } else {
            len
        };
        let old = sp.checked.min(len);
        debug_assert!(
            new_line_ends.is_none()
                || (!reparse_last && new_line_ends == Some(line_ends(&rest[old..], request)))
        );
        sp.checked_lines = if checked >= old {
            sp.checked_lines
                + new_line_ends.unwrap_or_else(|| line_ends(&rest[old..checked], request))
        } else {
            sp.checked_lines
                .saturating_sub(line_ends(&rest[checked..old], request))
        };
        sp.checked = checked;
        HeadStep::NeedMore
    }

    /// A head that does not parse. On a side not yet seen speaking HTTP (its role was inferred
    /// from the other side, and we probably joined it mid-message) look for the next message
    /// start; otherwise the stream is garbage.
    fn bad_head(&mut self, side: Side, config: &HttpConfig, stats: &mut HttpStats) -> HeadStep {
        let sp = &mut self.sides[side.index()];
        if sp.spoke_http {
            self.garbage(config, stats);
            HeadStep::Stopped
        } else {
            sp.state = State::Resync { line_start: false };
            sp.restart_scan();
            sp.msg_at = None;
            HeadStep::Resync
        }
    }

    fn on_request_head(
        &mut self,
        side: Side,
        request: HttpRequest,
        at: PacketRef,
        config: &HttpConfig,
        stats: &mut HttpStats,
    ) {
        stats.requests += 1;
        self.make_room(config, stats);
        let sp = &mut self.sides[side.index()];
        sp.spoke_http = true;
        sp.restart_scan();
        let request_at = sp.msg_at.take().unwrap_or(at);
        let id = self.next_tx_id;
        self.next_tx_id += 1;
        let framing = Framing::of_request(&request.headers);
        let mut request = request;
        if framing == Framing::Chunked && request.headers.get("Content-Length").is_some() {
            request.events.insert(HttpEvent::RequestTeAndCl);
        }
        let hold = request.method() == b"CONNECT" || request.headers.get("Upgrade").is_some();
        self.push_slot(Slot {
            tx: HttpTransaction {
                tx_id: id,
                client: self.client,
                request,
                response: None,
                request_at,
                completed_at: at,
                flags: Default::default(),
            },
            heap: 0,
            req_done: false,
            resp_done: false,
            finalized: false,
            response_prefix: false,
        });
        if hold {
            self.hold_tx = Some(id);
        }
        match framing.reader() {
            Some(reader) => {
                self.req_tx = Some(id);
                self.sides[side.index()].state = State::Body(reader);
            }
            None => {
                self.req_tx = Some(id);
                self.end_body(side, at, true, config, stats);
            }
        }
    }

    fn on_response_head(
        &mut self,
        side: Side,
        response: HttpResponse,
        at: PacketRef,
        config: &HttpConfig,
        stats: &mut HttpStats,
    ) {
        let sp = &mut self.sides[side.index()];
        sp.spoke_http = true;
        sp.restart_scan();
        let msg_at = sp.msg_at.take();
        let status = response.status;
        let target = self.response_target();
        if (100..200).contains(&status) && status != 101 {
            // Interim (100 Continue, 102, 103): the final response follows.
            if let Some(mut guard) = target.and_then(|id| self.slot_mut(id)) {
                let slot = &mut *guard;
                slot.tx.completed_at = at;
            }
            return;
        }
        stats.responses += 1;
        let id = match target {
            Some(id) => id,
            None => self.orphan(msg_at.unwrap_or(at)),
        };
        // The flowbits the caller judged from must be those the answer is inspected with: no
        // request over since, nor any after this answer's (pipelined requests inspected before
        // it is over leave it the bits they found).
        let bodies_uninspected = self.response_bodies_uninspected
            && !self.request_done_since
            && !self
                .txs
                .iter()
                .rev()
                .take_while(|s| s.tx.tx_id > id)
                .any(|s| s.req_done);
        let Some(mut guard) = self.slot_mut(id) else {
            return;
        };
        let (tunnel, framing) = {
            let slot = &mut *guard;
            let method = slot.tx.request.method();
            // A 101 that names a length is not a switch (libhtp reads on, as HTTP).
            let switch = status == 101 && !Framing::response_declares_length(&response.headers);
            let tunnel = switch || (method == b"CONNECT" && (200..300).contains(&status));
            // 1xx, 204 and 304 have no body even when they name a length (a 304 may carry the
            // Content-Length of the representation). libhtp reads one there, as some browsers
            // do; here bytes that follow and are not a status line become a headless response
            // instead (see `on_headless_response`), so they are inspected without losing the
            // framing of a keep-alive connection whose 304s carry a length.
            let no_body = matches!(status, 101 | 204 | 304);
            let framing = if tunnel || method == b"HEAD" || no_body {
                Framing::None
            } else {
                Framing::of_response(&response.headers)
            };
            // Which rules may inspect the body is known from the flowbits of every request
            // over and inspected; an encoded body is kept to be decoded (whether it decodes,
            // and to how much, shows in the records).
            slot.response_prefix = bodies_uninspected
                && slot.req_done
                && response
                    .headers
                    .values_nocase_nozero(b"Content-Encoding")
                    .next()
                    .is_none();
            slot.tx.response = Some(response);
            slot.tx.completed_at = at;
            (tunnel, framing)
        };
        drop(guard);
        if self.hold_tx == Some(id) {
            self.hold_tx = None;
            let client = &mut self.sides[side.opposite().index()];
            if client.state == State::Hold && !tunnel {
                client.state = State::Head;
                client.kick = true;
            }
        }
        self.resp_tx = Some(id);
        match framing.reader() {
            Some(reader) => self.sides[side.index()].state = State::Body(reader),
            None => self.end_body(side, at, true, config, stats),
        }
        if tunnel {
            // What follows is another protocol: stop here.
            self.stopped = true;
            self.close_all(config, stats);
        }
    }

    /// A server that spoke HTTP sends a line that is not a status line: as libhtp and browsers
    /// do, the bytes from here to the end of the connection are the body of a response without
    /// a head (paired with the next request waiting, or one not captured).
    fn on_headless_response(&mut self, side: Side, at: PacketRef, stats: &mut HttpStats) {
        let sp = &mut self.sides[side.index()];
        sp.restart_scan();
        let msg_at = sp.msg_at.take();
        stats.responses += 1;
        let id = match self.response_target() {
            Some(id) => id,
            None => self.orphan(msg_at.unwrap_or(at)),
        };
        if let Some(mut guard) = self.slot_mut(id) {
            let slot = &mut *guard;
            slot.tx.response = Some(HttpResponse::default());
            slot.tx.completed_at = at;
        }
        self.resp_tx = Some(id);
        self.sides[side.index()].state = State::Body(BodyReader::UntilClose);
    }

    /// A response with no request waiting (its request was not captured): a transaction with
    /// an empty request.
    fn orphan(&mut self, at: PacketRef) -> u64 {
        let id = self.next_tx_id;
        self.next_tx_id += 1;
        self.push_slot(Slot {
            tx: HttpTransaction {
                tx_id: id,
                client: self.client,
                request_at: at,
                completed_at: at,
                ..HttpTransaction::default()
            },
            heap: 0,
            req_done: true,
            resp_done: false,
            finalized: false,
            response_prefix: false,
        });
        self.next_resp_id = id;
        id
    }

    /// Reads body bytes of the message `side` is in into its transaction.
    fn read_body(
        &mut self,
        side: Side,
        reader: &mut BodyReader,
        data: &[u8],
        at: PacketRef,
        config: &HttpConfig,
    ) -> (usize, Result<BodyStep, super::body::BodyError>) {
        let client = self.client == Some(side);
        let limits = BodyLimits {
            max_line: config.max_header_bytes,
            max_trailers: config.max_headers,
            lenient: !client,
        };
        let id = if client { self.req_tx } else { self.resp_tx };
        let slot = id.and_then(|id| self.slot_mut(id));
        if let Some(mut slot) = slot {
            slot.tx.completed_at = at;
            let response_prefix = slot.response_prefix;
            let tx = &mut slot.tx;
            if client {
                let r = &mut tx.request;
                let mut sink = BodySink {
                    body: &mut r.body,
                    len: &mut r.body_len,
                    truncated: &mut tx.flags.request_body_truncated,
                    limit: config.request_body_limit,
                    keep: config.request_body_limit,
                    chunk_extension: false,
                };
                let fed = reader.feed(data, &mut sink, &mut r.trailers, limits);
                if sink.chunk_extension {
                    r.events.insert(HttpEvent::RequestChunkExtension);
                }
                return fed;
            }
            if let Some(r) = tx.response.as_mut() {
                let limit = config.response_body_limit;
                let mut sink = BodySink {
                    body: &mut r.body,
                    len: &mut r.body_len,
                    truncated: &mut tx.flags.response_body_truncated,
                    limit,
                    keep: if response_prefix {
                        RESPONSE_BODY_PREFIX
                    } else {
                        limit
                    },
                    chunk_extension: false,
                };
                return reader.feed(data, &mut sink, &mut r.trailers, limits);
            }
        }
        // The transaction is gone (closed early): frame the body, keep nothing.
        let (mut body, mut len, mut truncated, mut trailers) =
            (Vec::new(), 0, false, Headers::default());
        let mut sink = BodySink {
            body: &mut body,
            len: &mut len,
            truncated: &mut truncated,
            limit: 0,
            keep: 0,
            chunk_extension: false,
        };
        reader.feed(data, &mut sink, &mut trailers, limits)
    }

    /// The message `side` was reading is over (`whole`: every byte of it was seen, or it ended
    /// where its framing says). Decodes its body and moves the side to the next head.
    fn end_body(
        &mut self,
        side: Side,
        at: PacketRef,
        whole: bool,
        config: &HttpConfig,
        stats: &mut HttpStats,
    ) {
        let client = self.client == Some(side);
        let layers = Decoding {
            max_layers: config.decompress_layers,
            lzma: config.decompress_lzma,
        };
        if client {
            let id = self.req_tx.take();
            let hold = id.is_some() && self.hold_tx == id;
            if let Some(mut guard) = id.and_then(|id| self.slot_mut(id)) {
                let slot = &mut *guard;
                if !slot.finalized {
                    let tx = &mut slot.tx;
                    let whole = whole && !tx.flags.request_gap;
                    let r = &mut tx.request;
                    let limit = config.request_body_limit;
                    finish_body(
                        &mut r.body,
                        &r.headers,
                        &mut tx.flags.request_body_truncated,
                        whole,
                        limit,
                        layers,
                        false,
                        stats,
                    );
                    tx.completed_at = at;
                    slot.req_done = true;
                }
            }
            self.request_done_since = true;
            self.sides[side.index()].state = if hold { State::Hold } else { State::Head };
        } else {
            let id = self.resp_tx.take();
            if let Some(mut guard) = id.and_then(|id| self.slot_mut(id)) {
                let slot = &mut *guard;
                if !slot.finalized {
                    let tx = &mut slot.tx;
                    let whole = whole && !tx.flags.response_gap;
                    if let Some(r) = tx.response.as_mut() {
                        let limit = config.response_body_limit;
                        finish_body(
                            &mut r.body,
                            &r.headers,
                            &mut tx.flags.response_body_truncated,
                            whole,
                            limit,
                            layers,
                            true,
                            stats,
                        );
                    }
                    tx.completed_at = at;
                    slot.resp_done = true;
                }
            }
            if let Some(id) = id {
                self.next_resp_id = self.next_resp_id.max(id + 1);
            }
            self.sides[side.index()].state = State::Head;
        }
    }

    /// The client is `client`: both sides start parsing in their role.
    fn set_client(&mut self, client: Side, stats: &mut HttpStats) {
        self.client = Some(client);
        stats.connections += 1;
        for sp in &mut self.sides {
            match sp.state {
                State::Detect => {
                    sp.state = State::Head;
                    sp.kick = true;
                }
                // Its bytes so far were dropped; look for its next message start.
                State::Skip => sp.state = State::Resync { line_start: true },
                _ => {}
            }
        }
    }

    /// Neither side can be HTTP any more: stop.
    fn check_not_http(&mut self, stats: &mut HttpStats) {
        if self.client.is_none() && self.sides.iter().all(|s| s.state == State::Skip) {
            self.stopped = true;
            for sp in &mut self.sides {
                sp.pending.clear();
            }
            if !self.not_http_counted && self.sides.iter().any(|s| s.not_http) {
                self.not_http_counted = true;
                stats.not_http += 1;
            }
        }
    }

    /// The stream stopped making sense after it was recognised as HTTP: count it, close what
    /// is open and stop parsing.
    fn garbage(&mut self, config: &HttpConfig, stats: &mut HttpStats) {
        stats.garbage += 1;
        self.stopped = true;
        self.close_all(config, stats);
    }

    /// Closes every open transaction as incomplete (with what it has) and stops both sides.
    fn close_all(&mut self, config: &HttpConfig, stats: &mut HttpStats) {
        let ids: Vec<u64> = self
            .txs
            .iter()
            .filter(|s| !s.is_complete())
            .map(|s| s.tx.tx_id)
            .collect();
        for id in ids {
            self.close_early(id, config, stats);
        }
        self.req_tx = None;
        self.resp_tx = None;
        self.hold_tx = None;
        for sp in &mut self.sides {
            if sp.state != State::Skip {
                sp.state = State::Done;
            }
            sp.pending.clear();
        }
    }

    /// Closes one transaction before its end: decodes what its bodies have, marks it
    /// incomplete.
    fn close_early(&mut self, id: u64, config: &HttpConfig, stats: &mut HttpStats) {
        let layers = Decoding {
            max_layers: config.decompress_layers,
            lzma: config.decompress_lzma,
        };
        let Some(mut guard) = self.slot_mut(id) else {
            return;
        };
        let slot = &mut *guard;
        if slot.is_complete() {
            return;
        }
        let tx = &mut slot.tx;
        if !slot.req_done {
            let r = &mut tx.request;
            let limit = config.request_body_limit;
            finish_body(
                &mut r.body,
                &r.headers,
                &mut tx.flags.request_body_truncated,
                false,
                limit,
                layers,
                false,
                stats,
            );
        }
        if !slot.resp_done {
            if let Some(r) = tx.response.as_mut() {
                let limit = config.response_body_limit;
                finish_body(
                    &mut r.body,
                    &r.headers,
                    &mut tx.flags.response_body_truncated,
                    false,
                    limit,
                    layers,
                    true,
                    stats,
                );
            }
        }
        tx.flags.incomplete = true;
        slot.finalized = true;
    }

    /// Keeps the requests waiting for a response under `max_pending`, and their bodies under
    /// `max_pending_bytes`: the oldest one whose response has not started is given up on
    /// (completed without a response) until both hold.
    fn make_room(&mut self, config: &HttpConfig, stats: &mut HttpStats) {
        loop {
            let waiting = self.txs.iter().filter(|s| !s.is_complete() && !s.resp_done);
            let (count, bytes) = waiting.fold((0usize, 0usize), |(n, b), s| {
                (n + 1, b.saturating_add(s.tx.request.body.len()))
            });
            if count < config.max_pending && bytes <= config.max_pending_bytes {
                return;
            }
            let victim = self
                .txs
                .iter()
                .find(|s| !s.is_complete() && !s.resp_done && self.resp_tx != Some(s.tx.tx_id))
                .map(|s| s.tx.tx_id);
            let Some(id) = victim else {
                return;
            };
            stats.pending_overflows += 1;
            if self.req_tx == Some(id) {
                self.req_tx = None;
            }
            self.close_early(id, config, stats);
        }
    }

    /// The transaction the next final response belongs to: the oldest one still waiting.
    fn response_target(&mut self) -> Option<u64> {
        while self.next_resp_id < self.next_tx_id {
            match self.slot(self.next_resp_id) {
                Some(slot) if !slot.finalized && !slot.resp_done => return Some(self.next_resp_id),
                _ => self.next_resp_id += 1,
            }
        }
        None
    }

    fn slot(&self, id: u64) -> Option<&Slot> {
        let first = self.txs.front()?.tx.tx_id;
        self.txs.get(usize::try_from(id.checked_sub(first)?).ok()?)
    }

    fn slot_mut(&mut self, id: u64) -> Option<SlotMut<'_>> {
        let first = self.txs.front()?.tx.tx_id;
        let index = usize::try_from(id.checked_sub(first)?).ok()?;
        let slot = self.txs.get_mut(index)?;
        Some(SlotMut {
            slot,
            total: &mut self.txs_heap,
        })
    }

    /// Adds a transaction at the end.
    fn push_slot(&mut self, mut slot: Slot) {
        slot.heap = slot.tx.heap_bytes();
        self.txs_heap += slot.heap;
        self.txs.push_back(slot);
    }
}

/// Would parsing the head whose complete lines are `lines` now certainly say "more bytes
/// needed", as it said for the first `checked` bytes (ending `checked_lines` lines, counted
/// by [`line_ends`])? Only then may the parse be skipped: the head cannot have ended (no
/// line that may be blank has come), its first line was already parsed, there are too few
/// lines to pass `max_headers`, no line ends at a lone CR (responses split lines there),
/// and, in a request, every new line is a header line httparse takes as it is (a token name,
/// a colon, a value of visible bytes, spaces, tabs or obs-text) — anything else (a refused
/// line, a folded line) is parsed at once, as before, so the outcome never depends on where
/// the sender cut its bytes. Returns the line ends of the new lines (as [`plain_lines`]
/// counts them) when the parse may be skipped.
fn head_still_partial(
    lines: &[u8],
    checked: usize,
    (checked_lines, line_start): (usize, Option<usize>),
    request: bool,
    config: &HttpConfig,
) -> Option<usize> {
    let seen = lines.get(..checked)?;
    if checked == 0 {
        return None;
    }
    // Is the first line new? In a request the lines counted in `seen` are its line feeds.
    let first_line_seen = if request {
        debug_assert_eq!(checked_lines > 0, memchr::memchr(b'\n', seen).is_some());
        checked_lines > 0
    } else {
        memchr::memchr(b'\n', seen).is_some()
    };
    if !first_line_seen {
        return None;
    }
    // The new complete lines: from the start of the first line that ends past `checked`.
    let from = match line_start {
        Some(start) if start <= checked => start,
        _ if seen.last() == Some(&b'\n') => checked,
        _ => memchr::memrchr(b'\n', seen).map_or(0, |p| p + 1),
    };
    debug_assert_eq!(from, memchr::memrchr(b'\n', seen).map_or(0, |p| p + 1));
    let new_lines = plain_lines(&lines[from..], request)?;
    // At least the line ends after `checked` (in a request, exactly those).
    if checked_lines + new_lines >= config.max_headers {
        return None;
    }
    Some(new_lines)
}

/// Does the request line alone decide what parsing the request head whose complete lines are
/// `lines` says, the first line being new? Yes when every line after it is a plain header line
/// ([`plain_request_lines`]) and the lines are too few to pass `max_headers` (the rule
/// [`head_still_partial`] applies to later lines). Returns the length of the request line
/// (with its line feed) and the line ends of `lines`.
///
/// Why the outcome is the same: `process` strips leading empty lines, so `lines` starts with
/// the request line. httparse (multiple spaces allowed, invalid header lines ignored) reads
/// the request line first and decides on it from its own bytes alone: an error there is the
/// same error with or without the lines after it. When it accepts the line, it reads the
/// header lines: plain ones are taken as they are, none is blank (the head goes on), and there
/// are fewer than `max_headers` of them (no `TooManyHeaders`), so the answer is "partial",
/// which is also what it says of the request line alone (no header block yet). When it
/// refuses the line, the lenient fallback checks the same first line, then runs httparse on a
/// stand-in line followed by the header lines: "partial" again, as for no header lines. So
/// the request line alone gives `Partial` exactly when all of `lines` does, and `Invalid`
/// otherwise (never `Complete`: no blank line). Checked against the whole parse by
/// `request_line_alone_says_what_the_whole_head_says`.
///
/// A head that came whole has a blank line, which no header line walk would pass: it is
/// looked for first so that such heads go straight to the whole parse, at the end of `lines`
/// (a head that ends its packet, or the last of pipelined ones) and then anywhere (a CRLF
/// one, by a vector search).
fn request_line_decides(lines: &[u8], config: &HttpConfig) -> Option<(usize, usize)> {
    static BLANK_LINE: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(b"\r\n\r\n"));
    if lines.ends_with(b"\n\r\n") || lines.ends_with(b"\n\n") || BLANK_LINE.find(lines).is_some() {
        return None;
    }
    let line_len = memchr::memchr(b'\n', lines)? + 1;
    let line_ends = 1 + plain_request_lines(&lines[line_len..])?;
    (line_ends < config.max_headers).then_some((line_len, line_ends))
}

/// At least the number of lines that end in `bytes`: line feeds, and in a response carriage
/// returns too (a lone CR ends a response line; a CRLF is counted twice, which only makes the
/// count err on the safe side).
fn line_ends(bytes: &[u8], request: bool) -> usize {
    let lf = memchr::memchr_iter(b'\n', bytes).count();
    if request {
        lf
    } else {
        lf + memchr::memchr_iter(b'\r', bytes).count()
    }
}

/// Complete head lines (each with its line feed) none of which ends a head or, in a request,
/// is anything but a header line httparse accepts unchanged: a token name, a colon, and a
/// value of visible bytes, spaces, tabs or obs-text. `None` when a line is not such a line
/// (or bytes after the last line feed are left), else the line ends as [`line_ends`] counts
/// them. One pass over the bytes, a table lookup per byte: a head sent a line per segment
/// runs through here once per segment.
fn plain_lines(lines: &[u8], request: bool) -> Option<usize> {
    if request {
        return plain_request_lines(lines);
    }
    let mut count = 0;
    let mut rest = lines;
    while let Some(lf) = memchr::memchr(b'\n', rest) {
        let line = &rest[..lf];
        rest = &rest[lf + 1..];
        let body = line.strip_suffix(b"\r").unwrap_or(line);
        // Responses: only an empty or one-blank line ends the head (see response_head).
        let plain = !body.is_empty()
            && memchr::memchr(b'\r', body).is_none()
            && !(body.len() == 1 && matches!(body[0], b' ' | b'\t'));
        if !plain {
            return None;
        }
        count += 1 + usize::from(body.len() < line.len());
    }
    rest.is_empty().then_some(count)
}

/// [`plain_lines`] of a request: `token+ ":" value* "\r"? "\n"`, line after line. The bytes
/// run through a small automaton ([`PLAIN_LINE_STEP`]), one table lookup per byte and no
/// branch but a check for a refused line every eight bytes (a refused line stays refused):
/// a head sent in pieces has every header byte walked here once. Each plain line holds one
/// line feed, so the lines are counted by a vector count of line feeds.
///
/// Each lookup needs the state the one before gave, so one walk waits on the memory for every
/// byte (1.2 ns a byte; synth traffic, whose heads with their cookies come in pieces, spent
/// 2.6% of a replay here). Longer inputs are therefore cut into [`PLAIN_LINE_LANES`] parts
/// walked side by side, each from the state the walk must be in where it starts unless it
/// refused before ([`plain_line_state_at`], read off the bytes just before). If no part
/// refuses, the first walked as the one walk would, so it ended in the state the bytes say,
/// which the second started from, and so on: the parts are the one walk. If one refuses, so
/// would the one walk, there or before. Same instructions, a third of the time.
fn plain_request_lines(lines: &[u8]) -> Option<usize> {
    if lines.len() < SHORT_LINES {
        // A line or two (a head sent a line per segment): the line feeds are counted on the
        // way, cheaper than a vector count's set-up, eight bytes a round (30 instructions less
        // a call than a byte a round).
        let mut state = LINE_START;
        let mut feeds = 0;
        let mut eights = lines.chunks_exact(8);
        for eight in &mut eights {
            for &byte in eight {
                state = plain_line_step(state, byte);
                feeds += usize::from(byte == b'\n');
            }
        }
        for &byte in eights.remainder() {
            state = plain_line_step(state, byte);
            feeds += usize::from(byte == b'\n');
        }
        return (state == LINE_START).then_some(feeds);
    }
    let part = lines.len() / PLAIN_LINE_LANES / 8 * 8;
    let end = if part < PLAIN_LINE_LANES_FROM {
        plain_line_walk(LINE_START, lines)
    } else {
        let starts: [u8; PLAIN_LINE_LANES] =
            std::array::from_fn(|k| plain_line_state_at(lines, k * part));
        let lane = |k: usize| lines[k * part..(k + 1) * part].chunks_exact(8);
        let [mut s0, mut s1, mut s2, mut s3] = starts;
        for (((c0, c1), c2), c3) in lane(0).zip(lane(1)).zip(lane(2)).zip(lane(3)) {
            for j in 0..8 {
                s0 = plain_line_step(s0, c0[j]);
                s1 = plain_line_step(s1, c1[j]);
                s2 = plain_line_step(s2, c2[j]);
                s3 = plain_line_step(s3, c3[j]);
            }
            if [s0, s1, s2, s3].contains(&REFUSED) {
                return None;
            }
        }
        // A walk that has not refused is in the state its bytes say: each part ended in the
        // state the next one started from.
        debug_assert_eq!([s0, s1, s2], starts[1..]);
        plain_line_walk(s3, &lines[PLAIN_LINE_LANES * part..])
    };
    (end == LINE_START).then(|| memchr::memchr_iter(b'\n', lines).count())
}

/// Inputs shorter than this are walked byte by byte, their line feeds counted on the way.
const SHORT_LINES: usize = 32;

/// Parts walked side by side by [`plain_request_lines`] (its loop names each).
const PLAIN_LINE_LANES: usize = 4;
/// …when each part would be at least this long (shorter inputs are walked in one go).
const PLAIN_LINE_LANES_FROM: usize = 32;

/// The [`PLAIN_LINE_STEP`] walk of `bytes` from `state`: the state after them.
fn plain_line_walk(mut state: u8, bytes: &[u8]) -> u8 {
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        for &byte in chunk {
            state = plain_line_step(state, byte);
        }
        if state == REFUSED {
            return REFUSED;
        }
    }
    for &byte in chunks.remainder() {
        state = plain_line_step(state, byte);
    }
    state
}

/// The state the [`PLAIN_LINE_STEP`] walk of `lines` is in before byte `at`, if it has not
/// refused before: at a line's start, after a carriage return (only a value's last byte may
/// be one), in a value (a colon came on this line) or in a name.
fn plain_line_state_at(lines: &[u8], at: usize) -> u8 {
    let before = &lines[..at];
    match before.last() {
        None | Some(b'\n') => LINE_START,
        Some(b'\r') => AFTER_CR,
        Some(_) => {
            let line = memchr::memrchr(b'\n', before).map_or(0, |lf| lf + 1);
            if memchr::memchr(b':', &before[line..]).is_some() {
                IN_VALUE
            } else {
                IN_NAME
            }
        }
    }
}

/// The state after `byte` in `state`, from [`PLAIN_LINE_STEP`].
fn plain_line_step(state: u8, byte: u8) -> u8 {
    PLAIN_LINE_STEP[usize::from(byte) * PLAIN_LINE_STATES + usize::from(state)]
}

/// [`PLAIN_LINE_STEP`] states. At the start of a line (also: all lines so far were plain).
const LINE_START: u8 = 0;
/// In the header name (a token byte came).
const IN_NAME: u8 = 1;
/// In the value (after the colon).
const IN_VALUE: u8 = 2;
/// After a carriage return ending the value: only a line feed may come.
const AFTER_CR: u8 = 3;
/// A line is not plain (stays so).
const REFUSED: u8 = 4;
/// Room for states in each byte's row of [`PLAIN_LINE_STEP`].
const PLAIN_LINE_STATES: usize = 8;

/// The plain header line automaton: the entry at a byte's row ([`PLAIN_LINE_STATES`] entries)
/// plus a state is the next state. The table reaches as far as any byte and `u8` state can
/// index, so a lookup needs no bounds check.
static PLAIN_LINE_STEP: [u8; 255 * PLAIN_LINE_STATES + 256] = {
    let mut table = [REFUSED; 255 * PLAIN_LINE_STATES + 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        let row = b * PLAIN_LINE_STATES;
        if parser::is_token_byte(byte) {
            table[row + LINE_START as usize] = IN_NAME;
            table[row + IN_NAME as usize] = IN_NAME;
        }
        if byte == b'\t' || (byte >= b' ' && byte <= b'~') || byte >= 0x80 {
            table[row + IN_VALUE as usize] = IN_VALUE;
        }
        b += 1;
    }
    table[b':' as usize * PLAIN_LINE_STATES + IN_NAME as usize] = IN_VALUE;
    table[b'\r' as usize * PLAIN_LINE_STATES + IN_VALUE as usize] = AFTER_CR;
    table[b'\n' as usize * PLAIN_LINE_STATES + IN_VALUE as usize] = LINE_START;
    table[b'\n' as usize * PLAIN_LINE_STATES + AFTER_CR as usize] = LINE_START;
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule of [`plain_lines`], one line at a time, written plainly.
    fn plain_line_reference(line: &[u8], request: bool) -> bool {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        if body.is_empty() || body.contains(&b'\r') {
            return false;
        }
        if !request {
            return !(body.len() == 1 && matches!(body[0], b' ' | b'\t'));
        }
        let Some(colon) = body.iter().position(|b| *b == b':') else {
            return false;
        };
        let name = &body[..colon];
        !name.is_empty()
            && name.iter().all(|b| parser::is_token_byte(*b))
            && body[colon + 1..]
                .iter()
                .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80)
    }

    /// [`plain_lines`] by the reference rule: every line judged on its own, and no bytes
    /// after the last line feed.
    fn plain_lines_reference(bytes: &[u8], request: bool) -> Option<usize> {
        let whole_lines = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
        (whole_lines == bytes.len() && {
            bytes
                .split_inclusive(|b| *b == b'\n')
                .all(|line| plain_line_reference(line, request))
        })
        .then(|| line_ends(bytes, request))
    }

    /// What a head parse said, without the request.
    fn outcome(head: Head<HttpRequest>) -> &'static str {
        match head {
            Head::Complete(..) => "complete",
            Head::Partial => "partial",
            Head::Invalid => "invalid",
        }
    }

    /// One part of a line: mostly one the parsers accept, sometimes an odd one (that httparse
    /// or the lenient checker may refuse).
    fn part(
        accepted: &'static [&'static [u8]],
        odd: &'static [&'static [u8]],
    ) -> impl proptest::strategy::Strategy<Value = &'static [u8]> {
        proptest::prop_oneof![
            8 => proptest::sample::select(accepted),
            1 => proptest::sample::select(odd),
        ]
    }

    /// Request lines: method, separator, target, separator, version, tail.
    fn request_line() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::strategy::Strategy;
        let separator = || part(&[b" ", b"  "], &[b"\t", b"", b"\r"]);
        (
            part(&[b"GET", b"X-MS-ENUMATTS"], &[b"G@T", b"", b"\r", b"\x80"]),
            separator(),
            part(
                &[b"/", b"/o?a=b", b"*"],
                &[b"/\x80\xff", b"/\x00", b"/\x7f", b""],
            ),
            separator(),
            part(
                &[b"HTTP/1.1", b"HTTP/1.0"],
                &[b"HTTP/1.2", b"HTTP/2.0", b"HTTP/1.", b""],
            ),
            part(&[b""], &[b" ", b"  ", b"\r", b"\t", b"x"]),
        )
            .prop_map(|parts| [parts.0, parts.1, parts.2, parts.3, parts.4, parts.5].concat())
    }

    /// Header lines: mostly plain ones, and (to check they are left to the whole parse) others.
    fn header_line() -> impl proptest::strategy::Strategy<Value = &'static [u8]> {
        part(
            &[
                b"Host: h\r\n",
                b"X-H1: v1\r\n",
                b"X:\r\n",
                b"A:b\n",
                b"V: \x80\t~\r\n",
            ],
            &[
                b"X-Bad: a\x01b\r\n",
                b" folded\r\n",
                b"\r\n",
                b"No colon\r\n",
                b"A: b\rc\r\n",
            ],
        )
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// [`request_line_decides`]: when it says the request line decides, parsing that line
        /// alone says what parsing every complete line says.
        #[test]
        fn request_line_alone_says_what_the_whole_head_says(
            line in request_line(),
            crlf in proptest::bool::ANY,
            headers in proptest::collection::vec(header_line(), 0..6),
            max_headers in 0usize..9,
        ) {
            // `process` strips the empty lines before a head.
            let mut lines = line;
            let blank = lines.iter().take_while(|b| matches!(b, b'\r' | b'\n')).count();
            lines.drain(..blank);
            proptest::prop_assume!(!lines.is_empty());
            lines.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
            let request_line = lines.clone();
            for header in &headers {
                lines.extend_from_slice(header);
            }
            let config = HttpConfig { max_headers, ..HttpConfig::default() };
            let whole = outcome(parser::parse_request(&lines, max_headers));
            match request_line_decides(&lines, &config) {
                Some((line_len, ends)) => {
                    proptest::prop_assert_eq!(line_len, request_line.len());
                    proptest::prop_assert_eq!(ends, line_ends(&lines, true));
                    let alone = outcome(parser::parse_request(&lines[..line_len], max_headers));
                    proptest::prop_assert_eq!(alone, whole);
                    proptest::prop_assert_ne!(alone, "complete");
                }
                // Left to the whole parse: a line that is not plain, or too many lines.
                None => proptest::prop_assert!(
                    plain_lines(&lines[request_line.len()..], true).is_none()
                        || 1 + headers.len() >= max_headers
                ),
            }
        }
    }

    proptest::proptest! {
        /// Lines of bytes that matter to the rule, cut anywhere: [`plain_lines`] walks them
        /// as the reference rule judges them one by one.
        #[test]
        fn plain_lines_agree_with_the_plain_rule_on_random_lines(
            bytes in proptest::collection::vec(
                proptest::sample::select(&b"aZ-:: \t\r\n\n\n\x01\x7f\x80@"[..]),
                0..64,
            ),
            request in proptest::bool::ANY,
        ) {
            proptest::prop_assert_eq!(
                plain_lines(&bytes, request),
                plain_lines_reference(&bytes, request)
            );
        }

        /// Long heads of plain lines (names, values and line ends of every length), with a
        /// few bytes changed anywhere: a request's walk in side-by-side parts (each started
        /// in a name, a value, after a carriage return or at a line's start, or refused before
        /// it) says what the reference rule says line by line.
        #[test]
        fn plain_lines_walked_in_parts_agree_with_the_plain_rule(
            lines in proptest::collection::vec(
                (1usize..24, 0usize..300, proptest::bool::ANY),
                1..40,
            ),
            changes in proptest::collection::vec(
                (proptest::num::usize::ANY, proptest::sample::select(&b"\r\n: \t\x01\x7f@a"[..])),
                0..3,
            ),
        ) {
            let mut bytes = Vec::new();
            for (i, (name, value, crlf)) in lines.iter().enumerate() {
                bytes.extend((0..*name).map(|k| b"Xx-_9"[(i + k) % 5]));
                bytes.push(b':');
                bytes.extend((0..*value).map(|k| b"v ;=:\t\x80/"[(i * 7 + k) % 8]));
                bytes.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
            }
            for (at, byte) in &changes {
                let at = at % bytes.len();
                bytes[at] = *byte;
            }
            proptest::prop_assert_eq!(
                plain_lines(&bytes, true),
                plain_lines_reference(&bytes, true)
            );
        }
    }

    #[test]
    fn plain_lines_agree_with_the_plain_rule_for_every_byte() {
        for request in [true, false] {
            for b in 0..=255u8 {
                let lines: [Vec<u8>; 6] = [
                    vec![b'X', b, b':', b' ', b'v', b'\r', b'\n'],
                    vec![b'X', b':', b' ', b, b'\r', b'\n'],
                    vec![b, b':', b'v', b'\n'],
                    vec![b, b'\r', b'\n'],
                    vec![b'\r', b'\n'],
                    vec![b'X', b':', b'\r', b, b'\n'],
                ];
                for line in &lines {
                    if line[..line.len() - 1].contains(&b'\n') {
                        continue;
                    }
                    let want = plain_line_reference(line, request);
                    assert_eq!(
                        plain_lines(line, request).is_some(),
                        want,
                        "{line:?} {request}"
                    );
                    if want {
                        assert_eq!(plain_lines(line, request), Some(line_ends(line, request)));
                    }
                    let mut two = b"Host: h\r\n".to_vec();
                    two.extend_from_slice(line);
                    assert_eq!(
                        plain_lines(&two, request).is_some(),
                        want,
                        "{two:?} {request}"
                    );
                }
            }
            // Bytes after the last line feed are not a complete line.
            assert!(plain_lines(b"Host: h\r\nX", request).is_none());
            assert_eq!(plain_lines(b"", request), Some(0));
        }
    }
}
