package main

import (
	"net/http"
	"strings"
	"testing"
)

// A node behind a balancer that keeps its own Host (mcp.example.com):
// --allowed-hosts lets that name through the DNS-rebinding check, on a
// real `mcpmesh serve`, and nothing else.

// call2026 sends a 2026-07-28 tools/call of whoami to n's /mcp with the
// Host header host.
func call2026(t *testing.T, n *node, host string) httpReply {
	t.Helper()
	body := mustJSON(map[string]any{"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": map[string]any{
		"name": "whoami", "arguments": map[string]any{},
		"_meta": map[string]any{
			"io.modelcontextprotocol/protocolVersion":    "2026-07-28",
			"io.modelcontextprotocol/clientCapabilities": map[string]any{},
		},
	}})
	return n.do(t, http.MethodPost, "/mcp", body, map[string]string{"Host": host, "Mcp-Protocol-Version": "2026-07-28",
		"Mcp-Method": "tools/call", "Mcp-Name": "whoami", "Accept": "application/json, text/event-stream"})
}

func TestAllowedHostsNode(t *testing.T) {
	n := startNode(t, nodeOptions{name: "lb-node", demo: true, extra: []string{"--allowed-hosts", "mcp.example.com, lb.internal:8080"}})
	for _, tc := range []struct {
		host string
		code int
	}{
		{"mcp.example.com", http.StatusOK},
		{"mcp.example.com:443", http.StatusOK},
		{"lb.internal:8080", http.StatusOK},
		{strings.TrimPrefix(n.url, "http://"), http.StatusOK},
		{"lb.internal:9090", http.StatusForbidden},
		{"evil.example", http.StatusForbidden},
	} {
		t.Run(tc.host, func(t *testing.T) {
			r := call2026(t, n, tc.host)
			if r.status != tc.code {
				t.Fatalf("status %d body %s, want %d", r.status, r.body, tc.code)
			}
			if tc.code == http.StatusOK && !strings.Contains(string(r.body), "lb-node") {
				t.Fatalf("whoami answered %s, want the node's name", r.body)
			}
			if tc.code == http.StatusForbidden && !strings.Contains(string(r.body), "host "+tc.host+" is not allowed") {
				t.Fatalf("refusal %s does not name host %s", r.body, tc.host)
			}
		})
	}
}

// TestAllowedHostsRefusedAtStart: serve with a bad --allowed-hosts entry
// (or MCPMESH_ALLOWED_HOSTS) exits non-zero naming the entry.
func TestAllowedHostsRefusedAtStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		says string
	}{
		{"scheme", nil, []string{"--allowed-hosts", "https://mcp.example.com"}, `"https://mcp.example.com" is a URL`},
		{"empty entry", nil, []string{"--allowed-hosts", "mcp.example.com,,x.example.com"}, "entry 2: empty entry"},
		{"environment", []string{"MCPMESH_ALLOWED_HOSTS=mcp.example.com/mcp"}, nil, `"mcp.example.com/mcp" has a path`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--dev", "--data-dir", t.TempDir(), "--http", "127.0.0.1:0"}, tc.args...)
			r := runCLI(t, tc.env, args...)
			if r.code == 0 || !strings.Contains(r.stderr, "--allowed-hosts") || !strings.Contains(r.stderr, tc.says) {
				t.Fatalf("exit %d, stderr %q; want non-zero naming %s", r.code, r.stderr, tc.says)
			}
		})
	}
}
