#!/usr/bin/env bash
# The official MCP Python SDK against `sfs mcp serve` (stdio) and `sessionfs-server` /mcp (HTTP, bearer key).
# Needs: SFS_BIN, SFS_SERVER_BIN, python3 with venv, PyPI. Sessions come from agents/tests/fixtures via `sfs import`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/sfs-mcp-py.XXXXXX")"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

venv="${TMPDIR:-/tmp}/sfs-mcp-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import mcp' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'mcp>=1.9,<2'
fi
py="$venv/bin/python"

# A fixture home with sessions of three agents, imported into a fresh store.
home="$work/home"; mkdir -p "$home"
for f in claude-code/2.1.197/tool_call claude-code/2.1.197/two_turns codex/0.169.0/tool_call gemini-cli/0.61.0/tool_call; do
  cp -a "$root/agents/tests/fixtures/$f/home/." "$home/"
done
export HOME="$home" SFS_HOME="$work/store"
"$SFS_BIN" import >/dev/null
ids="$("$SFS_BIN" list --json | "$py" -c 'import json,sys; print(json.dumps([s["id"] for s in json.load(sys.stdin)]))')"
word="$("$SFS_BIN" show "$(echo "$ids" | "$py" -c 'import json,sys; print(json.load(sys.stdin)[0])')" --json 2>/dev/null \
  | "$py" -c '
import json, re, sys
d = json.load(sys.stdin)
msgs = d.get("messages", [])
words = [w for m in msgs for b in m.get("content", []) if b.get("type") == "text" for w in re.findall(r"[A-Za-z]{5,}", b.get("text", ""))]
print(words[0] if words else "the")')"
echo "store: $ids; search word: $word"

echo "== stdio (no login)"
"$py" "$here/client.py" stdio "$SFS_BIN" "{\"ids\": $ids, \"word\": \"$word\", \"handoff_to\": null}"

echo "== http"
port="$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
SFS_BIND="127.0.0.1:$port" SFS_DATA_DIR="$work/server" SFS_RATE_LIMIT_PER_MINUTE=0 "$SFS_SERVER_BIN" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
signup() { curl -fsS -X POST -H 'content-type: application/json' -d "{\"email\":\"$1\"}" "http://127.0.0.1:$port/api/v1/auth/signup" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["raw_key"])'; }
key="$(signup alice@example.com)"
signup bob@example.com >/dev/null
"$SFS_BIN" auth login --url "http://127.0.0.1:$port" --key "$key" >/dev/null
"$SFS_BIN" sync >"$work/sync.log" 2>&1 || { cat "$work/sync.log"; exit 1; }
"$py" "$here/client.py" http "http://127.0.0.1:$port/mcp" "$key" "{\"ids\": $ids, \"word\": \"$word\", \"handoff_to\": \"bob@example.com\"}"

echo "== stdio (logged in: handoffs go through the server)"
"$py" "$here/client.py" stdio "$SFS_BIN" "{\"ids\": $ids, \"word\": \"$word\", \"handoff_to\": \"bob@example.com\"}"
echo "python MCP SDK: all checks passed"
