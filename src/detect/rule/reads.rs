//! What part of a message a buffer holds and how it was decoded, in the words a reviewer
//! checks a signature against: "the cookie header as sent, then percent-decoded as ASP.NET
//! does" rather than `http.cookie; form_decode`.
//!
//! `exhound rules list` prints it per rule, so that a reviewer can see where each marker is
//! looked for and compare it with where the vulnerable code reads it
//! (`signatures/README.md`, "Where each family's code reads, and how it decodes").

use super::buffer::{Buffer, BufferRef, Transform};

/// The message component `buffer` holds, and the decoding exhound applied before any
/// transform.
pub fn component(buffer: Buffer) -> &'static str {
    match buffer {
        Buffer::Payload => "TCP/UDP payload of one packet, or the reassembled stream",
        Buffer::HttpUri => "request path and query as IIS routes them (%XX and %uXXXX decoded, \\ to /, // folded, dot-segments removed; the query percent-decoded once)",
        Buffer::HttpUriRaw => "request target as sent",
        Buffer::HttpMethod => "request method",
        Buffer::HttpProtocol => "request protocol version",
        Buffer::HttpRequestLine => "request line as sent",
        Buffer::HttpHeader => "request header lines except Cookie, folded lines joined",
        Buffer::HttpHeaderRaw => "request header block as sent",
        Buffer::HttpHeaderNames => "request header names in order, CRLF-separated",
        Buffer::HttpCookie => "Cookie header values as sent, several lines joined with \", \" (Set-Cookie on responses)",
        Buffer::HttpUserAgent => "User-Agent header value",
        Buffer::HttpHost => "Host authority, lower-cased, without port or trailing dots",
        Buffer::HttpHostRaw => "Host header value as sent",
        Buffer::HttpReferer => "Referer header value",
        Buffer::HttpContentType => "Content-Type header value",
        Buffer::HttpContentLen => "Content-Length header value",
        Buffer::HttpAccept => "Accept header value",
        Buffer::HttpAcceptEnc => "Accept-Encoding header value",
        Buffer::HttpAcceptLang => "Accept-Language header value",
        Buffer::HttpConnection => "Connection header value",
        Buffer::HttpRequestBody => "request body, dechunked and decompressed",
        Buffer::HttpStatCode => "response status code",
        Buffer::HttpStatMsg => "response reason phrase",
        Buffer::HttpResponseLine => "response status line as sent",
        Buffer::HttpResponseBody | Buffer::FileData => "response body, dechunked and decompressed",
        Buffer::HttpServer => "Server header value",
        Buffer::HttpLocation => "Location header value",
        Buffer::HttpStart => "request or response line and headers as sent",
        Buffer::HttpRequestHeader => "one request header line (Name: value) at a time, Cookie included",
        Buffer::HttpResponseHeader => "one response header line (Name: value) at a time",
        Buffer::DnsQuery => "DNS query name",
        Buffer::Base64Data => "bytes decoded by the rule's base64_decode",
        _ if buffer.is_tls() => "TLS handshake field",
        _ => "see Suricata's definition of the buffer",
    }
}

/// What `t` does to the buffer, said as the server's decoding when it is one.
pub fn decoding(t: Transform) -> &'static str {
    match t {
        Transform::UrlDecode => "%XX and + decoded (Suricata's url_decode)",
        Transform::FormDecode => "decoded as ASP.NET Request.Form/QueryString do (+, %XX, %uXXXX)",
        Transform::JsonDecode => {
            "JSON escapes undone as WCF's JSON reader does (\\uXXXX, \\/, \\\")"
        }
        Transform::XmlDecode => {
            "XML entities, character references and CDATA undone, comments dropped"
        }
        Transform::ToLowercase => "lower-cased",
        Transform::ToUppercase => "upper-cased",
        Transform::StripWhitespace => "whitespace removed",
        Transform::CompressWhitespace => "whitespace runs compressed",
    }
}

/// `buffer|transform…: component; then decoding…`, for one inspected buffer.
pub fn describe(buffer: &BufferRef) -> String {
    let mut out = buffer.buffer.name().to_string();
    for t in &buffer.transforms {
        out.push('|');
        out.push_str(t.name());
    }
    out.push_str(": ");
    out.push_str(component(buffer.buffer));
    for t in &buffer.transforms {
        out.push_str("; then ");
        out.push_str(decoding(*t));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_buffer_and_transform_is_described() {
        for b in Buffer::ALL {
            assert!(!component(b).is_empty(), "{b}");
        }
        let cookie = BufferRef {
            buffer: Buffer::HttpCookie,
            transforms: vec![Transform::FormDecode],
        };
        let text = describe(&cookie);
        assert!(
            text.starts_with("http.cookie|form_decode: Cookie header"),
            "{text}"
        );
        assert!(text.contains("then decoded as ASP.NET"), "{text}");
    }
}
