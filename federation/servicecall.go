package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// How a call of a service tool is routed: to this node's provider when its
// upstream is up; else to the online provider with the fewest calls in
// flight from this node, ties to the lowest gossip round-trip time, then
// the node name (choose). Providers that are offline, suspect, left,
// refusing connections or whose upstream is down are passed over before
// anything is sent. A provider that refused the connection, answered 503
// (draining) or answered provider_down (its upstream went down) was not
// sent the call: the next one is tried. Once a call was sent and failed
// (a timeout, a connection lost mid-answer) it goes to another provider
// only when the tool is annotated readOnlyHint or idempotentHint. The
// result names the node that ran it in _meta["mcpmesh/provider"]; with no
// provider left the answer is service_unavailable.
const (
	MetaProvider          = "mcpmesh/provider"
	ErrServiceUnavailable = "service_unavailable"
	// ErrProviderDown is a provider's answer to a forwarded call of a
	// service whose upstream is down there: nothing ran.
	ErrProviderDown = "provider_down"
)

// svcStatePrefix marks the inner requestState of a service call's
// input_required result: "svc1:<node>:<the provider's own state>", so the
// retry goes to the provider that holds the exchange (the node's seal
// makes it tamper-evident).
const svcStatePrefix = "svc1:"

// attempt is one try of a call on one provider: its answer (res, err), what
// became of it, and, when the next provider is tried, why.
type attempt struct {
	res json.RawMessage
	err error
	out tryOutcome
	why string
}

// answered is an attempt that ran: its answer goes to the caller.
func answered(res json.RawMessage, err error) attempt {
	return attempt{res: res, err: err, out: tryDone}
}

// notSent is an attempt where nothing ran, and why.
func notSent(why string) attempt { return attempt{out: tryNotSent, why: why} }

// tryOutcome says what became of one attempt on one provider.
type tryOutcome int

const (
	tryDone    tryOutcome = iota // an answer to give the caller
	tryNotSent                   // nothing ran there: try the next provider
	tryLost                      // sent, and no answer: retry only if the tool allows
)

// serviceCall serves a tools/call of a service tool; ok is false when the
// request names none.
func (f *Engine) serviceCall(ctx context.Context, req *mcp.Request) (json.RawMessage, error, bool) {
	if req.Method != "tools/call" {
		return nil, nil, false
	}
	v := f.currentView(ctx)
	name := req.View().Name
	if st, ok := v.svcTools[name]; ok {
		res, err := f.callService(ctx, st, req)
		return res, err, true
	}
	head, _, _ := strings.Cut(name, "__")
	for _, in := range v.services {
		if in.name == head && in.unlisted[name] {
			var why []string
			for _, p := range in.providers {
				why = append(why, p.node+": "+f.providerStatus(p, head))
			}
			mcp.NoteSource(ctx, head, "")
			res, err := serviceUnavailable(head, why)
			return res, err, true
		}
	}
	return nil, nil, false
}

// callService sends a call to the providers of st, one after another as
// the rules above allow.
func (f *Engine) callService(ctx context.Context, st *svcTool, req *mcp.Request) (json.RawMessage, error) {
	if node, out, ok := pinnedState(req); ok {
		return f.callPinned(ctx, st, out, node)
	}
	var passed []string
	tried := map[string]bool{}
	for {
		p, ok := f.pickProvider(st, tried, &passed)
		if !ok {
			return serviceUnavailable(st.service, append(passed, f.otherProviders(st, tried)...))
		}
		tried[p.node] = true
		mcp.NoteSource(ctx, st.service, p.node)
		a := f.tryProvider(ctx, st, p, req)
		if a.out == tryDone || a.out == tryLost && (!st.retry || ctx.Err() != nil) {
			return a.res, a.err
		}
		passed = append(passed, p.node+": "+a.why)
		f.cfg.Metrics.ServiceFailover(st.service, p.node)
		f.log.Info("service call moves to another provider", "service", st.service, "tool", st.name, "provider", p.node, "why", a.why)
	}
}

// pickProvider chooses among st's providers not tried yet, noting in
// passed why the unhealthy ones were passed over.
func (f *Engine) pickProvider(st *svcTool, tried map[string]bool, passed *[]string) (svcProvider, bool) {
	var cands []svcProvider
	var choices []provChoice
	for _, p := range st.providers {
		if tried[p.node] {
			continue
		}
		status := f.providerStatus(p, st.service)
		if status != api.ProviderOnline && status != api.ProviderStale {
			tried[p.node] = true
			*passed = append(*passed, p.node+": "+status)
			continue
		}
		cands = append(cands, p)
		choices = append(choices, f.choiceOf(p))
	}
	if len(cands) == 0 {
		return svcProvider{}, false
	}
	return cands[choose(choices)], true
}

// otherProviders says why the providers of st's service that do not serve
// the tool here (not listed now, another schema) were not tried.
func (f *Engine) otherProviders(st *svcTool, tried map[string]bool) []string {
	var out []string
	for _, p := range st.info.providers {
		if tried[p.node] {
			continue
		}
		why := f.providerStatus(p, st.service)
		switch {
		case slices.Contains(st.info.mismatch[p.node], st.name):
			why = "lists the tool with another input schema"
		case why == api.ProviderOnline || why == api.ProviderStale:
			why = "does not list the tool"
		}
		out = append(out, p.node+": "+why)
	}
	return out
}

// choiceOf is what choose weighs of p.
func (f *Engine) choiceOf(p svcProvider) provChoice {
	c := provChoice{node: p.node, local: p.link == nil, inFlight: f.inFlight(p.node).Load()}
	c.rtt, c.rttKnown = f.cfg.Node.RTT(p.node)
	return c
}

// provChoice is one healthy provider as the choice weighs it.
type provChoice struct {
	node     string
	local    bool
	inFlight int64
	rtt      time.Duration
	rttKnown bool // an unknown RTT counts as longer than any known
}

// choose is the index of the provider a call goes to: this node's; else
// the fewest calls in flight, then the lowest RTT, then the lowest name.
func choose(cs []provChoice) int {
	best := 0
	for i := 1; i < len(cs); i++ {
		if better(cs[i], cs[best]) {
			best = i
		}
	}
	return best
}

func better(a, b provChoice) bool {
	switch {
	case a.local != b.local:
		return a.local
	case a.inFlight != b.inFlight:
		return a.inFlight < b.inFlight
	case a.rttKnown != b.rttKnown:
		return a.rttKnown
	case a.rtt != b.rtt:
		return a.rtt < b.rtt
	}
	return a.node < b.node
}

// providerStatus is p's health for serving service, as this node sees it.
func (f *Engine) providerStatus(p svcProvider, service string) string {
	if p.link == nil {
		if f.cfg.Local.ServiceUp(service) {
			return api.ProviderOnline
		}
		return api.ProviderDown
	}
	switch p.link.status() {
	case api.PeerOnline, api.PeerStale:
		if f.peerServiceDown(p.link, service) {
			return api.ProviderDown
		}
		if p.link.status() == api.PeerStale {
			return api.ProviderStale
		}
		return api.ProviderOnline
	case api.PeerSuspect:
		return api.ProviderSuspect
	case api.PeerLeft:
		return api.ProviderLeft
	}
	return api.ProviderOffline
}

// inFlight is the counter of this node's calls in flight to node.
func (f *Engine) inFlight(node string) *atomic.Int64 {
	c, _ := f.svcInFlight.LoadOrStore(node, new(atomic.Int64))
	return c.(*atomic.Int64)
}

// tryProvider makes one attempt on p, counted, timed and in flight.
func (f *Engine) tryProvider(ctx context.Context, st *svcTool, p svcProvider, req *mcp.Request) attempt {
	n := f.inFlight(p.node)
	n.Add(1)
	start := time.Now()
	var a attempt
	if p.link == nil {
		a = f.tryLocal(ctx, st, req)
	} else {
		a = f.tryRemote(ctx, p, req)
	}
	n.Add(-1)
	f.cfg.Metrics.ServiceCall(st.service, p.node, a.outcome(), time.Since(start))
	if a.out == tryDone && a.err == nil {
		a.res = withProvider(a.res, p.node)
	}
	return a
}

// outcome is the attempt as the service call metrics count it.
func (a attempt) outcome() string {
	switch {
	case a.out == tryNotSent:
		return "not_sent"
	case a.out == tryLost:
		return "lost"
	case a.err != nil:
		return "error"
	}
	return resultOutcome(a.res)
}

// tryLocal calls this node's provider, if its upstream is up.
func (f *Engine) tryLocal(ctx context.Context, st *svcTool, req *mcp.Request) attempt {
	if !f.cfg.Local.ServiceUp(st.service) {
		return notSent(api.ProviderDown)
	}
	return answered(f.cfg.Local.Call(ctx, req))
}

// tryRemote forwards the call to a peer provider within --peer-timeout and
// tells whether it ran there.
func (f *Engine) tryRemote(ctx context.Context, p svcProvider, req *mcp.Request) attempt {
	callCtx, cancel := context.WithTimeout(withSendOnce(ctx), f.cfg.PeerTimeout)
	defer cancel()
	res, err := f.send(callCtx, p.link, req)
	var rpcErr *mcp.Error
	switch {
	case err == nil && metaError(res) == ErrProviderDown:
		return notSent(api.ProviderDown)
	case err == nil, errors.As(err, &rpcErr), ctx.Err() != nil:
		return answered(res, err)
	case errors.Is(err, errDraining):
		return notSent("draining (503)")
	case errors.Is(err, syscall.ECONNREFUSED):
		p.link.up.Reconnect() // the link says offline until it is back
		return notSent("refuses connections")
	case errors.Is(err, mcp.ErrResultTooLarge):
		f.cfg.Metrics.ResultTooLarge(p.link.record().Name)
		return answered(fedFailure(req.Method, p.link.record().Name, ErrResultTooLarge, fmt.Sprintf("provider %q answered with more than %d bytes, not read further (the bound set by --max-result-bytes)", p.node, f.cfg.MaxResultBytes)))
	}
	return f.lost(p, req, callCtx, err)
}

// lost is a call sent to p that got no answer: a timeout or a connection
// lost. Its answer, if the call is not retried, names the provider.
func (f *Engine) lost(p svcProvider, req *mcp.Request, callCtx context.Context, err error) attempt {
	peer := p.link.record().Name
	if errors.Is(callCtx.Err(), context.DeadlineExceeded) {
		res, ferr := fedFailure(req.Method, peer, ErrPeerTimeout, fmt.Sprintf("provider %q did not answer within the peer timeout of %s", p.node, f.cfg.PeerTimeout))
		return attempt{res: res, err: ferr, out: tryLost, why: "no answer within the peer timeout"}
	}
	p.link.up.Reconnect()
	f.log.Warn("service provider lost during a call", "provider", p.node, "peer", peer, "err", err)
	res, ferr := fedFailure(req.Method, peer, ErrPeerOffline, fmt.Sprintf("provider %q was lost during the call", p.node))
	return attempt{res: res, err: ferr, out: tryLost, why: "lost during the call"}
}

// metaError reads _meta["mcpmesh/error"] of a result.
func metaError(res json.RawMessage) string {
	return mcp.StringField(mcp.Field(res, "_meta"), MetaError)
}

// withProvider names the node that ran a call in its result's _meta, and
// pins an input_required exchange to it (svcStatePrefix).
func withProvider(res json.RawMessage, node string) json.RawMessage {
	if out, err := mcp.WithMeta(res, MetaProvider, node); err == nil {
		res = out
	}
	if mcp.StringField(res, "resultType") != "input_required" {
		return res
	}
	state, _ := json.Marshal(svcStatePrefix + node + ":" + mcp.StringField(res, "requestState"))
	return mcp.WithField(res, "requestState", state)
}

// pinnedState reads the provider an input_required retry belongs to, and
// its request with the provider's own requestState (none when empty).
func pinnedState(req *mcp.Request) (node string, out *mcp.Request, ok bool) {
	rest, ok := strings.CutPrefix(mcp.StringField(req.Params, "requestState"), svcStatePrefix)
	if !ok {
		return "", nil, false
	}
	node, inner, ok := strings.Cut(rest, ":")
	if !ok {
		return "", nil, false
	}
	var state json.RawMessage // nil drops the field
	if inner != "" {
		state, _ = json.Marshal(inner)
	}
	return node, &mcp.Request{Method: req.Method, Params: mcp.WithField(req.Params, "requestState", state), Client: req.Client}, true
}

// callPinned sends the retry of an input_required exchange to the
// provider that holds it, and nowhere else.
func (f *Engine) callPinned(ctx context.Context, st *svcTool, req *mcp.Request, node string) (json.RawMessage, error) {
	for _, p := range st.providers {
		if p.node != node {
			continue
		}
		if status := f.providerStatus(p, st.service); status != api.ProviderOnline && status != api.ProviderStale {
			break
		}
		mcp.NoteSource(ctx, st.service, p.node)
		a := f.tryProvider(ctx, st, p, req)
		return a.res, a.err
	}
	return serviceUnavailable(st.service, []string{node + ": holds this input_required exchange and cannot be reached"})
}

// serviceUnavailable is the answer when no provider of service is left.
func serviceUnavailable(service string, passed []string) (json.RawMessage, error) {
	msg := fmt.Sprintf("service %q has no provider left", service)
	if len(passed) > 0 {
		msg += ": " + strings.Join(passed, "; ")
	}
	b, err := json.Marshal(map[string]any{
		"content": []map[string]string{{"type": "text", "text": msg}},
		"isError": true, "_meta": map[string]any{MetaError: ErrServiceUnavailable, mcp.MetaService: service},
	})
	return b, err
}

// localProviderDown answers a forwarded call of a service tool whose
// upstream is down here with provider_down (the caller's node then tries
// another provider): nothing ran.
func (f *Engine) localProviderDown(req *mcp.Request) (json.RawMessage, bool) {
	if req.Method != "tools/call" {
		return nil, false
	}
	svc, _, ok := strings.Cut(req.View().Name, "__")
	if !ok {
		return nil, false
	}
	for _, s := range f.cfg.Local.Services() {
		if s.Service == svc && !s.Up {
			res, _ := fedFailure(req.Method, f.self, ErrProviderDown, fmt.Sprintf("the upstream %q of service %q is down on node %q", s.Source, svc, f.self))
			return res, true
		}
	}
	return nil, false
}
