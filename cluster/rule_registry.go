package cluster

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/mcpmesh/mcpmesh/store"
)

// rulePrefix is the store key prefix of rule records.
const rulePrefix = "rules/"

// ruleSpec is how the rule registry keeps, sends and checks its records.
var ruleSpec = lwwSpec[RuleRecord]{
	noun: "rule", what: "rule", prefix: rulePrefix, msgType: msgRule, invalid: ErrRuleInvalid,
	checkSize: checkSize, decode: decodeRule,
}

// RuleRegistry is the replicated access-rule registry, beside the peer
// registry and replicated the same way (lwwRegistry): last writer wins per
// rule name by HLC, deletes are tombstones (collected after the
// TombstoneTTL), local writes are persisted before they return and then
// broadcast (a rule too big for one gossip packet is not: push-pull
// carries it), records from the ring are merged at once and persisted by
// the Node's persister, and push-pull repairs what broadcasts missed. It is
// safe for concurrent use.
type RuleRegistry struct {
	lwwRegistry[RuleRecord]
}

// Generation changes whenever the rules do (a counter, local to this
// node): callers cache what they derive from the rules by it.
func (r *RuleRegistry) Generation() uint64 { return r.gen.Load() }

// NewRuleRegistry returns a rule registry of node self kept in st (nil:
// memory only), not connected to a ring; Node.Rules returns the one a Node
// replicates.
func NewRuleRegistry(self string, st store.Store, logger *slog.Logger) (*RuleRegistry, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	t := DefaultTimings()
	return newRuleRegistry(self, st, logger, t.MaxClockSkew, t.TombstoneTTL)
}

func newRuleRegistry(self string, st store.Store, logger *slog.Logger, skew, ttl time.Duration) (*RuleRegistry, error) {
	r := &RuleRegistry{}
	r.init(self, st, logger.With("component", "rules"), skew, ttl, ruleSpec, noHooks[RuleRecord]{})
	return r, r.load()
}

// Add creates the rule rec.Name; ErrRuleTaken when a live rule has it.
func (r *RuleRegistry) Add(rec RuleRecord) (RuleRecord, error) {
	return r.write(rec.Name, func(cur RuleRecord, live bool) (RuleRecord, error) {
		if live {
			return RuleRecord{}, fmt.Errorf("%w: %q", ErrRuleTaken, rec.Name)
		}
		rec.CreatedAt = r.now()
		return rec, nil
	})
}

// Update changes the live rule name with edit; ErrRuleNotFound if none.
func (r *RuleRegistry) Update(name string, edit func(*RuleRecord) error) (RuleRecord, error) {
	return r.update(name, ErrRuleNotFound, edit)
}

// Delete replaces the live rule name by a tombstone.
func (r *RuleRegistry) Delete(name string) error { return r.remove(name, ErrRuleNotFound) }

// noHooks are the hooks of a registry with no rules of its own around the
// shared machinery.
type noHooks[R any] struct{}

func (noHooks[R]) noteLocalLocked(string, HLC, bool)  {}
func (noHooks[R]) noteRemoteLocked(_, _ R, _, _ bool) {}
func (noHooks[R]) noteDropped(R, bool)                {}
func (noHooks[R]) settleLocked([]R) []R               { return nil }
func (noHooks[R]) collectedLocked(string)             {}
