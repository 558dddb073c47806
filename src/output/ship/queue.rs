//! The hand-off between the output thread and one shipping output's sender thread: a
//! bounded channel that never makes the output thread wait (a record that does not fit is
//! dropped and counted), the output's counters, and the back-off between reconnections.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crossbeam_channel::{Receiver, Sender, TrySendError};

/// One record on its way: the EVE line (shared by every output) and when it was handed
/// over (the syslog timestamp).
#[derive(Debug, Clone)]
pub struct Item {
    /// The EVE line, with its newline.
    pub line: Arc<[u8]>,
    /// When the output took it.
    pub at: SystemTime,
}

/// An output's counters, shared by the two threads.
#[derive(Debug, Default)]
pub struct Counters {
    offered: AtomicU64,
    sent: AtomicU64,
    dropped: AtomicU64,
    failures: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShipCounts {
    /// Records the receiver took.
    pub sent: u64,
    /// Records waiting (in the queue or being sent).
    pub queued: u64,
    /// Records dropped: the queue was full, the record could not travel (a datagram too
    /// big), or it was still waiting when the output was closed.
    pub dropped: u64,
    /// Connections that failed or broke.
    pub failures: u64,
}

impl Counters {
    /// Counts `n` records as taken by the receiver.
    pub fn sent(&self, n: usize) {
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts `n` records as dropped.
    pub fn dropped(&self, n: usize) {
        self.dropped.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts a failed or broken connection.
    pub fn failure(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> ShipCounts {
        let dropped = self.dropped.load(Ordering::Relaxed);
        let sent = self.sent.load(Ordering::Relaxed);
        let offered = self.offered.load(Ordering::Relaxed);
        ShipCounts {
            sent,
            queued: offered.saturating_sub(sent + dropped),
            dropped,
            failures: self.failures.load(Ordering::Relaxed),
        }
    }

    /// The final counters: whatever was not sent is dropped.
    pub fn close(&self) -> ShipCounts {
        let offered = self.offered.load(Ordering::Relaxed);
        let sent = self.sent.load(Ordering::Relaxed);
        ShipCounts {
            sent,
            queued: 0,
            dropped: offered.saturating_sub(sent),
            failures: self.failures.load(Ordering::Relaxed),
        }
    }
}

/// The output thread's end of the queue.
#[derive(Debug)]
pub struct QueueSender {
    tx: Sender<Item>,
    counters: Arc<Counters>,
}

impl QueueSender {
    /// Hands `item` over without waiting; false (and counted as dropped) if the queue is full.
    pub fn offer(&self, item: Item) -> bool {
        self.counters.offered.fetch_add(1, Ordering::Relaxed);
        match self.tx.try_send(item) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counters.dropped(1);
                false
            }
        }
    }
}

/// A queue of `capacity` records: the sending end, the receiving end, the counters.
pub fn bounded(capacity: usize) -> (QueueSender, Receiver<Item>, Arc<Counters>) {
    let (tx, rx) = crossbeam_channel::bounded(capacity.max(1));
    let counters = Arc::new(Counters::default());
    (
        QueueSender {
            tx,
            counters: Arc::clone(&counters),
        },
        rx,
        counters,
    )
}

/// Exponential back-off between connection attempts: `min`, doubling up to `max`; back
/// to `min` once records go through again.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// 100 ms doubling up to 5 s: a restarted receiver is found again within seconds.
    pub fn new() -> Backoff {
        Backoff::between(Duration::from_millis(100), Duration::from_secs(5))
    }

    /// From `min` doubling up to `max`.
    pub fn between(min: Duration, max: Duration) -> Backoff {
        Backoff {
            min,
            max,
            next: min,
        }
    }

    /// After a failure: how long to wait before the next attempt.
    pub fn failed(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }

    /// After a success.
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> Item {
        Item {
            line: Arc::from(&b"{}\n"[..]),
            at: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_full_queue_drops_and_counts_without_waiting() {
        let (tx, rx, counters) = bounded(2);
        assert!(tx.offer(item()));
        assert!(tx.offer(item()));
        assert!(!tx.offer(item()));
        assert_eq!(
            counters.snapshot(),
            ShipCounts {
                sent: 0,
                queued: 2,
                dropped: 1,
                failures: 0
            }
        );
        // Room again once the sender has taken one.
        assert!(rx.try_recv().is_ok());
        counters.sent(1);
        assert!(tx.offer(item()));
        let s = counters.snapshot();
        assert_eq!((s.sent, s.queued, s.dropped), (1, 2, 1));
        // Closing: what was not sent is dropped.
        let c = counters.close();
        assert_eq!((c.sent, c.queued, c.dropped), (1, 0, 3));
    }

    #[test]
    fn nothing_is_lost_while_there_is_room() {
        let (tx, rx, counters) = bounded(1000);
        for _ in 0..1000 {
            assert!(tx.offer(item()));
        }
        assert_eq!(rx.len(), 1000);
        assert_eq!(counters.snapshot().dropped, 0);
    }

    #[test]
    fn a_closed_receiver_counts_as_dropped() {
        let (tx, rx, counters) = bounded(4);
        drop(rx);
        assert!(!tx.offer(item()));
        assert_eq!(counters.snapshot().dropped, 1);
    }

    #[test]
    fn backoff_doubles_to_its_cap_and_resets() {
        let ms = Duration::from_millis;
        let mut b = Backoff::between(ms(100), ms(1000));
        let waits: Vec<Duration> = (0..6).map(|_| b.failed()).collect();
        assert_eq!(
            waits,
            [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
        );
        b.reset();
        assert_eq!(b.failed(), ms(100));
        let mut d = Backoff::new();
        assert_eq!(d.failed(), ms(100));
        for _ in 0..20 {
            d.failed();
        }
        assert_eq!(d.failed(), Duration::from_secs(5));
    }
}
