package cluster

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Member states.
const (
	StateAlive   = "alive"
	StateSuspect = "suspect"
	StateDead    = "dead"
	StateLeft    = "left"
)

// Member is one ring member as this node sees it.
type Member struct {
	Name  string    // node name
	Addr  string    // gossip address, host:port
	Meta  NodeMeta  // what the member gossips about itself
	State string    // StateAlive, StateSuspect, StateDead or StateLeft
	Since time.Time // when State last changed (as seen here)
}

// entry is a member plus what the table needs to track about it.
type entry struct {
	Member
	conflictAddr string // an address another node of this name claimed
}

// memberTable is the Node's own view of every member seen and not reaped,
// fed by memberlist's events (memberlist itself forgets dead members and
// does not expose suspicion). Its methods return the events to emit; they
// never call memberlist, since they run inside its callbacks.
type memberTable struct {
	self string
	now  func() time.Time

	mu       sync.Mutex
	m        map[string]*entry
	snapshot map[string]string   // persisted name → gossip address
	ids      map[string]string   // persisted name → node id (identity.go)
	unstored map[string]struct{} // snapshot names to write or delete
}

func newMemberTable(self string, snapshot map[string]string) *memberTable {
	return &memberTable{self: self, now: time.Now, m: map[string]*entry{},
		snapshot: snapshot, ids: map[string]string{}, unstored: map[string]struct{}{}}
}

// ev returns a member event for e, or none for the local node.
func (t *memberTable) ev(typ EventType, e *entry) []Event {
	if e.Name == t.self {
		return nil
	}
	return []Event{{Type: typ, Member: e.Member}}
}

// setState changes e's state and its Since.
func (t *memberTable) setState(e *entry, state string) {
	if e.State != state {
		e.State, e.Since = state, t.now()
	}
}

// remember records name's address and id in the snapshot (not the local
// node's).
func (t *memberTable) remember(name, addr, id string) {
	if name != t.self && (t.snapshot[name] != addr || t.ids[name] != id) {
		t.snapshot[name], t.ids[name] = addr, id
		t.unstored[name] = struct{}{}
	}
}

// forget removes name from the snapshot.
func (t *memberTable) forget(name string) {
	if _, ok := t.snapshot[name]; ok {
		delete(t.snapshot, name)
		delete(t.ids, name)
		t.unstored[name] = struct{}{}
	}
}

// alive handles memberlist's join and update notifications.
func (t *memberTable) alive(n *memberlist.Node, meta NodeMeta, leaving bool) []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	addr := n.Address()
	e, ok := t.m[n.Name]
	if !ok {
		e = &entry{Member: Member{Name: n.Name}}
		t.m[n.Name] = e
	}
	wasUp := ok && (e.State == StateAlive || e.State == StateSuspect)
	metaChanged := e.Meta != meta || e.Addr != addr
	e.Addr, e.Meta, e.conflictAddr = addr, meta, ""
	t.setState(e, StateAlive)
	if !leaving {
		t.remember(n.Name, addr, meta.ID)
	}
	switch {
	case !wasUp:
		return t.ev(MemberJoin, e)
	case metaChanged:
		return t.ev(MemberUpdate, e)
	}
	return nil
}

// down handles memberlist's leave notification: left when the member had
// announced its leave in its meta, dead otherwise.
func (t *memberTable) down(n *memberlist.Node, leaving bool) []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[n.Name]
	if !ok {
		e = &entry{Member: Member{Name: n.Name, Addr: n.Address()}}
		t.m[n.Name] = e
	}
	if leaving {
		t.setState(e, StateLeft)
		t.forget(n.Name)
		return t.ev(MemberLeft, e)
	}
	t.setState(e, StateDead)
	return t.ev(MemberFailed, e)
}

// suspect marks name suspect when this node's probe of it failed.
func (t *memberTable) suspect(name string) []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[name]
	if !ok || e.State != StateAlive {
		return nil
	}
	t.setState(e, StateSuspect)
	return t.ev(MemberSuspect, e)
}

// conflict notes that another node claimed name from addr.
func (t *memberTable) conflict(name, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.m[name]; ok && e.Addr != addr {
		e.conflictAddr = addr
	}
}

// setLocal records the local node's state, address and meta.
func (t *memberTable) setLocal(state, addr string, meta NodeMeta) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[t.self]
	if !ok {
		e = &entry{Member: Member{Name: t.self}}
		t.m[t.self] = e
	}
	e.Addr, e.Meta = addr, meta
	t.setState(e, state)
}

// upCount returns how many members are alive or suspect, this node
// included. The broadcast queue sizes retransmissions with it (under this
// table's lock, never memberlist's).
func (t *memberTable) upCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, e := range t.m {
		if e.State == StateAlive || e.State == StateSuspect {
			n++
		}
	}
	return max(n, 1)
}

// list returns every member, sorted by name.
func (t *memberTable) list() []Member {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Member, 0, len(t.m))
	for _, e := range t.m {
		out = append(out, e.Member)
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// get returns the member name.
func (t *memberTable) get(name string) (Member, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[name]
	if !ok {
		return Member{}, false
	}
	return e.Member, true
}
