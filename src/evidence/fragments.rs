//! The frames of IP fragments, held on the capture side until their datagram is whole, so
//! that a fragmented flow's evidence file has the packets that were on the wire.
//!
//! Fragments are reassembled before the workers (a later fragment carries no ports, so its
//! flow is not known until then); with evidence captures on, the dispatcher keeps a copy of
//! each fragment's frame here and, when the datagram is complete, hands the copies to the
//! flow's worker with it. Copies are bounded like the fragments themselves: by a byte cap
//! (the oldest datagram's frames go first) and by the reassembly timeout.

use std::collections::{HashMap, VecDeque};

use crate::capture::RawPacket;
use crate::decode::FragmentKey;
use crate::time::Timestamp;

/// One fragment's frame, copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldFrame {
    /// Capture time.
    pub ts: Timestamp,
    /// Link type (libpcap DLT).
    pub link_type: i32,
    /// Length on the wire.
    pub wire_len: u32,
    /// Captured bytes.
    pub data: Vec<u8>,
}

/// Frames of incomplete datagrams, by datagram.
#[derive(Debug)]
pub struct FragmentFrames {
    held: HashMap<FragmentKey, (Timestamp, Vec<HeldFrame>)>,
    /// Datagrams in the order their first frame came (with that time), for expiry and the
    /// cap; entries whose datagram is gone are skipped.
    order: VecDeque<(Timestamp, FragmentKey)>,
    bytes: usize,
    cap: usize,
    timeout_secs: u64,
    /// Frames dropped (cap or timeout) before their datagram was whole.
    pub dropped: u64,
}

impl FragmentFrames {
    /// Holds at most `cap` bytes of frames, each datagram's for `timeout_secs` at most.
    pub fn new(cap: usize, timeout_secs: u64) -> FragmentFrames {
        FragmentFrames {
            held: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            cap,
            timeout_secs,
            dropped: 0,
        }
    }

    /// Keeps a copy of the frame of a fragment of datagram `key`.
    pub fn add(&mut self, key: FragmentKey, frame: &RawPacket<'_>) {
        self.expire(frame.ts);
        let n = frame.data.len();
        while self.bytes + n > self.cap {
            if !self.drop_oldest() {
                self.dropped += 1;
                return;
            }
        }
        let entry = self.held.entry(key).or_insert_with(|| {
            self.order.push_back((frame.ts, key));
            (frame.ts, Vec::new())
        });
        entry.1.push(HeldFrame {
            ts: frame.ts,
            link_type: frame.link_type,
            wire_len: frame.wire_len,
            data: frame.data.to_vec(),
        });
        self.bytes += n;
    }

    /// The frames of datagram `key`, now whole (or given up), in capture order.
    pub fn take(&mut self, key: &FragmentKey) -> Vec<HeldFrame> {
        match self.held.remove(key) {
            Some((_, frames)) => {
                self.bytes -= frames.iter().map(|f| f.data.len()).sum::<usize>();
                frames
            }
            None => Vec::new(),
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn expire(&mut self, now: Timestamp) {
        while let Some(&(first, _)) = self.order.front() {
            if first.plus_secs(self.timeout_secs) > now {
                break;
            }
            self.drop_oldest();
        }
    }

    /// Drops the frames of the datagram held longest; false when none is held.
    fn drop_oldest(&mut self) -> bool {
        while let Some((first, key)) = self.order.pop_front() {
            if self.held.get(&key).is_some_and(|(t, _)| *t == first) {
                let frames = self.take(&key);
                self.dropped += frames.len() as u64;
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{FragmentKey, IpHeaderKey};

    fn key(id: u32) -> FragmentKey {
        FragmentKey {
            ip: IpHeaderKey {
                src: "10.0.0.1".parse().unwrap(),
                dst: "10.0.0.2".parse().unwrap(),
                vlan: Default::default(),
            },
            protocol: 6,
            id,
        }
    }

    fn frame(secs: i64, data: &[u8]) -> RawPacket<'_> {
        RawPacket {
            ts: Timestamp::from_secs(secs),
            link_type: 1,
            data,
            wire_len: data.len() as u32,
            number: 0,
        }
    }

    #[test]
    fn frames_come_back_in_order_with_their_datagram() {
        let mut f = FragmentFrames::new(1000, 60);
        f.add(key(1), &frame(1, b"a1"));
        f.add(key(2), &frame(1, b"b1"));
        f.add(key(1), &frame(2, b"a2"));
        let got: Vec<Vec<u8>> = f.take(&key(1)).into_iter().map(|h| h.data).collect();
        assert_eq!(got, vec![b"a1".to_vec(), b"a2".to_vec()]);
        assert_eq!(f.bytes(), 2);
        assert!(f.take(&key(1)).is_empty());
    }

    #[test]
    fn the_cap_and_the_timeout_drop_the_oldest_datagram() {
        let mut f = FragmentFrames::new(10, 60);
        f.add(key(1), &frame(1, b"aaaa"));
        f.add(key(2), &frame(2, b"bbbb"));
        f.add(key(3), &frame(3, b"cccc"));
        assert!(f.bytes() <= 10);
        assert!(f.take(&key(1)).is_empty(), "the oldest went");
        assert_eq!(f.dropped, 1);
        f.add(key(4), &frame(100, b"d"));
        assert!(
            f.take(&key(2)).is_empty() && f.take(&key(3)).is_empty(),
            "timed out"
        );
        assert_eq!(f.take(&key(4)).len(), 1);
        assert_eq!(f.bytes(), 0);
        // A frame larger than the cap is not held.
        f.add(key(5), &frame(100, &[0; 11]));
        assert!(f.take(&key(5)).is_empty());
    }
}
