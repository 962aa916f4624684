package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuditLogProcess: `serve --audit-log FILE` writes a JSON line for a
// tools/call and for an admin write, and every line is in the file once
// the node has drained and exited on SIGTERM.
func TestAuditLogProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	n := startNode(t, nodeOptions{name: "audit-a", demo: true, extra: []string{"--audit-log", path}})
	r := n.do(t, http.MethodPost, "/mcp/http", []byte(`{"jsonrpc":"2.0","id":"c-1","method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}`), nil)
	if r.status != http.StatusOK {
		t.Fatalf("echo: %d %s", r.status, r.body)
	}
	r = n.do(t, http.MethodDelete, "/api/servers/nope", nil, map[string]string{"X-Request-Id": "del-1"})
	if r.status != http.StatusNotFound {
		t.Fatalf("DELETE /api/servers/nope: %d %s, want 404", r.status, r.body)
	}
	n.proc.stopClean(t)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	want := []string{
		`"node":"audit-a"`, `"method":"tools/call"`, `"name":"echo"`, `"source":"audit-a"`, `"outcome":"ok"`, `"request_id":"c-1"`,
	}
	wantWrite := []string{`"method":"DELETE /api/servers/:name"`, `"name":"nope"`, `"outcome":"rejected"`, `"code":404`, `"request_id":"del-1"`}
	if len(lines) != 2 || !holdsAll(lines[0], want) || !holdsAll(lines[1], wantWrite) {
		t.Fatalf("audit log after SIGTERM:\n%s\nwant a line with %v, then one with %v", b, want, wantWrite)
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("audit line %q is not JSON", l)
		}
	}
}

func holdsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
