//! Interleaves open connections in time order: a heap keyed by each connection's next packet
//! time, so that a capture of any length is written while only the connections open at that
//! moment are held in memory.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Write};

use super::pcap::PcapWriter;
use super::tcp::Flow;

/// The open connections, by next packet time.
#[derive(Default)]
pub struct Merge {
    slots: Vec<Option<Flow>>,
    free: Vec<usize>,
    /// (next packet time, flow number, slot), earliest first; ties go to the older flow.
    heap: BinaryHeap<Reverse<(u64, u64, usize)>>,
}

impl Merge {
    /// An empty merge.
    pub fn new() -> Merge {
        Merge::default()
    }

    /// Adds connection number `id` (numbers increase with start time).
    pub fn add(&mut self, id: u64, flow: Flow) {
        let Some(first) = flow.pkts.first().map(|p| p.ts) else {
            return;
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s] = Some(flow);
                s
            }
            None => {
                self.slots.push(Some(flow));
                self.slots.len() - 1
            }
        };
        self.heap.push(Reverse((first, id, slot)));
    }

    /// Connections not yet written out.
    pub fn open(&self) -> usize {
        self.heap.len()
    }

    /// Time of the earliest packet not yet written, if any.
    pub fn next_ts(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse((ts, _, _))| *ts)
    }

    /// Writes the earliest packet; false when there was none.
    pub fn write_next<W: Write>(&mut self, w: &mut PcapWriter<W>) -> io::Result<bool> {
        let Some(Reverse((_, id, slot))) = self.heap.pop() else {
            return Ok(false);
        };
        let Some(flow) = self.slots[slot].as_mut() else {
            return Ok(false);
        };
        w.write_next(flow)?;
        if let Some(p) = flow.pkts.get(flow.next) {
            self.heap.push(Reverse((p.ts, id, slot)));
        } else {
            self.slots[slot] = None;
            self.free.push(slot);
        }
        Ok(true)
    }
}
