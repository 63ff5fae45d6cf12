#!/usr/bin/env bash
# Load benchmark of sessionfs-server with wrk from a second process on loopback: requests/s and latency
# for list, detail and a 1 MB sync push at 1, 16 and 64 concurrent connections; memory at rest and the
# peak under load. Prints a Markdown table (docs/BENCHMARKS.md records one run).
#
#   scripts/bench-server.sh [seconds-per-run]      (needs wrk: apt-get install wrk)
set -uo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
command -v wrk >/dev/null || { echo "bench-server: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
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

# Seed 200 sessions (small archives) and make one 1 MB archive for the push benchmark.
python3 - "$WORK" <<'PY'
import io, json, os, random, sys, tarfile
work = sys.argv[1]
def archive(sid, n_bytes):
    manifest = {"sfs_version": "0.1.0", "session_id": sid, "title": f"bench {sid}", "created_at": "2026-03-20T10:00:00Z",
                "source": {"tool": "claude-code"}, "stats": {"message_count": 10}}
    words = [f"word{i}" for i in range(5000)]
    rnd = random.Random(sid)
    lines, size = [], 0
    while size < n_bytes:
        text = " ".join(rnd.choice(words) for _ in range(60))
        line = json.dumps({"msg_id": f"m{len(lines)}", "role": "user", "content": [{"type": "text", "text": text}],
                           "timestamp": "2026-03-20T10:00:00Z"})
        lines.append(line); size += len(line) + 1
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in [("manifest.json", json.dumps(manifest).encode()), ("messages.jsonl", ("\n".join(lines) + "\n").encode())]:
            info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
    return buf.getvalue()
os.makedirs(f"{work}/seed", exist_ok=True)
for i in range(200):
    sid = f"ses_{i:016x}"
    open(f"{work}/seed/{sid}.tar.gz", "wb").write(archive(sid, 20_000))
big = archive("ses_ffffffffffffffff", 4_700_000)  # ~1 MB compressed
open(f"{work}/big.tar.gz", "wb").write(big)
print(f"push archive: {len(big)} bytes", file=sys.stderr)
PY
for f in "$WORK"/seed/*.tar.gz; do
  id=$(basename "$f" .tar.gz)
  curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $KEY" -F "file=@$f;type=application/gzip" "$URL/api/v1/sessions/$id/sync"
done
rss() { awk '/^VmRSS/{printf "%.1f", $2/1024}' /proc/$PID/status; }
hwm() { awk '/^VmHWM/{printf "%.1f", $2/1024}' /proc/$PID/status; }
REST=$(rss)

# A multipart body for the push, built once; wrk sends it as is (no If-Match: last writer wins, so every
# request is a full accept: validate, hash, store, swap).
python3 - "$WORK" <<'PY'
import sys
work = sys.argv[1]
data = open(f"{work}/big.tar.gz", "rb").read()
b = "benchboundary"
body = (f"--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.tar.gz\"\r\nContent-Type: application/gzip\r\n\r\n").encode() + data + f"\r\n--{b}--\r\n".encode()
open(f"{work}/push.body", "wb").write(body)
PY
cat >"$WORK/push.lua" <<LUA
local f = io.open("$WORK/push.body", "rb"); local body = f:read("*all"); f:close()
wrk.method = "PUT"
wrk.body = body
wrk.headers["Content-Type"] = "multipart/form-data; boundary=benchboundary"
wrk.headers["Authorization"] = "Bearer $KEY"
LUA
cat >"$WORK/get.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $KEY"
LUA

echo "| endpoint | connections | requests/s | p50 | p99 |"
echo "|---|---:|---:|---:|---:|"
run() { # name path script conns
  local out
  local t=2; [ "$4" -lt 2 ] && t=1
  out=$(wrk -t"$t" -c"$4" -d"${DUR}s" --latency -s "$3" "$URL$2" 2>&1) || { echo "wrk failed for $1: $out" >&2; return; }
  local rps p50 p99
  rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
  p50=$(echo "$out" | awk '$1=="50%"{print $2}')
  p99=$(echo "$out" | awk '$1=="99%"{print $2}')
  if echo "$out" | grep -q "Non-2xx"; then echo "warning: $(echo "$out" | grep Non-2xx) for $1 at $4" >&2; fi
  echo "| $1 | $4 | $rps | $p50 | $p99 |"
}
for c in 1 16 64; do run "GET /api/v1/sessions (list, 20 of 200)" "/api/v1/sessions" "$WORK/get.lua" "$c"; done
for c in 1 16 64; do run "GET /api/v1/sessions/{id} (detail)" "/api/v1/sessions/ses_0000000000000007" "$WORK/get.lua" "$c"; done
for c in 1 16 64; do run "PUT /api/v1/sessions/{id}/sync (1 MB push)" "/api/v1/sessions/ses_ffffffffffffffff/sync" "$WORK/push.lua" "$c"; done
echo
echo "Memory: ${REST} MB RSS at rest (200 sessions seeded), ${HWM:-$(hwm)} MB peak RSS under load."
