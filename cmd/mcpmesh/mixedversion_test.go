package main

import (
	"context"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// A rolling upgrade puts this release beside the previous one in one ring
// (docs/federation.md, "Rolling upgrades"): a node of each joins the other
// (both directions of --join), each trusts the other, lists its tools and
// calls them through the hop, with progress; the old node leaves gracefully;
// the new node restarted on its data dir still works; and the old node's
// data dir, upgraded to this release, federates again.
func TestMixedVersions(t *testing.T) { testMixedRing(t, previousRelease, false) }

// TestMixedVersionsPreHop is the same beside a release that does not serve
// 2026-07-28: this node forwards to it over the link's MCP session, so the
// progress of a call still comes back (the hop, served there as a legacy
// plain POST, would lose it).
func TestMixedVersionsPreHop(t *testing.T) { testMixedRing(t, preHopRelease, true) }

// fallbackLog is what a node logs when a peer does not serve the hop.
const fallbackLog = "peer does not serve 2026-07-28"

// testMixedRing runs the rolling upgrade beside rev, whose nodes the new
// one forwards to over the link's session if sessionOnly (else the hop).
func testMixedRing(t *testing.T, rev string, sessionOnly bool) {
	oldBin := releaseBinary(t, rev)
	t.Run("old first, new joins its gossip address", func(t *testing.T) {
		o := startMixedNode(t, oldBin, "old-node", "", "")
		n := startMixedNode(t, "", "new-node", ringInfo(t, o).GossipAddress, "")
		checkRollingUpgrade(t, o, n, releaseVersion(rev), sessionOnly)
	})
	t.Run("new first, old joins its URL", func(t *testing.T) {
		n := startMixedNode(t, "", "new-node", "", "")
		o := startMixedNode(t, oldBin, "old-node", n.url, "")
		checkRollingUpgrade(t, o, n, releaseVersion(rev), sessionOnly)
	})
}

// TestMixedVersionsRedisSeed: nodes of this release and the previous one
// find each other through a Redis seed (--redis, no --join), whichever
// starts first: each reads what the other announces there.
func TestMixedVersionsRedisSeed(t *testing.T) {
	oldBin := releaseBinary(t, previousRelease)
	for _, bins := range [][2]string{{oldBin, ""}, {"", oldBin}} {
		t.Run("first "+map[string]string{"": "new", oldBin: "old"}[bins[0]], func(t *testing.T) {
			redis := startRedis(t)
			a := startMixedNode(t, bins[0], "first", "", "", "--redis", redis)
			b := startMixedNode(t, bins[1], "second", "", "", "--redis", redis)
			wait.For(t, ringTimeout, func() bool { return len(ringAlive(t, a)) == 2 && len(ringAlive(t, b)) == 2 },
				"waiting for both nodes to find each other through Redis")
		})
	}
}

// startRedis runs a redis-server on a free loopback port, with no
// persistence, and returns its URL.
func startRedis(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed (install it: apt-get install -y redis-server): %v", err)
	}
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	p := startProc(t, "redis-server "+addr, "redis-server", "--save", "", "--appendonly", "no",
		"--port", port, "--bind", "127.0.0.1", "--dir", t.TempDir())
	wait.For(t, 10*time.Second, func() bool { return p.exited() || dialable(addr) },
		"redis-server on %s to take connections", addr)
	if p.exited() {
		t.Fatalf("redis-server on %s exited (%s):\n%s", addr, p.exitText(), p.out.String())
	}
	return "redis://" + addr
}

// startMixedNode starts a demo node of bin ("" this tree's) on free
// loopback ports, joining join unless it is "", on dataDir ("" a new one),
// with more serve flags.
func startMixedNode(t *testing.T, bin, name, join, dataDir string, more ...string) *node {
	t.Helper()
	extra := append([]string{"--gossip", "127.0.0.1:0"}, more...)
	if join != "" {
		extra = append(extra, "--join", join)
	}
	return startNode(t, nodeOptions{name: name, demo: true, bin: bin, dataDir: dataDir, extra: extra})
}

// checkRollingUpgrade runs the upgrade of a ring of the old node o (of
// oldVersion) and the new node n, once both are up.
func checkRollingUpgrade(t *testing.T, o, n *node, oldVersion string, sessionOnly bool) {
	wait.For(t, ringTimeout, func() bool { return len(ringAlive(t, o)) == 2 && len(ringAlive(t, n)) == 2 },
		"waiting for both nodes to see two members alive")
	checkMemberVersion(t, n, o.name, oldVersion)
	checkMemberVersion(t, o, n.name, version)
	ringAddPeer(t, o, n.url, "new", "full")
	ringAddPeer(t, n, o.url, "old", "full")
	waitRegistryConverged(t, []*node{o, n}, 2) // each side merges the other's records
	checkFederates(t, o, "new", n.name)
	checkFederates(t, n, "old", o.name)
	if fellBack := strings.Contains(n.proc.out.String(), fallbackLog); fellBack != sessionOnly {
		t.Errorf("the new node logged %q: %v, want %v (the old node serves the hop: %v)", fallbackLog, fellBack, sessionOnly, !sessionOnly)
	}

	o.proc.stopClean(t)
	waitStatus(t, n, o.name, "old", "left")
	n.proc.stopClean(t)
	n = startMixedNode(t, "", n.name, "", n.dataDir)
	if res := ringCall(t, n, "echo", map[string]any{"text": "after restart"}); res.IsError || res.text() != "after restart" {
		t.Fatalf("echo on the restarted new node: %+v", res)
	}
	if i := slices.IndexFunc(ringPeers(t, n), func(p api.Peer) bool { return p.Name == "old" }); i < 0 {
		t.Fatalf("the restarted new node lost the peer record old: %+v", ringPeers(t, n))
	}

	o = startMixedNode(t, "", o.name, ringInfo(t, n).GossipAddress, o.dataDir)
	checkMemberVersion(t, n, o.name, version)
	checkFederates(t, o, "new", n.name)
	checkFederates(t, n, "old", o.name)
}

// checkMemberVersion waits until from sees member alive, running version:
// which binary it runs.
func checkMemberVersion(t *testing.T, from *node, member, version string) {
	t.Helper()
	var seen []api.Member
	wait.For(t, ringTimeout, func() bool {
		ringGet(t, from, "/api/federation/members", &seen)
		return slices.ContainsFunc(seen, func(m api.Member) bool {
			return m.Name == member && m.Status == "alive" && m.Version == version
		})
	}, "waiting for %s to see %s alive at version %s; it sees %+v", from.name, member, version, wait.Later(func() any { return seen }))
}

// checkFederates checks that from lists peer's demo tools and calls them
// through the hop: a plain POST and a 2026-07-28 client with progress.
func checkFederates(t *testing.T, from *node, peer, owner string) {
	t.Helper()
	waitStatus(t, from, owner, peer, "alive", api.PeerOnline)
	var l ringListing
	wait.For(t, ringTimeout, func() bool {
		l = ringList(t, from)
		return !slices.ContainsFunc(ringDemo(peer), func(name string) bool { return !l.has(name) })
	}, "waiting for %s to list %v; it lists %v", from.name, ringDemo(peer), wait.Later(func() any { return l.names() }))
	for _, c := range []struct {
		tool string
		args map[string]any
		want string
	}{{"whoami", map[string]any{}, owner}, {"echo", map[string]any{"text": "mixed"}, "mixed"}, {"add", map[string]any{"a": 2, "b": 3}, "5"}} {
		if res := ringCall(t, from, peer+"__"+c.tool, c.args); res.IsError || res.text() != c.want {
			t.Errorf("%s on %s: %+v; want %q", peer+"__"+c.tool, from.name, res, c.want)
		}
	}
	checkHopProgress(t, from, peer)
}

// checkHopProgress calls peer__sleep from a go-sdk client that negotiated
// 2026-07-28 with from, with a progress token: the answer and a progress
// notification come back through the hop.
func checkHopProgress(t *testing.T, from *node, peer string) {
	t.Helper()
	progress := make(chan *mcp.ProgressNotificationParams, 64)
	cs := connectGoSDKVersion(t, from.mcpURL(), from.token, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
			select {
			case progress <- r.Params:
			default:
			}
		},
	}, "")
	params := &mcp.CallToolParams{Name: peer + "__sleep", Arguments: map[string]any{"ms": 300}}
	params.SetProgressToken("mixed-" + peer)
	checkSDKCallParams(t, cs, params, "slept 300 ms")
	select {
	case p := <-progress:
		if p.ProgressToken != "mixed-"+peer {
			t.Errorf("progress %+v through %s, want token mixed-%s", p, from.name, peer)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("no progress came back from %s__sleep through %s", peer, from.name)
	}
}

// waitStatus waits until from sees member in memberStatus and its peer
// record in one of peerStatuses (member's status if none is given).
func waitStatus(t *testing.T, from *node, member, peer, memberStatus string, peerStatuses ...string) {
	t.Helper()
	if len(peerStatuses) == 0 {
		peerStatuses = []string{memberStatus}
	}
	var members []api.Member
	var peers []api.Peer
	wait.For(t, ringTimeout, func() bool {
		ringGet(t, from, "/api/federation/members", &members)
		peers = ringPeers(t, from)
		return slices.ContainsFunc(members, func(m api.Member) bool { return m.Name == member && m.Status == memberStatus }) &&
			slices.ContainsFunc(peers, func(p api.Peer) bool { return p.Name == peer && slices.Contains(peerStatuses, p.Status) })
	}, "waiting for %s to see member %s %s and peer %s %s; members %+v, peers %+v", from.name, member, memberStatus,
		peer, strings.Join(peerStatuses, " or "), wait.Later(func() any { return members }), wait.Later(func() any { return peers }))
}
