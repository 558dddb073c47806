//! The inspection buffers of one side of an HTTP transaction, with Suricata's semantics
//! (`anchors.md` §3.2), computed on first use and kept for the other rules.
//!
//! Headers are first merged as libhtp merges them: one entry per name (case-insensitive, the
//! first spelling kept), repeated values joined with `", "`. From that:
//! `http.header` is `Name: value\r\n` per header without `Cookie` (request) / `Set-Cookie`
//! (response); `http.header_names` is `\r\n` + the names joined with `\r\n` + `\r\n\r\n`;
//! `http.start` is the start line, `\r\n`, every header line, and `\r\n`;
//! `http.request_header` / `http.response_header` give one `Name: value` buffer per header.
//! Single-header buffers (`http.user_agent`, `http.cookie`, …) hold the merged value.
//! `http.host` comes from an absolute-form URI when there is one, else the `Host` header,
//! lower-cased, without port or trailing dot; `http.host.raw` is the same unnormalised.
//! The payload of a transaction side is its head as sent plus its (decoded) body.
//! A buffer that does not exist (no such header, no body, no response) is `None`: no rule
//! inspecting it can match, not even a negated one; a header with an empty value is an
//! empty buffer.
//!
//! Transforms are applied per rule buffer and cached by (buffer, transform chain).
//!
//! The TLS buffers ([`TlsBuffers`]) come from a connection's handshake as the `tls` record
//! writes it: server name, the server certificate's subject, issuer, serial and SHA-1
//! fingerprint (Suricata's spellings), each certificate of the chain (DER), JA3/JA3S hash and
//! string, JA4. A field the handshake did not show (no certificate in TLS 1.3) is `None`.

use std::borrow::Cow;

use crate::http::{
    host, Header, Headers, HttpRequest, HttpResponse, HttpTransaction, NormalizedUri,
};

use super::rule::{Buffer, BufferRef};
use crate::tls::TlsInfo;

/// Which message of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxSide {
    /// The request (inspected to_server).
    Request,
    /// The response (inspected to_client).
    Response,
}

/// Suricata's `http.uri`: the normalised path, then `?` and the decoded query when there is
/// one (what [`NormalizedUri::to_bytes`] documents).
/// Borrowed when there is no query.
fn uri_bytes(uri: &NormalizedUri) -> Cow<'_, [u8]> {
    let Some(q) = &uri.query_decoded else {
        return Cow::Borrowed(&uri.path);
    };
    let mut out = Vec::with_capacity(uri.path.len() + 1 + q.len());
    out.extend_from_slice(&uri.path);
    out.push(b'?');
    out.extend_from_slice(q);
    Cow::Owned(out)
}

/// One entry of the merged header view: the first spelling of a name, and its values joined
/// with `", "` (borrowed when the name occurs once).
pub(crate) struct MergedHeader<'a> {
    name: &'a [u8],
    value: Cow<'a, [u8]>,
    /// `Name: value` (trailing blanks left out) as one slice of the header list, while the
    /// name occurs once: `http.request_header` borrows it instead of building it.
    line: Option<&'a [u8]>,
}

impl<'a> MergedHeader<'a> {
    fn first(h: Header<'a>, line: &'a [u8]) -> MergedHeader<'a> {
        MergedHeader {
            name: h.name,
            value: Cow::Borrowed(h.value),
            line: Some(line),
        }
    }

    fn join(&mut self, value: &[u8]) {
        let v = self.value.to_mut();
        v.extend_from_slice(b", ");
        v.extend_from_slice(value);
        self.line = None;
    }
}

/// Lists at most this long are merged by comparing each name with the entries so far.
const LINEAR_MERGE: usize = 32;

/// A hash of `name` that is the same for every spelling of it in ASCII case: eight bytes at a
/// time with bit 0x20 set in each (which maps `A` and `a` together, and some other pairs too:
/// those are only collisions, told apart by comparing the names).
fn folded_hash(name: &[u8]) -> u64 {
    const FOLD: u64 = 0x2020_2020_2020_2020;
    let mix = |h: u64, w: u64| {
        (h ^ (w | FOLD))
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29)
    };
    let mut chunks = name.chunks_exact(8);
    let mut h = name.len() as u64;
    for c in &mut chunks {
        h = mix(h, <[u8; 8]>::try_from(c).map_or(0, u64::from_le_bytes));
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut last = [0u8; 8];
        last[..tail.len()].copy_from_slice(tail);
        h = mix(h, u64::from_le_bytes(last));
    }
    // Names that differ in a byte or two (X-H0001, X-H0002, …) must spread over the table.
    h ^= h >> 32;
    h = h.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    h ^ (h >> 32)
}

/// Headers merged the way libhtp presents them, in order of first appearance. Longer lists
/// find each name's entry through a hash table, so that a request with thousands of header
/// lines costs one lookup per line, not a comparison with every name before it. (The table
/// only finds entries; the output order is the wire order, whatever the hashes.)
pub(crate) fn merge_headers(headers: &Headers) -> Vec<MergedHeader<'_>> {
    let mut out: Vec<MergedHeader<'_>> = Vec::with_capacity(headers.len());
    if headers.len() <= LINEAR_MERGE {
        for (h, line) in headers.iter_with_lines() {
            match out.iter_mut().find(|o| o.name.eq_ignore_ascii_case(h.name)) {
                Some(o) => o.join(h.value),
                None => out.push(MergedHeader::first(h, line)),
            }
        }
        return out;
    }
    // Open addressing over the entries' indices, keyed by the case-folded hash of the name;
    // an equal hash is confirmed by comparing the names.
    let size = (headers.len() * 2).next_power_of_two();
    let mask = size - 1;
    let mut table = vec![u32::MAX; size];
    let mut hashes: Vec<u64> = Vec::with_capacity(headers.len());
    for (h, line) in headers.iter_with_lines() {
        let hash = folded_hash(h.name);
        let mut at = hash as usize & mask;
        loop {
            let entry = table[at] as usize;
            if entry == u32::MAX as usize {
                table[at] = out.len() as u32;
                hashes.push(hash);
                out.push(MergedHeader::first(h, line));
                break;
            }
            if hashes[entry] == hash && out[entry].name.eq_ignore_ascii_case(h.name) {
                out[entry].join(h.value);
                break;
            }
            at = (at + 1) & mask;
        }
    }
    out
}

fn trim_end_ws(v: &[u8]) -> &[u8] {
    let end = v
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(0, |p| p + 1);
    &v[..end]
}

/// Computes one buffer of one side (untransformed). Multi-buffers give every instance;
/// `None` means the buffer does not exist.
pub fn compute<'a>(
    tx: &'a HttpTransaction,
    side: TxSide,
    buffer: Buffer,
) -> Option<Vec<Cow<'a, [u8]>>> {
    compute_with(tx, side, buffer, &mut None)
}

/// [`compute`], with the side's merged headers kept in `merged` once made (several buffers
/// are built from them).
fn compute_with<'a>(
    tx: &'a HttpTransaction,
    side: TxSide,
    buffer: Buffer,
    merged: &mut Option<Vec<MergedHeader<'a>>>,
) -> Option<Vec<Cow<'a, [u8]>>> {
    let one = |v: Cow<'a, [u8]>| Some(vec![v]);
    match side {
        TxSide::Request => request_buffer(&tx.request, buffer, one, merged),
        TxSide::Response => {
            let resp = tx.response.as_ref()?;
            response_buffer(resp, buffer, one, merged)
        }
    }
}

/// The merged view of `headers`, made on first use.
fn merged<'m, 'a>(
    slot: &'m mut Option<Vec<MergedHeader<'a>>>,
    headers: &'a Headers,
) -> &'m [MergedHeader<'a>] {
    slot.get_or_insert_with(|| merge_headers(headers))
}

type One<'a> = fn(Cow<'a, [u8]>) -> Option<Vec<Cow<'a, [u8]>>>;

fn header_block(merged: &[MergedHeader<'_>], skip: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for h in merged
        .iter()
        .filter(|h| !h.name.eq_ignore_ascii_case(skip.as_bytes()))
    {
        out.extend_from_slice(h.name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(trim_end_ws(&h.value));
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn header_names(merged: &[MergedHeader<'_>]) -> Vec<u8> {
    let len = merged.iter().map(|h| h.name.len() + 2).sum::<usize>() + 4;
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(b"\r\n");
    for h in merged {
        out.extend_from_slice(h.name);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn start(line: &[u8], merged: &[MergedHeader<'_>]) -> Vec<u8> {
    let mut out = line.to_vec();
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&header_block(merged, ""));
    out.extend_from_slice(b"\r\n");
    out
}

/// `Name: value` of one merged header: borrowed from the header list while the name occurs
/// once, built when its values were joined.
fn header_line<'a>(h: &MergedHeader<'a>) -> Cow<'a, [u8]> {
    if let Some(line) = h.line {
        return Cow::Borrowed(line);
    }
    let mut v = h.name.to_vec();
    v.extend_from_slice(b": ");
    v.extend_from_slice(trim_end_ws(&h.value));
    Cow::Owned(v)
}

fn per_header<'a>(merged: &[MergedHeader<'a>]) -> Option<Vec<Cow<'a, [u8]>>> {
    if merged.is_empty() {
        return None;
    }
    Some(merged.iter().map(header_line).collect())
}

fn head_and_body(line: &[u8], raw_headers: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len() + 2 + raw_headers.len() + body.len());
    out.extend_from_slice(line);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(raw_headers);
    out.extend_from_slice(body);
    out
}

fn non_empty(v: &[u8]) -> Option<Cow<'_, [u8]>> {
    (!v.is_empty()).then_some(Cow::Borrowed(v))
}

fn request_buffer<'a>(
    req: &'a HttpRequest,
    buffer: Buffer,
    one: One<'a>,
    m: &mut Option<Vec<MergedHeader<'a>>>,
) -> Option<Vec<Cow<'a, [u8]>>> {
    let h = &req.headers;
    let hv = |name: &str| h.value(name).and_then(one);
    match buffer {
        Buffer::Payload => one(Cow::Owned(head_and_body(
            &req.request_line,
            &req.raw_headers,
            &req.body,
        ))),
        Buffer::HttpUri => one(uri_bytes(&req.uri)),
        Buffer::HttpUriRaw => one(Cow::Borrowed(&req.target)),
        Buffer::HttpMethod => non_empty(&req.method).and_then(one),
        Buffer::HttpProtocol => non_empty(&req.protocol).and_then(one),
        Buffer::HttpRequestLine => one(Cow::Borrowed(&req.request_line)),
        Buffer::HttpHeader => {
            let b = header_block(merged(m, h), "cookie");
            (!b.is_empty()).then(|| vec![Cow::Owned(b)])
        }
        Buffer::HttpHeaderRaw => non_empty(&req.raw_headers).and_then(one),
        Buffer::HttpHeaderNames => {
            let m = merged(m, h);
            (!m.is_empty()).then(|| vec![Cow::Owned(header_names(m))])
        }
        Buffer::HttpCookie => hv("Cookie"),
        Buffer::HttpUserAgent => hv("User-Agent"),
        Buffer::HttpHost => one(Cow::Owned(host::hostname(req)?.0)),
        Buffer::HttpHostRaw => one(host::raw_host(req)?),
        Buffer::HttpReferer => hv("Referer"),
        Buffer::HttpContentType => hv("Content-Type"),
        Buffer::HttpContentLen => hv("Content-Length"),
        Buffer::HttpAccept => hv("Accept"),
        Buffer::HttpAcceptEnc => hv("Accept-Encoding"),
        Buffer::HttpAcceptLang => hv("Accept-Language"),
        Buffer::HttpConnection => hv("Connection"),
        Buffer::HttpRequestBody => non_empty(&req.body).and_then(one),
        Buffer::HttpStart => one(Cow::Owned(start(&req.request_line, merged(m, h)))),
        Buffer::HttpRequestHeader => per_header(merged(m, h)),
        _ => None,
    }
}

fn response_buffer<'a>(
    resp: &'a HttpResponse,
    buffer: Buffer,
    one: One<'a>,
    m: &mut Option<Vec<MergedHeader<'a>>>,
) -> Option<Vec<Cow<'a, [u8]>>> {
    let h = &resp.headers;
    let hv = |name: &str| h.value(name).and_then(one);
    match buffer {
        Buffer::Payload => one(Cow::Owned(head_and_body(
            &resp.response_line,
            &resp.raw_headers,
            &resp.body,
        ))),
        Buffer::HttpProtocol => non_empty(&resp.protocol).and_then(one),
        Buffer::HttpHeader => {
            let b = header_block(merged(m, h), "set-cookie");
            (!b.is_empty()).then(|| vec![Cow::Owned(b)])
        }
        Buffer::HttpHeaderRaw => non_empty(&resp.raw_headers).and_then(one),
        Buffer::HttpHeaderNames => {
            let m = merged(m, h);
            (!m.is_empty()).then(|| vec![Cow::Owned(header_names(m))])
        }
        Buffer::HttpCookie => hv("Set-Cookie"),
        Buffer::HttpContentType => hv("Content-Type"),
        Buffer::HttpContentLen => hv("Content-Length"),
        Buffer::HttpStatCode => one(Cow::Owned(resp.status.to_string().into_bytes())),
        Buffer::HttpStatMsg => non_empty(&resp.reason).and_then(one),
        Buffer::HttpResponseLine => one(Cow::Borrowed(&resp.response_line)),
        Buffer::HttpResponseBody | Buffer::FileData => non_empty(&resp.body).and_then(one),
        Buffer::HttpServer => hv("Server"),
        Buffer::HttpLocation => hv("Location"),
        Buffer::HttpStart => one(Cow::Owned(start(&resp.response_line, merged(m, h)))),
        Buffer::HttpResponseHeader => per_header(merged(m, h)),
        _ => None,
    }
}

/// One TLS buffer of a handshake (untransformed); `None` when the handshake did not tell it.
/// `tls.certs` gives one instance per certificate of the chain.
pub fn tls_buffer(tls: &TlsInfo, buffer: Buffer) -> Option<Vec<Cow<'_, [u8]>>> {
    fn one(v: &[u8]) -> Option<Vec<Cow<'_, [u8]>>> {
        Some(vec![Cow::Borrowed(v)])
    }
    let cert = tls.server_certificate.as_ref();
    match buffer {
        Buffer::TlsSni => one(tls.sni()?),
        Buffer::TlsCertSubject => one(cert?.subject.as_bytes()),
        Buffer::TlsCertIssuer => one(cert?.issuer.as_bytes()),
        Buffer::TlsCertSerial => one(cert?.serial.as_bytes()),
        Buffer::TlsCertFingerprint => one(cert?.fingerprint.as_bytes()),
        Buffer::TlsCerts => (!tls.certificates.is_empty()).then(|| {
            tls.certificates
                .iter()
                .map(|c| Cow::Borrowed(c.as_slice()))
                .collect()
        }),
        Buffer::Ja3Hash => one(tls.ja3.as_ref()?.hash.as_bytes()),
        Buffer::Ja3String => one(tls.ja3.as_ref()?.string.as_bytes()),
        Buffer::Ja3sHash => one(tls.ja3s.as_ref()?.hash.as_bytes()),
        Buffer::Ja3sString => one(tls.ja3s.as_ref()?.string.as_bytes()),
        Buffer::Ja4Hash => one(tls.ja4.as_deref()?.as_bytes()),
        _ => None,
    }
}

/// The TLS buffers of one handshake, computed on first use (transformed ones cached).
pub struct TlsBuffers<'a> {
    tls: &'a TlsInfo,
    cache: Vec<(BufferRef, Option<Instances<'a>>)>,
}

impl<'a> TlsBuffers<'a> {
    /// An empty cache for `tls`.
    pub fn new(tls: &'a TlsInfo) -> TlsBuffers<'a> {
        TlsBuffers {
            tls,
            cache: Vec::new(),
        }
    }

    /// The instances of a (transformed) buffer; `None` when it does not exist.
    pub fn get(&mut self, key: &BufferRef) -> Option<&[Cow<'a, [u8]>]> {
        let pos = match self.cache.iter().position(|(k, _)| k == key) {
            Some(p) => p,
            None => {
                let value = tls_buffer(self.tls, key.buffer).map(|inst| {
                    if key.transforms.is_empty() {
                        return inst;
                    }
                    inst.iter()
                        .map(|b| Cow::Owned(key.transform(b).into_owned()))
                        .collect()
                });
                self.cache.push((key.clone(), value));
                self.cache.len() - 1
            }
        };
        self.cache[pos].1.as_deref()
    }
}

/// Every instance of one buffer (one for most buffers, one per header for the multi-buffers).
pub type Instances<'a> = Vec<Cow<'a, [u8]>>;

/// Where a rule's content lists find their buffers: a transaction side's or a handshake's.
pub trait BufferSource<'a> {
    /// The instances of a (transformed) buffer; `None` when it does not exist.
    fn instances(&mut self, key: &BufferRef) -> Option<&[Cow<'a, [u8]>]>;
}

impl<'a> BufferSource<'a> for TxBuffers<'a> {
    fn instances(&mut self, key: &BufferRef) -> Option<&[Cow<'a, [u8]>]> {
        self.get(key)
    }
}

impl<'a> BufferSource<'a> for TlsBuffers<'a> {
    fn instances(&mut self, key: &BufferRef) -> Option<&[Cow<'a, [u8]>]> {
        self.get(key)
    }
}

/// Buffers of one transaction side, computed on first use.
pub struct TxBuffers<'a> {
    tx: &'a HttpTransaction,
    side: TxSide,
    cache: Vec<(BufferRef, Option<Instances<'a>>)>,
    merged: Option<Vec<MergedHeader<'a>>>,
}

impl<'a> TxBuffers<'a> {
    /// An empty cache for `side` of `tx`.
    pub fn new(tx: &'a HttpTransaction, side: TxSide) -> TxBuffers<'a> {
        TxBuffers {
            tx,
            side,
            // Rule sets read a handful of buffers per side: one allocation, not three growths.
            cache: Vec::with_capacity(8),
            merged: None,
        }
    }

    /// The instances of a (transformed) buffer; `None` when it does not exist.
    pub fn get(&mut self, key: &BufferRef) -> Option<&[Cow<'a, [u8]>]> {
        let pos = match self.cache.iter().position(|(k, _)| k == key) {
            Some(p) => p,
            None => {
                let value = if key.transforms.is_empty() {
                    compute_with(self.tx, self.side, key.buffer, &mut self.merged)
                } else {
                    let base = BufferRef::plain(key.buffer);
                    self.get(&base).map(|inst| {
                        inst.iter()
                            .map(|b| match b {
                                Cow::Borrowed(data) => key.transform(data),
                                Cow::Owned(data) => Cow::Owned(key.transform(data).into_owned()),
                            })
                            .collect::<Vec<_>>()
                    })
                };
                self.cache.push((key.clone(), value));
                self.cache.len() - 1
            }
        };
        self.cache[pos].1.as_deref()
    }

    /// Hands `scan` bytes that hold every instance of `key`, for a prefilter: a pattern in
    /// any instance is in them (they may hold more, which costs a candidate, never a miss).
    /// The per-header buffers borrow their lines from one run of bytes, which is scanned
    /// once instead of once per line (a request with 1,000 header lines made 1,000 short
    /// scans); the lines of a repeated name, joined into a new value, are scanned on their own.
    pub fn scan_all(&mut self, key: &BufferRef, scan: &mut dyn FnMut(&[u8])) {
        let (tx, side) = (self.tx, self.side);
        let lines = match key.buffer {
            Buffer::HttpRequestHeader if side == TxSide::Request => Some(&tx.request.headers),
            Buffer::HttpResponseHeader if side == TxSide::Response => {
                tx.response.as_ref().map(|r| &r.headers)
            }
            _ => None,
        };
        match lines {
            // The instances themselves are not built: only a rule evaluated on them needs
            // them.
            Some(headers) if key.transforms.is_empty() => match merged(&mut self.merged, headers) {
                [] => {}
                [one] => scan(&header_line(one)),
                several => {
                    let run = headers.bytes();
                    scan(run);
                    for h in several.iter().filter(|h| h.line.is_none()) {
                        scan(&header_line(h));
                    }
                }
            },
            _ => {
                if let Some(instances) = self.get(key) {
                    instances.iter().for_each(|inst| scan(inst));
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// libhtp's merge, written the plain quadratic way.
    fn merge_reference(headers: &Headers) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for h in headers.iter() {
            match out.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(h.name)) {
                Some((_, v)) => {
                    v.extend_from_slice(b", ");
                    v.extend_from_slice(h.value);
                }
                None => out.push((h.name.to_vec(), h.value.to_vec())),
            }
        }
        out
    }

    #[test]
    fn long_header_lists_merge_as_short_ones_do() {
        for n in [0, 1, 5, LINEAR_MERGE, LINEAR_MERGE + 1, 300] {
            // Names repeat in varying case, with gaps, some once only.
            let list: Vec<(String, String)> = (0..n)
                .map(|i| {
                    let name = match i % 7 {
                        0 => format!("X-Once-{i}"),
                        1 | 4 => "x-dup".to_string(),
                        2 => format!("X-Set-{}", i % 5),
                        3 => "X-DUP".to_string(),
                        _ => format!("x-set-{}", i % 3),
                    };
                    (name, format!("v{i}"))
                })
                .collect();
            let refs: Vec<(&str, &str)> =
                list.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            let h = hdrs(&refs);
            let got: Vec<(Vec<u8>, Vec<u8>)> = merge_headers(&h)
                .into_iter()
                .map(|m| (m.name.to_vec(), m.value.into_owned()))
                .collect();
            assert_eq!(got, merge_reference(&h), "{n} headers");
        }
    }

    fn hdrs(list: &[(&str, &str)]) -> Headers {
        Headers::from_pairs(list.iter().copied())
    }

    /// A sample transaction (the URI is set as the http stage would normalise it).
    pub(crate) fn sample_tx() -> HttpTransaction {
        let req_headers = [
            ("Host", "Mail.Example.COM:443"),
            ("User-Agent", "Mozilla/5.0"),
            ("Cookie", "X-BEResource=a]@b:444/x~1"),
            ("Accept", "*/*"),
            ("X-Dup", "one"),
            ("x-dup", "two  "),
            ("Content-Type", "application/json"),
            ("Content-Length", "4"),
        ];
        let raw: String = req_headers
            .iter()
            .map(|(n, v)| format!("{n}: {v}\r\n"))
            .collect::<String>()
            + "\r\n";
        let request = HttpRequest {
            method: b"POST".to_vec(),
            target: b"/ecp/%2e/y.js?a=%41".to_vec(),
            protocol: b"HTTP/1.1".to_vec(),
            request_line: b"POST /ecp/%2e/y.js?a=%41 HTTP/1.1".to_vec(),
            raw_headers: raw.into_bytes(),
            headers: hdrs(&req_headers),
            uri: NormalizedUri {
                path: b"/ecp/y.js".to_vec(),
                query_raw: Some(b"a=%41".to_vec()),
                query_decoded: Some(b"a=A".to_vec()),
            },
            cookies: Default::default(),
            body: b"body".to_vec(),
            body_len: 4,
            trailers: Headers::default(),
            events: Default::default(),
        };
        let resp_headers = [
            ("Server", "Microsoft-IIS/10.0"),
            ("Set-Cookie", "msExchEcpCanary=abc"),
            ("Set-Cookie", "b=2"),
            ("Content-Type", "text/html"),
        ];
        let response = HttpResponse {
            protocol: b"HTTP/1.1".to_vec(),
            status: 500,
            reason: b"Internal Server Error".to_vec(),
            response_line: b"HTTP/1.1 500 Internal Server Error".to_vec(),
            raw_headers: (resp_headers
                .iter()
                .map(|(n, v)| format!("{n}: {v}\r\n"))
                .collect::<String>()
                + "\r\n")
                .into_bytes(),
            headers: hdrs(&resp_headers),
            body: b"<html>ok</html>".to_vec(),
            body_len: 15,
            trailers: Headers::default(),
        };
        HttpTransaction {
            request,
            response: Some(response),
            ..Default::default()
        }
    }

    fn one(tx: &HttpTransaction, side: TxSide, b: Buffer) -> Option<Vec<u8>> {
        compute(tx, side, b).map(|v| {
            assert_eq!(v.len(), 1, "{b}");
            v[0].to_vec()
        })
    }

    fn s(v: Option<Vec<u8>>) -> Option<String> {
        v.map(|v| String::from_utf8(v).unwrap())
    }

    #[test]
    fn request_buffers() {
        let tx = sample_tx();
        let r = |b| s(one(&tx, TxSide::Request, b));
        assert_eq!(r(Buffer::HttpUri).unwrap(), "/ecp/y.js?a=A");
        assert_eq!(r(Buffer::HttpUriRaw).unwrap(), "/ecp/%2e/y.js?a=%41");
        assert_eq!(r(Buffer::HttpMethod).unwrap(), "POST");
        assert_eq!(r(Buffer::HttpProtocol).unwrap(), "HTTP/1.1");
        assert_eq!(
            r(Buffer::HttpRequestLine).unwrap(),
            "POST /ecp/%2e/y.js?a=%41 HTTP/1.1"
        );
        assert_eq!(
            r(Buffer::HttpHeader).unwrap(),
            "Host: Mail.Example.COM:443\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\n\
             X-Dup: one, two\r\nContent-Type: application/json\r\nContent-Length: 4\r\n"
        );
        assert!(r(Buffer::HttpHeaderRaw)
            .unwrap()
            .contains("x-dup: two  \r\n"));
        assert_eq!(
            r(Buffer::HttpHeaderNames).unwrap(),
            "\r\nHost\r\nUser-Agent\r\nCookie\r\nAccept\r\nX-Dup\r\nContent-Type\r\nContent-Length\r\n\r\n"
        );
        assert_eq!(r(Buffer::HttpCookie).unwrap(), "X-BEResource=a]@b:444/x~1");
        assert_eq!(r(Buffer::HttpUserAgent).unwrap(), "Mozilla/5.0");
        assert_eq!(r(Buffer::HttpHost).unwrap(), "mail.example.com");
        assert_eq!(r(Buffer::HttpHostRaw).unwrap(), "Mail.Example.COM:443");
        assert_eq!(r(Buffer::HttpAccept).unwrap(), "*/*");
        assert_eq!(r(Buffer::HttpContentType).unwrap(), "application/json");
        assert_eq!(r(Buffer::HttpContentLen).unwrap(), "4");
        assert_eq!(r(Buffer::HttpRequestBody).unwrap(), "body");
        assert_eq!(r(Buffer::HttpReferer), None);
        assert_eq!(r(Buffer::HttpAcceptEnc), None);
        assert_eq!(r(Buffer::HttpAcceptLang), None);
        assert_eq!(r(Buffer::HttpConnection), None);
        assert_eq!(r(Buffer::FileData), None, "file.data is the response body");
        assert_eq!(r(Buffer::HttpStatCode), None);
        assert_eq!(r(Buffer::DnsQuery), None);
        let start = r(Buffer::HttpStart).unwrap();
        assert!(start.starts_with("POST /ecp/%2e/y.js?a=%41 HTTP/1.1\r\nHost: "));
        assert!(start.contains("Cookie: X-BEResource"));
        assert!(start.ends_with("Content-Length: 4\r\n\r\n"));
        let payload = r(Buffer::Payload).unwrap();
        assert!(payload.starts_with("POST /ecp"));
        assert!(payload.ends_with("\r\n\r\nbody"));
        let each = compute(&tx, TxSide::Request, Buffer::HttpRequestHeader).unwrap();
        assert_eq!(each.len(), 7);
        assert_eq!(&each[4][..], b"X-Dup: one, two");
    }

    #[test]
    fn response_buffers() {
        let tx = sample_tx();
        let r = |b| s(one(&tx, TxSide::Response, b));
        assert_eq!(r(Buffer::HttpStatCode).unwrap(), "500");
        assert_eq!(r(Buffer::HttpStatMsg).unwrap(), "Internal Server Error");
        assert_eq!(
            r(Buffer::HttpResponseLine).unwrap(),
            "HTTP/1.1 500 Internal Server Error"
        );
        assert_eq!(r(Buffer::HttpProtocol).unwrap(), "HTTP/1.1");
        assert_eq!(r(Buffer::HttpCookie).unwrap(), "msExchEcpCanary=abc, b=2");
        assert_eq!(
            r(Buffer::HttpHeader).unwrap(),
            "Server: Microsoft-IIS/10.0\r\nContent-Type: text/html\r\n"
        );
        assert_eq!(r(Buffer::HttpServer).unwrap(), "Microsoft-IIS/10.0");
        assert_eq!(r(Buffer::HttpResponseBody).unwrap(), "<html>ok</html>");
        assert_eq!(r(Buffer::FileData).unwrap(), "<html>ok</html>");
        assert_eq!(r(Buffer::HttpContentType).unwrap(), "text/html");
        assert_eq!(r(Buffer::HttpLocation), None);
        assert_eq!(r(Buffer::HttpUri), None);
        assert_eq!(
            r(Buffer::HttpHeaderNames).unwrap(),
            "\r\nServer\r\nSet-Cookie\r\nContent-Type\r\n\r\n"
        );
        assert!(r(Buffer::HttpStart)
            .unwrap()
            .starts_with("HTTP/1.1 500 Internal Server Error\r\nServer: "));
        let each = compute(&tx, TxSide::Response, Buffer::HttpResponseHeader).unwrap();
        assert_eq!(&each[1][..], b"Set-Cookie: msExchEcpCanary=abc, b=2");
        let mut no_resp = tx.clone();
        no_resp.response = None;
        assert!(compute(&no_resp, TxSide::Response, Buffer::HttpStatCode).is_none());
    }

    #[test]
    fn hosts() {
        let mut tx = sample_tx();
        tx.request.target = b"http://Proxy.Example:8080/a".to_vec();
        assert_eq!(
            s(one(&tx, TxSide::Request, Buffer::HttpHost)).unwrap(),
            "proxy.example"
        );
        assert_eq!(
            s(one(&tx, TxSide::Request, Buffer::HttpHostRaw)).unwrap(),
            "Proxy.Example:8080"
        );
    }

    #[test]
    fn empty_values() {
        let mut tx = sample_tx();
        tx.request.headers = hdrs(&[
            ("User-Agent", ""),
            ("Content-Type", "multipart/form-data; b=x"),
        ]);
        assert_eq!(
            one(&tx, TxSide::Request, Buffer::HttpUserAgent).unwrap(),
            b""
        );
        assert_eq!(one(&tx, TxSide::Request, Buffer::FileData), None);
        tx.request.body.clear();
        assert_eq!(one(&tx, TxSide::Request, Buffer::HttpRequestBody), None);
        tx.request.headers = Headers::default();
        assert_eq!(one(&tx, TxSide::Request, Buffer::HttpHeader), None);
        assert_eq!(one(&tx, TxSide::Request, Buffer::HttpHeaderNames), None);
        assert!(compute(&tx, TxSide::Request, Buffer::HttpRequestHeader).is_none());
        assert_eq!(one(&tx, TxSide::Request, Buffer::HttpHost), None);
    }

    #[test]
    fn cache_applies_transforms_once() {
        use crate::detect::rule::Transform;
        let tx = sample_tx();
        let mut b = TxBuffers::new(&tx, TxSide::Request);
        let key = BufferRef {
            buffer: Buffer::HttpUriRaw,
            transforms: vec![Transform::UrlDecode, Transform::ToUppercase],
        };
        assert_eq!(&b.get(&key).unwrap()[0][..], b"/ECP/./Y.JS?A=A");
        assert_eq!(b.cache.len(), 2);
        assert_eq!(&b.get(&key).unwrap()[0][..], b"/ECP/./Y.JS?A=A");
        assert_eq!(b.cache.len(), 2);
        assert!(b.get(&BufferRef::plain(Buffer::HttpReferer)).is_none());
    }
}
