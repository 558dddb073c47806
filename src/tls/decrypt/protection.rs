//! Record protection of one direction: keys, sequence number and, for TLS 1.0 CBC, the
//! chained IV. [`RecordDecrypter::open`] authenticates and decrypts one record in place.
//!
//! Invariant: the state (sequence number, chained IV) changes only when a record opens;
//! a failed record leaves it as it was, so the caller can retry with another state.

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{self, DecryptingKey, DecryptionContext, UnboundCipherKey};
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::{constant_time, hmac};

use super::schedule::{hkdf_expand_label, key_block};
use super::suite::{CipherSuite, MacHash, Protection};
use super::DecryptError;

/// AEAD tag length (GCM and Poly1305).
const TAG_LEN: usize = 16;
/// TLS 1.2 GCM explicit nonce length.
const EXPLICIT_NONCE_LEN: usize = 8;
/// AES block length.
const BLOCK: usize = 16;

/// One direction's record protection: keys, sequence number, (TLS 1.0 CBC) the chained IV.
pub struct RecordDecrypter {
    suite: &'static CipherSuite,
    version: u16,
    seq: u64,
    keys: Keys,
    /// TLS 1.3: the current traffic secret, for KeyUpdate.
    secret: Option<Vec<u8>>,
}

enum Keys {
    Aead {
        key: LessSafeKey,
        /// TLS 1.2 GCM: the 4-byte salt in `iv[..4]`; otherwise the 12-byte write IV.
        iv: [u8; 12],
    },
    Cbc(Box<CbcKeys>),
}

struct CbcKeys {
    key: DecryptingKey,
    mac_key: hmac::Key,
    mac_len: usize,
    /// TLS 1.0: the IV of the next record (the previous record's last ciphertext block).
    chained_iv: Option<[u8; BLOCK]>,
    encrypt_then_mac: bool,
}

impl std::fmt::Debug for RecordDecrypter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordDecrypter")
            .field("suite", &self.suite.name)
            .field("version", &format_args!("{:#06x}", self.version))
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

fn aead_key(suite: &CipherSuite, key: &[u8], iv_bytes: &[u8]) -> Result<Keys, DecryptError> {
    let alg = match (suite.protection, key.len()) {
        (Protection::AesGcm, 16) => &aead::AES_128_GCM,
        (Protection::AesGcm, 32) => &aead::AES_256_GCM,
        (Protection::ChaCha20Poly1305, 32) => &aead::CHACHA20_POLY1305,
        _ => return Err(DecryptError::Crypto),
    };
    let key = LessSafeKey::new(UnboundKey::new(alg, key).map_err(|_| DecryptError::Crypto)?);
    let mut iv = [0u8; 12];
    iv.get_mut(..iv_bytes.len())
        .ok_or(DecryptError::Crypto)?
        .copy_from_slice(iv_bytes);
    Ok(Keys::Aead { key, iv })
}

fn hmac_alg(mac: MacHash) -> hmac::Algorithm {
    match mac {
        MacHash::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        MacHash::Sha256 => hmac::HMAC_SHA256,
        MacHash::Sha384 => hmac::HMAC_SHA384,
    }
}

impl RecordDecrypter {
    /// TLS 1.0–1.2: both directions' states from the master secret; returns
    /// `[client_write, server_write]`. `encrypt_then_mac` (RFC 7366, both hellos carried
    /// extension 22) matters only for CBC suites. AEAD suites need TLS 1.2.
    pub fn tls12(
        suite: &'static CipherSuite,
        version: u16,
        master_secret: &[u8; 48],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
        encrypt_then_mac: bool,
    ) -> Result<[RecordDecrypter; 2], DecryptError> {
        let aead = suite.protection != Protection::AesCbc;
        if suite.tls13 || !(0x0301..=0x0303).contains(&version) || (aead && version != 0x0303) {
            return Err(DecryptError::UnsupportedVersion(version));
        }
        let kb = key_block(version, suite, master_secret, client_random, server_random)?;
        let (mac_len, key_len, iv_len) = (
            suite.mac_len(),
            suite.key_len,
            suite.key_block_iv_len(version),
        );
        // client MAC | server MAC | client key | server key | client IV | server IV
        let mut parts = [0usize; 6];
        let lens = [mac_len, mac_len, key_len, key_len, iv_len, iv_len];
        let mut at = 0;
        for (p, l) in parts.iter_mut().zip(lens) {
            *p = at;
            at += l;
        }
        let slice = |i: usize| {
            kb.get(parts[i]..parts[i] + lens[i])
                .ok_or(DecryptError::Crypto)
        };
        let make = |side: usize| -> Result<RecordDecrypter, DecryptError> {
            let (mac_key, key, iv) = (slice(side)?, slice(2 + side)?, slice(4 + side)?);
            let keys = match (suite.protection, suite.mac) {
                (Protection::AesCbc, Some(mac)) => {
                    let alg = match key_len {
                        16 => &cipher::AES_128,
                        32 => &cipher::AES_256,
                        _ => return Err(DecryptError::Crypto),
                    };
                    let key = UnboundCipherKey::new(alg, key)
                        .and_then(DecryptingKey::cbc)
                        .map_err(|_| DecryptError::Crypto)?;
                    let chained_iv = if iv.len() == BLOCK {
                        let mut b = [0u8; BLOCK];
                        b.copy_from_slice(iv);
                        Some(b)
                    } else {
                        None
                    };
                    Keys::Cbc(Box::new(CbcKeys {
                        key,
                        mac_key: hmac::Key::new(hmac_alg(mac), mac_key),
                        mac_len,
                        chained_iv,
                        encrypt_then_mac,
                    }))
                }
                _ => aead_key(suite, key, iv)?,
            };
            Ok(RecordDecrypter {
                suite,
                version,
                seq: 0,
                keys,
                secret: None,
            })
        };
        Ok([make(0)?, make(1)?])
    }

    /// TLS 1.3: from a traffic secret (handshake or application), sequence 0.
    pub fn tls13(
        suite: &'static CipherSuite,
        traffic_secret: &[u8],
    ) -> Result<RecordDecrypter, DecryptError> {
        if !suite.tls13 {
            return Err(DecryptError::UnsupportedVersion(0x0304));
        }
        if traffic_secret.len() != suite.prf.output_len() {
            return Err(DecryptError::BadSecretLength(traffic_secret.len()));
        }
        Ok(RecordDecrypter {
            suite,
            version: 0x0304,
            seq: 0,
            keys: Self::tls13_keys(suite, traffic_secret)?,
            secret: Some(traffic_secret.to_vec()),
        })
    }

    fn tls13_keys(suite: &CipherSuite, secret: &[u8]) -> Result<Keys, DecryptError> {
        let key = hkdf_expand_label(suite.prf, secret, b"key", b"", suite.key_len)?;
        let iv = hkdf_expand_label(suite.prf, secret, b"iv", b"", 12)?;
        aead_key(suite, &key, &iv)
    }

    /// TLS 1.3 KeyUpdate: the next traffic secret ("traffic upd"), new key and IV, sequence 0.
    pub fn update_traffic_secret(&mut self) -> Result<(), DecryptError> {
        let secret = self.secret.as_ref().ok_or(DecryptError::NotTls13)?;
        let next = hkdf_expand_label(self.suite.prf, secret, b"traffic upd", b"", secret.len())?;
        self.keys = Self::tls13_keys(self.suite, &next)?;
        self.secret = Some(next);
        self.seq = 0;
        Ok(())
    }

    /// The sequence number of the next record.
    pub fn sequence(&self) -> u64 {
        self.seq
    }

    /// Sets the sequence number of the next record (to try seq+k after a lost record under an
    /// AEAD: only the tag confirms).
    pub fn set_sequence(&mut self, seq: u64) {
        self.seq = seq;
    }

    /// The suite.
    pub fn suite(&self) -> &'static CipherSuite {
        self.suite
    }

    /// The protocol version (0x0301–0x0303, or 0x0304 for TLS 1.3).
    pub fn version(&self) -> u16 {
        self.version
    }

    /// Decrypts and authenticates one record. `header`: the 5-byte record header as on the
    /// wire; `fragment`: the record body, decrypted in place. Returns the content type (TLS
    /// 1.3: the inner type, padding removed) and the plaintext (a sub-slice of `fragment`).
    /// The sequence number advances only on success; a failure (bad tag/MAC/padding, too
    /// short, TLS 1.3 all-zero inner plaintext) is an error and leaves the state as it was,
    /// but `fragment` may have been overwritten.
    pub fn open<'a>(
        &mut self,
        header: &[u8; 5],
        fragment: &'a mut [u8],
    ) -> Result<(u8, &'a [u8]), DecryptError> {
        if usize::from(u16::from_be_bytes([header[3], header[4]])) != fragment.len() {
            return Err(DecryptError::LengthMismatch);
        }
        let seq = self.seq;
        let out = if self.version == 0x0304 {
            self.open_tls13(header, fragment)?
        } else {
            match &self.keys {
                Keys::Aead { key, iv } => {
                    open_tls12_aead(key, iv, self.suite, seq, header, fragment)?
                }
                Keys::Cbc(_) => self.open_cbc(header, fragment)?,
            }
        };
        self.seq = seq.wrapping_add(1);
        Ok(out)
    }

    fn open_tls13<'a>(
        &self,
        header: &[u8; 5],
        fragment: &'a mut [u8],
    ) -> Result<(u8, &'a [u8]), DecryptError> {
        let Keys::Aead { key, iv } = &self.keys else {
            return Err(DecryptError::Crypto);
        };
        if fragment.len() < TAG_LEN {
            return Err(DecryptError::TooShort);
        }
        let nonce = xor_nonce(iv, self.seq);
        let plain = key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(header),
                fragment,
            )
            .map_err(|_| DecryptError::BadRecordMac)?;
        // content || type || zeros: the last non-zero byte is the type.
        let end = plain
            .iter()
            .rposition(|&b| b != 0)
            .ok_or(DecryptError::NoContentType)?;
        let plain: &'a [u8] = plain;
        Ok((plain[end], &plain[..end]))
    }

    fn open_cbc<'a>(
        &mut self,
        header: &[u8; 5],
        fragment: &'a mut [u8],
    ) -> Result<(u8, &'a [u8]), DecryptError> {
        let seq = self.seq;
        let Keys::Cbc(cbc) = &mut self.keys else {
            return Err(DecryptError::Crypto);
        };
        let CbcKeys {
            key,
            mac_key,
            mac_len,
            chained_iv,
            encrypt_then_mac,
        } = &mut **cbc;
        let mac_len = *mac_len;
        let explicit_iv = if chained_iv.is_some() { 0 } else { BLOCK };
        let content_type = header[0];
        let mut mac_header = [0u8; 13];
        mac_header[..8].copy_from_slice(&seq.to_be_bytes());
        mac_header[8..11].copy_from_slice(&header[..3]);

        if *encrypt_then_mac {
            // IV || E(content || padding || padding_length) || MAC; the MAC covers IV || ct.
            let Some(body_len) = fragment.len().checked_sub(mac_len) else {
                return Err(DecryptError::TooShort);
            };
            let ct_len = body_len.saturating_sub(explicit_iv);
            if ct_len < BLOCK || ct_len % BLOCK != 0 {
                return Err(DecryptError::TooShort);
            }
            let len16 = u16::try_from(body_len).map_err(|_| DecryptError::TooShort)?;
            mac_header[11..].copy_from_slice(&len16.to_be_bytes());
            let (body, mac) = fragment.split_at_mut(body_len);
            let mut ctx = hmac::Context::with_key(mac_key);
            ctx.update(&mac_header);
            ctx.update(body);
            constant_time::verify_slices_are_equal(ctx.sign().as_ref(), mac)
                .map_err(|_| DecryptError::BadRecordMac)?;
            let (next_iv, plain) = cbc_decrypt(key, chained_iv, explicit_iv, body)?;
            let pad = check_padding(plain, 0)?;
            let content_len = plain.len() - pad;
            if chained_iv.is_some() {
                *chained_iv = Some(next_iv);
            }
            let plain: &'a [u8] = plain;
            return Ok((content_type, &plain[..content_len]));
        }

        // IV || E(content || MAC || padding || padding_length)
        let ct_len = fragment.len().saturating_sub(explicit_iv);
        if ct_len < BLOCK || ct_len % BLOCK != 0 || ct_len < mac_len + 1 {
            return Err(DecryptError::TooShort);
        }
        let (next_iv, plain) = cbc_decrypt(key, chained_iv, explicit_iv, fragment)?;
        let pad = check_padding(plain, mac_len)?;
        let content_len = plain.len() - pad - mac_len;
        let len16 = u16::try_from(content_len).map_err(|_| DecryptError::TooShort)?;
        mac_header[11..].copy_from_slice(&len16.to_be_bytes());
        let (content, rest) = plain.split_at(content_len);
        let mut ctx = hmac::Context::with_key(mac_key);
        ctx.update(&mac_header);
        ctx.update(content);
        constant_time::verify_slices_are_equal(ctx.sign().as_ref(), &rest[..mac_len])
            .map_err(|_| DecryptError::BadRecordMac)?;
        if chained_iv.is_some() {
            *chained_iv = Some(next_iv);
        }
        let plain: &'a [u8] = plain;
        Ok((content_type, &plain[..content_len]))
    }
}

/// TLS 1.2 AEAD: GCM reads the explicit nonce from the record, ChaCha20 XORs the sequence
/// number into the IV (RFC 7905). AAD = seq || type || version || plaintext length.
fn open_tls12_aead<'a>(
    key: &LessSafeKey,
    iv: &[u8; 12],
    suite: &CipherSuite,
    seq: u64,
    header: &[u8; 5],
    fragment: &'a mut [u8],
) -> Result<(u8, &'a [u8]), DecryptError> {
    let (nonce, body) = if suite.protection == Protection::AesGcm {
        if fragment.len() < EXPLICIT_NONCE_LEN + TAG_LEN {
            return Err(DecryptError::TooShort);
        }
        let mut nonce = [0u8; 12];
        nonce[..4].copy_from_slice(&iv[..4]);
        nonce[4..].copy_from_slice(&fragment[..EXPLICIT_NONCE_LEN]);
        (nonce, &mut fragment[EXPLICIT_NONCE_LEN..])
    } else {
        if fragment.len() < TAG_LEN {
            return Err(DecryptError::TooShort);
        }
        (xor_nonce(iv, seq), fragment)
    };
    let plain_len = u16::try_from(body.len() - TAG_LEN).map_err(|_| DecryptError::TooShort)?;
    let mut aad = [0u8; 13];
    aad[..8].copy_from_slice(&seq.to_be_bytes());
    aad[8..11].copy_from_slice(&header[..3]);
    aad[11..].copy_from_slice(&plain_len.to_be_bytes());
    let plain = key
        .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), body)
        .map_err(|_| DecryptError::BadRecordMac)?;
    Ok((header[0], plain))
}

/// The 12-byte nonce `iv XOR seq` (seq big-endian, right-aligned): RFC 8446 §5.3, RFC 7905.
fn xor_nonce(iv: &[u8; 12], seq: u64) -> [u8; 12] {
    let mut nonce = *iv;
    for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
        *n ^= s;
    }
    nonce
}

/// CBC-decrypts `data[explicit_iv..]` in place with the IV `data[..explicit_iv]` (TLS 1.1+)
/// or `chained_iv` (TLS 1.0). Returns the last ciphertext block (the next TLS 1.0 IV) and
/// the plaintext.
fn cbc_decrypt<'a>(
    key: &DecryptingKey,
    chained_iv: &Option<[u8; BLOCK]>,
    explicit_iv: usize,
    data: &'a mut [u8],
) -> Result<([u8; BLOCK], &'a mut [u8]), DecryptError> {
    let (iv_part, ct) = data.split_at_mut(explicit_iv);
    let iv: [u8; BLOCK] = match chained_iv {
        Some(iv) => *iv,
        None => iv_part.try_into().map_err(|_| DecryptError::TooShort)?,
    };
    let mut last = [0u8; BLOCK];
    let tail = ct.len().checked_sub(BLOCK).ok_or(DecryptError::TooShort)?;
    last.copy_from_slice(&ct[tail..]);
    let plain = key
        .decrypt(ct, DecryptionContext::Iv128(FixedLength::from(iv)))
        .map_err(|_| DecryptError::Crypto)?;
    Ok((last, plain))
}

/// Checks TLS CBC padding at the end of `plain` (p+1 bytes equal to p, not PKCS#7), leaving
/// at least `reserve` bytes before it (the MAC). Returns the padding length including the
/// length byte. The check looks at every candidate byte, to not leak the padding length.
fn check_padding(plain: &[u8], reserve: usize) -> Result<usize, DecryptError> {
    let last = *plain.last().ok_or(DecryptError::TooShort)?;
    let pad = usize::from(last) + 1;
    if pad + reserve > plain.len() {
        return Err(DecryptError::BadPadding);
    }
    let bad = plain[plain.len() - pad..]
        .iter()
        .fold(0u8, |acc, &b| acc | (b ^ last));
    if bad != 0 {
        return Err(DecryptError::BadPadding);
    }
    Ok(pad)
}

#[cfg(test)]
mod tests {
    use super::super::schedule::{hkdf_expand_label, key_block};
    use super::super::suite::cipher_suite;
    use super::*;
    use crate::tls::testpeer::hex;
    use aws_lc_rs::cipher::{EncryptingKey, EncryptionContext};

    /// Opens a whole record (header included) as it came from the wire.
    fn open_record(d: &mut RecordDecrypter, record: &[u8]) -> Result<(u8, Vec<u8>), DecryptError> {
        let header: [u8; 5] = record[..5].try_into().expect("header");
        let mut body = record[5..].to_vec();
        d.open(&header, &mut body).map(|(t, p)| (t, p.to_vec()))
    }

    // RFC 8448 §3 (Simple 1-RTT Handshake).
    const S_HS_SECRET: &str = "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38";
    const C_HS_SECRET: &str = "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21";
    const C_AP_SECRET: &str = "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5";
    const S_AP_SECRET: &str = "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643";
    const S_FLIGHT: &str = "17030302a2d1ff334a56f5bff6594a07cc87b580233f500f45e489e7f33af35e
        df7869fcf40aa40aa2b8ea73f848a7ca07612ef9f945cb960b4068905123ea78
        b111b429ba9191cd05d2a389280f526134aadc7fc78c4b729df828b5ecf7b13b
        d9aefb0e57f271585b8ea9bb355c7c79020716cfb9b1183ef3ab20e37d57a6b9
        d7477609aee6e122a4cf51427325250c7d0e509289444c9b3a648f1d71035d2e
        d65b0e3cdd0cbae8bf2d0b227812cbb360987255cc744110c453baa4fcd61092
        8d809810e4b7ed1a8fd991f06aa6248204797e36a6a73b70a2559c09ead68694
        5ba246ab66e5edd8044b4c6de3fcf2a89441ac66272fd8fb330ef8190579b368
        4596c960bd596eea520a56a8d650f563aad27409960dca63d3e688611ea5e22f
        4415cf9538d51a200c27034272968a264ed6540c84838d89f72c24461aad6d26
        f59ecaba9acbbb317b66d902f4f292a36ac1b639c637ce343117b65962224531
        7b49eeda0c6258f100d7d961ffb138647e92ea330faeea6dfa31c7a84dc3bd7e
        1b7a6c7178af36879018e3f252107f243d243dc7339d5684c8b0378bf30244da
        8c87c843f5e56eb4c5e8280a2b48052cf93b16499a66db7cca71e4599426f7d4
        61e66f99882bd89fc50800becca62d6c74116dbd2972fda1fa80f85df881edbe
        5a37668936b335583b599186dc5c6918a396fa48a181d6b6fa4f9d62d513afbb
        992f2b992f67f8afe67f76913fa388cb5630c8ca01e0c65d11c66a1e2ac4c859
        77b7c7a6999bbf10dc35ae69f5515614636c0b9b68c19ed2e31c0b3b66763038
        ebba42f3b38edc0399f3a9f23faa63978c317fc9fa66a73f60f0504de93b5b84
        5e275592c12335ee340bbc4fddd502784016e4b3be7ef04dda49f4b440a30cb5
        d2af939828fd4ae3794e44f94df5a631ede42c1719bfdabf0253fe5175be898e
        750edc53370d2b";
    const C_FINISHED: &str = "170303003575ec4dc238cce60b298044a71e219c56cc77b0517fe9b93c7a4bfc44
        d87f38f80338ac98fc46deb384bd1caeacab6867d726c40546";
    const S_NST: &str = "17030300de3a6b8f90414a97d6959c3487680de5134a2b240e6cffac116e95d41d6a
        f8f6b580dcf3d11d63c758db289a015940252f55713e061dc13e078891a38efbcf5753ad8ef170ad3c
        7353d16d9da773b9ca7f2b9fa1b6c0d4a3d03f75e09c30ba1e62972ac46f75f7b981be63439b2999ce
        13064615139891d5e4c5b406f16e3fc181a77ca475840025db2f0a77f81b5ab05b94c01346755f6923
        2c86519d86cbeeac87aac347d143f9605d64f650db4d023e70e952ca49fe5137121c74bc2697687e24
        8746d6df353005f3bce18696129c8153556b3b6c6779b37bf15985684f";
    const C_DATA: &str = "1703030043a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f2b98
        19a8a5b46b395bd54a9a20441e2b62974e1f5a6292a2977014bd1e3deae63aeebb21694915e4";
    const S_DATA: &str = "17030300432e937e11ef4ac740e538ad36005fc4a46932fc3225d05f82aa1b36e30e
        faf97d90e6dffc602dcb501a59a8fcc49c4bf2e5f0a21c0047c2abf332540dd032e167c2955d";
    const C_ALERT: &str = "1703030013c9872760655666b74d7ff1153efd6db6d0b0e3";

    #[test]
    fn rfc8448_simple_1rtt() {
        let suite = cipher_suite(0x1301).expect("suite");
        // server handshake flight: EE, Certificate, CertificateVerify, Finished
        let mut s_hs = RecordDecrypter::tls13(suite, &hex(S_HS_SECRET)).expect("keys");
        let (t, flight) = open_record(&mut s_hs, &hex(S_FLIGHT)).expect("server flight opens");
        assert_eq!(t, 22);
        assert_eq!(flight.len(), 657);
        assert_eq!(&flight[..4], &[0x08, 0, 0, 0x24]);
        assert_eq!(
            &flight[flight.len() - 36..flight.len() - 32],
            &[0x14, 0, 0, 0x20]
        );
        assert_eq!(s_hs.sequence(), 1);
        // client Finished under the client handshake secret
        let mut c_hs = RecordDecrypter::tls13(suite, &hex(C_HS_SECRET)).expect("keys");
        let (t, fin) = open_record(&mut c_hs, &hex(C_FINISHED)).expect("client finished opens");
        assert_eq!((t, fin.len(), &fin[..4]), (22, 36, &[0x14, 0, 0, 0x20][..]));
        // server: NewSessionTicket (seq 0), then 50 bytes of data (seq 1)
        let mut s_ap = RecordDecrypter::tls13(suite, &hex(S_AP_SECRET)).expect("keys");
        let (t, nst) = open_record(&mut s_ap, &hex(S_NST)).expect("NST opens");
        assert_eq!(
            (t, nst.len(), &nst[..4]),
            (22, 205, &[0x04, 0, 0, 0xc9][..])
        );
        let (t, data) = open_record(&mut s_ap, &hex(S_DATA)).expect("server data opens");
        assert_eq!((t, data), (23, (0u8..0x32).collect::<Vec<_>>()));
        // client: 50 bytes of data (seq 0), then close_notify (seq 1)
        let mut c_ap = RecordDecrypter::tls13(suite, &hex(C_AP_SECRET)).expect("keys");
        let (t, data) = open_record(&mut c_ap, &hex(C_DATA)).expect("client data opens");
        assert_eq!((t, data), (23, (0u8..0x32).collect::<Vec<_>>()));
        assert_eq!(open_record(&mut c_ap, &hex(C_ALERT)), Ok((21, vec![1, 0])));
        assert_eq!(c_ap.sequence(), 2);
    }

    #[test]
    fn failures_leave_the_state_alone() {
        let suite = cipher_suite(0x1301).expect("suite");
        let mut d = RecordDecrypter::tls13(suite, &hex(S_AP_SECRET)).expect("keys");
        // the data record is sequence 1: opening it first fails and changes nothing
        assert_eq!(
            open_record(&mut d, &hex(S_DATA)),
            Err(DecryptError::BadRecordMac)
        );
        assert_eq!(d.sequence(), 0);
        let mut bad = hex(S_NST);
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(open_record(&mut d, &bad), Err(DecryptError::BadRecordMac));
        assert!(open_record(&mut d, &hex(S_NST)).is_ok());
        // skipping a record: set_sequence
        let mut e = RecordDecrypter::tls13(suite, &hex(S_AP_SECRET)).expect("keys");
        e.set_sequence(1);
        assert!(open_record(&mut e, &hex(S_DATA)).is_ok());
        // too short, length mismatch
        assert_eq!(
            open_record(
                &mut e,
                &[23, 3, 3, 0, 15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
            ),
            Err(DecryptError::TooShort)
        );
        let mut body = [0u8; 20];
        assert_eq!(
            e.open(&[23, 3, 3, 0, 21], &mut body),
            Err(DecryptError::LengthMismatch)
        );
        // wrong secret sizes and versions
        assert!(matches!(
            RecordDecrypter::tls13(suite, &[0; 48]),
            Err(DecryptError::BadSecretLength(48))
        ));
        let tls12 = cipher_suite(0xC02F).expect("suite");
        assert!(RecordDecrypter::tls13(tls12, &[0; 32]).is_err());
        assert!(
            RecordDecrypter::tls12(suite, 0x0303, &[0; 48], &[0; 32], &[0; 32], false).is_err()
        );
        assert!(
            RecordDecrypter::tls12(tls12, 0x0302, &[0; 48], &[0; 32], &[0; 32], false).is_err()
        );
        let cbc = cipher_suite(0x002F).expect("suite");
        assert!(RecordDecrypter::tls12(cbc, 0x0300, &[0; 48], &[0; 32], &[0; 32], false).is_err());
        let [mut c, _] =
            RecordDecrypter::tls12(cbc, 0x0303, &[0; 48], &[0; 32], &[0; 32], false).expect("keys");
        assert_eq!(c.update_traffic_secret(), Err(DecryptError::NotTls13));
    }

    /// Seals a TLS 1.3 record the way a sender does (RFC 8446 §5.2), with `pad` zeros.
    fn seal13(
        suite: &CipherSuite,
        secret: &[u8],
        seq: u64,
        ty: u8,
        content: &[u8],
        pad: usize,
    ) -> Vec<u8> {
        let key = hkdf_expand_label(suite.prf, secret, b"key", b"", suite.key_len).expect("key");
        let iv: [u8; 12] = hkdf_expand_label(suite.prf, secret, b"iv", b"", 12)
            .expect("iv")
            .try_into()
            .expect("12");
        let alg = match suite.protection {
            Protection::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
            _ if key.len() == 16 => &aead::AES_128_GCM,
            _ => &aead::AES_256_GCM,
        };
        let key = LessSafeKey::new(UnboundKey::new(alg, &key).expect("key"));
        let mut inner = content.to_vec();
        inner.push(ty);
        inner.resize(inner.len() + pad, 0);
        let len = u16::try_from(inner.len() + TAG_LEN).expect("len");
        let mut header = vec![23, 3, 3];
        header.extend_from_slice(&len.to_be_bytes());
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(xor_nonce(&iv, seq)),
            Aad::from(&header[..]),
            &mut inner,
        )
        .expect("seal");
        header.extend_from_slice(&inner);
        header
    }

    #[test]
    fn tls13_padding_zero_inner_and_key_update() {
        for id in [0x1301, 0x1302, 0x1303] {
            let suite = cipher_suite(id).expect("suite");
            let s0 = vec![0x42; suite.prf.output_len()];
            let mut d = RecordDecrypter::tls13(suite, &s0).expect("keys");
            // padding is removed, the inner type returned
            let r = seal13(suite, &s0, 0, 23, b"GET / HTTP/1.1\r\n", 100);
            assert_eq!(
                open_record(&mut d, &r),
                Ok((23, b"GET / HTTP/1.1\r\n".to_vec()))
            );
            // an inner plaintext of zeros only has no type
            let r = seal13(suite, &s0, 1, 0, b"", 10);
            assert_eq!(open_record(&mut d, &r), Err(DecryptError::NoContentType));
            assert_eq!(d.sequence(), 1);
            // the KeyUpdate message itself, then the next key at sequence 0
            let r = seal13(suite, &s0, 1, 22, &[24, 0, 0, 1, 0], 0);
            assert_eq!(open_record(&mut d, &r), Ok((22, vec![24, 0, 0, 1, 0])));
            d.update_traffic_secret().expect("update");
            assert_eq!(d.sequence(), 0);
            let s1 = hkdf_expand_label(suite.prf, &s0, b"traffic upd", b"", s0.len()).expect("s1");
            let r = seal13(suite, &s1, 0, 23, b"after", 0);
            assert_eq!(open_record(&mut d, &r), Ok((23, b"after".to_vec())));
            // the old key no longer opens
            let r = seal13(suite, &s0, 1, 23, b"old", 0);
            assert_eq!(open_record(&mut d, &r), Err(DecryptError::BadRecordMac));
        }
    }

    /// Builds TLS ≤ 1.2 CBC records (RFC 5246 §6.2.3.2, RFC 7366) for one direction.
    struct CbcSealer {
        version: u16,
        key: EncryptingKey,
        mac_key: hmac::Key,
        /// TLS 1.0: the chained IV.
        iv: Option<[u8; 16]>,
        etm: bool,
        seq: u64,
    }

    impl CbcSealer {
        /// The client_write side.
        fn client(
            suite: &CipherSuite,
            version: u16,
            master: &[u8; 48],
            cr: &[u8; 32],
            sr: &[u8; 32],
            etm: bool,
        ) -> CbcSealer {
            let kb = key_block(version, suite, master, cr, sr).expect("kb");
            let (m, k) = (suite.mac_len(), suite.key_len);
            let alg = if k == 16 {
                &cipher::AES_128
            } else {
                &cipher::AES_256
            };
            let key =
                EncryptingKey::cbc(UnboundCipherKey::new(alg, &kb[2 * m..2 * m + k]).expect("key"))
                    .expect("cbc");
            let iv = (version == 0x0301).then(|| {
                kb[2 * m + 2 * k..2 * m + 2 * k + 16]
                    .try_into()
                    .expect("iv")
            });
            CbcSealer {
                version,
                key,
                mac_key: hmac::Key::new(hmac_alg(suite.mac.expect("mac")), &kb[..m]),
                iv,
                etm,
                seq: 0,
            }
        }

        fn mac(&self, ty: u8, data: &[u8]) -> Vec<u8> {
            let mut ctx = hmac::Context::with_key(&self.mac_key);
            ctx.update(&self.seq.to_be_bytes());
            ctx.update(&[ty]);
            ctx.update(&self.version.to_be_bytes());
            ctx.update(&u16::try_from(data.len()).expect("len").to_be_bytes());
            ctx.update(data);
            ctx.sign().as_ref().to_vec()
        }

        /// `extra_pad` whole blocks of padding beyond the minimum.
        fn seal(&mut self, ty: u8, content: &[u8], extra_pad: usize) -> Vec<u8> {
            let mut plain = content.to_vec();
            if !self.etm {
                plain.extend(self.mac(ty, content));
            }
            let pad = 15 - plain.len() % 16 + 16 * extra_pad;
            plain.resize(plain.len() + pad + 1, u8::try_from(pad).expect("pad"));
            let iv: [u8; 16] = match self.iv {
                Some(iv) => iv,
                None => [self.seq as u8 ^ 0x5c; 16],
            };
            self.key
                .less_safe_encrypt(&mut plain, EncryptionContext::Iv128(FixedLength::from(iv)))
                .expect("encrypt");
            let mut body = Vec::new();
            if self.iv.is_some() {
                self.iv = Some(plain[plain.len() - 16..].try_into().expect("block"));
            } else {
                body.extend_from_slice(&iv);
            }
            body.extend_from_slice(&plain);
            if self.etm {
                let mac = self.mac(ty, &body);
                body.extend(mac);
            }
            self.seq += 1;
            let mut record = vec![ty];
            record.extend_from_slice(&self.version.to_be_bytes());
            record.extend_from_slice(&u16::try_from(body.len()).expect("len").to_be_bytes());
            record.extend(body);
            record
        }
    }

    #[test]
    fn cbc_all_versions_macs_and_etm() {
        let (master, cr, sr) = ([7u8; 48], [1u8; 32], [2u8; 32]);
        for id in [0x002F, 0x0035, 0x003C, 0xC014, 0xC023, 0xC028] {
            let suite = cipher_suite(id).expect("suite");
            for version in [0x0301, 0x0302, 0x0303] {
                for etm in [false, true] {
                    let what = format!("{} {version:#06x} etm={etm}", suite.name);
                    let mut sealer = CbcSealer::client(suite, version, &master, &cr, &sr, etm);
                    let [mut d, _] = RecordDecrypter::tls12(suite, version, &master, &cr, &sr, etm)
                        .expect("keys");
                    for (i, len) in [0usize, 1, 15, 16, 100, 16384].into_iter().enumerate() {
                        let content: Vec<u8> = (0..len).map(|b| (b * 7 + i) as u8).collect();
                        let r = sealer.seal(23, &content, i % 3);
                        assert_eq!(
                            open_record(&mut d, &r),
                            Ok((23, content)),
                            "{what} len {len}"
                        );
                    }
                    let r = sealer.seal(21, &[1, 0], 0);
                    assert_eq!(open_record(&mut d, &r), Ok((21, vec![1, 0])), "{what}");
                    assert_eq!(d.sequence(), 7);
                    // bad MAC: flip a bit of the EtM MAC, or of the first MtE ciphertext
                    // block (garbles the content, not the padding)
                    let mut r = sealer.seal(23, b"tamper me please, sixteen+ bytes", 0);
                    let at = if etm {
                        r.len() - 1
                    } else {
                        5 + usize::from(version > 0x0301) * 16
                    };
                    r[at] ^= 0x80;
                    assert_eq!(
                        open_record(&mut d, &r),
                        Err(DecryptError::BadRecordMac),
                        "{what}"
                    );
                    assert_eq!(d.sequence(), 7, "{what}");
                }
            }
        }
    }

    #[test]
    fn cbc_tls10_chained_iv_survives_a_failure() {
        let suite = cipher_suite(0x002F).expect("suite");
        let (master, cr, sr) = ([9u8; 48], [3u8; 32], [4u8; 32]);
        let mut sealer = CbcSealer::client(suite, 0x0301, &master, &cr, &sr, false);
        let [mut d, _] =
            RecordDecrypter::tls12(suite, 0x0301, &master, &cr, &sr, false).expect("keys");
        let r1 = sealer.seal(23, b"first record", 0);
        let r2 = sealer.seal(23, b"second record", 1);
        // r2 before r1: wrong IV and sequence, fails, nothing changes
        assert!(open_record(&mut d, &r2).is_err());
        assert_eq!(open_record(&mut d, &r1), Ok((23, b"first record".to_vec())));
        assert_eq!(
            open_record(&mut d, &r2),
            Ok((23, b"second record".to_vec()))
        );
    }

    #[test]
    fn cbc_bad_padding_and_short_records() {
        let suite = cipher_suite(0x003C).expect("suite");
        let (master, cr, sr) = ([5u8; 48], [6u8; 32], [7u8; 32]);
        let kb = key_block(0x0303, suite, &master, &cr, &sr).expect("kb");
        let key =
            EncryptingKey::cbc(UnboundCipherKey::new(&cipher::AES_128, &kb[64..80]).expect("k"))
                .expect("cbc");
        let mac_key = hmac::Key::new(hmac::HMAC_SHA256, &kb[..32]);
        // content(16) || MAC(32) || padding whose bytes differ: 15 bytes "3" then length 15
        let build = |pad_bytes: &[u8], etm: bool| {
            let content = [0x41u8; 16];
            let mut plain = content.to_vec();
            if !etm {
                let mut ctx = hmac::Context::with_key(&mac_key);
                ctx.update(&[0, 0, 0, 0, 0, 0, 0, 0, 23, 3, 3, 0, 16]);
                ctx.update(&content);
                plain.extend_from_slice(ctx.sign().as_ref());
            }
            plain.extend_from_slice(pad_bytes);
            let iv = [0x11u8; 16];
            key.less_safe_encrypt(&mut plain, EncryptionContext::Iv128(FixedLength::from(iv)))
                .expect("enc");
            let mut body = iv.to_vec();
            body.extend(plain);
            if etm {
                let mut ctx = hmac::Context::with_key(&mac_key);
                ctx.update(&[0, 0, 0, 0, 0, 0, 0, 0, 23, 3, 3]);
                ctx.update(&u16::try_from(body.len()).expect("len").to_be_bytes());
                ctx.update(&body.clone());
                body.extend_from_slice(ctx.sign().as_ref());
            }
            let mut r = vec![23, 3, 3];
            r.extend_from_slice(&u16::try_from(body.len()).expect("len").to_be_bytes());
            r.extend(body);
            r
        };
        let mut good = vec![15u8; 16];
        for etm in [false, true] {
            let [mut d, _] =
                RecordDecrypter::tls12(suite, 0x0303, &master, &cr, &sr, etm).expect("keys");
            let mut bad = good.clone();
            bad[3] = 14;
            assert_eq!(
                open_record(&mut d, &build(&bad, etm)),
                Err(DecryptError::BadPadding)
            );
            // PKCS#7-style padding (16 × 0x10) is one byte too long for TLS: bad
            assert_eq!(
                open_record(&mut d, &build(&[16u8; 16], etm)),
                Err(DecryptError::BadPadding)
            );
            assert_eq!(d.sequence(), 0);
            assert_eq!(
                open_record(&mut d, &build(&good, etm)),
                Ok((23, vec![0x41; 16]))
            );
            // not whole blocks, too short for IV + MAC
            assert_eq!(
                open_record(
                    &mut d,
                    &[23, 3, 3, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
                ),
                Err(DecryptError::TooShort)
            );
            let mut short = vec![23, 3, 3, 0, 32];
            short.extend([0u8; 32]);
            assert_eq!(open_record(&mut d, &short), Err(DecryptError::TooShort));
        }
        // padding longer than the record
        good[15] = 200;
        let [mut d, _] =
            RecordDecrypter::tls12(suite, 0x0303, &master, &cr, &sr, false).expect("keys");
        assert_eq!(
            open_record(&mut d, &build(&good, false)),
            Err(DecryptError::BadPadding)
        );
    }
}
