//! Record decryption cost: `RecordDecrypter::open` on full 16 KiB records, for TLS 1.3 and
//! TLS 1.2 AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305, and TLS 1.2 AES-128-CBC with
//! HMAC-SHA256 (MAC-then-encrypt). Target (issue 10): AES-GCM at 1 GB/s or more per core.
//!
//! Each iteration copies the sealed record into the buffer (decryption is in place) and
//! resets the sequence number, so the copy (16 KiB, a few hundred ns) is part of the figure.

use std::hint::black_box;

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{EncryptingKey, EncryptionContext, UnboundCipherKey, AES_128};
use aws_lc_rs::hmac;
use aws_lc_rs::iv::FixedLength;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use exhound::tls::decrypt::schedule::{hkdf_expand_label, key_block};
use exhound::tls::decrypt::{cipher_suite, CipherSuite, Protection, RecordDecrypter};

const RECORD: usize = 16 << 10;
const CR: [u8; 32] = [1; 32];
const SR: [u8; 32] = [2; 32];
const MASTER: [u8; 48] = [3; 48];

fn aead_alg(suite: &CipherSuite) -> &'static aead::Algorithm {
    match (suite.protection, suite.key_len) {
        (Protection::ChaCha20Poly1305, _) => &aead::CHACHA20_POLY1305,
        (_, 16) => &aead::AES_128_GCM,
        _ => &aead::AES_256_GCM,
    }
}

fn header(ty: u8, len: usize) -> [u8; 5] {
    let len = u16::try_from(len).expect("record length").to_be_bytes();
    [ty, 3, 3, len[0], len[1]]
}

/// A TLS 1.3 record of `RECORD` bytes of application data, sequence 0.
fn tls13(id: u16) -> (RecordDecrypter, [u8; 5], Vec<u8>) {
    let suite = cipher_suite(id).expect("suite");
    let secret = vec![7u8; suite.prf.output_len()];
    let key = hkdf_expand_label(suite.prf, &secret, b"key", b"", suite.key_len).expect("key");
    let iv: [u8; 12] = hkdf_expand_label(suite.prf, &secret, b"iv", b"", 12)
        .expect("iv")
        .try_into()
        .expect("12 bytes");
    let key = LessSafeKey::new(UnboundKey::new(aead_alg(suite), &key).expect("key"));
    let mut body = vec![0x61u8; RECORD];
    body.push(23);
    let h = header(23, body.len() + 16);
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(iv), Aad::from(h), &mut body)
        .expect("seal");
    let d = RecordDecrypter::tls13(suite, &secret).expect("decrypter");
    (d, h, body)
}

/// A TLS 1.2 record of `RECORD` bytes of application data from the client, sequence 0.
fn tls12(id: u16) -> (RecordDecrypter, [u8; 5], Vec<u8>) {
    let suite = cipher_suite(id).expect("suite");
    let kb = key_block(0x0303, suite, &MASTER, &CR, &SR).expect("key block");
    let (m, k) = (suite.mac_len(), suite.key_len);
    let (key, iv) = (&kb[2 * m..2 * m + k], &kb[2 * m + 2 * k..]);
    let seq = 0u64.to_be_bytes();
    let body = match suite.protection {
        Protection::AesCbc => {
            let mut plain = vec![0x61u8; RECORD];
            let mut ctx = hmac::Context::with_key(&hmac::Key::new(hmac::HMAC_SHA256, &kb[..m]));
            ctx.update(&seq);
            ctx.update(&header(23, RECORD)[..]);
            ctx.update(&plain);
            plain.extend_from_slice(ctx.sign().as_ref());
            let pad = 15 - plain.len() % 16;
            plain.resize(plain.len() + pad + 1, pad as u8);
            let explicit_iv = [9u8; 16];
            EncryptingKey::cbc(UnboundCipherKey::new(&AES_128, key).expect("key"))
                .expect("cbc")
                .less_safe_encrypt(
                    &mut plain,
                    EncryptionContext::Iv128(FixedLength::from(explicit_iv)),
                )
                .expect("encrypt");
            let mut body = explicit_iv.to_vec();
            body.extend(plain);
            body
        }
        p => {
            let key = LessSafeKey::new(UnboundKey::new(aead_alg(suite), key).expect("key"));
            let mut nonce = [0u8; 12];
            let explicit = [5u8; 8];
            if p == Protection::AesGcm {
                nonce[..4].copy_from_slice(&iv[..4]);
                nonce[4..].copy_from_slice(&explicit);
            } else {
                nonce.copy_from_slice(&iv[..12]);
            }
            let mut aad = seq.to_vec();
            aad.extend_from_slice(&header(23, RECORD)[..]);
            let mut plain = vec![0x61u8; RECORD];
            key.seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut plain,
            )
            .expect("seal");
            let mut body = Vec::new();
            if p == Protection::AesGcm {
                body.extend_from_slice(&explicit);
            }
            body.extend(plain);
            body
        }
    };
    let [d, _] =
        RecordDecrypter::tls12(suite, 0x0303, &MASTER, &CR, &SR, false).expect("decrypter");
    (d, header(23, body.len()), body)
}

fn decrypt(c: &mut Criterion) {
    let mut g = c.benchmark_group("decrypt");
    g.throughput(Throughput::Bytes(RECORD as u64));
    let cases = [
        ("tls13-aes128gcm", tls13(0x1301)),
        ("tls13-aes256gcm", tls13(0x1302)),
        ("tls13-chacha20", tls13(0x1303)),
        ("tls12-aes128gcm", tls12(0xC02F)),
        ("tls12-aes256gcm", tls12(0xC030)),
        ("tls12-chacha20", tls12(0xCCA8)),
        ("tls12-aes128cbc-sha256", tls12(0xC027)),
    ];
    for (name, (mut d, h, sealed)) in cases {
        let mut buf = sealed.clone();
        // the record opens (else the bench would measure the failure path)
        let (ty, plain) = d.open(&h, &mut buf).expect("record opens");
        assert_eq!((ty, plain.len()), (23, RECORD), "{name}");
        g.bench_function(name, |b| {
            b.iter(|| {
                buf.copy_from_slice(&sealed);
                d.set_sequence(0);
                let (ty, plain) = d.open(&h, black_box(&mut buf)).expect("opens");
                black_box((ty, plain.len()))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, decrypt);
criterion_main!(benches);
