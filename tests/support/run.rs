//! Runs the `exhound` binary and reads its EVE output.
//!
//! The binary's path is only known to integration tests (`CARGO_BIN_EXE_exhound`), so it is
//! read with `option_env!` and this module still compiles inside the example.

use std::ffi::OsStr;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

/// The `exhound` binary under test.
pub fn exe() -> &'static str {
    match option_env!("CARGO_BIN_EXE_exhound") {
        Some(path) => path,
        None => panic!("exhound's path is only known to integration tests"),
    }
}

/// The `pcaps/` directory.
pub fn pcaps_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pcaps")
}

/// A capture in `pcaps/`.
pub fn pcap(name: &str) -> PathBuf {
    pcaps_dir().join(name)
}

/// Every capture under `pcaps/` with its TLS key log beside it (`X.pcap` and `X.keylog`),
/// in path order.
#[allow(dead_code)] // not every test binary uses it
pub fn key_logged_pcaps() -> Vec<PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "pcap")
                && p.with_extension("keylog").exists()
            {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&pcaps_dir(), &mut out);
    out.sort();
    out
}

/// What one run of `exhound replay` produced.
#[derive(Debug)]
pub struct Replay {
    /// Exit status (None if killed by a signal).
    pub status: Option<i32>,
    /// Every EVE line, parsed.
    pub records: Vec<Value>,
    /// Standard error.
    pub stderr: String,
}

impl Replay {
    /// The `http` records.
    pub fn http(&self) -> Vec<&Value> {
        self.records
            .iter()
            .filter(|r| r["event_type"] == "http")
            .collect()
    }

    /// (method, url) of every `http` record, in output order.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.http().iter().map(|r| method_url(r)).collect()
    }

    /// Panics with the run's output unless it exited with `code`.
    pub fn assert_status(&self, code: i32) -> &Replay {
        assert_eq!(
            self.status,
            Some(code),
            "exit status; stderr:\n{}\nrecords: {:#?}",
            self.stderr,
            self.records
        );
        self
    }

    /// The `alert` records.
    pub fn alerts(&self) -> Vec<&Value> {
        self.records
            .iter()
            .filter(|r| r["event_type"] == "alert")
            .collect()
    }
}

/// (http_method, url) of one record.
pub fn method_url(r: &Value) -> (String, String) {
    (str_of(&r["http"]["http_method"]), str_of(&r["http"]["url"]))
}

/// A JSON string's value, or `<missing>`.
pub fn str_of(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("<missing: {v}>"))
}

/// Runs `exhound replay --log-http <args>`, feeding `stdin` if given.
pub fn replay_with_stdin<S: AsRef<OsStr>>(args: &[S], stdin: Option<&[u8]>) -> Replay {
    run_replay(&["--log-http"], args, stdin)
}

/// Runs `exhound replay <args>` with no flag added: the bundled signatures, `alert` records
/// only.
pub fn replay_alerts<S: AsRef<OsStr>>(args: &[S]) -> Replay {
    run_replay(&[], args, None)
}

/// Runs `exhound replay <flags> <args>`, feeding `stdin` if given.
fn run_replay<S: AsRef<OsStr>>(flags: &[&str], args: &[S], stdin: Option<&[u8]>) -> Replay {
    let mut cmd = Command::new(exe());
    cmd.arg("replay").args(flags).args(args);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run exhound");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        let input = input.to_vec();
        // Write from a thread so a full stdout pipe cannot deadlock us.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    let out = child.wait_with_output().expect("exhound output");
    let stdout = String::from_utf8(out.stdout).expect("EVE output is UTF-8");
    let records = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("EVE line is not JSON ({e}): {l}"))
        })
        .collect();
    Replay {
        status: out.status.code(),
        records,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `exhound replay --log-http <args>`.
pub fn replay<S: AsRef<OsStr>>(args: &[S]) -> Replay {
    replay_with_stdin(args, None)
}
