package cluster_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// TestGossipStats: on a real two-node ring each node counts the packets and
// bytes it sent and received, the joiner the push-pull stream it opened and
// the other the stream it accepted, and a peer write counts on both sides.
func TestGossipStats(t *testing.T) {
	nodes := clustertest.Ring(t, 2, clustertest.Options{})
	a, b := nodes[0], nodes[1]
	wait.For(t, 10*time.Second, func() bool { return trafficBothWays(a) && trafficBothWays(b) },
		"no two-way packet traffic: %+v / %+v", wait.Later(func() any { return a.Stats().Gossip }), wait.Later(func() any { return b.Stats().Gossip }))
	for _, tc := range []struct {
		node  *cluster.Node
		check func(cluster.GossipStats) bool
		what  string
	}{
		{b, func(s cluster.GossipStats) bool {
			return s.StreamsOpened >= 1 && s.StreamBytesSent > 0 && s.StreamBytesReceived > 0
		}, "the joiner opened a stream"},
		{a, func(s cluster.GossipStats) bool {
			return s.StreamsAccepted >= 1 && s.StreamBytesSent > 0 && s.StreamBytesReceived > 0
		}, "the joined accepted a stream"},
		{a, sizesFit, "bytes at least packets"},
		{b, sizesFit, "bytes at least packets"},
	} {
		t.Run(tc.node.Name()+" "+tc.what, func(t *testing.T) {
			if s := tc.node.Stats().Gossip; !tc.check(s) {
				t.Fatalf("%+v", s)
			}
		})
	}
	t.Run("registry", func(t *testing.T) { checkRingRegistryStats(t, a, b) })
}

// trafficBothWays reports whether n sent and received packets and bytes.
func trafficBothWays(n *cluster.Node) bool {
	s := n.Stats().Gossip
	return s.PacketsSent > 0 && s.PacketsReceived > 0 && s.PacketBytesSent > 0 && s.PacketBytesReceived > 0
}

// sizesFit: every packet counted has at least one byte.
func sizesFit(s cluster.GossipStats) bool {
	return s.PacketBytesSent >= s.PacketsSent && s.PacketBytesReceived >= s.PacketsReceived
}

// checkRingRegistryStats: a peer written on a is a local write there and a
// remote write applied on b.
func checkRingRegistryStats(t *testing.T, a, b *cluster.Node) {
	rec := cluster.PeerRecord{Name: "p", Member: "node-01", URL: "http://127.0.0.1:1/p", TrustLevel: cluster.TrustFull}
	if _, err := a.Registry().Add(rec); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 10*time.Second, func() bool { return b.Stats().Registry.RemoteApplied == 1 },
		"b did not apply a's write: %+v", wait.Later(func() any { return b.Stats().Registry }))
	if s := a.Stats().Registry; s.LocalWrites != 1 || s.Conflicts != 0 {
		t.Fatalf("a: %+v, want one local write and no conflict", s)
	}
	if s := b.Stats().Registry; s.LocalWrites != 0 || s.Conflicts != 0 {
		t.Fatalf("b: %+v, want no local write and no conflict", s)
	}
}

// TestGossipPortZero: a node bound to port 0 gossips on the port it got,
// and a second node can join it there.
func TestGossipPortZero(t *testing.T) {
	nodes := clustertest.Ring(t, 2, clustertest.Options{})
	for _, n := range nodes {
		if addr := n.GossipAddr(); !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
			t.Fatalf("%s: GossipAddr = %q, want the bound loopback port", n.Name(), addr)
		}
	}
	if nodes[0].GossipAddr() == nodes[1].GossipAddr() {
		t.Fatalf("both nodes report %s", nodes[0].GossipAddr())
	}
}
