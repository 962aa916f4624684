package gateway

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestDrainRefusesNewRequests: once Drain has begun, every new request —
// a call, a session's GET stream, a subscriptions/listen stream, the API —
// gets 503 with Retry-After, and /ready says the node is shutting down.
func TestDrainRefusesNewRequests(t *testing.T) {
	n := startNode(t, nodeOptions{})
	if running := n.gw.Drain(context.Background()); running != 0 {
		t.Fatalf("Drain of an idle gateway = %d requests cut, want 0", running)
	}
	cases := []struct {
		name, method, path, body string
		header                   map[string]string
	}{
		{"call", "POST", "/mcp", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}`, nil},
		{"initialize", "POST", "/mcp/http", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`, nil},
		{"GET stream", "GET", "/mcp", "", map[string]string{"Accept": "text/event-stream"}},
		{"listen stream", "POST", "/mcp", `{"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{}}`,
			map[string]string{"Mcp-Method": "subscriptions/listen"}},
		{"api", "GET", "/api/servers", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, n.srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+n.admin)
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			r := send(t, req)
			if r.code != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
				t.Fatalf("%s %s while draining = %d (Retry-After %q) %s, want 503 with Retry-After",
					tc.method, tc.path, r.code, r.header.Get("Retry-After"), r.body)
			}
			if msg := r.errorText(t); msg != "node is shutting down" {
				t.Errorf("error %q, want node is shutting down", msg)
			}
		})
	}
	if r := n.do(t, "GET", "/ready", "", ""); r.code != 503 || !strings.Contains(string(r.body), "shutting down") {
		t.Errorf("/ready while draining = %d %s, want 503 shutting down", r.code, r.body)
	}
}
