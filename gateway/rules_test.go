package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// addRule writes a rule through n's REST API, failing unless 201.
func addRule(t testing.TB, n *fedNode, body string) api.Rule {
	t.Helper()
	r := n.do(t, http.MethodPost, "/api/policy/rules", n.admin, body)
	if r.code != http.StatusCreated {
		t.Fatalf("add rule on %s: status %d, body %s", n.name, r.code, r.body)
	}
	return decode[api.Rule](t, r.body)
}

// TestRulesAPI: the rules REST API writes, reads, changes and removes
// rules; every bad field is 400 naming it and changes nothing; a second
// rule of a name is 409, an unknown one 404; an mcp-scope token is 403.
func TestRulesAPI(t *testing.T) {
	n := startFedNode(t, "gw-a")
	r := addRule(t, n, `{"name":"team-a","effect":"allow","principals":["group:team-a"],"tools":["a__*"],"rate":"5/s"}`)
	if r.Name != "team-a" || r.Rate != "5/s" || r.UpdatedBy != "gw-a" || r.CreatedAt.IsZero() {
		t.Fatalf("written rule %+v", r)
	}
	runBadCases(t, n, []badCase{
		{name: "bad effect", method: http.MethodPost, path: "/api/policy/rules", status: 400, mention: []string{"effect"},
			body: `{"name":"x","effect":"permit","principals":["*"],"tools":["*"]}`},
		{name: "bad principal", method: http.MethodPost, path: "/api/policy/rules", status: 400, mention: []string{"principals[0]"},
			body: `{"name":"x","effect":"allow","principals":["role:x"],"tools":["*"]}`},
		{name: "bad glob", method: http.MethodPost, path: "/api/policy/rules", status: 400, mention: []string{"tools[1]"},
			body: `{"name":"x","effect":"allow","principals":["*"],"tools":["a","[b"]}`},
		{name: "bad rate", method: http.MethodPost, path: "/api/policy/rules", status: 400, mention: []string{"rate"},
			body: `{"name":"x","effect":"allow","principals":["*"],"tools":["*"],"rate":"5/day"}`},
		{name: "rate on deny", method: http.MethodPost, path: "/api/policy/rules", status: 400, mention: []string{"rate"},
			body: `{"name":"x","effect":"deny","principals":["*"],"tools":["*"],"rate":"5/s"}`},
		{name: "bad name", method: http.MethodPost, path: "/api/policy/rules", status: 400, mention: []string{"name"},
			body: `{"name":"X_Y","effect":"allow","principals":["*"],"tools":["*"]}`},
		{name: "unknown field", method: http.MethodPost, path: "/api/policy/rules", status: 400, mention: []string{"owner"},
			body: `{"name":"x","effect":"allow","principals":["*"],"tools":["*"],"owner":"me"}`},
		{name: "duplicate", method: http.MethodPost, path: "/api/policy/rules", status: 409, mention: []string{"team-a"},
			body: `{"name":"team-a","effect":"deny","principals":["*"],"tools":["*"]}`},
		{name: "patch bad glob", method: http.MethodPatch, path: "/api/policy/rules/team-a", status: 400, mention: []string{"tools[0]"},
			body: `{"tools":["[b"]}`},
		{name: "patch unknown", method: http.MethodPatch, path: "/api/policy/rules/nope", status: 404, mention: []string{"nope"},
			body: `{"effect":"deny"}`},
		{name: "get unknown", method: http.MethodGet, path: "/api/policy/rules/nope", status: 404, mention: []string{"nope"}},
		{name: "delete unknown", method: http.MethodDelete, path: "/api/policy/rules/nope", status: 404, mention: []string{"nope"}},
	})
	rules := decode[[]api.Rule](t, n.do(t, http.MethodGet, "/api/policy/rules", n.admin, "").body)
	if len(rules) != 1 || rules[0].Effect != "allow" || !slices.Equal(rules[0].Tools, []string{"a__*"}) {
		t.Fatalf("rules after the refusals: %+v", rules)
	}
	p := n.do(t, http.MethodPatch, "/api/policy/rules/team-a", n.admin, `{"tools":["a__*","svc__*"],"rate":""}`)
	if got := decode[api.Rule](t, p.body); p.code != 200 || len(got.Tools) != 2 || got.Rate != "" || got.Effect != "allow" {
		t.Fatalf("patch: %d %s", p.code, p.body)
	}
	if r := n.do(t, http.MethodGet, "/api/policy/rules", tokenFor(t, "bob", ScopeMCP, ""), ""); r.code != http.StatusForbidden {
		t.Errorf("mcp-scope token listed rules: %d", r.code)
	}
	if r := n.do(t, http.MethodDelete, "/api/policy/rules/team-a", n.admin, ""); r.code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.code, r.body)
	}
	if r := n.do(t, http.MethodGet, "/api/policy/rules", n.admin, ""); string(r.body) != "[]" {
		t.Errorf("rules after delete: %s", r.body)
	}
}

// rulePair starts gw-b and gw-a (gw-b is gw-a's full peer "b") with the
// rules of the enforcement tests, written on gw-a and waited for on gw-b.
func rulePair(t *testing.T) (a, b *fedNode) {
	t.Helper()
	a, b = startFedNode(t, "gw-a"), startFedNode(t, "gw-b")
	addFedPeer(t, a, b, "b", cluster.TrustFull)
	wait.For(t, 10*time.Second, func() bool { return a.list(t).has("b__echo") }, "gw-a to list b__echo")
	addRule(t, a, `{"name":"team-a","effect":"allow","principals":["group:team a"],"tools":["b__*","whoami"]}`)
	addRule(t, a, `{"name":"carol","effect":"allow","principals":["user:carol"],"tools":["echo","add"]}`)
	addRule(t, a, `{"name":"no-sleep","effect":"deny","principals":["*"],"tools":["*sleep"]}`)
	wait.For(t, 10*time.Second, func() bool { return len(b.gw.fed.Rules()) == 3 }, "the rules to reach gw-b")
	return a, b
}

// asCaller sends one sessionless request to path on n with token.
func asCaller(t testing.TB, n *fedNode, path, token, method string, params any) (json.RawMessage, *mcp.Error) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	return n.reply(t, method, n.do(t, http.MethodPost, path, token, string(body)))
}

// listedAs is every tool name path on n lists to token, all pages.
func listedAs(t testing.TB, n *fedNode, path, token string) []string {
	t.Helper()
	var names []string
	params := map[string]any{}
	for range 100 {
		res, rpcErr := asCaller(t, n, path, token, "tools/list", params)
		if rpcErr != nil {
			t.Fatalf("tools/list on %s: %v", path, rpcErr.Message)
		}
		l := decode[fedListing](t, res)
		for _, tool := range l.Tools {
			names = append(names, tool.Name)
		}
		if l.NextCursor == "" {
			break
		}
		params = map[string]any{"cursor": l.NextCursor}
	}
	return names
}

// TestRulesEnforced: lists show, and calls reach, only what the rules give
// each caller (groups by exact name, users, *; deny wins), on /mcp and on
// /mcp/peers/b alike, matched by canonical name; a refused call is the
// -32602 of a tool that does not exist; admin tokens are not restricted.
func TestRulesEnforced(t *testing.T) {
	a, _ := rulePair(t)
	alice := userToken(t, "alice", "", []string{"team a"})
	split := userToken(t, "mallory", "", []string{"team", "a"}) // not group "team a"
	carol := userToken(t, "carol", "", nil)
	tests := []struct {
		name, path, token, tool string
		allowed                 bool
	}{
		{"group gets the peer's tools", "/mcp", alice, "b__echo", true},
		{"group gets a local tool by name", "/mcp", alice, "whoami", true},
		{"group lacks other local tools", "/mcp", alice, "echo", false},
		{"deny wins over the group's b__*", "/mcp", alice, "b__sleep", false},
		{"group names are exact", "/mcp", split, "b__echo", false},
		{"user gets her tools", "/mcp", carol, "echo", true},
		{"user lacks the peer's", "/mcp", carol, "b__echo", false},
		{"peer endpoint: echo is b__echo", "/mcp/peers/b", alice, "echo", true},
		{"peer endpoint: sleep is b__sleep, denied", "/mcp/peers/b", alice, "sleep", false},
		{"peer endpoint: carol's echo is not b__echo", "/mcp/peers/b", carol, "echo", false},
		{"admin is not restricted", "/mcp", a.admin, "b__add", true},
		{"admin is not restricted by deny", "/mcp", a.admin, "sleep", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := slices.Contains(listedAs(t, a, tt.path, tt.token), tt.tool); got != tt.allowed {
				t.Errorf("%s lists %s: %v, want %v", tt.path, tt.tool, got, tt.allowed)
			}
			args := map[string]any{"name": tt.tool, "arguments": map[string]any{"ms": 1}}
			_, rpcErr := asCaller(t, a, tt.path, tt.token, "tools/call", args)
			switch {
			case tt.allowed && rpcErr != nil:
				t.Errorf("call of %s refused: %d %s", tt.tool, rpcErr.Code, rpcErr.Message)
			case !tt.allowed && (rpcErr == nil || rpcErr.Code != mcp.CodeInvalidParams || rpcErr.Message != "unknown tool: "+tt.tool):
				t.Errorf("call of %s: %+v, want -32602 unknown tool: %s", tt.tool, rpcErr, tt.tool)
			}
		})
	}
}

// TestRefusedLikeMissing: a refused tool's error is byte for byte that of
// a tool that does not exist.
func TestRefusedLikeMissing(t *testing.T) {
	a, _ := rulePair(t)
	carol := userToken(t, "carol", "", nil)
	_, refused := asCaller(t, a, "/mcp", carol, "tools/call", map[string]any{"name": "whoami"})
	_, missing := asCaller(t, a, "/mcp", a.admin, "tools/call", map[string]any{"name": "whoami-not-here"})
	if refused == nil || missing == nil || refused.Code != missing.Code ||
		refused.Message != "unknown tool: whoami" || missing.Message != "unknown tool: whoami-not-here" {
		t.Fatalf("refused %+v, missing %+v", refused, missing)
	}
}

// craftedCallerToken is a node token of gw-a for gw-b naming caller, as the
// engine mints it (crafted here: the entry node is bypassed).
func craftedCallerToken(t testing.TB, caller *federation.Caller) string {
	t.Helper()
	now := time.Now()
	claims := Claims{Scope: ScopeMCP, Caller: caller, RegisteredClaims: jwt.RegisteredClaims{
		Subject: federation.NodeSubjectPrefix + "gw-a", Audience: jwt.ClaimStrings{"gw-b"},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	}}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestOwnerJudgesAgain: a node request straight to the owning node (the
// entry node bypassed) is judged there by the principal and canonical name
// it asserts: a denied principal gets -32602, an allowed one the tool.
func TestOwnerJudgesAgain(t *testing.T) {
	_, b := rulePair(t)
	tests := []struct {
		name    string
		caller  federation.Caller
		allowed bool
	}{
		{"denied principal, canonical name", federation.Caller{Subject: "carol", Name: "b__echo"}, false},
		{"denied principal, no name asserted", federation.Caller{Subject: "mallory"}, false},
		{"group principal, canonical name", federation.Caller{Subject: "alice", Groups: []string{"team a"}, Name: "b__echo"}, true},
		{"group principal, denied name", federation.Caller{Subject: "alice", Groups: []string{"team a"}, Name: "b__sleep"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}`
			req, _ := http.NewRequest(http.MethodPost, b.url+"/mcp/http", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+craftedCallerToken(t, &tt.caller))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(federation.HeaderForwarded, "gw-a")
			_, rpcErr := b.reply(t, "tools/call", send(t, req))
			if got := rpcErr == nil; got != tt.allowed {
				t.Errorf("allowed %v (%+v), want %v", got, rpcErr, tt.allowed)
			}
		})
	}
}

// TestRulesListChanged: a rule change tells the callers whose lists it
// changed (a 2026-07-28 listen stream and a 2025-11-25 session), and they
// list what the new rules give them.
func TestRulesListChanged(t *testing.T) {
	a, _ := rulePair(t)
	carol := userToken(t, "carol", "", nil)
	other := watchToolsAs(t, a, userToken(t, "alice", "", []string{"team a"}), "/mcp", "2025-11-25")
	for _, version := range []string{"", "2025-11-25"} {
		w := watchToolsAs(t, a, carol, "/mcp", version)
		before := w.heard.Load()
		addRule(t, a, fmt.Sprintf(`{"name":"carol-b-%d","effect":"allow","principals":["user:carol"],"tools":["b__echo"]}`, len(version)))
		w.awaitTools(t, before, "b__echo", true)
		if n := other.heard.Load(); n != 0 {
			t.Errorf("alice, whose list carol's rule does not change, heard %d list changes", n)
		}
		before = w.heard.Load()
		if r := a.do(t, http.MethodDelete, fmt.Sprintf("/api/policy/rules/carol-b-%d", len(version)), a.admin, ""); r.code != 204 {
			t.Fatal(r.code)
		}
		w.awaitTools(t, before, "b__echo", false)
	}
}

// keysOf lists every page of method on path for token and returns the
// entries' key field (name or uri).
func keysOf(t *testing.T, n *fedNode, path, token, method, field, key string) []string {
	t.Helper()
	var keys []string
	params := map[string]any{}
	for range 100 {
		res, rpcErr := asCaller(t, n, path, token, method, params)
		if rpcErr != nil {
			t.Fatalf("%s on %s: %v", method, path, rpcErr.Message)
		}
		var page map[string]json.RawMessage
		_ = json.Unmarshal(res, &page)
		var entries []map[string]any
		_ = json.Unmarshal(page[field], &entries)
		for _, e := range entries {
			keys = append(keys, fmt.Sprint(e[key]))
		}
		var cursor string
		if json.Unmarshal(page["nextCursor"], &cursor) != nil || cursor == "" {
			break
		}
		params = map[string]any{"cursor": cursor}
	}
	return keys
}

// TestRulesPromptsResourcesPaging: the globs match prompt names (canonical,
// also through /mcp/peers/b) and resource URIs; filtered lists page
// correctly; a refused prompts/get or resources/read is answered as a
// missing one.
func TestRulesPromptsResourcesPaging(t *testing.T) {
	src := rawSource{defs: mcp.Definitions{
		Tools:     rawTools(300, func(i int) string { return fmt.Sprintf("t%03d", i) }),
		Prompts:   []json.RawMessage{json.RawMessage(`{"name":"p-open"}`), json.RawMessage(`{"name":"p-secret"}`)},
		Resources: []json.RawMessage{json.RawMessage(`{"uri":"file:///docs/a","name":"a"}`), json.RawMessage(`{"uri":"file:///etc/passwd","name":"p"}`)},
	}}
	a, b := startFedNode(t, "gw-a"), startFedNode(t, "gw-b", src)
	addFedPeer(t, a, b, "b", cluster.TrustFull)
	wait.For(t, 10*time.Second, func() bool { return a.list(t).has("b__t299") }, "gw-a to list b__t299")
	addRule(t, a, `{"name":"g","effect":"allow","principals":["group:g"],"tools":["b__t0*","b__t2*","b__p-open","file:///docs/*"]}`)
	alice := userToken(t, "alice", "", []string{"g"})
	var want []string
	for i := range 300 {
		if i < 100 || i >= 200 {
			want = append(want, fmt.Sprintf("b__t%03d", i))
		}
	}
	if got := keysOf(t, a, "/mcp", alice, "tools/list", "tools", "name"); !slices.Equal(got, want) {
		t.Errorf("tools over all pages: %d (%v…), want the 200 of b__t0* and b__t2*", len(got), got[:min(3, len(got))])
	}
	if got := keysOf(t, a, "/mcp", alice, "prompts/list", "prompts", "name"); !slices.Equal(got, []string{"b__p-open"}) {
		t.Errorf("prompts %v, want [b__p-open]", got)
	}
	if got := keysOf(t, a, "/mcp/peers/b", alice, "prompts/list", "prompts", "name"); !slices.Equal(got, []string{"p-open"}) {
		t.Errorf("peer endpoint prompts %v, want [p-open]", got)
	}
	if got := keysOf(t, a, "/mcp", alice, "resources/list", "resources", "uri"); !slices.Equal(got, []string{"file:///docs/a"}) {
		t.Errorf("resources %v, want [file:///docs/a]", got)
	}
	for _, tc := range []struct {
		path, method string
		params       map[string]any
		allowed      bool
		missing      map[string]any // the same request for something that does not exist
	}{
		{"/mcp", "prompts/get", map[string]any{"name": "b__p-open"}, true, nil},
		{"/mcp", "prompts/get", map[string]any{"name": "b__p-secret"}, false, map[string]any{"name": "b__p-none"}},
		{"/mcp/peers/b", "prompts/get", map[string]any{"name": "p-secret"}, false, nil},
		{"/mcp", "resources/read", map[string]any{"uri": "file:///docs/a"}, true, nil},
		{"/mcp", "resources/read", map[string]any{"uri": "file:///etc/passwd"}, false, map[string]any{"uri": "file:///none"}},
	} {
		_, rpcErr := asCaller(t, a, tc.path, alice, tc.method, tc.params)
		if (rpcErr == nil) != tc.allowed {
			t.Errorf("%s %v on %s: error %+v, allowed want %v", tc.method, tc.params, tc.path, rpcErr, tc.allowed)
			continue
		}
		if tc.missing != nil {
			_, miss := asCaller(t, a, tc.path, a.admin, tc.method, tc.missing)
			if miss == nil || miss.Code != rpcErr.Code {
				t.Errorf("%s refused with %+v, a missing one gets %+v", tc.method, rpcErr, miss)
			}
		}
	}
}

// TestRulesServices: a service's tools are judged by svc__<tool> on the
// entry node and, on the provider a call goes to, again by that name.
func TestRulesServices(t *testing.T) {
	up := startUpstream(t, "greet")
	a, b := startFedNode(t, "gw-a"), startFedNode(t, "gw-b")
	registerOn(t, b, `{"name":"up","url":"`+up+`","service":"svc"}`)
	addFedPeer(t, a, b, "pb", cluster.TrustFull)
	wait.For(t, 10*time.Second, func() bool { return a.list(t).has("svc__greet") }, "gw-a to list svc__greet")
	addRule(t, a, `{"name":"svc","effect":"allow","principals":["group:g"],"tools":["svc__*"]}`)
	wait.For(t, 10*time.Second, func() bool { return len(b.gw.fed.Rules()) == 1 }, "the rule to reach gw-b")
	alice, carol := userToken(t, "alice", "", []string{"g"}), userToken(t, "carol", "", nil)
	if got := listedAs(t, a, "/mcp", alice); !slices.Equal(got, []string{"svc__greet"}) {
		t.Errorf("alice lists %v, want [svc__greet]", got)
	}
	res, rpcErr := asCaller(t, a, "/mcp", alice, "tools/call", map[string]any{"name": "svc__greet", "arguments": map[string]any{}})
	if r := decode[fedResult](t, res); rpcErr != nil || r.IsError || r.Meta[federation.MetaProvider] != "gw-b" {
		t.Errorf("alice's svc__greet: %+v %+v, want gw-b's answer", rpcErr, r)
	}
	if _, rpcErr := asCaller(t, a, "/mcp", carol, "tools/call", map[string]any{"name": "svc__greet"}); rpcErr == nil || rpcErr.Code != mcp.CodeInvalidParams {
		t.Errorf("carol's svc__greet: %+v, want -32602", rpcErr)
	}
}

// TestRulesCompletion: completing a refused prompt's arguments is answered
// as for a prompt that does not exist.
func TestRulesCompletion(t *testing.T) {
	src := rawSource{defs: mcp.Definitions{Prompts: []json.RawMessage{json.RawMessage(`{"name":"p-secret","arguments":[{"name":"x"}]}`)}}}
	a, b := startFedNode(t, "gw-a"), startFedNode(t, "gw-b", src)
	addFedPeer(t, a, b, "b", cluster.TrustFull)
	wait.For(t, 10*time.Second, func() bool {
		return slices.Contains(keysOf(t, a, "/mcp", a.admin, "prompts/list", "prompts", "name"), "b__p-secret")
	}, "gw-a to list b__p-secret")
	addRule(t, a, `{"name":"tools-only","effect":"allow","principals":["*"],"tools":["b__t*"]}`)
	carol := userToken(t, "carol", "", nil)
	params := map[string]any{"ref": map[string]any{"type": "ref/prompt", "name": "b__p-secret"}, "argument": map[string]any{"name": "x", "value": ""}}
	_, rpcErr := asCaller(t, a, "/mcp", carol, "completion/complete", params)
	if rpcErr == nil || rpcErr.Code != mcp.CodeInvalidParams || rpcErr.Message != "unknown prompt: b__p-secret" {
		t.Errorf("completion of a refused prompt: %+v, want -32602 unknown prompt", rpcErr)
	}
}
