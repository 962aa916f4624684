package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// peerRPC sends one sessionless JSON-RPC request to /mcp/peers/{peer}.
func (n *fedNode) peerRPC(t testing.TB, peer, method string, params any) (json.RawMessage, *mcp.Error) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	r := n.do(t, http.MethodPost, "/mcp/peers/"+peer, n.admin, string(body))
	var rep struct {
		Result json.RawMessage `json:"result"`
		Error  *mcp.Error      `json:"error"`
	}
	if r.code != http.StatusOK || json.Unmarshal(r.body, &rep) != nil {
		t.Fatalf("%s on %s /mcp/peers/%s: status %d, body %s", method, n.name, peer, r.code, r.body)
	}
	return rep.Result, rep.Error
}

// TestPeerEndpointPlain: /mcp/peers/b on A lists B's tools under their own
// names (source b) and routes a call of one to B.
func TestPeerEndpointPlain(t *testing.T) {
	a, b := startFedNode(t, "node-a"), startFedNode(t, "node-b")
	addFedPeer(t, a, b, "b", cluster.TrustFull)
	res, rpcErr := a.peerRPC(t, "b", "tools/list", map[string]any{})
	if rpcErr != nil {
		t.Fatalf("tools/list: %d %s", rpcErr.Code, rpcErr.Message)
	}
	l := decode[fedListing](t, res)
	if !l.has("whoami") || l.has("b__whoami") || len(l.Tools) == 0 {
		t.Fatalf("want B's tools under their own names, got %+v", l.Tools)
	}
	for _, tool := range l.Tools {
		if tool.Source != "b" {
			t.Errorf("tool %s: source %q, want b", tool.Name, tool.Source)
		}
	}
	res, rpcErr = a.peerRPC(t, "b", "tools/call", map[string]any{"name": "whoami", "arguments": map[string]any{}})
	if rpcErr != nil {
		t.Fatalf("tools/call whoami: %d %s", rpcErr.Code, rpcErr.Message)
	}
	if got := decode[fedResult](t, res); got.IsError || !strings.Contains(got.text(), "node-b") {
		t.Fatalf("whoami through /mcp/peers/b: %+v, want node-b's answer", got)
	}
}

// TestPeerEndpointRefusals: an unknown peer is 404 naming it; auth and
// Origin are checked as on /mcp.
func TestPeerEndpointRefusals(t *testing.T) {
	a, b := startFedNode(t, "node-a"), startFedNode(t, "node-b")
	addFedPeer(t, a, b, "b", cluster.TrustFull)
	list := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	for _, tc := range []struct {
		name, path, token, origin string
		code                      int
		says                      string
	}{
		{"unknown peer", "/mcp/peers/nobody", a.admin, "", http.StatusNotFound, "nobody"},
		{"this node", "/mcp/peers/node-a", a.admin, "", http.StatusNotFound, "node-a"},
		{"no token", "/mcp/peers/b", "", "", http.StatusUnauthorized, "token"},
		{"bad token", "/mcp/peers/b", "not-a-jwt", "", http.StatusUnauthorized, "token"},
		{"scope without mcp", "/mcp/peers/b", signed(t, jwt.SigningMethodHS256, []byte(testSecret), withClaim("scope", "read")),
			"", http.StatusForbidden, "scope"},
		{"foreign origin", "/mcp/peers/b", a.admin, "http://evil.example", http.StatusForbidden, "evil.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, a.url+tc.path, strings.NewReader(list))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			r := send(t, req)
			if r.code != tc.code || !strings.Contains(string(r.body), tc.says) {
				t.Fatalf("status %d body %s, want %d naming %s", r.code, r.body, tc.code, tc.says)
			}
		})
	}
}

// TestPeerEndpointNotTrusted: calls through /mcp/peers/{peer} to a peer not
// trusted for calls get the same peer_not_trusted answer as on /mcp.
func TestPeerEndpointNotTrusted(t *testing.T) {
	for _, trust := range []string{cluster.TrustDiscover, cluster.TrustNone} {
		t.Run(trust, func(t *testing.T) {
			a, b := startFedNode(t, "node-a"), startFedNode(t, "node-b")
			addFedPeer(t, a, b, "b", trust)
			res, rpcErr := a.peerRPC(t, "b", "tools/call", map[string]any{"name": "whoami", "arguments": map[string]any{}})
			if rpcErr != nil {
				t.Fatalf("tools/call: %d %s", rpcErr.Code, rpcErr.Message)
			}
			got := decode[fedResult](t, res)
			if !got.IsError || got.Meta["mcpmesh/error"] != "peer_not_trusted" || got.Meta["mcpmesh/peer"] != "b" {
				t.Fatalf("want peer_not_trusted naming b, got %+v", got)
			}
		})
	}
}

// TestPeerEndpointRemoved: once the peer is removed, its endpoint answers
// 404 naming it.
func TestPeerEndpointRemoved(t *testing.T) {
	a, b := startFedNode(t, "node-a"), startFedNode(t, "node-b")
	addFedPeer(t, a, b, "b", cluster.TrustFull)
	if _, rpcErr := a.peerRPC(t, "b", "tools/list", map[string]any{}); rpcErr != nil {
		t.Fatalf("tools/list: %d %s", rpcErr.Code, rpcErr.Message)
	}
	if r := a.do(t, http.MethodDelete, "/api/federation/peers/b", a.admin, ""); r.code != http.StatusNoContent {
		t.Fatalf("delete peer b: %d %s", r.code, r.body)
	}
	r := a.do(t, http.MethodPost, "/mcp/peers/b", a.admin, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	if r.code != http.StatusNotFound || !strings.Contains(r.errorText(t), `"b"`) {
		t.Fatalf("after removal: %d %s, want 404 naming b", r.code, r.body)
	}
}

// TestPeerEndpointSessionApart: a session opened on /mcp is unknown on
// /mcp/peers/b (404), and the reverse.
func TestPeerEndpointSessionApart(t *testing.T) {
	a, b := startFedNode(t, "node-a"), startFedNode(t, "node-b")
	addFedPeer(t, a, b, "b", cluster.TrustFull)
	for _, tc := range []struct{ open, use string }{{"/mcp", "/mcp/peers/b"}, {"/mcp/peers/b", "/mcp"}} {
		t.Run(tc.open, func(t *testing.T) {
			sid := openSession(t, a, tc.open)
			req, _ := http.NewRequest(http.MethodPost, a.url+tc.use, strings.NewReader(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`))
			req.Header.Set("Authorization", "Bearer "+a.admin)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("Mcp-Session-Id", sid)
			if r := send(t, req); r.code != http.StatusNotFound {
				t.Fatalf("session of %s used on %s: %d %s, want 404", tc.open, tc.use, r.code, r.body)
			}
		})
	}
}

// openSession initializes a 2025-11-25 session on path and returns its id.
func openSession(t *testing.T, n *fedNode, path string) string {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`
	req, _ := http.NewRequest(http.MethodPost, n.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+n.admin)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	r := send(t, req)
	sid := r.header.Get("Mcp-Session-Id")
	if r.code != http.StatusOK || sid == "" {
		t.Fatalf("initialize on %s: %d %s, no session", path, r.code, r.body)
	}
	return sid
}

// TestPeerEndpointOffline: a call through /mcp/peers/b while B's port
// refuses is peer_offline naming b, as on /mcp.
func TestPeerEndpointOffline(t *testing.T) {
	a, b := startFedNode(t, "node-a"), startFedNode(t, "node-b")
	addFedPeer(t, a, b, "b", cluster.TrustFull)
	b.cutHTTP()
	res, rpcErr := a.peerRPC(t, "b", "tools/call", map[string]any{"name": "whoami", "arguments": map[string]any{}})
	if rpcErr != nil {
		t.Fatalf("tools/call: %d %s", rpcErr.Code, rpcErr.Message)
	}
	if got := decode[fedResult](t, res); !got.IsError || got.Meta[federation.MetaError] != federation.ErrPeerOffline || got.Meta[federation.MetaPeer] != "b" {
		t.Fatalf("whoami with b's port closed: %+v; want peer_offline naming b", got)
	}
	wait.For(t, 5*time.Second, func() bool {
		res, rpcErr := a.peerRPC(t, "b", "tools/list", map[string]any{})
		l := decode[fedListing](t, res)
		missing, _ := l.Meta[federation.MetaMissingPeers].([]any)
		return rpcErr == nil && len(l.Tools) == 0 && len(missing) == 1 && missing[0] == "b"
	}, "tools/list on /mcp/peers/b to answer with nothing and name b missing once b is offline")
}

// TestPeerEndpointSharesTheSessionBound: a principal's sessions on /mcp
// and on every /mcp/peers/{peer} count against one bound, so peer
// endpoints do not multiply it: at the bound, a session on /mcp/peers/b
// evicts the principal's idle session on /mcp.
func TestPeerEndpointSharesTheSessionBound(t *testing.T) {
	a := startFedNodeWith(t, "node-a", func(c *Config) { c.MaxSessions, c.MaxSessionsPerPrincipal = 10, 1 })
	b := startFedNode(t, "node-b")
	addFedPeer(t, a, b, "b", cluster.TrustFull)
	first := openSession(t, a, "/mcp")
	if code := pingIn(t, a.url, a.admin, first); code != http.StatusOK {
		t.Fatalf("ping in the /mcp session: %d", code)
	}
	openSession(t, a, "/mcp/peers/b")
	if code := pingIn(t, a.url, a.admin, first); code != http.StatusNotFound {
		t.Fatalf("the principal's idle /mcp session after a second one on /mcp/peers/b: ping %d, want 404 (evicted at its bound of 1)", code)
	}
	if clients, _ := a.gw.mcp.SessionCounts(); clients != 1 {
		t.Errorf("the node counts %d client sessions, want 1", clients)
	}
}
