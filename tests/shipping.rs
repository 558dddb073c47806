//! Shipping alerts (`--output syslog://…`, `syslog+tcp://`, `syslog+tls://`, `redis://`)
//! end to end, against real receivers started here: rsyslog (UDP, TCP, TLS through its
//! gtls driver, writing every message raw to a file) and redis-server (a list, a channel),
//! each on a free port of 127.0.0.1 with its own configuration and directory.
//!
//! - every record of a replay (the same lines as the EVE file) arrives, with the RFC 5424
//!   header and the octet-counted framing rsyslog expects;
//! - TLS checks the server's name: a wrong one fails clearly and the records are counted
//!   as dropped; a client certificate is presented when asked for;
//! - a dead receiver does not hold the replay up: it ends within the drain time, and every
//!   record is counted as dropped;
//! - receivers restarted in the middle of an `exhound live` run get every record (the
//!   sender reconnects with back-off; the `stats` records count the failures).
//!
//! These need rsyslogd (with rsyslog-gnutls), redis-server and openssl, and root for the
//! live test (`make test` installs the packages); they skip elsewhere, and fail under
//! `CI=true` when something is missing.

#[path = "support/prereq.rs"]
mod prereq;
#[allow(dead_code)]
#[path = "support/run.rs"]
mod run;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const CAPTURE: &str = "exchange/chain-proxylogon-testanull-keepalive.pcap";

/// A port of 127.0.0.1 free a moment ago (TCP and UDP).
fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind a TCP port")
            .port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Polls `f` every 50 ms until it is true or `secs` have passed.
fn wait_for(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

fn terminate(child: &mut Child) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let done = wait_for(10, || child.try_wait().is_ok_and(|s| s.is_some()));
    if !done {
        let _ = child.kill();
    }
    let _ = child.wait();
}

fn receivers_available(tools: &[(&str, &str)]) -> bool {
    tools
        .iter()
        .all(|(tool, hint)| prereq::require_tool(tool, hint))
}

/// rsyslog's TLS driver (rsyslog-gnutls) is installed.
fn gtls_available() -> bool {
    let found = [
        "/usr/lib/x86_64-linux-gnu/rsyslog",
        "/usr/lib/aarch64-linux-gnu/rsyslog",
        "/usr/lib/rsyslog",
    ]
    .iter()
    .any(|d| Path::new(d).join("lmnsd_gtls.so").exists());
    prereq::require(
        "rsyslog's TLS driver (Debian package rsyslog-gnutls; make deps installs it)",
        found,
    )
}

const RSYSLOG: (&str, &str) = ("rsyslogd", "Debian package rsyslog; make deps installs it");
const REDIS: (&str, &str) = (
    "redis-server",
    "Debian package redis-server; make deps installs it",
);
const OPENSSL: (&str, &str) = ("openssl", "Debian package openssl; make deps installs it");

/// How rsyslog listens.
#[derive(Clone)]
enum Listen {
    Udp,
    Tcp,
    /// TLS (gtls) with this CA and server certificate; `clients` asks for a client
    /// certificate signed by the CA.
    Tls {
        pki: Pki,
        clients: bool,
    },
}

/// An rsyslogd of its own, writing every message it receives (as received) to `out`.
struct Rsyslog {
    dir: PathBuf,
    port: u16,
    out: PathBuf,
    listen: Listen,
    child: Option<Child>,
}

impl Rsyslog {
    fn start(dir: &Path, listen: Listen) -> Rsyslog {
        let mut r = Rsyslog {
            dir: dir.to_path_buf(),
            port: free_port(),
            out: dir.join("received.log"),
            listen,
            child: None,
        };
        r.run();
        r
    }

    fn config(&self) -> String {
        let work = self.dir.join("work");
        std::fs::create_dir_all(&work).expect("rsyslog work dir");
        let mut c = format!(
            "global(workDirectory=\"{}\" maxMessageSize=\"256k\"",
            work.display()
        );
        if let Listen::Tls { pki, .. } = &self.listen {
            c += &format!(
                " defaultNetstreamDriver=\"gtls\" defaultNetstreamDriverCAFile=\"{}\" \
                 defaultNetstreamDriverCertFile=\"{}\" defaultNetstreamDriverKeyFile=\"{}\"",
                pki.ca.display(),
                pki.server_cert.display(),
                pki.server_key.display()
            );
        }
        c += ")\n";
        c += "template(name=\"raw\" type=\"string\" string=\"%rawmsg%\\n\")\n";
        c += &format!(
            "ruleset(name=\"in\") {{ action(type=\"omfile\" file=\"{}\" template=\"raw\") }}\n",
            self.out.display()
        );
        let port = self.port;
        match &self.listen {
            Listen::Udp => {
                c += "module(load=\"imudp\")\n";
                c += &format!(
                    "input(type=\"imudp\" address=\"127.0.0.1\" port=\"{port}\" ruleset=\"in\")\n"
                );
            }
            Listen::Tcp => {
                c += "module(load=\"imtcp\")\n";
                c += &format!(
                    "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\" ruleset=\"in\")\n"
                );
            }
            Listen::Tls { clients, .. } => {
                let auth = if *clients { "x509/certvalid" } else { "anon" };
                c += &format!(
                    "module(load=\"imtcp\" streamDriver.name=\"gtls\" streamDriver.mode=\"1\" \
                     streamDriver.authMode=\"{auth}\")\n"
                );
                c += &format!(
                    "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\" ruleset=\"in\")\n"
                );
            }
        }
        c
    }

    /// Starts rsyslogd (again, on the same port) and waits until it listens.
    fn run(&mut self) {
        let conf = self.dir.join("rsyslog.conf");
        std::fs::write(&conf, self.config()).expect("write rsyslog.conf");
        let child = Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(self.dir.join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start rsyslogd");
        self.child = Some(child);
        let port = self.port;
        let ready = match self.listen {
            // A probe message, until rsyslog has written it.
            Listen::Udp => {
                let sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
                let out = self.out.clone();
                wait_for(10, || {
                    let _ = sock.send_to(b"<14>1 - - probe - - - ready", ("127.0.0.1", port));
                    std::thread::sleep(Duration::from_millis(100));
                    std::fs::read_to_string(&out).is_ok_and(|t| t.contains(" probe "))
                })
            }
            _ => wait_for(10, || TcpStream::connect(("127.0.0.1", port)).is_ok()),
        };
        if !ready {
            let mut err = String::new();
            if let Some(mut c) = self.child.take() {
                let _ = c.kill();
                if let Some(mut e) = c.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                let _ = c.wait();
            }
            panic!(
                "rsyslogd did not listen on port {port}: {err}\nconfig:\n{}",
                self.config()
            );
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            terminate(&mut c);
        }
    }

    fn url(&self, scheme: &str, query: &str) -> String {
        format!("{scheme}://127.0.0.1:{}{query}", self.port)
    }

    /// The messages received (not the readiness probes).
    fn messages(&self) -> Vec<String> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.contains(" probe - - - ready"))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A redis-server of its own (persisting to its directory, so that a restart keeps the
/// lists).
struct Redis {
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Redis {
    fn start(dir: &Path) -> Redis {
        let mut r = Redis {
            dir: dir.to_path_buf(),
            port: free_port(),
            child: None,
        };
        r.run();
        r
    }

    fn run(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&self.dir)
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .args(["--daemonize", "no", "--protected-mode", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let port = self.port;
        assert!(
            wait_for(10, || command(port, &["PING"]).is_ok_and(|r| r == "+PONG")),
            "redis-server did not answer on port {port}"
        );
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            terminate(&mut c);
        }
    }

    fn url(&self, key_and_query: &str) -> String {
        format!("redis://127.0.0.1:{}/{key_and_query}", self.port)
    }

    /// The list `key`, oldest first.
    fn list(&self, key: &str) -> Vec<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis");
        s.write_all(&resp(&["LRANGE", key, "0", "-1"]))
            .expect("LRANGE");
        let mut r = BufReader::new(s);
        let n: usize = line(&mut r)
            .strip_prefix('*')
            .and_then(|n| n.parse().ok())
            .expect("an array");
        (0..n).map(|_| bulk(&mut r)).collect()
    }

    /// Subscribes to `channel`; the messages arrive on the returned thread's result.
    fn subscribe(&self, channel: &str) -> Subscriber {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis");
        s.write_all(&resp(&["SUBSCRIBE", channel]))
            .expect("SUBSCRIBE");
        let mut r = BufReader::new(s.try_clone().expect("clone"));
        // The confirmation: subscribe, channel, count.
        assert_eq!(line(&mut r), "*3");
        let _ = (bulk(&mut r), bulk(&mut r), line(&mut r));
        let thread = std::thread::spawn(move || {
            let mut got = Vec::new();
            loop {
                let mut head = String::new();
                if r.read_line(&mut head).unwrap_or(0) == 0 {
                    return got;
                }
                let _kind = bulk(&mut r);
                let _channel = bulk(&mut r);
                got.push(bulk(&mut r));
            }
        });
        Subscriber {
            stream: s,
            thread: Some(thread),
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Subscriber {
    stream: TcpStream,
    thread: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl Subscriber {
    fn messages(mut self) -> Vec<String> {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        self.thread
            .take()
            .map(|t| t.join().expect("subscriber"))
            .unwrap_or_default()
    }
}

fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

fn line(r: &mut impl BufRead) -> String {
    let mut l = String::new();
    r.read_line(&mut l).expect("read from redis");
    l.trim_end().to_string()
}

fn bulk(r: &mut impl BufRead) -> String {
    let head = line(r);
    let n: usize = head
        .strip_prefix('$')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a bulk string: {head}"));
    let mut b = vec![0u8; n + 2];
    r.read_exact(&mut b).expect("bulk string");
    b.truncate(n);
    String::from_utf8(b).expect("UTF-8")
}

/// One command; its reply's first line.
fn command(port: u16, args: &[&str]) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    s.write_all(&resp(args))?;
    let mut l = String::new();
    BufReader::new(s).read_line(&mut l)?;
    Ok(l.trim_end().to_string())
}

/// A CA, a server certificate for localhost and 127.0.0.1, a client certificate: made with
/// openssl for each test.
#[derive(Clone)]
struct Pki {
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pki {
    fn make(dir: &Path) -> Pki {
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        let mut ca = vec!["req", "-x509"];
        ca.extend_from_slice(&ec);
        ca.extend_from_slice(&[
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=exhound test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(dir, &ca);
        for (name, cn, ext) in [
            (
                "server",
                "localhost",
                "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
            ),
            (
                "client",
                "sensor",
                "subjectAltName=DNS:sensor\nextendedKeyUsage=clientAuth\n",
            ),
        ] {
            let key = format!("{name}.key");
            let csr = format!("{name}.csr");
            let pem = format!("{name}.pem");
            let extfile = format!("{name}.ext");
            std::fs::write(
                dir.join(&extfile),
                format!("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n{ext}"),
            )
            .expect("ext file");
            let subj = format!("/CN={cn}");
            let mut req = vec!["req"];
            req.extend_from_slice(&ec);
            req.extend_from_slice(&["-keyout", &key, "-out", &csr, "-subj", &subj]);
            openssl(dir, &req);
            openssl(
                dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-out",
                    &pem,
                    "-days",
                    "2",
                    "-extfile",
                    &extfile,
                ],
            );
        }
        Pki {
            ca: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client.key"),
        }
    }
}

/// Replays the bundled capture with HTTP and stats records to `eve` and to `outputs`.
fn replay(eve: &Path, outputs: &[&str], extra: &[&str]) -> Output {
    let mut c = Command::new(run::exe());
    c.args(["replay", "--log-http", "--log-stats", "-o"])
        .arg(eve);
    for o in outputs {
        c.args(["-o", o]);
    }
    c.args(extra).arg(run::pcap(CAPTURE));
    c.output().expect("run exhound replay")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn eve_lines(eve: &Path) -> Vec<String> {
    std::fs::read_to_string(eve)
        .expect("EVE file")
        .lines()
        .map(str::to_string)
        .collect()
}

/// Splits an RFC 5424 message into its header fields and MSG.
fn syslog_parts(m: &str) -> (Vec<&str>, &str) {
    let parts: Vec<&str> = m.splitn(8, ' ').collect();
    assert_eq!(parts.len(), 8, "not an RFC 5424 message: {m}");
    (parts[..7].to_vec(), parts[7])
}

/// Every line of the EVE file was received once, as MSG of a well-formed message.
fn assert_syslog_got_all(eve: &[String], received: &[String]) {
    assert!(!eve.is_empty());
    let mut msgs = Vec::new();
    for m in received {
        let (h, msg) = syslog_parts(m);
        let v: Value = serde_json::from_str(msg).unwrap_or_else(|e| panic!("{e}: {m}"));
        let kind = v["event_type"].as_str().expect("event_type");
        let pri: u32 = h[0]
            .strip_prefix('<')
            .and_then(|p| p.strip_suffix(">1"))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("PRI and VERSION: {m}"));
        assert_eq!(pri / 8, 21, "facility local5: {m}");
        let want_severity = match (kind, v["alert"]["severity"].as_u64()) {
            ("alert", Some(1)) => 2,
            ("alert", Some(2)) => 3,
            ("alert", Some(3)) => 4,
            ("alert", _) => 5,
            _ => 6,
        };
        assert_eq!(pri % 8, want_severity, "severity: {m}");
        assert!(h[1].ends_with('Z') && h[1].contains('T'), "TIMESTAMP: {m}");
        assert_eq!(h[3], "exhound", "APP-NAME: {m}");
        assert!(h[4].parse::<u32>().is_ok(), "PROCID: {m}");
        assert_eq!(h[5], kind, "MSGID: {m}");
        assert_eq!(h[6], "-", "STRUCTURED-DATA: {m}");
        msgs.push(msg.to_string());
    }
    assert_eq!(
        msgs, eve,
        "the messages received are the EVE lines, in order"
    );
}

/// `N sent, M dropped` of the one shipping output in stderr.
fn shipped(stderr: &str, url: &str) -> (u64, u64) {
    let prefix = format!("exhound: output {url}: ");
    let l = stderr
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no report for {url} in:\n{stderr}"));
    let n: Vec<u64> = l
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("count"))
        .collect();
    (n[0], n[1])
}

#[test]
fn syslog_over_udp_and_tcp_gets_every_record() {
    if !receivers_available(&[RSYSLOG]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let udp = Rsyslog::start(&dir.path().join("udp").tap_mkdir(), Listen::Udp);
    let tcp = Rsyslog::start(&dir.path().join("tcp").tap_mkdir(), Listen::Tcp);
    let eve = dir.path().join("eve.json");
    let (u, t) = (udp.url("syslog", ""), tcp.url("syslog+tcp", ""));
    let out = replay(&eve, &[&u, &t], &[]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let lines = eve_lines(&eve);
    let n = lines.len() as u64;
    assert!(lines.iter().any(|l| l.contains("\"event_type\":\"alert\"")));
    assert!(lines.iter().any(|l| l.contains("\"event_type\":\"stats\"")));
    assert_eq!(shipped(&err, &u), (n, 0), "{err}");
    assert_eq!(shipped(&err, &t), (n, 0), "{err}");
    assert!(wait_for(10, || tcp.messages().len() >= lines.len()));
    assert!(wait_for(10, || udp.messages().len() >= lines.len()));
    assert_syslog_got_all(&lines, &tcp.messages());
    assert_syslog_got_all(&lines, &udp.messages());
}

#[test]
fn syslog_over_tls_checks_the_server_name() {
    if !receivers_available(&[RSYSLOG, OPENSSL]) {
        return;
    }
    if !gtls_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = Pki::make(dir.path());
    let server = Rsyslog::start(
        &dir.path().join("tls").tap_mkdir(),
        Listen::Tls {
            pki: pki.clone(),
            clients: false,
        },
    );
    let eve = dir.path().join("eve.json");
    // The default name checked is the URL's host: 127.0.0.1 is in the certificate.
    let by_ip = server.url("syslog+tls", &format!("?ca={}", pki.ca.display()));
    let by_name = server.url(
        "syslog+tls",
        &format!("?ca={}&name=localhost", pki.ca.display()),
    );
    let out = replay(&eve, &[&by_ip, &by_name], &[]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let lines = eve_lines(&eve);
    let n = lines.len() as u64;
    assert_eq!(shipped(&err, &by_ip), (n, 0), "{err}");
    assert_eq!(shipped(&err, &by_name), (n, 0), "{err}");
    assert!(wait_for(10, || server.messages().len() >= 2 * lines.len()));
    // Two connections, each in order: split by PROCID is not possible (one process), so
    // compare as multisets.
    let mut got: Vec<String> = server
        .messages()
        .iter()
        .map(|m| syslog_parts(m).1.to_string())
        .collect();
    let mut want: Vec<String> = lines.iter().chain(lines.iter()).cloned().collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);

    // A name the certificate does not carry: no record goes, the failure is said and the
    // records are counted as dropped; the replay still ends at once.
    let wrong = server.url(
        "syslog+tls",
        &format!("?ca={}&name=siem.example", pki.ca.display()),
    );
    let before = server.messages().len();
    let started = Instant::now();
    let out = replay(&eve, &[&wrong], &["--drain-timeout", "2"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(15), "{err}");
    assert!(
        err.contains("cannot connect") && err.contains("not valid for name"),
        "{err}"
    );
    assert_eq!(shipped(&err, &wrong), (0, n), "{err}");
    assert_eq!(server.messages().len(), before);

    // A CA that did not sign the server's certificate: refused too.
    let other = dir.path().join("other").tap_mkdir();
    let other_pki = Pki::make(&other);
    let untrusted = server.url("syslog+tls", &format!("?ca={}", other_pki.ca.display()));
    let out = replay(&eve, &[&untrusted], &["--drain-timeout", "1"]);
    let err = stderr(&out);
    assert!(err.contains("cannot connect"), "{err}");
    assert_eq!(shipped(&err, &untrusted), (0, n), "{err}");
}

#[test]
fn syslog_over_tls_presents_a_client_certificate() {
    if !receivers_available(&[RSYSLOG, OPENSSL]) || !gtls_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = Pki::make(dir.path());
    let server = Rsyslog::start(
        &dir.path().join("tls").tap_mkdir(),
        Listen::Tls {
            pki: pki.clone(),
            clients: true,
        },
    );
    let eve = dir.path().join("eve.json");
    let url = server.url(
        "syslog+tls",
        &format!(
            "?ca={}&cert={}&key={}",
            pki.ca.display(),
            pki.client_cert.display(),
            pki.client_key.display()
        ),
    );
    let out = replay(&eve, &[&url], &[]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let lines = eve_lines(&eve);
    assert_eq!(shipped(&err, &url), (lines.len() as u64, 0), "{err}");
    assert!(wait_for(10, || server.messages().len() >= lines.len()));
    assert_syslog_got_all(&lines, &server.messages());

    // Without it the server refuses the connection: nothing arrives, all is dropped.
    let anonymous = server.url("syslog+tls", &format!("?ca={}", pki.ca.display()));
    let out = replay(&eve, &[&anonymous], &["--drain-timeout", "2"]);
    let err = stderr(&out);
    assert_eq!(shipped(&err, &anonymous), (0, lines.len() as u64), "{err}");
    assert_eq!(server.messages().len(), lines.len());
}

#[test]
fn redis_list_and_channel_get_every_record() {
    if !receivers_available(&[REDIS]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let redis = Redis::start(dir.path());
    let sub = redis.subscribe("alerts");
    let eve = dir.path().join("eve.json");
    let (list, lpush, channel) = (
        redis.url("eve"),
        redis.url("eve-lpush?mode=lpush"),
        redis.url("alerts?mode=channel"),
    );
    let out = replay(&eve, &[&list, &lpush, &channel], &[]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let lines = eve_lines(&eve);
    let n = lines.len() as u64;
    for url in [&list, &lpush, &channel] {
        assert_eq!(shipped(&err, url), (n, 0), "{err}");
    }
    assert_eq!(redis.list("eve"), lines, "RPUSH: oldest first");
    let mut reversed = lines.clone();
    reversed.reverse();
    assert_eq!(redis.list("eve-lpush"), reversed, "LPUSH: newest first");
    assert!(wait_for(5, || command(redis.port, &["PING"]).is_ok()));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(sub.messages(), lines, "PUBLISH");

    // A key of the wrong type: Redis refuses, the failure is said, records are dropped.
    assert_eq!(
        command(redis.port, &["SET", "taken", "x"]).expect("SET"),
        "+OK"
    );
    let taken = redis.url("taken");
    let out = replay(&eve, &[&taken], &["--drain-timeout", "1"]);
    let err = stderr(&out);
    assert!(err.contains("WRONGTYPE"), "{err}");
    assert_eq!(shipped(&err, &taken), (0, n), "{err}");
}

#[test]
fn a_dead_receiver_does_not_hold_the_replay_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let eve = dir.path().join("eve.json");
    // Nothing listens there.
    let port = free_port();
    let url = format!("syslog+tcp://127.0.0.1:{port}?queue=5");
    let redis = format!("redis://127.0.0.1:{port}/eve?queue=3");
    let started = Instant::now();
    let out = replay(&eve, &[&url, &redis], &["--drain-timeout", "2"]);
    let took = started.elapsed();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(took < Duration::from_secs(10), "took {took:?}: {err}");
    let lines = eve_lines(&eve);
    let n = lines.len() as u64;
    // The EVE file is whole, every shipped record is counted as dropped and said so.
    assert_eq!(shipped(&err, &url), (0, n), "{err}");
    assert_eq!(shipped(&err, &redis), (0, n), "{err}");
    assert!(err.contains("cannot connect"), "{err}");
    // The last stats record (written before the drain) counts what the queue held and
    // what did not fit: at most the queue's size waits, the rest was dropped.
    let stats: Value = serde_json::from_str(
        lines
            .iter()
            .rev()
            .find(|l| l.contains("\"event_type\":\"stats\""))
            .expect("a stats record"),
    )
    .expect("JSON");
    let own = &stats["metadata"]["flowints"];
    let offered = stats["metadata"]["flowints"]["exhound.eve.records"]
        .as_u64()
        .expect("records");
    for (i, cap) in [(0, 5), (1, 3)] {
        let get = |c: &str| own[format!("exhound.ship.{i}.{c}")].as_u64().expect(c);
        assert_eq!(get("sent"), 0);
        assert!(get("queued") <= cap + 1, "{stats}");
        assert_eq!(get("queued") + get("dropped"), offered, "{stats}");
    }
}

#[test]
fn receivers_restarted_during_a_live_run_get_every_record() {
    if !receivers_available(&[RSYSLOG, REDIS]) {
        return;
    }
    if !prereq::require(
        "root (live capture on lo)",
        nix::unistd::geteuid().is_root(),
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut syslog = Rsyslog::start(&dir.path().join("tcp").tap_mkdir(), Listen::Tcp);
    let mut redis = Redis::start(&dir.path().join("redis").tap_mkdir());
    let eve = dir.path().join("eve.json");
    let (s_url, r_url) = (syslog.url("syslog+tcp", ""), redis.url("eve"));
    // Live on the loopback interface with a filter that lets nothing through: a `stats`
    // record every second is the traffic shipped.
    let mut child = Command::new(run::exe())
        .args([
            "live",
            "-i",
            "lo",
            "--bpf",
            "tcp port 9",
            "--stats-interval",
            "1",
        ])
        .arg("-o")
        .arg(&eve)
        .args(["-o", &s_url, "-o", &r_url])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start exhound live");
    let wait_records = |syslog: &Rsyslog, redis: &Redis, n: usize| {
        wait_for(20, || {
            syslog.messages().len() >= n && redis.list("eve").len() >= n
        })
    };
    assert!(
        wait_records(&syslog, &redis, 2),
        "records before the restart"
    );
    syslog.stop();
    redis.stop();
    // Two or three records are made while the receivers are away.
    std::thread::sleep(Duration::from_millis(2500));
    let made_while_away = eve_lines(&eve).len();
    syslog.run();
    redis.run();
    assert!(
        wait_records(&syslog, &redis, made_while_away + 2),
        "records after the restart"
    );
    terminate(&mut child);
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let lines = eve_lines(&eve);
    let n = lines.len() as u64;
    assert_eq!(shipped(&err, &s_url), (n, 0), "{err}");
    assert_eq!(shipped(&err, &r_url), (n, 0), "{err}");
    assert!(err.contains("connected again"), "{err}");
    assert!(wait_for(10, || syslog.messages().len() >= lines.len()));
    // Each record once (none lost while away, none sent twice), in order.
    let got: Vec<String> = syslog
        .messages()
        .iter()
        .map(|m| syslog_parts(m).1.to_string())
        .collect();
    assert_eq!(got, lines);
    assert_eq!(redis.list("eve"), lines);
    // The stats records saw the outage: failures counted, records waiting meanwhile.
    let last: Value = serde_json::from_str(lines.last().expect("records")).expect("JSON");
    for i in 0..2 {
        let f = &last["metadata"]["flowints"][format!("exhound.ship.{i}.failures")];
        assert!(f.as_u64().is_some_and(|f| f >= 1), "{last}");
    }
    let unique: BTreeSet<&String> = lines.iter().collect();
    assert_eq!(unique.len(), lines.len());
}

/// `create_dir_all` inline.
trait TapMkdir {
    fn tap_mkdir(self) -> PathBuf;
}

impl TapMkdir for PathBuf {
    fn tap_mkdir(self) -> PathBuf {
        std::fs::create_dir_all(&self).expect("mkdir");
        self
    }
}
