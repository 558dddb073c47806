//! Capture: packets from pcap/pcapng files (and, later, live interfaces) through libpcap.

mod time;

pub use time::Timestamp;
