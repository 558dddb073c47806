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

use super::body::contains_nocase_nozero;
use super::{Headers, HttpStats};

/// A content coding named in `Content-Encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    /// `gzip` or `x-gzip`.
    Gzip,
    /// `deflate` (zlib-wrapped or raw).
    Deflate,
    /// `lzma` (the "lzma-alone" format), decoded only when enabled.
    Lzma,
    /// A coding this module does not decode.
    Other,
}

/// The codings of every `Content-Encoding` line, in the order listed (`identity` left out).
///
/// With `lenient` (responses), the values are read as libhtp reads them: header names match
/// without case and NUL bytes, values are split at commas and whitespace, and a token that
/// contains `gzip` or `deflate` anywhere, ignoring case and NUL bytes (`x-deflate`, `gz\0ip`,
/// `\u{a0}gzip`, `gzip x`), is that coding.
pub(crate) fn content_codings(headers: &Headers, lenient: bool) -> Vec<Coding> {
    if lenient {
        return headers
            .values_nocase_nozero(b"Content-Encoding")
            .flat_map(|value| value.split(|b| *b == b',' || b.is_ascii_whitespace() || *b == 0x0b))
            .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case(b"identity"))
            .map(|c| {
                if contains_nocase_nozero(c, b"gzip") {
                    Coding::Gzip
                } else if contains_nocase_nozero(c, b"deflate") {
                    Coding::Deflate
                } else if contains_nocase_nozero(c, b"lzma") {
                    Coding::Lzma
                } else {
                    Coding::Other
                }
            })
            .collect();
    }
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
            } else if c.eq_ignore_ascii_case(b"lzma") {
                Coding::Lzma
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

/// How far content decoding goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decoding {
    /// Layers undone at most.
    pub(crate) max_layers: usize,
    /// Whether `lzma` is decoded (off by default, as in Suricata: LZMA needs much memory).
    pub(crate) lzma: bool,
}

/// Dictionary memory an LZMA layer may use (libhtp's default LZMA memory limit is 1 MiB).
const LZMA_MEMLIMIT: usize = 1 << 20;

/// Undoes `codings` (listed in the order applied) on `raw`, at most `max_layers` of them.
/// `whole` says whether `raw` is the complete body. `Ok(None)` when there was nothing to undo.
///
/// A layer that does not decode passes its input on unchanged, as libhtp does (servers label
/// bodies with codings they did not apply, or list them in the wrong order); an unknown coding
/// is skipped the same way. Only when no layer decoded is the first failure returned.
pub(crate) fn decode(
    raw: &[u8],
    codings: &[Coding],
    decoding: Decoding,
    limit: usize,
    whole: bool,
) -> Result<Option<Decoded>, DecodeError> {
    let max_layers = decoding.max_layers;
    let mut current: Option<Decoded> = None;
    let mut failure = None;
    let mut whole = whole;
    for coding in codings.iter().rev().take(max_layers) {
        let input = current.as_ref().map_or(raw, |d| d.body.as_slice());
        let result = match coding {
            Coding::Gzip => gunzip(input, limit, whole),
            Coding::Deflate => inflate(input, limit, whole),
            Coding::Lzma if decoding.lzma => unlzma(input, limit, whole),
            Coding::Lzma | Coding::Other => continue,
        };
        let layer = match result {
            Ok(layer) => layer,
            Err(e) => {
                failure.get_or_insert(e);
                continue;
            }
        };
        whole = whole && !layer.truncated;
        let truncated = layer.truncated || current.as_ref().is_some_and(|d| d.truncated);
        current = Some(Decoded {
            body: layer.body,
            truncated,
        });
    }
    match (current, failure) {
        (None, Some(e)) => Err(e),
        (current, _) => Ok(current),
    }
}

/// Finishes a message body: decodes it as its `Content-Encoding` says, in place, and does the
/// counting. `truncated` is the message's body-truncated flag; `whole` says whether every byte
/// of the body was seen; `lenient` reads `Content-Encoding` as libhtp does (responses).
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish_body(
    body: &mut Vec<u8>,
    headers: &Headers,
    truncated: &mut bool,
    whole: bool,
    limit: usize,
    decoding: Decoding,
    lenient: bool,
    stats: &mut HttpStats,
) {
    if !body.is_empty() {
        let codings = content_codings(headers, lenient);
        if !codings.is_empty() {
            match decode(body, &codings, decoding, limit, whole && !*truncated) {
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

/// gzip, member after member. The header is read here and the deflate data after it decoded
/// raw, so the checks that browsers and libhtp do not make are not made either: reserved flag
/// bits, the header CRC, and the trailer (CRC and length, or a trailer cut off or missing).
fn gunzip(input: &[u8], limit: usize, whole: bool) -> Result<Decoded, DecodeError> {
    let mut out = Vec::new();
    let mut rest = input;
    loop {
        let Some(header) = gzip_header_len(rest) else {
            return cut_short(out, whole);
        };
        let mut decoder = flate2::bufread::DeflateDecoder::new(&rest[header..]);
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
        // Another member follows only if the gzip magic does (after the 8-byte trailer);
        // anything else is trailing junk.
        let next = left.get(8..).unwrap_or_default();
        if !next.starts_with(&[0x1f, 0x8b]) || next.len() >= rest.len() {
            return Ok(Decoded {
                body: out,
                truncated: false,
            });
        }
        rest = next;
    }
}

/// The length of the gzip member header at the start of `data` (RFC 1952: magic, method 8,
/// flags, and the optional extra field, name, comment and header CRC the flags announce), or
/// `None` when it is not one or is cut short.
fn gzip_header_len(data: &[u8]) -> Option<usize> {
    const FHCRC: u8 = 0x02;
    const FEXTRA: u8 = 0x04;
    const FNAME: u8 = 0x08;
    const FCOMMENT: u8 = 0x10;
    let (magic, flags) = (data.get(..3)?, *data.get(3)?);
    if magic != [0x1f, 0x8b, 8] {
        return None;
    }
    let mut pos = 10;
    if flags & FEXTRA != 0 {
        let xlen = u16::from_le_bytes([*data.get(pos)?, *data.get(pos + 1)?]);
        pos += 2 + usize::from(xlen);
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            pos += memchr::memchr(0, data.get(pos..)?)? + 1;
        }
    }
    if flags & FHCRC != 0 {
        pos += 2;
    }
    (pos <= data.len()).then_some(pos)
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

/// LZMA ("lzma-alone": properties, dictionary size, length, then the stream), with the
/// dictionary capped at [`LZMA_MEMLIMIT`] and the output at `limit`.
fn unlzma(input: &[u8], limit: usize, whole: bool) -> Result<Decoded, DecodeError> {
    let mut sink = CappedWriter {
        out: Vec::new(),
        limit,
        overflowed: false,
    };
    let options = lzma_rs::decompress::Options {
        memlimit: Some(LZMA_MEMLIMIT),
        ..Default::default()
    };
    let mut reader = input;
    match lzma_rs::lzma_decompress_with_options(&mut reader, &mut sink, &options) {
        Ok(()) => Ok(Decoded {
            body: sink.out,
            truncated: false,
        }),
        Err(_) if sink.overflowed => Ok(Decoded {
            body: sink.out,
            truncated: true,
        }),
        Err(_) => cut_short(sink.out, whole),
    }
}

/// A writer that keeps at most `limit` bytes, then refuses more.
struct CappedWriter {
    out: Vec<u8>,
    limit: usize,
    overflowed: bool,
}

impl io::Write for CappedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.limit.saturating_sub(self.out.len());
        if room == 0 && !buf.is_empty() {
            self.overflowed = true;
            return Err(io::Error::other("body limit reached"));
        }
        let n = room.min(buf.len());
        self.out.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
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

    const LAYERS2: Decoding = Decoding {
        max_layers: 2,
        lzma: true,
    };

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
        Headers::from_pairs([("Content-Encoding", value)])
    }

    fn body_of(raw: &[u8], codings: &[Coding]) -> Vec<u8> {
        decode(
            raw,
            codings,
            Decoding {
                max_layers: 2,
                lzma: true,
            },
            1 << 20,
            true,
        )
        .unwrap()
        .unwrap()
        .body
    }

    #[test]
    fn codings_listed_in_order() {
        assert_eq!(content_codings(&ce("gzip"), false), vec![Coding::Gzip]);
        assert_eq!(
            content_codings(&ce(" X-GZIP , Deflate, identity"), false),
            vec![Coding::Gzip, Coding::Deflate]
        );
        assert_eq!(content_codings(&ce("br"), false), vec![Coding::Other]);
        assert!(content_codings(&Headers::default(), false).is_empty());
        assert_eq!(
            content_codings(&ce("x-deflate"), false),
            vec![Coding::Other]
        );
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
        let got = decode(&three, &[Coding::Gzip; 3], LAYERS2, 1 << 20, true)
            .unwrap()
            .unwrap();
        assert_eq!(got.body, gzip(b"x"));
        // An unknown coding stops decoding.
        assert_eq!(
            decode(
                b"abc",
                &[Coding::Other],
                Decoding {
                    max_layers: 2,
                    lzma: true
                },
                100,
                true
            ),
            Ok(None)
        );
        let got = decode(
            &gzip(b"br-data"),
            &[Coding::Other, Coding::Gzip],
            LAYERS2,
            100,
            true,
        )
        .unwrap()
        .unwrap();
        assert_eq!(got.body, b"br-data");
    }

    #[test]
    fn lzma_decodes_only_when_enabled() {
        let text = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!".repeat(20);
        let mut packed = Vec::new();
        lzma_rs::lzma_compress(&mut text.as_slice(), &mut packed).unwrap();
        let on = decode(&packed, &[Coding::Lzma], LAYERS2, 1 << 20, true)
            .unwrap()
            .unwrap();
        assert_eq!(on.body, text);
        let off = Decoding {
            max_layers: 2,
            lzma: false,
        };
        assert_eq!(
            decode(&packed, &[Coding::Lzma], off, 1 << 20, true),
            Ok(None)
        );
        // The output limit holds: the body is cut, not grown.
        let cut = decode(&packed, &[Coding::Lzma], LAYERS2, 100, true)
            .unwrap()
            .unwrap();
        assert_eq!((cut.body.len(), cut.truncated), (100, true));
        assert_eq!(content_codings(&ce("lzma"), false), vec![Coding::Lzma]);
    }

    #[test]
    fn lenient_codings_as_libhtp() {
        assert_eq!(
            content_codings(&ce("x-deflate, gz\0ip, \u{a0}gzip,: lzma br"), true),
            vec![
                Coding::Deflate,
                Coding::Gzip,
                Coding::Gzip,
                Coding::Other,
                Coding::Lzma,
                Coding::Other
            ]
        );
        let headers = Headers::from_pairs([("Content-Encoding\0", "deflate")]);
        assert_eq!(content_codings(&headers, true), vec![Coding::Deflate]);
        assert!(content_codings(&headers, false).is_empty());
    }

    #[test]
    fn a_layer_that_does_not_decode_passes_its_input_on() {
        // Listed in the wrong order, or one coding not applied at all.
        let wire = gzip(b"inner");
        assert_eq!(body_of(&wire, &[Coding::Gzip, Coding::Deflate]), b"inner");
        assert_eq!(body_of(&wire, &[Coding::Deflate, Coding::Gzip]), b"inner");
        let wire = raw_deflate(b"inner");
        assert_eq!(body_of(&wire, &[Coding::Deflate, Coding::Gzip]), b"inner");
        assert_eq!(body_of(&wire, &[Coding::Other, Coding::Deflate]), b"inner");
    }

    #[test]
    fn gzip_checks_browsers_skip_are_skipped() {
        let good = gzip(b"EICAR body");
        let deflated = &good[10..good.len() - 8];
        let member = |flags: u8, extra: &[u8], trailer: &[u8]| {
            let mut m = vec![0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 3];
            m.extend_from_slice(extra);
            m.extend_from_slice(deflated);
            m.extend_from_slice(trailer);
            m
        };
        let trailer = &good[good.len() - 8..];
        for wire in [
            member(0x02, b"\0\0", trailer),             // header CRC, wrong
            member(0x20, b"", trailer),                 // reserved flag
            member(0xe0, b"", trailer),                 // all reserved flags
            member(0x04, b"\x05\0Ap\x01\0\0", trailer), // extra field
            member(0x18, b"name\0comment\0", trailer),  // name and comment
            member(0, b"", b"\0\0\0\0\xbb\0\0\0"),      // wrong CRC and length
            member(0, b"", &trailer[..4]),              // trailer cut off
            member(0, b"", b""),                        // no trailer
        ] {
            assert_eq!(body_of(&wire, &[Coding::Gzip]), b"EICAR body", "{wire:?}");
        }
        // Cut inside the header: nothing to decode.
        assert_eq!(gzip_header_len(&member(0x08, b"nam", b"")[..13]), None);
        assert_eq!(
            gzip_header_len(b"\x1f\x8b\x08\x04\0\0\0\0\0\x03\xff\xff"),
            None
        );
        assert_eq!(gzip_header_len(b"\x1f\x8b\x07\0\0\0\0\0\0\x03"), None);
    }

    #[test]
    fn bomb_is_bounded() {
        let zeros = vec![0u8; 50 << 20];
        let bomb = gzip(&gzip(&zeros));
        assert!(bomb.len() < 200 << 10);
        let got = decode(
            &bomb,
            &[Coding::Gzip, Coding::Gzip],
            Decoding {
                max_layers: 2,
                lzma: true,
            },
            1 << 20,
            true,
        )
        .unwrap()
        .unwrap();
        assert_eq!(got.body.len(), 1 << 20);
        assert!(got.truncated);
        let got = decode(
            &gzip(b"exact"),
            &[Coding::Gzip],
            Decoding {
                max_layers: 2,
                lzma: true,
            },
            5,
            true,
        )
        .unwrap()
        .unwrap();
        assert_eq!((got.body.as_slice(), got.truncated), (&b"exact"[..], false));
        let got = decode(
            &gzip(b"exact"),
            &[Coding::Gzip],
            Decoding {
                max_layers: 2,
                lzma: true,
            },
            0,
            true,
        )
        .unwrap()
        .unwrap();
        assert_eq!((got.body.len(), got.truncated), (0, true));
    }

    #[test]
    fn corrupt_and_cut_short() {
        assert_eq!(
            decode(
                b"not gzip at all",
                &[Coding::Gzip],
                Decoding {
                    max_layers: 2,
                    lzma: true
                },
                100,
                true
            ),
            Err(DecodeError::Corrupt)
        );
        assert_eq!(
            decode(
                b"\xff\xff\xff",
                &[Coding::Deflate],
                Decoding {
                    max_layers: 2,
                    lzma: true
                },
                100,
                true
            ),
            Err(DecodeError::Corrupt)
        );
        let text: Vec<u8> = (0..20000u32).flat_map(|i| i.to_le_bytes()).collect();
        let wire = gzip(&text);
        let half = &wire[..wire.len() / 2];
        // Known to be cut: what decoded is kept.
        let got = decode(
            half,
            &[Coding::Gzip],
            Decoding {
                max_layers: 2,
                lzma: true,
            },
            1 << 20,
            false,
        )
        .unwrap()
        .unwrap();
        assert!(!got.body.is_empty() && text.starts_with(&got.body));
        // Claimed whole: an error.
        assert_eq!(
            decode(
                half,
                &[Coding::Gzip],
                Decoding {
                    max_layers: 2,
                    lzma: true
                },
                1 << 20,
                true
            ),
            Err(DecodeError::Corrupt)
        );
        assert_eq!(
            decode(
                &wire[..5],
                &[Coding::Gzip],
                Decoding {
                    max_layers: 2,
                    lzma: true
                },
                1 << 20,
                false
            ),
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
            LAYERS2,
            false,
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
            LAYERS2,
            false,
            &mut stats,
        );
        assert_eq!(body, b"0123");
        assert!(truncated);
        assert_eq!(stats.bodies_truncated, 1);
    }
}
