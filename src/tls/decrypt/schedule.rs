//! Key derivation: the TLS ≤ 1.2 PRF (master secret, key block, Finished) and the TLS 1.3
//! HKDF-Expand-Label steps that turn a key-log traffic secret into a key and IV.
//!
//! TLS 1.2 uses aws-lc-rs's `tls_prf` (P_SHA256/P_SHA384). TLS 1.0 and 1.1 use
//! `P_MD5(S1) XOR P_SHA-1(S2)` (RFC 2246 §5), built here from the RustCrypto `hmac`, `md-5`
//! and `sha1` crates because aws-lc-rs has no HMAC-MD5. SSL 3.0 is not supported.

use aws_lc_rs::{digest, hkdf, tls_prf};
use hmac::{Hmac, Mac};

use super::suite::{CipherSuite, PrfHash};
use super::DecryptError;

/// The PRF of `version` (TLS 1.0–1.2) for `suite`: `len` bytes of `PRF(secret, label, seed)`.
pub fn prf(
    version: u16,
    suite: &CipherSuite,
    secret: &[u8],
    label: &[u8],
    seed: &[u8],
    len: usize,
) -> Result<Vec<u8>, DecryptError> {
    match version {
        0x0303 => {
            let alg = match suite.prf {
                PrfHash::Sha256 => &tls_prf::P_SHA256,
                PrfHash::Sha384 => &tls_prf::P_SHA384,
            };
            let out = tls_prf::Secret::new(alg, secret)
                .and_then(|s| s.derive(label, seed, len))
                .map_err(|_| DecryptError::Crypto)?;
            Ok(out.as_ref().to_vec())
        }
        0x0301 | 0x0302 => {
            // The halves share the middle byte when the secret's length is odd.
            let half = secret.len().div_ceil(2);
            let mut out = p_hash::<Hmac<md5::Md5>>(&secret[..half], label, seed, len)?;
            let sha = p_hash::<Hmac<sha1::Sha1>>(&secret[secret.len() - half..], label, seed, len)?;
            for (o, s) in out.iter_mut().zip(sha) {
                *o ^= s;
            }
            Ok(out)
        }
        v => Err(DecryptError::UnsupportedVersion(v)),
    }
}

/// `P_hash(secret, label || seed)` truncated to `len` (RFC 2246 §5).
fn p_hash<M: Mac + hmac::digest::KeyInit + Clone>(
    secret: &[u8],
    label: &[u8],
    seed: &[u8],
    len: usize,
) -> Result<Vec<u8>, DecryptError> {
    let key = <M as Mac>::new_from_slice(secret).map_err(|_| DecryptError::Crypto)?;
    let mut out = Vec::with_capacity(len + 64);
    // A(1) = HMAC(secret, label || seed)
    let mut a = {
        let mut m = key.clone();
        m.update(label);
        m.update(seed);
        m.finalize().into_bytes()
    };
    while out.len() < len {
        let mut m = key.clone();
        m.update(&a);
        m.update(label);
        m.update(seed);
        out.extend_from_slice(&m.finalize().into_bytes());
        let mut m = key.clone();
        m.update(&a);
        a = m.finalize().into_bytes();
    }
    out.truncate(len);
    Ok(out)
}

/// The TLS ≤ 1.2 master secret from the pre-master secret (RFC 5246 §8.1), or with
/// `extended_master_secret_hash` (the session hash, see [`transcript_hash`]) the extended
/// master secret of RFC 7627 §4.
pub fn tls12_master_secret(
    version: u16,
    suite: &CipherSuite,
    premaster: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    extended_master_secret_hash: Option<&[u8]>,
) -> Result<[u8; 48], DecryptError> {
    if premaster.is_empty() {
        return Err(DecryptError::BadSecretLength(0));
    }
    let out = match extended_master_secret_hash {
        Some(hash) => prf(
            version,
            suite,
            premaster,
            b"extended master secret",
            hash,
            48,
        )?,
        None => {
            let mut seed = [0u8; 64];
            seed[..32].copy_from_slice(client_random);
            seed[32..].copy_from_slice(server_random);
            prf(version, suite, premaster, b"master secret", &seed, 48)?
        }
    };
    out.try_into().map_err(|_| DecryptError::Crypto)
}

/// The TLS ≤ 1.2 key block (RFC 5246 §6.3): `PRF(master, "key expansion", server_random ||
/// client_random)`, [`CipherSuite::key_block_len`] bytes.
pub fn key_block(
    version: u16,
    suite: &CipherSuite,
    master_secret: &[u8; 48],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
) -> Result<Vec<u8>, DecryptError> {
    let mut seed = [0u8; 64];
    seed[..32].copy_from_slice(server_random);
    seed[32..].copy_from_slice(client_random);
    prf(
        version,
        suite,
        master_secret,
        b"key expansion",
        &seed,
        suite.key_block_len(version),
    )
}

/// Hash of the handshake transcript as extended_master_secret and Finished use it (TLS 1.2:
/// the suite's PRF hash; TLS 1.0/1.1: MD5 || SHA-1, 36 bytes). `transcript` is the handshake
/// messages with their 4-byte headers, without record headers.
pub fn transcript_hash(version: u16, suite: &CipherSuite, transcript: &[u8]) -> Vec<u8> {
    use sha1::Digest as _;
    if version < 0x0303 {
        let mut out = md5::Md5::digest(transcript).to_vec();
        out.extend_from_slice(&sha1::Sha1::digest(transcript));
        return out;
    }
    let alg = match suite.prf {
        PrfHash::Sha256 => &digest::SHA256,
        PrfHash::Sha384 => &digest::SHA384,
    };
    digest::digest(alg, transcript).as_ref().to_vec()
}

/// TLS ≤ 1.2 Finished verify_data (12 bytes, RFC 5246 §7.4.9): `PRF(master, "client
/// finished" | "server finished", transcript_hash)`. `transcript_hash` covers the handshake
/// messages before this Finished.
pub fn tls12_verify_data(
    version: u16,
    suite: &CipherSuite,
    master_secret: &[u8; 48],
    from_client: bool,
    transcript_hash: &[u8],
) -> Result<[u8; 12], DecryptError> {
    let label: &[u8] = if from_client {
        b"client finished"
    } else {
        b"server finished"
    };
    prf(version, suite, master_secret, label, transcript_hash, 12)?
        .try_into()
        .map_err(|_| DecryptError::Crypto)
}

/// An HKDF output length for aws-lc-rs.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// TLS 1.3 `HKDF-Expand-Label(secret, label, context, len)` (RFC 8446 §7.1) with the
/// suite's hash; `label` without its `"tls13 "` prefix.
pub fn hkdf_expand_label(
    hash: PrfHash,
    secret: &[u8],
    label: &[u8],
    context: &[u8],
    len: usize,
) -> Result<Vec<u8>, DecryptError> {
    const PREFIX: &[u8] = b"tls13 ";
    let (Ok(out_len), Ok(label_len), Ok(context_len)) = (
        u16::try_from(len),
        u8::try_from(PREFIX.len() + label.len()),
        u8::try_from(context.len()),
    ) else {
        return Err(DecryptError::Crypto);
    };
    let alg = match hash {
        PrfHash::Sha256 => hkdf::HKDF_SHA256,
        PrfHash::Sha384 => hkdf::HKDF_SHA384,
    };
    let len_bytes = out_len.to_be_bytes();
    let info: [&[u8]; 6] = [
        &len_bytes,
        &[label_len],
        PREFIX,
        label,
        &[context_len],
        context,
    ];
    let mut out = vec![0u8; len];
    hkdf::Prk::new_less_safe(alg, secret)
        .expand(&info, Len(len))
        .and_then(|okm| okm.fill(&mut out))
        .map_err(|_| DecryptError::Crypto)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::suite::cipher_suite;
    use super::*;
    use crate::tls::testpeer::hex;

    #[test]
    fn tls12_prf_sha256_vector() {
        // The widely used P_SHA256 test vector (IETF TLS list, 2008; also in Go's and
        // OpenSSL's test suites).
        let secret = hex("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35");
        let seed = hex("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c");
        let want = hex(
            "e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95 32 9b 52 d4 e6 1e db 5a
             6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af 0f a0 22 f7 07 7d ef 17 ab fd 37 97 c0 56 4b ab
             4f bc 91 66 6e 9d ef 9b 97 fc e3 4f 79 67 89 ba a4 80 82 d1 22 ee 42 c5 a7 2e 5a 51 10 ff f7 01
             87 34 7b 66",
        );
        let suite = cipher_suite(0xC02F).expect("suite");
        let got = prf(0x0303, suite, &secret, b"test label", &seed, want.len()).expect("prf");
        assert_eq!(got, want);
    }

    #[test]
    fn tls10_prf_splits_the_secret() {
        // P_MD5 ⊕ P_SHA1 checked against a direct computation of each half, with an odd
        // secret length so the halves share a byte.
        let suite = cipher_suite(0x002F).expect("suite");
        let secret: Vec<u8> = (0..49u8).collect();
        let got = prf(0x0301, suite, &secret, b"master secret", b"seed", 48).expect("prf");
        let a =
            p_hash::<Hmac<md5::Md5>>(&secret[..25], b"master secret", b"seed", 48).expect("md5");
        let b =
            p_hash::<Hmac<sha1::Sha1>>(&secret[24..], b"master secret", b"seed", 48).expect("sha1");
        let want: Vec<u8> = a.iter().zip(&b).map(|(x, y)| x ^ y).collect();
        assert_eq!(got, want);
        assert_eq!(
            prf(0x0302, suite, &secret, b"master secret", b"seed", 48).expect("prf"),
            want
        );
        assert_eq!(
            prf(0x0300, suite, &secret, b"x", b"y", 4),
            Err(DecryptError::UnsupportedVersion(0x0300))
        );
    }

    #[test]
    fn p_hash_sha256_matches_aws_lc() {
        let suite = cipher_suite(0xC02F).expect("suite");
        let secret = [7u8; 48];
        let ours =
            p_hash::<Hmac<sha2::Sha256>>(&secret, b"key expansion", &[1; 64], 100).expect("p");
        let theirs = prf(0x0303, suite, &secret, b"key expansion", &[1; 64], 100).expect("prf");
        assert_eq!(ours, theirs);
    }

    #[test]
    fn hkdf_expand_label_rfc8448() {
        // RFC 8448 §3: server_handshake_traffic_secret → key and iv.
        let secret = hex("b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38");
        let key = hkdf_expand_label(PrfHash::Sha256, &secret, b"key", b"", 16).expect("key");
        let iv = hkdf_expand_label(PrfHash::Sha256, &secret, b"iv", b"", 12).expect("iv");
        assert_eq!(key, hex("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc"));
        assert_eq!(iv, hex("5d 31 3e b2 67 12 76 ee 13 00 0b 30"));
    }
}

#[cfg(test)]
mod openssl_vectors {
    //! Values computed once with `openssl kdf … TLS1-PRF` (OpenSSL 3), so the tests do not
    //! need OpenSSL: M = 01..30 (48 bytes), H = 64..83 (32 bytes) or 64..87 (36), 64..93
    //! (48), server random 0xBB × 32, client random 0xAA × 32.
    use super::super::suite::cipher_suite;
    use super::*;

    fn seq(from: u8, n: usize) -> Vec<u8> {
        (0..n).map(|i| from + i as u8).collect()
    }

    fn master() -> [u8; 48] {
        seq(1, 48).try_into().expect("48")
    }

    fn hex(s: &str) -> Vec<u8> {
        s.split(':')
            .map(|h| u8::from_str_radix(h, 16).expect("hex"))
            .collect()
    }

    #[test]
    fn verify_data_tls12_sha256_and_sha384() {
        let s256 = cipher_suite(0xC02F).expect("suite");
        let s384 = cipher_suite(0xC030).expect("suite");
        assert_eq!(
            tls12_verify_data(0x0303, s256, &master(), true, &seq(100, 32)).expect("vd"),
            hex("29:8A:CF:65:D6:AA:37:8E:56:73:F7:C6").as_slice()
        );
        assert_eq!(
            tls12_verify_data(0x0303, s384, &master(), false, &seq(100, 48)).expect("vd"),
            hex("E1:D6:F3:53:E1:80:EC:FD:EA:64:2C:11").as_slice()
        );
    }

    #[test]
    fn tls10_prf_against_openssl() {
        let s = cipher_suite(0x002F).expect("suite");
        assert_eq!(
            tls12_verify_data(0x0301, s, &master(), true, &seq(100, 36)).expect("vd"),
            hex("B8:06:84:E0:97:22:61:8C:A3:AA:D4:75").as_slice()
        );
        let kb = key_block(0x0301, s, &master(), &[0xAA; 32], &[0xBB; 32]).expect("kb");
        assert_eq!(kb.len(), 104);
        assert_eq!(&kb[..8], hex("45:93:8E:E7:F2:BB:D8:0A").as_slice());
        assert_eq!(&kb[96..], hex("35:55:A6:07:7F:B1:CF:F8").as_slice());
        // odd pre-master length: the halves share the middle byte
        let ms = tls12_master_secret(0x0301, s, &seq(0, 49), &[0xAA; 32], &[0xBB; 32], None)
            .expect("ms");
        assert_eq!(
            ms.as_slice(),
            hex("77:92:42:C7:8E:0D:A5:8C:F8:07:90:D2:3C:FA:A4:B8:63:D3:52:D3:41:4D:B1:B6:E6:8A:D4:8A:B7:94:D6:ED:0A:DE:A7:62:69:B1:1B:99:20:30:AE:4F:24:C6:78:04")
        );
    }

    #[test]
    fn transcript_hash_lengths_and_ems() {
        let s256 = cipher_suite(0xC02F).expect("suite");
        let s384 = cipher_suite(0xC030).expect("suite");
        assert_eq!(transcript_hash(0x0303, s256, b"abc").len(), 32);
        assert_eq!(transcript_hash(0x0303, s384, b"abc").len(), 48);
        let h10 = transcript_hash(0x0301, s256, b"abc");
        assert_eq!(h10.len(), 36);
        // MD5("abc") || SHA1("abc")
        assert_eq!(&h10[..4], &[0x90, 0x01, 0x50, 0x98]);
        assert_eq!(&h10[16..20], &[0xa9, 0x99, 0x3e, 0x36]);
        // EMS uses the session hash, not the randoms
        let a = tls12_master_secret(0x0303, s256, &[1; 48], &[2; 32], &[3; 32], Some(&h10[..32]))
            .expect("ems");
        let b = tls12_master_secret(0x0303, s256, &[1; 48], &[9; 32], &[9; 32], Some(&h10[..32]))
            .expect("ems");
        let c = tls12_master_secret(0x0303, s256, &[1; 48], &[2; 32], &[3; 32], None).expect("ms");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            tls12_master_secret(0x0303, s256, &[], &[2; 32], &[3; 32], None),
            Err(DecryptError::BadSecretLength(0))
        );
    }
}
