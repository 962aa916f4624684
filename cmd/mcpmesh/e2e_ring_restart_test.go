package main

import (
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// TestRingRestartOnNewPort: a peer killed with SIGKILL and restarted on its
// data dir on new HTTP and gossip ports, without --join, rejoins the ring
// from what its store kept and is federated again with no admin action.
func TestRingRestartOnNewPort(t *testing.T) {
	a := startMeshNode(t, "ra")
	b := startMeshNode(t, "rb", "--join", ringInfo(t, a).GossipAddress)
	ringAddPeer(t, a, b.url, "b", "full")
	if res := ringCall(t, a, "b__whoami", map[string]any{}); res.IsError || len(res.Content) == 0 || res.Content[0].Text != "rb" {
		t.Fatalf("before the restart, b__whoami = %+v", res)
	}
	_ = b.proc.cmd.Process.Kill()
	<-b.proc.done

	start := time.Now()
	b2 := startNode(t, nodeOptions{name: "rb", demo: true, dataDir: b.dataDir, extra: []string{"--gossip", "127.0.0.1:0"}})
	if b2.url == b.url {
		t.Fatalf("restarted on the same URL %s; the test needs a new port", b.url)
	}
	wait.For(t, 30*time.Second, func() bool {
		res := ringCall(t, a, "b__whoami", map[string]any{})
		return !res.IsError && len(res.Content) > 0 && res.Content[0].Text == "rb"
	}, "waiting for a calls b at its new address")
	t.Logf("federated again %v after the restart on %s", time.Since(start).Round(time.Millisecond), b2.url)
	wait.For(t, 10*time.Second, func() bool {
		for _, name := range ringAlive(t, b2) {
			if name == "ra" {
				return true
			}
		}
		return false
	}, "waiting for the restarted node sees a alive")
}
