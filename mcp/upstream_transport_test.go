package mcp_test

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// TestUpstreamHTTPKeepsConnectionsForConcurrentCalls: calls made at once
// by several callers reuse the upstream's connections instead of dialling
// (and closing) new ones each time, as net/http's default of 2 idle
// connections per host did for every call beyond the second.
func TestUpstreamHTTPKeepsConnectionsForConcurrentCalls(t *testing.T) {
	const callers, rounds = 8, 10
	var dialed atomic.Int32
	s := newUpHTTPServerConns(t, "", func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			dialed.Add(1)
		}
	})
	u := upStart(t, s.config(), mcp.UpstreamOptions{})
	peer := newUpFakePeer("s", `{}`, "")
	call := func() {
		if _, err := upCall(t, u, peer, "tools/call", `{"name":"echo_args","arguments":{}}`); err != nil {
			t.Error(err)
		}
	}
	for range rounds {
		upConcurrently(callers, call)
	}
	// At most callers calls and the session's GET stream are open at once:
	// with its connections kept, the upstream never needs many more.
	if n := dialed.Load(); n > 2*callers {
		t.Errorf("%d rounds of %d concurrent calls dialled %d connections, want at most %d (kept and reused)",
			rounds, callers, n, 2*callers)
	}
}

// upConcurrently runs f n times at once and waits for them.
func upConcurrently(n int, f func()) {
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	wg.Wait()
}

// TestUpstreamClosesItsIdleConnections: closing an HTTP upstream closes
// the connections its transport kept.
func TestUpstreamClosesItsIdleConnections(t *testing.T) {
	var open atomic.Int32
	s := newUpHTTPServerConns(t, "", func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	})
	u := upStart(t, s.config(), mcp.UpstreamOptions{})
	upConcurrently(4, func() {
		_, _ = upCall(t, u, newUpFakePeer("s", `{}`, ""), "tools/call", `{"name":"echo_args","arguments":{}}`)
	})
	_ = u.Close()
	wait.For(t, 20*time.Second, func() bool { return open.Load() == 0 }, "waiting for the upstream's connections to close")
}
