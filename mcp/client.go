package mcp

import (
	"context"
	"encoding/json"
	"errors"
)

// errNoSession is what a sessionless caller's Client.Request returns.
var errNoSession = errors.New("the client has no session to receive server requests: initialize a session first")

// sessionClient is the way back to a client with a session. st is the stream
// of the request being served, or nil when the client asked for a plain
// JSON answer (then only the standalone GET stream can carry messages).
type sessionClient struct {
	s  *session
	st *stream
}

var _ Client = (*sessionClient)(nil)

func (p *sessionClient) SessionID() string             { return p.s.id }
func (p *sessionClient) Capabilities() json.RawMessage { return p.s.caps }
func (p *sessionClient) Done() <-chan struct{}         { return p.s.ctx.Done() }
func (p *sessionClient) LogLevel() string              { return p.s.logLevel.Load().(string) }

// Notify sends on the request's stream while it is open; afterwards, or for
// a JSON-mode request, on the standalone stream — except progress, which
// means nothing once its request is answered.
func (p *sessionClient) Notify(_ context.Context, method string, params any) error {
	m, err := NewNotification(method, params)
	if err != nil {
		return err
	}
	if p.st != nil && p.st.send(m) {
		return nil
	}
	if method != "notifications/progress" {
		p.s.standalone().send(m)
	}
	return nil
}

// Request sends a request to the client (sampling, elicitation, roots) and
// waits for its answer.
func (p *sessionClient) Request(ctx context.Context, method string, params any) (json.RawMessage, error) {
	st := p.st
	if st == nil || !st.open() {
		st = p.s.standalone()
	}
	return p.s.request(ctx, st, method, params)
}

// noClient is the way back to a sessionless caller: there is none. Its Done
// is the HTTP request's.
type noClient struct{ done <-chan struct{} }

var _ Client = noClient{}

func (noClient) SessionID() string                         { return "" }
func (noClient) Capabilities() json.RawMessage             { return nil }
func (noClient) LogLevel() string                          { return "" }
func (p noClient) Done() <-chan struct{}                   { return p.done }
func (noClient) Notify(context.Context, string, any) error { return nil }
func (noClient) Request(context.Context, string, any) (json.RawMessage, error) {
	return nil, errNoSession
}
