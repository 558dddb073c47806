//! A flow table: lookup, packet-time expiry, and eviction of the oldest idle flows on demand.
//!
//! Expiry runs at most once per second of packet time. It does not walk the table: each flow
//! waits in an [`ExpiryQueue`] under a second at or before the one it may be due in, and only
//! the flows of seconds that have come are looked at. A flow touched since it was queued is
//! queued again, at its new time or one closed timeout later, whichever comes first: a flow
//! that then closes (its deadline becomes its last packet plus the closed timeout) is already
//! queued early enough, and needs no second entry. (With the flow queued under its idle
//! deadline, ten minutes away, every closed flow left a stale entry behind: at the peak of a
//! two-worker replay of the 469 MB benchmark capture the queue held 1.41 MB, and 0.67 MB
//! without them.) So a flow is looked at about once per closed timeout instead of once per
//! second. Walking 50,000 flows every second of packet time was 3.6% of a two-worker replay
//! (perf, 469 MB capture; a binary heap in its place still cost 1.6%, its entries moving
//! through every level at each pop); the flows that expire, and when, are the same as the
//! walk's. The owner keeps the memory budget (it knows what each flow holds besides its entry):
//! it reads the bytes the table itself takes ([`FlowTable::table_bytes`], the allocation, not
//! an estimate per entry) and asks for the oldest idle flows when over budget
//! ([`FlowTable::evict_oldest`]). The owner decides what to do with a flow that leaves the
//! table (finish its HTTP transactions, say): [`FlowTable::expire`] and
//! [`FlowTable::evict_oldest`] hand removed flows back.
//!
//! Layout: the hash table holds one pointer a flow; the times and the value (the owner's flow,
//! or a pointer to it) live together in one allocation ([`Entry`]), the key is the value's own
//! ([`Keyed`]: the flow knows its endpoints anyway, and a second copy of the 64-byte key was
//! 1.6 MB of the 30 MB a two-worker replay of the 469 MB benchmark capture held at its peak),
//! and the expiry queue names a flow by its hash and a serial number (16 bytes, not its key). A
//! flow closed a minute ago stays in the table for the closed timeout, and a busy link has tens
//! of thousands of them: with the key and the times in the hash table's slots (97 bytes each,
//! the table at most 7/8 full and doubling) and a key in every queue entry, the table and the
//! queue were 10 MB of the 27 MB a one-worker replay of the 469 MB benchmark capture held at
//! its peak.

use std::collections::BTreeMap;

use hashbrown::hash_table::{Entry as Slot, HashTable};

use super::FlowKey;
use crate::time::Timestamp;

/// Limits of the flow table.
#[derive(Debug, Clone)]
pub struct FlowConfig {
    /// A flow idle for this long (packet time) is closed. By default 600 s (Suricata's TCP
    /// established timeout).
    pub idle_timeout_secs: u64,
    /// A flow that has been closed (FIN both ways or RST) is removed after this idle time. By
    /// default 60 s.
    pub closed_timeout_secs: u64,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            idle_timeout_secs: 600,
            closed_timeout_secs: 60,
        }
    }
}

/// Counters of the flow table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowStats {
    /// Flows created.
    pub created: u64,
    /// Flows removed on timeout.
    pub timed_out: u64,
    /// Flows evicted because the memory budget was reached.
    pub evicted: u64,
    /// Most flows held at once.
    pub peak: u64,
}

/// A flow table's value: a flow, which carries its own key.
pub trait Keyed {
    /// The flow's key (never changes while the flow is in a table).
    fn key(&self) -> &FlowKey;
}

impl<T: Keyed> Keyed for Box<T> {
    fn key(&self) -> &FlowKey {
        (**self).key()
    }
}

/// One flow: its times and its value (which holds its key), in one allocation.
struct Entry<T> {
    /// Given at insertion, never twice in a table: what the expiry queue names the flow by (a
    /// flow that replaced another on the same key is not the one queued for it).
    serial: u64,
    first_seen: Timestamp,
    last_seen: Timestamp,
    /// The second its latest queue entry is under, in seconds after the second of
    /// `first_seen` ([`UNKNOWN_SECOND`] when that does not fit): the flow's other entries are
    /// stale.
    queued: u32,
    closed: bool,
    value: T,
}

/// [`Entry::queued`] when the second does not fit: every entry of the flow counts as current.
const UNKNOWN_SECOND: u32 = u32::MAX;

/// The least time, in seconds, before a flow not yet due is looked at again: with a closed
/// timeout of a second, checking every open flow back after one closed timeout would walk
/// the whole table every second. (A flow that closes sooner than this after it was queued
/// then gets an entry of its own, as every closing flow used to.)
const RECHECK_SECS: u64 = 10;

impl<T: Keyed> Entry<T> {
    fn key(&self) -> &FlowKey {
        self.value.key()
    }

    /// When the flow expires: past this time (its timeout after it was last seen), not at it.
    fn deadline(&self, config: &FlowConfig) -> Timestamp {
        let limit = if self.closed {
            config.closed_timeout_secs
        } else {
            config.idle_timeout_secs
        };
        self.last_seen.plus_secs(limit)
    }

    /// What the expiry queue keeps for the flow, whose key hashes to `hash`.
    fn handle(&self, hash: u64) -> Handle {
        Handle {
            hash,
            serial: self.serial,
        }
    }

    /// The second of the flow's latest queue entry (`None`: not known).
    fn queued_second(&self) -> Option<i64> {
        (self.queued != UNKNOWN_SECOND).then(|| self.first_seen.secs() + i64::from(self.queued))
    }

    /// Queues the flow (whose key hashes to `hash`) under `at`, as its current entry.
    fn queue(&mut self, due: &mut ExpiryQueue, at: Timestamp, hash: u64) {
        self.queued = u32::try_from(at.secs() - self.first_seen.secs())
            .ok()
            .filter(|&s| s != UNKNOWN_SECOND)
            .unwrap_or(UNKNOWN_SECOND);
        due.push(at, self.handle(hash));
    }

    /// When the flow is queued (having been looked at, or seen, at `now`): at its deadline, or
    /// one closed timeout after `now` when that is sooner, which is at or before the deadline
    /// it gets if it closes after `now`. Never sooner than [`RECHECK_SECS`] after `now`
    /// (unless that is the deadline), whatever the closed timeout.
    fn queue_time(&self, config: &FlowConfig, now: Timestamp) -> Timestamp {
        let recheck = config.closed_timeout_secs.max(RECHECK_SECS);
        self.deadline(config).min(now.plus_secs(recheck))
    }
}

/// A flow as the expiry queue names it.
#[derive(Debug, Clone, Copy)]
struct Handle {
    hash: u64,
    serial: u64,
}

/// The hash a flow's slot is placed by.
fn hash_of<T: Keyed>(entry: &Entry<T>) -> u64 {
    entry.key().table_hash()
}

/// The entry of `key`, whose hash is `hash`, in `flows`.
fn entry_mut<'t, T: Keyed>(
    flows: &'t mut HashTable<Box<Entry<T>>>,
    key: &FlowKey,
    hash: u64,
) -> Option<&'t mut Entry<T>> {
    flows.find_mut(hash, |e| e.key() == key).map(|e| &mut **e)
}

/// Flows by the second of packet time they may be due in. Entries are not removed with their
/// flow: one whose flow is gone (or was replaced) is dropped, or queued again, when its second
/// comes. Ordered by second, so the same input fills it the same way on every run.
#[derive(Default)]
struct ExpiryQueue {
    seconds: BTreeMap<i64, Vec<Handle>>,
    /// Entries in all seconds.
    len: usize,
    /// Capacity of all seconds' lists (for [`FlowTable::table_bytes`]).
    capacity: usize,
}

impl ExpiryQueue {
    fn push(&mut self, at: Timestamp, handle: Handle) {
        let handles = self.seconds.entry(at.secs()).or_default();
        let before = handles.capacity();
        handles.push(handle);
        self.capacity += handles.capacity() - before;
        self.len += 1;
    }

    /// Takes the earliest second and its flows, if it is not after `now`'s.
    fn pop_second(&mut self, now: Timestamp) -> Option<(i64, Vec<Handle>)> {
        let entry = self.seconds.first_entry()?;
        let second = *entry.key();
        if second > now.secs() {
            return None;
        }
        let handles = entry.remove();
        self.len -= handles.len();
        self.capacity -= handles.capacity();
        Some((second, handles))
    }

    /// Bytes held: the lists and a map entry per second.
    fn bytes(&self) -> usize {
        self.capacity * std::mem::size_of::<Handle>()
            + self.seconds.len() * std::mem::size_of::<(i64, Vec<Handle>)>()
    }
}

/// Flows of one worker, keyed by [`FlowKey`].
pub struct FlowTable<T> {
    config: FlowConfig,
    flows: HashTable<Box<Entry<T>>>,
    /// At least one entry per flow, at or before its deadline's second (see the module
    /// documentation).
    due: ExpiryQueue,
    /// The serial number of the next flow inserted.
    next_serial: u64,
    /// The most flows held since the table was last shrunk: what its allocation is sized
    /// for (see [`FlowTable::table_bytes`]).
    high_water: usize,
    next_expiry_check: Timestamp,
    stats: FlowStats,
}

impl<T: Keyed> FlowTable<T> {
    /// An empty table.
    pub fn new(config: FlowConfig) -> FlowTable<T> {
        FlowTable {
            config,
            flows: HashTable::new(),
            due: ExpiryQueue::default(),
            next_serial: 0,
            high_water: 0,
            next_expiry_check: Timestamp(i64::MIN),
            stats: FlowStats::default(),
        }
    }

    /// Takes the entry of `key` out of the table.
    fn take(&mut self, key: &FlowKey) -> Option<Box<Entry<T>>> {
        let found = self
            .flows
            .find_entry(key.table_hash(), |e| e.key() == key)
            .ok()?;
        Some(found.remove().0)
    }

    /// The flow with this key, marking it seen at `now`.
    pub fn get_mut(&mut self, key: &FlowKey, now: Timestamp) -> Option<&mut T> {
        let entry = entry_mut(&mut self.flows, key, key.table_hash())?;
        if now > entry.last_seen {
            entry.last_seen = now;
        }
        Some(&mut entry.value)
    }

    /// When the flow was first seen.
    pub fn first_seen(&self, key: &FlowKey) -> Option<Timestamp> {
        self.flows
            .find(key.table_hash(), |e| e.key() == key)
            .map(|e| e.first_seen)
    }

    /// Takes a flow out of the table (a connection that a new one on the same key replaces).
    pub fn remove(&mut self, key: &FlowKey) -> Option<T> {
        self.take(key).map(|e| e.value)
    }

    /// Counts a flow the owner took out with [`FlowTable::remove`] as evicted.
    pub fn count_eviction(&mut self) {
        self.stats.evicted += 1;
    }

    /// Marks a flow closed, so that it expires after the shorter closed timeout.
    pub fn mark_closed(&mut self, key: &FlowKey) {
        // The table's fields borrowed apart: the entry from `flows`, the queue and the
        // timeouts beside it.
        let hash = key.table_hash();
        let Some(e) = entry_mut(&mut self.flows, key, hash) else {
            return;
        };
        if !e.closed {
            e.closed = true;
            // Queued at or before its new deadline already, unless packet time went back
            // since it was queued (or the second is not known).
            let deadline = e.deadline(&self.config);
            if e.queued_second().is_none_or(|s| s > deadline.secs()) {
                e.queue(&mut self.due, deadline, hash);
            }
        }
    }

    /// Adds a new flow seen first at `now` (a flow already held under its key is kept, and
    /// `value` dropped).
    pub fn insert(&mut self, value: T, now: Timestamp) -> &mut T {
        self.stats.created += 1;
        self.high_water = self.high_water.max(self.flows.len() + 1);
        self.stats.peak = self.stats.peak.max(self.flows.len() as u64 + 1);
        if self.due.len > 2 * self.flows.len() + 64 {
            self.requeue_all();
        }
        let serial = self.next_serial;
        let key = value.key();
        let hash = key.table_hash();
        let slot = self.flows.entry(hash, |e| e.key() == key, |e| hash_of(e));
        let entry = match slot {
            Slot::Occupied(held) => held.into_mut(),
            Slot::Vacant(vacant) => {
                self.next_serial += 1;
                vacant
                    .insert(Box::new(Entry {
                        serial,
                        first_seen: now,
                        last_seen: now,
                        queued: UNKNOWN_SECOND,
                        closed: false,
                        value,
                    }))
                    .into_mut()
            }
        };
        let at = entry.queue_time(&self.config, now);
        entry.queue(&mut self.due, at, hash);
        &mut entry.value
    }

    /// Rebuilds the expiry queue with one entry per flow, dropping those of flows removed or
    /// evicted since: the queue never holds more than about twice the flows.
    fn requeue_all(&mut self) {
        let mut due = ExpiryQueue::default();
        for e in self.flows.iter_mut() {
            let (at, hash) = (e.deadline(&self.config), hash_of(e));
            e.queue(&mut due, at, hash);
        }
        self.due = due;
    }

    /// Removes flows idle past their timeout at `now`, handing each to `expired`. Cheap to
    /// call on every packet: the queue is looked at at most once per second of packet time.
    pub fn expire(&mut self, now: Timestamp, expired: &mut impl FnMut(T)) {
        if now < self.next_expiry_check {
            return;
        }
        self.next_expiry_check = now.plus_secs(1);
        let this_second = now.secs();
        while let Some((second, handles)) = self.due.pop_second(now) {
            for handle in handles {
                let Ok(mut found) = self
                    .flows
                    .find_entry(handle.hash, |e| e.serial == handle.serial)
                else {
                    continue;
                };
                let e = found.get_mut();
                if e.queued_second().is_some_and(|s| s != second) {
                    // Stale: the flow was queued again since, under another second.
                    continue;
                }
                let at = e.deadline(&self.config);
                if now <= at {
                    // Seen since it was queued, or due later in this second.
                    let next = e.queue_time(&self.config, now);
                    e.queue(&mut self.due, next, handle.hash);
                } else {
                    let entry = found.remove().0;
                    self.stats.timed_out += 1;
                    expired(entry.value);
                }
            }
            if second == this_second {
                // What went back into `now`'s second is due after `now`.
                break;
            }
        }
        self.shrink_if_sparse();
    }

    /// Gives back what a flood left: a table holding a quarter of what it was sized for (and
    /// not small) shrinks to twice its load.
    pub fn shrink_if_sparse(&mut self) {
        if self.high_water > 1024 && self.flows.len() * 4 < self.high_water {
            self.high_water = self.flows.len() * 2;
            self.flows.shrink_to(self.high_water, |e| hash_of(e));
            self.requeue_all();
        }
    }

    /// Removes every flow (end of capture), oldest first, handing each to `each`.
    pub fn drain(&mut self, each: &mut impl FnMut(T)) {
        self.due = ExpiryQueue::default();
        let mut all: Vec<Box<Entry<T>>> = self.flows.drain().collect();
        all.sort_by_key(|e| (e.first_seen, *e.key()));
        for e in all {
            each(e.value);
        }
    }

    /// Calls `each` on every flow (in no particular order: `each` must not depend on it).
    pub fn for_each_mut(&mut self, each: &mut impl FnMut(&mut T)) {
        for e in self.flows.iter_mut() {
            each(&mut e.value);
        }
    }

    /// Flows held now.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// True when no flow is held.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Counters so far.
    pub fn stats(&self) -> &FlowStats {
        &self.stats
    }

    /// Bytes the table takes besides the flows' values: slots (a pointer and a control byte)
    /// for the most flows held since it was last shrunk, at most 7/8 full and just doubled,
    /// so 16/7 slots a flow; each flow's key and times beside its value; and the expiry
    /// queue's allocation. An upper bound that depends only on what the table held, never on
    /// the hash table's layout (which depends on the per-process hash key): the same input
    /// charges the same bytes, so memory caps evict the same flows on every run. (Each
    /// second's queue list grows with the number of flows queued under it, whatever their
    /// order, so it too is the same on every run.) The values are not counted here: the
    /// owner charges what its flows hold.
    pub fn table_bytes(&self) -> usize {
        self.high_water * Self::slot_size() * 16 / 7
            + self.flows.len() * Self::entry_overhead()
            + self.due.bytes()
    }

    /// One slot of the hash table: a pointer and the control byte.
    pub fn slot_size() -> usize {
        std::mem::size_of::<Box<Entry<T>>>() + 1
    }

    /// What a flow's entry holds besides its value: serial number and times.
    pub fn entry_overhead() -> usize {
        std::mem::size_of::<Entry<T>>() - std::mem::size_of::<T>()
    }

    /// Evicts the eighth of the flows (at least one) idle longest, but not `keep`, handing
    /// each to `evicted` (oldest first; ties by key, so the choice does not depend on the
    /// table's order).
    pub fn evict_oldest(&mut self, keep: Option<&FlowKey>, evicted: &mut impl FnMut(T)) {
        let mut ages: Vec<(Timestamp, FlowKey)> = self
            .flows
            .iter()
            .filter(|e| Some(e.key()) != keep)
            .map(|e| (e.last_seen, *e.key()))
            .collect();
        let count = (ages.len() / 8).max(1).min(ages.len());
        if count == 0 {
            return;
        }
        ages.select_nth_unstable(count - 1);
        ages.truncate(count);
        ages.sort();
        for (_, key) in ages {
            if let Some(e) = self.take(&key) {
                self.stats.evicted += 1;
                evicted(e.value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::VlanIds;
    use crate::flow::Endpoint;

    /// A flow of the tests: its key and a number.
    #[derive(Debug, PartialEq)]
    struct Flow(FlowKey, u64);

    impl Keyed for Flow {
        fn key(&self) -> &FlowKey {
            &self.0
        }
    }

    fn key(port: u16) -> FlowKey {
        let a = Endpoint {
            addr: "10.0.0.1".parse().unwrap(),
            port,
        };
        let b = Endpoint {
            addr: "10.0.0.2".parse().unwrap(),
            port: 80,
        };
        FlowKey::new(a, b, VlanIds::default())
    }

    #[test]
    fn idle_flows_expire_on_packet_time() {
        let mut t = FlowTable::new(FlowConfig {
            idle_timeout_secs: 10,
            ..Default::default()
        });
        t.insert(Flow(key(1), 1), Timestamp::from_secs(100));
        t.insert(Flow(key(2), 2), Timestamp::from_secs(105));
        let mut gone = Vec::new();
        t.expire(Timestamp::from_secs(111), &mut |f| gone.push(f.1));
        assert_eq!(gone, vec![1]);
        assert_eq!(t.len(), 1);
        assert_eq!(t.stats().timed_out, 1);
    }

    #[test]
    fn touching_a_flow_keeps_it_alive() {
        let mut t = FlowTable::new(FlowConfig {
            idle_timeout_secs: 10,
            ..Default::default()
        });
        t.insert(Flow(key(1), 1), Timestamp::from_secs(100));
        assert!(t.get_mut(&key(1), Timestamp::from_secs(109)).is_some());
        let mut gone = Vec::new();
        t.expire(Timestamp::from_secs(115), &mut |f| gone.push(f.1));
        assert!(gone.is_empty());
    }

    #[test]
    fn closed_flows_use_the_shorter_timeout() {
        let cfg = FlowConfig {
            idle_timeout_secs: 600,
            closed_timeout_secs: 5,
        };
        let mut t = FlowTable::new(cfg);
        t.insert(Flow(key(1), 1), Timestamp::from_secs(0));
        t.mark_closed(&key(1));
        let mut gone = Vec::new();
        t.expire(Timestamp::from_secs(6), &mut |f| gone.push(f.1));
        assert_eq!(gone, vec![1]);
    }

    #[test]
    fn eviction_takes_the_oldest_idle_eighth_but_the_one_kept() {
        let mut t = FlowTable::new(FlowConfig::default());
        for i in 0..17u16 {
            t.insert(
                Flow(key(i), u64::from(i)),
                Timestamp::from_secs(i64::from(i)),
            );
        }
        assert!(t.table_bytes() >= 17 * FlowTable::<Flow>::slot_size());
        let mut evicted = Vec::new();
        t.evict_oldest(Some(&key(0)), &mut |f| evicted.push(f.1));
        assert_eq!(evicted, vec![1, 2]);
        assert_eq!(t.stats().evicted, 2);
        assert_eq!(t.len(), 15);
    }

    #[test]
    fn closing_flows_leave_no_stale_queue_entries() {
        let mut t = FlowTable::new(FlowConfig::default());
        for i in 0..1000u16 {
            let at = Timestamp::from_secs(100 + i64::from(i / 50));
            t.insert(Flow(key(i), u64::from(i)), at);
            t.get_mut(&key(i), at.plus_secs(1));
            t.mark_closed(&key(i));
        }
        // One entry a flow: queued a closed timeout ahead, each is already at or before the
        // deadline its close gave it.
        assert_eq!(t.due.len, 1000);
        let mut gone = 0;
        t.expire(Timestamp::from_secs(100 + 19 + 62), &mut |_| gone += 1);
        assert_eq!(gone, 1000);
        assert_eq!(t.due.len, 0);
    }

    /// The queue against the walk it replaced: random inserts, touches, closes, removals
    /// and expiry checks, and after every check the flows that expired must be exactly
    /// those the walk's rule picks (idle past the timeout, the closed one if closed).
    #[test]
    fn expiry_queue_expires_what_a_walk_would() {
        // A closed timeout shorter than the least recheck time (closing flows get an entry of
        // their own), and one longer (they are queued early enough already).
        for (idle, closed) in [(30, 5), (120, 15)] {
            expires_what_a_walk_would(FlowConfig {
                idle_timeout_secs: idle,
                closed_timeout_secs: closed,
            });
        }
    }

    fn expires_what_a_walk_would(config: FlowConfig) {
        use std::collections::BTreeMap;
        let mut t = FlowTable::new(config.clone());
        // port -> (last seen, closed): the model.
        let mut model: BTreeMap<u16, (Timestamp, bool)> = BTreeMap::new();
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let mut now = Timestamp::from_secs(1_000);
        let mut expired_total = 0;
        for _ in 0..20_000 {
            // Mostly small steps; now and then a jump over many seconds (a quiet spell).
            let step_ms = if next(50) == 0 {
                next(100_000)
            } else {
                next(400)
            };
            now = Timestamp(now.0 + step_ms as i64 * 1_000_000);
            let port = next(300) as u16;
            match next(10) {
                0..=3 => {
                    if t.get_mut(&key(port), now).is_none() {
                        t.insert(Flow(key(port), u64::from(port)), now);
                    }
                    let seen = model.entry(port).or_insert((now, false));
                    seen.0 = seen.0.max(now);
                }
                4 => {
                    t.mark_closed(&key(port));
                    if let Some(m) = model.get_mut(&port) {
                        m.1 = true;
                    }
                }
                5 => {
                    assert_eq!(
                        t.remove(&key(port)).map(|f| f.1),
                        model.remove(&port).map(|_| u64::from(port))
                    );
                }
                6 if next(8) == 0 => t.evict_oldest(None, &mut |f| {
                    model.remove(&(f.1 as u16));
                }),
                _ => {
                    let mut gone = Vec::new();
                    let checked = now >= t.next_expiry_check;
                    t.expire(now, &mut |f| gone.push(f.1));
                    gone.sort_unstable();
                    let mut want = Vec::new();
                    if checked {
                        model.retain(|&p, &mut (seen, closed)| {
                            let limit = if closed {
                                config.closed_timeout_secs
                            } else {
                                config.idle_timeout_secs
                            };
                            let stale = now.nanos_since(seen) > limit * 1_000_000_000;
                            if stale {
                                want.push(u64::from(p));
                            }
                            !stale
                        });
                    }
                    assert_eq!(gone, want, "at {now:?}");
                    expired_total += gone.len();
                }
            }
            assert_eq!(t.len(), model.len());
            assert!(t.due.len <= 2 * t.len() + 64 + 2, "{} queued", t.due.len);
        }
        assert!(
            expired_total > 100,
            "the test must expire flows: {expired_total}"
        );
    }

    #[test]
    fn drain_is_oldest_first() {
        let mut t = FlowTable::new(FlowConfig::default());
        t.insert(Flow(key(2), 2), Timestamp::from_secs(2));
        t.insert(Flow(key(1), 1), Timestamp::from_secs(1));
        let mut order = Vec::new();
        t.drain(&mut |f| order.push(f.1));
        assert_eq!(order, vec![1, 2]);
    }
}
