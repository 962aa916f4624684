package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// A hostile peer cannot hurt a node: B serves (through an upstream) a
// catalog of 5,000 tools with overlong, spaced, non-ASCII and clashing
// names, one tool that hangs, and is then killed with SIGKILL.

const hostileTools = 5000

var federatedNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// hostileName is the i-th tool's name: plain, 200 characters, with spaces,
// non-ASCII, shaped like a federated name, or one of the demo tools'.
func hostileName(i int) string {
	if i < len(demoTools) {
		return demoTools[i]
	}
	switch i % 5 {
	case 0:
		return fmt.Sprintf("%s%05d", strings.Repeat("long", 50)[:195], i)
	case 1:
		return fmt.Sprintf("tool with spaces %d", i)
	case 2:
		return fmt.Sprintf("tööl-%d", i)
	case 3:
		return fmt.Sprintf("b__x__%d", i)
	}
	return fmt.Sprintf("tool-%d", i)
}

// startHostileUpstream serves the hostile catalog over Streamable HTTP on
// 127.0.0.1; hung receives once for each "hang" call that was cancelled.
func startHostileUpstream(t *testing.T) (url string, hung chan struct{}) {
	hung = make(chan struct{}, 4)
	srv := mcp.NewServer(&mcp.Implementation{Name: "hostile", Version: "0"},
		&mcp.ServerOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	schema := map[string]any{"type": "object"}
	for i := range hostileTools {
		text := fmt.Sprintf("hostile-%d", i)
		srv.AddTool(&mcp.Tool{Name: hostileName(i), Description: text, InputSchema: schema},
			func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}, nil
			})
	}
	srv.AddTool(&mcp.Tool{Name: "hang", InputSchema: schema},
		func(ctx context.Context, _ *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			<-ctx.Done()
			hung <- struct{}{}
			return nil, ctx.Err()
		})
	hs := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	t.Cleanup(hs.Close)
	return hs.URL, hung
}

func TestRingHostilePeer(t *testing.T) {
	upstream, hung := startHostileUpstream(t)
	a, b := startPair(t, "--peer-timeout", "1s")
	entry := map[string]any{"name": "hostile", "url": upstream}
	if r := b.do(t, http.MethodPost, "/api/servers", mustJSON(entry), nil); r.status != http.StatusConflict {
		t.Errorf("POST /api/servers on B without a prefix: status %d, body %s; want 409 (whoami clashes)", r.status, r.body)
	}
	entry["prefix"] = "h"
	if r := b.do(t, http.MethodPost, "/api/servers", mustJSON(entry), nil); r.status != http.StatusCreated {
		t.Fatalf("POST /api/servers on B: status %d, body %s; want 201", r.status, r.body)
	}
	t.Run("names and loops", func(t *testing.T) { checkRingBadUpstreams(t, a, b, upstream) })
	t.Run("huge catalog", func(t *testing.T) { checkHugeCatalog(t, a) })
	t.Run("hanging tool", func(t *testing.T) { checkHangingTool(t, a, hung) })
	t.Run("killed", func(t *testing.T) { checkKilledPeer(t, a, b) })
}

// checkRingBadUpstreams: names never shadow each other (an upstream prefix
// that is a peer's name, a peer name that is an upstream's prefix: 409) and
// an upstream cannot be a mesh node (this node or a ring member: 400); each
// names what was wrong and changes nothing.
func checkRingBadUpstreams(t *testing.T, a, b *node, upstream string) {
	cases := []struct {
		name    string
		n       *node
		path    string
		body    map[string]any
		status  int
		mention []string
	}{
		{"prefix is a peer name", a, "/api/servers", map[string]any{"name": "shadow", "url": upstream, "prefix": "b"}, http.StatusConflict, []string{`"b"`, `"shadow"`, "peer"}},
		{"peer name is a prefix", b, "/api/federation/peers", map[string]any{"url": a.url, "name": "h"}, http.StatusConflict, []string{`"h"`, `"hostile"`}},
		{"upstream is this node", a, "/api/servers", map[string]any{"name": "loop", "url": a.url + "/mcp"}, http.StatusBadRequest, []string{"points at this node"}},
		{"upstream is a ring member", a, "/api/servers", map[string]any{"name": "loop", "url": b.url + "/mcp"}, http.StatusBadRequest, []string{"points at ring member rb"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			servers, peers := serverNames(t, tc.n), len(ringPeers(t, tc.n))
			r := tc.n.do(t, http.MethodPost, tc.path, mustJSON(tc.body), nil)
			var e api.Error
			if r.status != tc.status || json.Unmarshal(r.body, &e) != nil {
				t.Fatalf("status %d, body %s; want %d", r.status, r.body, tc.status)
			}
			for _, m := range tc.mention {
				if !strings.Contains(e.Error, m) {
					t.Errorf("error %q does not name %s", e.Error, m)
				}
			}
			if !slices.Equal(serverNames(t, tc.n), servers) || len(ringPeers(t, tc.n)) != peers {
				t.Errorf("a refused request changed the servers or peers")
			}
		})
	}
}

// checkHugeCatalog: A lists every tool of B once, under a valid name, and
// routes calls of renamed tools to the right one.
func checkHugeCatalog(t *testing.T, a *node) {
	want := 2*len(demoTools) + hostileTools + 1
	var l ringListing
	wait.For(t, 2*ringTimeout, func() bool {
		l = ringList(t, a)
		return len(l.tools) >= want
	}, "waiting for %s", fmt.Sprintf("A to list %d tools", want))
	seen := map[string]bool{}
	byDesc := map[string]string{}
	for _, tool := range l.tools {
		if !federatedNameRE.MatchString(tool.Name) || seen[tool.Name] {
			t.Errorf("listed name %q: invalid or listed twice", tool.Name)
		}
		seen[tool.Name] = true
		byDesc[tool.Description] = tool.Name
	}
	if len(l.tools) != want {
		t.Errorf("A lists %d tools, want %d", len(l.tools), want)
	}
	for _, i := range []int{0, 5, 6, 7, 8, 9, hostileTools - 1} {
		name, ok := byDesc[fmt.Sprintf("hostile-%d", i)]
		if !ok || !strings.HasPrefix(name, "b__") {
			t.Errorf("tool %q of B is listed as %q on A", hostileName(i), name)
			continue
		}
		if res := ringCall(t, a, name, nil); res.IsError || res.text() != fmt.Sprintf("hostile-%d", i) {
			t.Errorf("%s (B's %q) through A: isError %v, text %q", name, hostileName(i), res.IsError, res.text())
		}
	}
	if res := ringCall(t, a, "b__whoami", nil); res.text() != "rb" {
		t.Errorf("b__whoami through A answered %q, want rb", res.text())
	}
}

// checkHangingTool: a call that hangs on B fails after A's --peer-timeout,
// naming the peer and the timeout, and the hanging call is cancelled.
func checkHangingTool(t *testing.T, a *node, hung chan struct{}) {
	start := time.Now()
	res := ringCall(t, a, "b__h__hang", nil)
	took := time.Since(start)
	if !res.IsError || res.Meta["mcpmesh/error"] != "peer_timeout" {
		t.Fatalf("isError %v, _meta %v, text %q; want a peer_timeout error", res.IsError, res.Meta, res.text())
	}
	if !strings.Contains(res.text(), `"b"`) || !strings.Contains(res.text(), "1s") {
		t.Errorf("text %q; want it to name peer \"b\" and the timeout 1s", res.text())
	}
	if took < time.Second || took > 10*time.Second {
		t.Errorf("the call took %v; want about the 1 s peer timeout", took)
	}
	select {
	case <-hung:
	case <-time.After(10 * time.Second):
		t.Error("the hanging call was never cancelled on the upstream")
	}
}

// checkKilledPeer: after kill -9 of B, A answers tools/list fast (every
// time), soon without B's tools and naming B missing; calls to B fail at
// once as peer_offline; a client that was paging through the longer list
// before gets the rest of the new one, not an error.
func checkKilledPeer(t *testing.T, a, b *node) {
	var first ringPage
	a.rpc(t, "tools/list", map[string]any{}).decode(t, &first)
	if first.NextCursor == "" {
		t.Fatalf("A's first page of %d tools has no nextCursor", len(first.Tools))
	}
	if err := b.proc.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill -9 B: %v", err)
	}
	start := time.Now()
	wait.For(t, 15*time.Second, func() bool {
		t0 := time.Now()
		var page ringPage
		a.rpc(t, "tools/list", map[string]any{}).decode(t, &page)
		if d := time.Since(t0); d > 2*time.Second {
			t.Errorf("tools/list on A took %v after B was killed", d)
		}
		missing, _ := page.Meta["mcpmesh/missing_peers"].([]any)
		return slices.Equal(missing, []any{"b"})
	}, "waiting for A to name b as missing")
	t.Logf("A named b missing %v after the kill", time.Since(start))
	if names := ringList(t, a).names(); !slices.Equal(names, sortedDemo()) {
		t.Errorf("A lists %v with b missing; want its own demo tools only", names)
	}
	t.Run("call", func(t *testing.T) { checkOfflineCall(t, a) })
	t.Run("stale cursor", func(t *testing.T) {
		rep := a.rpc(t, "tools/list", map[string]any{"cursor": first.NextCursor})
		if rep.Error != nil {
			t.Errorf("the next page of a list that shrank: error %d %q; want a page (empty: the list ended)", rep.Error.Code, rep.Error.Message)
		}
	})
}

func sortedDemo() []string {
	out := slices.Clone(demoTools)
	slices.Sort(out)
	return out
}

func checkOfflineCall(t *testing.T, a *node) {
	t0 := time.Now()
	res := ringCall(t, a, "b__whoami", nil)
	if !res.IsError || res.Meta["mcpmesh/error"] != "peer_offline" || !strings.Contains(res.text(), `"b"`) {
		t.Errorf("b__whoami after the kill: isError %v, _meta %v, text %q; want peer_offline naming b", res.IsError, res.Meta, res.text())
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("b__whoami after the kill took %v; want at once", d)
	}
}
