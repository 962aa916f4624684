package cluster

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/mcpmesh/mcpmesh/store"
)

// membersPrefix is the store key prefix of the member snapshot.
const membersPrefix = "members/"

// snapshotEntry is the stored value of one known member.
type snapshotEntry struct {
	Addr string `json:"addr"`
	ID   string `json:"id,omitempty"` // its node id, so a restart does not free its name
}

// expireSuspects returns to alive the suspect members that memberlist did
// not declare dead within window: they refuted the suspicion (memberlist
// reports no event for that).
func (t *memberTable) expireSuspects(window time.Duration) []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	var evs []Event
	for _, e := range t.m {
		if e.State == StateSuspect && t.now().Sub(e.Since) > window {
			t.setState(e, StateAlive)
			evs = append(evs, t.ev(MemberUpdate, e)...)
		}
	}
	return evs
}

// reap forgets members dead for longer than reconnect or left for longer
// than left.
func (t *memberTable) reap(reconnect, left time.Duration) []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	var evs []Event
	for name, e := range t.m {
		age := t.now().Sub(e.Since)
		if (e.State == StateDead && age > reconnect) || (e.State == StateLeft && age > left) {
			delete(t.m, name)
			t.forget(name)
			evs = append(evs, t.ev(MemberReaped, e)...)
		}
	}
	return evs
}

// rejoinAddrs returns the addresses worth a join attempt: members known
// from the snapshot or seen dead that memberlist does not list as up
// (upNames), and addresses a restarted member claimed once its old
// incarnation has been dead for reclaim. Members that left are not retried.
func (t *memberTable) rejoinAddrs(upNames map[string]bool, reclaim time.Duration) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	set := map[string]bool{}
	for name, addr := range t.snapshot {
		if e, ok := t.m[name]; name != t.self && !upNames[name] && (!ok || e.State != StateLeft) {
			set[addr] = true
		}
	}
	for name, e := range t.m {
		if name == t.self || upNames[name] || e.State != StateDead {
			continue
		}
		set[e.Addr] = true
		if e.conflictAddr != "" && t.now().Sub(e.Since) > reclaim {
			set[e.conflictAddr] = true
			e.conflictAddr = "" // one attempt; the claimant's own gossip does the rest
		}
	}
	return sortedKeys(set)
}

// conflictReady reports whether a dead member's name was claimed from a new
// address long enough after its death for memberlist to accept the claim.
func (t *memberTable) conflictReady(reclaim time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range t.m {
		if e.State == StateDead && e.conflictAddr != "" && t.now().Sub(e.Since) > reclaim {
			return true
		}
	}
	return false
}

// knownAddrs returns the gossip addresses of every known member that has
// not left, snapshot included, but the local node's.
func (t *memberTable) knownAddrs() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	set := map[string]bool{}
	for name, addr := range t.snapshot {
		if name != t.self {
			set[addr] = true
		}
	}
	for name, e := range t.m {
		if name != t.self && e.State != StateLeft && e.Addr != "" {
			set[e.Addr] = true
		}
	}
	return sortedKeys(set)
}

func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k, ok := range set {
		if ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// flush persists the snapshot changes since the last flush.
func (t *memberTable) flush(st store.Store) error {
	t.mu.Lock()
	names := t.unstored
	t.unstored = map[string]struct{}{}
	ops := make([]store.Op, 0, len(names))
	for name := range names {
		op := store.Op{Key: membersPrefix + name, Delete: true}
		if addr, ok := t.snapshot[name]; ok {
			op = store.Op{Key: membersPrefix + name}
			op.Value, _ = json.Marshal(snapshotEntry{Addr: addr, ID: t.ids[name]})
		}
		ops = append(ops, op)
	}
	t.mu.Unlock()
	if len(ops) == 0 {
		return nil
	}
	if err := st.Batch(ops); err != nil {
		t.mu.Lock()
		for name := range names {
			t.unstored[name] = struct{}{}
		}
		t.mu.Unlock()
		return err
	}
	return nil
}

// loadSnapshot reads the persisted member snapshot; unreadable entries are
// skipped.
func loadSnapshot(st store.Store, self string) (map[string]string, error) {
	out := map[string]string{}
	err := st.Scan(membersPrefix, func(key string, value []byte) error {
		var se snapshotEntry
		name := key[len(membersPrefix):]
		if json.Unmarshal(value, &se) != nil || checkName(name) != nil || name == self {
			return nil
		}
		if _, _, err := splitAddr("snapshot address", se.Addr); err == nil {
			out[name] = se.Addr
		}
		return nil
	})
	return out, err
}

// loadSnapshotIDs reads the node ids of the persisted member snapshot.
func loadSnapshotIDs(st store.Store, self string) (map[string]string, error) {
	out := map[string]string{}
	err := st.Scan(membersPrefix, func(key string, value []byte) error {
		var se snapshotEntry
		name := key[len(membersPrefix):]
		if json.Unmarshal(value, &se) == nil && name != self && validNodeID(se.ID) {
			out[name] = se.ID
		}
		return nil
	})
	return out, err
}

// knownID returns the node id name is known by here and the state it is
// known in: from the table, else from the persisted snapshot.
func (t *memberTable) knownID(name string) (id, state string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[name]
	switch {
	case ok && e.Meta.ID != "":
		return e.Meta.ID, e.State
	case ok:
		return t.ids[name], e.State
	}
	return t.ids[name], "known from the member snapshot"
}
