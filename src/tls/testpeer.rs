//! Real TLS conversations for tests: a rustls 0.23 client and server (aws-lc-rs provider,
//! the certificates of `pcaps/tls/`) talk in memory with a key log; what each side wrote is
//! kept in order, as a sensor between them would see it.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use rustls::crypto::{aws_lc_rs, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{
    ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection,
    SupportedCipherSuite,
};

use crate::flow::Side;

const CA: &[u8] = include_bytes!("../../pcaps/tls/ca.pem");
const CERT: &[u8] = include_bytes!("../../pcaps/tls/server.pem");
const KEY: &[u8] = include_bytes!("../../pcaps/tls/server.key");

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

/// What each side wrote and received.
#[derive(Default)]
pub(crate) struct Wire {
    /// Everything the client wrote.
    pub(crate) client: Vec<u8>,
    /// Everything the server wrote.
    pub(crate) server: Vec<u8>,
    /// What each side wrote, in the order written (the client is the initiator).
    pub(crate) chunks: Vec<(Side, Vec<u8>)>,
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
            wire.chunks.push((Side::Initiator, buf.clone()));
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
            wire.chunks.push((Side::Responder, buf.clone()));
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

/// One conversation: the bytes on the wire, the key log, the plaintext each side sent.
pub(crate) struct Conversation {
    /// What each side wrote.
    pub(crate) wire: Wire,
    /// The key log (NSS format), client and server lines.
    pub(crate) keylog: String,
    /// The application data the client sent.
    pub(crate) client_sent: Vec<u8>,
    /// The application data the server sent.
    pub(crate) server_sent: Vec<u8>,
}

/// A conversation of `suite` (TLS 1.3 if `tls13`, else TLS 1.2): a request, a 40,000-byte
/// answer, a 20,000-byte upload (several records each way); with TLS 1.3 a KeyUpdate each
/// way, each followed by more data; then close_notify.
pub(crate) fn converse(suite: SupportedCipherSuite, tls13: bool) -> Conversation {
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

/// The bytes of a hex string (whitespace ignored), as test vectors are printed.
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}
