package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
)

// The events hub behind GET /api/events: one loop reads the node's state
// (members, peers, rules, tools, services) every eventTick while a
// dashboard listens, and sends each subscriber what changed; every second
// it closes a second of call counters and sends it. A subscriber that does
// not keep up (its queue of subscriberQueue events fills) is dropped, never
// buffered for; Drain ends every stream.
const (
	eventTick       = 200 * time.Millisecond
	subscriberQueue = 256
)

// sseEvent is one server-sent event: its name and its JSON data.
type sseEvent struct {
	name string
	data []byte
}

// eventSub is one /api/events stream. Its channel is closed when the hub
// drops it (too slow) or ends (the node drains).
type eventSub struct {
	ch chan sseEvent
}

// eventHub fans the node's changes out to the subscribers.
type eventHub struct {
	read  func() *uiState // the node's state now
	calls *callRecorder
	kinds func(string) string // a call source's kind

	mu       sync.Mutex
	last     *uiState
	sections map[string][]byte // the last state's sections, as sent
	subs     map[*eventSub]struct{}
	dropped  int // subscribers dropped for being too slow
	closed   bool
}

func newEventHub(read func() *uiState, kinds func(string) string) *eventHub {
	return &eventHub{read: read, calls: newCallRecorder(), kinds: kinds, subs: map[*eventSub]struct{}{}}
}

// snapshot is the first event of a stream: the state and the calls kept.
type snapshot struct {
	uiState
	Calls []callSample `json:"calls"`
}

// subscribe adds a subscriber whose first event is the state now; ok is
// false once the hub has ended.
func (h *eventHub) subscribe() (*eventSub, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	h.stepLocked()
	s := &eventSub{ch: make(chan sseEvent, subscriberQueue)}
	s.ch <- newEvent("snapshot", snapshot{*h.last, h.calls.samples()})
	h.subs[s] = struct{}{}
	return s, true
}

// unsubscribe removes s (a stream that ended); safe after a drop.
func (h *eventHub) unsubscribe(s *eventSub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.ch)
	}
}

// run reads the state every eventTick and the calls every second until
// ctx ends.
func (h *eventHub) run(ctx context.Context) {
	tick := time.NewTicker(eventTick)
	defer tick.Stop()
	next := time.Now().Add(time.Second)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			h.step()
			if !now.Before(next) {
				next = next.Add(time.Second)
				h.rollCalls(now)
			}
		}
	}
}

// step sends what changed since the last look, if anyone listens.
func (h *eventHub) step() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) > 0 {
		h.stepLocked()
	}
}

// stepLocked reads the state and sends its changes to the subscribers.
func (h *eventHub) stepLocked() {
	cur := h.read()
	sections := map[string][]byte{}
	for _, name := range uiSections {
		sections[name], _ = json.Marshal(cur.section(name))
	}
	if h.last != nil {
		for _, c := range memberChanges(h.last.Members, cur.Members) {
			h.sendLocked(newEvent("member", c))
		}
		for _, name := range uiSections {
			if !bytes.Equal(h.sections[name], sections[name]) {
				h.sendLocked(sseEvent{name: name, data: sections[name]})
			}
		}
	}
	h.last, h.sections = cur, sections
}

// rollCalls closes a second of calls and sends it.
func (h *eventHub) rollCalls(now time.Time) {
	s := h.calls.roll(now, h.kinds)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sendLocked(newEvent("calls", s))
}

// sendLocked queues e for every subscriber, dropping those whose queue is
// full.
func (h *eventHub) sendLocked(e sseEvent) {
	for s := range h.subs {
		select {
		case s.ch <- e:
		default:
			delete(h.subs, s)
			close(s.ch)
			h.dropped++
		}
	}
}

// close ends every stream and refuses new ones.
func (h *eventHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		delete(h.subs, s)
		close(s.ch)
	}
}

func newEvent(name string, v any) sseEvent {
	b, _ := json.Marshal(v)
	return sseEvent{name: name, data: b}
}

// callKind names what a call source is: this node (local), one of its
// peers or services, or other.
func (g *Gateway) callKind(name string) string {
	if name == g.name {
		return "local"
	}
	if g.fed == nil {
		return "other"
	}
	if _, ok := g.fed.Peer(name); ok {
		return "peer"
	}
	if slices.ContainsFunc(g.fed.Services(context.Background()), func(v api.Service) bool { return v.Name == name }) {
		return "service"
	}
	return "other"
}
