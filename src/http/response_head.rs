//! Response heads parsed the way libhtp (Suricata's HTTP parser) and browsers read them.
//!
//! Servers, and attackers hiding content from inspection (noxxi.de's "HTTP Evader"), send
//! status lines and header blocks that a strict parser refuses but a browser still renders. A
//! sensor that refuses them sees no body at all, so responses are read with the leniency
//! libhtp documents and implements:
//!
//! - The status line only has to start with `http` (any case) after whitespace or NUL bytes;
//!   protocol, status and reason are split at whitespace (space, tab, CR, LF, VT, FF). The
//!   protocol is kept as sent (`http/1.0`, `HTTP/2.0`, `HTTP/1.1foobar`); a status that is not
//!   a number from 100 to 999 (`20`, `2\0 00`, missing) is kept as 0, and the response goes on.
//! - A line ends at LF, or at a CR not followed by LF (`a: b\rc: d\r\n` is two lines), except
//!   that a lone CR at the very start of a line does not end it.
//! - The header block ends at an empty line (`\n` or `\r\n`), or at a line holding only a space
//!   or tab before its LF when the next byte is not another LF. `\r\r\n` is not empty.
//! - A line starting with a space or tab continues the previous header (obs-fold); on HTTP/1.1,
//!   a continuation with a colon after a header that has one starts a new header instead. A
//!   line without a colon is a header with an empty name (so its bytes are still inspected).
//! - Header names lose trailing whitespace, VT, FF, CR and NUL; values lose surrounding spaces
//!   and tabs.
//!
//! Which headers frame the body (and how leniently their values are read) is decided in
//! [`super::body`]; this module only splits the head.
//!
//! Nearly every server sends a header block none of those rules touch: lines `Name: value`
//! ended by CRLF. Such a block is read in one pass, its headers kept as places in it
//! ([`plain_headers`]); the walk with the rules above reads every other block, copying the
//! lines it takes apart. For the plain shape both give the same headers, which a property test
//! holds them to.

use std::borrow::Cow;

use super::parser::Head;
use super::{Headers, HttpResponse, StartLine};

/// Parses a response head at the start of `buf` (leading empty lines are skipped). Only
/// complete lines are used, plus the one byte after a line when libhtp's rules look at it;
/// returns [`Head::Partial`] when more bytes are needed, [`Head::Invalid`] when the first line
/// does not look like a status line or there are more than `max_headers` header lines.
pub(crate) fn parse_response(buf: &[u8], max_headers: usize) -> Head<HttpResponse> {
    let start = buf
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    let rest = &buf[start..];
    match looks_like_status_line(rest) {
        Some(true) => {}
        Some(false) => return Head::Invalid,
        None => return Head::Partial,
    }
    let Some(head_start) = line_end(buf, start, false) else {
        return Head::Partial;
    };
    let line = chomp(&buf[start..head_start]);
    let (protocol, digits, reason) = split_status_line(line);
    let http11 = protocol == b"HTTP/1.1";
    let status = status_number(digits);
    let line = StartLine::from_parts(line, [protocol, digits, reason]);
    let (headers, end) = match plain_headers(&buf[head_start..], max_headers) {
        Some((headers, len)) => (headers, head_start + len),
        None => match headers_walked(buf, head_start, http11, max_headers) {
            Head::Complete(headers, end) => (headers, end),
            Head::Partial => return Head::Partial,
            Head::Invalid => return Head::Invalid,
        },
    };
    let response = HttpResponse {
        line,
        status,
        headers,
        ..HttpResponse::default()
    };
    Head::Complete(response, end)
}

/// The most lines a block may have for [`plain_headers`] (a longer one is walked).
const PLAIN_LINES: usize = 64;

/// The header block at the start of `rest` when it has the common shape — every line
/// `Name: value` (one space after the colon, no blank at either end of the value or before the
/// colon, no CR but the one before each LF, no continuation), the block ended by an empty line
/// — with at most `max_headers` lines (and [`PLAIN_LINES`]): the headers as places in the
/// block, which no line is copied out of, and the block's length. `None` for any other block,
/// which [`headers_walked`] reads as libhtp does (it gives the same headers for this shape, as
/// a test checks). The walk copies every line and then moves the copies behind the block.
fn plain_headers(rest: &[u8], max_headers: usize) -> Option<(Headers, usize)> {
    // Each line's start, colon and end (before its CRLF), until the block's end is known.
    let mut lines = [(0usize, 0usize, 0usize); PLAIN_LINES];
    let most = max_headers.min(PLAIN_LINES);
    let mut at = 0;
    for (count, lf) in memchr::memchr_iter(b'\n', rest).enumerate() {
        let text = match rest.get(at..lf)? {
            [text @ .., b'\r'] => text,
            _ => return None,
        };
        if text.is_empty() {
            let len = lf + 1;
            let block = &rest[..len];
            // No CR but the one before each LF (the empty line's too).
            if memchr::memchr_iter(b'\r', block).count() != count + 1 {
                return None;
            }
            let mut headers = Headers::over_block(block, count, 0);
            for &(start, colon, end) in lines.get(..count)? {
                if !headers.push_in_block(start, colon - start, end) {
                    return None;
                }
            }
            return Some((headers, len));
        }
        let colon = plain_line_colon(text)?;
        *lines.get_mut(count).filter(|_| count < most)? = (at, at + colon, at + text.len());
        at = lf + 1;
    }
    None
}

/// Where the colon of `text` (a line without its CRLF and without a CR) is when the line is
/// `Name: value` as [`plain_headers`] takes it (that one space follows the colon,
/// `Headers::push_in_block` checks).
fn plain_line_colon(text: &[u8]) -> Option<usize> {
    let lws = |b: &u8| matches!(b, b' ' | b'\t');
    let colon = memchr::memchr(b':', text)?;
    let name_last = *text.get(colon.checked_sub(1)?)?;
    let value = text.get(colon + 2..)?;
    let plain = !lws(&text[0])
        && !matches!(name_last, b' ' | b'\t' | 0x0b | 0x0c | 0)
        && !value.first().is_some_and(lws)
        && !value.last().is_some_and(lws);
    plain.then_some(colon)
}

/// The header block from `head_start` walked line by line with libhtp's rules (see the
/// module documentation): the headers and where the head ends.
fn headers_walked(
    buf: &[u8],
    head_start: usize,
    http11: bool,
    max_headers: usize,
) -> Head<Headers> {
    let mut headers = Headers::with_capacity(32, buf.len().saturating_sub(head_start));
    // The header being gathered (while `open`): it may still be continued by a folded line.
    // Borrowed from `buf` until a continuation is joined to it.
    let mut current: Cow<'_, [u8]> = Cow::Borrowed(&[]);
    let mut open = false;
    let mut pos = head_start;
    loop {
        let Some(end) = line_end(buf, pos, true) else {
            return Head::Partial;
        };
        let raw = &buf[pos..end];
        let next = buf.get(end).copied();
        match is_terminator(raw, next) {
            None => return Head::Partial,
            Some(true) => {
                if open {
                    push_header(&mut headers, &current);
                }
                if headers.len() > max_headers {
                    return Head::Invalid;
                }
                headers.put_block_first(&buf[head_start..end]);
                return Head::Complete(headers, end);
            }
            Some(false) => {}
        }
        let data = chomp(raw);
        match data.first() {
            // A continuation with nothing before it starts the header itself.
            Some(b' ' | b'\t') | None if !open => {
                current = Cow::Borrowed(data);
                open = true;
            }
            Some(b' ' | b'\t') | None => {
                if http11 && data.contains(&b':') && current.contains(&b':') {
                    push_header(&mut headers, &current);
                    current = Cow::Borrowed(data.get(1..).unwrap_or_default());
                } else {
                    current.to_mut().extend_from_slice(data);
                }
            }
            Some(_) => {
                if open {
                    push_header(&mut headers, &current);
                }
                current = Cow::Borrowed(data);
                open = true;
            }
        }
        if headers.len() > max_headers {
            return Head::Invalid;
        }
        pos = end;
    }
}

/// Does the line at the start of `buf` look like a status line, as browsers and libhtp
/// decide: `http` in any case after whitespace or NUL bytes? `None` when too few bytes tell.
/// A first line that does not is, for libhtp, the start of a body without a head.
pub(crate) fn looks_like_status_line(buf: &[u8]) -> Option<bool> {
    let lead = buf
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c | 0))
        .count();
    let word = &buf[lead..buf.len().min(lead + 4)];
    if !word.eq_ignore_ascii_case(&b"http"[..word.len()]) {
        Some(false)
    } else if word.len() == 4 {
        Some(true)
    } else {
        None
    }
}

/// libhtp's whitespace (`htp_is_space`): space, tab, CR, LF, VT, FF.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c)
}

/// The end (exclusive, terminator included) of the line starting at `start`, or `None` when
/// it is not complete. A CR followed by anything but LF ends the line; in the header block
/// (`header`), not when it is the first byte of the line.
fn line_end(buf: &[u8], start: usize, header: bool) -> Option<usize> {
    let mut i = start;
    loop {
        i += memchr::memchr2(b'\n', b'\r', buf.get(i..)?)?;
        if buf[i] == b'\n' {
            return Some(i + 1);
        }
        match buf.get(i + 1) {
            None => return None,
            // CRLF: the line ends at its LF.
            Some(b'\n') => return Some(i + 2),
            Some(_) if header && i == start => {}
            Some(_) => return Some(i + 1),
        }
        i += 1;
    }
}

/// Does this header-block line end the head? `None` when that depends on a byte not seen yet.
fn is_terminator(line: &[u8], next: Option<u8>) -> Option<bool> {
    match line {
        b"\n" | b"\r\n" => Some(true),
        // Only whitespace: a terminator, unless an empty line follows right away.
        [b' ' | b'\t', b'\n'] => next.map(|n| n != b'\n'),
        _ => Some(false),
    }
}

/// The line without its trailing CRs and LFs.
fn chomp(line: &[u8]) -> &[u8] {
    let n = line
        .iter()
        .rev()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    &line[..line.len() - n]
}

/// `protocol SP status SP reason`, split at runs of whitespace.
fn split_status_line(line: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let skip =
        |s: &[u8], from: usize| from + s[from..].iter().take_while(|b| is_space(**b)).count();
    let word =
        |s: &[u8], from: usize| from + s[from..].iter().take_while(|b| !is_space(**b)).count();
    let p0 = skip(line, 0);
    let p1 = word(line, p0);
    let s0 = skip(line, p1);
    let s1 = word(line, s0);
    let r0 = skip(line, s1);
    (&line[p0..p1], &line[s0..s1], &line[r0..])
}

/// The status as a number from 100 to 999, else 0.
fn status_number(digits: &[u8]) -> u16 {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return 0;
    }
    let n = digits.iter().try_fold(0u32, |acc, d| {
        acc.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    });
    match n {
        Some(n @ 100..=999) => n as u16,
        _ => 0,
    }
}

/// Splits one (unfolded) header line at its first colon.
fn push_header(headers: &mut Headers, line: &[u8]) {
    if line.is_empty() {
        return;
    }
    let lws = |b: u8| matches!(b, b' ' | b'\t');
    // The value's bounds in `line`, spaces and tabs around it left out.
    let value_of = |from: usize| {
        let mut start = from;
        while start < line.len() && lws(line[start]) {
            start += 1;
        }
        let mut end = line.len();
        while end > start && lws(line[end - 1]) {
            end -= 1;
        }
        (start, end)
    };
    match memchr::memchr(b':', line) {
        None => {
            let (start, end) = value_of(0);
            headers.push(b"", &line[start..end]);
        }
        Some(colon) => {
            let mut keep = colon;
            while keep > 0 && matches!(line[keep - 1], b' ' | b'\t' | b'\r' | 0x0b | 0x0c | 0) {
                keep -= 1;
            }
            let (start, end) = value_of(colon + 1);
            if keep == colon && start == colon + 2 && line[colon + 1] == b' ' {
                // `Name: value` as stored: one copy.
                headers.push_joined(&line[..end], colon);
            } else {
                headers.push(&line[..keep], &line[start..end]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(buf: &[u8]) -> (HttpResponse, usize) {
        match parse_response(buf, 64) {
            Head::Complete(r, n) => (r, n),
            other => panic!("not complete: {other:?} for {buf:?}"),
        }
    }

    fn names(r: &HttpResponse) -> Vec<(String, String)> {
        r.headers
            .iter()
            .map(|h| {
                (
                    String::from_utf8_lossy(h.name).into_owned(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn plain_head() {
        let raw = b"HTTP/1.1 200  Very OK\r\nContent-Length : 5\r\nX-F: a\r\n  b\r\n\r\nhello";
        let (r, n) = complete(raw);
        assert_eq!(n, raw.len() - 5);
        assert_eq!(r.protocol(), b"HTTP/1.1");
        assert_eq!((r.status, r.reason()), (200, &b"Very OK"[..]));
        assert_eq!(r.response_line(), b"HTTP/1.1 200  Very OK");
        assert_eq!(
            r.raw_headers(),
            b"Content-Length : 5\r\nX-F: a\r\n  b\r\n\r\n"
        );
        assert_eq!(r.headers.get("content-length"), Some(&b"5"[..]));
        assert_eq!(r.headers.get("x-f"), Some(&b"a  b"[..]));
    }

    #[test]
    fn odd_status_lines_are_still_responses() {
        // Lower-case or unknown protocol, leading space or NUL, VT separators, no status,
        // garbage status: all kept, status 0 when it is not 100..=999.
        for (raw, proto, status) in [
            (&b"http/1.0 200 ok\r\n\r\n"[..], &b"http/1.0"[..], 200),
            (b"HTTP/2.0 200 ok\r\n\r\n", b"HTTP/2.0", 200),
            (b" HTTP/1.1 200 ok\r\n\r\n", b"HTTP/1.1", 200),
            (b"\x00HTTP/1.1 200 ok\r\n\r\n", b"\x00HTTP/1.1", 200),
            (b"HTTP/1.1\x0b200\x0bok\r\n\r\n", b"HTTP/1.1", 200),
            (b"HTTP/1.1\r\n\r\n", b"HTTP/1.1", 0),
            (b"HTTP/1.1foobar\r\n\r\n", b"HTTP/1.1foobar", 0),
            (b"HTTP/1.1 20 ok\r\n\r\n", b"HTTP/1.1", 0),
            (b"HTTP/1.1 2\x0000 ok\r\n\r\n", b"HTTP/1.1", 0),
            (b"HTTP/1.1 0200 ok\r\n\r\n", b"HTTP/1.1", 200),
        ] {
            let (r, n) = complete(raw);
            assert_eq!((r.protocol(), r.status, n), (proto, status, raw.len()));
        }
        assert!(matches!(
            parse_response(b"GET / HTTP/1.1\r\n\r\n", 8),
            Head::Invalid
        ));
        assert!(matches!(parse_response(b"\x16\x03", 8), Head::Invalid));
        assert!(matches!(parse_response(b"ht", 8), Head::Partial));
        assert!(matches!(
            parse_response(b" \r\nHTTP/1.1 200 ok\r\n\r\n", 8),
            Head::Invalid
        ));
        assert_eq!(looks_like_status_line(b"EICAR-STANDARD"), Some(false));
        assert_eq!(looks_like_status_line(b"\0 hTtP/1.1"), Some(true));
        assert_eq!(looks_like_status_line(b"\0 hT"), None);
        assert!(matches!(parse_response(b"HTTP/1.1 200", 8), Head::Partial));
    }

    #[test]
    fn bare_cr_ends_a_line() {
        let (r, _) = complete(b"HTTP/1.1 200\rTransfer-Encoding:chunked\r\nA: b\rC: d\r\n\n");
        assert_eq!(r.response_line(), b"HTTP/1.1 200");
        assert_eq!(
            names(&r),
            [("Transfer-Encoding", "chunked"), ("A", "b"), ("C", "d")]
                .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        // `Name\r: value`: the name line has no colon, the value line an empty name.
        let (r, _) = complete(b"HTTP/1.1 200 ok\r\nTransfer-Encoding\r: chunked\r\n\r\n");
        assert_eq!(r.headers.get("transfer-encoding"), None);
        assert_eq!(r.headers.line(1).unwrap().value, b"chunked");
        // `Name: \r value` is folded back together.
        let (r, _) = complete(b"HTTP/1.1 200 ok\r\nTransfer-Encoding: \r chunked\r\n\r\n");
        assert_eq!(r.headers.get("transfer-encoding"), Some(&b"chunked"[..]));
    }

    #[test]
    fn terminators() {
        // `\r\r\n` is not an empty line.
        let raw = b"HTTP/1.1 200 ok\r\nA: b\r\n\r\r\nC: d\r\n\r\nBODY";
        let (r, n) = complete(raw);
        assert_eq!((n, r.headers.get("c")), (raw.len() - 4, Some(&b"d"[..])));
        // A lone space or tab line ends the head unless an LF follows.
        let raw = b"HTTP/1.1 200 ok\r\nContent-length: 68\n \nX5O!";
        assert_eq!(complete(raw).1, raw.len() - 4);
        let raw = b"HTTP/1.1 200 ok\r\nA: b\n\t\n4\r\n";
        assert_eq!(complete(raw).1, raw.len() - 3);
        assert!(matches!(
            parse_response(b"HTTP/1.1 200 ok\r\nA: b\n \n", 8),
            Head::Partial
        ));
        let (r, _) = complete(b"HTTP/1.1 200 ok\r\nA: b\n \n\nX");
        assert_eq!(r.headers.get("a"), Some(&b"b"[..]));
    }

    #[test]
    fn folding() {
        // A status split over two lines: the rest becomes a header without a name.
        let (r, _) = complete(b"HTTP/1.1\n 200 ok\r\nContent-length: 68\r\n\r\n");
        assert_eq!(r.status, 0);
        assert_eq!(r.headers.line(0).unwrap().name, b"");
        assert_eq!(r.headers.get("content-length"), Some(&b"68"[..]));
        // HTTP/1.1: a folded line with a colon is a header of its own.
        let (r, _) =
            complete(b"HTTP/1.1 200 ok\r\nX-Foo: bar\r\n\tTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(r.headers.get("transfer-encoding"), Some(&b"chunked"[..]));
        // A name continued on the next lines.
        let (r, _) = complete(
            b"HTTP/1.1 200 ok\r\nTransfer-Encoding\r\n \r\n :\r\n chunked\r\nA: b\r\n\r\n",
        );
        assert_eq!(r.headers.get("transfer-encoding"), Some(&b"chunked"[..]));
        assert_eq!(r.headers.get("a"), Some(&b"b"[..]));
    }

    #[test]
    fn names_lose_odd_trailing_bytes() {
        for raw in [
            &b"HTTP/1.1 200 ok\r\nTransfer-Encoding\t: chunked\r\n\r\n"[..],
            b"HTTP/1.1 200 ok\r\nTransfer-Encoding\x0b:chunked\r\n\r\n",
            b"HTTP/1.1 200 ok\r\nTransfer-Encoding\x0c:chunked\r\n\r\n",
        ] {
            let (r, _) = complete(raw);
            assert_eq!(r.headers.get("transfer-encoding"), Some(&b"chunked"[..]));
        }
    }

    #[test]
    fn too_many_headers() {
        let mut raw = b"HTTP/1.1 200 ok\r\n".to_vec();
        for i in 0..10 {
            raw.extend_from_slice(format!("H{i}: v\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        assert!(matches!(parse_response(&raw, 10), Head::Complete(..)));
        assert!(matches!(parse_response(&raw, 9), Head::Invalid));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(buf in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            if let Head::Complete(_, n) = parse_response(&buf, 8) {
                proptest::prop_assert!(n <= buf.len());
            }
            let mut with_head = b"HTTP/1.1 200 ok\r\n".to_vec();
            with_head.extend_from_slice(&buf);
            let _ = parse_response(&with_head, 8);
        }
    }

    /// The general walk over the header block at the start of `rest`, as `parse_response`
    /// runs it behind an HTTP/1.1 status line.
    fn walked(rest: &[u8], max_headers: usize) -> Option<(Headers, usize)> {
        match headers_walked(rest, 0, true, max_headers) {
            Head::Complete(headers, end) => Some((headers, end)),
            _ => None,
        }
    }

    #[test]
    fn plain_blocks_point_into_the_block() {
        let block = b"Content-Type: text/html\r\nX-Empty: \r\nSet-Cookie: a=b; path=/\r\n\r\n";
        let mut rest = block.to_vec();
        rest.extend_from_slice(b"<html>\r\n\r\n");
        let (headers, len) = plain_headers(&rest, 8).expect("a plain block");
        assert_eq!(len, block.len());
        // No line copied after the block.
        assert_eq!(headers.bytes(), &block[..]);
        assert_eq!(Some((headers, len)), walked(&rest, 8));
        // No header line at all.
        let empty = plain_headers(b"\r\n<html>", 8);
        assert_eq!(
            empty.as_ref().map(|(h, len)| (h.block(), *len)),
            Some((&b"\r\n"[..], 2))
        );
        assert_eq!(empty, walked(b"\r\n<html>", 8));
        // Too many lines for the limit: left to the walk, which refuses them.
        assert_eq!(plain_headers(&rest, 2), None);
        assert_eq!(walked(&rest, 2), None);
    }

    #[test]
    fn other_blocks_are_left_to_the_walk() {
        for rest in [
            &b"A:b\r\n\r\n"[..],
            b"A :b\r\n\r\n",
            b"A:  b\r\n\r\n",
            b"A: b \r\n\r\n",
            b"A: b\t\r\n\r\n",
            b"A\x00: b\r\n\r\n",
            b"A: b\r\n c\r\n\r\n",
            b"A: b\rC: d\r\n\r\n",
            b"A: b\nC: d\r\n\r\n",
            b"A: b\r\n\nC: d\r\n\r\n",
            b"no colon\r\n\r\n",
            b": b\r\n\r\n",
            b" A: b\r\n\r\n",
            b"A: b\r\n",
        ] {
            assert_eq!(plain_headers(rest, 8), None, "{rest:?}");
        }
    }

    proptest::proptest! {
        /// Wherever the short cut takes a block, the walk gives the same headers and the same
        /// end. Blocks are plain lines with at most one line of another shape among them (a
        /// single odd line is what the short cut must notice).
        #[test]
        fn plain_blocks_read_as_the_walk_reads_them(
            mut lines in proptest::collection::vec(
                // Plain lines, some with an empty value.
                "[A-Za-z-]{1,12}: ([!-~]([ -~]{0,16}[!-~])?)?\r\n",
                0..8,
            ),
            odd in proptest::option::of(proptest::prop_oneof![
                // A plain line with one thing otherwise: a blank or a control before the
                // colon, no blank or two after it, a blank after the value, a line end other
                // than CRLF, a CR inside.
                "[A-Za-z-]{1,6}[ \t\x00\x0b\x0c]: [a-z]{1,5}\r\n",
                "[A-Za-z-]{1,6}:[a-z]{1,5}\r\n",
                "[A-Za-z-]{1,6}:[ \t][ \t][a-z]{1,5}\r\n",
                "[A-Za-z-]{1,6}: [a-z]{1,5}[ \t]\r\n",
                "[A-Za-z-]{1,6}: [a-z]{1,5}(\n|\r\r\n|\r)",
                "[A-Za-z-]{1,6}: [a-z]{1,5}\r[a-z]{0,5}\r\n",
                // A continuation, no colon, an empty name.
                "[ \t][A-Za-z-]{1,6}: [a-z]{0,5}\r\n",
                "[A-Za-z -]{1,8}\r\n",
                ": [ -~]{0,8}\r\n",
                // Lines the walk takes as the end of the block.
                "(\r\n|\n| \n|\t\n)",
            ]),
            at in 0usize..8,
            // Mostly an empty line, as a head has.
            tail in "(\r\n|\r\n|\r\n|\n|)[ -~\r\n]{0,12}",
            max_headers in 1usize..12,
        ) {
            if let Some(odd) = odd {
                lines.insert(at.min(lines.len()), odd);
            }
            let mut rest = lines.concat().into_bytes();
            rest.extend_from_slice(tail.as_bytes());
            if let Some(plain) = plain_headers(&rest, max_headers) {
                proptest::prop_assert_eq!(Some(plain), walked(&rest, max_headers));
            }
        }
    }
}
