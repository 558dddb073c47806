//! Address and port variables (`$HOME_NET`, `$HTTP_PORTS`, …) as Suricata's `vars:` section
//! defines them.
//!
//! Defaults: every address group Suricata's shipped configuration names (`HOME_NET`,
//! `EXTERNAL_NET`, `HTTP_SERVERS`, `SMTP_SERVERS`, `SQL_SERVERS`, `DNS_SERVERS`, …) and every
//! port group (`HTTP_PORTS`, `SHELLCODE_PORTS`, `ORACLE_PORTS`, …) is `any`: a passive sensor
//! in front of an Exchange server should not miss traffic because of a network it was not told
//! about. Override with [`Vars::set`] or [`Vars::parse_assignment`] (`NAME=VALUE`, the form of
//! a `--var` command-line flag). A value may use other variables (`!$HOME_NET`).

use std::collections::BTreeMap;

/// Address groups defined by default (all `any`).
pub const DEFAULT_ADDRESS_VARS: &[&str] = &[
    "HOME_NET",
    "EXTERNAL_NET",
    "HTTP_SERVERS",
    "SMTP_SERVERS",
    "SQL_SERVERS",
    "DNS_SERVERS",
    "TELNET_SERVERS",
    "AIM_SERVERS",
    "DC_SERVERS",
    "DNP3_SERVER",
    "DNP3_CLIENT",
    "MODBUS_CLIENT",
    "MODBUS_SERVER",
    "ENIP_CLIENT",
    "ENIP_SERVER",
];

/// Port groups defined by default (all `any`).
pub const DEFAULT_PORT_VARS: &[&str] = &[
    "HTTP_PORTS",
    "SHELLCODE_PORTS",
    "ORACLE_PORTS",
    "SSH_PORTS",
    "DNP3_PORTS",
    "MODBUS_PORTS",
    "FILE_DATA_PORTS",
    "FTP_PORTS",
    "GENEVE_PORTS",
    "VXLAN_PORTS",
    "TEREDO_PORTS",
];

/// Variable name → value (an address or port expression, as text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vars {
    values: BTreeMap<String, String>,
}

impl Default for Vars {
    fn default() -> Self {
        let values = DEFAULT_ADDRESS_VARS
            .iter()
            .chain(DEFAULT_PORT_VARS)
            .map(|n| (n.to_string(), "any".to_string()))
            .collect();
        Vars { values }
    }
}

impl Vars {
    /// No variables at all (not even the defaults).
    pub fn empty() -> Vars {
        Vars {
            values: BTreeMap::new(),
        }
    }

    /// Defines or replaces `name` (without the `$`).
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.values
            .insert(name.trim_start_matches('$').to_string(), value.to_string());
        self
    }

    /// The value of `name` (without the `$`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Applies `NAME=VALUE` (a `--var` flag); the name may carry a `$`.
    pub fn parse_assignment(&mut self, assignment: &str) -> Result<&mut Self, String> {
        let (name, value) = assignment
            .split_once('=')
            .ok_or_else(|| format!("`{assignment}`: expected NAME=VALUE"))?;
        let name = name.trim().trim_start_matches('$');
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("`{assignment}`: invalid variable name"));
        }
        let value = value.trim();
        if value.is_empty() {
            return Err(format!("`{assignment}`: empty value"));
        }
        Ok(self.set(name, value))
    }

    /// Every variable, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_any() {
        let v = Vars::default();
        for n in [
            "HOME_NET",
            "EXTERNAL_NET",
            "HTTP_SERVERS",
            "SMTP_SERVERS",
            "HTTP_PORTS",
        ] {
            assert_eq!(v.get(n), Some("any"), "{n}");
        }
        assert_eq!(v.get("NOPE"), None);
        assert_eq!(Vars::empty().get("HOME_NET"), None);
    }

    #[test]
    fn assignments() {
        let mut v = Vars::default();
        v.parse_assignment("HOME_NET=[10.0.0.0/8]").unwrap();
        v.parse_assignment("$HTTP_PORTS = 80").unwrap();
        assert_eq!(v.get("HOME_NET"), Some("[10.0.0.0/8]"));
        assert_eq!(v.get("HTTP_PORTS"), Some("80"));
        assert!(v.parse_assignment("HOME_NET").is_err());
        assert!(v.parse_assignment("=x").is_err());
        assert!(v.parse_assignment("A B=x").is_err());
        assert!(v.parse_assignment("A=").is_err());
        assert!(v.iter().any(|(k, _)| k == "SQL_SERVERS"));
    }
}
