//! Classtypes: `classification.config` in Suricata's format
//! (`config classification: name,description,priority`).
//!
//! The built-in table is `signatures/classification.config`, compiled in; a deployment may load
//! its own file instead. A rule naming an undefined classtype does not load (as in Suricata).

use std::collections::BTreeMap;

/// One class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassType {
    /// Short name, e.g. `attempted-admin`.
    pub name: String,
    /// Description, e.g. `Attempted Administrator Privilege Gain` (the alert's category).
    pub description: String,
    /// Priority, 1 = most severe (the alert's severity).
    pub priority: u32,
}

/// Every defined class, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classifications {
    classes: BTreeMap<String, ClassType>,
}

/// The shipped `signatures/classification.config`.
pub const BUILTIN_CLASSIFICATION: &str = include_str!("../../../signatures/classification.config");

impl Default for Classifications {
    /// The built-in table.
    fn default() -> Self {
        // The shipped file is tested to parse; an error here would be a build defect.
        Classifications::parse(BUILTIN_CLASSIFICATION).unwrap_or_else(|_| Classifications {
            classes: BTreeMap::new(),
        })
    }
}

impl Classifications {
    /// Parses a classification.config text. Errors name the line (from 1).
    pub fn parse(text: &str) -> Result<Classifications, (usize, String)> {
        let mut classes = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let rest = line
                .strip_prefix("config")
                .map(str::trim_start)
                .and_then(|r| r.strip_prefix("classification"))
                .map(str::trim_start)
                .and_then(|r| r.strip_prefix(':'))
                .ok_or((i + 1, "expected `config classification: ...`".to_string()))?;
            let mut parts = rest.splitn(3, ',').map(str::trim);
            let (Some(name), Some(desc), Some(prio)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err((i + 1, "expected name,description,priority".into()));
            };
            if name.is_empty() {
                return Err((i + 1, "empty class name".into()));
            }
            let priority: u32 = prio
                .parse()
                .map_err(|_| (i + 1, format!("invalid priority `{prio}`")))?;
            classes.insert(
                name.to_string(),
                ClassType {
                    name: name.to_string(),
                    description: desc.to_string(),
                    priority,
                },
            );
        }
        Ok(Classifications { classes })
    }

    /// The class called `name`.
    pub fn get(&self, name: &str) -> Option<&ClassType> {
        self.classes.get(name)
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.classes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table() {
        let c = Classifications::parse(BUILTIN_CLASSIFICATION).unwrap();
        assert_eq!(c, Classifications::default());
        assert!(c.len() >= 40);
        let a = c.get("attempted-admin").unwrap();
        assert_eq!(a.description, "Attempted Administrator Privilege Gain");
        assert_eq!(a.priority, 1);
        assert_eq!(c.get("bad-unknown").unwrap().priority, 2);
        assert_eq!(c.get("not-suspicious").unwrap().priority, 3);
        assert_eq!(c.get("tcp-connection").unwrap().priority, 4);
        assert_eq!(
            c.get("trojan-activity").unwrap().description,
            "A Network Trojan was detected"
        );
        for ct in [
            "web-application-attack",
            "domain-c2",
            "command-and-control",
            "policy-violation",
        ] {
            assert!(c.get(ct).is_some(), "{ct}");
        }
    }

    #[test]
    fn parse_errors() {
        assert_eq!(Classifications::parse("bogus").unwrap_err().0, 1);
        assert!(Classifications::parse("config classification: a,b").is_err());
        assert!(Classifications::parse("config classification: a,b,x").is_err());
        assert!(Classifications::parse("config classification: ,b,1").is_err());
        let c = Classifications::parse("# c\n\nconfig classification: a, b c ,2\n").unwrap();
        assert_eq!(c.get("a").unwrap().description, "b c");
    }
}
