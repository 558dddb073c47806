//! The rule language: Suricata rule syntax, parsed into a [`Rule`] and printed back.
//!
//! ```text
//! alert http $EXTERNAL_NET any -> $HOME_NET any (msg:"..."; flow:established,to_server;
//!     http.uri; content:"/ecp/"; nocase; fast_pattern; http.cookie; content:"X-BEResource=";
//!     classtype:attempted-admin; sid:1000001; rev:1;)
//! ```
//!
//! [`parse_rule`] turns one rule's text into a [`Rule`]: its header (kept as written, variables
//! unresolved) and its options in rule order. Buffer-bound options (`content` with its
//! modifiers, `pcre`, `isdataat`, `bsize`, `base64_decode`) become [`MatchItem`]s that name the
//! buffer they inspect, whether the rule said so with a sticky buffer (`http.uri;`), a legacy
//! modifier (`content:"x"; http_uri;`), `uricontent` or a pcre letter (`/U`). `Display` prints
//! a rule back in canonical Suricata syntax (sticky buffers, modifiers in a fixed order), and
//! parsing that text gives the same `Rule`.
//!
//! [`loader`] reads rule files (continuation lines, comments), resolves variables, checks
//! classtypes and duplicate ids, and can skip invalid rules while reporting them.
//!
//! One file per keyword family: [`header`], [`meta`], [`content`], [`pcre`], [`size`],
//! [`flow`], [`threshold`], [`base64`], [`buffer`] (buffers and transforms).

pub mod base64;
pub mod buffer;
pub mod classification;
pub mod content;
pub mod decode;
pub mod error;
pub mod event;
pub mod flow;
pub mod header;
pub mod lexer;
pub mod loader;
pub mod meta;
pub mod parser;
pub mod pcre;
mod printer;
pub mod reads;
pub mod size;
pub mod threshold;
pub mod vars;

pub use base64::Base64Decode;
pub use buffer::{Buffer, BufferRef, BufferSide, Transform};
pub use classification::{ClassType, Classifications};
pub use content::{Content, FastPattern};
pub use error::RuleError;
pub use event::{FlagsMode, TcpFlagsMatch};
pub use flow::{
    BitCmd, BitGroup, Flow, FlowDirection, FlowState, FlowStream, Flowbits, Xbits, XbitsTrack,
};
pub use header::{
    Action, AddrMatch, AddrSpec, Direction, HeaderValue, IpNet, Match, PortMatch, PortRange,
    PortSpec, Protocol, Spec,
};
pub use loader::{LoadOptions, LoadedRule, LoadedRules, SkippedRule};
pub use meta::{Reference, Target};
pub use parser::parse_rule;
pub use pcre::{Pcre, PcreFlags};
pub use size::{IntCmp, Isdataat, UriKind, Urilen};
pub use threshold::{DetectionFilter, Threshold, ThresholdType, Track};
pub use vars::Vars;

use crate::http::HttpEvent;

/// A parsed rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    /// What to do on a match.
    pub action: Action,
    /// Which traffic.
    pub protocol: Protocol,
    /// Source addresses.
    pub src: AddrSpec,
    /// Source ports.
    pub src_ports: PortSpec,
    /// `->` or `<>`.
    pub direction: Direction,
    /// Destination addresses.
    pub dst: AddrSpec,
    /// Destination ports.
    pub dst_ports: PortSpec,
    /// Options, in rule order.
    pub options: Vec<RuleOption>,
}

/// One rule option.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RuleOption {
    /// `msg`.
    Msg(String),
    /// `sid`.
    Sid(u32),
    /// `rev`.
    Rev(u32),
    /// `gid`.
    Gid(u32),
    /// `classtype`.
    Classtype(String),
    /// `priority`.
    Priority(u32),
    /// `reference`.
    Reference(Reference),
    /// `metadata` (one option's pairs).
    Metadata(Vec<(String, String)>),
    /// `target`.
    Target(Target),
    /// `flow`.
    Flow(Flow),
    /// `flowbits`.
    Flowbits(Flowbits),
    /// `xbits`.
    Xbits(Xbits),
    /// `noalert`.
    Noalert,
    /// `threshold`.
    Threshold(Threshold),
    /// `detection_filter`.
    DetectionFilter(DetectionFilter),
    /// `dsize`.
    Dsize(IntCmp),
    /// `urilen`.
    Urilen(Urilen),
    /// `flags` (TCP flags of the packet).
    Flags(TcpFlagsMatch),
    /// `app-layer-event:http.<event>`.
    AppLayerEvent(HttpEvent),
    /// `app-layer-protocol:<proto>` (`http` or `tls`; `!` negates).
    AppLayerProtocol {
        /// The protocol.
        protocol: Protocol,
        /// `!`: the flow is not of that protocol.
        negated: bool,
    },
    /// `tls.version:<v>`: the negotiated TLS version (`1.0` … `1.3`, `ssl3`, or a number
    /// like `0x0303`), as a protocol version number.
    TlsVersion(u16),
    /// A buffer-bound match.
    Match(MatchItem),
}

/// A check made on one (transformed) buffer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MatchItem {
    /// The buffer inspected.
    pub buffer: BufferRef,
    /// The check.
    pub kind: MatchKind,
}

/// What a [`MatchItem`] checks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MatchKind {
    /// `content` with its modifiers.
    Content(Content),
    /// `pcre`.
    Pcre(Pcre),
    /// `isdataat`.
    Isdataat(Isdataat),
    /// `bsize`.
    Bsize(IntCmp),
    /// `base64_decode` (the `base64_data` items after it inspect what it decodes).
    Base64Decode(Base64Decode),
}

impl Rule {
    /// The `sid` (a parsed rule always has one).
    pub fn sid(&self) -> u32 {
        self.options
            .iter()
            .find_map(|o| match o {
                RuleOption::Sid(s) => Some(*s),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// The `gid` (1 when not given).
    pub fn gid(&self) -> u32 {
        self.options
            .iter()
            .find_map(|o| match o {
                RuleOption::Gid(g) => Some(*g),
                _ => None,
            })
            .unwrap_or(1)
    }

    /// The `rev` (0 when not given).
    pub fn rev(&self) -> u32 {
        self.options
            .iter()
            .find_map(|o| match o {
                RuleOption::Rev(r) => Some(*r),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// The `msg` (empty when not given).
    pub fn msg(&self) -> &str {
        self.options
            .iter()
            .find_map(|o| match o {
                RuleOption::Msg(m) => Some(m.as_str()),
                _ => None,
            })
            .unwrap_or("")
    }

    /// The `classtype`.
    pub fn classtype(&self) -> Option<&str> {
        self.options.iter().find_map(|o| match o {
            RuleOption::Classtype(c) => Some(c.as_str()),
            _ => None,
        })
    }

    /// The `priority`.
    pub fn priority(&self) -> Option<u32> {
        self.options.iter().find_map(|o| match o {
            RuleOption::Priority(p) => Some(*p),
            _ => None,
        })
    }

    /// Every `reference`.
    pub fn references(&self) -> impl Iterator<Item = &Reference> {
        self.options.iter().filter_map(|o| match o {
            RuleOption::Reference(r) => Some(r),
            _ => None,
        })
    }

    /// Every `metadata` pair, in rule order.
    pub fn metadata(&self) -> impl Iterator<Item = &(String, String)> {
        self.options
            .iter()
            .filter_map(|o| match o {
                RuleOption::Metadata(m) => Some(m.iter()),
                _ => None,
            })
            .flatten()
    }

    /// The `flow` option.
    pub fn flow(&self) -> Option<Flow> {
        self.options.iter().find_map(|o| match o {
            RuleOption::Flow(f) => Some(*f),
            _ => None,
        })
    }

    /// Whether the rule never alerts (`noalert` or `flowbits:noalert`).
    pub fn noalert(&self) -> bool {
        self.options.iter().any(|o| {
            matches!(
                o,
                RuleOption::Noalert | RuleOption::Flowbits(Flowbits::Noalert)
            )
        })
    }

    /// The buffer-bound checks, in rule order.
    pub fn match_items(&self) -> impl Iterator<Item = &MatchItem> {
        self.options.iter().filter_map(|o| match o {
            RuleOption::Match(m) => Some(m),
            _ => None,
        })
    }

    /// Whether the rule inspects TLS handshakes: protocol `tls`, a TLS buffer,
    /// `tls.version` or `app-layer-protocol:tls`.
    pub fn is_tls(&self) -> bool {
        self.protocol == Protocol::Tls
            || self.match_items().any(|m| m.buffer.buffer.is_tls())
            || self.options.iter().any(|o| {
                matches!(
                    o,
                    RuleOption::TlsVersion(_)
                        | RuleOption::AppLayerProtocol {
                            protocol: Protocol::Tls,
                            negated: false
                        }
                )
            })
    }

    /// Whether the rule inspects HTTP transactions (an `http` rule, any HTTP buffer, pcre
    /// letter or `urilen`, or `app-layer-protocol:http`), and is not a TLS rule.
    pub fn is_http(&self) -> bool {
        if self.is_tls() {
            return false;
        }
        self.protocol == Protocol::Http
            || self.options.iter().any(|o| {
                matches!(
                    o,
                    RuleOption::AppLayerProtocol {
                        protocol: Protocol::Http,
                        negated: false
                    }
                )
            })
            || self.match_items().any(|m| m.buffer.buffer.is_http())
            || self
                .options
                .iter()
                .any(|o| matches!(o, RuleOption::Urilen(_) | RuleOption::AppLayerEvent(_)))
    }

    /// The transaction side(s) the rule's buffers and `flow` direction pin it to:
    /// [`BufferSide::Request`], [`BufferSide::Response`] or [`BufferSide::Both`] (either).
    pub fn http_side(&self) -> BufferSide {
        let mut req = self
            .options
            .iter()
            .any(|o| matches!(o, RuleOption::Urilen(_) | RuleOption::AppLayerEvent(_)));
        let mut resp = false;
        for m in self.match_items() {
            match m.buffer.buffer.side() {
                BufferSide::Request => req = true,
                BufferSide::Response => resp = true,
                _ => {}
            }
        }
        match self.flow().and_then(|f| f.direction) {
            Some(FlowDirection::ToServer) => req = true,
            Some(FlowDirection::ToClient) => resp = true,
            None => {}
        }
        match (req, resp) {
            (true, false) => BufferSide::Request,
            (false, true) => BufferSide::Response,
            _ => BufferSide::Both,
        }
    }
}
