package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	gomcp "github.com/mark3labs/mcp-go/mcp"
)

// The mcp-go client (v1.2.1), the other official Go client, against a node
// of a two-node ring: it negotiates 2026-07-28 (server/discover, no
// session), lists and calls B's tools through A, gets progress of a
// forwarded call, and hears through subscriptions/listen that A's tools
// changed when an upstream is added on B.

const subscriptionIDKey = "io.modelcontextprotocol/subscriptionId"

// connectMCPGo starts an mcp-go Streamable HTTP client on url with token
// and initializes it; t.Cleanup closes it.
func connectMCPGo(t *testing.T, url, token string) (*mcpgo.Client, *gomcp.InitializeResult) {
	t.Helper()
	c, err := mcpgo.NewStreamableHttpClient(url, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		t.Fatalf("mcp-go client for %s: %v", url, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Start(testCtx(t)); err != nil {
		t.Fatalf("mcp-go start: %v", err)
	}
	req := gomcp.InitializeRequest{}
	req.Params.ClientInfo = gomcp.Implementation{Name: "mcpmesh-e2e-mcpgo", Version: "0"}
	init, err := c.Initialize(testCtx(t), req)
	if err != nil {
		t.Fatalf("mcp-go initialize %s: %v", url, err)
	}
	return c, init
}

// mcpGoNotes sends each notification of method that c receives on a
// buffered channel (dropping any beyond its room).
func mcpGoNotes(c *mcpgo.Client, method string) <-chan gomcp.JSONRPCNotification {
	ch := make(chan gomcp.JSONRPCNotification, 64)
	c.OnNotification(func(n gomcp.JSONRPCNotification) {
		if n.Method != method {
			return
		}
		select {
		case ch <- n:
		default:
		}
	})
	return ch
}

func TestMCPGoClient2026(t *testing.T) {
	a, b := startPair(t)
	c, init := connectMCPGo(t, a.mcpURL(), a.token)
	if v := c.ProtocolVersion(); v != "2026-07-28" || init.ProtocolVersion != v {
		t.Fatalf("negotiated %q (initialize result %q), want 2026-07-28", v, init.ProtocolVersion)
	}
	if init.ServerInfo.Name != "ra" {
		t.Errorf("serverInfo %+v, want the node's name ra", init.ServerInfo)
	}
	if sid := c.GetSessionId(); sid != "" {
		t.Errorf("a 2026-07-28 client got session %q", sid)
	}
	progress := mcpGoNotes(c, "notifications/progress")
	checkMCPGoList(t, c)
	checkMCPGoCall(t, c, gomcp.CallToolParams{Name: "b__whoami"}, "rb")
	checkMCPGoCall(t, c, gomcp.CallToolParams{Name: "b__sleep", Arguments: map[string]any{"ms": 600},
		Meta: &gomcp.Meta{ProgressToken: "tok-mcpgo"}}, "slept 600 ms")
	select {
	case n := <-progress:
		if tok := n.Params.AdditionalFields["progressToken"]; tok != "tok-mcpgo" {
			t.Errorf("progress %+v, want token tok-mcpgo", n.Params)
		}
	case <-time.After(10 * time.Second):
		t.Error("no progress came back through the forward")
	}
	checkMCPGoListen(t, c, b)
}

func checkMCPGoList(t *testing.T, c *mcpgo.Client) {
	t.Helper()
	res, err := c.ListTools(testCtx(t), gomcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	if !slices.Contains(names, "whoami") || !slices.Contains(names, "b__whoami") {
		t.Fatalf("tools %v, want whoami and b__whoami", names)
	}
}

func checkMCPGoCall(t *testing.T, c *mcpgo.Client, params gomcp.CallToolParams, want string) {
	t.Helper()
	res, err := c.CallTool(testCtx(t), gomcp.CallToolRequest{Params: params})
	if err != nil || res.IsError || len(res.Content) == 0 {
		t.Fatalf("%s: %+v, %v; want a result", params.Name, res, err)
	}
	text, _ := gomcp.AsTextContent(res.Content[0])
	if text == nil || !strings.Contains(text.Text, want) {
		t.Errorf("%s answered %+v, want %q in it", params.Name, res.Content[0], want)
	}
}

// checkMCPGoListen opens subscriptions/listen for tool list changes on c,
// adds an upstream on b, and waits for notifications/tools/list_changed.
func checkMCPGoListen(t *testing.T, c *mcpgo.Client, b *node) {
	t.Helper()
	acked := mcpGoNotes(c, "notifications/subscriptions/acknowledged")
	changed := mcpGoNotes(c, "notifications/tools/list_changed")
	ctx, cancel := context.WithCancel(testCtx(t))
	listenErr := make(chan error, 1)
	go func() { listenErr <- c.Listen(ctx, gomcp.SubscriptionFilter{ToolsListChanged: true}) }()
	t.Cleanup(func() { cancel(); <-listenErr })
	var sub any
	select {
	case n := <-acked:
		sub = n.Params.Meta[subscriptionIDKey]
	case err := <-listenErr:
		t.Fatalf("subscriptions/listen ended before its acknowledgement: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("no notifications/subscriptions/acknowledged on the subscriptions/listen stream")
	}
	entry := map[string]any{"name": "ev", "command": buildBinaries(t).everything, "prefix": "ev"}
	if r := b.do(t, http.MethodPost, "/api/servers", mustJSON(entry), nil); r.status != http.StatusCreated {
		t.Fatalf("POST /api/servers on B: status %d, body %s; want 201", r.status, r.body)
	}
	select {
	case n := <-changed:
		if got := n.Params.Meta[subscriptionIDKey]; sub == nil || got != sub {
			t.Errorf("list_changed tagged %v, acknowledgement tagged %v; want the same subscriptionId", got, sub)
		}
	case err := <-listenErr:
		t.Fatalf("subscriptions/listen ended before a list change: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("no notifications/tools/list_changed on the subscriptions/listen stream")
	}
}
