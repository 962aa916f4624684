package mcp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcpmesh/mcpmesh/mcp"
)

var ringKey = mcp.SessionKey([]byte("the ring's shared secret, 32 bytes or more"))

// goldenID is an id gw-a minted under ringKey: ids minted by an earlier
// build must still verify (a ring upgraded one node at a time).
const goldenID = "m1.Z3ctYQ.RPzNC4MASlTwnvkvohJPMA.mtt1YB2pb31KEO2qbTr-eQ"

// nodeServer is a Server of node name under key, with the demo tools.
func nodeServer(t testing.TB, name string, key []byte) *mcp.Server {
	t.Helper()
	cat := mcp.NewCatalog(name, nil)
	if err := cat.Add("demo", "", mcp.NewDemo(name)); err != nil {
		t.Fatal(err)
	}
	srv := mcp.NewServer(cat, mcp.ServerOptions{NodeName: name, SessionKey: key})
	t.Cleanup(srv.Close)
	return srv
}

// serveAs sends one request to srv as p, with the session id sid (none if "").
func serveAs(srv *mcp.Server, p mcp.Principal, method, sid, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequestWithContext(mcp.WithPrincipal(context.Background(), p), method,
		"http://127.0.0.1/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	return rec
}

// openSession initializes a session on srv as p and returns its id.
func openSession(t testing.TB, srv *mcp.Server, p mcp.Principal) string {
	t.Helper()
	rec := serveAs(srv, p, http.MethodPost, "", initBody)
	sid := rec.Header().Get("Mcp-Session-Id")
	if rec.Code != http.StatusOK || sid == "" {
		t.Fatalf("initialize: %d %s", rec.Code, rec.Body)
	}
	return sid
}

// TestSessionIDNamesItsNode: a session id names the node that minted it;
// every node under the same key tells that, and nothing forged, altered,
// truncated or minted under another key passes.
func TestSessionIDNamesItsNode(t *testing.T) {
	a, b := nodeServer(t, "gw-a", ringKey), nodeServer(t, "gw-b", ringKey)
	other := nodeServer(t, "gw-a", mcp.SessionKey([]byte("another ring's secret, 32 bytes long")))
	sidA, sidB, sidOther := openSession(t, a, owner), openSession(t, b, owner), openSession(t, other, owner)
	for _, tc := range []struct {
		name, id, want string
	}{
		{"minted here", sidA, "gw-a"},
		{"minted by an earlier build", goldenID, "gw-a"},
		{"minted by another node of the ring", sidB, "gw-b"},
		{"minted under another key", sidOther, ""},
		{"truncated by one", sidA[:len(sidA)-1], ""},
		{"truncated to its head", sidA[:max(strings.LastIndex(sidA, "."), 0)], ""},
		{"another node's name, this id's MAC", withNode(t, sidA, "gw-b"), ""},
		{"a longer name", withNode(t, sidA, "gw-a2"), ""},
		{"one more part", sidA + ".x", ""},
		{"an old hex id", "0123456789abcdef0123456789abcdef", ""},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) { checkOwner(t, a, tc.id, tc.want) })
	}
	t.Run("every character flipped", func(t *testing.T) {
		for i := range len(sidA) {
			for _, c := range "Aa0-_.%" {
				if byte(c) != sidA[i] {
					checkOwner(t, a, sidA[:i]+string(c)+sidA[i+1:], "")
				}
			}
		}
	})
}

func checkOwner(t *testing.T, srv *mcp.Server, id, want string) {
	t.Helper()
	node, ok := srv.SessionOwner(id)
	if ok != (want != "") || node != want {
		t.Errorf("SessionOwner(%q) = %q, %v; want %q, %v", id, node, ok, want, want != "")
	}
}

// withNode is id with its node part naming node instead.
func withNode(t *testing.T, id, node string) string {
	t.Helper()
	parts := strings.Split(id, ".")
	if len(parts) != 4 {
		t.Fatalf("session id %q: %d dot-separated parts, want 4", id, len(parts))
	}
	parts[1] = b64url(node)
	return strings.Join(parts, ".")
}

func b64url(s string) string {
	id := mcp.NewSessionIDs(nil, s).Mint()
	return strings.Split(id, ".")[1]
}

// TestSessionIDIsVisibleASCII: the spec wants visible ASCII (0x21–0x7E)
// in a session id, whatever the node's name.
func TestSessionIDIsVisibleASCII(t *testing.T) {
	for _, name := range []string{"gw-a", "node.with.dots", "ünïcode node", strings.Repeat("n", 64)} {
		t.Run(name, func(t *testing.T) {
			id := mcp.NewSessionIDs(ringKey, name).Mint()
			if !visibleASCII(id) {
				t.Errorf("minted %q: not all visible ASCII", id)
			}
			checkOwner(t, nodeServer(t, "gw-x", ringKey), id, name)
		})
	}
}

func visibleASCII(s string) bool {
	for i := range len(s) {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return s != ""
}

// TestForeignSessionIDIsUnknown: a session id another node of the ring
// minted verifies as that node's, but this node does not hold the
// session, so every use of it is answered as an unknown id is: 404, the
// same body. (Proxying it to its owner is a later step.)
func TestForeignSessionIDIsUnknown(t *testing.T) {
	a, b := nodeServer(t, "gw-a", ringKey), nodeServer(t, "gw-b", ringKey)
	sidB := openSession(t, b, owner)
	checkOwner(t, a, sidB, "gw-b")
	unknown := mcp.NewSessionIDs(ringKey, "gw-b").Mint()
	for _, u := range []struct{ method, body string }{
		{http.MethodPost, `{"jsonrpc":"2.0","id":1,"method":"ping"}`},
		{http.MethodPost, `{"jsonrpc":"2.0","method":"notifications/initialized"}`},
		{http.MethodDelete, ""},
	} {
		t.Run(u.method+" "+u.body, func(t *testing.T) {
			got, ref := serveAs(a, owner, u.method, sidB, u.body), serveAs(a, owner, u.method, unknown, u.body)
			want := strings.ReplaceAll(ref.Body.String(), unknown, sidB)
			if got.Code != http.StatusNotFound || got.Body.String() != want {
				t.Errorf("gw-b's session on gw-a: %d %s; want 404 as for an unknown id: %s", got.Code, got.Body, want)
			}
		})
	}
	if rec := serveAs(b, owner, http.MethodPost, sidB, `{"jsonrpc":"2.0","id":2,"method":"ping"}`); rec.Code != http.StatusOK {
		t.Errorf("ping on gw-b, its owner, after gw-a refused it: %d %s", rec.Code, rec.Body)
	}
}

// FuzzSessionOwner: whatever the id, SessionOwner neither panics nor
// accepts anything but an id minted under its key, unaltered; whatever the
// node's name, an id minted for it is visible ASCII and names it on every
// node under the same key, and on none under another.
func FuzzSessionOwner(f *testing.F) {
	ids, foreign := mcp.NewSessionIDs(ringKey, "gw-a"), mcp.NewSessionIDs(nil, "gw-a")
	minted := goldenID // the same in every fuzzing process
	for _, seed := range []string{minted, minted[:len(minted)-1], minted + "=", foreign.Mint(), "m1....", "m1.Z3ctYQ..", "", "m1"} {
		f.Add(seed, "gw-b")
	}
	f.Add("0123456789abcdef0123456789abcdef", "node.with.dots")
	f.Fuzz(func(t *testing.T, id, node string) {
		if got, ok := ids.Owner(id); ok && (id != minted || got != "gw-a") {
			t.Fatalf("Owner(%q) = %q, true: not an id minted under this key", id, got)
		}
		if node == "" {
			return
		}
		fresh := mcp.NewSessionIDs(ringKey, node).Mint()
		if got, ok := ids.Owner(fresh); !ok || got != node || !visibleASCII(fresh) {
			t.Fatalf("id %q minted for %q: Owner = %q, %v (visible ASCII: %v)", fresh, node, got, ok, visibleASCII(fresh))
		}
		if got, ok := foreign.Owner(fresh); ok {
			t.Fatalf("id %q of another key verified as %q", fresh, got)
		}
	})
}
