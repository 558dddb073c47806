//! TLS for `syslog+tls://` (RFC 5425): a rustls client that trusts only the CA file given,
//! checks the receiver's certificate against the expected server name, and may present a
//! client certificate. The handshake is completed when connecting, so that a certificate
//! that does not fit is reported as a failed connection, not as a lost record later.

use std::io;
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use super::url::TlsSettings;
use super::ShipError;

/// A TLS stream to a receiver.
pub type TlsStream = StreamOwned<ClientConnection, TcpStream>;

/// What every connection of one output needs: the configuration and the name checked.
#[derive(Clone)]
pub struct TlsClient {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClient")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn pem_error(path: &Path, what: &str, e: impl std::fmt::Display) -> ShipError {
    ShipError::Tls(format!("{}: {what}: {e}", path.display()))
}

impl TlsClient {
    /// Reads the CA file (and the client certificate and key) of `s`.
    pub fn new(s: &TlsSettings) -> Result<TlsClient, ShipError> {
        let mut roots = RootCertStore::empty();
        let certs = CertificateDer::pem_file_iter(&s.ca)
            .map_err(|e| pem_error(&s.ca, "reading CA certificates", e))?;
        for cert in certs {
            let cert = cert.map_err(|e| pem_error(&s.ca, "reading CA certificates", e))?;
            roots
                .add(cert)
                .map_err(|e| pem_error(&s.ca, "not a usable CA certificate", e))?;
        }
        if roots.is_empty() {
            return Err(pem_error(
                &s.ca,
                "reading CA certificates",
                "no certificate in it",
            ));
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ShipError::Tls(e.to_string()))?
            .with_root_certificates(roots);
        let config = match (&s.cert, &s.key) {
            (Some(cert), Some(key)) => {
                let chain = CertificateDer::pem_file_iter(cert)
                    .map_err(|e| pem_error(cert, "reading the client certificate", e))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| pem_error(cert, "reading the client certificate", e))?;
                if chain.is_empty() {
                    return Err(pem_error(
                        cert,
                        "reading the client certificate",
                        "no certificate in it",
                    ));
                }
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| pem_error(key, "reading the client key", e))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| ShipError::Tls(format!("client certificate and key: {e}")))?
            }
            _ => builder.with_no_client_auth(),
        };
        let name = ServerName::try_from(s.server_name.clone())
            .map_err(|e| ShipError::Tls(format!("server name `{}`: {e}", s.server_name)))?;
        Ok(TlsClient {
            config: Arc::new(config),
            name,
        })
    }

    /// Runs the handshake on `tcp` (which has its timeouts set), then gives the receiver
    /// `settle` to refuse the connection: a server checks a client certificate once its
    /// side of the handshake is done, and closes the connection if it does not accept it,
    /// by which time the client has finished its side. Records written before that would
    /// be lost, since syslog over TLS has no acknowledgements.
    pub fn connect(&self, mut tcp: TcpStream, settle: Duration) -> io::Result<TlsStream> {
        let mut conn = ClientConnection::new(Arc::clone(&self.config), self.name.clone())
            .map_err(io::Error::other)?;
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp)?;
        }
        let io_timeout = tcp.read_timeout()?;
        let mut s = StreamOwned::new(conn, tcp);
        let refused = || {
            io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the receiver closed the connection after the handshake (does it want a client certificate?)",
            )
        };
        let until = Instant::now() + settle;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            s.sock.set_read_timeout(Some(left))?;
            match s.conn.read_tls(&mut s.sock) {
                Ok(0) => return Err(refused()),
                Ok(_) => {
                    let state = s.conn.process_new_packets().map_err(io::Error::other)?;
                    if state.peer_has_closed() {
                        return Err(refused());
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    break
                }
                Err(e) => return Err(e),
            }
        }
        s.sock.set_read_timeout(io_timeout)?;
        Ok(s)
    }
}
