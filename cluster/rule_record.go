package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// maxRuleBytes bounds one encoded rule record. A rule over maxRecordBytes
// is not broadcast (it would not fit a gossip packet) and spreads by
// push-pull alone.
const maxRuleBytes = 64 << 10

// Errors of the rule registry, wrapped with detail.
var (
	ErrRuleInvalid  = errors.New("invalid rule record")
	ErrRuleNotFound = errors.New("rule not found")
	ErrRuleTaken    = errors.New("rule name already taken")
)

// RuleRecord is one access rule in the replicated rule registry. The
// cluster keeps rules as data: their meaning (effects, principals, globs,
// rates) is checked and applied above it (package policy). Name is the
// key; Version and Writer order a rule's versions; Deleted marks a
// tombstone.
type RuleRecord struct {
	Name       string    `json:"name"`
	Effect     string    `json:"effect"`
	Principals []string  `json:"principals"`
	Tools      []string  `json:"tools"`
	Rate       string    `json:"rate,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	Version    HLC       `json:"version"`
	Writer     string    `json:"writer"`
	Deleted    bool      `json:"deleted,omitempty"`
}

// check validates a whole rule record as the registry keeps it.
func (r RuleRecord) check() error {
	if err := CheckPeerName(r.Name); err != nil {
		return fmt.Errorf("%w: name %q must be 1-32 characters of a-z, 0-9 and '-'", ErrRuleInvalid, r.Name)
	}
	if err := checkName(r.Writer); err != nil {
		return fmt.Errorf("%w: writer: %v", ErrRuleInvalid, err)
	}
	if r.Version.Wall <= 0 || r.Version.Wall > 1<<50 {
		return fmt.Errorf("%w: version %s out of range", ErrRuleInvalid, r.Version)
	}
	for _, t := range []time.Time{r.CreatedAt, r.UpdatedAt} {
		if t.Year() < 1970 || t.Year() > 9999 {
			return fmt.Errorf("%w: timestamp %v out of range", ErrRuleInvalid, t)
		}
	}
	return nil
}

// checkSize refuses a rule whose encoding is over maxRuleBytes.
func checkSize(name string, n int) error {
	if n == 0 || n > maxRuleBytes {
		return fmt.Errorf("%w: rule %q encodes to %d bytes, more than %d", ErrRuleInvalid, name, n, maxRuleBytes)
	}
	return nil
}

// normalize makes equal rules encode to equal bytes on every node.
func (r RuleRecord) normalize() RuleRecord {
	r.CreatedAt = r.CreatedAt.UTC().Truncate(time.Millisecond)
	r.UpdatedAt = r.UpdatedAt.UTC().Truncate(time.Millisecond)
	return r
}

// canonical is the rule's JSON encoding (digests, the last tie-break).
func (r RuleRecord) canonical() []byte {
	b, err := json.Marshal(r)
	if err != nil {
		return nil
	}
	return b
}

// compareRules totally orders a rule's versions as compareRecords does
// peers': Version, Writer, Name, a tombstone above a live record, then the
// canonical bytes.
func compareRules(a, b RuleRecord) int {
	if c := a.Version.Compare(b.Version); c != 0 {
		return c
	}
	if c := strings.Compare(a.Writer, b.Writer); c != 0 {
		return c
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	if a.Deleted != b.Deleted {
		if a.Deleted {
			return 1
		}
		return -1
	}
	if a.same(b) { // the common case: the same rule heard again
		return 0
	}
	return bytes.Compare(a.canonical(), b.canonical())
}

// same reports whether r and o are the same rule record.
func (r RuleRecord) same(o RuleRecord) bool {
	return r.Name == o.Name && r.Effect == o.Effect && slices.Equal(r.Principals, o.Principals) &&
		slices.Equal(r.Tools, o.Tools) && r.Rate == o.Rate && r.CreatedAt.Equal(o.CreatedAt) &&
		r.UpdatedAt.Equal(o.UpdatedAt) && r.Version == o.Version && r.Writer == o.Writer && r.Deleted == o.Deleted
}

// ruleState is the rule registry's replicated value: a map from rule name
// to the greatest version seen (live or tombstone). Merge is the pointwise
// maximum under compareRules, a total order, so it is commutative,
// associative and idempotent (property tests in rule_state_test.go), and
// every node that has seen the same records holds the same state. Rules
// have no settle step: unlike peers, nothing but the name is unique.
type ruleState map[string]RuleRecord

// apply merges one record and reports whether the state changed.
func (s ruleState) apply(r RuleRecord) bool { return lwwApply(s, r.Name, r, compareRules) }

// merge merges o into s and returns the records that changed s.
func (s ruleState) merge(o ruleState) []RuleRecord {
	var changed []RuleRecord
	for _, r := range o {
		if s.apply(r) {
			changed = append(changed, r)
		}
	}
	return changed
}

// sorted returns the records by name.
func (s ruleState) sorted() []RuleRecord { return lwwSorted(s) }

// digest hashes every record, tombstones included, in name order.
func (s ruleState) digest() string { return lwwDigest(s, RuleRecord.canonical) }
