package cluster_test

import (
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// TestRTTAndServiceHealth: each node learns the gossip round-trip time to
// the others from memberlist's probes (none to itself), and a service
// health digest set on one node reaches the others in its meta, the
// other fields kept; an unchanged one gossips nothing new.
func TestRTTAndServiceHealth(t *testing.T) {
	nodes := clustertest.Ring(t, 2, clustertest.Options{})
	a, b := nodes[0], nodes[1]
	wait.For(t, 10*time.Second, func() bool {
		d, ok := a.RTT(b.Name())
		return ok && d > 0
	}, "node %s to measure a round-trip time to %s", a.Name(), b.Name())
	if _, ok := a.RTT(a.Name()); ok {
		t.Error("a node has an RTT to itself")
	}
	if err := a.SetServiceHealth("\x01\x02\x03\x04\x01"); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 5*time.Second, func() bool {
		m, _ := b.Member(a.Name())
		return m.Meta.ServiceHealth == "\x01\x02\x03\x04\x01"
	}, "the service health digest to reach %s", b.Name())
	if m, _ := b.Member(a.Name()); m.Meta.URL == "" || m.Meta.ID == "" {
		t.Fatalf("other meta fields lost: %+v", m.Meta)
	}
	if err := a.SetServiceHealth(string(make([]byte, cluster.MaxMetaHealth+1))); err == nil {
		t.Fatal("an oversized service health digest was accepted")
	}
}
