// Package gateway is mcpmesh's HTTP face: the Gin router, JWT auth, the MCP
// endpoints (served by an mcp.Server), the REST API for upstream servers,
// tools and the federation, health, readiness and Prometheus metrics. In a
// ring its MCP backend is the federation engine (package federation), which
// it builds and whose peers API it serves. It is the only package that
// imports Gin.
package gateway

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/mcpmesh/mcpmesh/cluster"
	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/mcp"
	"github.com/mcpmesh/mcpmesh/store"
)

// Defaults of Config.
const (
	DefaultMaxBodyBytes = 4 << 20
	DefaultReadyTimeout = 10 * time.Second
)

// Config configures a Gateway. Secret, Store and Catalog are required.
type Config struct {
	Name    string // node name; also the source of local tools
	Version string
	URL     string // advertised base URL, e.g. http://127.0.0.1:8000
	// Listen is the address the HTTP listener is bound to (--http, as
	// bound), so that an upstream pointed at this node is refused.
	Listen string
	Secret []byte // HS256 key; at least MinSecretLen bytes

	Store   store.Store  // upstreams registered by the API live under "servers/"
	Catalog *mcp.Catalog // the node's local catalog; upstreams are added to it
	// Backend answers MCP and /api/tools; default Catalog.
	Backend mcp.Backend
	// MCP serves /mcp and /mcp/http; default an mcp.Server on Backend built
	// with this Config (its metrics hook included).
	MCP *mcp.Server
	// Servers are the upstreams of the --config file: started by Start,
	// never written to the store. A stored server of the same name wins.
	Servers []mcp.ServerConfig

	Logger         *slog.Logger
	AllowedOrigins []string // browser origins allowed besides none
	// AllowedHosts (--allowed-hosts) are Host names allowed on the MCP
	// routes besides the advertised host and loopback: a balancer's or
	// ingress's name (see mcp.CheckAllowedHost).
	AllowedHosts []string
	MaxBodyBytes int64 // request body limit (default 4 MiB)
	// ReadyTimeout bounds the wait for an upstream to connect, at Start and
	// on registration (default 10 s).
	ReadyTimeout time.Duration
	// Registry holds the metrics served at /metrics (default a new one).
	Registry *prometheus.Registry
	// Node is the node's ring membership; with it the gateway federates
	// (Backend becomes a federation.Engine) and serves /api/federation/*.
	Node *cluster.Node
	// PeerTimeout bounds a forwarded call (default
	// federation.DefaultPeerTimeout).
	PeerTimeout time.Duration
	// AutoTrust (--auto-trust) makes every ring member a peer at that level.
	AutoTrust string
	// MaxSessions (--max-sessions) bounds the MCP sessions of clients on
	// this node, MaxSessionsPerPrincipal (--max-sessions-per-principal)
	// those of one token subject; other nodes' links have a budget of
	// their own (see mcp.ServerOptions). Zero takes mcp's defaults.
	MaxSessions             int
	MaxSessionsPerPrincipal int
	// Bounds are the byte bounds of listings and answers, for upstreams and
	// peers alike (--max-catalog-bytes, --max-result-bytes).
	Bounds Bounds
	// UpstreamTimeout bounds each call to one of the node's own upstream
	// servers (default DefaultUpstreamTimeout).
	UpstreamTimeout time.Duration
	// InputTimeout and MaxHeldRequests bound the upstream calls held for
	// 2026-07-28 callers' input (defaults mcp.DefaultInputTimeout and
	// mcp.DefaultMaxHeldRequests).
	InputTimeout    time.Duration
	MaxHeldRequests int
	// Conns bound the HTTP connections; they apply when the gateway is
	// served by HTTPServer on Listener.
	Conns ConnLimits
	// TLSRootCAs verifies other nodes' certificates on node-to-node
	// requests to https peers (--tls-ca); nil: the system roots.
	TLSRootCAs *x509.CertPool
	// Rates gives the rate limit of a principal's calls of an entry (the
	// access rules'; also SetRates); nil limits nothing. MaxRateLimiters
	// bounds the limiters kept (default federation.DefaultMaxLimiters).
	Rates           federation.RateFunc
	MaxRateLimiters int
	// Audit (--audit-log, see OpenAudit) gets the audit log's lines; the
	// gateway closes it on Close. AuditBuffer is how many lines may wait
	// for it (default DefaultAuditBuffer); nil: no audit log.
	Audit       io.WriteCloser
	AuditBuffer int
	// MetricsToken (--metrics-token), when set, is the bearer token GET
	// /metrics needs; empty: /metrics is open.
	MetricsToken string
	// OAuth (--oauth-*), when set, makes the node an OAuth 2.1 resource
	// server: its issuer's access tokens are accepted beside the HS256
	// ones (oauth.go).
	OAuth *OAuthConfig
	// TracerProvider (--otlp-endpoint, docs/tracing.md), if set, gets the
	// spans of the MCP requests the node serves, forwards and sends to its
	// upstreams; nil: no tracing.
	TracerProvider trace.TracerProvider
}

// Gateway is one node's HTTP surface. Build it with New, call Start once
// the listener is up, serve Handler, and Close it on shutdown.
type Gateway struct {
	name, version, url string
	listen             string // the HTTP listener's address (federation.CheckNotMesh)
	secret             []byte
	tokens             *tokenCache // verified bearer tokens
	store              store.Store
	catalog            *mcp.Catalog
	backend            mcp.Backend
	mcp                *mcp.Server
	log                *slog.Logger
	origins            []string
	hosts              []string
	maxBody            int64
	readyTimeout       time.Duration
	configServers      []mcp.ServerConfig
	maxSessions        [2]int           // clients', per principal
	sessions           *mcp.SessionPool // /mcp's and every /mcp/peers/{peer}'s: one budget
	upstreamTimeout    time.Duration
	holds              *mcp.Holds    // every upstream's held calls: one bound per node
	inputTimeout       time.Duration // how long a sealed requestState stays good
	conns              ConnLimits
	connCap            *connCap
	reg                *prometheus.Registry
	metrics            *metrics
	sessionMetrics     *sessionMetrics
	bounds             Bounds
	bounded            *boundMetrics
	handler            http.Handler
	servers            *serverSet
	inflight           inflight
	lists              listDigests
	fed                *federation.Engine
	peerMCP            peerServers    // /mcp/peers/{peer}
	limits             *callLimits    // rate limits (ratelimit.go)
	audit              *auditLog      // --audit-log (audit.go); nil: none
	sessionProxy       *sessionProxy  // other nodes' sessions (sessionproxy.go)
	bg                 sync.WaitGroup // background work owned by the gateway
	node               *cluster.Node
	metricsToken       []byte    // --metrics-token; nil: /metrics is open
	events             *eventHub // GET /api/events (events.go)

	runCtx    context.Context // lives until Close: upstreams run under it
	runCancel context.CancelFunc
	started   atomic.Bool
	ready     atomic.Bool
	closing   atomic.Bool
	closeOnce sync.Once
	drainOnce sync.Once

	tracing *mcp.Tracing // spans of MCP requests (docs/tracing.md); nil: none
}

// New checks cfg and builds a Gateway. Nothing is started yet.
func New(cfg Config) (*Gateway, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("gateway config: %w", err)
	}
	g := newGateway(cfg)
	g.metrics = newMetrics(g.reg)
	g.initLimitsAndAudit(cfg)
	g.connCap = newConnCap(g.conns.MaxUnauthenticated, g.log, g.reg)
	g.registerGauges(g.reg)
	g.registerSessionMetrics(g.reg)
	g.initSessionProxy(g.reg)
	if g.mcp == nil {
		g.mcp = mcp.NewServer(limitedBackend{g.backend, g.limits, ""}, g.serverOptions())
	}
	g.lists.init(g)
	g.events = newEventHub(g.uiState, g.callKind)
	g.catalog.OnChange(g.catalogChanged)
	g.handler = g.router()
	return g, nil
}

func (cfg *Config) check() error {
	var errs []error
	if cfg.Name == "" {
		errs = append(errs, errors.New("name is required"))
	}
	if err := CheckSecret(cfg.Secret); err != nil {
		errs = append(errs, err)
	}
	if cfg.Store == nil {
		errs = append(errs, errors.New("store is required"))
	}
	if cfg.Catalog == nil {
		errs = append(errs, errors.New("catalog is required"))
	}
	if cfg.MaxSessions < 0 || cfg.MaxSessionsPerPrincipal < 0 {
		errs = append(errs, fmt.Errorf("session bounds %d total, %d per principal must not be negative",
			cfg.MaxSessions, cfg.MaxSessionsPerPrincipal))
	}
	if cfg.UpstreamTimeout < 0 {
		errs = append(errs, fmt.Errorf("upstream timeout %s must not be negative", cfg.UpstreamTimeout))
	}
	if cfg.InputTimeout < 0 || cfg.MaxHeldRequests < 0 {
		errs = append(errs, fmt.Errorf("input timeout %s and max held requests %d must not be negative", cfg.InputTimeout, cfg.MaxHeldRequests))
	}
	errs = append(errs, cfg.Conns.check())
	if cfg.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("max body bytes %d must not be negative", cfg.MaxBodyBytes))
	}
	errs = append(errs, checkConfigServers(cfg.Servers))
	if cfg.OAuth != nil {
		errs = append(errs, cfg.OAuth.withDefaults(cfg.URL).check())
	}
	for _, h := range cfg.AllowedHosts {
		if err := mcp.CheckAllowedHost(h); err != nil {
			errs = append(errs, fmt.Errorf("allowed host: %w", err))
		}
	}
	if cfg.URL != "" {
		if u, err := url.Parse(cfg.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("advertise url %q must be an absolute http or https URL", cfg.URL))
		}
	}
	return errors.Join(errs...)
}

func checkConfigServers(servers []mcp.ServerConfig) error {
	seen := map[string]bool{}
	var errs []error
	for _, s := range servers {
		if err := checkServer(s); err != nil {
			errs = append(errs, fmt.Errorf("config file: %w", err))
		} else if seen[s.Name] {
			errs = append(errs, fmt.Errorf("config file: server %q is listed twice", s.Name))
		}
		seen[s.Name] = true
	}
	return errors.Join(errs...)
}

func newGateway(cfg Config) *Gateway {
	g := &Gateway{
		name: cfg.Name, version: cfg.Version, url: cfg.URL, listen: cfg.Listen, secret: append([]byte(nil), cfg.Secret...),
		store: cfg.Store, catalog: cfg.Catalog, backend: cfg.Backend, mcp: cfg.MCP, log: cfg.Logger,
		origins: cfg.AllowedOrigins, hosts: cfg.AllowedHosts, maxBody: cfg.MaxBodyBytes, readyTimeout: cfg.ReadyTimeout,
		configServers: cfg.Servers, reg: cfg.Registry, servers: newServerSet(),
		maxSessions: [2]int{cfg.MaxSessions, cfg.MaxSessionsPerPrincipal}, sessions: mcp.NewSessionPool(),
		upstreamTimeout: cfg.UpstreamTimeout, conns: cfg.Conns, metricsToken: metricsToken(cfg.MetricsToken),
		holds: mcp.NewHolds(cfg.MaxHeldRequests, cfg.InputTimeout), inputTimeout: cfg.InputTimeout,
	}
	g.tracing = mcp.NewTracing(cfg.TracerProvider)
	if g.inputTimeout == 0 {
		g.inputTimeout = mcp.DefaultInputTimeout
	}
	g.conns.defaults()
	if g.upstreamTimeout == 0 {
		g.upstreamTimeout = DefaultUpstreamTimeout
	}
	if g.reg == nil {
		g.reg = prometheus.NewRegistry()
	}
	g.bounds, g.bounded = cfg.Bounds.withDefaults(), newBoundMetrics(g.reg)
	if cfg.Node != nil {
		g.node = cfg.Node
		g.fed = federation.New(federation.Config{Node: cfg.Node, Local: cfg.Catalog, Secret: g.secret,
			PeerTimeout: cfg.PeerTimeout, Logger: cfg.Logger, OnChange: g.federationChanged, OnRulesChanged: g.rulesChanged,
			AutoTrust: cfg.AutoTrust, Metrics: fedMetrics{newForwardMetrics(g.reg), g.bounded, newServiceMetrics(g.reg)}, Store: cfg.Store,
			MaxCatalogBytes: g.bounds.MaxCatalogBytes, MaxResultBytes: g.bounds.MaxResultBytes, RootCAs: cfg.TLSRootCAs,
			Tracing: g.tracing})
		g.backend = g.fed.Guard(g.fed, "") // the access rules, in front of the engine
		g.bounded.wrapHTTP = g.fed.UpstreamTransport
	}
	if g.backend == nil {
		g.backend = cfg.Catalog
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.maxBody == 0 {
		g.maxBody = DefaultMaxBodyBytes
	}
	if g.readyTimeout <= 0 {
		g.readyTimeout = DefaultReadyTimeout
	}
	g.runCtx, g.runCancel = context.WithCancel(context.Background())
	var o *oauth
	if cfg.OAuth != nil {
		o = newOAuth(g.runCtx, cfg.OAuth.withDefaults(cfg.URL), g.log)
	}
	g.tokens = newTokenCache(g.secret, o)
	return g
}

func (g *Gateway) serverOptions() mcp.ServerOptions {
	opts := mcp.ServerOptions{
		Name: "mcpmesh", NodeName: g.name, Version: g.version, Logger: g.log,
		AllowedOrigins: g.origins, OnCall: g.onCall,
		MaxSessions: g.maxSessions[0], MaxSessionsPerPrincipal: g.maxSessions[1],
		OnSessionBound: g.sessionMetrics.sessionBound, Sessions: g.sessions,
		SSEKeepAlive: g.conns.SSEKeepAlive, WriteTimeout: g.conns.WriteTimeout,
		StateKey: mcp.StateKey(g.secret), // every node of the ring opens what another sealed
		StateTTL: g.inputTimeout,         // a retry is good as long as a held call waits for it
		// every node of the ring tells which member minted a session id
		SessionKey: mcp.SessionKey(g.secret),
		Tracing:    g.tracing,
	}
	if u, err := url.Parse(g.url); err == nil && u.Host != "" {
		opts.AllowedHosts = []string{u.Host}
	}
	opts.AllowedHosts = append(opts.AllowedHosts, g.hosts...)
	return opts
}

// Handler is the gateway's HTTP handler (all routes).
func (g *Gateway) Handler() http.Handler { return g.handler }

// Registry is the Prometheus registry /metrics serves; later layers may
// register their own collectors on it.
func (g *Gateway) Registry() *prometheus.Registry { return g.reg }

// Start brings up the upstream servers of the config file and of the store,
// each given up to ReadyTimeout to connect, and then marks the node ready.
// A server that fails to connect or clashes is listed with its error; only
// a failure to read the store (or a second call) is returned.
func (g *Gateway) Start(ctx context.Context) error {
	if !g.started.CompareAndSwap(false, true) {
		return errors.New("gateway start: already started")
	}
	stored, err := g.loadStored()
	if err != nil {
		return fmt.Errorf("gateway start: %w", err)
	}
	g.bootServers(ctx, g.mergeBoot(stored))
	if g.fed != nil {
		g.fed.Start()
	}
	g.bg.Add(1)
	go func() { defer g.bg.Done(); g.events.run(g.runCtx) }()
	g.ready.Store(true)
	g.log.Info("gateway ready", "url", g.url, "servers", len(g.servers.names()))
	return nil
}

// Drain stops taking requests (/ready answers 503 from now on, new
// requests 503 with Retry-After), waits until the requests in flight have
// finished or ctx ends, then ends every MCP session and stream (calls still
// running on a session are cancelled). It returns how many requests were
// still running when ctx ended (0 when all finished). Safe to call more
// than once: later calls return 0 at once.
func (g *Gateway) Drain(ctx context.Context) int {
	running := 0
	g.drainOnce.Do(func() {
		g.closing.Store(true)
		g.events.close()
		running = g.inflight.drain(ctx)
		g.closeSessionProxy()
		g.mcp.Close()
		g.peerMCP.closeAll()
	})
	return running
}

// Close drains (see Drain; a gateway drained already is not waited for
// again), then stops the federation engine and closes every upstream. It
// does not close the store, which the caller owns. Safe to call more than
// once.
func (g *Gateway) Close(ctx context.Context) error {
	var err error
	g.closeOnce.Do(func() {
		if n := g.Drain(ctx); n > 0 {
			err = fmt.Errorf("gateway close: %d requests still in flight: %w", n, ctx.Err())
		}
		if g.fed != nil {
			g.fed.Close()
		}
		g.runCancel()
		g.bg.Wait()
		g.servers.closeAll(g.log)
		g.audit.close() // after the drain: every request's line is queued
	})
	return err
}
