package main

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/client"
	gomcp "github.com/mark3labs/mcp-go/mcp"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// Clients that hear list changes (the helpers of e2e_ring_listchanged_test.go):
// each counts the notifications/*/list_changed it heard and lists what it
// sees, so a test can wait for a notification after which the listing
// shows a change.

// listKind indexes the list changes a watcher counts.
type listKind int

const (
	kindTools listKind = iota
	kindPrompts
	kindResources
)

var listKindNames = [3]string{"tools", "prompts", "resources"}

// listing is what one client lists: tool and prompt names, resource URIs.
type listing [3][]string

// listWatch is one client of a node that hears list changes.
type listWatch struct {
	name  string
	heard [3]atomic.Int64
	at    [3]atomic.Int64 // when the last one of each kind came (UnixNano)
	list  func(ctx context.Context) (listing, error)
}

// note counts a list change of kind k heard now.
func (w *listWatch) note(k listKind) {
	w.at[k].Store(time.Now().UnixNano())
	w.heard[k].Add(1)
}

func (w *listWatch) counts() [3]int64 {
	return [3]int64{w.heard[0].Load(), w.heard[1].Load(), w.heard[2].Load()}
}

// awaitChange waits until w heard a list change of every kind in kinds
// since before, after which (listing only after a new notification) its
// listing satisfies ok: a change the node makes without telling the
// client, or tells before its lists show it, never passes. It returns when
// the last of those notifications came.
func (w *listWatch) awaitChange(t testing.TB, before [3]int64, kinds []listKind, ok func(listing) bool, what string) time.Time {
	t.Helper()
	listedAt := before
	var last listing
	var lastErr error
	var heardAt time.Time
	wait.For(t, 15*time.Second, func() bool {
		now := w.counts()
		for _, k := range kinds {
			if now[k] == before[k] {
				return false
			}
		}
		if now == listedAt {
			return false // nothing heard since the last listing
		}
		listedAt, heardAt = now, w.lastAt(kinds)
		last, lastErr = w.list(context.Background())
		return lastErr == nil && ok(last)
	}, "%s: waiting for %v list_changed after which the lists show %s; heard %v (before %v), last listing %v (err %v)",
		w.name, kindNames(kinds), what, wait.Later(func() any { return w.counts() }), before,
		wait.Later(func() any { return last }), wait.Later(func() any { return lastErr }))
	return heardAt
}

// lastAt is when the latest list change of kinds came.
func (w *listWatch) lastAt(kinds []listKind) time.Time {
	var at int64
	for _, k := range kinds {
		at = max(at, w.at[k].Load())
	}
	return time.Unix(0, at)
}

func kindNames(kinds []listKind) []string {
	var out []string
	for _, k := range kinds {
		out = append(out, listKindNames[k])
	}
	return out
}

// sdkWatch connects a go-sdk client to url offering version ("": the
// SDK's newest, 2026-07-28) with the three list-changed handlers.
func sdkWatch(t testing.TB, name, url, token, version string) *listWatch {
	t.Helper()
	w := &listWatch{name: name}
	cs := connectGoSDKVersion(t, url, token, w.sdkOptions(), version)
	w.list = func(ctx context.Context) (listing, error) { return sdkListing(ctx, cs) }
	return w
}

// sdkOptions are go-sdk client options whose list-changed handlers note
// what w heard.
func (w *listWatch) sdkOptions() *mcp.ClientOptions {
	return &mcp.ClientOptions{
		ToolListChangedHandler:     func(context.Context, *mcp.ToolListChangedRequest) { w.note(kindTools) },
		PromptListChangedHandler:   func(context.Context, *mcp.PromptListChangedRequest) { w.note(kindPrompts) },
		ResourceListChangedHandler: func(context.Context, *mcp.ResourceListChangedRequest) { w.note(kindResources) },
	}
}

func sdkListing(ctx context.Context, cs *mcp.ClientSession) (listing, error) {
	var l listing
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return l, err
		}
		l[kindTools] = append(l[kindTools], tool.Name)
	}
	for p, err := range cs.Prompts(ctx, nil) {
		if err != nil {
			return l, err
		}
		l[kindPrompts] = append(l[kindPrompts], p.Name)
	}
	for r, err := range cs.Resources(ctx, nil) {
		if err != nil {
			return l, err
		}
		l[kindResources] = append(l[kindResources], r.URI)
	}
	return l, nil
}

// listenSpy tells when a response to a subscriptions/listen POST arrived:
// the node registers the stream before it sends the response's headers,
// so from then on no change can miss it. The go-sdk client opens its
// listen stream in the background, after Connect has returned.
type listenSpy struct {
	base   http.RoundTripper
	opened chan struct{}
}

func (s listenSpy) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := s.base.RoundTrip(r)
	if err == nil && r.Header.Get("Mcp-Method") == "subscriptions/listen" && res.StatusCode == http.StatusOK {
		select {
		case s.opened <- struct{}{}:
		default:
		}
	}
	return res, err
}

// sdkWatch2026 is sdkWatch for 2026-07-28 with a check of the negotiated
// version, returning once the client's subscriptions/listen stream is open.
func sdkWatch2026(t testing.TB, name, url, token string) *listWatch {
	t.Helper()
	spy := listenSpy{base: bearer{token, http.DefaultTransport}, opened: make(chan struct{}, 1)}
	w := &listWatch{name: name}
	client := mcp.NewClient(&mcp.Implementation{Name: "mcpmesh-e2e-" + name, Version: "0"}, w.sdkOptions())
	cs, err := client.Connect(testCtx(t), &mcp.StreamableClientTransport{Endpoint: url,
		HTTPClient: &http.Client{Transport: spy}, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("%s: go-sdk connect %s: %v", name, url, err)
	}
	t.Cleanup(func() { cs.Close() })
	if v := cs.InitializeResult().ProtocolVersion; v != "2026-07-28" {
		t.Fatalf("%s: negotiated %q, want 2026-07-28", name, v)
	}
	select {
	case <-spy.opened:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s: the go-sdk client opened no subscriptions/listen stream", name)
	}
	w.list = func(ctx context.Context) (listing, error) { return sdkListing(ctx, cs) }
	return w
}

// mcpGoWatch connects an mcp-go client (it negotiates 2026-07-28) and opens
// subscriptions/listen for the three list changes; it returns once the
// node acknowledged the stream.
func mcpGoWatch(t *testing.T, name, url, token string) *listWatch {
	t.Helper()
	c, init := connectMCPGo(t, url, token)
	if init.ProtocolVersion != "2026-07-28" {
		t.Fatalf("%s: mcp-go negotiated %q, want 2026-07-28", name, init.ProtocolVersion)
	}
	w := &listWatch{name: name}
	methods := map[string]listKind{"notifications/tools/list_changed": kindTools,
		"notifications/prompts/list_changed": kindPrompts, "notifications/resources/list_changed": kindResources}
	acked := make(chan struct{}, 1)
	c.OnNotification(func(n gomcp.JSONRPCNotification) {
		if k, ok := methods[n.Method]; ok {
			w.note(k)
		}
		if n.Method == "notifications/subscriptions/acknowledged" {
			acked <- struct{}{}
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.Listen(ctx, gomcp.SubscriptionFilter{ToolsListChanged: true, PromptsListChanged: true, ResourcesListChanged: true})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-acked:
	case err := <-done:
		t.Fatalf("%s: subscriptions/listen ended before its acknowledgement: %v", name, err)
	case <-time.After(15 * time.Second):
		t.Fatalf("%s: no notifications/subscriptions/acknowledged", name)
	}
	w.list = func(ctx context.Context) (listing, error) { return mcpGoListing(ctx, c) }
	return w
}

func mcpGoListing(ctx context.Context, c *mcpgo.Client) (listing, error) {
	var l listing
	tools, err := c.ListTools(ctx, gomcp.ListToolsRequest{})
	for err == nil {
		for _, tool := range tools.Tools {
			l[kindTools] = append(l[kindTools], tool.Name)
		}
		if tools.NextCursor == "" {
			break
		}
		req := gomcp.ListToolsRequest{}
		req.Params.Cursor = tools.NextCursor
		tools, err = c.ListTools(ctx, req)
	}
	if err != nil {
		return l, err
	}
	prompts, err := c.ListPrompts(ctx, gomcp.ListPromptsRequest{})
	if err != nil {
		return l, err
	}
	for _, p := range prompts.Prompts {
		l[kindPrompts] = append(l[kindPrompts], p.Name)
	}
	res, err := c.ListResources(ctx, gomcp.ListResourcesRequest{})
	if err != nil {
		return l, err
	}
	for _, r := range res.Resources {
		l[kindResources] = append(l[kindResources], r.URI)
	}
	return l, nil
}
