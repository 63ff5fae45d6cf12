#!/usr/bin/env bash
# Regenerates agents/tests/fixtures: runs the real Claude Code, Codex CLI and Gemini CLI offline
# against the testkit's fake model and copies the native session files they write.
#
# The CLIs are installed into .agent-clis/ (gitignored) on first use; set SFS_AGENT_CLIS_BIN to a
# node_modules/.bin holding claude, codex and gemini to use another installation instead.
# Extra arguments go to the regen-fixtures binary, e.g. `--agent codex --scenario two_turns`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [[ -z "${SFS_AGENT_CLIS_BIN:-}" ]]; then
  scripts/install-agent-clis.sh
  export SFS_AGENT_CLIS_BIN="$root/.agent-clis/node_modules/.bin"
fi

cargo run -p sessionfs-testkit --bin regen-fixtures -- --out agents/tests/fixtures "$@"
