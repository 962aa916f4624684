package cluster

import (
	"errors"
	"fmt"
	"slices"
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
	return checkHead(ErrRuleInvalid, r.head())
}

// checkSize refuses a rule whose encoding is over maxRuleBytes.
func checkSize(name string, n int) error {
	if n == 0 || n > maxRuleBytes {
		return fmt.Errorf("%w: rule %q encodes to %d bytes, more than %d", ErrRuleInvalid, name, n, maxRuleBytes)
	}
	return nil
}

// decodeRule parses and validates one rule record's JSON.
func decodeRule(b []byte) (RuleRecord, error) {
	if err := checkSize("", len(b)); err != nil {
		return RuleRecord{}, err
	}
	return lwwDecode[RuleRecord](b, ErrRuleInvalid)
}

// canonical is the rule's JSON encoding (digests, the last tie-break).
func (r RuleRecord) canonical() []byte { return canonicalJSON(r) }

// compareRules totally orders a rule's versions as compareRecords does
// peers' (lwwCompare).
func compareRules(a, b RuleRecord) int { return lwwCompare(a, b) }

// head and withHead read and set the fields lwwRegistry handles.
func (r RuleRecord) head() lwwHead {
	return lwwHead{name: r.Name, writer: r.Writer, version: r.Version, deleted: r.Deleted, createdAt: r.CreatedAt, updatedAt: r.UpdatedAt}
}

func (r RuleRecord) withHead(h lwwHead) RuleRecord {
	r.Name, r.Writer, r.Version, r.Deleted = h.name, h.writer, h.version, h.deleted
	r.CreatedAt, r.UpdatedAt = h.createdAt, h.updatedAt
	return r
}

// same reports whether r and o are the same rule record.
func (r RuleRecord) same(o RuleRecord) bool {
	return r.Name == o.Name && r.Effect == o.Effect && slices.Equal(r.Principals, o.Principals) &&
		slices.Equal(r.Tools, o.Tools) && r.Rate == o.Rate && r.CreatedAt.Equal(o.CreatedAt) &&
		r.UpdatedAt.Equal(o.UpdatedAt) && r.Version == o.Version && r.Writer == o.Writer && r.Deleted == o.Deleted
}

// ruleState is the rule registry's replicated value: a map from rule name
// to the greatest version seen (live or tombstone), merged as lww.go says
// (property tests in rule_state_test.go). Rules have no settle step:
// unlike peers, nothing but the name is unique.
type ruleState map[string]RuleRecord

// apply merges one record and reports whether the state changed.
func (s ruleState) apply(r RuleRecord) bool { return lwwApply(s, r) }

// merge merges o into s and returns the records that changed s.
func (s ruleState) merge(o ruleState) []RuleRecord { return lwwMerge(s, o) }

// sorted returns the records by name.
func (s ruleState) sorted() []RuleRecord { return lwwSorted(s) }

// digest hashes every record, tombstones included, in name order.
func (s ruleState) digest() string { return lwwDigest(s) }
