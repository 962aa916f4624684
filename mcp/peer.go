package mcp

import (
	"context"
	"encoding/json"
	"errors"
)

// errNoSession is what a sessionless caller's Peer.Request returns.
var errNoSession = errors.New("the client has no session to receive server requests: initialize a session first")

// sessionPeer is the way back to a client with a session. st is the stream
// of the request being served, or nil when the client asked for a plain
// JSON answer (then only the standalone GET stream can carry messages).
type sessionPeer struct {
	s  *session
	st *stream
}

var _ Peer = (*sessionPeer)(nil)

func (p *sessionPeer) SessionID() string             { return p.s.id }
func (p *sessionPeer) Capabilities() json.RawMessage { return p.s.caps }
func (p *sessionPeer) Done() <-chan struct{}         { return p.s.ctx.Done() }
func (p *sessionPeer) LogLevel() string              { return p.s.logLevel.Load().(string) }

// Notify sends on the request's stream while it is open; afterwards, or for
// a JSON-mode request, on the standalone stream — except progress, which
// means nothing once its request is answered.
func (p *sessionPeer) Notify(_ context.Context, method string, params any) error {
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
func (p *sessionPeer) Request(ctx context.Context, method string, params any) (json.RawMessage, error) {
	st := p.st
	if st == nil || !st.open() {
		st = p.s.standalone()
	}
	return p.s.request(ctx, st, method, params)
}

// noPeer is the way back to a sessionless caller: there is none. Its Done
// is the HTTP request's.
type noPeer struct{ done <-chan struct{} }

var _ Peer = noPeer{}

func (noPeer) SessionID() string                         { return "" }
func (noPeer) Capabilities() json.RawMessage             { return nil }
func (noPeer) LogLevel() string                          { return "" }
func (p noPeer) Done() <-chan struct{}                   { return p.done }
func (noPeer) Notify(context.Context, string, any) error { return nil }
func (noPeer) Request(context.Context, string, any) (json.RawMessage, error) {
	return nil, errNoSession
}
