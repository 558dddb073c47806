//! The TLS state of one TCP connection: whether it is TLS at all, each direction's record
//! reader, and what the handshake told so far.
//!
//! A connection is TLS when the first bytes of the first direction to speak are a TLS
//! handshake record (or an SSLv2-compatible ClientHello), on any port; otherwise it is left
//! to the HTTP parser for good. Each direction is read until nothing more can be learnt in
//! clear: the client after its ChangeCipherSpec or first application data, the server after
//! its Certificate (TLS ≤ 1.2), its ServerHello (TLS 1.3: the rest is encrypted),
//! ServerHelloDone, ChangeCipherSpec or application data. When both directions are done the
//! handshake is ready to be reported, once; a connection that ends before that (truncated
//! handshake, gap, malformed record, buffer cap) is reported at its end with what was seen.
//! Nothing here stops the flow itself.

use crate::flow::Side;

use super::certificate::certificate_fields;
use super::fingerprint::{ja3, ja3s, ja4};
use super::hello::{parse_client_hello, parse_server_hello, parse_sslv2_client_hello};
use super::record::{
    looks_like_tls, Item, ReadError, RecordReader, APPLICATION_DATA, CHANGE_CIPHER_SPEC,
};
use super::{TlsConfig, TlsInfo, TlsStats};

/// Handshake message types used here.
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;
const CERTIFICATE: u8 = 11;
const SERVER_HELLO_DONE: u8 = 14;

/// Whether the connection is TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    /// No bytes seen yet (or too few to tell).
    #[default]
    Detect,
    /// TLS: the directions are read.
    Tls,
    /// Not TLS.
    NotTls,
}

/// One direction.
#[derive(Debug, Default)]
struct Direction {
    reader: RecordReader,
    /// Nothing more to learn from this direction.
    done: bool,
    /// It got there by the handshake itself (not by a gap, an error, its end or the
    /// connection's).
    complete: bool,
    /// The first bytes, while too few to tell whether they are TLS.
    head: Vec<u8>,
}

/// TLS state of one TCP connection.
#[derive(Debug, Default)]
pub struct TlsConnection {
    mode: Mode,
    sides: [Direction; 2],
    client: Option<Side>,
    info: Option<Box<TlsInfo>>,
    /// The handshake can be reported (both directions done, or the connection ended).
    ready: bool,
    reported: bool,
}

impl TlsConnection {
    /// A connection that has seen nothing yet.
    pub fn new() -> TlsConnection {
        TlsConnection::default()
    }

    /// The connection was recognised as TLS: its bytes are not HTTP.
    pub fn is_tls(&self) -> bool {
        self.mode == Mode::Tls
    }

    /// The side that sent the ClientHello (or did not send the ServerHello), once known.
    pub fn client(&self) -> Option<Side> {
        self.client
    }

    /// What the handshake told so far (`None` before a hello was parsed).
    pub fn info(&self) -> Option<&TlsInfo> {
        self.info.as_deref()
    }

    /// Heap bytes held (for the memory budget).
    pub fn heap_bytes(&self) -> usize {
        self.sides
            .iter()
            .map(|d| d.reader.heap_bytes() + d.head.capacity())
            .sum::<usize>()
            + self.info.as_ref().map_or(0, |i| i.heap_bytes())
    }

    /// Takes bytes sent by `side`.
    pub fn on_data(&mut self, side: Side, bytes: &[u8], config: &TlsConfig, stats: &mut TlsStats) {
        match self.mode {
            Mode::NotTls => {}
            Mode::Tls => self.read(side, bytes, config, stats),
            Mode::Detect => {
                let d = &mut self.sides[side.index()];
                let verdict = if d.head.is_empty() {
                    looks_like_tls(bytes)
                } else {
                    let mut head = std::mem::take(&mut d.head);
                    head.extend_from_slice(bytes);
                    let v = looks_like_tls(&head);
                    d.head = head;
                    v
                };
                match verdict {
                    Some(false) => {
                        self.mode = Mode::NotTls;
                        self.sides = Default::default();
                    }
                    None => {
                        if d.head.is_empty() {
                            d.head.extend_from_slice(bytes);
                        }
                    }
                    Some(true) => {
                        self.mode = Mode::Tls;
                        stats.connections += 1;
                        let head = std::mem::take(&mut self.sides[side.index()].head);
                        if head.is_empty() {
                            self.read(side, bytes, config, stats);
                        } else {
                            self.read(side, &head, config, stats);
                        }
                    }
                }
            }
        }
    }

    /// `side` lost bytes: its handshake cannot be followed any further.
    pub fn on_gap(&mut self, side: Side, stats: &mut TlsStats) {
        match self.mode {
            Mode::Detect => self.mode = Mode::NotTls,
            Mode::Tls if !self.sides[side.index()].done => {
                stats.gaps += 1;
                self.side_done(side, false, stats);
            }
            _ => {}
        }
    }

    /// `side` finished sending.
    pub fn on_close(&mut self, side: Side, stats: &mut TlsStats) {
        if self.mode == Mode::Tls {
            self.side_done(side, false, stats);
        }
    }

    /// The connection is over: a handshake not reported yet becomes reportable with what was
    /// seen.
    pub fn finish(&mut self, stats: &mut TlsStats) {
        if self.mode != Mode::Tls {
            return;
        }
        for side in [Side::Initiator, Side::Responder] {
            self.side_done(side, false, stats);
        }
    }

    /// True once, when the handshake is ready to be reported; then [`TlsConnection::info`]
    /// holds it.
    pub fn take_report(&mut self) -> bool {
        if self.ready && !self.reported && self.info.is_some() {
            self.reported = true;
            return true;
        }
        false
    }

    fn side_done(&mut self, side: Side, complete: bool, stats: &mut TlsStats) {
        let d = &mut self.sides[side.index()];
        if d.done {
            return;
        }
        d.done = true;
        d.complete = complete;
        d.reader.release();
        if self.sides.iter().all(|d| d.done) && self.info.is_some() {
            self.ready = true;
            if !self.sides.iter().all(|d| d.complete) {
                stats.incomplete += 1;
            }
        }
    }

    fn read(&mut self, side: Side, bytes: &[u8], config: &TlsConfig, stats: &mut TlsStats) {
        let d = &mut self.sides[side.index()];
        if d.done {
            return;
        }
        let mut reader = std::mem::take(&mut d.reader);
        let mut finished = false;
        let malformed_before = stats.malformed;
        let result = {
            let info = &mut self.info;
            let client = &mut self.client;
            reader.feed(bytes, config.max_handshake_bytes, &mut |item| {
                let go_on = on_item(item, side, info, client, stats);
                finished |= !go_on;
                go_on
            })
        };
        self.sides[side.index()].reader = reader;
        match result {
            Ok(true) if !finished => {}
            Ok(_) => {
                let complete = stats.malformed == malformed_before;
                self.side_done(side, complete, stats);
            }
            Err(ReadError::Malformed) => {
                stats.malformed += 1;
                self.side_done(side, false, stats);
            }
            Err(ReadError::TooLarge) => {
                stats.too_large += 1;
                self.side_done(side, false, stats);
            }
        }
    }
}

/// Takes one item read from `side`; returns whether the direction has more to tell.
fn on_item(
    item: Item<'_>,
    side: Side,
    info: &mut Option<Box<TlsInfo>>,
    client: &mut Option<Side>,
    stats: &mut TlsStats,
) -> bool {
    match item {
        Item::Record { content_type } => {
            !(content_type == CHANGE_CIPHER_SPEC || content_type == APPLICATION_DATA)
        }
        Item::SslV2ClientHello(body) => {
            let Some(hello) = parse_sslv2_client_hello(body) else {
                stats.malformed += 1;
                return false;
            };
            client_hello(hello, side, info, client, stats);
            true
        }
        Item::Handshake { msg_type, body } => match msg_type {
            CLIENT_HELLO => {
                let Some(hello) = parse_client_hello(body) else {
                    stats.malformed += 1;
                    return false;
                };
                client_hello(hello, side, info, client, stats);
                true
            }
            SERVER_HELLO => {
                let Some(hello) = parse_server_hello(body) else {
                    stats.malformed += 1;
                    return false;
                };
                stats.server_hellos += 1;
                client.get_or_insert(side.opposite());
                let retry = hello.retry;
                let tls13 = hello.negotiated_version() >= 0x0304;
                let i = info.get_or_insert_with(Default::default);
                i.ja3s = Some(ja3s(&hello));
                i.server_hello = Some(hello);
                // After a TLS 1.3 ServerHello everything is encrypted; after a
                // HelloRetryRequest the real ServerHello is still to come.
                retry || !tls13
            }
            CERTIFICATE => {
                let Ok((_, tls_parser::TlsMessageHandshake::Certificate(c))) =
                    tls_parser::parse_tls_handshake_msg_certificate(body)
                else {
                    stats.malformed += 1;
                    return false;
                };
                let i = info.get_or_insert_with(Default::default);
                i.certificates = c.cert_chain.iter().map(|c| c.data.to_vec()).collect();
                i.server_certificate = c
                    .cert_chain
                    .first()
                    .and_then(|c| certificate_fields(c.data));
                if i.server_certificate.is_some() {
                    stats.certificates += 1;
                } else if !i.certificates.is_empty() {
                    stats.malformed += 1;
                }
                false
            }
            SERVER_HELLO_DONE => false,
            _ => true,
        },
    }
}

fn client_hello(
    hello: super::ClientHello,
    side: Side,
    info: &mut Option<Box<TlsInfo>>,
    client: &mut Option<Side>,
    stats: &mut TlsStats,
) {
    stats.client_hellos += 1;
    client.get_or_insert(side);
    let i = info.get_or_insert_with(Default::default);
    // A second ClientHello (after a HelloRetryRequest) keeps the first's fingerprints.
    if i.client_hello.is_none() {
        i.ja3 = Some(ja3(&hello));
        i.ja4 = Some(ja4(&hello));
        i.client_hello = Some(hello);
    }
}
