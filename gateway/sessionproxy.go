package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/mcp"
)

// A legacy session lives on the node that minted it; its id names that
// node (mcp/sessionid.go). A request carrying the id of a session another
// alive member minted is proxied to that member, on the same path, streamed
// both ways (an SSE answer or GET stream is flushed event by event; the
// caller leaving cancels it), with this node's token naming the caller in
// place of the caller's own (federation.SessionTransport): the owner serves
// it as the caller's principal and answers 404 if the session is not that
// principal's. The owner dead, left or unreachable: 404, the spec's
// "session not found", so the client starts a new session wherever it
// lands. A request made with a node token is never proxied (so nothing
// takes a second hop), nor a 2026-07-28 request, initialize or a POST
// without a session id. Without a ring nothing is proxied.

// Outcomes of the session proxy (label "outcome" of
// mcpmesh_session_proxy_requests_total).
const (
	proxyProxied     = "proxied"           // the owner answered (whatever its status)
	proxyOwnerGone   = "owner_gone"        // 404 here: the owner is dead, left or not a member
	proxyUnreachable = "owner_unreachable" // 404 here: the owner's address did not answer
	proxyCanceled    = "canceled"          // the caller left, or this node drained, first
)

// sessionProxy proxies session requests to the sessions' owners.
type sessionProxy struct {
	transport http.RoundTripper
	requests  *prometheus.CounterVec // by outcome
	// ctx ends when the gateway drains: proxied streams end with it.
	ctx    context.Context
	cancel context.CancelFunc
	// errorLog takes the reverse proxy's own messages (a stream cut when
	// its client left, ...) at debug level.
	errorLog *log.Logger
}

// initSessionProxy registers the proxy's metrics, and builds the proxy
// when the gateway is in a ring.
func (g *Gateway) initSessionProxy(reg *prometheus.Registry) {
	p := &sessionProxy{requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcpmesh_session_proxy_requests_total",
		Help: "Legacy MCP session requests whose session another node owns, by outcome: proxied to the owner, or answered 404 here (owner_gone, owner_unreachable), or canceled.",
	}, []string{"outcome"})}
	for _, o := range []string{proxyProxied, proxyOwnerGone, proxyUnreachable, proxyCanceled} {
		p.requests.WithLabelValues(o)
	}
	reg.MustRegister(p.requests)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.errorLog = slog.NewLogLogger(g.log.Handler(), slog.LevelDebug)
	if g.fed != nil {
		p.transport = g.fed.SessionTransport()
	}
	g.sessionProxy = p
}

// proxySession is the middleware, after authentication, that proxies a
// request of another node's session to it; other requests go on.
func (g *Gateway) proxySession(c *gin.Context) {
	owner, ok := g.foreignSession(c)
	if !ok {
		c.Next()
		return
	}
	c.Abort()
	base, err := g.fed.SessionOwnerURL(owner)
	if err != nil {
		g.sessionProxy.requests.WithLabelValues(proxyOwnerGone).Inc()
		g.sessionGone(c, proxyOwnerGone, err)
		return
	}
	g.proxyTo(c, owner, base)
}

// foreignSession is the owner of the session the request names, if
// another node of the ring minted it and the request is one to proxy.
func (g *Gateway) foreignSession(c *gin.Context) (string, bool) {
	sid := c.GetHeader("Mcp-Session-Id")
	if g.sessionProxy.transport == nil || sid == "" || byNode(c) {
		return "", false
	}
	owner, ok := g.mcp.SessionOwner(sid)
	if !ok || owner == g.name {
		return "", false
	}
	return owner, c.Request.Method != http.MethodPost || sessionMessage(c.Request)
}

// byNode reports whether the request came with a node token: never proxied.
func byNode(c *gin.Context) bool {
	v, _ := c.Get(claimsKey)
	claims, _ := v.(*Claims)
	return claims == nil || isNodeToken(claims)
}

// sessionMessage reports whether a POST is a message of its session (see
// mcp.SessionRequest); its body (read whole by limitBody) stays readable.
func sessionMessage(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return false
	}
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	return err == nil && mcp.SessionRequest(r, body)
}

// proxyTo sends the request to the session's owner at base and streams
// its answer back; the caller leaving, or this node draining, cancels it.
func (g *Gateway) proxyTo(c *gin.Context, owner string, base *url.URL) {
	p := g.sessionProxy
	ctx, cancel := context.WithCancel(federation.ToNode(c.Request.Context(), owner))
	defer cancel()
	defer context.AfterFunc(p.ctx, cancel)()
	run := &proxyRun{g: g, c: c, owner: owner, base: base, outcome: proxyCanceled}
	rp := &httputil.ReverseProxy{Rewrite: run.rewrite, Transport: p.transport, FlushInterval: -1,
		ModifyResponse: run.answered, ErrorHandler: run.failed, ErrorLog: p.errorLog, BufferPool: copyBuffers}
	defer func() { p.requests.WithLabelValues(run.outcome).Inc() }()
	rp.ServeHTTP(c.Writer, c.Request.WithContext(ctx))
}

// copyBuffers are the buffers proxied answers are copied through, reused:
// a reverse proxy without a pool allocates 32 KiB per request.
var copyBuffers = &bufferPool{pool: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}

type bufferPool struct{ pool sync.Pool }

func (p *bufferPool) Get() []byte  { return *p.pool.Get().(*[]byte) }
func (p *bufferPool) Put(b []byte) { p.pool.Put(&b) }

// proxyRun is one proxied request: the reverse proxy's hooks, and how it
// ended.
type proxyRun struct {
	g       *Gateway
	c       *gin.Context
	owner   string
	base    *url.URL
	outcome string
}

// rewrite points the request at the owner, on the same path.
func (r *proxyRun) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(r.base)
	pr.Out.Header.Del(federation.HeaderForwarded)
}

// answered passes the owner's answer on, whatever its status.
func (r *proxyRun) answered(resp *http.Response) error {
	r.outcome = proxyProxied
	dropSet(resp.Header, r.c.Writer.Header())
	return nil
}

// failed answers a request that got no answer from the owner: 404 if the
// owner did not answer, 503 if this node is draining, nothing if the
// caller has left.
func (r *proxyRun) failed(_ http.ResponseWriter, _ *http.Request, err error) {
	switch {
	case r.c.Request.Context().Err() != nil: // the caller left: no one to answer
	case r.g.sessionProxy.ctx.Err() != nil:
		refuseDraining(r.c)
	default:
		r.outcome = proxyUnreachable
		r.g.sessionGone(r.c, proxyUnreachable, fmt.Errorf("session owner %s did not answer: %w", r.owner, err))
	}
}

// sessionGone answers 404 "session not found", as the owner would for a
// session that has ended, so the client initializes a new one.
func (g *Gateway) sessionGone(c *gin.Context, outcome string, err error) {
	sid := c.GetHeader("Mcp-Session-Id")
	g.log.Debug("mcp session of another node not served", "session", sid, "outcome", outcome, "err", err)
	msg := fmt.Sprintf("session not found: %q is unknown or has ended (%s); initialize a new session", sid, reason(err))
	c.AbortWithStatusJSON(http.StatusNotFound, mcp.NewErrorResponse(nil, mcp.Errorf(mcp.CodeInvalidRequest, "%s", msg)))
}

// reason is the part of err a client may see: that the owner is gone or
// unreachable, not the addresses behind it.
func reason(err error) string {
	if errors.Is(err, federation.ErrSessionOwnerGone) {
		return "the node that held it is no longer in the ring"
	}
	return "the node that held it does not answer"
}

// dropSet removes from the owner's answer the headers this node has set
// already (its cors middleware's), so that none is sent twice.
func dropSet(owner, set http.Header) {
	for k := range set {
		owner.Del(k)
	}
}

// closeSessionProxy ends the proxied requests still running (streams),
// when the gateway drains.
func (g *Gateway) closeSessionProxy() { g.sessionProxy.cancel() }
