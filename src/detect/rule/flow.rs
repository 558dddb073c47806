//! Flow keywords: `flow` (direction and state), `flowbits` (per-flow flags), `xbits`
//! (per-host / per-pair flags with expiry) and `noalert`.

use std::fmt;

use super::error::ValueResult;

/// Which way the inspected data travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowDirection {
    /// `to_server` / `from_client`.
    ToServer,
    /// `to_client` / `from_server`.
    ToClient,
}

/// TCP state requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowState {
    /// `established`.
    Established,
    /// `not_established`.
    NotEstablished,
    /// `stateless`: any state.
    Stateless,
}

/// Stream / packet requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowStream {
    /// `only_stream`: reassembled data only.
    OnlyStream,
    /// `no_stream`: packets only.
    NoStream,
}

/// `flow:...`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flow {
    /// Direction.
    pub direction: Option<FlowDirection>,
    /// State.
    pub state: Option<FlowState>,
    /// Stream or packets.
    pub stream: Option<FlowStream>,
}

impl Flow {
    /// Parses the comma-separated options.
    pub fn parse(value: &str) -> ValueResult<Flow> {
        let mut f = Flow::default();
        fn set<T: PartialEq + Copy>(slot: &mut Option<T>, v: T, word: &str) -> ValueResult<()> {
            match *slot {
                Some(old) if old != v => Err(format!("`{word}` conflicts with an earlier option")),
                Some(_) => Err(format!("`{word}` given twice")),
                None => {
                    *slot = Some(v);
                    Ok(())
                }
            }
        }
        for word in value.split(',').map(str::trim) {
            match word {
                "to_server" | "from_client" => {
                    set(&mut f.direction, FlowDirection::ToServer, word)?
                }
                "to_client" | "from_server" => {
                    set(&mut f.direction, FlowDirection::ToClient, word)?
                }
                "established" => set(&mut f.state, FlowState::Established, word)?,
                "not_established" => set(&mut f.state, FlowState::NotEstablished, word)?,
                "stateless" => set(&mut f.state, FlowState::Stateless, word)?,
                "only_stream" => set(&mut f.stream, FlowStream::OnlyStream, word)?,
                "no_stream" => set(&mut f.stream, FlowStream::NoStream, word)?,
                "" => return Err("empty flow option".into()),
                other => return Err(format!("unsupported flow option `{other}`")),
            }
        }
        Ok(f)
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut words = Vec::new();
        match self.state {
            Some(FlowState::Established) => words.push("established"),
            Some(FlowState::NotEstablished) => words.push("not_established"),
            Some(FlowState::Stateless) => words.push("stateless"),
            None => {}
        }
        match self.direction {
            Some(FlowDirection::ToServer) => words.push("to_server"),
            Some(FlowDirection::ToClient) => words.push("to_client"),
            None => {}
        }
        match self.stream {
            Some(FlowStream::OnlyStream) => words.push("only_stream"),
            Some(FlowStream::NoStream) => words.push("no_stream"),
            None => {}
        }
        f.write_str(&words.join(","))
    }
}

/// What a `flowbits` / `xbits` option does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BitCmd {
    /// `set`.
    Set,
    /// `unset`.
    Unset,
    /// `toggle`.
    Toggle,
    /// `isset`: condition.
    IsSet,
    /// `isnotset`: condition.
    IsNotSet,
}

impl BitCmd {
    fn parse(s: &str) -> ValueResult<BitCmd> {
        Ok(match s {
            "set" => BitCmd::Set,
            "unset" => BitCmd::Unset,
            "toggle" => BitCmd::Toggle,
            "isset" => BitCmd::IsSet,
            "isnotset" => BitCmd::IsNotSet,
            other => return Err(format!("unsupported command `{other}`")),
        })
    }

    /// The word.
    pub fn as_str(self) -> &'static str {
        match self {
            BitCmd::Set => "set",
            BitCmd::Unset => "unset",
            BitCmd::Toggle => "toggle",
            BitCmd::IsSet => "isset",
            BitCmd::IsNotSet => "isnotset",
        }
    }

    /// Whether the command is a condition (isset / isnotset) rather than an action.
    pub fn is_condition(self) -> bool {
        matches!(self, BitCmd::IsSet | BitCmd::IsNotSet)
    }
}

/// How several names in one `flowbits` combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BitGroup {
    /// One name.
    Single,
    /// `a|b`: any of them.
    Any,
    /// `a&b`: all of them.
    All,
}

/// `flowbits:cmd,name[|name…]` or `flowbits:noalert`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Flowbits {
    /// `flowbits:noalert`.
    Noalert,
    /// A command on one or more names.
    Cmd {
        /// The command.
        cmd: BitCmd,
        /// Names.
        names: Vec<String>,
        /// How the names combine (conditions only).
        group: BitGroup,
    },
}

fn valid_bit_name(name: &str) -> ValueResult<String> {
    if name.is_empty() {
        return Err("empty name".into());
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, ',' | '|' | '&' | ';' | '"'))
    {
        return Err(format!("invalid name `{name}`"));
    }
    Ok(name.to_string())
}

impl Flowbits {
    /// Parses the value.
    pub fn parse(value: &str) -> ValueResult<Flowbits> {
        let v = value.trim();
        if v == "noalert" {
            return Ok(Flowbits::Noalert);
        }
        let (cmd, names) = v
            .split_once(',')
            .ok_or_else(|| format!("`{v}`: expected command,name"))?;
        let cmd = BitCmd::parse(cmd.trim())?;
        let names = names.trim();
        let (group, parts): (BitGroup, Vec<&str>) = if names.contains('|') {
            (BitGroup::Any, names.split('|').collect())
        } else if names.contains('&') {
            (BitGroup::All, names.split('&').collect())
        } else {
            (BitGroup::Single, vec![names])
        };
        if group == BitGroup::Any && names.contains('&') {
            return Err("`|` and `&` can't be mixed".into());
        }
        if group != BitGroup::Single && !cmd.is_condition() {
            return Err(format!(
                "`{}` takes one name (`|`/`&` groups are for isset/isnotset)",
                cmd.as_str()
            ));
        }
        let names = parts
            .into_iter()
            .map(|n| valid_bit_name(n.trim()))
            .collect::<ValueResult<Vec<_>>>()?;
        Ok(Flowbits::Cmd { cmd, names, group })
    }
}

impl fmt::Display for Flowbits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flowbits::Noalert => f.write_str("noalert"),
            Flowbits::Cmd { cmd, names, group } => {
                let sep = match group {
                    BitGroup::All => "&",
                    _ => "|",
                };
                write!(f, "{},{}", cmd.as_str(), names.join(sep))
            }
        }
    }
}

/// Whose bits `xbits` reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XbitsTrack {
    /// The packet's source address.
    IpSrc,
    /// The packet's destination address.
    IpDst,
    /// The pair of addresses (either order).
    IpPair,
}

/// Expiry of an xbit when the rule gives none, in seconds (Suricata's default).
pub const XBITS_DEFAULT_EXPIRE: u32 = 30;

/// `xbits:cmd,name,track ip_src|ip_dst|ip_pair[,expire n]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Xbits {
    /// The command.
    pub cmd: BitCmd,
    /// The name.
    pub name: String,
    /// Whose bit.
    pub track: XbitsTrack,
    /// Seconds a set bit lives, if given.
    pub expire: Option<u32>,
    /// exhound's `value NAME`: the bit is kept per value as well, the text a named group
    /// `(?P<NAME>…)` of one of the rule's `pcre`s captured (compared without case), so that
    /// one rule can remember a file name and another ask for the same name.
    pub value: Option<String>,
}

impl Xbits {
    /// Parses the value.
    pub fn parse(value: &str) -> ValueResult<Xbits> {
        let mut parts = value.split(',').map(str::trim);
        let cmd = BitCmd::parse(parts.next().unwrap_or(""))?;
        let name = valid_bit_name(parts.next().ok_or("missing name")?)?;
        let mut track = None;
        let mut expire = None;
        let mut value = None;
        for p in parts {
            let (k, v) = p
                .split_once(char::is_whitespace)
                .map(|(k, v)| (k, v.trim()))
                .ok_or_else(|| format!("invalid xbits option `{p}`"))?;
            match k {
                "track" => {
                    let t = match v {
                        "ip_src" => XbitsTrack::IpSrc,
                        "ip_dst" => XbitsTrack::IpDst,
                        "ip_pair" => XbitsTrack::IpPair,
                        other => return Err(format!("unsupported xbits track `{other}`")),
                    };
                    if track.replace(t).is_some() {
                        return Err("track given twice".into());
                    }
                }
                "expire" => {
                    let n: u32 = v.parse().map_err(|_| format!("invalid expire `{v}`"))?;
                    if n == 0 {
                        return Err("expire must be greater than 0".into());
                    }
                    if expire.replace(n).is_some() {
                        return Err("expire given twice".into());
                    }
                }
                "value" => {
                    let name = valid_bit_name(v)?;
                    if value.replace(name).is_some() {
                        return Err("value given twice".into());
                    }
                }
                other => return Err(format!("invalid xbits option `{other}`")),
            }
        }
        Ok(Xbits {
            cmd,
            name,
            track: track.ok_or("missing `track`")?,
            expire,
            value,
        })
    }

    /// Seconds a set bit lives.
    pub fn expire_secs(&self) -> u32 {
        self.expire.unwrap_or(XBITS_DEFAULT_EXPIRE)
    }
}

impl fmt::Display for Xbits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let track = match self.track {
            XbitsTrack::IpSrc => "ip_src",
            XbitsTrack::IpDst => "ip_dst",
            XbitsTrack::IpPair => "ip_pair",
        };
        write!(f, "{},{},track {track}", self.cmd.as_str(), self.name)?;
        if let Some(e) = self.expire {
            write!(f, ",expire {e}")?;
        }
        if let Some(v) = &self.value {
            write!(f, ",value {v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_options() {
        let f = Flow::parse("established, to_server").unwrap();
        assert_eq!(f.direction, Some(FlowDirection::ToServer));
        assert_eq!(f.state, Some(FlowState::Established));
        assert_eq!(f.to_string(), "established,to_server");
        assert_eq!(
            Flow::parse("from_server").unwrap().direction,
            Some(FlowDirection::ToClient)
        );
        assert_eq!(
            Flow::parse("from_client,stateless").unwrap().state,
            Some(FlowState::Stateless)
        );
        let f = Flow::parse("not_established,only_stream").unwrap();
        assert_eq!(f.stream, Some(FlowStream::OnlyStream));
        assert_eq!(Flow::parse(&f.to_string()).unwrap(), f);
        assert_eq!(
            Flow::parse("no_stream").unwrap().stream,
            Some(FlowStream::NoStream)
        );
        assert!(Flow::parse("to_server,to_client")
            .unwrap_err()
            .contains("conflicts"));
        assert!(Flow::parse("to_server,from_client")
            .unwrap_err()
            .contains("twice"));
        assert!(Flow::parse("established,").is_err());
        assert!(Flow::parse("only_frag")
            .unwrap_err()
            .contains("unsupported"));
    }

    #[test]
    fn flowbits_forms() {
        assert_eq!(Flowbits::parse("noalert").unwrap(), Flowbits::Noalert);
        let f = Flowbits::parse("set, ET.cve.2021.34473").unwrap();
        assert_eq!(
            f,
            Flowbits::Cmd {
                cmd: BitCmd::Set,
                names: vec!["ET.cve.2021.34473".into()],
                group: BitGroup::Single
            }
        );
        assert_eq!(f.to_string(), "set,ET.cve.2021.34473");
        let f = Flowbits::parse("isnotset, fb1|fb2 ").unwrap();
        assert_eq!(f.to_string(), "isnotset,fb1|fb2");
        let f = Flowbits::parse("isset,a&b").unwrap();
        assert_eq!(f.to_string(), "isset,a&b");
        for s in ["toggle,a", "unset,a", "isset,a"] {
            assert_eq!(Flowbits::parse(s).unwrap().to_string(), s);
        }
        assert!(Flowbits::parse("set").is_err());
        assert!(Flowbits::parse("set,").is_err());
        assert!(Flowbits::parse("set,a|b").is_err());
        assert!(Flowbits::parse("isset,a|b&c").is_err());
        assert!(Flowbits::parse("bump,a")
            .unwrap_err()
            .contains("unsupported"));
        assert!(Flowbits::parse("isset,a b").is_err());
    }

    #[test]
    fn xbits_forms() {
        let x = Xbits::parse("set,ET.proxytoken.500,track ip_src,expire 30").unwrap();
        assert_eq!(x.cmd, BitCmd::Set);
        assert_eq!(x.track, XbitsTrack::IpSrc);
        assert_eq!(x.expire, Some(30));
        assert_eq!(
            x.to_string(),
            "set,ET.proxytoken.500,track ip_src,expire 30"
        );
        let x = Xbits::parse("isset, a, track ip_pair").unwrap();
        assert_eq!(x.expire_secs(), XBITS_DEFAULT_EXPIRE);
        assert_eq!(Xbits::parse(&x.to_string()).unwrap(), x);
        assert!(Xbits::parse("set,a").unwrap_err().contains("track"));
        assert!(Xbits::parse("set,a,track tx")
            .unwrap_err()
            .contains("unsupported"));
        assert!(Xbits::parse("set,a,track ip_src,expire 0").is_err());
        assert!(Xbits::parse("set,a,track ip_src,expire x").is_err());
        assert!(Xbits::parse("set,a,track ip_src,color red").is_err());
        assert!(Xbits::parse("set,a,trackip_src").is_err());
        assert!(Xbits::parse("set,a,track ip_src,track ip_dst").is_err());
        assert!(Xbits::parse("noalert").is_err());
        // exhound's value option.
        let x = Xbits::parse("set,w,track ip_dst,expire 60,value written").unwrap();
        assert_eq!(x.value.as_deref(), Some("written"));
        assert_eq!(x.to_string(), "set,w,track ip_dst,expire 60,value written");
        assert_eq!(Xbits::parse(&x.to_string()).unwrap(), x);
        assert!(Xbits::parse("set,w,track ip_dst,value a,value b").is_err());
        assert!(Xbits::parse("set,w,track ip_dst,value a|b").is_err());
    }
}
