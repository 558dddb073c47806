//! A real TLS stack against this module: rustls 0.23 (aws-lc-rs provider) client and server
//! talk in memory with a key log; the bytes each side wrote are cut into records and
//! decrypted with [`KeyLog`] and [`RecordDecrypter`] alone, as the sensor would see them.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use rustls::crypto::{aws_lc_rs, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{
    ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection,
    SupportedCipherSuite,
};

use super::{
    cipher_suite, tls12_verify_data, transcript_hash, KeyLog, RecordDecrypter, SessionSecrets,
};

const CA: &[u8] = include_bytes!("../../../pcaps/tls/ca.pem");
const CERT: &[u8] = include_bytes!("../../../pcaps/tls/server.pem");
const KEY: &[u8] = include_bytes!("../../../pcaps/tls/server.key");

/// Collects key-log lines in NSS format, as `SSLKEYLOGFILE` would.
#[derive(Debug, Default)]
struct Lines(Mutex<String>);

impl rustls::KeyLog for Lines {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        if let Ok(mut s) = self.0.lock() {
            s.push_str(&format!("{label} {} {}\n", hex(client_random), hex(secret)));
        }
    }
}

/// What each side wrote, in order.
#[derive(Default)]
struct Wire {
    client: Vec<u8>,
    server: Vec<u8>,
    client_received: Vec<u8>,
    server_received: Vec<u8>,
}

/// Moves bytes both ways until neither side has anything to send, reading what each side
/// received into `wire.*_received` as it goes (rustls holds only so much unread plaintext).
fn pump(c: &mut ClientConnection, s: &mut ServerConnection, wire: &mut Wire) {
    loop {
        let mut moved = false;
        while c.wants_write() {
            let mut buf = Vec::new();
            c.write_tls(&mut buf).expect("client write_tls");
            wire.client.extend_from_slice(&buf);
            let mut rd = &buf[..];
            while !rd.is_empty() {
                s.read_tls(&mut rd).expect("server read_tls");
                s.process_new_packets().expect("server process");
                wire.server_received.extend(read_all(&mut s.reader()));
            }
            moved = true;
        }
        while s.wants_write() {
            let mut buf = Vec::new();
            s.write_tls(&mut buf).expect("server write_tls");
            wire.server.extend_from_slice(&buf);
            let mut rd = &buf[..];
            while !rd.is_empty() {
                c.read_tls(&mut rd).expect("client read_tls");
                c.process_new_packets().expect("client process");
                wire.client_received.extend(read_all(&mut c.reader()));
            }
            moved = true;
        }
        if !moved {
            return;
        }
    }
}

fn read_all(r: &mut dyn Read) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return out,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return out,
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// Data exchanged by one conversation: the client's bytes and the server's.
struct Conversation {
    wire: Wire,
    keylog: String,
    client_sent: Vec<u8>,
    server_sent: Vec<u8>,
}

fn converse(suite: SupportedCipherSuite, tls13: bool) -> Conversation {
    let provider = Arc::new(CryptoProvider {
        cipher_suites: vec![suite],
        ..aws_lc_rs::default_provider()
    });
    let versions: &[&rustls::SupportedProtocolVersion] = if tls13 {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS12]
    };
    let certs = vec![CertificateDer::from_pem_slice(CERT).expect("cert")];
    let key = PrivateKeyDer::from_pem_slice(KEY).expect("key");
    let server_config = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(CA).expect("ca"))
        .expect("root");
    let lines = Arc::new(Lines::default());
    let mut client_config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    client_config.key_log = lines.clone();
    let name = ServerName::try_from("mail.exhound.test").expect("name");
    let mut c = ClientConnection::new(Arc::new(client_config), name).expect("client");
    let mut s = ServerConnection::new(Arc::new(server_config)).expect("server");
    let mut wire = Wire::default();
    pump(&mut c, &mut s, &mut wire);
    assert!(!c.is_handshaking() && !s.is_handshaking());

    let request = b"GET /owa/ HTTP/1.1\r\nHost: mail.exhound.test\r\n\r\n".to_vec();
    let body: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    let upload: Vec<u8> = (0..20_000u32).map(|i| (i % 241) as u8).collect();
    let mut client_sent = request.clone();
    let mut server_sent = body.clone();
    c.writer().write_all(&request).expect("write");
    pump(&mut c, &mut s, &mut wire);
    s.writer().write_all(&body).expect("write");
    pump(&mut c, &mut s, &mut wire);
    c.writer().write_all(&upload).expect("write");
    client_sent.extend_from_slice(&upload);
    pump(&mut c, &mut s, &mut wire);
    if tls13 {
        // KeyUpdate each way, then more data under the new keys
        c.refresh_traffic_keys().expect("client key update");
        c.writer().write_all(b"after client update").expect("write");
        client_sent.extend_from_slice(b"after client update");
        pump(&mut c, &mut s, &mut wire);
        s.refresh_traffic_keys().expect("server key update");
        s.writer().write_all(b"after server update").expect("write");
        server_sent.extend_from_slice(b"after server update");
        pump(&mut c, &mut s, &mut wire);
    }
    c.send_close_notify();
    pump(&mut c, &mut s, &mut wire);
    assert!(
        wire.server_received == client_sent,
        "rustls server got what the client sent"
    );
    assert!(
        wire.client_received == server_sent,
        "rustls client got what the server sent"
    );
    let keylog = lines.0.lock().map(|s| s.clone()).unwrap_or_default();
    Conversation {
        wire,
        keylog,
        client_sent,
        server_sent,
    }
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
    use aws_lc_rs::cipher_suite as cs;
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
        assert!(
            cdata == conv.client_sent,
            "{id:#06x} client data: {} of {} bytes",
            cdata.len(),
            conv.client_sent.len()
        );
        assert!(
            sdata == conv.server_sent,
            "{id:#06x} server data: {} of {} bytes",
            sdata.len(),
            conv.server_sent.len()
        );
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
    use aws_lc_rs::cipher_suite as cs;
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
        assert!(
            cdata == conv.client_sent,
            "{id:#06x} client data: {} of {} bytes",
            cdata.len(),
            conv.client_sent.len()
        );
        assert!(
            sdata == conv.server_sent,
            "{id:#06x} server data: {} of {} bytes",
            sdata.len(),
            conv.server_sent.len()
        );
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
