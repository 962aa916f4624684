package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// maxStreamEvents bounds the events a stream keeps for resumption.
const maxStreamEvents = 1024

// event is one SSE event: its id within the session and the message.
type event struct {
	seq  int
	data []byte
}

// stream is one logical SSE stream of a session: the standalone stream
// (id 0, fed by GET) or the stream of one POSTed request. It keeps its
// recent events so a client can resume it with Last-Event-ID.
type stream struct {
	id int

	mu      sync.Mutex
	events  []event
	next    int // seq of the next event
	done    bool
	changed chan struct{} // closed and replaced on every append or finish
}

func newStream(id int) *stream {
	return &stream{id: id, next: 1, changed: make(chan struct{})}
}

// eventID formats the SSE id of event seq on this stream.
func (st *stream) eventID(seq int) string { return fmt.Sprintf("%d_%d", st.id, seq) }

// parseEventID splits an SSE id made by eventID.
func parseEventID(id string) (streamID, seq int, err error) {
	a, b, ok := strings.Cut(id, "_")
	if ok {
		streamID, err = strconv.Atoi(a)
	}
	if ok && err == nil {
		seq, err = strconv.Atoi(b)
	}
	if !ok || err != nil || streamID < 0 || seq < 0 {
		return 0, 0, fmt.Errorf("malformed Last-Event-ID %q", id)
	}
	return streamID, seq, nil
}

// send appends a message; it reports false once the stream is finished.
func (st *stream) send(m *Message) bool {
	data, err := json.Marshal(m)
	if err != nil {
		return false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.done {
		return false
	}
	st.events = append(st.events, event{seq: st.next, data: data})
	st.next++
	if len(st.events) > maxStreamEvents {
		st.events = st.events[len(st.events)-maxStreamEvents:]
	}
	st.wake()
	return true
}

// finish marks the stream complete: followers end after its last event.
func (st *stream) finish() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.done {
		st.done = true
		st.wake()
	}
}

func (st *stream) wake() {
	close(st.changed)
	st.changed = make(chan struct{})
}

// after returns the kept events with seq > seq, whether the stream is done,
// and a channel closed at the next change.
func (st *stream) after(seq int) ([]event, bool, <-chan struct{}) {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []event
	for _, e := range st.events {
		if e.seq > seq {
			out = append(out, e)
		}
	}
	return out, st.done, st.changed
}

// last is the seq of the newest event (0 if none).
func (st *stream) last() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.next - 1
}

// follow writes the stream's events after seq to w until the stream is done,
// ctx ends, or a write fails (a keep-alive comment included: that is how a
// quiet stream notices its client is gone).
func (st *stream) follow(ctx context.Context, w *sseWriter, seq int) error {
	tick, stop := w.ticks()
	defer stop()
	for {
		evs, done, changed := st.after(seq)
		for _, e := range evs {
			if err := w.event(st.eventID(e.seq), e.data); err != nil {
				return err
			}
			seq = e.seq
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-tick:
			if err := w.comment("keep-alive"); err != nil {
				return err
			}
		}
	}
}

// open reports whether the stream still takes events.
func (st *stream) open() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return !st.done
}
