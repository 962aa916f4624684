package federation

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// TestNodeTokenScopes: the tokens an engine sends peers (links, info, plain
// POSTs) are mcp-scoped, but the keyring fan-out's, which need management;
// all name this node.
func TestNodeTokenScopes(t *testing.T) {
	f := startEngine(t, "a", clustertest.NewStore(t, false))
	for _, tc := range []struct {
		name   string
		client *http.Client
		scope  string
	}{{"HTTPClient", f.HTTPClient(), scopeMCP}, {"AdminClient", f.AdminClient(), scopeAdmin}} {
		t.Run(tc.name, func(t *testing.T) {
			var auth string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				auth = r.Header.Get("Authorization")
			}))
			resp, err := tc.client.Get(srv.URL)
			srv.Close()
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if c := parseNodeToken(t, strings.TrimPrefix(auth, "Bearer ")); c.Scope != tc.scope || c.Subject != "node:a" {
				t.Errorf("token sent: %+v, want subject node:a and scope %s", c, tc.scope)
			}
		})
	}
	tok, err := f.tokens.get("b")
	if err != nil {
		t.Fatal(err)
	}
	if c := parseNodeToken(t, tok); c.Scope != scopeMCP {
		t.Errorf("the hop's POSTs carry %+v, want an mcp-scoped token", c)
	}
}

// TestCallerGroupsLossless: a principal's groups pass through a node
// token's caller claim exactly, spaces and all, and two callers whose
// groups differ only in how they would split get different tokens.
func TestCallerGroupsLossless(t *testing.T) {
	for _, groups := range [][]string{nil, {"team a"}, {"team", "a"}, {"ops", "sre on call", " x "}} {
		p := mcp.Principal{Subject: "alice", Groups: mcp.JoinGroups(groups)}
		back := CallerOf(p).Principal()
		if back != p || !slices.Equal(back.GroupList(), groups) {
			t.Errorf("groups %q: came back as %q (%+v)", groups, back.GroupList(), back)
		}
	}
	a := CallerOf(mcp.Principal{Subject: "alice", Groups: mcp.JoinGroups([]string{"team a"})})
	b := CallerOf(mcp.Principal{Subject: "alice", Groups: mcp.JoinGroups([]string{"team", "a"})})
	if a.key() == b.key() {
		t.Errorf("callers with groups [team a] and [team a] split differently share the token cache key %q", a.key())
	}
}
