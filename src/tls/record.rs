//! TLS record framing for one direction of a connection: cuts the reassembled byte stream
//! into records and the handshake records into handshake messages.
//!
//! A record may span many segments and one segment may hold several records; a handshake
//! message may span several records and one record may hold several messages. Bytes are
//! read straight from the segment when a whole record (and a whole message) is in it, and
//! copied only for what is still incomplete, into two buffers whose sum is capped: past the
//! cap the reader gives up ([`ReadError::TooLarge`]). Records other than handshake are only
//! reported by their header; their bodies are skipped without being kept. The first record
//! may instead be an SSLv2-compatible ClientHello (RFC 5246 App. E.2), reported as such.

use thiserror::Error;

/// A record header: content type, version, length.
const HEADER: usize = 5;
/// The largest record length TLS 1.2 allows (ciphertext: 2^14 + 2048).
const MAX_RECORD: usize = (1 << 14) + 2048;

/// Record content types.
pub(crate) const CHANGE_CIPHER_SPEC: u8 = 20;
pub(crate) const ALERT: u8 = 21;
pub(crate) const HANDSHAKE: u8 = 22;
pub(crate) const APPLICATION_DATA: u8 = 23;
pub(crate) const HEARTBEAT: u8 = 24;

/// What the reader found in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Item<'a> {
    /// A whole handshake message: its type and its body (without the 4-byte header).
    Handshake {
        /// Handshake type (1 ClientHello, 2 ServerHello, 11 Certificate, …).
        msg_type: u8,
        /// The message body.
        body: &'a [u8],
    },
    /// The header of a record that is not a handshake record (its body is skipped).
    Record {
        /// Content type.
        content_type: u8,
    },
    /// An SSLv2-compatible ClientHello: the bytes after its 2-byte length and type byte.
    SslV2ClientHello(&'a [u8]),
}

/// Why a direction stopped being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ReadError {
    /// A record header that no TLS implementation sends.
    #[error("not a TLS record")]
    Malformed,
    /// More bytes than the per-direction cap had to be kept.
    #[error("handshake larger than the buffer cap")]
    TooLarge,
}

/// Whether the first bytes of a direction look like TLS: a handshake record of version 3.x
/// (SSLv3 to TLS 1.3), or an SSLv2-compatible ClientHello. `None`: too few bytes to say.
pub(crate) fn looks_like_tls(first: &[u8]) -> Option<bool> {
    let b0 = *first.first()?;
    if b0 == HANDSHAKE {
        let b1 = *first.get(1)?;
        if b1 != 3 {
            return Some(false);
        }
        let b2 = *first.get(2)?;
        return Some(b2 <= 4);
    }
    if b0 & 0x80 != 0 {
        // SSLv2 record: 15-bit length, then msg_type 1 (ClientHello), then version 3.x
        // (or 0.2 for a pure SSLv2 hello).
        let len = (usize::from(b0 & 0x7f) << 8) | usize::from(*first.get(1)?);
        let msg_type = *first.get(2)?;
        let major = *first.get(3)?;
        return Some(msg_type == 1 && len >= 9 && (major == 3 || major == 0));
    }
    Some(false)
}

/// Whether the first bytes of a direction whose handshake was not seen (a connection picked
/// up midstream) are TLS records that follow one: a ChangeCipherSpec, an alert or
/// application data of version 3.1 to 3.4 with a length TLS allows. `None`: too few bytes
/// to say.
pub(crate) fn looks_like_tls_midstream(first: &[u8]) -> Option<bool> {
    let b0 = *first.first()?;
    if !matches!(b0, CHANGE_CIPHER_SPEC | ALERT | APPLICATION_DATA) {
        return Some(false);
    }
    if *first.get(1)? != 3 || !(1..=4).contains(first.get(2)?) {
        return Some(false);
    }
    let len = usize::from(u16::from_be_bytes([*first.get(3)?, *first.get(4)?]));
    Some((1..=MAX_RECORD).contains(&len))
}

/// One direction's framing state.
#[derive(Debug, Default)]
pub(crate) struct RecordReader {
    /// Stream bytes of a record not yet complete.
    pending: Vec<u8>,
    /// Handshake bytes of a message not yet complete (from one or more records).
    handshake: Vec<u8>,
    /// Body bytes of a non-handshake record still to skip.
    skip: usize,
    /// Nothing has been read yet (an SSLv2 hello can only come first).
    started: bool,
}

impl RecordReader {
    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.pending.capacity() + self.handshake.capacity()
    }

    /// Gives back the buffers (the direction is no longer read).
    pub(crate) fn release(&mut self) {
        self.pending = Vec::new();
        self.handshake = Vec::new();
    }

    /// Reads `bytes`, the next stream bytes of the direction, handing each item to `on_item`
    /// until it returns `false` (then the rest is ignored and `Ok(false)` returned). Keeps
    /// at most `cap` bytes between calls.
    pub(crate) fn feed(
        &mut self,
        bytes: &[u8],
        cap: usize,
        on_item: &mut dyn FnMut(Item<'_>) -> bool,
    ) -> Result<bool, ReadError> {
        let mut bytes = bytes;
        if self.skip > 0 {
            let n = self.skip.min(bytes.len());
            self.skip -= n;
            bytes = &bytes[n..];
        }
        if bytes.is_empty() {
            return Ok(true);
        }
        if self.pending.is_empty() {
            let (used, more) = self.records(bytes, cap, on_item)?;
            if more {
                self.keep(&bytes[used..], cap)?;
            }
            return Ok(more);
        }
        self.keep(bytes, cap)?;
        let pending = std::mem::take(&mut self.pending);
        let result = self.records(&pending, cap, on_item);
        let mut pending = pending;
        match result {
            Ok((used, true)) => {
                pending.drain(..used);
                self.pending = pending;
                Ok(true)
            }
            Ok((_, false)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Keeps incomplete record bytes, within the cap.
    fn keep(&mut self, rest: &[u8], cap: usize) -> Result<(), ReadError> {
        if self.pending.len() + rest.len() + self.handshake.len() > cap {
            return Err(ReadError::TooLarge);
        }
        self.pending.extend_from_slice(rest);
        Ok(())
    }

    /// Reads the whole records at the start of `data`; returns how many bytes they took and
    /// whether to go on.
    fn records(
        &mut self,
        data: &[u8],
        cap: usize,
        on_item: &mut dyn FnMut(Item<'_>) -> bool,
    ) -> Result<(usize, bool), ReadError> {
        let mut pos = 0;
        loop {
            let rest = &data[pos..];
            if !self.started {
                let Some(tls) = looks_like_tls(rest) else {
                    return Ok((pos, true));
                };
                if rest[0] & 0x80 != 0 {
                    if !tls {
                        return Err(ReadError::Malformed);
                    }
                    let len = (usize::from(rest[0] & 0x7f) << 8) | usize::from(rest[1]);
                    let Some(record) = rest.get(2..2 + len) else {
                        return Ok((pos, true));
                    };
                    self.started = true;
                    pos += 2 + len;
                    if !on_item(Item::SslV2ClientHello(&record[1..])) {
                        return Ok((pos, false));
                    }
                    continue;
                }
                self.started = true;
            }
            if rest.len() < HEADER {
                return Ok((pos, true));
            }
            let content_type = rest[0];
            let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
            if !(CHANGE_CIPHER_SPEC..=HEARTBEAT).contains(&content_type)
                || rest[1] != 3
                || len > MAX_RECORD
            {
                return Err(ReadError::Malformed);
            }
            if content_type != HANDSHAKE {
                // Only the header matters: skip the body without keeping it.
                let available = rest.len() - HEADER;
                if available < len {
                    self.skip = len - available;
                    pos = data.len();
                } else {
                    pos += HEADER + len;
                }
                if !on_item(Item::Record { content_type }) {
                    return Ok((pos, false));
                }
                continue;
            }
            let Some(fragment) = rest.get(HEADER..HEADER + len) else {
                return Ok((pos, true));
            };
            pos += HEADER + len;
            if !self.messages(fragment, cap, on_item)? {
                return Ok((pos, false));
            }
        }
    }

    /// Reads the handshake messages completed by `fragment` (the body of a handshake record);
    /// keeps the start of an incomplete one. Returns whether to go on.
    fn messages(
        &mut self,
        fragment: &[u8],
        cap: usize,
        on_item: &mut dyn FnMut(Item<'_>) -> bool,
    ) -> Result<bool, ReadError> {
        if self.handshake.is_empty() {
            let (used, more) = split_messages(fragment, on_item);
            if more && used < fragment.len() {
                self.keep_handshake(&fragment[used..], cap)?;
            }
            return Ok(more);
        }
        self.keep_handshake(fragment, cap)?;
        let buffered = std::mem::take(&mut self.handshake);
        let (used, more) = split_messages(&buffered, on_item);
        if more {
            let mut buffered = buffered;
            buffered.drain(..used);
            self.handshake = buffered;
        }
        Ok(more)
    }

    fn keep_handshake(&mut self, bytes: &[u8], cap: usize) -> Result<(), ReadError> {
        if self.pending.len() + self.handshake.len() + bytes.len() > cap {
            return Err(ReadError::TooLarge);
        }
        self.handshake.extend_from_slice(bytes);
        Ok(())
    }
}

/// Hands out the whole handshake messages at the start of `data`; returns the bytes they
/// took and whether to go on.
fn split_messages(data: &[u8], on_item: &mut dyn FnMut(Item<'_>) -> bool) -> (usize, bool) {
    let mut pos = 0;
    while let Some(header) = data.get(pos..pos + 4) {
        let len =
            (usize::from(header[1]) << 16) | (usize::from(header[2]) << 8) | usize::from(header[3]);
        let Some(body) = data.get(pos + 4..pos + 4 + len) else {
            break;
        };
        pos += 4 + len;
        if !on_item(Item::Handshake {
            msg_type: header[0],
            body,
        }) {
            return (pos, false);
        }
    }
    (pos, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (type, bytes) of each item read: handshake type and body, record content type, or 0
    /// and the body of an SSLv2 hello.
    type Items = Vec<(u8, Vec<u8>)>;

    /// Collects the items read from `chunks` fed one after the other.
    fn read(chunks: &[&[u8]], cap: usize) -> (Items, Result<bool, ReadError>) {
        let mut reader = RecordReader::default();
        let mut items = Vec::new();
        let mut result = Ok(true);
        for c in chunks {
            result = reader.feed(c, cap, &mut |item| {
                match item {
                    Item::Handshake { msg_type, body } => items.push((msg_type, body.to_vec())),
                    Item::Record { content_type } => items.push((content_type, Vec::new())),
                    Item::SslV2ClientHello(b) => items.push((0, b.to_vec())),
                }
                true
            });
            if result.is_err() {
                break;
            }
        }
        (items, result)
    }

    fn record(content_type: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![content_type, 3, 3];
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    fn message(msg_type: u8, body: &[u8]) -> Vec<u8> {
        let len = body.len() as u32;
        let mut m = vec![msg_type, (len >> 16) as u8, (len >> 8) as u8, len as u8];
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn record_spanning_segments_is_put_together() {
        let hello = message(1, &[7; 300]);
        let stream = record(HANDSHAKE, &hello);
        for cut in [1, 3, 5, 6, 100, stream.len() - 1] {
            let (items, r) = read(&[&stream[..cut], &stream[cut..]], 1 << 16);
            assert_eq!(r, Ok(true));
            assert_eq!(items, vec![(1, vec![7; 300])], "cut at {cut}");
        }
        // Byte by byte.
        let chunks: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(read(&chunks, 1 << 16).0, vec![(1, vec![7; 300])]);
    }

    #[test]
    fn message_split_across_records_is_put_together() {
        let cert = message(11, &[9; 1000]);
        let hello = message(2, &[1; 40]);
        let mut first = hello.clone();
        first.extend_from_slice(&cert[..500]);
        let mut stream = record(HANDSHAKE, &first);
        stream.extend(record(HANDSHAKE, &cert[500..900]));
        stream.extend(record(HANDSHAKE, &cert[900..]));
        stream.extend(record(CHANGE_CIPHER_SPEC, &[1]));
        let (items, r) = read(&[&stream], 1 << 16);
        assert_eq!(r, Ok(true));
        assert_eq!(
            items,
            vec![
                (2, vec![1; 40]),
                (11, vec![9; 1000]),
                (CHANGE_CIPHER_SPEC, vec![])
            ]
        );
    }

    #[test]
    fn other_records_are_skipped_without_being_kept() {
        let mut stream = record(APPLICATION_DATA, &[0; 5000]);
        stream.extend(record(HANDSHAKE, &message(20, &[3; 12])));
        let (items, r) = read(&[&stream[..10], &stream[10..4000], &stream[4000..]], 64);
        assert_eq!(r, Ok(true));
        assert_eq!(items, vec![(APPLICATION_DATA, vec![]), (20, vec![3; 12])]);
    }

    #[test]
    fn buffering_is_bounded() {
        let stream = record(HANDSHAKE, &message(11, &[0; 4000]));
        let (items, r) = read(&[&stream[..2000], &stream[2000..]], 1024);
        assert!(items.is_empty());
        assert_eq!(r, Err(ReadError::TooLarge));
        // A message spread over records is bounded too.
        let m = message(11, &[0; 4000]);
        let mut stream = record(HANDSHAKE, &m[..1000]);
        stream.extend(record(HANDSHAKE, &m[1000..2000]));
        stream.extend(record(HANDSHAKE, &m[2000..]));
        assert_eq!(read(&[&stream], 1500).1, Err(ReadError::TooLarge));
        assert_eq!(read(&[&stream], 5000).0, vec![(11, vec![0; 4000])]);
    }

    #[test]
    fn garbage_is_malformed() {
        assert_eq!(read(&[b"\x16\x03\x01\x00"], 1024).1, Ok(true));
        assert_eq!(
            read(&[b"GET / HTTP/1.1\r\n"], 1024).1,
            Err(ReadError::Malformed)
        );
        let mut huge = record(HANDSHAKE, &[]);
        huge[3] = 0xff;
        assert_eq!(read(&[&huge], 1 << 20).1, Err(ReadError::Malformed));
    }

    #[test]
    fn sslv2_hello_is_recognised() {
        // SSLv2 ClientHello: length 0x2e, type 1, version 3.1, specs 3, sid 0, challenge 16.
        let mut v2 = vec![0x80, 0x00, 1, 3, 1, 0, 9, 0, 0, 0, 16];
        v2.extend_from_slice(&[0, 0, 0x2f, 0, 0, 0x35, 0, 0, 0x0a]);
        v2.extend_from_slice(&[0xab; 16]);
        v2[1] = (v2.len() - 2) as u8;
        assert_eq!(looks_like_tls(&v2), Some(true));
        let (items, r) = read(&[&v2[..7], &v2[7..]], 1024);
        assert_eq!(r, Ok(true));
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].1[..2], [3, 1]);
    }

    #[test]
    fn detection_by_first_bytes() {
        assert_eq!(looks_like_tls(b"\x16\x03\x01"), Some(true));
        assert_eq!(looks_like_tls(b"\x16\x03"), None);
        assert_eq!(looks_like_tls(b"\x16\x02\x01"), Some(false));
        assert_eq!(looks_like_tls(b"GET"), Some(false));
        assert_eq!(looks_like_tls(b""), None);
        // Picked up midstream: records that follow a handshake.
        assert_eq!(
            looks_like_tls_midstream(b"\x17\x03\x03\x00\x20"),
            Some(true)
        );
        assert_eq!(
            looks_like_tls_midstream(b"\x15\x03\x01\x00\x02"),
            Some(true)
        );
        assert_eq!(looks_like_tls_midstream(b"\x17\x03\x03\x00"), None);
        assert_eq!(
            looks_like_tls_midstream(b"\x17\x03\x03\x00\x00"),
            Some(false)
        );
        assert_eq!(
            looks_like_tls_midstream(b"\x17\x03\x03\x48\x01"),
            Some(false)
        );
        assert_eq!(looks_like_tls_midstream(b"\x17\x03\x05"), Some(false));
        assert_eq!(
            looks_like_tls_midstream(b"\x16\x03\x03\x00\x20"),
            Some(false)
        );
        assert_eq!(looks_like_tls_midstream(b"HTTP/1.1 200"), Some(false));
    }
}
