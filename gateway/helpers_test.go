package gateway

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/mcp"
	"github.com/mcpmesh/mcpmesh/store"
	"github.com/mcpmesh/mcpmesh/store/badgerstore"
)

const testSecret = "test-secret-that-is-at-least-32-bytes-long"

// testNode is a gateway served by httptest on 127.0.0.1.
type testNode struct {
	gw    *Gateway
	srv   *httptest.Server
	store store.Store
	cat   *mcp.Catalog
	admin string // an admin token
	once  sync.Once
}

type nodeOptions struct {
	name    string      // default "node-a"
	secret  string      // default testSecret
	store   store.Store // default a Badger store in t.TempDir()
	servers []serverConfig
	maxBody int64
	origins []string
	hosts   []string // AllowedHosts
	url     string   // the advertised URL (default http://127.0.0.1:1)
	noStart bool
	// sessions are MaxSessions and MaxSessionsPerPrincipal (0: defaults).
	sessions [2]int
	// conns, when set, serves the node as `serve` does: HTTPServer on
	// Listener, with these bounds.
	conns *ConnLimits
	// oauth, when set, makes the node an OAuth resource server.
	oauth *OAuthConfig
}

// startNode builds a gateway with the demo tools on a real Badger store and
// serves it; everything is stopped at the end of the test.
func startNode(t testing.TB, o nodeOptions) *testNode {
	t.Helper()
	if o.store == nil {
		o.store = openBadger(t, t.TempDir())
	}
	o.name, o.secret = cmp.Or(o.name, "node-a"), cmp.Or(o.secret, testSecret)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cat := mcp.NewCatalog(o.name, log)
	if err := cat.Add("demo", "", mcp.NewDemo(o.name)); err != nil {
		t.Fatal(err)
	}
	if o.url == "" {
		o.url = "http://127.0.0.1:1"
	}
	gw, err := New(Config{
		Name: o.name, Version: "test", URL: o.url, AllowedHosts: o.hosts, Secret: []byte(o.secret),
		Store: o.store, Catalog: cat, Servers: o.servers, Logger: log, MaxBodyBytes: o.maxBody, AllowedOrigins: o.origins,
		ReadyTimeout: 10 * time.Second, MaxSessions: o.sessions[0], MaxSessionsPerPrincipal: o.sessions[1],
		Conns: connsOf(o.conns), OAuth: o.oauth,
	})
	if err != nil {
		t.Fatal(err)
	}
	n := &testNode{gw: gw, store: o.store, cat: cat, admin: mint(t, o.secret, "")}
	n.srv = httptest.NewUnstartedServer(gw.Handler())
	if o.conns != nil {
		n.srv.Config = gw.HTTPServer()
		n.srv.Listener = gw.Listener(n.srv.Listener)
	}
	n.srv.Start()
	t.Cleanup(func() { n.close(t) })
	if !o.noStart {
		if err := gw.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

func connsOf(c *ConnLimits) ConnLimits {
	if c == nil {
		return ConnLimits{}
	}
	return *c
}

// close closes the gateway and its HTTP server (once).
func (n *testNode) close(t testing.TB) {
	n.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.gw.Close(ctx); err != nil {
			t.Errorf("gateway close: %v", err)
		}
		n.srv.Close()
	})
}

func openBadger(t testing.TB, dir string) *badgerstore.Store {
	t.Helper()
	st, err := badgerstore.Open(dir, badgerstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func mint(t testing.TB, secret, scope string) string {
	t.Helper()
	tok, err := MintToken([]byte(secret), "tester@example.com", scope, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// response is one answer, its body read.
type response struct {
	code   int
	header http.Header
	body   []byte
}

func (r response) errorText(t testing.TB) string {
	t.Helper()
	var e api.Error
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error == "" {
		t.Fatalf("want a JSON {\"error\": ...} body, got %d %q", r.code, r.body)
	}
	return e.Error
}

// do sends a request with an optional bearer token and body.
func (n *testNode) do(t testing.TB, method, path, token, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, n.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	return send(t, req)
}

func send(t testing.TB, req *http.Request) response {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: b}
}

func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}

const toolsListBody = `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
