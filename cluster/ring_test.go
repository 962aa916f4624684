package cluster_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/store/memstore"
)

// recorder collects a node's events until the node shuts down.
type recorder struct {
	mu  sync.Mutex
	evs []cluster.Event
}

func record(t *testing.T, n *cluster.Node) *recorder {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range n.Events() {
			r.mu.Lock()
			r.evs = append(r.evs, e)
			r.mu.Unlock()
		}
	}()
	t.Cleanup(func() { _ = n.Shutdown(); <-done })
	return r
}

// types returns the types of the events about member name, in order.
func (r *recorder) types(name string) []cluster.EventType {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []cluster.EventType
	for _, e := range r.evs {
		if e.Member.Name == name {
			out = append(out, e.Type)
		}
	}
	return out
}

func TestRingJoinKillLeave(t *testing.T) {
	nodes := clustertest.Ring(t, 5, clustertest.Options{})
	recs := make([]*recorder, len(nodes))
	for i, n := range nodes {
		recs[i] = record(t, n)
		if got, want := len(n.Members()), 5; got != want || n.NumMembers() != want {
			t.Fatalf("%s sees %d members (NumMembers %d), want %d", n.Name(), got, n.NumMembers(), want)
		}
		if got := len(n.KnownAddrs()); got != 4 {
			t.Fatalf("%s knows %d addresses, want 4: %v", n.Name(), got, n.KnownAddrs())
		}
	}
	if l := nodes[0].Local(); l.Name != "node-00" || l.State != cluster.StateAlive || l.Addr != nodes[0].GossipAddr() {
		t.Fatalf("Local() = %+v", l)
	}
	t.Run("kill is seen as dead", func(t *testing.T) {
		victim := nodes[4]
		if err := victim.Shutdown(); err != nil {
			t.Fatalf("shutdown: %v", err)
		}
		wait.For(t, 15*time.Second, func() bool { return clustertest.AllSee(nodes[:4], victim.Name(), cluster.StateDead) },
			"survivors did not all see %s dead", victim.Name())
		for i, r := range recs[:4] { // events reach the recorder after the state changes
			wait.For(t, 5*time.Second, func() bool { return slices.Contains(r.types(victim.Name()), cluster.MemberFailed) },
				"%s got events %v about the victim, want member-failed", nodes[i].Name(), r.types(victim.Name()))
		}
	})
	t.Run("leave is seen as left", func(t *testing.T) {
		leaver := nodes[3]
		if err := leaver.Close(context.Background()); err != nil {
			t.Fatalf("close: %v", err)
		}
		wait.For(t, 10*time.Second, func() bool { return clustertest.AllSee(nodes[:3], leaver.Name(), cluster.StateLeft) },
			"survivors did not all see %s left", leaver.Name())
		for _, n := range nodes[:3] {
			if slices.Contains(n.KnownAddrs(), leaver.GossipAddr()) {
				t.Fatalf("%s still lists the address of a member that left", n.Name())
			}
		}
	})
}

func TestMetaUpdatePropagates(t *testing.T) {
	nodes := clustertest.Ring(t, 3, clustertest.Options{})
	r := record(t, nodes[2])
	if err := nodes[0].SetCatalogDigest("sha256:new"); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 5*time.Second, func() bool {
		for _, n := range nodes {
			if m, _ := n.Member("node-00"); m.Meta.CatalogDigest != "sha256:new" {
				return false
			}
		}
		return true
	}, "the new catalog digest did not reach every node")
	if m, _ := nodes[1].Member("node-00"); m.Meta.URL != "http://127.0.0.1:1/node-00" {
		t.Fatalf("other meta fields lost: %+v", m.Meta)
	}
	wait.For(t, 2*time.Second, func() bool { return slices.Contains(r.types("node-00"), cluster.MemberUpdate) },
		"no member-update event")
	long := make([]byte, cluster.MaxMetaDigest+1)
	if err := nodes[0].SetCatalogDigest(string(long)); err == nil {
		t.Fatal("an oversized digest was accepted")
	}
	if nodes[0].Meta().CatalogDigest != "sha256:new" {
		t.Fatal("a refused digest changed the meta")
	}
}

// TestSuspectIsReported: a killed member is reported suspect by the node
// whose probe failed, before the ring declares it dead.
func TestSuspectIsReported(t *testing.T) {
	nodes := clustertest.Ring(t, 4, clustertest.Options{})
	recs := make([]*recorder, 3)
	for i := range recs {
		recs[i] = record(t, nodes[i])
	}
	if err := nodes[3].Shutdown(); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 15*time.Second, func() bool { return clustertest.AllSee(nodes[:3], "node-03", cluster.StateDead) },
		"node-03 not seen dead")
	for _, r := range recs {
		evs := r.types("node-03")
		if i := slices.Index(evs, cluster.MemberSuspect); i >= 0 && slices.Index(evs, cluster.MemberFailed) > i {
			return
		}
	}
	t.Fatal("no node reported node-03 suspect before failed")
}

// TestRestartRejoinsAndKeepsRegistry: a node restarted on its store, on a
// new port and without Join, finds the ring again from its member snapshot
// and still holds its registry.
func TestRestartRejoinsAndKeepsRegistry(t *testing.T) {
	for _, tt := range []struct {
		name          string
		waitDetection bool
	}{{"after the ring saw it dead", true}, {"before the ring saw it dead", false}} {
		t.Run(tt.name, func(t *testing.T) { testRestart(t, tt.waitDetection) })
	}
}

func testRestart(t *testing.T, waitDetection bool) {
	dir := t.TempDir()
	st := clustertest.OpenBadger(t, dir)
	nodes := clustertest.Ring(t, 3, clustertest.Options{Configure: func(i int, c *cluster.Config) {
		if i == 2 {
			c.Store = st
		}
	}})
	if _, err := nodes[0].Registry().Put(rec("gateway-a", "node-00", cluster.TrustFull)); err != nil {
		t.Fatal(err)
	}
	clustertest.WaitConverged(t, nodes, 10*time.Second)
	want := nodes[2].Registry().Digest()
	if err := nodes[2].Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if waitDetection {
		wait.For(t, 15*time.Second, func() bool { return clustertest.AllSee(nodes[:2], "node-02", cluster.StateDead) }, "node-02 not seen dead")
	}

	back := clustertest.StartNode(t, clustertest.Config("node-02", clustertest.OpenBadger(t, dir)))
	if got := back.Registry().Digest(); got != want {
		t.Fatalf("restarted registry digest %s, want %s", got, want)
	}
	if len(back.KnownAddrs()) != 2 {
		t.Fatalf("restarted node knows %v, want the two others", back.KnownAddrs())
	}
	all := []*cluster.Node{nodes[0], nodes[1], back}
	wait.For(t, 15*time.Second, func() bool {
		m, _ := nodes[0].Member("node-02")
		return m.Addr == back.GossipAddr()
	}, "node-00 never accepted node-02 at its new address")
	clustertest.WaitAllAlive(t, all, 10*time.Second)
	if m, _ := nodes[0].Member("node-02"); m.Addr != back.GossipAddr() {
		t.Fatalf("node-00 has node-02 at %s, want its new address %s", m.Addr, back.GossipAddr())
	}
}

func TestWrongKeyCannotJoin(t *testing.T) {
	nodes := clustertest.Ring(t, 2, clustertest.Options{})
	cfg := clustertest.Config("intruder", memstore.New())
	cfg.SecretKey = cluster.DeriveKey([]byte("another secret"))
	intruder := clustertest.StartNode(t, cfg)
	if _, err := intruder.Join([]string{nodes[0].GossipAddr()}); err == nil {
		t.Fatal("a node with another key joined")
	}
	if _, ok := nodes[0].Member("intruder"); ok || nodes[0].NumMembers() != 2 {
		t.Fatal("the ring admitted a node with another key")
	}
}

// TestNoFalseFailuresUnderLoad: a 20-node ring under -race with a steady
// stream of registry writes declares nobody dead.
func TestNoFalseFailuresUnderLoad(t *testing.T) {
	nodes := clustertest.Ring(t, 20, clustertest.Options{})
	recs := make([]*recorder, len(nodes))
	for i, n := range nodes {
		recs[i] = record(t, n)
	}
	tick := time.NewTicker(50 * time.Millisecond) // 20 writes a second for 4 s
	defer tick.Stop()
	for i := 0; i < 80; i++ {
		<-tick.C
		r := rec(fmt.Sprintf("p-%d", i%10), fmt.Sprintf("m-%d", i%10), cluster.TrustFull)
		if _, err := nodes[i%len(nodes)].Registry().Put(r); err != nil {
			t.Fatal(err)
		}
	}
	clustertest.WaitConverged(t, nodes, 10*time.Second)
	for i, r := range recs {
		for _, n := range nodes {
			if evs := r.types(n.Name()); slices.Contains(evs, cluster.MemberFailed) {
				t.Fatalf("%s saw %s fail: %v", nodes[i].Name(), n.Name(), evs)
			}
		}
	}
}
