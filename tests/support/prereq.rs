//! Prerequisites of tests that cannot run everywhere (tshark, `../shared`, root, tcpreplay,
//! systemd-analyze…): one rule for all of them, so that a test cannot silently vanish.
//!
//! [`require`] says whether the test can go on. When a prerequisite is missing it skips with
//! `SKIP <test>: <what> is missing` on standard error — except under `CI=true`, where the
//! test fails with the same words: CI runs with every prerequisite installed and `../shared`
//! beside the checkout, so a missing one there is a broken CI, not a reason to pass.
//!
//! ```ignore
//! if !prereq::require_tool("tshark", "make deps installs it") {
//!     return;
//! }
//! let Some(schema) = prereq::require_shared("third-party/suricata-eve-schema.json") else {
//!     return;
//! };
//! ```
//!
//! Test crates that do not take the whole `support` module include this file alone
//! (`#[path = "support/prereq.rs"] mod prereq;`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// True when the environment variable `CI` is `true` (as CI sets it).
pub fn under_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// The name of the running test (libtest names each test's thread after it).
fn test_name() -> String {
    std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .unwrap_or("this test")
        .to_string()
}

/// True when `available`. Otherwise: under `CI=true` panics, naming `what` is missing;
/// elsewhere prints `SKIP <test>: <what> is missing` and returns false (the caller returns).
/// `what` names the prerequisite and, after a comma or in parentheses, how to get it.
pub fn require(what: &str, available: bool) -> bool {
    if available {
        return true;
    }
    let test = test_name();
    assert!(
        !under_ci(),
        "{test}: {what} is missing, and under CI=true a missing prerequisite is a failure, \
         not a skip"
    );
    eprintln!("SKIP {test}: {what} is missing (under CI=true this fails)");
    false
}

/// True when `tool` is on the PATH.
pub fn tool_available(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// [`require`] for a program on the PATH; `hint` says how to get it.
pub fn require_tool(tool: &str, hint: &str) -> bool {
    require(&format!("{tool} ({hint})"), tool_available(tool))
}

/// `../shared/<rel>` beside the checkout (the research, conformance and third-party files CI
/// lays there).
pub fn shared_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(rel)
}

/// `../shared/<rel>` if it exists (a file or a directory); otherwise [`require`] decides
/// between a skip and, under CI, a failure.
pub fn require_shared(rel: &str) -> Option<PathBuf> {
    let path = shared_path(rel);
    require(
        &format!("../shared/{rel} (the shared folder beside the checkout)"),
        path.exists(),
    )
    .then_some(path)
}
