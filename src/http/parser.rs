//! Message heads, without state: recognising the start of a request or a response, and parsing
//! a request or status line plus its header block with `httparse`.
//!
//! `httparse` keeps no state, so callers re-parse from the start of the buffered head until it
//! is complete. It is run leniently, the way IIS accepts requests: several spaces between the
//! parts of the request line, invalid header lines skipped. Responses are read as libhtp reads
//! them, by [`super::response_head`]. `httparse` insists on a UTF-8 request-target and on
//! `HTTP/1.0` or `HTTP/1.1`, while HTTP.sys takes raw 8-bit targets; when `httparse` refuses a
//! request line that the lenient checker here accepts, the header block is parsed behind a
//! stand-in request line so such requests are not lost.
//!
//! The same checkers find message starts in the middle of a stream: [`classify`] decides
//! whether the first bytes of a side are a request, a response or not HTTP at all, and
//! [`find_message_start`] looks for the next request or status line after a gap.

use std::mem::MaybeUninit;

use super::{
    Cookies, Headers, HttpEvent, HttpEvents, HttpRequest, HttpResponse, NormalizedUri, StartLine,
};

/// The outcome of parsing a head.
#[derive(Debug)]
pub(crate) enum Head<T> {
    /// A whole head, and its length in bytes (including the empty line).
    Complete(T, usize),
    /// More bytes are needed.
    Partial,
    /// Not a valid head.
    Invalid,
}

/// The outcome of matching the start of a line against a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Match {
    /// The pattern matches.
    Yes,
    /// It cannot match.
    No,
    /// The bytes so far are a prefix of a match.
    NeedMore,
}

/// What the first bytes of one side of a connection are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// A request line: this side is the client.
    Request,
    /// A status line: this side is the server.
    Response,
    /// Neither.
    NotHttp,
    /// Not enough bytes to tell.
    NeedMore,
}

/// Where the next message starts, from [`find_message_start`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// A message starts at this offset.
    Found(usize),
    /// A message may start at this offset; the line is not complete yet.
    Maybe(usize),
    /// No message starts in these bytes.
    NotFound,
}

/// Longest method token accepted when recognising a request line.
const MAX_METHOD_LEN: usize = 255;

/// Header slots tried on the stack before falling back to a heap array of `max_headers`.
const INLINE_HEADERS: usize = 64;

/// Methods that mark a request line when resynchronising after a gap.
const KNOWN_METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"CONNECT",
    b"TRACE",
    b"PATCH",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"SEARCH",
    b"SUBSCRIBE",
    b"UNSUBSCRIBE",
    b"POLL",
    b"NOTIFY",
    b"BPROPFIND",
    b"BPROPPATCH",
    b"BCOPY",
    b"BMOVE",
    b"BDELETE",
    b"X-MS-ENUMATTS",
    b"RPC_IN_DATA",
    b"RPC_OUT_DATA",
    b"MERGE",
    b"REPORT",
    b"ACL",
];

/// Parses a request head at the start of `buf` (leading empty lines are skipped).
pub(crate) fn parse_request(buf: &[u8], max_headers: usize) -> Head<HttpRequest> {
    let mut config = httparse::ParserConfig::default();
    config
        .allow_multiple_spaces_in_request_line_delimiters(true)
        .ignore_invalid_headers_in_requests(true);
    match run_request(&config, buf, max_headers) {
        Ok(httparse::Status::Complete((len, headers))) => {
            Head::Complete(build_request(&buf[..len], headers), len)
        }
        Ok(httparse::Status::Partial) => Head::Partial,
        Err(httparse::Error::TooManyHeaders) => Head::Invalid,
        Err(_) => lenient_request(&config, buf, max_headers),
    }
}

/// Parses a response head at the start of `buf` (leading empty lines are skipped), as libhtp
/// does: see [`super::response_head`].
pub(crate) fn parse_response(buf: &[u8], max_headers: usize) -> Head<HttpResponse> {
    super::response_head::parse_response(buf, max_headers)
}

type Parsed<T> = httparse::Result<T>;

/// `httparse` with a stack array of header slots, then a heap array of `max_headers`. A block
/// with more lines than the stack array has slots goes to the heap array at once rather than
/// being parsed twice (the choice never changes the result, only what it costs).
fn run_request(
    config: &httparse::ParserConfig,
    buf: &[u8],
    max_headers: usize,
) -> Parsed<(usize, Headers)> {
    let inline = max_headers.min(INLINE_HEADERS);
    // The request line, `inline` header lines and the blank line.
    let fits_inline = memchr::memchr_iter(b'\n', buf).count() <= inline + 1;
    if !fits_inline && max_headers > inline {
        return run_request_on_heap(config, buf, max_headers);
    }
    let result = {
        let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; INLINE_HEADERS];
        run_request_with(config, buf, &mut slots[..inline])
    };
    match result {
        Err(httparse::Error::TooManyHeaders) if max_headers > inline => {
            run_request_on_heap(config, buf, max_headers)
        }
        other => other,
    }
}

/// [`run_request_with`] on `max_headers` slots on the heap (left uninitialised: httparse
/// writes a slot before it reads it).
fn run_request_on_heap(
    config: &httparse::ParserConfig,
    buf: &[u8],
    max_headers: usize,
) -> Parsed<(usize, Headers)> {
    let mut slots: Vec<MaybeUninit<httparse::Header<'_>>> = Vec::with_capacity(max_headers);
    slots.resize_with(max_headers, MaybeUninit::uninit);
    run_request_with(config, buf, &mut slots)
}

fn run_request_with<'b>(
    config: &httparse::ParserConfig,
    buf: &'b [u8],
    slots: &mut [MaybeUninit<httparse::Header<'b>>],
) -> Parsed<(usize, Headers)> {
    let mut req = httparse::Request::new(&mut []);
    Ok(
        match config.parse_request_with_uninit_headers(&mut req, buf, slots)? {
            httparse::Status::Complete(len) => {
                httparse::Status::Complete((len, owned_headers(req.headers, buf, len)))
            }
            httparse::Status::Partial => httparse::Status::Partial,
        },
    )
}

/// A stand-in request line put before the header block of a request whose own line `httparse`
/// refuses but [`lenient_request_line`] accepts.
const STAND_IN_LINE: &[u8] = b"GET / HTTP/1.1\r\n";

/// Requests whose line `httparse` refuses (raw 8-bit target, `HTTP/1.2`, trailing spaces): the
/// line is checked here and the header block parsed by `httparse` behind a stand-in line.
fn lenient_request(
    config: &httparse::ParserConfig,
    buf: &[u8],
    max_headers: usize,
) -> Head<HttpRequest> {
    let start = skip_empty_lines(buf);
    let rest = &buf[start..];
    let Some(lf) = memchr::memchr(b'\n', rest) else {
        return match match_request_line(rest, false) {
            Match::NeedMore | Match::Yes => Head::Partial,
            Match::No => Head::Invalid,
        };
    };
    if !lenient_request_line(strip_cr(&rest[..lf])) {
        return Head::Invalid;
    }
    let line_len = start + lf + 1;
    let mut stand_in = Vec::with_capacity(STAND_IN_LINE.len() + buf.len() - line_len);
    stand_in.extend_from_slice(STAND_IN_LINE);
    stand_in.extend_from_slice(&buf[line_len..]);
    match run_request(config, &stand_in, max_headers) {
        Ok(httparse::Status::Complete((len, headers))) => {
            let len = line_len + len.saturating_sub(STAND_IN_LINE.len());
            Head::Complete(build_request(&buf[..len], headers), len)
        }
        Ok(httparse::Status::Partial) => Head::Partial,
        Err(_) => Head::Invalid,
    }
}

/// `method SP+ target SP+ HTTP/1.<digit> SP*`, the target any bytes but controls and space.
fn lenient_request_line(line: &[u8]) -> bool {
    if match_request_line(line, false) != Match::Yes {
        return false;
    }
    let mut parts = line.split(|b| *b == b' ').filter(|p| !p.is_empty());
    let (_method, _target) = (parts.next(), parts.next());
    matches!(
        (parts.next(), parts.next()),
        (Some([b'H', b'T', b'T', b'P', b'/', b'1', b'.', d]), None) if d.is_ascii_digit()
    )
}

fn build_request(head: &[u8], headers: Headers) -> HttpRequest {
    let (line, raw_headers) = split_head(head);
    let line = StartLine::request(line);
    let mut events = HttpEvents::default();
    // httparse read the block behind this line or behind a stand-in: the same bytes.
    debug_assert_eq!(headers.block(), raw_headers);
    let headers = match unfold(raw_headers, headers.len()) {
        Some(unfolded) => {
            events.insert(HttpEvent::RequestFieldFolding);
            unfolded
        }
        None => headers,
    };
    let mut cookies = Cookies::default();
    let mut cookie_lines = 0;
    for value in headers.all("Cookie") {
        cookies.parse_header(value);
        cookie_lines += 1;
    }
    if cookie_lines > 1 {
        events.insert(HttpEvent::RequestCookieLines);
    }
    {
        let mut lengths = headers.all("Content-Length").map(<[u8]>::trim_ascii);
        if let Some(first) = lengths.next() {
            if lengths.any(|l| l != first) {
                events.insert(HttpEvent::DuplicateContentLength);
            }
        }
    }
    let mut request = HttpRequest {
        uri: NormalizedUri::from_target(line.part(1)),
        line,
        cookies,
        headers,
        ..HttpRequest::default()
    };
    if super::host::is_ambiguous(&request) {
        events.insert(HttpEvent::HostHeaderAmbiguous);
    }
    request.events = events;
    request
}

/// The header lines of a block in which a header continues on the next line (a line that
/// starts with a space or a tab, after a header line), with each continuation joined to its
/// header by one space (RFC 9112 §5.2: a recipient may replace obs-fold with spaces). `None`
/// when nothing is folded: `httparse` has read the block then. Lines that are not headers are
/// skipped, as `httparse` skips them; a blank-led line before the first header is the
/// whitespace HTTP.sys tolerates after the request line, not a continuation. `parsed` is the
/// number of header lines `httparse` took from the block.
fn unfold(block: &[u8], parsed: usize) -> Option<Headers> {
    // `httparse` skips a line that starts with a blank (a request's header name cannot): when
    // it took every line but the blank one, none is a continuation (one counting pass).
    if memchr::memchr_iter(b'\n', block).count() == parsed + 1 {
        return None;
    }
    // A continuation line follows a line feed: without a blank after any, nothing is folded
    // (one vectorised pass instead of splitting every line).
    let blank_led =
        memchr::memchr_iter(b'\n', block).any(|lf| matches!(block.get(lf + 1), Some(b' ' | b'\t')));
    if !blank_led {
        return None;
    }
    let lines = || {
        block
            .split(|b| *b == b'\n')
            .map(strip_cr)
            .take_while(|l| !l.is_empty())
    };
    let mut seen_header = false;
    let folded = lines().any(|l| {
        let continues = l.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        let fold = continues && seen_header;
        seen_header |= !continues && memchr::memchr(b':', l).is_some();
        fold
    });
    if !folded {
        return None;
    }
    let mut out = Headers::over_block(block, parsed, block.len());
    for line in lines() {
        if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            if let Some(last) = out.len().checked_sub(1).and_then(|i| out.line(i)) {
                let more = line.trim_ascii();
                if !more.is_empty() {
                    if !last.value.is_empty() {
                        out.extend_last_value(b" ");
                    }
                    out.extend_last_value(more);
                }
            }
            continue;
        }
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|b| is_token_byte(*b)) {
            continue;
        }
        out.push(name, line[colon + 1..].trim_ascii());
    }
    Some(out)
}

/// A byte allowed in a header name or a method (an RFC 9110 `tchar`).
pub(crate) const fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// The header lines httparse found in the head `buf[..len]`, in one [`Headers`] over the
/// head's header block. A line written `Name: value` (one space after the colon, as almost
/// every client writes it) is a place in the block; any other line is written after it.
fn owned_headers(parsed: &[httparse::Header<'_>], buf: &[u8], len: usize) -> Headers {
    let head = buf.get(..len).unwrap_or(buf);
    let (_, block) = split_head(head);
    let base = buf.as_ptr() as usize;
    // Where the block lies in `buf`: header names and values are found through it.
    let block_at = (block.as_ptr() as usize).wrapping_sub(base);
    let mut out = Headers::over_block(block, parsed.len(), 0);
    for h in parsed {
        let name = h.name.as_bytes();
        let value = h.value.trim_ascii();
        // Where the name and the value lie in the block (httparse hands out slices of `buf`).
        let name_at = (name.as_ptr() as usize).wrapping_sub(base + block_at);
        let value_at = (value.as_ptr() as usize).wrapping_sub(base + block_at);
        let joined = !value.is_empty()
            && value_at == name_at.wrapping_add(name.len() + 2)
            && out.push_in_block(name_at, name.len(), value_at + value.len());
        if !joined {
            out.push(name, value);
        }
    }
    out
}

/// Splits a head into its first line (without the line ending) and the header block after it
/// (up to and including the empty line). Leading empty lines are dropped.
fn split_head(head: &[u8]) -> (&[u8], &[u8]) {
    let rest = &head[skip_empty_lines(head)..];
    match memchr::memchr(b'\n', rest) {
        Some(lf) => (strip_cr(&rest[..lf]), &rest[lf + 1..]),
        None => (strip_cr(rest), &[]),
    }
}

fn trim_start_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| **b == b' ').count();
    &s[n..]
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn skip_empty_lines(buf: &[u8]) -> usize {
    buf.iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count()
}

/// Bytes allowed in a request-target: anything but controls, space and DEL.
fn is_target_byte(b: u8) -> bool {
    b > b' ' && b != 0x7f
}

/// Does `buf` start with `method SP+ target SP+ HTTP/1.<digit>`? With `known_method`, the
/// method must be one of [`KNOWN_METHODS`].
pub(crate) fn match_request_line(buf: &[u8], known_method: bool) -> Match {
    let method_len = buf.iter().take_while(|b| is_token_byte(**b)).count();
    if method_len > MAX_METHOD_LEN {
        return Match::No;
    }
    let Some(&after_method) = buf.get(method_len) else {
        let token = &buf[..method_len];
        if known_method && !KNOWN_METHODS.iter().any(|m| m.starts_with(token)) {
            return Match::No;
        }
        return Match::NeedMore;
    };
    if method_len == 0 || after_method != b' ' {
        return Match::No;
    }
    if known_method && !KNOWN_METHODS.contains(&&buf[..method_len]) {
        return Match::No;
    }
    let rest = trim_start_spaces(&buf[method_len..]);
    let target_len = rest.iter().take_while(|b| is_target_byte(**b)).count();
    let Some(&after_target) = rest.get(target_len) else {
        return Match::NeedMore;
    };
    if target_len == 0 || after_target != b' ' {
        return Match::No;
    }
    match_version(trim_start_spaces(&rest[target_len..]))
}

/// Does `buf` start with `HTTP/1.<digit> SP+ <3 digits>`?
pub(crate) fn match_status_line(buf: &[u8]) -> Match {
    match match_version(buf) {
        Match::Yes => {}
        other => return other,
    }
    let rest = &buf[8..];
    match rest.first() {
        None => return Match::NeedMore,
        Some(b' ') => {}
        Some(_) => return Match::No,
    }
    let code = trim_start_spaces(rest);
    if code.is_empty() {
        return Match::NeedMore;
    }
    let digits = code
        .iter()
        .take(3)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 3 {
        Match::Yes
    } else if digits == code.len() {
        Match::NeedMore
    } else {
        Match::No
    }
}

/// Does `buf` start with `HTTP/1.<digit>`?
fn match_version(buf: &[u8]) -> Match {
    const PREFIX: &[u8] = b"HTTP/1.";
    let n = buf.len().min(PREFIX.len());
    if buf[..n] != PREFIX[..n] {
        return Match::No;
    }
    match buf.get(PREFIX.len()) {
        None => Match::NeedMore,
        Some(d) if d.is_ascii_digit() => Match::Yes,
        Some(_) => Match::No,
    }
}

/// What the first bytes of a side are (leading empty lines are skipped).
pub(crate) fn classify(buf: &[u8]) -> Class {
    let rest = &buf[skip_empty_lines(buf)..];
    if rest.is_empty() {
        return Class::NeedMore;
    }
    let status = match_status_line(rest);
    let request = match_request_line(rest, false);
    if status == Match::Yes {
        Class::Response
    } else if request == Match::Yes {
        Class::Request
    } else if status == Match::NeedMore || request == Match::NeedMore {
        Class::NeedMore
    } else {
        Class::NotHttp
    }
}

/// Finds the next line that starts a request (a known method, a target and `HTTP/1.x`) or, for
/// a server, a status line. Candidates are offset 0 when `line_start` says `buf` begins a line,
/// and every byte after a line feed. A candidate that is still a prefix at the end of `buf` is
/// reported as [`Scan::Maybe`] unless it is longer than `max_line`.
pub(crate) fn find_message_start(
    buf: &[u8],
    line_start: bool,
    request: bool,
    max_line: usize,
) -> Scan {
    let check = |at: usize| {
        let rest = &buf[at..];
        if request {
            match_request_line(rest, true)
        } else {
            match_status_line(rest)
        }
    };
    let mut candidate = if line_start { Some(0) } else { None };
    let mut search_from = 0;
    loop {
        if let Some(at) = candidate {
            if at >= buf.len() {
                return Scan::Maybe(buf.len());
            }
            match check(at) {
                Match::Yes => return Scan::Found(at),
                Match::NeedMore if buf.len() - at <= max_line => return Scan::Maybe(at),
                _ => {}
            }
            search_from = at;
        }
        match memchr::memchr(b'\n', &buf[search_from..]) {
            Some(lf) => candidate = Some(search_from + lf + 1),
            None => return Scan::NotFound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete<T: std::fmt::Debug>(head: Head<T>) -> (T, usize) {
        match head {
            Head::Complete(t, n) => (t, n),
            other => panic!("not complete: {other:?}"),
        }
    }

    #[test]
    fn request_head_kept_as_sent() {
        let raw = b"\r\nPOST  /ecp/y.js?a=%41  HTTP/1.1\r\nHost: ex\r\nCookie:  X-BEResource=a~1 ; b=2\r\nBad Header: x\r\nX-A:\t v \r\n\r\nBODY";
        let (req, n) = complete(parse_request(raw, 1024));
        assert_eq!(n, raw.len() - 4);
        assert_eq!(req.method(), b"POST");
        assert_eq!(req.target(), b"/ecp/y.js?a=%41");
        assert_eq!(req.protocol(), b"HTTP/1.1");
        assert_eq!(req.request_line(), b"POST  /ecp/y.js?a=%41  HTTP/1.1");
        assert_eq!(
            req.raw_headers(),
            b"Host: ex\r\nCookie:  X-BEResource=a~1 ; b=2\r\nBad Header: x\r\nX-A:\t v \r\n\r\n"
        );
        // `Host: ex` is a place in the block; the other two lines are written after it.
        assert_eq!(
            req.headers.bytes(),
            [req.raw_headers(), b"Cookie: X-BEResource=a~1 ; b=2X-A: v"].concat()
        );
        // The invalid line is skipped, values are trimmed.
        let names: Vec<_> = req.headers.iter().map(|h| h.name.to_vec()).collect();
        assert_eq!(
            names,
            vec![b"Host".to_vec(), b"Cookie".to_vec(), b"X-A".to_vec()]
        );
        assert_eq!(req.headers.get("x-a"), Some(&b"v"[..]));
        assert_eq!(req.cookies.find("x-beresource"), Some(&b"a~1"[..]));
        assert_eq!(req.uri.to_bytes(), b"/ecp/y.js?a=A");
    }

    #[test]
    fn a_second_cookie_line_is_an_event() {
        let head = |cookies: &str| {
            let raw = format!("GET /ecp/y.js HTTP/1.1\r\nHost: a\r\n{cookies}\r\n\r\n");
            complete(parse_request(raw.as_bytes(), 16)).0
        };
        let two = head("Cookie: a=1\r\nX-A: b\r\ncookie: X-BEResource=x~1");
        assert!(two.events.contains(HttpEvent::RequestCookieLines));
        let one = head("Cookie: a=1, X-BEResource=x~1");
        assert!(!one.events.contains(HttpEvent::RequestCookieLines));
    }

    #[test]
    fn two_content_lengths_that_differ_are_an_event() {
        let head = |cl: &str| {
            let raw = format!("POST /ecp/y.js HTTP/1.1\r\nHost: a\r\n{cl}\r\n\r\n");
            complete(parse_request(raw.as_bytes(), 16)).0
        };
        let differ = head("Content-Length: 5\r\nContent-Length: 50");
        assert!(differ.events.contains(HttpEvent::DuplicateContentLength));
        // The same value twice (blanks aside) is what RFC 9110 §8.6 lets a recipient accept.
        let same = head("Content-Length: 5\r\ncontent-length:  5 ");
        assert!(!same.events.contains(HttpEvent::DuplicateContentLength));
        let one = head("Content-Length: 5");
        assert!(!one.events.contains(HttpEvent::DuplicateContentLength));
    }

    #[test]
    fn request_partial_then_complete() {
        let raw = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        for cut in 0..raw.len() {
            assert!(
                matches!(parse_request(&raw[..cut], 16), Head::Partial),
                "cut {cut}"
            );
        }
        assert_eq!(complete(parse_request(raw, 16)).1, raw.len());
    }

    #[test]
    fn request_with_raw_8bit_target_and_odd_version() {
        let raw = b"GET /ecp/\xe9\xff.js HTTP/1.1\r\nHost: a\r\n\r\n";
        let (req, n) = complete(parse_request(raw, 16));
        assert_eq!(n, raw.len());
        assert_eq!(req.target(), b"/ecp/\xe9\xff.js");
        assert_eq!(req.headers.get("host"), Some(&b"a"[..]));
        let raw = b"GET / HTTP/1.2 \r\nA: b\r\n\r\n";
        let (req, n) = complete(parse_request(raw, 16));
        assert_eq!(n, raw.len());
        assert_eq!(req.protocol(), b"HTTP/1.2");
        assert!(matches!(
            parse_request(b"GET /\xff HTTP/1.1\r\nA: b\r\n", 16),
            Head::Partial
        ));
        assert!(matches!(
            parse_request(b"GET /\xff HTTP/2.0\r\n\r\n", 16),
            Head::Invalid
        ));
    }

    #[test]
    fn request_invalid() {
        assert!(matches!(
            parse_request(b"\x16\x03\x01\x02\x00", 16),
            Head::Invalid
        ));
        assert!(matches!(
            parse_request(b"GET / HTTP/1.1\r\n\x00x: y\r\n\r\n", 16),
            Head::Invalid
        ));
        assert!(matches!(
            parse_request(b"PRI * HTTP/2.0\r\n\r\n", 16),
            Head::Invalid
        ));
    }

    #[test]
    fn many_headers_use_the_heap_then_hit_the_cap() {
        let mut raw = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..100 {
            raw.extend_from_slice(format!("H{i}: v\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        let (req, _) = complete(parse_request(&raw, 1024));
        assert_eq!(req.headers.len(), 100);
        assert!(matches!(parse_request(&raw, 99), Head::Invalid));
        assert!(matches!(parse_request(&raw, 0), Head::Invalid));
    }

    #[test]
    fn response_head() {
        let raw = b"HTTP/1.1 200  Very OK\r\nContent-Length : 5\r\nX-F: a\r\n  b\r\n\r\nhello";
        let (resp, n) = complete(parse_response(raw, 16));
        assert_eq!(n, raw.len() - 5);
        assert_eq!(resp.status, 200);
        assert_eq!(resp.protocol(), b"HTTP/1.1");
        assert_eq!(resp.reason(), b"Very OK");
        assert_eq!(resp.response_line(), b"HTTP/1.1 200  Very OK");
        assert_eq!(resp.headers.get("content-length"), Some(&b"5"[..]));
        assert_eq!(resp.headers.get("x-f"), Some(&b"a  b"[..]));
        let (resp, _) = complete(parse_response(b"HTTP/1.0 404\r\n\r\n", 16));
        assert_eq!((resp.status, resp.reason()), (404, &b""[..]));
        assert!(matches!(
            parse_response(b"HTTP/1.1 200 OK\r\n", 16),
            Head::Partial
        ));
        assert!(matches!(
            parse_response(b"GET / HTTP/1.1\r\n\r\n", 16),
            Head::Invalid
        ));
    }

    #[test]
    fn classify_first_bytes() {
        assert_eq!(classify(b"GET / HTTP/1.1\r\n"), Class::Request);
        assert_eq!(
            classify(b"RPC_IN_DATA /rpc/rpcproxy.dll?x HTTP/1.1"),
            Class::Request
        );
        assert_eq!(classify(b"\r\nHEAD / HTTP/1.0"), Class::Request);
        assert_eq!(classify(b"HTTP/1.1 200 OK\r\n"), Class::Response);
        assert_eq!(classify(b"HTTP/1.0  404"), Class::Response);
        assert_eq!(classify(b"HE"), Class::NeedMore);
        assert_eq!(classify(b"GET /abc"), Class::NeedMore);
        assert_eq!(classify(b"HTTP/1.1 2"), Class::NeedMore);
        assert_eq!(classify(b"\x16\x03\x01\x02\x00\x01"), Class::NotHttp);
        assert_eq!(classify(b"SSH-2.0-OpenSSH_8.9\r\n"), Class::NotHttp);
        assert_eq!(classify(b"EHLO mail\r\n"), Class::NotHttp);
        assert_eq!(classify(b"GET / HTTP/2.0"), Class::NotHttp);
        assert_eq!(classify(b"HTTP/1.1 20x"), Class::NotHttp);
        assert_eq!(classify(b"* OK IMAP4rev1 ready\r\n"), Class::NotHttp);
    }

    #[test]
    fn resync_scan() {
        let body = b"junk GET / HTTP/1.1\r\nmore\nPOST /ecp/x HTTP/1.1\r\n";
        assert_eq!(find_message_start(body, false, true, 100), Scan::Found(26));
        assert_eq!(
            find_message_start(b"GET / HTTP/1.1", true, true, 100),
            Scan::Found(0)
        );
        assert_eq!(
            find_message_start(b"GET / HTTP/1.1", false, true, 100),
            Scan::NotFound
        );
        // Unknown methods do not count after a gap.
        assert_eq!(
            find_message_start(b"x\nFOO / HTTP/1.1\r\nx", false, true, 100),
            Scan::NotFound
        );
        // Ending in a line feed: the next packet may start a request.
        assert_eq!(
            find_message_start(b"x\nFOO / HTTP/1.1\r\n", false, true, 100),
            Scan::Maybe(18)
        );
        assert_eq!(
            find_message_start(b"x\nGET /lon", false, true, 100),
            Scan::Maybe(2)
        );
        assert_eq!(
            find_message_start(b"x\nGET /lon", false, true, 5),
            Scan::NotFound
        );
        assert_eq!(find_message_start(b"x\n", false, true, 5), Scan::Maybe(2));
        assert_eq!(
            find_message_start(b"abc\r\nHTTP/1.1 200 OK", false, false, 100),
            Scan::Found(5)
        );
        assert_eq!(
            find_message_start(b"abc\r\nHTTP/1.1 2", false, false, 100),
            Scan::Maybe(5)
        );
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(buf in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = parse_request(&buf, 8);
            let _ = parse_response(&buf, 8);
            let _ = classify(&buf);
            let _ = find_message_start(&buf, true, true, 64);
            let _ = find_message_start(&buf, false, false, 64);
        }
    }
}
