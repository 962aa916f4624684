package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The official go-sdk client, with sessions, SSE and notifications.

// bearer adds a bearer token to every request.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

// legacyVersion is the session version the go-sdk client is made to offer
// where a test is about sessions: left alone, it negotiates the stateless
// 2026-07-28 (see TestGoSDKClient2026).
const legacyVersion = "2025-11-25"

// statelessVersion is the revision the go-sdk v1.8 client negotiates with
// a node by default.
const statelessVersion = "2026-07-28"

// connectGoSDK opens a go-sdk client session (legacyVersion) to url (a
// token if not ""); it is closed when the test ends.
func connectGoSDK(t testing.TB, url, token string, opts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	return connectGoSDKVersion(t, url, token, opts, legacyVersion)
}

// connectGoSDKVersion connects offering version ("": the SDK's newest).
func connectGoSDKVersion(t testing.TB, url, token string, opts *mcp.ClientOptions, version string) *mcp.ClientSession {
	t.Helper()
	hc := &http.Client{Transport: bearer{token, http.DefaultTransport}}
	if token == "" {
		hc = http.DefaultClient
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "mcpmesh-e2e", Version: "0"}, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: hc, MaxRetries: -1},
		&mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("go-sdk connect %s: %v", url, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// directToolNames lists the tools of an MCP server with the go-sdk client.
func directToolNames(t testing.TB, url, token string) []string {
	t.Helper()
	cs := connectGoSDK(t, url, token, nil)
	var names []string
	for tool, err := range cs.Tools(testCtx(t), nil) {
		if err != nil {
			t.Fatalf("list tools of %s: %v", url, err)
		}
		names = append(names, tool.Name)
	}
	return names
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestGoSDKClient(t *testing.T) {
	n := startNode(t, nodeOptions{name: "gosdk", demo: true, servers: standardServers(t)})
	progress := make(chan *mcp.ProgressNotificationParams, 16)
	listChanged := make(chan struct{}, 16)
	cs := connectGoSDK(t, n.mcpURL(), n.token, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) { progress <- r.Params },
		ToolListChangedHandler:      func(context.Context, *mcp.ToolListChangedRequest) { listChanged <- struct{}{} },
	})
	if got := cs.InitializeResult().ServerInfo; got == nil || got.Name == "" {
		t.Errorf("initialize: serverInfo %+v, want a name", got)
	}
	if cs.ID() == "" {
		t.Errorf("initialize: no Mcp-Session-Id")
	}
	t.Run("list all pages", func(t *testing.T) { testGoSDKList(t, cs, n.name) })
	t.Run("call", func(t *testing.T) { testGoSDKCall(t, cs, n.name) })
	t.Run("progress", func(t *testing.T) { testGoSDKProgress(t, cs, progress) })
	t.Run("cancel", func(t *testing.T) { testGoSDKCancel(t, cs) })
	t.Run("list_changed", func(t *testing.T) { testGoSDKListChanged(t, n, cs, listChanged) })
	t.Run("delete session", func(t *testing.T) { testDeleteSession(t, n, cs) })
}

func testGoSDKList(t *testing.T, cs *mcp.ClientSession, node string) {
	seen := map[string]bool{}
	for tool, err := range cs.Tools(testCtx(t), nil) {
		if err != nil {
			t.Fatalf("tools/list: %v", err)
		}
		if seen[tool.Name] {
			t.Errorf("tool %q listed twice", tool.Name)
		}
		seen[tool.Name] = true
		if tool.Meta["mcpmesh/source"] != node {
			t.Errorf("tool %q: _meta[mcpmesh/source] = %v, want %q", tool.Name, tool.Meta["mcpmesh/source"], node)
		}
	}
	for _, want := range []string{"echo", "whoami", "ev__test_tool_with_progress", "evh__test_simple_text"} {
		if !seen[want] {
			t.Errorf("tool %q not listed among %d", want, len(seen))
		}
	}
	if len(seen) <= 100 {
		t.Errorf("%d tools listed; the node's upstreams give more than one page (100)", len(seen))
	}
}

func testGoSDKCall(t *testing.T, cs *mcp.ClientSession, node string) {
	cases := []struct {
		tool    string
		args    map[string]any
		want    string
		isError bool
	}{
		{"echo", map[string]any{"text": "via go-sdk"}, "via go-sdk", false},
		{"whoami", map[string]any{}, node, false},
		{"evh__test_simple_text", map[string]any{}, "simple text response", false},
		{"ev__test_error_handling", map[string]any{}, "intentionally returns an error", true},
	}
	for _, tc := range cases {
		t.Run(tc.tool, func(t *testing.T) {
			res, err := cs.CallTool(testCtx(t), &mcp.CallToolParams{Name: tc.tool, Arguments: tc.args})
			if err != nil {
				t.Fatalf("call %s: %v", tc.tool, err)
			}
			if got := contentText(res.Content); res.IsError != tc.isError || !strings.Contains(got, tc.want) {
				t.Errorf("isError %v, text %q; want isError %v, text containing %q", res.IsError, got, tc.isError, tc.want)
			}
		})
	}
	t.Run("unknown tool", func(t *testing.T) {
		_, err := cs.CallTool(testCtx(t), &mcp.CallToolParams{Name: "no_such_tool"})
		if err == nil || !strings.Contains(err.Error(), "no_such_tool") {
			t.Errorf("call of an unknown tool: err %v, want an error naming it", err)
		}
	})
}

func contentText(content []mcp.Content) string {
	var parts []string
	for _, c := range content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func testGoSDKProgress(t *testing.T, cs *mcp.ClientSession, progress chan *mcp.ProgressNotificationParams) {
	params := &mcp.CallToolParams{Name: "ev__test_tool_with_progress", Arguments: map[string]any{}}
	params.SetProgressToken("e2e-progress")
	res, err := cs.CallTool(testCtx(t), params)
	if err != nil || res.IsError {
		t.Fatalf("call with progress: %v %+v", err, res)
	}
	var got []float64
	for len(progress) > 0 || len(got) < 3 {
		select {
		case p := <-progress:
			if p.ProgressToken != "e2e-progress" {
				t.Errorf("progress token %v, want e2e-progress", p.ProgressToken)
			}
			got = append(got, p.Progress)
		case <-time.After(10 * time.Second):
			t.Fatalf("got %d progress notifications %v, want 3 (0, 50, 100)", len(got), got)
		}
	}
	t.Logf("progress: %v", got)
}

func testGoSDKCancel(t *testing.T, cs *mcp.ClientSession) {
	ctx, cancel := context.WithTimeout(testCtx(t), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "sleep", Arguments: map[string]any{"ms": 300000}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled call: err %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancelled call returned after %v", d)
	}
	if err := cs.Ping(testCtx(t), nil); err != nil {
		t.Errorf("ping after a cancelled call: %v", err)
	}
}

func testGoSDKListChanged(t *testing.T, n *node, cs *mcp.ClientSession, listChanged chan struct{}) {
	for len(listChanged) > 0 {
		<-listChanged
	}
	body := mustJSON(map[string]any{"name": "added", "command": buildBinaries(t).everything, "prefix": "added"})
	if r := n.do(t, http.MethodPost, "/api/servers", body, nil); r.status != http.StatusCreated {
		t.Fatalf("POST /api/servers: status %d; body %s", r.status, r.body)
	}
	select {
	case <-listChanged:
	case <-time.After(20 * time.Second):
		t.Fatalf("no notifications/tools/list_changed within 20s of registering an upstream")
	}
	res, err := cs.CallTool(testCtx(t), &mcp.CallToolParams{Name: "added__test_simple_text", Arguments: map[string]any{}})
	if err != nil || res.IsError {
		t.Errorf("call of the new upstream's tool: %v %+v", err, res)
	}
}

// testDeleteSession ends a session with DELETE: the session id then gets 404.
func testDeleteSession(t *testing.T, n *node, cs *mcp.ClientSession) {
	id := cs.ID()
	if err := cs.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	var r httpReply
	wait.For(t, 10*time.Second, func() bool {
		r = n.do(t, http.MethodPost, "/mcp/http", []byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`),
			map[string]string{"Mcp-Session-Id": id, "Accept": "application/json, text/event-stream"})
		return r.status == http.StatusNotFound
	}, "POST with the closed session's id to get 404; last status %d, body %s",
		wait.Later(func() any { return r.status }), wait.Later(func() any { return r.body }))
}
