package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcpmesh/mcpmesh/api"
	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// linkGrace is how long a link may be down while gossip says its peer is
// alive before the peer counts as offline: a peer that restarted ends the
// link's session, and the link takes a moment to open a new one.
const linkGrace = 2 * time.Second

// MaxPeerEntries bounds what one peer may add to the listing, so a hostile
// or broken peer cannot exhaust this node.
const MaxPeerEntries = 20000

// peerLink is this node's MCP session to one trusted peer: it keeps the
// peer's local catalog, renamed for listing here, and carries the forwarded
// requests the hop does not (hop.go: needsSession); its endpoint is where
// the hop POSTs the others.
type peerLink struct {
	f  *Engine
	up *mcp.Upstream

	mu            sync.Mutex
	rec           cluster.PeerRecord
	digest        string    // the catalog digest last seen gossiped
	pulled        time.Time // when the catalog last changed here
	entries       atomic.Pointer[linkEntries]
	endpoint      *url.URL // the peer's MCP endpoint, for the hop's POSTs
	endpointErr   error
	inline        bool                      // the hop goes through f.inline (plain http, no proxy)
	noURL         bool                      // the member gossips no URL (yet): the link waits unstarted
	refusing      atomic.Bool               // the peer's port refused since its last answer (linkwatch.go)
	probing       atomic.Bool               // a probe of the peer's port is under way
	speech        atomic.Pointer[hopSpeech] // whether the peer serves the hop (hopversion.go)
	discoverProbe chan struct{}             // held by the one server/discover in flight

	saveKick chan struct{} // a new listing to write to the store
	done     chan struct{} // closed by close
	saved    chan struct{} // closed when the saver has returned
	once     sync.Once
}

// linkEntries are a peer's entries as listed here, with their routes.
type linkEntries struct {
	lists     [4][]mcp.Item
	tools     map[string]string // listed name → the peer's name
	prompts   map[string]string
	resources map[string]bool
	templates []string
	cut       int // entries past MaxPeerEntries, left out
	// headed are the input schemas of the tools with x-mcp-header
	// annotations, by the peer's name: the hop sends their Mcp-Param-*.
	headed map[string]json.RawMessage
	// services are the peer's tools of replicated services, by service,
	// then by the name the peer lists them under ("<service>__<tool>"):
	// they are listed once per service (services.go), not as the peer's.
	services map[string]map[string]json.RawMessage
}

// inputSchema is the input schema of the peer's tool req calls, when it
// has x-mcp-header annotations (nil otherwise).
func (l *peerLink) inputSchema(req *mcp.Request) json.RawMessage {
	if req.Method != "tools/call" {
		return nil
	}
	e := l.entries.Load()
	if len(e.headed) == 0 {
		return nil
	}
	return e.headed[req.View().Name]
}

func (f *Engine) newLink(rec cluster.PeerRecord) *peerLink {
	l := &peerLink{f: f, rec: rec, saveKick: make(chan struct{}, 1), discoverProbe: make(chan struct{}, 1),
		done: make(chan struct{}), saved: make(chan struct{})}
	cfg := mcp.ServerConfig{Name: rec.Name, URL: strings.TrimRight(rec.URL, "/") + "/mcp"}
	l.endpoint, l.endpointErr = url.Parse(cfg.URL) // a link's URL never changes: a new URL is a new link
	l.inline = l.endpointErr == nil && f.inline.usable(l.endpoint)
	cached := f.loadCatalog(rec)
	opts := mcp.UpstreamOptions{MaxCatalogBytes: f.cfg.MaxCatalogBytes, MaxResultBytes: f.cfg.MaxResultBytes,
		OnTruncate: func(t mcp.Truncation) { f.cfg.Metrics.CatalogCut(rec.Name, t.Reason) }}
	// no OnTooLarge: an answer over the bound is counted by forward, which knows the peer
	opts.Logger, opts.OnChange, opts.HTTPClient = f.log.With("peer", rec.Name), l.relisted, l.watchClient(f.linkClient(rec.Member))
	opts.MinBackoff, opts.MaxBackoff, opts.ConnectTimeout = 100*time.Millisecond, f.cfg.LinkBackoff, 10*time.Second
	opts.UnreachableErrors, opts.StaleOnListError, opts.Initial = true, true, cached
	opts.NoCallerMeta = true     // the link carries requests only to peers the hop cannot serve (hopversion.go)
	opts.OnListError = f.changed // stale or not: the view names it missing or not
	opts.Tracing = f.cfg.Tracing // requests that go over the link are traced as upstream calls
	l.up = mcp.NewUpstream(cfg, opts)
	l.entries.Store(buildEntries(rec.Name, cached))
	if l.noURL = rec.URL == ""; l.noURL {
		l.endpointErr = fmt.Errorf("member %q gossips no url here (yet)", rec.Member)
	} else {
		l.up.Start(f.ctx)
	}
	go l.saver()
	return l
}

// close ends the link and waits for its saver, so nothing of the link is
// written to the store afterwards.
func (l *peerLink) close() {
	l.once.Do(func() {
		close(l.done)
		_ = l.up.Close()
		<-l.saved
	})
}

// linkClient is the HTTP client of a link to member: its tokens are for
// that node only.
func (f *Engine) linkClient(member string) *http.Client {
	return &http.Client{Transport: &tokenTransport{tokens: f.tokens, from: f.self, aud: member, base: f.base}}
}

func (l *peerLink) record() cluster.PeerRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rec
}

func (l *peerLink) setRecord(rec cluster.PeerRecord) {
	l.mu.Lock()
	l.rec = rec
	l.mu.Unlock()
}

// refresh re-lists the peer's catalog when its gossiped digest changed.
func (l *peerLink) refresh(m cluster.Member) {
	l.mu.Lock()
	changed := m.Meta.CatalogDigest != l.digest
	l.digest = m.Meta.CatalogDigest
	l.mu.Unlock()
	if changed {
		l.up.Refresh()
	}
}

// relisted takes a new listing of the peer, and logs and counts what
// MaxPeerEntries cut of it (once per listing).
func (l *peerLink) relisted() {
	if e := l.rebuild(); e.cut > 0 {
		name := l.record().Name
		l.f.log.Warn("peer catalog cut", "peer", name, "reason", mcp.CutCount, "entries_cut", e.cut, "max_entries_per_kind", MaxPeerEntries)
		l.f.cfg.Metrics.CatalogCut(name, mcp.CutCount)
	}
}

// rebuild renames the peer's newly listed catalog for listing here, and
// caches it in the store.
func (l *peerLink) rebuild() *linkEntries {
	rec := l.record()
	defs := l.up.Snapshot()
	e := buildEntries(rec.Name, defs)
	l.entries.Store(e)
	l.mu.Lock()
	l.pulled = time.Now()
	l.mu.Unlock()
	l.f.cfg.Metrics.CatalogPulled(rec.Name)
	l.f.changed()
	kick(l.saveKick)
	return e
}

// saver writes the latest listing to the store after each change, off
// the relisting goroutine (a synced write must not delay the next list).
func (l *peerLink) saver() {
	defer close(l.saved)
	for {
		select {
		case <-l.done:
			return
		case <-l.saveKick:
			l.f.saveCatalog(l.record(), l.up.Snapshot())
		}
	}
}

// kick wakes a loop without blocking.
func kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// buildEntries renames peer's catalog for listing here.
func buildEntries(peer string, defs mcp.Definitions) *linkEntries {
	e := &linkEntries{tools: map[string]string{}, prompts: map[string]string{}, resources: map[string]bool{}}
	addNamed(e, peer, mcp.KindTool, defs.Tools, e.tools)
	addNamed(e, peer, mcp.KindPrompt, defs.Prompts, e.prompts)
	addResources(e, peer, defs)
	return e
}

// capped is defs up to MaxPeerEntries; e counts the rest as cut.
func (e *linkEntries) capped(defs []json.RawMessage) []json.RawMessage {
	n := min(len(defs), MaxPeerEntries)
	e.cut += len(defs) - n
	return defs[:n]
}

func addNamed(e *linkEntries, peer string, kind mcp.Kind, defs []json.RawMessage, routes map[string]string) {
	for _, def := range e.capped(defs) {
		orig := mcp.StringField(def, "name")
		listed := FederatedName(peer, orig)
		if _, dup := routes[listed]; dup || orig == "" || kind == mcp.KindTool && e.addService(orig, def) {
			continue
		}
		if js, err := mcp.Decorate(def, "name", listed, peer); err == nil {
			routes[listed] = orig
			noteHeaders(e, kind, orig, def)
			e.lists[kind] = append(e.lists[kind], mcp.Item{Key: listed, JSON: js})
		}
	}
}

// noteHeaders keeps the input schema of a tool with x-mcp-header
// annotations.
func noteHeaders(e *linkEntries, kind mcp.Kind, name string, def json.RawMessage) {
	if kind != mcp.KindTool || !bytes.Contains(def, []byte("x-mcp-header")) {
		return
	}
	var t struct {
		InputSchema json.RawMessage `json:"inputSchema"`
	}
	if json.Unmarshal(def, &t) == nil {
		if e.headed == nil {
			e.headed = map[string]json.RawMessage{}
		}
		e.headed[name] = t.InputSchema
	}
}

func addResources(e *linkEntries, peer string, defs mcp.Definitions) {
	for _, def := range e.capped(defs.Resources) {
		uri := mcp.StringField(def, "uri")
		if js, err := mcp.Decorate(def, "", "", peer); err == nil && uri != "" && !e.resources[uri] {
			e.resources[uri] = true
			e.lists[mcp.KindResource] = append(e.lists[mcp.KindResource], mcp.Item{Key: uri, JSON: js})
		}
	}
	for _, def := range e.capped(defs.ResourceTemplates) {
		tmpl := mcp.StringField(def, "uriTemplate")
		if js, err := mcp.Decorate(def, "", "", peer); err == nil && tmpl != "" {
			e.templates = append(e.templates, tmpl)
			e.lists[mcp.KindResourceTemplate] = append(e.lists[mcp.KindResourceTemplate], mcp.Item{Key: tmpl, JSON: js})
		}
	}
}

// status is the peer's health as this node sees it: gossip first (left,
// dead, suspect), then whether its link is up.
func (l *peerLink) status() string {
	m, ok := l.f.cfg.Node.Member(l.record().Member)
	switch {
	case ok && m.State == cluster.StateLeft:
		return api.PeerLeft
	case !ok || m.State == cluster.StateDead || l.noURL || l.refusing.Load():
		return api.PeerOffline
	case l.down():
		return api.PeerOffline
	case m.State == cluster.StateSuspect:
		return api.PeerSuspect
	case l.up.Status().ListError != "":
		return api.PeerStale
	}
	return api.PeerOnline
}

// down reports whether the link has been down for longer than linkGrace,
// or its last attempt found the peer's port closed.
func (l *peerLink) down() bool {
	st := l.up.Status()
	return st.State != mcp.UpstreamReady && (time.Since(st.Since) > linkGrace || refused(st.Error))
}

// refused reports whether a link's error says the peer's port refused the
// connection: nothing serves there now (a killed or stopped node), so the
// grace a reconnecting link gets would only list a dead peer for longer.
func refused(errText string) bool { return strings.Contains(errText, "connection refused") }

// awaitUp gives a reconnecting link up to linkGrace to come back before a
// call through it; it returns at once when the link is up, or when its
// peer's port refuses.
func (l *peerLink) awaitUp(ctx context.Context) {
	deadline := time.Now().Add(linkGrace)
	for st := l.up.Status(); st.State != mcp.UpstreamReady && !refused(st.Error) && time.Now().Before(deadline); st = l.up.Status() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// listed reports whether the peer's entries belong in a listing (a stale
// peer's cached ones do, and it is named as missing too).
func listed(status string) bool {
	return status == api.PeerOnline || status == api.PeerSuspect || status == api.PeerStale
}
