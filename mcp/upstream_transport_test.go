package mcp_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

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
// the connections its transport kept, also when UpstreamOptions.
// WrapTransport wrapped it (the wrapper's CloseIdleConnections is called:
// a node's upstreams keep inline connections of their own there).
func TestUpstreamClosesItsIdleConnections(t *testing.T) {
	for _, wrapped := range []bool{false, true} {
		t.Run(map[bool]string{false: "own transport", true: "wrapped"}[wrapped], func(t *testing.T) {
			var open atomic.Int32
			s := newUpHTTPServerConns(t, "", func(_ net.Conn, st http.ConnState) {
				switch st {
				case http.StateNew:
					open.Add(1)
				case http.StateClosed, http.StateHijacked:
					open.Add(-1)
				}
			})
			opts, closes := mcp.UpstreamOptions{}, new(atomic.Int32)
			if wrapped {
				opts.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return idleCloser{rt, closes} }
			}
			u := upStart(t, s.config(), opts)
			upConcurrently(4, func() {
				_, _ = upCall(t, u, newUpFakePeer("s", `{}`, ""), "tools/call", `{"name":"echo_args","arguments":{}}`)
			})
			_ = u.Close()
			wait.For(t, 20*time.Second, func() bool { return open.Load() == 0 }, "waiting for the upstream's connections to close")
			if want := map[bool]int32{false: 0, true: 1}[wrapped]; closes.Load() != want {
				t.Errorf("the wrapper's CloseIdleConnections was called %d times; want %d", closes.Load(), want)
			}
		})
	}
}

// idleCloser is a wrapping transport that counts its CloseIdleConnections
// and passes them on.
type idleCloser struct {
	http.RoundTripper
	n *atomic.Int32
}

func (c idleCloser) CloseIdleConnections() {
	c.n.Add(1)
	c.RoundTripper.(*http.Transport).CloseIdleConnections()
}

// TestUpstreamHTTPReusesConnectionsOneCallAfterAnother: a call's POST
// answered on an event stream leaves its connection for later calls. The
// call's context ends as soon as its answer is in, while the end of the
// stream (the chunked body's last chunk) may still be on the way; that
// ending must not abort the exchange, or net/http closes the connection
// and a later call dials a new one (in a profile of a node calling the
// everything-server, a quarter of its calls at one caller did). The server
// here ends each stream a little after the answer.
func TestUpstreamHTTPReusesConnectionsOneCallAfterAnother(t *testing.T) {
	const calls = 20
	conns := &upConnStates{}
	url := upLateEndServer(t, 5*time.Millisecond, conns.track)
	cfg := mcp.ServerConfig{Name: "late", URL: url}
	u := upStart(t, cfg, mcp.UpstreamOptions{})
	node := heldNodeFor(t, cfg, mcp.UpstreamOptions{})
	params := map[string]any{"name": "echo_args", "arguments": map[string]any{}}
	callers := []struct {
		name string
		call func() error
	}{
		{"session caller", func() error {
			_, err := upCall(t, u, newUpFakePeer("s", `{}`, ""), "tools/call", `{"name":"echo_args","arguments":{}}`)
			return err
		}},
		{"2026-07-28 caller", func() error {
			if _, e := callHeld(t, node, "alice", "tools/call", params, allCaps); e != nil {
				return e
			}
			return nil
		}},
	}
	for _, c := range callers {
		t.Run(c.name, func(t *testing.T) {
			before := conns.closedCount()
			for range calls {
				if err := c.call(); err != nil {
					t.Fatal(err)
				}
			}
			// Each session keeps its GET stream open: the rest go idle.
			wait.For(t, 20*time.Second, func() bool { return conns.activeCount() <= 2 }, "the answers' streams to end")
			if n := conns.closedCount() - before; n > 0 {
				t.Errorf("%d calls one after another closed %d connections, want none (kept for the next calls)", calls, n)
			}
		})
	}
}

// upConnStates follows a server's connections.
type upConnStates struct {
	mu     sync.Mutex
	state  map[net.Conn]http.ConnState
	closed int
}

func (c *upConnStates) track(conn net.Conn, st http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == nil {
		c.state = map[net.Conn]http.ConnState{}
	}
	c.state[conn] = st
	if st == http.StateClosed || st == http.StateHijacked {
		delete(c.state, conn)
		c.closed++
	}
}

func (c *upConnStates) closedCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (c *upConnStates) activeCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, st := range c.state {
		if st == http.StateActive {
			n++
		}
	}
	return n
}

// upLateEndServer is a go-sdk server over Streamable HTTP with an
// echo_args tool whose POSTs end their answer streams after delay.
func upLateEndServer(t *testing.T, delay time.Duration, connState func(net.Conn, http.ConnState)) string {
	t.Helper()
	srv := sdk.NewServer(&sdk.Implementation{Name: "late-end", Version: "1"}, nil)
	srv.AddTool(&sdk.Tool{Name: "echo_args", InputSchema: upObject}, func(_ context.Context, r *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: string(r.Params.Arguments)}}}, nil
	})
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, nil)
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.Method == http.MethodPost {
			time.Sleep(delay)
		}
	}))
	hs.Config.ConnState = connState
	hs.Start()
	t.Cleanup(func() { hs.CloseClientConnections(); hs.Close() })
	return hs.URL + "/mcp"
}
