package cluster

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcpmesh/mcpmesh/store"
)

// rulePrefix is the store key prefix of rule records.
const rulePrefix = "rules/"

// RuleRegistry is the replicated access-rule registry, beside the peer
// registry and replicated the same way: last writer wins per rule name by
// HLC, deletes are tombstones (collected after the TombstoneTTL), local
// writes are persisted before they return and then broadcast (a rule too
// big for one gossip packet is not: push-pull carries it), records from
// the ring are merged at once and persisted by the Node's persister, and
// push-pull repairs what broadcasts missed. It is safe for concurrent use.
type RuleRegistry struct {
	self    string
	clock   *Clock
	st      store.Store
	log     *slog.Logger
	drops   *rateLimited
	now     func() time.Time
	maxSkew time.Duration
	tombTTL time.Duration

	// Hooks set by the Node before gossip starts; each must not block.
	broadcast func(name string, msg []byte)
	changed   func(RuleRecord)
	dirty     func()

	persistMu sync.Mutex // serialises writes to the store (taken before mu)

	gen atomic.Uint64 // bumped on every change of state (Generation)

	mu       sync.Mutex
	state    ruleState
	digest   string
	unstored map[string]struct{}
	// enc is each record's canonical encoding, and known the set of them,
	// so that push-pull sends them without encoding and skips, unread, the
	// records it already holds (the common case).
	enc   map[string]string
	known map[string]struct{}
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
	r := &RuleRegistry{
		self: self, clock: NewClock(nil), st: st, now: time.Now, maxSkew: skew, tombTTL: ttl,
		log: logger.With("component", "rules"), state: ruleState{}, unstored: map[string]struct{}{},
		enc: map[string]string{}, known: map[string]struct{}{},
		broadcast: func(string, []byte) {}, changed: func(RuleRecord) {}, dirty: func() {},
	}
	r.drops = &rateLimited{log: r.log, period: 10 * time.Second}
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
	return r.write(name, func(cur RuleRecord, live bool) (RuleRecord, error) {
		if !live {
			return RuleRecord{}, fmt.Errorf("%w: %q", ErrRuleNotFound, name)
		}
		return cur, edit(&cur)
	})
}

// Delete replaces the live rule name by a tombstone.
func (r *RuleRegistry) Delete(name string) error {
	_, err := r.write(name, func(cur RuleRecord, live bool) (RuleRecord, error) {
		if !live {
			return RuleRecord{}, fmt.Errorf("%w: %q", ErrRuleNotFound, name)
		}
		cur.Deleted = true
		return cur, nil
	})
	return err
}

// write builds, versions, persists, applies and broadcasts a local write;
// nothing changes when it returns an error.
func (r *RuleRegistry) write(name string, build func(cur RuleRecord, live bool) (RuleRecord, error)) (RuleRecord, error) {
	r.persistMu.Lock()
	defer r.persistMu.Unlock()
	r.mu.Lock()
	cur, ok := r.state[name]
	rec, err := build(cur, ok && !cur.Deleted)
	r.mu.Unlock()
	if err != nil {
		return RuleRecord{}, err
	}
	rec.Name, rec.Writer, rec.UpdatedAt, rec.Version = name, r.self, r.now(), r.clock.Now()
	rec = rec.normalize()
	if err := rec.check(); err != nil {
		return RuleRecord{}, err
	}
	if err := checkSize(name, len(rec.canonical())); err != nil {
		return RuleRecord{}, err
	}
	if r.st != nil {
		if err := r.st.Put(rulePrefix+name, rec.canonical()); err != nil {
			return RuleRecord{}, fmt.Errorf("persist rule %q: %w", name, err)
		}
	}
	r.mu.Lock()
	changed := r.applyLocked(rec)
	r.mu.Unlock()
	if changed {
		r.send(rec)
		r.changed(rec)
	}
	return rec, nil
}

// send broadcasts rec, unless it is too big for one gossip packet.
func (r *RuleRegistry) send(rec RuleRecord) {
	msg := append([]byte{msgRule}, rec.canonical()...)
	if len(msg) > maxRecordBytes {
		r.log.Debug("rule too big to broadcast: push-pull carries it", "rule", rec.Name, "bytes", len(msg))
		return
	}
	r.broadcast(rec.Name, msg)
}

// Get returns the live rule name.
func (r *RuleRegistry) Get(name string) (RuleRecord, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, ok := r.state[name]
	return rec, ok && !rec.Deleted
}

// List returns the live rules, sorted by name.
func (r *RuleRegistry) List() []RuleRecord {
	var out []RuleRecord
	for _, rec := range r.All() {
		if !rec.Deleted {
			out = append(out, rec)
		}
	}
	return out
}

// All returns every rule, tombstones included, sorted by name.
func (r *RuleRegistry) All() []RuleRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state.sorted()
}

// Digest hashes every rule, tombstones included: equal on every node once
// the rules have converged.
func (r *RuleRegistry) Digest() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.digest == "" {
		r.digest = r.state.digest()
	}
	return r.digest
}

// load reads the persisted rules; an unreadable one is skipped.
func (r *RuleRegistry) load() error {
	if r.st == nil {
		return nil
	}
	return r.st.Scan(rulePrefix, func(key string, value []byte) error {
		rec, err := decodeRule(value)
		if err == nil && key != rulePrefix+rec.Name {
			err = ErrRuleInvalid
		}
		if err != nil {
			r.log.Warn("skipped an unreadable stored rule", "key", strings.ToValidUTF8(key, "?"), "err", err)
			return nil
		}
		r.applyLocked(rec)
		r.clock.Update(rec.Version)
		return nil
	})
}

// applyLocked merges rec into the state and, if it changed it, keeps its
// encoding and moves the generation. r.mu is held (or r not yet shared).
func (r *RuleRegistry) applyLocked(rec RuleRecord) bool {
	if !r.state.apply(rec) {
		return false
	}
	r.forgetLocked(rec.Name)
	b := string(rec.canonical())
	r.enc[rec.Name], r.known[b] = b, struct{}{}
	r.digest = ""
	r.gen.Add(1)
	return true
}

// forgetLocked drops the kept encoding of the rule name.
func (r *RuleRegistry) forgetLocked(name string) {
	if old, ok := r.enc[name]; ok {
		delete(r.known, old)
		delete(r.enc, name)
	}
}
