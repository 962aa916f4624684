package mcp

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"sync"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// upSubs are the client sessions subscribed to the upstream's resources.
// The upstream is subscribed once per URI, while at least one session is.
type upSubs struct {
	op      sync.Mutex // serialises changes that subscribe or unsubscribe upstream
	mu      sync.Mutex
	uris    map[string]map[string]Client // uri → session id → the session's latest Client
	watched map[string]bool              // sessions whose end is watched
}

// add records a subscription; it reports whether the session needs a watcher.
func (s *upSubs) add(uri, sid string, p Client) (watch bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.uris == nil {
		s.uris, s.watched = map[string]map[string]Client{}, map[string]bool{}
	}
	if s.uris[uri] == nil {
		s.uris[uri] = map[string]Client{}
	}
	s.uris[uri][sid] = p
	watch = !s.watched[sid]
	s.watched[sid] = true
	return watch
}

func (s *upSubs) count(uri string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.uris[uri])
}

// remove drops one subscription; it reports whether that was the URI's last.
func (s *upSubs) remove(uri, sid string) (last bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set, ok := s.uris[uri]
	if _, subscribed := set[sid]; !ok || !subscribed {
		return false
	}
	delete(set, sid)
	if len(set) == 0 {
		delete(s.uris, uri)
		return true
	}
	return false
}

// dropSession removes every subscription of a session and returns the URIs
// that no session is subscribed to any more.
func (s *upSubs) dropSession(sid string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.watched, sid)
	var emptied []string
	for uri, set := range s.uris {
		if _, ok := set[sid]; ok {
			delete(set, sid)
			if len(set) == 0 {
				delete(s.uris, uri)
				emptied = append(emptied, uri)
			}
		}
	}
	sort.Strings(emptied)
	return emptied
}

func (s *upSubs) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.uris))
	for uri := range s.uris {
		out = append(out, uri)
	}
	sort.Strings(out)
	return out
}

// peersFor are the sessions subscribed to uri, or to a URI it lies under
// (a server may report a sub-resource of what was subscribed), one each.
func (s *upSubs) peersFor(uri string) []Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]Client{}
	for sub, set := range s.uris {
		if sub == uri || strings.HasPrefix(uri, sub) {
			for sid, p := range set {
				seen[sid] = p
			}
		}
	}
	out := make([]Client, 0, len(seen))
	for _, p := range seen {
		out = append(out, p)
	}
	return out
}

// subscribe serves resources/subscribe. Only a client with a session can
// receive updates, so a sessionless one is refused.
func (u *Upstream) subscribe(ctx context.Context, sess *sdk.ClientSession, params json.RawMessage, peer Client) (any, error) {
	var p sdk.SubscribeParams
	if err := json.Unmarshal(params, &p); err != nil || p.URI == "" {
		return nil, Errorf(CodeInvalidParams, `invalid params: resources/subscribe needs "uri"`)
	}
	sid := peer.SessionID()
	if sid == "" {
		return nil, Errorf(CodeInvalidRequest, "resources/subscribe needs a session (initialize first): updates are sent on it")
	}
	u.subs.op.Lock()
	defer u.subs.op.Unlock()
	if u.subs.count(p.URI) == 0 {
		if err := sess.Subscribe(ctx, &p); err != nil {
			return nil, err
		}
	}
	if u.subs.add(p.URI, sid, peer) {
		u.goFn(func() { u.watchSession(sid, peer.Done()) })
	}
	return struct{}{}, nil
}

// unsubscribe serves resources/unsubscribe; it is not an error to
// unsubscribe from what the session was not subscribed to.
func (u *Upstream) unsubscribe(ctx context.Context, sess *sdk.ClientSession, params json.RawMessage, peer Client) (any, error) {
	var p sdk.UnsubscribeParams
	if err := json.Unmarshal(params, &p); err != nil || p.URI == "" {
		return nil, Errorf(CodeInvalidParams, `invalid params: resources/unsubscribe needs "uri"`)
	}
	u.subs.op.Lock()
	defer u.subs.op.Unlock()
	if u.subs.remove(p.URI, peer.SessionID()) {
		if err := sess.Unsubscribe(ctx, &p); err != nil {
			return nil, err
		}
	}
	return struct{}{}, nil
}

// watchSession drops a session's subscriptions when it ends.
func (u *Upstream) watchSession(sid string, done <-chan struct{}) {
	select {
	case <-done:
	case <-u.ctx.Done():
		return
	}
	u.subs.op.Lock()
	defer u.subs.op.Unlock()
	emptied := u.subs.dropSession(sid)
	sess := u.session()
	if sess == nil || len(emptied) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(u.ctx, u.opts.ConnectTimeout)
	defer cancel()
	for _, uri := range emptied {
		if err := sess.Unsubscribe(ctx, &sdk.UnsubscribeParams{URI: uri}); err != nil {
			u.log.Debug("upstream unsubscribe failed", "uri", uri, "err", err)
		}
	}
}

// resubscribe renews the subscriptions on a new session.
func (u *Upstream) resubscribe(ctx context.Context, sess *sdk.ClientSession) {
	u.subs.op.Lock()
	defer u.subs.op.Unlock()
	for _, uri := range u.subs.list() {
		if err := sess.Subscribe(ctx, &sdk.SubscribeParams{URI: uri}); err != nil {
			u.log.Warn("upstream re-subscribe failed", "uri", uri, "err", err)
		}
	}
}

// relayResourceUpdated tells each subscribed session.
func (u *Upstream) relayResourceUpdated(ctx context.Context, req *sdk.ResourceUpdatedNotificationRequest) {
	if req.Params == nil {
		return
	}
	for _, p := range u.subs.peersFor(req.Params.URI) {
		if err := p.Notify(ctx, "notifications/resources/updated", req.Params); err != nil {
			u.log.Debug("relaying a resource update failed", "err", err)
		}
	}
}
