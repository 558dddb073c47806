//! The bundled signatures against the Exchange captures of `pcaps/exchange/` (one per scenario
//! of `tests/support/exchange_scenarios.rs`, written by `examples/gen_pcaps.rs`).
//!
//! `exhound replay FILE`, with no flag, must fire exactly the scenario's `expect_sids` on an
//! attack and nothing at all on benign traffic and near misses; every alert must name the
//! client (the attacker) and carry the CVEs its rule's metadata lists, and the CVEs of all the
//! alerts together must be exactly the scenario's `expect_cves` (equality, not inclusion: a
//! label the traffic is not evidence of fails as surely as a missing one). The overlap captures
//! must read as harmless decoys under the naive `first` and `last` policies, and the
//! committed captures must be what the generator writes today.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use support::exchange_pcaps::{self, ExchangeCapture, DECOY_URL_PREFIX};
use support::exchange_scenarios::{Kind, Transport};
use support::run::{pcap, replay, replay_alerts, str_of};

/// `cve` metadata values of every bundled rule, by sid.
fn rule_cves() -> BTreeMap<u32, BTreeSet<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("signatures");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rules"))
        .collect();
    files.sort();
    let mut out = BTreeMap::new();
    for f in files {
        for line in std::fs::read_to_string(&f).unwrap().lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let sid: u32 = option_value(line, "sid")
                .unwrap_or_else(|| panic!("{}: rule without sid: {line}", f.display()))
                .parse()
                .unwrap();
            let cves: BTreeSet<String> = option_value(line, "metadata")
                .unwrap_or_default()
                .split(',')
                .filter_map(|kv| kv.trim().strip_prefix("cve "))
                .map(|v| v.trim().to_string())
                .collect();
            assert!(
                out.insert(sid, cves).is_none(),
                "sid {sid} twice in signatures/"
            );
        }
    }
    out
}

/// The value of rule option `name` (`name:value;`, value without `;`), if present.
fn option_value(rule: &str, name: &str) -> Option<String> {
    let pat = format!(" {name}:");
    let alt = format!(";{name}:");
    let at = rule
        .find(&pat)
        .or_else(|| rule.find(&alt))
        .map(|i| i + pat.len())?;
    let rest = &rule[at..];
    Some(rest[..rest.find(';')?].trim().to_string())
}

fn sid_list(sids: &BTreeSet<u32>) -> String {
    if sids.is_empty() {
        "-".to_string()
    } else {
        sids.iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn cve_list(cves: &BTreeSet<String>) -> String {
    if cves.is_empty() {
        "no CVE".to_string()
    } else {
        cves.iter().cloned().collect::<Vec<_>>().join(" ")
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Attack => "attack",
        Kind::Benign => "benign",
        Kind::NearMiss => "near miss",
    }
}

/// What went wrong with one capture.
struct Outcome {
    name: String,
    kind: Kind,
    transport: Transport,
    expected: BTreeSet<u32>,
    got: BTreeSet<u32>,
    expected_cves: BTreeSet<String>,
    got_cves: BTreeSet<String>,
    problems: Vec<String>,
}

/// Replays one capture with the bundled signatures and checks every alert.
fn check(cap: &ExchangeCapture, cves: &BTreeMap<u32, BTreeSet<String>>) -> Outcome {
    let s = &cap.scenario;
    let run = replay_alerts(&[pcap(&cap.file)]);
    let mut problems = Vec::new();
    if run.status != Some(0) {
        problems.push(format!(
            "exit status {:?}, stderr: {}",
            run.status,
            run.stderr.trim()
        ));
    }
    if let Some(other) = run
        .records
        .iter()
        .find(|r| r["event_type"] != "alert" && r["event_type"] != "stats")
    {
        problems.push(format!(
            "record other than alert without --log-http: {other}"
        ));
    }
    let client = (cap.client.ip().to_string(), u64::from(cap.client.port()));
    let server = (cap.server.ip().to_string(), u64::from(cap.server.port()));
    let mut got = BTreeSet::new();
    let mut got_cves = BTreeSet::new();
    for a in run.alerts() {
        let sid = a["alert"]["signature_id"].as_u64().unwrap_or(0) as u32;
        got.insert(sid);
        // src/dest follow the direction of the matched data, as in Suricata: a request
        // alert comes from the client, a response alert goes to it. The flow object always
        // names the client as src.
        let endpoint = |ip: &str, port: &str| (str_of(&a[ip]), a[port].as_u64().unwrap_or(0));
        let (from, to) = match a["direction"].as_str() {
            Some("to_server") => (&client, &server),
            Some("to_client") => (&server, &client),
            other => {
                problems.push(format!("sid {sid}: direction {other:?}"));
                continue;
            }
        };
        if endpoint("src_ip", "src_port") != *from || endpoint("dest_ip", "dest_port") != *to {
            problems.push(format!(
                "sid {sid} ({}): src {}:{} dest {}:{}, client is {}:{}",
                a["direction"],
                a["src_ip"],
                a["src_port"],
                a["dest_ip"],
                a["dest_port"],
                client.0,
                client.1
            ));
        }
        if str_of(&a["flow"]["src_ip"]) != client.0 {
            problems.push(format!(
                "sid {sid}: flow.src_ip {} is not the client {}",
                a["flow"]["src_ip"], client.0
            ));
        }
        match cves.get(&sid) {
            None => problems.push(format!("sid {sid} is not a bundled rule")),
            Some(want) => {
                let have: BTreeSet<String> = a["alert"]["metadata"]["cve"]
                    .as_array()
                    .map(|v| v.iter().map(str_of).collect())
                    .unwrap_or_default();
                if &have != want {
                    problems.push(format!(
                        "sid {sid}: metadata cve {have:?}, the rule says {want:?}"
                    ));
                }
                got_cves.extend(have);
            }
        }
    }
    let expected_cves: BTreeSet<String> = s.expect_cves.iter().map(|c| c.to_string()).collect();
    if got_cves != expected_cves {
        problems.push(format!(
            "the alerts name {}, the scenario states {}",
            cve_list(&got_cves),
            cve_list(&expected_cves)
        ));
    }
    Outcome {
        name: s.name.to_string(),
        kind: s.kind,
        transport: s.transport,
        expected: s.expect_sids.iter().copied().collect(),
        got,
        expected_cves,
        got_cves,
        problems,
    }
}

#[test]
fn every_scenario_fires_exactly_its_signatures() {
    let caps = exchange_pcaps::all();
    assert!(caps.len() >= 90, "only {} scenarios", caps.len());
    let cves = rule_cves();
    // Two workers: a replay is a process start and a rule load, the machine has few cores.
    let mut outcomes: Vec<Outcome> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|w| {
                let (caps, cves) = (&caps, &cves);
                scope.spawn(move || {
                    caps.iter()
                        .skip(w)
                        .step_by(2)
                        .map(|c| check(c, cves))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let order: BTreeMap<&str, usize> = caps
        .iter()
        .enumerate()
        .map(|(i, c)| (c.scenario.name, i))
        .collect();
    outcomes.sort_by_key(|o| order[o.name.as_str()]);

    let bad: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.expected != o.got || o.expected_cves != o.got_cves || !o.problems.is_empty())
        .collect();
    if bad.is_empty() {
        return;
    }
    let w = bad.iter().map(|o| o.name.len()).max().unwrap_or(8).max(8);
    let mut table = format!(
        "{} of {} Exchange captures fire the wrong signatures or labels\n\n{:w$}  {:9}  {:14}  {:30}  {:30}  {}\n",
        bad.len(),
        outcomes.len(),
        "scenario",
        "kind",
        "transport",
        "missing",
        "unexpected",
        "expected -> got"
    );
    for o in &bad {
        let missing: BTreeSet<u32> = o.expected.difference(&o.got).copied().collect();
        let extra: BTreeSet<u32> = o.got.difference(&o.expected).copied().collect();
        let _ = writeln!(
            table,
            "{:w$}  {:9}  {:14}  {:30}  {:30}  [{}] -> [{}]",
            o.name,
            kind_name(o.kind),
            exchange_pcaps::transport_name(o.transport),
            sid_list(&missing),
            sid_list(&extra),
            sid_list(&o.expected),
            sid_list(&o.got)
        );
        for p in &o.problems {
            let _ = writeln!(table, "{:w$}    ! {p}", "");
        }
    }
    panic!("{table}");
}

#[test]
fn overlap_captures_read_as_decoys_under_naive_policies() {
    // exhound's default (windows) reads the true request, the test above checks that; `first`
    // and `last` must read the harmless decoy, or the capture does not test what it claims.
    let caps: Vec<ExchangeCapture> = exchange_pcaps::all()
        .into_iter()
        .filter(|c| c.scenario.transport == Transport::Overlap)
        .collect();
    assert!(!caps.is_empty(), "no Overlap scenario");
    for cap in &caps {
        for (policy, reads_true) in [
            ("first", false),
            ("last", false),
            ("linux", true),
            ("windows", true),
        ] {
            let file = pcap(&cap.file).display().to_string();
            let run = replay(&["--stream-policy", policy, &file]);
            run.assert_status(0);
            let urls: Vec<String> = run.requests().into_iter().map(|(_, u)| u).collect();
            assert_eq!(
                urls.len(),
                cap.scenario.exchanges.len(),
                "{} under {policy}: {urls:?}",
                cap.file
            );
            let decoys = urls
                .iter()
                .filter(|u| u.starts_with(DECOY_URL_PREFIX))
                .count();
            let request_alerts: Vec<&Value> = run
                .alerts()
                .into_iter()
                .filter(|a| a["direction"] == "to_server")
                .collect();
            if reads_true {
                assert_eq!(decoys, 0, "{} under {policy}: {urls:?}", cap.file);
            } else {
                assert_eq!(decoys, urls.len(), "{} under {policy}: {urls:?}", cap.file);
                assert!(
                    request_alerts.is_empty(),
                    "{} under {policy}: the decoy fired {request_alerts:?}",
                    cap.file
                );
            }
        }
    }
}

#[test]
fn scenarios_are_well_formed() {
    let cves = rule_cves();
    let caps = exchange_pcaps::all();
    let mut names = BTreeSet::new();
    let mut clients = BTreeSet::new();
    let mut transports = BTreeSet::new();
    for c in &caps {
        let s = &c.scenario;
        assert!(names.insert(s.name), "scenario name {} twice", s.name);
        assert!(clients.insert(c.client.ip()), "client {} twice", c.client);
        transports.insert(exchange_pcaps::transport_name(s.transport));
        match s.kind {
            Kind::Attack => {
                assert!(!s.expect_sids.is_empty(), "{}: attack without sids", s.name);
                assert!(c.client.ip().to_string().starts_with("203.0.113."));
            }
            Kind::Benign | Kind::NearMiss => {
                assert!(s.expect_sids.is_empty(), "{}: expects alerts", s.name);
                assert!(c.client.ip().to_string().starts_with("192.0.2."));
            }
        }
        for sid in &s.expect_sids {
            assert!(
                cves.contains_key(sid),
                "{}: sid {sid} is not a bundled rule",
                s.name
            );
        }
        // The labels stated by hand agree with the rules' metadata before any replay.
        let stated: BTreeSet<String> = s.expect_cves.iter().map(|c| c.to_string()).collect();
        let of_rules: BTreeSet<String> = s
            .expect_sids
            .iter()
            .filter_map(|sid| cves.get(sid))
            .flatten()
            .cloned()
            .collect();
        assert_eq!(
            stated, of_rules,
            "{}: the stated CVEs are not those of the expected sids' rules",
            s.name
        );
        assert!(!s.exchanges.is_empty(), "{}: no exchanges", s.name);
    }
    assert_eq!(
        transports.len(),
        6,
        "every transport is used: {transports:?}"
    );
    assert!(
        names.contains("chain-proxylogon-testanull-keepalive"),
        "the demo scenario"
    );
    assert_eq!(
        exchange_pcaps::DEMO,
        "exchange/chain-proxylogon-testanull-keepalive.pcap"
    );
}

#[test]
fn no_rule_names_two_ssrf_routes() {
    // ProxyLogon's cookie SSRF, ProxyShell's unauthenticated Autodiscover SSRF, ProxyNotShell's
    // authenticated one and OWASSRF's /owa/<mailbox>/powershell are four vulnerabilities; a rule
    // whose match cannot tell them apart names none of them (signatures/README.md, "How labels
    // are chosen"), so no rule may name two.
    const ROUTES: [&str; 4] = [
        "CVE-2021-26855",
        "CVE-2021-34473",
        "CVE-2022-41040",
        "CVE-2022-41080",
    ];
    for (sid, cves) in rule_cves() {
        let routes: Vec<&String> = cves
            .iter()
            .filter(|c| ROUTES.contains(&c.as_str()))
            .collect();
        assert!(routes.len() <= 1, "sid {sid} names {routes:?}");
    }
}

#[test]
fn committed_exchange_pcaps_match_the_generator() {
    // As `committed_pcaps_match_the_generator` in tests/replay.rs: a scenario changed
    // without regenerating would make the tests above check stale files.
    let readme = std::fs::read_to_string(pcap("README.md")).unwrap();
    for cap in exchange_pcaps::all() {
        let on_disk = std::fs::read(pcap(&cap.file))
            .unwrap_or_else(|e| panic!("{}: {e} (run `make pcaps`)", cap.file));
        assert!(
            on_disk == cap.bytes(),
            "pcaps/{} is stale: run `cargo run --example gen_pcaps`",
            cap.file
        );
        assert!(
            readme.lines().any(|l| l == cap.readme_row()),
            "pcaps/README.md has no current line for {}: run `cargo run --example gen_pcaps`",
            cap.file
        );
    }
}

#[test]
fn a_request_alerts_when_it_is_over_not_when_its_answer_comes() {
    use support::conv::Conv;
    use support::frame::Link;
    use support::pcap::{self as pcapfile, Format, LinkType};
    use support::scenarios::{get, ok, BASE_NS, STEP_NS};
    // Connection A sends the ProxyLogon request; its answer comes only after connection B,
    // a whole benign exchange, is over. The attack must be reported before B's record.
    let scenario = support::exchange_scenarios::scenarios()
        .into_iter()
        .find(|s| s.name == "pl-proxylogon-testanull")
        .expect("scenario");
    let exchange = &scenario.exchanges[0];
    let mut a = Conv::new("203.0.113.250:50001", "198.51.100.20:443");
    a.handshake();
    a.client(&exchange.request);
    let answered_from = a.segs.len();
    a.server(exchange.response.as_ref().expect("answered"));
    a.close();
    let mut b = Conv::new("192.0.2.250:50002", "198.51.100.20:443");
    b.handshake();
    b.client(&get("/owa/"));
    b.server(&ok(b"inbox"));
    b.close();
    let fa = a.frames(Link::Ethernet);
    assert_eq!(fa.len(), a.segs.len(), "one frame per segment");
    let mut frames = fa[..answered_from].to_vec();
    frames.extend(b.frames(Link::Ethernet));
    frames.extend_from_slice(&fa[answered_from..]);
    let bytes = pcapfile::write(
        Format::PCAP,
        LinkType::Ethernet,
        &pcapfile::timed(frames, BASE_NS, STEP_NS),
    );
    let r = support::run::replay_with_stdin(&["-"], Some(&bytes));
    r.assert_status(0);
    let at = |pred: &dyn Fn(&Value) -> bool| {
        r.records
            .iter()
            .position(pred)
            .unwrap_or_else(|| panic!("record missing in {:#?}", r.records))
    };
    let request_alert =
        at(&|v| v["event_type"] == "alert" && v["alert"]["signature_id"] == 4210001);
    let benign_http = at(&|v| v["event_type"] == "http" && v["src_ip"] == "192.0.2.250");
    let success_alert =
        at(&|v| v["event_type"] == "alert" && v["alert"]["signature_id"] == 4210050);
    assert!(
        request_alert < benign_http && benign_http < success_alert,
        "request alert at {request_alert}, B's record at {benign_http}, success at {success_alert}"
    );
    let alert = &r.records[request_alert];
    assert!(alert["pcap_cnt"]
        .as_u64()
        .is_some_and(|n| n <= answered_from as u64));
    // Reported before the answer: the alert's http object has no status yet.
    assert!(alert["http"].get("status").is_none(), "{alert}");
}

#[test]
fn answers_no_rule_may_inspect_keep_what_a_payload_shows_and_the_others_all() {
    use support::conv::Conv;
    use support::frame::Link;
    use support::pcap::{self as pcapfile, Format, LinkType};
    use support::scenarios::{get, ok, response, BASE_NS, STEP_NS};
    // A success rule behind a flowbit the shell request sets, looking past the first 4 KiB of
    // the answer; a status rule on an answer whose body no rule may inspect.
    let rules = "\
alert http any any -> any any (msg:\"shell request\"; flow:to_server; http.uri; content:\"/aspnet_client/x.aspx\"; flowbits:set,t.shell; sid:9000001;)
alert http any any -> any any (msg:\"shell answered\"; flow:to_client; flowbits:isset,t.shell; file.data; content:\"SHELL-RAN\"; sid:9000002;)
alert http any any -> any any (msg:\"odd status\"; flow:to_client; http.stat_code; content:\"299\"; sid:9000003;)
";
    let dir = tempfile::tempdir().expect("tempdir");
    let rule_file = dir.path().join("t.rules");
    std::fs::write(&rule_file, rules).expect("write rules");
    let mut body = vec![b'.'; 10_000];
    body[8000..8009].copy_from_slice(b"SHELL-RAN");
    let mut frames = Vec::new();
    for (i, (url, answer)) in [
        ("/aspnet_client/x.aspx", ok(&body)),
        ("/owa/", ok(&body)),
        ("/owa/", response(299, "Odd", &[], &body)),
    ]
    .into_iter()
    .enumerate()
    {
        let mut c = Conv::new(&format!("203.0.113.9:5100{i}"), "198.51.100.20:80");
        c.handshake();
        c.client(&get(url));
        c.server(&answer);
        c.close();
        frames.extend(c.frames(Link::Ethernet));
    }
    let bytes = pcapfile::write(
        Format::PCAP,
        LinkType::Ethernet,
        &pcapfile::timed(frames, BASE_NS, STEP_NS),
    );
    let rule_arg = rule_file.to_string_lossy().into_owned();
    let r = support::run::replay_with_stdin(&["--payload", "-S", &rule_arg, "-"], Some(&bytes));
    r.assert_status(0);
    let fired: Vec<(u64, u64)> = r
        .alerts()
        .iter()
        .map(|a| {
            let n = |v: &Value| v.as_u64().unwrap_or(0);
            (n(&a["alert"]["signature_id"]), n(&a["src_port"]))
        })
        .collect();
    // The marker 8,000 bytes in is found on the shell's answer only.
    assert_eq!(
        fired,
        [(9000001, 51000), (9000002, 80), (9000003, 80)],
        "{:#?}",
        r.alerts()
    );
    // Every answer is counted whole.
    for h in r.http() {
        assert_eq!(h["http"]["length"], 10_000, "{h}");
    }
    // The status alert shows the answer's head and its body's first bytes, up to 4 KiB.
    let odd = r.alerts()[2];
    let payload = odd["payload_printable"].as_str().expect("payload");
    assert_eq!(payload.len(), 4096, "{payload}");
    assert!(payload.starts_with("HTTP/1.1 299 Odd") && payload.ends_with("...."));
}
