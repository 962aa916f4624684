package cluster

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"slices"
	"strings"
	"time"
)

// The last-writer-wins core both replicated registries share (peers:
// peerState, state.go; access rules: ruleState, rule_record.go).
//
// A registry's state is a mergeable value, as in dskit's memberlist KV: a
// map from a record's name to the greatest version of that record seen,
// live or tombstone, under lwwCompare, a total order on records (HLC
// version, then writer, then name, then a tombstone above a live record,
// then the canonical bytes). Merging is the pointwise maximum, so for all
// states a, b, c:
//
//   - commutative: merge(a, b) = merge(b, a)
//   - associative: merge(merge(a, b), c) = merge(a, merge(b, c))
//   - idempotent:  merge(a, a) = a
//
// and every node that has seen the same set of records holds the same
// state, whatever the order and repetition of deliveries (property tests:
// state_test.go, rule_state_test.go). Deletes are tombstones with a fresh
// version, so a stale live record merged later loses to the tombstone and
// nothing resurrects; tombstones older than the TombstoneTTL are collected.

// record is what a last-writer-wins registry holds: a record type R whose
// name, version, writer, tombstone flag and times lwwRegistry reads (head)
// and sets (withHead).
type record[R any] interface {
	head() lwwHead
	withHead(lwwHead) R
	check() error      // valid as a registry keeps it
	canonical() []byte // JSON: store, wire, digest
	same(R) bool
}

// lwwHead is the part of a record the shared machinery reads and writes.
type lwwHead struct {
	name, writer         string
	version              HLC
	deleted              bool
	createdAt, updatedAt time.Time
}

// lwwNormalize makes equal records encode to equal bytes on every node:
// times in UTC at millisecond precision.
func lwwNormalize[R record[R]](r R) R {
	h := r.head()
	h.createdAt, h.updatedAt = lwwTime(h.createdAt), lwwTime(h.updatedAt)
	return r.withHead(h)
}

// lwwStamp sets what a local write of name by writer at a version v sets.
func lwwStamp[R record[R]](r R, name, writer string, at time.Time, v HLC) R {
	h := r.head()
	h.name, h.writer, h.updatedAt, h.version = name, writer, at, v
	return lwwNormalize(r.withHead(h))
}

// lwwTombstone returns r deleted.
func lwwTombstone[R record[R]](r R) R {
	h := r.head()
	h.deleted = true
	return r.withHead(h)
}

// lwwCompare totally orders records: by version, then writer, then name,
// then a tombstone above a live record (so the tombstone the peer registry
// makes of a record that lost its member, which keeps that record's
// version and writer, beats it everywhere, and only it), then the canonical
// bytes (two different records with the same version, writer and name can
// only come from a faulty or hostile node, and must still be ordered the
// same way everywhere).
func lwwCompare[R record[R]](a, b R) int {
	x, y := a.head(), b.head()
	if c := x.version.Compare(y.version); c != 0 {
		return c
	}
	if c := strings.Compare(x.writer, y.writer); c != 0 {
		return c
	}
	if c := strings.Compare(x.name, y.name); c != 0 {
		return c
	}
	if x.deleted != y.deleted {
		if x.deleted {
			return 1
		}
		return -1
	}
	if a.same(b) { // the common case: the same record heard again
		return 0
	}
	return bytes.Compare(a.canonical(), b.canonical())
}

// lwwApply merges r into m and reports whether m changed (r was greater
// than what m held under its name).
func lwwApply[R record[R]](m map[string]R, r R) bool {
	key := r.head().name
	if cur, ok := m[key]; ok && lwwCompare(r, cur) <= 0 {
		return false
	}
	m[key] = r
	return true
}

// lwwMerge merges every record of o into s and returns those that changed s.
func lwwMerge[R record[R]](s, o map[string]R) []R {
	var changed []R
	for _, r := range o {
		if lwwApply(s, r) {
			changed = append(changed, r)
		}
	}
	return changed
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
func lwwDigest[R record[R]](m map[string]R) string {
	h := newDigest()
	for _, r := range lwwSorted(m) {
		h.Write(r.canonical())
		h.Write([]byte{'\n'})
	}
	return h.sum()
}

// lwwDecode parses and validates one record's JSON; a parse error wraps
// invalid.
func lwwDecode[R record[R]](b []byte, invalid error) (R, error) {
	var r R
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%w: %v", invalid, err)
	}
	r = lwwNormalize(r)
	return r, r.check()
}

// checkHead validates what a write stamps on a record: its writer, its
// version and its times. Errors wrap invalid.
func checkHead(invalid error, h lwwHead) error {
	if err := checkName(h.writer); err != nil {
		return fmt.Errorf("%w: writer: %v", invalid, err)
	}
	if h.version.Wall <= 0 || h.version.Wall > 1<<50 {
		return fmt.Errorf("%w: version %s out of range", invalid, h.version)
	}
	for _, t := range []time.Time{h.createdAt, h.updatedAt} {
		if t.Year() < 1970 || t.Year() > 9999 {
			return fmt.Errorf("%w: timestamp %v out of range", invalid, t)
		}
	}
	return nil
}

// lwwTime is a record's time as every node encodes it: UTC, milliseconds.
func lwwTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// canonicalJSON is a record's encoding; nil only for times out of range,
// which check refuses.
func canonicalJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// digester hashes records into a registry digest.
type digester struct{ h hash.Hash }

func newDigest() *digester { return &digester{h: sha256.New()} }

func (d *digester) Write(b []byte) { d.h.Write(b) }

func (d *digester) sum() string { return hex.EncodeToString(d.h.Sum(nil)[:16]) }
