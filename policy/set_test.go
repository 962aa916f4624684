package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// principalOf is the principal a rule's principal entry names (tests).
func principalOf(entry string) mcp.Principal {
	kind, who, _ := strings.Cut(entry, ":")
	switch kind {
	case "user":
		return mcp.Principal{Subject: who}
	case "group":
		return mcp.Principal{Subject: "someone", Groups: mcp.JoinGroups([]string{who})}
	}
	return mcp.Principal{Subject: "anyone"}
}

var (
	alice = mcp.Principal{Subject: "alice", Groups: mcp.JoinGroups([]string{"team a"})}
	bob   = mcp.Principal{Subject: "bob", Groups: mcp.JoinGroups([]string{"team-b", "ops"})}
	carol = mcp.Principal{Subject: "carol"}
)

// TestAllowDeny: no rules allow everything; once an allow rule exists a
// principal gets only what allow rules give it; deny wins; users, groups
// (exact names, spaces included) and * match as written.
func TestAllowDeny(t *testing.T) {
	teamA := rule("team-a", "allow", []string{"group:team a"}, []string{"a__*", "svc__*"}, "")
	teamB := rule("team-b", "allow", []string{"group:team-b"}, []string{"b__*"}, "")
	carolEcho := rule("carol", "allow", []string{"user:carol"}, []string{"echo"}, "")
	everyoneWhoami := rule("all", "allow", []string{"*"}, []string{"whoami"}, "")
	noSleep := rule("no-sleep", "deny", []string{"*"}, []string{"*sleep"}, "")
	noOps := rule("no-ops", "deny", []string{"group:ops"}, []string{"b__secret"}, "")
	tests := []struct {
		name  string
		rules []api.Rule
		p     mcp.Principal
		tool  string
		want  bool
	}{
		{"no rules", nil, carol, "anything", true},
		{"deny only: others pass", []api.Rule{noSleep}, carol, "echo", true},
		{"deny only: denied", []api.Rule{noSleep}, carol, "a__sleep", false},
		{"group allow", []api.Rule{teamA, teamB}, alice, "a__echo", true},
		{"group allow, other team's", []api.Rule{teamA, teamB}, alice, "b__echo", false},
		{"group names are exact", []api.Rule{teamA}, mcp.Principal{Subject: "x", Groups: mcp.JoinGroups([]string{"team", "a"})}, "a__echo", false},
		{"no rule names carol", []api.Rule{teamA}, carol, "a__echo", false},
		{"user allow", []api.Rule{teamA, carolEcho}, carol, "echo", true},
		{"user allow is only hers", []api.Rule{teamA, carolEcho}, bob, "echo", false},
		{"wildcard principal", []api.Rule{teamA, everyoneWhoami}, bob, "whoami", true},
		{"deny wins over allow", []api.Rule{teamA, noSleep}, alice, "a__sleep", false},
		{"group deny", []api.Rule{teamB, noOps}, bob, "b__secret", false},
		{"group deny spares others", []api.Rule{teamB, noOps}, bob, "b__echo", true},
		{"service glob", []api.Rule{teamA}, alice, "svc__add", true},
		{"uri glob", []api.Rule{rule("docs", "allow", []string{"*"}, []string{"file:///docs/*"}, "")}, carol, "file:///docs/a/b.md", true},
		{"uri glob miss", []api.Rule{rule("docs", "allow", []string{"*"}, []string{"file:///docs/*"}, "")}, carol, "file:///etc/passwd", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, bad := Compile(tt.rules)
			if len(bad) > 0 {
				t.Fatalf("bad rules %v", bad)
			}
			if got := s.Allowed(tt.p, tt.tool); got != tt.want {
				t.Errorf("Allowed(%s, %q) = %v, want %v", tt.p.Subject, tt.tool, got, tt.want)
			}
		})
	}
}

// TestRateFor: the strictest rate of the matching allow rules holds.
func TestRateFor(t *testing.T) {
	s, _ := Compile([]api.Rule{
		rule("slow", "allow", []string{"group:team a"}, []string{"a__*"}, "60/m"),
		rule("fast", "allow", []string{"*"}, []string{"a__echo", "b__*"}, "10/s"),
		rule("free", "allow", []string{"*"}, []string{"c__*"}, ""),
	})
	for _, tc := range []struct {
		p    mcp.Principal
		tool string
		want string
	}{{alice, "a__echo", "60/m"}, {carol, "a__echo", "10/s"}, {alice, "b__x", "10/s"}, {alice, "c__x", ""}, {carol, "d__x", ""}} {
		r, ok := s.RateFor(tc.p, tc.tool)
		if got := map[bool]string{true: r.String(), false: ""}[ok]; got != tc.want {
			t.Errorf("RateFor(%s, %s) = %q, want %q", tc.p.Subject, tc.tool, got, tc.want)
		}
	}
}

// TestFilter: lists keep what the principal may see, in order, and the
// same items filtered twice give the cached answer.
func TestFilter(t *testing.T) {
	s, _ := Compile([]api.Rule{rule("a", "allow", []string{"group:team a"}, []string{"a__*"}, "")})
	var items []mcp.Item
	for i := range 10 {
		items = append(items, mcp.Item{Key: fmt.Sprintf("%c__t%d", 'a'+i%2, i)})
	}
	v := s.For(alice)
	got := v.Filter(items, "tools", func(it mcp.Item) string { return it.Key })
	if len(got) != 5 || got[0].Key != "a__t0" || got[4].Key != "a__t8" {
		t.Fatalf("filtered %v", got)
	}
	if again := v.Filter(items, "tools", func(it mcp.Item) string { return it.Key }); &again[0] != &got[0] {
		t.Error("second filter of the same items was not cached")
	}
	if s.For(mcp.Principal{Subject: "other", Groups: alice.Groups}) != v {
		t.Error("principals meeting the same rules do not share a view")
	}
}
