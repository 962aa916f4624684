package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// oauthArgs make a node take the tokens of the provider at op,
// introspecting opaque ones as client "mcpmesh".
func oauthArgs(op string) []string {
	return []string{"--oauth-issuer", op, "--oauth-client-id", "mcpmesh", "--oauth-client-secret", "mcpmesh-secret"}
}

// oauthNode starts a demo node with oauthArgs.
func oauthNode(t *testing.T, op string) *node {
	return startNode(t, nodeOptions{name: "oauth", demo: true, extra: oauthArgs(op)})
}

// TestOAuthTokens: a node started with --oauth-issuer takes the access
// tokens of a real OpenID Provider (zitadel/oidc, scripts/oidcop): JWTs
// verified with its JWKS and opaque ones by introspection, with the right
// audience and scope; it refuses a wrong audience, an expired token, a key
// the issuer does not publish, an HS256 token claiming the issuer and a
// token the introspection reports inactive (401 with a Bearer challenge
// naming the metadata); mcp scope without admin is 403 on management
// routes; the node's own HS256 tokens keep working.
func TestOAuthTokens(t *testing.T) {
	op := startOP(t, "")
	other := startOP(t, op) // claims op's issuer, signs with keys op does not publish
	n := oauthNode(t, op)
	aud := "aud:" + n.url
	hs := func(claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(testSecret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	exp := time.Now().Add(time.Hour).Unix()
	cases := []struct {
		name, method, path, token string
		want                      int
		errHas                    string
	}{
		{"jwt, mcp scope", "POST", "/mcp", opToken(t, op, "jwt-client", "mcpmesh:mcp", aud), 200, ""},
		{"jwt, audience with /mcp", "POST", "/mcp/http", opToken(t, op, "jwt-client", "mcpmesh:mcp", "aud:"+n.url+"/mcp"), 200, ""},
		{"jwt, admin scope on management", "GET", "/api/servers", opToken(t, op, "jwt-client", "mcpmesh:admin", aud), 200, ""},
		{"jwt, mcp scope on management", "GET", "/api/servers", opToken(t, op, "jwt-client", "mcpmesh:mcp", aud), 403, "needs scope \\\"mcpmesh:admin"},
		{"jwt, no mapped scope", "POST", "/mcp", opToken(t, op, "jwt-client", "openid", aud), 403, "needs scope \\\"mcpmesh:mcp"},
		{"jwt, wrong audience", "POST", "/mcp", opToken(t, op, "jwt-client", "mcpmesh:admin", "aud:https://elsewhere.example.com"), 401, "audience"},
		{"jwt, expired", "POST", "/mcp", opToken(t, op, "jwt-client", "mcpmesh:admin", aud, "ttl:-5m"), 401, "expired"},
		{"jwt, unknown key", "POST", "/mcp", opToken(t, other, "jwt-client", "mcpmesh:admin", aud), 401, "key"},
		{"hs256 claiming the issuer", "GET", "/api/servers", hs(jwt.MapClaims{"sub": "mallory", "iss": op, "exp": exp}), 401, "claims the oauth issuer"},
		{"opaque, mcp scope", "POST", "/mcp", opToken(t, op, "opaque-client", "mcpmesh:mcp", aud), 200, ""},
		{"opaque, mcp scope on management", "GET", "/api/servers", opToken(t, op, "opaque-client", "mcpmesh:mcp", aud), 403, "mcpmesh:admin"},
		{"opaque, inactive", "POST", "/mcp", opToken(t, op, "opaque-client", "mcpmesh:admin", aud, "ttl:-5m"), 401, "not active"},
		{"opaque, of another provider", "POST", "/mcp", opToken(t, other, "opaque-client", "mcpmesh:admin", aud), 401, "not active"},
		{"built-in hs256 still works", "GET", "/api/servers", n.token, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.method == "POST" {
				body = []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`)
			}
			r := asToken(n, tc.token).do(t, tc.method, tc.path, body, nil)
			if r.status != tc.want || !strings.Contains(string(r.body), tc.errHas) {
				t.Fatalf("%s %s = %d %s, want %d naming %q", tc.method, tc.path, r.status, r.body, tc.want, tc.errHas)
			}
			if tc.want == 401 {
				checkChallenge(t, r.header.Get("WWW-Authenticate"), n.url, true)
			}
		})
	}
}

// checkChallenge checks a 401's challenge: Bearer, the metadata URL on
// base, a scope, and invalid_token when a token was sent.
func checkChallenge(t *testing.T, challenge, base string, badToken bool) {
	t.Helper()
	want := []string{"Bearer ", `resource_metadata="` + base + `/.well-known/oauth-protected-resource"`, `scope="mcpmesh:`}
	if badToken {
		want = append(want, `error="invalid_token"`)
	}
	for _, w := range want {
		if !strings.Contains(challenge, w) {
			t.Fatalf("WWW-Authenticate = %q, want it to hold %q", challenge, w)
		}
	}
}

// TestOAuthMetadata: the RFC 9728 document at
// /.well-known/oauth-protected-resource (and with /mcp appended, as MCP
// clients ask), without a token: the first audience as resource, the
// issuer, the scopes; a request without a token gets a challenge naming it.
func TestOAuthMetadata(t *testing.T) {
	op := startOP(t, "")
	n := oauthNode(t, op)
	for _, path := range []string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"} {
		r := asToken(n, "").do(t, http.MethodGet, path, nil, map[string]string{"Authorization": ""})
		var doc struct {
			Resource             string   `json:"resource"`
			AuthorizationServers []string `json:"authorization_servers"`
			ScopesSupported      []string `json:"scopes_supported"`
		}
		if err := json.Unmarshal(r.body, &doc); r.status != http.StatusOK || err != nil {
			t.Fatalf("GET %s = %d %s (%v)", path, r.status, r.body, err)
		}
		if doc.Resource != n.url || !slices.Equal(doc.AuthorizationServers, []string{op}) ||
			!slices.Contains(doc.ScopesSupported, "mcpmesh:mcp") || !slices.Contains(doc.ScopesSupported, "mcpmesh:admin") {
			t.Fatalf("GET %s = %+v; want resource %s, authorization_servers [%s], both scopes", path, doc, n.url, op)
		}
	}
	r := asToken(n, "").do(t, http.MethodPost, "/mcp", []byte(`{}`), map[string]string{"Authorization": ""})
	if r.status != http.StatusUnauthorized {
		t.Fatalf("POST /mcp without a token = %d, want 401", r.status)
	}
	checkChallenge(t, r.header.Get("WWW-Authenticate"), n.url, false)
	if c := r.header.Get("WWW-Authenticate"); strings.Contains(c, "error=") {
		t.Fatalf("challenge to a request without a token names an error: %q", c)
	}
}

// TestOAuthGroups: the groups claim of a provider's token is the
// principal's groups, so access rules by group hold for OAuth callers.
func TestOAuthGroups(t *testing.T) {
	op := startOP(t, "")
	n := oauthNode(t, op)
	cliOK(t, n, "rules", "add", "no-echo-for-blocked", "--effect", "deny", "--principal", "group:blocked", "--tool", "echo")
	for _, client := range []string{"jwt-client", "opaque-client"} {
		blocked := asToken(n, opToken(t, op, client, "mcpmesh:mcp", "aud:"+n.url, "group:blocked"))
		free := asToken(n, opToken(t, op, client, "mcpmesh:mcp", "aud:"+n.url, "group:others"))
		if names := toolNames(t, blocked); slices.Contains(names, "echo") {
			t.Errorf("%s token in group blocked lists echo: %v", client, names)
		}
		if names := toolNames(t, free); !slices.Contains(names, "echo") {
			t.Errorf("%s token in group others does not list echo: %v", client, names)
		}
	}
}

// TestOAuthInspector: the MCP Inspector CLI (npm @modelcontextprotocol/
// inspector, --cli) lists a node's tools with an access token of the
// provider, sent as its Authorization header; refused with a bad token, it
// turns to an OAuth login.
func TestOAuthInspector(t *testing.T) {
	a := requireNodeAssets(t)
	op := startOP(t, "")
	n := oauthNode(t, op)
	token := opToken(t, op, "jwt-client", "mcpmesh:mcp", "aud:"+n.url)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := a.command(ctx, filepath.Join(a.scripts, "node_modules", ".bin", "mcp-inspector"), "--cli", n.url+"/mcp",
		"--transport", "http", "--method", "tools/list", "--header", "Authorization: Bearer "+token)
	cmd.Env = append(cmd.Env, "HOME="+t.TempDir()) // its catalog file goes there
	out, err := cmd.Output()
	var list struct {
		Tools []struct{ Name string } `json:"tools"`
	}
	if err != nil || json.Unmarshal(out, &list) != nil {
		t.Fatalf("inspector --cli tools/list: %v\n%s", err, out)
	}
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
	}
	for _, want := range []string{"whoami", "echo", "add", "sleep"} {
		if !slices.Contains(names, want) {
			t.Fatalf("inspector listed %v, want %s among them", names, want)
		}
	}
	bad, err := a.command(ctx, filepath.Join(a.scripts, "node_modules", ".bin", "mcp-inspector"), "--cli", n.url+"/mcp",
		"--transport", "http", "--method", "tools/list", "--header", "Authorization: Bearer not-a-token").CombinedOutput()
	// Refused, the Inspector would log in at the provider: that needs a
	// terminal.
	if err == nil || !strings.Contains(string(bad), "auth_required") {
		t.Fatalf("inspector with a bad token: %v, want it to ask for an OAuth login (auth_required):\n%s", err, bad)
	}
	t.Logf("inspector listed %d tools; with a bad token: %.300s", len(names), bad)
}

// TestOAuthGroupsAcrossRing: an OAuth caller's groups travel with a
// forwarded call (the node token's caller claim), so the owning node, which
// judges the call again, lets through what an allow rule gives the group;
// a caller without the group sees nothing of the peer.
func TestOAuthGroupsAcrossRing(t *testing.T) {
	op := startOP(t, "")
	b := startMeshNode(t, "ob", oauthArgs(op)...)
	a := startMeshNode(t, "oa", oauthArgs(op)...)
	ringAddPeer(t, a, b.url, "b", "full")
	wait.For(t, ringTimeout, func() bool { return ringList(t, a).has("b__whoami") }, "waiting for oa to list b__whoami")
	cliOK(t, a, "rules", "add", "team-b", "--effect", "allow", "--principal", "group:team", "--tool", "b__*")
	wait.For(t, ringTimeout, func() bool {
		var rules []api.Rule
		cliJSON(t, b, &rules, "rules", "list")
		return len(rules) == 1
	}, "the rule to reach ob")
	for _, client := range []string{"jwt-client", "opaque-client"} {
		member := asToken(a, opToken(t, op, client, "mcpmesh:mcp", "aud:"+a.url, "group:team"))
		if res := ringCall(t, member, "b__whoami", map[string]any{}); res.IsError || !strings.Contains(res.text(), "ob") {
			t.Errorf("%s token of group team: b__whoami through oa = %+v, want ob's answer", client, res)
		}
		stranger := asToken(a, opToken(t, op, client, "mcpmesh:mcp", "aud:"+a.url, "group:others"))
		if rep := stranger.rpc(t, "tools/call", map[string]any{"name": "b__whoami", "arguments": map[string]any{}}); rep.Error == nil || rep.Error.Code != -32602 {
			t.Errorf("%s token of group others: b__whoami = %+v, want -32602", client, rep.Error)
		}
	}
}
