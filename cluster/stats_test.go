package cluster

import (
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/store"
	"github.com/mcpmesh/mcpmesh/store/memstore"
)

// statsEpoch is the fake wall clock of the registries of TestRegistryStats.
var statsEpoch = time.UnixMilli(1_700_000_000_000)

// statsRegistry is a test registry on a fake clock, offset from statsEpoch
// (a later offset writes later versions).
func statsRegistry(t *testing.T, self string, offset time.Duration) *testRegistry {
	r := newTestRegistry(t, self)
	ft := &fakeTime{t: statsEpoch.Add(offset)}
	r.setNow(ft.now)
	return r
}

// mustWrite returns a check failing the test if a write failed.
func mustWrite(t *testing.T) func(PeerRecord, error) {
	return func(_ PeerRecord, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// putTrust writes peer p with trust level on r.
func putTrust(t *testing.T, r *testRegistry, trust string) {
	t.Helper()
	rec := peer("p", "m")
	rec.TrustLevel = trust
	mustWrite(t)(r.Put(rec))
}

// last is r's latest broadcast.
func last(r *testRegistry) []byte { return r.sent[len(r.sent)-1] }

// statsCase runs writes and deliveries on registries a, b and c (written
// at +0, +1 s and +2 s) and wants their counters.
type statsCase struct {
	name string
	run  func(t *testing.T, a, b, c *testRegistry)
	want [3]RegistryStats
}

var statsCases = []statsCase{
	{"local writes of every kind", func(t *testing.T, a, _, _ *testRegistry) {
		mustWrite(t)(a.Add(peer("p", "m")))
		mustWrite(t)(a.SetTrust("p", TrustNone))
		if err := a.Delete("p"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.SetTrust("p", TrustFull); err == nil {
			t.Fatal("SetTrust of a deleted peer succeeded")
		}
	}, [3]RegistryStats{{LocalWrites: 3}}},
	{"remote newer, then a duplicate", func(t *testing.T, a, b, _ *testRegistry) {
		putTrust(t, a, TrustFull)
		b.receiveMsg(last(a))
		putTrust(t, a, TrustNone)
		b.receiveMsg(last(a))
		b.receiveMsg(last(a))
	}, [3]RegistryStats{{LocalWrites: 2}, {RemoteApplied: 2}}},
	{"remote stale", func(t *testing.T, a, b, _ *testRegistry) {
		putTrust(t, a, TrustFull)
		putTrust(t, a, TrustNone)
		b.receiveMsg(a.sent[1])
		b.receiveMsg(a.sent[0])
	}, [3]RegistryStats{{LocalWrites: 2}, {RemoteApplied: 1, RemoteStale: 1}}},
	{"sequential edits on two nodes", func(t *testing.T, a, b, _ *testRegistry) {
		putTrust(t, a, TrustFull)
		b.receiveMsg(last(a))
		putTrust(t, b, TrustNone)
		a.receiveMsg(last(b))
		b.receiveMsg(a.sent[0]) // a late copy of the first write
	}, [3]RegistryStats{{LocalWrites: 1, RemoteApplied: 1}, {LocalWrites: 1, RemoteApplied: 1, RemoteStale: 1}}},
	{"concurrent writes", func(t *testing.T, a, b, _ *testRegistry) {
		putTrust(t, a, TrustFull)
		putTrust(t, b, TrustNone)
		fromA, fromB := last(a), last(b) // (receivers re-broadcast what they apply)
		for range 2 {
			a.receiveMsg(fromB)
			b.receiveMsg(fromA)
		}
	}, [3]RegistryStats{{LocalWrites: 1, RemoteApplied: 1}, {LocalWrites: 1, RemoteStale: 2, Conflicts: 1}}},
	{"three concurrent writers", func(t *testing.T, a, b, c *testRegistry) {
		putTrust(t, a, TrustFull)
		putTrust(t, b, TrustNone)
		putTrust(t, c, TrustDiscover)
		c.receiveMsg(last(a))
		c.receiveMsg(last(b))
		c.receiveMsg(last(a))
	}, [3]RegistryStats{{LocalWrites: 1}, {LocalWrites: 1}, {LocalWrites: 1, RemoteStale: 3, Conflicts: 2}}},
	{"record from the future", func(t *testing.T, a, _, _ *testRegistry) {
		far := newTestRegistry(t, "far")
		far.setNow((&fakeTime{t: statsEpoch.Add(time.Hour)}).now)
		putTrust(t, far, TrustFull)
		a.receiveMsg(last(far))
	}, [3]RegistryStats{{RemoteRefused: 1}}},
	{"expired tombstone", func(t *testing.T, a, b, _ *testRegistry) {
		putTrust(t, a, TrustFull)
		if err := a.Delete("p"); err != nil {
			t.Fatal(err)
		}
		b.setNow((&fakeTime{t: statsEpoch.Add(b.tombTTL + time.Hour)}).now)
		b.receiveMsg(last(a))
	}, [3]RegistryStats{{LocalWrites: 2}, {RemoteStale: 1}}},
}

// TestRegistryStats checks the registry's counters, exactly, for local
// writes, remote records applied, stale, refused, and conflicts.
func TestRegistryStats(t *testing.T) {
	for _, tc := range statsCases {
		t.Run(tc.name, func(t *testing.T) {
			regs := [3]*testRegistry{
				statsRegistry(t, "a", 0), statsRegistry(t, "b", time.Second), statsRegistry(t, "c", 2*time.Second),
			}
			tc.run(t, regs[0], regs[1], regs[2])
			for i, r := range regs {
				if got := r.Stats(); got != tc.want[i] {
					t.Errorf("%s: Stats() = %+v, want %+v", r.self, got, tc.want[i])
				}
			}
		})
	}
}

// mergingStore is a store whose first Put first merges a record into a
// registry: a remote write landing while a local one is being made.
type mergingStore struct {
	store.Store
	into  *Registry
	merge []byte
}

func (s *mergingStore) Put(key string, value []byte) error {
	if s.merge != nil {
		s.into.receiveMsg(s.merge)
		s.merge = nil
	}
	return s.Store.Put(key, value)
}

// TestRegistryStatsLocalWriteLost: a local write overtaken by a newer
// record merged while it was persisted counts as a write and a conflict.
func TestRegistryStatsLocalWriteLost(t *testing.T) {
	later := statsRegistry(t, "later", time.Second)
	putTrust(t, later, TrustNone)
	st := &mergingStore{Store: memstore.New(), merge: last(later)}
	r, err := NewRegistry("a", st, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.into = r
	r.setNow((&fakeTime{t: statsEpoch}).now)
	mustWrite(t)(r.Put(peer("p", "m")))
	want := RegistryStats{LocalWrites: 1, RemoteApplied: 1, Conflicts: 1}
	if got := r.Stats(); got != want {
		t.Fatalf("Stats() = %+v, want %+v", got, want)
	}
	if got, _ := r.Get("p"); got.Writer != "later" {
		t.Fatalf("the registry holds %+v, want the later record", got)
	}
}
