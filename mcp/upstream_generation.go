package mcp

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/trace"
)

// TakesInputRequired reports whether the caller takes server requests as
// input_required results rather than as requests on a session: a
// 2026-07-28 request (a hop from another node is one too).
func TakesInputRequired(p Client) bool {
	_, ok := p.(*statelessClient)
	return ok
}

// upWithCallerMeta adds a 2026-07-28 caller's own per-request _meta
// (protocol version, client capabilities, client info and log level) to
// params: the upstream session stays in a session version, and an upstream
// that knows 2026-07-28 (the go-sdk from v1.8) reads the caller's
// capabilities from it per request instead of the node's. Legacy callers'
// params are sent as they are.
func upWithCallerMeta(params json.RawMessage, peer Client) (json.RawMessage, error) {
	sp, ok := peer.(*statelessClient)
	if !ok {
		return params, nil
	}
	meta := upField(params, "_meta")
	var err error
	set := func(key string, v json.RawMessage) {
		if err == nil && len(v) > 0 {
			meta, err = upSetRaw(meta, key, v)
		}
	}
	set(MetaProtocolVersion, json.RawMessage(`"`+StatelessVersion+`"`))
	set(MetaClientCapabilities, sp.meta.caps)
	set(MetaClientInfo, sp.meta.info)
	if sp.meta.logLevel != "" {
		level, _ := json.Marshal(sp.meta.logLevel)
		set(MetaLogLevel, level)
	}
	if err != nil {
		return nil, err
	}
	return upSetRaw(params, "_meta", meta)
}

// sendCall makes the call, for a 2026-07-28 caller with its own _meta
// triple. An upstream that refuses a request carrying a protocol version
// in _meta (a stateful go-sdk HTTP server answers -32022: it takes
// 2026-07-28 only when stateless) gets the request again without it, and
// only plain requests from then on in this session.
func (u *Upstream) sendCall(ctx context.Context, sess *sdk.ClientSession, method string, params json.RawMessage, caller, peer Client) (json.RawMessage, error) {
	if !TakesInputRequired(caller) || u.opts.NoCallerMeta || u.plainMeta.Load() == sess {
		return u.finishCall(ctx, sess, method, params, peer)
	}
	withMeta, err := upWithCallerMeta(params, caller)
	if err != nil {
		return nil, Errorf(CodeInvalidParams, "invalid params: %v", err)
	}
	out, err := u.finishCall(ctx, sess, method, withMeta, peer)
	var e *Error
	if errors.As(err, &e) && e.Code == CodeUnsupportedProtocolVersion {
		u.log.Info("upstream refuses 2026-07-28 _meta on its session: its calls go without the callers' capabilities", "err", e.Message)
		u.plainMeta.Store(sess)
		return u.finishCall(ctx, sess, method, params, peer)
	}
	return out, err
}

// callHeld serves a 2026-07-28 caller's tools/call, prompts/get or
// resources/read: a retry naming a held call resumes it; any other request
// starts a call detached from the caller's HTTP request (see heldCall).
func (u *Upstream) callHeld(ctx context.Context, sess *sdk.ClientSession, req *Request, params, token json.RawMessage) (json.RawMessage, error) {
	if id, ok := heldState(params); ok {
		responses, err := retryInput(params)
		if err != nil {
			return nil, err
		}
		name, _ := nameOf(&Message{Method: req.Method, Params: params})
		hc, err := u.holds.take(id, u, PrincipalFrom(ctx), req.Method, name)
		if err != nil {
			return nil, err
		}
		return hc.resume(ctx, req.Client, token, responses)
	}
	hc := newHeldCall(ctx, u, req, req.Client, token)
	c, upTok := u.calls.begin(hc, token)
	params, err := upSwapToken(params, upTok)
	if err != nil {
		u.calls.end(c, upTok)
		return nil, Errorf(CodeInvalidParams, "invalid params: %v", err)
	}
	callCtx, cancel := upJoin(withUpLimit(context.WithValue(u.heldBase(ctx), upCallKey{}, c), u.opts.MaxResultBytes), u.ctx)
	hc.cancel = cancel
	if !u.goHeld(func() {
		defer cancel()
		defer u.calls.end(c, upTok)
		hc.finish(u.sendCall(callCtx, sess, req.Method, params, req.Client, hc))
	}) {
		cancel()
		u.calls.end(c, upTok)
		return u.failure(req.Method, "upstream %q is shutting down", u.cfg.Name)
	}
	return hc.wait(ctx)
}

// heldBase is the context a held call starts from: none of the caller's,
// but its span when traced, so that the call's trace context goes on.
func (u *Upstream) heldBase(ctx context.Context) context.Context {
	if u.opts.Tracing == nil {
		return context.Background()
	}
	return trace.ContextWithSpan(context.Background(), trace.SpanFromContext(ctx))
}

// upMarkInputRequired gives resultType input_required to a result that
// carries inputRequests without a resultType: what a go-sdk server answers
// on a session version when its tool asks again after the one round it
// fulfils itself (the multi-round tools).
func upMarkInputRequired(out json.RawMessage) json.RawMessage {
	if !bytes.Contains(out, []byte(`"inputRequests"`)) {
		return out
	}
	if field(out, "resultType") != nil || !upNonEmpty(field(out, "inputRequests")) {
		return out
	}
	if marked, ok := withFields(out, jsonField{key: "resultType", val: json.RawMessage(`"input_required"`)}); ok {
		return marked
	}
	return out
}

func upNonEmpty(obj json.RawMessage) bool {
	nonEmpty := false
	return eachField(obj, func(string, []byte) bool { nonEmpty = true; return false }) && nonEmpty
}

// upMaxRounds bounds the rounds of an upstream's input_required answered
// for a legacy caller (as the go-sdk client does).
const upMaxRounds = 10

// fulfil answers an upstream's input_required for a caller on a session
// version: each input request goes to the caller as a server request, and
// the call is retried with the answers and the upstream's requestState,
// until the upstream's answer is complete. (A 2026-07-28 caller gets the
// input_required result as it is.)
func (u *Upstream) fulfil(ctx context.Context, sess *sdk.ClientSession, method string, params, out json.RawMessage) (json.RawMessage, error) {
	for round := 0; ; round++ {
		ir, ok := inputRequiredOf(out) // a byte check first: most results are complete
		if !ok {
			return out, nil
		}
		if round == upMaxRounds {
			return u.failure(method, "upstream %q asked for input more than %d times in one call", u.cfg.Name, upMaxRounds)
		}
		retry, err := u.answerInputs(ctx, params, ir)
		if err != nil {
			return u.failure(method, "upstream %q asked for input the client did not give: %v", u.cfg.Name, err)
		}
		if out, err = u.finishCall(ctx, sess, method, retry, upPeer(nil)); err != nil {
			return out, err
		}
	}
}

// answerInputs relays each input request to the caller and returns params
// carrying the answers and the upstream's requestState.
func (u *Upstream) answerInputs(ctx context.Context, params json.RawMessage, ir *inputRequired) (json.RawMessage, error) {
	responses := map[string]json.RawMessage{}
	for key, r := range ir.Requests {
		var raw json.RawMessage
		if err := u.relayRequest(ctx, r.Method, cmp.Or(capabilityOf[r.Method], r.Method), r.Params, &raw); err != nil {
			return nil, fmt.Errorf("input request %q: %w", key, err)
		}
		responses[key] = raw
	}
	all, _ := json.Marshal(responses)
	params, err := upSetRaw(params, "inputResponses", all)
	if err != nil {
		return nil, err
	}
	state, _ := json.Marshal(ir.State)
	return upSetRaw(params, "requestState", state)
}
