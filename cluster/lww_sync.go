package cluster

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/mcpmesh/mcpmesh/store"
)

// maxRebroadcast bounds how many records learned from one push-pull are
// re-broadcast; the rest spread by anti-entropy.
const maxRebroadcast = 64

// spread merges records from the ring and re-broadcasts those that were
// new here (at most maxRebroadcast), as they stand after settling:
// receivers that already have them do not, so each spreads once.
func (r *lwwRegistry[R]) spread(recs []R) {
	for i, c := range r.mergeBatch(recs) {
		if i == maxRebroadcast {
			break
		}
		r.send(c)
	}
}

// mergeBatch merges valid records from the ring and settles them (see
// lwwHooks.settleLocked). It returns the records that changed the registry
// as they stand afterwards, sorted by name.
func (r *lwwRegistry[R]) mergeBatch(recs []R) []R {
	r.mu.Lock()
	out := r.mergeLocked(recs)
	r.mu.Unlock()
	if len(out) == 0 {
		return nil
	}
	r.dirty()
	for _, rec := range out {
		r.changed(rec)
	}
	return out
}

// mergeLocked is mergeBatch's work on the state. r.mu is held.
func (r *lwwRegistry[R]) mergeLocked(recs []R) []R {
	now := r.now()
	var merged []R
	for _, rec := range recs {
		if r.admit(rec, now) && r.applyRemoteLocked(rec) {
			merged = append(merged, rec)
		}
	}
	if len(merged) == 0 {
		return nil
	}
	names := map[string]bool{}
	for _, rec := range append(merged, r.settleMadeLocked(merged)...) {
		names[rec.head().name] = true
	}
	out := make([]R, 0, len(names))
	for name := range names {
		out = append(out, r.state[name])
		r.unstored[name] = struct{}{}
	}
	slices.SortFunc(out, func(a, b R) int { return strings.Compare(a.head().name, b.head().name) })
	return out
}

// settleMadeLocked runs the settle hook and keeps the tombstones it made.
func (r *lwwRegistry[R]) settleMadeLocked(merged []R) []R {
	made := r.hooks.settleLocked(merged)
	for _, t := range made {
		r.cacheLocked(t)
	}
	return made
}

// admit refuses records dated too far in the future (they would win
// every later write) and ignores expired tombstones (they were collected
// here already).
func (r *lwwRegistry[R]) admit(rec R, now time.Time) bool {
	h := rec.head()
	if h.version.Time().After(now.Add(r.maxSkew)) {
		r.hooks.noteDropped(rec, true)
		r.drops.warn("dropped a "+r.spec.what+" from the future", r.spec.noun, h.name, "version", h.version, "writer", h.writer)
		return false
	}
	if h.deleted && r.tombTTL > 0 && h.version.Time().Before(now.Add(-r.tombTTL)) {
		r.hooks.noteDropped(rec, false)
		return false
	}
	return true
}

// applyRemoteLocked merges one record from the ring and reports whether it
// changed the state. r.mu is held.
func (r *lwwRegistry[R]) applyRemoteLocked(rec R) bool {
	cur, had := r.state[rec.head().name]
	changed := r.applyLocked(rec)
	r.hooks.noteRemoteLocked(rec, cur, had, changed)
	if changed {
		r.clock.Update(rec.head().version)
	}
	return changed
}

// encodings returns every record's JSON, for a push-pull payload.
func (r *lwwRegistry[R]) encodings() []json.RawMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]json.RawMessage, 0, len(r.enc))
	for _, b := range r.enc {
		out = append(out, json.RawMessage(b))
	}
	return out
}

// unknown returns the encodings of raws this registry does not hold as
// they are.
func (r *lwwRegistry[R]) unknown(raws []json.RawMessage) []json.RawMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := raws[:0:0]
	for _, raw := range raws {
		if _, ok := r.known[string(raw)]; !ok {
			out = append(out, raw)
		}
	}
	return out
}

// flush persists the records merged from the ring since the last flush, in
// one batch. On failure they stay pending for the next flush.
func (r *lwwRegistry[R]) flush() error {
	r.persistMu.Lock()
	defer r.persistMu.Unlock()
	r.mu.Lock()
	names := r.unstored
	r.unstored = map[string]struct{}{}
	ops := make([]store.Op, 0, len(names))
	for name := range names {
		if b, ok := r.enc[name]; ok {
			ops = append(ops, store.Op{Key: r.spec.prefix + name, Value: []byte(b)})
		} else {
			ops = append(ops, store.Op{Key: r.spec.prefix + name, Delete: true})
		}
	}
	r.mu.Unlock()
	if len(ops) == 0 || r.st == nil {
		return nil
	}
	if err := r.st.Batch(ops); err != nil {
		r.mu.Lock()
		for name := range names {
			r.unstored[name] = struct{}{}
		}
		r.mu.Unlock()
		return err
	}
	return nil
}

// collectTombstones forgets tombstones older than the TTL, in memory and
// in the store (through the next flush).
func (r *lwwRegistry[R]) collectTombstones() {
	if r.tombTTL <= 0 {
		return
	}
	cutoff := r.now().Add(-r.tombTTL)
	r.mu.Lock()
	n := 0
	for name, rec := range r.state {
		if h := rec.head(); h.deleted && h.version.Time().Before(cutoff) {
			delete(r.state, name)
			r.uncacheLocked(name)
			r.hooks.collectedLocked(name)
			r.unstored[name] = struct{}{}
			n++
		}
	}
	if n > 0 {
		r.digest = ""
		r.gen.Add(1)
	}
	r.mu.Unlock()
	if n > 0 {
		r.log.Info("collected expired tombstones", "count", n)
		r.dirty()
	}
}
