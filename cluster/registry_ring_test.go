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

// TestConcurrentRecordsForOneMember: member c is added as c-one on one
// half of a ring and as c-two on the other at the same moment (the halves
// have not met yet, so each accepted its write). Once they join, every node
// keeps one live record for c, the later write, and holds the other as a
// tombstone (Badger stores, so it is persisted too).
func TestConcurrentRecordsForOneMember(t *testing.T) {
	left := clustertest.Ring(t, 2, clustertest.Options{Badger: true})
	cfg := clustertest.Config("node-r0", clustertest.NewStore(t, true))
	right := []*cluster.Node{clustertest.StartNode(t, cfg)}
	writers := []*cluster.Node{left[0], right[0]}
	results := make([]cluster.PeerRecord, 2)
	var wg sync.WaitGroup
	for i, name := range []string{"c-one", "c-two"} {
		wg.Go(func() {
			var err error
			if results[i], err = writers[i].Registry().Add(rec(name, "member-c", cluster.TrustFull)); err != nil {
				t.Errorf("add %s on %s: %v", name, writers[i].Name(), err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	winner, loser := results[0], results[1]
	if newer(loser, winner) {
		winner, loser = loser, winner
	}
	if _, err := right[0].Join([]string{left[0].GossipAddr()}); err != nil {
		t.Fatal(err)
	}
	all := append(left, right...)
	clustertest.WaitAllAlive(t, all, 10*time.Second)
	clustertest.WaitConverged(t, all, 15*time.Second)
	for _, n := range all {
		list := n.Registry().List()
		if len(list) != 1 || list[0].Name != winner.Name || list[0].Version != winner.Version {
			t.Errorf("%s lists %+v; want only the later write %s", n.Name(), list, winner.Name)
		}
		if got, ok := n.Registry().ByMember("member-c"); !ok || got.Name != winner.Name {
			t.Errorf("%s: ByMember = %+v, %v; want %s", n.Name(), got, ok, winner.Name)
		}
		if tomb := findRecord(n.Registry().All(), loser.Name); !tomb.Deleted || tomb.Version != loser.Version {
			t.Errorf("%s holds %+v for %s; want its tombstone", n.Name(), tomb, loser.Name)
		}
	}
}

func findRecord(recs []cluster.PeerRecord, name string) cluster.PeerRecord {
	for _, r := range recs {
		if r.Name == name {
			return r
		}
	}
	return cluster.PeerRecord{}
}
