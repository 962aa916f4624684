package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/internal/testlog"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// bigSource is a source whose definitions can change, and whose tool
// "huge" answers with resultBytes of text.
type bigSource struct {
	defs        atomic.Pointer[mcp.Definitions]
	resultBytes int
}

func newBigSource(resultBytes int, tools []json.RawMessage) *bigSource {
	s := &bigSource{resultBytes: resultBytes}
	s.set(tools)
	return s
}

func (s *bigSource) set(tools []json.RawMessage) {
	s.defs.Store(&mcp.Definitions{Tools: tools})
}

func (s *bigSource) Snapshot() mcp.Definitions { return *s.defs.Load() }

func (s *bigSource) Call(_ context.Context, req *mcp.Request) (json.RawMessage, error) {
	if mcp.StringField(req.Params, "name") == "huge" {
		return mcp.ToolText(strings.Repeat("r", s.resultBytes)), nil
	}
	return mcp.ToolText("small"), nil
}

// describedTools are n tools (prefix + number) with descriptions of
// descBytes each, and the tool "huge".
func describedTools(prefix string, n, descBytes int) []json.RawMessage {
	desc := strings.Repeat("d", descBytes)
	out := rawTools(1, func(int) string { return "huge" })
	for i := range n {
		js, _ := json.Marshal(map[string]any{"name": fmt.Sprintf("%s%04d", prefix, i), "description": desc,
			"inputSchema": map[string]any{"type": "object"}})
		out = append(out, js)
	}
	return out
}

// boundedNode is gw-a with small byte bounds and its log kept.
func boundedNode(t *testing.T, catalog, result int64) (*fedNode, *testlog.Buffer) {
	logs := &testlog.Buffer{}
	a := startFedNodeWith(t, "gw-a", func(c *Config) {
		c.Bounds = Bounds{MaxCatalogBytes: catalog, MaxResultBytes: result}
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	return a, logs
}

// metric is the value of one series line of n's /metrics (0 if absent).
func (n *fedNode) metric(t *testing.T, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(string(n.do(t, http.MethodGet, "/metrics", "", "").body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var f float64
			_, _ = fmt.Sscan(v, &f)
			return f
		}
	}
	return 0
}

// TestFederationResultTooLarge: a peer's answer over --max-result-bytes is
// reported as result_too_large naming the peer, the bound and the flag (not
// peer_offline), on both ways a call is forwarded, is counted, and the node
// and the peer's link go on serving.
func TestFederationResultTooLarge(t *testing.T) {
	const bound = 256 << 10
	b := startFedNode(t, "gw-b", newBigSource(2<<20, describedTools("t", 3, 10)))
	a, _ := boundedNode(t, 0, bound)
	addFedPeer(t, a, b, "b", "full")
	cases := []struct {
		name   string
		client mcp.Client
	}{
		{"plain POST", nil},
		{"through the link's session", fakePeer{sid: "s1", level: "debug", caps: `{}`}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw, err := a.gw.fed.Call(context.Background(), &mcp.Request{Method: "tools/call",
				Params: json.RawMessage(`{"name":"b__huge","arguments":{}}`), Client: c.client})
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			res := decode[fedResult](t, raw)
			if !res.IsError || res.Meta[federation.MetaError] != federation.ErrResultTooLarge || res.Meta[federation.MetaPeer] != "b" ||
				!strings.Contains(res.text(), `"b"`) || !strings.Contains(res.text(), "262144") ||
				!strings.Contains(res.text(), "--max-result-bytes") {
				t.Fatalf("want result_too_large naming b, the bound and the flag; got %.300s", raw)
			}
			if got := a.metric(t, `mcpmesh_results_too_large_total{source="b"}`); got != float64(i+1) {
				t.Errorf("mcpmesh_results_too_large_total{source=\"b\"} = %v, want %d", got, i+1)
			}
			if got := a.metric(t, `mcpmesh_forwarded_calls_total{method="tools/call",outcome="result_too_large",peer="b"}`); got != float64(i+1) {
				t.Errorf("forwarded calls with outcome result_too_large = %v, want %d", got, i+1)
			}
			if res := a.call(t, "b__whoami"); res.IsError || res.text() != "gw-b" {
				t.Errorf("b__whoami after: %+v; want gw-b", res)
			}
			if p := a.peer(t, "b"); p.Status != api.PeerOnline {
				t.Errorf("peer b is %q after an oversized answer, want online", p.Status)
			}
		})
	}
}

// TestFederationCatalogBytes: a peer's catalog over --max-catalog-bytes
// is cut to it (log line and counter); a peer whose catalog cannot be
// pulled any more (a page over the bound) is stale, its cached catalog
// still served and the peer named in missing_peers, and online again once
// a pull succeeds.
func TestFederationCatalogBytes(t *testing.T) {
	const bound = 1 << 20
	src := newBigSource(10, describedTools("t", 300, 8<<10)) // 2.5 MB in pages of 100 tools
	b := startFedNode(t, "gw-b", src)
	a, logs := boundedNode(t, bound, 0)
	addFedPeer(t, a, b, "b", "full")

	l := a.list(t)
	kept := countPrefix(l, "b__t")
	if kept == 0 || kept >= 300 || !l.has("b__t0000") || l.has("b__t0299") || l.Meta[federation.MetaMissingPeers] != nil {
		t.Fatalf("want a prefix of b's tools within %d bytes, got %d of 300 (_meta %v)", bound, kept, l.Meta)
	}
	if n := logs.Count("upstream listing cut"); n != 1 || logs.Count("peer=b") == 0 {
		t.Errorf("want one log line for the cut naming b, got %d", n)
	}
	if got := a.metric(t, `mcpmesh_catalog_truncated_total{reason="bytes",source="b"}`); got != 1 {
		t.Errorf(`mcpmesh_catalog_truncated_total{reason="bytes",source="b"} = %v, want 1`, got)
	}

	src.set(describedTools("u", 100, 64<<10)) // one page of 6.5 MB
	b.cat.Changed()
	wait.For(t, 20*time.Second, func() bool { return a.peer(t, "b").Status == api.PeerStale },
		"b to be stale once its catalog cannot be pulled")
	if p := a.peer(t, "b"); !strings.Contains(p.Error, "--max-catalog-bytes") {
		t.Errorf("peer b's error %q, want the bound's flag named", p.Error)
	}
	l = a.list(t)
	missing, _ := l.Meta[federation.MetaMissingPeers].([]any)
	if countPrefix(l, "b__t") != kept || len(missing) != 1 || missing[0] != "b" {
		t.Errorf("a stale peer: want its cached %d tools listed and b missing, got %d, _meta %v", kept, countPrefix(l, "b__t"), l.Meta)
	}
	if res := a.call(t, "b__whoami"); res.IsError || res.text() != "gw-b" {
		t.Errorf("b__whoami on a stale peer: %+v; want gw-b", res)
	}

	src.set(describedTools("v", 5, 10))
	b.cat.Changed()
	wait.For(t, 20*time.Second, func() bool { return a.peer(t, "b").Status == api.PeerOnline && a.list(t).has("b__v0004") },
		"b to be online again, with its new tools, after a successful pull")
	if l := a.list(t); l.Meta[federation.MetaMissingPeers] != nil {
		t.Errorf("after the pull: want nothing missing, got _meta %v", l.Meta)
	}
}

func countPrefix(l fedListing, prefix string) int {
	n := 0
	for _, tool := range l.Tools {
		if strings.HasPrefix(tool.Name, prefix) {
			n++
		}
	}
	return n
}

// fakePeer is a caller with a session as a Backend sees it: what the
// engine reads to choose the link's session over a plain POST.
type fakePeer struct {
	mcp.Client
	sid, level, caps string
}

func (p fakePeer) SessionID() string             { return p.sid }
func (p fakePeer) LogLevel() string              { return p.level }
func (p fakePeer) Capabilities() json.RawMessage { return json.RawMessage(p.caps) }
func (p fakePeer) Notify(context.Context, string, any) error {
	return nil
}
