package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// leakMarks are what an answer to an MCP client must not hold: internal
// addresses, the transport's words, the chain of wrapped errors (the node
// logs those).
var leakMarks = []string{"http://", "127.0.0.1", "Post ", "dial tcp", "connect:", "connection refused",
	"calling \"initialize\"", "EOF", "session ended", "process"}

func leaked(text string) string {
	for _, m := range leakMarks {
		if strings.Contains(text, m) {
			return m
		}
	}
	return ""
}

// TestFailuresTellNoAddresses: when a peer's port refuses and its link is
// down, or a node's own HTTP upstream is gone, the answers a client gets on
// /mcp and /mcp/peers/{peer} (tools/call results and JSON-RPC errors) say
// what failed and which peer or upstream, and hold no address, transport
// detail or error chain.
func TestFailuresTellNoAddresses(t *testing.T) {
	b := startFedNode(t, "gw-b", entrySource{})
	a := startFedNode(t, "gw-a")
	addFedPeer(t, a, b, "b", cluster.TrustFull)
	up := closableUpstream(t)
	registerOn(t, a, `{"name":"up","url":"`+up.URL+`"}`)
	b.cutHTTP()
	up.CloseClientConnections()
	up.Close()
	wait.For(t, 30*time.Second, func() bool {
		p := a.peer(t, "b")
		return p.Status == api.PeerOffline && strings.Contains(p.Error, "initialize")
	}, "gw-a to find b's link down, failing to reconnect (the error the admin API shows): %v", wait.Later(func() any { return a.peer(t, "b") }))
	admin := a.admin
	cases := []struct {
		name, path, method string
		params             any
		kind               string // _meta mcpmesh/error, "" for none
		mention            string
	}{
		{"peer tool on /mcp", "/mcp", "tools/call", map[string]any{"name": "b__whoami", "arguments": map[string]any{}}, federation.ErrPeerOffline, `"b"`},
		{"peer tool on /mcp/peers/b", "/mcp/peers/b", "tools/call", map[string]any{"name": "whoami", "arguments": map[string]any{}}, federation.ErrPeerOffline, `"b"`},
		{"peer prompt on /mcp/peers/b", "/mcp/peers/b", "prompts/get", map[string]any{"name": "greet"}, federation.ErrPeerOffline, `"b"`},
		{"own upstream gone", "/mcp", "tools/call", map[string]any{"name": "ping", "arguments": map[string]any{}}, "", `"up"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := rpcOn(t, a, tc.path, admin, tc.method, tc.params)
			text := c.text()
			if m := leaked(text); m != "" {
				t.Errorf("answer %q holds %q", text, m)
			}
			if !strings.Contains(text, tc.mention) || (c.rpcErr == nil && !c.res.IsError) {
				t.Errorf("answer %+v; want a failure naming %s", c, tc.mention)
			}
			if kind, _ := c.limitMeta()[federation.MetaError].(string); kind != tc.kind {
				t.Errorf("answer's mcpmesh/error %q, want %q", kind, tc.kind)
			}
		})
	}
}

// closableUpstream is an HTTP MCP upstream with a tool "ping", which the
// test may close.
func closableUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	s := sdk.NewServer(&sdk.Implementation{Name: "upstream", Version: "1"}, nil)
	sdk.AddTool(s, &sdk.Tool{Name: "ping"}, func(context.Context, *sdk.CallToolRequest, struct{}) (*sdk.CallToolResult, any, error) {
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "pong"}}}, nil, nil
	})
	srv := httptest.NewServer(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, nil))
	t.Cleanup(srv.Close)
	return srv
}

// TestToolCallMetricsBySource: mcpmesh_tool_calls_total counts a peer's
// tools under the peer (tool "(federated)"), whichever of its tools and
// whether through /mcp or /mcp/peers/{peer}: a peer with many tools adds
// one label set, not one per tool; the node's own tools keep their names;
// names nobody serves stay "(unknown)".
func TestToolCallMetricsBySource(t *testing.T) {
	b := startFedNode(t, "gw-b", rawSource{defs: mcp.Definitions{Tools: rawTools(200, func(i int) string { return fmt.Sprintf("t%d", i) })}})
	a := startFedNode(t, "gw-a")
	addFedPeer(t, a, b, "b", cluster.TrustFull)
	for i := range 30 {
		if c := rpcOn(t, a, "/mcp", a.admin, "tools/call", map[string]any{"name": fmt.Sprintf("b__t%d", i), "arguments": map[string]any{}}); c.res.IsError || c.rpcErr != nil {
			t.Fatalf("b__t%d on gw-a: %+v", i, c)
		}
	}
	rpcOn(t, a, "/mcp/peers/b", a.admin, "tools/call", map[string]any{"name": "t99", "arguments": map[string]any{}})
	a.call(t, "whoami")
	rpcOn(t, a, "/mcp", a.admin, "tools/call", map[string]any{"name": "nope", "arguments": map[string]any{}})
	lines := grepLines(string(a.do(t, http.MethodGet, "/metrics", "", "").body), "mcpmesh_tool_calls_total{")
	want := []string{
		`mcpmesh_tool_calls_total{outcome="ok",server="",source="b",tool="(federated)"} 31`,
		`mcpmesh_tool_calls_total{outcome="ok",server="demo",source="gw-a",tool="whoami"} 1`,
		`mcpmesh_tool_calls_total{outcome="error",server="",source="(unknown)",tool="(unknown)"} 1`,
	}
	for _, w := range want {
		if !strings.Contains(lines, w) {
			t.Errorf("metrics lack %s:\n%s", w, lines)
		}
	}
	if n := strings.Count(lines, "\n") + 1; n != len(want) {
		t.Errorf("%d series of mcpmesh_tool_calls_total, want %d (one per source and outcome):\n%s", n, len(want), lines)
	}
}
