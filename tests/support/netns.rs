//! A live-capture test rig: two network namespaces, a sender and a sensor, joined by veth
//! pairs that the test creates and removes (also when it fails: [`Rig`] removes them when
//! dropped). Frames written by `tcpreplay` into the sender's end arrive on the sensor's end,
//! where `exhound live` captures them. IPv6 is turned off on both sides so that link
//! autoconfiguration adds no packets of its own, and no address is configured: the sensor's
//! kernel answers nothing.
//!
//! The rig needs root, `ip` (iproute2) and `tcpreplay`. [`prerequisites`] says what is
//! missing; under `CI=true` a missing prerequisite fails the test, elsewhere it skips.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What is missing for live tests, if anything (named as [`super::prereq::require`] names
/// it: the prerequisite, then how to get it).
pub fn prerequisites() -> Result<(), String> {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if uid != "0" {
        return Err("root (network namespaces need it)".into());
    }
    for tool in ["ip", "tcpreplay"] {
        if !super::prereq::tool_available(tool) {
            return Err(format!("{tool} (make test installs it)"));
        }
    }
    Ok(())
}

/// True when the test can run; otherwise skips saying what is missing, and under `CI=true`
/// fails ([`super::prereq::require`], whose message names the running test; `_test` is the
/// same name, as the callers spell it).
pub fn ready(_test: &str) -> bool {
    match prerequisites() {
        Ok(()) => true,
        Err(what) => super::prereq::require(&what, false),
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Two namespaces joined by veth pairs.
pub struct Rig {
    /// The sender's namespace.
    pub sender: String,
    /// The sensor's namespace.
    pub sensor: String,
    pairs: usize,
    tag: String,
}

impl Rig {
    /// A rig named after `tag` (a few letters, unique per test) with `pairs` veth pairs.
    pub fn new(tag: &str, pairs: usize) -> Rig {
        let tag = format!("{tag}{}", std::process::id() % 10_000);
        let rig = Rig {
            sender: format!("exs-{tag}"),
            sensor: format!("exr-{tag}"),
            pairs,
            tag,
        };
        let _ = ip(&["netns", "del", &rig.sender]);
        let _ = ip(&["netns", "del", &rig.sensor]);
        rig.build()
            .unwrap_or_else(|e| panic!("building the veth rig: {e}"));
        rig
    }

    fn build(&self) -> Result<(), String> {
        ip(&["netns", "add", &self.sender])?;
        ip(&["netns", "add", &self.sensor])?;
        for ns in [&self.sender, &self.sensor] {
            for key in ["all", "default"] {
                let _ = Command::new("ip")
                    .args(["netns", "exec", ns, "sysctl", "-qw"])
                    .arg(format!("net.ipv6.conf.{key}.disable_ipv6=1"))
                    .status();
            }
        }
        for i in 0..self.pairs {
            let (a, b) = (self.sender_if(i), self.sensor_if(i));
            ip(&[
                "link",
                "add",
                &a,
                "netns",
                &self.sender,
                "type",
                "veth",
                "peer",
                &b,
                "netns",
                &self.sensor,
            ])?;
            ip(&["-n", &self.sender, "link", "set", &a, "up"])?;
            ip(&["-n", &self.sensor, "link", "set", &b, "up"])?;
        }
        Ok(())
    }

    /// The sender's end of pair `i`.
    pub fn sender_if(&self, i: usize) -> String {
        format!("s{}x{i}", self.tag)
    }

    /// The sensor's end of pair `i`.
    pub fn sensor_if(&self, i: usize) -> String {
        format!("r{}x{i}", self.tag)
    }

    /// `program args…` inside the sender's namespace.
    pub fn in_sender(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.sender, program]);
        c
    }

    /// `program args…` inside the sensor's namespace.
    pub fn in_sensor(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.sensor, program]);
        c
    }

    /// Replays `files` out of the sender's end of pair 0 (with their own timing unless
    /// `extra` says otherwise) and waits for tcpreplay to finish.
    pub fn tcpreplay(&self, extra: &[&str], files: &[&Path]) {
        let out = self
            .in_sender("tcpreplay")
            .arg("-q")
            .arg("-i")
            .arg(self.sender_if(0))
            .args(extra)
            .args(files)
            .output()
            .expect("run tcpreplay");
        assert!(
            out.status.success(),
            "tcpreplay failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        // Removing a namespace removes the veth ends inside it.
        let _ = ip(&["netns", "del", &self.sender]);
        let _ = ip(&["netns", "del", &self.sensor]);
    }
}

/// A running `exhound live`, its standard error collected as it comes.
pub struct LiveRun {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl LiveRun {
    /// Starts `command` (an `exhound live …` inside the sensor's namespace) and waits until
    /// it says it is capturing.
    pub fn start(mut command: Command) -> LiveRun {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start exhound live");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&line);
                    s.push('\n');
                }
            }
        });
        let run = LiveRun { child, stderr };
        run.wait_for("capturing on", Duration::from_secs(20));
        run
    }

    /// Standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Waits until standard error contains `text` `n` times.
    pub fn wait_for_count(&self, text: &str, n: usize, timeout: Duration) {
        let end = Instant::now() + timeout;
        while self.stderr().matches(text).count() < n {
            assert!(
                Instant::now() < end,
                "exhound live did not say {text:?} ({n} times) within {timeout:?}; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until standard error contains `text`.
    pub fn wait_for(&self, text: &str, timeout: Duration) {
        self.wait_for_count(text, 1, timeout);
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends signal `name` (TERM, HUP, USR2…).
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -s {name}");
    }

    /// Stops it with SIGTERM and returns its exit status and standard error.
    pub fn stop(mut self) -> (ExitStatus, String) {
        self.signal("TERM");
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the reader thread take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return (status, self.stderr());
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                panic!(
                    "exhound live did not stop on SIGTERM; stderr:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for LiveRun {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
