package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// The full transport by hand: initialize, version negotiation, session
// header, SSE answers with event ids, 202 for notifications, DELETE.

const acceptBoth = "application/json, text/event-stream"

// sseEvent is one server-sent event.
type sseEvent struct{ id, data string }

func parseSSE(body string) []sseEvent {
	var events []sseEvent
	for _, block := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n\n") {
		var ev sseEvent
		for _, line := range strings.Split(block, "\n") {
			if v, ok := strings.CutPrefix(line, "id:"); ok {
				ev.id = strings.TrimSpace(v)
			} else if v, ok := strings.CutPrefix(line, "data:"); ok {
				ev.data += strings.TrimPrefix(v, " ")
			}
		}
		if ev.data != "" {
			events = append(events, ev)
		}
	}
	return events
}

// answerOf returns the JSON-RPC response in a JSON or SSE answer and, for
// SSE, the id of its event.
func answerOf(t *testing.T, r httpReply) (rpcReply, string) {
	t.Helper()
	body, eventID := string(r.body), ""
	if strings.HasPrefix(r.header.Get("Content-Type"), "text/event-stream") {
		events := parseSSE(body)
		if len(events) == 0 {
			t.Fatalf("SSE answer without events: %q", body)
		}
		last := events[len(events)-1]
		body, eventID = last.data, last.id
	}
	var rep rpcReply
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatalf("status %d: answer %q is not a JSON-RPC response: %v", r.status, body, err)
	}
	return rep, eventID
}

func initialize(t *testing.T, n *node, version string) (sessionID, negotiated string) {
	t.Helper()
	body := mustJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": map[string]any{
		"protocolVersion": version, "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "raw-e2e", "version": "0"},
	}})
	r := n.do(t, http.MethodPost, "/mcp/http", body, map[string]string{"Accept": acceptBoth})
	rep, _ := answerOf(t, r)
	var res struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	rep.decode(t, &res)
	if sessionID = r.header.Get("Mcp-Session-Id"); sessionID == "" {
		t.Fatalf("initialize: no Mcp-Session-Id header (status %d)", r.status)
	}
	return sessionID, res.ProtocolVersion
}

func TestSessionTransport(t *testing.T) {
	n := startNode(t, nodeOptions{name: "session", demo: true})
	t.Run("version negotiation", func(t *testing.T) {
		for _, tc := range []struct{ offered, want string }{
			{"2025-03-26", "2025-03-26"},
			{"2025-06-18", "2025-06-18"},
			{"2025-11-25", "2025-11-25"},
			{"2099-01-01", "2025-11-25"},
		} {
			if _, got := initialize(t, n, tc.offered); got != tc.want {
				t.Errorf("client offered %s: server chose %s, want %s", tc.offered, got, tc.want)
			}
		}
	})
	t.Run("session lifecycle", func(t *testing.T) { testSessionLifecycle(t, n) })
	t.Run("another principal's session", func(t *testing.T) { testForeignSession(t, n) })
	t.Run("unknown session", func(t *testing.T) {
		r := n.do(t, http.MethodPost, "/mcp/http", []byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`),
			map[string]string{"Accept": acceptBoth, "Mcp-Session-Id": "no-such-session"})
		if r.status != http.StatusNotFound {
			t.Errorf("unknown session id: status %d, want 404; body %s", r.status, r.body)
		}
	})
}

func testSessionLifecycle(t *testing.T, n *node) {
	sid, version := initialize(t, n, "2025-11-25")
	hdr := map[string]string{"Accept": acceptBoth, "Mcp-Session-Id": sid, "MCP-Protocol-Version": version}
	r := n.do(t, http.MethodPost, "/mcp/http", []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`), hdr)
	if r.status != http.StatusAccepted {
		t.Errorf("notifications/initialized: status %d, want 202; body %s", r.status, r.body)
	}
	call := mustJSON(map[string]any{"jsonrpc": "2.0", "id": 7, "method": "tools/call",
		"params": map[string]any{"name": "echo", "arguments": map[string]any{"text": "in a session"}}})
	r = n.do(t, http.MethodPost, "/mcp/http", call, hdr)
	rep, eventID := answerOf(t, r)
	var res callResult
	rep.decode(t, &res)
	if string(rep.ID) != "7" || !strings.Contains(res.text(), "in a session") {
		t.Errorf("echo in a session: id %s, result %+v", rep.ID, res)
	}
	if strings.HasPrefix(r.header.Get("Content-Type"), "text/event-stream") && eventID == "" {
		t.Errorf("SSE answer without an event id: %q", r.body)
	}
	if r = n.do(t, http.MethodDelete, "/mcp/http", nil, hdr); r.status/100 != 2 {
		t.Errorf("DELETE session: status %d, want 2xx; body %s", r.status, r.body)
	}
	if r = n.do(t, http.MethodPost, "/mcp/http", call, hdr); r.status != http.StatusNotFound {
		t.Errorf("POST after DELETE: status %d, want 404; body %s", r.status, r.body)
	}
}

// as returns header with the bearer token tok instead of the node's.
func as(tok string, header map[string]string) map[string]string {
	out := map[string]string{"Authorization": "Bearer " + tok}
	for k, v := range header {
		out[k] = v
	}
	return out
}

// openStream sends a GET for an event stream and reports its status; a
// stream that opens stays open until the test ends (keep) or is closed.
func openStream(t *testing.T, n *node, header map[string]string, keep bool) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, n.mcpURL(), nil)
	req.Header.Set("Authorization", "Bearer "+n.token)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET stream: %v", err)
	}
	if keep && resp.StatusCode == http.StatusOK {
		t.Cleanup(func() { resp.Body.Close() })
		return resp.StatusCode
	}
	cancel()
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// testForeignSession: another principal using the admin's session id gets
// 404 for every use, and the owner's session still works.
func testForeignSession(t *testing.T, n *node) {
	sid, version := initialize(t, n, "2025-11-25")
	hdr := map[string]string{"Accept": acceptBoth, "Mcp-Session-Id": sid, "MCP-Protocol-Version": version}
	rep, eventID := answerOf(t, n.do(t, http.MethodPost, "/mcp/http", []byte(`{"jsonrpc":"2.0","id":3,"method":"ping"}`), hdr))
	if rep.Error != nil || eventID == "" {
		t.Fatalf("owner's ping over SSE: error %v, event id %q", rep.Error, eventID)
	}
	mallory := makeToken(t, "--username", "mallory@example.com", "--secret", testSecret, "--scope", "mcp")
	for _, c := range []struct{ name, method, body string }{
		{"request", http.MethodPost, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami"}}`},
		{"cancel", http.MethodPost, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}`},
		{"response", http.MethodPost, `{"jsonrpc":"2.0","id":"mcpmesh-1","result":{}}`},
		{"DELETE", http.MethodDelete, ""},
	} {
		if r := n.do(t, c.method, "/mcp/http", []byte(c.body), as(mallory, hdr)); r.status != http.StatusNotFound {
			t.Errorf("another principal's %s in the session: status %d, want 404; body %s", c.name, r.status, r.body)
		}
	}
	for _, last := range []string{"", eventID} {
		h := as(mallory, map[string]string{"Accept": "text/event-stream", "Mcp-Session-Id": sid, "Last-Event-ID": last})
		if code := openStream(t, n, h, false); code != http.StatusNotFound {
			t.Errorf("another principal's GET (Last-Event-ID %q): status %d, want 404", last, code)
		}
	}
	if code := openStream(t, n, map[string]string{"Accept": "text/event-stream", "Mcp-Session-Id": sid, "Last-Event-ID": eventID}, false); code != http.StatusOK {
		t.Errorf("the owner's replay after the attempts: status %d, want 200", code)
	}
	if r := n.do(t, http.MethodDelete, "/mcp/http", nil, hdr); r.status != http.StatusNoContent {
		t.Errorf("the owner's DELETE after the attempts: status %d, want 204; body %s", r.status, r.body)
	}
}

// TestSessionBounds: with --max-sessions-per-principal 3, a principal
// initializing 3+10 times keeps its 3 newest sessions (the older ones get
// 404), others are not affected, and once its 3 sessions all hold a GET
// stream the next initialize gets 503 with Retry-After naming the bound.
func TestSessionBounds(t *testing.T) {
	n := startNode(t, nodeOptions{name: "bounds", demo: true,
		extra: []string{"--max-sessions", "20", "--max-sessions-per-principal", "3"}})
	flood := makeToken(t, "--username", "flood@example.com", "--secret", testSecret, "--scope", "mcp")
	owner, _ := initialize(t, n, "2025-11-25")
	var sids []string
	for range 3 + 10 {
		sids = append(sids, initializeAs(t, n, flood, http.StatusOK))
	}
	for i, sid := range sids {
		want := http.StatusNotFound
		if i >= len(sids)-3 {
			want = http.StatusOK
		}
		if got := pingAs(t, n, flood, sid); got != want {
			t.Errorf("flood session %d: ping %d, want %d", i, got, want)
		}
	}
	if got := pingAs(t, n, n.token, owner); got != http.StatusOK {
		t.Errorf("the admin's session after the flood: ping %d, want 200", got)
	}
	for _, sid := range sids[len(sids)-3:] {
		if code := openStream(t, n, as(flood, map[string]string{"Accept": "text/event-stream", "Mcp-Session-Id": sid}), true); code != http.StatusOK {
			t.Fatalf("GET stream of a flood session: %d", code)
		}
	}
	r := n.do(t, http.MethodPost, "/mcp/http", initBody(), as(flood, map[string]string{"Accept": acceptBoth}))
	if secs, err := strconv.Atoi(r.header.Get("Retry-After")); r.status != http.StatusServiceUnavailable || err != nil || secs <= 0 ||
		!strings.Contains(string(r.body), "max-sessions-per-principal") {
		t.Errorf("initialize with every session busy: %d, Retry-After %q, body %s; want 503, Retry-After, the bound named",
			r.status, r.header.Get("Retry-After"), r.body)
	}
	initializeAs(t, n, n.token, http.StatusOK)
}

func initBody() []byte {
	return mustJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": map[string]any{
		"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "e2e", "version": "0"}}})
}

// initializeAs initializes a session with tok, expecting status.
func initializeAs(t *testing.T, n *node, tok string, status int) string {
	t.Helper()
	r := n.do(t, http.MethodPost, "/mcp/http", initBody(), as(tok, map[string]string{"Accept": "application/json"}))
	if r.status != status {
		t.Fatalf("initialize: status %d, want %d; body %s", r.status, status, r.body)
	}
	return r.header.Get("Mcp-Session-Id")
}

func pingAs(t *testing.T, n *node, tok, sid string) int {
	t.Helper()
	h := as(tok, map[string]string{"Accept": "application/json", "Mcp-Session-Id": sid})
	return n.do(t, http.MethodPost, "/mcp/http", []byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`), h).status
}
