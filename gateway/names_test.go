package gateway

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// registerOn posts an upstream to n, failing unless 201.
func registerOn(t *testing.T, n *fedNode, body string) {
	t.Helper()
	if r := n.do(t, http.MethodPost, "/api/servers", n.admin, body); r.code != http.StatusCreated {
		t.Fatalf("POST /api/servers %s on %s = %d %s", body, n.name, r.code, r.body)
	}
}

// countTool counts the listed tools called name, and returns the sources.
func countTool(l fedListing, name string) (n int, sources []string) {
	for _, tool := range l.Tools {
		if tool.Name == name {
			n++
			sources = append(sources, tool.Source)
		}
	}
	return n, sources
}

// TestUpstreamCannotShadowPeer: on a node with a peer called gb, an
// upstream with prefix gb, or with a bare tool gb__whoami, is refused with
// 409 naming both; nothing is registered and gb__whoami stays the peer's.
func TestUpstreamCannotShadowPeer(t *testing.T) {
	plain, bare := startUpstream(t, "whoami"), startUpstream(t, "gb__whoami") // closed after the nodes
	a, b := startFedNode(t, "gw-a"), startFedNode(t, "gw-b")
	addFedPeer(t, a, b, "gb", cluster.TrustFull)
	post := func(name, body string, mention ...string) badCase {
		return badCase{name: name, method: http.MethodPost, path: "/api/servers", body: body, status: http.StatusConflict, mention: mention}
	}
	runBadCases(t, a, []badCase{
		post("prefix is a peer name", `{"name":"shadow","url":"`+plain+`","prefix":"gb"}`, `"gb"`, `"shadow"`, `peer "gb"`),
		post("bare tool under a peer name", `{"name":"bare","url":"`+bare+`"}`, `"gb__whoami"`, `"bare"`, `peer "gb"`),
	})
	if r := a.do(t, http.MethodGet, "/api/servers", a.admin, ""); strings.TrimSpace(string(r.body)) != "[]" {
		t.Fatalf("after refused registrations: servers %s; want none", r.body)
	}
	if n, src := countTool(a.list(t), "gb__whoami"); n != 1 || src[0] != "gb" {
		t.Fatalf("gb__whoami listed %d times from %v; want once, from the peer", n, src)
	}
	if res := a.call(t, "gb__whoami"); res.IsError || res.text() != "gw-b" {
		t.Fatalf("gb__whoami: %+v; want the peer's answer gw-b", res)
	}
}

// TestPeerNameCannotBeLocalName: a peer name (given, or by default the
// member's) that an upstream's prefix or bare tool already holds on this
// node is refused with 409 naming both; the registry is unchanged.
func TestPeerNameCannotBeLocalName(t *testing.T) {
	ups := []string{startUpstream(t, "greet"), startUpstream(t, "greet"), startUpstream(t, "gc__greet")} // closed after the nodes
	a, b := startFedNode(t, "gw-a"), startFedNode(t, "gw-b")
	registerOn(t, a, `{"name":"up-gb","url":"`+ups[0]+`","prefix":"gb"}`)
	registerOn(t, a, `{"name":"up-member","url":"`+ups[1]+`","prefix":"gw-b"}`)
	registerOn(t, a, `{"name":"up-bare","url":"`+ups[2]+`"}`)
	post := func(name, body string, mention ...string) badCase {
		return badCase{name: name, method: http.MethodPost, path: "/api/federation/peers", body: body, status: http.StatusConflict, mention: mention}
	}
	runBadCases(t, a, []badCase{
		post("name is a prefix", `{"url":"`+b.url+`","name":"gb"}`, `"gb"`, `"up-gb"`, "prefix"),
		post("default name is a prefix", `{"url":"`+b.url+`"}`, `"gw-b"`, `"up-member"`),
		post("name is a bare tool's head", `{"url":"`+b.url+`","name":"gc"}`, `"gc"`, `"gc__greet"`, `"up-bare"`),
	})
	addFedPeer(t, a, b, "b", cluster.TrustFull) // another name is fine
}

// TestGossipedPeerNameShadowed: node c has an upstream with prefix gb; node
// a, which cannot see c's prefixes, adds peer gb. On c the record arrives
// by gossip and the local entries win: gb__whoami is listed once (c's own)
// and calls run there, gb is named in missing_peers and its view says why.
// On a, gb__whoami is the peer's.
func TestGossipedPeerNameShadowed(t *testing.T) {
	up := startUpstream(t, "whoami") // closed after the nodes
	a, b, c := startFedNode(t, "gw-a"), startFedNode(t, "gw-b"), startFedNode(t, "gw-c")
	if _, err := c.node.Join([]string{a.node.GossipAddr()}); err != nil {
		t.Fatal(err)
	}
	registerOn(t, c, `{"name":"local-gb","url":"`+up+`","prefix":"gb"}`)
	addFedPeer(t, a, b, "gb", cluster.TrustFull)
	wait.For(t, 10*time.Second, func() bool { _, ok := c.node.Registry().Get("gb"); return ok },
		"gw-c to hear of peer gb")
	// The peer's status is online as soon as its member is alive; its link
	// (whose entries the shadow rule leaves out) may come later.
	wait.For(t, 10*time.Second, func() bool {
		missing, _ := c.list(t).Meta[federation.MetaMissingPeers].([]any)
		return len(missing) > 0
	}, "gw-c to link peer gb and name it missing")
	l := c.list(t)
	if n, src := countTool(l, "gb__whoami"); n != 1 || src[0] != "gw-c" {
		t.Errorf("gw-c lists gb__whoami %d times from %v; want once, its own", n, src)
	}
	if missing, _ := l.Meta[federation.MetaMissingPeers].([]any); len(missing) != 1 || missing[0] != "gb" {
		t.Errorf("gw-c's missing_peers = %v; want [gb]", l.Meta[federation.MetaMissingPeers])
	}
	if res := c.call(t, "gb__whoami"); res.IsError || res.text() != "whoami:" {
		t.Errorf("gb__whoami on gw-c: %+v; want its own upstream's answer", res)
	}
	if p := c.peer(t, "gb"); !strings.Contains(p.Error, "name conflict") || !strings.Contains(p.Error, `"local-gb"`) {
		t.Errorf("gw-c's view of gb: error %q; want the name conflict named", p.Error)
	}
	if res := a.call(t, "gb__whoami"); res.IsError || res.text() != "gw-b" {
		t.Errorf("gb__whoami on gw-a: %+v; want the peer's answer gw-b", res)
	}
}

// TestConfigServerCannotShadowPeer: an upstream of the --config file whose
// prefix is the name of a peer the node already knows is refused at start,
// listed with an error naming both.
func TestConfigServerCannotShadowPeer(t *testing.T) {
	up := startUpstream(t, "whoami")
	n := startFedNodeWith(t, "gw-c", func(cfg *Config) {
		cfg.Servers = []serverConfig{{Name: "cfg-gb", URL: up, Prefix: "gb"}}
		rec := cluster.PeerRecord{Name: "gb", Member: "gw-x", URL: "http://127.0.0.1:1", TrustLevel: cluster.TrustNone}
		if _, err := cfg.Node.Registry().Add(rec); err != nil {
			t.Fatal(err)
		}
	})
	views := decode[[]api.Server](t, n.do(t, http.MethodGet, "/api/servers", n.admin, "").body)
	if len(views) != 1 || views[0].Status != "failed" || !strings.Contains(views[0].Error, `peer "gb"`) || !strings.Contains(views[0].Error, `"cfg-gb"`) {
		t.Fatalf("servers %+v; want cfg-gb failed, naming peer gb", views)
	}
	if n.list(t).has("gb__whoami") {
		t.Fatal("the refused config server's tool is listed")
	}
}

// TestConcurrentPeerRecordsOneListed: member gw-c is added as c-one on
// gw-a and as c-two on gw-b before the two have met (so each accepted its
// write). Once they join, both list only c-two, the later write: in the
// peers list, in the tools, and as gw-c's peer among the members.
func TestConcurrentPeerRecordsOneListed(t *testing.T) {
	a, b, c := startFedNode(t, "gw-a"), startFedNode(t, "gw-b"), startFedNode(t, "gw-c")
	for _, w := range []struct {
		n    *fedNode
		name string
	}{{a, "c-one"}, {b, "c-two"}} { // c-two is later, or as late and gw-b > gw-a
		rec := cluster.PeerRecord{Name: w.name, Member: "gw-c", URL: c.url, TrustLevel: cluster.TrustFull}
		if _, err := w.n.node.Registry().Add(rec); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []*fedNode{b, c} {
		if _, err := a.node.Join([]string{n.node.GossipAddr()}); err != nil {
			t.Fatal(err)
		}
	}
	nodes := []*cluster.Node{a.node, b.node, c.node}
	clustertest.WaitAllAlive(t, nodes, 10*time.Second)
	clustertest.WaitConverged(t, nodes, 10*time.Second)
	for _, n := range []*fedNode{a, b} {
		peers := decode[[]api.Peer](t, n.do(t, http.MethodGet, "/api/federation/peers", n.admin, "").body)
		if len(peers) != 1 || peers[0].Name != "c-two" {
			t.Errorf("%s lists peers %+v; want only c-two", n.name, peers)
		}
		wait.For(t, 10*time.Second, func() bool { l := n.list(t); return l.has("c-two__whoami") && !l.has("c-one__whoami") },
			"%s to list c-two__whoami and not c-one__whoami", n.name)
		for _, m := range decode[[]api.Member](t, n.do(t, http.MethodGet, "/api/federation/members", n.admin, "").body) {
			if m.Name == "gw-c" && (m.Peer == nil || *m.Peer != "c-two") {
				t.Errorf("%s: member gw-c's peer is %v; want c-two", n.name, m.Peer)
			}
		}
	}
}
