//! Live capture from network interfaces through libpcap.
//!
//! [`LiveInterface`] opens one interface with the settings a SPAN-port sensor needs
//! ([`LiveConfig`]: snap length, promiscuous mode, kernel buffer, immediate mode, a BPF filter
//! compiled into the kernel) and puts it in non-blocking mode: a blocking read can hang for
//! ever on an idle Linux interface (libpcap's TPACKET_V3 timeout only runs once a packet has
//! arrived), so the caller polls [`LiveInterface::fd`] with a timeout of its own and reads
//! until [`LiveInterface::next_packet`] says there is nothing more. That keeps shutdown
//! immediate whatever the traffic.
//!
//! [`LiveInterface::counters`] returns libpcap's counters (packets that passed the filter,
//! ring-buffer drops, interface drops) widened from libpcap's wrapping 32-bit values to 64
//! bits, as Suricata does.

use std::os::fd::{AsFd, BorrowedFd};

use super::RawPacket;
use crate::time::Timestamp;

/// How interfaces are opened.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Bytes captured of each packet.
    pub snaplen: i32,
    /// Promiscuous mode.
    pub promisc: bool,
    /// Kernel capture buffer, bytes.
    pub buffer_size: i32,
    /// Deliver packets as they arrive rather than in blocks.
    pub immediate: bool,
    /// A BPF filter expression.
    pub bpf: Option<String>,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            snaplen: 262_144,
            promisc: true,
            buffer_size: 64 << 20,
            immediate: false,
            bpf: None,
        }
    }
}

/// Why an interface could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// libpcap could not open the interface (no such device, no permission…).
    #[error("{interface}: cannot capture: {message}")]
    Open {
        /// The interface.
        interface: String,
        /// libpcap's message.
        message: String,
    },
    /// The BPF expression did not compile for this interface.
    #[error("{interface}: bad BPF filter {expr:?}: {message}")]
    Filter {
        /// The interface.
        interface: String,
        /// The expression.
        expr: String,
        /// libpcap's message.
        message: String,
    },
    /// A read failed (the interface went away…).
    #[error("{interface}: capture failed: {message}")]
    Read {
        /// The interface.
        interface: String,
        /// libpcap's message.
        message: String,
    },
}

/// libpcap's counters of one interface, 64 bits wide.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveCounters {
    /// Packets that passed the filter (dropped ones included).
    pub received: u64,
    /// Packets dropped because the ring buffer was full.
    pub dropped: u64,
    /// Packets the interface dropped (0 when unknown or without promiscuous mode).
    pub if_dropped: u64,
}

/// One open interface.
pub struct LiveInterface {
    name: String,
    capture: pcap::Capture<pcap::Active>,
    link_type: i32,
    last: [u32; 3],
    totals: LiveCounters,
}

impl LiveInterface {
    /// Opens `name` with `config`, in non-blocking mode.
    pub fn open(name: &str, config: &LiveConfig) -> Result<LiveInterface, LiveError> {
        let open_err = |e: pcap::Error| LiveError::Open {
            interface: name.to_string(),
            message: e.to_string(),
        };
        let capture = pcap::Capture::from_device(name)
            .map_err(open_err)?
            .snaplen(config.snaplen)
            .promisc(config.promisc)
            .buffer_size(config.buffer_size)
            .immediate_mode(config.immediate)
            // The block timeout bounds how long packets wait in a partly filled block.
            .timeout(10)
            .open()
            .map_err(open_err)?;
        let mut capture = capture.setnonblock().map_err(open_err)?;
        if let Some(expr) = &config.bpf {
            capture.filter(expr, true).map_err(|e| LiveError::Filter {
                interface: name.to_string(),
                expr: expr.clone(),
                message: e.to_string(),
            })?;
        }
        let link_type = capture.get_datalink().0;
        Ok(LiveInterface {
            name: name.to_string(),
            capture,
            link_type,
            last: [0; 3],
            totals: LiveCounters::default(),
        })
    }

    /// The interface's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The descriptor to poll for readability.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.capture.as_fd()
    }

    /// The next packet waiting, `None` when there is none right now.
    pub fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, LiveError> {
        match self.capture.next_packet() {
            Ok(p) => Ok(Some(RawPacket {
                ts: timestamp(p.header),
                link_type: self.link_type,
                data: p.data,
                wire_len: p.header.len,
                number: 0,
            })),
            Err(pcap::Error::TimeoutExpired) => Ok(None),
            Err(e) => Err(LiveError::Read {
                interface: self.name.clone(),
                message: e.to_string(),
            }),
        }
    }

    /// libpcap's counters since the interface was opened.
    pub fn counters(&mut self) -> LiveCounters {
        if let Ok(s) = self.capture.stats() {
            let now = [s.received, s.dropped, s.if_dropped];
            let totals = [
                &mut self.totals.received,
                &mut self.totals.dropped,
                &mut self.totals.if_dropped,
            ];
            for ((total, last), now) in totals.into_iter().zip(&mut self.last).zip(now) {
                *total += u64::from(now.wrapping_sub(*last));
                *last = now;
            }
        }
        self.totals
    }
}

/// A record header's time as a [`Timestamp`] (live captures use µs precision).
fn timestamp(header: &pcap::PacketHeader) -> Timestamp {
    #[allow(clippy::useless_conversion)]
    let secs = i64::from(header.ts.tv_sec);
    let micros = u32::try_from(header.ts.tv_usec).unwrap_or(0);
    Timestamp::from_parts(secs, micros.saturating_mul(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_interface_is_named() {
        let err = LiveInterface::open("exhound-no-such-if0", &LiveConfig::default())
            .err()
            .expect("no such interface");
        assert!(
            err.to_string()
                .starts_with("exhound-no-such-if0: cannot capture"),
            "{err}"
        );
    }
}
