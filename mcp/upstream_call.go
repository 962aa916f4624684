package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	sdkrpc "github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/attribute"
)

// Call implements Source: it serves tools/call, prompts/get,
// resources/read, resources/subscribe, resources/unsubscribe and
// completion/complete on the upstream server.
//
// The caller's progress token is replaced by one unique to this upstream
// and mapped back on the way out. Cancelling ctx cancels the upstream
// request (the SDK sends notifications/cancelled). A JSON-RPC error from the
// server comes back as an *Error with its code, message and data. When the
// server cannot be reached, tools/call answers with an isError result naming
// the upstream and why; the other methods with an internal error saying so.
// A call that runs over CallTimeout is cancelled and answered the same way,
// with _meta["mcpmesh/error"] upstream_timeout (see timedOut).
func (u *Upstream) Call(ctx context.Context, req *Request) (json.RawMessage, error) {
	t := u.opts.Tracing
	if t == nil {
		return u.call(ctx, req)
	}
	ctx, span := t.StartClient(ctx, req.Method, req.View(), attribute.String(AttrUpstream, u.cfg.Name),
		attribute.String(AttrTransport, u.cfg.Transport()))
	out, err := u.call(ctx, req)
	EndClient(span, out, err)
	return out, err
}

// call is Call without its span.
func (u *Upstream) call(ctx context.Context, req *Request) (json.RawMessage, error) {
	sess := u.session()
	if sess == nil {
		return u.notConnected(req.Method)
	}
	params, token, err := upParams(req.Params)
	if err != nil {
		return nil, err
	}
	params = u.opts.Tracing.InjectMeta(ctx, params)
	peer := upPeer(req.Client)
	if TakesInputRequired(peer) && takesInput(req.Method) {
		return u.callHeld(ctx, sess, req, params, token)
	}
	c, upTok := u.calls.begin(peer, token)
	defer u.calls.end(c, upTok)
	if params, err = upSwapToken(params, upTok); err != nil {
		return nil, Errorf(CodeInvalidParams, "invalid params: %v", err)
	}
	ctx, cancel := upJoin(withUpLimit(context.WithValue(ctx, upCallKey{}, c), u.opts.MaxResultBytes), u.ctx)
	defer cancel()
	ctx, stop := u.withCallTimeout(ctx)
	defer stop()
	out, err := u.sendCall(ctx, sess, req.Method, params, peer, c.peer)
	if err != nil || TakesInputRequired(peer) {
		return out, err
	}
	return u.fulfil(ctx, sess, req.Method, params, out)
}

// finishCall makes the call and encodes its answer as the caller gets it.
func (u *Upstream) finishCall(ctx context.Context, sess *sdk.ClientSession, method string, params json.RawMessage, peer Client) (json.RawMessage, error) {
	res, err := u.dispatch(ctx, sess, method, params, peer)
	u.order.await(ctx, u.order.mark()) // relay what the server sent ahead of its answer
	if err != nil {
		return u.callError(ctx, method, err)
	}
	out, err := json.Marshal(res)
	if err != nil {
		return u.failure(method, "upstream %q answered with a result mcpmesh cannot encode: %v", u.cfg.Name, err)
	}
	return upMarkInputRequired(out), nil
}

// upPeer is the caller's Client; a missing one cannot be reached.
func upPeer(p Client) Client {
	if p == nil {
		return noClient{}
	}
	return p
}

func (u *Upstream) dispatch(ctx context.Context, sess *sdk.ClientSession, method string, params json.RawMessage, peer Client) (any, error) {
	switch method {
	case "tools/call":
		return upCallTool(ctx, sess, params)
	case "prompts/get":
		return upSend(ctx, params, sess.GetPrompt)
	case "resources/read":
		return upSend(ctx, params, sess.ReadResource)
	case "completion/complete":
		return upSend(ctx, params, sess.Complete)
	case "resources/subscribe":
		return u.subscribe(ctx, sess, params, peer)
	case "resources/unsubscribe":
		return u.unsubscribe(ctx, sess, params, peer)
	}
	return nil, Errorf(CodeMethodNotFound, "method not found: %s", method)
}

// upCallTool decodes params into the SDK's type, with the arguments kept
// as sent (no float64 round trip, no map built), and calls the tool.
func upCallTool(ctx context.Context, sess *sdk.ClientSession, params json.RawMessage) (any, error) {
	args := new(json.RawMessage)
	p := &sdk.CallToolParams{Arguments: args} // json decodes into the pointer it holds
	if err := json.Unmarshal(params, p); err != nil {
		return nil, Errorf(CodeInvalidParams, "invalid params: %v", err)
	}
	if p.Arguments == any(args) && len(*args) == 0 {
		p.Arguments = nil // none sent
	}
	return sess.CallTool(ctx, p)
}

// upSend decodes params into the SDK's type and makes the call.
func upSend[P, R any](ctx context.Context, params json.RawMessage, call func(context.Context, *P) (R, error)) (any, error) {
	p := new(P)
	if err := json.Unmarshal(params, p); err != nil {
		return nil, Errorf(CodeInvalidParams, "invalid params: %v", err)
	}
	return call(ctx, p)
}

// callError turns a failed call into the answer the caller gets.
func (u *Upstream) callError(ctx context.Context, method string, err error) (json.RawMessage, error) {
	var own *Error
	var wire *sdkrpc.Error
	switch {
	case errors.As(err, &own):
		return nil, own
	case u.ctx.Err() != nil:
		return u.failure(method, "upstream %q is shutting down", u.cfg.Name)
	case errors.Is(context.Cause(ctx), errUpTimeout):
		return u.timedOut(method)
	case ctx.Err() != nil:
		return nil, fmt.Errorf("upstream %q: %w", u.cfg.Name, err) // the caller gave up
	case errors.As(err, &wire) && upIsTooLarge(wire.Code, wire.Data):
		return u.tooLarge(method)
	case errors.As(err, &wire) && wire.Code == 0:
		// no code: a Go handler's plain error (the go-sdk sends those
		// with code 0), a failure inside the tool, not a protocol error
		return u.failure(method, "upstream %q failed: %s", u.cfg.Name, wire.Message)
	case errors.As(err, &wire) && !upTransportCode(wire.Code):
		return nil, &Error{Code: int(wire.Code), Message: wire.Message, Data: upErrData(wire.Data)}
	}
	u.log.Warn("upstream call failed", "method", method, "err", err)
	return u.failure(method, "upstream %q failed: the call got no answer (the node's log says why)", u.cfg.Name)
}

// upTransportCode tells the codes the SDK's JSON-RPC layer uses for its own
// failures (client closing, server closing, rejected by the transport: a
// POST that failed). They say the upstream could not be reached, so the
// caller gets the same answer as for any failure to reach it.
func upTransportCode(code int64) bool {
	return code == -32003 || code == -32004 || code == -32005
}

func upErrData(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	return raw
}

// notConnected answers a call while the upstream is down: its name and
// state, not why (its error, which may name a process's exit, its stderr or
// an address, is in the node's log and in GET /api/servers).
func (u *Upstream) notConnected(method string) (json.RawMessage, error) {
	return u.failure(method, "upstream %q is not connected (state %s)", u.cfg.Name, u.Status().State)
}

// failureLocal is an isError result for tools/call, an internal error
// otherwise, for a failure of the node's own (never "unreachable").
func (u *Upstream) failureLocal(method, msg string) (json.RawMessage, error) {
	if method == "tools/call" {
		return ToolError(msg), nil
	}
	return nil, &Error{Code: CodeInternalError, Message: msg}
}

// failure is an isError result for tools/call, an internal error otherwise.
func (u *Upstream) failure(method, format string, args ...any) (json.RawMessage, error) {
	msg := fmt.Sprintf(format, args...)
	if u.opts.UnreachableErrors {
		return nil, fmt.Errorf("%w: %s", ErrUnreachable, msg)
	}
	if method == "tools/call" {
		return ToolError(msg), nil
	}
	return nil, &Error{Code: CodeInternalError, Message: msg}
}

// upParams checks that params is an object ("{}" when absent) and returns
// it with its _meta.progressToken (nil if none), reading it once.
func upParams(params json.RawMessage) (json.RawMessage, json.RawMessage, error) {
	if len(params) == 0 || string(params) == "null" {
		return json.RawMessage("{}"), nil, nil
	}
	if !isObject(params) {
		var p struct {
			Meta json.RawMessage `json:"_meta"`
		}
		err := json.Unmarshal(params, &p) // says why
		return nil, nil, Errorf(CodeInvalidParams, "invalid params: not an object: %v", err)
	}
	return params, upField(field(params, "_meta"), "progressToken"), nil
}

// upField is obj[name] when obj is an object and it is there, not null.
func upField(obj json.RawMessage, name string) json.RawMessage {
	return nonNull(field(obj, name))
}

// upSwapToken sets params._meta.progressToken to tok (if not "").
func upSwapToken(params json.RawMessage, tok string) (json.RawMessage, error) {
	if tok == "" {
		return params, nil
	}
	t, _ := json.Marshal(tok)
	meta, ok := withFields(upField(params, "_meta"), jsonField{key: "progressToken", val: t})
	if !ok {
		return nil, errors.New("params._meta is not an object")
	}
	out, _ := withFields(params, jsonField{key: "_meta", val: meta})
	return out, nil
}
