package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// PeerView is one peer's entries as /mcp/peers/{peer} serves them: under
// their own names (no "<peer>__" prefix), each still carrying the peer as
// its source, and every call forwarded to that peer one hop. It is an
// mcp.Backend; listing is served from the engine's cached catalog of the
// peer and never waits on it.
type PeerView struct {
	f    *Engine
	peer string
	// cache is the last listing built, for the link entries it came from.
	cache atomic.Pointer[peerViewLists]
}

type peerViewLists struct {
	from  *linkEntries
	lists [4][]mcp.Item
}

var _ mcp.Backend = (*PeerView)(nil)

// HasPeer reports whether name is a peer of this node (in the registry or
// auto-trusted) other than this node itself.
func (f *Engine) HasPeer(name string) bool {
	rec, ok := f.peerRecord(name)
	return ok && rec.Member != f.self
}

// PeerView is the view of the peer called name; it does not check that
// the peer exists (HasPeer does), so a view of a removed peer lists
// nothing and refuses calls naming it.
func (f *Engine) PeerView(name string) *PeerView {
	return &PeerView{f: f, peer: name}
}

// Peer is the name of the peer this view shows.
func (v *PeerView) Peer() string { return v.peer }

// List implements mcp.Backend: the peer's entries under their own names,
// or nothing (the peer named in missing_peers) when it is not listed.
func (v *PeerView) List(ctx context.Context, kind mcp.Kind, _ mcp.ListOptions) (*mcp.List, error) {
	missing := &mcp.List{Meta: map[string]any{MetaMissingPeers: []string{v.peer}}}
	l := v.f.link(v.peer)
	if isForwarded(ctx) || l == nil {
		return missing, nil
	}
	status := l.status()
	if !listed(status) {
		return missing, nil
	}
	out := &mcp.List{Items: v.lists(l.entries.Load())[kind]}
	if status == api.PeerStale { // stale: the cached catalog, named missing too
		out.Meta = missing.Meta
	}
	return out, nil
}

// lists renames e's entries back to the peer's own names, once per e.
func (v *PeerView) lists(e *linkEntries) [4][]mcp.Item {
	if c := v.cache.Load(); c != nil && c.from == e {
		return c.lists
	}
	c := &peerViewLists{from: e}
	c.lists[mcp.KindTool] = unprefixed(e.lists[mcp.KindTool], e.tools)
	c.lists[mcp.KindPrompt] = unprefixed(e.lists[mcp.KindPrompt], e.prompts)
	c.lists[mcp.KindResource] = e.lists[mcp.KindResource]
	c.lists[mcp.KindResourceTemplate] = e.lists[mcp.KindResourceTemplate]
	v.cache.Store(c)
	return c.lists
}

// unprefixed gives each listed item back the name its peer gave it.
func unprefixed(items []mcp.Item, orig map[string]string) []mcp.Item {
	out := make([]mcp.Item, 0, len(items))
	for _, it := range items {
		name, ok := orig[it.Key]
		if !ok {
			continue
		}
		if js, err := mcp.SetParam(it.JSON, "name", "", name); err == nil {
			out = append(out, mcp.Item{Key: name, JSON: js})
		}
	}
	return out
}

// Call implements mcp.Backend: every request goes to the peer as it came
// (its names are the peer's own), through the engine's forwarding, which
// refuses a peer not trusted for calls or offline, naming it.
func (v *PeerView) Call(ctx context.Context, req *mcp.Request) (json.RawMessage, error) {
	if isForwarded(ctx) {
		return nil, &mcp.Error{Code: mcp.CodeInvalidRequest,
			Message: fmt.Sprintf("a forwarded request is not forwarded again (to peer %q)", v.peer)}
	}
	l := v.f.link(v.peer)
	if l == nil {
		return v.unlinked(req)
	}
	return v.f.forward(ctx, l, req)
}

// unlinked answers a call to a peer this node keeps no link to: one
// trusted at "none" (peer_not_trusted), or one just removed (offline).
func (v *PeerView) unlinked(req *mcp.Request) (json.RawMessage, error) {
	rec, ok := v.f.peerRecord(v.peer)
	if ok && rec.TrustLevel == cluster.TrustNone {
		return fedFailure(req.Method, v.peer, ErrNotTrusted,
			fmt.Sprintf("peer %q is trusted at level %q: nothing of it is federated", v.peer, rec.TrustLevel))
	}
	if !ok {
		return fedFailure(req.Method, v.peer, ErrPeerOffline, fmt.Sprintf("peer %q is no longer a peer of this node", v.peer))
	}
	return fedFailure(req.Method, v.peer, ErrPeerOffline, fmt.Sprintf("peer %q is offline (no link to it yet)", v.peer))
}
