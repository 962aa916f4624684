package federation

import (
	"testing"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/cluster/clustertest"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// TestCachedCatalogServed: a peer's cached catalog is listed by a new link
// to the same member before it can reach the peer, not by one to another
// member, and not once it is dropped. (The gateway's TestPeerCatalogCached
// shows a ring caching and dropping it.)
func TestCachedCatalogServed(t *testing.T) {
	f := startEngine(t, "gw-a", clustertest.NewStore(t, true))
	defs := mcp.NewDemo("gw-b").Snapshot()
	rec := cluster.PeerRecord{Name: "b", Member: "gw-b", URL: "http://127.0.0.1:1", TrustLevel: cluster.TrustFull} // nothing answers there
	f.saveCatalog(rec, defs)
	for _, tc := range []struct {
		name, member string
		drop         bool
		want         int
	}{{"same member", rec.Member, false, len(defs.Tools)}, {"another member", "gw-other", false, 0}, {"dropped", rec.Member, true, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.drop {
				f.dropCatalog(rec.Name)
			}
			r := rec
			r.Member = tc.member
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
}
