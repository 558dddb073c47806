//! Client and server fingerprints: JA3 and JA3S (Salesforce; MD5 of a decimal string) and
//! JA4 (FoxIO, `JA4.md`: `t13d1516h2_8daaf6152771_b186095e22b6`).
//!
//! GREASE values (RFC 8701: the sixteen `0x?A?A` values with equal bytes) are left out of
//! every list, as the reference implementations and tshark do; a value that merely looks
//! like GREASE in one byte (`0x0A1A`) is kept.

use std::fmt::Write;

use md5::{Digest as _, Md5};
use sha2::Sha256;

use super::hello::{ClientHello, ServerHello};

/// A fingerprint string and its hash (lower-case hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The hash, lower-case hex.
    pub hash: String,
    /// The string that was hashed.
    pub string: String,
}

impl Fingerprint {
    fn md5_of(string: String) -> Fingerprint {
        Fingerprint {
            hash: hex(&Md5::digest(string.as_bytes())),
            string,
        }
    }
}

/// Whether `v` is one of the sixteen GREASE values of RFC 8701.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `values` without GREASE, in decimal, joined with `-`.
fn dashed<T: Copy + Into<u16>>(values: &[T]) -> String {
    let mut s = String::new();
    for v in values.iter().map(|&v| v.into()).filter(|&v| !is_grease(v)) {
        if !s.is_empty() {
            s.push('-');
        }
        let _ = write!(s, "{v}");
    }
    s
}

/// JA3 of a ClientHello: `version,ciphers,extensions,groups,point_formats`.
pub fn ja3(hello: &ClientHello) -> Fingerprint {
    let point_formats: Vec<u16> = hello.point_formats.iter().map(|&p| u16::from(p)).collect();
    Fingerprint::md5_of(format!(
        "{},{},{},{},{}",
        hello.version,
        dashed(&hello.ciphers),
        dashed(&hello.extensions),
        dashed(&hello.groups),
        dashed(&point_formats)
    ))
}

/// JA3S of a ServerHello: `version,cipher,extensions`.
pub fn ja3s(hello: &ServerHello) -> Fingerprint {
    Fingerprint::md5_of(format!(
        "{},{},{}",
        hello.version,
        hello.cipher,
        dashed(&hello.extensions)
    ))
}

/// JA4's two-character version.
fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// The first 12 hex characters of the SHA-256 of the 4-hex-digit `values` joined with `,`
/// (then `_` and `tail` when there is one); `000000000000` for an empty list.
fn ja4_hash(values: &[u16], tail: &[u16]) -> String {
    if values.is_empty() {
        return "000000000000".to_string();
    }
    let mut s = join_hex(values);
    if !tail.is_empty() {
        s.push('_');
        s.push_str(&join_hex(tail));
    }
    let mut h = hex(&Sha256::digest(s.as_bytes()));
    h.truncate(12);
    h
}

fn join_hex(values: &[u16]) -> String {
    let mut s = String::with_capacity(values.len() * 5);
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{v:04x}");
    }
    s
}

/// JA4 of a ClientHello seen over TCP.
pub fn ja4(hello: &ClientHello) -> String {
    let clean = |v: &[u16]| -> Vec<u16> { v.iter().copied().filter(|&x| !is_grease(x)).collect() };
    let version = clean(&hello.supported_versions)
        .into_iter()
        .max()
        .unwrap_or(hello.version);
    let mut ciphers = clean(&hello.ciphers);
    let extensions = clean(&hello.extensions);
    let sni = if extensions.contains(&0) { 'd' } else { 'i' };
    let alpn = match hello
        .alpn
        .first()
        .and_then(|p| Some((p.first()?, p.last()?)))
    {
        Some((first, last)) => {
            if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
                format!("{}{}", char::from(*first), char::from(*last))
            } else {
                let (f, l) = (hex(&[*first]), hex(&[*last]));
                format!("{}{}", &f[..1], &l[1..])
            }
        }
        _ => "00".to_string(),
    };
    let a = format!(
        "t{}{}{:02}{:02}{}",
        ja4_version(version),
        sni,
        ciphers.len().min(99),
        extensions.len().min(99),
        alpn
    );
    ciphers.sort_unstable();
    let mut sorted_ext: Vec<u16> = extensions
        .iter()
        .copied()
        .filter(|&e| e != 0 && e != 16)
        .collect();
    sorted_ext.sort_unstable();
    let sig = clean(&hello.signature_algorithms);
    format!(
        "{a}_{}_{}",
        ja4_hash(&ciphers, &[]),
        ja4_hash(&sorted_ext, &sig)
    )
}

#[cfg(test)]
mod tests {
    use super::super::hello::parse_client_hello;
    use super::super::hello::tests::{client_hello_body, sni_ext};
    use super::*;

    #[test]
    fn grease_values_are_exactly_the_sixteen() {
        let all: Vec<u16> = (0..=u16::MAX).filter(|&v| is_grease(v)).collect();
        assert_eq!(all.len(), 16);
        assert!(all.contains(&0x0a0a) && all.contains(&0xfafa));
        assert!(!is_grease(0x0a1a));
    }

    /// The ClientHello of the research note's tshark test (`tls-decryption.md` §4):
    /// GREASE cipher, extensions and group, plus extension 0x0A1A, which is kept.
    #[test]
    fn ja3_drops_grease_like_tshark() {
        let body = client_hello_body(
            0x0303,
            &[0x0a0a, 4865, 49199, 156],
            &[
                (0x1a1a, vec![]),
                sni_ext("x"),
                (10, vec![0, 6, 0x2a, 0x2a, 0, 29, 0, 23]),
                (11, vec![1, 0]),
                (43, vec![6, 0x3a, 0x3a, 3, 4, 3, 3]),
                (13, vec![0, 2, 4, 3]),
                (16, vec![0, 3, 2, b'h', b'2']),
                (0x0a1a, vec![]),
                (0xfafa, vec![]),
            ],
        );
        let h = parse_client_hello(&body).unwrap();
        let f = ja3(&h);
        assert_eq!(f.string, "771,4865-49199-156,0-10-11-43-13-16-2586,29-23,0");
        assert_eq!(f.hash, "b3f4c8fe4fd131e9c90667ec55f22c5d");
    }

    #[test]
    fn ja3s_of_the_same_test() {
        let s = ServerHello {
            version: 0x0303,
            cipher: 4865,
            extensions: vec![43, 51],
            selected_version: Some(0x0304),
            retry: false,
            ..ServerHello::default()
        };
        let f = ja3s(&s);
        assert_eq!(f.string, "771,4865,43-51");
        assert_eq!(f.hash, "f4febc55ea12b31ae17cfb7e614afda8");
    }

    #[test]
    fn ja4_parts() {
        let body = client_hello_body(
            0x0303,
            &[0x0a0a, 0x1302, 0x1301],
            &[
                (0x1a1a, vec![]),
                sni_ext("x"),
                (16, vec![0, 3, 2, b'h', b'2']),
                (43, vec![4, 0x3a, 0x3a, 3, 4]),
                (13, vec![0, 4, 4, 3, 8, 4]),
            ],
        );
        let h = parse_client_hello(&body).unwrap();
        let j = ja4(&h);
        // 2 ciphers, 4 extensions (SNI and ALPN counted), TLS 1.3 from supported_versions.
        assert!(j.starts_with("t13d0204h2_"), "{j}");
        assert_eq!(j.len(), 36);
        let b = hex(&Sha256::digest(b"1301,1302"));
        let c = hex(&Sha256::digest(b"000d,002b_0403,0804"));
        assert_eq!(j, format!("t13d0204h2_{}_{}", &b[..12], &c[..12]));
    }

    /// The worked example of FoxIO's JA4 definition (`JA4.md`): a Chrome ClientHello whose
    /// sorted ciphers and extensions hash to `8daaf6152771` and `e5627efa2ab1`.
    #[test]
    fn ja4_of_the_published_example() {
        let h = ClientHello {
            version: 0x0303,
            ciphers: vec![
                0x3a3a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
                0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
            ],
            extensions: vec![
                0x9a9a, 0x0000, 0x0017, 0xff01, 0x000a, 0x000b, 0x0023, 0x0010, 0x0005, 0x000d,
                0x0012, 0x0033, 0x002d, 0x002b, 0x001b, 0x4469, 0x0015, 0xbaba,
            ],
            signature_algorithms: vec![
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ],
            supported_versions: vec![0x7a7a, 0x0304, 0x0303],
            alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            sni: Some(b"example.com".to_vec()),
            ..ClientHello::default()
        };
        assert_eq!(ja4(&h), "t13d1516h2_8daaf6152771_e5627efa2ab1");
    }

    #[test]
    fn ja4_without_sni_alpn_or_lists() {
        let h = ClientHello {
            version: 0x0301,
            ..ClientHello::default()
        };
        assert_eq!(ja4(&h), "t10i000000_000000000000_000000000000");
        let h = ClientHello {
            version: 0x0303,
            ciphers: vec![0x2f],
            extensions: vec![16],
            alpn: vec![vec![0xab, b'x', 0x01]],
            ..ClientHello::default()
        };
        // Non-alphanumeric ends: first hex digit of the first byte, last of the last.
        assert!(ja4(&h).starts_with("t12i0101a1_"), "{}", ja4(&h));
    }
}
