#!/usr/bin/env bash
# `wanqi-agent status` tells apart, against a real collector on 127.0.0.1:
# this agent's key not authorized there, a handshake that does not complete
# (a wrong collector key in agent.conf, or a stalled link: wq-faultlink
# --stall, which accepts and delivers nothing; both are named, in English
# and in Chinese), and an address where nothing answers (the socket
# monitor's events). Every wait has a deadline and says what it waited for; every
# process started here is stopped, the temp folder removed.
set -uo pipefail
B=${WANQI_BIN_DIR:?}
T=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "link_diagnosis: $*" >&2; exit 1; }
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
P1=$(port); P2=$(port); DEAD=$(port)
"$B/wanqi-collector" init --dir "$T/c" --ingest "tcp://127.0.0.1:$P1" --query "tcp://127.0.0.1:$P2" \
  >/dev/null 2>&1 || fail "collector init failed"
"$B/wanqi-collector" run --dir "$T/c" >"$T/c.log" 2>&1 & pids+=($!)
for _ in $(seq 300); do grep -q "running (pid" "$T/c.log" && break; sleep 0.1; done
grep -q "running (pid" "$T/c.log" || fail "waited 30 s for the collector to run: $(cat "$T/c.log")"
CK=$("$B/wanqi-collector" key --dir "$T/c")
OTHER='rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7'
check() {  # case endpoint key expected-text [status-locale]
  local lang=${5:-C.UTF-8}
  "$B/wanqi-agent" init --dir "$T/$1" --agent-id 130102-01 --county 130102 --collector "$2" \
    --collector-key "$3" --config heartbeat_ms=300 --config backoff_max_ms=1000 >/dev/null 2>&1 \
    || fail "$1: agent init failed"
  LANG=$lang "$B/wanqi-agent" run --dir "$T/$1" >"$T/$1.log" 2>&1 & local ap=$!
  pids+=("$ap")
  st=""
  for _ in $(seq 300); do
    st=$(LANG=$lang "$B/wanqi-agent" status --dir "$T/$1" 2>&1)
    [[ $st == *"$4"* ]] && break
    sleep 0.1
  done
  kill "$ap"; wait "$ap" 2>/dev/null
  [[ $st == *"$4"* ]] || fail "$1: waited 30 s for status to say '$4'; it says: $st"
}
check unauthorized "tcp://127.0.0.1:$P1" "$CK" "refused this agent's key (not authorized)"
grep -q "denied (CURVE) client_key=" "$T/c.log" || fail "the collector's log does not name the refused key"
check wrong_key "tcp://127.0.0.1:$P1" "$OTHER" "the encrypted handshake did not complete in"
[[ $st == *"a wrong collector_key in agent.conf"*"a stalled or slow link"* ]] \
  || fail "wrong_key: status does not name both causes: $st"
# A stalled link with the right key: the same words, never "the key is wrong" alone.
"$B/wq-faultlink" --listen 127.0.0.1:0 --target "127.0.0.1:$P1" --stall --quiet \
  --ready-file "$T/fl.ready" 2>"$T/fl.log" & pids+=($!)
for _ in $(seq 300); do [ -s "$T/fl.ready" ] && break; sleep 0.1; done
[ -s "$T/fl.ready" ] || fail "waited 30 s for wq-faultlink's ready file: $(cat "$T/fl.log")"
FL=$(sed -n 's/^listen=\([0-9]*\) .*/\1/p' "$T/fl.ready")
check stalled "tcp://127.0.0.1:$FL" "$CK" "the encrypted handshake did not complete in"
[[ $st == *"a wrong collector_key in agent.conf"*"a stalled or slow link"* ]] \
  || fail "stalled: status does not name both causes: $st"
check stalled_zh "tcp://127.0.0.1:$FL" "$CK" "加密握手" zh_CN.UTF-8
[[ $st == *"collector_key 有误"*"线路停滞或太慢"* ]] \
  || fail "stalled_zh: status does not name both causes in Chinese: $st"
check unreachable "tcp://127.0.0.1:$DEAD" "$CK" "cannot reach tcp://127.0.0.1:$DEAD"
echo "link_diagnosis: ok"
