#!/usr/bin/env bash
# The seed federation test plan (shared/seed/federation-test-plan.txt), its
# ten cases run with the plan's own curl lines against two nodes started as
# the plan starts them: `PORT=8000 make dev &` and `PORT=8001 make dev &`.
# The plan's token line is `mcpmesh token ...` with the same arguments.
# Prints one line per case and "N passed, M failed"; exits non-zero on a
# failure. Needs ports 8000, 8001, 9000 and 9001 free, curl and jq.
set -uo pipefail
cd "$(dirname "$0")/.."

export DATA_ROOT="${DATA_ROOT:-$(mktemp -d)}"
export MCPMESH_PEER_TIMEOUT="${MCPMESH_PEER_TIMEOUT:-2s}" # CG-02: a slow peer
export PATH="$PWD/bin:$PATH"
passed=0 failed=0

ok()   { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
node_pid() { pgrep -f -- "serve --dev --demo --name gateway-$1" | head -1; }
stop_all() {
  for port in 8000 8001; do
    pid=$(node_pid $port); [ -n "$pid" ] && kill "$pid" 2>/dev/null
  done
  wait 2>/dev/null
}
trap stop_all EXIT

wait_ready() { # bounded: 60 s
  for _ in $(seq 1 300); do
    curl -sf "localhost:$1/ready" >/dev/null && return 0
    sleep 0.2
  done
  echo "node on port $1 never became ready; its log:"; cat "$DATA_ROOT/$1.log"; exit 1
}

make -s build >/dev/null || exit 1

# 📋 Test Environment Setup (as written, token line replaced)
export GATEWAY_A_URL="http://localhost:8000"
export GATEWAY_B_URL="http://localhost:8001"
export REDIS_URL="redis://localhost:6379"
export TOKEN=$(mcpmesh token \
--username admin@example.com --secret "${JWT_SECRET:-}")
unset REDIS_URL # the plan exports it but no case uses Redis; the nodes need none
# Start Gateway A
PORT=8000 make dev >"$DATA_ROOT/8000.log" 2>&1 &
# Start Gateway B
PORT=8001 make dev >"$DATA_ROOT/8001.log" 2>&1 &
wait_ready 8000; wait_ready 8001

# PM-01: Add Federated Peer
out=$(curl -s -X POST "$GATEWAY_A_URL/api/federation/peers" \
-H "Authorization: Bearer $TOKEN" \
-H "Content-Type: application/json" \
-d "{
\"url\": \"$GATEWAY_B_URL\",
\"name\": \"gateway-b\",
\"trust_level\": \"full\"
}" | jq .)
listed=$(curl -s "$GATEWAY_A_URL/api/federation/peers" \
-H "Authorization: Bearer $TOKEN" | jq -c '.[] | {name, url, status}')
if [ "$(jq -r .name <<<"$out")" = gateway-b ] && grep -q '"name":"gateway-b"' <<<"$listed"; then
  ok "PM-01 add peer"; else fail "PM-01 add peer" "$out / $listed"; fi

# PM-02: List peers, status visible
status=$(jq -r 'select(.name == "gateway-b") | .status' <<<"$listed")
if [ "$status" = online ]; then ok "PM-02 list peers ($status)"; else fail "PM-02 list peers" "status '$status'"; fi

# PM-04: Peer health
health=$(curl -s "$GATEWAY_A_URL/api/federation/peers/gateway-b" -H "Authorization: Bearer $TOKEN" | jq -r .status)
if [ "$health" = online ]; then ok "PM-04 peer health ($health)"; else fail "PM-04 peer health" "status '$health'"; fi

# TD-01: Local only
local_sources=$(curl -s -X POST "$GATEWAY_A_URL/mcp/http" \
-H "Authorization: Bearer $TOKEN" \
-H "Content-Type: application/json" \
-d '{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"include_federated": false}}' \
| jq -r '.result.tools[].source' | sort -u)
if [ "$local_sources" = gateway-8000 ]; then ok "TD-01 local only"; else fail "TD-01 local only" "sources: $local_sources"; fi

# TD-02: Discover Federated Tools
curl -s -X POST "$GATEWAY_A_URL/mcp/http" \
-H "Authorization: Bearer $TOKEN" \
-H "Content-Type: application/json" \
-d '{
"jsonrpc": "2.0",
"id": 1,
"method": "tools/list",
"params": {"include_federated": true}
}' | jq -c '.result.tools[] | {name, source}' >/dev/null
SOURCES=$(curl -s -X POST "$GATEWAY_A_URL/mcp/http" \
-H "Authorization: Bearer $TOKEN" \
-H "Content-Type: application/json" \
-d '{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"include_federated": true}}' \
| jq -r '.result.tools[].source' | sort -u)
if [ "$(echo $SOURCES)" = "gateway-8000 gateway-b" ]; then ok "TD-02 federated"; else fail "TD-02 federated" "sources: $(echo $SOURCES)"; fi

# CG-01: Invoke Federated Tool
PEER_TOOL=$(curl -s -X POST "$GATEWAY_A_URL/mcp/http" \
-H "Authorization: Bearer $TOKEN" \
-H "Content-Type: application/json" \
-d '{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"include_federated": true}}' \
| jq -r '.result.tools[] | select(.source == "gateway-b") | .name' | head -1)
res=$(curl -s -X POST "$GATEWAY_A_URL/mcp/http" \
-H "Authorization: Bearer $TOKEN" \
-H "Content-Type: application/json" \
-d "{
\"jsonrpc\": \"2.0\",
\"id\": 1,
\"method\": \"tools/call\",
\"params\": {\"name\": \"$PEER_TOOL\", \"arguments\": {}}
}" | jq .)
if [ -n "$PEER_TOOL" ] && [ "$(jq -r '.result.isError // false' <<<"$res")" = false ] && [ "$(jq -r '.result.content[0].type' <<<"$res")" = text ]; then
  ok "CG-01 invoke $PEER_TOOL"; else fail "CG-01 invoke '$PEER_TOOL'" "$res"; fi

# CG-02: Peer timeout (B's sleep outlasts A's peer timeout)
res=$(curl -s -m 20 -X POST "$GATEWAY_A_URL/mcp/http" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
-d '{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "gateway-b__sleep", "arguments": {"ms": 6000}}}')
if [ "$(jq -r '.result._meta["mcpmesh/error"]' <<<"$res")" = peer_timeout ] && grep -q gateway-b <<<"$res"; then
  ok "CG-02 peer timeout"; else fail "CG-02 peer timeout" "$res"; fi

# PM-03: Remove peer, then add it back for the offline cases
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$GATEWAY_A_URL/api/federation/peers/gateway-b" -H "Authorization: Bearer $TOKEN")
left=$(curl -s "$GATEWAY_A_URL/api/federation/peers" -H "Authorization: Bearer $TOKEN" | jq -r '.[].name')
tools=$(curl -s -X POST "$GATEWAY_A_URL/mcp/http" -H "Authorization: Bearer $TOKEN" \
-d '{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"include_federated": true}}' | jq -r '.result.tools[].source' | sort -u)
if [ "$code" = 204 ] && ! grep -q gateway-b <<<"$left$tools"; then ok "PM-03 remove peer"; else fail "PM-03 remove peer" "DELETE $code, peers '$left', sources '$tools'"; fi
curl -s -X POST "$GATEWAY_A_URL/api/federation/peers" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
-d "{\"url\": \"$GATEWAY_B_URL\", \"name\": \"gateway-b\", \"trust_level\": \"full\"}" >/dev/null

# TD-03: Peer offline: local tools and a warning, fast
kill -9 "$(node_pid 8001)"
res=$(curl -s -m 5 -X POST "$GATEWAY_A_URL/mcp/http" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
-d '{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"include_federated": true}}')
for _ in $(seq 1 50); do # the link notices the dead port at once; gossip within seconds
  [ "$(jq -r '.result._meta["mcpmesh/missing_peers"][0] // empty' <<<"$res")" = gateway-b ] && break
  sleep 0.2
  res=$(curl -s -m 5 -X POST "$GATEWAY_A_URL/mcp/http" -H "Authorization: Bearer $TOKEN" \
  -d '{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"include_federated": true}}')
done
if [ "$(jq -r '.result._meta["mcpmesh/missing_peers"][0]' <<<"$res")" = gateway-b ] && [ "$(jq -r '[.result.tools[].source] | unique | join(",")' <<<"$res")" = gateway-8000 ]; then
  ok "TD-03 peer offline: degraded listing"; else fail "TD-03 peer offline" "$res"; fi

# CG-03: Peer offline: a clear error
res=$(curl -s -m 5 -X POST "$GATEWAY_A_URL/mcp/http" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
-d "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"tools/call\", \"params\": {\"name\": \"$PEER_TOOL\", \"arguments\": {}}}")
if [ "$(jq -r '.result._meta["mcpmesh/error"]' <<<"$res")" = peer_offline ] && jq -r '.result.content[0].text' <<<"$res" | grep gateway-b >/dev/null; then
  ok "CG-03 dead peer: $(jq -r '.result.content[0].text' <<<"$res" | cut -c1-60)"; else fail "CG-03 dead peer" "$res"; fi

echo "seed plan: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
