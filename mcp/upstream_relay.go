package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	sdkrpc "github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// upCall is one client request in flight on an upstream.
type upCall struct {
	id    uint64
	peer  Client
	token json.RawMessage // the caller's progress token, or nil
}

// upCallKey carries the *upCall in the context of the SDK call, so that a
// server request made in-band (multi round-trip results) finds its caller.
type upCallKey struct{}

// upInflight tracks the calls in flight and the progress tokens that stand
// for their callers' tokens upstream.
type upInflight struct {
	mu     sync.Mutex
	next   uint64
	calls  map[uint64]*upCall
	tokens map[string]*upCall
}

// begin registers a call; upTok is the token to send upstream ("" if the
// caller gave none).
func (r *upInflight) begin(peer Client, token json.RawMessage) (c *upCall, upTok string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls, r.tokens = map[uint64]*upCall{}, map[string]*upCall{}
	}
	r.next++
	c = &upCall{id: r.next, peer: peer, token: token}
	r.calls[c.id] = c
	if token != nil {
		upTok = fmt.Sprintf("mcpmesh-%d", c.id)
		r.tokens[upTok] = c
	}
	return c, upTok
}

func (r *upInflight) end(c *upCall, upTok string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.calls, c.id)
	delete(r.tokens, upTok)
}

func (r *upInflight) byToken(tok string) *upCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tokens[tok]
}

// latest is the most recent call in flight, or nil.
func (r *upInflight) latest() *upCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	var best *upCall
	for _, c := range r.calls {
		if best == nil || c.id > best.id {
			best = c
		}
	}
	return best
}

// peers are the callers in flight, one per session (its latest call's).
func (r *upInflight) peers() []Client {
	r.mu.Lock()
	defer r.mu.Unlock()
	bySession := map[string]*upCall{}
	var out []Client
	for _, c := range r.calls {
		sid := c.peer.SessionID()
		if sid == "" {
			out = append(out, c.peer)
			continue
		}
		if prev, ok := bySession[sid]; !ok || c.id > prev.id {
			bySession[sid] = c
		}
	}
	for _, c := range bySession {
		out = append(out, c.peer)
	}
	return out
}

// relayProgress sends an upstream progress notification to the caller
// whose token it stands for, with the caller's own token.
func (u *Upstream) relayProgress(ctx context.Context, req *sdk.ProgressNotificationClientRequest) {
	defer u.order.done()
	if req.Params == nil {
		return
	}
	tok, _ := req.Params.ProgressToken.(string)
	c := u.calls.byToken(tok)
	if c == nil {
		return
	}
	params, err := upWithField(req.Params, "progressToken", c.token)
	if err == nil {
		err = c.peer.Notify(ctx, "notifications/progress", params)
	}
	if err != nil {
		u.log.Debug("relaying progress failed", "err", err)
	}
}

// upWithField encodes v as a JSON object with field set to value.
func upWithField(v any, field string, value json.RawMessage) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return upSetRaw(b, field, value)
}

func upSetRaw(obj json.RawMessage, field string, value json.RawMessage) (json.RawMessage, error) {
	if value == nil {
		value = json.RawMessage("null")
	}
	out, ok := withFields(obj, jsonField{key: field, val: value})
	if !ok {
		return nil, errors.New("not a JSON object")
	}
	return out, nil
}

// upLogRank orders the RFC 5424 levels MCP uses.
var upLogRank = map[string]int{"debug": 0, "info": 1, "notice": 2, "warning": 3,
	"error": 4, "critical": 5, "alert": 6, "emergency": 7}

// upAdmits reports whether a client that set level min wants a message at
// level. A client that never set a level gets none (as the go-sdk server
// does); an unknown level counts as debug.
func upAdmits(level, minLevel string) bool {
	m, ok := upLogRank[minLevel]
	return ok && upLogRank[level] >= m
}

// relayLog sends an upstream log message to each session with a call in
// flight on this upstream whose level admits it. The upstream session is
// shared, so a message cannot be tied to one call; with none in flight it
// is only logged here.
func (u *Upstream) relayLog(ctx context.Context, req *sdk.LoggingMessageRequest) {
	defer u.order.done()
	if req.Params == nil {
		return
	}
	level := string(req.Params.Level)
	u.log.Debug("upstream log message", "level", level, "logger", req.Params.Logger)
	for _, p := range u.calls.peers() {
		if upAdmits(level, p.LogLevel()) {
			if err := p.Notify(ctx, "notifications/message", req.Params); err != nil {
				u.log.Debug("relaying a log message failed", "err", err)
			}
		}
	}
}

// relayPeer picks the client to relay a server-to-client request to. The
// upstream session is shared by every caller and the protocol does not say
// which request a server-initiated request belongs to, so it goes to the
// caller of the call it was made in when the SDK knows (multi round-trip
// results carry the call's context), else to the caller of the most recent
// call in flight on this upstream. With none in flight, or a caller that did
// not declare the capability, the upstream gets an error.
func (u *Upstream) relayPeer(ctx context.Context, method, capability string) (Client, error) {
	c, _ := ctx.Value(upCallKey{}).(*upCall)
	if c == nil {
		c = u.calls.latest()
	}
	if c == nil {
		return nil, fmt.Errorf("mcpmesh cannot relay %s from upstream %q: no client call is in flight", method, u.cfg.Name)
	}
	if !upHasCapability(c.peer.Capabilities(), capability) {
		return nil, fmt.Errorf("mcpmesh cannot relay %s from upstream %q: the calling client did not declare the %q capability",
			method, u.cfg.Name, capability)
	}
	return c.peer, nil
}

func upHasCapability(caps json.RawMessage, name string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(caps, &m) != nil {
		return false
	}
	v, ok := m[name]
	return ok && string(v) != "null"
}

// relayRequest sends a server-to-client request to the chosen caller and
// decodes its answer into out.
func (u *Upstream) relayRequest(ctx context.Context, method, capability string, params, out any) error {
	peer, err := u.relayPeer(ctx, method, capability)
	if err != nil {
		return err
	}
	ctx, cancel := upJoin(ctx, u.ctx)
	defer cancel()
	raw, err := peer.Request(ctx, method, params)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return &sdkrpc.Error{Code: int64(e.Code), Message: e.Message, Data: upRawData(e.Data)}
		}
		return fmt.Errorf("relaying %s to the client: %w", method, err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decoding the client's answer to %s: %w", method, err)
	}
	return nil
}

func upRawData(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	if raw, ok := v.(json.RawMessage); ok {
		return raw
	}
	b, _ := json.Marshal(v)
	return b
}

func (u *Upstream) relaySampling(ctx context.Context, req *sdk.CreateMessageWithToolsRequest) (*sdk.CreateMessageWithToolsResult, error) {
	res := new(sdk.CreateMessageWithToolsResult)
	if err := u.relayRequest(ctx, "sampling/createMessage", "sampling", req.Params, res); err != nil {
		return nil, err
	}
	return res, nil
}

func (u *Upstream) relayElicitation(ctx context.Context, req *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
	res := new(sdk.ElicitResult)
	if err := u.relayRequest(ctx, "elicitation/create", "elicitation", req.Params, res); err != nil {
		return nil, err
	}
	return res, nil
}

// rootsMiddleware answers roots/list by relaying it (the SDK would answer
// from its own, empty, root set).
// elicitMiddleware relays elicitation/create before the SDK validates its
// schema: the gateway is a relay, the calling client judges the schema (the
// SDK refuses valid 2025-11-25 forms such as titled multi-select enums).
func (u *Upstream) elicitMiddleware(next sdk.MethodHandler) sdk.MethodHandler {
	return func(ctx context.Context, method string, req sdk.Request) (sdk.Result, error) {
		er, ok := req.(*sdk.ElicitRequest)
		if method != "elicitation/create" || !ok {
			return next(ctx, method, req)
		}
		return u.relayElicitation(ctx, er)
	}
}

func (u *Upstream) rootsMiddleware(next sdk.MethodHandler) sdk.MethodHandler {
	return func(ctx context.Context, method string, req sdk.Request) (sdk.Result, error) {
		if method != "roots/list" {
			return next(ctx, method, req)
		}
		res := new(sdk.ListRootsResult)
		if err := u.relayRequest(ctx, method, "roots", json.RawMessage("{}"), res); err != nil {
			return nil, err
		}
		if res.Roots == nil {
			res.Roots = []*sdk.Root{}
		}
		return res, nil
	}
}

// upJoin is ctx, also cancelled when other ends.
func upJoin(ctx, other context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(other, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}
