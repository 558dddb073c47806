//! Prints a [`Rule`] in canonical Suricata syntax: sticky buffers (never legacy modifiers),
//! each content followed by its modifiers in a fixed order, `pkt_data` to return to the
//! payload. Parsing the printed text gives back the same `Rule`.

use std::fmt;

use super::buffer::BufferRef;
use super::content::{encode_pattern, FastPattern};
use super::meta::{format_metadata, quote};
use super::{MatchKind, Rule, RuleOption};

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {} {} (",
            self.action.as_str(),
            self.protocol.as_str(),
            self.src,
            self.src_ports,
            self.direction.as_str(),
            self.dst,
            self.dst_ports
        )?;
        let mut current = BufferRef::payload();
        let mut first = true;
        let mut sep = |f: &mut fmt::Formatter<'_>| -> fmt::Result {
            if !std::mem::take(&mut first) {
                f.write_str(" ")?;
            }
            Ok(())
        };
        for opt in &self.options {
            if let RuleOption::Match(m) = opt {
                if m.buffer != current {
                    sep(f)?;
                    write!(f, "{};", m.buffer.buffer.name())?;
                    for t in &m.buffer.transforms {
                        write!(f, " {};", t.name())?;
                    }
                    current = m.buffer.clone();
                }
            }
            sep(f)?;
            write_option(f, opt)?;
        }
        f.write_str(")")
    }
}

fn write_option(f: &mut fmt::Formatter<'_>, opt: &RuleOption) -> fmt::Result {
    match opt {
        RuleOption::Msg(m) => write!(f, "msg:{};", quote(m)),
        RuleOption::Sid(s) => write!(f, "sid:{s};"),
        RuleOption::Rev(r) => write!(f, "rev:{r};"),
        RuleOption::Gid(g) => write!(f, "gid:{g};"),
        RuleOption::Classtype(c) => write!(f, "classtype:{c};"),
        RuleOption::Priority(p) => write!(f, "priority:{p};"),
        RuleOption::Reference(r) => write!(f, "reference:{r};"),
        RuleOption::Metadata(m) => write!(f, "metadata:{};", format_metadata(m)),
        RuleOption::Target(t) => write!(f, "target:{t};"),
        RuleOption::Flow(fl) => write!(f, "flow:{fl};"),
        RuleOption::Flowbits(fb) => write!(f, "flowbits:{fb};"),
        RuleOption::Xbits(x) => write!(f, "xbits:{x};"),
        RuleOption::Noalert => f.write_str("noalert;"),
        RuleOption::Threshold(t) => write!(f, "threshold:{t};"),
        RuleOption::DetectionFilter(d) => write!(f, "detection_filter:{d};"),
        RuleOption::Dsize(d) => write!(f, "dsize:{d};"),
        RuleOption::Urilen(u) => write!(f, "urilen:{u};"),
        RuleOption::Flags(t) => write!(f, "flags:{t};"),
        RuleOption::AppLayerEvent(e) => write!(f, "app-layer-event:http.{};", e.name()),
        RuleOption::AppLayerProtocol { protocol, negated } => write!(
            f,
            "app-layer-protocol:{}{};",
            if *negated { "!" } else { "" },
            protocol.as_str()
        ),
        RuleOption::TlsVersion(v) => write!(f, "tls.version:{v:#06x};"),
        RuleOption::Match(m) => match &m.kind {
            MatchKind::Content(c) => {
                write!(
                    f,
                    "content:{}\"{}\";",
                    if c.negated { "!" } else { "" },
                    encode_pattern(&c.pattern)
                )?;
                if c.nocase {
                    f.write_str(" nocase;")?;
                }
                if let Some(d) = c.depth {
                    write!(f, " depth:{d};")?;
                }
                if let Some(o) = c.offset {
                    write!(f, " offset:{o};")?;
                }
                if let Some(d) = c.distance {
                    write!(f, " distance:{d};")?;
                }
                if let Some(w) = c.within {
                    write!(f, " within:{w};")?;
                }
                if c.startswith {
                    f.write_str(" startswith;")?;
                }
                if c.endswith {
                    f.write_str(" endswith;")?;
                }
                match c.fast_pattern {
                    Some(FastPattern::Plain) => f.write_str(" fast_pattern;")?,
                    Some(FastPattern::Only) => f.write_str(" fast_pattern:only;")?,
                    Some(FastPattern::Chop(o, l)) => write!(f, " fast_pattern:{o},{l};")?,
                    None => {}
                }
                Ok(())
            }
            MatchKind::Pcre(p) => write!(
                f,
                "pcre:{}\"/{}/{}\";",
                if p.negated { "!" } else { "" },
                p.pattern,
                p.flag_letters()
            ),
            MatchKind::Isdataat(i) => write!(f, "isdataat:{i};"),
            MatchKind::Bsize(b) => write!(f, "bsize:{b};"),
            MatchKind::Base64Decode(d) => {
                let v = d.to_string();
                if v.is_empty() {
                    f.write_str("base64_decode;")
                } else {
                    write!(f, "base64_decode:{v};")
                }
            }
        },
    }
}
