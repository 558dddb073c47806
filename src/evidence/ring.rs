//! The packets one flow keeps for evidence: a bounded ring before its first alert, then
//! its next packets up to the same depth.
//!
//! Bytes go into one `VecDeque<u8>` and each packet's header facts into another, so that a
//! ring that has grown to its depth takes further packets without allocating. The ring is
//! charged to its shard's evidence budget by the capacity of both (what it really holds);
//! a packet that would make the ring grow past the budget is not kept, and counted.

use std::collections::VecDeque;

use crate::capture::RawPacket;
use crate::time::Timestamp;

/// The header facts of one kept packet; its bytes are in the ring's byte queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeptPacket {
    /// Capture time.
    pub ts: Timestamp,
    /// Link type (libpcap DLT).
    pub link_type: i32,
    /// Length on the wire.
    pub wire_len: u32,
    /// Captured length (bytes in the ring).
    pub len: u32,
}

/// What happened to one packet offered to a ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// Kept.
    Yes,
    /// Not kept: the evidence budget is spent.
    Memcap,
    /// Not kept: the depth after the alert is reached.
    Full,
}

/// The first alert of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trigger {
    /// The time of the packet that raised it.
    pub ts: Timestamp,
    /// Its signature id.
    pub sid: u32,
}

/// One flow's evidence packets.
#[derive(Debug, Default)]
pub struct FlowCapture {
    bytes: VecDeque<u8>,
    packets: VecDeque<KeptPacket>,
    /// Bytes charged to the shard's budget, as last reported.
    charged: usize,
    /// Packets the ring dropped from its front before the alert (depth reached).
    dropped_before: u64,
    /// Packets not kept because the budget was spent.
    dropped_memcap: u64,
    /// Segments seen without their frames (IP fragments whose frames were not kept).
    without_frame: u64,
    /// Packets not kept after the alert because the depth was reached.
    dropped_after: u64,
    /// The first alert, once there is one.
    trigger: Option<Trigger>,
    /// Signature ids of the flow's alerts, in the order first raised.
    sids: Vec<u32>,
    /// Bytes kept since the alert.
    after: usize,
    /// Some alert of the flow stands whatever the state shared across flows says (it has no
    /// xbit condition or rate limit left to settle).
    certain: bool,
    /// Sids raised only by alerts still to be settled across flows.
    unsettled: Vec<u32>,
}

impl FlowCapture {
    /// An empty ring (allocates nothing until its first packet).
    pub fn new() -> FlowCapture {
        FlowCapture::default()
    }

    /// Offers one packet with a depth of `depth` bytes; `used` and `cap` are the shard's
    /// evidence budget, brought up to date.
    pub fn push(
        &mut self,
        frame: &RawPacket<'_>,
        depth: usize,
        used: &mut usize,
        cap: usize,
    ) -> Kept {
        let data = frame.data;
        let n = data.len();
        if self.trigger.is_some() {
            if self.after.saturating_add(n) > depth {
                self.dropped_after += 1;
                return Kept::Full;
            }
        } else {
            // The most recent packets up to the depth (at least the newest one).
            while !self.packets.is_empty() && self.bytes.len() + n > depth {
                self.pop_front();
            }
        }
        if self.bytes.len() + n > self.bytes.capacity()
            || self.packets.len() == self.packets.capacity()
        {
            // Growing: by doubling, but never past what the depth needs, and only within
            // the budget.
            let limit = if self.trigger.is_some() {
                self.bytes.len() - self.after + depth
            } else {
                depth
            }
            .max(n);
            // From the first packet's size up: a flood of one-packet flows must not reserve
            // more than it holds.
            let want_bytes = (self.bytes.capacity() * 2)
                .max(self.bytes.len() + n)
                .min(limit.max(self.bytes.len() + n));
            let want_packets = (self.packets.capacity() * 2).max(4);
            let new_charge = want_bytes.max(self.bytes.capacity())
                + want_packets.max(self.packets.capacity()) * std::mem::size_of::<KeptPacket>();
            if (*used)
                .saturating_sub(self.charged)
                .saturating_add(new_charge)
                > cap
            {
                self.dropped_memcap += 1;
                return Kept::Memcap;
            }
            if self.bytes.len() + n > self.bytes.capacity() {
                self.bytes.reserve_exact(want_bytes - self.bytes.len());
            }
            if self.packets.len() == self.packets.capacity() {
                self.packets
                    .reserve_exact(want_packets - self.packets.len());
            }
            self.recharge(used);
        }
        self.bytes.extend(data);
        self.packets.push_back(KeptPacket {
            ts: frame.ts,
            link_type: frame.link_type,
            wire_len: frame.wire_len.max(n as u32),
            len: n as u32,
        });
        if self.trigger.is_some() {
            self.after += n;
        }
        Kept::Yes
    }

    fn pop_front(&mut self) {
        if let Some(p) = self.packets.pop_front() {
            self.bytes.drain(..(p.len as usize).min(self.bytes.len()));
            self.dropped_before += 1;
        }
    }

    /// Brings the shard's charge for this ring up to date.
    fn recharge(&mut self, used: &mut usize) {
        let now = self.heap_bytes();
        *used = (*used + now).saturating_sub(self.charged);
        self.charged = now;
    }

    /// Bytes the ring holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.packets.capacity() * std::mem::size_of::<KeptPacket>()
    }

    /// Takes the ring's charge off the shard's budget (the ring is being dropped or
    /// written).
    pub fn release(&mut self, used: &mut usize) {
        *used = used.saturating_sub(self.charged);
        self.charged = 0;
    }

    /// A packet of the flow arrived without its frame (reassembled from fragments).
    pub fn note_without_frame(&mut self) {
        self.without_frame += 1;
    }

    /// The flow raised an alert of `sid` on a packet at `ts`; `certain` when it stands
    /// whatever the state shared across flows says.
    pub fn alert(&mut self, ts: Timestamp, sid: u32, certain: bool) {
        self.certain |= certain;
        if certain {
            self.unsettled.retain(|s| *s != sid);
        } else if !self.sids.contains(&sid) {
            self.unsettled.push(sid);
        }
        self.trigger.get_or_insert(Trigger { ts, sid });
        if !self.sids.contains(&sid) {
            self.sids.push(sid);
        }
    }

    /// The flow raised these alerts (sid, packet time, certain), in order.
    #[inline(never)]
    pub fn alerts(&mut self, alerts: &[(u32, Timestamp, bool)]) {
        for &(sid, ts, certain) in alerts {
            self.alert(ts, sid, certain);
        }
    }

    /// Whether some alert of the flow stands whatever the state shared across flows says;
    /// if not, the output keeps the file only if one of them stood once settled.
    pub fn certain(&self) -> bool {
        self.certain
    }

    /// The sid a file is named by: the first alert's that stands whatever the state shared
    /// across flows says, else the first alert's.
    pub fn name_sid(&self) -> Option<u32> {
        let first = self.trigger?.sid;
        Some(
            self.sids
                .iter()
                .copied()
                .find(|s| !self.unsettled.contains(s))
                .unwrap_or(first),
        )
    }

    /// Sids raised only by alerts still to be settled across flows: the output drops those
    /// that did not stand from the index line.
    pub fn unsettled_sids(&self) -> &[u32] {
        &self.unsettled
    }

    /// The first alert, if the flow raised one.
    pub fn trigger(&self) -> Option<Trigger> {
        self.trigger
    }

    /// Signature ids of the flow's alerts, in the order first raised.
    pub fn sids(&self) -> &[u32] {
        &self.sids
    }

    /// The kept packets, oldest first, with their bytes.
    pub fn packets(&self) -> impl Iterator<Item = (KeptPacket, PacketBytes<'_>)> + '_ {
        let (a, b) = self.bytes.as_slices();
        let mut at = 0usize;
        self.packets.iter().map(move |p| {
            let start = at;
            at += p.len as usize;
            (*p, PacketBytes::of(a, b, start, p.len as usize))
        })
    }

    /// Packets kept.
    pub fn packet_count(&self) -> usize {
        self.packets.len()
    }

    /// Captured bytes kept.
    pub fn byte_count(&self) -> usize {
        self.bytes.len()
    }

    /// Packets dropped from the front before the alert (depth).
    pub fn dropped_before(&self) -> u64 {
        self.dropped_before
    }

    /// Packets not kept after the alert (depth).
    pub fn dropped_after(&self) -> u64 {
        self.dropped_after
    }

    /// Packets not kept because the budget was spent.
    pub fn dropped_memcap(&self) -> u64 {
        self.dropped_memcap
    }

    /// Packets seen without their frame.
    pub fn without_frame(&self) -> u64 {
        self.without_frame
    }
}

/// One kept packet's bytes: one slice, or two when they wrap around the ring's end.
#[derive(Debug, Clone, Copy)]
pub struct PacketBytes<'a>(pub &'a [u8], pub &'a [u8]);

impl<'a> PacketBytes<'a> {
    fn of(a: &'a [u8], b: &'a [u8], start: usize, len: usize) -> PacketBytes<'a> {
        let end = start + len;
        if end <= a.len() {
            PacketBytes(a.get(start..end).unwrap_or(&[]), &[])
        } else if start >= a.len() {
            let (s, e) = (start - a.len(), end - a.len());
            PacketBytes(b.get(s..e).unwrap_or(&[]), &[])
        } else {
            PacketBytes(&a[start..], b.get(..end - a.len()).unwrap_or(&[]))
        }
    }

    /// The bytes, copied into one vector (for tests).
    pub fn to_vec(self) -> Vec<u8> {
        [self.0, self.1].concat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(
        r: &mut FlowCapture,
        i: u8,
        len: usize,
        depth: usize,
        used: &mut usize,
        cap: usize,
    ) -> Kept {
        let data = vec![i; len];
        let frame = RawPacket {
            ts: Timestamp::from_secs(i64::from(i)),
            link_type: 1,
            data: &data,
            wire_len: len as u32,
            number: u64::from(i),
        };
        r.push(&frame, depth, used, cap)
    }

    fn contents(r: &FlowCapture) -> Vec<Vec<u8>> {
        r.packets().map(|(_, b)| b.to_vec()).collect()
    }

    #[test]
    fn keeps_the_most_recent_packets_up_to_the_depth_before_an_alert() {
        let (mut r, mut used) = (FlowCapture::new(), 0);
        for i in 0..10u8 {
            assert_eq!(push(&mut r, i, 100, 350, &mut used, usize::MAX), Kept::Yes);
        }
        // 350 bytes hold three packets of 100: the last three.
        assert_eq!(contents(&r), vec![vec![7; 100], vec![8; 100], vec![9; 100]]);
        assert_eq!(r.dropped_before(), 7);
        assert_eq!(r.byte_count(), 300);
        assert!(r.byte_count() <= 350);
    }

    #[test]
    fn wraps_around_without_mixing_bytes_and_without_growing() {
        let (mut r, mut used) = (FlowCapture::new(), 0);
        let mut grown = 0;
        // Odd sizes make packets straddle the end of the byte queue.
        for i in 0..250u8 {
            if i == 50 {
                grown = r.heap_bytes();
                assert!(r.bytes.capacity() <= 4096, "never past the depth");
            }
            push(
                &mut r,
                i,
                700 + usize::from(i % 7) * 50,
                4096,
                &mut used,
                usize::MAX,
            );
            let got = contents(&r);
            let last = got.last().cloned().unwrap_or_default();
            assert!(last.iter().all(|&b| b == i), "packet {i} intact");
            for p in &got {
                assert!(
                    p.windows(2).all(|w| w[0] == w[1]),
                    "one packet's bytes, in order"
                );
            }
        }
        assert_eq!(r.heap_bytes(), grown, "steady state: no growth");
        assert!(r.dropped_before() > 200);
        assert_eq!(used, r.heap_bytes());
    }

    #[test]
    fn after_the_alert_keeps_the_depth_again_then_counts_the_rest() {
        let (mut r, mut used) = (FlowCapture::new(), 0);
        for i in 0..5u8 {
            push(&mut r, i, 100, 250, &mut used, usize::MAX);
        }
        assert_eq!(r.dropped_before(), 3);
        r.alert(Timestamp::from_secs(4), 42, true);
        r.alert(Timestamp::from_secs(4), 43, true);
        r.alert(Timestamp::from_secs(5), 42, true);
        assert_eq!(r.sids(), &[42, 43]);
        assert_eq!(r.trigger().map(|t| t.sid), Some(42));
        for i in 5..7u8 {
            assert_eq!(
                push(&mut r, i, 100, 250, &mut used, usize::MAX),
                Kept::Yes,
                "{i}"
            );
        }
        // Two packets of 100 fit in 250 bytes after the alert; nothing before is dropped now.
        for i in 7..9u8 {
            assert_eq!(push(&mut r, i, 100, 250, &mut used, usize::MAX), Kept::Full);
        }
        let firsts: Vec<u8> = contents(&r).iter().map(|p| p[0]).collect();
        assert_eq!(firsts, vec![3, 4, 5, 6]);
        assert_eq!(r.dropped_after(), 2);
        assert_eq!(r.dropped_before(), 3);
    }

    #[test]
    fn the_budget_is_never_passed_and_what_does_not_fit_is_counted() {
        let cap = 10_000;
        let mut used = 0;
        let mut rings: Vec<FlowCapture> = (0..5).map(|_| FlowCapture::new()).collect();
        for round in 0..50u8 {
            for r in &mut rings {
                push(r, round, 500, 1 << 20, &mut used, cap);
                assert!(used <= cap, "{used} > {cap}");
            }
        }
        let dropped: u64 = rings.iter().map(FlowCapture::dropped_memcap).sum();
        assert!(dropped > 0);
        assert_eq!(
            used,
            rings.iter().map(FlowCapture::heap_bytes).sum::<usize>()
        );
        for r in &mut rings {
            r.release(&mut used);
        }
        assert_eq!(used, 0);
    }

    #[test]
    fn a_one_packet_flow_reserves_about_its_packet() {
        let (mut r, mut used) = (FlowCapture::new(), 0);
        push(&mut r, 1, 60, 1 << 20, &mut used, usize::MAX);
        assert!(
            used <= 60 + 4 * std::mem::size_of::<KeptPacket>() + 64,
            "{used}"
        );
        assert_eq!(used, r.heap_bytes());
    }

    #[test]
    fn a_packet_larger_than_the_depth_is_kept_alone() {
        let (mut r, mut used) = (FlowCapture::new(), 0);
        push(&mut r, 1, 10, 100, &mut used, usize::MAX);
        push(&mut r, 2, 300, 100, &mut used, usize::MAX);
        assert_eq!(contents(&r), vec![vec![2; 300]]);
        assert_eq!(r.dropped_before(), 1);
    }

    #[test]
    fn alerts_left_to_settle_are_told_apart() {
        let t = Timestamp::from_secs;
        let mut c = FlowCapture::new();
        c.alerts(&[(4210611, t(1), false)]);
        assert!(!c.certain());
        assert_eq!(c.unsettled_sids(), &[4210611]);
        assert_eq!(c.name_sid(), Some(4210611));
        c.alerts(&[(4210602, t(2), true), (4210611, t(3), false)]);
        assert!(c.certain());
        // Named by the first alert that stands without settling; 4210611 is still only
        // raised unsettled, so the output may drop it from the index.
        assert_eq!(c.name_sid(), Some(4210602));
        assert_eq!(c.unsettled_sids(), &[4210611]);
        assert_eq!(c.trigger().map(|t| t.sid), Some(4210611));
        // A sid also raised by a final alert is no longer unsettled.
        c.alerts(&[(4210611, t(4), true)]);
        assert!(c.unsettled_sids().is_empty());
    }
}
