package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// gateSource serves one tool, "gate", that waits until released and says
// whether its request was cancelled meanwhile.
type gateSource struct {
	entered chan struct{}
	release chan struct{}
}

func (g *gateSource) Snapshot() mcp.Definitions {
	return mcp.Definitions{Tools: []json.RawMessage{json.RawMessage(`{"name":"gate","inputSchema":{"type":"object"}}`)}}
}

func (g *gateSource) Call(ctx context.Context, _ *mcp.Request) (json.RawMessage, error) {
	g.entered <- struct{}{}
	select {
	case <-g.release:
		return mcp.ToolText("released, not cancelled"), nil
	case <-ctx.Done():
		return mcp.ToolText("cancelled"), nil
	}
}

type namedRequest struct {
	name string
	req  mcpRequest
}

// foreignUses are every use of session sid another principal may try:
// requests, notifications (the owner's request 42 cancelled), a response,
// the GET stream, a replay from lastEvent, DELETE.
func foreignUses(sid, lastEvent string) []namedRequest {
	replay := inSession(http.MethodGet, sid, "", "text/event-stream")
	replay.header["Last-Event-ID"] = lastEvent
	return []namedRequest{
		{"1 POST ping", inSession(http.MethodPost, sid, `{"jsonrpc":"2.0","id":1,"method":"ping"}`, acceptBoth)},
		{"2 POST tools/call", inSession(http.MethodPost, sid, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}`, "")},
		{"3 POST cancel owner's 42", inSession(http.MethodPost, sid, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":42}}`, "")},
		{"4 POST notification", inSession(http.MethodPost, sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, "")},
		{"5 POST response", inSession(http.MethodPost, sid, `{"jsonrpc":"2.0","id":"mcpmesh-1","result":{}}`, "")},
		{"6 GET stream", inSession(http.MethodGet, sid, "", "text/event-stream")},
		{"7 GET Last-Event-ID", replay},
		{"8 DELETE", inSession(http.MethodDelete, sid, "", "")},
	}
}

// TestSessionBelongsToPrincipal: every use of a session's id by another
// principal (another subject, an admin, the same subject from another
// issuer, a node) gets the very answer an unknown id gets, 404; the owner's
// session, its request in flight and its replay are untouched.
func TestSessionBelongsToPrincipal(t *testing.T) {
	n := startNode(t, nodeOptions{})
	gate := &gateSource{entered: make(chan struct{}, 1), release: make(chan struct{})}
	if err := n.cat.Add("gate", "", gate); err != nil {
		t.Fatal(err)
	}
	alice := tokenFor(t, "alice@example.com", ScopeMCP, "")
	sid := initSession(t, n.srv.URL, alice)
	echo := mcpOpen(t, n.srv.URL, alice, inSession(http.MethodPost, sid,
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"alice's secret"}}}`, acceptBoth))
	ids, _ := sseMessages(t, echo.Body)
	if len(ids) == 0 || ids[len(ids)-1] == "" {
		t.Fatalf("echo over SSE: no event id to replay from (%d events)", len(ids))
	}
	running := mcpOpen(t, n.srv.URL, alice, inSession(http.MethodPost, sid,
		`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"gate","arguments":{}}}`, acceptBoth))
	<-gate.entered
	others := map[string]string{
		"other subject":                tokenFor(t, "mallory@example.com", ScopeMCP, ""),
		"admin of another subject":     mint(t, testSecret, ScopeAdmin),
		"same subject, another issuer": tokenFor(t, "alice@example.com", ScopeMCP, "https://idp.example"),
		"node token of another node":   nodeTokenFor(t, "gw-x", "node-a"),
	}
	for name, tok := range others {
		t.Run(name, func(t *testing.T) { checkForeign(t, n.srv.URL, tok, sid, ids[len(ids)-1]) })
	}
	close(gate.release)
	if _, msgs := sseMessages(t, running.Body); len(msgs) == 0 || !strings.Contains(string(msgs[len(msgs)-1].Result), "released, not cancelled") {
		t.Errorf("the owner's request in flight answered %d messages, the last %s; want it released, not cancelled",
			len(msgs), lastResult(msgs))
	}
	checkOwnerKeeps(t, n.srv.URL, alice, sid, ids[len(ids)-1])
}

// checkForeign tries every foreign use of sid with token, and compares
// each answer with the answer to the same use of an id that never existed.
func checkForeign(t *testing.T, base, token, sid, lastEvent string) {
	const unknown = "0123456789abcdef0123456789abcdef"
	want := foreignUses(unknown, lastEvent)
	for i, use := range foreignUses(sid, lastEvent) {
		name := use.name
		got, ref := mcpDo(t, base, token, use.req), mcpDo(t, base, token, want[i].req)
		refBody := strings.ReplaceAll(string(ref.body), unknown, sid)
		if got.code != http.StatusNotFound || string(got.body) != refBody {
			t.Errorf("%s: %d %s; want 404 exactly as for an unknown session: %s", name, got.code, got.body, refBody)
		}
	}
}

// checkOwnerKeeps: the owner still replays, calls and finally deletes.
func checkOwnerKeeps(t *testing.T, base, token, sid, lastEvent string) {
	t.Helper()
	replay := inSession(http.MethodGet, sid, "", "text/event-stream")
	replay.header["Last-Event-ID"] = lastEvent
	if r := mcpOpen(t, base, token, replay); !isStream(r) {
		t.Errorf("owner's GET with Last-Event-ID: status %d, want the stream", r.StatusCode)
	}
	if code := pingIn(t, base, token, sid); code != http.StatusOK {
		t.Errorf("owner's ping after the foreign attempts: %d, want 200", code)
	}
	if r := mcpDo(t, base, token, inSession(http.MethodDelete, sid, "", "")); r.code != http.StatusNoContent {
		t.Errorf("owner's DELETE: %d %s, want 204", r.code, r.body)
	}
	if code := pingIn(t, base, token, sid); code != http.StatusNotFound {
		t.Errorf("owner's ping after DELETE: %d, want 404", code)
	}
}

func lastResult(msgs []mcp.Message) string {
	if len(msgs) == 0 {
		return "(none)"
	}
	return string(msgs[len(msgs)-1].Result)
}

// TestSessionIDNamesNodeAcrossTheRing: a session id names the node that
// minted it, and every node sharing the ring's secret can tell so (a node
// of another secret cannot); a node that does not hold the session still
// answers its every use as an unknown id's, 404, and the owner's session
// is untouched.
func TestSessionIDNamesNodeAcrossTheRing(t *testing.T) {
	a, b := startNode(t, nodeOptions{name: "node-a"}), startNode(t, nodeOptions{name: "node-b"})
	stranger := startNode(t, nodeOptions{name: "node-c", secret: "another-ring-secret-at-least-32-bytes-long"})
	alice := tokenFor(t, "alice@example.com", ScopeMCP, "")
	sid := initSession(t, a.srv.URL, alice)
	for _, tc := range []struct {
		name string
		node *testNode
		want string
	}{{"minting node", a, "node-a"}, {"another node of the ring", b, "node-a"}, {"a node of another ring", stranger, ""}} {
		t.Run(tc.name, func(t *testing.T) {
			if got, ok := tc.node.gw.mcp.SessionOwner(sid); got != tc.want || ok != (tc.want != "") {
				t.Errorf("SessionOwner(%q) on %s = %q, %v; want %q", sid, tc.node.gw.name, got, ok, tc.want)
			}
		})
	}
	checkForeign(t, b.srv.URL, alice, sid, "0_0")
	if code := pingIn(t, a.srv.URL, alice, sid); code != http.StatusOK {
		t.Errorf("owner's ping on node-a after node-b refused its session: %d, want 200", code)
	}
}
