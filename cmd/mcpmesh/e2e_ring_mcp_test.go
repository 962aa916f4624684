package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// MCP through a forward, with the official go-sdk client on node A and
// node B as A's peer "b": progress and cancellation pass through, a new
// upstream on B reaches A's open sessions as list_changed, and prompts and
// resources federate like tools.

// startPair starts B and then A with extraA, and makes B A's full peer "b".
func startPair(t *testing.T, extraA ...string) (a, b *node) {
	t.Helper()
	b = startMeshNode(t, "rb")
	a = startMeshNode(t, "ra", extraA...)
	ringAddPeer(t, a, b.url, "b", "full")
	wait.For(t, ringTimeout, func() bool { return ringList(t, a).has("b__whoami") }, "waiting for A to list b__whoami")
	return a, b
}

func TestRingMCPThroughForward(t *testing.T) {
	a, b := startPair(t)
	t.Run("progress", func(t *testing.T) { checkForwardProgress(t, a) })
	t.Run("cancel", func(t *testing.T) { checkForwardCancel(t, a, b) })
	t.Run("list_changed", func(t *testing.T) { checkForwardListChanged(t, a, b) })
	t.Run("prompts", func(t *testing.T) { checkFederatedPrompts(t, a) })
	t.Run("resources", func(t *testing.T) { checkFederatedResources(t, a) })
}

// progressSession opens a go-sdk session on n whose progress notifications
// go to the returned channel.
func progressSession(t *testing.T, n *node) (*mcp.ClientSession, chan *mcp.ProgressNotificationParams) {
	progress := make(chan *mcp.ProgressNotificationParams, 256)
	cs := connectGoSDK(t, n.mcpURL(), n.token, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
			select {
			case progress <- r.Params:
			default:
			}
		},
	})
	return cs, progress
}

func checkForwardProgress(t *testing.T, a *node) {
	cs, progress := progressSession(t, a)
	params := &mcp.CallToolParams{Name: "b__sleep", Arguments: map[string]any{"ms": 600}}
	params.SetProgressToken("tok-progress")
	res, err := cs.CallTool(testCtx(t), params)
	if err != nil || res.IsError || len(res.Content) == 0 {
		t.Fatalf("b__sleep through A: %+v, %v; want a result", res, err)
	}
	if text := res.Content[0].(*mcp.TextContent).Text; text != "slept 600 ms" {
		t.Errorf("b__sleep answered %q, want %q", text, "slept 600 ms")
	}
	select {
	case p := <-progress:
		if p.ProgressToken != "tok-progress" || p.Progress <= 0 {
			t.Errorf("progress %+v; want token tok-progress and progress > 0", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no progress notification came back through the forward")
	}
}

// checkForwardCancel cancels a long b__sleep once its first progress
// arrives: the call returns at once, and B ends the sleep (its tool-call
// count for sleep goes up long before the minute is over).
func checkForwardCancel(t *testing.T, a, b *node) {
	before := sleepCalls(t, b)
	cs, progress := progressSession(t, a)
	ctx, cancel := context.WithCancel(testCtx(t))
	params := &mcp.CallToolParams{Name: "b__sleep", Arguments: map[string]any{"ms": 60000}}
	params.SetProgressToken("tok-cancel")
	done := make(chan error, 1)
	go func() { _, err := cs.CallTool(ctx, params); done <- err }()
	select {
	case <-progress:
	case <-time.After(10 * time.Second):
		t.Fatal("no progress from the long sleep")
	}
	cancel()
	start := time.Now()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("a cancelled call returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the cancelled call did not return within 5 s")
	}
	t.Logf("cancelled call returned in %v", time.Since(start))
	wait.For(t, 10*time.Second, func() bool { return sleepCalls(t, b) > before }, "waiting for B to end the cancelled sleep")
}

// sleepCalls is the number of finished sleep calls B's metrics count.
func sleepCalls(t *testing.T, n *node) int {
	t.Helper()
	r := n.do(t, http.MethodGet, "/metrics", nil, nil)
	total := 0
	for _, line := range strings.Split(string(r.body), "\n") {
		if !strings.HasPrefix(line, "mcpmesh_tool_calls_total{") || !strings.Contains(line, `tool="sleep"`) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err == nil {
			total += int(v)
		}
	}
	return total
}

// checkForwardListChanged registers an upstream on B while a session is
// open on A: the session is told, and A lists the new tools.
func checkForwardListChanged(t *testing.T, a, b *node) {
	changed := make(chan struct{}, 64)
	connectGoSDK(t, a.mcpURL(), a.token, &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
			select {
			case changed <- struct{}{}:
			default:
			}
		},
	})
	start := time.Now()
	entry := map[string]any{"name": "ev", "command": buildBinaries(t).everything, "prefix": "ev"}
	if r := b.do(t, http.MethodPost, "/api/servers", mustJSON(entry), nil); r.status != http.StatusCreated {
		t.Fatalf("POST /api/servers on B: status %d, body %s; want 201", r.status, r.body)
	}
	wait.For(t, 15*time.Second, func() bool {
		return ringList(t, a).has("b__ev__test_simple_text")
	}, "waiting for A to list b__ev__test_simple_text")
	t.Logf("B's new upstream listed on A %v after its registration began", time.Since(start))
	select {
	case <-changed:
	case <-time.After(15 * time.Second):
		t.Fatal("the session on A got no notifications/tools/list_changed")
	}
}

type federatedEntry struct {
	Name   string         `json:"name"`
	URI    string         `json:"uri"`
	Source string         `json:"source"`
	Meta   map[string]any `json:"_meta"`
}

// findEntry lists method on n (one page is enough here) and returns the
// entry whose key (name or uri) is key.
func findEntry(t *testing.T, n *node, method, field, key string) (federatedEntry, bool) {
	t.Helper()
	var page map[string][]federatedEntry
	n.rpc(t, method, map[string]any{}).decode(t, &page)
	for _, e := range page[field] {
		if e.Name == key || e.URI == key {
			return e, true
		}
	}
	return federatedEntry{}, false
}

func checkSource(t *testing.T, e federatedEntry, want string) {
	t.Helper()
	if e.Source != want || e.Meta["mcpmesh/source"] != want {
		t.Errorf("%s%s: source %q, _meta source %v; want %q", e.Name, e.URI, e.Source, e.Meta["mcpmesh/source"], want)
	}
}

func checkFederatedPrompts(t *testing.T, a *node) {
	const name = "b__ev__test_simple_prompt"
	var e federatedEntry
	wait.For(t, 10*time.Second, func() bool { // prompts are re-listed on their own list_changed
		var ok bool
		e, ok = findEntry(t, a, "prompts/list", "prompts", name)
		return ok
	}, "waiting for %s", "A's prompts/list to have "+name)
	checkSource(t, e, "b")
	var got struct {
		Messages []json.RawMessage `json:"messages"`
	}
	a.rpc(t, "prompts/get", map[string]any{"name": name}).decode(t, &got)
	if len(got.Messages) == 0 {
		t.Errorf("prompts/get %s through A returned no messages", name)
	}
}

func checkFederatedResources(t *testing.T, a *node) {
	const uri = "test://static-text"
	var e federatedEntry
	wait.For(t, 10*time.Second, func() bool {
		var ok bool
		e, ok = findEntry(t, a, "resources/list", "resources", uri)
		return ok
	}, "waiting for %s", "A's resources/list to have "+uri)
	checkSource(t, e, "b")
	var got struct {
		Contents []struct {
			URI  string `json:"uri"`
			Text string `json:"text"`
		} `json:"contents"`
	}
	a.rpc(t, "resources/read", map[string]any{"uri": uri}).decode(t, &got)
	if len(got.Contents) == 0 || got.Contents[0].URI != uri || got.Contents[0].Text == "" {
		t.Errorf("resources/read %s through A: %+v; want B's text", uri, got.Contents)
	}
}
