package gateway

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
)

func TestHealthAndReady(t *testing.T) {
	n := startNode(t, nodeOptions{noStart: true})
	if r := n.do(t, "GET", "/health", "", ""); r.code != 200 || decode[map[string]string](t, r.body)["status"] != "ok" {
		t.Fatalf("/health = %d %s", r.code, r.body)
	}
	if r := n.do(t, "GET", "/ready", "", ""); r.code != 503 || !strings.Contains(string(r.body), "starting") {
		t.Fatalf("/ready before Start = %d %s, want 503 starting", r.code, r.body)
	}
	if err := n.gw.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := n.do(t, "GET", "/ready", "", ""); r.code != 200 {
		t.Fatalf("/ready after Start = %d %s", r.code, r.body)
	}
	if err := n.gw.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := n.do(t, "GET", "/ready", "", ""); r.code != 503 || !strings.Contains(string(r.body), "shutting down") {
		t.Fatalf("/ready after Close = %d %s, want 503 shutting down", r.code, r.body)
	}
	if r := n.do(t, "GET", "/api/servers", n.admin, ""); r.code != 503 {
		t.Fatalf("/api/servers after Close = %d %s, want 503", r.code, r.body)
	}
}

func TestRouting(t *testing.T) {
	n := startNode(t, nodeOptions{})
	cases := []struct {
		name, method, path string
		want               int
		errHas             string
	}{
		{"unknown route", "GET", "/nope", 404, "no route for GET /nope"},
		{"unknown api route", "GET", "/api/nope", 404, "no route"},
		{"wrong method on health", "POST", "/health", 405, "method POST is not allowed"},
		{"wrong method on servers", "PUT", "/api/servers", 405, "not allowed"},
		{"wrong method on mcp", "PUT", "/mcp", 405, "not allowed"},
		{"unknown server", "GET", "/api/servers/ghost", 404, `no upstream server named "ghost"`},
		{"delete unknown server", "DELETE", "/api/servers/ghost", 404, `"ghost"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := n.do(t, tc.method, tc.path, n.admin, "")
			if r.code != tc.want {
				t.Fatalf("status %d, want %d: %s", r.code, tc.want, r.body)
			}
			if msg := r.errorText(t); !strings.Contains(msg, tc.errHas) {
				t.Errorf("error %q does not mention %q", msg, tc.errHas)
			}
		})
	}
}

// chunked hides a body's length so the client sends it chunked.
type chunked struct{ io.Reader }

func TestBodyTooLarge(t *testing.T) {
	n := startNode(t, nodeOptions{maxBody: 1024})
	big := `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"` + strings.Repeat("x", 2000) + `"}}`
	for _, path := range []string{"/mcp", "/mcp/http", "/api/servers"} {
		for _, mode := range []string{"sized", "chunked"} {
			t.Run(path+" "+mode, func(t *testing.T) {
				var body io.Reader = strings.NewReader(big)
				if mode == "chunked" {
					body = chunked{body}
				}
				req, _ := http.NewRequest("POST", n.srv.URL+path, body)
				req.Header.Set("Authorization", "Bearer "+n.admin)
				r := send(t, req)
				if r.code != http.StatusRequestEntityTooLarge {
					t.Fatalf("status %d, want 413: %s", r.code, r.body)
				}
				if msg := r.errorText(t); !strings.Contains(msg, "1024 bytes") {
					t.Errorf("error %q does not name the limit", msg)
				}
			})
		}
	}
	if r := n.do(t, "GET", "/api/servers", n.admin, ""); r.code != 200 || string(r.body) != "[]" {
		t.Fatalf("after 413s: /api/servers = %d %s, want 200 []", r.code, r.body)
	}
}

func TestAPITools(t *testing.T) {
	n := startNode(t, nodeOptions{})
	for _, q := range []string{"", "?include_federated=true", "?include_federated=false"} {
		t.Run("query "+q, func(t *testing.T) {
			r := n.do(t, "GET", "/api/tools"+q, n.admin, "")
			if r.code != 200 {
				t.Fatalf("status %d: %s", r.code, r.body)
			}
			checkDemoTools(t, decode[[]map[string]any](t, r.body))
		})
	}
	r := n.do(t, "GET", "/api/tools?include_federated=maybe", n.admin, "")
	if r.code != 400 || !strings.Contains(r.errorText(t), `"maybe"`) {
		t.Fatalf("bad include_federated: %d %s, want 400 naming the value", r.code, r.body)
	}
}

func checkDemoTools(t *testing.T, tools []map[string]any) {
	t.Helper()
	names := map[string]bool{}
	for _, tool := range tools {
		names[tool["name"].(string)] = true
		meta, _ := tool["_meta"].(map[string]any)
		if tool["source"] != "node-a" || meta["mcpmesh/source"] != "node-a" {
			t.Errorf("tool %v: want source node-a in source and _meta", tool["name"])
		}
	}
	for _, want := range []string{"whoami", "echo", "add", "sleep"} {
		if !names[want] {
			t.Errorf("tool %q missing from %v", want, names)
		}
	}
}

func TestMetrics(t *testing.T) {
	n := startNode(t, nodeOptions{})
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`
	if r := n.do(t, "POST", "/mcp", n.admin, call); r.code != 200 || !strings.Contains(string(r.body), "hi") {
		t.Fatalf("tools/call echo = %d %s", r.code, r.body)
	}
	r := n.do(t, "GET", "/metrics", "", "")
	if r.code != 200 {
		t.Fatalf("/metrics = %d", r.code)
	}
	text := string(r.body)
	for _, want := range []string{
		`mcpmesh_http_requests_total{code="200",method="POST",route="/mcp"} 1`,
		"mcpmesh_http_request_duration_seconds_bucket",
		`mcpmesh_mcp_requests_total{method="tools/call",outcome="ok"} 1`,
		"mcpmesh_mcp_request_duration_seconds_bucket",
		`mcpmesh_tool_calls_total{outcome="ok",server="demo",source="node-a",tool="echo"} 1`,
		"mcpmesh_tool_call_duration_seconds_bucket",
		"mcpmesh_catalog_tools 4",
		`mcpmesh_catalog_entries{kind="tools"} 4`,
		`mcpmesh_build_info{node="node-a",version="test"} 1`,
		"go_goroutines", "process_cpu_seconds_total",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestCORS(t *testing.T) {
	n := startNode(t, nodeOptions{origins: []string{"https://app.example.com"}})
	cases := []struct {
		origin    string
		want      int
		allowedAs string
	}{
		{"https://app.example.com", 204, "https://app.example.com"},
		{"https://evil.example.com", 403, ""},
		{"", 403, ""},
	}
	for _, tc := range cases {
		t.Run("preflight from "+tc.origin, func(t *testing.T) {
			req, _ := http.NewRequest("OPTIONS", n.srv.URL+"/mcp", nil)
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			req.Header.Set("Access-Control-Request-Method", "POST")
			r := send(t, req)
			if r.code != tc.want || r.header.Get("Access-Control-Allow-Origin") != tc.allowedAs {
				t.Fatalf("status %d allow-origin %q, want %d %q", r.code, r.header.Get("Access-Control-Allow-Origin"), tc.want, tc.allowedAs)
			}
			if tc.want == 204 && !strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") {
				t.Errorf("preflight does not allow the Authorization header")
			}
		})
	}
}

func TestCloseWaitsForRequestsInFlight(t *testing.T) {
	n := startNode(t, nodeOptions{})
	call := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"sleep","arguments":{"ms":300}}}`
	done := make(chan response, 1)
	start := time.Now()
	go func() { done <- n.do(t, "POST", "/mcp", n.admin, call) }()
	wait.For(t, 10*time.Second, func() bool {
		n.gw.inflight.mu.Lock()
		defer n.gw.inflight.mu.Unlock()
		return n.gw.inflight.n == 1
	}, "waiting for the sleep call to be in flight")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.gw.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Fatalf("Close returned %v after the call began, before its 300 ms sleep ended", took)
	}
	select {
	case r := <-done:
		if r.code != 200 || strings.Contains(string(r.body), `"isError":true`) {
			t.Fatalf("in-flight call = %d %s, want it finished", r.code, r.body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the call in flight was never answered")
	}
}
