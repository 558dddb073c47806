//! The rule header: action, protocol, addresses, ports and direction.
//!
//! Addresses and ports are kept as written (variables unresolved) so a rule prints back the
//! way it was written; [`Spec::resolve`] turns them, with the loader's [`Vars`], into
//! [`Match`]ers. Both fields share that one generic syntax (`any`, `$VAR`, `[...]`, `!x`) and
//! differ only in the leaf, a [`HeaderValue`]: [`AddrSpec`] / [`AddrMatch`] hold an [`IpNet`],
//! [`PortSpec`] / [`PortMatch`] a [`PortRange`]. List semantics follow Suricata: a list
//! matches what any of its plain entries matches (everything when it has none) minus what any
//! of its negated entries matches.

use std::fmt;
use std::net::IpAddr;

use super::error::ValueResult;
use super::vars::Vars;

/// What to do when a rule matches. A passive sensor alerts for `drop` and `reject` too, but
/// remembers what the rule said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `alert`.
    Alert,
    /// `pass`: stop inspecting the rest of the rules for this data; no alert.
    Pass,
    /// `drop` (alerts in a passive sensor).
    Drop,
    /// `reject` (alerts in a passive sensor).
    Reject,
}

impl Action {
    /// Parses an action word.
    pub fn parse(s: &str) -> ValueResult<Action> {
        match s {
            "alert" => Ok(Action::Alert),
            "pass" => Ok(Action::Pass),
            "drop" => Ok(Action::Drop),
            "reject" => Ok(Action::Reject),
            _ => Err(format!(
                "unsupported action `{s}` (expected alert, pass, drop or reject)"
            )),
        }
    }

    /// The word as written in rules.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Alert => "alert",
            Action::Pass => "pass",
            Action::Drop => "drop",
            Action::Reject => "reject",
        }
    }
}

/// Which traffic a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Any IP packet (and, with app-layer keywords, the transactions on top).
    Ip,
    /// TCP segments / streams.
    Tcp,
    /// UDP datagrams (parsed; exhound inspects TCP only, so such rules never match).
    Udp,
    /// HTTP/1.x transactions (`http` or `http1`).
    Http,
    /// DNS (parsed for compatibility; never matches: exhound does not parse DNS).
    Dns,
    /// TLS handshakes (`tls`).
    Tls,
}

impl Protocol {
    /// Parses a protocol word.
    pub fn parse(s: &str) -> ValueResult<Protocol> {
        match s.to_ascii_lowercase().as_str() {
            "ip" | "pkthdr" => Ok(Protocol::Ip),
            "tcp" | "tcp-pkt" | "tcp-stream" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            "http" | "http1" => Ok(Protocol::Http),
            "dns" => Ok(Protocol::Dns),
            "tls" => Ok(Protocol::Tls),
            _ => Err(format!(
                "unsupported protocol `{s}` (expected ip, tcp, udp, http, tls or dns)"
            )),
        }
    }

    /// The word as printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Ip => "ip",
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Http => "http",
            Protocol::Dns => "dns",
            Protocol::Tls => "tls",
        }
    }
}

/// `->` or `<>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `->`: source to destination only.
    OneWay,
    /// `<>`: either way.
    Both,
}

impl Direction {
    /// Parses the direction word.
    pub fn parse(s: &str) -> ValueResult<Direction> {
        match s {
            "->" => Ok(Direction::OneWay),
            "<>" => Ok(Direction::Both),
            "=>" => Err("unsupported direction `=>` (transactional rules)".into()),
            _ => Err(format!("invalid direction `{s}` (expected -> or <>)")),
        }
    }

    /// The word as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::OneWay => "->",
            Direction::Both => "<>",
        }
    }
}

/// An IP network: address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    /// Network address (host bits cleared).
    pub addr: IpAddr,
    /// Prefix length (0..=32 or 0..=128).
    pub prefix: u8,
}

impl IpNet {
    /// Parses `a.b.c.d`, `a.b.c.d/n`, `a.b.c.d/m.m.m.m` or an IPv6 address with optional `/n`.
    pub fn parse(s: &str) -> ValueResult<IpNet> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| format!("invalid IP address `{a}`"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max => n,
                Ok(_) => return Err(format!("prefix length `{p}` out of range")),
                Err(_) => match (addr, p.parse::<std::net::Ipv4Addr>()) {
                    (IpAddr::V4(_), Ok(mask)) => {
                        let m = u32::from(mask);
                        if m.leading_ones() + m.trailing_zeros() != 32 {
                            return Err(format!("netmask `{p}` is not contiguous"));
                        }
                        m.leading_ones() as u8
                    }
                    _ => return Err(format!("invalid prefix length `{p}`")),
                },
            },
        };
        Ok(IpNet {
            addr: mask(addr, prefix),
            prefix,
        })
    }
}

fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & m).into())
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & m).into())
        }
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let max = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix == max {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

/// The leaf of an address or port field: what [`Spec`] and [`Match`] hold besides `any`,
/// variables, lists and negations.
pub trait HeaderValue: Sized + Copy + fmt::Display {
    /// What the field holds, for error messages: `address` or `port`.
    const KIND: &'static str;
    /// What a packet offers to be matched against the leaf: an IP address or a port.
    type Item: Copy;
    /// Parses one leaf as written.
    fn parse_one(s: &str) -> ValueResult<Self>;
    /// Whether `item` is inside this leaf.
    fn contains(&self, item: Self::Item) -> bool;
}

impl HeaderValue for IpNet {
    const KIND: &'static str = "address";
    type Item = IpAddr;

    fn parse_one(s: &str) -> ValueResult<IpNet> {
        IpNet::parse(s)
    }

    /// Whether `ip` is inside this network.
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                mask(ip, self.prefix) == self.addr
            }
            _ => false,
        }
    }
}

/// An inclusive port range: `lo:hi`, `lo:` or `:hi`; a single port is `lo == hi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// Lowest port in the range.
    pub lo: u16,
    /// Highest port in the range.
    pub hi: u16,
}

impl HeaderValue for PortRange {
    const KIND: &'static str = "port";
    type Item = u16;

    fn parse_one(s: &str) -> ValueResult<PortRange> {
        let port = |p: &str| {
            p.trim()
                .parse::<u16>()
                .map_err(|_| format!("invalid port `{p}`"))
        };
        let Some((lo, hi)) = s.split_once(':') else {
            let p = port(s)?;
            return Ok(PortRange { lo: p, hi: p });
        };
        let lo = if lo.trim().is_empty() { 0 } else { port(lo)? };
        let hi = if hi.trim().is_empty() {
            u16::MAX
        } else {
            port(hi)?
        };
        if lo > hi {
            return Err(format!("empty port range `{s}`"));
        }
        Ok(PortRange { lo, hi })
    }

    fn contains(&self, port: u16) -> bool {
        (self.lo..=self.hi).contains(&port)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.lo, self.hi) {
            (lo, hi) if lo == hi => write!(f, "{lo}"),
            (0, hi) => write!(f, ":{hi}"),
            (lo, u16::MAX) => write!(f, "{lo}:"),
            (lo, hi) => write!(f, "{lo}:{hi}"),
        }
    }
}

/// An address or port field as written in a rule header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Spec<T> {
    /// `any`.
    Any,
    /// `$NAME`.
    Var(String),
    /// One leaf: an address or network, or a port range.
    One(T),
    /// `[a, b, ...]`.
    List(Vec<Spec<T>>),
    /// `!x`.
    Not(Box<Spec<T>>),
}

/// An address field as written in a rule header.
pub type AddrSpec = Spec<IpNet>;

/// A port field as written in a rule header.
pub type PortSpec = Spec<PortRange>;

/// Splits a `[...]` list body on top-level commas.
fn split_list(body: &str) -> ValueResult<Vec<&str>> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in body.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.checked_sub(1).ok_or("unbalanced `]`")?,
            ',' if depth == 0 => {
                out.push(body[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("unbalanced `[`".into());
    }
    out.push(body[start..].trim());
    if out.iter().any(|s| s.is_empty()) {
        return Err("empty entry in list".into());
    }
    Ok(out)
}

/// Nesting of lists, negations and variables allowed.
const MAX_DEPTH: usize = 16;

fn var_name(s: &str) -> ValueResult<&str> {
    let name = &s[1..];
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("invalid variable name `{s}`"));
    }
    Ok(name)
}

impl<T: HeaderValue> Spec<T> {
    /// Parses an address or port field.
    pub fn parse(s: &str) -> ValueResult<Spec<T>> {
        Self::parse_depth(s.trim(), 0)
    }

    fn parse_depth(s: &str, depth: usize) -> ValueResult<Spec<T>> {
        if depth > MAX_DEPTH {
            return Err(format!("{} nested too deeply", T::KIND));
        }
        if s.is_empty() {
            return Err(format!("empty {}", T::KIND));
        }
        if let Some(rest) = s.strip_prefix('!') {
            return Ok(Spec::Not(Box::new(Self::parse_depth(
                rest.trim_start(),
                depth + 1,
            )?)));
        }
        if let Some(body) = s.strip_prefix('[') {
            let body = body
                .strip_suffix(']')
                .ok_or_else(|| format!("unterminated list `{s}`"))?;
            let items = split_list(body)?
                .into_iter()
                .map(|i| Self::parse_depth(i, depth + 1))
                .collect::<ValueResult<Vec<_>>>()?;
            return Ok(Spec::List(items));
        }
        if s.eq_ignore_ascii_case("any") {
            return Ok(Spec::Any);
        }
        if s.starts_with('$') {
            return Ok(Spec::Var(var_name(s)?.to_string()));
        }
        Ok(Spec::One(T::parse_one(s)?))
    }

    /// Resolves variables into a matcher.
    pub fn resolve(&self, vars: &Vars) -> ValueResult<Match<T>> {
        self.resolve_depth(vars, 0)
    }

    fn resolve_depth(&self, vars: &Vars, depth: usize) -> ValueResult<Match<T>> {
        if depth > MAX_DEPTH {
            return Err(format!("{} variables nested too deeply (a loop?)", T::KIND));
        }
        Ok(match self {
            Spec::Any => Match::Any,
            Spec::One(v) => Match::One(*v),
            Spec::Var(name) => {
                let value = vars
                    .get(name)
                    .ok_or_else(|| format!("undefined variable `${name}`"))?;
                Self::parse(value)
                    .map_err(|e| format!("variable `${name}`: {e}"))?
                    .resolve_depth(vars, depth + 1)?
            }
            Spec::Not(inner) => {
                let m = inner.resolve_depth(vars, depth + 1)?;
                if matches!(m, Match::Any) {
                    return Err(format!("`!any` matches no {}", T::KIND));
                }
                Match::Not(Box::new(m))
            }
            Spec::List(items) => Match::List(
                items
                    .iter()
                    .map(|i| i.resolve_depth(vars, depth + 1))
                    .collect::<ValueResult<Vec<_>>>()?,
            ),
        })
    }
}

impl<T: fmt::Display> fmt::Display for Spec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Spec::Any => f.write_str("any"),
            Spec::Var(v) => write!(f, "${v}"),
            Spec::One(v) => write!(f, "{v}"),
            Spec::Not(i) => write!(f, "!{i}"),
            Spec::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// A resolved address or port field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match<T> {
    /// Everything.
    Any,
    /// One leaf: a network, or an inclusive port range.
    One(T),
    /// What the plain entries match (all when none), minus what the negated ones match.
    List(Vec<Match<T>>),
    /// Everything but.
    Not(Box<Match<T>>),
}

/// A resolved address field.
pub type AddrMatch = Match<IpNet>;

/// A resolved port field.
pub type PortMatch = Match<PortRange>;

impl<T: HeaderValue> Match<T> {
    /// Whether `item` (an address or a port) is selected.
    pub fn matches(&self, item: T::Item) -> bool {
        match self {
            Match::Any => true,
            Match::One(v) => v.contains(item),
            Match::Not(i) => !i.matches(item),
            Match::List(items) => {
                let mut any_plain = false;
                let mut plain_hit = false;
                for m in items {
                    match m {
                        Match::Not(inner) => {
                            if inner.matches(item) {
                                return false;
                            }
                        }
                        _ => {
                            any_plain = true;
                            plain_hit |= m.matches(item);
                        }
                    }
                }
                !any_plain || plain_hit
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn actions_protocols_directions() {
        assert_eq!(Action::parse("drop").unwrap(), Action::Drop);
        assert!(Action::parse("log").is_err());
        assert_eq!(Protocol::parse("http1").unwrap(), Protocol::Http);
        assert_eq!(Protocol::parse("TCP").unwrap(), Protocol::Tcp);
        assert!(Protocol::parse("smb")
            .unwrap_err()
            .contains("unsupported protocol"));
        assert_eq!(Direction::parse("<>").unwrap(), Direction::Both);
        assert!(Direction::parse("<-").is_err());
        assert!(Direction::parse("=>").unwrap_err().contains("unsupported"));
    }

    #[test]
    fn networks() {
        let n = IpNet::parse("10.1.2.3/8").unwrap();
        assert_eq!(n.to_string(), "10.0.0.0/8");
        assert!(n.contains(ip("10.200.0.1")));
        assert!(!n.contains(ip("11.0.0.1")));
        assert!(!n.contains(ip("::1")));
        let m = IpNet::parse("192.168.0.0/255.255.0.0").unwrap();
        assert_eq!(m.prefix, 16);
        assert!(IpNet::parse("1.2.3.0/255.0.255.0").is_err());
        assert!(IpNet::parse("1.2.3.4/33").is_err());
        let v6 = IpNet::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:1::5")));
        assert!(!v6.contains(ip("2001:db9::")));
        assert_eq!(IpNet::parse("0.0.0.0/0").unwrap().to_string(), "0.0.0.0/0");
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(IpNet::parse("::/0").unwrap().contains(ip("::1")));
        assert!(IpNet::parse("300.1.1.1").is_err());
    }

    #[test]
    fn address_lists_negation_and_vars() {
        let mut vars = Vars::default();
        vars.set("HOME_NET", "[10.0.0.0/8,192.168.0.0/16]");
        vars.set("EXTERNAL_NET", "!$HOME_NET");
        let a = AddrSpec::parse("[$HOME_NET,!10.1.0.0/16]").unwrap();
        assert_eq!(a.to_string(), "[$HOME_NET,!10.1.0.0/16]");
        let m = a.resolve(&vars).unwrap();
        assert!(m.matches(ip("10.2.0.1")));
        assert!(!m.matches(ip("10.1.0.1")));
        assert!(!m.matches(ip("8.8.8.8")));
        let ext = AddrSpec::parse("$EXTERNAL_NET")
            .unwrap()
            .resolve(&vars)
            .unwrap();
        assert!(ext.matches(ip("8.8.8.8")));
        assert!(!ext.matches(ip("192.168.1.1")));
        // Only negations: everything else.
        let only_not = AddrSpec::parse("[!1.1.1.1, !2.2.2.2]").unwrap();
        let m = only_not.resolve(&vars).unwrap();
        assert!(m.matches(ip("3.3.3.3")));
        assert!(!m.matches(ip("2.2.2.2")));
        // Nested lists.
        let nested = AddrSpec::parse("[1.1.1.1,[2.2.2.0/24,![2.2.2.2]]]").unwrap();
        let m = nested.resolve(&vars).unwrap();
        assert!(m.matches(ip("2.2.2.3")));
        assert!(!m.matches(ip("2.2.2.2")));
        assert!(m.matches(ip("1.1.1.1")));
        assert!(!m.matches(ip("1.1.1.2")));
    }

    #[test]
    fn address_errors() {
        let vars = Vars::default();
        assert!(AddrSpec::parse("[1.1.1.1").is_err());
        assert!(AddrSpec::parse("[1.1.1.1,]").is_err());
        assert!(AddrSpec::parse("$").is_err());
        assert!(AddrSpec::parse("$A-B").is_err());
        assert!(AddrSpec::parse("host").is_err());
        assert!(AddrSpec::parse("!any").unwrap().resolve(&vars).is_err());
        assert!(AddrSpec::parse("$NOPE")
            .unwrap()
            .resolve(&vars)
            .unwrap_err()
            .contains("undefined variable `$NOPE`"));
        let mut looped = Vars::default();
        looped.set("A", "$B");
        looped.set("B", "$A");
        assert!(AddrSpec::parse("$A").unwrap().resolve(&looped).is_err());
        let deep = format!("{}1.1.1.1{}", "[".repeat(40), "]".repeat(40));
        assert!(AddrSpec::parse(&deep).is_err());
    }

    #[test]
    fn error_messages_name_the_field() {
        fn errors<T: HeaderValue + fmt::Debug>(vars: &Vars) -> [String; 4] {
            let deep = format!("{}1{}", "[".repeat(40), "]".repeat(40));
            [
                Spec::<T>::parse(" ").unwrap_err(),
                Spec::<T>::parse(&deep).unwrap_err(),
                Spec::<T>::parse("$LOOP")
                    .unwrap()
                    .resolve(vars)
                    .unwrap_err(),
                Spec::<T>::parse("!any").unwrap().resolve(vars).unwrap_err(),
            ]
        }
        let mut vars = Vars::default();
        vars.set("LOOP", "$LOOP");
        assert_eq!(
            errors::<IpNet>(&vars),
            [
                "empty address",
                "address nested too deeply",
                "address variables nested too deeply (a loop?)",
                "`!any` matches no address",
            ]
        );
        assert_eq!(
            errors::<PortRange>(&vars),
            [
                "empty port",
                "port nested too deeply",
                "port variables nested too deeply (a loop?)",
                "`!any` matches no port",
            ]
        );
    }

    #[test]
    fn ports() {
        let vars = Vars::default();
        for (s, yes, no) in [
            ("80", vec![80], vec![81]),
            ("1024:", vec![1024, 65535], vec![1023]),
            (":80", vec![0, 80], vec![81]),
            ("80:90", vec![80, 85, 90], vec![79, 91]),
            ("[80,443,8000:8080]", vec![80, 443, 8001], vec![81]),
            ("!80", vec![81], vec![80]),
            ("[1:100,!50]", vec![1, 100], vec![50, 101]),
            ("any", vec![0, 65535], vec![]),
            ("$HTTP_PORTS", vec![1, 8080], vec![]),
        ] {
            let p = PortSpec::parse(s).unwrap();
            let m = p.resolve(&vars).unwrap();
            for y in yes {
                assert!(m.matches(y), "{s} should match {y}");
            }
            for n in no {
                assert!(!m.matches(n), "{s} should not match {n}");
            }
            assert_eq!(PortSpec::parse(&p.to_string()).unwrap(), p);
        }
        assert!(PortSpec::parse("90:80").is_err());
        assert!(PortSpec::parse("65536").is_err());
        assert!(PortSpec::parse("http").is_err());
        assert!(PortSpec::parse("!any").unwrap().resolve(&vars).is_err());
    }
}
