//! TLS: what the clear part of a handshake tells, on any port, and the plaintext of the
//! connections exhound has keys for.
//!
//! Why: Exchange is reached over HTTPS. The handshake is in clear up to the certificate
//! (TLS ≤ 1.2) or the ServerHello (TLS 1.3), and that is enough to log each connection
//! (EVE `tls` records, Suricata's format) and to match rules on the server name, the
//! certificate and the client's and server's fingerprints (JA3, JA3S, JA4). With a key log
//! or the server's RSA key the records themselves are decrypted, and the HTTP inside goes
//! through the same parser and rules as clear HTTP.
//!
//! How: the stream stage's reassembled bytes of each direction are given to the flow's
//! [`TlsConnection`] before the HTTP parser; a connection whose first bytes are a TLS
//! handshake record (or an SSLv2-compatible hello) is TLS and its bytes no longer go to HTTP.
//! [`record`] cuts records and handshake messages (bounded buffering), [`hello`] reads the
//! hellos, [`certificate`] the server certificate, [`fingerprint`] computes JA3/JA3S/JA4;
//! [`TlsInfo`] is the plain result that flows on to detection and output. When keys were
//! given, [`decryption`] follows the connection's records past the handshake and hands the
//! plaintext on as stream events (through [`Decrypt`]), with the keys of [`keys`] and the
//! record protection and key schedules of [`decrypt`].

pub mod certificate;
mod connection;
pub mod decrypt;
mod decryption;
pub mod fingerprint;
pub mod hello;
pub mod keys;
mod record;
#[cfg(test)]
mod testpeer;

pub use certificate::CertificateFields;
pub use connection::TlsConnection;
pub use decryption::Decrypt;
pub use fingerprint::Fingerprint;
pub use hello::{ClientHello, ServerHello};
pub use keys::{DecryptionConfig, SessionCache, TlsKeys};
pub use record::ReadError;

/// TLS parsing limits.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    /// The most bytes one direction may keep while a record or handshake message is
    /// incomplete (a certificate chain is usually a few KiB). Past it the direction's
    /// handshake is given up and counted ([`TlsStats::too_large`]). By default 64 KiB.
    pub max_handshake_bytes: usize,
    /// The most stream bytes one connection may hold while it waits for a key (a record
    /// delivered before the ServerHello; in live capture, a key-log line not written yet).
    /// Past it the connection is counted as without key. By default 1 MiB.
    pub max_held_bytes: usize,
    /// Keys to decrypt with (none by default).
    pub decryption: DecryptionConfig,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            max_handshake_bytes: 64 << 10,
            max_held_bytes: 1 << 20,
            decryption: DecryptionConfig::default(),
        }
    }
}

/// TLS counters of one worker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsStats {
    /// Connections recognised as TLS.
    pub connections: u64,
    /// ClientHellos parsed.
    pub client_hellos: u64,
    /// ServerHellos parsed.
    pub server_hellos: u64,
    /// Server certificates parsed.
    pub certificates: u64,
    /// Directions given up on a record or message that does not parse.
    pub malformed: u64,
    /// Directions given up because their handshake outgrew the buffer cap.
    pub too_large: u64,
    /// Directions given up at a stream gap.
    pub gaps: u64,
    /// Handshakes reported at the end of their connection before they were complete.
    pub incomplete: u64,
    /// Connections picked up midstream: TLS records without the handshake before them
    /// (nothing to log or decrypt; their bytes do not go to HTTP).
    pub midstream: u64,
    /// Connections of which at least one record was decrypted.
    pub decrypted: u64,
    /// Connections that could not be decrypted for want of a key: none given at all (every
    /// connection that got to its ServerHello), or none that fits this connection.
    pub no_key: u64,
    /// Connections on which a record failed to decrypt or authenticate (wrong key, corrupt
    /// record), or whose server's RSA key did not decrypt the key exchange: decryption
    /// stopped there.
    pub decrypt_failed: u64,
    /// Connections whose version or cipher suite exhound cannot decrypt (SSLv3, CCM, RC4,
    /// 3DES…).
    pub unsupported: u64,
    /// Records decrypted.
    pub records_decrypted: u64,
    /// Decrypted directions stopped by a stream gap.
    pub decrypt_gaps: u64,
}

impl TlsStats {
    /// Adds another worker's counters to these.
    pub fn merge(&mut self, o: &TlsStats) {
        self.connections += o.connections;
        self.client_hellos += o.client_hellos;
        self.server_hellos += o.server_hellos;
        self.certificates += o.certificates;
        self.malformed += o.malformed;
        self.too_large += o.too_large;
        self.gaps += o.gaps;
        self.incomplete += o.incomplete;
        self.midstream += o.midstream;
        self.decrypted += o.decrypted;
        self.no_key += o.no_key;
        self.decrypt_failed += o.decrypt_failed;
        self.unsupported += o.unsupported;
        self.records_decrypted += o.records_decrypted;
        self.decrypt_gaps += o.decrypt_gaps;
    }
}

/// What the clear handshake of one connection told.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// The client's hello.
    pub client_hello: Option<ClientHello>,
    /// The server's hello.
    pub server_hello: Option<ServerHello>,
    /// JA3 of the ClientHello.
    pub ja3: Option<Fingerprint>,
    /// JA3S of the ServerHello.
    pub ja3s: Option<Fingerprint>,
    /// JA4 of the ClientHello.
    pub ja4: Option<String>,
    /// The server's certificate chain as sent (DER), first the server's own.
    pub certificates: Vec<Vec<u8>>,
    /// The fields of the server's own certificate, when it parsed.
    pub server_certificate: Option<CertificateFields>,
}

impl TlsInfo {
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of::<TlsInfo>()
            + self.certificates.iter().map(Vec::capacity).sum::<usize>()
            + self.client_hello.as_ref().map_or(0, |c| {
                c.ciphers.capacity() * 2
                    + c.extensions.capacity() * 2
                    + c.signature_algorithms.capacity() * 2
                    + c.groups.capacity() * 2
                    + c.sni.as_ref().map_or(0, Vec::capacity)
            })
            + 512
    }

    /// The negotiated version (the server's), else the version the client offered (its
    /// highest `supported_versions` entry, else `ClientHello.version`).
    pub fn version(&self) -> Option<u16> {
        if let Some(s) = self.server_hello.as_ref().filter(|s| !s.retry) {
            return Some(s.negotiated_version());
        }
        let c = self.client_hello.as_ref()?;
        if c.sslv2 {
            return Some(0x0002);
        }
        Some(
            c.supported_versions
                .iter()
                .copied()
                .filter(|&v| !fingerprint::is_grease(v))
                .max()
                .unwrap_or(c.version),
        )
    }

    /// The version as Suricata's EVE writes it (`TLSv1`, `TLS 1.2`, `TLS 1.3`, …).
    pub fn version_name(&self) -> String {
        version_name(self.version().unwrap_or(0))
    }

    /// The server name the client asked for.
    pub fn sni(&self) -> Option<&[u8]> {
        self.client_hello.as_ref()?.sni.as_deref()
    }
}

/// A protocol version as Suricata names it in EVE.
pub fn version_name(v: u16) -> String {
    match v {
        0x0002 => "SSLv2".into(),
        0x0300 => "SSLv3".into(),
        0x0301 => "TLSv1".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        0x7f00..=0x7fff => format!("TLS 1.3 draft-{}", v & 0xff),
        _ => "UNDETERMINED".into(),
    }
}
