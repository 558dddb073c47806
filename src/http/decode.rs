//! Content-Encoding: gzip / x-gzip / deflate bodies decoded with `flate2`, bounded.
//!
//! A body is decoded once it is complete (or at the end of the connection). `Content-Encoding`
//! lists codings in the order they were applied, so they are undone from the last one back,
//! at most `decompress_layers` of them; an unknown coding (`br`, `compress`, …) stops decoding
//! there. Each layer's output is capped at the body limit and the decoder is read in small
//! pieces, so a decompression bomb costs no more than the limit. `deflate` is tried as
//! zlib-wrapped first and as raw deflate when that fails (servers send both). Concatenated gzip
//! members are all decoded; bytes after the last member are ignored, as browsers do.
//!
//! When a body was cut (body limit, gap, connection end) its compressed stream ends early;
//! what decoded before that point is kept. A body that was whole but does not decode keeps
//! its raw (dechunked) bytes and is counted in `decode_errors`.

use std::io::{self, Read};

use super::{Headers, HttpStats};

/// A content coding named in `Content-Encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    /// `gzip` or `x-gzip`.
    Gzip,
    /// `deflate` (zlib-wrapped or raw).
    Deflate,
    /// A coding this module does not decode.
    Other,
}

/// The codings of every `Content-Encoding` line, in the order listed (`identity` left out).
pub(crate) fn content_codings(headers: &Headers) -> Vec<Coding> {
    headers
        .all("Content-Encoding")
        .flat_map(|v| v.split(|b| *b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case(b"identity"))
        .map(|c| {
            if c.eq_ignore_ascii_case(b"gzip") || c.eq_ignore_ascii_case(b"x-gzip") {
                Coding::Gzip
            } else if c.eq_ignore_ascii_case(b"deflate") {
                Coding::Deflate
            } else {
                Coding::Other
            }
        })
        .collect()
}

/// Why a body did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// The data is not what the coding says.
    Corrupt,
    /// The data ended before anything decoded, and it was known to be cut.
    Incomplete,
}

/// A decoded body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// Decoded bytes, at most the limit.
    pub(crate) body: Vec<u8>,
    /// The decoded data went on past the limit.
    pub(crate) truncated: bool,
}

/// Undoes `codings` (listed in the order applied) on `raw`, at most `max_layers` of them.
/// `whole` says whether `raw` is the complete body. `Ok(None)` when there was nothing to undo.
pub(crate) fn decode(
    raw: &[u8],
    codings: &[Coding],
    max_layers: usize,
    limit: usize,
    whole: bool,
) -> Result<Option<Decoded>, DecodeError> {
    let mut current: Option<Decoded> = None;
    let mut whole = whole;
    for coding in codings.iter().rev().take(max_layers) {
        let input = current.as_ref().map_or(raw, |d| d.body.as_slice());
        let layer = match coding {
            Coding::Gzip => gunzip(input, limit, whole)?,
            Coding::Deflate => inflate(input, limit, whole)?,
            Coding::Other => break,
        };
        whole = whole && !layer.truncated;
        let truncated = layer.truncated || current.as_ref().is_some_and(|d| d.truncated);
        current = Some(Decoded {
            body: layer.body,
            truncated,
        });
    }
    Ok(current)
}

/// Finishes a message body: decodes it as its `Content-Encoding` says, in place, and does the
/// counting. `truncated` is the message's body-truncated flag; `whole` says whether every byte
/// of the body was seen.
pub(crate) fn finish_body(
    body: &mut Vec<u8>,
    headers: &Headers,
    truncated: &mut bool,
    whole: bool,
    limit: usize,
    max_layers: usize,
    stats: &mut HttpStats,
) {
    if !body.is_empty() {
        let codings = content_codings(headers);
        if !codings.is_empty() {
            match decode(body, &codings, max_layers, limit, whole && !*truncated) {
                Ok(Some(decoded)) => {
                    *body = decoded.body;
                    *truncated |= decoded.truncated;
                }
                Ok(None) | Err(DecodeError::Incomplete) => {}
                Err(DecodeError::Corrupt) => stats.decode_errors += 1,
            }
        }
    }
    if *truncated {
        stats.bodies_truncated += 1;
    }
}

/// gzip, member after member.
fn gunzip(input: &[u8], limit: usize, whole: bool) -> Result<Decoded, DecodeError> {
    let mut out = Vec::new();
    let mut rest = input;
    loop {
        let mut decoder = flate2::bufread::GzDecoder::new(rest);
        let result = read_capped(&mut decoder, &mut out, limit);
        let left = decoder.into_inner();
        match result {
            Ok(true) => {
                return Ok(Decoded {
                    body: out,
                    truncated: true,
                })
            }
            Ok(false) => {}
            Err(_) => return cut_short(out, whole),
        }
        // Another member follows only if the gzip magic does; anything else is trailing junk.
        if !left.starts_with(&[0x1f, 0x8b]) || left.len() >= rest.len() {
            return Ok(Decoded {
                body: out,
                truncated: false,
            });
        }
        rest = left;
    }
}

/// deflate: zlib-wrapped when the first two bytes say so, else (or if that fails) raw.
fn inflate(input: &[u8], limit: usize, whole: bool) -> Result<Decoded, DecodeError> {
    if looks_like_zlib(input) {
        let mut out = Vec::new();
        let mut decoder = flate2::bufread::ZlibDecoder::new(input);
        match read_capped(&mut decoder, &mut out, limit) {
            Ok(truncated) => {
                return Ok(Decoded {
                    body: out,
                    truncated,
                })
            }
            Err(_) if !whole && !out.is_empty() => {
                return Ok(Decoded {
                    body: out,
                    truncated: false,
                })
            }
            Err(_) => {}
        }
    }
    let mut out = Vec::new();
    let mut decoder = flate2::bufread::DeflateDecoder::new(input);
    match read_capped(&mut decoder, &mut out, limit) {
        Ok(truncated) => Ok(Decoded {
            body: out,
            truncated,
        }),
        Err(_) => cut_short(out, whole),
    }
}

/// RFC 1950 header: method 8, window at most 32 KiB, check bits.
fn looks_like_zlib(input: &[u8]) -> bool {
    match input {
        [cmf, flg, ..] => {
            cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0
        }
        _ => false,
    }
}

/// A decoder failed: keep its output when the input was known to be cut short.
fn cut_short(out: Vec<u8>, whole: bool) -> Result<Decoded, DecodeError> {
    if whole {
        Err(DecodeError::Corrupt)
    } else if out.is_empty() {
        Err(DecodeError::Incomplete)
    } else {
        Ok(Decoded {
            body: out,
            truncated: false,
        })
    }
}

/// Reads `decoder` to its end into `out`, stopping at `limit` bytes. Returns whether output
/// went on past the limit.
fn read_capped(decoder: &mut impl Read, out: &mut Vec<u8>, limit: usize) -> io::Result<bool> {
    let mut buf = [0u8; 8192];
    loop {
        let room = limit.saturating_sub(out.len());
        if room == 0 {
            // One more byte tells whether the output went on; an error there does not matter.
            return Ok(!matches!(decoder.read(&mut buf[..1]), Ok(0)));
        }
        let want = room.min(buf.len());
        let n = decoder.read(&mut buf[..want])?;
        if n == 0 {
            return Ok(false);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use super::*;
    use crate::http::Header;

    pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    pub(crate) fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    pub(crate) fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn ce(value: &str) -> Headers {
        Headers(vec![Header {
            name: b"Content-Encoding".to_vec(),
            value: value.as_bytes().to_vec(),
        }])
    }

    fn body_of(raw: &[u8], codings: &[Coding]) -> Vec<u8> {
        decode(raw, codings, 2, 1 << 20, true)
            .unwrap()
            .unwrap()
            .body
    }

    #[test]
    fn codings_listed_in_order() {
        assert_eq!(content_codings(&ce("gzip")), vec![Coding::Gzip]);
        assert_eq!(
            content_codings(&ce(" X-GZIP , Deflate, identity")),
            vec![Coding::Gzip, Coding::Deflate]
        );
        assert_eq!(content_codings(&ce("br")), vec![Coding::Other]);
        assert!(content_codings(&Headers::default()).is_empty());
    }

    #[test]
    fn gzip_zlib_and_raw_deflate() {
        let text = b"<script language=\"JScript\" runat=\"server\">".repeat(10);
        assert_eq!(body_of(&gzip(&text), &[Coding::Gzip]), text);
        assert_eq!(body_of(&zlib(&text), &[Coding::Deflate]), text);
        assert_eq!(body_of(&raw_deflate(&text), &[Coding::Deflate]), text);
    }

    #[test]
    fn gzip_members_and_trailing_junk() {
        let mut two = gzip(b"hello ");
        two.extend(gzip(b"world"));
        assert_eq!(body_of(&two, &[Coding::Gzip]), b"hello world");
        let mut junk = gzip(b"hello");
        junk.extend_from_slice(b"\0\0junk");
        assert_eq!(body_of(&junk, &[Coding::Gzip]), b"hello");
    }

    #[test]
    fn nested_layers_undone_in_reverse() {
        // "gzip, deflate": gzip applied first, deflate second.
        let wire = zlib(&gzip(b"inner"));
        assert_eq!(body_of(&wire, &[Coding::Gzip, Coding::Deflate]), b"inner");
        // Only `max_layers` are undone.
        let three = gzip(&gzip(&gzip(b"x")));
        let got = decode(&three, &[Coding::Gzip; 3], 2, 1 << 20, true)
            .unwrap()
            .unwrap();
        assert_eq!(got.body, gzip(b"x"));
        // An unknown coding stops decoding.
        assert_eq!(decode(b"abc", &[Coding::Other], 2, 100, true), Ok(None));
        let got = decode(
            &gzip(b"br-data"),
            &[Coding::Other, Coding::Gzip],
            2,
            100,
            true,
        )
        .unwrap()
        .unwrap();
        assert_eq!(got.body, b"br-data");
    }

    #[test]
    fn bomb_is_bounded() {
        let zeros = vec![0u8; 50 << 20];
        let bomb = gzip(&gzip(&zeros));
        assert!(bomb.len() < 200 << 10);
        let got = decode(&bomb, &[Coding::Gzip, Coding::Gzip], 2, 1 << 20, true)
            .unwrap()
            .unwrap();
        assert_eq!(got.body.len(), 1 << 20);
        assert!(got.truncated);
        let got = decode(&gzip(b"exact"), &[Coding::Gzip], 2, 5, true)
            .unwrap()
            .unwrap();
        assert_eq!((got.body.as_slice(), got.truncated), (&b"exact"[..], false));
        let got = decode(&gzip(b"exact"), &[Coding::Gzip], 2, 0, true)
            .unwrap()
            .unwrap();
        assert_eq!((got.body.len(), got.truncated), (0, true));
    }

    #[test]
    fn corrupt_and_cut_short() {
        assert_eq!(
            decode(b"not gzip at all", &[Coding::Gzip], 2, 100, true),
            Err(DecodeError::Corrupt)
        );
        assert_eq!(
            decode(b"\xff\xff\xff", &[Coding::Deflate], 2, 100, true),
            Err(DecodeError::Corrupt)
        );
        let text: Vec<u8> = (0..20000u32).flat_map(|i| i.to_le_bytes()).collect();
        let wire = gzip(&text);
        let half = &wire[..wire.len() / 2];
        // Known to be cut: what decoded is kept.
        let got = decode(half, &[Coding::Gzip], 2, 1 << 20, false)
            .unwrap()
            .unwrap();
        assert!(!got.body.is_empty() && text.starts_with(&got.body));
        // Claimed whole: an error.
        assert_eq!(
            decode(half, &[Coding::Gzip], 2, 1 << 20, true),
            Err(DecodeError::Corrupt)
        );
        assert_eq!(
            decode(&wire[..5], &[Coding::Gzip], 2, 1 << 20, false),
            Err(DecodeError::Incomplete)
        );
    }

    #[test]
    fn finish_body_counts() {
        let mut stats = HttpStats::default();
        let mut body = b"garbage".to_vec();
        let mut truncated = false;
        finish_body(
            &mut body,
            &ce("gzip"),
            &mut truncated,
            true,
            100,
            2,
            &mut stats,
        );
        assert_eq!(body, b"garbage");
        assert_eq!(stats.decode_errors, 1);
        let mut body = gzip(b"0123456789");
        finish_body(
            &mut body,
            &ce("gzip"),
            &mut truncated,
            true,
            4,
            2,
            &mut stats,
        );
        assert_eq!(body, b"0123");
        assert!(truncated);
        assert_eq!(stats.bodies_truncated, 1);
    }
}
