//! A rustls TLS peer for `scripts/capture-tls-decrypt.sh`: the rustls client and server of the
//! decryption captures in `pcaps/tls/decrypt/` (issue 10 §3). Not part of exhound.
//!
//! ```text
//! tls_peer server LISTEN BACKEND --cert PEM --key PEM [--version 1.2|1.3] [--suite NAME]
//! tls_peer client CONNECT SERVER_NAME --ca PEM [--version 1.2|1.3] [--suite NAME]
//!                 [--key-update-before N[,N…]] REQUEST_FILE…
//! ```
//!
//! * `server` accepts TLS on LISTEN and, for each connection, forwards every HTTP/1.1 request
//!   it decrypts to BACKEND (plain HTTP, e.g. `scripts/fake-exchange.py`) over one backend
//!   connection, then encrypts the answer back: a TLS-terminating front end. After a request
//!   with `Connection: close` it sends the answer, then close_notify, and closes.
//! * `client` connects to CONNECT (verifying SERVER_NAME against the CA), then sends each
//!   REQUEST_FILE (one raw HTTP/1.1 request each) and reads its answer before the next, on
//!   one connection. `--key-update-before 3` sends a TLS 1.3 KeyUpdate (update_requested, so
//!   the server updates its keys too) before the third request. Ends with close_notify.
//!
//! Both write their secrets to `$SSLKEYLOGFILE` (rustls `KeyLogFile`, NSS key-log format) and
//! use the aws-lc-rs provider restricted to `--suite` (the rustls name, e.g.
//! `TLS13_AES_128_GCM_SHA256`, `TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256`) and
//! `--version`. HTTP framing is deliberately small: messages are headers plus a
//! `Content-Length` body (what the capture script and fake-exchange.py write).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use rustls::crypto::{aws_lc_rs, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{
    ClientConfig, ClientConnection, KeyLogFile, RootCertStore, ServerConfig, ServerConnection,
    StreamOwned, SupportedProtocolVersion,
};

type Error = Box<dyn std::error::Error + Send + Sync>;

fn usage() -> ! {
    eprintln!(
        "usage: tls_peer server LISTEN BACKEND --cert PEM --key PEM [--version 1.2|1.3] [--suite NAME]\n\
         \x20      tls_peer client CONNECT SERVER_NAME --ca PEM [--version 1.2|1.3] [--suite NAME] \
         [--key-update-before N[,N...]] REQUEST_FILE..."
    );
    std::process::exit(2)
}

/// The command line: positional arguments and `--name value` options.
struct Args {
    positional: Vec<String>,
    options: Vec<(String, String)>,
}

impl Args {
    fn parse() -> Args {
        let mut positional = Vec::new();
        let mut options = Vec::new();
        let mut it = std::env::args().skip(1);
        while let Some(a) = it.next() {
            if let Some(name) = a.strip_prefix("--") {
                let value = it.next().unwrap_or_else(|| usage());
                options.push((name.to_string(), value));
            } else {
                positional.push(a);
            }
        }
        Args {
            positional,
            options,
        }
    }

    fn opt(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, name: &str) -> &str {
        self.opt(name).unwrap_or_else(|| {
            eprintln!("tls_peer: --{name} is required");
            usage()
        })
    }
}

/// The aws-lc-rs provider, its suites restricted to `suite` when given.
fn provider(suite: Option<&str>) -> Result<Arc<CryptoProvider>, Error> {
    let mut p = aws_lc_rs::default_provider();
    if let Some(name) = suite {
        p.cipher_suites = aws_lc_rs::ALL_CIPHER_SUITES
            .iter()
            .copied()
            .filter(|s| format!("{:?}", s.suite()) == name)
            .collect();
        if p.cipher_suites.is_empty() {
            let known: Vec<String> = aws_lc_rs::ALL_CIPHER_SUITES
                .iter()
                .map(|s| format!("{:?}", s.suite()))
                .collect();
            return Err(format!("unknown suite {name}; known: {}", known.join(" ")).into());
        }
    }
    Ok(Arc::new(p))
}

fn versions(v: Option<&str>) -> Result<Vec<&'static SupportedProtocolVersion>, Error> {
    Ok(match v {
        None => vec![&rustls::version::TLS13, &rustls::version::TLS12],
        Some("1.3") => vec![&rustls::version::TLS13],
        Some("1.2") => vec![&rustls::version::TLS12],
        Some(other) => return Err(format!("--version {other}: 1.2 or 1.3").into()),
    })
}

/// Reads one HTTP/1.1 message (headers, then a `Content-Length` body) from `r`, `buf` holding
/// what was read past the previous message. None at a clean end of stream.
fn read_message(r: &mut impl Read, buf: &mut Vec<u8>) -> Result<Option<Vec<u8>>, Error> {
    let mut chunk = [0u8; 16384];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head_len = end + 4;
            let head = String::from_utf8_lossy(&buf[..head_len]).to_ascii_lowercase();
            let body_len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse())
                .transpose()?
                .unwrap_or(0);
            let total = head_len + body_len;
            while buf.len() < total {
                let n = r.read(&mut chunk)?;
                if n == 0 {
                    return Err("end of stream inside a message body".into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let rest = buf.split_off(total);
            return Ok(Some(std::mem::replace(buf, rest)));
        }
        let n = match r.read(&mut chunk) {
            Ok(n) => n,
            // A peer that closes without close_notify.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && buf.is_empty() => 0,
            Err(e) => return Err(e.into()),
        };
        if n == 0 {
            if buf.is_empty() {
                return Ok(None);
            }
            return Err("end of stream inside a message head".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// True when the message's headers ask to close the connection.
fn wants_close(msg: &[u8]) -> bool {
    let end = msg
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(msg.len());
    String::from_utf8_lossy(&msg[..end])
        .to_ascii_lowercase()
        .lines()
        .any(|l| l.starts_with("connection:") && l.contains("close"))
}

fn server(args: &Args) -> Result<(), Error> {
    let [_, listen, backend] = &args.positional[..] else {
        usage()
    };
    let certs =
        CertificateDer::pem_file_iter(args.required("cert"))?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(args.required("key"))?;
    let mut config = ServerConfig::builder_with_provider(provider(args.opt("suite"))?)
        .with_protocol_versions(&versions(args.opt("version"))?)?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.key_log = Arc::new(KeyLogFile::new());
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let config = Arc::new(config);
    let listener = TcpListener::bind(listen)?;
    for tcp in listener.incoming() {
        let tcp = tcp?;
        let config = config.clone();
        let backend = backend.clone();
        std::thread::spawn(move || {
            if let Err(e) = serve(config, tcp, &backend) {
                eprintln!("tls_peer server: {e}");
            }
        });
    }
    Ok(())
}

/// One front-end connection: decrypt requests, forward them, encrypt the answers.
fn serve(config: Arc<ServerConfig>, tcp: TcpStream, backend: &str) -> Result<(), Error> {
    let conn = ServerConnection::new(config)?;
    let mut tls = StreamOwned::new(conn, tcp);
    let mut back = TcpStream::connect(backend)?;
    let (mut tls_buf, mut back_buf) = (Vec::new(), Vec::new());
    let mut served = 0;
    while let Some(request) = read_message(&mut tls, &mut tls_buf)? {
        served += 1;
        back.write_all(&request)?;
        let answer =
            read_message(&mut back, &mut back_buf)?.ok_or("the backend closed without answer")?;
        tls.write_all(&answer)?;
        tls.flush()?;
        if wants_close(&request) {
            break;
        }
    }
    if served == 0 {
        // A connection that only checked the port (the capture script's wait for the
        // listener).
        return Ok(());
    }
    tls.conn.send_close_notify();
    tls.flush()?;
    tls.sock.shutdown(std::net::Shutdown::Write)?;
    // Read until the client closes too, so the capture holds its close_notify and FIN.
    let mut sink = [0u8; 4096];
    while matches!(tls.sock.read(&mut sink), Ok(n) if n > 0) {}
    Ok(())
}

fn client(args: &Args) -> Result<(), Error> {
    let [_, connect, server_name, requests @ ..] = &args.positional[..] else {
        usage()
    };
    if requests.is_empty() {
        usage()
    }
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(args.required("ca"))? {
        roots.add(cert?)?;
    }
    let mut config = ClientConfig::builder_with_provider(provider(args.opt("suite"))?)
        .with_protocol_versions(&versions(args.opt("version"))?)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.key_log = Arc::new(KeyLogFile::new());
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let updates: Vec<usize> = args
        .opt("key-update-before")
        .map(|v| v.split(',').map(|n| n.parse()).collect())
        .transpose()?
        .unwrap_or_default();
    let name = ServerName::try_from(server_name.clone())?;
    let conn = ClientConnection::new(Arc::new(config), name)?;
    let mut tls = StreamOwned::new(conn, TcpStream::connect(connect)?);
    let mut buf = Vec::new();
    for (i, file) in requests.iter().enumerate() {
        let request = std::fs::read(file)?;
        if updates.contains(&(i + 1)) {
            tls.conn.refresh_traffic_keys()?;
        }
        tls.write_all(&request)?;
        tls.flush()?;
        let answer = read_message(&mut tls, &mut buf)?.ok_or("the server closed early")?;
        let status = answer.split(|&b| b == b'\r').next().unwrap_or_default();
        eprintln!(
            "tls_peer client: {} -> {}",
            file,
            String::from_utf8_lossy(status)
        );
    }
    tls.conn.send_close_notify();
    tls.flush()?;
    tls.sock.shutdown(std::net::Shutdown::Write)?;
    let mut sink = [0u8; 4096];
    while matches!(tls.sock.read(&mut sink), Ok(n) if n > 0) {}
    Ok(())
}

fn main() {
    let args = Args::parse();
    let result = match args.positional.first().map(String::as_str) {
        Some("server") => server(&args),
        Some("client") => client(&args),
        _ => usage(),
    };
    if let Err(e) = result {
        eprintln!("tls_peer: {e}");
        std::process::exit(1);
    }
}
