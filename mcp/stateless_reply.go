package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"
)

// errNoInputRequired is what a stateless caller's Client.Request returns: the
// 2026-07-28 revision sends server-to-client requests as input_required
// results (the upstream's held calls, upstream_held.go), never on a stream.
var errNoInputRequired = errors.New("the caller speaks protocol version " + StatelessVersion +
	", which takes server requests only as input_required results of tools/call, prompts/get and resources/read")

// statelessReply answers one 2026-07-28 request: one JSON body, or an SSE
// stream once a notification for the request comes before its answer (and
// the client accepts text/event-stream). Nothing is sent after the answer.
type statelessReply struct {
	w   http.ResponseWriter
	s   *Server
	sse bool // the client accepts text/event-stream

	mu   sync.Mutex
	sw   *sseWriter // set once streaming
	done bool
}

// notify sends m on the request's stream, starting it if need be; it is
// dropped once the answer is sent, or when the client takes JSON only.
func (rp *statelessReply) notify(m *Message) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.done || !rp.sse {
		return nil
	}
	if rp.sw == nil {
		rp.sw = rp.s.startSSE(rp.w, nil)
	}
	return rp.sw.message(data)
}

// finish sends the answer: as the stream's last event, or as JSON.
func (rp *statelessReply) finish(status int, m *Message) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	rp.done = true
	if rp.sw == nil {
		writeMessage(rp.w, status, m)
		return
	}
	if data, err := json.Marshal(m); err == nil {
		_ = rp.sw.message(data)
	}
}

// statelessClient is the way back to a 2026-07-28 caller: the response
// stream of its request, for that request's progress and (when _meta set a
// log level) log messages. It has no session.
type statelessClient struct {
	reply *statelessReply
	meta  requestMeta
	id    string // names this request's way back (see SessionID)
	done  <-chan struct{}
	start time.Time
}

var _ Client = (*statelessClient)(nil)

// SessionID names the request's response stream, which lasts as long as
// the request: a Backend that needs a way back to the caller for the
// request (a forward that relays progress and logs) sees one.
func (p *statelessClient) SessionID() string             { return p.id }
func (p *statelessClient) Capabilities() json.RawMessage { return p.meta.caps }
func (p *statelessClient) LogLevel() string              { return p.meta.logLevel }
func (p *statelessClient) Done() <-chan struct{}         { return p.done }

// Notify sends the request-scoped notifications (progress, and log
// messages when the request set a log level) on the request's stream;
// others (list changes, resource updates) belong on a subscriptions/listen
// stream and are dropped here.
func (p *statelessClient) Notify(_ context.Context, method string, params any) error {
	switch {
	case method == "notifications/progress":
	case method == "notifications/message" && p.meta.logLevel != "":
	default:
		return nil
	}
	m, err := NewNotification(method, params)
	if err != nil {
		return err
	}
	return p.reply.notify(m)
}

func (p *statelessClient) Request(context.Context, string, any) (json.RawMessage, error) {
	return nil, errNoInputRequired
}

func (p *statelessClient) elapsed() time.Duration { return time.Since(p.start) }
