//! `exhound report` and `exhound replay --report` end to end (issue 11 §1): bundled attack
//! captures are replayed (with `--payload`, as a responder would, so the written shell paths
//! and SIDs are in the EVE), the report is built, and the chains' stages, success flags and
//! shell paths are checked; the JSON validates against `docs/report.schema.json`; the STIX
//! bundle's structure holds (ids, patterns, references); `replay --report` writes the same
//! bytes as `report` on the EVE it wrote; a benign capture gives a report that says no
//! attacks; attacker strings are escaped; the page renders in headless Chromium without a
//! console message, and a screenshot is taken.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use support::prereq;
use support::run::{exe, pcap};

fn exhound(args: &[&str]) -> Output {
    Command::new(exe())
        .args(args)
        .output()
        .expect("run exhound")
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Replays `captures` with `--payload` into `dir/eve.json`, with `--report` for each of
/// `reports` (file names in `dir`); returns the EVE path.
fn replay(dir: &Path, captures: &[&str], reports: &[&str]) -> PathBuf {
    let eve = dir.join("eve.json");
    let mut args: Vec<String> = vec![
        "replay".into(),
        "-q".into(),
        "--payload".into(),
        "-o".into(),
        s(&eve).into(),
    ];
    for r in reports {
        args.push("--report".into());
        args.push(s(&dir.join(r)).into());
    }
    for c in captures {
        args.push(s(&pcap(c)).into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&exhound(&args));
    eve
}

/// `exhound report EVE -o dir/<each of outputs>`.
fn report(dir: &Path, eve: &Path, outputs: &[&str]) {
    let mut args = vec!["report".to_string(), s(eve).to_string()];
    for o in outputs {
        args.push("-o".into());
        args.push(s(&dir.join(o)).into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&exhound(&args));
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn json(p: &Path) -> Value {
    serde_json::from_str(&read(p)).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn chain<'a>(r: &'a Value, client: &str) -> &'a Value {
    r["chains"]
        .as_array()
        .expect("chains")
        .iter()
        .find(|c| c["client_ip"] == client)
        .unwrap_or_else(|| panic!("no chain from {client}: {r:#}"))
}

/// (stage name, succeeded) of a chain, in the report's order.
fn stages(c: &Value) -> Vec<(String, bool)> {
    c["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("name").to_string(),
                s["succeeded"].as_bool().expect("succeeded"),
            )
        })
        .collect()
}

fn owned(v: &[(&str, bool)]) -> Vec<(String, bool)> {
    v.iter().map(|(n, b)| ((*n).to_string(), *b)).collect()
}

#[test]
fn proxylogon_chain_in_every_format_and_replay_report_equals_report() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let all = ["r.json", "r.html", "r.md", "i.csv", "i.stix.json"];
    let eve = replay(
        d,
        &["exchange/chain-proxylogon-testanull-keepalive.pcap"],
        &all,
    );
    let r = json(&d.join("r.json"));
    assert_eq!(r["schema"], "exhound-report/1");
    assert_eq!(r["chains"].as_array().unwrap().len(), 1);
    let c = chain(&r, "203.0.113.56");
    assert_eq!(c["server_ip"], "198.51.100.20");
    assert_eq!(c["hostnames"], serde_json::json!(["mail.contoso.com"]));
    assert_eq!(c["outcome"], "shell-answered");
    // The attack's order, each stage's success from the server's answers: the
    // virtual-directory tamper and the file write have no success rule of their own (the
    // shell answering later is their proof).
    assert_eq!(
        stages(c),
        owned(&[
            ("ssrf", true),
            ("recon", true),
            ("sid-leak", true),
            ("ecp-session", true),
            ("vdir-tamper", false),
            ("file-write", false),
            ("webshell", true),
        ])
    );
    // ... which the file-write stage says, without calling itself succeeded.
    assert_eq!(
        c["stages"][5]["confirmed_by"],
        "/owa/auth/kxnqwz.aspx answered at 2021-03-03T10:00:00.037000Z"
    );
    assert_eq!(c["stages"][4]["confirmed_by"], Value::Null);
    let ssrf = &c["stages"][0];
    assert_eq!(ssrf["first_seen"], "2021-03-03T10:00:00.003000Z");
    assert!(ssrf["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["signature_id"] == 4210050 && e["status"] == 241));
    assert_eq!(
        c["sids"][0],
        "S-1-5-21-3145112437-2145651249-1294385417-500"
    );
    assert!(c["mailboxes"]
        .as_array()
        .unwrap()
        .contains(&Value::from("administrator@contoso.com")));
    assert_eq!(c["tools"][0]["signature_id"], 4210011);
    // The shell written through ResetOABVirtualDirectory, then used, and it answered.
    let shells = r["shells"].as_array().unwrap();
    assert_eq!(shells.len(), 1);
    let sh = &shells[0];
    assert_eq!(sh["path"], "/owa/auth/kxnqwz.aspx");
    assert_eq!(sh["written"], true);
    assert_eq!(sh["answered"], true);
    assert!(sh["written_at"].as_str().unwrap() < sh["first_used"].as_str().unwrap());
    assert_eq!(c["shells"], serde_json::json!(["/owa/auth/kxnqwz.aspx"]));

    let html = read(&d.join("r.html"));
    assert!(html.contains("/owa/auth/kxnqwz.aspx") && html.contains("<svg id=\"timeline\""));
    let md = read(&d.join("r.md"));
    assert!(
        md.contains("| chain-1 | 203.0.113.56 → 198.51.100.20 | **shell-answered** |"),
        "{md}"
    );

    // `exhound report` on the EVE written gives the same bytes, twice.
    for _ in 0..2 {
        let again = d.join("again");
        std::fs::create_dir_all(&again).unwrap();
        report(&again, &eve, &all);
        for f in all {
            assert!(
                read(&d.join(f)) == read(&again.join(f)),
                "{f}: replay --report and report differ"
            );
        }
    }
}

#[test]
fn proxyshell_export_and_pst_shell() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    replay(
        d,
        &[
            "exchange/ps-powershell-export-dmaasland.pcap",
            "exchange/ps-shell-use-pst.pcap",
        ],
        &["r.json"],
    );
    let r = json(&d.join("r.json"));
    assert_eq!(r["summary"]["chains"], 2);
    let export = chain(&r, "203.0.113.63");
    assert_eq!(export["outcome"], "succeeded");
    assert_eq!(
        stages(export),
        owned(&[
            ("ssrf", true),
            ("priv-esc", true),
            ("file-write", false),
            ("tool", false)
        ])
    );
    assert!(export["families"]
        .as_array()
        .unwrap()
        .contains(&Value::from("proxyshell")));
    assert!(export["cves"]
        .as_array()
        .unwrap()
        .contains(&Value::from("CVE-2021-31207")));
    let export_sig = &export["stages"][2]["signatures"][0];
    assert_eq!(export_sig["signature_id"], 4210207);
    let shell = chain(&r, "203.0.113.65");
    assert_eq!(shell["outcome"], "shell-answered");
    assert_eq!(stages(shell), owned(&[("webshell", true)]));
    let sh = &r["shells"][0];
    assert_eq!(sh["path"], "/aspnet_client/xqzpjkvmelrfcaws.aspx");
    assert_eq!(sh["answered"], true);
    // The export's path, read from the base64 PSRP message, is the shell the other source
    // used: written by one, used by the other, and they are one campaign.
    assert_eq!(sh["written"], true);
    assert_eq!(
        sh["written_as"],
        serde_json::json!([r"\\localhost\c$\inetpub\wwwroot\aspnet_client\xqzpjkvmelrfcaws.aspx"])
    );
    assert_eq!(sh["written_by"], serde_json::json!(["203.0.113.63"]));
    assert_eq!(sh["used_by"], serde_json::json!(["203.0.113.65"]));
    assert_eq!(
        export["shells"],
        serde_json::json!(["/aspnet_client/xqzpjkvmelrfcaws.aspx"])
    );
    let campaigns = r["campaigns"].as_array().unwrap();
    assert_eq!(campaigns.len(), 1);
    assert_eq!(
        campaigns[0]["sources"],
        serde_json::json!(["203.0.113.63", "203.0.113.65"])
    );
    assert_eq!(
        campaigns[0]["shared_shells"],
        serde_json::json!(["/aspnet_client/xqzpjkvmelrfcaws.aspx"])
    );
}

#[test]
fn json_of_every_bundled_capture_validates_against_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    replay(d, &["exchange"], &["r.json"]);
    let schema: Value = serde_json::from_str(&read(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json"),
    ))
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema");
    let r = json(&d.join("r.json"));
    let errors: Vec<String> = validator.iter_errors(&r).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(
        r["summary"]["chains"].as_u64().unwrap() > 50,
        "{}",
        r["summary"]
    );
    // The schema refuses what it should: a stage without its times, an unknown field.
    let mut bad = r.clone();
    bad["chains"][0]["stages"][0]
        .as_object_mut()
        .unwrap()
        .remove("first_seen");
    assert!(!validator.is_valid(&bad));
    let mut bad = r.clone();
    bad["chains"][0]["extra"] = Value::from(1);
    assert!(!validator.is_valid(&bad));
}

#[test]
fn stix_bundle_and_csv_indicators() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    replay(
        d,
        &[
            "exchange/chain-proxylogon-testanull-keepalive.pcap",
            "exchange/ps-shell-use-pst.pcap",
        ],
        &["i.stix.json", "i.csv"],
    );
    let b = json(&d.join("i.stix.json"));
    assert_eq!(b["type"], "bundle");
    assert!(b["id"].as_str().unwrap().starts_with("bundle--"));
    assert!(
        b.get("spec_version").is_none(),
        "a 2.1 bundle has no spec_version"
    );
    let objects = b["objects"].as_array().unwrap();
    let id_re = regex::Regex::new(
        r"^([a-z0-9-]+)--[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
    )
    .unwrap();
    let mut ids = std::collections::BTreeSet::new();
    for o in objects {
        let id = o["id"].as_str().unwrap();
        let caps = id_re.captures(id).unwrap_or_else(|| panic!("bad id {id}"));
        assert_eq!(&caps[1], o["type"].as_str().unwrap(), "{o}");
        assert_eq!(o["spec_version"], "2.1");
        assert!(ids.insert(id.to_string()), "duplicate id {id}");
    }
    let of_type = |t: &'static str| objects.iter().filter(move |o| o["type"] == t);
    let times = |o: &Value, keys: &[&str]| {
        for k in keys {
            let v = o[*k]
                .as_str()
                .unwrap_or_else(|| panic!("{k} missing in {o}"));
            assert!(v.ends_with('Z') && v.len() == 27, "{k}: {v}");
        }
    };
    let patterns: Vec<&str> = of_type("indicator")
        .map(|i| {
            assert_eq!(i["pattern_type"], "stix");
            assert_eq!(
                i["indicator_types"],
                serde_json::json!(["malicious-activity"])
            );
            times(i, &["created", "modified", "valid_from"]);
            i["pattern"].as_str().unwrap()
        })
        .collect();
    for want in [
        "[ipv4-addr:value = '203.0.113.56']",
        "[ipv4-addr:value = '203.0.113.65']",
        "[url:value = 'https://mail.contoso.com/owa/auth/kxnqwz.aspx']",
        "[file:name = 'kxnqwz.aspx']",
        "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = 'python-requests/2.25.1']",
    ] {
        assert!(patterns.contains(&want), "{want} not in {patterns:#?}");
    }
    // Stock browser user agents are not indicators.
    assert!(
        !patterns.iter().any(|p| p.contains("Chrome/88")),
        "{patterns:#?}"
    );
    let observed: Vec<&Value> = of_type("observed-data").collect();
    assert_eq!(observed.len(), 2);
    for o in observed {
        times(
            o,
            &["first_observed", "last_observed", "created", "modified"],
        );
        assert!(o["number_observed"].as_u64().unwrap() >= 1);
        for r in o["object_refs"].as_array().unwrap() {
            assert!(ids.contains(r.as_str().unwrap()), "dangling {r}");
        }
    }
    // The cyber-observable ids follow STIX 2.1 §2.9 (UUIDv5 of the value).
    assert!(of_type("ipv4-addr").any(|o| o["value"] == "203.0.113.56"));

    let csv = read(&d.join("i.csv"));
    let mut lines = csv.split("\r\n");
    assert_eq!(
        lines.next(),
        Some("type,value,context,first_seen,last_seen,chains")
    );
    assert!(csv.contains("\r\nipv4-addr,203.0.113.56,"), "{csv}");
    assert!(
        csv.contains(
            "\r\nurl,https://mail.contoso.com/owa/auth/kxnqwz.aspx,web shell that answered,"
        ),
        "{csv}"
    );
}

#[test]
fn a_benign_capture_reports_no_attacks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    replay(
        d,
        &["exchange/bn-owa-logon-and-inbox.pcap"],
        &["r.json", "r.html", "r.md"],
    );
    let r = json(&d.join("r.json"));
    assert_eq!(r["chains"], serde_json::json!([]));
    assert_eq!(r["input"]["alerts"], 0);
    assert!(read(&d.join("r.html")).contains("No attacks found"));
    assert!(read(&d.join("r.md")).contains("**No attacks found**"));
}

/// An alert whose URL, user agent and signature carry markup.
fn hostile_eve() -> String {
    let alert = serde_json::json!({
        "timestamp": "2021-03-03T10:00:00.000000+0000", "event_type": "alert",
        "src_ip": "192.0.2.7", "src_port": 5555, "dest_ip": "192.0.2.1", "dest_port": 443,
        "alert": {"signature_id": 4210604, "severity": 3,
                  "signature": "<b onmouseover=alert(3)>sig</b>",
                  "metadata": {"stage": ["webshell"], "family": ["webshell"], "tag": ["webshell"]}},
        "http": {"hostname": "mail\"><script>console.error('host')</script>", "http_method": "GET",
                 "url": "/aspnet_client/x.aspx?<script>console.error('xss')</script>",
                 "http_user_agent": "\"><img src=x onerror=console.error('ua')>|[l](http://evil)"},
        "direction": "to_server",
    });
    format!("{alert}\n")
}

#[test]
fn attacker_strings_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let eve = d.join("eve.json");
    std::fs::write(&eve, hostile_eve()).unwrap();
    report(d, &eve, &["r.html", "r.md"]);
    let html = read(&d.join("r.html"));
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img") && !html.contains("<b onmouseover"));
    assert!(html.contains("&lt;script&gt;console.error(&#39;xss&#39;)&lt;/script&gt;"));
    let md = read(&d.join("r.md"));
    // Every `<` and `[` is backslash-escaped (the template writes none of its own).
    for c in ['<', '[', ']'] {
        assert!(
            md.match_indices(c).all(|(i, _)| md[..i].ends_with('\\')),
            "unescaped {c} in {md}"
        );
    }
    assert!(
        md.contains(r"\<script\>console.error('xss')\</script\>"),
        "{md}"
    );
    assert!(md.contains(r"\|\[l\](http://evil)"), "{md}");
}

#[test]
fn a_malformed_line_is_an_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("eve.json");
    std::fs::write(
        &eve,
        format!("{}{{\"event_type\": \"alert\", oops\n", hostile_eve()),
    )
    .unwrap();
    let out = exhound(&["report", s(&eve), "-o", s(&dir.path().join("r.md"))]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:2: not an EVE record", eve.display())),
        "{err}"
    );
    let out = exhound(&["report", s(&eve), "-o", "report.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--format"));
}

#[test]
fn suricata_style_eve_gives_the_same_chains() {
    // Suricata 6 writes neither `direction` nor the `flow` addresses, nor exhound's
    // flowvars: the chains must come out the same.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let eve = replay(
        d,
        &["exchange/chain-proxylogon-testanull-keepalive.pcap"],
        &["ours.json"],
    );
    let suricata: String = read(&eve)
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            for k in [
                "direction",
                "flow",
                "metadata",
                "pcap_filename",
                "payload",
                "payload_printable",
            ] {
                o.remove(k);
            }
            format!("{v}\n")
        })
        .collect();
    let s_eve = d.join("suricata.json");
    std::fs::write(&s_eve, suricata).unwrap();
    report(d, &s_eve, &["theirs.json"]);
    let (ours, theirs) = (json(&d.join("ours.json")), json(&d.join("theirs.json")));
    let c = |r: &Value| {
        (
            stages(&r["chains"][0]),
            r["chains"][0]["client_ip"].clone(),
            r["shells"][0]["answered"].clone(),
        )
    };
    assert_eq!(c(&ours), c(&theirs));
}

/// Runs headless Chromium on `page`: its standard error (console messages logged there) and
/// the DOM it built.
fn chromium(page: &Path, extra: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stderr).into_owned(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn console_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains("CONSOLE")).collect()
}

#[test]
fn the_page_renders_in_headless_chromium() {
    if !prereq::require_tool(
        "chromium",
        "apt-get install chromium; scripts/install-deps.sh installs it",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    replay(d, &["exchange"], &["r.html"]);
    let page = d.join("r.html");
    let html = read(&page);
    // Self-contained: nothing to fetch, no script.
    for bad in [
        "<script",
        "<link",
        "<img",
        "<iframe",
        "src=\"",
        "href=\"http",
        "@import",
    ] {
        assert!(!html.contains(bad), "the page holds {bad}");
    }
    let shot = d.join("report.png");
    let (stderr, _) = chromium(
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000",
        ],
    );
    assert!(
        console_lines(&stderr).is_empty(),
        "console: {:#?}",
        console_lines(&stderr)
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        png.len() > 20_000,
        "screenshot of {} bytes: blank?",
        png.len()
    );
    // Keep it where a human can look at it.
    let keep = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    let _ = std::fs::copy(&shot, &keep);
    eprintln!("screenshot: {}", keep.display());
    let (stderr, dom) = chromium(&page, &["--dump-dom"]);
    assert!(console_lines(&stderr).is_empty(), "{stderr}");
    assert!(
        dom.contains("<svg id=\"timeline\"") && dom.contains("id=\"chain-1\""),
        "{dom}"
    );

    // Printed: a PDF of the summary page and a page per chain (`@media print`).
    let one = d.join("one");
    std::fs::create_dir_all(&one).unwrap();
    replay(
        &one,
        &["exchange/chain-proxylogon-testanull-keepalive.pcap"],
        &["r.html"],
    );
    let pdf = one.join("r.pdf");
    let (stderr, _) = chromium(
        &one.join("r.html"),
        &[
            "--no-pdf-header-footer",
            &format!("--print-to-pdf={}", pdf.display()),
        ],
    );
    assert!(console_lines(&stderr).is_empty(), "{stderr}");
    let pdf = std::fs::read(&pdf).expect("PDF written");
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    let pages = regex::bytes::Regex::new(r"/Count ([0-9]+)")
        .unwrap()
        .captures_iter(&pdf)
        .filter_map(|c| std::str::from_utf8(&c[1]).ok()?.parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    assert!(pages >= 2, "{pages} pages printed");

    // The hostile strings stay text in the browser too: no element, no console message.
    let eve = d.join("hostile.json");
    std::fs::write(&eve, hostile_eve()).unwrap();
    report(d, &eve, &["hostile.html"]);
    let (stderr, dom) = chromium(&d.join("hostile.html"), &["--dump-dom"]);
    assert!(
        console_lines(&stderr).is_empty(),
        "{:#?}",
        console_lines(&stderr)
    );
    assert!(!dom.contains("<script") && !dom.contains("<img"), "{dom}");
    // And the check can fail: a page with a script that logs is caught.
    let bad = d.join("bad.html");
    std::fs::write(
        &bad,
        "<!DOCTYPE html><script>console.error('seen')</script>",
    )
    .unwrap();
    let (stderr, _) = chromium(&bad, &["--dump-dom"]);
    assert_eq!(console_lines(&stderr).len(), 1, "{stderr}");
}
