//! The cipher suites exhound can decrypt, with the sizes and hashes each one needs.
//!
//! A static table, looked up by the IANA id from the ServerHello ([`cipher_suite`]). Only
//! suites whose bulk cipher aws-lc-rs implements are listed: AES-GCM, ChaCha20-Poly1305 and
//! AES-CBC with an HMAC; no RC4, 3DES, CCM or Camellia.

/// How a suite protects records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// AES in GCM mode (AEAD; in TLS 1.2 an 8-byte explicit nonce precedes the ciphertext).
    AesGcm,
    /// ChaCha20-Poly1305 (AEAD; the nonce is the sequence number XOR the write IV).
    ChaCha20Poly1305,
    /// AES in CBC mode with an HMAC (TLS ≤ 1.2 only).
    AesCbc,
}

/// The HMAC hash of a CBC suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacHash {
    /// HMAC-SHA1 (20 bytes).
    Sha1,
    /// HMAC-SHA256 (32 bytes).
    Sha256,
    /// HMAC-SHA384 (48 bytes).
    Sha384,
}

impl MacHash {
    /// The MAC's length, which is also its key's length.
    pub fn output_len(self) -> usize {
        match self {
            MacHash::Sha1 => 20,
            MacHash::Sha256 => 32,
            MacHash::Sha384 => 48,
        }
    }
}

/// The hash of the TLS 1.2 PRF (and of the handshake transcript), or in TLS 1.3 the hash of
/// HKDF. TLS 1.0 and 1.1 use their MD5/SHA-1 PRF whatever the suite says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrfHash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
}

impl PrfHash {
    /// The hash's output length.
    pub fn output_len(self) -> usize {
        match self {
            PrfHash::Sha256 => 32,
            PrfHash::Sha384 => 48,
        }
    }
}

/// One cipher suite.
#[derive(Debug, PartialEq, Eq)]
pub struct CipherSuite {
    /// The IANA id.
    pub id: u16,
    /// The IANA name (`TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`).
    pub name: &'static str,
    /// The bulk cipher and its mode.
    pub protection: Protection,
    /// The encryption key's length in bytes.
    pub key_len: usize,
    /// The IV bytes taken from the key block (TLS 1.2) or derived (TLS 1.3): 4 for TLS 1.2
    /// GCM (the salt), 12 for ChaCha20 and TLS 1.3, 0 for CBC (TLS 1.0 CBC takes a 16-byte IV
    /// from the key block all the same: see [`CipherSuite::key_block_iv_len`]).
    pub fixed_iv_len: usize,
    /// The HMAC of a CBC suite; `None` for AEAD suites.
    pub mac: Option<MacHash>,
    /// The PRF hash (TLS 1.2) or the HKDF hash (TLS 1.3).
    pub prf: PrfHash,
    /// Whether the key exchange is RSA (so that the server's private key decrypts it).
    pub rsa_key_exchange: bool,
    /// Whether this is a TLS 1.3 suite.
    pub tls13: bool,
}

impl CipherSuite {
    /// The MAC length (and MAC key length); 0 for AEAD suites.
    pub fn mac_len(&self) -> usize {
        self.mac.map_or(0, MacHash::output_len)
    }

    /// The IV bytes per direction in the TLS ≤ 1.2 key block at `version`: CBC suites take
    /// one 16-byte block in TLS 1.0 (the first record's IV) and none from TLS 1.1 on.
    pub fn key_block_iv_len(&self, version: u16) -> usize {
        match self.protection {
            Protection::AesCbc if version <= 0x0301 => 16,
            _ => self.fixed_iv_len,
        }
    }

    /// The key block length at `version`: two MAC keys, two encryption keys, two IVs.
    pub fn key_block_len(&self, version: u16) -> usize {
        2 * (self.mac_len() + self.key_len + self.key_block_iv_len(version))
    }
}

const fn tls13(
    id: u16,
    name: &'static str,
    protection: Protection,
    key_len: usize,
    prf: PrfHash,
) -> CipherSuite {
    CipherSuite {
        id,
        name,
        protection,
        key_len,
        fixed_iv_len: 12,
        mac: None,
        prf,
        rsa_key_exchange: false,
        tls13: true,
    }
}

const fn aead(
    id: u16,
    name: &'static str,
    protection: Protection,
    key_len: usize,
    prf: PrfHash,
    rsa: bool,
) -> CipherSuite {
    CipherSuite {
        id,
        name,
        protection,
        key_len,
        fixed_iv_len: match protection {
            Protection::ChaCha20Poly1305 => 12,
            _ => 4,
        },
        mac: None,
        prf,
        rsa_key_exchange: rsa,
        tls13: false,
    }
}

const fn cbc(id: u16, name: &'static str, key_len: usize, mac: MacHash, rsa: bool) -> CipherSuite {
    CipherSuite {
        id,
        name,
        protection: Protection::AesCbc,
        key_len,
        fixed_iv_len: 0,
        mac: Some(mac),
        prf: match mac {
            MacHash::Sha384 => PrfHash::Sha384,
            _ => PrfHash::Sha256,
        },
        rsa_key_exchange: rsa,
        tls13: false,
    }
}

use MacHash::{Sha1, Sha256 as MSha256, Sha384 as MSha384};
use PrfHash::{Sha256, Sha384};
use Protection::{AesGcm, ChaCha20Poly1305 as ChaCha};

/// Every suite exhound decrypts, in id order.
pub static SUITES: &[CipherSuite] = &[
    cbc(0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", 16, Sha1, true),
    cbc(0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", 16, Sha1, false),
    cbc(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", 32, Sha1, true),
    cbc(0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", 32, Sha1, false),
    cbc(0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256", 16, MSha256, true),
    cbc(0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256", 32, MSha256, true),
    cbc(
        0x0067,
        "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
        16,
        MSha256,
        false,
    ),
    cbc(
        0x006B,
        "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
        32,
        MSha256,
        false,
    ),
    aead(
        0x009C,
        "TLS_RSA_WITH_AES_128_GCM_SHA256",
        AesGcm,
        16,
        Sha256,
        true,
    ),
    aead(
        0x009D,
        "TLS_RSA_WITH_AES_256_GCM_SHA384",
        AesGcm,
        32,
        Sha384,
        true,
    ),
    aead(
        0x009E,
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        AesGcm,
        16,
        Sha256,
        false,
    ),
    aead(
        0x009F,
        "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        AesGcm,
        32,
        Sha384,
        false,
    ),
    tls13(0x1301, "TLS_AES_128_GCM_SHA256", AesGcm, 16, Sha256),
    tls13(0x1302, "TLS_AES_256_GCM_SHA384", AesGcm, 32, Sha384),
    tls13(0x1303, "TLS_CHACHA20_POLY1305_SHA256", ChaCha, 32, Sha256),
    cbc(
        0xC009,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        16,
        Sha1,
        false,
    ),
    cbc(
        0xC00A,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        32,
        Sha1,
        false,
    ),
    cbc(
        0xC013,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        16,
        Sha1,
        false,
    ),
    cbc(
        0xC014,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        32,
        Sha1,
        false,
    ),
    cbc(
        0xC023,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        16,
        MSha256,
        false,
    ),
    cbc(
        0xC024,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
        32,
        MSha384,
        false,
    ),
    cbc(
        0xC027,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        16,
        MSha256,
        false,
    ),
    cbc(
        0xC028,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        32,
        MSha384,
        false,
    ),
    aead(
        0xC02B,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        AesGcm,
        16,
        Sha256,
        false,
    ),
    aead(
        0xC02C,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        AesGcm,
        32,
        Sha384,
        false,
    ),
    aead(
        0xC02F,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        AesGcm,
        16,
        Sha256,
        false,
    ),
    aead(
        0xC030,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        AesGcm,
        32,
        Sha384,
        false,
    ),
    aead(
        0xCCA8,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        ChaCha,
        32,
        Sha256,
        false,
    ),
    aead(
        0xCCA9,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        ChaCha,
        32,
        Sha256,
        false,
    ),
    aead(
        0xCCAA,
        "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        ChaCha,
        32,
        Sha256,
        false,
    ),
];

/// The suite with IANA id `id`, if exhound can decrypt it.
pub fn cipher_suite(id: u16) -> Option<&'static CipherSuite> {
    SUITES
        .binary_search_by_key(&id, |s| s.id)
        .ok()
        .map(|i| &SUITES[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_complete() {
        assert!(SUITES.windows(2).all(|w| w[0].id < w[1].id));
        for id in [
            0x1301, 0x1302, 0x1303, 0x009C, 0x009D, 0x009E, 0x009F, 0xC02B, 0xC02C, 0xC02F, 0xC030,
            0xCCA8, 0xCCA9, 0xCCAA, 0x002F, 0x0035, 0x003C, 0x003D, 0x0033, 0x0039, 0x0067, 0x006B,
            0xC009, 0xC00A, 0xC013, 0xC014, 0xC023, 0xC024, 0xC027, 0xC028,
        ] {
            let s = cipher_suite(id).unwrap_or_else(|| panic!("{id:#06x} missing"));
            assert_eq!(s.id, id);
            assert!(s.name.starts_with("TLS_"));
            // The PRF hash is the one the name ends with (SHA-1 CBC suites use SHA-256).
            assert_eq!(
                s.prf == PrfHash::Sha384,
                s.name.ends_with("SHA384"),
                "{}",
                s.name
            );
            assert_eq!(
                s.rsa_key_exchange,
                s.name.starts_with("TLS_RSA_"),
                "{}",
                s.name
            );
            assert_eq!(
                s.key_len == 32,
                s.name.contains("AES_256") || s.name.contains("CHACHA")
            );
            assert_eq!(s.mac.is_some(), s.name.contains("CBC"));
        }
        assert_eq!(SUITES.len(), 30);
        assert!(cipher_suite(0x000A).is_none());
        assert!(cipher_suite(0x1304).is_none());
    }

    #[test]
    fn key_block_lengths() {
        // research note §2's table
        let kb = |id, v| cipher_suite(id).map(|s| s.key_block_len(v));
        assert_eq!(kb(0x002F, 0x0303), Some(72));
        assert_eq!(kb(0x0035, 0x0303), Some(104));
        assert_eq!(kb(0xC027, 0x0303), Some(96));
        assert_eq!(kb(0xC028, 0x0303), Some(160));
        assert_eq!(kb(0xC02F, 0x0303), Some(40));
        assert_eq!(kb(0xC030, 0x0303), Some(72));
        assert_eq!(kb(0xCCA8, 0x0303), Some(88));
        // TLS 1.0 CBC adds two 16-byte IVs
        assert_eq!(kb(0x002F, 0x0301), Some(104));
    }
}
