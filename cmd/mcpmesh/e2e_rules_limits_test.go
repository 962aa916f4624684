package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRulesRateAndAudit: with a real process and rules written by the CLI,
// an allow rule's rate limits its principal's calls on the node they enter
// (the third echo of "2/h" is rate_limited with a retry-after), a tool a deny
// rule refuses answers -32602 like a missing one (not rate_limited, although
// an allow rule with a rate also matches it), another principal is not
// limited, and the audit log names each outcome: ok, rate_limited, denied.
func TestRulesRateAndAudit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	n := startNode(t, nodeOptions{name: "rl", demo: true, extra: []string{"--audit-log", path}})
	cliOK(t, n, "rules", "add", "alice-echo", "--effect", "allow", "--principal", "user:alice",
		"--tool", "echo", "--tool", "whoami", "--rate", "2/h")
	cliOK(t, n, "rules", "add", "bob-all", "--effect", "allow", "--principal", "user:bob", "--tool", "*")
	cliOK(t, n, "rules", "add", "no-whoami", "--effect", "deny", "--principal", "user:alice", "--tool", "whoami")
	alice := asToken(n, makeToken(t, "--username", "alice", "--scope", "mcp", "--secret", testSecret))
	bob := asToken(n, makeToken(t, "--username", "bob", "--scope", "mcp", "--secret", testSecret))
	echo := map[string]any{"name": "echo", "arguments": map[string]any{"text": "hi"}}

	for i := range 2 {
		if res := ringCall(t, alice, "echo", echo["arguments"]); res.IsError {
			t.Fatalf("alice's echo %d within the rate: %+v", i+1, res)
		}
	}
	res := ringCall(t, alice, "echo", echo["arguments"])
	if !res.IsError || res.Meta["mcpmesh/error"] != "rate_limited" || res.Meta["mcpmesh/retry_after_ms"] == nil {
		t.Errorf("alice's third echo of 2/h: %+v, want isError rate_limited with mcpmesh/retry_after_ms", res)
	}
	if rep := alice.rpc(t, "tools/call", map[string]any{"name": "whoami", "arguments": map[string]any{}}); rep.Error == nil || rep.Error.Code != -32602 {
		t.Errorf("alice's denied whoami: %+v %s, want -32602 as for a missing tool", rep.Error, rep.Result)
	}
	for i := range 3 {
		if res := ringCall(t, bob, "echo", echo["arguments"]); res.IsError {
			t.Fatalf("bob's echo %d (no rate): %+v", i+1, res)
		}
	}

	n.proc.stopClean(t)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		for _, want := range []struct{ key, who, name, outcome string }{
			{"alice ok", `"alice"`, `"name":"echo"`, `"outcome":"ok"`},
			{"alice rate_limited", `"alice"`, `"name":"echo"`, `"outcome":"rate_limited"`},
			{"alice denied", `"alice"`, `"name":"whoami"`, `"outcome":"denied"`},
			{"bob ok", `"bob"`, `"name":"echo"`, `"outcome":"ok"`},
		} {
			if holdsAll(line, []string{want.who, want.name, want.outcome, `"method":"tools/call"`}) {
				counts[want.key]++
			}
		}
	}
	want := map[string]int{"alice ok": 2, "alice rate_limited": 1, "alice denied": 1, "bob ok": 3}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("audit log has %d lines of %s, want %d; log:\n%s", counts[k], k, v, b)
		}
	}
}
