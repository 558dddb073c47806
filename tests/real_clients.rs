//! The bundled signatures against captures of real clients (`pcaps/real-clients/`, recorded
//! by `scripts/capture-clients.sh`): curl, Python requests, socat, openssl s_client and
//! headless Chromium attacking — or using — a fake Exchange front end
//! (`scripts/fake-exchange.py`) through a veth pair between two network namespaces. The
//! captures of `pcaps/exchange/` are built from the same tables as the signatures; these are
//! bytes a real client wrote, so each family is proven on them.
//!
//! For each capture `exhound replay FILE` (bundled signatures) must exit 0 and fire exactly
//! the sids of [`CAPTURES`] (none on the benign ones), every alert must be about the client's
//! flow, every request must have its answer (the capture is whole), and the requests must be
//! the client's own (its User-Agent). Where exhound does not do what it should today, the
//! table states what SHOULD fire and the capture's test is `#[ignore]`d with the reason.
//! Replaying the committed captures needs no root; only recording them does.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use support::run::{pcap, pcaps_dir, replay, str_of};

/// The directory of the captures, inside `pcaps/`.
const DIR: &str = "real-clients";
/// The fake Exchange front end.
const SERVER: &str = "198.51.100.20";
/// Where the attacks come from.
const ATTACKER: &str = "203.0.113.10";
/// Where the benign clients come from.
const USER: &str = "192.0.2.100";

/// One capture and what exhound must report for it.
struct Capture {
    /// File name in `pcaps/real-clients/`.
    file: &'static str,
    /// The client's address.
    client: &'static str,
    /// Text every request's User-Agent contains but one (`also`): the client that wrote it.
    user_agent: &'static str,
    /// A second User-Agent some requests carry (curl -A), if any.
    also: Option<&'static str>,
    /// HTTP transactions in the capture.
    transactions: usize,
    /// The sids that must fire, exactly.
    sids: &'static [u32],
}

const CURL: &str = "curl/7.88.1";
const REQUESTS: &str = "python-requests/";
const CHROMIUM: &str = "HeadlessChrome/";
const SOCAT: &str = "socat";

/// Every capture of `pcaps/real-clients/`, with the sids that must fire on it.
const CAPTURES: &[Capture] = &[
    // --- curl ---------------------------------------------------------------------------
    Capture {
        // The ProxyLogon chain on one keep-alive connection (probe, Autodiscover, MAPI,
        // proxyLogon.ecp 241, GetObject, SetObject, ResetOAB), the shell, the nmap probe
        // and EWS mail theft.
        file: "curl-proxylogon.pcap",
        client: ATTACKER,
        user_agent: CURL,
        also: None,
        transactions: 10,
        sids: &[
            4210001, 4210002, 4210003, 4210004, 4210005, 4210006, 4210007, 4210008, 4210009,
            4210050, 4210051, 4210052, 4210053, 4210101, 4210103, 4210104, 4210602, 4210611,
            4210651,
        ],
    },
    Capture {
        // Orange's NSPI check, the Email-cookie form to NSPI, EWS, PowerShell with X-Rps-CAT
        // (ResourceCreated), nuclei's OWA probe (OwaADUserNotFoundException).
        file: "curl-proxyshell.pcap",
        client: ATTACKER,
        user_agent: CURL,
        also: None,
        transactions: 5,
        sids: &[
            4210201, 4210202, 4210203, 4210204, 4210205, 4210209, 4210250, 4210251, 4210252,
            4210254,
        ],
    },
    Capture {
        // ZDI's form with Basic credentials; testanull's form with a real NTLM handshake
        // (curl --ntlm): Type 1 (401), Type 3 with the Create shell (ResourceCreated), then
        // the CVE-2022-41082 gadget on the same, now authenticated, connection.
        file: "curl-proxynotshell.pcap",
        client: ATTACKER,
        user_agent: CURL,
        also: None,
        transactions: 4,
        sids: &[4210302, 4210303, 4210306, 4210307, 4210351, 4210352],
    },
    Capture {
        // /owa/mastermailbox%40outlook.com/powershell with X-OWA-ExplicitLogonUser: Create
        // shell (ResourceCreated), then the gadget.
        file: "curl-owassrf.pcap",
        client: ATTACKER,
        user_agent: CURL,
        also: None,
        transactions: 2,
        sids: &[4210303, 4210304, 4210305, 4210350],
    },
    Capture {
        // SecurityToken=x: HomePage.aspx issues the canary, InboxRules.svc/Newobject.
        file: "curl-proxytoken.pcap",
        client: ATTACKER,
        user_agent: CURL,
        also: None,
        transactions: 2,
        sids: &[4210401, 4210402, 4210450, 4210451],
    },
    Capture {
        // China Chopper (form-encoded by curl) and AntSword to /aspnet_client/ shells.
        file: "curl-webshell.pcap",
        client: ATTACKER,
        user_agent: CURL,
        also: Some("antSword/v2.1"),
        transactions: 2,
        sids: &[4210601, 4210604, 4210605, 4210610, 4210650],
    },
    Capture {
        // OWA logon (302, logon page, POST auth.owa, mailbox, a static resource), EWS with
        // NTLM, ActiveSync OPTIONS, Autodiscover v2 JSON and XML (LegacyDN in the answer).
        file: "curl-benign.pcap",
        client: USER,
        user_agent: CURL,
        also: Some("Apple-iPhone13C2/1905.258"),
        transactions: 10,
        sids: &[],
    },
    // --- Python requests ----------------------------------------------------------------
    Capture {
        // dmaasland-style ProxyLogon chain through to the shell, malformed X-ClientInfo.
        file: "requests-proxylogon.pcap",
        client: ATTACKER,
        user_agent: REQUESTS,
        also: None,
        transactions: 8,
        sids: &[
            4210001, 4210003, 4210004, 4210005, 4210006, 4210007, 4210008, 4210011, 4210050,
            4210051, 4210052, 4210053, 4210101, 4210103, 4210104, 4210602, 4210611, 4210651,
            4210802,
        ],
    },
    Capture {
        // dmaasland/horizon3 ProxyShell: NSPI, Autodiscover, PowerShell with X-Rps-CAT.
        file: "requests-proxyshell.pcap",
        client: ATTACKER,
        user_agent: REQUESTS,
        also: None,
        transactions: 3,
        sids: &[
            4210202, 4210203, 4210204, 4210209, 4210250, 4210251, 4210254,
        ],
    },
    Capture {
        // ZDI's ProxyNotShell form with Basic credentials.
        file: "requests-proxynotshell.pcap",
        client: ATTACKER,
        user_agent: REQUESTS,
        also: None,
        transactions: 1,
        sids: &[4210302, 4210306, 4210352],
    },
    Capture {
        file: "requests-owassrf.pcap",
        client: ATTACKER,
        user_agent: REQUESTS,
        also: None,
        transactions: 1,
        sids: &[4210304, 4210305, 4210350],
    },
    Capture {
        file: "requests-proxytoken.pcap",
        client: ATTACKER,
        user_agent: REQUESTS,
        also: None,
        transactions: 2,
        sids: &[4210401, 4210402, 4210450, 4210451, 4210802],
    },
    Capture {
        file: "requests-webshell.pcap",
        client: ATTACKER,
        user_agent: REQUESTS,
        also: None,
        transactions: 1,
        sids: &[4210601, 4210604, 4210605, 4210650],
    },
    Capture {
        // OWA logon and mailbox, EWS FindItem with Basic.
        file: "requests-benign.pcap",
        client: USER,
        user_agent: REQUESTS,
        also: None,
        transactions: 5,
        sids: &[],
    },
    // --- socat: bytes as written ----------------------------------------------------------
    Capture {
        // Pipelined: \ecp\y.js with a tab and a lower-case cookie name; /%65cp/%u0079%2Ejs
        // with the SSRF cookie on a second Cookie line (MAPI: a cookie to ASP.NET only if
        // HTTP.sys joins the lines with "; ", so 4210013 rather than 4210001 and 4210004);
        // SetObject with a chunked body whose chunks split "<script" and "runat".
        file: "socat-proxylogon-evasions.pcap",
        client: ATTACKER,
        user_agent: SOCAT,
        also: None,
        transactions: 3,
        sids: &[4210001, 4210008, 4210013, 4210050, 4210052, 4210101],
    },
    Capture {
        // Pipelined: the %-encoded ProxyShell NSPI check (no credentials), then the
        // %-encoded ProxyNotShell request with Basic credentials.
        file: "socat-proxyshell-encoded.pcap",
        client: ATTACKER,
        user_agent: SOCAT,
        also: None,
        transactions: 2,
        sids: &[
            4210201, 4210204, 4210250, 4210254, 4210302, 4210306, 4210352,
        ],
    },
    // --- openssl s_client: TLS ----------------------------------------------------------
    Capture {
        // The ProxyLogon probe inside TLS on :443, replayed without its key log: the
        // handshake only, no HTTP, no alert. With the key log beside it, tests/tls_decrypt.rs
        // and tests/live.rs decrypt it to the request and its alerts.
        file: "openssl-proxylogon-tls.pcap",
        client: ATTACKER,
        user_agent: "",
        also: None,
        transactions: 0,
        sids: &[],
    },
    // --- headless Chromium --------------------------------------------------------------
    Capture {
        // ProxyOracle: the browser opens the frowny.aspx refurl XSS link; the injected script
        // plants the X-AnonResource cookies and fetches /owa/auth/any.skin, which the front
        // end proxies to the attacker's host (500 with X-CalculatedBETarget).
        file: "chromium-proxyoracle.pcap",
        client: USER,
        user_agent: CHROMIUM,
        also: None,
        transactions: 2,
        sids: &[4210002, 4210050, 4210501],
    },
    Capture {
        // A browser opening OWA: 302 to the logon page.
        file: "chromium-benign.pcap",
        client: USER,
        user_agent: CHROMIUM,
        also: None,
        transactions: 2,
        sids: &[],
    },
];

fn capture(file: &str) -> &'static Capture {
    CAPTURES
        .iter()
        .find(|c| c.file == file)
        .unwrap_or_else(|| panic!("{file} is not in CAPTURES"))
}

fn sid_list(sids: &BTreeSet<u32>) -> String {
    if sids.is_empty() {
        return "none".into();
    }
    sids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Replays one capture and checks everything [`Capture`] states.
fn check(file: &str) {
    let cap = capture(file);
    let path = pcap(&format!("{DIR}/{}", cap.file));
    let run = replay(&[&path]);
    run.assert_status(0);
    let mut problems = Vec::new();

    let expected: BTreeSet<u32> = cap.sids.iter().copied().collect();
    let got: BTreeSet<u32> = run
        .alerts()
        .iter()
        .map(|a| a["alert"]["signature_id"].as_u64().unwrap_or(0) as u32)
        .collect();
    if got != expected {
        problems.push(format!(
            "sids: expected {}, got {}\n    missing: {}\n    unexpected: {}",
            sid_list(&expected),
            sid_list(&got),
            sid_list(&expected.difference(&got).copied().collect()),
            sid_list(&got.difference(&expected).copied().collect()),
        ));
    }
    for a in run.alerts() {
        // The flow's src is always the client, whichever direction matched.
        let flow = (str_of(&a["flow"]["src_ip"]), str_of(&a["flow"]["dest_ip"]));
        if flow != (cap.client.to_string(), SERVER.to_string()) {
            problems.push(format!(
                "sid {}: flow {} -> {}, the client is {} and the server {SERVER}",
                a["alert"]["signature_id"], flow.0, flow.1, cap.client
            ));
        }
    }

    let http = run.http();
    if http.len() != cap.transactions {
        problems.push(format!(
            "{} HTTP transactions, expected {}: {:?}",
            http.len(),
            cap.transactions,
            run.requests()
        ));
    }
    for r in &http {
        let what = format!("{} {}", str_of(&r["http"]["http_method"]), r["http"]["url"]);
        if !r["http"]["status"].is_u64() {
            problems.push(format!("{what}: no answer in the capture"));
        }
        if str_of(&r["src_ip"]) != cap.client || str_of(&r["dest_ip"]) != SERVER {
            problems.push(format!(
                "{what}: from {} to {}, expected {} to {SERVER}",
                r["src_ip"], r["dest_ip"], cap.client
            ));
        }
        let ua = str_of(&r["http"]["http_user_agent"]);
        if !ua.contains(cap.user_agent) && Some(ua.as_str()) != cap.also {
            problems.push(format!(
                "{what}: User-Agent {ua:?}, not the client's ({:?})",
                cap.user_agent
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{}: {}\nalerts: {:#?}",
        cap.file,
        problems.join("\n"),
        run.alerts()
            .iter()
            .map(|a| format!(
                "tx {} {} {}",
                a["tx_id"], a["alert"]["signature_id"], a["alert"]["signature"]
            ))
            .collect::<Vec<_>>()
    );
}

/// One test per capture, so that one can be `#[ignore]`d with its reason.
macro_rules! captures {
    ($($(#[$attr:meta])* $name:ident => $file:literal;)*) => {
        $(
            $(#[$attr])*
            #[test]
            fn $name() {
                check($file);
            }
        )*
        /// The files the tests above cover.
        const TESTED: &[&str] = &[$($file),*];
    };
}

captures! {
    curl_proxylogon => "curl-proxylogon.pcap";
    curl_proxyshell => "curl-proxyshell.pcap";
    curl_proxynotshell => "curl-proxynotshell.pcap";
    curl_owassrf => "curl-owassrf.pcap";
    curl_proxytoken => "curl-proxytoken.pcap";
    curl_webshell => "curl-webshell.pcap";
    curl_benign => "curl-benign.pcap";
    requests_proxylogon => "requests-proxylogon.pcap";
    requests_proxyshell => "requests-proxyshell.pcap";
    requests_proxynotshell => "requests-proxynotshell.pcap";
    requests_owassrf => "requests-owassrf.pcap";
    requests_proxytoken => "requests-proxytoken.pcap";
    requests_webshell => "requests-webshell.pcap";
    requests_benign => "requests-benign.pcap";
    socat_proxylogon_evasions => "socat-proxylogon-evasions.pcap";
    socat_proxyshell_encoded => "socat-proxyshell-encoded.pcap";
    openssl_proxylogon_tls => "openssl-proxylogon-tls.pcap";
    chromium_proxyoracle => "chromium-proxyoracle.pcap";
    chromium_benign => "chromium-benign.pcap";
}

#[test]
fn every_capture_is_in_the_table_tested_and_documented() {
    let dir = pcaps_dir().join(DIR);
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    on_disk.sort();
    let mut table: Vec<String> = CAPTURES.iter().map(|c| c.file.to_string()).collect();
    table.sort();
    assert_eq!(on_disk, table, "pcaps/{DIR}/ and CAPTURES differ");
    let mut tested: Vec<String> = TESTED.iter().map(|f| f.to_string()).collect();
    tested.sort();
    assert_eq!(tested, table, "a capture of CAPTURES has no test");
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps/README.md"))
            .expect("pcaps/README.md");
    for c in CAPTURES {
        assert!(
            readme.contains(&format!("| {DIR}/{} |", c.file)),
            "pcaps/README.md has no line for {DIR}/{}",
            c.file
        );
    }
}

#[test]
fn every_family_is_proven_by_two_clients_and_benign_traffic_by_three() {
    // The point of these captures: each family fires on bytes more than one real client wrote.
    let families: &[(&str, &[u32])] = &[
        ("ProxyLogon", &[4210001]),
        ("ProxyShell", &[4210201, 4210202]),
        ("ProxyNotShell", &[4210302]),
        ("OWASSRF", &[4210304]),
        ("ProxyToken", &[4210401]),
        ("web shells", &[4210601]),
    ];
    for (family, sids) in families {
        let clients: BTreeSet<&str> = CAPTURES
            .iter()
            .filter(|c| c.sids.iter().any(|s| sids.contains(s)))
            .map(|c| c.file.split('-').next().unwrap_or(""))
            .collect();
        assert!(clients.len() >= 2, "{family}: only {clients:?}");
    }
    let benign: BTreeSet<&str> = CAPTURES
        .iter()
        .filter(|c| c.client == USER && c.sids.is_empty())
        .map(|c| c.file.split('-').next().unwrap_or(""))
        .collect();
    assert!(benign.len() >= 3, "benign clients: {benign:?}");
}
