//! Alert rate keywords: `threshold` (limit / threshold / both) and `detection_filter`.
//!
//! Values are comma-separated `key value` pairs in any order:
//! `threshold: type limit, track by_src, count 1, seconds 60;`,
//! `detection_filter: track by_dst, count 5, seconds 10;`.

use std::fmt;

use super::error::ValueResult;

/// How `threshold` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThresholdType {
    /// Alert on the first `count` matches of each `seconds` window.
    Limit,
    /// Alert on every `count`-th match within a window.
    Threshold,
    /// Alert once per window, after `count` matches.
    Both,
}

/// Whose matches are counted together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Track {
    /// Per source address.
    BySrc,
    /// Per destination address.
    ByDst,
    /// One counter for the rule.
    ByRule,
    /// Per (source, destination) pair.
    ByBoth,
}

impl Track {
    fn parse(s: &str) -> ValueResult<Track> {
        Ok(match s {
            "by_src" => Track::BySrc,
            "by_dst" => Track::ByDst,
            "by_rule" => Track::ByRule,
            "by_both" => Track::ByBoth,
            other => return Err(format!("unsupported track `{other}`")),
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Track::BySrc => "by_src",
            Track::ByDst => "by_dst",
            Track::ByRule => "by_rule",
            Track::ByBoth => "by_both",
        }
    }
}

/// `threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Threshold {
    /// Counting mode.
    pub kind: ThresholdType,
    /// Grouping.
    pub track: Track,
    /// Matches.
    pub count: u32,
    /// Window length.
    pub seconds: u32,
}

/// `detection_filter`: alert on every match after the first `count` within `seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DetectionFilter {
    /// Grouping.
    pub track: Track,
    /// Matches let through silently in each window.
    pub count: u32,
    /// Window length.
    pub seconds: u32,
}

struct Fields {
    kind: Option<ThresholdType>,
    track: Option<Track>,
    count: Option<u32>,
    seconds: Option<u32>,
}

fn parse_fields(value: &str, allow_type: bool) -> ValueResult<Fields> {
    let mut f = Fields {
        kind: None,
        track: None,
        count: None,
        seconds: None,
    };
    for part in value.split(',').map(str::trim) {
        let (k, v) = part
            .split_once(char::is_whitespace)
            .map(|(k, v)| (k, v.trim()))
            .ok_or_else(|| format!("`{part}`: expected `key value`"))?;
        let num = |v: &str| -> ValueResult<u32> {
            v.parse().map_err(|_| format!("invalid number `{v}`"))
        };
        let dup = |k: &str| format!("`{k}` given twice");
        match k {
            "type" if allow_type => {
                let t = match v {
                    "limit" => ThresholdType::Limit,
                    "threshold" => ThresholdType::Threshold,
                    "both" => ThresholdType::Both,
                    other => return Err(format!("unsupported type `{other}`")),
                };
                if f.kind.replace(t).is_some() {
                    return Err(dup(k));
                }
            }
            "track" => {
                if f.track.replace(Track::parse(v)?).is_some() {
                    return Err(dup(k));
                }
            }
            "count" => {
                if f.count.replace(num(v)?).is_some() {
                    return Err(dup(k));
                }
            }
            "seconds" => {
                if f.seconds.replace(num(v)?).is_some() {
                    return Err(dup(k));
                }
            }
            other => return Err(format!("unsupported option `{other}`")),
        }
    }
    Ok(f)
}

impl Threshold {
    /// Parses the value.
    pub fn parse(value: &str) -> ValueResult<Threshold> {
        let f = parse_fields(value, true)?;
        let t = Threshold {
            kind: f.kind.ok_or("missing `type`")?,
            track: f.track.ok_or("missing `track`")?,
            count: f.count.ok_or("missing `count`")?,
            seconds: f.seconds.ok_or("missing `seconds`")?,
        };
        if t.count == 0 {
            return Err("count must be greater than 0".into());
        }
        Ok(t)
    }
}

impl DetectionFilter {
    /// Parses the value.
    pub fn parse(value: &str) -> ValueResult<DetectionFilter> {
        let f = parse_fields(value, false)?;
        Ok(DetectionFilter {
            track: f.track.ok_or("missing `track`")?,
            count: f.count.ok_or("missing `count`")?,
            seconds: f.seconds.ok_or("missing `seconds`")?,
        })
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ThresholdType::Limit => "limit",
            ThresholdType::Threshold => "threshold",
            ThresholdType::Both => "both",
        };
        write!(
            f,
            "type {kind},track {},count {},seconds {}",
            self.track.as_str(),
            self.count,
            self.seconds
        )
    }
}

impl fmt::Display for DetectionFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "track {},count {},seconds {}",
            self.track.as_str(),
            self.count,
            self.seconds
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        let t = Threshold::parse("type limit, track by_src, count 1, seconds 60").unwrap();
        assert_eq!(t.kind, ThresholdType::Limit);
        assert_eq!(t.track, Track::BySrc);
        assert_eq!((t.count, t.seconds), (1, 60));
        assert_eq!(Threshold::parse(&t.to_string()).unwrap(), t);
        let t = Threshold::parse("seconds 5,count 3,track by_both,type both").unwrap();
        assert_eq!(t.kind, ThresholdType::Both);
        assert_eq!(
            Threshold::parse("type threshold,track by_rule,count 2,seconds 1")
                .unwrap()
                .kind,
            ThresholdType::Threshold
        );
        for bad in [
            "type limit, track by_src, count 1",
            "type limit, track by_src, seconds 1",
            "type limit, count 1, seconds 1",
            "track by_src, count 1, seconds 1",
            "type sometimes, track by_src, count 1, seconds 1",
            "type limit, track by_host, count 1, seconds 1",
            "type limit, track by_src, count x, seconds 1",
            "type limit, track by_src, count 0, seconds 1",
            "type limit, type limit, track by_src, count 1, seconds 1",
            "type limit, track by_src, count 1, seconds 1, color red",
            "typelimit",
        ] {
            assert!(Threshold::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn detection_filters() {
        let d = DetectionFilter::parse("track by_dst, count 5, seconds 10").unwrap();
        assert_eq!(d.track, Track::ByDst);
        assert_eq!(DetectionFilter::parse(&d.to_string()).unwrap(), d);
        assert!(DetectionFilter::parse("type limit, track by_dst, count 5, seconds 10").is_err());
        assert!(DetectionFilter::parse("track by_dst, count 5").is_err());
    }
}
