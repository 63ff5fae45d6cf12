//! The official MCP Python SDK (PyPI `mcp`) against `sfs mcp serve` over stdio and `sessionfs-server`'s
//! `/mcp` over streamable HTTP with a bearer key: initialize, list tools, call each tool and check the
//! results against the store (`tests/python-sdk/run.sh`).
//!
//! Runs only with `SFS_PYTHON_CLIENT=1` (it needs python3 with venv and PyPI); otherwise it says so and
//! passes. It builds the `sfs` and `sessionfs-server` binaries first (a no-op when they are current).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn official_python_sdk_talks_to_both_transports() {
    if std::env::var("SFS_PYTHON_CLIENT").ok().as_deref() != Some("1") {
        eprintln!(
            "skipped: set SFS_PYTHON_CLIENT=1 to drive the official MCP Python SDK against `sfs mcp serve` and \
             /mcp (needs python3 with venv and access to PyPI)"
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "sessionfs-cli", "-p", "sessionfs-server", "--bins"])
        .current_dir(root)
        .status()
        .unwrap();
    assert!(status.success(), "building the binaries failed");
    // This test binary is target/<profile>/deps/python_sdk-…; the binaries are in target/<profile>.
    let exe = std::env::current_exe().unwrap();
    let bin_dir: PathBuf = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python-sdk/run.sh");
    let output = Command::new("bash")
        .arg(&script)
        .env("SFS_BIN", bin_dir.join("sfs"))
        .env("SFS_SERVER_BIN", bin_dir.join("sessionfs-server"))
        .output()
        .unwrap_or_else(|e| panic!("could not run {}: {e}", script.display()));
    print!("{}", String::from_utf8_lossy(&output.stdout));
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{} failed ({}); its output is above", script.display(), output.status);
}
