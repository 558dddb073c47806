//! Decryption of one TLS connection: follows both directions' records past the clear
//! handshake, finds the keys, and hands the application data, decrypted, to the stream's
//! consumer as if it had come in clear.
//!
//! Why here and not in the metadata reader: the metadata reader stops as soon as nothing
//! more can be learnt in clear and skips record bodies without keeping them; decryption
//! needs every record whole, in order, from the first. It reads its own copy of the stream
//! (one copy of each TLS byte, which it then decrypts in place), and only when keys were
//! given.
//!
//! How a direction goes:
//! - In clear, handshake messages are read for what decryption needs: the randoms, the
//!   chosen suite and version, encrypt-then-MAC and extended master secret, session IDs and
//!   tickets, the RSA-encrypted pre-master secret; with RSA server keys, the transcript up to
//!   the ClientKeyExchange (the extended master secret hashes it).
//! - TLS ≤ 1.2: a direction's records are protected from its ChangeCipherSpec on. The master
//!   secret comes from the key log (`CLIENT_RANDOM`), else from the ClientKeyExchange
//!   decrypted with the server's RSA key, else from the session a resumption names (see
//!   [`super::keys::SessionCache`]).
//! - TLS 1.3: every `application_data` record is protected; the handshake traffic secret
//!   protects each side up to its Finished, the application traffic secret after it, and a
//!   KeyUpdate moves the sender to the next one. Middlebox ChangeCipherSpec records are
//!   skipped. 0-RTT records (which a rejecting server skips too) fail under the handshake key
//!   and are skipped while nothing of the client was decrypted yet.
//! - TLS ≤ 1.2 renegotiation (IIS renegotiates to ask for a client certificate): the new
//!   handshake comes decrypted and is read as the first one was (new randoms, new key-log
//!   line, RSA key exchange or resumed session); each direction switches to the new keys at
//!   its own (encrypted) ChangeCipherSpec.
//! - A record that does not authenticate (wrong keys, corrupt data) or a stream gap ends the
//!   direction's decryption: its plaintext consumer is told of a gap and nothing after it is
//!   guessed.
//! - A record that needs a key not known yet waits, with the rest of its direction, within a
//!   cap: until the ServerHello (out-of-order delivery, early data), or in live capture until
//!   the key log has the line. Otherwise the connection is counted as without key and left.

use crate::flow::Side;
use crate::stream::StreamEvent;

use super::decrypt::{
    cipher_suite, tls12_master_secret, transcript_hash, CipherSuite, RecordDecrypter,
};
use super::hello::{parse_client_hello, parse_server_hello, ClientHello, ServerHello};
use super::keys::{SessionCache, TlsKeys};
use super::record::{APPLICATION_DATA, CHANGE_CIPHER_SPEC, HANDSHAKE, HEARTBEAT};
use super::{TlsConfig, TlsStats};

/// A record header: content type, version, length.
const HEADER: usize = 5;
/// The largest record TLS allows (TLS 1.2 ciphertext: 2^14 + 2048).
const MAX_RECORD: usize = (1 << 14) + 2048;

/// Handshake message types used here.
const NEW_SESSION_TICKET: u8 = 4;
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;
const CLIENT_KEY_EXCHANGE: u8 = 16;
const FINISHED: u8 = 20;
const KEY_UPDATE: u8 = 24;

/// Extensions used here.
const EXT_ENCRYPT_THEN_MAC: u16 = 22;
const EXT_EXTENDED_MASTER_SECRET: u16 = 23;
const EXT_EARLY_DATA: u16 = 42;

/// Where the connection's decryption stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Status {
    /// Following the handshake; no record decrypted yet.
    #[default]
    Handshake,
    /// Records are being decrypted.
    Decrypting,
    /// Given up: no key, a failure, or a version or suite that cannot be decrypted.
    Stopped,
}

/// The parameters the ServerHello fixed.
#[derive(Debug, Clone)]
struct Negotiated {
    suite: &'static CipherSuite,
    version: u16,
    random: [u8; 32],
    session_id: Vec<u8>,
    encrypt_then_mac: bool,
    extended_master_secret: bool,
}

/// One direction.
#[derive(Debug, Default)]
struct Direction {
    /// Stream bytes of a record not yet complete.
    pending: Vec<u8>,
    /// Handshake bytes of a message not yet complete (clear or decrypted).
    messages: Vec<u8>,
    /// Stream bytes waiting for a key (the first record that needs it, and all after).
    held: Vec<u8>,
    /// Waiting for a key: new bytes go to `held`.
    waiting: bool,
    /// TLS ≤ 1.2: the direction sent its ChangeCipherSpec, its records are protected.
    protected: bool,
    /// TLS 1.3: the direction's Finished was decrypted, the application secret is next.
    application: bool,
    /// The current record protection, once derived.
    cipher: Option<RecordDecrypter>,
    /// TLS ≤ 1.2 renegotiation: the protection the direction's next ChangeCipherSpec
    /// switches to.
    next: Option<RecordDecrypter>,
    /// Plaintext was handed on.
    delivered: bool,
    /// Nothing more is read from this direction.
    stopped: bool,
}

/// The decryption state of one TLS connection.
#[derive(Debug, Default)]
pub(crate) struct Decryption {
    sides: [Direction; 2],
    status: Status,
    client: Option<Side>,
    hello: Option<Box<ClientHello>>,
    server: Option<Negotiated>,
    /// TLS ≤ 1.2 master secret, once known.
    master: Option<[u8; 48]>,
    /// The master secret came from an RSA key exchange or a resumed session (remember the
    /// session once a record proves it).
    master_from_rsa: bool,
    /// A session ticket the server issued in clear (TLS ≤ 1.2), not remembered yet.
    issued_ticket: Option<Vec<u8>>,
    /// The session ID was remembered.
    session_remembered: bool,
    /// Handshake messages so far (only with RSA server keys, up to the ClientKeyExchange).
    transcript: Option<Vec<u8>>,
    /// A server key for this server did not decrypt the ClientKeyExchange (a wrong key).
    key_rejected: bool,
    /// Counted: without key, failed.
    counted_no_key: bool,
    counted_failed: bool,
}

/// What decryption needs from the worker: its keys, the shard's sessions, the server's
/// address.
pub(crate) struct KeyContext<'a> {
    /// The worker's keys.
    pub keys: &'a mut TlsKeys,
    /// The flow shard's remembered sessions.
    pub sessions: &'a mut SessionCache,
    /// The server's address and port (which RSA keys apply).
    pub server: (std::net::IpAddr, u16),
}

/// Receives decrypted stream events.
pub(crate) type PlainSink<'s> = dyn FnMut(StreamEvent<'_>) + 's;

/// What a TLS connection needs to decrypt: the keys, and where the plaintext goes.
pub struct Decrypt<'a> {
    /// The keys.
    pub(crate) ctx: KeyContext<'a>,
    /// Receives the decrypted stream events.
    pub(crate) out: &'a mut PlainSink<'a>,
}

impl<'a> Decrypt<'a> {
    /// Decryption with `keys` (the worker's) and `sessions` (the flow shard's) for a
    /// connection to `server`, handing the plaintext to `out`.
    pub fn new(
        keys: &'a mut TlsKeys,
        sessions: &'a mut SessionCache,
        server: (std::net::IpAddr, u16),
        out: &'a mut PlainSink<'a>,
    ) -> Decrypt<'a> {
        Decrypt {
            ctx: KeyContext {
                keys,
                sessions,
                server,
            },
            out,
        }
    }
}

impl Decryption {
    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Decryption>()
            + self
                .sides
                .iter()
                .map(|d| d.pending.capacity() + d.messages.capacity() + d.held.capacity())
                .sum::<usize>()
            + self.transcript.as_ref().map_or(0, Vec::capacity)
            + self.hello.as_ref().map_or(0, |_| 512)
    }

    /// Takes stream bytes sent by `side`.
    pub(crate) fn on_data(
        &mut self,
        side: Side,
        bytes: &[u8],
        ctx: &mut KeyContext<'_>,
        config: &TlsConfig,
        stats: &mut TlsStats,
        out: &mut PlainSink<'_>,
    ) {
        if self.status == Status::Stopped {
            return;
        }
        if self.sides.iter().any(|d| d.waiting) && ctx.keys.refresh() {
            self.resume(ctx, config, stats, out);
        }
        self.read(side, bytes, ctx, config, stats, out);
        self.resume(ctx, config, stats, out);
    }

    /// `side` lost bytes: its records can no longer be followed.
    pub(crate) fn on_gap(
        &mut self,
        side: Side,
        len: u64,
        stats: &mut TlsStats,
        out: &mut PlainSink<'_>,
    ) {
        let d = &mut self.sides[side.index()];
        if d.stopped || self.status == Status::Stopped {
            return;
        }
        d.stopped = true;
        d.held = Vec::new();
        d.pending = Vec::new();
        d.messages = Vec::new();
        if self.status == Status::Decrypting {
            stats.decrypt_gaps += 1;
        }
        if d.delivered {
            out(StreamEvent::Gap { side, len });
        }
    }

    /// `side` finished sending.
    pub(crate) fn on_close(&mut self, side: Side, out: &mut PlainSink<'_>) {
        if self.sides[side.index()].delivered {
            out(StreamEvent::Closed { side });
        }
    }

    /// The connection is over: a last look for keys that were waited for (live capture),
    /// then what is still waiting counts as without key.
    pub(crate) fn finish(
        &mut self,
        ctx: &mut KeyContext<'_>,
        config: &TlsConfig,
        stats: &mut TlsStats,
        out: &mut PlainSink<'_>,
    ) {
        if self.status == Status::Stopped || !self.sides.iter().any(|d| d.waiting) {
            return;
        }
        if ctx.keys.live() {
            ctx.keys.refresh();
            self.resume(ctx, config, stats, out);
        }
        if self.sides.iter().any(|d| d.waiting) && self.server.is_some() {
            self.no_key(stats);
        }
    }

    /// Reads the directions whose key has come since they began waiting (the client's
    /// first: a request before its answer).
    fn resume(
        &mut self,
        ctx: &mut KeyContext<'_>,
        config: &TlsConfig,
        stats: &mut TlsStats,
        out: &mut PlainSink<'_>,
    ) {
        let client = self.client.unwrap_or(Side::Initiator);
        loop {
            let mut progressed = false;
            for side in [client, client.opposite()] {
                if self.status == Status::Stopped {
                    return;
                }
                if !self.sides[side.index()].waiting || !self.key_ready(side, ctx) {
                    continue;
                }
                let d = &mut self.sides[side.index()];
                d.waiting = false;
                let held = std::mem::take(&mut d.held);
                self.read(side, &held, ctx, config, stats, out);
                progressed = true;
            }
            if !progressed {
                return;
            }
        }
    }

    /// Whether a waiting direction can go on: the handshake has told what it needs, and
    /// its key is known.
    fn key_ready(&mut self, side: Side, ctx: &mut KeyContext<'_>) -> bool {
        if self.server.is_none() {
            return false;
        }
        if self.sides[side.index()].cipher.is_some() {
            return true;
        }
        self.derive(side, ctx)
    }

    /// Reads stream bytes of `side`.
    fn read(
        &mut self,
        side: Side,
        bytes: &[u8],
        ctx: &mut KeyContext<'_>,
        config: &TlsConfig,
        stats: &mut TlsStats,
        out: &mut PlainSink<'_>,
    ) {
        let i = side.index();
        if self.sides[i].stopped {
            return;
        }
        if self.sides[i].waiting {
            self.hold(side, bytes, config, stats);
            return;
        }
        let mut data = std::mem::take(&mut self.sides[i].pending);
        data.extend_from_slice(bytes);
        let mut pos = 0;
        while self.status != Status::Stopped && !self.sides[i].stopped {
            let Some(header) = data.get(pos..pos + HEADER) else {
                break;
            };
            let header: [u8; HEADER] = [header[0], header[1], header[2], header[3], header[4]];
            let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
            if !(CHANGE_CIPHER_SPEC..=HEARTBEAT).contains(&header[0])
                || header[1] != 3
                || len > MAX_RECORD
            {
                self.fail(side, len, stats, out);
                break;
            }
            if data.len() < pos + HEADER + len {
                break;
            }
            let record = pos..pos + HEADER + len;
            match self.record(
                side,
                &header,
                &mut data[pos + HEADER..pos + HEADER + len],
                ctx,
                config,
                stats,
                out,
            ) {
                Next::Go => pos = record.end,
                Next::Wait => {
                    let rest = data.split_off(pos);
                    self.sides[i].waiting = true;
                    self.hold(side, &rest, config, stats);
                    return;
                }
            }
        }
        let d = &mut self.sides[i];
        if d.stopped || self.status == Status::Stopped {
            return;
        }
        if pos > 0 {
            data.drain(..pos);
        }
        d.pending = data;
    }

    /// Keeps bytes of a direction that waits for its key, within the cap.
    fn hold(&mut self, side: Side, bytes: &[u8], config: &TlsConfig, stats: &mut TlsStats) {
        let held: usize = self.sides.iter().map(|d| d.held.len()).sum();
        if held + bytes.len() > config.max_held_bytes {
            if self.server.is_some() {
                self.no_key(stats);
            } else {
                self.stop();
            }
            return;
        }
        self.sides[side.index()].held.extend_from_slice(bytes);
    }

    /// Handles one whole record of `side` (its body may be decrypted in place).
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        side: Side,
        header: &[u8; HEADER],
        body: &mut [u8],
        ctx: &mut KeyContext<'_>,
        config: &TlsConfig,
        stats: &mut TlsStats,
        out: &mut PlainSink<'_>,
    ) -> Next {
        let content_type = header[0];
        let record_len = body.len();
        let tls13 = self.server.as_ref().map(|s| s.suite.tls13);
        let protected = match tls13 {
            Some(true) => content_type == APPLICATION_DATA,
            Some(false) => self.sides[side.index()].protected,
            // Before the ServerHello only a TLS 1.3 client's early data (or a record
            // delivered ahead of the server's flight) can be protected.
            None => content_type == APPLICATION_DATA,
        };
        if !protected {
            return self.clear_record(side, content_type, body, ctx, config, stats);
        }
        if self.sides[side.index()].cipher.is_none()
            && !(self.server.is_some() && self.derive(side, ctx))
        {
            if self.server.is_none() || ctx.keys.live() {
                return Next::Wait;
            }
            if self.key_rejected {
                // A key was given for this server, and it is not the server's.
                self.fail(side, record_len, stats, out);
                self.stop();
            } else if self.status == Status::Handshake {
                self.no_key(stats);
            } else {
                // TLS 1.3: the handshake was decrypted but the application secret is not
                // in the key log.
                self.stop_side(side, record_len, out);
            }
            return Next::Go;
        }
        let Some(cipher) = self.sides[side.index()].cipher.as_mut() else {
            return Next::Go;
        };
        let opened = cipher.open(header, body);
        let (inner_type, plain) = match opened {
            Ok(x) => x,
            Err(_) => {
                if self.is_skippable_early_data(side) {
                    return Next::Go;
                }
                self.fail(side, record_len, stats, out);
                return Next::Go;
            }
        };
        stats.records_decrypted += 1;
        if self.status == Status::Handshake {
            self.status = Status::Decrypting;
            stats.decrypted += 1;
        }
        if self.master_from_rsa && (!self.session_remembered || self.issued_ticket.is_some()) {
            self.remember_session(ctx);
        }
        match inner_type {
            APPLICATION_DATA if !plain.is_empty() => {
                self.sides[side.index()].delivered = true;
                out(StreamEvent::Data { side, bytes: plain });
            }
            HANDSHAKE => {
                let plain = plain.to_vec();
                self.protected_messages(side, &plain, ctx, config, stats, out);
            }
            // TLS ≤ 1.2 renegotiation: the direction switches to the keys its new
            // handshake (decrypted before) agreed; without them it stops.
            CHANGE_CIPHER_SPEC if !self.switch_keys(side, ctx) => {
                self.stop_side(side, record_len, out);
            }
            _ => {}
        }
        Next::Go
    }

    /// A record in clear.
    fn clear_record(
        &mut self,
        side: Side,
        content_type: u8,
        body: &[u8],
        ctx: &mut KeyContext<'_>,
        config: &TlsConfig,
        stats: &mut TlsStats,
    ) -> Next {
        match content_type {
            HANDSHAKE => {
                let d = &mut self.sides[side.index()];
                if d.messages.len() + body.len() > config.max_handshake_bytes {
                    self.stop();
                    return Next::Go;
                }
                let mut buffered = std::mem::take(&mut d.messages);
                buffered.extend_from_slice(body);
                let mut pos = 0;
                while let Some((msg_type, len)) = message_header(&buffered[pos..]) {
                    if buffered.len() < pos + 4 + len {
                        break;
                    }
                    let message = &buffered[pos..pos + 4 + len];
                    self.clear_message(side, msg_type, message, ctx, stats);
                    pos += 4 + len;
                    if self.status == Status::Stopped {
                        return Next::Go;
                    }
                }
                buffered.drain(..pos);
                self.sides[side.index()].messages = buffered;
            }
            CHANGE_CIPHER_SPEC if self.server.as_ref().is_some_and(|s| !s.suite.tls13) => {
                self.sides[side.index()].protected = true;
                self.sides[side.index()].messages.clear();
            }
            APPLICATION_DATA => {
                // Application data before the direction's ChangeCipherSpec (TLS ≤ 1.2):
                // nothing to decrypt it with.
                self.stop_side_quietly(side);
            }
            _ => {}
        }
        Next::Go
    }

    /// A handshake message read in clear (`message` with its 4-byte header).
    fn clear_message(
        &mut self,
        side: Side,
        msg_type: u8,
        message: &[u8],
        ctx: &mut KeyContext<'_>,
        stats: &mut TlsStats,
    ) {
        let body = &message[4..];
        match msg_type {
            CLIENT_HELLO => {
                if let Some(hello) = parse_client_hello(body) {
                    self.client.get_or_insert(side);
                    if ctx.keys.has_server_keys() {
                        self.transcript = Some(Vec::new());
                    }
                    if self.status == Status::Decrypting {
                        // A renegotiation (it came decrypted): a new random, new secrets.
                        self.hello = Some(Box::new(hello));
                        self.master = None;
                        self.master_from_rsa = false;
                        self.session_remembered = false;
                        self.issued_ticket = None;
                        self.key_rejected = false;
                    } else {
                        // After a HelloRetryRequest the second hello keeps the random.
                        self.hello.get_or_insert_with(|| Box::new(hello));
                    }
                }
            }
            SERVER_HELLO => {
                let Some(hello) = parse_server_hello(body) else {
                    return;
                };
                self.client.get_or_insert(side.opposite());
                if !hello.retry {
                    self.negotiated(&hello, stats);
                }
            }
            CLIENT_KEY_EXCHANGE => {
                self.append_transcript(message);
                self.rsa_key_exchange(body, ctx);
                self.transcript = None;
                return;
            }
            NEW_SESSION_TICKET => {
                // lifetime_hint(4), ticket<0..2^16-1>
                if let Some(len) = body.get(4..6) {
                    let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                    if let Some(ticket) = body.get(6..6 + len) {
                        self.issued_ticket = Some(ticket.to_vec());
                        // The client's Finished may have proved the master secret already.
                        if self.master_from_rsa && self.status == Status::Decrypting {
                            self.remember_session(ctx);
                        }
                    }
                }
            }
            _ => {}
        }
        self.append_transcript(message);
    }

    fn append_transcript(&mut self, message: &[u8]) {
        if let Some(t) = &mut self.transcript {
            if t.len() + message.len() > 1 << 20 {
                self.transcript = None;
            } else {
                t.extend_from_slice(message);
            }
        }
    }

    /// The ServerHello: what can be decrypted.
    fn negotiated(&mut self, hello: &ServerHello, stats: &mut TlsStats) {
        let version = hello.negotiated_version();
        let suite = cipher_suite(hello.cipher);
        let supported = (0x0301..=0x0304).contains(&version);
        let Some(suite) = suite.filter(|s| supported && s.tls13 == (version == 0x0304)) else {
            stats.unsupported += 1;
            self.stop();
            return;
        };
        let offered = |ext: u16| {
            self.hello
                .as_ref()
                .is_some_and(|h| h.extensions.contains(&ext))
        };
        let encrypt_then_mac = !suite.tls13
            && offered(EXT_ENCRYPT_THEN_MAC)
            && hello.extensions.contains(&EXT_ENCRYPT_THEN_MAC);
        let extended_master_secret = !suite.tls13
            && offered(EXT_EXTENDED_MASTER_SECRET)
            && hello.extensions.contains(&EXT_EXTENDED_MASTER_SECRET);
        self.server = Some(Negotiated {
            suite,
            version,
            random: hello.random,
            session_id: hello.session_id.clone(),
            encrypt_then_mac,
            extended_master_secret,
        });
        if suite.tls13 {
            self.transcript = None;
        }
    }

    /// The ClientKeyExchange of an RSA key exchange, decrypted with a server key: the
    /// master secret (unless the key log gives it).
    fn rsa_key_exchange(&mut self, body: &[u8], ctx: &mut KeyContext<'_>) {
        let (Some(server), Some(hello)) = (&self.server, &self.hello) else {
            return;
        };
        if !server.suite.rsa_key_exchange
            || ctx
                .keys
                .secrets(&hello.random)
                .is_some_and(|s| s.master_secret.is_some())
        {
            return;
        }
        let session_hash = if server.extended_master_secret {
            let Some(t) = &self.transcript else {
                return;
            };
            Some(transcript_hash(server.version, server.suite, t))
        } else {
            None
        };
        for key in ctx.keys.server_keys_for(ctx.server.0, ctx.server.1) {
            // TLS 1.0+: a 2-byte length, then the encrypted secret; SSLv3-style: none.
            let encrypted = if body.len() == key.modulus_len() {
                body
            } else {
                match body.get(2..) {
                    Some(b) if b.len() == key.modulus_len() => b,
                    _ => continue,
                }
            };
            let Some(premaster) = key.decrypt_premaster(encrypted) else {
                self.key_rejected = true;
                continue;
            };
            self.key_rejected = false;
            if let Ok(master) = tls12_master_secret(
                server.version,
                server.suite,
                &premaster,
                &hello.random,
                &server.random,
                session_hash.as_deref(),
            ) {
                self.master = Some(master);
                self.master_from_rsa = true;
                return;
            }
        }
    }

    /// Derives `side`'s record protection for where its direction stands; `false` if the
    /// key is not known.
    fn derive(&mut self, side: Side, ctx: &mut KeyContext<'_>) -> bool {
        let (Some(server), Some(hello)) = (&self.server, &self.hello) else {
            return false;
        };
        let from_client = Some(side) == self.client;
        let secrets = ctx.keys.secrets(&hello.random);
        if server.suite.tls13 {
            let Some(s) = secrets else {
                return false;
            };
            let d = &self.sides[side.index()];
            let secret = match (from_client, d.application) {
                (true, false) => &s.client_handshake_traffic,
                (false, false) => &s.server_handshake_traffic,
                (true, true) => &s.client_application_traffic,
                (false, true) => &s.server_application_traffic,
            };
            let Some(secret) = secret else {
                return false;
            };
            let Ok(cipher) = RecordDecrypter::tls13(server.suite, secret) else {
                return false;
            };
            self.sides[side.index()].cipher = Some(cipher);
            return true;
        }
        let master = match secrets.and_then(|s| s.master_secret) {
            Some(m) => Some(m),
            None => self.master.or_else(|| {
                let resumed = (!server.session_id.is_empty()
                    && server.session_id == hello.session_id)
                    .then(|| ctx.sessions.by_id(&server.session_id))
                    .flatten()
                    .or_else(|| {
                        hello
                            .session_ticket
                            .as_deref()
                            .and_then(|t| ctx.sessions.by_ticket(t))
                    });
                if resumed.is_some() {
                    self.master_from_rsa = true;
                }
                resumed
            }),
        };
        let Some(master) = master else {
            return false;
        };
        self.master = Some(master);
        let Ok([client_write, server_write]) = RecordDecrypter::tls12(
            server.suite,
            server.version,
            &master,
            &hello.random,
            &server.random,
            server.encrypt_then_mac,
        ) else {
            return false;
        };
        let client = self.client.unwrap_or(Side::Initiator);
        let renegotiation = self.sides.iter().any(|d| d.cipher.is_some());
        for (side, cipher) in [(client, client_write), (client.opposite(), server_write)] {
            let d = &mut self.sides[side.index()];
            if renegotiation {
                d.next = Some(cipher);
            } else {
                d.cipher = Some(cipher);
            }
        }
        true
    }

    /// A renegotiation's ChangeCipherSpec from `side`: its records use the new keys from
    /// now on. `false` if they are not known.
    fn switch_keys(&mut self, side: Side, ctx: &mut KeyContext<'_>) -> bool {
        if self.sides[side.index()].next.is_none() {
            // The first ChangeCipherSpec of the new handshake: derive both directions'.
            let derived = self.derive(side, ctx) || (ctx.keys.refresh() && self.derive(side, ctx));
            if !derived {
                return false;
            }
        }
        let d = &mut self.sides[side.index()];
        d.cipher = d.next.take();
        d.cipher.is_some()
    }

    /// Handshake messages decrypted from `side`'s records: TLS 1.3's Finished and
    /// KeyUpdate; a TLS ≤ 1.2 renegotiation's handshake, read as the first one was.
    fn protected_messages(
        &mut self,
        side: Side,
        plain: &[u8],
        ctx: &mut KeyContext<'_>,
        config: &TlsConfig,
        stats: &mut TlsStats,
        out: &mut PlainSink<'_>,
    ) {
        let tls13 = self.server.as_ref().is_some_and(|s| s.suite.tls13);
        let d = &mut self.sides[side.index()];
        if d.messages.len() + plain.len() > config.max_handshake_bytes {
            self.stop_side(side, plain.len(), out);
            return;
        }
        let mut buffered = std::mem::take(&mut d.messages);
        buffered.extend_from_slice(plain);
        let mut pos = 0;
        let mut update = false;
        let mut finished = false;
        while let Some((msg_type, len)) = message_header(&buffered[pos..]) {
            if buffered.len() < pos + 4 + len {
                break;
            }
            match msg_type {
                FINISHED if tls13 => finished = true,
                KEY_UPDATE if tls13 => update = true,
                _ if !tls13 => {
                    let message = &buffered[pos..pos + 4 + len];
                    self.clear_message(side, msg_type, message, ctx, stats);
                }
                _ => {}
            }
            pos += 4 + len;
        }
        buffered.drain(..pos);
        let d = &mut self.sides[side.index()];
        d.messages = buffered;
        if finished && !d.application {
            // The next record uses the application traffic secret (derived when it comes:
            // in live capture its key-log line may not be there yet).
            d.application = true;
            d.cipher = None;
        } else if update {
            if let Some(c) = d.cipher.as_mut() {
                if c.update_traffic_secret().is_err() {
                    stats.decrypt_failed += u64::from(!self.counted_failed);
                    self.counted_failed = true;
                    self.stop_side(side, 1, out);
                }
            }
        }
    }

    /// A TLS 1.3 client's record that fails under the handshake key while nothing of the
    /// client was decrypted yet and it offered early data: 0-RTT data, skipped.
    fn is_skippable_early_data(&self, side: Side) -> bool {
        let d = &self.sides[side.index()];
        Some(side) == self.client
            && self.server.as_ref().is_some_and(|s| s.suite.tls13)
            && !d.application
            && !d.delivered
            && self
                .hello
                .as_ref()
                .is_some_and(|h| h.extensions.contains(&EXT_EARLY_DATA))
    }

    /// Remembers the session of an RSA key exchange once a record proved its master secret
    /// (and each ticket issued for it, which may come after that record), so that a later
    /// resumption (same address pair, same shard) finds it.
    fn remember_session(&mut self, ctx: &mut KeyContext<'_>) {
        let (Some(master), Some(server)) = (self.master, &self.server) else {
            return;
        };
        if !self.session_remembered {
            self.session_remembered = true;
            ctx.sessions.insert_id(&server.session_id, master);
        }
        if let Some(ticket) = self.issued_ticket.take() {
            ctx.sessions.insert_ticket(&ticket, master);
        }
    }

    /// A record of `side` (`len` bytes) failed: wrong keys or corrupt data.
    fn fail(&mut self, side: Side, len: usize, stats: &mut TlsStats, out: &mut PlainSink<'_>) {
        if !self.counted_failed {
            self.counted_failed = true;
            stats.decrypt_failed += 1;
        }
        self.stop_side(side, len, out);
    }

    /// Stops reading `side` at a record of `len` bytes; its plaintext consumer is told that
    /// what follows is missing (at least that record's worth).
    fn stop_side(&mut self, side: Side, len: usize, out: &mut PlainSink<'_>) {
        let d = &mut self.sides[side.index()];
        if d.delivered && !d.stopped {
            out(StreamEvent::Gap {
                side,
                len: len.max(1) as u64,
            });
        }
        self.stop_side_quietly(side);
    }

    fn stop_side_quietly(&mut self, side: Side) {
        let d = &mut self.sides[side.index()];
        d.stopped = true;
        d.pending = Vec::new();
        d.messages = Vec::new();
        d.held = Vec::new();
        d.waiting = false;
        if self.sides.iter().all(|d| d.stopped) {
            self.stop();
        }
    }

    /// The connection cannot be decrypted for want of a key.
    fn no_key(&mut self, stats: &mut TlsStats) {
        if !self.counted_no_key && self.status == Status::Handshake {
            self.counted_no_key = true;
            stats.no_key += 1;
        }
        if self.status == Status::Handshake {
            self.stop();
        } else {
            for d in &mut self.sides {
                if d.waiting {
                    d.stopped = true;
                    d.waiting = false;
                    d.held = Vec::new();
                }
            }
        }
    }

    /// Nothing more is decrypted on this connection.
    fn stop(&mut self) {
        self.status = Status::Stopped;
        self.hello = None;
        self.transcript = None;
        for d in &mut self.sides {
            *d = Direction {
                stopped: true,
                delivered: d.delivered,
                ..Direction::default()
            };
        }
    }
}

/// What to do after a record.
enum Next {
    /// Go on with the next record.
    Go,
    /// The record needs a key not known yet: it and the rest of the direction wait.
    Wait,
}

/// The type and length of the handshake message at the start of `data`, if its header is
/// there.
fn message_header(data: &[u8]) -> Option<(u8, usize)> {
    let h = data.get(..4)?;
    Some((
        h[0],
        (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]),
    ))
}

#[cfg(test)]
mod tests {
    //! Real TLS sessions made in memory by rustls (client and server, with their key log:
    //! [`super::super::testpeer`]), cut into segments and fed to a
    //! [`super::super::TlsConnection`]: the plaintext handed on must be exactly what each
    //! side sent.

    use rustls::crypto::aws_lc_rs::cipher_suite;

    use super::super::decrypt::KeyLog;
    use super::super::keys::{DecryptionConfig, SessionCache, TlsKeys};
    use super::super::testpeer::{converse, Conversation};
    use super::super::{TlsConfig, TlsConnection, TlsStats};
    use super::*;

    /// Feeds `conv` to a connection in pieces of at most `piece` bytes, with `keylog` as the
    /// key log; returns the plaintext of each side and the counters.
    fn decrypt(conv: &Conversation, keylog: &str, piece: usize) -> ([Vec<u8>; 2], TlsStats) {
        let mut log = KeyLog::new();
        log.add_text(keylog, "test").expect("key log");
        let config = TlsConfig {
            decryption: DecryptionConfig {
                keylog: Some(log),
                ..DecryptionConfig::default()
            },
            ..TlsConfig::default()
        };
        let mut keys = TlsKeys::new(&config.decryption);
        let mut sessions = SessionCache::default();
        let mut stats = TlsStats::default();
        let mut conn = TlsConnection::new();
        let mut plain: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
        let server = ("198.51.100.5".parse().expect("ip"), 443);
        for (side, bytes) in &conv.wire.chunks {
            for chunk in bytes.chunks(piece) {
                let out = &mut |e: StreamEvent<'_>| {
                    if let StreamEvent::Data { side, bytes } = e {
                        plain[side.index()].extend_from_slice(bytes);
                    }
                };
                let mut d = Decrypt::new(&mut keys, &mut sessions, server, out);
                conn.on_data(*side, chunk, &config, &mut stats, Some(&mut d));
            }
        }
        (plain, stats)
    }

    /// Every cut of the conversation decrypts to what each side sent.
    fn check(suite: rustls::SupportedCipherSuite, tls13: bool) {
        let conv = converse(suite, tls13);
        for piece in [usize::MAX, 1000, 7, 1] {
            let (plain, stats) = decrypt(&conv, &conv.keylog, piece);
            assert!(
                plain[0] == conv.client_sent,
                "{suite:?} piece {piece}: client"
            );
            assert!(
                plain[1] == conv.server_sent,
                "{suite:?} piece {piece}: server"
            );
            assert_eq!(
                (stats.decrypted, stats.no_key, stats.decrypt_failed),
                (1, 0, 0)
            );
        }
    }

    #[test]
    fn tls13_suites_and_key_updates_decrypt_with_the_key_log() {
        check(cipher_suite::TLS13_AES_128_GCM_SHA256, true);
        check(cipher_suite::TLS13_AES_256_GCM_SHA384, true);
        check(cipher_suite::TLS13_CHACHA20_POLY1305_SHA256, true);
    }

    #[test]
    fn tls12_aead_suites_decrypt_with_the_key_log() {
        check(cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, false);
        check(cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, false);
        check(
            cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
            false,
        );
    }

    #[test]
    fn without_the_key_or_with_a_wrong_one_nothing_is_handed_on_and_it_is_counted() {
        let suite = cipher_suite::TLS13_AES_128_GCM_SHA256;
        let (conv, other) = (converse(suite, true), converse(suite, true));
        let (plain, stats) = decrypt(&conv, &other.keylog, usize::MAX);
        assert!(plain.iter().all(Vec::is_empty));
        assert_eq!(
            (stats.decrypted, stats.no_key, stats.decrypt_failed),
            (0, 1, 0)
        );

        // The right randoms with secrets from another session: the records do not
        // authenticate.
        let mut wrong = String::new();
        for (line, other_line) in conv.keylog.lines().zip(other.keylog.lines()) {
            let mut f: Vec<&str> = line.split(' ').collect();
            if let Some(secret) = other_line.split(' ').nth(2) {
                f[2] = secret;
            }
            wrong.push_str(&f.join(" "));
            wrong.push('\n');
        }
        let (plain, stats) = decrypt(&conv, &wrong, usize::MAX);
        assert!(plain.iter().all(Vec::is_empty));
        assert_eq!((stats.decrypted, stats.decrypt_failed), (0, 1));
    }
}
