package cluster

import (
	"sync"
	"sync/atomic"
)

// EventType says what an Event reports.
type EventType int

// Event types. Member events are about other members: the local node's own
// changes are not reported.
const (
	MemberJoin      EventType = iota + 1 // a member joined, or came back from dead or left
	MemberUpdate                         // a member's meta changed, or a suspect member proved alive
	MemberSuspect                        // this node's probe of the member failed (see Member.State)
	MemberFailed                         // the ring declared the member dead
	MemberLeft                           // the member left gracefully
	MemberReaped                         // a dead or left member was forgotten
	RegistryChanged                      // a peer record changed (Event.Peer)
	RulesChanged                         // an access rule changed (Event.Rule)
)

var eventNames = map[EventType]string{
	MemberJoin: "member-join", MemberUpdate: "member-update", MemberSuspect: "member-suspect",
	MemberFailed: "member-failed", MemberLeft: "member-left", MemberReaped: "member-reaped",
	RegistryChanged: "registry-changed", RulesChanged: "rules-changed",
}

// String returns the event type's name, e.g. "member-join".
func (t EventType) String() string {
	if s, ok := eventNames[t]; ok {
		return s
	}
	return "unknown"
}

// Event is one change of the ring. Member is set for member events (as the
// member is after the change); Peer for RegistryChanged (the record as
// merged; Peer.Deleted for a removal).
type Event struct {
	Type   EventType
	Member Member
	Peer   PeerRecord
	Rule   RuleRecord
}

// eventQueue is a bounded channel that drops its oldest event when full, so
// that memberlist's goroutines, which produce events, never block on a slow
// consumer. Consumers should treat events as hints and read the current
// state (Members, Registry) when they act; DroppedEvents counts the losses.
type eventQueue struct {
	mu      sync.Mutex
	ch      chan Event
	closed  bool
	dropped atomic.Uint64
}

func newEventQueue(size int) *eventQueue {
	return &eventQueue{ch: make(chan Event, size)}
}

// push adds e, dropping the oldest queued event if the channel is full.
func (q *eventQueue) push(e Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	for {
		select {
		case q.ch <- e:
			return
		default:
		}
		select {
		case <-q.ch:
			q.dropped.Add(1)
		default:
		}
	}
}

// close closes the channel; later pushes are ignored.
func (q *eventQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
}
