package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// entrySource serves a tool, a prompt and a resource.
type entrySource struct{}

func (entrySource) Snapshot() mcp.Definitions {
	return mcp.Definitions{
		Tools:     []json.RawMessage{json.RawMessage(`{"name":"t","inputSchema":{"type":"object"}}`)},
		Prompts:   []json.RawMessage{json.RawMessage(`{"name":"greet"}`)},
		Resources: []json.RawMessage{json.RawMessage(`{"uri":"mem://note","name":"note"}`)},
	}
}

func (entrySource) Call(_ context.Context, req *mcp.Request) (json.RawMessage, error) {
	switch req.Method {
	case "prompts/get":
		return json.RawMessage(`{"messages":[]}`), nil
	case "resources/read":
		return json.RawMessage(`{"contents":[{"uri":"mem://note","text":"hi"}]}`), nil
	}
	return mcp.ToolText("ran"), nil
}

// rateBook is a fake rate function: rate for every principal and name
// but the subject "unlimited"; it notes the names it was asked about.
type rateBook struct {
	rate  federation.Rate
	mu    sync.Mutex
	asked []string
}

func (b *rateBook) rates(p mcp.Principal, name string) (federation.Rate, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.asked = append(b.asked, p.Subject+" "+name)
	return b.rate, p.Subject != "unlimited"
}

func (b *rateBook) askedAbout() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.asked, ", ")
}

// mcpCall is one JSON-RPC request's answer as the client got it.
type mcpCall struct {
	res    fedResult
	rpcErr *mcp.Error
}

// limitMeta is the mesh's _meta of the answer: the result's or the error's data.
func (c mcpCall) limitMeta() map[string]any {
	if c.rpcErr != nil {
		m, _ := c.rpcErr.Data.(map[string]any)
		return m
	}
	return c.res.Meta
}

func (c mcpCall) text() string {
	if c.rpcErr != nil {
		return c.rpcErr.Message
	}
	return c.res.text()
}

// rpcOn sends one sessionless request to path on n with token and headers.
func rpcOn(t testing.TB, n *fedNode, path, token, method string, params any, header ...string) mcpCall {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 7, "method": method, "params": params})
	req, err := http.NewRequest(http.MethodPost, n.url+path, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, rpcErr := n.reply(t, method, send(t, req))
	var c mcpCall
	c.rpcErr = rpcErr
	if rpcErr == nil {
		c.res = decode[fedResult](t, res)
	}
	return c
}

// limited reports whether c is a rate_limited answer naming name and rate
// with a positive retry_after_ms.
func (c mcpCall) limited(name, rate string) bool {
	m := c.limitMeta()
	ms, _ := m[federation.MetaRetryAfter].(float64)
	return m[federation.MetaError] == federation.ErrRateLimited && ms > 0 &&
		strings.Contains(c.text(), `"`+name+`"`) && strings.Contains(c.text(), rate) && (c.rpcErr != nil || c.res.IsError)
}

// TestRateLimits: with a rate function, a principal's third call of an
// entry at 2/h is refused as rate_limited (tools/call as an isError
// result, prompts/get and resources/read as a JSON-RPC error) naming it
// and the rate, with the wait; principals and entries count apart; admin
// tokens, and principals the function gives no rate, are not limited; a
// client's forwarded mark does not escape the count; without a rate
// function nothing is limited.
func TestRateLimits(t *testing.T) {
	book := &rateBook{rate: federation.Rate{N: 2, Per: time.Hour}}
	a := startFedNodeWith(t, "gw-a", func(c *Config) { c.Rates = book.rates }, entrySource{})
	tool := map[string]any{"name": "echo", "arguments": map[string]any{"message": "hi"}}
	cases := []struct {
		name, token, method string
		params              any
		header              []string
		limitedName         string // "" when the third call must pass
	}{
		{"tools/call", tokenFor(t, "alice", ScopeMCP, ""), "tools/call", tool, nil, "echo"},
		{"prompts/get", tokenFor(t, "bob", ScopeMCP, ""), "prompts/get", map[string]any{"name": "greet"}, nil, "greet"},
		{"resources/read", tokenFor(t, "carol", ScopeMCP, ""), "resources/read", map[string]any{"uri": "mem://note"}, nil, "mem://note"},
		{"a client's forwarded mark", tokenFor(t, "dave", ScopeMCP, ""), "tools/call", tool, []string{federation.HeaderForwarded, "gw-x"}, "echo"},
		{"admin token", tokenFor(t, "root", ScopeAdmin, ""), "tools/call", tool, nil, ""},
		{"no rate for the principal", tokenFor(t, "unlimited", ScopeMCP, ""), "tools/call", tool, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 2 {
				if c := rpcOn(t, a, "/mcp", tc.token, tc.method, tc.params, tc.header...); c.rpcErr != nil || c.res.IsError {
					t.Fatalf("call %d: %+v; want it served", i+1, c)
				}
			}
			c := rpcOn(t, a, "/mcp", tc.token, tc.method, tc.params, tc.header...)
			if tc.limitedName == "" && (c.rpcErr != nil || c.res.IsError) {
				t.Fatalf("third call: %+v; want it served (not limited)", c)
			}
			if tc.limitedName != "" && !c.limited(tc.limitedName, "2/h") {
				t.Fatalf("third call: %+v, meta %v; want rate_limited naming %q and 2/h with retry_after_ms", c, c.limitMeta(), tc.limitedName)
			}
		})
	}
	if c := rpcOn(t, a, "/mcp", tokenFor(t, "alice", ScopeMCP, ""), "tools/call", map[string]any{"name": "t", "arguments": map[string]any{}}); c.res.IsError {
		t.Errorf("alice's first call of another tool: %+v; want it served (entries count apart)", c)
	}
	metrics := string(a.do(t, http.MethodGet, "/metrics", "", "").body)
	if !strings.Contains(metrics, "mcpmesh_rate_limited_total 4") || !strings.Contains(metrics, "mcpmesh_rate_limiters ") {
		t.Errorf("metrics lack 4 refused calls or the limiters gauge:\n%s", grepLines(metrics, "mcpmesh_rate"))
	}
	a.gw.SetRates(nil)
	if c := rpcOn(t, a, "/mcp", tokenFor(t, "alice", ScopeMCP, ""), "tools/call", tool); c.res.IsError {
		t.Errorf("alice's call once no rate function is set: %+v; want it served", c)
	}
}

// TestRateLimitsAtEntryNode: calls are counted on the node the caller
// reached, under the name /mcp lists (b__whoami also through
// /mcp/peers/b); the node a call is forwarded to does not count it again,
// but counts the calls that reach it first.
func TestRateLimitsAtEntryNode(t *testing.T) {
	bookA, bookB := &rateBook{rate: federation.Rate{N: 2, Per: time.Hour}}, &rateBook{rate: federation.Rate{N: 2, Per: time.Hour}}
	b := startFedNodeWith(t, "gw-b", func(c *Config) { c.Rates = bookB.rates })
	a := startFedNodeWith(t, "gw-a", func(c *Config) { c.Rates = bookA.rates })
	addFedPeer(t, a, b, "b", cluster.TrustFull)
	alice := tokenFor(t, "alice", ScopeMCP, "")
	call := func(n *fedNode, path, tool string) mcpCall {
		return rpcOn(t, n, path, alice, "tools/call", map[string]any{"name": tool, "arguments": map[string]any{}})
	}
	if c := call(a, "/mcp", "b__whoami"); c.res.IsError || c.res.text() != "gw-b" {
		t.Fatalf("b__whoami on gw-a: %+v; want gw-b", c)
	}
	if c := call(a, "/mcp/peers/b", "whoami"); c.res.IsError || c.res.text() != "gw-b" {
		t.Fatalf("whoami on gw-a's /mcp/peers/b: %+v; want gw-b", c)
	}
	for _, path := range []string{"/mcp", "/mcp/peers/b"} {
		name := map[string]string{"/mcp": "b__whoami", "/mcp/peers/b": "whoami"}[path]
		if c := call(a, path, name); !c.limited("b__whoami", "2/h") {
			t.Errorf("a third call of b's whoami on gw-a's %s: %+v; want rate_limited naming b__whoami", path, c)
		}
	}
	if asked := bookA.askedAbout(); strings.Contains(asked, "alice whoami") {
		t.Errorf("gw-a asked for rates of %s; want b__whoami only, never b's own name", asked)
	}
	for i := range 2 {
		if c := call(b, "/mcp", "whoami"); c.res.IsError {
			t.Fatalf("alice's call %d of whoami on gw-b itself: %+v; want it served (the forwarded ones were counted on gw-a)", i+1, c)
		}
	}
	if c := call(b, "/mcp", "whoami"); !c.limited("whoami", "2/h") {
		t.Errorf("alice's third call of whoami on gw-b itself: %+v; want rate_limited", c)
	}
}

func TestCanonicalName(t *testing.T) {
	cases := []struct {
		peer, method, params, want string
		ok                         bool
	}{
		{"", "tools/call", `{"name":"echo"}`, "echo", true},
		{"", "tools/call", `{"name":"b__echo"}`, "b__echo", true},
		{"b", "tools/call", `{"name":"echo"}`, "b__echo", true},
		{"b", "prompts/get", `{"name":"greet"}`, "b__greet", true},
		{"b", "resources/read", `{"uri":"mem://x"}`, "mem://x", true},
		{"", "completion/complete", `{"ref":{}}`, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.peer+" "+tc.method, func(t *testing.T) {
			req := &mcp.Request{Method: tc.method, Params: json.RawMessage(tc.params)}
			if got, ok := canonicalName(tc.peer, req); got != tc.want || ok != tc.ok {
				t.Errorf("canonicalName = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestRateLimitsServiceCalls: a service's calls are counted on the entry
// node under <service>__<tool>, and not again on the provider that runs
// them.
func TestRateLimitsServiceCalls(t *testing.T) {
	up := startUpstream(t, "greet")
	bookA, bookB := &rateBook{rate: federation.Rate{N: 2, Per: time.Hour}}, &rateBook{rate: federation.Rate{N: 2, Per: time.Hour}}
	b := startFedNodeWith(t, "gw-b", func(c *Config) { c.Rates = bookB.rates })
	a := startFedNodeWith(t, "gw-a", func(c *Config) { c.Rates = bookA.rates })
	registerOn(t, b, `{"name":"up","url":"`+up+`","service":"svc"}`)
	addFedPeer(t, a, b, "b", cluster.TrustFull)
	wait.For(t, 10*time.Second, func() bool { return a.list(t).has("svc__greet") }, "gw-a to list svc__greet")
	alice := tokenFor(t, "alice", ScopeMCP, "")
	call := func(n *fedNode) mcpCall {
		return rpcOn(t, n, "/mcp", alice, "tools/call", map[string]any{"name": "svc__greet", "arguments": map[string]any{}})
	}
	for i := range 2 {
		if c := call(a); c.res.IsError || c.res.Meta[federation.MetaProvider] != "gw-b" {
			t.Fatalf("svc__greet %d on gw-a: %+v; want gw-b's answer", i+1, c)
		}
	}
	if c := call(a); !c.limited("svc__greet", "2/h") {
		t.Errorf("a third svc__greet on gw-a: %+v; want rate_limited naming svc__greet", c)
	}
	for i := range 2 {
		if c := call(b); c.res.IsError {
			t.Errorf("alice's svc__greet %d on gw-b itself: %+v; want it served (gw-a's were counted on gw-a)", i+1, c)
		}
	}
}
