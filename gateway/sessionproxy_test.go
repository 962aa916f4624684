package gateway

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// startSessionRing starts nodes a and b of one ring; a's requests are
// recorded (seen), so a test can tell what b proxied to it.
func startSessionRing(t testing.TB) (a, b *fedNode, seen func() []*http.Request) {
	t.Helper()
	a, b = startFedNode(t, "node-a"), startFedNode(t, "node-b")
	if _, err := b.node.Join([]string{a.node.GossipAddr()}); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 10*time.Second, func() bool {
		m, ok := b.node.Member("node-a")
		return ok && m.State == "alive"
	}, "node-b to see node-a alive")
	var mu sync.Mutex
	var reqs []*http.Request
	a.mu.Lock()
	a.tap = func(r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		reqs = append(reqs, r.Clone(r.Context()))
	}
	a.mu.Unlock()
	return a, b, func() []*http.Request {
		mu.Lock()
		defer mu.Unlock()
		return append([]*http.Request(nil), reqs...)
	}
}

// callerToken is node from's token for node aud, naming subject as the
// caller (what a proxying node sends the session's owner).
func callerToken(t testing.TB, from, aud, subject string) string {
	t.Helper()
	now := time.Now()
	claims := Claims{Scope: ScopeMCP, Caller: &federation.Caller{Subject: subject}, RegisteredClaims: jwt.RegisteredClaims{
		Subject: federation.NodeSubjectPrefix + from, Audience: jwt.ClaimStrings{aud},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	}}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestSessionProxy: a session opened on node-a is served through node-b,
// which proxies each use to node-a with its node token naming the caller
// and the proxied mark; node-a serves such a token's request as the
// caller's own. A request made with a node token is never proxied again
// (404 where it landed), and a 2026-07-28 request carrying the id is served
// where it lands. With node-a's HTTP cut, its session is 404 through b.
func TestSessionProxy(t *testing.T) {
	a, b, seen := startSessionRing(t)
	alice := tokenFor(t, "alice@example.com", ScopeMCP, "")
	sid := initSession(t, a.url, alice)
	if code := pingIn(t, b.url, alice, sid); code != http.StatusOK {
		t.Fatalf("alice's ping through node-b: %d, want 200", code)
	}
	reqs := seen()
	if len(reqs) != 2 || reqs[1].Header.Get(federation.HeaderSessionProxied) != "node-b" ||
		!strings.HasPrefix(reqs[1].Header.Get("Authorization"), "Bearer ") || reqs[1].Header.Get("Authorization") == "Bearer "+alice {
		t.Fatalf("node-a saw %d requests; want initialize, then the ping proxied by node-b with its own token", len(reqs))
	}
	if code := pingIn(t, a.url, callerToken(t, "node-b", "node-a", "alice@example.com"), sid); code != http.StatusOK {
		t.Errorf("node-b's token naming alice, on node-a: %d, want 200 (alice's session)", code)
	}
	if code := pingIn(t, b.url, callerToken(t, "node-a", "node-b", "alice@example.com"), sid); code != http.StatusNotFound {
		t.Errorf("a node token naming alice, on node-b with node-a's session: %d, want 404 (no second hop)", code)
	}
	stateless := inSession(http.MethodPost, sid, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"whoami","arguments":{},`+
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`, acceptBoth)
	stateless.header["Mcp-Method"], stateless.header["Mcp-Name"], stateless.header["MCP-Protocol-Version"] = "tools/call", "whoami", "2026-07-28"
	if r := mcpDo(t, b.url, alice, stateless); r.code != http.StatusOK || !strings.Contains(string(r.body), "node-b") {
		t.Errorf("2026-07-28 whoami on node-b with node-a's session id: %d %s; want node-b's answer", r.code, r.body)
	}
	if got := len(seen()); got != 3 {
		t.Errorf("node-a saw %d requests; want 3 (initialize, the proxied ping, node-b's token)", got)
	}
	a.cutHTTP()
	r := mcpDo(t, b.url, alice, inSession(http.MethodPost, sid, `{"jsonrpc":"2.0","id":1,"method":"ping"}`, acceptBoth))
	if r.code != http.StatusNotFound || !strings.Contains(string(r.body), "session not found") {
		t.Errorf("ping through node-b with node-a's HTTP cut: %d %s; want 404 session not found", r.code, r.body)
	}
}

// TestSessionProxyPeerEndpoint: a session of /mcp/peers/{peer} opened on
// node-a is served through node-b on the same path: node-b proxies its
// requests to node-a's endpoint, which forwards the call to the peer.
func TestSessionProxyPeerEndpoint(t *testing.T) {
	a, b, seen := startSessionRing(t)
	addFedPeer(t, a, b, "pb", "full")
	alice := tokenFor(t, "alice@example.com", ScopeMCP, "")
	const path = "/mcp/peers/pb"
	var sid string
	wait.For(t, 10*time.Second, func() bool {
		r := postPath(t, a.url+path, alice, "", initializeBody)
		sid = r.header.Get("Mcp-Session-Id")
		return r.code == http.StatusOK && sid != ""
	}, "node-a to serve %s", path)
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`
	r := postPath(t, b.url+path, alice, sid, call)
	if r.code != http.StatusOK || !strings.Contains(string(r.body), "node-b") {
		t.Errorf("whoami in node-a's %s session through node-b: %d %s; want node-b's answer", path, r.code, r.body)
	}
	var proxied int
	for _, req := range seen() {
		if req.URL.Path == path && req.Header.Get(federation.HeaderSessionProxied) == "node-b" {
			proxied++
		}
	}
	if proxied != 1 {
		t.Errorf("node-a saw %d requests on %s proxied by node-b; want 1", proxied, path)
	}
}

// postPath POSTs body to url with token (and session sid unless "").
func postPath(t *testing.T, url, token, sid, body string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return send(t, req)
}
