package federation

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// viewTTL bounds how long a view is reused without a change event, so
// gossip state changes that raise no event (suspect) still show.
const viewTTL = 500 * time.Millisecond

// MetaMissingPeers names the trusted peers a federated listing lacks.
const MetaMissingPeers = "mcpmesh/missing_peers"

// fedView is the federated listing at one moment: local entries first,
// then each listed peer's (peers by name), and where each entry is served.
type fedView struct {
	gen     uint64
	built   time.Time
	lists   [4][]mcp.Item
	missing []string
	tools   map[string]fedRoute
	prompts map[string]fedRoute
	links   []*peerLink // listed links, for resource routing
	// svcTools are the listed tools of replicated services, services
	// their descriptions (services.go).
	svcTools map[string]*svcTool
	services []*svcInfo
}

type fedRoute struct {
	link *peerLink
	orig string
}

// currentView returns the cached view, rebuilding it after a change.
func (f *Engine) currentView(ctx context.Context) *fedView {
	gen := f.gen.Load()
	if v := f.view.Load(); v != nil && v.gen == gen && time.Since(v.built) < viewTTL {
		return v
	}
	v := f.buildView(ctx, gen)
	f.view.Store(v)
	return v
}

func (f *Engine) buildView(ctx context.Context, gen uint64) *fedView {
	v := &fedView{gen: gen, built: time.Now(), tools: map[string]fedRoute{}, prompts: map[string]fedRoute{}}
	for k := range v.lists {
		if l, err := f.cfg.Local.List(ctx, mcp.Kind(k), mcp.ListOptions{}); err == nil {
			v.lists[k] = slices.Clone(l.Items)
		}
	}
	links := f.linkList()
	slices.SortFunc(links, func(a, b *peerLink) int { return strings.Compare(a.record().Name, b.record().Name) })
	m := f.gatherServices(v, links)
	var svcItems []mcp.Item
	v.svcTools, v.services, svcItems = m.build(f.self)
	v.lists[mcp.KindTool] = append(v.lists[mcp.KindTool], svcItems...) // after the local tools, before the peers'
	for _, l := range links {
		if _, shadowed := f.shadowedBy(l.record().Name); shadowed { // the local entries win (shadow.go)
			v.missing = append(v.missing, l.record().Name)
			continue
		}
		v.add(l, l.status())
	}
	return v
}

// add routes a link's entries; a link that is listed also shows them, one
// that is not (or is stale) is named as missing. Calls to a missing peer's
// entries are still routed, so they fail naming the peer rather than as
// unknown.
func (v *fedView) add(l *peerLink, status string) {
	e := l.entries.Load()
	show := listed(status)
	if !show || status == api.PeerStale {
		v.missing = append(v.missing, l.record().Name)
	}
	for k := range v.lists {
		if show {
			v.lists[k] = append(v.lists[k], e.lists[k]...)
		}
	}
	for name, orig := range e.tools {
		v.tools[name] = fedRoute{l, orig}
	}
	for name, orig := range e.prompts {
		v.prompts[name] = fedRoute{l, orig}
	}
	if show {
		v.links = append(v.links, l)
	}
}

// List implements mcp.Backend: local entries, plus the listed peers' when
// federation is asked for and the request was not forwarded to us.
func (f *Engine) List(ctx context.Context, kind mcp.Kind, opts mcp.ListOptions) (*mcp.List, error) {
	if !opts.IncludeFederated || isForwarded(ctx) {
		return f.cfg.Local.List(ctx, kind, opts)
	}
	v := f.currentView(ctx)
	l := &mcp.List{Items: v.lists[kind]}
	if len(v.missing) > 0 {
		l.Meta = map[string]any{MetaMissingPeers: v.missing}
	}
	return l, nil
}
