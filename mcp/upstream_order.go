package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"time"
)

// upOrder keeps relayed notifications ahead of the results they precede.
//
// The SDK reads a server's messages in order but hands notifications to a
// handler goroutine while it delivers responses at once, so a call can
// return before the log messages and progress the server sent ahead of its
// result are relayed (and then they would miss the call's stream). The
// transports therefore tap the bytes they read and count such notifications
// (seen) as they arrive; the handlers count those they relayed (handled);
// and a call, once answered, waits until handled reaches what was seen by
// then, at most upOrderWait.
type upOrder struct {
	mu      sync.Mutex
	seen    uint64
	handled uint64
	wake    chan struct{}
}

const upOrderWait = time.Second

func (o *upOrder) saw() {
	o.mu.Lock()
	o.seen++
	o.mu.Unlock()
}

func (o *upOrder) done() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.handled++
	o.seen = max(o.seen, o.handled) // one the tap missed
	if o.wake != nil {
		close(o.wake)
		o.wake = nil
	}
}

func (o *upOrder) mark() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.seen
}

// await waits until the notifications seen up to mark are relayed. On
// timeout it catches up, so that one notification the SDK dropped does not
// slow every later call.
func (o *upOrder) await(ctx context.Context, mark uint64) {
	timer := time.NewTimer(upOrderWait)
	defer timer.Stop()
	for {
		o.mu.Lock()
		if o.handled >= mark {
			o.mu.Unlock()
			return
		}
		if o.wake == nil {
			o.wake = make(chan struct{})
		}
		wake := o.wake
		o.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return
		case <-timer.C:
			o.mu.Lock()
			o.handled = max(o.handled, mark)
			o.mu.Unlock()
			return
		}
	}
}

// upTapMax bounds a line the tap keeps; longer ones (large results) are
// skipped, as no relayed notification is that large in practice.
const upTapMax = 1 << 20

// upTap scans a stream of newline-delimited JSON (stdio) or of SSE events
// (Streamable HTTP) and calls seen for each log or progress notification.
type upTap struct {
	sse    bool
	seen   func()
	answer func() // SSE: called for a response (if not nil)
	buf    []byte
	skip   bool   // the current line is too long: ignore it up to its end
	data   []byte // SSE: the current event's data
}

func (t *upTap) feed(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			t.keep(p)
			return
		}
		t.keep(p[:i])
		p = p[i+1:]
		t.endLine()
	}
}

func (t *upTap) keep(b []byte) {
	if t.skip {
		return
	}
	if len(t.buf)+len(b) > upTapMax {
		t.skip, t.buf = true, t.buf[:0]
		return
	}
	t.buf = append(t.buf, b...)
}

func (t *upTap) endLine() {
	line := bytes.TrimSuffix(t.buf, []byte("\r"))
	skipped := t.skip
	t.buf, t.skip = t.buf[:0], false
	switch {
	case skipped:
		t.data = t.data[:0]
	case !t.sse:
		t.message(line)
	case len(line) == 0:
		t.message(t.data)
		t.data = t.data[:0]
	case bytes.HasPrefix(line, []byte("data:")) && len(t.data)+len(line) <= upTapMax:
		if len(t.data) > 0 {
			t.data = append(t.data, '\n')
		}
		t.data = append(t.data, bytes.TrimPrefix(line[5:], []byte(" "))...)
	}
}

func (t *upTap) message(raw []byte) {
	if t.answer != nil && upIsResponse(raw) {
		t.answer()
	}
	if !bytes.Contains(raw, []byte("notifications/")) {
		return
	}
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if json.Unmarshal(raw, &m) != nil || m.ID != nil {
		return
	}
	if m.Method == "notifications/message" || m.Method == "notifications/progress" {
		t.seen()
	}
}

// upIsResponse tells a JSON-RPC response (an id, no method) from a
// request or a notification.
func upIsResponse(raw []byte) bool {
	return nonNull(field(raw, "id")) != nil && field(raw, "method") == nil
}
