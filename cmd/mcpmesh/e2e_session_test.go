package main

import (
	"encoding/json"
	"net/http"
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
