#!/usr/bin/env bash
# Partition run (root): five nodes on their own hosts (scripts/netns-ring.sh),
# one per namespace mm-i at 10.77.0.(10+i), split 3|2 by cutting every link
# across the split. Checks that both sides keep serving (each lists what it
# reaches and names the other side's peers as missing; same-side calls work),
# writes the registry on both sides during the split (different peers on each
# side, the same peer's trust on both, and an access rule on each side), heals,
# prints the time until every node holds the same registry digest and sees
# five alive members, and checks that no write was lost beyond
# last-writer-wins on the same peer (and that every node holds both rules). Exits
# non-zero on any failure; everything started is removed on exit.
# A second split then checks services and sessions (issue 11): a service
# "svc" on part-1, part-2 (side A) and part-3 (side B) is served on each side
# by the providers it reaches, and after the heal by all three again; a legacy
# session minted on part-0 is served through a node of its side, is 404 across
# the split, and is served again from the other side after the heal.
#   sudo scripts/partition.sh        (make partition)
set -uo pipefail
cd "$(dirname "$0")/.."
N=5 SIDE_A="0 1 2" SIDE_B="3 4"
RING=scripts/netns-ring.sh BIN=bin/mcpmesh EV=bin/everything-server
DATA=$(mktemp -d)
declare -a PIDS
[ "$(id -u)" = 0 ] || { echo "partition: must run as root (network namespaces)"; exit 2; }
ip link show mmbr0 >/dev/null 2>&1 && { echo "partition: mmbr0 exists: another run, or stale (scripts/netns-ring.sh down)"; exit 2; }

now_ms() { date +%s%3N; }
ip_of() { echo "10.77.0.$((10 + $1))"; }
url() { echo "http://$(ip_of "$1"):8000"; }
fail() { echo "partition: FAILED: $* (logs in $DATA)"; KEEP=1; exit 1; }
cleanup() {
  local p; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  bash $RING down
  [ -n "${KEEP:-}" ] || rm -rf "$DATA"
}
trap cleanup EXIT
poll() { # seconds condition...: true once the condition holds
  local deadline=$(( $(now_ms) + $1 * 1000 )); shift
  while [ "$(now_ms)" -lt $deadline ]; do "$@" && return 0; sleep 0.05; done
  return 1
}
api() { curl -s -m 3 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }
rpc() { # node method params
  api -X POST "$(url "$1")/mcp" -H 'Accept: application/json, text/event-stream' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":$3}"
}
start_node() { # i [join]
  local i=$1 join=()
  [ $# -gt 1 ] && join=(--join "$(ip_of 0):9000")
  bash $RING exec "$i" $BIN serve --dev --demo --name "part-$i" --http "$(ip_of "$i"):8000" \
    --gossip "$(ip_of "$i"):9000" --advertise-url "$(url "$i")" --data-dir "$DATA/part-$i" "${join[@]}" \
    >>"$DATA/part-$i.log" 2>&1 &
  PIDS[$i]=$!
}
ready() { curl -sf -m 1 "$(url "$1")/ready" >/dev/null; }
status_on() { api "$(url "$1")/api/federation/members" | jq -r ".[] | select(.name == \"part-$2\") | .status"; }
sees() { # state node others...: node sees every other in state
  local s=$1 n=$2 o; shift 2
  for o in "$@"; do [ "$(status_on "$n" "$o")" = "$s" ] || return 1; done
}
all_alive() { local i; for i in $(seq 0 $((N - 1))); do sees alive "$i" $(seq 0 $((N - 1))) || return 1; done; }
digests_equal() {
  local i d; d=$(for i in $(seq 0 $((N - 1))); do api "$(url "$i")/api/federation/info" | jq -r '.registry_digest // "none"'; done | sort -u)
  [ "$(wc -l <<<"$d")" = 1 ] && [ "$d" != none ] && [ -n "$d" ]
}
converged() { all_alive && digests_equal; }
calls() { # node peer: node calls peer's whoami through the federation (its own locally)
  local tool="part-$2__whoami"; [ "$1" = "$2" ] && tool=whoami
  [ "$(rpc "$1" tools/call "{\"name\":\"$tool\",\"arguments\":{}}" | jq -r '.result.content[0].text' 2>/dev/null)" = "part-$2" ]
}
missing() { # node peers...: tools/list on node names every given peer as missing
  local m p; m=$(rpc "$1" tools/list '{}' | jq -c '.result._meta["mcpmesh/missing_peers"] // []') || return 1
  shift; for p in "$@"; do jq -e --arg p "part-$p" 'index($p) != null' <<<"$m" >/dev/null || return 1; done
}
not_missing() { # node: nothing is missing and the list still answers
  [ "$(rpc "$1" tools/list '{}' | jq -c '.result._meta["mcpmesh/missing_peers"] // [] | length')" = 0 ]
}
trust_on() { api "$(url "$1")/api/federation/peers/part-$2" | jq -r '.trust_level // "absent"'; }
has_trust() { # level peer nodes...: every node holds peer at level
  local lvl=$1 p=$2 n; shift 2
  for n in "$@"; do [ "$(trust_on "$n" "$p")" = "$lvl" ] || return 1; done
}
add_peer() { # node peer
  local code; code=$(api -o /dev/null -w '%{http_code}' -X POST "$(url "$1")/api/federation/peers" \
    -d "{\"url\":\"$(url "$2")\",\"name\":\"part-$2\",\"trust_level\":\"full\"}")
  [ "$code" = 201 ] || fail "adding peer part-$2 on part-$1: HTTP $code"
}
add_rule() { # node name: a deny rule for nobody (it changes no one's view)
  local code; code=$(api -o /dev/null -w '%{http_code}' -X POST "$(url "$1")/api/policy/rules" \
    -d "{\"name\":\"$2\",\"effect\":\"deny\",\"principals\":[\"user:nobody\"],\"tools\":[\"$2__*\"]}")
  [ "$code" = 201 ] || fail "adding rule $2 on part-$1: HTTP $code"
}
rules_on() { api "$(url "$1")/api/policy/rules" | jq -r 'map(.name) | sort | join(" ")'; }
has_rules() { # want nodes...: every node holds exactly the rules want
  local want=$1 n; shift
  for n in "$@"; do [ "$(rules_on "$n")" = "$want" ] || return 1; done
}
set_trust() { # node peer level
  local code; code=$(api -o /dev/null -w '%{http_code}' -X PATCH "$(url "$1")/api/federation/peers/part-$2" \
    -d "{\"trust_level\":\"$3\"}")
  [ "$code" = 200 ] || fail "setting part-$2 to $3 on part-$1: HTTP $code"
}

make -s build >/dev/null || exit 2
go build -o $EV github.com/modelcontextprotocol/go-sdk/conformance/everything-server || exit 2
TOKEN=$($BIN token --username partition@example.com 2>/dev/null) || fail "no token"
bash $RING up $N || fail "netns-ring up"
t_start=$(now_ms)
start_node 0
poll 30 ready 0 || fail "part-0 never became ready"
for i in $(seq 1 $((N - 1))); do start_node "$i" join; done
for i in $(seq 0 $((N - 1))); do poll 30 ready "$i" || fail "part-$i never became ready"; done
poll 30 all_alive || fail "the ring of $N never formed"
# Before the split the registry holds part-0, part-1 and part-3 (full).
add_peer 1 0; add_peer 0 1; add_peer 0 3 # a node cannot add itself
for i in $(seq 0 $((N - 1))); do poll 20 calls "$i" 3 || fail "part-$i never federated part-3"; done
poll 20 digests_equal || fail "registry never converged before the split"
echo "ring of $N up on 10.77.0.10-14, peers part-0, part-1, part-3 ($(( $(now_ms) - t_start )) ms)"

for a in $SIDE_A; do for b in $SIDE_B; do bash $RING cut "$a" "$b" || fail "cut $a $b"; done; done
t_cut=$(now_ms)
for a in $SIDE_A; do poll 20 sees dead "$a" $SIDE_B || fail "part-$a never saw side B dead"; done
for b in $SIDE_B; do poll 20 sees dead "$b" $SIDE_A || fail "part-$b never saw side A dead"; done
echo "split 3|2 ({$SIDE_A} | {$SIDE_B}): seen dead across it in $(( $(now_ms) - t_cut )) ms"
# Both sides serve: lists answer, name what is missing; same-side calls work.
for a in $SIDE_A; do poll 10 missing "$a" 3 || fail "part-$a does not name part-3 missing"; done
for b in $SIDE_B; do poll 10 missing "$b" 0 1 || fail "part-$b does not name part-0, part-1 missing"; done
for a in $SIDE_A; do for p in 0 1; do calls "$a" "$p" || fail "part-$a -> part-$p failed during the split"; done; done
for b in $SIDE_B; do calls "$b" 3 || fail "part-$b -> part-3 failed during the split"; done
echo "both sides serve: missing peers listed, same-side calls ok"

# Writes on both sides: different peers, and part-3's trust on both (B last).
add_peer 1 2; set_trust 2 1 discover; set_trust 0 3 discover
sleep 0.05 # B's write to part-3 is later in wall time: it must win
add_peer 3 4; set_trust 3 0 discover; set_trust 4 3 none
poll 10 has_trust full 2 $SIDE_A || fail "side A never agreed on part-2"
poll 10 has_trust full 4 $SIDE_B || fail "side B never agreed on part-4"
calls 0 2 && calls 3 4 || fail "a peer added during the split is not callable on its side"
add_rule 1 side-a; add_rule 4 side-b # an access rule written on each side
poll 10 has_rules side-a $SIDE_A || fail "side A never agreed on rule side-a"
poll 10 has_rules side-b $SIDE_B || fail "side B never agreed on rule side-b"
echo "writes during the split: A added part-2, part-1 discover, part-3 discover, rule side-a; B added part-4, part-0 discover, part-3 none, rule side-b"

for a in $SIDE_A; do for b in $SIDE_B; do bash $RING heal "$a" "$b" || fail "heal $a $b"; done; done
t_heal=$(now_ms)
poll 60 converged || fail "no convergence within 60 s of the heal"
heal_ms=$(( $(now_ms) - t_heal ))
echo "healed: equal registry digests and $N alive on every node ${heal_ms} ms after the heal"

# Nothing lost: every node holds every write; part-3 holds the last writer's.
want="part-0=discover part-1=discover part-2=full part-3=none part-4=full"
for i in $(seq 0 $((N - 1))); do
  got=$(api "$(url "$i")/api/federation/peers" | jq -r 'sort_by(.name) | map("\(.name)=\(.trust_level)") | join(" ")')
  [ "$got" = "$want" ] || fail "part-$i holds '$got', want '$want'"
done
for i in $(seq 0 $((N - 1))); do poll 20 not_missing "$i" || fail "part-$i still lists missing peers"; done
for i in $(seq 0 $((N - 1))); do for p in 2 4; do poll 20 calls "$i" "$p" || fail "part-$i -> part-$p after the heal"; done; done
echo "registry after the heal on all $N nodes: $want"
poll 30 has_rules "side-a side-b" $(seq 0 $((N - 1))) || fail "the rules did not heal: $(for i in $(seq 0 $((N - 1))); do echo -n "part-$i='$(rules_on "$i")' "; done)"
echo "rules after the heal on all $N nodes: side-a side-b"

# Round 2: a service and a session across a second split.
add_service() { # node: an everything-server upstream "ev" in service "svc"
  local code; code=$(api -o /dev/null -w '%{http_code}' -X POST "$(url "$1")/api/servers" \
    -d "{\"name\":\"ev\",\"command\":\"$PWD/$EV\",\"service\":\"svc\"}")
  [ "$code" = 201 ] || fail "adding service svc on part-$1: HTTP $code"
}
providers_of() { # node: the providers that 6 concurrent 150 ms calls from node ran on ("error" for a failed call)
  local k
  for k in 1 2 3 4 5 6; do
    rpc "$1" tools/call '{"name":"svc__test_tool_with_progress","arguments":{}}' |
      jq -r 'if .result != null and (.result.isError | not) then .result._meta["mcpmesh/provider"] // "unnamed" else "error" end' &
  done | sort -u | xargs
}
served_by() { # node providers...: node's calls ran on exactly the given providers, none failed
  local want; want=$(printf 'part-%s\n' "${@:2}" | sort -u | xargs)
  got=$(providers_of "$1"); [ "$got" = "$want" ]
}
served_within() { # node providers...: node's calls ran only on the given providers, none failed
  # grep reads to the end (no -q): under pipefail, -q quitting at the first
  # match can fail printf with SIGPIPE, and the check with it.
  local p; got=$(providers_of "$1"); [ -n "$got" ] || return 1
  for p in $got; do printf 'part-%s\n' "${@:2}" | grep -x -- "$p" >/dev/null || return 1; done
}
open_session() { # node: a 2025-11-25 session minted on node; prints its id
  local id; id=$(api -D - -o /dev/null -X POST "$(url "$1")/mcp" -H 'Accept: application/json, text/event-stream' \
    -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"partition","version":"1"}}}' |
    tr -d '\r' | awk -F': ' 'tolower($1) == "mcp-session-id" {print $2}')
  [ -n "$id" ] || return 1
  session_post "$1" "$id" '{"jsonrpc":"2.0","method":"notifications/initialized"}' >/dev/null
  echo "$id"
}
session_post() { # node id body: POST body in session id through node; prints the HTTP status, then the body
  api -w '\n%{http_code}' -X POST "$(url "$1")/mcp" -H 'Accept: application/json, text/event-stream' \
    -H "Mcp-Session-Id: $2" -H 'MCP-Protocol-Version: 2025-11-25' -d "$3"
}
session_call() { # node id: the HTTP status of a whoami call in session id through node (200 only with its answer)
  local out; out=$(session_post "$1" "$2" '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}')
  local code=${out##*$'\n'}
  [ "$code" = 200 ] && ! grep -q '"part-0"' <<<"$out" && code="200-but-not-part-0"
  echo "$code"
}
session_is() { [ "$(session_call "$1" "$2")" = "$3" ]; }

set_trust 0 1 full; set_trust 0 3 full # the providers must be full-trust peers
poll 10 has_trust full 1 $(seq 0 $((N - 1))) && poll 10 has_trust full 3 $(seq 0 $((N - 1))) ||
  fail "part-1 and part-3 never became full on every node"
for p in 1 2 3; do add_service "$p"; done
poll 30 served_by 0 1 2 3 || fail "part-0's calls of svc never reached part-1, part-2 and part-3 (last: $got)"
poll 30 served_by 4 1 2 3 || fail "part-4's calls of svc never reached part-1, part-2 and part-3 (last: $got)"
SID=$(open_session 0) || fail "no session on part-0"
session_is 1 "$SID" 200 || fail "the session of part-0 through part-1: HTTP $(session_call 1 "$SID")"
echo "service svc on part-1, part-2, part-3 serves callers on part-0 and part-4; a part-0 session works through part-1"

for a in $SIDE_A; do for b in $SIDE_B; do bash $RING cut "$a" "$b" || fail "cut $a $b"; done; done
for a in $SIDE_A; do poll 20 sees dead "$a" $SIDE_B || fail "part-$a never saw side B dead"; done
for b in $SIDE_B; do poll 20 sees dead "$b" $SIDE_A || fail "part-$b never saw side A dead"; done
for k in 1 2 3; do
  served_within 0 1 2 || fail "part-0's calls during the split ran on: $got (want part-1, part-2 only, none failed)"
  served_by 4 3 || fail "part-4's calls during the split ran on: $got (want part-3 only, none failed)"
done
session_is 2 "$SID" 200 || fail "the part-0 session through part-2 during the split: HTTP $(session_call 2 "$SID")"
session_is 3 "$SID" 404 || fail "the part-0 session through part-3 across the split: HTTP $(session_call 3 "$SID"), want 404"
echo "split again: each side's calls of svc ran on the providers it reaches, none failed; the session is 404 across it"

for a in $SIDE_A; do for b in $SIDE_B; do bash $RING heal "$a" "$b" || fail "heal $a $b"; done; done
t_heal2=$(now_ms)
poll 60 converged || fail "no convergence within 60 s of the second heal"
poll 30 served_by 4 1 2 3 || fail "part-4's calls after the heal never reached all three providers (last: $got)"
poll 30 served_by 0 1 2 3 || fail "part-0's calls after the heal never reached all three providers (last: $got)"
poll 10 session_is 4 "$SID" 200 || fail "the part-0 session through part-4 after the heal: HTTP $(session_call 4 "$SID")"
echo "healed again: svc spreads over part-1, part-2, part-3 from both sides, the session works from part-4 ($(( $(now_ms) - t_heal2 )) ms)"
echo "partition: passed (heal time ${heal_ms} ms; total $(( $(now_ms) - t_start )) ms)"
