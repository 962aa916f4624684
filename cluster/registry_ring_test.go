package cluster_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
	"github.com/mcpmesh/mcpmesh/store"
)

func rec(name, member, trust string) cluster.PeerRecord {
	return cluster.PeerRecord{Name: name, Member: member, URL: "http://127.0.0.1:9/" + name, TrustLevel: trust}
}

// newer reports whether a wins over b in the registry's order.
func newer(a, b cluster.PeerRecord) bool {
	if c := a.Version.Compare(b.Version); c != 0 {
		return c > 0
	}
	return a.Writer > b.Writer
}

func TestRegistryConverges(t *testing.T) {
	for _, size := range []int{5, 20} {
		t.Run(fmt.Sprintf("nodes=%d", size), func(t *testing.T) {
			nodes := clustertest.Ring(t, size, clustertest.Options{})
			for i, n := range nodes { // a distinct peer written on every node
				if _, err := n.Registry().Put(rec(fmt.Sprintf("peer-%d", i), fmt.Sprintf("member-%d", i), cluster.TrustFull)); err != nil {
					t.Fatal(err)
				}
			}
			winner := concurrentWrites(t, nodes, "contested")
			clustertest.WaitConverged(t, nodes, 15*time.Second)
			for _, n := range nodes {
				if got := len(n.Registry().List()); got != size+1 {
					t.Fatalf("%s lists %d peers, want %d", n.Name(), got, size+1)
				}
				got, ok := n.Registry().Get("contested")
				if !ok || got.Version != winner.Version || got.Writer != winner.Writer || got.TrustLevel != winner.TrustLevel {
					t.Fatalf("%s holds %+v, want the last writer %+v", n.Name(), got, winner)
				}
			}
		})
	}
}

// concurrentWrites writes the same peer on every node at once, with a
// different trust level and URL each, and returns the write that must win.
func concurrentWrites(t *testing.T, nodes []*cluster.Node, name string) cluster.PeerRecord {
	t.Helper()
	trusts := []string{cluster.TrustFull, cluster.TrustDiscover, cluster.TrustNone}
	results := make([]cluster.PeerRecord, len(nodes))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := rec(name, "contested-member", trusts[i%len(trusts)])
			r.URL = fmt.Sprintf("http://127.0.0.1:9/%d", i)
			results[i], _ = n.Registry().Put(r)
		}()
	}
	close(start)
	wg.Wait()
	winner := results[0]
	for _, r := range results {
		if r.Version.IsZero() {
			t.Fatal("a concurrent write failed")
		}
		if newer(r, winner) {
			winner = r
		}
	}
	return winner
}

// TestTombstoneDoesNotResurrect: a node that missed a delete (it was down)
// comes back holding the old live record; after merging, the peer stays
// deleted everywhere, the returning node included.
func TestTombstoneDoesNotResurrect(t *testing.T) {
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	stores := make([]store.Store, len(dirs))
	nodes := clustertest.Ring(t, 3, clustertest.Options{Configure: func(i int, c *cluster.Config) {
		stores[i] = clustertest.OpenBadger(t, dirs[i])
		c.Store = stores[i]
	}})
	if _, err := nodes[0].Registry().Put(rec("gateway-b", "node-01", cluster.TrustFull)); err != nil {
		t.Fatal(err)
	}
	clustertest.WaitConverged(t, nodes, 10*time.Second)
	away := nodes[2]
	cfg := clustertest.Config(away.Name(), nil)
	if err := away.Shutdown(); err != nil { // it keeps the live record in its store
		t.Fatal(err)
	}
	if err := stores[2].Close(); err != nil {
		t.Fatal(err)
	}
	if err := nodes[0].Registry().Delete("gateway-b"); err != nil {
		t.Fatal(err)
	}
	clustertest.WaitConverged(t, nodes[:2], 10*time.Second)

	cfg.Store = clustertest.OpenBadger(t, dirs[2])
	cfg.Timings.RejoinInterval = -1 // it joins below, once its stale record is checked
	back := clustertest.StartNode(t, cfg)
	if _, ok := back.Registry().Get("gateway-b"); !ok {
		t.Fatal("test setup: the returning node should still hold the stale live record")
	}
	if _, err := back.Join([]string{nodes[1].GossipAddr()}); err != nil {
		t.Fatal(err)
	}
	all := []*cluster.Node{nodes[0], nodes[1], back}
	clustertest.WaitConverged(t, all, 10*time.Second)
	for _, n := range all {
		if _, ok := n.Registry().Get("gateway-b"); ok {
			t.Fatalf("%s: the deleted peer came back", n.Name())
		}
	}
}
