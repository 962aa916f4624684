package cluster

import (
	"fmt"
	"hash/fnv"
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

// genOwnedRecord draws records as honest nodes write them: a name always
// stands for the same member (as through the REST API, where a live name
// never moves to another member: a and c stand for m1, b and d for m2), and
// one version of one writer is one record (its other fields follow from
// name, version and writer).
func genOwnedRecord() *rapid.Generator[PeerRecord] {
	return rapid.Custom(func(t *rapid.T) PeerRecord {
		r := genRecord().Draw(t, "record")
		r.Name = rapid.SampledFrom([]string{"a", "b", "c", "d"}).Draw(t, "owned name")
		r.Member = map[string]string{"a": "m1", "b": "m2", "c": "m1", "d": "m2"}[r.Name]
		h := fnv.New32a()
		fmt.Fprint(h, r.Name, r.Version, r.Writer)
		x := h.Sum32()
		r.TrustLevel = []string{TrustFull, TrustDiscover, TrustNone}[x%3]
		r.URL = []string{"http://x:1", "https://y"}[x>>6%2]
		r.UpdatedAt = r.CreatedAt.Add(time.Duration(x>>2%3) * time.Millisecond)
		r.Deleted = x>>4%3 == 0
		return r
	})
}

// receive is what a node does with records from the ring: merge them, then
// settle the members they name.
func (s peerState) receive(recs ...PeerRecord) {
	members := map[string]bool{}
	for _, r := range recs {
		if s.apply(r) {
			members[r.Member] = true
		}
	}
	s.settle(members)
}

// simulateRing delivers recs to n nodes in an order drawn by t (each record
// to some nodes first, one at a time), then runs anti-entropy (every node
// merges every other's whole state) until nothing changes.
func simulateRing(t *rapid.T, n int, recs []PeerRecord) []peerState {
	nodes := make([]peerState, n)
	for i := range nodes {
		nodes[i] = peerState{}
	}
	for _, i := range rapid.SliceOfN(rapid.IntRange(0, len(recs)-1), 0, 3*len(recs)).Draw(t, "early") {
		nodes[rapid.IntRange(0, n-1).Draw(t, "to")].receive(recs[i])
	}
	nodes[0].receive(recs...) // every record reaches the ring somewhere
	for round := 0; ; round++ {
		if round > 2*n+2 {
			t.Fatalf("anti-entropy did not settle after %d rounds", round)
		}
		before := digests(nodes)
		for i := range nodes {
			for j := range nodes {
				nodes[i].receive(nodes[j].clone().sorted()...)
			}
		}
		if digests(nodes) == before {
			return nodes
		}
	}
}

func digests(nodes []peerState) string {
	out := ""
	for _, s := range nodes {
		out += s.digest() + ","
	}
	return out
}

// checkOneLivePerMember fails unless every member has at most one live
// record in s, and that record is the greatest naming the member.
func checkOneLivePerMember(t *rapid.T, s peerState) {
	live := map[string]string{}
	for _, r := range s {
		if r.Deleted {
			continue
		}
		if other, dup := live[r.Member]; dup {
			t.Fatalf("member %s has two live records, %s and %s: %v", r.Member, other, r.Name, s.sorted())
		}
		live[r.Member] = r.Name
		if w, _ := s.winner(r.Member); w.Name != r.Name {
			t.Fatalf("member %s: live record %s is not its greatest record %+v", r.Member, r.Name, w)
		}
	}
}

// TestSettleConverges: records naming the same member under different
// names, delivered to three nodes in any order and any number of times,
// leave every node with the same state and one live record per member: the
// later write. With names that keep their member, that state is
// settle(merge of every write), whatever the order.
func TestSettleConverges(t *testing.T) {
	tests := []struct {
		name  string
		gen   *rapid.Generator[PeerRecord]
		exact bool
	}{
		{"names keep their member", genOwnedRecord(), true},
		{"names move between members", genRecord(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				recs := rapid.SliceOfN(tt.gen, 1, 10).Draw(t, "records")
				nodes := simulateRing(t, 3, recs)
				for i, s := range nodes {
					checkOneLivePerMember(t, s)
					if !equalStates(s, nodes[0]) {
						t.Fatalf("node %d differs from node 0:\n%v\n%v", i, s.sorted(), nodes[0].sorted())
					}
				}
				want := peerState{}
				want.receive(recs...)
				if tt.exact && !equalStates(nodes[0], want) {
					t.Fatalf("converged on\n%v\nwant settle(merge of all)\n%v", nodes[0].sorted(), want.sorted())
				}
			})
		})
	}
}

// TestLaterRecordOfMemberWins: node A accepted c-one for member c, node B,
// not having seen it, c-two a moment later; in either order of delivery the
// later record stays live and the earlier becomes its own tombstone.
func TestLaterRecordOfMemberWins(t *testing.T) {
	one := PeerRecord{Name: "c-one", Member: "c", URL: "http://x", TrustLevel: TrustFull, Version: HLC{Wall: 10}, Writer: "node-a"}
	two := PeerRecord{Name: "c-two", Member: "c", URL: "http://x", TrustLevel: TrustFull, Version: HLC{Wall: 11}, Writer: "node-b"}
	for _, order := range [][]PeerRecord{{one, two}, {two, one}, {one, two, one}} {
		t.Run(order[0].Name+" first", func(t *testing.T) {
			s := peerState{}
			for _, r := range order {
				s.receive(r)
			}
			want := one
			want.Deleted = true
			if s["c-two"].Deleted || !s["c-one"].same(want) {
				t.Fatalf("state %+v; want c-two live and c-one as its tombstone at its own version", s.sorted())
			}
		})
	}
}
