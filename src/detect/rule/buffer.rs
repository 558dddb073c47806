//! Inspection buffers and transforms: every sticky-buffer keyword (`http.uri;`), every legacy
//! content modifier (`content:"x"; http_uri;`) and every alternative name maps to one
//! [`Buffer`]; transforms (`url_decode;` …) chain after a sticky buffer.
//!
//! What each buffer holds is Suricata's definition (`anchors.md` §3.2); which side of a
//! transaction it belongs to decides when a rule using it is inspected ([`Buffer::side`]).

use std::borrow::Cow;
use std::fmt;

use super::decode;

/// Where a match item looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Buffer {
    /// The packet payload / reassembled stream (`content` with no buffer, `pkt_data`).
    Payload,
    /// `http.uri`: the normalised request URI.
    HttpUri,
    /// `http.uri.raw`: the request-target as sent.
    HttpUriRaw,
    /// `http.method`.
    HttpMethod,
    /// `http.protocol`: `HTTP/1.1` of the request or response line.
    HttpProtocol,
    /// `http.request_line`, without its line ending.
    HttpRequestLine,
    /// `http.header`: `Name: value\r\n` per header, cookies excluded.
    HttpHeader,
    /// `http.header.raw`: the header block as sent.
    HttpHeaderRaw,
    /// `http.header_names`: `\r\n`-separated names, with a leading and an extra trailing `\r\n`.
    HttpHeaderNames,
    /// `http.cookie`: `Cookie` (request) / `Set-Cookie` (response) values.
    HttpCookie,
    /// `http.user_agent`.
    HttpUserAgent,
    /// `http.host`: lower-cased, without port.
    HttpHost,
    /// `http.host.raw`.
    HttpHostRaw,
    /// `http.referer`.
    HttpReferer,
    /// `http.content_type`.
    HttpContentType,
    /// `http.content_len`.
    HttpContentLen,
    /// `http.accept`.
    HttpAccept,
    /// `http.accept_enc`.
    HttpAcceptEnc,
    /// `http.accept_lang`.
    HttpAcceptLang,
    /// `http.connection`.
    HttpConnection,
    /// `http.request_body` (`http_client_body`).
    HttpRequestBody,
    /// `http.stat_code`.
    HttpStatCode,
    /// `http.stat_msg`.
    HttpStatMsg,
    /// `http.response_line`, without its line ending.
    HttpResponseLine,
    /// `http.response_body` (`http_server_body`).
    HttpResponseBody,
    /// `file.data` / `file_data`: for HTTP/1, the response body (as in Suricata, where
    /// `file_data` with `flow:to_server` is an error for http).
    FileData,
    /// `http.server`.
    HttpServer,
    /// `http.location`.
    HttpLocation,
    /// `http.start`: start line, headers, empty line.
    HttpStart,
    /// `http.request_header`: one buffer per request header, `Name: value`.
    HttpRequestHeader,
    /// `http.response_header`: one buffer per response header, `Name: value`.
    HttpResponseHeader,
    /// `dns.query` (parsed for compatibility; exhound has no DNS, so it is never present).
    DnsQuery,
    /// `base64_data`: what the preceding `base64_decode` decoded.
    Base64Data,
    /// `tls.sni`: the server name of the ClientHello.
    TlsSni,
    /// `tls.cert_subject`: the server certificate's subject (`C=US, O=…, CN=…`).
    TlsCertSubject,
    /// `tls.cert_issuer`: the server certificate's issuer.
    TlsCertIssuer,
    /// `tls.cert_serial`: the server certificate's serial (`5C:19:B7:…`).
    TlsCertSerial,
    /// `tls.cert_fingerprint`: SHA-1 of the server certificate (`e1:91:…`, lower case).
    TlsCertFingerprint,
    /// `tls.certs`: each certificate of the server's chain, DER (one buffer per certificate).
    TlsCerts,
    /// `ja3.hash`: the client's JA3 (MD5, lower-case hex).
    Ja3Hash,
    /// `ja3.string`: the client's JA3 string.
    Ja3String,
    /// `ja3s.hash`: the server's JA3S.
    Ja3sHash,
    /// `ja3s.string`: the server's JA3S string.
    Ja3sString,
    /// `ja4.hash`: the client's JA4.
    Ja4Hash,
}

/// Which message of an HTTP transaction a buffer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BufferSide {
    /// Only in requests (inspected to_server).
    Request,
    /// Only in responses (inspected to_client).
    Response,
    /// In both; the rule's `flow` direction (or each side in turn) decides.
    Both,
    /// Not an HTTP buffer (payload, DNS, base64).
    None,
}

impl Buffer {
    /// Every buffer, in a fixed order (used to size per-buffer tables).
    pub const ALL: [Buffer; 44] = [
        Buffer::Payload,
        Buffer::HttpUri,
        Buffer::HttpUriRaw,
        Buffer::HttpMethod,
        Buffer::HttpProtocol,
        Buffer::HttpRequestLine,
        Buffer::HttpHeader,
        Buffer::HttpHeaderRaw,
        Buffer::HttpHeaderNames,
        Buffer::HttpCookie,
        Buffer::HttpUserAgent,
        Buffer::HttpHost,
        Buffer::HttpHostRaw,
        Buffer::HttpReferer,
        Buffer::HttpContentType,
        Buffer::HttpContentLen,
        Buffer::HttpAccept,
        Buffer::HttpAcceptEnc,
        Buffer::HttpAcceptLang,
        Buffer::HttpConnection,
        Buffer::HttpRequestBody,
        Buffer::HttpStatCode,
        Buffer::HttpStatMsg,
        Buffer::HttpResponseLine,
        Buffer::HttpResponseBody,
        Buffer::FileData,
        Buffer::HttpServer,
        Buffer::HttpLocation,
        Buffer::HttpStart,
        Buffer::HttpRequestHeader,
        Buffer::HttpResponseHeader,
        Buffer::DnsQuery,
        Buffer::Base64Data,
        Buffer::TlsSni,
        Buffer::TlsCertSubject,
        Buffer::TlsCertIssuer,
        Buffer::TlsCertSerial,
        Buffer::TlsCertFingerprint,
        Buffer::TlsCerts,
        Buffer::Ja3Hash,
        Buffer::Ja3String,
        Buffer::Ja3sHash,
        Buffer::Ja3sString,
        Buffer::Ja4Hash,
    ];

    /// Index into [`Buffer::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The canonical (sticky-buffer) keyword; `pkt_data` for the payload.
    pub fn name(self) -> &'static str {
        match self {
            Buffer::Payload => "pkt_data",
            Buffer::HttpUri => "http.uri",
            Buffer::HttpUriRaw => "http.uri.raw",
            Buffer::HttpMethod => "http.method",
            Buffer::HttpProtocol => "http.protocol",
            Buffer::HttpRequestLine => "http.request_line",
            Buffer::HttpHeader => "http.header",
            Buffer::HttpHeaderRaw => "http.header.raw",
            Buffer::HttpHeaderNames => "http.header_names",
            Buffer::HttpCookie => "http.cookie",
            Buffer::HttpUserAgent => "http.user_agent",
            Buffer::HttpHost => "http.host",
            Buffer::HttpHostRaw => "http.host.raw",
            Buffer::HttpReferer => "http.referer",
            Buffer::HttpContentType => "http.content_type",
            Buffer::HttpContentLen => "http.content_len",
            Buffer::HttpAccept => "http.accept",
            Buffer::HttpAcceptEnc => "http.accept_enc",
            Buffer::HttpAcceptLang => "http.accept_lang",
            Buffer::HttpConnection => "http.connection",
            Buffer::HttpRequestBody => "http.request_body",
            Buffer::HttpStatCode => "http.stat_code",
            Buffer::HttpStatMsg => "http.stat_msg",
            Buffer::HttpResponseLine => "http.response_line",
            Buffer::HttpResponseBody => "http.response_body",
            Buffer::FileData => "file.data",
            Buffer::HttpServer => "http.server",
            Buffer::HttpLocation => "http.location",
            Buffer::HttpStart => "http.start",
            Buffer::HttpRequestHeader => "http.request_header",
            Buffer::HttpResponseHeader => "http.response_header",
            Buffer::DnsQuery => "dns.query",
            Buffer::Base64Data => "base64_data",
            Buffer::TlsSni => "tls.sni",
            Buffer::TlsCertSubject => "tls.cert_subject",
            Buffer::TlsCertIssuer => "tls.cert_issuer",
            Buffer::TlsCertSerial => "tls.cert_serial",
            Buffer::TlsCertFingerprint => "tls.cert_fingerprint",
            Buffer::TlsCerts => "tls.certs",
            Buffer::Ja3Hash => "ja3.hash",
            Buffer::Ja3String => "ja3.string",
            Buffer::Ja3sHash => "ja3s.hash",
            Buffer::Ja3sString => "ja3s.string",
            Buffer::Ja4Hash => "ja4.hash",
        }
    }

    /// The buffer a sticky-buffer keyword (or one of its alternative names) selects.
    pub fn from_sticky(keyword: &str) -> Option<Buffer> {
        Some(match keyword {
            "pkt_data" => Buffer::Payload,
            "http.uri" => Buffer::HttpUri,
            "http.uri.raw" => Buffer::HttpUriRaw,
            "http.method" => Buffer::HttpMethod,
            "http.protocol" | "http_protocol" => Buffer::HttpProtocol,
            "http.request_line" | "http_request_line" => Buffer::HttpRequestLine,
            "http.header" => Buffer::HttpHeader,
            "http.header.raw" => Buffer::HttpHeaderRaw,
            "http.header_names" | "http_header_names" => Buffer::HttpHeaderNames,
            "http.cookie" => Buffer::HttpCookie,
            "http.user_agent" => Buffer::HttpUserAgent,
            "http.host" => Buffer::HttpHost,
            "http.host.raw" => Buffer::HttpHostRaw,
            "http.referer" | "http_referer" => Buffer::HttpReferer,
            "http.content_type" | "http_content_type" => Buffer::HttpContentType,
            "http.content_len" | "http_content_len" => Buffer::HttpContentLen,
            "http.accept" | "http_accept" => Buffer::HttpAccept,
            "http.accept_enc" | "http_accept_enc" => Buffer::HttpAcceptEnc,
            "http.accept_lang" | "http_accept_lang" => Buffer::HttpAcceptLang,
            "http.connection" | "http_connection" => Buffer::HttpConnection,
            "http.request_body" => Buffer::HttpRequestBody,
            "http.stat_code" => Buffer::HttpStatCode,
            "http.stat_msg" => Buffer::HttpStatMsg,
            "http.response_line" | "http_response_line" => Buffer::HttpResponseLine,
            "http.response_body" => Buffer::HttpResponseBody,
            "file.data" | "file_data" => Buffer::FileData,
            "http.server" => Buffer::HttpServer,
            "http.location" => Buffer::HttpLocation,
            "http.start" | "http_start" => Buffer::HttpStart,
            "http.request_header" => Buffer::HttpRequestHeader,
            "http.response_header" => Buffer::HttpResponseHeader,
            "dns.query" | "dns_query" => Buffer::DnsQuery,
            "base64_data" => Buffer::Base64Data,
            "tls.sni" | "tls_sni" => Buffer::TlsSni,
            "tls.cert_subject" | "tls_cert_subject" => Buffer::TlsCertSubject,
            "tls.cert_issuer" | "tls_cert_issuer" => Buffer::TlsCertIssuer,
            "tls.cert_serial" | "tls_cert_serial" => Buffer::TlsCertSerial,
            "tls.cert_fingerprint" | "tls_cert_fingerprint" => Buffer::TlsCertFingerprint,
            "tls.certs" => Buffer::TlsCerts,
            "ja3.hash" | "ja3_hash" => Buffer::Ja3Hash,
            "ja3.string" | "ja3_string" => Buffer::Ja3String,
            "ja3s.hash" => Buffer::Ja3sHash,
            "ja3s.string" => Buffer::Ja3sString,
            "ja4.hash" => Buffer::Ja4Hash,
            _ => return None,
        })
    }

    /// The buffer a legacy content modifier (`content:"x"; http_uri;`) moves its content to.
    pub fn from_modifier(keyword: &str) -> Option<Buffer> {
        Some(match keyword {
            "http_uri" => Buffer::HttpUri,
            "http_raw_uri" => Buffer::HttpUriRaw,
            "http_method" => Buffer::HttpMethod,
            "http_cookie" => Buffer::HttpCookie,
            "http_header" => Buffer::HttpHeader,
            "http_raw_header" => Buffer::HttpHeaderRaw,
            "http_client_body" => Buffer::HttpRequestBody,
            "http_server_body" => Buffer::HttpResponseBody,
            "http_stat_code" => Buffer::HttpStatCode,
            "http_stat_msg" => Buffer::HttpStatMsg,
            "http_user_agent" => Buffer::HttpUserAgent,
            "http_host" => Buffer::HttpHost,
            "http_raw_host" => Buffer::HttpHostRaw,
            _ => return None,
        })
    }

    /// The buffer a pcre modifier letter selects (`/U` → `http.uri`, …).
    pub fn from_pcre_flag(flag: char) -> Option<Buffer> {
        Some(match flag {
            'U' => Buffer::HttpUri,
            'I' => Buffer::HttpUriRaw,
            'P' => Buffer::HttpRequestBody,
            'Q' => Buffer::HttpResponseBody,
            'H' => Buffer::HttpHeader,
            'D' => Buffer::HttpHeaderRaw,
            'M' => Buffer::HttpMethod,
            'C' => Buffer::HttpCookie,
            'S' => Buffer::HttpStatCode,
            'Y' => Buffer::HttpStatMsg,
            'V' => Buffer::HttpUserAgent,
            'W' => Buffer::HttpHost,
            'Z' => Buffer::HttpHostRaw,
            _ => return None,
        })
    }

    /// Which message of a transaction the buffer belongs to.
    pub fn side(self) -> BufferSide {
        use Buffer::*;
        match self {
            HttpUri | HttpUriRaw | HttpMethod | HttpRequestLine | HttpUserAgent | HttpHost
            | HttpHostRaw | HttpReferer | HttpAccept | HttpAcceptEnc | HttpAcceptLang
            | HttpConnection | HttpRequestBody | HttpRequestHeader => BufferSide::Request,
            HttpStatCode | HttpStatMsg | HttpResponseLine | HttpResponseBody | HttpServer
            | HttpLocation | HttpResponseHeader | FileData => BufferSide::Response,
            HttpProtocol | HttpHeader | HttpHeaderRaw | HttpHeaderNames | HttpCookie
            | HttpContentType | HttpContentLen | HttpStart => BufferSide::Both,
            Payload | DnsQuery | Base64Data => BufferSide::None,
            TlsSni | TlsCertSubject | TlsCertIssuer | TlsCertSerial | TlsCertFingerprint
            | TlsCerts | Ja3Hash | Ja3String | Ja3sHash | Ja3sString | Ja4Hash => BufferSide::None,
        }
    }

    /// Whether the buffer is part of a TLS handshake (makes a rule a TLS rule).
    pub fn is_tls(self) -> bool {
        use Buffer::*;
        matches!(
            self,
            TlsSni
                | TlsCertSubject
                | TlsCertIssuer
                | TlsCertSerial
                | TlsCertFingerprint
                | TlsCerts
                | Ja3Hash
                | Ja3String
                | Ja3sHash
                | Ja3sString
                | Ja4Hash
        )
    }

    /// Whether a TLS buffer comes from the server (certificate, JA3S): a rule inspecting
    /// one alerts `to_client`.
    pub fn is_tls_server(self) -> bool {
        use Buffer::*;
        matches!(
            self,
            TlsCertSubject
                | TlsCertIssuer
                | TlsCertSerial
                | TlsCertFingerprint
                | TlsCerts
                | Ja3sHash
                | Ja3sString
        )
    }

    /// Whether the buffer is part of an HTTP transaction (makes a rule an HTTP rule).
    pub fn is_http(self) -> bool {
        self.side() != BufferSide::None
    }

    /// Whether one transaction side holds several instances of this buffer.
    pub fn is_multi(self) -> bool {
        matches!(
            self,
            Buffer::HttpRequestHeader | Buffer::HttpResponseHeader | Buffer::TlsCerts
        )
    }

    /// Fast-pattern priority, as Suricata ranks buffers: app-layer buffers (2) before the
    /// payload, method, status code and message (3). Lower wins.
    pub fn fast_pattern_priority(self) -> u8 {
        match self {
            Buffer::Payload | Buffer::HttpMethod | Buffer::HttpStatCode | Buffer::HttpStatMsg => 3,
            _ => 2,
        }
    }
}

impl fmt::Display for Buffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A transform applied to a sticky buffer before inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transform {
    /// `url_decode`: `%XX` → byte, `+` → space.
    UrlDecode,
    /// `to_lowercase`.
    ToLowercase,
    /// `to_uppercase`.
    ToUppercase,
    /// `strip_whitespace`: drops every byte C's `isspace()` accepts.
    StripWhitespace,
    /// `compress_whitespace`: each run of whitespace becomes its first byte.
    CompressWhitespace,
    /// `json_decode` (exhound): JSON string escapes undone, as ECP's DDI service reads its
    /// body ([`decode::json_decode`]).
    JsonDecode,
    /// `xml_decode` (exhound): entities, character references and CDATA undone, comments
    /// dropped, as EWS and WSMan read XML ([`decode::xml_decode`]).
    XmlDecode,
    /// `form_decode` (exhound): `+`, `%XX` and `%uXXXX` decoded, as ASP.NET's `Request.Form`
    /// reads a form ([`decode::form_decode`]).
    FormDecode,
}

impl Transform {
    /// The transform a keyword names.
    pub fn from_keyword(keyword: &str) -> Option<Transform> {
        Some(match keyword {
            "url_decode" => Transform::UrlDecode,
            "to_lowercase" => Transform::ToLowercase,
            "to_uppercase" => Transform::ToUppercase,
            "strip_whitespace" => Transform::StripWhitespace,
            "compress_whitespace" => Transform::CompressWhitespace,
            "json_decode" => Transform::JsonDecode,
            "xml_decode" => Transform::XmlDecode,
            "form_decode" => Transform::FormDecode,
            _ => return None,
        })
    }

    /// The keyword.
    pub fn name(self) -> &'static str {
        match self {
            Transform::UrlDecode => "url_decode",
            Transform::ToLowercase => "to_lowercase",
            Transform::ToUppercase => "to_uppercase",
            Transform::StripWhitespace => "strip_whitespace",
            Transform::CompressWhitespace => "compress_whitespace",
            Transform::JsonDecode => "json_decode",
            Transform::XmlDecode => "xml_decode",
            Transform::FormDecode => "form_decode",
        }
    }

    /// Whether the transform is exhound's own (Suricata does not load it).
    pub fn is_exhound_only(self) -> bool {
        matches!(
            self,
            Transform::JsonDecode | Transform::XmlDecode | Transform::FormDecode
        )
    }

    /// Could the transform change `input`? False only when it certainly would not, which
    /// is cheaper to tell than applying it: most buffers hold nothing to decode, lower-case
    /// or strip.
    pub fn may_change(self, input: &[u8]) -> bool {
        match self {
            Transform::ToLowercase => input.iter().any(u8::is_ascii_uppercase),
            Transform::ToUppercase => input.iter().any(u8::is_ascii_lowercase),
            Transform::StripWhitespace => input.iter().any(|b| is_c_space(*b)),
            Transform::CompressWhitespace => input
                .windows(2)
                .any(|w| is_c_space(w[0]) && is_c_space(w[1])),
            Transform::UrlDecode | Transform::FormDecode => {
                memchr::memchr2(b'%', b'+', input).is_some()
            }
            Transform::JsonDecode => memchr::memchr(b'\\', input).is_some(),
            Transform::XmlDecode => {
                memchr::memchr(b'&', input).is_some()
                    || memchr::memmem::find(input, b"<!").is_some()
            }
        }
    }

    /// Applies the transform.
    pub fn apply(self, input: &[u8]) -> Vec<u8> {
        match self {
            Transform::ToLowercase => input.to_ascii_lowercase(),
            Transform::ToUppercase => input.to_ascii_uppercase(),
            Transform::StripWhitespace => {
                input.iter().copied().filter(|b| !is_c_space(*b)).collect()
            }
            Transform::CompressWhitespace => {
                let mut out = Vec::with_capacity(input.len());
                let mut prev_space = false;
                for &b in input {
                    let space = is_c_space(b);
                    if !(space && prev_space) {
                        out.push(b);
                    }
                    prev_space = space;
                }
                out
            }
            Transform::UrlDecode => url_decode(input),
            Transform::JsonDecode => decode::json_decode(input),
            Transform::XmlDecode => decode::xml_decode(input),
            Transform::FormDecode => decode::form_decode(input),
        }
    }
}

/// C's `isspace()` in the "C" locale.
pub fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn url_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'%' {
            if let (Some(h), Some(l)) = (
                input.get(i + 1).copied().and_then(hex_val),
                input.get(i + 2).copied().and_then(hex_val),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
            out.push(b);
        } else if b == b'+' {
            out.push(b' ');
        } else {
            out.push(b);
        }
        i += 1;
    }
    out
}

/// A buffer with the transforms applied to it, in order: the unit a match item inspects.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BufferRef {
    /// The buffer.
    pub buffer: Buffer,
    /// Transforms, applied in this order.
    pub transforms: Vec<Transform>,
}

impl BufferRef {
    /// The payload, untransformed.
    pub fn payload() -> BufferRef {
        BufferRef::plain(Buffer::Payload)
    }

    /// `buffer` without transforms.
    pub fn plain(buffer: Buffer) -> BufferRef {
        BufferRef {
            buffer,
            transforms: Vec::new(),
        }
    }

    /// Applies the transforms to `data`.
    pub fn transform<'d>(&self, data: &'d [u8]) -> Cow<'d, [u8]> {
        let mut out = Cow::Borrowed(data);
        for t in &self.transforms {
            if t.may_change(&out) {
                out = Cow::Owned(t.apply(&out));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for b in Buffer::ALL {
            assert_eq!(Buffer::from_sticky(b.name()), Some(b), "{b}");
            assert_eq!(Buffer::ALL[b.index()], b);
        }
    }

    #[test]
    fn aliases_and_legacy_modifiers() {
        assert_eq!(Buffer::from_sticky("file_data"), Some(Buffer::FileData));
        assert_eq!(
            Buffer::from_sticky("http_response_line"),
            Some(Buffer::HttpResponseLine)
        );
        assert_eq!(
            Buffer::from_sticky("http_protocol"),
            Some(Buffer::HttpProtocol)
        );
        assert_eq!(Buffer::from_sticky("http_start"), Some(Buffer::HttpStart));
        assert_eq!(Buffer::from_sticky("http_uri"), None);
        assert_eq!(Buffer::from_modifier("http_uri"), Some(Buffer::HttpUri));
        assert_eq!(
            Buffer::from_modifier("http_client_body"),
            Some(Buffer::HttpRequestBody)
        );
        assert_eq!(
            Buffer::from_modifier("http_server_body"),
            Some(Buffer::HttpResponseBody)
        );
        assert_eq!(
            Buffer::from_modifier("http_raw_host"),
            Some(Buffer::HttpHostRaw)
        );
        assert_eq!(Buffer::from_modifier("http.uri"), None);
        assert_eq!(Buffer::from_pcre_flag('U'), Some(Buffer::HttpUri));
        assert_eq!(Buffer::from_pcre_flag('S'), Some(Buffer::HttpStatCode));
        assert_eq!(Buffer::from_pcre_flag('i'), None);
    }

    #[test]
    fn sides() {
        assert_eq!(Buffer::HttpUri.side(), BufferSide::Request);
        assert_eq!(Buffer::HttpStatCode.side(), BufferSide::Response);
        assert_eq!(Buffer::HttpCookie.side(), BufferSide::Both);
        assert_eq!(Buffer::Payload.side(), BufferSide::None);
        assert!(!Buffer::Payload.is_http());
        assert!(Buffer::FileData.is_http());
        assert_eq!(Buffer::FileData.side(), BufferSide::Response);
        assert!(Buffer::HttpRequestHeader.is_multi());
    }

    #[test]
    fn transforms() {
        assert_eq!(Transform::ToLowercase.apply(b"AbC"), b"abc");
        assert_eq!(Transform::ToUppercase.apply(b"AbC"), b"ABC");
        assert_eq!(
            Transform::StripWhitespace.apply(b" a \t\r\nb\x0bc "),
            b"abc"
        );
        assert_eq!(
            Transform::CompressWhitespace.apply(b" a  b\t\n c "),
            b" a b\tc "
        );
        assert_eq!(Transform::UrlDecode.apply(b"%41%2f+x%4"), b"A/ x%4");
        assert_eq!(Transform::UrlDecode.apply(b"%zz%"), b"%zz%");
        let r = BufferRef {
            buffer: Buffer::FileData,
            transforms: vec![Transform::UrlDecode, Transform::ToLowercase],
        };
        assert_eq!(r.transform(b"A%42+C").as_ref(), b"ab c");
        assert!(matches!(r.transform(b"abc"), Cow::Borrowed(_)));
        for t in [
            Transform::ToLowercase,
            Transform::ToUppercase,
            Transform::StripWhitespace,
            Transform::CompressWhitespace,
            Transform::UrlDecode,
        ] {
            for input in [
                &b"aB c"[..],
                b"ab",
                b"AB",
                b"a  b",
                b"a\tb",
                b"a%41",
                b"a+b",
                b"%zz",
                b"",
            ] {
                assert!(
                    t.may_change(input) || t.apply(input) == input,
                    "{} on {:?}",
                    t.name(),
                    String::from_utf8_lossy(input)
                );
            }
        }
        for t in [
            Transform::UrlDecode,
            Transform::ToLowercase,
            Transform::ToUppercase,
            Transform::StripWhitespace,
            Transform::CompressWhitespace,
        ] {
            assert_eq!(Transform::from_keyword(t.name()), Some(t));
        }
        assert_eq!(Transform::from_keyword("dotprefix"), None);
    }
}
