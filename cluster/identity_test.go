package cluster_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/store/memstore"
)

// TestNodeIDIsKept: a node makes its id once and keeps it in its store.
func TestNodeIDIsKept(t *testing.T) {
	dir := t.TempDir()
	st := clustertest.OpenBadger(t, dir)
	first := clustertest.StartNode(t, clustertest.Config("keeper", st))
	id := first.ID()
	if len(id) != cluster.MaxMetaID || first.Meta().ID != id || first.Local().Meta.ID != id {
		t.Fatalf("id %q, meta %+v: want 32 hex digits, gossiped", id, first.Meta())
	}
	if err := first.SetMeta(cluster.NodeMeta{URL: "http://127.0.0.1:2"}); err != nil || first.Meta().ID != id {
		t.Fatalf("SetMeta without an id: err %v, id now %q; want it kept", err, first.Meta().ID)
	}
	if err := first.Shutdown(); err != nil {
		t.Fatal(err)
	}
	again := clustertest.StartNode(t, clustertest.Config("keeper", st))
	if again.ID() != id {
		t.Fatalf("restarted on its store with id %s, want %s", again.ID(), id)
	}
	if other := clustertest.StartNode(t, clustertest.Config("keeper", memstore.New())); other.ID() == id {
		t.Fatal("a node on another store has the same id")
	}
}

// TestImpostorCannotTakeACrashedName: a node started under the name of a
// member that crashed moments earlier, with the ring's key but on a fresh
// store (so another node id), is refused: the ring keeps the crashed member
// as it was, the impostor is told why (Refused), and the real node, back
// on its store, is accepted. Both ways memberlist may still know the dead
// member: still gossiping to it, or already forgotten it.
func TestImpostorCannotTakeACrashedName(t *testing.T) {
	for _, tt := range []struct {
		name      string
		toTheDead time.Duration
	}{{"while the ring gossips to the dead", 0}, {"once memberlist forgot the dead", time.Millisecond}} {
		t.Run(tt.name, func(t *testing.T) { testImpostor(t, tt.toTheDead) })
	}
}

func testImpostor(t *testing.T, toTheDead time.Duration) {
	dir := t.TempDir()
	st := clustertest.OpenBadger(t, dir)
	nodes := clustertest.Ring(t, 3, clustertest.Options{Configure: func(i int, c *cluster.Config) {
		c.Timings.GossipToTheDeadTime = toTheDead
		if i == 2 {
			c.Store = st
		}
	}})
	ring, real := nodes[:2], nodes[2]
	oldAddr, realID := real.GossipAddr(), real.ID()
	if err := real.Shutdown(); err != nil { // a crash: no leave
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 15*time.Second, func() bool { return clustertest.AllSee(ring, "node-02", cluster.StateDead) },
		"the ring to see node-02 dead")

	impostor, joinErr := startImpostor(t, ring[0], toTheDead > 0)
	tookOver := func() bool { m, _ := ring[0].Member("node-02"); return m.Addr == impostor.GossipAddr() }
	wait.For(t, 10*time.Second, func() bool { return impostor.Refused() != nil || tookOver() },
		"the impostor to be told it is refused (join error %v)", joinErr)
	t.Logf("join error: %v", joinErr)
	if err := impostor.Refused(); !errors.Is(err, cluster.ErrNameHeld) || !strings.Contains(err.Error(), realID) ||
		!strings.Contains(err.Error(), "--name") {
		t.Errorf("Refused() = %v; want ErrNameHeld naming the id the ring holds the name for and what to do", err)
	}
	for _, n := range ring {
		if m, _ := n.Member("node-02"); m.State == cluster.StateAlive || m.Addr != oldAddr || m.Meta.ID != realID {
			t.Errorf("%s lists node-02 as %+v; want the crashed node, dead at %s with id %s", n.Name(), m, oldAddr, realID)
		}
	}
	if err := impostor.Shutdown(); err != nil {
		t.Fatal(err)
	}

	back := clustertest.StartNode(t, clustertest.Config("node-02", clustertest.OpenBadger(t, dir)))
	wait.For(t, 15*time.Second, func() bool {
		for _, n := range ring {
			if m, _ := n.Member("node-02"); m.State != cluster.StateAlive || m.Addr != back.GossipAddr() {
				return false
			}
		}
		return true
	}, "the ring to accept the real node-02 back at %s", back.GossipAddr())
	if back.Refused() != nil {
		t.Errorf("the real node is refused: %v", back.Refused())
	}
}

// startImpostor starts a node named node-02 on a fresh store and joins it
// to ring. With forgotten, it retries with new impostors until memberlist
// on ring no longer gossips about the dead node-02 (the join's push-pull
// no longer names it), so that only the ring's refusal can tell it.
func startImpostor(t *testing.T, ring *cluster.Node, forgotten bool) (*cluster.Node, error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		impostor := clustertest.StartNode(t, clustertest.Config("node-02", memstore.New()))
		_, err := impostor.Join([]string{ring.GossipAddr()})
		if !forgotten || err == nil {
			return impostor, err
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ring still gossips about the dead node-02 after 20 s: %v", err)
		}
		_ = impostor.Shutdown()
		time.Sleep(200 * time.Millisecond) // the ring forgets on its own probe schedule
	}
}

// TestRestartedNodeStillRefuses: a node restarted on its store still binds
// a crashed member's name to its id (the member snapshot keeps it), so an
// impostor cannot take the name from a ring that restarted meanwhile.
func TestRestartedNodeStillRefuses(t *testing.T) {
	dir := t.TempDir()
	judgeStore := clustertest.OpenBadger(t, dir)
	nodes := clustertest.Ring(t, 2, clustertest.Options{Configure: func(i int, c *cluster.Config) {
		if i == 0 {
			c.Store = judgeStore
		}
	}})
	judge, crashed := nodes[0], nodes[1]
	id := crashed.ID()
	if err := crashed.Shutdown(); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 15*time.Second, func() bool { return clustertest.StateOf(judge, "node-01") == cluster.StateDead },
		"node-00 to see node-01 dead")
	if err := judge.Shutdown(); err != nil { // persists the snapshot
		t.Fatal(err)
	}
	if err := judgeStore.Close(); err != nil {
		t.Fatal(err)
	}
	judge = clustertest.StartNode(t, clustertest.Config("node-00", clustertest.OpenBadger(t, dir)))
	impostor := clustertest.StartNode(t, clustertest.Config("node-01", memstore.New()))
	_, _ = impostor.Join([]string{judge.GossipAddr()})
	wait.For(t, 10*time.Second, func() bool {
		return impostor.Refused() != nil || clustertest.StateOf(judge, "node-01") == cluster.StateAlive
	},
		"the impostor to be refused")
	if err := impostor.Refused(); err == nil || !strings.Contains(err.Error(), id) {
		t.Fatalf("the restarted node-00 let the impostor in (Refused() = %v); want it refused for id %s", err, id)
	}
}

// TestSecondNodeUnderALiveName: a node started under the name of a live
// member, on another store, is refused and told so; the member stays.
func TestSecondNodeUnderALiveName(t *testing.T) {
	nodes := clustertest.Ring(t, 2, clustertest.Options{})
	second := clustertest.StartNode(t, clustertest.Config("node-01", memstore.New()))
	_, _ = second.Join([]string{nodes[0].GossipAddr()})
	wait.For(t, 10*time.Second, func() bool { return second.Refused() != nil }, "the second node-01 to be refused")
	if m, _ := nodes[0].Member("node-01"); m.State != cluster.StateAlive || m.Addr != nodes[1].GossipAddr() {
		t.Errorf("node-00 lists node-01 as %+v; want the first one, alive at %s", m, nodes[1].GossipAddr())
	}
	if err := nodes[1].Refused(); err != nil {
		t.Errorf("the first node-01 is refused: %v", err)
	}
}
