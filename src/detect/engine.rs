//! The rule set and its inspection entry points.
//!
//! [`RuleSet`] is built once from loaded rules and is immutable (`Send + Sync`, share it with
//! an `Arc`). Rules are grouped by where they are inspected: the request side of HTTP
//! transactions, the response side, or packet/stream payloads. Each group holds one
//! Aho-Corasick automaton (DFA, ASCII case-insensitive) per (buffer, transforms) with the
//! fast patterns of the rules inspecting it; a hit makes a rule a candidate, and candidates
//! plus the rules without a usable fast pattern are evaluated fully, in Suricata's order
//! (pass, drop, reject, alert; flowbit setters before readers; priority; file order).
//!
//! A rule alerts at most once per transaction. Request-side rules run before response-side
//! ones, so a flowbit set by a request rule is visible to a response rule of the same
//! transaction. A rule whose buffers fit either side is tried on the request, then (if it did
//! not match) on the response.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::http::{HttpEvent, HttpEvents, HttpTransaction};
use crate::time::Timestamp;
use crate::tls::TlsInfo;

use super::body_use::ResponseBodyRules;
use super::buffers::{BufferSource, TlsBuffers, TxBuffers, TxSide};
use super::compile::{compile, BitOp, CompiledRule, Names, RuleInfo, RuleKind, XbitOp, XbitValue};
use super::confirm::{Confirm, PROBE_PREFIX};
use super::content::{match_items, MatchBudget};
use super::probe::{Probe, PROBE_PATTERNS};
use super::profile::{nanos_since, PrefilterRow, ProfileReport, RuleProfile, RuleProfileRow};
use super::rule::loader::{load_text, LoadOptions, LoadedRules};
use super::rule::{
    Action, BitCmd, BitGroup, Buffer, BufferRef, BufferSide, FlowDirection, FlowState, FlowStream,
    IntCmp, RuleError, SkippedRule, TcpFlagsMatch, Track, UriKind, XbitsTrack,
};
use super::state::{
    value_hash, CrossFlow, CrossFlowState, DetectConfig, DetectStats, FlowDetectState, RateLimit,
    TrackKey, WorkerDetectState, XbitKey,
};

/// The facts of the flow a transaction or payload belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowMeta {
    /// Client (connection opener) address.
    pub client_ip: IpAddr,
    /// Client port.
    pub client_port: u16,
    /// Server address.
    pub server_ip: IpAddr,
    /// Server port.
    pub server_port: u16,
    /// The TCP handshake completed (or the session was picked up as established).
    pub established: bool,
}

/// Which way the inspected data went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertDirection {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
}

impl AlertDirection {
    /// EVE's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertDirection::ToServer => "to_server",
            AlertDirection::ToClient => "to_client",
        }
    }
}

/// One alert, or — for a rule that touches state shared across flows — a match that still
/// has to be settled against that state in capture order ([`CrossFlowState::settle`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The rule's facts (sid, gid, rev, msg, classtype, category, severity, metadata,
    /// references, action).
    pub rule: Arc<RuleInfo>,
    /// Direction of the data that matched.
    pub direction: AlertDirection,
    /// The transaction, for HTTP rules.
    pub tx_id: Option<u64>,
    /// For rules with xbits, `threshold` or `detection_filter`: what settling needs. The
    /// alert stands only if settling says so; when its `alert` is false the entry is no
    /// alert at all, only xbit commands to run.
    pub cross_flow: Option<Box<CrossFlow>>,
}

impl Alert {
    /// True when this entry only carries xbit commands (a `noalert` or `pass` rule's match).
    pub fn is_silent(&self) -> bool {
        self.cross_flow.as_ref().is_some_and(|c| !c.alert)
    }

    /// Signature id.
    pub fn sid(&self) -> u32 {
        self.rule.sid
    }

    /// Group id.
    pub fn gid(&self) -> u32 {
        self.rule.gid
    }

    /// Revision.
    pub fn rev(&self) -> u32 {
        self.rule.rev
    }

    /// Message.
    pub fn msg(&self) -> &str {
        &self.rule.msg
    }

    /// Severity (1 = most severe).
    pub fn severity(&self) -> u32 {
        self.rule.severity
    }

    /// The action the rule asked for (a passive sensor alerts for drop/reject too).
    pub fn action(&self) -> Action {
        self.rule.action
    }
}

/// What one rule inspects (see [`RuleSet::summaries`]).
#[derive(Debug, Clone)]
pub struct RuleSummary {
    /// The rule's facts.
    pub info: Arc<RuleInfo>,
    /// The buffers it inspects, in rule order.
    pub buffers: Vec<String>,
    /// The buffers with their transforms, in rule order, each once.
    pub reads: Vec<BufferRef>,
    /// The buffer and bytes of its fast pattern, when it has one.
    pub fast_pattern: Option<(String, Vec<u8>)>,
}

/// Why a rule set could not be built.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// A rule did not load.
    #[error("{0}")]
    Rule(#[from] RuleError),
    /// The multi-pattern matcher could not be built.
    #[error("building the pattern matcher: {0}")]
    Matcher(String),
}

/// The fast patterns of the rules inspecting one buffer (and needing one flowbit).
struct Prefilter {
    key: BufferRef,
    /// A flowbit that every rule of this prefilter requires (`flowbits:isset`) and that no
    /// rule of the same group can set: while the flow does not have it, none of these rules
    /// can match, and the buffer is not scanned for them. Success rules on response bodies
    /// are gated this way, so benign responses (most of the bytes) cost no pattern search.
    gate: Option<u32>,
    /// The first [`PROBE_PREFIX`] bytes of every pattern, in probes of at most
    /// [`PROBE_PATTERNS`] strings: most buffers hold no pattern, and the vectorised probes
    /// prove it quickly (see [`super::probe`]). Either every spelling the patterns match (a
    /// case-sensitive prefix as it is, each case of a `nocase` one), run on the buffer as it
    /// is, or (when those are more than [`RAW_SPELLINGS`]) the prefixes lower-cased, run on
    /// the lower-cased buffer.
    probes: Vec<Probe>,
    /// The probes look for lower-cased prefixes in the lower-cased buffer.
    fold: bool,
    /// Every pattern with its rules: probe hits are confirmed with it, and short buffers
    /// (or those whose hits cost too much to confirm one by one) walk its automaton.
    confirm: Confirm,
}

/// Most spellings of the prefixes a probe of the buffer as it is looks for: up to 32, Teddy
/// stays in its fast form (8 buckets, 32 bytes a step), about as fast as lower-casing the
/// buffer alone.
const RAW_SPELLINGS: usize = 32;

/// Teddy passes a buffer may get before one automaton over every prefix replaces them.
const PACKED_PASSES: usize = 2;

/// Rules of a group without a fast pattern that share their cheap conditions (`dsize`,
/// `flags`, `app-layer-event`): those are checked once per packet or transaction side for all
/// of them. A rule set with 100 variants of the SYN-with-data rule otherwise made 100 rule
/// evaluations of every packet.
#[derive(Debug)]
struct AlwaysRules {
    dsize: Option<IntCmp>,
    tcp_flags: Option<TcpFlagsMatch>,
    http_events: Vec<HttpEvent>,
    rules: Vec<u32>,
}

/// What the cheap conditions of [`AlwaysRules`] are checked against.
#[derive(Clone, Copy)]
enum Precheck<'a> {
    /// A packet: its payload length and TCP flags (`None` for another side's data).
    Packet { len: usize, flags: Option<u8> },
    /// A transaction side: the request's HTTP events.
    Tx(&'a HttpEvents),
    /// Nothing to check (TLS handshakes).
    Nothing,
}

impl AlwaysRules {
    /// [`AlwaysRules::may_hold`] on a packet of `len` bytes with `flags` (`None` for another
    /// side's data): the flags first, the condition that fails on nearly every packet.
    #[inline]
    fn may_hold_on_packet(&self, len: usize, flags: Option<u8>) -> bool {
        self.tcp_flags
            .is_none_or(|f| flags.is_some_and(|x| f.matches(x)))
            && self.dsize.is_none_or(|d| d.matches(len as u64))
    }

    /// Whether the rules may hold: false only when a condition every one of them has fails
    /// (each is checked again, with the rest, when the rule is evaluated).
    fn may_hold(&self, on: Precheck<'_>) -> bool {
        match on {
            Precheck::Packet { len, flags } => self.may_hold_on_packet(len, flags),
            Precheck::Tx(events) => self.http_events.iter().all(|e| events.contains(*e)),
            Precheck::Nothing => true,
        }
    }
}

/// Rules inspected at one place.
#[derive(Default)]
struct Group {
    prefilters: Vec<Prefilter>,
    /// Rules evaluated on every inspection (no usable fast pattern), by the cheap conditions
    /// they share.
    always: Vec<AlwaysRules>,
    /// For profiles: the position of this group's first prefilter over every group's.
    first_prefilter: usize,
    /// For profiles: rule → the prefilter (in `prefilters`) holding its fast pattern.
    prefilter_of: Vec<Option<u32>>,
}

impl Group {
    /// The position over every group's prefilters of the one holding rule `ri`'s fast
    /// pattern, if it is in this group and has one (for profiles).
    fn profiled_prefilter(&self, ri: u32) -> Option<usize> {
        let pf = self.prefilter_of.get(ri as usize).copied().flatten()?;
        Some(self.first_prefilter + pf as usize)
    }
}

/// An immutable, shareable set of compiled rules.
pub struct RuleSet {
    rules: Vec<CompiledRule>,
    request: Group,
    response: Group,
    payload: Group,
    tls: Group,
    flowbit_names: Vec<String>,
    xbit_names: Vec<String>,
    skipped: Vec<SkippedRule>,
    config: DetectConfig,
    response_bodies: ResponseBodyRules,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("rules", &self.rules.len())
            .field("skipped", &self.skipped.len())
            .finish()
    }
}

impl RuleSet {
    /// Builds a rule set from rules given as text.
    pub fn from_text(
        text: &str,
        opts: &LoadOptions,
        config: DetectConfig,
    ) -> Result<RuleSet, DetectError> {
        RuleSet::build(load_text("<text>", text, opts)?, config)
    }

    /// Builds a rule set from files and directories (every `*.rules` of a directory, in
    /// name order), in the order given.
    pub fn load(
        paths: &[&Path],
        opts: &LoadOptions,
        config: DetectConfig,
    ) -> Result<RuleSet, DetectError> {
        let mut all = LoadedRules::default();
        for p in paths {
            all.add_path(p, opts)?;
        }
        RuleSet::build(all, config)
    }

    /// Compiles loaded rules.
    pub fn build(loaded: LoadedRules, config: DetectConfig) -> Result<RuleSet, DetectError> {
        let mut flowbits = Names::default();
        let mut xbits = Names::default();
        let mut rules = Vec::with_capacity(loaded.rules.len());
        for (i, l) in loaded.rules.iter().enumerate() {
            let c = compile(l, i, &mut flowbits, &mut xbits).map_err(|message| RuleError {
                file: l.file.clone(),
                line: l.line,
                col: 0,
                keyword: None,
                message,
            })?;
            rules.push(c);
        }
        rules.sort_by_key(|r| r.order);
        let mut set = RuleSet {
            request: Group::default(),
            response: Group::default(),
            payload: Group::default(),
            tls: Group::default(),
            flowbit_names: flowbits.names,
            xbit_names: xbits.names,
            skipped: loaded.skipped,
            config,
            response_bodies: ResponseBodyRules::of(&rules),
            rules,
        };
        set.request =
            set.group(|k| matches!(k, RuleKind::Http(BufferSide::Request | BufferSide::Both)))?;
        set.response =
            set.group(|k| matches!(k, RuleKind::Http(BufferSide::Response | BufferSide::Both)))?;
        set.payload = set.group(|k| k == RuleKind::Payload)?;
        set.response.first_prefilter = set.request.prefilters.len();
        set.payload.first_prefilter = set.response.first_prefilter + set.response.prefilters.len();
        set.tls = set.group(|k| k == RuleKind::Tls)?;
        set.tls.first_prefilter = set.payload.first_prefilter + set.payload.prefilters.len();
        Ok(set)
    }

    fn group(&self, member: impl Fn(RuleKind) -> bool) -> Result<Group, DetectError> {
        let mut group = Group {
            prefilter_of: vec![None; self.rules.len()],
            ..Group::default()
        };
        // Flowbits that a rule of this group may set while the group is being evaluated: a
        // rule gated on one of them must be searched for even when the flow lacks the bit.
        let mut settable: Vec<u32> = Vec::new();
        for r in self.rules.iter().filter(|r| member(r.kind)) {
            for op in &r.flowbit_actions {
                if matches!(op.cmd, BitCmd::Set | BitCmd::Toggle) {
                    settable.extend_from_slice(&op.ids);
                }
            }
        }
        // (key, gate) → [case-sensitive, nocase] → (pattern → rules).
        type PatternRules = Vec<(Vec<u8>, Vec<u32>)>;
        type GatedKey = (BufferRef, Option<u32>);
        let mut by_key: Vec<(GatedKey, [PatternRules; 2])> = Vec::new();
        for (i, r) in self.rules.iter().enumerate() {
            if !member(r.kind) {
                continue;
            }
            let Some((li, bytes)) = &r.fast_pattern else {
                let shared = group.always.iter_mut().find(|a| {
                    a.dsize == r.dsize
                        && a.tcp_flags == r.tcp_flags
                        && a.http_events == r.http_events
                });
                match shared {
                    Some(a) => a.rules.push(i as u32),
                    None => group.always.push(AlwaysRules {
                        dsize: r.dsize,
                        tcp_flags: r.tcp_flags,
                        http_events: r.http_events.clone(),
                        rules: vec![i as u32],
                    }),
                }
                continue;
            };
            let key = (r.lists[*li].key.clone(), prefilter_gate(r, &settable));
            let nocase = r.fast_pattern_nocase;
            let pat = if nocase {
                bytes.to_ascii_lowercase()
            } else {
                bytes.clone()
            };
            let slot = match by_key.iter().position(|(k, _)| *k == key) {
                Some(p) => p,
                None => {
                    by_key.push((key, [Vec::new(), Vec::new()]));
                    by_key.len() - 1
                }
            };
            // Prefilters are made in `by_key` order.
            group.prefilter_of[i] = u32::try_from(slot).ok();
            let pats = &mut by_key[slot].1[usize::from(nocase)];
            match pats.iter_mut().find(|(p, _)| *p == pat) {
                Some((_, rs)) => rs.push(i as u32),
                None => pats.push((pat, vec![i as u32])),
            }
        }
        let matcher_error = |e: aho_corasick::BuildError| DetectError::Matcher(e.to_string());
        for ((key, gate), modes) in by_key {
            // A pattern can only occur where its first bytes do, so the probes look for distinct
            // prefixes: fewer probe patterns for large rule sets, still rare in real traffic.
            // When they are few in every spelling they match, the probe reads the buffer as it
            // is; else it looks for the lower-cased prefixes in the lower-cased buffer.
            let prefixes = || {
                modes.iter().enumerate().flat_map(|(nocase, pats)| {
                    pats.iter()
                        .map(move |(p, _)| (&p[..p.len().min(PROBE_PREFIX)], nocase == 1))
                })
            };
            let raw = spellings(prefixes(), RAW_SPELLINGS);
            let fold = raw.is_none();
            let strings = raw.unwrap_or_else(|| {
                let mut folded: Vec<Vec<u8>> =
                    prefixes().map(|(p, _)| p.to_ascii_lowercase()).collect();
                folded.sort();
                folded.dedup();
                folded
            });
            let mut probes = Vec::new();
            if strings.len() > PROBE_PATTERNS * PACKED_PASSES {
                probes.push(Probe::many(&strings).map_err(matcher_error)?);
            } else {
                for chunk in strings.chunks(PROBE_PATTERNS) {
                    probes.push(Probe::new(chunk).map_err(matcher_error)?);
                }
            }
            let confirm = Confirm::new(modes.into_iter().enumerate().flat_map(|(nocase, pats)| {
                pats.into_iter()
                    .map(move |(p, rules)| (p, nocase == 1, rules))
            }))
            .map_err(matcher_error)?;
            group.prefilters.push(Prefilter {
                key,
                gate,
                probes,
                fold,
                confirm,
            });
        }
        Ok(group)
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Rules skipped while loading (in `skip_invalid` mode), with their errors.
    pub fn skipped(&self) -> &[SkippedRule] {
        &self.skipped
    }

    /// Which flows' response bodies a rule may inspect.
    pub fn response_body_rules(&self) -> &ResponseBodyRules {
        &self.response_bodies
    }

    /// Flowbit names, by id.
    pub fn flowbit_names(&self) -> &[String] {
        &self.flowbit_names
    }

    /// Xbit names, by id.
    pub fn xbit_names(&self) -> &[String] {
        &self.xbit_names
    }

    /// The limits in force.
    pub fn config(&self) -> &DetectConfig {
        &self.config
    }

    /// Inspects a transaction: its request with the request-side rules, then its response
    /// (when there is one) with the response-side rules. Alerts are appended to `alerts`.
    #[allow(clippy::too_many_arguments)]
    pub fn inspect_http(
        &self,
        flow: &FlowMeta,
        tx: &HttpTransaction,
        flow_state: &mut FlowDetectState,
        worker: &mut WorkerDetectState,
        now: Timestamp,
        alerts: &mut Vec<Alert>,
    ) {
        let mut matched_either = Vec::new();
        self.inspect_tx_side(
            flow,
            tx,
            TxSide::Request,
            flow_state,
            worker,
            now,
            alerts,
            &mut matched_either,
        );
        if tx.response.is_some() {
            self.inspect_tx_side(
                flow,
                tx,
                TxSide::Response,
                flow_state,
                worker,
                now,
                alerts,
                &mut matched_either,
            );
        }
    }

    /// Inspects one side of a transaction, for callers that inspect a request as soon as it
    /// is over and its response later. `matched_either` carries, from the request to the
    /// response of the same transaction, the rules fitting either side that already matched
    /// (start it empty), so that such a rule still alerts once per transaction.
    #[allow(clippy::too_many_arguments)]
    pub fn inspect_http_side(
        &self,
        flow: &FlowMeta,
        tx: &HttpTransaction,
        side: TxSide,
        flow_state: &mut FlowDetectState,
        worker: &mut WorkerDetectState,
        now: Timestamp,
        alerts: &mut Vec<Alert>,
        matched_either: &mut Vec<u32>,
    ) {
        if side == TxSide::Response && tx.response.is_none() {
            return;
        }
        self.inspect_tx_side(
            flow,
            tx,
            side,
            flow_state,
            worker,
            now,
            alerts,
            matched_either,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn inspect_tx_side(
        &self,
        flow: &FlowMeta,
        tx: &HttpTransaction,
        side: TxSide,
        flow_state: &mut FlowDetectState,
        worker: &mut WorkerDetectState,
        now: Timestamp,
        alerts: &mut Vec<Alert>,
        matched_either: &mut Vec<u32>,
    ) {
        worker.stats.tx_sides += 1;
        let started = self.profile_start(worker);
        let group = match side {
            TxSide::Request => &self.request,
            TxSide::Response => &self.response,
        };
        let mut bufs = TxBuffers::new(tx, side);
        let precheck = Precheck::Tx(&tx.request.events);
        self.collect_candidates(group, flow_state, worker, precheck, |key, scan| {
            bufs.scan_all(key, scan);
        });
        let dir = match side {
            TxSide::Request => AlertDirection::ToServer,
            TxSide::Response => AlertDirection::ToClient,
        };
        let ctx = Ctx {
            flow,
            dir,
            now,
            tx_id: Some(tx.tx_id),
        };
        let candidates = std::mem::take(&mut worker.candidates);
        for &ri in &candidates {
            let rule = &self.rules[ri as usize];
            // Once per transaction: a rule that fits either side and matched the request.
            let either = rule.kind == RuleKind::Http(BufferSide::Both);
            if either && matched_either.contains(&ri) {
                continue;
            }
            worker.stats.rules_evaluated += 1;
            let checked = started.map(|_| Instant::now());
            let holds =
                self.tx_rule_holds(rule, &ctx, tx, &mut bufs, flow_state, &mut worker.stats);
            let pass = holds && {
                if either {
                    matched_either.push(ri);
                }
                self.on_match(ri, rule, &ctx, Some(&mut bufs), flow_state, worker, alerts)
            };
            profile_check(worker, group, ri, holds, checked);
            if pass {
                break;
            }
        }
        worker.candidates = candidates;
        profile_end(worker, started);
    }

    /// Whether every condition of the HTTP rule `rule` holds on this transaction side
    /// (header, flow and flowbits, HTTP events, `urilen`, buffer contents).
    fn tx_rule_holds(
        &self,
        rule: &CompiledRule,
        ctx: &Ctx<'_>,
        tx: &HttpTransaction,
        bufs: &mut TxBuffers<'_>,
        flow_state: &FlowDetectState,
        stats: &mut DetectStats,
    ) -> bool {
        // The events first: a rule without a fast pattern (an anomaly rule) is checked
        // against every transaction, and most have no event at all.
        if !rule
            .http_events
            .iter()
            .all(|e| tx.request.events.contains(*e))
        {
            return false;
        }
        if !self.header_and_state(rule, ctx, flow_state, false) {
            return false;
        }
        if let Some(u) = rule.urilen {
            let key = BufferRef::plain(match u.kind {
                UriKind::Normalized => Buffer::HttpUri,
                UriKind::Raw => Buffer::HttpUriRaw,
            });
            let len = bufs.get(&key).and_then(|i| i.first()).map(|b| b.len());
            if !len.is_some_and(|l| u.cmp.matches(l as u64)) {
                return false;
            }
        }
        self.lists_match(rule, bufs, stats)
    }

    /// Whether every content list of `rule` matches some instance of its buffer, within the
    /// match budget (a budget run out is counted).
    fn lists_match<'a>(
        &self,
        rule: &CompiledRule,
        bufs: &mut impl BufferSource<'a>,
        stats: &mut DetectStats,
    ) -> bool {
        let mut budget = MatchBudget::new(self.config.max_match_steps);
        let ok = rule.lists.iter().all(|list| {
            bufs.instances(&list.key).is_some_and(|inst| {
                inst.iter()
                    .any(|b| match_items(&list.items, b, &mut budget))
            })
        });
        if budget.exhausted {
            stats.match_limit_hits += 1;
        }
        ok
    }

    /// When the worker profiles: sizes its profile for this set and starts the clock of an
    /// inspection. One check per inspection when it does not.
    fn profile_start(&self, worker: &mut WorkerDetectState) -> Option<Instant> {
        let p = worker.stats.profile.as_deref_mut()?;
        let prefilters = self.tls.first_prefilter + self.tls.prefilters.len();
        p.fit(self.rules.len(), prefilters);
        Some(Instant::now())
    }

    /// What the rules and prefilters of this set cost, with their names: from the merged
    /// profiles of the workers that ran it (see [`super::profile`]).
    pub fn profile_report(&self, profile: &RuleProfile) -> ProfileReport {
        let rules = self
            .rules
            .iter()
            .zip(&profile.rules)
            .filter(|(_, c)| c.checked > 0)
            .map(|(r, c)| RuleProfileRow {
                sid: r.info.sid,
                gid: r.info.gid,
                rev: r.info.rev,
                msg: r.info.msg.clone(),
                cost: *c,
            })
            .collect();
        let mut prefilters = Vec::new();
        let groups = [
            ("request", &self.request),
            ("response", &self.response),
            ("payload", &self.payload),
            ("tls", &self.tls),
        ];
        for (side, group) in groups {
            for (i, pf) in group.prefilters.iter().enumerate() {
                let mut buffer = pf.key.buffer.name().to_string();
                for t in &pf.key.transforms {
                    buffer.push('|');
                    buffer.push_str(t.name());
                }
                prefilters.push(PrefilterRow {
                    side,
                    buffer,
                    gate: pf
                        .gate
                        .and_then(|b| self.flowbit_names.get(b as usize).cloned()),
                    patterns: pf.confirm.len(),
                    rules: pf.confirm.rules(),
                    automaton: pf.describe(),
                    cost: profile
                        .prefilters
                        .get(group.first_prefilter + i)
                        .copied()
                        .unwrap_or_default(),
                });
            }
        }
        let mut report = ProfileReport {
            rules,
            prefilters,
            inspections: profile.inspections,
            nanos: profile.nanos,
        };
        report.sort();
        report
    }

    /// What each rule inspects, in evaluation order: for `exhound rules list`.
    pub fn summaries(&self) -> Vec<RuleSummary> {
        self.rules
            .iter()
            .map(|r| {
                let mut buffers: Vec<String> = Vec::new();
                let mut reads: Vec<BufferRef> = Vec::new();
                for l in &r.lists {
                    let name = l.key.buffer.to_string();
                    if !buffers.contains(&name) {
                        buffers.push(name);
                    }
                    if !reads.contains(&l.key) {
                        reads.push(l.key.clone());
                    }
                }
                RuleSummary {
                    info: Arc::clone(&r.info),
                    buffers,
                    reads,
                    fast_pattern: r
                        .fast_pattern
                        .as_ref()
                        .map(|(li, bytes)| (r.lists[*li].key.buffer.to_string(), bytes.clone())),
                }
            })
            .collect()
    }

    /// True when some rule inspects packets or streams (`tcp`/`ip` rules without an HTTP
    /// buffer), so that callers can skip payload inspection when none does.
    pub fn has_payload_rules(&self) -> bool {
        !self.payload.prefilters.is_empty() || !self.payload.always.is_empty()
    }

    /// True when some rule inspects TLS handshakes, so that callers can skip
    /// [`RuleSet::inspect_tls`] (and HTTP traffic costs nothing more) when none does.
    pub fn has_tls_rules(&self) -> bool {
        !self.tls.prefilters.is_empty() || !self.tls.always.is_empty()
    }

    /// Inspects the handshake of a TLS connection with the TLS rules (`tls.sni`,
    /// `tls.cert_*`, `tls.certs`, `ja3*`, `ja4.hash`, `tls.version`, `app-layer-protocol:tls`,
    /// protocol `tls`), in one ordered pass. A rule inspecting a server buffer (certificate,
    /// JA3S) is matched `to_client`, others `to_server`. A rule alerts at most once per call;
    /// callers call once per connection.
    #[allow(clippy::too_many_arguments)]
    pub fn inspect_tls(
        &self,
        flow: &FlowMeta,
        tls: &TlsInfo,
        flow_state: &mut FlowDetectState,
        worker: &mut WorkerDetectState,
        now: Timestamp,
        alerts: &mut Vec<Alert>,
    ) {
        worker.stats.tls_handshakes += 1;
        let started = self.profile_start(worker);
        let mut bufs = TlsBuffers::new(tls);
        self.collect_candidates(
            &self.tls,
            flow_state,
            worker,
            Precheck::Nothing,
            |key, scan| {
                if let Some(inst) = bufs.get(key) {
                    for b in inst {
                        scan(b.as_ref());
                    }
                }
            },
        );
        let version = tls.version();
        let candidates = std::mem::take(&mut worker.candidates);
        for &ri in &candidates {
            let rule = &self.rules[ri as usize];
            let ctx = Ctx {
                flow,
                dir: if rule.tls_server {
                    AlertDirection::ToClient
                } else {
                    AlertDirection::ToServer
                },
                now,
                tx_id: None,
            };
            worker.stats.rules_evaluated += 1;
            let checked = started.map(|_| Instant::now());
            let holds = self.header_and_state(rule, &ctx, flow_state, false)
                && rule.tls_version.is_none_or(|v| version == Some(v))
                && self.lists_match(rule, &mut bufs, &mut worker.stats);
            let pass =
                holds && self.on_match(ri, rule, &ctx, Some(&mut bufs), flow_state, worker, alerts);
            profile_check(worker, &self.tls, ri, holds, checked);
            if pass {
                break;
            }
        }
        worker.candidates = candidates;
        profile_end(worker, started);
    }

    /// True when some packet rule looks at bytes (has `content`, `pcre`…), so that callers
    /// can skip gathering reassembled stream data when none does (`flags` and `dsize` alone
    /// need only the packet).
    pub fn needs_stream_data(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.kind == RuleKind::Payload && !r.lists.is_empty())
    }

    /// Whether [`RuleSet::inspect_payload`] can be left out for a packet (or another side's
    /// data, `tcp_flags` `None`) of `len` bytes: no payload rule has a fast pattern, and a
    /// cheap condition (`dsize`, `flags`) that every rule without one shares fails, so no rule
    /// can hold. The inspection is counted all the same. (Nearly every packet with the
    /// bundled rules, whose one payload rule looks for a SYN with data: a one-byte segment
    /// paid some 300 instructions to learn that.) Never while rules are profiled.
    #[inline]
    pub fn skip_payload(
        &self,
        worker: &mut WorkerDetectState,
        len: usize,
        tcp_flags: Option<u8>,
    ) -> bool {
        if !self.payload.prefilters.is_empty() || worker.stats.profile.is_some() {
            return false;
        }
        if self
            .payload
            .always
            .iter()
            .any(|a| a.may_hold_on_packet(len, tcp_flags))
        {
            return false;
        }
        worker.stats.payloads += 1;
        true
    }

    /// Inspects one packet of a flow (sent in direction `dir`) with the `tcp`/`ip` rules that
    /// have no HTTP buffer, in one ordered pass (so flowbits set by one rule are seen by the
    /// next). `packet` is the packet's payload: `dsize` measures it, and rules without
    /// payload checks match on every call. `tcp_flags` are the packet's TCP flags, for `flags`
    /// (`None` when the data is another side's, released by this packet: `flags` rules do not
    /// match then). `stream` is the reassembled data this packet made
    /// available, if any: rules with payload checks inspect it when given (unless
    /// `flow:no_stream`), else the packet payload (unless `flow:only_stream`). A rule alerts
    /// at most once per call.
    #[allow(clippy::too_many_arguments)]
    pub fn inspect_payload(
        &self,
        flow: &FlowMeta,
        dir: AlertDirection,
        packet: &[u8],
        tcp_flags: Option<u8>,
        stream: Option<&[u8]>,
        flow_state: &mut FlowDetectState,
        worker: &mut WorkerDetectState,
        now: Timestamp,
        alerts: &mut Vec<Alert>,
    ) {
        worker.stats.payloads += 1;
        let started = self.profile_start(worker);
        let precheck = Precheck::Packet {
            len: packet.len(),
            flags: tcp_flags,
        };
        self.collect_candidates(&self.payload, flow_state, worker, precheck, |key, scan| {
            if key.buffer == Buffer::Payload {
                scan(packet);
                if let Some(s) = stream {
                    scan(s);
                }
            }
        });
        let ctx = Ctx {
            flow,
            dir,
            now,
            tx_id: None,
        };
        let candidates = std::mem::take(&mut worker.candidates);
        for &ri in &candidates {
            let rule = &self.rules[ri as usize];
            let data = if rule.lists.is_empty() {
                packet
            } else {
                match (rule.flow.stream, stream) {
                    (Some(FlowStream::NoStream), _) => packet,
                    (_, Some(s)) => s,
                    (Some(FlowStream::OnlyStream), None) => continue,
                    (None, None) => packet,
                }
            };
            worker.stats.rules_evaluated += 1;
            let checked = started.map(|_| Instant::now());
            let holds = self.payload_rule_holds(
                rule,
                &ctx,
                (packet, data),
                tcp_flags,
                flow_state,
                &mut worker.stats,
            );
            let pass = holds && self.on_match(ri, rule, &ctx, None, flow_state, worker, alerts);
            profile_check(worker, &self.payload, ri, holds, checked);
            if pass {
                break;
            }
        }
        worker.candidates = candidates;
        profile_end(worker, started);
    }

    /// Whether every condition of the payload rule `rule` holds: header, flow and flowbits,
    /// `dsize` and `flags` on the packet, contents on `data` (the packet's payload or the
    /// stream's, as `(packet, data)`).
    fn payload_rule_holds(
        &self,
        rule: &CompiledRule,
        ctx: &Ctx<'_>,
        (packet, data): (&[u8], &[u8]),
        tcp_flags: Option<u8>,
        flow_state: &FlowDetectState,
        stats: &mut DetectStats,
    ) -> bool {
        // The packet's own size and flags first: they are one comparison each, and a rule
        // without a fast pattern (a SYN with data, say) is checked against every packet.
        if let Some(d) = rule.dsize {
            if !d.matches(packet.len() as u64) {
                return false;
            }
        }
        if let Some(f) = rule.tcp_flags {
            if !tcp_flags.is_some_and(|flags| f.matches(flags)) {
                return false;
            }
        }
        if !self.header_and_state(rule, ctx, flow_state, true) {
            return false;
        }
        let mut budget = MatchBudget::new(self.config.max_match_steps);
        let ok = rule
            .lists
            .iter()
            .all(|l| l.key.buffer == Buffer::Payload && match_items(&l.items, data, &mut budget));
        if budget.exhausted {
            stats.match_limit_hits += 1;
        }
        ok
    }

    /// Fills `worker.candidates` with the group's rules worth evaluating, in order:
    /// prefilter hits plus the always-evaluated rules. `with_buffer(key, scan)` must call
    /// `scan` on every instance of the buffer `key`. Prefilters gated on a flowbit the flow
    /// does not have are skipped.
    fn collect_candidates<'s>(
        &'s self,
        group: &'s Group,
        flow_state: &FlowDetectState,
        worker: &mut WorkerDetectState,
        precheck: Precheck<'_>,
        mut with_buffer: impl FnMut(&BufferRef, &mut dyn FnMut(&[u8])),
    ) {
        if worker.marks.len() != self.rules.len() {
            worker.marks = vec![0; self.rules.len()];
            worker.generation = 0;
        }
        worker.generation = worker.generation.wrapping_add(1);
        if worker.generation == 0 {
            worker.marks.iter_mut().for_each(|m| *m = 0);
            worker.generation = 1;
        }
        let generation = worker.generation;
        worker.candidates.clear();
        let mut profile = worker.stats.profile.as_deref_mut();
        for (i, pf) in group.prefilters.iter().enumerate() {
            let cost = profile
                .as_deref_mut()
                .and_then(|p| p.prefilters.get_mut(group.first_prefilter + i));
            if pf.gate.is_some_and(|bit| !flow_state.is_set(bit)) {
                worker.stats.gated_scans += 1;
                if let Some(c) = cost {
                    c.gated += 1;
                }
                continue;
            }
            let started = cost.is_some().then(Instant::now);
            let (mut scans, mut bytes, mut windows) = (0u64, 0u64, 0u64);
            let marks = &mut worker.marks;
            let candidates = &mut worker.candidates;
            let before = candidates.len();
            let folded = &mut worker.folded;
            with_buffer(&pf.key, &mut |hay: &[u8]| {
                scans += 1;
                bytes += hay.len() as u64;
                // Most buffers hold no pattern at all, and the probes prove it quickly. A
                // pattern can only start where a probe hit (its prefix) is, or inside a hit
                // that the probe's non-overlapping search stepped over: those positions are
                // confirmed by comparing the patterns with that prefix. When that costs too
                // much (a buffer built to hit everywhere), the full automata walk the rest.
                let mut mark = |rules: &[u32]| {
                    for &ri in rules {
                        let mark = &mut marks[ri as usize];
                        if *mark != generation {
                            *mark = generation;
                            candidates.push(ri);
                        }
                    }
                };
                let folded: Option<&[u8]> = if pf.fold {
                    // Sized first, then written in place: a loop the compiler vectorises
                    // (extending with a mapping iterator cost three instructions a byte).
                    folded.clear();
                    folded.resize(hay.len(), 0);
                    for (f, b) in folded.iter_mut().zip(hay) {
                        *f = b.to_ascii_lowercase();
                    }
                    Some(folded)
                } else {
                    None
                };
                let probed = folded.unwrap_or(hay);
                let mut allowance = Confirm::allowance(hay.len());
                // Where the automaton walked to the end: later probes stop there.
                let mut walked_from = hay.len();
                for probe in &pf.probes {
                    let mut rest = None;
                    probe.for_each_match(probed, |start, end| {
                        if start >= walked_from {
                            return false;
                        }
                        windows += 1;
                        for at in start..end {
                            let cost = pf.confirm.at(hay, folded, at, &mut mark);
                            allowance = allowance.saturating_sub(cost);
                        }
                        if allowance == 0 {
                            rest = Some(end);
                            return false;
                        }
                        true
                    });
                    if let Some(from) = rest.filter(|&from| from < walked_from) {
                        walked_from = from;
                        pf.confirm.walk(&hay[from..], &mut mark);
                    }
                }
            });
            if let (Some(c), Some(at)) = (cost, started) {
                c.scans += scans;
                c.bytes += bytes;
                c.windows += windows;
                c.candidates += (worker.candidates.len() - before) as u64;
                c.nanos += nanos_since(at);
            }
        }
        for a in &group.always {
            if a.may_hold(precheck) {
                worker.candidates.extend_from_slice(&a.rules);
            }
        }
        worker.candidates.sort_unstable();
    }

    /// Header addresses/ports, `flow` and flowbit conditions (xbit conditions are settled
    /// later, in capture order: see [`CrossFlow`]).
    fn header_and_state(
        &self,
        rule: &CompiledRule,
        ctx: &Ctx<'_>,
        flow_state: &FlowDetectState,
        payload: bool,
    ) -> bool {
        let (src, sport, dst, dport) = ctx.endpoints();
        let fwd = rule.src.matches(src)
            && rule.src_ports.matches(sport)
            && rule.dst.matches(dst)
            && rule.dst_ports.matches(dport);
        let rev = rule.bidirectional
            && rule.src.matches(dst)
            && rule.src_ports.matches(dport)
            && rule.dst.matches(src)
            && rule.dst_ports.matches(sport);
        if !(fwd || rev) {
            return false;
        }
        let f = &rule.flow;
        match f.direction {
            Some(FlowDirection::ToServer) if ctx.dir != AlertDirection::ToServer => return false,
            Some(FlowDirection::ToClient) if ctx.dir != AlertDirection::ToClient => return false,
            _ => {}
        }
        match f.state {
            Some(FlowState::Established) if !ctx.flow.established => return false,
            Some(FlowState::NotEstablished) if ctx.flow.established => return false,
            _ => {}
        }
        // Transactions are reassembled-stream data.
        if !payload && f.stream == Some(FlowStream::NoStream) {
            return false;
        }
        rule.flowbit_conds
            .iter()
            .all(|c| flowbit_holds(c, flow_state))
    }

    /// A rule fully matched: run its flowbit actions, apply noalert, emit the alert. What
    /// touches state shared across flows (xbit conditions and commands, rate limits) is not
    /// decided here: the alert carries it as a [`CrossFlow`] to be settled in capture order.
    /// A rule with xbit conditions runs its flowbit commands (and, for `pass`, stops the
    /// evaluation) as if they held. Returns true when it was a `pass` rule (stop evaluating).
    #[allow(clippy::too_many_arguments)]
    fn on_match<'a>(
        &self,
        ri: u32,
        rule: &CompiledRule,
        ctx: &Ctx<'_>,
        bufs: Option<&mut dyn BufferSource<'a>>,
        flow_state: &mut FlowDetectState,
        worker: &mut WorkerDetectState,
        alerts: &mut Vec<Alert>,
    ) -> bool {
        for op in &rule.flowbit_actions {
            for &id in &op.ids {
                match op.cmd {
                    BitCmd::Set => flow_state.set(id, true),
                    BitCmd::Unset => flow_state.set(id, false),
                    BitCmd::Toggle => flow_state.toggle(id),
                    _ => {}
                }
            }
        }
        let pass = rule.info.action == Action::Pass;
        let alert = !pass && !rule.noalert;
        let rate = match (&rule.threshold, &rule.detection_filter) {
            (Some(t), _) => Some(RateLimit::Threshold(*t)),
            (None, Some(d)) => Some(RateLimit::Filter(*d)),
            (None, None) => None,
        };
        let shared = !rule.xbit_conds.is_empty()
            || !rule.xbit_actions.is_empty()
            || (alert && rate.is_some());
        if !shared {
            worker.stats.matches += 1;
            if alert {
                worker.stats.alerts += 1;
                alerts.push(Alert {
                    rule: Arc::clone(&rule.info),
                    direction: ctx.dir,
                    tx_id: ctx.tx_id,
                    cross_flow: None,
                });
            }
            return pass;
        }
        let (src, _, dst, _) = ctx.endpoints();
        let track_key = |t: Track| match t {
            Track::BySrc => TrackKey::Host(src),
            Track::ByDst => TrackKey::Host(dst),
            Track::ByRule => TrackKey::Rule,
            Track::ByBoth => TrackKey::Pair(src, dst),
        };
        let mut bufs = bufs;
        let mut key_of = |x: &XbitOp| {
            let key = xbit_key(x, ctx);
            match (&x.value, bufs.as_deref_mut()) {
                (Some(v), Some(b)) => key.with_value(xbit_value(v, rule, b)),
                (Some(_), None) => key.with_value(value_hash(b"")),
                (None, _) => key,
            }
        };
        let conditions = rule
            .xbit_conds
            .iter()
            .map(|x| (x.id, key_of(x), x.cmd == BitCmd::IsSet))
            .collect();
        let actions = rule
            .xbit_actions
            .iter()
            .map(|x| (x.cmd, x.id, key_of(x), x.expire))
            .collect();
        let cross_flow = CrossFlow {
            rule: ri,
            now: ctx.now,
            conditions,
            actions,
            rate: rate.filter(|_| alert).map(|r| {
                let track = match r {
                    RateLimit::Threshold(t) => t.track,
                    RateLimit::Filter(f) => f.track,
                };
                (r, track_key(track))
            }),
            alert,
        };
        alerts.push(Alert {
            rule: Arc::clone(&rule.info),
            direction: ctx.dir,
            tx_id: ctx.tx_id,
            cross_flow: Some(Box::new(cross_flow)),
        });
        pass
    }
}

impl Prefilter {
    /// Its searchers, for profiles: the probes (of pattern prefixes, leftmost-first) and the
    /// full pattern automaton, by aho-corasick kind.
    fn describe(&self) -> String {
        format!(
            "probe: {}{}; full: {:?}",
            self.probes
                .iter()
                .map(Probe::kind)
                .collect::<Vec<_>>()
                .join(", "),
            if self.fold { " (lower-cased)" } else { "" },
            self.confirm.kind(),
        )
    }
}

/// Ends the clock of an inspection started by [`RuleSet::profile_start`].
/// Counts one evaluation of rule `ri` of `group` in the profile, when profiling (`checked` is
/// when the evaluation started).
fn profile_check(
    worker: &mut WorkerDetectState,
    group: &Group,
    ri: u32,
    holds: bool,
    checked: Option<Instant>,
) {
    if let (Some(at), Some(p)) = (checked, worker.stats.profile.as_deref_mut()) {
        p.check(ri, group.profiled_prefilter(ri), holds, at);
    }
}

fn profile_end(worker: &mut WorkerDetectState, started: Option<Instant>) {
    if let (Some(at), Some(p)) = (started, worker.stats.profile.as_deref_mut()) {
        p.inspections += 1;
        p.nanos += nanos_since(at);
    }
}

/// Settles, in order, the entries of `alerts` that carry cross-flow work against `state`,
/// keeping the alerts that stand: for callers that inspect flows one after another in
/// capture order on one thread.
pub fn settle_in_order(alerts: &mut Vec<Alert>, state: &mut CrossFlowState, config: &DetectConfig) {
    alerts.retain(|a| match &a.cross_flow {
        Some(c) => state.settle(c, config),
        None => true,
    });
}

/// What one inspection is about.
struct Ctx<'a> {
    flow: &'a FlowMeta,
    dir: AlertDirection,
    now: Timestamp,
    tx_id: Option<u64>,
}

impl Ctx<'_> {
    /// (source ip, source port, destination ip, destination port) of the inspected data.
    fn endpoints(&self) -> (IpAddr, u16, IpAddr, u16) {
        let f = self.flow;
        match self.dir {
            AlertDirection::ToServer => (f.client_ip, f.client_port, f.server_ip, f.server_port),
            AlertDirection::ToClient => (f.server_ip, f.server_port, f.client_ip, f.client_port),
        }
    }
}

/// Every spelling of `prefixes` (bytes, nocase) that a search of the buffer as it is must
/// look for: a case-sensitive prefix as it is, a `nocase` one in each case of its letters;
/// `None` when they are more than `most`.
fn spellings<'p>(
    prefixes: impl Iterator<Item = (&'p [u8], bool)>,
    most: usize,
) -> Option<Vec<Vec<u8>>> {
    let mut out = std::collections::BTreeSet::new();
    for (prefix, nocase) in prefixes {
        if !nocase {
            out.insert(prefix.to_vec());
        } else {
            let mut cases = vec![prefix.to_ascii_lowercase()];
            for (i, b) in prefix.iter().enumerate() {
                if b.is_ascii_alphabetic() && cases.len() <= most {
                    for j in 0..cases.len() {
                        let mut other = cases[j].clone();
                        other[i] = other[i].to_ascii_uppercase();
                        cases.push(other);
                    }
                }
            }
            out.extend(cases);
        }
        if out.len() > most {
            return None;
        }
    }
    Some(out.into_iter().collect())
}

/// The flowbit `rule` requires (`isset` of one bit, or of all of several) that no rule in
/// `settable` can set, if any: the first such bit.
fn prefilter_gate(rule: &CompiledRule, settable: &[u32]) -> Option<u32> {
    rule.required_flowbits().find(|id| !settable.contains(id))
}

fn flowbit_holds(c: &BitOp, state: &FlowDetectState) -> bool {
    let want = c.cmd == BitCmd::IsSet;
    let mut it = c.ids.iter().map(|&id| state.is_set(id) == want);
    match c.group {
        BitGroup::Single | BitGroup::All => it.all(|b| b),
        // `isset,a|b`: any is set. `isnotset,a|b`: any is not set.
        BitGroup::Any => it.any(|b| b),
    }
}

/// The value an xbit kept per value is about: the hash of what the named group of its pcre
/// captured in the first instance of the buffer where that pcre matches (the hash of an empty
/// value when it captured nothing: no file name is empty, so such a bit answers no request).
fn xbit_value<'a>(v: &XbitValue, rule: &CompiledRule, bufs: &mut dyn BufferSource<'a>) -> u64 {
    let captured = rule.lists.get(v.list).and_then(|list| {
        bufs.instances(&list.key)?.iter().find_map(|b| {
            let caps = v.regex.captures(b)?;
            caps.name(&v.group).map(|m| value_hash(m.as_bytes()))
        })
    });
    captured.unwrap_or_else(|| value_hash(b""))
}

fn xbit_key(x: &XbitOp, ctx: &Ctx<'_>) -> XbitKey {
    let (src, _, dst, _) = ctx.endpoints();
    match x.track {
        XbitsTrack::IpSrc => XbitKey::Host(src),
        XbitsTrack::IpDst => XbitKey::Host(dst),
        XbitsTrack::IpPair => XbitKey::pair(src, dst),
    }
}

#[cfg(test)]
mod tests;
