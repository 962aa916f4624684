package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpmesh/mcpmesh/api"
)

// startUpstream serves a real go-sdk MCP server over Streamable HTTP on
// 127.0.0.1 with the given tools (each answers "<tool>:<name argument>").
func startUpstream(t *testing.T, tools ...string) string {
	t.Helper()
	s := sdk.NewServer(&sdk.Implementation{Name: "upstream", Version: "1"}, nil)
	for _, name := range tools {
		type args struct {
			Name string `json:"name,omitempty"`
		}
		sdk.AddTool(s, &sdk.Tool{Name: name, Description: "test tool " + name},
			func(_ context.Context, _ *sdk.CallToolRequest, in args) (*sdk.CallToolResult, any, error) {
				return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: name + ":" + in.Name}}}, nil, nil
			})
	}
	srv := httptest.NewServer(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, nil))
	t.Cleanup(srv.Close)
	return srv.URL
}

func register(t *testing.T, n *testNode, body string) api.Server {
	t.Helper()
	r := n.do(t, "POST", "/api/servers", n.admin, body)
	if r.code != http.StatusCreated {
		t.Fatalf("POST /api/servers %s = %d %s, want 201", body, r.code, r.body)
	}
	return decode[api.Server](t, r.body)
}

func toolNames(t *testing.T, n *testNode) []string {
	t.Helper()
	var names []string
	for _, tool := range decode[[]map[string]any](t, n.do(t, "GET", "/api/tools", n.admin, "").body) {
		names = append(names, tool["name"].(string))
	}
	return names
}

func TestServersLifecycle(t *testing.T) {
	st := openBadger(t, t.TempDir())
	n := startNode(t, nodeOptions{store: st})
	url := startUpstream(t, "greet", "wave")
	v := register(t, n, `{"name":"up","url":"`+url+`","prefix":"u"}`)
	if v.Name != "up" || v.Tools != 2 || v.Status == "" || v.Status != v.State || v.Origin != originAPI {
		t.Fatalf("registered %+v, want up with 2 tools and a status", v)
	}
	if names := toolNames(t, n); !slices.Contains(names, "u__greet") || !slices.Contains(names, "echo") {
		t.Fatalf("tools %v, want u__greet beside the demo tools", names)
	}
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"u__greet","arguments":{"name":"bob"}}}`
	if r := n.do(t, "POST", "/mcp", n.admin, call); r.code != 200 || !strings.Contains(string(r.body), "greet:bob") {
		t.Fatalf("call u__greet = %d %s", r.code, r.body)
	}
	t.Run("conflicts", func(t *testing.T) { testConflicts(t, n, url) })
	t.Run("metrics", func(t *testing.T) { testUpstreamMetrics(t, n) })

	n.close(t)
	n = startNode(t, nodeOptions{store: st})
	if names := toolNames(t, n); !slices.Contains(names, "u__greet") {
		t.Fatalf("after restart: tools %v, want the stored upstream's u__greet back", names)
	}
	if r := n.do(t, "DELETE", "/api/servers/up", n.admin, ""); r.code != http.StatusNoContent {
		t.Fatalf("DELETE = %d %s", r.code, r.body)
	}
	if names := toolNames(t, n); slices.Contains(names, "u__greet") {
		t.Fatalf("after DELETE: tools %v still list u__greet", names)
	}
	assertNoServers(t, n)
}

func testConflicts(t *testing.T, n *testNode, url string) {
	clashing := startUpstream(t, "echo")
	cases := []struct {
		name, body string
		errHas     []string
	}{
		{"same name", `{"name":"up","url":"` + url + `","prefix":"v"}`, []string{`"up"`}},
		{"same prefix", `{"name":"up2","url":"` + url + `","prefix":"u"}`, []string{`"u"`, `"up"`}},
		{"tool clash with demo", `{"name":"up3","url":"` + clashing + `"}`, []string{`"echo"`, `"up3"`, `"demo"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := n.do(t, "POST", "/api/servers", n.admin, tc.body)
			if r.code != http.StatusConflict {
				t.Fatalf("status %d, want 409: %s", r.code, r.body)
			}
			for _, want := range tc.errHas {
				if msg := r.errorText(t); !strings.Contains(msg, want) {
					t.Errorf("error %q does not name %s", msg, want)
				}
			}
		})
	}
	views := decode[[]api.Server](t, n.do(t, "GET", "/api/servers", n.admin, "").body)
	if len(views) != 1 || views[0].Name != "up" {
		t.Fatalf("after refused registrations: %+v, want only up", views)
	}
}

func testUpstreamMetrics(t *testing.T, n *testNode) {
	text := string(n.do(t, "GET", "/metrics", "", "").body)
	for _, want := range []string{`mcpmesh_upstream_tools{upstream="up"} 2`, `mcpmesh_upstream_state{state=`, "mcpmesh_catalog_tools 6"} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestUnreachableUpstream(t *testing.T) {
	n := startNode(t, nodeOptions{})
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	v := register(t, n, `{"name":"gone","url":"`+url+`/mcp"}`)
	if v.Error == "" || v.Tools != 0 {
		t.Fatalf("registered %+v, want a failed status naming the error", v)
	}
}

func TestConfigServers(t *testing.T) {
	url := startUpstream(t, "greet")
	n := startNode(t, nodeOptions{servers: []serverConfig{{Name: "cfg", URL: url, Prefix: "c"}}})
	views := decode[[]api.Server](t, n.do(t, "GET", "/api/servers", n.admin, "").body)
	if len(views) != 1 || views[0].Origin != originConfig || views[0].Tools != 1 {
		t.Fatalf("servers %+v, want the config file's server with 1 tool", views)
	}
	r := n.do(t, "DELETE", "/api/servers/cfg", n.admin, "")
	if r.code != http.StatusConflict || !strings.Contains(r.errorText(t), "--config") {
		t.Fatalf("DELETE of a config server = %d %s, want 409 naming --config", r.code, r.body)
	}
	var keys int
	_ = n.store.Scan(serverKeyPrefix, func(string, []byte) error { keys++; return nil })
	if keys != 0 || !slices.Contains(toolNames(t, n), "c__greet") {
		t.Fatalf("config server stored (%d keys) or its tool gone", keys)
	}
}
