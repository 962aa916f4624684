package cluster

import (
	"strings"
	"time"

	"github.com/mcpmesh/mcpmesh/store"
)

// maxRebroadcast bounds how many records learned from one push-pull are
// re-broadcast; the rest spread by anti-entropy.
const maxRebroadcast = 64

// receiveMsg merges a broadcast record. A record that was new here is
// re-broadcast (once: receivers that already have it do not). Bad input is
// dropped and logged (rate-limited).
func (r *Registry) receiveMsg(msg []byte) {
	rec, err := decodeRecordMsg(msg)
	if err != nil {
		r.drops.warn("dropped a gossip message", "err", err)
		return
	}
	if r.mergeRemote(rec) {
		r.rebroadcast(rec)
	}
}

// localState returns the push-pull payload: the whole registry.
func (r *Registry) localState() []byte {
	r.mu.Lock()
	recs := make([]PeerRecord, 0, len(r.state))
	for _, rec := range r.state {
		recs = append(recs, rec)
	}
	r.mu.Unlock()
	b, left := encodeState(recs)
	if left > 0 {
		r.drops.warn("push-pull state cut at its size limit", "records_left_out", left)
	}
	return b
}

// mergeRemoteState merges a peer's push-pull payload.
func (r *Registry) mergeRemoteState(b []byte) {
	recs, bad, err := decodeState(b)
	if err != nil {
		r.drops.warn("dropped a push-pull state", "err", err)
		return
	}
	if bad > 0 {
		r.drops.warn("dropped invalid records of a push-pull state", "count", bad)
	}
	sent := 0
	for _, rec := range recs {
		if r.mergeRemote(rec) && sent < maxRebroadcast {
			r.rebroadcast(rec)
			sent++
		}
	}
}

// mergeRemote merges one valid record from the ring and reports whether it
// changed the registry. Records dated too far in the future are refused
// (they would win every later write); expired tombstones are ignored (they
// were collected here already).
func (r *Registry) mergeRemote(rec PeerRecord) bool {
	now := r.now()
	if rec.Version.Time().After(now.Add(r.maxSkew)) {
		r.counts.refused.Add(1)
		r.drops.warn("dropped a peer record from the future", "peer", rec.Name, "version", rec.Version, "writer", rec.Writer)
		return false
	}
	if rec.Deleted && r.tombTTL > 0 && rec.Version.Time().Before(now.Add(-r.tombTTL)) {
		r.counts.stale.Add(1)
		return false
	}
	r.mu.Lock()
	cur, had := r.state[rec.Name]
	changed := r.state.apply(rec)
	r.noteRemoteLocked(rec, cur, had, changed)
	if changed {
		r.digest = ""
		r.unstored[rec.Name] = struct{}{}
	}
	r.mu.Unlock()
	if changed {
		r.clock.Update(rec.Version)
		r.dirty()
		r.changed(rec)
	}
	return changed
}

func (r *Registry) rebroadcast(rec PeerRecord) {
	if msg, err := encodeRecordMsg(rec); err == nil {
		r.broadcast(rec.Name, msg)
	}
}

// flush persists the records merged from the ring since the last flush, in
// one batch. On failure they stay pending for the next flush.
func (r *Registry) flush() error {
	r.persistMu.Lock()
	defer r.persistMu.Unlock()
	r.mu.Lock()
	names := r.unstored
	r.unstored = map[string]struct{}{}
	ops := make([]store.Op, 0, len(names))
	for name := range names {
		if rec, ok := r.state[name]; ok {
			ops = append(ops, store.Op{Key: registryPrefix + name, Value: rec.canonical()})
		} else {
			ops = append(ops, store.Op{Key: registryPrefix + name, Delete: true})
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
func (r *Registry) collectTombstones() {
	if r.tombTTL <= 0 {
		return
	}
	cutoff := r.now().Add(-r.tombTTL)
	r.mu.Lock()
	n := 0
	for name, rec := range r.state {
		if rec.Deleted && rec.Version.Time().Before(cutoff) {
			delete(r.state, name)
			delete(r.own, name)
			r.unstored[name] = struct{}{}
			n++
		}
	}
	if n > 0 {
		r.digest = ""
	}
	r.mu.Unlock()
	if n > 0 {
		r.log.Info("collected expired tombstones", "count", n)
		r.dirty()
	}
}

// load reads the records persisted in the store; a record that cannot be
// read is skipped with a warning. The clock is moved past every version.
func (r *Registry) load() error {
	if r.st == nil {
		return nil
	}
	return r.st.Scan(registryPrefix, func(key string, value []byte) error {
		rec, err := decodeRecord(value)
		if err == nil && key != registryPrefix+rec.Name {
			err = ErrInvalid
		}
		if err != nil {
			r.log.Warn("skipped an unreadable stored peer record", "key", strings.ToValidUTF8(key, "?"), "err", err)
			return nil
		}
		r.state.apply(rec)
		r.clock.Update(rec.Version)
		return nil
	})
}

// setNow replaces the registry's wall clock (tests).
func (r *Registry) setNow(now func() time.Time) {
	r.now = now
	r.clock = NewClock(now)
}
