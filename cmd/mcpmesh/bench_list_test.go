package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// benchBigCatalog is the number of tools of the listing benchmark's
// upstream (exactly mcp's cap on one kind of one upstream's listing).
const benchBigCatalog = 10000

// BenchmarkListTools lists all pages of tools/list (nextCursor to the end)
// on a node A that federates 10,000 tools of its peer B, and on a node C
// whose local catalog has the same 10,000 tools (the same upstream,
// registered on C directly). One op is one whole listing; the federated
// side reports its ratios to the local side just measured.
func BenchmarkListTools(b *testing.B) {
	upstream := benchBigUpstream(b, benchBigCatalog)
	peer := benchNode(b, "bench-list-b", false)
	local := benchNode(b, "bench-list-c", false)
	fed := benchNode(b, "bench-list-a", false)
	benchRegister(b, peer, upstream, benchBigCatalog)
	benchRegister(b, local, upstream, benchBigCatalog)
	benchFederate(b, fed, peer, "b", func() bool { return benchPeerTools(b, fed, "b") == benchBigCatalog })
	for _, kind := range []string{"bare", "gosdk"} {
		b.Run(kind, func(b *testing.B) {
			var base benchStats
			b.Run("local", func(b *testing.B) {
				base = benchListing(b, local, kind)
				base.report(b, "lists")
			})
			b.Run("federated", func(b *testing.B) {
				s := benchListing(b, fed, kind)
				s.report(b, "lists")
				benchRatios(b, s, base)
			})
		})
	}
}

// benchBigUpstream serves n no-op tools t00000… from an in-process go-sdk
// Streamable HTTP server on 127.0.0.1 and returns its URL.
func benchBigUpstream(b *testing.B, n int) string {
	srv := mcp.NewServer(&mcp.Implementation{Name: "big", Version: "0"}, nil)
	schema := &jsonschema.Schema{Type: "object", Properties: map[string]*jsonschema.Schema{
		"text": {Type: "string", Description: "any text"}}}
	handler := func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "ok"}}}, nil
	}
	for i := range n {
		srv.AddTool(&mcp.Tool{Name: fmt.Sprintf("t%05d", i), Description: fmt.Sprintf("benchmark tool number %d", i),
			InputSchema: schema}, handler)
	}
	hs := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	b.Cleanup(hs.Close)
	return hs.URL
}

// benchRegister registers url on n as the server "big" and waits until
// n reports it ready with want tools.
func benchRegister(b *testing.B, n *node, url string, want int) {
	body := mustJSON(map[string]any{"name": "big", "url": url})
	if r := n.do(b, http.MethodPost, "/api/servers", body, nil); r.status != http.StatusCreated {
		b.Fatalf("POST %s/api/servers: status %d, body %s; want 201", n.url, r.status, r.body)
	}
	wait.For(b, benchRingTimeout, func() bool {
		var list []api.Server
		r := n.do(b, http.MethodGet, "/api/servers", nil, nil)
		if json.Unmarshal(r.body, &list) != nil {
			return false
		}
		return len(list) == 1 && list[0].State == "ready" && list[0].Tools == want
	}, "waiting for %s serving the upstream's tools", n.name)
}

// benchPeerTools is the tool count n's /api/federation/peers gives the
// online peer called name (-1 if none).
func benchPeerTools(b *testing.B, n *node, name string) int {
	var peers []api.Peer
	r := n.do(b, http.MethodGet, "/api/federation/peers", nil, nil)
	if json.Unmarshal(r.body, &peers) != nil {
		return -1
	}
	for _, p := range peers {
		if p.Name == name && p.Status == api.PeerOnline {
			return p.Tools
		}
	}
	return -1
}

// benchListing times b.N whole listings of n's tools by one caller.
func benchListing(b *testing.B, n *node, kind string) benchStats {
	hc := benchHTTPClient()
	b.Cleanup(hc.CloseIdleConnections)
	list := func() (int, error) { return benchListBare(hc, n) }
	if kind == "gosdk" {
		list = benchSDKLister(b, n, hc)
	}
	call := func() error {
		got, err := list()
		if err == nil && got != benchBigCatalog {
			err = fmt.Errorf("%s listed %d tools, want %d", n.name, got, benchBigCatalog)
		}
		return err
	}
	if err := call(); err != nil { // warm up, and check the count once more
		b.Fatal(err)
	}
	return benchRun(b, []func() error{call})
}

// benchListBare follows nextCursor with sessionless POSTs and returns the
// number of tools listed.
func benchListBare(hc *http.Client, n *node) (int, error) {
	count, cursor := 0, ""
	for pages := 0; pages < 1000; pages++ {
		params := map[string]any{}
		if cursor != "" {
			params["cursor"] = cursor
		}
		raw, err := benchPost(hc, n, mustJSON(map[string]any{"jsonrpc": "2.0", "id": pages, "method": "tools/list", "params": params}))
		if err != nil {
			return count, err
		}
		var rep struct {
			Result struct {
				Tools      []json.RawMessage `json:"tools"`
				NextCursor string            `json:"nextCursor"`
			} `json:"result"`
		}
		if err := json.Unmarshal(raw, &rep); err != nil {
			return count, fmt.Errorf("tools/list page %d: %w", pages, err)
		}
		count += len(rep.Result.Tools)
		if cursor = rep.Result.NextCursor; cursor == "" {
			return count, nil
		}
	}
	return count, fmt.Errorf("tools/list of %s did not end after 1000 pages", n.name)
}

// benchSDKLister opens one go-sdk session and lists every page with it.
func benchSDKLister(b *testing.B, n *node, hc *http.Client) func() (int, error) {
	cs := benchConnect(b, n.mcpURL(), n.token, hc, legacyVersion)
	return func() (int, error) {
		count := 0
		for _, err := range cs.Tools(context.Background(), nil) {
			if err != nil {
				return count, err
			}
			count++
		}
		return count, nil
	}
}
