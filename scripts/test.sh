#!/usr/bin/env bash
# The project's test command: formatting, lints, the wasm builds (shared crate, dashboard), the dashboard's
# dist/ (the browser tests load it), then every test. The benchmarks' figures are in docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# The tests give each sfs a scratch $HOME; these would move the agents' folders out of it (as they move the
# agents' own), so a developer's settings never steer a test into their real sessions.
unset CLAUDE_CONFIG_DIR CODEX_HOME GEMINI_CLI_HOME
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo check -p sessionfs-shared -p sessionfs-dashboard --target wasm32-unknown-unknown
cargo xtask dashboard
cargo test --workspace
