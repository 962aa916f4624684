package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// benchEndpoint is one side of BenchmarkUpstream: an MCP URL, the bearer
// token it needs ("" for none) and the name its tool has there.
type benchEndpoint struct {
	side, url, token, tool string
}

// BenchmarkUpstream compares a tools/call of the everything-server's
// test_simple_text (a Streamable HTTP upstream, started -stateless=false)
// made through a node (evh__test_simple_text) with the same call made
// straight to the upstream, by go-sdk client sessions (one per caller,
// reused) at 1 and 8 concurrent callers. The via-node side also reports
// its ratios to the direct side just measured (p50_ratio, p99_ratio,
// tput_ratio).
func BenchmarkUpstream(b *testing.B) {
	upstream := startEverythingHTTP(b)
	n := benchNode(b, "bench-upstream", false)
	benchAddUpstream(b, n, "evh", upstream)
	direct := benchEndpoint{"direct", upstream, "", "test_simple_text"}
	via := benchEndpoint{"via-node", n.mcpURL(), n.token, "evh__test_simple_text"}
	for _, c := range []int{1, 8} {
		b.Run(fmt.Sprintf("c%d", c), func(b *testing.B) {
			var base benchStats
			b.Run(direct.side, func(b *testing.B) {
				base = benchEndpointCalls(b, direct, c)
				base.report(b, "calls")
			})
			b.Run(via.side, func(b *testing.B) {
				s := benchEndpointCalls(b, via, c)
				s.report(b, "calls")
				benchRatios(b, s, base)
			})
		})
	}
}

// benchAddUpstream adds the Streamable HTTP server at url to n as name
// (prefix name) with POST /api/servers and waits until it is ready.
func benchAddUpstream(b *testing.B, n *node, name, url string) {
	b.Helper()
	body := mustJSON(map[string]any{"name": name, "url": url, "prefix": name})
	if r := n.do(b, http.MethodPost, "/api/servers", body, nil); r.status != http.StatusCreated {
		b.Fatalf("POST %s/api/servers %s: status %d, body %s; want 201", n.url, body, r.status, r.body)
	}
}

// benchEndpointCalls makes b.N calls of ep's tool with c callers, each on
// a go-sdk session of its own, warmed by one call first.
func benchEndpointCalls(b *testing.B, ep benchEndpoint, c int) benchStats {
	hc := benchHTTPClient()
	b.Cleanup(hc.CloseIdleConnections)
	callers := make([]func() error, c)
	for i := range callers {
		callers[i] = benchToolCaller(benchConnect(b, ep.url, ep.token, hc), ep.tool, map[string]any{})
	}
	for _, call := range callers {
		if err := call(); err != nil {
			b.Fatalf("warm-up call of %s at %s: %v", ep.tool, ep.url, err)
		}
	}
	return benchRun(b, callers)
}

// benchConnect opens one go-sdk session to url over hc (with token as a
// bearer when not ""), closed when the benchmark ends.
func benchConnect(b *testing.B, url, token string, hc *http.Client) *mcp.ClientSession {
	b.Helper()
	if token != "" {
		hc = &http.Client{Transport: bearer{token, hc.Transport}}
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "mcpmesh-bench", Version: "0"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: hc, MaxRetries: -1}, nil)
	if err != nil {
		b.Fatalf("go-sdk connect %s: %v", url, err)
	}
	b.Cleanup(func() { cs.Close() })
	return cs
}

// benchToolCaller returns a function that calls tool with args on cs and
// fails on an error or an isError result.
func benchToolCaller(cs *mcp.ClientSession, tool string, args map[string]any) func() error {
	params := &mcp.CallToolParams{Name: tool, Arguments: args}
	return func() error {
		res, err := cs.CallTool(context.Background(), params)
		if err != nil {
			return err
		}
		if res.IsError {
			return fmt.Errorf("%s answered isError: %s", tool, contentText(res.Content))
		}
		return nil
	}
}
