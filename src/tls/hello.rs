//! The facts of a ClientHello or ServerHello that the `tls` record, the fingerprints and the
//! rules need: versions, cipher suites, extension types in wire order, SNI, ALPN, groups,
//! point formats, signature algorithms, supported versions.
//!
//! The fixed part of a hello is parsed with `tls-parser`; the extension block is walked here,
//! because fingerprints need every extension type exactly as sent (tls-parser folds GREASE
//! and unknown types). GREASE values are kept here and dropped by the fingerprints.

use tls_parser::{parse_tls_handshake_client_hello, parse_tls_handshake_server_hello};

/// Extension types used here.
const EXT_SERVER_NAME: u16 = 0;
const EXT_SUPPORTED_GROUPS: u16 = 10;
const EXT_EC_POINT_FORMATS: u16 = 11;
const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
const EXT_ALPN: u16 = 16;
const EXT_SESSION_TICKET: u16 = 35;
const EXT_SUPPORTED_VERSIONS: u16 = 43;

/// The ServerHello random of a HelloRetryRequest (RFC 8446 §4.1.3).
const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

/// What a ClientHello offered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientHello {
    /// `ClientHello.version` (0x0303 for TLS 1.3 clients).
    pub version: u16,
    /// Cipher suites, in wire order.
    pub ciphers: Vec<u16>,
    /// Extension types, in wire order.
    pub extensions: Vec<u16>,
    /// Supported groups (extension 10), in wire order.
    pub groups: Vec<u16>,
    /// EC point formats (extension 11).
    pub point_formats: Vec<u8>,
    /// Signature algorithms (extension 13), in wire order.
    pub signature_algorithms: Vec<u16>,
    /// `supported_versions` (extension 43), in wire order.
    pub supported_versions: Vec<u16>,
    /// The first host name of the SNI extension.
    pub sni: Option<Vec<u8>>,
    /// The ALPN protocols offered, in order.
    pub alpn: Vec<Vec<u8>>,
    /// Sent as an SSLv2-compatible hello (no extensions).
    pub sslv2: bool,
    /// `ClientHello.random` (an SSLv2 hello's challenge, left-padded with zeros): what
    /// key-log lines are keyed by.
    pub random: [u8; 32],
    /// The session ID offered for resumption (empty: none).
    pub session_id: Vec<u8>,
    /// The session ticket offered for resumption (extension 35, when not empty).
    pub session_ticket: Option<Vec<u8>>,
}

/// What a ServerHello chose.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerHello {
    /// `ServerHello.version` (0x0303 for TLS 1.3).
    pub version: u16,
    /// The chosen cipher suite.
    pub cipher: u16,
    /// Extension types, in wire order.
    pub extensions: Vec<u16>,
    /// The version chosen by `supported_versions` (TLS 1.3), if sent.
    pub selected_version: Option<u16>,
    /// It is a HelloRetryRequest, not the real ServerHello.
    pub retry: bool,
    /// `ServerHello.random`.
    pub random: [u8; 32],
    /// The session ID (the client's echoed when the session is resumed).
    pub session_id: Vec<u8>,
}

impl ServerHello {
    /// The negotiated version: `supported_versions` if sent, else `ServerHello.version`.
    pub fn negotiated_version(&self) -> u16 {
        self.selected_version.unwrap_or(self.version)
    }
}

/// A big-endian reader over a slice that never panics.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = tail;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    /// A vector with a `u8` length prefix.
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }
    /// A vector with a `u16` length prefix.
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The `u16` values of a list (an odd trailing byte is ignored).
fn u16s(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect()
}

/// Walks an extension block: `(type, data)` of each extension, in order; stops at the first
/// that does not fit.
fn extensions(block: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut b = Bytes(block);
    std::iter::from_fn(move || {
        if b.is_empty() {
            return None;
        }
        let t = b.u16()?;
        let data = b.vec16()?;
        Some((t, data))
    })
}

/// A hello's random as an array (tls-parser checks it is 32 bytes; anything else gives zeros).
fn random32(bytes: &[u8]) -> [u8; 32] {
    bytes.try_into().unwrap_or([0; 32])
}

/// Parses a ClientHello body (after the handshake header). `None` if it is not one.
pub fn parse_client_hello(body: &[u8]) -> Option<ClientHello> {
    let (_, ch) = parse_tls_handshake_client_hello(body).ok()?;
    let mut hello = ClientHello {
        version: ch.version.0,
        ciphers: ch.ciphers.iter().map(|c| c.0).collect(),
        random: random32(ch.random),
        session_id: ch.session_id.unwrap_or_default().to_vec(),
        ..ClientHello::default()
    };
    for (t, data) in extensions(ch.ext.unwrap_or_default()) {
        hello.extensions.push(t);
        let mut d = Bytes(data);
        match t {
            EXT_SERVER_NAME if hello.sni.is_none() => {
                let mut list = Bytes(d.vec16().unwrap_or_default());
                while let (Some(kind), Some(name)) = (list.u8(), list.vec16()) {
                    if kind == 0 {
                        hello.sni = Some(name.to_vec());
                        break;
                    }
                }
            }
            EXT_SUPPORTED_GROUPS => hello.groups = u16s(d.vec16().unwrap_or_default()),
            EXT_EC_POINT_FORMATS => hello.point_formats = d.vec8().unwrap_or_default().to_vec(),
            EXT_SIGNATURE_ALGORITHMS => {
                hello.signature_algorithms = u16s(d.vec16().unwrap_or_default())
            }
            EXT_ALPN => {
                let mut list = Bytes(d.vec16().unwrap_or_default());
                while let Some(p) = list.vec8() {
                    hello.alpn.push(p.to_vec());
                }
            }
            EXT_SUPPORTED_VERSIONS => hello.supported_versions = u16s(d.vec8().unwrap_or_default()),
            EXT_SESSION_TICKET if !data.is_empty() => hello.session_ticket = Some(data.to_vec()),
            _ => {}
        }
    }
    Some(hello)
}

/// Parses an SSLv2-compatible ClientHello (the bytes after its length and type): version,
/// cipher specs (3 bytes each; TLS suites are `00 xx yy`). `None` if it does not fit.
pub fn parse_sslv2_client_hello(body: &[u8]) -> Option<ClientHello> {
    let mut b = Bytes(body);
    let version = b.u16()?;
    let specs_len = usize::from(b.u16()?);
    let session_id_len = usize::from(b.u16()?);
    let challenge_len = usize::from(b.u16()?);
    let specs = b.take(specs_len)?;
    let session_id = b.take(session_id_len).unwrap_or_default();
    let challenge = b.take(challenge_len).unwrap_or_default();
    // RFC 5246 App. E.2: the challenge, right-aligned in a 32-byte random.
    let mut random = [0u8; 32];
    let n = challenge.len().min(32);
    random[32 - n..].copy_from_slice(&challenge[challenge.len() - n..]);
    let ciphers = specs
        .chunks_exact(3)
        .filter(|c| c[0] == 0)
        .map(|c| u16::from_be_bytes([c[1], c[2]]))
        .collect();
    Some(ClientHello {
        version,
        ciphers,
        sslv2: true,
        random,
        session_id: session_id.to_vec(),
        ..ClientHello::default()
    })
}

/// Parses a ServerHello body (after the handshake header). `None` if it is not one.
pub fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
    let (_, sh) = parse_tls_handshake_server_hello(body).ok()?;
    let mut hello = ServerHello {
        version: sh.version.0,
        cipher: sh.cipher.0,
        retry: sh.random == HELLO_RETRY_RANDOM,
        random: random32(sh.random),
        session_id: sh.session_id.unwrap_or_default().to_vec(),
        ..ServerHello::default()
    };
    for (t, data) in extensions(sh.ext.unwrap_or_default()) {
        hello.extensions.push(t);
        if t == EXT_SUPPORTED_VERSIONS {
            hello.selected_version = Bytes(data).u16();
        }
    }
    Some(hello)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A ClientHello body with the given parts (for tests here and in the fingerprints).
    pub(crate) fn client_hello_body(
        version: u16,
        ciphers: &[u16],
        exts: &[(u16, Vec<u8>)],
    ) -> Vec<u8> {
        let mut b = version.to_be_bytes().to_vec();
        b.extend_from_slice(&[0x11; 32]);
        b.push(0);
        b.extend_from_slice(&((ciphers.len() * 2) as u16).to_be_bytes());
        for c in ciphers {
            b.extend_from_slice(&c.to_be_bytes());
        }
        b.extend_from_slice(&[1, 0]);
        let mut block = Vec::new();
        for (t, data) in exts {
            block.extend_from_slice(&t.to_be_bytes());
            block.extend_from_slice(&(data.len() as u16).to_be_bytes());
            block.extend_from_slice(data);
        }
        b.extend_from_slice(&(block.len() as u16).to_be_bytes());
        b.extend_from_slice(&block);
        b
    }

    pub(crate) fn sni_ext(name: &str) -> (u16, Vec<u8>) {
        let mut d = ((name.len() + 3) as u16).to_be_bytes().to_vec();
        d.push(0);
        d.extend_from_slice(&(name.len() as u16).to_be_bytes());
        d.extend_from_slice(name.as_bytes());
        (0, d)
    }

    #[test]
    fn client_hello_fields() {
        let body = client_hello_body(
            0x0303,
            &[0x0a0a, 0x1301, 0xc02f],
            &[
                (0x1a1a, vec![]),
                sni_ext("mail.example.org"),
                (10, vec![0, 4, 0x2a, 0x2a, 0, 29]),
                (11, vec![1, 0]),
                (13, vec![0, 4, 4, 3, 8, 4]),
                (
                    16,
                    vec![
                        0, 12, 2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1',
                    ],
                ),
                (43, vec![4, 3, 4, 3, 3]),
            ],
        );
        let h = parse_client_hello(&body).unwrap();
        assert_eq!(h.version, 0x0303);
        assert_eq!(h.ciphers, vec![0x0a0a, 0x1301, 0xc02f]);
        assert_eq!(h.extensions, vec![0x1a1a, 0, 10, 11, 13, 16, 43]);
        assert_eq!(h.sni.as_deref(), Some(&b"mail.example.org"[..]));
        assert_eq!(h.groups, vec![0x2a2a, 29]);
        assert_eq!(h.point_formats, vec![0]);
        assert_eq!(h.signature_algorithms, vec![0x0403, 0x0804]);
        assert_eq!(h.alpn, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
        assert_eq!(h.supported_versions, vec![0x0304, 0x0303]);
    }

    #[test]
    fn truncated_hellos_do_not_panic() {
        let body = client_hello_body(0x0303, &[0x1301], &[sni_ext("a.b")]);
        for n in 0..body.len() {
            let _ = parse_client_hello(&body[..n]);
            let _ = parse_server_hello(&body[..n]);
            let _ = parse_sslv2_client_hello(&body[..n]);
        }
    }
}
