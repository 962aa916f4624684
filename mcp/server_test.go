package mcp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpmesh/mcpmesh/mcp"
)

// newTestServer serves the demo catalog of node "n1" on 127.0.0.1.
func newTestServer(t *testing.T, opts mcp.ServerOptions) (*httptest.Server, *mcp.Catalog, *mcp.Server) {
	t.Helper()
	cat := mcp.NewCatalog("n1", nil)
	if err := cat.Add("demo", "", mcp.NewDemo("n1")); err != nil {
		t.Fatal(err)
	}
	srv := mcp.NewServer(cat, opts)
	cat.OnChange(func() { srv.NotifyListChanged(mcp.KindTool) })
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return hs, cat, srv
}

func connect(t *testing.T, url string, opts *sdk.ClientOptions) *sdk.ClientSession {
	t.Helper()
	return connectVersion(t, url, opts, "")
}

// connectVersion connects offering version ("": the SDK's newest).
func connectVersion(t *testing.T, url string, opts *sdk.ClientOptions, version string) *sdk.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, opts)
	cs, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: url}, &sdk.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// TestGoSDKClientSession: the go-sdk client negotiates the stateless
// revision by default (server/discover), and a session version when it
// offers one; either way it lists over pages and calls.
func TestGoSDKClientSession(t *testing.T) {
	for _, v := range []struct{ offer, want string }{{"", "2026-07-28"}, {"2025-11-25", "2025-11-25"}, {"2025-06-18", "2025-06-18"}} {
		t.Run("offer="+v.offer, func(t *testing.T) { checkGoSDKClient(t, v.offer, v.want) })
	}
}

func checkGoSDKClient(t *testing.T, offer, want string) {
	hs, _, _ := newTestServer(t, mcp.ServerOptions{PageSize: 2, NodeName: "n1"})
	cs := connectVersion(t, hs.URL, nil, offer)
	ctx := context.Background()
	if v := cs.InitializeResult().ProtocolVersion; v != want {
		t.Errorf("negotiated %q, want %s", v, want)
	}
	var names []string
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tool.Name)
	}
	if got := strings.Join(names, ","); got != "add,echo,sleep,whoami" {
		t.Errorf("tools over pages = %s", got)
	}
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}})
	if err != nil || res.IsError || res.Content[0].(*sdk.TextContent).Text != "hi" {
		t.Fatalf("echo = %+v, %v", res, err)
	}
}

// bothGenerations runs check with a go-sdk client of the stateless revision
// and with one of a session version.
func bothGenerations(t *testing.T, check func(t *testing.T, version string)) {
	for _, v := range []string{"2026-07-28", "2025-11-25"} {
		t.Run(v, func(t *testing.T) { check(t, v) })
	}
}

func TestProgressAndCancel(t *testing.T) { bothGenerations(t, checkProgressAndCancel) }

func checkProgressAndCancel(t *testing.T, version string) {
	hs, _, _ := newTestServer(t, mcp.ServerOptions{})
	var progress atomic.Int32
	cs := connectVersion(t, hs.URL, &sdk.ClientOptions{
		ProgressNotificationHandler: func(context.Context, *sdk.ProgressNotificationClientRequest) { progress.Add(1) },
	}, version)
	params := &sdk.CallToolParams{Name: "sleep", Arguments: map[string]any{"ms": 350}}
	params.SetProgressToken("tok")
	if _, err := cs.CallTool(context.Background(), params); err != nil {
		t.Fatal(err)
	}
	if progress.Load() == 0 {
		t.Error("no progress notification arrived")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "sleep", Arguments: map[string]any{"ms": 600000}})
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Error("cancelled call returned no error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancelled call did not return")
	}
}

func TestListChangedReachesSession(t *testing.T) { bothGenerations(t, checkListChanged) }

func checkListChanged(t *testing.T, version string) {
	hs, cat, _ := newTestServer(t, mcp.ServerOptions{})
	changed := make(chan struct{}, 4)
	cs := connectVersion(t, hs.URL, &sdk.ClientOptions{
		ToolListChangedHandler: func(context.Context, *sdk.ToolListChangedRequest) { changed <- struct{}{} },
	}, version)
	_ = cs
	// The client opens its GET stream asynchronously; re-add until notified.
	deadline := time.After(10 * time.Second)
	for i := 0; ; i++ {
		name := "extra" + string(rune('a'+i%26)) + time.Now().Format("150405.000000")
		_ = cat.Add(name, name, mcp.NewDemo("n1"))
		select {
		case <-changed:
			return
		case <-deadline:
			t.Fatal("no tools/list_changed notification")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestDeleteEndsSession(t *testing.T) {
	hs, _, srv := newTestServer(t, mcp.ServerOptions{})
	req, _ := http.NewRequest("POST", hs.URL, strings.NewReader(
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`))
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sid := resp.Header.Get("Mcp-Session-Id")
	if sid == "" || srv.Sessions() != 1 {
		t.Fatalf("no session created (id %q, %d sessions)", sid, srv.Sessions())
	}
	for _, want := range []int{http.StatusNoContent, http.StatusNotFound} {
		del, _ := http.NewRequest("DELETE", hs.URL, nil)
		del.Header.Set("Mcp-Session-Id", sid)
		resp, err := http.DefaultClient.Do(del)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("DELETE = %d, want %d", resp.StatusCode, want)
		}
	}
}
