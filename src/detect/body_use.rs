//! Which flows' response bodies some rule may inspect.
//!
//! Keeping a response body costs a copy of every byte of it and the memory to hold it until
//! the transaction is inspected; on Exchange traffic most bytes are answers to benign requests
//! (attachments, OAB files, scripts). Success rules look at the answer to an attack, and are
//! written behind a flowbit its request sets (`flowbits:isset`), so on most flows no rule can
//! look at a response body at all. [`ResponseBodyRules`] says, from the rules, which flowbits a
//! flow must have before one may; the pipeline asks it after inspecting each flow's requests
//! and tells the HTTP parser ([`crate::http::HttpConnection::set_response_bodies_inspected`]).
//!
//! Only bits that nothing but request rules sets count as such gates. Request rules run once,
//! when their request is over, before the answer's head is read; a bit that a response,
//! either-side, payload or TLS rule sets may appear while the answer is on its way, and a rule
//! needing it is taken as always able to inspect.

use super::compile::{CompiledRule, RuleKind};
use super::rule::{BitCmd, Buffer, BufferSide};
use super::state::FlowDetectState;

/// When some rule may inspect a response body (its `http.response_body`, `file.data`, or the
/// response as sent, which plain `content`s of a response rule read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseBodyRules {
    /// On every flow.
    Always,
    /// On a flow that has every flowbit of one of these sets (none: on no flow).
    WhenSet(Vec<Vec<u32>>),
}

impl ResponseBodyRules {
    /// What `rules` need.
    pub fn of(rules: &[CompiledRule]) -> ResponseBodyRules {
        let is_set_elsewhere = |id: u32| {
            rules
                .iter()
                .filter(|r| r.kind != RuleKind::Http(BufferSide::Request))
                .flat_map(|r| &r.flowbit_actions)
                .any(|op| matches!(op.cmd, BitCmd::Set | BitCmd::Toggle) && op.ids.contains(&id))
        };
        let mut sets: Vec<Vec<u32>> = Vec::new();
        for rule in rules.iter().filter(|r| inspects_response_body(r)) {
            let mut needed: Vec<u32> = rule
                .required_flowbits()
                .filter(|&id| !is_set_elsewhere(id))
                .collect();
            if needed.is_empty() {
                return ResponseBodyRules::Always;
            }
            needed.sort_unstable();
            needed.dedup();
            if !sets.contains(&needed) {
                sets.push(needed);
            }
        }
        ResponseBodyRules::WhenSet(sets)
    }

    /// Whether some rule may inspect a response body of a flow with `bits`.
    pub fn may_inspect(&self, bits: &FlowDetectState) -> bool {
        match self {
            ResponseBodyRules::Always => true,
            ResponseBodyRules::WhenSet(sets) => {
                sets.iter().any(|set| set.iter().all(|&id| bits.is_set(id)))
            }
        }
    }
}

/// Does `rule` read a response body?
fn inspects_response_body(rule: &CompiledRule) -> bool {
    matches!(
        rule.kind,
        RuleKind::Http(BufferSide::Response | BufferSide::Both)
    ) && rule.lists.iter().any(|l| {
        matches!(
            l.key.buffer,
            Buffer::HttpResponseBody | Buffer::FileData | Buffer::Payload
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rule::LoadOptions;
    use crate::detect::{DetectConfig, RuleSet};

    fn body_rules(text: &str) -> (ResponseBodyRules, RuleSet) {
        let set = RuleSet::from_text(text, &LoadOptions::default(), DetectConfig::default())
            .expect("rules load");
        (set.response_body_rules().clone(), set)
    }

    fn bits(set: &RuleSet, names: &[&str]) -> FlowDetectState {
        let mut b = FlowDetectState::new();
        for n in names {
            let id = set
                .flowbit_names()
                .iter()
                .position(|x| x == n)
                .expect("bit");
            b.set(id as u32, true);
        }
        b
    }

    const ATTACK: &str = r#"alert http any any -> any any (msg:"attack"; flow:to_server; http.uri; content:"/owa/auth/x.js"; flowbits:set,shell; flowbits:set,other; sid:1;)"#;

    #[test]
    fn rules_without_a_response_body_buffer_need_no_body() {
        let (use_, set) = body_rules(&format!(
            "{ATTACK}\nalert http any any -> any any (msg:\"status\"; flow:to_client; http.stat_code; content:\"500\"; sid:2;)"
        ));
        assert_eq!(use_, ResponseBodyRules::WhenSet(vec![]));
        assert!(!use_.may_inspect(&bits(&set, &["shell"])));
    }

    #[test]
    fn an_ungated_body_rule_needs_every_body() {
        for buffer in ["file.data", "http.response_body"] {
            let (use_, _) = body_rules(&format!(
                "{ATTACK}\nalert http any any -> any any (msg:\"b\"; flow:to_client; {buffer}; content:\"x\"; sid:2;)"
            ));
            assert_eq!(use_, ResponseBodyRules::Always, "{buffer}");
        }
        // Plain content of a response rule reads the response as sent, body included.
        let (use_, _) = body_rules(
            "alert http any any -> any any (msg:\"p\"; flow:to_client; content:\"x\"; http.stat_code; content:\"200\"; sid:2;)",
        );
        assert_eq!(use_, ResponseBodyRules::Always);
    }

    #[test]
    fn a_body_rule_behind_a_request_flowbit_needs_the_bit() {
        let (use_, set) = body_rules(&format!(
            "{ATTACK}\nalert http any any -> any any (msg:\"ok\"; flow:to_client; flowbits:isset,shell; file.data; content:\"shell-ok\"; sid:2;)"
        ));
        assert!(!use_.may_inspect(&FlowDetectState::new()));
        assert!(!use_.may_inspect(&bits(&set, &["other"])));
        assert!(use_.may_inspect(&bits(&set, &["shell"])));
    }

    #[test]
    fn bits_set_while_an_answer_comes_are_no_gate() {
        // Set by a response rule, a packet rule: either may come between the head and the
        // inspection of an answer.
        for setter in [
            "alert http any any -> any any (msg:\"s\"; flow:to_client; http.stat_code; content:\"200\"; flowbits:set,late; sid:3;)",
            "alert tcp any any -> any any (msg:\"s\"; content:\"zz\"; flowbits:set,late; sid:3;)",
        ] {
            let (use_, _) = body_rules(&format!(
                "{setter}\nalert http any any -> any any (msg:\"ok\"; flow:to_client; flowbits:isset,late; file.data; content:\"x\"; sid:2;)"
            ));
            assert_eq!(use_, ResponseBodyRules::Always, "{setter}");
        }
        // `isset,a|b` (any of them) is no gate either.
        let (use_, _) = body_rules(&format!(
            "{ATTACK}\nalert http any any -> any any (msg:\"ok\"; flow:to_client; flowbits:isset,shell|other; file.data; content:\"x\"; sid:2;)"
        ));
        assert_eq!(use_, ResponseBodyRules::Always);
    }

    #[test]
    fn the_bundled_rules_gate_every_response_body_rule() {
        let set = RuleSet::load(
            &[std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("signatures")
                .as_path()],
            &LoadOptions::default(),
            DetectConfig::default(),
        )
        .expect("bundled rules load");
        match set.response_body_rules() {
            ResponseBodyRules::WhenSet(sets) => assert!(!sets.is_empty()),
            other => panic!("bundled rules: {other:?}"),
        }
        assert!(!set
            .response_body_rules()
            .may_inspect(&FlowDetectState::new()));
    }
}
