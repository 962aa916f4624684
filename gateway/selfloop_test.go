package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
	"github.com/mcpmesh/mcpmesh/federation"
)

// TestUpstreamPointsAtMesh: an upstream URL that is this node's own MCP
// endpoint (any path, any spelling of loopback) or a ring member's is
// refused with 400 naming the reason; nothing is registered.
func TestUpstreamPointsAtMesh(t *testing.T) {
	a, b := startFedNode(t, "gw-a"), startFedNode(t, "gw-b")
	if _, err := a.node.Join([]string{b.node.GossipAddr()}); err != nil {
		t.Fatal(err)
	}
	clustertest.WaitAllAlive(t, []*cluster.Node{a.node, b.node}, 10*time.Second)
	_, aPort, _ := net.SplitHostPort(a.addr)
	_, bPort, _ := net.SplitHostPort(b.addr)
	post := func(name, url string, mention ...string) badCase {
		body := `{"name":"loop","url":"` + url + `"}`
		return badCase{name: name, method: http.MethodPost, path: "/api/servers", body: body, status: http.StatusBadRequest, mention: mention}
	}
	runBadCases(t, a, []badCase{
		post("own mcp endpoint", a.url+"/mcp", "points at this node", "gw-a", `"loop"`),
		post("own url, other path", a.url+"/api/tools", "points at this node"),
		post("own url by localhost", "http://localhost:"+aPort+"/mcp", "points at this node"),
		post("own url by 0.0.0.0", "http://0.0.0.0:"+aPort+"/mcp", "points at this node"),
		post("own url by ::1", "http://[::1]:"+aPort+"/mcp", "points at this node"),
		post("ring member", b.url+"/mcp", "points at ring member gw-b", b.url),
		post("ring member by localhost", "http://localhost:"+bPort+"/mcp/http", "points at ring member gw-b"),
	})
	if r := a.do(t, http.MethodGet, "/api/servers", a.admin, ""); strings.TrimSpace(string(r.body)) != "[]" {
		t.Fatalf("after refused registrations: servers %s; want none", r.body)
	}
}

// TestConfigServerPointsAtNode: a --config upstream pointed at the node
// itself is listed as failed with the reason, and never started.
func TestConfigServerPointsAtNode(t *testing.T) {
	n := startFedNodeWith(t, "gw-a", func(cfg *Config) {
		cfg.Servers = []serverConfig{{Name: "loop", URL: cfg.URL + "/mcp"}}
	})
	views := decode[[]api.Server](t, n.do(t, http.MethodGet, "/api/servers", n.admin, "").body)
	if len(views) != 1 || views[0].Status != "failed" || !strings.Contains(views[0].Error, "points at this node") {
		t.Fatalf("servers %+v; want loop failed, saying it points at this node", views)
	}
}

// TestIsSelf: how an upstream's address is matched against this node's
// listener and advertised URL.
func TestIsSelf(t *testing.T) {
	tests := []struct {
		listen, adv, upstream string
		self                  bool
	}{
		{"127.0.0.1:8000", "http://127.0.0.1:8000", "http://localhost:8000/mcp", true},
		{"127.0.0.1:8000", "http://127.0.0.1:8000", "http://127.0.0.2:8000/mcp", true}, // all of 127/8 is loopback
		{"127.0.0.1:8000", "http://127.0.0.1:8000", "http://127.0.0.1:8001/mcp", false},
		{"0.0.0.0:8000", "http://10.9.8.7:8000", "http://127.0.0.1:8000", true},
		{"[::]:8000", "http://10.9.8.7:8000", "http://[::1]:8000/x", true},
		{"0.0.0.0:8000", "http://10.9.8.7:8000", "http://10.9.8.7:8000/mcp", true},
		{"0.0.0.0:9999", "http://localhost:8000", "http://127.0.0.1:8000", true}, // behind a proxy: the advertised URL
		{"10.9.8.7:8000", "http://10.9.8.7:8000", "http://127.0.0.1:8000/mcp", false},
		{"127.0.0.1:80", "http://127.0.0.1", "http://localhost/mcp", true}, // default ports
		{"127.0.0.1:8000", "http://127.0.0.1:8000", "https://127.0.0.1/mcp", false},
	}
	for _, tt := range tests {
		t.Run(tt.listen+" "+tt.upstream, func(t *testing.T) {
			g := &Gateway{name: "n", url: tt.adv, listen: tt.listen}
			err := g.checkNotMesh(context.Background(), serverConfig{Name: "up", URL: tt.upstream})
			if got := errors.Is(err, federation.ErrMeshURL); got != tt.self {
				t.Fatalf("checkNotMesh = %v; want refused %v", err, tt.self)
			}
		})
	}
}
