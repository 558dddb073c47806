//! The server's side of a benign exchange: the status line and headers IIS and the Exchange
//! front end send (`request-id`, `X-CalculatedBETarget`, `X-BackEndHttpStatus`,
//! `X-FEServer`, ...), then the body framed by Content-Length, chunked transfer coding, or,
//! for the RPC over HTTP out channel, a 1 GiB Content-Length that the connection's close cuts
//! short as on a real one.

use super::body::{Body, Corpora};
use super::pcap::BASE_SECS;
use super::rng::Rng;
use super::text::{header, http_date, push_guid};

/// How the body's end is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length` of the body.
    Length,
    /// `Transfer-Encoding: chunked`, in chunks of a few KB.
    Chunked,
    /// No body, no length (`304 Not Modified`).
    None,
    /// `Content-Length` of this many bytes, of which only the body is sent before the client
    /// closes (the RPC over HTTP channels).
    Declared(u64),
}

/// An answer to write.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code and reason, `200 OK`.
    pub status: &'static str,
    /// `Content-Type`, if any.
    pub content_type: Option<&'static str>,
    /// Headers particular to this answer (`Set-Cookie`, `X-ResponseCode`, ...).
    pub headers: Vec<(&'static str, String)>,
    /// Fixed bytes at the start of the body (MAPI over HTTP meta-tags).
    pub prefix: Vec<u8>,
    /// What the rest of the body is made of.
    pub body: Body,
    /// Bytes of body after the prefix.
    pub body_len: usize,
    /// How the body's end is marked.
    pub framing: Framing,
}

impl Answer {
    /// A `200 OK` of `body_len` bytes of `body`, with Content-Length.
    pub fn ok(content_type: &'static str, body: Body, body_len: usize) -> Answer {
        Answer {
            status: "200 OK",
            content_type: Some(content_type),
            headers: Vec::new(),
            prefix: Vec::new(),
            body,
            body_len,
            framing: Framing::Length,
        }
    }

    /// The same answer with one more header.
    pub fn with(mut self, name: &'static str, value: String) -> Answer {
        self.headers.push((name, value));
        self
    }

    /// The same answer with another framing.
    pub fn framed(mut self, framing: Framing) -> Answer {
        self.framing = framing;
        self
    }
}

/// Appends the whole answer (head and body), sent at `at_us`, by front end `server` (a
/// short name like `EXCH01`), to `out`; `scratch` is a reusable buffer.
pub fn write_answer(
    out: &mut Vec<u8>,
    rng: &mut Rng,
    corpora: &Corpora,
    answer: &Answer,
    server: &str,
    at_us: u64,
    scratch: &mut Vec<u8>,
) {
    scratch.clear();
    if answer.framing != Framing::None {
        scratch.extend_from_slice(&answer.prefix);
        corpora.fill(scratch, rng, answer.body, answer.body_len);
    }

    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(answer.status.as_bytes());
    out.extend_from_slice(b"\r\n");
    if !answer.headers.iter().any(|(n, _)| *n == "Cache-Control") {
        header(out, "Cache-Control", "private");
    }
    if let Some(ct) = answer.content_type {
        header(out, "Content-Type", ct);
    }
    header(out, "Server", "Microsoft-IIS/10.0");
    out.extend_from_slice(b"request-id: ");
    push_guid(out, rng);
    out.extend_from_slice(b"\r\n");
    let status_code = answer.status.split(' ').next().unwrap_or("200");
    let backend = server.to_ascii_lowercase();
    header(
        out,
        "X-CalculatedBETarget",
        &format!("{backend}.corp.example.com"),
    );
    header(out, "X-BackEndHttpStatus", status_code);
    for (name, value) in &answer.headers {
        header(out, name, value);
    }
    header(out, "X-AspNet-Version", "4.0.30319");
    header(out, "X-Powered-By", "ASP.NET");
    header(out, "X-FEServer", server);
    header(out, "X-BEServer", server);
    header(out, "Date", &http_date(BASE_SECS + at_us / 1_000_000));
    match answer.framing {
        Framing::Length => {
            header(out, "Content-Length", &scratch.len().to_string());
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(scratch);
        }
        Framing::None => out.extend_from_slice(b"\r\n"),
        Framing::Declared(len) => {
            header(out, "Content-Length", &len.to_string());
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(scratch);
        }
        Framing::Chunked => {
            header(out, "Transfer-Encoding", "chunked");
            out.extend_from_slice(b"\r\n");
            let mut rest = &scratch[..];
            while !rest.is_empty() {
                let n = (rng.range(2_048, 16_384) as usize).min(rest.len());
                out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
                out.extend_from_slice(&rest[..n]);
                out.extend_from_slice(b"\r\n");
                rest = &rest[n..];
            }
            out.extend_from_slice(b"0\r\n\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_answers_carry_the_body_in_chunks() {
        let corpora = Corpora::new(1);
        let mut rng = Rng::new(2);
        let mut out = Vec::new();
        let answer = Answer::ok("text/xml", Body::Xml, 40_000).framed(Framing::Chunked);
        write_answer(
            &mut out,
            &mut rng,
            &corpora,
            &answer,
            "EXCH02",
            0,
            &mut Vec::new(),
        );
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(text.contains("X-CalculatedBETarget: exch02.corp.example.com\r\n"));
        assert!(text.contains("Transfer-Encoding: chunked\r\n"));
        assert!(text.ends_with("</s:Envelope>\r\n0\r\n\r\n"));
        // Dechunk and compare lengths.
        let body_start = text.find("\r\n\r\n").map(|i| i + 4).unwrap_or(0);
        let mut rest = &out[body_start..];
        let mut total = 0;
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap_or(0);
            let n =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap_or("0"), 16)
                    .unwrap_or(0);
            if n == 0 {
                break;
            }
            total += n;
            rest = &rest[line_end + 2 + n + 2..];
        }
        assert_eq!(total, 40_000);
    }
}
