package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

func listServers(t *testing.T, n *node) []api.Server {
	t.Helper()
	r := n.do(t, http.MethodGet, "/api/servers", nil, nil)
	var list []api.Server
	if r.status != http.StatusOK || json.Unmarshal(r.body, &list) != nil {
		t.Fatalf("GET /api/servers: status %d, body %s; want 200 with a JSON array", r.status, r.body)
	}
	return list
}

func serverNames(t *testing.T, n *node) []string {
	t.Helper()
	var names []string
	for _, s := range listServers(t, n) {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	return names
}

func toolNames(t *testing.T, n *node) []string {
	t.Helper()
	tools, _ := listAllTools(t, n)
	var names []string
	for _, tool := range tools {
		names = append(names, tool.Name)
	}
	sort.Strings(names)
	return names
}

func TestServersRegisterPersistRemove(t *testing.T) {
	ev := buildBinaries(t).everything
	dataDir := t.TempDir()
	n := startNode(t, nodeOptions{name: "servers", demo: true, dataDir: dataDir})
	register := map[string]any{"name": "late", "command": ev, "prefix": "late"}
	if r := n.do(t, http.MethodPost, "/api/servers", mustJSON(register), nil); r.status != http.StatusCreated {
		t.Fatalf("POST /api/servers: status %d, want 201; body %s", r.status, r.body)
	}
	checkServer(t, n, "late", true)
	t.Run("bad registrations", func(t *testing.T) { testBadRegistrations(t, n, ev) })

	n.proc.stopClean(t)
	n = startNode(t, nodeOptions{name: "servers", demo: true, dataDir: dataDir})
	checkServer(t, n, "late", true)

	if r := n.do(t, http.MethodDelete, "/api/servers/late", nil, nil); r.status != http.StatusNoContent {
		t.Fatalf("DELETE /api/servers/late: status %d, want 204; body %s", r.status, r.body)
	}
	checkServer(t, n, "late", false)
	if r := n.do(t, http.MethodDelete, "/api/servers/late", nil, nil); r.status != http.StatusNotFound {
		t.Errorf("second DELETE /api/servers/late: status %d, want 404; body %s", r.status, r.body)
	}
}

// checkServer asserts that the server called name is (or is not) listed by
// /api/servers and its tools by tools/list, and that a listed one answers.
func checkServer(t *testing.T, n *node, name string, want bool) {
	t.Helper()
	servers := listServers(t, n)
	i := slices.IndexFunc(servers, func(s api.Server) bool { return s.Name == name })
	tool := name + "__test_simple_text"
	if listed := slices.Contains(toolNames(t, n), tool); (i >= 0) != want || listed != want {
		t.Fatalf("server %q in /api/servers: %v, tool %q listed: %v; want %v", name, i >= 0, tool, listed, want)
	}
	if !want {
		return
	}
	if servers[i].Tools == 0 || servers[i].State == "" {
		t.Errorf("server %q listed as %+v, want a state and a tool count", name, servers[i])
	}
	var res callResult
	n.rpc(t, "tools/call", map[string]any{"name": tool, "arguments": map[string]any{}}).decode(t, &res)
	if res.IsError || res.text() == "" {
		t.Errorf("call %s: %+v", tool, res)
	}
}

func testBadRegistrations(t *testing.T, n *node, ev string) {
	bare := mustJSON(map[string]any{"name": "bare", "command": ev}) // its tools unprefixed
	if r := n.do(t, http.MethodPost, "/api/servers", bare, nil); r.status != http.StatusCreated {
		t.Fatalf("POST /api/servers: status %d, want 201; body %s", r.status, r.body)
	}
	defer n.do(t, http.MethodDelete, "/api/servers/bare", nil, nil)
	before, tools := serverNames(t, n), toolNames(t, n)
	if !slices.Contains(tools, "test_simple_text") {
		t.Fatalf("an upstream without prefix: tool test_simple_text not listed bare")
	}
	cases := []struct {
		name, body string
		status     int
	}{
		{"not JSON", `{"name":`, http.StatusBadRequest},
		{"no name", mustJSONString(map[string]any{"command": ev}), http.StatusBadRequest},
		{"neither command nor url", `{"name":"x1"}`, http.StatusBadRequest},
		{"bad url", `{"name":"x2","url":"not a url"}`, http.StatusBadRequest},
		{"duplicate name", mustJSONString(map[string]any{"name": "late", "command": ev, "prefix": "other"}), http.StatusConflict},
		{"duplicate prefix", mustJSONString(map[string]any{"name": "x3", "command": ev, "prefix": "late"}), http.StatusConflict},
		{"tool name clash", mustJSONString(map[string]any{"name": "x4", "command": ev}), http.StatusConflict},
		{"url is this node", mustJSONString(map[string]any{"name": "x5", "url": n.url + "/mcp"}), http.StatusBadRequest},
		{"url is this node by localhost", mustJSONString(map[string]any{"name": "x6", "url": strings.Replace(n.url, "127.0.0.1", "localhost", 1) + "/mcp/http"}), http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := n.do(t, http.MethodPost, "/api/servers", []byte(tc.body), nil)
			var e api.Error
			if r.status != tc.status || json.Unmarshal(r.body, &e) != nil || e.Error == "" {
				t.Errorf("status %d, body %s; want %d with {\"error\": ...}", r.status, r.body, tc.status)
			}
		})
	}
	if got := serverNames(t, n); !slices.Equal(got, before) {
		t.Errorf("bad registrations changed /api/servers: %v, was %v", got, before)
	}
	if got := toolNames(t, n); !slices.Equal(got, tools) {
		t.Errorf("bad registrations changed tools/list: %d tools, was %d", len(got), len(tools))
	}
}

func mustJSONString(v any) string { return string(mustJSON(v)) }

// TestUpstreamRestart kills a stdio upstream's process: the node shows it
// restarting, starts it again with backoff, and its tools work again.
func TestUpstreamRestart(t *testing.T) {
	ev := buildBinaries(t).everything
	n := startNode(t, nodeOptions{name: "restart", servers: map[string]serverEntry{"ev": {Command: ev, Prefix: "ev"}}})
	before := listServers(t, n)
	if len(before) != 1 || before[0].PID <= 0 || before[0].State != "ready" {
		t.Fatalf("/api/servers: %+v, want one ready stdio server with a pid", before)
	}
	if err := syscall.Kill(before[0].PID, syscall.SIGKILL); err != nil {
		t.Fatalf("kill the upstream process %d: %v", before[0].PID, err)
	}
	var now api.Server
	wait.For(t, 30*time.Second, func() bool {
		now = listServers(t, n)[0]
		return now.State == "ready" && now.PID > 0 && now.PID != before[0].PID
	}, "waiting for the upstream to come back with a new process")
	if now.Restarts < 1 {
		t.Errorf("after a restart: %+v, want restarts >= 1", now)
	}
	var res callResult
	n.rpc(t, "tools/call", map[string]any{"name": "ev__test_simple_text", "arguments": map[string]any{}}).decode(t, &res)
	if res.IsError || !strings.Contains(res.text(), "simple text") {
		t.Errorf("call after the restart: %+v", res)
	}
}
