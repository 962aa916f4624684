package gateway

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// TestImpostorNodeIsNotReady: a node started with the ring's secret under
// the name of a peer that crashed, on a fresh data dir, is refused: its
// /ready answers 503 saying why, the ring keeps the crashed peer as it was;
// the real node, restarted on its data dir, is accepted and federated again.
func TestImpostorNodeIsNotReady(t *testing.T) {
	a := startFedNode(t, "gw-a")
	dir := t.TempDir()
	st := openBadger(t, dir)
	b := startFedNodeOn(t, "gw-b", st, func(*Config) {})
	addFedPeer(t, a, b, "b", "full")
	oldAddr := b.node.GossipAddr()
	b.stop(t)
	if err := b.node.Shutdown(); err != nil { // a crash: no leave
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 15*time.Second, func() bool { return clustertest.StateOf(a.node, "gw-b") == cluster.StateDead },
		"gw-a to see gw-b dead")

	impostor := startFedNode(t, "gw-b")
	impostor.gw.JoinRing([]string{a.node.GossipAddr()})
	var ready response
	wait.For(t, 10*time.Second, func() bool {
		ready = impostor.do(t, http.MethodGet, "/ready", "", "")
		return ready.code == http.StatusServiceUnavailable && strings.Contains(string(ready.body), "node id")
	}, "the impostor's /ready to say it is refused (before that, it says it has not joined)")
	if msg := ready.errorText(t); !strings.Contains(msg, "gw-b") || !strings.Contains(msg, "node id") {
		t.Errorf("/ready of the impostor: %q; want why (the name gw-b held for another node id)", msg)
	}
	if m, _ := a.node.Member("gw-b"); m.State == cluster.StateAlive || m.Addr != oldAddr {
		t.Errorf("gw-a lists gw-b as %+v; want the crashed node, dead at %s", m, oldAddr)
	}
	if res := a.call(t, "b__whoami"); !res.IsError {
		t.Errorf("b__whoami with the real gw-b down: %+v; want peer_offline, not the impostor", res)
	}
	impostor.stop(t)
	if err := impostor.node.Shutdown(); err != nil {
		t.Fatal(err)
	}

	back := startFedNodeOn(t, "gw-b", openBadger(t, dir), func(*Config) {})
	wait.For(t, 20*time.Second, func() bool {
		res := a.call(t, "b__whoami")
		return !res.IsError && res.text() == "gw-b"
	}, "gw-a to call the real gw-b again")
	if r := back.do(t, http.MethodGet, "/ready", "", ""); r.code != http.StatusOK {
		t.Errorf("/ready of the real node: %d %s", r.code, r.body)
	}
}
