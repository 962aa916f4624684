// Package federation is mcpmesh's federation engine: the node's view of
// the ring's catalogs (its own plus its trusted peers'), the names a peer's
// entries are listed under, the routing of calls to the peer that serves
// them, the links and node-to-node requests that reach peers, and the node
// tokens those requests carry. It is an mcp.Backend; the gateway serves it
// over HTTP. It imports cluster, mcp and store, never Gin or the gateway.
package federation

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/mcp"
	"github.com/mcpmesh/mcpmesh/policy"
	"github.com/mcpmesh/mcpmesh/store"
)

// HeaderForwarded marks a request one node forwards to another: the
// receiver serves it from its local catalog only, so nothing is forwarded
// twice and nothing loops.
const HeaderForwarded = "X-Mcpmesh-Forwarded"

// DefaultPeerTimeout bounds a forwarded call (--peer-timeout).
const DefaultPeerTimeout = 30 * time.Second

type forwardedKey struct{}

// WithForwarded marks ctx as serving a request forwarded by node from (the
// HeaderForwarded of the request): it is served from the local catalog
// only.
func WithForwarded(ctx context.Context, from string) context.Context {
	return context.WithValue(ctx, forwardedKey{}, from)
}

func isForwarded(ctx context.Context) bool {
	from, _ := ctx.Value(forwardedKey{}).(string)
	return from != ""
}

// Config configures an Engine. Node, Local and Secret are required.
type Config struct {
	Node        *cluster.Node
	Local       *mcp.Catalog
	Secret      []byte // mints the node tokens peers accept
	PeerTimeout time.Duration
	Logger      *slog.Logger
	// OnChange runs when what a federated listing shows may have changed.
	OnChange func()
	// OnRulesChanged runs when the ring's access rules changed, with the
	// rule sets before (nil at first) and after.
	OnRulesChanged func(before, after *policy.Set)
	// LinkBackoff bounds the reconnection delay of peer links (default 2 s).
	LinkBackoff time.Duration
	// Metrics counts ring events, catalog pulls, forwarded calls and what
	// the byte bounds cut (nil: none).
	Metrics Metrics
	// AutoTrust, if set, makes every ring member without a peer record a
	// peer at that level (--auto-trust), named after the member.
	AutoTrust string
	// MaxCatalogBytes and MaxResultBytes bound in bytes each peer's catalog
	// and each answer of a peer (--max-catalog-bytes, --max-result-bytes);
	// zero takes mcp's defaults.
	MaxCatalogBytes int64
	MaxResultBytes  int64
	// Store keeps each linked peer's catalog (keys "catalogs/"), so a
	// restarted node lists its peers at once; nil keeps them in memory only.
	Store store.Store
	// RootCAs verifies the certificates of https peers on every
	// node-to-node request (--tls-ca); nil: the system roots. Verification
	// is never skipped.
	RootCAs *x509.CertPool
	// Tracing, if set, makes a client span of each forwarded request and
	// carries its trace context to the peer (hop.go); nil: none.
	Tracing *mcp.Tracing
}

// Engine is the node's mcp.Backend: its local catalog plus the local
// catalogs of its trusted peers, each kept cached by one MCP session (a
// link). Listing never waits on a peer; a request for a peer's entry is
// forwarded one hop, as one stateless POST (hop.go).
type Engine struct {
	cfg    Config
	self   string
	log    *slog.Logger
	tokens *nodeTokens
	base   *http.Transport // shared by every client to peers
	client *http.Client    // mcp-scoped node tokens: links, info
	// hopClient sends forwarded requests (hop.go) through proxies, inline
	// (inlinepost.go, over TLS to https peers) to the others; both carry
	// their own node token, one per caller.
	hopClient *http.Client
	inline    *inlinePoster
	upInline  *inlinePoster // to the node's HTTP upstreams (upstreamtransport.go)
	// adminClient carries an admin node token, for the keyring fan-out only.
	adminClient *http.Client

	mu    sync.Mutex
	links map[string]*peerLink          // by peer name
	auto  map[string]cluster.PeerRecord // auto-trusted members, by peer name

	gen  atomic.Uint64 // bumped on every change that may alter the view
	view atomic.Pointer[fedView]

	shadows shadowNotes // peers whose name a local entry holds (shadow.go)

	policy   atomic.Pointer[compiledPolicy] // the rules in force (rules.go)
	policyMu sync.Mutex

	svcInFlight sync.Map // node → *atomic.Int64: service calls in flight to it (servicecall.go)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ mcp.Backend = (*Engine)(nil)

// New builds the engine; Start runs it. It reserves the peers' names in
// the local catalog (see shadow.go) and follows the catalog's changes.
func New(cfg Config) *Engine {
	if cfg.MaxCatalogBytes <= 0 {
		cfg.MaxCatalogBytes = mcp.DefaultMaxCatalogBytes
	}
	if cfg.MaxResultBytes <= 0 {
		cfg.MaxResultBytes = mcp.DefaultMaxResultBytes
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	if cfg.PeerTimeout <= 0 {
		cfg.PeerTimeout = DefaultPeerTimeout
	}
	if cfg.LinkBackoff <= 0 {
		cfg.LinkBackoff = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Engine{cfg: cfg, self: cfg.Node.Name(), log: cfg.Logger, links: map[string]*peerLink{},
		ctx: ctx, cancel: cancel}
	f.tokens = newNodeTokens(cfg.Secret, f.self, scopeMCP)
	f.tokens.where = f.gossipedURL
	f.base = peerTransport(cfg.RootCAs)
	f.client = &http.Client{Transport: &tokenTransport{tokens: f.tokens, from: f.self, base: f.base}}
	admin := newNodeTokens(cfg.Secret, f.self, scopeAdmin)
	admin.where = f.gossipedURL
	f.adminClient = &http.Client{Transport: &tokenTransport{tokens: admin, from: f.self, base: f.base}}
	f.hopClient = &http.Client{Transport: f.base}
	f.inline = newInlinePoster(peerIdleConns, peerTLS(cfg.RootCAs))
	f.upInline = newInlinePoster(upstreamIdleConns, nil)
	cfg.Local.OnChange(f.changed)
	cfg.Local.SetReserved(f.peerNamed) // shadow.go
	return f
}

// peerIdleConns is how many idle connections to one peer are kept for
// reuse: http.DefaultTransport keeps 2, so a third concurrent forwarded call
// dialled a new TCP connection and closed it after one use.
const peerIdleConns = 64

// peerTransport is the HTTP transport of node-to-node requests: the
// default one (HTTP/1.1 keep-alive to plain-http peers) with enough idle
// connections per peer for concurrent calls, and no gzip (a node's
// answers are not compressed; asking only adds a header). https peers are
// verified against roots (peerTLS), over HTTP/1.1 as nodes serve it.
func peerTransport(roots *x509.CertPool) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 4 * peerIdleConns
	t.MaxIdleConnsPerHost = peerIdleConns
	t.DisableCompression = true
	t.TLSClientConfig = peerTLS(roots)
	t.ForceAttemptHTTP2 = false
	return t
}

// Start follows the ring's events and its links' health, and links the
// trusted peers.
func (f *Engine) Start() {
	f.reconcile()
	f.wg.Add(2)
	go f.follow()
	go f.watchStatus() // statuswatch.go
}

// Close ends every peer link and the event loop.
func (f *Engine) Close() {
	f.cancel()
	f.wg.Wait()
	f.mu.Lock()
	links := f.links
	f.links = map[string]*peerLink{}
	f.mu.Unlock()
	for _, l := range links {
		l.close()
	}
	f.client.CloseIdleConnections()
	f.inline.close()
	f.upInline.close()
}

// HTTPClient is the client nodes use to reach each other: it carries an
// mcp-scoped node token and the forwarded mark. A request's context names
// the node it is for (ToNode); without it, the token is good for
// GET /api/federation/info only.
func (f *Engine) HTTPClient() *http.Client { return f.client }

// AdminClient is HTTPClient with an admin-scoped node token, for the
// keyring fan-out only.
func (f *Engine) AdminClient() *http.Client { return f.adminClient }

// follow reacts to ring events until Close.
func (f *Engine) follow() {
	defer f.wg.Done()
	for {
		select {
		case <-f.ctx.Done():
			return
		case ev, ok := <-f.cfg.Node.Events():
			if !ok {
				return
			}
			f.onEvent(ev)
		}
	}
}

func (f *Engine) onEvent(ev cluster.Event) {
	f.logEvent(ev)
	if ev.Type != cluster.MemberUpdate {
		f.cfg.Metrics.RingEvent(ev.Type.String())
	}
	switch {
	case ev.Type == cluster.RegistryChanged:
		f.reconcile()
	case ev.Type == cluster.RulesChanged:
		f.rulesChanged()
		return
	case ev.Type == cluster.MemberJoin || ev.Type == cluster.MemberUpdate && f.urlMoved(ev.Member):
		f.reconcile()
	case f.cfg.AutoTrust != "" && ev.Type != cluster.MemberUpdate && ev.Type != cluster.MemberSuspect:
		f.reconcile()
	}
	if ev.Type == cluster.MemberUpdate || ev.Type == cluster.MemberJoin {
		if l := f.linkForMember(ev.Member.Name); l != nil {
			l.refresh(ev.Member)
		}
	}
	f.changed()
}

// logEvent logs every membership and peer change once, with the fields an
// operator greps for; meta updates (catalog digests) only at debug.
func (f *Engine) logEvent(ev cluster.Event) {
	switch ev.Type {
	case cluster.RulesChanged:
		r := ev.Rule
		f.log.Info("rule changed", "rule", r.Name, "effect", r.Effect, "deleted", r.Deleted, "writer", r.Writer)
	case cluster.RegistryChanged:
		p := ev.Peer
		f.log.Info("peer changed", "event", ev.Type.String(), "peer", p.Name, "member", p.Member, "url", p.URL,
			"trust_level", p.TrustLevel, "deleted", p.Deleted, "writer", p.Writer)
	case cluster.MemberUpdate:
		f.log.Debug("member updated", "member", ev.Member.Name, "catalog_digest", ev.Member.Meta.CatalogDigest)
	default:
		m := ev.Member
		f.log.Info("membership changed", "event", ev.Type.String(), "member", m.Name, "state", m.State,
			"address", m.Addr, "url", m.Meta.URL)
	}
}

// changed invalidates the cached view and tells sessions.
func (f *Engine) changed() {
	f.gen.Add(1)
	if f.cfg.OnChange != nil {
		f.cfg.OnChange()
	}
}

// urlMoved reports whether a linked member now gossips another URL.
func (f *Engine) urlMoved(m cluster.Member) bool {
	l := f.linkForMember(m.Name)
	return l != nil && m.Meta.URL != "" && m.Meta.URL != l.record().URL
}

func (f *Engine) linkForMember(member string) *peerLink {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.links {
		if l.rec.Member == member {
			return l
		}
	}
	return nil
}

// reconcile makes the links match the registry: one per peer trusted at
// full or discover, none for "none" peers, removed or renamed ones.
func (f *Engine) reconcile() {
	want := map[string]cluster.PeerRecord{}
	auto := f.autoPeers()
	for _, rec := range append(f.cfg.Node.Registry().List(), mapValues(auto)...) {
		if rec.TrustLevel != cluster.TrustNone && rec.Member != f.self {
			want[rec.Name] = f.followURL(rec)
		}
	}
	f.mu.Lock()
	f.auto = auto
	var stale []*peerLink
	var gone []string // peers no longer linked: their catalogs are dropped
	for name, l := range f.links {
		cur := l.record()
		rec, ok := want[name]
		if !ok || rec.URL != cur.URL || rec.Member != cur.Member {
			stale = append(stale, l)
			delete(f.links, name)
		}
		if !ok {
			gone = append(gone, name)
		}
	}
	for name, rec := range want {
		if l, ok := f.links[name]; ok {
			l.setRecord(rec)
			continue
		}
		f.links[name] = f.newLink(rec)
	}
	f.mu.Unlock()
	for _, l := range stale {
		l.close()
	}
	for _, name := range gone {
		f.dropCatalog(name)
	}
	f.changed()
}

// followURL points a link at the URL the peer's member gossips: a node
// restarted on another port is reached there with no admin action, and
// node tokens go nowhere else (see peer_identity.go). A member not known
// here yet, or gossiping no URL, gets a link with no URL, which does not
// connect until the member is known. The record keeps the URL the admin
// gave.
func (f *Engine) followURL(rec cluster.PeerRecord) cluster.PeerRecord {
	rec.URL, _ = f.gossipedURL(rec.Member)
	return rec
}

// gossipedURL returns the URL member gossips in its meta, if it is known
// and gossips one.
func (f *Engine) gossipedURL(member string) (string, bool) {
	m, ok := f.cfg.Node.Member(member)
	return m.Meta.URL, ok && m.Meta.URL != ""
}

// link returns the link of the peer called name, if any.
func (f *Engine) link(name string) *peerLink {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.links[name]
}

func (f *Engine) linkList() []*peerLink {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*peerLink, 0, len(f.links))
	for _, l := range f.links {
		out = append(out, l)
	}
	return out
}

// WaitLinked waits (bounded by ctx) until the peer's link has its first
// catalog or has failed, so a freshly added peer is answered with a status
// that means something.
func (f *Engine) WaitLinked(ctx context.Context, name string) {
	if l := f.link(name); l != nil && !l.noURL {
		_ = l.up.WaitReady(ctx)
		l.rebuild()
	}
}
