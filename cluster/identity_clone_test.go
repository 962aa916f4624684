package cluster_test

import (
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/store/memstore"
)

// startClone starts a node named name holding id, as a copy of that node's
// data dir would.
func startClone(t *testing.T, name, id string) *cluster.Node {
	t.Helper()
	st := memstore.New()
	if err := st.Put("node-id", []byte(id)); err != nil {
		t.Fatal(err)
	}
	return clustertest.StartNode(t, clustertest.Config(name, st))
}

// TestCloneOfALiveNode: a clone (a copy of a live node's data dir: same
// name, same id) started beside it does not replace it: memberlist keeps
// the member at the address it knows while that one is alive, and the
// original stays alive and listed.
func TestCloneOfALiveNode(t *testing.T) {
	nodes := clustertest.Ring(t, 3, clustertest.Options{})
	orig := nodes[2]
	clone := startClone(t, orig.Name(), orig.ID())
	if _, err := clone.Join([]string{nodes[0].GossipAddr()}); err != nil {
		t.Logf("the clone's join: %v", err)
	}
	wait.For(t, 5*time.Second, func() bool { return len(clone.Members()) > 1 }, "the clone to hear of the ring")
	for round := 0; round < 20; round++ { // a few seconds of gossip, checked all along
		for _, n := range nodes[:2] {
			if m, _ := n.Member(orig.Name()); m.Addr != orig.GossipAddr() {
				t.Fatalf("%s lists %s at %s (%s); want the original at %s", n.Name(), orig.Name(), m.Addr, m.State, orig.GossipAddr())
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	m, _ := nodes[0].Member(orig.Name())
	t.Logf("after the clone joined: the ring lists %s %s at the original's address; the clone sees %d members, Refused() = %v",
		orig.Name(), m.State, clone.NumMembers(), clone.Refused())
}

// TestCloneOfACrashedNode: a clone of a node that crashed carries its id,
// so the ring takes it for that node come back (as a restore from a
// backup is).
func TestCloneOfACrashedNode(t *testing.T) {
	nodes := clustertest.Ring(t, 3, clustertest.Options{})
	orig := nodes[2]
	id := orig.ID()
	if err := orig.Shutdown(); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 15*time.Second, func() bool { return clustertest.AllSee(nodes[:2], orig.Name(), cluster.StateDead) },
		"the ring to see %s dead", orig.Name())
	clone := startClone(t, orig.Name(), id)
	if _, err := clone.Join([]string{nodes[0].GossipAddr()}); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 10*time.Second, func() bool {
		m, _ := nodes[0].Member(orig.Name())
		return m.State == cluster.StateAlive && m.Addr == clone.GossipAddr()
	}, "the ring to accept the clone as %s", orig.Name())
	if clone.Refused() != nil {
		t.Errorf("the clone is refused: %v", clone.Refused())
	}
}
