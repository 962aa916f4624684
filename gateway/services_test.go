package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// TestServiceNames: a service name follows the rules of names that never
// shadow each other: one equal to a peer name, to another entry's prefix
// or to another entry's service on the node is 409 naming both; a peer
// name equal to a service is 409 too. Nothing is registered.
func TestServiceNames(t *testing.T) {
	ups := []string{startUpstream(t, "greet"), startUpstream(t, "greet"), startUpstream(t, "greet")} // closed after the nodes
	a, b := startFedNode(t, "gw-a"), startFedNode(t, "gw-b")
	addFedPeer(t, a, b, "gb", cluster.TrustFull)
	registerOn(t, a, `{"name":"up-px","url":"`+ups[0]+`","prefix":"px"}`)
	registerOn(t, a, `{"name":"up-svc","url":"`+ups[1]+`","service":"svc"}`)
	post := func(name, path, body string, mention ...string) badCase {
		return badCase{name: name, method: http.MethodPost, path: path, body: body, status: http.StatusConflict, mention: mention}
	}
	runBadCases(t, a, []badCase{
		post("service is a peer name", "/api/servers", `{"name":"s1","url":"`+ups[2]+`","service":"gb"}`, `"gb"`, `"s1"`, `peer "gb"`),
		post("service is a prefix", "/api/servers", `{"name":"s2","url":"`+ups[2]+`","service":"px"}`, `"px"`, `"s2"`, `"up-px"`),
		post("service of another entry here", "/api/servers", `{"name":"s3","url":"`+ups[2]+`","service":"svc"}`, `service "svc"`, `"s3"`, `"up-svc"`),
		post("peer name is a service", "/api/federation/peers", `{"url":"`+b.url+`","name":"svc"}`, `"svc"`, `service "svc"`, `"up-svc"`),
	})
	servers := decode[[]api.Server](t, a.do(t, http.MethodGet, "/api/servers", a.admin, "").body)
	if len(servers) != 2 || servers[1].Service != "svc" {
		t.Fatalf("servers after the refusals: %+v; want up-px and up-svc (service svc)", servers)
	}
}

// startServiceRing starts gw-a and gw-b, each with an upstream of service
// "svc" (tool greet), and gw-c with both as full peers (pa, pb), and waits
// until gw-c shows both providers online and gw-a holds pb.
func startServiceRing(t *testing.T) (a, b, c *fedNode) {
	t.Helper()
	ups := []string{startUpstream(t, "greet"), startUpstream(t, "greet")}
	a, b, c = startFedNode(t, "gw-a"), startFedNode(t, "gw-b"), startFedNode(t, "gw-c")
	registerOn(t, a, `{"name":"up","url":"`+ups[0]+`","service":"svc"}`)
	registerOn(t, b, `{"name":"up","url":"`+ups[1]+`","service":"svc"}`)
	addFedPeer(t, c, a, "pa", cluster.TrustFull)
	addFedPeer(t, c, b, "pb", cluster.TrustFull)
	// The registry is ring-wide: gw-a learns pb from gw-c (adding it on gw-a
	// too raced that gossip and was 409 when the gossip came first).
	wait.For(t, 10*time.Second, func() bool {
		return a.do(t, http.MethodGet, "/api/federation/peers/pb", a.admin, "").code == http.StatusOK
	}, "gw-a to hold peer pb")
	wait.For(t, 10*time.Second, func() bool { return providersOf(t, c, "svc") == "gw-a:online gw-b:online" },
		"gw-c to show svc with both providers online: %v", wait.Later(func() any { return providersOf(t, c, "svc") }))
	return a, b, c
}

// TestServiceListedAndRouted: upstreams of service "svc" on gw-a and gw-b
// are listed once on gw-c, as svc__greet with source svc and both
// providers, and GET /api/services shows both; a call names the node that
// ran it; gw-a runs its own calls; with gw-b's port refusing, gw-c's calls
// go to gw-a, and with both refusing they are service_unavailable; calls
// are counted by service and provider.
func TestServiceListedAndRouted(t *testing.T) {
	a, b, c := startServiceRing(t)
	l := c.list(t)
	if n, src := countTool(l, "svc__greet"); n != 1 || src[0] != "svc" || l.has("pa__svc__greet") || l.has("pb__svc__greet") {
		t.Fatalf("gw-c lists svc__greet %d times from %v (pa__svc__greet %v); want once, from svc, not per node", n, src, l.has("pa__svc__greet"))
	}
	for range 6 {
		res := c.call(t, "svc__greet")
		p, _ := res.Meta[federation.MetaProvider].(string)
		if res.IsError || !strings.HasPrefix(res.text(), "greet:") || (p != "gw-a" && p != "gw-b") {
			t.Fatalf("svc__greet on gw-c: %+v; want greet's answer naming gw-a or gw-b", res)
		}
	}
	for range 3 {
		if res := a.call(t, "svc__greet"); res.Meta[federation.MetaProvider] != "gw-a" {
			t.Fatalf("svc__greet on gw-a ran on %v; want gw-a (a local provider first)", res.Meta[federation.MetaProvider])
		}
	}
	b.cutHTTP()
	for range 4 {
		if res := c.call(t, "svc__greet"); res.IsError || res.Meta[federation.MetaProvider] != "gw-a" {
			t.Fatalf("svc__greet on gw-c with gw-b refusing: %+v; want gw-a's answer", res)
		}
	}
	a.cutHTTP()
	res := c.call(t, "svc__greet")
	if !res.IsError || res.Meta[federation.MetaError] != federation.ErrServiceUnavailable || res.Meta["mcpmesh/service"] != "svc" ||
		!strings.Contains(res.text(), `service "svc"`) || !strings.Contains(res.text(), "gw-a: ") || !strings.Contains(res.text(), "gw-b: ") {
		t.Errorf("svc__greet on gw-c with both providers refusing: %+v; want service_unavailable naming svc and both providers", res)
	}
	wait.For(t, 10*time.Second, func() bool { return providersOf(t, c, "svc") == "gw-a:offline gw-b:offline" },
		"gw-c to see both providers offline: %v", wait.Later(func() any { return providersOf(t, c, "svc") }))
	if res = c.call(t, "svc__greet"); res.Meta[federation.MetaError] != federation.ErrServiceUnavailable || !strings.Contains(res.text(), "gw-b: offline") {
		t.Errorf("svc__greet on gw-c once both providers are offline (not listed): %+v; want service_unavailable naming them", res)
	}
	if _, rpcErr := c.rpc(t, "tools/call", map[string]any{"name": "svc__nope", "arguments": map[string]any{}}); rpcErr == nil || rpcErr.Code != -32602 {
		t.Errorf("svc__nope (no provider has it) on gw-c: error %+v; want -32602, an unknown tool", rpcErr)
	}
	metrics := string(c.do(t, http.MethodGet, "/metrics", "", "").body)
	if !strings.Contains(metrics, `mcpmesh_service_calls_total{outcome="ok",provider="gw-a",service="svc"}`) ||
		!strings.Contains(metrics, `mcpmesh_service_providers{service="svc",status=`) ||
		!strings.Contains(metrics, `mcpmesh_tool_calls_total{outcome="ok",server="",source="svc",tool="(federated)"} 10`) {
		t.Errorf("metrics of gw-c lack the service calls (by provider, and as tool calls of source svc) or providers:\n%s\n%s",
			grepLines(metrics, "mcpmesh_service"), grepLines(metrics, "mcpmesh_tool_calls_total"))
	}
}

// providersOf shows service's providers on n as "node:status ...".
func providersOf(t *testing.T, n *fedNode, service string) string {
	var out []string
	for _, s := range decode[[]api.Service](t, n.do(t, http.MethodGet, "/api/services", n.admin, "").body) {
		for _, p := range s.Providers {
			if s.Name == service {
				out = append(out, fmt.Sprintf("%s:%s", p.Node, p.Status))
			}
		}
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestServiceInputRequiredPinned: an input_required exchange of a service
// tool is retried on the provider that holds it, named in the sealed
// requestState, not on the provider the retry's node would choose (gw-b's
// own, local first).
func TestServiceInputRequiredPinned(t *testing.T) {
	srcA, srcB := &askSource{}, &askSource{}
	a, b := startFedNode(t, "gw-a"), startFedNode(t, "gw-b")
	for _, p := range []struct {
		n   *fedNode
		src *askSource
	}{{a, srcA}, {b, srcB}} {
		if err := p.n.cat.AddEntry(mcp.ServerConfig{Name: "asker", Service: "svc"}, p.src); err != nil {
			t.Fatal(err)
		}
	}
	addFedPeer(t, a, b, "pb", cluster.TrustFull)
	addFedPeer(t, b, a, "pa", cluster.TrustFull)
	wait.For(t, 10*time.Second, func() bool { return providersOf(t, b, "svc") == "gw-a:online gw-b:online" },
		"gw-b to show svc served by both: %v", wait.Later(func() any { return providersOf(t, b, "svc") }))
	alice := userToken(t, "alice", "https://idp.test", nil)
	res, rpcErr := a.post2026(t, alice, "svc__ask", map[string]any{"elicitation": map[string]any{}}, nil)
	var ir struct {
		ResultType   string `json:"resultType"`
		RequestState string `json:"requestState"`
	}
	if rpcErr != nil || json.Unmarshal(res, &ir) != nil || ir.ResultType != "input_required" {
		t.Fatalf("svc__ask on gw-a: %s %+v, want input_required", res, rpcErr)
	}
	if inner := sealedInner(t, ir.RequestState); inner != "svc1:gw-a:inner-1" {
		t.Fatalf("the sealed inner state is %q, want it to name the provider gw-a and carry its own state", inner)
	}
	answers := map[string]any{"q": map[string]any{"action": "accept", "content": map[string]any{"name": "Ada"}}}
	res, rpcErr = b.post2026(t, alice, "svc__ask", map[string]any{}, map[string]any{"inputResponses": answers, "requestState": ir.RequestState})
	var out fedResult
	if rpcErr != nil || json.Unmarshal(res, &out) != nil || out.text() != "hello Ada" || out.Meta[federation.MetaProvider] != "gw-a" {
		t.Fatalf("the retry on gw-b: %s %+v, want hello Ada from gw-a", res, rpcErr)
	}
	if _, states := srcB.seen(); len(states) != 0 {
		t.Errorf("gw-b's provider was called with states %q; the exchange is gw-a's", states)
	}
	if _, states := srcA.seen(); len(states) != 2 || states[1] != "inner-1" {
		t.Errorf("gw-a's provider saw states %q, want the first call and the retry with its own inner-1", states)
	}
}

// TestServiceSkipsDrainingProvider: a provider that answers 503 (it is
// draining) was sent nothing: the call goes to the next provider, and no
// call fails.
func TestServiceSkipsDrainingProvider(t *testing.T) {
	a, b, c := startServiceRing(t)
	// drain the provider gw-c chooses (ties go to the gossip RTT, then the name)
	drained, other := a, b
	if res := c.call(t, "svc__greet"); res.Meta[federation.MetaProvider] == "gw-b" {
		drained, other = b, a
	}
	drained.gw.Drain(context.Background())
	for range 4 {
		if res := c.call(t, "svc__greet"); res.IsError || res.Meta[federation.MetaProvider] != other.name {
			t.Fatalf("svc__greet on gw-c with %s draining: %+v; want %s's answer", drained.name, res, other.name)
		}
	}
}

// schemaSource serves one tool "t" with the given input schema; a call
// answers the node's name.
type schemaSource struct{ node, schema string }

func (s schemaSource) Snapshot() mcp.Definitions {
	return mcp.Definitions{Tools: []json.RawMessage{json.RawMessage(`{"name":"t","inputSchema":` + s.schema + `}`)}}
}

func (s schemaSource) Call(context.Context, *mcp.Request) (json.RawMessage, error) {
	return mcp.ToolText(s.node), nil
}

// TestServiceSchemaMismatch: of three providers, the one whose input
// schema differs from the listed one (gw-c's, where gw-a and gw-b agree)
// is left out of the tool's providers, shown under schema_mismatch, and
// never sent its calls.
func TestServiceSchemaMismatch(t *testing.T) {
	x, y := `{"type":"object","properties":{"q":{"type":"string"}}}`, `{"type":"object"}`
	nodes := []*fedNode{startFedNode(t, "gw-a"), startFedNode(t, "gw-b"), startFedNode(t, "gw-c"), startFedNode(t, "gw-d")}
	for i, schema := range []string{x, x, y} {
		if err := nodes[i].cat.AddEntry(mcp.ServerConfig{Name: "t", Service: "svc"}, schemaSource{nodes[i].name, schema}); err != nil {
			t.Fatal(err)
		}
	}
	d := nodes[3]
	for i, n := range nodes[:3] {
		addFedPeer(t, d, n, fmt.Sprintf("p%d", i), cluster.TrustFull)
	}
	var svc api.Service
	wait.For(t, 10*time.Second, func() bool {
		all := decode[[]api.Service](t, d.do(t, http.MethodGet, "/api/services", d.admin, "").body)
		if len(all) == 1 && len(all[0].Providers) == 3 {
			svc = all[0]
		}
		return len(svc.Providers) == 3 && len(svc.Providers[2].SchemaMismatch) == 1
	}, "gw-d to show svc with three providers, one mismatched: %v", wait.Later(func() any { return svc }))
	for i, p := range svc.Providers {
		wantTools, wantMis := []string{"svc__t"}, []string{}
		if i == 2 {
			wantTools, wantMis = []string{}, []string{"svc__t"}
		}
		if !slices.Equal(p.Tools, wantTools) || !slices.Equal(p.SchemaMismatch, wantMis) {
			t.Errorf("provider %s: tools %v, schema_mismatch %v; want %v, %v", p.Node, p.Tools, p.SchemaMismatch, wantTools, wantMis)
		}
	}
	for range 6 {
		if res := d.call(t, "svc__t"); res.IsError || res.text() == "gw-c" {
			t.Fatalf("svc__t on gw-d: %+v; want an answer from gw-a or gw-b, never gw-c", res)
		}
	}
}
