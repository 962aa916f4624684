package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// randomBodies makes n hostile request bodies from a fixed seed: random
// bytes, truncated requests, huge numbers, deep nesting, odd ids, random
// methods with random params.
func randomBodies(n int) [][]byte {
	r := rand.New(rand.NewPCG(2, 42))
	gens := []func(*rand.Rand) []byte{
		randomBytes, truncatedRequest, hugeNumbers, deepNesting,
		func(r *rand.Rand) []byte { return mustJSON(randomValue(r, 4)) },
		randomEnvelope, oddIDs, longStrings,
	}
	out := make([][]byte, n)
	for i := range out {
		out[i] = gens[i%len(gens)](r)
	}
	return out
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func randomBytes(r *rand.Rand) []byte {
	b := make([]byte, r.IntN(2048))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func truncatedRequest(r *rand.Rand) []byte {
	b := randomEnvelope(r)
	return b[:r.IntN(len(b))]
}

func hugeNumbers(r *rand.Rand) []byte {
	nums := []string{"1e999999", "-1e999999", "123456789012345678901234567890123456789", "0.0000000000000000000000001", "9223372036854775808", "-0"}
	num := func() string { return nums[r.IntN(len(nums))] }
	return fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"add","arguments":{"a":%s,"b":%s}}}`, num(), num(), num())
}

func deepNesting(r *rand.Rand) []byte {
	depth := 1000 + r.IntN(100000)
	open, shut := "[", "]"
	if r.IntN(2) == 0 {
		open, shut = `{"a":`, "}"
	}
	var b bytes.Buffer
	b.WriteString(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":`)
	b.WriteString(strings.Repeat(open, depth) + "1" + strings.Repeat(shut, depth))
	b.WriteString(`}}}`)
	return b.Bytes()
}

var randomMethods = []string{
	"tools/list", "tools/call", "prompts/list", "prompts/get", "resources/list", "resources/read",
	"resources/templates/list", "completion/complete", "logging/setLevel", "ping", "initialize",
	"notifications/initialized", "notifications/cancelled", "", "x", "tools/",
}

// Tool names safe to call with random arguments (nothing that waits).
var randomToolNames = []string{"echo", "add", "whoami", "nope", "ev__test_simple_text", "ev__test_error_handling", "__", ""}

func randomEnvelope(r *rand.Rand) []byte {
	m := map[string]any{"jsonrpc": "2.0", "id": r.IntN(1000), "method": randomMethods[r.IntN(len(randomMethods))]}
	switch r.IntN(4) {
	case 0:
		m["params"] = randomValue(r, 3)
	case 1:
		m["method"] = "tools/call"
		m["params"] = map[string]any{"name": randomToolNames[r.IntN(len(randomToolNames))], "arguments": randomValue(r, 3)}
	case 2:
		m["params"] = map[string]any{"cursor": randomValue(r, 1), "_meta": randomValue(r, 2)}
	}
	if r.IntN(5) == 0 {
		delete(m, "jsonrpc")
	}
	return mustJSON(m)
}

func oddIDs(r *rand.Rand) []byte {
	ids := []string{"null", "true", "{}", "[1]", "1.5", `""`, `"` + strings.Repeat("i", 10000) + `"`}
	return fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"method":"tools/list"}`, ids[r.IntN(len(ids))])
}

func longStrings(r *rand.Rand) []byte {
	long := strings.Repeat(string(rune(0x1F600+r.IntN(50))), 1000+r.IntN(50000))
	switch r.IntN(3) {
	case 0:
		return mustJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": long})
	case 1:
		return []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"` + "\xff\xfe\xc3" + long + `"}}}`)
	}
	return mustJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": map[string]any{"name": long}})
}

func randomValue(r *rand.Rand, depth int) any {
	switch k := r.IntN(8); {
	case depth <= 0 || k == 0:
		return r.IntN(1 << 20)
	case k == 1:
		return nil
	case k == 2:
		return r.IntN(2) == 0
	case k == 3:
		return strings.Repeat("x", r.IntN(64))
	case k == 4:
		return r.Float64() * 1e300
	case k == 5:
		return []any{randomValue(r, depth-1), randomValue(r, depth-1)}
	default:
		return map[string]any{"a": randomValue(r, depth-1), "name": randomValue(r, depth-1), "text": randomValue(r, depth-1)}
	}
}

func TestRandomBodies(t *testing.T) {
	ev := buildBinaries(t).everything
	n := startNode(t, nodeOptions{name: "random", demo: true, servers: map[string]serverEntry{"ev": {Command: ev, Prefix: "ev"}}})
	before, _ := listAllTools(t, n)
	serversBefore := serverNames(t, n)
	client := &http.Client{Timeout: 15 * time.Second}
	accepts := []string{"", "*/*", "application/json, text/event-stream", "text/html"}
	for i, body := range randomBodies(200) {
		req, _ := http.NewRequest(http.MethodPost, n.mcpURL(), bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+n.token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", accepts[i%len(accepts)])
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("body %d (%.80q): no answer: %v", i, body, err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Errorf("body %d (%.80q): status %d, want a 4xx or a JSON-RPC error", i, body, resp.StatusCode)
		}
	}
	t.Run("too large", func(t *testing.T) { testTooLarge(t, n) })
	checkStillServing(t, n, before, serversBefore)
}

func testTooLarge(t *testing.T, n *node) {
	text := strings.Repeat("a", 16<<20)
	body := mustJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": "echo", "arguments": map[string]any{"text": text}}})
	r := n.do(t, http.MethodPost, "/mcp/http", body, nil)
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a 16 MiB body: status %d, want 413; body %.200s", r.status, r.body)
	}
}

func checkStillServing(t *testing.T, n *node, before []listedTool, servers []string) {
	t.Helper()
	if r := n.do(t, http.MethodGet, "/health", nil, nil); r.status != http.StatusOK {
		t.Errorf("/health: status %d after the random bodies", r.status)
	}
	after, _ := listAllTools(t, n)
	if len(after) != len(before) {
		t.Errorf("tools/list: %d tools after the random bodies, %d before", len(after), len(before))
	}
	if got := serverNames(t, n); !slices.Equal(got, servers) {
		t.Errorf("/api/servers lists %v after the random bodies, %v before", got, servers)
	}
	var res callResult
	n.rpc(t, "tools/call", map[string]any{"name": "ev__test_simple_text", "arguments": map[string]any{}}).decode(t, &res)
	if res.IsError || res.text() == "" {
		t.Errorf("upstream call after the random bodies: %+v", res)
	}
}
