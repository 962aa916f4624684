package cluster

import (
	"slices"
	"strings"
	"time"

	"github.com/mcpmesh/mcpmesh/store"
)

// maxRebroadcast bounds how many records learned from one push-pull are
// re-broadcast; the rest spread by anti-entropy.
const maxRebroadcast = 64

// receiveMsg merges a broadcast record. A record that was new here is
// re-broadcast (once: receivers that already have it do not), as it stands
// after settling. Bad input is dropped and logged (rate-limited).
func (r *Registry) receiveMsg(msg []byte) {
	rec, err := decodeRecordMsg(msg)
	if err != nil {
		r.drops.warn("dropped a gossip message", "err", err)
		return
	}
	for _, c := range r.mergeBatch([]PeerRecord{rec}) {
		r.rebroadcast(c)
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
	for i, c := range r.mergeBatch(recs) {
		if i == maxRebroadcast {
			break
		}
		r.rebroadcast(c)
	}
}

// mergeBatch merges valid records from the ring, then settles the members
// they name (one live record per member, see peerState). It returns the
// records that changed the registry as they stand afterwards (a record that
// lost its member comes back as its tombstone), sorted by name.
func (r *Registry) mergeBatch(recs []PeerRecord) []PeerRecord {
	r.mu.Lock()
	out := r.mergeSettleLocked(recs)
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

// mergeSettleLocked is mergeBatch's work on the state. r.mu is held.
func (r *Registry) mergeSettleLocked(recs []PeerRecord) []PeerRecord {
	now := r.now()
	names, members := map[string]bool{}, map[string]bool{}
	for _, rec := range recs {
		if r.admitLocked(rec, now) && r.applyRemoteLocked(rec) {
			names[rec.Name], members[rec.Member] = true, true
		}
	}
	for _, t := range r.state.settle(members) {
		names[t.Name] = true
		r.logLostMemberLocked(t)
	}
	out := make([]PeerRecord, 0, len(names))
	for name := range names {
		out = append(out, r.state[name])
		r.unstored[name] = struct{}{}
		r.digest = ""
	}
	slices.SortFunc(out, func(a, b PeerRecord) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// admitLocked refuses records dated too far in the future (they would win
// every later write) and ignores expired tombstones (they were collected
// here already).
func (r *Registry) admitLocked(rec PeerRecord, now time.Time) bool {
	if rec.Version.Time().After(now.Add(r.maxSkew)) {
		r.counts.refused.Add(1)
		r.drops.warn("dropped a peer record from the future", "peer", rec.Name, "version", rec.Version, "writer", rec.Writer)
		return false
	}
	if rec.Deleted && r.tombTTL > 0 && rec.Version.Time().Before(now.Add(-r.tombTTL)) {
		r.counts.stale.Add(1)
		return false
	}
	return true
}

// applyRemoteLocked merges one record and reports whether it changed the
// state. r.mu is held.
func (r *Registry) applyRemoteLocked(rec PeerRecord) bool {
	cur, had := r.state[rec.Name]
	changed := r.state.apply(rec)
	r.noteRemoteLocked(rec, cur, had, changed)
	if changed {
		r.clock.Update(rec.Version)
	}
	return changed
}

// logLostMemberLocked logs that a live record lost its member to a later
// record of another name and became a tombstone: once per record version,
// as settle makes each tombstone once. r.mu is held.
func (r *Registry) logLostMemberLocked(lost PeerRecord) {
	won, _ := r.state.winner(lost.Member)
	r.log.Warn("peer record lost its member to a later record: one record per member is kept",
		"peer", lost.Name, "member", lost.Member, "version", lost.Version, "writer", lost.Writer,
		"kept", won.Name, "kept_version", won.Version, "kept_deleted", won.Deleted)
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
// The state is settled (a store written before records were settled may
// hold two live records for a member); the tombstones that makes are
// persisted by the next flush.
func (r *Registry) load() error {
	if r.st == nil {
		return nil
	}
	if err := r.scanStore(); err != nil {
		return err
	}
	for _, t := range r.state.settle(nil) {
		r.unstored[t.Name] = struct{}{}
		r.logLostMemberLocked(t)
	}
	return nil
}

func (r *Registry) scanStore() error {
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
