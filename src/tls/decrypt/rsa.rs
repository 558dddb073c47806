//! The server's RSA private key, for TLS ≤ 1.2 RSA key exchange: it decrypts the
//! ClientKeyExchange into the pre-master secret.
//!
//! Keys are PEM files, PKCS#1 (`RSA PRIVATE KEY`) or PKCS#8 (`PRIVATE KEY`), unencrypted,
//! 2048 to 8192 bits (aws-lc-rs's range). PKCS#1 DER is turned into PKCS#8 through
//! aws-lc-rs's own `rsa::KeyPair::from_der` → `as_der()`, so no DER is built by hand.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    KeyPair, Pkcs1PrivateDecryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivateKeyDer;

/// Why a server key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ServerKeyError {
    /// The file cannot be read.
    #[error("{}: {error}", path.display())]
    Io {
        /// The key file.
        path: PathBuf,
        /// The error (not a `source`: the message already says it).
        error: std::io::Error,
    },
    /// No PEM private key in the file (or PEM that does not parse).
    #[error("{}: no PEM private key (\"RSA PRIVATE KEY\" or \"PRIVATE KEY\") in it{}", path.display(), detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    NoKey {
        /// The key file.
        path: PathBuf,
        /// The PEM parser's complaint, if any.
        detail: Option<String>,
    },
    /// The key is encrypted (a passphrase would be needed).
    #[error("{}: the private key is encrypted; decrypt it first (openssl pkey -in FILE -out PLAIN)", path.display())]
    Encrypted {
        /// The key file.
        path: PathBuf,
    },
    /// The key is not an RSA key.
    #[error("{}: not an RSA private key (only RSA key exchange can be decrypted with a key)", path.display())]
    NotRsa {
        /// The key file.
        path: PathBuf,
    },
    /// aws-lc-rs refused the key (bad encoding, or fewer than 2048 or more than 8192 bits).
    #[error("{}: RSA key rejected: {reason} (keys of 2048 to 8192 bits are supported)", path.display())]
    Rejected {
        /// The key file.
        path: PathBuf,
        /// aws-lc-rs's reason.
        reason: String,
    },
    /// The part after `@` is not `IP:PORT` (IPv6 as `[addr]:port`).
    #[error("{spec}: after '@' expected IP:PORT (IPv6 as [addr]:port)")]
    BadServer {
        /// The whole specification.
        spec: String,
    },
}

/// A server's RSA private key, and optionally the server (address and port) it belongs to.
pub struct ServerKey {
    path: PathBuf,
    server: Option<SocketAddr>,
    key: Pkcs1PrivateDecryptingKey,
    public: PublicEncryptingKey,
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerKey")
            .field("path", &self.path)
            .field("server", &self.server)
            .field("bits", &self.key.key_size_bits())
            .finish_non_exhaustive()
    }
}

impl ServerKey {
    /// `FILE` or `FILE@IP:PORT` (IPv6 as `[addr]:port`). Reads a PEM private key, PKCS#1
    /// ("RSA PRIVATE KEY") or PKCS#8 ("PRIVATE KEY"). Errors name the file and what is wrong
    /// (unreadable, no key in it, encrypted, not RSA, size refused). A `@` whose tail is not
    /// an address is part of the file name when the spec has no `@IP:PORT` form that parses
    /// and the file exists; otherwise it is an error.
    pub fn load(spec: &str) -> Result<ServerKey, ServerKeyError> {
        let (file, server) = match spec.rsplit_once('@') {
            Some((file, addr)) => match addr.parse::<SocketAddr>() {
                Ok(a) => (file, Some(a)),
                Err(_) if Path::new(spec).exists() => (spec, None),
                Err(_) => {
                    return Err(ServerKeyError::BadServer {
                        spec: spec.to_string(),
                    })
                }
            },
            None => (spec, None),
        };
        let path = PathBuf::from(file);
        let pem = std::fs::read(&path).map_err(|error| ServerKeyError::Io {
            path: path.clone(),
            error,
        })?;
        ServerKey::new(path, server, parse_pem(&pem))
    }

    /// The key from PEM text (tests and embedded keys); errors name the file `<memory>`.
    pub fn from_pem(pem: &[u8], server: Option<SocketAddr>) -> Result<ServerKey, ServerKeyError> {
        ServerKey::new(PathBuf::from("<memory>"), server, parse_pem(pem))
    }

    fn new(
        path: PathBuf,
        server: Option<SocketAddr>,
        key: Result<PrivateDecryptingKey, PemError>,
    ) -> Result<ServerKey, ServerKeyError> {
        let key = key.map_err(|e| e.with_path(&path))?;
        let public = key.public_key();
        let key = Pkcs1PrivateDecryptingKey::new(key).map_err(|_| ServerKeyError::Rejected {
            path: path.clone(),
            reason: "unusable key".into(),
        })?;
        Ok(ServerKey {
            path,
            server,
            key,
            public,
        })
    }

    /// The public key as X.509 SubjectPublicKeyInfo DER, to compare with the server
    /// certificate's key (a key that does not match the certificate cannot decrypt).
    pub fn public_key_der(&self) -> Vec<u8> {
        self.public
            .as_der()
            .map(|d| d.as_ref().to_vec())
            .unwrap_or_default()
    }

    /// The file the key came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The server this key is for; `None` = any server.
    pub fn server(&self) -> Option<SocketAddr> {
        self.server
    }

    /// The modulus length in bytes (the length of an EncryptedPreMasterSecret).
    pub fn modulus_len(&self) -> usize {
        self.key.key_size_bytes()
    }

    /// RSAES-PKCS1-v1_5 decryption of an EncryptedPreMasterSecret (without its 2-byte length
    /// prefix). `None` unless it gives exactly 48 bytes.
    ///
    /// Success does not prove the key: a wrong key or a tampered message can still decrypt
    /// to 48 bytes by chance (and TLS servers answer bad padding with a random pre-master
    /// secret, the implicit rejection of RFC 5246 §7.4.7.1, so a client cannot tell either).
    /// The caller proves the result by checking the Finished record (its AEAD tag or
    /// `verify_data`).
    pub fn decrypt_premaster(&self, encrypted: &[u8]) -> Option<[u8; 48]> {
        if encrypted.len() != self.modulus_len() {
            return None;
        }
        let mut out = vec![0u8; self.key.min_output_size()];
        let plain = self.key.decrypt(encrypted, &mut out).ok()?;
        <[u8; 48]>::try_from(&*plain).ok()
    }
}

/// A load error before the file name is known.
enum PemError {
    NoKey(Option<String>),
    Encrypted,
    NotRsa,
    Rejected(String),
}

impl PemError {
    fn with_path(self, path: &Path) -> ServerKeyError {
        let path = path.to_path_buf();
        match self {
            PemError::NoKey(detail) => ServerKeyError::NoKey { path, detail },
            PemError::Encrypted => ServerKeyError::Encrypted { path },
            PemError::NotRsa => ServerKeyError::NotRsa { path },
            PemError::Rejected(reason) => ServerKeyError::Rejected { path, reason },
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn parse_pem(pem: &[u8]) -> Result<PrivateDecryptingKey, PemError> {
    if contains(pem, b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || contains(pem, b"Proc-Type: 4,ENCRYPTED")
    {
        return Err(PemError::Encrypted);
    }
    let der = match PrivateKeyDer::from_pem_slice(pem) {
        Ok(der) => der,
        Err(rustls_pki_types::pem::Error::NoItemsFound) => return Err(PemError::NoKey(None)),
        Err(e) => return Err(PemError::NoKey(Some(format!("{e:?}")))),
    };
    let rejected = |e: aws_lc_rs::error::KeyRejected| {
        if e.description_() == "WrongAlgorithm" {
            PemError::NotRsa
        } else {
            PemError::Rejected(e.to_string())
        }
    };
    match der {
        PrivateKeyDer::Pkcs1(der) => {
            let pair = KeyPair::from_der(der.secret_pkcs1_der()).map_err(rejected)?;
            let pkcs8 = pair
                .as_der()
                .map_err(|_| PemError::Rejected("cannot re-encode as PKCS#8".into()))?;
            PrivateDecryptingKey::from_pkcs8(pkcs8.as_ref()).map_err(rejected)
        }
        PrivateKeyDer::Pkcs8(der) => {
            PrivateDecryptingKey::from_pkcs8(der.secret_pkcs8_der()).map_err(rejected)
        }
        _ => Err(PemError::NotRsa),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rsa::Pkcs1PublicEncryptingKey;

    const PKCS8: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/pcaps/tls/server.key");
    const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/tls/decrypt/testdata");

    fn testdata(name: &str) -> String {
        format!("{TESTDATA}/{name}")
    }

    fn encrypt_to(key: &ServerKey, premaster: &[u8]) -> Vec<u8> {
        let public = Pkcs1PublicEncryptingKey::new(key.public.clone()).expect("public key");
        let mut out = vec![0u8; public.ciphertext_size()];
        public
            .encrypt(premaster, &mut out)
            .expect("encrypt")
            .to_vec()
    }

    #[test]
    fn pkcs1_and_pkcs8_decrypt_the_premaster() {
        let k8 = ServerKey::load(PKCS8).expect("pkcs8");
        let k1 = ServerKey::load(&testdata("server-pkcs1.key")).expect("pkcs1");
        assert_eq!(k8.modulus_len(), 256);
        assert_eq!(k1.modulus_len(), 256);
        assert_eq!(k8.server(), None);
        let mut premaster = [0x5a; 48];
        premaster[..2].copy_from_slice(&[3, 3]);
        let ct = encrypt_to(&k8, &premaster);
        assert_eq!(k8.decrypt_premaster(&ct), Some(premaster));
        assert_eq!(k1.decrypt_premaster(&ct), Some(premaster));
        // wrong length, and not 48 bytes inside
        assert_eq!(k1.decrypt_premaster(&ct[1..]), None);
        assert_eq!(k1.decrypt_premaster(&encrypt_to(&k1, &[1; 47])), None);
        // another key: no value, or a different one
        let other = ServerKey::load(&testdata("other.key")).expect("other");
        assert_ne!(other.decrypt_premaster(&ct), Some(premaster));
        assert!(format!("{k1:?}").contains("bits: 2048"));
        // the same public key as the certificate's
        let cert = include_bytes!("../../../pcaps/tls/server.pem");
        let der = rustls_pki_types::CertificateDer::from_pem_slice(cert).expect("cert");
        let (_, x509) = x509_parser::parse_x509_certificate(&der).expect("x509");
        assert_eq!(x509.public_key().raw, k1.public_key_der().as_slice());
    }

    #[test]
    fn server_address_after_at() {
        let k = ServerKey::load(&format!("{PKCS8}@192.0.2.7:443")).expect("v4");
        assert_eq!(k.server(), Some("192.0.2.7:443".parse().expect("addr")));
        assert_eq!(k.path(), Path::new(PKCS8));
        let k = ServerKey::load(&format!("{PKCS8}@[2001:db8::1]:8443")).expect("v6");
        assert_eq!(
            k.server(),
            Some("[2001:db8::1]:8443".parse().expect("addr"))
        );
        let e = ServerKey::load(&format!("{PKCS8}@mail:443")).expect_err("not an address");
        assert!(matches!(e, ServerKeyError::BadServer { .. }), "{e}");
        let e = ServerKey::load(&format!("{PKCS8}@2001:db8::1:443")).expect_err("v6 needs []");
        assert!(e.to_string().contains("IP:PORT"), "{e}");
    }

    #[test]
    fn load_errors_name_the_file_and_the_problem() {
        let err = |spec: &str| ServerKey::load(spec).expect_err(spec).to_string();
        let e = err("/nonexistent/server.key");
        assert!(e.starts_with("/nonexistent/server.key: "), "{e}");
        let cert = concat!(env!("CARGO_MANIFEST_DIR"), "/pcaps/tls/server.pem");
        let e = err(cert);
        assert!(
            e.starts_with(cert) && e.contains("no PEM private key"),
            "{e}"
        );
        let e = err(&testdata("server-encrypted.key"));
        assert!(
            e.contains("server-encrypted.key: the private key is encrypted"),
            "{e}"
        );
        let e = err(&testdata("server-pkcs1-encrypted.key"));
        assert!(e.contains("encrypted"), "{e}");
        let e = err(&testdata("ec.key"));
        assert!(e.contains("ec.key: not an RSA private key"), "{e}");
        let e = err(&testdata("rsa1024.key"));
        assert!(e.contains("rsa1024.key: RSA key rejected"), "{e}");
        let e = ServerKey::from_pem(b"garbage", None)
            .expect_err("garbage")
            .to_string();
        assert!(e.starts_with("<memory>: no PEM private key"), "{e}");
    }
}
