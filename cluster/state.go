package cluster

import (
	"slices"
	"strings"
)

// peerState is the registry's replicated value, a mergeable map from peer
// name to the greatest version of its record seen (live or tombstone).
//
// Merge is the pointwise maximum under compareRecords (lwwCompare, whose
// doc in lww.go states the merge laws: commutative, associative,
// idempotent; property tests in state_test.go). Tombstones older than the
// registry's TombstoneTTL are collected; a node that was away for longer
// than that may bring a deleted record back (the usual bound of tombstone
// GC, as in Serf and dskit).
//
// One member, one record: after every merge a node settles the members the
// merge touched (see settle). A live record that is not the greatest record
// naming its member, live or tombstone, becomes its own tombstone: same
// version and writer, Deleted set, which compareRecords puts above the live
// record. Two nodes that each accepted a record for the same member under
// different names (concurrent writes: neither had seen the other's) thus
// keep only the later write (by HLC, then writer), and the earlier one's
// name is gone from every list. Settling only ever replaces a record by a
// greater one, and every node that settles the same records makes the same
// tombstones (byte for byte), which replicate like any record; so the state
// stays the join of every record made anywhere, and the ring converges on
// one settled state. When names keep their member (the REST API never moves
// a live name to another member) that state is settle(merge of all writes),
// whatever the order of deliveries (property tests in state_test.go).
type peerState map[string]PeerRecord

// apply merges one record and reports whether the state changed.
func (s peerState) apply(r PeerRecord) bool { return lwwApply(s, r) }

// settle keeps at most one live record for each member of members (every
// member when members is nil): a live record that is not the greatest record
// naming its member, live or tombstone, is replaced by its tombstone. It
// returns the tombstones it made, sorted by name.
func (s peerState) settle(members map[string]bool) []PeerRecord {
	best := map[string]PeerRecord{}
	for _, r := range s {
		if b, ok := best[r.Member]; (members == nil || members[r.Member]) && (!ok || compareRecords(r, b) > 0) {
			best[r.Member] = r
		}
	}
	var made []PeerRecord
	for name, r := range s {
		if b, ok := best[r.Member]; ok && !r.Deleted && b.Name != name {
			r.Deleted = true
			s[name] = r
			made = append(made, r)
		}
	}
	slices.SortFunc(made, func(a, b PeerRecord) int { return strings.Compare(a.Name, b.Name) })
	return made
}

// winner returns the greatest record naming member, live or tombstone.
func (s peerState) winner(member string) (PeerRecord, bool) {
	var best PeerRecord
	found := false
	for _, r := range s {
		if r.Member == member && (!found || compareRecords(r, best) > 0) {
			best, found = r, true
		}
	}
	return best, found
}

// merge merges every record of o into s and returns those that changed s.
func (s peerState) merge(o peerState) []PeerRecord { return lwwMerge(s, o) }

// clone returns a copy of s.
func (s peerState) clone() peerState {
	c := make(peerState, len(s))
	for k, v := range s {
		c[k] = v
	}
	return c
}

// sorted returns s's records ordered by name.
func (s peerState) sorted() []PeerRecord { return lwwSorted(s) }

// digest hashes every record, tombstones included, in name order: equal on
// every node holding the same state.
func (s peerState) digest() string { return lwwDigest(s) }
