//! The report as Markdown: the same sections as the HTML page (summary, chains, web shells,
//! campaigns, then one section per chain with its stages), as tables. Every string from the
//! EVE is attacker-controlled, so it is escaped ([`text`]): the punctuation that makes
//! emphasis, code, links, table cells or HTML (`\ ` * _ [ ] | ~ < > &`) is backslash-escaped
//! and line breaks become spaces, so a URL cannot close a table cell, open a link or inject
//! HTML into a renderer (strings are never at the start of a line, so `#`, `-`, `+` are safe).

use std::fmt::Write;

use super::model::{Chain, Report};

/// `s` as literal Markdown text (safe in a table cell).
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '<' | '>' | '&' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' | '\t' => out.push(' '),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "–".to_string()
    } else {
        items.iter().map(|s| text(s)).collect::<Vec<_>>().join(", ")
    }
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map_or_else(|| "–".to_string(), text)
}

/// The report as Markdown.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Exchange exploitation report\n");
    let _ = writeln!(
        o,
        "{} EVE records read: {} alerts, {} other events skipped{}.  ",
        r.input.records,
        r.input.alerts,
        r.input.other_events,
        if r.input.truncated_lines > 0 {
            format!(
                ", {} truncated last line(s) skipped",
                r.input.truncated_lines
            )
        } else {
            String::new()
        }
    );
    if let (Some(f), Some(l)) = (&r.first_seen, &r.last_seen) {
        let _ = writeln!(o, "Alerts from {} to {} (UTC).", text(f), text(l));
    }
    o.push('\n');
    if r.chains.is_empty() {
        let _ = writeln!(o, "**No attacks found**: no alerts in the EVE read.");
        return o;
    }
    let s = &r.summary;
    let _ = writeln!(o, "## Summary\n");
    let _ = writeln!(o, "| chains | sources | servers | succeeded | web shells | shells that answered | campaigns |");
    let _ = writeln!(o, "|---|---|---|---|---|---|---|");
    let _ = writeln!(
        o,
        "| {} | {} | {} | {} | {} | {} | {} |\n",
        s.chains,
        s.sources,
        s.servers,
        s.succeeded_chains,
        s.shells,
        s.shells_answered,
        s.campaigns
    );
    let _ = writeln!(o, "## Chains\n");
    let _ = writeln!(o, "| chain | attacker → server | outcome | furthest stage | families | CVEs | first | last | alerts |");
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|");
    for c in &r.chains {
        let _ = writeln!(
            o,
            "| {} | {} → {} | **{}** | {} | {} | {} | {} | {} | {} |",
            c.id,
            text(&c.client_ip),
            text(&c.server_ip),
            c.outcome,
            text(&c.furthest_stage),
            list(&c.families),
            list(&c.cves),
            text(&c.first_seen),
            text(&c.last_seen),
            c.alerts
        );
    }
    o.push('\n');
    if !r.shells.is_empty() {
        let _ = writeln!(o, "## Web shells\n");
        let _ = writeln!(
            o,
            "| path | written | written by | used | used by | answered | rules |"
        );
        let _ = writeln!(o, "|---|---|---|---|---|---|---|");
        for sh in &r.shells {
            let written = if sh.written {
                format!("yes, {} ({})", opt(&sh.written_at), list(&sh.written_as))
            } else {
                "not seen".to_string()
            };
            let used = match (&sh.first_used, &sh.last_used) {
                (Some(f), Some(l)) => format!("{} times, {} – {}", sh.uses, text(f), text(l)),
                _ => "not seen".to_string(),
            };
            let rules: Vec<String> = sh
                .signatures
                .iter()
                .map(|r| r.signature_id.to_string())
                .collect();
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} |",
                text(&sh.path),
                written,
                list(&sh.written_by),
                used,
                list(&sh.used_by),
                if sh.answered {
                    format!("**yes**, {}", opt(&sh.answered_at))
                } else {
                    "no".to_string()
                },
                list(&rules)
            );
        }
        o.push('\n');
    }
    if !r.campaigns.is_empty() {
        let _ = writeln!(o, "## Campaigns\n");
        let _ = writeln!(o, "Sources that share a web-shell path or a user agent (full browser user agents are not counted).\n");
        let _ = writeln!(
            o,
            "| campaign | sources | chains | shared shells | shared user agents | first | last |"
        );
        let _ = writeln!(o, "|---|---|---|---|---|---|---|");
        for cp in &r.campaigns {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} |",
                cp.id,
                list(&cp.sources),
                list(&cp.chains),
                list(&cp.shared_shells),
                list(&cp.shared_user_agents),
                text(&cp.first_seen),
                text(&cp.last_seen)
            );
        }
        o.push('\n');
    }
    for c in &r.chains {
        chain(&mut o, c);
    }
    o
}

fn chain(o: &mut String, c: &Chain) {
    let _ = writeln!(
        o,
        "## {}: {} → {} ({})\n",
        c.id,
        text(&c.client_ip),
        text(&c.server_ip),
        c.outcome
    );
    let ports: Vec<String> = c.server_ports.iter().map(u16::to_string).collect();
    let _ = writeln!(
        o,
        "* Host names: {}; ports: {}",
        list(&c.hostnames),
        list(&ports)
    );
    let _ = writeln!(
        o,
        "* From {} to {}, {} alerts",
        text(&c.first_seen),
        text(&c.last_seen),
        c.alerts
    );
    let _ = writeln!(
        o,
        "* Families: {}; CVEs: {}",
        list(&c.families),
        list(&c.cves)
    );
    let _ = writeln!(o, "* Furthest stage: {}", text(&c.furthest_stage));
    if let Some(cp) = &c.campaign {
        let _ = writeln!(o, "* Campaign: {cp}");
    }
    let _ = writeln!(o, "* Web shells: {}", list(&c.shells));
    let _ = writeln!(o, "* Mailboxes named: {}", list(&c.mailboxes));
    let _ = writeln!(o, "* SIDs named: {}", list(&c.sids));
    let uas: Vec<String> = c
        .user_agents
        .iter()
        .map(|u| format!("{} ({})", u.value, u.count))
        .collect();
    let _ = writeln!(o, "* User agents: {}", list(&uas));
    let tools: Vec<String> = c
        .tools
        .iter()
        .map(|t| format!("{} [{}] ({})", t.signature, t.signature_id, t.count))
        .collect();
    let _ = writeln!(o, "* Tools fingerprinted: {}\n", list(&tools));
    let _ = writeln!(
        o,
        "| # | stage | first | last | alerts | attempts | successes | status | rules |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|");
    for (i, s) in c.stages.iter().enumerate() {
        let rules: Vec<String> = s
            .signatures
            .iter()
            .map(|r| format!("{} {} ({})", r.signature_id, r.signature, r.count))
            .collect();
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            i + 1,
            text(&s.label),
            text(&s.first_seen),
            text(&s.last_seen),
            s.alerts,
            s.attempts,
            s.successes,
            match (&s.confirmed_by, s.succeeded) {
                (_, true) => "**succeeded**".to_string(),
                (Some(c), false) => format!("attempted; confirmed: {}", text(c)),
                (None, false) => "attempted".to_string(),
            },
            list(&rules)
        );
    }
    o.push('\n');
    let with_evidence: Vec<_> = c.stages.iter().filter(|s| !s.evidence.is_empty()).collect();
    if !with_evidence.is_empty() {
        let _ = writeln!(o, "Answers that showed success:\n");
        let _ = writeln!(o, "| stage | time | status | request | rule | times |");
        let _ = writeln!(o, "|---|---|---|---|---|---|");
        for s in with_evidence {
            for e in &s.evidence {
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} {} | {} {} | {} |",
                    text(&s.label),
                    text(&e.time),
                    e.status.map_or_else(|| "–".to_string(), |v| v.to_string()),
                    opt(&e.method),
                    opt(&e.url),
                    e.signature_id,
                    text(&e.signature),
                    e.count
                );
            }
            if s.evidence_total > s.evidence.len() {
                let _ = writeln!(
                    o,
                    "| {} | … {} more | | | | |",
                    text(&s.label),
                    s.evidence_total - s.evidence.len()
                );
            }
        }
        o.push('\n');
    }
    if c.stages.iter().all(|s| s.urls.is_empty()) {
        return;
    }
    let _ = writeln!(o, "URLs per stage:\n");
    for s in &c.stages {
        if s.urls.is_empty() {
            continue;
        }
        let more = if s.urls_total > s.urls.len() {
            format!(" (and {} more)", s.urls_total - s.urls.len())
        } else {
            String::new()
        };
        let _ = writeln!(o, "* {}: {}{more}", text(&s.label), list(&s.urls));
    }
    o.push('\n');
}

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn attacker_strings_cannot_break_out() {
        let s = text("/x.aspx?a=<script>alert(1)</script>|[l](http://e)\n# h");
        assert!(!s.contains("<script>"));
        assert!(!s.contains('\n'));
        assert!(s.contains("\\<script\\>"));
        assert!(s.contains("\\|") && s.contains("\\[l\\]"));
    }
}
