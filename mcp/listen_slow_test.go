package mcp_test

import (
	"testing"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// listenFlood is how many prompt list changes TestListenSlowReader sends
// while its client reads nothing: far more than the socket buffers between
// them hold, so a writer that queued each one would be blocked with its
// queue full.
const listenFlood = 500000

// TestListenSlowReader: a list change is not lost on a subscriptions/listen
// stream whose client is behind: after a flood of prompt list changes the
// client has not read, a tool list change still reaches it (the flood may
// be merged: a list change carries nothing but its kind).
func TestListenSlowReader(t *testing.T) {
	hs, _, srv := newTestServer(t, mcp.ServerOptions{})
	s := openListen(t, hs.URL, map[string]any{"toolsListChanged": true, "promptsListChanged": true})
	if ack, _ := s.next(); ack.Method != "notifications/subscriptions/acknowledged" {
		t.Fatalf("first message %s, want the acknowledgement", ack.Method)
	}
	for range listenFlood {
		srv.NotifyListChanged(mcp.KindPrompt)
	}
	srv.NotifyListChanged(mcp.KindTool)
	prompts := 0
	for {
		m, ok := s.next()
		if !ok {
			t.Fatalf("the stream ended after %d prompt list changes and no tool list change", prompts)
		}
		switch m.Method {
		case "notifications/prompts/list_changed":
			prompts++
		case "notifications/tools/list_changed":
			if subscriptionID(m) != "9" {
				t.Errorf("tool list change tagged %q, want 9", subscriptionID(m))
			}
			t.Logf("the tool list change came after %d prompt list changes", prompts)
			return
		}
	}
}
