package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// Federation failures, as _meta["mcpmesh/error"] names them; the peer is
// named in _meta["mcpmesh/peer"].
const (
	MetaError      = "mcpmesh/error"
	ErrPeerOffline = "peer_offline"
	ErrPeerTimeout = "peer_timeout"
	ErrNotTrusted  = "peer_not_trusted"
	// ErrResultTooLarge: the peer's answer was over --max-result-bytes.
	ErrResultTooLarge = mcp.ErrKindResultTooLarge
	MetaPeer          = "mcpmesh/peer"
)

// Call implements mcp.Backend: local entries are served here, a listed
// peer's are forwarded to it one hop. A request forwarded to us is served
// locally only.
func (f *Engine) Call(ctx context.Context, req *mcp.Request) (json.RawMessage, error) {
	if isForwarded(ctx) {
		if res, down := f.localProviderDown(req); down {
			return res, nil
		}
		return f.cfg.Local.Call(ctx, req)
	}
	if res, err, ok := f.serviceCall(ctx, req); ok { // servicecall.go
		return res, err
	}
	r, out, ok := f.route(ctx, req)
	if !ok {
		if rec, refused := f.untrusted(req); refused {
			return fedFailure(req.Method, rec.Name, ErrNotTrusted,
				fmt.Sprintf("peer %q is trusted at level %q: nothing of it is federated", rec.Name, rec.TrustLevel))
		}
		return f.cfg.Local.Call(ctx, req)
	}
	return f.forward(ctx, r.link, out)
}

// route finds the peer that serves a request, and the request as that peer
// names things; ok is false when the request is not a peer's.
func (f *Engine) route(ctx context.Context, req *mcp.Request) (fedRoute, *mcp.Request, bool) {
	p := req.View()
	if !p.Object && string(req.Params) != "null" {
		return fedRoute{}, nil, false
	}
	v := f.currentView(ctx)
	switch {
	case req.Method == "tools/call":
		return v.named(f, v.tools, mcp.KindTool, p.Name, req, "name", "")
	case req.Method == "prompts/get":
		return v.named(f, v.prompts, mcp.KindPrompt, p.Name, req, "name", "")
	case req.Method == "completion/complete" && p.RefType == "ref/prompt":
		return v.named(f, v.prompts, mcp.KindPrompt, p.RefName, req, "ref", "name")
	case req.Method == "completion/complete":
		return f.resourceRoute(v, p.RefURI, req)
	}
	return f.resourceRoute(v, p.URI, req)
}

func (v *fedView) named(f *Engine, routes map[string]fedRoute, kind mcp.Kind, name string, req *mcp.Request, outer, inner string) (fedRoute, *mcp.Request, bool) {
	if f.cfg.Local.Has(kind, name) {
		return fedRoute{}, nil, false
	}
	r, ok := routes[name]
	if !ok {
		r, ok = f.prefixRoute(name) // a peer whose catalog this node has not seen
	}
	if !ok {
		return fedRoute{}, nil, false
	}
	out, err := req.Renamed(outer, inner, r.orig)
	return r, out, err == nil
}

// prefixRoute routes "<peer>__<name>" to a linked peer by its prefix alone.
func (f *Engine) prefixRoute(name string) (fedRoute, bool) {
	peer, rest, ok := splitFederated(name)
	if !ok {
		return fedRoute{}, false
	}
	l := f.link(peer)
	if _, shadowed := f.cfg.Local.Holder(peer); shadowed {
		return fedRoute{}, false
	}
	return fedRoute{link: l, orig: rest}, l != nil
}

// resourceRoute finds the listed peer serving uri; the local catalog wins.
func (f *Engine) resourceRoute(v *fedView, uri string, req *mcp.Request) (fedRoute, *mcp.Request, bool) {
	if uri == "" || f.cfg.Local.Has(mcp.KindResource, uri) {
		return fedRoute{}, nil, false
	}
	for _, l := range v.links {
		if l.entries.Load().resources[uri] {
			return fedRoute{link: l}, req, true
		}
	}
	for _, l := range v.links {
		for _, t := range l.entries.Load().templates {
			if mcp.TemplateMatches(t, uri) {
				return fedRoute{link: l}, req, true
			}
		}
	}
	return fedRoute{}, nil, false
}

// forward sends a request to a peer and counts, times and (when it fails
// for federation reasons) logs it.
func (f *Engine) forward(ctx context.Context, l *peerLink, req *mcp.Request) (json.RawMessage, error) {
	start := time.Now()
	rec := l.record()
	mcp.NoteSource(ctx, rec.Name, rec.Member)
	res, outcome, err := f.forwardOnce(ctx, l, req)
	peer := rec.Name
	f.cfg.Metrics.Forwarded(peer, req.Method, outcome, time.Since(start))
	if strings.HasPrefix(outcome, "peer_") || outcome == ErrResultTooLarge {
		f.log.Warn("forward failed", "peer", peer, "member", l.record().Member, "method", req.Method, "outcome", outcome)
	}
	return res, err
}

// forwardOnce sends a request to a peer, within --peer-timeout, and turns a
// failure of federation into an answer that names the peer and the reason.
// outcome is ok, tool_error, error, or the federation failure.
func (f *Engine) forwardOnce(ctx context.Context, l *peerLink, req *mcp.Request) (json.RawMessage, string, error) {
	rec := l.record()
	fail := func(kind, msg string) (json.RawMessage, string, error) {
		res, err := fedFailure(req.Method, rec.Name, kind, msg)
		return res, kind, err
	}
	if rec.TrustLevel != cluster.TrustFull {
		return fail(ErrNotTrusted, fmt.Sprintf("peer %q is trusted at level %q: its entries are listed but calls to it are refused", rec.Name, rec.TrustLevel))
	}
	if st := l.status(); !listed(st) {
		why := f.offlineReason(l, st)
		f.log.Info("call of an offline peer refused", "peer", rec.Name, "member", rec.Member, "why", why, "link_error", l.up.Status().Error)
		return fail(ErrPeerOffline, fmt.Sprintf("peer %q is offline (%s)", rec.Name, why))
	}
	callCtx, cancel := context.WithTimeout(ctx, f.cfg.PeerTimeout)
	defer cancel()
	res, err := f.send(callCtx, l, req)
	switch {
	case err == nil:
		return res, resultOutcome(res), nil
	case errors.Is(err, mcp.ErrResultTooLarge):
		f.cfg.Metrics.ResultTooLarge(rec.Name)
		return fail(ErrResultTooLarge, fmt.Sprintf("peer %q answered with more than %d bytes, not read further (the bound set by --max-result-bytes)",
			rec.Name, f.cfg.MaxResultBytes))
	case errors.Is(err, mcp.ErrUnreachable):
		l.up.Reconnect() // the link says offline until it is back
		f.log.Warn("forwarded call found the peer unreachable", "peer", rec.Name, "member", rec.Member, "err", err)
		return fail(ErrPeerOffline, fmt.Sprintf("peer %q cannot be reached", rec.Name))
	case ctx.Err() == nil && errors.Is(callCtx.Err(), context.DeadlineExceeded):
		return fail(ErrPeerTimeout, fmt.Sprintf("peer %q did not answer within the peer timeout of %s", rec.Name, f.cfg.PeerTimeout))
	}
	return nil, "error", f.peerError(rec, req.Method, err)
}

// peerError is a forwarded request's error as the caller sees it: the
// peer's own JSON-RPC error as it is, any other failure named by the peer
// only (its cause, which may hold addresses and an error chain, is logged).
func (f *Engine) peerError(rec cluster.PeerRecord, method string, err error) error {
	var rpcErr *mcp.Error
	if errors.As(err, &rpcErr) {
		return err
	}
	f.log.Warn("forwarded call failed", "peer", rec.Name, "member", rec.Member, "method", method, "err", err)
	return &mcp.Error{Code: mcp.CodeInternalError, Message: fmt.Sprintf("%s forwarded to peer %q failed", method, rec.Name),
		Data: map[string]any{MetaPeer: rec.Name}}
}

// resultOutcome is "tool_error" for an isError result, else "ok".
func resultOutcome(res json.RawMessage) string {
	if mcp.IsToolError(res) {
		return "tool_error"
	}
	return "ok"
}

func (f *Engine) offlineReason(l *peerLink, status string) string {
	switch {
	case status == api.PeerLeft:
		return "it left the ring"
	case l.noURL:
		return "its member gossips no url here, and node calls go nowhere else"
	case l.up.Status().State != mcp.UpstreamReady: // the link's error is logged, not told
		return "its link is down"
	case l.refusing.Load():
		return "its port refuses connections"
	}
	return "gossip says it is dead"
}

// fedFailure is a federation failure: an isError result for tools/call,
// a JSON-RPC error for the other methods; both carry the kind in _meta.
func fedFailure(method, peer, kind, msg string) (json.RawMessage, error) {
	meta := map[string]any{MetaError: kind, MetaPeer: peer}
	if method != "tools/call" {
		return nil, &mcp.Error{Code: mcp.CodeInternalError, Message: msg, Data: meta}
	}
	b, err := json.Marshal(map[string]any{
		"content": []map[string]string{{"type": "text", "text": msg}},
		"isError": true, "_meta": meta,
	})
	return b, err
}

// untrusted finds the "none" peer that a "<peer>__<name>" tool or prompt
// names, when no local entry has that name: such a call is refused as
// peer_not_trusted rather than as an unknown tool.
func (f *Engine) untrusted(req *mcp.Request) (cluster.PeerRecord, bool) {
	kind := mcp.KindTool
	switch req.Method {
	case "tools/call":
	case "prompts/get":
		kind = mcp.KindPrompt
	default:
		return cluster.PeerRecord{}, false
	}
	name := req.View().Name
	peer, _, ok := splitFederated(name)
	if _, shadowed := f.cfg.Local.Holder(peer); !ok || shadowed || f.cfg.Local.Has(kind, name) {
		return cluster.PeerRecord{}, false
	}
	rec, ok := f.cfg.Node.Registry().Get(peer)
	return rec, ok && rec.TrustLevel == cluster.TrustNone && rec.Member != f.self
}
