//! A real TLS stack against this module: rustls 0.23 (aws-lc-rs provider) client and server
//! talk in memory with a key log; the bytes each side wrote are cut into records and
//! decrypted with [`KeyLog`] and [`RecordDecrypter`] alone, as the sensor would see them.

use crate::tls::testpeer::{converse, Conversation};

use super::{
    cipher_suite, tls12_verify_data, transcript_hash, KeyLog, RecordDecrypter, SessionSecrets,
};

/// The plaintext decrypted from each side is what that side sent in `conv`.
fn assert_sent(conv: &Conversation, client: &[u8], server: &[u8], id: u16) {
    assert!(
        client == conv.client_sent,
        "{id:#06x} client data: {} of {} bytes",
        client.len(),
        conv.client_sent.len()
    );
    assert!(
        server == conv.server_sent,
        "{id:#06x} server data: {} of {} bytes",
        server.len(),
        conv.server_sent.len()
    );
}

/// Cuts a byte stream into (header, body) records.
fn records(mut data: &[u8]) -> Vec<([u8; 5], Vec<u8>)> {
    let mut out = Vec::new();
    while data.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([data[3], data[4]]));
        let header: [u8; 5] = data[..5].try_into().expect("header");
        out.push((header, data[5..5 + len].to_vec()));
        data = &data[5 + len..];
    }
    assert!(data.is_empty(), "trailing partial record");
    out
}

/// Handshake messages (type, body) in a byte run.
fn messages(mut data: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while data.len() >= 4 {
        let len = usize::from(data[1]) << 16 | usize::from(data[2]) << 8 | usize::from(data[3]);
        out.push((data[0], data[4..4 + len].to_vec()));
        data = &data[4 + len..];
    }
    out
}

/// The random of the first plaintext hello in a direction (ClientHello or ServerHello).
fn hello_random(recs: &[([u8; 5], Vec<u8>)]) -> [u8; 32] {
    let (_, body) = recs.iter().find(|(h, _)| h[0] == 22).expect("hello");
    body[6..38].try_into().expect("random")
}

/// Decrypts one TLS 1.3 direction: handshake key until Finished, then application key,
/// ratcheting at KeyUpdate. Returns the application data and the number of KeyUpdates.
fn decrypt13(suite: u16, recs: &[([u8; 5], Vec<u8>)], hs: &[u8], app: &[u8]) -> (Vec<u8>, usize) {
    let suite = cipher_suite(suite).expect("suite");
    let mut d = RecordDecrypter::tls13(suite, hs).expect("hs keys");
    let mut in_handshake = true;
    let (mut data, mut updates) = (Vec::new(), 0);
    for (header, body) in recs {
        match header[0] {
            22 | 20 => continue, // plaintext hellos, middlebox CCS
            23 => {}
            t => panic!("outer type {t}"),
        }
        let mut body = body.clone();
        let (ty, plain) = d.open(header, &mut body).expect("record opens");
        match ty {
            23 => data.extend_from_slice(plain),
            22 => {
                let msgs = messages(plain);
                if in_handshake && msgs.iter().any(|(t, _)| *t == 20) {
                    d = RecordDecrypter::tls13(suite, app).expect("app keys");
                    in_handshake = false;
                } else if msgs.iter().any(|(t, _)| *t == 24) {
                    d.update_traffic_secret().expect("update");
                    updates += 1;
                }
            }
            21 => assert_eq!(plain, &[1, 0], "close_notify"),
            t => panic!("inner type {t}"),
        }
    }
    (data, updates)
}

/// Decrypts one TLS 1.2 direction: plaintext until CCS, then the record protection.
/// Returns the application data and the Finished's verify_data.
fn decrypt12(recs: &[([u8; 5], Vec<u8>)], mut d: RecordDecrypter) -> (Vec<u8>, Vec<u8>) {
    let mut encrypted = false;
    let (mut data, mut finished) = (Vec::new(), Vec::new());
    for (header, body) in recs {
        if !encrypted {
            encrypted = header[0] == 20;
            continue;
        }
        let mut body = body.clone();
        let (ty, plain) = d.open(header, &mut body).expect("record opens");
        match ty {
            23 => data.extend_from_slice(plain),
            22 => {
                if let Some((20, verify_data)) = messages(plain).first() {
                    finished = verify_data.clone();
                }
            }
            21 => assert_eq!(plain, &[1, 0], "close_notify"),
            t => panic!("type {t}"),
        }
    }
    (data, finished)
}

fn secrets(conv: &Conversation, client_random: &[u8; 32]) -> SessionSecrets {
    let mut log = KeyLog::new();
    log.add_text(&conv.keylog, "rustls")
        .expect("rustls key log parses");
    log.get(client_random)
        .cloned()
        .expect("secrets for the ClientHello.random")
}

#[test]
fn rustls_tls13_all_suites_with_key_update() {
    use rustls::crypto::aws_lc_rs::cipher_suite as cs;
    for (suite, id) in [
        (cs::TLS13_AES_128_GCM_SHA256, 0x1301),
        (cs::TLS13_AES_256_GCM_SHA384, 0x1302),
        (cs::TLS13_CHACHA20_POLY1305_SHA256, 0x1303),
    ] {
        let conv = converse(suite, true);
        let (crecs, srecs) = (records(&conv.wire.client), records(&conv.wire.server));
        let s = secrets(&conv, &hello_random(&crecs));
        let hs = |x: &Option<Vec<u8>>| x.clone().expect("secret logged");
        let (cdata, cupd) = decrypt13(
            id,
            &crecs,
            &hs(&s.client_handshake_traffic),
            &hs(&s.client_application_traffic),
        );
        let (sdata, supd) = decrypt13(
            id,
            &srecs,
            &hs(&s.server_handshake_traffic),
            &hs(&s.server_application_traffic),
        );
        assert_sent(&conv, &cdata, &sdata, id);
        assert!(
            cupd >= 1 && supd >= 1,
            "{id:#06x}: key updates {cupd} {supd}"
        );
        // several records of application data each way
        assert!(srecs.len() > 4, "{id:#06x}");
    }
}

#[test]
fn rustls_tls12_aead_suites() {
    use rustls::crypto::aws_lc_rs::cipher_suite as cs;
    for (suite, id) in [
        (cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, 0xC02F),
        (cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, 0xC030),
        (cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, 0xCCA8),
    ] {
        let conv = converse(suite, false);
        let (crecs, srecs) = (records(&conv.wire.client), records(&conv.wire.server));
        let (cr, sr) = (hello_random(&crecs), hello_random(&srecs));
        let master = secrets(&conv, &cr)
            .master_secret
            .expect("CLIENT_RANDOM logged");
        let suite = cipher_suite(id).expect("suite");
        let [c, s] = RecordDecrypter::tls12(suite, 0x0303, &master, &cr, &sr, false).expect("keys");
        let (cdata, cfin) = decrypt12(&crecs, c);
        let (sdata, sfin) = decrypt12(&srecs, s);
        // verify_data from the transcript: ClientHello, the server's flight,
        // ClientKeyExchange (the plaintext handshake messages before each CCS)
        let plain = |recs: &[([u8; 5], Vec<u8>)]| -> Vec<Vec<u8>> {
            let bytes: Vec<u8> = recs
                .iter()
                .take_while(|(h, _)| h[0] != 20)
                .filter(|(h, _)| h[0] == 22)
                .flat_map(|(_, b)| b.clone())
                .collect();
            messages(&bytes)
                .into_iter()
                .map(|(t, b)| {
                    let mut m = vec![t, 0, (b.len() >> 8) as u8, b.len() as u8];
                    m.extend(b);
                    m
                })
                .collect()
        };
        let (cmsgs, smsgs) = (plain(&crecs), plain(&srecs));
        assert_eq!(cmsgs.len(), 2, "ClientHello, ClientKeyExchange");
        let mut transcript = cmsgs[0].clone();
        smsgs.iter().for_each(|m| transcript.extend(m));
        transcript.extend(&cmsgs[1]);
        let h = transcript_hash(0x0303, suite, &transcript);
        let want = tls12_verify_data(0x0303, suite, &master, true, &h).expect("verify_data");
        assert_eq!(cfin, want, "{id:#06x}: client Finished");
        // the server's Finished also covers the client's Finished message
        transcript.extend([20, 0, 0, 12]);
        transcript.extend(&cfin);
        let h = transcript_hash(0x0303, suite, &transcript);
        let want = tls12_verify_data(0x0303, suite, &master, false, &h).expect("verify_data");
        assert_eq!(sfin, want, "{id:#06x}: server Finished");
        assert_sent(&conv, &cdata, &sdata, id);
        assert!(srecs.len() > 4, "{id:#06x}");
    }
}

#[test]
fn types_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<RecordDecrypter>();
    send_sync::<KeyLog>();
    send_sync::<super::ServerKey>();
    send_sync::<super::DecryptError>();
    send_sync::<super::KeyLogError>();
    send_sync::<super::ServerKeyError>();
}
