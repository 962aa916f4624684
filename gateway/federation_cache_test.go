package gateway

import (
	"errors"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/internal/wait"
	"github.com/mcpmesh/mcpmesh/store"
)

// TestPeerCatalogCached: a peer's catalog listed through its link is kept
// in the store, and removing the peer forgets it. (federation's
// TestCachedCatalogServed shows a new link serving it.)
func TestPeerCatalogCached(t *testing.T) {
	a, b := startFedNode(t, "a"), startFedNode(t, "b")
	addFedPeer(t, a, b, "b", cluster.TrustFull)
	wait.For(t, 10*time.Second, func() bool {
		_, err := a.st.Get(federation.CatalogKeyPrefix + "b")
		return err == nil
	}, "a never cached b's catalog")
	if r := a.do(t, "DELETE", "/api/federation/peers/b", a.admin, ""); r.code != 204 {
		t.Fatalf("delete peer b: %d %s", r.code, r.body)
	}
	wait.For(t, 10*time.Second, func() bool {
		_, err := a.st.Get(federation.CatalogKeyPrefix + "b")
		return errors.Is(err, store.ErrNotFound)
	}, "a kept b's catalog after b was removed")
}
