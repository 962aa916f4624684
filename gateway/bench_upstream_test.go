package gateway

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// BenchmarkUpstreamInProcess calls the everything-server's
// test_simple_text (a process of its own, Streamable HTTP, stateful)
// straight and through a node served in this process (one of a ring, as
// mcpmesh serve runs it: its upstreams reached over the federation
// engine's inline connections), by go-sdk client sessions (one per
// caller), for profiling the node's share of a call (-cpuprofile,
// -benchmem; run -bench 'UpstreamInProcess/via' to leave the direct side
// out). BenchmarkUpstream in cmd/mcpmesh measures the same calls against a
// node process.
func BenchmarkUpstreamInProcess(b *testing.B) {
	up := startEverythingHTTP(b)
	n := startFedNodeWith(b, "a", func(c *Config) {
		c.Servers = []mcp.ServerConfig{{Name: "evh", URL: up, Prefix: "evh"}}
	})
	for _, c := range []int{1, 8} {
		b.Run(fmt.Sprintf("direct/c%d", c), func(b *testing.B) {
			benchSessionCalls(b, up, "", "test_simple_text", c)
		})
		b.Run(fmt.Sprintf("via/c%d", c), func(b *testing.B) {
			benchSessionCalls(b, n.url+"/mcp", n.admin, "evh__test_simple_text", c)
		})
	}
}

// benchSessionCalls makes b.N calls of tool at url on c go-sdk sessions
// called concurrently, one caller each.
func benchSessionCalls(b *testing.B, url, token, tool string, c int) {
	sessions := make(chan *sdk.ClientSession, c)
	for range c {
		cs := benchSession(b, url, token)
		wait.For(b, 20*time.Second, func() bool {
			_, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: tool})
			return err == nil
		}, "a call of %s at %s", tool, url)
		sessions <- cs
	}
	b.ReportAllocs()
	b.SetParallelism(max(1, c/2)) // 2 cores on the machine this was tuned on
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		cs := <-sessions
		defer func() { sessions <- cs }()
		params := &sdk.CallToolParams{Name: tool, Arguments: map[string]any{}}
		for pb.Next() {
			if res, err := cs.CallTool(context.Background(), params); err != nil || res.IsError {
				b.Errorf("call %s: %v %+v", tool, err, res)
				return
			}
		}
	})
}

// benchSession opens one go-sdk session to url, with token as a bearer
// when not "", closed at the end of the benchmark.
func benchSession(b *testing.B, url, token string) *sdk.ClientSession {
	b.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	var rt http.RoundTripper = tr
	if token != "" {
		rt = bearerRT{token, tr}
	}
	client := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "0"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := client.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: url, HTTPClient: &http.Client{Transport: rt}, MaxRetries: -1}, nil)
	if err != nil {
		b.Fatalf("connect %s: %v", url, err)
	}
	b.Cleanup(func() { cs.Close(); tr.CloseIdleConnections() })
	return cs
}

type bearerRT struct {
	token string
	next  http.RoundTripper
}

func (t bearerRT) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	return t.next.RoundTrip(r)
}

// startEverythingHTTP builds the go-sdk everything-server (the module's
// tool) and runs it stateful over Streamable HTTP on a free loopback port
// until the benchmark ends; it returns its MCP URL.
func startEverythingHTTP(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "everything")
	build := exec.Command("go", "build", "-o", bin, "github.com/modelcontextprotocol/go-sdk/conformance/everything-server")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build everything-server: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "-http", addr, "-stateless=false")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	wait.For(b, 20*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, "everything-server on %s", addr)
	return "http://" + addr + "/mcp"
}
