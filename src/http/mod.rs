//! HTTP/1.x over reassembled TCP streams → [`HttpTransaction`]s, as IIS/ASP.NET saw them.
//!
//! An [`HttpConnection`] takes the two byte streams of one TCP connection (from
//! [`crate::stream`]) and recognises HTTP by content, on any port: the side that sends a
//! request line is the client. Requests are parsed with `httparse`, the IIS way; responses the
//! lenient way libhtp (Suricata's parser) and browsers read them ([`response_head`]), so that
//! evasive responses (HTTP Evader) are still inspected. Bodies are framed by Content-Length or
//! chunked encoding (extensions and trailers), dechunked and, when `Content-Encoding` says so,
//! gzip/deflate-decoded up to a body limit. Keep-alive and
//! pipelining give many transactions per connection; each response is paired with its request
//! (HEAD, 1xx, 204 and 304 carry no body; `Expect: 100-continue` is followed). After a gap the
//! parser skips to the next request line. A stream that is not HTTP, or turns to garbage, is
//! dropped from HTTP parsing and counted.
//!
//! Every request keeps its bytes as on the wire (request line, header block) and the IIS view
//! of them: the path normalised as IIS does before routing ([`normalize`]) and the cookies
//! split as ASP.NET splits them ([`cookie`]), and the host it names is read once, as libhtp
//! reads it ([`host`]).
//!
//! A response body is kept up to the body limit only while some rule may inspect it: the
//! caller says whether one may ([`HttpConnection::set_response_bodies_inspected`], from the
//! flow's flowbits), and when none may, a response whose request is over and inspected, and
//! whose body is not encoded, keeps its first [`RESPONSE_BODY_PREFIX`] bytes — what an alert's
//! payload shows — and counts the rest. Synthetic Exchange traffic, whose bytes are mostly
//! attachments and OAB files answering benign requests, was copied into bodies up to 1 MiB
//! each for rules that could never look at them.
//!
//! Layout: `parser` parses heads and finds message starts (no state), `response_head` reads
//! response heads as libhtp does, `body` frames bodies
//! (Content-Length, chunked, until close), `decode` undoes gzip/deflate, and `connection` holds
//! the per-connection state machine that ties them together.

mod body;
mod connection;
pub mod cookie;
mod decode;
pub mod fields;
pub mod host;
pub mod normalize;
mod parser;
mod response_head;
pub mod start_line;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use crate::flow::Side;
use crate::time::Timestamp;

pub use connection::{ClosedHttp, HttpConnection};
pub use cookie::{Cookie, Cookies};
pub use fields::Field;
use fields::FieldList;
pub use normalize::NormalizedUri;
pub use start_line::StartLine;

/// Bytes of a response body kept when no rule may inspect it: an alert's payload shows the
/// message up to 4 KiB (Suricata's default payload buffer), head included.
pub const RESPONSE_BODY_PREFIX: usize = 4096;

/// HTTP parsing limits.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Bytes of each request body kept (after dechunking and decoding). By default 1 MiB.
    pub request_body_limit: usize,
    /// Bytes of each response body kept (after dechunking and decoding). By default 1 MiB.
    pub response_body_limit: usize,
    /// Nested Content-Encoding layers decoded at most. By default 2.
    pub decompress_layers: usize,
    /// Decode `Content-Encoding: lzma` too. By default off (as in Suricata: an LZMA layer may
    /// need up to 1 MiB of dictionary memory).
    pub decompress_lzma: bool,
    /// Bytes a request line plus headers may take before the stream is declared garbage. By
    /// default 64 KiB.
    pub max_header_bytes: usize,
    /// Header lines per message at most. By default 1024.
    pub max_headers: usize,
    /// Requests waiting for their response at most (pipelining depth); past it the oldest is
    /// completed without a response and counted in [`HttpStats::pending_overflows`]. By default
    /// 512.
    pub max_pending: usize,
    /// Bytes of request bodies that the requests waiting for their response may hold in all;
    /// past it the oldest waiting request is completed without a response (counted in
    /// [`HttpStats::pending_overflows`]). Bounds what one connection can make the sensor hold
    /// to about this plus one body limit. By default 16 MiB.
    pub max_pending_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            request_body_limit: 1 << 20,
            response_body_limit: 1 << 20,
            decompress_layers: 2,
            decompress_lzma: false,
            max_header_bytes: 64 << 10,
            max_headers: 1024,
            max_pending: 512,
            max_pending_bytes: 16 << 20,
        }
    }
}

/// HTTP counters of one worker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpStats {
    /// Connections recognised as HTTP.
    pub connections: u64,
    /// Transactions completed (handed out by [`HttpConnection::take_completed`]).
    pub transactions: u64,
    /// Requests parsed.
    pub requests: u64,
    /// Responses parsed.
    pub responses: u64,
    /// Connections whose first bytes were not HTTP, dropped from HTTP parsing.
    pub not_http: u64,
    /// Connections that turned to garbage after speaking HTTP, dropped from HTTP parsing.
    pub garbage: u64,
    /// Times the parser skipped to the next request line after a gap.
    pub resyncs: u64,
    /// Bodies cut at the body limit.
    pub bodies_truncated: u64,
    /// Bodies whose Content-Encoding could not be decoded.
    pub decode_errors: u64,
    /// Requests given up on (completed without a response) because `max_pending` requests, or
    /// `max_pending_bytes` of their bodies, were already waiting.
    pub pending_overflows: u64,
}

/// The packet that delivered some bytes: its capture time and its number in the capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PacketRef {
    /// Capture time.
    pub ts: Timestamp,
    /// Packet number, counted from 1 over the whole replay (Suricata's `pcap_cnt`).
    pub pcap_cnt: u64,
}

/// One header line, as on the wire (name case kept; value without surrounding whitespace),
/// borrowed from its [`Headers`].
pub type Header<'a> = Field<'a>;

/// The header lines of a message, in wire order, duplicates kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(FieldList);

impl Headers {
    /// Headers from (name, value) pairs, in order.
    pub fn from_pairs<N: AsRef<[u8]>, V: AsRef<[u8]>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Headers {
        let mut h = Headers::default();
        for (n, v) in pairs {
            h.push(n.as_ref(), v.as_ref());
        }
        h
    }

    /// Empty headers with room for `lines` lines of `bytes` bytes of names and values.
    pub fn with_capacity(lines: usize, bytes: usize) -> Headers {
        Headers(FieldList::with_capacity(lines, bytes))
    }

    /// Empty headers over `block`, the header block (as on the wire, up to and including the
    /// empty line) they will be read from, with room for `lines` lines and `extra` bytes of
    /// lines not sent as `Name: value` (see [`FieldList::over_block`]).
    pub(crate) fn over_block(block: &[u8], lines: usize, extra: usize) -> Headers {
        Headers(FieldList::over_block(block, lines, extra))
    }

    /// Adds the header line sent as `Name: value` at `block[name_at..end]`, the name
    /// `name_len` bytes long; false, and nothing added, when it is not such a line there.
    pub(crate) fn push_in_block(&mut self, name_at: usize, name_len: usize, end: usize) -> bool {
        self.0.push_in_block(name_at, name_len, end)
    }

    /// Puts the header block they were read from before headers built line by line (see
    /// [`FieldList::put_block_first`]).
    pub fn put_block_first(&mut self, block: &[u8]) {
        self.0.put_block_first(block);
    }

    /// The header block as on the wire, up to and including the empty line (empty when the
    /// headers were not read from one).
    pub fn block(&self) -> &[u8] {
        self.0.block()
    }

    /// Adds a header line.
    pub fn push(&mut self, name: &[u8], value: &[u8]) {
        self.0.push(name, value);
    }

    /// Adds the header line `line`, `Name: value` as stored: the name is `line[..name_len]`,
    /// `": "` follows it.
    pub(crate) fn push_joined(&mut self, line: &[u8], name_len: usize) {
        self.0.push_joined(line, name_len);
    }

    /// Appends `more` to the value of the last header line (a continuation line); nothing
    /// when there is none.
    pub fn extend_last_value(&mut self, more: &[u8]) {
        self.0.extend_last_value(more);
    }

    /// The number of header lines.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no header lines.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The header line at `index`.
    pub fn line(&self, index: usize) -> Option<Header<'_>> {
        self.0.get(index)
    }

    /// The header lines.
    pub fn iter(&self) -> impl Iterator<Item = Header<'_>> + '_ {
        self.0.iter()
    }

    /// The header block, then the text `Name: value` of the lines not sent that way: each
    /// line of [`Headers::iter_with_lines`] is a slice of it.
    pub fn bytes(&self) -> &[u8] {
        self.0.bytes()
    }

    /// The header lines, each with its text `Name: value` (the value's trailing spaces and
    /// tabs left out), borrowed.
    pub fn iter_with_lines(&self) -> impl Iterator<Item = (Header<'_>, &[u8])> + '_ {
        self.0.iter_with_lines()
    }

    /// The first value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.all(name).next()
    }

    /// Every value of `name` (case-insensitive), in wire order.
    pub fn all<'h, 'n>(&'h self, name: &'n str) -> impl Iterator<Item = &'h [u8]> + use<'h, 'n> {
        self.0.values_of(name.as_bytes())
    }

    /// Every value of the lines whose name is `name` once its NUL bytes are left out (ASCII
    /// case ignored), in wire order: libhtp's and browsers' reading of response headers.
    /// `name` holds no NUL byte.
    pub(crate) fn values_nocase_nozero<'h, 'n>(
        &'h self,
        name: &'n [u8],
    ) -> impl Iterator<Item = &'h [u8]> + use<'h, 'n> {
        self.0
            .names_at_least(name.len())
            .filter(move |h| body::eq_nocase_nozero(h.name, name))
            .map(|h| h.value)
    }

    /// Every value of `name` joined with `", "`, as Suricata presents duplicate headers.
    pub fn joined(&self, name: &str) -> Option<Vec<u8>> {
        let mut out: Option<Vec<u8>> = None;
        for v in self.all(name) {
            match out.as_mut() {
                None => out = Some(v.to_vec()),
                Some(o) => {
                    o.extend_from_slice(b", ");
                    o.extend_from_slice(v);
                }
            }
        }
        out
    }

    /// The value of `name`: borrowed when it occurs once, every value [`Headers::joined`]
    /// when it occurs more than once.
    pub fn value(&self, name: &str) -> Option<Cow<'_, [u8]>> {
        let mut values = self.all(name);
        let first = values.next()?;
        match values.next() {
            None => Some(Cow::Borrowed(first)),
            Some(_) => self.joined(name).map(Cow::Owned),
        }
    }

    /// Heap bytes held (for the memory budget).
    pub fn heap_bytes(&self) -> usize {
        self.0.heap_bytes()
    }
}

/// Heap bytes of a byte string (its capacity).
fn vec_bytes(v: &Vec<u8>) -> usize {
    v.capacity()
}

impl HttpRequest {
    /// The request line without its line ending.
    pub fn request_line(&self) -> &[u8] {
        self.line.text()
    }

    /// Method token.
    pub fn method(&self) -> &[u8] {
        self.line.part(0)
    }

    /// Request-target exactly as sent.
    pub fn target(&self) -> &[u8] {
        self.line.part(1)
    }

    /// Protocol, e.g. `HTTP/1.1`.
    pub fn protocol(&self) -> &[u8] {
        self.line.part(2)
    }

    /// The header block as on the wire: every line after the request line up to and
    /// including the empty line.
    pub fn raw_headers(&self) -> &[u8] {
        self.headers.block()
    }

    /// Heap bytes held (for the memory budget).
    pub fn heap_bytes(&self) -> usize {
        let u = &self.uri;
        self.line.heap_bytes()
            + vec_bytes(&self.body)
            + vec_bytes(&u.path)
            + u.query_raw.as_ref().map_or(0, vec_bytes)
            + u.query_decoded.as_ref().map_or(0, vec_bytes)
            + self.headers.heap_bytes()
            + self.trailers.heap_bytes()
            + self.cookies.heap_bytes()
    }
}

impl HttpResponse {
    /// The status line without its line ending.
    pub fn response_line(&self) -> &[u8] {
        self.line.text()
    }

    /// Protocol, e.g. `HTTP/1.1`.
    pub fn protocol(&self) -> &[u8] {
        self.line.part(0)
    }

    /// Reason phrase.
    pub fn reason(&self) -> &[u8] {
        self.line.part(2)
    }

    /// The header block as on the wire, up to and including the empty line.
    pub fn raw_headers(&self) -> &[u8] {
        self.headers.block()
    }

    /// Heap bytes held (for the memory budget).
    pub fn heap_bytes(&self) -> usize {
        self.line.heap_bytes()
            + vec_bytes(&self.body)
            + self.headers.heap_bytes()
            + self.trailers.heap_bytes()
    }
}

impl HttpTransaction {
    /// Heap bytes held (for the memory budget).
    pub fn heap_bytes(&self) -> usize {
        self.request.heap_bytes() + self.response.as_ref().map_or(0, HttpResponse::heap_bytes)
    }
}

/// An anomaly the HTTP parser noticed in a request: something the server may read another
/// way (or refuse) than exhound does. Rules test them with `app-layer-event:http.<name>`
/// (Suricata's names where Suricata has the event), EVE `http` records list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpEvent {
    /// A header line continued on the next line (obs-fold): exhound joins it to the header
    /// with a space, as RFC 9112 allows; whether HTTP.sys joins or refuses it is unverified.
    RequestFieldFolding,
    /// An absolute-form request target names another host than the `Host` header: HTTP.sys
    /// routes by the target's, ASP.NET builds `Request.Url` from the header's.
    HostHeaderAmbiguous,
    /// A chunk-size line with an extension (`5;name=value`).
    RequestChunkExtension,
    /// Both `Transfer-Encoding: chunked` and `Content-Length`: HTTP.sys reads the body as
    /// chunked, as exhound does; an intermediary might not.
    RequestTeAndCl,
    /// Two `Content-Length` headers with different values (HTTP.sys answers 400).
    DuplicateContentLength,
    /// More than one `Cookie` header line: exhound's `http.cookie` joins them with `", "` as
    /// Suricata does, and ASP.NET splits cookies on `;` only, so a cookie on the second line is
    /// a cookie to the application only if HTTP.sys joins the lines with `"; "` (unverified).
    RequestCookieLines,
}

impl HttpEvent {
    /// Every event.
    pub const ALL: [HttpEvent; 6] = [
        HttpEvent::RequestFieldFolding,
        HttpEvent::HostHeaderAmbiguous,
        HttpEvent::RequestChunkExtension,
        HttpEvent::RequestTeAndCl,
        HttpEvent::DuplicateContentLength,
        HttpEvent::RequestCookieLines,
    ];

    /// The name rules and EVE records use.
    pub fn name(self) -> &'static str {
        match self {
            HttpEvent::RequestFieldFolding => "invalid_request_field_folding",
            HttpEvent::HostHeaderAmbiguous => "host_header_ambiguous",
            HttpEvent::RequestChunkExtension => "request_chunk_extension",
            HttpEvent::RequestTeAndCl => "request_transfer_encoding_and_content_length",
            HttpEvent::DuplicateContentLength => "duplicate_content_length_field_in_request",
            HttpEvent::RequestCookieLines => "request_multiple_cookie_lines",
        }
    }

    /// The event called `name`.
    pub fn from_name(name: &str) -> Option<HttpEvent> {
        HttpEvent::ALL.into_iter().find(|e| e.name() == name)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// A set of [`HttpEvent`]s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HttpEvents(u32);

impl HttpEvents {
    /// Adds `e`.
    pub fn insert(&mut self, e: HttpEvent) {
        self.0 |= e.bit();
    }

    /// Whether `e` is in the set.
    pub fn contains(self, e: HttpEvent) -> bool {
        self.0 & e.bit() != 0
    }

    /// The events in the set.
    pub fn iter(self) -> impl Iterator<Item = HttpEvent> {
        HttpEvent::ALL
            .into_iter()
            .filter(move |e| self.contains(*e))
    }

    /// True when there is none.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpRequest {
    /// The request line without its line ending, with its method, target and protocol
    /// ([`HttpRequest::method`], [`HttpRequest::target`], [`HttpRequest::protocol`]).
    pub line: StartLine,
    /// Parsed header lines, with the header block as on the wire
    /// ([`HttpRequest::raw_headers`]).
    pub headers: Headers,
    /// The target as IIS routes it.
    pub uri: NormalizedUri,
    /// Cookies from every `Cookie` line, split as ASP.NET splits them, in wire order.
    pub cookies: Cookies,
    /// Body after dechunking and content decoding, up to the body limit.
    pub body: Vec<u8>,
    /// Body bytes on the wire after dechunking (before content decoding).
    pub body_len: u64,
    /// Trailer lines of a chunked body.
    pub trailers: Headers,
    /// Anomalies the parser noticed.
    pub events: HttpEvents,
}

/// A response as the client saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status line without its line ending, with its protocol, status digits and reason
    /// ([`HttpResponse::protocol`], [`HttpResponse::reason`]).
    pub line: StartLine,
    /// Status code.
    pub status: u16,
    /// Parsed header lines, with the header block as on the wire
    /// ([`HttpResponse::raw_headers`]).
    pub headers: Headers,
    /// Body after dechunking and content decoding, up to the body limit.
    pub body: Vec<u8>,
    /// Body bytes on the wire after dechunking (before content decoding).
    pub body_len: u64,
    /// Trailer lines of a chunked body.
    pub trailers: Headers,
}

/// Anomalies seen on a transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxFlags {
    /// Part of the request was lost to a capture gap.
    pub request_gap: bool,
    /// Part of the response was lost to a capture gap.
    pub response_gap: bool,
    /// The request body went past the body limit.
    pub request_body_truncated: bool,
    /// The response body went past the body limit.
    pub response_body_truncated: bool,
    /// The connection ended before the transaction completed.
    pub incomplete: bool,
    /// The TCP connection was picked up without its handshake (set by the pipeline).
    pub midstream: bool,
}

/// One request and, when seen, its response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpTransaction {
    /// Index of the transaction in its connection, from 0.
    pub tx_id: u64,
    /// Which TCP side is the client.
    pub client: Option<Side>,
    /// The request.
    pub request: HttpRequest,
    /// The response, when one was seen.
    pub response: Option<HttpResponse>,
    /// The packet that carried the start of the request.
    pub request_at: PacketRef,
    /// The packet that completed the transaction (or the last one seen for it).
    pub completed_at: PacketRef,
    /// Anomalies.
    pub flags: TxFlags,
}
