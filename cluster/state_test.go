package cluster

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// genRecord draws records from a small space, so that names, versions and
// writers collide often and every branch of the order is exercised.
func genRecord() *rapid.Generator[PeerRecord] {
	return rapid.Custom(func(t *rapid.T) PeerRecord {
		base := time.UnixMilli(1_700_000_000_000).UTC()
		wall := base.UnixMilli() + rapid.Int64Range(0, 3).Draw(t, "wall")
		return PeerRecord{
			Name:       rapid.SampledFrom([]string{"a", "b", "c"}).Draw(t, "name"),
			Member:     rapid.SampledFrom([]string{"m1", "m2"}).Draw(t, "member"),
			URL:        rapid.SampledFrom([]string{"http://x:1", "https://y"}).Draw(t, "url"),
			TrustLevel: rapid.SampledFrom([]string{TrustFull, TrustDiscover, TrustNone}).Draw(t, "trust"),
			CreatedAt:  base,
			UpdatedAt:  base.Add(time.Duration(rapid.IntRange(0, 2).Draw(t, "upd")) * time.Millisecond),
			Version:    HLC{Wall: wall, Logical: uint32(rapid.IntRange(0, 2).Draw(t, "logical"))},
			Writer:     rapid.SampledFrom([]string{"n1", "n2"}).Draw(t, "writer"),
			Deleted:    rapid.Bool().Draw(t, "deleted"),
		}
	})
}

func genState() *rapid.Generator[peerState] {
	return rapid.Custom(func(t *rapid.T) peerState {
		s := peerState{}
		for _, r := range rapid.SliceOfN(genRecord(), 0, 8).Draw(t, "records") {
			s.apply(r)
		}
		return s
	})
}

// join returns the merge of states without modifying them.
func join(states ...peerState) peerState {
	out := peerState{}
	for _, s := range states {
		out.merge(s)
	}
	return out
}

func equalStates(a, b peerState) bool {
	return maps.EqualFunc(a, b, func(x, y PeerRecord) bool { return x.same(y) }) && a.digest() == b.digest()
}

func TestMergeLaws(t *testing.T) {
	tests := []struct {
		name string
		law  func(t *rapid.T) (peerState, peerState)
	}{
		{"commutative", func(t *rapid.T) (peerState, peerState) {
			a, b := genState().Draw(t, "a"), genState().Draw(t, "b")
			return join(a, b), join(b, a)
		}},
		{"associative", func(t *rapid.T) (peerState, peerState) {
			a, b, c := genState().Draw(t, "a"), genState().Draw(t, "b"), genState().Draw(t, "c")
			return join(join(a, b), c), join(a, join(b, c))
		}},
		{"idempotent", func(t *rapid.T) (peerState, peerState) {
			a := genState().Draw(t, "a")
			return join(a, a), a
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				x, y := tt.law(t)
				if !equalStates(x, y) {
					t.Fatalf("states differ:\n%v\n%v", x.sorted(), y.sorted())
				}
			})
		})
	}
}

// TestMergeAnyDeliveryOrder: records delivered in any order, any number of
// times, give the same state (what gossip does to a node).
func TestMergeAnyDeliveryOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		recs := rapid.SliceOfN(genRecord(), 1, 12).Draw(t, "records")
		want := peerState{}
		for _, r := range recs {
			want.apply(r)
		}
		got := peerState{}
		for _, i := range rapid.SliceOfN(rapid.IntRange(0, len(recs)-1), len(recs), 3*len(recs)).Draw(t, "order") {
			got.apply(recs[i])
		}
		for _, r := range recs { // every record at least once
			got.apply(r)
		}
		if !equalStates(got, want) {
			t.Fatalf("delivery order changed the state:\n%v\n%v", got.sorted(), want.sorted())
		}
	})
}

func TestCompareRecordsIsTotalOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := genRecord().Draw(t, "a"), genRecord().Draw(t, "b")
		ab, ba := compareRecords(a, b), compareRecords(b, a)
		if ab != -ba {
			t.Fatalf("antisymmetry: compare(a,b)=%d compare(b,a)=%d", ab, ba)
		}
		if (ab == 0) != a.same(b) {
			t.Fatalf("compare is 0 = %v but same = %v", ab == 0, a.same(b))
		}
	})
}

func TestTombstoneBeatsStaleRecord(t *testing.T) {
	live := PeerRecord{Name: "a", Member: "m", URL: "http://x", TrustLevel: TrustFull, Version: HLC{Wall: 10}, Writer: "n2"}
	dead := live
	dead.Deleted, dead.Version, dead.Writer = true, HLC{Wall: 11}, "n1"
	for _, order := range [][]PeerRecord{{live, dead}, {dead, live}, {dead, live, live}} {
		t.Run(fmt.Sprint(len(order), order[0].Deleted), func(t *testing.T) {
			s := peerState{}
			for _, r := range order {
				s.apply(r)
			}
			if !s["a"].Deleted {
				t.Fatalf("a stale live record resurrected a deleted peer: %+v", s["a"])
			}
		})
	}
}
