#!/usr/bin/env bash
# Load benchmark of the server's MCP endpoint (/mcp, streamable HTTP) with wrk on loopback: one MCP session,
# then tools/call for list_sessions, search_sessions and get_session over N seeded sessions, at 1 and 16
# connections. Prints a Markdown table (docs/BENCHMARKS.md records one run).
#
#   scripts/bench-mcp.sh [sessions] [seconds-per-run]      (needs wrk: apt-get install wrk)
set -uo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
DUR=${2:-10}
command -v wrk >/dev/null || { echo "bench-mcp: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
cargo build --release -q -p sessionfs-server
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
SFS_DATA_DIR="$WORK/data" SFS_BIND="127.0.0.1:$PORT" SFS_RATE_LIMIT_PER_MINUTE=0 SFS_REQUIRE_EMAIL_VERIFICATION=false \
  SFS_LOG=warn target/release/sessionfs-server >"$WORK/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
URL="http://127.0.0.1:$PORT"
for _ in $(seq 50); do curl -sf "$URL/healthz" >/dev/null && break; sleep 0.1; done
KEY=$(curl -sf -X POST -H 'Content-Type: application/json' -d '{"email":"bench@example.com"}' "$URL/api/v1/auth/signup" | python3 -c 'import json,sys;print(json.load(sys.stdin)["raw_key"])')

# Seed N small sessions (a title and 10 messages of random words each), four pushes at a time.
python3 - "$WORK" "$N" <<'PY'
import io, json, os, random, sys, tarfile
work, n = sys.argv[1], int(sys.argv[2])
words = [f"word{i}" for i in range(5000)]
os.makedirs(f"{work}/seed", exist_ok=True)
for i in range(n):
    sid = f"ses_{i:016x}"
    rnd = random.Random(i)
    manifest = {"sfs_version": "0.1.0", "session_id": sid, "title": f"bench {i} " + " ".join(rnd.choice(words) for _ in range(4)),
                "created_at": "2026-03-20T10:00:00Z", "source": {"tool": "claude-code"}, "stats": {"message_count": 10}}
    lines = [json.dumps({"msg_id": f"m{j}", "role": "user" if j % 2 == 0 else "assistant",
                         "content": [{"type": "text", "text": " ".join(rnd.choice(words) for _ in range(40))}],
                         "timestamp": "2026-03-20T10:00:00Z"}) for j in range(10)]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in [("manifest.json", json.dumps(manifest).encode()), ("messages.jsonl", ("\n".join(lines) + "\n").encode())]:
            info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
    open(f"{work}/seed/{sid}.tar.gz", "wb").write(buf.getvalue())
PY
export KEY URL
ls "$WORK"/seed/*.tar.gz | xargs -P4 -I{} sh -c 'id=$(basename {} .tar.gz); curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $KEY" -F "file=@{};type=application/gzip" "$URL/api/v1/sessions/$id/sync" || echo "seed push of $id failed" >&2'

# One MCP session: initialize, read the session id header, confirm with notifications/initialized.
ACCEPT='Accept: application/json, text/event-stream'
SID=$(curl -sf -D - -o /dev/null -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -H "$ACCEPT" \
  -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}' \
  "$URL/mcp" | awk 'tolower($1)=="mcp-session-id:"{print $2}' | tr -d '\r')
[ -n "$SID" ] || { echo "bench-mcp: initialize returned no Mcp-Session-Id" >&2; cat "$WORK/server.log" >&2; exit 1; }
curl -sf -o /dev/null -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -H "$ACCEPT" -H "Mcp-Session-Id: $SID" \
  -d '{"jsonrpc":"2.0","method":"notifications/initialized"}' "$URL/mcp"

call() { # tool, arguments JSON → one wrk Lua script
  cat >"$WORK/$1.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $KEY"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Mcp-Session-Id"] = "$SID"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"$1","arguments":$2}}'
LUA
  # Fail loudly if the call itself errors rather than benchmarking an error path.
  out=$(curl -sf -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -H "$ACCEPT" -H "Mcp-Session-Id: $SID" \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"$1\",\"arguments\":$2}}" "$URL/mcp")
  case "$out" in *'"isError":true'*|*'"error"'*|'') echo "bench-mcp: $1 failed: $out" >&2; exit 1;; esac
}
call list_sessions '{}'
call search_sessions '{"query":"word4242"}'
call get_session '{"session_id":"ses_0000000000000123"}'

echo "| tool | conns | req/s | p50 | p99 |"
echo "|---|---|---|---|---|"
for tool in list_sessions search_sessions get_session; do
  for c in 1 16; do
    wrk -t1 -c$c -d${DUR}s --latency -s "$WORK/$tool.lua" "$URL/mcp" >"$WORK/out" 2>&1
    rps=$(awk '/Requests\/sec/{print $2}' "$WORK/out")
    p50=$(awk '$1=="50%"{print $2}' "$WORK/out")
    p99=$(awk '$1=="99%"{print $2}' "$WORK/out")
    non2xx=$(awk '/Non-2xx/{print $NF}' "$WORK/out")
    echo "| $tool | $c | $rps | $p50 | $p99 |${non2xx:+ non-2xx: $non2xx}"
  done
done
echo "sessions: $N, RSS after: $(awk '/^VmRSS/{printf "%.1f MB", $2/1024}' /proc/$PID/status)"
