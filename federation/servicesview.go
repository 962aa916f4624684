package federation

import (
	"context"

	"github.com/mcpmesh/mcpmesh/api"
)

// Services describes the replicated services as GET /api/services shows
// them: each with its listed tools and every provider this node knows,
// its health, this node's calls in flight to it and its gossip RTT.
func (f *Engine) Services(ctx context.Context) []api.Service {
	v := f.currentView(ctx)
	out := make([]api.Service, 0, len(v.services))
	for _, in := range v.services {
		s := api.Service{Name: in.name, Tools: nonNil(in.tools), Providers: []api.ServiceProvider{}}
		for _, p := range in.providers {
			s.Providers = append(s.Providers, f.providerView(in, p))
		}
		out = append(out, s)
	}
	return out
}

func (f *Engine) providerView(in *svcInfo, p svcProvider) api.ServiceProvider {
	pv := api.ServiceProvider{Node: p.node, Status: f.providerStatus(p, in.name), InFlight: int(f.inFlight(p.node).Load()),
		Tools: nonNil(in.serves[p.node]), SchemaMismatch: nonNil(in.mismatch[p.node])}
	if rtt, ok := f.cfg.Node.RTT(p.node); ok && p.link != nil {
		pv.RTTMillis = float64(rtt.Microseconds()) / 1000
	}
	return pv
}

// nonNil is s, or an empty list (JSON [] rather than null).
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
