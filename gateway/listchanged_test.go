package gateway

import (
	"context"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// toolWatch is a go-sdk client of a node that counts the
// notifications/tools/list_changed it hears.
type toolWatch struct {
	name  string
	heard atomic.Int64
	cs    *sdk.ClientSession
}

// listenSpy signals when the answer to a subscriptions/listen POST came:
// the node registers the stream before it answers, and the go-sdk client
// opens the stream in the background, after Connect.
type listenSpy struct {
	next   http.RoundTripper
	opened chan struct{}
}

func (s listenSpy) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := s.next.RoundTrip(r)
	if err == nil && r.Header.Get("Mcp-Method") == "subscriptions/listen" && res.StatusCode == http.StatusOK {
		select {
		case s.opened <- struct{}{}:
		default:
		}
	}
	return res, err
}

// watchTools connects a go-sdk client to path on n offering version (""
// the SDK's newest, 2026-07-28: then it returns once the client's
// subscriptions/listen stream is open).
func watchTools(t *testing.T, n *fedNode, path, version string) *toolWatch {
	t.Helper()
	return watchToolsAs(t, n, n.admin, path, version)
}

// watchToolsAs is watchTools with the client's token.
func watchToolsAs(t *testing.T, n *fedNode, token, path, version string) *toolWatch {
	t.Helper()
	w := &toolWatch{name: path + " " + version}
	spy := listenSpy{next: bearer{token, http.DefaultTransport}, opened: make(chan struct{}, 1)}
	client := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, &sdk.ClientOptions{
		ToolListChangedHandler: func(context.Context, *sdk.ToolListChangedRequest) { w.heard.Add(1) },
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := client.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: n.url + path,
		HTTPClient: &http.Client{Transport: spy}, MaxRetries: -1}, &sdk.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect %s: %v", w.name, err)
	}
	t.Cleanup(func() { cs.Close() })
	w.cs = cs
	if version != "" {
		return w
	}
	if v := cs.InitializeResult().ProtocolVersion; v != "2026-07-28" {
		t.Fatalf("%s negotiated %q, want 2026-07-28", w.name, v)
	}
	select {
	case <-spy.opened:
	case <-ctx.Done():
		t.Fatalf("%s: no subscriptions/listen stream opened", w.name)
	}
	return w
}

func (w *toolWatch) tools(t *testing.T) []string {
	var names []string
	for tool, err := range w.cs.Tools(context.Background(), nil) {
		if err != nil {
			t.Fatalf("%s: tools/list: %v", w.name, err)
		}
		names = append(names, tool.Name)
	}
	return names
}

// awaitTools waits for a list change heard since before after which the
// client's listing has (or lacks) name.
func (w *toolWatch) awaitTools(t *testing.T, before int64, name string, has bool) {
	t.Helper()
	listedAt := before
	var last []string
	wait.For(t, 15*time.Second, func() bool {
		now := w.heard.Load()
		if now == listedAt {
			return false
		}
		listedAt, last = now, w.tools(t)
		return slices.Contains(last, name) == has
	}, "%s: waiting for tools/list_changed after which %s is listed: %v; heard %d since; last listing %v",
		w.name, name, has, wait.Later(func() any { return w.heard.Load() - before }), wait.Later(func() any { return last }))
}

// TestListChangedPortRefuses: when a peer's port starts refusing while
// gossip still says the peer is alive (a killed node, before gossip has
// noticed; a node whose HTTP side is gone), its tools leave the listing
// and every client that lists them hears it — a 2026-07-28 listen stream
// and a 2025-11-25 session on /mcp, and a listen stream on /mcp/peers/b —
// although no ring event announces it; when the port answers again, they
// hear that too.
func TestListChangedPortRefuses(t *testing.T) {
	a, b := startFedNode(t, "gw-a"), startFedNode(t, "gw-b")
	addFedPeer(t, a, b, "b", cluster.TrustFull)
	wait.For(t, 10*time.Second, func() bool { return a.list(t).has("b__whoami") }, "gw-a to list b__whoami")
	watches := map[*toolWatch]string{
		watchTools(t, a, "/mcp", ""):           "b__whoami",
		watchTools(t, a, "/mcp", "2025-11-25"): "b__whoami",
		watchTools(t, a, "/mcp/peers/b", ""):   "whoami",
	}
	step := func(change func(), has bool) {
		before := map[*toolWatch]int64{}
		for w := range watches {
			before[w] = w.heard.Load()
		}
		change()
		for w, name := range watches {
			w.awaitTools(t, before[w], name, has)
		}
	}
	step(b.cutHTTP, false)
	if m, _ := a.node.Member("gw-b"); m.State != cluster.StateAlive {
		t.Fatalf("gossip says gw-b is %s; this test needs it alive", m.State)
	}
	if p := a.peer(t, "b"); p.Status != api.PeerOffline || !strings.Contains(p.Error, "port refuses") {
		t.Errorf("peer b while its port refuses: status %q, error %q; want offline, saying its port refuses", p.Status, p.Error)
	}
	step(func() { b.restoreHTTP(t) }, true)
}

// serveBroken replaces n's HTTP server with one that answers every request
// 503: the port accepts, nothing of MCP answers. The port never refuses
// meanwhile: the old server stops listening, the new one listens, and only
// then are the old server's connections (a link's stream) cut.
func (n *fedNode) serveBroken(t *testing.T) {
	t.Helper()
	n.mu.Lock()
	old := n.hs
	n.mu.Unlock()
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	_ = old.Shutdown(stopped) // closes the listener, leaves the streams open
	ln, err := net.Listen("tcp", n.addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", n.addr, err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "broken", http.StatusServiceUnavailable)
	}), ReadHeaderTimeout: 10 * time.Second}
	n.mu.Lock()
	n.hs = hs
	n.mu.Unlock()
	go func() { _ = hs.Serve(ln) }()
	_ = old.Close()
}

// TestListChangedLinkDown: a peer whose port accepts but whose MCP side
// no longer answers (gossip still says alive) leaves the listing once its
// link has been down for its grace, and the clients hear it although no
// ring event says so; once it answers again, they hear it is back.
func TestListChangedLinkDown(t *testing.T) {
	a, b := startFedNode(t, "gw-a"), startFedNode(t, "gw-b")
	addFedPeer(t, a, b, "b", cluster.TrustFull)
	wait.For(t, 10*time.Second, func() bool { return a.list(t).has("b__whoami") }, "gw-a to list b__whoami")
	w := watchTools(t, a, "/mcp", "")
	before := w.heard.Load()
	b.serveBroken(t)
	w.awaitTools(t, before, "b__whoami", false)
	if m, _ := a.node.Member("gw-b"); m.State != cluster.StateAlive {
		t.Fatalf("gossip says gw-b is %s; this test needs it alive", m.State)
	}
	before = w.heard.Load()
	b.cutHTTP()
	b.restoreHTTP(t)
	w.awaitTools(t, before, "b__whoami", true)
}
