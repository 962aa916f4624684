package gateway

import (
	"strings"
	"testing"
)

func TestAddServerBadInput(t *testing.T) {
	n := startNode(t, nodeOptions{})
	cases := []struct {
		name, body string
		want       int
		errHas     []string
	}{
		{"empty body", "", 400, []string{"empty"}},
		{"truncated JSON", `{"name":"x"`, 400, []string{"ends"}},
		{"not JSON", `name=x`, 400, []string{"invalid JSON at byte"}},
		{"array", `[]`, 400, []string{"JSON object"}},
		{"unknown field", `{"name":"x","command":"y","bogus":1}`, 400, []string{`unknown field "bogus"`}},
		{"wrong type", `{"name":"x","command":"y","args":"a"}`, 400, []string{`"args"`, "array"}},
		{"wrong env type", `{"name":"x","command":"y","env":{"A":1}}`, 400, []string{`"env"`, "string"}},
		{"trailing data", `{"name":"x","command":"y"} {}`, 400, []string{"after the JSON object"}},
		{"no name", `{"command":"y"}`, 400, []string{`"name"`, "required"}},
		{"bad name", `{"name":"a/b","command":"y"}`, 400, []string{`"a/b"`}},
		{"both command and url", `{"name":"x","command":"y","url":"http://127.0.0.1:1/mcp"}`, 400, []string{"command", "url"}},
		{"neither command nor url", `{"name":"x"}`, 400, []string{"command", "url"}},
		{"bad url", `{"name":"x","url":"ftp://127.0.0.1/mcp"}`, 400, []string{"url"}},
		{"relative url", `{"name":"x","url":"/mcp"}`, 400, []string{"url"}},
		{"prefix with __", `{"name":"x","command":"y","prefix":"a__b"}`, 400, []string{`"a__b"`}},
		{"service and prefix", `{"name":"x","command":"y","service":"svc","prefix":"p"}`, 400, []string{`"service"`, `"prefix"`, "both"}},
		{"bad service", `{"name":"x","command":"y","service":"Svc_1"}`, 400, []string{`service "Svc_1"`, "peer names"}},
		{"bad protocol_version", `{"name":"x","command":"y","protocol_version":"2025-06-18"}`, 400,
			[]string{`server "x"`, `invalid protocol_version "2025-06-18"`, `"2025-11-25" (the default) or "2026-07-28"`}},
		{"protocol_version not a string", `{"name":"x","command":"y","protocol_version":2026}`, 400, []string{`"protocol_version"`, "string"}},
		{"name of the demo source", `{"name":"demo","command":"y"}`, 409, []string{`"demo"`, "already registered"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := n.do(t, "POST", "/api/servers", n.admin, tc.body)
			if r.code != tc.want {
				t.Fatalf("status %d, want %d: %s", r.code, tc.want, r.body)
			}
			msg := r.errorText(t)
			for _, want := range tc.errHas {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not mention %q", msg, want)
				}
			}
		})
	}
	assertNoServers(t, n)
}

// assertNoServers checks that nothing was registered or stored.
func assertNoServers(t *testing.T, n *testNode) {
	t.Helper()
	if r := n.do(t, "GET", "/api/servers", n.admin, ""); r.code != 200 || string(r.body) != "[]" {
		t.Errorf("/api/servers = %d %s, want 200 []", r.code, r.body)
	}
	var keys []string
	if err := n.store.Scan(serverKeyPrefix, func(k string, _ []byte) error { keys = append(keys, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) > 0 {
		t.Errorf("store holds %v, want no servers", keys)
	}
}
