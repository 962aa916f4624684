package federation

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// TestSessionOwnerURL: a session minted by another member is proxied to
// the URL that member gossips while it is alive; once it has left or died,
// or for a name no member has, the owner is gone; this node's own sessions
// are never proxied.
func TestSessionOwnerURL(t *testing.T) {
	f := startEngine(t, "a", clustertest.NewStore(t, false))
	leaver := clustertest.StartNode(t, clustertest.Config("leaver", clustertest.NewStore(t, false)))
	victim := clustertest.StartNode(t, clustertest.Config("victim", clustertest.NewStore(t, false)))
	for _, n := range []*cluster.Node{leaver, victim} {
		if _, err := n.Join([]string{f.cfg.Node.GossipAddr()}); err != nil {
			t.Fatal(err)
		}
	}
	clustertest.WaitAllAlive(t, []*cluster.Node{f.cfg.Node, leaver, victim}, 10*time.Second)
	if u, err := f.SessionOwnerURL("leaver"); err != nil || u.String() != "http://127.0.0.1:1/leaver" {
		t.Errorf("alive owner: %v, %v; want its gossiped url", u, err)
	}
	if err := leaver.Leave(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	_ = victim.Shutdown() // no leave: the others find it dead
	wait.For(t, 10*time.Second, func() bool {
		return clustertest.StateOf(f.cfg.Node, "leaver") == cluster.StateLeft && clustertest.StateOf(f.cfg.Node, "victim") == cluster.StateDead
	}, "a to see leaver left and victim dead")
	for _, name := range []string{"leaver", "victim", "never-a-member"} {
		t.Run(name, func(t *testing.T) {
			if u, err := f.SessionOwnerURL(name); !errors.Is(err, ErrSessionOwnerGone) || !strings.Contains(err.Error(), name) {
				t.Errorf("SessionOwnerURL(%q) = %v, %v; want ErrSessionOwnerGone naming it", name, u, err)
			}
		})
	}
	if u, err := f.SessionOwnerURL("a"); err == nil || errors.Is(err, ErrSessionOwnerGone) {
		t.Errorf("SessionOwnerURL of this node = %v, %v; want an error: its sessions are served here", u, err)
	}
}

// sseOwner is a stand-in for a session's owner: it answers with two SSE
// events, the second only once released, and counts its connections.
type sseOwner struct {
	srv     *httptest.Server
	release chan struct{}
	conns   atomic.Int32
	auth    atomic.Value // the last Authorization header
	marked  atomic.Value // the last HeaderSessionProxied
}

func startSSEOwner(t *testing.T) *sseOwner {
	o := &sseOwner{release: make(chan struct{}, 8)}
	o.srv = httptest.NewUnstartedServer(http.HandlerFunc(o.serve))
	o.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			o.conns.Add(1)
		}
	}
	o.srv.Start()
	t.Cleanup(o.srv.Close)
	return o
}

func (o *sseOwner) serve(w http.ResponseWriter, r *http.Request) {
	o.auth.Store(r.Header.Get("Authorization"))
	o.marked.Store(r.Header.Get(HeaderSessionProxied))
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprintf(w, "data: first %s %s\n\n", r.Method, body)
	w.(http.Flusher).Flush()
	select {
	case <-o.release:
	case <-r.Context().Done():
		return
	}
	fmt.Fprint(w, "data: second\n\n")
}

// proxiedRequest is a request through tr to the owner at base, for member
// "owner", as alice.
func proxiedRequest(ctx context.Context, t *testing.T, tr http.RoundTripper, base, method, body string) *http.Response {
	t.Helper()
	ctx = mcp.WithPrincipal(ToNode(ctx, "owner"), mcp.Principal{Subject: "alice@example.com"})
	req, err := http.NewRequestWithContext(ctx, method, base+"/mcp/http", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s through the session transport: %v", method, err)
	}
	return resp
}

// TestSessionTransport: a proxied request carries a node token for the
// owner naming the caller and the proxied mark; its SSE answer streams
// (the first event is read before the owner sends the second); a
// connection read to its end is pooled for the next request, one cut by
// the context is closed at once.
func TestSessionTransport(t *testing.T) {
	o := startSSEOwner(t)
	tokens := newNodeTokens([]byte(testSecret), "entry", scopeMCP)
	inline := newInlinePoster(4, nil)
	t.Cleanup(inline.close)
	tr := &sessionTransport{tokens: tokens, from: "entry", base: http.DefaultTransport, inline: inline}
	if u, _ := url.Parse(o.srv.URL); !inline.usable(u) {
		t.Fatalf("%s does not go inline", o.srv.URL)
	}
	for i, method := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
		resp := proxiedRequest(context.Background(), t, tr, o.srv.URL, method, map[bool]string{true: "{}"}[method == http.MethodPost])
		sc := bufio.NewScanner(resp.Body)
		if !sc.Scan() || !strings.HasPrefix(sc.Text(), "data: first "+method) {
			t.Fatalf("%s: first event %q (%v), want it before the owner sends the second", method, sc.Text(), sc.Err())
		}
		o.release <- struct{}{}
		rest, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(rest), "data: second") {
			t.Errorf("%s: rest of the stream %q, want the second event", method, rest)
		}
		if got := o.conns.Load(); got != 1 {
			t.Errorf("request %d: %d connections to the owner, want 1 reused", i+1, got)
		}
	}
	claims := parseNodeToken(t, strings.TrimPrefix(o.auth.Load().(string), "Bearer "))
	if claims.Caller == nil || claims.Caller.Subject != "alice@example.com" || claims.Subject != "node:entry" || claims.Audience[0] != "owner" {
		t.Errorf("token %+v (caller %+v); want node:entry's for owner, naming alice", claims, claims.Caller)
	}
	if got := o.marked.Load(); got != "entry" {
		t.Errorf("%s = %q, want entry", HeaderSessionProxied, got)
	}
	t.Run("cancelled mid-stream", func(t *testing.T) { testSessionTransportCancel(t, tr, o) })
}

func testSessionTransportCancel(t *testing.T, tr http.RoundTripper, o *sseOwner) {
	ctx, cancel := context.WithCancel(context.Background())
	resp := proxiedRequest(ctx, t, tr, o.srv.URL, http.MethodGet, "")
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() {
		t.Fatalf("no first event: %v", sc.Err())
	}
	cancel()
	_, err := io.ReadAll(resp.Body) // the owner holds the second event: only the cut ends this
	resp.Body.Close()
	if err == nil {
		t.Errorf("read of a cancelled stream ended without an error")
	}
	before := o.conns.Load()
	resp = proxiedRequest(context.Background(), t, tr, o.srv.URL, http.MethodDelete, "")
	o.release <- struct{}{}
	_, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := o.conns.Load(); got != before+1 {
		t.Errorf("after a cut stream: %d new connections, want 1 (the cut one is not reused)", got-before)
	}
}

// TestSessionTransportNoCaller: a request whose context names no caller or
// no owner is refused, never sent with a bare node token.
func TestSessionTransportNoCaller(t *testing.T) {
	o := startSSEOwner(t)
	tr := &sessionTransport{tokens: newNodeTokens([]byte(testSecret), "entry", scopeMCP), from: "entry", base: http.DefaultTransport, inline: newInlinePoster(1, nil)}
	for name, ctx := range map[string]context.Context{
		"no caller": ToNode(context.Background(), "owner"),
		"no owner":  mcp.WithPrincipal(context.Background(), mcp.Principal{Subject: "alice@example.com"}),
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, o.srv.URL+"/mcp/http", nil)
			if resp, err := tr.RoundTrip(req); err == nil {
				resp.Body.Close()
				t.Errorf("sent; want an error")
			}
			if got := o.conns.Load(); got != 0 {
				t.Errorf("%d connections to the owner, want none", got)
			}
		})
	}
}
