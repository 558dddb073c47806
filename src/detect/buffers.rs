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
use std::ops::Deref;

use crate::http::{host, Headers, HttpRequest, HttpResponse, HttpTransaction, NormalizedUri};

use super::merged::{MergedHeaders, LINEAR_MERGE};
use super::rule::{Buffer, BufferRef};
use crate::http::fields::trim_end_blanks;
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

/// Computes one buffer of one side (untransformed). Multi-buffers give every instance;
/// `None` means the buffer does not exist.
pub fn compute<'a>(tx: &'a HttpTransaction, side: TxSide, buffer: Buffer) -> Option<Instances<'a>> {
    compute_with(tx, side, buffer, &mut None)
}

/// [`compute`], with the side's merged headers kept in `merged` once made (several buffers
/// are built from them).
fn compute_with<'a>(
    tx: &'a HttpTransaction,
    side: TxSide,
    buffer: Buffer,
    merged: &mut Option<MergedHeaders<'a>>,
) -> Option<Instances<'a>> {
    let one = |v: Cow<'a, [u8]>| Some(Instances::One(v));
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
    slot: &'m mut Option<MergedHeaders<'a>>,
    headers: &'a Headers,
) -> &'m MergedHeaders<'a> {
    slot.get_or_insert_with(|| MergedHeaders::new(headers))
}

/// The value of the header `name` (merged), through the side's merged view when its list is
/// long (one table probe instead of a pass over every line).
fn header_value<'a>(
    slot: &mut Option<MergedHeaders<'a>>,
    headers: &'a Headers,
    name: &str,
) -> Option<Cow<'a, [u8]>> {
    if headers.len() <= LINEAR_MERGE {
        return headers.value(name);
    }
    merged(slot, headers).value(name)
}

type One<'a> = fn(Cow<'a, [u8]>) -> Option<Instances<'a>>;

fn header_block(merged: &MergedHeaders<'_>, skip: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(merged.block_len());
    for (name, value) in merged
        .pairs()
        .filter(|(name, _)| !name.eq_ignore_ascii_case(skip.as_bytes()))
    {
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(trim_end_blanks(value));
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn start(line: &[u8], merged: &MergedHeaders<'_>) -> Vec<u8> {
    let mut out = line.to_vec();
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&header_block(merged, ""));
    out.extend_from_slice(b"\r\n");
    out
}

fn per_header<'a>(merged: &MergedHeaders<'a>) -> Option<Instances<'a>> {
    if merged.is_empty() {
        return None;
    }
    Some(merged.iter().map(|h| h.line()).collect())
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
    m: &mut Option<MergedHeaders<'a>>,
) -> Option<Instances<'a>> {
    let h = &req.headers;
    let hv = |m: &mut Option<MergedHeaders<'a>>, name: &str| header_value(m, h, name).and_then(one);
    match buffer {
        Buffer::Payload => one(Cow::Owned(head_and_body(
            req.request_line(),
            req.raw_headers(),
            &req.body,
        ))),
        Buffer::HttpUri => one(uri_bytes(&req.uri)),
        Buffer::HttpUriRaw => one(Cow::Borrowed(req.target())),
        Buffer::HttpMethod => non_empty(req.method()).and_then(one),
        Buffer::HttpProtocol => non_empty(req.protocol()).and_then(one),
        Buffer::HttpRequestLine => one(Cow::Borrowed(req.request_line())),
        Buffer::HttpHeader => {
            let b = header_block(merged(m, h), "cookie");
            (!b.is_empty()).then_some(Instances::One(Cow::Owned(b)))
        }
        Buffer::HttpHeaderRaw => non_empty(req.raw_headers()).and_then(one),
        Buffer::HttpHeaderNames => {
            let m = merged(m, h);
            (!m.is_empty()).then(|| Instances::One(Cow::Owned(m.header_names())))
        }
        Buffer::HttpCookie => hv(m, "Cookie"),
        Buffer::HttpUserAgent => hv(m, "User-Agent"),
        Buffer::HttpHost => one(Cow::Owned(host::hostname(req)?.0)),
        Buffer::HttpHostRaw => one(host::raw_host(req)?),
        Buffer::HttpReferer => hv(m, "Referer"),
        Buffer::HttpContentType => hv(m, "Content-Type"),
        Buffer::HttpContentLen => hv(m, "Content-Length"),
        Buffer::HttpAccept => hv(m, "Accept"),
        Buffer::HttpAcceptEnc => hv(m, "Accept-Encoding"),
        Buffer::HttpAcceptLang => hv(m, "Accept-Language"),
        Buffer::HttpConnection => hv(m, "Connection"),
        Buffer::HttpRequestBody => non_empty(&req.body).and_then(one),
        Buffer::HttpStart => one(Cow::Owned(start(req.request_line(), merged(m, h)))),
        Buffer::HttpRequestHeader => per_header(merged(m, h)),
        _ => None,
    }
}

fn response_buffer<'a>(
    resp: &'a HttpResponse,
    buffer: Buffer,
    one: One<'a>,
    m: &mut Option<MergedHeaders<'a>>,
) -> Option<Instances<'a>> {
    let h = &resp.headers;
    let hv = |m: &mut Option<MergedHeaders<'a>>, name: &str| header_value(m, h, name).and_then(one);
    match buffer {
        Buffer::Payload => one(Cow::Owned(head_and_body(
            resp.response_line(),
            resp.raw_headers(),
            &resp.body,
        ))),
        Buffer::HttpProtocol => non_empty(resp.protocol()).and_then(one),
        Buffer::HttpHeader => {
            let b = header_block(merged(m, h), "set-cookie");
            (!b.is_empty()).then_some(Instances::One(Cow::Owned(b)))
        }
        Buffer::HttpHeaderRaw => non_empty(resp.raw_headers()).and_then(one),
        Buffer::HttpHeaderNames => {
            let m = merged(m, h);
            (!m.is_empty()).then(|| Instances::One(Cow::Owned(m.header_names())))
        }
        Buffer::HttpCookie => hv(m, "Set-Cookie"),
        Buffer::HttpContentType => hv(m, "Content-Type"),
        Buffer::HttpContentLen => hv(m, "Content-Length"),
        Buffer::HttpStatCode => one(Cow::Owned(resp.status.to_string().into_bytes())),
        Buffer::HttpStatMsg => non_empty(resp.reason()).and_then(one),
        Buffer::HttpResponseLine => one(Cow::Borrowed(resp.response_line())),
        Buffer::HttpResponseBody | Buffer::FileData => non_empty(&resp.body).and_then(one),
        Buffer::HttpServer => hv(m, "Server"),
        Buffer::HttpLocation => hv(m, "Location"),
        Buffer::HttpStart => one(Cow::Owned(start(resp.response_line(), merged(m, h)))),
        Buffer::HttpResponseHeader => per_header(merged(m, h)),
        _ => None,
    }
}

/// One TLS buffer of a handshake (untransformed); `None` when the handshake did not tell it.
/// `tls.certs` gives one instance per certificate of the chain.
pub fn tls_buffer(tls: &TlsInfo, buffer: Buffer) -> Option<Instances<'_>> {
    fn one(v: &[u8]) -> Option<Instances<'_>> {
        Some(Instances::One(Cow::Borrowed(v)))
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
/// A single instance is held in place: a `Vec` of one was an allocation per buffer and
/// transaction side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instances<'a> {
    /// The one instance of a buffer.
    One(Cow<'a, [u8]>),
    /// Any number of instances (the multi-buffers).
    Many(Vec<Cow<'a, [u8]>>),
}

impl<'a> Deref for Instances<'a> {
    type Target = [Cow<'a, [u8]>];

    fn deref(&self) -> &[Cow<'a, [u8]>] {
        match self {
            Instances::One(one) => std::slice::from_ref(one),
            Instances::Many(all) => all,
        }
    }
}

impl<'a> FromIterator<Cow<'a, [u8]>> for Instances<'a> {
    fn from_iter<I: IntoIterator<Item = Cow<'a, [u8]>>>(iter: I) -> Instances<'a> {
        Instances::Many(iter.into_iter().collect())
    }
}

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
    merged: Option<MergedHeaders<'a>>,
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
                            .collect::<Instances<'_>>()
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
            Some(headers) if key.transforms.is_empty() => {
                let m = merged(&mut self.merged, headers);
                match m.len() {
                    0 => {}
                    1 => m.iter().for_each(|one| scan(&one.line())),
                    _ => {
                        scan(headers.bytes());
                        m.repeated().for_each(|h| scan(&h.line()));
                    }
                }
            }
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
    use crate::http::StartLine;

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
            line: StartLine::request(b"POST /ecp/%2e/y.js?a=%41 HTTP/1.1"),
            headers: {
                let mut h = hdrs(&req_headers);
                h.put_block_first(raw.as_bytes());
                h
            },
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
            line: StartLine::from_words([b"HTTP/1.1", b"500", b"Internal Server Error"]),
            status: 500,
            headers: {
                let mut h = hdrs(&resp_headers);
                let raw = resp_headers
                    .iter()
                    .map(|(n, v)| format!("{n}: {v}\r\n"))
                    .collect::<String>()
                    + "\r\n";
                h.put_block_first(raw.as_bytes());
                h
            },
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
        tx.request.line =
            StartLine::from_words([b"POST", b"http://Proxy.Example:8080/a", b"HTTP/1.1"]);
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
