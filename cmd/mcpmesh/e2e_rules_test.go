package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// asToken is n with another token (same process).
func asToken(n *node, token string) *node {
	c := *n
	c.token = token
	return &c
}

// TestRulesAcrossRing: with real processes, a rule added with `mcpmesh
// rules add` on one node holds on every node (`rules list`), a token of
// `mcpmesh token --group` then lists and calls only what the rule gives
// its group, through any node, the owning node of a forwarded call judging
// it again; `rules remove` gives it everything back.
func TestRulesAcrossRing(t *testing.T) {
	r1 := startMeshNode(t, "r1")
	gossip := ringInfo(t, r1).GossipAddress
	r2 := startMeshNode(t, "r2", "--join", gossip)
	r3 := startMeshNode(t, "r3", "--join", gossip)
	nodes := []*node{r1, r2, r3}
	wait.For(t, ringTimeout, func() bool { return len(ringAlive(t, r1)) == 3 && len(ringAlive(t, r3)) == 3 },
		"waiting for three members alive")
	ringAddPeer(t, r1, r2.url, "pb", "full")
	wait.For(t, ringTimeout, func() bool { return ringList(t, r1).has("pb__whoami") }, "r1 to list pb__whoami")

	out := cliOK(t, r3, "rules", "add", "team-a", "--effect", "allow", "--principal", "group:team a",
		"--tool", "pb__*", "--tool", "whoami")
	if rows := parseTable(t, out, ruleHeader...); len(rows) != 1 || rows[0][0] != "team-a" || rows[0][5] != "r3" {
		t.Fatalf("rules add printed %q", rows)
	}
	for _, n := range nodes {
		wait.For(t, ringTimeout, func() bool {
			var rules []api.Rule
			cliJSON(t, n, &rules, "rules", "list")
			return len(rules) == 1 && rules[0].Name == "team-a" && slices.Equal(rules[0].Principals, []string{"group:team a"})
		}, "the rule to reach %s", n.name)
	}
	alice := makeToken(t, "--username", "alice", "--group", "team a", "--scope", "mcp", "--secret", testSecret)
	want := append(ringDemo("pb"), "whoami")
	slices.Sort(want)
	for _, n := range nodes {
		if n == r2 {
			continue // r2 is not its own peer
		}
		a := asToken(n, alice)
		if got := ringList(t, a).names(); !slices.Equal(got, want) {
			t.Errorf("alice lists %q on %s, want %q", got, n.name, want)
		}
		if rep := a.rpc(t, "tools/call", map[string]any{"name": "echo", "arguments": map[string]any{}}); rep.Error == nil || rep.Error.Code != -32602 {
			t.Errorf("alice's echo on %s: %+v, want -32602", n.name, rep.Error)
		}
		if res := ringCall(t, a, "pb__whoami", map[string]any{}); res.IsError || !strings.Contains(res.text(), "r2") {
			t.Errorf("alice's pb__whoami on %s: %+v, want r2's answer", n.name, res)
		}
	}
	if out := cliOK(t, r2, "rules", "remove", "team-a"); !strings.Contains(out, "rule team-a removed") {
		t.Fatalf("rules remove printed %q", out)
	}
	wait.For(t, ringTimeout, func() bool { return ringList(t, asToken(r3, alice)).has("echo") },
		"alice to see r3's echo once the rule is gone")
}
