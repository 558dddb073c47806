//! The sender thread of one shipping output: takes records off its queue in batches,
//! connects (again) with back-off when the receiver is away, and counts what the receiver
//! took. A record stays in hand until it has been sent, so that nothing is lost while the
//! receiver is away and the queue has room; after a broken connection the batch is sent
//! again (at least once).
//!
//! Before each batch a stream connection is checked for an end the receiver has already
//! sent (a receiver that stopped closes its connections): writing into such a connection
//! would succeed and lose the records.

use std::io::{self, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::queue::{Backoff, Counters, Item};
use super::redis::{self, RedisMode};
use super::syslog::{self, Header};
use super::tls::{TlsClient, TlsStream};
use super::url::{Kind, Target, Transport};

/// Records sent in one go at most.
const BATCH: usize = 256;
/// Time allowed to connect, and for one write or reply.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Time a TLS receiver gets after the handshake to refuse the connection.
const TLS_SETTLE: Duration = Duration::from_millis(250);
/// The largest UDP payload (IPv4).
const MAX_DATAGRAM: usize = 65_507;

/// Everything the thread needs.
pub struct Sender {
    /// Where and how.
    pub target: Target,
    /// TLS settings, for `syslog+tls`.
    pub tls: Option<TlsClient>,
    /// The syslog header fields.
    pub header: Header,
    /// The queue.
    pub rx: Receiver<Item>,
    /// The output's counters.
    pub counters: Arc<Counters>,
    /// Set when the output gives up waiting for the receiver.
    pub stop: Arc<AtomicBool>,
}

/// A connection to the receiver.
enum Conn {
    Udp(UdpSocket),
    Tcp(TcpStream),
    Tls(Box<TlsStream>),
    Redis(BufReader<TcpStream>),
}

/// A batch that did not all go: how many of its first records are done with (`sent` of
/// them sent, the others dropped), and why the rest did not go.
struct Broken {
    done: usize,
    sent: usize,
    error: io::Error,
}

impl Sender {
    /// Runs until the queue is closed and empty, or `stop` is set.
    pub fn run(self) {
        let mut pending: Vec<Item> = Vec::with_capacity(BATCH);
        let mut conn: Option<Conn> = None;
        let mut backoff = Backoff::new();
        let mut outage = false;
        while !self.stop.load(Ordering::Relaxed) {
            if pending.is_empty() {
                match self.rx.recv_timeout(Duration::from_millis(200)) {
                    Ok(item) => pending.push(item),
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
            if conn.as_mut().is_some_and(|c| !c.alive()) {
                conn = None;
            }
            let c = match conn.as_mut() {
                Some(c) => c,
                None => match self.connect() {
                    Ok(c) => conn.insert(c),
                    Err(e) => {
                        self.failed(&mut outage, "cannot connect", &e);
                        self.pause(backoff.failed());
                        continue;
                    }
                },
            };
            // Only with a connection: while the receiver is away the records wait in the
            // queue, whose size is then what the output holds.
            while pending.len() < BATCH {
                match self.rx.try_recv() {
                    Ok(item) => pending.push(item),
                    Err(_) => break,
                }
            }
            match self.send(c, &pending) {
                Ok(dropped) => {
                    self.counters.sent(pending.len() - dropped);
                    pending.clear();
                    backoff.reset();
                    if outage {
                        eprintln!("exhound: {}: connected again", self.target.url);
                        outage = false;
                    }
                }
                Err(b) => {
                    self.counters.sent(b.sent);
                    pending.drain(..b.done);
                    conn = None;
                    self.failed(&mut outage, "sending failed", &b.error);
                    self.pause(backoff.failed());
                }
            }
        }
    }

    /// Counts a failure, and says so once per outage.
    fn failed(&self, outage: &mut bool, what: &str, e: &io::Error) {
        self.counters.failure();
        if !*outage {
            eprintln!(
                "exhound: {}: {what}: {e}; retrying (records wait in the queue)",
                self.target.url
            );
            *outage = true;
        }
    }

    /// Sleeps `d`, waking early when told to stop.
    fn pause(&self, d: Duration) {
        let until = Instant::now() + d;
        while !self.stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now >= until {
                break;
            }
            std::thread::sleep((until - now).min(Duration::from_millis(50)));
        }
    }

    fn tcp(&self) -> io::Result<TcpStream> {
        let mut last = None;
        for addr in self.target.address().to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(s) => {
                    s.set_read_timeout(Some(IO_TIMEOUT))?;
                    s.set_write_timeout(Some(IO_TIMEOUT))?;
                    s.set_nodelay(true)?;
                    return Ok(s);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last
            .unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the host has no address")))
    }

    fn connect(&self) -> io::Result<Conn> {
        match &self.target.kind {
            Kind::Syslog { transport, .. } => match transport {
                Transport::Udp => {
                    let addr =
                        self.target
                            .address()
                            .to_socket_addrs()?
                            .next()
                            .ok_or_else(|| {
                                io::Error::new(io::ErrorKind::NotFound, "the host has no address")
                            })?;
                    let local = if addr.is_ipv4() {
                        "0.0.0.0:0"
                    } else {
                        "[::]:0"
                    };
                    let s = UdpSocket::bind(local)?;
                    s.connect(addr)?;
                    s.set_write_timeout(Some(IO_TIMEOUT))?;
                    Ok(Conn::Udp(s))
                }
                Transport::Tcp => Ok(Conn::Tcp(self.tcp()?)),
                Transport::Tls(_) => {
                    let tls = self
                        .tls
                        .as_ref()
                        .ok_or_else(|| io::Error::other("TLS was not set up for this output"))?;
                    Ok(Conn::Tls(Box::new(tls.connect(self.tcp()?, TLS_SETTLE)?)))
                }
            },
            Kind::Redis { .. } => Ok(Conn::Redis(BufReader::new(self.tcp()?))),
        }
    }

    /// Sends `items`; `Ok` says how many of them were dropped instead (they cannot travel).
    fn send(&self, conn: &mut Conn, items: &[Item]) -> Result<usize, Broken> {
        let whole = |error| Broken {
            done: 0,
            sent: 0,
            error,
        };
        match (conn, &self.target.kind) {
            (Conn::Udp(s), _) => {
                let mut dropped = 0;
                for (i, item) in items.iter().enumerate() {
                    let msg = self.header.message(&item.line, item.at);
                    if msg.len() > MAX_DATAGRAM {
                        // It can never travel over UDP: dropped, not sent.
                        self.counters.dropped(1);
                        dropped += 1;
                        continue;
                    }
                    if let Err(error) = s.send(&msg) {
                        return Err(Broken {
                            done: i,
                            sent: i - dropped,
                            error,
                        });
                    }
                }
                Ok(dropped)
            }
            (Conn::Tcp(s), _) => s.write_all(&self.frames(items)).map(|()| 0).map_err(whole),
            (Conn::Tls(s), _) => {
                let frames = self.frames(items);
                s.write_all(&frames)
                    .and_then(|()| s.flush())
                    .map(|()| 0)
                    .map_err(whole)
            }
            (Conn::Redis(r), Kind::Redis { key, mode }) => {
                let lines: Vec<&[u8]> = items.iter().map(|i| &i.line[..]).collect();
                let (cmd, replies) = redis::commands(*mode, key, &lines);
                r.get_mut().write_all(&cmd).map_err(whole)?;
                for n in 0..replies {
                    if let Err(error) = redis::read_integer_reply(r) {
                        // A list push is all or nothing; publishes count one by one.
                        let sent = if *mode == RedisMode::Publish { n } else { 0 };
                        return Err(Broken {
                            done: sent,
                            sent,
                            error,
                        });
                    }
                }
                Ok(0)
            }
            (Conn::Redis(_), Kind::Syslog { .. }) => Err(whole(io::Error::other(
                "a Redis connection for a syslog output",
            ))),
        }
    }

    /// The octet-counted syslog frames of `items`.
    fn frames(&self, items: &[Item]) -> Vec<u8> {
        let mut out = Vec::with_capacity(items.iter().map(|i| i.line.len() + 96).sum());
        for item in items {
            syslog::frame(&self.header.message(&item.line, item.at), &mut out);
        }
        out
    }
}

impl Conn {
    /// False when the receiver has closed the connection (or it broke).
    fn alive(&mut self) -> bool {
        match self {
            Conn::Udp(_) => true,
            Conn::Tcp(s) => stream_open(s),
            Conn::Redis(r) => !r.buffer().is_empty() || stream_open(r.get_mut()),
            Conn::Tls(s) => tls_open(s),
        }
    }
}

/// Peeks without waiting: an end of stream or an error means the connection is gone;
/// nothing to read means it is open (a syslog receiver or Redis says nothing unasked).
fn stream_open(s: &TcpStream) -> bool {
    if s.set_nonblocking(true).is_err() {
        return false;
    }
    let mut b = [0u8; 1];
    let open = match s.peek(&mut b) {
        Ok(0) => false,
        Ok(_) => true,
        Err(e) => e.kind() == io::ErrorKind::WouldBlock,
    };
    s.set_nonblocking(false).is_ok() && open
}

/// As [`stream_open`] for TLS: what the server sent (session tickets, a close_notify) is
/// read and processed first.
fn tls_open(s: &mut TlsStream) -> bool {
    if s.sock.set_nonblocking(true).is_err() {
        return false;
    }
    let mut open = true;
    loop {
        match s.conn.read_tls(&mut s.sock) {
            Ok(0) => {
                open = false;
                break;
            }
            Ok(_) => match s.conn.process_new_packets() {
                Ok(state) if state.peer_has_closed() => {
                    open = false;
                    break;
                }
                Ok(_) => {
                    // Application data from a syslog receiver is not expected: discard it.
                    let mut sink = [0u8; 512];
                    while matches!(s.conn.reader().read(&mut sink), Ok(n) if n > 0) {}
                }
                Err(_) => {
                    open = false;
                    break;
                }
            },
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(_) => {
                open = false;
                break;
            }
        }
    }
    s.sock.set_nonblocking(false).is_ok() && open
}
