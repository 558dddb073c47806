//! Message bodies on the wire: how long they are (Content-Length, chunked, until close) and
//! the dechunked bytes.
//!
//! A [`BodyReader`] is a small state machine fed the bytes after a head, in pieces of any size.
//! It hands body bytes to a [`BodySink`], which keeps them up to the body limit and counts all
//! of them, and stops where the body ends so the caller can parse the next head from there.
//! Chunk-size lines (with extensions) are read with `httparse::parse_chunk_size`; trailer lines
//! are collected as headers. The only bytes it cannot consume at once are an incomplete chunk
//! line or trailer line: it then reports how far it got, and the caller keeps the rest, bounded
//! by [`BodyLimits::max_line`].

use super::Headers;

/// How a message body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    None,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the sender closes (responses only).
    UntilClose,
}

impl Framing {
    /// The framing of a request: chunked, else Content-Length, else no body.
    pub(crate) fn of_request(headers: &Headers) -> Framing {
        if is_chunked(headers) {
            Framing::Chunked
        } else {
            match content_length(headers) {
                Some(n) => Framing::Length(n),
                None => Framing::None,
            }
        }
    }

    /// The framing of a response that may have a body, as libhtp (Suricata's HTTP parser)
    /// and browsers read it: chunked when a `Transfer-Encoding` value contains `chunked`
    /// anywhere (`chunked;`, `x chunked`, `chu\0nked`), else the first `Content-Length` read
    /// leniently (junk around the digits ignored), else until close. Header names match
    /// without case and NUL bytes.
    pub(crate) fn of_response(headers: &Headers) -> Framing {
        let chunked = response_headers(headers, "Transfer-Encoding")
            .any(|v| contains_nocase_nozero(v, b"chunked"));
        if chunked {
            return Framing::Chunked;
        }
        match response_headers(headers, "Content-Length")
            .next()
            .and_then(lenient_content_length)
        {
            Some(n) => Framing::Length(n),
            None => Framing::UntilClose,
        }
    }

    /// Does a response name its length (`Transfer-Encoding` or `Content-Length`, whatever
    /// the value)? libhtp then reads a body even after 1xx, 204 and 304, as browsers do.
    pub(crate) fn response_declares_length(headers: &Headers) -> bool {
        response_headers(headers, "Transfer-Encoding")
            .chain(response_headers(headers, "Content-Length"))
            .next()
            .is_some()
    }

    /// A reader for this framing, or `None` when there is no body to read.
    pub(crate) fn reader(self) -> Option<BodyReader> {
        match self {
            Framing::None | Framing::Length(0) => None,
            Framing::Length(remaining) => Some(BodyReader::Length { remaining }),
            Framing::Chunked => Some(BodyReader::ChunkSize),
            Framing::UntilClose => Some(BodyReader::UntilClose),
        }
    }
}

/// Does any `Transfer-Encoding` value list the `chunked` coding?
fn is_chunked(headers: &Headers) -> bool {
    headers
        .all("Transfer-Encoding")
        .flat_map(|v| v.split(|b| *b == b','))
        .any(|coding| coding.trim_ascii().eq_ignore_ascii_case(b"chunked"))
}

/// Values of the response headers called `name`, compared without case and NUL bytes.
fn response_headers<'h>(headers: &'h Headers, name: &'h str) -> impl Iterator<Item = &'h [u8]> {
    headers.values_nocase_nozero(name.as_bytes())
}

/// `a` equals `b` ignoring ASCII case and NUL bytes in `a`. `b` holds no NUL byte.
#[inline]
pub(crate) fn eq_nocase_nozero(a: &[u8], b: &[u8]) -> bool {
    // Without NUL bytes the lengths must agree; a name of the same length holding a NUL
    // cannot equal a `b` without one. Only a longer name with NUL bytes needs the walk, and
    // one whose first byte is neither NUL nor `b`'s first cannot match at all.
    if a.len() <= b.len() {
        return a.eq_ignore_ascii_case(b);
    }
    if let (Some(&x), Some(&y)) = (a.first(), b.first()) {
        if x != 0 && !x.eq_ignore_ascii_case(&y) {
            return false;
        }
    }
    let mut a = a.iter().filter(|c| **c != 0);
    let mut b = b.iter();
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => {}
            _ => return false,
        }
    }
}

/// Does `hay` contain `needle` ignoring ASCII case and NUL bytes in `hay`?
pub(crate) fn contains_nocase_nozero(hay: &[u8], needle: &[u8]) -> bool {
    if memchr::memchr(0, hay).is_none() {
        return hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle));
    }
    let stripped: Vec<u8> = hay.iter().copied().filter(|c| *c != 0).collect();
    stripped
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// A response `Content-Length` read leniently, as libhtp does: anything before the first
/// digit is skipped (`: 68`), whitespace after the digits is ignored, and a list of equal
/// numbers (`68, 68`) is that number. A value with other data after its number (`34 68`,
/// `34( 68)`: a folded or padded second length) is ambiguous; it is refused, so the body is
/// read to the close and every byte the client may take as body is inspected (Suricata's
/// verdicts on such responses cover the whole body too).
fn lenient_content_length(value: &[u8]) -> Option<u64> {
    let start = value.iter().position(u8::is_ascii_digit)?;
    content_length_value(&value[start..])
}

/// The first `Content-Length`, when it is a decimal number (a list of equal numbers, as some
/// proxies send, counts as that number).
fn content_length(headers: &Headers) -> Option<u64> {
    content_length_value(headers.get("Content-Length")?)
}

/// A decimal number, or a comma-separated list of equal ones.
fn content_length_value(value: &[u8]) -> Option<u64> {
    let mut result = None;
    for item in value.split(|b| *b == b',') {
        let n = parse_decimal(item.trim_ascii())?;
        if result.is_some_and(|r| r != n) {
            return None;
        }
        result = Some(n);
    }
    result
}

fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// Caps that bound what a body reader buffers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimits {
    /// Longest chunk-size line, and most trailer bytes in all.
    pub(crate) max_line: usize,
    /// Most trailer lines kept.
    pub(crate) max_trailers: usize,
    /// Read chunked framing as libhtp reads responses: junk around a chunk size is skipped,
    /// anything up to the line feed after chunk data is skipped, and a chunk-size line
    /// without a size turns the rest of the stream into plain body (until close).
    pub(crate) lenient: bool,
}

/// Where body bytes go: kept up to `keep`, all counted in `len`.
pub(crate) struct BodySink<'a> {
    /// Bytes kept.
    pub(crate) body: &'a mut Vec<u8>,
    /// Bytes seen.
    pub(crate) len: &'a mut u64,
    /// Set when the body is longer than `limit`.
    pub(crate) truncated: &'a mut bool,
    /// The body limit: a body past it is truncated.
    pub(crate) limit: usize,
    /// Bytes kept at most: the limit, or fewer when no rule may inspect the rest (see
    /// [`super::HttpConnection::set_response_bodies_inspected`]).
    pub(crate) keep: usize,
    /// Set when a chunk-size line carried an extension.
    pub(crate) chunk_extension: bool,
}

/// How far ahead of the bytes it keeps a body's buffer may grow when more bytes are declared
/// to follow (a Content-Length, a chunk size): to at most this many times those bytes.
const GROWTH_AHEAD: usize = 8;

impl BodySink<'_> {
    /// Counts `data` and keeps what fits under the limit.
    pub(crate) fn push(&mut self, data: &[u8]) {
        self.push_declaring(data, 0);
    }

    /// [`BodySink::push`], when `more` body bytes are declared to follow `data`.
    ///
    /// A buffer that must grow grows as a `Vec` does (to twice its size), or, when more is
    /// declared, straight on to hold it — but never to more than [`GROWTH_AHEAD`] times the
    /// bytes kept, nor past the limit. A body of known length is then not copied again at
    /// every doubling (those copies and reallocations were 3% of all instructions on
    /// Exchange traffic), while a sender who declares a large body and sends a little makes
    /// us hold (and count) only a few times what it sent; and as the growth is never less
    /// than a doubling, small declarations (tiny chunks) cannot make it grow a byte at a time.
    #[inline]
    pub(crate) fn push_declaring(&mut self, data: &[u8], more: u64) {
        *self.len = self.len.saturating_add(data.len() as u64);
        let room = self.keep.min(self.limit).saturating_sub(self.body.len());
        let keep = room.min(data.len());
        let kept = self.body.len() + keep;
        if kept > self.body.capacity() && more > 0 {
            self.grow_for(kept, more);
        }
        match data[..keep] {
            // One-byte chunks or segments: skip the call a copy costs.
            [byte] => self.body.push(byte),
            ref bytes => self.body.extend_from_slice(bytes),
        }
        // The body holds its first bytes, up to the limit when all are kept: it was cut short
        // exactly when it is longer than that.
        if *self.len > self.limit as u64 {
            *self.truncated = true;
        }
    }

    /// Makes room for `kept` bytes with `more` declared to follow (see
    /// [`BodySink::push_declaring`]). Out of line: a body reaches it a few
    /// times at most (its size at least doubles each time).
    #[cold]
    #[inline(never)]
    fn grow_for(&mut self, kept: usize, more: u64) {
        let ahead = usize::try_from(more)
            .unwrap_or(usize::MAX)
            .min(kept.saturating_mul(GROWTH_AHEAD - 1));
        let doubled = self.body.capacity().saturating_mul(2);
        let target = kept
            .saturating_add(ahead)
            .max(doubled)
            .min(self.keep.min(self.limit))
            .max(kept);
        self.body.reserve_exact(target - self.body.len());
    }
}

/// What a body reader did with the bytes it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyStep {
    /// The body is not over. If not every byte was consumed, the rest is the start of a line
    /// that needs more bytes.
    More,
    /// The body is over; any bytes not consumed belong to the next message.
    Done,
}

/// The body does not follow its framing (bad chunk size, missing CRLF, overlong line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BodyError;

/// Reading state of one message body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyReader {
    /// Content-Length bytes left.
    Length {
        /// Bytes left.
        remaining: u64,
    },
    /// Before a chunk-size line.
    ChunkSize,
    /// Inside chunk data.
    ChunkData {
        /// Bytes left in the chunk.
        remaining: u64,
    },
    /// After chunk data, before its CRLF.
    ChunkDataEnd,
    /// Reading trailer lines after the last chunk.
    Trailers {
        /// Trailer bytes read so far.
        seen: usize,
    },
    /// Until the connection closes.
    UntilClose,
}

impl BodyReader {
    /// Reads body bytes from `data` into `sink` (trailer lines into `trailers`). Returns how
    /// many bytes were consumed and what happened.
    pub(crate) fn feed(
        &mut self,
        data: &[u8],
        sink: &mut BodySink<'_>,
        trailers: &mut Headers,
        limits: BodyLimits,
    ) -> (usize, Result<BodyStep, BodyError>) {
        let mut pos = 0;
        loop {
            let rest = &data[pos..];
            match *self {
                BodyReader::Length { remaining } => {
                    let take = take_len(remaining, rest.len());
                    let remaining = remaining - take as u64;
                    sink.push_declaring(&rest[..take], remaining);
                    pos += take;
                    *self = BodyReader::Length { remaining };
                    let step = if remaining == 0 {
                        BodyStep::Done
                    } else {
                        BodyStep::More
                    };
                    return (pos, Ok(step));
                }
                BodyReader::UntilClose => {
                    sink.push(rest);
                    return (data.len(), Ok(BodyStep::More));
                }
                BodyReader::ChunkData { remaining } => {
                    let take = take_len(remaining, rest.len());
                    let remaining = remaining - take as u64;
                    sink.push_declaring(&rest[..take], remaining);
                    pos += take;
                    if remaining > 0 {
                        *self = BodyReader::ChunkData { remaining };
                        return (pos, Ok(BodyStep::More));
                    }
                    *self = BodyReader::ChunkDataEnd;
                }
                BodyReader::ChunkDataEnd if limits.lenient => match memchr::memchr(b'\n', rest) {
                    Some(lf) => {
                        pos += lf + 1;
                        *self = BodyReader::ChunkSize;
                    }
                    None => return (data.len(), Ok(BodyStep::More)),
                },
                BodyReader::ChunkSize if limits.lenient => {
                    let lead = rest.iter().take_while(|b| is_chunk_space(**b)).count();
                    let junk = rest.get(lead).is_some_and(|b| !b.is_ascii_hexdigit());
                    if junk {
                        // Not a chunk size: libhtp reads the rest of the stream, from this
                        // line on (empty lines before it skipped), as body.
                        if let Some(lf) = memchr::memrchr(b'\n', &rest[..lead]) {
                            pos += lf + 1;
                        }
                        *self = BodyReader::UntilClose;
                        continue;
                    }
                    let lf = match chunk_size_line_end(rest, limits.max_line) {
                        Ok(Some(lf)) => lf,
                        Ok(None) => return (pos, Ok(BodyStep::More)),
                        Err(e) => return (pos, Err(e)),
                    };
                    let line = &rest[..=lf];
                    let lead = line.iter().take_while(|b| is_chunk_space(**b)).count();
                    if lead == line.len() {
                        pos += lf + 1; // an empty line before a chunk size
                        continue;
                    }
                    match lenient_chunk_size(&line[lead..]) {
                        Some(0) => *self = BodyReader::Trailers { seen: 0 },
                        Some(remaining) => *self = BodyReader::ChunkData { remaining },
                        None => {
                            *self = BodyReader::UntilClose;
                            continue;
                        }
                    }
                    pos += lf + 1;
                }
                BodyReader::ChunkDataEnd => match rest {
                    [] | [b'\r'] => return (pos, Ok(BodyStep::More)),
                    [b'\n', ..] => {
                        pos += 1;
                        *self = BodyReader::ChunkSize;
                    }
                    [b'\r', b'\n', ..] => {
                        pos += 2;
                        *self = BodyReader::ChunkSize;
                    }
                    _ => return (pos, Err(BodyError)),
                },
                BodyReader::ChunkSize => {
                    let lf = match chunk_size_line_end(rest, limits.max_line) {
                        Ok(Some(lf)) => lf,
                        Ok(None) => return (pos, Ok(BodyStep::More)),
                        Err(e) => return (pos, Err(e)),
                    };
                    let line = &rest[..=lf];
                    pos += lf + 1;
                    if line == b"\n" || line == b"\r\n" {
                        continue; // tolerate empty lines before a chunk size
                    }
                    match chunk_size(line) {
                        Some((size, extension)) => {
                            sink.chunk_extension |= extension;
                            *self = if size == 0 {
                                BodyReader::Trailers { seen: 0 }
                            } else {
                                BodyReader::ChunkData { remaining: size }
                            };
                        }
                        None => {
                            sink.chunk_extension |= line.contains(&b';');
                            return (pos, Err(BodyError));
                        }
                    }
                }
                BodyReader::Trailers { seen } => {
                    let Some(lf) = memchr::memchr(b'\n', rest) else {
                        let step = if seen.saturating_add(rest.len()) > limits.max_line {
                            Err(BodyError)
                        } else {
                            Ok(BodyStep::More)
                        };
                        return (pos, step);
                    };
                    let seen = seen.saturating_add(lf + 1);
                    if seen > limits.max_line {
                        return (pos, Err(BodyError));
                    }
                    let line = &rest[..lf];
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    pos += lf + 1;
                    if line.is_empty() {
                        return (pos, Ok(BodyStep::Done));
                    }
                    if let Some(colon) = memchr::memchr(b':', line) {
                        if trailers.len() < limits.max_trailers {
                            trailers
                                .push(line[..colon].trim_ascii(), line[colon + 1..].trim_ascii());
                        }
                    }
                    *self = BodyReader::Trailers { seen };
                }
            }
        }
    }

    /// `len` body bytes were lost to a capture gap. Returns whether the body is now over, or
    /// an error when the gap cannot be placed inside the body (unknown length, or longer than
    /// what is left).
    pub(crate) fn skip(&mut self, len: u64) -> Result<bool, BodyError> {
        match *self {
            BodyReader::Length { remaining } if len <= remaining => {
                *self = BodyReader::Length {
                    remaining: remaining - len,
                };
                Ok(remaining == len)
            }
            BodyReader::ChunkData { remaining } if len <= remaining => {
                *self = if remaining == len {
                    BodyReader::ChunkDataEnd
                } else {
                    BodyReader::ChunkData {
                        remaining: remaining - len,
                    }
                };
                Ok(false)
            }
            BodyReader::UntilClose => Ok(false),
            _ => Err(BodyError),
        }
    }

    /// Is this body delimited by the end of the connection?
    pub(crate) fn until_close(&self) -> bool {
        matches!(self, BodyReader::UntilClose)
    }
}

fn take_len(remaining: u64, available: usize) -> usize {
    usize::try_from(remaining).map_or(available, |r| r.min(available))
}

/// Where the chunk-size line at the start of `rest` ends: `Ok(Some(lf))` with the index of its
/// LF, `Ok(None)` when the line needs more bytes, or an error when it is longer than
/// `max_line`.
fn chunk_size_line_end(rest: &[u8], max_line: usize) -> Result<Option<usize>, BodyError> {
    // Chunk-size lines are short: a plain look at their first bytes is cheaper than setting
    // up a vector search, which takes over past them.
    const SHORT: usize = 8;
    let short = &rest[..rest.len().min(SHORT)];
    let lf = match short.iter().position(|b| *b == b'\n') {
        Some(lf) => Some(lf),
        None => rest
            .get(SHORT..)
            .and_then(|tail| memchr::memchr(b'\n', tail))
            .map(|lf| lf + SHORT),
    };
    match lf {
        Some(lf) if lf >= max_line => Err(BodyError),
        Some(lf) => Ok(Some(lf)),
        None if rest.len() > max_line => Err(BodyError),
        None => Ok(None),
    }
}

/// Bytes libhtp skips around a chunk size: CR, LF, space, tab, VT, FF.
fn is_chunk_space(b: u8) -> bool {
    matches!(b, b'\r' | b'\n' | b' ' | b'\t' | 0x0b | 0x0c)
}

/// The hex digits at the start of `line`, whatever follows them (`fx`, `f\r\r\n`, `5;ext`);
/// `None` past 2^31 - 1, as libhtp.
fn lenient_chunk_size(line: &[u8]) -> Option<u64> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return None;
    }
    let mut size: u64 = 0;
    for b in &line[..digits] {
        let d = char::from(*b).to_digit(16)?;
        size = size.checked_mul(16)?.checked_add(u64::from(d))?;
        if size > i32::MAX as u64 {
            return None;
        }
    }
    Some(size)
}

/// The size on a chunk-size line (which ends in a line feed), read exactly as
/// `httparse::parse_chunk_size` reads it (the line's CRLF, or a bare LF, ends it): hex digits
/// (at most 16 after leading zeros), then spaces or tabs, then nothing or `;` and an extension
/// of any bytes but CR. Also says whether the line carried an extension (`;`). Hand-written
/// because this runs once per chunk and a peer can send a chunk per byte.
fn chunk_size(line: &[u8]) -> Option<(u64, bool)> {
    if !line.first().is_some_and(u8::is_ascii_hexdigit) {
        return None;
    }
    // Any number of leading zeros is a valid size (1*HEXDIG); httparse stops at 16 digits.
    let zeros = line.iter().take_while(|b| **b == b'0').count();
    let line = if line.get(zeros).is_some_and(u8::is_ascii_hexdigit) {
        &line[zeros..]
    } else {
        &line[zeros.saturating_sub(1)..]
    };
    let line = line.strip_suffix(b"\n")?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut size: u64 = 0;
    let mut digits = 0;
    for b in line {
        let Some(digit) = char::from(*b).to_digit(16) else {
            break;
        };
        if digits == 16 {
            return None;
        }
        size = size.checked_mul(16)?.checked_add(u64::from(digit))?;
        digits += 1;
    }
    let tail = &line[digits..];
    let space = tail
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    match tail.get(space) {
        None => Some((size, false)),
        Some(b';') if !tail[space..].contains(&b'\r') => Some((size, true)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: BodyLimits = BodyLimits {
        max_line: 64,
        max_trailers: 4,
        lenient: false,
    };

    struct Out {
        body: Vec<u8>,
        len: u64,
        truncated: bool,
        trailers: Headers,
    }

    /// Feeds `pieces` one after another the way the connection does (keeping unconsumed bytes)
    /// and returns what came out, the step and the bytes left after the body.
    fn run(
        mut reader: BodyReader,
        pieces: &[&[u8]],
        limit: usize,
    ) -> (Out, Result<BodyStep, BodyError>, Vec<u8>) {
        let mut out = Out {
            body: Vec::new(),
            len: 0,
            truncated: false,
            trailers: Headers::default(),
        };
        let mut pending: Vec<u8> = Vec::new();
        let mut step = Ok(BodyStep::More);
        for piece in pieces {
            pending.extend_from_slice(piece);
            let mut sink = BodySink {
                body: &mut out.body,
                len: &mut out.len,
                truncated: &mut out.truncated,
                limit,
                keep: limit,
                chunk_extension: false,
            };
            let (used, s) = reader.feed(&pending, &mut sink, &mut out.trailers, LIMITS);
            pending.drain(..used);
            step = s;
            if s != Ok(BodyStep::More) {
                break;
            }
        }
        (out, step, pending)
    }

    /// Pushes `pieces` into a body of limit `limit`, each declaring what follows it, and
    /// returns the body and the capacities it grew through.
    fn grow(pieces: &[(&[u8], u64)], limit: usize) -> (Vec<u8>, Vec<usize>) {
        let (mut body, mut len, mut truncated) = (Vec::new(), 0, false);
        let mut capacities = Vec::new();
        for (piece, more) in pieces {
            let mut sink = BodySink {
                body: &mut body,
                len: &mut len,
                truncated: &mut truncated,
                limit,
                keep: limit,
                chunk_extension: false,
            };
            sink.push_declaring(piece, *more);
            if capacities.last() != Some(&body.capacity()) {
                capacities.push(body.capacity());
            }
        }
        (body, capacities)
    }

    #[test]
    fn a_declared_body_grows_straight_to_its_length_within_reach() {
        // 100,000 declared bytes in segments of 1,460: 1,460, then 8 times that, then all.
        let seg = [b'x'; 1460];
        let total = 100_000u64;
        let mut pieces = Vec::new();
        let mut sent = 0;
        while sent < total {
            let n = (total - sent).min(1460);
            sent += n;
            pieces.push((&seg[..n as usize], total - sent));
        }
        let (body, capacities) = grow(&pieces, 1 << 20);
        assert_eq!(body.len(), 100_000);
        assert_eq!(capacities, [11_680, 100_000]);
        // Never more than GROWTH_AHEAD times the bytes kept, nor past the limit.
        let (_, capped) = grow(&[(&seg, 1 << 30)], 1 << 20);
        assert_eq!(capped, [1460 * GROWTH_AHEAD]);
        let (_, limited) = grow(&[(&seg, 1 << 30)], 4000);
        assert_eq!(limited, [4000]);
    }

    #[test]
    fn small_declarations_never_grow_a_body_by_less_than_a_doubling() {
        // A byte at a time, one more declared each time (tiny chunks): capacities double.
        let pieces = vec![(&b"y"[..], 1u64); 10_000];
        let (body, capacities) = grow(&pieces, 1 << 20);
        assert_eq!(body.len(), 10_000);
        assert!(capacities.len() < 20, "{capacities:?}");
        assert!(
            capacities.windows(2).all(|w| w[1] >= 2 * w[0]),
            "{capacities:?}"
        );
    }

    #[test]
    fn framing_from_headers() {
        let h = |list: &[(&str, &str)]| Headers::from_pairs(list.iter().copied());
        assert_eq!(Framing::of_request(&h(&[])), Framing::None);
        assert_eq!(Framing::of_response(&h(&[])), Framing::UntilClose);
        assert_eq!(
            Framing::of_request(&h(&[("content-length", "12")])),
            Framing::Length(12)
        );
        assert_eq!(
            Framing::of_request(&h(&[("Content-Length", "3, 3")])),
            Framing::Length(3)
        );
        assert_eq!(
            Framing::of_request(&h(&[("Content-Length", "3, 4")])),
            Framing::None
        );
        assert_eq!(
            Framing::of_request(&h(&[("Content-Length", "-1")])),
            Framing::None
        );
        assert_eq!(
            Framing::of_request(&h(&[("Content-Length", "99999999999999999999999")])),
            Framing::None
        );
        assert_eq!(
            Framing::of_request(&h(&[
                ("Content-Length", "5"),
                ("Transfer-Encoding", "gzip, Chunked")
            ])),
            Framing::Chunked
        );
        // Responses, as libhtp reads them: `chunked` anywhere in the value, names without
        // NULs, Content-Length with junk before it.
        for te in [
            "xchunked",
            "chunked;",
            "lalala, chunked",
            "chu\0nked",
            "\u{84}chunked",
        ] {
            assert_eq!(
                Framing::of_response(&h(&[("Transfer-Encoding", te)])),
                Framing::Chunked,
                "{te:?}"
            );
        }
        assert_eq!(
            Framing::of_response(&h(&[("Transfer\0-Encoding", "chunked")])),
            Framing::Chunked
        );
        assert_eq!(
            Framing::of_request(&h(&[("Transfer-Encoding", "xchunked")])),
            Framing::None
        );
        assert_eq!(
            Framing::of_response(&h(&[("Content-Length", ": 68 ")])),
            Framing::Length(68)
        );
        assert_eq!(
            Framing::of_response(&h(&[("Content-Length", "68, 68")])),
            Framing::Length(68)
        );
        for ambiguous in ["34 68", "34( 68)", "x"] {
            assert_eq!(
                Framing::of_response(&h(&[("Content-Length", ambiguous)])),
                Framing::UntilClose
            );
        }
        assert!(Framing::response_declares_length(&h(&[(
            "content-length",
            ""
        )])));
        assert!(!Framing::response_declares_length(&h(&[("X", "1")])));
        assert_eq!(Framing::Length(0).reader(), None);
    }

    #[test]
    fn length_body_stops_at_its_end() {
        let (out, step, rest) = run(
            BodyReader::Length { remaining: 5 },
            &[b"he", b"lloGET"],
            100,
        );
        assert_eq!(step, Ok(BodyStep::Done));
        assert_eq!(out.body, b"hello");
        assert_eq!(rest, b"GET");
    }

    #[test]
    fn body_limit_truncates_but_counts() {
        let (out, step, _) = run(BodyReader::Length { remaining: 10 }, &[b"0123456789"], 4);
        assert_eq!(step, Ok(BodyStep::Done));
        assert_eq!(
            (out.body.as_slice(), out.len, out.truncated),
            (&b"0123"[..], 10, true)
        );
    }

    #[test]
    fn chunked_with_extensions_and_trailers() {
        let wire: &[u8] = b"4;name=val\r\nWiki\r\n5\r\npedia\r\nE; a=\"b\"\r\n in\r\n\r\nchunks.\r\n0\r\nX-T: 1\r\nX-U:  2 \r\n\r\nNEXT";
        let (out, step, rest) = run(BodyReader::ChunkSize, &[wire], 100);
        assert_eq!(step, Ok(BodyStep::Done));
        assert_eq!(out.body, b"Wikipedia in\r\n\r\nchunks.");
        assert_eq!(out.len, 23);
        assert_eq!(out.trailers.get("x-u"), Some(&b"2"[..]));
        assert_eq!(out.trailers.len(), 2);
        assert_eq!(rest, b"NEXT");
        // Same bytes, one at a time.
        let pieces: Vec<&[u8]> = wire.chunks(1).collect();
        let (out1, step1, rest1) = run(BodyReader::ChunkSize, &pieces, 100);
        assert_eq!(step1, Ok(BodyStep::Done));
        assert_eq!(out1.body, out.body);
        assert_eq!(out1.trailers, out.trailers);
        assert_eq!(rest1, b""); // the run stops at Done; "NEXT" was never fed
    }

    #[test]
    fn chunked_bare_lf_tolerated() {
        let (out, step, _) = run(BodyReader::ChunkSize, &[b"3\nabc\n0\n\n"], 100);
        assert_eq!(step, Ok(BodyStep::Done));
        assert_eq!(out.body, b"abc");
    }

    #[test]
    fn chunked_errors() {
        for bad in [
            &b"zz\r\n"[..],
            b"3\r\nabcX",
            b";ext\r\n",
            b"ffffffffffffffffff\r\n",
        ] {
            let (_, step, _) = run(BodyReader::ChunkSize, &[bad], 100);
            assert_eq!(step, Err(BodyError), "{bad:?}");
        }
        // An endless size line is bounded.
        let long = vec![b'1'; 100];
        let (_, step, _) = run(BodyReader::ChunkSize, &[&long], 100);
        assert_eq!(step, Err(BodyError));
        let mut trailers = b"0\r\n".to_vec();
        trailers.extend(std::iter::repeat_n(b"X: y\r\n", 20).flatten());
        let (_, step, _) = run(BodyReader::ChunkSize, &[&trailers], 100);
        assert_eq!(step, Err(BodyError));
    }

    const LENIENT: BodyLimits = BodyLimits {
        lenient: true,
        ..LIMITS
    };

    fn run_lenient(pieces: &[&[u8]]) -> (Vec<u8>, Result<BodyStep, BodyError>) {
        let mut reader = BodyReader::ChunkSize;
        let (mut body, mut len, mut truncated, mut trailers) =
            (Vec::new(), 0, false, Headers::default());
        let mut pending: Vec<u8> = Vec::new();
        let mut step = Ok(BodyStep::More);
        for piece in pieces {
            pending.extend_from_slice(piece);
            let mut sink = BodySink {
                body: &mut body,
                len: &mut len,
                truncated: &mut truncated,
                limit: 1000,
                keep: 1000,
                chunk_extension: false,
            };
            let (used, s) = reader.feed(&pending, &mut sink, &mut trailers, LENIENT);
            pending.drain(..used);
            step = s;
            if s != Ok(BodyStep::More) {
                break;
            }
        }
        (body, step)
    }

    #[test]
    fn lenient_chunk_sizes_as_libhtp() {
        // Junk after the size (`fx`, `f\r\r\n`), control bytes before it (` f`, `\x0cf`,
        // `\r5`), empty lines between chunks, anything before the LF after chunk data.
        let wire: &[u8] = b"3x\r\nabc\r\n \x0c2\r\r\nde\r\n\r\n\r\n\r1\r\nfJUNK\r\n0\r\n\r\n";
        let (body, step) = run_lenient(&[wire]);
        assert_eq!(
            (body.as_slice(), step),
            (&b"abcdef"[..], Ok(BodyStep::Done))
        );
        let pieces: Vec<&[u8]> = wire.chunks(1).collect();
        assert_eq!(run_lenient(&pieces).0, b"abcdef");
        // No size at all: the rest is body, from that line on.
        let (body, step) = run_lenient(&[b"\r\nX5O!P\r\n5\r\n"]);
        assert_eq!(
            (body.as_slice(), step),
            (&b"X5O!P\r\n5\r\n"[..], Ok(BodyStep::More))
        );
        let (body, _) = run_lenient(&[b"2\r\nab\r\n;x\r\nrest"]);
        assert_eq!(body, b"ab;x\r\nrest");
        // Past 2^31 - 1 is not a size either.
        let (body, _) = run_lenient(&[b"80000000\r\nabc"]);
        assert_eq!(body, b"80000000\r\nabc");
        // An endless run of digits is still bounded.
        let long = vec![b'1'; 100];
        assert_eq!(run_lenient(&[&long]).1, Err(BodyError));
    }

    /// The size httparse reads on a chunk-size line, as `chunk_size` read it before it was
    /// written by hand.
    fn httparse_chunk_size(line: &[u8]) -> Option<(u64, bool)> {
        if !line.first().is_some_and(u8::is_ascii_hexdigit) {
            return None;
        }
        let zeros = line.iter().take_while(|b| **b == b'0').count();
        let line = if line.get(zeros).is_some_and(u8::is_ascii_hexdigit) {
            &line[zeros..]
        } else {
            &line[zeros.saturating_sub(1)..]
        };
        let mut fixed = line.to_vec();
        if !line.ends_with(b"\r\n") {
            fixed.pop();
            fixed.extend_from_slice(b"\r\n");
        }
        match httparse::parse_chunk_size(&fixed) {
            Ok(httparse::Status::Complete((_, size))) => Some((size, line.contains(&b';'))),
            _ => None,
        }
    }

    #[test]
    fn chunk_size_reads_as_httparse() {
        const BYTES: &[u8] = b"00aF9g \t;\rx";
        let mut lines: Vec<Vec<u8>> = vec![Vec::new()];
        let mut shorter = lines.clone();
        for _ in 0..5 {
            let longer: Vec<Vec<u8>> = shorter
                .iter()
                .flat_map(|line| {
                    BYTES.iter().map(move |b| {
                        let mut line = line.clone();
                        line.push(*b);
                        line
                    })
                })
                .collect();
            lines.extend(longer.iter().cloned());
            shorter = longer;
        }
        lines.push(b"00000000000000000000ffffffffffffffff".to_vec());
        lines.push(b"1ffffffffffffffff".to_vec());
        lines.push(b"ffffffffffffffff ; a".to_vec());
        for line in lines {
            for end in [&b"\n"[..], b"\r\n", b"\r\r\n"] {
                let mut line = line.clone();
                line.extend_from_slice(end);
                assert_eq!(
                    chunk_size(&line),
                    httparse_chunk_size(&line),
                    "{:?}",
                    String::from_utf8_lossy(&line)
                );
            }
        }
    }

    #[test]
    fn huge_chunk_size_does_not_overflow() {
        let (out, step, _) = run(BodyReader::ChunkSize, &[b"fffffffffffffff\r\nabc"], 2);
        assert_eq!(step, Ok(BodyStep::More));
        assert_eq!((out.len, out.truncated), (3, true));
    }

    #[test]
    fn gaps_inside_known_lengths() {
        let mut r = BodyReader::Length { remaining: 10 };
        assert_eq!(r.skip(4), Ok(false));
        assert_eq!(r.skip(6), Ok(true));
        let mut r = BodyReader::Length { remaining: 3 };
        assert_eq!(r.skip(4), Err(BodyError));
        let mut r = BodyReader::ChunkData { remaining: 3 };
        assert_eq!(r.skip(3), Ok(false));
        assert_eq!(r, BodyReader::ChunkDataEnd);
        assert_eq!(BodyReader::ChunkSize.skip(1), Err(BodyError));
        assert_eq!(BodyReader::UntilClose.skip(u64::MAX), Ok(false));
    }
}
