package federation

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// Replicated services. An upstream entry with "service": "<name>" lists
// its tools as "<name>__<tool>" marked with _meta["mcpmesh/service"]
// (mcp.Catalog.AddEntry). The providers of a service are this node, when it
// runs one, and every full-trust peer whose catalog lists tools of it. The
// view lists each service tool once, with "source" the service and
// _meta["mcpmesh/providers"] the nodes that serve it, and routes its calls
// to one of them (servicecall.go).
//
// The listed definition of a tool: this node's, when it provides the tool;
// else the one whose input schema most providers list, ties going to the
// schema of the provider with the lowest node name. Only providers that
// list the tool with that input schema serve it; the others are named in
// GET /api/services under schema_mismatch.

// MetaProviders names the nodes that serve a service tool, on its listing.
const MetaProviders = "mcpmesh/providers"

// svcProvider is one node that serves a service: this node (link nil) or a
// full-trust peer.
type svcProvider struct {
	node string
	link *peerLink
}

// svcTool is one listed tool of a service.
type svcTool struct {
	service, name string
	def           json.RawMessage // as listed here
	providers     []svcProvider   // those with the listed schema, by node
	retry         bool            // readOnlyHint or idempotentHint: may run again elsewhere
	info          *svcInfo        // its service
}

// svcInfo is one service as GET /api/services shows it.
type svcInfo struct {
	name      string
	tools     []string
	providers []svcProvider       // every provider, by node
	serves    map[string][]string // node → the tools it serves
	mismatch  map[string][]string // node → the tools it lists with another schema
	unlisted  map[string]bool     // tools only providers not listed now have (offline, suspect, left)
}

// svcCand is one provider's definition of one service tool.
type svcCand struct {
	p      svcProvider
	def    json.RawMessage
	schema string // canonical input schema
}

// svcMerge gathers the service tools of this node and its providers.
type svcMerge struct {
	cands map[string][]svcCand              // listed name → definitions
	of    map[string]string                 // listed name → service
	provs map[string]map[string]svcProvider // service → node → provider
	// unlisted are the tools of providers not listed now: a call of one is
	// service_unavailable, not an unknown tool
	unlisted map[string]string // listed name → service
}

func newSvcMerge() *svcMerge {
	return &svcMerge{cands: map[string][]svcCand{}, of: map[string]string{}, provs: map[string]map[string]svcProvider{},
		unlisted: map[string]string{}}
}

// addService files a peer's tool of a service under e.services; it reports
// false for a tool of no service.
func (e *linkEntries) addService(name string, def json.RawMessage) bool {
	svc := mcp.ServiceOf(def)
	if svc == "" || !strings.HasPrefix(name, svc+"__") {
		return false
	}
	if e.services == nil {
		e.services = map[string]map[string]json.RawMessage{}
	}
	if e.services[svc] == nil {
		e.services[svc] = map[string]json.RawMessage{}
	}
	e.services[svc][name] = def
	noteHeaders(e, mcp.KindTool, name, def) // the hop sends its Mcp-Param-* headers
	return true
}

// provider notes p as a provider of svc.
func (m *svcMerge) provider(svc string, p svcProvider) {
	if m.provs[svc] == nil {
		m.provs[svc] = map[string]svcProvider{}
	}
	m.provs[svc][p.node] = p
}

// add notes p's definition of a tool of svc.
func (m *svcMerge) add(svc, name string, p svcProvider, def json.RawMessage) {
	m.provider(svc, p)
	m.of[name] = svc
	m.cands[name] = append(m.cands[name], svcCand{p: p, def: def, schema: canonicalSchema(def)})
}

// canonicalSchema is a tool's input schema re-encoded with sorted keys, so
// that two providers' schemas compare equal when they mean the same.
func canonicalSchema(def json.RawMessage) string {
	var v any
	if json.Unmarshal(mcp.Field(def, "inputSchema"), &v) != nil {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// splitLocal takes this node's service tools out of its local tool list
// into m.
func (m *svcMerge) splitLocal(self string, items []mcp.Item) []mcp.Item {
	out := items[:0:0]
	for _, it := range items {
		if svc := mcp.ServiceOf(it.JSON); svc != "" && strings.HasPrefix(it.Key, svc+"__") {
			m.add(svc, it.Key, svcProvider{node: self}, it.JSON)
			continue
		}
		out = append(out, it)
	}
	return out
}

// addLink notes a full-trust peer's service tools: all of them when its
// entries are listed, only the provider itself otherwise (so
// GET /api/services shows it, offline).
func (m *svcMerge) addLink(l *peerLink, listedNow bool) {
	p := svcProvider{node: l.record().Member, link: l}
	for svc, tools := range l.entries.Load().services {
		m.provider(svc, p)
		for name, def := range tools {
			if listedNow {
				m.add(svc, name, p, def)
			} else {
				m.unlisted[name] = svc
			}
		}
	}
}

// blocked reports whether the service name svc is held on this node by
// something else (a prefix, a peer): its remote providers are then not
// listed or routed here (names never shadow each other).
func (f *Engine) svcBlocked(svc string, localSvc map[string]bool) bool {
	if localSvc[svc] {
		return false
	}
	if _, held := f.cfg.Local.Holder(svc); held {
		return true
	}
	_, peer := f.peerRecord(svc)
	return peer
}

// localServices is the set of services this node provides.
func (f *Engine) localServices() map[string]bool {
	out := map[string]bool{}
	for _, s := range f.cfg.Local.Services() {
		out[s.Service] = true
	}
	return out
}

// gatherServices collects the service tools of this node (taken out of
// v's local tool list) and of its full-trust peers.
func (f *Engine) gatherServices(v *fedView, links []*peerLink) *svcMerge {
	m := newSvcMerge()
	v.lists[mcp.KindTool] = m.splitLocal(f.self, v.lists[mcp.KindTool])
	localSvc := f.localServices()
	for svc := range localSvc {
		m.provider(svc, svcProvider{node: f.self})
	}
	for _, l := range links {
		if l.record().TrustLevel != cluster.TrustFull {
			continue
		}
		if _, shadowed := f.cfg.Local.Holder(l.record().Name); shadowed {
			continue
		}
		m.addLink(l, listed(l.status()))
	}
	for svc := range m.provs {
		if f.svcBlocked(svc, localSvc) {
			m.drop(svc)
		}
	}
	return m
}

// drop forgets everything of svc.
func (m *svcMerge) drop(svc string) {
	delete(m.provs, svc)
	for name, s := range m.of {
		if s == svc {
			delete(m.of, name)
			delete(m.cands, name)
		}
	}
}

// build makes the listed service tools and the services' descriptions.
func (m *svcMerge) build(self string) (map[string]*svcTool, []*svcInfo, []mcp.Item) {
	tools := map[string]*svcTool{}
	infos := map[string]*svcInfo{}
	for svc, provs := range m.provs {
		infos[svc] = &svcInfo{name: svc, providers: sortedProviders(provs), serves: map[string][]string{}, mismatch: map[string][]string{},
			unlisted: map[string]bool{}}
	}
	for name, svc := range m.unlisted {
		if in := infos[svc]; in != nil && m.cands[name] == nil {
			in.unlisted[name] = true
		}
	}
	var items []mcp.Item
	for name, cands := range m.cands {
		st, mismatched := mergeTool(self, m.of[name], name, cands)
		info := infos[st.service]
		st.info = info
		info.tools = append(info.tools, name)
		for _, p := range st.providers {
			info.serves[p.node] = append(info.serves[p.node], name)
		}
		for _, c := range mismatched {
			info.mismatch[c.p.node] = append(info.mismatch[c.p.node], name)
		}
		tools[name] = st
		items = append(items, mcp.Item{Key: name, JSON: st.def})
	}
	slices.SortFunc(items, func(a, b mcp.Item) int { return strings.Compare(a.Key, b.Key) })
	return tools, sortedInfos(infos), items
}

func sortedProviders(provs map[string]svcProvider) []svcProvider {
	out := make([]svcProvider, 0, len(provs))
	for _, p := range provs {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b svcProvider) int { return strings.Compare(a.node, b.node) })
	return out
}

func sortedInfos(infos map[string]*svcInfo) []*svcInfo {
	out := make([]*svcInfo, 0, len(infos))
	for _, in := range infos {
		slices.Sort(in.tools)
		for _, l := range in.serves {
			slices.Sort(l)
		}
		for _, l := range in.mismatch {
			slices.Sort(l)
		}
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b *svcInfo) int { return strings.Compare(a.name, b.name) })
	return out
}

// mergeTool picks the listed schema of one tool (see the rule above) and
// splits its providers into those that serve it and the mismatched.
func mergeTool(self, svc, name string, cands []svcCand) (*svcTool, []svcCand) {
	slices.SortFunc(cands, func(a, b svcCand) int { return strings.Compare(a.p.node, b.p.node) })
	pick := chooseSchema(self, cands)
	st := &svcTool{service: svc, name: name}
	var mismatched []svcCand
	for _, c := range cands {
		if c.schema != cands[pick].schema {
			mismatched = append(mismatched, c)
			continue
		}
		st.providers = append(st.providers, c.p)
	}
	nodes := make([]string, len(st.providers))
	for i, p := range st.providers {
		nodes[i] = p.node
	}
	st.def = listedDef(cands[pick].def, svc, nodes)
	st.retry = retryable(st.def)
	return st, mismatched
}

// listedDef is a provider's definition as the service lists it: source
// the service (a peer's link keeps only what the MCP Tool type holds), and
// the providers in _meta.
func listedDef(def json.RawMessage, svc string, nodes []string) json.RawMessage {
	out, err := mcp.Decorate(def, "", "", svc)
	if err != nil {
		return def
	}
	if withProv, err := mcp.WithMeta(out, MetaProviders, nodes); err == nil {
		out = withProv
	}
	return out
}

// chooseSchema is the index of the definition whose schema is listed:
// this node's, else the schema most providers share, ties to the lowest
// node name (cands are sorted by node).
func chooseSchema(self string, cands []svcCand) int {
	count := map[string]int{}
	for i, c := range cands {
		if c.p.node == self {
			return i
		}
		count[c.schema]++
	}
	best := 0
	for i, c := range cands {
		if count[c.schema] > count[cands[best].schema] {
			best = i
		}
	}
	return best
}

// retryable reports whether a tool's annotations let a call of it run
// again on another provider: readOnlyHint or idempotentHint true.
func retryable(def json.RawMessage) bool {
	ann := mcp.Field(def, "annotations")
	for _, k := range []string{"readOnlyHint", "idempotentHint"} {
		if bytes.Equal(bytes.TrimSpace(mcp.Field(ann, k)), []byte("true")) {
			return true
		}
	}
	return false
}
