package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// What a call that ran over UpstreamOptions.CallTimeout answers: its
// _meta["mcpmesh/error"] is ErrUpstreamTimeout and
// _meta["mcpmesh/upstream"] names the server.
const (
	MetaError          = "mcpmesh/error"
	MetaUpstream       = "mcpmesh/upstream"
	ErrUpstreamTimeout = "upstream_timeout"
)

// errUpTimeout is the cause of a call's context ended by CallTimeout.
var errUpTimeout = errors.New("upstream call timeout")

// withCallTimeout bounds a request to the server by CallTimeout, if set.
func (u *Upstream) withCallTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if u.opts.CallTimeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, u.opts.CallTimeout, errUpTimeout)
}

// relistTimeout bounds a re-listing: CallTimeout, or ConnectTimeout when
// there is none. (The first listing is part of connecting.)
func (u *Upstream) relistTimeout() time.Duration {
	if u.opts.CallTimeout > 0 {
		return u.opts.CallTimeout
	}
	return u.opts.ConnectTimeout
}

// timedOut is the answer to a call cancelled by CallTimeout: an isError
// result for tools/call, an internal error for the other methods; both
// name the server and the timeout and carry the kind in _meta.
func (u *Upstream) timedOut(method string) (json.RawMessage, error) {
	u.log.Warn("upstream call timed out and was cancelled", "method", method, "timeout", u.opts.CallTimeout)
	msg := fmt.Sprintf("upstream %q did not answer %s within the upstream timeout of %s: the call was cancelled",
		u.cfg.Name, method, u.opts.CallTimeout)
	meta := map[string]any{MetaError: ErrUpstreamTimeout, MetaUpstream: u.cfg.Name}
	if method != "tools/call" {
		return nil, &Error{Code: CodeInternalError, Message: msg, Data: meta}
	}
	return json.Marshal(map[string]any{
		"content": []map[string]string{{"type": "text", "text": msg}},
		"isError": true, "_meta": meta,
	})
}
