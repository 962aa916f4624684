package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// Rings of real processes joined with --join: the replicated peer
// registry, federated listing and routed calls. Helpers shared by the
// e2e_ring_*_test.go files live here.

// ringTimeout bounds every wait on the ring (gossip, registry, catalogs).
const ringTimeout = 20 * time.Second

// startMeshNode starts a demo node whose gossip binds a free loopback port
// (startNode picks a free HTTP port, so the default PORT+1000 could clash).
func startMeshNode(t testing.TB, name string, extra ...string) *node {
	t.Helper()
	return startNode(t, nodeOptions{name: name, demo: true, extra: append([]string{"--gossip", "127.0.0.1:0"}, extra...)})
}

// ringGet GETs path and decodes a 200 answer into v.
func ringGet(t testing.TB, n *node, path string, v any) {
	t.Helper()
	r := n.do(t, http.MethodGet, path, nil, nil)
	if r.status != http.StatusOK || json.Unmarshal(r.body, v) != nil {
		t.Fatalf("GET %s on %s: status %d, body %s; want 200 with JSON", path, n.name, r.status, r.body)
	}
}

func ringInfo(t testing.TB, n *node) api.Info {
	t.Helper()
	var info api.Info
	ringGet(t, n, "/api/federation/info", &info)
	return info
}

func ringPeers(t testing.TB, n *node) []api.Peer {
	t.Helper()
	var peers []api.Peer
	ringGet(t, n, "/api/federation/peers", &peers)
	return peers
}

// ringAlive names the members n sees alive, sorted.
func ringAlive(t testing.TB, n *node) []string {
	t.Helper()
	var members []api.Member
	ringGet(t, n, "/api/federation/members", &members)
	var alive []string
	for _, m := range members {
		if m.Status == "alive" {
			alive = append(alive, m.Name)
		}
	}
	sort.Strings(alive)
	return alive
}

// ringAddPeer POSTs a peer to n and fails unless it answers 201.
func ringAddPeer(t testing.TB, n *node, url, name, trust string) api.Peer {
	t.Helper()
	body := mustJSON(api.AddPeerRequest{URL: url, Name: name, TrustLevel: trust})
	r := n.do(t, http.MethodPost, "/api/federation/peers", body, nil)
	var p api.Peer
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &p) != nil || p.Name != name {
		t.Fatalf("POST peer %s (%s) on %s: status %d, body %s; want 201 with the record", name, url, n.name, r.status, r.body)
	}
	return p
}

// ringTool is a listed tool with its description.
type ringTool struct {
	listedTool
	Description string `json:"description"`
}

// ringPage is one page of tools/list.
type ringPage struct {
	Tools      []ringTool     `json:"tools"`
	NextCursor string         `json:"nextCursor"`
	Meta       map[string]any `json:"_meta"`
}

// ringListing is a whole federated listing: every page's entries, and the
// _meta of the last page.
type ringListing struct {
	tools []ringTool
	meta  map[string]any
}

func (l ringListing) names() []string {
	var names []string
	for _, tool := range l.tools {
		names = append(names, tool.Name)
	}
	sort.Strings(names)
	return names
}

func (l ringListing) has(name string) bool { return slices.Contains(l.names(), name) }

// ringList lists every tool of n (include_federated default).
func ringList(t testing.TB, n *node) ringListing {
	t.Helper()
	var out ringListing
	cursor := ""
	for range 200 {
		params := map[string]any{}
		if cursor != "" {
			params["cursor"] = cursor
		}
		var page ringPage
		n.rpc(t, "tools/list", params).decode(t, &page)
		out.tools, out.meta = append(out.tools, page.Tools...), page.Meta
		if cursor = page.NextCursor; cursor == "" {
			return out
		}
	}
	t.Fatalf("tools/list on %s still had a nextCursor after 200 pages", n.name)
	return out
}

// ringCall calls a tool on n with a plain POST and decodes the result.
func ringCall(t testing.TB, n *node, name string, args any) callResult {
	t.Helper()
	var res callResult
	n.rpc(t, "tools/call", map[string]any{"name": name, "arguments": args}).decode(t, &res)
	return res
}

// ringDemo is the demo tools as a node lists them for peer.
func ringDemo(peer string) []string {
	var out []string
	for _, tool := range demoTools {
		out = append(out, peer+"__"+tool)
	}
	return out
}

// TestRingFive runs five real nodes joined with --join (gossip addresses
// and an HTTP URL): peers written on one node hold on every node; another
// node lists and calls them by trust level.
func TestRingFive(t *testing.T) {
	nodes := startFive(t)
	for _, n := range nodes {
		wait.For(t, ringTimeout, func() bool {
			return len(ringAlive(t, n)) == 5
		}, "waiting for %s to see five members alive", n.name)
	}
	for i, trust := range []string{"full", "full", "discover", "none"} {
		n := nodes[i+1]
		ringAddPeer(t, nodes[0], n.url, "peer-"+n.name[1:], trust)
	}
	waitRegistryConverged(t, nodes, 4)
	t.Run("replicated", func(t *testing.T) { checkReplicated(t, nodes[3]) })
	t.Run("listing by trust", func(t *testing.T) { checkFiveListing(t, nodes[2]) })
	t.Run("calls by trust", func(t *testing.T) { checkFiveCalls(t, nodes[2]) })
	t.Run("one hop", func(t *testing.T) { checkOneHop(t, nodes[2]) })
	t.Run("patch trust", func(t *testing.T) { checkPatchTrust(t, nodes) })
	t.Run("delete", func(t *testing.T) { checkDelete(t, nodes) })
}

// startFive starts n1..n5: n2, n3 and n5 join n1's gossip address, n4
// joins n1's HTTP URL.
func startFive(t *testing.T) []*node {
	n1 := startMeshNode(t, "n1")
	gossip := ringInfo(t, n1).GossipAddress
	if gossip == "" || !strings.HasPrefix(gossip, "127.0.0.1:") {
		t.Fatalf("n1's gossip address is %q, want 127.0.0.1:<port>", gossip)
	}
	nodes := []*node{n1}
	for _, name := range []string{"n2", "n3", "n4", "n5"} {
		join := gossip
		if name == "n4" {
			join = n1.url
		}
		nodes = append(nodes, startMeshNode(t, name, "--join", join))
	}
	return nodes
}

// waitRegistryConverged waits until every node holds peers records and
// the same registry digest.
func waitRegistryConverged(t *testing.T, nodes []*node, peers int) {
	t.Helper()
	wait.For(t, ringTimeout, func() bool {
		digest := ringInfo(t, nodes[0]).RegistryDigest
		for _, n := range nodes {
			if ringInfo(t, n).RegistryDigest != digest || len(ringPeers(t, n)) != peers {
				return false
			}
		}
		return digest != ""
	}, "waiting for the registry digest to be equal on every node")
}

func checkReplicated(t *testing.T, n *node) {
	want := map[string]string{"peer-2": "full", "peer-3": "full", "peer-4": "discover", "peer-5": "none"}
	for _, p := range ringPeers(t, n) {
		if want[p.Name] != p.TrustLevel || p.Member != "n"+p.Name[5:] {
			t.Errorf("on %s: peer %+v; want trust %q for member n%s", n.name, p, want[p.Name], p.Name[5:])
		}
	}
}

// checkFiveListing: n3 lists peer-2 (full) and peer-4 (discover), not
// peer-5 (none) and not itself (peer-3), each entry once, with source.
func checkFiveListing(t *testing.T, n3 *node) {
	want := append(append(slices.Clone(demoTools), ringDemo("peer-2")...), ringDemo("peer-4")...)
	sort.Strings(want)
	var l ringListing
	wait.For(t, ringTimeout, func() bool { l = ringList(t, n3); return slices.Equal(l.names(), want) },
		"n3 to list %v; it lists %v", want, wait.Later(func() any { return l.names() }))
	for _, tool := range l.tools {
		source := "n3"
		if peer, _, ok := strings.Cut(tool.Name, "__"); ok {
			source = peer
		}
		if tool.Source != source || tool.Meta["mcpmesh/source"] != source {
			t.Errorf("%s: source %q, _meta source %v; want %q", tool.Name, tool.Source, tool.Meta["mcpmesh/source"], source)
		}
	}
	if l.meta["mcpmesh/missing_peers"] != nil {
		t.Errorf("missing peers %v with every node up", l.meta["mcpmesh/missing_peers"])
	}
}
