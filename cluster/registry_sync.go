package cluster

// receiveMsg merges a broadcast record. A record that was new here is
// re-broadcast (once: receivers that already have it do not), as it stands
// after settling. Bad input is dropped and logged (rate-limited).
func (r *Registry) receiveMsg(msg []byte) {
	rec, err := decodeRecordMsg(msg)
	if err != nil {
		r.drops.warn("dropped a gossip message", "err", err)
		return
	}
	r.spread([]PeerRecord{rec})
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
	r.spread(recs)
}

// settleLocked keeps one live record for each member the merged records
// name (every member when merged is nil), see peerState, and logs the
// records that lost their member. r.mu is held.
func (r *Registry) settleLocked(merged []PeerRecord) []PeerRecord {
	var members map[string]bool
	if merged != nil {
		members = map[string]bool{}
		for _, rec := range merged {
			members[rec.Member] = true
		}
	}
	made := peerState(r.state).settle(members)
	for _, t := range made {
		r.logLostMemberLocked(t)
	}
	return made
}

// logLostMemberLocked logs that a live record lost its member to a later
// record of another name and became a tombstone: once per record version,
// as settle makes each tombstone once. r.mu is held.
func (r *Registry) logLostMemberLocked(lost PeerRecord) {
	won, _ := peerState(r.state).winner(lost.Member)
	r.log.Warn("peer record lost its member to a later record: one record per member is kept",
		"peer", lost.Name, "member", lost.Member, "version", lost.Version, "writer", lost.Writer,
		"kept", won.Name, "kept_version", won.Version, "kept_deleted", won.Deleted)
}

// noteDropped counts a record from the ring refused as from the future or
// ignored as an expired tombstone.
func (r *Registry) noteDropped(_ PeerRecord, future bool) {
	if future {
		r.counts.refused.Add(1)
	} else {
		r.counts.stale.Add(1)
	}
}

// collectedLocked forgets this node's write of a collected tombstone.
func (r *Registry) collectedLocked(name string) { delete(r.own, name) }
