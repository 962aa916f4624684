package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/mcp"
	"github.com/mcpmesh/mcpmesh/store"
)

// fedNode is an in-process node of a ring: a real cluster.Node on a free
// loopback gossip port, a gateway with the demo tools on a Badger store,
// served over HTTP on 127.0.0.1 (a server that can be cut and restored on
// the same address while the gateway and its gossip stay up).
type fedNode struct {
	name  string
	url   string
	addr  string
	node  *cluster.Node
	cat   *mcp.Catalog
	gw    *Gateway
	st    store.Store
	admin string
	once  sync.Once

	mu  sync.Mutex
	hs  *http.Server
	cut bool
	tap func(*http.Request) // sees every request the node serves (tests of the hop)
}

// startFedNode starts a node called name; extra sources join its catalog.
func startFedNode(t testing.TB, name string, extra ...mcp.Source) *fedNode {
	t.Helper()
	return startFedNodeWith(t, name, func(*Config) {}, extra...)
}

// startFedNodeWith is startFedNode with a last say on the gateway's Config.
func startFedNodeWith(t testing.TB, name string, tune func(*Config), extra ...mcp.Source) *fedNode {
	t.Helper()
	return startFedNodeOn(t, name, openBadger(t, t.TempDir()), tune, extra...)
}

// startFedNodeOn is startFedNodeWith on the store st.
func startFedNodeOn(t testing.TB, name string, st store.Store, tune func(*Config), extra ...mcp.Source) *fedNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &fedNode{name: name, addr: ln.Addr().String(), url: "http://" + ln.Addr().String(), admin: mint(t, testSecret, "")}
	n.st = st
	cfg := clustertest.Config(name, st)
	cfg.Meta.URL = n.url
	n.node = clustertest.StartNode(t, cfg)
	n.cat = newFedCatalog(t, name, extra)
	n.cat.OnChange(func() { _ = n.node.SetCatalogDigest(n.cat.Digest()) })
	gcfg := Config{Name: name, Version: "test", URL: n.url, Listen: n.addr, Secret: []byte(testSecret), Store: st,
		Catalog: n.cat, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Node: n.node, PeerTimeout: 5 * time.Second}
	tune(&gcfg)
	n.gw, err = New(gcfg)
	if err != nil {
		t.Fatal(err)
	}
	n.serve(ln)
	t.Cleanup(func() { n.stop(t) })
	if err := n.gw.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return n
}

func newFedCatalog(t testing.TB, name string, extra []mcp.Source) *mcp.Catalog {
	t.Helper()
	cat := mcp.NewCatalog(name, slog.New(slog.DiscardHandler))
	if err := cat.Add("demo", "", mcp.NewDemo(name)); err != nil {
		t.Fatal(err)
	}
	for i, src := range extra {
		if err := cat.Add("extra"+string(rune('a'+i)), "", src); err != nil {
			t.Fatal(err)
		}
	}
	return cat
}

func (n *fedNode) serve(ln net.Listener) {
	h := n.gw.Handler()
	tapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.mu.Lock()
		tap := n.tap
		n.mu.Unlock()
		if tap != nil {
			tap(r)
		}
		h.ServeHTTP(w, r)
	})
	hs := &http.Server{Handler: tapped, ReadHeaderTimeout: 10 * time.Second}
	n.mu.Lock()
	n.hs, n.cut = hs, false
	n.mu.Unlock()
	go func() { _ = hs.Serve(ln) }()
}

// cutHTTP closes the HTTP listener and every connection: the port refuses
// while the gateway and its gossip node stay up.
func (n *fedNode) cutHTTP() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cut = true
	_ = n.hs.Close()
}

// restoreHTTP serves the node again on its address.
func (n *fedNode) restoreHTTP(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", n.addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", n.addr, err)
	}
	n.serve(ln)
}

// stop closes the gateway and its HTTP server (once); the gossip node
// stays up until the test ends.
func (n *fedNode) stop(t testing.TB) {
	n.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.gw.Close(ctx); err != nil {
			t.Errorf("gateway %s close: %v", n.name, err)
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		_ = n.hs.Close()
	})
}

// do sends a request to the node with token (none if "").
func (n *fedNode) do(t testing.TB, method, path, token, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, n.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	return send(t, req)
}

// rpc sends one sessionless JSON-RPC request and returns its result or
// error object.
func (n *fedNode) rpc(t testing.TB, method string, params any) (result json.RawMessage, rpcErr *mcp.Error) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	return n.reply(t, method, n.do(t, http.MethodPost, "/mcp/http", n.admin, string(body)))
}

// reply reads a JSON-RPC answer of 200 to method on n (anything else
// fails the test): its result, or its error.
func (n *fedNode) reply(t testing.TB, method string, r response) (json.RawMessage, *mcp.Error) {
	t.Helper()
	var rep struct {
		Result json.RawMessage `json:"result"`
		Error  *mcp.Error      `json:"error"`
	}
	if r.code != http.StatusOK || json.Unmarshal(r.body, &rep) != nil {
		t.Fatalf("%s on %s: status %d, body %s", method, n.name, r.code, r.body)
	}
	return rep.Result, rep.Error
}

type fedResult struct {
	Content []struct {
		Text string `json:"text"`
	} `json:"content"`
	IsError bool           `json:"isError"`
	Meta    map[string]any `json:"_meta"`
}

func (n *fedNode) call(t testing.TB, tool string) fedResult {
	t.Helper()
	res, rpcErr := n.rpc(t, "tools/call", map[string]any{"name": tool, "arguments": map[string]any{}})
	if rpcErr != nil {
		t.Fatalf("tools/call %s on %s: error %d %s", tool, n.name, rpcErr.Code, rpcErr.Message)
	}
	return decode[fedResult](t, res)
}

func (r fedResult) text() string {
	if len(r.Content) == 0 {
		return ""
	}
	return r.Content[0].Text
}

type fedListing struct {
	Tools []struct {
		Name   string `json:"name"`
		Source string `json:"source"`
	} `json:"tools"`
	Meta       map[string]any `json:"_meta"`
	NextCursor string         `json:"nextCursor"`
}

// list reads every page of tools/list (bounded), with the first page's _meta.
func (n *fedNode) list(t testing.TB) fedListing {
	t.Helper()
	var all fedListing
	params := map[string]any{}
	for page := 0; page < 1000; page++ {
		res, rpcErr := n.rpc(t, "tools/list", params)
		if rpcErr != nil {
			t.Fatalf("tools/list on %s: error %d %s", n.name, rpcErr.Code, rpcErr.Message)
		}
		l := decode[fedListing](t, res)
		all.Tools = append(all.Tools, l.Tools...)
		if page == 0 {
			all.Meta = l.Meta
		}
		if l.NextCursor == "" {
			return all
		}
		params = map[string]any{"cursor": l.NextCursor}
	}
	t.Fatalf("tools/list on %s: more than 1000 pages", n.name)
	return all
}

func (l fedListing) has(name string) bool {
	for _, tool := range l.Tools {
		if tool.Name == name {
			return true
		}
	}
	return false
}

// addFedPeer makes peer a's peer called name at trust, failing unless 201.
func addFedPeer(t testing.TB, a, peer *fedNode, name, trust string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"url": peer.url, "name": name, "trust_level": trust})
	if r := a.do(t, http.MethodPost, "/api/federation/peers", a.admin, string(body)); r.code != http.StatusCreated {
		t.Fatalf("add peer %s on %s: status %d, body %s", name, a.name, r.code, r.body)
	}
}

// TestFederationPortRefuses: a peer that gossip says is alive but whose
// HTTP port refuses is answered for at once, as offline; once a call has
// found it unreachable, the node soon reports it offline and names it
// missing from listings; when its port answers again, it is back.
func TestFederationPortRefuses(t *testing.T) {
	a, b := startFedNode(t, "gw-a"), startFedNode(t, "gw-b")
	addFedPeer(t, a, b, "b", "full")
	if res := a.call(t, "b__whoami"); res.IsError || res.text() != "gw-b" {
		t.Fatalf("b__whoami: %+v; want gw-b", res)
	}
	b.cutHTTP()
	start := time.Now()
	res := a.call(t, "b__whoami")
	if !res.IsError || res.Meta[federation.MetaError] != federation.ErrPeerOffline || !strings.Contains(res.text(), `"b"`) {
		t.Errorf("b__whoami with b's port closed: %+v; want peer_offline naming b", res)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the call took %v; want at once", d)
	}
	if m, _ := a.node.Member("gw-b"); m.State != cluster.StateAlive {
		t.Fatalf("gossip says gw-b is %s; this test needs it alive", m.State)
	}
	t.Run("reported offline", func(t *testing.T) {
		wait.For(t, 5*time.Second, func() bool { return missingB(t, a) },
			"gw-a to name b missing after a call found its port refusing (gossip still says alive)")
		if p := a.peer(t, "b"); p.Status != api.PeerOffline {
			t.Errorf("peer b's status %q, want offline", p.Status)
		}
	})
	b.restoreHTTP(t)
	wait.For(t, 10*time.Second, func() bool { return !missingB(t, a) && a.list(t).has("b__whoami") },
		"gw-a to list b again once its port answers")
	if res := a.call(t, "b__whoami"); res.IsError || res.text() != "gw-b" {
		t.Errorf("b__whoami once b is back: %+v; want gw-b", res)
	}
}

func missingB(t testing.TB, a *fedNode) bool {
	l := a.list(t)
	missing, _ := l.Meta[federation.MetaMissingPeers].([]any)
	return len(missing) == 1 && missing[0] == "b" && !l.has("b__whoami")
}

func (n *fedNode) peer(t testing.TB, name string) api.Peer {
	t.Helper()
	r := n.do(t, http.MethodGet, "/api/federation/peers/"+name, n.admin, "")
	if r.code != http.StatusOK {
		t.Fatalf("GET peer %s on %s: %d %s", name, n.name, r.code, r.body)
	}
	return decode[api.Peer](t, r.body)
}

// rawSource serves fixed, possibly malformed, definitions.
type rawSource struct{ defs mcp.Definitions }

func (s rawSource) Snapshot() mcp.Definitions { return s.defs }

func (s rawSource) Call(context.Context, *mcp.Request) (json.RawMessage, error) {
	return mcp.ToolText("raw"), nil
}

func rawTools(n int, name func(i int) string) []json.RawMessage {
	out := make([]json.RawMessage, n)
	for i := range out {
		out[i], _ = json.Marshal(map[string]any{"name": name(i), "inputSchema": map[string]any{"type": "object"}})
	}
	return out
}

var federatedNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// TestFederationHostileCatalog: a peer whose catalog is malformed or over
// the size cap cannot hurt a node: it keeps answering fast, with its own
// tools, valid and unique names, and the peer's well-formed tools or the
// peer named missing.
func TestFederationHostileCatalog(t *testing.T) {
	cases := []struct {
		name string
		defs []json.RawMessage
	}{
		{"malformed", []json.RawMessage{
			json.RawMessage(`{"name":"fine","inputSchema":{"type":"object"}}`),
			json.RawMessage(`{"inputSchema":{"type":"object"}}`),
			json.RawMessage(`{"name":42,"inputSchema":{"type":"object"}}`),
			json.RawMessage(`"not an object"`),
			json.RawMessage(`{"name":"nul\u0000byte","inputSchema":{"type":"object"}}`),
			json.RawMessage(`{"name":"` + strings.Repeat("z", 10000) + `","inputSchema":{"type":"object"}}`),
		}},
		{"over the cap", rawTools(10050, func(i int) string { return "t" + strconv.Itoa(i) })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := startFedNode(t, "gw-a")
			b := startFedNode(t, "gw-b", rawSource{mcp.Definitions{Tools: tc.defs}})
			addFedPeer(t, a, b, "b", "full")
			checkStillServes(t, a)
		})
	}
}

func checkStillServes(t testing.TB, a *fedNode) {
	t.Helper()
	start := time.Now()
	l := a.list(t) // its client's timeout fails a listing that hangs
	took := time.Since(start)
	seen := map[string]bool{}
	for _, tool := range l.Tools {
		if !federatedNameRE.MatchString(tool.Name) || seen[tool.Name] {
			t.Errorf("listed %q: invalid or twice", tool.Name)
		}
		seen[tool.Name] = true
	}
	if !l.has("whoami") || !(l.has("b__whoami") || l.Meta[federation.MetaMissingPeers] != nil) {
		t.Errorf("listing: %d tools, whoami %v, b__whoami %v, _meta %v", len(l.Tools), l.has("whoami"), l.has("b__whoami"), l.Meta)
	}
	p := a.peer(t, "b")
	t.Logf("peer b: status %s, %d tools, error %q; listing %d tools in %v, _meta %v", p.Status, p.Tools, p.Error, len(l.Tools), took, l.Meta)
	if res := a.call(t, "whoami"); res.text() != "gw-a" {
		t.Errorf("whoami answered %q", res.text())
	}
}
