package cluster

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcpmesh/mcpmesh/store"
)

// lwwSpec is what tells one kind of replicated record from another.
type lwwSpec[R any] struct {
	noun    string // in log keys and errors: "peer", "rule"
	what    string // in log messages: "peer record", "rule"
	prefix  string // store key prefix; a record is kept under prefix+name
	msgType byte   // first byte of a broadcast of one record
	invalid error  // wrapped by the errors of bad records
	// checkSize refuses a local write whose canonical encoding is n bytes.
	checkSize func(name string, n int) error
	decode    func(b []byte) (R, error) // one record's JSON, validated
}

// lwwHooks are a registry's own rules around the shared machinery. They
// run with the registry's mu held (or before it is shared, in load) and
// must not block.
type lwwHooks[R any] interface {
	noteLocalLocked(name string, base HLC, applied bool) // a local write of name replaced base
	noteRemoteLocked(rec, cur R, had, applied bool)      // rec from the ring met cur
	noteDropped(rec R, future bool)                      // refused (future) or expired
	settleLocked(merged []R) []R                         // tombstones made after a merge (nil: all)
	collectedLocked(name string)                         // an expired tombstone was forgotten
}

// lwwRegistry is the machinery both replicated registries share: a
// last-writer-wins state (see record and lwwCompare for the merge laws),
// local writes with HLC versions, persisted before they return and then
// broadcast; records from the ring merged at once and persisted by the
// Node's persister (flush); tombstones collected after the TTL; push-pull
// repair. It is safe for concurrent use; Registry and RuleRegistry embed it.
type lwwRegistry[R record[R]] struct {
	spec    lwwSpec[R]
	hooks   lwwHooks[R]
	self    string
	clock   *Clock
	st      store.Store
	log     *slog.Logger
	drops   *rateLimited
	now     func() time.Time
	maxSkew time.Duration
	tombTTL time.Duration

	// Hooks set by the Node before gossip starts; each must not block.
	broadcast func(name string, msg []byte) // send to the ring
	changed   func(R)                       // report a change
	dirty     func()                        // wake the persister

	persistMu sync.Mutex // serialises writes to the store (taken before mu)

	gen atomic.Uint64 // bumped on every change of state

	mu       sync.Mutex
	state    map[string]R
	digest   string              // cached Digest; "" when stale
	unstored map[string]struct{} // names merged but not yet persisted
	// enc is each record's canonical encoding, and known the set of them,
	// so that push-pull sends them without encoding and skips, unread, the
	// records it already holds (the common case).
	enc   map[string]string
	known map[string]struct{}
}

// init readies r (not yet loaded: see load).
func (r *lwwRegistry[R]) init(self string, st store.Store, log *slog.Logger, skew, ttl time.Duration, spec lwwSpec[R], hooks lwwHooks[R]) {
	r.spec, r.hooks, r.self, r.st, r.log = spec, hooks, self, st, log
	r.clock, r.now, r.maxSkew, r.tombTTL = NewClock(nil), time.Now, skew, ttl
	r.state, r.unstored = map[string]R{}, map[string]struct{}{}
	r.enc, r.known = map[string]string{}, map[string]struct{}{}
	r.broadcast, r.changed, r.dirty = func(string, []byte) {}, func(R) {}, func() {}
	r.drops = &rateLimited{log: log, period: 10 * time.Second}
}

// write is the path of every local write: build the new record from the
// current one, stamp, validate, persist, apply, broadcast. Nothing changes
// when it returns an error.
func (r *lwwRegistry[R]) write(name string, build func(cur R, live bool) (R, error)) (R, error) {
	var zero R
	r.persistMu.Lock()
	defer r.persistMu.Unlock()
	rec, err := r.prepare(name, build)
	if err != nil {
		return zero, err
	}
	if r.st != nil {
		if err := r.st.Put(r.spec.prefix+name, rec.canonical()); err != nil {
			return zero, fmt.Errorf("persist %s %q: %w", r.spec.noun, name, err)
		}
	}
	r.mu.Lock()
	base := r.state[name].head().version
	changed := r.applyLocked(rec)
	r.hooks.noteLocalLocked(name, base, changed)
	r.mu.Unlock()
	if changed {
		r.send(rec)
		r.changed(rec)
	}
	return rec, nil
}

// prepare builds (under mu), stamps and validates a local write of name.
func (r *lwwRegistry[R]) prepare(name string, build func(cur R, live bool) (R, error)) (R, error) {
	r.mu.Lock()
	cur, ok := r.state[name]
	rec, err := build(cur, ok && !cur.head().deleted)
	r.mu.Unlock()
	if err != nil {
		return rec, err
	}
	rec = lwwStamp(rec, name, r.self, r.now(), r.clock.Now())
	if err := rec.check(); err != nil {
		return rec, err
	}
	return rec, r.spec.checkSize(name, len(rec.canonical()))
}

// update changes the live record name with edit; notFound if none.
func (r *lwwRegistry[R]) update(name string, notFound error, edit func(*R) error) (R, error) {
	return r.write(name, func(cur R, live bool) (R, error) {
		if !live {
			return cur, fmt.Errorf("%w: %q", notFound, name)
		}
		return cur, edit(&cur)
	})
}

// remove replaces the live record name by a tombstone; notFound if none.
func (r *lwwRegistry[R]) remove(name string, notFound error) error {
	_, err := r.update(name, notFound, func(cur *R) error {
		*cur = lwwTombstone(*cur)
		return nil
	})
	return err
}

// send broadcasts rec, unless it is too big for one gossip packet
// (push-pull carries it).
func (r *lwwRegistry[R]) send(rec R) {
	msg := append([]byte{r.spec.msgType}, rec.canonical()...)
	name := rec.head().name
	if len(msg) > maxRecordBytes {
		r.log.Debug(r.spec.what+" too big to broadcast: push-pull carries it", r.spec.noun, name, "bytes", len(msg))
		return
	}
	r.broadcast(name, msg)
}

// Get returns the live record name.
func (r *lwwRegistry[R]) Get(name string) (R, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, ok := r.state[name]
	return rec, ok && !rec.head().deleted
}

// List returns the live records, sorted by name.
func (r *lwwRegistry[R]) List() []R {
	var out []R
	for _, rec := range r.All() {
		if !rec.head().deleted {
			out = append(out, rec)
		}
	}
	return out
}

// All returns every record, tombstones included, sorted by name.
func (r *lwwRegistry[R]) All() []R {
	r.mu.Lock()
	defer r.mu.Unlock()
	return lwwSorted(r.state)
}

// Digest is a hash of every record, tombstones included: equal on every
// node once the registry has converged.
func (r *lwwRegistry[R]) Digest() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.digest == "" {
		r.digest = lwwDigest(r.state)
	}
	return r.digest
}

// applyLocked merges rec into the state and, if that changed it, caches
// its encoding. r.mu is held (or r not yet shared).
func (r *lwwRegistry[R]) applyLocked(rec R) bool {
	if !lwwApply(r.state, rec) {
		return false
	}
	r.cacheLocked(rec)
	return true
}

// cacheLocked notes that rec is now the state's record of its name: its
// encoding kept, the digest stale, the generation moved.
func (r *lwwRegistry[R]) cacheLocked(rec R) {
	name := rec.head().name
	r.uncacheLocked(name)
	b := string(rec.canonical())
	r.enc[name], r.known[b] = b, struct{}{}
	r.digest = ""
	r.gen.Add(1)
}

// uncacheLocked drops the kept encoding of the record name.
func (r *lwwRegistry[R]) uncacheLocked(name string) {
	if old, ok := r.enc[name]; ok {
		delete(r.known, old)
		delete(r.enc, name)
	}
}
