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
use super::decryption::{Decrypt, Decryption};
use super::fingerprint::{ja3, ja3s, ja4};
use super::hello::{parse_client_hello, parse_server_hello, parse_sslv2_client_hello};
use super::record::{
    looks_like_tls, looks_like_tls_midstream, Item, ReadError, RecordReader, APPLICATION_DATA,
    CHANGE_CIPHER_SPEC,
};
use super::{TlsConfig, TlsInfo, TlsStats};

/// Handshake message types used here.
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;
const CERTIFICATE: u8 = 11;
const SERVER_HELLO_DONE: u8 = 14;

/// How a connection's first bytes start.
enum Start {
    /// A TLS handshake record (or an SSLv2-compatible hello).
    Handshake,
    /// TLS records that follow a handshake not seen.
    Midstream,
    /// Not TLS.
    NotTls,
    /// Too few bytes to tell.
    Unknown,
}

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

/// TLS state of one TCP connection. Small while the connection is not TLS (HTTP flows pay
/// one byte and a null pointer): the handshake state is allocated once it is.
#[derive(Debug, Default)]
pub struct TlsConnection {
    mode: Mode,
    handshake: Option<Box<Handshake>>,
}

/// The handshake state of a connection that is (or may be) TLS.
#[derive(Debug, Default)]
struct Handshake {
    sides: [Direction; 2],
    client: Option<Side>,
    info: Option<Box<TlsInfo>>,
    /// The handshake can be reported (both directions done, or the connection ended).
    ready: bool,
    reported: bool,
    /// Decryption, when keys were given.
    decryption: Option<Box<Decryption>>,
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

    /// The connection was found not to be TLS: no stream event changes anything here any
    /// more (its handshake state is gone, and every event is ignored in this mode).
    pub fn is_not_tls(&self) -> bool {
        self.mode == Mode::NotTls
    }

    /// The side that sent the ClientHello (or did not send the ServerHello), once known.
    pub fn client(&self) -> Option<Side> {
        self.handshake.as_ref()?.client
    }

    /// Records are being decrypted (keys were given for this connection): finishing it may
    /// still hand out plaintext.
    pub fn decrypts(&self) -> bool {
        self.handshake
            .as_ref()
            .is_some_and(|h| h.decryption.is_some())
    }

    /// What the handshake told so far (`None` before a hello was parsed).
    pub fn info(&self) -> Option<&TlsInfo> {
        self.handshake.as_ref()?.info.as_deref()
    }

    /// Heap bytes held (for the memory budget).
    pub fn heap_bytes(&self) -> usize {
        let Some(h) = &self.handshake else {
            return 0;
        };
        std::mem::size_of::<Handshake>()
            + h.sides
                .iter()
                .map(|d| d.reader.heap_bytes() + d.head.capacity())
                .sum::<usize>()
            + h.info.as_ref().map_or(0, |i| i.heap_bytes())
            + h.decryption.as_ref().map_or(0, |d| d.heap_bytes())
    }

    /// Takes bytes sent by `side`. With `decrypt`, the connection's records are decrypted
    /// when its keys are known, and the plaintext handed to `decrypt`'s receiver.
    pub fn on_data(
        &mut self,
        side: Side,
        bytes: &[u8],
        config: &TlsConfig,
        stats: &mut TlsStats,
        decrypt: Option<&mut Decrypt<'_>>,
    ) {
        match self.mode {
            Mode::NotTls => {}
            Mode::Tls => {
                if let Some(h) = &mut self.handshake {
                    h.read(side, bytes, config, stats);
                    h.decrypt(side, bytes, config, stats, decrypt);
                }
            }
            Mode::Detect => self.detect(side, bytes, config, stats, decrypt),
        }
    }

    /// Decides from the first bytes of `side` (with those kept before, if too few to tell)
    /// whether the connection is TLS.
    fn detect(
        &mut self,
        side: Side,
        bytes: &[u8],
        config: &TlsConfig,
        stats: &mut TlsStats,
        decrypt: Option<&mut Decrypt<'_>>,
    ) {
        let kept = self
            .handshake
            .as_mut()
            .map(|h| std::mem::take(&mut h.sides[side.index()].head))
            .unwrap_or_default();
        let first: std::borrow::Cow<'_, [u8]> = if kept.is_empty() {
            std::borrow::Cow::Borrowed(bytes)
        } else {
            let mut all = kept;
            all.extend_from_slice(bytes);
            std::borrow::Cow::Owned(all)
        };
        let start = match looks_like_tls(&first) {
            Some(false) => match looks_like_tls_midstream(&first) {
                Some(true) => Start::Midstream,
                Some(false) => Start::NotTls,
                None => Start::Unknown,
            },
            Some(true) => Start::Handshake,
            None => Start::Unknown,
        };
        match start {
            Start::NotTls => {
                self.mode = Mode::NotTls;
                self.handshake = None;
            }
            Start::Midstream => {
                // TLS whose handshake was not seen: nothing to learn or decrypt, but its
                // bytes are not HTTP either.
                self.mode = Mode::Tls;
                stats.connections += 1;
                stats.midstream += 1;
                let h = self.handshake.get_or_insert_with(Default::default);
                for d in &mut h.sides {
                    d.head = Vec::new();
                }
                h.read(side, &first, config, stats);
            }
            Start::Unknown => {
                let h = self.handshake.get_or_insert_with(Default::default);
                h.sides[side.index()].head = first.into_owned();
            }
            Start::Handshake => {
                self.mode = Mode::Tls;
                stats.connections += 1;
                let h = self.handshake.get_or_insert_with(Default::default);
                for d in &mut h.sides {
                    d.head = Vec::new();
                }
                if decrypt.is_some() {
                    h.decryption = Some(Box::default());
                }
                h.read(side, &first, config, stats);
                h.decrypt(side, &first, config, stats, decrypt);
            }
        }
    }

    /// `side` lost `len` bytes: its handshake and its records cannot be followed any
    /// further.
    pub fn on_gap(
        &mut self,
        side: Side,
        len: u64,
        stats: &mut TlsStats,
        decrypt: Option<&mut Decrypt<'_>>,
    ) {
        if let (Some(h), Some(d)) = (self.handshake.as_mut(), decrypt) {
            if let Some(dec) = h.decryption.as_mut() {
                dec.on_gap(side, len, stats, d.out);
            }
        }
        match (self.mode, self.handshake.as_mut()) {
            (Mode::Detect, _) => {
                self.mode = Mode::NotTls;
                self.handshake = None;
            }
            (Mode::Tls, Some(h)) if !h.sides[side.index()].done => {
                stats.gaps += 1;
                h.side_done(side, false, stats);
            }
            _ => {}
        }
    }

    /// `side` finished sending.
    pub fn on_close(
        &mut self,
        side: Side,
        stats: &mut TlsStats,
        decrypt: Option<&mut Decrypt<'_>>,
    ) {
        if let (Mode::Tls, Some(h)) = (self.mode, self.handshake.as_mut()) {
            h.side_done(side, false, stats);
            if let (Some(dec), Some(d)) = (h.decryption.as_mut(), decrypt) {
                dec.on_close(side, d.out);
            }
        }
    }

    /// The connection is over: a handshake not reported yet becomes reportable with what was
    /// seen; records still waiting for a key get a last chance (live capture).
    pub fn finish(
        &mut self,
        config: &TlsConfig,
        stats: &mut TlsStats,
        decrypt: Option<&mut Decrypt<'_>>,
    ) {
        if let (Mode::Tls, Some(h)) = (self.mode, self.handshake.as_mut()) {
            for side in [Side::Initiator, Side::Responder] {
                h.side_done(side, false, stats);
            }
            let negotiated = h.negotiated();
            match (h.decryption.as_mut(), decrypt) {
                (Some(dec), Some(d)) => dec.finish(&mut d.ctx, config, stats, d.out),
                // No keys given: a connection that got as far as its ServerHello had
                // application data nothing could decrypt.
                (None, _) if negotiated => stats.no_key += 1,
                _ => {}
            }
        }
    }

    /// True once, when the handshake is ready to be reported; then [`TlsConnection::info`]
    /// holds it.
    pub fn take_report(&mut self) -> bool {
        match self.handshake.as_mut() {
            Some(h) if h.ready && !h.reported && h.info.is_some() => {
                h.reported = true;
                true
            }
            _ => false,
        }
    }
}

impl Handshake {
    /// The ServerHello (not a HelloRetryRequest) was seen.
    fn negotiated(&self) -> bool {
        self.info
            .as_ref()
            .and_then(|i| i.server_hello.as_ref())
            .is_some_and(|s| !s.retry)
    }

    /// Hands `bytes` of `side` to the connection's decryption, if it has one.
    fn decrypt(
        &mut self,
        side: Side,
        bytes: &[u8],
        config: &TlsConfig,
        stats: &mut TlsStats,
        decrypt: Option<&mut Decrypt<'_>>,
    ) {
        if let (Some(dec), Some(d)) = (self.decryption.as_mut(), decrypt) {
            dec.on_data(side, bytes, &mut d.ctx, config, stats, d.out);
        }
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

#[cfg(test)]
mod tests {
    use super::super::hello::tests::{client_hello_body, sni_ext};
    use super::*;

    fn record(content_type: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![content_type, 3, 1];
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    fn message(msg_type: u8, body: &[u8]) -> Vec<u8> {
        let len = body.len() as u32;
        let mut m = vec![msg_type, (len >> 16) as u8, (len >> 8) as u8, len as u8];
        m.extend_from_slice(body);
        m
    }

    fn client_hello() -> Vec<u8> {
        message(
            CLIENT_HELLO,
            &client_hello_body(0x0303, &[0xc02f, 0x1301], &[sni_ext("mail.example.org")]),
        )
    }

    /// A TLS 1.2 ServerHello (cipher 0xc02f, extension 0xff01), then ServerHelloDone.
    fn server_flight() -> Vec<u8> {
        let mut sh = vec![3, 3];
        sh.extend_from_slice(&[0x22; 32]);
        sh.extend_from_slice(&[0, 0xc0, 0x2f, 0, 0, 5, 0xff, 1, 0, 1, 0]);
        let mut flight = message(SERVER_HELLO, &sh);
        flight.extend(message(SERVER_HELLO_DONE, &[]));
        flight
    }

    fn feed(c: &mut TlsConnection, side: Side, bytes: &[u8], stats: &mut TlsStats) {
        c.on_data(side, bytes, &TlsConfig::default(), stats, None);
    }

    #[test]
    fn hello_split_across_records_and_segments() {
        let (mut c, mut stats) = (TlsConnection::new(), TlsStats::default());
        let ch = client_hello();
        let mut client = record(22, &ch[..20]);
        client.extend(record(22, &ch[20..]));
        for chunk in client.chunks(7) {
            feed(&mut c, Side::Initiator, chunk, &mut stats);
        }
        assert!(c.is_tls());
        assert_eq!(c.client(), Some(Side::Initiator));
        assert_eq!(
            c.info().and_then(TlsInfo::sni),
            Some(&b"mail.example.org"[..])
        );
        feed(
            &mut c,
            Side::Responder,
            &record(22, &server_flight()),
            &mut stats,
        );
        assert!(
            !c.take_report(),
            "the client has not finished its clear part yet"
        );
        feed(&mut c, Side::Initiator, &record(20, &[1]), &mut stats);
        assert!(c.take_report());
        assert!(!c.take_report(), "reported once");
        let info = c.info().unwrap();
        assert_eq!(info.version_name(), "TLS 1.2");
        assert_eq!(
            info.ja3s.as_ref().map(|f| f.string.as_str()),
            Some("771,49199,65281")
        );
        assert_eq!(
            info.ja3.as_ref().map(|f| f.string.as_str()),
            Some("771,49199-4865,0,,")
        );
        assert_eq!(stats.client_hellos, 1);
        assert_eq!(stats.server_hellos, 1);
        assert_eq!(stats.incomplete, 0);
        c.finish(&TlsConfig::default(), &mut stats, None);
        assert!(!c.take_report());
    }

    #[test]
    fn first_bytes_decide_once() {
        let (mut c, mut stats) = (TlsConnection::new(), TlsStats::default());
        feed(&mut c, Side::Initiator, b"GET / HTTP/1.1\r\n", &mut stats);
        assert!(!c.is_tls() && c.is_not_tls());
        assert_eq!(c.heap_bytes(), 0, "nothing is kept for later events");
        feed(
            &mut c,
            Side::Initiator,
            &record(22, &client_hello()),
            &mut stats,
        );
        assert!(!c.is_tls() && c.is_not_tls() && c.info().is_none());
        c.on_gap(Side::Responder, 10, &mut stats, None);
        c.on_close(Side::Initiator, &mut stats, None);
        assert!(c.is_not_tls() && c.heap_bytes() == 0);
        c.finish(&TlsConfig::default(), &mut stats, None);
        assert!(!c.take_report());
        assert_eq!(stats, TlsStats::default());

        // Too few bytes to tell: kept until more come.
        let (mut c, mut stats) = (TlsConnection::new(), TlsStats::default());
        let hello = record(22, &client_hello());
        feed(&mut c, Side::Initiator, &hello[..1], &mut stats);
        assert!(!c.is_tls() && !c.is_not_tls());
        feed(&mut c, Side::Initiator, &hello[1..2], &mut stats);
        feed(&mut c, Side::Initiator, &hello[2..], &mut stats);
        assert!(c.is_tls());
        assert!(c.info().and_then(TlsInfo::sni).is_some());
    }

    #[test]
    fn records_picked_up_midstream_are_tls_without_a_handshake() {
        let (mut c, mut stats) = (TlsConnection::new(), TlsStats::default());
        let data = [&b"\x17\x03\x03\x00\x04"[..], b"abcd"].concat();
        feed(&mut c, Side::Initiator, &data[..3], &mut stats);
        assert!(!c.is_tls(), "too few bytes to tell");
        feed(&mut c, Side::Initiator, &data[3..], &mut stats);
        assert!(c.is_tls(), "its bytes are not HTTP");
        assert_eq!((stats.connections, stats.midstream), (1, 1));
        feed(&mut c, Side::Responder, &data, &mut stats);
        c.finish(&TlsConfig::default(), &mut stats, None);
        assert!(!c.take_report(), "nothing was learnt");
        assert_eq!(stats.no_key, 0, "there was no handshake to find a key for");
    }

    #[test]
    fn gap_stops_a_direction_and_the_rest_is_reported_at_the_end() {
        let (mut c, mut stats) = (TlsConnection::new(), TlsStats::default());
        feed(
            &mut c,
            Side::Initiator,
            &record(22, &client_hello()),
            &mut stats,
        );
        let flight = record(22, &server_flight());
        feed(&mut c, Side::Responder, &flight[..10], &mut stats);
        c.on_gap(Side::Responder, 10, &mut stats, None);
        feed(&mut c, Side::Responder, &flight[20..], &mut stats);
        assert_eq!(stats.gaps, 1);
        assert!(c.is_tls(), "the flow stays TLS");
        assert!(!c.take_report());
        c.finish(&TlsConfig::default(), &mut stats, None);
        assert!(c.take_report());
        assert_eq!(stats.incomplete, 1);
        assert!(c.info().unwrap().server_hello.is_none());
    }

    #[test]
    fn malformed_and_oversized_handshakes_are_given_up() {
        let (mut c, mut stats) = (TlsConnection::new(), TlsStats::default());
        feed(
            &mut c,
            Side::Initiator,
            b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\xff",
            &mut stats,
        );
        assert_eq!(stats.malformed, 1, "a ClientHello that does not parse");
        c.finish(&TlsConfig::default(), &mut stats, None);
        assert!(!c.take_report(), "nothing was learnt");

        let (mut c, mut stats) = (TlsConnection::new(), TlsStats::default());
        let config = TlsConfig {
            max_handshake_bytes: 100,
            ..TlsConfig::default()
        };
        let big = record(22, &message(CLIENT_HELLO, &[0; 500]));
        c.on_data(Side::Initiator, &big[..200], &config, &mut stats, None);
        c.on_data(Side::Initiator, &big[200..], &config, &mut stats, None);
        assert_eq!(stats.too_large, 1);
        assert!(c.heap_bytes() <= 100 + std::mem::size_of::<TlsInfo>() + 1024);

        let (mut c, mut stats) = (TlsConnection::new(), TlsStats::default());
        feed(
            &mut c,
            Side::Initiator,
            b"\x16\x03\x01\x00\x02\x01\x00\x99\x03\x03\x00\x01",
            &mut stats,
        );
        assert_eq!(stats.malformed, 1, "a record type no TLS sends");
    }
}
