package gateway

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// Rate limits bite here, on the node the caller reached: tools/call,
// prompts/get and resources/read on /mcp and /mcp/peers/{peer} are counted
// per principal and canonical name (the name /mcp lists: "b__echo" for
// peer b's echo, also through /mcp/peers/b) before the backend serves
// them. Not counted: admin-scope tokens, and requests another node
// forwarded (counted where they entered the ring). No rate function (no
// rules): nothing is limited.

// callLimits are the node's rate limiter and the function giving rates.
type callLimits struct {
	rates   atomic.Pointer[federation.RateFunc]
	lim     *federation.Limiter
	limited prometheus.Counter
	now     func() time.Time
}

func newCallLimits(reg *prometheus.Registry, max int) *callLimits {
	l := &callLimits{lim: federation.NewLimiter(max), now: time.Now,
		limited: prometheus.NewCounter(prometheus.CounterOpts{Name: "mcpmesh_rate_limited_total",
			Help: "Calls refused because their principal was over its rate for the entry called."})}
	reg.MustRegister(l.limited, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mcpmesh_rate_limiters",
		Help: "Rate limiters (principal and entry pairs) this node keeps."}, func() float64 { return float64(l.lim.Len()) }))
	return l
}

// SetRates sets the function that gives the rate of a principal's calls
// of an entry (the access rules'); nil limits nothing.
func (g *Gateway) SetRates(fn federation.RateFunc) {
	if fn == nil {
		g.limits.rates.Store(nil)
		return
	}
	g.limits.rates.Store(&fn)
}

type limitExemptKey struct{}

// markLimitExempt marks the requests rate limits do not count: those of
// admin-scope tokens, and those another node forwarded (a node token with
// the forwarded mark, or a node's own link): the entry node counted them.
// A legacy session request another node proxied here is counted here.
func (g *Gateway) markLimitExempt(c *gin.Context) {
	claims, _ := c.Get(claimsKey)
	if cl, ok := claims.(*Claims); ok && limitExempt(cl, c.GetHeader(federation.HeaderForwarded) != "") {
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), limitExemptKey{}, true))
	}
	c.Next()
}

func limitExempt(c *Claims, forwarded bool) bool {
	if isNodeToken(c) {
		return c.Caller == nil || forwarded
	}
	return c.Allows(ScopeAdmin)
}

// limitedBackend counts a backend's calls against their rates first.
type limitedBackend struct {
	mcp.Backend
	limits *callLimits
	peer   string // the peer of /mcp/peers/{peer}; "" for /mcp
}

// Call implements mcp.Backend.
func (b limitedBackend) Call(ctx context.Context, req *mcp.Request) (json.RawMessage, error) {
	if res, err, over := b.limits.over(ctx, b.peer, req); over {
		return res, err
	}
	return b.Backend.Call(ctx, req)
}

// over answers a request over its rate; over is false for one within it,
// exempt, or not limited.
func (l *callLimits) over(ctx context.Context, peer string, req *mcp.Request) (json.RawMessage, error, bool) {
	fn := l.rates.Load()
	if fn == nil || ctx.Value(limitExemptKey{}) != nil {
		return nil, nil, false
	}
	name, ok := canonicalName(peer, req)
	if !ok {
		return nil, nil, false
	}
	p := mcp.PrincipalFrom(ctx)
	r, ok := (*fn)(p, name)
	if !ok {
		return nil, nil, false
	}
	retry, ok := l.lim.Take(p, name, r, l.now())
	if ok {
		return nil, nil, false
	}
	l.limited.Inc()
	res, err := federation.RateLimited(req.Method, name, r, retry)
	return res, err, true
}

// canonicalName is what rules and limits know a request's entry by: the
// name /mcp lists it under (a peer's tool or prompt as "<peer>__<name>",
// also when called through /mcp/peers/{peer}; a resource by its URI).
// ok is false for methods that are not limited.
func canonicalName(peer string, req *mcp.Request) (string, bool) {
	v := req.View()
	switch req.Method {
	case "tools/call", "prompts/get":
		if peer != "" {
			return federation.FederatedName(peer, v.Name), true
		}
		return v.Name, true
	case "resources/read":
		return v.URI, true
	}
	return "", false
}

// initLimitsAndAudit sets up the rate limits and the audit log of cfg. In
// a ring the rates are the access rules' (the strictest matching allow
// rule's, none for what a rule refuses), unless cfg gives its own.
func (g *Gateway) initLimitsAndAudit(cfg Config) {
	g.limits = newCallLimits(g.reg, cfg.MaxRateLimiters)
	rates := cfg.Rates
	if rates == nil && g.fed != nil {
		rates = g.fed.RateFor
	}
	g.SetRates(rates)
	if cfg.Audit != nil {
		g.audit = newAuditLog(cfg.Audit, cfg.AuditBuffer, g.reg, g.log)
	}
}
