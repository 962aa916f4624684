package gateway

import (
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// TestAutoTrust: a node started with --auto-trust full federates every ring
// member without anyone adding a peer, and lists it as a peer; one without
// the flag federates nothing.
func TestAutoTrust(t *testing.T) {
	a := startFedNodeWith(t, "gw-a", func(c *Config) { c.AutoTrust = "full" })
	b := startFedNode(t, "gw-b")
	if _, err := b.node.Join([]string{a.node.GossipAddr()}); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 15*time.Second, func() bool { return a.list(t).has("gw-b__whoami") },
		"gw-a never listed gw-b's tools under --auto-trust")
	if res := a.call(t, "gw-b__whoami"); res.text() != "gw-b" {
		t.Errorf("gw-b__whoami through gw-a answered %q", res.text())
	}
	if p := a.peer(t, "gw-b"); p.UpdatedBy != federation.AutoTrustWriter || p.TrustLevel != "full" {
		t.Errorf("auto peer = %+v, want trust full by %s", p, federation.AutoTrustWriter)
	}
	if b.list(t).has("gw-a__whoami") {
		t.Error("gw-b, without --auto-trust, federated gw-a")
	}
	if got := len(b.node.Registry().List()); got != 0 {
		t.Errorf("auto-trust wrote %d records to the ring's registry", got)
	}
}
