package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/internal/testlog"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// startBigUpstream serves a go-sdk MCP server over Streamable HTTP on
// 127.0.0.1 with n tools of descBytes descriptions, in pages of 4, and a
// tool "huge" answering with resultBytes of text.
func startBigUpstream(t *testing.T, n, descBytes, resultBytes int) string {
	t.Helper()
	s := sdk.NewServer(&sdk.Implementation{Name: "big", Version: "1"}, &sdk.ServerOptions{PageSize: 4})
	obj := map[string]any{"type": "object"}
	for i := range n {
		s.AddTool(&sdk.Tool{Name: fmt.Sprintf("t%03d", i), Description: strings.Repeat("d", descBytes), InputSchema: obj},
			func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
				return &sdk.CallToolResult{}, nil
			})
	}
	s.AddTool(&sdk.Tool{Name: "huge", InputSchema: obj}, func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: strings.Repeat("r", resultBytes)}}}, nil
	})
	srv := httptest.NewServer(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, nil))
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	return srv.URL
}

// TestUpstreamBytes: a node's own upstream is held to the same bounds: its
// listing is cut to --max-catalog-bytes (a log line naming it, a counter),
// its oversized answer is result_too_large naming it (counted), and the
// node still serves.
func TestUpstreamBytes(t *testing.T) {
	const catalog, result = 256 << 10, 64 << 10
	logs := &testlog.Buffer{}
	a := startFedNodeWith(t, "gw-a", func(c *Config) {
		c.Bounds = Bounds{MaxCatalogBytes: catalog, MaxResultBytes: result}
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
		c.Servers = []mcp.ServerConfig{{Name: "big", URL: startBigUpstream(t, 20, 32<<10, 1<<20) + "/mcp"}}
	})
	l := a.list(t)
	if n := countPrefix(l, "t0"); n == 0 || n >= 20 || !l.has("huge") {
		t.Fatalf("want a prefix of big's 20 tools within %d bytes, got %d", catalog, n)
	}
	if logs.Count("upstream listing cut") != 1 || logs.Count("upstream=big") == 0 {
		t.Errorf("want one log line for the cut naming big")
	}
	if got := a.metric(t, `mcpmesh_catalog_truncated_total{reason="bytes",source="big"}`); got != 1 {
		t.Errorf("catalog_truncated_total for big = %v, want 1", got)
	}
	res := a.call(t, "huge")
	if !res.IsError || res.Meta[federation.MetaError] != mcp.ErrKindResultTooLarge || !strings.Contains(res.text(), `"big"`) ||
		!strings.Contains(res.text(), strconv.Itoa(result)) || !strings.Contains(res.text(), "--max-result-bytes") {
		t.Fatalf("want result_too_large naming big, the bound and the flag, got %.300s", res.text())
	}
	if got := a.metric(t, `mcpmesh_results_too_large_total{source="big"}`); got != 1 {
		t.Errorf("results_too_large_total for big = %v, want 1", got)
	}
	if res := a.call(t, "whoami"); res.text() != "gw-a" {
		t.Errorf("whoami after: %+v", res)
	}
}

// TestFederationPeerCountCap: a peer listing more than federation.MaxPeerEntries
// tools is cut to the cap with a log line and a counter (it used to be
// silent).
func TestFederationPeerCountCap(t *testing.T) {
	logs := &testlog.Buffer{}
	a := startFedNodeWith(t, "gw-a", func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	b := startFedNode(t, "gw-b", rawSource{mcp.Definitions{Tools: rawTools(federation.MaxPeerEntries+5, func(i int) string { return "t" + strconv.Itoa(i) })}})
	addFedPeer(t, a, b, "b", "full")
	series := `mcpmesh_catalog_truncated_total{reason="count",source="b"}`
	wait.For(t, 20*time.Second, func() bool { return a.metric(t, series) > 0 }, "the cut to be counted")
	if p := a.peer(t, "b"); p.Tools != federation.MaxPeerEntries {
		t.Errorf("peer b lists %d tools, want the cap %d", p.Tools, federation.MaxPeerEntries)
	}
	if logs.Count("peer catalog cut") != 1 || logs.Count("entries_cut=") != 1 {
		t.Errorf("want one log line for the cut, got:\n%s", logs.Lines("cut"))
	}
	if got := a.metric(t, series); got != 1 {
		t.Errorf("%s = %v, want 1", series, got)
	}
}
