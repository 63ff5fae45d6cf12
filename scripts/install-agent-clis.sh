#!/usr/bin/env bash
# Install the real agent CLIs the integration tests drive (against the project's fake model endpoint) into
# .agent-clis/ (git-ignored). Versions are the ones the fixtures were recorded with.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIS=(@anthropic-ai/claude-code@2.1.197 @openai/codex@0.169.0 @google/gemini-cli@0.61.0)
if [ -x .agent-clis/node_modules/.bin/claude ] && [ -x .agent-clis/node_modules/.bin/codex ] && [ -x .agent-clis/node_modules/.bin/gemini ]; then
  echo "agent CLIs already installed in .agent-clis"
  exit 0
fi
mkdir -p .agent-clis
npm install --no-fund --no-audit --loglevel=error --prefix .agent-clis "${CLIS[@]}"
for bin in claude codex gemini; do
  test -x ".agent-clis/node_modules/.bin/$bin" || { echo "install-agent-clis: $bin missing after npm install" >&2; exit 1; }
done
