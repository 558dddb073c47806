//! Detection state that outlives one inspection: flowbits (per flow), and the state shared
//! across flows — xbits and alert-rate counters — with the caps and counters that bound them.
//!
//! [`FlowDetectState`] lives in the pipeline's flow entry and dies with the flow.
//! [`WorkerDetectState`] is one worker's scratch space and counters.
//! [`CrossFlowState`] holds the xbits and the `threshold` / `detection_filter` counters. A
//! rule that touches them does not read or write them while it is inspected: its match
//! carries a [`CrossFlow`] (the xbits it needs, what it sets, its rate limit), and whoever
//! owns the state settles these in capture order ([`CrossFlowState::settle`]). That is what
//! lets flows be spread over threads while the alerts stay those of one thread reading the
//! capture in order: the matches can be found in any order, the shared state is only ever
//! touched in one.
//!
//! The tables are capped ([`DetectConfig::max_xbits`], [`DetectConfig::max_threshold_entries`]):
//! expired entries are dropped first, and when a table is still full the new entry is not
//! kept and the miss is counted (an xbit that can't be set is simply not set; a rate that
//! can't be tracked lets the alert through).

use std::collections::HashMap;
use std::net::IpAddr;

use crate::time::Timestamp;

use super::profile::RuleProfile;
use super::rule::{BitCmd, DetectionFilter, Threshold, ThresholdType};

/// Detection limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectConfig {
    /// Live xbits kept per worker at most. By default 65 536.
    pub max_xbits: usize,
    /// Threshold / detection_filter trackers kept per worker at most. By default 65 536.
    pub max_threshold_entries: usize,
    /// Steps one rule may take to inspect one buffer (Suricata's inspection recursion
    /// limit); running out counts as no match. By default 3000.
    pub max_match_steps: u32,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            max_xbits: 65_536,
            max_threshold_entries: 65_536,
            max_match_steps: 3000,
        }
    }
}

/// Detection counters of one worker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DetectStats {
    /// Transaction sides inspected.
    pub tx_sides: u64,
    /// Payload chunks (packets or stream data) inspected.
    pub payloads: u64,
    /// TLS handshakes inspected.
    pub tls_handshakes: u64,
    /// Rules fully evaluated (prefilter candidates plus rules without a fast pattern).
    pub rules_evaluated: u64,
    /// Buffer searches skipped because every rule searching them needs a flowbit the flow
    /// does not have.
    pub gated_scans: u64,
    /// Rules whose every condition held (before noalert and rate limits).
    pub matches: u64,
    /// Alerts produced.
    pub alerts: u64,
    /// Alerts held back by `threshold` / `detection_filter`.
    pub suppressed: u64,
    /// Inspections that ran out of match steps.
    pub match_limit_hits: u64,
    /// Xbits not set because the table was full.
    pub xbits_dropped: u64,
    /// Rate trackers not kept because the table was full.
    pub threshold_entries_dropped: u64,
    /// What each rule and prefilter cost, when the worker profiles
    /// ([`WorkerDetectState::profiling`]).
    pub profile: Option<Box<RuleProfile>>,
}

impl DetectStats {
    /// Adds another worker's counters to these.
    pub fn merge(&mut self, o: &DetectStats) {
        self.tx_sides += o.tx_sides;
        self.tls_handshakes += o.tls_handshakes;
        self.payloads += o.payloads;
        self.rules_evaluated += o.rules_evaluated;
        self.gated_scans += o.gated_scans;
        self.matches += o.matches;
        self.alerts += o.alerts;
        self.suppressed += o.suppressed;
        self.match_limit_hits += o.match_limit_hits;
        self.xbits_dropped += o.xbits_dropped;
        self.threshold_entries_dropped += o.threshold_entries_dropped;
        if let Some(p) = &o.profile {
            self.profile.get_or_insert_with(Box::default).merge(p);
        }
    }
}

/// Flowbits of one flow: one bit per flowbit name the rule set uses.
///
/// A boxed slice, not a `Vec`: every flow holds one, set or not, and the 8 bytes of a
/// `Vec`'s capacity took the flow's state over an allocator size class.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowDetectState {
    bits: Box<[u64]>,
}

impl FlowDetectState {
    /// A flow with no bit set.
    pub fn new() -> FlowDetectState {
        FlowDetectState::default()
    }

    /// Whether bit `id` is set.
    pub fn is_set(&self, id: u32) -> bool {
        self.bits
            .get((id / 64) as usize)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    /// Sets or clears bit `id`.
    pub fn set(&mut self, id: u32, on: bool) {
        let word = (id / 64) as usize;
        if word >= self.bits.len() {
            if !on {
                return;
            }
            let mut bits = std::mem::take(&mut self.bits).into_vec();
            bits.resize(word + 1, 0);
            self.bits = bits.into_boxed_slice();
        }
        if on {
            self.bits[word] |= 1 << (id % 64);
        } else {
            self.bits[word] &= !(1 << (id % 64));
        }
    }

    /// Flips bit `id`.
    pub fn toggle(&mut self, id: u32) {
        let on = !self.is_set(id);
        self.set(id, on);
    }

    /// Heap bytes held (for the memory budget).
    pub fn heap_bytes(&self) -> usize {
        self.bits.len() * 8
    }

    /// Makes on `self` the changes that took `before` to `after` (bits that differ between
    /// them take their value in `after`; the others keep theirs): to carry what one
    /// inspection did to a copy of the bits over to the flow's own.
    pub fn apply_changes(&mut self, before: &FlowDetectState, after: &FlowDetectState) {
        let words = before.bits.len().max(after.bits.len());
        for w in 0..words {
            let b = before.bits.get(w).copied().unwrap_or(0);
            let a = after.bits.get(w).copied().unwrap_or(0);
            let mut changed = a ^ b;
            while changed != 0 {
                let bit = changed.trailing_zeros();
                changed &= changed - 1;
                self.set(w as u32 * 64 + bit, a & (1 << bit) != 0);
            }
        }
    }

    /// The same bits numbered anew: bit `i` becomes bit `remap[i]` (dropped when `None`).
    pub fn remapped(&self, remap: &[Option<u32>]) -> FlowDetectState {
        let mut out = FlowDetectState::new();
        for (old, new) in remap.iter().enumerate() {
            if let Some(new) = new {
                if self.is_set(old as u32) {
                    out.set(*new, true);
                }
            }
        }
        out
    }
}

/// Whose xbit: one address, or an unordered pair; for an xbit kept per value (exhound's
/// `value NAME`), also the hash of the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XbitKey {
    /// One host.
    Host(IpAddr),
    /// Two hosts, in a canonical order.
    Pair(IpAddr, IpAddr),
    /// One host and a value.
    HostValue(IpAddr, u64),
    /// Two hosts, in a canonical order, and a value.
    PairValue(IpAddr, IpAddr, u64),
}

impl XbitKey {
    /// The same key, for one value (its hash, [`value_hash`]).
    pub fn with_value(self, value: u64) -> XbitKey {
        match self {
            XbitKey::Host(a) | XbitKey::HostValue(a, _) => XbitKey::HostValue(a, value),
            XbitKey::Pair(a, b) | XbitKey::PairValue(a, b, _) => XbitKey::PairValue(a, b, value),
        }
    }

    /// The key of a pair (same either way round).
    pub fn pair(a: IpAddr, b: IpAddr) -> XbitKey {
        if a <= b {
            XbitKey::Pair(a, b)
        } else {
            XbitKey::Pair(b, a)
        }
    }
}

/// The hash an xbit value is kept under: FNV-1a of the bytes lower-cased (values are
/// compared without case, as Windows compares file names). Fixed, so the same on every run.
pub fn value_hash(value: &[u8]) -> u64 {
    value.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Whose matches a rate counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackKey {
    /// One counter for the rule.
    Rule,
    /// Per address.
    Host(IpAddr),
    /// Per (source, destination).
    Pair(IpAddr, IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct RateEntry {
    window_start: Timestamp,
    count: u32,
    /// For `both` / `limit`: alerts given in this window.
    alerted: u32,
}

/// One worker's scratch space and counters (nothing here is shared between flows).
#[derive(Debug, Clone, Default)]
pub struct WorkerDetectState {
    /// Counters.
    pub stats: DetectStats,
    /// Scratch: per-rule stamp for candidate de-duplication.
    pub(crate) marks: Vec<u32>,
    /// Scratch: the current stamp.
    pub(crate) generation: u32,
    /// Scratch: candidate rules of the current inspection.
    pub(crate) candidates: Vec<u32>,
    /// Scratch: the buffer being prefiltered, lower-cased.
    pub(crate) folded: Vec<u8>,
}

impl WorkerDetectState {
    /// Empty state.
    pub fn new() -> WorkerDetectState {
        WorkerDetectState::default()
    }

    /// Empty state that also measures what each rule and prefilter costs (see
    /// [`super::profile`]): slower, for `exhound bench`.
    pub fn profiling() -> WorkerDetectState {
        let mut w = WorkerDetectState::default();
        w.stats.profile = Some(Box::default());
        w
    }
}

/// A rate limit on a rule's alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimit {
    /// `threshold`.
    Threshold(Threshold),
    /// `detection_filter`.
    Filter(DetectionFilter),
}

/// What one matched rule needs from, and does to, the state shared across flows: settled in
/// capture order by [`CrossFlowState::settle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossFlow {
    /// The rule (its index in the rule set), for its rate counters.
    pub rule: u32,
    /// Packet time of the match.
    pub now: Timestamp,
    /// Xbits that must be set (`true`) or not set (`false`) for the rule to match.
    pub conditions: Vec<(u32, XbitKey, bool)>,
    /// Xbit commands run when it matches: (command, xbit, key, lifetime in seconds).
    pub actions: Vec<(BitCmd, u32, XbitKey, u32)>,
    /// Its rate limit and the key counted, if it has one.
    pub rate: Option<(RateLimit, TrackKey)>,
    /// Whether the match is an alert (`false` for `noalert` and `pass` rules, whose match
    /// only runs the xbit commands).
    pub alert: bool,
}

/// The xbits and alert-rate counters: state shared by every flow, touched only in capture
/// order.
#[derive(Debug, Clone, Default)]
pub struct CrossFlowState {
    xbits: HashMap<(u32, XbitKey), Timestamp>,
    rates: HashMap<(u32, TrackKey), RateEntry>,
    /// Counters: `matches`, `alerts`, `suppressed`, `xbits_dropped` and
    /// `threshold_entries_dropped` of the rules settled here.
    pub stats: DetectStats,
}

impl CrossFlowState {
    /// Empty state.
    pub fn new() -> CrossFlowState {
        CrossFlowState::default()
    }

    /// Settles one match: checks its xbit conditions at its packet time, runs its xbit
    /// commands, counts it against its rate limit. True when it stands as an alert.
    pub fn settle(&mut self, m: &CrossFlow, config: &DetectConfig) -> bool {
        let now = m.now;
        if !m
            .conditions
            .iter()
            .all(|&(id, key, want)| self.xbit_is_set(id, key, now) == want)
        {
            return false;
        }
        self.stats.matches += 1;
        for &(cmd, id, key, expire) in &m.actions {
            match cmd {
                BitCmd::Set => self.xbit_set(id, key, now, expire, config),
                BitCmd::Unset => self.xbit_unset(id, key),
                BitCmd::Toggle => {
                    if self.xbit_is_set(id, key, now) {
                        self.xbit_unset(id, key);
                    } else {
                        self.xbit_set(id, key, now, expire, config);
                    }
                }
                BitCmd::IsSet | BitCmd::IsNotSet => {}
            }
        }
        if !m.alert {
            return false;
        }
        let allowed = match m.rate {
            Some((RateLimit::Threshold(t), key)) => {
                self.threshold_allows(m.rule, &t, key, now, config)
            }
            Some((RateLimit::Filter(f), key)) => {
                self.detection_filter_allows(m.rule, &f, key, now, config)
            }
            None => true,
        };
        if allowed {
            self.stats.alerts += 1;
        } else {
            self.stats.suppressed += 1;
        }
        allowed
    }

    /// Carries the state over to a new rule set: xbits are kept by name (those the new set
    /// does not use are dropped); rate counters start afresh, as rules are numbered anew.
    pub fn rebind(&mut self, old_names: &[String], new_names: &[String]) {
        let xbits = std::mem::take(&mut self.xbits);
        for ((id, key), expiry) in xbits {
            let name = old_names.get(id as usize);
            if let Some(new_id) = name.and_then(|n| new_names.iter().position(|m| m == n)) {
                self.xbits.insert((new_id as u32, key), expiry);
            }
        }
        self.rates.clear();
    }

    /// Whether xbit `name` is set for `key` at `now`.
    pub fn xbit_is_set(&self, name: u32, key: XbitKey, now: Timestamp) -> bool {
        self.xbits.get(&(name, key)).is_some_and(|exp| *exp > now)
    }

    /// Sets xbit `name` for `key` until `now + expire_secs`.
    pub fn xbit_set(
        &mut self,
        name: u32,
        key: XbitKey,
        now: Timestamp,
        expire_secs: u32,
        config: &DetectConfig,
    ) {
        let expiry = Timestamp(
            now.0
                .saturating_add(i64::from(expire_secs) * Timestamp::SECOND),
        );
        if !self.xbits.contains_key(&(name, key)) && self.xbits.len() >= config.max_xbits {
            self.xbits.retain(|_, exp| *exp > now);
            if self.xbits.len() >= config.max_xbits {
                self.stats.xbits_dropped += 1;
                return;
            }
        }
        self.xbits.insert((name, key), expiry);
    }

    /// Clears xbit `name` for `key`.
    pub fn xbit_unset(&mut self, name: u32, key: XbitKey) {
        self.xbits.remove(&(name, key));
    }

    /// Number of xbits held (expired ones included until pruned).
    pub fn xbits_len(&self) -> usize {
        self.xbits.len()
    }

    fn rate_entry(
        &mut self,
        rule: u32,
        key: TrackKey,
        now: Timestamp,
        seconds: u32,
        config: &DetectConfig,
    ) -> Option<&mut RateEntry> {
        let window = i64::from(seconds).saturating_mul(Timestamp::SECOND);
        let expired = |e: &RateEntry| now.0.saturating_sub(e.window_start.0) >= window;
        if !self.rates.contains_key(&(rule, key))
            && self.rates.len() >= config.max_threshold_entries
        {
            self.rates.retain(|_, e| !expired(e));
            if self.rates.len() >= config.max_threshold_entries {
                self.stats.threshold_entries_dropped += 1;
                return None;
            }
        }
        let e = self.rates.entry((rule, key)).or_insert(RateEntry {
            window_start: now,
            count: 0,
            alerted: 0,
        });
        if expired(e) {
            *e = RateEntry {
                window_start: now,
                count: 0,
                alerted: 0,
            };
        }
        Some(e)
    }

    /// Counts a match of rule `rule` under `threshold`; true when it should alert.
    pub fn threshold_allows(
        &mut self,
        rule: u32,
        t: &Threshold,
        key: TrackKey,
        now: Timestamp,
        config: &DetectConfig,
    ) -> bool {
        let Some(e) = self.rate_entry(rule, key, now, t.seconds, config) else {
            return true;
        };
        e.count = e.count.saturating_add(1);
        match t.kind {
            ThresholdType::Limit => e.count <= t.count,
            ThresholdType::Threshold => {
                if e.count >= t.count {
                    e.count = 0;
                    true
                } else {
                    false
                }
            }
            ThresholdType::Both => {
                if e.count >= t.count && e.alerted == 0 {
                    e.alerted = 1;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Counts a match of rule `rule` under `filter`; true when it should alert.
    pub fn detection_filter_allows(
        &mut self,
        rule: u32,
        f: &DetectionFilter,
        key: TrackKey,
        now: Timestamp,
        config: &DetectConfig,
    ) -> bool {
        let Some(e) = self.rate_entry(rule, key, now, f.seconds, config) else {
            return true;
        };
        e.count = e.count.saturating_add(1);
        e.count > f.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rule::Track;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_secs(secs)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn apply_changes_copies_only_what_changed() {
        let mut before = FlowDetectState::new();
        before.set(1, true);
        before.set(70, true);
        let mut after = before.clone();
        after.set(1, false); // unset
        after.set(130, true); // set, in a word `before` does not have
        let mut live = FlowDetectState::new();
        live.set(5, true); // untouched by the inspection: kept
        live.set(1, true);
        live.apply_changes(&before, &after);
        assert!(!live.is_set(1));
        assert!(live.is_set(5));
        assert!(live.is_set(130));
        assert!(
            !live.is_set(70),
            "70 did not change, so the live value (unset) stays"
        );
    }

    #[test]
    fn flowbits() {
        let mut f = FlowDetectState::new();
        assert!(!f.is_set(70));
        f.set(70, false);
        assert_eq!(f, FlowDetectState::new());
        f.set(70, true);
        assert!(f.is_set(70) && !f.is_set(6));
        f.toggle(70);
        assert!(!f.is_set(70));
        f.toggle(3);
        assert!(f.is_set(3));
    }

    #[test]
    fn xbits_expire_in_packet_time() {
        let cfg = DetectConfig::default();
        let mut w = CrossFlowState::new();
        let k = XbitKey::Host(ip("10.0.0.1"));
        w.xbit_set(1, k, t(100), 30, &cfg);
        assert!(w.xbit_is_set(1, k, t(129)));
        assert!(!w.xbit_is_set(1, k, t(130)));
        assert!(!w.xbit_is_set(2, k, t(101)));
        assert!(!w.xbit_is_set(1, XbitKey::Host(ip("10.0.0.2")), t(101)));
        w.xbit_unset(1, k);
        assert!(!w.xbit_is_set(1, k, t(101)));
        assert_eq!(
            XbitKey::pair(ip("1.1.1.1"), ip("2.2.2.2")),
            XbitKey::pair(ip("2.2.2.2"), ip("1.1.1.1"))
        );
    }

    #[test]
    fn xbits_cap() {
        let cfg = DetectConfig {
            max_xbits: 2,
            ..DetectConfig::default()
        };
        let mut w = CrossFlowState::new();
        for i in 0..3u8 {
            w.xbit_set(
                1,
                XbitKey::Host(IpAddr::from([10, 0, 0, i])),
                t(0),
                10,
                &cfg,
            );
        }
        assert_eq!(w.xbits_len(), 2);
        assert_eq!(w.stats.xbits_dropped, 1);
        // Once the first two expire there is room again.
        w.xbit_set(1, XbitKey::Host(ip("10.0.0.9")), t(20), 10, &cfg);
        assert_eq!(w.xbits_len(), 1);
        assert!(w.xbit_is_set(1, XbitKey::Host(ip("10.0.0.9")), t(21)));
    }

    #[test]
    fn thresholds_in_packet_time() {
        let cfg = DetectConfig::default();
        let key = TrackKey::Host(ip("1.1.1.1"));
        let limit = Threshold {
            kind: ThresholdType::Limit,
            track: Track::BySrc,
            count: 2,
            seconds: 60,
        };
        let mut w = CrossFlowState::new();
        let got: Vec<bool> = [0, 1, 2, 59, 60, 61, 62]
            .iter()
            .map(|s| w.threshold_allows(1, &limit, key, t(*s), &cfg))
            .collect();
        assert_eq!(got, vec![true, true, false, false, true, true, false]);
        // Another host has its own counter.
        assert!(w.threshold_allows(1, &limit, TrackKey::Host(ip("2.2.2.2")), t(62), &cfg));

        let every3 = Threshold {
            kind: ThresholdType::Threshold,
            count: 3,
            ..limit
        };
        let mut w = CrossFlowState::new();
        let got: Vec<bool> = (0..7)
            .map(|s| w.threshold_allows(1, &every3, key, t(s), &cfg))
            .collect();
        assert_eq!(got, vec![false, false, true, false, false, true, false]);

        let both = Threshold {
            kind: ThresholdType::Both,
            count: 2,
            seconds: 10,
            ..limit
        };
        let mut w = CrossFlowState::new();
        let got: Vec<bool> = [0, 1, 2, 3, 10, 11]
            .iter()
            .map(|s| w.threshold_allows(1, &both, TrackKey::Rule, t(*s), &cfg))
            .collect();
        assert_eq!(got, vec![false, true, false, false, false, true]);
    }

    #[test]
    fn detection_filter_in_packet_time() {
        let cfg = DetectConfig::default();
        let f = DetectionFilter {
            track: Track::ByDst,
            count: 2,
            seconds: 10,
        };
        let mut w = CrossFlowState::new();
        let got: Vec<bool> = [0, 1, 2, 3, 10, 11, 12]
            .iter()
            .map(|s| w.detection_filter_allows(7, &f, TrackKey::Rule, t(*s), &cfg))
            .collect();
        assert_eq!(got, vec![false, false, true, true, false, false, true]);
    }

    #[test]
    fn rate_table_cap_lets_alerts_through() {
        let cfg = DetectConfig {
            max_threshold_entries: 1,
            ..DetectConfig::default()
        };
        let limit = Threshold {
            kind: ThresholdType::Limit,
            track: Track::BySrc,
            count: 1,
            seconds: 60,
        };
        let mut w = CrossFlowState::new();
        assert!(w.threshold_allows(1, &limit, TrackKey::Host(ip("1.1.1.1")), t(0), &cfg));
        assert!(!w.threshold_allows(1, &limit, TrackKey::Host(ip("1.1.1.1")), t(1), &cfg));
        assert!(w.threshold_allows(1, &limit, TrackKey::Host(ip("2.2.2.2")), t(1), &cfg));
        assert!(w.threshold_allows(1, &limit, TrackKey::Host(ip("2.2.2.2")), t(2), &cfg));
        assert_eq!(w.stats.threshold_entries_dropped, 2);
    }
}
