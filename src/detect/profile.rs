//! Rule profiling: what each rule and each prefilter costs, for `exhound bench` (what
//! Suricata's rule profiling and Snort's rule profiler report).
//!
//! Off by default, and then free: a worker's counters ([`DetectStats::profile`]) hold a
//! [`RuleProfile`] only when the worker was made with [`WorkerDetectState::profiling`], and
//! the engine looks for it once per inspection (a transaction side or a payload). When it is
//! there, the engine counts, per rule, the times it was checked as a candidate and the times
//! all its conditions held, and times each check with [`std::time::Instant`] (two clock
//! reads, some tens of nanoseconds, charged to the rule); per prefilter, the buffers scanned
//! or skipped by their flowbit gate, the bytes scanned, the windows the full automata walked,
//! the candidates produced and those confirmed (the rule then matched), and the time spent.
//!
//! Counters are indexed by rule (position in the [`RuleSet`]) and by prefilter (position
//! over the request, response and payload groups, in that order); each worker keeps its own
//! and [`RuleProfile::merge`] sums them after the run. [`RuleSet::profile_report`] names
//! them (sid, buffer, automaton) in a stable order.
//!
//! [`DetectStats::profile`]: super::DetectStats::profile
//! [`WorkerDetectState::profiling`]: super::WorkerDetectState::profiling
//! [`RuleSet`]: super::RuleSet
//! [`RuleSet::profile_report`]: super::RuleSet::profile_report

use std::time::Instant;

/// What one rule cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleCost {
    /// Times the rule was evaluated (a prefilter candidate, or a rule without fast pattern).
    pub checked: u64,
    /// Times all its conditions held (before `noalert` and rate limits).
    pub matches: u64,
    /// Nanoseconds spent evaluating it (its match actions included).
    pub nanos: u64,
}

/// What one prefilter (the fast patterns of the rules inspecting one buffer) cost and gave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PrefilterCost {
    /// Inspections in which the buffer was scanned (each instance of the buffer counts once).
    pub scans: u64,
    /// Inspections in which it was not scanned: the flow lacked the flowbit its rules need.
    pub gated: u64,
    /// Bytes scanned.
    pub bytes: u64,
    /// Windows around probe hits that the full automata walked.
    pub windows: u64,
    /// Rules it made candidates.
    pub candidates: u64,
    /// Of those, rules whose conditions then all held.
    pub confirmed: u64,
    /// Nanoseconds spent scanning (buffer preparation included).
    #[serde(rename = "total_ns")]
    pub nanos: u64,
}

/// The costs of one worker's detection (or, merged, of every worker's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleProfile {
    /// Per rule, by position in the rule set.
    pub rules: Vec<RuleCost>,
    /// Per prefilter, by position over the request, response and payload groups.
    pub prefilters: Vec<PrefilterCost>,
    /// Inspections profiled (transaction sides and payloads).
    pub inspections: u64,
    /// Nanoseconds spent in those inspections, prefilters and rules included.
    pub nanos: u64,
}

impl RuleProfile {
    /// Makes room for `rules` rules and `prefilters` prefilters (a profile starts empty and
    /// is sized by the first inspection).
    pub(crate) fn fit(&mut self, rules: usize, prefilters: usize) {
        if self.rules.len() != rules {
            self.rules.resize(rules, RuleCost::default());
        }
        if self.prefilters.len() != prefilters {
            self.prefilters.resize(prefilters, PrefilterCost::default());
        }
    }

    /// Rule `rule` was checked, from `started` to now; `holds` when all its conditions held.
    /// `prefilter` is the one that made it a candidate, if any (a match confirms it).
    pub(crate) fn check(
        &mut self,
        rule: u32,
        prefilter: Option<usize>,
        holds: bool,
        started: Instant,
    ) {
        let nanos = nanos_since(started);
        if let Some(c) = self.rules.get_mut(rule as usize) {
            c.checked += 1;
            c.matches += u64::from(holds);
            c.nanos += nanos;
        }
        if let Some(pf) = prefilter.filter(|_| holds) {
            if let Some(c) = self.prefilters.get_mut(pf) {
                c.confirmed += 1;
            }
        }
    }

    /// Adds another worker's profile (of the same rule set) to this one.
    pub fn merge(&mut self, other: &RuleProfile) {
        self.fit(
            self.rules.len().max(other.rules.len()),
            self.prefilters.len().max(other.prefilters.len()),
        );
        for (a, b) in self.rules.iter_mut().zip(&other.rules) {
            a.checked += b.checked;
            a.matches += b.matches;
            a.nanos += b.nanos;
        }
        for (a, b) in self.prefilters.iter_mut().zip(&other.prefilters) {
            a.scans += b.scans;
            a.gated += b.gated;
            a.bytes += b.bytes;
            a.windows += b.windows;
            a.candidates += b.candidates;
            a.confirmed += b.confirmed;
            a.nanos += b.nanos;
        }
        self.inspections += other.inspections;
        self.nanos += other.nanos;
    }
}

/// Nanoseconds since `start`, saturated.
pub(crate) fn nanos_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// One rule's line of a profile report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProfileRow {
    /// Signature id.
    pub sid: u32,
    /// Group id.
    pub gid: u32,
    /// Revision.
    pub rev: u32,
    /// Message.
    pub msg: String,
    /// Its costs.
    pub cost: RuleCost,
}

/// One prefilter's line of a profile report (serialised flat, as `exhound bench --json`
/// prints it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PrefilterRow {
    /// Where it runs: `request`, `response` or `payload`.
    pub side: &'static str,
    /// The buffer it scans, with its transforms (`http.uri`, `http.header|to_lowercase`).
    pub buffer: String,
    /// The flowbit its rules need, if it is gated on one.
    pub gate: Option<String>,
    /// Fast patterns (distinct pattern bytes per case mode).
    pub patterns: usize,
    /// Rules whose fast pattern it holds.
    pub rules: usize,
    /// The automata: the probes (pattern prefixes) and the full pattern automata.
    pub automaton: String,
    /// Its costs.
    #[serde(flatten)]
    pub cost: PrefilterCost,
}

/// A profile with names: rules sorted by cost (time, then checks, then sid), prefilters in
/// rule-set order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileReport {
    /// Every rule that was checked at least once, costliest first.
    pub rules: Vec<RuleProfileRow>,
    /// Every prefilter.
    pub prefilters: Vec<PrefilterRow>,
    /// Inspections profiled.
    pub inspections: u64,
    /// Nanoseconds of detection in all (the denominator of a rule's share).
    pub nanos: u64,
}

impl ProfileReport {
    /// Sorts rows by cost, descending, ties broken by checks then (gid, sid, rev): the same
    /// order for the same counters.
    pub(crate) fn sort(&mut self) {
        self.rules.sort_by(|a, b| {
            b.cost
                .nanos
                .cmp(&a.cost.nanos)
                .then(b.cost.checked.cmp(&a.cost.checked))
                .then((a.gid, a.sid, a.rev).cmp(&(b.gid, b.sid, b.rev)))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_sums_and_grows() {
        let mut a = RuleProfile::default();
        a.fit(1, 1);
        a.rules[0] = RuleCost {
            checked: 2,
            matches: 1,
            nanos: 10,
        };
        a.prefilters[0].candidates = 3;
        a.nanos = 20;
        let mut b = RuleProfile::default();
        b.fit(2, 1);
        b.rules[1].checked = 5;
        b.prefilters[0].candidates = 4;
        b.prefilters[0].confirmed = 1;
        b.inspections = 7;
        a.merge(&b);
        assert_eq!(a.rules.len(), 2);
        assert_eq!(a.rules[0].checked, 2);
        assert_eq!(a.rules[1].checked, 5);
        assert_eq!(a.prefilters[0].candidates, 7);
        assert_eq!(a.prefilters[0].confirmed, 1);
        assert_eq!((a.inspections, a.nanos), (7, 20));
    }

    #[test]
    fn report_order_is_cost_then_sid() {
        let row = |sid, nanos, checked| RuleProfileRow {
            sid,
            gid: 1,
            rev: 1,
            msg: String::new(),
            cost: RuleCost {
                checked,
                matches: 0,
                nanos,
            },
        };
        let mut r = ProfileReport {
            rules: vec![row(3, 5, 1), row(1, 9, 1), row(2, 5, 1), row(4, 5, 2)],
            prefilters: Vec::new(),
            inspections: 0,
            nanos: 0,
        };
        r.sort();
        let sids: Vec<u32> = r.rules.iter().map(|r| r.sid).collect();
        assert_eq!(sids, [1, 4, 2, 3]);
    }
}
