//! `--html FILE`: the benchmark as one self-contained page for people — inline CSS and SVG
//! bar charts (throughput per set, the costliest rules), tables, no script and nothing
//! fetched from elsewhere. Every piece of text from the input (paths, rule messages) is
//! escaped.

use std::fmt::Write as _;

use exhound::report::html::esc;

use super::report::{bytes, BenchReport, SetReport};

/// Rules in the cost chart of each set.
const TOP_RULES: usize = 20;

/// A horizontal bar chart: one bar per (label, value), scaled to the largest, with the
/// value's text `shown` at the end of the bar.
fn bar_chart(title: &str, bars: &[(String, f64, String)]) -> String {
    const ROW: usize = 22;
    const LABEL_W: usize = 360;
    const BAR_W: f64 = 420.0;
    let height = ROW * bars.len() + 30;
    let width = LABEL_W + BAR_W as usize + 140;
    let max = bars.iter().map(|b| b.1).fold(0.0_f64, f64::max).max(1e-12);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}"><title>{}</title><text x="0" y="16" class="t">{}</text>"#,
        esc(title),
        esc(title)
    );
    for (i, (label, value, shown)) in bars.iter().enumerate() {
        let y = 26 + i * ROW;
        let w = (value / max * BAR_W).max(1.0);
        let short: String = label.chars().take(56).collect();
        let _ = write!(
            s,
            r##"<text x="{lx}" y="{ty}" text-anchor="end">{label}</text><rect x="{bx}" y="{y}" width="{w:.1}" height="{h}" fill="#4a7fb5"><title>{full}</title></rect><text x="{vx:.1}" y="{ty}">{shown}</text>"##,
            lx = LABEL_W - 6,
            ty = y + 14,
            label = esc(&short),
            bx = LABEL_W,
            h = ROW - 6,
            full = esc(label),
            vx = LABEL_W as f64 + w + 6.0,
            shown = esc(shown),
        );
    }
    s.push_str("</svg>");
    s
}

/// The page.
pub fn page(r: &BenchReport) -> String {
    let mut h = String::new();
    h.push_str(concat!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<title>exhound bench</title><style>",
        "body{font-family:sans-serif;margin:2em;color:#222}",
        "table{border-collapse:collapse;margin:1em 0}",
        "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}",
        "td.l,th.l{text-align:left}svg{display:block;margin:1em 0;font-size:12px}",
        "svg .t{font-weight:bold;font-size:14px}",
        "</style></head><body>\n"
    ));
    let _ = writeln!(
        h,
        "<h1>exhound {} bench</h1><p>{} file(s), {} packets, {} captured; {} worker thread(s), {} timed run(s) per set.</p>",
        esc(r.version),
        r.input.files.len(),
        r.input.packets,
        esc(&bytes(r.input.bytes)),
        r.threads,
        r.repeat
    );
    let mut bars: Vec<(String, f64, String)> = r
        .sets
        .iter()
        .map(|s| {
            let g = s.speed.gbit_per_sec;
            (s.label.clone(), g, format!("{g:.3} Gbit/s"))
        })
        .collect();
    for s in &r.sets {
        if let Some(su) = &s.suricata {
            let g = r.input.bytes as f64 * 8.0 / su.wall_secs.max(1e-9) / 1e9;
            let label = format!("Suricata (start-up included), {}", s.label);
            bars.push((label, g, format!("{g:.3} Gbit/s")));
        }
    }
    if let Some(b) = &r.baseline_read {
        let g = b.gbit_per_sec;
        bars.push(("bare libpcap read".into(), g, format!("{g:.3} Gbit/s")));
    }
    h.push_str(&bar_chart("Throughput (median run)", &bars));
    summary_table(&mut h, r);
    if let Some(c) = &r.comparison {
        let _ = writeln!(
            h,
            "<h2>Sids whose alerts differ</h2><p>Ratios are to {}.</p>",
            esc(&c.reference)
        );
        if c.differing_sids.is_empty() {
            h.push_str("<p>Every set gave the same alerts per sid.</p>\n");
        } else {
            h.push_str("<table><tr><th>sid</th>");
            for i in 1..=r.sets.len() {
                let _ = write!(h, "<th>set {i}</th>");
            }
            h.push_str("</tr>\n");
            for d in &c.differing_sids {
                let _ = write!(h, "<tr><td>{}</td>", d.sid);
                for a in &d.alerts {
                    let _ = write!(h, "<td>{a}</td>");
                }
                h.push_str("</tr>\n");
            }
            h.push_str("</table>\n");
        }
    }
    for (i, s) in r.sets.iter().enumerate() {
        set_section(&mut h, i + 1, s);
    }
    h.push_str("</body></html>\n");
    h
}

fn summary_table(h: &mut String, r: &BenchReport) {
    h.push_str(concat!(
        "<table><tr><th>set</th><th class=\"l\">rules</th><th>rules loaded</th>",
        "<th>median s</th><th>min s</th><th>max s</th><th>Gbit/s</th><th>packets/s</th>",
        "<th>transactions/s</th><th>alerts</th><th>peak RSS</th><th>over baseline</th>",
        "<th>time ×</th></tr>\n"
    ));
    for (i, s) in r.sets.iter().enumerate() {
        let w = &s.speed.wall_secs;
        let ratio = r
            .comparison
            .as_ref()
            .and_then(|c| c.rows.get(i))
            .map_or("-".to_string(), |row| format!("{:.3}", row.time_ratio));
        let mem = |b: Option<u64>| b.map_or("-".to_string(), bytes);
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"l\">{}</td><td>{}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{:.0}</td><td>{:.0}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            i + 1,
            esc(&s.label),
            s.rules,
            w.median,
            w.min,
            w.max,
            s.speed.gbit_per_sec,
            s.speed.packets_per_sec,
            s.transactions_per_sec,
            s.alerts,
            esc(&mem(s.memory.peak_rss_bytes)),
            esc(&mem(s.memory.peak_over_baseline_bytes)),
            ratio
        );
    }
    h.push_str("</table>\n");
}

fn set_section(h: &mut String, n: usize, s: &SetReport) {
    let _ = writeln!(h, "<h2>Set {n}: {}</h2>", esc(&s.label));
    if let Some(p) = &s.profile {
        let bars: Vec<(String, f64, String)> = p
            .rules
            .iter()
            .take(TOP_RULES)
            .map(|r| {
                (
                    format!("{} {}", r.sid, r.msg),
                    r.total_ns as f64,
                    format!("{:.3} ms, {:.1}%", r.total_ns as f64 / 1e6, 100.0 * r.share),
                )
            })
            .collect();
        if !bars.is_empty() {
            h.push_str(&bar_chart("Costliest rules (profiling run)", &bars));
        }
        h.push_str(concat!(
            "<table><tr><th>sid</th><th>checked</th><th>matches</th><th>total ms</th>",
            "<th>mean ns</th><th>share</th><th class=\"l\">msg</th></tr>\n"
        ));
        for r in p.rules.iter().take(TOP_RULES) {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{:.0}</td><td>{:.1}%</td><td class=\"l\">{}</td></tr>",
                r.sid,
                r.checked,
                r.matches,
                r.total_ns as f64 / 1e6,
                r.mean_ns,
                100.0 * r.share,
                esc(&r.msg)
            );
        }
        h.push_str("</table>\n");
    }
    if !s.alerts_by_sid.is_empty() {
        h.push_str("<table><tr><th>sid</th><th>alerts</th><th class=\"l\">msg</th></tr>\n");
        for c in &s.alerts_by_sid {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
                c.sid,
                c.alerts,
                esc(&c.msg)
            );
        }
        h.push_str("</table>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn chart_has_a_bar_per_value() {
        let svg = bar_chart(
            "t",
            &[
                ("a<b".into(), 1.0, "1".into()),
                ("c".into(), 2.0, "2".into()),
            ],
        );
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("a&lt;b") && !svg.contains("a<b"));
    }
}
