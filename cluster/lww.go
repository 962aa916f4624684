package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"slices"
	"strings"
)

// The last-writer-wins core both replicated registries share (peers:
// peerState, state.go; access rules: ruleState, rule_record.go). A
// registry's state maps a key to the greatest version of its record seen,
// live or tombstone, under a total order cmp of the record's versions
// (HLC, then writer, then the key, a tombstone above a live record, then
// the canonical bytes). Merging is the pointwise maximum, so it is
// commutative, associative and idempotent, like dskit's mergeable values
// (property tests: state_test.go, rule_state_test.go).

// lwwApply merges r, the record of key, into m and reports whether m
// changed (r was greater than what m held).
func lwwApply[R any](m map[string]R, key string, r R, cmp func(a, b R) int) bool {
	if cur, ok := m[key]; ok && cmp(r, cur) <= 0 {
		return false
	}
	m[key] = r
	return true
}

// lwwSorted returns m's records ordered by key.
func lwwSorted[R any](m map[string]R) []R {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare)
	out := make([]R, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

// lwwDigest hashes m's records, tombstones included, in key order: equal
// on every node holding the same state.
func lwwDigest[R any](m map[string]R, enc func(R) []byte) string {
	h := newDigest()
	for _, r := range lwwSorted(m) {
		h.Write(enc(r))
		h.Write([]byte{'\n'})
	}
	return h.sum()
}

// digester hashes records into a registry digest.
type digester struct{ h hash.Hash }

func newDigest() *digester { return &digester{h: sha256.New()} }

func (d *digester) Write(b []byte) { d.h.Write(b) }

func (d *digester) sum() string { return hex.EncodeToString(d.h.Sum(nil)[:16]) }
