#!/usr/bin/env bash
# Chaos run: N nodes (default 5) joined with --join and all added as peers;
# call load from live nodes to live peers while random nodes are killed
# with SIGKILL and restarted on their data dirs WITHOUT --join. Prints the
# failure detection time, the rejoin time and the calls that failed; exits
# non-zero if any call to a live peer failed or a node never came back.
#   N=5 ROUNDS=3 BASE_PORT=8400 scripts/chaos.sh
set -uo pipefail
cd "$(dirname "$0")/.."
N=${N:-5} ROUNDS=${ROUNDS:-3} BASE=${BASE_PORT:-8400}
DATA=$(mktemp -d)
BIN=bin/mcpmesh
TOKEN=$($BIN token --username chaos@example.com 2>/dev/null) || { echo "build first: make build"; exit 2; }
declare -a PIDS

now_ms() { date +%s%3N; }
port() { echo $((BASE + $1)); }
start_node() { # i [join]
  local i=$1 join=()
  [ $# -gt 1 ] && join=(--join "127.0.0.1:$((BASE + 1000))")
  $BIN serve --dev --demo --name "chaos-$i" --http "127.0.0.1:$(port "$i")" --gossip "127.0.0.1:$((BASE + 1000 + i))" \
    --data-dir "$DATA/chaos-$i" "${join[@]}" >>"$DATA/chaos-$i.log" 2>&1 &
  PIDS[$i]=$!
}
stop_all() {
  kill "${LOAD_PID:-}" 2>/dev/null
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
}
trap stop_all EXIT
api() { curl -s -m 5 -H "Authorization: Bearer $TOKEN" "$@"; }
poll() { # seconds condition...: true once the condition holds
  local deadline=$(( $(now_ms) + $1 * 1000 )); shift
  while [ "$(now_ms)" -lt $deadline ]; do "$@" && return 0; sleep 0.05; done
  return 1
}
ready() { curl -sf -m 1 "127.0.0.1:$(port "$1")/ready" >/dev/null; }
state_on() { api "127.0.0.1:$(port "$1")/api/federation/members" | jq -r ".[] | select(.name == \"chaos-$2\") | .status"; }
all_see() { # victim state
  local i; for i in $(seq 0 $((N - 1))); do
    [ "$i" = "$1" ] && continue
    [ "$(state_on "$i" "$1")" = "$2" ] || return 1
  done
}
calls_ok() { # victim: every survivor calls the victim's whoami
  local i; for i in $(seq 0 $((N - 1))); do
    [ "$i" = "$1" ] && continue
    out=$(api -X POST "127.0.0.1:$(port "$i")/mcp" -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"chaos-${1}__whoami\",\"arguments\":{}}}")
    [ "$(jq -r '.result.content[0].text' <<<"$out" 2>/dev/null)" = "chaos-$1" ] || return 1
  done
}
load() { # calls between live nodes until killed; one line per call
  while :; do
    a=$((RANDOM % N)) b=$((RANDOM % N))
    [ "$a" = "$b" ] && continue
    grep -qx -e "$a" -e "$b" "$DATA/down" 2>/dev/null && continue
    out=$(api -X POST "127.0.0.1:$(port "$a")/mcp" -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"chaos-${b}__whoami\",\"arguments\":{}}}")
    if grep -qx -e "$a" -e "$b" "$DATA/down" 2>/dev/null; then continue; fi # a kill raced the call
    if [ "$(jq -r '.result.content[0].text' <<<"$out" 2>/dev/null)" = "chaos-$b" ]; then echo ok; else echo "FAIL $a->$b $out"; fi
  done >>"$DATA/calls"
}

make -s build >/dev/null || exit 2
: >"$DATA/down"
start_node 0
poll 30 ready 0 || { echo "node 0 never became ready"; exit 1; }
for i in $(seq 1 $((N - 1))); do start_node "$i" join; done
for i in $(seq 0 $((N - 1))); do poll 30 ready "$i" || { echo "node $i never became ready"; exit 1; }; done
for i in $(seq 1 $((N - 1))); do
  api -X POST "127.0.0.1:$(port 0)/api/federation/peers" -d "{\"url\":\"http://127.0.0.1:$(port "$i")\"}" >/dev/null
done
api -X POST "127.0.0.1:$(port 1)/api/federation/peers" -d "{\"url\":\"http://127.0.0.1:$(port 0)\"}" >/dev/null
for i in $(seq 0 $((N - 1))); do poll 30 calls_ok "$i" || { echo "ring never federated chaos-$i"; exit 1; }; done
echo "ring of $N up and federated; $ROUNDS rounds of kill -9 and restart"
load & LOAD_PID=$!

failed_rounds=0
for r in $(seq 1 "$ROUNDS"); do
  v=$((RANDOM % N))
  echo "$v" >"$DATA/down"; sleep 0.3 # no new calls involve the victim
  t0=$(now_ms); kill -9 "${PIDS[$v]}"; wait "${PIDS[$v]}" 2>/dev/null
  if poll 30 all_see "$v" dead; then detect=$(( $(now_ms) - t0 )); else detect=timeout; failed_rounds=$((failed_rounds + 1)); fi
  t1=$(now_ms); start_node "$v" # no --join: it rejoins from what its store kept
  if poll 60 all_see "$v" alive && poll 30 calls_ok "$v"; then rejoin=$(( $(now_ms) - t1 )); else rejoin=timeout; failed_rounds=$((failed_rounds + 1)); fi
  : >"$DATA/down"
  echo "round $r: killed chaos-$v; detected dead by all in ${detect} ms; back and federated everywhere ${rejoin} ms after restart"
done
sleep 1; kill "$LOAD_PID" 2>/dev/null; wait "$LOAD_PID" 2>/dev/null
ok=$(grep -c '^ok' "$DATA/calls"); bad=$(grep -c '^FAIL' "$DATA/calls")
grep '^FAIL' "$DATA/calls" | head -5
echo "calls between live nodes: $ok ok, $bad failed"
if [ "$bad" -ne 0 ] || [ "$failed_rounds" -ne 0 ]; then echo "chaos: FAILED (logs in $DATA)"; exit 1; fi
stop_all; trap - EXIT
rm -rf "$DATA"
echo "chaos: passed"
