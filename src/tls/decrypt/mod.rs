//! TLS record decryption, the crypto core: key logs, cipher suites, key derivation, record
//! protection and the RSA server key. No connection state and no I/O beyond reading key
//! files; `connection.rs` decides which record goes to which [`RecordDecrypter`].
//!
//! Why: with a key log (`SSLKEYLOGFILE`, RFC 9850) or, for RSA key exchange, the server's
//! private key, a passive sensor can read HTTP inside TLS and run its rules on it.
//!
//! How the parts fit:
//! - [`KeyLog`] reads NSS key-log files (and live appends to them) into [`SessionSecrets`]
//!   keyed by ClientHello.random.
//! - [`cipher_suite`] gives the [`CipherSuite`] of the ServerHello's suite id: sizes, hashes,
//!   record protection. Suites outside the table are not decryptable (no RC4, 3DES, CCM).
//! - [`schedule`]: the TLS ≤ 1.2 PRF ([`tls12_master_secret`], [`transcript_hash`],
//!   [`tls12_verify_data`], key block) and TLS 1.3 HKDF-Expand-Label.
//! - [`RecordDecrypter`] holds one direction's keys and sequence number and opens records:
//!   TLS 1.2 AES-GCM / ChaCha20-Poly1305, TLS 1.0–1.2 AES-CBC + HMAC (MAC-then-encrypt or
//!   encrypt-then-MAC, TLS 1.0 chained IV), TLS 1.3 AEAD with the inner content type and
//!   KeyUpdate.
//! - [`ServerKey`] decrypts an RSA ClientKeyExchange into the pre-master secret.
//!
//! All crypto is aws-lc-rs, except HMAC-MD5/SHA-1 for the TLS 1.0/1.1 PRF (RustCrypto `hmac`;
//! aws-lc-rs has no HMAC-MD5). Nothing here panics on outside data: key files and records
//! give errors ([`KeyLogError`], [`ServerKeyError`], [`DecryptError`]).
//!
//! Departures from the brief's API, and why:
//! - [`SessionSecrets`] has an extra `client_early_traffic` (CLIENT_EARLY_TRAFFIC_SECRET, for
//!   0-RTT records), and [`RecordDecrypter`] has extra accessors (`suite`, `version`,
//!   `set_sequence` for trial decryption after a gap).
//! - [`RecordDecrypter::open`] leaves `fragment` overwritten in an unspecified way when it
//!   fails (in-place decryption): keep a copy to try another key (0-RTT trial decryption).
//! - [`RecordDecrypter::open`] checks that the header's length field equals
//!   `fragment.len()` ([`DecryptError::LengthMismatch`]).
//! - [`KeyLog::add_file`]: an unterminated last line (a writer may be mid-line) is applied if
//!   it parses and is kept for [`KeyLog::refresh`] either way, never an error; when more
//!   bytes complete it later, the completed line is parsed again and replaces it.
//! - [`ServerKey`]: aws-lc-rs accepts RSA keys of 2048 to 8192 bits only; a 1024-bit key is
//!   refused at load with [`ServerKeyError::Rejected`]. Extras: `from_pem` (keys in memory),
//!   `path`, and `public_key_der` (SubjectPublicKeyInfo DER, to check that a key belongs to
//!   the server certificate before trying it). In `FILE@IP:PORT` the last `@` splits; a tail
//!   that is not an address is an error unless the whole spec names an existing file.
//! - [`MacHash`] and [`PrfHash`] have `output_len()` (not `len()`, which clippy wants paired
//!   with `is_empty`); [`CipherSuite`] has `mac_len`, `key_block_iv_len`, `key_block_len`;
//!   [`schedule`] also exposes `prf`, `key_block` and `hkdf_expand_label` (the bench and
//!   TLS 1.3 Finished checks use them).

pub mod keylog;
pub mod protection;
pub mod rsa;
pub mod schedule;
pub mod suite;
#[cfg(test)]
mod tests;

pub use keylog::{KeyLog, KeyLogError, LineError, SessionSecrets};
pub use protection::RecordDecrypter;
pub use rsa::{ServerKey, ServerKeyError};
pub use schedule::{tls12_master_secret, tls12_verify_data, transcript_hash};
pub use suite::{cipher_suite, CipherSuite, MacHash, PrfHash, Protection};

/// Why a key could not be derived or a record not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    /// The record is shorter than its explicit nonce, tag, IV, MAC and padding need, or a CBC
    /// ciphertext is not a whole number of blocks.
    #[error("record too short for its protection")]
    TooShort,
    /// The header's length field differs from the fragment's length.
    #[error("record header length differs from the fragment length")]
    LengthMismatch,
    /// The AEAD tag or the HMAC did not verify: wrong key, wrong sequence number, or damage.
    #[error("record authentication failed (bad tag or MAC)")]
    BadRecordMac,
    /// CBC padding is not p+1 bytes equal to p.
    #[error("bad CBC padding")]
    BadPadding,
    /// A TLS 1.3 inner plaintext with no non-zero byte (no content type).
    #[error("TLS 1.3 record without a content type")]
    NoContentType,
    /// The protocol version cannot be used with this suite (SSL 3.0; AEAD below TLS 1.2; a
    /// TLS 1.3 suite through the TLS 1.2 path or the reverse).
    #[error("protocol version {0:#06x} not supported with this cipher suite")]
    UnsupportedVersion(u16),
    /// A secret whose length does not fit the suite.
    #[error("secret of {0} bytes does not fit the cipher suite")]
    BadSecretLength(usize),
    /// KeyUpdate asked of a TLS ≤ 1.2 state.
    #[error("KeyUpdate exists only in TLS 1.3")]
    NotTls13,
    /// The crypto library refused an operation (should not happen with valid sizes).
    #[error("crypto library error")]
    Crypto,
}
