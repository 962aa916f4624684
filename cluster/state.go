package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
)

// peerState is the registry's replicated value, a mergeable map from peer
// name to the greatest version of its record seen (live or tombstone).
//
// Merge is the pointwise maximum under compareRecords, a total order on
// versions of a record. Hence, for all states a, b, c:
//
//   - commutative: merge(a, b) = merge(b, a)
//   - associative: merge(merge(a, b), c) = merge(a, merge(b, c))
//   - idempotent:  merge(a, a) = a
//
// so every node that has seen the same set of records holds the same state,
// whatever the order and repetition of deliveries (property tests in
// state_test.go). Deletes are tombstones with a fresh version, so a stale
// live record merged later loses to the tombstone and nothing resurrects.
// Tombstones older than the registry's TombstoneTTL are collected; a node
// that was away for longer than that may bring a deleted record back (the
// usual bound of tombstone GC, as in Serf and dskit).
type peerState map[string]PeerRecord

// apply merges one record and reports whether the state changed.
func (s peerState) apply(r PeerRecord) bool {
	cur, ok := s[r.Name]
	if ok && compareRecords(r, cur) <= 0 {
		return false
	}
	s[r.Name] = r
	return true
}

// merge merges every record of o into s and returns those that changed s.
func (s peerState) merge(o peerState) []PeerRecord {
	var changed []PeerRecord
	for _, r := range o {
		if s.apply(r) {
			changed = append(changed, r)
		}
	}
	return changed
}

// clone returns a copy of s.
func (s peerState) clone() peerState {
	c := make(peerState, len(s))
	for k, v := range s {
		c[k] = v
	}
	return c
}

// sorted returns s's records ordered by name.
func (s peerState) sorted() []PeerRecord {
	out := make([]PeerRecord, 0, len(s))
	for _, r := range s {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b PeerRecord) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// digest hashes every record, tombstones included, in name order: equal on
// every node holding the same state.
func (s peerState) digest() string {
	h := sha256.New()
	for _, r := range s.sorted() {
		h.Write(r.canonical())
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
