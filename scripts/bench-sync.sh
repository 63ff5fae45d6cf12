#!/usr/bin/env bash
# Sync benchmark: a first full `sfs sync` of N captured sessions to a local sessionfs-server (sessions/s),
# then an incremental sync after one session changed. Release builds; everything on loopback.
#
#   scripts/bench-sync.sh [sessions]      (default 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
cargo build --release -q -p sessionfs-server -p sessionfs-cli
BIN=$PWD/target/release
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
SFS_DATA_DIR="$WORK/srv" SFS_BIND="127.0.0.1:$PORT" SFS_RATE_LIMIT_PER_MINUTE=0 SFS_REQUIRE_EMAIL_VERIFICATION=false SFS_LOG=warn \
  "$BIN/sessionfs-server" >"$WORK/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
export HOME="$WORK/home" SFS_HOME="$WORK/store"
python3 - "$HOME" "$N" <<'PY'
import json, os, random, sys, uuid
home, n = sys.argv[1], int(sys.argv[2])
d = os.path.join(home, ".claude/projects/-tmp-bench")
os.makedirs(d, exist_ok=True)
rnd = random.Random(7)
words = [f"w{i}" for i in range(3000)]
for i in range(n):
    sid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
    with open(os.path.join(d, f"{sid}.jsonl"), "w") as f:
        parent = None
        for t in range(6):
            u = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
            role = "user" if t % 2 == 0 else "assistant"
            text = " ".join(rnd.choice(words) for _ in range(40))
            rec = {"parentUuid": parent, "isSidechain": False, "cwd": "/tmp/bench", "sessionId": sid, "version": "2.1.197",
                   "type": role, "uuid": u, "timestamp": "2026-03-20T10:00:00.000Z",
                   "message": {"role": role, "content": text} if role == "user" else
                              {"role": role, "model": "claude-sonnet-4-6", "content": [{"type": "text", "text": text}]}}
            f.write(json.dumps(rec) + "\n")
            parent = u
PY
"$BIN/sfs" import --json >/dev/null
"$BIN/sfs" auth signup --email bench@example.com --url "http://127.0.0.1:$PORT" >/dev/null
t0=$(date +%s.%N)
"$BIN/sfs" sync --json --workers 4 >"$WORK/first.json"
t1=$(date +%s.%N)
python3 - "$WORK/first.json" "$t0" "$t1" "$N" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); t = float(sys.argv[3]) - float(sys.argv[2]); n = int(sys.argv[4])
assert r["pushed"] == n and not r["failed"], r
print(f"first full sync: {n} sessions in {t:.1f} s = {n/t:.0f} sessions/s")
PY
one=$(find "$HOME/.claude/projects/-tmp-bench" -name "*.jsonl" -print -quit | xargs basename)
echo '{"parentUuid":null,"type":"user","uuid":"extra-1","timestamp":"2026-03-20T11:00:00.000Z","message":{"role":"user","content":"one more turn"}}' >>"$HOME/.claude/projects/-tmp-bench/$one"
"$BIN/sfs" import --json >/dev/null
t0=$(date +%s.%N)
"$BIN/sfs" sync --json >"$WORK/second.json"
t1=$(date +%s.%N)
python3 - "$WORK/second.json" "$t0" "$t1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); t = float(sys.argv[3]) - float(sys.argv[2])
assert r["pushed"] == 1 and not r["failed"], r
print(f"incremental sync (1 of {r['unchanged'] + 1} changed): {t*1000:.0f} ms")
PY
