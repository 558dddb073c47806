//! The report as one self-contained HTML page: inline CSS, timelines drawn as inline SVG, no
//! script and no external URL (nothing is fetched when the page is opened, and it works
//! offline and printed: `@media print` drops the colours that do not print and keeps
//! sections whole). A summary, an overview timeline (one lane per chain), tables of the
//! chains, web shells and campaigns, then one section per chain with its own timeline (one
//! lane per stage) and the answers that showed success.
//!
//! Every string from the EVE is attacker-controlled (URLs, user agents, signatures of
//! third-party rules): each goes through [`esc`], in text and in attributes alike.

use std::fmt::Write;

use super::model::{parse_time, Chain, Report, Stage};

/// `s` escaped for HTML text and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "–".to_string()
    } else {
        items.iter().map(|s| esc(s)).collect::<Vec<_>>().join(", ")
    }
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map_or_else(|| "–".to_string(), esc)
}

const CSS: &str = r#"
body{font-family:-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#1d1d1f;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:2px solid #ddd;padding-bottom:.2em}
h3{font-size:1.05em;margin-top:1.2em}
table{border-collapse:collapse;width:100%;margin:.6em 0;font-size:.88em}
th,td{border:1px solid #ccc;padding:.25em .45em;text-align:left;vertical-align:top}
th{background:#f0f0f3}
td.url,code{font-family:"DejaVu Sans Mono",Consolas,monospace;font-size:.95em;word-break:break-all}
.meta{color:#555}
.none{font-size:1.2em;padding:1em;border:2px solid #2e7d32;background:#e8f5e9}
.shell-answered{color:#fff;background:#b71c1c;padding:0 .3em;border-radius:3px}
.succeeded{color:#fff;background:#e65100;padding:0 .3em;border-radius:3px}
.attempted{color:#1d1d1f;background:#ffe082;padding:0 .3em;border-radius:3px}
.cards{display:flex;flex-wrap:wrap;gap:.6em;margin:.8em 0}
.card{border:1px solid #ccc;border-radius:6px;padding:.4em .8em;min-width:8em}
.card b{display:block;font-size:1.5em}
dl{display:grid;grid-template-columns:max-content auto;gap:.15em 1em;margin:.5em 0}
dt{font-weight:bold}dd{margin:0;word-break:break-word}
svg{display:block;margin:.5em 0;max-width:100%;height:auto}
svg text{font-family:inherit;font-size:11px;fill:#333}
section.chain{page-break-inside:auto}
footer{margin-top:2em;color:#777;font-size:.85em}
@media print{body{margin:0;max-width:none;font-size:10pt}h2{page-break-after:avoid}
table,svg,dl{page-break-inside:avoid}section.chain{page-break-before:always}
.shell-answered,.succeeded,.attempted,svg{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"#;

fn outcome_badge(outcome: &str) -> String {
    let class = match outcome {
        "shell-answered" | "succeeded" => outcome,
        _ => "attempted",
    };
    format!("<span class=\"{class}\">{}</span>", esc(outcome))
}

/// The page.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    o.push_str("<title>exhound: Exchange exploitation report</title>\n<style>");
    o.push_str(CSS);
    o.push_str("</style>\n</head>\n<body>\n<h1>Exchange exploitation report</h1>\n");
    let _ = write!(
        o,
        "<p class=\"meta\">{} EVE records read: {} alerts, {} other events skipped",
        r.input.records, r.input.alerts, r.input.other_events
    );
    if r.input.truncated_lines > 0 {
        let _ = write!(
            o,
            ", {} truncated last line(s) skipped",
            r.input.truncated_lines
        );
    }
    o.push('.');
    if let (Some(f), Some(l)) = (&r.first_seen, &r.last_seen) {
        let _ = write!(o, " Alerts from {} to {} (UTC).", esc(f), esc(l));
    }
    o.push_str("</p>\n");
    if r.chains.is_empty() {
        o.push_str("<p class=\"none\" id=\"no-attacks\"><b>No attacks found</b>: no alerts in the EVE read.</p>\n");
        footer(&mut o);
        return o;
    }
    let s = &r.summary;
    o.push_str("<div class=\"cards\" id=\"summary\">");
    for (n, label) in [
        (s.chains, "chains"),
        (s.sources, "sources"),
        (s.servers, "servers"),
        (s.succeeded_chains, "succeeded"),
        (s.shells, "web shells"),
        (s.shells_answered, "shells answered"),
        (s.campaigns, "campaigns"),
    ] {
        let _ = write!(o, "<div class=\"card\"><b>{n}</b>{label}</div>");
    }
    o.push_str("</div>\n<h2>Timeline</h2>\n");
    overview_svg(&mut o, r);
    o.push_str("<h2>Chains</h2>\n<table id=\"chains\"><tr><th>chain</th><th>attacker → server</th><th>outcome</th><th>furthest stage</th><th>families</th><th>CVEs</th><th>first</th><th>last</th><th>alerts</th></tr>\n");
    for c in &r.chains {
        let _ = writeln!(
            o,
            "<tr><td><a href=\"#{id}\">{id}</a></td><td>{} → {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.client_ip),
            esc(&c.server_ip),
            outcome_badge(&c.outcome),
            esc(&c.furthest_stage),
            list(&c.families),
            list(&c.cves),
            esc(&c.first_seen),
            esc(&c.last_seen),
            c.alerts,
            id = esc(&c.id),
        );
    }
    o.push_str("</table>\n");
    if !r.shells.is_empty() {
        o.push_str("<h2>Web shells</h2>\n<table id=\"shells\"><tr><th>path</th><th>written</th><th>written by</th><th>used</th><th>used by</th><th>answered</th><th>rules</th></tr>\n");
        for sh in &r.shells {
            let written = if sh.written {
                format!(
                    "yes, {}<br><code>{}</code>",
                    opt(&sh.written_at),
                    list(&sh.written_as)
                )
            } else {
                "not seen".to_string()
            };
            let used = match (&sh.first_used, &sh.last_used) {
                (Some(f), Some(l)) => format!("{} times, {} – {}", sh.uses, esc(f), esc(l)),
                _ => "not seen".to_string(),
            };
            let answered = if sh.answered {
                format!(
                    "<span class=\"shell-answered\">yes</span> {}",
                    opt(&sh.answered_at)
                )
            } else {
                "no".to_string()
            };
            let rules: Vec<String> = sh
                .signatures
                .iter()
                .map(|r| r.signature_id.to_string())
                .collect();
            let _ = writeln!(
                o,
                "<tr><td class=\"url\">{}</td><td>{written}</td><td>{}</td><td>{used}</td><td>{}</td><td>{answered}</td><td>{}</td></tr>",
                esc(&sh.path),
                list(&sh.written_by),
                list(&sh.used_by),
                list(&rules)
            );
        }
        o.push_str("</table>\n");
    }
    if !r.campaigns.is_empty() {
        o.push_str("<h2>Campaigns</h2>\n<p>Sources that share a web-shell path or a user agent (full browser user agents are not counted).</p>\n");
        o.push_str("<table id=\"campaigns\"><tr><th>campaign</th><th>sources</th><th>chains</th><th>shared shells</th><th>shared user agents</th><th>first</th><th>last</th></tr>\n");
        for cp in &r.campaigns {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"url\">{}</td><td class=\"url\">{}</td><td>{}</td><td>{}</td></tr>",
                esc(&cp.id),
                list(&cp.sources),
                list(&cp.chains),
                list(&cp.shared_shells),
                list(&cp.shared_user_agents),
                esc(&cp.first_seen),
                esc(&cp.last_seen)
            );
        }
        o.push_str("</table>\n");
    }
    for c in &r.chains {
        chain(&mut o, c);
    }
    footer(&mut o);
    o
}

fn footer(o: &mut String) {
    let _ = write!(
        o,
        "<footer>Written by exhound {} from EVE alerts. Times are UTC.</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
}

/// Times in microseconds → x positions in `[x0, x0 + w]`.
struct Scale {
    t0: i64,
    t1: i64,
    x0: f64,
    w: f64,
}

impl Scale {
    fn x(&self, t: &str) -> f64 {
        let t = parse_time(t).unwrap_or(self.t0);
        if self.t1 <= self.t0 {
            return self.x0 + self.w / 2.0;
        }
        self.x0 + (t - self.t0) as f64 / (self.t1 - self.t0) as f64 * self.w
    }
}

fn colour(succeeded: bool) -> &'static str {
    if succeeded {
        "#c62828"
    } else {
        "#f9a825"
    }
}

fn axis(o: &mut String, sc: &Scale, first: &str, last: &str, y: f64) {
    let _ = write!(
        o,
        "<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#999\"/>",
        sc.x0,
        sc.x0 + sc.w
    );
    let _ = write!(
        o,
        "<text x=\"{:.1}\" y=\"{:.1}\">{}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
        sc.x0,
        y + 14.0,
        esc(first),
        sc.x0 + sc.w,
        y + 14.0,
        esc(last)
    );
}

fn overview_svg(o: &mut String, r: &Report) {
    let (Some(first), Some(last)) = (&r.first_seen, &r.last_seen) else {
        return;
    };
    let row = 22.0;
    let height = 20.0 + row * r.chains.len() as f64 + 24.0;
    let sc = Scale {
        t0: parse_time(first).unwrap_or(0),
        t1: parse_time(last).unwrap_or(0),
        x0: 250.0,
        w: 720.0,
    };
    let _ = write!(
        o,
        "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"1000\" height=\"{height:.0}\" viewBox=\"0 0 1000 {height:.0}\" role=\"img\" aria-label=\"Timeline of the chains\">"
    );
    for (i, c) in r.chains.iter().enumerate() {
        let y = 20.0 + row * i as f64;
        let (x1, x2) = (sc.x(&c.first_seen), sc.x(&c.last_seen));
        let _ = write!(
            o,
            "<text x=\"4\" y=\"{:.1}\">{} {} → {}</text>",
            y + 4.0,
            esc(&c.id),
            esc(&c.client_ip),
            esc(&c.server_ip)
        );
        let _ = write!(
            o,
            "<line x1=\"{x1:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#90a4ae\" stroke-width=\"4\"/>",
            x2.max(x1 + 2.0)
        );
        // Successes drawn last, on top of attempts at the same moment.
        let mut dots: Vec<&Stage> = c.stages.iter().collect();
        dots.sort_by_key(|s| s.succeeded);
        for s in dots {
            let _ = write!(
                o,
                "<circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"5\" fill=\"{}\"><title>{}: {} ({})</title></circle>",
                sc.x(&s.first_seen),
                colour(s.succeeded),
                esc(&s.label),
                esc(&s.first_seen),
                if s.succeeded { "succeeded" } else { "attempted" }
            );
        }
    }
    axis(o, &sc, first, last, height - 24.0);
    o.push_str("</svg>\n<p class=\"meta\">Each lane is a chain; each dot a stage's first alert (red: succeeded, yellow: attempted).</p>\n");
}

fn chain_svg(o: &mut String, c: &Chain) {
    let row = 20.0;
    let height = 12.0 + row * c.stages.len() as f64 + 24.0;
    let sc = Scale {
        t0: parse_time(&c.first_seen).unwrap_or(0),
        t1: parse_time(&c.last_seen).unwrap_or(0),
        x0: 250.0,
        w: 720.0,
    };
    let _ = write!(
        o,
        "<svg class=\"stages\" xmlns=\"http://www.w3.org/2000/svg\" width=\"1000\" height=\"{height:.0}\" viewBox=\"0 0 1000 {height:.0}\" role=\"img\" aria-label=\"Stages of {}\">",
        esc(&c.id)
    );
    for (i, s) in c.stages.iter().enumerate() {
        let y = 12.0 + row * i as f64;
        let (x1, x2) = (sc.x(&s.first_seen), sc.x(&s.last_seen));
        let _ = write!(
            o,
            "<text x=\"4\" y=\"{:.1}\">{}. {}</text>",
            y + 4.0,
            i + 1,
            esc(&s.label)
        );
        let _ = write!(
            o,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"10\" fill=\"{}\"><title>{}: {} – {}, {} alerts</title></rect>",
            x1 - 2.0,
            y - 5.0,
            (x2 - x1).max(0.0) + 4.0,
            colour(s.succeeded),
            esc(&s.label),
            esc(&s.first_seen),
            esc(&s.last_seen),
            s.alerts
        );
    }
    axis(o, &sc, &c.first_seen, &c.last_seen, height - 24.0);
    o.push_str("</svg>\n");
}

fn chain(o: &mut String, c: &Chain) {
    let _ = writeln!(
        o,
        "<section class=\"chain\" id=\"{}\">\n<h2>{}: {} → {} {}</h2>",
        esc(&c.id),
        esc(&c.id),
        esc(&c.client_ip),
        esc(&c.server_ip),
        outcome_badge(&c.outcome)
    );
    let ports: Vec<String> = c.server_ports.iter().map(u16::to_string).collect();
    let uas: Vec<String> = c
        .user_agents
        .iter()
        .map(|u| format!("{} ({})", u.value, u.count))
        .collect();
    let tools: Vec<String> = c
        .tools
        .iter()
        .map(|t| format!("{} [{}] ({})", t.signature, t.signature_id, t.count))
        .collect();
    o.push_str("<dl>");
    for (k, v) in [
        ("Host names", list(&c.hostnames)),
        ("Server ports", list(&ports)),
        (
            "First / last alert",
            format!("{} / {}", esc(&c.first_seen), esc(&c.last_seen)),
        ),
        ("Alerts", c.alerts.to_string()),
        ("Families", list(&c.families)),
        ("CVEs", list(&c.cves)),
        ("Furthest stage", esc(&c.furthest_stage)),
        ("Campaign", opt(&c.campaign)),
        ("Web shells", list(&c.shells)),
        ("Mailboxes named", list(&c.mailboxes)),
        ("SIDs named", list(&c.sids)),
        ("User agents", list(&uas)),
        ("Tools fingerprinted", list(&tools)),
    ] {
        let _ = write!(o, "<dt>{k}</dt><dd>{v}</dd>");
    }
    o.push_str("</dl>\n");
    chain_svg(o, c);
    o.push_str("<table class=\"stages\"><tr><th>#</th><th>stage</th><th>first</th><th>last</th><th>alerts</th><th>attempts</th><th>successes</th><th>status</th><th>rules</th></tr>\n");
    for (i, s) in c.stages.iter().enumerate() {
        let rules: Vec<String> = s
            .signatures
            .iter()
            .map(|r| format!("{} {} ({})", r.signature_id, r.signature, r.count))
            .collect();
        let _ = writeln!(
            o,
            "<tr data-stage=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.name),
            i + 1,
            esc(&s.label),
            esc(&s.first_seen),
            esc(&s.last_seen),
            s.alerts,
            s.attempts,
            s.successes,
            match (&s.confirmed_by, s.succeeded) {
                (_, true) => "<span class=\"succeeded\">succeeded</span>".to_string(),
                (Some(c), false) => format!(
                    "<span class=\"attempted\">attempted</span> confirmed: {}",
                    esc(c)
                ),
                (None, false) => "<span class=\"attempted\">attempted</span>".to_string(),
            },
            list(&rules)
        );
    }
    o.push_str("</table>\n");
    if c.stages.iter().any(|s| !s.evidence.is_empty()) {
        o.push_str("<h3>Answers that showed success</h3>\n<table class=\"evidence\"><tr><th>stage</th><th>time</th><th>status</th><th>request</th><th>rule</th><th>times</th></tr>\n");
        for s in &c.stages {
            for e in &s.evidence {
                let _ = writeln!(
                    o,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"url\">{} {}</td><td>{} {}</td><td>{}</td></tr>",
                    esc(&s.label),
                    esc(&e.time),
                    e.status.map_or_else(|| "–".to_string(), |v| v.to_string()),
                    opt(&e.method),
                    opt(&e.url),
                    e.signature_id,
                    esc(&e.signature),
                    e.count
                );
            }
            if s.evidence_total > s.evidence.len() {
                let _ = writeln!(
                    o,
                    "<tr><td>{}</td><td colspan=\"5\">… {} more</td></tr>",
                    esc(&s.label),
                    s.evidence_total - s.evidence.len()
                );
            }
        }
        o.push_str("</table>\n");
    }
    if c.stages.iter().all(|s| s.urls.is_empty()) {
        o.push_str("</section>\n");
        return;
    }
    o.push_str("<h3>URLs per stage</h3>\n<ul>");
    for s in &c.stages {
        if s.urls.is_empty() {
            continue;
        }
        let _ = write!(o, "<li>{}: ", esc(&s.label));
        let urls: Vec<String> = s
            .urls
            .iter()
            .map(|u| format!("<code>{}</code>", esc(u)))
            .collect();
        o.push_str(&urls.join(", "));
        if s.urls_total > s.urls.len() {
            let _ = write!(o, " (and {} more)", s.urls_total - s.urls.len());
        }
        o.push_str("</li>");
    }
    o.push_str("</ul>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("/a.aspx?x=<script>alert('1')</script>&\"y\""),
            "/a.aspx?x=&lt;script&gt;alert(&#39;1&#39;)&lt;/script&gt;&amp;&quot;y&quot;"
        );
    }
}
