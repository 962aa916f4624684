package gateway

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
	"github.com/mcpmesh/mcpmesh/store"
)

// TestPeerCatalogCached: a peer's catalog listed through its link is kept
// in the store; a new link to the same member serves it before it can
// reach the peer, one to another member does not, and removing the peer
// forgets it.
func TestPeerCatalogCached(t *testing.T) {
	a, b := startFedNode(t, "a"), startFedNode(t, "b")
	addFedPeer(t, a, b, "b", cluster.TrustFull)
	clustertest.WaitFor(t, 10*time.Second, func() bool {
		_, err := a.st.Get(catalogKeyPrefix + "b")
		return err == nil
	}, "a never cached b's catalog")
	rec, _ := a.node.Registry().Get("b")
	f := NewFederation(FederationConfig{Node: a.node, Local: a.cat, Secret: []byte(testSecret), Store: a.st,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(f.Close)
	for _, tc := range []struct {
		name, member string
		want         int
	}{{"same member", rec.Member, 4}, {"another member", "gw-other", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			r := rec
			r.Member, r.URL = tc.member, "http://127.0.0.1:1" // nothing answers there
			l := f.newLink(r)
			defer l.close()
			if got := len(l.entries.Load().tools); got != tc.want {
				t.Fatalf("a new link to %s lists %d of b's tools before connecting, want %d", tc.member, got, tc.want)
			}
			if _, ok := l.entries.Load().tools["b__whoami"]; ok != (tc.want > 0) {
				t.Fatalf("b__whoami cached: %v", ok)
			}
		})
	}
	if r := a.do(t, "DELETE", "/api/federation/peers/b", a.admin, ""); r.code != 204 {
		t.Fatalf("delete peer b: %d %s", r.code, r.body)
	}
	clustertest.WaitFor(t, 10*time.Second, func() bool {
		_, err := a.st.Get(catalogKeyPrefix + "b")
		return errors.Is(err, store.ErrNotFound)
	}, "a kept b's catalog after b was removed")
}
