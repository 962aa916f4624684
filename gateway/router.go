package gateway

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// MCPPaths are the paths of the MCP Streamable HTTP endpoint.
var MCPPaths = []string{"/mcp", "/mcp/http"}

// router builds the Gin engine with every route of the contract's HTTP table.
func (g *Gateway) router() http.Handler {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(g.deadlines, g.requestLog, g.observeHTTP, g.recovery)
	r.NoRoute(g.noRoute)
	r.NoMethod(g.noMethod)

	r.GET("/health", g.health)
	r.GET("/ready", g.readiness)
	g.uiRoutes(r) // ui.go: GET / and /ui/
	r.GET("/metrics", g.checkMetricsToken, gin.WrapH(promhttp.HandlerFor(g.reg, promhttp.HandlerOpts{Registry: g.reg})))
	g.routeProtectedResource(r) // oauth_metadata.go

	mcpChain := []gin.HandlerFunc{g.cors, g.track, g.authenticate(ScopeMCP), g.limitBody, g.proxySession, g.markForwarded, g.markLimitExempt, gin.WrapH(g.mcp.Handler())}
	for _, p := range MCPPaths {
		for _, m := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
			r.Handle(m, p, mcpChain...)
		}
		r.OPTIONS(p, g.cors)
	}
	peerChain := append(mcpChain[:len(mcpChain)-1:len(mcpChain)-1], g.servePeerMCP)
	for _, m := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
		r.Handle(m, PeerMCPPath, peerChain...)
	}
	r.OPTIONS(PeerMCPPath, g.cors)

	api := r.Group("/api", g.track, g.auditWrites) // every write under /api is audited
	api.GET("/tools", g.authenticate(ScopeMCP), g.listTools)
	api.GET("/events", g.authenticate(ScopeAdmin), g.serveEvents) // events_handler.go
	admin := api.Group("", g.authenticate(ScopeAdmin), g.limitBody)
	admin.GET("/servers", g.listServers)
	admin.POST("/servers", g.addServer)
	admin.GET("/servers/:name", g.getServer)
	admin.DELETE("/servers/:name", g.deleteServer)
	admin.GET("/services", g.listServices) // services.go
	if g.node != nil {
		api.GET("/federation/info", g.authenticate(ScopeMCP), g.info) // what peers ask first, with an mcp node token
		fed := api.Group("/federation", g.authenticate(ScopeAdmin), g.limitBody)
		fed.GET("/members", g.listMembers)
		fed.GET("/peers", g.listPeers)
		fed.POST("/peers", g.addPeer)
		fed.GET("/peers/:name", g.getPeer)
		fed.PATCH("/peers/:name", g.patchPeer)
		fed.DELETE("/peers/:name", g.deletePeer)
		fed.GET("/keyring", g.listKeyring)
		fed.POST("/keyring", g.installKey)
		fed.PUT("/keyring", g.useKey)
		fed.DELETE("/keyring", g.removeKey)
		fed.POST("/keyring/node", g.nodeKeyring)
		rules := api.Group("/policy/rules", g.authenticate(ScopeAdmin), g.limitBody) // rules.go
		rules.GET("", g.listRules)
		rules.POST("", g.addRule)
		rules.GET("/:name", g.getRule)
		rules.PATCH("/:name", g.patchRule)
		rules.DELETE("/:name", g.deleteRule)
	}
	return r
}

// cors answers preflights and marks answers for browser origins the node
// allows (--allowed-origins); other origins get no CORS headers, and the
// MCP server refuses them. A request without Origin passes untouched.
func (g *Gateway) cors(c *gin.Context) {
	origin := c.GetHeader("Origin")
	allowed := origin != "" && (slices.Contains(g.origins, origin) || slices.Contains(g.origins, "*"))
	if allowed {
		h := c.Writer.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Expose-Headers", "Mcp-Session-Id, MCP-Protocol-Version, WWW-Authenticate")
	}
	if c.Request.Method != http.MethodOptions {
		c.Next()
		return
	}
	if !allowed {
		abortJSON(c, http.StatusForbidden, errors.New("origin "+quoteOrNone(origin)+" is not allowed"))
		return
	}
	h := c.Writer.Header()
	h.Set("Access-Control-Allow-Methods", "POST, GET, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", strings.Join([]string{"Authorization", "Content-Type", "Accept",
		"Mcp-Session-Id", "MCP-Protocol-Version", "Last-Event-ID"}, ", "))
	h.Set("Access-Control-Max-Age", "600")
	c.AbortWithStatus(http.StatusNoContent)
}

func quoteOrNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return `"` + s + `"`
}

// track counts requests in flight so that Drain can wait for them; once
// the gateway drains it refuses new ones with 503 and Retry-After, so a
// balancer sends them elsewhere. Streams (an MCP GET, a 2026-07-28
// subscriptions/listen) are not waited for: Drain ends them.
func (g *Gateway) track(c *gin.Context) {
	if g.closing.Load() {
		refuseDraining(c)
		return
	}
	if opensStream(c) {
		c.Next()
		return
	}
	if !g.inflight.enter() {
		refuseDraining(c)
		return
	}
	defer g.inflight.leave()
	c.Next()
}

// opensStream reports whether the request opens a stream that lasts until
// the client or the node ends it: an MCP GET, or a subscriptions/listen
// POST (its Mcp-Method header is required and checked against the body).
func opensStream(c *gin.Context) bool {
	if c.FullPath() == "/api/events" {
		return true
	}
	if !strings.HasPrefix(c.FullPath(), "/mcp") {
		return false
	}
	return c.Request.Method == http.MethodGet || c.GetHeader("Mcp-Method") == "subscriptions/listen"
}

// refuseDraining answers a request that reaches a draining node.
func refuseDraining(c *gin.Context) {
	c.Header("Connection", "close")
	c.Header("Retry-After", "1")
	abortJSON(c, http.StatusServiceUnavailable, errors.New("node is shutting down"))
}

// inflight counts requests being served; drain waits for them to finish.
type inflight struct {
	mu      sync.Mutex
	n       int
	closing bool
	idle    chan struct{}
}

func (f *inflight) enter() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closing {
		return false
	}
	f.n++
	return true
}

// count is the number of requests in flight.
func (f *inflight) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

func (f *inflight) leave() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n--
	if f.n == 0 && f.idle != nil {
		close(f.idle)
		f.idle = nil
	}
}

// drain refuses new requests and waits until none is in flight or ctx
// ends; it returns how many were still running then.
func (f *inflight) drain(ctx context.Context) int {
	f.mu.Lock()
	f.closing = true
	if f.n == 0 {
		f.mu.Unlock()
		return 0
	}
	if f.idle == nil {
		f.idle = make(chan struct{})
	}
	idle := f.idle
	f.mu.Unlock()
	select {
	case <-idle:
		return 0
	case <-ctx.Done():
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.n
	}
}
