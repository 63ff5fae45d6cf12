#!/usr/bin/env bash
# Interop test: drives the ORIGINAL Python SessionFS CLI (PyPI `sessionfs`, its `sfs` command) against our
# Rust sessionfs-server, unchanged. Two users (alice on two devices, bob) = three HOME directories.
#
# Scenario: signup, login, push, list-remote, re-push with If-Match, pull on a second device (+304),
# conflict (409 current_etag), sync status/auto, auth status/whoami, delete --cloud, trash, restore,
# undelete-push, sfs sync (pull of a remote-only session), handoff --to, pull-handoff, inbox/sent,
# revoke, decline. State is checked both in the CLI's output and with curl against /api/v1.
#
# Known incompatibilities of our server are run too, as "known" checks: they are reported but do not fail
# the run unless SFS_PY_STRICT=1. A known check that starts passing is reported so it can be promoted.
#
# Environment:
#   SFS_SERVER_BIN   the server binary (default: cargo build -p sessionfs-server, then target/debug/…)
#   SFS_PY_VENV      a venv to use (created and filled with the pinned package if it lacks it)
#   SFS_PY_STRICT=1  known incompatibilities fail the run
#   SFS_PY_KEEP=1    keep the work directory (server data, HOMEs, logs) for inspection
set -euo pipefail

PY_PKG="sessionfs"
PY_PKG_VERSION="0.18.0"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
tmp="${TMPDIR:-/tmp}"

die() { printf 'python-client interop: FATAL: %s\n' "$*" >&2; exit 1; }
log() { printf '\n--- %s\n' "$*"; }

# ---------------------------------------------------------------- the Python client
venv="${SFS_PY_VENV:-$tmp/sfs-pyclient-venv-$PY_PKG_VERSION}"
installed_version() { "$venv/bin/python" -c "import importlib.metadata as m; print(m.version('$PY_PKG'))" 2>/dev/null || true; }
if [[ "$(installed_version)" != "$PY_PKG_VERSION" ]]; then
    log "installing $PY_PKG==$PY_PKG_VERSION into $venv"
    command -v python3 >/dev/null || die "python3 is needed"
    [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv" || die "could not create a venv at $venv (apt-get install python3-venv?)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$PY_PKG==$PY_PKG_VERSION" \
        || die "pip install $PY_PKG==$PY_PKG_VERSION failed"
fi
[[ "$(installed_version)" == "$PY_PKG_VERSION" ]] || die "$venv does not hold $PY_PKG==$PY_PKG_VERSION"
PY="$venv/bin/python"
SFS="$venv/bin/sfs"

# ---------------------------------------------------------------- our server
if [[ -z "${SFS_SERVER_BIN:-}" ]]; then
    log "building sessionfs-server"
    (cd "$root" && cargo build -p sessionfs-server --quiet) || die "cargo build failed"
    SFS_SERVER_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/sessionfs-server"
fi
[[ -x "$SFS_SERVER_BIN" ]] || die "no server binary at $SFS_SERVER_BIN"

work="$(mktemp -d "$tmp/sfs-pyclient.XXXXXX")"
server_pid=""
failures=0
passes=0
known_failing=()
known_fixed=()

cleanup() {
    local rc=$?
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ $rc -ne 0 && -f "$work/server.log" ]]; then
        printf '\n--- last lines of the server log (%s)\n' "$work/server.log" >&2
        tail -n 40 "$work/server.log" >&2 || true
    fi
    if [[ "${SFS_PY_KEEP:-0}" == 1 || $rc -ne 0 ]]; then
        printf 'python-client interop: work directory kept: %s\n' "$work" >&2
    else
        rm -rf "$work"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
mkdir -p "$work/data"
log "starting $SFS_SERVER_BIN on $base"
SFS_DATA_DIR="$work/data" SFS_BIND="127.0.0.1:$port" SFS_RATE_LIMIT_PER_MINUTE=0 SFS_LOG_FORMAT=text \
    "$SFS_SERVER_BIN" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    curl -fsS "$base/health" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || die "the server exited at start"
    sleep 0.2
done
curl -fsS "$base/health" >/dev/null || die "the server did not answer /health within 20 s"

# ---------------------------------------------------------------- helpers
# The CLI must never reach anything but our server, never prompt, and print unwrapped tables.
unset SESSIONFS_API_KEY SESSIONFS_API_URL SESSIONFS_PROFILE SFS_MAX_SYNC_MEMBER_BYTES_PAID SFS_UPLOAD_TIMEOUT || true
export SFS_NO_TELEMETRY=1 COLUMNS=250 NO_COLOR=1 TERM=dumb PYTHONWARNINGS=ignore

# sfs USER ARGS... : run the CLI as USER (a HOME under $work), output to $work/out (and echoed).
sfs() {
    local who=$1
    shift
    mkdir -p "$work/home-$who"
    printf '$ [%s] sfs %s\n' "$who" "$*"
    local rc=0
    HOME="$work/home-$who" "$SFS" "$@" </dev/null >"$work/out" 2>&1 || rc=$?
    sed 's/^/    /' "$work/out"
    return $rc
}

pass() { passes=$((passes + 1)); printf '  ok: %s\n' "$*"; }
fail() { failures=$((failures + 1)); printf '  FAIL: %s\n' "$*" >&2; }

# check DESCRIPTION CMD... : a hard check.
check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}

# known NAME DESCRIPTION CMD... : a check of a known incompatibility of our server.
known() {
    local name=$1 what=$2
    shift 2
    if "$@"; then
        known_fixed+=("$name")
        printf '  ok (known incompatibility %s now passes: promote it to a hard check): %s\n' "$name" "$what"
    else
        known_failing+=("$name: $what")
        printf '  KNOWN INCOMPATIBILITY %s: %s\n' "$name" "$what"
    fi
}

out_has() { grep -qF -- "$1" "$work/out"; }
sfs_ok() { sfs "$@"; }
sfs_fails_with() { # sfs_fails_with TEXT USER ARGS... : exits non-zero and prints TEXT
    local text=$1
    shift
    ! sfs "$@" && out_has "$text"
}
sfs_ok_and() { # sfs_ok_and TEXT USER ARGS... : succeeds and prints TEXT
    local text=$1
    shift
    sfs "$@" && out_has "$text"
}

# api KEY METHOD PATH [curl args...] : body to stdout, status to $work/status
api() {
    local key=$1 method=$2 path=$3
    shift 3
    curl -sS -o "$work/body" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $key" "$@" "$base$path" \
        >"$work/status"
    cat "$work/body"
}
status_is() { [[ "$(cat "$work/status")" == "$1" ]]; }

# json EXPR : evaluate a Python expression over the JSON on stdin (bound to `d`) and print it.
json() { "$PY" -c "import json,sys; d=json.load(sys.stdin); r=($1); print(r if not isinstance(r,(dict,list,bool)) and r is not None else json.dumps(r))"; }

key_of() { sed -n 's/^api_key = "\(.*\)"$/\1/p' "$work/home-$1/.sessionfs/config.toml" | head -n 1; }
store_of() { echo "$work/home-$1/.sessionfs/sessions"; }
local_etag() { json 'd.get("sync",{}).get("etag","")' <"$(store_of "$1")/$2.sfs/manifest.json"; }
remote_etag() { api "$1" GET "/api/v1/sessions?page_size=100" | json "next((s['etag'] for s in d['sessions'] if s['id']=='$2'), '')"; }
manifest_sans_sync() { "$PY" -c "import json,sys; m=json.load(open(sys.argv[1])); m.pop('sync',None); print(json.dumps(m,sort_keys=True))" "$1"; }

# write_session USER ID TOOL TITLE : a valid .sfs directory (format 0.1.0) in USER's store.
write_session() {
    local who=$1 sid=$2 tool=$3 title=$4
    local dir
    dir="$(store_of "$who")/$sid.sfs"
    mkdir -p "$dir"
    cat >"$dir/manifest.json" <<EOF
{"sfs_version":"0.1.0","session_id":"$sid","title":"$title","tags":["interop"],
 "created_at":"2026-03-20T14:00:00.000Z","updated_at":"2026-03-20T14:05:30.000Z",
 "source":{"tool":"$tool","tool_version":"2.1.59","sfs_converter_version":"0.1.0","interface":"cli"},
 "model":{"provider":"anthropic","model_id":"claude-opus-4-6"},
 "stats":{"message_count":2,"turn_count":1,"tool_use_count":1,"total_input_tokens":2000,"total_output_tokens":150}}
EOF
    cat >"$dir/messages.jsonl" <<'EOF'
{"msg_id":"msg-001","parent_msg_id":null,"role":"user","content":[{"type":"text","text":"Add interop email validation"}],"timestamp":"2026-03-20T14:00:00.000Z"}
{"msg_id":"msg-002","parent_msg_id":"msg-001","role":"assistant","content":[{"type":"tool_use","tool_use_id":"toolu_001","name":"Read","input":{"file_path":"src/api/auth.py"}}],"timestamp":"2026-03-20T14:05:30.000Z","model":"claude-opus-4-6","stop_reason":"tool_use"}
EOF
    printf '{"root_path":"/home/dev/projects/myapp","git":{"branch":"main"}}\n' >"$dir/workspace.json"
}
append_message() { # USER ID MSG_ID TEXT
    printf '{"msg_id":"%s","role":"user","content":[{"type":"text","text":"%s"}],"timestamp":"2026-03-20T14:06:00.000Z"}\n' \
        "$3" "$4" >>"$(store_of "$1")/$2.sfs/messages.jsonl"
}

SID="ses_0123456789abcdef"
SID2="ses_fedcba9876543210"
ALICE="alice@example.com"
BOB="bob@example.com"

"$PY" -c 'import sessionfs; print("python client:", "sessionfs", sessionfs.__version__)'

# ---------------------------------------------------------------- accounts
log "accounts"
check "signup alice (sfs auth signup)" sfs_ok_and "Account created for $ALICE" alice auth signup --email "$ALICE" --url "$base"
check "signup bob" sfs_ok_and "Account created for $BOB" bob auth signup --email "$BOB" --url "$base"
KEY_A="$(key_of alice)"
KEY_B="$(key_of bob)"
[[ "$KEY_A" =~ ^sk_sfs_[0-9a-f]{32}$ ]] || die "signup did not store an sk_sfs_ key in alice's config.toml"
check "duplicate signup is refused (409)" sfs_fails_with "Email already registered" carol auth signup --email "$ALICE" --url "$base"
check "login on alice's second device (sfs auth login --key)" sfs_ok_and "Authenticated with $base" alice2 auth login --url "$base" --key "$KEY_A"
check "sfs auth status shows the email" sfs_ok_and "$ALICE" alice auth status
check "sfs auth whoami shows the email" sfs_ok_and "$ALICE" alice auth whoami

# ---------------------------------------------------------------- push / list
log "push and list"
write_session alice "$SID" claude-code "Interop test session"
check "sfs daemon rebuild-index finds the session" sfs_ok_and "Rebuilt index: 1" alice daemon rebuild-index
check "sfs push creates the remote session" sfs_ok_and "Created remote session $SID" alice push "$SID"
check "server lists the session with the etag the client stored" \
    test "$(remote_etag "$KEY_A" "$SID")" == "$(local_etag alice "$SID")"
check "server kept title and source tool" \
    test "$(api "$KEY_A" GET "/api/v1/sessions/$SID" | json 'd["title"]+"|"+d["source_tool"]')" == "Interop test session|claude-code"
check "sfs list-remote shows it" sfs_ok_and "${SID:0:16}" alice list-remote
check "sfs list-remote --tool claude-code shows it" sfs_ok_and "${SID:0:16}" alice list-remote --tool claude-code

append_message alice "$SID" msg-003 "second push"
etag1="$(local_etag alice "$SID")"
check "second sfs push (If-Match) updates it" sfs_ok_and "Updated remote session $SID" alice push "$SID"
etag2="$(local_etag alice "$SID")"
check "the etag changed and matches the server" \
    test "$etag2" != "$etag1" -a "$etag2" == "$(remote_etag "$KEY_A" "$SID")"
check "server counts 3 messages" test "$(api "$KEY_A" GET "/api/v1/sessions/$SID" | json 'd["message_count"]')" == 3

# ---------------------------------------------------------------- pull on a second device
log "pull on a second device"
check "sfs pull on alice2" sfs_ok_and "Pulled session $SID" alice2 pull "$SID"
check "pulled messages.jsonl is identical" \
    cmp -s "$(store_of alice)/$SID.sfs/messages.jsonl" "$(store_of alice2)/$SID.sfs/messages.jsonl"
check "pulled workspace.json is identical" \
    cmp -s "$(store_of alice)/$SID.sfs/workspace.json" "$(store_of alice2)/$SID.sfs/workspace.json"
check "pulled manifest.json is identical apart from the sync block" \
    test "$(manifest_sans_sync "$(store_of alice)/$SID.sfs/manifest.json")" == "$(manifest_sans_sync "$(store_of alice2)/$SID.sfs/manifest.json")"
check "pulled copy stores the server etag" test "$(local_etag alice2 "$SID")" == "$etag2"
check "second sfs pull is a 304" sfs_ok_and "304 Not Modified" alice2 pull "$SID"

# ---------------------------------------------------------------- conflict
log "conflict"
append_message alice2 "$SID" msg-004 "from device 2"
check "alice2 pushes its change" sfs_ok_and "Updated remote session $SID" alice2 push "$SID"
append_message alice "$SID" msg-005 "from device 1"
sfs alice push "$SID" || true
check "alice's stale push gets the conflict message with the current etag" \
    out_has "Conflict: remote session was updated (etag=$(remote_etag "$KEY_A" "$SID" | cut -c1-16)"
check "sfs pull --force resolves it" sfs_ok_and "Pulled session $SID" alice pull "$SID" --force
check "alice now has device 2's message" grep -q "from device 2" "$(store_of alice)/$SID.sfs/messages.jsonl"

# ---------------------------------------------------------------- sync settings
log "sync settings"
check "sfs sync status" sfs_ok_and "Autosync:" alice sync status
check "sfs sync auto --mode all" sfs_ok_and "Autosync enabled: all sessions" alice sync auto --mode all
check "server stored mode=all" test "$(api "$KEY_A" GET /api/v1/sync/settings | json 'd["mode"]')" == all
check "sfs sync status shows all" sfs_ok_and "Synced:" alice sync status
check "sfs sync auto --mode selective" sfs_ok_and "selective mode" alice sync auto --mode selective
check "sfs sync watch" sfs_ok_and "added to autosync watchlist" alice sync watch "$SID"
check "sfs sync watchlist lists it" sfs_ok_and "$SID" alice sync watchlist
check "sfs sync unwatch" sfs_ok_and "removed from autosync watchlist" alice sync unwatch "$SID"
check "sfs sync auto --mode off" sfs_ok_and "Autosync disabled" alice sync auto --mode off

# ---------------------------------------------------------------- delete / trash / restore
log "delete, trash, restore"
check "sfs delete --cloud --force" sfs_ok_and "Deleted from cloud. Purge after:" alice delete "$SID" --cloud --force
check "server marks it deleted (scope cloud)" \
    test "$(api "$KEY_A" GET "/api/v1/sessions?deleted=true&page_size=100" | json "[s['delete_scope'] for s in d['sessions'] if s['id']=='$SID']")" == '["cloud"]'
check "it left the live list" test -z "$(remote_etag "$KEY_A" "$SID")"
check "sfs delete again says already deleted (410)" sfs_ok_and "already deleted on server" alice delete "$SID" --cloud --force
check "sfs trash lists it with its scope" sfs_ok_and "cloud" alice trash
check "sfs trash shows the server entry's title" out_has "Interop test session"
sfs alice push "$SID" || true
check "sfs push of a deleted session asks for --yes (local exclusion)" out_has "Pass --yes to undelete"
check "sfs restore" sfs_ok_and "Restored session $SID on server." alice restore "$SID"
check "it is back in the live list" test -n "$(remote_etag "$KEY_A" "$SID")"
check "sfs restore of a live session says not deleted (409)" sfs_ok_and "not deleted on server" alice restore "$SID"
check "delete again" sfs_ok alice delete "$SID" --cloud --force
append_message alice "$SID" msg-006 "undelete push"
check "sfs push --yes undeletes (X-SessionFS-Undelete)" sfs_ok_and "Updated remote session $SID" alice push "$SID" --yes
check "it is live again with the new etag" test "$(remote_etag "$KEY_A" "$SID")" == "$(local_etag alice "$SID")"
# A device that did not delete it pushes after a delete: 410 → the CLI cleans its copy up.
check "delete once more" sfs_ok alice delete "$SID" --cloud --force
append_message alice2 "$SID" msg-007 "late push"
sfs alice2 push "$SID" || true
check "push from the other device gets 410 and the deleted-on-server message" out_has "has been deleted on the server"
check "restore for the rest of the scenario" sfs_ok_and "Restored" alice restore "$SID"

# ---------------------------------------------------------------- sfs sync (bidirectional)
log "sfs sync"
write_session alice "$SID2" codex "Second interop session"
check "rebuild-index" sfs_ok alice daemon rebuild-index
check "sfs sync on alice pushes the new session" sfs_ok_and "Sync complete: 1 pushed" alice sync
check "login on a third, empty device" sfs_ok_and "Authenticated" alice3 auth login --url "$base" --key "$KEY_A"
check "sfs sync there pulls both sessions" sfs_ok_and "Sync complete: 0 pushed, 2 pulled" alice3 sync
check "the pulled session is byte-identical" \
    cmp -s "$(store_of alice)/$SID2.sfs/messages.jsonl" "$(store_of alice3)/$SID2.sfs/messages.jsonl"

# ---------------------------------------------------------------- handoff
log "handoff"
check "sfs handoff --to bob -m hi" sfs_ok_and "Handoff created: hnd_" alice handoff "$SID" --to "$BOB" -m hi
HND="$(grep -o 'hnd_[0-9a-f]*' "$work/out" | head -n 1 || true)"
[[ -n "$HND" ]] || die "no handoff id in the output of sfs handoff; cannot go on"
check "it tells bob how to pull" out_has "sfs pull-handoff $HND"
check "sfs handoffs inbox (bob) lists it" sfs_ok_and "$HND" bob handoffs inbox
check "sfs handoffs sent (alice) lists it" sfs_ok_and "$HND" alice handoffs sent
check "sfs pull-handoff (bob)" sfs_ok_and "Pulled handoff session" bob pull-handoff "$HND"
check "pull-handoff showed the sender and the message" out_has "From: $ALICE"
B_SID="$(grep -o 'Pulled handoff session ses_[a-z0-9]*' "$work/out" | awk '{print $4}' || true)"
check "bob's copy has a new id" test -n "$B_SID" -a "$B_SID" != "$SID"
check "bob's GET /sessions has the copy with parent_session_id = alice's id" \
    test "$(api "$KEY_B" GET "/api/v1/sessions?page_size=100" | json "[s['id'] for s in d['sessions'] if s['parent_session_id']=='$SID']")" == "[\"$B_SID\"]"
check "server says the handoff is claimed with that copy" \
    test "$(api "$KEY_A" GET "/api/v1/handoffs/$HND" | json 'd["status"]+"|"+str(d["recipient_session_id"])')" == "claimed|$B_SID"
check "bob's local copy has alice's messages" \
    cmp -s "$(store_of alice)/$SID.sfs/messages.jsonl" "$(store_of bob)/$B_SID.sfs/messages.jsonl"
check "sfs list-remote (bob) shows bob's copy" sfs_ok_and "${B_SID:0:16}" bob list-remote
check "alice's session is not in bob's account" test -z "$(remote_etag "$KEY_B" "$SID")"
check "pull-handoff again (already claimed, 409) still pulls" sfs_ok_and "already claimed" bob pull-handoff "$HND" --force

check "second handoff" sfs_ok_and "Handoff created" alice handoff "$SID" --to "$BOB"
HND2="$(grep -o 'hnd_[0-9a-f]*' "$work/out" | head -n 1 || true)"
check "sfs handoffs revoke (alice)" sfs_ok_and "revoked" alice handoffs revoke "$HND2" -r "changed my mind"
check "server says revoked" test "$(api "$KEY_B" GET "/api/v1/handoffs/$HND2" | json 'd["status"]')" == revoked
check "third handoff" sfs_ok_and "Handoff created" alice handoff "$SID" --to "$BOB"
HND3="$(grep -o 'hnd_[0-9a-f]*' "$work/out" | head -n 1 || true)"
check "sfs handoffs decline (bob)" sfs_ok_and "declined" bob handoffs decline "$HND3" -r "no thanks"
check "server says declined" test "$(api "$KEY_A" GET "/api/v1/handoffs/$HND3" | json 'd["status"]')" == declined

# ---------------------------------------------------------------- known incompatibilities
log "known incompatibilities (reported; fatal only with SFS_PY_STRICT=1)"
append_message bob "$B_SID" msg-b1 "bob continues"
check "bob can push his claimed handoff copy (the claim gives it its own manifest ID)" \
    sfs_ok_and "Updated remote session $B_SID" bob push "$B_SID"
check "sfs handoffs get works (reads handoff_kind from GET /handoffs/{id})" \
    sfs_ok_and "Status: claimed" bob handoffs get "$HND"
check "sfs handoffs comment works (POST /handoffs/{id}/comments)" \
    sfs_ok_and "posted on $HND" bob handoffs comment "$HND" -m "thanks"
check "sfs handoffs comments works (GET /handoffs/{id}/comments)" sfs_ok bob handoffs comments "$HND"
check "sfs handoffs events works (GET /handoffs/{id}/events)" sfs_ok bob handoffs events "$HND"
SID_AG="ses_a9a9a9a9a9a9a9a9"
write_session alice "$SID_AG" antigravity "Antigravity session"
sfs alice daemon rebuild-index >/dev/null || true
check "a session of the client's 'antigravity' watcher can be pushed (any source.tool is accepted)" \
    sfs_ok_and "Created remote session $SID_AG" alice push "$SID_AG"
B_ID="$(api "$KEY_B" GET /api/v1/auth/me | json 'd["user_id"]' || true)"
check "sfs handoff --to-user-id (body has recipient_user_id, no recipient_email)" \
    sfs_ok_and "Handoff created" alice handoff "$SID" --to-user-id "$B_ID"
api "$KEY_A" POST /api/v1/sessions/ses_ffffffffffffffff/restore >/dev/null
check "POST /sessions/{unknown}/restore answers 410 like the original (we answer $(cat "$work/status"))" status_is 410

# ---------------------------------------------------------------- summary
echo
if ((${#known_failing[@]})); then
    echo "known incompatibilities still present (${#known_failing[@]}):"
    printf '  - %s\n' "${known_failing[@]}"
fi
if ((${#known_fixed[@]})); then
    echo "known incompatibilities that now pass (promote them): ${known_fixed[*]}"
fi
echo "python-client interop ($PY_PKG==$PY_PKG_VERSION): checks passed $passes, failed $failures, known incompatibilities ${#known_failing[@]}"
if ((failures > 0)); then
    die "$failures check(s) failed"
fi
if [[ "${SFS_PY_STRICT:-0}" == 1 ]] && ((${#known_failing[@]})); then
    die "SFS_PY_STRICT=1 and ${#known_failing[@]} known incompatibilities remain"
fi
echo "python-client interop: OK"
