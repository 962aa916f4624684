package federation

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
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
