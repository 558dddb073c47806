//! Builds a [`Rule`] from one rule's text: header words, then each option through the
//! keyword table, tracking the current sticky buffer, transforms and the content that
//! modifiers apply to; then the whole-rule checks Suricata makes when it loads a rule.

use super::base64::Base64Decode;
use super::buffer::{Buffer, BufferRef, BufferSide, Transform};
use super::content::{parse_content_value, Content, FastPattern};
use super::error::ParseError;
use super::event::TcpFlagsMatch;
use super::flow::{Flow, Flowbits, Xbits};
use super::header::{Action, AddrSpec, Direction, PortSpec, Protocol};
use super::lexer::{lex, OptionToken};
use super::meta::{
    parse_classtype, parse_metadata, parse_priority, parse_quoted, parse_sid, parse_u32, Reference,
    Target,
};
use super::pcre::parse_pcre;
use super::size::{IntCmp, Isdataat, Urilen};
use super::threshold::{DetectionFilter, Threshold};
use super::{MatchItem, MatchKind, Rule, RuleOption};

/// Content modifiers (they apply to the last `content`).
const CONTENT_MODIFIERS: &[&str] = &[
    "nocase",
    "depth",
    "offset",
    "distance",
    "within",
    "startswith",
    "endswith",
    "rawbytes",
    "fast_pattern",
];

/// Keywords Suricata knows that exhound does not implement (a clearer error than "unknown").
const UNSUPPORTED: &[&str] = &[
    "byte_test",
    "byte_jump",
    "byte_extract",
    "byte_math",
    "entropy",
    "absent",
    "replace",
    "asn1",
    "rpc",
    "stream_size",
    "ttl",
    "tos",
    "ipopts",
    "fragbits",
    "fragoffset",
    "id",
    "ip_proto",
    "window",
    "seq",
    "ack",
    "itype",
    "icode",
    "icmp_id",
    "icmp_seq",
    "sameip",
    "tag",
    "lua",
    "luajit",
    "dataset",
    "datarep",
    "iprep",
    "flowint",
    "flowvar",
    "pktvar",
    "hostbits",
    "filename",
    "fileext",
    "filemagic",
    "filestore",
    "filemd5",
    "filesha1",
    "filesha256",
    "filesize",
    "file.name",
    "file.magic",
    "app-layer-event",
    "decode-event",
    "stream-event",
    "engine-event",
    "prefilter",
    "bypass",
    "config",
    "requires",
    "dotprefix",
    "domain",
    "tld",
    "to_md5",
    "to_sha1",
    "to_sha256",
    "pcrexform",
    "xor",
    "header_lowercase",
    "strip_pseudo_headers",
    "from_base64",
    "gunzip",
    "zlib_deflate",
    "subslice",
    "luaxform",
    "http.request_header.raw",
    "http.response_header.raw",
    "http2.header",
    "dns.opcode",
    "dns.answer.name",
    "dns.queries.rrname",
];

/// Why an option failed: a message about that option, or an error found elsewhere.
enum Fail {
    Msg(String),
    At(ParseError),
}

impl From<String> for Fail {
    fn from(m: String) -> Fail {
        Fail::Msg(m)
    }
}

impl From<&str> for Fail {
    fn from(m: &str) -> Fail {
        Fail::Msg(m.to_string())
    }
}

/// Parser state while walking the options.
struct State {
    options: Vec<RuleOption>,
    /// Offset and keyword of each option (errors found after the fact point there).
    positions: Vec<(usize, String)>,
    /// The sticky buffer in force.
    current: BufferRef,
    /// Where the sticky buffer in force was selected, and whether a match used it.
    sticky: Option<(usize, String, bool)>,
    /// Transforms may still be added (right after a sticky buffer or a transform).
    transforms_open: bool,
    /// Index (in `options`) of the content modifiers apply to.
    last_content: Option<usize>,
    /// A `base64_decode` was seen (so `base64_data` has something to inspect).
    base64_decode_seen: bool,
}

/// Parses one rule (continuation lines already joined, no comment).
pub fn parse_rule(text: &str) -> Result<Rule, ParseError> {
    let lexed = lex(text)?;
    let h = &lexed.header;
    if h.len() != 7 {
        let at = h.get(7).map_or(text.len(), |t| t.offset);
        return Err(ParseError::at(
            h.first()
                .map_or(at, |t| if h.len() > 7 { at } else { t.offset }),
            format!(
                "the header needs 7 words (action proto src sport dir dst dport), found {}",
                h.len()
            ),
        ));
    }
    fn field<T>(offset: usize, r: Result<T, String>) -> Result<T, ParseError> {
        r.map_err(|m| ParseError::at(offset, m))
    }
    let at = |i: usize| h[i].offset;
    let action = field(at(0), Action::parse(h[0].text))?;
    let protocol = field(at(1), Protocol::parse(h[1].text))?;
    let src = field(at(2), AddrSpec::parse(h[2].text))?;
    let src_ports = field(at(3), PortSpec::parse(h[3].text))?;
    let direction = field(at(4), Direction::parse(h[4].text))?;
    let dst = field(at(5), AddrSpec::parse(h[5].text))?;
    let dst_ports = field(at(6), PortSpec::parse(h[6].text))?;

    let mut st = State {
        options: Vec::new(),
        positions: Vec::new(),
        current: BufferRef::payload(),
        sticky: None,
        transforms_open: false,
        last_content: None,
        base64_decode_seen: false,
    };
    for opt in &lexed.options {
        let name = opt.name.text;
        st.option(opt).map_err(|f| match f {
            Fail::Msg(m) => ParseError::keyword(opt.name.offset, name, m),
            Fail::At(e) => e,
        })?;
    }
    st.close_sticky()?;
    let rule = Rule {
        action,
        protocol,
        src,
        src_ports,
        direction,
        dst,
        dst_ports,
        options: st.options,
    };
    validate(&rule, &st.positions)?;
    Ok(rule)
}

impl State {
    fn push(&mut self, opt: RuleOption, offset: usize, keyword: &str) {
        self.options.push(opt);
        self.positions.push((offset, keyword.to_string()));
    }

    fn push_match(&mut self, buffer: BufferRef, kind: MatchKind, offset: usize, keyword: &str) {
        if let Some(s) = self.sticky.as_mut() {
            if buffer == self.current {
                s.2 = true;
            }
        }
        self.transforms_open = false;
        self.push(
            RuleOption::Match(MatchItem { buffer, kind }),
            offset,
            keyword,
        );
    }

    /// Errors if the sticky buffer in force got no match.
    fn close_sticky(&mut self) -> Result<(), ParseError> {
        if let Some((offset, kw, used)) = self.sticky.take() {
            if !used && kw != "pkt_data" {
                return Err(ParseError::keyword(
                    offset,
                    &kw,
                    "sticky buffer is not followed by any content, pcre or other match",
                ));
            }
        }
        Ok(())
    }

    fn last_content_mut(&mut self) -> Option<&mut MatchItem> {
        let i = self.last_content?;
        match self.options.get_mut(i) {
            Some(RuleOption::Match(m)) => Some(m),
            _ => None,
        }
    }

    fn option(&mut self, opt: &OptionToken<'_>) -> Result<(), Fail> {
        let name = opt.name.text;
        let off = opt.name.offset;
        let value = opt.value.map(|v| v.text);
        let need = || value.ok_or_else(|| "needs a value".to_string());
        let none = || -> Result<(), Fail> {
            match value {
                Some(_) => Err("takes no value".into()),
                None => Ok(()),
            }
        };

        if let Some(buffer) = Buffer::from_sticky(name) {
            none()?;
            if buffer == Buffer::Base64Data && !self.base64_decode_seen {
                return Err("needs a preceding base64_decode".into());
            }
            self.close_sticky().map_err(Fail::At)?;
            self.current = BufferRef::plain(buffer);
            self.sticky = Some((off, name.to_string(), false));
            self.transforms_open = buffer != Buffer::Payload;
            self.last_content = None;
            return Ok(());
        }
        if let Some(t) = Transform::from_keyword(name) {
            none()?;
            if self.current.buffer == Buffer::Payload {
                return Err("a transform needs a sticky buffer before it".into());
            }
            if !self.transforms_open {
                return Err("a transform must directly follow its sticky buffer".into());
            }
            self.current.transforms.push(t);
            if let Some(s) = self.sticky.as_mut() {
                s.2 = false;
            }
            return Ok(());
        }
        if let Some(buffer) = Buffer::from_modifier(name) {
            none()?;
            let current = self.current.buffer;
            let m = self.last_content_mut().ok_or("needs a preceding content")?;
            if m.buffer.buffer != Buffer::Payload || current != Buffer::Payload {
                return Err("can't be used on a content that already has a buffer \
                            (sticky buffer or another modifier)"
                    .into());
            }
            m.buffer = BufferRef::plain(buffer);
            return Ok(());
        }
        if CONTENT_MODIFIERS.contains(&name) {
            let m = self.last_content_mut().ok_or("needs a preceding content")?;
            let MatchKind::Content(c) = &mut m.kind else {
                return Err("needs a preceding content".into());
            };
            return Ok(c.apply_modifier(name, value)?);
        }

        match name {
            "content" | "uricontent" => {
                let (negated, pattern) = parse_content_value(need()?)?;
                let mut c = Content::new(pattern);
                c.negated = negated;
                let buffer = if name == "uricontent" {
                    if self.current.buffer != Buffer::Payload {
                        return Err("uricontent can't follow a sticky buffer".into());
                    }
                    BufferRef::plain(Buffer::HttpUri)
                } else {
                    self.current.clone()
                };
                self.last_content = Some(self.options.len());
                self.push_match(buffer, MatchKind::Content(c), off, name);
            }
            "pcre" => {
                let (p, letter) = parse_pcre(need()?)?;
                let buffer = match letter {
                    Some(b) => BufferRef::plain(b),
                    None => self.current.clone(),
                };
                self.push_match(buffer, MatchKind::Pcre(p), off, name);
            }
            "isdataat" => {
                let i = Isdataat::parse(need()?)?;
                // A relative isdataat belongs to the buffer of the match it follows (Suricata
                // adds it to that match's list), which matters after a legacy modifier or
                // `uricontent`, where no sticky buffer is in force; right after a sticky
                // buffer it belongs to that buffer.
                let previous = self.options.iter().rev().find_map(|o| match o {
                    RuleOption::Match(m) => Some(m.buffer.clone()),
                    _ => None,
                });
                let fresh_sticky = self.sticky.as_ref().is_some_and(|(_, _, used)| !used);
                let buffer = match previous {
                    Some(b) if i.relative && !fresh_sticky => b,
                    _ => self.current.clone(),
                };
                self.push_match(buffer, MatchKind::Isdataat(i), off, name);
            }
            "bsize" => {
                let c = IntCmp::parse(need()?, u64::MAX)?;
                if self.current.buffer == Buffer::Payload {
                    return Err("needs a sticky buffer before it".into());
                }
                let buffer = self.current.clone();
                self.push_match(buffer, MatchKind::Bsize(c), off, name);
            }
            "base64_decode" => {
                let d = Base64Decode::parse(value)?;
                self.base64_decode_seen = true;
                let buffer = self.current.clone();
                self.push_match(buffer, MatchKind::Base64Decode(d), off, name);
            }
            "dsize" => {
                let c = IntCmp::parse(need()?, u64::from(u16::MAX))?;
                self.push(RuleOption::Dsize(c), off, name);
            }
            "urilen" => {
                let u = Urilen::parse(need()?)?;
                self.push(RuleOption::Urilen(u), off, name);
            }
            "flags" => {
                let f = TcpFlagsMatch::parse(need()?)?;
                self.push(RuleOption::Flags(f), off, name);
            }
            "app-layer-event" => {
                let e = super::event::parse_app_layer_event(need()?)?;
                self.push(RuleOption::AppLayerEvent(e), off, name);
            }
            "app-layer-protocol" => {
                let v = need()?.trim();
                if v.starts_with('!') {
                    return Err("a negated app-layer-protocol is not supported".into());
                }
                let (negated, word) = (false, v);
                let protocol = match word.to_ascii_lowercase().as_str() {
                    "http" | "http1" => Protocol::Http,
                    "tls" => Protocol::Tls,
                    _ => return Err(format!("unsupported protocol `{word}` (http or tls)").into()),
                };
                self.push(
                    RuleOption::AppLayerProtocol { protocol, negated },
                    off,
                    name,
                );
            }
            "tls.version" => {
                let v = parse_tls_version(need()?)?;
                self.push(RuleOption::TlsVersion(v), off, name);
            }
            "msg" => {
                let m = parse_quoted(need()?)?;
                self.push(RuleOption::Msg(m), off, name);
            }
            "sid" => {
                let s = parse_sid(need()?)?;
                self.push(RuleOption::Sid(s), off, name);
            }
            "rev" => {
                let r = parse_u32(need()?)?;
                self.push(RuleOption::Rev(r), off, name);
            }
            "gid" => {
                let g = parse_u32(need()?)?;
                self.push(RuleOption::Gid(g), off, name);
            }
            "classtype" => {
                let c = parse_classtype(need()?)?;
                self.push(RuleOption::Classtype(c), off, name);
            }
            "priority" => {
                let p = parse_priority(need()?)?;
                self.push(RuleOption::Priority(p), off, name);
            }
            "reference" => {
                let r = Reference::parse(need()?)?;
                self.push(RuleOption::Reference(r), off, name);
            }
            "metadata" => {
                let m = parse_metadata(need()?)?;
                self.push(RuleOption::Metadata(m), off, name);
            }
            "target" => {
                let t = Target::parse(need()?)?;
                self.push(RuleOption::Target(t), off, name);
            }
            "flow" => {
                let f = Flow::parse(need()?)?;
                self.push(RuleOption::Flow(f), off, name);
            }
            "flowbits" => {
                let f = Flowbits::parse(need()?)?;
                self.push(RuleOption::Flowbits(f), off, name);
            }
            "xbits" => {
                let x = Xbits::parse(need()?)?;
                self.push(RuleOption::Xbits(x), off, name);
            }
            "noalert" => {
                none()?;
                self.push(RuleOption::Noalert, off, name);
            }
            "threshold" => {
                let t = Threshold::parse(need()?)?;
                self.push(RuleOption::Threshold(t), off, name);
            }
            "detection_filter" => {
                let d = DetectionFilter::parse(need()?)?;
                self.push(RuleOption::DetectionFilter(d), off, name);
            }
            _ if UNSUPPORTED.contains(&name) => {
                return Err("unsupported keyword".into());
            }
            _ => return Err("unknown keyword".into()),
        }
        Ok(())
    }
}

/// Whole-rule checks, once every option is known.
fn validate(rule: &Rule, positions: &[(usize, String)]) -> Result<(), ParseError> {
    let err = |i: usize, msg: String| {
        let (off, kw) = &positions[i];
        ParseError::keyword(*off, kw, msg)
    };
    let mut seen: Vec<&'static str> = Vec::new();
    let mut fast_patterns = 0;
    let mut has_dsize = None;
    let mut has_flags = None;
    let mut has_http = false;
    let mut has_dns = false;
    let mut has_tls = false;
    let mut has_threshold = None;
    let mut has_filter = None;
    for (i, opt) in rule.options.iter().enumerate() {
        let single = match opt {
            RuleOption::Msg(_) => Some("msg"),
            RuleOption::Sid(_) => Some("sid"),
            RuleOption::Rev(_) => Some("rev"),
            RuleOption::Gid(_) => Some("gid"),
            RuleOption::Classtype(_) => Some("classtype"),
            RuleOption::Priority(_) => Some("priority"),
            RuleOption::Flow(_) => Some("flow"),
            RuleOption::Target(_) => Some("target"),
            RuleOption::Dsize(_) => Some("dsize"),
            RuleOption::Urilen(_) => Some("urilen"),
            RuleOption::Flags(_) => Some("flags"),
            RuleOption::Threshold(_) => Some("threshold"),
            RuleOption::DetectionFilter(_) => Some("detection_filter"),
            _ => None,
        };
        if let Some(k) = single {
            if seen.contains(&k) {
                return Err(err(i, "given twice".into()));
            }
            seen.push(k);
        }
        match opt {
            RuleOption::Dsize(_) => has_dsize = Some(i),
            RuleOption::Flags(_) => has_flags = Some(i),
            RuleOption::Urilen(_) | RuleOption::AppLayerEvent(_) => has_http = true,
            RuleOption::TlsVersion(_) => has_tls = true,
            RuleOption::Threshold(_) => has_threshold = Some(i),
            RuleOption::DetectionFilter(_) => has_filter = Some(i),
            RuleOption::Match(m) => {
                has_http |= m.buffer.buffer.is_http();
                has_dns |= m.buffer.buffer == Buffer::DnsQuery;
                has_tls |= m.buffer.buffer.is_tls();
                if let MatchKind::Content(c) = &m.kind {
                    c.validate().map_err(|e| err(i, e))?;
                    if c.fast_pattern.is_some() {
                        fast_patterns += 1;
                        if fast_patterns > 1 {
                            return Err(err(
                                i,
                                "fast_pattern can only be set once per rule".into(),
                            ));
                        }
                    }
                    if m.buffer.buffer == Buffer::HttpHost
                        && m.buffer.transforms.is_empty()
                        && !c.nocase
                        && c.pattern.iter().any(u8::is_ascii_uppercase)
                    {
                        return Err(err(
                            i,
                            "http.host is lower-cased: the pattern must be lower case \
                             (or use nocase)"
                                .into(),
                        ));
                    }
                    if c.fast_pattern == Some(FastPattern::Only) && m.buffer.buffer.is_multi() {
                        return Err(err(i, "fast_pattern:only can't be used here".into()));
                    }
                }
            }
            _ => {}
        }
    }
    if !seen.contains(&"sid") {
        return Err(ParseError::at(0, "missing sid"));
    }
    if let (Some(_), Some(j)) = (has_threshold, has_filter) {
        return Err(err(
            j,
            "threshold and detection_filter can't be used together".into(),
        ));
    }
    if let Some(i) = has_dsize {
        if has_http {
            return Err(err(i, "dsize can't be used with HTTP buffers".into()));
        }
    }
    if let Some(i) = has_flags {
        if has_http || rule.protocol == Protocol::Http {
            return Err(err(
                i,
                "flags looks at packets: it can't be used in an HTTP rule".into(),
            ));
        }
    }
    if has_http && matches!(rule.protocol, Protocol::Dns | Protocol::Udp) {
        return Err(ParseError::at(
            0,
            format!(
                "HTTP buffers can't be used in a {} rule",
                rule.protocol.as_str()
            ),
        ));
    }
    if has_tls && has_http {
        return Err(ParseError::at(
            0,
            "the rule mixes TLS and HTTP buffers (a connection is one or the other)",
        ));
    }
    if has_tls && !matches!(rule.protocol, Protocol::Tls | Protocol::Tcp | Protocol::Ip) {
        return Err(ParseError::at(
            0,
            format!(
                "TLS buffers can't be used in a {} rule",
                rule.protocol.as_str()
            ),
        ));
    }
    if rule.protocol == Protocol::Tls && has_http {
        return Err(ParseError::at(
            0,
            "HTTP buffers can't be used in a tls rule",
        ));
    }
    if has_dns && rule.protocol != Protocol::Dns {
        return Err(ParseError::at(0, "dns.query needs a dns rule"));
    }
    // Directions: request-only and response-only buffers can't meet, nor contradict `flow`.
    let mut req = false;
    let mut resp = false;
    let mut culprit = 0;
    for (i, opt) in rule.options.iter().enumerate() {
        let side = match opt {
            RuleOption::Match(m) => m.buffer.buffer.side(),
            RuleOption::Urilen(_) => BufferSide::Request,
            _ => continue,
        };
        match side {
            BufferSide::Request => req = true,
            BufferSide::Response => resp = true,
            _ => continue,
        }
        if req && resp {
            return Err(err(i, "the rule mixes request and response buffers".into()));
        }
        culprit = i;
    }
    if let Some(dir) = rule.flow().and_then(|f| f.direction) {
        use super::flow::FlowDirection;
        let conflict = match dir {
            FlowDirection::ToServer => resp,
            FlowDirection::ToClient => req,
        };
        if conflict {
            return Err(err(
                culprit,
                "the buffer's direction conflicts with the flow direction".into(),
            ));
        }
    }
    Ok(())
}

/// A `tls.version` value: `1.0`, `1.1`, `1.2`, `1.3`, `ssl3` (also `sslv3`, `tls1.2`), or
/// a number (`0x0303`, `771`).
fn parse_tls_version(v: &str) -> Result<u16, String> {
    let w = v.trim().trim_matches('"').to_ascii_lowercase();
    let w = w
        .strip_prefix("tlsv")
        .or_else(|| w.strip_prefix("tls"))
        .unwrap_or(&w);
    Ok(match w {
        "1.0" | "1" => 0x0301,
        "1.1" => 0x0302,
        "1.2" => 0x0303,
        "1.3" => 0x0304,
        "ssl3" | "sslv3" | "3.0" => 0x0300,
        _ => {
            let parsed = match w.strip_prefix("0x") {
                Some(hex) => u16::from_str_radix(hex, 16),
                None => w.parse::<u16>(),
            };
            parsed.map_err(|_| format!("not a TLS version: `{v}`"))?
        }
    })
}

#[cfg(test)]
mod tests;
