//! Turns loaded rules into what the engine runs: checks grouped by (buffer, transforms) in
//! rule order, flowbit and xbit names numbered, the fast pattern chosen, and the alert facts
//! (message, class, severity, metadata) ready to copy.
//!
//! Fast pattern choice follows Suricata (`anchors.md` §4.1): an explicit `fast_pattern` wins;
//! otherwise among positive contents (negated ones only if there are no positive ones, and
//! then they can't prefilter), the highest-priority buffer, then the longest pattern, then
//! the highest pattern strength, then the left-most. A negated fast pattern, or none, makes
//! the rule one that is always evaluated.

use std::collections::HashMap;
use std::sync::Arc;

use crate::detect::rule::TcpFlagsMatch;
use crate::http::HttpEvent;

use super::content::{ContentItem, Item, PcreItem};
use super::rule::{
    Action, AddrMatch, BitCmd, BitGroup, Buffer, BufferRef, BufferSide, DetectionFilter, Direction,
    Flow, Flowbits, IntCmp, LoadedRule, MatchKind, PortMatch, Protocol, RuleOption, Threshold,
    Urilen, Xbits, XbitsTrack,
};

/// What an alert says about its rule (shared by every alert of the rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    /// Signature id.
    pub sid: u32,
    /// Group id.
    pub gid: u32,
    /// Revision.
    pub rev: u32,
    /// Message.
    pub msg: String,
    /// Classtype name.
    pub classtype: Option<String>,
    /// Classtype description (EVE `category`).
    pub category: Option<String>,
    /// Severity: `priority`, else the classtype's, else 3.
    pub severity: u32,
    /// The action the rule asked for.
    pub action: Action,
    /// `metadata` pairs.
    pub metadata: Vec<(String, String)>,
    /// `reference` (system, id) pairs.
    pub references: Vec<(String, String)>,
}

/// The checks on one (transformed) buffer.
#[derive(Debug, Clone)]
pub struct MatchList {
    /// The buffer.
    pub key: BufferRef,
    /// Checks, in rule order.
    pub items: Vec<Item>,
}

/// A flowbit condition or action, with names numbered.
#[derive(Debug, Clone)]
pub struct BitOp {
    /// The command.
    pub cmd: BitCmd,
    /// Name ids.
    pub ids: Vec<u32>,
    /// How the names combine.
    pub group: BitGroup,
}

/// An xbit operation, name numbered.
#[derive(Debug, Clone)]
pub struct XbitOp {
    /// The command.
    pub cmd: BitCmd,
    /// Name id.
    pub id: u32,
    /// Whose bit.
    pub track: XbitsTrack,
    /// Lifetime in seconds.
    pub expire: u32,
    /// Where its value comes from (`value NAME`), if it is kept per value.
    pub value: Option<XbitValue>,
}

/// The source of an xbit's value: a named group of one of the rule's `pcre`s.
#[derive(Debug, Clone)]
pub struct XbitValue {
    /// The match list (buffer) the pcre runs on.
    pub list: usize,
    /// The pcre.
    pub regex: regex::bytes::Regex,
    /// The group's name.
    pub group: String,
}

/// Where a rule is inspected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// HTTP transactions, on this side (or both).
    Http(BufferSide),
    /// Packet payloads / stream data.
    Payload,
    /// TLS handshakes, once per TLS connection.
    Tls,
    /// Never (a protocol exhound does not inspect, e.g. dns).
    Never,
}

/// A rule ready to run.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// Alert facts.
    pub info: Arc<RuleInfo>,
    /// Where it is inspected.
    pub kind: RuleKind,
    /// Source addresses.
    pub src: AddrMatch,
    /// Source ports.
    pub src_ports: PortMatch,
    /// Destination addresses.
    pub dst: AddrMatch,
    /// Destination ports.
    pub dst_ports: PortMatch,
    /// `<>`.
    pub bidirectional: bool,
    /// `flow`.
    pub flow: Flow,
    /// Buffer checks.
    pub lists: Vec<MatchList>,
    /// `urilen`.
    pub urilen: Option<Urilen>,
    /// `tls.version`: the negotiated version.
    pub tls_version: Option<u16>,
    /// For TLS rules: inspects the server's part (certificate, JA3S), so alerts `to_client`.
    pub tls_server: bool,
    /// `dsize`.
    pub dsize: Option<IntCmp>,
    /// `flags`.
    pub tcp_flags: Option<TcpFlagsMatch>,
    /// `app-layer-event`: HTTP events the request must have.
    pub http_events: Vec<HttpEvent>,
    /// Flowbit conditions.
    pub flowbit_conds: Vec<BitOp>,
    /// Flowbit actions (on match).
    pub flowbit_actions: Vec<BitOp>,
    /// Xbit conditions.
    pub xbit_conds: Vec<XbitOp>,
    /// Xbit actions (on match).
    pub xbit_actions: Vec<XbitOp>,
    /// Never alerts.
    pub noalert: bool,
    /// `threshold`.
    pub threshold: Option<Threshold>,
    /// `detection_filter`.
    pub detection_filter: Option<DetectionFilter>,
    /// The prefilter: index into `lists` and the bytes, when the rule has one.
    pub fast_pattern: Option<(usize, Vec<u8>)>,
    /// The fast pattern matches without regard to ASCII case (its content is `nocase`).
    pub fast_pattern_nocase: bool,
    /// Evaluation-order key (action, flowbits, xbits, priority, load order).
    pub order: (u8, u8, u8, u32, usize),
}

impl CompiledRule {
    /// The flowbits the rule needs set, every one of them (`isset` of one bit, or of all of
    /// several; `isset,a|b` needs none in particular).
    pub fn required_flowbits(&self) -> impl Iterator<Item = u32> + '_ {
        self.flowbit_conds
            .iter()
            .filter(|c| {
                c.cmd == BitCmd::IsSet && matches!(c.group, BitGroup::Single | BitGroup::All)
            })
            .flat_map(|c| c.ids.iter().copied())
    }
}

/// Numbers names (flowbits or xbits) in order of first use.
#[derive(Debug, Default)]
pub struct Names {
    ids: HashMap<String, u32>,
    /// Names by id.
    pub names: Vec<String>,
}

impl Names {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }
}

/// Suricata's pattern strength: new alpha +3, new printable/0x00/0x01/0xFF +4, other new
/// byte +6, repeated byte +1.
pub fn pattern_strength(p: &[u8]) -> u32 {
    let mut seen = [false; 256];
    let mut s = 0;
    for &b in p {
        if seen[b as usize] {
            s += 1;
        } else {
            seen[b as usize] = true;
            s += if b.is_ascii_alphabetic() {
                3
            } else if (0x20..0x7f).contains(&b) || matches!(b, 0x00 | 0x01 | 0xff) {
                4
            } else {
                6
            };
        }
    }
    s
}

fn rank_action(a: Action) -> u8 {
    match a {
        Action::Pass => 0,
        Action::Drop => 1,
        Action::Reject => 2,
        Action::Alert => 3,
    }
}

/// 0: only sets, 1: sets and reads, 2: only reads, 3: none (Suricata's order).
fn rank_bits(sets: bool, reads: bool) -> u8 {
    match (sets, reads) {
        (true, false) => 0,
        (true, true) => 1,
        (false, true) => 2,
        (false, false) => 3,
    }
}

/// Compiles one loaded rule (`index` is its load order).
pub fn compile(
    loaded: &LoadedRule,
    index: usize,
    flowbits: &mut Names,
    xbits: &mut Names,
) -> Result<CompiledRule, String> {
    let rule = &loaded.rule;
    let class = loaded.class.as_ref();
    let severity = rule.priority().or(class.map(|c| c.priority)).unwrap_or(3);
    let info = RuleInfo {
        sid: rule.sid(),
        gid: rule.gid(),
        rev: rule.rev(),
        msg: rule.msg().to_string(),
        classtype: rule.classtype().map(str::to_string),
        category: class.map(|c| c.description.clone()),
        severity,
        action: rule.action,
        metadata: rule.metadata().cloned().collect(),
        references: rule
            .references()
            .map(|r| (r.system.clone(), r.id.clone()))
            .collect(),
    };

    let mut lists: Vec<MatchList> = Vec::new();
    // Candidate fast patterns: (list index, content, explicit).
    let mut fp_candidates = Vec::new();
    let mut b64_target: Option<(usize, usize)> = None;
    let mut urilen = None;
    let mut dsize = None;
    let mut tcp_flags = None;
    let mut http_events = Vec::new();
    let mut flowbit_conds = Vec::new();
    let mut flowbit_actions = Vec::new();
    let mut xbit_conds = Vec::new();
    let mut xbit_actions = Vec::new();
    let mut xbit_values: Vec<(bool, usize, String)> = Vec::new();
    let mut tls_version = None;
    let mut threshold = None;
    let mut detection_filter = None;
    for opt in &rule.options {
        match opt {
            RuleOption::Match(m) => {
                let item = match &m.kind {
                    MatchKind::Content(c) => Item::Content(Box::new(ContentItem::new(c))),
                    MatchKind::Pcre(p) => Item::Pcre(PcreItem {
                        regex: p.compile()?,
                        negated: p.negated,
                        relative: p.flags.relative,
                    }),
                    MatchKind::Isdataat(i) => Item::Isdataat(*i),
                    MatchKind::Bsize(b) => Item::Bsize(*b),
                    MatchKind::Base64Decode(d) => Item::Base64(*d, Vec::new()),
                };
                if m.buffer.buffer == Buffer::Base64Data {
                    let (li, ii) = b64_target.ok_or("base64_data without base64_decode")?;
                    if let Some(Item::Base64(_, sub)) = lists[li].items.get_mut(ii) {
                        sub.push(item);
                    }
                    continue;
                }
                let li = match lists.iter().position(|l| l.key == m.buffer) {
                    Some(i) => i,
                    None => {
                        lists.push(MatchList {
                            key: m.buffer.clone(),
                            items: Vec::new(),
                        });
                        lists.len() - 1
                    }
                };
                if let MatchKind::Content(c) = &m.kind {
                    if m.buffer.buffer != Buffer::DnsQuery {
                        fp_candidates.push((li, c, c.fast_pattern.is_some()));
                    }
                }
                if matches!(item, Item::Base64(..)) {
                    b64_target = Some((li, lists[li].items.len()));
                }
                lists[li].items.push(item);
            }
            RuleOption::Urilen(u) => urilen = Some(*u),
            RuleOption::TlsVersion(v) => tls_version = Some(*v),
            RuleOption::Dsize(d) => dsize = Some(*d),
            RuleOption::Flags(f) => tcp_flags = Some(*f),
            RuleOption::AppLayerEvent(e) => http_events.push(*e),
            RuleOption::Flowbits(Flowbits::Cmd { cmd, names, group }) => {
                let op = BitOp {
                    cmd: *cmd,
                    ids: names.iter().map(|n| flowbits.id(n)).collect(),
                    group: *group,
                };
                if cmd.is_condition() {
                    flowbit_conds.push(op);
                } else {
                    flowbit_actions.push(op);
                }
            }
            RuleOption::Xbits(x) => {
                let Xbits {
                    cmd, name, track, ..
                } = x;
                let op = XbitOp {
                    cmd: *cmd,
                    id: xbits.id(name),
                    track: *track,
                    expire: x.expire_secs(),
                    value: None,
                };
                let ops = if cmd.is_condition() {
                    &mut xbit_conds
                } else {
                    &mut xbit_actions
                };
                if let Some(group) = &x.value {
                    xbit_values.push((cmd.is_condition(), ops.len(), group.clone()));
                }
                ops.push(op);
            }
            RuleOption::Threshold(t) => threshold = Some(*t),
            RuleOption::DetectionFilter(d) => detection_filter = Some(*d),
            _ => {}
        }
    }
    // `value NAME` names a group of a pcre that may come later in the rule: resolved here.
    for (cond, index, group) in xbit_values {
        let found = lists.iter().enumerate().find_map(|(li, l)| {
            l.items.iter().find_map(|item| match item {
                Item::Pcre(p)
                    if !p.negated && p.regex.capture_names().flatten().any(|n| n == group) =>
                {
                    Some((li, p.regex.clone()))
                }
                _ => None,
            })
        });
        let (list, regex) = found.ok_or_else(|| {
            format!("xbits value `{group}`: no pcre of the rule has a group (?P<{group}>...)")
        })?;
        let ops = if cond {
            &mut xbit_conds
        } else {
            &mut xbit_actions
        };
        if let Some(op) = ops.get_mut(index) {
            op.value = Some(XbitValue { list, regex, group });
        }
    }

    // Fast pattern.
    let chosen = match fp_candidates.iter().find(|(_, _, explicit)| *explicit) {
        Some((li, c, _)) => (!c.negated).then_some((*li, *c)),
        None => fp_candidates
            .iter()
            .filter(|(_, c, _)| !c.negated)
            .enumerate()
            .max_by_key(|(pos, (li, c, _))| {
                let bytes = c.fast_pattern_bytes();
                (
                    std::cmp::Reverse(lists[*li].key.buffer.fast_pattern_priority()),
                    bytes.len(),
                    pattern_strength(bytes),
                    std::cmp::Reverse(*pos),
                )
            })
            .map(|(_, (li, c, _))| (*li, *c)),
    };
    let fast_pattern_nocase = chosen.is_some_and(|(_, c)| c.nocase);
    let fast_pattern = chosen.map(|(li, c)| (li, c.fast_pattern_bytes().to_vec()));

    let kind = match rule.protocol {
        Protocol::Dns | Protocol::Udp => RuleKind::Never,
        _ if rule.is_tls() => RuleKind::Tls,
        _ if rule.is_http() => RuleKind::Http(rule.http_side()),
        Protocol::Http => RuleKind::Http(rule.http_side()),
        _ => RuleKind::Payload,
    };
    let order = (
        rank_action(rule.action),
        rank_bits(!flowbit_actions.is_empty(), !flowbit_conds.is_empty()),
        rank_bits(!xbit_actions.is_empty(), !xbit_conds.is_empty()),
        severity,
        index,
    );
    Ok(CompiledRule {
        info: Arc::new(info),
        kind,
        src: loaded.src.clone(),
        src_ports: loaded.src_ports.clone(),
        dst: loaded.dst.clone(),
        dst_ports: loaded.dst_ports.clone(),
        bidirectional: rule.direction == Direction::Both,
        flow: rule.flow().unwrap_or_default(),
        tls_server: lists.iter().any(|l| l.key.buffer.is_tls_server()),
        lists,
        urilen,
        tls_version,
        dsize,
        tcp_flags,
        http_events,
        flowbit_conds,
        flowbit_actions,
        xbit_conds,
        xbit_actions,
        noalert: rule.noalert(),
        threshold,
        detection_filter,
        fast_pattern,
        fast_pattern_nocase,
        order,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rule::loader::{load_text, LoadOptions};

    fn compiled(body: &str) -> CompiledRule {
        let l = load_text(
            "<t>",
            &format!("alert http any any -> any any ({body} sid:1;)"),
            &LoadOptions::default(),
        )
        .unwrap();
        let mut f = Names::default();
        let mut x = Names::default();
        compile(&l.rules[0], 0, &mut f, &mut x).unwrap()
    }

    fn fp(body: &str) -> Option<(Buffer, String)> {
        let c = compiled(body);
        c.fast_pattern
            .map(|(li, b)| (c.lists[li].key.buffer, String::from_utf8(b).unwrap()))
    }

    #[test]
    fn strength() {
        assert_eq!(pattern_strength(b"aa"), 4);
        assert_eq!(pattern_strength(b"a/"), 7);
        assert_eq!(pattern_strength(b"\x02"), 6);
        assert_eq!(pattern_strength(b"\x00"), 4);
    }

    #[test]
    fn fast_pattern_choice() {
        // Explicit wins, even if shorter.
        assert_eq!(
            fp(r#"http.uri; content:"/autodiscover"; content:"Email"; fast_pattern;"#),
            Some((Buffer::HttpUri, "Email".into()))
        );
        // App-layer buffers beat method (priority), then length.
        assert_eq!(
            fp(
                r#"http.method; content:"POSTPOSTPOST"; http.uri; content:"/ews/"; http.cookie; content:"X-BEResource";"#
            ),
            Some((Buffer::HttpCookie, "X-BEResource".into()))
        );
        // Same length: the stronger pattern.
        assert_eq!(
            fp(r#"http.uri; content:"aaaa"; content:"ab/c";"#),
            Some((Buffer::HttpUri, "ab/c".into()))
        );
        // Same everything: the left-most.
        assert_eq!(
            fp(r#"http.uri; content:"abcd"; content:"efgh";"#),
            Some((Buffer::HttpUri, "abcd".into()))
        );
        // Negated contents don't prefilter; positive ones are preferred over them.
        assert_eq!(
            fp(r#"http.uri; content:!"longer-negated"; content:"pos";"#),
            Some((Buffer::HttpUri, "pos".into()))
        );
        assert_eq!(fp(r#"http.uri; content:!"neg";"#), None);
        assert_eq!(
            fp(r#"http.uri; content:!"neg"; fast_pattern; content:"x";"#),
            None
        );
        // Chop.
        assert_eq!(
            fp(r#"http.uri; content:"abcdef"; fast_pattern:1,3;"#),
            Some((Buffer::HttpUri, "bcd".into()))
        );
        // Base64 data is not in any tx buffer.
        assert_eq!(
            fp(
                r#"http.request_body; content:"x="; base64_decode:relative; base64_data; content:"longer-decoded";"#
            ),
            Some((Buffer::HttpRequestBody, "x=".into()))
        );
        assert_eq!(fp("pcre:\"/x/U\";"), None);
    }

    #[test]
    fn lists_group_by_buffer_and_transforms() {
        let c = compiled(
            r#"http.uri; content:"a"; http.header; content:"b"; http.uri; content:"c"; distance:0; http.uri; url_decode; content:"d";"#,
        );
        assert_eq!(c.lists.len(), 3);
        assert_eq!(c.lists[0].items.len(), 2);
        assert_eq!(c.lists[2].key.transforms.len(), 1);
        let c = compiled(
            r#"http.request_body; content:"x="; base64_decode:relative; base64_data; content:"y"; content:"z";"#,
        );
        assert_eq!(c.lists.len(), 1);
        assert!(matches!(&c.lists[0].items[1], Item::Base64(_, sub) if sub.len() == 2));
    }

    #[test]
    fn kinds_order_and_info() {
        let c = compiled(
            r#"flowbits:set,a; flowbits:isset,b; classtype:trojan-activity; msg:"m"; metadata:k v; reference:cve,1;"#,
        );
        assert_eq!(c.kind, RuleKind::Http(BufferSide::Both));
        assert_eq!(c.order.1, 1);
        assert_eq!(c.info.severity, 1);
        assert_eq!(
            c.info.category.as_deref(),
            Some("A Network Trojan was detected")
        );
        assert_eq!(c.info.metadata, vec![("k".to_string(), "v".to_string())]);
        assert_eq!(
            c.info.references,
            vec![("cve".to_string(), "1".to_string())]
        );
        assert_eq!(c.flowbit_actions.len(), 1);
        assert_eq!(c.flowbit_conds.len(), 1);
        let c = compiled("priority:2; flow:to_client;");
        assert_eq!(c.info.severity, 2);
        assert_eq!(c.kind, RuleKind::Http(BufferSide::Response));
        let c = compiled("");
        assert_eq!(c.info.severity, 3);
    }
}
