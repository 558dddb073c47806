//! Shipping EVE records to a log platform while they are written: RFC 5424 syslog over UDP,
//! TCP or TLS, and Redis lists or channels.
//!
//! Each output ([`Shipper`]) has a bounded queue and a sender thread of its own. The output
//! thread hands each already-formatted EVE line over with a `try_send` and never waits: a
//! slow or dead receiver fills the queue, and records that find it full are dropped and
//! counted. The sender reconnects with exponential back-off and keeps a record until the
//! receiver has taken it, so nothing is lost while the queue has room. Closing an output
//! waits (a bounded time) for its queue to drain; what is left then is counted as dropped.
//!
//! [`url`] parses the outputs' URLs, [`queue`] is the hand-off and its counters,
//! [`syslog`] and [`redis`] the wire formats, [`tls`] the TLS client, [`sender`] the thread.

pub mod queue;
pub mod redis;
pub mod sender;
pub mod syslog;
pub mod tls;
pub mod url;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

pub use queue::ShipCounts;
pub use url::Target;

use queue::{Item, QueueSender};
use url::{Kind, Transport};

/// What can go wrong setting an output up.
#[derive(Debug, thiserror::Error)]
pub enum ShipError {
    /// The URL does not say what it should.
    #[error("`{url}`: {why}")]
    Url {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// The TLS settings could not be loaded.
    #[error("TLS: {0}")]
    Tls(String),
    /// The sender thread could not be started.
    #[error("starting the sender thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// One shipping output: its queue and its sender thread.
pub struct Shipper {
    target: Target,
    queue: Option<QueueSender>,
    counters: Arc<queue::Counters>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Shipper {
    /// Sets the output up (reading its TLS files) and starts its sender thread. The first
    /// connection is made by that thread: a receiver that is not up yet is not an error.
    pub fn start(target: Target) -> Result<Shipper, ShipError> {
        let tls = match &target.kind {
            Kind::Syslog {
                transport: Transport::Tls(s),
                ..
            } => Some(tls::TlsClient::new(s)?),
            _ => None,
        };
        let facility = match &target.kind {
            Kind::Syslog { facility, .. } => *facility,
            Kind::Redis { .. } => syslog::Facility::LOCAL5,
        };
        let hostname = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default();
        let header = syslog::Header::new(facility, &hostname, std::process::id());
        let (tx, rx, counters) = queue::bounded(target.queue);
        let stop = Arc::new(AtomicBool::new(false));
        let sender = sender::Sender {
            target: target.clone(),
            tls,
            header,
            rx,
            counters: Arc::clone(&counters),
            stop: Arc::clone(&stop),
        };
        let thread = std::thread::Builder::new()
            .name("exhound-ship".into())
            .spawn(move || sender.run())?;
        Ok(Shipper {
            target,
            queue: Some(tx),
            counters,
            stop,
            thread: Some(thread),
        })
    }

    /// The output's URL.
    pub fn url(&self) -> &str {
        &self.target.url
    }

    /// Hands a line over without waiting (dropped and counted if the queue is full).
    pub fn offer(&self, line: &Arc<[u8]>) {
        if let Some(q) = &self.queue {
            q.offer(Item {
                line: Arc::clone(line),
                at: SystemTime::now(),
            });
        }
    }

    /// The counters now.
    pub fn counts(&self) -> ShipCounts {
        self.counters.snapshot()
    }

    /// Closes the queue and waits up to `wait` for the sender to send what is in it; then
    /// gives up on the rest. The final counters: every record not sent is dropped.
    pub fn close(&mut self, wait: Duration) -> ShipCounts {
        self.queue = None;
        let until = Instant::now() + wait;
        if let Some(t) = &self.thread {
            while !t.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.stop.store(true, Ordering::Relaxed);
        // The thread notices within a pause step, or when its write times out: wait a
        // little for it so that the counts are final, but never for a stuck socket.
        let grace = Instant::now() + Duration::from_millis(500);
        if let Some(t) = self.thread.take() {
            while !t.is_finished() && Instant::now() < grace {
                std::thread::sleep(Duration::from_millis(10));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
        self.counters.close()
    }
}

impl Drop for Shipper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
